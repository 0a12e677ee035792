//! The issuer's browser sessions (Core 3.1.2.3: reused by later requests and `prompt=none`) and
//! its login pages waiting for an answer. Both forget their oldest entry when full
//! ([`Overflow::EvictOldest`]): a forgotten session or page only asks the user to sign in again.

use std::sync::Mutex;

use super::{BoundedMap, Expiring, KeyDigest, Overflow, key_digest};
use crate::rules::authorization::AuthorizationRequest;
use crate::state::{Login, limits, lock};

/// A browser session at the issuer.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: Login,
}

impl Expiring for Session {
    fn expires_at(&self) -> u64 {
        self.login
            .auth_time
            .saturating_add(limits::SESSION_LIFETIME)
    }
}

/// The sessions, by the secret their cookie carries.
#[derive(Debug)]
pub struct SessionStore {
    sessions: Mutex<BoundedMap<Session>>,
}

impl SessionStore {
    pub fn new(capacity: usize) -> Self {
        Self {
            sessions: Mutex::new(BoundedMap::new("session", capacity, Overflow::EvictOldest)),
        }
    }

    /// Starts the session `id` for `login`.
    pub fn start(&self, id: &str, login: Login, now: u64) {
        // Evicting never refuses.
        let _ = lock(&self.sessions).insert(id, Session { login }, now);
    }

    /// The session `id`, unless it has expired ([`limits::SESSION_LIFETIME`]).
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        lock(&self.sessions)
            .get(id)
            .filter(|session| session.expires_at() > now)
            .cloned()
    }

    pub fn end(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// How many sessions are held, and how many live ones were forgotten to make room.
    pub fn counts(&self) -> (usize, u64) {
        let sessions = lock(&self.sessions);
        (sessions.len(), sessions.evicted())
    }
}

/// An authorization request waiting for the user to choose on the login page, bound to the
/// browser that was shown the page (its binding cookie) and to the page's form token.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub request: AuthorizationRequest,
    pub expires_at: u64,
    browser: KeyDigest,
    form_token: KeyDigest,
}

impl Expiring for PendingLogin {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// Why a login page's answer was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PendingLoginError {
    #[error("this login page has expired or was already answered; start the sign-in again")]
    Unknown,
    #[error("this login page was not shown in this browser; start the sign-in again")]
    OtherBrowser,
}

/// The login pages shown and not yet answered, by interaction id.
#[derive(Debug)]
pub struct LoginPages {
    pages: Mutex<BoundedMap<PendingLogin>>,
}

impl LoginPages {
    pub fn new(capacity: usize) -> Self {
        Self {
            pages: Mutex::new(BoundedMap::new(
                "login page",
                capacity,
                Overflow::EvictOldest,
            )),
        }
    }

    /// Keeps `request` under `id` until the page is answered or expires, bound to the browser
    /// holding `browser` (its binding cookie) and to the page's `form_token`; only their digests
    /// are kept.
    pub fn store(
        &self,
        id: &str,
        form_token: &str,
        request: AuthorizationRequest,
        browser: &str,
        now: u64,
    ) {
        let pending = PendingLogin {
            request,
            expires_at: now + limits::LOGIN_PAGE_LIFETIME,
            browser: key_digest(browser),
            form_token: key_digest(form_token),
        };
        // Evicting never refuses.
        let _ = lock(&self.pages).insert(id, pending, now);
    }

    /// Takes a pending login: each login page can be answered once, by the browser it was
    /// shown to, with the page's own form token (compared in constant time). A mismatch leaves
    /// the login pending.
    pub fn take(
        &self,
        id: &str,
        browser: Option<&str>,
        form_token: Option<&str>,
        now: u64,
    ) -> Result<AuthorizationRequest, PendingLoginError> {
        use subtle::ConstantTimeEq as _;
        let mut pages = lock(&self.pages);
        let pending = pages
            .get(id)
            .filter(|pending| pending.expires_at > now)
            .ok_or(PendingLoginError::Unknown)?;
        let matches = |expected: &KeyDigest, given: Option<&str>| {
            given.is_some_and(|given| bool::from(key_digest(given).ct_eq(expected)))
        };
        if !(matches(&pending.browser, browser) && matches(&pending.form_token, form_token)) {
            return Err(PendingLoginError::OtherBrowser);
        }
        pages
            .remove(id)
            .map(|pending| pending.request)
            .ok_or(PendingLoginError::Unknown)
    }

    /// How many pages are held, and how many live ones were forgotten to make room.
    pub fn counts(&self) -> (usize, u64) {
        let pages = lock(&self.pages);
        (pages.len(), pages.evicted())
    }
}
