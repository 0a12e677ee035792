//! `POST /api/token`: authorization code, refresh token and client credentials grants
//! (RFC 6749 4.1.3, 4.4, 6), answered per RFC 6749 5.1 and 5.2.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::config::GrantType;
use crate::endpoints::form_params;
use crate::error::{OAuthError, no_store_json};
use crate::rules::{client_auth, grants};
use crate::state::AppState;

/// Marks a response no web page may read, whatever the CORS policy: the server strips the CORS
/// headers from it. Tokens of the client_credentials grant are for servers (RFC 6749 4.4 is for
/// confidential clients, which a page is not: RFC 9700 2.1.1's browser-based clients are
/// public); a page that could read them would get tokens signed by the issuer for the asking,
/// with the embedded default's published test secret.
#[derive(Debug, Clone, Copy)]
pub struct NotForPages;

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&state, &headers, &body) {
        Ok((json, GrantType::ClientCredentials)) => {
            let mut response = no_store_json(json);
            response.extensions_mut().insert(NotForPages);
            response
        }
        Ok((json, _)) => no_store_json(json),
        Err(error) => error.into_response(),
    }
}

fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, GrantType), OAuthError> {
    let params = form_params(headers, body)?;
    let grant_type = grants::parse_grant_type(&params)?;
    let presented = client_auth::presented(headers, &params)?;
    let config = state.config();
    let client = client_auth::authenticate(&config, &presented)?;
    grants::check_client_may_use(client, grant_type)?;
    let now = state.now();
    let response = match grant_type {
        GrantType::AuthorizationCode => grants::redeem_code(state, &config, client, &params, now)?,
        GrantType::RefreshToken => grants::refresh(state, &config, client, &params, now)?,
        GrantType::ClientCredentials => {
            grants::client_credentials(state, &config, client, &params, now)?
        }
    };
    let json = serde_json::to_string(&response)
        .map_err(|e| OAuthError::invalid_request(format!("cannot encode the response: {e}")))?;
    Ok((json, grant_type))
}
