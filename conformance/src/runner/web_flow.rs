//! Group C: the client's web example app served in-process next to the issuer, driven by a
//! cookie-keeping [`Browser`] that follows every redirect by hand.

use oidc_forge::Endpoint;
use oidc_forge::config::AuthMethod;
use oidc_forge::forge::claims::ClaimsTarget;
use serde_json::{Value, json};

use crate::env::{ALICE, WebEnv};
use crate::http::{Browser, Page, query_of, shorten};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::{ensure, ensure_eq};

/// The session cookie of the web example (not Secure, so without the `__Host-` prefix).
const SESSION: &str = "user_session";
/// Its login-transaction cookie.
const TRANSACTION: &str = "user_session_tx";

/// Starts a login in `browser`: the app's redirect to the authorization endpoint and its
/// query (state, nonce, challenge).
pub async fn start_login(
    web: &WebEnv,
    browser: &mut Browser,
) -> Result<(String, std::collections::BTreeMap<String, String>), Failure> {
    let login = browser.get(&web.app("/login")).await?;
    ensure_eq!(login.answer.status, 302, "/login redirects to the issuer");
    let url = login
        .location
        .ok_or_else(|| Failure::mismatch("/login without Location"))?;
    let query = query_of(&url)?;
    Ok((url, query))
}

/// Logs in through `/protected` and returns every page on the way.
pub async fn log_in(web: &WebEnv, browser: &mut Browser) -> Result<Vec<Page>, Failure> {
    let pages = browser.follow(&web.app("/protected"), 6).await?;
    let last = pages.last().ok_or_else(|| Failure::setup("no page"))?;
    ensure!(
        last.answer.status == 200 && last.answer.body.contains("alice@example.com"),
        "the login round trip ends on the protected page, got {} after {:?}: {}",
        last.answer.status,
        pages.iter().map(|p| p.url.as_str()).collect::<Vec<_>>(),
        shorten(&last.answer.body)
    );
    Ok(pages)
}

/// The page the issuer's redirect lands on: the callback.
fn callback_page(pages: &[Page]) -> Result<&Page, Failure> {
    pages
        .iter()
        .find(|p| p.url.contains("/auth-callback?"))
        .ok_or_else(|| Failure::mismatch("the login went through no callback"))
}

/// Starts a login and lets the issuer answer: the callback URL it redirects to.
async fn issuer_answer(web: &WebEnv, browser: &mut Browser) -> Result<String, Failure> {
    let (authorize, _) = start_login(web, browser).await?;
    let issued = browser.get(&authorize).await?;
    ensure_eq!(issued.answer.status, 302, "the issuer redirects back");
    issued
        .location
        .ok_or_else(|| Failure::mismatch("the issuer's redirect has no Location"))
}

/// Asserts a failed login: a 4xx/5xx HTML page containing `expected`, no session cookie, the
/// transaction cleared.
pub fn expect_failed_login(page: &Page, expected: &str) -> Result<(), Failure> {
    ensure!(
        (400..600).contains(&page.answer.status),
        "the login fails, got {}: {}",
        page.answer.status,
        shorten(&page.answer.body)
    );
    ensure!(
        page.answer.body.contains(expected),
        "the page says {expected:?}: {}",
        shorten(&page.answer.body)
    );
    for name in [SESSION, "user_session_id", "user_session_refresh"] {
        ensure!(
            page.set_cookie(name).is_none(),
            "no {name} cookie on a failed login"
        );
    }
    let cleared = page
        .set_cookie(TRANSACTION)
        .ok_or_else(|| Failure::mismatch("the transaction cookie is cleared"))?;
    ensure!(
        cleared.contains("Max-Age=0"),
        "the transaction cookie is cleared: {cleared}"
    );
    Ok(())
}

/// The fixed words of the client's answer to a callback that matches no login of the browser.
pub const UNMATCHED_CALLBACK: &str = "does not belong to a login started in this browser";

/// Asserts a callback refused as matching no login of this browser: a 400 with the fixed
/// message (nothing the response said is shown), and no cookie touched at all, so a forged
/// callback cannot cancel a login in progress.
pub fn expect_unmatched_callback(page: &Page) -> Result<(), Failure> {
    ensure_eq!(page.answer.status, 400, "an unmatched callback");
    ensure!(
        page.answer.body.contains(UNMATCHED_CALLBACK),
        "the fixed message: {}",
        shorten(&page.answer.body)
    );
    let touched = page.answer.header_all("set-cookie");
    ensure!(
        touched.is_empty(),
        "an unmatched callback touches no cookie: {touched:?}"
    );
    Ok(())
}

/// Whether the issuer still holds `code` unredeemed: proof the app never called the token
/// endpoint with it.
fn unredeemed(web: &WebEnv, code: &str) -> bool {
    let codes = oidc_forge::state::lock(&web.issuer.issuer.state().codes);
    codes
        .get(code)
        .is_some_and(|grant| grant.redeemed.is_none())
}

/// Replaces a parameter in a URL's query.
fn replace_param(url: &str, name: &str, value: Option<&str>) -> Result<String, Failure> {
    let mut parsed = url::Url::parse(url).map_err(setup)?;
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    Ok(parsed.to_string())
}

