//! Bounded stores: the login transactions and the sessions, kept server-side.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::MAX_ENTRIES;

/// A server-side map from random ids to values that expire after `lifetime`, holding at most
/// [`MAX_ENTRIES`]: when full, the oldest entry makes room.
pub(super) struct Store<T> {
    inner: Mutex<StoreInner<T>>,
    lifetime: Duration,
}

struct StoreInner<T> {
    /// id → (insertion number, creation time, value).
    entries: HashMap<String, (u64, Instant, T)>,
    /// Insertion number → id, oldest first; with one lifetime for all, also soonest to expire.
    order: BTreeMap<u64, String>,
    next: u64,
}

impl<T> Store<T> {
    pub(super) fn new(lifetime: Duration) -> Self {
        Self {
            inner: Mutex::new(StoreInner {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                next: 0,
            }),
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreInner<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn insert(&self, id: String, value: T) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.purge(now, self.lifetime);
        while inner.entries.len() >= MAX_ENTRIES {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
        let number = inner.next;
        inner.next += 1;
        inner.order.insert(number, id.clone());
        if let Some((replaced, _, _)) = inner.entries.insert(id, (number, now, value)) {
            inner.order.remove(&replaced);
        }
    }

    /// Removes and returns the entry, if it is there and alive.
    pub(super) fn take(&self, id: &str) -> Option<T> {
        let mut inner = self.lock();
        let (number, created, value) = inner.entries.remove(id)?;
        inner.order.remove(&number);
        (created.elapsed() < self.lifetime).then_some(value)
    }

    pub(super) fn remove(&self, id: &str) {
        drop(self.take(id));
    }

    pub(super) fn get(&self, id: &str) -> Option<T>
    where
        T: Clone,
    {
        let inner = self.lock();
        let (_, created, value) = inner.entries.get(id)?;
        (created.elapsed() < self.lifetime).then(|| value.clone())
    }
}

impl<T> StoreInner<T> {
    /// Drops the expired entries, which are the oldest.
    fn purge(&mut self, now: Instant, lifetime: Duration) {
        while let Some((&number, id)) = self.order.first_key_value() {
            let expired = self
                .entries
                .get(id)
                .is_none_or(|(_, created, _)| now.duration_since(*created) >= lifetime);
            if !expired {
                break;
            }
            let id = id.clone();
            self.order.remove(&number);
            self.entries.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_bounded_and_evict_the_oldest() {
        let store = Store::new(Duration::from_secs(60));
        for index in 0..MAX_ENTRIES + 5 {
            store.insert(format!("id-{index}"), index);
        }
        assert_eq!(store.lock().entries.len(), MAX_ENTRIES);
        assert_eq!(store.lock().order.len(), MAX_ENTRIES);
        assert_eq!(store.get("id-4"), None, "the oldest made room");
        assert_eq!(store.get("id-5"), Some(5));
        assert_eq!(store.take("id-5"), Some(5));
        assert_eq!(store.take("id-5"), None, "single use");
        store.insert("id-6".into(), 66);
        assert_eq!(store.get("id-6"), Some(66), "a replaced entry");
        let inner = store.lock();
        assert_eq!(inner.entries.len(), inner.order.len());
    }

    #[test]
    fn expired_entries_are_gone() {
        let store = Store::new(Duration::ZERO);
        store.insert("a".into(), 1);
        assert_eq!(store.get("a"), None);
        assert_eq!(store.take("a"), None);
        store.insert("b".into(), 2);
        assert!(store.lock().entries.len() <= 1, "purged at insertion");
    }
}
