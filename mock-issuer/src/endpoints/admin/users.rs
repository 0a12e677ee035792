//! `/_forge/users`: users at runtime ([`crate::forge::users`]).
//!
//! - `GET` lists them; `GET /_forge/users/{email_or_sub}` shows one.
//! - `PUT` with a user as the configuration writes it (`{"sub": UUID, "email": ..,
//!   "permissions": [..], "claims": {..}}`) adds it, or replaces the user with that `sub`.
//! - `PATCH /_forge/users/{email_or_sub}` changes some fields; `claims` merge, `null` removes.
//! - `DELETE /_forge/users/{email_or_sub}` removes one.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use crate::config::UserConfig;
use crate::endpoints::admin::{AdminError, AdminJson, ok};
use crate::forge::users::{self, UserError, UserPatch};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Response {
    ok(json!({ "users": state.config().users }))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let config = state.config();
    let user = config.find_user(&id).ok_or(UserError::NotFound(id))?;
    Ok(ok(user))
}

pub async fn upsert(
    State(state): State<AppState>,
    AdminJson(user): AdminJson<UserConfig>,
) -> Result<Response, AdminError> {
    let outcome = users::upsert(&state, user.clone())?;
    Ok(ok(json!({ "result": outcome, "user": user })))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(patch): AdminJson<UserPatch>,
) -> Result<Response, AdminError> {
    Ok(ok(users::update(&state, &id, &patch)?))
}

pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(json!({ "removed": users::remove(&state, &id)? })))
}
