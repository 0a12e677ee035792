//! An OpenID Connect client for Rust services: the counterpart of the Fief
//! Python client, validating strictly.
//!
//! A [`Client`] discovers its issuer lazily (and insists the discovery
//! document names exactly the configured issuer), builds authorization URLs
//! with state, nonce and PKCE, redeems codes and refresh tokens, validates
//! access tokens and ID tokens against the issuer's JWKS, calls UserInfo and
//! builds logout URLs. Validation is stricter than Fief's: an algorithm
//! allowlist from configuration, exact `iss`, `aud`/`azp` rules, `exp`/`nbf`/
//! `iat` against an injectable [`clock::Clock`], `typ: at+jwt` for access
//! tokens, `at_hash`/`c_hash`, the nonce, a size limit before any crypto, and
//! header keys (`jku`, `jwk`, `x5u`, `x5c`) never used. With the `axum`
//! feature (default), [`axum::Auth`] protects API routes with RFC 6750
//! answers and [`axum::WebFlow`] runs the browser login with encrypted cookies.
//!
//! ```no_run
//! use oidc_forge_client::{Client, Requirements};
//!
//! # async fn run() -> Result<(), oidc_forge_client::Error> {
//! let client = Client::new(
//!     "http://127.0.0.1:8080",
//!     "forge-web",
//!     Some("forge-web-secret".to_owned()),
//! )?;
//! let info = client
//!     .validate_access_token(
//!         "eyJ...",
//!         &Requirements::new().scopes(["read"]).permissions(["castles:read"]),
//!     )
//!     .await?;
//! println!("user {} may read castles", info.id);
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`client`]: the [`Client`], its [`ClientBuilder`], and the request types
//!   ([`AuthorizationRequest`], [`CodeExchange`], [`RefreshRequest`],
//!   [`LogoutRequest`], [`Requirements`]).
//! - [`discovery`]: provider metadata and the issuer-equality rule.
//! - `jwks` (private): the key cache with single-flight refetch and cooldown.
//! - [`validate`]: the rules as plain functions, a module per concern: the JWS
//!   (structure, strict JSON, algorithm allowlist), keys and signatures, the
//!   claims both kinds share (time, issuer, audiences, scopes), access tokens
//!   (RFC 9068) and ID tokens (hashes, nonce, `azp`, `auth_time`).
//! - [`pkce`]: PKCE verifiers and S256 challenges, state and nonce values.
//! - [`tokens`]: token response, access-token info, ID-token claims, UserInfo.
//! - [`cache`]: the async [`cache::UserInfoCache`] trait and its in-memory TTL default.
//! - [`clock`]: the [`clock::Clock`] trait, [`clock::SystemClock`], a settable [`clock::FixedClock`].
//! - [`error`]: [`Error`] (mirroring Fief's exceptions) and [`TokenError`].
//! - `http` (private): bounded reads of the issuer's responses.
//! - [`axum`] (feature `axum`): extractors, route requirements, RFC 6750
//!   rejections, the login/callback/logout router, customisable responses.
//! - `openapi` (feature `utoipa`): the issuer's authorization-code flow as an
//!   OpenAPI security scheme, for Swagger UI's "Authorize" button.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod cache;
pub mod client;
pub mod clock;
pub mod discovery;
pub mod error;
mod http;
mod jwks;
#[cfg(feature = "utoipa")]
pub mod openapi;
pub mod pkce;
pub mod tokens;
pub mod validate;

pub use client::{
    AuthorizationRequest, Client, ClientAuthMethod, ClientBuilder, CodeExchange, DEFAULT_TIMEOUT,
    LogoutRequest, MAX_LEEWAY, RefreshRequest, Requirements,
};
pub use error::{Error, TokenError};
/// Re-exported for [`jsonwebtoken::Algorithm`] in [`ClientBuilder::algorithms`].
pub use jsonwebtoken;
pub use tokens::{AccessTokenInfo, IdTokenClaims, TokenResponse, UserInfo};
