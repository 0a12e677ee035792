//! A bounded log of what clients sent, for assertions in tests ("the client sent
//! `grant_type=refresh_token` with Basic authentication"): method, path, query and form
//! parameters, the kind of credentials, and the status answered.
//!
//! Secrets never enter it: client secrets, codes, verifiers, tokens and assertions are replaced
//! by `[redacted]` when an entry is recorded, and of the `Authorization` header only the scheme
//! (and, for Basic, the client id) is kept. It is a ring buffer: past its capacity the oldest
//! entry goes, and entries older than [`MAX_AGE`] by the issuer's clock go as new ones arrive.
//! Each entry is bounded too: at most [`MAX_LOGGED_PARAMS`] parameters per part, values and
//! paths cut at [`MAX_LOGGED_BYTES`], so the log's memory has a ceiling however large the
//! requests.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::ser::SerializeMap as _;

use crate::endpoints::Endpoint;
use crate::params::Params;
use crate::state::lock;

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 1000;

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";

/// Entries older than this (seconds, by the issuer's clock) are dropped as new ones arrive.
pub const MAX_AGE: u64 = 24 * 3600;

/// Parameters kept per query or form of one entry.
pub const MAX_LOGGED_PARAMS: usize = 64;

/// Bytes kept of a parameter value or a path; longer ones end in [`TRUNCATED`].
pub const MAX_LOGGED_BYTES: usize = 1024;

/// Appended to a value cut at [`MAX_LOGGED_BYTES`].
pub const TRUNCATED: &str = "...[truncated]";

/// `text`, cut at [`MAX_LOGGED_BYTES`] on a character boundary.
pub(crate) fn bounded(text: &str) -> String {
    if text.len() <= MAX_LOGGED_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_LOGGED_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED}", &text[..end])
}

/// Parameters whose values are credentials or grants (RFC 6749 2.3.1, 4.1.3, 6; RFC 7636 4.5;
/// RFC 7009 2.1; RFC 7521 4.2; RFC 8693 2.1; RP-Initiated Logout 2), plus the login page's
/// one-time interaction id.
const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "id_token_hint",
    "token",
    "assertion",
    "client_assertion",
    "subject_token",
    "actor_token",
    "device_code",
    "password",
    // What lets a browser answer the issuer's own pages: the login page's interaction and form
    // token, the logout question's confirmation.
    "interaction",
    "form_token",
    "confirmation",
];

/// Parameters in the order sent, secrets redacted. Serialised as a JSON object; a name sent
/// twice keeps its first value, and [`RecordedRequest::duplicated`] names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggedParams(Vec<(String, String)>);

