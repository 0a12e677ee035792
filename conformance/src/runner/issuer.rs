//! Group A: the issuer's endpoints, called directly over HTTP on an in-process issuer with a
//! frozen clock. Each function is one catalogue row.

use oidc_forge::config::{ClientConfig, GrantType, LoginMode};
use oidc_forge::rules::pkce::s256_challenge;
use serde_json::Value;

use super::{audiences, claim_str, verify_with_jwks};
use crate::env::{
    ALICE, CHALLENGE, IssuerEnv, NOW, REDIRECT_URI, SPA_CLIENT, SPA_REDIRECT_URI, VERIFIER,
    WEB_CLIENT, authorize_params,
};
use crate::http::{Answer, Browser, shorten};
use crate::mint::{b64, decode_unverified};
use crate::scenario::{Failure, Outcome, Pass};
use crate::{ensure, ensure_eq};

/// The issuer's JWKS document.
async fn jwks(env: &IssuerEnv) -> Result<Value, Failure> {
    let answer = env.get("/.well-known/jwks.json").await?;
    answer.expect_status(200)?;
    answer.json()
}

/// The string member `name` of a token response.
fn member<'a>(response: &'a Value, name: &str) -> Result<&'a str, Failure> {
    response[name]
        .as_str()
        .ok_or_else(|| Failure::mismatch(format!("the token response has no `{name}`: {response}")))
}

/// A second confidential client with the same redirect URI, to test binding to the client.
fn other_client() -> ClientConfig {
    ClientConfig {
        id: "other-web".into(),
        name: None,
        secret: Some("other-web-secret".into()),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: Vec::new(),
        scopes: vec!["openid".into(), "email".into(), "offline_access".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        require_pkce: Some(true),
        allow_plain_pkce: false,
        audience: Vec::new(),
        permissions: Vec::new(),
        token_endpoint_auth_method: None,
        signing_alg: None,
        loopback_any_port: false,
        introspect_any_token: false,
        logout_url: None,
    }
}

/// the discovery document.
pub async fn a01_discovery() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let answer = env.get("/.well-known/openid-configuration").await?;
    answer.expect_status(200)?;
    ensure!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "discovery is JSON, got {:?}",
        answer.header("content-type")
    );
    let doc = answer.json()?;
    ensure_eq!(doc["issuer"].as_str(), Some(env.iss()), "`issuer`");
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        let url = doc[endpoint].as_str().unwrap_or_default();
        ensure!(
            url.starts_with(env.iss()),
            "`{endpoint}` present under the issuer, got {url:?}"
        );
    }
    let has = |member: &str, value: &str| {
        doc[member]
            .as_array()
            .is_some_and(|values| values.iter().any(|v| v == value))
    };
    ensure!(
        has("response_types_supported", "code"),
        "response_types_supported includes code: {}",
        doc["response_types_supported"]
    );
    ensure!(
        has("id_token_signing_alg_values_supported", "RS256"),
        "id_token_signing_alg_values_supported includes RS256: {}",
        doc["id_token_signing_alg_values_supported"]
    );
    ensure_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"]),
        "code_challenge_methods_supported"
    );
    // RFC 8414 3: the OAuth metadata document describes the same issuer.
    let oauth = env.get("/.well-known/oauth-authorization-server").await?;
    oauth.expect_status(200)?;
    ensure_eq!(
        oauth.json()?["issuer"].as_str(),
        Some(env.iss()),
        "RFC 8414 `issuer`"
    );
    Ok(Pass::new(
        "issuer = URL prefix; endpoints and jwks_uri under it; code, RS256, [S256]",
    ))
}

