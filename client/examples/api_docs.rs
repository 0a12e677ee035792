//! The FastAPI example's interactive docs, in axum: an API whose OpenAPI document carries the
//! issuer's authorization-code flow (from discovery), served with Swagger UI at `/docs`.
//! "Authorize" signs in at the issuer (PKCE S256), and "Try it out" sends the access token to
//! the protected routes, which check it as the API example does.
//!
//! ```text
//! cargo run -p oidc-forge -- serve                                       # issuer, port 9000
//! cargo run -p oidc-forge-client --features utoipa --example api_docs   # http://localhost:8002/docs/
//! ```
//!
//! Settings: `OIDC_ISSUER` (default `http://127.0.0.1:9000`), `OIDC_CLIENT_ID` (`forge-web`),
//! `OIDC_CLIENT_SECRET` (`forge-web-secret`) and `API_ADDR` (`127.0.0.1:8002`). The client's
//! secret is put in the docs page for Swagger UI's token request, as the Fief FastAPI docs have
//! one typed in: fine for a test client on a developer's machine, never for a real secret.

use axum::routing::get;
use axum::{Json, Router};
use oidc_forge_client::axum::{AccessToken, Auth, TokenSource};
use oidc_forge_client::openapi::OAuth2Security;
use oidc_forge_client::{Client, Error, Requirements};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The name of the security scheme the operations cite (`security(("oidc" = ...))`).
const SCHEME: &str = "oidc";

/// Where the issuer is and who this API is.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
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

#[derive(OpenApi)]
#[openapi(
    info(title = "Castles", description = "The API example, documented"),
    paths(authenticated, castles)
)]
struct ApiDoc;

/// The token's information (`g.access_token_info` in the Flask example).
#[utoipa::path(
    get,
    path = "/authenticated",
    security(("oidc" = ["openid"])),
    responses((status = 200, description = "The access token's information"), (status = 401))
)]
async fn authenticated(AccessToken(info): AccessToken) -> Json<Value> {
    Json(json!(info))
}

/// The castles, for a token with `read` and the `castles:read` permission.
#[utoipa::path(
    get,
    path = "/castles",
    security(("oidc" = ["openid", "read"])),
    responses((status = 200, description = "The castles"), (status = 401), (status = 403))
)]
async fn castles(AccessToken(info): AccessToken) -> Json<Value> {
    Json(json!({"castles": ["Bran", "Chillon"], "for": info.id}))
}

/// The API and its docs: the document's security scheme comes from the issuer's discovery.
pub async fn app(settings: &Settings) -> Result<Router, Error> {
    let client = Client::new(
        settings.issuer.clone(),
        settings.client_id.clone(),
        settings.client_secret.clone(),
    )?;
    let doc = OAuth2Security::new(SCHEME)
        .scope("openid", "Sign in")
        .scope("read", "Read the castles")
        .apply(&client, ApiDoc::openapi())
        .await?;
    let mut oauth = utoipa_swagger_ui::oauth::Config::new()
        .client_id(&settings.client_id)
        .scopes(vec!["openid".into(), "read".into()])
        .use_pkce_with_authorization_code_grant(true);
    if let Some(secret) = &settings.client_secret {
        oauth = oauth.client_secret(secret);
    }
    let auth = Auth::new(client, TokenSource::Bearer);
    let api = Router::new()
        .route(
            "/authenticated",
            get(authenticated).route_layer(auth.require(Requirements::new())),
        )
        .route(
            "/castles",
            get(castles).route_layer(
                auth.require(
                    Requirements::new()
                        .scopes(["read"])
                        .permissions(["castles:read"]),
                ),
            ),
        )
        .with_state(auth);
    Ok(api.merge(
        SwaggerUi::new("/docs")
            .url("/openapi.json", doc)
            .oauth(oauth),
    ))
}

// Used when run as an example; the tests call `app` instead.
#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env();
    let addr = std::env::var("API_ADDR").unwrap_or_else(|_| "127.0.0.1:8002".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "API docs on http://{addr}/docs/, signing in at {}",
        settings.issuer
    );
    axum::serve(listener, app(&settings).await?).await?;
    Ok(())
}
