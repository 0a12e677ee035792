//! What the benchmark drives: each endpoint of the issuer (or of a peer), the machine's limits,
//! startup, and the in-process figures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Cli;
use crate::limits::{self, Rate, median};
use crate::load::{self, Load, LoadResult, Requests};
use crate::paired;
use crate::process::{self, IssuerOptions};
use crate::report::{Report, Row};

/// RFC 7636 appendix B's verifier and challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT_URI: &str = "http://localhost:8000/auth-callback";
const REDIRECT_URI_ENCODED: &str = "http%3A%2F%2Flocalhost%3A8000%2Fauth-callback";

/// The embedded configuration's confidential client.
pub(crate) const CLIENT_ID: &str = "forge-web";
pub(crate) const CLIENT_SECRET: &str = "forge-web-secret";

/// One timed run's figures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    pub(crate) server_cpu_us: Option<f64>,
    client_cpu_us: f64,
    errors: u64,
}

pub async fn run(cli: &Cli) -> Result<Report, String> {
    match &cli.peer {
        Some(name) => peer(cli, name).await,
        None => ours(cli).await,
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// Limits measured between the phases of the run; the table uses their median.
struct LimitSamples {
    sign: Vec<Rate>,
    verify: Vec<Rate>,
    each: Duration,
}

impl LimitSamples {
    fn new(cli: &Cli) -> Self {
        Self {
            sign: Vec::new(),
            verify: Vec::new(),
            each: (cli.duration / 5).clamp(Duration::from_millis(300), Duration::from_secs(2)),
        }
    }

    fn take(&mut self) -> Result<(), String> {
        self.sign.push(limits::sign_rate(self.each)?);
        self.verify.push(limits::verify_rate(self.each / 2)?);
        Ok(())
    }

    fn median(rates: &[Rate]) -> Option<Rate> {
        if rates.is_empty() {
            return None;
        }
        let per_second = median(&mut rates.iter().map(|r| r.per_second).collect::<Vec<_>>());
        Some(Rate {
            per_second,
            us_each: 1e6 / per_second,
        })
    }
}

async fn ours(cli: &Cli) -> Result<Report, String> {
    let mut report = Report::new("oidc-forge", cli);
    let mut limits = LimitSamples::new(cli);
    limits.take()?;

    // The code rows mint and redeem thousands of codes a second (a batch of 2,000 is minted
    // and redeemed within a second). The code store keeps 20,000 codes, redeemed ones included,
    // until they expire (to catch a replay), and refuses new ones when full: with the default
    // 60-second codes it fills in seconds. The served issuer is the embedded configuration with
    // 3-second codes, so the store turns over faster than codes are minted; nothing else
    // changes, and the exchange itself costs the same.
    let config = std::env::temp_dir().join(format!("oidc-forge-bench-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "{}\n[lifetimes]\nauthorization_code = 3\n",
            oidc_forge::config::DEFAULT_CONFIG_TOML
        ),
    )
    .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let served = IssuerOptions {
        binary: cli.issuer_bin.clone(),
        rust_log: (cli.server_log != "default").then(|| cli.server_log.clone()),
        request_log: cli.request_log,
        config: Some(config.clone()),
    };
    // Startup is measured as users start it: the embedded configuration, no file.
    let options = IssuerOptions {
        config: None,
        ..served.clone()
    };
    let wants_server = ["token", "code", "discovery", "jwks", "userinfo"]
        .iter()
        .any(|row| cli.wants(row));
    if wants_server {
        if !process::exists(&cli.issuer_bin) {
            return Err(format!(
                "{} not found: build it with `cargo build --release -p oidc-forge`, or pass --issuer-bin",
                cli.issuer_bin.display()
            ));
        }
        let issuer = process::start_issuer(&served)?;
        let addr = issuer.addr;
        let host = addr.to_string();
        let pid = Some(issuer.pid());
        let auth = basic(CLIENT_ID, CLIENT_SECRET);

        if cli.wants("token") {
            let request = load::post_form(
                &host,
                "/api/token",
                &[("Authorization", &auth)],
                "grant_type=client_credentials&scope=read",
            );
            let samples = repeat_runs(cli, addr, 200, request.clone(), pid).await?;
            report.rows.push(row(
                "token",
                "token: client_credentials",
                &samples,
                Some(1.0),
            ));
            let overhead = paired::token_overhead(
                cli,
                addr,
                &host,
                pid,
                &paired::TokenSide::Repeat(request),
                1.0,
            )
            .await?;
            report.rows.push(Row::value(
                "token_paired",
                "token: client_credentials beyond its signature, paired",
                overhead,
                "x discovery CPU",
            ));
            limits.take()?;
        }
        if cli.wants("code") {
            let samples = code_exchange_runs(cli, addr, &host, &auth, pid).await?;
            report.rows.push(row(
                "code",
                "token: authorization_code",
                &samples,
                Some(2.0),
            ));
            let side = paired::TokenSide::FreshCodes { auth: &auth };
            let overhead = paired::token_overhead(cli, addr, &host, pid, &side, 2.0).await?;
            report.rows.push(Row::value(
                "code_paired",
                "token: authorization_code beyond its signatures, paired",
                overhead,
                "x discovery CPU",
            ));
            limits.take()?;
        }
        for (key, name, path) in [
            (
                "discovery",
                "discovery",
                "/.well-known/openid-configuration",
            ),
            ("jwks", "JWKS", "/.well-known/jwks.json"),
        ] {
            if cli.wants(key) {
                let request = load::get(&host, path, &[]);
                let samples = repeat_runs(cli, addr, 200, request, pid).await?;
                report.rows.push(row(key, name, &samples, None));
                limits.take()?;
            }
        }
        if cli.wants("userinfo") {
            let token = access_token_from_code(addr, &host, &auth).await?;
            let bearer = format!("Bearer {token}");
            let request = load::get(&host, "/api/userinfo", &[("Authorization", &bearer)]);
            let samples = repeat_runs(cli, addr, 200, request, pid).await?;
            report
                .rows
                .push(row("userinfo", "userinfo", &samples, None));
            limits.take()?;
        }
        drop(issuer);
    }
    let _ = std::fs::remove_file(&config);

    if cli.wants("startup") {
        let mut times = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..cli.startup_runs.max(1) {
            let (elapsed, kib) = process::startup_once(&options)?;
            times.push(elapsed.as_secs_f64() * 1e3);
            rss.push(kib as f64 / 1024.0);
        }
        report.rows.push(Row::value(
            "startup",
            "start to first discovery 200",
            median(&mut times),
            "ms",
        ));
        report
            .rows
            .push(Row::value("rss", "idle RSS", median(&mut rss), "MiB"));
    }
    if cli.wants("inprocess") {
        report.rows.push(Row::value(
            "inprocess",
            "MockIssuer::start (in-process)",
            in_process_start(cli.startup_runs.max(1) * 2).await?,
            "ms",
        ));
    }
    if cli.wants("validate") {
        let validation = paired::client_validation(limits.each).await?;
        for (key, name, ratio, unit) in [
            (
                "validate",
                "client validate_access_token (warm JWKS), paired",
                validation.of_raw_verify,
                "% of raw verify",
            ),
            (
                "validate_jwt",
                "client validate vs jsonwebtoken::decode, paired",
                validation.of_jsonwebtoken,
                "% of jsonwebtoken",
            ),
        ] {
            let mut row = Row::value(key, name, ratio * 100.0, unit);
            row.per_second = Some(validation.validate.per_second);
            report.rows.push(row);
        }
    }
    if cli.wants("sign") {
        limits.take()?;
    }
    report.sign = LimitSamples::median(&limits.sign);
    report.verify = LimitSamples::median(&limits.verify);
    report.finish();
    Ok(report)
}

fn row(key: &str, name: &str, samples: &[Sample], signatures: Option<f64>) -> Row {
    let pick = |f: fn(&Sample) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
    let cpu: Vec<f64> = samples.iter().filter_map(|s| s.server_cpu_us).collect();
    Row {
        key: key.into(),
        name: name.into(),
        per_second: Some(pick(|s| s.per_second)),
        p50_us: Some(pick(|s| s.p50_us)),
        p99_us: Some(pick(|s| s.p99_us)),
        server_cpu_us: (!cpu.is_empty()).then(|| median(&mut cpu.clone())),
        client_cpu_us: Some(pick(|s| s.client_cpu_us)),
        signatures,
        errors: samples.iter().map(|s| s.errors).sum(),
        ..Row::default()
    }
}

/// `--runs` timed runs of the same request, after a short untimed warm-up.
async fn repeat_runs(
    cli: &Cli,
    addr: SocketAddr,
    expected_status: u16,
    request: Vec<u8>,
    pid: Option<u32>,
) -> Result<Vec<Sample>, String> {
    let requests = Requests::repeat(request);
    let warm = Load {
        addr,
        connections: cli.connections,
        duration: (cli.duration / 10).min(Duration::from_secs(1)),
        expected_status,
        capture_location: false,
    };
    let warm_result = load::run(&warm, requests.clone())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(first) = &warm_result.first_unexpected {
        return Err(format!(
            "unexpected answer (wanted {expected_status}):\n{first}"
        ));
    }
    let timed = Load {
        duration: cli.duration,
        ..warm
    };
    let mut samples = Vec::new();
    for _ in 0..cli.runs.max(1) {
        samples.push(timed_run(&timed, requests.clone(), pid).await?);
    }
    Ok(samples)
}

pub(crate) async fn timed_run(
    load: &Load,
    requests: Arc<Requests>,
    pid: Option<u32>,
) -> Result<Sample, String> {
    let server_before = pid.map(process::cpu_us).transpose()?;
    let own_before = process::own_cpu_us()?;
    let result = load::run(load, requests).await.map_err(|e| e.to_string())?;
    let server_after = pid.map(process::cpu_us).transpose()?;
    let own_after = process::own_cpu_us()?;
    Ok(sample(
        &result,
        server_before.zip(server_after).map(|(b, a)| a - b),
        own_after - own_before,
    ))
}

fn sample(result: &LoadResult, server_cpu: Option<f64>, client_cpu: f64) -> Sample {
    let mut sorted = result.latencies_us.clone();
    sorted.sort_unstable();
    let completed = result.completed().max(1) as f64;
    if let Some(first) = &result.first_unexpected {
        eprintln!(
            "warning: {} unexpected answers; the first:\n{first}",
            result.unexpected_status
        );
    }
    Sample {
        per_second: result.per_second(),
        p50_us: load::percentile(&sorted, 50.0) as f64,
        p99_us: load::percentile(&sorted, 99.0) as f64,
        server_cpu_us: server_cpu.map(|cpu| cpu / completed),
        client_cpu_us: client_cpu / completed,
        errors: result.unexpected_status,
    }
}

fn authorize_request(host: &str) -> Vec<u8> {
    load::get(
        host,
        &format!(
            "/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={REDIRECT_URI_ENCODED}\
             &scope=openid%20read&state=bench&nonce=bench-nonce\
             &code_challenge={CHALLENGE}&code_challenge_method=S256"
        ),
        &[],
    )
}

pub(crate) fn code_request(host: &str, auth: &str, code: &str) -> Vec<u8> {
    load::post_form(
        host,
        "/api/token",
        &[("Authorization", auth)],
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_URI_ENCODED}&code_verifier={VERIFIER}"
        ),
    )
}

