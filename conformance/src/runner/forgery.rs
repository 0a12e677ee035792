//! Group D: forged, malformed and misdirected tokens. The access-token forgeries run against
//! an API target (the API example, or any app with `check`); the browser attacks (code
//! injection, login CSRF) run against the web example; the issuer-side rows call the issuer.
//! Every hostile case is preceded by its valid twin.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::api_flow::{
    all_rejected, expect_invalid_token, expect_ok, forge_cases, forged, mutation_name, twin,
};
use crate::env::{
    self, AttackerServer, IssuerEnv, REDIRECT_URI, SECOND_TENANT, VERIFIER, WEB_CLIENT, WebEnv,
    authorize_params, second_tenant,
};
use crate::http::{Browser, Page, query_of, shorten};
use crate::mint::{Signer, b64, with, without};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::target::{ApiTarget, Route, TargetClock};
use crate::{ensure, ensure_eq};
use oidc_forge::Endpoint;
use oidc_forge::forge::mint::{Mutation, NoneSpelling, PublicKeyForm, TokenBuilder};

/// The protected route every access-token forgery is presented on, after its valid twin.
async fn route_with_twin(target: &ApiTarget) -> Result<&Route, Failure> {
    let route = target.protected()?;
    twin(target, route).await?;
    Ok(route)
}

/// Presents `token` raw in the header and expects a 4xx that is not a success (400, 401,
/// 413, 431): malformed input may be refused as a bad request as well as a bad token.
async fn refused(
    target: &ApiTarget,
    route: &Route,
    token: &str,
    what: &str,
) -> Result<u16, Failure> {
    let answer = target.bearer(route, token).await?;
    ensure!(
        matches!(answer.status, 400 | 401 | 413 | 431),
        "{what}: expected 400/401/413/431, got {}: {}",
        answer.status,
        shorten(&answer.body)
    );
    Ok(answer.status)
}

/// The header and claims of the valid twin, as JSON text.
fn parts(target: &ApiTarget, route: &Route) -> (Value, Value) {
    (target.mint.access_header(), target.claims_for(route))
}

