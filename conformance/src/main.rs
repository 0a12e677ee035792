//! `oidc-forge-conformance`: the conformance catalogue from the command line.
//!
//! - `check`: runs the API-flow (B) and forgery (D) scenarios, and with `--web` the browser
//!   login flow's (C), against an application in any language that trusts an oidc-forge
//!   issuer, which this command starts from a configuration (or the embedded one); prints a
//!   table and optionally writes JUnit XML and a Markdown report; exits 1 on any FAIL (and on
//!   any WARN with `--strict`), 2 when the application cannot be checked at all.
//! - `report`: runs every scenario in process and writes the markdown report.
//! - `list`: prints the catalogue.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oidc_forge_conformance::catalogue::SCENARIOS;
use oidc_forge_conformance::check::{self, CheckOptions};
use oidc_forge_conformance::{junit, report, run};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "The oidc-forge conformance scenarios, against the example apps or any application"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API-flow and forgery scenarios against an application (and, with --web, its
    /// browser login flow).
    Check {
        /// The issuer configuration (as for `oidc-forge serve --config`); default: the embedded
        /// one `oidc-forge serve` uses without `--config`.
        #[arg(long, value_name = "FILE")]
        issuer_config: Option<PathBuf>,
        /// The application's base URL, e.g. http://127.0.0.1:8001.
        #[arg(long, value_name = "URL")]
        target: String,
        /// The routes file: each protected route with its required scopes and permissions.
        #[arg(long, value_name = "FILE")]
        routes: PathBuf,
        /// Write JUnit XML here too.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write a Markdown report here: each row that did not pass, with every case's token
        /// (decoded), status, headers and body.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// The port the issuer listens on; the application must trust http://HOST:PORT.
        #[arg(long, default_value_t = 9000)]
        issuer_port: u16,
        /// The address the issuer binds.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        issuer_host: IpAddr,
        /// The issuer identifier when it is not http://HOST:PORT (e.g. http://localhost:9000).
        #[arg(long, value_name = "URL")]
        issuer_url: Option<String>,
        /// Check the browser login flow too, as the routes file's [web] table describes it.
        #[arg(long)]
        web: bool,
        /// Exit 1 on a WARN too (a refusal not shaped as the RFC says), not only on a FAIL.
        #[arg(long)]
        strict: bool,
    },
    /// Run every scenario in process and write the markdown report.
    Report {
        /// Where to write it (default: standard output).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List the catalogue.
    List,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check {
            issuer_config,
            target,
            routes,
            junit: junit_file,
            report: report_file,
            issuer_port,
            issuer_host,
            issuer_url,
            web,
            strict,
        } => {
            let options = CheckOptions {
                issuer_config,
                issuer_addr: SocketAddr::new(issuer_host, issuer_port),
                issuer_url,
                target: target.clone(),
                routes,
                web,
            };
            let records = match check::check(&options).await {
                Ok(records) => records,
                Err(error) => {
                    eprintln!("oidc-forge-conformance: {error}");
                    // A gate that reads only the JUnit file must see this fail too.
                    if let Some(path) = &junit_file {
                        let xml = junit::render_error("oidc-forge-conformance", &error.to_string());
                        if let Err(error) = std::fs::write(path, xml) {
                            eprintln!("oidc-forge-conformance: {}: {error}", path.display());
                        }
                    }
                    return ExitCode::from(2);
                }
            };
            print!("{}", check::table(&records));
            let files = [
                junit_file.map(|path| (path, junit::render("oidc-forge-conformance", &records))),
                report_file.map(|path| (path, report::render_findings(&target, &records))),
            ];
            for (path, contents) in files.into_iter().flatten() {
                if let Err(error) = std::fs::write(&path, contents) {
                    eprintln!("oidc-forge-conformance: {}: {error}", path.display());
                    return ExitCode::from(2);
                }
            }
            if check::fails(&records, strict) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Report { output } => {
            let records = run::all_in_process().await;
            let markdown = report::render(&records);
            match output {
                Some(path) => {
                    if let Err(error) = std::fs::write(&path, markdown) {
                        eprintln!("oidc-forge-conformance: {}: {error}", path.display());
                        return ExitCode::from(2);
                    }
                }
                None => print!("{markdown}"),
            }
            if records.iter().any(|r| r.verdict.is_failure()) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::List => {
            for scenario in SCENARIOS {
                let how = match scenario.not_applicable() {
                    Some(why) => format!("not applicable: {why}"),
                    None if scenario.runs_against_any_app() => "in process; any app (check)".into(),
                    None => "in process".into(),
                };
                println!("{} | {} | {how}", scenario.name(), scenario.clause);
            }
            ExitCode::SUCCESS
        }
    }
}