/// C-01: the login redirect.
pub async fn c01_login_redirect() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    let protected = browser.get(&web.app("/protected")).await?;
    ensure_eq!(protected.answer.status, 302, "/protected when anonymous");
    ensure_eq!(
        protected.location.as_deref(),
        Some(web.app("/login?return_to=%2Fprotected").as_str()),
        "the login route with return_to"
    );
    let (url, query) = start_login(&web, &mut browser).await?;
    let metadata = web.flow.client().metadata().await.map_err(setup)?;
    ensure!(
        url.starts_with(&metadata.authorization_endpoint),
        "to the discovered authorization endpoint: {url}"
    );
    let get = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    ensure_eq!(get("response_type"), "code", "response_type");
    ensure!(
        get("scope").split(' ').any(|s| s == "openid"),
        "openid in scope: {:?}",
        get("scope")
    );
    ensure_eq!(
        get("code_challenge_method"),
        "S256",
        "code_challenge_method"
    );
    ensure_eq!(
        get("code_challenge").len(),
        43,
        "an S256 challenge is 43 characters"
    );
    ensure_eq!(
        get("redirect_uri"),
        web.app("/auth-callback"),
        "redirect_uri"
    );
    ensure!(
        web.issuer
            .issuer
            .config()
            .client(crate::env::WEB_CLIENT.0)
            .is_some_and(|c| c.redirect_uris.iter().any(|r| r == get("redirect_uri"))),
        "the redirect URI is registered"
    );
    // 128 bits or more of randomness, different for every login.
    ensure!(
        get("state").len() >= 22,
        "state of at least 128 bits: {:?}",
        get("state")
    );
    ensure!(
        get("nonce").len() >= 22,
        "nonce of at least 128 bits: {:?}",
        get("nonce")
    );
    let (_, second) = start_login(&web, &mut Browser::new()).await?;
    for name in ["state", "nonce", "code_challenge"] {
        ensure!(
            second.get(name) != query.get(name),
            "{name} differs between two logins"
        );
    }
    Ok(Pass::new(
        "302 to the discovered endpoint: code, openid, S256 challenge, registered redirect_uri; state and nonce random per login",
    ))
}

/// C-02: the login transaction.
pub async fn c02_transaction_storage() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    let login = browser.get(&web.app("/login")).await?;
    let query = query_of(login.location.as_deref().unwrap_or_default())?;
    let cookie = login
        .set_cookie(TRANSACTION)
        .ok_or_else(|| Failure::mismatch("no transaction cookie"))?;
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        ensure!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    ensure!(
        !cookie.contains("SameSite=Strict"),
        "Strict would not be sent on the cross-site return: {cookie}"
    );
    let max_age: u64 = cookie
        .split(';')
        .find_map(|a| a.trim().strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    ensure!(
        max_age <= 600,
        "short-lived (at most 10 minutes), got {max_age} s"
    );
    for name in ["state", "nonce"] {
        let value = query.get(name).cloned().unwrap_or_default();
        ensure!(
            !cookie.contains(&value),
            "the {name} is not readable in the cookie (encrypted)"
        );
    }
    // Bound to the browser: the issuer's answer delivered to another browser fails.
    let issued = browser
        .get(login.location.as_deref().unwrap_or_default())
        .await?;
    let callback = issued.location.clone().unwrap_or_default();
    let elsewhere = Browser::new().get(&callback).await?;
    expect_unmatched_callback(&elsewhere)
        .map_err(|f| Failure::mismatch(format!("another browser cannot complete it: {f}")))?;
    // Short-lived: a login older than the transaction's lifetime fails.
    let mut slow = Browser::new();
    let answer = issuer_answer(&web, &mut slow).await?;
    web.app_clock.advance(max_age + 1);
    let late = slow.get(&answer).await?;
    expect_failed_login(&late, "took too long")?;
    Ok(Pass::new(format!(
        "encrypted HttpOnly SameSite=Lax Path=/ cookie, Max-Age {max_age}; other browser refused; {}-s-old login refused",
        max_age + 1
    )))
}

/// C-03: the callback's state mismatched or missing.
pub async fn c03_state_mismatch() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    for (what, state) in [("mismatched", Some("forged-state")), ("missing", None)] {
        let mut browser = Browser::new();
        let answer = issuer_answer(&web, &mut browser).await?;
        let code = query_of(&answer)?.get("code").cloned().unwrap_or_default();
        let tampered = replace_param(&answer, "state", state)?;
        let page = browser.get(&tampered).await?;
        expect_unmatched_callback(&page)
            .map_err(|f| Failure::mismatch(format!("{what} state: {f}")))?;
        ensure!(
            unredeemed(&web, &code),
            "{what} state: the code was never sent to the token endpoint"
        );
        // The tampered response cancelled nothing: the real one still completes.
        let real = browser.get(&answer).await?;
        ensure_eq!(
            real.answer.status,
            302,
            "{what} state: the login in progress survives the tampered callback"
        );
        ensure!(
            real.set_cookie(SESSION).is_some(),
            "{what} state: the real callback signs in"
        );
    }
    Ok(Pass::new(
        "mismatched and missing state: 400 with a fixed message, no cookie touched, the code left unredeemed; the real callback then logs in",
    ))
}

