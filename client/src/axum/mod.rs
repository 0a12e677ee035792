//! axum integration (feature `axum`, on by default).
//!
//! - [`api`]: token sources (bearer header, cookie), per-route requirements
//!   ([`Auth::require`], [`Auth::optional`]) and extractors ([`AccessToken`],
//!   [`CurrentUser`], and their `Option<_>` forms), with RFC 6750 rejections.
//! - [`web`]: the browser flow ([`WebFlow`]): login, callback and logout
//!   routes, encrypted transaction and session cookies.
//! - [`response`]: the customisable unauthorized/forbidden responses
//!   ([`AuthResponses`]).
//! - `csrf` (private): [`cross_site_refusal`], the rule that keeps other sites from posting
//!   with the session cookie.
//! - `rules` (private): the web flow's rules as plain functions, re-exported from [`web`]:
//!   [`web::safe_return_to`], [`web::check_response_issuer`], the callback's parameters.

pub mod api;
mod csrf;
pub mod response;
mod rules;
pub mod web;

pub use api::{
    AccessToken, Auth, AuthRejection, CurrentUser, RequireAuth, RequireAuthLayer, TokenSource,
};
pub use axum_extra::extract::cookie::Key;
pub use csrf::cross_site_refusal;
pub use response::{AuthResponses, BearerResponses};
pub use web::{LoginRedirectResponses, WebFlow, WebFlowBuilder};
