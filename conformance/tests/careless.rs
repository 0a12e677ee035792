//! The deliberately careless web app (`oidc_forge_conformance::careless`) against the issuer's
//! embedded default, through a cookie-keeping browser: its login works, each of its four
//! defects is really there, and everything else it checks is really checked.

use oidc_forge::forge::claims::ClaimsTarget;
use oidc_forge::forge::token_response::ResponseEdit;
use oidc_forge::{Config, MockIssuer, Mutation};
use oidc_forge_conformance::careless::{
    self, CarelessSettings, SESSION_COOKIE, TRANSACTION_COOKIE,
};
use oidc_forge_conformance::env;
use oidc_forge_conformance::http::{Browser, Page, query_of};

/// The URL with the parameter removed, or replaced by `value`.
fn replace_param(url: &str, name: &str, value: Option<&str>) -> String {
    oidc_forge_conformance::web_target::replace_param(url, name, value).expect("an absolute URL")
}

/// The issuer's default configuration on a port of its own, and the careless app on another.
struct Setup {
    issuer: MockIssuer,
    app: String,
}

impl Setup {
    async fn start() -> Self {
        let issuer = MockIssuer::start(Config::default())
            .await
            .expect("the issuer starts");
        let (listener, app) = env::bind().await.expect("a port for the app");
        let router = careless::router(CarelessSettings::new(issuer.url(), &app))
            .await
            .expect("the app reads the issuer's discovery and JWKS");
        env::serve(listener, router);
        Self { issuer, app }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    /// `/login` (with `query`), then the issuer's automatic login: the callback URL the issuer
    /// sends the browser to, not yet visited.
    async fn callback_url(&self, browser: &mut Browser, query: &str) -> String {
        let login = browser
            .get(&self.url(&format!("/login{query}")))
            .await
            .expect("GET /login");
        assert_eq!(login.answer.status, 302, "/login redirects to the issuer");
        let authorize = login.location.expect("a Location to the issuer");
        let issued = browser.get(&authorize).await.expect("GET /authorize");
        assert_eq!(issued.answer.status, 302, "{}", issued.answer.body);
        let callback = issued.location.expect("the issuer redirects back");
        assert!(
            callback.starts_with(&self.url("/auth-callback?")),
            "{callback}"
        );
        callback
    }

    /// Whether the browser is signed in, by the protected page.
    async fn signed_in(&self, browser: &mut Browser) -> bool {
        let page = browser.get(&self.url("/protected")).await.expect("GET");
        page.answer.status == 200
    }
}

fn assert_refused(page: &Page, status: u16, reason: &str) {
    assert_eq!(page.answer.status, status, "{}", page.answer.body);
    assert!(
        page.answer.body.contains(reason),
        "the page names {reason:?}: {}",
        page.answer.body
    );
    assert!(
        page.set_cookie(SESSION_COOKIE).is_none(),
        "no session on a refused login"
    );
    assert!(!page.answer.has_header("location"));
}

#[tokio::test]
async fn happy_path_signs_in_and_logs_out() {
    let setup = Setup::start().await;
    let mut browser = Browser::new();
    let home = browser.get(&setup.url("/")).await.unwrap();
    assert_eq!(home.answer.status, 200);
    assert!(home.answer.body.contains("home"));

    let pages = browser.follow(&setup.url("/protected"), 6).await.unwrap();
    let urls: Vec<&str> = pages.iter().map(|page| page.url.as_str()).collect();
    assert_eq!(pages[0].answer.status, 302, "{urls:?}");
    assert_eq!(
        pages[0].location.as_deref(),
        Some(setup.url("/login?return_to=/protected").as_str())
    );
    // The authorization request: code flow, PKCE S256, state, nonce, the registered callback.
    let authorize = pages[1].location.clone().unwrap();
    assert!(authorize.starts_with(&format!("{}/authorize?", setup.issuer.url())));
    let params = query_of(&authorize).unwrap();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "forge-web");
    assert_eq!(params["redirect_uri"], setup.url("/auth-callback"));
    assert_eq!(params["scope"], "openid email");
    assert_eq!(params["code_challenge_method"], "S256");
    for name in ["state", "nonce", "code_challenge"] {
        assert_eq!(params[name].len(), 43, "{name}: 256 bits, base64url");
    }
    let transaction = pages[1].set_cookie(TRANSACTION_COOKIE).unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(transaction.contains(attribute), "{transaction}");
    }
    assert!(!transaction.contains("Secure"), "{transaction}");

    let callback = &pages[3];
    assert!(callback.url.starts_with(&setup.url("/auth-callback?")));
    assert_eq!(callback.answer.status, 302);
    assert_eq!(
        callback.location.as_deref(),
        Some(setup.url("/protected").as_str())
    );
    assert_eq!(callback.answer.header("referrer-policy"), "no-referrer");
    let session = callback.set_cookie(SESSION_COOKIE).unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        callback
            .set_cookie(TRANSACTION_COOKIE)
            .is_some_and(|line| line.contains("Max-Age=0")),
        "the transaction cookie is cleared"
    );
    let last = pages.last().unwrap();
    assert_eq!(last.url, setup.url("/protected"), "{urls:?}");
    assert_eq!(last.answer.status, 200);
    assert!(
        last.answer.body.contains("Signed in as alice@example.com"),
        "{}",
        last.answer.body
    );

    // The same callback again: its transaction is gone.
    let replay = browser.get(&callback.url).await.unwrap();
    assert_refused(&replay, 400, "no login in progress");
    assert!(
        setup.signed_in(&mut browser).await,
        "the replay changes nothing"
    );

    // Logout: the session ends here, then at the issuer, which sends the browser home.
    let logout = browser.get(&setup.url("/logout")).await.unwrap();
    assert_eq!(logout.answer.status, 302);
    assert!(
        logout
            .set_cookie(SESSION_COOKIE)
            .is_some_and(|line| line.contains("Max-Age=0"))
    );
    let end_session = logout.location.clone().unwrap();
    let params = query_of(&end_session).unwrap();
    assert!(!params["id_token_hint"].is_empty());
    assert_eq!(params["post_logout_redirect_uri"], setup.url("/"));
    assert_eq!(params["client_id"], "forge-web");
    let back = browser.get(&end_session).await.unwrap();
    assert_eq!(back.answer.status, 302, "{}", back.answer.body);
    assert!(
        back.location
            .as_deref()
            .is_some_and(|location| location.starts_with(&setup.url("/"))),
        "{:?}",
        back.location
    );
    assert!(!setup.signed_in(&mut browser).await);
}

