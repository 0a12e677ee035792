//! [`ClientBuilder`]: the issuer, the client's credentials and what it validates, checked
//! once when the client is built.

use jsonwebtoken::Algorithm;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::discovery::discovery_url;
use crate::error::Error;
use crate::jwks::JwksCache;
use crate::validate::{DEFAULT_MAX_TOKEN_BYTES, algorithm_name};

/// The largest clock-skew allowance a client accepts: an hour.
pub const MAX_LEEWAY: u64 = 3600;

/// How long one call to the issuer may take by default: a login page that waits longer for
/// the issuer than a user waits for it fails worse than one that says the issuer is down.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

use super::*;

/// How the client authenticates to the token endpoint (RFC 6749 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 2.3.1); the default with a secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (what the Fief client does).
    ClientSecretPost,
    /// A public client: `client_id` in the body, no secret; the default without one.
    None,
}

/// Configuration for a [`Client`]; every option has a safe default.
///
/// ```
/// use oidc_forge_client::{Client, jsonwebtoken::Algorithm};
/// let client = Client::builder("https://issuer.example", "my-app")
///     .client_secret("s3cret")
///     .algorithms([Algorithm::RS256, Algorithm::ES256])
///     .access_token_audience("https://api.example")
///     .leeway(30)
///     .build()
///     .unwrap();
/// assert_eq!(client.issuer(), "https://issuer.example");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    auth_method: Option<ClientAuthMethod>,
    algorithms: Vec<Algorithm>,
    access_token_audiences: Vec<String>,
    trusted_id_token_audiences: Vec<String>,
    leeway: u64,
    max_token_bytes: usize,
    require_access_token_typ: bool,
    jwks_cooldown: u64,
    jwks_max_age: u64,
    discovery_url: Option<String>,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
    timeout: Duration,
}

