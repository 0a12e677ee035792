//! Issuing tokens (what a token response holds, RFC 6749 5.1, Core 3.1.3.3) and verifying the
//! issuer's own access tokens where it is the resource (UserInfo, introspection, revocation).

use serde::Serialize;

use crate::config::{ClientConfig, Config, GrantType, UserConfig};
use crate::keys::{SigningKey, TokenTyp};
use crate::rules::claims::{AccessTokenClaims, IdTokenClaims, released_user_claims};
use crate::rules::scope;
use crate::state::{IssuerState, Login};

/// Who a token is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// An end user, signed in as `Login` says.
    User(&'a UserConfig, &'a Login),
    /// The client itself (`client_credentials`, RFC 6749 4.4).
    Client,
}

/// What to issue for one grant.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub client: &'a ClientConfig,
    pub subject: Subject<'a>,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    /// The authorization code redeemed, for `c_hash`.
    pub code: Option<&'a str>,
    /// The grant (code redemption) every token issued here belongs to; `None` for client
    /// credentials.
    pub grant_id: Option<&'a str>,
    /// The refresh token of the grant, already in the store ([`offers_refresh_token`]).
    pub refresh_token: Option<&'a str>,
}

/// Whether a new grant gets a refresh token: with `offline_access` (Core 11), for an end user,
/// to a client allowed to refresh. A refresh always yields a successor, the old token being
/// spent.
pub fn offers_refresh_token(client: &ClientConfig, scopes: &[String]) -> bool {
    scope::contains(scopes, "offline_access")
        && client.grant_types.contains(&GrantType::RefreshToken)
}

/// Why tokens could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    #[error("no signing key for client `{0}`")]
    NoSigningKey(String),
    #[error("cannot encode claims: {0}")]
    Encode(String),
}

/// A successful token response (RFC 6749 5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// A token response and what the stores need to know about it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub response: TokenResponse,
    pub access_token_exp: u64,
}

/// Issues the access token and, when `openid` was granted, the ID token, with the grant's
/// refresh token if it has one.
pub fn issue(
    state: &IssuerState,
    config: &Config,
    grant: Grant<'_>,
    now: u64,
) -> Result<Issued, IssueError> {
    let key = state
        .signing_key_for(config, &grant.client.id)
        .ok_or_else(|| IssueError::NoSigningKey(grant.client.id.clone()))?;
    let lifetimes = &config.lifetimes;
    let access = access_token_claims(state, config, &grant, state.rng.id(), now);
    // Claims queued through the forge: one atomic load when there are none.
    let queued = state.forge.queued_claims.take().unwrap_or_default();
    let access_token = sign_with(&key, TokenTyp::AccessToken, &access, &queued.access_token)?;

    let id_token = match grant.subject {
        Subject::User(user, login) if scope::contains(grant.scopes, "openid") => {
            let claims = IdTokenClaims {
                iss: state.issuer.clone(),
                sub: user.sub.to_string(),
                aud: vec![grant.client.id.clone()],
                azp: grant.client.id.clone(),
                exp: now + lifetimes.id_token,
                iat: now,
                auth_time: login.auth_time,
                acr: login.acr.to_owned(),
                sid: login.sid.clone(),
                nonce: grant.nonce.map(str::to_owned),
                at_hash: Some(key.half_hash(&access_token)),
                c_hash: grant.code.map(|code| key.half_hash(code)),
                user_claims: released_user_claims(config, user, grant.scopes),
            };
            Some(sign_with(
                &key,
                TokenTyp::IdToken,
                &claims,
                &queued.id_token,
            )?)
        }
        _ => None,
    };

    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetimes.access_token,
            scope: access.scope,
            refresh_token: grant.refresh_token.map(str::to_owned),
            id_token,
        },
        access_token_exp: access.exp,
    })
}

/// The claims of the access token for a grant (RFC 9068 2.2).
pub fn access_token_claims(
    state: &IssuerState,
    config: &Config,
    grant: &Grant<'_>,
    jti: String,
    now: u64,
) -> AccessTokenClaims {
    let client = grant.client;
    let (sub, permissions, auth_time, acr) = match grant.subject {
        Subject::User(user, login) => (
            user.sub.to_string(),
            user.permissions.clone(),
            Some(login.auth_time),
            login.acr,
        ),
        Subject::Client => (client.id.clone(), client.permissions.clone(), None, "0"),
    };
    AccessTokenClaims {
        iss: state.issuer.clone(),
        sub,
        aud: client.access_token_audience(),
        client_id: client.id.clone(),
        azp: client.id.clone(),
        exp: now + config.lifetimes.access_token,
        iat: now,
        auth_time,
        jti,
        grant_id: grant.grant_id.map(str::to_owned),
        scope: scope::join(grant.scopes),
        permissions,
        acr: acr.to_owned(),
    }
}

fn sign_with(
    key: &SigningKey,
    typ: TokenTyp,
    claims: &impl Serialize,
    queued: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, IssueError> {
    let json = if queued.is_empty() {
        serde_json::to_vec(claims).map_err(|e| e.to_string())
    } else {
        crate::forge::claims::merge(claims, queued)
    }
    .map_err(IssueError::Encode)?;
    Ok(key.sign_jwt(typ, &json))
}

/// Verifies an access token this issuer signed: signature by a published key, `typ`, `iss`,
/// expiry by the issuer's clock, and revocation. The error says why, for `error_description`.
pub fn verify_access_token(state: &IssuerState, token: &str) -> Result<AccessTokenClaims, String> {
    // RFC 9068 2.1 / RFC 8725 3.11: only tokens typed as access tokens are accepted.
    let is_access_token = |typ: Option<&str>| {
        typ.is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        })
    };
    let claims: AccessTokenClaims = verify_own_jwt(state, token, "access token", is_access_token)?;
    let now = state.now();
    if now >= claims.exp {
        return Err(format!(
            "the access token expired {} s ago",
            now - claims.exp
        ));
    }
    if state.is_access_token_revoked(
        &claims.jti,
        claims.grant_id.as_deref(),
        &claims.client_id,
        claims.iat,
    ) {
        return Err("the access token was revoked".into());
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
pub fn verify_id_token_hint(state: &IssuerState, token: &str) -> Result<IdTokenHint, String> {
    let is_id_token = |typ: Option<&str>| typ.is_none_or(|typ| typ.eq_ignore_ascii_case("JWT"));
    let claims: IdTokenClaims = verify_own_jwt(state, token, "id_token_hint", is_id_token)?;
    let client_id = claims
        .aud
        .first()
        .cloned()
        .ok_or_else(|| "the id_token_hint has no audience".to_owned())?;
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
        .and_then(|kid| keys.published_at(kid, state.now()))
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
        let now = state.now();
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
