//! `alg: none`, RS256-to-HS256 key confusion, other algorithms, stripped and tampered
//! signatures, and the key-algorithm binding (RFC 8725 2.1, 3.1-3.2; RFC 7515 5.2).

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::ensure;
use crate::env::{self, WEB_CLIENT};
use crate::mint::{Signer, b64, with};
use crate::runner::api_flow::{all_rejected, expect_invalid_token, forge_cases};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::target::ApiTarget;
use oidc_forge::forge::mint::{Mutation, NoneSpelling, PublicKeyForm};

use super::*;

/// D-01: `alg: none` with an empty signature.
pub async fn d01_alg_none(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (_, claims) = parts(&target, route);
    let payload = b64(claims.to_string().as_bytes());
    let unsigned = |header: Value| format!("{}.{payload}.", b64(header.to_string().as_bytes()));
    let mut tokens = vec![
        (
            "alg none, empty signature".to_owned(),
            unsigned(json!({"alg": "none", "typ": "at+jwt"})),
        ),
        (
            "alg none with the issuer's kid".to_owned(),
            unsigned(json!({"alg": "none", "typ": "at+jwt", "kid": target.mint.kid()})),
        ),
    ];
    tokens.extend(forge_cases(
        &target,
        route,
        vec![Mutation::AlgNone(NoneSpelling::Lower)],
    )?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
}

/// D-02: `None`, `NONE`, `nOnE`.
pub async fn d02_alg_none_case_variants(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (_, claims) = parts(&target, route);
    let payload = b64(claims.to_string().as_bytes());
    let mut tokens = Vec::new();
    for alg in ["None", "NONE", "nOnE", "none "] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": target.mint.kid()});
        // A junk signature, so only the algorithm check can refuse it.
        tokens.push((
            format!("alg {alg:?}"),
            format!(
                "{}.{payload}.c2lnbmF0dXJl",
                b64(header.to_string().as_bytes())
            ),
        ));
    }
    tokens.extend(forge_cases(
        &target,
        route,
        vec![
            Mutation::AlgNone(NoneSpelling::Capitalised),
            Mutation::AlgNone(NoneSpelling::Upper),
            Mutation::AlgNone(NoneSpelling::Mixed),
        ],
    )?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
}

/// D-03: HS256 keyed with the issuer's RSA public key.
pub async fn d03_key_confusion(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let header = with(header, &[("alg", json!("HS256"))]).to_string();
    let claims = claims.to_string();
    let jwk = target.mint.public_jwk().clone();
    let n = jwk["n"].as_str().unwrap_or_default().to_owned();
    let (der, pem) = target
        .mint
        .public_key_der_and_pem()
        .ok_or_else(|| Failure::setup("the issuer's key is not RSA"))?;
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("the PEM public key", pem.into_bytes()),
        ("the DER public key", der),
        ("the JWK `n`", n.into_bytes()),
        ("the JWK as JSON", jwk.to_string().into_bytes()),
    ];
    let mut tokens = Vec::new();
    for (what, secret) in &secrets {
        tokens.push((
            format!("HS256 keyed with {what}"),
            target.mint.sign_hs256(&header, &claims, secret)?,
        ));
    }
    tokens.extend(forge_cases(
        &target,
        route,
        PublicKeyForm::ALL
            .into_iter()
            .map(Mutation::KeyConfusion)
            .collect(),
    )?);
    all_rejected(&target, route, &tokens).await?;
    let Some(binding) = key_binding_refuses_hs256(&target, &tokens).await? else {
        return Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))));
    };
    Ok(Pass::new(format!(
        "{}: 401 invalid_token; {binding}",
        names(&tokens)
    )))
}

