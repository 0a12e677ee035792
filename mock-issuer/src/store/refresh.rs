//! Refresh tokens, one entry per grant (a family of rotating tokens), whatever the number of
//! rotations.
//!
//! RFC 9700 4.14.2 asks the server to notice a rotated-away refresh token coming back and to
//! revoke its grant then. Keeping every rotated token to notice it would grow with every
//! refresh, and forgetting one to make room would lose exactly that detection. Instead a token
//! names its family and its generation, authenticated with a key only this issuer holds:
//! `FAMILY.GENERATION.TAG`, TAG = HMAC-SHA256(key, "FAMILY.GENERATION"). The family's entry
//! keeps only its current generation, so an authentic token of an older generation is a reuse,
//! and the store stays at one entry per live grant. Nothing anyone else can compute is
//! accepted, so knowing a family id (every access token carries it as `grant_id`) does not let
//! anyone revoke it.
//!
//! When the store is full of live families, the oldest is forgotten, and handed back so that its
//! grant is revoked: a forgotten family could no longer tell a reused token from an unknown
//! one, so the tokens a thief may hold must not outlive it (RFC 9700 4.14.2).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{BoundedMap, Expiring, Overflow};
use crate::state::Login;

/// A grant's refresh state: the one token of it that may be redeemed now, and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    /// The grant's id, the family's key (access tokens carry it as `grant_id`).
    pub grant_id: String,
    pub client_id: String,
    /// The scope of the grant; a refresh may ask for less, never more (RFC 6749 6).
    pub scopes: Vec<String>,
    pub login: Login,
    /// The generation of the current token; older ones are spent.
    pub generation: u64,
    /// When the current token was issued.
    pub issued_at: u64,
    /// When the current token expires.
    pub expires_at: u64,
}

impl Expiring for RefreshFamily {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// What a presented refresh token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// The family's current token.
    Current {
        family: String,
        grant: RefreshFamily,
    },
    /// An authentic token of the family, rotated away: a reuse (RFC 9700 4.14.2).
    Reused {
        family: String,
        grant: RefreshFamily,
    },
    /// Not a token of this issuer, or of a family that ended (revoked, expired, forgotten).
    Unknown,
}

/// Why a rotation did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotationRace {
    #[error(
        "the refresh token was used concurrently: another request rotated it first; use the refresh token from that response (RFC 9700 4.14.2)"
    )]
    Lost,
}

/// The families, keyed by id, and the key that authenticates their tokens.
#[derive(Debug)]
pub struct RefreshStore {
    families: BoundedMap<RefreshFamily>,
    key: TokenKey,
}

/// The HMAC key of refresh tokens (its `Debug` shows nothing).
struct TokenKey(aws_lc_rs::hmac::Key);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

