//! The HTTP admin API under `{issuer}/_forge/`: JSON in, JSON out, one module per resource,
//! each a thin wrapper over [`crate::forge`] shaped like the other endpoints (parse the
//! request, apply, respond). Errors are `{"error": CODE, "error_description": TEXT}` with a
//! 4xx status; malformed JSON is a 400 that says what is wrong, never a panic.
//!
//! It is mounted outside the forge layer, so a scripted fault never blocks the request that
//! clears it, and the request log shows only what clients sent. `MockIssuerBuilder::admin(false)`
//! and `oidc-forge serve --no-admin` leave it out (every `/_forge/` path is then a 404).
//!
//! The admin API changes what the issuer signs, so a web page must never drive it: a page in
//! the developer's browser could otherwise rotate in its own key. [`guard`] refuses, before any
//! handler runs:
//! - a `Host` that is neither the issuer's own host nor a loopback name (DNS rebinding: a page
//!   of `evil.example` resolved to 127.0.0.1 sends `Host: evil.example`);
//! - a request from a page of another origin (`Origin`, `Sec-Fetch-Site`);
//! - a state-changing request without `Content-Type: application/json`, which a page can only
//!   send cross-origin after a CORS preflight, and the admin API approves no preflight (it
//!   sends no `Access-Control-Allow-*` header at all);
//! - with an admin token configured (`serve --admin-token`), a request without it.

pub mod claims;
pub mod faults;
pub mod keys;
pub mod requests;
pub mod token_response;
pub mod tokens;
pub mod users;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::error::no_store_json;
use crate::forge::claims::ClaimsError;
use crate::forge::faults::FaultError;
use crate::forge::mint::MintError;
use crate::forge::rotation::RotationError;
use crate::forge::token_response::EditError;
use crate::forge::users::UserError;
use crate::rules::origin;
use crate::state::AppState;

/// Adds the admin API under [`crate::forge::ADMIN_PREFIX`] to `routes`, behind [`guard`].
pub fn mount(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    let guarded = axum::middleware::from_fn_with_state(state.clone(), guard);
    // A nested `/` answers `/_forge` only; the index is reachable with the slash too.
    routes
        .nest(crate::forge::ADMIN_PREFIX, router().layer(guarded.clone()))
        .route(
            &format!("{}/", crate::forge::ADMIN_PREFIX),
            get(index).layer(guarded),
        )
}

/// The admin routes, relative to `/_forge`.
fn router() -> Router<AppState> {
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
        .route(
            "/token-response",
            get(token_response::list)
                .post(token_response::edit)
                .delete(token_response::clear),
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
            "GET|POST|DELETE /_forge/token-response",
            "GET|DELETE /_forge/requests",
        ]
    }))
}

/// Refuses every admin request a web page could have sent, and those without the admin token
/// when one is configured; see the module documentation.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match admissible(
        &state.issuer,
        &state.origin,
        state.forge.options.admin_token.as_deref(),
        request.method(),
        request.headers(),
    ) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// The rules of [`guard`] as a plain function over the request's method and headers.
pub fn admissible(
    issuer: &str,
    own_origin: &str,
    admin_token: Option<&str>,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), AdminError> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = hosts
        .next()
        .and_then(|host| host.to_str().ok())
        .ok_or_else(|| AdminError::ForbiddenHost("the request has no Host header".into()))?;
    if hosts.next().is_some() {
        return Err(AdminError::ForbiddenHost(
            "the request has more than one Host header".into(),
        ));
    }
    if !is_admin_host(issuer, host) {
        return Err(AdminError::ForbiddenHost(format!(
            "Host `{host}` is neither this issuer's host nor a loopback name (DNS rebinding)"
        )));
    }
    origin::check_same_origin(own_origin, headers)
        .map_err(|why| AdminError::CrossSite(why.to_string()))?;
    let changes_state = !matches!(*method, Method::GET | Method::HEAD);
    if changes_state && !is_json(headers.get(header::CONTENT_TYPE)) {
        return Err(AdminError::NotJson);
    }
    if let Some(expected) = admin_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        // Digests, so the comparison's time says nothing about the token's length.
        let digest =
            |text: &str| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
        let matches = given.is_some_and(|given| {
            bool::from(digest(given).as_ref().ct_eq(digest(expected).as_ref()))
        });
        if !matches {
            return Err(AdminError::Unauthorized);
        }
    }
    Ok(())
}

