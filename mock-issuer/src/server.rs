//! The HTTP server: the router over the endpoints, and [`run`], which serves an already-bound
//! listener until told to stop (so tests bind port 0 and read the address first).
//!
//! Every limit is answered, never a crash or a hang: a header section over
//! [`MAX_HEADER_BYTES`] or with more than [`MAX_HEADERS`] fields gets hyper's 431; a request
//! target over [`MAX_URI_BYTES`] 414; a body over [`MAX_BODY_BYTES`] 413; headers not complete
//! within [`HEADER_READ_TIMEOUT`] close the connection; a body not complete within
//! [`BODY_READ_TIMEOUT`] gets 408. The 4xx answers of [`limits`] are RFC 6749 5.2 JSON errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::endpoints::{
    AUTHORIZATION_SERVER_METADATA, Endpoint, admin, authorize, discovery, introspect, jwks,
    login_decision, logout, revoke, token, userinfo,
};
use crate::error::{BearerError, limit_error};
use crate::forge;
use crate::state::AppState;

/// At the host's root: `GET` answers while the server runs (compose files, readiness probes).
pub const HEALTH_PATH: &str = "/healthz";

/// Largest request body accepted; token and form requests are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest request target (path and query). An authorization request is a few hundred bytes;
/// browsers and proxies commonly stop at 8 KiB, so a test issuer accepting more would hide a
/// bug. Between this and [`MAX_HEADER_BYTES`] the answer is 414; past it hyper's 431.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest request line plus header section (hyper's `max_header_size`; without it only the
/// read buffer, about 400 KiB, bounds it); past it hyper answers 431 and closes the connection.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Most header fields in one request (hyper's default is 100); past it, 431.
pub const MAX_HEADERS: usize = 64;

/// Longest bearer token accepted in an `Authorization` header (the client library's default
/// limit too): tokens this issuer signs are around a kilobyte.
pub const MAX_BEARER_TOKEN_BYTES: usize = 16 * 1024;

/// Longest wait for a request's header section (hyper's `header_read_timeout`, which does
/// nothing without a timer: axum's `serve` sets none). A client that stalls is disconnected.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for a request's body once its headers are in; then 408.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server waits for a slow client (10 s to read the header
/// section and 10 s for the body by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// For a request's header section; then the connection is closed.
    pub header_read: Duration,
    /// For a request's body once its headers are in; then 408.
    pub body_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            body_read: BODY_READ_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// Both timeouts at `timeout`: short ones make tests of slow clients fast.
    pub fn uniform(timeout: Duration) -> Self {
        Self {
            header_read: timeout,
            body_read: timeout,
        }
    }
}

/// Longest wait for in-flight requests at shutdown; a request still running after it (a
/// scripted fault delay of minutes, say) is cut, so a test run never hangs on shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The issuer's routes, mounted under the path of the issuer URL (e.g. a Fief tenant slug), and
/// the admin API beside them unless it is disabled. The forge layer (faults, request log) sits
/// in front of the endpoints only; the [`limits`] layer in front of everything; the CORS layer
/// in front of the endpoints an app's page calls (never the pages a person sees, or the admin
/// API), outside the forge layer so that a preflight never uses up a scripted fault.
#[cfg(any(test, feature = "internals"))]
pub fn router(state: AppState) -> Router {
    router_for(std::slice::from_ref(&state))
}