#[tokio::test]
async fn serve_runs_the_same_app() {
    let issuer = MockIssuer::start(Config::default()).await.unwrap();
    let (listener, app) = env::bind().await.unwrap();
    let settings = CarelessSettings::new(issuer.url(), &app);
    tokio::spawn(careless::serve(listener, settings));
    let mut browser = Browser::new();
    let pages = browser
        .follow(&format!("{app}/protected"), 6)
        .await
        .unwrap();
    assert!(
        pages
            .last()
            .unwrap()
            .answer
            .body
            .contains("Signed in as alice@example.com")
    );
}

#[tokio::test]
async fn defect_a_state_is_never_checked() {
    let setup = Setup::start().await;
    for state in [None, Some("forged-by-an-attacker")] {
        let mut browser = Browser::new();
        let callback = setup.callback_url(&mut browser, "").await;
        let page = browser
            .get(&replace_param(&callback, "state", state))
            .await
            .unwrap();
        assert_eq!(
            page.answer.status, 302,
            "state {state:?}: {}",
            page.answer.body
        );
        assert!(page.set_cookie(SESSION_COOKIE).is_some());
        assert!(setup.signed_in(&mut browser).await, "state {state:?}");
    }
}

#[tokio::test]
async fn defect_b_nonce_is_never_checked() {
    let setup = Setup::start().await;
    setup
        .issuer
        .edit_next_token_response(vec![ResponseEdit::IdTokenMutations(vec![
            Mutation::InvalidNonce,
        ])])
        .unwrap();
    let mut browser = Browser::new();
    let pages = browser.follow(&setup.url("/protected"), 6).await.unwrap();
    assert_eq!(
        setup.issuer.token_response_edits_waiting(),
        0,
        "the mangled ID token was served"
    );
    let last = pages.last().unwrap();
    assert_eq!(last.answer.status, 200, "{}", last.answer.body);
    assert!(last.answer.body.contains("Signed in as alice@example.com"));
}

