//! `/logout`: OpenID RP-Initiated Logout 1.0, with Fief's `redirect_uri`.

use reqwest::StatusCode;

use crate::support::*;

async fn logout(h: &Harness, params: &[(&str, &str)], cookie: Option<&str>) -> Answer {
    let mut request = h.http.get(h.url("/logout")).query(params);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    Answer::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn logout_ends_the_session_and_redirects_with_state() {
    let h = start().await;
    let signed_in = h.authorize(&[]).await;
    let cookie = signed_in.cookie("oidc_forge_session").unwrap();
    // The ID token of this very session: its `sid` is the session's.
    let tokens = h.redeem(&signed_in.location_params()["code"]).await.json();
    let answer = logout(
        &h,
        &[
            ("id_token_hint", str_of(&tokens, "id_token")),
            ("post_logout_redirect_uri", "http://localhost:8000/"),
            ("state", "bye"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(
        answer.header("location"),
        "http://localhost:8000/?state=bye"
    );
    assert!(answer.header("set-cookie").contains("Max-Age=0"));
    // The session is gone: prompt=none now needs a login.
    h.authorize_with_cookie(&[("prompt", "none")], Some(&cookie))
        .await
        .assert_redirected_error("login_required", Some("state-1"), h.issuer.url());
}

/// RP-Initiated Logout 1.0 section 3 (issue 12.9): a request that does not say which client
/// sent it (Fief's logout URL) is not redirected, even to a registered URI; the signed-out page
/// links to it instead.
#[tokio::test]
async fn a_request_naming_no_client_is_not_redirected_but_offered_a_link() {
    let h = start().await;
    let answer = logout(&h, &[("redirect_uri", "http://127.0.0.1:8000/")], None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.headers.get("location").is_none());
    assert!(
        answer.body.contains("You are signed out"),
        "{}",
        answer.body
    );
    assert!(
        answer
            .body
            .contains(r#"<a id="return" href="http://127.0.0.1:8000/">"#),
        "{}",
        answer.body
    );
    // With the client named, the registered URI is a redirect.
    let answer = logout(
        &h,
        &[
            ("redirect_uri", "http://127.0.0.1:8000/"),
            ("client_id", "forge-web"),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(answer.header("location"), "http://127.0.0.1:8000/");
}

/// Confirmation fields of the logout page.
fn confirmation_of(answer: &Answer) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = answer.body.as_str();
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + 27..];
        let name = rest.split('"').next().unwrap().to_owned();
        let value_at = rest.find("value=\"").unwrap() + 7;
        let value = rest[value_at..].split('"').next().unwrap();
        fields.push((name, html_unescape(value)));
    }
    fields
}

fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn post_logout(
    h: &Harness,
    form: &[(String, String)],
    cookie: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = h
        .http
        .post(h.url("/logout"))
        .form(form)
        .header("cookie", cookie);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Answer::read(request.send().await.unwrap()).await
}

/// RP-Initiated Logout 1.0 section 2 (issue 12.9): without an `id_token_hint` naming the
/// signed-in user, the issuer asks first; a cross-site `<img>` or form logs nobody out.
#[tokio::test]
async fn without_a_hint_for_the_user_logout_asks_first() {
    let h = start().await;
    let cookie = h.authorize(&[]).await.cookie("oidc_forge_session").unwrap();
    // A GET with no hint, as a cross-site <img src> would send it.
    let asked = logout(
        &h,
        &[
            ("post_logout_redirect_uri", "http://localhost:8000/"),
            ("client_id", "forge-web"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(
        asked
            .body
            .contains("Sign <strong>alice@example.com</strong> out"),
        "{}",
        asked.body
    );
    assert!(asked.headers.get("location").is_none());
    assert!(!asked.header("set-cookie").contains("oidc_forge_session"));
    assert!(
        signed_in(&h, &cookie).await,
        "the session survives the question"
    );
    let form = confirmation_of(&asked);
    assert!(form.iter().any(|(name, _)| name == "confirmation"));
    // A hint for another user is no hint for this session: still asked.
    let bobs = h.tokens(&[("login_hint", "bob@example.com")]).await;
    let asked_again = logout(
        &h,
        &[("id_token_hint", str_of(&bobs, "id_token"))],
        Some(&cookie),
    )
    .await;
    assert_eq!(asked_again.status, StatusCode::OK);
    assert!(
        asked_again.body.contains("confirmation"),
        "{}",
        asked_again.body
    );
    // A forged post (no or a wrong confirmation, or another site): asked again, or refused.
    let without: Vec<(String, String)> = form
        .iter()
        .filter(|(name, _)| name != "confirmation")
        .cloned()
        .collect();
    let forged = post_logout(&h, &without, &cookie, &[]).await;
    assert_eq!(forged.status, StatusCode::OK);
    assert!(forged.body.contains("confirmation"));
    let mut wrong = without.clone();
    wrong.push(("confirmation".into(), "guessed".into()));
    assert!(
        post_logout(&h, &wrong, &cookie, &[])
            .await
            .body
            .contains("confirmation")
    );
    let cross_site = post_logout(&h, &form, &cookie, &[("origin", "https://evil.example")]).await;
    assert_eq!(
        cross_site.status,
        StatusCode::FORBIDDEN,
        "{}",
        cross_site.body
    );
    assert!(
        signed_in(&h, &cookie).await,
        "no forged request logged the user out"
    );
    // The page's own form, from the issuer's origin: signed out and redirected.
    let origin = h.issuer.url().to_owned();
    let confirmed = post_logout(&h, &form, &cookie, &[("origin", &origin)]).await;
    assert_eq!(confirmed.status, StatusCode::FOUND, "{}", confirmed.body);
    assert_eq!(confirmed.header("location"), "http://localhost:8000/");
    assert!(!signed_in(&h, &cookie).await, "signed out");
}

/// Whether the session cookie still signs in without a prompt.
async fn signed_in(h: &Harness, cookie: &str) -> bool {
    h.authorize_with_cookie(&[("prompt", "none")], Some(cookie))
        .await
        .location_params()
        .contains_key("code")
}

/// In auto-login mode the question page posts itself: the only automatic confirmation is a
/// same-origin POST, which the page's one allowed script makes.
#[tokio::test]
async fn in_auto_mode_the_question_submits_itself_and_nothing_else_runs() {
    let h = start().await;
    let cookie = h.authorize(&[]).await.cookie("oidc_forge_session").unwrap();
    let asked = logout(&h, &[], Some(&cookie)).await;
    assert!(
        asked
            .body
            .contains("<script>document.forms[0].submit();</script>")
    );
    let csp = asked.header("content-security-policy");
    // The hash of exactly that script, nothing else.
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"document.forms[0].submit();");
    use base64::Engine as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src"))
        .unwrap_or_default();
    assert_eq!(script_src, format!("script-src 'sha256-{hash}'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(asked.header("x-frame-options"), "DENY");
    // Interactive mode shows the same question without the script.
    let mut config = oidc_forge::Config::default();
    config.login.mode = oidc_forge::config::LoginMode::Interactive;
    let interactive = start_with(config).await;
    let page = LoginPage::of(&interactive.authorize(&[]).await);
    let session = interactive
        .decide(&page, &[("user", ALICE)], &[])
        .await
        .cookie("oidc_forge_session")
        .unwrap();
    let asked = logout(&interactive, &[], Some(&session)).await;
    assert!(asked.body.contains("confirmation") && !asked.body.contains("<script>"));
    assert!(
        !asked
            .header("content-security-policy")
            .contains("script-src")
    );
}

#[tokio::test]
async fn without_a_redirect_the_signed_out_page_shows() {
    let h = start().await;
    let answer = logout(&h, &[], None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("You are signed out"));
}

#[tokio::test]
async fn unregistered_redirects_and_bad_hints_are_refused() {
    // OIDF oidcc-rp-initiated-logout-bad-post-logout-redirect-uri, -modified-id-token-hint,
    // -query-added-to-post-logout-redirect-uri.
    let h = start().await;
    let tokens = h.tokens(&[]).await;
    let id_token = str_of(&tokens, "id_token");
    let mut modified = id_token.to_owned();
    modified.insert(id_token.find('.').unwrap() + 5, 'x');
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("post_logout_redirect_uri", "https://evil.test/")],
            "is not registered",
        ),
        (
            &[
                ("post_logout_redirect_uri", "http://localhost:8000/?x=1"),
                ("client_id", "forge-web"),
            ],
            "is not registered",
        ),
        (
            &[
                ("id_token_hint", &modified),
                ("post_logout_redirect_uri", "http://localhost:8000/"),
            ],
            "id_token_hint",
        ),
        (
            &[("id_token_hint", id_token), ("client_id", "forge-spa")],
            "does not match",
        ),
    ];
    for (params, needle) in cases {
        let answer = logout(&h, params, None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(answer.headers.get("location").is_none());
        assert!(answer.body.contains(needle), "{needle}: {}", answer.body);
    }
    // Another client's URI is not the web client's.
    let mut config = oidc_forge::Config::default();
    config.clients[1].post_logout_redirect_uris = vec!["http://spa.localhost:3000/bye".into()];
    let h = start_with(config).await;
    let tokens = h.tokens(&[]).await;
    let answer = logout(
        &h,
        &[
            ("id_token_hint", str_of(&tokens, "id_token")),
            ("post_logout_redirect_uri", "http://spa.localhost:3000/bye"),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

/// Review F2: an ID token of the same user from another session (another browser, or an
/// earlier login) is no hint for this session: the issuer asks.
#[tokio::test]
async fn a_hint_from_another_session_of_the_user_asks_first() {
    let h = start().await;
    let here = h.authorize(&[]).await;
    let cookie = here.cookie("oidc_forge_session").unwrap();
    // Alice again, signed in elsewhere: same sub, another sid.
    let elsewhere = h.tokens(&[]).await;
    let asked = logout(
        &h,
        &[("id_token_hint", str_of(&elsewhere, "id_token"))],
        Some(&cookie),
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("confirmation"), "{}", asked.body);
    assert!(signed_in(&h, &cookie).await);
    // This session's own ID token ends it without a question.
    let own = h.redeem(&here.location_params()["code"]).await.json();
    let answer = logout(
        &h,
        &[("id_token_hint", str_of(&own, "id_token"))],
        Some(&cookie),
    )
    .await;
    // The hint names forge-web, whose logout URL (FusionAuth's) ends a logout without a URI.
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(answer.header("location"), "http://localhost:5000/logout");
    assert!(!signed_in(&h, &cookie).await);
}

/// Review F3: in auto mode the question answers itself only for a navigation no other site
/// started; a link or script on another site gets the question.
#[tokio::test]
async fn in_auto_mode_a_cross_site_navigation_gets_the_question() {
    let h = start().await;
    let cookie = h.authorize(&[]).await.cookie("oidc_forge_session").unwrap();
    for site in ["cross-site", "same-site"] {
        let answer = Answer::read(
            h.http
                .get(h.url("/logout"))
                .header("cookie", &cookie)
                .header("sec-fetch-site", site)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(answer.body.contains("confirm-logout"), "{}", answer.body);
        assert!(!answer.body.contains("<script>"), "{site}");
        assert!(
            !answer
                .header("content-security-policy")
                .contains("script-src")
        );
    }
    for site in ["same-origin", "none"] {
        let answer = Answer::read(
            h.http
                .get(h.url("/logout"))
                .header("cookie", &cookie)
                .header("sec-fetch-site", site)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(answer.body.contains("<script>"), "{site}");
    }
}

/// FusionAuth's quickstart builds `{issuer}/oauth2/logout?client_id=...` by hand: the same logout.
#[tokio::test]
async fn fusionauths_logout_path_is_the_logout_endpoint() {
    let h = start().await;
    let answer = Answer::read(
        h.http
            .get(h.url("/oauth2/logout"))
            .query(&[
                ("client_id", "forge-web"),
                ("post_logout_redirect_uri", "http://localhost:5000/"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(answer.header("location"), "http://localhost:5000/");
}

/// FusionAuth's application "Logout URL": a logout naming the client but no
/// post_logout_redirect_uri ends there (its Flask quickstart's `/logout` clears the app's
/// cookies). A request naming no client, or a client without one, ends on the issuer's page.
#[tokio::test]
async fn a_clients_logout_url_ends_a_logout_that_gives_no_uri() {
    let h = start().await;
    let answer = logout(&h, &[("client_id", "forge-web"), ("state", "s1")], None).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(
        answer.header("location"),
        "http://localhost:5000/logout?state=s1"
    );
    // Signed in, the question comes first; the confirmed answer goes to the logout URL.
    let cookie = h.authorize(&[]).await.cookie("oidc_forge_session").unwrap();
    let asked = logout(&h, &[("client_id", "forge-web")], Some(&cookie)).await;
    assert_eq!(asked.status, StatusCode::OK);
    let confirmed = post_logout(
        &h,
        &confirmation_of(&asked),
        &cookie,
        &[("origin", h.issuer.url())],
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::FOUND, "{}", confirmed.body);
    assert_eq!(confirmed.header("location"), "http://localhost:5000/logout");

    let answer = logout(&h, &[("client_id", "forge-spa")], None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body.contains("You are signed out"),
        "{}",
        answer.body
    );
}

/// The confirmation a logout page carries is its own session's: another browser's page cannot
/// answer for this one. A `client_id` that matches the hint's audience is accepted.
#[tokio::test]
async fn a_confirmation_answers_for_its_own_session_only() {
    let h = start().await;
    let first = h.authorize(&[]).await.cookie("oidc_forge_session").unwrap();
    let second = h.authorize(&[]).await.cookie("oidc_forge_session").unwrap();
    let origin = [("origin", h.issuer.url())];
    let asked = logout(&h, &[("client_id", "forge-web")], Some(&first)).await;
    let posted = post_logout(&h, &confirmation_of(&asked), &second, &origin).await;
    assert_eq!(
        posted.status,
        StatusCode::OK,
        "asked again: {}",
        posted.body
    );
    assert!(posted.body.contains("confirmation"));
    assert!(signed_in(&h, &second).await, "the other session stands");

    let tokens = h
        .redeem(
            &h.authorize_with_cookie(&[], Some(&first))
                .await
                .location_params()["code"],
        )
        .await
        .json();
    let answer = logout(
        &h,
        &[
            ("id_token_hint", str_of(&tokens, "id_token")),
            ("client_id", "forge-web"),
            ("post_logout_redirect_uri", "http://localhost:8000/"),
        ],
        Some(&first),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(answer.header("location"), "http://localhost:8000/");
}
