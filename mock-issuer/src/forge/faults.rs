//! Scripted faults: an endpoint answers with a chosen status and RFC error, slowly, with
//! malformed JSON, or not at all (the connection closes), for the next request, the next N, or
//! until cleared. Two shorthands cover what users of other mocks ask for most: a rejected
//! authorization code ([`FaultsHandle::reject_code`]) and an unreachable JWKS
//! ([`FaultsHandle::jwks_unreachable`]).
//!
//! `Faults` is the registry; [`FaultsHandle`] and [`FaultBuilder`] are its Rust face and
//! `FaultRequest` its JSON face. Both produce a [`FaultSpec`] and arm it the same way. The
//! registry keeps a count of armed rules in an atomic, so with nothing scripted checking costs
//! one load.

use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};

use crate::endpoints::Endpoint;
use crate::endpoints::authorize::redirect_to_client;
use crate::error::{no_store_json, sanitize_description};
use crate::pages;
use crate::params::Params;
use crate::rules::authorization::{self, AuthorizationError};
use crate::state::{IssuerState, lock};

/// The longest delay a fault may add: long enough for any client timeout, short enough that a
/// mistyped value cannot hang a test run.
pub const MAX_DELAY: Duration = Duration::from_secs(600);

/// What the endpoint does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer normally (after the fault's delay, if any).
    Pass,
    /// Answer `status` with an RFC 6749 5.2 / RFC 6750 3 style JSON error (an error page on
    /// browser-facing endpoints). `error` defaults from the status and endpoint.
    Status {
        status: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// Close the connection without an answer: the client sees a connection error.
    CloseConnection,
    /// Answer `status` with a JSON content type and a body that is not JSON.
    MalformedJson { status: u16 },
    /// `/authorize` only: send the user back to the client with this error, `state` and `iss`
    /// (RFC 6749 4.1.2.1, RFC 9207), as a real issuer does for `access_denied` or
    /// `login_required`.
    AuthorizationError {
        error: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// How many requests a fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultScope {
    /// The next matching request.
    Next,
    /// The next N matching requests.
    Times(u32),
    /// Every matching request until cleared.
    UntilCleared,
}

/// A fault to arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub endpoint: Endpoint,
    pub action: FaultAction,
    /// Waited before the action; with [`FaultAction::Pass`], a slow endpoint.
    pub delay: Option<Duration>,
    pub scope: FaultScope,
    /// Token endpoint only: fire only for requests redeeming this authorization code.
    pub code: Option<String>,
}

impl FaultSpec {
    pub fn new(endpoint: Endpoint, action: FaultAction) -> Self {
        Self {
            endpoint,
            action,
            delay: None,
            scope: FaultScope::Next,
            code: None,
        }
    }
}

/// A fault that cannot be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    #[error("status {0} is not an error status (expected 400 to 599)")]
    NotAnErrorStatus(u16),
    #[error("status {0} is not an HTTP status (expected 100 to 599)")]
    InvalidStatus(u16),
    #[error("{what} applies to the {only} endpoint only, not to {endpoint}")]
    WrongEndpoint {
        what: &'static str,
        only: Endpoint,
        endpoint: Endpoint,
    },
    #[error(
        "an error code is one or more characters of %x20-21 / %x23-5B / %x5D-7E (RFC 6749 5.2)"
    )]
    InvalidErrorCode,
    #[error("a fault must answer at least once (times >= 1)")]
    ZeroTimes,
    #[error("a delay is at most {} s", MAX_DELAY.as_secs())]
    DelayTooLong,
    #[error("the fault does nothing: give an action or a delay")]
    Empty,
    #[error("choose one of {0}")]
    Ambiguous(&'static str),
}

/// The id of an armed fault, to clear it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

/// An armed fault, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultInfo {
    pub id: FaultId,
    pub endpoint: Endpoint,
    #[serde(flatten)]
    pub action: FaultAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Requests it will still answer; `None` until cleared.
    pub remaining: Option<u32>,
    /// Whether it fires only for one authorization code (not shown: codes are secrets).
    pub matches_code: bool,
}

#[derive(Debug)]
struct Rule {
    id: FaultId,
    spec: FaultSpec,
    remaining: Option<u32>,
}

