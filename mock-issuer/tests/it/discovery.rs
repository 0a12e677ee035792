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
    let router = oidc_forge::server::router(state);
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
