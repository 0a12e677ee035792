//! Randomness for codes, token ids and refresh tokens: the OS CSPRNG, or a seeded ChaCha
//! stream in deterministic mode so that a run can be replayed byte for byte.

use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

#[derive(Debug)]
pub enum TokenRng {
    Os,
    Seeded(Box<Mutex<StdRng>>),
}

impl TokenRng {
    pub fn seeded(seed: u64) -> Self {
        TokenRng::Seeded(Box::new(Mutex::new(StdRng::seed_from_u64(seed))))
    }

    /// 256 bits, base64url: an authorization code or refresh token (RFC 6749 10.10).
    pub fn secret(&self) -> String {
        let mut bytes = [0u8; 32];
        self.fill(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A 128-bit identifier (`jti`, session and interaction ids).
    pub fn id(&self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn fill(&self, bytes: &mut [u8]) {
        match self {
            TokenRng::Os => rand::fill(bytes),
            TokenRng::Seeded(rng) => crate::state::lock(rng).fill(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_repeat_and_os_streams_do_not() {
        let (a, b) = (TokenRng::seeded(7), TokenRng::seeded(7));
        assert_eq!(a.secret(), b.secret());
        assert_eq!(a.id(), b.id());
        assert_ne!(TokenRng::Os.secret(), TokenRng::Os.secret());
        assert_eq!(TokenRng::Os.secret().len(), 43);
    }
}
