//! `/_forge/token-response`: edits of the next token responses
//! ([`crate::forge::token_response`]), for apps in any language.
//!
//! `POST {"id_token_mutations": ["invalid-nonce"], "set": {"token_type": "bEARER"}, "remove":
//! ["expires_in"]}` edits the next successful token response (each field may be left out);
//! `GET` says how many wait; `DELETE` drops them.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::endpoints::admin::{AdminError, AdminJson, ok};
use crate::forge::token_response::EditRequest;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Response {
    ok(json!({ "queued": state.forge.response_edits.len() }))
}

pub async fn edit(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<EditRequest>,
) -> Result<Response, AdminError> {
    let edits = &state.forge.response_edits;
    edits.push(request.into_edits())?;
    Ok(ok(json!({ "queued": edits.len() })))
}

pub async fn clear(State(state): State<AppState>) -> Response {
    state.forge.response_edits.clear();
    ok(json!({ "queued": 0 }))
}
