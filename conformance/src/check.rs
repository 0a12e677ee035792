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
use crate::web_target::WebTarget;

/// What `check` needs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The issuer configuration (TOML, as `oidc-forge serve --config`); `None`: the embedded
    /// default, as `oidc-forge serve` without `--config`.
    pub issuer_config: Option<PathBuf>,
    /// The address the issuer listens on; the application must trust `http://ADDR`.
    pub issuer_addr: SocketAddr,
    /// The issuer identifier, when it is not `http://ADDR`.
    pub issuer_url: Option<String>,
    /// The application's base URL.
    pub target: String,
    /// The routes file.
    pub routes: PathBuf,
    /// Check the browser login flow too (the routes file's `[web]` table).
    pub web: bool,
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
    /// The application took longer than the bound to answer a valid token.
    #[error("{url} did not answer a valid token within {seconds} s: is the app stuck?")]
    NoAnswer {
        /// The route's URL.
        url: String,
        /// The bound.
        seconds: u64,
    },
    /// A route of the routes file answers 404 or 405 to a valid token's GET.
    #[error(
        "{url} answers {status} to a GET with a valid token: is its path in the routes file right?"
    )]
    RouteNotFound {
        /// The route's URL.
        url: String,
        /// 404 or 405.
        status: u16,
    },
    /// A route refuses a valid token: the app does not trust this issuer or client, so every
    /// row would fail for a reason that is no finding.
    #[error(
        "{url} refuses a valid token from {issuer} with {status} ({challenge}): does the app trust this issuer, and is client_id right?"
    )]
    ValidTokenRefused {
        /// The route's URL.
        url: String,
        /// The issuer the token came from.
        issuer: String,
        /// 401 or 403.
        status: u16,
        /// Its `WWW-Authenticate`, or "no challenge".
        challenge: String,
    },
    /// The routes file lacks what was asked for.
    #[error("{file}: {message}")]
    Usage {
        /// The routes file.
        file: String,
        /// What is missing.
        message: &'static str,
    },
    /// The login flow's valid twin did not end signed in: every web row would fail for a
    /// reason that is no finding.
    #[error("a login at {url} did not end signed in as {user}: {reason}")]
    LoginFailed {
        /// Where the login starts.
        url: String,
        /// Who signed in.
        user: String,
        /// What happened.
        reason: String,
    },
    /// The issuer or the routes could not be set up.
    #[error(transparent)]
    Setup(#[from] Failure),
}

/// Runs the check: the records in catalogue order (the API rows, then the web rows).
pub async fn check(options: &CheckOptions) -> Result<Vec<Record>, CheckError> {
    let config = match &options.issuer_config {
        Some(path) => load_issuer_config(path)?,
        None => oidc_forge::Config::default(),
    };
    let routes = RoutesFile::load(&options.routes).map_err(setup)?;
    let file = options.routes.display().to_string();
    if options.web && routes.web.is_none() {
        return Err(CheckError::Usage {
            file,
            message: "--web needs a [web] table describing the login flow",
        });
    }
    if !options.web && routes.routes.is_empty() {
        return Err(CheckError::Usage {
            file,
            message: "no [[route]] to check: add routes, or pass --web to check the login flow",
        });
    }
    let mut builder = MockIssuer::builder()
        .config(config)
        .bind(options.issuer_addr);
    if let Some(url) = &options.issuer_url {
        builder = builder.issuer_url(url.clone());
    }
    let issuer = Arc::new(builder.start().await.map_err(setup)?);
    let secrets: Vec<String> = issuer
        .config()
        .clients
        .iter()
        .filter_map(|client| client.secret.clone())
        .collect();
    // Both pre-flights before any row, so that a usage error never discards rows' findings.
    let api = if routes.routes.is_empty() {
        None
    } else {
        let mut target = ApiTarget::new(
            options.target.clone(),
            routes.clone(),
            issuer.clone(),
            TargetClock::System,
        )?;
        reachable(&target).await?;
        // Past the pre-flight, an app that hangs on a hostile token is a finding, and must
        // not hold the check forever.
        target.http = crate::http::client_within(std::time::Duration::from_secs(ANSWER_SECONDS));
        Some(target)
    };
    let web = match (options.web, routes.web.clone()) {
        (true, Some(web)) => {
            let target = WebTarget::new(
                options.target.clone(),
                web,
                routes.client_id.as_deref(),
                routes.user.as_deref(),
                issuer,
            )
            .await?;
            logs_in(&target, &secrets).await?;
            Some(target)
        }
        _ => None,
    };
    let mut records = Vec::new();
    if let Some(target) = api {
        records.extend(run::against(Arc::new(target)).await);
    }
    if let Some(target) = web {
        records.extend(run::against_web(Arc::new(target)).await);
    }
    // What an app echoed of the client's secret stays out of the table and the files.
    for record in &mut records {
        record.redact(&secrets);
    }
    Ok(records)
}

/// The login flow's valid twin, before any row: an app that is not there, or a `[web]` table
/// that does not describe it, is a usage error.
async fn logs_in(target: &WebTarget, secrets: &[String]) -> Result<(), CheckError> {
    if let Err(error) = target.http().get(&target.url).send().await
        && !error.is_timeout()
    {
        return Err(CheckError::Unreachable {
            url: target.url.clone(),
            reason: innermost(&error),
        });
    }
    crate::scenario::graded(async {
        crate::runner::web_app::twin(target).await?;
        Ok(crate::scenario::Pass::new("signed in"))
    })
    .await
    .map(drop)
    .map_err(|failure| CheckError::LoginFailed {
        url: target.login_url(),
        user: target.user.email.clone(),
        reason: crate::run::redacted(&failure.to_string(), secrets),
    })
}

/// How long an API row waits for an answer to a hostile token before it is a hang.
const ANSWER_SECONDS: u64 = 30;

/// How long the pre-flight waits for an answer to a valid token.
const PREFLIGHT_SECONDS: u64 = 10;

/// Each route once with a valid token: an app that is not there, a route it does not have,
/// or an app that trusts another issuer would make every row fail for a reason that is no
/// finding. A route that needs scopes or permissions the user lacks is the routes file's
/// concern, and its 403 is checked by the rows themselves.
async fn reachable(target: &ApiTarget) -> Result<(), CheckError> {
    for route in &target.routes.routes {
        let url = target.url_of(route);
        let sent = target
            .http
            .get(&url)
            .bearer_auth(target.token_for(route))
            .timeout(std::time::Duration::from_secs(PREFLIGHT_SECONDS))
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(error) if error.is_timeout() => {
                return Err(CheckError::NoAnswer {
                    url,
                    seconds: PREFLIGHT_SECONDS,
                });
            }
            Err(error) => {
                return Err(CheckError::Unreachable {
                    url: target.url.clone(),
                    reason: innermost(&error),
                });
            }
        };
        let status = answer.status().as_u16();
        match status {
            404 | 405 => return Err(CheckError::RouteNotFound { url, status }),
            401 => {
                let challenge = answer
                    .headers()
                    .get("www-authenticate")
                    .and_then(|value| value.to_str().ok())
                    .map_or_else(|| "no challenge".to_owned(), str::to_owned);
                return Err(CheckError::ValidTokenRefused {
                    url,
                    issuer: target.issuer.url().to_owned(),
                    status,
                    challenge,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The deepest cause of a transport error ("Connection refused"), which says more than
/// reqwest's outer "error sending request".
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Cuts a cell to `width` characters.
fn fit(text: &str, width: usize) -> String {
    // One line, and no escape sequence of the app's reaches the terminal.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
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
        Record::new(find(id).expect("a catalogue row"), verdict)
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