/// A fault that fired for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub id: FaultId,
    pub action: FaultAction,
    pub delay: Option<Duration>,
}

impl Fired {
    /// How the request log names it.
    pub fn describe(&self) -> String {
        let delay = self
            .delay
            .map(|d| format!(" after {} ms", d.as_millis()))
            .unwrap_or_default();
        let action = match &self.action {
            FaultAction::Pass => "delay".to_owned(),
            FaultAction::Status { status, .. } => format!("status {status}"),
            FaultAction::CloseConnection => "close_connection".to_owned(),
            FaultAction::MalformedJson { status } => format!("malformed_json {status}"),
            FaultAction::AuthorizationError { error, .. } => {
                format!("authorization_error {error}")
            }
        };
        format!("#{} {action}{delay}", self.id.0)
    }
}

/// The registry of armed faults.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: AtomicUsize,
    next_id: AtomicU64,
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    /// Whether any fault is armed: the whole cost of the check when none is.
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Acquire) != 0
    }

    /// Validates and arms a fault.
    pub fn arm(&self, spec: FaultSpec) -> Result<FaultId, FaultError> {
        validate(&spec)?;
        Ok(self.insert(spec))
    }

    /// Arms a spec known to be valid (the handle's own shortcuts).
    pub(super) fn insert(&self, spec: FaultSpec) -> FaultId {
        let id = FaultId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let remaining = match spec.scope {
            FaultScope::Next => Some(1),
            FaultScope::Times(n) => Some(n),
            FaultScope::UntilCleared => None,
        };
        let mut rules = lock(&self.rules);
        rules.push(Rule {
            id,
            spec,
            remaining,
        });
        self.armed.store(rules.len(), Ordering::Release);
        id
    }

    /// The fault that answers a request to `endpoint` (redeeming `code`, for the token
    /// endpoint), counting it down: the first armed one that matches.
    pub fn take(&self, endpoint: Endpoint, code: Option<&str>) -> Option<Fired> {
        let mut rules = lock(&self.rules);
        let index = rules.iter().position(|rule| {
            rule.spec.endpoint == endpoint
                && rule
                    .spec
                    .code
                    .as_deref()
                    .is_none_or(|wanted| Some(wanted) == code)
        })?;
        let rule = &mut rules[index];
        let fired = Fired {
            id: rule.id,
            action: rule.spec.action.clone(),
            delay: rule.spec.delay,
        };
        if let Some(remaining) = &mut rule.remaining {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                rules.remove(index);
            }
        }
        self.armed.store(rules.len(), Ordering::Release);
        Some(fired)
    }

    /// Whether a request to `endpoint` needs its form parameters read to match a fault.
    pub fn needs_params(&self, endpoint: Endpoint) -> bool {
        lock(&self.rules).iter().any(|rule| {
            rule.spec.endpoint == endpoint
                && (rule.spec.code.is_some()
                    || matches!(rule.spec.action, FaultAction::AuthorizationError { .. }))
        })
    }

    pub fn list(&self) -> Vec<FaultInfo> {
        lock(&self.rules)
            .iter()
            .map(|rule| FaultInfo {
                id: rule.id,
                endpoint: rule.spec.endpoint,
                action: rule.spec.action.clone(),
                delay_ms: rule.spec.delay.map(|d| d.as_millis() as u64),
                remaining: rule.remaining,
                matches_code: rule.spec.code.is_some(),
            })
            .collect()
    }

    /// Clears one fault; false if it was not armed (any more).
    pub fn clear(&self, id: FaultId) -> bool {
        self.retain(|rule| rule.id != id) > 0
    }

    /// Clears the faults of one endpoint; returns how many.
    pub fn clear_endpoint(&self, endpoint: Endpoint) -> usize {
        self.retain(|rule| rule.spec.endpoint != endpoint)
    }

    /// Clears every fault; returns how many.
    pub fn clear_all(&self) -> usize {
        self.retain(|_| false)
    }

    fn retain(&self, keep: impl Fn(&Rule) -> bool) -> usize {
        let mut rules = lock(&self.rules);
        let before = rules.len();
        rules.retain(|rule| keep(rule));
        self.armed.store(rules.len(), Ordering::Release);
        before - rules.len()
    }
}

