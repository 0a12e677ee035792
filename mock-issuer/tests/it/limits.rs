//! Bounded resources: every request limit is answered with a clear error and the connection
//! survives or closes cleanly, never a crash or a hang (RFC 9110 15.5.9 408, 15.5.14 413,
//! 15.5.15 414, RFC 6585 5 431; the bodies are RFC 6749 5.2 JSON errors where the issuer writes
//! them); the stores and queues stay within their caps.

use oidc_forge::CodeStatus;
use oidc_forge::forge::claims::{ClaimsError, MAX_QUEUED};
use oidc_forge::internals::{
    BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT, MAX_BEARER_TOKEN_BYTES, MAX_BODY_BYTES,
    MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES,
};
use oidc_forge::internals::{CodeGrant, Login, limits};
use oidc_forge::{MockIssuer, Timeouts};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{ALICE, Answer, BOB, LoginPage, NOW, WEB, start, start_built};

/// Sends raw bytes and reads until the server closes (the requests say `Connection: close`),
/// with a guard far above every timeout so a hang fails instead of blocking the suite.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_until_closed(&mut stream).await
}

async fn read_until_closed(stream: &mut TcpStream) -> String {
    let guard = HEADER_READ_TIMEOUT.max(BODY_READ_TIMEOUT) * 6;
    read_until_closed_within(stream, guard).await
}

