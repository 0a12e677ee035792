//! The validation rules, as plain functions.
//!
//! Nothing here does I/O: the [`crate::Client`] fetches keys and calls these
//! functions in order (size, structure, header, algorithm, key, signature,
//! claims), and tests call them directly. jsonwebtoken is used only for the
//! signature primitive ([`jsonwebtoken::crypto::verify`]; RS256 goes to the
//! same aws-lc primitive directly, with the key parsed once); its `Validation`
//! is never used, because every claim rule lives here and reads the injected
//! clock.

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use subtle::ConstantTimeEq;

use crate::error::{Listed, TokenError};
use crate::tokens::{AccessTokenInfo, IdTokenClaims};

/// Default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Longest `kid` accepted; longer ones are injection attempts, not key ids.
pub const MAX_KID_BYTES: usize = 256;
/// `exp` further ahead than this is refused: it is a millisecond timestamp or a
/// token meant never to expire (the OpenID suite flags exp > 50 years).
pub const MAX_EXP_AHEAD_SECONDS: u64 = 50 * 365 * 24 * 3600;

/// The header members this crate understands. Anything else named in `crit`
/// makes the token unacceptable (RFC 7515 4.1.11).
const UNDERSTOOD_CRIT: &[&str] = &[];

/// A compact JWS split and decoded, not yet trusted.
#[derive(Clone)]
pub struct ParsedJwt {
    /// The header members (duplicate names already refused).
    pub header: Map<String, Value>,
    /// The claims (duplicate names already refused).
    pub claims: Map<String, Value>,
    /// `alg` from the header.
    pub alg: String,
    /// `kid` from the header, if any.
    pub kid: Option<String>,
    /// `typ` from the header, if any.
    pub typ: Option<String>,
    signing_input: String,
    signature: String,
    /// The signature decoded (once, by [`parse_compact`]).
    signature_bytes: Vec<u8>,
}

impl fmt::Debug for ParsedJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedJwt")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// A JSON object whose member names are unique.
///
/// serde_json keeps the last of duplicate names; a validator and a consumer
/// that disagree on which one wins is an attack (RFC 7519 4, RFC 7515 4), so
/// duplicates are refused outright.
struct UniqueObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
                let mut map = Map::new();
                while let Some(name) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    // One lookup for both the duplicate check and the insertion.
                    match map.entry(name) {
                        serde_json::map::Entry::Occupied(taken) => {
                            let shown: String = taken.key().chars().take(40).collect();
                            return Err(de::Error::custom(format!("duplicate member {shown:?}")));
                        }
                        serde_json::map::Entry::Vacant(free) => {
                            free.insert(value);
                        }
                    }
                }
                Ok(UniqueObject(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, TokenError> {
    // RFC 7515 2 / 7.1: base64url without padding; '=', '+', '/' and
    // whitespace are not part of the alphabet. The decoder refuses all of them
    // (its engine is URL-safe and requires no padding), so the bytes are only
    // scanned, to name the offending one, once it has failed.
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|error| segment_error(segment, what, error))
}

fn segment_error(segment: &str, what: &str, error: base64::DecodeError) -> TokenError {
    if let Some(bad) = segment
        .bytes()
        .find(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
    {
        let shown = if bad.is_ascii_graphic() {
            format!("{:?}", bad as char)
        } else {
            format!("byte 0x{bad:02x}")
        };
        return TokenError::Malformed(format!(
            "{what} contains {shown}, which is not base64url without padding"
        ));
    }
    TokenError::Malformed(format!("{what} is not valid base64url: {error}"))
}

fn decode_object(segment: &str, what: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = decode_segment(segment, what)?;
    serde_json::from_slice::<UniqueObject>(&bytes)
        .map(|object| object.0)
        .map_err(|error| TokenError::Malformed(format!("{what} is not a JSON object: {error}")))
}

/// Splits and decodes a compact JWS, applying the structural and header rules.
///
/// Refuses, before any cryptography: tokens over `max_bytes`; anything but
/// three segments (a five-part JWE is named as such, RFC 8725 2.7 / 3.7);
/// padding or characters outside base64url; JSON that is not an object or has
/// duplicate members; a non-string `alg`, `kid` or `typ`; a `kid` over
/// [`MAX_KID_BYTES`]; `crit` naming anything (this crate understands no
/// extensions, RFC 7515 4.1.11); `enc` (a JWE header); an empty signature.
///
/// `jku`, `jwk`, `x5u` and `x5c` are never read: keys come only from the
/// issuer's JWKS (RFC 8725 3.10; Core 3.1.3.7(6)).
pub fn parse_compact(token: &str, max_bytes: usize) -> Result<ParsedJwt, TokenError> {
    if token.len() > max_bytes {
        return Err(TokenError::TooLarge {
            length: token.len(),
            limit: max_bytes,
        });
    }
    let segments: Vec<&str> = token.split('.').collect();
    let (header_b64, payload_b64, signature_b64) = match segments.as_slice() {
        [header, payload, signature] => (*header, *payload, *signature),
        parts if parts.len() == 5 => {
            return Err(TokenError::Malformed(
                "five segments: an encrypted JWE where a signed JWS is expected".into(),
            ));
        }
        parts => {
            return Err(TokenError::Malformed(format!(
                "{} segment(s) where a compact JWS has 3",
                parts.len()
            )));
        }
    };
    if token.trim_start().starts_with('{') {
        return Err(TokenError::Malformed(
            "JWS JSON serialization is not accepted".into(),
        ));
    }
    let header = decode_object(header_b64, "header")?;
    let claims = decode_object(payload_b64, "payload")?;
    if signature_b64.is_empty() {
        // RFC 8725 3.1: an unsigned token is never acceptable here.
        return Err(TokenError::Malformed("the signature is empty".into()));
    }
    let signature_bytes = decode_segment(signature_b64, "signature")?;

    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        Some(_) => return Err(TokenError::Header("`alg` is not a string".into())),
        None => return Err(TokenError::Header("`alg` is missing".into())),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid.len() <= MAX_KID_BYTES => Some(kid.clone()),
        Some(Value::String(kid)) => {
            return Err(TokenError::Header(format!(
                "`kid` is {} bytes, over the {MAX_KID_BYTES}-byte limit",
                kid.len()
            )));
        }
        Some(_) => return Err(TokenError::Header("`kid` is not a string".into())),
    };
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(typ)) => Some(typ.clone()),
        Some(_) => return Err(TokenError::Header("`typ` is not a string".into())),
    };
    if header.contains_key("enc") {
        return Err(TokenError::Header(
            "`enc` present: encrypted tokens are not accepted".into(),
        ));
    }
    if let Some(crit) = header.get("crit") {
        // RFC 7515 4.1.11: recipients MUST reject a JWS whose crit names an
        // extension they do not understand; an empty or non-array crit is invalid.
        let names = crit
            .as_array()
            .filter(|names| !names.is_empty())
            .ok_or_else(|| TokenError::Header("`crit` is not a non-empty array".into()))?;
        for name in names {
            let name = name
                .as_str()
                .ok_or_else(|| TokenError::Header("`crit` holds a non-string".into()))?;
            if !UNDERSTOOD_CRIT.contains(&name) {
                let shown: String = name.chars().take(40).collect();
                return Err(TokenError::Header(format!(
                    "`crit` names {shown:?}, an extension this validator does not understand"
                )));
            }
        }
    }
    Ok(ParsedJwt {
        header,
        claims,
        alg,
        kid,
        typ,
        // The first two segments and the dot between them, as they came.
        signing_input: token[..header_b64.len() + 1 + payload_b64.len()].to_owned(),
        signature: signature_b64.to_owned(),
        signature_bytes,
    })
}

