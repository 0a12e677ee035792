//! A real browser through the web flow: headless Chromium, driven over WebDriver by
//! fantoccini, signs in to the client's web example (`client/examples/web.rs`) at an issuer
//! whose login page is interactive, signs out, and denies a login.
//!
//! A browser enforces what a hand-rolled cookie jar does not: `SameSite`, cookie paths and
//! prefixes, redirects after a form POST, `Origin` and `Sec-Fetch-Site` on POSTs, and the login
//! page's Content-Security-Policy against its own form. The app is served on
//! `http://localhost:PORT` and the issuer on `http://127.0.0.1:PORT`: two sites, as an app and
//! its identity provider are in production, so the callback after the login form is a
//! cross-site navigation and the app's `SameSite=Lax` cookies are put to the test.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/install-chromium`). Without them the
//! test is reported as ignored, unless `CI` is set, where it fails. Screenshots of the login page and
//! the signed-in page are written to `target/tmp/browser/`.

#[path = "browser/chromedriver.rs"]
mod chromedriver;
#[path = "browser/spa.rs"]
mod spa;
#[path = "browser/swagger.rs"]
mod swagger;
#[path = "toolchain/mod.rs"]
mod toolchain;
#[path = "browser/wait.rs"]
mod wait;

use std::path::Path;

use fantoccini::{Client, Locator};
use oidc_forge::config::LoginMode;
use oidc_forge::{Config, MockIssuer};
use oidc_forge_conformance::apps::web;
use oidc_forge_conformance::env::{BOB, WEB_CLIENT};
use url::Url;

use crate::chromedriver::{CHROMEDRIVER, CHROMIUM, ChromeDriver};
use crate::wait::{TestResult, element_at, screenshot, text_at};

/// The journeys as named trials, ignored without Chromium and chromedriver.
fn main() {
    let arguments = libtest_mimic::Arguments::from_args();
    let missing = (!(Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()))
        .then(|| format!("{CHROMIUM} or {CHROMEDRIVER} is not installed"));
    let trial = |name: &str, journey: fn() -> wait::Journey| {
        toolchain::trial(
            name,
            missing.clone(),
            "run .ci/install-chromium",
            move || async move { journey().await.map_err(|e| e.to_string()) },
        )
    };
    let trials = vec![
        trial("chromium_signs_in_as_bob_signs_out_and_denies", || {
            Box::pin(chromium_signs_in_as_bob_signs_out_and_denies())
        }),
        trial("chromium_runs_a_single_page_app_through_cors", || {
            Box::pin(spa::chromium_runs_a_single_page_app_through_cors())
        }),
        trial("chromium_authorizes_swagger_ui_and_calls_the_api", || {
            Box::pin(swagger::chromium_authorizes_swagger_ui_and_calls_the_api())
        }),
    ];
    libtest_mimic::run(&arguments, trials).exit();
}

async fn chromium_signs_in_as_bob_signs_out_and_denies() -> TestResult {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&out)?;

    let site = Site::start(LoginMode::Interactive).await?;
    let auto = Site::start(LoginMode::Auto).await?;
    let driver = ChromeDriver::start(&out)?;
    let browser = driver.session().await?;
    // Whatever the scenario returns, the session is closed before chromedriver is stopped; on
    // a panic, dropping the driver ends the browser's whole process group instead.
    let mut outcome = scenario(&browser, &site, &out).await;
    if outcome.is_ok() {
        outcome = logout_without_a_hint(&browser, &site, &auto, &out).await;
    }
    let closed = browser.close().await;
    drop(driver);
    site.issuer.shutdown().await;
    auto.issuer.shutdown().await;
    outcome?;
    closed?;
    Ok(())
}

/// An issuer (interactive or automatic login) and the web example pointed at it.
struct Site {
    issuer: MockIssuer,
    app: String,
}

