//! The forge: what sets oidc-forge apart from a plain mock issuer. Each capability is written
//! once here, as plain types and functions over [`IssuerState`](crate::state::IssuerState),
//! and offered three ways that all call the same code: methods on
//! [`MockIssuer`](crate::MockIssuer), the HTTP admin API under `/_forge/`
//! ([`crate::endpoints::admin`]), and the `oidc-forge token` command.
//!
//! - [`mint`]: tokens that are valid, or wrong in exactly one way ([`mint::Mutation`]): expired,
//!   not yet valid, wrong issuer or audience, missing or mistyped claims, `alg: none`, RS256 to
//!   HS256 key confusion, foreign keys, header tricks, broken signatures.
//! - [`faults`]: scripted failures per endpoint (status and RFC error, delay, closed connection,
//!   malformed JSON) for the next request, the next N, or until cleared; a rejected
//!   authorization code; an unreachable JWKS.
//! - [`rotation`]: signing-key rotation with a grace period during which the old key stays
//!   published.
//! - [`users`] and [`claims`]: users, their claims and permissions changed at runtime, and claims
//!   queued for the next token response.
//! - [`request_log`]: a bounded log of what clients sent, secrets redacted on insertion.
//! - [`middleware`]: the one layer in front of the endpoints that fires faults and records
//!   requests; when nothing is scripted and the log is off it costs one atomic load.

pub mod claims;
pub mod faults;
pub mod middleware;
pub mod mint;
pub mod request_log;
pub mod rotation;
pub mod users;

use serde::{Deserialize, Serialize};

use crate::state::paths;

/// Path of the admin API, relative to the issuer URL.
pub const ADMIN_PREFIX: &str = "/_forge";

/// Options of the forge, fixed at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeOptions {
    /// Serve the admin API under `/_forge/`. Turn it off on shared environments: anyone who can
    /// reach the issuer could otherwise mint tokens it signs.
    pub admin: bool,
    /// How many requests the request log keeps; 0 turns it off.
    pub request_log_capacity: usize,
    /// When set, every admin request must carry `Authorization: Bearer <token>`.
    pub admin_token: Option<String>,
}

impl Default for ForgeOptions {
    fn default() -> Self {
        Self {
            admin: true,
            request_log_capacity: request_log::DEFAULT_CAPACITY,
            admin_token: None,
        }
    }
}

/// The forge's runtime state, part of [`IssuerState`](crate::state::IssuerState).
#[derive(Debug)]
pub struct ForgeState {
    pub options: ForgeOptions,
    pub faults: faults::Faults,
    pub requests: request_log::RequestLog,
    pub queued_claims: claims::ClaimQueue,
}

impl ForgeState {
    pub fn new(options: ForgeOptions) -> Self {
        Self {
            faults: faults::Faults::default(),
            requests: request_log::RequestLog::new(options.request_log_capacity),
            queued_claims: claims::ClaimQueue::default(),
            options,
        }
    }
}

/// The issuer's endpoints, as faults and the request log name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Endpoint {
    /// Both metadata documents: OpenID discovery and RFC 8414.
    Discovery,
    Jwks,
    Authorize,
    /// The answer of the interactive login page.
    LoginDecision,
    Token,
    Userinfo,
    Logout,
    Introspect,
    Revoke,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Discovery,
        Endpoint::Jwks,
        Endpoint::Authorize,
        Endpoint::LoginDecision,
        Endpoint::Token,
        Endpoint::Userinfo,
        Endpoint::Logout,
        Endpoint::Introspect,
        Endpoint::Revoke,
    ];

    /// The endpoint a path (relative to the issuer URL) belongs to.
    pub fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            paths::DISCOVERY | paths::AUTHORIZATION_SERVER_METADATA => Endpoint::Discovery,
            // RFC 8414 3.1's path-inserted form, served at the host's root.
            _ if path
                .strip_prefix(paths::AUTHORIZATION_SERVER_METADATA)
                .is_some_and(|rest| rest.starts_with('/')) =>
            {
                Endpoint::Discovery
            }
            paths::JWKS => Endpoint::Jwks,
            paths::AUTHORIZE => Endpoint::Authorize,
            paths::LOGIN_DECISION => Endpoint::LoginDecision,
            paths::TOKEN => Endpoint::Token,
            paths::USERINFO => Endpoint::Userinfo,
            paths::LOGOUT | paths::FUSIONAUTH_LOGOUT => Endpoint::Logout,
            paths::INTROSPECT => Endpoint::Introspect,
            paths::REVOKE => Endpoint::Revoke,
            _ => return None,
        })
    }

    /// The name used in JSON, on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Discovery => "discovery",
            Endpoint::Jwks => "jwks",
            Endpoint::Authorize => "authorize",
            Endpoint::LoginDecision => "login_decision",
            Endpoint::Token => "token",
            Endpoint::Userinfo => "userinfo",
            Endpoint::Logout => "logout",
            Endpoint::Introspect => "introspect",
            Endpoint::Revoke => "revoke",
        }
    }

    /// Whether a person's browser, rather than a client's HTTP library, calls it: errors are
    /// then pages, not JSON.
    pub fn is_browser_facing(self) -> bool {
        matches!(
            self,
            Endpoint::Authorize | Endpoint::LoginDecision | Endpoint::Logout
        )
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let wanted = name.replace('-', "_");
        Endpoint::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                let known: Vec<&str> = Endpoint::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "unknown endpoint `{name}`; expected one of {}",
                    known.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_round_trips_through_its_name_and_path() {
        for endpoint in Endpoint::ALL {
            assert_eq!(endpoint.as_str().parse::<Endpoint>(), Ok(endpoint));
            let json = serde_json::to_value(endpoint).unwrap();
            assert_eq!(json, endpoint.as_str());
        }
        assert_eq!("login-decision".parse(), Ok(Endpoint::LoginDecision));
        assert_eq!(Endpoint::from_path("/api/token"), Some(Endpoint::Token));
        assert_eq!(
            Endpoint::from_path("/.well-known/oauth-authorization-server"),
            Some(Endpoint::Discovery)
        );
        assert_eq!(Endpoint::from_path("/token"), None);
        assert!("tokens".parse::<Endpoint>().unwrap_err().contains("jwks"));
    }
}