fn validate(spec: &FaultSpec) -> Result<(), FaultError> {
    match &spec.action {
        FaultAction::Pass if spec.delay.is_none() => return Err(FaultError::Empty),
        FaultAction::Pass | FaultAction::CloseConnection => {}
        FaultAction::Status { status, error, .. } => {
            if StatusCode::from_u16(*status).is_err() || *status > 599 {
                return Err(FaultError::InvalidStatus(*status));
            }
            if !(400..=599).contains(status) {
                return Err(FaultError::NotAnErrorStatus(*status));
            }
            if error.as_deref().is_some_and(|e| !is_error_code(e)) {
                return Err(FaultError::InvalidErrorCode);
            }
        }
        FaultAction::MalformedJson { status } => {
            if StatusCode::from_u16(*status).is_err() || *status > 599 {
                return Err(FaultError::InvalidStatus(*status));
            }
        }
        FaultAction::AuthorizationError { error, .. } => {
            if spec.endpoint != Endpoint::Authorize {
                return Err(FaultError::WrongEndpoint {
                    what: "an authorization error redirect",
                    only: Endpoint::Authorize,
                    endpoint: spec.endpoint,
                });
            }
            if !is_error_code(error) {
                return Err(FaultError::InvalidErrorCode);
            }
        }
    }
    if spec.code.is_some() && spec.endpoint != Endpoint::Token {
        return Err(FaultError::WrongEndpoint {
            what: "matching an authorization code",
            only: Endpoint::Token,
            endpoint: spec.endpoint,
        });
    }
    if spec.scope == FaultScope::Times(0) {
        return Err(FaultError::ZeroTimes);
    }
    if spec.delay.is_some_and(|d| d > MAX_DELAY) {
        return Err(FaultError::DelayTooLong);
    }
    Ok(())
}

/// RFC 6749 5.2: error = 1*( %x20-21 / %x23-5B / %x5D-7E ).
fn is_error_code(error: &str) -> bool {
    !error.is_empty()
        && error
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// The error code a status implies when the fault names none.
fn default_error(endpoint: Endpoint, status: u16) -> &'static str {
    match (endpoint, status) {
        (Endpoint::Userinfo, 401) => "invalid_token",
        (Endpoint::Userinfo, 403) => "insufficient_scope",
        (_, 401) => "invalid_client",
        (_, 403) => "access_denied",
        (_, 429 | 503) => "temporarily_unavailable",
        (_, 400..=499) => "invalid_request",
        _ => "server_error",
    }
}

/// The response of a fault that fired, or `None` for [`FaultAction::Pass`] (the endpoint
/// answers). `params` are the request's query, or its form body for a POST.
pub(crate) fn respond(
    state: &IssuerState,
    endpoint: Endpoint,
    action: &FaultAction,
    params: &Params,
) -> Option<Response> {
    Some(match action {
        FaultAction::Pass => return None,
        FaultAction::Status {
            status,
            error,
            description,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let error = error
                .clone()
                .unwrap_or_else(|| default_error(endpoint, status.as_u16()).to_owned());
            let description = sanitize_description(description.as_deref().unwrap_or(&format!(
                "scripted fault: the {endpoint} endpoint answers {}",
                status.as_u16()
            )));
            status_response(endpoint, status, &error, &description)
        }
        FaultAction::CloseConnection => Response::new(Body::new(Abort)),
        FaultAction::MalformedJson { status } => {
            let mut response = no_store_json(
                r#"{"error":"server_error","error_description":"scripted malformed JSON"#,
            );
            *response.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            response
        }
        FaultAction::AuthorizationError { error, description } => {
            authorization_redirect(state, params, error, description.as_deref())
        }
    })
}

