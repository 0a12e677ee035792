//! The HTTP admin API under `/_forge/`: every route, JSON in and out, readable 4xx errors on
//! bad input, the same results as the Rust API, and disabled by a builder option.

use std::sync::Arc;

use oidc_forge::forge::mint::{MintError, Mutation};
use oidc_forge::{Config, FixedClock, MockIssuer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

impl Answer {
    fn assert_admin_error(&self, status: u16, error: &str, needle: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        let body = self.json();
        assert_eq!(body["error"], error, "{}", self.body);
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(
            description.contains(needle),
            "{needle:?} not in {description:?}"
        );
        assert!(self.header("content-type").starts_with("application/json"));
    }

    fn ok_json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        assert!(self.header("content-type").starts_with("application/json"));
        self.json()
    }
}

#[tokio::test]
async fn every_mutation_mints_the_same_token_as_the_rust_api() {
    let h = start().await;
    let base = json!({
        "kind": "access_token", "user": "bob@example.com", "client": "forge-web",
        "scopes": ["openid", "read"], "permissions": ["castles:read"],
        "issued_at": NOW, "jti": "fixed-jti", "claims": {"tenant": 7},
    });
    for kind in ["access_token", "id_token"] {
        for mutation in Mutation::examples() {
            let mut request = base.clone();
            request["kind"] = kind.into();
            request["mutations"] = json!([mutation.to_string()]);
            if kind == "id_token" {
                request["nonce"] = "n-1".into();
                request["at_hash_of"] = "at".into();
                request["c_hash_of"] = "code".into();
                request.as_object_mut().unwrap().remove("jti");
            }
            let answer = h
                .admin(Method::POST, "/tokens", Some(request.clone()))
                .await;
            let builder = h
                .issuer
                .mint()
                .token(serde_json::from_value(json!(kind)).unwrap());
            let builder = builder
                .user("bob@example.com")
                .client("forge-web")
                .scopes(["openid", "read"])
                .permissions(["castles:read"])
                .issued_at(NOW)
                .claim("tenant", 7);
            let builder = if kind == "id_token" {
                builder.nonce("n-1").at_hash_of("at").c_hash_of("code")
            } else {
                builder.jti("fixed-jti")
            };
            match builder.mutate(mutation.clone()).build() {
                Ok(expected) => {
                    let body = answer.ok_json();
                    assert_eq!(body["token"], expected.token.as_str(), "{kind} {mutation}");
                    assert_eq!(body["header"], expected.header);
                    assert_eq!(body["claims"], expected.claims);
                }
                Err(err) => {
                    answer.assert_admin_error(400, "invalid_token_request", &err.to_string())
                }
            }
        }
    }
}

#[tokio::test]
async fn minting_defaults_and_bad_requests() {
    let h = start().await;
    let body = h
        .admin(Method::POST, "/tokens", Some(json!({})))
        .await
        .ok_json();
    let token = str_of(&body, "token");
    assert!(rsa_verifies(jwk(&h.jwks().await, "forge-rs256"), token));
    assert_eq!(body["claims"]["sub"], ALICE);
    assert_eq!(body["header"]["typ"], "at+jwt");
    assert_eq!(h.userinfo(token).await.status, StatusCode::OK);

    h.admin(
        Method::POST,
        "/tokens",
        Some(json!({"mutations": ["expird"]})),
    )
    .await
    .assert_admin_error(400, "invalid_json", "unknown mutation `expird`");
    h.admin(Method::POST, "/tokens", Some(json!({"scope": "read"})))
        .await
        .assert_admin_error(400, "invalid_json", "unknown field `scope`");
    h.admin(Method::POST, "/tokens", Some(json!({"user": "carol"})))
        .await
        .assert_admin_error(
            400,
            "invalid_token_request",
            &MintError::UnknownUser("carol".into()).to_string(),
        );
    let syntax = h
        .http
        .post(h.url("/_forge/tokens"))
        .header("content-type", "application/json")
        .body("{\"user\": ")
        .send()
        .await
        .unwrap();
    Answer::read(syntax)
        .await
        .assert_admin_error(400, "invalid_json", "EOF");
    let no_type = h
        .http
        .post(h.url("/_forge/tokens"))
        .body("{}")
        .send()
        .await
        .unwrap();
    Answer::read(no_type).await.assert_admin_error(
        415,
        "invalid_content_type",
        "Content-Type: application/json",
    );
}

