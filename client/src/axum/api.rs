//! The API flow: token sources, per-route requirements, extractors.
//!
//! Fief's `FiefAuth(client, scheme)` becomes [`Auth`]; its `authenticated(
//! optional, scope, permissions)` decorator becomes the [`RequireAuthLayer`]
//! returned by [`Auth::require`] / [`Auth::optional`]; `g.access_token_info`
//! and `g.user` become the [`AccessToken`] and [`CurrentUser`] extractors.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use oidc_forge_client::{Client, Requirements};
//! use oidc_forge_client::axum::{AccessToken, Auth, TokenSource};
//!
//! # async fn build() -> Result<Router, oidc_forge_client::Error> {
//! let client = Client::new("http://127.0.0.1:8080", "forge-web", Some("forge-web-secret".into()))?;
//! let auth = Auth::new(client, TokenSource::Bearer);
//! let app = Router::new()
//!     .route("/castles", get(|AccessToken(info): AccessToken| async move { Json(info) }))
//!     .route_layer(auth.require(Requirements::new().scopes(["read"]).permissions(["castles:read"])))
//!     .with_state(auth);
//! # Ok(app) }
//! ```

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{CookieJar, Key, PrivateCookieJar};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use super::csrf::cross_site_refusal;
use super::response::{AuthResponses, BearerResponses};
use crate::cache::{MemoryUserInfoCache, UserInfoCache};
use crate::client::{Client, Requirements};
use crate::error::Error;
use crate::tokens::{AccessTokenInfo, UserInfo};

/// Where the access token is read from (Fief's `get_authorization_scheme_token`
/// and `get_cookie`).
#[derive(Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 2.1; the scheme is
    /// case-insensitive, RFC 9110 11.1). A token in the query string is refused
    /// (RFC 6750 2.3 says SHOULD NOT; this crate says no).
    Bearer,
    /// A plain cookie holding the token.
    Cookie(String),
    /// A cookie encrypted and authenticated with `key` (what the web flow
    /// writes); a tampered cookie reads as absent.
    EncryptedCookie {
        /// Cookie name.
        name: String,
        /// Encryption key.
        key: Key,
    },
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Bearer => f.write_str("Bearer"),
            TokenSource::Cookie(name) => write!(f, "Cookie({name:?})"),
            TokenSource::EncryptedCookie { name, .. } => write!(f, "EncryptedCookie({name:?})"),
        }
    }
}

impl TokenSource {
    /// Reads the token: `Ok(None)` when there is none, `Err` when the request
    /// is malformed (RFC 6750 3.1 `invalid_request`).
    pub fn extract(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Option<String>, AuthRejection> {
        match self {
            TokenSource::Bearer => bearer_token(headers, query),
            TokenSource::Cookie(name) => Ok(CookieJar::from_headers(headers)
                .get(name)
                .map(|cookie| cookie.value().to_owned())
                .filter(|value| !value.is_empty())),
            TokenSource::EncryptedCookie { name, key } => {
                Ok(PrivateCookieJar::from_headers(headers, key.clone())
                    .get(name)
                    .map(|cookie| cookie.value().to_owned())
                    .filter(|value| !value.is_empty()))
            }
        }
    }
}

/// The bearer rules of RFC 6750 2.1 and 2.3, as a plain function.
pub fn bearer_token(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<String>, AuthRejection> {
    // RFC 6750 2.3: URI query tokens leak into logs and Referer headers; refuse them.
    if let Some(query) = query
        && url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
    {
        return Err(AuthRejection::MalformedRequest(
            "access tokens in the query string are not accepted (RFC 6750 2.3)".into(),
        ));
    }
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthRejection::MalformedRequest(
            "more than one Authorization header".into(),
        ));
    }
    let value = value.to_str().map_err(|_| {
        AuthRejection::MalformedRequest("the Authorization header is not visible ASCII".into())
    })?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 9110 11.1: the auth-scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, ...) carries no bearer token: treat as absent (RFC 6750 3.1).
        return Ok(None);
    }
    let token = credentials.trim_matches(' ');
    if token.is_empty() {
        return Err(AuthRejection::MalformedRequest(
            "the Bearer scheme carries no token".into(),
        ));
    }
    Ok(Some(token.to_owned()))
}