fn names(tokens: &[(String, String)]) -> String {
    tokens
        .iter()
        .map(|(what, _)| what.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

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
const WIDEST_ALLOWLIST: [Algorithm; 9] = [
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
        tokens.push(("PS256 with the issuer's RSA key".to_owned(), signed?));
    }
    if let Some(kid) = target.mint.es256_kid() {
        let es_header = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"}).to_string();
        tokens.push((
            "ES256 with the issuer's own ES256 key (the client's tokens are RS256)".to_owned(),
            target
                .mint
                .sign_text(&es_header, &claims_text, Signer::IssuerEs256),
        ));
    }
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
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

/// D-07: the attacker's key with the issuer's `kid`.
pub async fn d07_foreign_key_same_kid(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let mut tokens = vec![(
        "attacker-signed, issuer's kid".to_owned(),
        target
            .mint
            .sign_text(&header.to_string(), &claims.to_string(), Signer::Attacker),
    )];
    tokens.extend(forge_cases(&target, route, vec![Mutation::ForeignKey])?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(
        "attacker-signed with the issuer's kid: 401 invalid_token",
    ))
}

/// D-08: the attacker's key embedded in the header.
pub async fn d08_embedded_key(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let jwk = target.mint.attacker_jwk().clone();
    let mut tokens = Vec::new();
    for (what, extra) in [
        ("jwk header", ("jwk", jwk.clone())),
        ("jwk header, no kid", ("jwk", jwk)),
        (
            "x5c header",
            (
                "x5c",
                json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
            ),
        ),
    ] {
        let mut h = with(header.clone(), &[extra]);
        if what.contains("no kid") {
            h = without(h, &["kid"]);
        }
        tokens.push((
            what.to_owned(),
            target
                .mint
                .sign_text(&h.to_string(), &claims.to_string(), Signer::Attacker),
        ));
    }
    tokens.extend(forge_cases(&target, route, vec![Mutation::EmbeddedJwk])?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
}

/// D-09: `jku` / `x5u` pointing at an attacker's or an internal URL.
pub async fn d09_key_urls(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let mut jwk = target.mint.attacker_jwk().clone();
    jwk["kid"] = json!("attacker-key");
    let server = AttackerServer::start(json!({ "keys": [jwk] })).await?;
    let (header, claims) = parts(&target, route);
    let mut tokens = Vec::new();
    for (member, url) in [
        ("jku", format!("{}/jwks.json", server.url)),
        ("x5u", format!("{}/cert.pem", server.url)),
        ("jku", "http://127.0.0.1:1/internal".to_owned()),
    ] {
        for kid in ["attacker-key", target.mint.kid()] {
            let h = with(header.clone(), &[(member, json!(url)), ("kid", json!(kid))]);
            tokens.push((
                format!("{member} {url} with kid {kid}"),
                target
                    .mint
                    .sign_text(&h.to_string(), &claims.to_string(), Signer::Attacker),
            ));
        }
    }
    tokens.extend(forge_cases(
        &target,
        route,
        vec![
            Mutation::Jku(format!("{}/jwks.json", server.url)),
            Mutation::X5u(format!("{}/cert.pem", server.url)),
        ],
    )?);
    all_rejected(&target, route, &tokens).await?;
    ensure_eq!(server.hits(), 0, "requests to the attacker's URLs");
    Ok(Pass::new(format!(
        "{} tokens with jku/x5u: 401 invalid_token; the attacker's server saw 0 requests",
        tokens.len()
    )))
}

/// D-10: `kid` injection.
pub async fn d10_kid_injection(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let mut tokens = Vec::new();
    for (what, kid) in [
        ("path traversal", json!("../../../../dev/null")),
        ("SQL", json!("' OR 1=1--")),
        ("10 KB", json!("k".repeat(10 * 1024))),
        ("a number", json!(42)),
        ("an object", json!({"kid": target.mint.kid()})),
        ("null", Value::Null),
    ] {
        let h = with(header.clone(), &[("kid", kid)]);
        tokens.push((format!("kid {what}"), target.mint.sign(&h, &claims)));
    }
    tokens.extend(forge_cases(
        &target,
        route,
        vec![
            Mutation::Kid("../../dev/null".into()),
            Mutation::Kid("k".repeat(10 * 1024)),
        ],
    )?);
    for (what, token) in &tokens {
        refused(&target, route, token, what).await?;
    }
    // Still serving, and still accepting the valid token: nothing crashed.
    route_with_twin(&target).await?;
    Ok(Pass::new(format!(
        "{}: refused; the valid twin still passes afterwards",
        names(&tokens)
    )))
}

/// D-11: an unknown `kid`: the issuer rotates, and a kid nobody publishes.
pub async fn d11_unknown_kid(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let mut seen = Vec::new();
    match &target.clock {
        TargetClock::Fixed(clock) => {
            // The issuer rotates; its next token carries a kid the app has not cached.
            let report = target
                .issuer
                .rotate_keys(std::time::Duration::from_secs(300))
                .map_err(setup)?;
            // Past the app's refetch cooldown (it fetched for the twin a moment ago).
            clock.advance(31);
            let fresh = forged(&target, route, Vec::new())?;
            expect_ok(
                &target.bearer(route, &fresh).await?,
                "signed by the rotated-in key (one refetch)",
            )?;
            seen.push(format!("rotated-in kid {}: 2xx", report.signing_kid));
        }
        TargetClock::System => seen.push(
            "rotation half skipped: an external app's refetch cooldown cannot be advanced".into(),
        ),
    }
    let h = with(header, &[("kid", json!("rotated-key-not-published"))]);
    let unknown = target.mint.sign(&h, &claims);
    expect_invalid_token(
        &target.bearer(route, &unknown).await?,
        "a kid nobody publishes",
    )?;
    seen.push("a kid nobody publishes: 401 invalid_token".into());
    Ok(Pass::new(seen.join("; ")))
}

/// D-12: a flood of random `kid`s.
pub async fn d12_kid_flood(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    // The twin just fetched the keys. On a frozen clock, move past the refetch cooldown, so the
    // cooldown alone cannot hold the flood back: the first unknown kid may refetch, and only
    // single flight keeps the concurrent others from refetching too.
    let past_cooldown = match &target.clock {
        TargetClock::Fixed(clock) => {
            clock.advance(APP_JWKS_COOLDOWN + 1);
            true
        }
        TargetClock::System => false,
    };
    let (header, claims) = parts(&target, route);
    let before = target.issuer.requests_to(Endpoint::Jwks).len();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let h = with(header.clone(), &[("kid", json!(format!("random-kid-{i}")))]);
        let token = target.mint.sign(&h, &claims);
        let target = target.clone();
        let route = route.clone();
        tasks.push(tokio::spawn(
            async move { target.bearer(&route, &token).await },
        ));
    }
    for task in tasks {
        let answer = task.await.map_err(setup)??;
        expect_invalid_token(&answer, "a random kid")?;
    }
    let fetches = target.issuer.requests_to(Endpoint::Jwks).len() - before;
    if past_cooldown {
        ensure_eq!(
            fetches,
            1,
            "24 concurrent unknown kids past the cooldown: exactly one JWKS fetch (single flight)"
        );
    } else {
        ensure!(
            fetches <= 1,
            "24 unknown kids caused {fetches} JWKS fetches; expected at most one (single flight, cooldown)"
        );
    }
    route_with_twin(&target).await?;
    Ok(Pass::new(format!(
        "24 concurrent random kids{}: all 401 invalid_token, {fetches} JWKS fetch(es) at the issuer; the valid twin still passes",
        if past_cooldown {
            ", past the refetch cooldown"
        } else {
            ""
        }
    )))
}

/// The in-process app's JWKS refetch cooldown: the client's default.
const APP_JWKS_COOLDOWN: u64 = 30;

/// D-14: a token signed by a key rotated out of the JWKS.
pub async fn d14_rotated_out_key(target: Arc<ApiTarget>) -> Outcome {
    let TargetClock::Fixed(clock) = &target.clock else {
        return Err(Failure::skipped(
            "needs the app to refetch its keys on demand, which an external app's cooldown forbids without waiting",
        ));
    };
    let route = route_with_twin(&target).await?;
    let old = target.token_for(route);
    // No grace: the old key leaves the JWKS at once.
    let report = target
        .issuer
        .rotate_keys(std::time::Duration::ZERO)
        .map_err(setup)?;
    clock.advance(31);
    // A token with the new kid makes the app refetch, which drops the old key.
    let fresh = forged(&target, route, Vec::new())?;
    expect_ok(&target.bearer(route, &fresh).await?, "the new key's token")?;
    expect_invalid_token(
        &target.bearer(route, &old).await?,
        "the rotated-out key's token",
    )?;
    Ok(Pass::new(format!(
        "after {} replaced {} with no grace and the app refetched: the old key's token 401 invalid_token",
        report.signing_kid, report.replaced_kid
    )))
}

/// D-13: no `kid`.
pub async fn d13_no_kid(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let h = without(header, &["kid"]);
    // How many published keys could verify an RS256 token.
    let jwks: Value = crate::http::client()
        .get(format!("{}/.well-known/jwks.json", target.mint.iss()))
        .send()
        .await
        .map_err(setup)?
        .json()
        .await
        .map_err(setup)?;
    let rsa_keys = jwks["keys"]
        .as_array()
        .map_or(0, |keys| keys.iter().filter(|k| k["kty"] == "RSA").count());
    let issuer_signed = target.mint.sign(&h, &claims);
    let answer = target.bearer(route, &issuer_signed).await?;
    if rsa_keys == 1 {
        expect_ok(&answer, "no kid, one matching key (Core 10.1)")?;
    } else {
        ensure!(
            answer.status == 401 || (200..300).contains(&answer.status),
            "no kid, several keys: reject or try all, got {}",
            answer.status
        );
    }
    let forged = target
        .mint
        .sign_text(&h.to_string(), &claims.to_string(), Signer::Attacker);
    expect_invalid_token(
        &target.bearer(route, &forged).await?,
        "no kid, attacker-signed",
    )?;
    Ok(Pass::new(format!(
        "{rsa_keys} RSA key(s) published; no kid, issuer-signed: {}; no kid, attacker-signed: 401",
        answer.status
    )))
}

/// D-15: the JWK's `alg` differs from the header's.
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
    ensure!(
        !tokens.is_empty(),
        "the issuer's RSA key is at hand to sign variants"
    );
    all_rejected(&target, route, &tokens).await?;
    // The app's allowlist ([RS256]) refuses these before the binding is consulted; a twin
    // that allows them all leaves the key/algorithm binding to refuse.
    let Some(widest) = target.twin_allowing(&WIDEST_ALLOWLIST).await? else {
        return Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))));
    };
    let widest_route = route_with_twin(&widest).await?;
    all_rejected(&widest, widest_route, &tokens).await?;
    Ok(Pass::new(format!(
        "{}: 401 invalid_token, and again with every asymmetric algorithm allowed (the key's `alg` {jwk_alg} binds it)",
        names(&tokens)
    )))
}

