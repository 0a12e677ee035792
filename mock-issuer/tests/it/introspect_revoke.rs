//! `/introspect` (RFC 7662) and `/revoke` (RFC 7009).

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn introspection_describes_active_tokens_only() {
    let h = start().await;
    let tokens = h.tokens(&[]).await;
    let access = str_of(&tokens, "access_token");
    let answer = h
        .post_form("/introspect", &[("token", access)], Some(WEB))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], ALICE);
    assert_eq!(body["client_id"], "forge-web");
    assert_eq!(body["scope"], "openid email offline_access");
    assert_eq!(body["exp"], NOW + 3600);

    let refresh = str_of(&tokens, "refresh_token");
    let body = h
        .post_form(
            "/introspect",
            &[("token", refresh), ("token_type_hint", "refresh_token")],
            Some(WEB),
        )
        .await
        .json();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");

    let body = h
        .post_form("/introspect", &[("token", "garbage")], Some(WEB))
        .await
        .json();
    assert_eq!(body, serde_json::json!({"active": false}));
    h.clock.advance(3600);
    let body = h
        .post_form("/introspect", &[("token", access)], Some(WEB))
        .await
        .json();
    assert_eq!(body, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn introspection_requires_a_confidential_client() {
    let h = start().await;
    h.post_form("/introspect", &[("token", "x")], None)
        .await
        .assert_oauth_error(401, "invalid_client");
    h.post_form(
        "/introspect",
        &[("token", "x"), ("client_id", "forge-spa")],
        None,
    )
    .await
    .assert_oauth_error(401, "invalid_client");
    h.post_form("/introspect", &[], Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_request");
}

#[tokio::test]
async fn revoking_an_access_token_stops_it_at_userinfo() {
    let h = start().await;
    let tokens = h.tokens(&[]).await;
    let access = str_of(&tokens, "access_token");
    let answer = h
        .post_form("/revoke", &[("token", access)], Some(WEB))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(h.userinfo(access).await.status, StatusCode::UNAUTHORIZED);
    let body = h
        .post_form("/introspect", &[("token", access)], Some(WEB))
        .await
        .json();
    assert_eq!(body["active"], false);
}

#[tokio::test]
async fn revoking_a_refresh_token_stops_refreshes() {
    let h = start().await;
    let tokens = h.tokens(&[]).await;
    let refresh = str_of(&tokens, "refresh_token");
    let answer = h
        .post_form(
            "/revoke",
            &[("token", refresh), ("token_type_hint", "refresh_token")],
            Some(WEB),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    h.token(
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        Some(WEB),
    )
    .await
    .assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn revocation_checks_ownership_and_ignores_unknown_tokens() {
    // RFC 7009 2.1 (the token must be the client's), 2.2 (unknown tokens are fine).
    let h = start().await;
    let tokens = h.tokens(&[]).await;
    let spa_revoke = h
        .post_form(
            "/revoke",
            &[
                ("token", str_of(&tokens, "refresh_token")),
                ("client_id", "forge-spa"),
            ],
            None,
        )
        .await;
    spa_revoke.assert_oauth_error(400, "unauthorized_client");
    assert_eq!(
        h.post_form("/revoke", &[("token", "unknown")], Some(WEB))
            .await
            .status,
        StatusCode::OK
    );
    h.post_form("/revoke", &[("token", "x")], Some(("forge-web", "bad")))
        .await
        .assert_oauth_error(401, "invalid_client");
    h.post_form("/revoke", &[], Some(WEB))
        .await
        .assert_oauth_error(400, "invalid_request");
}
