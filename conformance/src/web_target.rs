//! The application under test for `check --web`: an app's browser login flow, black box, in
//! any language. The routes file describes it in a `[web]` table:
//!
//! ```toml
//! client_id = "forge-web"        # the client the app is registered as
//! user = "alice@example.com"     # who signs in (default: the issuer's auto-login user)
//!
//! [web]
//! protected = "/protected"       # a page that needs login
//! redirect_uri = "/auth-callback" # the callback the app registered (a path or a URL)
//! signed_in = { text = "{email}" } # how a signed-in page looks: status, url, text
//! login = "/login"               # where a login starts (default: the protected page)
//! return_to = "return_to"        # the login URL's parameter for the page after login
//! logout = "/logout"             # where the user logs out
//! logout_method = "POST"         # GET (default) or POST, sent as the app's own form would be
//! timeout = 15                   # seconds an answer may take before it is a hang
//! ```
//!
//! `check` drives the app with its own cookie-keeping browser, following redirects across the
//! app and the issuer by hand, so that every hop can be inspected and the callback can be
//! held back, replayed or rewritten.

use std::sync::Arc;
use std::time::Duration;

use oidc_forge::MockIssuer;
use oidc_forge::config::UserConfig;
use reqwest::Method;
use serde::Deserialize;

use crate::http::{Browser, Page, query_of, shorten};
use crate::scenario::{Failure, setup};

/// How many redirects one navigation may take before it is a loop (browsers follow 20).
const MAX_HOPS: usize = 20;

/// The `[web]` table of a routes file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// A page that needs login, e.g. `/protected`.
    pub protected: String,
    /// The `redirect_uri` the app registered: a path on the app, or a full URL.
    pub redirect_uri: String,
    /// How a signed-in page looks.
    #[serde(default)]
    pub signed_in: SignedIn,
    /// Where a login starts; default: the protected page.
    #[serde(default)]
    pub login: Option<String>,
    /// The login URL's parameter naming the page to show after login (`return_to`, `next`).
    #[serde(default)]
    pub return_to: Option<String>,
    /// Where the user logs out.
    #[serde(default)]
    pub logout: Option<String>,
    /// `GET` or `POST`; a POST is sent as the app's own form would be (same origin).
    #[serde(default = "default_logout_method")]
    pub logout_method: String,
    /// Seconds an answer may take; longer is a hang.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

fn default_logout_method() -> String {
    "GET".into()
}

fn default_timeout() -> u64 {
    15
}

/// The longest a `timeout` may be: the rows wait it out more than once.
pub const MAX_TIMEOUT: u64 = 120;

/// How a signed-in page is recognised: every condition given must hold. `{email}`, `{name}`
/// and `{sub}` in `text` stand for the user's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIn {
    /// The protected page's status when signed in.
    #[serde(default = "default_status")]
    pub status: u16,
    /// The path the browser ends on, when the protected page redirects a signed-in user.
    #[serde(default)]
    pub url: Option<String>,
    /// Text the page shows.
    #[serde(default = "default_text")]
    pub text: String,
}

fn default_status() -> u16 {
    200
}

fn default_text() -> String {
    "{email}".into()
}

impl Default for SignedIn {
    fn default() -> Self {
        Self {
            status: default_status(),
            url: None,
            text: default_text(),
        }
    }
}

impl SignedIn {
    /// The text a page shows when `user` is signed in.
    pub fn text_for(&self, user: &UserConfig) -> String {
        self.text
            .replace("{email}", &user.email)
            .replace("{name}", user.name.as_deref().unwrap_or_default())
            .replace("{sub}", &user.sub.to_string())
    }
}

impl WebSettings {
    /// Checks what TOML cannot: paths on the app, a method, a bound.
    pub fn check(&self) -> Result<(), String> {
        for (what, path) in [
            ("protected", Some(&self.protected)),
            ("login", self.login.as_ref()),
            ("logout", self.logout.as_ref()),
        ] {
            if let Some(path) = path
                && !path.starts_with('/')
            {
                return Err(format!(
                    "[web] {what} = {path:?} must be a path starting with `/`"
                ));
            }
        }
        if self.signed_in.text.trim().is_empty() {
            return Err("[web] signed_in.text is empty: every page would look signed in".into());
        }
        if !matches!(self.logout_method.as_str(), "GET" | "POST") {
            return Err(format!(
                "[web] logout_method = {:?}: GET or POST",
                self.logout_method
            ));
        }
        if self.timeout == 0 || self.timeout > MAX_TIMEOUT {
            return Err(format!(
                "[web] timeout = {}: 1 to {MAX_TIMEOUT} seconds",
                self.timeout
            ));
        }
        Ok(())
    }
}