/// Why a request was not let through; turned into a response by [`AuthResponses`].
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No token: 401 with a bare `WWW-Authenticate: Bearer` (RFC 6750 3.1).
    MissingToken,
    /// The request itself is malformed: 400 `invalid_request`.
    MalformedRequest(String),
    /// The token is invalid or expired: 401 `invalid_token`.
    InvalidToken(Error),
    /// The token lacks a scope, permission or `acr`: 403 `insufficient_scope`.
    Forbidden(Error),
    /// The issuer (keys, discovery, UserInfo) failed: 502/503, failing closed.
    Upstream(Error),
    /// A state-changing request carried the session cookie but came from
    /// another site: 403 (cross-site request forgery, RFC 6750 5.3).
    CrossSite(&'static str),
}

impl AuthRejection {
    /// Sorts a client error into the rejection it causes.
    pub fn from_error(error: Error) -> Self {
        match error {
            Error::AccessTokenInvalid(_) | Error::AccessTokenExpired { .. } => {
                AuthRejection::InvalidToken(error)
            }
            Error::MissingScope { .. }
            | Error::MissingPermission { .. }
            | Error::AcrTooLow { .. } => AuthRejection::Forbidden(error),
            // RFC 6750 3.1 via Core 5.3.3: the issuer no longer accepts the token.
            Error::RequestFailed { status: 401, .. } => AuthRejection::InvalidToken(error),
            other => AuthRejection::Upstream(other),
        }
    }

    /// `true` for 401-class rejections (missing, malformed or invalid token).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            AuthRejection::MissingToken
                | AuthRejection::MalformedRequest(_)
                | AuthRejection::InvalidToken(_)
        )
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthRejection::MissingToken => f.write_str("no access token was presented"),
            AuthRejection::MalformedRequest(why) => f.write_str(why),
            AuthRejection::CrossSite(why) => f.write_str(why),
            AuthRejection::InvalidToken(error)
            | AuthRejection::Forbidden(error)
            | AuthRejection::Upstream(error) => write!(f, "{error}"),
        }
    }
}

#[derive(Clone)]
struct AuthInner {
    client: Client,
    source: TokenSource,
    cache: Arc<dyn UserInfoCache>,
    responses: Arc<dyn AuthResponses>,
    csrf: CsrfPolicy,
}

/// The cross-site request defence of cookie-authenticated routes.
#[derive(Debug, Clone, Default)]
struct CsrfPolicy {
    disabled: bool,
    /// Exact origins (`https://app.example`) whose pages may post; when empty,
    /// the origin must be the request's own `Host`.
    allowed_origins: Vec<String>,
}

