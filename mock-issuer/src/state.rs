//! The issuer's state: configuration, keys, clock, randomness, and the stores of what it has
//! issued (codes, refresh tokens, revocations, browser sessions, pending logins).
//!
//! Data flows one way: [`Config`] becomes an [`IssuerState`] at startup; handlers read it and
//! record grants in it; nothing flows back into the configuration. The configuration and the keys
//! can be replaced at runtime (the forge's users and key rotation), so each lives behind a
//! `RwLock<Arc<..>>`: a handler takes a cheap `Arc` snapshot once per request and works on a
//! consistent view, and a change swaps in a whole new value, re-serialising the discovery
//! document and the JWKS then, never per request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::body::Bytes;

use crate::clock::Clock;
use crate::config::{Config, SigningAlg};
use crate::forge::{ForgeOptions, ForgeState};
use crate::keys::{KeyError, KeySet, SigningKey};
use crate::random::TokenRng;
use crate::rules::authorization::AuthorizationRequest;
use crate::rules::pkce::PkceChallenge;

/// Paths of the endpoints, relative to the issuer URL (Fief's layout).
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";
    pub const JWKS: &str = "/.well-known/jwks.json";
    pub const AUTHORIZE: &str = "/authorize";
    pub const LOGIN_DECISION: &str = "/authorize/decision";
    pub const TOKEN: &str = "/api/token";
    pub const USERINFO: &str = "/api/userinfo";
    pub const LOGOUT: &str = "/logout";
    pub const INTROSPECT: &str = "/introspect";
    pub const REVOKE: &str = "/revoke";
}

/// Name of the issuer's own browser-session cookie.
pub const SESSION_COOKIE: &str = "oidc_forge_session";

/// Shared, cheaply cloned handle to the state.
pub type AppState = Arc<IssuerState>;

/// Everything the handlers read and the stores they write.
#[derive(Debug)]
pub struct IssuerState {
    config: RwLock<Arc<Config>>,
    /// The issuer identifier (`iss`), without a trailing slash.
    pub issuer: String,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<TokenRng>,
    keys: RwLock<Arc<KeySet>>,
    /// The discovery document, serialised at startup and again only when the configuration or
    /// the keys change.
    discovery_json: RwLock<Bytes>,
    /// Serialises the writers of `config`, `keys` and `discovery_json`, so that a change and the
    /// re-serialisation it causes are never interleaved with another change.
    writer: Mutex<()>,
    /// Authorization codes, until they expire; capped at [`limits::CODES`].
    pub codes: Mutex<BoundedMap<CodeGrant>>,
    pub refresh_tokens: Mutex<RefreshStore>,
    /// `jti` of revoked access tokens, with their `exp` so they can be forgotten after it;
    /// capped at [`limits::REVOKED_ACCESS_TOKENS`].
    pub revoked_access_tokens: Mutex<BoundedMap<u64>>,
    /// Browser sessions, for [`limits::SESSION_LIFETIME`]; capped at [`limits::SESSIONS`].
    pub sessions: Mutex<BoundedMap<Session>>,
    /// Login pages waiting for an answer; capped at [`limits::INTERACTIONS`].
    pub interactions: Mutex<BoundedMap<PendingLogin>>,
    /// Scripted faults, the request log, queued claims and the admin API switch.
    pub forge: ForgeState,
}

/// Who signed in, when, and how strongly: carried from login to every token of the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user's `sub`.
    pub sub: String,
    pub auth_time: u64,
    /// Fief's authentication context class: "0" normal, "1" a fresh, forced authentication.
    pub acr: &'static str,
}

/// An authorization code and what it was issued for (RFC 6749 4.1.2).
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    /// The `redirect_uri` of the authorization request, if it carried one (RFC 6749 4.1.3).
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub pkce: Option<PkceChallenge>,
    pub login: Login,
    pub expires_at: u64,
    /// Set on first redemption, so that a replay can revoke what it issued (RFC 6749 4.1.2).
    pub redeemed: Option<Redemption>,
}

