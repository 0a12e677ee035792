//! The code that executes the scenarios, one module per group of the catalogue. Each public
//! function is one row's runner: it drives real HTTP, asserts the status, error code and body,
//! and for hostile cases also shows that the valid twin passes, so no scenario can pass
//! because everything fails.
//!
//! - [`issuer`] (A): the issuer's endpoints, called directly.
//! - [`api_flow`] (B): an API application's protected routes (the API example, or any app).
//! - [`web_flow`] (C): the web example app, through a cookie-keeping browser.
//! - [`web_app`] (C, `check --web`): any app's browser login flow, black box.
//! - [`forgery`] (D): forged tokens against an API application's routes, and ID-token
//!   forgeries through the web flow.

pub mod api_flow;
pub mod forgery;
pub mod issuer;
pub mod web_app;
pub mod web_flow;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::mint::decode_unverified;
use crate::scenario::Failure;

/// A decoded JOSE header and claims set.
pub type Decoded = (Map<String, Value>, Map<String, Value>);

/// Verifies a compact JWS against a JWKS document, choosing the key by `kid` and the algorithm
/// by the key (never by the header alone): the header and claims, or why not.
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<Decoded, Failure> {
    let (header, claims) = decode_unverified(token)
        .ok_or_else(|| Failure::mismatch("the token is not a decodable compact JWS"))?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let jwk_value = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .ok_or_else(|| Failure::mismatch(format!("kid {kid:?} is not in the JWKS")))?;
    let alg = match jwk_value["alg"].as_str() {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        other => {
            return Err(Failure::mismatch(format!(
                "the JWK of {kid:?} has an unexpected alg {other:?}"
            )));
        }
    };
    let jwk: Jwk = serde_json::from_value(jwk_value.clone())
        .map_err(|e| Failure::mismatch(format!("unreadable JWK: {e}")))?;
    let key =
        DecodingKey::from_jwk(&jwk).map_err(|e| Failure::mismatch(format!("unusable JWK: {e}")))?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| {
        Failure::mismatch(format!("the signature does not verify with the JWKS: {e}"))
    })?;
    Ok((header, claims))
}

/// A claim as a string, or "".
pub fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> &'a str {
    claims.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// `aud` as a list, whether a string or an array.
pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}