impl Site {
    async fn start(mode: LoginMode) -> TestResult<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let app = format!("http://localhost:{}", listener.local_addr()?.port());
        let mut config = Config::default();
        config.login.mode = mode;
        let forge_web = config
            .client_mut(WEB_CLIENT.0)
            .ok_or("the default configuration has forge-web")?;
        forge_web.redirect_uris.push(format!("{app}/auth-callback"));
        forge_web.post_logout_redirect_uris.push(format!("{app}/"));
        let issuer = MockIssuer::start(config).await?;
        // As for local development: plain http, so no `Secure` and no `__Host-` prefix.
        let settings = web::Settings {
            issuer: issuer.url().to_owned(),
            client_id: WEB_CLIENT.0.into(),
            client_secret: Some(WEB_CLIENT.1.into()),
            app_url: app.clone(),
            secure_cookies: false,
            cookie_key: None,
        };
        let flow = web::flow(&settings, web::client(&settings)?)?;
        let router = web::app(flow);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { issuer, app })
    }

    fn app(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }
}

/// The three journeys: sign in as bob, sign out, deny.
async fn scenario(browser: &Client, site: &Site, out: &Path) -> TestResult {
    let issuer_authorize = format!("{}/authorize?", site.issuer.url());
    let on_login_page = |url: &Url| url.as_str().starts_with(&issuer_authorize);
    let at = |path: &str| {
        let expected = site.app(path);
        move |url: &Url| url.as_str() == expected
    };

    // 1. A protected page sends the anonymous visitor to the issuer's login page.
    browser.goto(&site.app("/protected")).await?;
    let bob_button = element_at(
        browser,
        on_login_page,
        &format!("button[name=\"user\"][value=\"{BOB}\"]"),
        "the issuer's login page with a button for bob",
    )
    .await?;
    assert_eq!(browser.title().await?, "Sign in - oidc-forge");
    let deny = browser.find(Locator::Css("button.deny")).await?;
    assert_eq!(deny.text().await?, "Deny");
    screenshot(browser, out, "login.png").await?;

    // 2. bob (not the automatic default, alice) signs in: the form posts to the issuer, whose
    // 302 is a cross-site navigation to the callback, which sends him to the page he asked for.
    bob_button.click().await?;
    let heading = text_at(browser, at("/protected"), "h1", "the protected page").await?;
    assert_eq!(
        heading, "You are authenticated. Your user email is bob@example.com",
        "the protected page shows the user who clicked"
    );
    let cookies = browser.get_all_cookies().await?;
    let session = cookies
        .iter()
        .find(|cookie| cookie.name() == "user_session")
        .ok_or_else(|| format!("no session cookie among {cookies:?}"))?;
    assert_eq!(session.http_only(), Some(true), "the session is HttpOnly");
    assert_eq!(session.path(), Some("/"));
    assert!(
        !cookies
            .iter()
            .any(|cookie| cookie.name() == "user_session_tx"),
        "the login transaction cookie is used up by the callback"
    );
    screenshot(browser, out, "signed-in.png").await?;
    browser.goto(&site.app("/")).await?;
    let welcome = text_at(browser, at("/"), "h1", "the home page").await?;
    assert_eq!(welcome, "Welcome back, bob@example.com");

    // 3. Logout: the app's POST form (Origin-checked), the issuer's end-session endpoint, and
    // back home with the app's state (RP-Initiated Logout 1.0 section 3).
    browser.goto(&site.app("/protected")).await?;
    let logout = element_at(
        browser,
        at("/protected"),
        "form[action=\"/logout\"] button",
        "the logout button",
    )
    .await?;
    logout.click().await?;
    let home_with_state = site.app("/?state=");
    let heading = text_at(
        browser,
        |url: &Url| url.as_str().starts_with(&home_with_state),
        "h1",
        "the home page after logout",
    )
    .await?;
    assert_eq!(heading, "You are an anonymous user.");
    // Signed out at both ends: the app asks again, and the issuer shows its page again rather
    // than reusing a session.
    browser.goto(&site.app("/protected")).await?;
    let deny = element_at(
        browser,
        on_login_page,
        "button.deny",
        "the issuer's login page after logout",
    )
    .await?;

    // 4. Deny: RFC 6749 4.1.2.1 access_denied comes back to the app, which shows it.
    deny.click().await?;
    let callback = site.app("/auth-callback?");
    let heading = text_at(
        browser,
        |url: &Url| url.as_str().starts_with(&callback),
        "h1",
        "the app's error page",
    )
    .await?;
    assert_eq!(heading, "Login was not completed");
    let here = browser.current_url().await?;
    assert!(
        here.query_pairs()
            .any(|(name, value)| name == "error" && value == "access_denied"),
        "{here}"
    );
    let body = browser.find(Locator::Css("body")).await?.text().await?;
    assert!(
        body.contains("access_denied"),
        "the error page shows the error: {body}"
    );
    browser.goto(&site.app("/")).await?;
    let heading = text_at(browser, at("/"), "h1", "the home page after denying").await?;
    assert_eq!(heading, "You are an anonymous user.");
    Ok(())
}

