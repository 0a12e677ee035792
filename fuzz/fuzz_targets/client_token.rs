//! Any bytes as a token, against the client's validation with a warm JWKS: the issuer's published
//! keys parsed by the client once, no network. Structure, header, algorithm, key selection and
//! signature run on every input; the claim rules (which in the client only run after a good
//! signature) run on every parsed token as well, so they see arbitrary claims too.
#![no_main]

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use oidc_forge_client::jsonwebtoken::Algorithm;
use oidc_forge_client::validate::{self, AccessTokenRules, IdTokenRules, VerifyingKey};
use oidc_forge_fuzz::{ISSUER, STATE};

static KEYS: LazyLock<Vec<VerifyingKey>> = LazyLock::new(|| {
    let jwks: serde_json::Value =
        serde_json::from_slice(&STATE.jwks_json()).expect("the issuer's JWKS is JSON");
    jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .filter_map(|jwk| VerifyingKey::from_jwk_value(jwk).expect("a usable JWK"))
        .collect()
});

static NOW: LazyLock<u64> = LazyLock::new(|| {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
});

const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = validate::parse_compact(token, validate::DEFAULT_MAX_TOKEN_BYTES) else {
        return;
    };
    let audiences = ["forge-web".to_owned()];
    let access_rules = AccessTokenRules {
        issuer: ISSUER,
        audiences: &audiences,
        require_typ: true,
        leeway: 30,
        now: *NOW,
    };
    let _ = validate::access_token_info(&parsed, token, &access_rules);
    let Ok(alg) = validate::check_algorithm(&parsed.alg, ALLOWED) else {
        return;
    };
    for key in KEYS.iter() {
        if parsed.kid.is_none() || key.kid == parsed.kid {
            let _ = validate::verify_signature(&parsed, key, alg);
        }
    }
    let id_rules = IdTokenRules {
        issuer: ISSUER,
        client_id: "forge-web",
        trusted_audiences: &[],
        nonce: Some("n-0S6_WzA2Mj"),
        access_token: Some(token),
        code: Some("a-code"),
        previous_subject: None,
        max_age: Some(300),
        leeway: 30,
        now: *NOW,
    };
    let _ = validate::id_token_claims(&parsed, alg, &id_rules);
});
