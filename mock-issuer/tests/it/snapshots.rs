//! Deterministic mode: fixed clock, embedded keys and a seeded RNG make every response
//! identical byte for byte, so these snapshots need no redactions.

use std::sync::Arc;

use oidc_forge::{Config, FixedClock, MockIssuer};
use serde_json::{Value, json};

use crate::support::*;

const ISSUER: &str = "http://oidc-forge.test";

async fn deterministic() -> Harness {
    let clock = Arc::new(FixedClock::new(NOW));
    let issuer = MockIssuer::builder()
        .config(Config::default())
        .clock(clock.clone())
        .seed(42)
        .issuer_url(ISSUER)
        .start()
        .await
        .unwrap();
    Harness {
        base: issuer.url().to_owned(),
        issuer,
        http: http(),
        clock,
    }
}

impl Harness {
    /// The issuer URL is fixed, so requests go to the socket address instead.
    fn socket_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.issuer.local_addr())
    }
}

/// Everything a session produces: discovery, JWKS, a code flow, a refresh, client credentials,
/// userinfo.
async fn session(h: &Harness) -> Value {
    let get = |path: &str| {
        let url = h.socket_url(path);
        async move { h.http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let discovery = get("/.well-known/openid-configuration").await;
    let jwks = get("/.well-known/jwks.json").await;
    let authorize = h
        .http
        .get(h.socket_url("/authorize"))
        .query(&authorize_params(&[(
            "scope",
            "openid profile email offline_access read",
        )]))
        .send()
        .await
        .unwrap();
    let location = authorize.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let post = |form: Vec<(&'static str, String)>| {
        let url = h.socket_url("/api/token");
        async move {
            h.http
                .post(url)
                .basic_auth("forge-web", Some("forge-web-secret"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let code_response = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", VERIFIER.into()),
    ])
    .await;
    let tokens: Value = serde_json::from_str(&code_response).unwrap();
    let refresh_response = post(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", str_of(&tokens, "refresh_token").into()),
    ])
    .await;
    let client_credentials_response = post(vec![("grant_type", "client_credentials".into())]).await;
    let userinfo = h
        .http
        .get(h.socket_url("/api/userinfo"))
        .bearer_auth(str_of(&tokens, "access_token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    json!({
        "authorize_location": location,
        "discovery": discovery,
        "jwks": jwks,
        "code_response": code_response,
        "refresh_response": refresh_response,
        "client_credentials_response": client_credentials_response,
        "userinfo": userinfo,
    })
}

fn parsed(raw: &Value, key: &str) -> Value {
    serde_json::from_str(str_of(raw, key)).unwrap()
}

#[tokio::test]
async fn two_runs_are_identical_byte_for_byte() {
    let (a, b) = (deterministic().await, deterministic().await);
    assert_eq!(session(&a).await, session(&b).await);
}

#[tokio::test]
async fn snapshots_of_discovery_jwks_and_token_responses() {
    let h = deterministic().await;
    let raw = session(&h).await;
    insta::assert_json_snapshot!("discovery", parsed(&raw, "discovery"));
    insta::assert_json_snapshot!("jwks", parsed(&raw, "jwks"));
    insta::assert_snapshot!("authorize_location", str_of(&raw, "authorize_location"));
    let code_response = parsed(&raw, "code_response");
    insta::assert_json_snapshot!("code_token_response", code_response);
    insta::assert_json_snapshot!(
        "code_access_token",
        decode(str_of(&code_response, "access_token"))
    );
    insta::assert_json_snapshot!("code_id_token", decode(str_of(&code_response, "id_token")));
    let refresh_response = parsed(&raw, "refresh_response");
    insta::assert_json_snapshot!("refresh_token_response", refresh_response);
    insta::assert_json_snapshot!(
        "refresh_id_token",
        decode(str_of(&refresh_response, "id_token"))
    );
    let cc = parsed(&raw, "client_credentials_response");
    insta::assert_json_snapshot!("client_credentials_token_response", cc);
    insta::assert_json_snapshot!(
        "client_credentials_access_token",
        decode(str_of(&cc, "access_token"))
    );
    insta::assert_json_snapshot!("userinfo", parsed(&raw, "userinfo"));
}
