//! Responses for rejected requests, replaceable per [`super::Auth`].
//!
//! The default, [`BearerResponses`], follows RFC 6750 3: a bare
//! `WWW-Authenticate: Bearer` when no token was sent, `error="invalid_token"`
//! for a bad one, `error="insufficient_scope"` (with the required `scope`)
//! when rights are missing, `error="invalid_request"` (400) for a malformed
//! request. Descriptions are cut to RFC 6750's character set and never echo
//! the token (B-19). The web flow swaps in
//! [`super::web::LoginRedirectResponses`].

use axum::Json;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::AuthRejection;
use crate::error::Error;

/// How rejected requests are answered (Fief's `get_unauthorized_response` and
/// the Flask `FiefAuthUnauthorized`/`FiefAuthForbidden` error handlers).
///
/// Every method has a default; override the ones you want.
pub trait AuthResponses: Send + Sync + 'static {
    /// Missing, malformed, invalid or expired token.
    fn unauthorized(&self, parts: &Parts, rejection: &AuthRejection) -> Response {
        let _ = parts;
        bearer_response(rejection)
    }

    /// Valid token lacking a scope, permission or `acr`.
    fn forbidden(&self, parts: &Parts, rejection: &AuthRejection) -> Response {
        let _ = parts;
        bearer_response(rejection)
    }

    /// The issuer failed (keys, discovery, UserInfo): fail closed.
    fn upstream_failure(&self, parts: &Parts, rejection: &AuthRejection) -> Response {
        let _ = parts;
        bearer_response(rejection)
    }
}

/// RFC 6750 JSON responses; the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerResponses;

impl AuthResponses for BearerResponses {}

/// Keeps only RFC 6750 3's `error_description` characters
/// (%x20-21 / %x23-5B / %x5D-7E) and at most 200 of them.
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            '"' | '\\' => '\'',
            _ => '?',
        })
        .take(200)
        .collect()
}

/// The RFC 6750 status, challenge and JSON body for a rejection.
pub fn bearer_response(rejection: &AuthRejection) -> Response {
    let description = sanitize_description(&rejection.to_string());
    let (status, challenge, error) = match rejection {
        AuthRejection::MissingToken => (StatusCode::UNAUTHORIZED, "Bearer".to_owned(), None),
        AuthRejection::MalformedRequest(_) => (
            StatusCode::BAD_REQUEST,
            format!(r#"Bearer error="invalid_request", error_description="{description}""#),
            Some("invalid_request"),
        ),
        AuthRejection::InvalidToken(_) => (
            StatusCode::UNAUTHORIZED,
            format!(r#"Bearer error="invalid_token", error_description="{description}""#),
            Some("invalid_token"),
        ),
        AuthRejection::Forbidden(error) => {
            let scope = match error {
                Error::MissingScope { required, .. } => {
                    format!(r#", scope="{}""#, sanitize_description(&required.join(" ")))
                }
                _ => String::new(),
            };
            (
                StatusCode::FORBIDDEN,
                format!(
                    r#"Bearer error="insufficient_scope", error_description="{description}"{scope}"#
                ),
                Some("insufficient_scope"),
            )
        }
        AuthRejection::CrossSite(why) => {
            // Not a token problem, so no Bearer challenge: the same request
            // from the app's own pages would succeed.
            let body = json!({"error": "cross_site_request", "error_description": why});
            return (
                StatusCode::FORBIDDEN,
                [(header::CACHE_CONTROL, "no-store")],
                Json(body),
            )
                .into_response();
        }
        AuthRejection::Upstream(error) => {
            tracing::error!(%error, "authentication failed closed: the issuer is unavailable");
            let status = match error {
                Error::Transport { .. } | Error::KeysUnavailable(_) | Error::Discovery(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            let body = json!({
                "error": "temporarily_unavailable",
                "error_description": "the identity provider could not be used to check this request",
            });
            return (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
        }
    };
    let body = match error {
        Some(error) => json!({"error": error, "error_description": description}),
        None => json!({"error_description": description}),
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TokenError;

    #[test]
    fn descriptions_stay_inside_the_rfc6750_charset() {
        assert_eq!(sanitize_description("a\"b\\c\nd\u{e9}"), "a'b'c?d?");
        assert_eq!(sanitize_description(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn challenges_follow_rfc6750() {
        let missing = bearer_response(&AuthRejection::MissingToken);
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(missing.headers()[header::WWW_AUTHENTICATE], "Bearer");

        let invalid = bearer_response(&AuthRejection::InvalidToken(Error::AccessTokenInvalid(
            TokenError::BadSignature,
        )));
        assert_eq!(
            invalid.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token", error_description="access token invalid: signature verification failed""#
        );

        let forbidden = bearer_response(&AuthRejection::Forbidden(Error::MissingScope {
            missing: vec!["write".into()],
            required: vec!["read".into(), "write".into()],
        }));
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let challenge = forbidden.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.starts_with(r#"Bearer error="insufficient_scope""#));
        assert!(challenge.ends_with(r#"scope="read write""#));

        let cross_site = bearer_response(&AuthRejection::CrossSite("from another site"));
        assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
        assert!(!cross_site.headers().contains_key(header::WWW_AUTHENTICATE));

        let upstream = bearer_response(&AuthRejection::Upstream(Error::KeysUnavailable(
            "down".into(),
        )));
        assert_eq!(upstream.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
