//! The report: one row per endpoint or figure, the machine's limits, and the targets of
//! issue 7 judged against them (and against peers measured side by side, when given).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Cli;
use crate::limits::Rate;

/// Peer figures quoted in issue 7 (wrk on this machine), used as the bar when no peer was
/// measured in the same run: panva oidc-provider's token endpoint, and the best discovery and
/// JWKS rates of the peers.
const ANCHOR_PEER_TOKEN: f64 = 2_940.0;
const ANCHOR_PEER_DISCOVERY: f64 = 34_000.0;
const ANCHOR_PEER_JWKS: f64 = 29_000.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
}

impl Machine {
    fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, name)| name.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub duration_s: f64,
    pub connections: usize,
    pub runs: usize,
    pub server_log: String,
    pub request_log: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub issuer: String,
    pub machine: Machine,
    pub settings: Settings,
    /// One RS256 signature, aws-lc-rs, key parsed once, one thread.
    pub sign: Option<Rate>,
    /// One RS256 verification, aws-lc-rs, key parsed once, one thread.
    pub verify: Option<Rate>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Row {
    pub key: String,
    pub name: String,
    pub per_second: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    /// Server CPU time per request (user + system, all threads), microseconds.
    pub server_cpu_us: Option<f64>,
    /// The load generator's own CPU per request, microseconds.
    pub client_cpu_us: Option<f64>,
    /// RS256 signatures a request needs; the CPU ratio is to that many raw signatures.
    pub signatures: Option<f64>,
    /// For rows that are one figure (startup, memory): the value and its unit.
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub errors: u64,
}

impl Row {
    pub fn value(key: &str, name: &str, value: f64, unit: &str) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            value: Some(value),
            unit: Some(unit.into()),
            ..Self::default()
        }
    }

    /// Server CPU per request over the CPU of the raw signatures it needs.
    pub fn cpu_ratio(&self, sign: Option<Rate>) -> Option<f64> {
        Some(self.server_cpu_us? / (self.signatures? * sign?.us_each))
    }
}

impl Report {
    pub fn new(issuer: &str, cli: &Cli) -> Self {
        Self {
            issuer: issuer.into(),
            machine: Machine::describe(),
            settings: Settings {
                duration_s: cli.duration.as_secs_f64(),
                connections: cli.connections,
                runs: cli.runs,
                server_log: cli.server_log.clone(),
                request_log: cli.request_log,
            },
            sign: None,
            verify: None,
            rows: Vec::new(),
        }
    }

    /// Rows in a fixed order, whatever order they were measured in.
    pub fn finish(&mut self) {
        const ORDER: [&str; 12] = [
            "token",
            "token_paired",
            "code",
            "code_paired",
            "discovery",
            "jwks",
            "userinfo",
            "startup",
            "rss",
            "inprocess",
            "validate",
            "validate_jwt",
        ];
        self.rows
            .sort_by_key(|row| ORDER.iter().position(|k| *k == row.key).unwrap_or(99));
    }

    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.key == key)
    }
}

/// The fastest peer's rate for `key`, and where the figure comes from.
fn best_peer(peers: &[Report], key: &str, anchor: f64) -> (f64, String) {
    peers
        .iter()
        .filter_map(|peer| Some((peer.row(key)?.per_second?, peer.issuer.clone())))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((anchor, "issue 7 anchor".into()))
}

/// What a token request costs beyond its signatures, in whole discovery requests: server CPU
/// per request minus that of the RS256 signatures it needs, over the server CPU of a discovery
/// request, all from the same run (issue 14's target: at most 1.5).
pub fn overhead_in_discoveries(report: &Report, row: &Row) -> Option<f64> {
    let discovery = report.row("discovery")?.server_cpu_us?;
    let signatures = row.signatures? * report.sign?.us_each;
    Some((row.server_cpu_us? - signatures) / discovery)
}

