//! The authorization code grant (RFC 6749 4.1.3; RFC 7636 4.6): parse the code, claim it in the
//! code store with the rules of [`grants::check_code`], start the grant's refresh family when
//! it gets one, and say what to issue.

use super::{Issue, Request};
use crate::error::OAuthError;
use crate::rules::{grants, tokens};
use crate::state::{Claim, RefreshFamily};

pub(super) fn exchange<'a>(request: &Request<'a>) -> Result<Issue<'a>, OAuthError> {
    let Request {
        state,
        config,
        client,
        params,
        now,
    } = *request;
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("`code` is required (RFC 6749 4.1.3)"))?;
    // The claim names the grant its tokens will carry, so a replay at any moment after it, even
    // while they are being signed, revokes them all.
    let claim = state.codes().claim(
        code,
        now,
        |grant| grants::check_code(grant, client, params),
        || state.rng.id(),
    )?;
    let (grant, grant_id) = match claim {
        Claim::Claimed { grant, grant_id } => (*grant, grant_id),
        Claim::Replayed {
            grant_id,
            client_id,
        } => {
            // RFC 6749 4.1.2 / 10.5: a replayed code revokes every token of its grant.
            request.revoke_grant(&grant_id, &client_id);
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued for it are revoked (RFC 6749 4.1.2)",
            ));
        }
        Claim::Expired => {
            return Err(OAuthError::invalid_grant(
                "the authorization code has expired (RFC 6749 4.1.2)",
            ));
        }
        Claim::Unknown => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is unknown, or was already used and has expired",
            ));
        }
    };

    let user = config.find_user(&grant.login.sub).ok_or_else(|| {
        OAuthError::invalid_grant("the user of this authorization code no longer exists")
    })?;
    let refresh_token = tokens::offers_refresh_token(client, &grant.scopes).then(|| {
        state.start_refresh_family(
            RefreshFamily {
                grant_id: grant_id.clone(),
                client_id: client.id.clone(),
                scopes: grant.scopes.clone(),
                login: grant.login.clone(),
                generation: 0,
                issued_at: now,
                expires_at: now.saturating_add(config.lifetimes.refresh_token),
            },
            now,
            grants::revocation_lifetime(config, now),
        )
    });
    Ok(Issue {
        user: Some((user, grant.login)),
        scopes: grant.scopes,
        nonce: grant.nonce,
        code: Some(code),
        grant_id: Some(grant_id),
        refresh_token,
    })
}
