//! Signing keys: parsed once at startup into the crypto backend's own key types, so a token
//! costs one signature and nothing else; the public halves are published as a pre-serialised
//! JWKS (Core 10.1, RFC 7517).

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
};
use aws_lc_rs::{digest, rsa};
use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::config::{ClientConfig, Config, KeyConfig, SigningAlg};

/// The keys compiled into the binary (copies of `fixtures/keys/`), used when the configuration
/// lists none so that startup never generates a key.
const EMBEDDED_KEYS: [(&str, SigningAlg, &str); 3] = [
    (
        "forge-rs256",
        SigningAlg::RS256,
        include_str!("../../fixtures/keys/rs256.pem"),
    ),
    (
        "forge-es256",
        SigningAlg::ES256,
        include_str!("../../fixtures/keys/es256.pem"),
    ),
    (
        "forge-ed25519",
        SigningAlg::EdDSA,
        include_str!("../../fixtures/keys/ed25519.pem"),
    ),
];

/// A key that cannot serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("keys[{index}] ({kid}): cannot read {path}: {source}")]
    Read {
        index: usize,
        kid: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("keys[{index}] ({kid}): expected `pem_file` or `pem`")]
    NoPem { index: usize, kid: String },
    #[error("keys[{index}] ({kid}): {source}")]
    Invalid {
        index: usize,
        kid: String,
        #[source]
        source: KeyMaterialError,
    },
}

/// Why a PEM, or a key just generated, cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMaterialError {
    #[error("not a PEM private key: {0}")]
    NotPem(String),
    #[error("expected a `PRIVATE KEY` (PKCS#8) PEM block for {alg}, found `{tag}`")]
    UnexpectedBlock { alg: SigningAlg, tag: String },
    #[error("the PEM does not hold a usable {alg} private key ({reason})")]
    Rejected { alg: SigningAlg, reason: String },
    /// RFC 7518 3.3: RSA keys for RS256 must be at least 2048 bits.
    #[error("RSA key of {bits} bits: RS256 needs at least 2048 (RFC 7518 3.3)")]
    RsaTooShort { bits: usize },
    #[error("cannot derive the public key: {0}")]
    PublicKey(String),
    #[error("cannot generate a {alg} key: {reason}")]
    Generation { alg: SigningAlg, reason: String },
}

/// A private key in the backend's parsed form.
enum Signer {
    Rsa(rsa::KeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// The `typ` header of a JWT, which tells an access token from an ID token (RFC 9068 2.1,
/// RFC 8725 3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTyp {
    AccessToken,
    IdToken,
}

/// The RSA algorithms other than RS256 (RFC 7518 3.3, 3.5), for tokens signed by an RSA key
/// under an algorithm it is not published for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RsaVariant {
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
}

impl RsaVariant {
    pub const ALL: [RsaVariant; 5] = [
        RsaVariant::Rs384,
        RsaVariant::Rs512,
        RsaVariant::Ps256,
        RsaVariant::Ps384,
        RsaVariant::Ps512,
    ];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            RsaVariant::Rs384 => "RS384",
            RsaVariant::Rs512 => "RS512",
            RsaVariant::Ps256 => "PS256",
            RsaVariant::Ps384 => "PS384",
            RsaVariant::Ps512 => "PS512",
        }
    }

    /// The variant a JOSE `alg` names.
    pub fn from_jose(alg: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|variant| variant.as_str() == alg)
    }
}