/// Fief's `FiefAuth`: a client, a token source, a UserInfo cache and the
/// responses for rejected requests. Cheap to clone; put it in the router state.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("client", &self.inner.client)
            .field("source", &self.inner.source)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Validates tokens from `source` with `client`; UserInfo is cached in
    /// memory for five minutes on the client's clock; rejections get RFC 6750
    /// responses.
    pub fn new(client: Client, source: TokenSource) -> Self {
        let cache = Arc::new(MemoryUserInfoCache::with_clock(
            MemoryUserInfoCache::DEFAULT_TTL,
            client.clock().clone(),
        ));
        Self {
            inner: Arc::new(AuthInner {
                client,
                source,
                cache,
                responses: Arc::new(BearerResponses),
                csrf: CsrfPolicy::default(),
            }),
        }
    }

    fn rebuild(&self, change: impl FnOnce(&mut AuthInner)) -> Self {
        let mut inner = AuthInner::clone(&self.inner);
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Replaces the UserInfo cache (Fief's `get_userinfo_cache`).
    pub fn with_cache(self, cache: Arc<dyn UserInfoCache>) -> Self {
        self.rebuild(|inner| inner.cache = cache)
    }

    /// Replaces the unauthorized/forbidden responses (Fief's
    /// `get_unauthorized_response` override and Flask error handlers).
    pub fn with_responses(self, responses: impl AuthResponses) -> Self {
        self.rebuild(|inner| inner.responses = Arc::new(responses))
    }

    /// The origins (`https://app.example`, no path) whose pages may send
    /// state-changing requests with the session cookie. By default it is the
    /// origin of the request's own `Host`; set this behind a proxy that
    /// rewrites `Host`. See [`cross_site_refusal`].
    pub fn allowed_origins<I, S>(self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        self.rebuild(|inner| inner.csrf.allowed_origins = origins)
    }

    /// Turns the cross-site request check of cookie sources off (it is on by
    /// default; bearer tokens are never checked, since a browser does not
    /// attach them by itself). Only for apps with a CSRF defence of their own.
    pub fn without_csrf_check(self) -> Self {
        self.rebuild(|inner| inner.csrf.disabled = true)
    }

    /// Why an unsafe request from another site must be refused, under this
    /// `Auth`'s allowed origins; `None` when it may proceed.
    pub fn cross_site_refusal(&self, method: &Method, headers: &HeaderMap) -> Option<&'static str> {
        cross_site_refusal(method, headers, &self.inner.csrf.allowed_origins)
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The UserInfo cache.
    pub fn cache(&self) -> &Arc<dyn UserInfoCache> {
        &self.inner.cache
    }

    /// The rejection responses.
    pub fn responses(&self) -> &Arc<dyn AuthResponses> {
        &self.inner.responses
    }

    /// A route layer requiring a valid token meeting `requirements`
    /// (Fief's `authenticated(scope=..., permissions=...)`).
    pub fn require(&self, requirements: Requirements) -> RequireAuthLayer {
        RequireAuthLayer {
            auth: self.clone(),
            requirements: Arc::new(requirements),
            optional: false,
            load_user: false,
            refresh_user: false,
        }
    }

    /// A route layer letting anonymous requests through, but still refusing a
    /// token that is present and invalid (401) or lacks `requirements` (403):
    /// never silently anonymous (B-17). Fief's `authenticated(optional=True)`.
    pub fn optional(&self, requirements: Requirements) -> RequireAuthLayer {
        RequireAuthLayer {
            optional: true,
            ..self.require(requirements)
        }
    }

    /// Authenticates a request: the token from the source, validated, checked
    /// against `requirements`. `Ok(None)` only when `optional` and no token.
    /// A token read from a cookie on a state-changing request from another
    /// site is refused first ([`AuthRejection::CrossSite`]).
    pub async fn authenticate(
        &self,
        parts: &Parts,
        requirements: &Requirements,
        optional: bool,
    ) -> Result<Option<AccessTokenInfo>, AuthRejection> {
        let Some(token) = self
            .inner
            .source
            .extract(&parts.headers, parts.uri.query())?
        else {
            return if optional {
                Ok(None)
            } else {
                Err(AuthRejection::MissingToken)
            };
        };
        let from_cookie = !matches!(self.inner.source, TokenSource::Bearer);
        if from_cookie
            && !self.inner.csrf.disabled
            && let Some(why) = self.cross_site_refusal(&parts.method, &parts.headers)
        {
            return Err(AuthRejection::CrossSite(why));
        }
        self.inner
            .client
            .validate_access_token(&token, requirements)
            .await
            .map(Some)
            .map_err(AuthRejection::from_error)
    }

    /// The user behind a validated token (Fief's `current_user`): from the
    /// cache unless `refresh`, else from the UserInfo endpoint, whose `sub`
    /// must be the token's (Core 5.3.2). If the issuer answers 401, the cached
    /// entry is dropped and the request is unauthorized (C-14).
    pub async fn current_user(
        &self,
        info: &AccessTokenInfo,
        refresh: bool,
    ) -> Result<UserInfo, AuthRejection> {
        let subject = info.subject();
        if !refresh && let Some(userinfo) = self.inner.cache.get(subject).await {
            return Ok(userinfo);
        }
        match self
            .inner
            .client
            .userinfo(&info.access_token, subject)
            .await
        {
            Ok(userinfo) => {
                self.inner.cache.set(subject, userinfo.clone()).await;
                Ok(userinfo)
            }
            Err(error) => {
                self.inner.cache.remove(subject).await;
                Err(AuthRejection::from_error(error))
            }
        }
    }

    /// Forgets a user's cached UserInfo.
    pub async fn forget_user(&self, subject: &str) {
        self.inner.cache.remove(subject).await;
    }

    /// Turns a rejection into the configured response.
    pub fn reject(&self, parts: &Parts, rejection: &AuthRejection) -> Response {
        let responses = &self.inner.responses;
        match rejection {
            AuthRejection::Forbidden(_) | AuthRejection::CrossSite(_) => {
                responses.forbidden(parts, rejection)
            }
            AuthRejection::Upstream(_) => responses.upstream_failure(parts, rejection),
            _ => responses.unauthorized(parts, rejection),
        }
    }

    async fn run(
        &self,
        parts: &mut Parts,
        requirements: &Requirements,
        optional: bool,
        load_user: bool,
        refresh_user: bool,
    ) -> Result<(), AuthRejection> {
        let info = self.authenticate(parts, requirements, optional).await?;
        match info {
            Some(info) => {
                if load_user {
                    let user = self.current_user(&info, refresh_user).await?;
                    parts.extensions.insert(user);
                }
                parts.extensions.insert(info);
            }
            None => {
                parts.extensions.insert(Anonymous);
            }
        }
        Ok(())
    }
}

/// Marks a request an optional layer let through without a token, so the
/// extractors do not look again.
#[derive(Debug, Clone, Copy)]
struct Anonymous;

/// The layer behind [`Auth::require`] and [`Auth::optional`].
#[derive(Clone)]
#[must_use]
pub struct RequireAuthLayer {
    auth: Auth,
    requirements: Arc<Requirements>,
    optional: bool,
    load_user: bool,
    refresh_user: bool,
}

impl fmt::Debug for RequireAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuthLayer")
            .field("requirements", &self.requirements)
            .field("optional", &self.optional)
            .field("load_user", &self.load_user)
            .finish_non_exhaustive()
    }
}

