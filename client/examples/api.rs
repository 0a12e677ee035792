//! The API example: the Fief Flask/FastAPI "API example" and "Optional user"
//! pages (seeds 000, 001, 002) in axum.
//!
//! A pure REST API: a frontend obtains the access token; every route here
//! checks it. Run it against the mock issuer:
//!
//! ```text
//! cargo run -p oidc-forge -- serve                      # issuer on http://127.0.0.1:9000
//! cargo run -p oidc-forge-client --example api          # API on http://127.0.0.1:8001
//! ```
//!
//! Settings come from `OIDC_ISSUER` (default `http://127.0.0.1:9000`),
//! `OIDC_CLIENT_ID` (`forge-web`), `OIDC_CLIENT_SECRET` (`forge-web-secret`)
//! and `API_ADDR` (`127.0.0.1:8001`).

use axum::routing::get;
use axum::{Json, Router};
use oidc_forge_client::axum::{AccessToken, Auth, TokenSource};
use oidc_forge_client::{Client, Error, Requirements};
use serde_json::{Value, json};

/// Where the issuer is and who this API is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier.
    pub issuer: String,
    /// The client id (also the access tokens' audience by default).
    pub client_id: String,
    /// The client secret, if any.
    pub client_secret: Option<String>,
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
        }
    }
}

/// Fief's `Fief(base_url, client_id, client_secret)`.
pub fn client(settings: &Settings) -> Result<Client, Error> {
    Client::new(
        settings.issuer.clone(),
        settings.client_id.clone(),
        settings.client_secret.clone(),
    )
}

/// Fief's `FiefAuth(fief, get_authorization_scheme_token())`.
pub fn auth(client: Client) -> Auth {
    Auth::new(client, TokenSource::Bearer)
}

/// The routes of the seeds, one for one.
pub fn app(auth: Auth) -> Router {
    Router::new()
        // @auth.authenticated()
        .route(
            "/authenticated",
            get(token_info).route_layer(auth.require(Requirements::new())),
        )
        // @auth.authenticated(scope=["openid", "required_scope"]); the mock
        // issuer's default client has `read`, so that is the required scope here.
        .route(
            "/authenticated-scope",
            get(token_info)
                .route_layer(auth.require(Requirements::new().scopes(["openid", "read"]))),
        )
        // @auth.authenticated(permissions=["castles:read"])
        .route(
            "/authenticated-permissions",
            get(token_info)
                .route_layer(auth.require(Requirements::new().permissions(["castles:read"]))),
        )
        // @auth.authenticated(optional=True)
        .route(
            "/optional-user",
            get(optional_user).route_layer(auth.optional(Requirements::new())),
        )
        // FastAPI's `/user`: the extractor alone, no layer.
        .route("/user", get(token_info))
        .with_state(auth)
}

/// Returns `g.access_token_info` / FastAPI's `access_token_info`.
async fn token_info(AccessToken(info): AccessToken) -> Json<Value> {
    Json(json!(info))
}

async fn optional_user(token: Option<AccessToken>) -> Json<Value> {
    match token {
        None => Json(json!({"message": "Anonymous user"})),
        Some(AccessToken(info)) => Json(json!(info)),
    }
}

// Used when run as an example; the tests call `app` instead.
#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env();
    let addr = std::env::var("API_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "API on http://{addr}, validating tokens from {}",
        settings.issuer
    );
    axum::serve(listener, app(auth(client(&settings)?))).await?;
    Ok(())
}