/// What the issuer's discovery document says that the rows need.
#[derive(Debug, Clone)]
pub struct IssuerEndpoints {
    /// `authorization_endpoint`.
    pub authorize: String,
    /// `end_session_endpoint`, if any.
    pub end_session: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 3).
    pub iss_parameter: bool,
}

/// An application whose login flow the C rows drive.
#[derive(Debug)]
pub struct WebTarget {
    /// The application's base URL, without a trailing slash.
    pub url: String,
    /// Its `[web]` table.
    pub settings: WebSettings,
    /// The issuer the app trusts.
    pub issuer: Arc<MockIssuer>,
    /// The issuer's endpoints.
    pub endpoints: IssuerEndpoints,
    /// The client the app is registered as.
    pub client_id: String,
    /// The user who signs in.
    pub user: UserConfig,
    /// Another user of the issuer: the attacker, in the login CSRF and injection rows.
    pub attacker: UserConfig,
}

/// Where a login's start led.
#[derive(Debug, Clone)]
pub enum Started {
    /// To the issuer's authorization endpoint: its URL, not yet visited.
    Authorize(String),
    /// To a page of the app's, or a redirect elsewhere: the page.
    Stopped(Box<Page>),
}

/// A login driven up to the point where the issuer has answered.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The authorization request the app sent (its query).
    pub request: std::collections::BTreeMap<String, String>,
    /// The issuer's redirect back to the app: the callback URL, not yet visited.
    pub callback: String,
}

