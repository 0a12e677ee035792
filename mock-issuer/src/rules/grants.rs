//! The grants of the token endpoint (RFC 6749 4.1.3, 4.4, 6): what makes each valid, applied to
//! the state's stores.

use crate::config::{ClientConfig, Config, GrantType};
use crate::error::OAuthError;
use crate::params::Params;
use crate::rules::pkce;
use crate::rules::scope;
use crate::rules::tokens::{self, Grant, IssueError, Subject, TokenResponse};
use crate::state::{CodeGrant, IssuerState, Presented, RefreshFamily, lock};

/// Parses `grant_type` (RFC 6749 5.2 `unsupported_grant_type`).
pub fn parse_grant_type(params: &Params) -> Result<GrantType, OAuthError> {
    match params.get("grant_type") {
        None => Err(OAuthError::invalid_request(
            "`grant_type` is required (RFC 6749 4.1.3)",
        )),
        Some("authorization_code") => Ok(GrantType::AuthorizationCode),
        Some("refresh_token") => Ok(GrantType::RefreshToken),
        Some("client_credentials") => Ok(GrantType::ClientCredentials),
        Some("password") => Err(OAuthError::unsupported_grant_type(
            "the password grant is not supported (RFC 9700 2.4 forbids it)",
        )),
        Some(other) => Err(OAuthError::unsupported_grant_type(format!(
            "grant_type `{other}` is not supported"
        ))),
    }
}

/// RFC 6749 5.2 `unauthorized_client`: the client is not registered for this grant.
pub fn check_client_may_use(client: &ClientConfig, grant: GrantType) -> Result<(), OAuthError> {
    if client.grant_types.contains(&grant) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "client `{}` may not use the {} grant",
            client.id,
            grant.as_str()
        )))
    }
}

/// What the token endpoint answers when tokens could not be issued.
fn issue_failure(error: IssueError) -> OAuthError {
    OAuthError::server_error(error.to_string())
}

/// How long a revoked grant's record must live: past the `exp` of any access token of it,
/// issued until now.
fn revocation_lifetime(config: &Config, now: u64) -> u64 {
    now.saturating_add(config.lifetimes.access_token)
}

/// Redeems an authorization code (RFC 6749 4.1.3; RFC 7636 4.6).
pub fn redeem_code(
    state: &IssuerState,
    config: &Config,
    client: &ClientConfig,
    params: &Params,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("`code` is required (RFC 6749 4.1.3)"))?;
    // Claim the code under the lock, so two concurrent redemptions cannot both succeed. The
    // claim names the grant its tokens will carry, so a replay at any moment after it, even
    // while they are being signed, revokes them all.
    let (grant, grant_id) = {
        let mut codes = lock(&state.codes);
        let Some(grant) = codes.get_mut(code) else {
            return Err(OAuthError::invalid_grant(
                "the authorization code is unknown, or was already used and has expired",
            ));
        };
        if let Some(first) = grant.redeemed.clone() {
            let owner = grant.client_id.clone();
            codes.remove(code);
            drop(codes);
            // RFC 6749 4.1.2 / 10.5: a replayed code revokes every token of its grant.
            state.revoke_grant_or_everything(&first, &owner, revocation_lifetime(config, now));
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued for it are revoked (RFC 6749 4.1.2)",
            ));
        }
        if grant.expires_at <= now {
            codes.remove(code);
            return Err(OAuthError::invalid_grant(
                "the authorization code has expired (RFC 6749 4.1.2)",
            ));
        }
        if grant.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client (RFC 6749 4.1.3)",
            ));
        }
        check_redirect_uri(grant, params.get("redirect_uri"))?;
        pkce::verify(grant.pkce.as_ref(), params.get("code_verifier"))
            .map_err(|why| OAuthError::invalid_grant(why.to_string()))?;
        let grant_id = state.rng.id();
        grant.redeemed = Some(grant_id.clone());
        (grant.clone(), grant_id)
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
            revocation_lifetime(config, now),
        )
    });
    let issued = tokens::issue(
        state,
        config,
        Grant {
            client,
            subject: Subject::User(user, &grant.login),
            scopes: &grant.scopes,
            nonce: grant.nonce.as_deref(),
            code: Some(code),
            grant_id: Some(&grant_id),
            refresh_token: refresh_token.as_deref(),
        },
        now,
    )
    .map_err(issue_failure)?;
    revoke_again_if_revoked_meanwhile(state, &grant_id, &client.id, now, issued.access_token_exp);
    Ok(issued.response)
}

/// RFC 6749 4.1.3: `redirect_uri` must be repeated, identically, when the authorization
/// request carried it. When it did not, none is required, and one that names where the code
/// was sent is accepted (Authlib and others always send it).
fn check_redirect_uri(grant: &CodeGrant, given: Option<&str>) -> Result<(), OAuthError> {
    match (&grant.redirect_uri, given) {
        (Some(expected), Some(given)) if expected == given => Ok(()),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "`redirect_uri` is required: the authorization request included it (RFC 6749 4.1.3)",
        )),
        (None, None) => Ok(()),
        (None, Some(given)) if given == grant.delivered_to => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "`redirect_uri` differs from the one of the authorization request (RFC 6749 4.1.3)",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "`redirect_uri` differs from the one the code was sent to (RFC 6749 4.1.3)",
        )),
    }
}

