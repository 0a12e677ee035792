//! What the issuer hands out and what validation hands back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A successful token endpoint response (RFC 6749 5.1; Core 3.1.3.3).
///
/// `Debug` redacts the tokens so they do not end up in logs.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// The token type; always `Bearer` in some letter case (checked on receipt).
    pub token_type: String,
    /// Lifetime of the access token in seconds, when the issuer said.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The refresh token, when `offline_access` was granted.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(default)]
    pub id_token: Option<String>,
    /// Granted scopes, space-separated; absent means "as requested" (RFC 6749 5.1).
    #[serde(default)]
    pub scope: Option<String>,
    /// Any other members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A validated access token: Fief's `FiefAccessTokenInfo`.
///
/// Serializes as `{"id", "scope", "permissions", "acr", "access_token", ...}` like
/// Fief's dictionary, so an API can return it as JSON.
#[derive(Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct AccessTokenInfo {
    /// The subject: the `sub` claim. Fief gives a user's UUID ([`AccessTokenInfo::uuid`]);
    /// other issuers any string (RFC 9068 2.2, RFC 7519 4.1.2), and a client_credentials
    /// token the client's id (RFC 9068 2.2), which [`AccessTokenInfo::client_id`] then equals.
    pub id: String,
    /// Granted scopes, split on spaces (RFC 6749 3.3).
    pub scope: Vec<String>,
    /// Granted permissions.
    pub permissions: Vec<String>,
    /// Authentication context class reference, if the token carries one.
    pub acr: Option<String>,
    /// The OAuth client the token was issued to (`client_id`, else `azp`).
    pub client_id: Option<String>,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// The raw access token.
    pub access_token: String,
    /// Every claim, as sent.
    #[serde(skip)]
    pub claims: Map<String, Value>,
}

impl AccessTokenInfo {
    /// The `sub` claim exactly as sent (the key for the UserInfo cache).
    pub fn subject(&self) -> &str {
        &self.id
    }

    /// The subject as a UUID, when it is one (Fief's user ids are).
    pub fn uuid(&self) -> Option<uuid::Uuid> {
        uuid::Uuid::parse_str(&self.id).ok()
    }

    /// `true` if the token grants `scope` (exact, case-sensitive match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|granted| granted == scope)
    }

    /// `true` if the token grants `permission` (exact, case-sensitive match).
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|granted| granted == permission)
    }
}

impl fmt::Debug for AccessTokenInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenInfo")
            .field("id", &self.id)
            .field("scope", &self.scope)
            .field("permissions", &self.permissions)
            .field("acr", &self.acr)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("access_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The validated claims of an ID token: Fief's `FiefUserInfo` from `auth_callback`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// Issuer, equal to the configured one.
    pub iss: String,
    /// Subject: the user's stable identifier.
    pub sub: String,
    /// Audiences (always containing the client id).
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// When the user authenticated, if sent.
    pub auth_time: Option<u64>,
    /// The nonce echoed from the authorization request.
    pub nonce: Option<String>,
    /// Authentication context class reference.
    pub acr: Option<String>,
    /// Authorized party.
    pub azp: Option<String>,
    /// Every claim, as sent (user claims such as `email` live here).
    pub claims: Map<String, Value>,
}

impl IdTokenClaims {
    /// A claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The `email` claim, when released.
    pub fn email(&self) -> Option<&str> {
        self.claims.get("email").and_then(Value::as_str)
    }
}

/// The UserInfo response (Core 5.3.2): a JSON object whose `sub` was checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct UserInfo(Map<String, Value>);

impl UserInfo {
    /// Wraps claims; `None` unless `sub` is a non-empty string.
    pub fn from_claims(claims: Map<String, Value>) -> Option<Self> {
        match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => Some(Self(claims)),
            _ => None,
        }
    }

    /// The subject.
    pub fn sub(&self) -> &str {
        self.0
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The `email` claim, when released.
    pub fn email(&self) -> Option<&str> {
        self.0.get("email").and_then(Value::as_str)
    }

    /// A claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// All claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0
    }
}
