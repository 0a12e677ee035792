//! A small HTTP/1.1 load generator: keep-alive connections on one thread, request bytes built
//! before the timed phase, and just enough response parsing to find where a response ends.
//!
//! It shares the machine with the server it measures, so every cycle it spends is a cycle the
//! server does not get: no HTTP library, no allocation per request (latencies go into a
//! pre-sized vector), no header map. One `current_thread` runtime drives all connections, the
//! way `wrk -t1` does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Why a connection stopped before its deadline.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
}

/// The requests to send: each one once in order (codes that can be redeemed once), or the
/// same ones round and round.
pub struct Requests {
    all: Vec<Vec<u8>>,
    next: AtomicUsize,
    cycle: bool,
}

impl Requests {
    /// The same request, again and again.
    pub fn repeat(request: Vec<u8>) -> Arc<Self> {
        Arc::new(Self {
            all: vec![request],
            next: AtomicUsize::new(0),
            cycle: true,
        })
    }

    /// Each request once; the load stops when they run out.
    pub fn once_each(all: Vec<Vec<u8>>) -> Arc<Self> {
        Arc::new(Self {
            all,
            next: AtomicUsize::new(0),
            cycle: false,
        })
    }

    fn next(&self) -> Option<&[u8]> {
        if self.cycle {
            return self.all.first().map(Vec::as_slice);
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        self.all.get(index).map(Vec::as_slice)
    }
}

/// What one load phase did.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Latency of each completed request, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Responses whose status was not the expected one.
    pub unexpected_status: u64,
    /// The first unexpected status line and body, to say what went wrong.
    pub first_unexpected: Option<String>,
    /// `Location` headers, when asked for (authorization codes).
    pub locations: Vec<String>,
    pub elapsed: Duration,
}

impl LoadResult {
    pub fn completed(&self) -> usize {
        self.latencies_us.len()
    }

    pub fn per_second(&self) -> f64 {
        self.completed() as f64 / self.elapsed.as_secs_f64()
    }

    fn merge(&mut self, other: LoadResult) {
        self.latencies_us.extend(other.latencies_us);
        self.unexpected_status += other.unexpected_status;
        if self.first_unexpected.is_none() {
            self.first_unexpected = other.first_unexpected;
        }
        self.locations.extend(other.locations);
    }
}

/// One load phase's settings.
#[derive(Clone)]
pub struct Load {
    pub addr: SocketAddr,
    pub connections: usize,
    pub duration: Duration,
    pub expected_status: u16,
    pub capture_location: bool,
}

/// Drives `requests` over `load.connections` keep-alive connections until the duration is
/// over or the requests run out.
pub async fn run(load: &Load, requests: Arc<Requests>) -> Result<LoadResult, LoadError> {
    let start = Instant::now();
    let deadline = start + load.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..load.connections {
        let requests = requests.clone();
        let load = load.clone();
        tasks.spawn(async move { connection(&load, &requests, deadline).await });
    }
    let mut total = LoadResult::default();
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(result)) => total.merge(result),
            Ok(Err(error)) => failure = Some(error),
            Err(join) => failure = Some(LoadError::Malformed(format!("task failed: {join}"))),
        }
    }
    total.elapsed = start.elapsed();
    match failure {
        Some(error) if total.completed() == 0 => Err(error),
        // A connection that failed late (the server closing at the end) still leaves the
        // others' figures valid.
        _ => Ok(total),
    }
}

async fn connection(
    load: &Load,
    requests: &Requests,
    deadline: Instant,
) -> Result<LoadResult, LoadError> {
    let connect = || async {
        let stream = TcpStream::connect(load.addr)
            .await
            .map_err(|source| LoadError::Connect {
                addr: load.addr,
                source,
            })?;
        stream.set_nodelay(true)?;
        Ok::<_, LoadError>(stream)
    };
    let mut stream = connect().await?;
    let expected_per_connection = (load.duration.as_secs_f64() * 20_000.0) as usize;
    let mut result = LoadResult {
        latencies_us: Vec::with_capacity(expected_per_connection.min(1 << 20)),
        ..LoadResult::default()
    };
    let mut buffer = Vec::with_capacity(64 * 1024);
    loop {
        if Instant::now() >= deadline {
            break;
        }
        let Some(request) = requests.next() else {
            break;
        };
        let sent = Instant::now();
        stream.write_all(request).await?;
        let response = read_response(&mut stream, &mut buffer).await?;
        result
            .latencies_us
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        if response.status != load.expected_status {
            result.unexpected_status += 1;
            if result.first_unexpected.is_none() {
                let text = String::from_utf8_lossy(&buffer[..response.total]);
                result.first_unexpected = Some(text.chars().take(600).collect());
            }
        }
        if load.capture_location
            && let Some(location) = header_value(&buffer[..response.head], b"location")
        {
            result
                .locations
                .push(String::from_utf8_lossy(location).into_owned());
        }
        let close = response.close;
        buffer.drain(..response.total);
        if close {
            stream = connect().await?;
            buffer.clear();
        }
    }
    Ok(result)
}

