//! A single-page app on another origin than the issuer runs the code flow with PKCE by
//! `fetch` alone, as browser-based apps do: discovery, the token request and UserInfo (whose
//! `Authorization` header makes Chromium send a preflight) all cross origins, so the page shows
//! the user only if the issuer's CORS answers are right. The embedded default's `forge-spa`
//! takes the page's callback on any loopback port. An issuer that allows no origin leaves the
//! same page with nothing: the browser, not the test, enforces it.

use std::path::Path;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use oidc_forge::{Config, MockIssuer};

use crate::chromedriver::ChromeDriver;
use crate::wait::{TestResult, screenshot, text_at};

/// The app: one page for its start and its callback. It keeps the PKCE verifier and state in
/// `sessionStorage` across the redirect, as such apps do.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>forge-spa</title>
<h1 id="status">working</h1>
<pre id="detail"></pre>
<script>
const ISSUER = "__ISSUER__";
const CLIENT_ID = "forge-spa";
const REDIRECT_URI = location.origin + "/callback";
const b64url = bytes => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const show = (status, detail) => {
  document.getElementById("detail").textContent = detail;
  document.getElementById("status").textContent = status;
};
async function json(response, what) {
  const body = await response.json();
  if (!response.ok) throw new Error(what + " " + response.status + " " + JSON.stringify(body));
  return body;
}
const discover = async () =>
  json(await fetch(ISSUER + "/.well-known/openid-configuration"), "discovery");
async function signIn() {
  const metadata = await discover();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("login", JSON.stringify({ verifier, state }));
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI,
    scope: "openid email", state, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(url);
}
async function callback(params) {
  const login = JSON.parse(sessionStorage.getItem("login") || "{}");
  sessionStorage.removeItem("login");
  if (!login.state || params.get("state") !== login.state) throw new Error("state mismatch");
  const metadata = await discover();
  const tokens = await json(await fetch(metadata.token_endpoint, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID, code_verifier: login.verifier,
    }),
  }), "token");
  const user = await json(await fetch(metadata.userinfo_endpoint, {
    headers: { Authorization: "Bearer " + tokens.access_token },
  }), "userinfo");
  show("signed in as " + user.email, JSON.stringify(user));
}
const params = new URLSearchParams(location.search);
(params.has("code") ? callback(params) : signIn()).catch(error => show("failed", String(error)));
</script>
"#;

/// Serves [`PAGE`] for `issuer` at `/` and `/callback` on `http://localhost:PORT`.
async fn serve_app(issuer: &str) -> TestResult<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://localhost:{}", listener.local_addr()?.port());
    let page = Html(PAGE.replace("__ISSUER__", issuer));
    let app = Router::new()
        .route("/", get(page.clone()))
        .route("/callback", get(page));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

pub async fn chromium_runs_a_single_page_app_through_cors() -> TestResult {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&out)?;
    let open = MockIssuer::start(Config::default()).await?;
    let mut closed_config = Config::default();
    closed_config.cors.allowed_origins.clear();
    let closed = MockIssuer::start(closed_config).await?;
    let open_app = serve_app(open.url()).await?;
    let closed_app = serve_app(closed.url()).await?;

    let driver = ChromeDriver::start(&out)?;
    let browser = driver.session().await?;
    let outcome = async {
        browser.goto(&open_app).await?;
        let callback = format!("{open_app}/callback?");
        let (status, detail) = outcome_at(
            &browser,
            |url: &url::Url| url.as_str().starts_with(&callback),
            "the app's callback",
        )
        .await?;
        screenshot(&browser, &out, "spa-signed-in.png").await?;
        assert_eq!(status, "signed in as alice@example.com", "{detail}");
        let userinfo: serde_json::Value = serde_json::from_str(&detail)?;
        assert_eq!(userinfo["sub"], oidc_forge_conformance::env::ALICE);

        // The same page against an issuer that allows no origin: discovery's answer is
        // withheld from the page, which never leaves for the login.
        browser.goto(&closed_app).await?;
        let home = format!("{closed_app}/");
        let (status, detail) = outcome_at(
            &browser,
            |url: &url::Url| url.as_str() == home,
            "the app's start page",
        )
        .await?;
        assert_eq!(status, "failed", "{detail}");
        assert!(detail.contains("Failed to fetch"), "{detail}");
        TestResult::Ok(())
    }
    .await;
    let closed_session = browser.close().await;
    drop(driver);
    open.shutdown().await;
    closed.shutdown().await;
    outcome?;
    closed_session?;
    Ok(())
}

/// The page's status and detail once its script is done (`working` until then), at a URL
/// `arrived` accepts.
async fn outcome_at(
    browser: &fantoccini::Client,
    arrived: impl Fn(&url::Url) -> bool,
    what: &str,
) -> TestResult<(String, String)> {
    let deadline = std::time::Instant::now() + crate::wait::PAGE_TIMEOUT;
    loop {
        let status = text_at(browser, &arrived, "h1#status", what).await?;
        if status != "working" || std::time::Instant::now() >= deadline {
            let detail = text_at(browser, &arrived, "#detail", what).await?;
            return Ok((status, detail));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
