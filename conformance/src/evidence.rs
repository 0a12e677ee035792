//! What a row sent and what came back, kept while the row runs so that `check --report` can
//! show a developer each case that did not pass: the case, the token (decoded), the status,
//! the headers and the body.
//!
//! A row runs inside [`scoped`]. Every request the harness sends to the application is
//! [`record`]ed as the row's last exchange; a case that is noted ([`note`]) or that ends the
//! row keeps that exchange with its message. Only the last exchange and at most
//! [`MAX_KEPT`] findings are held, so a row of a thousand requests costs one.

use std::cell::RefCell;
use std::future::Future;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderMap;

/// At most this many findings are kept per row; more are counted, not kept.
pub const MAX_KEPT: usize = 32;
/// A body is kept up to this many bytes (cut on a character boundary).
pub const MAX_BODY: usize = 2048;
/// A sent credential is kept up to this many bytes.
pub const MAX_CREDENTIAL: usize = 4096;
/// A URL or a header value is kept up to this many bytes.
pub const MAX_LINE: usize = 2048;

/// One request to the application and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// `GET`, `POST`.
    pub method: String,
    /// The URL asked for.
    pub url: String,
    /// The `Authorization` header sent, if any (cut to [`MAX_CREDENTIAL`]).
    pub authorization: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// The answer's headers, in order.
    pub headers: Vec<(String, String)>,
    /// The answer's body, cut to [`MAX_BODY`].
    pub body: String,
}

impl Exchange {
    /// An exchange from its parts; long values are cut here, once.
    pub fn new(
        method: &str,
        url: &str,
        authorization: Option<&str>,
        status: u16,
        headers: &HeaderMap,
        body: &str,
    ) -> Self {
        Self {
            method: method.to_owned(),
            url: cut(url, MAX_LINE),
            authorization: authorization.map(|value| cut(value, MAX_CREDENTIAL)),
            status,
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        cut(&String::from_utf8_lossy(value.as_bytes()), MAX_LINE),
                    )
                })
                .collect(),
            body: cut(body, MAX_BODY),
        }
        .headers_capped()
    }

    /// At most 64 headers: a hostile app's thousand `Set-Cookie` lines are counted, not kept.
    fn headers_capped(mut self) -> Self {
        const MAX_HEADERS: usize = 64;
        if self.headers.len() > MAX_HEADERS {
            let more = self.headers.len() - MAX_HEADERS;
            self.headers.truncate(MAX_HEADERS);
            self.headers
                .push(("…".into(), format!("{more} more header(s) not kept")));
        }
        self
    }

    /// The bearer token sent, if the request carried one.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.authorization.as_deref()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

/// A case that did not pass, and the last exchange before it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// What the case found (it names the token's defect).
    pub finding: String,
    /// What was sent and what came back.
    pub exchange: Option<Exchange>,
}

#[derive(Debug, Default)]
struct Log {
    last: Option<Exchange>,
    kept: Vec<Evidence>,
    dropped: usize,
    warnings: Vec<String>,
    failures: Vec<String>,
}

tokio::task_local! {
    static LOG: RefCell<Log>;
}

/// What a row left behind: its warnings, in order, and its evidence.
#[derive(Debug, Default)]
pub struct RowLog {
    /// The refusals not shaped as the RFC says.
    pub warnings: Vec<String>,
    /// The cases that failed while the row went on.
    pub failures: Vec<String>,
    /// The cases that did not pass, with their exchanges.
    pub evidence: Vec<Evidence>,
    /// Findings beyond [`MAX_KEPT`], counted only.
    pub dropped: usize,
}

/// Runs `row` with a fresh log and returns the log with its output.
pub async fn scoped<T>(row: impl Future<Output = T>) -> (T, RowLog) {
    LOG.scope(RefCell::new(Log::default()), async {
        let output = row.await;
        let log = LOG.with(|log| log.take());
        (
            output,
            RowLog {
                warnings: log.warnings,
                failures: log.failures,
                evidence: log.kept,
                dropped: log.dropped,
            },
        )
    })
    .await
}

/// Records an exchange as the row's last one; outside a row, nothing is kept.
pub fn record(exchange: impl FnOnce() -> Exchange) {
    let _ = LOG.try_with(|log| log.borrow_mut().last = Some(exchange()));
}

/// Forgets the row's last exchange: what follows was sent where the log cannot see it
/// (spawned tasks), and must not be shown with an exchange it did not make.
pub fn forget_last() {
    let _ = LOG.try_with(|log| log.borrow_mut().last = None);
}

/// Keeps `finding` with the row's last exchange.
pub fn note(finding: &str) {
    let _ = LOG.try_with(|log| keep(&mut log.borrow_mut(), finding));
}

/// Notes a warning: kept with its exchange, and listed for the row's grade. `false` outside
/// a row, where the caller must report the warning itself.
pub fn warn(message: &str) -> bool {
    listed(message, |log| &mut log.warnings)
}

/// Notes a failed case: kept with its exchange, and listed for the row's grade. `false`
/// outside a row, where the caller must return the failure itself.
pub fn fail(message: &str) -> bool {
    listed(message, |log| &mut log.failures)
}

fn listed(message: &str, list: fn(&mut Log) -> &mut Vec<String>) -> bool {
    LOG.try_with(|log| {
        let mut log = log.borrow_mut();
        keep(&mut log, message);
        list(&mut log).push(message.to_owned());
    })
    .is_ok()
}