impl WebTarget {
    /// A target for the app at `url`, trusting `issuer`, as the routes file says.
    pub async fn new(
        url: String,
        settings: WebSettings,
        client_id: Option<&str>,
        user: Option<&str>,
        issuer: Arc<MockIssuer>,
    ) -> Result<Self, Failure> {
        settings.check().map_err(Failure::setup)?;
        let config = issuer.config();
        let client = match client_id {
            Some(id) => config.client(id),
            None => config.clients.iter().find(|c| !c.is_public()),
        }
        .ok_or_else(|| Failure::setup("no such client in the issuer's configuration"))?;
        let user = match user {
            Some(wanted) => config.find_user(wanted),
            None => config.auto_login_user(),
        }
        .ok_or_else(|| Failure::setup("no such user in the issuer's configuration"))?
        .clone();
        // An app may admit verified addresses only: a verified attacker, when there is one.
        let others = || {
            config
                .users
                .iter()
                .filter(|other| other.sub != user.sub && other.email != user.email)
        };
        let attacker = others()
            .find(|other| other.email_verified)
            .or_else(|| others().next())
            .ok_or_else(|| {
                Failure::setup(
                    "the issuer's configuration needs a second user, the attacker of the login CSRF rows",
                )
            })?
            .clone();
        let endpoints = discover(issuer.url()).await?;
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            settings,
            client_id: client.id.clone(),
            issuer,
            endpoints,
            user,
            attacker,
        })
    }

    /// A URL on the app: a path, or a full URL as given.
    pub fn app(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with('/') {
            format!("{}{path_or_url}", self.url)
        } else {
            path_or_url.to_owned()
        }
    }

    /// The callback URL the app registered.
    pub fn redirect_uri(&self) -> String {
        self.app(&self.settings.redirect_uri)
    }

    /// Where a login starts.
    pub fn login_url(&self) -> String {
        self.app(
            self.settings
                .login
                .as_deref()
                .unwrap_or(&self.settings.protected),
        )
    }

    /// A browser whose every answer must come within the bound.
    pub fn browser(&self) -> Browser {
        Browser::new().within(self.timeout())
    }

    /// A client for a plain request to the app, within the bound.
    pub fn http(&self) -> reqwest::Client {
        crate::http::client_within(self.timeout())
    }

    /// The bound on one answer.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout)
    }

    /// Whether `url` is on the app.
    pub fn on_app(&self, url: &str) -> bool {
        same_origin(url, &self.url)
    }

    /// Whether `url` is the issuer's authorization endpoint.
    pub fn is_authorize(&self, url: &str) -> bool {
        url.split('?').next() == Some(self.endpoints.authorize.as_str())
    }

    /// Whether `url` is a visit to the app's callback.
    pub fn is_callback(&self, url: &str) -> bool {
        let redirect_uri = self.redirect_uri();
        // A registered redirect_uri may carry a query (RFC 6749 3.1.2); the issuer appends.
        if redirect_uri.contains('?') {
            url.starts_with(&format!("{redirect_uri}&"))
        } else {
            url.split('?').next() == Some(redirect_uri.as_str())
        }
    }

    /// Starts a login at `start` in `browser` and follows it to the issuer's authorization
    /// endpoint, without visiting it: the authorization URL, or the app's page that ended it.
    pub async fn start(&self, browser: &mut Browser, start: &str) -> Result<Started, Failure> {
        let mut url = start.to_owned();
        for _ in 0..MAX_HOPS {
            if self.is_authorize(&url) {
                return Ok(Started::Authorize(url));
            }
            let page = browser.get(&url).await?;
            match (page.is_redirect(), page.location.clone()) {
                (true, Some(next)) if self.on_app(&next) || self.is_authorize(&next) => url = next,
                _ => return Ok(Started::Stopped(Box::new(page))),
            }
        }
        Err(Failure::mismatch(format!(
            "{start}: more than {MAX_HOPS} redirects before the authorization endpoint"
        )))
    }

    /// [`WebTarget::start`], which must reach the authorization endpoint.
    pub async fn to_authorize(
        &self,
        browser: &mut Browser,
        start: &str,
    ) -> Result<String, Failure> {
        match self.start(browser, start).await? {
            Started::Authorize(url) => Ok(url),
            Started::Stopped(page) => Err(Failure::mismatch(format!(
                "{start} did not lead to the issuer's authorization endpoint {}: {} answered {} {}: {}",
                self.endpoints.authorize,
                page.url,
                page.answer.status,
                page.location.as_deref().unwrap_or_default(),
                shorten(&page.answer.body)
            ))),
        }
    }

    /// Starts a login in `browser` as `user` and lets the issuer answer: the request the app
    /// sent and the callback URL, not yet visited.
    pub async fn answered(
        &self,
        browser: &mut Browser,
        user: &UserConfig,
    ) -> Result<Answered, Failure> {
        self.answered_from(browser, user, &self.login_url()).await
    }

    /// [`WebTarget::answered`], from another start URL.
    pub async fn answered_from(
        &self,
        browser: &mut Browser,
        user: &UserConfig,
        start: &str,
    ) -> Result<Answered, Failure> {
        let authorize = self.to_authorize(browser, start).await?;
        let request = query_of(&authorize)?;
        // The issuer signs in whom the hint names (its auto-login mode), as a real user
        // would by typing their email.
        let hinted = replace_param(&authorize, "login_hint", Some(&user.email))?;
        let issued = browser.get(&hinted).await?;
        let callback = match (issued.is_redirect(), issued.location) {
            (true, Some(callback)) if self.is_callback(&callback) => callback,
            _ => {
                return Err(Failure::setup(format!(
                    "the issuer did not send {} back to {} ({}: {}): is redirect_uri in the [web] table the one the app registered, and is the issuer in auto-login mode?",
                    user.email,
                    self.redirect_uri(),
                    issued.answer.status,
                    shorten(&issued.answer.body)
                )));
            }
        };
        Ok(Answered { request, callback })
    }

    /// Visits `url` in `browser` and follows the redirects that stay on the app, or go to the
    /// issuer other than to log in: every page on the way. A hop to the authorization endpoint
    /// (the app asks for a login: the issuer's auto-login would answer it) or to any other
    /// site ends it, unvisited; so many hops that a browser would give up is a finding.
    pub async fn visit(&self, browser: &mut Browser, url: &str) -> Result<Vec<Page>, Failure> {
        let mut pages = vec![browser.get(url).await?];
        for _ in 0..MAX_HOPS {
            let Some(next) = pages
                .last()
                .filter(|page| page.is_redirect())
                .and_then(|page| page.location.clone())
            else {
                return Ok(pages);
            };
            if self.is_authorize(&next)
                || (!self.on_app(&next) && !same_origin(&next, self.issuer.url()))
            {
                return Ok(pages);
            }
            pages.push(browser.get(&next).await?);
        }
        Err(Failure::mismatch(format!(
            "{url}: more than {MAX_HOPS} redirects, where a browser gives up"
        )))
    }

    /// A whole login in `browser` as `user`: every page from the start to the last.
    pub async fn log_in(
        &self,
        browser: &mut Browser,
        user: &UserConfig,
    ) -> Result<Vec<Page>, Failure> {
        let answered = self.answered(browser, user).await?;
        self.visit(browser, &answered.callback).await
    }

    /// Whether `browser` is signed in as `user`: the protected page, followed on the app
    /// only (a redirect to the issuer is a login asked for), looks signed in.
    pub async fn signed_in_as(
        &self,
        browser: &mut Browser,
        user: &UserConfig,
    ) -> Result<bool, Failure> {
        let signed_in = &self.settings.signed_in;
        let mut url = self.app(&self.settings.protected);
        for _ in 0..MAX_HOPS {
            let page = browser.get(&url).await?;
            match (page.is_redirect(), page.location) {
                (true, Some(next)) if self.on_app(&next) => url = next,
                (true, _) => return Ok(false),
                (false, _) => {
                    let url_matches = signed_in
                        .url
                        .as_deref()
                        .is_none_or(|wanted| path_of(&page.url) == wanted);
                    return Ok(page.answer.status == signed_in.status
                        && url_matches
                        && page.answer.body.contains(&signed_in.text_for(user)));
                }
            }
        }
        Ok(false)
    }

    /// A POST or GET as the app's own page would send it.
    pub async fn same_site(
        &self,
        browser: &mut Browser,
        method: &str,
        url: &str,
        fields: &[(&str, &str)],
    ) -> Result<Page, Failure> {
        if method == "POST" {
            let origin = origin_of(&self.url);
            browser
                .request(
                    Method::POST,
                    url,
                    &[
                        ("origin", origin.as_str()),
                        ("sec-fetch-site", "same-origin"),
                    ],
                    Some(fields),
                )
                .await
        } else {
            browser.get(url).await
        }
    }
}