/// The `code` parameter of a redirect.
fn code_of(location: &str) -> Option<&str> {
    let query = location.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("code="))
        .filter(|code| !code.is_empty())
}

/// Mints `count` codes through the authorization endpoint (auto-login), untimed.
pub(crate) async fn mint_codes(
    addr: SocketAddr,
    host: &str,
    connections: usize,
    count: usize,
) -> Result<Vec<String>, String> {
    let load = Load {
        addr,
        connections,
        duration: Duration::from_secs(600),
        expected_status: 302,
        capture_location: true,
    };
    let result = load::run(
        &load,
        Requests::once_each(vec![authorize_request(host); count]),
    )
    .await
    .map_err(|e| e.to_string())?;
    if let Some(first) = result.first_unexpected {
        return Err(format!("authorize did not redirect with a code:\n{first}"));
    }
    let codes: Vec<String> = result
        .locations
        .iter()
        .filter(|l| l.starts_with(REDIRECT_URI))
        .filter_map(|l| code_of(l).map(str::to_owned))
        .collect();
    if codes.len() != count {
        let without_code = result
            .locations
            .iter()
            .find(|l| !l.starts_with(REDIRECT_URI) || code_of(l).is_none());
        return Err(format!(
            "asked for {count} codes, got {} (a redirect without one: {without_code:?})",
            codes.len(),
        ));
    }
    Ok(codes)
}

