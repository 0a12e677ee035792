//! `/_forge/requests`: the request log ([`crate::forge::request_log`]).
//!
//! `GET` answers `{"capacity": 1000, "requests": [...]}`, oldest first, or one endpoint's with
//! `?endpoint=token`; `DELETE` empties the log.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::json;

use crate::endpoints::admin::faults::endpoint_filter;
use crate::endpoints::admin::{AdminError, ok};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AdminError> {
    let log = &state.forge.requests;
    let requests = match endpoint_filter(query.as_deref())? {
        Some(endpoint) => log.entries_for(endpoint),
        None => log.entries(),
    };
    Ok(ok(
        json!({ "capacity": log.capacity(), "requests": requests }),
    ))
}

pub async fn clear(State(state): State<AppState>) -> Response {
    state.forge.requests.clear();
    ok(json!({ "requests": [] }))
}
