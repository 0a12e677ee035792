//! Catalogue section B, through the API example app served over HTTP with
//! tokens from (or signed with the key of) the in-process issuer.

mod support;

#[path = "../examples/api.rs"]
mod api_example;

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Algorithm;
use oidc_forge_client::axum::{AuthRejection, AuthResponses};
use oidc_forge_client::clock::FixedClock;
use oidc_forge_client::pkce::{PkceVerifier, generate_nonce};
use oidc_forge_client::{AuthorizationRequest, CodeExchange};
use serde_json::{Value, json};
use std::sync::Arc;
use support::*;

struct Api {
    url: String,
    issuer: oidc_forge::MockIssuer,
    clock: Arc<FixedClock>,
}

async fn start_api() -> Api {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, clock) = client(issuer.url());
    let (listener, url) = bind().await;
    serve(listener, api_example::app(api_example::auth(client)));
    Api { url, issuer, clock }
}

async fn get(url: &str, authorization: Option<&str>) -> (u16, Option<String>, Value, String) {
    let mut request = http().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, challenge, body, text)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn b01_a_real_token_from_the_code_flow_passes_every_route() {
    let api = start_api().await;
    let (client, _) = client(api.issuer.url());
    let redirect = "http://127.0.0.1:8000/auth-callback";
    let (verifier, nonce) = (PkceVerifier::generate(), generate_nonce());
    let url = client
        .auth_url(
            &AuthorizationRequest::new(redirect)
                .scope(["openid", "read"])
                .state("s")
                .nonce(&nonce)
                .pkce(&verifier),
        )
        .await
        .unwrap();
    let code = authorize(&http(), url.as_str()).await["code"].clone();
    let (tokens, _) = client
        .auth_callback(
            CodeExchange::new(code, redirect)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .unwrap();
    let auth = bearer(&tokens.access_token);
    for route in [
        "/authenticated",
        "/authenticated-scope",
        "/authenticated-permissions",
        "/optional-user",
        "/user",
    ] {
        let (status, _, body, _) = get(&format!("{}{route}", api.url), Some(&auth)).await;
        assert_eq!(status, 200, "{route}: {body}");
        assert_eq!(body["id"], ALICE, "{route}");
        assert_eq!(body["access_token"], tokens.access_token.as_str());
        assert!(body["scope"].as_array().unwrap().contains(&json!("read")));
        assert!(
            body["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!("castles:read"))
        );
    }
}

#[tokio::test]
async fn b02_b03_b04_b05_how_the_token_is_presented() {
    let api = start_api().await;
    let token = forge_access_token(api.issuer.url(), NOW);
    let url = format!("{}/authenticated", api.url);

    let (status, challenge, _, _) = get(&url, None).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));

    let (status, challenge, _, _) = get(&url, Some("Basic YWxpY2U6c2VjcmV0")).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));

    let (status, challenge, body, _) = get(&url, Some("Bearer")).await;
    assert_eq!(status, 400);
    assert!(
        challenge
            .unwrap()
            .starts_with(r#"Bearer error="invalid_request""#)
    );
    assert_eq!(body["error"], "invalid_request");

    let (status, _, _, _) = get(&url, Some(&format!("bearer {token}"))).await;
    assert_eq!(status, 200, "the scheme is case-insensitive");
    let (status, _, _, _) = get(&url, Some(&format!("BEARER {token}"))).await;
    assert_eq!(status, 200);

    let (status, _, body, _) = get(&format!("{url}?access_token={token}"), None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("RFC 6750 2.3")
    );
}

