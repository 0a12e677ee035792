//! Helpers the validation tests share.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::*;

pub fn b64(value: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(value)
}

pub fn compact(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.c2ln",
        b64(header.as_bytes()),
        b64(payload.as_bytes())
    )
}

pub fn obj(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

pub const NOW: u64 = 1_767_225_600;

pub fn parsed(header: Value, claims: Value) -> ParsedJwt {
    parse_compact(
        &compact(&header.to_string(), &claims.to_string()),
        DEFAULT_MAX_TOKEN_BYTES,
    )
    .unwrap()
}

pub fn access_rules(audiences: &[String]) -> AccessTokenRules<'_> {
    AccessTokenRules {
        issuer: "https://issuer",
        audiences,
        require_typ: true,
        leeway: 60,
        now: NOW,
    }
}
