//! Any bytes as an authorization request (RFC 6749 4.1.1, Core 3.1.2.1): parsed as parameters
//! and checked by the rules directly, then sent through the issuer's router as a POST form body
//! and, when the bytes form a valid URI query, as a GET query; the forge middleware (request
//! log), the login decision, code issuance and the error page or redirect all run.
#![no_main]

use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use oidc_forge::internals::Params;
use oidc_forge::internals::authorization;
use oidc_forge_fuzz::{STATE, assert_expected_status, send};

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(data);
    let _ = authorization::parse_request(&STATE.config(), &params);

    let post = Request::post("/authorize")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(data.to_vec()))
        .expect("a request with a static URI");
    let (status, _) = send(post);
    assert_expected_status(status);

    let mut uri = b"/authorize?".to_vec();
    uri.extend_from_slice(data);
    if let Ok(get) = Request::get(uri.as_slice()).body(Body::empty()) {
        let (status, _) = send(get);
        assert_expected_status(status);
    }
});
