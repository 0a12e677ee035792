//! The text names of the mutations, shared by the CLI (`--mutation NAME[=ARG]`), the admin API
//! (`"mutations": ["NAME[=ARG]", ...]`) and the README: one table ([`mutation_names!`]) writes
//! [`Display`](std::fmt::Display), [`FromStr`] and [`Mutation::NAMES`], so a name cannot be
//! printed one way and read another.

use std::fmt::{self, Formatter};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ATTACKER_JKU, ATTACKER_X5U, Mutation, NoneSpelling, PublicKeyForm};
use crate::forge::mint::MintError;

/// One row of [`Mutation::NAMES`]: how a mutation is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MutationName {
    /// The name `Display` writes.
    pub name: &'static str,
    /// The argument after `=`: `=SECONDS`, or `[=URL]` when it may be left out; empty when the
    /// mutation takes none.
    pub argument: &'static str,
    /// Other names read as this one.
    pub aliases: &'static [&'static str],
}

impl fmt::Display for MutationName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, self.argument)
    }
}

/// The argument forms. Each reads the text after `=` (`None` when there is no `=`) and writes
/// it back.
struct Seconds;
impl Seconds {
    const FORM: &'static str = "=SECONDS";
    fn parse(arg: Option<&str>) -> Result<(u64,), &'static str> {
        arg.ok_or("expected =SECONDS")?
            .trim()
            .parse()
            .map(|seconds| (seconds,))
            .map_err(|_| "expected a whole number of seconds")
    }
    fn write(f: &mut Formatter<'_>, seconds: &u64) -> fmt::Result {
        write!(f, "={seconds}")
    }
}

struct Text;
impl Text {
    const FORM: &'static str = "=VALUE";
    fn parse(arg: Option<&str>) -> Result<(String,), &'static str> {
        match arg {
            Some(value) if !value.is_empty() => Ok((value.to_owned(),)),
            _ => Err("expected =VALUE"),
        }
    }
    fn write(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
        write!(f, "={text}")
    }
}

/// `CLAIM:JSON`; the value is the text itself when it is not JSON.
struct ClaimValue;
impl ClaimValue {
    const FORM: &'static str = "=CLAIM:JSON";
    fn parse(arg: Option<&str>) -> Result<(String, Value), &'static str> {
        let (claim, value) = arg
            .and_then(|a| a.split_once(':'))
            .filter(|(claim, _)| !claim.is_empty())
            .ok_or("expected =CLAIM:VALUE")?;
        Ok((claim.to_owned(), parse_value(value)))
    }
    fn write(f: &mut Formatter<'_>, claim: &str, value: &Value) -> fmt::Result {
        write!(f, "={claim}:{value}")
    }
}

struct Spelling;
impl Spelling {
    const FORM: &'static str = "[=none|None|NONE|nOnE]";
    fn parse(arg: Option<&str>) -> Result<(NoneSpelling,), &'static str> {
        let Some(arg) = arg else {
            return Ok((NoneSpelling::Lower,));
        };
        NoneSpelling::ALL
            .into_iter()
            .find(|s| s.as_str() == arg)
            .map(|s| (s,))
            .ok_or("expected none, None, NONE or nOnE")
    }
    fn write(f: &mut Formatter<'_>, spelling: &NoneSpelling) -> fmt::Result {
        write!(f, "={}", spelling.as_str())
    }
}

struct KeyForm;
impl KeyForm {
    const FORM: &'static str = "[=spki-pem|spki-der|pkcs1-pem|pkcs1-der]";
    fn parse(arg: Option<&str>) -> Result<(PublicKeyForm,), &'static str> {
        let Some(arg) = arg else {
            return Ok((PublicKeyForm::SpkiPem,));
        };
        PublicKeyForm::ALL
            .into_iter()
            .find(|form| form.as_str().eq_ignore_ascii_case(arg))
            .map(|form| (form,))
            .ok_or("expected spki-pem, spki-der, pkcs1-pem or pkcs1-der")
    }
    fn write(f: &mut Formatter<'_>, form: &PublicKeyForm) -> fmt::Result {
        write!(f, "={}", form.as_str())
    }
}

/// A URL, the attacker's own when left out.
struct JkuUrl;
impl JkuUrl {
    const FORM: &'static str = "[=URL]";
    fn parse(arg: Option<&str>) -> Result<(String,), &'static str> {
        Ok((arg.unwrap_or(ATTACKER_JKU).to_owned(),))
    }
    fn write(f: &mut Formatter<'_>, url: &str) -> fmt::Result {
        Text::write(f, url)
    }
}