/// D-16: `crit` naming an unknown header parameter.
pub async fn d16_crit(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let mut tokens = Vec::new();
    for (what, crit) in [
        ("crit [exp-unknown]", json!(["urn:example:unknown"])),
        ("crit naming a present member", json!(["kid"])),
        ("crit empty", json!([])),
    ] {
        let mut h = with(header.clone(), &[("crit", crit)]);
        h["urn:example:unknown"] = json!(true);
        tokens.push((what.to_owned(), target.mint.sign(&h, &claims)));
    }
    tokens.extend(forge_cases(&target, route, vec![Mutation::CritUnknown])?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
}

/// D-17: the wrong `typ`.
pub async fn d17_wrong_typ(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let mut tokens = Vec::new();
    for typ in [
        Some("JWT"),
        Some("application/jwt"),
        Some("secevent+jwt"),
        None,
    ] {
        let h = match typ {
            Some(typ) => with(header.clone(), &[("typ", json!(typ))]),
            None => without(header.clone(), &["typ"]),
        };
        tokens.push((format!("typ {typ:?}"), target.mint.sign(&h, &claims)));
    }
    tokens.extend(forge_cases(
        &target,
        route,
        vec![Mutation::WrongTyp, Mutation::NoTyp],
    )?);
    all_rejected(&target, route, &tokens).await?;
    let full = with(header, &[("typ", json!("application/at+jwt"))]);
    expect_ok(
        &target
            .bearer(route, &target.mint.sign(&full, &claims))
            .await?,
        "typ application/at+jwt (the full media type)",
    )?;
    Ok(Pass::new(format!(
        "{}: 401 invalid_token; application/at+jwt: 2xx",
        names(&tokens)
    )))
}

/// D-18: claims of the wrong type or scale.
pub async fn d18_claim_types(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let now = target.now();
    let mut tokens = Vec::new();
    for (what, name, value) in [
        ("exp in milliseconds", "exp", json!((now + 300) * 1000)),
        ("exp a string", "exp", json!((now + 300).to_string())),
        ("exp negative", "exp", json!(-1)),
        ("aud a number", "aud", json!(42)),
        ("aud an array with a number", "aud", json!([42])),
        ("sub null", "sub", Value::Null),
        ("iss a number", "iss", json!(1)),
    ] {
        let changed = with(claims.clone(), &[(name, value)]);
        tokens.push((what.to_owned(), target.mint.sign(&header, &changed)));
    }
    tokens.extend(forge_cases(
        &target,
        route,
        vec![
            Mutation::ExpInMilliseconds,
            Mutation::ExpAsString,
            Mutation::SubNull,
        ],
    )?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new(format!("{}: 401 invalid_token", names(&tokens))))
}

/// D-19 (access tokens): audience rules.
pub async fn d19_audience(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let api = target.mint.profile.aud.first().cloned().unwrap_or_default();
    let mut tokens = Vec::new();
    for (what, aud) in [
        ("aud another audience", Some(json!("https://other.example"))),
        ("aud empty array", Some(json!([]))),
        ("aud empty string", Some(json!(""))),
        ("aud missing", None),
    ] {
        let changed = match aud {
            Some(aud) => with(claims.clone(), &[("aud", aud)]),
            None => without(claims.clone(), &["aud"]),
        };
        tokens.push((what.to_owned(), target.mint.sign(&header, &changed)));
    }
    tokens.extend(forge_cases(
        &target,
        route,
        vec![Mutation::WrongAudience, Mutation::MissingAudience],
    )?);
    all_rejected(&target, route, &tokens).await?;
    let single = with(claims, &[("aud", json!([api]))]);
    expect_ok(
        &target
            .bearer(route, &target.mint.sign(&header, &single))
            .await?,
        "a single-element aud array",
    )?;
    Ok(Pass::new(format!(
        "{}: 401 invalid_token; single-element array: 2xx",
        names(&tokens)
    )))
}

/// D-20: duplicate members.
pub async fn d20_duplicate_members(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let claims_text = claims.to_string();
    let header_text = header.to_string();
    // `"sub":"<alice>"` first, then an attacker's second `sub`; the same for the header's alg.
    let duplicate_sub = format!(
        "{},\"sub\":\"00000000-0000-0000-0000-000000000000\"}}",
        claims_text.trim_end_matches('}')
    );
    let duplicate_alg = format!("{},\"alg\":\"none\"}}", header_text.trim_end_matches('}'));
    let mut tokens = vec![
        (
            "sub twice".to_owned(),
            target
                .mint
                .sign_text(&header_text, &duplicate_sub, Signer::Issuer),
        ),
        (
            "alg twice".to_owned(),
            target
                .mint
                .sign_text(&duplicate_alg, &claims_text, Signer::Issuer),
        ),
    ];
    tokens.extend(forge_cases(
        &target,
        route,
        vec![Mutation::DuplicateClaim("sub".into(), json!(env::BOB))],
    )?);
    all_rejected(&target, route, &tokens).await?;
    Ok(Pass::new("sub twice, alg twice: 401 invalid_token"))
}

/// D-21: malformed compact serializations.
pub async fn d21_malformed(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let valid = target.token_for(route);
    let segments: Vec<&str> = valid.split('.').collect();
    let (header, claims) = parts(&target, route);
    let header_b64 = b64(header.to_string().as_bytes());
    let sign_raw = |payload: &[u8]| {
        // Sign arbitrary payload bytes with the issuer's key: only the parser can refuse.
        let text = String::from_utf8_lossy(payload).into_owned();
        let token = target
            .mint
            .sign_text(&header.to_string(), &text, Signer::Issuer);
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(payload), parts[2])
    };
    let cases: Vec<(&str, String)> = vec![
        ("two segments", format!("{}.{}", segments[0], segments[1])),
        ("four segments", format!("{valid}.AAAA")),
        (
            "`=` padding",
            format!("{}=.{}.{}", segments[0], segments[1], segments[2]),
        ),
        (
            "`+` and `/`",
            format!(
                "{}.{}.{}",
                segments[0],
                segments[1],
                segments[2].replace('-', "+").replace('_', "/")
            ),
        ),
        (
            "whitespace inside",
            format!("{}. {}.{}", segments[0], segments[1], segments[2]),
        ),
        ("invalid UTF-8 payload", sign_raw(&[0xff, 0xfe, 0x7b, 0x7d])),
        ("JSON array payload", sign_raw(b"[1,2,3]")),
        ("JSON string payload", sign_raw(b"\"sub\"")),
        (
            "trailing bytes after the JSON",
            sign_raw(format!("{claims}garbage").as_bytes()),
        ),
        (
            "header not JSON",
            format!("{}.{}.{}", b64(b"not json"), segments[1], segments[2]),
        ),
        ("empty", String::new()),
        ("dots only", "..".to_owned()),
    ];
    let _ = header_b64;
    let mut seen = Vec::new();
    for (what, token) in &cases {
        let status = refused(&target, route, token, what).await?;
        seen.push(format!("{what} {status}"));
    }
    route_with_twin(&target).await?;
    Ok(Pass::new(format!(
        "{}; the valid twin still passes",
        seen.join(", ")
    )))
}

