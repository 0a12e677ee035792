//! What the app asks of the issuer (an authorization request, a code exchange, a refresh, a
//! logout) and the [`Requirements`] a token must meet, as plain data the [`Client`] sends or
//! checks.

use crate::error::Error;
use crate::pkce::PkceVerifier;
use crate::tokens::{AccessTokenInfo, TokenResponse};
use crate::validate::{self};

/// The parameters of an authorization request (Core 3.1.2.1), Fief's `auth_url` arguments.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthorizationRequest {
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<(String, String)>,
    pub(super) max_age: Option<u64>,
    pub(super) extras: Vec<(String, String)>,
}

/// Parameters the client sets itself; extras may not override them.
pub(super) const RESERVED_AUTHORIZATION_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    // Set with `max_age()`, so that the callback knows to check `auth_time`.
    "max_age",
];

impl AuthorizationRequest {
    /// A request that returns to `redirect_uri`.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            state: None,
            nonce: None,
            code_challenge: None,
            max_age: None,
            extras: Vec::new(),
        }
    }

    /// Requested scopes, e.g. `["openid", "email"]`.
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The `state` to round-trip (see [`crate::pkce::generate_state`]).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The `nonce` the ID token must echo (see [`crate::pkce::generate_nonce`]).
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// PKCE with S256 for this verifier (RFC 7636 4.2).
    pub fn pkce(mut self, verifier: &PkceVerifier) -> Self {
        self.code_challenge = Some((verifier.challenge(), "S256".into()));
        self
    }

    /// A precomputed PKCE challenge and method, as Fief's `auth_url` takes them.
    pub fn code_challenge(
        mut self,
        challenge: impl Into<String>,
        method: impl Into<String>,
    ) -> Self {
        self.code_challenge = Some((challenge.into(), method.into()));
        self
    }

    /// The longest time since the user last signed in, in seconds (Core
    /// 3.1.2.1). Give the same value to [`CodeExchange::max_age`]: the ID
    /// token's `auth_time` is then checked (Core 3.1.3.7 (13)).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Any other parameter (`prompt`, `ui_locales`, Fief's `lang`, ...).
    pub fn extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extras.push((name.into(), value.into()));
        self
    }
}

/// The callback exchange: the code, and what it must be checked against.
#[derive(Debug, Clone)]
#[must_use]
pub struct CodeExchange {
    pub(super) code: String,
    pub(super) redirect_uri: String,
    pub(super) code_verifier: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) max_age: Option<u64>,
}

impl CodeExchange {
    /// Redeems `code`, which was issued for `redirect_uri`.
    pub fn new(code: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            redirect_uri: redirect_uri.into(),
            code_verifier: None,
            nonce: None,
            max_age: None,
        }
    }

    /// The PKCE verifier whose challenge went into the authorization request.
    pub fn code_verifier(mut self, verifier: &PkceVerifier) -> Self {
        self.code_verifier = Some(verifier.as_str().to_owned());
        self
    }

    /// The nonce sent in the authorization request; the ID token must echo it.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// The `max_age` sent in the authorization request: the ID token must
    /// then carry an `auth_time` at most that old (Core 3.1.3.7 (13)).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }
}

/// A refresh request (RFC 6749 6).
///
/// A refreshed ID token must name the same user as the one the session began
/// with (Core 12.2), so the request carries that user's `sub`. Only a caller
/// that never had an ID token says so explicitly, with
/// [`RefreshRequest::without_subject_check`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RefreshRequest {
    pub(super) refresh_token: String,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) previous_subject: Option<String>,
}

impl RefreshRequest {
    /// Refreshes with `refresh_token`, issued in a session whose ID token
    /// named `previous_subject`; a refreshed ID token must keep it (Core 12.2).
    pub fn new(refresh_token: impl Into<String>, previous_subject: impl Into<String>) -> Self {
        Self {
            refresh_token: refresh_token.into(),
            scopes: None,
            previous_subject: Some(previous_subject.into()),
        }
    }

    /// Refreshes without a subject to compare a refreshed ID token with: for
    /// grants that never had an ID token. A returned ID token is still
    /// validated, but Core 12.2's `sub` rule cannot be applied.
    pub fn without_subject_check(refresh_token: impl Into<String>) -> Self {
        Self {
            refresh_token: refresh_token.into(),
            scopes: None,
            previous_subject: None,
        }
    }

    /// Narrows the scope (must be a subset of the original grant).
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// What a route demands of an access token: Fief's `required_scope`,
/// `required_permissions` and `required_acr`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Requirements {
    /// Every one of these scopes must be granted.
    pub scopes: Vec<String>,
    /// Every one of these permissions must be granted.
    pub permissions: Vec<String>,
    /// The minimum authentication context class.
    pub acr: Option<String>,
}

impl Requirements {
    /// No requirement beyond a valid token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires these scopes (exact, case-sensitive match).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Requires these permissions (exact, case-sensitive match).
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = permissions.into_iter().map(Into::into).collect();
        self
    }

    /// Requires at least this `acr`. Numeric levels (Fief's "0", "1") compare
    /// as numbers; anything else must match exactly.
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Checks a validated token against these requirements: scope first, then
    /// `acr`, then permissions, as Fief does.
    pub fn check(&self, info: &AccessTokenInfo) -> Result<(), Error> {
        let missing = validate::missing_items(&self.scopes, &info.scope);
        if !missing.is_empty() {
            return Err(Error::MissingScope {
                missing,
                required: self.scopes.clone(),
            });
        }
        if let Some(required) = &self.acr
            && !acr_satisfies(info.acr.as_deref(), required)
        {
            return Err(Error::AcrTooLow {
                required: required.clone(),
                actual: info.acr.clone(),
            });
        }
        let missing = validate::missing_items(&self.permissions, &info.permissions);
        if !missing.is_empty() {
            return Err(Error::MissingPermission { missing });
        }
        Ok(())
    }
}

/// RFC 6749 5.1: a usable token response. `token_type` is case-insensitive
/// (7.1) and must be Bearer; `expires_in` and `scope` may be absent (C-26).
pub(crate) fn check_token_response(response: &TokenResponse) -> Result<(), String> {
    if !response.token_type.eq_ignore_ascii_case("bearer") {
        return Err(format!(
            "token_type {:?} is not Bearer",
            response.token_type.chars().take(40).collect::<String>()
        ));
    }
    if response.access_token.is_empty() {
        return Err("empty access_token".into());
    }
    Ok(())
}

pub(super) fn acr_satisfies(actual: Option<&str>, required: &str) -> bool {
    let Some(actual) = actual else { return false };
    match (actual.parse::<u32>(), required.parse::<u32>()) {
        (Ok(actual), Ok(required)) => actual >= required,
        _ => actual == required,
    }
}

/// An RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0, 2).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LogoutRequest {
    pub(super) id_token_hint: Option<String>,
    pub(super) post_logout_redirect_uri: Option<String>,
    pub(super) state: Option<String>,
}

impl LogoutRequest {
    /// An empty logout request.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ID token last issued to this user (recommended).
    pub fn id_token_hint(mut self, id_token: impl Into<String>) -> Self {
        self.id_token_hint = Some(id_token.into());
        self
    }

    /// Where the issuer sends the browser afterwards; must be registered.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// A value round-tripped to the post-logout redirect.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }
}
