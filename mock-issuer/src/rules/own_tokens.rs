//! Verifying the issuer's own tokens where it is the resource: access tokens at UserInfo,
//! introspection and revocation, and the `id_token_hint` of a logout. Each check says why a
//! token fails, for `error_description`.

use crate::rules::claims::{AccessTokenClaims, IdTokenClaims};
use crate::state::IssuerState;

/// Why a token is not one of this issuer's valid ones; the text is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotValid(String);

impl From<String> for NotValid {
    fn from(why: String) -> Self {
        NotValid(why)
    }
}

/// Verifies an access token this issuer signed: signature by a published key, `typ`, `iss`,
/// expiry by the issuer's clock, and revocation. The error says why, for `error_description`.
pub fn verify_access_token(
    state: &IssuerState,
    token: &str,
    now: u64,
) -> Result<AccessTokenClaims, NotValid> {
    // RFC 9068 2.1 / RFC 8725 3.11: only tokens typed as access tokens are accepted.
    let is_access_token = |typ: Option<&str>| {
        typ.is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        })
    };
    let claims: AccessTokenClaims =
        verify_own_jwt(state, token, "access token", is_access_token, now)?;
    if now >= claims.exp {
        return Err(NotValid(format!(
            "the access token expired {} s ago",
            now - claims.exp
        )));
    }
    if state.is_access_token_revoked(
        &claims.jti,
        claims.grant_id.as_deref(),
        &claims.client_id,
        claims.iat,
    ) {
        return Err(NotValid("the access token was revoked".into()));
    }
    Ok(claims)
}

/// Who an `id_token_hint` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The client it was issued to.
    pub client_id: String,
    /// The user it is about.
    pub sub: String,
    /// The issuer session it was issued in.
    pub sid: Option<String>,
}

/// Verifies an `id_token_hint` (RP-Initiated Logout 1.0 section 2): an ID token this issuer
/// signed, expired or not.
pub fn verify_id_token_hint(
    state: &IssuerState,
    token: &str,
    now: u64,
) -> Result<IdTokenHint, NotValid> {
    let is_id_token = |typ: Option<&str>| typ.is_none_or(|typ| typ.eq_ignore_ascii_case("JWT"));
    let claims: IdTokenClaims = verify_own_jwt(state, token, "id_token_hint", is_id_token, now)?;
    let client_id = claims
        .aud
        .first()
        .cloned()
        .ok_or_else(|| NotValid("the id_token_hint has no audience".into()))?;
    Ok(IdTokenHint {
        client_id,
        sub: claims.sub,
        sid: claims.sid,
    })
}

/// Signature by one of this issuer's keys (chosen by `kid`, algorithm fixed by the key, never
/// by the header: RFC 8725 3.1), `typ`, and `iss`. Time is the caller's business.
fn verify_own_jwt<T: serde::de::DeserializeOwned>(
    state: &IssuerState,
    token: &str,
    what: &str,
    typ_ok: impl Fn(Option<&str>) -> bool,
    now: u64,
) -> Result<T, String> {
    // One decode of the JOSE header serves every header rule below; jsonwebtoken's header type
    // would drop `crit`.
    let header =
        decode_header(token).ok_or_else(|| format!("the {what} is not a well-formed JWT"))?;
    // RFC 7515 4.1.11: this issuer defines no header extensions, so any `crit` names one it
    // does not understand.
    if header.get("crit").is_some() {
        return Err(format!(
            "the {what} names critical header parameters this issuer does not understand (RFC 7515 4.1.11)"
        ));
    }
    let typ = header.get("typ").and_then(|typ| typ.as_str());
    if !typ_ok(typ) {
        return Err(format!(
            "the {what} has the wrong type (typ `{}`, RFC 8725 3.11)",
            typ.unwrap_or("none")
        ));
    }
    let keys = state.keys();
    let key = header
        .get("kid")
        .and_then(|kid| kid.as_str())
        .and_then(|kid| keys.published_at(kid, now))
        .ok_or_else(|| format!("the {what} was not signed by a key of this issuer"))?;
    let mut validation = jsonwebtoken::Validation::new(key.alg().jwt_algorithm());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    validation.set_issuer(&[&state.issuer]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, key.verifying_key(), &validation)
        .map(|data| data.claims)
        .map_err(|e| format!("the {what} is invalid: {e}"))?;
    // RFC 7519 4.1.5, checked on the issuer's clock (jsonwebtoken would use the system's).
    if let Some(nbf) = claims.get("nbf") {
        match nbf.as_u64() {
            Some(nbf) if nbf > now => {
                return Err(format!(
                    "the {what} is not valid yet (nbf is {} s ahead, RFC 7519 4.1.5)",
                    nbf - now
                ));
            }
            Some(_) => {}
            None => return Err(format!("the {what} has an nbf that is not a NumericDate")),
        }
    }
    serde_json::from_value(claims).map_err(|e| format!("the {what} is invalid: {e}"))
}

/// The JOSE header of a compact token as a JSON object.
fn decode_header(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine as _;
    let (header, _) = token.split_once('.')?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
