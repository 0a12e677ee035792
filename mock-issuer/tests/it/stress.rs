//! Load and concurrency: thousands of code flows against one issuer at once. Every code is
//! redeemed exactly once and every response arrives (RFC 6749 4.1.2 / 10.5: a code is
//! single-use, a second redemption fails with `invalid_grant`); two racing redemptions of one
//! refresh token yield one successor (RFC 9700 4.14.2).
//!
//! The client signs with EdDSA here, so the run measures the issuer's bookkeeping and locking
//! rather than RSA signing; a few seconds in a debug build.

use std::collections::HashSet;
use std::sync::Arc;

use oidc_forge::config::SigningAlg;
use oidc_forge::{Config, Endpoint};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::support::{Answer, Harness, REDIRECT_URI, VERIFIER, WEB, start_with};

const FLOWS: usize = 2_000;
/// Requests in flight at once: enough to contend on every lock, few enough for any fd limit.
const IN_FLIGHT: usize = 128;

async fn harness() -> Arc<Harness> {
    let mut config = Config::default();
    for client in &mut config.clients {
        client.signing_alg = Some(SigningAlg::EdDSA);
    }
    let h = start_with(config).await;
    // The request log is bounded; turn nothing off, the stress includes it.
    Arc::new(h)
}

/// Runs `job(i)` for i in 0..n with at most [`IN_FLIGHT`] at once; results in index order.
async fn run_all<T, F, Fut>(n: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let work = job(i);
        tasks.spawn(async move {
            let result = work.await;
            drop(permit);
            (i, result)
        });
    }
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.expect("no task panics");
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.expect("every task answered"))
        .collect()
}

fn code_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.to_owned()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", VERIFIER.into()),
    ]
}

async fn post_token(h: &Harness, form: &[(&str, String)]) -> Answer {
    let request = h
        .http
        .post(h.url("/api/token"))
        .basic_auth(WEB.0, Some(WEB.1))
        .form(form);
    Answer::read(
        request
            .send()
            .await
            .expect("a response, never a lost request"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_code_flows_redeem_each_code_exactly_once() {
    let h = harness().await;

    // Authorize FLOWS times at once: every request answered, every code distinct.
    let codes = run_all(FLOWS, |i| {
        let h = h.clone();
        async move {
            let state = format!("s{i}");
            let answer = h.authorize(&[("state", &state)]).await;
            assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
            let params = answer.location_params();
            assert_eq!(params.get("state"), Some(&state), "each answer is its own");
            params.get("code").cloned().expect("a code")
        }
    })
    .await;
    let distinct: HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), FLOWS, "no code is issued twice");

    // Redeem each code twice at the same moment: exactly one wins (RFC 6749 4.1.2).
    let races = run_all(FLOWS, |i| {
        let h = h.clone();
        let code = codes[i].clone();
        async move {
            let form = code_form(&code);
            let (a, b) = tokio::join!(post_token(&h, &form), post_token(&h, &form));
            (a, b)
        }
    })
    .await;
    let mut access_tokens = Vec::with_capacity(FLOWS);
    for (a, b) in &races {
        let (winner, loser) = match (a.status, b.status) {
            (StatusCode::OK, StatusCode::BAD_REQUEST) => (a, b),
            (StatusCode::BAD_REQUEST, StatusCode::OK) => (b, a),
            other => panic!(
                "one redemption must win and one fail, got {other:?}: {} / {}",
                a.body, b.body
            ),
        };
        loser.assert_oauth_error(400, "invalid_grant");
        access_tokens.push(
            winner.json()["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
        );
    }
    let distinct: HashSet<&String> = access_tokens.iter().collect();
    assert_eq!(distinct.len(), FLOWS, "every winner got its own token");

    // A third redemption, after the race, still fails (RFC 6749 10.5), and the replay revoked
    // what the code issued (RFC 6749 4.1.2): the token no longer opens UserInfo.
    let late = run_all(FLOWS, |i| {
        let h = h.clone();
        let code = codes[i].clone();
        let token = access_tokens[i].clone();
        async move {
            let replay = post_token(&h, &code_form(&code)).await;
            let userinfo = h.userinfo(&token).await;
            (replay, userinfo)
        }
    })
    .await;
    for (replay, userinfo) in &late {
        replay.assert_oauth_error(400, "invalid_grant");
        assert_eq!(
            userinfo.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            userinfo.body
        );
    }

    // Nothing lost on the issuer's side either: it logged every token request it answered
    // (the log keeps the newest 1,000 of them).
    let logged = h.issuer.requests_to(Endpoint::Token);
    assert!(logged.iter().all(|r| r.status.is_some()));
    let sizes = h.issuer.state().store_sizes();
    assert_eq!(sizes.codes, 0, "replayed codes are dropped: {sizes:?}");
    assert_eq!(sizes.evicted, 0, "nothing was forgotten early: {sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_refreshes_of_one_token_yield_exactly_one_successor() {
    const CHAINS: usize = 200;
    let h = harness().await;
    let refresh_tokens = run_all(CHAINS, |_| {
        let h = h.clone();
        async move {
            let tokens: Value = h.tokens(&[]).await;
            tokens["refresh_token"]
                .as_str()
                .expect("offline_access gives one")
                .to_owned()
        }
    })
    .await;
    let results = run_all(CHAINS, |i| {
        let h = h.clone();
        let token = refresh_tokens[i].clone();
        async move {
            let form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token),
            ];
            tokio::join!(post_token(&h, &form), post_token(&h, &form))
        }
    })
    .await;
    for (a, b) in &results {
        let wins = [a, b].iter().filter(|r| r.status == StatusCode::OK).count();
        assert_eq!(
            wins, 1,
            "exactly one successor (RFC 9700 4.14.2): {} / {}",
            a.body, b.body
        );
        let loser = if a.status == StatusCode::OK { b } else { a };
        loser.assert_oauth_error(400, "invalid_grant");
    }
    // Each original token is now spent: one more try fails.
    let again = run_all(CHAINS, |i| {
        let h = h.clone();
        let token = refresh_tokens[i].clone();
        async move {
            post_token(
                &h,
                &[
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", token),
                ],
            )
            .await
        }
    })
    .await;
    for answer in &again {
        answer.assert_oauth_error(400, "invalid_grant");
    }
}
