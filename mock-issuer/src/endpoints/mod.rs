//! One module per endpoint, each shaped the same way: parse the request, apply the rules from
//! [`crate::rules`], build the response.

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

use axum::http::{HeaderMap, header};

use crate::error::OAuthError;
use crate::params::Params;

/// Parses an `application/x-www-form-urlencoded` body (RFC 6749 4.1.3, 3.2: parameters at most
/// once).
pub(crate) fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded (RFC 6749 4.1.3)",
        ));
    }
    let params = Params::parse(body);
    params
        .check()
        .map_err(|why| OAuthError::invalid_request(why.to_string()))?;
    Ok(params)
}
