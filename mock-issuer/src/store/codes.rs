//! Authorization codes (RFC 6749 4.1.2), kept until they expire, redeemed ones included. The
//! store owns the redemption protocol: [`CodeStore::claim`] checks and marks a code under one
//! lock, so that two concurrent redemptions cannot both succeed, and a code claimed once answers
//! every later claim with the grant its first redemption created, for the caller to revoke
//! (RFC 6749 4.1.2, 10.5).

use std::sync::Mutex;

use super::{BoundedMap, Expiring, Overflow, StoreFull};
use crate::rules::pkce::PkceChallenge;
use crate::state::{Login, lock};

/// An authorization code and what it was issued for (RFC 6749 4.1.2).
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    /// The `redirect_uri` of the authorization request, if it carried one (RFC 6749 4.1.3).
    pub redirect_uri: Option<String>,
    /// Where the code was sent: the request's `redirect_uri`, or the one registered URI.
    pub delivered_to: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub pkce: Option<PkceChallenge>,
    pub login: Login,
    pub expires_at: u64,
    /// The grant its first redemption created, set before any token is signed: every token of
    /// the grant carries this id, so a replay revokes them all (RFC 6749 4.1.2).
    pub redeemed: Option<String>,
}

impl Expiring for CodeGrant {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// What a redemption found.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The code was unredeemed and passed the checks; it is now redeemed for `grant_id`.
    Claimed {
        grant: Box<CodeGrant>,
        grant_id: String,
    },
    /// The code was redeemed before, for `grant_id` of `client_id`: the caller revokes that
    /// grant. The code is forgotten, so that a third try is merely unknown.
    Replayed { grant_id: String, client_id: String },
    /// The code expired (and is forgotten).
    Expired,
    /// No such code: never issued, or replayed and forgotten, or expired and swept.
    Unknown,
}

/// What a code is now: for tests that prove an app never redeemed a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeStatus {
    Unknown,
    Unredeemed,
    Redeemed,
}

/// The codes, behind one lock.
#[derive(Debug)]
pub struct CodeStore {
    codes: Mutex<BoundedMap<CodeGrant>>,
}

impl CodeStore {
    /// A store of at most `capacity` codes. A full one refuses new codes rather than forget a
    /// redeemed code's marker before it expires ([`Overflow::Refuse`]).
    pub fn new(capacity: usize) -> Self {
        Self {
            codes: Mutex::new(BoundedMap::new(
                "authorization code",
                capacity,
                Overflow::Refuse,
            )),
        }
    }

    /// Stores an issued code; refused when the store is full of live codes (then no code is
    /// issued).
    pub fn insert(&self, code: &str, grant: CodeGrant, now: u64) -> Result<(), StoreFull> {
        lock(&self.codes).insert(code, grant, now).map(drop)
    }

    /// Redeems `code`: when it is live and unredeemed, runs `check` on it and, if that passes,
    /// marks it redeemed for the grant id `new_grant_id` makes. A check that fails leaves the
    /// code unredeemed (a wrong `code_verifier` does not burn it) and returns its error.
    pub fn claim<E>(
        &self,
        code: &str,
        now: u64,
        check: impl FnOnce(&CodeGrant) -> Result<(), E>,
        new_grant_id: impl FnOnce() -> String,
    ) -> Result<Claim, E> {
        let mut codes = lock(&self.codes);
        let Some(grant) = codes.get_mut(code) else {
            return Ok(Claim::Unknown);
        };
        if let Some(first) = grant.redeemed.clone() {
            let client_id = grant.client_id.clone();
            codes.remove(code);
            return Ok(Claim::Replayed {
                grant_id: first,
                client_id,
            });
        }
        if grant.expires_at <= now {
            codes.remove(code);
            return Ok(Claim::Expired);
        }
        check(grant)?;
        let grant_id = new_grant_id();
        grant.redeemed = Some(grant_id.clone());
        Ok(Claim::Claimed {
            grant: Box::new(grant.clone()),
            grant_id,
        })
    }

    /// Whether `code` is held, and redeemed.
    pub fn status(&self, code: &str) -> CodeStatus {
        match lock(&self.codes).get(code) {
            None => CodeStatus::Unknown,
            Some(grant) if grant.redeemed.is_some() => CodeStatus::Redeemed,
            Some(_) => CodeStatus::Unredeemed,
        }
    }

    /// How many codes are held, and how many were refused for want of room.
    pub fn counts(&self) -> (usize, u64) {
        let codes = lock(&self.codes);
        (codes.len(), codes.refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_767_225_600;

    fn grant() -> CodeGrant {
        CodeGrant {
            client_id: "forge-web".into(),
            redirect_uri: None,
            delivered_to: "http://localhost:8000/auth-callback".into(),
            scopes: vec!["openid".into()],
            nonce: None,
            pkce: None,
            login: Login {
                sub: "alice".into(),
                auth_time: NOW,
                acr: "0",
                sid: None,
            },
            expires_at: NOW + 60,
            redeemed: None,
        }
    }

    fn pass(_: &CodeGrant) -> Result<(), ()> {
        Ok(())
    }

    #[test]
    fn a_code_is_claimed_once_and_a_replay_names_the_first_grant() {
        let store = CodeStore::new(10);
        store.insert("c", grant(), NOW).unwrap();
        assert_eq!(store.status("c"), CodeStatus::Unredeemed);
        let first = store.claim("c", NOW, pass, || "g1".into()).unwrap();
        assert!(matches!(first, Claim::Claimed { ref grant_id, .. } if grant_id == "g1"));
        assert_eq!(store.status("c"), CodeStatus::Redeemed);
        let replay = store.claim("c", NOW, pass, || "g2".into()).unwrap();
        assert!(
            matches!(replay, Claim::Replayed { ref grant_id, ref client_id } if grant_id == "g1" && client_id == "forge-web"),
            "{replay:?}"
        );
        assert!(matches!(
            store.claim("c", NOW, pass, || "g3".into()).unwrap(),
            Claim::Unknown
        ));
        assert_eq!(store.status("c"), CodeStatus::Unknown);
    }

    #[test]
    fn a_failed_check_leaves_the_code_unredeemed() {
        let store = CodeStore::new(10);
        store.insert("c", grant(), NOW).unwrap();
        let refused = store.claim("c", NOW, |_| Err("wrong verifier"), || "g1".into());
        assert_eq!(refused.unwrap_err(), "wrong verifier");
        assert_eq!(store.status("c"), CodeStatus::Unredeemed);
        assert!(matches!(
            store.claim("c", NOW, pass, || "g1".into()).unwrap(),
            Claim::Claimed { .. }
        ));
    }

    #[test]
    fn an_expired_code_is_refused_from_its_expiry_on_and_forgotten() {
        let store = CodeStore::new(10);
        store.insert("c", grant(), NOW).unwrap();
        assert!(matches!(
            store.claim("c", NOW + 60, pass, || "g1".into()).unwrap(),
            Claim::Expired
        ));
        assert_eq!(store.status("c"), CodeStatus::Unknown);
        store.insert("d", grant(), NOW).unwrap();
        assert!(matches!(
            store.claim("d", NOW + 59, pass, || "g1".into()).unwrap(),
            Claim::Claimed { .. }
        ));
    }

    #[test]
    fn a_full_store_refuses_and_counts() {
        let store = CodeStore::new(1);
        store.insert("a", grant(), NOW).unwrap();
        assert!(store.insert("b", grant(), NOW).is_err());
        assert_eq!(store.counts(), (1, 1));
    }
}