/// C-04: a callback replayed.
pub async fn c04_callback_replay() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    let pages = log_in(&web, &mut browser).await?;
    let callback = callback_page(&pages)?.url.clone();
    let again = browser.get(&callback).await?;
    ensure_eq!(
        again.answer.status,
        400,
        "the same browser replays the callback"
    );
    ensure!(
        again.set_cookie(SESSION).is_none(),
        "no new session on a replay"
    );
    let elsewhere = Browser::new().get(&callback).await?;
    ensure_eq!(
        elsewhere.answer.status,
        400,
        "another browser replays the callback"
    );
    ensure!(
        elsewhere.set_cookie(SESSION).is_none(),
        "no session elsewhere"
    );
    Ok(Pass::new(
        "first callback: logged in; the same URL again, same or other browser: 400, no session",
    ))
}

/// C-05: the issuer answers with an error.
pub async fn c05_error_response() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    for error in ["access_denied", "login_required"] {
        let mut browser = Browser::new();
        let (_, query) = start_login(&web, &mut browser).await?;
        let state = query.get("state").cloned().unwrap_or_default();
        let page = browser
            .get(&web.app(&format!(
                "/auth-callback?error={error}&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}&iss={}",
                url::form_urlencoded::byte_serialize(web.issuer.iss().as_bytes()).collect::<String>()
            )))
            .await?;
        expect_failed_login(&page, error)?;
        ensure!(
            page.answer.body.contains("&lt;script&gt;") && !page.answer.body.contains("<script>"),
            "{error}: error_description shown escaped: {}",
            shorten(&page.answer.body)
        );
        ensure!(
            page.answer.header("content-type").starts_with("text/html"),
            "an HTML error page"
        );
    }
    // A forged error callback (no state, or another one) is not the browser's login: the
    // attacker's text never reaches the app's page, and the login in progress survives.
    let iss = url::form_urlencoded::byte_serialize(web.issuer.iss().as_bytes()).collect::<String>();
    let mut browser = Browser::new();
    let answer = issuer_answer(&web, &mut browser).await?;
    for forged in [
        "error=access_denied&error_description=Call%20support%20at%20evil.example".to_owned(),
        format!(
            "error=access_denied&error_description=Call%20support%20at%20evil.example&state=foreign&iss={iss}"
        ),
    ] {
        let page = browser
            .get(&web.app(&format!("/auth-callback?{forged}")))
            .await?;
        expect_unmatched_callback(&page)?;
        ensure!(
            !page.answer.body.contains("evil.example"),
            "a forged error's description is not shown: {}",
            shorten(&page.answer.body)
        );
    }
    let real = browser.get(&answer).await?;
    ensure!(
        real.answer.status == 302 && real.set_cookie(SESSION).is_some(),
        "the login in progress survives forged error callbacks: {}",
        real.answer.status
    );
    Ok(Pass::new(
        "access_denied and login_required: 400 page naming the error, description escaped, no session; forged error callbacks (no or foreign state): fixed message, no cookie touched, the real login then completes",
    ))
}

/// C-06: neither code nor error.
pub async fn c06_neither_code_nor_error() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    let answer = issuer_answer(&web, &mut browser).await?;
    let code = query_of(&answer)?.get("code").cloned().unwrap_or_default();
    let stripped = replace_param(&answer, "code", None)?;
    let page = browser.get(&stripped).await?;
    ensure_eq!(page.answer.status, 400, "no code, no error");
    expect_failed_login(&page, "neither a code nor an error")?;
    ensure!(unredeemed(&web, &code), "nothing was redeemed");
    Ok(Pass::new("state and iss only: 400, no session"))
}

/// C-07: the `iss` parameter mismatched or absent.
pub async fn c07_issuer_parameter() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let metadata = web.flow.client().metadata().await.map_err(setup)?;
    ensure!(
        metadata.authorization_response_iss_parameter_supported,
        "the issuer advertises authorization_response_iss_parameter_supported"
    );
    for (what, iss, expected) in [
        ("mismatched", Some("http://evil.example"), "another issuer"),
        ("absent", None, "lacks the issuer identifier"),
    ] {
        let mut browser = Browser::new();
        let answer = issuer_answer(&web, &mut browser).await?;
        let code = query_of(&answer)?.get("code").cloned().unwrap_or_default();
        let page = browser.get(&replace_param(&answer, "iss", iss)?).await?;
        expect_failed_login(&page, expected)
            .map_err(|f| Failure::mismatch(format!("{what} iss: {f}")))?;
        ensure!(
            unredeemed(&web, &code),
            "{what} iss: the code was not redeemed"
        );
    }
    Ok(Pass::new(
        "mismatched and absent iss: 400 before any token request, no session",
    ))
}

/// C-08: the token endpoint answers `invalid_grant`.
pub async fn c08_token_error() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    let answer = issuer_answer(&web, &mut browser).await?;
    // The code expires at the issuer (its clock only) before the browser comes back.
    let lifetime = web.issuer.issuer.config().lifetimes.authorization_code;
    web.issuer.clock.advance(lifetime + 1);
    let page = browser.get(&answer).await?;
    expect_failed_login(&page, "invalid_grant")?;
    Ok(Pass::new(format!(
        "code expired at the issuer: {} page naming invalid_grant, no session cookie",
        page.answer.status
    )))
}