fn status_response(
    endpoint: Endpoint,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    if endpoint.is_browser_facing() {
        let mut page = pages::error_page(error, description);
        *page.status_mut() = status;
        return page;
    }
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut response = (status, no_store_json(body.to_string())).into_response();
    let challenge = match (endpoint, status.as_u16()) {
        // RFC 6750 3: a protected resource challenges with the Bearer scheme.
        (Endpoint::Userinfo, 401 | 403) => Some(format!(
            "Bearer realm=\"oidc-forge\", error=\"{error}\", error_description=\"{description}\""
        )),
        // RFC 6749 5.2: invalid_client over HTTP authentication answers 401 with a challenge.
        (Endpoint::Token | Endpoint::Introspect | Endpoint::Revoke, 401) => {
            Some("Basic realm=\"oidc-forge\", charset=\"UTF-8\"".to_owned())
        }
        _ => None,
    };
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Sends the user back to the client with `error`, when the request names a client and a
/// redirect URI that can be trusted; otherwise shows the error page a real issuer would show.
fn authorization_redirect(
    state: &IssuerState,
    params: &Params,
    error: &str,
    description: Option<&str>,
) -> Response {
    let config = state.config();
    let (redirect_uri, client_state) = match authorization::parse_request(&config, params) {
        Ok(request) => (request.redirect_uri, request.state),
        Err(AuthorizationError::Redirect {
            redirect_uri,
            state,
            ..
        }) => (redirect_uri, state),
        Err(AuthorizationError::Page { error, description }) => {
            return pages::error_page(error, &sanitize_description(&description));
        }
    };
    let description = sanitize_description(description.unwrap_or("scripted fault"));
    let mut query = vec![("error", error), ("error_description", &description)];
    if let Some(s) = &client_state {
        query.push(("state", s));
    }
    query.push(("iss", &state.issuer));
    redirect_to_client(&redirect_uri, &query)
}

/// A response body that fails on its first poll. Hyper then drops the connection before it
/// has flushed the status line, so the client sees the connection close with no answer: an
/// axum handler has no other way to drop a TCP connection.
struct Abort;

impl http_body::Body for Abort {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "scripted fault: close the connection",
        ))))
    }
}

/// The JSON face: one flat object, friendly to curl. Exactly one of `status`,
/// `close_connection`, `malformed_json` and `authorization_error` (or none, with `delay_ms`
/// alone); `times` or `until_cleared` (or neither: the next request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRequest {
    pub endpoint: Option<Endpoint>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub close_connection: bool,
    #[serde(default)]
    pub malformed_json: bool,
    pub authorization_error: Option<String>,
    pub delay_ms: Option<u64>,
    pub times: Option<u32>,
    #[serde(default)]
    pub until_cleared: bool,
    pub code: Option<String>,
}

impl FaultRequest {
    /// The spec it describes; `endpoint` is required here unless `default_endpoint` is given.
    pub fn into_spec(self, default_endpoint: Option<Endpoint>) -> Result<FaultSpec, FaultError> {
        let endpoint = self
            .endpoint
            .or(default_endpoint)
            .ok_or(FaultError::Ambiguous(
                "the endpoints (`endpoint` is required)",
            ))?;
        let chosen = usize::from(self.close_connection)
            + usize::from(self.malformed_json)
            + usize::from(self.authorization_error.is_some())
            + usize::from(self.status.is_some() && !self.malformed_json);
        if chosen > 1 {
            return Err(FaultError::Ambiguous(
                "`status`, `close_connection`, `malformed_json` and `authorization_error`",
            ));
        }
        let action = if self.close_connection {
            FaultAction::CloseConnection
        } else if self.malformed_json {
            FaultAction::MalformedJson {
                status: self.status.unwrap_or(200),
            }
        } else if let Some(error) = self.authorization_error {
            FaultAction::AuthorizationError {
                error,
                description: self.description,
            }
        } else if let Some(status) = self.status {
            FaultAction::Status {
                status,
                error: self.error,
                description: self.description,
            }
        } else {
            FaultAction::Pass
        };
        let scope = match (self.times, self.until_cleared) {
            (Some(_), true) => return Err(FaultError::Ambiguous("`times` and `until_cleared`")),
            (Some(n), false) => FaultScope::Times(n),
            (None, true) => FaultScope::UntilCleared,
            (None, false) => FaultScope::Next,
        };
        Ok(FaultSpec {
            endpoint,
            action,
            delay: self.delay_ms.map(Duration::from_millis),
            scope,
            code: self.code,
        })
    }
}

