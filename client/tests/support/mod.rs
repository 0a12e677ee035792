//! Shared helpers for the integration tests: the in-process issuer, token
//! forging with the fixture keys, a JWKS server we control, and a tiny
//! cookie-keeping browser that follows redirects by hand.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use oidc_forge::config::Config;
use oidc_forge::{FixedClock, MockIssuer};
use oidc_forge_client::clock::{Clock, FixedClock as ClientClock};
use oidc_forge_client::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

pub use oidc_forge_testkit::fixtures::RS256_KID as ISSUER_KID;
pub use oidc_forge_testkit::fixtures::{ALICE, BOB, NOW, WEB_CLIENT};

pub use oidc_forge_testkit::serve;

pub const CLIENT_ID: &str = WEB_CLIENT.0;
pub const CLIENT_SECRET: &str = WEB_CLIENT.1;

pub fn pem(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs any header and claims (given as raw JSON text, so duplicates and odd shapes survive)
/// with a fixture key, through the forge's one signer (`sign_raw`): RSA keys under RS256 or
/// any other RSA algorithm, the ES256 and EdDSA keys, or HS256 keyed with the file's bytes.
pub fn sign_text(header: &str, claims: &str, key_file: &str, alg: Algorithm) -> String {
    use oidc_forge::config::SigningAlg;
    use oidc_forge::forge::mint::{RawSigner, RsaVariant, sign_raw};
    let pem = pem(key_file);
    let key = |alg| {
        let text = std::str::from_utf8(&pem).expect("PEM text");
        oidc_forge::SigningKey::from_pem(key_file, alg, text)
            .unwrap_or_else(|error| panic!("{key_file}: {error}"))
    };
    let rsa = |variant| {
        sign_raw(
            header,
            claims,
            RawSigner::RsaVariant(&key(SigningAlg::RS256), variant),
        )
    };
    match alg {
        Algorithm::HS256 => sign_raw(header, claims, RawSigner::Hs256(&pem)),
        Algorithm::RS256 => sign_raw(header, claims, RawSigner::Key(&key(SigningAlg::RS256))),
        Algorithm::ES256 => sign_raw(header, claims, RawSigner::Key(&key(SigningAlg::ES256))),
        Algorithm::EdDSA => sign_raw(header, claims, RawSigner::Key(&key(SigningAlg::EdDSA))),
        Algorithm::RS384 => rsa(RsaVariant::Rs384),
        Algorithm::RS512 => rsa(RsaVariant::Rs512),
        Algorithm::PS256 => rsa(RsaVariant::Ps256),
        Algorithm::PS384 => rsa(RsaVariant::Ps384),
        Algorithm::PS512 => rsa(RsaVariant::Ps512),
        other => panic!("no fixture signer for {other:?}"),
    }
    .expect("signing with a fixture key")
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
    oidc_forge_testkit::bind().await.expect("bind")
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
    let pem = String::from_utf8(pem(file)).expect("PEM text");
    let key = oidc_forge::SigningKey::from_pem(kid, oidc_forge::config::SigningAlg::RS256, &pem)
        .unwrap_or_else(|error| panic!("{file}: {error}"));
    // The issuer's own public JWK of the key: `kty`, `n`, `e`, `use`, `alg` and `kid`.
    key.jwk().clone()
}

/// The test kit's browser (its cookie jar, `browser.cookies`; redirects followed by hand),
/// with pages a test asserts on directly: a request that fails panics.
pub struct Browser(oidc_forge_testkit::Browser);

impl std::ops::Deref for Browser {
    type Target = oidc_forge_testkit::Browser;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Browser {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl From<oidc_forge_testkit::Page> for Page {
    fn from(page: oidc_forge_testkit::Page) -> Self {
        Self {
            status: page.status,
            set_cookies: page.set_cookies().into_iter().map(str::to_owned).collect(),
            location: page.location,
            headers: page.headers,
            body: page.body,
        }
    }
}

impl Browser {
    pub fn new() -> Self {
        Self(oidc_forge_testkit::Browser::with_client(http()))
    }

    pub async fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        extra: &[(&str, &str)],
    ) -> Page {
        let page = self.0.request(method, url, extra, None).await;
        page.expect("request").into()
    }

    /// The request headers this browser would send: its cookies.
    pub fn cookie_headers(&self) -> axum::http::HeaderMap {
        self.0.cookie_headers().expect("cookie header")
    }

    /// Takes the cookies of a jar an app would send back.
    pub fn absorb(&mut self, jar: &axum_extra::extract::cookie::PrivateCookieJar) {
        use axum::response::IntoResponse as _;
        let response = jar.clone().into_response();
        let lines = response.headers().get_all("set-cookie");
        self.0
            .cookies
            .store(lines.iter().filter_map(|v| v.to_str().ok()));
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.request(reqwest::Method::GET, url, &[]).await
    }

    /// GETs `url` and follows up to `hops` redirects (across app and issuer): the last page,
    /// and every URL visited.
    pub async fn follow(&mut self, url: &str, hops: usize) -> (Page, Vec<String>) {
        let mut pages = self.0.follow(url, hops).await.expect("request");
        let visited = pages.iter().map(|page| page.url.clone()).collect();
        let last = pages.pop().expect("the first page");
        (last.into(), visited)
    }
}

pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect()
}
