//! The session cookie, `return_to` and logout, black box (C-15, C-18, C-22).

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Method;

use crate::ensure;
use oidc_forge_testkit::SetCookie;

use crate::http::{Browser, Page, shorten};
use crate::scenario::{Failure, Outcome, Pass, case, unshaped};
use crate::web_target::{Started, WebTarget, replace_param, same_origin};

use super::{crashed, no_crash, twin};

/// The cookies the app's pages left set, by name: the last `Set-Cookie` line of each that
/// did not clear it.
fn cookies_left(target: &WebTarget, pages: &[Page]) -> BTreeMap<String, String> {
    let mut left = BTreeMap::new();
    for page in pages.iter().filter(|page| target.on_app(&page.url)) {
        for line in page.answer.header_all("set-cookie") {
            let cookie = SetCookie::parse(&line);
            if cookie.clears() {
                left.remove(cookie.name);
            } else {
                left.insert(cookie.name.to_owned(), line.clone());
            }
        }
    }
    left
}

/// Whether a cookie value looks like a JWS or JWE in the clear: three or five base64url
/// parts, the first of them a JSON header.
fn holds_a_token(value: &str) -> bool {
    use base64::Engine;
    let parts: Vec<&str> = value.split('.').collect();
    matches!(parts.len(), 3 | 5)
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .is_some_and(|header| header.get("alg").is_some())
}

/// A browser holding `jar`.
fn browser_with(target: &WebTarget, jar: &oidc_forge_testkit::CookieJar) -> Browser {
    let mut browser = target.browser();
    *browser.cookies_mut() = jar.clone();
    browser
}

/// C-15: the session cookie (browser-based-apps "Cookie Security"; RFC 6265bis 8.8; RFC 6750
/// 5.3): `HttpOnly`, `Secure` on https, a `SameSite`, no token in the clear; and renewed at
/// login: a cookie an attacker planted before the login does not carry the session after it.
pub async fn c15_session_cookie(target: Arc<WebTarget>) -> Outcome {
    let mut victim = target.browser();
    let pages = target.log_in(&mut victim, &target.user).await?;
    no_crash(&target, &pages, "the login")?;
    ensure!(
        target.signed_in_as(&mut victim, &target.user).await?,
        "the valid twin: the login signs in"
    );
    let left = cookies_left(&target, &pages);
    // The session's cookies: each one without which the browser is signed out. When none
    // alone is (a session and a remember-me cookie, say), which carries the session cannot be
    // told, and a cookie that is meant to be read by scripts (a CSRF token) may be among
    // them: their HttpOnly is then a warning.
    let mut session = Vec::new();
    for name in left.keys() {
        let mut without = browser_with(&target, victim.cookies());
        without.cookies_mut().remove(name);
        if !target.signed_in_as(&mut without, &target.user).await? {
            session.push(name.clone());
        }
    }
    let certain = !session.is_empty();
    if !certain {
        session = left.keys().cloned().collect();
    }
    ensure!(
        !session.is_empty(),
        "the login set no cookie on the app: how is the session kept?"
    );
    let https = target.url.starts_with("https:");
    for name in &session {
        let line = &left[name];
        let cookie = SetCookie::parse(line);
        if cookie.attribute("httponly").is_none() {
            let why = format!(
                "the session cookie {name} is not HttpOnly: any script on the page can read it (browser-based-apps, Cookie Security: MUST)"
            );
            if certain {
                case::<()>(Err(Failure::mismatch(why)))?;
            } else {
                unshaped(format!(
                    "{why}; no single cookie carries the session, so this one may be meant for scripts"
                ))?;
            }
        }
        if https && cookie.attribute("secure").is_none() {
            case::<()>(Err(Failure::mismatch(format!(
                "the session cookie {name} of an https app is not Secure (browser-based-apps, Cookie Security: MUST)"
            ))))?;
        }
        match cookie.attribute("samesite").map(|v| v.to_ascii_lowercase()) {
            Some(value) if value == "lax" || value == "strict" => {}
            other => unshaped(format!(
                "the session cookie {name} has SameSite {other:?}: Lax or Strict keeps it off cross-site requests (RFC 6265bis 8.8; browser-based-apps)"
            ))?,
        }
    }
    // A token in any cookie of the app's, in the clear, is readable wherever the cookie is.
    for (name, line) in &left {
        if holds_a_token(SetCookie::parse(line).value) {
            unshaped(format!(
                "the cookie {name} holds a token in the clear: encrypt it, or keep it on the server (RFC 6750 5.3; browser-based-apps, Cookie Security)"
            ))?;
        }
    }
    // Session fixation: the attacker's pre-login cookies, planted in the victim's browser.
    let mut attacker = target.browser();
    target.start(&mut attacker, &target.login_url()).await?;
    let planted = attacker.cookies().clone();
    if planted.is_empty() {
        return Ok(Pass::new(format!(
            "session cookie(s) {}: HttpOnly{}; no cookie before login to fix",
            session.join(", "),
            if https { ", Secure" } else { "" }
        )));
    }
    let mut fixed = browser_with(&target, &planted);
    let pages = target.log_in(&mut fixed, &target.user).await?;
    no_crash(&target, &pages, "the login with planted cookies")?;
    ensure!(
        !target.signed_in_as(&mut attacker, &target.user).await?,
        "session fixation: the attacker's pre-login cookies ({}) are signed in as {} once the victim logs in with them",
        planted
            .iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
            .join(", "),
        target.user.email
    );
    Ok(Pass::new(format!(
        "session cookie(s) {}: HttpOnly{}; renewed at login (planted cookies stay signed out)",
        session.join(", "),
        if https { ", Secure" } else { "" }
    )))
}

