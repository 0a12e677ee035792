//! axum integration (feature `axum`, on by default).
//!
//! - [`api`]: token sources (bearer header, cookie), per-route requirements
//!   ([`Auth::require`], [`Auth::optional`]) and extractors ([`AccessToken`],
//!   [`CurrentUser`], and their `Option<_>` forms), with RFC 6750 rejections.
//! - [`web`]: the browser flow ([`WebFlow`]): login, callback and logout
//!   routes, encrypted transaction and session cookies.
//! - [`response`]: the customisable unauthorized/forbidden responses
//!   ([`AuthResponses`]).

pub mod api;
pub mod response;
pub mod web;

pub use api::{
    AccessToken, Auth, AuthRejection, CurrentUser, RequireAuth, RequireAuthLayer, TokenSource,
};
pub use axum_extra::extract::cookie::Key;
pub use response::{AuthResponses, BearerResponses};
pub use web::{LoginRedirectResponses, WebFlow, WebFlowBuilder};