/// RP-Initiated Logout 1.0 sections 2-3 in a real browser: a logout request without an
/// `id_token_hint` (Fief's style, with `client_id`) asks before signing out. On the interactive
/// issuer the user clicks; on the automatic one the page submits itself, which proves its one
/// script runs under the page's CSP. Both then return to the registered URI.
async fn logout_without_a_hint(
    browser: &Client,
    interactive: &Site,
    auto: &Site,
    out: &Path,
) -> TestResult {
    // Signed in at the interactive issuer again (the scenario signed out and denied).
    browser.goto(&interactive.app("/protected")).await?;
    let issuer_authorize = format!("{}/authorize?", interactive.issuer.url());
    element_at(
        browser,
        |url: &Url| url.as_str().starts_with(&issuer_authorize),
        &format!("button[name=\"user\"][value=\"{BOB}\"]"),
        "the login page",
    )
    .await?
    .click()
    .await?;
    let protected = interactive.app("/protected");
    text_at(
        browser,
        |url: &Url| url.as_str() == protected,
        "h1",
        "the protected page",
    )
    .await?;

    let back = interactive.app("/");
    let logout = |site: &Site| {
        let mut url = Url::parse(&format!("{}/logout", site.issuer.url())).expect("issuer URL");
        url.query_pairs_mut()
            .append_pair("client_id", WEB_CLIENT.0)
            .append_pair("post_logout_redirect_uri", &site.app("/"))
            .append_pair("state", "no-hint");
        url.to_string()
    };
    browser.goto(&logout(interactive)).await?;
    let issuer_logout = format!("{}/logout", interactive.issuer.url());
    let confirm = element_at(
        browser,
        |url: &Url| url.as_str().starts_with(&issuer_logout),
        "#confirm-logout",
        "the logout question",
    )
    .await?;
    assert_eq!(browser.title().await?, "Sign out - oidc-forge");
    screenshot(browser, out, "logout-question.png").await?;
    confirm.click().await?;
    let home = format!("{back}?state=no-hint");
    let heading = text_at(
        browser,
        |url: &Url| url.as_str() == home,
        "h1",
        "home after the confirmed logout",
    )
    .await?;
    assert!(
        heading.starts_with("Welcome back"),
        "the app's own session is the app's: {heading}"
    );
    // The issuer's session is gone: the protected page asks for a login again.
    browser.goto(&format!("{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&prompt=none", interactive.issuer.url(), WEB_CLIENT.0, interactive.app("/auth-callback"))).await?;
    let callback = interactive.app("/auth-callback?");
    element_at(
        browser,
        |url: &Url| url.as_str().starts_with(&callback),
        "h1",
        "the callback",
    )
    .await?;
    let here = browser.current_url().await?;
    assert!(
        here.query_pairs()
            .any(|(name, value)| name == "error" && value == "login_required"),
        "prompt=none after the logout: {here}"
    );

    // The automatic issuer: signed in without a page, then the question answers itself.
    browser.goto(&auto.app("/protected")).await?;
    let protected = auto.app("/protected");
    text_at(
        browser,
        |url: &Url| url.as_str() == protected,
        "h1",
        "the protected page (auto)",
    )
    .await?;
    browser.goto(&logout(auto)).await?;
    let home = format!("{}?state=no-hint", auto.app("/"));
    text_at(
        browser,
        |url: &Url| url.as_str() == home,
        "h1",
        "home after the self-submitted logout",
    )
    .await?;
    Ok(())
}
