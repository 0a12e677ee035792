//! The client's example applications, compiled from `client/examples/` as they are, so the
//! scenarios drive exactly what a user copies: the API example (Fief's "API example"), its
//! documented twin with Swagger UI (the FastAPI example's docs), and the web example (Fief's
//! "Web application example" with cached UserInfo).

/// `client/examples/api.rs`: bearer-token routes with scope and permission requirements.
#[allow(clippy::all, missing_docs)]
#[path = "../../client/examples/api.rs"]
pub mod api;

/// `client/examples/api_docs.rs`: the API with its OpenAPI document and Swagger UI at `/docs`.
#[allow(clippy::all, missing_docs)]
#[path = "../../client/examples/api_docs.rs"]
pub mod api_docs;

/// `client/examples/web.rs`: login, callback and logout with encrypted cookies.
#[allow(clippy::all, missing_docs)]
#[path = "../../client/examples/web.rs"]
pub mod web;
