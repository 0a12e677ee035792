//! The cookies a browser keeps. Everything a test serves is on 127.0.0.1 and the issuer's and
//! the apps' cookie names differ, so one jar by name stands for a browser's per-site jars.

use std::collections::BTreeMap;

/// One `Set-Cookie` line, read as a browser reads it: its name, its value, its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetCookie<'a> {
    /// The cookie's name.
    pub name: &'a str,
    /// Its value (what the browser sends back).
    pub value: &'a str,
    line: &'a str,
}

impl<'a> SetCookie<'a> {
    /// Reads a line; a line without `=` is a name with an empty value.
    pub fn parse(line: &'a str) -> Self {
        let pair = line.split(';').next().unwrap_or_default();
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        Self {
            name: name.trim(),
            value,
            line,
        }
    }

    /// An attribute's value (`SameSite`), or "" for a flag (`HttpOnly`); `None` when absent.
    /// Names are case-insensitive (RFC 6265 5.2).
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        self.line.split(';').skip(1).find_map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// Whether the line removes the cookie: an empty value, a `Max-Age` of zero or less, or
    /// an `Expires` at the epoch, as apps write a deletion (RFC 6265 5.2.1, 5.2.2, 5.3).
    pub fn clears(&self) -> bool {
        let max_age_over = self
            .attribute("max-age")
            .is_some_and(|seconds| seconds.parse::<i64>().is_ok_and(|s| s <= 0));
        let expired = self
            .attribute("expires")
            .is_some_and(|date| date.contains("1970"));
        self.value.is_empty() || max_age_over || expired
    }
}

/// Cookies by name, as `Set-Cookie` lines left them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl CookieJar {
    /// Keeps what `Set-Cookie` lines say: a value replaces the one of the same name, and a
    /// line that [clears](SetCookie::clears) it removes the cookie.
    /// Paths and domains are not kept: every cookie goes to every request.
    pub fn store<'a>(&mut self, set_cookie_lines: impl IntoIterator<Item = &'a str>) {
        for line in set_cookie_lines {
            let cookie = SetCookie::parse(line);
            if cookie.clears() {
                self.cookies.remove(cookie.name);
            } else {
                self.cookies
                    .insert(cookie.name.to_owned(), cookie.value.to_owned());
            }
        }
    }

    /// The `Cookie` request header: every cookie, by name; `None` when the jar is empty.
    pub fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Sets a cookie as a page's script or an attacker would.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.cookies.insert(name.into(), value.into());
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.cookies.remove(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Every cookie, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cookies.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn clear(&mut self) {
        self.cookies.clear();
    }
}

/// `jar["name"]`, as a map indexes: panics when there is no such cookie.
impl std::ops::Index<&str> for CookieJar {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("no cookie `{name}` in the jar"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_cookie_line_is_read_as_a_browser_reads_it() {
        let line = SetCookie::parse(" s=v=1; HttpOnly; SAMESITE=Lax; Max-Age=60");
        assert_eq!((line.name, line.value), ("s", "v=1"));
        assert_eq!(line.attribute("samesite"), Some("Lax"));
        assert_eq!(line.attribute("httponly"), Some(""));
        assert_eq!(line.attribute("secure"), None);
        assert!(!line.clears());
        for cleared in [
            "s=",
            "s",
            "s=v; Max-Age=0",
            "s=v; max-age=-1",
            "s=v; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ] {
            assert!(SetCookie::parse(cleared).clears(), "{cleared}");
        }
        let mut jar = CookieJar::default();
        jar.store(["s=v", "s=v; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
        assert!(jar.is_empty(), "an expiry at the epoch removes it");
    }

    #[test]
    fn set_cookie_lines_add_replace_and_remove() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.store(["a=1; Path=/; HttpOnly; SameSite=Lax", "b=2"]);
        assert_eq!(jar.header().as_deref(), Some("a=1; b=2"));
        jar.store(["a=3"]);
        assert_eq!(jar.get("a"), Some("3"));
        jar.store(["b=2; Max-Age=0", "a="]);
        assert!(jar.is_empty(), "{jar:?}");
        // Max-Age is read as a number: 05 seconds keeps the cookie, -1 removes it.
        jar.store(["e=5; max-age=05", "f=6; Max-Age = 3600"]);
        assert_eq!(jar.len(), 2);
        jar.store(["e=5; Max-Age=-1", "f=; Path=/"]);
        assert!(jar.is_empty(), "{jar:?}");
        // A value may hold `=`; a name is trimmed.
        jar.store([" c =x=y; Secure"]);
        assert_eq!(jar.get("c"), Some("x=y"));
        assert_eq!(&jar["c"], "x=y");
        assert_eq!(jar.len(), 1);
        jar.insert("d", "4");
        assert!(jar.contains("d"));
        assert_eq!(jar.remove("d").as_deref(), Some("4"));
        assert_eq!(jar.iter().collect::<Vec<_>>(), vec![("c", "x=y")]);
        jar.clear();
        assert!(jar.is_empty());
    }
}
