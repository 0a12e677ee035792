//! [`WebFlowBuilder`]: the flow's paths, scopes, cookies and lifetimes, checked when built.

use super::*;

/// Configures a [`WebFlow`].
#[must_use]
pub struct WebFlowBuilder {
    client: Client,
    key: Key,
    base_url: String,
    login_path: String,
    callback_path: String,
    logout_path: String,
    scopes: Vec<String>,
    session_cookie: String,
    secure_cookies: Option<bool>,
    transaction_ttl: u64,
    default_return_to: String,
    post_logout_redirect_uri: Option<String>,
    cache: Option<Arc<dyn UserInfoCache>>,
    logout_via_get: bool,
    extra_params: Vec<(String, String)>,
    max_age: Option<u64>,
}

impl fmt::Debug for WebFlowBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebFlowBuilder")
            .field("base_url", &self.base_url)
            .field("callback_path", &self.callback_path)
            .finish_non_exhaustive()
    }
}

impl WebFlowBuilder {
    /// The defaults [`WebFlow::builder`] starts from.
    pub(super) fn new(client: Client, key: Key, base_url: String) -> Self {
        Self {
            client,
            key,
            base_url,
            login_path: "/login".into(),
            callback_path: "/auth-callback".into(),
            logout_path: "/logout".into(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            session_cookie: "user_session".into(),
            secure_cookies: None,
            transaction_ttl: 600,
            default_return_to: "/".into(),
            post_logout_redirect_uri: None,
            cache: None,
            max_age: None,
            logout_via_get: false,
            extra_params: Vec::new(),
        }
    }

    /// Path of the login route (default `/login`).
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = path.into();
        self
    }

    /// Path of the callback route (default `/auth-callback`, as in the seeds).
    pub fn callback_path(mut self, path: impl Into<String>) -> Self {
        self.callback_path = path.into();
        self
    }

    /// Path of the logout route (default `/logout`).
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = path.into();
        self
    }

    /// Scopes requested at login (default `openid profile email`); `openid`
    /// is added if missing.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Base name of the session cookies (default `user_session`).
    pub fn session_cookie(mut self, name: impl Into<String>) -> Self {
        self.session_cookie = name.into();
        self
    }

    /// Marks cookies `Secure` and prefixes them `__Host-`; defaults to on
    /// when the base URL is https.
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = Some(secure);
        self
    }

    /// How long a login may take, in seconds (default 600).
    pub fn transaction_ttl(mut self, seconds: u64) -> Self {
        self.transaction_ttl = seconds;
        self
    }

    /// Where to land after login when no page was asked for (default `/`).
    pub fn default_return_to(mut self, path: impl Into<String>) -> Self {
        self.default_return_to = path.into();
        self
    }

    /// Where the issuer sends the browser after logout (default `{base_url}/`);
    /// must be registered with the issuer.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// The UserInfo cache (default: in memory, five minutes).
    pub fn cache(mut self, cache: Arc<dyn UserInfoCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Also accept `GET` on the logout route (links instead of a form). Off by default; when
    /// on, a GET from another site is refused as a POST is (RFC 9700 4.7), so the link must be
    /// on the app's own pages.
    pub fn logout_via_get(mut self, allowed: bool) -> Self {
        self.logout_via_get = allowed;
        self
    }

    /// An extra authorization parameter (e.g. `prompt=login`).
    pub fn extra_auth_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// Asks the issuer for a login at most `seconds` old (`max_age`, Core
    /// 3.1.2.1), and refuses an ID token whose `auth_time` is older or
    /// missing (Core 3.1.3.7 (13)).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Checks the configuration and builds the flow.
    pub fn build(self) -> Result<WebFlow, Error> {
        let base = Url::parse(&self.base_url)
            .map_err(|error| Error::Configuration(format!("base URL: {error}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::Configuration(
                "the base URL must be an absolute http(s) URL".into(),
            ));
        }
        for path in [
            &self.login_path,
            &self.callback_path,
            &self.logout_path,
            &self.default_return_to,
        ] {
            // The paths are redirect targets (the login's return, LoginRedirectResponses'
            // login route): the same rule as a `return_to` (RFC 9700 4.11.1).
            if super::safe_return_to(path).is_none() {
                return Err(Error::Configuration(format!(
                    "{path:?} must be an absolute path on this site (not `//host`, no backslash)"
                )));
            }
        }
        let origin = base.origin().ascii_serialization();
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        let secure = self.secure_cookies.unwrap_or(base.scheme() == "https");
        let prefix = if secure { "__Host-" } else { "" };
        let session_cookie = format!("{prefix}{}", self.session_cookie);
        let mut scopes = self.scopes;
        if !scopes.iter().any(|scope| scope == "openid") {
            scopes.insert(0, "openid".into());
        }
        let mut auth = Auth::new(
            self.client.clone(),
            TokenSource::EncryptedCookie {
                name: session_cookie.clone(),
                key: self.key.clone(),
            },
        )
        .with_responses(LoginRedirectResponses::new(self.login_path.clone()))
        .allowed_origins([origin.clone()]);
        if let Some(cache) = self.cache {
            auth = auth.with_cache(cache);
        }
        Ok(WebFlow {
            inner: Arc::new(WebInner {
                redirect_uri: format!("{base_url}{}", self.callback_path),
                post_logout_redirect_uri: self
                    .post_logout_redirect_uri
                    .unwrap_or_else(|| format!("{base_url}/")),
                client: self.client,
                key: self.key,
                login_path: self.login_path,
                callback_path: self.callback_path,
                logout_path: self.logout_path,
                scopes,
                id_cookie: format!("{session_cookie}_id"),
                refresh_cookie: format!("{session_cookie}_refresh"),
                transaction_cookie: format!("{session_cookie}_tx"),
                session_cookie,
                secure,
                transaction_ttl: self.transaction_ttl,
                default_return_to: self.default_return_to,
                logout_via_get: self.logout_via_get,
                extra_params: self.extra_params,
                max_age: self.max_age,
                auth,
            }),
        })
    }
}