/// D-22: JWS JSON serialization, or a JWE.
pub async fn d22_format_confusion(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let valid = target.token_for(route);
    let segments: Vec<&str> = valid.split('.').collect();
    let json_serialization = json!({
        "payload": segments[1],
        "signatures": [{"protected": segments[0], "signature": segments[2]}],
    })
    .to_string();
    let flattened = json!({
        "payload": segments[1], "protected": segments[0], "signature": segments[2],
    })
    .to_string();
    let jwe_header = b64(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"forge-rs256"}"#);
    let jwe = format!(
        "{jwe_header}.AAAA.AAAAAAAAAAAAAAAA.{}.AAAAAAAAAAAAAAAAAAAAAA",
        segments[1]
    );
    let mut seen = Vec::new();
    for (what, token) in [
        ("JWS JSON serialization", json_serialization),
        ("flattened JWS JSON", flattened),
        ("five-part JWE", jwe),
    ] {
        let status = refused(&target, route, &token, what).await?;
        seen.push(format!("{what} {status}"));
    }
    Ok(Pass::new(seen.join(", ")))
}

/// D-23: an oversized token, deeply nested JSON.
pub async fn d23_oversized(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let big_header = with(header.clone(), &[("pad", json!("x".repeat(64 * 1024)))]);
    let oversized = target.mint.sign(&big_header, &claims);
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep = with(claims, &[("nested", json!("placeholder"))])
        .to_string()
        .replace("\"placeholder\"", &nested);
    let deep_token = target
        .mint
        .sign_text(&header.to_string(), &deep, Signer::Issuer);
    let mut seen = Vec::new();
    for (what, token) in [
        ("64 KiB header", oversized),
        ("5000-deep nested claim", deep_token),
    ] {
        let status = refused(&target, route, &token, what).await?;
        seen.push(format!("{what}: {status}"));
    }
    route_with_twin(&target).await?;
    Ok(Pass::new(format!(
        "{}; the valid twin still passes",
        seen.join(", ")
    )))
}

