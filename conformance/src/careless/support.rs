//! Helpers of the careless app: refusals, query parameters, cookies, randomness and responses.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header::{CONTENT_TYPE, COOKIE, HeaderName, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A refused callback or login: its status and the reason its page names.
#[derive(Debug)]
pub(super) struct Failed {
    status: StatusCode,
    reason: String,
}

impl Failed {
    /// The browser's request, or what the issuer sent through it, is unacceptable.
    pub(super) fn bad_request(reason: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
        }
    }

    /// The issuer failed or did not answer: an upstream failure, not a crash.
    pub(super) fn upstream(reason: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            reason: reason.into(),
        }
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let reason = html_escape::encode_text(&self.reason);
        page(
            self.status,
            "login failed",
            &format!("<p>The login failed: {reason}</p><p><a href=\"/\">Home</a></p>"),
        )
    }
}

/// The query parameters in order, duplicates kept.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(query: &str) -> Self {
        Self(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(super) fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(super) fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(key, _)| key == name).count()
    }
}

/// A cookie the browser sent.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// 256 random bits, base64url without padding: ids, state, nonce and PKCE verifier.
pub(super) fn random_token() -> Result<String, Failed> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Failed {
        status: StatusCode::SERVICE_UNAVAILABLE,
        reason: "no random bytes available".into(),
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub(super) fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    set(&mut response, CONTENT_TYPE, "text/html; charset=utf-8");
    response
}

/// A 302 (not axum's 303) to `location`, which the callers built or checked as a header value.
pub(super) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (StatusCode::FOUND, [(LOCATION, location)]).into_response(),
        Err(_) => Failed::bad_request("the redirect target cannot be sent").into_response(),
    }
}

pub(super) fn set(response: &mut Response, name: HeaderName, value: &'static str) {
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

pub(super) fn set_cookie(response: &mut Response, line: &str) {
    if let Ok(value) = HeaderValue::from_str(line) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::careless::{SESSION_COOKIE, TRANSACTION_COOKIE};

    #[test]
    fn cookies_and_params_are_read_without_panicking() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; careless_tx=xyz"));
        headers.append(
            COOKIE,
            HeaderValue::from_static("broken; careless_session=s"),
        );
        assert_eq!(cookie(&headers, TRANSACTION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("s"));
        assert_eq!(cookie(&headers, "missing"), None);
        let params = Params::parse("code=1&code=2&state=%zz&&=x");
        assert_eq!(params.count("code"), 2);
        assert_eq!(params.first("code"), Some("1"));
        assert_eq!(params.first("state"), Some("%zz"));
        assert_eq!(random_token().map(|t| t.len()).ok(), Some(43));
    }
}
