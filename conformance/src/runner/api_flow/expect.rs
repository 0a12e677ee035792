//! The assertions of group B, shared with the forgeries of group D: what a refusal is, how it
//! is graded (an acceptance or a crash fails, a refusal not shaped as RFC 6750 says warns),
//! and the valid twin and forge-minted tokens each row presents.

use serde_json::Value;

use crate::http::{Answer, shorten};
use oidc_forge::forge::mint::Mutation;

use crate::ensure;
use crate::scenario::{Failure, case, unshaped};
use crate::target::{ApiTarget, Route};

/// Asserts a 2xx: the valid twin, or an accepted variant.
pub fn expect_ok(answer: &Answer, what: &str) -> Result<(), Failure> {
    ensure!(
        (200..300).contains(&answer.status),
        "{what}: expected 2xx, got {}: {}",
        answer.status,
        shorten(&answer.body)
    );
    Ok(())
}

/// Asserts RFC 6750 3.1 `invalid_token`: 401 with `WWW-Authenticate: Bearer ...
/// error="invalid_token"`. Accepting the token (any 2xx or 3xx) or crashing (5xx) fails; a
/// refusal shaped otherwise (another 4xx, no challenge, another error code) is a warning.
pub fn expect_invalid_token(answer: &Answer, what: &str) -> Result<(), Failure> {
    expect_bearer_error(answer, what, 401, "invalid_token")
}

/// A refusal with `status` and `WWW-Authenticate: Bearer error="ERROR"` (RFC 6750 3.1); a
/// refusal shaped otherwise is noted, an acceptance or a crash fails.
pub(super) fn expect_bearer_error(
    answer: &Answer,
    what: &str,
    status: u16,
    error: &str,
) -> Result<(), Failure> {
    if !refusal(answer, what, &format!("{status} {error}"))? {
        // Not a refusal: graded above, whatever its challenge says.
        return Ok(());
    }
    let challenge = answer.challenge().unwrap_or_default();
    if answer.status != status {
        unshaped(format!(
            "{what}: refused with {}, not {status} {error} (RFC 6750 3.1): {}",
            answer.status,
            shorten(&answer.body)
        ))
    } else if !(is_bearer(challenge) && challenge.contains(&format!("error=\"{error}\""))) {
        unshaped(format!(
            "{what}: refused with {status}, but WWW-Authenticate is {challenge:?}, not Bearer error=\"{error}\" (RFC 6750 3, 3.1)"
        ))
    } else {
        Ok(())
    }
}

/// Fails when the application did not refuse at all: it answered 2xx (the request went
/// through) or 5xx (it crashed); a 3xx is noted. Any 4xx is a refusal, whatever its shape.
/// Inside a graded row the failure is noted and the row goes on to its other cases: `false`
/// then says that there is no refusal whose shape to judge.
pub fn refusal(answer: &Answer, what: &str, expected: &str) -> Result<bool, Failure> {
    let hole = match answer.status {
        400..=499 => return Ok(true),
        // The valid twin got a 2xx: a redirect (to a login page, say) did not serve the
        // resource, so it is a refusal, if not one RFC 6750 describes.
        300..=399 => {
            unshaped(format!(
                "{what}: refused by a redirect ({}), not {expected} (RFC 6750 3)",
                answer.status
            ))?;
            return Ok(false);
        }
        500.. => format!(
            "{what}: crashed with {} (expected {expected}): {}",
            answer.status,
            shorten(&answer.body)
        ),
        status => format!(
            "{what}: accepted with {status} (expected {expected}): {}",
            shorten(&answer.body)
        ),
    };
    // The row goes on to its other cases, so one hole never hides the next (issue 15).
    case::<()>(Err(Failure::mismatch(hole))).map(|_| false)
}

/// Whether a challenge uses the Bearer scheme (case-insensitive, RFC 9110 11.1).
pub(super) fn is_bearer(challenge: &str) -> bool {
    challenge
        .split([' ', ','])
        .next()
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"))
}

/// Presents `token` on `route`, expecting `invalid_token`.
pub(super) async fn rejects(
    target: &ApiTarget,
    route: &Route,
    token: &str,
    what: &str,
) -> Result<(), Failure> {
    expect_invalid_token(&target.bearer(route, token).await?, what)
}

/// Presents `token` on `route`, expecting 2xx.
pub(super) async fn accepts(
    target: &ApiTarget,
    route: &Route,
    token: &str,
    what: &str,
) -> Result<(), Failure> {
    expect_ok(&target.bearer(route, token).await?, what)
}

/// Signs `claims` with the issuer's key and the access-token header.
pub(super) fn signed(target: &ApiTarget, claims: &Value) -> String {
    target.mint.sign(&target.mint.access_header(), claims)
}

/// An access token for `route` minted by the issuer's forge (`MockIssuer::mint`), wrong in the
/// ways `mutations` name; with none, the forge's valid twin.
pub fn forged(
    target: &ApiTarget,
    route: &Route,
    mutations: Vec<Mutation>,
) -> Result<String, Failure> {
    target
        .issuer
        .mint()
        .access_token()
        .user(&target.mint.profile.sub)
        .client(&target.mint.profile.client_id)
        .scopes(route.scopes.clone())
        .permissions(route.permissions.clone())
        .mutations(mutations)
        .sign()
        .map_err(crate::scenario::setup)
}

/// Forge-minted tokens for `route`, one per mutation, named `forge <Mutation>`.
pub fn forge_cases(
    target: &ApiTarget,
    route: &Route,
    mutations: Vec<Mutation>,
) -> Result<Vec<(String, String)>, Failure> {
    mutations
        .into_iter()
        .map(|m| {
            Ok((
                format!("forge {}", mutation_name(&m)),
                forged(target, route, vec![m])?,
            ))
        })
        .collect()
}

/// A mutation's name for messages: its `Debug` form, cut to 60 characters (a 10 KB `kid` is
/// not worth printing).
pub fn mutation_name(mutation: &Mutation) -> String {
    let full = format!("{mutation:?}");
    if full.chars().count() <= 60 {
        full
    } else {
        format!("{}…", full.chars().take(59).collect::<String>())
    }
}

/// Presents each token, expecting `invalid_token`.
pub async fn all_rejected(
    target: &ApiTarget,
    route: &Route,
    tokens: &[(String, String)],
) -> Result<(), Failure> {
    for (what, token) in tokens {
        expect_invalid_token(&target.bearer(route, token).await?, what)?;
    }
    Ok(())
}

/// The valid twin for `route`, shown to pass first.
pub async fn twin(target: &ApiTarget, route: &Route) -> Result<(), Failure> {
    accepts(target, route, &target.token_for(route), "the valid twin").await?;
    accepts(
        target,
        route,
        &forged(target, route, Vec::new())?,
        "the forge's valid twin",
    )
    .await
}

/// A warning unless `holds`: the refusal is there, its shape is not as the RFC says.
pub(super) fn shaped(holds: bool, message: impl FnOnce() -> String) -> Result<(), Failure> {
    if holds { Ok(()) } else { unshaped(message()) }
}
