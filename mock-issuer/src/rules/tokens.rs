//! Issuing tokens: what a token response holds (RFC 6749 5.1, Core 3.1.3.3) and what its tokens
//! claim (RFC 9068 2.2, Core 2), as a plain function of the grant, the key, the time and the
//! claims the forge queued. Verifying the issuer's own tokens is [`super::own_tokens`].

use serde::Serialize;

use crate::config::{ClientConfig, Config, GrantType, UserConfig};
use crate::forge::claims::TakenClaims;
use crate::keys::{SigningKey, TokenTyp};
use crate::rules::claims::{AccessTokenClaims, IdTokenClaims, released_user_claims};
use crate::rules::scope;
use crate::state::Login;

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

/// Who issues, with what, and when: read once per request by the endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    /// The issuer identifier (`iss`).
    pub url: &'a str,
    pub config: &'a Config,
    /// The client's signing key.
    pub key: &'a SigningKey,
    pub now: u64,
}

/// Issues the access token (with id `jti`) and, when `openid` was granted, the ID token, with
/// the grant's refresh token if it has one; `queued` claims (the forge's) are merged into each.
pub fn issue(
    issuer: Issuer<'_>,
    grant: Grant<'_>,
    jti: String,
    queued: &TakenClaims,
) -> Result<Issued, IssueError> {
    let Issuer {
        url,
        config,
        key,
        now,
    } = issuer;
    let lifetimes = &config.lifetimes;
    let access = access_token_claims(url, config, &grant, jti, now);
    let access_token = sign_with(key, TokenTyp::AccessToken, &access, &queued.access_token)?;

    let id_token = match grant.subject {
        Subject::User(user, login) if scope::contains(grant.scopes, "openid") => {
            let claims = IdTokenClaims {
                iss: url.to_owned(),
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
                key,
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
    issuer: &str,
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
        iss: issuer.to_owned(),
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
