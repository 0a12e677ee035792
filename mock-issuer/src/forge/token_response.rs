//! Edits of the next successful token response: "the next token response carries an ID token
//! with defect X", or an unusual but valid response (`token_type: bEARER`, no `expires_in`).
//! This is how a test puts a hostile ID token in front of an app's login callback, in any
//! language, without a proxy: the ID token is re-signed from the genuine one's claims (its
//! nonce, `at_hash`, `sid`), so that it is wrong in exactly the scripted way.
//!
//! Each edit is consumed by one successful token response (any grant), in the order queued
//! (a bounded queue, lock-free when empty).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::mint::{MintError, Mutation, TokenKind, sign_mutated};
use super::queue::{Full, NextResponses};
use crate::keys::SigningKey;

/// Most edits that may wait at once.
pub const MAX_QUEUED_EDITS: usize = 1_000;

/// What the caller of [`ResponseEdit::IdTokenMadeBy`] is given: the genuine response.
#[derive(Debug)]
#[non_exhaustive]
pub struct GenuineResponse<'a> {
    /// The response's members, the genuine ID token included.
    pub members: &'a Map<String, Value>,
    /// The genuine ID token's claims.
    pub id_token_claims: &'a Map<String, Value>,
    /// The access token of the response (for an `at_hash`).
    pub access_token: &'a str,
}

/// Makes the ID token of one response, in-process.
pub type MakeIdToken = Box<dyn FnOnce(&GenuineResponse<'_>) -> Result<String, String> + Send>;

/// One edit of one response.
#[non_exhaustive]
pub enum ResponseEdit {
    /// The ID token re-signed from the genuine one's claims with these defects; a response
    /// without an ID token is left alone.
    IdTokenMutations(Vec<Mutation>),
    /// The ID token made by the caller from the genuine response (in-process tests: any
    /// token at all, raw or signed by any key).
    IdTokenMadeBy(MakeIdToken),
    /// Members set (verbatim JSON) and removed (RFC 6749 5.1's optional ones, say).
    Members {
        set: Map<String, Value>,
        remove: Vec<String>,
    },
}

impl std::fmt::Debug for ResponseEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseEdit::IdTokenMutations(mutations) => {
                f.debug_tuple("IdTokenMutations").field(mutations).finish()
            }
            ResponseEdit::IdTokenMadeBy(_) => f.write_str("IdTokenMadeBy(..)"),
            ResponseEdit::Members { set, remove } => f
                .debug_struct("Members")
                .field("set", set)
                .field("remove", remove)
                .finish(),
        }
    }
}

/// The JSON face of an edit (`POST /_forge/token-response`): the ID token's mutations, and
/// members to set or remove; any of them may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_mutations: Vec<Mutation>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

impl EditRequest {
    /// The edits this request describes, for one response: the members first, then the ID
    /// token.
    pub fn into_edits(self) -> Vec<ResponseEdit> {
        let mut edits = Vec::new();
        if !self.set.is_empty() || !self.remove.is_empty() {
            edits.push(ResponseEdit::Members {
                set: self.set,
                remove: self.remove,
            });
        }
        if !self.id_token_mutations.is_empty() {
            edits.push(ResponseEdit::IdTokenMutations(self.id_token_mutations));
        }
        edits
    }
}

/// Why an edit cannot be queued or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    #[error("{0} token-response edits are already waiting; clear some first")]
    QueueFull(usize),
    #[error("the edit names nothing to change")]
    Empty,
    #[error("the ID token could not be re-signed: {0}")]
    Mint(#[from] MintError),
    #[error("the ID token could not be made: {0}")]
    Made(String),
}

/// The edits waiting, each for one response (a bounded queue, lock-free when empty).
#[derive(Debug)]
pub(crate) struct ResponseEdits(NextResponses<Vec<ResponseEdit>>);

impl Default for ResponseEdits {
    fn default() -> Self {
        Self(NextResponses::new(MAX_QUEUED_EDITS))
    }
}

impl ResponseEdits {
    /// Queues `edits` for one response (the next without edits of its own).
    pub fn push(&self, edits: Vec<ResponseEdit>) -> Result<(), EditError> {
        if edits.is_empty() {
            return Err(EditError::Empty);
        }
        self.0
            .push(edits)
            .map_err(|Full(waiting)| EditError::QueueFull(waiting))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn clear(&self) {
        self.0.clear();
    }

    /// Takes the edits for the response being answered, if any. Edits of the ID token wait for
    /// the ID token of a login (a code exchange, `login_id_token`): a client_credentials answer
    /// or a refresh in between does not use them up. A refreshed ID token carries no `nonce` or
    /// `c_hash` of a login to get wrong (OpenID Core 12.2), and an edit it could not take would
    /// answer `server_error` and end that other grant.
    pub fn take_for(&self, login_id_token: bool) -> Option<Vec<ResponseEdit>> {
        self.0.take_if(|edits| {
            login_id_token
                || edits
                    .iter()
                    .all(|edit| matches!(edit, ResponseEdit::Members { .. }))
        })
    }
}

/// Who signs a re-signed ID token, and as whom.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// The issuer identifier.
    pub url: &'a str,
    pub key: &'a SigningKey,
    pub now: u64,
}

