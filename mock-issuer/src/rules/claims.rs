//! What the tokens contain. Claim shapes follow Fief so that clients written for Fief work
//! unchanged: `sub` a UUID, `scope` a space-separated string, `permissions` an array, `acr` "0"
//! or "1"; access tokens follow RFC 9068 2.2 on top of that.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Config, UserConfig};

/// Claims of a JWT access token (RFC 9068 2.2; Fief's `scope`, `permissions`, `acr`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub client_id: String,
    pub azp: String,
    pub exp: u64,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    pub jti: String,
    /// The grant (code redemption) the token descends from, shared by every token of a
    /// refresh chain, so that revoking the grant revokes them all (RFC 6749 4.1.2, RFC 7009
    /// 2.1). Absent for client credentials, which have no grant to revoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    pub scope: String,
    pub permissions: Vec<String>,
    pub acr: String,
}

/// Claims of an ID token (Core 2, 3.1.3.6) plus the user claims its scopes release (Core 5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub azp: String,
    pub exp: u64,
    pub iat: u64,
    pub auth_time: u64,
    pub acr: String,
    /// The issuer's session (OpenID Front-Channel Logout 1.0 section 3): ties an
    /// `id_token_hint` to the session it may end without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    #[serde(flatten)]
    pub user_claims: BTreeMap<String, serde_json::Value>,
}

/// The user claims released by `scopes`, in name order (Core 5.4). `sub` is always released
/// and is not part of this map.
pub fn released_user_claims(
    config: &Config,
    user: &UserConfig,
    scopes: &[String],
) -> BTreeMap<String, serde_json::Value> {
    let mut claims = BTreeMap::new();
    for scope in scopes {
        let Some(entry) = config.scopes.get(scope) else {
            continue;
        };
        for name in &entry.claims {
            // Registered claim names of the token itself are never overridden by user data.
            if is_reserved(name) {
                continue;
            }
            if let Some(value) = user.claim(name) {
                claims.insert(name.clone(), value);
            }
        }
    }
    claims
}

fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "iss"
            | "sub"
            | "aud"
            | "exp"
            | "iat"
            | "nbf"
            | "jti"
            | "azp"
            | "nonce"
            | "auth_time"
            | "acr"
            | "amr"
            | "at_hash"
            | "c_hash"
            | "scope"
            | "client_id"
            | "permissions"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_the_granted_scopes() {
        let config = Config::default();
        let alice = &config.users[0];
        let email_only = released_user_claims(&config, alice, &["openid".into(), "email".into()]);
        assert_eq!(
            email_only.keys().collect::<Vec<_>>(),
            ["email", "email_verified"]
        );
        let profile = released_user_claims(&config, alice, &["profile".into()]);
        assert_eq!(profile["name"], "Alice Liddell");
        assert_eq!(profile["given_name"], "Alice");
        assert!(!profile.contains_key("email"));
    }

    #[test]
    fn user_data_never_overrides_a_registered_claim() {
        let mut config = Config::default();
        let names = [
            "iss",
            "sub",
            "aud",
            "exp",
            "nonce",
            "scope",
            "permissions",
            "department",
        ];
        config.scopes.insert(
            "hr".into(),
            crate::config::ScopeConfig {
                claims: names.iter().map(|n| n.to_string()).collect(),
                ..Default::default()
            },
        );
        let mut user = config.users[0].clone();
        for name in names {
            user.claims
                .insert(name.into(), serde_json::json!("from the user"));
        }
        let released = released_user_claims(&config, &user, &["hr".into()]);
        assert_eq!(released.keys().collect::<Vec<_>>(), ["department"]);
    }
}