/// Code exchange: each request redeems a fresh code. Codes are minted in batches through
/// `/authorize` between timed rounds, so the timed rounds hold token requests only and the
/// server CPU counted is the exchange's alone; a run is as many rounds as fill `--duration`.
async fn code_exchange_runs(
    cli: &Cli,
    addr: SocketAddr,
    host: &str,
    auth: &str,
    pid: Option<u32>,
) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    // The first run is preceded by one untimed round, as a warm-up.
    let warm_codes = mint_codes(addr, host, cli.connections, cli.connections * 20).await?;
    let warm = Load {
        addr,
        connections: cli.connections,
        duration: Duration::from_secs(60),
        expected_status: 200,
        capture_location: false,
    };
    let warm_requests = warm_codes
        .iter()
        .map(|c| code_request(host, auth, c))
        .collect();
    let warm_result = load::run(&warm, Requests::once_each(warm_requests))
        .await
        .map_err(|e| e.to_string())?;
    if let Some(first) = warm_result.first_unexpected {
        return Err(format!("code exchange failed:\n{first}"));
    }
    for _ in 0..cli.runs.max(1) {
        let mut total = LoadResult::default();
        let mut server_cpu = Some(0.0);
        let mut client_cpu = 0.0;
        while total.elapsed < cli.duration {
            let codes = mint_codes(addr, host, cli.connections, cli.code_batch.max(1)).await?;
            let requests = codes.iter().map(|c| code_request(host, auth, c)).collect();
            let load = Load {
                duration: cli.duration - total.elapsed,
                ..warm.clone()
            };
            let server_before = pid.map(process::cpu_us).transpose()?;
            let own_before = process::own_cpu_us()?;
            let result = load::run(&load, Requests::once_each(requests))
                .await
                .map_err(|e| e.to_string())?;
            let server_after = pid.map(process::cpu_us).transpose()?;
            client_cpu += process::own_cpu_us()? - own_before;
            server_cpu = match (server_cpu, server_before.zip(server_after)) {
                (Some(sum), Some((before, after))) => Some(sum + after - before),
                _ => None,
            };
            total.elapsed += result.elapsed;
            total.unexpected_status += result.unexpected_status;
            if total.first_unexpected.is_none() {
                total.first_unexpected = result.first_unexpected;
            }
            total.latencies_us.extend(result.latencies_us);
        }
        samples.push(sample(&total, server_cpu, client_cpu));
    }
    Ok(samples)
}

