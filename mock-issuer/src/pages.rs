//! The few HTML pages the issuer shows a person: the login page, error pages, and the
//! signed-out page. Everything a request sent is escaped; pages cannot be framed
//! (RFC 9700 4.16) or cached, and send no referrer to other sites.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::config::UserConfig;
use crate::endpoints::Endpoint;

/// The pages' Content-Security-Policy: nothing but their own inline style, never framed.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/// Headers every page carries: no framing (clickjacking, RFC 9700 4.16), no caching, no referrer
/// to other sites.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_csp(status, title, body, CSP)
}

fn page_with_csp(status: StatusCode, title: &str, body: &str, csp: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} - oidc-forge</title>\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\
button{{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem;cursor:pointer;text-align:left}}\
button.deny{{text-align:center;background:#fee;border:1px solid #c66}}code{{background:#f4f4f4;padding:0 .2rem}}\
small{{color:#666}}</style></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body></html>\n",
        title = text(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, csp),
            // Not `no-referrer`: under it a browser sends `Origin: null` with the page's own
            // form posts (Fetch, "append a request Origin header"), and those posts must show
            // the issuer's origin. `same-origin` still sends nothing to other sites.
            (header::REFERRER_POLICY, "same-origin"),
        ],
        html,
    )
        .into_response()
}

/// An authorization error that must not be redirected (RFC 6749 4.1.2.1).
pub fn error_page(error: &str, description: &str) -> Response {
    let body = format!(
        "<p>The request cannot be completed and is not sent back to the application, because the application or its redirect URI could not be verified.</p>\n\
<p><strong id=\"error\">{}</strong></p>\n<p id=\"error_description\">{}</p>",
        text(error),
        text(description)
    );
    page(StatusCode::BAD_REQUEST, "Authorization error", &body)
}

/// The interactive login page: one button per user, and a deny button. The form carries the
/// interaction id and its form token; the answer must also bring the browser's binding cookie.
pub fn login_page(
    issuer: &str,
    interaction: &str,
    form_token: &str,
    client_name: &str,
    scopes: &[String],
    users: &[UserConfig],
    hint: Option<&UserConfig>,
) -> Response {
    let mut buttons = String::new();
    let ordered = hint
        .into_iter()
        .chain(users.iter().filter(|u| Some(u.sub) != hint.map(|h| h.sub)));
    for user in ordered {
        let label = user.name.as_deref().unwrap_or(&user.email);
        buttons.push_str(&format!(
            "<button type=\"submit\" name=\"user\" value=\"{sub}\" data-email=\"{email_attr}\"{autofocus}>Sign in as <strong>{label}</strong> <small>{email} &middot; {sub}</small></button>\n",
            sub = user.sub,
            email_attr = attr(&user.email),
            autofocus = if hint.is_some_and(|h| h.sub == user.sub) { " autofocus" } else { "" },
            label = text(label),
            email = text(&user.email),
        ));
    }
    let body = format!(
        "<p><strong>{client}</strong> asks to sign you in with scopes <code>{scopes}</code>.</p>\n\
<form method=\"post\" action=\"{action}\">\n<input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\n<input type=\"hidden\" name=\"form_token\" value=\"{form_token}\">\n{buttons}\
<button type=\"submit\" name=\"deny\" value=\"1\" class=\"deny\">Deny</button>\n</form>",
        client = text(client_name),
        scopes = text(&scopes.join(" ")),
        action = attr(&format!("{issuer}{}", Endpoint::LoginDecision.path())),
        interaction = attr(interaction),
        form_token = attr(form_token),
    );
    page(StatusCode::OK, "Sign in", &body)
}

/// RP-Initiated Logout 1.0 section 2: without an `id_token_hint` for the signed-in user, the
/// issuer asks before ending the session. The form posts the request back with the
/// confirmation token, which only this session's page knows.
pub fn logout_confirmation_page(
    issuer: &str,
    confirmation: &str,
    params: &[(&str, &str)],
    user: &str,
    auto_submit: bool,
) -> Response {
    let mut hidden = String::new();
    for (name, value) in params {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            attr(name),
            attr(value)
        ));
    }
    let body = format!(
        "<p>Sign <strong>{user}</strong> out of oidc-forge?</p>\n\
<form method=\"post\" action=\"{action}\">\n{hidden}<input type=\"hidden\" name=\"confirmation\" value=\"{confirmation}\">\n\
<button type=\"submit\" name=\"logout\" value=\"1\" id=\"confirm-logout\">Sign out</button>\n</form>",
        user = text(user),
        action = attr(&format!("{issuer}{}", Endpoint::Logout.path())),
        confirmation = attr(confirmation),
    );
    if !auto_submit {
        return page(StatusCode::OK, "Sign out", &body);
    }
    // Auto-login mode answers for the user: the page posts itself, and the CSP allows exactly
    // this one script (by its hash).
    let body = format!("{body}\n<script>{AUTO_SUBMIT}</script>");
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src '{}'; frame-ancestors 'none'",
        &*AUTO_SUBMIT_HASH
    );
    page_with_csp(StatusCode::OK, "Sign out", &body, &csp)
}

/// The script of an auto-submitted confirmation page.
const AUTO_SUBMIT: &str = "document.forms[0].submit();";

/// Its CSP source expression, `sha256-BASE64` (CSP 3, hash-source).
static AUTO_SUBMIT_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, AUTO_SUBMIT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
});

/// Shown after logout when there is no redirect: none was asked for, or the request did not
/// say which client asked (RP-Initiated Logout 1.0 section 3). `back` is a registered
/// post-logout URI the user may follow by hand.
pub fn signed_out_page(back: Option<&str>) -> Response {
    let link = back.map_or_else(String::new, |uri| {
        format!(
            "\n<p><a id=\"return\" href=\"{}\">Return to the application</a></p>",
            attr(uri)
        )
    });
    page(
        StatusCode::OK,
        "Signed out",
        &format!("<p>You are signed out of oidc-forge.</p>{link}"),
    )
}

/// A logout request that cannot be honoured.
pub fn logout_error_page(description: &str) -> Response {
    let body = format!(
        "<p><strong id=\"error\">invalid_request</strong></p>\n<p id=\"error_description\">{}</p>",
        text(description)
    );
    page(StatusCode::BAD_REQUEST, "Logout error", &body)
}

/// A form post to one of the issuer's pages that came from another site.
pub fn cross_site_page(why: &str) -> Response {
    let body = format!(
        "<p><strong id=\"error\">access_denied</strong></p>\n<p id=\"error_description\">{}: only the issuer's own pages may send this.</p>",
        text(why)
    );
    page(StatusCode::FORBIDDEN, "Request refused", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_pages_escape_what_the_request_sent() {
        let response = error_page("invalid_request", "<script>alert(1)</script>");
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!body.contains("<script>"));
    }
}
