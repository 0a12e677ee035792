//! The cross-site request rule of cookie-authenticated routes, as a plain function.
//!
//! A browser attaches cookies to a request another site makes it send; `SameSite=Lax` keeps
//! them off cross-site POSTs in current browsers, and this rule is the defence that does not
//! depend on the browser's cookie policy (RFC 6750 5.3; draft-ietf-oauth-browser-based-apps,
//! "Cross-Site Request Forgery Protections"). [`super::Auth`] applies it to every unsafe
//! request whose token came from a cookie, and [`super::WebFlow`] to its logout.

use axum::http::{HeaderMap, Method, header};

/// Methods that change nothing (RFC 9110 9.2.1), which CSRF cannot abuse.
fn is_safe_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The CSRF rule for requests authenticated by a cookie, as a plain function
/// (RFC 6750 5.3; draft-ietf-oauth-browser-based-apps, "Cross-Site Request
/// Forgery Protections"): an unsafe method is refused when the browser says
/// it came from another site (`Sec-Fetch-Site` other than `same-origin` or
/// `none`), or when its `Origin` is not an allowed one (by default, the
/// origin of the request's own `Host`). A request with neither header is not
/// from a browser that could be forged into sending it, and passes; SameSite
/// cookies are the second line for old browsers.
pub fn cross_site_refusal(
    method: &Method,
    headers: &HeaderMap,
    allowed_origins: &[String],
) -> Option<&'static str> {
    if is_safe_method(method) {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Some("the request came from another site (Sec-Fetch-Site)");
    }
    let origin = headers.get(header::ORIGIN)?;
    let same_origin = if allowed_origins.is_empty() {
        origin_matches_host(origin.as_bytes(), headers.get(header::HOST))
    } else {
        allowed_origins
            .iter()
            .any(|allowed| allowed.as_bytes() == origin.as_bytes())
    };
    (!same_origin).then_some("the request came from another origin (Origin)")
}

/// `Origin: http(s)://HOST` where `HOST` is exactly the `Host` header
/// (an opaque `null` origin never matches).
fn origin_matches_host(origin: &[u8], host: Option<&axum::http::HeaderValue>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let authority = origin
        .strip_prefix(b"https://")
        .or_else(|| origin.strip_prefix(b"http://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn browser_headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn unsafe_methods_from_another_site_are_refused() {
        let allowed = ["http://app.example:8000".to_owned()];
        let refused = |method: Method, pairs: &[(&'static str, &str)], allowed: &[String]| {
            cross_site_refusal(&method, &browser_headers(pairs), allowed).is_some()
        };
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            // Sec-Fetch-Site: only the app's own pages or the user (address bar).
            assert!(refused(
                method.clone(),
                &[("sec-fetch-site", "cross-site")],
                &allowed
            ));
            assert!(refused(
                method.clone(),
                &[("sec-fetch-site", "same-site")],
                &allowed
            ));
            assert!(!refused(
                method.clone(),
                &[("sec-fetch-site", "same-origin")],
                &allowed
            ));
            assert!(!refused(
                method.clone(),
                &[("sec-fetch-site", "none")],
                &allowed
            ));
            // Origin against the allowed origins, exactly.
            assert!(refused(
                method.clone(),
                &[("origin", "http://evil.example")],
                &allowed
            ));
            assert!(refused(method.clone(), &[("origin", "null")], &allowed));
            assert!(refused(
                method.clone(),
                &[("origin", "https://app.example:8000")],
                &allowed
            ));
            assert!(refused(
                method.clone(),
                &[("origin", "http://app.example:8001")],
                &allowed
            ));
            assert!(!refused(
                method.clone(),
                &[("origin", "http://app.example:8000")],
                &allowed
            ));
            // Both must pass.
            assert!(refused(
                method.clone(),
                &[
                    ("origin", "http://app.example:8000"),
                    ("sec-fetch-site", "cross-site")
                ],
                &allowed
            ));
            // No browser signal at all: not a forgeable browser request.
            assert!(!refused(method.clone(), &[], &allowed));
            // Without allowed origins, the Origin must be the request's own Host.
            let host = [("host", "app.example:8000")];
            assert!(!refused(
                method.clone(),
                &[host[0], ("origin", "http://app.example:8000")],
                &[]
            ));
            assert!(!refused(
                method.clone(),
                &[host[0], ("origin", "https://APP.example:8000")],
                &[]
            ));
            assert!(refused(
                method.clone(),
                &[host[0], ("origin", "http://evil.example")],
                &[]
            ));
            assert!(refused(
                method.clone(),
                &[host[0], ("origin", "http://app.example")],
                &[]
            ));
            assert!(refused(
                method.clone(),
                &[("origin", "http://app.example:8000")],
                &[]
            ));
            assert!(refused(
                method.clone(),
                &[host[0], ("origin", "ftp://app.example:8000")],
                &[]
            ));
        }
        // Safe methods change nothing and are never refused.
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!refused(
                method,
                &[
                    ("origin", "http://evil.example"),
                    ("sec-fetch-site", "cross-site")
                ],
                &allowed
            ));
        }
    }
}
