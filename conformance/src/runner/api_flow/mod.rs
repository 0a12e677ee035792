//! Group B: bearer tokens on the protected routes of an API application, minted by the issuer
//! the application trusts. The same functions run against the client's API example under
//! `cargo test` and against any application with the `check` command. The assertions the rows
//! share with group D are in `expect`.

mod expect;

pub use expect::*;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::http::{Answer, in_error_charset, shorten};
use oidc_forge::forge::mint::Mutation;

use crate::mint::{with, without};
use crate::scenario::{Failure, Outcome, Pass, unshaped};
use crate::target::{ApiTarget, Route};
use crate::{ensure, ensure_eq};
use expect::{accepts, expect_bearer_error, is_bearer, rejects, shaped, signed};

/// B-01: a valid token with the required scopes and permissions.
pub async fn b01_valid_token(target: Arc<ApiTarget>) -> Outcome {
    let mut passed = Vec::new();
    for route in target.routes.routes.iter() {
        let answer = target.bearer(route, &target.token_for(route)).await?;
        expect_ok(&answer, &route.path)?;
        passed.push(format!("{} {}", route.path, answer.status));
    }
    // "The user is optional": these routes ask for the token only, so the in-process app
    // must not have called UserInfo (another app may, as it likes).
    if matches!(target.clock, crate::target::TargetClock::Fixed(_)) {
        let calls = target
            .issuer
            .requests_to(oidc_forge::Endpoint::Userinfo)
            .len();
        ensure_eq!(calls, 0, "UserInfo calls for token-only routes");
        passed.push("no UserInfo call".into());
    }
    Ok(Pass::new(passed.join(", ")))
}

/// B-02: no `Authorization` header.
pub async fn b02_no_token(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let answer = target.call(route, None).await?;
    if !refusal(&answer, "no token", "401 with a Bearer challenge")? {
        return Ok(Pass::new("no token: not refused"));
    }
    shaped(answer.status == 401, || {
        format!(
            "no token: refused with {}, not 401 (RFC 6750 3)",
            answer.status
        )
    })?;
    let challenge = answer.challenge().unwrap_or_default();
    shaped(is_bearer(challenge), || {
        format!(
            "no token: refused with 401, but WWW-Authenticate is {challenge:?}, not a Bearer challenge (RFC 6750 3)"
        )
    })?;
    shaped(!challenge.contains("error="), || {
        format!(
            "no token: the challenge should carry no error code without a token (RFC 6750 3.1): {challenge:?}"
        )
    })?;
    Ok(Pass::new(format!("401, WWW-Authenticate: {challenge}")))
}

/// B-03: another scheme, or `Bearer` with nothing after it.
pub async fn b03_wrong_scheme_or_empty_bearer(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let basic = target.call(route, Some("Basic YWxpY2U6c2VjcmV0")).await?;
    let basic_refused = refusal(&basic, "Basic credentials", "401")?;
    // `Bearer` alone is a malformed request (400 invalid_request, RFC 6750 3.1), and a 401
    // invalid_token is acceptable too: both refuse, neither is a hole.
    let empty = target.call(route, Some("Bearer")).await?;
    let empty_refused = refusal(
        &empty,
        "`Bearer` alone",
        "400 invalid_request or 401 invalid_token",
    )?;
    if !(basic_refused && empty_refused) {
        return Ok(Pass::new("not refused"));
    }
    shaped(basic.status == 401, || {
        format!(
            "Basic credentials: refused with {}, not 401 (RFC 6750 3)",
            basic.status
        )
    })?;
    shaped(
        !basic.challenge().unwrap_or_default().contains("error="),
        || {
            format!(
                "Basic is no bearer token at all: no error code expected (RFC 6750 3.1), got {:?}",
                basic.challenge()
            )
        },
    )?;
    let challenge = empty.challenge().unwrap_or_default();
    let fitting = match empty.status {
        400 => challenge.contains("error=\"invalid_request\""),
        401 => challenge.contains("error=\"invalid_token\""),
        _ => false,
    };
    shaped(is_bearer(challenge) && fitting, || {
        format!(
            "`Bearer` alone: refused with {} and WWW-Authenticate {challenge:?}, not 400 invalid_request or 401 invalid_token (RFC 6750 3.1)",
            empty.status
        )
    })?;
    Ok(Pass::new(format!(
        "Basic: 401 without error code; `Bearer` alone: {} {challenge}",
        empty.status
    )))
}

