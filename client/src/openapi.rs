//! The issuer's OAuth 2 authorization-code flow as an OpenAPI security scheme (feature
//! `utoipa`): Swagger UI's "Authorize" button then signs in at the issuer and sends the access
//! token to the API's protected routes. It is what FastAPI's `OAuth2AuthorizationCodeBearer`
//! gives the Fief examples, with the URLs taken from discovery instead of typed in.
//!
//! ```no_run
//! use oidc_forge_client::Client;
//! use oidc_forge_client::openapi::OAuth2Security;
//! use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
//!
//! # async fn run() -> Result<(), oidc_forge_client::Error> {
//! let client = Client::new("http://127.0.0.1:9000", "forge-web", None)?;
//! let doc = OpenApiBuilder::new()
//!     .info(InfoBuilder::new().title("castles").version("1").build())
//!     .build();
//! let doc = OAuth2Security::new("oidc")
//!     .scope("openid", "Sign in")
//!     .scope("read", "Read the castles")
//!     .require(["openid", "read"])
//!     .apply(&client, doc)
//!     .await?;
//! # let _ = doc; Ok(()) }
//! ```

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{
    AuthorizationCode, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};

use crate::discovery::ProviderMetadata;
use crate::{Client, Error};

/// An OAuth 2 security scheme named `name`, for the issuer of a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct OAuth2Security {
    name: String,
    scopes: Vec<(String, String)>,
    required: Option<Vec<String>>,
}

impl OAuth2Security {
    /// A scheme named `name` (what operations cite in their `security`).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            scopes: Vec::new(),
            required: None,
        }
    }

    /// A scope Swagger UI offers, with its description. Without any, the scopes discovery
    /// lists (`scopes_supported`) are offered, undescribed.
    pub fn scope(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.scopes.push((name.into(), description.into()));
        self
    }

    /// Requires the scheme, with `scopes`, of every operation (a document-wide security
    /// requirement, OpenAPI 3.1 section 4.8.1). Without it the scheme is only declared, for
    /// the operations that name it in their own `security`.
    pub fn require<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The scheme of `client`'s issuer, its authorization and token endpoints from discovery
    /// (fetched once and cached by the client).
    pub async fn scheme(&self, client: &Client) -> Result<SecurityScheme, Error> {
        Ok(self.scheme_for(&*client.metadata().await?))
    }

    /// The scheme for an issuer described by `metadata`: the authorization-code flow, the
    /// token endpoint also as the refresh URL.
    pub fn scheme_for(&self, metadata: &ProviderMetadata) -> SecurityScheme {
        let scopes: Scopes = if self.scopes.is_empty() {
            metadata
                .scopes_supported
                .iter()
                .map(|scope| (scope.clone(), String::new()))
                .collect()
        } else {
            self.scopes.iter().cloned().collect()
        };
        let flow = AuthorizationCode::with_refresh_url(
            &metadata.authorization_endpoint,
            &metadata.token_endpoint,
            scopes,
            &metadata.token_endpoint,
        );
        SecurityScheme::OAuth2(OAuth2::new([Flow::AuthorizationCode(flow)]))
    }

    /// `openapi` with the scheme of `client`'s issuer in its components, and required of
    /// every operation when [`require`](Self::require) was called.
    pub async fn apply(&self, client: &Client, openapi: OpenApi) -> Result<OpenApi, Error> {
        let scheme = self.scheme(client).await?;
        Ok(self.apply_scheme(scheme, openapi))
    }

    /// [`apply`](Self::apply) with a scheme already made.
    pub fn apply_scheme(&self, scheme: SecurityScheme, mut openapi: OpenApi) -> OpenApi {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(self.name.clone(), scheme);
        if let Some(scopes) = &self.required {
            openapi
                .security
                .get_or_insert_with(Vec::new)
                .push(SecurityRequirement::new(self.name.clone(), scopes.clone()));
        }
        openapi
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

    fn metadata() -> ProviderMetadata {
        serde_json::from_value(json!({
            "issuer": "http://issuer.test",
            "authorization_endpoint": "http://issuer.test/authorize",
            "token_endpoint": "http://issuer.test/api/token",
            "jwks_uri": "http://issuer.test/jwks",
            "scopes_supported": ["openid", "read"],
        }))
        .unwrap()
    }

    fn document() -> OpenApi {
        OpenApiBuilder::new()
            .info(InfoBuilder::new().title("t").version("1").build())
            .build()
    }

    #[test]
    fn the_flow_comes_from_discovery_and_is_required_when_asked() {
        let security = OAuth2Security::new("oidc")
            .scope("read", "Read the castles")
            .require(["read"]);
        let doc = security.apply_scheme(security.scheme_for(&metadata()), document());
        let doc: Value = serde_json::to_value(doc).unwrap();
        assert_eq!(
            doc["components"]["securitySchemes"]["oidc"],
            json!({
                "type": "oauth2",
                "flows": {"authorizationCode": {
                    "authorizationUrl": "http://issuer.test/authorize",
                    "tokenUrl": "http://issuer.test/api/token",
                    "refreshUrl": "http://issuer.test/api/token",
                    "scopes": {"read": "Read the castles"},
                }},
            })
        );
        assert_eq!(doc["security"], json!([{"oidc": ["read"]}]));
    }

    #[test]
    fn without_scopes_discoverys_are_offered_and_nothing_is_required() {
        let security = OAuth2Security::new("oidc");
        let doc = security.apply_scheme(security.scheme_for(&metadata()), document());
        let doc: Value = serde_json::to_value(doc).unwrap();
        let flow = &doc["components"]["securitySchemes"]["oidc"]["flows"]["authorizationCode"];
        assert_eq!(flow["scopes"], json!({"openid": "", "read": ""}));
        assert!(doc.get("security").is_none_or(Value::is_null), "{doc}");
    }
}
