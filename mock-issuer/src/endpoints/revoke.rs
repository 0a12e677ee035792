//! `POST /revoke`: token revocation (RFC 7009).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::endpoints::form_params;
use crate::error::{OAuthError, no_store_json};
use crate::rules::{client_auth, tokens};
use crate::state::{AppState, IssuerState, lock};

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match revoke(&state, &headers, &body) {
        Ok(()) => (StatusCode::OK, no_store_json("")).into_response(),
        Err(error) => error.into_response(),
    }
}

fn revoke(state: &IssuerState, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = form_params(headers, body)?;
    let presented = client_auth::presented(headers, &params)?;
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
    {
        let mut store = lock(&state.refresh_tokens);
        if let Some(grant) = store.active.get(token) {
            if grant.client_id != client.id {
                return Err(not_yours());
            }
            let family = grant.family.clone();
            store.revoke_family(&family);
            return Ok(());
        }
    }
    if let Ok(claims) = tokens::verify_access_token(state, token) {
        if claims.client_id != client.id {
            return Err(not_yours());
        }
        state.revoke_access_token(claims.jti, claims.exp);
    }
    // RFC 7009 2.2: an invalid or unknown token is not an error.
    Ok(())
}