pub use super::fault_builder::{FaultBuilder, FaultsHandle};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_armed_means_nothing_fires() {
        let faults = Faults::default();
        assert!(!faults.is_armed());
        assert_eq!(faults.take(Endpoint::Token, None), None);
    }

    #[test]
    fn scopes_count_down_and_clearing_disarms() {
        let faults = Faults::default();
        let handle = FaultsHandle::new(&faults);
        handle.token().status(503).times(2).unwrap();
        let forever = handle.jwks().close_connection().until_cleared().unwrap();
        handle.userinfo().status(500).once().unwrap();
        assert!(faults.is_armed());
        assert!(faults.take(Endpoint::Token, None).is_some());
        assert!(faults.take(Endpoint::Token, None).is_some());
        assert_eq!(faults.take(Endpoint::Token, None), None);
        assert!(faults.take(Endpoint::Userinfo, None).is_some());
        assert_eq!(faults.take(Endpoint::Userinfo, None), None);
        for _ in 0..5 {
            assert_eq!(
                faults.take(Endpoint::Jwks, None).map(|f| f.action),
                Some(FaultAction::CloseConnection)
            );
        }
        assert!(handle.clear_fault(forever));
        assert!(!handle.clear_fault(forever));
        assert!(!faults.is_armed());
    }

    #[test]
    fn a_code_rule_matches_that_code_only() {
        let faults = Faults::default();
        FaultsHandle::new(&faults).reject_code("abc");
        assert!(faults.needs_params(Endpoint::Token));
        assert_eq!(faults.take(Endpoint::Token, Some("other")), None);
        assert_eq!(faults.take(Endpoint::Token, None), None);
        let fired = faults.take(Endpoint::Token, Some("abc")).unwrap();
        assert!(
            matches!(fired.action, FaultAction::Status { status: 400, ref error, .. } if error.as_deref() == Some("invalid_grant"))
        );
        assert!(
            faults.take(Endpoint::Token, Some("abc")).is_some(),
            "until cleared"
        );
    }

    #[test]
    fn invalid_faults_are_refused_with_a_reason() {
        let faults = Faults::default();
        let handle = FaultsHandle::new(&faults);
        assert_eq!(
            handle.token().status(200).once(),
            Err(FaultError::NotAnErrorStatus(200))
        );
        assert_eq!(
            handle.token().status(1000).once(),
            Err(FaultError::InvalidStatus(1000))
        );
        assert_eq!(
            handle.token().status(503).times(0),
            Err(FaultError::ZeroTimes)
        );
        assert_eq!(handle.token().once(), Err(FaultError::Empty));
        assert_eq!(
            handle.token().error("bad \"quote").once(),
            Err(FaultError::InvalidErrorCode)
        );
        assert!(matches!(
            handle.jwks().authorization_error("access_denied").once(),
            Err(FaultError::WrongEndpoint { .. })
        ));
        assert!(matches!(
            handle.jwks().status(500).for_code("x").once(),
            Err(FaultError::WrongEndpoint { .. })
        ));
        assert_eq!(
            handle.jwks().delay(Duration::from_secs(601)).once(),
            Err(FaultError::DelayTooLong)
        );
        assert!(!faults.is_armed());
    }

    #[test]
    fn the_json_face_builds_the_same_specs() {
        let json = serde_json::json!({
            "endpoint": "token", "status": 503, "error": "temporarily_unavailable", "times": 2
        });
        let request: FaultRequest = serde_json::from_value(json).unwrap();
        assert_eq!(
            request.into_spec(None).unwrap(),
            FaultSpec {
                endpoint: Endpoint::Token,
                action: FaultAction::Status {
                    status: 503,
                    error: Some("temporarily_unavailable".into()),
                    description: None
                },
                delay: None,
                scope: FaultScope::Times(2),
                code: None,
            }
        );
        let both: FaultRequest = serde_json::from_value(
            serde_json::json!({"endpoint": "jwks", "status": 500, "close_connection": true}),
        )
        .unwrap();
        assert!(matches!(
            both.into_spec(None),
            Err(FaultError::Ambiguous(_))
        ));
        let unknown = serde_json::from_value::<FaultRequest>(
            serde_json::json!({"endpoint": "jwks", "stauts": 500}),
        );
        assert!(unknown.unwrap_err().to_string().contains("stauts"));
    }
}
