//! Whether a redirect URI sent in a request is one the client registered (RFC 6749 3.1.2.3;
//! RFC 9700 4.1.3: exact string comparison), with RFC 8252 7.3's one exception for clients that
//! opt into it: a loopback URI matches whatever its port, since a local app picks a free port
//! when it starts.

use crate::rules::issuer::is_loopback;

/// `given` against `registered`: the same string, or, with `loopback_any_port`, the same
/// `http` URI on a loopback host (`127.0.0.1`, `[::1]`, `localhost`) but for the port.
pub fn matches(registered: &str, given: &str, loopback_any_port: bool) -> bool {
    registered == given || (loopback_any_port && same_loopback_uri_but_port(registered, given))
}

fn same_loopback_uri_but_port(registered: &str, given: &str) -> bool {
    let (Ok(registered), Ok(parsed)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    // Only the port may differ, so `given` must be written as the parser writes it: no other
    // spelling of the host (`127.1`, `LOCALHOST`), no dot segments, no stray whitespace.
    if parsed.as_str() != given {
        return false;
    }
    let given = parsed;
    // RFC 8252 8.3: loopback redirect URIs use plain http; everything but the port must match.
    registered.scheme() == "http"
        && given.scheme() == "http"
        && is_loopback(&registered)
        && registered.host() == given.host()
        && registered.username() == given.username()
        && registered.password() == given.password()
        && registered.path() == given.path()
        && registered.query() == given.query()
        && given.fragment().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_always_and_any_port_only_on_loopback_when_allowed() {
        let registered = "http://localhost/callback";
        assert!(matches(registered, registered, false));
        assert!(!matches(
            registered,
            "http://localhost:5000/callback",
            false
        ));
        for given in [
            "http://localhost:5000/callback",
            "http://localhost:8000/callback",
            "http://localhost/callback",
        ] {
            assert!(matches(registered, given, true), "{given}");
        }
        assert!(matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:49152/cb",
            true
        ));
        assert!(matches("http://[::1]/cb", "http://[::1]:49152/cb", true));
        for given in [
            "http://localhost:5000/callback/",
            "http://localhost:5000/callbackx",
            "http://localhost:5000/callback?x=1",
            "http://localhost:5000/callback#f",
            "http://127.0.0.1:5000/callback",
            "https://localhost:5000/callback",
            "http://localhost.evil.example:5000/callback",
            "http://user@localhost:5000/callback",
            // Other spellings of the same loopback URI (review 13 F6): written only as parsed.
            "HTTP://LOCALHOST:5000/callback",
            "http:localhost:5000/callback",
            "http://localhost:5000/x/../callback",
            "http://loc\talhost:5000/callback",
            " http://localhost:5000/callback",
        ] {
            assert!(!matches(registered, given, true), "{given}");
        }
        for (registered, given) in [
            ("http://127.0.0.1/cb", "http://127.1:5000/cb"),
            ("http://127.0.0.1/cb", "http://0x7f000001:5000/cb"),
            ("http://127.0.0.1/cb", "http://2130706433:5000/cb"),
        ] {
            assert!(!matches(registered, given, true), "{given}");
        }
        // Only loopback hosts: a registered public host keeps its port.
        assert!(!matches(
            "http://app.example/cb",
            "http://app.example:8080/cb",
            true
        ));
        assert!(!matches(
            "https://127.0.0.1/cb",
            "https://127.0.0.1:8443/cb",
            true
        ));
    }
}
