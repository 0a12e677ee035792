//! The request log through the Rust API: what a client sent to each endpoint, secrets
//! redacted, bounded.

use std::sync::Arc;

use oidc_forge::forge::request_log::REDACTED;
use oidc_forge::{Config, Endpoint, FixedClock, MockIssuer};
use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn a_code_flow_is_logged_with_its_secrets_redacted() {
    let h = start().await;
    let tokens = h.tokens(&[]).await;
    let access = str_of(&tokens, "access_token").to_owned();
    h.userinfo(&access).await;

    let log = h.issuer.requests();
    let endpoints: Vec<_> = log.iter().map(|r| r.endpoint).collect();
    assert_eq!(
        endpoints,
        [
            Some(Endpoint::Authorize),
            Some(Endpoint::Token),
            Some(Endpoint::Userinfo)
        ]
    );
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);

    let authorize = &log[0];
    assert_eq!(
        (authorize.method.as_str(), authorize.path.as_str()),
        ("GET", "/authorize")
    );
    assert_eq!(authorize.query.get("client_id"), Some("forge-web"));
    assert_eq!(authorize.query.get("code_challenge"), Some(CHALLENGE));
    assert_eq!(authorize.status, Some(302));
    assert_eq!(authorize.at, NOW);

    let token = &log[1];
    assert_eq!(token.param("grant_type"), Some("authorization_code"));
    assert_eq!(token.param("redirect_uri"), Some(REDIRECT_URI));
    assert_eq!(token.param("code"), Some(REDACTED));
    assert_eq!(token.param("code_verifier"), Some(REDACTED));
    assert_eq!(
        token.authorization.as_deref(),
        Some("Basic forge-web:[redacted]")
    );
    assert_eq!(token.status, Some(200));

    let userinfo = &log[2];
    assert_eq!(userinfo.authorization.as_deref(), Some("Bearer [redacted]"));

    let everything = serde_json::to_string(&log).unwrap();
    for secret in [
        WEB.1,
        VERIFIER,
        access.as_str(),
        str_of(&tokens, "refresh_token"),
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}

#[tokio::test]
async fn the_log_filters_by_endpoint_clears_and_records_unknown_paths() {
    let h = start().await;
    h.token(
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", "guess"),
        ],
        Some(WEB),
    )
    .await;
    let answer = Answer::read(h.http.post(h.url("/token")).send().await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    h.admin(reqwest::Method::GET, "/requests", None).await;

    let token = h.issuer.requests_to(Endpoint::Token);
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].form.get("client_secret"), Some(REDACTED));
    assert_eq!(token[0].status, Some(400), "two client authentications");
    let all = h.issuer.requests();
    assert_eq!(all.len(), 2, "the admin API is not logged: {all:?}");
    assert_eq!((all[1].path.as_str(), all[1].endpoint), ("/token", None));

    h.issuer.clear_requests();
    assert!(h.issuer.requests().is_empty());
    h.client_credentials_log_entry().await;
    assert_eq!(h.issuer.requests()[0].seq, 3, "numbers keep counting");
}

#[tokio::test]
async fn the_log_keeps_the_newest_entries_up_to_its_capacity() {
    let issuer = MockIssuer::builder()
        .config(Config::default())
        .clock(Arc::new(FixedClock::new(NOW)))
        .request_log_capacity(3)
        .start()
        .await
        .unwrap();
    let http = http();
    for _ in 0..5 {
        http.get(format!("{}/.well-known/jwks.json", issuer.url()))
            .send()
            .await
            .unwrap();
    }
    let seqs: Vec<u64> = issuer.requests().iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [3, 4, 5]);

    let off = MockIssuer::builder()
        .request_log_capacity(0)
        .start()
        .await
        .unwrap();
    http.get(off.discovery_url()).send().await.unwrap();
    assert!(off.requests().is_empty());
}

#[tokio::test]
async fn duplicated_parameters_are_named() {
    let h = start().await;
    let url = format!(
        "{}&state=again",
        h.url("/authorize?client_id=forge-web&state=one")
    );
    h.http.get(url).send().await.unwrap();
    let log = h.issuer.requests();
    assert_eq!(log[0].duplicated, ["state"]);
    assert_eq!(log[0].query.get("state"), Some("one"));
}

impl Harness {
    async fn client_credentials_log_entry(&self) {
        self.token(&[("grant_type", "client_credentials")], Some(WEB))
            .await;
    }
}