/// An access token for alice, through one code flow.
async fn access_token_from_code(
    addr: SocketAddr,
    host: &str,
    auth: &str,
) -> Result<String, String> {
    let codes = mint_codes(addr, host, 1, 1).await?;
    let (status, _, body) = load::fetch(addr, &code_request(host, auth, &codes[0]))
        .await
        .map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    match (status, json["access_token"].as_str()) {
        (200, Some(token)) => Ok(token.to_owned()),
        _ => Err(format!("code exchange answered {status}: {json}")),
    }
}

/// Median time of `MockIssuer::start` with the embedded configuration, in milliseconds.
async fn in_process_start(runs: usize) -> Result<f64, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let config = oidc_forge::Config::default();
        let start = Instant::now();
        let issuer = oidc_forge::MockIssuer::start(config)
            .await
            .map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        issuer.shutdown().await;
    }
    Ok(median(&mut times))
}

/// Splits `http://host:port/path` into the socket authority and the path prefix.
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are driven, found {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    Ok((authority.to_owned(), path.trim_end_matches('/').to_owned()))
}

async fn resolve(authority: &str) -> Result<SocketAddr, String> {
    let authority = authority.replacen("localhost", "127.0.0.1", 1);
    tokio::net::lookup_host(&authority)
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to nothing"))
}

