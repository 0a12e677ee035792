//! A deliberately careless web app: the harness's proof that `check --web` finds real holes.
//!
//! This is an axum app that runs the OpenID Connect authorization-code flow by hand, against
//! any issuer, correctly in every way but four deliberate defects:
//!
//! - **(a)** it sends `state` but never compares it at the callback (RFC 6749 10.12): row
//!   C-03 (state mismatched or missing) must WARN, not fail, because the app's PKCE still binds
//!   the code to the browser that started the login (RFC 9700 4.7.1), and for the same reason
//!   row D-26 (login CSRF) passes;
//! - **(b)** it sends a `nonce` but never checks the ID token's (OpenID Core 3.1.3.7 (11)):
//!   row C-09 must fail;
//! - **(c)** `/login?return_to=X` sends the browser to X after login, unchecked: an open
//!   redirect (RFC 9700 4.11.1), row C-18 must fail;
//! - **(d)** a callback carrying `error=...` (`access_denied`, say) answers 500, as an app that
//!   crashes on it would: row C-05 must fail.
//!
//! So the rows that fail against it are C-05, C-09 and C-18.
//!
//! Everything else is right, so that a grader that fails any other row against it is itself
//! wrong: PKCE S256 (RFC 7636), a server-side login transaction behind an `HttpOnly`,
//! `SameSite=Lax` cookie, RFC 9207's `iss` check, `client_secret_basic` (RFC 6749 2.3.1), full
//! ID-token validation against the issuer's JWKS (signature, algorithm, `kid`, `iss`, `aud`,
//! `azp`, `exp`, `iat`, `at_hash`/`c_hash`, through [`oidc_forge_client::validate`]), UserInfo's
//! `sub` compared with the ID token's (Core 5.3.2), a new session id at every login (no
//! fixation), RP-initiated logout with `id_token_hint`, and bounded stores.
//!
//! **It is a test fixture. Never use it as a model for a real application**: each defect above
//! is a vulnerability.
//!
//! Routes: `/` (public), `/protected`, `/login`, `/auth-callback`, `/logout` (GET). Cookies:
//! [`TRANSACTION_COOKIE`] (the login in progress) and [`SESSION_COOKIE`].
//!
//! ```no_run
//! use oidc_forge_conformance::careless::{self, CarelessSettings};
//!
//! # async fn run() -> Result<(), careless::CarelessError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! let settings = CarelessSettings::new("http://127.0.0.1:8080", "http://127.0.0.1:8000");
//! careless::serve(listener, settings).await
//! # }
//! ```

mod issuer;
mod store;
mod support;

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_forge_client::discovery::{ProviderMetadata, check_metadata, discovery_url};
use oidc_forge_client::jsonwebtoken::Algorithm;
use oidc_forge_client::validate::VerifyingKey;
use serde_json::Value;
use tokio::net::TcpListener;
use url::Url;

use self::issuer::{fetch_json, fetch_keys, redeem, userinfo, validate_id_token};
use self::store::Store;
use self::support::{Failed, Params, cookie, page, random_token, redirect, set, set_cookie};

/// The cookie naming the login in progress (its server-side transaction).
pub const TRANSACTION_COOKIE: &str = "careless_tx";
/// The cookie naming the signed-in session.
pub const SESSION_COOKIE: &str = "careless_session";
/// The most login transactions, and separately the most sessions, held at once; the oldest
/// is evicted to make room.
pub const MAX_ENTRIES: usize = 10_000;
/// How long a login may take, from `/login` to the callback.
pub const TRANSACTION_LIFETIME: Duration = Duration::from_secs(600);
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long the issuer has to answer any request.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew allowed on `exp` and `iat`.
pub const LEEWAY_SECONDS: u64 = 60;
/// The longest `return_to` kept: a bound on the transaction store's memory, not a check.
const MAX_RETURN_TO_BYTES: usize = 2048;
/// The algorithms this app verifies, when the issuer publishes them.
const VERIFIED_ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Where the careless app finds its issuer, who it is there, and where it is served.
#[derive(Clone)]
pub struct CarelessSettings {
    /// The issuer identifier; discovery is fetched from it and its `issuer` must equal it.
    pub issuer_url: String,
    /// The client id registered at the issuer.
    pub client_id: String,
    /// The client secret, sent with `client_secret_basic`.
    pub client_secret: String,
    /// The app's own base URL (`http://127.0.0.1:8000`): the redirect URI is
    /// `{app_url}/auth-callback`, the post-logout redirect URI `{app_url}/`, and cookies are
    /// `Secure` when it is `https`.
    pub app_url: String,
}

