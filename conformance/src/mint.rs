//! Tokens for the API and forgery scenarios, as header and claims JSON the scenario shapes,
//! signed by the forge (the issuer's own keys, the attacker's, HMAC, RSA variants:
//! [`oidc_forge::forge::mint::sign_raw`]), so a valid token here is exactly one the issuer could
//! have issued, and a hostile one differs from it in the one way the scenario names.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use oidc_forge::MockIssuer;
use oidc_forge::SigningKey;
use oidc_forge::config::SigningAlg;
use oidc_forge::forge::mint::{
    PublicKeyForm, RawSigner, RsaVariant, attacker_jwks, attacker_key, public_key_bytes, sign_raw,
};
use serde_json::{Map, Value, json};

use crate::scenario::{Failure, setup};

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
    attacker: &'static SigningKey,
    /// The attacker's public JWK, under the issuer's `kid`.
    attacker_jwk: Value,
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
        let keys = issuer.key_set();
        let key = keys
            .default_key()
            .cloned()
            .ok_or_else(|| Failure::setup("the issuer has no signing key"))?;
        let es256 = keys.signing_key(SigningAlg::ES256).cloned();
        let attacker = attacker_key().map_err(setup)?;
        let attacker_jwk = attacker_jwks(key.kid()).map_err(setup)?["keys"][0].clone();
        // jsonwebtoken needs a process-wide crypto provider for the scenarios' verification.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        Ok(Self {
            iss: issuer.url().to_owned(),
            key,
            es256,
            attacker,
            attacker_jwk,
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
        &self.attacker_jwk
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
            Signer::Attacker => self.attacker,
        };
        key.sign_compact(&b64(header.as_bytes()), claims.as_bytes())
    }

    /// Signs with HMAC-SHA256 keyed by `secret` (the RS256→HS256 key-confusion attack keys it
    /// with the issuer's public key material).
    pub fn sign_hs256(&self, header: &str, claims: &str, secret: &[u8]) -> Result<String, Failure> {
        sign_raw(header, claims, RawSigner::Hs256(secret)).map_err(setup)
    }

    /// Signs with the issuer's RSA key under another RSA algorithm (e.g. PS256); `None` when the
    /// key is not RSA or `alg` is no RSA variant.
    pub fn sign_rsa_variant(
        &self,
        alg: Algorithm,
        header: &str,
        claims: &str,
    ) -> Option<Result<String, Failure>> {
        let variant = RsaVariant::from_jose(&format!("{alg:?}"))?;
        (self.key.alg() == SigningAlg::RS256).then(|| {
            sign_raw(header, claims, RawSigner::RsaVariant(&self.key, variant)).map_err(setup)
        })
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
        let der = public_key_bytes(&self.key, PublicKeyForm::SpkiDer).ok()?;
        let pem = public_key_bytes(&self.key, PublicKeyForm::SpkiPem).ok()?;
        Some((der, String::from_utf8(pem).ok()?))
    }
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
