//! The forge: what sets oidc-forge apart from a plain mock issuer. Each capability is written
//! once here, as plain types and functions over the issuer's state,
//! and offered three ways that all call the same code: methods on
//! [`MockIssuer`](crate::MockIssuer), the HTTP admin API under `/_forge/`
//! (`endpoints::admin`), and the `oidc-forge token` command.
//!
//! - [`mint`]: the token builder: valid tokens for any user, client, scope and permission.
//! - [`mutation`]: the defects that make a token wrong in exactly one way: expired, not yet
//!   valid, wrong issuer or audience, missing or mistyped claims, `alg: none`, RS256 to HS256
//!   key confusion, foreign keys, header tricks, broken signatures; each edits the builder's
//!   draft (`draft`) before it is signed, some with the attacker's key (`attacker`); and the raw
//!   hook (`raw`, [`mint::sign_raw`]) for header and claims text signed exactly as written.
//! - [`faults`]: scripted failures per endpoint (status and RFC error, delay, closed connection,
//!   malformed JSON) for the next request, the next N, or until cleared; a rejected
//!   authorization code; an unreachable JWKS.
//! - [`rotation`]: signing-key rotation with a grace period during which the old key stays
//!   published.
//! - [`users`] and [`claims`]: users, their claims and permissions changed at runtime, and claims
//!   queued for the next token response.
//! - [`token_response`]: edits of the next token response: an ID token re-signed with a defect,
//!   or members set and removed, for an app's login callback to face.
//! - [`request_log`]: a bounded log of what clients sent, secrets redacted on insertion.
//! - `middleware`: the one layer in front of the endpoints that fires faults and records
//!   requests; when nothing is scripted and the log is off it costs one atomic load.

mod attacker;
pub mod claims;
mod draft;
mod fault_builder;
pub mod faults;
pub(crate) mod middleware;
pub mod mint;
pub mod mutation;
mod queue;
mod raw;
pub mod request_log;
pub mod rotation;
pub mod token_response;
pub mod users;

/// Path of the admin API, relative to the issuer URL.
pub const ADMIN_PREFIX: &str = "/_forge";

/// Options of the forge, fixed at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub struct ForgeOptions {
    /// Serve the admin API under `/_forge/`. Turn it off on shared environments: anyone who can
    /// reach the issuer could otherwise mint tokens it signs.
    pub admin: bool,
    /// How many requests the request log keeps; 0 turns it off.
    pub request_log_capacity: usize,
    /// When set, every admin request must carry `Authorization: Bearer <token>`.
    pub admin_token: Option<String>,
}

impl Default for ForgeOptions {
    fn default() -> Self {
        Self {
            admin: true,
            request_log_capacity: request_log::DEFAULT_CAPACITY,
            admin_token: None,
        }
    }
}

/// The forge's runtime state, part of the issuer's state.
#[derive(Debug)]
#[doc(hidden)]
pub struct ForgeState {
    pub(crate) options: ForgeOptions,
    pub(crate) faults: faults::Faults,
    pub(crate) requests: request_log::RequestLog,
    pub(crate) queued_claims: claims::ClaimQueue,
    pub(crate) response_edits: token_response::ResponseEdits,
}

impl ForgeState {
    pub fn new(options: ForgeOptions) -> Self {
        Self {
            faults: faults::Faults::default(),
            requests: request_log::RequestLog::new(options.request_log_capacity),
            queued_claims: claims::ClaimQueue::default(),
            response_edits: token_response::ResponseEdits::default(),
            options,
        }
    }
}