#[tokio::test]
async fn extreme_numbers_are_clamped_not_a_panic() {
    let h = start().await;
    let max = u64::MAX;
    let body = h
        .admin(
            Method::POST,
            "/tokens",
            Some(json!({
                "lifetime": max, "issued_at": max,
                "mutations": [format!("not-before-in={max}"), format!("iat-in-future-by={max}"), "payload-tampered"],
            })),
        )
        .await
        .ok_json();
    assert_eq!(body["claims"]["exp"], max);
    assert_eq!(body["claims"]["nbf"], max);
    let rotated = h
        .admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"grace_seconds": max})),
        )
        .await
        .ok_json();
    assert_eq!(rotated["rotation"]["replaced_until"], max);
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"endpoint": "jwks", "delay_ms": max})),
    )
    .await
    .assert_admin_error(400, "invalid_fault", "at most 600 s");
    assert_eq!(h.jwks_kids().await.len(), 4, "the issuer still serves");
}

#[tokio::test]
async fn faults_are_armed_listed_and_cleared_over_http() {
    let h = start().await;
    let cc = [("grant_type", "client_credentials")];
    let armed = h
        .admin(
            Method::POST,
            "/faults",
            Some(json!({"endpoint": "token", "status": 503, "error": "temporarily_unavailable", "times": 2})),
        )
        .await
        .ok_json();
    let id = armed["id"].as_u64().unwrap();
    let listed = h.admin(Method::GET, "/faults", None).await.ok_json();
    assert_eq!(
        listed["faults"],
        json!([{
            "id": id, "endpoint": "token", "action": "status", "status": 503,
            "error": "temporarily_unavailable", "remaining": 2, "matches_code": false
        }])
    );
    h.token(&cc, Some(WEB))
        .await
        .assert_oauth_error(503, "temporarily_unavailable");
    // The admin API itself is never faulted.
    let listed = h.admin(Method::GET, "/faults", None).await.ok_json();
    assert_eq!(listed["faults"][0]["remaining"], 1);
    let cleared = h
        .admin(Method::DELETE, &format!("/faults/{id}"), None)
        .await
        .ok_json();
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(h.token(&cc, Some(WEB)).await.status, StatusCode::OK);
    h.admin(Method::DELETE, &format!("/faults/{id}"), None)
        .await
        .assert_admin_error(404, "not_found", "no fault");

    for fault in [
        json!({"endpoint": "discovery", "malformed_json": true, "until_cleared": true}),
        json!({"endpoint": "userinfo", "delay_ms": 10}),
        json!({"endpoint": "authorize", "authorization_error": "access_denied"}),
    ] {
        h.admin(Method::POST, "/faults", Some(fault))
            .await
            .ok_json();
    }
    let discovery = h
        .http
        .get(h.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert!(discovery.json::<Value>().await.is_err());
    h.authorize(&[]).await.assert_redirected_error(
        "access_denied",
        Some("state-1"),
        h.issuer.url(),
    );
    let cleared = h
        .admin(Method::DELETE, "/faults?endpoint=discovery", None)
        .await
        .ok_json();
    assert_eq!(cleared["cleared"], 1);
    let cleared = h.admin(Method::DELETE, "/faults", None).await.ok_json();
    assert_eq!(cleared["cleared"], 1, "the userinfo delay");

    for (fault, error, needle) in [
        (
            json!({"status": 503}),
            "invalid_fault",
            "`endpoint` is required",
        ),
        (
            json!({"endpoint": "tokens", "status": 503}),
            "invalid_json",
            "unknown variant `tokens`",
        ),
        (
            json!({"endpoint": "token", "status": 200}),
            "invalid_fault",
            "not an error status",
        ),
        (
            json!({"endpoint": "jwks", "status": 500, "close_connection": true}),
            "invalid_fault",
            "choose one",
        ),
        (
            json!({"endpoint": "jwks", "status": 500, "times": 0}),
            "invalid_fault",
            "times >= 1",
        ),
        (
            json!({"endpoint": "jwks", "stauts": 500}),
            "invalid_json",
            "stauts",
        ),
    ] {
        h.admin(Method::POST, "/faults", Some(fault))
            .await
            .assert_admin_error(400, error, needle);
    }
    h.admin(Method::DELETE, "/faults?endpoint=nope", None)
        .await
        .assert_admin_error(400, "invalid_query", "unknown endpoint `nope`");
}

#[tokio::test]
async fn reject_code_and_jwks_unreachable_over_http() {
    let h = start().await;
    let code = h.code(&[]).await;
    h.admin(
        Method::POST,
        "/faults/reject-code",
        Some(json!({"code": code})),
    )
    .await
    .ok_json();
    h.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_grant");
    let listed = h.admin(Method::GET, "/faults", None).await.ok_json();
    assert_eq!(listed["faults"][0]["matches_code"], true);
    assert!(!listed.to_string().contains(&code), "codes are not shown");

    let id = h
        .http
        .post(h.url("/_forge/faults/jwks-unreachable"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .clone();
    assert!(
        h.http
            .get(h.url("/.well-known/jwks.json"))
            .send()
            .await
            .is_err()
    );
    h.admin(Method::DELETE, &format!("/faults/{id}"), None)
        .await
        .ok_json();
    assert_eq!(h.jwks_kids().await.len(), 3);
}

#[tokio::test]
async fn keys_are_listed_and_rotated_over_http() {
    let h = start().await;
    let keys = h.admin(Method::GET, "/keys", None).await.ok_json();
    assert_eq!(
        keys["keys"][0],
        json!({"kid": "forge-rs256", "alg": "RS256", "signing": true})
    );
    let rotated = h
        .admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"grace_seconds": 30})),
        )
        .await
        .ok_json();
    assert_eq!(
        rotated["rotation"],
        json!({"alg": "RS256", "signing_kid": "forge-rs256-next", "replaced_kid": "forge-rs256", "replaced_until": NOW + 30})
    );
    assert_eq!(
        rotated["keys"][3],
        json!({"kid": "forge-rs256", "alg": "RS256", "signing": false, "until": NOW + 30})
    );
    h.admin(Method::POST, "/keys/rotate", None)
        .await
        .assert_admin_error(409, "invalid_rotation", "forge-rs256-next");
    let generated = h
        .admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"alg": "RS256", "generate": true, "kid": "rs-gen", "grace_seconds": 0})),
        )
        .await
        .ok_json();
    assert_eq!(generated["rotation"]["signing_kid"], "rs-gen");
    assert_eq!(generated["rotation"]["replaced_until"], Value::Null);
    let token = h
        .token(&[("grant_type", "client_credentials")], Some(WEB))
        .await
        .json();
    let token = str_of(&token, "access_token");
    assert_eq!(decode(token).0["kid"], "rs-gen");
    assert!(rsa_verifies(jwk(&h.jwks().await, "rs-gen"), token));

    let pem = include_str!("../../../fixtures/keys/es256.pem");
    let with_pem = h
        .admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"alg": "ES256", "kid": "es-2", "pem": pem})),
        )
        .await
        .ok_json();
    assert_eq!(with_pem["rotation"]["replaced_kid"], "forge-es256");
    h.admin(Method::POST, "/keys/rotate", Some(json!({"pem": pem})))
        .await
        .assert_admin_error(400, "invalid_rotation", "needs a `kid`");
    h.admin(Method::POST, "/keys/rotate", Some(json!({"alg": "HS256"})))
        .await
        .assert_admin_error(400, "invalid_json", "alg");
}