/// B-04: the scheme in another letter case.
pub async fn b04_scheme_case_insensitive(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    let token = target.token_for(route);
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let answer = target
            .call(route, Some(&format!("{scheme} {token}")))
            .await?;
        expect_ok(&answer, scheme)?;
    }
    Ok(Pass::new("bearer, BEARER, bEaReR: 2xx"))
}

/// B-05: the token in the query string.
pub async fn b05_token_in_query(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    let token = target.token_for(route);
    twin(&target, route).await?;
    let url = format!("{}?access_token={token}", target.url_of(route));
    let answer = target.call_url(&url, None).await?;
    if !refusal(&answer, "a query token", "400 or 401")? {
        return Ok(Pass::new("a query token: not refused"));
    }
    shaped(matches!(answer.status, 400 | 401), || {
        format!(
            "a query token: refused with {}, not 400 or 401 (RFC 6750 2.3, 3.1)",
            answer.status
        )
    })?;
    Ok(Pass::new(format!("?access_token=: {}", answer.status)))
}

/// B-06: `exp` in the past beyond the leeway.
pub async fn b06_expired(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let now = target.now();
    // Saturating: a clock near the epoch (the system clock's `now` is 0 before it) must not
    // make a debug build panic; the times only get earlier, which is still "expired".
    let ago = target.routes.leeway + target.margin() + 10;
    let exp = now.saturating_sub(ago);
    let claims = with(
        target.claims_for(route),
        &[("exp", json!(exp)), ("iat", json!(exp.saturating_sub(300)))],
    );
    rejects(&target, route, &signed(&target, &claims), "expired").await?;
    all_rejected(
        &target,
        route,
        &forge_cases(&target, route, vec![Mutation::Expired])?,
    )
    .await?;
    Ok(Pass::new(format!(
        "exp = now - {ago} s, and the forge's Expired (an hour ago): 401 invalid_token"
    )))
}

/// B-07: `exp` inside the leeway, and the boundary.
pub async fn b07_leeway_boundary(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    let now = target.now();
    let leeway = target.routes.leeway;
    let margin = target.margin();
    let token = |exp: u64| {
        signed(
            &target,
            &with(
                target.claims_for(route),
                &[("exp", json!(exp)), ("iat", json!(exp.saturating_sub(300)))],
            ),
        )
    };
    // Relative to now, as the message shows them: signed, since with a small leeway the
    // accepted expiry can lie after now.
    let offset = |exp: u64| exp as i64 - now as i64;
    let mut accepted = Vec::new();
    // Inside: half the leeway ago, when that is still inside whatever the clocks' margin
    // (with a leeway of 0 or 1 there is no such second).
    //
    // Every time below is computed with saturating arithmetic: a routes file may give any
    // leeway from 0 to MAX_LEEWAY, and the terms must never be subtracted in an order that
    // underflows (`leeway - 1 - margin` once did at leeway 0), nor below a clock near 0.
    if leeway / 2 + margin < leeway {
        let exp = now.saturating_sub(leeway / 2);
        accepts(&target, route, &token(exp), "exp = now - leeway/2").await?;
        accepted.push(offset(exp));
    }
    // RFC 7519 4.1.4: "on or after" exp (plus leeway) is expired, so the boundary second is
    // out, and the last second inside is exp = now - leeway + 1.
    let last_inside = (now + 1 + margin).saturating_sub(leeway);
    accepts(
        &target,
        route,
        &token(last_inside),
        "exp one second inside the leeway",
    )
    .await?;
    accepted.push(offset(last_inside));
    let at_boundary = now.saturating_sub(leeway + margin);
    rejects(
        &target,
        route,
        &token(at_boundary),
        "exp exactly at the leeway",
    )
    .await?;
    // "A few minutes" at most (RFC 7519 4.1.4, "usually no more than a few minutes", not a
    // MUST): ten minutes ago is refused by an app within that; one whose routes file declares
    // more only warns, as its declared leeway is its own.
    let ten_minutes_ago = target
        .bearer(route, &token(now.saturating_sub(600)))
        .await?;
    if leeway + margin < 600 {
        expect_invalid_token(&ten_minutes_ago, "exp ten minutes ago")?;
    } else if (200..300).contains(&ten_minutes_ago.status) {
        unshaped(format!(
            "exp ten minutes ago: accepted under the declared leeway of {leeway} s, more than RFC 7519 4.1.4's \"few minutes\""
        ))?;
    } else {
        expect_invalid_token(&ten_minutes_ago, "exp ten minutes ago")?;
    }
    let accepted: Vec<String> = accepted.iter().map(|o| format!("now{o:+}")).collect();
    Ok(Pass::new(format!(
        "leeway {leeway} s (margin {margin} s): exp {} accepted; exp now{:+} and now-600 refused",
        accepted.join(" and "),
        offset(at_boundary)
    )))
}

