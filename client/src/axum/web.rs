//! The browser flow: login, callback and logout routes with encrypted cookies.
//!
//! What the Fief web examples write by hand (redirect to login, `/auth-callback`
//! exchanging the code, a session cookie, cached userinfo, logout) is one
//! [`WebFlow`], done more safely:
//! - `state`, `nonce` and the PKCE verifier live in an encrypted transaction
//!   cookie (HttpOnly, SameSite=Lax, Secure configurable, 10 minutes, removed
//!   by the callback whatever happens: single-use; RFC 9700 2.1, 4.2.4);
//! - the callback first matches the response to this browser's transaction
//!   (the state, in constant time) and to the issuer (RFC 9207 `iss`); a
//!   response that matches no login gets a fixed message and touches no
//!   cookie, so a forged callback can neither show its text on the app's
//!   origin nor cancel a login in progress. Only then are an `error`
//!   shown (escaped) or the code redeemed with the verifier, the ID token's
//!   nonce checked, and `auth_time` when `max_age` is set; any failure
//!   renders an escaped error page and sets no session (C-03..C-09);
//! - session cookies are encrypted, HttpOnly, SameSite=Lax, `Path=/`, with the
//!   `__Host-` prefix when Secure (C-15);
//! - unauthenticated GETs go to login and come back to the page asked for,
//!   same-origin paths only, judged after dot segments are resolved
//!   (RFC 9700 4.11.1);
//! - every state-changing request authenticated by the session cookie, logout
//!   included, must come from the app's own origin (C-16, C-23);
//! - logout is a POST, clears the cookies and the cached user, and goes
//!   through the issuer's `end_session_endpoint` with `id_token_hint` (C-22);
//! - a session refresh passes the session's subject, which the refreshed ID
//!   token must keep (Core 12.2, C-20).

use axum::Router;
use axum::extract::{OriginalUri, RawQuery};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use url::Url;

use super::api::{Auth, AuthRejection, TokenSource};
use super::response::{AuthResponses, bearer_response};
use super::rules::{CallbackParams, unverified_subject};
pub use super::rules::{check_response_issuer, safe_return_to};
use crate::cache::UserInfoCache;
use crate::client::{
    AuthorizationRequest, Client, CodeExchange, LogoutRequest, RefreshRequest, Requirements,
};
use crate::error::Error;
use crate::pkce::{PkceVerifier, generate_nonce, generate_state};
use crate::tokens::TokenResponse;

mod builder;
pub use builder::WebFlowBuilder;

struct WebInner {
    client: Client,
    key: Key,
    redirect_uri: String,
    post_logout_redirect_uri: String,
    login_path: String,
    callback_path: String,
    logout_path: String,
    scopes: Vec<String>,
    session_cookie: String,
    id_cookie: String,
    refresh_cookie: String,
    transaction_cookie: String,
    secure: bool,
    transaction_ttl: u64,
    default_return_to: String,
    logout_via_get: bool,
    extra_params: Vec<(String, String)>,
    max_age: Option<u64>,
    auth: Auth,
}

/// The login/callback/logout routes and the [`Auth`] that reads their session.
#[derive(Clone)]
pub struct WebFlow {
    inner: Arc<WebInner>,
}

impl fmt::Debug for WebFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebFlow")
            .field("redirect_uri", &self.inner.redirect_uri)
            .field("session_cookie", &self.inner.session_cookie)
            .field("secure", &self.inner.secure)
            .finish_non_exhaustive()
    }
}

/// The login transaction kept in the encrypted cookie between login and callback.
#[derive(Serialize, Deserialize)]
struct Transaction {
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
    created_at: u64,
}

/// A failed callback, rendered as an error page.
struct CallbackFailure {
    status: StatusCode,
    title: &'static str,
    detail: String,
    /// Whether the response matched this browser's transaction, which is then
    /// used up; an unmatched response leaves every cookie alone.
    matched: bool,
}

