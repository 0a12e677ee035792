//! The rules of the token endpoint's grants (RFC 6749 4.1.3, 4.4, 6) as plain checks over plain
//! data; [`crate::endpoints::token`] applies them, one grant per file, and keeps the stores.

use crate::config::{ClientConfig, Config, GrantType};
use crate::error::OAuthError;
use crate::params::Params;
use crate::rules::pkce;
use crate::rules::scope;
use crate::state::CodeGrant;

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

/// How long a revoked grant's record must live: past the `exp` of any access token of it,
/// issued until now.
pub fn revocation_lifetime(config: &Config, now: u64) -> u64 {
    now.saturating_add(config.lifetimes.access_token)
}

/// What a code must match to be redeemed by `client` with `params` (RFC 6749 4.1.3; RFC 7636
/// 4.6). Its expiry and redemption are the store's ([`crate::state::CodeStore::claim`]).
pub fn check_code(
    grant: &CodeGrant,
    client: &ClientConfig,
    params: &Params,
) -> Result<(), OAuthError> {
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client (RFC 6749 4.1.3)",
        ));
    }
    check_redirect_uri(grant, params.get("redirect_uri"))?;
    pkce::verify(grant.pkce.as_ref(), params.get("code_verifier"))
        .map_err(|why| OAuthError::invalid_grant(why.to_string()))
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

/// RFC 6749 6: a refresh's `scope` may narrow the granted scopes, never widen them; without
/// one, the grant's scopes.
pub fn refreshed_scopes(
    granted: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = requested else {
        return Ok(granted.to_vec());
    };
    let requested = scope::parse(raw).map_err(OAuthError::invalid_scope)?;
    if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope `{extra}` was not granted originally; a refresh may only narrow the scope (RFC 6749 6)"
        )));
    }
    Ok(requested)
}

/// The scopes of a client_credentials token (RFC 6749 4.4, 3.3): what the client asks for, each
/// registered for it and none that needs an end user; without `scope`, its API scopes.
pub fn client_credentials_scopes(
    client: &ClientConfig,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "a public client cannot use client_credentials (RFC 6749 4.4)",
        ));
    }
    let scopes = match requested {
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
    Ok(scopes)
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

    #[test]
    fn a_client_uses_only_its_registered_grants() {
        let config = Config::default();
        let spa = config.client("forge-spa").unwrap();
        let err = check_client_may_use(spa, GrantType::ClientCredentials).unwrap_err();
        assert_eq!(err.error, "unauthorized_client");
        assert!(check_client_may_use(spa, GrantType::AuthorizationCode).is_ok());
    }

    #[test]
    fn a_refresh_narrows_the_scope_and_never_widens_it() {
        let granted = vec!["openid".to_owned(), "read".to_owned()];
        assert_eq!(refreshed_scopes(&granted, None).unwrap(), granted);
        assert_eq!(
            refreshed_scopes(&granted, Some("read")).unwrap(),
            vec!["read"]
        );
        let err = refreshed_scopes(&granted, Some("read write")).unwrap_err();
        assert_eq!(err.error, "invalid_scope");
        assert!(err.description.contains("`write`"), "{}", err.description);
    }

    #[test]
    fn client_credentials_scopes_are_the_clients_api_scopes() {
        let config = Config::default();
        let web = config.client("forge-web").unwrap();
        let default = client_credentials_scopes(web, None).unwrap();
        assert!(
            !default.is_empty() && default.iter().all(|s| !is_user_scope(s)),
            "{default:?}"
        );
        assert_eq!(
            client_credentials_scopes(web, Some("openid"))
                .unwrap_err()
                .error,
            "invalid_scope"
        );
        let spa = config.client("forge-spa").unwrap();
        assert_eq!(
            client_credentials_scopes(spa, None).unwrap_err().error,
            "unauthorized_client"
        );
    }
}
