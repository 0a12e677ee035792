//! The issuer's state: configuration, keys, clock, randomness, and the stores of what it has
//! issued (codes, refresh tokens, revocations, browser sessions, pending logins).
//!
//! Data flows one way: [`Config`] becomes an [`IssuerState`] at startup; handlers read it and
//! record grants in it; nothing flows back into the configuration. The configuration and the keys
//! can be replaced at runtime (the forge's users and key rotation), so each lives behind a
//! `RwLock<Arc<..>>`: a handler takes a cheap `Arc` snapshot once per request and works on a
//! consistent view, and a change swaps in a whole new value, re-serialising the discovery
//! document and the JWKS then, never per request.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::body::Bytes;

use crate::clock::Clock;
use crate::config::{ClientConfig, Config, SigningAlg};
use crate::forge::{ForgeOptions, ForgeState};
use crate::keys::{KeyError, KeySet, SigningKey};
use crate::random::TokenRng;
use crate::rules::authorization::AuthorizationRequest;
pub use crate::store::StoreFull;
pub use crate::store::codes::{Claim, CodeGrant, CodeStatus, CodeStore};
use crate::store::refresh::RefreshStore;
pub use crate::store::refresh::{Presented, RefreshFamily, RotationRace};
use crate::store::revocations::RevocationStore;
use crate::store::sessions::{LoginPages, SessionStore};
pub use crate::store::sessions::{PendingLoginError, Session};

/// Name of the issuer's own browser-session cookie.
pub const SESSION_COOKIE: &str = "oidc_forge_session";

/// [`SESSION_COOKIE`] for an issuer served under `path_prefix`: `/acme` gives
/// `oidc_forge_session_acme`. A cookie's path cannot keep two issuers apart, since the root
/// issuer's `/` covers a tenant's `/acme`. The suffix keeps letters, digits and `-` and writes
/// every other byte as `_XX` (hex), so that two paths never share a name (`a_b` is `a_5fb`).
fn session_cookie_name(path_prefix: &str) -> String {
    let path = path_prefix.trim_start_matches('/');
    if path.is_empty() {
        return SESSION_COOKIE.to_owned();
    }
    let mut name = format!("{SESSION_COOKIE}_");
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("_{byte:02x}"));
        }
    }
    name
}

/// Name of the cookie that binds a login page to the browser it was shown to.
pub const LOGIN_BINDING_COOKIE: &str = "oidc_forge_login";

/// Shared, cheaply cloned handle to the state.
pub type AppState = Arc<IssuerState>;

/// Everything the handlers read and the stores they write.
#[derive(Debug)]
pub struct IssuerState {
    config: RwLock<Arc<Config>>,
    /// The issuer identifier (`iss`), without a trailing slash.
    pub issuer: String,
    /// The issuer's origin (`scheme://host[:port]`), which its own pages send as `Origin`.
    pub origin: String,
    /// The path of the issuer URL (`/tenant` for `http://host/tenant`, else empty), under
    /// which every endpoint is served.
    pub path_prefix: String,
    /// The name of this issuer's session cookie: [`SESSION_COOKIE`], suffixed with the path
    /// for an issuer with one, so that tenants on one host keep sessions of their own.
    pub session_cookie: String,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<TokenRng>,
    keys: RwLock<Arc<KeySet>>,
    /// The discovery document, serialised at startup and again only when the configuration or
    /// the keys change.
    discovery_json: RwLock<Bytes>,
    /// Serialises the writers of `config`, `keys` and `discovery_json`, so that a change and the
    /// re-serialisation it causes are never interleaved with another change.
    writer: Mutex<()>,
    /// Authorization codes, until they expire, redeemed ones included (replay detection).
    codes: CodeStore,
    /// One entry per grant with a refresh token ([`crate::store::refresh`]).
    refresh_tokens: Mutex<RefreshStore>,
    revocations: RevocationStore,
    /// Browser sessions, for [`limits::SESSION_LIFETIME`].
    sessions: SessionStore,
    /// Login pages waiting for an answer.
    interactions: LoginPages,
    /// Scripted faults, the request log, queued claims and the admin API switch.
    pub forge: ForgeState,
    /// How long the server waits for slow clients.
    pub timeouts: crate::server::Timeouts,
    /// A tenant of a server ([`Config::tenants`]): its keys are its own, so a rotation without
    /// a key generates one rather than take the embedded next key that every issuer shares.
    pub tenant: bool,
}