impl CallbackFailure {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title,
            detail: detail.into(),
            matched: true,
        }
    }

    /// A response that belongs to no login of this browser: forged, replayed,
    /// or from another tab. The message is fixed, whatever the response said
    /// (nothing of an attacker's URL reaches the page).
    fn unmatched() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "Login failed",
            detail: UNMATCHED_CALLBACK.to_owned(),
            matched: false,
        }
    }
}

/// What an unmatched callback shows.
const UNMATCHED_CALLBACK: &str = "This sign-in response does not belong to a login started in this browser. Please sign in again.";

impl WebFlow {
    /// Starts configuring the flow for the app served at `base_url` (its
    /// external origin, e.g. `http://localhost:8000`). `key` encrypts the
    /// cookies: at least 64 bytes, e.g. `Key::generate()` or `Key::try_from(bytes)`.
    pub fn builder(client: Client, key: Key, base_url: impl Into<String>) -> WebFlowBuilder {
        WebFlowBuilder::new(client, key, base_url.into())
    }

    /// The [`Auth`] for protected pages: reads the session cookie, redirects
    /// unauthenticated GETs to login, shares the flow's UserInfo cache.
    pub fn auth(&self) -> Auth {
        self.inner.auth.clone()
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The callback URL to register with the issuer.
    pub fn redirect_uri(&self) -> &str {
        &self.inner.redirect_uri
    }

    /// The post-logout URL to register with the issuer.
    pub fn post_logout_redirect_uri(&self) -> &str {
        &self.inner.post_logout_redirect_uri
    }

    /// The session cookie's full name (with `__Host-` when Secure).
    pub fn session_cookie_name(&self) -> &str {
        &self.inner.session_cookie
    }

    /// The login, callback and logout routes, to merge into the app.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let login = self.clone();
        let callback = self.clone();
        let logout = self.clone();
        let logout_get = self.clone();
        let mut router = Router::new()
            .route(
                &self.inner.login_path,
                get(move |query: RawQuery| async move { login.login(query.0.as_deref()).await }),
            )
            .route(
                &self.inner.callback_path,
                get(move |headers: HeaderMap, query: RawQuery| async move {
                    callback.callback(&headers, query.0.as_deref()).await
                }),
            );
        let logout_route = post(move |headers: HeaderMap| async move {
            logout.logout(&Method::POST, &headers).await
        });
        router = if self.inner.logout_via_get {
            router.route(
                &self.inner.logout_path,
                logout_route.get(move |headers: HeaderMap| async move {
                    logout_get.logout(&Method::GET, &headers).await
                }),
            )
        } else {
            router.route(&self.inner.logout_path, logout_route)
        };
        router
    }

    fn cookie(&self, name: &str, value: String, max_age: Option<u64>) -> Cookie<'static> {
        let mut builder = Cookie::build((name.to_owned(), value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.inner.secure)
            .path("/");
        if let Some(seconds) = max_age {
            let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
            builder = builder.max_age(cookie::time::Duration::seconds(seconds));
        }
        builder.build()
    }

