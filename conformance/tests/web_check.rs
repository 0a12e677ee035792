//! `check --web` proved on apps whose behaviour is known (issue 15): the client's web example,
//! which must pass every row, and the harness's deliberately careless app, which must fail
//! exactly the rows of its four defects. Both are served in process next to an issuer on
//! 127.0.0.1 port 0, as `check` would find any app.

use std::sync::Arc;
use std::time::Duration;

use oidc_forge_client::Client;
use oidc_forge_client::clock::{Clock, FixedClock as AppClock};
use oidc_forge_conformance::env::{self, WebEnv};
use oidc_forge_conformance::run::{self, Record};
use oidc_forge_conformance::web_target::{WebSettings, WebTarget};

/// The `[web]` table a user would write for `app`.
fn settings(extra: &str) -> WebSettings {
    toml::from_str(&format!(
        "protected = \"/protected\"\nredirect_uri = \"/auth-callback\"\nlogin = \"/login\"\nreturn_to = \"return_to\"\nlogout = \"/logout\"\n{extra}"
    ))
    .expect("a [web] table")
}

/// The table, one line per row, for the failure message.
fn table(records: &[Record]) -> String {
    oidc_forge_conformance::check::table(records)
}

/// The client's web example, whose client gives up on the issuer after two seconds (the
/// timeout row waits that out), next to an issuer that registers it, as a target; `layer`
/// changes its answers.
async fn web_example(layer: impl FnOnce(axum::Router) -> axum::Router) -> Arc<WebTarget> {
    use oidc_forge_conformance::apps::web;
    let (listener, url, issuer) = WebEnv::prepare(|_| {}).await.expect("an issuer");
    let clock = Arc::new(AppClock::new(env::NOW));
    let client = Client::builder(issuer.iss(), env::WEB_CLIENT.0)
        .client_secret(env::WEB_CLIENT.1)
        .clock(clock as Arc<dyn Clock>)
        .timeout(Duration::from_secs(2))
        .build()
        .expect("a client");
    let settings = web::Settings {
        issuer: issuer.iss().to_owned(),
        client_id: env::WEB_CLIENT.0.into(),
        client_secret: Some(env::WEB_CLIENT.1.into()),
        app_url: url.clone(),
        secure_cookies: false,
        cookie_key: None,
    };
    let flow = web::flow(&settings, client).expect("the web flow");
    env::serve(listener, layer(web::app(flow)));
    let target = WebTarget::new(
        url,
        self::settings("logout_method = \"POST\"\ntimeout = 4"),
        Some(env::WEB_CLIENT.0),
        None,
        issuer.issuer.clone(),
    )
    .await
    .expect("a target");
    Arc::new(target)
}

/// The client's web example passes every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_web_example_passes_every_web_row() {
    let records = run::against_web(web_example(|app| app).await).await;
    println!("{}", table(&records));
    assert_eq!(
        records.len(),
        oidc_forge_conformance::runner::web_app::ROWS.len()
    );
    assert!(
        records.iter().all(|r| r.verdict.label() == "PASS"),
        "{}",
        table(&records)
    );
}

/// A refused callback answered by sending the browser back to log in (a 302 to the protected
/// page, which redirects to the issuer) is a refusal, not a login: the harness must not
/// follow it into the issuer's auto-login and take the fresh session for the hostile one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_callback_that_sends_the_browser_back_to_login_passes() {
    async fn back_to_login(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let callback = request.uri().path() == "/auth-callback";
        let response = next.run(request).await;
        if callback && response.status().is_client_error() {
            let mut bounced = axum::http::StatusCode::FOUND.into_response();
            bounced.headers_mut().insert(
                "location",
                axum::http::HeaderValue::from_static("/protected"),
            );
            return bounced;
        }
        response
    }
    let target = web_example(|app| app.layer(axum::middleware::from_fn(back_to_login))).await;
    let records = run::against_web(target).await;
    assert!(
        records.iter().all(|r| r.verdict.label() == "PASS"),
        "{}",
        table(&records)
    );
}

/// The harness's careless app is caught on exactly the rows of its four defects: a 500 on an
/// error callback (C-05), no nonce check (C-09) and an open `return_to` (C-18) fail; its
/// state, sent but never checked, is a warning (C-03), because the PKCE it sends still binds
/// the code to the browser (RFC 9700 4.7.1), so login CSRF (D-26) fails against it. Every
/// other row passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_careless_app_fails_exactly_the_rows_of_its_defects() {
    use oidc_forge_conformance::careless::{self, CarelessSettings};
    // The careless app reads the system clock: so does this issuer.
    let issuer = Arc::new(
        oidc_forge::MockIssuer::start(oidc_forge::Config::default())
            .await
            .expect("an issuer"),
    );
    let (listener, url) = env::bind().await.expect("a port");
    let app = careless::router(CarelessSettings::new(issuer.url(), url.clone()))
        .await
        .expect("the careless app");
    env::serve(listener, app);
    let target = WebTarget::new(
        url,
        // The app gives up on the issuer after 5 s: within the 8 s bound.
        settings("timeout = 8"),
        Some(env::WEB_CLIENT.0),
        None,
        issuer,
    )
    .await
    .expect("a target");
    let records = run::against_web(Arc::new(target)).await;
    println!("{}", table(&records));
    let failed: Vec<&str> = records
        .iter()
        .filter(|r| r.verdict.label() != "PASS")
        .map(|r| r.scenario.id)
        .collect();
    assert_eq!(
        failed,
        ["C-03", "C-05", "C-09", "C-18"],
        "{}",
        table(&records)
    );
    let grades: Vec<&str> = records
        .iter()
        .filter(|r| failed.contains(&r.scenario.id))
        .map(|r| r.verdict.label())
        .collect();
    assert_eq!(
        grades,
        ["WARN", "FAIL", "FAIL", "FAIL"],
        "{}",
        table(&records)
    );
}

