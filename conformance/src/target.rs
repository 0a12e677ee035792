//! The application under test for the API-flow and forgery scenarios (B, D): its URL, its
//! protected routes with what each requires, and a [`Minter`] for the issuer it trusts.
//!
//! Under `cargo test` the target is the client's API example served in-process, on a frozen
//! clock; with the `check` command it is any application, in any language, described by a
//! routes file:
//!
//! ```toml
//! client_id = "forge-web"   # the client whose audience the app accepts
//! user = "alice@example.com"
//! leeway = 60               # the app's clock-skew allowance, seconds
//!
//! [[route]]
//! path = "/authenticated-scope"
//! scopes = ["openid", "read"]
//!
//! [[route]]
//! path = "/optional-user"
//! optional = true
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use oidc_forge::{Config, MockIssuer};
use oidc_forge_client::clock::{Clock, FixedClock as AppClock};
use serde::Deserialize;

use crate::env::{self, IssuerEnv};
use crate::http::{self, Answer};
use crate::mint::{Minter, Profile};
use crate::scenario::{Failure, setup};

/// A routes file, as read from TOML.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    /// The client the application is registered as: the access tokens' `aud` is this
    /// client's audience, and `client_id` its id. Default: the first confidential client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The user the tokens are about (email or sub). Default: the auto-login user.
    #[serde(default)]
    pub user: Option<String>,
    /// The application's clock-skew allowance in seconds (default 60).
    #[serde(default = "default_leeway")]
    pub leeway: u64,
    /// The protected routes (none, when only the login flow is checked).
    #[serde(rename = "route", default)]
    pub routes: Vec<Route>,
    /// The app's browser login flow, for `check --web`.
    #[serde(default)]
    pub web: Option<crate::web_target::WebSettings>,
}

fn default_leeway() -> u64 {
    60
}

/// A protected route and what it requires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The path, e.g. `/authenticated-scope`.
    pub path: String,
    /// Scopes the route requires (all of them).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Permissions the route requires (all of them).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Anonymous requests are let through; a presented token must still be valid.
    #[serde(default)]
    pub optional: bool,
}

/// Why a routes file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoutesError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: String,
        /// The TOML error.
        #[source]
        source: toml::de::Error,
    },
    /// The file parses but cannot describe a target.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl RoutesFile {
    /// Reads and checks a routes file.
    pub fn load(path: &Path) -> Result<Self, RoutesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RoutesError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses and checks routes TOML; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, RoutesError> {
        let routes: RoutesFile = toml::from_str(text).map_err(|source| RoutesError::Parse {
            file: file.to_owned(),
            source,
        })?;
        if routes.routes.is_empty() && routes.web.is_none() {
            return Err(RoutesError::Invalid {
                file: file.to_owned(),
                message: "expected at least one [[route]], or a [web] table".into(),
            });
        }
        if let Some(web) = &routes.web {
            web.check().map_err(|message| RoutesError::Invalid {
                file: file.to_owned(),
                message,
            })?;
        }
        if let Some(bad) = routes.routes.iter().find(|r| !r.path.starts_with('/')) {
            return Err(RoutesError::Invalid {
                file: file.to_owned(),
                message: format!("route path {:?} must start with `/`", bad.path),
            });
        }
        // RFC 7519 4.1.4 allows "a few minutes"; the rows compute times from it.
        if routes.leeway > MAX_LEEWAY {
            return Err(RoutesError::Invalid {
                file: file.to_owned(),
                message: format!(
                    "leeway = {}: at most {MAX_LEEWAY} seconds (RFC 7519 4.1.4: \"a few minutes\")",
                    routes.leeway
                ),
            });
        }
        Ok(routes)
    }

    /// The routes of the client's API example (`client/examples/api.rs`).
    pub fn api_example() -> Self {
        let route = |path: &str, scopes: &[&str], permissions: &[&str], optional| Route {
            path: path.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            optional,
        };
        Self {
            client_id: Some(env::WEB_CLIENT.0.into()),
            user: None,
            leeway: 60,
            web: None,
            routes: vec![
                route("/authenticated", &[], &[], false),
                route("/authenticated-scope", &["openid", "read"], &[], false),
                route("/authenticated-permissions", &[], &["castles:read"], false),
                route("/optional-user", &[], &[], true),
            ],
        }
    }
}

