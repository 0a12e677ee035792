//! Request parameters from a query string or an `application/x-www-form-urlencoded` body,
//! parsed the way RFC 6749 3.1 and 3.2 require: a parameter sent without a value counts as
//! omitted, and one sent twice is an error the rules can report.

/// Parsed parameters in request order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    duplicates: Vec<String>,
}

impl Params {
    pub fn parse(input: &[u8]) -> Self {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(input) {
            if params.pairs.iter().any(|(seen, _)| *seen == name) {
                if !params.duplicates.iter().any(|d| *d == name) {
                    params.duplicates.push(name.clone().into_owned());
                }
                continue;
            }
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
    }
}
