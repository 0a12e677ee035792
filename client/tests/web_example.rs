//! Catalogue section C, through the web example app served over HTTP
//! against the in-process issuer, with a cookie-keeping browser.

mod support;

#[path = "../examples/web.rs"]
mod web_example;

use oidc_forge::config::Config;
use oidc_forge_client::UserInfo;
use oidc_forge_client::axum::WebFlow;
use oidc_forge_client::clock::FixedClock;
use serde_json::json;
use std::sync::Arc;
use support::*;

struct Web {
    url: String,
    issuer: oidc_forge::MockIssuer,
    flow: WebFlow,
    clock: Arc<FixedClock>,
}

async fn start_web_with(edit: impl FnOnce(&mut Config), secure: bool) -> Web {
    let (listener, url) = bind().await;
    let callback = format!("{url}/auth-callback");
    let home = format!("{url}/");
    let (issuer, _) = start_issuer(|config| {
        config.clients[0].redirect_uris.push(callback);
        config.clients[0].post_logout_redirect_uris.push(home);
        edit(config);
    })
    .await;
    let (client, clock) = client(issuer.url());
    let settings = web_example::Settings {
        issuer: issuer.url().to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        app_url: url.clone(),
        secure_cookies: secure,
        cookie_key: None,
    };
    let flow = web_example::flow(&settings, client).expect("flow");
    serve(listener, web_example::app(flow.clone()));
    Web {
        url,
        issuer,
        flow,
        clock,
    }
}

async fn start_web() -> Web {
    start_web_with(|_| {}, false).await
}

fn cookie_line<'a>(page: &'a Page, name: &str) -> Option<&'a String> {
    page.set_cookies
        .iter()
        .find(|line| line.starts_with(&format!("{name}=")))
}

/// Logs in through `/protected`, returning the callback URL the issuer sent.
async fn log_in(web: &Web, browser: &mut Browser) -> String {
    let (page, visited) = browser.follow(&format!("{}/protected", web.url), 6).await;
    assert_eq!(page.status, 200, "{visited:?}: {}", page.body);
    assert!(page.body.contains("alice@example.com"), "{}", page.body);
    visited
        .iter()
        .find(|url| url.contains("/auth-callback?"))
        .cloned()
        .expect("went through the callback")
}

#[tokio::test]
async fn c01_c02_c15_c19_the_login_round_trip() {
    let web = start_web().await;
    let mut browser = Browser::new();

    let protected = browser.get(&format!("{}/protected", web.url)).await;
    assert_eq!(protected.status, 302);
    assert_eq!(
        protected.location.as_deref(),
        Some(format!("{}/login?return_to=%2Fprotected", web.url).as_str())
    );

    let login = browser.get(protected.location.as_deref().unwrap()).await;
    assert_eq!(login.status, 302);
    let authorize_url = login.location.clone().unwrap();
    let metadata = web.flow.client().metadata().await.unwrap();
    assert!(authorize_url.starts_with(&metadata.authorization_endpoint));
    let query = query_of(&authorize_url);
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["redirect_uri"], format!("{}/auth-callback", web.url));
    assert!(query["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["state"].len(), 43);
    assert_eq!(query["nonce"].len(), 43);
    assert_eq!(query["code_challenge"].len(), 43);
    let transaction = cookie_line(&login, "user_session_tx").expect("transaction cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"] {
        assert!(transaction.contains(attribute), "{transaction}");
    }
    assert!(
        !transaction.contains("Secure"),
        "Secure is off for http in this test"
    );
    assert!(
        !transaction.contains(&query["state"]),
        "the transaction is encrypted"
    );

    let issued = browser.get(&authorize_url).await;
    assert_eq!(issued.status, 302);
    let callback = browser.get(issued.location.as_deref().unwrap()).await;
    assert_eq!(callback.status, 302);
    assert_eq!(
        callback.location.as_deref(),
        Some(format!("{}/protected", web.url).as_str())
    );
    assert_eq!(callback.headers["referrer-policy"], "no-referrer");
    let session = cookie_line(&callback, "user_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(cookie_line(&callback, "user_session_id").is_some());
    let cleared = cookie_line(&callback, "user_session_tx").expect("transaction cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let page = browser.get(&format!("{}/protected", web.url)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Your user email is alice@example.com"),
        "{}",
        page.body
    );
    let home = browser.get(&format!("{}/", web.url)).await;
    assert!(
        home.body.contains("Welcome back, alice@example.com"),
        "{}",
        home.body
    );
}

#[tokio::test]
async fn userinfo_is_cached_and_can_be_forced_to_refresh() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    let cache = web.flow.auth().cache().clone();
    assert_eq!(
        cache
            .get(ALICE)
            .await
            .and_then(|u| u.email().map(str::to_owned))
            .as_deref(),
        Some("alice@example.com")
    );

    let stale = UserInfo::from_claims(
        json!({"sub": ALICE, "email": "stale@example.com"})
            .as_object()
            .cloned()
            .unwrap(),
    )
    .unwrap();
    cache.set(ALICE, stale).await;
    let page = browser.get(&format!("{}/protected", web.url)).await;
    assert!(
        page.body.contains("stale@example.com"),
        "served from the cache"
    );
    let page = browser.get(&format!("{}/protected-fresh", web.url)).await;
    assert!(
        page.body.contains("alice@example.com"),
        "refresh=True asks the issuer"
    );
    let page = browser.get(&format!("{}/protected", web.url)).await;
    assert!(
        page.body.contains("alice@example.com"),
        "and the cache was updated"
    );
}

