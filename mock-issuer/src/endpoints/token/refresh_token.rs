//! The refresh token grant (RFC 6749 6; RFC 9700 4.14.2): find the token's family, end the grant
//! when a spent token comes back, narrow the scope by [`grants::refreshed_scopes`], rotate, and
//! say what to issue. Core 12.2: the refreshed ID token keeps `iss`, `sub`, `aud` and the
//! original `auth_time`, without `nonce`.

use super::{Issue, Request};
use crate::error::OAuthError;
use crate::rules::grants;
use crate::state::Presented;

pub(super) fn exchange<'a>(request: &Request<'a>) -> Result<Issue<'a>, OAuthError> {
    let Request {
        state,
        config,
        client,
        params,
        now,
    } = *request;
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("`refresh_token` is required (RFC 6749 6)"))?;
    let (family, grant) = match state.presented_refresh_token(token, now) {
        Presented::Current { family, grant } => (family, grant),
        Presented::Reused { family, grant } => {
            // A rotated token came back: it was stolen or replayed; end the whole grant.
            request.revoke_grant(&family, &grant.client_id);
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; its grant is revoked (RFC 9700 4.14.2)",
            ));
        }
        Presented::Unknown => {
            return Err(OAuthError::invalid_grant(
                "the refresh token is unknown, revoked or expired",
            ));
        }
    };
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client (RFC 6749 6)",
        ));
    }
    let scopes = grants::refreshed_scopes(&grant.scopes, params.get("scope"))?;
    let user = config.find_user(&grant.login.sub).ok_or_else(|| {
        OAuthError::invalid_grant("the user of this refresh token no longer exists")
    })?;
    // One refresh token yields one successor: the rotation is refused if another request
    // rotated the family since this one read it.
    let successor = state
        .rotate_refresh_token(
            &family,
            grant.generation,
            now,
            now.saturating_add(config.lifetimes.refresh_token),
        )
        .map_err(|lost| OAuthError::invalid_grant(lost.to_string()))?;
    Ok(Issue {
        user: Some((user, grant.login)),
        scopes,
        nonce: None,
        code: None,
        grant_id: Some(family),
        refresh_token: Some(successor),
    })
}