/// The second issuer of D-24: the trusted server's tenant [`SECOND_TENANT`] (another issuer on
/// the same host, as Fief's tenants are), or, when the trusted configuration has none (an
/// app's own `check` configuration), a second server. Either signs with the attacker's key
/// under the trusted issuer's RS256 kid; the server, when one was started, is returned to be
/// kept running.
async fn second_issuer(
    trusted: &oidc_forge::MockIssuer,
    kid: &str,
) -> Result<(oidc_forge::Issuer, Option<oidc_forge::MockIssuer>), Failure> {
    if let Some(tenant) = trusted.tenant(SECOND_TENANT)
        && tenant.keys().iter().any(|k| k.kid == kid && k.signing)
    {
        return Ok((tenant.clone(), None));
    }
    let mut config = second_tenant(&trusted.config());
    config.keys[0].kid = kid.to_owned();
    let server = oidc_forge::MockIssuer::builder()
        .config(config)
        .clock(Arc::new(oidc_forge::FixedClock::new(env::NOW)))
        .start()
        .await
        .map_err(setup)?;
    Ok((server.root().clone(), Some(server)))
}

/// D-24: a valid token from a second issuer using the same `kid`.
pub async fn d24_second_issuer(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (other, server) = second_issuer(&target.issuer, target.mint.kid()).await?;
    let answer = crate::http::Answer::send(
        crate::http::client()
            .post(format!("{}/api/token", other.url()))
            .basic_auth(WEB_CLIENT.0, Some(WEB_CLIENT.1))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await?;
    answer.expect_status(200)?;
    let issued = answer.json()?["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The same token re-signed by the second issuer but claiming to be from the first.
    let (header, claims) = parts(&target, route);
    let impersonating =
        target
            .mint
            .sign_text(&header.to_string(), &claims.to_string(), Signer::Attacker);
    let tokens = vec![
        (
            "issued by the second issuer (its own iss)".to_owned(),
            issued,
        ),
        (
            "second issuer's key, first issuer's iss".to_owned(),
            impersonating,
        ),
    ];
    all_rejected(&target, route, &tokens).await?;
    drop(server);
    Ok(Pass::new(format!(
        "{}: 401 invalid_token (second issuer {})",
        names(&tokens),
        other.url()
    )))
}

/// D-25: an authorization code injected into the victim's callback.
pub async fn d25_code_injection() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    // The attacker obtains a code for their own login (their own PKCE verifier and nonce).
    let mut attacker = Browser::new();
    let login = attacker.get(&web.app("/login")).await?;
    let issued = attacker
        .get(login.location.as_deref().unwrap_or_default())
        .await?;
    let attacker_code = query_of(issued.location.as_deref().unwrap_or_default())?
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
    let mut attacker = Browser::new();
    let login = attacker.get(&web.app("/login")).await?;
    let issued = attacker
        .get(login.location.as_deref().unwrap_or_default())
        .await?;
    let callback = issued
        .location
        .ok_or_else(|| Failure::setup("no answer for the attacker"))?;
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
    env.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ],
        Some(WEB_CLIENT),
    )
    .await?
    .expect_oauth_error(400, "invalid_grant")?;
    let code = env.code(&authorize_params(&[])).await?;
    env.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
        Some(WEB_CLIENT),
    )
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
        crate::mint::ATTACKER_PEM
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

// ----------------------------------------- ID-token halves: through the web example's login
//
// The forge's queued claims keep the issuer's signature, and its faults answer errors only, so
// a forged ID token cannot come out of the issuer's token endpoint as such. Instead the web
// example logs in through a proxy in front of the token endpoint that swaps the issuer's ID
// token for the forged one, minted by the forge for that very login (its nonce, the `at_hash`
// of the access token the issuer really issued). The callback must refuse it and set no
// session; the same swap with a valid token logs in.

/// What the proxy knows when it swaps the ID token.
struct LoginContext {
    nonce: String,
    access_token: String,
}

/// Makes the ID token one login receives.
type MakeIdToken = Box<dyn FnOnce(&LoginContext) -> Result<String, Failure> + Send>;

/// The web example behind a token-response proxy that delivers scenario-made ID tokens.
struct IdBench {
    web: WebEnv,
    /// The nonce of the login in progress and how to make its ID token.
    next: Arc<std::sync::Mutex<Option<(String, MakeIdToken)>>>,
    /// Why the last swap could not mint, if it could not.
    error: Arc<std::sync::Mutex<Option<String>>>,
}

/// The forge's builder of a valid ID token for this login.
fn base(minter: &oidc_forge::forge::mint::Minter, login: &LoginContext) -> TokenBuilder {
    minter
        .id_token()
        .client(WEB_CLIENT.0)
        .nonce(&login.nonce)
        .issued_at(env::NOW)
        .at_hash_of(&login.access_token)
}

