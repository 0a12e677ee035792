//! `POST /_forge/tokens`: mints a token ([`crate::forge::mint`]).
//!
//! ```json
//! {"kind": "access_token", "user": "bob@example.com", "scopes": ["read"],
//!  "permissions": ["castles:read"], "mutations": ["expired-by=30", "no-kid"]}
//! ```
//! answers `{"token": "eyJ...", "header": {...}, "claims": {...}}`.

use axum::extract::State;
use axum::response::Response;

use crate::endpoints::admin::{AdminError, AdminJson, ok};
use crate::forge::mint::{Minter, TokenRequest};
use crate::state::AppState;

pub async fn mint(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<TokenRequest>,
) -> Result<Response, AdminError> {
    let builder = request.into_builder(&Minter::from_state(&state));
    Ok(ok(builder.build()?))
}