/// Who signed in, when, and how strongly: carried from login to every token of the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user's `sub`.
    pub sub: String,
    pub auth_time: u64,
    /// Fief's authentication context class: "0" normal, "1" a fresh, forced authentication.
    pub acr: &'static str,
    /// The public id of the browser session this login started (`sid` in ID tokens, OpenID
    /// Front-Channel Logout 1.0 section 3); `None` for a login that started no session.
    pub sid: Option<String>,
}

/// How long the interactive login page stays valid.
pub const LOGIN_PAGE_LIFETIME: u64 = limits::LOGIN_PAGE_LIFETIME;

/// How long the stores keep what they hold, and how much at most by default. Every store drops
/// expired entries as new ones arrive. Past its cap, a store whose entries guard against replay
/// or revocation refuses new ones (the request that needs it gets `temporarily_unavailable`),
/// and a store of sessions or login pages forgets its oldest entry; see [`crate::store`].
pub mod limits {
    /// Authorization codes issued and not yet expired (redeemed ones are kept until expiry to
    /// detect replay, RFC 6749 4.1.2).
    pub const CODES: usize = 20_000;
    /// Grants with a refresh token that may still be redeemed (one entry each, however often
    /// it rotates); past it the oldest is forgotten and its refresh token stops working.
    pub const REFRESH_TOKENS: usize = 20_000;
    /// Access tokens revoked before their `exp`, and revoked grants.
    pub const REVOCATIONS: usize = 20_000;
    /// Browser sessions at the issuer.
    pub const SESSIONS: usize = 10_000;
    /// Login pages shown and not yet answered.
    pub const INTERACTIONS: usize = 1_000;
    /// A browser session at the issuer lasts this long after sign-in (then `prompt=none`
    /// answers `login_required`).
    pub const SESSION_LIFETIME: u64 = 24 * 3600;
    /// How long the interactive login page stays valid.
    pub const LOGIN_PAGE_LIFETIME: u64 = 600;
}

/// The capacity of each store (by default 20,000 codes, refresh grants and revocations,
/// 10,000 sessions and 1,000 login pages). Memory stays bounded by these times
/// the size of an entry, whatever the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreLimits {
    pub codes: usize,
    /// Grants with a live refresh token.
    pub refresh_tokens: usize,
    /// Revoked access tokens, and revoked grants, each.
    pub revocations: usize,
    pub sessions: usize,
    pub interactions: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            codes: limits::CODES,
            refresh_tokens: limits::REFRESH_TOKENS,
            revocations: limits::REVOCATIONS,
            sessions: limits::SESSIONS,
            interactions: limits::INTERACTIONS,
        }
    }
}

impl StoreLimits {
    /// Caps the authorization codes (redeemed ones included).
    pub fn codes(mut self, capacity: usize) -> Self {
        self.codes = capacity;
        self
    }

    /// Caps the grants with a live refresh token.
    pub fn refresh_tokens(mut self, capacity: usize) -> Self {
        self.refresh_tokens = capacity;
        self
    }

    /// Caps the revoked access tokens, and the revoked grants.
    pub fn revocations(mut self, capacity: usize) -> Self {
        self.revocations = capacity;
        self
    }

    /// Every store capped at `capacity` (at least one): for tests of what full stores do.
    pub fn uniform(capacity: usize) -> Self {
        Self {
            codes: capacity,
            refresh_tokens: capacity,
            revocations: capacity,
            sessions: capacity,
            interactions: capacity,
        }
    }
}

