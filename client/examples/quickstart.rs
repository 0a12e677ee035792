//! The quickstart example: the FusionAuth Flask quickstart (seed 004), and the
//! hand-written Flask OAuth2 flow (seed 003), written against the core
//! [`Client`] API instead of the ready-made `WebFlow` router.
//!
//! Discovery from the issuer URL, PKCE S256 with state and nonce, scope
//! `openid email offline_access` (a refresh token), HttpOnly SameSite=Lax
//! cookies (encrypted here) for the access, refresh and ID tokens, an
//! `/account` page that refreshes an expired access token, and logout through
//! the issuer's `end_session_endpoint`.
//!
//! ```text
//! cargo run -p oidc-forge -- serve                        # issuer on http://127.0.0.1:9000
//! cargo run -p oidc-forge-client --example quickstart     # app on http://localhost:8000
//! # open http://localhost:8000/
//! ```
//!
//! Settings: `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, `APP_URL`,
//! `COOKIE_KEY`, `SECURE_COOKIES`, with the web example's defaults.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, extract::FromRef};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use base64::Engine as _;
use oidc_forge_client::axum::cross_site_refusal;
use oidc_forge_client::axum::web::check_response_issuer;
use oidc_forge_client::pkce::{PkceVerifier, generate_nonce, generate_state};
use oidc_forge_client::{
    AuthorizationRequest, Client, CodeExchange, Error, LogoutRequest, RefreshRequest, Requirements,
    TokenResponse,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

const ACCESS_TOKEN_COOKIE: &str = "cb_access_token";
const REFRESH_TOKEN_COOKIE: &str = "cb_refresh_token";
const ID_TOKEN_COOKIE: &str = "cb_id_token";
/// The `sub` of the validated ID token the session began with: a refresh must
/// keep it (Core 12.2).
const SUBJECT_COOKIE: &str = "cb_subject";
const LOGIN_COOKIE: &str = "cb_login";

/// Where the issuer is, who this app is and where it is served.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier (discovery is `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, if any.
    pub client_secret: Option<String>,
    /// This app's external origin.
    pub app_url: String,
    /// Whether cookies are `Secure`.
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

/// The app's state: the client, the cookie key and its own URL.
#[derive(Clone)]
pub struct QuickstartState {
    client: Client,
    key: Key,
    app_url: String,
    secure: bool,
}

impl FromRef<QuickstartState> for Key {
    fn from_ref(state: &QuickstartState) -> Key {
        state.key.clone()
    }
}

impl QuickstartState {
    /// Builds the state from settings and a client (tests pass one with a test clock).
    pub fn new(settings: &Settings, client: Client) -> Result<Self, Error> {
        let key = match &settings.cookie_key {
            None => Key::generate(),
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|error| Error::Configuration(format!("COOKIE_KEY: {error}")))?;
                Key::try_from(bytes.as_slice())
                    .map_err(|_| Error::Configuration("COOKIE_KEY is under 64 bytes".into()))?
            }
        };
        Ok(Self {
            client,
            key,
            app_url: settings.app_url.trim_end_matches('/').to_owned(),
            secure: settings.secure_cookies,
        })
    }

    /// The callback URL to register with the issuer.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth-callback", self.app_url)
    }

    fn cookie(&self, name: &str, value: String, max_age: Option<u64>) -> Cookie<'static> {
        let mut cookie = Cookie::build((name.to_owned(), value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/");
        if let Some(seconds) = max_age {
            cookie = cookie.max_age(cookie::time::Duration::seconds(
                i64::try_from(seconds).unwrap_or(i64::MAX),
            ));
        }
        cookie.build()
    }

    fn store_tokens(
        &self,
        jar: PrivateCookieJar,
        tokens: &TokenResponse,
        subject: &str,
    ) -> PrivateCookieJar {
        let jar = jar.add(self.cookie(SUBJECT_COOKIE, subject.to_owned(), None));
        let mut jar = jar.add(self.cookie(
            ACCESS_TOKEN_COOKIE,
            tokens.access_token.clone(),
            tokens.expires_in,
        ));
        if let Some(refresh_token) = &tokens.refresh_token {
            jar = jar.add(self.cookie(REFRESH_TOKEN_COOKIE, refresh_token.clone(), None));
        }
        if let Some(id_token) = &tokens.id_token {
            jar = jar.add(self.cookie(ID_TOKEN_COOKIE, id_token.clone(), None));
        }
        jar
    }
}

/// Builds the client from the settings.
pub fn client(settings: &Settings) -> Result<Client, Error> {
    Client::new(
        settings.issuer.clone(),
        settings.client_id.clone(),
        settings.client_secret.clone(),
    )
}

/// The routes of the quickstart.
pub fn app(state: QuickstartState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/auth-callback", get(callback))
        .route("/account", get(account))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .with_state(state)
}

fn page(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!("<!doctype html><html><body>{body}</body></html>")),
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

