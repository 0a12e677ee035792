//! The issuer's state: configuration, keys, clock, randomness, and the stores of what it has
//! issued (codes, refresh tokens, revocations, browser sessions, pending logins).
//!
//! Data flows one way: [`Config`] becomes an [`IssuerState`] at startup; handlers read it and
//! record grants in it; nothing flows back into the configuration. The configuration and the keys
//! can be replaced at runtime (the forge's users and key rotation), so each lives behind a
//! `RwLock<Arc<..>>`: a handler takes a cheap `Arc` snapshot once per request and works on a
//! consistent view, and a change swaps in a whole new value, re-serialising the discovery
//! document and the JWKS then, never per request.

use std::collections::HashMap;
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
    pub codes: Mutex<HashMap<String, CodeGrant>>,
    pub refresh_tokens: Mutex<RefreshStore>,
    /// `jti` of revoked access tokens, with their `exp` so they can be forgotten after it.
    pub revoked_access_tokens: Mutex<HashMap<String, u64>>,
    pub sessions: Mutex<HashMap<String, Session>>,
    pub interactions: Mutex<HashMap<String, PendingLogin>>,
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
    /// Set on first redemption: what was issued, so that a replay can revoke it (RFC 6749 4.1.2).
    pub redeemed: Option<IssuedFromCode>,
}

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
#[derive(Debug, Default)]
pub struct RefreshStore {
    pub active: HashMap<String, RefreshGrant>,
    /// Rotated token -> (family, expiry).
    pub rotated: HashMap<String, (String, u64)>,
}

impl RefreshStore {
    /// Revokes every active token of `family`.
    pub fn revoke_family(&mut self, family: &str) {
        self.active.retain(|_, grant| grant.family != family);
    }

    pub fn purge_expired(&mut self, now: u64) {
        self.active.retain(|_, grant| grant.expires_at > now);
        self.rotated.retain(|_, (_, expires_at)| *expires_at > now);
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
pub const LOGIN_PAGE_LIFETIME: u64 = 600;

/// Stores are purged of expired entries once they pass this size, so memory stays bounded.
const PURGE_THRESHOLD: usize = 4096;

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
            codes: Mutex::default(),
            refresh_tokens: Mutex::default(),
            revoked_access_tokens: Mutex::default(),
            sessions: Mutex::default(),
            interactions: Mutex::default(),
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
        let mut codes = lock(&self.codes);
        if codes.len() >= PURGE_THRESHOLD {
            codes.retain(|_, grant| grant.expires_at > now);
        }
        codes.insert(code, grant);
    }

    pub fn store_refresh_token(&self, token: String, grant: RefreshGrant) {
        let now = self.now();
        let mut store = lock(&self.refresh_tokens);
        if store.active.len() + store.rotated.len() >= PURGE_THRESHOLD {
            store.purge_expired(now);
        }
        store.active.insert(token, grant);
    }

    pub fn revoke_access_token(&self, jti: String, exp: u64) {
        let now = self.now();
        let mut revoked = lock(&self.revoked_access_tokens);
        if revoked.len() >= PURGE_THRESHOLD {
            revoked.retain(|_, exp| *exp > now);
        }
        revoked.insert(jti, exp);
    }

    pub fn is_access_token_revoked(&self, jti: &str) -> bool {
        lock(&self.revoked_access_tokens).contains_key(jti)
    }

    pub fn start_session(&self, login: Login) -> String {
        let id = self.rng.secret();
        let mut sessions = lock(&self.sessions);
        if sessions.len() >= PURGE_THRESHOLD {
            // Sessions have no expiry of their own; the oldest are as good as any to drop.
            sessions.clear();
        }
        sessions.insert(id.clone(), Session { login });
        id
    }

    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.sessions).get(id).cloned()
    }

    pub fn end_session(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    pub fn store_pending_login(&self, request: AuthorizationRequest) -> String {
        let id = self.rng.secret();
        let now = self.now();
        let mut pending = lock(&self.interactions);
        if pending.len() >= PURGE_THRESHOLD {
            pending.retain(|_, login| login.expires_at > now);
        }
        pending.insert(
            id.clone(),
            PendingLogin {
                request,
                expires_at: now + LOGIN_PAGE_LIFETIME,
            },
        );
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