/// One signing key with everything derived from it computed once.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    signer: Signer,
    /// base64url of `{"alg":..,"kid":..,"typ":"at+jwt"}` and of the same with `"JWT"`.
    access_header: String,
    id_header: String,
    jwk: serde_json::Value,
    /// The public key in the form jsonwebtoken verifies with.
    verifying_key: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PEM private key (PKCS#8, or PKCS#1 for RSA) for `alg`.
    pub fn from_pem(kid: &str, alg: SigningAlg, pem_text: &str) -> Result<Self, KeyMaterialError> {
        let block = pem::parse(pem_text).map_err(|e| KeyMaterialError::NotPem(e.to_string()))?;
        Self::from_der(kid, alg, block.tag(), block.contents())
    }

    /// Generates a fresh key for `alg`. RSA generation takes tens to hundreds of milliseconds:
    /// only ever on an explicit request, never at startup or on a request path.
    pub fn generate(kid: &str, alg: SigningAlg) -> Result<Self, KeyMaterialError> {
        Self::from_der(kid, alg, "PRIVATE KEY", &generate_pkcs8(alg)?)
    }

    /// Parses the DER contents of a PEM block tagged `tag`.
    fn from_der(
        kid: &str,
        alg: SigningAlg,
        tag: &str,
        der: &[u8],
    ) -> Result<Self, KeyMaterialError> {
        let signer = match (alg, tag) {
            (SigningAlg::RS256, "PRIVATE KEY") => {
                Signer::Rsa(rsa::KeyPair::from_pkcs8(der).map_err(|e| rejected(alg, e))?)
            }
            (SigningAlg::RS256, "RSA PRIVATE KEY") => {
                Signer::Rsa(rsa::KeyPair::from_der(der).map_err(|e| rejected(alg, e))?)
            }
            (SigningAlg::ES256, "PRIVATE KEY") => Signer::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| rejected(alg, e))?,
            ),
            (SigningAlg::EdDSA, "PRIVATE KEY") => {
                Signer::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(|e| rejected(alg, e))?)
            }
            (_, tag) => {
                return Err(KeyMaterialError::UnexpectedBlock {
                    alg,
                    tag: tag.to_owned(),
                });
            }
        };
        let jwk_members = match &signer {
            Signer::Rsa(pair) => {
                // RFC 7518 3.3: RSA keys for RS256 must be at least 2048 bits.
                if pair.public_modulus_len() < 256 {
                    return Err(KeyMaterialError::RsaTooShort {
                        bits: pair.public_modulus_len() * 8,
                    });
                }
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Signer::Ecdsa(pair) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
            Signer::Ed25519(pair) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            }),
        };
        let mut jwk = jwk_members;
        jwk["use"] = "sig".into();
        jwk["alg"] = alg.as_str().into();
        jwk["kid"] = kid.into();
        let jwk_field = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
        let verifying_key = match alg {
            SigningAlg::RS256 => {
                jsonwebtoken::DecodingKey::from_rsa_components(&jwk_field("n"), &jwk_field("e"))
            }
            SigningAlg::ES256 => {
                jsonwebtoken::DecodingKey::from_ec_components(&jwk_field("x"), &jwk_field("y"))
            }
            SigningAlg::EdDSA => jsonwebtoken::DecodingKey::from_ed_components(&jwk_field("x")),
        }
        .map_err(|e| KeyMaterialError::PublicKey(e.to_string()))?;
        let header = |typ: &str| URL_SAFE_NO_PAD.encode(header_json(alg, kid, typ).to_string());
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            signer,
            access_header: header("at+jwt"),
            id_header: header("JWT"),
            jwk,
            verifying_key,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The public JWK (`kty`, key members, `use`, `alg`, `kid`).
    pub fn jwk(&self) -> &serde_json::Value {
        &self.jwk
    }

    pub fn verifying_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.verifying_key
    }

    /// Signs `claims` as a compact JWS with this key's pre-encoded header for `typ`.
    pub fn sign_jwt(&self, typ: TokenTyp, claims: &[u8]) -> String {
        let header = match typ {
            TokenTyp::AccessToken => &self.access_header,
            TokenTyp::IdToken => &self.id_header,
        };
        self.sign_compact(header, claims)
    }

    /// Signs an already base64url-encoded header and raw claims bytes.
    pub fn sign_compact(&self, header_b64: &str, claims: &[u8]) -> String {
        let claims_len = base64::encoded_len(claims.len(), false).unwrap_or(0);
        let mut token = String::with_capacity(header_b64.len() + claims_len + 2 + 350);
        token.push_str(header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature = self.sign_bytes(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        token
    }

    /// The raw signature of `message` under this key's algorithm.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        // The backend only fails on an internal error; with a key it accepted at load time
        // signing cannot fail, so an empty signature (which no verifier accepts) is the
        // fail-closed answer rather than a panic.
        match &self.signer {
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                match pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                ) {
                    Ok(()) => signature,
                    Err(_) => Vec::new(),
                }
            }
            Signer::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .unwrap_or_default(),
            Signer::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// The signature of `message` by this RSA key under another RSA algorithm (for forged
    /// tokens whose `alg` the key does not sign with); `None` for a key that is not RSA.
    pub fn sign_rsa_variant(&self, variant: RsaVariant, message: &[u8]) -> Option<Vec<u8>> {
        let Signer::Rsa(pair) = &self.signer else {
            return None;
        };
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match variant {
            RsaVariant::Rs384 => &aws_lc_rs::signature::RSA_PKCS1_SHA384,
            RsaVariant::Rs512 => &aws_lc_rs::signature::RSA_PKCS1_SHA512,
            RsaVariant::Ps256 => &aws_lc_rs::signature::RSA_PSS_SHA256,
            RsaVariant::Ps384 => &aws_lc_rs::signature::RSA_PSS_SHA384,
            RsaVariant::Ps512 => &aws_lc_rs::signature::RSA_PSS_SHA512,
        };
        let mut signature = vec![0u8; pair.public_modulus_len()];
        pair.sign(padding, &SystemRandom::new(), message, &mut signature)
            .ok()
            .map(|()| signature)
    }

    /// `at_hash` / `c_hash` (Core 3.1.3.6, 3.3.2.11): the left half of the hash that matches
    /// the signing algorithm, base64url.
    pub fn half_hash(&self, value: &str) -> String {
        let algorithm = match self.alg {
            SigningAlg::RS256 | SigningAlg::ES256 => &digest::SHA256,
            // Ed25519 signs with SHA-512 internally; OpenID's convention uses SHA-512 here.
            SigningAlg::EdDSA => &digest::SHA512,
        };
        let hash = digest::digest(algorithm, value.as_bytes());
        let bytes = hash.as_ref();
        URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
    }
}

