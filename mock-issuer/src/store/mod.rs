//! [`BoundedMap`]: the map behind every store of the issuer, with a capacity and a rule for
//! what happens when it is full of live entries.
//!
//! Memory stays bounded by capacity either way. What differs is which way a full store fails:
//! - [`Overflow::Refuse`] for entries whose loss would reopen a door: a redeemed code's
//!   marker (a replay would go undetected, RFC 6749 4.1.2), a revoked token (it would be valid
//!   again). Such an entry is never dropped before it expires; a new one is refused, and the
//!   caller refuses the request that needed it (`temporarily_unavailable`).
//! - [`Overflow::EvictOldest`] for entries whose loss only costs the user a step: a refresh
//!   grant (its refresh token stops working; [`refresh`] detects reuse without an entry per
//!   rotation), a browser session (sign in again), a login page (start again).

pub mod codes;
pub mod refresh;
pub mod revocations;
pub mod sessions;

use std::collections::{BTreeMap, HashMap};

/// What a [`BoundedMap`] holds: each entry knows when it expires.
pub trait Expiring {
    /// Unix time from which the entry is useless.
    fn expires_at(&self) -> u64;
}

/// A revocation or rotation record that only needs to live until this time.
impl Expiring for u64 {
    fn expires_at(&self) -> u64 {
        *self
    }
}

/// What a full [`BoundedMap`] does with a new entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Forget the oldest entry: for entries whose loss fails closed.
    EvictOldest,
    /// Keep every live entry and refuse the new one with [`StoreFull`].
    Refuse,
}

/// A store full of entries that have not expired, which it may not forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the issuer's {store} store is full ({capacity} live entries); retry when some expire")]
pub struct StoreFull {
    /// Which store.
    pub store: &'static str,
    pub capacity: usize,
}

/// What an insertion displaced: the entry it replaced under the same key, and the live entries
/// a full [`Overflow::EvictOldest`] map forgot to make room (oldest first), so that the caller
/// can end what they stood for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted<V> {
    pub previous: Option<V>,
    pub evicted: Vec<V>,
}

/// The SHA-256 of a key of a [`BoundedMap`].
pub type KeyDigest = [u8; 32];

pub(crate) fn key_digest(key: &str) -> KeyDigest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A map from secret strings (codes, tokens, session ids) to what they grant, with a capacity
/// and an [`Overflow`] rule. Insertion order is kept in a `BTreeMap` keyed by a sequence
/// number, so eviction and the sweep of expired entries at the old end cost a logarithm, not a
/// scan.
///
/// Keys are held as their SHA-256: the secrets themselves are never stored, and a lookup
/// compares digests, so its timing says nothing about how much of a guessed code or token
/// matched a real one (RFC 6749 10.10; RFC 9700 4.14).
#[derive(Debug)]
pub struct BoundedMap<V> {
    name: &'static str,
    capacity: usize,
    overflow: Overflow,
    next_seq: u64,
    entries: HashMap<KeyDigest, (u64, V)>,
    order: BTreeMap<u64, KeyDigest>,
    evicted: u64,
    refused: u64,
    /// The clock second of the last full sweep, so a full store is swept at most once a second
    /// (entries expire on whole seconds: a second sweep in the same second finds nothing).
    swept_at: Option<u64>,
}