    /// A `Set-Cookie` value deleting `name` (same name, path and attributes).
    fn removal(&self, name: &str) -> HeaderValue {
        let cookie = Cookie::build((name.to_owned(), ""))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.inner.secure)
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
            .build();
        HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
    }

    async fn login(&self, query: Option<&str>) -> Response {
        let requested = query.and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "return_to")
                .map(|(_, value)| value.into_owned())
        });
        let return_to = requested
            .as_deref()
            .and_then(safe_return_to)
            .unwrap_or_else(|| self.inner.default_return_to.clone());
        let verifier = PkceVerifier::generate();
        let transaction = Transaction {
            state: generate_state(),
            nonce: generate_nonce(),
            verifier: verifier.as_str().to_owned(),
            return_to,
            created_at: self.inner.client.clock().now(),
        };
        let mut request = AuthorizationRequest::new(&self.inner.redirect_uri)
            .scope(self.inner.scopes.iter().cloned())
            .state(&transaction.state)
            .nonce(&transaction.nonce)
            .pkce(&verifier);
        if let Some(max_age) = self.inner.max_age {
            request = request.max_age(max_age);
        }
        for (name, value) in &self.inner.extra_params {
            request = request.extra(name, value);
        }
        let url = match self.inner.client.auth_url(&request).await {
            Ok(url) => url,
            Err(error) => {
                tracing::error!(%error, "cannot build the authorization URL");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Login is unavailable",
                    "The identity provider could not be reached.",
                );
            }
        };
        let Ok(serialized) = serde_json::to_string(&transaction) else {
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Login failed", "");
        };
        let jar = PrivateCookieJar::new(self.inner.key.clone()).add(self.cookie(
            &self.inner.transaction_cookie,
            serialized,
            Some(self.inner.transaction_ttl),
        ));
        (jar, found(url.as_str())).into_response()
    }

    async fn callback(&self, headers: &HeaderMap, query: Option<&str>) -> Response {
        match self.complete_login(headers, query.unwrap_or("")).await {
            Ok((jar, return_to, refreshable)) => {
                let mut response = (jar, found(&return_to)).into_response();
                // A login without a refresh token must not leave the previous session's in
                // place: it would refresh someone else's grant (RFC 9700 4.14).
                if !refreshable {
                    response
                        .headers_mut()
                        .append(header::SET_COOKIE, self.removal(&self.inner.refresh_cookie));
                }
                // RFC 9700 4.2.4: the code must not leak through Referer.
                response.headers_mut().insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                );
                // The transaction is used up (single-use, C-04).
                response.headers_mut().append(
                    header::SET_COOKIE,
                    self.removal(&self.inner.transaction_cookie),
                );
                response
            }
            Err(failure) => {
                let mut response = error_page(failure.status, failure.title, &failure.detail);
                if failure.matched {
                    response.headers_mut().append(
                        header::SET_COOKIE,
                        self.removal(&self.inner.transaction_cookie),
                    );
                }
                response
            }
        }
    }

    /// The callback, in the order that keeps a forged response harmless:
    /// match the browser's transaction and the issuer first, then act on
    /// what the response says.
    async fn complete_login(
        &self,
        headers: &HeaderMap,
        query: &str,
    ) -> Result<(PrivateCookieJar, String, bool), CallbackFailure> {
        let params = CallbackParams::parse(query).ok_or_else(CallbackFailure::unmatched)?;
        let jar = PrivateCookieJar::from_headers(headers, self.inner.key.clone());
        let transaction: Transaction = jar
            .get(&self.inner.transaction_cookie)
            .and_then(|cookie| serde_json::from_str(cookie.value()).ok())
            .ok_or_else(CallbackFailure::unmatched)?;
        // RFC 6749 10.12; RFC 9700 4.7: the state binds the response to this browser.
        let state_ok = params
            .state
            .as_deref()
            .is_some_and(|state| bool::from(state.as_bytes().ct_eq(transaction.state.as_bytes())));
        if !state_ok {
            return Err(CallbackFailure::unmatched());
        }
        // RFC 9207 2.4: iss must be the issuer; when the issuer advertises the
        // parameter, its absence is a mix-up signal too (C-07).
        let metadata = self.inner.client.metadata().await.map_err(|error| {
            tracing::error!(%error, "discovery failed during the callback");
            CallbackFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Login failed",
                "The identity provider could not be reached.",
            )
        })?;
        check_response_issuer(
            params.iss.as_deref(),
            self.inner.client.issuer(),
            metadata.authorization_response_iss_parameter_supported,
        )
        .map_err(|why| CallbackFailure::new(StatusCode::BAD_REQUEST, "Login failed", why))?;
        // RFC 6749 4.1.2.1: the issuer reports an error; show it, escaped, and stop.
        if let Some(error) = &params.error {
            let description = params.error_description.as_deref().unwrap_or("");
            tracing::info!(error = %error, "the issuer refused the login");
            return Err(CallbackFailure::new(
                StatusCode::BAD_REQUEST,
                "Login was not completed",
                format!("The identity provider answered {error}: {description}"),
            ));
        }
        let now = self.inner.client.clock().now();
        if now
            >= transaction
                .created_at
                .saturating_add(self.inner.transaction_ttl)
        {
            return Err(CallbackFailure::new(
                StatusCode::BAD_REQUEST,
                "Login failed",
                "The login took too long; please try again.",
            ));
        }
        let code = params.code.ok_or_else(|| {
            CallbackFailure::new(
                StatusCode::BAD_REQUEST,
                "Login failed",
                "The response carries neither a code nor an error.",
            )
        })?;
        let verifier = PkceVerifier::new(transaction.verifier.clone()).map_err(|_| {
            CallbackFailure::new(
                StatusCode::BAD_REQUEST,
                "Login failed",
                "Corrupt login state.",
            )
        })?;
        let mut exchange = CodeExchange::new(code, &self.inner.redirect_uri)
            .code_verifier(&verifier)
            .nonce(&transaction.nonce);
        if let Some(max_age) = self.inner.max_age {
            exchange = exchange.max_age(max_age);
        }
        let (tokens, id_claims) = self
            .inner
            .client
            .auth_callback(exchange)
            .await
            .map_err(|error| exchange_failure(&error))?;
        let session = self.session_jar(&tokens, &id_claims.sub).await?;
        Ok((
            session,
            transaction.return_to,
            tokens.refresh_token.is_some(),
        ))
    }

    /// Checks a fresh token set and builds the session cookies, caching the user.
    async fn session_jar(
        &self,
        tokens: &TokenResponse,
        id_subject: &str,
    ) -> Result<PrivateCookieJar, CallbackFailure> {
        // The access token must be one this app accepts, or every page would
        // bounce back to login.
        let info = self
            .inner
            .client
            .validate_access_token(&tokens.access_token, &Requirements::new())
            .await
            .map_err(|error| exchange_failure(&error))?;
        if info.subject() != id_subject {
            return Err(CallbackFailure::new(
                StatusCode::BAD_GATEWAY,
                "Login failed",
                "The access token and the ID token name different users.",
            ));
        }
        // Core 5.3.2 / C-12: the UserInfo sub must be the ID token's.
        let userinfo = self
            .inner
            .client
            .userinfo(&tokens.access_token, id_subject)
            .await
            .map_err(|error| exchange_failure(&error))?;
        self.inner.auth.cache().set(id_subject, userinfo).await;

        let now = self.inner.client.clock().now();
        let lifetime = info.expires_at.saturating_sub(now).max(1);
        let mut jar = PrivateCookieJar::new(self.inner.key.clone()).add(self.cookie(
            &self.inner.session_cookie,
            tokens.access_token.clone(),
            Some(lifetime),
        ));
        if let Some(id_token) = &tokens.id_token {
            jar = jar.add(self.cookie(&self.inner.id_cookie, id_token.clone(), None));
        }
        if let Some(refresh_token) = &tokens.refresh_token {
            jar = jar.add(self.cookie(&self.inner.refresh_cookie, refresh_token.clone(), None));
        }
        Ok(jar)
    }

    /// Refreshes the session with its refresh token (when `offline_access`
    /// was granted): returns the cookies to send back. The refreshed ID token
    /// must keep the session's subject (Core 12.2), and so must the access
    /// token and UserInfo.
    pub async fn refresh_session(&self, headers: &HeaderMap) -> Result<PrivateCookieJar, Error> {
        let jar = PrivateCookieJar::from_headers(headers, self.inner.key.clone());
        let refresh_token = jar
            .get(&self.inner.refresh_cookie)
            .map(|cookie| cookie.value().to_owned())
            .ok_or_else(|| Error::Configuration("this session has no refresh token".into()))?;
        // Every session this flow makes has its ID token; without it there is
        // no subject to hold the refresh to, so there is no refresh.
        let subject = jar
            .get(&self.inner.id_cookie)
            .and_then(|cookie| unverified_subject(cookie.value()))
            .ok_or_else(|| {
                Error::Configuration(
                    "this session has no ID token, so a refresh could not be held to its user (Core 12.2)"
                        .into(),
                )
            })?;
        let (tokens, _claims) = self
            .inner
            .client
            .refresh(RefreshRequest::new(refresh_token, &subject))
            .await?;
        self.session_jar(&tokens, &subject)
            .await
            .map_err(|failure| Error::Configuration(failure.detail))
    }

    async fn logout(&self, method: &Method, headers: &HeaderMap) -> Response {
        // C-23: refuse cross-site logout requests. Logout changes state whatever its method,
        // so a GET (`logout_via_get`) is judged as an unsafe request too (RFC 9700 4.7).
        if self
            .inner
            .auth
            .cross_site_refusal(&Method::POST, headers)
            .is_some()
        {
            return error_page(
                StatusCode::FORBIDDEN,
                "Logout refused",
                "The logout request did not come from this site.",
            );
        }
        let jar = PrivateCookieJar::from_headers(headers, self.inner.key.clone());
        let id_token = jar
            .get(&self.inner.id_cookie)
            .map(|cookie| cookie.value().to_owned());
        if let Some(subject) = id_token.as_deref().and_then(unverified_subject) {
            self.inner.auth.forget_user(&subject).await;
        }
        let mut request = LogoutRequest::new()
            .post_logout_redirect_uri(&self.inner.post_logout_redirect_uri)
            .state(generate_state());
        if let Some(id_token) = &id_token {
            request = request.id_token_hint(id_token);
        }
        let target = match self.inner.client.logout_url(&request).await {
            Ok(url) => url.to_string(),
            Err(error) => {
                tracing::warn!(%error, "no issuer logout; clearing the local session only");
                self.inner.post_logout_redirect_uri.clone()
            }
        };
        let status = if *method == Method::POST {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::FOUND
        };
        let mut response = redirect(status, &target);
        for name in [
            &self.inner.session_cookie,
            &self.inner.id_cookie,
            &self.inner.refresh_cookie,
            &self.inner.transaction_cookie,
        ] {
            response
                .headers_mut()
                .append(header::SET_COOKIE, self.removal(name));
        }
        response
    }
}

