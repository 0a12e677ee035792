//! Catalogue section D: forged and malformed tokens, validated against the
//! real issuer's JWKS over HTTP. Each case is run on the access-token path
//! and, where it applies, the ID-token path.

mod support;

use jsonwebtoken::Algorithm;
use oidc_forge_client::{Client, Error, Requirements, TokenError};
use serde_json::{Value, json};
use support::*;

async fn access_reason(client: &Client, token: &str) -> TokenError {
    match client
        .validate_access_token(token, &Requirements::new())
        .await
    {
        Err(Error::AccessTokenInvalid(reason)) => reason,
        other => panic!("expected AccessTokenInvalid, got {other:?}"),
    }
}

async fn id_reason(client: &Client, token: &str) -> TokenError {
    match client.validate_id_token(token, None).await {
        Err(Error::IdTokenInvalid(reason)) => reason,
        other => panic!("expected IdTokenInvalid, got {other:?}"),
    }
}

fn with(mut value: Value, field: &str, new: Value) -> Value {
    value[field] = new;
    value
}

fn without(mut value: Value, field: &str) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove(field);
    }
    value
}

async fn setup() -> (oidc_forge::MockIssuer, Client) {
    let (issuer, _) = start_issuer(|_| {}).await;
    let (client, _) = client(issuer.url());
    (issuer, client)
}

#[tokio::test]
async fn d01_d02_unsigned_and_none_algorithms_are_refused() {
    let (issuer, client) = setup().await;
    let claims = access_claims(issuer.url(), NOW).to_string();
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"at+jwt"}"#),
        b64(claims.as_bytes())
    );
    assert!(matches!(
        access_reason(&client, &unsigned).await,
        TokenError::Malformed(_)
    ));
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{ISSUER_KID}"}}"#);
        let token = format!("{}.{}.c2ln", b64(header.as_bytes()), b64(claims.as_bytes()));
        let reason = access_reason(&client, &token).await;
        assert!(
            matches!(reason, TokenError::AlgorithmNotAllowed { .. }),
            "{alg}: {reason}"
        );
        let id = format!(
            "{}.{}.c2ln",
            b64(header.as_bytes()),
            b64(id_claims(issuer.url(), NOW).to_string().as_bytes())
        );
        assert!(matches!(
            id_reason(&client, &id).await,
            TokenError::AlgorithmNotAllowed { .. }
        ));
    }
}

#[tokio::test]
async fn d03_hmac_keyed_with_the_public_key_is_refused() {
    let (issuer, client) = setup().await;
    // The attacker signs HS256 with the issuer's public key material as the secret.
    let jwks: Value = http()
        .get(format!("{}/.well-known/jwks.json", issuer.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap_or_default().to_owned();
    let header = json!({"alg": "HS256", "kid": ISSUER_KID, "typ": "at+jwt"}).to_string();
    let claims = access_claims(issuer.url(), NOW).to_string();
    let token = oidc_forge::forge::mint::sign_raw(
        &header,
        &claims,
        oidc_forge::forge::mint::RawSigner::Hs256(n.as_bytes()),
    )
    .unwrap();
    let reason = access_reason(&client, &token).await;
    assert_eq!(
        reason.to_string(),
        "algorithm \"HS256\" is not allowed (allowed: RS256)"
    );
}

#[tokio::test]
async fn d04_algorithms_outside_the_allowlist_are_refused_and_widening_it_works() {
    let (issuer, client) = setup().await;
    let jwks: Value = http()
        .get(client.metadata().await.unwrap().jwks_uri.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let es_kid = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["alg"] == "ES256"))
        .map(|k| k["kid"].as_str().unwrap_or_default().to_owned())
        .expect("the issuer publishes an ES256 key");
    let header = json!({"alg": "ES256", "kid": es_kid, "typ": "at+jwt"});
    let token = sign(
        &header,
        &access_claims(issuer.url(), NOW),
        "es256.pem",
        Algorithm::ES256,
    );
    let reason = access_reason(&client, &token).await;
    assert!(
        matches!(reason, TokenError::AlgorithmNotAllowed { .. }),
        "{reason}"
    );
    // An allowlist with ES256 accepts the same token: the key is the issuer's.
    let (builder, _) = client_builder(issuer.url());
    let wide = builder
        .algorithms([Algorithm::RS256, Algorithm::ES256])
        .build()
        .unwrap();
    let result = wide
        .validate_access_token(&token, &Requirements::new())
        .await;
    assert!(result.is_ok(), "{:?}", result.err());
    // PS256 with the RS256 key: the JWK says alg RS256, so it does not fit (D-15).
    let ps = sign(
        &json!({"alg": "PS256", "kid": ISSUER_KID, "typ": "at+jwt"}),
        &access_claims(issuer.url(), NOW),
        "rs256.pem",
        Algorithm::PS256,
    );
    let (builder, _) = client_builder(issuer.url());
    let ps_client = builder
        .algorithms([Algorithm::RS256, Algorithm::PS256])
        .build()
        .unwrap();
    let reason = access_reason(&ps_client, &ps).await;
    assert!(matches!(reason, TokenError::UnknownKey(_)), "{reason}");
}

#[tokio::test]
async fn d05_d06_d07_stripped_tampered_and_foreign_signatures_are_refused() {
    let (issuer, client) = setup().await;
    let token = forge_access_token(issuer.url(), NOW);
    assert!(
        client
            .validate_access_token(&token, &Requirements::new())
            .await
            .is_ok()
    );
    let (message, _) = token.rsplit_once('.').unwrap();
    assert!(matches!(
        access_reason(&client, &format!("{message}.")).await,
        TokenError::Malformed(_)
    ));

    let parts: Vec<&str> = token.split('.').collect();
    let escalated = with(
        access_claims(issuer.url(), NOW),
        "scope",
        json!("openid read write admin"),
    );
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(escalated.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        access_reason(&client, &tampered).await,
        TokenError::BadSignature
    );

    // Every signature byte flipped (the OIDF InvalidateIdTokenSignature).
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[2])
            .unwrap();
    let flipped: Vec<u8> = signature.iter().map(|b| b ^ 0x5a).collect();
    let broken = format!("{}.{}.{}", parts[0], parts[1], b64(&flipped));
    assert_eq!(
        access_reason(&client, &broken).await,
        TokenError::BadSignature
    );

    let foreign = sign(
        &access_header(),
        &access_claims(issuer.url(), NOW),
        "attacker-rs256.pem",
        Algorithm::RS256,
    );
    assert_eq!(
        access_reason(&client, &foreign).await,
        TokenError::BadSignature
    );
    let foreign_id = sign(
        &id_header(),
        &id_claims(issuer.url(), NOW),
        "attacker-rs256.pem",
        Algorithm::RS256,
    );
    assert_eq!(
        id_reason(&client, &foreign_id).await,
        TokenError::BadSignature
    );
}

