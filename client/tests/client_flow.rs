//! The core client against the in-process issuer over real HTTP: discovery,
//! the authorization URL, the code exchange, refresh, validation, UserInfo,
//! logout, and their error branches.

mod support;

use oidc_forge_client::pkce::{PkceVerifier, generate_nonce, generate_state};
use oidc_forge_client::{
    AuthorizationRequest, Client, ClientAuthMethod, CodeExchange, Error, LogoutRequest,
    RefreshRequest, Requirements, TokenError,
};
use std::sync::Arc;
use support::*;

use oidc_forge::{FixedClock, MockIssuer};

const REDIRECT: &str = "http://127.0.0.1:8000/auth-callback";

/// Runs the authorization step and returns (code, verifier, nonce).
async fn authorize_code(client: &Client, scopes: &[&str]) -> (String, PkceVerifier, String) {
    let verifier = PkceVerifier::generate();
    let nonce = generate_nonce();
    let state = generate_state();
    let url = client
        .auth_url(
            &AuthorizationRequest::new(REDIRECT)
                .scope(scopes.iter().copied())
                .state(&state)
                .nonce(&nonce)
                .pkce(&verifier),
        )
        .await
        .expect("auth url");
    let params = authorize(&http(), url.as_str()).await;
    assert_eq!(params.get("state"), Some(&state), "state round-trips");
    assert_eq!(params.get("iss").map(String::as_str), Some(client.issuer()));
    (params["code"].clone(), verifier, nonce)
}

#[tokio::test]
async fn discovery_is_lazy_cached_and_matches_the_issuer() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let metadata = client.metadata().await.expect("discovery");
    assert_eq!(metadata.issuer, issuer.url());
    assert!(metadata.end_session_endpoint.is_some());
    assert!(metadata.authorization_response_iss_parameter_supported);
    let again = client.metadata().await.expect("cached");
    assert!(
        std::sync::Arc::ptr_eq(&metadata, &again),
        "the document is cached"
    );
}

#[tokio::test]
async fn discovery_refuses_an_issuer_that_names_itself_differently() {
    // C-21: the issuer's document says `url`, the client was told `url/`.
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(&format!("{}/", issuer.url()));
    let error = client.metadata().await.unwrap_err();
    assert!(matches!(error, Error::Discovery(_)), "{error}");
    assert!(error.to_string().contains("Discovery 4.3"), "{error}");
    // And nothing can be validated against it.
    let token = forge_access_token(issuer.url(), NOW);
    assert!(matches!(
        client
            .validate_access_token(&token, &Requirements::new())
            .await,
        Err(Error::Discovery(_))
    ));
}

#[tokio::test]
async fn authorization_url_carries_every_parameter() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let verifier = PkceVerifier::generate();
    let url = client
        .auth_url(
            &AuthorizationRequest::new(REDIRECT)
                .scope(["openid", "email"])
                .state("s-1")
                .nonce("n-1")
                .pkce(&verifier)
                .extra("prompt", "login"),
        )
        .await
        .unwrap();
    let metadata = client.metadata().await.unwrap();
    assert!(url.as_str().starts_with(&metadata.authorization_endpoint));
    let query = query_of(url.as_str());
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["redirect_uri"], REDIRECT);
    assert_eq!(query["scope"], "openid email");
    assert_eq!(query["state"], "s-1");
    assert_eq!(query["nonce"], "n-1");
    assert_eq!(query["code_challenge"], verifier.challenge());
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["prompt"], "login");
    let error = client
        .auth_url(&AuthorizationRequest::new(REDIRECT).extra("state", "x"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Configuration(_)), "{error}");
}

#[tokio::test]
async fn code_flow_returns_tokens_and_validated_id_token_claims() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let (code, verifier, nonce) =
        authorize_code(&client, &["openid", "email", "offline_access", "read"]).await;
    let (tokens, claims) = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT)
                .code_verifier(&verifier)
                .nonce(&nonce),
        )
        .await
        .expect("exchange");
    assert!(tokens.token_type.eq_ignore_ascii_case("bearer"));
    assert!(
        tokens.refresh_token.is_some(),
        "offline_access grants a refresh token"
    );
    assert_eq!(claims.sub, ALICE);
    assert_eq!(claims.iss, issuer.url());
    assert_eq!(claims.aud, vec![CLIENT_ID.to_owned()]);
    assert_eq!(claims.nonce.as_deref(), Some(nonce.as_str()));
    assert_eq!(claims.email(), Some("alice@example.com"));
    assert!(claims.get("at_hash").is_some() && claims.get("c_hash").is_some());

    let info = client
        .validate_access_token(
            &tokens.access_token,
            &Requirements::new().scopes(["openid", "read"]),
        )
        .await
        .expect("the issued access token validates");
    assert_eq!(info.id.to_string(), ALICE);
    assert!(info.has_scope("read"));
    assert_eq!(info.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(info.access_token, tokens.access_token);
    assert!(format!("{tokens:?}").contains("[redacted]"));
    assert!(!format!("{info:?}").contains(&tokens.access_token));
}

