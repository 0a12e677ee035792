//! Discovery (OpenID Discovery 3-4, RFC 8414) and JWKS (Core 10.1, RFC 7517).

use std::collections::HashSet;

use oidc_forge::MockIssuer;
use reqwest::StatusCode;
use tower::ServiceExt as _;

use crate::support::*;

#[tokio::test]
async fn discovery_advertises_endpoints_that_answer() {
    let h = start().await;
    let answer = Answer::read(h.http.get(h.issuer.discovery_url()).send().await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .header("content-type")
            .starts_with("application/json")
    );
    let doc = answer.json();
    assert_eq!(doc["issuer"], h.issuer.url());
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert!(
        doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"RS256".into())
    );
    // Every advertised endpoint is the real one: a bare GET gets that endpoint's own answer.
    for (endpoint, expected) in [
        ("authorization_endpoint", StatusCode::BAD_REQUEST), // error page: no client_id
        ("token_endpoint", StatusCode::METHOD_NOT_ALLOWED),
        ("userinfo_endpoint", StatusCode::UNAUTHORIZED),
        ("jwks_uri", StatusCode::OK),
        ("end_session_endpoint", StatusCode::OK), // the signed-out page
        ("introspection_endpoint", StatusCode::METHOD_NOT_ALLOWED),
        ("revocation_endpoint", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let url = str_of(&doc, endpoint);
        assert!(url.starts_with(h.issuer.url()), "{endpoint}");
        let status = h.http.get(url).send().await.unwrap().status();
        assert_eq!(status, expected, "{endpoint} {url}");
    }
    let rfc8414 = h
        .http
        .get(h.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(rfc8414.json::<serde_json::Value>().await.unwrap(), doc);
}

#[tokio::test]
async fn jwks_has_public_signing_keys_with_unique_kids() {
    let h = start().await;
    let jwks: serde_json::Value = h
        .http
        .get(h.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let kids: HashSet<&str> = keys.iter().map(|k| str_of(k, "kid")).collect();
    assert_eq!(kids.len(), keys.len());
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(["RS256", "ES256", "EdDSA"].contains(&str_of(key, "alg")));
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none());
        }
    }
}

