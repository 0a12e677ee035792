//! The [`Client`]: Fief's `Fief`/`FiefAsync` in Rust, validating strictly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::discovery::{ProviderMetadata, check_metadata, discovery_url};
use crate::error::{Error, TokenError};
use crate::http::{Body, send};
use crate::jwks::{JwksCache, KeyLookupError, parse_jwks};
use crate::pkce::PkceVerifier;
use crate::tokens::{AccessTokenInfo, IdTokenClaims, TokenResponse, UserInfo};
use crate::validate::{
    self, AccessTokenRules, DEFAULT_MAX_TOKEN_BYTES, IdTokenRules, ParsedJwt, algorithm_name,
};

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
    fn new(issuer: String, client_id: String) -> Self {
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
            timeout: Duration::from_secs(30),
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

    /// Clock skew allowance for `exp`, `nbf` and `iat`, in seconds (default 60).
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

    /// Timeout for each call to the issuer (default 30 s).
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

#[derive(Default)]
struct MetadataState {
    metadata: Option<Arc<ProviderMetadata>>,
    last_failure: Option<(u64, String)>,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    auth_method: ClientAuthMethod,
    algorithms: Vec<Algorithm>,
    access_token_audiences: Vec<String>,
    trusted_id_token_audiences: Vec<String>,
    leeway: u64,
    max_token_bytes: usize,
    require_access_token_typ: bool,
    discovery_url: String,
    discovery_cooldown: u64,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<MetadataState>,
    jwks: JwksCache,
}

/// An OpenID Connect client and resource-server validator. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .field("auth_method", &self.inner.auth_method)
            .field("algorithms", &self.inner.algorithms)
            .finish_non_exhaustive()
    }
}

/// The parameters of an authorization request (Core 3.1.2.1), Fief's `auth_url` arguments.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthorizationRequest {
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<(String, String)>,
    max_age: Option<u64>,
    extras: Vec<(String, String)>,
}

/// Parameters the client sets itself; extras may not override them.
const RESERVED_AUTHORIZATION_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    // Set with `max_age()`, so that the callback knows to check `auth_time`.
    "max_age",
];

impl AuthorizationRequest {
    /// A request that returns to `redirect_uri`.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            state: None,
            nonce: None,
            code_challenge: None,
            max_age: None,
            extras: Vec::new(),
        }
    }

    /// Requested scopes, e.g. `["openid", "email"]`.
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The `state` to round-trip (see [`crate::pkce::generate_state`]).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The `nonce` the ID token must echo (see [`crate::pkce::generate_nonce`]).
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// PKCE with S256 for this verifier (RFC 7636 4.2).
    pub fn pkce(mut self, verifier: &PkceVerifier) -> Self {
        self.code_challenge = Some((verifier.challenge(), "S256".into()));
        self
    }

    /// A precomputed PKCE challenge and method, as Fief's `auth_url` takes them.
    pub fn code_challenge(
        mut self,
        challenge: impl Into<String>,
        method: impl Into<String>,
    ) -> Self {
        self.code_challenge = Some((challenge.into(), method.into()));
        self
    }

    /// The longest time since the user last signed in, in seconds (Core
    /// 3.1.2.1). Give the same value to [`CodeExchange::max_age`]: the ID
    /// token's `auth_time` is then checked (Core 3.1.3.7 (13)).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Any other parameter (`prompt`, `ui_locales`, Fief's `lang`, ...).
    pub fn extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extras.push((name.into(), value.into()));
        self
    }
}

/// The callback exchange: the code, and what it must be checked against.
#[derive(Debug, Clone)]
#[must_use]
pub struct CodeExchange {
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
    nonce: Option<String>,
    max_age: Option<u64>,
}

impl CodeExchange {
    /// Redeems `code`, which was issued for `redirect_uri`.
    pub fn new(code: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            redirect_uri: redirect_uri.into(),
            code_verifier: None,
            nonce: None,
            max_age: None,
        }
    }

    /// The PKCE verifier whose challenge went into the authorization request.
    pub fn code_verifier(mut self, verifier: &PkceVerifier) -> Self {
        self.code_verifier = Some(verifier.as_str().to_owned());
        self
    }

    /// The nonce sent in the authorization request; the ID token must echo it.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// The `max_age` sent in the authorization request: the ID token must
    /// then carry an `auth_time` at most that old (Core 3.1.3.7 (13)).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }
}