async fn start_login(
    web: &Web,
    browser: &mut Browser,
) -> std::collections::BTreeMap<String, String> {
    let login = browser.get(&format!("{}/login", web.url)).await;
    assert_eq!(login.status, 302);
    query_of(login.location.as_deref().unwrap())
}

fn assert_failed_without_session(page: &Page, expected: &str) {
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains(expected), "{}", page.body);
    assert!(
        cookie_line(page, "user_session").is_none(),
        "no session cookie"
    );
    assert!(cookie_line(page, "user_session_id").is_none());
    let cleared = cookie_line(page, "user_session_tx").expect("transaction cleared");
    assert!(cleared.contains("Max-Age=0"));
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
}

/// A callback that matches no login of this browser: a fixed message, and not
/// a single cookie touched, so the login in progress survives (issue 12.6).
fn assert_unmatched(page: &Page) {
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body
            .contains("does not belong to a login started in this browser"),
        "{}",
        page.body
    );
    assert!(page.set_cookies.is_empty(), "{:?}", page.set_cookies);
}

#[tokio::test]
async fn c03_c06_c07_the_callback_checks_state_code_and_iss() {
    let web = start_web().await;
    let iss = web.issuer.url().to_owned();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let unmatched = [
        "code=c&state=wrong&iss={iss}",
        "code=c&iss={iss}",
        "code=c&state={state}&state={state}&iss={iss}",
        "code=c&code=d&state={state}&iss={iss}",
    ];
    let matched = [
        ("state={state}&iss={iss}", "neither a code nor an error"),
        (
            "code=c&state={state}&iss=http%3A%2F%2Fevil.example",
            "another issuer",
        ),
        ("code=c&state={state}", "lacks the issuer identifier"),
    ];
    for template in unmatched {
        let mut browser = Browser::new();
        let state = start_login(&web, &mut browser).await["state"].clone();
        let query = template
            .replace("{iss}", &enc(&iss))
            .replace("{state}", &state);
        let page = browser
            .get(&format!("{}/auth-callback?{query}", web.url))
            .await;
        assert_unmatched(&page);
    }
    for (template, expected) in matched {
        let mut browser = Browser::new();
        let state = start_login(&web, &mut browser).await["state"].clone();
        let query = template
            .replace("{iss}", &enc(&iss))
            .replace("{state}", &state);
        let page = browser
            .get(&format!("{}/auth-callback?{query}", web.url))
            .await;
        assert_failed_without_session(&page, expected);
    }
}

