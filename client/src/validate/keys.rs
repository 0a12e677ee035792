//! Verifying keys from a JWKS, each bound to one algorithm family, and the signature check
//! (RFC 7517 4, RFC 8725 3.1).

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::fmt;

use super::*;
use crate::error::TokenError;

/// The kind of public key a JWK holds, as far as algorithm binding cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// `kty: RSA`.
    Rsa,
    /// `kty: EC, crv: P-256`.
    EcP256,
    /// `kty: EC, crv: P-384`.
    EcP384,
    /// `kty: OKP, crv: Ed25519`.
    Ed25519,
}

impl KeyKind {
    /// Whether a key of this kind may verify `alg`: one algorithm family per
    /// key (RFC 8725 3.1), so an RSA key can never verify an HMAC (D-03).
    pub fn fits(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (
                KeyKind::Rsa,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (KeyKind::EcP256, Algorithm::ES256)
                | (KeyKind::EcP384, Algorithm::ES384)
                | (KeyKind::Ed25519, Algorithm::EdDSA)
        )
    }
}

/// A verification key taken from the issuer's JWKS.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The JWK's `kid`.
    pub kid: Option<String>,
    /// The JWK's `alg`, if it names one.
    pub alg: Option<String>,
    /// The key type.
    pub kind: KeyKind,
    /// The key in jsonwebtoken's form.
    pub key: DecodingKey,
    /// An RSA key parsed once into aws-lc's form for RS256, the default and by far the most
    /// common algorithm: jsonwebtoken rebuilds the key from `n` and `e` on every call, which
    /// costs as much again as the verification itself.
    rs256: Option<ParsedPublicKey>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Reads one JWKS entry. `Ok(None)` for keys that are not for signature
    /// verification (`use` other than `sig`, `key_ops` without `verify`) or of
    /// a type this crate does not verify with (symmetric `oct` keys are never
    /// taken from a JWKS).
    pub fn from_jwk_value(value: &Value) -> Result<Option<Self>, String> {
        let object = value.as_object().ok_or("a JWKS entry is not an object")?;
        let string = |name: &str| -> Result<Option<String>, String> {
            match object.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("JWK member `{name}` is not a string")),
            }
        };
        // RFC 7517 4.2: `use` other than "sig" means not for verification (D-15).
        if let Some(key_use) = string("use")?
            && key_use != "sig"
        {
            return Ok(None);
        }
        if let Some(ops) = object.get("key_ops") {
            let verifies = ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
            if !verifies {
                return Ok(None);
            }
        }
        let kind = match (string("kty")?.as_deref(), string("crv")?.as_deref()) {
            (Some("RSA"), _) => KeyKind::Rsa,
            (Some("EC"), Some("P-256")) => KeyKind::EcP256,
            (Some("EC"), Some("P-384")) => KeyKind::EcP384,
            (Some("OKP"), Some("Ed25519")) => KeyKind::Ed25519,
            _ => return Ok(None),
        };
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(value.clone())
            .map_err(|error| format!("unreadable JWK: {error}"))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|error| format!("unusable JWK: {error}"))?;
        let rs256 = match kind {
            KeyKind::Rsa => parse_rs256(string("n")?.as_deref(), string("e")?.as_deref()),
            _ => None,
        };
        Ok(Some(Self {
            kid: string("kid")?,
            alg: string("alg")?,
            kind,
            key,
            rs256,
        }))
    }

    /// Whether this key may verify a token with `alg` (key type, and the
    /// JWK's own `alg` when it names one: RFC 7517 4.4, D-15).
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.kind.fits(alg)
            && self
                .alg
                .as_deref()
                .is_none_or(|key_alg| key_alg == algorithm_name(alg))
    }
}

/// Verifies the signature of `token` with `key` under `alg`.
pub fn verify_signature(
    token: &ParsedJwt,
    key: &VerifyingKey,
    alg: Algorithm,
) -> Result<(), TokenError> {
    if !key.accepts(alg) {
        return Err(TokenError::BadSignature);
    }
    // The same primitive jsonwebtoken uses for RS256 (PKCS#1 v1.5, SHA-256, 2048-8192-bit
    // keys), with the key parsed once; any other algorithm, or a key aws-lc would not parse
    // from its components, takes jsonwebtoken's path, which then fails the same way.
    if let (Algorithm::RS256, Some(parsed)) = (alg, &key.rs256) {
        return parsed
            .verify_sig(token.signing_input.as_bytes(), &token.signature_bytes)
            .map_err(|_| TokenError::BadSignature);
    }
    match jsonwebtoken::crypto::verify(
        &token.signature,
        token.signing_input.as_bytes(),
        &key.key,
        alg,
    ) {
        Ok(true) => Ok(()),
        _ => Err(TokenError::BadSignature),
    }
}

