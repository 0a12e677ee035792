//! Group C: the client's web example app served in-process next to the issuer, driven by a
//! cookie-keeping [`Browser`] that follows every redirect by hand.
//!
//! - `login`: the login redirect and the callback's checks (C-01 to C-09, C-19, C-21, C-25, C-26);
//! - `tokens`: what the client does with the ID token and UserInfo, and refreshes (C-10 to C-14, C-20);
//! - `session`: the session cookie, CSRF, `return_to` and logout (C-15 to C-18, C-22, C-23).

mod login;
mod session;
mod tokens;

pub use login::*;
pub use session::*;
pub use tokens::*;

use crate::env::WebEnv;
use crate::http::{Browser, Page, query_of, shorten};
use crate::scenario::Failure;
use crate::web_target::replace_param;
use crate::{ensure, ensure_eq};

/// The session cookie of the web example (not Secure, so without the `__Host-` prefix).
const SESSION: &str = "user_session";
/// Its login-transaction cookie.
const TRANSACTION: &str = "user_session_tx";

/// Starts a login in `browser`: the app's redirect to the authorization endpoint and its
/// query (state, nonce, challenge).
pub async fn start_login(
    web: &WebEnv,
    browser: &mut Browser,
) -> Result<(String, std::collections::BTreeMap<String, String>), Failure> {
    let login = browser.get(&web.app("/login")).await?;
    ensure_eq!(login.answer.status, 302, "/login redirects to the issuer");
    let url = login
        .location
        .ok_or_else(|| Failure::mismatch("/login without Location"))?;
    let query = query_of(&url)?;
    Ok((url, query))
}

/// Logs in through `/protected` and returns every page on the way.
pub async fn log_in(web: &WebEnv, browser: &mut Browser) -> Result<Vec<Page>, Failure> {
    let pages = browser.follow(&web.app("/protected"), 6).await?;
    let last = pages.last().ok_or_else(|| Failure::setup("no page"))?;
    ensure!(
        last.answer.status == 200 && last.answer.body.contains("alice@example.com"),
        "the login round trip ends on the protected page, got {} after {:?}: {}",
        last.answer.status,
        pages.iter().map(|p| p.url.as_str()).collect::<Vec<_>>(),
        shorten(&last.answer.body)
    );
    Ok(pages)
}

/// The page the issuer's redirect lands on: the callback.
fn callback_page(pages: &[Page]) -> Result<&Page, Failure> {
    pages
        .iter()
        .find(|p| p.url.contains("/auth-callback?"))
        .ok_or_else(|| Failure::mismatch("the login went through no callback"))
}

/// Starts a login and lets the issuer answer: the callback URL it redirects to.
async fn issuer_answer(web: &WebEnv, browser: &mut Browser) -> Result<String, Failure> {
    let (authorize, _) = start_login(web, browser).await?;
    let issued = browser.get(&authorize).await?;
    ensure_eq!(issued.answer.status, 302, "the issuer redirects back");
    issued
        .location
        .ok_or_else(|| Failure::mismatch("the issuer's redirect has no Location"))
}

/// Asserts a failed login: a 4xx/5xx HTML page containing `expected`, no session cookie, the
/// transaction cleared.
pub fn expect_failed_login(page: &Page, expected: &str) -> Result<(), Failure> {
    ensure!(
        (400..600).contains(&page.answer.status),
        "the login fails, got {}: {}",
        page.answer.status,
        shorten(&page.answer.body)
    );
    ensure!(
        page.answer.body.contains(expected),
        "the page says {expected:?}: {}",
        shorten(&page.answer.body)
    );
    for name in [SESSION, "user_session_id", "user_session_refresh"] {
        ensure!(
            page.set_cookie(name).is_none(),
            "no {name} cookie on a failed login"
        );
    }
    let cleared = page
        .set_cookie(TRANSACTION)
        .ok_or_else(|| Failure::mismatch("the transaction cookie is cleared"))?;
    ensure!(
        cleared.contains("Max-Age=0"),
        "the transaction cookie is cleared: {cleared}"
    );
    Ok(())
}

/// The fixed words of the client's answer to a callback that matches no login of the browser.
pub const UNMATCHED_CALLBACK: &str = "does not belong to a login started in this browser";

/// Asserts a callback refused as matching no login of this browser: a 400 with the fixed
/// message (nothing the response said is shown), and no cookie touched at all, so a forged
/// callback cannot cancel a login in progress.
pub fn expect_unmatched_callback(page: &Page) -> Result<(), Failure> {
    ensure_eq!(page.answer.status, 400, "an unmatched callback");
    ensure!(
        page.answer.body.contains(UNMATCHED_CALLBACK),
        "the fixed message: {}",
        shorten(&page.answer.body)
    );
    let touched = page.answer.header_all("set-cookie");
    ensure!(
        touched.is_empty(),
        "an unmatched callback touches no cookie: {touched:?}"
    );
    Ok(())
}

/// Whether the issuer still holds `code` unredeemed: proof the app never called the token
/// endpoint with it.
fn unredeemed(web: &WebEnv, code: &str) -> bool {
    web.issuer.issuer.code_status(code) == oidc_forge::CodeStatus::Unredeemed
}
