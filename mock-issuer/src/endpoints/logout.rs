//! `GET|POST /logout`: RP-initiated logout (OpenID RP-Initiated Logout 1.0 section 2-3), with
//! Fief's `redirect_uri` accepted as a synonym of `post_logout_redirect_uri`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;

use crate::endpoints::authorize::redirect_to_client;
use crate::pages;
use crate::params::Params;
use crate::rules::tokens;
use crate::state::{AppState, IssuerState, SESSION_COOKIE};

pub async fn handle(
    State(state): State<AppState>,
    method: Method,
    jar: CookieJar,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = if method == Method::POST {
        Params::parse(&body)
    } else {
        Params::parse(query.unwrap_or_default().as_bytes())
    };
    let redirect = match logout_redirect(&state, &params) {
        Ok(redirect) => redirect,
        Err(why) => return pages::logout_error_page(&why),
    };
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.end_session(cookie.value());
    }
    let mut response = match redirect {
        Some(uri) => {
            let client_state = params.get("state");
            let extra: Vec<(&str, &str)> = client_state.map(|s| ("state", s)).into_iter().collect();
            redirect_to_client(&uri, &extra)
        }
        None => pages::signed_out_page(),
    };
    let removal = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .removal()
        .build();
    if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Where to send the user after logout, checked against the registrations; `None` shows the
/// signed-out page.
pub fn logout_redirect(state: &IssuerState, params: &Params) -> Result<Option<String>, String> {
    if let Some(name) = params.first_duplicate() {
        return Err(format!("`{name}` appears more than once"));
    }
    let config = state.config();
    let hinted_client = match params.get("id_token_hint") {
        None => None,
        Some(hint) => Some(tokens::verify_id_token_hint(state, hint)?),
    };
    let client_id = match (params.get("client_id"), hinted_client.as_deref()) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err("client_id does not match the audience of id_token_hint".into());
        }
        (Some(given), _) => Some(given),
        (None, hinted) => hinted,
    };
    let client = match client_id {
        Some(id) => Some(
            config
                .client(id)
                .ok_or_else(|| format!("no client `{id}` is registered"))?,
        ),
        None => None,
    };
    let Some(uri) = params
        .get("post_logout_redirect_uri")
        .or_else(|| params.get("redirect_uri"))
    else {
        return Ok(None);
    };
    let registered = match client {
        Some(client) => client.post_logout_redirect_uris.iter().any(|r| r == uri),
        // Fief's logout URL names no client; accept a URI some client registered.
        None => config
            .clients
            .iter()
            .any(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)),
    };
    if !registered {
        return Err(format!(
            "post_logout_redirect_uri `{uri}` is not registered (exact match required)"
        ));
    }
    Ok(Some(uri.to_owned()))
}
