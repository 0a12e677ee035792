//! The authorization endpoint: errors, redirect URIs, scopes, parameters, the login page and
//! `prompt=none` (RFC 6749 4.1.2.1, 3.1.2; Core 3.1.2).

use oidc_forge::config::LoginMode;

use crate::env::{
    ALICE, IssuerEnv, REDIRECT_URI, SPA_CLIENT, SPA_REDIRECT_URI, WEB_CLIENT, authorize_params,
};
use crate::http::{Answer, Browser, shorten};
use crate::mint::decode_unverified;
use crate::runner::claim_str;
use crate::scenario::{Failure, Outcome, Pass};
use crate::{ensure, ensure_eq};

use super::*;

/// `response_type` missing (or unsupported).
pub async fn a04_response_type_missing() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let missing = env
        .authorize(&authorize_params(&[("response_type", "")]))
        .await?;
    missing.expect_redirected_error(REDIRECT_URI, "invalid_request", Some("state-1"), env.iss())?;
    let token = env
        .authorize(&authorize_params(&[("response_type", "token")]))
        .await?;
    token.expect_redirected_error(
        REDIRECT_URI,
        "unsupported_response_type",
        Some("state-1"),
        env.iss(),
    )?;
    env.code(&authorize_params(&[])).await?;
    Ok(Pass::new(
        "missing: 302 invalid_request+state+iss, no code; `token`: unsupported_response_type; `code`: a code",
    ))
}

/// unknown client, unregistered or altered redirect URIs.
pub async fn a05_untrusted_client_or_redirect_uri() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let cases: [(&str, Vec<(String, String)>); 5] = [
        (
            "unknown client_id",
            authorize_params(&[("client_id", "nobody")]),
        ),
        (
            "unregistered redirect_uri",
            authorize_params(&[("redirect_uri", "https://evil.example/cb")]),
        ),
        (
            "query added",
            authorize_params(&[("redirect_uri", "http://localhost:8000/auth-callback?x=1")]),
        ),
        (
            "path mismatch",
            authorize_params(&[("redirect_uri", "http://localhost:8000/auth-callback/")]),
        ),
        (
            "host suffix",
            authorize_params(&[("redirect_uri", "http://localhost:8000.evil/auth-callback")]),
        ),
    ];
    for (what, params) in cases {
        let answer = env.authorize(&params).await?;
        let expected = if what == "unknown client_id" {
            "invalid_client"
        } else {
            "invalid_request"
        };
        answer
            .expect_error_page(expected)
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
    }
    env.code(&authorize_params(&[])).await?;
    Ok(Pass::new(
        "400 HTML error page, no Location, for an unknown client and 4 redirect URI variants; exact URI: 302",
    ))
}

/// `redirect_uri` omitted while two are registered.
pub async fn a06_redirect_uri_omitted() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let registered = env
        .issuer
        .config()
        .client(WEB_CLIENT.0)
        .map(|c| c.redirect_uris.len());
    ensure_eq!(registered, Some(2), "forge-web registers two redirect URIs");
    let answer = env
        .authorize(&authorize_params(&[("redirect_uri", "")]))
        .await?;
    answer.expect_error_page("redirect_uri")?;
    env.code(&authorize_params(&[])).await?;
    Ok(Pass::new(
        "400 error page naming redirect_uri; with it: a code",
    ))
}

/// unknown scope, or a scope the client may not request.
pub async fn a07_scope_not_allowed() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let unknown = env
        .authorize(&authorize_params(&[("scope", "openid admin")]))
        .await?;
    unknown.expect_redirected_error(REDIRECT_URI, "invalid_scope", Some("state-1"), env.iss())?;
    let spa = |scope: &str| {
        authorize_params(&[
            ("client_id", SPA_CLIENT),
            ("redirect_uri", SPA_REDIRECT_URI),
            ("scope", scope),
        ])
    };
    let forbidden = env.authorize(&spa("openid write")).await?;
    forbidden.expect_redirected_error(
        SPA_REDIRECT_URI,
        "invalid_scope",
        Some("state-1"),
        env.iss(),
    )?;
    env.code(&spa("openid read")).await?;
    Ok(Pass::new(
        "`admin`: 302 invalid_scope+state; forge-spa asking `write`: invalid_scope; `read`: a code",
    ))
}

/// an unknown parameter, reordered scopes and parameters.
pub async fn a08_unknown_parameter_and_order() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let mut params = authorize_params(&[
        ("scope", "offline_access email openid"),
        ("x-unknown", "ignored"),
    ]);
    params.reverse();
    let code = env.code(&params).await?;
    let tokens = env.redeem(&code).await?;
    tokens.expect_status(200)?;
    let tokens = tokens.json()?;
    let mut granted: Vec<&str> = member(&tokens, "scope")?.split(' ').collect();
    granted.sort_unstable();
    ensure_eq!(
        granted,
        vec!["email", "offline_access", "openid"],
        "granted scopes"
    );
    Ok(Pass::new(
        "reversed parameters, reordered scopes and x-unknown: a code, then tokens for all three scopes",
    ))
}

/// a parameter sent twice.
pub async fn a09_duplicated_parameter() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let mut params = authorize_params(&[]);
    params.push(("state".into(), "state-2".into()));
    let answer = env.authorize(&params).await?;
    // Which state would be the right one to echo is ambiguous, so none is echoed.
    answer.expect_redirected_error(REDIRECT_URI, "invalid_request", None, env.iss())?;
    let mut params = authorize_params(&[]);
    params.push(("nonce".into(), "nonce-2".into()));
    let answer = env.authorize(&params).await?;
    answer.expect_redirected_error(REDIRECT_URI, "invalid_request", Some("state-1"), env.iss())?;
    Ok(Pass::new(
        "state twice: 302 invalid_request (no state echoed); nonce twice: invalid_request+state",
    ))
}

