//! Waiting for pages in a real browser, and what to report when one never comes.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use url::Url;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// One browser journey, started by a trial.
pub type Journey = std::pin::Pin<Box<dyn std::future::Future<Output = TestResult>>>;

/// How long a page may take to show the element a step waits for. Generous: it only bounds a
/// broken run, a passing one never waits for it.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a waiting step looks again.
const POLL: Duration = Duration::from_millis(50);

/// Waits until the browser is at a URL `arrived` accepts and shows `css`. A click on a submit
/// button returns before the navigation it starts is over, so the old page may still answer
/// for a moment: its elements are never taken for the new page's.
pub async fn element_at(
    browser: &Client,
    arrived: impl Fn(&Url) -> bool,
    css: &str,
    what: &str,
) -> TestResult<Element> {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        if let Ok(url) = browser.current_url().await
            && arrived(&url)
            && let Ok(element) = browser.find(Locator::Css(css)).await
        {
            return Ok(element);
        }
        if Instant::now() >= deadline {
            return Err(lost(browser, css, what).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// As [`element_at`], then the element's text; retried if the page changed under it.
pub async fn text_at(
    browser: &Client,
    arrived: impl Fn(&Url) -> bool,
    css: &str,
    what: &str,
) -> TestResult<String> {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        let element = element_at(browser, &arrived, css, what).await?;
        match element.text().await {
            Ok(text) => return Ok(text),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Err(_) => return Err(lost(browser, css, what).await),
        }
    }
}

/// Why a page never came: where the browser is and what it shows (its text, not its markup,
/// which for a script-built page runs to hundreds of kilobytes).
async fn lost(browser: &Client, css: &str, what: &str) -> Box<dyn std::error::Error> {
    let url = browser.current_url().await.map(|u| u.to_string());
    let text = match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => browser.source().await.unwrap_or_default(),
    };
    let shown: String = text.chars().take(4000).collect();
    format!("{what} ({css}) did not appear; at {url:?}, showing:\n{shown}").into()
}

pub async fn screenshot(browser: &Client, out: &Path, name: &str) -> TestResult {
    let png = browser.screenshot().await?;
    let path = out.join(name);
    std::fs::write(&path, png)?;
    // Printed as soon as written, so a failing run still points at what it saw.
    println!("screenshot: {}", path.display());
    Ok(())
}
