//! A browser for tests: it keeps cookies, sends them back, and never follows a redirect by
//! itself, so that every hop of a login (app, issuer, callback) can be inspected.

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::jar::CookieJar;

/// A client that never follows redirects (a followed `/authorize` 302 would lose the code) and
/// ignores proxy settings (everything a test serves is on 127.0.0.1).
///
/// One client is built per process and cloned (a clone shares it): building one reads and
/// parses the system's CA bundle. It keeps no idle connections, because each test runs on its
/// own runtime, and a pooled connection would belong to a runtime that is gone by the next.
pub fn http_client() -> reqwest::Client {
    static SHARED: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    #[error("{url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered a Location that is not a URL: {location:?}")]
    Location { url: String, location: String },
    #[error("a cookie cannot be sent as a header: {0}")]
    Cookie(#[from] axum::http::header::InvalidHeaderValue),
    #[error("{url} answered a body of more than {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

/// The most a page's body may hold: what a test reads is held whole, and a hostile app must
/// not make it hold more.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Reads a response's body as text, at most `limit` bytes: a longer one is refused before
/// more than `limit` is held (lossy UTF-8, as a browser shows what it cannot decode).
pub async fn read_body(
    url: &str,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<String, BrowserError> {
    let too_large = || BrowserError::TooLarge {
        url: url.to_owned(),
        limit,
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| BrowserError::Request {
            url: url.to_owned(),
            source,
        })?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// One response, read whole.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL asked for.
    pub url: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    /// The `Location` header resolved against [`url`](Self::url).
    pub location: Option<String>,
}

impl Page {
    /// Whether this response is a redirect (3xx).
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// A header's value, or "" when it is absent or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` line of the response.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

/// Cookies kept across requests, redirects followed by hand.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    /// The cookie jar.
    pub cookies: CookieJar,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// An empty browser over [`http_client`].
    pub fn new() -> Self {
        Self::with_client(http_client())
    }

    /// An empty browser over `http` (which should not follow redirects).
    pub fn with_client(http: reqwest::Client) -> Self {
        Self {
            http,
            cookies: CookieJar::default(),
        }
    }

    /// The `Cookie` header this browser would send, as request headers (empty with no cookies).
    pub fn cookie_headers(&self) -> Result<axum::http::HeaderMap, BrowserError> {
        let mut headers = axum::http::HeaderMap::new();
        if let Some(line) = self.cookies.header() {
            headers.insert("cookie", line.parse()?);
        }
        Ok(headers)
    }

    /// Sends a request with the jar's cookies, `headers` and, when given, a form body; stores
    /// the cookies that come back.
    pub async fn request(
        &mut self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Result<Page, BrowserError> {
        let failed = |source| BrowserError::Request {
            url: url.to_owned(),
            source,
        };
        let mut request = self.http.request(method, url);
        if let Some(line) = self.cookies.header() {
            request = request.header("cookie", line);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_body(url, response, MAX_BODY).await?;
        let mut page = Page {
            url: url.to_owned(),
            status,
            headers,
            body,
            location: None,
        };
        self.cookies.store(page.set_cookies());
        if let Some(location) = page.headers.get("location") {
            let unusable = || BrowserError::Location {
                url: url.to_owned(),
                location: String::from_utf8_lossy(location.as_bytes()).into_owned(),
            };
            let text = location.to_str().map_err(|_| unusable())?;
            let resolved = url::Url::parse(url)
                .and_then(|base| base.join(text))
                .map_err(|_| unusable())?;
            page.location = Some(resolved.to_string());
        }
        Ok(page)
    }

    pub async fn get(&mut self, url: &str) -> Result<Page, BrowserError> {
        self.request(Method::GET, url, &[], None).await
    }

    /// GETs `url` and follows up to `hops` redirects; returns every page on the way.
    pub async fn follow(&mut self, url: &str, hops: usize) -> Result<Vec<Page>, BrowserError> {
        let mut pages = vec![self.get(url).await?];
        for _ in 0..hops {
            let next = pages
                .last()
                .filter(|page| page.is_redirect())
                .and_then(|page| page.location.clone());
            let Some(next) = next else {
                break;
            };
            pages.push(self.get(&next).await?);
        }
        Ok(pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A redirect chain across two local servers, with cookies set, sent back and removed.
    #[tokio::test]
    async fn cookies_go_back_and_redirects_are_followed_by_hand() {
        use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
        use axum::routing::get;

        let (issuer, issuer_url) = crate::bind().await.unwrap();
        let authorize_url = format!("{issuer_url}/authorize");
        let (app, app_url) = crate::bind().await.unwrap();
        let to_app = format!("{app_url}/callback");
        crate::serve(
            issuer,
            axum::Router::new().route(
                "/authorize",
                get(move || {
                    let to_app = to_app.clone();
                    async move {
                        (
                            axum::http::StatusCode::FOUND,
                            [
                                (SET_COOKIE, "issuer_session=s1; HttpOnly".to_owned()),
                                (LOCATION, to_app),
                            ],
                        )
                    }
                }),
            ),
        );
        crate::serve(
            app,
            axum::Router::new()
                .route(
                    "/login",
                    get(move || async move {
                        (
                            axum::http::StatusCode::SEE_OTHER,
                            [(SET_COOKIE, "app_state=x"), (LOCATION, "/go")],
                        )
                    }),
                )
                .route(
                    "/go",
                    get(move || {
                        let to = format!("{issuer_url}/authorize");
                        async move { (axum::http::StatusCode::FOUND, [(LOCATION, to)]) }
                    }),
                )
                .route(
                    "/callback",
                    get(|headers: axum::http::HeaderMap| async move {
                        let sent = headers
                            .get(COOKIE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        ([(SET_COOKIE, "app_state=; Max-Age=0")], sent)
                    }),
                ),
        );
        let mut browser = Browser::new();
        let pages = browser
            .follow(&format!("{app_url}/login"), 5)
            .await
            .unwrap();
        let statuses: Vec<u16> = pages.iter().map(|p| p.status).collect();
        assert_eq!(statuses, [303, 302, 302, 200]);
        // A relative Location is resolved against the page's URL.
        assert_eq!(
            pages[0].location.as_deref(),
            Some(&*format!("{app_url}/go"))
        );
        // Both sites' cookies went to the callback, which then removed the app's.
        assert_eq!(pages[3].body, "app_state=x; issuer_session=s1");
        assert_eq!(
            browser.cookies.header().as_deref(),
            Some("issuer_session=s1")
        );
        assert_eq!(
            browser.cookie_headers().unwrap()["cookie"],
            "issuer_session=s1"
        );
        // No further hop than asked for.
        let mut fresh = Browser::new();
        let pages = fresh.follow(&format!("{app_url}/login"), 1).await.unwrap();
        assert_eq!(pages.len(), 2);
        assert!(pages[1].is_redirect());
        assert_eq!(pages[1].header("location"), authorize_url);
        assert_eq!(pages[1].header("no-such-header"), "");
        let last = fresh.get(&format!("{app_url}/callback")).await.unwrap();
        assert!(!last.is_redirect(), "a 200 is no redirect");
    }

    /// A body over the bound is refused, announced by its length or streamed without one,
    /// before more than the bound is held; one at the bound is read.
    #[tokio::test]
    async fn a_body_over_the_bound_is_refused_before_it_is_held() {
        use axum::body::Body;
        use axum::routing::get;

        const LIMIT: usize = 1024;
        /// Quarter-limit chunks of unknown total size.
        struct Drip(usize);
        impl http_body::Body for Drip {
            type Data = axum::body::Bytes;
            type Error = std::convert::Infallible;
            fn poll_frame(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>>
            {
                if self.0 == 0 {
                    return std::task::Poll::Ready(None);
                }
                self.0 -= 1;
                let chunk = axum::body::Bytes::from(vec![b'a'; LIMIT / 4]);
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
            }
        }
        let (listener, url) = crate::bind().await.unwrap();
        crate::serve(
            listener,
            axum::Router::new()
                .route("/at", get(|| async { "a".repeat(LIMIT) }))
                .route("/over", get(|| async { "a".repeat(LIMIT + 1) }))
                // Chunked, no Content-Length: counted as it comes.
                .route("/streamed", get(|| async { Body::new(Drip(8)) }))
                .route("/streamed-at", get(|| async { Body::new(Drip(4)) }))
                // What a real page weighs: read whole under the browser's own bound.
                .route("/page", get(|| async { "a".repeat(2 * 1024 * 1024) })),
        );
        let client = http_client();
        let fetch = |path: &str| {
            let url = format!("{url}{path}");
            let client = client.clone();
            async move {
                let response = client.get(&url).send().await.unwrap();
                read_body(&url, response, LIMIT).await
            }
        };
        assert_eq!(fetch("/at").await.unwrap().len(), LIMIT);
        assert_eq!(fetch("/streamed-at").await.unwrap().len(), LIMIT);
        let page = Browser::new().get(&format!("{url}/page")).await.unwrap();
        assert_eq!(
            page.body.len(),
            2 * 1024 * 1024,
            "MAX_BODY holds a 2 MB page"
        );
        for path in ["/over", "/streamed"] {
            assert!(
                matches!(
                    fetch(path).await,
                    Err(BrowserError::TooLarge { limit: LIMIT, .. })
                ),
                "{path}"
            );
        }
    }
}