/// Issue 12.6: a forged error callback shows nothing of the attacker's text on
/// the app's origin, and the victim's login in progress still completes.
#[tokio::test]
async fn forged_error_callbacks_show_a_fixed_message_and_keep_the_login() {
    let web = start_web().await;
    let iss = url::form_urlencoded::byte_serialize(web.issuer.url().as_bytes()).collect::<String>();
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", web.url)).await;
    let authorize_url = login.location.clone().unwrap();
    for forged in [
        "error=access_denied&error_description=Call%20%2B1-555-0100%20now".to_owned(),
        format!("error=x&error_description=Call%20%2B1-555-0100%20now&state=foreign&iss={iss}"),
        "error=x&error_description=Call%20%2B1-555-0100%20now&state=".to_owned(),
    ] {
        let page = browser
            .get(&format!("{}/auth-callback?{forged}", web.url))
            .await;
        assert_unmatched(&page);
        assert!(!page.body.contains("555"), "{}", page.body);
    }
    // The real response still finds its transaction.
    let issued = browser.get(&authorize_url).await;
    assert_eq!(issued.status, 302);
    let callback = browser.get(issued.location.as_deref().unwrap()).await;
    assert_eq!(callback.status, 302, "{}", callback.body);
    assert!(browser.cookies.contains("user_session"));
}

#[tokio::test]
async fn c04_a_replayed_callback_is_rejected() {
    let web = start_web().await;
    let mut browser = Browser::new();
    let callback = log_in(&web, &mut browser).await;
    let mut attacker = Browser::new();
    assert_unmatched(&attacker.get(&callback).await);
    // The same browser, transaction already used: the session stays.
    assert_unmatched(&browser.get(&callback).await);
    assert_eq!(
        browser.get(&format!("{}/protected", web.url)).await.status,
        200
    );
}

#[tokio::test]
async fn c05_issuer_errors_render_escaped_without_calling_the_token_endpoint() {
    let web = start_web().await;
    let mut browser = Browser::new();
    let state = start_login(&web, &mut browser).await["state"].clone();
    // RFC 9207 2: error responses carry `iss` too.
    let iss = url::form_urlencoded::byte_serialize(web.issuer.url().as_bytes()).collect::<String>();
    let page = browser
        .get(&format!(
            "{}/auth-callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}&iss={iss}",
            web.url
        ))
        .await;
    assert_failed_without_session(&page, "access_denied");
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>"));
    assert_eq!(
        page.headers["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn c08_a_refused_code_renders_an_error_and_sets_no_session() {
    let web = start_web().await;
    let mut browser = Browser::new();
    let state = start_login(&web, &mut browser).await["state"].clone();
    let iss = url::form_urlencoded::byte_serialize(web.issuer.url().as_bytes()).collect::<String>();
    let page = browser
        .get(&format!(
            "{}/auth-callback?code=forged-code&state={state}&iss={iss}",
            web.url
        ))
        .await;
    assert_failed_without_session(&page, "invalid_grant");
}

#[tokio::test]
async fn c09_an_id_token_with_another_nonce_discards_the_login() {
    let web = start_web().await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", web.url)).await;
    let authorize_url = login.location.unwrap();
    let nonce = query_of(&authorize_url)["nonce"].clone();
    let swapped = authorize_url.replace(&nonce, "attacker-chosen-nonce");
    let issued = browser.get(&swapped).await;
    assert_eq!(issued.status, 302);
    let page = browser.get(issued.location.as_deref().unwrap()).await;
    assert_failed_without_session(&page, "nonce does not match");
}

#[tokio::test]
async fn c17_expired_or_tampered_sessions_go_back_to_login() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    let session = browser
        .cookies
        .get("user_session")
        .map(str::to_owned)
        .unwrap();
    let mut flipped = session.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    browser
        .cookies
        .insert("user_session", String::from_utf8(flipped).unwrap());
    let page = browser.get(&format!("{}/protected?x=1", web.url)).await;
    assert_eq!(page.status, 302);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{}/login?return_to=%2Fprotected%3Fx%3D1", web.url).as_str())
    );
    let post = browser
        .request(
            reqwest::Method::POST,
            &format!("{}/protected", web.url),
            &[],
        )
        .await;
    assert_eq!(
        post.status, 405,
        "the route is GET-only; the session is irrelevant"
    );

    browser.cookies.insert("user_session", session);
    assert_eq!(
        browser.get(&format!("{}/protected", web.url)).await.status,
        200
    );
    // The access token expires on the app's clock: back to login, never a 500.
    web.clock.advance(3 * 3600);
    let page = browser.get(&format!("{}/protected", web.url)).await;
    assert_eq!(page.status, 302);
    assert!(page.location.unwrap().contains("/login?return_to="));
}