/// The JOSE name of an algorithm.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// Picks the algorithm from the configured allowlist, never from the token
/// alone: the header's `alg` must equal (case-sensitively) one of `allowed`
/// (RFC 8725 3.1; Core 3.1.3.7(7)). `none` in any case never matches.
pub fn check_algorithm(alg: &str, allowed: &[Algorithm]) -> Result<Algorithm, TokenError> {
    allowed
        .iter()
        .copied()
        .find(|candidate| algorithm_name(*candidate) == alg)
        .ok_or_else(|| TokenError::AlgorithmNotAllowed {
            alg: alg.chars().take(40).collect(),
            allowed: Listed(
                &allowed
                    .iter()
                    .map(|a| algorithm_name(*a))
                    .collect::<Vec<_>>(),
            )
            .to_string(),
        })
}

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

fn claim_error(claim: &'static str, problem: impl Into<String>) -> TokenError {
    TokenError::Claim {
        claim,
        problem: problem.into(),
    }
}

/// A required string claim.
pub fn required_string(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<String, TokenError> {
    match claims.get(claim) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(claim_error(claim, "is empty")),
        Some(other) => Err(claim_error(
            claim,
            format!("must be a string, not {}", json_type(other)),
        )),
        None => Err(claim_error(claim, "is missing")),
    }
}

/// An optional string claim (present but not a string is an error).
pub fn optional_string(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(other) => Err(claim_error(
            claim,
            format!("must be a string, not {}", json_type(other)),
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A NumericDate claim (RFC 7519 2): a JSON number of seconds, never a string.
pub fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<u64>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(number)) => {
            if let Some(seconds) = number.as_u64() {
                return Ok(Some(seconds));
            }
            match number.as_f64() {
                // Fractional seconds are allowed; truncating moves exp earlier.
                Some(seconds) if (0.0..1e15).contains(&seconds) => Ok(Some(seconds as u64)),
                _ => Err(claim_error(claim, "is not a non-negative NumericDate")),
            }
        }
        Some(other) => Err(claim_error(
            claim,
            format!(
                "must be a NumericDate (a JSON number), not {}",
                json_type(other)
            ),
        )),
    }
}

/// The time claims after checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeClaims {
    /// `exp`.
    pub exp: u64,
    /// `iat`.
    pub iat: u64,
    /// `nbf`, if present.
    pub nbf: Option<u64>,
}

/// Checks `exp`, `nbf` and `iat` against `now` with `leeway` seconds of skew.
///
/// - `exp` is required (RFC 9068 2.2; Core 2) and the token is refused from
///   `exp + leeway` on: RFC 7519 4.1.4 says "on or after" the expiry, so the
///   boundary second itself is already expired.
/// - `exp` further than [`MAX_EXP_AHEAD_SECONDS`] ahead is refused (D-18).
/// - `nbf`, if present, must satisfy `now + leeway >= nbf` (RFC 7519 4.1.5).
/// - `iat` is required (RFC 9068 2.2; Core 2) and must not be in the future
///   beyond the leeway (Core 3.1.3.7(10)).
pub fn check_time(
    claims: &Map<String, Value>,
    now: u64,
    leeway: u64,
) -> Result<TimeClaims, TokenError> {
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| claim_error("exp", "is missing"))?;
    let iat = numeric_date(claims, "iat")?.ok_or_else(|| claim_error("iat", "is missing"))?;
    let nbf = numeric_date(claims, "nbf")?;
    if exp > now.saturating_add(MAX_EXP_AHEAD_SECONDS) {
        return Err(claim_error(
            "exp",
            "is more than 50 years ahead (a millisecond timestamp?)",
        ));
    }
    // RFC 7519 4.1.4: the current time MUST be before exp (plus leeway).
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired {
            expired_ago: now - exp,
            leeway,
        });
    }
    // RFC 7519 4.1.5: the current time MUST be after or equal to nbf.
    if let Some(nbf) = nbf
        && now.saturating_add(leeway) < nbf
    {
        return Err(TokenError::NotYetValid {
            seconds: nbf - now,
            leeway,
        });
    }
    // Core 3.1.3.7(10) / B-09: an iat in the future is a forged or mis-clocked token.
    if iat > now.saturating_add(leeway) {
        return Err(TokenError::IssuedInFuture {
            seconds: iat - now,
            leeway,
        });
    }
    Ok(TimeClaims { exp, iat, nbf })
}

