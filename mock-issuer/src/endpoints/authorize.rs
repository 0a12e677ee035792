//! `GET|POST /authorize`: the authorization code flow (RFC 6749 4.1.1, Core 3.1.2).

use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::Config;
use crate::endpoints::{Endpoint, ParsedForm, page_form};
use crate::pages;
use crate::params::Params;
use crate::rules::authorization::{self, AuthorizationError, AuthorizationRequest};
use crate::rules::login::{self, LoginDecision};
use crate::state::{
    AppState, CodeGrant, IssuerState, LOGIN_BINDING_COOKIE, LOGIN_PAGE_LIFETIME, Login,
};

pub async fn handle_get(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(&state, jar, &params)
}

/// Core 3.1.2.1: the authorization endpoint accepts POST with a form body too.
pub async fn handle_post(
    State(state): State<AppState>,
    jar: CookieJar,
    parsed: Option<Extension<ParsedForm>>,
    body: Bytes,
) -> Response {
    authorize(&state, jar, &page_form(parsed, &body))
}

fn authorize(state: &IssuerState, jar: CookieJar, params: &Params) -> Response {
    let config = state.config();
    let request = match authorization::parse_request(&config, params) {
        Ok(request) => request,
        Err(error) => return authorization_error(state, error),
    };
    let now = state.now();
    let session = jar
        .get(&state.session_cookie)
        .and_then(|cookie| state.session(cookie.value(), now));
    match login::decide(&config, &request, session.as_ref(), now) {
        LoginDecision::Reuse(login) => {
            respond_with_code(state, &config, &request, login, None, now)
        }
        LoginDecision::SignIn(user) => {
            // Auto mode signs in its configured user with a session. Another user, chosen by a
            // `login_hint`, is signed in for this request only: a request that any page can
            // make must not replace the browser's session with a user of its choosing (login
            // CSRF through the issuer, RFC 6749 10.12).
            let configured = config
                .auto_login_user()
                .is_some_and(|auto| auto.sub == user.sub);
            let acr = login::acr_for(&request);
            if configured {
                let (login, cookie) = sign_in(state, user.sub.to_string(), acr, now);
                respond_with_code(state, &config, &request, login, Some(cookie), now)
            } else {
                let login = Login {
                    sub: user.sub.to_string(),
                    auth_time: now,
                    acr,
                    sid: None,
                };
                respond_with_code(state, &config, &request, login, None, now)
            }
        }
        LoginDecision::ShowLoginPage => show_login_page(state, &config, &jar, request),
        LoginDecision::Fail { error, description } => authorization_error(
            state,
            AuthorizationError::Redirect {
                redirect_uri: request.redirect_uri,
                error,
                description,
                state: request.state,
            },
        ),
    }
}