/// B-08: `nbf` in the future.
pub async fn b08_not_before(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    let now = target.now();
    let claims = |nbf: u64| with(target.claims_for(route), &[("nbf", json!(nbf))]);
    accepts(&target, route, &signed(&target, &claims(now)), "nbf = now").await?;
    let ahead = target.routes.leeway + target.margin() + 60;
    rejects(
        &target,
        route,
        &signed(&target, &claims(now + ahead)),
        "nbf in the future",
    )
    .await?;
    Ok(Pass::new(format!(
        "nbf = now: 2xx; nbf = now + {ahead} s: 401 invalid_token"
    )))
}

/// B-09: `iat` in the future beyond the skew.
///
/// No rule makes this token invalid: RFC 7519 4.1.6 makes `iat` informational ("can be used
/// to determine the age of the JWT"), RFC 9068 4 lists what a resource server MUST check of an
/// access token without `iat`, and RFC 8725 adds no `iat` rule. Refusing it is hardening (OpenID
/// Core 3.1.3.7 (10) lets an ID token "issued too far away from the current time" be refused),
/// so a refusal passes, an acceptance is a WARN and never a FAIL, and a crash still fails.
pub async fn b09_issued_in_future(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let now = target.now();
    // The OpenID suite uses five minutes.
    let ahead = target.routes.leeway.max(300) + target.margin() + 60;
    let iat = now + ahead;
    let claims = with(
        target.claims_for(route),
        &[("iat", json!(iat)), ("exp", json!(iat + 300))],
    );
    let answer = target.bearer(route, &signed(&target, &claims)).await?;
    if (200..300).contains(&answer.status) {
        unshaped(format!(
            "iat = now + {ahead} s: accepted with {}; no hole (RFC 9068 4 requires no iat check of an access token, RFC 7519 4.1.6 makes iat informational, RFC 8725 has no iat rule), but a token issued in the future points at a skewed or misbehaving issuer, and refusing it is hardening (a SHOULD-level concern at most, as OpenID Core 3.1.3.7 (10) does for ID tokens)",
            answer.status
        ))?;
        return Ok(Pass::new(format!(
            "iat = now + {ahead} s: accepted with {} (allowed: RFC 9068 4 requires no iat check)",
            answer.status
        )));
    }
    // A refusal is graded like any other: 401 invalid_token, or a WARN for another shape; a
    // 5xx is a crash and fails.
    expect_invalid_token(&answer, "iat in the future")?;
    Ok(Pass::new(format!(
        "iat = now + {ahead} s: {} refused",
        answer.status
    )))
}

