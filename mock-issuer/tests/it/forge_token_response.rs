//! The forge's token-response edits: the next successful token response carries a re-signed ID
//! token with the scripted defect, or members set and removed; the one after is genuine again.

use oidc_forge::forge::mint::FORGED_NONCE;
use oidc_forge::forge::token_response::ResponseEdit;
use reqwest::Method;
use serde_json::json;

use crate::support::{decode, jwk, rsa_verifies, start, str_of};

#[tokio::test]
async fn the_admin_api_edits_the_next_token_response_only() {
    let h = start().await;
    let queued = h
        .admin(
            Method::POST,
            "/token-response",
            Some(json!({
                "id_token_mutations": ["invalid-nonce"],
                "set": {"token_type": "bEARER"},
                "remove": ["expires_in"],
            })),
        )
        .await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.json()["queued"], 1);

    let edited = h.tokens(&[("nonce", "n-1")]).await;
    assert_eq!(edited["token_type"], "bEARER");
    assert!(edited.get("expires_in").is_none(), "{edited}");
    let id_token = str_of(&edited, "id_token");
    let (header, claims) = decode(id_token);
    // Wrong in exactly the scripted way: the nonce; the rest is the genuine login's, and the
    // issuer's key signed it.
    assert_eq!(claims["nonce"], FORGED_NONCE);
    let (_, access) = decode(str_of(&edited, "access_token"));
    assert_eq!(claims["sub"], access["sub"]);
    assert_eq!(claims["aud"], json!(["forge-web"]));
    assert_eq!(claims["iss"], h.issuer.url());
    assert!(claims["at_hash"].is_string(), "{claims}");
    let jwks = h.jwks().await;
    assert!(rsa_verifies(jwk(&jwks, str_of(&header, "kid")), id_token));

    let genuine = h.tokens(&[("nonce", "n-2")]).await;
    assert_eq!(genuine["token_type"], "Bearer");
    assert!(genuine["expires_in"].is_u64());
    assert_eq!(decode(str_of(&genuine, "id_token")).1["nonce"], "n-2");
    assert_eq!(
        h.admin(Method::GET, "/token-response", None).await.json()["queued"],
        0
    );
}

#[tokio::test]
async fn bad_edits_are_refused_and_a_waiting_one_can_be_cleared() {
    let h = start().await;
    let empty = h
        .admin(Method::POST, "/token-response", Some(json!({})))
        .await;
    empty.assert_oauth_error(400, "invalid_edit");
    let unknown = h
        .admin(
            Method::POST,
            "/token-response",
            Some(json!({"id_token_mutations": ["expird"]})),
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(unknown.body.contains("expird"), "{}", unknown.body);

    h.admin(
        Method::POST,
        "/token-response",
        Some(json!({"remove": ["scope"]})),
    )
    .await;
    let cleared = h.admin(Method::DELETE, "/token-response", None).await;
    assert_eq!(cleared.json()["queued"], 0);
    assert!(h.tokens(&[]).await["scope"].is_string(), "nothing edited");
}

#[tokio::test]
async fn a_defect_the_token_cannot_take_is_a_server_error_that_says_why() {
    let h = start().await;
    // The genuine ID token has no `foo` to remove: the edit cannot apply, and the answer says so.
    h.issuer
        .edit_next_token_response(vec![ResponseEdit::IdTokenMutations(vec![
            "missing=foo".parse().unwrap(),
        ])])
        .unwrap();
    let code = h.code(&[("scope", "openid offline_access")]).await;
    let answer = h.redeem(&code).await;
    answer.assert_oauth_error(500, "server_error");
    assert!(answer.body.contains("foo"), "{}", answer.body);
    // The grant was committed, but its tokens never reached the client: they are revoked, so
    // nothing issued for the failed request stays valid.
    assert!(answer.body.contains("revoked"), "{}", answer.body);
    assert_eq!(h.issuer.state().store_sizes().revoked_grants, 1);
    assert_eq!(
        h.issuer.code_status(&code),
        oidc_forge::CodeStatus::Redeemed
    );
}

/// An edit of the ID token waits for a login's: a refresh in between (another session of the
/// app, say) neither uses it up nor fails because its ID token has no nonce to get wrong, and
/// its grant stays alive.
#[tokio::test]
async fn an_id_token_edit_waits_for_a_login_past_a_refresh() {
    let h = start().await;
    let first = h.tokens(&[]).await;
    h.admin(
        Method::POST,
        "/token-response",
        Some(json!({"id_token_mutations": ["missing=nonce"]})),
    )
    .await;
    assert_eq!(h.issuer.token_response_edits_waiting(), 1);
    let refreshed = h.refresh(str_of(&first, "refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(h.issuer.token_response_edits_waiting(), 1, "still waiting");
    let again = h.refresh(str_of(&refreshed.json(), "refresh_token")).await;
    assert_eq!(
        again.status, 200,
        "the refreshed grant lives: {}",
        again.body
    );
    let login = h.tokens(&[]).await;
    assert!(decode(str_of(&login, "id_token")).1.get("nonce").is_none());
    assert_eq!(h.issuer.token_response_edits_waiting(), 0);
}

/// An edit of the ID token waits for a response that has one: a client_credentials answer in
/// between (a background job of the app, say) does not use it up.
#[tokio::test]
async fn an_id_token_edit_waits_for_a_response_with_an_id_token() {
    let h = start().await;
    h.admin(
        Method::POST,
        "/token-response",
        Some(json!({"id_token_mutations": ["invalid-nonce"]})),
    )
    .await;
    let service = h
        .token(
            &[("grant_type", "client_credentials")],
            Some(crate::support::WEB),
        )
        .await;
    assert_eq!(service.status, 200, "{}", service.body);
    assert!(service.json().get("id_token").is_none());
    let login = h.tokens(&[]).await;
    assert_eq!(decode(str_of(&login, "id_token")).1["nonce"], FORGED_NONCE);
}

#[tokio::test]
async fn an_in_process_edit_makes_any_id_token_from_the_genuine_response() {
    let h = start().await;
    h.issuer
        .edit_next_token_response(vec![ResponseEdit::IdTokenMadeBy(Box::new(|genuine| {
            let nonce = genuine.id_token_claims["nonce"].as_str().unwrap_or("none");
            Ok(format!("{nonce}.{}", genuine.access_token.len()))
        }))])
        .unwrap();
    let edited = h.tokens(&[("nonce", "n-3")]).await;
    let expected = format!("n-3.{}", str_of(&edited, "access_token").len());
    assert_eq!(edited["id_token"], expected.as_str());
}
