//! The claim rules both token kinds share: JSON types, time (RFC 7519 4.1.4-4.1.6), the
//! issuer, audience shapes, scopes.

use serde_json::{Map, Value};

use super::*;
use crate::error::TokenError;

pub(super) fn claim_error(claim: &'static str, problem: impl Into<String>) -> TokenError {
    TokenError::Claim {
        claim,
        problem: problem.into(),
    }
}

/// A required string claim.
pub fn required_string(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<String, TokenError> {
    match claims.get(claim) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(claim_error(claim, "is empty")),
        Some(other) => Err(claim_error(
            claim,
            format!("must be a string, not {}", json_type(other)),
        )),
        None => Err(claim_error(claim, "is missing")),
    }
}

/// An optional string claim (present but not a string is an error).
pub fn optional_string(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(other) => Err(claim_error(
            claim,
            format!("must be a string, not {}", json_type(other)),
        )),
    }
}

pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A NumericDate claim (RFC 7519 2): a JSON number of seconds, never a string.
pub fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<u64>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(number)) => {
            if let Some(seconds) = number.as_u64() {
                return Ok(Some(seconds));
            }
            match number.as_f64() {
                // Fractional seconds are allowed; truncating moves exp earlier.
                Some(seconds) if (0.0..1e15).contains(&seconds) => Ok(Some(seconds as u64)),
                _ => Err(claim_error(claim, "is not a non-negative NumericDate")),
            }
        }
        Some(other) => Err(claim_error(
            claim,
            format!(
                "must be a NumericDate (a JSON number), not {}",
                json_type(other)
            ),
        )),
    }
}

/// The time claims after checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeClaims {
    /// `exp`.
    pub exp: u64,
    /// `iat`.
    pub iat: u64,
    /// `nbf`, if present.
    pub nbf: Option<u64>,
}

/// Checks `exp`, `nbf` and `iat` against `now` with `leeway` seconds of skew.
///
/// - `exp` is required (RFC 9068 2.2; Core 2) and the token is refused from
///   `exp + leeway` on: RFC 7519 4.1.4 says "on or after" the expiry, so the
///   boundary second itself is already expired.
/// - `exp` further than [`MAX_EXP_AHEAD_SECONDS`] ahead is refused (D-18).
/// - `nbf`, if present, must satisfy `now + leeway >= nbf` (RFC 7519 4.1.5).
/// - `iat` is required (RFC 9068 2.2; Core 2) and must not be in the future
///   beyond the leeway (Core 3.1.3.7(10)).
pub fn check_time(
    claims: &Map<String, Value>,
    now: u64,
    leeway: u64,
) -> Result<TimeClaims, TokenError> {
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| claim_error("exp", "is missing"))?;
    let iat = numeric_date(claims, "iat")?.ok_or_else(|| claim_error("iat", "is missing"))?;
    let nbf = numeric_date(claims, "nbf")?;
    if exp > now.saturating_add(MAX_EXP_AHEAD_SECONDS) {
        return Err(claim_error(
            "exp",
            "is more than 50 years ahead (a millisecond timestamp?)",
        ));
    }
    // RFC 7519 4.1.4: the current time MUST be before exp (plus leeway).
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired {
            expired_ago: now - exp,
            leeway,
        });
    }
    // RFC 7519 4.1.5: the current time MUST be after or equal to nbf.
    if let Some(nbf) = nbf
        && now.saturating_add(leeway) < nbf
    {
        return Err(TokenError::NotYetValid {
            seconds: nbf - now,
            leeway,
        });
    }
    // Core 3.1.3.7(10) / B-09: an iat in the future is a forged or mis-clocked token.
    if iat > now.saturating_add(leeway) {
        return Err(TokenError::IssuedInFuture {
            seconds: iat - now,
            leeway,
        });
    }
    Ok(TimeClaims { exp, iat, nbf })
}

/// `iss` must be exactly the configured issuer: no normalisation of case,
/// trailing slash or scheme (RFC 8725 3.8; Core 3.1.3.7(2); RFC 9068 4).
pub fn check_issuer(claims: &Map<String, Value>, expected: &str) -> Result<String, TokenError> {
    let actual = required_string(claims, "iss")?;
    if actual != expected {
        return Err(TokenError::IssuerMismatch {
            expected: expected.to_owned(),
            actual: actual.chars().take(200).collect(),
        });
    }
    Ok(actual)
}

/// Reads `aud`: a string or a non-empty array of strings (RFC 7519 4.1.3).
pub fn audiences(claims: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    match claims.get("aud") {
        None => Err(claim_error("aud", "is missing")),
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| claim_error("aud", "holds a non-string"))
            })
            .collect(),
        Some(Value::Array(_)) => Err(claim_error("aud", "is an empty array")),
        Some(other) => Err(claim_error(
            "aud",
            format!(
                "must be a string or an array of strings, not {}",
                json_type(other)
            ),
        )),
    }
}

