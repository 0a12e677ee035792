//! Any bytes as a configuration file: TOML parsing, the registration rules, and for a
//! configuration that passes, building the issuer state from it (key parsing, discovery
//! document).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oidc_forge::{Config, MockIssuer, StartError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml_str(text, "fuzz.toml") else {
        return;
    };
    let state = MockIssuer::builder()
        .config(config)
        .build_state("http://127.0.0.1:9000");
    // Key material (PEM text, files) is read when the state is built and may fail then, with
    // its own error; the registration rules must not fail a second time.
    if let Err(error) = state {
        assert!(
            !matches!(error, StartError::Config(_)),
            "a configuration that validated failed validation when building: {error}"
        );
    }
});