#[tokio::test]
async fn a_slow_login_expires() {
    let web = start_web().await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", web.url)).await;
    let issued = browser.get(login.location.as_deref().unwrap()).await;
    web.clock.advance(601);
    let page = browser.get(issued.location.as_deref().unwrap()).await;
    assert_failed_without_session(&page, "took too long");
}

#[tokio::test]
async fn c18_return_to_only_accepts_same_origin_paths() {
    let web = start_web().await;
    for (asked, landing) in [
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example", "/"),
        // Dot segments, plain and percent-encoded, and backslashes.
        ("%2F.%2F%2Fevil.example", "/"),
        ("%2Fa%2F..%2F%2Fevil.example", "/"),
        ("%2F%252e%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F.%2F%5Cevil.example", "/"),
        ("%2Fa%2F..%2Fprotected", "/protected"),
        ("%2Fprotected%3Fa%3D1", "/protected?a=1"),
    ] {
        let mut browser = Browser::new();
        let (_, visited) = browser
            .follow(&format!("{}/login?return_to={asked}", web.url), 6)
            .await;
        assert_eq!(
            visited.last().map(String::as_str),
            Some(format!("{}{landing}", web.url).as_str()),
            "{asked}"
        );
    }
}

/// C-16 (issue 12.7): a state-changing route authenticated by the session
/// cookie refuses posts from other sites, not only `/logout`.
#[tokio::test]
async fn c16_state_changing_routes_refuse_cross_site_posts() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    let claim = format!("{}/castles/claim", web.url);
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
    ] {
        let page = browser
            .request(reqwest::Method::POST, &claim, &headers)
            .await;
        assert_eq!(page.status, 403, "{headers:?}: {}", page.body);
        assert!(!page.body.contains("Castle claimed"), "{}", page.body);
    }
    let origin = web.url.clone();
    for headers in [
        vec![
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
        ],
        vec![],
    ] {
        let page = browser
            .request(reqwest::Method::POST, &claim, &headers)
            .await;
        assert_eq!(page.status, 200, "{headers:?}: {}", page.body);
        assert!(page.body.contains("Castle claimed by alice@example.com"));
    }
}

/// C-20 through the path users take (issue 12.8): `WebFlow::refresh_session`
/// holds the refreshed ID token to the session's subject.
#[tokio::test]
async fn c20_session_refresh_keeps_the_subject() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    assert!(browser.cookies.contains("user_session_refresh"));
    let refreshed = web
        .flow
        .refresh_session(&browser.cookie_headers())
        .await
        .expect("an unmodified refresh");
    browser.absorb(&refreshed);

    web.issuer
        .queue_claims_for(
            oidc_forge::forge::claims::ClaimsTarget::IdToken,
            json!({"sub": BOB}),
        )
        .unwrap();
    let error = web
        .flow
        .refresh_session(&browser.cookie_headers())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            oidc_forge_client::Error::IdTokenInvalid(
                oidc_forge_client::TokenError::SubjectChanged { .. }
            )
        ),
        "{error}"
    );

    // A session without its ID token is not refreshed blind: from a fresh session, whose
    // refresh token the issuer would honour, the refresh is refused before any token request.
    let mut fresh = Browser::new();
    log_in(&web, &mut fresh).await;
    let mut no_id = fresh.cookie_headers();
    let without_id: String = fresh
        .cookies
        .iter()
        .filter(|(name, _)| *name != "user_session_id")
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    no_id.insert("cookie", without_id.parse().unwrap());
    let token_requests = web.issuer.requests_to(oidc_forge::Endpoint::Token).len();
    let error = web.flow.refresh_session(&no_id).await.unwrap_err();
    assert!(
        matches!(&error, oidc_forge_client::Error::Configuration(why) if why.contains("no ID token")),
        "{error}"
    );
    assert_eq!(
        web.issuer.requests_to(oidc_forge::Endpoint::Token).len(),
        token_requests,
        "no refresh was attempted"
    );
    // The same session with its ID token refreshes: the refusal above was the missing cookie.
    let refreshed = web
        .flow
        .refresh_session(&fresh.cookie_headers())
        .await
        .expect("the whole session refreshes");
    fresh.absorb(&refreshed);
    assert!(fresh.cookies.contains("user_session_id"));
}

