//! PKCE (RFC 7636) and the random values of an authorization request.
//!
//! Every value here comes from the thread-local CSPRNG (ChaCha seeded from the
//! operating system) and carries 256 bits of entropy, encoded base64url
//! without padding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

use crate::error::Error;

/// 32 random bytes, base64url without padding (43 characters).
fn random_url_safe() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh `state` value for an authorization request (RFC 6749 10.12).
pub fn generate_state() -> String {
    random_url_safe()
}

/// A fresh `nonce` value binding the ID token to this request (Core 3.1.2.1).
pub fn generate_nonce() -> String {
    random_url_safe()
}

/// A PKCE code verifier (RFC 7636 4.1): 43 to 128 unreserved characters.
///
/// `Debug` does not print the value: it is a secret until the code is redeemed.
#[derive(Clone, PartialEq, Eq)]
pub struct PkceVerifier(String);

impl PkceVerifier {
    /// A new random verifier (256 bits, 43 characters).
    pub fn generate() -> Self {
        Self(random_url_safe())
    }

    /// Wraps an existing verifier, checking RFC 7636 4.1's length and alphabet.
    pub fn new(verifier: impl Into<String>) -> Result<Self, Error> {
        let verifier = verifier.into();
        // RFC 7636 4.1: code-verifier = 43*128unreserved
        let length_ok = (43..=128).contains(&verifier.len());
        let alphabet_ok = verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if length_ok && alphabet_ok {
            Ok(Self(verifier))
        } else {
            Err(Error::Configuration(format!(
                "a PKCE code verifier must be 43 to 128 characters from [A-Za-z0-9-._~] (RFC 7636 4.1); got {} characters",
                verifier.len()
            )))
        }
    }

    /// The verifier, to send to the token endpoint.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The S256 challenge: BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 4.2).
    pub fn challenge(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example_challenge() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            verifier.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_values_are_43_chars_and_distinct() {
        let first = PkceVerifier::generate();
        let second = PkceVerifier::generate();
        assert_eq!(first.as_str().len(), 43);
        assert_ne!(first, second);
        assert!(PkceVerifier::new(first.as_str()).is_ok());
        assert_ne!(generate_state(), generate_state());
        assert_eq!(generate_nonce().len(), 43);
    }

    #[test]
    fn verifier_rules_are_enforced() {
        assert!(PkceVerifier::new("short").is_err());
        assert!(PkceVerifier::new("a".repeat(129)).is_err());
        assert!(PkceVerifier::new(format!("{}+", "a".repeat(43))).is_err());
        assert!(PkceVerifier::new("a".repeat(128)).is_ok());
        assert_eq!(
            format!("{:?}", PkceVerifier::generate()),
            "PkceVerifier([redacted])"
        );
    }
}
