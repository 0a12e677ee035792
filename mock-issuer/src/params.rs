//! Request parameters from a query string or an `application/x-www-form-urlencoded` body,
//! parsed the way RFC 6749 3.1 and 3.2 require: a parameter sent without a value counts as
//! omitted, and one sent twice is an error the rules can report.
//!
//! Parsing is linear in the input and keeps at most [`MAX_PARAMS`] parameters: a request with
//! more is refused as a whole ([`ParamsError::TooMany`]), never silently truncated, since the
//! parameters past the cut could be the ones the rules need to see (a second `redirect_uri`).

use std::collections::HashSet;

/// The most parameters a request may carry. An authorization request with every optional
/// parameter of RFC 6749, OpenID Core and PKCE has about 25.
pub const MAX_PARAMS: usize = 100;

/// Why a request's parameters cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    #[error("the request carries more than {MAX_PARAMS} parameters")]
    TooMany,
    #[error("`{0}` appears more than once (RFC 6749 3.1)")]
    Duplicated(String),
}

/// Parsed parameters in request order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Names sent more than once, in the order their second occurrence came.
    duplicates: Vec<String>,
    too_many: bool,
}

impl Params {
    pub fn parse(input: &[u8]) -> Self {
        let mut params = Params::default();
        let mut seen: HashSet<String> = HashSet::new();
        for (count, (name, value)) in form_urlencoded::parse(input).enumerate() {
            if count == MAX_PARAMS {
                params.too_many = true;
                break;
            }
            if seen.contains(name.as_ref()) {
                if !params.duplicates.iter().any(|d| *d == name) {
                    params.duplicates.push(name.into_owned());
                }
                continue;
            }
            seen.insert(name.clone().into_owned());
            params.pairs.push((name.into_owned(), value.into_owned()));
        }
        params
    }

    /// The value of `name`, `None` when absent or empty (RFC 6749 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Whether `name` was sent more than once.
    pub fn is_duplicated(&self, name: &str) -> bool {
        self.duplicates.iter().any(|d| d == name)
    }

    /// Every parameter sent more than once.
    pub fn duplicates(&self) -> impl Iterator<Item = &str> {
        self.duplicates.iter().map(String::as_str)
    }

    /// The first parameter sent more than once, if any.
    pub fn first_duplicate(&self) -> Option<&str> {
        self.duplicates.first().map(String::as_str)
    }

    /// Whether the request had more than [`MAX_PARAMS`] parameters (the rest were not read).
    pub fn is_truncated(&self) -> bool {
        self.too_many
    }

    /// The parameters as a whole are usable: not too many, none repeated.
    pub fn check(&self) -> Result<(), ParamsError> {
        if self.too_many {
            return Err(ParamsError::TooMany);
        }
        match self.first_duplicate() {
            Some(name) => Err(ParamsError::Duplicated(name.to_owned())),
            None => Ok(()),
        }
    }

    /// Parameter names in request order, for the request log.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_omitted_and_duplicates_are_reported() {
        let params = Params::parse(b"a=1&b=&a=2&c=x%20y");
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y"));
        assert!(params.is_duplicated("a"));
        assert_eq!(params.first_duplicate(), Some("a"));
        assert!(!params.is_duplicated("c"));
        assert_eq!(params.check(), Err(ParamsError::Duplicated("a".into())));
        assert_eq!(Params::parse(b"a=1&b=2").check(), Ok(()));
    }

    #[test]
    fn more_than_the_cap_is_refused_whole() {
        let at_cap: String = (0..MAX_PARAMS).map(|i| format!("p{i}=v&")).collect();
        let params = Params::parse(at_cap.as_bytes());
        assert_eq!(params.check(), Ok(()));
        assert_eq!(params.get(&format!("p{}", MAX_PARAMS - 1)), Some("v"));
        let over = format!("{at_cap}redirect_uri=x");
        let params = Params::parse(over.as_bytes());
        assert!(params.is_truncated());
        assert_eq!(params.check(), Err(ParamsError::TooMany));
        // Repeats count toward the cap: `a=1&a=1&...` cannot make the parse run long.
        let repeats = "a=1&".repeat(50_000);
        let params = Params::parse(repeats.as_bytes());
        assert_eq!(params.check(), Err(ParamsError::TooMany));
        assert_eq!(params.duplicates().count(), 1);
    }
}
