//! The issuer's signing keys: cached, refetched once for an unknown `kid`.
//!
//! Core 10.1.1: when a token names a key the cache does not hold, the issuer
//! may have rotated, so the JWKS is fetched again, once. Two guards keep a
//! flood of random `kid`s from turning into a flood of fetches (D-12):
//! - single flight: concurrent misses wait on one fetch instead of each
//!   starting their own;
//! - cooldown: after a fetch, no other starts for `cooldown` seconds; misses
//!   in that window are simply refused.
//!
//! A successful fetch replaces the whole key set, so a key rotated out of the
//! JWKS stops validating from then on (D-14). Keys older than `max_age` are
//! refreshed before use; if that refresh fails the old keys stay in use rather
//! than failing every request.

use jsonwebtoken::Algorithm;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use crate::validate::VerifyingKey;

/// Why no key could be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyLookupError {
    /// The JWKS could not be fetched and nothing usable is cached.
    Unavailable(String),
    /// The JWKS is available but holds no key matching the token.
    NoMatch(String),
}

#[derive(Default)]
struct State {
    /// Each key behind its own `Arc`, so a lookup hands out pointers instead of copying the
    /// key material on every validation.
    keys: Arc<Vec<Arc<VerifyingKey>>>,
    /// Bumped on every successful fetch; waiters compare it to skip a fetch
    /// another task already did.
    generation: u64,
    fetched_at: Option<u64>,
    last_attempt: Option<u64>,
    last_error: Option<String>,
    fetches: u64,
}

/// The key cache. Cheap to share behind an `Arc`.
pub(crate) struct JwksCache {
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
    cooldown: u64,
    max_age: u64,
}

