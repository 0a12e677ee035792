//! PKCE (RFC 7636 4.4-4.6; RFC 9700 2.1.1): S256, wrong or missing verifiers, downgrades,
//! refused methods and verifier syntax.

use crate::ensure_eq;
use crate::env::{CHALLENGE, IssuerEnv, REDIRECT_URI, VERIFIER, WEB_CLIENT, authorize_params};
use crate::scenario::{Failure, Outcome, Pass};

/// RFC 7636 4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`, for any string (the scenarios also
/// send malformed verifiers), computed here rather than by either side under test.
fn s256_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    crate::mint::b64(digest.as_ref())
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
    env.redeem_with(&code, Some(verifier.as_str()))
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
        env.redeem_with(&code, verifier)
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
    env.redeem_with(&code, None).await?.expect_status(200)?;
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
        env.redeem_with(&code, Some(verifier))
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
    env.redeem_with(&code, Some(&edge))
        .await?
        .expect_status(200)?;
    Ok(Pass::new(
        "matching challenge but 42/129 chars, `+`, space: 400 invalid_grant; 128 `~`: 200",
    ))
}
