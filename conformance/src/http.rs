//! The HTTP side of the runners: a client that never follows redirects, a response read whole
//! ([`Answer`]) with RFC-shaped assertions, and a cookie-keeping [`Browser`] that follows
//! redirects by hand so every hop can be inspected.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::scenario::{Failure, setup};
use crate::{ensure, ensure_eq};

/// The test kit's client: it never follows redirects (a followed `/authorize` 302 would lose
/// the code), ignores proxy settings, is built once per process and keeps no idle connections,
/// since each scenario runs on its own runtime.
pub use oidc_forge_testkit::http_client as client;

/// The test kit's kind of client, giving up on an answer after `bound`: for an app under
/// `check`, whose hang is a finding. Built per check, not per request.
pub fn client_within(bound: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(bound)
        .build()
        .unwrap_or_else(|_| client())
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// Sends `request` and reads the whole response.
    pub async fn send(request: reqwest::RequestBuilder) -> Result<Self, Failure> {
        // A request that timed out is the app's doing (it hung): a finding, not the setup's.
        let response = request.send().await.map_err(|error| {
            if error.is_timeout() {
                Failure::mismatch(format!("no answer in time (a hang): {error}"))
            } else {
                setup(error)
            }
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().to_string();
        let body = oidc_forge_testkit::read_body(&url, response, oidc_forge_testkit::MAX_BODY)
            .await
            .map_err(body_failure)?;
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// This answer as evidence of what `method url` with `authorization` got back.
    pub fn exchange(
        &self,
        method: &str,
        url: &str,
        authorization: Option<&str>,
    ) -> crate::evidence::Exchange {
        crate::evidence::Exchange::new(
            method,
            url,
            authorization,
            self.status,
            &self.headers,
            &self.body,
        )
    }

    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Whether the header is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// Every value of a header (e.g. `set-cookie`).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_str(&self.body).map_err(|e| {
            Failure::mismatch(format!(
                "expected a JSON body ({e}), got {}: {}",
                self.status,
                shorten(&self.body)
            ))
        })
    }

    /// The query parameters of the `Location` header.
    pub fn location_params(&self) -> Result<BTreeMap<String, String>, Failure> {
        let location = self.header("location");
        ensure!(
            !location.is_empty(),
            "expected a redirect, got {} without Location: {}",
            self.status,
            shorten(&self.body)
        );
        query_of(location)
    }

    /// Asserts the status.
    pub fn expect_status(&self, status: u16) -> Result<(), Failure> {
        ensure!(
            self.status == status,
            "expected status {status}, got {}: {}",
            self.status,
            shorten(&self.body)
        );
        Ok(())
    }

    /// Asserts an RFC 6749 5.2 error: the status, a JSON body with `error` and a readable
    /// `error_description` in the RFC charset, `Cache-Control: no-store`.
    pub fn expect_oauth_error(&self, status: u16, error: &str) -> Result<(), Failure> {
        self.expect_status(status)?;
        let body = self.json()?;
        ensure_eq!(
            body["error"].as_str(),
            Some(error),
            "`error` of {}",
            self.body
        );
        let description = body["error_description"].as_str().unwrap_or_default();
        ensure!(
            !description.is_empty(),
            "a readable error_description: {}",
            self.body
        );
        ensure!(
            in_error_charset(description),
            "error_description outside %x20-21 / %x23-5B / %x5D-7E (RFC 6749 5.2): {description:?}"
        );
        ensure!(
            self.header("content-type").starts_with("application/json"),
            "a JSON content type, got {:?}",
            self.header("content-type")
        );
        ensure_eq!(
            self.header("cache-control"),
            "no-store",
            "Cache-Control of an error"
        );
        Ok(())
    }

    /// Asserts a 302 back to the client carrying `error`, the `state` (or none), `iss`, and no
    /// code (RFC 6749 4.1.2.1; RFC 9207 2).
    pub fn expect_redirected_error(
        &self,
        redirect_uri: &str,
        error: &str,
        state: Option<&str>,
        iss: &str,
    ) -> Result<BTreeMap<String, String>, Failure> {
        self.expect_status(302)?;
        let location = self.header("location");
        ensure!(
            location.starts_with(redirect_uri),
            "the error must go back to {redirect_uri}, got {location}"
        );
        let params = self.location_params()?;
        ensure_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "`error` in {location}"
        );
        let description = params
            .get("error_description")
            .map(String::as_str)
            .unwrap_or_default();
        ensure!(
            !description.is_empty() && in_error_charset(description),
            "error_description present and within the RFC 6749 4.1.2.1 charset: {description:?}"
        );
        ensure_eq!(
            params.get("state").map(String::as_str),
            state,
            "`state` echoed in {location}"
        );
        ensure_eq!(
            params.get("iss").map(String::as_str),
            Some(iss),
            "`iss` in {location}"
        );
        ensure!(
            !params.contains_key("code"),
            "an error response carries no code: {location}"
        );
        Ok(params)
    }

    /// Asserts an HTML error page, never a redirect (RFC 6749 4.1.2.1), naming `error`.
    pub fn expect_error_page(&self, error: &str) -> Result<(), Failure> {
        self.expect_status(400)?;
        ensure!(
            !self.has_header("location"),
            "an untrusted client or redirect URI must not be redirected to, got Location {}",
            self.header("location")
        );
        ensure!(
            self.header("content-type").starts_with("text/html"),
            "an HTML error page, got {:?}",
            self.header("content-type")
        );
        ensure!(
            self.body.contains(error),
            "the page names {error:?}: {}",
            shorten(&self.body)
        );
        Ok(())
    }

    /// The `WWW-Authenticate` challenge, if any.
    pub fn challenge(&self) -> Option<&str> {
        self.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
    }
}

