//! The validation rules, as plain functions.
//!
//! Nothing here does I/O: the [`crate::Client`] fetches keys and calls these
//! functions in order (size, structure, header, algorithm, key, signature,
//! claims), and tests call them directly. jsonwebtoken is used only for the
//! signature primitive ([`jsonwebtoken::crypto::verify`]; RS256 goes to the
//! same aws-lc primitive directly, with the key parsed once); its `Validation`
//! is never used, because every claim rule lives here and reads the injected
//! clock.
//!
//! - `jws`: size, structure, strict JSON objects, the algorithm allowlist;
//! - `keys`: JWKS keys bound to one algorithm family, and the signature;
//! - `claims`: what both token kinds share (types, time, issuer, audiences, scopes);
//! - `access_token`: RFC 9068's rules and the claims an API reads;
//! - `id_token`: Core 3.1.3.7's rules.

mod access_token;
mod claims;
mod id_token;
mod jws;
mod keys;
#[cfg(test)]
mod test_support;

pub use access_token::*;
pub use claims::*;
pub use id_token::*;
pub use jws::*;
pub use keys::*;

use claims::{claim_error, json_type, shorten_all};

/// Default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Longest `kid` accepted; longer ones are injection attempts, not key ids.
pub const MAX_KID_BYTES: usize = 256;

/// `exp` further ahead than this is refused: it is a millisecond timestamp or a
/// token meant never to expire (the OpenID suite flags exp > 50 years).
pub const MAX_EXP_AHEAD_SECONDS: u64 = 50 * 365 * 24 * 3600;
