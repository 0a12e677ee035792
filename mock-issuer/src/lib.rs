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
//! Data flows one way: configuration, then state, then handlers, then responses. The public
//! API is [`MockIssuer`] and its builder, each served [`Issuer`]'s handle, [`config`], the
//! clocks, and the [`forge`]'s levers; everything else is private.
//!
//! - [`config`]: the TOML configuration, the embedded default, and its validation.
//! - `keys`: signing keys parsed once into the crypto backend's types ([`SigningKey`],
//!   [`KeySet`]); the JWKS.
//! - `clock` and `random`: injectable time ([`Clock`], [`FixedClock`]) and randomness (the
//!   deterministic mode).
//! - `state`: the shared state: the configuration and keys (swapped whole at runtime) and
//!   the stores, with the few protocols that span two stores (revoking a grant ends its
//!   refresh family).
//! - `store`: each store behind methods that keep its protocol (codes and their
//!   redemption, refresh families, revocations, sessions and login pages), over the bounded
//!   map, and what a full one does (refuse, for what guards replay and revocation; evict the
//!   oldest, for sessions).
//! - `rules`: the rules as plain functions: authorization requests, PKCE, login decisions,
//!   client authentication, grants, what tokens contain, the metadata document, and which
//!   origins may post to the issuer's own pages.
//! - `endpoints`: one module per endpoint, each parsing the request, applying the rules and
//!   building the response; [`Endpoint`] is the one list of them, with their paths, that the
//!   router, discovery, the request log and the faults read. `endpoints::admin` is the HTTP
//!   admin API under `/_forge/`, thin wrappers over [`forge`].
//! - `params`, `error`, `pages`: request parameters, RFC error responses, HTML pages.
//! - [`forge`]: minted tokens ([`forge::mint`]) and their defects ([`forge::mutation`], one
//!   table of names), scripted faults, key rotation, runtime users, queued claims and
//!   token-response edits, the request log; offered by [`Issuer`]'s methods, the admin API
//!   and the CLI alike.
//! - `server`: the router ([`MockIssuer::router`] for socket-free tests) and the loop that
//!   serves an already-bound listener.
//!
//! The fuzz targets and benchmarks reach the rules and the state through a hidden `internals`
//! module, behind the `internals` feature; it is not part of the API and may change at any
//! time.

mod clock;
pub mod config;
mod endpoints;
mod error;
pub mod forge;
mod issuer;
mod keys;
mod pages;
mod params;
mod random;
mod rules;
mod server;
mod state;
mod store;
mod tls;

/// The rules, stores and router, for the fuzz targets, the benchmarks and the crate's own
/// integration tests: not part of the API.
#[cfg(any(test, feature = "internals"))]
#[doc(hidden)]
pub mod internals {
    pub use crate::error::OAuthError;
    pub use crate::keys::TokenTyp;
    pub use crate::params::{MAX_PARAMS, Params};
    pub use crate::rules::{authorization, client_auth, issuer, pkce, scope, tokens};
    pub use crate::server::{
        BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT, MAX_BEARER_TOKEN_BYTES, MAX_BODY_BYTES,
        MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES, SHUTDOWN_GRACE, router, run,
    };
    pub use crate::state::{
        AppState, CodeGrant, IssuerState, Login, RefreshFamily, SESSION_COOKIE, limits,
    };
}

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::clock::{Clock, FixedClock, SystemClock};
pub use crate::config::{Config, ConfigError};
pub use crate::endpoints::{Endpoint, UnknownEndpoint};
use crate::forge::ForgeOptions;
pub use crate::forge::mint::{Minter, Mutation, TokenBuilder};
pub use crate::issuer::Issuer;
pub use crate::keys::{KeyError, KeyMaterialError, KeySet, SigningKey};
use crate::random::TokenRng;
pub use crate::rules::issuer::{IssuerSource, is_loopback};
pub use crate::server::Timeouts;
use crate::state::{AppState, IssuerState};
pub use crate::state::{CodeStatus, StateError, StoreLimits, StoreSizes};
pub use crate::tls::{TlsError, TlsIdentity};

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
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("tenant `{slug}`: {source}")]
    TenantKeys {
        slug: String,
        #[source]
        source: KeyMaterialError,
    },
}

