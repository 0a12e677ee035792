//! The token endpoint: code reuse and expiry, client binding, client authentication, grant
//! types and the response's headers (RFC 6749 4.1.3, 2.3, 5).

use crate::env::{IssuerEnv, REDIRECT_URI, SPA_CLIENT, VERIFIER, WEB_CLIENT, authorize_params};
use crate::http::Answer;
use crate::scenario::{Failure, Outcome, Pass};
use crate::{ensure, ensure_eq};

use super::*;

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