/// Answers `/login` itself when `return_to` names evil.example, as `open` says; any other
/// request goes to the app.
async fn open_login(
    open: fn(&str) -> axum::response::Response,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let return_to = (request.uri().path() == "/login")
        .then(|| request.uri().query().unwrap_or_default())
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "return_to")
                .map(|(_, value)| value.into_owned())
        })
        .filter(|value| value.contains("evil.example"));
    match return_to {
        Some(value) => open(&value),
        None => next.run(request).await,
    }
}

/// C-18 catches what a browser follows that is not a 3xx: a `<meta http-equiv="refresh">`;
/// and an app origin used as a prefix (`http://APP@evil.example/`), which a `startswith`
/// check lets by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c18_catches_a_meta_refresh_and_a_lookalike_of_the_apps_origin() {
    use axum::response::{Html, IntoResponse as _, Redirect};
    use oidc_forge_conformance::runner::web_app;
    use oidc_forge_conformance::scenario::{Failure, graded};
    let meta = |value: &str| {
        Html(format!(
            "<meta http-equiv=\"refresh\" content=\"0;url={value}\">"
        ))
        .into_response()
    };
    let target = web_example(|app| {
        app.layer(axum::middleware::from_fn(move |r, n| {
            open_login(meta, r, n)
        }))
    })
    .await;
    match graded(web_app::c18_return_to(target)).await {
        Err(Failure::Mismatch(why)) => assert!(why.contains("refreshes the browser"), "{why}"),
        other => panic!("C-18 must fail, got {other:?}"),
    }
    // Only a value that starts with the app's own origin is let through.
    let lookalike = |value: &str| {
        if value.starts_with("http://127.0.0.1:") {
            Redirect::to(value).into_response()
        } else {
            axum::http::StatusCode::BAD_REQUEST.into_response()
        }
    };
    let target = web_example(|app| {
        app.layer(axum::middleware::from_fn(move |r, n| {
            open_login(lookalike, r, n)
        }))
    })
    .await;
    match graded(web_app::c18_return_to(target)).await {
        Err(Failure::Mismatch(why)) => {
            assert!(why.contains("@evil.example/: an open redirect"), "{why}")
        }
        other => panic!("C-18 must fail, got {other:?}"),
    }
}

/// C-01 fails a login redirect that carries the client secret in its URL (RFC 6749 2.3.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c01_fails_a_client_secret_in_the_authorization_url() {
    use oidc_forge_conformance::runner::web_app;
    use oidc_forge_conformance::scenario::{Failure, graded};
    async fn leak_secret(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        let mut response = next.run(request).await;
        let leaked = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .filter(|location| location.contains("/authorize?"))
            .map(|location| format!("{location}&client_secret={}", env::WEB_CLIENT.1));
        if let Some(value) = leaked.and_then(|v| axum::http::HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert("location", value);
        }
        response
    }
    let target = web_example(|app| app.layer(axum::middleware::from_fn(leak_secret))).await;
    match graded(web_app::c01_login_redirect(target)).await {
        Err(Failure::Mismatch(why)) => assert!(why.contains("client secret"), "{why}"),
        other => panic!("C-01 must fail, got {other:?}"),
    }
}

/// A logout form with a CSRF token, as Django, Rails and Spring render one: the protected
/// page's form carries a hidden field, and a logout without it is refused with 403.
async fn csrf_logout(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::body::{Body, to_bytes};
    use axum::response::IntoResponse as _;
    const FIELD: &str = "csrf_token=t0ken";
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, 1 << 16).await else {
        return axum::http::StatusCode::BAD_REQUEST.into_response();
    };
    let logout = parts.method == axum::http::Method::POST && parts.uri.path() == "/logout";
    if logout && !String::from_utf8_lossy(&bytes).contains(FIELD) {
        return axum::http::StatusCode::FORBIDDEN.into_response();
    }
    let response = next
        .run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 1 << 20).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = String::from_utf8_lossy(&bytes).replace(
        "action=\"/logout\">",
        "action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"t0ken\">",
    );
    let mut parts = parts;
    parts.headers.remove("content-length");
    axum::response::Response::from_parts(parts, Body::from(page))
}

/// C-22 sends a logout form's hidden fields as the app's own page has them: a logout that
/// needs its CSRF token is checked, not skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c22_sends_the_logout_forms_csrf_token() {
    use oidc_forge_conformance::runner::web_app;
    use oidc_forge_conformance::scenario::graded;
    let target = web_example(|app| app.layer(axum::middleware::from_fn(csrf_logout))).await;
    let outcome = graded(web_app::c22_logout(target)).await;
    assert!(
        outcome
            .as_ref()
            .is_ok_and(|pass| pass.observed.contains("signed out")),
        "{outcome:?}"
    );
}