async fn read_until_closed_within(stream: &mut TcpStream, guard: std::time::Duration) -> String {
    let mut response = Vec::new();
    let read = tokio::time::timeout(guard, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    String::from_utf8_lossy(&response).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

fn json_body_of(response: &str) -> Value {
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

fn assert_invalid_request(body: &Value, needle: &str) {
    assert_eq!(body["error"], "invalid_request", "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(needle),
        "{needle:?} not in {description:?}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_an_oauth_error() {
    let h = start().await;
    let padding = "x".repeat(MAX_BODY_BYTES);
    let answer = Answer::read(
        h.http
            .post(h.url("/api/token"))
            .basic_auth(WEB.0, Some(WEB.1))
            .form(&[("grant_type", "client_credentials"), ("padding", &padding)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer.assert_oauth_error(413, "invalid_request");
    assert!(
        answer.json()["error_description"]
            .as_str()
            .unwrap()
            .contains(&MAX_BODY_BYTES.to_string()),
        "{}",
        answer.body
    );
    // An announced length is refused before the body is read, and named.
    let announced = "grant_type=client_credentials&padding=".len() + padding.len();
    assert!(
        answer
            .body
            .contains(&format!("this one is {announced} bytes")),
        "{}",
        answer.body
    );
    // The same request within the limit works: the limit is the only reason.
    let answer = h
        .token(&[("grant_type", "client_credentials")], Some(WEB))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read() {
    let h = start().await;
    let form = "grant_type=client_credentials&padding=";
    let body = format!("{form}{}", "x".repeat(MAX_BODY_BYTES - form.len()));
    assert_eq!(body.len(), MAX_BODY_BYTES);
    let answer = Answer::read(
        h.http
            .post(h.url("/api/token"))
            .basic_auth(WEB.0, Some(WEB.1))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_chunked_body_without_length_is_cut_at_the_limit_too() {
    let h = start().await;
    let chunk = "a".repeat(8 * 1024);
    let mut request = String::from(
        "POST /introspect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..(MAX_BODY_BYTES / chunk.len() + 2) {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let response = raw_exchange(h.issuer.local_addr(), request.as_bytes()).await;
    assert_eq!(status_of(&response), 413, "{response}");
    assert_invalid_request(&json_body_of(&response), "limited to");
}

/// The same with the request log off: the server's limit alone holds, however the body is cut
/// into frames (the log, when on, reads bodies under the same limit).
#[tokio::test]
async fn a_chunked_body_is_cut_at_the_limit_with_the_request_log_off() {
    let h = crate::support::start_built(MockIssuer::builder().request_log_capacity(0)).await;
    let chunk = "a".repeat(1024);
    let mut request = String::from(
        "POST /introspect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..(MAX_BODY_BYTES / chunk.len() + 2) {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let response = raw_exchange(h.issuer.local_addr(), request.as_bytes()).await;
    assert_eq!(status_of(&response), 413, "{response}");
    assert_invalid_request(&json_body_of(&response), "limited to");
}

#[tokio::test]
async fn a_uri_over_the_limit_is_414() {
    let h = start().await;
    let state = "s".repeat(MAX_URI_BYTES);
    let answer = h.authorize(&[("state", &state)]).await;
    answer.assert_oauth_error(414, "invalid_request");
    assert!(
        answer.body.contains("POST"),
        "says what to do: {}",
        answer.body
    );
    // Just under the limit is served (an error page here, for an unrelated reason, is fine:
    // what matters is that the size is accepted).
    let fits = "s".repeat(MAX_URI_BYTES - 400);
    let answer = h.authorize(&[("state", &fits)]).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    // The limit itself is served, one byte more is not.
    for (extra, status) in [(0, 200), (1, 414)] {
        let path = "/.well-known/jwks.json?pad=";
        let target = format!("{path}{}", "p".repeat(MAX_URI_BYTES - path.len() + extra));
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let response = raw_exchange(h.issuer.local_addr(), request.as_bytes()).await;
        assert_eq!(status_of(&response), status, "{} bytes", target.len());
    }
    // Whatever the constant says, the long authorization URLs real apps build (a 4 KiB state,
    // well under browsers' 8 KiB) are served.
    let long_state = "s".repeat(4096);
    let answer = h.authorize(&[("state", &long_state)]).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
}

#[tokio::test]
async fn a_header_section_over_the_limit_is_431() {
    let h = start().await;
    let big = "v".repeat(MAX_HEADER_BYTES);
    let request = format!(
        "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {big}\r\n\r\n"
    );
    let response = raw_exchange(h.issuer.local_addr(), request.as_bytes()).await;
    assert_eq!(status_of(&response), 431, "{response}");

    let mut many = String::new();
    for i in 0..=MAX_HEADERS {
        many.push_str(&format!("X-H{i}: {i}\r\n"));
    }
    let request = format!(
        "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{many}\r\n"
    );
    let response = raw_exchange(h.issuer.local_addr(), request.as_bytes()).await;
    assert_eq!(status_of(&response), 431, "{response}");

    // The issuer is unharmed.
    let answer = h
        .http
        .get(h.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

/// An issuer whose slow-client timeouts are short, so the tests below wait milliseconds, not
/// the default 10 s.
async fn impatient() -> crate::support::Harness {
    crate::support::start_built(
        oidc_forge::MockIssuer::builder().timeouts(Timeouts::uniform(SHORT)),
    )
    .await
}

const SHORT: std::time::Duration = std::time::Duration::from_millis(300);

#[test]
fn the_default_timeouts_are_ten_seconds() {
    assert_eq!(
        Timeouts::default(),
        Timeouts::uniform(std::time::Duration::from_secs(10))
    );
    assert_eq!(
        (HEADER_READ_TIMEOUT, BODY_READ_TIMEOUT),
        (
            Timeouts::default().header_read,
            Timeouts::default().body_read
        )
    );
}

#[tokio::test]
async fn a_body_that_stalls_gets_408() {
    let h = impatient().await;
    let started = std::time::Instant::now();
    let request = "POST /api/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                   Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
                   grant_type=";
    let mut stream = TcpStream::connect(h.issuer.local_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    // ...and never sends the remaining 89 bytes.
    let response = read_until_closed_within(&mut stream, SHORT * 20).await;
    assert_eq!(status_of(&response), 408, "{response}");
    assert_invalid_request(&json_body_of(&response), "did not arrive within 300 ms");
    assert!(started.elapsed() >= SHORT, "not before the timeout");
}

#[tokio::test]
async fn a_header_section_that_stalls_is_disconnected() {
    let h = impatient().await;
    let started = std::time::Instant::now();
    let mut stream = TcpStream::connect(h.issuer.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // No blank line ever comes: hyper's header_read_timeout closes the connection, without
    // an answer (there is no request to answer).
    let response = read_until_closed_within(&mut stream, SHORT * 20).await;
    assert_eq!(response, "", "closed without a response");
    assert!(started.elapsed() >= SHORT, "not before the timeout");
    let answer = h
        .http
        .get(h.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_oversized_bearer_token_is_rejected_with_a_description() {
    let h = start().await;
    let token = "a".repeat(MAX_BEARER_TOKEN_BYTES + 1);
    let answer = h.userinfo(&token).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.json()["error"], "invalid_token");
    let description = answer.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.contains("bytes"), "{description}");
    let challenge = answer.header("www-authenticate");
    assert!(challenge.contains("invalid_token"), "{challenge}");
    assert!(
        description.contains(&format!("is {} bytes", MAX_BEARER_TOKEN_BYTES + 1)),
        "the token's own length, without the scheme: {description}"
    );

    // A token of exactly the limit is not refused for its size (it is refused as a token that is
    // not this issuer's), and neither is one of a few kilobytes.
    for length in [MAX_BEARER_TOKEN_BYTES, 4096] {
        let answer = h.userinfo(&"a".repeat(length)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
        let description = answer.json()["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !description.contains("over the limit"),
            "{length}: {description}"
        );
    }
}

fn code_grant(expires_at: u64) -> CodeGrant {
    CodeGrant {
        client_id: "forge-web".into(),
        redirect_uri: None,
        delivered_to: "http://localhost:8000/auth-callback".into(),
        scopes: vec!["openid".into()],
        nonce: None,
        pkce: None,
        login: Login {
            sub: ALICE.into(),
            auth_time: NOW,
            acr: "0",
            sid: None,
        },
        expires_at,
        redeemed: None,
    }
}

#[tokio::test]
async fn the_code_store_drops_expired_codes_and_refuses_past_its_cap_of_live_ones() {
    let h = start().await;
    let state = h.issuer.state();
    // Half the store expires in a minute, the other half later.
    for i in 0..limits::CODES / 2 {
        state
            .codes()
            .insert(&format!("old-{i}"), code_grant(NOW + 60), NOW)
            .unwrap();
    }
    for i in 0..limits::CODES / 2 {
        state
            .codes()
            .insert(&format!("new-{i}"), code_grant(NOW + 600), NOW)
            .unwrap();
    }
    assert_eq!(state.store_sizes().codes, limits::CODES);
    // Full of live codes: the next one is refused, and nothing is forgotten.
    let full = state
        .codes()
        .insert("one-too-many", code_grant(NOW + 600), NOW);
    assert!(full.is_err(), "{full:?}");
    // Two minutes on, a new code makes the expired half go, nothing live.
    h.clock.advance(120);
    state
        .codes()
        .insert("fresh", code_grant(NOW + 720), NOW + 120)
        .unwrap();
    let sizes = state.store_sizes();
    assert_eq!(sizes.codes, limits::CODES / 2 + 1, "{sizes:?}");
    assert_eq!((sizes.evicted, sizes.refused), (0, 1), "{sizes:?}");
    let held = |code: &str| state.codes().status(code) != CodeStatus::Unknown;
    assert!(held("new-0") && held("fresh"));
    assert!(!held("old-0") && !held("one-too-many"));
}

#[tokio::test]
async fn sessions_expire_so_prompt_none_then_needs_a_login() {
    let h = start().await;
    let first = h.authorize(&[]).await;
    let cookie = first
        .cookie(oidc_forge::internals::SESSION_COOKIE)
        .expect("a session cookie");
    let reused = h
        .authorize_with_cookie(&[("prompt", "none")], Some(&cookie))
        .await;
    assert!(reused.location_params().contains_key("code"), "{reused:?}");
    h.clock.advance(limits::SESSION_LIFETIME);
    let expired = h
        .authorize_with_cookie(&[("prompt", "none")], Some(&cookie))
        .await;
    // Core 3.1.2.6: no session, no interaction allowed.
    expired.assert_redirected_error("login_required", Some("state-1"), h.issuer.url());
}

#[tokio::test]
async fn the_claims_queue_is_capped_with_a_clear_error() {
    let h = start().await;
    for i in 0..MAX_QUEUED {
        h.issuer.queue_claims(json!({ "n": i })).unwrap();
    }
    let refused = h.issuer.queue_claims(json!({ "n": "one too many" }));
    assert_eq!(refused, Err(ClaimsError::QueueFull(MAX_QUEUED)));
    let answer = h
        .admin(
            reqwest::Method::POST,
            "/claims/queue",
            Some(json!({ "claims": { "n": 0 } })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.body.contains("queue is full"), "{}", answer.body);
    // A token response takes one entry and makes room for one.
    let answer = h
        .token(&[("grant_type", "client_credentials")], Some(WEB))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    h.issuer.queue_claims(json!({ "n": "fits again" })).unwrap();
}

/// The stores that evict when full (login pages, sessions, refresh grants) are counted in one
/// total, each of them.
#[tokio::test]
async fn evictions_are_counted_in_every_store_that_evicts() {
    let mut config = oidc_forge::Config::default();
    config.login.mode = oidc_forge::config::LoginMode::Interactive;
    let h = start_built(
        oidc_forge::MockIssuer::builder()
            .config(config)
            .store_limits(oidc_forge::StoreLimits::uniform(1)),
    )
    .await;
    let sign_in = || async {
        let page = LoginPage::of(&h.authorize(&[]).await);
        let answer = h.decide(&page, &[("user", BOB)], &[]).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
        let code = answer.location_params()["code"].clone();
        let tokens = h.redeem(&code).await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    };
    // A page nobody answers, pushed out by the next one (a login page evicted).
    LoginPage::of(&h.authorize(&[]).await);
    sign_in().await;
    // Past the code's life, so that the one-code store takes the next code.
    h.clock.advance(300);
    // Another browser's login: its session and refresh grant push out the first ones.
    sign_in().await;
    let sizes = h.issuer.state().store_sizes();
    assert_eq!(
        (sizes.sessions, sizes.refresh_tokens, sizes.evicted),
        (1, 1, 3),
        "{sizes:?}"
    );
}