/// A refresh request (RFC 6749 6).
///
/// A refreshed ID token must name the same user as the one the session began
/// with (Core 12.2), so the request carries that user's `sub`. Only a caller
/// that never had an ID token says so explicitly, with
/// [`RefreshRequest::without_subject_check`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RefreshRequest {
    refresh_token: String,
    scopes: Option<Vec<String>>,
    previous_subject: Option<String>,
}

impl RefreshRequest {
    /// Refreshes with `refresh_token`, issued in a session whose ID token
    /// named `previous_subject`; a refreshed ID token must keep it (Core 12.2).
    pub fn new(refresh_token: impl Into<String>, previous_subject: impl Into<String>) -> Self {
        Self {
            refresh_token: refresh_token.into(),
            scopes: None,
            previous_subject: Some(previous_subject.into()),
        }
    }

    /// Refreshes without a subject to compare a refreshed ID token with: for
    /// grants that never had an ID token. A returned ID token is still
    /// validated, but Core 12.2's `sub` rule cannot be applied.
    pub fn without_subject_check(refresh_token: impl Into<String>) -> Self {
        Self {
            refresh_token: refresh_token.into(),
            scopes: None,
            previous_subject: None,
        }
    }

    /// Narrows the scope (must be a subset of the original grant).
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// What a route demands of an access token: Fief's `required_scope`,
/// `required_permissions` and `required_acr`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Requirements {
    /// Every one of these scopes must be granted.
    pub scopes: Vec<String>,
    /// Every one of these permissions must be granted.
    pub permissions: Vec<String>,
    /// The minimum authentication context class.
    pub acr: Option<String>,
}

impl Requirements {
    /// No requirement beyond a valid token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires these scopes (exact, case-sensitive match).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Requires these permissions (exact, case-sensitive match).
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = permissions.into_iter().map(Into::into).collect();
        self
    }

    /// Requires at least this `acr`. Numeric levels (Fief's "0", "1") compare
    /// as numbers; anything else must match exactly.
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Checks a validated token against these requirements: scope first, then
    /// `acr`, then permissions, as Fief does.
    pub fn check(&self, info: &AccessTokenInfo) -> Result<(), Error> {
        let missing = validate::missing_items(&self.scopes, &info.scope);
        if !missing.is_empty() {
            return Err(Error::MissingScope {
                missing,
                required: self.scopes.clone(),
            });
        }
        if let Some(required) = &self.acr
            && !acr_satisfies(info.acr.as_deref(), required)
        {
            return Err(Error::AcrTooLow {
                required: required.clone(),
                actual: info.acr.clone(),
            });
        }
        let missing = validate::missing_items(&self.permissions, &info.permissions);
        if !missing.is_empty() {
            return Err(Error::MissingPermission { missing });
        }
        Ok(())
    }
}

/// RFC 6749 5.1: a usable token response. `token_type` is case-insensitive
/// (7.1) and must be Bearer; `expires_in` and `scope` may be absent (C-26).
pub(crate) fn check_token_response(response: &TokenResponse) -> Result<(), String> {
    if !response.token_type.eq_ignore_ascii_case("bearer") {
        return Err(format!(
            "token_type {:?} is not Bearer",
            response.token_type.chars().take(40).collect::<String>()
        ));
    }
    if response.access_token.is_empty() {
        return Err("empty access_token".into());
    }
    Ok(())
}

fn acr_satisfies(actual: Option<&str>, required: &str) -> bool {
    let Some(actual) = actual else { return false };
    match (actual.parse::<u32>(), required.parse::<u32>()) {
        (Ok(actual), Ok(required)) => actual >= required,
        _ => actual == required,
    }
}

/// An RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0, 2).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LogoutRequest {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

impl LogoutRequest {
    /// An empty logout request.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ID token last issued to this user (recommended).
    pub fn id_token_hint(mut self, id_token: impl Into<String>) -> Self {
        self.id_token_hint = Some(id_token.into());
        self
    }

    /// Where the issuer sends the browser afterwards; must be registered.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// A value round-tripped to the post-logout redirect.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }
}

