//! One module per endpoint, each shaped the same way: parse the request, apply the rules from
//! [`crate::rules`], build the response. [`Endpoint`] is the one list of them: the router,
//! discovery, the request log and the faults all read it.

pub mod admin;
pub mod authorize;
pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod login_decision;
pub mod logout;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::params::Params;

/// A form body the forge layer parsed (for the request log or a fault), left in the request's
/// extensions so that the endpoint does not parse it again.
#[derive(Debug, Clone)]
pub struct ParsedForm(pub Params);

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The parameters of an `application/x-www-form-urlencoded` body (RFC 6749 4.1.3, 3.2:
/// parameters at most once), as an extractor: the forge layer's parse when it made one, else
/// parsed here. Anything else is refused as `invalid_request`.
#[derive(Debug)]
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let parsed = request.extensions_mut().remove::<ParsedForm>();
        let declared_form = is_form(request.headers());
        let params = match parsed {
            Some(ParsedForm(params)) => params,
            None if declared_form => {
                let body = Bytes::from_request(request, state)
                    .await
                    .map_err(|rejection| {
                        OAuthError::invalid_request(rejection.body_text())
                            .with_status(rejection.status())
                    })?;
                Params::parse(&body)
            }
            None => {
                return Err(OAuthError::invalid_request(
                    "the body must be application/x-www-form-urlencoded (RFC 6749 4.1.3)",
                ));
            }
        };
        params
            .check()
            .map_err(|why| OAuthError::invalid_request(why.to_string()))?;
        Ok(Form(params))
    }
}

/// The parameters of a page's POST body: the forge layer's parse when it made one, else the
/// body's. Pages answer bad input with their own error pages, so no content-type rule here.
pub(crate) fn page_form(parsed: Option<Extension<ParsedForm>>, body: &[u8]) -> Params {
    match parsed {
        Some(Extension(ParsedForm(params))) => params,
        None => Params::parse(body),
    }
}

/// The issuer's endpoints, with their paths relative to the issuer URL.
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

/// A name that is no endpoint's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown endpoint `{0}`; expected one of discovery, jwks, authorize, login_decision, token, userinfo, logout, introspect, revoke"
)]
pub struct UnknownEndpoint(pub String);

/// RFC 8414 3's document, also served at the host's root with the issuer's path inserted.
pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";

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

    /// The path discovery advertises.
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Discovery => "/.well-known/openid-configuration",
            Endpoint::Jwks => "/.well-known/jwks.json",
            Endpoint::Authorize => "/authorize",
            Endpoint::LoginDecision => "/authorize/decision",
            Endpoint::Token => "/api/token",
            Endpoint::Userinfo => "/api/userinfo",
            Endpoint::Logout => "/logout",
            Endpoint::Introspect => "/introspect",
            Endpoint::Revoke => "/revoke",
        }
    }

    /// Every path it is served at: [`path`](Self::path) first, then the other names apps use.
    pub const fn paths(self) -> &'static [&'static str] {
        match self {
            Endpoint::Discovery => &[
                "/.well-known/openid-configuration",
                AUTHORIZATION_SERVER_METADATA,
            ],
            // FusionAuth's logout path: its quickstart builds the logout URL by hand.
            Endpoint::Logout => &["/logout", "/oauth2/logout"],
            Endpoint::Jwks => &["/.well-known/jwks.json"],
            Endpoint::Authorize => &["/authorize"],
            Endpoint::LoginDecision => &["/authorize/decision"],
            Endpoint::Token => &["/api/token"],
            Endpoint::Userinfo => &["/api/userinfo"],
            Endpoint::Introspect => &["/introspect"],
            Endpoint::Revoke => &["/revoke"],
        }
    }

    /// The discovery member that advertises it (Discovery 3, RFC 8414 2, RFC 7662 4, RFC 7009
    /// 4, RP-Initiated Logout 2.1).
    pub const fn metadata_name(self) -> Option<&'static str> {
        Some(match self {
            Endpoint::Jwks => "jwks_uri",
            Endpoint::Authorize => "authorization_endpoint",
            Endpoint::Token => "token_endpoint",
            Endpoint::Userinfo => "userinfo_endpoint",
            Endpoint::Logout => "end_session_endpoint",
            Endpoint::Introspect => "introspection_endpoint",
            Endpoint::Revoke => "revocation_endpoint",
            Endpoint::Discovery | Endpoint::LoginDecision => return None,
        })
    }

    /// The endpoint a path (relative to the issuer URL) belongs to.
    pub fn from_path(path: &str) -> Option<Self> {
        // RFC 8414 3.1's path-inserted form, served at the host's root.
        if path
            .strip_prefix(AUTHORIZATION_SERVER_METADATA)
            .is_some_and(|rest| rest.starts_with('/'))
        {
            return Some(Endpoint::Discovery);
        }
        Endpoint::ALL
            .into_iter()
            .find(|endpoint| endpoint.paths().contains(&path))
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
    /// then pages, not JSON, and no other origin's page may read its answers (no CORS).
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
    type Err = UnknownEndpoint;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let wanted = name.replace('-', "_");
        Endpoint::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| UnknownEndpoint(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_round_trips_through_its_name_and_path() {
        for endpoint in Endpoint::ALL {
            assert_eq!(endpoint.as_str().parse::<Endpoint>(), Ok(endpoint));
            assert_eq!(endpoint.to_string(), endpoint.as_str());
            let json = serde_json::to_value(endpoint).unwrap();
            assert_eq!(json, endpoint.as_str());
            assert_eq!(endpoint.paths()[0], endpoint.path());
            for path in endpoint.paths() {
                assert_eq!(Endpoint::from_path(path), Some(endpoint), "{path}");
            }
        }
        assert_eq!("login-decision".parse(), Ok(Endpoint::LoginDecision));
        assert_eq!(Endpoint::from_path("/api/token"), Some(Endpoint::Token));
        assert_eq!(
            Endpoint::from_path("/.well-known/oauth-authorization-server/acme"),
            Some(Endpoint::Discovery)
        );
        assert_eq!(
            Endpoint::from_path("/.well-known/oauth-authorization-serverx"),
            None
        );
        assert_eq!(Endpoint::from_path("/token"), None);
        let unknown = "tokens".parse::<Endpoint>().unwrap_err().to_string();
        assert!(
            unknown.contains("jwks") && unknown.contains("`tokens`"),
            "{unknown}"
        );
        for endpoint in Endpoint::ALL {
            assert!(
                unknown.contains(endpoint.as_str()),
                "the message lists {endpoint}"
            );
        }
    }
}
