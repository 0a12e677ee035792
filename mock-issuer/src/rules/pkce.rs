//! Proof Key for Code Exchange (RFC 7636).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

/// `code_challenge_method` values (RFC 7636 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    Plain,
}

/// The challenge stored with an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge {
    pub challenge: String,
    pub method: PkceMethod,
}

/// Why a verifier does not redeem a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error(
        "code_verifier is required: the authorization request sent a code_challenge (RFC 7636 4.5)"
    )]
    MissingVerifier,
    #[error(
        "code_verifier sent, but the authorization request had no code_challenge (RFC 9700 4.8.2)"
    )]
    UnexpectedVerifier,
    #[error("code_verifier must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~] (RFC 7636 4.1)")]
    MalformedVerifier,
    #[error("code_verifier does not match the code_challenge (RFC 7636 4.6)")]
    Mismatch,
}

/// RFC 7636 4.1: code-verifier = 43*128unreserved.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 4.2: an S256 challenge is the base64url (no padding) of a SHA-256 hash: 43 chars.
pub fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// `BASE64URL(SHA256(ASCII(verifier)))` (RFC 7636 4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// RFC 7636 4.6, plus the downgrade rule of RFC 9700 4.8.2: a verifier without a stored
/// challenge is rejected, so an attacker cannot strip the challenge from the front channel.
pub fn verify(challenge: Option<&PkceChallenge>, verifier: Option<&str>) -> Result<(), PkceError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(PkceError::UnexpectedVerifier),
        (Some(_), None) => Err(PkceError::MissingVerifier),
        (Some(stored), Some(verifier)) => {
            if !is_valid_verifier(verifier) {
                return Err(PkceError::MalformedVerifier);
            }
            let derived = match stored.method {
                PkceMethod::S256 => s256_challenge(verifier),
                PkceMethod::Plain => verifier.to_owned(),
            };
            // Constant-time: the challenge is not secret, but the habit costs nothing.
            if bool::from(derived.as_bytes().ct_eq(stored.challenge.as_bytes())) {
                Ok(())
            } else {
                Err(PkceError::Mismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b_vector() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        let stored = PkceChallenge {
            challenge: CHALLENGE.into(),
            method: PkceMethod::S256,
        };
        assert_eq!(verify(Some(&stored), Some(VERIFIER)), Ok(()));
        let wrong = VERIFIER.replace('d', "e");
        assert_eq!(
            verify(Some(&stored), Some(&wrong)),
            Err(PkceError::Mismatch)
        );
        assert_eq!(verify(Some(&stored), None), Err(PkceError::MissingVerifier));
        assert_eq!(
            verify(None, Some(VERIFIER)),
            Err(PkceError::UnexpectedVerifier)
        );
        assert_eq!(
            verify(Some(&stored), Some("short")),
            Err(PkceError::MalformedVerifier)
        );
        assert_eq!(verify(None, None), Ok(()));
    }

    #[test]
    fn verifier_syntax_is_exact() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(42))));
        assert!(is_valid_s256_challenge(CHALLENGE));
        assert!(!is_valid_s256_challenge(&format!("{CHALLENGE}=")));
    }
}