fn exchange_failure(error: &Error) -> CallbackFailure {
    tracing::warn!(%error, "login callback failed");
    let status = match error {
        Error::Transport { .. } | Error::Discovery(_) | Error::KeysUnavailable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    CallbackFailure::new(status, "Login failed", error.to_string())
}

/// 302 Found to `location` (Fief and the seeds use 302; axum's `Redirect::to` is 303).
fn found(location: &str) -> Response {
    redirect(StatusCode::FOUND, location)
}

fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            status,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => error_page(StatusCode::INTERNAL_SERVER_ERROR, "Bad redirect", ""),
    }
}

/// Forbids other pages to frame a response (`X-Frame-Options: DENY`, and
/// `frame-ancestors 'none'` when the response has no Content-Security-Policy
/// of its own): a page whose buttons act (logout, a form that changes
/// something) must not be framed invisibly under another page, not even one
/// of the same site on another port, whose requests count as same-site for
/// cookies (clickjacking, RFC 9700 4.16). For the app's router:
/// `.layer(axum::middleware::map_response(deny_framing))`.
pub async fn deny_framing(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    response
}

/// An HTML error page; `title` and `detail` are escaped (C-05: what the
/// issuer sent is shown as text, never as markup).
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n<p>{detail}</p>\n<p><a href=\"/\">Home</a></p></body></html>\n",
        title = html_escape::encode_text(title),
        detail = html_escape::encode_text(detail),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}

