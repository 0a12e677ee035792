//! The Rust face of the fault registry ([`faults`](super::faults)): `issuer.faults()` and
//! the builder that describes one fault, `issuer.faults().token().status(503).times(2)`.

use std::time::Duration;

use super::faults::{FaultAction, FaultError, FaultId, FaultInfo, FaultScope, FaultSpec, Faults};
use crate::endpoints::Endpoint;

/// The Rust face of the registry: `issuer.faults().token().status(503).times(2)`.
#[derive(Debug, Clone, Copy)]
pub struct FaultsHandle<'a> {
    faults: &'a Faults,
}

impl<'a> FaultsHandle<'a> {
    pub(crate) fn new(faults: &'a Faults) -> Self {
        Self { faults }
    }

    /// Starts a fault of `endpoint`.
    pub fn endpoint(&self, endpoint: Endpoint) -> FaultBuilder<'a> {
        FaultBuilder {
            faults: self.faults,
            spec: FaultSpec::new(endpoint, FaultAction::Pass),
        }
    }

    pub fn discovery(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Discovery)
    }

    pub fn jwks(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Jwks)
    }

    pub fn authorize(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Authorize)
    }

    pub fn token(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Token)
    }

    pub fn userinfo(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Userinfo)
    }

    pub fn logout(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Logout)
    }

    pub fn introspect(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Introspect)
    }

    pub fn revoke(&self) -> FaultBuilder<'a> {
        self.endpoint(Endpoint::Revoke)
    }

    /// Until cleared, redeeming `code` at the token endpoint answers 400 `invalid_grant`
    /// (RFC 6749 5.2) and leaves the code as it was; other codes are unaffected.
    pub fn reject_code(&self, code: impl Into<String>) -> FaultId {
        self.faults.insert(reject_code_spec(code.into()))
    }

    /// Until cleared, the JWKS endpoint closes every connection without an answer, as an
    /// unreachable key server would (a client must then fail closed, RFC 8725 3.3).
    pub fn jwks_unreachable(&self) -> FaultId {
        self.faults.insert(jwks_unreachable_spec())
    }

    /// Arms a spec built elsewhere (the JSON face).
    pub fn arm(&self, spec: FaultSpec) -> Result<FaultId, FaultError> {
        self.faults.arm(spec)
    }

    pub fn list(&self) -> Vec<FaultInfo> {
        self.faults.list()
    }

    /// Clears one fault; false if it had already run out or been cleared.
    pub fn clear_fault(&self, id: FaultId) -> bool {
        self.faults.clear(id)
    }

    /// Clears every fault.
    pub fn clear(&self) -> usize {
        self.faults.clear_all()
    }
}

/// The spec behind [`FaultsHandle::reject_code`].
fn reject_code_spec(code: String) -> FaultSpec {
    FaultSpec {
        endpoint: Endpoint::Token,
        action: FaultAction::Status {
            status: 400,
            error: Some("invalid_grant".into()),
            description: Some("the authorization code was rejected (scripted fault)".into()),
        },
        delay: None,
        scope: FaultScope::UntilCleared,
        code: Some(code),
    }
}

/// The spec behind [`FaultsHandle::jwks_unreachable`].
fn jwks_unreachable_spec() -> FaultSpec {
    FaultSpec {
        scope: FaultScope::UntilCleared,
        ..FaultSpec::new(Endpoint::Jwks, FaultAction::CloseConnection)
    }
}

/// One fault being described; arm it with [`once`](Self::once), [`times`](Self::times) or
/// [`until_cleared`](Self::until_cleared).
#[derive(Debug)]
#[must_use = "a fault is armed only by once(), times() or until_cleared()"]
pub struct FaultBuilder<'a> {
    faults: &'a Faults,
    spec: FaultSpec,
}

impl FaultBuilder<'_> {
    /// Answers `status` with a JSON error (the code defaults from the status: 400
    /// `invalid_request`, 401 `invalid_client` or `invalid_token`, 503
    /// `temporarily_unavailable`, 5xx `server_error`...).
    pub fn status(mut self, status: u16) -> Self {
        let (error, description) = match self.spec.action {
            FaultAction::Status {
                error, description, ..
            } => (error, description),
            _ => (None, None),
        };
        self.spec.action = FaultAction::Status {
            status,
            error,
            description,
        };
        self
    }

    /// The RFC error code of a [`status`](Self::status) fault (400 when no status was given).
    pub fn error(mut self, code: impl Into<String>) -> Self {
        let code = Some(code.into());
        self.spec.action = match self.spec.action {
            FaultAction::Status {
                status,
                description,
                ..
            } => FaultAction::Status {
                status,
                error: code,
                description,
            },
            _ => FaultAction::Status {
                status: 400,
                error: code,
                description: None,
            },
        };
        self
    }

    /// The `error_description` of a status fault or an authorization error.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        let text = Some(text.into());
        match &mut self.spec.action {
            FaultAction::Status { description, .. }
            | FaultAction::AuthorizationError { description, .. } => *description = text,
            _ => {
                self.spec.action = FaultAction::Status {
                    status: 400,
                    error: None,
                    description: text,
                }
            }
        }
        self
    }

    /// Waits this long first (alone: the endpoint answers normally, late).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.spec.delay = Some(delay);
        self
    }

    pub fn close_connection(mut self) -> Self {
        self.spec.action = FaultAction::CloseConnection;
        self
    }

    pub fn malformed_json(mut self) -> Self {
        self.spec.action = FaultAction::MalformedJson { status: 200 };
        self
    }

    /// `/authorize` only: redirect back to the client with this error.
    pub fn authorization_error(mut self, error: impl Into<String>) -> Self {
        self.spec.action = FaultAction::AuthorizationError {
            error: error.into(),
            description: None,
        };
        self
    }

    /// Token endpoint only: fire only when this authorization code is redeemed.
    pub fn for_code(mut self, code: impl Into<String>) -> Self {
        self.spec.code = Some(code.into());
        self
    }

    /// Answers the next matching request.
    pub fn once(self) -> Result<FaultId, FaultError> {
        self.arm(FaultScope::Next)
    }

    /// Answers the next `n` matching requests.
    pub fn times(self, n: u32) -> Result<FaultId, FaultError> {
        self.arm(FaultScope::Times(n))
    }

    /// Answers every matching request until cleared.
    pub fn until_cleared(self) -> Result<FaultId, FaultError> {
        self.arm(FaultScope::UntilCleared)
    }

    fn arm(mut self, scope: FaultScope) -> Result<FaultId, FaultError> {
        self.spec.scope = scope;
        self.faults.arm(self.spec)
    }
}