#[tokio::test]
async fn users_are_managed_over_http() {
    let h = start().await;
    let carol = json!({
        "sub": "0f6b4c1e-2d3a-4b5c-8d9e-0a1b2c3d4e5f", "email": "carol@example.com",
        "permissions": ["castles:admin"], "claims": {"given_name": "Carol"}
    });
    let added = h
        .admin(Method::PUT, "/users", Some(carol.clone()))
        .await
        .ok_json();
    assert_eq!(added["result"], "added");
    let again = h.admin(Method::PUT, "/users", Some(carol)).await.ok_json();
    assert_eq!(again["result"], "replaced");
    let users = h.admin(Method::GET, "/users", None).await.ok_json();
    assert_eq!(
        users["users"].as_array().unwrap().len(),
        Config::default().users.len() + 1
    );

    let patched = h
        .admin(
            Method::PATCH,
            "/users/carol@example.com",
            Some(json!({"permissions": ["castles:read"], "claims": {"given_name": null, "tenant_id": 9}})),
        )
        .await
        .ok_json();
    assert_eq!(patched["permissions"], json!(["castles:read"]));
    assert_eq!(patched["claims"], json!({"tenant_id": 9}));
    let one = h
        .admin(
            Method::GET,
            "/users/0f6b4c1e-2d3a-4b5c-8d9e-0a1b2c3d4e5f",
            None,
        )
        .await
        .ok_json();
    assert_eq!(one["email"], "carol@example.com");
    let tokens = h.tokens(&[("login_hint", "carol@example.com")]).await;
    assert_eq!(
        decode(str_of(&tokens, "access_token")).1["permissions"],
        json!(["castles:read"])
    );

    let removed = h
        .admin(Method::DELETE, "/users/carol@example.com", None)
        .await
        .ok_json();
    assert_eq!(removed["removed"]["email"], "carol@example.com");
    h.admin(Method::GET, "/users/carol@example.com", None)
        .await
        .assert_admin_error(404, "not_found", "carol@example.com");
    h.admin(Method::DELETE, "/users/alice@example.com", None)
        .await
        .assert_admin_error(400, "invalid_user", "login.user");
    h.admin(
        Method::PUT,
        "/users",
        Some(json!({"sub": "not-a-uuid", "email": "x@y"})),
    )
    .await
    .assert_admin_error(400, "invalid_json", "sub");
    h.admin(
        Method::PATCH,
        "/users/bob@example.com",
        Some(json!({"role": "admin"})),
    )
    .await
    .assert_admin_error(400, "invalid_json", "unknown field `role`");
}

