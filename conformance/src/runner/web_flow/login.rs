//! The login redirect and the callback: transaction storage, `state`, replay, errors, `iss`
//! (RFC 6749 4.1, 10.12; RFC 9207; RFC 9700 4.7), the token error, the nonce, discovery's
//! issuer, client authentication and the token response.

use oidc_forge::Endpoint;
use oidc_forge::config::AuthMethod;
use oidc_forge::forge::token_response::ResponseEdit;

use crate::env::{ALICE, WebEnv};
use crate::http::{Browser, query_of, shorten};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::{ensure, ensure_eq};

use super::*;

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

/// C-26: token response variants an issuer may send.
pub async fn c26_token_response_variants() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    // RFC 6749 5.1 and 7.1: `token_type` is case-insensitive; `expires_in` and `scope` may be
    // left out (the scope is then the one requested).
    let edit = ResponseEdit::Members {
        set: serde_json::Map::from_iter([("token_type".to_owned(), "bEARER".into())]),
        remove: vec!["expires_in".into(), "scope".into()],
    };
    web.issuer
        .issuer
        .edit_next_token_response(vec![edit])
        .map_err(setup)?;
    log_in(&web, &mut Browser::new()).await?;
    ensure!(
        web.issuer.issuer.token_response_edits_waiting() == 0,
        "the login's token response was the edited one"
    );
    Ok(Pass::new(
        "a token response with token_type bEARER, no expires_in, no scope: logged in",
    ))
}
