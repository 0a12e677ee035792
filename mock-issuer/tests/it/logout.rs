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
    let tokens = h.tokens(&[]).await;
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

#[tokio::test]
async fn fief_style_redirect_uri_without_client_is_accepted_when_registered() {
    let h = start().await;
    let answer = logout(&h, &[("redirect_uri", "http://127.0.0.1:8000/")], None).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(answer.header("location"), "http://127.0.0.1:8000/");
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
    // The SPA's URI is not the web client's.
    let answer = logout(
        &h,
        &[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "http://localhost:3000/"),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}