/// `iss` must be exactly the configured issuer: no normalisation of case,
/// trailing slash or scheme (RFC 8725 3.8; Core 3.1.3.7(2); RFC 9068 4).
pub fn check_issuer(claims: &Map<String, Value>, expected: &str) -> Result<String, TokenError> {
    let actual = required_string(claims, "iss")?;
    if actual != expected {
        return Err(TokenError::IssuerMismatch {
            expected: expected.to_owned(),
            actual: actual.chars().take(200).collect(),
        });
    }
    Ok(actual)
}

/// Reads `aud`: a string or a non-empty array of strings (RFC 7519 4.1.3).
pub fn audiences(claims: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    match claims.get("aud") {
        None => Err(claim_error("aud", "is missing")),
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| claim_error("aud", "holds a non-string"))
            })
            .collect(),
        Some(Value::Array(_)) => Err(claim_error("aud", "is an empty array")),
        Some(other) => Err(claim_error(
            "aud",
            format!(
                "must be a string or an array of strings, not {}",
                json_type(other)
            ),
        )),
    }
}

/// Access tokens: `aud` must name one of the audiences this resource server
/// answers to (RFC 9068 4; RFC 8725 3.9). Other audiences may be present.
pub fn check_access_token_audience(aud: &[String], expected: &[String]) -> Result<(), TokenError> {
    if aud.iter().any(|a| expected.contains(a)) {
        Ok(())
    } else {
        Err(TokenError::Audience(format!(
            "none of [{}] is an expected audience ({})",
            Listed(&shorten_all(aud)),
            Listed(expected)
        )))
    }
}

fn shorten_all(values: &[String]) -> Vec<String> {
    values
        .iter()
        .take(5)
        .map(|v| v.chars().take(80).collect())
        .collect()
}