/// the JWKS.
pub async fn a02_jwks() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let answer = env.get("/.well-known/jwks.json").await?;
    answer.expect_status(200)?;
    let jwks = answer.json()?;
    let keys = jwks["keys"]
        .as_array()
        .ok_or_else(|| Failure::mismatch(format!("no `keys` array: {jwks}")))?;
    ensure!(!keys.is_empty(), "the JWKS publishes at least one key");
    let mut kids = std::collections::BTreeSet::new();
    for key in keys {
        let kid = key["kid"].as_str().unwrap_or_default();
        ensure!(
            !kid.is_empty() && kids.insert(kid.to_owned()),
            "every key has a unique kid: {key}"
        );
        ensure_eq!(key["use"].as_str(), Some("sig"), "`use` of {kid}");
        ensure!(key["alg"].is_string(), "`alg` of {kid} present: {key}");
        // RFC 7518 6.3.2 (RSA), 6.2.2 (EC), RFC 8037 2 (OKP), 6.4 (oct): private members.
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            ensure!(
                key.get(private).is_none(),
                "private member `{private}` published in {kid}"
            );
        }
    }
    Ok(Pass::new(format!(
        "{} keys, unique kids ({}), use=sig, alg set, no private members",
        keys.len(),
        kids.into_iter().collect::<Vec<_>>().join(", ")
    )))
}

/// the happy code flow.
pub async fn a03_happy_code_flow() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let answer = env.authorize(&authorize_params(&[])).await?;
    answer.expect_status(302)?;
    let params = answer.location_params()?;
    ensure!(
        answer.header("location").starts_with(REDIRECT_URI),
        "back to the redirect URI: {}",
        answer.header("location")
    );
    ensure_eq!(
        params.get("state").map(String::as_str),
        Some("state-1"),
        "state"
    );
    ensure_eq!(
        params.get("iss").map(String::as_str),
        Some(env.iss()),
        "iss (RFC 9207)"
    );
    let code = params
        .get("code")
        .ok_or_else(|| Failure::mismatch("no code"))?;
    let tokens = env.redeem(code).await?;
    tokens.expect_status(200)?;
    let tokens = tokens.json()?;
    let id_token = member(&tokens, "id_token")?;
    let jwks = jwks(&env).await?;
    let (header, claims) = verify_with_jwks(id_token, &jwks)?;
    ensure_eq!(
        claim_str(&header, "alg"),
        "RS256",
        "ID token alg (Core 15.1 default)"
    );
    ensure_eq!(claim_str(&claims, "iss"), env.iss(), "iss");
    ensure!(
        audiences(&claims).iter().any(|a| a == WEB_CLIENT.0),
        "aud contains the client id: {:?}",
        claims.get("aud")
    );
    ensure_eq!(claim_str(&claims, "sub"), ALICE, "sub");
    ensure_eq!(claim_str(&claims, "nonce"), "nonce-1", "nonce");
    let iat = claims.get("iat").and_then(Value::as_u64);
    let exp = claims.get("exp").and_then(Value::as_u64);
    ensure_eq!(iat, Some(NOW), "iat on the issuer's clock");
    ensure!(exp.is_some_and(|exp| exp > NOW), "exp after iat: {exp:?}");
    let userinfo = env.userinfo(member(&tokens, "access_token")?).await?;
    userinfo.expect_status(200)?;
    ensure_eq!(
        userinfo.json()?["sub"].as_str(),
        Some(ALICE),
        "UserInfo sub"
    );
    Ok(Pass::new(
        "302 code+state+iss; 200 tokens; ID token RS256 verifies, iss/aud/sub/nonce/iat/exp correct; UserInfo 200",
    ))
}

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