/// Where a code's first redemption stands (RFC 6749 4.1.2: a replay revokes what it issued).
#[derive(Debug, Clone)]
pub enum Redemption {
    /// The tokens are being signed. `replayed` records a replay that came meanwhile: the
    /// redemption then revokes what it issued as soon as it knows what that is.
    Issuing { replayed: bool },
    /// The tokens were issued.
    Issued(IssuedFromCode),
}

/// What a code's redemption issued.
#[derive(Debug, Clone)]
pub struct IssuedFromCode {
    pub access_token_jti: String,
    pub access_token_exp: u64,
    pub refresh_family: Option<String>,
}

/// A refresh token's grant (RFC 6749 6).
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub login: Login,
    pub expires_at: u64,
    /// All tokens of one rotation chain share a family; a replayed old token revokes it.
    pub family: String,
}

/// Active refresh tokens and the ones rotated away (kept to detect replay, RFC 9700 4.14.2).
#[derive(Debug)]
pub struct RefreshStore {
    pub active: BoundedMap<RefreshGrant>,
    /// Rotated token -> (family, expiry).
    pub rotated: BoundedMap<(String, u64)>,
}

impl Default for RefreshStore {
    fn default() -> Self {
        Self {
            active: BoundedMap::new(limits::REFRESH_TOKENS),
            rotated: BoundedMap::new(limits::ROTATED_REFRESH_TOKENS),
        }
    }
}

impl RefreshStore {
    /// Revokes every active token of `family`.
    pub fn revoke_family(&mut self, family: &str) {
        self.active.retain(|_, grant| grant.family != family);
    }

    pub fn purge_expired(&mut self, now: u64) {
        self.active.purge_expired(now);
        self.rotated.purge_expired(now);
    }
}

/// The issuer's browser session (Core 3.1.2.3: reused by later requests, `prompt=none`).
#[derive(Debug, Clone)]
pub struct Session {
    pub login: Login,
}

/// An authorization request waiting for the user to choose on the login page.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub request: AuthorizationRequest,
    pub expires_at: u64,
}

/// How long the interactive login page stays valid.
pub const LOGIN_PAGE_LIFETIME: u64 = limits::LOGIN_PAGE_LIFETIME;

/// How long the stores keep what they hold, and how much at most. Every store drops expired
/// entries as new ones arrive, and past its cap evicts the oldest entry, so a soak of millions
/// of requests holds memory flat. The caps are far above what one test suite keeps alive at
/// once; an eviction is logged at `warn`, since it forgets a grant before its time.
pub mod limits {
    /// Authorization codes issued and not yet expired (redeemed ones are kept until expiry to
    /// detect replay, RFC 6749 4.1.2).
    pub const CODES: usize = 20_000;
    /// Refresh tokens that may still be redeemed.
    pub const REFRESH_TOKENS: usize = 20_000;
    /// Refresh tokens rotated away, kept to detect replay (RFC 9700 4.14.2).
    pub const ROTATED_REFRESH_TOKENS: usize = 20_000;
    /// `jti`s of revoked, not yet expired access tokens.
    pub const REVOKED_ACCESS_TOKENS: usize = 20_000;
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

/// What a [`BoundedMap`] holds: each entry knows when it expires.
pub trait Expiring {
    /// Unix time after which the entry is useless.
    fn expires_at(&self) -> u64;
}

impl Expiring for CodeGrant {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl Expiring for RefreshGrant {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// A rotated refresh token: (family, expiry of the token it was).
impl Expiring for (String, u64) {
    fn expires_at(&self) -> u64 {
        self.1
    }
}

/// A revoked access token's `exp`.
impl Expiring for u64 {
    fn expires_at(&self) -> u64 {
        *self
    }
}

impl Expiring for Session {
    fn expires_at(&self) -> u64 {
        self.login
            .auth_time
            .saturating_add(limits::SESSION_LIFETIME)
    }
}

impl Expiring for PendingLogin {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// A map from secret strings (codes, tokens, session ids) to what they grant, with a capacity:
/// past it, inserting evicts the oldest entry. Insertion order is kept in a `BTreeMap` keyed by
/// a sequence number, so eviction and the sweep of expired entries at the old end cost a
/// logarithm, not a scan.
///
/// Keys are held as their SHA-256: the secrets themselves are never stored, and a lookup
/// compares digests, so its timing says nothing about how much of a guessed code or token
/// matched a real one (RFC 6749 10.10; RFC 9700 4.14).
#[derive(Debug)]
pub struct BoundedMap<V> {
    capacity: usize,
    next_seq: u64,
    entries: HashMap<KeyDigest, (u64, V)>,
    order: BTreeMap<u64, KeyDigest>,
    evicted: u64,
    /// The clock second of the last full sweep, so a full store is swept at most once a second.
    swept_at: Option<u64>,
}

/// The SHA-256 of a key of a [`BoundedMap`].
pub type KeyDigest = [u8; 32];

fn key_digest(key: &str) -> KeyDigest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl<V: Expiring> BoundedMap<V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            next_seq: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            evicted: 0,
            swept_at: None,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many unexpired entries were evicted because the map was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(&key_digest(key)).map(|(_, value)| value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.entries
            .get_mut(&key_digest(key))
            .map(|(_, value)| value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(&key_digest(key))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.values().map(|(_, value)| value)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.remove_digest(&key_digest(key))
    }

    fn remove_digest(&mut self, digest: &KeyDigest) -> Option<V> {
        let (seq, value) = self.entries.remove(digest)?;
        self.order.remove(&seq);
        Some(value)
    }

    /// Inserts as the newest entry (replacing one with the same key), evicting the oldest when
    /// full. Callers that know the time use [`insert_at`](Self::insert_at), which drops expired
    /// entries first.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        let digest = key_digest(&key);
        let previous = self.remove_digest(&digest);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
            self.evicted += 1;
            if self.evicted.is_power_of_two() {
                tracing::warn!(
                    capacity = self.capacity,
                    evicted = self.evicted,
                    "a store of the issuer is full: its oldest entries are forgotten before they expire"
                );
            }
        }
        self.order.insert(self.next_seq, digest);
        self.entries.insert(digest, (self.next_seq, value));
        self.next_seq += 1;
        previous
    }