/// Seeds aws-lc's random generator on a background thread, once per process.
///
/// aws-lc seeds its generator on first use, from CPU jitter entropy among other sources, which
/// takes tens of milliseconds (40-60 ms measured on a 2-core machine). RSA signing draws random
/// numbers for blinding, so without this the first token request after startup would wait for
/// the seeding: a test suite that starts an issuer and asks for one token pays it every run.
/// Done here, it overlaps with the time until the first token request instead. The thread
/// first lets startup finish (a few milliseconds): the seeding keeps a core busy, and on a
/// 2-core machine it would otherwise slow the server's first answer.
/// A fresh PKCS#8 PEM private key for `alg`, for a configuration's `keys[].pem` (tenants
/// that list none get theirs this way). RSA takes tens to hundreds of milliseconds.
pub fn generate_pem(alg: SigningAlg) -> Result<String, KeyMaterialError> {
    Ok(pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        generate_pkcs8(alg)?,
    )))
}

fn generate_pkcs8(alg: SigningAlg) -> Result<Vec<u8>, KeyMaterialError> {
    let failed = |e: aws_lc_rs::error::Unspecified| KeyMaterialError::Generation {
        alg,
        reason: e.to_string(),
    };
    Ok(match alg {
        SigningAlg::RS256 => {
            use aws_lc_rs::encoding::AsDer as _;
            let pair = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).map_err(failed)?;
            pair.as_der().map_err(failed)?.as_ref().to_vec()
        }
        SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        SigningAlg::EdDSA => Ed25519KeyPair::generate()
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
    })
}

pub fn seed_rng_in_background() {
    static SEEDED: std::sync::Once = std::sync::Once::new();
    SEEDED.call_once(|| {
        // If the thread cannot start, the first signature seeds the generator as before.
        let _ = std::thread::Builder::new()
            .name("oidc-forge-rng-seed".into())
            .stack_size(256 * 1024)
            .spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                let mut byte = [0u8; 1];
                let _ = aws_lc_rs::rand::fill(&mut byte);
            });
    });
}

/// The JOSE header the issuer signs with: `alg`, `kid` and `typ` (RFC 7515 4.1, RFC 9068 2.1).
pub fn header_json(alg: SigningAlg, kid: &str, typ: &str) -> serde_json::Value {
    json!({ "alg": alg.as_str(), "kid": kid, "typ": typ })
}

impl TokenTyp {
    /// The `typ` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTyp::AccessToken => "at+jwt",
            TokenTyp::IdToken => "JWT",
        }
    }
}

fn rejected(alg: SigningAlg, err: aws_lc_rs::error::KeyRejected) -> KeyMaterialError {
    KeyMaterialError::Rejected {
        alg,
        reason: err.to_string(),
    }
}

/// The keys the issuer signs with and publishes.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Arc<SigningKey>>,
    /// Keys rotated out: published, and accepted on the issuer's own tokens, until their time.
    retiring: Vec<RetiringKey>,
    /// The JWKS document, serialised once per key set.
    jwks_json: Bytes,
}

/// A key that no longer signs but stays in the JWKS until `until` (Unix time), so that relying
/// parties can still verify what it signed (Core 10.1.1).
#[derive(Debug, Clone)]
pub struct RetiringKey {
    pub key: Arc<SigningKey>,
    pub until: u64,
}

impl KeySet {
    /// Loads the configured keys, or the embedded ones when none are configured.
    pub fn from_config(config: &Config) -> Result<Self, KeyError> {
        if config.keys.is_empty() {
            return Ok(Self::embedded());
        }
        let keys = config
            .keys
            .iter()
            .enumerate()
            .map(|(index, key)| load_key(index, key).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(keys))
    }

    /// The RS256, ES256 and EdDSA fixture keys compiled into the binary.
    pub fn embedded() -> Self {
        let keys = EMBEDDED_KEYS
            .iter()
            .filter_map(|(kid, alg, pem)| SigningKey::from_pem(kid, *alg, pem).ok())
            .map(Arc::new)
            .collect();
        Self::new(keys)
    }

    pub fn new(keys: Vec<Arc<SigningKey>>) -> Self {
        Self::with_retiring(keys, Vec::new())
    }