/// How full the stores are, for soak runs and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreSizes {
    pub codes: usize,
    /// Grants with a live refresh token.
    pub refresh_tokens: usize,
    pub revoked_access_tokens: usize,
    pub revoked_grants: usize,
    pub sessions: usize,
    pub interactions: usize,
    pub request_log: usize,
    pub queued_claims: usize,
    /// Unexpired refresh grants, sessions and login pages forgotten because their store was
    /// full.
    pub evicted: u64,
    /// Entries refused because their store was full of live ones, all stores together.
    pub refused: u64,
    /// When set, every token a client was issued at or before this second was revoked at once,
    /// because a revocation had to hold while the revocation stores were full (the latest such
    /// second, over all clients).
    pub revoked_until: Option<u64>,
}

/// A failure to build the state from the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("no signing key for {0}")]
    MissingKey(SigningAlg),
}

impl IssuerState {
    pub fn new(
        config: Config,
        issuer: String,
        clock: Arc<dyn Clock>,
        rng: TokenRng,
    ) -> Result<Self, StateError> {
        Self::with_forge(
            config,
            issuer,
            clock,
            rng,
            ForgeOptions::default(),
            StoreLimits::default(),
            crate::server::Timeouts::default(),
        )
    }

    /// [`IssuerState::new`] with the forge's options (admin API, request log size), the
    /// stores' capacities and the server's timeouts.
    pub fn with_forge(
        config: Config,
        issuer: String,
        clock: Arc<dyn Clock>,
        rng: TokenRng,
        forge: ForgeOptions,
        limits: StoreLimits,
        timeouts: crate::server::Timeouts,
    ) -> Result<Self, StateError> {
        let keys = KeySet::from_config(&config)?;
        for client in &config.clients {
            if let Some(alg) = client.signing_alg
                && keys.signing_key(alg).is_none()
            {
                return Err(StateError::MissingKey(alg));
            }
        }
        let issuer = issuer.trim_end_matches('/').to_owned();
        let (origin, path_prefix) = match url::Url::parse(&issuer) {
            Ok(url) => (
                url.origin().ascii_serialization(),
                url.path().trim_end_matches('/').to_owned(),
            ),
            Err(_) => (issuer.clone(), String::new()),
        };
        let session_cookie = session_cookie_name(&path_prefix);
        let discovery_json = crate::rules::metadata::document(&config, &issuer, &keys)
            .to_string()
            .into();
        // The key that authenticates refresh tokens: from the issuer's RNG, so a seed makes
        // them deterministic too.
        let refresh_key = rng.secret();
        Ok(Self {
            config: RwLock::new(Arc::new(config)),
            issuer,
            origin,
            path_prefix,
            session_cookie,
            clock,
            rng: Arc::new(rng),
            keys: RwLock::new(Arc::new(keys)),
            discovery_json: RwLock::new(discovery_json),
            writer: Mutex::default(),
            codes: CodeStore::new(limits.codes),
            refresh_tokens: Mutex::new(RefreshStore::new(
                limits.refresh_tokens,
                refresh_key.as_bytes(),
            )),
            revocations: RevocationStore::new(limits.revocations),
            sessions: SessionStore::new(limits.sessions),
            interactions: LoginPages::new(limits.interactions),
            forge: ForgeState::new(forge),
            timeouts,
            tenant: false,
        })
    }

