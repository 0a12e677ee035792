//! `POST /introspect`: token introspection for authenticated confidential clients (RFC 7662).
//!
//! A client learns about the tokens issued to it and the access tokens meant for it (whose
//! `aud` names it); any other token is `{"active": false}`, as an unknown one is, unless the
//! client is configured with `introspect_any_token` (RFC 7662 4: a token's contents are not
//! every client's to read).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::ClientConfig;
use crate::endpoints::Form;
use crate::error::{OAuthError, no_store_json};
use crate::params::Params;
use crate::rules::{client_auth, own_tokens};
use crate::state::{AppState, IssuerState, Presented};

pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form,
) -> Response {
    match introspect(&state, &headers, &params) {
        Ok(answer) => no_store_json(answer.to_string()),
        Err(error) => error.into_response(),
    }
}

fn introspect(
    state: &IssuerState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Value, OAuthError> {
    let presented = client_auth::presented(headers, params)?;
    let config = state.config();
    let client = client_auth::authenticate(&config, &presented)?;
    // RFC 7662 2.1: the endpoint is protected; a public client cannot authenticate.
    if client.is_public() {
        return Err(OAuthError::invalid_client(
            "introspection needs client authentication; public clients cannot introspect (RFC 7662 2.1)",
        ));
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("`token` is required (RFC 7662 2.1)"))?;
    let refresh_first = params.get("token_type_hint") == Some("refresh_token");
    let answer = if refresh_first {
        refresh_token_info(state, client, token).or_else(|| access_token_info(state, client, token))
    } else {
        access_token_info(state, client, token).or_else(|| refresh_token_info(state, client, token))
    };
    // RFC 7662 2.2: anything not active is just `{"active": false}`, without a reason.
    Ok(answer.unwrap_or_else(|| json!({ "active": false })))
}

fn access_token_info(state: &IssuerState, caller: &ClientConfig, token: &str) -> Option<Value> {
    let claims = own_tokens::verify_access_token(state, token, state.now())
        .ok()
        .filter(|claims| {
            caller.introspect_any_token
                || claims.client_id == caller.id
                || claims.aud.contains(&caller.id)
        })?;
    Some(json!({
        "active": true,
        "token_type": "Bearer",
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "exp": claims.exp,
        "iat": claims.iat,
        "jti": claims.jti,
        "permissions": claims.permissions,
        "acr": claims.acr,
    }))
}

fn refresh_token_info(state: &IssuerState, caller: &ClientConfig, token: &str) -> Option<Value> {
    // A spent refresh token is not active (RFC 7662 2.2); expired ones read as unknown.
    let Presented::Current { grant, .. } = state.presented_refresh_token(token, state.now()) else {
        return None;
    };
    if !(caller.introspect_any_token || grant.client_id == caller.id) {
        return None;
    }
    Some(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": grant.scopes.join(" "),
        "client_id": grant.client_id,
        "sub": grant.login.sub,
        "iss": state.issuer,
        "exp": grant.expires_at,
    }))
}
