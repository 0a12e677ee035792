//! Typed errors that say why, in words.
//!
//! [`Error`] mirrors the Fief client's exceptions (`FiefRequestError`,
//! `FiefAccessTokenInvalid`, `...Expired`, `...MissingScope`,
//! `...MissingPermission`, `...ACRTooLow`, `FiefIdTokenInvalid`) and adds the
//! failures Fief does not detect. [`TokenError`] is the precise reason a JWT
//! was refused; it is what the plain functions in [`crate::validate`] return.

use std::fmt;

/// Why a JWT (access token or ID token) was refused.
///
/// The messages never contain the token itself, only the values needed to
/// understand the refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is larger than the configured limit; checked before any parsing.
    #[error("token is {length} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Length of the presented token.
        length: usize,
        /// Configured limit.
        limit: usize,
    },
    /// The compact serialization is broken (segments, base64url, JSON).
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header breaks a rule (crit, kid type, enc, typ).
    #[error("unacceptable token header: {0}")]
    Header(String),
    /// The `alg` is not in the configured allowlist.
    #[error("algorithm {alg:?} is not allowed (allowed: {allowed})")]
    AlgorithmNotAllowed {
        /// The header's `alg`, as sent.
        alg: String,
        /// The configured allowlist, comma-separated.
        allowed: String,
    },
    /// No key in the issuer's JWKS matches the header.
    #[error("no signing key in the issuer's JWKS matches {0}")]
    UnknownKey(String),
    /// The signature does not verify with the issuer's key.
    #[error("signature verification failed")]
    BadSignature,
    /// A claim is missing or has the wrong JSON type.
    #[error("claim `{claim}` {problem}")]
    Claim {
        /// Claim name.
        claim: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// `iss` is not exactly the configured issuer.
    #[error("issuer {actual:?} is not the expected {expected:?}")]
    IssuerMismatch {
        /// Configured issuer.
        expected: String,
        /// The token's `iss`.
        actual: String,
    },
    /// `aud` does not contain the expected audience, or contains an untrusted one.
    #[error("audience rejected: {0}")]
    Audience(String),
    /// The token expired longer ago than the leeway allows.
    #[error("token expired {expired_ago} s ago (leeway {leeway} s)")]
    Expired {
        /// Seconds since `exp`.
        expired_ago: u64,
        /// Configured leeway in seconds.
        leeway: u64,
    },
    /// `nbf` is in the future beyond the leeway.
    #[error("token is not valid for another {seconds} s (nbf, leeway {leeway} s)")]
    NotYetValid {
        /// Seconds until `nbf`.
        seconds: u64,
        /// Configured leeway in seconds.
        leeway: u64,
    },
    /// `iat` is in the future beyond the leeway.
    #[error("token was issued {seconds} s in the future (iat, leeway {leeway} s)")]
    IssuedInFuture {
        /// Seconds between now and `iat`.
        seconds: u64,
        /// Configured leeway in seconds.
        leeway: u64,
    },
    /// The header `typ` is not the one this kind of token must carry.
    #[error("token type {actual:?} is not acceptable here (expected {expected})")]
    WrongType {
        /// What was required.
        expected: &'static str,
        /// The header's `typ`, or "none" when absent.
        actual: String,
    },
    /// `nonce` is missing or differs from the one sent in the authorization request.
    #[error("nonce {0}")]
    Nonce(&'static str),
    /// `at_hash` or `c_hash` does not match the access token or code.
    #[error("{claim} does not match the {what}")]
    HashMismatch {
        /// `at_hash` or `c_hash`.
        claim: &'static str,
        /// "access token" or "authorization code".
        what: &'static str,
    },
    /// A refreshed ID token names a different subject (Core 12.2).
    #[error("refreshed ID token subject {actual:?} differs from the original {expected:?}")]
    SubjectChanged {
        /// The subject of the original ID token.
        expected: String,
        /// The subject of the refreshed one.
        actual: String,
    },
    /// The user signed in longer ago than the `max_age` the app asked for
    /// (Core 3.1.3.7 (13)): the app should ask for a new login.
    #[error(
        "the user authenticated {age} s ago, more than max_age {max_age} s (leeway {leeway} s)"
    )]
    AuthenticationTooOld {
        /// Seconds since `auth_time`.
        age: u64,
        /// The `max_age` requested.
        max_age: u64,
        /// Configured leeway in seconds.
        leeway: u64,
    },
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The issuer answered with an unsuccessful HTTP status (Fief's `FiefRequestError`).
    #[error("{endpoint} answered HTTP {status}: {body}")]
    RequestFailed {
        /// Which endpoint ("token endpoint", "userinfo endpoint", ...).
        endpoint: &'static str,
        /// HTTP status code.
        status: u16,
        /// The response body, truncated.
        body: String,
    },
    /// The issuer could not be reached, or its answer could not be read.
    #[error("could not talk to the {endpoint}: {reason}")]
    Transport {
        /// Which endpoint.
        endpoint: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// The issuer's answer was readable but not acceptable (bad JSON, wrong token type).
    #[error("the {endpoint} sent an unacceptable response: {reason}")]
    InvalidResponse {
        /// Which endpoint.
        endpoint: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// The discovery document is unusable, e.g. its `issuer` differs from the configured one.
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// The signing keys could not be obtained; validation fails closed.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The access token is not acceptable (Fief's `FiefAccessTokenInvalid`).
    #[error("access token invalid: {0}")]
    AccessTokenInvalid(TokenError),
    /// The access token has expired (Fief's `FiefAccessTokenExpired`).
    #[error("access token expired {expired_ago} s ago (leeway {leeway} s)")]
    AccessTokenExpired {
        /// Seconds since `exp`.
        expired_ago: u64,
        /// Configured leeway in seconds.
        leeway: u64,
    },
    /// The access token lacks required scopes (Fief's `FiefAccessTokenMissingScope`).
    #[error("access token lacks required scope(s): {}", .missing.join(" "))]
    MissingScope {
        /// The scopes that were required but not granted.
        missing: Vec<String>,
        /// Every scope the route requires.
        required: Vec<String>,
    },
    /// The access token lacks required permissions (Fief's `FiefAccessTokenMissingPermission`).
    #[error("access token lacks required permission(s): {}", .missing.join(" "))]
    MissingPermission {
        /// The permissions that were required but not granted.
        missing: Vec<String>,
    },
    /// The authentication context is weaker than required (Fief's `FiefAccessTokenACRTooLow`).
    #[error("authentication context class {actual:?} is below the required {required:?}")]
    AcrTooLow {
        /// The required `acr`.
        required: String,
        /// The token's `acr`, if any.
        actual: Option<String>,
    },
    /// The ID token is not acceptable (Fief's `FiefIdTokenInvalid`).
    #[error("ID token invalid: {0}")]
    IdTokenInvalid(TokenError),
    /// The UserInfo response is not acceptable (Core 5.3.2: `sub` must match).
    #[error("userinfo rejected: {0}")]
    UserInfoInvalid(String),
    /// The client was configured or called with values that cannot work.
    #[error("invalid configuration: {0}")]
    Configuration(String),
}

impl Error {
    /// `true` when the error means the presented access token itself is bad
    /// (invalid or expired), as opposed to lacking rights or the issuer failing.
    pub fn is_invalid_access_token(&self) -> bool {
        matches!(
            self,
            Error::AccessTokenInvalid(_) | Error::AccessTokenExpired { .. }
        )
    }
}

/// Cuts a remote body to a size fit for an error message.
pub(crate) fn truncate_body(body: &[u8]) -> String {
    const LIMIT: usize = 512;
    let text = String::from_utf8_lossy(&body[..body.len().min(LIMIT)]);
    if body.len() > LIMIT {
        format!("{text}... ({} bytes)", body.len())
    } else {
        text.into_owned()
    }
}

/// Formats a list for messages: `a, b, c`.
pub(crate) struct Listed<'a, T>(pub &'a [T]);

impl<T: fmt::Display> fmt::Display for Listed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, item) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}