/// a code used twice, at once and 30 s later.
pub async fn a13_code_reuse() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let code = env.code(&authorize_params(&[])).await?;
    let first = env.redeem(&code).await?;
    first.expect_status(200)?;
    let first = first.json()?;
    let access = member(&first, "access_token")?.to_owned();
    let refresh = member(&first, "refresh_token")?.to_owned();
    env.userinfo(&access).await?.expect_status(200)?;
    // The grant goes on: a refresh issues AT2 and RT2, on the same grant.
    let refreshed = env.refresh(&refresh).await?;
    refreshed.expect_status(200)?;
    let refreshed = refreshed.json()?;
    let access2 = member(&refreshed, "access_token")?.to_owned();
    let refresh2 = member(&refreshed, "refresh_token")?.to_owned();
    env.userinfo(&access2).await?.expect_status(200)?;
    env.redeem(&code)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    // RFC 6749 4.1.2: "all tokens previously issued based on that authorization code", the
    // refreshed ones included.
    for (what, token) in [
        ("the first access token", &access),
        ("the refreshed access token", &access2),
    ] {
        let revoked = env.userinfo(token).await?;
        revoked.expect_status(401)?;
        ensure!(
            revoked
                .challenge()
                .is_some_and(|c| c.contains("invalid_token")),
            "{what} is revoked: {:?}",
            revoked.challenge()
        );
    }
    env.refresh(&refresh2)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;

    let later = env.code(&authorize_params(&[])).await?;
    env.redeem(&later).await?.expect_status(200)?;
    env.clock.advance(30);
    env.redeem(&later)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    Ok(Pass::new(
        "second use: 400 invalid_grant; AT1 and the refreshed AT2: 401; RT2: invalid_grant; again 30 s later: invalid_grant",
    ))
}

/// an expired code.
pub async fn a14_code_expired() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let lifetime = env.issuer.config().lifetimes.authorization_code;
    ensure!(
        lifetime <= 600,
        "code lifetime at most 10 minutes (RFC 6749 4.1.2), got {lifetime} s"
    );
    let fresh = env.code(&authorize_params(&[])).await?;
    let stale = env.code(&authorize_params(&[])).await?;
    env.clock.advance(lifetime - 1);
    env.redeem(&fresh).await?.expect_status(200)?;
    env.clock.advance(2);
    env.redeem(&stale)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    Ok(Pass::new(format!(
        "lifetime {lifetime} s; redeemed 1 s before: 200; 1 s after: 400 invalid_grant"
    )))
}

/// a code redeemed by another client.
pub async fn a15_code_bound_to_client() -> Outcome {
    let env = IssuerEnv::start(|config| config.clients.push(other_client())).await?;
    let code = env.code(&authorize_params(&[])).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    env.token(&form, Some(("other-web", "other-web-secret")))
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    let mut public = form.to_vec();
    public.push(("client_id", SPA_CLIENT));
    env.token(&public, None)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    env.redeem(&code).await?.expect_status(200)?;
    Ok(Pass::new(
        "another confidential client: 400 invalid_grant; a public client: invalid_grant; the owner: 200",
    ))
}

/// the token request's `redirect_uri` differs or is missing.
pub async fn a16_token_redirect_uri_mismatch() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let code = env.code(&authorize_params(&[])).await?;
    async fn redeem(
        env: &IssuerEnv,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<Answer, Failure> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        env.token(&form, Some(WEB_CLIENT)).await
    }
    redeem(&env, &code, Some("http://127.0.0.1:8000/auth-callback"))
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    redeem(&env, &code, None)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    redeem(&env, &code, Some(REDIRECT_URI))
        .await?
        .expect_status(200)?;
    Ok(Pass::new(
        "the other registered URI: 400 invalid_grant; none: invalid_grant; the same: 200",
    ))
}

/// wrong secret, unknown client, no client authentication.
pub async fn a17_client_authentication_failures() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let form = [("grant_type", "client_credentials"), ("scope", "read")];
    for (what, basic) in [
        ("wrong secret", ("forge-web", "wrong")),
        ("unknown client", ("nobody", "x")),
    ] {
        let answer = env.token(&form, Some(basic)).await?;
        answer
            .expect_oauth_error(401, "invalid_client")
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
        ensure!(
            answer
                .challenge()
                .is_some_and(|c| c.to_ascii_lowercase().starts_with("basic")),
            "{what}: a Basic challenge, as the header was used: {:?}",
            answer.challenge()
        );
    }
    let mut post = form.to_vec();
    post.extend([("client_id", "forge-web"), ("client_secret", "wrong")]);
    env.token(&post, None)
        .await?
        .expect_oauth_error(401, "invalid_client")?;
    env.token(&form, None)
        .await?
        .expect_oauth_error(401, "invalid_client")?;
    env.token(&form, Some(WEB_CLIENT))
        .await?
        .expect_status(200)?;
    Ok(Pass::new(
        "wrong secret / unknown client (Basic): 401 invalid_client + Basic challenge; wrong post secret and no auth: 401 invalid_client; right: 200",
    ))
}

