//! `/_forge/keys`: the published keys, and rotation ([`crate::forge::rotation`]).
//!
//! `POST /_forge/keys/rotate {"grace_seconds": 60}` switches RS256 to the embedded next key;
//! `{"alg": "ES256", "generate": true}` or `{"kid": "k2", "pem": "-----BEGIN..."}` choose the
//! key. Answers what was done and the keys now published.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::endpoints::admin::{AdminError, ok, optional_json};
use crate::forge::rotation::{self, NewKey, RotateRequest};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Response {
    ok(json!({ "keys": rotation::key_info(&state.keys()) }))
}

pub async fn rotate(State(state): State<AppState>, body: Bytes) -> Result<Response, AdminError> {
    let request: RotateRequest = optional_json(&body)?;
    let rotation = request.into_rotation()?;
    let report = if matches!(rotation.key, NewKey::Generate { .. }) {
        // Key generation takes tens of milliseconds: off the async workers.
        let worker = state.clone();
        tokio::task::spawn_blocking(move || rotation::rotate(&worker, &rotation))
            .await
            .map_err(|e| AdminError::Internal(format!("the key generation task failed: {e}")))??
    } else {
        rotation::rotate(&state, &rotation)?
    };
    Ok(ok(json!({
        "rotation": report,
        "keys": rotation::key_info(&state.keys()),
    })))
}
