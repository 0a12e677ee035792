//! `/api/token`: RFC 6749 4.1.3, 4.4, 5.1, 5.2, 6; RFC 7636 4.6; RFC 9068 2; Core 3.1.3.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_forge::Config;
use oidc_forge::config::ClientConfig;
use reqwest::StatusCode;

use crate::support::*;

fn redeem(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ]
}

fn without<'a>(form: &[(&'a str, &'a str)], name: &str) -> Vec<(&'a str, &'a str)> {
    form.iter().copied().filter(|(k, _)| *k != name).collect()
}

fn with<'a>(form: &[(&'a str, &'a str)], name: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = without(form, name);
    form.push((name, value));
    form
}

fn half_sha256(value: &str) -> String {
    let hash = digest::digest(&digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
}

#[tokio::test]
async fn code_exchange_returns_fief_shaped_tokens() {
    let h = start().await;
    let code = h
        .code(&[("scope", "openid email offline_access read")])
        .await;
    let answer = h.token(&redeem(&code), Some(WEB)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // RFC 6749 5.1: no caching of token responses.
    assert_eq!(answer.header("cache-control"), "no-store");
    assert_eq!(answer.header("pragma"), "no-cache");
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid email offline_access read");
    // GRANT.GENERATION.TAG: the grant of the access token, generation 0, a 256-bit tag.
    let refresh = str_of(&body, "refresh_token");
    let (_, at) = decode(str_of(&body, "access_token"));
    let parts: Vec<&str> = refresh.split('.').collect();
    assert_eq!(parts.len(), 3, "{refresh}");
    assert_eq!(parts[0], str_of(&at, "grant_id"));
    assert_eq!(parts[1], "0");
    assert_eq!(parts[2].len(), 43, "{refresh}");

    let access_token = str_of(&body, "access_token");
    let (header, at) = decode(access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "forge-rs256");
    assert_eq!(at["iss"], h.issuer.url());
    assert_eq!(at["sub"], ALICE);
    assert_eq!(at["aud"], serde_json::json!(["forge-web"]));
    assert_eq!(at["client_id"], "forge-web");
    assert_eq!(at["azp"], "forge-web");
    assert_eq!(at["iat"], NOW);
    assert_eq!(at["exp"], NOW + 3600);
    assert_eq!(at["auth_time"], NOW);
    assert_eq!(at["scope"], "openid email offline_access read");
    assert_eq!(
        at["permissions"],
        serde_json::json!(["castles:read", "castles:write"])
    );
    assert_eq!(at["acr"], "0");
    assert_eq!(str_of(&at, "jti").len(), 22);

    let (header, id) = decode(str_of(&body, "id_token"));
    assert_eq!(header["typ"], "JWT");
    assert_eq!(id["iss"], h.issuer.url());
    assert_eq!(id["sub"], ALICE);
    assert_eq!(id["aud"], serde_json::json!(["forge-web"]));
    assert_eq!(id["azp"], "forge-web");
    assert_eq!(id["nonce"], "nonce-1");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], true);
    assert!(id.get("name").is_none(), "profile was not granted");
    // Core 3.1.3.6 / 3.3.2.11.
    assert_eq!(id["at_hash"], half_sha256(access_token));
    assert_eq!(id["c_hash"], half_sha256(&code));
}