#[tokio::test]
async fn c22_c23_logout_clears_everything_through_the_issuer() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    let cache = web.flow.auth().cache().clone();
    assert!(cache.get(ALICE).await.is_some());

    let cross_site = browser
        .request(
            reqwest::Method::POST,
            &format!("{}/logout", web.url),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    assert!(cross_site.set_cookies.is_empty());
    let by_get = browser.get(&format!("{}/logout", web.url)).await;
    assert_eq!(by_get.status, 405, "GET logout is off by default");

    let origin = web.url.clone();
    let logout = browser
        .request(
            reqwest::Method::POST,
            &format!("{}/logout", web.url),
            &[("origin", &origin)],
        )
        .await;
    assert_eq!(logout.status, 303);
    let target = logout.location.clone().unwrap();
    let metadata = web.flow.client().metadata().await.unwrap();
    assert!(
        target.starts_with(metadata.end_session_endpoint.as_deref().unwrap()),
        "{target}"
    );
    let query = query_of(&target);
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["post_logout_redirect_uri"], format!("{}/", web.url));
    assert!(query.contains_key("id_token_hint"));
    assert!(query.contains_key("state"));
    for name in ["user_session", "user_session_id"] {
        let line = cookie_line(&logout, name).unwrap_or_else(|| panic!("{name} cleared"));
        assert!(
            line.contains("Max-Age=0") && line.contains("Path=/"),
            "{line}"
        );
    }
    assert!(
        cache.get(ALICE).await.is_none(),
        "the cached user is purged"
    );
    assert!(!browser.cookies.contains("user_session"));

    // The issuer accepts the hint and sends the browser home, anonymous.
    let (home, visited) = browser.follow(&target, 3).await;
    assert_eq!(home.status, 200, "{visited:?}");
    assert!(home.body.contains("anonymous"), "{}", home.body);
}

#[tokio::test]
async fn forbidden_pages_render_html_and_permitted_ones_load() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    let page = browser.get(&format!("{}/castles", web.url)).await;
    assert_eq!(page.status, 200, "alice has castles:read");

    let denied = start_web_with(
        |config| {
            config.login.user = Some("bob@example.com".into());
            config.users[1].permissions.clear();
        },
        false,
    )
    .await;
    let mut browser = Browser::new();
    let (page, _) = browser.follow(&format!("{}/castles", denied.url), 6).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("castles:read"), "{}", page.body);
}

#[tokio::test]
async fn secure_cookies_use_the_host_prefix() {
    let web = start_web_with(|_| {}, true).await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", web.url)).await;
    let line = cookie_line(&login, "__Host-user_session_tx").expect("prefixed cookie");
    assert!(line.contains("Secure") && line.contains("Path=/"), "{line}");
    assert_eq!(web.flow.session_cookie_name(), "__Host-user_session");
}

#[test]
fn cookie_keys_are_checked() {
    assert!(web_example::cookie_key(Some("c2hvcnQ=")).is_err());
    assert!(web_example::cookie_key(Some("!!")).is_err());
    let long = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64]);
    assert!(web_example::cookie_key(Some(&long)).is_ok());
    let settings = web_example::Settings::from_env();
    assert!(web_example::client(&settings).is_ok());
}

