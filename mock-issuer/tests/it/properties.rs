//! Properties of the issuer's rules, each against an oracle written here from the spec:
//! PKCE verification accepts exactly the matching verifier (RFC 7636 4.1, 4.2, 4.6), scope
//! parsing and comparison are exact (RFC 6749 3.3: space-delimited, case-sensitive tokens of
//! %x21 / %x23-5B / %x5D-7E), and request parameters keep the first value and report
//! duplicates (RFC 6749 3.1).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_forge::internals::Params;
use oidc_forge::internals::pkce::{self, PkceChallenge, PkceError, PkceMethod};
use oidc_forge::internals::scope;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// RFC 7636 4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." /
/// "_" / "~".
fn rfc_verifier(verifier: &str) -> bool {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    (43..=128).contains(&verifier.chars().count()) && verifier.chars().all(unreserved)
}

/// RFC 7636 4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))).
fn rfc_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn rfc_scope_char(c: char) -> bool {
    matches!(c, '\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
}

fn valid_verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

/// Mostly near-valid verifiers: right alphabet with a wrong length, or one stray character.
fn any_verifier() -> impl Strategy<Value = String> {
    prop_oneof![
        valid_verifier(),
        "[A-Za-z0-9._~-]{0,42}",
        "[A-Za-z0-9._~-]{129,140}",
        "[A-Za-z0-9._~-]{20,60}[+/= %é\t][A-Za-z0-9._~-]{20,60}",
        ".{0,130}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn s256_accepts_exactly_the_matching_verifier(
        verifier in valid_verifier(),
        presented in any_verifier(),
    ) {
        let stored = PkceChallenge { challenge: rfc_s256(&verifier), method: PkceMethod::S256 };
        prop_assert_eq!(pkce::verify(Some(&stored), Some(&verifier)), Ok(()));
        let expected = if !rfc_verifier(&presented) {
            Err(PkceError::MalformedVerifier)
        } else if presented == verifier {
            Ok(())
        } else {
            Err(PkceError::Mismatch)
        };
        prop_assert_eq!(pkce::verify(Some(&stored), Some(&presented)), expected);
        // RFC 9700 4.8.2: no challenge stored, no verifier accepted, and the reverse.
        prop_assert_eq!(pkce::verify(None, Some(&presented)), Err(PkceError::UnexpectedVerifier));
        prop_assert_eq!(pkce::verify(Some(&stored), None), Err(PkceError::MissingVerifier));
    }

    #[test]
    fn plain_accepts_exactly_the_same_string(verifier in valid_verifier(), presented in any_verifier()) {
        let stored = PkceChallenge { challenge: verifier.clone(), method: PkceMethod::Plain };
        let expected = rfc_verifier(&presented) && presented == verifier;
        prop_assert_eq!(pkce::verify(Some(&stored), Some(&presented)).is_ok(), expected);
    }

    #[test]
    fn verifier_syntax_is_rfc_7636(verifier in any_verifier()) {
        prop_assert_eq!(pkce::is_valid_verifier(&verifier), rfc_verifier(&verifier));
        prop_assert_eq!(pkce::s256_challenge(&verifier), rfc_s256(&verifier));
    }

    #[test]
    fn scope_parsing_is_exact(
        tokens in prop::collection::vec(
            prop_oneof![
                Just("read".to_owned()),
                Just("READ".to_owned()),
                Just("read:all".to_owned()),
                Just("rea".to_owned()),
                Just("openid".to_owned()),
                "[!#-\\[\\]-~]{1,8}",
                ".{1,4}",
            ],
            0..6,
        ),
        separators in prop::collection::vec(prop_oneof![Just(" "), Just("  "), Just("\t"), Just("\u{a0}")], 6),
    ) {
        let mut raw = String::new();
        for (i, token) in tokens.iter().enumerate() {
            if i > 0 {
                raw.push_str(separators[i]);
            }
            raw.push_str(token);
        }
        // The oracle: split on the space character only; any other byte outside the scope
        // alphabet (tab, NBSP, quote, backslash, non-ASCII) makes the whole parameter invalid.
        let pieces: Vec<&str> = raw.split(' ').filter(|t| !t.is_empty()).collect();
        let valid = pieces.iter().all(|t| t.chars().all(rfc_scope_char));
        match scope::parse(&raw) {
            Ok(parsed) => {
                prop_assert!(valid, "{:?} accepted as {:?}", raw, parsed);
                let mut expected: Vec<String> = Vec::new();
                for piece in pieces {
                    if !expected.iter().any(|e| e == piece) {
                        expected.push(piece.to_owned());
                    }
                }
                prop_assert_eq!(&parsed, &expected);
                // Membership is exact: no prefix, case or substring matches.
                for probe in ["read", "READ", "rea", "read:all", "openid", "Read", "read "] {
                    prop_assert_eq!(
                        scope::contains(&parsed, probe),
                        expected.iter().any(|e| e == probe),
                        "{:?} in {:?}", probe, parsed
                    );
                }
                prop_assert_eq!(scope::parse(&scope::join(&parsed)).ok(), Some(parsed));
            }
            Err(description) => {
                prop_assert!(!valid, "{:?} refused: {}", raw, description);
                prop_assert!(description.contains("RFC 6749 3.3"), "{}", description);
            }
        }
    }

    #[test]
    fn parameters_keep_the_first_value_and_report_duplicates(
        pairs in prop::collection::vec(("[a-c]{1,2}", "[x-z0-9]{0,3}"), 0..8),
    ) {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let params = Params::parse(body.as_bytes());
        for (name, _) in &pairs {
            let sent: Vec<&String> = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect();
            // RFC 6749 3.1: an empty value counts as omitted.
            let first = sent[0];
            prop_assert_eq!(params.get(name), (!first.is_empty()).then_some(first.as_str()));
            prop_assert_eq!(params.is_duplicated(name), sent.len() > 1);
        }
    }
}