impl IdBench {
    async fn start() -> Result<Self, Failure> {
        let (listener, url, issuer) = WebEnv::prepare(|_| {}).await?;
        let next: Arc<std::sync::Mutex<Option<(String, MakeIdToken)>>> = Arc::default();
        let error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let (swap, failed) = (next.clone(), error.clone());
        let proxy = crate::env::TokenRewriter::start(
            issuer.iss(),
            Arc::new(move |response| {
                let Some((nonce, make)) = oidc_forge::state::lock(&swap).take() else {
                    return;
                };
                let login = LoginContext {
                    nonce,
                    access_token: response["access_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                };
                match make(&login) {
                    Ok(token) => {
                        response.insert("id_token".into(), token.into());
                    }
                    Err(failure) => {
                        *oidc_forge::state::lock(&failed) = Some(failure.to_string());
                        response.remove("id_token");
                    }
                }
            }),
        )
        .await?;
        let clock = Arc::new(oidc_forge_client::clock::FixedClock::new(env::NOW));
        let client = oidc_forge_client::Client::builder(issuer.iss(), WEB_CLIENT.0)
            .client_secret(WEB_CLIENT.1)
            .discovery_url(&proxy.discovery_url)
            .clock(clock.clone() as Arc<dyn oidc_forge_client::clock::Clock>)
            .http_client(crate::http::client())
            .build()
            .map_err(setup)?;
        let bench = Self {
            web: WebEnv::launch(listener, url, issuer, client, clock, false)?,
            next,
            error,
        };
        // The valid twin: a forge-minted ID token swapped in the same way logs in.
        let twin = bench.forge(Vec::new());
        bench.accepts(twin, "the forge's valid ID token").await?;
        Ok(bench)
    }

    /// A login whose token response carries the ID token `make` makes: the callback page.
    async fn login(&self, make: MakeIdToken) -> Result<Page, Failure> {
        let mut browser = Browser::new();
        let (authorize, query) = super::web_flow::start_login(&self.web, &mut browser).await?;
        let nonce = query.get("nonce").cloned().unwrap_or_default();
        *oidc_forge::state::lock(&self.next) = Some((nonce, make));
        let issued = browser.get(&authorize).await?;
        let callback = issued
            .location
            .ok_or_else(|| Failure::setup("the issuer did not redirect back"))?;
        let page = browser.get(&callback).await?;
        if let Some(error) = oidc_forge::state::lock(&self.error).take() {
            return Err(Failure::setup(format!("cannot mint the ID token: {error}")));
        }
        Ok(page)
    }

    async fn accepts(&self, make: MakeIdToken, what: &str) -> Result<(), Failure> {
        let page = self.login(make).await?;
        ensure!(
            page.answer.status == 302 && page.set_cookie("user_session").is_some(),
            "{what}: the login completes, got {}: {}",
            page.answer.status,
            shorten(&page.answer.body)
        );
        Ok(())
    }

    async fn rejects(&self, make: MakeIdToken, what: &str) -> Result<(), Failure> {
        let page = self.login(make).await?;
        super::web_flow::expect_failed_login(&page, "ID token invalid")
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))
    }

    /// The forge's token for this login, with `mutations`, by the issuer's current keys.
    fn forge(&self, mutations: Vec<Mutation>) -> MakeIdToken {
        let minter = self.web.issuer.issuer.mint();
        Box::new(move |login| {
            base(&minter, login)
                .mutations(mutations)
                .sign()
                .map_err(setup)
        })
    }

    /// The forge's token for this login, shaped by `shape`.
    fn forge_with(
        &self,
        shape: impl FnOnce(TokenBuilder) -> TokenBuilder + Send + 'static,
    ) -> MakeIdToken {
        let minter = self.web.issuer.issuer.mint();
        Box::new(move |login| shape(base(&minter, login)).sign().map_err(setup))
    }

    /// This login's valid claims under `header`, signed by `signer` (for headers and
    /// algorithms the forge does not offer).
    fn signed(&self, header: Value, signer: Signer) -> Result<MakeIdToken, Failure> {
        let minter = self.web.issuer.issuer.mint();
        let raw = crate::mint::Minter::new(
            &self.web.issuer.issuer,
            crate::mint::Profile {
                sub: env::ALICE.into(),
                aud: vec![WEB_CLIENT.0.into()],
                client_id: WEB_CLIENT.0.into(),
            },
        )?;
        Ok(Box::new(move |login| {
            let claims = base(&minter, login).build().map_err(setup)?.claims;
            Ok(raw.sign_text(&header.to_string(), &claims.to_string(), signer))
        }))
    }

    /// A fixed token, whatever the login.
    fn raw(token: String) -> MakeIdToken {
        Box::new(move |_| Ok(token))
    }

    /// Each mutation in a login of its own, every one refused.
    async fn reject_all(&self, mutations: Vec<(String, Mutation)>) -> Outcome {
        let mut names = Vec::new();
        for (what, mutation) in mutations {
            self.rejects(self.forge(vec![mutation]), &what).await?;
            names.push(what);
        }
        Ok(Pass::new(format!(
            "ID token in the token response to the web example's callback: {} refused, no session; the forge's valid one: logged in",
            names.join(", ")
        )))
    }

    /// Each raw token in a login of its own, every one refused.
    async fn reject_raw(&self, tokens: Vec<(&str, MakeIdToken)>) -> Outcome {
        let mut names = Vec::new();
        for (what, make) in tokens {
            self.rejects(make, what).await?;
            names.push(what);
        }
        Ok(Pass::new(format!(
            "ID token in the token response to the web example's callback: {} refused, no session",
            names.join(", ")
        )))
    }
}

fn named(mutations: Vec<Mutation>) -> Vec<(String, Mutation)> {
    mutations
        .into_iter()
        .map(|m| (mutation_name(&m), m))
        .collect()
}

/// D-01, ID token.
pub async fn d01_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::AlgNone(NoneSpelling::Lower)]))
        .await
}

