//! What the tokens open: refresh (RFC 6749 6), UserInfo (Core 5.3; RFC 6750) and JWT access
//! tokens (RFC 9068).

use serde_json::Value;

use crate::env::{
    ALICE, IssuerEnv, NOW, SPA_CLIENT, SPA_REDIRECT_URI, VERIFIER, WEB_CLIENT, authorize_params,
};
use crate::http::{Answer, shorten};
use crate::mint::{b64, decode_unverified};
use crate::runner::{audiences, claim_str, verify_with_jwks};
use crate::scenario::{Failure, Outcome, Pass};
use crate::{ensure, ensure_eq};

use super::*;

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
