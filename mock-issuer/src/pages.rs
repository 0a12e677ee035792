//! The few HTML pages the issuer shows a person: the login page, error pages, and the
//! signed-out page. Everything a request sent is escaped; pages cannot be framed
//! (RFC 9700 4.16) or cached.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::config::UserConfig;
use crate::state::paths;

/// Headers every page carries: no framing (clickjacking, RFC 9700 4.16), no caching, no referrer.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
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
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
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

/// The interactive login page: one button per user, and a deny button.
pub fn login_page(
    issuer: &str,
    interaction: &str,
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
<form method=\"post\" action=\"{action}\">\n<input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\n{buttons}\
<button type=\"submit\" name=\"deny\" value=\"1\" class=\"deny\">Deny</button>\n</form>",
        client = text(client_name),
        scopes = text(&scopes.join(" ")),
        action = attr(&format!("{issuer}{}", paths::LOGIN_DECISION)),
        interaction = attr(interaction),
    );
    page(StatusCode::OK, "Sign in", &body)
}

/// Shown after logout when no redirect was requested.
pub fn signed_out_page() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<p>You are signed out of oidc-forge.</p>",
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