impl RefreshStore {
    /// An empty store for at most `capacity` live grants, authenticating its tokens with
    /// `secret` (drawn from the issuer's RNG, so the deterministic mode stays deterministic).
    pub fn new(capacity: usize, secret: &[u8]) -> Self {
        Self {
            families: BoundedMap::new("refresh token", capacity, Overflow::EvictOldest),
            key: TokenKey(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                secret,
            )),
        }
    }

    pub fn len(&self) -> usize {
        self.families.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }

    /// How many live families were forgotten to make room.
    pub fn evicted(&self) -> u64 {
        self.families.evicted()
    }

    /// Starts a family and returns its first token, and the live families forgotten to make
    /// room, whose grants the caller must revoke.
    pub fn start(&mut self, grant: RefreshFamily, now: u64) -> (String, Vec<RefreshFamily>) {
        let token = self.token(&grant.grant_id, grant.generation);
        let key = grant.grant_id.clone();
        // A store that evicts never refuses.
        let evicted = self
            .families
            .insert(&key, grant, now)
            .map(|inserted| inserted.evicted)
            .unwrap_or_default();
        (token, evicted)
    }

    /// Reads a presented token: authentic or not, current or spent. An expired family reads
    /// as unknown.
    pub fn presented(&self, token: &str, now: u64) -> Presented {
        let Some((family, generation)) = self.parse(token) else {
            return Presented::Unknown;
        };
        let Some(grant) = self
            .families
            .get(family)
            .filter(|grant| grant.expires_at > now)
        else {
            return Presented::Unknown;
        };
        let family = family.to_owned();
        let grant = grant.clone();
        if generation == grant.generation {
            Presented::Current { family, grant }
        } else if generation < grant.generation {
            Presented::Reused { family, grant }
        } else {
            // Authentic but ahead of the family: a family id reused after an eviction.
            Presented::Unknown
        }
    }

    /// Rotates `family` from `seen` to the next generation, valid until `expires_at`, and
    /// returns the new token; refused when another request rotated it since it was seen.
    pub fn rotate(
        &mut self,
        family: &str,
        seen: u64,
        now: u64,
        expires_at: u64,
    ) -> Result<String, RotationRace> {
        let grant = self.families.get_mut(family).ok_or(RotationRace::Lost)?;
        if grant.generation != seen {
            return Err(RotationRace::Lost);
        }
        grant.generation += 1;
        grant.issued_at = now;
        grant.expires_at = expires_at;
        let generation = grant.generation;
        Ok(self.token(family, generation))
    }

    /// Ends a family: none of its tokens is accepted again.
    pub fn end(&mut self, family: &str) {
        self.families.remove(family);
    }

    /// Ends every family of `client_id` (a revocation watermark covers them).
    pub fn end_client(&mut self, client_id: &str) {
        self.families
            .retain(|_, grant| grant.client_id != client_id);
    }

    fn token(&self, family: &str, generation: u64) -> String {
        let body = format!("{family}.{generation}");
        let tag = aws_lc_rs::hmac::sign(&self.key.0, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// `(family, generation)` of an authentic token; `None` for anything else. The tag is
    /// checked in constant time before anything of the token is used.
    fn parse<'t>(&self, token: &'t str) -> Option<(&'t str, u64)> {
        let (body, tag) = token.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        aws_lc_rs::hmac::verify(&self.key.0, body.as_bytes(), &tag).ok()?;
        let (family, generation) = body.split_once('.')?;
        Some((family, generation.parse().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: &str) -> RefreshFamily {
        RefreshFamily {
            grant_id: id.into(),
            client_id: "web".into(),
            scopes: vec!["openid".into()],
            login: Login {
                sub: "u".into(),
                auth_time: 0,
                acr: "0",
                sid: None,
            },
            generation: 0,
            issued_at: 0,
            expires_at: 100,
        }
    }

    #[test]
    fn tokens_rotate_and_spent_ones_read_as_reused() {
        let mut store = RefreshStore::new(10, b"k");
        let (first, _) = store.start(grant("fam"), 0);
        assert!(matches!(
            store.presented(&first, 1),
            Presented::Current { .. }
        ));
        let second = store.rotate("fam", 0, 1, 200).unwrap();
        assert_ne!(first, second);
        assert!(matches!(
            store.presented(&first, 2),
            Presented::Reused { .. }
        ));
        assert!(matches!(
            store.presented(&second, 2),
            Presented::Current { .. }
        ));
        // A request that saw generation 0 lost the race.
        assert_eq!(store.rotate("fam", 0, 2, 300), Err(RotationRace::Lost));
        // The rotation extended the family's life.
        assert!(matches!(
            store.presented(&second, 150),
            Presented::Current { .. }
        ));
        assert_eq!(store.presented(&second, 200), Presented::Unknown);
        store.end("fam");
        assert_eq!(store.presented(&first, 2), Presented::Unknown);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn only_authentic_tokens_are_read() {
        let mut store = RefreshStore::new(10, b"k");
        let (token, _) = store.start(grant("fam"), 0);
        let other_key = RefreshStore::new(10, b"another key");
        assert_eq!(other_key.presented(&token, 1), Presented::Unknown);
        // Knowing the family id and generation is not enough.
        for forged in [
            "fam.0.AAAA".to_owned(),
            "fam.0".to_owned(),
            format!("{token}x"),
            token.replacen("fam.0", "fam.1", 1),
            String::new(),
            "...".into(),
        ] {
            assert_eq!(store.presented(&forged, 1), Presented::Unknown, "{forged}");
        }
    }

    #[test]
    fn a_full_store_forgets_its_oldest_family() {
        let mut store = RefreshStore::new(2, b"k");
        let (a, _) = store.start(grant("a"), 0);
        let (b, _) = store.start(grant("b"), 0);
        let (c, evicted) = store.start(grant("c"), 0);
        assert_eq!(
            evicted,
            vec![grant("a")],
            "the forgotten family is handed back"
        );
        assert_eq!(store.presented(&a, 1), Presented::Unknown);
        assert!(matches!(store.presented(&b, 1), Presented::Current { .. }));
        assert!(matches!(store.presented(&c, 1), Presented::Current { .. }));
        assert_eq!(store.evicted(), 1);
    }

    #[test]
    fn the_store_counts_its_grants_and_never_shows_its_key() {
        let mut store = RefreshStore::new(10, b"a secret key");
        assert!(store.is_empty());
        store.start(grant("fam"), 0);
        assert!(!store.is_empty());
        assert_eq!(store.len(), 1);
        let shown = format!("{store:?}");
        assert!(shown.contains("TokenKey([redacted])"), "{shown}");
    }
}