    /// Drops expired entries from the old end, sweeps the whole map when it is full (at most
    /// once per clock second), then inserts.
    pub fn insert_at(&mut self, key: String, value: V, now: u64) -> Option<V> {
        self.purge_expired_oldest(now);
        if self.entries.len() >= self.capacity && self.swept_at != Some(now) {
            self.swept_at = Some(now);
            self.purge_expired(now);
        }
        self.insert(key, value)
    }

    /// Drops the oldest entries while they are expired: entries of one kind mostly expire in
    /// the order they were issued, so this keeps the map near its live size at the cost of a
    /// few tree lookups per insertion.
    pub fn purge_expired_oldest(&mut self, now: u64) {
        while let Some(entry) = self.order.first_entry() {
            let expired = self
                .entries
                .get(entry.get())
                .is_none_or(|(_, value)| value.expires_at() <= now);
            if !expired {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
        }
    }

    /// Drops every expired entry.
    pub fn purge_expired(&mut self, now: u64) {
        self.retain(|_, value| value.expires_at() > now);
    }

    /// Keeps the entries for which `keep` is true (it sees the key's digest: the key itself
    /// is not stored).
    pub fn retain(&mut self, mut keep: impl FnMut(&KeyDigest, &V) -> bool) {
        let order = &mut self.order;
        self.entries.retain(|key, (seq, value)| {
            let kept = keep(key, value);
            if !kept {
                order.remove(seq);
            }
            kept
        });
    }
}

/// How full the stores are, for soak runs and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreSizes {
    pub codes: usize,
    pub refresh_tokens: usize,
    pub rotated_refresh_tokens: usize,
    pub revoked_access_tokens: usize,
    pub sessions: usize,
    pub interactions: usize,
    pub request_log: usize,
    pub queued_claims: usize,
    /// Unexpired entries forgotten because a store was full, all stores together.
    pub evicted: u64,
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
        Self::with_forge(config, issuer, clock, rng, ForgeOptions::default())
    }

