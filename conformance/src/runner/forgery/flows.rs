//! Attacks on the browser flow (code injection, login CSRF, a stolen code, redirect URI tricks)
//! and on the issuer's configuration (a weak HMAC secret): RFC 9700 4.1, 4.5, 4.7; RFC 7636.

use crate::env::{IssuerEnv, VERIFIER, WebEnv, authorize_params};
use crate::http::{Browser, query_of, shorten};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::{ensure, ensure_eq};

/// The attacker's browser with a login of its own in progress, and that login's callback URL
/// (code and state), which the issuer redirected it to and which it has not followed.
async fn attacker_callback(web: &WebEnv) -> Result<(Browser, String), Failure> {
    let mut attacker = Browser::new();
    let login = attacker.get(&web.app("/login")).await?;
    let issued = attacker
        .get(login.location.as_deref().unwrap_or_default())
        .await?;
    let callback = issued
        .location
        .ok_or_else(|| Failure::setup("no answer for the attacker"))?;
    Ok((attacker, callback))
}

/// D-25: an authorization code injected into the victim's callback.
pub async fn d25_code_injection() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    // The attacker obtains a code for their own login (their own PKCE verifier and nonce).
    let (_, callback) = attacker_callback(&web).await?;
    let attacker_code = query_of(&callback)?
        .get("code")
        .cloned()
        .ok_or_else(|| Failure::setup("no code for the attacker"))?;
    // The victim starts a login; the attacker's code is injected with the victim's state.
    let mut victim = Browser::new();
    let login = victim.get(&web.app("/login")).await?;
    let victim_query = query_of(login.location.as_deref().unwrap_or_default())?;
    let state = victim_query.get("state").cloned().unwrap_or_default();
    let iss = url::form_urlencoded::byte_serialize(web.issuer.iss().as_bytes()).collect::<String>();
    let page = victim
        .get(&web.app(&format!(
            "/auth-callback?code={attacker_code}&state={state}&iss={iss}"
        )))
        .await?;
    ensure!(
        (400..600).contains(&page.answer.status) && page.set_cookie("user_session").is_none(),
        "the injected code logs nobody in: {} {}",
        page.answer.status,
        shorten(&page.answer.body)
    );
    ensure!(
        page.answer.body.contains("invalid_grant"),
        "the issuer refused it (PKCE verifier mismatch): {}",
        shorten(&page.answer.body)
    );
    Ok(Pass::new(format!(
        "the attacker's code with the victim's state: {}, invalid_grant (PKCE), no session",
        page.answer.status
    )))
}

/// D-26: login CSRF.
pub async fn d26_login_csrf() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let (mut attacker, callback) = attacker_callback(&web).await?;
    // The victim's browser follows the attacker's link: without a transaction of its own.
    let mut victim = Browser::new();
    let page = victim.get(&callback).await?;
    ensure!(
        page.answer.status == 400 && page.set_cookie("user_session").is_none(),
        "no login from a foreign callback: {} {}",
        page.answer.status,
        shorten(&page.answer.body)
    );
    // With a login of its own in progress: the state does not match, and the victim's own
    // login is not cancelled by it.
    let mut busy = Browser::new();
    let own_login = busy.get(&web.app("/login")).await?;
    let page = busy.get(&callback).await?;
    crate::runner::web_flow::expect_unmatched_callback(&page)
        .map_err(|f| Failure::mismatch(format!("a foreign state is refused: {f}")))?;
    let own_answer = busy
        .get(own_login.location.as_deref().unwrap_or_default())
        .await?;
    let own_callback = busy
        .get(own_answer.location.as_deref().unwrap_or_default())
        .await?;
    ensure!(
        own_callback.answer.status == 302 && own_callback.set_cookie("user_session").is_some(),
        "the victim's own login still completes: {} {}",
        own_callback.answer.status,
        shorten(&own_callback.answer.body)
    );
    // The attacker's own browser would have completed it: the twin.
    let own = attacker.get(&callback).await?;
    ensure_eq!(own.answer.status, 302, "the attacker's own callback");
    Ok(Pass::new(
        "the attacker's callback in a fresh victim browser: 400; with a login in progress: 400, fixed message, no cookie touched, the victim's own login then completes; in the attacker's browser: 302",
    ))
}

/// D-27: a stolen code redeemed without the verifier.
pub async fn d27_stolen_code_without_verifier() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let code = env.code(&authorize_params(&[])).await?;
    env.redeem_with(&code, None)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    let code = env.code(&authorize_params(&[])).await?;
    env.redeem_with(&code, Some(VERIFIER))
        .await?
        .expect_status(200)?;
    Ok(Pass::new("no verifier: 400 invalid_grant; with it: 200"))
}

/// D-28: `redirect_uri` tricks.
pub async fn d28_redirect_uri_tricks() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let tricks = [
        "http://localhost:8000.evil.example/auth-callback",
        "http://localhost:8000/auth-callback/../x",
        "http://localhost:8000/x/../auth-callback",
        "http://localhost:8000/auth-callback?next=https://evil.example",
        "http://localhost:8000/auth-callback#frag",
        "http://LOCALHOST:8000/auth-callback",
        "http://localhost:8000@evil.example/auth-callback",
        "http://localhost:8000/auth-callback%2F..%2Fx",
        "https://localhost:8000/auth-callback",
    ];
    for uri in tricks {
        env.authorize(&authorize_params(&[("redirect_uri", uri)]))
            .await?
            .expect_error_page("invalid_request")
            .map_err(|f| Failure::mismatch(format!("{uri}: {f}")))?;
    }
    env.code(&authorize_params(&[])).await?;
    Ok(Pass::new(format!(
        "{} variants: 400 error page, no redirect; the registered URI: a code",
        tricks.len()
    )))
}

/// D-29: a weak HMAC secret in the issuer's configuration.
pub async fn d29_weak_hmac_secret() -> Outcome {
    let text = format!(
        "{}\n[[keys]]\nkid = \"weak\"\nalg = \"HS256\"\npem = \"secret\"\n",
        oidc_forge::config::DEFAULT_CONFIG_TOML
    );
    let error = match oidc_forge::Config::from_toml_str(&text, "weak.toml") {
        Ok(_) => return Err(Failure::mismatch("the issuer accepted an HS256 key")),
        Err(error) => error.to_string(),
    };
    ensure!(
        error.contains("keys[0].alg") && error.contains("HS256"),
        "the error names the key and the algorithm: {error}"
    );
    // The twin: the same key entry with an RSA algorithm and a real PEM parses.
    let good = format!(
        "{}\n[[keys]]\nkid = \"rsa\"\nalg = \"RS256\"\npem = '''\n{}'''\n",
        oidc_forge::config::DEFAULT_CONFIG_TOML,
        oidc_forge::forge::mint::ATTACKER_PEM
    );
    let config = oidc_forge::Config::from_toml_str(&good, "good.toml").map_err(setup)?;
    oidc_forge::MockIssuer::start(config)
        .await
        .map_err(setup)?
        .shutdown()
        .await;
    Ok(Pass::new(format!(
        "HS256 key refused at load ({}); an RS256 key in the same place starts",
        shorten(&error)
    )))
}