struct X5uUrl;
impl X5uUrl {
    const FORM: &'static str = "[=URL]";
    fn parse(arg: Option<&str>) -> Result<(String,), &'static str> {
        Ok((arg.unwrap_or(ATTACKER_X5U).to_owned(),))
    }
    fn write(f: &mut Formatter<'_>, url: &str) -> fmt::Result {
        Text::write(f, url)
    }
}

/// The table. A row is `Variant(fields): Form => "name" | "alias"`; the fields name the
/// variant's members in order, and `Form` reads and writes them.
macro_rules! mutation_names {
    ($( $variant:ident $( ( $($field:ident),+ ): $form:ident )? => $name:literal $(| $alias:literal)* ;)*) => {
        impl Mutation {
            /// Every mutation name, as `--help` and the README list them.
            pub const NAMES: &'static [MutationName] = &[$(
                MutationName {
                    name: $name,
                    argument: mutation_names!(@form $($form)?),
                    aliases: &[$($alias),*],
                },
            )*];

            fn write_name(&self, f: &mut Formatter<'_>) -> fmt::Result {
                match self {$(
                    Mutation::$variant $( ( $($field),+ ) )? => {
                        f.write_str($name)?;
                        $( $form::write(f, $($field),+)?; )?
                        Ok(())
                    }
                )*}
            }

            /// The mutation `name` (lower case, `-` separated) names, with its argument.
            fn from_name(name: &str, arg: Option<&str>) -> Option<Result<Mutation, &'static str>> {
                Some(match name {
                    $( $name $(| $alias)* => mutation_names!(@parse arg $variant $( ($($field),+) $form )?), )*
                    _ => return None,
                })
            }
        }
    };
    (@form) => { "" };
    (@form $form:ident) => { $form::FORM };
    (@parse $arg:ident $variant:ident) => {
        match $arg {
            None => Ok(Mutation::$variant),
            Some(_) => Err("takes no argument"),
        }
    };
    (@parse $arg:ident $variant:ident ($($field:ident),+) $form:ident) => {
        $form::parse($arg).map(|($($field,)+)| Mutation::$variant($($field),+))
    };
}

mutation_names! {
    Expired => "expired";
    ExpiredBy(seconds): Seconds => "expired-by";
    NotYetValid => "not-yet-valid" | "nbf-in-future";
    NotBeforeIn(seconds): Seconds => "not-before-in";
    IssuedInFuture => "iat-in-future";
    IssuedInFutureBy(seconds): Seconds => "iat-in-future-by";
    IatWeekAgo => "iat-week-ago";
    ExpInMilliseconds => "exp-in-milliseconds";
    WrongIssuer => "wrong-iss";
    IssuerTrailingSlash => "iss-trailing-slash";
    WrongAudience => "wrong-aud";
    MissingAudience => "missing-aud";
    UntrustedSecondAudience => "untrusted-second-aud";
    UntrustedSecondAudienceWithoutAzp => "untrusted-second-aud-without-azp";
    MissingClaim(claim): Text => "missing";
    ExpAsString => "exp-as-string";
    SubNull => "sub-null";
    InvalidNonce => "invalid-nonce";
    InvalidAtHash => "invalid-at-hash";
    InvalidCHash => "invalid-c-hash";
    WithoutScope(scope): Text => "without-scope";
    WithoutPermission(permission): Text => "without-permission";
    DuplicateClaim(claim, value): ClaimValue => "duplicate-claim";
    AlgNone(spelling): Spelling => "alg-none";
    KeyConfusion(form): KeyForm => "key-confusion";
    ForeignKey => "foreign-key";
    UnknownKid => "unknown-kid";
    Kid(kid): Text => "kid";
    NoKid => "no-kid";
    WrongTyp => "wrong-typ";
    Typ(typ): Text => "typ";
    NoTyp => "no-typ";
    Jku(url): JkuUrl => "jku";
    X5u(url): X5uUrl => "x5u";
    EmbeddedJwk => "embedded-jwk";
    CritUnknown => "crit-unknown";
    SignatureFlipped => "signature-flipped" | "bad-signature";
    SignatureStripped => "signature-stripped";
    PayloadTampered => "payload-tampered";
    TamperedClaim(claim, value): ClaimValue => "tampered-claim";
}

/// `missing-CLAIM` is short for `missing=CLAIM` when the claim is written in lower case and
/// `_` (`missing-at-hash`), and `missing=aud` is [`Mutation::MissingAudience`]: the audience
/// has its own mutation, which the shorthand and the long form both name.
fn missing_shorthand(claim: &str) -> bool {
    !claim.is_empty()
        && claim != "aud"
        && claim.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::MissingClaim(claim) if missing_shorthand(claim) => {
                write!(f, "missing-{}", claim.replace('_', "-"))
            }
            _ => self.write_name(f),
        }
    }
}

