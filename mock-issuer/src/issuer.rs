//! One issuer's handle: its identifier, configuration and state, and the forge's levers
//! (minting, faults, key rotation, runtime users, queued claims, the request log). A
//! [`MockIssuer`](crate::MockIssuer) is a server of one issuer, or of several with a
//! configuration's tenants; each is one of these.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, UserConfig};
use crate::endpoints::Endpoint;
use crate::forge;
use crate::forge::claims::{ClaimsError, ClaimsTarget, QueuedClaims};
use crate::forge::faults::FaultsHandle;
use crate::forge::mint::Minter;
use crate::forge::request_log::RecordedRequest;
use crate::forge::rotation::{KeyInfo, Rotation, RotationError, RotationReport};
use crate::forge::token_response::{EditError, ResponseEdit};
use crate::forge::users::{Upserted, UserError, UserPatch};
use crate::keys::KeySet;
use crate::state::{AppState, CodeStatus, StoreSizes};

/// One issuer served by a [`MockIssuer`](crate::MockIssuer).
#[derive(Debug, Clone)]
pub struct Issuer {
    pub(crate) state: AppState,
}

impl Issuer {
    pub(crate) fn new(state: AppState) -> Self {
        Self { state }
    }

    /// The issuer identifier (`iss`), without a trailing slash.
    pub fn url(&self) -> &str {
        &self.state.issuer
    }

    pub fn discovery_url(&self) -> String {
        self.state.endpoint(Endpoint::Discovery.path())
    }

    /// The configuration now (users may have changed since startup).
    pub fn config(&self) -> Arc<Config> {
        self.state.config()
    }

    /// The shared state: for the crate's own tests, the fuzz targets and the benchmarks.
    #[cfg(any(test, feature = "internals"))]
    #[doc(hidden)]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The signing keys now (rotation swaps them whole), to verify or sign as this issuer.
    pub fn key_set(&self) -> Arc<KeySet> {
        self.state.keys()
    }

    /// How full the stores are, for soak runs and assertions on what was issued and revoked.
    pub fn store_sizes(&self) -> StoreSizes {
        self.state.store_sizes()
    }

    /// The base URL of the admin API (`{issuer}/_forge`), `None` when it is disabled.
    pub fn admin_url(&self) -> Option<String> {
        self.state
            .forge
            .options
            .admin
            .then(|| self.state.endpoint(forge::ADMIN_PREFIX))
    }

    /// Mints tokens signed by this issuer's keys, valid or wrong in exactly one way:
    /// `issuer.mint().access_token().scope("read").mutate(Mutation::Expired).sign()`.
    pub fn mint(&self) -> Minter {
        Minter::from_state(&self.state)
    }

    /// Scripts failures: `issuer.faults().token().status(503).times(1)`,
    /// `issuer.faults().reject_code(code)`, `issuer.faults().jwks_unreachable()`.
    pub fn faults(&self) -> FaultsHandle<'_> {
        FaultsHandle::new(&self.state.forge.faults)
    }

    /// Rotates the RS256 signing key to the embedded next key; the old key stays in the JWKS
    /// for `grace` (by the issuer's clock), then leaves.
    pub fn rotate_keys(&self, grace: Duration) -> Result<RotationReport, RotationError> {
        self.rotate_keys_with(&Rotation::new(grace))
    }

    /// Rotates as `rotation` says: another algorithm, the caller's key, or a generated one
    /// (generation blocks the calling thread for tens of milliseconds, RSA up to a few hundred).
    pub fn rotate_keys_with(&self, rotation: &Rotation) -> Result<RotationReport, RotationError> {
        forge::rotation::rotate(&self.state, rotation)
    }

    /// The published keys: which sign, which are in a grace period and until when.
    pub fn keys(&self) -> Vec<KeyInfo> {
        forge::rotation::key_info(&self.state.keys())
    }

    /// Adds a user, or replaces the one with the same `sub`.
    pub fn upsert_user(&self, user: UserConfig) -> Result<Upserted, UserError> {
        forge::users::upsert(&self.state, user)
    }

    /// Changes a user's claims, permissions, email or name; returns the user as it is now.
    pub fn update_user(
        &self,
        email_or_sub: &str,
        patch: UserPatch,
    ) -> Result<UserConfig, UserError> {
        forge::users::update(&self.state, email_or_sub, &patch)
    }

    pub fn remove_user(&self, email_or_sub: &str) -> Result<UserConfig, UserError> {
        forge::users::remove(&self.state, email_or_sub)
    }

    /// Claims added to the access token and ID token of the next token response (any grant);
    /// `claims` must be a JSON object. Queue several for several responses.
    pub fn queue_claims(&self, claims: serde_json::Value) -> Result<(), ClaimsError> {
        self.queue_claims_for(ClaimsTarget::Both, claims)
    }

    /// [`queue_claims`](Self::queue_claims) for one of the two tokens only.
    pub fn queue_claims_for(
        &self,
        target: ClaimsTarget,
        claims: serde_json::Value,
    ) -> Result<(), ClaimsError> {
        let queued = QueuedClaims::new(target, claims)?;
        self.state.forge.queued_claims.push(queued)
    }

    /// What clients sent, oldest first (secrets redacted); the last
    /// [`request_log_capacity`](crate::MockIssuerBuilder::request_log_capacity) requests.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.forge.requests.entries()
    }

    /// Edits the next successful token response that has none of its own
    /// ([`token_response`](crate::forge::token_response)):
    /// an ID token with a defect, or members set and removed. Queue several for several
    /// responses.
    pub fn edit_next_token_response(&self, edits: Vec<ResponseEdit>) -> Result<(), EditError> {
        self.state.forge.response_edits.push(edits)
    }

    /// Drops the token-response edits still waiting.
    pub fn clear_token_response_edits(&self) {
        self.state.forge.response_edits.clear();
    }

    /// How many token-response edits still wait for a response: 0 once each was used.
    pub fn token_response_edits_waiting(&self) -> usize {
        self.state.forge.response_edits.len()
    }

    /// Whether the issuer holds `code`, and whether it was redeemed: proof that an app never
    /// called the token endpoint with a code.
    pub fn code_status(&self, code: &str) -> CodeStatus {
        self.state.codes().status(code)
    }

    /// What clients sent to one endpoint.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.state.forge.requests.entries_for(endpoint)
    }

    pub fn clear_requests(&self) {
        self.state.forge.requests.clear();
    }
}