fn keep(log: &mut Log, finding: &str) {
    if log.kept.len() < MAX_KEPT {
        let exchange = log.last.clone();
        log.kept.push(Evidence {
            finding: finding.to_owned(),
            exchange,
        });
    } else {
        log.dropped += 1;
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, saying how long it was.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// A compact JWS's header and claims, decoded for a reader: pretty JSON where a part is JSON,
/// or a line saying what it is instead.
pub fn decode_jwt(token: &str) -> (String, String) {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        let shape = format!("not a compact JWS: {} part(s)", parts.len());
        return (shape.clone(), shape);
    }
    (decode_part(parts[0]), decode_part(parts[1]))
}

fn decode_part(part: &str) -> String {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')) else {
        return format!("not base64url ({} characters)", part.len());
    };
    // Duplicate members are kept as sent (D-20): the raw text shows them, a parsed value would not.
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value) if !loses_members(&bytes, &value) => {
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
        }
        _ => cut(&String::from_utf8_lossy(&bytes), MAX_BODY),
    }
}

/// Whether `value`, parsed from `bytes`, lost members: a parsed object keeps one of each name.
fn loses_members(bytes: &[u8], value: &serde_json::Value) -> bool {
    fn count(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Object(map) => map.len() + map.values().map(count).sum::<usize>(),
            serde_json::Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    // Members as written: every `"name":` at the start of a member. A string value that
    // contains `":` can only make this count more, which shows the raw text: still readable.
    let text = String::from_utf8_lossy(bytes);
    let written = text.matches("\":").count();
    written > count(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16) -> Exchange {
        Exchange::new(
            "GET",
            "http://app/x",
            Some("Bearer a.b.c"),
            status,
            &HeaderMap::new(),
            "body",
        )
    }

    #[tokio::test]
    async fn a_finding_keeps_the_last_exchange_and_memory_stays_bounded() {
        let ((), log) = scoped(async {
            note("before any request");
            record(|| exchange(401));
            record(|| exchange(200));
            note("accepted");
            assert!(warn("no challenge"));
            for _ in 0..MAX_KEPT {
                note("again");
            }
        })
        .await;
        assert_eq!(log.evidence.len(), MAX_KEPT);
        assert_eq!(log.dropped, 3);
        assert_eq!(log.evidence[0].exchange, None);
        assert_eq!(
            log.evidence[1].exchange.as_ref().map(|e| e.status),
            Some(200)
        );
        assert_eq!(log.warnings, vec!["no challenge".to_owned()]);
        // Outside a row nothing is kept, and a warning is the caller's to report.
        record(|| exchange(500));
        assert!(!warn("alone"));
    }

    #[tokio::test]
    async fn a_forgotten_exchange_is_shown_with_no_finding() {
        let ((), log) = scoped(async {
            record(|| exchange(200));
            forget_last();
            note("sent where the log cannot see");
        })
        .await;
        assert_eq!(log.evidence[0].exchange, None);
    }

    #[test]
    fn long_values_and_many_headers_are_cut_not_kept() {
        let with_headers = |n: usize| {
            let mut headers = HeaderMap::new();
            for i in 0..n {
                headers.append("set-cookie", format!("c{i}=v").parse().unwrap());
            }
            Exchange::new("GET", "http://app/", None, 200, &headers, "")
        };
        assert_eq!(with_headers(64).headers.len(), 64, "64 are kept whole");
        assert_eq!(with_headers(65).headers.len(), 65, "64 and a count");
        let many = with_headers(66);
        assert_eq!(many.headers.len(), 65);
        assert_eq!(
            many.headers.last(),
            Some(&("…".to_owned(), "2 more header(s) not kept".to_owned()))
        );
        let long = "x".repeat(MAX_LINE + 1);
        let cut = Exchange::new("GET", &long, Some(&long), 200, &HeaderMap::new(), &long);
        assert_eq!(
            cut.url,
            format!("{}… ({} bytes in all)", &long[..MAX_LINE], long.len())
        );
        assert_eq!(
            cut.authorization.as_deref(),
            Some(long.as_str()),
            "under MAX_CREDENTIAL"
        );
        assert!(cut.body.ends_with("bytes in all)"), "over MAX_BODY too");
        assert_eq!(cut.bearer_token(), None, "no Bearer scheme");
    }

    #[test]
    fn tokens_are_decoded_for_the_reader() {
        let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let token = format!(
            "{}.{}.sig",
            part(r#"{"alg":"RS256"}"#),
            part(r#"{"sub":"a","sub":"b"}"#)
        );
        let (header, claims) = decode_jwt(&token);
        assert_eq!(header, "{\n  \"alg\": \"RS256\"\n}");
        assert_eq!(
            claims, r#"{"sub":"a","sub":"b"}"#,
            "duplicates shown as sent"
        );
        // Nested members, in objects and arrays, are no duplicates: pretty-printed.
        let nested = format!(
            "{}.{}.sig",
            part(r#"{"alg":"RS256"}"#),
            part(r#"{"a":{"b":1,"c":2},"d":[{"e":1}]}"#)
        );
        let pretty = "{\n  \"a\": {\n    \"b\": 1,\n    \"c\": 2\n  },\n  \"d\": [\n    {\n      \"e\": 1\n    }\n  ]\n}";
        assert_eq!(decode_jwt(&nested).1, pretty);
        assert_eq!(decode_jwt("a.b").0, "not a compact JWS: 2 part(s)");
        assert!(decode_jwt("*.*.*").0.starts_with("not base64url"));
        // Cut on a character boundary: byte 5 is inside the third "é".
        assert_eq!(cut(&"é".repeat(10), 5), "éé… (20 bytes in all)");
        let long = "é".repeat(MAX_BODY);
        assert!(cut(&long, MAX_BODY).ends_with(&format!("({} bytes in all)", long.len())));
        assert_eq!(
            exchange(200).bearer_token(),
            Some("a.b.c"),
            "the token of a Bearer header"
        );
    }
}
