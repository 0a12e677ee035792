//! Key rotation (D-11, D-14), fetch storms (D-12) and an unusable JWKS
//! (B-18), against a JWKS server the test controls.

mod support;

use jsonwebtoken::Algorithm;
use oidc_forge_client::{Client, Error, Requirements, TokenError};
use serde_json::json;
use std::sync::Arc;
use support::*;

fn token(issuer: &str, key_file: &str, kid: &str) -> String {
    let header = json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"});
    sign(
        &header,
        &access_claims(issuer, NOW),
        key_file,
        Algorithm::RS256,
    )
}

async fn validate(client: &Client, token: &str) -> Result<(), Error> {
    client
        .validate_access_token(token, &Requirements::new())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refetch_and_a_rotated_out_key_stops_validating() {
    let server = KeyServer::start(json!({"keys": [rsa_jwk("rs256.pem", "old")]})).await;
    let (builder, clock) = client_builder(&server.url);
    let client = builder.jwks_refetch_cooldown(30).build().unwrap();

    let old = token(&server.url, "rs256.pem", "old");
    validate(&client, &old)
        .await
        .expect("the current key validates");
    assert_eq!(server.hits(), 1);
    validate(&client, &old).await.expect("cached");
    assert_eq!(server.hits(), 1, "a known kid never refetches");

    // The issuer rotates: only "next" is published now.
    server.set_keys(json!({"keys": [rsa_jwk("rs256-next.pem", "next")]}));
    clock.advance(31);
    let next = token(&server.url, "rs256-next.pem", "next");
    validate(&client, &next)
        .await
        .expect("the unknown kid is found after one refetch");
    assert_eq!(server.hits(), 2);

    // D-14: the old key is gone from the refreshed set.
    let error = validate(&client, &old).await.unwrap_err();
    assert!(
        matches!(error, Error::AccessTokenInvalid(TokenError::UnknownKey(_))),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "access token invalid: no signing key in the issuer's JWKS matches kid \"old\""
    );
}

#[tokio::test]
async fn a_flood_of_random_kids_costs_at_most_one_fetch_per_cooldown() {
    let server = KeyServer::start(json!({"keys": [rsa_jwk("rs256.pem", "old")]})).await;
    let (builder, clock) = client_builder(&server.url);
    let client = builder.jwks_refetch_cooldown(30).build().unwrap();
    validate(&client, &token(&server.url, "rs256.pem", "old"))
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);

    // Inside the cooldown: 40 concurrent random kids, no fetch at all.
    let client = Arc::new(client);
    let mut tasks = Vec::new();
    for index in 0..40 {
        let client = client.clone();
        let forged = token(
            &server.url,
            "attacker-rs256.pem",
            &format!("random-{index}"),
        );
        tasks.push(tokio::spawn(
            async move { validate(&client, &forged).await },
        ));
    }
    for task in tasks {
        assert!(matches!(
            task.await.unwrap(),
            Err(Error::AccessTokenInvalid(TokenError::UnknownKey(_)))
        ));
    }
    assert_eq!(server.hits(), 1, "refetches are rate-limited");

    // After it: 40 concurrent misses share a single fetch (single flight).
    clock.advance(31);
    let mut tasks = Vec::new();
    for index in 0..40 {
        let client = client.clone();
        let forged = token(&server.url, "attacker-rs256.pem", &format!("again-{index}"));
        tasks.push(tokio::spawn(
            async move { validate(&client, &forged).await },
        ));
    }
    for task in tasks {
        assert!(matches!(
            task.await.unwrap(),
            Err(Error::AccessTokenInvalid(TokenError::UnknownKey(_)))
        ));
    }
    assert_eq!(server.hits(), 2);
    assert_eq!(client.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn an_unusable_jwks_fails_closed() {
    // B-18: the keys cannot be had, so nothing validates.
    let server = KeyServer::start(json!({"not": "a jwks"})).await;
    let (client, _) = client(&server.url);
    let error = validate(&client, &token(&server.url, "rs256.pem", "old"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::KeysUnavailable(_)), "{error}");
    assert!(!error.is_invalid_access_token());
}

#[tokio::test]
async fn keys_older_than_max_age_are_refreshed() {
    let server = KeyServer::start(json!({"keys": [rsa_jwk("rs256.pem", "old")]})).await;
    let (builder, clock) = client_builder(&server.url);
    let client = builder.jwks_max_age(600).leeway(3600).build().unwrap();
    let old = token(&server.url, "rs256.pem", "old");
    validate(&client, &old).await.unwrap();
    server.set_keys(json!({"keys": [rsa_jwk("rs256-next.pem", "next")]}));
    clock.advance(601);
    let error = validate(&client, &old).await.unwrap_err();
    assert!(
        matches!(error, Error::AccessTokenInvalid(TokenError::UnknownKey(_))),
        "{error}"
    );
    assert_eq!(server.hits(), 2);
}
