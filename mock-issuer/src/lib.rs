//! oidc-forge: a local OpenID Connect issuer for tests.
//!
//! It serves discovery, JWKS, authorize, token, userinfo, logout, introspection and revocation
//! with configurable clients, users, scopes and Fief-style `scope` and `permissions` claims,
//! and it is strict where real issuers are strict: exact redirect URI matching, client
//! authentication, PKCE, single-use codes whose replay revokes what they issued, rotating
//! refresh tokens. Run it as the `oidc-forge` binary, or in-process inside `cargo test` on a
//! random port, as below. With a fixed clock, the embedded keys and a seed, every response is
//! identical byte for byte, so snapshot tests need no redactions.
//!
//! ```
//! use oidc_forge::{Config, MockIssuer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The embedded default: clients `forge-web` (confidential) and `forge-spa` (public),
//! // users alice and bob, auto-login as alice.
//! let issuer = MockIssuer::start(Config::default()).await?;
//! assert!(issuer.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(
//!     issuer.discovery_url(),
//!     format!("{}/.well-known/openid-configuration", issuer.url())
//! );
//! issuer.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! Data flows one way: configuration, then state, then handlers, then responses.
//!
//! - [`config`]: the TOML configuration, the embedded default, and its validation.
//! - [`keys`]: signing keys parsed once into the crypto backend's types; the JWKS.
//! - [`clock`] and [`random`]: injectable time and randomness (the deterministic mode).
//! - [`state`]: the shared state and the stores of codes, refresh tokens, revocations,
//!   sessions and login pages, each behind methods that keep its protocol.
//! - [`store`]: the bounded map behind every store, and what a full one does (refuse, for
//!   what guards replay and revocation; evict the oldest, for sessions).
//! - [`rules`]: the rules as plain functions: authorization requests, PKCE, login decisions,
//!   client authentication, grants, what tokens contain, and which origins may post to the
//!   issuer's own pages.
//! - [`endpoints`]: one module per endpoint, each parsing the request, applying the rules and
//!   building the response.
//! - [`params`], [`error`], [`pages`]: request parameters, RFC error responses, HTML pages.
//! - [`forge`]: minted and mutated tokens, scripted faults, key rotation, runtime users and
//!   queued claims, the request log; offered by [`MockIssuer`]'s methods, the admin API and
//!   the CLI alike.
//! - [`endpoints::admin`]: the HTTP admin API under `/_forge/`, thin wrappers over [`forge`].
//! - [`server`]: the router and [`server::run`], which serves an already-bound listener.

pub mod clock;
pub mod config;
pub mod endpoints;
pub mod error;
pub mod forge;
pub mod keys;
pub mod pages;
pub mod params;
pub mod random;
pub mod rules;
pub mod server;
pub mod state;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::clock::{Clock, FixedClock, SystemClock};
use crate::config::UserConfig;
pub use crate::config::{Config, ConfigError};
pub use crate::forge::Endpoint;
use crate::forge::ForgeOptions;
use crate::forge::claims::{ClaimsError, ClaimsTarget, QueuedClaims};
use crate::forge::faults::FaultsHandle;
pub use crate::forge::mint::{Minter, Mutation, TokenBuilder};
use crate::forge::request_log::RecordedRequest;
use crate::forge::rotation::{KeyInfo, Rotation, RotationError, RotationReport};
use crate::forge::users::{Upserted, UserError, UserPatch};
use crate::random::TokenRng;
pub use crate::state::StoreLimits;
use crate::state::{AppState, IssuerState, StateError};

/// Why an issuer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// A running issuer. Dropping it stops the server; [`MockIssuer::shutdown`] also waits for
/// in-flight requests to finish and the port to be released.
#[derive(Debug)]
pub struct MockIssuer {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockIssuer {
    /// Starts `config` on 127.0.0.1, on a port the OS picks.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Self::builder().config(config).start().await
    }

    /// For a clock, a seed, an issuer URL or an address of your own.
    pub fn builder() -> MockIssuerBuilder {
        MockIssuerBuilder::default()
    }

    /// The issuer identifier (`iss`), without a trailing slash.
    pub fn url(&self) -> &str {
        &self.state.issuer
    }

    pub fn discovery_url(&self) -> String {
        self.state.endpoint(state::paths::DISCOVERY)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration now (users may have changed since startup).
    pub fn config(&self) -> Arc<Config> {
        self.state.config()
    }

    /// The shared state, for assertions on what was issued.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A router over the same state, for socket-free tests with `tower::ServiceExt::oneshot`.
    pub fn router(&self) -> axum::Router {
        server::router(self.state.clone())
    }

    /// The base URL of the admin API (`{issuer}/_forge`), `None` when it is disabled.
    pub fn admin_url(&self) -> Option<String> {
        self.state
            .forge
            .options
            .admin
            .then(|| self.state.endpoint(forge::ADMIN_PREFIX))
    }

    /// Mints tokens signed by this issuer's keys, valid or wrong in exactly one way:
    /// `issuer.mint().access_token().scope("read").mutate(Mutation::Expired).sign()`.
    pub fn mint(&self) -> Minter {
        Minter::from_state(&self.state)
    }

    /// Scripts failures: `issuer.faults().token().status(503).times(1)`,
    /// `issuer.faults().reject_code(code)`, `issuer.faults().jwks_unreachable()`.
    pub fn faults(&self) -> FaultsHandle<'_> {
        FaultsHandle::new(&self.state.forge.faults)
    }

    /// Rotates the RS256 signing key to the embedded next key; the old key stays in the JWKS
    /// for `grace` (by the issuer's clock), then leaves.
    pub fn rotate_keys(&self, grace: Duration) -> Result<RotationReport, RotationError> {
        self.rotate_keys_with(&Rotation::new(grace))
    }

