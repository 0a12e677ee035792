//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 2.3):
//! `client_secret_basic`, `client_secret_post`, or `none` for public clients.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq as _;

use crate::config::{AuthMethod, ClientConfig, Config};
use crate::error::OAuthError;
use crate::params::Params;

/// Credentials as presented, before they are checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

/// Reads the credentials a request presents, rejecting ambiguous ones.
pub fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => Some(parse_basic(value.as_bytes())?),
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match basic {
        Some((id, secret)) => {
            // RFC 6749 2.3: a client MUST NOT use more than one authentication method.
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "client credentials sent both in the Authorization header and in the body; use one method (RFC 6749 2.3)",
                ));
            }
            if body_id.is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            Ok(Presented {
                client_id: id,
                secret: Some(secret),
                method: AuthMethod::ClientSecretBasic,
            })
        }
        None => {
            let client_id = body_id.ok_or_else(|| {
                OAuthError::invalid_client(
                    "no client authentication: send HTTP Basic credentials, client_secret_post, or client_id for a public client (RFC 6749 2.3)",
                )
            })?;
            Ok(Presented {
                client_id: client_id.to_owned(),
                secret: body_secret.map(str::to_owned),
                method: if body_secret.is_some() {
                    AuthMethod::ClientSecretPost
                } else {
                    AuthMethod::None
                },
            })
        }
    }
}

/// RFC 6749 2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn parse_basic(value: &[u8]) -> Result<(String, String), OAuthError> {
    let malformed = || {
        OAuthError::invalid_client(
            "malformed Authorization header: expected `Basic base64(client_id:client_secret)` (RFC 6749 2.3.1)",
        )
    };
    let text = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(format!(
            "unsupported authentication scheme `{scheme}` at the token endpoint; use Basic (RFC 6749 2.3.1)"
        )));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |part: &str| -> Result<String, OAuthError> {
        // application/x-www-form-urlencoded decoding, so `+` is a space.
        let pair = format!("v={part}");
        form_urlencoded::parse(pair.as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(malformed)
    };
    Ok((unescape(id)?, unescape(secret)?))
}

/// Checks presented credentials against the registration.
pub fn authenticate<'a>(
    config: &'a Config,
    presented: &Presented,
) -> Result<&'a ClientConfig, OAuthError> {
    // One message for unknown clients and wrong secrets, so the endpoint does not tell an
    // attacker which client ids exist.
    let failed = || {
        OAuthError::invalid_client("client authentication failed: unknown client or wrong secret")
    };
    let client = config.client(&presented.client_id).ok_or_else(failed)?;
    match (&client.secret, &presented.secret) {
        (Some(expected), Some(given)) => {
            // Constant time over equal-length digests: `ct_eq` on the raw strings returns at
            // once when the lengths differ, which would tell the secret's length.
            let digest =
                |text: &str| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
            if !bool::from(digest(expected).as_ref().ct_eq(digest(given).as_ref())) {
                return Err(failed());
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_client(format!(
                "client `{}` is confidential and must authenticate with its secret (RFC 6749 3.2.1)",
                client.id
            )));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_client(format!(
                "client `{}` is public and has no secret: send only client_id",
                client.id
            )));
        }
        (None, None) => {}
    }
    if let Some(required) = client.token_endpoint_auth_method
        && required != presented.method
    {
        return Err(OAuthError::invalid_client(format!(
            "client `{}` is registered for {}, but the request used {}",
            client.id,
            required.as_str(),
            presented.method.as_str()
        )));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = STANDARD.encode("my%20client:s%3Acret+x");
        let got = presented(&headers(&format!("basic {encoded}")), &Params::default()).unwrap();
        assert_eq!(got.client_id, "my client");
        assert_eq!(got.secret.as_deref(), Some("s:cret x"));
        assert_eq!(got.method, AuthMethod::ClientSecretBasic);
    }

    #[test]
    fn two_methods_at_once_are_rejected() {
        let encoded = STANDARD.encode("forge-web:forge-web-secret");
        let params = Params::parse(b"client_secret=forge-web-secret");
        let err = presented(&headers(&format!("Basic {encoded}")), &params).unwrap_err();
        assert_eq!(err.error, "invalid_request");
    }

    #[test]
    fn secrets_are_checked() {
        let config = Config::default();
        let check = |id: &str, secret: Option<&str>| {
            authenticate(
                &config,
                &Presented {
                    client_id: id.into(),
                    secret: secret.map(Into::into),
                    method: AuthMethod::ClientSecretPost,
                },
            )
            .map(|c| c.id.clone())
            .map_err(|e| e.error)
        };
        assert_eq!(
            check("forge-web", Some("forge-web-secret")),
            Ok("forge-web".into())
        );
        assert_eq!(check("forge-web", Some("wrong")), Err("invalid_client"));
        assert_eq!(check("forge-web", None), Err("invalid_client"));
        assert_eq!(check("nobody", Some("x")), Err("invalid_client"));
        assert_eq!(check("forge-spa", Some("x")), Err("invalid_client"));
        assert_eq!(check("forge-spa", None), Ok("forge-spa".into()));
        let err = parse_basic(b"Bearer abc").unwrap_err();
        assert_eq!(err.error, "invalid_client");
        assert!(parse_basic(b"Basic !!!").is_err());
    }

    #[test]
    fn the_body_names_the_basic_client_or_no_one() {
        let encoded = STANDARD.encode("forge-web:forge-web-secret");
        let basic = headers(&format!("Basic {encoded}"));
        let same = Params::parse(b"client_id=forge-web");
        assert_eq!(presented(&basic, &same).unwrap().client_id, "forge-web");
        let other = Params::parse(b"client_id=forge-spa");
        let err = presented(&basic, &other).unwrap_err();
        assert_eq!(err.error, "invalid_request");
    }

    #[test]
    fn a_client_held_to_one_method_is_refused_the_other() {
        let mut config = Config::default();
        config.clients[0].token_endpoint_auth_method = Some(AuthMethod::ClientSecretBasic);
        let with = |method| {
            authenticate(
                &config,
                &Presented {
                    client_id: "forge-web".into(),
                    secret: Some("forge-web-secret".into()),
                    method,
                },
            )
            .map(|c| c.id.clone())
            .map_err(|e| e.error)
        };
        assert_eq!(with(AuthMethod::ClientSecretBasic), Ok("forge-web".into()));
        assert_eq!(with(AuthMethod::ClientSecretPost), Err("invalid_client"));
    }
}