/// two client authentication methods in one request.
pub async fn a18_two_auth_methods() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let both = [
        ("grant_type", "client_credentials"),
        ("scope", "read"),
        ("client_secret", WEB_CLIENT.1),
    ];
    env.token(&both, Some(WEB_CLIENT))
        .await?
        .expect_oauth_error(400, "invalid_request")?;
    env.token(&both[..2], Some(WEB_CLIENT))
        .await?
        .expect_status(200)?;
    Ok(Pass::new(
        "Basic + client_secret: 400 invalid_request; Basic alone: 200",
    ))
}

/// the password grant and unknown grant types.
pub async fn a19_unsupported_grant_type() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    for grant in ["password", "urn:example:unknown"] {
        env.token(
            &[
                ("grant_type", grant),
                ("username", "alice@example.com"),
                ("password", "x"),
            ],
            Some(WEB_CLIENT),
        )
        .await?
        .expect_oauth_error(400, "unsupported_grant_type")
        .map_err(|f| Failure::mismatch(format!("{grant}: {f}")))?;
    }
    Ok(Pass::new(
        "password and an unknown URN: 400 unsupported_grant_type",
    ))
}

/// a client not registered for the grant.
pub async fn a20_unauthorized_client() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    env.token(
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SPA_CLIENT),
        ],
        None,
    )
    .await?
    .expect_oauth_error(400, "unauthorized_client")?;
    env.token(&[("grant_type", "client_credentials")], Some(WEB_CLIENT))
        .await?
        .expect_status(200)?;
    Ok(Pass::new(
        "forge-spa client_credentials: 400 unauthorized_client; forge-web: 200",
    ))
}

/// Checks RFC 6749 5.1 on one successful token response.
fn check_token_response(what: &str, answer: &Answer) -> Result<(), Failure> {
    answer
        .expect_status(200)
        .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
    ensure_eq!(
        answer.header("cache-control"),
        "no-store",
        "{what}: Cache-Control"
    );
    ensure_eq!(answer.header("pragma"), "no-cache", "{what}: Pragma");
    ensure!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "{what}: JSON content type"
    );
    let body = answer.json()?;
    ensure!(
        body["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{what}: token_type Bearer: {body}"
    );
    ensure!(
        body["expires_in"].as_u64().is_some_and(|e| e > 0),
        "{what}: expires_in a positive number: {body}"
    );
    ensure!(body["access_token"].is_string(), "{what}: access_token");
    Ok(())
}

/// token responses.
pub async fn a21_token_response_headers() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let code = env.code(&authorize_params(&[])).await?;
    let by_code = env.redeem(&code).await?;
    check_token_response("authorization_code", &by_code)?;
    let refresh = member(&by_code.json()?, "refresh_token")?.to_owned();
    let refreshed = env.refresh(&refresh).await?;
    check_token_response("refresh_token", &refreshed)?;
    let machine = env
        .token(&[("grant_type", "client_credentials")], Some(WEB_CLIENT))
        .await?;
    check_token_response("client_credentials", &machine)?;
    Ok(Pass::new(
        "code, refresh and client_credentials: 200 JSON, Cache-Control no-store, Pragma no-cache, Bearer, expires_in",
    ))
}

/// PKCE S256 with the right verifier.
pub async fn a22_pkce_s256_succeeds() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let verifier = oidc_forge_client::pkce::PkceVerifier::generate();
    let code = env
        .code(&authorize_params(&[(
            "code_challenge",
            &verifier.challenge(),
        )]))
        .await?;
    env.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ],
        Some(WEB_CLIENT),
    )
    .await?
    .expect_status(200)?;
    // The RFC 7636 Appendix B pair, computed independently of the client's code.
    ensure_eq!(s256_challenge(VERIFIER), CHALLENGE, "RFC 7636 Appendix B");
    Ok(Pass::new("a fresh verifier and its S256 challenge: 200"))
}