/// An RSA public key from a JWK's `n` and `e` (base64url, RFC 7518 6.3.1), parsed for RS256.
fn parse_rs256(n: Option<&str>, e: Option<&str>) -> Option<ParsedPublicKey> {
    let n = URL_SAFE_NO_PAD.decode(n?).ok()?;
    let e = URL_SAFE_NO_PAD.decode(e?).ok()?;
    RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::test_support::*;

    #[test]
    fn p384_keys_are_read_and_bound_to_es384() {
        use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        // Uncompressed point: 0x04, then 48 bytes of x and 48 of y.
        let point = pair.public_key().as_ref().to_vec();
        let jwk = json!({
            "kty": "EC", "crv": "P-384", "kid": "p384",
            "x": b64(&point[1..49]), "y": b64(&point[49..]),
        });
        let key = VerifyingKey::from_jwk_value(&jwk)
            .unwrap()
            .expect("an EC P-384 key");
        assert_eq!(key.kind, KeyKind::EcP384);
        assert!(key.accepts(Algorithm::ES384) && !key.accepts(Algorithm::ES256));
    }

    #[test]
    fn key_kinds_bind_one_algorithm_family() {
        assert!(KeyKind::Rsa.fits(Algorithm::RS256));
        assert!(KeyKind::Rsa.fits(Algorithm::PS512));
        assert!(!KeyKind::Rsa.fits(Algorithm::HS256));
        assert!(!KeyKind::Rsa.fits(Algorithm::ES256));
        assert!(KeyKind::EcP256.fits(Algorithm::ES256));
        assert!(!KeyKind::EcP256.fits(Algorithm::ES384));
        assert!(KeyKind::Ed25519.fits(Algorithm::EdDSA));
    }

    #[test]
    fn jwks_entries_for_encryption_or_symmetric_keys_are_skipped() {
        let rsa = json!({"kty":"RSA","n":"sXch","e":"AQAB","kid":"a"});
        assert!(VerifyingKey::from_jwk_value(&rsa).unwrap().is_some());
        let enc = json!({"kty":"RSA","n":"sXch","e":"AQAB","use":"enc"});
        assert!(VerifyingKey::from_jwk_value(&enc).unwrap().is_none());
        let ops = json!({"kty":"RSA","n":"sXch","e":"AQAB","key_ops":["encrypt"]});
        assert!(VerifyingKey::from_jwk_value(&ops).unwrap().is_none());
        let oct = json!({"kty":"oct","k":"c2VjcmV0"});
        assert!(VerifyingKey::from_jwk_value(&oct).unwrap().is_none());
        let bad_kid = json!({"kty":"RSA","n":"sXch","e":"AQAB","kid":5});
        assert!(VerifyingKey::from_jwk_value(&bad_kid).is_err());
        let with_alg =
            VerifyingKey::from_jwk_value(&json!({"kty":"RSA","n":"sXch","e":"AQAB","alg":"RS256"}))
                .unwrap()
                .unwrap();
        assert!(with_alg.accepts(Algorithm::RS256));
        assert!(!with_alg.accepts(Algorithm::PS256));
    }

    #[test]
    fn rs256_with_the_key_parsed_once_agrees_with_jsonwebtokens_path() {
        let keys = oidc_forge::KeySet::embedded();
        let signer = keys.by_kid("forge-rs256").unwrap();
        let jwk = VerifyingKey::from_jwk_value(signer.jwk()).unwrap().unwrap();
        assert!(
            jwk.rs256.is_some(),
            "an RS256 JWK is parsed for the fast path"
        );
        let slow = VerifyingKey {
            rs256: None,
            ..jwk.clone()
        };
        let token = signer.sign_jwt(
            oidc_forge::internals::TokenTyp::AccessToken,
            br#"{"sub":"x","scope":"read"}"#,
        );
        // The payload changed under the same signature: RFC 7515 5.2 step 8 fails.
        let mut parts = token.split('.');
        let (header, _, signature) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        let forged = format!(
            "{header}.{}.{signature}",
            b64(br#"{"sub":"y","scope":"read"}"#)
        );
        for key in [&jwk, &slow] {
            let valid = parse_compact(&token, DEFAULT_MAX_TOKEN_BYTES).unwrap();
            assert!(verify_signature(&valid, key, Algorithm::RS256).is_ok());
            let tampered = parse_compact(&forged, DEFAULT_MAX_TOKEN_BYTES).unwrap();
            assert!(matches!(
                verify_signature(&tampered, key, Algorithm::RS256),
                Err(TokenError::BadSignature)
            ));
            // The same signature presented as RS384 never verifies (RFC 8725 3.1).
            assert!(matches!(
                verify_signature(&valid, key, Algorithm::RS384),
                Err(TokenError::BadSignature)
            ));
        }
    }
}