async fn discover(issuer: &str) -> Result<IssuerEndpoints, Failure> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document: serde_json::Value = crate::http::Answer::send(crate::http::client().get(&url))
        .await?
        .json()?;
    let text = |name: &str| {
        document
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Ok(IssuerEndpoints {
        authorize: text("authorization_endpoint").ok_or_else(|| {
            Failure::setup("the issuer's discovery has no authorization_endpoint")
        })?,
        end_session: text("end_session_endpoint"),
        iss_parameter: document
            .get("authorization_response_iss_parameter_supported")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    })
}

/// `scheme://host:port` of a URL, as a browser sends it in `Origin`; "" for no URL.
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|parsed| parsed.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Whether two URLs share an origin (a browser's view: WHATWG parsing, so `/\host` is a host).
pub fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|parsed| parsed.path().to_owned())
        .unwrap_or_default()
}

/// `url` with the query parameter `name` replaced (or removed, with `None`).
pub fn replace_param(url: &str, name: &str, value: Option<&str>) -> Result<String, Failure> {
    let mut parsed = url::Url::parse(url).map_err(setup)?;
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .filter(|(key, _)| key != name)
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, value);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_table_is_checked() {
        let parse = |text: &str| toml::from_str::<WebSettings>(text).map_err(|e| e.to_string());
        let web = parse("protected = \"/p\"\nredirect_uri = \"/cb\"").unwrap();
        assert_eq!(web.signed_in, SignedIn::default());
        assert_eq!((web.timeout, web.logout_method.as_str()), (15, "GET"));
        assert!(web.check().is_ok());
        for bad in [
            "protected = \"p\"\nredirect_uri = \"/cb\"",
            "protected = \"/p\"\nredirect_uri = \"/cb\"\nlogout_method = \"DELETE\"",
            "protected = \"/p\"\nredirect_uri = \"/cb\"\ntimeout = 0",
            "protected = \"/p\"\nredirect_uri = \"/cb\"\ntimeout = 121",
        ] {
            assert!(parse(bad).unwrap().check().is_err(), "{bad}");
        }
        assert!(parse("protected = \"/p\"\nredirect_uri = \"/cb\"\nnope = 1").is_err());
    }

    #[test]
    fn origins_are_a_browsers() {
        assert!(same_origin(
            "http://127.0.0.1:8000/a",
            "http://127.0.0.1:8000"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8001/a",
            "http://127.0.0.1:8000"
        ));
        let base = url::Url::parse("http://127.0.0.1:8000/cb").unwrap();
        for sneaky in ["//evil.example/", "/\\evil.example/", "https:evil.example"] {
            let resolved = base.join(sneaky).unwrap();
            assert!(
                !same_origin(resolved.as_str(), "http://127.0.0.1:8000"),
                "{sneaky}"
            );
        }
        assert_eq!(
            replace_param("http://a/cb?code=1&state=2", "state", None).unwrap(),
            "http://a/cb?code=1"
        );
    }
}
