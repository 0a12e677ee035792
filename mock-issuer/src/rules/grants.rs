//! The grants of the token endpoint (RFC 6749 4.1.3, 4.4, 6): what makes each valid, applied to
//! the state's stores.

use crate::config::{ClientConfig, Config, GrantType};
use crate::error::OAuthError;
use crate::params::Params;
use crate::rules::pkce;
use crate::rules::scope;
use crate::rules::tokens::{self, Grant, Subject, TokenResponse};
use crate::state::{IssuedFromCode, IssuerState, Redemption, lock};

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

fn internal(why: String) -> OAuthError {
    OAuthError {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        description: why,
        www_authenticate: None,
    }
}

/// Redeems an authorization code (RFC 6749 4.1.3; RFC 7636 4.6).
pub fn redeem_code(
    state: &IssuerState,
    config: &Config,
    client: &ClientConfig,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("`code` is required (RFC 6749 4.1.3)"))?;
    let now = state.now();
    // Take the code out of the store under the lock, so two concurrent redemptions cannot
    // both succeed; a redeemed code stays, marked, until it expires, to detect replays.
    let grant = {
        let mut codes = lock(&state.codes);
        let Some(grant) = codes.get_mut(code) else {
            return Err(OAuthError::invalid_grant(
                "the authorization code is unknown, or was already used and has expired",
            ));
        };
        if let Some(redemption) = &mut grant.redeemed {
            // RFC 6749 4.1.2 / 10.5: a replayed code revokes what the first use issued.
            match redemption {
                Redemption::Issuing { replayed } => *replayed = true,
                Redemption::Issued(issued) => {
                    let issued = issued.clone();
                    codes.remove(code);
                    drop(codes);
                    revoke_issued(state, &issued);
                }
            }
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
        match (&grant.redirect_uri, params.get("redirect_uri")) {
            (Some(expected), Some(given)) if expected == given => {}
            (None, None) => {}
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant(
                    "`redirect_uri` is required: the authorization request included it (RFC 6749 4.1.3)",
                ));
            }
            _ => {
                return Err(OAuthError::invalid_grant(
                    "`redirect_uri` differs from the one of the authorization request (RFC 6749 4.1.3)",
                ));
            }
        }
        pkce::verify(grant.pkce.as_ref(), params.get("code_verifier"))
            .map_err(|why| OAuthError::invalid_grant(why.to_string()))?;
        // Claim the code before signing, so a concurrent replay sees it as used.
        grant.redeemed = Some(Redemption::Issuing { replayed: false });
        grant.clone()
    };

    let user = config.find_user(&grant.login.sub).ok_or_else(|| {
        OAuthError::invalid_grant("the user of this authorization code no longer exists")
    })?;
    let issued = tokens::issue(
        state,
        config,
        Grant {
            client,
            subject: Subject::User(user, &grant.login),
            scopes: &grant.scopes,
            nonce: grant.nonce.as_deref(),
            code: Some(code),
            rotating: None,
        },
    )
    .map_err(internal)?;
    let record = IssuedFromCode {
        access_token_jti: issued.access_token_jti,
        access_token_exp: issued.access_token_exp,
        refresh_family: issued.refresh_family,
    };
    let replayed_meanwhile = {
        let mut codes = lock(&state.codes);
        match codes.get_mut(code) {
            Some(stored) => match stored.redeemed {
                Some(Redemption::Issuing { replayed: true }) => {
                    codes.remove(code);
                    true
                }
                _ => {
                    stored.redeemed = Some(Redemption::Issued(record.clone()));
                    false
                }
            },
            None => false,
        }
    };
    if replayed_meanwhile {
        // RFC 6749 4.1.2: the replay came while these tokens were being issued; they are
        // revoked as if it had come after, and this answer still carries them.
        revoke_issued(state, &record);
    }
    Ok(issued.response)
}

/// RFC 6749 4.1.2: revokes what a replayed code's redemption issued: the access token and the
/// refresh family.
fn revoke_issued(state: &IssuerState, issued: &IssuedFromCode) {
    state.revoke_access_token(issued.access_token_jti.clone(), issued.access_token_exp);
    if let Some(family) = &issued.refresh_family {
        lock(&state.refresh_tokens).revoke_family(family);
    }
}

/// Exchanges a refresh token, rotating it (RFC 6749 6; RFC 9700 4.14.2).
pub fn refresh(
    state: &IssuerState,
    config: &Config,
    client: &ClientConfig,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("`refresh_token` is required (RFC 6749 6)"))?;
    let now = state.now();
    let grant = {
        let mut store = lock(&state.refresh_tokens);
        if let Some((family, _)) = store.rotated.get(token).cloned() {
            // A rotated token came back: it was stolen or replayed; end the whole chain.
            store.revoke_family(&family);
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; its successors are revoked (RFC 9700 4.14.2)",
            ));
        }
        let Some(grant) = store.active.get(token).cloned() else {
            return Err(OAuthError::invalid_grant(
                "the refresh token is unknown, revoked or expired",
            ));
        };
        if grant.expires_at <= now {
            store.active.remove(token);
            return Err(OAuthError::invalid_grant("the refresh token has expired"));
        }
        if grant.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client (RFC 6749 6)",
            ));
        }
        grant
    };

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
    // The rotation happens under the lock so one refresh token yields one successor.
    {
        let mut store = lock(&state.refresh_tokens);
        if store.active.remove(token).is_none() {
            return Err(OAuthError::invalid_grant(
                "the refresh token was used concurrently: another request rotated it first; use the refresh token from that response (RFC 9700 4.14.2)",
            ));
        }
        store
            .rotated
            .insert(token.to_owned(), (grant.family.clone(), grant.expires_at));
    }
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
            rotating: Some(&grant),
        },
    )
    .map_err(internal)?;
    Ok(issued.response)
}

/// The client credentials grant (RFC 6749 4.4): a token about the client itself.
pub fn client_credentials(
    state: &IssuerState,
    config: &Config,
    client: &ClientConfig,
    params: &Params,
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
            rotating: None,
        },
    )
    .map_err(internal)?;
    Ok(issued.response)
}

/// Scopes that only make sense with an end user (Core 5.4, 11).
fn is_user_scope(scope: &str) -> bool {
    matches!(
        scope,
        "openid" | "profile" | "email" | "address" | "phone" | "offline_access"
    )
}