impl CarelessSettings {
    /// `forge-web` with its secret, a client of the issuer's embedded default configuration
    /// (whose loopback redirect URIs allow any port).
    pub fn new(issuer_url: impl Into<String>, app_url: impl Into<String>) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            client_id: "forge-web".into(),
            client_secret: "forge-web-secret".into(),
            app_url: app_url.into(),
        }
    }
}

impl fmt::Debug for CarelessSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarelessSettings")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("app_url", &self.app_url)
            .finish()
    }
}

/// Why the careless app could not start or serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarelessError {
    /// A setting is unusable.
    #[error("invalid setting: {0}")]
    Settings(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The issuer's discovery document could not be fetched or is unacceptable.
    #[error("discovery at {url}: {reason}")]
    Discovery {
        /// The discovery URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The issuer's JWKS could not be fetched or holds no usable key.
    #[error("JWKS at {url}: {reason}")]
    Jwks {
        /// The `jwks_uri`.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// The careless app's router, with the issuer's discovery document and JWKS fetched once now.
pub async fn router(settings: CarelessSettings) -> Result<Router, CarelessError> {
    let app = App::start(settings).await?;
    Ok(Router::new()
        .route("/", get(home))
        .route("/protected", get(protected))
        .route("/login", get(login))
        .route("/auth-callback", get(callback))
        .route("/logout", get(logout))
        .with_state(Arc::new(app)))
}

/// Serves [`router`] on `listener` until the server fails.
pub async fn serve(listener: TcpListener, settings: CarelessSettings) -> Result<(), CarelessError> {
    let app = router(settings).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

// ------------------------------------------------------------------------------ The app state

/// A login in progress, kept server-side under the transaction cookie's random id.
struct Transaction {
    /// Sent to the issuer, and deliberately never compared at the callback: defect (a).
    #[allow(dead_code)]
    state: String,
    /// Sent to the issuer, and deliberately never compared with the ID token's: defect (b).
    #[allow(dead_code)]
    nonce: String,
    /// The PKCE verifier (RFC 7636 4.1), sent with the code.
    code_verifier: String,
    /// Where the browser goes after login, unchecked: defect (c).
    return_to: String,
}

/// A signed-in browser.
#[derive(Clone)]
struct Session {
    email: String,
    /// The subject, kept with the session though no page shows it.
    #[allow(dead_code)]
    sub: String,
    /// For RP-initiated logout's `id_token_hint`.
    id_token: String,
}

struct App {
    issuer: String,
    client_id: String,
    client_secret: String,
    app_url: String,
    redirect_uri: String,
    secure_cookies: bool,
    authorization_endpoint: Url,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    end_session_endpoint: Option<Url>,
    /// RFC 9207: the issuer says it adds `iss` to its authorization responses.
    iss_parameter: bool,
    jwks_uri: String,
    algorithms: Vec<Algorithm>,
    keys: RwLock<Arc<Vec<VerifyingKey>>>,
    http: reqwest::Client,
    transactions: Store<Transaction>,
    sessions: Store<Session>,
}

impl App {
    async fn start(settings: CarelessSettings) -> Result<Self, CarelessError> {
        let app_url = settings.app_url.trim_end_matches('/').to_owned();
        let parsed = Url::parse(&app_url)
            .map_err(|e| CarelessError::Settings(format!("app_url {app_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CarelessError::Settings(format!(
                "app_url {app_url:?} is not an http(s) URL"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(UPSTREAM_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(CarelessError::HttpClient)?;
        let issuer = settings.issuer_url;
        let url = discovery_url(&issuer);
        let discovery_error = |reason: String| CarelessError::Discovery {
            url: url.clone(),
            reason,
        };
        let document = fetch_json(http.get(&url)).await.map_err(discovery_error)?;
        let metadata: ProviderMetadata = serde_json::from_value(document)
            .map_err(|e| discovery_error(format!("unreadable: {e}")))?;
        check_metadata(&metadata, &issuer).map_err(discovery_error)?;
        let authorization_endpoint = Url::parse(&metadata.authorization_endpoint)
            .map_err(|e| discovery_error(format!("authorization_endpoint: {e}")))?;
        let end_session_endpoint = match &metadata.end_session_endpoint {
            Some(endpoint) => Some(
                Url::parse(endpoint)
                    .map_err(|e| discovery_error(format!("end_session_endpoint: {e}")))?,
            ),
            None => None,
        };
        // Discovery 3: RS256 when the issuer names no algorithm; of those it names, only the
        // ones this app verifies. `none` is never among them.
        let published = &metadata.id_token_signing_alg_values_supported;
        let algorithms: Vec<Algorithm> = VERIFIED_ALGORITHMS
            .into_iter()
            .filter(|alg| {
                let name = oidc_forge_client::validate::algorithm_name(*alg);
                if published.is_empty() {
                    name == "RS256"
                } else {
                    published.iter().any(|p| p == name)
                }
            })
            .collect();
        if algorithms.is_empty() {
            return Err(discovery_error(format!(
                "id_token_signing_alg_values_supported {published:?} names none of RS256, ES256, EdDSA"
            )));
        }
        let keys = fetch_keys(&http, &metadata.jwks_uri)
            .await
            .map_err(|reason| CarelessError::Jwks {
                url: metadata.jwks_uri.clone(),
                reason,
            })?;
        Ok(Self {
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            redirect_uri: format!("{app_url}/auth-callback"),
            secure_cookies: parsed.scheme() == "https",
            app_url,
            authorization_endpoint,
            token_endpoint: metadata.token_endpoint,
            userinfo_endpoint: metadata.userinfo_endpoint,
            end_session_endpoint,
            iss_parameter: metadata.authorization_response_iss_parameter_supported,
            jwks_uri: metadata.jwks_uri,
            algorithms,
            keys: RwLock::new(Arc::new(keys)),
            http,
            transactions: Store::new(TRANSACTION_LIFETIME),
            sessions: Store::new(SESSION_LIFETIME),
            issuer,
        })
    }

    /// A cookie's `Set-Cookie` line: `HttpOnly`, `SameSite=Lax` (a `Strict` transaction
    /// cookie would not come back from the issuer's redirect), `Path=/`, `Secure` over https.
    fn cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut line = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
        if let Some(max_age) = max_age {
            line.push_str(&format!("; Max-Age={max_age}"));
        }
        if self.secure_cookies {
            line.push_str("; Secure");
        }
        line
    }

    fn clear_cookie(&self, name: &str) -> String {
        self.cookie(name, "", Some(0))
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        cookie(headers, SESSION_COOKIE).and_then(|id| self.sessions.get(&id))
    }
}

// ---------------------------------------------------------------------------------- Handlers

async fn home() -> Response {
    page(
        StatusCode::OK,
        "home",
        "<p>This is the home page.</p><p><a href=\"/protected\">Protected page</a></p>",
    )
}

async fn protected(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match app.session(&headers) {
        Some(session) => {
            let email = html_escape::encode_text(&session.email);
            let mut response = page(
                StatusCode::OK,
                "protected",
                &format!("<p>Signed in as {email}</p><p><a href=\"/logout\">Log out</a></p>"),
            );
            set(&mut response, CACHE_CONTROL, "no-store");
            response
        }
        None => redirect("/login?return_to=/protected"),
    }
}

async fn login(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    match start_login(&app, query.as_deref().unwrap_or_default()) {
        Ok(response) => response,
        Err(failed) => failed.into_response(),
    }
}

fn start_login(app: &App, query: &str) -> Result<Response, Failed> {
    let params = Params::parse(query);
    // Defect (c): any return_to at all, absolute or not, is kept and later followed. Only its
    // length is bounded (the store's memory), and it must fit in a Location header.
    let return_to = params
        .first("return_to")
        .filter(|return_to| !return_to.is_empty())
        .unwrap_or("/protected")
        .to_owned();
    if return_to.len() > MAX_RETURN_TO_BYTES {
        return Err(Failed::bad_request(format!(
            "return_to is longer than {MAX_RETURN_TO_BYTES} bytes"
        )));
    }
    if HeaderValue::from_str(&return_to).is_err() {
        return Err(Failed::bad_request(
            "return_to holds characters a Location header cannot carry",
        ));
    }
    let state = random_token()?;
    let nonce = random_token()?;
    let code_verifier = random_token()?;
    // RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))).
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        code_verifier.as_bytes(),
    ));
    let mut authorize = app.authorization_endpoint.clone();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &app.redirect_uri)
        .append_pair("scope", "openid email")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let id = random_token()?;
    app.transactions.insert(
        id.clone(),
        Transaction {
            state,
            nonce,
            code_verifier,
            return_to,
        },
    );
    let mut response = redirect(authorize.as_str());
    set_cookie(
        &mut response,
        &app.cookie(
            TRANSACTION_COOKIE,
            &id,
            Some(TRANSACTION_LIFETIME.as_secs()),
        ),
    );
    set(&mut response, CACHE_CONTROL, "no-store");
    Ok(response)
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default());
    // Defect (d): an error response from the issuer (RFC 6749 4.1.2.1) is not handled, and the
    // app answers as a crash would. (No actual panic: only the status is careless.)
    if params.first("error").is_some() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
    }
    // The transaction is single-use: whatever the outcome, this callback ends it.
    let transaction_cookie = cookie(&headers, TRANSACTION_COOKIE);
    let transaction = transaction_cookie
        .as_deref()
        .and_then(|id| app.transactions.take(id));
    let mut response = match finish_login(&app, &params, transaction).await {
        Ok(signed_in) => {
            let mut response = redirect(&signed_in.return_to);
            match random_token() {
                Ok(id) => {
                    // A new session id at every login, and the browser's previous session
                    // ended: an id planted before login is worth nothing after it.
                    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                        app.sessions.remove(&old);
                    }
                    app.sessions.insert(id.clone(), signed_in.session);
                    set_cookie(&mut response, &app.cookie(SESSION_COOKIE, &id, None));
                    response
                }
                Err(failed) => failed.into_response(),
            }
        }
        Err(failed) => failed.into_response(),
    };
    if transaction_cookie.is_some() {
        set_cookie(&mut response, &app.clear_cookie(TRANSACTION_COOKIE));
    }
    // RFC 9700 4.2.4: the callback URL, with its code, never leaks in a Referer.
    set(&mut response, REFERRER_POLICY, "no-referrer");
    set(&mut response, CACHE_CONTROL, "no-store");
    response
}

/// What a successful callback yields.
struct SignedIn {
    session: Session,
    return_to: String,
}

async fn finish_login(
    app: &App,
    params: &Params,
    transaction: Option<Transaction>,
) -> Result<SignedIn, Failed> {
    // RFC 6749 3.1: a parameter sent twice makes the response ambiguous.
    for name in ["code", "state", "iss"] {
        if params.count(name) > 1 {
            return Err(Failed::bad_request(format!(
                "the callback repeats `{name}` (RFC 6749 3.1)"
            )));
        }
    }
    // RFC 9207 2.4: when the issuer advertises `iss`, it must be there and be the issuer; when
    // present, it must match in any case.
    match params.first("iss") {
        Some(iss) if iss == app.issuer => {}
        Some(_) => {
            return Err(Failed::bad_request(
                "the callback's `iss` names another issuer (RFC 9207 2.4)",
            ));
        }
        None if app.iss_parameter => {
            return Err(Failed::bad_request(
                "the callback lacks the issuer identifier `iss` the issuer advertises (RFC 9207 2.4)",
            ));
        }
        None => {}
    }
    let code = match params.first("code") {
        Some(code) if !code.is_empty() => code,
        _ => {
            return Err(Failed::bad_request(
                "the callback carries neither a code nor an error (RFC 6749 4.1.2)",
            ));
        }
    };
    let transaction =
        transaction.ok_or_else(|| Failed::bad_request("no login in progress in this browser"))?;
    // Defect (a): `transaction.state` is never compared with `params.first("state")`.
    let tokens = redeem(app, code, &transaction.code_verifier).await?;
    // Defect (b): the ID token is validated in full, except for its nonce.
    let claims = validate_id_token(app, &tokens.id_token, &tokens.access_token, code).await?;
    let userinfo = userinfo(app, &tokens.access_token).await?;
    // Core 5.3.2: UserInfo's sub MUST equal the ID token's, else its claims are not the user's.
    if let Some(userinfo) = &userinfo {
        let sub = userinfo.get("sub").and_then(Value::as_str);
        if sub != Some(claims.sub.as_str()) {
            return Err(Failed::bad_request(
                "UserInfo's `sub` differs from the ID token's (OpenID Core 5.3.2)",
            ));
        }
    }
    let email = userinfo
        .as_ref()
        .and_then(|info| info.get("email"))
        .and_then(Value::as_str)
        .or_else(|| claims.email())
        .unwrap_or(&claims.sub)
        .to_owned();
    Ok(SignedIn {
        session: Session {
            email,
            sub: claims.sub,
            id_token: tokens.id_token,
        },
        return_to: transaction.return_to,
    })
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let session = cookie(&headers, SESSION_COOKIE).and_then(|id| app.sessions.take(&id));
    let location = match &app.end_session_endpoint {
        // OpenID RP-Initiated Logout 1.0 2: the hint, the registered post-logout URI and the
        // client id.
        Some(endpoint) => {
            let mut url = endpoint.clone();
            {
                let mut query = url.query_pairs_mut();
                if let Some(session) = &session {
                    query.append_pair("id_token_hint", &session.id_token);
                }
                query
                    .append_pair("post_logout_redirect_uri", &format!("{}/", app.app_url))
                    .append_pair("client_id", &app.client_id);
            }
            url.to_string()
        }
        None => "/".to_owned(),
    };
    let mut response = redirect(&location);
    set_cookie(&mut response, &app.clear_cookie(SESSION_COOKIE));
    set(&mut response, CACHE_CONTROL, "no-store");
    response
}