    /// Signing keys plus keys in a rotation's grace period, published after them.
    pub fn with_retiring(keys: Vec<Arc<SigningKey>>, retiring: Vec<RetiringKey>) -> Self {
        let published = keys.iter().chain(retiring.iter().map(|r| &r.key));
        let jwks = json!({ "keys": published.map(|key| key.jwk()).collect::<Vec<_>>() });
        Self {
            jwks_json: jwks.to_string().into(),
            keys,
            retiring,
        }
    }

    /// The same set without the retiring keys whose time has come.
    pub fn pruned(&self, now: u64) -> Self {
        let retiring = self
            .retiring
            .iter()
            .filter(|r| r.until > now)
            .cloned()
            .collect();
        Self::with_retiring(self.keys.clone(), retiring)
    }

    /// When the next retiring key leaves the JWKS.
    pub fn next_retirement(&self) -> Option<u64> {
        self.retiring.iter().map(|r| r.until).min()
    }

    pub fn retiring(&self) -> &[RetiringKey] {
        &self.retiring
    }

    /// The key that signs for `client`: its algorithm's, or the default key.
    pub fn signing_key_for(&self, client: Option<&ClientConfig>) -> Option<&Arc<SigningKey>> {
        match client.and_then(|c| c.signing_alg) {
            Some(alg) => self.signing_key(alg),
            None => self.default_key(),
        }
    }

    /// A key published at `now` by `kid`: a signing key, or a retiring key still in its grace
    /// period. What the issuer accepts on its own tokens.
    pub fn published_at(&self, kid: &str, now: u64) -> Option<&Arc<SigningKey>> {
        self.by_kid(kid).or_else(|| {
            self.retiring
                .iter()
                .find(|r| r.key.kid == kid && r.until > now)
                .map(|r| &r.key)
        })
    }

    /// Whether any key, signing or retiring, has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.by_kid(kid).is_some() || self.retiring.iter().any(|r| r.key.kid == kid)
    }

    /// The key that signs for `alg`: the first configured one.
    pub fn signing_key(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|key| key.alg == alg)
    }

    /// The first key: it signs for clients that name no algorithm.
    pub fn default_key(&self) -> Option<&Arc<SigningKey>> {
        self.keys.first()
    }

    /// A signing key by `kid`.
    pub fn by_kid(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn keys(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }

    pub fn algorithms(&self) -> Vec<SigningAlg> {
        let mut algs: Vec<SigningAlg> = self.keys.iter().map(|key| key.alg).collect();
        algs.sort();
        algs.dedup();
        algs
    }

    pub fn jwks_json(&self) -> &Bytes {
        &self.jwks_json
    }
}

fn load_key(index: usize, key: &KeyConfig) -> Result<SigningKey, KeyError> {
    let pem_text = match (&key.pem, &key.pem_file) {
        (Some(pem), _) => pem.clone(),
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            index,
            kid: key.kid.clone(),
            path: path.display().to_string(),
            source,
        })?,
        (None, None) => {
            return Err(KeyError::NoPem {
                index,
                kid: key.kid.clone(),
            });
        }
    };
    SigningKey::from_pem(&key.kid, key.alg, &pem_text).map_err(|source| KeyError::Invalid {
        index,
        kid: key.kid.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_keys_all_load_and_publish_public_members_only() {
        let set = KeySet::embedded();
        assert_eq!(set.keys().len(), 3);
        let jwks: serde_json::Value = serde_json::from_slice(set.jwks_json()).unwrap();
        for jwk in jwks["keys"].as_array().unwrap() {
            assert_eq!(jwk["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{private} published in {jwk}");
            }
        }
    }

    #[test]
    fn wrong_algorithm_for_the_key_is_a_clear_error() {
        let err = SigningKey::from_pem("k", SigningAlg::ES256, EMBEDDED_KEYS[0].2).unwrap_err();
        assert!(
            matches!(
                err,
                KeyMaterialError::Rejected {
                    alg: SigningAlg::ES256,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("usable ES256 private key"),
            "{err}"
        );
        let err = SigningKey::from_pem("k", SigningAlg::RS256, "not pem").unwrap_err();
        assert!(matches!(err, KeyMaterialError::NotPem(_)), "{err:?}");
        assert!(err.to_string().contains("not a PEM private key"), "{err}");
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        let set = KeySet::embedded();
        for key in set.keys() {
            let token = key.sign_jwt(TokenTyp::AccessToken, br#"{"sub":"x"}"#);
            let mut validation = jsonwebtoken::Validation::new(key.alg().jwt_algorithm());
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            let data =
                jsonwebtoken::decode::<serde_json::Value>(&token, key.verifying_key(), &validation)
                    .unwrap();
            assert_eq!(data.claims["sub"], "x");
            assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
        }
    }
}
