//! `POST /api/token`: the authorization code, refresh token and client credentials grants
//! (RFC 6749 4.1.3, 6, 4.4), answered per RFC 6749 5.1 and 5.2.
//!
//! This file parses what every grant shares (the form, `grant_type`, the client's
//! authentication), reads the time and the client's key once, and hands the request to its
//! grant, one per file (`authorization_code`, `refresh_token`, `client_credentials`).
//! Each grant applies its rules from [`crate::rules::grants`], keeps its stores, and returns
//! what to issue; this file issues it with the claims the forge queued and answers.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::config::{ClientConfig, Config, GrantType, UserConfig};
use crate::endpoints::Form;
use crate::error::{OAuthError, no_store_json};
use crate::forge::token_response;
use crate::keys::SigningKey;
use crate::params::Params;
use crate::rules::tokens::{self, Grant, IssueError, Issuer, Subject};
use crate::rules::{client_auth, grants};
use crate::state::{AppState, IssuerState, Login};

/// Marks a response no web page may read, whatever the CORS policy: the server strips the CORS
/// headers from it. Tokens of the client_credentials grant are for servers (RFC 6749 4.4 is for
/// confidential clients, which a page is not: RFC 9700 2.1.1's browser-based clients are
/// public); a page that could read them would get tokens signed by the issuer for the asking,
/// with the embedded default's published test secret.
#[derive(Debug, Clone, Copy)]
pub struct NotForPages;

pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form,
) -> Response {
    match exchange(&state, &headers, &params) {
        Ok((json, GrantType::ClientCredentials)) => {
            let mut response = no_store_json(json);
            response.extensions_mut().insert(NotForPages);
            response
        }
        Ok((json, _)) => no_store_json(json),
        Err(error) => error.into_response(),
    }
}

/// What every grant reads: one configuration, one client, one key and one `now` per request.
struct Request<'a> {
    state: &'a IssuerState,
    config: &'a Config,
    client: &'a ClientConfig,
    params: &'a Params,
    now: u64,
}

impl Request<'_> {
    /// Revokes the grant `grant` of `client_id` for the whole life of any token it may have
    /// issued by now (RFC 6749 4.1.2, 10.5; RFC 9700 4.14.2): a replayed code, a reused
    /// refresh token, a response that never reached the client.
    fn revoke_grant(&self, grant: &str, client_id: &str) {
        let until = grants::revocation_lifetime(self.config, self.now);
        self.state
            .revoke_grant_or_everything(grant, client_id, until, self.now);
    }
}

/// What a grant decided to issue.
struct Issue<'a> {
    /// The end user and their login, or `None` for a token about the client itself.
    user: Option<(&'a UserConfig, Login)>,
    scopes: Vec<String>,
    nonce: Option<String>,
    /// The code redeemed, for `c_hash`.
    code: Option<&'a str>,
    /// The grant every token belongs to; `None` for client credentials.
    grant_id: Option<String>,
    /// The grant's refresh token, already stored.
    refresh_token: Option<String>,
}

fn exchange(
    state: &IssuerState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, GrantType), OAuthError> {
    let grant_type = grants::parse_grant_type(params)?;
    let presented = client_auth::presented(headers, params)?;
    let config = state.config();
    let client = client_auth::authenticate(&config, &presented)?;
    grants::check_client_may_use(client, grant_type)?;
    let key = state
        .signing_key_for(client)
        .ok_or_else(|| issue_failure(IssueError::NoSigningKey(client.id.clone())))?;
    let request = Request {
        state,
        config: &config,
        client,
        params,
        now: state.now(),
    };
    let issue = match grant_type {
        GrantType::AuthorizationCode => authorization_code::exchange(&request)?,
        GrantType::RefreshToken => refresh_token::exchange(&request)?,
        GrantType::ClientCredentials => client_credentials::exchange(&request)?,
    };
    let grant_id = issue.grant_id.clone();
    let response = issue_tokens(&request, &key, issue)?;
    let encoding =
        |e: serde_json::Error| OAuthError::server_error(format!("cannot encode the response: {e}"));
    // Edits the forge scripted for this response: one atomic load when there are none.
    let login_id_token = grant_type == GrantType::AuthorizationCode && response.id_token.is_some();
    let edits = state.forge.response_edits.take_for(login_id_token);
    let json = match edits {
        None => serde_json::to_string(&response).map_err(encoding)?,
        Some(edits) => {
            let serde_json::Value::Object(mut members) =
                serde_json::to_value(&response).map_err(encoding)?
            else {
                return Err(OAuthError::server_error("the response is not an object"));
            };
            let signer = token_response::Signer {
                url: &state.issuer,
                key: &key,
                now: request.now,
            };
            if let Err(why) = token_response::apply(edits, &mut members, signer) {
                // The grant is committed (the code redeemed, the refresh token rotated) but its
                // tokens never reach the client: revoke them, so that nothing issued here lives.
                let mut description = why.to_string();
                if let Some(grant) = &grant_id {
                    request.revoke_grant(grant, &request.client.id);
                    description.push_str("; the tokens issued for this request are revoked");
                }
                return Err(OAuthError::server_error(description));
            }
            serde_json::to_string(&members).map_err(encoding)?
        }
    };
    Ok((json, grant_type))
}