/// A revocation of the grant that came while its tokens were being issued (a replayed code, a
/// reused refresh token) found neither the refresh token, not yet stored, nor this access
/// token's `exp`: revoke again, now that both are known. The answer still carries the tokens,
/// as if the revocation had come just after it.
fn revoke_again_if_revoked_meanwhile(
    state: &IssuerState,
    grant: &str,
    client_id: &str,
    now: u64,
    exp: u64,
) {
    if state.is_grant_revoked(grant, client_id, now) {
        state.revoke_grant_or_everything(grant, client_id, exp);
    }
}

/// Exchanges a refresh token, rotating it (RFC 6749 6; RFC 9700 4.14.2).
pub fn refresh(
    state: &IssuerState,
    config: &Config,
    client: &ClientConfig,
    params: &Params,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("`refresh_token` is required (RFC 6749 6)"))?;
    let (family, grant) = match state.presented_refresh_token(token) {
        Presented::Current { family, grant } => (family, grant),
        Presented::Reused { family, grant } => {
            // A rotated token came back: it was stolen or replayed; end the whole grant.
            state.revoke_grant_or_everything(
                &family,
                &grant.client_id,
                revocation_lifetime(config, now),
            );
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

    // RFC 6749 6: the scope may narrow, never widen.
    let scopes = match params.get("scope") {
        None => grant.scopes.clone(),
        Some(raw) => {
            let requested = scope::parse(raw).map_err(OAuthError::invalid_scope)?;
            if let Some(extra) = requested.iter().find(|s| !grant.scopes.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope `{extra}` was not granted originally; a refresh may only narrow the scope (RFC 6749 6)"
                )));
            }
            requested
        }
    };
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
    // Core 12.2: a refreshed ID token keeps iss, sub, aud and the original auth_time, without nonce.
    let issued = tokens::issue(
        state,
        config,
        Grant {
            client,
            subject: Subject::User(user, &grant.login),
            scopes: &scopes,
            nonce: None,
            code: None,
            grant_id: Some(&family),
            refresh_token: Some(&successor),
        },
        now,
    )
    .map_err(issue_failure)?;
    revoke_again_if_revoked_meanwhile(state, &family, &client.id, now, issued.access_token_exp);
    Ok(issued.response)
}

/// The client credentials grant (RFC 6749 4.4): a token about the client itself.
pub fn client_credentials(
    state: &IssuerState,
    config: &Config,
    client: &ClientConfig,
    params: &Params,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "a public client cannot use client_credentials (RFC 6749 4.4)",
        ));
    }
    let scopes = match params.get("scope") {
        Some(raw) => scope::parse(raw).map_err(OAuthError::invalid_scope)?,
        // RFC 6749 3.3: without a scope, the client's API scopes are the default.
        None => client
            .scopes
            .iter()
            .filter(|s| !is_user_scope(s))
            .cloned()
            .collect(),
    };
    for requested in &scopes {
        if is_user_scope(requested) {
            return Err(OAuthError::invalid_scope(format!(
                "scope `{requested}` needs an end user; client_credentials has none"
            )));
        }
        if !client.scopes.contains(requested) {
            return Err(OAuthError::invalid_scope(format!(
                "client `{}` may not request scope `{requested}`",
                client.id
            )));
        }
    }
    let issued = tokens::issue(
        state,
        config,
        Grant {
            client,
            subject: Subject::Client,
            scopes: &scopes,
            nonce: None,
            code: None,
            grant_id: None,
            refresh_token: None,
        },
        now,
    )
    .map_err(issue_failure)?;
    Ok(issued.response)
}

/// Scopes that only make sense with an end user (Core 5.4, 11).
fn is_user_scope(scope: &str) -> bool {
    matches!(
        scope,
        "openid" | "profile" | "email" | "address" | "phone" | "offline_access"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_767_225_600;

    #[test]
    fn a_client_uses_only_its_registered_grants() {
        let config = Config::default();
        let spa = config.client("forge-spa").unwrap();
        let err = check_client_may_use(spa, GrantType::ClientCredentials).unwrap_err();
        assert_eq!(err.error, "unauthorized_client");
        assert!(check_client_may_use(spa, GrantType::AuthorizationCode).is_ok());
    }

    /// A revocation that came while a grant's tokens were being issued covered what existed
    /// then; revoking again covers the new access token's whole life.
    #[test]
    fn a_grant_revoked_meanwhile_is_revoked_for_the_new_tokens_life() {
        let clock = std::sync::Arc::new(crate::FixedClock::new(NOW));
        let state = crate::MockIssuer::builder()
            .clock(clock.clone())
            .build_state("http://issuer.test")
            .unwrap();
        // The concurrent revocation, recorded until NOW + 10.
        state.revoke_grant_or_everything("grant-1", "forge-web", NOW + 10);
        revoke_again_if_revoked_meanwhile(&state, "grant-1", "forge-web", NOW, NOW + 3600);
        revoke_again_if_revoked_meanwhile(&state, "grant-2", "forge-web", NOW, NOW + 3600);
        clock.set(NOW + 60);
        assert!(state.is_grant_revoked("grant-1", "forge-web", NOW));
        assert!(!state.is_grant_revoked("grant-2", "forge-web", NOW));
    }
}