/// D-02, ID token.
pub async fn d02_id_token() -> Outcome {
    let spellings = [
        NoneSpelling::Capitalised,
        NoneSpelling::Upper,
        NoneSpelling::Mixed,
    ];
    IdBench::start()
        .await?
        .reject_all(named(
            spellings.into_iter().map(Mutation::AlgNone).collect(),
        ))
        .await
}

/// D-03, ID token.
pub async fn d03_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(
            PublicKeyForm::ALL
                .into_iter()
                .map(Mutation::KeyConfusion)
                .collect(),
        ))
        .await
}

/// D-04, ID token: the issuer's own ES256 key, and HS256, outside the client's RS256 allowlist.
pub async fn d04_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let raw = crate::mint::Minter::new(
        &bench.web.issuer.issuer,
        crate::mint::Profile {
            sub: env::ALICE.into(),
            aud: vec![WEB_CLIENT.0.into()],
            client_id: WEB_CLIENT.0.into(),
        },
    )?;
    let kid = raw
        .es256_kid()
        .ok_or_else(|| Failure::setup("the issuer publishes no ES256 key"))?
        .to_owned();
    let es = bench.signed(
        json!({"alg": "ES256", "kid": kid, "typ": "JWT"}),
        Signer::IssuerEs256,
    )?;
    let minter = bench.web.issuer.issuer.mint();
    // Core 3.1.3.7 (8): HS256 keyed with the client secret is legitimate only for a client that
    // registered it; this client's allowlist is RS256.
    let hs: MakeIdToken = Box::new(move |login| {
        let claims = base(&minter, login).build().map_err(setup)?.claims;
        raw.sign_hs256(
            &json!({"alg": "HS256", "typ": "JWT"}).to_string(),
            &claims.to_string(),
            WEB_CLIENT.1.as_bytes(),
        )
    });
    bench
        .reject_raw(vec![
            ("ES256 by the issuer's own ES256 key", es),
            ("HS256 keyed with the client secret", hs),
        ])
        .await
}

/// D-05, ID token.
pub async fn d05_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::SignatureStripped]))
        .await
}

/// D-06, ID token.
pub async fn d06_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::PayloadTampered,
            Mutation::TamperedClaim("sub".into(), json!(env::BOB)),
            Mutation::SignatureFlipped,
        ]))
        .await
}

/// D-07, ID token.
pub async fn d07_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::ForeignKey]))
        .await
}

/// D-08, ID token.
pub async fn d08_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::EmbeddedJwk]))
        .await
}

/// D-09, ID token: and no fetch of the URLs.
pub async fn d09_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let kid = bench
        .web
        .issuer
        .issuer
        .keys()
        .into_iter()
        .find(|k| k.signing && k.alg == oidc_forge::config::SigningAlg::RS256)
        .map(|k| k.kid)
        .unwrap_or_default();
    let jwks = oidc_forge::forge::mint::attacker_jwks(&kid).map_err(setup)?;
    let server = AttackerServer::start(jwks).await?;
    let pass = bench
        .reject_all(vec![
            (
                "jku".into(),
                Mutation::Jku(format!("{}/jwks.json", server.url)),
            ),
            (
                "x5u".into(),
                Mutation::X5u(format!("{}/cert.pem", server.url)),
            ),
        ])
        .await?;
    ensure_eq!(server.hits(), 0, "requests to the attacker's server");
    Ok(Pass::new(format!(
        "{}; 0 requests to the attacker",
        pass.observed
    )))
}

/// D-10, ID token.
pub async fn d10_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::Kid("../../../../dev/null".into()),
            Mutation::Kid("' OR 1=1--".into()),
            Mutation::Kid("k".repeat(10 * 1024)),
        ]))
        .await
}

/// D-11, ID token: a rotated-in key is found after one refetch; an unknown kid is not.
pub async fn d11_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let report = bench
        .web
        .issuer
        .issuer
        .rotate_keys(std::time::Duration::from_secs(300))
        .map_err(setup)?;
    // Past the client's refetch cooldown: it fetched the keys for the twin a moment ago.
    bench.web.app_clock.advance(31);
    bench
        .accepts(bench.forge(Vec::new()), "signed by the rotated-in key")
        .await?;
    bench
        .rejects(bench.forge(vec![Mutation::UnknownKid]), "an unknown kid")
        .await?;
    Ok(Pass::new(format!(
        "ID token through the login: rotated-in kid {} accepted after a refetch; an unknown kid refused",
        report.signing_kid
    )))
}

/// D-13, ID token.
pub async fn d13_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    bench
        .accepts(bench.forge(vec![Mutation::NoKid]), "no kid, one RSA key")
        .await?;
    // The attacker's signature without a kid: trying every key must not find one that fits.
    let foreign = bench.signed(json!({"alg": "RS256", "typ": "JWT"}), Signer::Attacker)?;
    bench.rejects(foreign, "no kid, the attacker's key").await?;
    Ok(Pass::new(
        "ID token through the login without kid: accepted (one RSA key published); the attacker's without kid: refused",
    ))
}

/// D-14, ID token.
pub async fn d14_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let before = bench.web.issuer.issuer.mint();
    bench
        .web
        .issuer
        .issuer
        .rotate_keys(std::time::Duration::ZERO)
        .map_err(setup)?;
    bench.web.app_clock.advance(31);
    bench
        .accepts(
            bench.forge(Vec::new()),
            "the new key (the client refetches)",
        )
        .await?;
    let old: MakeIdToken = Box::new(move |login| base(&before, login).sign().map_err(setup));
    bench.rejects(old, "the rotated-out key").await?;
    Ok(Pass::new(
        "ID token through the login signed by a key rotated out (no grace) after the client refetched: refused",
    ))
}