/// The application's clock, as far as minting is concerned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TargetClock {
    /// An in-process app on a frozen clock: boundaries can be tested to the second.
    Fixed(Arc<AppClock>),
    /// Any other app: the system clock, with a margin around boundaries.
    System,
}

/// The largest clock-skew allowance a routes file may give: an hour, well past RFC 7519's "a
/// few minutes", and far from the arithmetic's limits.
pub const MAX_LEEWAY: u64 = 3600;

/// An application the B and D scenarios drive.
#[derive(Debug)]
pub struct ApiTarget {
    /// The application's base URL.
    pub url: String,
    /// Its routes.
    pub routes: RoutesFile,
    /// Signs tokens as the issuer the app trusts.
    pub mint: Minter,
    /// The app's clock.
    pub clock: TargetClock,
    /// The issuer the app trusts, for scenarios that change its keys or behaviour.
    pub issuer: Arc<MockIssuer>,
    /// An HTTP client that does not follow redirects.
    pub http: reqwest::Client,
}

impl ApiTarget {
    /// A target for `url`, trusting `issuer`, described by `routes`.
    pub fn new(
        url: String,
        routes: RoutesFile,
        issuer: Arc<MockIssuer>,
        clock: TargetClock,
    ) -> Result<Self, Failure> {
        let config = issuer.config();
        let client = match &routes.client_id {
            Some(id) => config
                .client(id)
                .ok_or_else(|| Failure::setup(format!("no client `{id}` in the issuer")))?,
            None => config
                .clients
                .iter()
                .find(|c| !c.is_public())
                .or(config.clients.first())
                .ok_or_else(|| Failure::setup("the issuer has no client"))?,
        };
        let user = match &routes.user {
            Some(wanted) => config.find_user(wanted),
            None => config.auto_login_user(),
        }
        .ok_or_else(|| Failure::setup("no such user in the issuer's configuration"))?;
        let profile = Profile {
            sub: user.sub.to_string(),
            aud: client.access_token_audience(),
            client_id: client.id.clone(),
        };
        let mint = Minter::new(&issuer, profile)?;
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            routes,
            mint,
            clock,
            issuer,
            http: http::client(),
        })
    }

    /// The client's API example served in-process against a fresh issuer, both on a clock
    /// frozen at [`env::NOW`].
    pub async fn api_example() -> Result<Self, Failure> {
        Self::api_example_with(|_| {}).await
    }

    /// As [`ApiTarget::api_example`], with the issuer's configuration edited.
    pub async fn api_example_with(edit: impl FnOnce(&mut Config)) -> Result<Self, Failure> {
        let issuer = IssuerEnv::start(edit).await?;
        let (client, clock) = env::app_client(issuer.iss())?;
        Self::serve_api_example(client, RoutesFile::api_example(), issuer.issuer, clock).await
    }

    /// Serves the API example with `client`, trusting `issuer`, on a frozen `clock`.
    async fn serve_api_example(
        client: oidc_forge_client::Client,
        routes: RoutesFile,
        issuer: Arc<MockIssuer>,
        clock: Arc<AppClock>,
    ) -> Result<Self, Failure> {
        let (listener, url) = env::bind().await?;
        env::serve(
            listener,
            crate::apps::api::app(crate::apps::api::auth(client)),
        );
        Self::new(url, routes, issuer, TargetClock::Fixed(clock))
    }

    /// For an in-process target: the same API example, trusting the same issuer on the same
    /// clock, but whose client allows `algorithms`. `None` for an external app, whose
    /// configuration is not ours to change.
    pub async fn twin_allowing(
        &self,
        algorithms: &[jsonwebtoken::Algorithm],
    ) -> Result<Option<Self>, Failure> {
        let TargetClock::Fixed(clock) = &self.clock else {
            return Ok(None);
        };
        let client = oidc_forge_client::Client::builder(self.issuer.url(), env::WEB_CLIENT.0)
            .client_secret(env::WEB_CLIENT.1)
            .clock(clock.clone() as Arc<dyn Clock>)
            .http_client(http::client())
            .algorithms(algorithms.iter().copied())
            .build()
            .map_err(setup)?;
        Self::serve_api_example(
            client,
            self.routes.clone(),
            self.issuer.clone(),
            clock.clone(),
        )
        .await
        .map(Some)
    }

    /// The app's "now".
    pub fn now(&self) -> u64 {
        match &self.clock {
            TargetClock::Fixed(clock) => clock.now(),
            TargetClock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Seconds of margin around a time boundary: 0 on a frozen clock, a few on a real one
    /// (the request takes time, and the app's clock may differ a little from ours).
    pub fn margin(&self) -> u64 {
        match self.clock {
            TargetClock::Fixed(_) => 0,
            TargetClock::System => 5,
        }
    }

    /// The first route that is not optional and matches `pick`.
    pub fn route(&self, what: &str, pick: impl Fn(&Route) -> bool) -> Result<&Route, Failure> {
        self.routes
            .routes
            .iter()
            .find(|r| !r.optional && pick(r))
            .ok_or_else(|| Failure::skipped(format!("the routes file names no {what}")))
    }

    /// A protected, non-optional route (the simplest one: fewest requirements).
    pub fn protected(&self) -> Result<&Route, Failure> {
        self.routes
            .routes
            .iter()
            .filter(|r| !r.optional)
            .min_by_key(|r| r.scopes.len() + r.permissions.len())
            .ok_or_else(|| Failure::skipped("the routes file names no protected route"))
    }

    /// An optional-user route.
    pub fn optional_route(&self) -> Result<&Route, Failure> {
        self.routes
            .routes
            .iter()
            .find(|r| r.optional)
            .ok_or_else(|| Failure::skipped("the routes file names no optional route"))
    }

    /// The claims of a valid access token for `route`, issued at the app's now.
    pub fn claims_for(&self, route: &Route) -> serde_json::Value {
        self.mint
            .access_claims(self.now(), &route.scopes, &route.permissions)
    }

    /// A valid access token for `route`.
    pub fn token_for(&self, route: &Route) -> String {
        self.mint
            .sign(&self.mint.access_header(), &self.claims_for(route))
    }

    /// The full URL of `route`.
    pub fn url_of(&self, route: &Route) -> String {
        format!("{}{}", self.url, route.path)
    }

    /// GETs `route` with an `Authorization` header value (or none).
    pub async fn call(
        &self,
        route: &Route,
        authorization: Option<&str>,
    ) -> Result<Answer, Failure> {
        self.call_url(&self.url_of(route), authorization).await
    }

    /// GETs `url` with an `Authorization` header value (or none).
    pub async fn call_url(
        &self,
        url: &str,
        authorization: Option<&str>,
    ) -> Result<Answer, Failure> {
        let mut request = self.http.get(url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let answer = Answer::send(request).await?;
        crate::evidence::record(|| answer.exchange("GET", url, authorization));
        Ok(answer)
    }

    /// GETs `route` with `Authorization: Bearer token`.
    pub async fn bearer(&self, route: &Route, token: &str) -> Result<Answer, Failure> {
        self.call(route, Some(&format!("Bearer {token}"))).await
    }
}

/// Loads an issuer configuration file for the `check` command.
pub fn load_issuer_config(path: &Path) -> Result<Config, Failure> {
    Config::load(path).map_err(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leeway_beyond_an_hour_is_refused() {
        let file = |leeway: u64| format!("leeway = {leeway}\n[[route]]\npath = \"/a\"\n");
        assert_eq!(
            RoutesFile::parse(&file(MAX_LEEWAY), "r.toml")
                .unwrap()
                .leeway,
            MAX_LEEWAY
        );
        let error = RoutesFile::parse(&file(MAX_LEEWAY + 1), "r.toml").unwrap_err();
        assert!(
            error.to_string().contains("at most 3600 seconds"),
            "{error}"
        );
    }
}
