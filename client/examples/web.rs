//! The web example: the Fief Flask/FastAPI "Web application example" and
//! "Caching user information" pages (seeds 000, 001, 002) in axum.
//!
//! Unauthenticated visitors of `/protected` are sent to the issuer's login
//! and come back to the page they asked for; the session lives in an
//! encrypted HttpOnly cookie; the user's UserInfo is cached in memory. A
//! refresh token is kept too (`offline_access`), for
//! [`WebFlow::refresh_session`]. `POST /castles/claim` is a state-changing
//! route: the session cookie is only honoured on it from this app's own pages.
//!
//! ```text
//! cargo run -p oidc-forge -- serve                      # issuer on http://127.0.0.1:9000
//! cargo run -p oidc-forge-client --example web          # app on http://localhost:8000
//! # open http://localhost:8000/protected
//! ```
//!
//! Settings: `OIDC_ISSUER` (default `http://127.0.0.1:9000`), `OIDC_CLIENT_ID`
//! (`forge-web`), `OIDC_CLIENT_SECRET` (`forge-web-secret`), `APP_URL`
//! (`http://localhost:8000`, whose `/auth-callback` the default issuer
//! configuration registers), `COOKIE_KEY` (64+ bytes, base64; random if unset,
//! so sessions end with the process), `SECURE_COOKIES` (`true` in production).

use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};
use base64::Engine as _;
use oidc_forge_client::axum::web::deny_framing;
use oidc_forge_client::axum::{CurrentUser, Key, WebFlow};
use oidc_forge_client::{Client, Error, Requirements};

/// Where the issuer is, who this app is and where it is served.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, if any.
    pub client_secret: Option<String>,
    /// This app's external origin.
    pub app_url: String,
    /// Whether cookies are `Secure` (and `__Host-` prefixed).
    pub secure_cookies: bool,
    /// The cookie encryption key, base64 (64+ bytes decoded); random if `None`.
    pub cookie_key: Option<String>,
}

impl Settings {
    /// Reads the environment, defaulting to `oidc-forge serve`'s default configuration.
    pub fn from_env() -> Self {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        Self {
            issuer: var("OIDC_ISSUER", "http://127.0.0.1:9000"),
            client_id: var("OIDC_CLIENT_ID", "forge-web"),
            client_secret: Some(var("OIDC_CLIENT_SECRET", "forge-web-secret")),
            app_url: var("APP_URL", "http://localhost:8000"),
            secure_cookies: var("SECURE_COOKIES", "false") == "true",
            cookie_key: std::env::var("COOKIE_KEY").ok(),
        }
    }
}

/// Reads a base64 cookie key, or makes a random one.
pub fn cookie_key(encoded: Option<&str>) -> Result<Key, Error> {
    match encoded {
        None => Ok(Key::generate()),
        Some(encoded) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|error| {
                    Error::Configuration(format!("COOKIE_KEY is not base64: {error}"))
                })?;
            Key::try_from(bytes.as_slice()).map_err(|_| {
                Error::Configuration("COOKIE_KEY must decode to at least 64 bytes".into())
            })
        }
    }
}

/// The login/callback/logout flow for these settings, using `client`.
pub fn flow(settings: &Settings, client: Client) -> Result<WebFlow, Error> {
    WebFlow::builder(
        client,
        cookie_key(settings.cookie_key.as_deref())?,
        settings.app_url.clone(),
    )
    .secure_cookies(settings.secure_cookies)
    .scopes(["openid", "profile", "email", "offline_access"])
    .build()
}

/// Builds the client from the settings.
pub fn client(settings: &Settings) -> Result<Client, Error> {
    Client::new(
        settings.issuer.clone(),
        settings.client_id.clone(),
        settings.client_secret.clone(),
    )
}

/// The app: the seeds' `/protected`, plus a home page with the optional user,
/// a permission-guarded page, and a page that always refreshes the UserInfo.
pub fn app(flow: WebFlow) -> Router {
    let auth = flow.auth();
    Router::new()
        .route("/", get(home))
        // @auth.current_user()
        .route("/protected", get(protected))
        // @auth.current_user(permissions=["castles:read"])
        .route(
            "/castles",
            get(protected).route_layer(
                auth.require(Requirements::new().permissions(["castles:read"]))
                    .with_user(),
            ),
        )
        // auth.current_user(refresh=True)
        .route(
            "/protected-fresh",
            get(protected).route_layer(auth.require(Requirements::new()).refresh_user()),
        )
        // A form post that changes something: cross-site posts get 403 (C-16).
        .route(
            "/castles/claim",
            post(claim_castle).route_layer(
                auth.require(Requirements::new().permissions(["castles:write"]))
                    .with_user(),
            ),
        )
        .merge(flow.router())
        // Its pages act on a click: no other page may frame them.
        .layer(axum::middleware::map_response(deny_framing))
        .with_state(auth)
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

async fn protected(CurrentUser(user): CurrentUser) -> Html<String> {
    Html(format!(
        "<h1>You are authenticated. Your user email is {}</h1>\
         <form method=\"post\" action=\"/castles/claim\"><button>Claim a castle</button></form>\
         <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
        escape(user.email().unwrap_or("(no email released)"))
    ))
}

async fn claim_castle(CurrentUser(user): CurrentUser) -> Html<String> {
    Html(format!(
        "<h1>Castle claimed by {}</h1>",
        escape(user.email().unwrap_or(user.sub()))
    ))
}

// @auth.current_user(optional=True)
async fn home(user: Option<CurrentUser>) -> Html<String> {
    match user {
        None => Html(
            "<h1>You are an anonymous user.</h1><a href=\"/login?return_to=/protected\">Log in</a>"
                .into(),
        ),
        Some(CurrentUser(user)) => Html(format!(
            "<h1>Welcome back, {}</h1><a href=\"/protected\">Protected page</a>",
            escape(user.email().unwrap_or(user.sub()))
        )),
    }
}

// Used when run as an example; the tests call `app` instead.
#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env();
    let url = url::Url::parse(&settings.app_url)?;
    let port = url.port_or_known_default().unwrap_or(8000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let flow = flow(&settings, client(&settings)?)?;
    println!(
        "web app on {}, register {} with the issuer",
        settings.app_url,
        flow.redirect_uri()
    );
    axum::serve(listener, app(flow)).await?;
    Ok(())
}