/// One server for several issuers (a configuration's tenants), each under its own path; the
/// first one's limits and timeouts apply to every request.
pub fn router_for(issuers: &[AppState]) -> Router {
    let Some(first) = issuers.first() else {
        return Router::new().route(HEALTH_PATH, get(health));
    };
    let mut routes = Router::new();
    for state in issuers {
        routes = routes.merge(issuer_routes(state));
    }
    routes
        // For readiness probes, at the host's root whatever the issuers' paths.
        .route(HEALTH_PATH, get(health))
        .layer(axum::middleware::from_fn_with_state(first.clone(), limits))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Log the method and path only: queries carry codes, states and sometimes tokens.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

/// One issuer's endpoints, pages and admin API under its path.
fn issuer_routes(state: &AppState) -> Router {
    let prefix = state.path_prefix.clone();
    let forge_layer = axum::middleware::from_fn_with_state(state.clone(), forge::middleware::layer);
    let cors = cors_layer(&state.config().cors);
    let with_cors = |routes: Router<AppState>| match &cors {
        Some(cors) => routes
            .layer(cors.clone())
            .layer(axum::middleware::from_fn(withhold_from_pages)),
        None => routes,
    };
    let (mut api, mut pages) = (Router::new(), Router::new());
    for endpoint in Endpoint::ALL {
        for path in endpoint.paths() {
            if endpoint.is_browser_facing() {
                pages = pages.route(path, handler(endpoint));
            } else {
                api = api.route(path, handler(endpoint));
            }
        }
    }
    let api = api.layer(forge_layer.clone());
    let pages = pages.layer(forge_layer.clone());
    let routes = with_cors(api).merge(pages);
    let routes = if state.forge.options.admin {
        admin::mount(routes, state)
    } else {
        routes
    };
    let routes = if prefix.is_empty() {
        routes
    } else {
        // RFC 8414 3.1: for an issuer with a path, the metadata is at the host's root with the
        // path inserted after the well-known name; the suffixed form stays served too (8414 5).
        with_cors(
            Router::new()
                .route(
                    &format!("{AUTHORIZATION_SERVER_METADATA}{prefix}"),
                    handler(Endpoint::Discovery),
                )
                .layer(forge_layer),
        )
        .nest(&prefix, routes)
    };
    routes.with_state(state.clone())
}

/// What answers at an endpoint's paths, by method.
fn handler(endpoint: Endpoint) -> MethodRouter<AppState> {
    match endpoint {
        Endpoint::Discovery => get(discovery::handle),
        Endpoint::Jwks => get(jwks::handle),
        Endpoint::Authorize => get(authorize::handle_get).post(authorize::handle_post),
        Endpoint::LoginDecision => post(login_decision::handle),
        Endpoint::Token => post(token::handle),
        Endpoint::Userinfo => get(userinfo::handle).post(userinfo::handle),
        Endpoint::Logout => get(logout::handle).post(logout::handle),
        Endpoint::Introspect => post(introspect::handle),
        Endpoint::Revoke => post(revoke::handle),
    }
}

/// Strips the CORS headers from a response marked [`token::NotForPages`], so that no page
/// reads it (outside the CORS layer, which adds them).
async fn withhold_from_pages(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.extensions().get::<token::NotForPages>().is_some() {
        let headers = response.headers_mut();
        let cors: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    response
}

/// `GET /healthz`: the server answers (compose files, readiness probes).
async fn health() -> Response {
    crate::error::no_store_json(r#"{"status":"ok"}"#)
}

/// The CORS policy of the endpoints apps call from their pages; `None` when no origin is
/// allowed. Requests carry no cookies (`Authorization` headers and forms only), so `*` needs no
/// credentials mode.
fn cors_layer(config: &crate::config::CorsConfig) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::HeaderName;
    use axum::http::{HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if config.allowed_origins.is_empty() {
        return None;
    }
    let origins = if config.allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .allowed_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            // Fief's `Authorization` and `X-Requested-With` (Swagger UI's token request sends
            // it), and `Content-Type` for JSON bodies.
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-requested-with"),
            ])
            // An app's page reads the RFC 6750 challenge of a refused token.
            .expose_headers([header::WWW_AUTHENTICATE])
            .max_age(Duration::from_secs(600)),
    )
}