async fn home(jar: PrivateCookieJar) -> Response {
    if jar.get(ACCESS_TOKEN_COOKIE).is_some() {
        return redirect("/account");
    }
    page(
        StatusCode::OK,
        "<h1>ChangeBank</h1><a href=\"/login\">Log in</a>".into(),
    )
}

/// Seed 004's `authorize_redirect`: discovery, state, nonce and PKCE S256.
async fn login(State(state): State<QuickstartState>, jar: PrivateCookieJar) -> Response {
    let verifier = PkceVerifier::generate();
    let (login_state, nonce) = (generate_state(), generate_nonce());
    let request = AuthorizationRequest::new(state.redirect_uri())
        .scope(["openid", "email", "offline_access"])
        .state(&login_state)
        .nonce(&nonce)
        .pkce(&verifier);
    match state.client.auth_url(&request).await {
        Ok(url) => {
            let pending = serde_json::json!({
                "state": login_state, "nonce": nonce, "verifier": verifier.as_str()
            });
            let jar = jar.add(state.cookie(LOGIN_COOKIE, pending.to_string(), Some(600)));
            (jar, redirect(url.as_str())).into_response()
        }
        Err(error) => page(StatusCode::SERVICE_UNAVAILABLE, escape(&error.to_string())),
    }
}

#[derive(Deserialize)]
struct PendingLogin {
    state: String,
    nonce: String,
    verifier: String,
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Seed 003's callback (state check, code exchange, user lookup) with PKCE and nonce.
async fn callback(
    State(state): State<QuickstartState>,
    jar: PrivateCookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    // First, whose response is this? One that matches no login of this browser (forged,
    // replayed, from another tab) gets a fixed answer and touches no cookie, so that it can
    // neither show its text here nor cancel a login in progress.
    let pending: Option<PendingLogin> = jar
        .get(LOGIN_COOKIE)
        .and_then(|cookie| serde_json::from_str(cookie.value()).ok());
    let Some(pending) = pending.filter(|pending| {
        query
            .state
            .as_deref()
            .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(pending.state.as_bytes())))
    }) else {
        return page(
            StatusCode::BAD_REQUEST,
            "<h1>Login failed</h1><p>This response does not belong to a login started here.</p>"
                .into(),
        );
    };
    // Single-use: the pending login is gone whatever happens next.
    let jar = jar.remove(Cookie::build(LOGIN_COOKIE).path("/"));
    // RFC 9207: the response must come from this app's issuer.
    let advertised = match state.client.metadata().await {
        Ok(metadata) => metadata.authorization_response_iss_parameter_supported,
        Err(_) => {
            return (
                jar,
                page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<h1>The identity provider could not be reached</h1>".into(),
                ),
            )
                .into_response();
        }
    };
    if let Err(why) = check_response_issuer(query.iss.as_deref(), state.client.issuer(), advertised)
    {
        let body = format!("<h1>Login failed</h1><p>{}</p>", escape(why));
        return (jar, page(StatusCode::BAD_REQUEST, body)).into_response();
    }
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_default();
        let body = format!(
            "<h1>Login failed</h1><p>{}: {}</p>",
            escape(&error),
            escape(&description)
        );
        return (jar, page(StatusCode::BAD_REQUEST, body)).into_response();
    }
    let Some(code) = query.code else {
        return (
            jar,
            page(
                StatusCode::BAD_REQUEST,
                "<h1>The response carries neither a code nor an error</h1>".into(),
            ),
        )
            .into_response();
    };
    let verifier = match PkceVerifier::new(pending.verifier) {
        Ok(verifier) => verifier,
        Err(_) => {
            return (
                jar,
                page(StatusCode::BAD_REQUEST, "<h1>Corrupt login</h1>".into()),
            )
                .into_response();
        }
    };
    let exchange = CodeExchange::new(code, state.redirect_uri())
        .code_verifier(&verifier)
        .nonce(pending.nonce);
    match state.client.auth_callback(exchange).await {
        Ok((tokens, claims)) => {
            let jar = state.store_tokens(jar, &tokens, &claims.sub);
            (jar, redirect("/account")).into_response()
        }
        Err(error) => {
            let body = format!("<h1>Login failed</h1><p>{}</p>", escape(&error.to_string()));
            (jar, page(StatusCode::BAD_REQUEST, body)).into_response()
        }
    }
}

