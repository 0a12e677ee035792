//! Shared set-up of the fuzz targets: one issuer state built without a socket, its router, and
//! a current-thread runtime to drive the router per input.

use std::sync::LazyLock;

use oidc_forge::internals::AppState;
use oidc_forge::{Config, MockIssuer};

/// The issuer identifier every target uses; seed tokens are minted with
/// `oidc-forge token --issuer-url https://issuer.example`.
pub const ISSUER: &str = "https://issuer.example";

/// The embedded default configuration (clients `forge-web` and `forge-spa`, auto-login as
/// alice), the embedded keys, no socket. The request log is on, as in a default `serve`, so the
/// forge middleware's form parsing is fuzzed too.
pub static STATE: LazyLock<AppState> = LazyLock::new(|| {
    MockIssuer::builder()
        .config(Config::default())
        .issuer_url(ISSUER)
        .build_state(ISSUER)
        .expect("the default configuration builds a state")
});

pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
});

pub static ROUTER: LazyLock<axum::Router> =
    LazyLock::new(|| oidc_forge::internals::router(STATE.clone()));

/// Sends `request` through the issuer's router and reads the whole response body, so that
/// response building (pages, JSON, redirects) is exercised as well.
pub fn send(request: axum::http::Request<axum::body::Body>) -> (u16, Vec<u8>) {
    use tower::ServiceExt as _;
    RUNTIME.block_on(async {
        let response = match ROUTER.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map(|bytes| bytes.to_vec())
            .unwrap_or_default();
        (status, body)
    })
}

/// Every status the issuer may answer a client's request with; anything else (a 500 from a
/// panic-catching layer, say) is a bug worth a crash.
pub fn assert_expected_status(status: u16) {
    assert!(
        matches!(
            status,
            200 | 302 | 303 | 400 | 401 | 403 | 404 | 405 | 413 | 414 | 415 | 431
        ),
        "unexpected status {status}"
    );
}