#[tokio::test]
async fn client_secret_post_and_basic_both_authenticate() {
    let (issuer, _) = start_issuer(|_| {}).await;
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ] {
        let (builder, _) = client_builder(issuer.url());
        let client = builder.client_auth_method(method).build().unwrap();
        let (code, verifier, nonce) = authorize_code(&client, &["openid"]).await;
        let result = client
            .auth_callback(
                CodeExchange::new(code, REDIRECT)
                    .code_verifier(&verifier)
                    .nonce(nonce),
            )
            .await;
        assert!(result.is_ok(), "{method:?}: {:?}", result.err());
    }
}

#[tokio::test]
async fn wrong_nonce_discards_all_tokens() {
    // C-09 / Core 3.1.3.7(11).
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let (code, verifier, _nonce) = authorize_code(&client, &["openid"]).await;
    let error = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT)
                .code_verifier(&verifier)
                .nonce("another"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::IdTokenInvalid(TokenError::Nonce(_))),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "ID token invalid: nonce does not match the one sent"
    );
}

#[tokio::test]
async fn wrong_verifier_and_reused_code_fail_with_the_issuers_words() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let (code, verifier, nonce) = authorize_code(&client, &["openid"]).await;
    let error = client
        .auth_callback(
            CodeExchange::new(code.clone(), REDIRECT)
                .code_verifier(&PkceVerifier::generate())
                .nonce(&nonce),
        )
        .await
        .unwrap_err();
    match &error {
        Error::RequestFailed { status, body, .. } => {
            assert_eq!(*status, 400);
            assert!(body.contains("invalid_grant"), "{body}");
        }
        other => panic!("expected RequestFailed, got {other}"),
    }
    assert!(
        error
            .to_string()
            .starts_with("token endpoint answered HTTP 400")
    );
    // The code was burned by the failed attempt or is still single-use afterwards.
    let (code2, verifier2, nonce2) = authorize_code(&client, &["openid"]).await;
    let exchange = CodeExchange::new(code2, REDIRECT)
        .code_verifier(&verifier2)
        .nonce(nonce2);
    assert!(client.auth_callback(exchange.clone()).await.is_ok());
    let reused = client.auth_callback(exchange).await.unwrap_err();
    assert!(
        matches!(reused, Error::RequestFailed { status: 400, .. }),
        "{reused}"
    );
    let _ = verifier;
}

#[tokio::test]
async fn refresh_keeps_the_subject_and_refuses_a_changed_one() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let (code, verifier, nonce) =
        authorize_code(&client, &["openid", "offline_access", "read"]).await;
    let (tokens, claims) = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .unwrap();
    let refresh_token = tokens.refresh_token.clone().expect("refresh token");
    let (refreshed, refreshed_claims) = client
        .refresh(RefreshRequest::new(&refresh_token, &claims.sub))
        .await
        .expect("refresh");
    assert_ne!(refreshed.access_token, tokens.access_token);
    if let Some(refreshed_claims) = refreshed_claims {
        assert_eq!(refreshed_claims.sub, ALICE);
    }
    assert!(
        client
            .validate_access_token(&refreshed.access_token, &Requirements::new())
            .await
            .is_ok()
    );
    // Fief's spelling, narrowing scope, with the rotated refresh token.
    let next = refreshed
        .refresh_token
        .clone()
        .unwrap_or(refresh_token.clone());
    let result = client
        .auth_refresh_token(&next, ALICE, Some(&["openid", "offline_access"]))
        .await;
    assert!(result.is_ok(), "{:?}", result.err());

    // C-20: a refreshed ID token for another subject is refused.
    let (code, verifier, nonce) = authorize_code(&client, &["openid", "offline_access"]).await;
    let (tokens, _) = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .unwrap();
    let error = client
        .refresh(RefreshRequest::new(tokens.refresh_token.unwrap(), BOB))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::IdTokenInvalid(TokenError::SubjectChanged { .. })
        ),
        "{error}"
    );

    let error = client
        .refresh(RefreshRequest::new("not-a-refresh-token", ALICE))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::RequestFailed { status: 400, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn client_credentials_tokens_name_the_client_as_subject() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let tokens = client
        .client_credentials(&["read"])
        .await
        .expect("client credentials");
    // RFC 9068 2.2: with no resource owner, `sub` is the client's id. Such a token validates,
    // and an API tells it from a user's by `client_id == id` (or `uuid()` being `None`).
    let info = client
        .validate_access_token(&tokens.access_token, &Requirements::new().scopes(["read"]))
        .await
        .expect("a client_credentials token is a valid access token");
    assert_eq!(info.id, info.client_id.clone().unwrap());
    assert_eq!(info.uuid(), None);
    // Only what was granted: `write` was not asked for.
    let error = client
        .validate_access_token(&tokens.access_token, &Requirements::new().scopes(["write"]))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("write"), "{error}");
}

