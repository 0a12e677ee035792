//! The browser flow's rules as plain functions over plain data: what the callback's query may
//! hold, whose response it is (RFC 9207), where the user may be sent after login
//! (RFC 9700 4.11.1), and whose session an encrypted cookie holds.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

/// The callback's query, with duplicates refused (RFC 6749 3.1).
pub(super) struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// `None` when a parameter is repeated.
    pub fn parse(query: &str) -> Option<Self> {
        let mut params = CallbackParams {
            code: None,
            state: None,
            iss: None,
            error: None,
            error_description: None,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(value.into_owned());
        }
        Some(params)
    }
}

/// RFC 9207 2.4, as a plain function: an authorization response's `iss` must be the issuer the
/// client talks to; when the issuer advertises the parameter
/// (`authorization_response_iss_parameter_supported`), a response without it is refused too,
/// since that is what a mix-up attack's response would look like (C-07).
pub fn check_response_issuer(
    iss: Option<&str>,
    expected: &str,
    advertised: bool,
) -> Result<(), &'static str> {
    match iss {
        Some(iss) if iss != expected => Err("The response came from another issuer (RFC 9207)."),
        None if advertised => Err("The response lacks the issuer identifier (RFC 9207)."),
        _ => Ok(()),
    }
}

/// The `sub` of a JWT we stored ourselves in an encrypted cookie; it was
/// validated when the session was made, so only the payload is read.
pub(super) fn unverified_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Accepts only same-origin relative paths for the post-login redirect
/// (RFC 9700 4.11.1; C-18): `/path?query`, never `//host`, `/\host`, a
/// scheme, or control characters.
///
/// What is judged is the path as the browser will read the `Location`: after
/// dot segments (`/./`, `/a/..`, and their percent-encoded forms) are
/// resolved, since `/.//evil.example` resolves to `//evil.example`, a
/// network-path reference to another host.
pub fn safe_return_to(candidate: &str) -> Option<String> {
    if !candidate.starts_with('/')
        || candidate.len() > 2048
        || candidate
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    {
        return None;
    }
    // Resolving against a placeholder origin must not leave it.
    let base = Url::parse("http://return-to.invalid/").ok()?;
    let resolved = base.join(candidate).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut path = resolved.path().to_owned();
    // RFC 3986 4.2: `//` starts an authority; browsers read `/\` the same way.
    if path.starts_with("//") || path.starts_with("/\\") {
        return None;
    }
    if let Some(query) = resolved.query() {
        path.push('?');
        path.push_str(query);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_accepts_only_same_origin_paths() {
        assert_eq!(safe_return_to("/protected").as_deref(), Some("/protected"));
        assert_eq!(
            safe_return_to("/a/b?x=1&y=2").as_deref(),
            Some("/a/b?x=1&y=2")
        );
        assert_eq!(safe_return_to("/a/../b").as_deref(), Some("/b"));
        assert_eq!(safe_return_to("/a/.//b").as_deref(), Some("/a//b"));
        for hostile in [
            "https://evil.example/",
            "//evil.example/",
            // Dot segments that resolve to a network-path reference.
            "/.//evil.example",
            "/a/..//evil.example",
            "/%2e//evil.example",
            "/%2E//evil.example",
            "/a/%2e%2e//evil.example",
            "/./%2e//evil.example/path?x=1",
            "/..//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "evil",
            "/a\r\nSet-Cookie: x",
            "javascript:alert(1)",
            "/\tevil",
            "",
        ] {
            assert_eq!(safe_return_to(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn return_to_limits_its_length_and_characters() {
        let long = format!("/{}", "a".repeat(2047));
        assert_eq!(safe_return_to(&long).as_deref(), Some(long.as_str()));
        assert_eq!(safe_return_to(&format!("{long}a")), None, "2,049 bytes");
        // Each refused alone: a space, a control that is no whitespace, a backslash mid-path.
        for hostile in ["/a b", "/a\u{7}b", "/a\\b", "/a\u{0}b"] {
            assert_eq!(safe_return_to(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn the_response_issuer_rule_follows_rfc9207() {
        let issuer = "https://issuer.example";
        assert_eq!(check_response_issuer(Some(issuer), issuer, true), Ok(()));
        assert_eq!(check_response_issuer(Some(issuer), issuer, false), Ok(()));
        for advertised in [true, false] {
            assert!(
                check_response_issuer(Some("https://evil.example"), issuer, advertised).is_err()
            );
            assert!(
                check_response_issuer(Some("https://issuer.example/"), issuer, advertised).is_err()
            );
        }
        assert!(check_response_issuer(None, issuer, true).is_err());
        // An issuer that does not advertise the parameter may leave it out.
        assert_eq!(check_response_issuer(None, issuer, false), Ok(()));
    }

    #[test]
    fn callback_params_refuse_duplicates() {
        assert!(CallbackParams::parse("code=a&state=b&iss=c").is_some());
        assert!(CallbackParams::parse("code=a&state=b&state=c").is_none());
        assert!(CallbackParams::parse("error=a&error=b").is_none());
    }

    #[test]
    fn unverified_subject_reads_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u-1"}"#);
        assert_eq!(
            unverified_subject(&format!("h.{payload}.s")).as_deref(),
            Some("u-1")
        );
        assert_eq!(unverified_subject("garbage"), None);
    }
}