/// Every asymmetric algorithm the client supports: the widest allowlist it accepts.
pub const WIDEST_ALLOWLIST: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// D-03 past the allowlist, for the in-process client: no allowlist may hold an HMAC algorithm,
/// the widest one still refuses every token, and the key/algorithm binding itself refuses HS256
/// with the issuer's RSA key when the allowlist is bypassed.
async fn key_binding_refuses_hs256(
    target: &ApiTarget,
    tokens: &[(String, String)],
) -> Result<Option<String>, Failure> {
    use oidc_forge_client::validate;
    let Some(widest) = target.twin_allowing(&WIDEST_ALLOWLIST).await? else {
        return Ok(None);
    };
    let refused = oidc_forge_client::Client::builder(target.issuer.url(), WEB_CLIENT.0)
        .algorithms([Algorithm::RS256, Algorithm::HS256])
        .build();
    ensure!(
        refused.is_err(),
        "a client allowlist holding HS256 is refused when the client is built"
    );
    let route = route_with_twin(&widest).await?;
    all_rejected(&widest, route, tokens).await?;
    let key = validate::VerifyingKey::from_jwk_value(target.mint.public_jwk())
        .map_err(Failure::setup)?
        .ok_or_else(|| Failure::setup("the issuer's JWK is not a verification key"))?;
    for (what, token) in tokens {
        let parsed = validate::parse_compact(token, validate::DEFAULT_MAX_TOKEN_BYTES)
            .map_err(|e| Failure::setup(e.to_string()))?;
        ensure!(
            validate::verify_signature(&parsed, &key, Algorithm::HS256).is_err(),
            "{what}: the RSA key must never verify HS256 (the key/algorithm binding)"
        );
    }
    Ok(Some(
        "with every asymmetric algorithm allowed: 401 invalid_token; an HS256 allowlist is refused at build; the RSA key verifies no HS256 token even past the allowlist".into(),
    ))
}

/// D-04: algorithms outside the allowlist.
///
/// The forgeries: HS256 with a secret the issuer never had (RFC 8725 2.1, 3.1), and PS256 made
/// with the issuer's RSA key, whose JWK says `alg: RS256` ("each key MUST be used with exactly
/// one algorithm", RFC 8725 3.1; RFC 7517 4.4). Accepting either fails.
///
/// Not a forgery: a token signed ES256 by the issuer's own ES256 key, under that key's `kid`,
/// as published in its JWKS. RFC 9068 4 has the resource server verify with "the keys provided
/// by the authorization server" and the header's `alg`, and RFC 8725 3.1 leaves the allowlist
/// to the application: an app that allows ES256 from this issuer accepts a genuine token, so
/// its acceptance passes, as its refusal does (the client's allowlist is RS256 only).
pub async fn d04_alternate_algorithm(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let claims_text = claims.to_string();
    let mut tokens = vec![(
        "HS256 with a random secret".to_owned(),
        target.mint.sign_hs256(
            &with(header.clone(), &[("alg", json!("HS256"))]).to_string(),
            &claims_text,
            b"an-attacker-chosen-secret-of-32-bytes!",
        )?,
    )];
    if let Some(signed) = target.mint.sign_rsa_variant(
        Algorithm::PS256,
        &with(header.clone(), &[("alg", json!("PS256"))]).to_string(),
        &claims_text,
    ) {
        tokens.push((
            "PS256 with the issuer's RSA key (its JWK says RS256)".to_owned(),
            signed?,
        ));
    }
    all_rejected(&target, route, &tokens).await?;
    let mut observed = format!("{}: 401 invalid_token", names(&tokens));
    if let Some(genuine) = genuine_es256(&target, route).await? {
        observed.push_str(&format!("; {genuine}"));
    }
    Ok(Pass::new(observed))
}

/// A token signed ES256 by the issuer's own ES256 key under its own `kid` (when the issuer
/// publishes one): genuine, so the app may accept it or refuse it (its allowlist, RFC 8725
/// 3.1); only a crash fails, and a refusal is graded as any other. What was seen, for the
/// row's "got" column.
/// Forgeries of a genuine ES256 token: its signature flipped, its signature all zeros, its
/// payload changed under the genuine signature.
fn es256_forgeries(genuine: &str) -> Vec<(String, String)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = genuine.splitn(3, '.');
    let (header, payload, signature) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let flipped: Vec<u8> = URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap_or_default()
        .iter()
        .map(|byte| byte ^ 0x5A)
        .collect();
    let tampered = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .map(|claims| with(claims, &[("sub", json!("someone-else"))]).to_string())
        .unwrap_or_default();
    vec![
        (
            "ES256 with its signature flipped".to_owned(),
            format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(flipped)),
        ),
        (
            "ES256 with an all-zero signature (r = s = 0)".to_owned(),
            format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 64])),
        ),
        (
            "ES256 with its payload changed".to_owned(),
            format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(tampered)),
        ),
    ]
}

