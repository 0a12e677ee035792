//! `/authorize`: RFC 6749 4.1.1-4.1.2.1, Core 3.1.2, RFC 7636 4.3-4.4, RFC 9207.

use oidc_forge::Config;
use oidc_forge::config::LoginMode;
use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn auto_login_redirects_with_code_state_and_iss() {
    let h = start().await;
    let answer = h.authorize(&[]).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert!(answer.header("location").starts_with(REDIRECT_URI));
    let params = answer.location_params();
    assert_eq!(params["code"].len(), 43, "256-bit code");
    assert_eq!(params["state"], "state-1");
    assert_eq!(params["iss"], h.issuer.url());
    assert_eq!(answer.header("cache-control"), "no-store");
    let cookie = answer.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn post_form_is_accepted_like_get() {
    // Core 3.1.2.1; OIDF oidcc-ensure-post-request-succeeds.
    let h = start().await;
    let response = h
        .http
        .post(h.url("/authorize"))
        .form(&authorize_params(&[]))
        .send()
        .await
        .unwrap();
    let answer = Answer::read(response).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert!(answer.location_params().contains_key("code"));
}

#[tokio::test]
async fn redirect_uri_keeps_its_own_query() {
    let mut config = Config::default();
    config.clients[0]
        .redirect_uris
        .push("http://localhost:8000/cb?tenant=a".into());
    let h = start_with(config).await;
    let answer = h
        .authorize(&[("redirect_uri", "http://localhost:8000/cb?tenant=a")])
        .await;
    let params = answer.location_params();
    assert_eq!(params["tenant"], "a");
    assert!(params.contains_key("code"));
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    // RFC 6749 3.1.2.4, 4.1.2.1; RFC 9700 4.1.3 exact matching; OIDF
    // oidcc-ensure-registered-redirect-uri, oidcc-redirect-uri-query-added/-mismatch.
    let h = start().await;
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("client_id", "nobody")],
            "no client `nobody` is registered",
        ),
        (&[("client_id", "")], "`client_id` is required"),
        (
            &[("redirect_uri", "http://localhost:8000/auth-callback?x=1")],
            "is not registered",
        ),
        (
            &[("redirect_uri", "http://localhost:8000/auth-callback/")],
            "is not registered",
        ),
        (
            &[(
                "redirect_uri",
                "http://localhost:8000.evil.test/auth-callback",
            )],
            "is not registered",
        ),
        (&[("redirect_uri", "")], "`redirect_uri` is required"),
    ];
    for (changes, needle) in cases {
        h.authorize(changes).await.assert_error_page(needle);
    }
    let page = h.authorize(&[("client_id", "nobody")]).await;
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn request_errors_are_redirected_with_state_and_iss() {
    // RFC 6749 4.1.2.1 error codes, with RFC 9207 iss.
    let h = start().await;
    let iss = h.issuer.url().to_owned();
    let cases: [(&[(&str, &str)], &str); 9] = [
        (&[("response_type", "")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (&[("scope", "")], "invalid_scope"),
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge", "too-short")], "invalid_request"),
        (&[("prompt", "none login")], "invalid_request"),
        (
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
    ];
    for (changes, error) in cases {
        h.authorize(changes)
            .await
            .assert_redirected_error(error, Some("state-1"), &iss);
    }
}

#[tokio::test]
async fn scope_not_allowed_for_the_client_is_invalid_scope() {
    // forge-spa is not registered for `write`.
    let h = start().await;
    let answer = h
        .authorize(&[
            ("client_id", "forge-spa"),
            ("redirect_uri", "http://localhost:3000/callback"),
            ("scope", "openid write"),
        ])
        .await;
    answer.assert_redirected_error("invalid_scope", Some("state-1"), h.issuer.url());
    assert!(
        answer.location_params()["error_description"].contains("may not request scope `write`")
    );
}

#[tokio::test]
async fn duplicated_parameter_is_invalid_request() {
    let h = start().await;
    let mut params = authorize_params(&[]);
    params.push(("nonce".into(), "other".into()));
    let response = h
        .http
        .get(h.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_redirected_error(
        "invalid_request",
        Some("state-1"),
        h.issuer.url(),
    );
}

#[tokio::test]
async fn error_description_stays_within_the_rfc_charset() {
    let h = start().await;
    let answer = h.authorize(&[("scope", "openid \"quoted\\\"")]).await;
    let description = &answer.location_params()["error_description"];
    assert!(
        description
            .chars()
            .all(|c| matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')),
        "{description}"
    );
}

#[tokio::test]
async fn unknown_parameters_and_scope_order_do_not_matter() {
    // RFC 6749 3.1, 3.3; OIDF oidcc-ensure-request-with-unknown-parameter-succeeds.
    let h = start().await;
    let answer = h
        .authorize(&[
            ("scope", "email openid"),
            ("foo", "bar"),
            ("display", "popup"),
        ])
        .await;
    assert!(answer.location_params().contains_key("code"));
}

#[tokio::test]
async fn prompt_none_needs_the_session_cookie() {
    // Core 3.1.2.6; OIDF oidcc-prompt-none-not-logged-in / -logged-in.
    let h = start().await;
    h.authorize(&[("prompt", "none")])
        .await
        .assert_redirected_error("login_required", Some("state-1"), h.issuer.url());
    let first = h.authorize(&[]).await;
    let cookie = first.cookie("oidc_forge_session").expect("session cookie");
    let again = h
        .authorize_with_cookie(&[("prompt", "none")], Some(&cookie))
        .await;
    assert!(again.location_params().contains_key("code"));
    assert!(
        again.cookie("oidc_forge_session").is_none(),
        "the session is reused"
    );
}

#[tokio::test]
async fn max_age_and_prompt_login_force_a_new_authentication() {
    // Core 3.1.2.1 max_age / prompt=login: auth_time moves, acr is "1".
    let h = start().await;
    let first = h.authorize(&[]).await;
    let cookie = first.cookie("oidc_forge_session").unwrap();
    h.clock.advance(100);
    let reused = h
        .authorize_with_cookie(&[("max_age", "1000")], Some(&cookie))
        .await;
    assert!(reused.cookie("oidc_forge_session").is_none());
    let forced = h
        .authorize_with_cookie(&[("max_age", "10")], Some(&cookie))
        .await;
    assert!(
        forced.cookie("oidc_forge_session").is_some(),
        "a new login starts a new session"
    );
    let tokens = h.tokens(&[("prompt", "login")]).await;
    let (_, id) = decode(str_of(&tokens, "id_token"));
    assert_eq!(id["auth_time"], NOW + 100);
    assert_eq!(id["acr"], "1");
}

#[tokio::test]
async fn login_hint_selects_the_user() {
    let h = start().await;
    let tokens = h.tokens(&[("login_hint", "bob@example.com")]).await;
    let (_, claims) = decode(str_of(&tokens, "access_token"));
    assert_eq!(claims["sub"], BOB);
    assert_eq!(claims["permissions"], serde_json::json!(["castles:read"]));
    // Core 3.1.2.1: a hint naming nobody is only a hint; auto-login signs in its user.
    let tokens = h.tokens(&[("login_hint", "carol@example.com")]).await;
    let (_, claims) = decode(str_of(&tokens, "access_token"));
    assert_eq!(claims["sub"], ALICE);
}

async fn interactive() -> Harness {
    let mut config = Config::default();
    config.login.mode = LoginMode::Interactive;
    start_with(config).await
}

#[tokio::test]
async fn interactive_login_lists_users_and_signs_in_the_chosen_one() {
    let h = interactive().await;
    let answer = h.authorize(&[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-frame-options"), "DENY");
    assert!(answer.body.contains("alice@example.com") && answer.body.contains("bob@example.com"));
    let page = LoginPage::of(&answer);
    let binding = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("oidc_forge_login="))
        .expect("a binding cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/authorize", "Max-Age=600"] {
        assert!(binding.contains(attribute), "{attribute}: {binding}");
    }
    let answer = h.decide(&page, &[("user", BOB)], &[]).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    let params = answer.location_params();
    assert_eq!(params["state"], "state-1");
    assert!(answer.cookie("oidc_forge_session").is_some());
    // Each page can be answered once.
    h.decide(&page, &[("user", BOB)], &[])
        .await
        .assert_error_page("expired or was already answered");
}

#[tokio::test]
async fn interactive_deny_returns_access_denied() {
    // RFC 6749 4.1.2.1 access_denied; OIDF fapi2-...-user-rejects-authentication.
    let h = interactive().await;
    let page = LoginPage::of(&h.authorize(&[]).await);
    h.decide(&page, &[("deny", "1")], &[])
        .await
        .assert_redirected_error("access_denied", Some("state-1"), h.issuer.url());
}

/// Issue 12.5: the login page's answer is bound to the browser that was shown the page, to its
/// form token, and to the issuer's origin; an attacker's own interaction posted from the
/// victim's browser signs nobody in.
#[tokio::test]
async fn the_login_page_answer_is_bound_to_its_browser_form_and_origin() {
    let h = interactive().await;
    let page = LoginPage::of(&h.authorize(&[]).await);
    let origin = h.issuer.url().to_owned();
    let refused = |answer: &Answer, why: &str| {
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{why}: {}",
            answer.body
        );
        assert!(answer.cookie("oidc_forge_session").is_none(), "{why}");
        assert!(answer.header("location").is_empty(), "{why}");
    };
    // Cross-site: the attacker's page posts the attacker's own interaction.
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![
            ("origin", origin.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
    ] {
        let answer = h.decide(&page, &[("user", BOB)], &headers).await;
        refused(&answer, &format!("{headers:?}"));
        assert!(answer.body.contains("another"), "{}", answer.body);
    }
    // The victim's browser lacks the binding cookie of the attacker's page.
    let unbound = LoginPage {
        binding: None,
        ..page.clone()
    };
    refused(
        &h.decide(&unbound, &[("user", BOB)], &[("origin", &origin)])
            .await,
        "no binding cookie",
    );
    // Another browser's binding cookie (the victim has a login page of its own open).
    let victims = LoginPage::of(&h.authorize(&[]).await);
    let crossed = LoginPage {
        binding: victims.binding.clone(),
        ..page.clone()
    };
    refused(
        &h.decide(&crossed, &[("user", BOB)], &[("origin", &origin)])
            .await,
        "another browser's binding",
    );
    // A form token that is not the page's.
    let forged = LoginPage {
        form_token: victims.form_token.clone(),
        ..page.clone()
    };
    refused(
        &h.decide(&forged, &[("user", BOB)], &[("origin", &origin)])
            .await,
        "another page's form token",
    );
    let no_token = LoginPage {
        form_token: String::new(),
        ..page.clone()
    };
    refused(
        &h.decide(&no_token, &[("user", BOB)], &[]).await,
        "no form token",
    );
    // None of this used the page up: its own browser still answers it, from its origin.
    let answer = h
        .decide(
            &page,
            &[("user", BOB)],
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert!(answer.cookie("oidc_forge_session").is_some());
    // The request log keeps none of what answers a page.
    let logged = h.issuer.requests_to(oidc_forge::Endpoint::LoginDecision);
    let last = logged.last().expect("logged");
    for secret in ["interaction", "form_token"] {
        assert_eq!(last.param(secret), Some("[redacted]"), "{secret}");
    }
    // Both pages opened in one browser share its binding.
    let first = h.authorize(&[]).await;
    let binding = LoginPage::of(&first).binding;
    let second = h.authorize_with_cookie(&[], binding.as_deref()).await;
    assert!(
        second
            .cookie("oidc_forge_login")
            .is_some_and(|c| Some(c) == binding)
    );
    let second = LoginPage {
        binding: binding.clone(),
        ..LoginPage::of(&second)
    };
    let first = LoginPage {
        binding,
        ..LoginPage::of(&first)
    };
    for page in [first, second] {
        assert_eq!(
            h.decide(&page, &[("user", ALICE)], &[]).await.status,
            StatusCode::FOUND
        );
    }
}

#[tokio::test]
async fn interactive_consent_and_select_account_show_the_page_over_a_session() {
    let h = interactive().await;
    let page = LoginPage::of(&h.authorize(&[]).await);
    let signed_in = h.decide(&page, &[("user", BOB)], &[]).await;
    let session = signed_in.cookie("oidc_forge_session").expect("a session");
    // The session is reused without a page...
    let reused = h.authorize_with_cookie(&[], Some(&session)).await;
    assert_eq!(reused.status, StatusCode::FOUND);
    // ...unless the client asks for consent or an account choice (Core 3.1.2.1).
    for prompt in ["consent", "select_account", "consent select_account"] {
        let answer = h
            .authorize_with_cookie(&[("prompt", prompt)], Some(&session))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{prompt}: {}", answer.body);
        assert!(answer.body.contains("Sign in as"), "{prompt}");
    }
}

#[tokio::test]
async fn interactive_prompt_none_without_session_is_login_required() {
    let h = interactive().await;
    h.authorize(&[("prompt", "none")])
        .await
        .assert_redirected_error("login_required", Some("state-1"), h.issuer.url());
}

/// Review F4: in auto mode, a `login_hint` for another user signs that user in for the request
/// only; it never replaces the browser's session (any page can make the request).
#[tokio::test]
async fn a_hinted_sign_in_does_not_replace_the_session() {
    let h = start().await;
    let alice = h.authorize(&[]).await;
    let cookie = alice.cookie("oidc_forge_session").expect("alice's session");
    let as_bob = h
        .authorize_with_cookie(
            &[("login_hint", "bob@example.com"), ("prompt", "login")],
            Some(&cookie),
        )
        .await;
    assert_eq!(as_bob.status, StatusCode::FOUND);
    assert!(
        as_bob.cookie("oidc_forge_session").is_none(),
        "no new session"
    );
    let tokens = h.redeem(&as_bob.location_params()["code"]).await.json();
    assert_eq!(decode(str_of(&tokens, "id_token")).1["sub"], BOB);
    assert!(decode(str_of(&tokens, "id_token")).1.get("sid").is_none());
    // The session is still alice's.
    let silent = h
        .authorize_with_cookie(&[("prompt", "none")], Some(&cookie))
        .await;
    let tokens = h.redeem(&silent.location_params()["code"]).await.json();
    assert_eq!(decode(str_of(&tokens, "id_token")).1["sub"], ALICE);
    // Nor does a hinted sign-in start one in a browser without a session.
    let fresh = h.authorize(&[("login_hint", "bob@example.com")]).await;
    assert!(fresh.cookie("oidc_forge_session").is_none());
}

/// Issue 13: the embedded default registers the callback paths people write (Fief's, FusionAuth's
/// and Authlib's, hand-written flows', FastAPI's Swagger UI) on localhost and 127.0.0.1, any port
/// (RFC 8252 7.3); anything else is refused, and a configured client keeps exact matching.
#[tokio::test]
async fn the_default_client_takes_the_usual_local_callbacks_on_any_port() {
    let h = start().await;
    for host in ["localhost", "127.0.0.1"] {
        for port in ["8000", "5000", "49152"] {
            for path in [
                "/auth-callback",
                "/callback",
                "/oauth/callback",
                "/docs/oauth2-redirect",
            ] {
                let uri = format!("http://{host}:{port}{path}");
                let answer = h.authorize(&[("redirect_uri", &uri)]).await;
                assert_eq!(answer.status, StatusCode::FOUND, "{uri}: {}", answer.body);
                assert!(
                    answer
                        .header("location")
                        .starts_with(&format!("{uri}?code=")),
                    "{uri}"
                );
            }
        }
    }
    for refused in [
        "http://localhost:5000/elsewhere",
        "https://localhost:5000/callback",
        "http://localhost.evil.example:5000/callback",
        "http://app.example:5000/callback",
    ] {
        h.authorize(&[("redirect_uri", refused)])
            .await
            .assert_error_page("not registered");
    }
    let mut config = Config::default();
    config.clients[0].loopback_any_port = false;
    config.clients[0].redirect_uris = vec![REDIRECT_URI.into()];
    let exact = start_with(config).await;
    exact
        .authorize(&[("redirect_uri", "http://localhost:8001/auth-callback")])
        .await
        .assert_error_page("not registered");
    assert_eq!(exact.authorize(&[]).await.status, StatusCode::FOUND);
}

/// Issue 13, RFC 9700 2.1.1: PKCE is a SHOULD for confidential clients (Fief, FusionAuth and
/// Keycloak do not require it) and a MUST for public ones; `require_pkce = true` requires it.
#[tokio::test]
async fn pkce_is_required_of_public_clients_and_of_those_configured_so() {
    let no_pkce = [("code_challenge", ""), ("code_challenge_method", "")];
    let h = start().await;
    let code = h.code(&no_pkce).await;
    let answer = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ],
            Some(WEB),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    h.authorize(&[
        ("client_id", "forge-spa"),
        ("redirect_uri", "http://localhost:3000/callback"),
        ("code_challenge", ""),
        ("code_challenge_method", ""),
    ])
    .await
    .assert_redirected_error("invalid_request", Some("state-1"), h.issuer.url());
    let mut config = Config::default();
    config.clients[0].require_pkce = Some(true);
    let strict = start_with(config).await;
    strict.authorize(&no_pkce).await.assert_redirected_error(
        "invalid_request",
        Some("state-1"),
        strict.issuer.url(),
    );
}

/// A login page answers for `LOGIN_PAGE_LIFETIME` seconds and not one more; the session it
/// starts lasts `SESSION_LIFETIME` (then `prompt=none` answers `login_required`).
#[tokio::test]
async fn login_pages_and_sessions_expire_on_time() {
    use oidc_forge::internals::limits::{LOGIN_PAGE_LIFETIME, SESSION_LIFETIME};
    let h = interactive().await;
    let page = LoginPage::of(&h.authorize(&[]).await);
    h.clock.advance(LOGIN_PAGE_LIFETIME - 1);
    let answer = h.decide(&page, &[("user", BOB)], &[]).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    let session = answer.cookie("oidc_forge_session").expect("a session");
    let late = LoginPage::of(&h.authorize(&[]).await);
    h.clock.advance(LOGIN_PAGE_LIFETIME);
    h.decide(&late, &[("user", BOB)], &[])
        .await
        .assert_error_page("expired or was already answered");

    // The session began LOGIN_PAGE_LIFETIME ago; two hours on, it still stands.
    h.clock.advance(2 * 3600);
    let reused = h
        .authorize_with_cookie(&[("prompt", "none")], Some(&session))
        .await;
    assert!(
        reused.location_params().contains_key("code"),
        "{:?}",
        reused.location_params()
    );
    h.clock.advance(SESSION_LIFETIME);
    let expired = h
        .authorize_with_cookie(&[("prompt", "none")], Some(&session))
        .await;
    assert_eq!(expired.location_params()["error"], "login_required");
}