/// C-09: the ID token's nonce wrong or missing.
pub async fn c09_nonce_mismatch() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    for (what, nonce) in [
        ("another nonce", Some("attacker-chosen-nonce")),
        ("no nonce", None),
    ] {
        let mut browser = Browser::new();
        let (authorize, _) = start_login(&web, &mut browser).await?;
        let swapped = replace_param(&authorize, "nonce", nonce)?;
        let issued = browser.get(&swapped).await?;
        let callback = issued
            .location
            .ok_or_else(|| Failure::mismatch("the issuer did not redirect"))?;
        let page = browser.get(&callback).await?;
        expect_failed_login(&page, "nonce")
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
    }
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_none(),
        "nothing was cached from the discarded tokens"
    );
    log_in(&web, &mut Browser::new()).await?;
    Ok(Pass::new(
        "ID token with another nonce or none: login failed, no cookie, no cached user; the real nonce: logged in",
    ))
}

/// C-13: the UserInfo call.
pub async fn c13_userinfo_bearer_header() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    log_in(&web, &mut Browser::new()).await?;
    let cached = web
        .flow
        .auth()
        .cache()
        .get(ALICE)
        .await
        .ok_or_else(|| Failure::mismatch("UserInfo was fetched and cached at login"))?;
    ensure_eq!(
        cached.email(),
        Some("alice@example.com"),
        "the cached email"
    );
    let calls = web.issuer.issuer.requests_to(Endpoint::Userinfo);
    ensure!(!calls.is_empty(), "the issuer saw a UserInfo request");
    for call in &calls {
        ensure!(
            call.authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer ")),
            "UserInfo called with Authorization: Bearer, got {:?}",
            call.authorization
        );
        ensure!(
            call.query.get("access_token").is_none() && call.form.get("access_token").is_none(),
            "no token in the query or body: {call:?}"
        );
    }
    Ok(Pass::new(format!(
        "{} UserInfo request(s), each {} with Authorization: Bearer, no query or body token",
        calls.len(),
        calls[0].method
    )))
}

/// C-14: UserInfo answers 401.
pub async fn c14_userinfo_unauthorized() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let fresh = browser.get(&web.app("/protected-fresh")).await?;
    ensure_eq!(
        fresh.answer.status,
        200,
        "/protected-fresh while the token is good"
    );
    // The issuer's clock passes the token's expiry; the app's does not, so only UserInfo knows.
    let lifetime = web.issuer.issuer.config().lifetimes.access_token;
    web.issuer.clock.advance(lifetime + 1);
    let page = browser.get(&web.app("/protected-fresh")).await?;
    ensure_eq!(
        page.answer.status,
        302,
        "a 401 from UserInfo sends the browser to login"
    );
    ensure!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("/login?return_to=")),
        "to the login route: {:?}",
        page.location
    );
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_none(),
        "the cached UserInfo is dropped"
    );
    let ttl = oidc_forge_client::cache::MemoryUserInfoCache::DEFAULT_TTL.as_secs();
    ensure!(
        ttl <= lifetime,
        "the cache TTL ({ttl} s) is at most the token lifetime ({lifetime} s)"
    );
    Ok(Pass::new(format!(
        "UserInfo 401: 302 to login, cache entry dropped; cache TTL {ttl} s <= token lifetime {lifetime} s"
    )))
}

/// C-15: the session cookie.
pub async fn c15_session_cookie() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let pages = log_in(&web, &mut Browser::new()).await?;
    let callback = callback_page(&pages)?;
    let session = callback
        .set_cookie(SESSION)
        .ok_or_else(|| Failure::mismatch("the callback sets the session cookie"))?;
    for attribute in ["HttpOnly", "Path=/"] {
        ensure!(session.contains(attribute), "{attribute} in {session}");
    }
    ensure!(
        session.contains("SameSite=Lax") || session.contains("SameSite=Strict"),
        "SameSite Lax or Strict: {session}"
    );
    ensure!(!session.contains("Domain"), "no Domain: {session}");
    let value = session.split(';').next().unwrap_or_default();
    ensure!(
        !value.contains("eyJ"),
        "the token inside is encrypted, not readable: {}",
        shorten(value)
    );
    // With Secure cookies (production), the __Host- prefix.
    let secure = WebEnv::start_with(|_| {}, true).await?;
    let login = Browser::new().get(&secure.app("/login")).await?;
    let line = login
        .set_cookie(&format!("__Host-{TRANSACTION}"))
        .ok_or_else(|| Failure::mismatch("Secure mode uses __Host- cookies"))?;
    ensure!(
        line.contains("Secure") && line.contains("Path=/") && !line.contains("Domain"),
        "__Host- rules: {line}"
    );
    ensure_eq!(
        secure.flow.session_cookie_name(),
        "__Host-user_session",
        "the session cookie's name in Secure mode"
    );
    Ok(Pass::new(
        "HttpOnly, SameSite=Lax, Path=/, no Domain, encrypted; Secure mode: __Host- prefix and Secure",
    ))
}