/// D-15, ID token.
pub async fn d15_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let raw = crate::mint::Minter::new(
        &bench.web.issuer.issuer,
        crate::mint::Profile {
            sub: env::ALICE.into(),
            aud: vec![WEB_CLIENT.0.into()],
            client_id: WEB_CLIENT.0.into(),
        },
    )?;
    let minter = bench.web.issuer.issuer.mint();
    let header = json!({"alg": "PS256", "kid": raw.kid(), "typ": "JWT"}).to_string();
    let ps: MakeIdToken = Box::new(move |login| {
        let claims = base(&minter, login).build().map_err(setup)?.claims;
        raw.sign_rsa_variant(Algorithm::PS256, &header, &claims.to_string())
            .ok_or_else(|| Failure::setup("the issuer's RSA key is not at hand"))?
    });
    bench
        .reject_raw(vec![("PS256 signed with the key whose JWK says RS256", ps)])
        .await
}

/// D-16, ID token.
pub async fn d16_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::CritUnknown]))
        .await
}

/// D-17, ID token: typed as an access token, or as something else.
pub async fn d17_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::WrongTyp,
            Mutation::Typ("secevent+jwt".into()),
        ]))
        .await
}

/// D-18, ID token.
pub async fn d18_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::ExpInMilliseconds,
            Mutation::ExpAsString,
            Mutation::SubNull,
        ]))
        .await
}

/// D-19, ID token: Core 3.1.3.7 (3)-(5).
pub async fn d19_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let pass = bench
        .reject_all(vec![
            ("wrong aud".into(), Mutation::WrongAudience),
            ("missing aud".into(), Mutation::MissingAudience),
            (
                "untrusted second aud".into(),
                Mutation::UntrustedSecondAudience,
            ),
            (
                "untrusted second aud without azp".into(),
                Mutation::UntrustedSecondAudienceWithoutAzp,
            ),
        ])
        .await?;
    bench
        .rejects(
            bench.forge_with(|b| b.claim("azp", "another-client")),
            "azp another client",
        )
        .await?;
    bench
        .accepts(
            bench.forge_with(|b| b.audience(WEB_CLIENT.0)),
            "a single-element aud array",
        )
        .await?;
    Ok(Pass::new(format!(
        "{}; azp another client refused; a single-element aud array accepted",
        pass.observed
    )))
}

/// D-20, ID token.
pub async fn d20_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::DuplicateClaim(
            "sub".into(),
            json!(env::BOB),
        )]))
        .await
}

/// A valid token of this login cut up by `cut`.
fn cut_up(bench: &IdBench, cut: fn(&str) -> String) -> MakeIdToken {
    let minter = bench.web.issuer.issuer.mint();
    Box::new(move |login| Ok(cut(&base(&minter, login).sign().map_err(setup)?)))
}

/// D-21, ID token.
pub async fn d21_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let tokens: Vec<(&str, MakeIdToken)> = vec![
        (
            "two segments",
            cut_up(&bench, |t| {
                t.rsplit_once('.')
                    .map(|(m, _)| m.to_owned())
                    .unwrap_or_default()
            }),
        ),
        ("four segments", cut_up(&bench, |t| format!("{t}.AAAA"))),
        ("padding", cut_up(&bench, |t| t.replacen('.', "=.", 1))),
        (
            "array payload",
            cut_up(&bench, |t| {
                let s: Vec<&str> = t.split('.').collect();
                format!("{}.{}.{}", s[0], b64(b"[1]"), s[2])
            }),
        ),
        ("empty", IdBench::raw(String::new())),
    ];
    bench.reject_raw(tokens).await
}

/// D-22, ID token.
pub async fn d22_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let tokens: Vec<(&str, MakeIdToken)> = vec![
        (
            "JWS JSON serialization",
            cut_up(&bench, |t| {
                let s: Vec<&str> = t.split('.').collect();
                json!({"payload": s[1], "signatures": [{"protected": s[0], "signature": s[2]}]})
                    .to_string()
            }),
        ),
        (
            "five-part JWE",
            cut_up(&bench, |t| {
                let s: Vec<&str> = t.split('.').collect();
                format!("{}.AAAA.AAAA.{}.AAAA", s[0], s[1])
            }),
        ),
    ];
    bench.reject_raw(tokens).await
}

/// D-23, ID token.
pub async fn d23_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let big = bench.forge_with(|b| b.claim("pad", "x".repeat(64 * 1024)));
    bench.reject_raw(vec![("a 64 KiB claim", big)]).await
}

/// D-24, ID token: from a second issuer with the same kid (the trusted server's tenant).
pub async fn d24_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let kid = bench
        .web
        .issuer
        .issuer
        .keys()
        .into_iter()
        .find(|k| k.signing && k.alg == oidc_forge::config::SigningAlg::RS256)
        .map(|k| k.kid)
        .unwrap_or_default();
    let (other, server) = second_issuer(&bench.web.issuer.issuer, &kid).await?;
    let foreign = other.mint();
    let make: MakeIdToken = Box::new(move |login| base(&foreign, login).sign().map_err(setup));
    let pass = bench
        .reject_raw(vec![(
            "an ID token of a second issuer (a tenant of the same server) with the same kid",
            make,
        )])
        .await?;
    drop(server);
    Ok(pass)
}