impl ClientBuilder {
    pub(super) fn new(issuer: String, client_id: String) -> Self {
        Self {
            issuer,
            client_id,
            client_secret: None,
            auth_method: None,
            algorithms: vec![Algorithm::RS256],
            access_token_audiences: Vec::new(),
            trusted_id_token_audiences: Vec::new(),
            leeway: 60,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            require_access_token_typ: true,
            jwks_cooldown: 30,
            jwks_max_age: 3600,
            discovery_url: None,
            clock: Arc::new(SystemClock),
            http: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The client secret of a confidential client.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Sets the secret only when `Some` (handy with environment variables).
    pub fn maybe_client_secret(mut self, secret: Option<String>) -> Self {
        self.client_secret = secret;
        self
    }

    /// Token endpoint authentication; defaults to `client_secret_basic` with a
    /// secret and `none` without.
    pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// The signature algorithms accepted, for every token (default `[RS256]`).
    /// The token's header never widens this list (RFC 8725 3.1). HMAC
    /// algorithms are refused at build time: keys come from a public JWKS.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// An audience this API accepts in access tokens; call again to add more.
    /// Defaults to the client id (the issuer's default audience).
    pub fn access_token_audience(mut self, audience: impl Into<String>) -> Self {
        self.access_token_audiences.push(audience.into());
        self
    }

    /// An extra audience tolerated in ID tokens besides the client id
    /// (Core 3.1.3.7(3)); none by default.
    pub fn trusted_id_token_audience(mut self, audience: impl Into<String>) -> Self {
        self.trusted_id_token_audiences.push(audience.into());
        self
    }

    /// Clock skew allowance for `exp`, `nbf` and `iat`, in seconds (default 60, at most
    /// [`MAX_LEEWAY`]).
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Tokens longer than this are refused before any parsing (default 16 KiB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Whether access tokens must carry `typ: at+jwt` (RFC 9068 4). On by
    /// default; turn off only for issuers that omit `typ`, as Fief does.
    pub fn require_access_token_typ(mut self, required: bool) -> Self {
        self.require_access_token_typ = required;
        self
    }

    /// Minimum seconds between two JWKS fetches (default 30).
    pub fn jwks_refetch_cooldown(mut self, seconds: u64) -> Self {
        self.jwks_cooldown = seconds;
        self
    }

    /// Keys older than this are refreshed before use (default 3600 s).
    pub fn jwks_max_age(mut self, seconds: u64) -> Self {
        self.jwks_max_age = seconds;
        self
    }

    /// Overrides the discovery URL (default `{issuer}/.well-known/openid-configuration`).
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.discovery_url = Some(url.into());
        self
    }

    /// The clock every time rule reads; inject a [`crate::clock::FixedClock`] in tests.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client. It must not follow redirects (the default one does
    /// not): a token endpoint that redirects would otherwise receive the code
    /// and credentials at another address.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Timeout for each call to the issuer (default [`DEFAULT_TIMEOUT`], 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the configuration and builds the client. No network I/O happens
    /// here: discovery is fetched on first use.
    pub fn build(self) -> Result<Client, Error> {
        // jsonwebtoken panics at verification time when it cannot pick a
        // backend (e.g. another crate also enabled `rust_crypto`); installing
        // aws-lc explicitly makes that impossible. Already installed is fine.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let issuer_url = Url::parse(&self.issuer)
            .map_err(|error| Error::Configuration(format!("issuer is not a URL: {error}")))?;
        // Core 2 / Discovery 2: the issuer is an http(s) URL without query or fragment.
        if !matches!(issuer_url.scheme(), "http" | "https")
            || issuer_url.query().is_some()
            || issuer_url.fragment().is_some()
        {
            return Err(Error::Configuration(
                "the issuer must be an http(s) URL without query or fragment".into(),
            ));
        }
        if self.client_id.is_empty() {
            return Err(Error::Configuration("the client id is empty".into()));
        }
        // RFC 7519 4.1.4: "a small leeway, usually no more than a few minutes"; a larger one
        // would quietly turn `exp`, `nbf`, `iat` and `max_age` off.
        if self.leeway > MAX_LEEWAY {
            return Err(Error::Configuration(format!(
                "a leeway of {} s: at most {MAX_LEEWAY} s (RFC 7519 4.1.4)",
                self.leeway
            )));
        }
        if self.algorithms.is_empty() {
            return Err(Error::Configuration(
                "the algorithm allowlist is empty".into(),
            ));
        }
        if let Some(hmac) = self
            .algorithms
            .iter()
            .find(|alg| matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(Error::Configuration(format!(
                "{} is not allowed: keys come from the issuer's public JWKS, and an HMAC allowlist invites key confusion (RFC 8725 3.1)",
                algorithm_name(*hmac)
            )));
        }
        let auth_method = match (self.auth_method, &self.client_secret) {
            (Some(ClientAuthMethod::None), _) | (None, None) => ClientAuthMethod::None,
            (Some(method), Some(_)) => method,
            (None, Some(_)) => ClientAuthMethod::ClientSecretBasic,
            (Some(method), None) => {
                return Err(Error::Configuration(format!(
                    "{method:?} needs a client secret"
                )));
            }
        };
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.timeout)
                .build()
                .map_err(|error| {
                    Error::Configuration(format!("cannot build the HTTP client: {error}"))
                })?,
        };
        let access_token_audiences = if self.access_token_audiences.is_empty() {
            vec![self.client_id.clone()]
        } else {
            self.access_token_audiences
        };
        Ok(Client {
            inner: Arc::new(Inner {
                discovery_url: self
                    .discovery_url
                    .unwrap_or_else(|| discovery_url(&self.issuer)),
                issuer: self.issuer,
                client_id: self.client_id,
                client_secret: self.client_secret,
                auth_method,
                algorithms: self.algorithms,
                access_token_audiences,
                trusted_id_token_audiences: self.trusted_id_token_audiences,
                leeway: self.leeway,
                max_token_bytes: self.max_token_bytes,
                require_access_token_typ: self.require_access_token_typ,
                discovery_cooldown: self.jwks_cooldown,
                clock: self.clock,
                http,
                metadata: tokio::sync::Mutex::new(MetadataState::default()),
                jwks: JwksCache::new(self.jwks_cooldown, self.jwks_max_age),
            }),
        })
    }
}
