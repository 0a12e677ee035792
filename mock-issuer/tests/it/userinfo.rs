//! `/api/userinfo`: Core 5.3-5.4, RFC 6750 2-3.

use reqwest::StatusCode;

use crate::support::*;

async fn access_token(h: &Harness, scope: &str) -> String {
    str_of(&h.tokens(&[("scope", scope)]).await, "access_token").to_owned()
}

#[tokio::test]
async fn claims_follow_the_granted_scopes_by_get_and_post() {
    // Core 5.3.1, 5.4; OIDF oidcc-userinfo-get/-post-header/-post-body, oidcc-scope-*.
    let h = start_with(core_scopes()).await;
    let token = access_token(&h, "openid email").await;
    let get = h.userinfo(&token).await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.body);
    assert_eq!(
        get.json(),
        serde_json::json!({"sub": ALICE, "email": "alice@example.com", "email_verified": true})
    );
    let post_header = h
        .http
        .post(h.url("/api/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(Answer::read(post_header).await.json(), get.json());
    let post_body = h
        .http
        .post(h.url("/api/userinfo"))
        .form(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(Answer::read(post_body).await.json(), get.json());

    let profile = h
        .userinfo(&access_token(&h, "openid profile").await)
        .await
        .json();
    assert_eq!(profile["name"], "Alice Liddell");
    assert_eq!(profile["locale"], "en-GB");
    assert!(profile.get("email").is_none());
}

/// The embedded default releases the email under `openid`, as Fief and FusionAuth do: the Fief
/// examples read `user["email"]` after asking for `openid` alone.
#[tokio::test]
async fn the_default_releases_the_email_under_openid() {
    let h = start().await;
    let token = access_token(&h, "openid").await;
    let info = h.userinfo(&token).await.json();
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["email_verified"], true);
    assert!(
        info.get("name").is_none(),
        "profile claims still need `profile`"
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    // RFC 9110 11.1.
    let h = start().await;
    let token = access_token(&h, "openid").await;
    let response = h
        .http
        .get(h.url("/api/userinfo"))
        .header("authorization", format!("bEaReR {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_token_is_401_with_a_bare_challenge() {
    // RFC 6750 3.1: no error code when the request had no authentication.
    let h = start().await;
    let answer = Answer::read(h.http.get(h.url("/api/userinfo")).send().await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("www-authenticate"),
        "Bearer realm=\"oidc-forge\""
    );
    let basic = h
        .http
        .get(h.url("/api/userinfo"))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    let basic = Answer::read(basic).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert!(!basic.header("www-authenticate").contains("error="));
}

#[tokio::test]
async fn malformed_token_placement_is_400_invalid_request() {
    // RFC 6750 2 (one method only), 2.3 (query refused here), 2.1 (empty credentials).
    let h = start().await;
    let token = access_token(&h, "openid").await;
    let both = h
        .http
        .get(h.url("/api/userinfo"))
        .query(&[("access_token", &token)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let query_only = h
        .http
        .get(h.url("/api/userinfo"))
        .query(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    let empty = h
        .http
        .get(h.url("/api/userinfo"))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    for response in [both, query_only, empty] {
        let answer = Answer::read(response).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_request");
        assert!(
            answer
                .header("www-authenticate")
                .contains("error=\"invalid_request\"")
        );
        assert!(!answer.body.contains(&token), "never echo the token");
    }
}

#[tokio::test]
async fn expired_forged_and_mistyped_tokens_are_invalid_token() {
    // RFC 6750 3.1; Core 5.3.3; RFC 8725 3.11 (an ID token is not an access token).
    let h = start().await;
    let tokens = h.tokens(&[("scope", "openid")]).await;
    let token = str_of(&tokens, "access_token").to_owned();
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let mut tampered = token.split('.').map(str::to_owned).collect::<Vec<_>>();
    tampered[1] = tampered[1].replacen('e', "f", 1);
    let tampered = tampered.join(".");
    for (bad, needle) in [
        (forged.as_str(), "invalid"),
        (tampered.as_str(), "invalid"),
        (str_of(&tokens, "id_token"), "wrong type"),
        ("not-a-jwt", "not a well-formed JWT"),
    ] {
        let answer = h.userinfo(bad).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(answer.json()["error"], "invalid_token");
        assert!(
            answer
                .header("www-authenticate")
                .contains("error=\"invalid_token\"")
        );
        assert!(
            answer.json()["error_description"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{}",
            answer.body
        );
    }
    h.clock.advance(3600);
    let expired = h.userinfo(&token).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.body.contains("expired"), "{}", expired.body);
}

#[tokio::test]
async fn a_token_without_openid_is_403_insufficient_scope() {
    // RFC 6750 3.1 insufficient_scope.
    let h = start().await;
    let cc = h
        .token(&[("grant_type", "client_credentials")], Some(WEB))
        .await
        .json();
    let answer = h.userinfo(str_of(&cc, "access_token")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["error"], "insufficient_scope");
    assert!(
        answer
            .header("www-authenticate")
            .contains("scope=\"openid\"")
    );
}

/// RFC 7519 4.1.5 on the issuer's clock: a token whose `nbf` is still to come is refused; one
/// whose `nbf` is now is good.
#[tokio::test]
async fn a_token_not_yet_valid_is_refused_until_its_nbf() {
    let h = start().await;
    let token = |nbf: u64| {
        h.issuer
            .mint()
            .access_token()
            .scopes(["openid", "email"])
            .claim("nbf", serde_json::json!(nbf))
            .sign()
            .unwrap()
    };
    assert_eq!(
        h.userinfo(&token(NOW + 60)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.userinfo(&token(NOW)).await.status, StatusCode::OK);
}
