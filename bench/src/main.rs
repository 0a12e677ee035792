//! `oidc-forge-bench`: drives a running issuer's endpoints with a small keep-alive load
//! generator, measures the machine's own RS256 limit in the same run, reads the server's CPU
//! time from `/proc`, and prints one table of throughput, latency and CPU per request as a ratio
//! to that limit, against the targets of issue 7, and the ratios of issue 14 measured paired
//! (`paired`: the sides interleaved in one loop, the median of the per-round ratios).
//!
//! ```text
//! cargo build --release -p oidc-forge -p oidc-forge-bench
//! target/release/oidc-forge-bench [--duration 10s] [--connections 16] [--runs 3]
//!     [--issuer-bin target/release/oidc-forge] [--json]
//! # another issuer (bench/peers/run.sh does this for the npm peers):
//! target/release/oidc-forge-bench --peer NAME --target-url URL --client-id ID --client-secret S
//! ```

mod limits;
mod load;
mod paired;
mod process;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "oidc-forge-bench",
    about = "Load benchmark of oidc-forge (or a peer issuer) against the machine's RS256 limit"
)]
pub struct Cli {
    /// Length of each timed run (`10s`, `500ms`, or seconds).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Keep-alive connections the load generator holds open.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Runs per endpoint; the table shows the medians.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The issuer binary to start as `serve --port 0`.
    #[arg(long, default_value = "target/release/oidc-forge")]
    pub issuer_bin: PathBuf,
    /// `RUST_LOG` for the child issuer. `warn` keeps the per-request lines out; `default`
    /// leaves the binary's own default (one line per request at info).
    #[arg(long, default_value = "warn")]
    pub server_log: String,
    /// `--request-log N` for the child issuer (the forge's request log; 0 turns it off).
    /// Without it, the binary's default.
    #[arg(long)]
    pub request_log: Option<usize>,
    /// Process starts for the startup row (start to first discovery 200, idle RSS).
    #[arg(long, default_value_t = 20)]
    pub startup_runs: usize,
    /// Authorization codes minted (untimed) before each timed exchange round.
    #[arg(long, default_value_t = 2000)]
    pub code_batch: usize,
    /// Only these rows (comma-separated): sign, token, code, discovery, jwks, userinfo,
    /// startup, inprocess, validate.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also show these reports (JSON from `--json` runs, e.g. of peers) and use their
    /// throughput for the side-by-side targets.
    #[arg(long)]
    pub compare: Vec<PathBuf>,

    /// Peer mode: drive another issuer at --target-url under this name instead of starting
    /// oidc-forge.
    #[arg(long, requires = "target_url")]
    pub peer: Option<String>,
    /// The peer's issuer URL (its discovery document is read from it).
    #[arg(long)]
    pub target_url: Option<String>,
    /// Client for the peer's client_credentials grant (client_secret_basic).
    #[arg(long, default_value = "forge-web")]
    pub client_id: String,
    #[arg(long, default_value = "forge-web-secret")]
    pub client_secret: String,
    /// Extra form parameters for the peer's token request, e.g. `scope=read&resource=urn:api`.
    #[arg(long, default_value = "scope=read")]
    pub token_form: String,
    /// The peer's process id, for its CPU time per request.
    #[arg(long)]
    pub peer_pid: Option<u32>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
        .map(|n| Duration::from_secs_f64(n * scale))
        .ok_or_else(|| format!("expected a duration like 10s or 500ms, found `{text}`"))
}

impl Cli {
    pub fn wants(&self, row: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == row)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(scenarios::run(&cli)) {
        Ok(report) => {
            let mut compared = Vec::new();
            for path in &cli.compare {
                match report::Report::read(path) {
                    Ok(other) => compared.push(other),
                    Err(err) => {
                        eprintln!("error: {err}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            if cli.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(err) => {
                        eprintln!("error: {err}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report::table(&report, &compared));
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
