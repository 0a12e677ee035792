//! What the client observes from the issuer in deterministic mode (frozen clock, seed 42, a
//! fixed issuer identifier resolved to the in-process socket), through the client's own API:
//! discovery as parsed, the JWKS, the token responses of the code, refresh and client
//! credentials grants as the client returns them, the claims after the client's validation,
//! and UserInfo. Every value is identical run after run, so a snapshot changes only when the
//! behaviour of the issuer or the client does.

use std::sync::Arc;

use oidc_forge::{Config, FixedClock, MockIssuer};
use oidc_forge_client::clock::{Clock, FixedClock as AppClock};
use oidc_forge_client::pkce::PkceVerifier;
use oidc_forge_client::{AuthorizationRequest, Client, CodeExchange, RefreshRequest, Requirements};
use oidc_forge_conformance::env::{ALICE, NOW, REDIRECT_URI, VERIFIER, WEB_CLIENT};

const ISSUER: &str = "http://oidc-forge.test";

#[tokio::test]
async fn what_the_client_sees_in_deterministic_mode() {
    let issuer = MockIssuer::builder()
        .config(Config::default())
        .clock(Arc::new(FixedClock::new(NOW)))
        .seed(42)
        .issuer_url(ISSUER)
        .start()
        .await
        .expect("the issuer starts");
    // The identifier has no port; every request to it goes to the in-process socket.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve("oidc-forge.test", issuer.local_addr())
        .build()
        .unwrap();
    let client = Client::builder(ISSUER, WEB_CLIENT.0)
        .client_secret(WEB_CLIENT.1)
        .clock(Arc::new(AppClock::new(NOW)) as Arc<dyn Clock>)
        .http_client(http.clone())
        .build()
        .unwrap();

    let metadata = client.metadata().await.unwrap();
    insta::assert_json_snapshot!("discovery", metadata.as_ref());
    let jwks: serde_json::Value = http
        .get(&metadata.jwks_uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("jwks", jwks);

    let verifier = PkceVerifier::new(VERIFIER).unwrap();
    let url = client
        .auth_url(
            &AuthorizationRequest::new(REDIRECT_URI)
                .scope(["openid", "profile", "email", "offline_access", "read"])
                .state("state-1")
                .nonce("nonce-1")
                .pkce(&verifier),
        )
        .await
        .unwrap();
    let authorize = http.get(url.as_str()).send().await.unwrap();
    let location = authorize.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (tokens, id_claims) = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT_URI)
                .code_verifier(&verifier)
                .nonce("nonce-1"),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("code_token_response", tokens);
    insta::assert_json_snapshot!("code_id_token_claims", id_claims);
    let access = client
        .validate_access_token(
            &tokens.access_token,
            &Requirements::new()
                .scopes(["read"])
                .permissions(["castles:read"]),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("code_access_token_info", access);
    let userinfo = client.userinfo(&tokens.access_token, ALICE).await.unwrap();
    insta::assert_json_snapshot!("userinfo", userinfo);

    let (refreshed, refreshed_claims) = client
        .refresh(RefreshRequest::new(
            tokens.refresh_token.clone().unwrap(),
            ALICE,
        ))
        .await
        .unwrap();
    insta::assert_json_snapshot!("refresh_token_response", refreshed);
    insta::assert_json_snapshot!("refresh_id_token_claims", refreshed_claims);

    let machine = client.client_credentials(&["read"]).await.unwrap();
    insta::assert_json_snapshot!("client_credentials_token_response", machine);
    let machine_access = client
        .validate_access_token(&machine.access_token, &Requirements::new().scopes(["read"]))
        .await;
    // A client_credentials token is about the client: its `sub` is the client's id (RFC 9068
    // 2.2), and the client validates it as such. Snapshot what it gives.
    insta::assert_json_snapshot!(
        "client_credentials_access_token_validation",
        machine_access
            .map(|info| serde_json::to_value(info).unwrap())
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    );
    issuer.shutdown().await;
}
