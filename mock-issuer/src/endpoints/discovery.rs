//! `GET /.well-known/openid-configuration` (Discovery 3) and
//! `GET /.well-known/oauth-authorization-server` (RFC 8414 2): the same document
//! ([`rules::metadata`](crate::rules::metadata)), serialised when the configuration or keys change.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

pub async fn handle(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.discovery_json(),
    )
}