/// wrong or missing verifier.
pub async fn a23_pkce_wrong_or_missing_verifier() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let wrong = VERIFIER.replace('d', "e");
    for (what, verifier) in [("wrong", Some(wrong.as_str())), ("missing", None)] {
        let code = env.code(&authorize_params(&[])).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        env.token(&form, Some(WEB_CLIENT))
            .await?
            .expect_oauth_error(400, "invalid_grant")
            .map_err(|f| Failure::mismatch(format!("{what} verifier: {f}")))?;
    }
    let code = env.code(&authorize_params(&[])).await?;
    env.redeem(&code).await?.expect_status(200)?;
    Ok(Pass::new(
        "wrong verifier: 400 invalid_grant; missing: invalid_grant; right: 200",
    ))
}

/// a verifier sent although no challenge was.
pub async fn a24_pkce_downgrade() -> Outcome {
    let env = IssuerEnv::start(|config| {
        if let Some(web) = config.client_mut(WEB_CLIENT.0) {
            web.require_pkce = Some(false);
        }
    })
    .await?;
    let no_challenge = [("code_challenge", ""), ("code_challenge_method", "")];
    let code = env.code(&authorize_params(&no_challenge)).await?;
    env.redeem(&code)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    let code = env.code(&authorize_params(&no_challenge)).await?;
    env.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ],
        Some(WEB_CLIENT),
    )
    .await?
    .expect_status(200)?;
    Ok(Pass::new(
        "no challenge, verifier sent: 400 invalid_grant; no challenge, no verifier: 200",
    ))
}

/// `plain`, or no challenge where one is required.
pub async fn a25_pkce_method_or_challenge_refused() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    for (what, changes) in [
        (
            "plain",
            vec![
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ],
        ),
        (
            "method absent (defaults to plain)",
            vec![("code_challenge_method", "")],
        ),
        (
            "challenge absent",
            vec![("code_challenge", ""), ("code_challenge_method", "")],
        ),
    ] {
        env.authorize(&authorize_params(&changes))
            .await?
            .expect_redirected_error(REDIRECT_URI, "invalid_request", Some("state-1"), env.iss())
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
    }
    Ok(Pass::new(
        "plain, absent method and absent challenge: 302 invalid_request+state",
    ))
}

/// malformed verifiers whose S256 challenge matches.
pub async fn a26_pkce_verifier_syntax() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let cases = [
        ("42 characters", "a".repeat(42)),
        ("129 characters", "a".repeat(129)),
        ("a `+`", format!("{}+", "a".repeat(42))),
        ("a space", format!("{} b", "a".repeat(42))),
    ];
    for (what, verifier) in &cases {
        let code = env
            .code(&authorize_params(&[(
                "code_challenge",
                &s256_challenge(verifier),
            )]))
            .await?;
        env.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
            Some(WEB_CLIENT),
        )
        .await?
        .expect_oauth_error(400, "invalid_grant")
        .map_err(|f| Failure::mismatch(format!("verifier with {what}: {f}")))?;
    }
    let edge = "~".repeat(128);
    let code = env
        .code(&authorize_params(&[(
            "code_challenge",
            &s256_challenge(&edge),
        )]))
        .await?;
    env.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &edge),
        ],
        Some(WEB_CLIENT),
    )
    .await?
    .expect_status(200)?;
    Ok(Pass::new(
        "matching challenge but 42/129 chars, `+`, space: 400 invalid_grant; 128 `~`: 200",
    ))
}