async fn genuine_es256(target: &ApiTarget, route: &Route) -> Result<Option<String>, Failure> {
    let Some(kid) = target.mint.es256_kid() else {
        return Ok(None);
    };
    let (_, claims) = parts(target, route);
    let header = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"}).to_string();
    let token = target
        .mint
        .sign_text(&header, &claims.to_string(), Signer::IssuerEs256);
    let answer = target.bearer(route, &token).await?;
    let what = "ES256 by the issuer's own ES256 key, under its kid";
    if (200..300).contains(&answer.status) {
        // The app verifies ES256: then it must verify it, not just take it. A signature that
        // does not hold (flipped, all zeros: CVE-2022-21449's r = s = 0) or a payload changed
        // under the genuine signature must be refused (RFC 7515 5.2; RFC 8725 3.1).
        let forged = es256_forgeries(&token);
        all_rejected(target, route, &forged).await?;
        return Ok(Some(format!(
            "{what}: accepted with {} (a genuine token of the issuer, RFC 9068 4); {} under it: refused",
            answer.status,
            names(&forged)
        )));
    }
    expect_invalid_token(&answer, what)?;
    Ok(Some(format!(
        "{what}: {} refused (ES256 is outside the app's allowlist)",
        answer.status
    )))
}

/// D-05: the signature stripped.
pub async fn d05_signature_stripped(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let valid = target.token_for(route);
    let (message, _) = valid
        .rsplit_once('.')
        .ok_or_else(|| Failure::setup("not a JWS"))?;
    let tokens = vec![
        ("h.p. (empty signature)".to_owned(), format!("{message}.")),
        ("h.p (two segments)".to_owned(), message.to_owned()),
    ];
    for (what, token) in &tokens {
        refused(&target, route, token, what).await?;
    }
    let answer = target.bearer(route, &tokens[0].1).await?;
    expect_invalid_token(&answer, "h.p.")?;
    all_rejected(
        &target,
        route,
        &forge_cases(&target, route, vec![Mutation::SignatureStripped])?,
    )
    .await?;
    Ok(Pass::new(
        "h.p. (also the forge's SignatureStripped): 401 invalid_token; h.p : refused",
    ))
}

/// D-06: the payload changed after signing.
pub async fn d06_payload_tampered(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let valid = target.token_for(route);
    let segments: Vec<&str> = valid.split('.').collect();
    let (_, claims) = parts(&target, route);
    let now = target.now();
    let mut tokens = Vec::new();
    for (what, changed) in [
        (
            "sub changed",
            with(claims.clone(), &[("sub", json!(env::BOB))]),
        ),
        (
            "scope escalated",
            with(
                claims.clone(),
                &[("scope", json!("openid read write admin"))],
            ),
        ),
        (
            "exp extended",
            with(claims.clone(), &[("exp", json!(now + 86_400))]),
        ),
    ] {
        tokens.push((
            what.to_owned(),
            format!(
                "{}.{}.{}",
                segments[0],
                b64(changed.to_string().as_bytes()),
                segments[2]
            ),
        ));
    }
    // The OpenID suite's InvalidateIdTokenSignature: every signature byte XORed with 0x5A.
    let signature = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        segments[2],
    )
    .map_err(setup)?;
    let flipped: Vec<u8> = signature.iter().map(|b| b ^ 0x5a).collect();
    tokens.push((
        "signature bytes XOR 0x5A".to_owned(),
        format!("{}.{}.{}", segments[0], segments[1], b64(&flipped)),
    ));
    tokens.extend(forge_cases(
        &target,
        route,
        vec![Mutation::PayloadTampered, Mutation::SignatureFlipped],
    )?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
}