/// Signs what the grant decided, with the claims the forge queued for the next response.
fn issue_tokens(
    request: &Request<'_>,
    key: &Arc<SigningKey>,
    issue: Issue<'_>,
) -> Result<tokens::TokenResponse, OAuthError> {
    let Request {
        state,
        config,
        client,
        now,
        ..
    } = *request;
    let subject = match &issue.user {
        Some((user, login)) => Subject::User(user, login),
        None => Subject::Client,
    };
    // One atomic load when nothing is queued.
    let queued = state.forge.queued_claims.take().unwrap_or_default();
    let issued = tokens::issue(
        Issuer {
            url: &state.issuer,
            config,
            key,
            now,
        },
        Grant {
            client,
            subject,
            scopes: &issue.scopes,
            nonce: issue.nonce.as_deref(),
            code: issue.code,
            grant_id: issue.grant_id.as_deref(),
            refresh_token: issue.refresh_token.as_deref(),
        },
        state.rng.id(),
        &queued,
    )
    .map_err(issue_failure)?;
    if let Some(grant) = &issue.grant_id {
        revoke_again_if_revoked_meanwhile(state, grant, &client.id, now, issued.access_token_exp);
    }
    Ok(issued.response)
}

/// What the token endpoint answers when tokens could not be issued.
fn issue_failure(error: IssueError) -> OAuthError {
    OAuthError::server_error(error.to_string())
}

/// A revocation of the grant that came while its tokens were being issued (a replayed code, a
/// reused refresh token) found neither the refresh token, not yet stored, nor this access
/// token's `exp`: revoke again, now that both are known. The answer still carries the tokens,
/// as if the revocation had come just after it.
fn revoke_again_if_revoked_meanwhile(
    state: &IssuerState,
    grant: &str,
    client_id: &str,
    now: u64,
    exp: u64,
) {
    if state.is_grant_revoked(grant, client_id, now) {
        state.revoke_grant_or_everything(grant, client_id, exp, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_767_225_600;

    /// A revocation that came while a grant's tokens were being issued covered what existed
    /// then; revoking again covers the new access token's whole life.
    #[test]
    fn a_grant_revoked_meanwhile_is_revoked_for_the_new_tokens_life() {
        let clock = std::sync::Arc::new(crate::FixedClock::new(NOW));
        let state = crate::MockIssuer::builder()
            .clock(clock.clone())
            .build_state("http://issuer.test")
            .unwrap();
        // The concurrent revocation, recorded until NOW + 10.
        state.revoke_grant_or_everything("grant-1", "forge-web", NOW + 10, NOW);
        revoke_again_if_revoked_meanwhile(&state, "grant-1", "forge-web", NOW, NOW + 3600);
        revoke_again_if_revoked_meanwhile(&state, "grant-2", "forge-web", NOW, NOW + 3600);
        clock.set(NOW + 60);
        // A later revocation sweeps what has expired: grant-1 survives only if it was
        // revoked again for the new token's life.
        state
            .revoke_grant("grant-3", "forge-web", NOW + 120, NOW + 60)
            .unwrap();
        assert!(state.is_grant_revoked("grant-1", "forge-web", NOW));
        assert!(!state.is_grant_revoked("grant-2", "forge-web", NOW));
    }

    /// A replay whose request read its clock before a concurrent refresh of the same grant
    /// issued tokens still revokes them for their whole life: the grant's record lasts from the
    /// moment of the revocation, not from the request's reading of the clock.
    #[test]
    fn a_grant_revocation_covers_tokens_issued_after_the_request_read_its_clock() {
        let clock = std::sync::Arc::new(crate::FixedClock::new(NOW + 100));
        let state = crate::MockIssuer::builder()
            .clock(clock.clone())
            .build_state("http://issuer.test")
            .unwrap();
        // The replaying request read NOW, and its tokens would live until NOW + 3600; the
        // refresh issued its access token at NOW + 100, living until NOW + 3700.
        state.revoke_grant_or_everything("g", "forge-web", NOW + 3600, NOW);
        clock.set(NOW + 3650);
        // A later revocation sweeps what has expired by then.
        state
            .revoke_grant("other", "forge-web", NOW + 7200, NOW + 3650)
            .unwrap();
        assert!(state.is_access_token_revoked("refreshed-jti", Some("g"), "forge-web", NOW + 100));
        // ...and the record ends with that token's life, not later.
        state
            .revoke_grant("another", "forge-web", NOW + 7200, NOW + 3700)
            .unwrap();
        assert!(!state.is_grant_revoked("g", "forge-web", NOW + 100));
    }

    /// A replay whose request read its clock before a concurrent redemption issued tokens still
    /// covers them when the revocation store is full: the watermark is the moment of the
    /// revocation, not of the request.
    #[test]
    fn a_full_store_watermark_covers_tokens_issued_after_the_request_read_its_clock() {
        let clock = std::sync::Arc::new(crate::FixedClock::new(NOW + 1));
        let state = crate::MockIssuer::builder()
            .clock(clock)
            .store_limits(crate::StoreLimits::uniform(1))
            .build_state("http://issuer.test")
            .unwrap();
        // Another client's live revocation fills the store.
        state
            .revoke_access_token("spa-jti", "forge-spa", NOW + 600, NOW)
            .unwrap();
        // The replaying request read NOW; the winner issued its token at NOW + 1.
        state.revoke_grant_or_everything("g", "forge-web", NOW + 600, NOW);
        assert!(state.is_access_token_revoked("web-jti", Some("g"), "forge-web", NOW + 1));
    }
}