/// C-16: state-changing routes authenticated by cookie.
pub async fn c16_csrf_defence() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let cross_site = [
        ("cross-site Origin", ("origin", "http://evil.example")),
        ("opaque Origin", ("origin", "null")),
        (
            "Sec-Fetch-Site: cross-site",
            ("sec-fetch-site", "cross-site"),
        ),
        ("Sec-Fetch-Site: same-site", ("sec-fetch-site", "same-site")),
    ];
    // A state-changing route the session cookie authenticates, and logout.
    let claim = web.app("/castles/claim");
    for (what, header) in cross_site {
        let page = browser
            .request(reqwest::Method::POST, &claim, &[header], None)
            .await?;
        ensure_eq!(page.answer.status, 403, "POST /castles/claim, {what}");
        ensure!(
            !page.answer.body.contains("Castle claimed"),
            "POST /castles/claim, {what}: the action did not run"
        );
    }
    let origin = web.url.clone();
    let same = browser
        .request(reqwest::Method::POST, &claim, &[("origin", &origin)], None)
        .await?;
    ensure_eq!(same.answer.status, 200, "same-origin POST /castles/claim");
    ensure!(
        same.answer.body.contains("Castle claimed"),
        "same-origin POST /castles/claim runs"
    );
    let logout = web.app("/logout");
    for (what, header) in cross_site {
        let page = browser
            .request(reqwest::Method::POST, &logout, &[header], None)
            .await?;
        ensure_eq!(page.answer.status, 403, "POST /logout, {what}");
        ensure!(
            page.answer.header_all("set-cookie").is_empty(),
            "POST /logout, {what}: nothing cleared"
        );
    }
    ensure!(browser.cookies.contains_key(SESSION), "still logged in");
    let same = browser
        .request(reqwest::Method::POST, &logout, &[("origin", &origin)], None)
        .await?;
    ensure_eq!(same.answer.status, 303, "same-origin logout");
    Ok(Pass::new(
        "POST /castles/claim and POST /logout cross-site (Origin other or null, Sec-Fetch-Site cross-site or same-site): 403, nothing done, session kept; same origin: 200 and 303",
    ))
}

/// C-17: a tampered or expired session cookie.
pub async fn c17_bad_session_cookie() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let session = browser
        .cookies
        .get(SESSION)
        .cloned()
        .ok_or_else(|| Failure::mismatch("no session cookie"))?;
    let mut flipped = session.clone().into_bytes();
    let at = flipped.len() / 2;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    browser
        .cookies
        .insert(SESSION.into(), String::from_utf8(flipped).map_err(setup)?);
    let tampered = browser.get(&web.app("/protected")).await?;
    ensure_eq!(tampered.answer.status, 302, "a tampered cookie");
    ensure!(
        tampered
            .location
            .as_deref()
            .is_some_and(|l| l.contains("/login?return_to=")),
        "to login: {:?}",
        tampered.location
    );
    browser.cookies.insert(SESSION.into(), session);
    ensure_eq!(
        browser.get(&web.app("/protected")).await?.answer.status,
        200,
        "the original cookie"
    );
    web.app_clock.advance(3 * 3600);
    let expired = browser.get(&web.app("/protected")).await?;
    ensure_eq!(expired.answer.status, 302, "an expired session");
    ensure!(
        expired
            .location
            .as_deref()
            .is_some_and(|l| l.contains("/login?return_to=")),
        "an expired session goes to login: {:?}",
        expired.location
    );
    // The optional-user home page: anonymous, or back to login; never a 500.
    let home = browser.get(&web.app("/")).await?;
    let anonymous = home.answer.status == 200 && home.answer.body.contains("anonymous");
    let to_login = home.answer.status == 302
        && home
            .location
            .as_deref()
            .is_some_and(|l| l.contains("/login"));
    ensure!(
        anonymous || to_login,
        "the home page with an expired session: anonymous or login, got {}: {}",
        home.answer.status,
        shorten(&home.answer.body)
    );
    Ok(Pass::new(format!(
        "bit-flipped cookie: 302 to login; after expiry: 302 to login, home page {}; never 500",
        if anonymous {
            "anonymous"
        } else {
            "302 to login"
        }
    )))
}

/// C-18: the post-login `return_to`.
pub async fn c18_return_to() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut landed = Vec::new();
    for (asked, landing) in [
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("javascript%3Aalert(1)", "/"),
        // Dot segments that resolve to `//evil.example` (judged after resolution).
        ("%2F.%2F%2Fevil.example", "/"),
        ("%2Fa%2F..%2F%2Fevil.example", "/"),
        ("%2F%252e%2F%2Fevil.example", "/"),
        ("%2F.%2F%5Cevil.example", "/"),
        ("%2Fa%2F..%2Fprotected", "/protected"),
        ("%2Fprotected%3Fa%3D1", "/protected?a=1"),
    ] {
        let mut browser = Browser::new();
        let pages = browser
            .follow(&web.app(&format!("/login?return_to={asked}")), 6)
            .await?;
        let last = pages.last().map(|p| p.url.clone()).unwrap_or_default();
        ensure_eq!(last, web.app(landing), "return_to={asked}");
        landed.push(format!("{asked} -> {landing}"));
    }
    Ok(Pass::new(landed.join("; ")))
}

/// C-19: the callback's response.
pub async fn c19_callback_response() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let pages = log_in(&web, &mut Browser::new()).await?;
    let callback = callback_page(&pages)?;
    ensure_eq!(
        callback.answer.header("referrer-policy"),
        "no-referrer",
        "Referrer-Policy"
    );
    let location = callback.location.clone().unwrap_or_default();
    ensure!(
        !location.contains("code=") && !location.contains("state="),
        "a clean URL without code or state: {location}"
    );
    ensure_eq!(
        location,
        web.app("/protected"),
        "back to the page asked for"
    );
    Ok(Pass::new(format!(
        "302 to {location}, Referrer-Policy: no-referrer"
    )))
}