#[tokio::test]
async fn validation_errors_say_why() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, clock) = client(issuer.url());
    let token = forge_access_token(issuer.url(), NOW);
    let info = client
        .validate_access_token(&token, &Requirements::new())
        .await
        .unwrap();
    assert_eq!(info.permissions, vec!["castles:read"]);

    let error = client
        .validate_access_token(&token, &Requirements::new().scopes(["write"]))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MissingScope { .. }));
    assert_eq!(
        error.to_string(),
        "access token lacks required scope(s): write"
    );

    let error = client
        .validate_access_token(&token, &Requirements::new().permissions(["castles:write"]))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "access token lacks required permission(s): castles:write"
    );

    let error = client
        .validate_access_token(&token, &Requirements::new().acr("2"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AcrTooLow { .. }), "{error}");

    // exp = NOW + 300, leeway 60: refused from NOW + 360 on.
    clock.set(NOW + 359);
    assert!(
        client
            .validate_access_token(&token, &Requirements::new())
            .await
            .is_ok()
    );
    clock.set(NOW + 402);
    let error = client
        .validate_access_token(&token, &Requirements::new())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::AccessTokenExpired {
            expired_ago: 102,
            leeway: 60
        }
    ));
    assert_eq!(
        error.to_string(),
        "access token expired 102 s ago (leeway 60 s)"
    );
    assert!(error.is_invalid_access_token());
}

#[tokio::test]
async fn the_issuers_access_tokens_expire_on_the_client_clock() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, clock) = client(issuer.url());
    let tokens = client.client_credentials(&["read"]).await.unwrap();
    let lifetime = tokens.expires_in.expect("expires_in");
    clock.advance(lifetime + 60);
    let error = client
        .validate_access_token(&tokens.access_token, &Requirements::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AccessTokenExpired { .. }), "{error}");
}

#[tokio::test]
async fn userinfo_uses_the_bearer_header_and_checks_sub() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let (code, verifier, nonce) = authorize_code(&client, &["openid", "email"]).await;
    let (tokens, claims) = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .unwrap();
    let userinfo = client
        .userinfo(&tokens.access_token, &claims.sub)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.sub(), ALICE);
    assert_eq!(userinfo.email(), Some("alice@example.com"));
    // C-12 / Core 5.3.2: a different sub is refused.
    let error = client
        .userinfo(&tokens.access_token, BOB)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UserInfoInvalid(_)), "{error}");
    assert!(error.to_string().contains("Core 5.3.2"));
    // The issuer refuses a forged token: RequestFailed with 401.
    let error = client.userinfo("garbage", ALICE).await.unwrap_err();
    assert!(
        matches!(error, Error::RequestFailed { status: 401, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn logout_url_uses_the_end_session_endpoint() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let url = client
        .logout_url(
            &LogoutRequest::new()
                .id_token_hint("idt")
                .post_logout_redirect_uri("http://127.0.0.1:8000/")
                .state("st"),
        )
        .await
        .unwrap();
    let metadata = client.metadata().await.unwrap();
    let endpoint = metadata.end_session_endpoint.clone().unwrap();
    assert!(url.as_str().starts_with(&endpoint));
    let query = query_of(url.as_str());
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["id_token_hint"], "idt");
    assert_eq!(query["post_logout_redirect_uri"], "http://127.0.0.1:8000/");
    assert_eq!(query["state"], "st");
    // The issuer refuses a hint that is not its ID token...
    let response = http().get(url.as_str()).send().await.unwrap();
    assert_eq!(response.status(), 400);
    // ...and accepts a request without one, redirecting back.
    let url = client
        .logout_url(&LogoutRequest::new().post_logout_redirect_uri("http://127.0.0.1:8000/"))
        .await
        .unwrap();
    let response = http().get(url.as_str()).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("http://127.0.0.1:8000/"), "{location}");
}