pub(super) fn shorten_all(values: &[String]) -> Vec<String> {
    values
        .iter()
        .take(5)
        .map(|v| v.chars().take(80).collect())
        .collect()
}

/// Splits a `scope` string into its tokens (RFC 6749 3.3: space-delimited,
/// case-sensitive).
pub fn parse_scope(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The items of `required` not in `granted`, by exact string match
/// (`read` is not `read:all`, `Read` is not `read`).
pub fn missing_items(required: &[String], granted: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|item| !granted.contains(item))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::test_support::*;

    #[test]
    fn expiry_boundary_follows_rfc7519_with_leeway() {
        let at = |exp: u64| check_time(&obj(json!({"exp": exp, "iat": NOW - 3600})), NOW, 60);
        assert!(at(NOW - 30).is_ok(), "inside leeway");
        assert!(at(NOW - 59).is_ok(), "one second before the boundary");
        assert_eq!(
            at(NOW - 60).unwrap_err(),
            TokenError::Expired {
                expired_ago: 60,
                leeway: 60
            }
        );
        assert_eq!(
            at(NOW - 61).unwrap_err().to_string(),
            "token expired 61 s ago (leeway 60 s)"
        );
        let no_leeway = check_time(&obj(json!({"exp": NOW, "iat": NOW - 10})), NOW, 0);
        assert!(no_leeway.is_err(), "on exp itself the token is expired");
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_leeway() {
        let claims = obj(json!({"exp": NOW + 600, "iat": NOW, "nbf": NOW + 61}));
        assert_eq!(
            check_time(&claims, NOW, 60).unwrap_err(),
            TokenError::NotYetValid {
                seconds: 61,
                leeway: 60
            }
        );
        let claims = obj(json!({"exp": NOW + 600, "iat": NOW, "nbf": NOW + 60}));
        assert!(check_time(&claims, NOW, 60).is_ok());
        let claims = obj(json!({"exp": NOW + 600, "iat": NOW + 301}));
        assert_eq!(
            check_time(&claims, NOW, 60).unwrap_err().to_string(),
            "token was issued 301 s in the future (iat, leeway 60 s)"
        );
    }

    #[test]
    fn time_claims_must_be_numbers_and_present() {
        let cases = [
            (json!({"iat": NOW}), "claim `exp` is missing"),
            (json!({"exp": NOW + 60}), "claim `iat` is missing"),
            (
                json!({"exp": "9999999999", "iat": NOW}),
                "must be a NumericDate",
            ),
            (json!({"exp": null, "iat": NOW}), "not null"),
            (json!({"exp": -5, "iat": NOW}), "non-negative"),
            (json!({"exp": (NOW + 600) * 1000, "iat": NOW}), "50 years"),
            (
                json!({"exp": NOW + 60, "iat": NOW, "nbf": "0"}),
                "claim `nbf`",
            ),
        ];
        for (claims, expected) in cases {
            let error = check_time(&obj(claims.clone()), NOW, 60).unwrap_err();
            assert!(error.to_string().contains(expected), "{claims}: {error}");
        }
        let fractional = obj(json!({"exp": (NOW + 60) as f64 + 0.5, "iat": NOW}));
        assert_eq!(check_time(&fractional, NOW, 0).unwrap().exp, NOW + 60);
    }

    #[test]
    fn issuer_is_compared_exactly() {
        let expected = "https://issuer.example";
        for iss in [
            "https://issuer.example/",
            "http://issuer.example",
            "https://ISSUER.example",
            "https://issuer.example.evil",
        ] {
            let error = check_issuer(&obj(json!({"iss": iss})), expected).unwrap_err();
            assert!(matches!(error, TokenError::IssuerMismatch { .. }), "{iss}");
        }
        assert!(check_issuer(&obj(json!({"iss": expected})), expected).is_ok());
        assert!(check_issuer(&obj(json!({})), expected).is_err());
        assert!(check_issuer(&obj(json!({"iss": 1})), expected).is_err());
    }

    #[test]
    fn audience_shapes() {
        assert_eq!(audiences(&obj(json!({"aud": "a"}))).unwrap(), vec!["a"]);
        assert_eq!(
            audiences(&obj(json!({"aud": ["a", "b"]}))).unwrap(),
            vec!["a", "b"]
        );
        assert!(audiences(&obj(json!({}))).is_err());
        assert!(audiences(&obj(json!({"aud": []}))).is_err());
        assert!(audiences(&obj(json!({"aud": [1]}))).is_err());
        assert!(audiences(&obj(json!({"aud": null}))).is_err());
    }

    #[test]
    fn scopes_and_permissions_match_exactly() {
        let granted = parse_scope("openid  read:all Write");
        assert_eq!(granted, vec!["openid", "read:all", "Write"]);
        assert_eq!(missing_items(&["read".into()], &granted), vec!["read"]);
        assert_eq!(missing_items(&["write".into()], &granted), vec!["write"]);
        assert!(missing_items(&["openid".into(), "Write".into()], &granted).is_empty());
    }
}