/// C-21: discovery names another issuer.
pub async fn c21_discovery_issuer_mismatch() -> Outcome {
    // An issuer whose discovery document names another identifier than the URL it is at.
    let issuer = oidc_forge::MockIssuer::builder()
        .issuer_url("http://issuer.invalid")
        .start()
        .await
        .map_err(setup)?;
    let configured = format!("http://{}", issuer.local_addr());
    let (client, _) = crate::env::app_client(&configured)?;
    let error = match client.metadata().await {
        Ok(_) => {
            return Err(Failure::mismatch(
                "the client accepted a foreign issuer's discovery document",
            ));
        }
        Err(error) => error.to_string(),
    };
    let (listener, url) = crate::env::bind().await?;
    let settings = crate::apps::web::Settings {
        issuer: configured.clone(),
        client_id: crate::env::WEB_CLIENT.0.into(),
        client_secret: Some(crate::env::WEB_CLIENT.1.into()),
        app_url: url.clone(),
        secure_cookies: false,
        cookie_key: None,
    };
    let flow = crate::apps::web::flow(&settings, client).map_err(setup)?;
    crate::env::serve(listener, crate::apps::web::app(flow));
    let login = Browser::new().get(&format!("{url}/login")).await?;
    ensure!(
        login.answer.status >= 500 && login.location.is_none(),
        "no login against a mismatched issuer: got {} to {:?}",
        login.answer.status,
        login.location
    );
    // The twin: configured with the identifier the document names, the same document is accepted.
    let matching =
        oidc_forge_client::Client::builder("http://issuer.invalid", crate::env::WEB_CLIENT.0)
            .discovery_url(format!("{configured}/.well-known/openid-configuration"))
            .http_client(crate::http::client())
            .build()
            .map_err(setup)?;
    matching.metadata().await.map_err(|e| {
        Failure::mismatch(format!("the matching configuration is refused too: {e}"))
    })?;
    Ok(Pass::new(format!(
        "metadata refused ({}); /login answers {} without redirecting; the matching identifier is accepted",
        shorten(&error),
        login.answer.status
    )))
}

/// C-22: logout.
pub async fn c22_logout() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_some(),
        "the user is cached before logout"
    );
    let origin = web.url.clone();
    let logout = browser
        .request(
            reqwest::Method::POST,
            &web.app("/logout"),
            &[("origin", &origin)],
            None,
        )
        .await?;
    ensure_eq!(logout.answer.status, 303, "POST /logout");
    for name in [SESSION, "user_session_id"] {
        let line = logout
            .set_cookie(name)
            .ok_or_else(|| Failure::mismatch(format!("{name} is cleared")))?;
        ensure!(
            line.contains("Max-Age=0") && line.contains("Path=/"),
            "{name} cleared with the same name and path: {line}"
        );
    }
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_none(),
        "the cached UserInfo is purged"
    );
    let target = logout.location.clone().unwrap_or_default();
    let metadata = web.flow.client().metadata().await.map_err(setup)?;
    let end_session = metadata.end_session_endpoint.clone().unwrap_or_default();
    ensure!(
        !end_session.is_empty() && target.starts_with(&end_session),
        "to end_session_endpoint: {target}"
    );
    let query = query_of(&target)?;
    ensure!(query.contains_key("id_token_hint"), "id_token_hint sent");
    ensure!(query.contains_key("state"), "state sent");
    ensure_eq!(
        query.get("post_logout_redirect_uri").map(String::as_str),
        Some(web.app("/").as_str()),
        "the registered post_logout_redirect_uri"
    );
    let pages = browser.follow(&target, 3).await?;
    let home = pages.last().ok_or_else(|| Failure::setup("no page"))?;
    ensure_eq!(home.answer.status, 200, "back home after the issuer");
    ensure!(home.answer.body.contains("anonymous"), "signed out");
    for query in ["", "?state=foreign-state"] {
        let page = browser.get(&web.app(&format!("/{query}"))).await?;
        ensure_eq!(
            page.answer.status,
            200,
            "return with state {query:?} tolerated"
        );
    }
    Ok(Pass::new(
        "303 to end_session_endpoint with id_token_hint, registered post_logout_redirect_uri, state; cookies Max-Age=0 Path=/; cache purged; foreign or no state tolerated",
    ))
}

/// C-23: logout by a cross-site GET.
pub async fn c23_logout_requires_post() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let by_get = browser.get(&web.app("/logout")).await?;
    ensure_eq!(by_get.answer.status, 405, "GET /logout");
    let cross = browser
        .request(
            reqwest::Method::POST,
            &web.app("/logout"),
            &[("origin", "http://evil.example")],
            None,
        )
        .await?;
    ensure_eq!(cross.answer.status, 403, "cross-site POST /logout");
    ensure_eq!(
        browser.get(&web.app("/protected")).await?.answer.status,
        200,
        "still logged in"
    );
    Ok(Pass::new(
        "GET /logout: 405; cross-site POST: 403; session intact",
    ))
}

