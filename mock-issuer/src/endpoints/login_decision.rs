//! `POST /authorize/decision`: the answer of the interactive login page, a user to sign in as
//! or a refusal (RFC 6749 4.1.2.1 `access_denied`).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;

use crate::endpoints::authorize::{authorization_error, respond_with_code, session_cookie};
use crate::pages;
use crate::params::Params;
use crate::rules::authorization::AuthorizationError;
use crate::rules::login;
use crate::state::{AppState, Login};

pub async fn handle(State(state): State<AppState>, body: Bytes) -> Response {
    let params = Params::parse(&body);
    let Some(request) = params
        .get("interaction")
        .and_then(|id| state.take_pending_login(id))
    else {
        return pages::error_page(
            "invalid_request",
            "this login page has expired or was already answered; start the sign-in again",
        );
    };
    if params.get("deny").is_some() {
        return authorization_error(
            &state,
            AuthorizationError::Redirect {
                redirect_uri: request.redirect_uri,
                error: "access_denied",
                description: "the user denied the request".into(),
                state: request.state,
            },
        );
    }
    let config = state.config();
    let Some(user) = params.get("user").and_then(|sub| config.find_user(sub)) else {
        return pages::error_page("invalid_request", "no such user to sign in as");
    };
    let login = Login {
        sub: user.sub.to_string(),
        auth_time: state.now(),
        acr: login::acr_for(&request),
    };
    let cookie = session_cookie(&state, login.clone());
    respond_with_code(&state, &config, &request, login, Some(cookie))
}
