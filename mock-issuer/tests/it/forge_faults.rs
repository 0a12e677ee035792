//! Scripted faults through the Rust API: every kind (status and RFC error, delay, closed
//! connection, malformed JSON, authorization error redirect), every scope (next, N, until
//! cleared), a rejected authorization code and an unreachable JWKS.

use std::time::{Duration, Instant};

use oidc_forge::forge::faults::FaultError;
use reqwest::StatusCode;

use crate::support::*;

const CLIENT_CREDENTIALS: [(&str, &str); 2] =
    [("grant_type", "client_credentials"), ("scope", "read")];

impl Harness {
    async fn client_credentials(&self) -> Answer {
        self.token(&CLIENT_CREDENTIALS, Some(WEB)).await
    }

    async fn get(&self, path: &str) -> Answer {
        Answer::read(self.http.get(self.url(path)).send().await.expect("get")).await
    }
}

#[tokio::test]
async fn a_status_fault_answers_the_next_request_with_an_rfc_error_then_stops() {
    let h = start().await;
    h.issuer
        .faults()
        .token()
        .status(503)
        .error("temporarily_unavailable")
        .description("maintenance")
        .once()
        .unwrap();
    let answer = h.client_credentials().await;
    answer.assert_oauth_error(503, "temporarily_unavailable");
    assert_eq!(answer.json()["error_description"], "maintenance");
    assert_eq!(h.client_credentials().await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_error_code_defaults_from_the_status_and_endpoint() {
    let h = start().await;
    let faults = h.issuer.faults();
    faults.token().status(401).once().unwrap();
    let answer = h.client_credentials().await;
    answer.assert_oauth_error(401, "invalid_client");
    assert!(answer.header("www-authenticate").starts_with("Basic "));

    faults.userinfo().status(401).once().unwrap();
    let answer = h.userinfo("any").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"], "invalid_token");
    assert!(
        answer
            .header("www-authenticate")
            .starts_with("Bearer realm=\"oidc-forge\", error=\"invalid_token\""),
        "{:?}",
        answer.headers
    );

    faults.discovery().status(500).once().unwrap();
    h.get("/.well-known/openid-configuration")
        .await
        .assert_oauth_error(500, "server_error");

    // Browser-facing endpoints answer a page, with the status.
    faults.authorize().status(500).once().unwrap();
    let answer = h.authorize(&[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.header("content-type").starts_with("text/html"));
    assert!(answer.body.contains("server_error"), "{}", answer.body);
}

#[tokio::test]
async fn times_n_answers_n_requests_and_until_cleared_answers_all() {
    let h = start().await;
    h.issuer.faults().token().status(500).times(2).unwrap();
    for _ in 0..2 {
        h.client_credentials()
            .await
            .assert_oauth_error(500, "server_error");
    }
    assert_eq!(h.client_credentials().await.status, StatusCode::OK);

    let id = h
        .issuer
        .faults()
        .token()
        .status(429)
        .until_cleared()
        .unwrap();
    for _ in 0..4 {
        h.client_credentials()
            .await
            .assert_oauth_error(429, "temporarily_unavailable");
    }
    assert_eq!(h.issuer.faults().list().len(), 1);
    assert_eq!(h.issuer.faults().list()[0].remaining, None);
    assert!(h.issuer.faults().clear_fault(id));
    assert_eq!(h.client_credentials().await.status, StatusCode::OK);
    assert!(h.issuer.faults().list().is_empty());
}

#[tokio::test]
async fn faults_of_one_endpoint_leave_the_others_alone() {
    let h = start().await;
    h.issuer
        .faults()
        .jwks()
        .status(503)
        .until_cleared()
        .unwrap();
    let answer = h.get("/.well-known/openid-configuration").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(h.client_credentials().await.status, StatusCode::OK);
    h.get("/.well-known/jwks.json")
        .await
        .assert_oauth_error(503, "temporarily_unavailable");
    assert_eq!(h.issuer.faults().clear(), 1);
}

#[tokio::test]
async fn a_delay_slows_the_answer_and_keeps_it_correct() {
    let h = start().await;
    let delay = Duration::from_millis(250);
    h.issuer.faults().discovery().delay(delay).once().unwrap();
    let started = Instant::now();
    let answer = h.get("/.well-known/openid-configuration").await;
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["issuer"], h.issuer.url());

    // A delay before a status.
    h.issuer
        .faults()
        .token()
        .delay(delay)
        .status(504)
        .once()
        .unwrap();
    let started = Instant::now();
    h.client_credentials()
        .await
        .assert_oauth_error(504, "server_error");
    assert!(started.elapsed() >= delay);
}

#[tokio::test]
async fn close_connection_answers_nothing() {
    let h = start().await;
    h.issuer.faults().token().close_connection().once().unwrap();
    let result = h
        .http
        .post(h.url("/api/token"))
        .basic_auth(WEB.0, Some(WEB.1))
        .form(&CLIENT_CREDENTIALS)
        .send()
        .await;
    let err = result.expect_err("the connection closes without an answer");
    assert!(!err.is_status() && err.status().is_none(), "{err:?}");
    assert_eq!(h.client_credentials().await.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_has_a_json_content_type_and_does_not_parse() {
    let h = start().await;
    h.issuer
        .faults()
        .discovery()
        .malformed_json()
        .once()
        .unwrap();
    let answer = h.get("/.well-known/openid-configuration").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .header("content-type")
            .starts_with("application/json")
    );
    assert!(serde_json::from_str::<serde_json::Value>(&answer.body).is_err());
    assert!(!answer.body.is_empty());
}

#[tokio::test]
async fn authorize_can_redirect_back_with_an_error() {
    let h = start().await;
    h.issuer
        .faults()
        .authorize()
        .authorization_error("access_denied")
        .once()
        .unwrap();
    h.authorize(&[]).await.assert_redirected_error(
        "access_denied",
        Some("state-1"),
        h.issuer.url(),
    );
    // An untrusted redirect URI still gets the page, never a redirect (RFC 6749 4.1.2.1).
    h.issuer
        .faults()
        .authorize()
        .authorization_error("login_required")
        .once()
        .unwrap();
    h.authorize(&[("redirect_uri", "https://evil.test/cb")])
        .await
        .assert_error_page("not registered");
    assert_eq!(h.authorize(&[]).await.status, StatusCode::FOUND);
}

#[tokio::test]
async fn a_rejected_code_answers_invalid_grant_until_cleared_and_stays_usable() {
    let h = start().await;
    let rejected = h.code(&[]).await;
    let other = h.code(&[]).await;
    let id = h.issuer.faults().reject_code(rejected.clone());
    let redeem = |code: &str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect::<Vec<_>>()
    };
    let post = |form: Vec<(String, String)>| {
        let request = h
            .http
            .post(h.url("/api/token"))
            .basic_auth(WEB.0, Some(WEB.1))
            .form(&form);
        async move { Answer::read(request.send().await.unwrap()).await }
    };
    for _ in 0..2 {
        post(redeem(&rejected))
            .await
            .assert_oauth_error(400, "invalid_grant");
    }
    assert_eq!(post(redeem(&other)).await.status, StatusCode::OK);
    assert!(h.issuer.faults().clear_fault(id));
    // The fault answered in the issuer's place: the code was never consumed.
    assert_eq!(post(redeem(&rejected)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_jwks_closes_every_connection_until_cleared() {
    let h = start().await;
    let id = h.issuer.faults().jwks_unreachable();
    for _ in 0..3 {
        let result = h.http.get(h.url("/.well-known/jwks.json")).send().await;
        assert!(result.is_err(), "{result:?}");
    }
    assert_eq!(
        h.get("/.well-known/openid-configuration").await.status,
        StatusCode::OK
    );
    assert!(h.issuer.faults().clear_fault(id));
    assert_eq!(h.jwks_kids().await.len(), 3);
}

#[tokio::test]
async fn invalid_faults_are_refused() {
    let h = start().await;
    let faults = h.issuer.faults();
    assert_eq!(
        faults.token().status(302).once(),
        Err(FaultError::NotAnErrorStatus(302))
    );
    assert!(matches!(
        faults.token().authorization_error("access_denied").once(),
        Err(FaultError::WrongEndpoint { .. })
    ));
    assert!(faults.list().is_empty());
    assert_eq!(h.client_credentials().await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_request_log_names_the_fault_that_answered() {
    let h = start().await;
    h.issuer.faults().token().status(503).once().unwrap();
    h.issuer.faults().token().close_connection().once().unwrap();
    h.client_credentials().await;
    let _ = h
        .http
        .post(h.url("/api/token"))
        .form(&CLIENT_CREDENTIALS)
        .basic_auth(WEB.0, Some(WEB.1))
        .send()
        .await;
    h.client_credentials().await;
    let log = h.issuer.requests_to(oidc_forge::Endpoint::Token);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0].status, Some(503));
    assert!(
        log[0]
            .fault
            .as_deref()
            .is_some_and(|f| f.contains("status 503"))
    );
    assert_eq!(log[1].status, None);
    assert!(
        log[1]
            .fault
            .as_deref()
            .is_some_and(|f| f.contains("close_connection"))
    );
    assert_eq!((log[2].status, log[2].fault.as_deref()), (Some(200), None));
}
