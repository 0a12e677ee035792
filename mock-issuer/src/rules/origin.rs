//! Where a browser request came from, for the requests only the issuer's own pages may send:
//! the login page's answer, the logout confirmation, and every request to the admin API.
//!
//! A browser names the page that sent a request in `Origin` (RFC 6454 7; sent on every POST)
//! and, in current browsers, in `Sec-Fetch-Site` (Fetch Metadata). A request from another
//! site is refused on either; one with neither header does not come from a browser page
//! (curl, a test, a server), which a cross-site forgery cannot be.

use axum::http::{HeaderMap, HeaderValue, header};

/// Why a request is treated as coming from another site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrossSite {
    #[error("the request came from another origin (Origin is not the issuer's)")]
    Origin,
    #[error("the request came from another site (Sec-Fetch-Site: {0})")]
    FetchSite(&'static str),
}

/// `Err` when `headers` show a request sent by a page of another origin than `own_origin`
/// (the issuer's, `scheme://host[:port]`). An opaque `Origin: null` (sandboxed frames,
/// redirects across origins, `data:` pages) is another origin.
pub fn check_same_origin(own_origin: &str, headers: &HeaderMap) -> Result<(), CrossSite> {
    if let Some(site) = headers.get("sec-fetch-site") {
        match site.as_bytes() {
            b"same-origin" | b"none" => {}
            b"same-site" => return Err(CrossSite::FetchSite("same-site")),
            b"cross-site" => return Err(CrossSite::FetchSite("cross-site")),
            _ => return Err(CrossSite::FetchSite("unknown")),
        }
    }
    match headers.get(header::ORIGIN) {
        Some(origin) if !origin_is(origin, own_origin) => Err(CrossSite::Origin),
        _ => Ok(()),
    }
}

/// Origins are compared as ASCII serialisations (RFC 6454 6.2), case-insensitively for the
/// scheme and host a browser lowercases anyway.
fn origin_is(origin: &HeaderValue, own: &str) -> bool {
    origin.as_bytes().eq_ignore_ascii_case(own.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    const OWN: &str = "http://127.0.0.1:9000";

    #[test]
    fn only_the_issuers_own_pages_or_no_page_pass() {
        let check = |pairs: &[(&'static str, &str)]| check_same_origin(OWN, &headers(pairs));
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&[("origin", OWN)]), Ok(()));
        assert_eq!(check(&[("origin", "HTTP://127.0.0.1:9000")]), Ok(()));
        assert_eq!(check(&[("sec-fetch-site", "same-origin")]), Ok(()));
        assert_eq!(check(&[("sec-fetch-site", "none")]), Ok(()));
        for origin in [
            "https://evil.example",
            "null",
            "http://127.0.0.1:9001",
            "https://127.0.0.1:9000",
            "http://localhost:9000",
        ] {
            assert_eq!(
                check(&[("origin", origin)]),
                Err(CrossSite::Origin),
                "{origin}"
            );
        }
        assert_eq!(
            check(&[("sec-fetch-site", "cross-site")]),
            Err(CrossSite::FetchSite("cross-site"))
        );
        assert_eq!(
            check(&[("sec-fetch-site", "same-site")]),
            Err(CrossSite::FetchSite("same-site"))
        );
        assert_eq!(
            check(&[("origin", OWN), ("sec-fetch-site", "cross-site")]),
            Err(CrossSite::FetchSite("cross-site"))
        );
    }
}
