//! oidc-forge-conformance: the conformance catalogue as a harness. Every scenario an OpenID
//! Connect issuer and relying party must pass (A issuer, B client API flow, C client web flow,
//! D attacks and forgeries) is a row of data in [`catalogue`], with its spec clause and OpenID
//! Foundation test id, and a runner that drives real HTTP: the issuer's endpoints, and the
//! client's API and web example apps served in-process next to it, with hostile tokens, faults
//! and key rotation from the issuer's forge. `cargo test -p oidc-forge-conformance` runs each
//! row as its own named test; the `oidc-forge-conformance` binary runs groups B and D against
//! an application in any language (`check`), its browser login flow too (`check --web`, the
//! black-box rows of [`runner::web_app`]), and writes the markdown report (`report`).
//!
//! ```
//! use oidc_forge_conformance::catalogue::{self, SCENARIOS};
//! use oidc_forge_conformance::run::{self, Verdict};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let a03 = catalogue::find("A-03").expect("the happy code flow is in the catalogue");
//! assert_eq!(a03.name(), "A-03 happy code flow");
//! assert_eq!(a03.oidf, Some("oidcc-server"));
//! // Runs it: an issuer on 127.0.0.1 port 0, the flow over HTTP, the ID token verified.
//! let observed = run::in_process(a03).await.expect("A-03 passes");
//! assert!(observed.observed.contains("UserInfo 200"));
//! assert!(SCENARIOS.iter().any(|s| s.not_applicable().is_some()));
//! # let _ = Verdict::NotApplicable("");
//! # }
//! ```
//!
//! # Layout
//!
//! - [`catalogue`]: the table, one [`scenario::Scenario`] per row; the single source for the
//!   tests, the `check` command and the report.
//! - [`scenario`]: what a row is, its [`scenario::Runner`], and the `ensure!` assertion toolkit
//!   that makes a finding a [`scenario::Failure`] instead of a panic.
//! - [`runner`]: the code of the rows, one module per group: [`runner::issuer`] (A),
//!   [`runner::api_flow`] (B), [`runner::web_flow`] (C), [`runner::forgery`] (D).
//! - [`env`]: in-process environments: the issuer on a frozen clock, the web example next to
//!   it, an attacker's server, a token-rewriting proxy.
//! - [`apps`]: the client's example apps, compiled from `client/examples/` as they are.
//! - [`target`]: the application of the B and D rows (the API example, or any app described
//!   by a routes file).
//! - [`web_target`]: the application of `check --web` (its login flow, described by the
//!   routes file's `[web]` table).
//! - [`mint`]: tokens signed with the running issuer's own key, valid or wrong in one way.
//! - [`http`]: a non-redirecting client, RFC-shaped response assertions, a cookie-keeping
//!   browser.
//! - [`evidence`]: what each case that did not pass sent and got back, for `--report`.
//! - [`run`]: executing rows into verdicts; [`check`]: the `check` command;
//!   [`junit`] and [`report`]: JUnit XML, the markdown report and `check --report`'s file.
//! - `careless` (hidden): a deliberately careless web app, the proof that `check --web` finds
//!   real holes; a fixture, never a model.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apps;
#[doc(hidden)]
pub mod careless;
pub mod catalogue;
pub mod check;
pub mod env;
pub mod evidence;
pub mod http;
pub mod junit;
pub mod mint;
pub mod report;
pub mod run;
pub mod runner;
pub mod scenario;
pub mod target;
pub mod web_target;
