//! Whether an authorization request can reuse the browser's session, must sign a user in, or
//! must fail (Core 3.1.2.1 `prompt`, `max_age`, `login_hint`; 3.1.2.6 `login_required`).
//!
//! `prompt=consent` and `prompt=select_account` show the login page, which names the client
//! and its scopes and lists the accounts, even over a session, in interactive mode. In auto
//! mode the configuration answers for the user, as Core 3.1.2.1 lets a server that has
//! obtained consent and knows the account: consent is given, and the account is the hinted
//! or configured one. `login_hint` is a hint (Core 3.1.2.1): one naming nobody is ignored.

use crate::config::{Config, LoginMode, UserConfig};
use crate::rules::authorization::AuthorizationRequest;
use crate::state::{Login, Session};

/// What `/authorize` does about the end user.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginDecision<'a> {
    /// The session's login stands.
    Reuse(Login),
    /// Sign this user in now, without a page.
    SignIn(&'a UserConfig),
    /// Show the page that lists the users.
    ShowLoginPage,
    /// Answer the client with this error.
    Fail {
        error: &'static str,
        description: String,
    },
}

/// Decides how the request authenticates the user.
pub fn decide<'a>(
    config: &'a Config,
    request: &AuthorizationRequest,
    session: Option<&Session>,
    now: u64,
) -> LoginDecision<'a> {
    let hinted = request
        .login_hint
        .as_deref()
        .and_then(|hint| config.find_user(hint));
    let interactive = config.login.mode == LoginMode::Interactive;
    let page_required = interactive && (request.prompt.consent || request.prompt.select_account);
    let fresh_login_required =
        request.prompt.login || request.acr_values.iter().any(|v| v == "1") || page_required;
    let usable_session = session.filter(|session| {
        let login = &session.login;
        let recent_enough = request
            .max_age
            .is_none_or(|max_age| now.saturating_sub(login.auth_time) <= max_age);
        let same_user = hinted.is_none_or(|user| user.sub.to_string() == login.sub);
        recent_enough && same_user && !fresh_login_required
    });
    if let Some(session) = usable_session {
        return LoginDecision::Reuse(session.login.clone());
    }
    if request.prompt.none {
        // Core 3.1.2.6: no UI may be shown, so the client learns that a login is needed.
        return LoginDecision::Fail {
            error: "login_required",
            description: "prompt=none, and no session that satisfies the request".into(),
        };
    }
    match config.login.mode {
        LoginMode::Interactive => LoginDecision::ShowLoginPage,
        LoginMode::Auto => match hinted.or_else(|| config.auto_login_user()) {
            Some(user) => LoginDecision::SignIn(user),
            None => LoginDecision::ShowLoginPage,
        },
    }
}

