//! Group A: the issuer's endpoints, called directly over HTTP on an in-process issuer with a
//! frozen clock. Each function is one catalogue row.
//!
//! - `metadata`: discovery, the JWKS, a whole code flow, key rotation;
//! - `authorization`: the authorization endpoint's answers and the login page;
//! - `token`: codes, client authentication, grants and the token response;
//! - `pkce`: RFC 7636;
//! - `resources`: refresh, UserInfo and JWT access tokens.

mod authorization;
mod metadata;
mod pkce;
mod resources;
mod token;

pub use authorization::*;
pub use metadata::*;
pub use pkce::*;
pub use resources::*;
pub use token::*;

use oidc_forge::config::{ClientConfig, GrantType};
use serde_json::Value;

use crate::env::{IssuerEnv, REDIRECT_URI};
use crate::scenario::Failure;

/// The issuer's JWKS document.
async fn jwks(env: &IssuerEnv) -> Result<Value, Failure> {
    let answer = env.get("/.well-known/jwks.json").await?;
    answer.expect_status(200)?;
    answer.json()
}

/// The string member `name` of a token response.
fn member<'a>(response: &'a Value, name: &str) -> Result<&'a str, Failure> {
    response[name]
        .as_str()
        .ok_or_else(|| Failure::mismatch(format!("the token response has no `{name}`: {response}")))
}

/// A second confidential client with the same redirect URI, to test binding to the client.
fn other_client() -> ClientConfig {
    ClientConfig {
        id: "other-web".into(),
        name: None,
        secret: Some("other-web-secret".into()),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: Vec::new(),
        scopes: vec!["openid".into(), "email".into(), "offline_access".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        require_pkce: Some(true),
        allow_plain_pkce: false,
        audience: Vec::new(),
        permissions: Vec::new(),
        token_endpoint_auth_method: None,
        signing_alg: None,
        loopback_any_port: false,
        introspect_any_token: false,
        logout_url: None,
    }
}
