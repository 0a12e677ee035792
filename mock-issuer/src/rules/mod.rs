//! The rules of the issuer as plain functions over plain data: what makes an authorization
//! request, a client authentication or a grant valid, and what a token contains. Handlers in
//! [`crate::endpoints`] only parse, call these and answer; tests call these directly.

pub mod authorization;
pub mod claims;
pub mod client_auth;
pub mod grants;
pub mod issuer;
pub mod login;
pub mod metadata;
pub mod origin;
pub mod own_tokens;
pub mod pkce;
pub mod redirect;
pub mod scope;
pub mod tokens;