#[tokio::test]
async fn b06_b07_b08_b09_time_rules_on_the_injected_clock() {
    let api = start_api().await;
    let url = format!("{}/authenticated", api.url);
    let token = forge_access_token(api.issuer.url(), NOW); // exp NOW + 300
    api.clock.set(NOW + 300 + 59);
    let (status, _, _, _) = get(&url, Some(&bearer(&token))).await;
    assert_eq!(status, 200, "inside the 60 s leeway");
    api.clock.set(NOW + 300 + 60);
    let (status, challenge, body, text) = get(&url, Some(&bearer(&token))).await;
    assert_eq!(status, 401, "at the boundary");
    assert!(
        challenge
            .unwrap()
            .starts_with(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        body["error_description"],
        "access token expired 60 s ago (leeway 60 s)"
    );
    assert!(!text.contains(&token), "B-19: the token is never echoed");

    api.clock.set(NOW);
    let future_nbf = with_claim(api.issuer.url(), "nbf", json!(NOW + 120));
    let (status, _, body, _) = get(&url, Some(&bearer(&future_nbf))).await;
    assert_eq!(status, 401);
    assert!(body["error_description"].as_str().unwrap().contains("nbf"));
    let future_iat = with_claim(api.issuer.url(), "iat", json!(NOW + 600));
    let (status, _, _, _) = get(&url, Some(&bearer(&future_iat))).await;
    assert_eq!(status, 401);
    let no_exp = without_claim(api.issuer.url(), "exp");
    let (status, _, body, _) = get(&url, Some(&bearer(&no_exp))).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error_description"],
        "access token invalid: claim `exp` is missing"
    );
}

fn with_claim(issuer: &str, name: &str, value: Value) -> String {
    let mut claims = access_claims(issuer, NOW);
    claims[name] = value;
    sign(&access_header(), &claims, "rs256.pem", Algorithm::RS256)
}

fn without_claim(issuer: &str, name: &str) -> String {
    let mut claims = access_claims(issuer, NOW);
    if let Some(object) = claims.as_object_mut() {
        object.remove(name);
    }
    sign(&access_header(), &claims, "rs256.pem", Algorithm::RS256)
}

#[tokio::test]
async fn b11_b12_b13_issuer_audience_and_type() {
    let api = start_api().await;
    let url = format!("{}/authenticated", api.url);
    for bad in [
        with_claim(
            api.issuer.url(),
            "iss",
            json!(format!("{}/", api.issuer.url())),
        ),
        with_claim(
            api.issuer.url(),
            "iss",
            json!(api.issuer.url().replace("http://", "https://")),
        ),
        with_claim(api.issuer.url(), "aud", json!(["another-api"])),
        without_claim(api.issuer.url(), "aud"),
        sign(
            &id_header(),
            &id_claims(api.issuer.url(), NOW),
            "rs256.pem",
            Algorithm::RS256,
        ),
    ] {
        let (status, challenge, _, _) = get(&url, Some(&bearer(&bad))).await;
        assert_eq!(status, 401);
        assert!(challenge.unwrap().contains("invalid_token"));
    }
    let several = with_claim(api.issuer.url(), "aud", json!(["another-api", CLIENT_ID]));
    let (status, _, _, _) = get(&url, Some(&bearer(&several))).await;
    assert_eq!(status, 200, "an aud array including the API is accepted");
}

#[tokio::test]
async fn b14_b15_b16_missing_scope_or_permission_is_forbidden() {
    let api = start_api().await;
    let no_read = with_claim(api.issuer.url(), "scope", json!("openid read:all Read"));
    let (status, challenge, body, _) = get(
        &format!("{}/authenticated-scope", api.url),
        Some(&bearer(&no_read)),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer error="insufficient_scope", error_description="access token lacks required scope(s): read", scope="openid read""#
        )
    );
    assert_eq!(body["error"], "insufficient_scope");

    let no_permission = with_claim(api.issuer.url(), "permissions", json!(["castles:write"]));
    let (status, challenge, body, _) = get(
        &format!("{}/authenticated-permissions", api.url),
        Some(&bearer(&no_permission)),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        challenge
            .unwrap()
            .starts_with(r#"Bearer error="insufficient_scope""#)
    );
    assert_eq!(
        body["error_description"],
        "access token lacks required permission(s): castles:read"
    );
}

#[tokio::test]
async fn b17_optional_routes_are_never_silently_anonymous() {
    let api = start_api().await;
    let url = format!("{}/optional-user", api.url);
    let (status, _, body, _) = get(&url, None).await;
    assert_eq!((status, body), (200, json!({"message": "Anonymous user"})));
    let forged = sign(
        &access_header(),
        &access_claims(api.issuer.url(), NOW),
        "attacker-rs256.pem",
        Algorithm::RS256,
    );
    let (status, challenge, _, _) = get(&url, Some(&bearer(&forged))).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
    let (status, _, _, _) = get(&url, Some("Bearer not.a.jwt")).await;
    assert_eq!(status, 401);
    let token = forge_access_token(api.issuer.url(), NOW);
    let (status, _, body, _) = get(&url, Some(&bearer(&token))).await;
    assert_eq!((status, body["id"].as_str()), (200, Some(ALICE)));
    // The bare extractor behaves the same way without a layer.
    let (status, challenge, _, _) = get(&format!("{}/user", api.url), None).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
}

