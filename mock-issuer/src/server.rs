//! The HTTP server: the router over the endpoints, and [`run`], which serves an already-bound
//! listener until told to stop (so tests bind port 0 and read the address first).

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::endpoints::{
    admin, authorize, discovery, introspect, jwks, login_decision, logout, revoke, token, userinfo,
};
use crate::forge;
use crate::state::{AppState, paths};

/// Largest request body accepted; token and form requests are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The issuer's routes, mounted under the path of the issuer URL (e.g. a Fief tenant slug), and
/// the admin API beside them unless it is disabled. The forge layer (faults, request log) sits
/// in front of the endpoints only.
pub fn router(state: AppState) -> Router {
    let prefix = url::Url::parse(&state.issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let routes = Router::new()
        .route(paths::DISCOVERY, get(discovery::handle))
        .route(paths::AUTHORIZATION_SERVER_METADATA, get(discovery::handle))
        .route(paths::JWKS, get(jwks::handle))
        .route(
            paths::AUTHORIZE,
            get(authorize::handle_get).post(authorize::handle_post),
        )
        .route(paths::LOGIN_DECISION, post(login_decision::handle))
        .route(paths::TOKEN, post(token::handle))
        .route(
            paths::USERINFO,
            get(userinfo::handle).post(userinfo::handle),
        )
        .route(paths::LOGOUT, get(logout::handle).post(logout::handle))
        .route(paths::INTROSPECT, post(introspect::handle))
        .route(paths::REVOKE, post(revoke::handle))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forge::middleware::layer,
        ));
    let routes = if state.forge.options.admin {
        // A nested `/` answers `/_forge` only; the index is reachable with the slash too.
        routes
            .nest(forge::ADMIN_PREFIX, admin::router())
            .route(&format!("{}/", forge::ADMIN_PREFIX), get(admin::index))
    } else {
        routes
    };
    let routes = routes
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Log the method and path only: queries carry codes, states and sometimes tokens.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state);
    if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(&prefix, routes)
    }
}

/// Serves `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
