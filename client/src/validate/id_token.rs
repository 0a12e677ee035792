//! ID tokens (Core 3.1.3.7, 12.2): audience and `azp`, `typ`, `at_hash` and `c_hash`, `nonce`,
//! and `auth_time` when `max_age` was sent.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::*;
use crate::error::{Listed, TokenError};
use crate::tokens::IdTokenClaims;

/// ID tokens: Core 3.1.3.7(3)-(5).
///
/// - (3) `aud` must contain the client id, and every other audience must be
///   in `trusted` (by default none are).
/// - (4) with several audiences, `azp` must be present.
/// - (5) when `azp` is present it must be the client id.
pub fn check_id_token_audience(
    aud: &[String],
    azp: Option<&str>,
    client_id: &str,
    trusted: &[String],
) -> Result<(), TokenError> {
    // Core 3.1.3.7(3): aud must contain client_id.
    if !aud.iter().any(|a| a == client_id) {
        return Err(TokenError::Audience(format!(
            "[{}] does not contain the client id {client_id:?}",
            Listed(&shorten_all(aud))
        )));
    }
    // Core 3.1.3.7(3): reject additional audiences not trusted by the client.
    if let Some(untrusted) = aud.iter().find(|a| *a != client_id && !trusted.contains(a)) {
        return Err(TokenError::Audience(format!(
            "contains the untrusted audience {:?}",
            untrusted.chars().take(80).collect::<String>()
        )));
    }
    // Core 3.1.3.7(4): several audiences need an authorized party.
    if aud.len() > 1 && azp.is_none() {
        return Err(TokenError::Audience(
            "several audiences but no `azp` claim".into(),
        ));
    }
    // Core 3.1.3.7(5): azp, when present, must be this client.
    if let Some(azp) = azp
        && azp != client_id
    {
        return Err(TokenError::Audience(format!(
            "`azp` {:?} is not the client id {client_id:?}",
            azp.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

/// ID tokens carry `typ: JWT` or none; an access token (`at+jwt`) or any other
/// explicit type is not an ID token (RFC 8725 3.11-3.12).
pub fn check_id_token_type(typ: Option<&str>) -> Result<(), TokenError> {
    match typ.map(str::to_ascii_lowercase).as_deref() {
        None | Some("jwt") | Some("application/jwt") => Ok(()),
        Some(_) => Err(TokenError::WrongType {
            expected: "JWT or none",
            actual: typ
                .map(|t| t.chars().take(40).collect())
                .unwrap_or_default(),
        }),
    }
}

/// The `at_hash` / `c_hash` value for `input` under `alg` (Core 3.1.3.6,
/// 3.3.2.11): the left half of the hash of the ASCII octets, base64url
/// without padding. The hash follows the algorithm's: SHA-256 for *256,
/// SHA-384 for *384, SHA-512 for *512 and EdDSA (Ed25519).
pub fn token_hash(alg: Algorithm, input: &str) -> String {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512, digest};
    let algorithm = match alg {
        Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => &SHA384,
        Algorithm::HS512 | Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => &SHA512,
        _ => &SHA256,
    };
    let hash = digest(algorithm, input.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Checks `at_hash` or `c_hash` when the token carries it (Core 3.1.3.8, 3.3.2.10).
pub fn check_hash(
    claims: &Map<String, Value>,
    claim: &'static str,
    alg: Algorithm,
    input: &str,
    what: &'static str,
) -> Result<(), TokenError> {
    match optional_string(claims, claim)? {
        None => Ok(()),
        Some(value) => {
            let expected = token_hash(alg, input);
            if bool::from(value.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(TokenError::HashMismatch { claim, what })
            }
        }
    }
}

/// Core 3.1.3.7(11): when a nonce was sent, the ID token's `nonce` must be
/// present and equal (compared in constant time).
pub fn check_nonce(claims: &Map<String, Value>, expected: Option<&str>) -> Result<(), TokenError> {
    let actual = optional_string(claims, "nonce")?;
    match (expected, actual) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(TokenError::Nonce("is missing but one was sent")),
        (Some(expected), Some(actual)) => {
            if bool::from(expected.as_bytes().ct_eq(actual.as_bytes())) {
                Ok(())
            } else {
                Err(TokenError::Nonce("does not match the one sent"))
            }
        }
    }
}

/// What an ID token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct IdTokenRules<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// This client's id.
    pub client_id: &'a str,
    /// Extra audiences the client trusts besides itself.
    pub trusted_audiences: &'a [String],
    /// The nonce sent in the authorization request, if any.
    pub nonce: Option<&'a str>,
    /// The access token issued alongside, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The authorization code redeemed, for `c_hash`.
    pub code: Option<&'a str>,
    /// The subject of the original ID token, when this one came from a refresh.
    pub previous_subject: Option<&'a str>,
    /// The `max_age` sent in the authorization request: `auth_time` is then
    /// required and must be at most this many seconds ago (Core 3.1.2.1, 3.1.3.7 (13)).
    pub max_age: Option<u64>,
    /// Clock skew allowance in seconds.
    pub leeway: u64,
    /// Current time.
    pub now: u64,
}

/// The claim rules for an ID token whose signature has been verified
/// (Core 3.1.3.7; 12.2 for refreshed ones).
pub fn id_token_claims(
    token: &ParsedJwt,
    alg: Algorithm,
    rules: &IdTokenRules<'_>,
) -> Result<IdTokenClaims, TokenError> {
    check_id_token_type(token.typ.as_deref())?;
    let claims = &token.claims;
    // Core 3.1.3.7(2): iss exactly the issuer.
    let iss = check_issuer(claims, rules.issuer)?;
    // Core 2: sub is required, a string.
    let sub = required_string(claims, "sub")?;
    let aud = audiences(claims)?;
    let azp = optional_string(claims, "azp")?;
    check_id_token_audience(
        &aud,
        azp.as_deref(),
        rules.client_id,
        rules.trusted_audiences,
    )?;
    // Core 3.1.3.7(9)-(10): exp and iat.
    let time = check_time(claims, rules.now, rules.leeway)?;
    check_nonce(claims, rules.nonce)?;
    if let Some(access_token) = rules.access_token {
        check_hash(claims, "at_hash", alg, access_token, "access token")?;
    }
    if let Some(code) = rules.code {
        check_hash(claims, "c_hash", alg, code, "authorization code")?;
    }
    // Core 12.2: a refreshed ID token keeps the original subject.
    if let Some(previous) = rules.previous_subject
        && previous != sub
    {
        return Err(TokenError::SubjectChanged {
            expected: previous.to_owned(),
            actual: sub.chars().take(80).collect(),
        });
    }
    let auth_time = numeric_date(claims, "auth_time")?;
    if let Some(max_age) = rules.max_age {
        check_auth_age(auth_time, max_age, rules.now, rules.leeway)?;
    }
    Ok(IdTokenClaims {
        iss,
        sub,
        aud,
        exp: time.exp,
        iat: time.iat,
        auth_time,
        nonce: optional_string(claims, "nonce")?,
        acr: optional_string(claims, "acr")?,
        azp,
        claims: claims.clone(),
    })
}

/// Core 2 and 3.1.3.7 (13): when `max_age` was requested, `auth_time` is
/// required, and a login older than `max_age` (plus the leeway) asks for a new
/// one. A login in the future beyond the leeway is as suspect as a stale one.
pub fn check_auth_age(
    auth_time: Option<u64>,
    max_age: u64,
    now: u64,
    leeway: u64,
) -> Result<(), TokenError> {
    let auth_time = auth_time.ok_or(TokenError::Claim {
        claim: "auth_time",
        problem: "is required when max_age was requested (OpenID Core 2)".into(),
    })?;
    if auth_time > now.saturating_add(leeway) {
        return Err(TokenError::Claim {
            claim: "auth_time",
            problem: format!("is {} s in the future", auth_time - now),
        });
    }
    let age = now.saturating_sub(auth_time);
    if age > max_age.saturating_add(leeway) {
        return Err(TokenError::AuthenticationTooOld {
            age,
            max_age,
            leeway,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::test_support::*;

    #[test]
    fn id_token_audience_rules_follow_core_3_1_3_7() {
        let c = "client";
        let none: Vec<String> = vec![];
        assert!(check_id_token_audience(&[c.into()], None, c, &none).is_ok());
        assert!(check_id_token_audience(&[c.into()], Some(c), c, &none).is_ok());
        let missing = check_id_token_audience(&["other".into()], None, c, &none).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("does not contain the client id")
        );
        let untrusted =
            check_id_token_audience(&[c.into(), "evil".into()], Some(c), c, &none).unwrap_err();
        assert!(
            untrusted
                .to_string()
                .contains("untrusted audience \"evil\"")
        );
        let trusted = vec!["partner".to_string()];
        let no_azp =
            check_id_token_audience(&[c.into(), "partner".into()], None, c, &trusted).unwrap_err();
        assert!(no_azp.to_string().contains("no `azp`"));
        assert!(
            check_id_token_audience(&[c.into(), "partner".into()], Some(c), c, &trusted).is_ok()
        );
        let wrong_azp = check_id_token_audience(&[c.into()], Some("other"), c, &none).unwrap_err();
        assert!(wrong_azp.to_string().contains("`azp` \"other\""));
    }

    #[test]
    fn hash_claims_use_the_algorithms_hash() {
        // Core 3.3.2.11 / the OpenID example: at_hash of this access token.
        let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            token_hash(Algorithm::RS256, access_token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(token_hash(Algorithm::RS384, "x").len(), 32);
        assert_eq!(token_hash(Algorithm::EdDSA, "x").len(), 43);
        let claims = obj(json!({"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}));
        assert!(
            check_hash(
                &claims,
                "at_hash",
                Algorithm::RS256,
                access_token,
                "access token"
            )
            .is_ok()
        );
        let error = check_hash(
            &claims,
            "at_hash",
            Algorithm::RS256,
            "other",
            "access token",
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "at_hash does not match the access token");
        assert!(
            check_hash(
                &obj(json!({})),
                "c_hash",
                Algorithm::RS256,
                "code",
                "authorization code"
            )
            .is_ok()
        );
    }

    #[test]
    fn nonce_rules() {
        let claims = obj(json!({"nonce": "n-1"}));
        assert!(check_nonce(&claims, Some("n-1")).is_ok());
        assert!(check_nonce(&claims, None).is_ok());
        assert_eq!(
            check_nonce(&claims, Some("n-2")).unwrap_err().to_string(),
            "nonce does not match the one sent"
        );
        assert_eq!(
            check_nonce(&obj(json!({})), Some("n-1"))
                .unwrap_err()
                .to_string(),
            "nonce is missing but one was sent"
        );
        assert!(check_nonce(&obj(json!({"nonce": 5})), Some("n-1")).is_err());
    }

    #[test]
    fn id_token_claim_rules() {
        let claims = json!({
            "iss": "https://issuer", "aud": ["web"], "azp": "web", "exp": NOW + 60, "iat": NOW,
            "sub": "user-1", "nonce": "n", "email": "a@example.com",
            "at_hash": token_hash(Algorithm::RS256, "at"), "c_hash": token_hash(Algorithm::RS256, "code")
        });
        let rules = IdTokenRules {
            issuer: "https://issuer",
            client_id: "web",
            trusted_audiences: &[],
            nonce: Some("n"),
            access_token: Some("at"),
            code: Some("code"),
            previous_subject: None,
            max_age: None,
            leeway: 60,
            now: NOW,
        };
        let token = parsed(json!({"alg": "RS256", "typ": "JWT"}), claims);
        let ok = id_token_claims(&token, Algorithm::RS256, &rules).unwrap();
        assert_eq!(ok.sub, "user-1");
        assert_eq!(ok.email(), Some("a@example.com"));
        let wrong_code = IdTokenRules {
            code: Some("other"),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &wrong_code).unwrap_err(),
            TokenError::HashMismatch {
                claim: "c_hash",
                ..
            }
        ));
        let wrong_at = IdTokenRules {
            access_token: Some("other"),
            ..rules.clone()
        };
        assert!(id_token_claims(&token, Algorithm::RS256, &wrong_at).is_err());
        let wrong_nonce = IdTokenRules {
            nonce: Some("m"),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &wrong_nonce).unwrap_err(),
            TokenError::Nonce(_)
        ));
        let refreshed = IdTokenRules {
            previous_subject: Some("user-2"),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &refreshed).unwrap_err(),
            TokenError::SubjectChanged { .. }
        ));
        // Core 3.1.3.7 (13): with max_age, auth_time is required and bounded.
        let with_max_age = |max_age: u64| IdTokenRules {
            max_age: Some(max_age),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &with_max_age(300)).unwrap_err(),
            TokenError::Claim {
                claim: "auth_time",
                ..
            }
        ));
        let logged_in_at = |auth_time: u64| {
            let mut claims = token.claims.clone();
            claims.insert("auth_time".into(), json!(auth_time));
            parsed(json!({"alg": "RS256", "typ": "JWT"}), claims.into())
        };
        // 300 s + 60 s leeway: 360 s ago is the oldest login accepted.
        assert!(
            id_token_claims(
                &logged_in_at(NOW - 360),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .is_ok()
        );
        assert_eq!(
            id_token_claims(
                &logged_in_at(NOW - 361),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .unwrap_err(),
            TokenError::AuthenticationTooOld {
                age: 361,
                max_age: 300,
                leeway: 60
            }
        );
        assert!(
            id_token_claims(
                &logged_in_at(NOW + 60),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .is_ok()
        );
        assert!(matches!(
            id_token_claims(
                &logged_in_at(NOW + 61),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .unwrap_err(),
            TokenError::Claim {
                claim: "auth_time",
                ..
            }
        ));
        // Without max_age, an old login is the app's business.
        assert!(id_token_claims(&logged_in_at(NOW - 100_000), Algorithm::RS256, &rules).is_ok());
        let access_typ = parsed(
            json!({"alg": "RS256", "typ": "at+jwt"}),
            token.claims.clone().into(),
        );
        assert!(matches!(
            id_token_claims(&access_typ, Algorithm::RS256, &rules).unwrap_err(),
            TokenError::WrongType { .. }
        ));
    }
}