/// C-25: client authentication at the token endpoint.
pub async fn c25_client_secret_basic() -> Outcome {
    let basic = WebEnv::start(|config| {
        if let Some(web) = config.client_mut(crate::env::WEB_CLIENT.0) {
            web.token_endpoint_auth_method = Some(AuthMethod::ClientSecretBasic);
        }
    })
    .await?;
    log_in(&basic, &mut Browser::new()).await?;
    let calls = basic.issuer.issuer.requests_to(Endpoint::Token);
    let call = calls
        .first()
        .ok_or_else(|| Failure::mismatch("the issuer saw no token request"))?;
    ensure_eq!(
        call.authorization.as_deref(),
        Some("Basic forge-web:[redacted]"),
        "the token request's Authorization"
    );
    ensure!(
        call.form.get("client_secret").is_none(),
        "no client_secret in the body as well"
    );
    // The counter-proof: an issuer that insists on client_secret_post refuses what the client sends.
    let post = WebEnv::start(|config| {
        if let Some(web) = config.client_mut(crate::env::WEB_CLIENT.0) {
            web.token_endpoint_auth_method = Some(AuthMethod::ClientSecretPost);
        }
    })
    .await?;
    let mut browser = Browser::new();
    let answer = issuer_answer(&post, &mut browser).await?;
    let page = browser.get(&answer).await?;
    expect_failed_login(&page, "invalid_client")?;
    Ok(Pass::new(
        "token request with Authorization: Basic forge-web:…, no body secret; an issuer requiring client_secret_post refuses it",
    ))
}

/// Logs in a browser while the issuer's next token response carries `claims` in its ID token.
async fn log_in_with_id_claims(web: &WebEnv, claims: Value) -> Result<Page, Failure> {
    let mut browser = Browser::new();
    let answer = issuer_answer(web, &mut browser).await?;
    web.issuer
        .issuer
        .queue_claims_for(ClaimsTarget::IdToken, claims)
        .map_err(setup)?;
    browser.get(&answer).await
}

/// C-10: ID tokens with a wrong claim, delivered by the issuer's token endpoint.
pub async fn c10_id_token_validation() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let now = crate::env::NOW;
    let cases = [
        (
            "another issuer",
            json!({"iss": "https://issuer.attacker.invalid"}),
            "issuer",
        ),
        (
            "another audience",
            json!({"aud": ["another-client"]}),
            "audience",
        ),
        (
            "an untrusted second audience",
            json!({"aud": [crate::env::WEB_CLIENT.0, "https://untrusted.example"]}),
            "audience",
        ),
        (
            "azp another client",
            json!({"azp": "another-client"}),
            "azp",
        ),
        (
            "expired",
            json!({"exp": now - 3600, "iat": now - 7200}),
            "expired",
        ),
        ("issued in the future", json!({"iat": now + 3600}), "future"),
        ("sub null", json!({"sub": null}), "sub"),
        (
            "exp a string",
            json!({"exp": (now + 3600).to_string()}),
            "exp",
        ),
    ];
    for (what, claims, expected) in &cases {
        let page = log_in_with_id_claims(&web, claims.clone()).await?;
        expect_failed_login(&page, expected)
            .map_err(|f| Failure::mismatch(format!("ID token with {what}: {f}")))?;
    }
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_none(),
        "nothing cached from a refused login"
    );
    log_in(&web, &mut Browser::new()).await?;
    Ok(Pass::new(format!(
        "{}: login failed, no cookie; the unmodified response: logged in",
        cases.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
    )))
}

/// C-11: a wrong `at_hash`.
pub async fn c11_at_hash() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let page = log_in_with_id_claims(&web, json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"})).await?;
    expect_failed_login(&page, "at_hash")?;
    log_in(&web, &mut Browser::new()).await?;
    Ok(Pass::new(
        "ID token whose at_hash is another token's: login failed; the real at_hash: logged in",
    ))
}

/// C-12: UserInfo answering for another subject.
pub async fn c12_userinfo_sub_mismatch() -> Outcome {
    let issuer = crate::env::IssuerEnv::start(|_| {}).await?;
    let (client, _) = crate::env::app_client(issuer.iss())?;
    // A real access token of bob's: UserInfo answers with bob's sub.
    let token = issuer
        .issuer
        .mint()
        .access_token()
        .user(crate::env::BOB)
        .scopes(["openid", "email"])
        .sign()
        .map_err(setup)?;
    let bob = client
        .userinfo(&token, crate::env::BOB)
        .await
        .map_err(|e| Failure::mismatch(format!("the twin (expecting bob) is accepted, got {e}")))?;
    ensure_eq!(bob.sub(), crate::env::BOB, "the twin's sub");
    match client.userinfo(&token, ALICE).await {
        Err(oidc_forge_client::Error::UserInfoInvalid(why)) => Ok(Pass::new(format!(
            "UserInfo for bob while the ID token says alice: refused ({why}); expecting bob: accepted"
        ))),
        other => Err(Failure::mismatch(format!(
            "a UserInfo sub other than the ID token's must be refused, got {other:?}"
        ))),
    }
}

