//! `POST /authorize/decision`: the answer of the interactive login page, a user to sign in as
//! or a refusal (RFC 6749 4.1.2.1 `access_denied`).
//!
//! Only the page itself may answer (login CSRF, RFC 6749 10.12 and RFC 9700 4.7 on the
//! issuer's side): the post must come from the issuer's origin, carry the page's form token,
//! and come from the browser the page was shown to (its binding cookie). Otherwise a page on
//! another site could post its own interaction and sign the victim in as a user it chose.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use crate::endpoints::authorize::{authorization_error, respond_with_code, sign_in};
use crate::endpoints::{ParsedForm, page_form};
use crate::pages;
use crate::rules::authorization::AuthorizationError;
use crate::rules::{login, origin};
use crate::state::{AppState, LOGIN_BINDING_COOKIE, PendingLoginError};

pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    parsed: Option<Extension<ParsedForm>>,
    body: Bytes,
) -> Response {
    if let Err(why) = origin::check_same_origin(&state.origin, &headers) {
        return pages::cross_site_page(&why.to_string());
    }
    let params = page_form(parsed, &body);
    if let Err(why) = params.check() {
        return pages::error_page("invalid_request", &why.to_string());
    }
    let now = state.now();
    let browser = jar.get(LOGIN_BINDING_COOKIE).map(|cookie| cookie.value());
    let taken = params
        .get("interaction")
        .ok_or(PendingLoginError::Unknown)
        .and_then(|id| state.take_pending_login(id, browser, params.get("form_token"), now));
    let request = match taken {
        Ok(request) => request,
        Err(why @ PendingLoginError::OtherBrowser) => {
            let mut page = pages::error_page("access_denied", &why.to_string());
            *page.status_mut() = StatusCode::FORBIDDEN;
            return page;
        }
        Err(why) => return pages::error_page("invalid_request", &why.to_string()),
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
        return pages::error_page("invalid_request", "no such user to sign in as").into_response();
    };
    let (login, cookie) = sign_in(&state, user.sub.to_string(), login::acr_for(&request), now);
    respond_with_code(&state, &config, &request, login, Some(cookie), now)
}
