//! What makes an authorization request valid (RFC 6749 4.1.1, Core 3.1.2.1, RFC 7636 4.3), and
//! where its errors go: to an error page when the client or redirect URI cannot be trusted
//! (RFC 6749 4.1.2.1), to the client's redirect URI otherwise.

use crate::config::{Config, GrantType};
use crate::params::Params;
use crate::rules::pkce::{self, PkceChallenge, PkceMethod};
use crate::rules::scope;

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// Where the response goes: the registered URI that matched.
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri`: then the token request must repeat it
    /// (RFC 6749 4.1.3).
    pub redirect_uri_sent: bool,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub pkce: Option<PkceChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// Requested authentication context classes (Core 3.1.2.1); "1" asks for a fresh login.
    pub acr_values: Vec<String>,
}

/// The `prompt` parameter (Core 3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// An authorization error and where it must be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationError {
    /// The client or redirect URI is unknown or untrusted: tell the user, never redirect.
    Page {
        error: &'static str,
        description: String,
    },
    /// Return the error to the client (RFC 6749 4.1.2.1).
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl AuthorizationError {
    fn page(error: &'static str, description: impl Into<String>) -> Self {
        AuthorizationError::Page {
            error,
            description: description.into(),
        }
    }
}

/// Validates an authorization request against the configuration.
pub fn parse_request(
    config: &Config,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizationError> {
    // Until the client and its redirect URI are known to match, nothing may be redirected
    // (RFC 6749 3.1.2.4, 4.1.2.1); with parameters left unread, they cannot be known.
    if params.is_truncated() {
        return Err(AuthorizationError::page(
            "invalid_request",
            crate::params::ParamsError::TooMany.to_string(),
        ));
    }
    for trusted in ["client_id", "redirect_uri"] {
        if params.is_duplicated(trusted) {
            return Err(AuthorizationError::page(
                "invalid_request",
                format!("`{trusted}` appears more than once (RFC 6749 3.1)"),
            ));
        }
    }
    let client_id = params.get("client_id").ok_or_else(|| {
        AuthorizationError::page(
            "invalid_request",
            "`client_id` is required (RFC 6749 4.1.1)",
        )
    })?;
    let client = config.client(client_id).ok_or_else(|| {
        AuthorizationError::page(
            "invalid_client",
            format!("no client `{client_id}` is registered"),
        )
    })?;
    let raw_scope = params.get("scope").unwrap_or_default();
    let is_openid = raw_scope.split(' ').any(|s| s == "openid");
    let (redirect_uri, redirect_uri_sent) = match params.get("redirect_uri") {
        Some(uri) => {
            // RFC 9700 4.1.3: exact string comparison, no pattern or prefix matching (but for
            // RFC 8252 7.3's loopback ports, where the client opts in).
            if !client.allows_redirect_uri(uri) {
                return Err(AuthorizationError::page(
                    "invalid_request",
                    format!(
                        "redirect_uri `{uri}` is not registered for client `{client_id}` (exact match required, RFC 9700 4.1.3)"
                    ),
                ));
            }
            (uri.to_owned(), true)
        }
        // Core 3.1.2.1 requires redirect_uri in OpenID requests; plain OAuth 2 may omit it
        // when exactly one is registered (RFC 6749 3.1.2.3).
        None if !is_openid && client.redirect_uris.len() == 1 => {
            (client.redirect_uris[0].clone(), false)
        }
        None => {
            return Err(AuthorizationError::page(
                "invalid_request",
                "`redirect_uri` is required (Core 3.1.2.1; RFC 6749 3.1.2.3)",
            ));
        }
    };

    let state = if params.is_duplicated("state") {
        None
    } else {
        params.get("state").map(str::to_owned)
    };
    let fail = |error: &'static str, description: String| AuthorizationError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };

    if let Some(name) = params.first_duplicate() {
        return Err(fail(
            "invalid_request",
            format!("`{name}` appears more than once (RFC 6749 3.1)"),
        ));
    }
    // Core 6: request objects are not supported, and discovery says so.
    if params.get("request").is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported (Core 6.1)".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported (Core 6.2)".into(),
        ));
    }
    match params.get("response_type") {
        None => {
            return Err(fail(
                "invalid_request",
                "`response_type` is required (RFC 6749 3.1.1)".into(),
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("response_type `{other}` is not supported; use `code`"),
            ));
        }
    }
    if let Some(mode) = params.get("response_mode")
        && mode != "query"
    {
        return Err(fail(
            "invalid_request",
            format!("response_mode `{mode}` is not supported; use `query`"),
        ));
    }
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            format!("client `{client_id}` may not use the authorization code grant"),
        ));
    }

    let scopes = match params.get("scope") {
        None => {
            return Err(fail(
                "invalid_scope",
                "`scope` is required; OpenID requests include `openid`".into(),
            ));
        }
        Some(raw) => scope::parse(raw).map_err(|why| fail("invalid_scope", why))?,
    };
    for requested in &scopes {
        if !config.scopes.contains_key(requested) {
            return Err(fail(
                "invalid_scope",
                format!("unknown scope `{requested}`"),
            ));
        }
        if !client.scopes.contains(requested) {
            return Err(fail(
                "invalid_scope",
                format!("client `{client_id}` may not request scope `{requested}`"),
            ));
        }
    }

    let pkce = parse_pkce(params, client.requires_pkce(), client.allow_plain_pkce)
        .map_err(|why| fail("invalid_request", why))?;
    let prompt = parse_prompt(params.get("prompt")).map_err(|why| fail("invalid_request", why))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
            fail(
                "invalid_request",
                "`max_age` must be a non-negative number of seconds (Core 3.1.2.1)".into(),
            )
        })?),
    };

    Ok(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_sent,
        scopes,
        state: state.clone(),
        nonce: params.get("nonce").map(str::to_owned),
        pkce,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        acr_values: params
            .get("acr_values")
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// RFC 7636 4.3 and 4.4.1; the method defaults to `plain` when absent (RFC 7636 4.3), which is
/// refused unless the client allows it.
fn parse_pkce(
    params: &Params,
    required: bool,
    allow_plain: bool,
) -> Result<Option<PkceChallenge>, String> {
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err("`code_challenge_method` sent without `code_challenge`".into());
        }
        if required {
            return Err(
                "`code_challenge` is required for this client: use PKCE with S256 (RFC 7636 4.4.1; RFC 9700 2.1.1)"
                    .into(),
            );
        }
        return Ok(None);
    };
    let method = match method.unwrap_or("plain") {
        "S256" => PkceMethod::S256,
        "plain" if allow_plain => PkceMethod::Plain,
        "plain" => {
            return Err(
                "code_challenge_method `plain` is not allowed for this client; use S256 (RFC 9700 2.1.1)"
                    .into(),
            );
        }
        other => {
            return Err(format!(
                "code_challenge_method `{other}` is not supported; use S256 (RFC 7636 4.3)"
            ));
        }
    };
    let well_formed = match method {
        PkceMethod::S256 => pkce::is_valid_s256_challenge(challenge),
        PkceMethod::Plain => pkce::is_valid_verifier(challenge),
    };
    if !well_formed {
        return Err(
            "`code_challenge` is malformed: S256 expects 43 base64url characters (RFC 7636 4.2)"
                .into(),
        );
    }
    Ok(Some(PkceChallenge {
        challenge: challenge.to_owned(),
        method,
    }))
}

fn parse_prompt(raw: Option<&str>) -> Result<Prompt, String> {
    let mut prompt = Prompt::default();
    for value in raw.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => prompt.select_account = true,
            other => return Err(format!("unknown prompt value `{other}` (Core 3.1.2.1)")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
        return Err("prompt `none` cannot be combined with other values (Core 3.1.2.1)".into());
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request(query: &str) -> Result<AuthorizationRequest, AuthorizationError> {
        parse_request(&Config::default(), &Params::parse(query.as_bytes()))
    }

    fn valid_query() -> String {
        format!(
            "response_type=code&client_id=forge-web&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fauth-callback&scope=openid%20email&state=s1&nonce=n1&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    }

    fn redirected_error(query: &str) -> (&'static str, String, Option<String>) {
        match request(query) {
            Err(AuthorizationError::Redirect {
                error,
                description,
                state,
                ..
            }) => (error, description, state),
            other => panic!("expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_request_parses() {
        let req = request(&valid_query()).unwrap();
        assert_eq!(req.scopes, ["openid", "email"]);
        assert_eq!(req.state.as_deref(), Some("s1"));
        assert_eq!(req.pkce.unwrap().method, PkceMethod::S256);
        assert!(req.redirect_uri_sent);
    }

    #[test]
    fn untrusted_client_or_redirect_uri_never_redirects() {
        for query in [
            valid_query().replace("client_id=forge-web", "client_id=nobody"),
            valid_query().replace("auth-callback", "auth-callback%3Fx%3D1"),
            valid_query().replace("localhost%3A8000", "localhost%3A8000.evil"),
            valid_query().replace("localhost%3A8000", "localhost.evil%3A8000"),
            valid_query().replace("http%3A%2F%2Flocalhost", "https%3A%2F%2Flocalhost"),
            valid_query().replace("auth-callback", "auth-callbackx"),
            valid_query().replace(
                "&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fauth-callback",
                "",
            ),
            format!("{}&client_id=forge-spa", valid_query()),
        ] {
            assert!(
                matches!(request(&query), Err(AuthorizationError::Page { .. })),
                "{query}"
            );
        }
    }

    #[test]
    fn errors_after_the_redirect_uri_is_trusted_go_back_with_state() {
        let (error, _, state) = redirected_error(&valid_query().replace("response_type=code&", ""));
        assert_eq!((error, state.as_deref()), ("invalid_request", Some("s1")));
        let (error, ..) =
            redirected_error(&valid_query().replace("response_type=code", "response_type=token"));
        assert_eq!(error, "unsupported_response_type");
        let (error, description, _) = redirected_error(&valid_query().replace("email", "admin"));
        assert_eq!(error, "invalid_scope");
        assert!(description.contains("unknown scope `admin`"));
        let (error, _, state) = redirected_error(&format!("{}&state=s2", valid_query()));
        assert_eq!((error, state), ("invalid_request", None));
        let (error, description, _) = redirected_error(&valid_query().replace("S256", "plain"));
        assert_eq!(error, "invalid_request");
        assert!(description.contains("plain"), "{description}");
        // No challenge: fine for the confidential client (RFC 9700 2.1.1 SHOULD), refused for
        // the public one (MUST).
        let without_pkce = valid_query().replace(
            &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            "",
        );
        assert!(request(&without_pkce).is_ok_and(|req| req.pkce.is_none()));
        let public = without_pkce
            .replace("client_id=forge-web", "client_id=forge-spa")
            .replace("auth-callback", "callback");
        let (error, description, _) = redirected_error(&public);
        assert_eq!(error, "invalid_request");
        assert!(
            description.contains("code_challenge` is required"),
            "{description}"
        );
        let mut strict = Config::default();
        strict.clients[0].require_pkce = Some(true);
        match parse_request(&strict, &Params::parse(without_pkce.as_bytes())) {
            Err(AuthorizationError::Redirect { error, .. }) => assert_eq!(error, "invalid_request"),
            other => panic!("{other:?}"),
        }
        let (error, _, _) = redirected_error(&format!("{}&prompt=none%20login", valid_query()));
        assert_eq!(error, "invalid_request");
        let (error, _, _) = redirected_error(&format!("{}&request=eyJ", valid_query()));
        assert_eq!(error, "request_not_supported");
    }

    #[test]
    fn unknown_parameters_and_scope_order_do_not_matter() {
        let req = request(&format!(
            "{}&foo=bar",
            valid_query().replace("openid%20email", "email%20openid")
        ))
        .unwrap();
        assert_eq!(req.scopes, ["email", "openid"]);
    }

    #[test]
    fn only_plain_oauth_may_leave_out_the_single_redirect_uri() {
        let mut config = Config::default();
        config.clients[0].redirect_uris = vec!["http://localhost:8000/auth-callback".into()];
        let without = |scope: &str| {
            let query = valid_query()
                .replace(
                    "&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fauth-callback",
                    "",
                )
                .replace("openid%20email", scope);
            parse_request(&config, &Params::parse(query.as_bytes()))
        };
        // RFC 6749 3.1.2.3: one registered URI is the default; Core 3.1.2.1: not for OpenID.
        let oauth = without("read").unwrap();
        assert_eq!(oauth.redirect_uri, "http://localhost:8000/auth-callback");
        assert!(!oauth.redirect_uri_sent);
        assert!(matches!(
            without("openid"),
            Err(AuthorizationError::Page { .. })
        ));
    }

    #[test]
    fn response_mode_acr_values_plain_pkce_and_prompt_none_alone() {
        assert!(request(&format!("{}&response_mode=query", valid_query())).is_ok());
        let (error, ..) = redirected_error(&format!("{}&response_mode=fragment", valid_query()));
        assert_eq!(error, "invalid_request");
        let req = request(&format!("{}&acr_values=0%20%201", valid_query())).unwrap();
        assert_eq!(req.acr_values, ["0", "1"]);
        // plain, for a client that allows it (RFC 7636 4.2).
        let mut config = Config::default();
        config.clients[0].allow_plain_pkce = true;
        let plain = valid_query().replace("S256", "plain");
        let req = parse_request(&config, &Params::parse(plain.as_bytes())).unwrap();
        assert_eq!(req.pkce.unwrap().method, PkceMethod::Plain);
        // Core 3.1.2.1: `none` with any other value is an error, each of them.
        for other in ["login", "consent", "select_account"] {
            let (error, ..) = redirected_error(&format!("{}&prompt=none%20{other}", valid_query()));
            assert_eq!(error, "invalid_request", "{other}");
        }
        assert!(request(&format!("{}&prompt=none", valid_query())).is_ok_and(|r| r.prompt.none));
    }
}