impl RequireAuthLayer {
    /// Also loads the user (Fief's `current_user()`), so [`CurrentUser`] is free.
    pub fn with_user(mut self) -> Self {
        self.load_user = true;
        self
    }

    /// Loads the user from the UserInfo endpoint even when cached (Fief's
    /// `current_user(refresh=True)`); implies [`Self::with_user`].
    pub fn refresh_user(mut self) -> Self {
        self.load_user = true;
        self.refresh_user = true;
        self
    }
}

impl<S> tower::Layer<S> for RequireAuthLayer {
    type Service = RequireAuth<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireAuth {
            layer: self.clone(),
            inner,
        }
    }
}

/// The service behind [`RequireAuthLayer`].
#[derive(Clone)]
pub struct RequireAuth<S> {
    layer: RequireAuthLayer,
    inner: S,
}

impl<S: fmt::Debug> fmt::Debug for RequireAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuth")
            .field("layer", &self.layer)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S> tower::Service<Request> for RequireAuth<S>
where
    S: tower::Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this call (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let outcome = layer
                .auth
                .run(
                    &mut parts,
                    &layer.requirements,
                    layer.optional,
                    layer.load_user,
                    layer.refresh_user,
                )
                .await;
            match outcome {
                Ok(()) => {
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.into_response())
                }
                Err(rejection) => Ok(layer.auth.reject(&parts, &rejection)),
            }
        })
    }
}

/// The validated access token (Fief's `access_token_info`).
///
/// Taken from the route's [`RequireAuthLayer`] when there is one; otherwise
/// validated here with no requirements, using the [`Auth`] in the state. As
/// `Option<AccessToken>`, a missing token is `None`, but a present invalid one
/// is still refused.
#[derive(Debug, Clone)]
pub struct AccessToken(pub AccessTokenInfo);

/// The current user's UserInfo (Fief's `current_user`), cached.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub UserInfo);

async fn token_from_parts(
    parts: &mut Parts,
    auth: &Auth,
    optional: bool,
) -> Result<Option<AccessTokenInfo>, AuthRejection> {
    if let Some(info) = parts.extensions.get::<AccessTokenInfo>() {
        return Ok(Some(info.clone()));
    }
    if parts.extensions.get::<Anonymous>().is_some() && optional {
        return Ok(None);
    }
    let info = auth
        .authenticate(parts, &Requirements::new(), optional)
        .await?;
    if let Some(info) = &info {
        parts.extensions.insert(info.clone());
    }
    Ok(info)
}

async fn user_from_parts(
    parts: &mut Parts,
    auth: &Auth,
    optional: bool,
) -> Result<Option<UserInfo>, AuthRejection> {
    if let Some(user) = parts.extensions.get::<UserInfo>() {
        return Ok(Some(user.clone()));
    }
    let Some(info) = token_from_parts(parts, auth, optional).await? else {
        return Ok(None);
    };
    let user = auth.current_user(&info, false).await?;
    parts.extensions.insert(user.clone());
    Ok(Some(user))
}