#[tokio::test]
async fn b18_an_unreachable_jwks_fails_closed_with_503() {
    let server = KeyServer::start(json!({"keys": "broken"})).await;
    let (client, _) = client(&server.url);
    let (listener, url) = bind().await;
    serve(listener, api_example::app(api_example::auth(client)));
    let token = forge_access_token(&server.url, NOW);
    let (status, challenge, body, _) =
        get(&format!("{url}/authenticated"), Some(&bearer(&token))).await;
    assert_eq!(status, 503);
    assert_eq!(challenge, None);
    assert_eq!(body["error"], "temporarily_unavailable");
}

/// The Flask seed's error handlers: empty 401 and 403 bodies.
struct EmptyResponses;

impl AuthResponses for EmptyResponses {
    fn unauthorized(&self, _parts: &Parts, _rejection: &AuthRejection) -> Response {
        StatusCode::UNAUTHORIZED.into_response()
    }
    fn forbidden(&self, _parts: &Parts, _rejection: &AuthRejection) -> Response {
        (StatusCode::FORBIDDEN, "custom forbidden").into_response()
    }
}

#[tokio::test]
async fn unauthorized_and_forbidden_responses_are_customisable() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let (listener, url) = bind().await;
    let auth = api_example::auth(client).with_responses(EmptyResponses);
    serve(listener, api_example::app(auth));
    let (status, challenge, _, text) = get(&format!("{url}/authenticated"), None).await;
    assert_eq!((status, challenge, text.as_str()), (401, None, ""));
    let token = with_claim(issuer.url(), "permissions", json!([]));
    let (status, _, _, text) = get(
        &format!("{url}/authenticated-permissions"),
        Some(&bearer(&token)),
    )
    .await;
    assert_eq!((status, text.as_str()), (403, "custom forbidden"));
}

#[test]
fn settings_default_to_the_issuers_default_configuration() {
    let settings = api_example::Settings::from_env();
    if std::env::var("OIDC_ISSUER").is_err() {
        assert_eq!(settings.issuer, "http://127.0.0.1:9000");
    }
    assert!(api_example::client(&settings).is_ok());
}

#[tokio::test]
async fn c14_a_token_the_issuer_revoked_clears_the_cached_user() {
    use axum::routing::get as route_get;
    use oidc_forge_client::Requirements;
    use oidc_forge_client::axum::CurrentUser;

    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let auth = api_example::auth(client.clone());
    let app = axum::Router::new()
        .route(
            "/me",
            route_get(|CurrentUser(user): CurrentUser| async move { axum::Json(user) }),
        )
        .route(
            "/me-fresh",
            route_get(|CurrentUser(user): CurrentUser| async move { axum::Json(user) })
                .route_layer(auth.require(Requirements::new()).refresh_user()),
        )
        .with_state(auth.clone());
    let (listener, url) = bind().await;
    serve(listener, app);

    let redirect = "http://127.0.0.1:8000/auth-callback";
    let (verifier, nonce) = (PkceVerifier::generate(), generate_nonce());
    let authorize_url = client
        .auth_url(
            &AuthorizationRequest::new(redirect)
                .scope(["openid", "email"])
                .state("s")
                .nonce(&nonce)
                .pkce(&verifier),
        )
        .await
        .unwrap();
    let code = authorize(&http(), authorize_url.as_str()).await["code"].clone();
    let (tokens, _) = client
        .auth_callback(
            CodeExchange::new(code, redirect)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .unwrap();
    let auth_header = bearer(&tokens.access_token);
    let (status, _, body, _) = get(&format!("{url}/me"), Some(&auth_header)).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (200, Some("alice@example.com"))
    );
    assert!(
        auth.cache().get(ALICE).await.is_some(),
        "cached after the first call"
    );

    let revoked = http()
        .post(format!("{}/revoke", issuer.url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", tokens.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    // The JWT still verifies locally, but the issuer's UserInfo now says 401.
    let (status, challenge, _, _) = get(&format!("{url}/me-fresh"), Some(&auth_header)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
    assert!(
        auth.cache().get(ALICE).await.is_none(),
        "the cached user is dropped"
    );
}