    /// This state as a tenant's ([`IssuerState::tenant`]).
    pub fn into_tenant(self) -> Self {
        Self {
            tenant: true,
            ..self
        }
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The current configuration (cheap: an `Arc` clone). Take it once per request.
    pub fn config(&self) -> Arc<Config> {
        read(&self.config).clone()
    }

    /// The current key set (cheap: an `Arc` clone).
    pub fn keys(&self) -> Arc<KeySet> {
        read(&self.keys).clone()
    }

    /// The discovery document's bytes (cheap: a reference-counted clone).
    pub fn discovery_json(&self) -> Bytes {
        read(&self.discovery_json).clone()
    }

    /// The JWKS bytes. Keys kept published for a rotation's grace period leave here, the first
    /// time the JWKS is asked for after their grace period ends; until then this is one
    /// comparison more than a plain read.
    pub fn jwks_json(&self) -> Bytes {
        let keys = self.keys();
        if keys
            .next_retirement()
            .is_some_and(|retire_at| self.now() >= retire_at)
        {
            let now = self.now();
            // The closure cannot fail; the key set only loses its expired keys.
            let _ = self.update_keys(|keys| Ok::<_, std::convert::Infallible>(keys.pruned(now)));
            return self.keys().jwks_json().clone();
        }
        keys.jwks_json().clone()
    }

    /// The key that signs tokens for `client_id` under `config`.
    pub fn signing_key_for(&self, client: &ClientConfig) -> Option<Arc<SigningKey>> {
        self.keys().signing_key_for(Some(client)).cloned()
    }

    /// Replaces the configuration with what `change` makes of the current one, if it validates;
    /// the discovery document is re-serialised.
    pub fn update_config<E>(
        &self,
        change: impl FnOnce(&Config) -> Result<Config, E>,
    ) -> Result<Arc<Config>, E> {
        let _writer = lock(&self.writer);
        let next = Arc::new(change(&self.config())?);
        *write(&self.config) = next.clone();
        self.reserialise_discovery();
        Ok(next)
    }

    /// Replaces the key set with what `change` makes of the current one; the JWKS (inside the
    /// new [`KeySet`]) and the discovery document are re-serialised.
    pub fn update_keys<E>(
        &self,
        change: impl FnOnce(&KeySet) -> Result<KeySet, E>,
    ) -> Result<Arc<KeySet>, E> {
        let _writer = lock(&self.writer);
        let next = Arc::new(change(&self.keys())?);
        *write(&self.keys) = next.clone();
        self.reserialise_discovery();
        Ok(next)
    }

    fn reserialise_discovery(&self) {
        let document = crate::rules::metadata::document(&self.config(), &self.issuer, &self.keys());
        *write(&self.discovery_json) = document.to_string().into();
    }

    /// The full URL of an endpoint path.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The authorization codes.
    pub fn codes(&self) -> &CodeStore {
        &self.codes
    }

    /// Starts the refresh family of a grant and returns its first refresh token. A family the
    /// full store forgot to make room has its grant revoked until `forgotten_until` (past the
    /// `exp` of its access tokens): its spent tokens could no longer be told from unknown ones.
    pub fn start_refresh_family(
        &self,
        grant: RefreshFamily,
        now: u64,
        forgotten_until: u64,
    ) -> String {
        let (token, forgotten) = lock(&self.refresh_tokens).start(grant, now);
        for family in forgotten {
            self.revoke_grant_or_everything(
                &family.grant_id,
                &family.client_id,
                forgotten_until,
                now,
            );
        }
        token
    }

    /// What a presented refresh token is: its family's current one, a spent one, or unknown.
    pub fn presented_refresh_token(&self, token: &str, now: u64) -> Presented {
        lock(&self.refresh_tokens).presented(token, now)
    }

    /// Rotates `family` past generation `seen`: the new token, valid until `expires_at`.
    pub fn rotate_refresh_token(
        &self,
        family: &str,
        seen: u64,
        now: u64,
        expires_at: u64,
    ) -> Result<String, RotationRace> {
        lock(&self.refresh_tokens).rotate(family, seen, now, expires_at)
    }

    /// Revokes one access token of `client_id` until its `exp` (RFC 7009 2.1); refused when the
    /// store is full of live revocations (RFC 7009 2.2.1: the caller answers 503, the token is
    /// not revoked).
    pub fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        exp: u64,
        now: u64,
    ) -> Result<(), StoreFull> {
        self.revocations.revoke_token(jti, client_id, exp, now)
    }

    /// Revokes a grant of `client_id`: every access token that carries its id, until `until`
    /// (the latest `exp` any of them can have), and every refresh token of its family. Refused
    /// when the store is full of live revocations, and then nothing is revoked.
    pub fn revoke_grant(
        &self,
        grant: &str,
        client_id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), StoreFull> {
        self.revocations
            .revoke_grant(grant, client_id, until, now)?;
        lock(&self.refresh_tokens).end(grant);
        Ok(())
    }