#[tokio::test]
async fn claims_are_queued_over_http() {
    let h = start().await;
    let queued = h
        .admin(
            Method::POST,
            "/claims/queue",
            Some(json!({"target": "access_token", "claims": {"tenant": 7}})),
        )
        .await
        .ok_json();
    assert_eq!(queued["queued"], 1);
    let listed = h.admin(Method::GET, "/claims/queue", None).await.ok_json();
    assert_eq!(
        listed["queue"],
        json!([{"target": "access_token", "claims": {"tenant": 7}}])
    );
    let tokens = h.tokens(&[]).await;
    assert_eq!(decode(str_of(&tokens, "access_token")).1["tenant"], 7);
    assert!(
        decode(str_of(&tokens, "id_token"))
            .1
            .get("tenant")
            .is_none()
    );

    h.admin(
        Method::POST,
        "/claims/queue",
        Some(json!({"claims": {"x": 1}})),
    )
    .await
    .ok_json();
    let cleared = h
        .admin(Method::DELETE, "/claims/queue", None)
        .await
        .ok_json();
    assert_eq!(cleared["queued"], 0);
    let tokens = h.tokens(&[]).await;
    assert!(decode(str_of(&tokens, "access_token")).1.get("x").is_none());
    h.admin(Method::POST, "/claims/queue", Some(json!({"claims": [1]})))
        .await
        .assert_admin_error(400, "invalid_json", "claims");
}