    /// Rotates as `rotation` says: another algorithm, the caller's key, or a generated one
    /// (generation blocks the calling thread for tens of milliseconds, RSA up to a few hundred).
    pub fn rotate_keys_with(&self, rotation: &Rotation) -> Result<RotationReport, RotationError> {
        forge::rotation::rotate(&self.state, rotation)
    }

    /// The published keys: which sign, which are in a grace period and until when.
    pub fn keys(&self) -> Vec<KeyInfo> {
        forge::rotation::key_info(&self.state.keys())
    }

    /// Adds a user, or replaces the one with the same `sub`.
    pub fn upsert_user(&self, user: UserConfig) -> Result<Upserted, UserError> {
        forge::users::upsert(&self.state, user)
    }

    /// Changes a user's claims, permissions, email or name; returns the user as it is now.
    pub fn update_user(
        &self,
        email_or_sub: &str,
        patch: UserPatch,
    ) -> Result<UserConfig, UserError> {
        forge::users::update(&self.state, email_or_sub, &patch)
    }

    pub fn remove_user(&self, email_or_sub: &str) -> Result<UserConfig, UserError> {
        forge::users::remove(&self.state, email_or_sub)
    }

    /// Claims added to the access token and ID token of the next token response (any grant);
    /// `claims` must be a JSON object. Queue several for several responses.
    pub fn queue_claims(&self, claims: serde_json::Value) -> Result<(), ClaimsError> {
        self.queue_claims_for(ClaimsTarget::Both, claims)
    }

    /// [`queue_claims`](Self::queue_claims) for one of the two tokens only.
    pub fn queue_claims_for(
        &self,
        target: ClaimsTarget,
        claims: serde_json::Value,
    ) -> Result<(), ClaimsError> {
        let queued = QueuedClaims::new(target, claims)?;
        self.state.forge.queued_claims.push(queued)
    }

    /// What clients sent, oldest first (secrets redacted); the last
    /// [`request_log_capacity`](MockIssuerBuilder::request_log_capacity) requests.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.forge.requests.entries()
    }

    /// What clients sent to one endpoint.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.state.forge.requests.entries_for(endpoint)
    }

    pub fn clear_requests(&self) {
        self.state.forge.requests.clear();
    }

    /// Stops accepting, finishes in-flight requests, and releases the port.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockIssuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Options of [`MockIssuer`]; everything has a default.
#[derive(Debug, Default)]
#[must_use]
pub struct MockIssuerBuilder {
    config: Option<Config>,
    clock: Option<Arc<dyn Clock>>,
    seed: Option<u64>,
    issuer_url: Option<String>,
    addr: Option<SocketAddr>,
    forge: ForgeOptions,
    store_limits: StoreLimits,
    timeouts: server::Timeouts,
}

impl MockIssuerBuilder {
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Overrides the clock (and the configuration's `deterministic.now`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Seeds the RNG behind codes, token ids and refresh tokens.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Overrides the issuer identifier; by default it is the configuration's, or
    /// `http://ADDRESS` of the bound socket.
    pub fn issuer_url(mut self, url: impl Into<String>) -> Self {
        self.issuer_url = Some(url.into());
        self
    }

    /// The address to bind; default `127.0.0.1:0`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    /// Serves the admin API under `/_forge/` (the default). Turn it off where others can reach
    /// the issuer: the admin API mints tokens the issuer signs.
    pub fn admin(mut self, enabled: bool) -> Self {
        self.forge.admin = enabled;
        self
    }

    /// Requires `Authorization: Bearer <token>` on every admin request, on top of the
    /// same-origin, loopback-host and JSON rules the admin API always applies.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.forge.admin_token = Some(token.into());
        self
    }

    /// How many requests the request log keeps (default 1,000); 0 turns it off.
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.forge.request_log_capacity = capacity;
        self
    }

    /// The capacity of each store (codes, refresh tokens, revocations, sessions, login pages);
    /// [`state::limits`] by default. A store that guards against replay or revocation never
    /// forgets a live entry: when it is full, the request that needs it is refused with
    /// `temporarily_unavailable` until entries expire.
    pub fn store_limits(mut self, limits: StoreLimits) -> Self {
        self.store_limits = limits;
        self
    }

    /// How long the server waits for a slow client's headers and body
    /// ([`server::Timeouts::default`]: 10 s each).
    pub fn timeouts(mut self, timeouts: server::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Builds the state without a socket: for [`server::router`] in socket-free tests.
    pub fn build_state(self, default_issuer: &str) -> Result<AppState, StartError> {
        let config = self.config.unwrap_or_default();
        config.validate()?;
        let deterministic = config.deterministic.clone();
        let clock: Arc<dyn Clock> = match (self.clock, &deterministic) {
            (Some(clock), _) => clock,
            (None, Some(fixed)) => Arc::new(FixedClock::new(fixed.now)),
            (None, None) => Arc::new(SystemClock),
        };
        let rng = match self.seed.or(deterministic.map(|d| d.seed)) {
            Some(seed) => TokenRng::seeded(seed),
            None => TokenRng::Os,
        };
        let issuer = self
            .issuer_url
            .or_else(|| config.issuer.clone())
            .unwrap_or_else(|| default_issuer.to_owned());
        Ok(Arc::new(IssuerState::with_forge(
            config,
            issuer,
            clock,
            rng,
            self.forge,
            self.store_limits,
            self.timeouts,
        )?))
    }

    /// Binds the address and starts serving in a background task.
    pub async fn start(self) -> Result<MockIssuer, StartError> {
        let addr = self
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let state = self.build_state(&format!("http://{addr}"))?;
        keys::seed_rng_in_background();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(MockIssuer {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}