/// refresh tokens.
pub async fn a27_refresh_token() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let first = env.tokens(&[]).await?;
    let refresh = member(&first, "refresh_token")?.to_owned();
    let refreshed = env.refresh(&refresh).await?;
    refreshed.expect_status(200)?;
    let refreshed = refreshed.json()?;
    ensure!(
        member(&refreshed, "refresh_token")? != refresh,
        "the refresh token rotates"
    );
    let (_, original) = decode_unverified(member(&first, "id_token")?)
        .ok_or_else(|| Failure::mismatch("undecodable ID token"))?;
    let (_, renewed) = decode_unverified(member(&refreshed, "id_token")?)
        .ok_or_else(|| Failure::mismatch("undecodable refreshed ID token"))?;
    for claim in ["iss", "sub", "aud", "auth_time"] {
        ensure_eq!(
            renewed.get(claim),
            original.get(claim),
            "refreshed ID token `{claim}` (Core 12.2)"
        );
    }
    // Escalation: `read` was not granted at first.
    env.token(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", member(&refreshed, "refresh_token")?),
            ("scope", "openid email offline_access read"),
        ],
        Some(WEB_CLIENT),
    )
    .await?
    .expect_oauth_error(400, "invalid_scope")?;
    // forge-spa's refresh token presented by forge-web.
    let spa_code = env
        .code(&authorize_params(&[
            ("client_id", SPA_CLIENT),
            ("redirect_uri", SPA_REDIRECT_URI),
        ]))
        .await?;
    let spa = env
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &spa_code),
                ("redirect_uri", SPA_REDIRECT_URI),
                ("code_verifier", VERIFIER),
                ("client_id", SPA_CLIENT),
            ],
            None,
        )
        .await?;
    spa.expect_status(200)?;
    let spa_refresh = member(&spa.json()?, "refresh_token")?.to_owned();
    env.refresh(&spa_refresh)
        .await?
        .expect_oauth_error(400, "invalid_grant")?;
    env.token(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &spa_refresh),
            ("client_id", SPA_CLIENT),
        ],
        None,
    )
    .await?
    .expect_status(200)?;
    // RFC 6749 6: a refresh may ask for less ("narrow"), but "if a new refresh token is issued,
    // the refresh token scope MUST be identical to that of the refresh token included by the
    // client in the request": the rotated token still carries everything originally granted.
    let original = env.tokens(&[]).await?;
    let narrowed = env
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", member(&original, "refresh_token")?),
                ("scope", "openid offline_access"),
            ],
            Some(WEB_CLIENT),
        )
        .await?;
    narrowed.expect_status(200)?;
    let narrowed = narrowed.json()?;
    ensure_eq!(
        member(&narrowed, "scope")?,
        "openid offline_access",
        "the narrowed access token's scope"
    );
    let widened = env
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", member(&narrowed, "refresh_token")?),
                ("scope", "openid email offline_access"),
            ],
            Some(WEB_CLIENT),
        )
        .await?;
    ensure!(
        widened.status == 200,
        "after a narrowed refresh, the rotated refresh token must keep the original scope (RFC 6749 6: \"the refresh token scope MUST be identical to that of the refresh token included by the client in the request\"), so asking again for the originally granted `email` must succeed; got {}: {}",
        widened.status,
        shorten(&widened.body)
    );
    Ok(Pass::new(
        "200 with a rotated refresh token and an ID token keeping iss/sub/aud/auth_time; escalation: invalid_scope; another client's token: invalid_grant (its owner: 200); a narrowed refresh keeps the refresh token's scope",
    ))
}

/// UserInfo by GET, POST with the header, POST with the body; claims follow the scopes.
pub async fn a28_userinfo_methods_and_scopes() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let email = env.tokens(&[("scope", "openid email")]).await?;
    let token = member(&email, "access_token")?.to_owned();
    let url = env.url("/api/userinfo");
    let answers = [
        ("GET + header", env.userinfo(&token).await?),
        (
            "POST + header",
            Answer::send(env.http.post(&url).bearer_auth(&token)).await?,
        ),
        (
            "POST + body",
            Answer::send(
                env.http
                    .post(&url)
                    .form(&[("access_token", token.as_str())]),
            )
            .await?,
        ),
    ];
    for (what, answer) in &answers {
        answer
            .expect_status(200)
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
        ensure!(
            answer
                .header("content-type")
                .starts_with("application/json"),
            "{what}: JSON"
        );
        let body = answer.json()?;
        ensure_eq!(body["sub"].as_str(), Some(ALICE), "{what}: sub");
        ensure_eq!(
            body["email"].as_str(),
            Some("alice@example.com"),
            "{what}: email"
        );
        ensure!(
            body.get("name").is_none(),
            "{what}: no profile claim without `profile`: {body}"
        );
    }
    let profile = env.tokens(&[("scope", "openid profile")]).await?;
    let body = env
        .userinfo(member(&profile, "access_token")?)
        .await?
        .json()?;
    ensure_eq!(
        body["name"].as_str(),
        Some("Alice Liddell"),
        "profile: name"
    );
    ensure!(
        body.get("email").is_none(),
        "profile: no email without `email`: {body}"
    );
    Ok(Pass::new(
        "GET/POST header/POST body: 200 JSON with sub; `email` releases email only, `profile` name only",
    ))
}

