//! `/_forge/faults`: scripted faults ([`crate::forge::faults`]).
//!
//! - `GET` lists the armed faults.
//! - `POST {"endpoint": "token", "status": 503, "error": "temporarily_unavailable", "times": 2}`
//!   arms one (see [`FaultRequest`]) and answers its `id`.
//! - `DELETE` clears all (`?endpoint=token`: that endpoint's); `DELETE /_forge/faults/{id}`
//!   one.
//! - `POST /reject-code {"code": "..."}` and `POST /jwks-unreachable` are the two shorthands.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::endpoints::admin::{AdminError, AdminJson, ok, optional_json};
use crate::endpoints::{Endpoint, UnknownEndpoint};
use crate::forge::faults::{FaultId, FaultRequest, FaultsHandle};
use crate::params::Params;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Response {
    ok(json!({ "faults": FaultsHandle::new(&state.forge.faults).list() }))
}

pub async fn arm(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<FaultRequest>,
) -> Result<Response, AdminError> {
    let spec = request.into_spec(None)?;
    let id = FaultsHandle::new(&state.forge.faults).arm(spec)?;
    Ok(ok(json!({ "id": id })))
}

/// The `?endpoint=NAME` filter of a listing or clearing.
pub(crate) fn endpoint_filter(query: Option<&str>) -> Result<Option<Endpoint>, AdminError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    params
        .get("endpoint")
        .map(|name| {
            name.parse()
                .map_err(|unknown: UnknownEndpoint| AdminError::BadQuery(unknown.to_string()))
        })
        .transpose()
}

pub async fn clear(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AdminError> {
    let faults = &state.forge.faults;
    let cleared = match endpoint_filter(query.as_deref())? {
        Some(endpoint) => faults.clear_endpoint(endpoint),
        None => faults.clear_all(),
    };
    Ok(ok(json!({ "cleared": cleared })))
}

pub async fn clear_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id = id
        .parse()
        .map(FaultId)
        .map_err(|_| AdminError::BadQuery(format!("`{id}` is not a fault id")))?;
    if state.forge.faults.clear(id) {
        Ok(ok(json!({ "cleared": 1 })))
    } else {
        Err(AdminError::NotFound(format!(
            "no fault #{} is armed (it may have run out)",
            id.0
        )))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectCode {
    code: String,
}

pub async fn reject_code(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<RejectCode>,
) -> Response {
    let id = FaultsHandle::new(&state.forge.faults).reject_code(request.code);
    ok(json!({ "id": id }))
}

pub async fn jwks_unreachable(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let _: EmptyObject = optional_json(&body)?;
    let id = FaultsHandle::new(&state.forge.faults).jwks_unreachable();
    Ok(ok(json!({ "id": id })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyObject {}
