//! The names of the embedded default configuration (`mock-issuer/src/default_config.toml`)
//! that tests speak of, and `forge-web`'s authorization request.

/// The fixed time (2026-01-01T00:00:00Z) every deterministic test runs at.
pub const NOW: u64 = 1_767_225_600;
/// The confidential client and its secret.
pub const WEB_CLIENT: (&str, &str) = ("forge-web", "forge-web-secret");
/// The public client (PKCE, no secret).
pub const SPA_CLIENT: &str = "forge-spa";
/// `forge-web`'s registered redirect URI.
pub const REDIRECT_URI: &str = "http://localhost:8000/auth-callback";
/// `forge-spa`'s registered redirect URI.
pub const SPA_REDIRECT_URI: &str = "http://localhost:3000/callback";
/// alice's `sub`: the user auto-login signs in.
pub const ALICE: &str = "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21";
/// bob's `sub`.
pub const BOB: &str = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4";
/// The `kid` of the issuer's default RS256 key.
pub const RS256_KID: &str = "forge-rs256";
/// RFC 7636 Appendix B: the code verifier...
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// ...and its S256 challenge.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// `forge-web`'s authorization parameters (code flow, PKCE S256 with [`CHALLENGE`], state
/// `state-1`, nonce `nonce-1`), overridden by `changes`; an empty value removes the parameter.
pub fn authorize_params(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", WEB_CLIENT.0),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid email offline_access"),
        ("state", "state-1"),
        ("nonce", "nonce-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (name, value) in changes {
        params.retain(|(k, _)| k != name);
        if !value.is_empty() {
            params.push((name.to_string(), value.to_string()));
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_replace_add_and_remove_parameters() {
        let params = authorize_params(&[("state", "other"), ("prompt", "none"), ("nonce", "")]);
        let value = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("state"), Some("other"));
        assert_eq!(value("prompt"), Some("none"));
        assert_eq!(value("nonce"), None);
        assert_eq!(value("code_challenge"), Some(CHALLENGE));
        assert_eq!(params.iter().filter(|(k, _)| k == "state").count(), 1);
    }
}