/// UserInfo without a token.
pub async fn a29_userinfo_without_token() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let answer = env.get("/api/userinfo").await?;
    answer.expect_status(401)?;
    let challenge = answer
        .challenge()
        .ok_or_else(|| Failure::mismatch("401 without WWW-Authenticate"))?;
    ensure!(
        challenge.starts_with("Bearer"),
        "a Bearer challenge: {challenge}"
    );
    ensure!(
        !challenge.contains("error="),
        "no error code when no token was sent (RFC 6750 3.1): {challenge}"
    );
    Ok(Pass::new(format!("401, WWW-Authenticate: {challenge}")))
}

/// UserInfo with an expired, revoked or forged token.
pub async fn a30_userinfo_invalid_token() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let expect_invalid = |what: &'static str, answer: Answer| -> Result<(), Failure> {
        answer
            .expect_status(401)
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))?;
        ensure!(
            answer
                .challenge()
                .is_some_and(|c| c.starts_with("Bearer") && c.contains("error=\"invalid_token\"")),
            "{what}: error=\"invalid_token\": {:?}",
            answer.challenge()
        );
        Ok(())
    };
    // Forged: the payload changed after signing (bob's sub, alice's signature).
    let tokens = env.tokens(&[]).await?;
    let token = member(&tokens, "access_token")?.to_owned();
    env.userinfo(&token).await?.expect_status(200)?;
    let parts: Vec<&str> = token.split('.').collect();
    let (_, claims) =
        decode_unverified(&token).ok_or_else(|| Failure::mismatch("undecodable access token"))?;
    let mut claims = Value::Object(claims);
    claims["sub"] = crate::env::BOB.into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    expect_invalid("forged", env.userinfo(&forged).await?)?;
    // Revoked.
    env.post_form("/revoke", &[("token", &token)], Some(WEB_CLIENT))
        .await?
        .expect_status(200)?;
    expect_invalid("revoked", env.userinfo(&token).await?)?;
    // Expired.
    let tokens = env.tokens(&[]).await?;
    let token = member(&tokens, "access_token")?.to_owned();
    let lifetime = tokens["expires_in"].as_u64().unwrap_or(3600);
    env.clock.advance(lifetime);
    expect_invalid("expired", env.userinfo(&token).await?)?;
    Ok(Pass::new(
        "forged (payload swapped), revoked, expired: 401 error=\"invalid_token\"; the untouched token: 200",
    ))
}

/// UserInfo with a token lacking `openid`.
pub async fn a31_userinfo_insufficient_scope() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let machine = env
        .token(
            &[("grant_type", "client_credentials"), ("scope", "read")],
            Some(WEB_CLIENT),
        )
        .await?;
    machine.expect_status(200)?;
    let token = member(&machine.json()?, "access_token")?.to_owned();
    let answer = env.userinfo(&token).await?;
    answer.expect_status(403)?;
    let challenge = answer.challenge().unwrap_or_default();
    ensure!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"openid\""),
        "insufficient_scope naming openid: {challenge}"
    );
    Ok(Pass::new(format!("403, WWW-Authenticate: {challenge}")))
}

