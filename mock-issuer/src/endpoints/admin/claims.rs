//! `/_forge/claims/queue`: claims for the next token responses ([`crate::forge::claims`]).
//!
//! `POST {"target": "access_token", "claims": {"tenant": 7}}` queues one entry (`target`
//! defaults to `both`); `GET` lists the queue; `DELETE` empties it.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::endpoints::admin::{AdminError, AdminJson, ok};
use crate::forge::claims::QueuedClaims;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Response {
    ok(json!({ "queue": state.forge.queued_claims.pending() }))
}

pub async fn queue(
    State(state): State<AppState>,
    AdminJson(claims): AdminJson<QueuedClaims>,
) -> Result<Response, AdminError> {
    let queue = &state.forge.queued_claims;
    queue.push(claims)?;
    Ok(ok(json!({ "queued": queue.pending().len() })))
}

pub async fn clear(State(state): State<AppState>) -> Response {
    state.forge.queued_claims.clear();
    ok(json!({ "queued": 0 }))
}