/// Whether `host` (a `Host` header: name or address, with an optional port) is the issuer's
/// own host or a name that can only mean this machine.
fn is_admin_host(issuer: &str, host: &str) -> bool {
    let Ok(url) = url::Url::parse(&format!("http://{host}")) else {
        return false;
    };
    let name_only = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    let own = url::Url::parse(issuer).ok();
    name_only
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            // RFC 6761 6.3: `localhost` and its subdomains are this machine.
            Some(url::Host::Domain(name)) => {
                name == "localhost"
                    || name.ends_with(".localhost")
                    || own
                        .as_ref()
                        .and_then(|own| own.host_str())
                        .is_some_and(|own| own.eq_ignore_ascii_case(name))
            }
            None => false,
        }
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// A refused admin request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error("{0}")]
    ForbiddenHost(String),
    #[error("{0}: the admin API only answers requests that no web page sent")]
    CrossSite(String),
    #[error(
        "a request that changes the issuer must be sent with `Content-Type: application/json` (curl: -H 'content-type: application/json')"
    )]
    NotJson,
    #[error("the admin API needs `Authorization: Bearer <admin token>`")]
    Unauthorized,
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
    #[error(transparent)]
    Edit(#[from] EditError),
}

impl AdminError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AdminError::ForbiddenHost(_) => (StatusCode::FORBIDDEN, "forbidden_host"),
            AdminError::CrossSite(_) => (StatusCode::FORBIDDEN, "cross_site_request"),
            AdminError::NotJson => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_content_type"),
            AdminError::Unauthorized => (StatusCode::UNAUTHORIZED, "invalid_token"),
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
            AdminError::Edit(_) => (StatusCode::BAD_REQUEST, "invalid_edit"),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = json!({ "error": code, "error_description": self.to_string() });
        let mut response = (status, no_store_json(body.to_string())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"oidc-forge admin\""),
            );
        }
        response
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

/// A body that may be empty (then `T::default()`), else JSON: for actions whose every field is
/// optional, so `curl -X POST -H 'content-type: application/json' URL` alone works (the
/// content type itself is required by [`guard`]).
pub(crate) fn optional_json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| AdminError::BadJson(format!("invalid JSON at `{}`: {}", e.path(), e.inner())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "http://oidc-forge.test:9000";
    const ORIGIN: &str = "http://oidc-forge.test:9000";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn check(method: Method, pairs: &[(&'static str, &str)]) -> Result<(), AdminError> {
        admissible(ISSUER, ORIGIN, None, &method, &headers(pairs))
    }

    #[test]
    fn only_loopback_names_and_the_issuers_own_host_are_admin_hosts() {
        for host in [
            "127.0.0.1:9000",
            "127.1",
            "[::1]:9000",
            "localhost",
            "app.localhost:3000",
            "oidc-forge.test:9000",
            "OIDC-FORGE.test",
        ] {
            assert!(check(Method::GET, &[("host", host)]).is_ok(), "{host}");
        }
        for host in [
            "evil.example",
            "oidc-forge.test.evil.example",
            "localhost.evil.example",
            "127.0.0.1#@evil.example",
            "127.0.0.1:9000/path",
            "user@127.0.0.1",
            "user:pw@127.0.0.1",
            "127.0.0.1?q",
            "0.0.0.0",
            "",
        ] {
            assert!(
                matches!(
                    check(Method::GET, &[("host", host)]),
                    Err(AdminError::ForbiddenHost(_))
                ),
                "{host}"
            );
        }
        assert!(matches!(
            check(Method::GET, &[]),
            Err(AdminError::ForbiddenHost(_))
        ));
        assert!(matches!(
            check(
                Method::GET,
                &[("host", "127.0.0.1"), ("host", "evil.example")]
            ),
            Err(AdminError::ForbiddenHost(_))
        ));
    }

    #[test]
    fn state_changing_requests_need_json_and_reads_do_not() {
        let host = ("host", "127.0.0.1:9000");
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(matches!(
                check(method.clone(), &[host]),
                Err(AdminError::NotJson)
            ));
            for content_type in [
                "text/plain",
                "application/json-patch+json",
                "text/plain; application/json",
                "multipart/form-data",
            ] {
                assert!(
                    matches!(
                        check(method.clone(), &[host, ("content-type", content_type)]),
                        Err(AdminError::NotJson)
                    ),
                    "{content_type}"
                );
            }
            for content_type in ["application/json", "Application/JSON; charset=utf-8"] {
                assert!(check(method.clone(), &[host, ("content-type", content_type)]).is_ok());
            }
        }
        for method in [Method::GET, Method::HEAD] {
            assert!(check(method, &[host]).is_ok());
        }
    }

    #[test]
    fn an_admin_token_is_compared_whole() {
        let with = |authorization: Option<&str>| {
            let mut pairs = vec![("host", "127.0.0.1")];
            if let Some(value) = authorization {
                pairs.push(("authorization", value));
            }
            admissible(
                ISSUER,
                ORIGIN,
                Some("tok3n"),
                &Method::GET,
                &headers(&pairs),
            )
        };
        assert!(with(Some("Bearer tok3n")).is_ok());
        assert!(with(Some("bearer  tok3n ")).is_ok());
        for refused in [
            None,
            Some("Bearer tok3"),
            Some("Bearer tok3nn"),
            Some("Basic tok3n"),
            Some("tok3n"),
            Some("Bearer "),
        ] {
            assert!(
                matches!(with(refused), Err(AdminError::Unauthorized)),
                "{refused:?}"
            );
        }
    }
}