/// The interaction id of the interactive login page.
/// The hidden field `name` of the login page's form.
fn form_field(page: &Answer, name: &str) -> Result<String, Failure> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .body
        .find(&marker)
        .map(|i| i + marker.len())
        .ok_or_else(|| {
            Failure::mismatch(format!(
                "no {name} in the login form: {}",
                shorten(&page.body)
            ))
        })?;
    let end = page.body[start..]
        .find('"')
        .ok_or_else(|| Failure::mismatch(format!("unterminated {name}")))?;
    Ok(page.body[start..start + end].to_owned())
}

/// Opens the interactive login page in `browser` (which keeps its binding cookie) and answers
/// it with `choice`, as its form would.
async fn answer_login_page(
    env: &IssuerEnv,
    browser: &mut Browser,
    choice: (&str, &str),
) -> Result<Answer, Failure> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(authorize_params(&[]))
        .finish();
    let page = browser
        .get(&env.url(&format!("/authorize?{query}")))
        .await?;
    page.answer.expect_status(200)?;
    let interaction = form_field(&page.answer, "interaction")?;
    let form_token = form_field(&page.answer, "form_token")?;
    let origin = env.iss().to_owned();
    let answer = browser
        .request(
            reqwest::Method::POST,
            &env.url("/authorize/decision"),
            &[("origin", &origin)],
            Some(&[
                ("interaction", &interaction),
                ("form_token", &form_token),
                choice,
            ]),
        )
        .await?;
    Ok(answer.answer)
}

/// the user denies consent.
pub async fn a10_user_denies() -> Outcome {
    let env = IssuerEnv::start(|config| config.login.mode = LoginMode::Interactive).await?;
    let denied = answer_login_page(&env, &mut Browser::new(), ("deny", "1")).await?;
    denied.expect_redirected_error(REDIRECT_URI, "access_denied", Some("state-1"), env.iss())?;
    let accepted = answer_login_page(&env, &mut Browser::new(), ("user", ALICE)).await?;
    accepted.expect_status(302)?;
    ensure!(
        accepted.location_params()?.contains_key("code"),
        "choosing a user yields a code"
    );
    Ok(Pass::new(
        "Deny: 302 access_denied+state+iss, no code; choosing alice: a code",
    ))
}

/// `prompt=none` without a session.
pub async fn a11_prompt_none_without_session() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let answer = env
        .authorize(&authorize_params(&[("prompt", "none")]))
        .await?;
    answer.expect_redirected_error(REDIRECT_URI, "login_required", Some("state-1"), env.iss())?;
    // With the session a first login left, the same request succeeds silently.
    let first = env.authorize(&authorize_params(&[])).await?;
    let cookie = first
        .header_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("oidc_forge_session="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .ok_or_else(|| Failure::mismatch("the first login sets a session cookie"))?;
    let silent = env
        .authorize_with_cookie(&authorize_params(&[("prompt", "none")]), Some(&cookie))
        .await?;
    silent.expect_status(302)?;
    ensure!(
        silent.location_params()?.contains_key("code"),
        "prompt=none with a session yields a code"
    );
    Ok(Pass::new(
        "no session: 302 login_required+state; with the session cookie: a code",
    ))
}

/// a code flow without a nonce, and with one.
pub async fn a12_nonce_optional_in_code_flow() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let without = env.tokens(&[("nonce", "")]).await?;
    let (_, claims) = decode_unverified(member(&without, "id_token")?)
        .ok_or_else(|| Failure::mismatch("undecodable ID token"))?;
    ensure!(
        !claims.contains_key("nonce"),
        "no nonce claim when none was sent"
    );
    let with = env.tokens(&[("nonce", "n-0S6_WzA2Mj")]).await?;
    let (_, claims) = decode_unverified(member(&with, "id_token")?)
        .ok_or_else(|| Failure::mismatch("undecodable ID token"))?;
    ensure_eq!(claim_str(&claims, "nonce"), "n-0S6_WzA2Mj", "echoed nonce");
    Ok(Pass::new(
        "without nonce: ID token without nonce; with: echoed exactly",
    ))
}

/// pages of the authorization endpoint cannot be framed.
pub async fn a35_authorization_pages_not_framed() -> Outcome {
    let env = IssuerEnv::start(|config| config.login.mode = LoginMode::Interactive).await?;
    let login = env.authorize(&authorize_params(&[])).await?;
    login.expect_status(200)?;
    let error = env
        .authorize(&authorize_params(&[("client_id", "nobody")]))
        .await?;
    error.expect_error_page("invalid_client")?;
    for (what, page) in [("login page", &login), ("error page", &error)] {
        let xfo = page.header("x-frame-options");
        let csp = page.header("content-security-policy");
        ensure!(
            xfo.eq_ignore_ascii_case("deny") || csp.contains("frame-ancestors 'none'"),
            "{what}: X-Frame-Options DENY or CSP frame-ancestors 'none', got {xfo:?} / {csp:?}"
        );
        ensure!(
            xfo.eq_ignore_ascii_case("deny") && csp.contains("frame-ancestors 'none'"),
            "{what}: both headers, for old and new browsers: {xfo:?} / {csp:?}"
        );
    }
    Ok(Pass::new(
        "login and error pages: X-Frame-Options DENY and CSP frame-ancestors 'none'",
    ))
}