impl FromStr for Mutation {
    type Err = MintError;

    /// `NAME` or `NAME=ARG`; names are case-insensitive and `_` reads as `-`; `ARG` is kept
    /// as written. A `CLAIM:JSON` argument takes a JSON value, or the text itself when it is
    /// not JSON.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (raw_name, arg) = match text.split_once('=') {
            Some((name, arg)) => (name, Some(arg)),
            None => (text, None),
        };
        let name = raw_name.trim().to_ascii_lowercase().replace('_', "-");
        let parsed = match (name.as_str(), arg) {
            ("missing", Some("aud")) => Some(Ok(Mutation::MissingAudience)),
            (other, None) => match other.strip_prefix("missing-") {
                Some(claim) if claim != "aud" => {
                    Some(Ok(Mutation::MissingClaim(claim.replace('-', "_"))))
                }
                _ => Mutation::from_name(other, None),
            },
            (other, arg) => Mutation::from_name(other, arg),
        };
        match parsed {
            Some(Ok(mutation)) => Ok(mutation),
            Some(Err(message)) => Err(MintError::BadArgument {
                mutation: name,
                message: message.to_owned(),
            }),
            None => Err(MintError::UnknownMutation(raw_name.to_owned())),
        }
    }
}

impl Serialize for Mutation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mutation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A command-line or JSON-text value: JSON if it parses, else the text as a string.
pub fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mutation_name_round_trips() {
        for mutation in Mutation::examples() {
            let text = mutation.to_string();
            assert_eq!(text.parse::<Mutation>(), Ok(mutation.clone()), "{text}");
            let json = serde_json::to_value(&mutation).unwrap();
            assert_eq!(serde_json::from_value::<Mutation>(json).unwrap(), mutation);
        }
        assert_eq!("EXPIRED".parse(), Ok(Mutation::Expired));
        assert_eq!(
            "alg_none".parse(),
            Ok(Mutation::AlgNone(NoneSpelling::Lower))
        );
        assert_eq!(
            "missing-at-hash".parse(),
            Ok(Mutation::MissingClaim("at_hash".into()))
        );
        assert_eq!("missing-aud".parse(), Ok(Mutation::MissingAudience));
        assert_eq!("missing=aud".parse(), Ok(Mutation::MissingAudience));
        assert_eq!(
            "missing=https://example.com/roles".parse(),
            Ok(Mutation::MissingClaim("https://example.com/roles".into()))
        );
        assert_eq!(
            "duplicate-claim=sub:null".parse(),
            Ok(Mutation::DuplicateClaim("sub".into(), Value::Null))
        );
        assert_eq!("nbf-in-future".parse(), Ok(Mutation::NotYetValid));
        assert_eq!("bad-signature".parse(), Ok(Mutation::SignatureFlipped));
        assert_eq!(
            "jku".parse(),
            Ok(Mutation::Jku(ATTACKER_JKU.into())),
            "the attacker's URL when none is given"
        );
    }

    #[test]
    fn every_name_in_the_table_has_an_example_and_reads_back() {
        let examples: Vec<String> = Mutation::examples().iter().map(|m| m.to_string()).collect();
        for row in Mutation::NAMES {
            assert!(
                examples.iter().any(|e| e == row.name
                    || e.starts_with(&format!("{}=", row.name))
                    || (row.name == "missing" && e.starts_with("missing-"))),
                "{} has no example",
                row.name
            );
            for alias in row.aliases {
                assert!(alias.parse::<Mutation>().is_ok(), "{alias}");
            }
        }
    }

    #[test]
    fn bad_mutation_text_says_what_is_wrong() {
        assert_eq!(
            "expird".parse::<Mutation>(),
            Err(MintError::UnknownMutation("expird".into()))
        );
        for (text, needle) in [
            ("expired-by", "=SECONDS"),
            ("expired-by=soon", "whole number"),
            ("expired=3", "no argument"),
            ("alg-none=nOne", "nOnE"),
            ("key-confusion=x509", "spki-pem"),
            ("tampered-claim=sub", "CLAIM:VALUE"),
            ("kid=", "=VALUE"),
            ("missing", "=VALUE"),
        ] {
            let err = text.parse::<Mutation>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn the_readme_lists_every_name() {
        let readme = include_str!("../../../../README.md");
        for row in Mutation::NAMES {
            assert!(
                readme.contains(&format!("`{}", row.name)),
                "README lacks {}",
                row.name
            );
        }
    }
}