#[tokio::test]
async fn the_request_log_is_read_and_cleared_over_http() {
    let h = start().await;
    h.tokens(&[]).await;
    let log = h
        .admin(Method::GET, "/requests?endpoint=token", None)
        .await
        .ok_json();
    assert_eq!(log["capacity"], 1000);
    let requests = log["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["endpoint"], "token");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["form"]["grant_type"], "authorization_code");
    assert_eq!(requests[0]["form"]["code"], "[redacted]");
    assert_eq!(requests[0]["authorization"], "Basic forge-web:[redacted]");
    let all = h.admin(Method::GET, "/requests", None).await.ok_json();
    assert_eq!(all["requests"].as_array().unwrap().len(), 2);
    h.admin(Method::DELETE, "/requests", None).await.ok_json();
    let empty = h.admin(Method::GET, "/requests", None).await.ok_json();
    assert_eq!(empty["requests"], json!([]));
}

#[tokio::test]
async fn the_index_lists_the_routes() {
    let h = start().await;
    let index = h.admin(Method::GET, "/", None).await.ok_json();
    assert!(
        index["routes"]
            .as_array()
            .unwrap()
            .contains(&json!("POST /_forge/tokens"))
    );
    assert_eq!(h.issuer.admin_url(), Some(h.url("/_forge")));
}

#[tokio::test]
async fn a_disabled_admin_api_is_not_found_and_the_issuer_still_serves() {
    let issuer = MockIssuer::builder()
        .config(Config::default())
        .clock(Arc::new(FixedClock::new(NOW)))
        .admin(false)
        .start()
        .await
        .unwrap();
    assert_eq!(issuer.admin_url(), None);
    let http = http();
    for (method, path) in [
        (Method::GET, "/_forge/"),
        (Method::POST, "/_forge/tokens"),
        (Method::GET, "/_forge/faults"),
        (Method::POST, "/_forge/keys/rotate"),
    ] {
        let answer = http
            .request(method, format!("{}{path}", issuer.url()))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let discovery = http.get(issuer.discovery_url()).send().await.unwrap();
    assert_eq!(discovery.status(), StatusCode::OK);
    // The Rust API still works: it is the test's own process.
    assert!(issuer.mint().access_token().sign().is_ok());
}

/// Issue 12.2: a web page cannot drive the admin API. A cross-site form (`text/plain`, no
/// preflight), a page of another origin, or a DNS-rebound host name is refused before any
/// handler runs, and no preflight is ever approved.
#[tokio::test]
async fn web_pages_cannot_drive_the_admin_api() {
    let h = start().await;
    let url = h.url("/_forge/faults/jwks-unreachable");
    let send = |request: reqwest::RequestBuilder| async move {
        Answer::read(request.send().await.expect("admin request")).await
    };
    let no_fault = |h: &Harness| {
        let url = h.url("/.well-known/jwks.json");
        let http = h.http.clone();
        async move { http.get(url).send().await.is_ok() }
    };
    // A simple cross-site form post: no JSON content type.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        send(
            h.http
                .post(&url)
                .header("content-type", content_type)
                .body("{}"),
        )
        .await
        .assert_admin_error(415, "invalid_content_type", "application/json");
    }
    send(h.http.post(&url).body("")).await.assert_admin_error(
        415,
        "invalid_content_type",
        "application/json",
    );
    // A page of another origin, even with JSON (the browser would preflight, but say no anyway).
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        send(
            h.http
                .post(&url)
                .header("content-type", "application/json")
                .header(name, value),
        )
        .await
        .assert_admin_error(403, "cross_site_request", "another");
        // Reads too: the request log and the keys are not a page's to read.
        send(h.http.get(h.url("/_forge/requests")).header(name, value))
            .await
            .assert_admin_error(403, "cross_site_request", "another");
    }
    // DNS rebinding: evil.example resolved to 127.0.0.1 sends its own name as Host.
    for host in [
        "evil.example",
        "evil.example:9000",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
    ] {
        send(
            h.http
                .post(&url)
                .header("content-type", "application/json")
                .header("host", host),
        )
        .await
        .assert_admin_error(403, "forbidden_host", "DNS rebinding");
    }
    // No preflight is approved: the answer grants no origin, method or header.
    let preflight = send(
        h.http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert!(!preflight.status.is_success(), "{}", preflight.status);
    for header in preflight.headers.keys() {
        assert!(!header.as_str().starts_with("access-control-"), "{header}");
    }
    assert!(no_fault(&h).await, "nothing above armed a fault");
    assert!(h.issuer.faults().list().is_empty());

    // The JSON requests of a test or a script still work, by loopback name or address.
    for host in [
        None,
        Some("localhost"),
        Some("127.0.0.1:1"),
        Some("[::1]:9000"),
        Some("app.localhost"),
    ] {
        let mut request = h
            .http
            .post(&url)
            .header("content-type", "application/json; charset=utf-8");
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let fault = send(request).await.ok_json();
        h.admin(Method::DELETE, &format!("/faults/{}", fault["id"]), None)
            .await
            .ok_json();
    }
    let same_origin = h.issuer.url().to_owned();
    send(
        h.http
            .post(&url)
            .header("content-type", "application/json")
            .header("origin", &same_origin)
            .header("sec-fetch-site", "same-origin"),
    )
    .await
    .ok_json();
}

