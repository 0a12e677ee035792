//! Where the verifying key comes from: foreign keys, embedded and URL-named keys, `kid`
//! injection, unknown, flooded, missing and rotated-out `kid`s (RFC 8725 3.10; Core 10.1.1).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::env::AttackerServer;
use crate::mint::{Signer, with, without};
use crate::runner::api_flow::{all_rejected, expect_invalid_token, expect_ok, forge_cases, forged};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::target::{ApiTarget, TargetClock};
use crate::{ensure, ensure_eq};
use oidc_forge::Endpoint;
use oidc_forge::forge::mint::Mutation;

use super::*;

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

/// A token signed by the issuer's genuine key under a `kid` it does not publish, accepted:
/// the app took the kid as a hint and tried its keys (RFC 7515 4.1.4). No forgery, so a
/// warning, not a failure; `true` when so (the rows then show the attacker's key refused).
fn accepted_as_a_hint(answer: &crate::http::Answer, what: &str) -> Result<bool, Failure> {
    if !(200..300).contains(&answer.status) {
        return Ok(false);
    }
    crate::scenario::unshaped(format!(
        "{what}, signed by the issuer's genuine key: accepted with {}: the app took the kid as a hint and tried its keys (RFC 7515 4.1.4); no forgery, but a kid that names no key is better refused",
        answer.status
    ))?;
    Ok(true)
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
        let answer = target.bearer(route, token).await?;
        if accepted_as_a_hint(&answer, what)? {
            continue;
        }
        refused(&target, route, token, what).await?;
    }
    // The same kids on the attacker's key: taken as a hint or not, no key of the issuer's
    // verifies these, so each must be refused.
    let forged: Vec<(String, String)> = [
        ("path traversal", json!("../../../../dev/null")),
        ("SQL", json!("' OR 1=1--")),
    ]
    .into_iter()
    .map(|(what, kid)| {
        let h = with(header.clone(), &[("kid", kid)]).to_string();
        (
            format!("kid {what} on the attacker's key"),
            target
                .mint
                .sign_text(&h, &claims.to_string(), Signer::Attacker),
        )
    })
    .collect();
    for (what, token) in &forged {
        refused(&target, route, token, what).await?;
    }
    // Still serving, and still accepting the valid token: nothing crashed.
    route_with_twin(&target).await?;
    Ok(Pass::new(format!(
        "{}, {}: refused; the valid twin still passes afterwards",
        names(&tokens),
        names(&forged)
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
    let answer = target.bearer(route, &unknown).await?;
    if !accepted_as_a_hint(&answer, "a kid nobody publishes")? {
        expect_invalid_token(&answer, "a kid nobody publishes")?;
    }
    let forged = target
        .mint
        .sign_text(&h.to_string(), &claims.to_string(), Signer::Attacker);
    expect_invalid_token(
        &target.bearer(route, &forged).await?,
        "a kid nobody publishes, on the attacker's key",
    )?;
    seen.push(
        "a kid nobody publishes: 401 invalid_token, on the issuer's key and the attacker's".into(),
    );
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
    // The spawned requests are not this row's log: no exchange stands for them.
    crate::evidence::forget_last();
    let mut hinted = false;
    for task in tasks {
        let answer = task.await.map_err(setup)??;
        if (200..300).contains(&answer.status) && hinted {
            continue;
        }
        if accepted_as_a_hint(&answer, "a random kid")? {
            hinted = true;
            continue;
        }
        expect_invalid_token(&answer, "a random kid")?;
    }
    // Saturating: the issuer's request log is bounded and may be cleared, so a count taken
    // later is not guaranteed to be the larger.
    let fetches = target
        .issuer
        .requests_to(Endpoint::Jwks)
        .len()
        .saturating_sub(before);
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