impl JwksCache {
    pub(crate) fn new(cooldown: u64, max_age: u64) -> Self {
        Self {
            state: Mutex::new(State::default()),
            flight: tokio::sync::Mutex::new(()),
            cooldown,
            max_age,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data; a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many fetches were attempted (for diagnostics and tests).
    pub(crate) fn fetch_count(&self) -> u64 {
        self.lock().fetches
    }

    /// The keys that may verify a token with this `kid` and `alg`.
    ///
    /// With a `kid`, only keys carrying that `kid`; without one, every key
    /// that fits `alg` (Core 10.1: the caller tries each).
    pub(crate) async fn keys_for<F, Fut>(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        now: u64,
        fetch: F,
    ) -> Result<Vec<Arc<VerifyingKey>>, KeyLookupError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<VerifyingKey>, String>>,
    {
        let (keys, generation, fresh) = {
            let state = self.lock();
            let fresh = state
                .fetched_at
                .is_some_and(|at| now < at.saturating_add(self.max_age));
            (state.keys.clone(), state.generation, fresh)
        };
        let matching = select(&keys, kid, alg);
        if fresh && !matching.is_empty() {
            return Ok(matching);
        }
        self.refresh(generation, now, fetch).await?;
        let keys = self.lock().keys.clone();
        let matching = select(&keys, kid, alg);
        if matching.is_empty() {
            Err(KeyLookupError::NoMatch(match kid {
                Some(kid) => format!("kid {:?}", kid.chars().take(64).collect::<String>()),
                None => format!("a token without kid signed with {alg:?}"),
            }))
        } else {
            Ok(matching)
        }
    }

    async fn refresh<F, Fut>(&self, seen: u64, now: u64, fetch: F) -> Result<(), KeyLookupError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<VerifyingKey>, String>>,
    {
        let _flight = self.flight.lock().await;
        {
            let state = self.lock();
            if state.generation != seen {
                // Another task fetched while this one waited: use its result.
                return Ok(());
            }
            let cooling = state
                .last_attempt
                .is_some_and(|at| now < at.saturating_add(self.cooldown));
            if cooling {
                return match (&state.fetched_at, &state.last_error) {
                    (None, Some(error)) => Err(KeyLookupError::Unavailable(format!(
                        "{error} (next attempt after the {} s cooldown)",
                        self.cooldown
                    ))),
                    _ => Ok(()),
                };
            }
        }
        let result = fetch().await;
        let mut state = self.lock();
        state.last_attempt = Some(now);
        state.fetches += 1;
        match result {
            Ok(keys) => {
                state.keys = Arc::new(keys.into_iter().map(Arc::new).collect());
                state.generation += 1;
                state.fetched_at = Some(now);
                state.last_error = None;
                Ok(())
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                if state.fetched_at.is_some() {
                    tracing::warn!(%error, "JWKS refresh failed; keeping the previous keys");
                    Ok(())
                } else {
                    Err(KeyLookupError::Unavailable(error))
                }
            }
        }
    }
}

fn select(keys: &[Arc<VerifyingKey>], kid: Option<&str>, alg: Algorithm) -> Vec<Arc<VerifyingKey>> {
    keys.iter()
        .filter(|key| match kid {
            Some(kid) => key.kid.as_deref() == Some(kid),
            None => true,
        })
        .filter(|key| key.accepts(alg))
        .cloned()
        .collect()
}

/// Reads a JWKS document into verification keys, skipping entries that are
/// not signature keys; an unreadable entry is skipped with a warning rather
/// than poisoning the whole set.
pub(crate) fn parse_jwks(document: &serde_json::Value) -> Result<Vec<VerifyingKey>, String> {
    let entries = document
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("the JWKS has no `keys` array")?;
    let mut keys = Vec::new();
    for entry in entries.iter().take(100) {
        match VerifyingKey::from_jwk_value(entry) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "skipping a JWKS entry"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(kid: &str) -> VerifyingKey {
        VerifyingKey::from_jwk_value(&json!({"kty":"RSA","n":"sXch","e":"AQAB","kid":kid}))
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn unknown_kid_refetches_once_then_cooldown_refuses_without_fetching() {
        let cache = JwksCache::new(30, 3600);
        let calls = AtomicUsize::new(0);
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(vec![key("a")])
        };
        assert_eq!(
            cache
                .keys_for(Some("a"), Algorithm::RS256, 100, fetch)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(vec![key("a")])
        };
        // Inside the cooldown an unknown kid is refused without a fetch.
        let error = cache
            .keys_for(Some("zzz"), Algorithm::RS256, 110, fetch)
            .await
            .unwrap_err();
        assert_eq!(error, KeyLookupError::NoMatch("kid \"zzz\"".into()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // After it, one fetch picks up a rotated key and drops the old one.
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(vec![key("b")])
        };
        assert!(
            cache
                .keys_for(Some("b"), Algorithm::RS256, 131, fetch)
                .await
                .is_ok()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let never = || async { Err::<Vec<VerifyingKey>, String>("not called".into()) };
        assert!(
            cache
                .keys_for(Some("a"), Algorithm::RS256, 132, never)
                .await
                .is_err()
        );
        assert_eq!(cache.fetch_count(), 2);
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let cache = Arc::new(JwksCache::new(30, 3600));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for index in 0..16 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                let kid = format!("random-{index}");
                cache
                    .keys_for(Some(&kid), Algorithm::RS256, 100, || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(vec![key("a")])
                    })
                    .await
            }));
        }
        for task in tasks {
            assert!(task.await.unwrap().is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn unreachable_jwks_fails_closed_and_stale_keys_survive_a_failed_refresh() {
        let cache = JwksCache::new(30, 60);
        let down = || async { Err::<Vec<VerifyingKey>, String>("connection refused".into()) };
        let error = cache
            .keys_for(Some("a"), Algorithm::RS256, 100, down)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            KeyLookupError::Unavailable("connection refused".into())
        );
        let up = || async { Ok(vec![key("a")]) };
        // Still cooling down from the failure: no fetch, still unavailable.
        let error = cache
            .keys_for(Some("a"), Algorithm::RS256, 110, up)
            .await
            .unwrap_err();
        assert!(matches!(error, KeyLookupError::Unavailable(_)));
        let up = || async { Ok(vec![key("a")]) };
        assert!(
            cache
                .keys_for(Some("a"), Algorithm::RS256, 130, up)
                .await
                .is_ok()
        );
        // Past max_age the refresh fails, but the old keys keep working.
        let down = || async { Err::<Vec<VerifyingKey>, String>("connection refused".into()) };
        assert!(
            cache
                .keys_for(Some("a"), Algorithm::RS256, 500, down)
                .await
                .is_ok()
        );
    }

    #[test]
    fn jwks_parsing_skips_foreign_entries() {
        let document = json!({"keys": [
            {"kty":"RSA","n":"sXch","e":"AQAB","kid":"a"},
            {"kty":"oct","k":"c2VjcmV0"},
            {"kty":"RSA","n":"sXch","e":"AQAB","use":"enc"},
            "junk"
        ]});
        assert_eq!(parse_jwks(&document).unwrap().len(), 1);
        assert!(parse_jwks(&json!({"nokeys": []})).is_err());
    }
}