/// The request-size and slow-client rules that hyper does not apply itself: the target length
/// (414), the body length (413, from `Content-Length` before reading when it is announced) and
/// the body's arrival time (408). The body is read here once, whole; the endpoints then take
/// the bytes without waiting. A request without a body costs two length checks.
pub async fn limits(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return limit_error(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request URI is {target} bytes, over the limit of {MAX_URI_BYTES}; send large parameters in a POST form body"
            ),
        );
    }
    if let Some(length) = oversized_bearer(request.headers()) {
        // RFC 6750 3.1: a malformed token is `invalid_token`, with the Bearer challenge.
        return BearerError::invalid_token(format!(
            "the bearer token is {length} bytes, over the limit of {MAX_BEARER_TOKEN_BYTES}; it cannot be a token of this issuer"
        ))
        .into_response();
    }
    if http_body::Body::is_end_stream(request.body()) {
        return next.run(request).await;
    }
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(length) = announced
        && length > MAX_BODY_BYTES as u64
    {
        return body_too_large(Some(length));
    }
    let (parts, body) = request.into_parts();
    let timeout = state.timeouts.body_read;
    match tokio::time::timeout(timeout, read_body(body, MAX_BODY_BYTES)).await {
        Err(_elapsed) => limit_error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} ms of the headers",
                timeout.as_millis()
            ),
        ),
        Ok(Err(BodyError::TooLarge)) => body_too_large(None),
        Ok(Err(BodyError::Unreadable(why))) => limit_error(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read: {why}"),
        ),
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

/// The length of a Bearer credential over [`MAX_BEARER_TOKEN_BYTES`], if there is one.
fn oversized_bearer(headers: &HeaderMap) -> Option<usize> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    if value.len() <= MAX_BEARER_TOKEN_BYTES {
        return None;
    }
    let scheme = value.split(|b| *b == b' ').next()?;
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| value.len() - scheme.len() - 1)
        .filter(|length| *length > MAX_BEARER_TOKEN_BYTES)
}

enum BodyError {
    TooLarge,
    Unreadable(String),
}

/// Reads data frames until the end or past `limit` bytes (trailers are ignored).
async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<u8> = Vec::new();
    loop {
        let frame =
            std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|error| BodyError::Unreadable(error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let so_far = first.as_ref().map_or(0, Bytes::len) + rest.len();
        if so_far + data.len() > limit {
            return Err(BodyError::TooLarge);
        }
        // Most bodies arrive in one frame: keep it without copying.
        match &first {
            None if rest.is_empty() => first = Some(data),
            _ => {
                if let Some(first) = first.take() {
                    rest.extend_from_slice(&first);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(rest)))
}

fn body_too_large(length: Option<u64>) -> Response {
    let length = length.map_or_else(|| "more than that".to_owned(), |l| format!("{l} bytes"));
    limit_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is limited to {MAX_BODY_BYTES} bytes; this one is {length}"),
    )
}

/// Serves `state` on `listener` until `shutdown` completes: [`serve`] without TLS or tenants.
#[cfg(any(test, feature = "internals"))]
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, vec![state], None, shutdown).await
}

/// Serves `issuers` ([`router_for`]) on `listener` until `shutdown` completes, then stops
/// accepting (new connections are refused once the listener is dropped), lets in-flight
/// requests finish for up to [`SHUTDOWN_GRACE`], and returns; the port is free again when it
/// does.
///
/// Connections are HTTP/1.1, served by hyper with the limits above: the header section's size,
/// field count and read timeout. With `tls`, each connection's handshake, bounded by the
/// header-read timeout, runs in the connection's own task, so a client that stalls in it holds
/// up no one else.
pub async fn serve(
    listener: TcpListener,
    issuers: Vec<AppState>,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read = issuers
        .first()
        .map_or(HEADER_READ_TIMEOUT, |state| state.timeouts.header_read);
    let tls = tls.map(TlsAcceptor::from);
    let app = router_for(&issuers);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Finished connections are reaped here, so the set holds only live ones.
        while connections.try_join_next().is_some() {}
        let (stream, _peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(app.clone());
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        connections.spawn(async move {
            let result = match tls {
                None => {
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(connection).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(header_read, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(error)) => {
                                tracing::debug!(%error, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!("TLS handshake timed out");
                                return;
                            }
                        };
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(connection).await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running {} s after shutdown were cut",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    connections.shutdown().await;
    Ok(())
}