/// C-18: the page after login, from the `return_to` parameter, stays on the app (RFC 9700
/// 4.11.1): absolute URLs, scheme-relative `//host`, `/\host`, dot segments.
pub async fn c18_return_to(target: Arc<WebTarget>) -> Outcome {
    let Some(param) = target.settings.return_to.clone() else {
        return Err(Failure::skipped(
            "the [web] table names no return_to parameter",
        ));
    };
    twin(&target).await?;
    let mut seen = Vec::new();
    // The app's own origin as a prefix of the evil one: a check by `startswith` lets these by.
    let app = target.url.clone();
    let lookalikes = [
        format!("{app}@evil.example/"),
        format!("{app}.evil.example/"),
    ];
    let payloads = [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/..//evil.example/",
        "/%2e%2e//evil.example/",
        "/%2F%2Fevil.example/",
        "https:evil.example/",
    ];
    for payload in payloads
        .iter()
        .copied()
        .chain(lookalikes.iter().map(String::as_str))
    {
        let outcome = async {
            let mut browser = target.browser();
            let start = replace_param(&target.login_url(), &param, Some(payload))?;
            let authorize = match target.start(&mut browser, &start).await? {
                Started::Authorize(url) => url,
                Started::Stopped(page) => {
                    leaves(&target, &page, payload)?;
                    ensure!(
                        !crashed(page.answer.status),
                        "{param}={payload}: the login start crashed with {}",
                        page.answer.status
                    );
                    return Ok(format!(
                        "{payload}: refused at the start ({})",
                        page.answer.status
                    ));
                }
            };
            let hinted = replace_param(&authorize, "login_hint", Some(&target.user.email))?;
            let callback = browser
                .get(&hinted)
                .await?
                .location
                .ok_or_else(|| Failure::setup("the issuer did not redirect back"))?;
            let pages = target.visit(&mut browser, &callback).await?;
            no_crash(&target, &pages, payload)?;
            for page in &pages {
                leaves(&target, page, payload)?;
            }
            Ok(format!("{payload}: stayed on the app"))
        }
        .await;
        seen.extend(case(outcome)?);
    }
    Ok(Pass::new(seen.join("; ")))
}

/// Fails when the app's `page` sends the browser off the app (and off the issuer): by a
/// redirect, or by a `Refresh` header or a `<meta http-equiv="refresh">` naming the evil host.
fn leaves(target: &WebTarget, page: &Page, payload: &str) -> Result<(), Failure> {
    if !target.on_app(&page.url) {
        return Ok(());
    }
    if let (true, Some(next)) = (page.is_redirect(), &page.location)
        && !target.on_app(next)
        && !same_origin(next, target.issuer.url())
    {
        return Err(Failure::mismatch(format!(
            "return_to={payload}: {} redirects to {next}: an open redirect",
            page.url
        )));
    }
    let refresh = page.answer.header("refresh").to_ascii_lowercase();
    let body = page.answer.body.to_ascii_lowercase();
    let meta_refresh =
        body.contains("http-equiv=\"refresh\"") || body.contains("http-equiv=refresh");
    if refresh.contains("evil.example") || (meta_refresh && body.contains("evil.example")) {
        return Err(Failure::mismatch(format!(
            "return_to={payload}: {} refreshes the browser to evil.example: an open redirect",
            page.url
        )));
    }
    Ok(())
}

