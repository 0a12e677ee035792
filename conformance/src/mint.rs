//! Tokens for the API and forgery scenarios, signed with the running issuer's own key through
//! its public key API (`SigningKey::sign_compact`), so a valid token here is exactly one the
//! issuer could have issued, and a hostile one differs from it in the one way the scenario
//! names. The attacker's key is the fixture `fixtures/keys/attacker-rs256.pem`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use oidc_forge::MockIssuer;
use oidc_forge::config::SigningAlg;
use oidc_forge::keys::SigningKey;
use serde_json::{Map, Value, json};

use crate::scenario::{Failure, setup};

/// The attacker's RSA key (a fixture; never trusted by anything).
pub const ATTACKER_PEM: &str = include_str!("../../fixtures/keys/attacker-rs256.pem");
/// The RS256 key the issuer embeds when its configuration lists none (`forge-rs256`).
const EMBEDDED_RS256_PEM: &str = include_str!("../../fixtures/keys/rs256.pem");

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Who the tokens are about and for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `sub`: a user of the issuer.
    pub sub: String,
    /// `aud` of access tokens: the audience the application answers to.
    pub aud: Vec<String>,
    /// `client_id` and `azp`.
    pub client_id: String,
}

/// Which key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signer {
    /// The issuer's default (RS256) key.
    Issuer,
    /// The issuer's ES256 key, published in its JWKS.
    IssuerEs256,
    /// The attacker's RSA key.
    Attacker,
}

/// Signs tokens as the issuer (or as an attacker).
#[derive(Clone)]
pub struct Minter {
    iss: String,
    key: Arc<SigningKey>,
    es256: Option<Arc<SigningKey>>,
    attacker: Arc<SigningKey>,
    /// The PEM of the issuer's RSA key, for algorithms its own signer does not offer (PS256).
    rsa_pem: Option<String>,
    /// The subject, audience and client of the tokens.
    pub profile: Profile,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("iss", &self.iss)
            .field("kid", &self.key.kid())
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Minter {
    /// A minter for `issuer`'s current default key.
    pub fn new(issuer: &MockIssuer, profile: Profile) -> Result<Self, Failure> {
        let keys = issuer.state().keys();
        let key = keys
            .default_key()
            .cloned()
            .ok_or_else(|| Failure::setup("the issuer has no signing key"))?;
        let es256 = keys.signing_key(SigningAlg::ES256).cloned();
        let attacker =
            SigningKey::from_pem(key.kid(), SigningAlg::RS256, ATTACKER_PEM).map_err(setup)?;
        // jsonwebtoken needs a process-wide crypto provider for its HMAC and RSA-PSS signing.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let config = issuer.config();
        let rsa_pem = if config.keys.is_empty() {
            Some(EMBEDDED_RS256_PEM.to_owned())
        } else {
            config
                .keys
                .iter()
                .find(|k| k.kid == key.kid() && k.alg == SigningAlg::RS256)
                .and_then(|k| match (&k.pem, &k.pem_file) {
                    (Some(pem), _) => Some(pem.clone()),
                    (None, Some(path)) => std::fs::read_to_string(path).ok(),
                    (None, None) => None,
                })
        };
        Ok(Self {
            iss: issuer.url().to_owned(),
            key,
            es256,
            attacker: Arc::new(attacker),
            rsa_pem,
            profile,
        })
    }

    /// The issuer identifier the tokens carry.
    pub fn iss(&self) -> &str {
        &self.iss
    }

    /// The `kid` of the issuer's signing key.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The issuer's public JWK of its signing key.
    pub fn public_jwk(&self) -> &Value {
        self.key.jwk()
    }

    /// The attacker's public JWK (its `kid` is the issuer's).
    pub fn attacker_jwk(&self) -> &Value {
        self.attacker.jwk()
    }

    /// The claims of a valid access token issued at `now` with `scope` and `permissions`
    /// (RFC 9068 2.2 plus Fief's `scope`, `permissions`, `acr`).
    pub fn access_claims(&self, now: u64, scope: &[String], permissions: &[String]) -> Value {
        json!({
            "iss": self.iss,
            "sub": self.profile.sub,
            "aud": self.profile.aud,
            "client_id": self.profile.client_id,
            "azp": self.profile.client_id,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "jti": format!("conformance-{now}"),
            "scope": scope.join(" "),
            "permissions": permissions,
            "acr": "0",
        })
    }

    /// The header of an access token: `alg`, the issuer's `kid`, `typ: at+jwt`.
    pub fn access_header(&self) -> Value {
        json!({ "alg": self.key.alg().as_str(), "kid": self.key.kid(), "typ": "at+jwt" })
    }

    /// Signs JSON header and claims with the issuer's key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_text(&header.to_string(), &claims.to_string(), Signer::Issuer)
    }

