//! A token before it is signed: the header and claims the builder made, what the mutations
//! changed, and how it is to be signed. [`Draft::encode`] writes the compact JWS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::attacker::attacker_key;
use super::mint::{MintError, MintedToken};
use super::mutation::Mutation;
use crate::keys::SigningKey;

/// How a mutation makes the signature.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Signing {
    Issuer,
    Attacker,
    Unsigned,
    Hmac(Vec<u8>),
    Stripped,
}

pub(super) struct Draft {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing: Signing,
    signing_set_by: Option<String>,
    /// Appended to the signed payload's JSON text.
    pub duplicates: Vec<(String, Value)>,
    /// Set after signing.
    pub tampered: Vec<(String, Value)>,
    /// Every signature byte XORed with 0x5A.
    pub flip: bool,
}

impl Draft {
    /// The unmutated token, to be signed by the issuer's key.
    pub(super) fn new(header: Map<String, Value>, claims: Map<String, Value>) -> Self {
        Self {
            header,
            claims,
            signing: Signing::Issuer,
            signing_set_by: None,
            duplicates: Vec::new(),
            tampered: Vec::new(),
            flip: false,
        }
    }

    pub(super) fn set_signing(&mut self, signing: Signing, by: &Mutation) -> Result<(), MintError> {
        if let Some(previous) = &self.signing_set_by
            && self.signing != signing
        {
            return Err(MintError::ConflictingMutations(
                previous.clone(),
                by.to_string(),
            ));
        }
        self.signing = signing;
        self.signing_set_by = Some(by.to_string());
        Ok(())
    }

    pub(super) fn claim_mut(&mut self, name: &str, by: &Mutation) -> Result<&mut Value, MintError> {
        self.claims
            .get_mut(name)
            .ok_or_else(|| MintError::ClaimAbsent {
                mutation: by.to_string(),
                claim: name.to_owned(),
            })
    }

    pub(super) fn numeric_claim(&self, name: &str, by: &Mutation) -> Result<u64, MintError> {
        self.claims
            .get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| MintError::ClaimAbsent {
                mutation: by.to_string(),
                claim: name.to_owned(),
            })
    }

    pub(super) fn encode(self, key: &SigningKey) -> Result<MintedToken, MintError> {
        let encode = |value: &Map<String, Value>| {
            serde_json::to_vec(value).map_err(|e| MintError::Encode(e.to_string()))
        };
        let header_b64 = URL_SAFE_NO_PAD.encode(encode(&self.header)?);
        let mut payload = encode(&self.claims)?;
        for (name, value) in &self.duplicates {
            // The payload is a JSON object: its text ends with `}`.
            let member = format!(",{}:{}", Value::from(name.as_str()), value);
            payload.pop();
            payload.extend_from_slice(member.as_bytes());
            payload.push(b'}');
        }
        let signing_input = format!("{header_b64}.{}", URL_SAFE_NO_PAD.encode(&payload));
        let mut signature = match &self.signing {
            Signing::Issuer => key.sign_bytes(signing_input.as_bytes()),
            Signing::Attacker => attacker_key()?.sign_bytes(signing_input.as_bytes()),
            Signing::Unsigned | Signing::Stripped => Vec::new(),
            Signing::Hmac(secret) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                aws_lc_rs::hmac::sign(&key, signing_input.as_bytes())
                    .as_ref()
                    .to_vec()
            }
        };
        if self.flip {
            for byte in &mut signature {
                *byte ^= 0x5A;
            }
        }
        let mut claims = self.claims;
        let token = if self.tampered.is_empty() {
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature))
        } else {
            for (name, value) in self.tampered {
                claims.insert(name, value);
            }
            format!(
                "{header_b64}.{}.{}",
                URL_SAFE_NO_PAD.encode(encode(&claims)?),
                URL_SAFE_NO_PAD.encode(&signature)
            )
        };
        Ok(MintedToken {
            token,
            header: Value::Object(self.header),
            claims: Value::Object(claims),
        })
    }
}
