//! The session the app keeps: its cookie, CSRF defence, a bad cookie, `return_to`, and logout
//! (RFC 6265bis; RFC 9700 4.11; RP-Initiated Logout 1.0).

use crate::env::{ALICE, WebEnv};
use crate::http::{Browser, query_of, shorten};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::{ensure, ensure_eq};

use super::*;

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
    ensure!(browser.cookies().contains(SESSION), "still logged in");
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
        .cookies()
        .get(SESSION)
        .map(str::to_owned)
        .ok_or_else(|| Failure::mismatch("no session cookie"))?;
    let mut flipped = session.clone().into_bytes();
    let at = flipped.len() / 2;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    browser
        .cookies_mut()
        .insert(SESSION, String::from_utf8(flipped).map_err(setup)?);
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
    browser.cookies_mut().insert(SESSION, session);
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