impl<S> FromRequestParts<S> for AccessToken
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_ref(state);
        match token_from_parts(parts, &auth, false).await {
            Ok(Some(info)) => Ok(AccessToken(info)),
            Ok(None) => Err(auth.reject(parts, &AuthRejection::MissingToken)),
            Err(rejection) => Err(auth.reject(parts, &rejection)),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for AccessToken
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let auth = Auth::from_ref(state);
        token_from_parts(parts, &auth, true)
            .await
            .map(|info| info.map(AccessToken))
            .map_err(|rejection| auth.reject(parts, &rejection))
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_ref(state);
        match user_from_parts(parts, &auth, false).await {
            Ok(Some(user)) => Ok(CurrentUser(user)),
            Ok(None) => Err(auth.reject(parts, &AuthRejection::MissingToken)),
            Err(rejection) => Err(auth.reject(parts, &rejection)),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let auth = Auth::from_ref(state);
        user_from_parts(parts, &auth, true)
            .await
            .map(|user| user.map(CurrentUser))
            .map_err(|rejection| auth.reject(parts, &rejection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn rejections_sort_into_unauthorized_or_not() {
        let token = || Error::AccessTokenInvalid(crate::error::TokenError::BadSignature);
        assert!(AuthRejection::MissingToken.is_unauthorized());
        assert!(AuthRejection::MalformedRequest("x".into()).is_unauthorized());
        assert!(AuthRejection::InvalidToken(token()).is_unauthorized());
        assert!(!AuthRejection::Forbidden(token()).is_unauthorized());
        assert!(!AuthRejection::Upstream(token()).is_unauthorized());
        assert!(!AuthRejection::CrossSite("x").is_unauthorized());
    }

    #[test]
    fn debug_output_names_the_parts_and_never_a_key() {
        let key = Key::generate();
        let source = TokenSource::EncryptedCookie {
            name: "session".into(),
            key: key.clone(),
        };
        assert_eq!(format!("{source:?}"), "EncryptedCookie(\"session\")");
        assert_eq!(
            format!("{:?}", TokenSource::Cookie("c".into())),
            "Cookie(\"c\")"
        );
        assert_eq!(format!("{:?}", TokenSource::Bearer), "Bearer");
        let client = Client::new("https://issuer.example", "app", None).unwrap();
        let auth = Auth::new(client, source);
        let shown = format!("{auth:?}");
        assert!(
            shown.starts_with("Auth {") && shown.contains("EncryptedCookie"),
            "{shown}"
        );
        let layer = auth.require(Requirements::new().scopes(["read"]));
        let shown = format!("{layer:?}");
        assert!(
            shown.starts_with("RequireAuthLayer") && shown.contains("read"),
            "{shown}"
        );
        let service = tower::Layer::layer(&layer, "inner");
        let shown = format!("{service:?}");
        assert!(
            shown.starts_with("RequireAuth {") && shown.contains("inner"),
            "{shown}"
        );
        for shown in [
            format!("{auth:?}"),
            format!("{layer:?}"),
            format!("{service:?}"),
        ] {
            assert!(!shown.contains(&format!("{:?}", key.master())), "{shown}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "Bearer  abc "] {
            assert_eq!(
                bearer_token(&headers(&[value]), None).unwrap().as_deref(),
                Some("abc")
            );
        }
    }

    #[test]
    fn other_schemes_and_absence_read_as_no_token() {
        assert_eq!(bearer_token(&headers(&[]), None).unwrap(), None);
        assert_eq!(bearer_token(&headers(&["Basic YTpi"]), None).unwrap(), None);
        assert_eq!(bearer_token(&headers(&["Bearerabc"]), None).unwrap(), None);
    }

    #[test]
    fn malformed_bearer_requests_are_invalid_requests() {
        for (h, q, expected) in [
            (vec!["Bearer"], None, "carries no token"),
            (vec!["Bearer   "], None, "carries no token"),
            (vec!["Bearer a", "Bearer b"], None, "more than one"),
            (vec![], Some("x=1&access_token=abc"), "RFC 6750 2.3"),
            (vec!["Bearer a"], Some("access_token=abc"), "RFC 6750 2.3"),
        ] {
            let rejection = bearer_token(&headers(&h), q).unwrap_err();
            assert!(matches!(rejection, AuthRejection::MalformedRequest(_)));
            assert!(rejection.to_string().contains(expected), "{rejection}");
        }
    }

    #[test]
    fn cookie_sources_read_plain_and_encrypted_cookies() {
        let mut plain = HeaderMap::new();
        plain.insert(header::COOKIE, HeaderValue::from_static("a=1; session=tok"));
        let source = TokenSource::Cookie("session".into());
        assert_eq!(
            source.extract(&plain, None).unwrap().as_deref(),
            Some("tok")
        );
        // A plain value in an encrypted cookie's place does not decrypt: absent.
        let encrypted = TokenSource::EncryptedCookie {
            name: "session".into(),
            key: Key::generate(),
        };
        assert_eq!(encrypted.extract(&plain, None).unwrap(), None);
    }
}
