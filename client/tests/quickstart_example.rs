//! The quickstart example (FusionAuth seed 004): discovery, PKCE, refresh and
//! logout, driven over HTTP against the in-process issuer.

mod support;

#[path = "../examples/quickstart.rs"]
mod quickstart_example;

use oidc_forge_client::clock::FixedClock;
use std::sync::Arc;
use support::*;

struct App {
    url: String,
    issuer: String,
    _issuer: oidc_forge::MockIssuer,
    issuer_clock: Arc<oidc_forge::FixedClock>,
    clock: Arc<FixedClock>,
}

async fn start_app() -> App {
    let (listener, url) = bind().await;
    let callback = format!("{url}/auth-callback");
    let home = format!("{url}/");
    let (issuer, issuer_clock) = start_issuer(|config| {
        config.clients[0].redirect_uris.push(callback);
        config.clients[0].post_logout_redirect_uris.push(home);
    })
    .await;
    let (client, clock) = client(issuer.url());
    let settings = quickstart_example::Settings {
        issuer: issuer.url().to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        app_url: url.clone(),
        secure_cookies: false,
        cookie_key: None,
    };
    let state = quickstart_example::QuickstartState::new(&settings, client).expect("state");
    assert_eq!(state.redirect_uri(), format!("{url}/auth-callback"));
    serve(listener, quickstart_example::app(state));
    App {
        url,
        issuer: issuer.url().to_owned(),
        _issuer: issuer,
        issuer_clock,
        clock,
    }
}

async fn log_in(app: &App, browser: &mut Browser) {
    let home = browser.get(&format!("{}/", app.url)).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Log in"));
    let login = browser.get(&format!("{}/login", app.url)).await;
    assert_eq!(login.status, 302);
    let query = query_of(login.location.as_deref().unwrap());
    assert_eq!(query["scope"], "openid email offline_access");
    assert_eq!(query["code_challenge_method"], "S256");
    let (account, visited) = browser.follow(login.location.as_deref().unwrap(), 4).await;
    assert_eq!(account.status, 200, "{visited:?}: {}", account.body);
    assert!(
        account.body.contains("Welcome alice@example.com"),
        "{}",
        account.body
    );
    assert!(browser.cookies.contains("cb_refresh_token"));
}

#[tokio::test]
async fn login_account_refresh_and_logout() {
    let app = start_app().await;
    let mut browser = Browser::new();
    log_in(&app, &mut browser).await;
    let first_access = browser.cookies["cb_access_token"].to_owned();

    // An explicit refresh replaces the tokens.
    let refreshed = browser
        .request(reqwest::Method::POST, &format!("{}/refresh", app.url), &[])
        .await;
    assert_eq!(refreshed.status, 303);
    assert_ne!(browser.cookies["cb_access_token"], first_access);

    // An expired access token is refreshed transparently by /account.
    let before = browser.cookies["cb_access_token"].to_owned();
    app.clock.advance(2 * 3600);
    app.issuer_clock.advance(2 * 3600);
    let account = browser.get(&format!("{}/account", app.url)).await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert_ne!(browser.cookies["cb_access_token"], before);

    let refused = browser
        .request(
            reqwest::Method::POST,
            &format!("{}/logout", app.url),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let logout = browser
        .request(reqwest::Method::POST, &format!("{}/logout", app.url), &[])
        .await;
    assert_eq!(logout.status, 303);
    let target = logout.location.clone().unwrap();
    let query = query_of(&target);
    assert!(query.contains_key("id_token_hint"));
    assert_eq!(query["post_logout_redirect_uri"], format!("{}/", app.url));
    assert!(!browser.cookies.contains("cb_access_token"));
    assert!(!browser.cookies.contains("cb_refresh_token"));
    let (home, visited) = browser.follow(&target, 3).await;
    assert_eq!(home.status, 200, "{visited:?}");
    assert!(home.body.contains("Log in"));
}

#[tokio::test]
async fn the_callback_checks_state_and_reports_errors_escaped() {
    let app = start_app().await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", app.url)).await;
    assert_eq!(login.status, 302);
    let state = query_of(login.location.as_deref().unwrap())["state"].clone();
    let iss = url::form_urlencoded::byte_serialize(app.issuer.as_bytes()).collect::<String>();
    // Responses that match no login here: a fixed answer, and the login in progress survives.
    for forged in [
        "code=x&state=wrong".to_owned(),
        "error=access_denied&error_description=%3Cb%3ECall+555-0100".to_owned(),
        format!("error=access_denied&error_description=Call+555-0100&state=foreign&iss={iss}"),
    ] {
        let page = browser
            .get(&format!("{}/auth-callback?{forged}", app.url))
            .await;
        assert_eq!(page.status, 400, "{forged}");
        assert!(
            page.body
                .contains("does not belong to a login started here")
        );
        assert!(!page.body.contains("555"), "{}", page.body);
        assert!(
            page.set_cookies.is_empty(),
            "{forged}: {:?}",
            page.set_cookies
        );
    }
    // RFC 9207: the matching state from another issuer is refused, and uses the login up.
    let page = browser
        .get(&format!(
            "{}/auth-callback?code=x&state={state}&iss=https%3A%2F%2Fevil.example",
            app.url
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("another issuer"), "{}", page.body);
    let page = browser
        .get(&format!(
            "{}/auth-callback?code=x&state={state}&iss={iss}",
            app.url
        ))
        .await;
    assert!(
        page.body
            .contains("does not belong to a login started here"),
        "single-use: {}",
        page.body
    );
    // The issuer's own error, with the state and iss: shown, escaped.
    let login = browser.get(&format!("{}/login", app.url)).await;
    let state = query_of(login.location.as_deref().unwrap())["state"].clone();
    let page = browser
        .get(&format!(
            "{}/auth-callback?error=access_denied&error_description=%3Cb%3Ex&state={state}&iss={iss}",
            app.url
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("&lt;b&gt;x"), "{}", page.body);
    assert!(!browser.cookies.contains("cb_access_token"));
    let page = browser.get(&format!("{}/account", app.url)).await;
    assert_eq!(page.status, 302, "no session: back home");
}

#[test]
fn settings_read_the_environment_with_issuer_defaults() {
    let settings = quickstart_example::Settings::from_env();
    if std::env::var("APP_URL").is_err() {
        assert_eq!(settings.app_url, "http://localhost:8000");
    }
    let client = quickstart_example::client(&settings).expect("client");
    assert!(quickstart_example::QuickstartState::new(&settings, client).is_ok());
}