    /// [`revoke_grant`](Self::revoke_grant) for revocations the issuer must make itself (a
    /// replayed code, a reused or forgotten refresh token): if the store is full of live
    /// revocations, every token issued to that client until now is revoked instead, with its
    /// refresh tokens. That revokes far more than asked, loudly, but never fails open, and it
    /// stays within the client whose grant it was.
    pub fn revoke_grant_or_everything(&self, grant: &str, client_id: &str, until: u64, now: u64) {
        // The moment of the revocation: a concurrent request of the same grant (a refresh) may
        // have issued tokens since this one read its clock, and both the grant's record and the
        // watermark must cover them. Their lifetime is the one `until` allows from `now`.
        let revoked_at = now.max(self.now());
        let until = until.saturating_add(revoked_at - now);
        if self
            .revoke_grant(grant, client_id, until, revoked_at)
            .is_ok()
        {
            return;
        }
        self.revocations.revoke_everything_of(client_id, revoked_at);
        lock(&self.refresh_tokens).end_client(client_id);
        tracing::error!(
            client_id,
            revoked_until = revoked_at,
            "the revocation store is full of live revocations: every token issued to this client until now is revoked, so that this revocation holds"
        );
    }

    /// Whether an access token (by `jti`, its grant, its client and when it was issued) was
    /// revoked.
    pub fn is_access_token_revoked(
        &self,
        jti: &str,
        grant: Option<&str>,
        client_id: &str,
        issued_at: u64,
    ) -> bool {
        self.revocations
            .is_token_revoked(jti, grant, client_id, issued_at)
    }

    /// Whether the grant `grant` of `client_id`, or everything issued to the client at
    /// `issued_at`, was revoked.
    pub fn is_grant_revoked(&self, grant: &str, client_id: &str, issued_at: u64) -> bool {
        self.revocations
            .is_grant_revoked(grant, client_id, issued_at)
    }

    /// Starts a browser session for `login`; returns the secret its cookie carries.
    pub fn start_session(&self, login: Login, now: u64) -> String {
        let id = self.rng.secret();
        self.sessions.start(&id, login, now);
        id
    }

    /// The session with this id, unless it has expired ([`limits::SESSION_LIFETIME`]).
    pub fn session(&self, id: &str, now: u64) -> Option<Session> {
        self.sessions.get(id, now)
    }

    pub fn end_session(&self, id: &str) {
        self.sessions.end(id);
    }

    /// Keeps an authorization request until the login page is answered, bound to the browser
    /// holding `browser` (its binding cookie): returns the interaction id and the form token.
    pub fn store_pending_login(
        &self,
        request: AuthorizationRequest,
        browser: &str,
        now: u64,
    ) -> (String, String) {
        let id = self.rng.secret();
        let form_token = self.rng.secret();
        self.interactions
            .store(&id, &form_token, request, browser, now);
        (id, form_token)
    }

    /// Takes a pending login: each login page can be answered once, by the browser it was
    /// shown to, with the page's own form token. A mismatch leaves the login pending.
    pub fn take_pending_login(
        &self,
        id: &str,
        browser: Option<&str>,
        form_token: Option<&str>,
        now: u64,
    ) -> Result<AuthorizationRequest, PendingLoginError> {
        self.interactions.take(id, browser, form_token, now)
    }

    /// How many entries each store holds now.
    pub fn store_sizes(&self) -> StoreSizes {
        let (codes, codes_refused) = self.codes.counts();
        let refresh = lock(&self.refresh_tokens);
        let revocations = self.revocations.counts();
        let (sessions, sessions_evicted) = self.sessions.counts();
        let (interactions, pages_evicted) = self.interactions.counts();
        StoreSizes {
            codes,
            refresh_tokens: refresh.len(),
            revoked_access_tokens: revocations.tokens,
            revoked_grants: revocations.grants,
            sessions,
            interactions,
            request_log: self.forge.requests.len(),
            queued_claims: self.forge.queued_claims.len(),
            evicted: refresh.evicted() + sessions_evicted + pages_evicted,
            refused: codes_refused + revocations.refused,
            revoked_until: revocations.revoked_until,
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the stores hold plain
/// maps that stay consistent at every await-free step.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