/// C-22: logout (RP-Initiated Logout 1.0 2, 3): the local session is gone, the browser goes
/// to the issuer's `end_session_endpoint` with `id_token_hint` or `client_id`, the issuer
/// accepts the `post_logout_redirect_uri`, and the protected page asks for login again.
pub async fn c22_logout(target: Arc<WebTarget>) -> Outcome {
    let Some(logout) = target.settings.logout.clone() else {
        return Err(Failure::skipped("the [web] table names no logout URL"));
    };
    let mut browser = twin(&target).await?;
    let method = target.settings.logout_method.clone();
    let logout_url = target.app(&logout);
    // A logout form's hidden fields (a CSRF token), as the signed-in page has them.
    let fields = if method == "POST" {
        let page = browser.get(&target.app(&target.settings.protected)).await?;
        form_fields(&page.answer.body, &page.url, &logout_url)
    } else {
        Vec::new()
    };
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut pages = vec![
        target
            .same_site(&mut browser, &method, &logout_url, &fields)
            .await?,
    ];
    for _ in 0..20 {
        let Some(next) = pages
            .last()
            .filter(|page| page.is_redirect())
            .and_then(|page| page.location.clone())
        else {
            break;
        };
        if target.is_authorize(&next)
            || (!target.on_app(&next) && !same_origin(&next, target.issuer.url()))
        {
            break;
        }
        pages.push(browser.request(Method::GET, &next, &[], None).await?);
    }
    no_crash(&target, &pages, "the logout")?;
    if let Some(first) = pages.first()
        && (400..500).contains(&first.answer.status)
    {
        return Err(Failure::skipped(format!(
            "{method} {logout} answered {}: the harness sent the protected page's form fields for it, if it has a form, and the app refused the logout",
            first.answer.status
        )));
    }
    ensure!(
        !target.signed_in_as(&mut browser, &target.user).await?,
        "after {method} {logout}, the browser is still signed in"
    );
    let mut seen = vec![format!("{method} {logout}: signed out")];
    let end_session = target.endpoints.end_session.as_deref().unwrap_or("\u{0}");
    match pages
        .iter()
        .position(|page| page.url.split('?').next() == Some(end_session))
    {
        None => unshaped(
            "the logout does not send the browser to the issuer's end_session_endpoint: the issuer's session lives on (RP-Initiated Logout 1.0 2)",
        )?,
        Some(at) => {
            let query = crate::http::query_of(&pages[at].url)?;
            if !query.contains_key("id_token_hint") && !query.contains_key("client_id") {
                unshaped(
                    "the logout request names neither id_token_hint nor client_id (RP-Initiated Logout 1.0 2: RECOMMENDED)",
                )?;
            }
            let answer = &pages[at].answer;
            if answer.status >= 400 {
                unshaped(format!(
                    "the issuer refused the logout request with {}: {}",
                    answer.status,
                    shorten(&answer.body)
                ))?;
            } else {
                seen.push("end_session_endpoint accepted it".into());
            }
        }
    }
    Ok(Pass::new(seen.join("; ")))
}

/// The fields of the form on `html` (fetched from `page_url`) whose action is `action`: its
/// inputs with a name, as a browser submits them (the hidden CSRF token among them). A plain
/// scan, not a parser: enough for the forms frameworks render.
fn form_fields(html: &str, page_url: &str, action: &str) -> Vec<(String, String)> {
    let lower = html.to_ascii_lowercase();
    let base = url::Url::parse(page_url).ok();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| i + at) {
        let tag_end = lower[start..].find('>').map_or(lower.len(), |i| i + start);
        let end = lower[tag_end..]
            .find("</form")
            .map_or(lower.len(), |i| i + tag_end);
        let resolved = attribute_of(&html[start..tag_end], "action")
            .map(|raw| raw.replace("&amp;", "&"))
            .and_then(|raw| base.as_ref()?.join(&raw).ok())
            .map(|url| url.to_string());
        if resolved.as_deref() == Some(action) {
            return html[tag_end..end]
                .match_indices('<')
                .filter(|(i, _)| lower[tag_end + i..].starts_with("<input"))
                .filter_map(|(i, _)| {
                    let tag = &html[tag_end + i..];
                    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
                    let name = attribute_of(tag, "name")?;
                    let value = attribute_of(tag, "value").unwrap_or_default();
                    Some((name, value.replace("&amp;", "&")))
                })
                .collect();
        }
        at = end.max(start + 1);
    }
    Vec::new()
}

/// An attribute's value in a tag: `name="v"`, `name='v'` or `name=v`.
fn attribute_of(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name).map(|i| i + from) {
        from = found + name.len();
        let before = lower[..found].chars().last();
        if !before.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        return Some(match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                rest[1..].split(quote).next().unwrap_or_default().to_owned()
            }
            _ => rest
                .split(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_forms_fields_are_read_as_a_browser_submits_them() {
        let html = r#"<form method="post" action="/castles/claim"><input type="hidden" name="x" value="1"></form>
            <FORM method=post ACTION='/logout?next=/&amp;a=b'>
              <input type="hidden" name="csrfmiddlewaretoken" value="t0k&amp;en">
              <input name=keep value=yes /><button>Log out</button>
            </FORM>"#;
        assert_eq!(
            form_fields(html, "http://app/protected", "http://app/logout?next=/&a=b"),
            vec![
                ("csrfmiddlewaretoken".to_owned(), "t0k&en".to_owned()),
                ("keep".to_owned(), "yes".to_owned())
            ]
        );
        assert!(form_fields(html, "http://app/protected", "http://app/other").is_empty());
        assert!(form_fields("<form action=", "http://app/", "http://app/").is_empty());
        assert_eq!(
            attribute_of("<input data-name=\"no\" name=\"yes\"", "name"),
            Some("yes".into())
        );
        assert_eq!(attribute_of("<input name", "name"), None);
    }
}
