//! Shared helpers for the integration tests: the in-process issuer, token
//! forging with the fixture keys, a JWKS server we control, and a tiny
//! cookie-keeping browser that follows redirects by hand.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use oidc_forge::config::Config;
use oidc_forge::{FixedClock, MockIssuer};
use oidc_forge_client::clock::{Clock, FixedClock as ClientClock};
use oidc_forge_client::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

pub const ALICE: &str = "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21";
pub const BOB: &str = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4";
pub const CLIENT_ID: &str = "forge-web";
pub const CLIENT_SECRET: &str = "forge-web-secret";
/// 2026-01-01T00:00:00Z, the issuer's and client's shared test time.
pub const NOW: u64 = 1_767_225_600;
/// The issuer's default RS256 key id.
pub const ISSUER_KID: &str = "forge-rs256";

pub fn pem(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

pub fn encoding_key(file: &str, alg: Algorithm) -> EncodingKey {
    let pem = pem(file);
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        Algorithm::HS256 => Ok(EncodingKey::from_secret(&pem)),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap_or_else(|error| panic!("{file}: {error}"))
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs any header and claims (given as raw JSON text, so duplicates and odd
/// shapes survive) with a fixture key.
pub fn sign_text(header: &str, claims: &str, key_file: &str, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &encoding_key(key_file, alg), alg)
            .expect("signing with a fixture key");
    format!("{message}.{signature}")
}

pub fn sign(header: &Value, claims: &Value, key_file: &str, alg: Algorithm) -> String {
    sign_text(&header.to_string(), &claims.to_string(), key_file, alg)
}

/// An access token as the issuer would mint it for alice, signed with the
/// issuer's own key (the fixture PEM behind `forge-rs256`).
pub fn access_claims(issuer: &str, now: u64) -> Value {
    json!({
        "iss": issuer, "sub": ALICE, "aud": [CLIENT_ID], "client_id": CLIENT_ID, "azp": CLIENT_ID,
        "exp": now + 300, "iat": now, "jti": "t-1", "scope": "openid read",
        "permissions": ["castles:read"], "acr": "1", "auth_time": now
    })
}

pub fn access_header() -> Value {
    json!({"alg": "RS256", "kid": ISSUER_KID, "typ": "at+jwt"})
}

pub fn forge_access_token(issuer: &str, now: u64) -> String {
    sign(
        &access_header(),
        &access_claims(issuer, now),
        "rs256.pem",
        Algorithm::RS256,
    )
}

pub fn id_claims(issuer: &str, now: u64) -> Value {
    json!({
        "iss": issuer, "sub": ALICE, "aud": [CLIENT_ID], "azp": CLIENT_ID,
        "exp": now + 300, "iat": now, "auth_time": now, "acr": "1", "email": "alice@example.com"
    })
}

pub fn id_header() -> Value {
    json!({"alg": "RS256", "kid": ISSUER_KID, "typ": "JWT"})
}

/// A reqwest client that never follows redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// The default issuer configuration with `edit` applied, started on a random port,
/// on a fixed clock at [`NOW`].
pub async fn start_issuer(edit: impl FnOnce(&mut Config)) -> (MockIssuer, Arc<FixedClock>) {
    let mut config = Config::default();
    edit(&mut config);
    let clock = Arc::new(FixedClock::new(NOW));
    let issuer = MockIssuer::builder()
        .config(config)
        .clock(clock.clone())
        .seed(42)
        .start()
        .await
        .expect("the issuer starts");
    (issuer, clock)
}

/// A client for `forge-web` at `issuer`, on its own fixed clock at [`NOW`].
pub fn client_builder(issuer: &str) -> (ClientBuilder, Arc<ClientClock>) {
    let clock = Arc::new(ClientClock::new(NOW));
    let builder = Client::builder(issuer, CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .clock(clock.clone() as Arc<dyn Clock>)
        .http_client(http());
    (builder, clock)
}

pub fn client(issuer: &str) -> (Client, Arc<ClientClock>) {
    let (builder, clock) = client_builder(issuer);
    (builder.build().expect("client builds"), clock)
}

/// Binds 127.0.0.1:0 and returns the listener with its base URL.
pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    (listener, format!("http://{addr}"))
}

pub fn serve(listener: TcpListener, app: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// Follows the issuer's auto-login: GET the authorization URL, expect a 302
/// to the redirect URI, return its query parameters.
pub async fn authorize(http: &reqwest::Client, url: &str) -> BTreeMap<String, String> {
    let response = http.get(url).send().await.expect("authorize request");
    assert_eq!(
        response.status(),
        302,
        "authorize: {:?}",
        response.text().await
    );
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    url::Url::parse(&location)
        .expect("absolute redirect")
        .query_pairs()
        .into_owned()
        .collect()
}

/// A JWKS + discovery server whose key set the test changes at will.
pub struct KeyServer {
    pub url: String,
    pub keys: Arc<Mutex<Value>>,
    pub jwks_hits: Arc<AtomicUsize>,
}

impl KeyServer {
    pub async fn start(keys: Value) -> Self {
        let (listener, url) = bind().await;
        let keys = Arc::new(Mutex::new(keys));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let discovery = json!({
            "issuer": url,
            "authorization_endpoint": format!("{url}/authorize"),
            "token_endpoint": format!("{url}/token"),
            "jwks_uri": format!("{url}/jwks"),
        });
        let served_keys = keys.clone();
        let hits = jwks_hits.clone();
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/jwks",
                get(move || async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let keys = served_keys.lock().map(|k| k.clone()).unwrap_or_default();
                    axum::Json(keys)
                }),
            );
        serve(listener, app);
        Self {
            url,
            keys,
            jwks_hits,
        }
    }

    pub fn set_keys(&self, keys: Value) {
        *self.keys.lock().expect("keys lock") = keys;
    }

    pub fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

/// The public JWK of a fixture RSA key, with `kid`.
pub fn rsa_jwk(file: &str, kid: &str) -> Value {
    let key = encoding_key(file, Algorithm::RS256);
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk");
    let mut value = serde_json::to_value(jwk).expect("jwk json");
    value["kid"] = json!(kid);
    value["use"] = json!("sig");
    value
}

/// A browser: keeps cookies per name, sends them back, never follows
/// redirects by itself.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: http(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut request = self.http.request(method, url);
        if !self.cookies.is_empty() {
            request = request.header("cookie", self.cookie_header());
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        self.store(&set_cookies);
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|location| {
                if location.starts_with('/') {
                    let base = url::Url::parse(url).expect("url");
                    base.join(location).expect("join").to_string()
                } else {
                    location.to_owned()
                }
            });
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            location,
            set_cookies,
            headers,
            body,
        }
    }

    /// Keeps what `Set-Cookie` lines say.
    fn store(&mut self, set_cookies: &[String]) {
        for line in set_cookies {
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let removed = line.to_ascii_lowercase().contains("max-age=0");
            if removed || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    /// The request headers this browser would send: its cookies.
    pub fn cookie_headers(&self) -> axum::http::HeaderMap {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "cookie",
            self.cookie_header().parse().expect("cookie header"),
        );
        headers
    }

    /// Takes the cookies of a jar an app would send back.
    pub fn absorb(&mut self, jar: &axum_extra::extract::cookie::PrivateCookieJar) {
        use axum::response::IntoResponse as _;
        let response = jar.clone().into_response();
        let lines: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        self.store(&lines);
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.request(reqwest::Method::GET, url, &[]).await
    }

    /// GETs `url` and follows up to `hops` redirects (across app and issuer).
    pub async fn follow(&mut self, url: &str, hops: usize) -> (Page, Vec<String>) {
        let mut visited = vec![url.to_owned()];
        let mut page = self.get(url).await;
        for _ in 0..hops {
            let Some(next) = page.location.clone() else {
                break;
            };
            if !(300..400).contains(&page.status) {
                break;
            }
            visited.push(next.clone());
            page = self.get(&next).await;
        }
        (page, visited)
    }
}

pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect()
}