enum VerifyFailure {
    Token(TokenError),
    Other(Error),
}

impl Client {
    /// Starts configuring a client for `issuer` (the exact issuer identifier,
    /// e.g. `https://fief.mydomain.com`) and `client_id`.
    pub fn builder(issuer: impl Into<String>, client_id: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(issuer.into(), client_id.into())
    }

    /// Fief's constructor: issuer, client id and optional secret, defaults otherwise.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<String>,
    ) -> Result<Self, Error> {
        Self::builder(issuer, client_id)
            .maybe_client_secret(client_secret)
            .build()
    }

    /// The configured issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The clock the client validates with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// How many times the JWKS has been fetched (diagnostics; shows the
    /// single-flight and cooldown at work).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.jwks.fetch_count()
    }

    /// The issuer's metadata, fetched on first use and cached for the life of
    /// the client. A failed fetch is retried, at most once per cooldown.
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        let mut state = self.inner.metadata.lock().await;
        if let Some(metadata) = &state.metadata {
            return Ok(metadata.clone());
        }
        let now = self.inner.clock.now();
        if let Some((at, error)) = &state.last_failure
            && now < at.saturating_add(self.inner.discovery_cooldown)
        {
            return Err(Error::Discovery(error.clone()));
        }
        match self.fetch_metadata().await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                state.metadata = Some(metadata.clone());
                state.last_failure = None;
                Ok(metadata)
            }
            Err(error) => {
                state.last_failure = Some((now, error.clone()));
                Err(Error::Discovery(error))
            }
        }
    }

    async fn fetch_metadata(&self) -> Result<ProviderMetadata, String> {
        const ENDPOINT: &str = "discovery endpoint";
        let body = send(self.inner.http.get(&self.inner.discovery_url), ENDPOINT)
            .await
            .and_then(|body| body.success(ENDPOINT))
            .map_err(|error| error.to_string())?;
        let metadata: ProviderMetadata = body.json(ENDPOINT).map_err(|error| error.to_string())?;
        check_metadata(&metadata, &self.inner.issuer)?;
        Ok(metadata)
    }

    /// Builds the authorization URL from the discovered `authorization_endpoint`
    /// (Fief's `auth_url`).
    pub async fn auth_url(&self, request: &AuthorizationRequest) -> Result<Url, Error> {
        let metadata = self.metadata().await?;
        if let Some((name, _)) = request
            .extras
            .iter()
            .find(|(name, _)| RESERVED_AUTHORIZATION_PARAMS.contains(&name.as_str()))
        {
            return Err(Error::Configuration(format!(
                "the extra parameter {name:?} would override one the client sets itself"
            )));
        }
        let mut url = Url::parse(&metadata.authorization_endpoint)
            .map_err(|error| Error::Discovery(format!("authorization_endpoint: {error}")))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.inner.client_id)
                .append_pair("redirect_uri", &request.redirect_uri);
            if !request.scopes.is_empty() {
                query.append_pair("scope", &request.scopes.join(" "));
            }
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
            if let Some(nonce) = &request.nonce {
                query.append_pair("nonce", nonce);
            }
            if let Some((challenge, method)) = &request.code_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", method);
            }
            if let Some(max_age) = request.max_age {
                query.append_pair("max_age", &max_age.to_string());
            }
            for (name, value) in &request.extras {
                query.append_pair(name, value);
            }
        }
        Ok(url)
    }

    async fn token_request(&self, mut form: Vec<(&str, String)>) -> Result<TokenResponse, Error> {
        const ENDPOINT: &str = "token endpoint";
        let metadata = self.metadata().await?;
        let mut request = self
            .inner
            .http
            .post(&metadata.token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json");
        match (self.inner.auth_method, &self.inner.client_secret) {
            (ClientAuthMethod::ClientSecretBasic, Some(secret)) => {
                // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
                let encode = |value: &str| {
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                };
                let credentials = format!("{}:{}", encode(&self.inner.client_id), encode(secret));
                request = request.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(credentials)),
                );
            }
            (ClientAuthMethod::ClientSecretPost, Some(secret)) => {
                form.push(("client_id", self.inner.client_id.clone()));
                form.push(("client_secret", secret.clone()));
            }
            _ => form.push(("client_id", self.inner.client_id.clone())),
        }
        let body = send(request.form(&form), ENDPOINT)
            .await?
            .success(ENDPOINT)?;
        let response: TokenResponse = body.json(ENDPOINT)?;
        check_token_response(&response).map_err(|reason| Error::InvalidResponse {
            endpoint: ENDPOINT,
            reason,
        })?;
        Ok(response)
    }

    /// Redeems an authorization code (Fief's `auth_callback`): returns the
    /// tokens and the validated ID-token claims.
    ///
    /// The ID token is required and checked per Core 3.1.3.7, including the
    /// nonce, `at_hash` and `c_hash`. If any check fails, no token is returned
    /// (Core 3.1.3.7(11); RFC 9700 4.5.3.2).
    pub async fn auth_callback(
        &self,
        exchange: CodeExchange,
    ) -> Result<(TokenResponse, IdTokenClaims), Error> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", exchange.code.clone()),
            ("redirect_uri", exchange.redirect_uri.clone()),
        ];
        if let Some(verifier) = &exchange.code_verifier {
            form.push(("code_verifier", verifier.clone()));
        }
        let tokens = self.token_request(form).await?;
        let id_token = tokens.id_token.as_deref().ok_or_else(|| {
            Error::IdTokenInvalid(TokenError::Malformed(
                "the token response has no id_token (was `openid` requested?)".into(),
            ))
        })?;
        let claims = self
            .validate_id_token_with(
                id_token,
                exchange.nonce.as_deref(),
                Some(&tokens.access_token),
                Some(&exchange.code),
                None,
                exchange.max_age,
            )
            .await?;
        Ok((tokens, claims))
    }

    /// Uses a refresh token (RFC 6749 6). A returned ID token is validated,
    /// and must keep the original subject when one is given (Core 12.2).
    pub async fn refresh(
        &self,
        request: RefreshRequest,
    ) -> Result<(TokenResponse, Option<IdTokenClaims>), Error> {
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", request.refresh_token.clone()),
        ];
        if let Some(scopes) = &request.scopes {
            form.push(("scope", scopes.join(" ")));
        }
        let tokens = self.token_request(form).await?;
        let claims = match tokens.id_token.as_deref() {
            Some(id_token) => Some(
                self.validate_id_token_with(
                    id_token,
                    None,
                    Some(&tokens.access_token),
                    None,
                    request.previous_subject.as_deref(),
                    None,
                )
                .await?,
            ),
            None => None,
        };
        Ok((tokens, claims))
    }

    /// Fief's `auth_refresh_token(refresh_token, scope=...)`, with the `sub`
    /// of the session's ID token, which a refreshed ID token must keep
    /// (Core 12.2; Fief does not check it).
    pub async fn auth_refresh_token(
        &self,
        refresh_token: &str,
        previous_subject: &str,
        scopes: Option<&[&str]>,
    ) -> Result<(TokenResponse, Option<IdTokenClaims>), Error> {
        let mut request = RefreshRequest::new(refresh_token, previous_subject);
        if let Some(scopes) = scopes {
            request = request.scope(scopes.iter().copied());
        }
        self.refresh(request).await
    }

    /// The client credentials grant (RFC 6749 4.4), for machine-to-machine calls.
    pub async fn client_credentials(&self, scopes: &[&str]) -> Result<TokenResponse, Error> {
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !scopes.is_empty() {
            form.push(("scope", scopes.join(" ")));
        }
        self.token_request(form).await
    }

    async fn verify(&self, token: &str) -> Result<(ParsedJwt, Algorithm), VerifyFailure> {
        let parsed = validate::parse_compact(token, self.inner.max_token_bytes)
            .map_err(VerifyFailure::Token)?;
        let alg = validate::check_algorithm(&parsed.alg, &self.inner.algorithms)
            .map_err(VerifyFailure::Token)?;
        let metadata = self.metadata().await.map_err(VerifyFailure::Other)?;
        let now = self.inner.clock.now();
        let fetch = || async {
            const ENDPOINT: &str = "JWKS endpoint";
            let body: Body = send(self.inner.http.get(&metadata.jwks_uri), ENDPOINT)
                .await
                .and_then(|body| body.success(ENDPOINT))
                .map_err(|error| error.to_string())?;
            let document: serde_json::Value =
                body.json(ENDPOINT).map_err(|error| error.to_string())?;
            parse_jwks(&document)
        };
        let keys = self
            .inner
            .jwks
            .keys_for(parsed.kid.as_deref(), alg, now, fetch)
            .await
            .map_err(|error| match error {
                KeyLookupError::NoMatch(what) => VerifyFailure::Token(TokenError::UnknownKey(what)),
                KeyLookupError::Unavailable(why) => {
                    VerifyFailure::Other(Error::KeysUnavailable(why))
                }
            })?;
        // Core 10.1: without a kid, try each key that fits the algorithm.
        if keys
            .iter()
            .any(|key| validate::verify_signature(&parsed, key, alg).is_ok())
        {
            Ok((parsed, alg))
        } else {
            Err(VerifyFailure::Token(TokenError::BadSignature))
        }
    }

    /// Validates an access token and checks `requirements` (Fief's
    /// `validate_access_token`): signature from the issuer's JWKS, `typ`,
    /// `iss`, `aud`, `exp`/`nbf`/`iat`, claim types, then scopes, `acr` and
    /// permissions.
    pub async fn validate_access_token(
        &self,
        token: &str,
        requirements: &Requirements,
    ) -> Result<AccessTokenInfo, Error> {
        let invalid = |error: TokenError| match error {
            TokenError::Expired {
                expired_ago,
                leeway,
            } => Error::AccessTokenExpired {
                expired_ago,
                leeway,
            },
            other => Error::AccessTokenInvalid(other),
        };
        let (parsed, _alg) = self.verify(token).await.map_err(|failure| match failure {
            VerifyFailure::Token(error) => invalid(error),
            VerifyFailure::Other(error) => error,
        })?;
        let rules = AccessTokenRules {
            issuer: &self.inner.issuer,
            audiences: &self.inner.access_token_audiences,
            require_typ: self.inner.require_access_token_typ,
            leeway: self.inner.leeway,
            now: self.inner.clock.now(),
        };
        let info = validate::into_access_token_info(parsed, token, &rules).map_err(invalid)?;
        requirements.check(&info)?;
        Ok(info)
    }

    /// Validates an ID token outside the code flow (e.g. one kept in a session).
    /// `nonce` is checked when given.
    pub async fn validate_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        self.validate_id_token_with(id_token, nonce, None, None, None, None)
            .await
    }

    async fn validate_id_token_with(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
        code: Option<&str>,
        previous_subject: Option<&str>,
        max_age: Option<u64>,
    ) -> Result<IdTokenClaims, Error> {
        let (parsed, alg) = self
            .verify(id_token)
            .await
            .map_err(|failure| match failure {
                VerifyFailure::Token(error) => Error::IdTokenInvalid(error),
                VerifyFailure::Other(error) => error,
            })?;
        let rules = IdTokenRules {
            issuer: &self.inner.issuer,
            client_id: &self.inner.client_id,
            trusted_audiences: &self.inner.trusted_id_token_audiences,
            nonce,
            access_token,
            code,
            previous_subject,
            max_age,
            leeway: self.inner.leeway,
            now: self.inner.clock.now(),
        };
        validate::id_token_claims(&parsed, alg, &rules).map_err(Error::IdTokenInvalid)
    }

    /// Calls the UserInfo endpoint with the access token in the
    /// `Authorization` header (Core 5.3.1; never in the query, RFC 6750 2.3)
    /// and checks that its `sub` is `expected_subject` (Core 5.3.2).
    pub async fn userinfo(
        &self,
        access_token: &str,
        expected_subject: &str,
    ) -> Result<UserInfo, Error> {
        const ENDPOINT: &str = "userinfo endpoint";
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .userinfo_endpoint
            .as_deref()
            .ok_or_else(|| Error::Discovery("the issuer advertises no userinfo_endpoint".into()))?;
        let body = send(
            self.inner
                .http
                .get(endpoint)
                .bearer_auth(access_token)
                .header(reqwest::header::ACCEPT, "application/json"),
            ENDPOINT,
        )
        .await?
        .success(ENDPOINT)?;
        if body
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/jwt"))
        {
            return Err(Error::InvalidResponse {
                endpoint: ENDPOINT,
                reason: "signed or encrypted UserInfo responses are not supported".into(),
            });
        }
        let claims: serde_json::Map<String, serde_json::Value> = body.json(ENDPOINT)?;
        let userinfo = UserInfo::from_claims(claims).ok_or_else(|| {
            Error::UserInfoInvalid("the response has no string `sub` (Core 5.3.2)".into())
        })?;
        // Core 5.3.2: the sub in the UserInfo response MUST be verified to
        // exactly match the sub in the ID token; if not, it MUST NOT be used.
        if userinfo.sub() != expected_subject {
            return Err(Error::UserInfoInvalid(format!(
                "its sub {:?} is not the expected {:?} (Core 5.3.2)",
                userinfo.sub().chars().take(80).collect::<String>(),
                expected_subject
            )));
        }
        Ok(userinfo)
    }

    /// The issuer's logout URL from the discovered `end_session_endpoint`
    /// (RP-Initiated Logout 1.0), with `client_id` always included.
    pub async fn logout_url(&self, request: &LogoutRequest) -> Result<Url, Error> {
        let metadata = self.metadata().await?;
        let endpoint = metadata.end_session_endpoint.as_deref().ok_or_else(|| {
            Error::Discovery("the issuer advertises no end_session_endpoint".into())
        })?;
        let mut url = Url::parse(endpoint)
            .map_err(|error| Error::Discovery(format!("end_session_endpoint: {error}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &self.inner.client_id);
            if let Some(hint) = &request.id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
            if let Some(uri) = &request.post_logout_redirect_uri {
                query.append_pair("post_logout_redirect_uri", uri);
            }
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_refuses_unsafe_configuration() {
        let error = Client::builder("https://i.example", "c")
            .algorithms([Algorithm::HS256])
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("HS256 is not allowed"),
            "{error}"
        );
        assert!(Client::builder("not a url", "c").build().is_err());
        assert!(
            Client::builder("https://i.example?x=1", "c")
                .build()
                .is_err()
        );
        assert!(Client::builder("https://i.example", "").build().is_err());
        assert!(
            Client::builder("https://i.example", "c")
                .algorithms([])
                .build()
                .is_err()
        );
        assert!(
            Client::builder("https://i.example", "c")
                .client_auth_method(ClientAuthMethod::ClientSecretPost)
                .build()
                .is_err()
        );
    }

    #[test]
    fn token_responses_accept_any_bearer_case_and_optional_members() {
        let parse = |json: &str| serde_json::from_str::<TokenResponse>(json).unwrap();
        let minimal = parse(r#"{"access_token":"a","token_type":"bEARER"}"#);
        assert!(check_token_response(&minimal).is_ok());
        assert_eq!((minimal.expires_in, minimal.scope), (None, None));
        let dpop = parse(r#"{"access_token":"a","token_type":"DPoP","expires_in":60}"#);
        assert_eq!(
            check_token_response(&dpop).unwrap_err(),
            "token_type \"DPoP\" is not Bearer"
        );
        let empty = parse(r#"{"access_token":"","token_type":"Bearer"}"#);
        assert!(check_token_response(&empty).is_err());
    }

    #[test]
    fn requirements_check_scope_then_acr_then_permissions() {
        let info = AccessTokenInfo {
            id: "00000000-0000-0000-0000-000000000000".into(),
            scope: vec!["openid".into(), "read:all".into()],
            permissions: vec!["castles:read".into()],
            acr: Some("0".into()),
            client_id: None,
            expires_at: 0,
            access_token: String::new(),
            claims: Default::default(),
        };
        assert!(Requirements::new().check(&info).is_ok());
        let error = Requirements::new()
            .scopes(["openid", "read"])
            .check(&info)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "access token lacks required scope(s): read"
        );
        let error = Requirements::new().acr("1").check(&info).unwrap_err();
        assert!(matches!(error, Error::AcrTooLow { .. }));
        assert!(Requirements::new().acr("0").check(&info).is_ok());
        let error = Requirements::new()
            .permissions(["castles:read", "castles:write"])
            .check(&info)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "access token lacks required permission(s): castles:write"
        );
    }
}