/// ID tokens: Core 3.1.3.7(3)-(5).
///
/// - (3) `aud` must contain the client id, and every other audience must be
///   in `trusted` (by default none are).
/// - (4) with several audiences, `azp` must be present.
/// - (5) when `azp` is present it must be the client id.
pub fn check_id_token_audience(
    aud: &[String],
    azp: Option<&str>,
    client_id: &str,
    trusted: &[String],
) -> Result<(), TokenError> {
    // Core 3.1.3.7(3): aud must contain client_id.
    if !aud.iter().any(|a| a == client_id) {
        return Err(TokenError::Audience(format!(
            "[{}] does not contain the client id {client_id:?}",
            Listed(&shorten_all(aud))
        )));
    }
    // Core 3.1.3.7(3): reject additional audiences not trusted by the client.
    if let Some(untrusted) = aud.iter().find(|a| *a != client_id && !trusted.contains(a)) {
        return Err(TokenError::Audience(format!(
            "contains the untrusted audience {:?}",
            untrusted.chars().take(80).collect::<String>()
        )));
    }
    // Core 3.1.3.7(4): several audiences need an authorized party.
    if aud.len() > 1 && azp.is_none() {
        return Err(TokenError::Audience(
            "several audiences but no `azp` claim".into(),
        ));
    }
    // Core 3.1.3.7(5): azp, when present, must be this client.
    if let Some(azp) = azp
        && azp != client_id
    {
        return Err(TokenError::Audience(format!(
            "`azp` {:?} is not the client id {client_id:?}",
            azp.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

/// RFC 9068 4: an access token's `typ` must be `at+jwt` (media type compared
/// case-insensitively, `application/` prefix optional). This keeps an ID
/// token from being replayed as an access token (RFC 8725 3.11; B-13).
pub fn check_access_token_type(typ: Option<&str>) -> Result<(), TokenError> {
    let ok = typ.is_some_and(|typ| {
        let typ = typ.to_ascii_lowercase();
        typ == "at+jwt" || typ == "application/at+jwt"
    });
    if ok {
        Ok(())
    } else {
        Err(TokenError::WrongType {
            expected: "at+jwt",
            actual: typ.map_or_else(|| "none".into(), |t| t.chars().take(40).collect()),
        })
    }
}

/// ID tokens carry `typ: JWT` or none; an access token (`at+jwt`) or any other
/// explicit type is not an ID token (RFC 8725 3.11-3.12).
pub fn check_id_token_type(typ: Option<&str>) -> Result<(), TokenError> {
    match typ.map(str::to_ascii_lowercase).as_deref() {
        None | Some("jwt") | Some("application/jwt") => Ok(()),
        Some(_) => Err(TokenError::WrongType {
            expected: "JWT or none",
            actual: typ
                .map(|t| t.chars().take(40).collect())
                .unwrap_or_default(),
        }),
    }
}

/// The `at_hash` / `c_hash` value for `input` under `alg` (Core 3.1.3.6,
/// 3.3.2.11): the left half of the hash of the ASCII octets, base64url
/// without padding. The hash follows the algorithm's: SHA-256 for *256,
/// SHA-384 for *384, SHA-512 for *512 and EdDSA (Ed25519).
pub fn token_hash(alg: Algorithm, input: &str) -> String {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512, digest};
    let algorithm = match alg {
        Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => &SHA384,
        Algorithm::HS512 | Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => &SHA512,
        _ => &SHA256,
    };
    let hash = digest(algorithm, input.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Checks `at_hash` or `c_hash` when the token carries it (Core 3.1.3.8, 3.3.2.10).
pub fn check_hash(
    claims: &Map<String, Value>,
    claim: &'static str,
    alg: Algorithm,
    input: &str,
    what: &'static str,
) -> Result<(), TokenError> {
    match optional_string(claims, claim)? {
        None => Ok(()),
        Some(value) => {
            let expected = token_hash(alg, input);
            if bool::from(value.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(TokenError::HashMismatch { claim, what })
            }
        }
    }
}

/// Core 3.1.3.7(11): when a nonce was sent, the ID token's `nonce` must be
/// present and equal (compared in constant time).
pub fn check_nonce(claims: &Map<String, Value>, expected: Option<&str>) -> Result<(), TokenError> {
    let actual = optional_string(claims, "nonce")?;
    match (expected, actual) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(TokenError::Nonce("is missing but one was sent")),
        (Some(expected), Some(actual)) => {
            if bool::from(expected.as_bytes().ct_eq(actual.as_bytes())) {
                Ok(())
            } else {
                Err(TokenError::Nonce("does not match the one sent"))
            }
        }
    }
}

/// Splits a `scope` string into its tokens (RFC 6749 3.3: space-delimited,
/// case-sensitive).
pub fn parse_scope(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The items of `required` not in `granted`, by exact string match
/// (`read` is not `read:all`, `Read` is not `read`).
pub fn missing_items(required: &[String], granted: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|item| !granted.contains(item))
        .cloned()
        .collect()
}

/// What an access token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct AccessTokenRules<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// Audiences this resource server accepts.
    pub audiences: &'a [String],
    /// Whether `typ: at+jwt` is required.
    pub require_typ: bool,
    /// Clock skew allowance in seconds.
    pub leeway: u64,
    /// Current time.
    pub now: u64,
}

/// The claim rules for an access token whose signature has been verified.
///
/// `scope` must be a string and `permissions`, when present, an array of
/// strings; `sub` must be a string, of any shape: Fief's are UUIDs, other issuers' are not
/// (RFC 9068 2.2), and requiring a UUID refused every token from a certified issuer such as
/// oidc-provider.
pub fn access_token_info(
    token: &ParsedJwt,
    raw: &str,
    rules: &AccessTokenRules<'_>,
) -> Result<AccessTokenInfo, TokenError> {
    access_token_info_with(token, raw, rules, |claims| claims.clone())
}

/// [`access_token_info`] for a token the caller no longer needs: its claims
/// move into the result instead of being copied.
pub fn into_access_token_info(
    mut token: ParsedJwt,
    raw: &str,
    rules: &AccessTokenRules<'_>,
) -> Result<AccessTokenInfo, TokenError> {
    let mut info = access_token_info_with(&token, raw, rules, |_| Map::new())?;
    info.claims = std::mem::take(&mut token.claims);
    Ok(info)
}

fn access_token_info_with(
    token: &ParsedJwt,
    raw: &str,
    rules: &AccessTokenRules<'_>,
    keep_claims: impl FnOnce(&Map<String, Value>) -> Map<String, Value>,
) -> Result<AccessTokenInfo, TokenError> {
    if rules.require_typ {
        check_access_token_type(token.typ.as_deref())?;
    }
    let claims = &token.claims;
    check_issuer(claims, rules.issuer)?;
    let time = check_time(claims, rules.now, rules.leeway)?;
    check_access_token_audience(&audiences(claims)?, rules.audiences)?;
    let sub = required_string(claims, "sub")?;
    let scope = match claims.get("scope") {
        Some(Value::String(scope)) => parse_scope(scope),
        Some(other) => {
            return Err(claim_error(
                "scope",
                format!("must be a space-separated string, not {}", json_type(other)),
            ));
        }
        None => return Err(claim_error("scope", "is missing")),
    };
    let permissions = match claims.get("permissions") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| claim_error("permissions", "holds a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(claim_error(
                "permissions",
                format!("must be an array of strings, not {}", json_type(other)),
            ));
        }
    };
    let acr = optional_string(claims, "acr")?;
    let client_id = match optional_string(claims, "client_id")? {
        Some(client_id) => Some(client_id),
        None => optional_string(claims, "azp")?,
    };
    Ok(AccessTokenInfo {
        id: sub,
        scope,
        permissions,
        acr,
        client_id,
        expires_at: time.exp,
        access_token: raw.to_owned(),
        claims: keep_claims(claims),
    })
}

/// What an ID token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct IdTokenRules<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// This client's id.
    pub client_id: &'a str,
    /// Extra audiences the client trusts besides itself.
    pub trusted_audiences: &'a [String],
    /// The nonce sent in the authorization request, if any.
    pub nonce: Option<&'a str>,
    /// The access token issued alongside, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The authorization code redeemed, for `c_hash`.
    pub code: Option<&'a str>,
    /// The subject of the original ID token, when this one came from a refresh.
    pub previous_subject: Option<&'a str>,
    /// The `max_age` sent in the authorization request: `auth_time` is then
    /// required and must be at most this many seconds ago (Core 3.1.2.1, 3.1.3.7 (13)).
    pub max_age: Option<u64>,
    /// Clock skew allowance in seconds.
    pub leeway: u64,
    /// Current time.
    pub now: u64,
}

/// The claim rules for an ID token whose signature has been verified
/// (Core 3.1.3.7; 12.2 for refreshed ones).
pub fn id_token_claims(
    token: &ParsedJwt,
    alg: Algorithm,
    rules: &IdTokenRules<'_>,
) -> Result<IdTokenClaims, TokenError> {
    check_id_token_type(token.typ.as_deref())?;
    let claims = &token.claims;
    // Core 3.1.3.7(2): iss exactly the issuer.
    let iss = check_issuer(claims, rules.issuer)?;
    // Core 2: sub is required, a string.
    let sub = required_string(claims, "sub")?;
    let aud = audiences(claims)?;
    let azp = optional_string(claims, "azp")?;
    check_id_token_audience(
        &aud,
        azp.as_deref(),
        rules.client_id,
        rules.trusted_audiences,
    )?;
    // Core 3.1.3.7(9)-(10): exp and iat.
    let time = check_time(claims, rules.now, rules.leeway)?;
    check_nonce(claims, rules.nonce)?;
    if let Some(access_token) = rules.access_token {
        check_hash(claims, "at_hash", alg, access_token, "access token")?;
    }
    if let Some(code) = rules.code {
        check_hash(claims, "c_hash", alg, code, "authorization code")?;
    }
    // Core 12.2: a refreshed ID token keeps the original subject.
    if let Some(previous) = rules.previous_subject
        && previous != sub
    {
        return Err(TokenError::SubjectChanged {
            expected: previous.to_owned(),
            actual: sub.chars().take(80).collect(),
        });
    }
    let auth_time = numeric_date(claims, "auth_time")?;
    if let Some(max_age) = rules.max_age {
        check_auth_age(auth_time, max_age, rules.now, rules.leeway)?;
    }
    Ok(IdTokenClaims {
        iss,
        sub,
        aud,
        exp: time.exp,
        iat: time.iat,
        auth_time,
        nonce: optional_string(claims, "nonce")?,
        acr: optional_string(claims, "acr")?,
        azp,
        claims: claims.clone(),
    })
}