/// The target of a row of ours, and whether it holds.
fn judge(report: &Report, row: &Row, peers: &[Report]) -> (String, Option<bool>) {
    let rate = row.per_second.unwrap_or(0.0);
    match row.key.as_str() {
        // The unpaired view of the same target, from the rows' medians; the paired rows judge.
        "token" | "code" => {
            let overhead = overhead_in_discoveries(report, row);
            let shown = overhead.map_or_else(|| "-".into(), |o| format!("{o:.2}"));
            let mut target = format!("(CPU - sig) / discovery CPU = {shown}");
            if row.key == "token" {
                let (peer, source) = best_peer(peers, "token", ANCHOR_PEER_TOKEN);
                let _ = write!(target, "; {:.2}x {peer:.0}/s ({source})", rate / peer);
            }
            (target, None)
        }
        "token_paired" | "code_paired" => (
            "<= 1.5 x discovery CPU, paired".into(),
            row.value.map(|ratio| ratio <= 1.5),
        ),
        "discovery" | "jwks" => {
            let anchor = if row.key == "jwks" {
                ANCHOR_PEER_JWKS
            } else {
                ANCHOR_PEER_DISCOVERY
            };
            let (peer, source) = best_peer(peers, &row.key, anchor);
            (
                format!(">= 3x {peer:.0}/s ({source})"),
                Some(rate >= 3.0 * peer),
            )
        }
        "startup" => ("<= 10 ms median".into(), row.value.map(|v| v <= 10.0)),
        "rss" => ("<= 8 MiB".into(), row.value.map(|v| v <= 8.0)),
        "inprocess" => ("<= 5 ms median".into(), row.value.map(|v| v <= 5.0)),
        "validate" => (
            ">= 90% of raw verify, paired".into(),
            row.value.map(|percent| percent >= 90.0),
        ),
        "validate_jwt" => (
            ">= 100% of jsonwebtoken::decode, paired".into(),
            row.value.map(|percent| percent >= 100.0),
        ),
        _ => ("-".into(), None),
    }
}

fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn fmt_us(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(us) if us >= 10_000.0 => format!("{:.1} ms", us / 1000.0),
        Some(us) => format!("{us:.0} us"),
    }
}