/// B-10: `exp` missing.
pub async fn b10_exp_missing(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let claims = without(target.claims_for(route), &["exp"]);
    rejects(&target, route, &signed(&target, &claims), "no exp").await?;
    all_rejected(
        &target,
        route,
        &forge_cases(&target, route, vec![Mutation::MissingClaim("exp".into())])?,
    )
    .await?;
    Ok(Pass::new("no exp: 401 invalid_token"))
}

/// Variants of an issuer identifier that a string comparison must tell apart.
pub fn issuer_variants(iss: &str) -> Vec<(&'static str, String)> {
    let mut variants = vec![("trailing slash", format!("{iss}/"))];
    if let Some(rest) = iss.strip_prefix("http://") {
        variants.push(("https instead of http", format!("https://{rest}")));
    } else if let Some(rest) = iss.strip_prefix("https://") {
        variants.push(("http instead of https", format!("http://{rest}")));
    }
    let upper = iss.to_uppercase();
    if upper != iss {
        variants.push(("upper case", upper));
    }
    variants.push(("another issuer", "https://evil.example".to_owned()));
    variants
}

/// B-11: a wrong `iss`.
pub async fn b11_wrong_issuer(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let variants = issuer_variants(target.mint.iss());
    for (what, iss) in &variants {
        let claims = with(target.claims_for(route), &[("iss", json!(iss))]);
        rejects(&target, route, &signed(&target, &claims), what).await?;
    }
    let missing = without(target.claims_for(route), &["iss"]);
    rejects(&target, route, &signed(&target, &missing), "no iss").await?;
    all_rejected(
        &target,
        route,
        &forge_cases(
            &target,
            route,
            vec![Mutation::WrongIssuer, Mutation::IssuerTrailingSlash],
        )?,
    )
    .await?;
    Ok(Pass::new(format!(
        "{} and no iss: 401 invalid_token",
        variants
            .iter()
            .map(|(what, _)| *what)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// B-12: `aud` missing, foreign, or an array including the API.
pub async fn b12_audience(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    let api_aud = target.mint.profile.aud.first().cloned().unwrap_or_default();
    let claims = |aud: Option<Value>| match aud {
        Some(aud) => with(target.claims_for(route), &[("aud", aud)]),
        None => without(target.claims_for(route), &["aud"]),
    };
    rejects(&target, route, &signed(&target, &claims(None)), "no aud").await?;
    rejects(
        &target,
        route,
        &signed(&target, &claims(Some(json!(["another-api"])))),
        "aud another API",
    )
    .await?;
    rejects(
        &target,
        route,
        &signed(&target, &claims(Some(json!(format!("{api_aud}-suffix"))))),
        "aud a prefix match",
    )
    .await?;
    accepts(
        &target,
        route,
        &signed(&target, &claims(Some(json!(["another-api", api_aud])))),
        "aud array including the API",
    )
    .await?;
    accepts(
        &target,
        route,
        &signed(&target, &claims(Some(json!(api_aud)))),
        "aud a single string",
    )
    .await?;
    Ok(Pass::new(
        "no aud, another API, a prefix match: 401; an array including the API and a plain string: 2xx",
    ))
}

/// B-13: an ID token presented as an access token.
pub async fn b13_id_token_as_access_token(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let now = target.now();
    let profile = &target.mint.profile;
    // What the issuer puts in an ID token for this client: aud = client_id, no scope.
    let id_claims = json!({
        "iss": target.mint.iss(), "sub": profile.sub, "aud": [profile.client_id],
        "azp": profile.client_id, "exp": now + 300, "iat": now, "auth_time": now,
        "acr": "0", "nonce": "n-1", "email": "alice@example.com",
    });
    for typ in [Some("JWT"), None] {
        let mut header = json!({"alg": "RS256", "kid": target.mint.kid()});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        rejects(
            &target,
            route,
            &target.mint.sign(&header, &id_claims),
            &format!("ID token with typ {typ:?}"),
        )
        .await?;
    }
    // Even carrying the access token's claims, a JWT-typed token is not an access token.
    let typed = target.mint.sign(
        &json!({"alg": "RS256", "kid": target.mint.kid(), "typ": "JWT"}),
        &target.claims_for(route),
    );
    rejects(&target, route, &typed, "access claims with typ JWT").await?;
    Ok(Pass::new(
        "ID tokens (typ JWT, no typ) and access claims typed JWT: 401 invalid_token",
    ))
}

/// A route requiring a scope.
fn scoped(target: &ApiTarget) -> Result<&Route, Failure> {
    target.route("route that requires a scope", |r| !r.scopes.is_empty())
}

/// Expects RFC 6750 3.1 `insufficient_scope`: 403 with the error in a Bearer challenge.
/// As with [`expect_invalid_token`], accepting or crashing fails and a refusal shaped
/// otherwise is a warning.
pub fn expect_forbidden(answer: &Answer, what: &str) -> Result<(), Failure> {
    expect_bearer_error(answer, what, 403, "insufficient_scope")
}

/// A permission missing: refused (Fief answers 403 without a challenge of its own, as
/// permissions are no OAuth scope), a status other than 403 a warning.
fn forbidden_status(answer: &Answer, what: &str) -> Result<(), Failure> {
    if !refusal(answer, what, "403")? {
        return Ok(());
    }
    shaped(answer.status == 403, || {
        format!(
            "{what}: refused with {}, not 403 (RFC 6750 3.1): {}",
            answer.status,
            shorten(&answer.body)
        )
    })
}

/// B-14: a required scope missing.
pub async fn b14_missing_scope(target: Arc<ApiTarget>) -> Outcome {
    let route = scoped(&target)?;
    twin(&target, route).await?;
    let missing = route.scopes.last().cloned().unwrap_or_default();
    let kept: Vec<String> = route
        .scopes
        .iter()
        .filter(|s| **s != missing)
        .cloned()
        .collect();
    let claims = with(
        target.claims_for(route),
        &[("scope", json!(kept.join(" ")))],
    );
    let answer = target.bearer(route, &signed(&target, &claims)).await?;
    expect_forbidden(&answer, &format!("without `{missing}`"))?;
    let forge = forged(
        &target,
        route,
        vec![Mutation::WithoutScope(missing.clone())],
    )?;
    expect_forbidden(&target.bearer(route, &forge).await?, "forge WithoutScope")?;
    let challenge = answer.challenge().unwrap_or_default();
    // RFC 6750 3: the `scope` attribute MAY name the scope needed; a recommendation, not a rule.
    shaped(
        challenge.contains("scope=\"") && challenge.contains(missing.as_str()),
        || {
            format!(
                "refused with 403 insufficient_scope, but the challenge does not name the required scope `{missing}` (a MAY of RFC 6750 3): {challenge:?}"
            )
        },
    )?;
    Ok(Pass::new(format!("403, WWW-Authenticate: {challenge}")))
}

/// B-15: the scope present, a permission missing.
pub async fn b15_missing_permission(target: Arc<ApiTarget>) -> Outcome {
    let route = target.route("route that requires a permission", |r| {
        !r.permissions.is_empty()
    })?;
    twin(&target, route).await?;
    let claims = with(
        target.claims_for(route),
        &[("permissions", json!(["unrelated:perm"]))],
    );
    let answer = target.bearer(route, &signed(&target, &claims)).await?;
    forbidden_status(&answer, "an unrelated permission")?;
    let permission = route.permissions.first().cloned().unwrap_or_default();
    let forge = forged(
        &target,
        route,
        vec![Mutation::WithoutPermission(permission)],
    )?;
    forbidden_status(
        &target.bearer(route, &forge).await?,
        "forge WithoutPermission",
    )?;
    let missing = without(target.claims_for(route), &["permissions"]);
    let answer = target.bearer(route, &signed(&target, &missing)).await?;
    forbidden_status(&answer, "no permissions claim")?;
    Ok(Pass::new(format!(
        "{} without {:?}: 403 (also with no permissions claim)",
        route.path, route.permissions
    )))
}

/// B-16: scope tokens are space-delimited, case-sensitive, matched exactly.
pub async fn b16_scope_parsing(target: Arc<ApiTarget>) -> Outcome {
    let route = scoped(&target)?;
    // The scope to play with: a non-`openid` one when there is one.
    let scope = route
        .scopes
        .iter()
        .find(|s| *s != "openid")
        .or(route.scopes.first())
        .cloned()
        .unwrap_or_default();
    let others: Vec<String> = route
        .scopes
        .iter()
        .filter(|s| **s != scope)
        .cloned()
        .collect();
    let with_scope = |replacement: &str| {
        let mut all = others.clone();
        all.push(replacement.to_owned());
        with(target.claims_for(route), &[("scope", json!(all.join(" ")))])
    };
    let mut reversed = route.scopes.clone();
    reversed.reverse();
    reversed.push("unrelated".into());
    let reordered = with(
        target.claims_for(route),
        &[("scope", json!(reversed.join(" ")))],
    );
    accepts(
        &target,
        route,
        &signed(&target, &reordered),
        "reordered, with an extra scope",
    )
    .await?;
    let mut refused = Vec::new();
    let mut variants = vec![format!("{scope}:all"), format!("x{scope}")];
    if scope.to_uppercase() != scope {
        variants.push(scope.to_uppercase());
    }
    for variant in &variants {
        let answer = target
            .bearer(route, &signed(&target, &with_scope(variant)))
            .await?;
        expect_forbidden(&answer, &format!("`{variant}` instead of `{scope}`"))?;
        refused.push(variant.clone());
    }
    if !others.is_empty() {
        let commas = with(
            target.claims_for(route),
            &[("scope", json!(route.scopes.join(",")))],
        );
        let answer = target.bearer(route, &signed(&target, &commas)).await?;
        expect_forbidden(&answer, "comma-separated scopes")?;
        refused.push(route.scopes.join(","));
    }
    Ok(Pass::new(format!(
        "reordered + extra: 2xx; {} instead of `{scope}`: 403",
        refused.join(", ")
    )))
}

/// B-17: an optional-user route.
pub async fn b17_optional_route(target: Arc<ApiTarget>) -> Outcome {
    let route = target.optional_route()?;
    let anonymous = target.call(route, None).await?;
    expect_ok(&anonymous, "no token")?;
    accepts(&target, route, &target.token_for(route), "a valid token").await?;
    let forged = target.mint.sign_text(
        &target.mint.access_header().to_string(),
        &target.claims_for(route).to_string(),
        crate::mint::Signer::Attacker,
    );
    rejects(&target, route, &forged, "a forged token").await?;
    rejects(&target, route, "not.a.jwt", "garbage").await?;
    Ok(Pass::new(
        "no token: 2xx anonymous; valid: 2xx; forged or garbage: 401 invalid_token",
    ))
}

/// B-18: the issuer's JWKS unreachable (forge: a scripted fault on the JWKS endpoint).
pub async fn b18_jwks_unreachable(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    let fault = target.issuer.faults().jwks_unreachable();
    let outcome = async {
        match &target.clock {
            // A fresh in-process app has never fetched the keys: nothing to fall back on.
            crate::target::TargetClock::Fixed(clock) => {
                let answer = target.bearer(route, &target.token_for(route)).await?;
                ensure!(
                    (500..600).contains(&answer.status),
                    "no keys and none reachable: fail closed with 5xx, got {}: {}",
                    answer.status,
                    shorten(&answer.body)
                );
                target.issuer.faults().clear_fault(fault);
                // The twin: once the JWKS is back (and the app's cooldown has passed), 2xx.
                clock.advance(31);
                accepts(&target, route, &target.token_for(route), "JWKS back").await?;
                Ok(Pass::new(format!(
                    "JWKS unreachable before any fetch: {}; reachable again: 2xx",
                    answer.status
                )))
            }
            // Any other app may hold keys already: a kid it cannot have must not pass.
            crate::target::TargetClock::System => {
                let h = with(
                    target.mint.access_header(),
                    &[("kid", json!("kid-behind-an-unreachable-jwks"))],
                );
                let answer = target
                    .bearer(route, &target.mint.sign(&h, &target.claims_for(route)))
                    .await?;
                // The documented fail-closed answers, and only those: a 404 or a 400 would
                // mean the route or the request was wrong, not that the app failed closed.
                ensure!(
                    (500..600).contains(&answer.status) || answer.status == 401,
                    "an unverifiable token while the JWKS is unreachable: expected 5xx (fail closed) or 401 (a kid the app cannot fetch), got {}: {}",
                    answer.status,
                    shorten(&answer.body)
                );
                Ok(Pass::new(format!(
                    "JWKS unreachable, unknown kid: {} (fail closed)",
                    answer.status
                )))
            }
        }
    }
    .await;
    target.issuer.faults().clear_fault(fault);
    outcome
}

/// B-19: error responses do not echo the token and keep `error_description` in the charset.
///
/// RFC 6750 3: the challenge's `error_description` is human-readable text within
/// %x20-21 / %x23-5B / %x5D-7E; and a token is a credential, never to be reflected. The valid
/// twin is shown to pass first, so an app that refuses everything does not pass by accident.
pub async fn b19_error_responses(target: Arc<ApiTarget>) -> Outcome {
    let route = target.protected()?;
    twin(&target, route).await?;
    let now = target.now();
    let expired = signed(
        &target,
        &with(
            target.claims_for(route),
            &[
                ("exp", json!(now.saturating_sub(3600))),
                ("iat", json!(now.saturating_sub(7200))),
            ],
        ),
    );
    let foreign = target.mint.sign_text(
        &target.mint.access_header().to_string(),
        &target.claims_for(route).to_string(),
        crate::mint::Signer::Attacker,
    );
    // A `"` and a `\` in the token would end up in error_description if it were echoed.
    let hostile = format!("{}\"\\", target.token_for(route));
    let mut checked = 0;
    for (what, token) in [
        ("expired", &expired),
        ("forged", &foreign),
        ("quote and backslash", &hostile),
    ] {
        let answer = target.bearer(route, token).await?;
        // Every one of these must be refused (2xx is an acceptance, 5xx a crash: FAIL); the
        // shape of the refusal is the other rows' concern, this one reads what it says.
        refusal(&answer, what, "a 4xx")?;
        let signature = token.rsplit('.').next().unwrap_or(token);
        for (name, value) in answer.headers.iter() {
            let value = value.to_str().unwrap_or_default();
            ensure!(
                !value.contains(signature),
                "{what}: header {name} echoes the token"
            );
        }
        ensure!(
            !answer.body.contains(signature),
            "{what}: the body echoes the token"
        );
        let challenge = answer.challenge().unwrap_or_default();
        if let Some(start) = challenge.find("error_description=\"") {
            let rest = &challenge[start + "error_description=\"".len()..];
            let description = rest.split('"').next().unwrap_or_default();
            ensure!(
                in_error_charset(description),
                "{what}: error_description outside the RFC 6750 3 charset: {description:?}"
            );
        }
        if let Ok(body) = answer.json()
            && let Some(description) = body["error_description"].as_str()
        {
            ensure!(
                in_error_charset(description),
                "{what}: JSON error_description outside the charset: {description:?}"
            );
        }
        checked += 1;
    }
    ensure_eq!(checked, 3, "responses checked");
    Ok(Pass::new(
        "the valid twin: 2xx; expired, forged, hostile characters: 4xx, token never echoed, error_description in charset",
    ))
}