#[tokio::test]
async fn an_issuer_with_a_path_serves_under_it() {
    // Fief-style tenant prefix: the routes live under the issuer URL's path.
    let state = MockIssuer::builder()
        .issuer_url("http://issuer.test/tenant")
        .build_state("http://unused")
        .unwrap();
    let router = oidc_forge::internals::router(state);
    let request = axum::http::Request::get("/tenant/.well-known/openid-configuration")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["token_endpoint"], "http://issuer.test/tenant/api/token");
    let outside = axum::http::Request::get("/.well-known/openid-configuration")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(
        router.clone().oneshot(outside).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // RFC 8414 3.1: the path is inserted after the well-known name, at the host's root; the
    // suffixed form (RFC 8414 5) stays served.
    for path in [
        "/.well-known/oauth-authorization-server/tenant",
        "/tenant/.well-known/oauth-authorization-server",
    ] {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let metadata: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(metadata["issuer"], "http://issuer.test/tenant", "{path}");
    }
    for path in [
        "/.well-known/oauth-authorization-server/other",
        "/.well-known/oauth-authorization-server",
    ] {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(
            router.clone().oneshot(request).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

/// Issue 13: apps call discovery, JWKS, token, UserInfo, introspection and revocation from their
/// pages (Swagger UI, single-page apps): those answer CORS preflights and carry
/// `Access-Control-Allow-Origin`. The pages a person sees and the admin API never do.
#[tokio::test]
async fn the_api_endpoints_answer_cors_and_the_pages_do_not() {
    let h = start().await;
    let origin = "http://localhost:3000";
    for (method, path) in [
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/jwks.json"),
        ("POST", "/api/token"),
        ("GET", "/api/userinfo"),
        ("POST", "/introspect"),
        ("POST", "/revoke"),
    ] {
        let preflight = Answer::read(
            h.http
                .request(reqwest::Method::OPTIONS, h.url(path))
                .header("origin", origin)
                .header("access-control-request-method", method)
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            preflight.status.is_success(),
            "{path}: {}",
            preflight.status
        );
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            "*",
            "{path}"
        );
        let allowed = preflight
            .header("access-control-allow-headers")
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{path}: {allowed}"
        );
        assert!(
            preflight
                .header("access-control-allow-methods")
                .contains(method),
            "{path}"
        );
    }
    let discovery = Answer::read(
        h.http
            .get(h.url("/.well-known/openid-configuration"))
            .header("origin", origin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(discovery.header("access-control-allow-origin"), "*");
    // A refused token's challenge is readable by the page.
    let refused = Answer::read(
        h.http
            .get(h.url("/api/userinfo"))
            .header("origin", origin)
            .bearer_auth("garbage")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .header("access-control-expose-headers")
            .to_ascii_lowercase()
            .contains("www-authenticate")
    );
    for path in [
        "/authorize",
        "/authorize/decision",
        "/logout",
        "/_forge/keys",
        "/_forge/tokens",
    ] {
        let preflight = Answer::read(
            h.http
                .request(reqwest::Method::OPTIONS, h.url(path))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            preflight
                .headers
                .get("access-control-allow-origin")
                .is_none(),
            "{path}"
        );
    }
    let page = Answer::read(
        h.http
            .get(h.url("/logout"))
            .header("origin", origin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.headers.get("access-control-allow-origin").is_none());
}

/// Review 13 F1/F7: a page reads a code exchange's answer, never a client_credentials one
/// (tokens for servers, which a page could otherwise get with the published test secret); the
/// allowed request headers are Fief's, not whatever a page asks for.
#[tokio::test]
async fn client_credentials_answers_are_not_for_pages() {
    let h = start().await;
    let origin = "https://app.example";
    let machine = Answer::read(
        h.http
            .post(h.url("/api/token"))
            .header("origin", origin)
            .basic_auth(WEB.0, Some(WEB.1))
            .form(&[("grant_type", "client_credentials"), ("scope", "read")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(machine.status, StatusCode::OK, "{}", machine.body);
    assert!(
        !machine
            .headers
            .keys()
            .any(|name| name.as_str().starts_with("access-control-")),
        "{:?}",
        machine.headers
    );
    let code = h.code(&[]).await;
    let exchange = Answer::read(
        h.http
            .post(h.url("/api/token"))
            .header("origin", origin)
            .basic_auth(WEB.0, Some(WEB.1))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(exchange.status, StatusCode::OK, "{}", exchange.body);
    assert_eq!(exchange.header("access-control-allow-origin"), "*");
    let preflight = Answer::read(
        h.http
            .request(reqwest::Method::OPTIONS, h.url("/api/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "x-requested-with,x-custom",
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let allowed = preflight
        .header("access-control-allow-headers")
        .to_ascii_lowercase();
    assert!(allowed.contains("x-requested-with"), "{allowed}");
    assert!(!allowed.contains("x-custom"), "{allowed}");
}

/// CORS is configurable: a list of origins, or none at all.
#[tokio::test]
async fn cors_follows_the_configured_origins() {
    let mut config = oidc_forge::Config::default();
    config.cors.allowed_origins = vec!["http://localhost:3000".into()];
    let h = start_with(config).await;
    let ask = |origin: &'static str| {
        let h = &h;
        async move {
            Answer::read(
                h.http
                    .get(h.url("/.well-known/jwks.json"))
                    .header("origin", origin)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(
        ask("http://localhost:3000")
            .await
            .header("access-control-allow-origin"),
        "http://localhost:3000"
    );
    assert!(
        ask("https://evil.example")
            .await
            .headers
            .get("access-control-allow-origin")
            .is_none()
    );
    let mut config = oidc_forge::Config::default();
    config.cors.allowed_origins.clear();
    let h = start_with(config).await;
    let answer = Answer::read(
        h.http
            .get(h.url("/.well-known/jwks.json"))
            .header("origin", "http://localhost:3000")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    let mut bad = oidc_forge::Config::default();
    bad.cors.allowed_origins = vec!["http://localhost:3000/".into(), "*".into()];
    let err = bad.validate().unwrap_err().to_string();
    assert!(
        err.contains("cors.allowed_origins[0]") && err.contains("stands alone"),
        "{err}"
    );
}

#[tokio::test]
async fn healthz_answers_at_the_root() {
    let state = MockIssuer::builder()
        .issuer_url("http://issuer.test/tenant")
        .build_state("http://unused")
        .unwrap();
    let router = oidc_forge::internals::router(state);
    let response = router
        .oneshot(
            axum::http::Request::get("/healthz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(
        &body[..],
        br#"{"status":"ok"}"#,
        "readiness probes read the body"
    );
}

/// The document follows the configuration and the keys when they change at runtime.
#[tokio::test]
async fn discovery_follows_configuration_and_key_changes() {
    let h = start().await;
    let state = h.issuer.state();
    state
        .update_config(|config| {
            let mut next = config.clone();
            next.scopes
                .insert("castles:admin".into(), Default::default());
            Ok::<_, std::convert::Infallible>(next)
        })
        .unwrap();
    state
        .update_keys(|_| {
            let key = oidc_forge::SigningKey::generate(
                "only-es256",
                oidc_forge::config::SigningAlg::ES256,
            )?;
            Ok::<_, oidc_forge::KeyMaterialError>(oidc_forge::KeySet::new(vec![
                std::sync::Arc::new(key),
            ]))
        })
        .unwrap();
    let doc = Answer::read(h.http.get(h.issuer.discovery_url()).send().await.unwrap())
        .await
        .json();
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "castles:admin"),
        "{doc}"
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
}