/// Where a response ends in the buffer.
pub struct ResponseEnd {
    pub status: u16,
    /// Length of the head, up to and including the blank line.
    pub head: usize,
    /// Length of head and body.
    pub total: usize,
    /// The server said `Connection: close`.
    pub close: bool,
}

/// Reads one response into `buffer` (which may already hold its start) and says where it ends.
pub async fn read_response(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<ResponseEnd, LoadError> {
    let head = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end + 4;
        }
        fill(stream, buffer).await?;
    };
    let head_bytes = &buffer[..head];
    let status = head_bytes
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| {
            LoadError::Malformed(String::from_utf8_lossy(&head_bytes[..head.min(80)]).into())
        })?;
    let close = header_value(head_bytes, b"connection")
        .is_some_and(|value| value.eq_ignore_ascii_case(b"close"));
    let length = header_value(head_bytes, b"content-length")
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.trim().parse::<usize>().ok());
    let chunked = header_value(head_bytes, b"transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case(b"chunked"));
    let total = match (length, chunked) {
        (_, true) => chunked_end(stream, buffer, head).await?,
        (Some(length), false) => {
            while buffer.len() < head + length {
                fill(stream, buffer).await?;
            }
            head + length
        }
        // 1xx, 204 and 304 have no body; anything else without a length is not something the
        // issuers under test send on a keep-alive connection.
        (None, false) => head,
    };
    Ok(ResponseEnd {
        status,
        head,
        total,
        close,
    })
}

/// Reads a chunked body to its end (RFC 9112 7.1) and returns the end offset.
async fn chunked_end(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    mut at: usize,
) -> Result<usize, LoadError> {
    loop {
        let line_end = loop {
            if let Some(end) = find(&buffer[at..], b"\r\n") {
                break at + end;
            }
            fill(stream, buffer).await?;
        };
        let size_text = std::str::from_utf8(&buffer[at..line_end])
            .map_err(|_| LoadError::Malformed("chunk size is not text".into()))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| LoadError::Malformed(format!("chunk size {size_text:?}")))?;
        at = line_end + 2;
        if size == 0 {
            // No trailers from the servers under test: the last chunk ends with one CRLF.
            while buffer.len() < at + 2 {
                fill(stream, buffer).await?;
            }
            return Ok(at + 2);
        }
        while buffer.len() < at + size + 2 {
            fill(stream, buffer).await?;
        }
        at += size + 2;
    }
}

async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), LoadError> {
    if buffer.capacity() - buffer.len() < 4096 {
        buffer.reserve(16 * 1024);
    }
    let read = stream.read_buf(buffer).await?;
    if read == 0 {
        return Err(LoadError::Malformed(
            "the server closed the connection mid-response".into(),
        ));
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The value of the first header named `name` (lowercase) in a response head.
pub fn header_value<'a>(head: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (field, rest) = line.split_at(colon);
        field
            .eq_ignore_ascii_case(name)
            .then(|| rest[1..].trim_ascii())
    })
}

/// The body of a complete response in `buffer`.
pub fn body<'a>(buffer: &'a [u8], end: &ResponseEnd) -> &'a [u8] {
    &buffer[end.head..end.total]
}

/// Sends one request on a fresh connection and returns (status, head, body): for setup, not
/// for timing.
pub async fn fetch(addr: SocketAddr, request: &[u8]) -> Result<(u16, String, Vec<u8>), LoadError> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|source| LoadError::Connect { addr, source })?;
    stream.write_all(request).await?;
    let mut buffer = Vec::with_capacity(16 * 1024);
    let end = read_response(&mut stream, &mut buffer).await?;
    let head = String::from_utf8_lossy(&buffer[..end.head]).into_owned();
    Ok((end.status, head, body(&buffer, &end).to_vec()))
}

/// Request bytes for a GET.
pub fn get(host: &str, path: &str, extra_headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in extra_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Request bytes for a form POST.
pub fn post_form(host: &str, path: &str, extra_headers: &[(&str, &str)], form: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        form.len()
    );
    for (name, value) in extra_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(form);
    request.into_bytes()
}

/// The p-th percentile (0..=100) of sorted latencies, in microseconds.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive_and_skips_the_status_line() {
        let head =
            b"HTTP/1.1 302 Found\r\nLocation: http://x/cb?code=abc\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            header_value(head, b"location"),
            Some(&b"http://x/cb?code=abc"[..])
        );
        assert_eq!(header_value(head, b"content-length"), Some(&b"0"[..]));
        assert_eq!(header_value(head, b"connection"), None);
    }

    #[test]
    fn percentiles_pick_by_rank() {
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 51);
        assert_eq!(percentile(&sorted, 99.0), 99);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_length_delimited_and_chunked_responses_on_one_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
                      HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                )
                .await
                .unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut buffer = Vec::new();
        let first = read_response(&mut stream, &mut buffer).await.unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(body(&buffer, &first), b"hello");
        buffer.drain(..first.total);
        let second = read_response(&mut stream, &mut buffer).await.unwrap();
        assert_eq!(second.status, 201);
        assert_eq!(second.total, buffer.len());
    }
}
