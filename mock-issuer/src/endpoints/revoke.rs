//! `POST /revoke`: token revocation (RFC 7009).
//!
//! A refresh token is revoked with its whole grant: every refresh token and access token of
//! its family (RFC 7009 2.1 SHOULD). An access token is revoked alone. When the revocation
//! store is full of live revocations, the answer is 503 and nothing is revoked (RFC 7009
//! 2.2.1: the client must assume the token still exists).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::endpoints::Form;
use crate::error::{OAuthError, no_store_json};
use crate::params::Params;
use crate::rules::{client_auth, own_tokens};
use crate::state::{AppState, IssuerState, Presented, StoreFull};

pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form,
) -> Response {
    match revoke(&state, &headers, &params) {
        Ok(()) => (StatusCode::OK, no_store_json("")).into_response(),
        Err(error) => error.into_response(),
    }
}

fn revoke(state: &IssuerState, headers: &HeaderMap, params: &Params) -> Result<(), OAuthError> {
    let presented = client_auth::presented(headers, params)?;
    let config = state.config();
    let client = client_auth::authenticate(&config, &presented)?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("`token` is required (RFC 7009 2.1)"))?;
    let not_yours = || {
        OAuthError::unauthorized_client(
            "the token was issued to another client and cannot be revoked by this one (RFC 7009 2.1)",
        )
    };
    let unavailable = |full: StoreFull| OAuthError::temporarily_unavailable(full.to_string());
    let now = state.now();
    // RFC 7009 2.1: revoking a refresh token ends its grant. A spent (rotated) one of the
    // family ends it too: whoever holds the family's current token got it after this one,
    // which a client that never refreshed twice did not (RFC 9700 4.14.2).
    if let Presented::Current { family, grant } | Presented::Reused { family, grant } =
        state.presented_refresh_token(token, now)
    {
        if grant.client_id != client.id {
            return Err(not_yours());
        }
        // Past the `exp` of any access token of the grant issued until now.
        let until = now.saturating_add(config.lifetimes.access_token);
        return state
            .revoke_grant(&family, &client.id, until, now)
            .map_err(unavailable);
    }
    if let Ok(claims) = own_tokens::verify_access_token(state, token, now) {
        if claims.client_id != client.id {
            return Err(not_yours());
        }
        state
            .revoke_access_token(&claims.jti, &claims.client_id, claims.exp, now)
            .map_err(unavailable)?;
    }
    // RFC 7009 2.2: an invalid or unknown token is not an error.
    Ok(())
}
