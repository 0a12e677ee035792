//! What is revoked before its time: access tokens by `jti`, grants by id (every token they
//! issued), and, when those maps are full of live entries and one more revocation must hold,
//! everything issued to a client until a moment (a watermark), so that revocation never fails
//! open (RFC 7009 2.1; RFC 6749 4.1.2).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{BoundedMap, Expiring, Overflow, StoreFull};
use crate::state::lock;

/// A revocation record: whose it is, and until when it matters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Revoked {
    client_id: String,
    until: u64,
}

impl Expiring for Revoked {
    fn expires_at(&self) -> u64 {
        self.until
    }
}

#[derive(Debug)]
struct Revocations {
    /// `jti` -> the token's client and `exp`.
    tokens: BoundedMap<Revoked>,
    /// Grant id -> its client, and until when its tokens can still be valid.
    grants: BoundedMap<Revoked>,
    /// Per client: every token issued to it at or before this second is revoked.
    issued_until: HashMap<String, u64>,
}

impl Revocations {
    fn swept_by_watermark(&self, client_id: &str, issued_at: u64) -> bool {
        self.issued_until
            .get(client_id)
            .is_some_and(|&until| issued_at <= until)
    }
}

/// How full the revocation store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationCounts {
    pub tokens: usize,
    pub grants: usize,
    /// Revocations refused for want of room.
    pub refused: u64,
    /// The latest watermark, over all clients.
    pub revoked_until: Option<u64>,
}

/// The revocations, behind one lock. Both maps refuse rather than forget a live entry
/// ([`Overflow::Refuse`]): a forgotten revocation would make its token valid again.
#[derive(Debug)]
pub struct RevocationStore {
    revocations: Mutex<Revocations>,
}

impl RevocationStore {
    /// At most `capacity` revoked tokens and as many revoked grants.
    pub fn new(capacity: usize) -> Self {
        Self {
            revocations: Mutex::new(Revocations {
                tokens: BoundedMap::new("revoked token", capacity, Overflow::Refuse),
                grants: BoundedMap::new("revoked grant", capacity, Overflow::Refuse),
                issued_until: HashMap::new(),
            }),
        }
    }

    /// Revokes one access token of `client_id` until its `exp`; refused when the store is full
    /// of live revocations (RFC 7009 2.2.1: the caller answers 503, the token is not revoked).
    pub fn revoke_token(
        &self,
        jti: &str,
        client_id: &str,
        exp: u64,
        now: u64,
    ) -> Result<(), StoreFull> {
        let record = Revoked {
            client_id: client_id.to_owned(),
            until: exp,
        };
        lock(&self.revocations)
            .tokens
            .insert(jti, record, now)
            .map(drop)
    }

    /// Revokes every access token that carries the grant's id, until `until` (the latest `exp`
    /// any of them can have). Revoking again only ever extends the record.
    pub fn revoke_grant(
        &self,
        grant: &str,
        client_id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), StoreFull> {
        let mut revocations = lock(&self.revocations);
        let until = revocations
            .grants
            .get(grant)
            .map_or(until, |known| known.until.max(until));
        let record = Revoked {
            client_id: client_id.to_owned(),
            until,
        };
        revocations.grants.insert(grant, record, now).map(drop)
    }

    /// Revokes every token issued to `client_id` until `now`: the watermark, for a revocation
    /// that must hold when the maps are full. The client's entries it covers are dropped.
    pub fn revoke_everything_of(&self, client_id: &str, now: u64) {
        let mut revocations = lock(&self.revocations);
        // Never lowered: a request that read its clock earlier must not make valid again what a
        // later revocation covered.
        let until = revocations
            .issued_until
            .entry(client_id.to_owned())
            .or_insert(now);
        *until = (*until).max(now);
        revocations
            .tokens
            .retain(|_, record| record.client_id != client_id);
        revocations
            .grants
            .retain(|_, record| record.client_id != client_id);
    }

    /// Whether an access token (by `jti`, its grant, its client and when it was issued) was
    /// revoked.
    pub fn is_token_revoked(
        &self,
        jti: &str,
        grant: Option<&str>,
        client_id: &str,
        issued_at: u64,
    ) -> bool {
        let revocations = lock(&self.revocations);
        revocations.swept_by_watermark(client_id, issued_at)
            || revocations.tokens.contains_key(jti)
            || grant.is_some_and(|grant| revocations.grants.contains_key(grant))
    }

    /// Whether the grant `grant` of `client_id`, or everything issued to the client at
    /// `issued_at`, was revoked.
    pub fn is_grant_revoked(&self, grant: &str, client_id: &str, issued_at: u64) -> bool {
        let revocations = lock(&self.revocations);
        revocations.grants.contains_key(grant)
            || revocations.swept_by_watermark(client_id, issued_at)
    }

    pub fn counts(&self) -> RevocationCounts {
        let revocations = lock(&self.revocations);
        RevocationCounts {
            tokens: revocations.tokens.len(),
            grants: revocations.grants.len(),
            refused: revocations.tokens.refused() + revocations.grants.refused(),
            revoked_until: revocations.issued_until.values().copied().max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_767_225_600;

    #[test]
    fn a_revoked_token_or_grant_stays_revoked_and_others_do_not() {
        let store = RevocationStore::new(10);
        store.revoke_token("jti-1", "web", NOW + 60, NOW).unwrap();
        store.revoke_grant("grant-1", "web", NOW + 60, NOW).unwrap();
        assert!(store.is_token_revoked("jti-1", None, "web", NOW));
        assert!(store.is_token_revoked("jti-2", Some("grant-1"), "web", NOW));
        assert!(!store.is_token_revoked("jti-2", Some("grant-2"), "web", NOW));
        assert!(store.is_grant_revoked("grant-1", "web", NOW));
        assert!(!store.is_grant_revoked("grant-2", "web", NOW));
    }

    #[test]
    fn revoking_a_grant_again_only_extends_it() {
        let store = RevocationStore::new(1);
        store.revoke_grant("g", "web", NOW + 600, NOW).unwrap();
        store.revoke_grant("g", "web", NOW + 10, NOW).unwrap();
        // Still live at NOW + 300, so the full map refuses another grant: the shorter second
        // revocation did not cut the first.
        assert!(
            store
                .revoke_grant("h", "web", NOW + 900, NOW + 300)
                .is_err()
        );
        assert!(store.is_grant_revoked("g", "web", NOW));
    }

    #[test]
    fn the_watermark_covers_what_was_issued_until_then_for_that_client_only() {
        let store = RevocationStore::new(1);
        store.revoke_token("jti-1", "web", NOW + 60, NOW).unwrap();
        assert!(store.revoke_token("jti-2", "web", NOW + 60, NOW).is_err());
        store.revoke_everything_of("web", NOW);
        assert!(store.is_token_revoked("jti-2", None, "web", NOW));
        assert!(!store.is_token_revoked("jti-3", None, "web", NOW + 1));
        assert!(!store.is_token_revoked("jti-2", None, "other", NOW));
        let counts = store.counts();
        assert_eq!(
            (counts.tokens, counts.refused, counts.revoked_until),
            (0, 1, Some(NOW))
        );
        // A later watermark stands, whatever comes after it with an earlier time.
        store.revoke_everything_of("web", NOW + 5);
        store.revoke_everything_of("web", NOW);
        assert!(store.is_token_revoked("jti-4", None, "web", NOW + 3));
    }
}
