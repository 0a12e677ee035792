//! The client credentials grant (RFC 6749 4.4): a token about the client itself, with the scopes
//! [`grants::client_credentials_scopes`] allows; no refresh token, no ID token.

use super::{Issue, Request};
use crate::error::OAuthError;
use crate::rules::grants;

pub(super) fn exchange<'a>(request: &Request<'a>) -> Result<Issue<'a>, OAuthError> {
    let scopes = grants::client_credentials_scopes(request.client, request.params.get("scope"))?;
    Ok(Issue {
        user: None,
        scopes,
        nonce: None,
        code: None,
        grant_id: None,
        refresh_token: None,
    })
}