/// D-15: the JWK's `alg` differs from the header's.
///
/// RFC 8725 3.1: "each key MUST be used with exactly one algorithm, and this MUST be checked
/// when the cryptographic operation is performed"; the issuer's JWK names it (`alg: RS256`,
/// RFC 7517 4.4). A PS256, RS384 or RS512 signature made with that RSA key can only verify
/// with that key, under the header's algorithm instead of the key's: accepting one fails.
/// The issuer's own ES256 key used with ES256, under its own `kid`, is no mismatch: D-04
/// presents that token and lets it pass either way. Under the RSA key's `kid` it is the
/// binding's other half (see [`es256_under_the_rsa_kid`]).
pub async fn d15_key_algorithm_binding(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let jwk_alg = target.mint.public_jwk()["alg"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut tokens = Vec::new();
    for alg in [Algorithm::PS256, Algorithm::RS384, Algorithm::RS512] {
        let name = format!("{alg:?}");
        if name == jwk_alg {
            continue;
        }
        let h = with(header.clone(), &[("alg", json!(name))]).to_string();
        if let Some(signed) = target.mint.sign_rsa_variant(alg, &h, &claims.to_string()) {
            tokens.push((format!("{name} with the {jwk_alg} key"), signed?));
        }
    }
    if tokens.is_empty() {
        // An issuer whose default key is not RSA (an app's own `check` configuration may say
        // so): nothing to sign the variants with, which says nothing about the app.
        return Err(Failure::skipped(
            "the issuer's default signing key is not RSA: no RSA variant to sign",
        ));
    }
    all_rejected(&target, route, &tokens).await?;
    let under_rsa_kid = es256_under_the_rsa_kid(&target, route, &jwk_alg).await?;
    let observed = format!(
        "{}: 401 invalid_token{}",
        names(&tokens),
        under_rsa_kid
            .map(|seen| format!("; {seen}"))
            .unwrap_or_default()
    );
    // The app's allowlist ([RS256]) refuses these before the binding is consulted; a twin
    // that allows them all leaves the key/algorithm binding to refuse.
    let Some(widest) = target.twin_allowing(&WIDEST_ALLOWLIST).await? else {
        return Ok(Pass::new(observed));
    };
    let widest_route = route_with_twin(&widest).await?;
    all_rejected(&widest, widest_route, &tokens).await?;
    Ok(Pass::new(format!(
        "{observed}, and again with every asymmetric algorithm allowed (the key's `alg` {jwk_alg} binds it)"
    )))
}

/// `alg: ES256` under the `kid` of the issuer's RSA key, signed by the issuer's genuine ES256
/// key. No RSA key verifies ES256, so an app that accepts it verified with a key other than
/// the one the `kid` names. That is not a forgery: the signature is the issuer's, and the
/// `kid` is only "a hint indicating which key was used" (RFC 7515 4.1.4). But taking the key
/// the `kid` names and checking its algorithm (RFC 8725 3.1) refuses it, so acceptance is a
/// WARN, never a FAIL; a crash fails. `None` when the issuer has no ES256 key, or its default
/// key is not RSA.
async fn es256_under_the_rsa_kid(
    target: &ApiTarget,
    route: &Route,
    jwk_alg: &str,
) -> Result<Option<String>, Failure> {
    if !(jwk_alg.starts_with("RS") || jwk_alg.starts_with("PS")) || !target.mint.has_es256() {
        return Ok(None);
    }
    let (header, claims) = parts(target, route);
    let header = with(header, &[("alg", json!("ES256"))]).to_string();
    let token = target
        .mint
        .sign_text(&header, &claims.to_string(), Signer::IssuerEs256);
    let answer = target.bearer(route, &token).await?;
    let what = format!("ES256 (the issuer's ES256 key) under the {jwk_alg} key's kid");
    if (200..300).contains(&answer.status) {
        crate::scenario::unshaped(format!(
            "{what}: accepted with {}: the app verified with a key other than the one the kid names; no forgery (the issuer's own signature; kid is a hint, RFC 7515 4.1.4), but the key the kid names, bound to its one algorithm (RFC 8725 3.1), refuses it",
            answer.status
        ))?;
        // Tried with whichever key fits: then forgeries under that kid must still fail.
        let forged = es256_forgeries(&token);
        all_rejected(target, route, &forged).await?;
        return Ok(Some(format!(
            "{what}: accepted with {}; {} under it: refused",
            answer.status,
            names(&forged)
        )));
    }
    expect_invalid_token(&answer, &what)?;
    Ok(Some(format!("{what}: {} refused", answer.status)))
}
