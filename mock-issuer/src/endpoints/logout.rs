//! `GET|POST /logout`: RP-initiated logout (OpenID RP-Initiated Logout 1.0 sections 2-3), with
//! Fief's `redirect_uri` accepted as a synonym of `post_logout_redirect_uri`.
//!
//! - Section 2: the issuer must ask the user before ending the session unless an
//!   `id_token_hint` belongs to that session (the signed-in user, and the session's `sid`).
//!   The question is a page whose form posts the request back with a confirmation token
//!   derived from the session, from the issuer's own origin; a cross-site `<img>`, form or
//!   link therefore logs nobody out. In auto-login mode the page submits itself (a same-origin
//!   POST, the only automatic confirmation there is) when no other site started the
//!   navigation (`Sec-Fetch-Site`), so scripted browsers need no click; a page loaded as an
//!   image or in a frame runs nothing.
//! - Section 3: the browser is sent back only to a URI registered for the client the request
//!   identifies (`id_token_hint` or `client_id`). Without either, the signed-out page offers a
//!   registered URI as a link instead of redirecting.

use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use subtle::ConstantTimeEq as _;

use crate::config::{Config, LoginMode};
use crate::endpoints::authorize::redirect_to_client;
use crate::endpoints::{ParsedForm, page_form};
use crate::pages;
use crate::params::Params;
use crate::rules::{origin, own_tokens};
use crate::state::{AppState, IssuerState};

pub async fn handle(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
    parsed: Option<Extension<ParsedForm>>,
    body: Bytes,
) -> Response {
    let params = if method == Method::POST {
        page_form(parsed, &body)
    } else {
        Params::parse(query.unwrap_or_default().as_bytes())
    };
    let config = state.config();
    let request = match LogoutRequest::parse(&state, &config, &params) {
        Ok(request) => request,
        Err(why) => return pages::logout_error_page(&why),
    };
    let session_id = jar.get(&state.session_cookie).map(|cookie| cookie.value());
    if let Some((id, session)) =
        session_id.and_then(|id| Some((id, state.session(id, state.now())?)))
    {
        // Section 2: no question only when the hint belongs to this very session: the same
        // user, signed in in this browser (its `sid`). Another ID token of the user, from
        // another browser or an earlier session, is a hint for some other session.
        let hint_is_this_session = request.hint.as_ref().is_some_and(|(sub, sid)| {
            *sub == session.login.sub && sid.is_some() && *sid == session.login.sid
        });
        if !hint_is_this_session {
            let expected = confirmation_token(id);
            let confirmed = method == Method::POST
                && params
                    .get("confirmation")
                    .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())));
            if !confirmed {
                let user = config
                    .find_user(&session.login.sub)
                    .map_or(session.login.sub.as_str(), |user| user.email.as_str());
                let echoed: Vec<(&str, &str)> = params
                    .iter()
                    .filter(|(name, _)| !matches!(*name, "confirmation" | "logout"))
                    .collect();
                // Auto mode answers the question itself, but only for a navigation that no
                // other site started: a link or a script on another site gets the question.
                let from_another_site = headers
                    .get("sec-fetch-site")
                    .is_some_and(|site| matches!(site.as_bytes(), b"cross-site" | b"same-site"));
                return pages::logout_confirmation_page(
                    &state.issuer,
                    &expected,
                    &echoed,
                    user,
                    config.login.mode == LoginMode::Auto && !from_another_site,
                );
            }
            if let Err(why) = origin::check_same_origin(&state.origin, &headers) {
                return pages::cross_site_page(&why.to_string());
            }
        }
        state.end_session(id);
    }
    let mut response = match request.redirect {
        Some(uri) => {
            let extra: Vec<(&str, &str)> = params
                .get("state")
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            redirect_to_client(&uri, &extra)
        }
        None => pages::signed_out_page(request.link_back.as_deref()),
    };
    let removal = Cookie::build((state.session_cookie.clone(), ""))
        .path("/")
        .removal()
        .build();
    if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The confirmation token of a session's logout page: a digest of the session id, so that only
/// a page shown to that browser (which holds the id in an HttpOnly cookie) knows it.
fn confirmation_token(session_id: &str) -> String {
    use base64::Engine as _;
    let mut input = b"oidc-forge logout confirmation\0".to_vec();
    input.extend_from_slice(session_id.as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A logout request, checked against the registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The user and issuer session of a valid `id_token_hint`.
    pub hint: Option<(String, Option<String>)>,
    /// Where to send the browser: a URI registered for the client the request identifies.
    pub redirect: Option<String>,
    /// A registered URI to offer as a link when the request identified no client.
    pub link_back: Option<String>,
}

impl LogoutRequest {
    pub fn parse(state: &IssuerState, config: &Config, params: &Params) -> Result<Self, String> {
        params.check().map_err(|why| why.to_string())?;
        let hint = params
            .get("id_token_hint")
            .map(|hint| own_tokens::verify_id_token_hint(state, hint, state.now()))
            .transpose()
            .map_err(|why| why.to_string())?;
        let client_id = match (params.get("client_id"), &hint) {
            (Some(given), Some(hint)) if given != hint.client_id => {
                return Err("client_id does not match the audience of id_token_hint".into());
            }
            (Some(given), _) => Some(given),
            (None, hint) => hint.as_ref().map(|hint| hint.client_id.as_str()),
        };
        let client = match client_id {
            Some(id) => Some(
                config
                    .client(id)
                    .ok_or_else(|| format!("no client `{id}` is registered"))?,
            ),
            None => None,
        };
        let hinted = hint.map(|hint| (hint.sub, hint.sid));
        let Some(uri) = params
            .get("post_logout_redirect_uri")
            .or_else(|| params.get("redirect_uri"))
        else {
            // The client's configured logout URL (FusionAuth's), else the issuer's page.
            return Ok(Self {
                hint: hinted,
                redirect: client.and_then(|client| client.logout_url.clone()),
                link_back: None,
            });
        };
        let unregistered =
            || format!("post_logout_redirect_uri `{uri}` is not registered (exact match required)");
        match client {
            Some(client) if client.allows_post_logout_redirect_uri(uri) => Ok(Self {
                hint: hinted,
                redirect: Some(uri.to_owned()),
                link_back: None,
            }),
            Some(_) => Err(unregistered()),
            // Section 3: no redirect without knowing whose URI it is (Fief's logout URL names
            // no client); a URI some client registered is offered as a link.
            None if config
                .clients
                .iter()
                .any(|c| c.allows_post_logout_redirect_uri(uri)) =>
            {
                Ok(Self {
                    hint: hinted,
                    redirect: None,
                    link_back: Some(uri.to_owned()),
                })
            }
            None => Err(unregistered()),
        }
    }
}
