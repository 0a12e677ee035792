//! The attacker: a key the issuer never publishes, its JWKS, and the issuer's own public key in
//! the byte forms a confused validator may use as an HMAC secret.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::mint::MintError;
use super::mutation::PublicKeyForm;
use crate::config::SigningAlg;
use crate::keys::{KeyMaterialError, SigningKey};

/// The key of "an attacker": `fixtures/keys/attacker-rs256.pem`, never published by the issuer.
pub const ATTACKER_PEM: &str = include_str!("../../../fixtures/keys/attacker-rs256.pem");

/// The attacker's key, parsed on first use: it signs what a test presents as a forgery.
pub fn attacker_key() -> Result<&'static SigningKey, MintError> {
    static KEY: OnceLock<Result<SigningKey, KeyMaterialError>> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_pem("attacker-rs256", SigningAlg::RS256, ATTACKER_PEM))
        .as_ref()
        .map_err(|e| MintError::Keys(format!("the attacker key: {e}")))
}

/// The attacker's public key as a JWKS, its key published under `kid`: what a test serves at
/// the URL of a [`Mutation::Jku`](super::mutation::Mutation::Jku) to see whether a client fetches and trusts it.
pub fn attacker_jwks(kid: &str) -> Result<Value, MintError> {
    let key = attacker_key()?;
    let mut jwk = key.jwk().clone();
    jwk["kid"] = kid.into();
    Ok(json!({ "keys": [jwk] }))
}

/// The issuer's RSA public key in `form`, from the published `n` and `e`.
pub fn public_key_bytes(key: &SigningKey, form: PublicKeyForm) -> Result<Vec<u8>, MintError> {
    use ::rsa::pkcs1::EncodeRsaPublicKey as _;
    use ::rsa::pkcs8::{EncodePublicKey as _, LineEnding};

    let component = |name: &str| {
        key.jwk()[name]
            .as_str()
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .map(|bytes| ::rsa::BigUint::from_bytes_be(&bytes))
            .ok_or_else(|| MintError::Keys(format!("the key has no RSA `{name}`")))
    };
    let public = ::rsa::RsaPublicKey::new(component("n")?, component("e")?)
        .map_err(|e| MintError::Keys(e.to_string()))?;
    let failed = |e: &dyn std::fmt::Display| MintError::Encode(e.to_string());
    Ok(match form {
        PublicKeyForm::SpkiPem => public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| failed(&e))?
            .into_bytes(),
        PublicKeyForm::SpkiDer => public
            .to_public_key_der()
            .map_err(|e| failed(&e))?
            .into_vec(),
        PublicKeyForm::Pkcs1Pem => public
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| failed(&e))?
            .into_bytes(),
        PublicKeyForm::Pkcs1Der => public.to_pkcs1_der().map_err(|e| failed(&e))?.into_vec(),
    })
}
