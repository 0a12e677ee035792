//! Minted tokens through the Rust API on the running issuer: each mutation is decoded and
//! compared with the unmutated token built from the same builder (fixed clock and jti), to
//! show the exact defect and that every other header member, claim and the signature are as
//! they were.

use oidc_forge::forge::mint::{
    self, MintError, MintedToken, Mutation, NoneSpelling, PublicKeyForm, TokenBuilder,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const JTI: &str = "fixed-jti";

struct Forge {
    h: Harness,
    jwks: Value,
}

/// Who signed a token.
#[derive(Debug)]
enum Sig {
    /// The issuer's RS256 key, over exactly what the token carries.
    Issuer,
    /// The attacker's key.
    Attacker,
    /// An empty signature.
    Empty,
    /// HMAC-SHA256 keyed with the issuer's public key in this form.
    Hmac(PublicKeyForm),
    /// Nothing verifies it.
    Broken,
}

impl Forge {
    async fn start() -> Self {
        let h = start().await;
        let jwks = h.jwks().await;
        Self { h, jwks }
    }

    fn access(&self) -> TokenBuilder {
        self.h
            .issuer
            .mint()
            .access_token()
            .issued_at(NOW)
            .jti(JTI)
            .scopes(["openid", "read"])
            .permissions(["castles:read", "castles:write"])
    }

    fn id(&self) -> TokenBuilder {
        self.h
            .issuer
            .mint()
            .id_token()
            .issued_at(NOW)
            .scopes(["openid", "email"])
            .nonce("n-1")
            .at_hash_of("the-access-token")
            .c_hash_of("the-code")
    }

    fn pair(&self, builder: TokenBuilder, mutation: Mutation) -> (MintedToken, MintedToken) {
        let base = builder.clone().build().expect("the unmutated token");
        let bad = builder.mutate(mutation).build().expect("the mutated token");
        (base, bad)
    }

    /// Checks one mutation: `header` and `claims` list every member that changes (`None`:
    /// removed), everything else must equal the unmutated token's; `sig` says who signed.
    fn check(
        &self,
        builder: TokenBuilder,
        mutation: Mutation,
        header: &[(&str, Option<Value>)],
        claims: &[(&str, Option<Value>)],
        sig: Sig,
    ) -> MintedToken {
        let (base, bad) = self.pair(builder, mutation.clone());
        let (base_header, base_claims) = decode(&base.token);
        let (bad_header, bad_claims) = decode(&bad.token);
        assert_changes("header", &base_header, &bad_header, header, &mutation);
        assert_changes("claims", &base_claims, &bad_claims, claims, &mutation);
        assert!(
            self.signed_by_issuer(&base.token),
            "the base token is valid"
        );
        self.assert_signature(&bad.token, &sig, &mutation);
        assert_eq!(bad.header, bad_header, "the reported header is the token's");
        bad
    }

    fn signed_by_issuer(&self, token: &str) -> bool {
        rsa_verifies(jwk(&self.jwks, "forge-rs256"), token)
    }

    fn assert_signature(&self, token: &str, sig: &Sig, mutation: &Mutation) {
        let attacker = mint::attacker_jwks("any").unwrap();
        let by_attacker = rsa_verifies(&attacker["keys"][0], token);
        let by_issuer = self.signed_by_issuer(token);
        let signature = signature_of(token);
        match sig {
            Sig::Issuer => assert!(by_issuer, "{mutation}: signed by the issuer"),
            Sig::Attacker => {
                assert!(
                    by_attacker && !by_issuer,
                    "{mutation}: signed by the attacker"
                )
            }
            Sig::Empty => {
                assert!(token.ends_with('.'), "{mutation}: {token}");
                assert!(signature.is_empty());
            }
            Sig::Hmac(form) => {
                let keys = self.h.issuer.state().keys();
                let key = keys.default_key().unwrap();
                let secret = mint::public_key_bytes(key, *form).unwrap();
                let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
                let (input, _) = token.rsplit_once('.').unwrap();
                assert_eq!(
                    aws_lc_rs::hmac::sign(&hmac, input.as_bytes()).as_ref(),
                    signature.as_slice(),
                    "{mutation}: HMAC keyed with the public key"
                );
            }
            Sig::Broken => {
                assert!(!signature.is_empty(), "{mutation}: a signature is there");
                assert!(
                    !by_issuer && !by_attacker,
                    "{mutation}: nothing verifies it"
                );
            }
        }
    }
}

fn assert_changes(
    what: &str,
    base: &Value,
    bad: &Value,
    changes: &[(&str, Option<Value>)],
    mutation: &Mutation,
) {
    let (base, bad) = (base.as_object().unwrap(), bad.as_object().unwrap());
    for (name, expected) in changes {
        assert_eq!(
            bad.get(*name),
            expected.as_ref(),
            "{mutation}: {what}.{name} in {bad:?}"
        );
        if let Some(before) = base.get(*name) {
            assert_ne!(
                Some(before),
                expected.as_ref(),
                "{mutation}: {name} changed"
            );
        }
    }
    for name in base.keys().chain(bad.keys()) {
        if changes.iter().all(|(changed, _)| changed != name) {
            assert_eq!(
                bad.get(name),
                base.get(name),
                "{mutation}: {what}.{name} must not change"
            );
        }
    }
}

fn num(n: u64) -> Option<Value> {
    Some(json!(n))
}

#[tokio::test]
async fn the_unmutated_tokens_are_what_the_issuer_issues() {
    let f = Forge::start().await;
    let access = f.access().build().unwrap();
    let (header, claims) = decode(&access.token);
    assert_eq!(
        header,
        json!({"alg": "RS256", "kid": "forge-rs256", "typ": "at+jwt"})
    );
    assert_eq!(
        claims,
        json!({
            "iss": f.h.issuer.url(), "sub": ALICE, "aud": ["forge-web"], "client_id": "forge-web",
            "azp": "forge-web", "exp": NOW + 3600, "iat": NOW, "auth_time": NOW, "jti": JTI,
            "scope": "openid read", "permissions": ["castles:read", "castles:write"], "acr": "0",
        })
    );
    assert!(f.signed_by_issuer(&access.token));
    let answer = f.h.userinfo(&access.token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["sub"], ALICE);

    let id = f.id().build().unwrap();
    let (header, claims) = decode(&id.token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["aud"], json!(["forge-web"]));
    assert!(claims.get("name").is_none(), "profile was not granted");
}

#[tokio::test]
async fn expired() {
    let f = Forge::start().await;
    let bad = f.check(
        f.access(),
        Mutation::Expired,
        &[],
        &[("exp", num(NOW - 3600))],
        Sig::Issuer,
    );
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
}

#[tokio::test]
async fn expired_by_n_seconds_probes_the_leeway_boundary() {
    let f = Forge::start().await;
    for n in [0, 1, 59, 60, 61] {
        f.check(
            f.access(),
            Mutation::ExpiredBy(n),
            &[],
            &[("exp", num(NOW - n))],
            Sig::Issuer,
        );
    }
}

#[tokio::test]
async fn nbf_in_the_future() {
    let f = Forge::start().await;
    let bad = f.check(
        f.access(),
        Mutation::NotYetValid,
        &[],
        &[("nbf", num(NOW + 3600))],
        Sig::Issuer,
    );
    // The issuer's own resource enforces nbf on its clock (RFC 7519 4.1.5).
    let answer = f.h.userinfo(&bad.token).await;
    answer.assert_bearer_error(401, "invalid_token");
    assert!(answer.body.contains("not valid yet"), "{}", answer.body);
    f.check(
        f.access(),
        Mutation::NotBeforeIn(61),
        &[],
        &[("nbf", num(NOW + 61))],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn iat_in_the_future_and_a_week_ago() {
    let f = Forge::start().await;
    f.check(
        f.access(),
        Mutation::IssuedInFuture,
        &[],
        &[("iat", num(NOW + 3600))],
        Sig::Issuer,
    );
    f.check(
        f.id(),
        Mutation::IssuedInFutureBy(301),
        &[],
        &[("iat", num(NOW + 301))],
        Sig::Issuer,
    );
    f.check(
        f.id(),
        Mutation::IatWeekAgo,
        &[],
        &[("iat", num(NOW - 7 * 86400))],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn exp_in_milliseconds_and_as_a_string() {
    let f = Forge::start().await;
    let exp = NOW + 3600;
    f.check(
        f.access(),
        Mutation::ExpInMilliseconds,
        &[],
        &[("exp", num(exp * 1000))],
        Sig::Issuer,
    );
    let bad = f.check(
        f.access(),
        Mutation::ExpAsString,
        &[],
        &[("exp", Some(json!(exp.to_string())))],
        Sig::Issuer,
    );
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
}

#[tokio::test]
async fn sub_null() {
    let f = Forge::start().await;
    f.check(
        f.access(),
        Mutation::SubNull,
        &[],
        &[("sub", Some(Value::Null))],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn wrong_issuer_and_trailing_slash() {
    let f = Forge::start().await;
    let bad = f.check(
        f.access(),
        Mutation::WrongIssuer,
        &[],
        &[("iss", Some(json!(mint::FOREIGN_ISSUER)))],
        Sig::Issuer,
    );
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
    let slash = format!("{}/", f.h.issuer.url());
    f.check(
        f.id(),
        Mutation::IssuerTrailingSlash,
        &[],
        &[("iss", Some(json!(slash)))],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn wrong_and_missing_audience() {
    let f = Forge::start().await;
    let foreign = Some(json!([mint::FOREIGN_AUDIENCE]));
    f.check(
        f.access(),
        Mutation::WrongAudience,
        &[],
        &[("aud", foreign)],
        Sig::Issuer,
    );
    f.check(
        f.id(),
        Mutation::MissingAudience,
        &[],
        &[("aud", None)],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn untrusted_second_audience_with_and_without_azp() {
    let f = Forge::start().await;
    let two = Some(json!(["forge-web", mint::UNTRUSTED_AUDIENCE]));
    f.check(
        f.id(),
        Mutation::UntrustedSecondAudience,
        &[],
        &[("aud", two.clone())],
        Sig::Issuer,
    );
    f.check(
        f.id(),
        Mutation::UntrustedSecondAudienceWithoutAzp,
        &[],
        &[("aud", two), ("azp", None)],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn missing_exp_sub_iss_iat_nonce_at_hash() {
    let f = Forge::start().await;
    for claim in ["exp", "sub", "iss", "iat"] {
        let bad = f.check(
            f.access(),
            Mutation::MissingClaim(claim.into()),
            &[],
            &[(claim, None)],
            Sig::Issuer,
        );
        f.h.userinfo(&bad.token)
            .await
            .assert_bearer_error(401, "invalid_token");
    }
    for claim in ["nonce", "at_hash", "c_hash", "azp"] {
        f.check(
            f.id(),
            Mutation::MissingClaim(claim.into()),
            &[],
            &[(claim, None)],
            Sig::Issuer,
        );
    }
}

#[tokio::test]
async fn invalid_nonce_at_hash_and_c_hash() {
    let f = Forge::start().await;
    f.check(
        f.id(),
        Mutation::InvalidNonce,
        &[],
        &[("nonce", Some(json!(mint::FORGED_NONCE)))],
        Sig::Issuer,
    );
    for (mutation, claim) in [
        (Mutation::InvalidAtHash, "at_hash"),
        (Mutation::InvalidCHash, "c_hash"),
    ] {
        let (base, bad) = f.pair(f.id(), mutation.clone());
        let forged = decode(&bad.token).1[claim].clone();
        assert!(forged.as_str().is_some_and(|h| h.len() == 22), "{forged}");
        f.check(f.id(), mutation, &[], &[(claim, Some(forged))], Sig::Issuer);
        assert_ne!(decode(&base.token).1[claim], decode(&bad.token).1[claim]);
    }
}

#[tokio::test]
async fn missing_required_scope_and_permission() {
    let f = Forge::start().await;
    f.check(
        f.access(),
        Mutation::WithoutScope("read".into()),
        &[],
        &[("scope", Some(json!("openid")))],
        Sig::Issuer,
    );
    f.check(
        f.access(),
        Mutation::WithoutPermission("castles:write".into()),
        &[],
        &[("permissions", Some(json!(["castles:read"])))],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn duplicate_claim_is_in_the_signed_payload() {
    let f = Forge::start().await;
    let (base, bad) = f.pair(
        f.access(),
        Mutation::DuplicateClaim("sub".into(), json!(BOB)),
    );
    let payload = |token: &str| {
        use base64::Engine as _;
        let segment = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    let (base_text, bad_text) = (payload(&base.token), payload(&bad.token));
    assert_eq!(base_text.matches("\"sub\"").count(), 1);
    assert_eq!(bad_text.matches("\"sub\"").count(), 2);
    assert_eq!(
        bad_text,
        format!("{},\"sub\":\"{BOB}\"}}", base_text.trim_end_matches('}'))
    );
    assert!(f.signed_by_issuer(&bad.token));
    assert_eq!(decode(&bad.token).0, decode(&base.token).0);
}

#[tokio::test]
async fn alg_none_in_every_spelling() {
    let f = Forge::start().await;
    for spelling in NoneSpelling::ALL {
        let bad = f.check(
            f.access(),
            Mutation::AlgNone(spelling),
            &[("alg", Some(json!(spelling.as_str())))],
            &[],
            Sig::Empty,
        );
        f.h.userinfo(&bad.token)
            .await
            .assert_bearer_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn rs256_to_hs256_key_confusion() {
    let f = Forge::start().await;
    for form in PublicKeyForm::ALL {
        let bad = f.check(
            f.access(),
            Mutation::KeyConfusion(form),
            &[("alg", Some(json!("HS256")))],
            &[],
            Sig::Hmac(form),
        );
        f.h.userinfo(&bad.token)
            .await
            .assert_bearer_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn signed_by_a_foreign_key_under_the_issuers_kid() {
    let f = Forge::start().await;
    let bad = f.check(f.access(), Mutation::ForeignKey, &[], &[], Sig::Attacker);
    assert_eq!(bad.header["kid"], "forge-rs256");
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
}

#[tokio::test]
async fn unknown_injected_and_absent_kid() {
    let f = Forge::start().await;
    let injected = "' OR 1=1--";
    for (mutation, kid) in [
        (Mutation::UnknownKid, Some(json!(mint::UNKNOWN_KID))),
        (Mutation::Kid(injected.into()), Some(json!(injected))),
        (Mutation::NoKid, None),
    ] {
        let bad = f.check(f.access(), mutation, &[("kid", kid)], &[], Sig::Issuer);
        f.h.userinfo(&bad.token)
            .await
            .assert_bearer_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn wrong_typ_an_id_token_as_an_access_token() {
    let f = Forge::start().await;
    let bad = f.check(
        f.access(),
        Mutation::WrongTyp,
        &[("typ", Some(json!("JWT")))],
        &[],
        Sig::Issuer,
    );
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
    f.check(
        f.id(),
        Mutation::WrongTyp,
        &[("typ", Some(json!("at+jwt")))],
        &[],
        Sig::Issuer,
    );
    f.check(
        f.access(),
        Mutation::NoTyp,
        &[("typ", None)],
        &[],
        Sig::Issuer,
    );
    f.check(
        f.access(),
        Mutation::Typ("application/jwt".into()),
        &[("typ", Some(json!("application/jwt")))],
        &[],
        Sig::Issuer,
    );
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_point_at_the_attackers_key() {
    let f = Forge::start().await;
    let url = "http://127.0.0.1:1/jwks.json";
    f.check(
        f.access(),
        Mutation::Jku(url.into()),
        &[("jku", Some(json!(url)))],
        &[],
        Sig::Attacker,
    );
    f.check(
        f.id(),
        Mutation::X5u(mint::ATTACKER_X5U.into()),
        &[("x5u", Some(json!(mint::ATTACKER_X5U)))],
        &[],
        Sig::Attacker,
    );
    let attacker = mint::attacker_jwks("forge-rs256").unwrap();
    let key = &attacker["keys"][0];
    let embedded = json!({"kty": "RSA", "n": key["n"], "e": key["e"]});
    f.check(
        f.access(),
        Mutation::EmbeddedJwk,
        &[("jwk", Some(embedded))],
        &[],
        Sig::Attacker,
    );
}

#[tokio::test]
async fn crit_with_an_unknown_header() {
    let f = Forge::start().await;
    let bad = f.check(
        f.access(),
        Mutation::CritUnknown,
        &[
            ("crit", Some(json!([mint::UNKNOWN_CRITICAL_HEADER]))),
            (mint::UNKNOWN_CRITICAL_HEADER, Some(json!(true))),
        ],
        &[],
        Sig::Issuer,
    );
    // RFC 7515 4.1.11: the issuer understands no extension, so it refuses the token.
    let answer = f.h.userinfo(&bad.token).await;
    answer.assert_bearer_error(401, "invalid_token");
    assert!(answer.body.contains("RFC 7515 4.1.11"), "{}", answer.body);
}

#[tokio::test]
async fn signature_bytes_flipped_and_stripped() {
    let f = Forge::start().await;
    let (base, bad) = f.pair(f.access(), Mutation::SignatureFlipped);
    let flipped: Vec<u8> = signature_of(&base.token).iter().map(|b| b ^ 0x5A).collect();
    assert_eq!(signature_of(&bad.token), flipped);
    f.check(
        f.access(),
        Mutation::SignatureFlipped,
        &[],
        &[],
        Sig::Broken,
    );
    let bad = f.check(
        f.access(),
        Mutation::SignatureStripped,
        &[],
        &[],
        Sig::Empty,
    );
    assert_eq!(
        bad.token,
        format!("{}.", base.token.rsplit_once('.').unwrap().0)
    );
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
}

#[tokio::test]
async fn payload_tampered_after_signing() {
    let f = Forge::start().await;
    let (base, bad) = f.pair(f.access(), Mutation::PayloadTampered);
    assert_eq!(signature_of(&base.token), signature_of(&bad.token), "kept");
    let year = 365 * 86400;
    let bad = f.check(
        f.access(),
        Mutation::PayloadTampered,
        &[],
        &[("exp", num(NOW + 3600 + year))],
        Sig::Broken,
    );
    f.h.userinfo(&bad.token)
        .await
        .assert_bearer_error(401, "invalid_token");
    f.check(
        f.access(),
        Mutation::TamperedClaim("sub".into(), json!(BOB)),
        &[],
        &[("sub", Some(json!(BOB)))],
        Sig::Broken,
    );
}

#[tokio::test]
async fn any_user_client_scope_permission_and_claim() {
    let f = Forge::start().await;
    let minted =
        f.h.issuer
            .mint()
            .access_token()
            .user("bob@example.com")
            .client("forge-spa")
            .audience("https://api.castles.test")
            .scope("read")
            .permission("castles:admin")
            .claim("tenant", 7)
            .lifetime(60)
            .build()
            .unwrap();
    let (_, claims) = decode(&minted.token);
    assert_eq!(claims["sub"], BOB);
    assert_eq!(claims["client_id"], "forge-spa");
    assert_eq!(claims["aud"], json!(["https://api.castles.test"]));
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["permissions"], json!(["castles:admin"]));
    assert_eq!(claims["tenant"], 7);
    assert_eq!(claims["exp"], NOW + 60, "the issuer's clock");
    assert_eq!(
        f.h.issuer.mint().access_token().user("carol").sign(),
        Err(MintError::UnknownUser("carol".into()))
    );
}

#[tokio::test]
async fn mutations_combine() {
    let f = Forge::start().await;
    let bad = f
        .access()
        .mutate(Mutation::ExpiredBy(10))
        .mutate(Mutation::NoKid)
        .build()
        .unwrap();
    let (header, claims) = decode(&bad.token);
    assert_eq!(claims["exp"], NOW - 10);
    assert!(header.get("kid").is_none());
    assert!(f.signed_by_issuer(&bad.token));
}

impl Answer {
    /// An RFC 6750 3 error: status, `WWW-Authenticate: Bearer` with the code, JSON body.
    pub fn assert_bearer_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert!(
            self.header("www-authenticate")
                .contains(&format!("error=\"{error}\"")),
            "{:?}",
            self.headers
        );
        assert_eq!(self.json()["error"], error);
    }
}