#[tokio::test]
async fn unreachable_issuer_fails_with_a_transport_error() {
    let (listener, url) = bind().await;
    drop(listener);
    let (client, _) = client(&url);
    let error = client.metadata().await.unwrap_err();
    assert!(matches!(error, Error::Discovery(_)), "{error}");
    assert!(
        error
            .to_string()
            .contains("could not talk to the discovery endpoint"),
        "{error}"
    );
}

/// Core 3.1.3.7 (13): with `max_age`, the callback checks `auth_time`; the
/// issuer's real answer passes, a login older than `max_age` is refused.
#[tokio::test]
async fn max_age_is_sent_and_auth_time_is_checked() {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    let login = |max_age: u64| {
        let client = client.clone();
        async move {
            let verifier = PkceVerifier::generate();
            let nonce = generate_nonce();
            let url = client
                .auth_url(
                    &AuthorizationRequest::new(REDIRECT)
                        .scope(["openid"])
                        .state("s")
                        .nonce(&nonce)
                        .pkce(&verifier)
                        .max_age(max_age),
                )
                .await
                .expect("auth url");
            assert_eq!(
                query_of(url.as_str()).get("max_age").map(String::as_str),
                Some(max_age.to_string().as_str())
            );
            let code = authorize(&http(), url.as_str()).await["code"].clone();
            client
                .auth_callback(
                    CodeExchange::new(code, REDIRECT)
                        .code_verifier(&verifier)
                        .nonce(nonce)
                        .max_age(max_age),
                )
                .await
        }
    };
    let (_, claims) = login(300).await.expect("a fresh login");
    assert_eq!(claims.auth_time, Some(NOW));
    // The issuer says the user signed in 1,000 s ago.
    issuer
        .queue_claims_for(
            oidc_forge::forge::claims::ClaimsTarget::IdToken,
            serde_json::json!({"auth_time": NOW - 1000}),
        )
        .unwrap();
    let error = login(300).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::IdTokenInvalid(TokenError::AuthenticationTooOld {
                age: 1000,
                max_age: 300,
                ..
            })
        ),
        "{error}"
    );
    // max_age is the client's to set, not an extra that would skip the check.
    let error = client
        .auth_url(&AuthorizationRequest::new(REDIRECT).extra("max_age", "60"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Configuration(_)), "{error}");
}

/// The whole flow over https, trusting only the authority the issuer made at start: discovery,
/// the code exchange with ID-token validation, UserInfo, access-token validation (JWKS over
/// TLS) and refresh. An HTTP client without that authority cannot even fetch discovery.
#[tokio::test]
async fn the_code_flow_runs_over_tls_with_the_issuers_authority() {
    let issuer = MockIssuer::builder()
        .clock(Arc::new(FixedClock::new(NOW)))
        .tls()
        .start()
        .await
        .expect("a TLS issuer starts");
    assert!(
        issuer.url().starts_with("https://127.0.0.1:"),
        "{}",
        issuer.url()
    );
    let authority = issuer.tls_authority_pem().expect("a generated authority");
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(authority.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let (builder, _) = client_builder(issuer.url());
    let tls_client = builder.http_client(trusting.clone()).build().unwrap();

    let verifier = PkceVerifier::generate();
    let nonce = generate_nonce();
    let url = tls_client
        .auth_url(
            &AuthorizationRequest::new(REDIRECT)
                .scope(["openid", "offline_access", "read"])
                .nonce(&nonce)
                .pkce(&verifier),
        )
        .await
        .expect("discovery over TLS");
    assert!(url.as_str().starts_with(issuer.url()), "{url}");
    let params = authorize(&trusting, url.as_str()).await;
    let (tokens, claims) = tls_client
        .auth_callback(
            CodeExchange::new(&params["code"], REDIRECT)
                .code_verifier(&verifier)
                .nonce(&nonce),
        )
        .await
        .expect("the code exchange over TLS");
    assert_eq!(claims.iss, issuer.url());
    let info = tls_client
        .userinfo(&tokens.access_token, &claims.sub)
        .await
        .unwrap();
    assert_eq!(info.sub(), ALICE);
    tls_client
        .validate_access_token(&tokens.access_token, &Requirements::new().scopes(["read"]))
        .await
        .expect("the JWKS over TLS");
    let refresh_token = tokens.refresh_token.expect("a refresh token");
    tls_client
        .refresh(RefreshRequest::new(refresh_token, &claims.sub))
        .await
        .expect("refresh over TLS");

    let (untrusting, _) = client(issuer.url());
    let error = untrusting.metadata().await.unwrap_err();
    assert!(
        matches!(error, Error::Discovery(_)) && error.to_string().contains("could not talk"),
        "{error}"
    );
}