/// Seed 004's `/account`, validating the token instead of trusting the cookie,
/// and refreshing it when it has expired.
async fn account(State(state): State<QuickstartState>, jar: PrivateCookieJar) -> Response {
    let access_token = jar.get(ACCESS_TOKEN_COOKIE).map(|c| c.value().to_owned());
    let refresh_token = jar.get(REFRESH_TOKEN_COOKIE).map(|c| c.value().to_owned());
    let validated = match &access_token {
        Some(token) => Some(
            state
                .client
                .validate_access_token(token, &Requirements::new())
                .await,
        ),
        None => None,
    };
    let (jar, info) = match (validated, refresh_token) {
        (Some(Ok(info)), _) => (jar, info),
        (Some(Err(error)), Some(refresh_token)) if error.is_invalid_access_token() => {
            match refresh_tokens(&state, jar, &refresh_token).await {
                Ok(refreshed) => refreshed,
                Err(jar) => return (jar, redirect("/")).into_response(),
            }
        }
        (None, Some(refresh_token)) => match refresh_tokens(&state, jar, &refresh_token).await {
            Ok(refreshed) => refreshed,
            Err(jar) => return (jar, redirect("/")).into_response(),
        },
        _ => return redirect("/"),
    };
    let email = match state
        .client
        .userinfo(&info.access_token, info.subject())
        .await
    {
        Ok(userinfo) => userinfo.email().unwrap_or("(no email)").to_owned(),
        Err(error) => return page(StatusCode::BAD_GATEWAY, escape(&error.to_string())),
    };
    let body = format!(
        "<h1>Welcome {}</h1><p>Scopes: {}</p>\
         <form method=\"post\" action=\"/refresh\"><button>Refresh tokens</button></form>\
         <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
        escape(&email),
        escape(&info.scope.join(" "))
    );
    (jar, page(StatusCode::OK, body)).into_response()
}

async fn refresh_tokens(
    state: &QuickstartState,
    jar: PrivateCookieJar,
    refresh_token: &str,
) -> Result<(PrivateCookieJar, oidc_forge_client::AccessTokenInfo), PrivateCookieJar> {
    // No subject, no refresh: it could not be held to the session's user.
    let Some(subject) = jar.get(SUBJECT_COOKIE).map(|c| c.value().to_owned()) else {
        return Err(clear(jar));
    };
    let request = RefreshRequest::new(refresh_token, &subject);
    let refreshed = match state.client.refresh(request).await {
        Ok((tokens, _)) => tokens,
        Err(_) => return Err(clear(jar)),
    };
    match state
        .client
        .validate_access_token(&refreshed.access_token, &Requirements::new())
        .await
    {
        Ok(info) if info.subject() == subject => {
            Ok((state.store_tokens(jar, &refreshed, &subject), info))
        }
        Ok(_) | Err(_) => Err(clear(jar)),
    }
}

fn clear(jar: PrivateCookieJar) -> PrivateCookieJar {
    [
        ACCESS_TOKEN_COOKIE,
        REFRESH_TOKEN_COOKIE,
        ID_TOKEN_COOKIE,
        SUBJECT_COOKIE,
    ]
    .into_iter()
    .fold(jar, |jar, name| jar.remove(Cookie::build(name).path("/")))
}

/// The 403 for a form post from another site: this app's state-changing routes read the
/// session cookies, which a browser attaches to a forged cross-site post too.
fn refuse_cross_site(state: &QuickstartState, headers: &HeaderMap) -> Option<Response> {
    let own = std::slice::from_ref(&state.app_url);
    cross_site_refusal(&Method::POST, headers, own).map(|why| {
        page(
            StatusCode::FORBIDDEN,
            format!("<h1>Cross-site request refused</h1><p>{}</p>", escape(why)),
        )
    })
}

/// Uses the refresh token now (the "offline_access" half of the quickstart).
async fn refresh(
    State(state): State<QuickstartState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    let Some(refresh_token) = jar.get(REFRESH_TOKEN_COOKIE).map(|c| c.value().to_owned()) else {
        return redirect("/");
    };
    match refresh_tokens(&state, jar, &refresh_token).await {
        Ok((jar, _)) => (
            jar,
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/account")]),
        )
            .into_response(),
        Err(jar) => (jar, redirect("/")).into_response(),
    }
}

/// Seed 004's logout: clear the cookies, then log out at the issuer, which
/// sends the browser back to the home page.
async fn logout(
    State(state): State<QuickstartState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    // A cross-site form cannot log users out (RFC 9700 4.7, by analogy).
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    let mut request = LogoutRequest::new().post_logout_redirect_uri(format!("{}/", state.app_url));
    if let Some(id_token) = jar.get(ID_TOKEN_COOKIE) {
        request = request.id_token_hint(id_token.value());
    }
    let target = match state.client.logout_url(&request).await {
        Ok(url) => url.to_string(),
        Err(_) => "/".to_owned(),
    };
    (
        clear(jar),
        (StatusCode::SEE_OTHER, [(header::LOCATION, target)]),
    )
        .into_response()
}

// Used when run as an example; the tests call `app` instead.
#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env();
    let url = url::Url::parse(&settings.app_url)?;
    let port = url.port_or_known_default().unwrap_or(8000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let state = QuickstartState::new(&settings, client(&settings)?)?;
    println!(
        "quickstart on {}, callback {}",
        settings.app_url,
        state.redirect_uri()
    );
    axum::serve(listener, app(state)).await?;
    Ok(())
}
