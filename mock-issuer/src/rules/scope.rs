//! Scope strings (RFC 6749 3.3): space-delimited, case-sensitive tokens, compared exactly.

use crate::config::is_scope_char;

/// Splits a scope parameter into distinct tokens in request order, or says which token is
/// malformed.
pub fn parse(scope: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if !token.bytes().all(is_scope_char) {
            return Err(format!(
                "scope token `{token}` has a character RFC 6749 3.3 does not allow"
            ));
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    Ok(scopes)
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub fn contains(scopes: &[String], wanted: &str) -> bool {
    scopes.iter().any(|s| s == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_is_exact_and_order_preserving() {
        assert_eq!(parse("openid  read openid").unwrap(), ["openid", "read"]);
        assert!(parse("read\"").is_err());
        let scopes = parse("read:all").unwrap();
        assert!(!contains(&scopes, "read"));
        assert!(!contains(&parse("READ").unwrap(), "read"));
    }
}