/// Core 2 and 3.1.3.7 (13): when `max_age` was requested, `auth_time` is
/// required, and a login older than `max_age` (plus the leeway) asks for a new
/// one. A login in the future beyond the leeway is as suspect as a stale one.
pub fn check_auth_age(
    auth_time: Option<u64>,
    max_age: u64,
    now: u64,
    leeway: u64,
) -> Result<(), TokenError> {
    let auth_time = auth_time.ok_or(TokenError::Claim {
        claim: "auth_time",
        problem: "is required when max_age was requested (OpenID Core 2)".into(),
    })?;
    if auth_time > now.saturating_add(leeway) {
        return Err(TokenError::Claim {
            claim: "auth_time",
            problem: format!("is {} s in the future", auth_time - now),
        });
    }
    let age = now.saturating_sub(auth_time);
    if age > max_age.saturating_add(leeway) {
        return Err(TokenError::AuthenticationTooOld {
            age,
            max_age,
            leeway,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(value: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(value)
    }

    fn compact(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            b64(header.as_bytes()),
            b64(payload.as_bytes())
        )
    }

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn structure_rules_refuse_malformed_tokens_without_panicking() {
        let cases: Vec<(String, &str)> = vec![
            ("a.b".into(), "2 segment"),
            ("a.b.c.d".into(), "4 segment"),
            ("a.b.c.d.e".into(), "JWE"),
            (String::new(), "1 segment"),
            (
                format!("{}=", compact(r#"{"alg":"RS256"}"#, "{}")),
                "not base64url",
            ),
            (
                compact(r#"{"alg":"RS256"}"#, "{}").replace("c2ln", "c2l+"),
                "not base64url",
            ),
            (
                format!(" {}", compact(r#"{"alg":"RS256"}"#, "{}")),
                "not base64url",
            ),
            (compact(r#"["alg"]"#, "{}"), "not a JSON object"),
            (compact(r#"{"alg":"RS256"}"#, "[1]"), "not a JSON object"),
            (compact(r#"{"alg":"RS256"} x"#, "{}"), "not a JSON object"),
            (
                format!("{}.{}.c2ln", b64(&[0xff, 0xfe]), b64(b"{}")),
                "not a JSON object",
            ),
            (
                compact(r#"{"alg":"RS256"}"#, "{}").replace(".c2ln", "."),
                "signature is empty",
            ),
            (
                compact(r#"{"alg":"RS256","alg":"none"}"#, "{}"),
                "duplicate member \"alg\"",
            ),
            (
                compact(r#"{"alg":"RS256"}"#, r#"{"sub":"a","sub":"admin"}"#),
                "duplicate member \"sub\"",
            ),
            (compact(r#"{"alg":5}"#, "{}"), "`alg` is not a string"),
            (compact(r#"{"typ":"JWT"}"#, "{}"), "`alg` is missing"),
            (
                compact(r#"{"alg":"RS256","kid":7}"#, "{}"),
                "`kid` is not a string",
            ),
            (
                compact(
                    &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(300)),
                    "{}",
                ),
                "over the 256-byte limit",
            ),
            (
                compact(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, "{}"),
                "does not understand",
            ),
            (
                compact(r#"{"alg":"RS256","crit":[]}"#, "{}"),
                "non-empty array",
            ),
            (
                compact(r#"{"alg":"RS256","enc":"A256GCM"}"#, "{}"),
                "encrypted",
            ),
            (
                compact(r#"{"alg":"RS256","typ":1}"#, "{}"),
                "`typ` is not a string",
            ),
        ];
        for (token, expected) in cases {
            let error = parse_compact(&token, DEFAULT_MAX_TOKEN_BYTES).unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "{token:?}: {error} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn oversized_token_is_refused_before_decoding() {
        let token = "x".repeat(70_000);
        assert_eq!(
            parse_compact(&token, DEFAULT_MAX_TOKEN_BYTES).unwrap_err(),
            TokenError::TooLarge {
                length: 70_000,
                limit: DEFAULT_MAX_TOKEN_BYTES
            }
        );
    }

    #[test]
    fn header_keys_are_parsed_but_never_used() {
        let token = compact(
            r#"{"alg":"RS256","kid":"k1","typ":"at+jwt","jku":"http://169.254.169.254/","jwk":{"kty":"RSA"},"x5u":"http://x","x5c":["AA"]}"#,
            r#"{"sub":"x"}"#,
        );
        let parsed = parse_compact(&token, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        assert_eq!(parsed.alg, "RS256");
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn algorithm_allowlist_is_case_sensitive_and_excludes_none() {
        let allowed = [Algorithm::RS256];
        assert_eq!(
            check_algorithm("RS256", &allowed).unwrap(),
            Algorithm::RS256
        );
        for alg in [
            "none", "None", "NONE", "nOnE", "rs256", "HS256", "ES256", "PS256", "",
        ] {
            let error = check_algorithm(alg, &allowed).unwrap_err();
            assert!(
                error.to_string().contains("is not allowed"),
                "{alg}: {error}"
            );
        }
    }

    #[test]
    fn the_size_limit_is_inclusive() {
        let token = compact(r#"{"alg":"RS256"}"#, r#"{"sub":"x"}"#);
        assert!(parse_compact(&token, token.len()).is_ok());
        assert!(matches!(
            parse_compact(&token, token.len() - 1).unwrap_err(),
            TokenError::TooLarge { .. }
        ));
    }

    #[test]
    fn malformed_segments_are_named_precisely() {
        let message = |header: &str| match parse_compact(
            &format!("{header}.{}.c2ln", b64(b"{}")),
            DEFAULT_MAX_TOKEN_BYTES,
        )
        .unwrap_err()
        {
            TokenError::Malformed(why) => why,
            other => panic!("{other:?}"),
        };
        // A character outside the alphabet is named...
        assert!(
            message("e30=").contains("contains '='"),
            "{}",
            message("e30=")
        );
        assert!(message("e3+0").contains("contains '+'"));
        assert!(
            message("e3\u{1}0").contains("byte 0x01"),
            "{}",
            message("e3\u{1}0")
        );
        // ...while a bad length of valid characters (`-` and `_` included) is a decoding error.
        for valid_chars in ["A", "a-_b_"] {
            let why = message(valid_chars);
            assert!(
                why.contains("is not valid base64url"),
                "{valid_chars}: {why}"
            );
        }
        // JSON that is not an object says what was expected.
        let why = match parse_compact(
            &format!("{}.{}.c2ln", b64(b"[1]"), b64(b"{}")),
            DEFAULT_MAX_TOKEN_BYTES,
        )
        .unwrap_err()
        {
            TokenError::Malformed(why) => why,
            other => panic!("{other:?}"),
        };
        assert!(why.contains("expected a JSON object"), "{why}");
    }

    #[test]
    fn every_algorithm_has_its_jose_name() {
        for (alg, name) in [
            (Algorithm::HS256, "HS256"),
            (Algorithm::HS384, "HS384"),
            (Algorithm::HS512, "HS512"),
            (Algorithm::ES256, "ES256"),
            (Algorithm::ES384, "ES384"),
            (Algorithm::RS256, "RS256"),
            (Algorithm::RS384, "RS384"),
            (Algorithm::RS512, "RS512"),
            (Algorithm::PS256, "PS256"),
            (Algorithm::PS384, "PS384"),
            (Algorithm::PS512, "PS512"),
            (Algorithm::EdDSA, "EdDSA"),
        ] {
            assert_eq!(algorithm_name(alg), name);
            // The name binds a JWK's `alg` to exactly this algorithm (D-15).
            assert_eq!(check_algorithm(name, &[alg]), Ok(alg));
        }
    }

    #[test]
    fn debug_output_names_the_type_and_never_the_signature() {
        let token = compact(r#"{"alg":"RS256","kid":"k"}"#, r#"{"sub":"x"}"#);
        let parsed = parse_compact(&token, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        let shown = format!("{parsed:?}");
        assert!(
            shown.starts_with("ParsedJwt") && shown.contains("\"sub\""),
            "{shown}"
        );
        assert!(!shown.contains("c2ln"), "{shown}");
        let key =
            VerifyingKey::from_jwk_value(&json!({"kty":"RSA","n":"sXch","e":"AQAB","kid":"a"}))
                .unwrap()
                .unwrap();
        let shown = format!("{key:?}");
        assert!(
            shown.starts_with("VerifyingKey") && shown.contains("Rsa"),
            "{shown}"
        );
    }

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

    const NOW: u64 = 1_767_225_600;

    #[test]
    fn expiry_boundary_follows_rfc7519_with_leeway() {
        let at = |exp: u64| check_time(&obj(json!({"exp": exp, "iat": NOW - 3600})), NOW, 60);
        assert!(at(NOW - 30).is_ok(), "inside leeway");
        assert!(at(NOW - 59).is_ok(), "one second before the boundary");
        assert_eq!(
            at(NOW - 60).unwrap_err(),
            TokenError::Expired {
                expired_ago: 60,
                leeway: 60
            }
        );
        assert_eq!(
            at(NOW - 61).unwrap_err().to_string(),
            "token expired 61 s ago (leeway 60 s)"
        );
        let no_leeway = check_time(&obj(json!({"exp": NOW, "iat": NOW - 10})), NOW, 0);
        assert!(no_leeway.is_err(), "on exp itself the token is expired");
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_leeway() {
        let claims = obj(json!({"exp": NOW + 600, "iat": NOW, "nbf": NOW + 61}));
        assert_eq!(
            check_time(&claims, NOW, 60).unwrap_err(),
            TokenError::NotYetValid {
                seconds: 61,
                leeway: 60
            }
        );
        let claims = obj(json!({"exp": NOW + 600, "iat": NOW, "nbf": NOW + 60}));
        assert!(check_time(&claims, NOW, 60).is_ok());
        let claims = obj(json!({"exp": NOW + 600, "iat": NOW + 301}));
        assert_eq!(
            check_time(&claims, NOW, 60).unwrap_err().to_string(),
            "token was issued 301 s in the future (iat, leeway 60 s)"
        );
    }

    #[test]
    fn time_claims_must_be_numbers_and_present() {
        let cases = [
            (json!({"iat": NOW}), "claim `exp` is missing"),
            (json!({"exp": NOW + 60}), "claim `iat` is missing"),
            (
                json!({"exp": "9999999999", "iat": NOW}),
                "must be a NumericDate",
            ),
            (json!({"exp": null, "iat": NOW}), "not null"),
            (json!({"exp": -5, "iat": NOW}), "non-negative"),
            (json!({"exp": (NOW + 600) * 1000, "iat": NOW}), "50 years"),
            (
                json!({"exp": NOW + 60, "iat": NOW, "nbf": "0"}),
                "claim `nbf`",
            ),
        ];
        for (claims, expected) in cases {
            let error = check_time(&obj(claims.clone()), NOW, 60).unwrap_err();
            assert!(error.to_string().contains(expected), "{claims}: {error}");
        }
        let fractional = obj(json!({"exp": (NOW + 60) as f64 + 0.5, "iat": NOW}));
        assert_eq!(check_time(&fractional, NOW, 0).unwrap().exp, NOW + 60);
    }

    #[test]
    fn issuer_is_compared_exactly() {
        let expected = "https://issuer.example";
        for iss in [
            "https://issuer.example/",
            "http://issuer.example",
            "https://ISSUER.example",
            "https://issuer.example.evil",
        ] {
            let error = check_issuer(&obj(json!({"iss": iss})), expected).unwrap_err();
            assert!(matches!(error, TokenError::IssuerMismatch { .. }), "{iss}");
        }
        assert!(check_issuer(&obj(json!({"iss": expected})), expected).is_ok());
        assert!(check_issuer(&obj(json!({})), expected).is_err());
        assert!(check_issuer(&obj(json!({"iss": 1})), expected).is_err());
    }

    #[test]
    fn audience_shapes() {
        assert_eq!(audiences(&obj(json!({"aud": "a"}))).unwrap(), vec!["a"]);
        assert_eq!(
            audiences(&obj(json!({"aud": ["a", "b"]}))).unwrap(),
            vec!["a", "b"]
        );
        assert!(audiences(&obj(json!({}))).is_err());
        assert!(audiences(&obj(json!({"aud": []}))).is_err());
        assert!(audiences(&obj(json!({"aud": [1]}))).is_err());
        assert!(audiences(&obj(json!({"aud": null}))).is_err());
    }

    #[test]
    fn access_token_audience_must_include_an_expected_one() {
        let expected = vec!["api".to_string()];
        assert!(check_access_token_audience(&["api".into()], &expected).is_ok());
        assert!(check_access_token_audience(&["other".into(), "api".into()], &expected).is_ok());
        let error = check_access_token_audience(&["other".into()], &expected).unwrap_err();
        assert_eq!(
            error.to_string(),
            "audience rejected: none of [other] is an expected audience (api)"
        );
    }

    #[test]
    fn id_token_audience_rules_follow_core_3_1_3_7() {
        let c = "client";
        let none: Vec<String> = vec![];
        assert!(check_id_token_audience(&[c.into()], None, c, &none).is_ok());
        assert!(check_id_token_audience(&[c.into()], Some(c), c, &none).is_ok());
        let missing = check_id_token_audience(&["other".into()], None, c, &none).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("does not contain the client id")
        );
        let untrusted =
            check_id_token_audience(&[c.into(), "evil".into()], Some(c), c, &none).unwrap_err();
        assert!(
            untrusted
                .to_string()
                .contains("untrusted audience \"evil\"")
        );
        let trusted = vec!["partner".to_string()];
        let no_azp =
            check_id_token_audience(&[c.into(), "partner".into()], None, c, &trusted).unwrap_err();
        assert!(no_azp.to_string().contains("no `azp`"));
        assert!(
            check_id_token_audience(&[c.into(), "partner".into()], Some(c), c, &trusted).is_ok()
        );
        let wrong_azp = check_id_token_audience(&[c.into()], Some("other"), c, &none).unwrap_err();
        assert!(wrong_azp.to_string().contains("`azp` \"other\""));
    }

    #[test]
    fn typ_rules() {
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+JWT",
        ] {
            assert!(check_access_token_type(Some(ok)).is_ok(), "{ok}");
        }
        for bad in [Some("JWT"), None, Some("at+jwt2"), Some("")] {
            assert!(check_access_token_type(bad).is_err(), "{bad:?}");
        }
        assert!(check_id_token_type(None).is_ok());
        assert!(check_id_token_type(Some("JWT")).is_ok());
        assert!(check_id_token_type(Some("at+jwt")).is_err());
    }

    #[test]
    fn hash_claims_use_the_algorithms_hash() {
        // Core 3.3.2.11 / the OpenID example: at_hash of this access token.
        let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            token_hash(Algorithm::RS256, access_token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(token_hash(Algorithm::RS384, "x").len(), 32);
        assert_eq!(token_hash(Algorithm::EdDSA, "x").len(), 43);
        let claims = obj(json!({"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}));
        assert!(
            check_hash(
                &claims,
                "at_hash",
                Algorithm::RS256,
                access_token,
                "access token"
            )
            .is_ok()
        );
        let error = check_hash(
            &claims,
            "at_hash",
            Algorithm::RS256,
            "other",
            "access token",
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "at_hash does not match the access token");
        assert!(
            check_hash(
                &obj(json!({})),
                "c_hash",
                Algorithm::RS256,
                "code",
                "authorization code"
            )
            .is_ok()
        );
    }

    #[test]
    fn nonce_rules() {
        let claims = obj(json!({"nonce": "n-1"}));
        assert!(check_nonce(&claims, Some("n-1")).is_ok());
        assert!(check_nonce(&claims, None).is_ok());
        assert_eq!(
            check_nonce(&claims, Some("n-2")).unwrap_err().to_string(),
            "nonce does not match the one sent"
        );
        assert_eq!(
            check_nonce(&obj(json!({})), Some("n-1"))
                .unwrap_err()
                .to_string(),
            "nonce is missing but one was sent"
        );
        assert!(check_nonce(&obj(json!({"nonce": 5})), Some("n-1")).is_err());
    }

    #[test]
    fn scopes_and_permissions_match_exactly() {
        let granted = parse_scope("openid  read:all Write");
        assert_eq!(granted, vec!["openid", "read:all", "Write"]);
        assert_eq!(missing_items(&["read".into()], &granted), vec!["read"]);
        assert_eq!(missing_items(&["write".into()], &granted), vec!["write"]);
        assert!(missing_items(&["openid".into(), "Write".into()], &granted).is_empty());
    }

    fn parsed(header: Value, claims: Value) -> ParsedJwt {
        parse_compact(
            &compact(&header.to_string(), &claims.to_string()),
            DEFAULT_MAX_TOKEN_BYTES,
        )
        .unwrap()
    }

    fn access_rules(audiences: &[String]) -> AccessTokenRules<'_> {
        AccessTokenRules {
            issuer: "https://issuer",
            audiences,
            require_typ: true,
            leeway: 60,
            now: NOW,
        }
    }

    #[test]
    fn access_token_claim_rules() {
        let audiences = vec!["api".to_string()];
        let good = json!({
            "iss": "https://issuer", "aud": ["api"], "exp": NOW + 60, "iat": NOW,
            "sub": "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21", "scope": "openid read",
            "permissions": ["castles:read"], "acr": "1", "client_id": "web"
        });
        let header = json!({"alg": "RS256", "typ": "at+jwt"});
        let info = access_token_info(
            &parsed(header.clone(), good.clone()),
            "raw",
            &access_rules(&audiences),
        )
        .unwrap();
        assert_eq!(info.id, "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21");
        assert_eq!(info.scope, vec!["openid", "read"]);
        assert_eq!(info.permissions, vec!["castles:read"]);
        assert_eq!(info.acr.as_deref(), Some("1"));
        assert_eq!(info.client_id.as_deref(), Some("web"));
        assert_eq!(info.access_token, "raw");

        let with = |field: &str, value: Value| {
            let mut claims = good.clone();
            claims[field] = value;
            access_token_info(
                &parsed(header.clone(), claims),
                "raw",
                &access_rules(&audiences),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(with("sub", json!("")).contains("claim `sub`"));
        assert!(with("sub", json!(null)).contains("claim `sub` must be a string"));
        assert!(with("scope", json!(["read"])).contains("space-separated string"));
        assert!(with("permissions", json!("castles:read")).contains("array of strings"));
        assert!(with("permissions", json!([1])).contains("non-string"));
        assert!(with("acr", json!(1)).contains("claim `acr`"));
        assert!(with("aud", json!("web")).contains("expected audience"));
        let no_typ = access_token_info(
            &parsed(json!({"alg": "RS256", "typ": "JWT"}), good.clone()),
            "raw",
            &access_rules(&audiences),
        )
        .unwrap_err();
        assert!(matches!(no_typ, TokenError::WrongType { .. }));
        let relaxed = AccessTokenRules {
            require_typ: false,
            ..access_rules(&audiences)
        };
        assert!(access_token_info(&parsed(json!({"alg": "RS256"}), good), "raw", &relaxed).is_ok());
    }

    #[test]
    fn id_token_claim_rules() {
        let claims = json!({
            "iss": "https://issuer", "aud": ["web"], "azp": "web", "exp": NOW + 60, "iat": NOW,
            "sub": "user-1", "nonce": "n", "email": "a@example.com",
            "at_hash": token_hash(Algorithm::RS256, "at"), "c_hash": token_hash(Algorithm::RS256, "code")
        });
        let rules = IdTokenRules {
            issuer: "https://issuer",
            client_id: "web",
            trusted_audiences: &[],
            nonce: Some("n"),
            access_token: Some("at"),
            code: Some("code"),
            previous_subject: None,
            max_age: None,
            leeway: 60,
            now: NOW,
        };
        let token = parsed(json!({"alg": "RS256", "typ": "JWT"}), claims);
        let ok = id_token_claims(&token, Algorithm::RS256, &rules).unwrap();
        assert_eq!(ok.sub, "user-1");
        assert_eq!(ok.email(), Some("a@example.com"));
        let wrong_code = IdTokenRules {
            code: Some("other"),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &wrong_code).unwrap_err(),
            TokenError::HashMismatch {
                claim: "c_hash",
                ..
            }
        ));
        let wrong_at = IdTokenRules {
            access_token: Some("other"),
            ..rules.clone()
        };
        assert!(id_token_claims(&token, Algorithm::RS256, &wrong_at).is_err());
        let wrong_nonce = IdTokenRules {
            nonce: Some("m"),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &wrong_nonce).unwrap_err(),
            TokenError::Nonce(_)
        ));
        let refreshed = IdTokenRules {
            previous_subject: Some("user-2"),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &refreshed).unwrap_err(),
            TokenError::SubjectChanged { .. }
        ));
        // Core 3.1.3.7 (13): with max_age, auth_time is required and bounded.
        let with_max_age = |max_age: u64| IdTokenRules {
            max_age: Some(max_age),
            ..rules.clone()
        };
        assert!(matches!(
            id_token_claims(&token, Algorithm::RS256, &with_max_age(300)).unwrap_err(),
            TokenError::Claim {
                claim: "auth_time",
                ..
            }
        ));
        let logged_in_at = |auth_time: u64| {
            let mut claims = token.claims.clone();
            claims.insert("auth_time".into(), json!(auth_time));
            parsed(json!({"alg": "RS256", "typ": "JWT"}), claims.into())
        };
        // 300 s + 60 s leeway: 360 s ago is the oldest login accepted.
        assert!(
            id_token_claims(
                &logged_in_at(NOW - 360),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .is_ok()
        );
        assert_eq!(
            id_token_claims(
                &logged_in_at(NOW - 361),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .unwrap_err(),
            TokenError::AuthenticationTooOld {
                age: 361,
                max_age: 300,
                leeway: 60
            }
        );
        assert!(
            id_token_claims(
                &logged_in_at(NOW + 60),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .is_ok()
        );
        assert!(matches!(
            id_token_claims(
                &logged_in_at(NOW + 61),
                Algorithm::RS256,
                &with_max_age(300)
            )
            .unwrap_err(),
            TokenError::Claim {
                claim: "auth_time",
                ..
            }
        ));
        // Without max_age, an old login is the app's business.
        assert!(id_token_claims(&logged_in_at(NOW - 100_000), Algorithm::RS256, &rules).is_ok());
        let access_typ = parsed(
            json!({"alg": "RS256", "typ": "at+jwt"}),
            token.claims.clone().into(),
        );
        assert!(matches!(
            id_token_claims(&access_typ, Algorithm::RS256, &rules).unwrap_err(),
            TokenError::WrongType { .. }
        ));
    }
    #[test]
    fn rs256_with_the_key_parsed_once_agrees_with_jsonwebtokens_path() {
        let keys = oidc_forge::keys::KeySet::embedded();
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
            oidc_forge::keys::TokenTyp::AccessToken,
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