/// The `acr` of a login made now: "1" when the request forced a fresh authentication
/// (`prompt=login`, `max_age`, or `acr_values` asking for "1"), "0" otherwise (Fief's levels).
pub fn acr_for(request: &AuthorizationRequest) -> &'static str {
    let forced = request.prompt.login
        || request.max_age.is_some()
        || request.acr_values.iter().any(|v| v == "1");
    if forced { "1" } else { "0" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::rules::authorization::parse_request;

    const NOW: u64 = 1_767_225_600;

    fn request(extra: &str) -> AuthorizationRequest {
        let query = format!(
            "response_type=code&client_id=forge-web&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fauth-callback&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256{extra}"
        );
        parse_request(&Config::default(), &Params::parse(query.as_bytes())).unwrap()
    }

    fn session(auth_time: u64) -> Session {
        Session {
            login: Login {
                sub: "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4".into(),
                auth_time,
                acr: "0",
                sid: None,
            },
        }
    }

    #[test]
    fn prompt_none_needs_a_session() {
        let config = Config::default();
        let decision = decide(&config, &request("&prompt=none"), None, NOW);
        assert!(matches!(
            decision,
            LoginDecision::Fail {
                error: "login_required",
                ..
            }
        ));
        let s = session(NOW - 10);
        assert_eq!(
            decide(&config, &request("&prompt=none"), Some(&s), NOW),
            LoginDecision::Reuse(s.login.clone())
        );
    }

    #[test]
    fn max_age_and_prompt_login_force_a_new_login() {
        let config = Config::default();
        let s = session(NOW - 100);
        assert!(matches!(
            decide(&config, &request("&max_age=10"), Some(&s), NOW),
            LoginDecision::SignIn(_)
        ));
        assert!(matches!(
            decide(&config, &request("&max_age=1000"), Some(&s), NOW),
            LoginDecision::Reuse(_)
        ));
        assert!(matches!(
            decide(&config, &request("&prompt=login"), Some(&s), NOW),
            LoginDecision::SignIn(_)
        ));
        assert_eq!(acr_for(&request("&prompt=login")), "1");
        assert_eq!(acr_for(&request("")), "0");
    }

    #[test]
    fn login_hint_selects_the_user() {
        let config = Config::default();
        match decide(
            &config,
            &request("&login_hint=bob%40example.com"),
            None,
            NOW,
        ) {
            LoginDecision::SignIn(user) => assert_eq!(user.email, "bob@example.com"),
            other => panic!("{other:?}"),
        }
        match decide(&config, &request(""), None, NOW) {
            LoginDecision::SignIn(user) => assert_eq!(user.email, "alice@example.com"),
            other => panic!("{other:?}"),
        }
        // A hint that names nobody is only a hint: the configured user signs in.
        match decide(&config, &request("&login_hint=carol"), None, NOW) {
            LoginDecision::SignIn(user) => assert_eq!(user.email, "alice@example.com"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn consent_and_select_account_show_the_page_in_interactive_mode_only() {
        let mut interactive = Config::default();
        interactive.login.mode = LoginMode::Interactive;
        let auto = Config::default();
        let s = session(NOW - 10);
        for prompt in ["&prompt=consent", "&prompt=select_account"] {
            assert_eq!(
                decide(&interactive, &request(prompt), Some(&s), NOW),
                LoginDecision::ShowLoginPage,
                "{prompt}"
            );
            // Auto mode: consent is the configuration's, the account the configured one.
            assert_eq!(
                decide(&auto, &request(prompt), Some(&s), NOW),
                LoginDecision::Reuse(s.login.clone()),
                "{prompt}"
            );
        }
        assert_eq!(
            decide(&interactive, &request(""), Some(&s), NOW),
            LoginDecision::Reuse(s.login.clone())
        );
    }

    #[test]
    fn acr_values_and_a_hint_for_the_same_user_keep_the_session() {
        let config = Config::default();
        let s = session(NOW - 10);
        // Only "1" asks for a fresh authentication (Fief's levels); "0" is met by any login.
        assert_eq!(
            decide(&config, &request("&acr_values=0"), Some(&s), NOW),
            LoginDecision::Reuse(s.login.clone())
        );
        assert!(matches!(
            decide(&config, &request("&acr_values=0%201"), Some(&s), NOW),
            LoginDecision::SignIn(_)
        ));
        // A hint naming the session's own user is met by the session; another user is not.
        assert_eq!(
            decide(
                &config,
                &request("&login_hint=bob%40example.com"),
                Some(&s),
                NOW
            ),
            LoginDecision::Reuse(s.login.clone())
        );
        match decide(
            &config,
            &request("&login_hint=alice%40example.com"),
            Some(&s),
            NOW,
        ) {
            LoginDecision::SignIn(user) => assert_eq!(user.email, "alice@example.com"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_acr_says_whether_the_login_was_forced() {
        assert_eq!(acr_for(&request("&acr_values=1")), "1");
        assert_eq!(acr_for(&request("&acr_values=0")), "0");
        assert_eq!(acr_for(&request("&max_age=60")), "1");
    }
}
