//! What the issuer's integration tests, the client's tests and the conformance scenarios share,
//! written once: the embedded configuration's names (clients, users, the fixed time, the RFC 7636
//! verifier), `forge-web`'s authorization parameters, a cookie-keeping browser that follows
//! redirects by hand, and a local server for an app under test. It depends on neither the
//! issuer nor the client, so each of them can use it in its tests.
//!
//! ```
//! use oidc_forge_testkit::{CookieJar, authorize_params};
//!
//! let params = authorize_params(&[("prompt", "login"), ("nonce", "")]);
//! assert!(params.contains(&("prompt".into(), "login".into())));
//! assert!(!params.iter().any(|(name, _)| name == "nonce"));
//!
//! let mut jar = CookieJar::default();
//! jar.store(["session=abc; Path=/; HttpOnly", "theme=dark"]);
//! jar.store(["theme=; Max-Age=0"]);
//! assert_eq!(jar.header().as_deref(), Some("session=abc"));
//! ```
//!
//! # Layout
//!
//! - [`fixtures`]: the names of the embedded default configuration, and
//!   [`authorize_params`].
//! - `jar`: [`CookieJar`], the cookie rules, as plain functions over plain data.
//! - `browser`: [`Browser`], which sends a jar's cookies, stores what comes back and never
//!   follows a redirect by itself, and [`Page`], one response read whole.
//! - `serve`: [`bind`] and [`serve`], an app under test on a random local port.

mod browser;
pub mod fixtures;
mod jar;
mod serve;

pub use browser::{Browser, BrowserError, MAX_BODY, Page, http_client, read_body};
pub use fixtures::authorize_params;
pub use jar::{CookieJar, SetCookie};
pub use serve::{bind, serve};