/// Tokens of a code flow with `offline_access`, through the client's own API over HTTP.
async fn tokens_with_refresh(
    issuer: &crate::env::IssuerEnv,
    client: &oidc_forge_client::Client,
) -> Result<oidc_forge_client::TokenResponse, Failure> {
    use oidc_forge_client::pkce::{PkceVerifier, generate_nonce};
    use oidc_forge_client::{AuthorizationRequest, CodeExchange};
    let (verifier, nonce) = (PkceVerifier::generate(), generate_nonce());
    let url = client
        .auth_url(
            &AuthorizationRequest::new(crate::env::REDIRECT_URI)
                .scope(["openid", "email", "offline_access"])
                .state("s")
                .nonce(&nonce)
                .pkce(&verifier),
        )
        .await
        .map_err(setup)?;
    let answer = crate::http::Answer::send(issuer.http.get(url.as_str())).await?;
    let code = answer
        .location_params()?
        .get("code")
        .cloned()
        .ok_or_else(|| Failure::setup("no code"))?;
    let (tokens, _) = client
        .auth_callback(
            CodeExchange::new(code, crate::env::REDIRECT_URI)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .map_err(setup)?;
    Ok(tokens)
}

/// C-20: a refreshed ID token with another `iss` or `sub`, through the two paths users take:
/// the web flow's `refresh_session` on a real browser session, and Fief's
/// `auth_refresh_token`, which takes the session's subject.
pub async fn c20_refresh_changes_subject() -> Outcome {
    let changes = [
        ("another sub", json!({"sub": crate::env::BOB})),
        (
            "another iss",
            json!({"iss": "https://issuer.attacker.invalid"}),
        ),
    ];
    // The web flow: the session's own cookies, the subject read from its ID token.
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let session = browser.cookie_headers()?;
    let refreshed = web.flow.refresh_session(&session).await.map_err(|e| {
        Failure::mismatch(format!(
            "the unmodified session refresh is accepted, got {e}"
        ))
    })?;
    ensure!(
        refreshed.get(SESSION).is_some(),
        "the refreshed session has its cookie"
    );
    for (what, changed) in &changes {
        // Each refresh rotates the token: start from a fresh session.
        let mut browser = Browser::new();
        log_in(&web, &mut browser).await?;
        web.issuer
            .issuer
            .queue_claims_for(ClaimsTarget::IdToken, changed.clone())
            .map_err(setup)?;
        match web.flow.refresh_session(&browser.cookie_headers()?).await {
            Err(oidc_forge_client::Error::IdTokenInvalid(_)) => {}
            other => {
                return Err(Failure::mismatch(format!(
                    "WebFlow::refresh_session: a refreshed ID token with {what} must be refused, got {:?}",
                    other.map(|_| "accepted")
                )));
            }
        }
    }
    // Fief's API, which takes the subject.
    let issuer = crate::env::IssuerEnv::start(|_| {}).await?;
    let (client, _) = crate::env::app_client(issuer.iss())?;
    let tokens = tokens_with_refresh(&issuer, &client).await?;
    let refresh_token = tokens.refresh_token.clone().unwrap_or_default();
    let (_, claims) = client
        .auth_refresh_token(&refresh_token, ALICE, None)
        .await
        .map_err(|e| Failure::mismatch(format!("the unmodified refresh is accepted, got {e}")))?;
    ensure!(claims.is_some(), "the refresh returns an ID token");
    for (what, changed) in changes {
        let tokens = tokens_with_refresh(&issuer, &client).await?;
        issuer
            .issuer
            .queue_claims_for(ClaimsTarget::IdToken, changed)
            .map_err(setup)?;
        let refresh_token = tokens.refresh_token.clone().unwrap_or_default();
        match client.auth_refresh_token(&refresh_token, ALICE, None).await {
            Err(oidc_forge_client::Error::IdTokenInvalid(_)) => {}
            other => {
                return Err(Failure::mismatch(format!(
                    "auth_refresh_token: a refreshed ID token with {what} must be refused, got {:?}",
                    other.map(|_| "accepted")
                )));
            }
        }
    }
    Ok(Pass::new(
        "refreshed ID token with another sub or iss: IdTokenInvalid through WebFlow::refresh_session and auth_refresh_token; unmodified: accepted",
    ))
}

/// C-26: token response variants an issuer may send.
pub async fn c26_token_response_variants() -> Outcome {
    let (listener, url, issuer) = WebEnv::prepare(|_| {}).await?;
    let proxy = crate::env::TokenRewriter::start(
        issuer.iss(),
        std::sync::Arc::new(|response| {
            response.insert("token_type".into(), "bEARER".into());
            response.remove("expires_in");
            response.remove("scope");
        }),
    )
    .await?;
    let clock = std::sync::Arc::new(oidc_forge_client::clock::FixedClock::new(crate::env::NOW));
    let client = oidc_forge_client::Client::builder(issuer.iss(), crate::env::WEB_CLIENT.0)
        .client_secret(crate::env::WEB_CLIENT.1)
        .discovery_url(&proxy.discovery_url)
        .clock(clock.clone() as std::sync::Arc<dyn oidc_forge_client::clock::Clock>)
        .http_client(crate::http::client())
        .build()
        .map_err(setup)?;
    let web = WebEnv::launch(listener, url, issuer, client, clock, false)?;
    log_in(&web, &mut Browser::new()).await?;
    ensure!(
        proxy.rewritten() >= 1,
        "the token response went through the rewrite"
    );
    Ok(Pass::new(format!(
        "{} token response(s) with token_type bEARER, no expires_in, no scope: logged in",
        proxy.rewritten()
    )))
}
