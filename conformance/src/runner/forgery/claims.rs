//! Header and claim defects: `crit`, `typ`, claim types, audiences, duplicate members,
//! malformed and oversized tokens, format confusion, and a token of another issuer
//! (RFC 7515 4.1.11; RFC 8725 3.8-3.11; RFC 7519 4).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::env::{self, SECOND_TENANT, WEB_CLIENT, second_tenant};
use crate::mint::{Signer, b64, with, without};
use crate::runner::api_flow::{all_rejected, expect_invalid_token, expect_ok, forge_cases};
use crate::scenario::{Failure, Outcome, Pass, setup, unshaped};
use crate::target::ApiTarget;
use oidc_forge::forge::mint::Mutation;

use super::*;

/// D-16: `crit` naming an unknown header parameter.
///
/// RFC 7515 4.1.11: "If any of the listed extension Header Parameters are not understood and
/// supported by the recipient, then the JWS is invalid": accepting an unknown critical
/// extension fails. A `crit` naming a registered member (`kid`) or empty breaks a producer's
/// MUST NOT, but for the recipient the clause says only that it "MAY consider the JWS to be
/// invalid": accepting those is a WARN, never a FAIL.
pub async fn d16_crit(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let crit = |crit: Value| {
        let mut h = with(header.clone(), &[("crit", crit)]);
        h["urn:example:unknown"] = json!(true);
        target.mint.sign(&h, &claims)
    };
    let mut unknown = vec![(
        "crit [exp-unknown]".to_owned(),
        crit(json!(["urn:example:unknown"])),
    )];
    unknown.extend(forge_cases(&target, route, vec![Mutation::CritUnknown])?);
    all_rejected(&target, route, &unknown).await?;
    let mut seen = vec![format!("{}: 401 invalid_token", names(&unknown))];
    for (what, list) in [
        ("crit naming a present member", json!(["kid"])),
        ("crit empty", json!([])),
    ] {
        let answer = target.bearer(route, &crit(list)).await?;
        if (200..300).contains(&answer.status) {
            unshaped(format!(
                "{what}: accepted with {}; a recipient MAY refuse it (RFC 7515 4.1.11: producers MUST NOT send it), so no hole, but refusing it is stricter",
                answer.status
            ))?;
            seen.push(format!("{what}: accepted (a MAY)"));
        } else {
            expect_invalid_token(&answer, what)?;
            seen.push(format!("{what}: {}", answer.status));
        }
    }
    Ok(Pass::new(seen.join("; ")))
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
///
/// RFC 7519 4 (claims) and RFC 7515 4 (header): names MUST be unique, and a parser MUST either
/// reject duplicates or use only the lexically last member. The suite cannot see which value
/// an app read, so it grades by the last one:
/// - where the last value is itself invalid (`alg` last `none`, `exp` last expired), both
///   lawful choices refuse, and accepting fails;
/// - where it is valid too (a second `sub`), rejecting and taking the last are both lawful, so
///   an acceptance is a WARN, never a FAIL: the suite cannot tell the last value from the
///   first, and a validator reading one while the application reads the other is the attack.
pub async fn d20_duplicate_members(target: Arc<ApiTarget>) -> Outcome {
    let route = route_with_twin(&target).await?;
    let (header, claims) = parts(&target, route);
    let claims_text = claims.to_string();
    let header_text = header.to_string();
    let sign = |header: &str, claims: &str| target.mint.sign_text(header, claims, Signer::Issuer);
    // Well past any leeway, so that a parser taking the last `exp` sees an expired token.
    let expired = target
        .now()
        .saturating_sub(target.routes.leeway + target.margin() + 3600);
    let must_refuse = vec![
        (
            "alg twice, the last `none`".to_owned(),
            sign(&then(&header_text, "\"alg\":\"none\"")?, &claims_text),
        ),
        (
            "exp twice, the last expired".to_owned(),
            sign(
                &header_text,
                &then(&claims_text, &format!("\"exp\":{expired}"))?,
            ),
        ),
    ];
    all_rejected(&target, route, &must_refuse).await?;
    // `"sub":"<alice>"` first, then a second `sub`: an unknown subject, and (the forge's) Bob.
    let mut either = vec![(
        "sub twice, the last an unknown subject".to_owned(),
        sign(
            &header_text,
            &then(
                &claims_text,
                "\"sub\":\"00000000-0000-0000-0000-000000000000\"",
            )?,
        ),
    )];
    either.extend(forge_cases(
        &target,
        route,
        vec![Mutation::DuplicateClaim("sub".into(), json!(env::BOB))],
    )?);
    let mut accepted = Vec::new();
    for (what, token) in &either {
        let answer = target.bearer(route, token).await?;
        if (200..300).contains(&answer.status) {
            accepted.push(what.as_str());
        } else {
            expect_invalid_token(&answer, what)?;
        }
    }
    let mut observed = format!("{}: 401 invalid_token", names(&must_refuse));
    if accepted.is_empty() {
        observed.push_str(&format!("; {}: 401 invalid_token", names(&either)));
    } else {
        unshaped(format!(
            "{}: accepted; RFC 7519 4 lets a parser take the lexically last member, but this suite cannot see whether the app read the last `sub` or the first; refusing duplicates removes the doubt",
            accepted.join(", ")
        ))?;
        observed.push_str(&format!("; {}: accepted", accepted.join(", ")));
    }
    Ok(Pass::new(observed))
}

/// `object` (compact JSON text) with `member` appended after its own members, so that `member`
/// is the lexically last of two with its name.
fn then(object: &str, member: &str) -> Result<String, Failure> {
    let open = object
        .strip_suffix('}')
        .ok_or_else(|| Failure::setup("the token's JSON is not an object"))?;
    Ok(format!("{open},{member}}}"))
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
pub(super) async fn second_issuer(
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