    /// Signs raw header and claims text (so duplicate members and odd shapes survive) with
    /// `signer`, whatever the header's `alg` says.
    pub fn sign_text(&self, header: &str, claims: &str, signer: Signer) -> String {
        let key = match signer {
            Signer::Issuer => &self.key,
            Signer::IssuerEs256 => self.es256.as_ref().unwrap_or(&self.key),
            Signer::Attacker => &self.attacker,
        };
        key.sign_compact(&b64(header.as_bytes()), claims.as_bytes())
    }

    /// Signs with HMAC-SHA256 keyed by `secret` (the RS256→HS256 key-confusion attack keys it
    /// with the issuer's public key material).
    pub fn sign_hs256(&self, header: &str, claims: &str, secret: &[u8]) -> Result<String, Failure> {
        let message = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .map_err(setup)?;
        Ok(format!("{message}.{signature}"))
    }

    /// Signs with the issuer's RSA key under another RSA algorithm (e.g. PS256), through
    /// jsonwebtoken; `None` when the key's PEM is not at hand.
    pub fn sign_rsa_variant(
        &self,
        alg: Algorithm,
        header: &str,
        claims: &str,
    ) -> Option<Result<String, Failure>> {
        let pem = self.rsa_pem.as_ref()?;
        let sign = || -> Result<String, Failure> {
            let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(setup)?;
            let message = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
            let signature =
                jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg).map_err(setup)?;
            Ok(format!("{message}.{signature}"))
        };
        Some(sign())
    }

    /// Whether the issuer publishes an ES256 key.
    pub fn has_es256(&self) -> bool {
        self.es256.is_some()
    }

    /// The `kid` of the issuer's ES256 key.
    pub fn es256_kid(&self) -> Option<&str> {
        self.es256.as_deref().map(SigningKey::kid)
    }

    /// The issuer's RSA public key as SubjectPublicKeyInfo DER and PEM, rebuilt from the
    /// JWK's `n` and `e` (what an attacker downloads from the JWKS).
    pub fn public_key_der_and_pem(&self) -> Option<(Vec<u8>, String)> {
        let jwk = self.key.jwk();
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str()?).ok()?;
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str()?).ok()?;
        let der = rsa_spki_der(&n, &e);
        let body = base64::engine::general_purpose::STANDARD.encode(&der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        );
        Some((der, pem))
    }
}

/// DER of an RSA SubjectPublicKeyInfo (RFC 8017 A.1.1 inside RFC 5280 4.1).
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn length(len: usize) -> Vec<u8> {
        if len < 0x80 {
            vec![len as u8]
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            let mut out = vec![0x80 | bytes.len() as u8];
            out.extend(bytes);
            out
        }
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(length(content.len()));
        out.extend_from_slice(content);
        out
    }
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut content = Vec::with_capacity(bytes.len() + 1);
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(bytes);
        tlv(0x02, &content)
    }
    let rsa_public_key = tlv(0x30, &[integer(n), integer(e)].concat());
    // rsaEncryption OID 1.2.840.113549.1.1.1 with NULL parameters.
    let algorithm = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0u8];
    bit_string.extend(rsa_public_key);
    tlv(0x30, &[algorithm.to_vec(), tlv(0x03, &bit_string)].concat())
}

/// Replaces or adds members of a JSON object.
pub fn with(mut value: Value, changes: &[(&str, Value)]) -> Value {
    if let Some(object) = value.as_object_mut() {
        for (name, new) in changes {
            object.insert((*name).to_owned(), new.clone());
        }
    }
    value
}

/// Removes members of a JSON object.
pub fn without(mut value: Value, names: &[&str]) -> Value {
    if let Some(object) = value.as_object_mut() {
        for name in names {
            object.remove(*name);
        }
    }
    value
}

/// The header and claims of a compact JWS, decoded without verification.
pub fn decode_unverified(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let mut next = || -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = next()?;
    let claims = next()?;
    Some((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_der_has_the_rsa_oid_and_the_modulus() {
        let der = rsa_spki_der(&[0xc0, 0x01], &[1, 0, 1]);
        assert_eq!(der[0], 0x30);
        assert!(
            der.windows(9)
                .any(|w| w == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])
        );
        // A high first byte gets a leading zero so the INTEGER stays positive.
        assert!(der.windows(5).any(|w| w == [0x02, 0x03, 0x00, 0xc0, 0x01]));
    }
}
