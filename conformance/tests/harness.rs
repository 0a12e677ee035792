//! Regression tests of the harness itself: tiny stub applications, each answering one way,
//! against the scenarios that once graded them wrongly. A row must not pass an app that did
//! not give the documented answer.

use std::sync::Arc;

use axum::http::StatusCode;
use oidc_forge::MockIssuer;
use oidc_forge_conformance::env;
use oidc_forge_conformance::runner::api_flow;
use oidc_forge_conformance::scenario::Failure;
use oidc_forge_conformance::target::{ApiTarget, RoutesFile, TargetClock};

/// A stub app answering every request with `status`, as `check` sees an external app.
async fn stub(status: StatusCode) -> Arc<ApiTarget> {
    let (listener, url) = env::bind().await.unwrap();
    env::serve(
        listener,
        axum::Router::new().fallback(move || async move { status }),
    );
    let issuer = MockIssuer::start(oidc_forge::Config::default())
        .await
        .unwrap();
    Arc::new(
        ApiTarget::new(
            url,
            RoutesFile::api_example(),
            Arc::new(issuer),
            TargetClock::System,
        )
        .unwrap(),
    )
}

/// B-18 in `check` mode: the documented fail-closed answers are 5xx, or 401 for a kid the app
/// cannot fetch. A 404 (a wrong route) or a 400 is not failing closed; it once passed.
#[tokio::test]
async fn b18_accepts_only_the_documented_fail_closed_answers() {
    for status in [
        StatusCode::NOT_FOUND,
        StatusCode::BAD_REQUEST,
        StatusCode::OK,
        StatusCode::FORBIDDEN,
    ] {
        match api_flow::b18_jwks_unreachable(stub(status).await).await {
            Err(Failure::Mismatch(why)) => assert!(why.contains("expected 5xx"), "{why}"),
            other => panic!("{status}: B-18 must fail, got {other:?}"),
        }
    }
    for status in [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::BAD_GATEWAY,
        StatusCode::UNAUTHORIZED,
    ] {
        let outcome = api_flow::b18_jwks_unreachable(stub(status).await).await;
        assert!(outcome.is_ok(), "{status}: {outcome:?}");
    }
}

/// B-07 at leeway 0 (issue 15): RFC 7519 4.1.4 refuses a token "on or after" `exp`, so a
/// strictly correct app with no leeway refuses `exp = now`; the row once demanded it be
/// accepted, and its message underflowed computing `leeway - 1 - margin`.
#[tokio::test]
async fn b07_passes_a_strict_app_with_no_leeway() {
    use oidc_forge_client::clock::Clock;

    let issuer = env::IssuerEnv::start(|_| {}).await.unwrap();
    let clock = Arc::new(oidc_forge_client::clock::FixedClock::new(env::NOW));
    let client = oidc_forge_client::Client::builder(issuer.iss(), env::WEB_CLIENT.0)
        .client_secret(env::WEB_CLIENT.1)
        .clock(clock.clone() as Arc<dyn Clock>)
        .http_client(oidc_forge_testkit::http_client())
        .leeway(0)
        .build()
        .unwrap();
    let (listener, url) = env::bind().await.unwrap();
    env::serve(
        listener,
        oidc_forge_conformance::apps::api::app(oidc_forge_conformance::apps::api::auth(client)),
    );
    let mut routes = RoutesFile::api_example();
    routes.leeway = 0;
    let target = ApiTarget::new(
        url,
        routes,
        Arc::new(issuer.issuer),
        TargetClock::Fixed(clock),
    )
    .unwrap();
    let pass = api_flow::b07_leeway_boundary(Arc::new(target))
        .await
        .expect("a strict app passes");
    assert!(
        pass.observed
            .contains("leeway 0 s (margin 0 s): exp now+1 accepted; exp now+0 and now-600 refused"),
        "{}",
        pass.observed
    );
}