#[tokio::test]
async fn defect_c_return_to_is_an_open_redirect() {
    let setup = Setup::start().await;
    let mut browser = Browser::new();
    let callback = setup
        .callback_url(&mut browser, "?return_to=https://evil.example/")
        .await;
    let page = browser.get(&callback).await.unwrap();
    assert_eq!(page.answer.status, 302);
    assert_eq!(page.location.as_deref(), Some("https://evil.example/"));
    assert!(page.set_cookie(SESSION_COOKIE).is_some());
}

#[tokio::test]
async fn defect_d_an_error_callback_answers_500() {
    let setup = Setup::start().await;
    let mut browser = Browser::new();
    let page = browser
        .get(&setup.url("/auth-callback?error=access_denied&state=x"))
        .await
        .unwrap();
    assert_eq!(page.answer.status, 500);
    // Also with a login in progress, and the login's own state.
    let callback = setup.callback_url(&mut browser, "").await;
    let state = query_of(&callback).unwrap()["state"].clone();
    let page = browser
        .get(&setup.url(&format!("/auth-callback?error=access_denied&state={state}")))
        .await
        .unwrap();
    assert_eq!(page.answer.status, 500);
}

#[tokio::test]
async fn forged_id_tokens_are_refused() {
    let setup = Setup::start().await;
    for (mutation, reason) in [
        (Mutation::SignatureFlipped, "signature verification failed"),
        (Mutation::WrongAudience, "audience rejected"),
        (Mutation::WrongIssuer, "issuer"),
        (Mutation::Expired, "expired"),
        (Mutation::MissingClaim("iat".into()), "`iat` is missing"),
        (
            Mutation::UntrustedSecondAudienceWithoutAzp,
            "audience rejected",
        ),
        (
            Mutation::AlgNone(oidc_forge::forge::mutation::NoneSpelling::Lower),
            "the signature is empty",
        ),
        (Mutation::UnknownKid, "no signing key"),
        (Mutation::ForeignKey, "signature verification failed"),
        (Mutation::InvalidAtHash, "at_hash"),
    ] {
        let shown = format!("{mutation:?}");
        setup
            .issuer
            .edit_next_token_response(vec![ResponseEdit::IdTokenMutations(vec![mutation])])
            .unwrap();
        let mut browser = Browser::new();
        let callback = setup.callback_url(&mut browser, "").await;
        let page = browser.get(&callback).await.unwrap();
        assert_eq!(setup.issuer.token_response_edits_waiting(), 0, "{shown}");
        assert_refused(&page, 400, reason);
        assert!(!setup.signed_in(&mut browser).await, "{shown}");
    }
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    let setup = Setup::start().await;
    setup
        .issuer
        .queue_claims_for(
            ClaimsTarget::IdToken,
            serde_json::json!({"sub": "someone-else"}),
        )
        .unwrap();
    let mut browser = Browser::new();
    let callback = setup.callback_url(&mut browser, "").await;
    let page = browser.get(&callback).await.unwrap();
    assert_refused(&page, 400, "UserInfo");
    assert!(!setup.signed_in(&mut browser).await);
}

