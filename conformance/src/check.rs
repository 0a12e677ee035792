//! The `check` command: starts the issuer from a configuration on a known port, so that an
//! application written in any language can trust it, then runs the API-flow and forgery
//! scenarios against the application's routes and prints a table (and a JUnit file).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use oidc_forge::MockIssuer;

use crate::run::{self, Record};
use crate::scenario::{Failure, setup};
use crate::target::{ApiTarget, RoutesFile, TargetClock, load_issuer_config};

/// What `check` needs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The issuer configuration (TOML, as `oidc-forge serve --config`).
    pub issuer_config: PathBuf,
    /// The address the issuer listens on; the application must trust `http://ADDR`.
    pub issuer_addr: SocketAddr,
    /// The issuer identifier, when it is not `http://ADDR`.
    pub issuer_url: Option<String>,
    /// The application's base URL.
    pub target: String,
    /// The routes file.
    pub routes: PathBuf,
}

/// Why an application cannot be checked at all: a usage error (exit 2) said in one sentence,
/// not rows of findings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// No answer from the application at all.
    #[error("nothing listens at {url}: is the app running? ({reason})")]
    Unreachable {
        /// The application's base URL.
        url: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// A route of the routes file answers 404 to a valid token.
    #[error("{url} answers 404 to a valid token: is its path in the routes file right?")]
    RouteNotFound {
        /// The route's URL.
        url: String,
    },
    /// The issuer or the routes could not be set up.
    #[error(transparent)]
    Setup(#[from] Failure),
}

/// Runs the check: the records in catalogue order.
pub async fn check(options: &CheckOptions) -> Result<Vec<Record>, CheckError> {
    let config = load_issuer_config(&options.issuer_config)?;
    let routes = RoutesFile::load(&options.routes).map_err(setup)?;
    let mut builder = MockIssuer::builder()
        .config(config)
        .bind(options.issuer_addr);
    if let Some(url) = &options.issuer_url {
        builder = builder.issuer_url(url.clone());
    }
    let issuer = builder.start().await.map_err(setup)?;
    let target = ApiTarget::new(
        options.target.clone(),
        routes,
        Arc::new(issuer),
        TargetClock::System,
    )?;
    reachable(&target).await?;
    Ok(run::against(Arc::new(target)).await)
}

/// Each route once with a valid token: an app that is not there, or a route it does not
/// have, would make every row fail for a reason that is no finding.
async fn reachable(target: &ApiTarget) -> Result<(), CheckError> {
    for route in &target.routes.routes {
        let url = target.url_of(route);
        let answer = target
            .http
            .get(&url)
            .bearer_auth(target.token_for(route))
            .send()
            .await
            .map_err(|error| CheckError::Unreachable {
                url: target.url.clone(),
                reason: error.to_string(),
            })?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(CheckError::RouteNotFound { url });
        }
    }
    Ok(())
}

/// Cuts a cell to `width` characters.
fn fit(text: &str, width: usize) -> String {
    let text = text.replace('\n', " ");
    if text.chars().count() <= width {
        format!("{text:width$}")
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The table: scenario, expected, got, result; then a count.
pub fn table(records: &[Record]) -> String {
    let mut out = format!(
        "{} | {} | {} | result\n{}\n",
        fit("scenario", 44),
        fit("expected", 48),
        fit("got", 70),
        "-".repeat(44 + 48 + 70 + 15)
    );
    for record in records {
        out.push_str(&format!(
            "{} | {} | {} | {}\n",
            fit(&record.scenario.name(), 44),
            fit(record.scenario.expected, 48),
            fit(record.verdict.detail(), 70),
            record.verdict.label()
        ));
    }
    let count = |label: &str| {
        records
            .iter()
            .filter(|r| r.verdict.label() == label)
            .count()
    };
    out.push_str(&format!(
        "\n{} passed, {} warned, {} failed, {} skipped\n",
        count("PASS"),
        count("WARN"),
        count("FAIL"),
        count("SKIP")
    ));
    out
}

/// Whether `check` exits 1: on any FAIL (the application accepted what it must refuse,
/// crashed, or leaked), and with `strict` on any WARN too.
pub fn fails(records: &[Record], strict: bool) -> bool {
    records
        .iter()
        .any(|r| r.verdict.is_failure() || (strict && r.verdict.is_warning()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::find;
    use crate::run::Verdict;

    fn record(id: &str, verdict: Verdict) -> Record {
        Record {
            scenario: find(id).expect("a catalogue row"),
            verdict,
        }
    }

    #[test]
    fn only_a_fail_fails_unless_strict_and_the_summary_counts_each_grade() {
        let warned = vec![
            record("B-01", Verdict::Pass("200".into())),
            record(
                "B-02",
                Verdict::Warn("refused with 401, no challenge".into()),
            ),
            record("D-14", Verdict::Skipped("no refetch trigger".into())),
        ];
        assert!(!fails(&warned, false));
        assert!(fails(&warned, true));
        assert!(
            table(&warned).ends_with("\n1 passed, 1 warned, 0 failed, 1 skipped\n"),
            "{}",
            table(&warned)
        );
        let mut failed = warned;
        failed.push(record("D-01", Verdict::Fail("accepted with 200".into())));
        assert!(fails(&failed, false));
        let shown = table(&failed);
        assert!(
            shown
                .lines()
                .any(|l| l.starts_with("B-02") && l.ends_with("WARN")),
            "{shown}"
        );
    }
}