/// The interactive login page, bound to this browser: the pending login is kept with the
/// browser's binding cookie (set here when it has none) and the page's form token, and the
/// answer must bring both back (login CSRF, RFC 6749 10.12 and RFC 9700 4.7 on the issuer's
/// side).
fn show_login_page(
    state: &IssuerState,
    config: &Config,
    jar: &CookieJar,
    request: AuthorizationRequest,
) -> Response {
    // Core 3.1.2.1: login_hint is a hint; one that names nobody is ignored.
    let hint = request
        .login_hint
        .as_deref()
        .and_then(|hint| config.find_user(hint));
    let client_name = config
        .client(&request.client_id)
        .and_then(|c| c.name.as_deref())
        .unwrap_or(&request.client_id)
        .to_owned();
    let scopes = request.scopes.clone();
    // One binding per browser, reused by pages open in several tabs.
    let browser = jar
        .get(LOGIN_BINDING_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| state.rng.secret());
    let (interaction, form_token) = state.store_pending_login(request, &browser, state.now());
    let mut response = pages::login_page(
        &state.issuer,
        &interaction,
        &form_token,
        &client_name,
        &scopes,
        &config.users,
        hint,
    );
    let binding = Cookie::build((LOGIN_BINDING_COOKIE, browser))
        .path(format!(
            "{}{}",
            state.path_prefix,
            Endpoint::Authorize.path()
        ))
        .http_only(true)
        // Lax, not Strict: the page is reached by a cross-site navigation from the app, and a
        // Strict cookie would not come with it, so a second tab would get a new binding and
        // break the first. A cross-site POST still carries no Lax cookie; the answer is a
        // same-origin POST.
        .same_site(SameSite::Lax)
        .secure(state.issuer.starts_with("https://"))
        .max_age(cookie::time::Duration::seconds(LOGIN_PAGE_LIFETIME as i64))
        .build();
    if let Ok(value) = HeaderValue::from_str(&binding.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Signs `sub` in now: a new browser session, with the public id (`sid`) its tokens carry, and
/// the session's cookie.
pub(crate) fn sign_in(
    state: &IssuerState,
    sub: String,
    acr: &'static str,
    now: u64,
) -> (Login, Cookie<'static>) {
    let login = Login {
        sub,
        auth_time: now,
        acr,
        sid: Some(state.rng.id()),
    };
    let id = state.start_session(login.clone(), now);
    let cookie = Cookie::build((state.session_cookie.clone(), id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.issuer.starts_with("https://"))
        .build();
    (login, cookie)
}

/// Issues a code and sends the user back to the client (RFC 6749 4.1.2, RFC 9207 `iss`).
pub(crate) fn respond_with_code(
    state: &IssuerState,
    config: &Config,
    request: &AuthorizationRequest,
    login: Login,
    cookie: Option<Cookie<'static>>,
    now: u64,
) -> Response {
    let code = state.rng.secret();
    let stored = state.codes().insert(
        &code,
        CodeGrant {
            client_id: request.client_id.clone(),
            redirect_uri: request
                .redirect_uri_sent
                .then(|| request.redirect_uri.clone()),
            delivered_to: request.redirect_uri.clone(),
            scopes: request.scopes.clone(),
            nonce: request.nonce.clone(),
            pkce: request.pkce.clone(),
            login,
            expires_at: now + config.lifetimes.authorization_code,
            redeemed: None,
        },
        now,
    );
    if let Err(full) = stored {
        // RFC 6749 4.1.2.1: the server cannot issue a code now; the client may retry.
        return authorization_error(
            state,
            AuthorizationError::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                error: "temporarily_unavailable",
                description: full.to_string(),
                state: request.state.clone(),
            },
        );
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", &state.issuer));
    let mut response = redirect_to_client(&request.redirect_uri, &params);
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie.to_string())
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Shows an error page, or returns the error to the client with `state` and `iss`
/// (RFC 6749 4.1.2.1, RFC 9207 2).
pub(crate) fn authorization_error(state: &IssuerState, error: AuthorizationError) -> Response {
    match error {
        AuthorizationError::Page { error, description } => {
            pages::error_page(error, &crate::error::sanitize_description(&description))
        }
        AuthorizationError::Redirect {
            redirect_uri,
            error,
            description,
            state: client_state,
        } => {
            let description = crate::error::sanitize_description(&description);
            let mut params = vec![("error", error), ("error_description", &description)];
            if let Some(s) = &client_state {
                params.push(("state", s));
            }
            params.push(("iss", &state.issuer));
            redirect_to_client(&redirect_uri, &params)
        }
    }
}

/// A 302 to `uri` with `params` added to its query, keeping the query it already has
/// (RFC 6749 3.1.2).
pub(crate) fn redirect_to_client(uri: &str, params: &[(&str, &str)]) -> Response {
    let location = match url::Url::parse(uri) {
        Ok(mut url) => {
            if !params.is_empty() {
                url.query_pairs_mut().extend_pairs(params);
            }
            url.to_string()
        }
        // Registered URIs are validated at startup; this is unreachable in practice.
        Err(_) => return pages::error_page("server_error", "the redirect URI is not a valid URL"),
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ],
    )
        .into_response()
}
