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

/// Runs the check: the records in catalogue order.
pub async fn check(options: &CheckOptions) -> Result<Vec<Record>, Failure> {
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
    Ok(run::against(Arc::new(target)).await)
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
        "\n{} passed, {} failed, {} skipped\n",
        count("PASS"),
        count("FAIL"),
        count("SKIP")
    ));
    out
}