    /// [`IssuerState::new`] with the forge's options (admin API, request log size).
    pub fn with_forge(
        config: Config,
        issuer: String,
        clock: Arc<dyn Clock>,
        rng: TokenRng,
        forge: ForgeOptions,
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
        let discovery_json = crate::endpoints::discovery::document(&config, &issuer, &keys)
            .to_string()
            .into();
        Ok(Self {
            config: RwLock::new(Arc::new(config)),
            issuer,
            clock,
            rng: Arc::new(rng),
            keys: RwLock::new(Arc::new(keys)),
            discovery_json: RwLock::new(discovery_json),
            writer: Mutex::default(),
            codes: Mutex::new(BoundedMap::new(limits::CODES)),
            refresh_tokens: Mutex::default(),
            revoked_access_tokens: Mutex::new(BoundedMap::new(limits::REVOKED_ACCESS_TOKENS)),
            sessions: Mutex::new(BoundedMap::new(limits::SESSIONS)),
            interactions: Mutex::new(BoundedMap::new(limits::INTERACTIONS)),
            forge: ForgeState::new(forge),
        })
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
    pub fn signing_key_for(&self, config: &Config, client_id: &str) -> Option<Arc<SigningKey>> {
        let keys = self.keys();
        keys.signing_key_for(config.client(client_id)).cloned()
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
        let document =
            crate::endpoints::discovery::document(&self.config(), &self.issuer, &self.keys());
        *write(&self.discovery_json) = document.to_string().into();
    }

    /// The full URL of an endpoint path.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn store_code(&self, code: String, grant: CodeGrant) {
        let now = self.now();
        lock(&self.codes).insert_at(code, grant, now);
    }

    pub fn store_refresh_token(&self, token: String, grant: RefreshGrant) {
        let now = self.now();
        let mut store = lock(&self.refresh_tokens);
        store.rotated.purge_expired_oldest(now);
        store.active.insert_at(token, grant, now);
    }

    pub fn revoke_access_token(&self, jti: String, exp: u64) {
        let now = self.now();
        lock(&self.revoked_access_tokens).insert_at(jti, exp, now);
    }

    pub fn is_access_token_revoked(&self, jti: &str) -> bool {
        lock(&self.revoked_access_tokens).contains_key(jti)
    }

    pub fn start_session(&self, login: Login) -> String {
        let id = self.rng.secret();
        let now = self.now();
        lock(&self.sessions).insert_at(id.clone(), Session { login }, now);
        id
    }

    /// The session with this id, unless it has expired ([`limits::SESSION_LIFETIME`]).
    pub fn session(&self, id: &str) -> Option<Session> {
        let now = self.now();
        lock(&self.sessions)
            .get(id)
            .filter(|session| session.expires_at() > now)
            .cloned()
    }

    pub fn end_session(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    pub fn store_pending_login(&self, request: AuthorizationRequest) -> String {
        let id = self.rng.secret();
        let now = self.now();
        let pending = PendingLogin {
            request,
            expires_at: now + LOGIN_PAGE_LIFETIME,
        };
        lock(&self.interactions).insert_at(id.clone(), pending, now);
        id
    }

    /// Takes a pending login: each login page can be answered once.
    pub fn take_pending_login(&self, id: &str) -> Option<AuthorizationRequest> {
        let now = self.now();
        lock(&self.interactions)
            .remove(id)
            .filter(|pending| pending.expires_at > now)
            .map(|pending| pending.request)
    }

    /// How many entries each store holds now.
    pub fn store_sizes(&self) -> StoreSizes {
        let codes = lock(&self.codes);
        let refresh = lock(&self.refresh_tokens);
        let revoked = lock(&self.revoked_access_tokens);
        let sessions = lock(&self.sessions);
        let interactions = lock(&self.interactions);
        StoreSizes {
            codes: codes.len(),
            refresh_tokens: refresh.active.len(),
            rotated_refresh_tokens: refresh.rotated.len(),
            revoked_access_tokens: revoked.len(),
            sessions: sessions.len(),
            interactions: interactions.len(),
            request_log: self.forge.requests.len(),
            queued_claims: self.forge.queued_claims.len(),
            evicted: codes.evicted()
                + refresh.active.evicted()
                + refresh.rotated.evicted()
                + revoked.evicted()
                + sessions.evicted()
                + interactions.evicted(),
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