/// Applies `edits` to a token response's members.
pub(crate) fn apply(
    edits: Vec<ResponseEdit>,
    response: &mut Map<String, Value>,
    signer: Signer<'_>,
) -> Result<(), EditError> {
    for edit in edits {
        match edit {
            ResponseEdit::Members { set, remove } => {
                for name in remove {
                    response.remove(&name);
                }
                response.extend(set);
            }
            ResponseEdit::IdTokenMutations(mutations) => {
                let Some(claims) = id_token_claims(response) else {
                    continue;
                };
                let token = sign_mutated(
                    signer.url,
                    signer.key,
                    TokenKind::IdToken,
                    claims,
                    &mutations,
                    signer.now,
                )?;
                response.insert("id_token".into(), token.token.into());
            }
            ResponseEdit::IdTokenMadeBy(make) => {
                let Some(claims) = id_token_claims(response) else {
                    continue;
                };
                let access_token = response
                    .get("access_token")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let token = make(&GenuineResponse {
                    members: response,
                    id_token_claims: &claims,
                    access_token: &access_token,
                })
                .map_err(EditError::Made)?;
                response.insert("id_token".into(), token.into());
            }
        }
    }
    Ok(())
}

/// The claims of the response's ID token, which the issuer itself just signed.
fn id_token_claims(response: &Map<String, Value>) -> Option<Map<String, Value>> {
    let token = response.get("id_token")?.as_str()?;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_wait_in_order_and_the_queue_is_capped() {
        let edits = ResponseEdits::default();
        assert!(edits.take_for(true).is_none());
        assert_eq!(edits.push(Vec::new()), Err(EditError::Empty));
        let members = |name: &str| ResponseEdit::Members {
            set: Map::from_iter([(name.to_owned(), Value::Bool(true))]),
            remove: Vec::new(),
        };
        edits.push(vec![members("first")]).unwrap();
        edits.push(vec![members("second")]).unwrap();
        assert_eq!(edits.len(), 2);
        let Some(first) = edits.take_for(false) else {
            panic!("an edit of members waits, for any response");
        };
        assert!(
            matches!(&first[0], ResponseEdit::Members { set, .. } if set.contains_key("first"))
        );
        edits.clear();
        assert_eq!(edits.len(), 0);
        edits
            .push(vec![ResponseEdit::IdTokenMutations(vec![
                Mutation::InvalidNonce,
            ])])
            .unwrap();
        assert!(edits.take_for(false).is_none(), "waits for an ID token");
        assert!(edits.take_for(true).is_some());
        for _ in 0..MAX_QUEUED_EDITS {
            edits.push(vec![members("x")]).unwrap();
        }
        assert_eq!(
            edits.push(vec![members("x")]),
            Err(EditError::QueueFull(MAX_QUEUED_EDITS))
        );
    }

    #[test]
    fn debug_output_names_each_edit_and_hides_closures() {
        let made = ResponseEdit::IdTokenMadeBy(Box::new(|_| Ok(String::new())));
        assert_eq!(format!("{made:?}"), "IdTokenMadeBy(..)");
        let mutations = ResponseEdit::IdTokenMutations(vec![Mutation::InvalidNonce]);
        assert_eq!(format!("{mutations:?}"), "IdTokenMutations([InvalidNonce])");
        let members = ResponseEdit::Members {
            set: Map::new(),
            remove: vec!["scope".into()],
        };
        assert_eq!(
            format!("{members:?}"),
            r#"Members { set: {}, remove: ["scope"] }"#
        );
    }

    #[test]
    fn the_json_request_lists_members_before_the_id_token() {
        let request: EditRequest = serde_json::from_value(serde_json::json!({
            "id_token_mutations": ["invalid-nonce"],
            "set": {"token_type": "bEARER"},
            "remove": ["expires_in"],
        }))
        .unwrap();
        let edits = request.into_edits();
        assert!(matches!(edits[0], ResponseEdit::Members { .. }));
        assert!(
            matches!(&edits[1], ResponseEdit::IdTokenMutations(m) if m == &[Mutation::InvalidNonce])
        );
        assert!(EditRequest::default().into_edits().is_empty());
        // Setting alone, or removing alone, is an edit of its own.
        let remove_only = EditRequest {
            remove: vec!["scope".into()],
            ..EditRequest::default()
        };
        assert!(
            matches!(&remove_only.into_edits()[..], [ResponseEdit::Members { remove, .. }] if remove == &["scope"])
        );
        let set_only = EditRequest {
            set: Map::from_iter([("token_type".to_owned(), Value::from("bEARER"))]),
            ..EditRequest::default()
        };
        assert_eq!(set_only.into_edits().len(), 1);
        assert!(serde_json::from_value::<EditRequest>(serde_json::json!({"idtoken": []})).is_err());
    }
}
