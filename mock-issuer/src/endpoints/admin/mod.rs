//! The HTTP admin API under `{issuer}/_forge/`: JSON in, JSON out, one module per resource,
//! each a thin wrapper over [`crate::forge`] shaped like the other endpoints (parse the
//! request, apply, respond). Errors are `{"error": CODE, "error_description": TEXT}` with a
//! 4xx status; malformed JSON is a 400 that says what is wrong, never a panic.
//!
//! It is mounted outside the forge layer, so a scripted fault never blocks the request that
//! clears it, and the request log shows only what clients sent. `MockIssuerBuilder::admin(false)`
//! and `oidc-forge serve --no-admin` leave it out (every `/_forge/` path is then a 404).

pub mod claims;
pub mod faults;
pub mod keys;
pub mod requests;
pub mod tokens;
pub mod users;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::no_store_json;
use crate::forge::claims::ClaimsError;
use crate::forge::faults::FaultError;
use crate::forge::mint::MintError;
use crate::forge::rotation::RotationError;
use crate::forge::users::UserError;
use crate::state::AppState;

/// The admin routes, relative to `/_forge`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/tokens", post(tokens::mint))
        .route(
            "/faults",
            get(faults::list).post(faults::arm).delete(faults::clear),
        )
        .route("/faults/{id}", delete(faults::clear_one))
        .route("/faults/reject-code", post(faults::reject_code))
        .route("/faults/jwks-unreachable", post(faults::jwks_unreachable))
        .route("/keys", get(keys::list))
        .route("/keys/rotate", post(keys::rotate))
        .route("/users", get(users::list).put(users::upsert))
        .route(
            "/users/{id}",
            get(users::get_one)
                .patch(users::update)
                .delete(users::remove),
        )
        .route(
            "/claims/queue",
            get(claims::list).post(claims::queue).delete(claims::clear),
        )
        .route("/requests", get(requests::list).delete(requests::clear))
}

/// `GET /_forge/`: what is here.
pub async fn index() -> Response {
    ok(json!({
        "routes": [
            "POST /_forge/tokens",
            "GET|POST|DELETE /_forge/faults", "DELETE /_forge/faults/{id}",
            "POST /_forge/faults/reject-code", "POST /_forge/faults/jwks-unreachable",
            "GET /_forge/keys", "POST /_forge/keys/rotate",
            "GET|PUT /_forge/users", "GET|PATCH|DELETE /_forge/users/{email_or_sub}",
            "GET|POST|DELETE /_forge/claims/queue",
            "GET|DELETE /_forge/requests",
        ]
    }))
}

/// A refused admin request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error("{0}")]
    BadJson(String),
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Mint(#[from] MintError),
    #[error(transparent)]
    Fault(#[from] FaultError),
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Claims(#[from] ClaimsError),
}

impl AdminError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AdminError::BadJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            AdminError::BadQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            AdminError::NotFound(_) | AdminError::User(UserError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            AdminError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
            AdminError::Mint(_) => (StatusCode::BAD_REQUEST, "invalid_token_request"),
            AdminError::Fault(_) => (StatusCode::BAD_REQUEST, "invalid_fault"),
            AdminError::Rotation(RotationError::KidInUse(_)) => {
                (StatusCode::CONFLICT, "invalid_rotation")
            }
            AdminError::Rotation(_) => (StatusCode::BAD_REQUEST, "invalid_rotation"),
            AdminError::User(_) => (StatusCode::BAD_REQUEST, "invalid_user"),
            AdminError::Claims(_) => (StatusCode::BAD_REQUEST, "invalid_claims"),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = json!({ "error": code, "error_description": self.to_string() });
        (status, no_store_json(body.to_string())).into_response()
    }
}

/// A 200 with a JSON body.
pub(crate) fn ok(body: impl serde::Serialize) -> Response {
    match serde_json::to_string(&body) {
        Ok(text) => no_store_json(text),
        Err(e) => AdminError::BadJson(format!("cannot encode the answer: {e}")).into_response(),
    }
}

/// axum's `Json`, with its rejections (missing content type, syntax, wrong shape) answered as
/// a 400 [`AdminError`] that quotes what was wrong.
pub struct AdminJson<T>(pub T);

impl<S, T> FromRequest<S> for AdminJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(AdminJson(value)),
            Err(rejection) => Err(AdminError::BadJson(rejection.body_text())),
        }
    }
}

/// A body that may be empty (then `T::default()`), else JSON, whatever the content type says:
/// for actions whose every field is optional, so `curl -X POST` alone works.
pub(crate) fn optional_json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| AdminError::BadJson(format!("invalid JSON at `{}`: {}", e.path(), e.inner())))
}