/// Issue 12.2: with `admin_token`, every admin request needs it; the issuer's host name is
/// accepted besides loopback names (a container's own name, say).
#[tokio::test]
async fn an_admin_token_is_required_when_configured() {
    let issuer = MockIssuer::builder()
        .issuer_url("http://oidc-forge.test:9000")
        .admin_token("s3cret-admin-token")
        .start()
        .await
        .unwrap();
    let base = format!("http://{}/_forge", issuer.local_addr());
    let http = http();
    let send = |request: reqwest::RequestBuilder| async move {
        Answer::read(request.send().await.expect("admin request")).await
    };
    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("Basic czNjcmV0LWFkbWluLXRva2Vu"),
        Some("Bearer s3cret-admin-token-and-more"),
    ] {
        let mut request = http.get(format!("{base}/keys"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let answer = send(request).await;
        answer.assert_admin_error(401, "invalid_token", "admin token");
        assert_eq!(
            answer.header("www-authenticate"),
            "Bearer realm=\"oidc-forge admin\""
        );
    }
    let keys = send(
        http.get(format!("{base}/keys"))
            .bearer_auth("s3cret-admin-token")
            .header("host", "oidc-forge.test:9000"),
    )
    .await
    .ok_json();
    assert!(keys["keys"].is_array(), "{keys}");
    send(
        http.post(format!("{base}/faults/jwks-unreachable"))
            .bearer_auth("s3cret-admin-token")
            .header("content-type", "application/json"),
    )
    .await
    .ok_json();
    // The token does not lift the other rules.
    send(
        http.post(format!("{base}/faults/jwks-unreachable"))
            .bearer_auth("s3cret-admin-token")
            .header("content-type", "text/plain"),
    )
    .await
    .assert_admin_error(415, "invalid_content_type", "application/json");
    send(
        http.get(format!("{base}/keys"))
            .bearer_auth("s3cret-admin-token")
            .header("host", "oidc-forge.test.evil.example"),
    )
    .await
    .assert_admin_error(403, "forbidden_host", "DNS rebinding");
    issuer.shutdown().await;
}