/// Web responses: unauthenticated GET/HEAD requests are sent to the login
/// route with `return_to` set to the page asked for (the FastAPI seed's
/// `get_unauthorized_response`); other methods get the RFC 6750 401;
/// forbidden and upstream failures render HTML pages.
#[derive(Debug, Clone)]
pub struct LoginRedirectResponses {
    login_path: String,
}

impl LoginRedirectResponses {
    /// Redirects to `login_path` (e.g. `/login`).
    pub fn new(login_path: impl Into<String>) -> Self {
        Self {
            login_path: login_path.into(),
        }
    }
}

impl AuthResponses for LoginRedirectResponses {
    fn unauthorized(&self, parts: &Parts, rejection: &AuthRejection) -> Response {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return bearer_response(rejection);
        }
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let asked = uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        let mut location = format!("{}?return_to=", self.login_path);
        location.extend(url::form_urlencoded::byte_serialize(asked.as_bytes()));
        found(&location)
    }

    fn forbidden(&self, _parts: &Parts, rejection: &AuthRejection) -> Response {
        error_page(
            StatusCode::FORBIDDEN,
            "Access denied",
            &rejection.to_string(),
        )
    }

    fn upstream_failure(&self, _parts: &Parts, rejection: &AuthRejection) -> Response {
        tracing::error!(%rejection, "authentication failed closed");
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The identity provider could not be reached.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_page_escapes_markup() {
        let response = error_page(StatusCode::BAD_REQUEST, "t", "<script>alert(1)</script>");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!body.contains("<script>"));
    }

    /// A logout by GET, when allowed, is refused from another site as a POST is.
    #[tokio::test]
    async fn a_cross_site_get_logout_is_refused() {
        use tower::ServiceExt as _;
        let client = Client::builder("http://127.0.0.1:9", "forge-web")
            .build()
            .unwrap();
        let flow = WebFlow::builder(client, Key::generate(), "http://localhost:8000")
            .logout_via_get(true)
            .build()
            .unwrap();
        let router: Router = flow.router();
        for (method, site) in [
            ("GET", "cross-site"),
            ("GET", "same-site"),
            ("POST", "cross-site"),
        ] {
            let request = axum::http::Request::builder()
                .method(method)
                .uri("/logout")
                .header("host", "localhost:8000")
                .header("sec-fetch-site", site)
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {site}");
            assert!(
                response.headers().get(header::SET_COOKIE).is_none(),
                "{method} {site}"
            );
        }
        // From the app's own page, the GET logs out: cookies cleared, on to the home page.
        let request = axum::http::Request::builder()
            .uri("/logout")
            .header("host", "localhost:8000")
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        assert!(response.headers().contains_key(header::LOCATION));
        let cleared: Vec<&str> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        assert!(
            !cleared.is_empty() && cleared.iter().all(|line| line.contains("Max-Age=0")),
            "every session cookie cleared: {cleared:?}"
        );
    }

    /// The flow's paths are redirect targets: each must stay on the app's site.
    #[test]
    fn the_flows_paths_must_stay_on_the_site() {
        let builder = || {
            let client = Client::builder("http://issuer.test", "forge-web")
                .build()
                .unwrap();
            WebFlow::builder(client, Key::generate(), "http://localhost:8000")
        };
        assert!(builder().build().is_ok());
        for path in [
            "//evil.example",
            "/\\evil.example",
            "/%2e//evil.example",
            "relative",
        ] {
            let error = builder().default_return_to(path).build().unwrap_err();
            assert!(
                error.to_string().contains("absolute path on this site"),
                "{path}: {error}"
            );
            for refused in [
                builder().login_path(path).build(),
                builder().callback_path(path).build(),
                builder().logout_path(path).build(),
            ] {
                let error = refused.unwrap_err();
                assert!(
                    error.to_string().contains("absolute path on this site"),
                    "{path}: {error}"
                );
            }
        }
    }
}
