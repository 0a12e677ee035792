//! Where user information is kept between requests.
//!
//! Mirrors the Fief integrations' cache protocol (`get(user_id)` /
//! `set(user_id, userinfo)`) as an async trait, plus `remove` so logout can
//! purge an entry (C-22). The default, [`MemoryUserInfoCache`], expires
//! entries after a TTL measured on the injected clock; keep the TTL at or
//! below the access token lifetime (C-14).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::tokens::UserInfo;

/// A boxed future, so the trait can be used as `Arc<dyn UserInfoCache>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An async store of [`UserInfo`] keyed by user id (the token's `sub`).
///
/// Implement it over Redis, a database or a session store; errors are the
/// implementation's to swallow, since a cache miss only costs a UserInfo call.
pub trait UserInfoCache: Send + Sync + 'static {
    /// The cached user information, if any and still fresh.
    fn get<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Option<UserInfo>>;
    /// Stores user information.
    fn set<'a>(&'a self, user_id: &'a str, userinfo: UserInfo) -> BoxFuture<'a, ()>;
    /// Forgets a user (logout, or a token the issuer no longer accepts).
    fn remove<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, ()>;
}

/// An in-process cache whose entries expire after a fixed TTL.
#[derive(Debug)]
pub struct MemoryUserInfoCache {
    entries: Mutex<HashMap<String, (u64, UserInfo)>>,
    ttl: u64,
    clock: Arc<dyn Clock>,
}

impl MemoryUserInfoCache {
    /// Default time-to-live: five minutes.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

    /// A cache keeping entries for `ttl` on the system clock.
    pub fn new(ttl: Duration) -> Self {
        Self::with_clock(ttl, Arc::new(SystemClock))
    }

    /// A cache keeping entries for `ttl` on `clock`.
    pub fn with_clock(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl: ttl.as_secs(),
            clock,
        }
    }

    /// Number of entries, fresh or not yet evicted.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// `true` if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, UserInfo)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryUserInfoCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_TTL)
    }
}

impl UserInfoCache for MemoryUserInfoCache {
    fn get<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Option<UserInfo>> {
        let now = self.clock.now();
        let mut entries = self.lock();
        let found = match entries.get(user_id) {
            Some((expires_at, userinfo)) if now < *expires_at => Some(userinfo.clone()),
            Some(_) => {
                entries.remove(user_id);
                None
            }
            None => None,
        };
        Box::pin(std::future::ready(found))
    }

    fn set<'a>(&'a self, user_id: &'a str, userinfo: UserInfo) -> BoxFuture<'a, ()> {
        let expires_at = self.clock.now().saturating_add(self.ttl);
        let mut entries = self.lock();
        // Drop expired entries as we go so the map cannot grow without bound.
        let now = self.clock.now();
        entries.retain(|_, (at, _)| now < *at);
        entries.insert(user_id.to_owned(), (expires_at, userinfo));
        Box::pin(std::future::ready(()))
    }

    fn remove<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, ()> {
        self.lock().remove(user_id);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use serde_json::json;

    fn info(sub: &str) -> UserInfo {
        UserInfo::from_claims(json!({"sub": sub}).as_object().cloned().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl_on_the_injected_clock() {
        let clock = Arc::new(FixedClock::new(1_000));
        let cache = MemoryUserInfoCache::with_clock(Duration::from_secs(60), clock.clone());
        cache.set("u1", info("u1")).await;
        assert_eq!(cache.get("u1").await, Some(info("u1")));
        clock.advance(59);
        assert!(cache.get("u1").await.is_some());
        clock.advance(1);
        assert_eq!(cache.get("u1").await, None);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn remove_forgets_a_user() {
        let cache = MemoryUserInfoCache::default();
        cache.set("u1", info("u1")).await;
        cache.set("u2", info("u2")).await;
        cache.remove("u1").await;
        assert_eq!(cache.get("u1").await, None);
        assert_eq!(cache.len(), 1);
    }
}