/// RFC 6749 4.1.2.1 / 5.2 and RFC 6750 3: `error_description` uses %x20-21 / %x23-5B / %x5D-7E.
pub fn in_error_charset(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// The query of a URL as a map (the last value wins; duplicates are tested separately).
pub fn query_of(url: &str) -> Result<BTreeMap<String, String>, Failure> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Failure::mismatch(format!("not an absolute URL ({e}): {url}")))?;
    Ok(parsed.query_pairs().into_owned().collect())
}

/// Cuts text for a message.
pub fn shorten(text: &str) -> String {
    const LIMIT: usize = 300;
    if text.len() <= LIMIT {
        text.to_owned()
    } else {
        let mut end = LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &text[..end], text.len())
    }
}

/// A body too large is the app's doing, a finding; any other error is the environment's.
fn body_failure(error: oidc_forge_testkit::BrowserError) -> Failure {
    match error {
        too_large @ oidc_forge_testkit::BrowserError::TooLarge { .. } => {
            Failure::mismatch(too_large.to_string())
        }
        other => setup(other),
    }
}

/// A page the [`Browser`] fetched.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL asked for.
    pub url: String,
    /// The response.
    pub answer: Answer,
    /// The absolute `Location`, resolved against `url`.
    pub location: Option<String>,
}

impl Page {
    /// The `Set-Cookie` line for `name`, if the response sets or clears it.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.answer
            .header_all("set-cookie")
            .into_iter()
            .find(|line| line.starts_with(&format!("{name}=")))
    }

    /// Whether this response is a redirect.
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.answer.status)
    }
}

/// A browser: the test kit's, which keeps cookies per name (across hosts: everything is on
/// 127.0.0.1, and the cookie names of the issuer and the app differ), sends them back and
/// never follows redirects by itself; its pages are read as [`Answer`]s for the assertions.
#[derive(Debug)]
pub struct Browser {
    inner: oidc_forge_testkit::Browser,
    /// Longer than this for an answer is a hang: a finding, not a setup failure.
    bound: Option<std::time::Duration>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// An empty browser.
    pub fn new() -> Self {
        Self {
            inner: oidc_forge_testkit::Browser::with_client(client()),
            bound: None,
        }
    }

    /// This browser, giving up on an answer after `bound`: the app hung, which is a finding.
    pub fn within(mut self, bound: std::time::Duration) -> Self {
        self.bound = Some(bound);
        self
    }

    /// The cookie jar.
    pub fn cookies(&self) -> &oidc_forge_testkit::CookieJar {
        &self.inner.cookies
    }

    /// The cookie jar, to change as a page's script or an attacker would.
    pub fn cookies_mut(&mut self) -> &mut oidc_forge_testkit::CookieJar {
        &mut self.inner.cookies
    }

    /// The `Cookie` header this browser would send, as request headers.
    pub fn cookie_headers(&self) -> Result<axum::http::HeaderMap, Failure> {
        self.inner.cookie_headers().map_err(setup)
    }

    /// Sends a request with the jar's cookies and `headers`, storing what comes back.
    pub async fn request(
        &mut self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Result<Page, Failure> {
        // As a browser's navigation: some apps answer a client without these differently.
        let mut sent: Vec<(&str, &str)> = vec![
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
            (
                "user-agent",
                "Mozilla/5.0 (compatible; oidc-forge-conformance)",
            ),
        ];
        sent.retain(|(name, _)| {
            !headers
                .iter()
                .any(|(given, _)| given.eq_ignore_ascii_case(name))
        });
        sent.extend_from_slice(headers);
        let request = self.inner.request(method.clone(), url, &sent, form);
        let page = match self.bound {
            None => request.await,
            Some(bound) => tokio::time::timeout(bound, request).await.map_err(|_| {
                Failure::mismatch(format!(
                    "{method} {url}: no answer within {} s (a hang)",
                    bound.as_secs()
                ))
            })?,
        }
        .map_err(body_failure)?;
        crate::evidence::record(|| {
            crate::evidence::Exchange::new(
                method.as_str(),
                &page.url,
                None,
                page.status,
                &page.headers,
                &page.body,
            )
        });
        Ok(Page {
            url: page.url,
            location: page.location,
            answer: Answer {
                status: page.status,
                headers: page.headers,
                body: page.body,
            },
        })
    }

    /// GET.
    pub async fn get(&mut self, url: &str) -> Result<Page, Failure> {
        self.request(Method::GET, url, &[], None).await
    }

    /// GETs `url` and follows up to `hops` redirects; returns every page on the way.
    pub async fn follow(&mut self, url: &str, hops: usize) -> Result<Vec<Page>, Failure> {
        let mut pages = vec![self.get(url).await?];
        for _ in 0..hops {
            let last = pages.last().cloned();
            let Some(next) = last.filter(Page::is_redirect).and_then(|p| p.location) else {
                break;
            };
            pages.push(self.get(&next).await?);
        }
        Ok(pages)
    }
}
