//! The compact JWS: size, structure, strict JSON objects, and the algorithm allowlist
//! (RFC 7515 7.1, RFC 8725 2.1, 3.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

use super::*;
use crate::error::{Listed, TokenError};

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
    pub(super) signing_input: String,
    pub(super) signature: String,
    /// The signature decoded (once, by [`parse_compact`]).
    pub(super) signature_bytes: Vec<u8>,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::test_support::*;

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
}
