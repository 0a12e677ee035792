//! `GET /.well-known/jwks.json`: the public signing keys (Core 10.1, RFC 7517 5), serialised once.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

pub async fn handle(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.jwks_json(),
    )
}