/// When the issuer fails, a page fails closed with 503 (never a login loop or an empty 200);
/// an unauthenticated form post gets the RFC 6750 401, and only GET and HEAD go to login.
#[tokio::test]
async fn issuer_failures_fail_closed_and_only_reads_go_to_login() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    web.issuer.faults().userinfo().status(500).times(1).unwrap();
    let page = browser.get(&format!("{}/protected-fresh", web.url)).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains("Temporarily unavailable"),
        "{}",
        page.body
    );
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.location.is_none(), "no redirect to login");

    let mut anonymous = Browser::new();
    let post = anonymous
        .request(
            reqwest::Method::POST,
            &format!("{}/castles/claim", web.url),
            &[],
        )
        .await;
    assert_eq!(post.status, 401, "{}", post.body);
    assert_eq!(post.headers["www-authenticate"], "Bearer");
    let head = anonymous
        .request(
            reqwest::Method::HEAD,
            &format!("{}/protected", web.url),
            &[],
        )
        .await;
    assert_eq!(head.status, 302);
    assert!(
        head.location
            .unwrap()
            .contains("/login?return_to=%2Fprotected")
    );

    // The token endpoint unreachable at the callback: 503, not the 400 of a refused login.
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", web.url)).await;
    let issued = browser.get(login.location.as_deref().unwrap()).await;
    web.issuer
        .faults()
        .token()
        .close_connection()
        .times(1)
        .unwrap();
    let page = browser.get(issued.location.as_deref().unwrap()).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(cookie_line(&page, "user_session").is_none());
}

/// What `WebFlow::build` derives from its base URL: https means `Secure` cookies with the
/// `__Host-` prefix, `openid` is always asked for, and the URLs to register are reported.
#[tokio::test]
async fn the_flow_derives_cookies_scopes_and_urls_from_its_base() {
    use axum::body::Body;
    use tower::ServiceExt as _;
    let (issuer, _) = start_issuer(|_| {}).await;
    let flow = |base: &str| {
        let (client, _) = client(issuer.url());
        WebFlow::builder(client, oidc_forge_client::axum::Key::generate(), base).scopes(["email"])
    };
    let https = flow("https://app.example").build().unwrap();
    assert_eq!(https.redirect_uri(), "https://app.example/auth-callback");
    assert_eq!(https.post_logout_redirect_uri(), "https://app.example/");
    let shown = format!("{https:?}");
    assert!(
        shown.starts_with("WebFlow") && shown.contains("secure: true"),
        "{shown}"
    );
    assert!(format!("{:?}", flow("https://app.example")).starts_with("WebFlowBuilder"));
    let login = https
        .router::<()>()
        .oneshot(
            axum::http::Request::get("/login")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let location = login.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_of(&location)["scope"], "openid email");
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-user_session_tx="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    let http = flow("http://app.example").build().unwrap();
    assert!(format!("{http:?}").contains("secure: false"));
    for refused in ["ftp://app.example", "file:///srv/app", "not a url"] {
        assert!(flow(refused).build().is_err(), "{refused}");
    }
}

/// No page of the app can be framed by another page (clickjacking, RFC 9700 4.16): a frame on
/// another port of the same host would carry the session cookie, since cookies ignore ports.
#[tokio::test]
async fn the_apps_pages_refuse_to_be_framed() {
    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    for path in ["/", "/protected", "/castles"] {
        let page = browser.get(&format!("{}{path}", web.url)).await;
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
}

/// A login whose token response has no refresh token leaves no refresh cookie of an earlier
/// session behind: a refresh would otherwise redeem that other grant (RFC 9700 4.14).
#[tokio::test]
async fn a_login_without_a_refresh_token_removes_the_previous_one() {
    use oidc_forge::forge::token_response::ResponseEdit;

    let web = start_web().await;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await;
    assert!(browser.cookies.contains("user_session_refresh"));
    web.issuer
        .edit_next_token_response(vec![ResponseEdit::Members {
            set: serde_json::Map::new(),
            remove: vec!["refresh_token".into()],
        }])
        .unwrap();
    let (page, visited) = browser.follow(&format!("{}/login", web.url), 6).await;
    assert_eq!(page.status, 200, "{visited:?}: {}", page.body);
    assert!(
        visited.iter().any(|url| url.contains("/auth-callback?")),
        "{visited:?}"
    );
    assert_eq!(
        web.issuer.token_response_edits_waiting(),
        0,
        "the login used the edit"
    );
    assert!(browser.cookies.contains("user_session"));
    assert!(
        !browser.cookies.contains("user_session_refresh"),
        "{:?}",
        browser.cookies
    );
    let error = web
        .flow
        .refresh_session(&browser.cookie_headers())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, oidc_forge_client::Error::Configuration(why) if why.contains("no refresh token")),
        "{error}"
    );
}