/// Peer mode: the token (client_credentials), discovery and JWKS endpoints of another issuer.
async fn peer(cli: &Cli, name: &str) -> Result<Report, String> {
    let mut report = Report::new(name, cli);
    let mut limits = LimitSamples::new(cli);
    limits.take()?;
    let base = cli.target_url.as_deref().unwrap_or_default();
    let (authority, prefix) = split_url(base)?;
    let addr = resolve(&authority).await?;
    let discovery_path = format!("{prefix}/.well-known/openid-configuration");
    let (status, _, body) = load::fetch(addr, &load::get(&authority, &discovery_path, &[]))
        .await
        .map_err(|e| e.to_string())?;
    let metadata: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| format!("discovery answered {status} with no JSON: {e}"))?;
    let path_of = |member: &str| -> Result<String, String> {
        let url = metadata[member]
            .as_str()
            .ok_or_else(|| format!("no {member} in the discovery document"))?;
        let (_, path) = split_url(url)?;
        Ok(if path.is_empty() { "/".into() } else { path })
    };
    let token_path = path_of("token_endpoint")?;
    let jwks_path = path_of("jwks_uri")?;
    let auth = basic(&cli.client_id, &cli.client_secret);
    let form = if cli.token_form.is_empty() {
        "grant_type=client_credentials".to_owned()
    } else {
        format!("grant_type=client_credentials&{}", cli.token_form)
    };
    let pid = cli.peer_pid;
    if cli.wants("token") {
        let request = load::post_form(&authority, &token_path, &[("Authorization", &auth)], &form);
        let samples = repeat_runs(cli, addr, 200, request, pid).await?;
        report.rows.push(row(
            "token",
            "token: client_credentials",
            &samples,
            Some(1.0),
        ));
        limits.take()?;
    }
    for (key, name, path) in [
        ("discovery", "discovery", discovery_path.as_str()),
        ("jwks", "JWKS", jwks_path.as_str()),
    ] {
        if cli.wants(key) {
            let request = load::get(&authority, path, &[]);
            let samples = repeat_runs(cli, addr, 200, request, pid).await?;
            report.rows.push(row(key, name, &samples, None));
            limits.take()?;
        }
    }
    report.sign = LimitSamples::median(&limits.sign);
    report.verify = LimitSamples::median(&limits.verify);
    report.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_from_the_redirect() {
        assert_eq!(
            code_of("http://localhost:8000/auth-callback?code=abc-_1&state=s&iss=x"),
            Some("abc-_1")
        );
        assert_eq!(
            code_of("http://localhost:8000/auth-callback?error=access_denied"),
            None
        );
        assert_eq!(
            code_of("http://localhost:8000/auth-callback?code=&state=s"),
            None
        );
    }

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:3000/oidc/").unwrap(),
            ("127.0.0.1:3000".into(), "/oidc".into())
        );
        assert_eq!(
            split_url("http://localhost:8080").unwrap(),
            ("localhost:8080".into(), String::new())
        );
        assert!(split_url("https://x").is_err());
    }
}