#[tokio::test]
async fn d08_d09_header_keys_and_key_urls_are_never_used() {
    let (issuer, client) = setup().await;
    let attacker_jwk = rsa_jwk("attacker-rs256.pem", "evil");
    let key_server = KeyServer::start(json!({"keys": [attacker_jwk.clone()]})).await;
    let headers = [
        json!({"alg": "RS256", "typ": "at+jwt", "kid": ISSUER_KID, "jwk": attacker_jwk}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": ISSUER_KID, "x5c": ["MIIBIjANBgkq"]}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "evil", "jku": format!("{}/jwks", key_server.url)}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "evil", "x5u": format!("{}/jwks", key_server.url)}),
    ];
    for header in headers {
        let token = sign(
            &header,
            &access_claims(issuer.url(), NOW),
            "attacker-rs256.pem",
            Algorithm::RS256,
        );
        let reason = access_reason(&client, &token).await;
        assert!(
            matches!(reason, TokenError::BadSignature | TokenError::UnknownKey(_)),
            "{header}: {reason}"
        );
    }
    assert_eq!(key_server.hits(), 0, "no outbound fetch to jku/x5u");
}

#[tokio::test]
async fn d10_kid_injection_is_refused_without_panicking() {
    let (issuer, client) = setup().await;
    for kid in [json!("../../dev/null"), json!("' OR 1=1--")] {
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
        let token = sign(
            &header,
            &access_claims(issuer.url(), NOW),
            "rs256.pem",
            Algorithm::RS256,
        );
        assert!(
            matches!(
                access_reason(&client, &token).await,
                TokenError::UnknownKey(_)
            ),
            "{kid}"
        );
    }
    for (kid, expected) in [
        (json!("k".repeat(10_000)), "256-byte limit"),
        (json!(42), "not a string"),
    ] {
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
        let token = sign(
            &header,
            &access_claims(issuer.url(), NOW),
            "rs256.pem",
            Algorithm::RS256,
        );
        let reason = access_reason(&client, &token).await;
        assert!(reason.to_string().contains(expected), "{reason}");
    }
}

#[tokio::test]
async fn d13_a_token_without_kid_is_checked_against_every_fitting_key() {
    let (issuer, client) = setup().await;
    let header = json!({"alg": "RS256", "typ": "at+jwt"});
    let token = sign(
        &header,
        &access_claims(issuer.url(), NOW),
        "rs256.pem",
        Algorithm::RS256,
    );
    assert!(
        client
            .validate_access_token(&token, &Requirements::new())
            .await
            .is_ok()
    );
    let foreign = sign(
        &header,
        &access_claims(issuer.url(), NOW),
        "attacker-rs256.pem",
        Algorithm::RS256,
    );
    assert_eq!(
        access_reason(&client, &foreign).await,
        TokenError::BadSignature
    );
}

#[tokio::test]
async fn d16_d17_crit_and_type_confusion_are_refused() {
    let (issuer, client) = setup().await;
    let crit =
        json!({"alg": "RS256", "typ": "at+jwt", "kid": ISSUER_KID, "crit": ["urn:x"], "urn:x": 1});
    let token = sign(
        &crit,
        &access_claims(issuer.url(), NOW),
        "rs256.pem",
        Algorithm::RS256,
    );
    assert!(matches!(
        access_reason(&client, &token).await,
        TokenError::Header(_)
    ));

    // B-13 / D-17: the issuer's own ID token, presented as an access token.
    let id_token = sign(
        &id_header(),
        &id_claims(issuer.url(), NOW),
        "rs256.pem",
        Algorithm::RS256,
    );
    assert!(client.validate_id_token(&id_token, None).await.is_ok());
    let reason = access_reason(&client, &id_token).await;
    assert_eq!(
        reason.to_string(),
        "token type \"JWT\" is not acceptable here (expected at+jwt)"
    );
    // Even with the typ check off (Fief mode), an ID token has no scope claim.
    let (builder, _) = client_builder(issuer.url());
    let lax = builder.require_access_token_typ(false).build().unwrap();
    let reason = access_reason(&lax, &id_token).await;
    assert_eq!(reason.to_string(), "claim `scope` is missing");
    // And an access token is not an ID token.
    let access = forge_access_token(issuer.url(), NOW);
    assert!(matches!(
        id_reason(&client, &access).await,
        TokenError::WrongType { .. }
    ));
}

#[tokio::test]
async fn d18_claims_of_the_wrong_type_are_refused() {
    let (issuer, client) = setup().await;
    let base = access_claims(issuer.url(), NOW);
    let cases = [
        (
            with(base.clone(), "exp", json!((NOW + 300) * 1000)),
            "50 years",
        ),
        (
            with(base.clone(), "exp", json!("9999999999")),
            "must be a NumericDate",
        ),
        (
            with(base.clone(), "sub", Value::Null),
            "claim `sub` must be a string",
        ),
        (with(base.clone(), "aud", json!(7)), "claim `aud`"),
        (without(base.clone(), "exp"), "claim `exp` is missing"),
        (
            with(base.clone(), "nbf", json!(NOW + 120)),
            "not valid for another 120 s",
        ),
        (
            with(base.clone(), "iat", json!(NOW + 600)),
            "issued 600 s in the future",
        ),
        (
            with(base.clone(), "iss", json!(format!("{}/", issuer.url()))),
            "is not the expected",
        ),
        (
            with(base.clone(), "aud", json!(["another-api"])),
            "is an expected audience",
        ),
        (without(base.clone(), "aud"), "claim `aud` is missing"),
    ];
    for (claims, expected) in cases {
        let token = sign(&access_header(), &claims, "rs256.pem", Algorithm::RS256);
        let reason = access_reason(&client, &token).await;
        assert!(reason.to_string().contains(expected), "{claims}: {reason}");
    }
}

#[tokio::test]
async fn d19_id_token_audience_and_claim_rules() {
    let (issuer, client) = setup().await;
    let base = id_claims(issuer.url(), NOW);
    let ok = [
        with(base.clone(), "aud", json!(CLIENT_ID)),
        with(base.clone(), "aud", json!([CLIENT_ID])),
        without(base.clone(), "azp"),
    ];
    for claims in ok {
        let token = sign(&id_header(), &claims, "rs256.pem", Algorithm::RS256);
        assert!(
            client.validate_id_token(&token, None).await.is_ok(),
            "{claims}"
        );
    }
    let refused = [
        (
            with(base.clone(), "aud", json!(["someone-else"])),
            "does not contain the client id",
        ),
        (
            with(base.clone(), "aud", json!([CLIENT_ID, "untrusted"])),
            "untrusted audience",
        ),
        (
            with(
                without(base.clone(), "azp"),
                "aud",
                json!([CLIENT_ID, "untrusted"]),
            ),
            "untrusted audience",
        ),
        (with(base.clone(), "azp", json!("other-client")), "`azp`"),
        (without(base.clone(), "aud"), "claim `aud` is missing"),
        (without(base.clone(), "sub"), "claim `sub` is missing"),
        (without(base.clone(), "iat"), "claim `iat` is missing"),
        (without(base.clone(), "iss"), "claim `iss` is missing"),
        (
            with(base.clone(), "iss", json!("http://evil.example")),
            "is not the expected",
        ),
        (
            with(base.clone(), "exp", json!(NOW - 3600)),
            "expired 3600 s ago",
        ),
    ];
    for (claims, expected) in refused {
        let token = sign(&id_header(), &claims, "rs256.pem", Algorithm::RS256);
        let reason = id_reason(&client, &token).await;
        assert!(reason.to_string().contains(expected), "{claims}: {reason}");
    }
    // Nonce: missing when one was sent, or different.
    let token = sign(&id_header(), &base, "rs256.pem", Algorithm::RS256);
    let error = client
        .validate_id_token(&token, Some("n"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::IdTokenInvalid(TokenError::Nonce(_))));
    // A trusted second audience needs azp naming this client.
    let (builder, _) = client_builder(issuer.url());
    let partner = builder
        .trusted_id_token_audience("partner")
        .build()
        .unwrap();
    let two = with(base.clone(), "aud", json!([CLIENT_ID, "partner"]));
    let token = sign(&id_header(), &two, "rs256.pem", Algorithm::RS256);
    assert!(partner.validate_id_token(&token, None).await.is_ok());
    let token = sign(
        &id_header(),
        &without(two, "azp"),
        "rs256.pem",
        Algorithm::RS256,
    );
    let error = partner.validate_id_token(&token, None).await.unwrap_err();
    assert!(
        matches!(&error, Error::IdTokenInvalid(TokenError::Audience(why)) if why.contains("no `azp`")),
        "{error}"
    );
}

#[tokio::test]
async fn d20_d21_d22_d23_malformed_serializations_are_refused() {
    let (issuer, client) = setup().await;
    let claims = access_claims(issuer.url(), NOW).to_string();
    let duplicate_sub = claims.replacen('{', &format!(r#"{{"sub":"{BOB}","#), 1);
    let token = sign_text(
        &access_header().to_string(),
        &duplicate_sub,
        "rs256.pem",
        Algorithm::RS256,
    );
    assert!(
        access_reason(&client, &token)
            .await
            .to_string()
            .contains("duplicate member \"sub\"")
    );
    let duplicate_alg = r#"{"alg":"RS256","alg":"none","kid":"forge-rs256","typ":"at+jwt"}"#;
    let token = sign_text(duplicate_alg, &claims, "rs256.pem", Algorithm::RS256);
    assert!(matches!(
        access_reason(&client, &token).await,
        TokenError::Malformed(_)
    ));

    let valid = forge_access_token(issuer.url(), NOW);
    let malformed = [
        "a.b".to_owned(),
        format!("{valid}.extra"),
        format!("{valid}="),
        valid.replacen('-', "+", 1).replacen('_', "/", 1),
        format!(" {valid}"),
        "a.b.c.d.e".to_owned(),
        format!(
            r#"{{"payload":"{}","signatures":[]}}"#,
            b64(claims.as_bytes())
        ),
        format!("{}.{}.c2ln", b64(b"[1,2]"), b64(claims.as_bytes())),
        format!("{}.{}.c2ln", b64(&[0xc3, 0x28]), b64(claims.as_bytes())),
    ];
    for token in malformed {
        let reason = access_reason(&client, &token).await;
        assert!(
            matches!(reason, TokenError::Malformed(_)),
            "{token}: {reason}"
        );
    }
    let huge_header =
        json!({"alg": "RS256", "kid": ISSUER_KID, "typ": "at+jwt", "pad": "x".repeat(64 * 1024)});
    let token = sign(
        &huge_header,
        &access_claims(issuer.url(), NOW),
        "rs256.pem",
        Algorithm::RS256,
    );
    assert!(matches!(
        access_reason(&client, &token).await,
        TokenError::TooLarge { .. }
    ));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let token = format!(
        "{}.{}.c2ln",
        b64(access_header().to_string().as_bytes()),
        b64(deep.as_bytes())
    );
    // Bounded by the size limit before the JSON parser ever recurses.
    assert!(matches!(
        access_reason(&client, &token).await,
        TokenError::TooLarge { .. }
    ));
}

#[tokio::test]
async fn d24_a_token_from_another_issuer_with_the_same_key_is_refused() {
    let (issuer, client) = setup().await;
    let (other, _) = start_issuer(|_| {}).await;
    let token = forge_access_token(other.url(), NOW);
    let reason = access_reason(&client, &token).await;
    assert!(
        matches!(reason, TokenError::IssuerMismatch { .. }),
        "{reason}"
    );
    drop(issuer);
}