#[tokio::test]
async fn client_secret_post_and_public_clients_authenticate() {
    let h = start().await;
    let code = h.code(&[]).await;
    let form = with(&redeem(&code), "client_id", "forge-web");
    let form = with(&form, "client_secret", "forge-web-secret");
    assert_eq!(h.token(&form, None).await.status, StatusCode::OK);

    let spa = [
        ("client_id", "forge-spa"),
        ("redirect_uri", "http://localhost:3000/callback"),
    ];
    let code = h.code(&spa).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://localhost:3000/callback"),
        ("code_verifier", VERIFIER),
        ("client_id", "forge-spa"),
    ];
    let answer = h.token(&form, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let (_, claims) = decode(str_of(&answer.json(), "access_token"));
    assert_eq!(claims["client_id"], "forge-spa");
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_it_issued() {
    // RFC 6749 4.1.2, 10.5; OIDF oidcc-codereuse, oidcc-codereuse-30seconds.
    let h = start().await;
    let code = h.code(&[]).await;
    let first = h.token(&redeem(&code), Some(WEB)).await.json();
    h.clock.advance(30);
    let second = h.token(&redeem(&code), Some(WEB)).await;
    second.assert_oauth_error(400, "invalid_grant");
    assert!(
        second.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    let userinfo = h.userinfo(str_of(&first, "access_token")).await;
    assert_eq!(userinfo.status, StatusCode::UNAUTHORIZED);
    assert!(
        userinfo
            .header("www-authenticate")
            .contains("invalid_token")
    );
    let refresh = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", str_of(&first, "refresh_token")),
            ],
            Some(WEB),
        )
        .await;
    refresh.assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    // RFC 6749 4.1.2: codes are short-lived (60 s here).
    let h = start().await;
    let code = h.code(&[]).await;
    h.clock.advance(61);
    let answer = h.token(&redeem(&code), Some(WEB)).await;
    answer.assert_oauth_error(400, "invalid_grant");
    assert!(answer.body.contains("expired"));
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    // RFC 6749 4.1.3; OIDF fapi2-...-ensure-authorization-code-is-bound-to-client.
    let mut config = Config::default();
    let mut other: ClientConfig = config.clients[0].clone();
    other.id = "other-web".into();
    other.secret = Some("other-secret".into());
    config.clients.push(other);
    let h = start_with(config).await;

    let code = h.code(&[]).await;
    h.token(&redeem(&code), Some(("other-web", "other-secret")))
        .await
        .assert_oauth_error(400, "invalid_grant");

    let code = h.code(&[]).await;
    let mismatched = with(
        &redeem(&code),
        "redirect_uri",
        "http://127.0.0.1:8000/auth-callback",
    );
    h.token(&mismatched, Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_grant");
    let code = h.code(&[]).await;
    let missing = without(&redeem(&code), "redirect_uri");
    let answer = h.token(&missing, Some(WEB)).await;
    answer.assert_oauth_error(400, "invalid_grant");
    assert!(answer.body.contains("`redirect_uri` is required"));
}

#[tokio::test]
async fn pkce_is_verified() {
    // RFC 7636 4.6; RFC 9700 4.8.2 (downgrade); OIDF fapi2-...-incorrect-pkce-code-verifier-rejected.
    let h = start().await;
    let code = h.code(&[]).await;
    let wrong = with(
        &redeem(&code),
        "code_verifier",
        "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    );
    let answer = h.token(&wrong, Some(WEB)).await;
    answer.assert_oauth_error(400, "invalid_grant");
    assert!(answer.body.contains("does not match"));

    let code = h.code(&[]).await;
    let missing = without(&redeem(&code), "code_verifier");
    h.token(&missing, Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_grant");

    let code = h.code(&[]).await;
    let malformed = with(&redeem(&code), "code_verifier", "short");
    let answer = h.token(&malformed, Some(WEB)).await;
    answer.assert_oauth_error(400, "invalid_grant");
    assert!(answer.body.contains("43 to 128"));
}

#[tokio::test]
async fn a_verifier_without_a_challenge_is_a_downgrade_and_rejected() {
    let mut config = Config::default();
    config.clients[0].require_pkce = Some(false);
    let h = start_with(config).await;
    let code = h
        .code(&[("code_challenge", ""), ("code_challenge_method", "")])
        .await;
    let answer = h.token(&redeem(&code), Some(WEB)).await;
    answer.assert_oauth_error(400, "invalid_grant");
    assert!(answer.body.contains("RFC 9700 4.8.2"));
    let code = h
        .code(&[("code_challenge", ""), ("code_challenge_method", "")])
        .await;
    assert_eq!(
        h.token(&without(&redeem(&code), "code_verifier"), Some(WEB))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    // RFC 6749 5.2 (401 + WWW-Authenticate), 2.3.
    let h = start().await;
    let code = h.code(&[]).await;
    let form = redeem(&code);
    for basic in [Some(("forge-web", "wrong")), Some(("nobody", "x")), None] {
        let answer = h.token(&form, basic).await;
        answer.assert_oauth_error(401, "invalid_client");
        assert!(answer.header("www-authenticate").starts_with("Basic"));
    }
    // A public client cannot present a secret; a confidential one must.
    let spa = with(
        &with(&form, "client_id", "forge-spa"),
        "client_secret",
        "guess",
    );
    h.token(&spa, None)
        .await
        .assert_oauth_error(401, "invalid_client");
    let no_secret = with(&form, "client_id", "forge-web");
    h.token(&no_secret, None)
        .await
        .assert_oauth_error(401, "invalid_client");
    // Two methods at once.
    let both = with(&form, "client_secret", "forge-web-secret");
    h.token(&both, Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_request");
    // The code survived all of that.
    assert_eq!(h.token(&form, Some(WEB)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn grant_type_errors() {
    // RFC 6749 5.2; RFC 9700 2.4 (no password grant).
    let h = start().await;
    h.token(&[("code", "x")], Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_request");
    h.token(
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "unsupported_grant_type");
    h.token(
        &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "unsupported_grant_type");
    h.token(
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "forge-spa"),
        ],
        None,
    )
    .await
    .assert_oauth_error(400, "unauthorized_client");
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let h = start().await;
    let json = h
        .http
        .post(h.url("/api/token"))
        .basic_auth("forge-web", Some("forge-web-secret"))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let answer = Answer::read(json).await;
    answer.assert_oauth_error(400, "invalid_request");
    assert!(answer.body.contains("x-www-form-urlencoded"));
    let twice = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("scope", "write"),
            ],
            Some(WEB),
        )
        .await;
    twice.assert_oauth_error(400, "invalid_request");
    assert!(twice.body.contains("`scope` appears more than once"));
    let get = h.http.get(h.url("/api/token")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn refresh_rotates_narrows_and_keeps_the_id_token_identity() {
    // RFC 6749 6; RFC 9700 4.14.2; Core 12.2; OIDF oidcc-refresh-token.
    let h = start_with(core_scopes()).await;
    let first = h
        .tokens(&[("scope", "openid email offline_access read")])
        .await;
    let refresh = str_of(&first, "refresh_token");
    h.clock.advance(120);
    let answer = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("scope", "openid offline_access read"),
            ],
            Some(WEB),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let second = answer.json();
    assert_eq!(second["scope"], "openid offline_access read");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (_, old_id) = decode(str_of(&first, "id_token"));
    let (_, new_id) = decode(str_of(&second, "id_token"));
    for claim in ["iss", "sub", "aud", "auth_time", "azp"] {
        assert_eq!(old_id[claim], new_id[claim], "{claim}");
    }
    assert_eq!(new_id["iat"], NOW + 120);
    assert!(new_id.get("nonce").is_none());
    assert!(new_id.get("email").is_none(), "email was narrowed away");

    // The rotated token is dead, and replaying it kills its successor.
    let replay = h
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            Some(WEB),
        )
        .await;
    replay.assert_oauth_error(400, "invalid_grant");
    let successor = str_of(&second, "refresh_token");
    h.token(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", successor),
        ],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn refresh_cannot_widen_scope_or_change_client() {
    let mut config = Config::default();
    let mut other = config.clients[0].clone();
    other.id = "other-web".into();
    other.secret = Some("other-secret".into());
    config.clients.push(other);
    let h = start_with(config).await;
    let tokens = h.tokens(&[("scope", "openid offline_access")]).await;
    let refresh = str_of(&tokens, "refresh_token");
    h.token(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "openid offline_access write"),
        ],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_scope");
    h.token(
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        Some(("other-web", "other-secret")),
    )
    .await
    .assert_oauth_error(400, "invalid_grant");
    h.token(&[("grant_type", "refresh_token")], Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_request");
    h.token(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up"),
        ],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_grant");
    // Still usable after the failures.
    let ok = h
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            Some(WEB),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn no_offline_access_means_no_refresh_token() {
    let h = start().await;
    let tokens = h.tokens(&[("scope", "openid")]).await;
    assert!(tokens.get("refresh_token").is_none());
    assert!(tokens.get("id_token").is_some());
    let plain_oauth = h.tokens(&[("scope", "read")]).await;
    assert!(
        plain_oauth.get("id_token").is_none(),
        "no openid, no ID token"
    );
}

#[tokio::test]
async fn client_credentials_issues_a_token_about_the_client() {
    // RFC 6749 4.4.
    let h = start().await;
    let answer = h
        .token(&[("grant_type", "client_credentials")], Some(WEB))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["scope"], "read write");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let (header, claims) = decode(str_of(&body, "access_token"));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["sub"], "forge-web");
    assert_eq!(claims["permissions"], serde_json::json!(["castles:read"]));
    assert!(claims.get("auth_time").is_none());
    let narrowed = h
        .token(
            &[("grant_type", "client_credentials"), ("scope", "read")],
            Some(WEB),
        )
        .await;
    assert_eq!(narrowed.json()["scope"], "read");
    h.token(
        &[("grant_type", "client_credentials"), ("scope", "openid")],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_scope");
    h.token(
        &[("grant_type", "client_credentials"), ("scope", "admin")],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_scope");
}

#[tokio::test]
async fn es256_and_eddsa_clients_get_tokens_their_keys_verify() {
    // RFC 7518 3.4 (ES256), RFC 8037 (EdDSA): a client's signing_alg picks the key; the
    // issuer's own resource verifies the result, and at_hash follows the algorithm's hash.
    for (alg, kid) in [("ES256", "forge-es256"), ("EdDSA", "forge-ed25519")] {
        let mut config = Config::default();
        config.clients[0].signing_alg = Some(match alg {
            "ES256" => oidc_forge::config::SigningAlg::ES256,
            _ => oidc_forge::config::SigningAlg::EdDSA,
        });
        let h = start_with(config).await;
        let tokens = h.tokens(&[]).await;
        let access_token = str_of(&tokens, "access_token");
        let (header, _) = decode(access_token);
        assert_eq!(
            (header["alg"].as_str(), header["kid"].as_str()),
            (Some(alg), Some(kid))
        );
        let (id_header, id) = decode(str_of(&tokens, "id_token"));
        assert_eq!(id_header["alg"], alg);
        let expected_at_hash = match alg {
            "ES256" => half_sha256(access_token),
            _ => {
                let hash = digest::digest(&digest::SHA512, access_token.as_bytes());
                URL_SAFE_NO_PAD.encode(&hash.as_ref()[..32])
            }
        };
        assert_eq!(id["at_hash"], expected_at_hash, "{alg}");
        let userinfo = h.userinfo(access_token).await;
        assert_eq!(userinfo.status, StatusCode::OK, "{alg}: {}", userinfo.body);
    }
}

#[tokio::test]
async fn a_narrowed_refresh_keeps_the_original_scope_on_the_new_refresh_token() {
    // RFC 6749 6: the new refresh token's scope MUST be identical to the old one's; only the
    // access token is narrowed. Narrowing away offline_access still yields a successor, since
    // the old token is spent by the rotation.
    let h = start().await;
    let first = h.tokens(&[("scope", "openid email offline_access")]).await;
    let narrowed = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", str_of(&first, "refresh_token")),
                ("scope", "openid"),
            ],
            Some(WEB),
        )
        .await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.body);
    let narrowed = narrowed.json();
    assert_eq!(narrowed["scope"], "openid");
    let successor = str_of(&narrowed, "refresh_token");
    let introspected = h
        .post_form("/introspect", &[("token", successor)], Some(WEB))
        .await
        .json();
    assert_eq!(introspected["scope"], "openid email offline_access");
    let widened_back = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", successor),
                ("scope", "openid email offline_access"),
            ],
            Some(WEB),
        )
        .await;
    assert_eq!(widened_back.status, StatusCode::OK, "{}", widened_back.body);
    assert_eq!(widened_back.json()["scope"], "openid email offline_access");
}

/// Issue 12.11, RFC 6749 4.1.3: `redirect_uri` is required at the token endpoint only when the
/// authorization request carried it; when it did not, one naming where the code went is fine.
#[tokio::test]
async fn redirect_uri_is_optional_when_the_authorization_request_had_none() {
    let mut config = Config::default();
    let mut single: ClientConfig = config.clients[0].clone();
    single.id = "single-uri".into();
    single.secret = Some("single-secret".into());
    single.redirect_uris = vec![REDIRECT_URI.into()];
    config.clients.push(single);
    let h = start_with(config).await;
    let client = Some(("single-uri", "single-secret"));
    // RFC 6749 3.1.2.3: a plain OAuth request may omit it with one URI registered.
    let code_without_uri = || async {
        h.code(&[
            ("client_id", "single-uri"),
            ("redirect_uri", ""),
            ("scope", "read"),
        ])
        .await
    };
    for send_uri in [false, true] {
        let code = code_without_uri().await;
        let form = if send_uri {
            redeem(&code)
        } else {
            without(&redeem(&code), "redirect_uri")
        };
        let answer = h.token(&form, client).await;
        assert_eq!(answer.status, StatusCode::OK, "{send_uri}: {}", answer.body);
    }
    let code = code_without_uri().await;
    let elsewhere = with(
        &redeem(&code),
        "redirect_uri",
        "http://127.0.0.1:8000/auth-callback",
    );
    let answer = h.token(&elsewhere, client).await;
    answer.assert_oauth_error(400, "invalid_grant");
    assert!(
        answer.body.contains("the code was sent to"),
        "{}",
        answer.body
    );
}

/// Issue 12.10: more parameters than the cap is `invalid_request`, and a long run of repeats
/// is answered at once (the duplicate check is linear).
#[tokio::test]
async fn too_many_parameters_are_invalid_request() {
    let h = start().await;
    let mut form: Vec<(String, String)> = (0..oidc_forge::internals::MAX_PARAMS)
        .map(|i| (format!("p{i}"), "x".to_owned()))
        .collect();
    form.push(("grant_type".into(), "client_credentials".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer = h.token(&pairs, Some(WEB)).await;
    answer.assert_oauth_error(400, "invalid_request");
    assert!(
        answer.body.contains("more than 100 parameters"),
        "{}",
        answer.body
    );
    // 16,000 repeats of one name (the body limit allows that many): refused at the cap,
    // without scanning every earlier pair.
    let repeats = "a=1&".repeat(16_000);
    let answer = Answer::read(
        h.http
            .post(h.url("/api/token"))
            .basic_auth(WEB.0, Some(WEB.1))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{repeats}grant_type=client_credentials"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer.assert_oauth_error(400, "invalid_request");
    // The authorization endpoint shows its page: with parameters unread, nothing is trusted.
    let query: String = (0..=oidc_forge::internals::MAX_PARAMS)
        .map(|i| format!("p{i}=x&"))
        .collect();
    let page = Answer::read(
        h.http
            .get(format!(
                "{}?{query}client_id=forge-web",
                h.url("/authorize")
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    page.assert_error_page("more than 100 parameters");
}

/// With the request log off, nothing parses the form before the endpoint: it parses it itself,
/// and still refuses a body that is not a form (RFC 6749 4.1.3) and repeated parameters (3.1).
#[tokio::test]
async fn the_form_is_read_by_the_endpoint_when_the_forge_layer_does_not() {
    let h = start_built(oidc_forge::MockIssuer::builder().request_log_capacity(0)).await;
    let answer = h
        .token(&[("grant_type", "client_credentials")], Some(WEB))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let json = Answer::read(
        h.http
            .post(h.url("/api/token"))
            .basic_auth(WEB.0, Some(WEB.1))
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    json.assert_oauth_error(400, "invalid_request");
    assert!(json.body.contains("x-www-form-urlencoded"), "{}", json.body);
    let repeated = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            Some(WEB),
        )
        .await;
    repeated.assert_oauth_error(400, "invalid_request");
}
