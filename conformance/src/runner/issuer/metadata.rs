//! Discovery, the JWKS, the whole code flow and key rotation (Discovery 3-4, RFC 7517, Core 3.1,
//! 10.1.1).

use serde_json::Value;

use crate::env::{ALICE, IssuerEnv, NOW, REDIRECT_URI, WEB_CLIENT, authorize_params};
use crate::runner::{audiences, claim_str, verify_with_jwks};
use crate::scenario::{Failure, Outcome, Pass};
use crate::{ensure, ensure_eq};

use super::*;

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
