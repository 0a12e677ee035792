//! Access tokens (RFC 9068): audience, `typ: at+jwt`, and the claims an API reads.

use serde_json::{Map, Value};

use super::*;
use crate::error::{Listed, TokenError};
use crate::tokens::AccessTokenInfo;

/// Access tokens: `aud` must name one of the audiences this resource server
/// answers to (RFC 9068 4; RFC 8725 3.9). Other audiences may be present.
pub fn check_access_token_audience(aud: &[String], expected: &[String]) -> Result<(), TokenError> {
    if aud.iter().any(|a| expected.contains(a)) {
        Ok(())
    } else {
        Err(TokenError::Audience(format!(
            "none of [{}] is an expected audience ({})",
            Listed(&shorten_all(aud)),
            Listed(expected)
        )))
    }
}

/// RFC 9068 4: an access token's `typ` must be `at+jwt` (media type compared
/// case-insensitively, `application/` prefix optional). This keeps an ID
/// token from being replayed as an access token (RFC 8725 3.11; B-13).
pub fn check_access_token_type(typ: Option<&str>) -> Result<(), TokenError> {
    let ok = typ.is_some_and(|typ| {
        let typ = typ.to_ascii_lowercase();
        typ == "at+jwt" || typ == "application/at+jwt"
    });
    if ok {
        Ok(())
    } else {
        Err(TokenError::WrongType {
            expected: "at+jwt",
            actual: typ.map_or_else(|| "none".into(), |t| t.chars().take(40).collect()),
        })
    }
}

/// What an access token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct AccessTokenRules<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// Audiences this resource server accepts.
    pub audiences: &'a [String],
    /// Whether `typ: at+jwt` is required.
    pub require_typ: bool,
    /// Clock skew allowance in seconds.
    pub leeway: u64,
    /// Current time.
    pub now: u64,
}

/// The claim rules for an access token whose signature has been verified.
///
/// `scope` must be a string and `permissions`, when present, an array of
/// strings; `sub` must be a string, of any shape: Fief's are UUIDs, other issuers' are not
/// (RFC 9068 2.2), and requiring a UUID refused every token from a certified issuer such as
/// oidc-provider.
pub fn access_token_info(
    token: &ParsedJwt,
    raw: &str,
    rules: &AccessTokenRules<'_>,
) -> Result<AccessTokenInfo, TokenError> {
    access_token_info_with(token, raw, rules, |claims| claims.clone())
}

/// [`access_token_info`] for a token the caller no longer needs: its claims
/// move into the result instead of being copied.
pub fn into_access_token_info(
    mut token: ParsedJwt,
    raw: &str,
    rules: &AccessTokenRules<'_>,
) -> Result<AccessTokenInfo, TokenError> {
    let mut info = access_token_info_with(&token, raw, rules, |_| Map::new())?;
    info.claims = std::mem::take(&mut token.claims);
    Ok(info)
}

fn access_token_info_with(
    token: &ParsedJwt,
    raw: &str,
    rules: &AccessTokenRules<'_>,
    keep_claims: impl FnOnce(&Map<String, Value>) -> Map<String, Value>,
) -> Result<AccessTokenInfo, TokenError> {
    if rules.require_typ {
        check_access_token_type(token.typ.as_deref())?;
    }
    let claims = &token.claims;
    check_issuer(claims, rules.issuer)?;
    let time = check_time(claims, rules.now, rules.leeway)?;
    check_access_token_audience(&audiences(claims)?, rules.audiences)?;
    let sub = required_string(claims, "sub")?;
    let scope = match claims.get("scope") {
        Some(Value::String(scope)) => parse_scope(scope),
        Some(other) => {
            return Err(claim_error(
                "scope",
                format!("must be a space-separated string, not {}", json_type(other)),
            ));
        }
        None => return Err(claim_error("scope", "is missing")),
    };
    let permissions = match claims.get("permissions") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| claim_error("permissions", "holds a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(claim_error(
                "permissions",
                format!("must be an array of strings, not {}", json_type(other)),
            ));
        }
    };
    let acr = optional_string(claims, "acr")?;
    let client_id = match optional_string(claims, "client_id")? {
        Some(client_id) => Some(client_id),
        None => optional_string(claims, "azp")?,
    };
    Ok(AccessTokenInfo {
        id: sub,
        scope,
        permissions,
        acr,
        client_id,
        expires_at: time.exp,
        access_token: raw.to_owned(),
        claims: keep_claims(claims),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::test_support::*;

    #[test]
    fn access_token_audience_must_include_an_expected_one() {
        let expected = vec!["api".to_string()];
        assert!(check_access_token_audience(&["api".into()], &expected).is_ok());
        assert!(check_access_token_audience(&["other".into(), "api".into()], &expected).is_ok());
        let error = check_access_token_audience(&["other".into()], &expected).unwrap_err();
        assert_eq!(
            error.to_string(),
            "audience rejected: none of [other] is an expected audience (api)"
        );
    }

    #[test]
    fn typ_rules() {
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+JWT",
        ] {
            assert!(check_access_token_type(Some(ok)).is_ok(), "{ok}");
        }
        for bad in [Some("JWT"), None, Some("at+jwt2"), Some("")] {
            assert!(check_access_token_type(bad).is_err(), "{bad:?}");
        }
        assert!(check_id_token_type(None).is_ok());
        assert!(check_id_token_type(Some("JWT")).is_ok());
        assert!(check_id_token_type(Some("at+jwt")).is_err());
    }

    #[test]
    fn access_token_claim_rules() {
        let audiences = vec!["api".to_string()];
        let good = json!({
            "iss": "https://issuer", "aud": ["api"], "exp": NOW + 60, "iat": NOW,
            "sub": "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21", "scope": "openid read",
            "permissions": ["castles:read"], "acr": "1", "client_id": "web"
        });
        let header = json!({"alg": "RS256", "typ": "at+jwt"});
        let info = access_token_info(
            &parsed(header.clone(), good.clone()),
            "raw",
            &access_rules(&audiences),
        )
        .unwrap();
        assert_eq!(info.id, "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21");
        assert_eq!(info.scope, vec!["openid", "read"]);
        assert_eq!(info.permissions, vec!["castles:read"]);
        assert_eq!(info.acr.as_deref(), Some("1"));
        assert_eq!(info.client_id.as_deref(), Some("web"));
        assert_eq!(info.access_token, "raw");

        let with = |field: &str, value: Value| {
            let mut claims = good.clone();
            claims[field] = value;
            access_token_info(
                &parsed(header.clone(), claims),
                "raw",
                &access_rules(&audiences),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(with("sub", json!("")).contains("claim `sub`"));
        assert!(with("sub", json!(null)).contains("claim `sub` must be a string"));
        assert!(with("scope", json!(["read"])).contains("space-separated string"));
        assert!(with("permissions", json!("castles:read")).contains("array of strings"));
        assert!(with("permissions", json!([1])).contains("non-string"));
        assert!(with("acr", json!(1)).contains("claim `acr`"));
        assert!(with("aud", json!("web")).contains("expected audience"));
        let no_typ = access_token_info(
            &parsed(json!({"alg": "RS256", "typ": "JWT"}), good.clone()),
            "raw",
            &access_rules(&audiences),
        )
        .unwrap_err();
        assert!(matches!(no_typ, TokenError::WrongType { .. }));
        let relaxed = AccessTokenRules {
            require_typ: false,
            ..access_rules(&audiences)
        };
        assert!(access_token_info(&parsed(json!({"alg": "RS256"}), good), "raw", &relaxed).is_ok());
    }
}