/// Each tenant without keys gets RS256, ES256 and EdDSA keys of its own, made here (RSA takes
/// tens to hundreds of milliseconds, so the tenants' keys are made in parallel, and only for
/// configurations that have tenants).
fn with_generated_keys(
    tenants: std::collections::BTreeMap<String, Config>,
) -> Result<Vec<(String, Config)>, StartError> {
    use crate::config::{KeyConfig, SigningAlg};
    std::thread::scope(|scope| {
        let jobs: Vec<_> = tenants
            .into_iter()
            .map(|(slug, mut tenant)| {
                scope.spawn(move || {
                    if tenant.keys.is_empty() {
                        for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
                            let pem = keys::generate_pem(alg).map_err(|source| {
                                StartError::TenantKeys {
                                    slug: slug.clone(),
                                    source,
                                }
                            })?;
                            tenant.keys.push(KeyConfig {
                                kid: format!("{slug}-{}", alg.as_str().to_ascii_lowercase()),
                                alg,
                                pem_file: None,
                                pem: Some(pem),
                            });
                        }
                    }
                    Ok((slug, tenant))
                })
            })
            .collect();
        jobs.into_iter()
            // A panic while making a key is a bug: it goes on as the panic it is.
            .map(|job| {
                job.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// FNV-1a: a tenant's RNG stream from the seed and its slug, stable across builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A running issuer. Dropping it stops the server; [`MockIssuer::shutdown`] also waits for
/// in-flight requests to finish and the port to be released.
#[derive(Debug)]
pub struct MockIssuer {
    addr: SocketAddr,
    root: Issuer,
    tenants: Vec<(String, Issuer)>,
    issuer_source: IssuerSource,
    tls_authority_pem: Option<String>,
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

    /// The root issuer (the configuration's own); its methods are reachable on the server
    /// directly, through `Deref`: `issuer.url()`, `issuer.mint()`.
    pub fn root(&self) -> &Issuer {
        &self.root
    }

    /// A tenant (`[tenants.SLUG]` in the configuration), served at the root's URL + `/SLUG`.
    pub fn tenant(&self, slug: &str) -> Option<&Issuer> {
        self.tenants
            .iter()
            .find(|(name, _)| name == slug)
            .map(|(_, issuer)| issuer)
    }

    /// The tenants by slug, in the configuration's (alphabetical) order.
    pub fn tenants(&self) -> impl Iterator<Item = (&str, &Issuer)> {
        self.tenants
            .iter()
            .map(|(slug, issuer)| (slug.as_str(), issuer))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where [`url`](Issuer::url) came from: given, configured, or the configured loopback URL
    /// with the port actually bound.
    pub fn issuer_source(&self) -> &IssuerSource {
        &self.issuer_source
    }

    /// The PEM of the certificate authority a [`tls`](MockIssuerBuilder::tls) issuer made at
    /// start; clients trust it to reach the issuer over `https`:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = oidc_forge::MockIssuer::builder().tls().start().await?;
    /// let authority = issuer.tls_authority_pem().expect("a generated certificate");
    /// let http = reqwest::Client::builder()
    ///     .tls_certs_only([reqwest::Certificate::from_pem(authority.as_bytes())?])
    ///     .build()?;
    /// let discovery = http.get(issuer.discovery_url()).send().await?;
    /// assert!(issuer.url().starts_with("https://127.0.0.1:"));
    /// assert_eq!(discovery.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_authority_pem(&self) -> Option<&str> {
        self.tls_authority_pem.as_deref()
    }

    /// A router over the same issuers, for socket-free tests with `tower::ServiceExt::oneshot`.
    pub fn router(&self) -> axum::Router {
        server::router_for(&self.states())
    }

    fn states(&self) -> Vec<AppState> {
        std::iter::once(self.root.state.clone())
            .chain(self.tenants.iter().map(|(_, t)| t.state.clone()))
            .collect()
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

/// The server's methods are its root issuer's too: `issuer.url()`, `issuer.mint()`.
impl std::ops::Deref for MockIssuer {
    type Target = Issuer;

    fn deref(&self) -> &Issuer {
        &self.root
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
    timeouts: Timeouts,
    tls: Option<TlsSetting>,
}

/// How a [`MockIssuerBuilder`] serves TLS.
#[derive(Debug)]
enum TlsSetting {
    /// A certificate authority and a server certificate made at start.
    Generated,
    Identity(TlsIdentity),
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
    /// [`StoreLimits::default`] by default. A store that guards against replay or revocation never
    /// forgets a live entry: when it is full, the request that needs it is refused with
    /// `temporarily_unavailable` until entries expire.
    pub fn store_limits(mut self, limits: StoreLimits) -> Self {
        self.store_limits = limits;
        self
    }

    /// How long the server waits for a slow client's headers and body
    /// ([`Timeouts::default`]: 10 s each).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Serves `https`, with a certificate authority and a server certificate for the issuer's
    /// host, `localhost`, `127.0.0.1` and `::1` made at start (a millisecond or so, only when
    /// asked for); clients trust [`MockIssuer::tls_authority_pem`].
    pub fn tls(mut self) -> Self {
        self.tls = Some(TlsSetting::Generated);
        self
    }

    /// Serves `https` with the caller's certificate and key ([`TlsIdentity::from_pem_files`]).
    pub fn tls_identity(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(TlsSetting::Identity(identity));
        self
    }

    /// Builds the root issuer's state without a socket: for `internals::router` in socket-free
    /// tests. Tenants are served by [`start`](Self::start) only.
    #[cfg(any(test, feature = "internals"))]
    #[doc(hidden)]
    pub fn build_state(self, default_issuer: &str) -> Result<AppState, StartError> {
        Ok(self.build_issuers(default_issuer, false)?.0)
    }

    /// The root issuer's state and, with `tenants`, each tenant's at the root's URL + `/SLUG`
    /// on the same clock, with its own RNG stream (the seed mixed with the slug).
    #[allow(clippy::type_complexity)]
    fn build_issuers(
        self,
        default_issuer: &str,
        tenants: bool,
    ) -> Result<(AppState, Vec<(String, AppState)>), StartError> {
        let mut config = self.config.unwrap_or_default();
        config.validate()?;
        let tenant_configs = std::mem::take(&mut config.tenants);
        let deterministic = config.deterministic.clone();
        let clock: Arc<dyn Clock> = match (self.clock, &deterministic) {
            (Some(clock), _) => clock,
            (None, Some(fixed)) => Arc::new(FixedClock::new(fixed.now)),
            (None, None) => Arc::new(SystemClock),
        };
        let seed = self.seed.or(deterministic.map(|d| d.seed));
        let rng = |salt: &str| match seed {
            Some(seed) => TokenRng::seeded(seed ^ fnv1a(salt.as_bytes())),
            None => TokenRng::Os,
        };
        let issuer = self
            .issuer_url
            .or_else(|| config.issuer.clone())
            .unwrap_or_else(|| default_issuer.to_owned());
        let issuer = issuer.trim_end_matches('/').to_owned();
        let state = |config: Config, issuer: String, rng: TokenRng| {
            IssuerState::with_forge(
                config,
                issuer,
                clock.clone(),
                rng,
                self.forge.clone(),
                self.store_limits,
                self.timeouts,
            )
        };
        let tenants = if tenants {
            with_generated_keys(tenant_configs)?
                .into_iter()
                .map(|(slug, mut tenant)| {
                    // One CORS policy for the host: a tenant is never more open than the root.
                    tenant.cors = config.cors.clone();
                    let url = format!("{issuer}/{slug}");
                    let tenant = state(tenant, url, rng(&slug))?.into_tenant();
                    Ok((slug, Arc::new(tenant)))
                })
                .collect::<Result<Vec<_>, StartError>>()?
        } else {
            Vec::new()
        };
        // The root's stream is the seed's own, as before tenants existed.
        let root_rng = match seed {
            Some(seed) => TokenRng::seeded(seed),
            None => TokenRng::Os,
        };
        Ok((Arc::new(state(config, issuer, root_rng)?), tenants))
    }

    /// Binds the address and starts serving in a background task. The issuer identifier is the
    /// one given, else the configuration's (a loopback one with the port actually bound and the
    /// scheme served), else `http://ADDRESS` (`https` with TLS).
    pub async fn start(mut self) -> Result<MockIssuer, StartError> {
        let addr = self
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let configured = self.config.as_ref().and_then(|c| c.issuer.as_deref());
        let identifier = rules::issuer::identifier(
            self.issuer_url.as_deref(),
            configured,
            addr,
            self.tls.is_some(),
        );
        let tls = match self.tls.take() {
            None => None,
            Some(TlsSetting::Identity(identity)) => Some(identity),
            Some(TlsSetting::Generated) => {
                let host = url::Url::parse(&identifier.url)
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_owned));
                let host = host.map(|h| h.trim_matches(['[', ']']).to_owned());
                Some(TlsIdentity::self_signed(tls::certificate_hosts(
                    host,
                    addr.ip(),
                ))?)
            }
        };
        let tls_config = tls.as_ref().map(TlsIdentity::server_config).transpose()?;
        self.issuer_url = Some(identifier.url.clone());
        let (root, tenants) = self.build_issuers(&identifier.url, true)?;
        let issuers = std::iter::once(root.clone())
            .chain(tenants.iter().map(|(_, state)| state.clone()))
            .collect();
        keys::seed_rng_in_background();
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(server::serve(listener, issuers, tls_config, stopped));
        Ok(MockIssuer {
            addr,
            root: Issuer::new(root),
            tenants: tenants
                .into_iter()
                .map(|(slug, state)| (slug, Issuer::new(state)))
                .collect(),
            issuer_source: identifier.source,
            tls_authority_pem: tls.and_then(|t| t.authority_pem().map(str::to_owned)),
            stop: Some(stop),
            task: Some(task),
        })
    }
}