/// The one table: ours, then each compared report's rows.
pub fn table(report: &Report, compared: &[Report]) -> String {
    let mut out = String::new();
    let m = &report.machine;
    let _ = writeln!(
        out,
        "machine: {} ({} cores), Linux {}; {} runs of {:.1} s, {} connections, server log {}, request log {}",
        m.cpu,
        m.cores,
        m.kernel,
        report.settings.runs,
        report.settings.duration_s,
        report.settings.connections,
        report.settings.server_log,
        report
            .settings
            .request_log
            .map_or_else(|| "default".into(), |n| n.to_string()),
    );
    if let (Some(sign), Some(verify)) = (report.sign, report.verify) {
        let _ = writeln!(
            out,
            "RS256 limit (aws-lc-rs, key parsed once, 1 thread, per CPU-second): sign {:.0}/s = {:.1} us; verify {:.0}/s = {:.1} us",
            sign.per_second, sign.us_each, verify.per_second, verify.us_each
        );
    }
    let header = [
        "issuer",
        "endpoint",
        "req/s",
        "p50",
        "p99",
        "srv CPU/req",
        "CPU/sig",
        "gen CPU/req",
        "target",
        "result",
    ];
    let mut lines: Vec<[String; 10]> = Vec::new();
    let mut push = |issuer: &Report, row: &Row, judged: (String, Option<bool>)| {
        let rate = match (&row.value, &row.unit) {
            (Some(value), Some(unit)) if unit != "/s" => format!("{value:.2} {unit}"),
            _ => fmt_opt(row.per_second, 0),
        };
        let cpu_ratio = row
            .cpu_ratio(issuer.sign)
            .map(|r| format!("{r:.2}x{}", row.signatures.map_or(1.0, |s| s) as u32))
            .unwrap_or_else(|| "-".into());
        let result = match judged.1 {
            Some(true) => "PASS".to_owned(),
            Some(false) => "FAIL".to_owned(),
            None => "-".to_owned(),
        };
        let result = if row.errors > 0 {
            format!("{result} ({} errors)", row.errors)
        } else {
            result
        };
        lines.push([
            issuer.issuer.clone(),
            row.name.clone(),
            rate,
            fmt_us(row.p50_us),
            fmt_us(row.p99_us),
            fmt_us(row.server_cpu_us),
            cpu_ratio,
            fmt_us(row.client_cpu_us),
            judged.0,
            result,
        ]);
    };
    for row in &report.rows {
        // Targets are oidc-forge's; a peer run alone is reported, not judged.
        let judged = if report.issuer == "oidc-forge" {
            judge(report, row, compared)
        } else {
            ("-".into(), None)
        };
        push(report, row, judged);
    }
    for peer in compared {
        for row in &peer.rows {
            push(peer, row, ("-".into(), None));
        }
    }
    let mut widths = header.map(str::len);
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    let render = |cells: &[String], out: &mut String| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Names left-aligned, figures right-aligned.
            if !(2..8).contains(&i) {
                let _ = write!(text, "{cell:<width$}  ");
            } else {
                let _ = write!(text, "{cell:>width$}  ");
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    render(&header.map(String::from), &mut out);
    for line in &lines {
        render(line, &mut out);
    }
    let _ = writeln!(
        out,
        "CPU/sig: server CPU per request over the CPU of the RS256 signatures it needs (xN = N signatures); gen: the load generator's own CPU."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(issuer: &str, rows: Vec<Row>) -> Report {
        Report {
            issuer: issuer.into(),
            machine: Machine {
                cpu: "cpu".into(),
                cores: 2,
                kernel: "k".into(),
            },
            settings: Settings {
                duration_s: 1.0,
                connections: 1,
                runs: 1,
                server_log: "warn".into(),
                request_log: None,
            },
            sign: Some(Rate {
                per_second: 4000.0,
                us_each: 250.0,
            }),
            verify: Some(Rate {
                per_second: 60_000.0,
                us_each: 16.7,
            }),
            rows,
        }
    }

    fn token_row(per_second: f64, cpu: f64) -> Row {
        Row {
            key: "token".into(),
            name: "token".into(),
            per_second: Some(per_second),
            server_cpu_us: Some(cpu),
            signatures: Some(1.0),
            ..Row::default()
        }
    }

    fn discovery_row(cpu: f64) -> Row {
        Row {
            key: "discovery".into(),
            name: "discovery".into(),
            per_second: Some(60_000.0),
            server_cpu_us: Some(cpu),
            ..Row::default()
        }
    }

    #[test]
    fn the_token_rows_show_their_cpu_beyond_the_signatures_in_discovery_requests() {
        // 250 us a signature (the report's limit), 20 us a discovery request.
        let ours = report(
            "oidc-forge",
            vec![token_row(7000.0, 280.0), discovery_row(20.0)],
        );
        assert_eq!(overhead_in_discoveries(&ours, &ours.rows[0]), Some(1.5));
        let peer = report("panva", vec![token_row(3000.0, 600.0)]);
        let (target, pass) = judge(&ours, &ours.rows[0], &[peer]);
        assert_eq!(pass, None, "the paired row judges: {target}");
        assert!(target.contains("= 1.50"), "{target}");
        assert!(target.contains("2.33x 3000/s (panva)"), "{target}");
        // The code exchange needs two signatures.
        let mut code = token_row(3500.0, 520.0);
        code.key = "code".into();
        code.signatures = Some(2.0);
        let exchange = report("oidc-forge", vec![code, discovery_row(20.0)]);
        assert_eq!(
            overhead_in_discoveries(&exchange, &exchange.rows[0]),
            Some(1.0)
        );
        // Without a discovery row there is nothing to divide by.
        let alone = report("oidc-forge", vec![token_row(5000.0, 250.0)]);
        let (target, _) = judge(&alone, &alone.rows[0], &[]);
        assert!(target.contains("= -;"), "{target}");
        assert!(target.contains("issue 7 anchor"), "{target}");
    }

    #[test]
    fn the_paired_token_rows_are_judged_at_one_and_a_half_discovery_requests() {
        let ours = report("oidc-forge", Vec::new());
        for key in ["token_paired", "code_paired"] {
            let paired = |ratio| Row::value(key, "p", ratio, "x discovery CPU");
            assert_eq!(judge(&ours, &paired(1.5), &[]).1, Some(true));
            assert_eq!(judge(&ours, &paired(1.51), &[]).1, Some(false));
        }
    }

    #[test]
    fn the_validation_targets_are_paired_percentages() {
        let ours = report("oidc-forge", Vec::new());
        let verify = |percent| Row::value("validate", "v", percent, "% of raw verify");
        assert_eq!(judge(&ours, &verify(90.0), &[]).1, Some(true));
        assert_eq!(judge(&ours, &verify(89.9), &[]).1, Some(false));
        let jwt = |percent| Row::value("validate_jwt", "v", percent, "% of jsonwebtoken");
        assert_eq!(judge(&ours, &jwt(100.0), &[]).1, Some(true));
        assert_eq!(judge(&ours, &jwt(99.0), &[]).1, Some(false));
    }

    #[test]
    fn the_table_has_a_line_per_row_of_every_report() {
        let ours = report("oidc-forge", vec![token_row(7000.0, 280.0)]);
        let peer = report("panva", vec![token_row(3000.0, 600.0)]);
        let text = table(&ours, &[peer]);
        assert!(text.contains("oidc-forge"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("panva")), "{text}");
        assert!(text.contains("1.12x1"), "{text}");
    }
}
