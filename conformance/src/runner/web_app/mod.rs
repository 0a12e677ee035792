//! Group C against any application (`check --web`): its browser login flow, black box. The
//! rows drive the app with a cookie-keeping browser through the issuer it trusts, as
//! [`WebTarget`] describes it, and judge only what a browser sees: the redirects, the pages,
//! the cookies, and whether the protected page then shows someone signed in.
//!
//! - `login`: the login redirect and the callback's checks (C-01, C-03 to C-05, C-07, D-25,
//!   D-26);
//! - `tokens`: the token response and what the app does with it (C-08 to C-10, C-12);
//! - `session`: the session cookie, `return_to` and logout (C-15, C-18, C-22).
//!
//! The same rows run in process against the client's web example, which passes every one.

mod login;
mod session;
mod tokens;

pub use login::*;
pub use session::*;
pub use tokens::*;

use std::sync::Arc;

use oidc_forge::config::UserConfig;

use crate::http::{Browser, Page, shorten};
use crate::scenario::{BoxFuture, Failure, Outcome, boxed};
use crate::web_target::WebTarget;

/// A row that drives a [`WebTarget`].
pub type WebFn = fn(Arc<WebTarget>) -> BoxFuture<Outcome>;

/// A catalogue row's black-box form: its id, and the code that runs it against any app.
#[derive(Clone, Copy)]
pub struct WebRow {
    /// The catalogue id (`C-01`); the row's title, clause and expectation are the catalogue's.
    pub id: &'static str,
    /// The runner.
    pub run: WebFn,
}

impl std::fmt::Debug for WebRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRow").field("id", &self.id).finish()
    }
}

/// The rows `check --web` runs, in catalogue order.
pub const ROWS: &[WebRow] = &[
    WebRow {
        id: "C-01",
        run: |t| boxed(c01_login_redirect(t)),
    },
    WebRow {
        id: "C-03",
        run: |t| boxed(c03_callback_state(t)),
    },
    WebRow {
        id: "C-04",
        run: |t| boxed(c04_callback_replayed(t)),
    },
    WebRow {
        id: "C-05",
        run: |t| boxed(c05_error_callback(t)),
    },
    WebRow {
        id: "C-07",
        run: |t| boxed(c07_iss_parameter(t)),
    },
    WebRow {
        id: "C-08",
        run: |t| boxed(c08_issuer_failures(t)),
    },
    WebRow {
        id: "C-09",
        run: |t| boxed(c09_nonce(t)),
    },
    WebRow {
        id: "C-10",
        run: |t| boxed(c10_id_token_validation(t)),
    },
    WebRow {
        id: "C-12",
        run: |t| boxed(c12_userinfo_sub(t)),
    },
    WebRow {
        id: "C-15",
        run: |t| boxed(c15_session_cookie(t)),
    },
    WebRow {
        id: "C-18",
        run: |t| boxed(c18_return_to(t)),
    },
    WebRow {
        id: "C-22",
        run: |t| boxed(c22_logout(t)),
    },
    WebRow {
        id: "D-25",
        run: |t| boxed(d25_code_injection(t)),
    },
    WebRow {
        id: "D-26",
        run: |t| boxed(d26_login_csrf(t)),
    },
];

/// Whether a status is a crash. 502, 503 and 504 say that an upstream (the issuer) failed,
/// the documented fail-closed answers (as B-18's); any other 5xx is an unhandled error.
pub fn crashed(status: u16) -> bool {
    status >= 500 && !matches!(status, 502..=504)
}

/// Fails on the first page of `pages` on the app that crashed.
pub fn no_crash(target: &WebTarget, pages: &[Page], what: &str) -> Result<(), Failure> {
    match pages
        .iter()
        .find(|page| target.on_app(&page.url) && crashed(page.answer.status))
    {
        Some(page) => Err(Failure::mismatch(format!(
            "{what}: {} crashed with {}: {}",
            page.url,
            page.answer.status,
            shorten(&page.answer.body)
        ))),
        None => Ok(()),
    }
}

/// Visits the hostile `url` in `browser` and asserts that the app did not crash and that
/// `browser` is not signed in as `user` afterwards; what the last page said.
pub async fn not_signed_in(
    target: &WebTarget,
    browser: &mut Browser,
    url: &str,
    user: &UserConfig,
    what: &str,
) -> Result<String, Failure> {
    let pages = target.visit(browser, url).await?;
    no_crash(target, &pages, what)?;
    crate::ensure!(
        !target.signed_in_as(browser, user).await?,
        "{what}: the browser is then signed in as {}",
        user.email
    );
    let status = pages.first().map_or(0, |page| page.answer.status);
    Ok(format!("{what}: {status}, not signed in"))
}

/// The attacker's own login, in a fresh browser, must end signed in as the attacker, or the
/// rows that judge "signed in as the attacker" could not fail: an app that admits some users
/// only, or a `signed_in.text` that names no user, makes them SKIP with the reason.
pub async fn attacker_twin(target: &WebTarget) -> Result<(), Failure> {
    let signed_in = &target.settings.signed_in;
    if signed_in.text_for(&target.attacker) == signed_in.text_for(&target.user) {
        return Err(Failure::skipped(
            "signed_in.text names no user ({email}, {name} or {sub}), so the attacker cannot be told from the victim",
        ));
    }
    if signed_in_as(target, &target.attacker, "the attacker's own login")
        .await?
        .is_none()
    {
        return Err(Failure::skipped(format!(
            "the attacker {} cannot sign in to the app, so no row can tell whether a hostile callback signs the victim in as the attacker",
            target.attacker.email
        )));
    }
    Ok(())
}

/// A whole login in a fresh browser, which must end signed in as the target's user: the
/// valid twin of the rows that then make one thing wrong.
pub async fn twin(target: &WebTarget) -> Result<Browser, Failure> {
    signed_in_as(target, &target.user, "the valid twin")
        .await?
        .ok_or_else(|| {
            Failure::mismatch(format!(
                "the valid twin: after the callback, {} does not look signed in as {} ({:?} expected)",
                target.settings.protected,
                target.user.email,
                target.settings.signed_in.text_for(&target.user)
            ))
        })
}

/// A whole login as `user` in a fresh browser, which must not crash: the browser, when it
/// then looks signed in as `user`.
async fn signed_in_as(
    target: &WebTarget,
    user: &UserConfig,
    what: &str,
) -> Result<Option<Browser>, Failure> {
    let mut browser = target.browser();
    let pages = target.log_in(&mut browser, user).await?;
    no_crash(target, &pages, what)?;
    Ok(target
        .signed_in_as(&mut browser, user)
        .await?
        .then_some(browser))
}
