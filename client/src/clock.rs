//! Time as the validator sees it.
//!
//! Every time rule (`exp`, `nbf`, `iat`, the JWKS cooldown, cache TTLs, the
//! login transaction's lifetime) reads the clock through [`Clock`], so a test
//! can hold time still with [`FixedClock`] and move it by exact amounts.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        // A clock set before 1970 is a broken host; treating it as the epoch
        // makes every token look far in the future and so fail closed.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to: for tests.
///
/// ```
/// use oidc_forge_client::clock::{Clock, FixedClock};
/// let clock = FixedClock::new(1_767_225_600);
/// clock.advance(90);
/// assert_eq!(clock.now(), 1_767_225_690);
/// ```
#[derive(Debug, Default)]
pub struct FixedClock {
    seconds: AtomicU64,
}

impl FixedClock {
    /// A clock stopped at `seconds` since the epoch.
    pub fn new(seconds: u64) -> Self {
        Self {
            seconds: AtomicU64::new(seconds),
        }
    }

    /// Moves the clock to `seconds` since the epoch (backwards too).
    pub fn set(&self, seconds: u64) {
        self.seconds.store(seconds, Ordering::SeqCst);
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.seconds.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.seconds.load(Ordering::SeqCst)
    }
}