impl<V: Expiring> BoundedMap<V> {
    /// An empty map named `name` (for errors and logs) holding at most `capacity` entries (at
    /// least one).
    pub fn new(name: &'static str, capacity: usize, overflow: Overflow) -> Self {
        Self {
            name,
            capacity: capacity.max(1),
            overflow,
            next_seq: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            evicted: 0,
            refused: 0,
            swept_at: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many unexpired entries were evicted because the map was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// How many insertions were refused because the map was full of live entries.
    pub fn refused(&self) -> u64 {
        self.refused
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

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.remove_digest(&key_digest(key))
    }

    fn remove_digest(&mut self, digest: &KeyDigest) -> Option<V> {
        let (seq, value) = self.entries.remove(digest)?;
        self.order.remove(&seq);
        Some(value)
    }

    /// Inserts as the newest entry (replacing one with the same key). Expired entries go first;
    /// when the map is still full of live ones, [`Overflow`] decides: the oldest is evicted, or
    /// the insertion is refused and the map is unchanged.
    pub fn insert(&mut self, key: &str, value: V, now: u64) -> Result<Inserted<V>, StoreFull> {
        let digest = key_digest(key);
        let previous = self.remove_digest(&digest);
        self.purge_expired_oldest(now);
        if self.entries.len() >= self.capacity && self.swept_at != Some(now) {
            self.swept_at = Some(now);
            self.purge_expired(now);
        }
        let mut evicted = Vec::new();
        while self.entries.len() >= self.capacity {
            match self.overflow {
                Overflow::Refuse => {
                    self.refused += 1;
                    if self.refused.is_power_of_two() {
                        tracing::warn!(
                            store = self.name,
                            capacity = self.capacity,
                            refused = self.refused,
                            "a store of the issuer is full of live entries: requests that need it are refused until some expire"
                        );
                    }
                    return Err(StoreFull {
                        store: self.name,
                        capacity: self.capacity,
                    });
                }
                Overflow::EvictOldest => {
                    let Some((_, oldest)) = self.order.pop_first() else {
                        break;
                    };
                    if let Some((_, value)) = self.entries.remove(&oldest) {
                        evicted.push(value);
                    }
                    self.evicted += 1;
                    if self.evicted.is_power_of_two() {
                        tracing::warn!(
                            store = self.name,
                            capacity = self.capacity,
                            evicted = self.evicted,
                            "a store of the issuer is full: its oldest entries are forgotten before they expire"
                        );
                    }
                }
            }
        }
        self.order.insert(self.next_seq, digest);
        self.entries.insert(digest, (self.next_seq, value));
        self.next_seq += 1;
        Ok(Inserted { previous, evicted })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_map_keeps_its_live_entries_and_refuses_new_ones() {
        let mut map = BoundedMap::new("test", 2, Overflow::Refuse);
        let inserted = |previous| {
            Ok(Inserted {
                previous,
                evicted: Vec::new(),
            })
        };
        assert_eq!(map.insert("a", 100, 0), inserted(None));
        assert_eq!(map.insert("b", 200, 0), inserted(None));
        let full = StoreFull {
            store: "test",
            capacity: 2,
        };
        assert_eq!(map.insert("c", 300, 0), Err(full));
        assert!(map.contains_key("a") && map.contains_key("b") && !map.contains_key("c"));
        assert_eq!((map.refused(), map.evicted()), (1, 0));
        // Replacing a key is not growth.
        assert_eq!(map.insert("a", 150, 0), inserted(Some(100)));
        // Once an entry expires, there is room again, even if it is not the oldest.
        assert_eq!(
            map.insert("c", 300, 100),
            Err(full),
            "`a` now lives until 150"
        );
        assert_eq!(map.insert("c", 300, 150), inserted(None));
        assert!(!map.contains_key("a") && map.contains_key("b"));
        assert_eq!(map.insert("d", 400, 199), Err(full));
        assert_eq!(map.insert("d", 400, 200), inserted(None));
        assert!(!map.contains_key("b"));
    }

    #[test]
    fn an_evicting_map_forgets_the_oldest_live_entry() {
        let mut map = BoundedMap::new("test", 2, Overflow::EvictOldest);
        map.insert("a", 100, 0).unwrap();
        map.insert("b", 200, 0).unwrap();
        // The evicted entry is handed back, so its meaning can be ended too.
        assert_eq!(
            map.insert("c", 300, 0),
            Ok(Inserted {
                previous: None,
                evicted: vec![100]
            })
        );
        assert!(!map.contains_key("a") && map.contains_key("b") && map.contains_key("c"));
        assert_eq!((map.refused(), map.evicted()), (0, 1));
        // An expired entry goes before a live one is evicted.
        assert_eq!(
            map.insert("d", 400, 250).unwrap().evicted,
            Vec::<u64>::new()
        );
        assert!(!map.contains_key("b") && map.contains_key("c"));
        assert_eq!(map.evicted(), 1);
    }

    #[test]
    fn expired_entries_leave_as_new_ones_arrive_full_or_not() {
        let mut map = BoundedMap::new("test", 10, Overflow::Refuse);
        assert!(map.is_empty());
        for key in ["a", "b", "c"] {
            map.insert(key, 5, 0).unwrap();
        }
        assert_eq!(map.len(), 3);
        assert!(!map.is_empty());
        // Far from full: the expired oldest go anyway, so the map stays near its live size.
        map.insert("d", 50, 6).unwrap();
        assert_eq!(map.len(), 1);
        assert!(map.contains_key("d"));
    }

    #[test]
    fn keys_are_stored_as_digests() {
        let mut map = BoundedMap::new("test", 4, Overflow::Refuse);
        map.insert("secret-code", 1, 0).unwrap();
        let mut digests = Vec::new();
        map.retain(|digest, _| {
            digests.push(*digest);
            true
        });
        assert_eq!(digests, [key_digest("secret-code")]);
    }
}
