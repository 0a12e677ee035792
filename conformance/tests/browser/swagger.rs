//! The FastAPI example's "Authorize" button, in Rust: the API-docs example
//! (`client/examples/api_docs.rs`) serves Swagger UI on `http://localhost:PORT/docs/` with the
//! issuer's authorization-code flow from discovery. In Chromium, "Authorize" opens the issuer
//! (automatic login) in a popup, whose return to `/docs/oauth2-redirect.html` hands the code
//! back; the docs page redeems it with PKCE at the issuer's token endpoint, across origins
//! (CORS); "Try it out" then calls the protected route with the token and shows its answer.

use std::path::Path;

use fantoccini::{Client, Locator};
use oidc_forge::{Config, MockIssuer};
use oidc_forge_conformance::apps::api_docs;
use oidc_forge_conformance::env::{ALICE, WEB_CLIENT};

use crate::chromedriver::ChromeDriver;
use crate::wait::{TestResult, element_at, screenshot, text_at};

pub async fn chromium_authorizes_swagger_ui_and_calls_the_api() -> TestResult {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&out)?;
    let issuer = MockIssuer::start(Config::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = format!("http://localhost:{}", listener.local_addr()?.port());
    let settings = api_docs::Settings {
        issuer: issuer.url().to_owned(),
        client_id: WEB_CLIENT.0.into(),
        client_secret: Some(WEB_CLIENT.1.into()),
    };
    let router = api_docs::app(&settings).await?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let driver = ChromeDriver::start(&out)?;
    let browser = driver.session().await?;
    let outcome = journey(&browser, &app, &out).await;
    if outcome.is_err() {
        let _ = screenshot(&browser, &out, "swagger-failed.png").await;
    }
    let closed = browser.close().await;
    drop(driver);
    issuer.shutdown().await;
    outcome?;
    closed?;
    Ok(())
}

async fn journey(browser: &Client, app: &str, out: &Path) -> TestResult {
    let docs = format!("{app}/docs/");
    let on_docs = |url: &url::Url| url.as_str().starts_with(&docs);
    browser.goto(&docs).await?;

    // Unauthorized first: the protected route answers 401 to Swagger UI's own call.
    let status = try_it_out(browser, &on_docs, "/castles").await?;
    assert_eq!(status, "401", "without a token");

    // "Authorize": the modal offers the issuer's flow, the client id filled in.
    element_at(
        browser,
        &on_docs,
        "button.btn.authorize",
        "the Authorize button",
    )
    .await?
    .click()
    .await?;
    let client_id = element_at(
        browser,
        &on_docs,
        "input#client_id_authorizationCode",
        "the client id field",
    )
    .await?;
    assert_eq!(
        client_id.prop("value").await?.as_deref(),
        Some(WEB_CLIENT.0)
    );
    screenshot(browser, out, "swagger-authorize.png").await?;
    let docs_window = browser.window().await?;
    element_at(
        browser,
        &on_docs,
        ".auth-btn-wrapper button.authorize",
        "the modal's Authorize button",
    )
    .await?
    .click()
    .await?;
    // The popup signs in at the issuer and closes itself once it has handed the code back.
    let signed_in = text_at(
        browser,
        &on_docs,
        ".auth-container h6",
        "the modal's Authorized heading",
    )
    .await?;
    assert_eq!(signed_in, "Authorized");
    browser.switch_to_window(docs_window).await?;
    element_at(
        browser,
        &on_docs,
        "button.btn-done",
        "the modal's Close button",
    )
    .await?
    .click()
    .await?;

    // The same call again, now with alice's access token.
    let status = execute(browser, &on_docs).await?;
    let body = text_at(
        browser,
        &on_docs,
        ".live-responses-table .response-col_description pre",
        "the response body",
    )
    .await?;
    screenshot(browser, out, "swagger-called.png").await?;
    assert_eq!(status, "200", "{body}");
    let body: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(body["for"], ALICE, "{body}");
    Ok(())
}

/// Opens the operation at `path`, turns on "Try it out" and executes it; returns the status.
async fn try_it_out(
    browser: &Client,
    on_docs: &impl Fn(&url::Url) -> bool,
    path: &str,
) -> TestResult<String> {
    let summary = format!(".opblock-summary-path[data-path=\"{path}\"]");
    element_at(browser, on_docs, &summary, "the operation")
        .await?
        .click()
        .await?;
    element_at(browser, on_docs, "button.try-out__btn", "Try it out")
        .await?
        .click()
        .await?;
    execute(browser, on_docs).await
}

async fn execute(browser: &Client, on_docs: &impl Fn(&url::Url) -> bool) -> TestResult<String> {
    // A previous answer would be taken for this one: clear it first when there is one.
    if let Ok(clear) = browser.find(Locator::Css("button.btn-clear")).await {
        clear.click().await?;
    }
    element_at(browser, on_docs, "button.execute", "Execute")
        .await?
        .click()
        .await?;
    text_at(
        browser,
        on_docs,
        ".live-responses-table .response .response-col_status",
        "the response status",
    )
    .await
}
