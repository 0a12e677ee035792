//! Error responses, one shape per family of endpoints: JSON for the token-style endpoints
//! (RFC 6749 5.2), `WWW-Authenticate: Bearer` for protected resources (RFC 6750 3), and an HTML
//! page for errors that must not be redirected (RFC 6749 4.1.2.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OAuth error answered as JSON with `Cache-Control: no-store` (RFC 6749 5.1, 5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// Set for `invalid_client` (RFC 6749 5.2: 401 carries a challenge).
    pub www_authenticate: Option<&'static str>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: sanitize_description(&description.into()),
            www_authenticate: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// RFC 6749 5.2: 401 with a challenge for the scheme the client tried (Basic).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Basic realm=\"oidc-forge\", charset=\"UTF-8\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// The same error answered with another status: the request limits answer
    /// `invalid_request` with 408, 413 or 414 (RFC 9110 15.5).
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// 503: a store the request needs is full of live entries, or a part of the issuer cannot
    /// serve now (RFC 6749 4.1.2.1's `temporarily_unavailable`, used at the token endpoint too;
    /// RFC 7009 2.2.1: a revocation answered 503 did not happen).
    pub fn temporarily_unavailable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }

    /// 500: the issuer failed (a missing key, an encoding error).
    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, no_store_json(body.to_string())).into_response();
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// JSON body headers for token-endpoint style responses (RFC 6749 5.1: no caching).
/// A request over one of the server's limits: `invalid_request` with the limit's status (413,
/// 414, 408), so that OAuth clients read it as they read any token-endpoint error.
pub fn limit_error(status: StatusCode, description: String) -> Response {
    OAuthError::invalid_request(description)
        .with_status(status)
        .into_response()
}

pub fn no_store_json(body: impl Into<axum::body::Body>) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
        .body(body.into())
        .unwrap_or_default()
}

/// An error of a protected resource (RFC 6750 3): a `Bearer` challenge, and the same in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerError {
    pub status: StatusCode,
    /// `None` when the request carried no token at all (RFC 6750 3.1: no error code then).
    pub error: Option<&'static str>,
    pub description: String,
    /// For `insufficient_scope`: the scope the resource needs.
    pub scope: Option<&'static str>,
}

impl BearerError {
    pub fn missing_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: String::new(),
            scope: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_request"),
            description: sanitize_description(&description.into()),
            scope: None,
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: Some("invalid_token"),
            description: sanitize_description(&description.into()),
            scope: None,
        }
    }

    pub fn insufficient_scope(scope: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: Some("insufficient_scope"),
            description: sanitize_description(&description.into()),
            scope: Some(scope),
        }
    }

    fn challenge(&self) -> String {
        let mut challenge = String::from("Bearer realm=\"oidc-forge\"");
        if let Some(error) = self.error {
            challenge.push_str(&format!(", error=\"{error}\""));
            if !self.description.is_empty() {
                challenge.push_str(&format!(", error_description=\"{}\"", self.description));
            }
        }
        if let Some(scope) = self.scope {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        challenge
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let challenge = HeaderValue::from_str(&self.challenge())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"oidc-forge\""));
        let body = match self.error {
            Some(error) => json!({ "error": error, "error_description": self.description }),
            None => json!({}),
        };
        let mut response = (self.status, no_store_json(body.to_string())).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

/// RFC 6749 4.1.2.1 and 5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E, so
/// anything a request sent that ends up in a description is made safe here.
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_stay_in_the_rfc_charset() {
        assert_eq!(
            sanitize_description("bad \"scope\" \\ é\n"),
            "bad ?scope? ? ??"
        );
    }

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        assert_eq!(
            BearerError::missing_token().challenge(),
            "Bearer realm=\"oidc-forge\""
        );
        let challenge = BearerError::insufficient_scope("openid", "needs openid").challenge();
        assert_eq!(
            challenge,
            "Bearer realm=\"oidc-forge\", error=\"insufficient_scope\", error_description=\"needs openid\", scope=\"openid\""
        );
    }
}