impl LoggedParams {
    /// Copies `params`, redacting secrets; at most [`MAX_LOGGED_PARAMS`] of them, each cut
    /// at [`MAX_LOGGED_BYTES`].
    pub fn redacted(params: &Params) -> Self {
        Self(
            params
                .iter()
                .take(MAX_LOGGED_PARAMS)
                .map(|(name, value)| {
                    let value = if SECRET_PARAMS.contains(&name) {
                        REDACTED.to_owned()
                    } else {
                        bounded(value)
                    };
                    (bounded(name), value)
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for LoggedParams {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// One request as the issuer saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// Increases by one per request, from 1; survives [`Issuer::clear_requests`](crate::Issuer::clear_requests).
    pub seq: u64,
    /// Unix time by the issuer's clock.
    pub at: u64,
    pub method: String,
    /// Relative to the issuer URL.
    pub path: String,
    /// `None` for a path that is no endpoint (a client calling `/token` instead of
    /// `/api/token` shows up here).
    pub endpoint: Option<Endpoint>,
    pub query: LoggedParams,
    /// Parameters of an `application/x-www-form-urlencoded` body.
    pub form: LoggedParams,
    /// Parameter names sent more than once, in the query or the body.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicated: Vec<String>,
    /// `Basic CLIENT_ID:[redacted]`, `Bearer [redacted]`, or `SCHEME [redacted]`.
    pub authorization: Option<String>,
    /// The status answered; `None` when a scripted fault closed the connection.
    pub status: Option<u16>,
    /// The scripted fault that answered instead of the endpoint, if any.
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// A parameter from the form body, else from the query.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).or_else(|| self.query.get(name))
    }
}

/// The scheme of an `Authorization` header, and for Basic the client id (not a secret, and
/// what a test wants to assert), never the credentials.
pub(crate) fn describe_authorization(value: &HeaderValue) -> String {
    let Ok(value) = value.to_str() else {
        return REDACTED.to_owned();
    };
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let client_id = STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|pair| pair.split_once(':').map(|(id, _)| id.to_owned()))
            .map(|id| {
                // RFC 6749 2.3.1: the id is form-urlencoded inside the Basic credentials.
                form_urlencoded::parse(format!("id={id}").as_bytes())
                    .next()
                    .map(|(_, id)| id.into_owned())
                    .unwrap_or_default()
            });
        return match client_id {
            Some(id) => format!("{scheme} {id}:{REDACTED}"),
            None => format!("{scheme} {REDACTED}"),
        };
    }
    format!("{scheme} {REDACTED}")
}

/// The ring buffer.
#[derive(Debug)]
pub(crate) struct RequestLog {
    capacity: usize,
    seq: AtomicU64,
    entries: Mutex<VecDeque<RecordedRequest>>,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seq: AtomicU64::new(0),
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(DEFAULT_CAPACITY))),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records an entry, giving it the next sequence number; drops the oldest past the
    /// capacity and those older than [`MAX_AGE`].
    pub fn record(&self, mut entry: RecordedRequest) {
        if !self.is_enabled() {
            return;
        }
        entry.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut entries = lock(&self.entries);
        while entries.len() >= self.capacity
            || entries
                .front()
                .is_some_and(|oldest| oldest.at.saturating_add(MAX_AGE) <= entry.at)
        {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// How many entries are kept now.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Every entry kept, oldest first.
    pub fn entries(&self) -> Vec<RecordedRequest> {
        lock(&self.entries).iter().cloned().collect()
    }

    /// The entries of one endpoint, oldest first.
    pub fn entries_for(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        lock(&self.entries)
            .iter()
            .filter(|entry| entry.endpoint == Some(endpoint))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        lock(&self.entries).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> RecordedRequest {
        RecordedRequest {
            seq: 0,
            at: 0,
            method: "GET".into(),
            path: path.into(),
            endpoint: Endpoint::from_path(path),
            query: LoggedParams::default(),
            form: LoggedParams::default(),
            duplicated: Vec::new(),
            authorization: None,
            status: Some(200),
            fault: None,
        }
    }

    #[test]
    fn the_buffer_keeps_the_newest_entries_up_to_its_capacity() {
        let log = RequestLog::new(2);
        for path in ["/authorize", "/api/token", "/api/userinfo"] {
            log.record(entry(path));
        }
        let kept = log.entries();
        assert_eq!(
            kept.iter()
                .map(|e| (e.seq, e.path.as_str()))
                .collect::<Vec<_>>(),
            [(2, "/api/token"), (3, "/api/userinfo")]
        );
        assert_eq!(log.entries_for(Endpoint::Token).len(), 1);
        log.clear();
        assert!(log.entries().is_empty());
        let off = RequestLog::new(0);
        off.record(entry("/api/token"));
        assert!(!off.is_enabled() && off.entries().is_empty());
    }

    #[test]
    fn old_entries_expire_and_large_values_are_cut() {
        let log = RequestLog::new(10);
        let mut old = entry("/authorize");
        old.at = 1_000;
        log.record(old);
        let mut recent = entry("/api/token");
        recent.at = 1_000 + MAX_AGE - 1;
        log.record(recent);
        assert_eq!(log.len(), 2, "not yet a day apart");
        let mut new = entry("/api/userinfo");
        new.at = 1_000 + MAX_AGE;
        log.record(new);
        let paths: Vec<String> = log.entries().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["/api/token", "/api/userinfo"]);

        let many: String = (0..500).map(|i| format!("p{i}=1&")).collect();
        let huge = format!("state={}&{many}", "é".repeat(4000));
        let logged = LoggedParams::redacted(&Params::parse(huge.as_bytes()));
        assert_eq!(logged.iter().count(), MAX_LOGGED_PARAMS);
        let state = logged.get("state").unwrap();
        assert!(state.ends_with(TRUNCATED), "{state}");
        assert!(state.len() <= MAX_LOGGED_BYTES + TRUNCATED.len());
    }

    #[test]
    fn secrets_are_redacted_on_insertion() {
        let params = Params::parse(
            b"grant_type=authorization_code&code=abc&client_secret=s3&code_verifier=v&scope=read",
        );
        let logged = LoggedParams::redacted(&params);
        assert_eq!(logged.get("grant_type"), Some("authorization_code"));
        assert_eq!(logged.get("scope"), Some("read"));
        for secret in ["code", "client_secret", "code_verifier"] {
            assert_eq!(logged.get(secret), Some(REDACTED));
        }
        let json = serde_json::to_string(&logged).unwrap();
        assert!(!json.contains("abc") && !json.contains("s3"), "{json}");
    }

    #[test]
    fn only_the_scheme_and_basic_client_id_of_credentials_are_kept() {
        let basic = HeaderValue::from_static("Basic Zm9yZ2Utd2ViOmZvcmdlLXdlYi1zZWNyZXQ=");
        assert_eq!(describe_authorization(&basic), "Basic forge-web:[redacted]");
        let bearer = HeaderValue::from_static("Bearer eyJhbGciOi.x.y");
        assert_eq!(describe_authorization(&bearer), "Bearer [redacted]");
        let garbage = HeaderValue::from_static("Basic !!!");
        assert_eq!(describe_authorization(&garbage), "Basic [redacted]");
    }
}
