//! Keys, users and claims at runtime, through the Rust API: rotation with a grace period,
//! users added, changed and removed, claims queued for the next token response.

use std::time::Duration;

use oidc_forge::Config;
use oidc_forge::config::{SigningAlg, UserConfig};
use oidc_forge::forge::claims::{ClaimsError, ClaimsTarget};
use oidc_forge::forge::rotation::{NEXT_RS256_KID, Rotation, RotationError};
use oidc_forge::forge::users::{Upserted, UserError, UserPatch};
use serde_json::json;

use crate::support::*;

const CAROL: &str = "0f6b4c1e-2d3a-4b5c-8d9e-0a1b2c3d4e5f";

#[tokio::test]
async fn rotation_signs_with_the_new_key_and_keeps_the_old_one_for_the_grace_period() {
    let h = start().await;
    let discovery_before = h
        .http
        .get(h.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let old_token = h.client_credentials_token().await;
    assert_eq!(decode(&old_token).0["kid"], "forge-rs256");

    let report = h.issuer.rotate_keys(Duration::from_secs(60)).unwrap();
    assert_eq!(report.signing_kid, NEXT_RS256_KID);
    assert_eq!(report.replaced_kid, "forge-rs256");
    assert_eq!(report.replaced_until, Some(NOW + 60));
    assert_eq!(
        h.jwks_kids().await,
        [
            NEXT_RS256_KID,
            "forge-es256",
            "forge-ed25519",
            "forge-rs256"
        ]
    );
    let new_token = h.client_credentials_token().await;
    assert_eq!(decode(&new_token).0["kid"], NEXT_RS256_KID);
    let jwks = h.jwks().await;
    assert!(rsa_verifies(jwk(&jwks, NEXT_RS256_KID), &new_token));
    assert!(rsa_verifies(jwk(&jwks, "forge-rs256"), &old_token));
    assert!(h.active(&old_token).await, "the old key is still published");
    assert!(h.active(&new_token).await);
    // The algorithms did not change, so neither did discovery.
    let discovery_after = h
        .http
        .get(h.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(discovery_before, discovery_after);

    h.clock.advance(59);
    assert_eq!(h.jwks_kids().await.len(), 4);
    h.clock.advance(1);
    assert_eq!(
        h.jwks_kids().await,
        [NEXT_RS256_KID, "forge-es256", "forge-ed25519"]
    );
    assert!(!h.active(&old_token).await, "its key left the JWKS");
    assert!(h.active(&new_token).await);
    assert!(h.issuer.keys().iter().all(|k| k.kid != "forge-rs256"));
}

#[tokio::test]
async fn zero_grace_drops_the_old_key_at_once_and_kids_stay_unique() {
    let h = start().await;
    let old_token = h.client_credentials_token().await;
    h.issuer.rotate_keys(Duration::ZERO).unwrap();
    assert_eq!(h.jwks_kids().await.len(), 3);
    assert!(!h.active(&old_token).await);
    assert_eq!(
        h.issuer.rotate_keys(Duration::ZERO),
        Err(RotationError::KidInUse(NEXT_RS256_KID.into()))
    );
}

#[tokio::test]
async fn rotation_to_the_callers_key_or_a_generated_one() {
    let h = start().await;
    let pem = include_str!("../../../fixtures/keys/es256.pem");
    let rotation = Rotation::new(Duration::from_secs(30))
        .alg(SigningAlg::ES256)
        .pem("es256-2", pem);
    let report = h.issuer.rotate_keys_with(&rotation).unwrap();
    assert_eq!(report.replaced_kid, "forge-es256");
    assert!(h.jwks_kids().await.contains(&"es256-2".to_owned()));

    let generated = Rotation::default()
        .alg(SigningAlg::EdDSA)
        .generate(Some("ed-2".into()));
    h.issuer.rotate_keys_with(&generated).unwrap();
    let keys = h.issuer.keys();
    assert!(keys.iter().any(|k| k.kid == "ed-2" && k.signing));
    assert!(keys.iter().any(|k| k.kid == "forge-ed25519" && !k.signing));

    let wrong = Rotation::default().pem("rs-2", pem);
    assert!(matches!(
        h.issuer.rotate_keys_with(&wrong),
        Err(RotationError::InvalidKey(_))
    ));
}

fn carol() -> UserConfig {
    serde_json::from_value(json!({
        "sub": CAROL,
        "email": "carol@example.com",
        "name": "Carol Danvers",
        "permissions": ["castles:admin"],
        "claims": {"given_name": "Carol"},
    }))
    .unwrap()
}

#[tokio::test]
async fn a_user_added_at_runtime_signs_in_and_gets_tokens() {
    let h = start().await;
    assert_eq!(h.issuer.upsert_user(carol()), Ok(Upserted::Added));
    let tokens = h
        .tokens(&[
            ("login_hint", "carol@example.com"),
            ("scope", "openid profile email"),
        ])
        .await;
    let (_, access) = decode(str_of(&tokens, "access_token"));
    assert_eq!(access["sub"], CAROL);
    assert_eq!(access["permissions"], json!(["castles:admin"]));
    let (_, id) = decode(str_of(&tokens, "id_token"));
    assert_eq!(id["name"], "Carol Danvers");
    let info = h.userinfo(str_of(&tokens, "access_token")).await.json();
    assert_eq!(info["given_name"], "Carol");
    assert_eq!(
        h.issuer.config().users.len(),
        Config::default().users.len() + 1
    );
    assert_eq!(h.issuer.upsert_user(carol()), Ok(Upserted::Replaced));
}

#[tokio::test]
async fn changed_claims_and_permissions_apply_to_the_next_tokens() {
    let h = start().await;
    let before = h.tokens(&[("scope", "openid profile")]).await;
    let patch = UserPatch::default()
        .claim("locale", serde_json::Value::Null)
        .claim("given_name", "Alicia")
        .permissions(["castles:read"]);
    let alice = h.issuer.update_user(ALICE, patch).unwrap();
    assert_eq!(alice.permissions, ["castles:read"]);

    let after = h.tokens(&[("scope", "openid profile")]).await;
    let (_, access) = decode(str_of(&after, "access_token"));
    assert_eq!(access["permissions"], json!(["castles:read"]));
    let info = h.userinfo(str_of(&after, "access_token")).await.json();
    assert_eq!(info["given_name"], "Alicia");
    assert!(info.get("locale").is_none());
    // UserInfo reads the user now, for tokens issued before the change too.
    let info = h.userinfo(str_of(&before, "access_token")).await.json();
    assert_eq!(info["given_name"], "Alicia");
    let (_, old_access) = decode(str_of(&before, "access_token"));
    assert_eq!(
        old_access["permissions"],
        json!(["castles:read", "castles:write"])
    );
}

#[tokio::test]
async fn removed_users_cannot_sign_in_and_invalid_changes_are_refused() {
    let h = start().await;
    let removed = h.issuer.remove_user("bob@example.com").unwrap();
    assert_eq!(removed.sub.to_string(), BOB);
    // A hint naming a removed user is only a hint: the configured user signs in instead.
    let tokens = h.tokens(&[("login_hint", "bob@example.com")]).await;
    let (_, claims) = decode(str_of(&tokens, "access_token"));
    assert_eq!(claims["sub"], ALICE);

    let mut clash = carol();
    clash.email = "alice@example.com".into();
    let err = h.issuer.upsert_user(clash).unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("email"), "{err}");
    assert_eq!(
        h.issuer.config().users.len(),
        Config::default().users.len() - 1,
        "unchanged"
    );
    assert!(matches!(
        h.issuer.remove_user("alice@example.com"),
        Err(UserError::Invalid(_))
    ));
    assert_eq!(
        h.issuer.update_user("nobody", UserPatch::default()),
        Err(UserError::NotFound("nobody".into()))
    );
}

#[tokio::test]
async fn queued_claims_go_into_the_next_token_response_only() {
    let h = start().await;
    h.issuer
        .queue_claims(json!({"tenant": 7, "acr": "1"}))
        .unwrap();
    h.issuer
        .queue_claims_for(ClaimsTarget::IdToken, json!({"nonce": "queued"}))
        .unwrap();

    let first = h.tokens(&[]).await;
    let (_, access) = decode(str_of(&first, "access_token"));
    let (_, id) = decode(str_of(&first, "id_token"));
    assert_eq!(
        (access["tenant"].clone(), access["acr"].clone()),
        (json!(7), json!("1"))
    );
    assert_eq!(
        (id["tenant"].clone(), id["nonce"].clone()),
        (json!(7), json!("nonce-1"))
    );
    let jwks = h.jwks().await;
    assert!(rsa_verifies(
        jwk(&jwks, "forge-rs256"),
        str_of(&first, "access_token")
    ));

    let second = h.tokens(&[]).await;
    let (_, access) = decode(str_of(&second, "access_token"));
    let (_, id) = decode(str_of(&second, "id_token"));
    assert!(access.get("tenant").is_none());
    assert_eq!(id["nonce"], "queued");

    let third = h.tokens(&[]).await;
    assert_eq!(decode(str_of(&third, "id_token")).1["nonce"], "nonce-1");
    assert_eq!(
        h.issuer.queue_claims(json!("tenant")),
        Err(ClaimsError::NotAnObject("a string"))
    );
}