#[tokio::test]
async fn the_other_callback_checks_hold() {
    let setup = Setup::start().await;
    let iss = setup.issuer.url().to_owned();
    for (change, reason) in [
        (("iss", Some("http://evil.example")), "another issuer"),
        (("iss", None), "lacks the issuer identifier"),
        (("code", None), "neither a code nor an error"),
    ] {
        let mut browser = Browser::new();
        let callback = setup.callback_url(&mut browser, "").await;
        assert_eq!(query_of(&callback).unwrap()["iss"], iss);
        let page = browser
            .get(&replace_param(&callback, change.0, change.1))
            .await
            .unwrap();
        assert_refused(&page, 400, reason);
        assert!(
            page.set_cookie(TRANSACTION_COOKIE)
                .is_some_and(|line| line.contains("Max-Age=0")),
            "the failed login ends the transaction"
        );
        assert!(!setup.signed_in(&mut browser).await);
    }

    // A callback in a browser that started no login.
    let mut stranger = Browser::new();
    let mut victim = Browser::new();
    let callback = setup.callback_url(&mut victim, "").await;
    let page = stranger.get(&callback).await.unwrap();
    assert_refused(&page, 400, "no login in progress");
    assert!(page.answer.header_all("set-cookie").is_empty());

    // A code already redeemed, brought to a login in progress: the token endpoint's
    // invalid_grant is an upstream failure, 502, not a crash.
    let pages = victim.follow(&callback, 2).await.unwrap();
    assert_eq!(pages.last().unwrap().answer.status, 200);
    let mut other = Browser::new();
    setup.callback_url(&mut other, "").await;
    let page = other.get(&callback).await.unwrap();
    assert_refused(&page, 502, "invalid_grant");
}

#[tokio::test]
async fn a_new_login_renews_the_session_id() {
    let setup = Setup::start().await;
    let mut browser = Browser::new();
    browser.follow(&setup.url("/protected"), 6).await.unwrap();
    let first = browser.cookies().header().unwrap_or_default();
    let pages = browser.follow(&setup.url("/login"), 4).await.unwrap();
    assert_eq!(pages.last().unwrap().answer.status, 200);
    let second = browser.cookies().header().unwrap_or_default();
    let session = |header: &str| {
        header
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{SESSION_COOKIE}=")))
            .map(str::to_owned)
    };
    assert!(session(&first).is_some());
    assert_ne!(session(&first), session(&second), "a new id at login");
}

#[tokio::test]
async fn https_app_urls_get_secure_cookies() {
    let issuer = MockIssuer::start(Config::default()).await.unwrap();
    let (listener, _) = env::bind().await.unwrap();
    let router = careless::router(CarelessSettings::new(issuer.url(), "https://app.example"))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    env::serve(listener, router);
    let mut browser = Browser::new();
    let login = browser.get(&format!("http://{addr}/login")).await.unwrap();
    let cookie = login.set_cookie(TRANSACTION_COOKIE).unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_issuer_is_refused_at_startup() {
    let issuer = MockIssuer::start(Config::default()).await.unwrap();
    let started = careless::router(CarelessSettings::new(
        format!("{}/", issuer.url()),
        "http://127.0.0.1:1",
    ))
    .await;
    let Err(error) = started else {
        panic!("the discovery document names another issuer, yet the app started");
    };
    assert!(error.to_string().contains("Discovery 4.3"), "{error}");
}

#[tokio::test]
async fn token_endpoint_failures_are_upstream_errors() {
    let setup = Setup::start().await;
    let mut browser = Browser::new();
    setup.issuer.faults().token().status(503).once().unwrap();
    let callback = setup.callback_url(&mut browser, "").await;
    let page = browser.get(&callback).await.unwrap();
    assert_refused(&page, 502, "the token endpoint refused the code: 503");

    setup
        .issuer
        .faults()
        .token()
        .delay(std::time::Duration::from_secs(7))
        .once()
        .unwrap();
    let callback = setup.callback_url(&mut browser, "").await;
    let started = std::time::Instant::now();
    let page = browser.get(&callback).await.unwrap();
    assert_refused(&page, 502, "no answer within 5 s");
    assert!(started.elapsed() < std::time::Duration::from_secs(7));
}
