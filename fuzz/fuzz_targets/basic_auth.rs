//! Any bytes as an `Authorization` header at the token endpoint (RFC 6749 2.3.1: `Basic
//! base64(urlencode(id) ":" urlencode(secret))`), then authentication against the default
//! clients, with and without a `client_id` in the body.
#![no_main]

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use oidc_forge::internals::Params;
use oidc_forge::internals::client_auth;
use oidc_forge_fuzz::STATE;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    let config = STATE.config();
    for body in [
        &b""[..],
        b"client_id=forge-web",
        b"client_id=forge-spa&client_secret=x",
    ] {
        match client_auth::presented(&headers, &Params::parse(body)) {
            Ok(presented) => {
                let _ = client_auth::authenticate(&config, &presented);
            }
            Err(error) => {
                assert!(
                    matches!(error.error, "invalid_client" | "invalid_request"),
                    "unexpected error code {}",
                    error.error
                );
            }
        }
    }
});
