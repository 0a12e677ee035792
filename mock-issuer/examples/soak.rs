//! Soak: drives an in-process issuer with a million-plus requests of code flows, refreshes,
//! UserInfo calls and code replays, and prints the process's memory (RSS) and the sizes of the
//! issuer's stores before, during and after, to show that memory holds flat: every store
//! expires and caps its entries (the lifetimes and capacities the README lists), the request log is a ring.
//!
//! ```sh
//! cargo run --release -p oidc-forge --example soak -- [REQUESTS] [CONCURRENCY]
//! ```
//!
//! Defaults: 1,000,000 requests, 32 at once. Tokens are signed with EdDSA so the run measures
//! the issuer's bookkeeping, not RSA.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oidc_forge::StoreSizes;
use oidc_forge::config::SigningAlg;
use oidc_forge::{Config, MockIssuer};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT_URI: &str = "http://localhost:8000/auth-callback";

/// Resident and peak memory of this process, from /proc (Linux).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn report(label: &str, done: u64, started: Instant, sizes: StoreSizes) {
    let (rss, peak) = memory();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{label:>7} requests={done:>9} t={elapsed:>7.1}s rate={:>6.0}/s rss={:>6} KiB peak={:>6} KiB \
         codes={} refresh={} revoked={} revoked_grants={} sessions={} interactions={} log={} evicted={} refused={}",
        done as f64 / elapsed.max(0.001),
        rss,
        peak,
        sizes.codes,
        sizes.refresh_tokens,
        sizes.revoked_access_tokens,
        sizes.revoked_grants,
        sizes.sessions,
        sizes.interactions,
        sizes.request_log,
        sizes.evicted,
        sizes.refused,
    );
}

struct Worker {
    http: reqwest::Client,
    base: String,
    done: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
}

impl Worker {
    async fn send(&self, request: reqwest::RequestBuilder) -> Option<(u16, String)> {
        self.done.fetch_add(1, Ordering::Relaxed);
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = response.text().await.unwrap_or_default();
                Some((status, location.unwrap_or(body)))
            }
            Err(_) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn token(&self, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/api/token", self.base))
            .basic_auth("forge-web", Some("forge-web-secret"))
            .form(form)
    }

    /// authorize, code exchange, UserInfo, refresh, UserInfo: five requests; every tenth flow
    /// also replays its code (which revokes what it issued).
    async fn flow(&self, n: u64) -> Option<()> {
        let state = format!("s{n}");
        let (status, location) = self
            .send(self.http.get(format!("{}/authorize", self.base)).query(&[
                ("response_type", "code"),
                ("client_id", "forge-web"),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid email offline_access"),
                ("state", &state),
                ("nonce", "n"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]))
            .await?;
        let code = (status == 302)
            .then(|| url::Url::parse(&location).ok())
            .flatten()
            .and_then(|url| {
                url.query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
            })?;
        let code_form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ];
        let (_, body) = self.send(self.token(&code_form)).await?;
        let tokens: serde_json::Value = serde_json::from_str(&body).ok()?;
        let access = tokens["access_token"].as_str()?.to_owned();
        let refresh = tokens["refresh_token"].as_str()?.to_owned();
        let userinfo = format!("{}/api/userinfo", self.base);
        self.send(self.http.get(&userinfo).bearer_auth(&access))
            .await?;
        let (_, body) = self
            .send(self.token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ]))
            .await?;
        let refreshed: serde_json::Value = serde_json::from_str(&body).ok()?;
        let access = refreshed["access_token"].as_str()?.to_owned();
        self.send(self.http.get(&userinfo).bearer_auth(&access))
            .await?;
        if n.is_multiple_of(10) {
            self.send(self.token(&code_form)).await?;
        }
        Some(())
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let concurrency: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);

    let mut config = Config::default();
    for client in &mut config.clients {
        client.signing_alg = Some(SigningAlg::EdDSA);
    }
    let issuer = MockIssuer::start(config).await.expect("the issuer starts");
    let state = issuer.root().clone();
    let started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let flows = Arc::new(AtomicU64::new(0));
    println!(
        "soak: {total} requests, {concurrency} at once, against {}",
        issuer.url()
    );
    report("before", 0, started, state.store_sizes());

    let reporter = {
        let done = done.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let mut next = total / 10;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let now = done.load(Ordering::Relaxed);
                if now >= next {
                    report("during", now, started, state.store_sizes());
                    next += total / 10;
                }
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let worker = Worker {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            base: issuer.url().to_owned(),
            done: done.clone(),
            failures: failures.clone(),
        };
        let flows = flows.clone();
        workers.push(tokio::spawn(async move {
            while worker.done.load(Ordering::Relaxed) < total {
                let n = flows.fetch_add(1, Ordering::Relaxed);
                if worker.flow(n).await.is_none() {
                    worker.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("a worker");
    }
    reporter.abort();
    let requests = done.load(Ordering::Relaxed);
    report("after", requests, started, state.store_sizes());
    println!(
        "flows={} failed_flows={} (a failed flow is a lost or unexpected answer)",
        flows.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    drop(state);
    issuer.shutdown().await;
}
