//! Claims queued for the next token response: "the next token this issuer issues carries
//! `tenant: 7`", without a configuration change. Each queued entry is consumed by exactly one
//! token response (any grant), in the order queued.
//!
//! The token endpoint checks the queue on every issuance, so an empty queue costs one atomic
//! load and nothing else.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::queue::{Full, NextResponses};

/// Which tokens of the response get the claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClaimsTarget {
    AccessToken,
    IdToken,
    #[default]
    Both,
}

/// Claims for one future token response. Values are set verbatim and override what the issuer
/// would have put there, registered claims included: queueing `{"sub": null}` is allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedClaims {
    #[serde(default)]
    pub target: ClaimsTarget,
    pub claims: Map<String, Value>,
}

/// Why claims cannot be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    #[error("claims must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// Each token response takes one entry; this many waiting means they are not being taken.
    #[error(
        "the claims queue is full ({0} entries waiting): each token response takes one; clear the queue or issue tokens first"
    )]
    QueueFull(usize),
}

/// Entries the queue holds at most.
pub const MAX_QUEUED: usize = 1000;

impl QueuedClaims {
    /// Claims from a JSON value, which must be an object.
    pub fn new(target: ClaimsTarget, claims: Value) -> Result<Self, ClaimsError> {
        match claims {
            Value::Object(claims) => Ok(Self { target, claims }),
            other => Err(ClaimsError::NotAnObject(json_type(&other))),
        }
    }

    fn applies_to_access_token(&self) -> bool {
        matches!(self.target, ClaimsTarget::AccessToken | ClaimsTarget::Both)
    }

    fn applies_to_id_token(&self) -> bool {
        matches!(self.target, ClaimsTarget::IdToken | ClaimsTarget::Both)
    }
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The claims taken for one token response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TakenClaims {
    pub access_token: Map<String, Value>,
    pub id_token: Map<String, Value>,
}

/// The queue, one entry per token response (a bounded queue, lock-free when empty).
#[derive(Debug)]
pub(crate) struct ClaimQueue(NextResponses<QueuedClaims>);

impl Default for ClaimQueue {
    fn default() -> Self {
        Self(NextResponses::new(MAX_QUEUED))
    }
}

impl ClaimQueue {
    /// Queues `claims` for the next token response without one, unless [`MAX_QUEUED`] wait.
    pub fn push(&self, claims: QueuedClaims) -> Result<(), ClaimsError> {
        self.0
            .push(claims)
            .map_err(|Full(waiting)| ClaimsError::QueueFull(waiting))
    }

    /// How many entries wait.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Takes the entry for the next token response, if any.
    pub fn take(&self) -> Option<TakenClaims> {
        let entry = self.0.take()?;
        let mut taken = TakenClaims::default();
        if entry.applies_to_access_token() {
            taken.access_token = entry.claims.clone();
        }
        if entry.applies_to_id_token() {
            taken.id_token = entry.claims;
        }
        Some(taken)
    }

    pub fn pending(&self) -> Vec<QueuedClaims> {
        self.0.pending()
    }

    pub fn clear(&self) {
        self.0.clear();
    }
}

/// Serialises `claims` with `extra` merged over it: the slow path, taken only when claims were
/// queued.
pub(crate) fn merge(
    claims: &impl Serialize,
    extra: &Map<String, Value>,
) -> Result<Vec<u8>, String> {
    let mut value = serde_json::to_value(claims).map_err(|e| e.to_string())?;
    if let Value::Object(map) = &mut value {
        for (name, claim) in extra {
            map.insert(name.clone(), claim.clone());
        }
    }
    serde_json::to_vec(&value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_are_taken_once_in_order_and_split_by_target() {
        let queue = ClaimQueue::default();
        assert_eq!(queue.take(), None);
        queue
            .push(QueuedClaims::new(ClaimsTarget::AccessToken, json!({"a": 1})).unwrap())
            .unwrap();
        queue
            .push(QueuedClaims::new(ClaimsTarget::Both, json!({"b": 2})).unwrap())
            .unwrap();
        let first = queue.take().unwrap();
        assert_eq!(Value::Object(first.access_token), json!({"a": 1}));
        assert!(first.id_token.is_empty());
        let second = queue.take().unwrap();
        assert_eq!(Value::Object(second.id_token), json!({"b": 2}));
        assert_eq!(Value::Object(second.access_token), json!({"b": 2}));
        assert_eq!(queue.take(), None);
    }

    #[test]
    fn a_full_queue_refuses_with_a_clear_error() {
        let queue = ClaimQueue::default();
        for i in 0..MAX_QUEUED {
            queue
                .push(QueuedClaims::new(ClaimsTarget::Both, json!({ "i": i })).unwrap())
                .unwrap();
        }
        let refused = queue.push(QueuedClaims::new(ClaimsTarget::Both, json!({})).unwrap());
        assert_eq!(refused, Err(ClaimsError::QueueFull(MAX_QUEUED)));
        assert!(refused.unwrap_err().to_string().contains("clear the queue"));
        assert_eq!(queue.len(), MAX_QUEUED);
        // Taking one makes room for one.
        assert!(queue.take().is_some());
        assert!(
            queue
                .push(QueuedClaims::new(ClaimsTarget::Both, json!({})).unwrap())
                .is_ok()
        );
    }

    #[test]
    fn only_objects_can_be_queued_and_merging_overrides() {
        assert_eq!(
            QueuedClaims::new(ClaimsTarget::Both, json!([1])),
            Err(ClaimsError::NotAnObject("an array"))
        );
        let extra = json!({"sub": null, "tenant": 7});
        let merged = merge(&json!({"sub": "x", "iss": "i"}), extra.as_object().unwrap()).unwrap();
        let merged: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(merged, json!({"sub": null, "iss": "i", "tenant": 7}));
    }
}
