//! Any bytes as a token request body (RFC 6749 4.1.3, 6, 4.4) through the issuer's router. The
//! first byte picks the client authentication, so the grant rules behind it are reached; before
//! each input a known code (`fuzz-code`, PKCE S256 of `FUZZ_VERIFIER`) and a refresh family are
//! stored, and `fuzz-refresh` in the input stands for the family's current refresh token, so
//! redemption, PKCE, redirect URI checks and rotation run on fuzzed parameters rather than
//! stopping at "unknown code".
#![no_main]

use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use oidc_forge::internals::pkce::{self, PkceChallenge, PkceMethod};
use oidc_forge::internals::{CodeGrant, Login, RefreshFamily};
use oidc_forge_fuzz::{STATE, assert_expected_status, send};

const FUZZ_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// base64("forge-web:forge-web-secret"), base64("forge-spa:"), base64("forge-web:wrong")
const AUTHORIZATIONS: [Option<&str>; 5] = [
    None,
    Some("Basic Zm9yZ2Utd2ViOmZvcmdlLXdlYi1zZWNyZXQ="),
    Some("Basic Zm9yZ2Utc3BhOg=="),
    Some("Basic Zm9yZ2Utd2ViOndyb25n"),
    Some("Bearer x"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let now = STATE.now();
    let login = Login {
        sub: "b8f3f9a0-0c5b-4d6a-9b3e-0d0a4a0c1f01".into(),
        auth_time: now,
        acr: "0",
        sid: None,
    };
    // A full store refuses (fail closed); the target then fuzzes that answer instead.
    let _ = STATE.codes().insert(
        "fuzz-code",
        CodeGrant {
            client_id: "forge-web".into(),
            redirect_uri: Some("http://localhost:8000/auth-callback".into()),
            delivered_to: "http://localhost:8000/auth-callback".into(),
            scopes: vec!["openid".into(), "offline_access".into(), "read".into()],
            nonce: Some("fuzz-nonce".into()),
            pkce: Some(PkceChallenge {
                challenge: pkce::s256_challenge(FUZZ_VERIFIER),
                method: PkceMethod::S256,
            }),
            login: login.clone(),
            expires_at: now + 60,
            redeemed: None,
        },
        now,
    );
    let refresh_token = STATE.start_refresh_family(
        RefreshFamily {
            grant_id: "fuzz-family".into(),
            client_id: "forge-web".into(),
            scopes: vec!["openid".into(), "offline_access".into(), "read".into()],
            login,
            generation: 0,
            issued_at: now,
            expires_at: now + 3600,
        },
        now,
        now + 3600,
    );

    let mut request = Request::post("/api/token").header(
        header::CONTENT_TYPE,
        if selector & 0x80 == 0 {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        },
    );
    if let Some(authorization) = AUTHORIZATIONS[usize::from(selector & 0x7f) % AUTHORIZATIONS.len()]
    {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let request = request
        .body(Body::from(with_refresh_token(body, &refresh_token)))
        .expect("a request with static parts");
    let (status, response) = send(request);
    assert_expected_status(status);
    // RFC 6749 5.1 / 5.2: every answer of the token endpoint is a JSON object.
    let json: serde_json::Value =
        serde_json::from_slice(&response).expect("the token endpoint answers JSON");
    assert!(json.is_object());
});

/// `body` with every `fuzz-refresh` replaced by the real refresh token.
fn with_refresh_token(body: &[u8], token: &str) -> Vec<u8> {
    const PLACEHOLDER: &[u8] = b"fuzz-refresh";
    let mut out = Vec::with_capacity(body.len() + token.len());
    let mut rest = body;
    while let Some(at) = rest
        .windows(PLACEHOLDER.len())
        .position(|window| window == PLACEHOLDER)
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(token.as_bytes());
        rest = &rest[at + PLACEHOLDER.len()..];
    }
    out.extend_from_slice(rest);
    out
}