/// the token in both the header and the query.
pub async fn a32_token_in_two_places() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let tokens = env.tokens(&[]).await?;
    let token = member(&tokens, "access_token")?;
    let answer = Answer::send(
        env.http
            .get(env.url("/api/userinfo"))
            .query(&[("access_token", token)])
            .bearer_auth(token),
    )
    .await?;
    answer.expect_status(400)?;
    ensure!(
        answer
            .challenge()
            .is_some_and(|c| c.contains("error=\"invalid_request\"")),
        "invalid_request: {:?}",
        answer.challenge()
    );
    env.userinfo(token).await?.expect_status(200)?;
    Ok(Pass::new(
        "header + query: 400 invalid_request; header only: 200",
    ))
}

/// the JWT access token.
pub async fn a34_jwt_access_token() -> Outcome {
    const API: &str = "https://castles.example/api";
    let env = IssuerEnv::start(|config| {
        if let Some(web) = config.client_mut(WEB_CLIENT.0) {
            web.audience = vec![API.into()];
        }
    })
    .await?;
    let tokens = env.tokens(&[("scope", "openid read")]).await?;
    let jwks = jwks(&env).await?;
    let (header, claims) = verify_with_jwks(member(&tokens, "access_token")?, &jwks)?;
    ensure_eq!(claim_str(&header, "typ"), "at+jwt", "typ (RFC 9068 2.1)");
    ensure_eq!(claim_str(&claims, "iss"), env.iss(), "iss");
    ensure_eq!(audiences(&claims), vec![API.to_owned()], "aud = the API");
    ensure_eq!(claim_str(&claims, "client_id"), WEB_CLIENT.0, "client_id");
    ensure_eq!(claim_str(&claims, "sub"), ALICE, "sub");
    ensure_eq!(claim_str(&claims, "scope"), "openid read", "scope");
    ensure!(
        claims
            .get("exp")
            .and_then(Value::as_u64)
            .is_some_and(|e| e > NOW)
            && claims.get("iat").and_then(Value::as_u64) == Some(NOW),
        "exp after iat = now: {:?} {:?}",
        claims.get("exp"),
        claims.get("iat")
    );
    ensure!(!claim_str(&claims, "jti").is_empty(), "jti");
    ensure_eq!(
        claims.get("permissions"),
        Some(&serde_json::json!(["castles:read", "castles:write"])),
        "alice's permissions"
    );
    Ok(Pass::new(
        "typ at+jwt; iss, aud = the API, exp, iat, jti, sub, client_id, scope, permissions",
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

/// key rotation with a grace period, through the forge.
pub async fn a33_key_rotation() -> Outcome {
    let env = IssuerEnv::start(|_| {}).await?;
    let before = jwks(&env).await?;
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let old_token = member(&env.tokens(&[]).await?, "access_token")?.to_owned();
    let grace = 300;
    let report = env
        .issuer
        .rotate_keys(std::time::Duration::from_secs(grace))
        .map_err(crate::scenario::setup)?;
    let during = jwks(&env).await?;
    ensure!(
        kids(&during).contains(&report.signing_kid) && !kids(&before).contains(&report.signing_kid),
        "a new kid {} is published: {:?}",
        report.signing_kid,
        kids(&during)
    );
    ensure!(
        kids(&during).contains(&report.replaced_kid),
        "the old kid {} is kept during the grace period",
        report.replaced_kid
    );
    // New tokens are signed by the new key; the old key's token still works at the issuer.
    let new_token = member(&env.tokens(&[]).await?, "access_token")?.to_owned();
    let (header, _) = verify_with_jwks(&new_token, &during)?;
    ensure_eq!(
        claim_str(&header, "kid"),
        report.signing_kid.as_str(),
        "kid of a new token"
    );
    env.userinfo(&old_token).await?.expect_status(200)?;
    env.clock.advance(grace);
    let after = jwks(&env).await?;
    ensure!(
        !kids(&after).contains(&report.replaced_kid) && kids(&after).contains(&report.signing_kid),
        "after the grace period the old kid is gone: {:?}",
        kids(&after)
    );
    Ok(Pass::new(format!(
        "{} -> {}: both published for {grace} s (old tokens still accepted), then only {}",
        report.replaced_kid, report.signing_kid, report.signing_kid
    )))
}
