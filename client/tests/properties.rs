//! Properties of the client's validation, checked against an oracle written here from the
//! specs, not from the client's code: an access token with arbitrary claims validates exactly
//! when every rule holds (RFC 9068 2.2 and 4, RFC 7519 4.1, RFC 8725 3.1 / 3.8 / 3.11), error
//! messages never echo a token's signature, and PKCE verifiers interoperate with the issuer
//! (RFC 7636 4.1 / 4.2).
//!
//! Tokens are signed here with the fixture keys the issuer publishes (EdDSA and ES256 mostly:
//! fast even in a debug build), and validated by a `Client` whose JWKS comes from an in-process
//! issuer once, then stays warm.

use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_forge::MockIssuer;
use oidc_forge_client::clock::FixedClock;
use oidc_forge_client::jsonwebtoken::{Algorithm, EncodingKey, Header};
use oidc_forge_client::pkce::PkceVerifier;
use oidc_forge_client::{Client, Requirements};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Map, Value, json};

const NOW: u64 = 1_767_225_600;
const LEEWAY: u64 = 30;
const CLIENT_ID: &str = "forge-web";
const SUB: &str = "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21";
const FIFTY_YEARS: u64 = 50 * 365 * 24 * 3600;

struct Env {
    runtime: tokio::runtime::Runtime,
    // Kept alive for the client's JWKS fetch.
    _issuer: MockIssuer,
    issuer_url: String,
    client: Client,
}

static ENV: LazyLock<Env> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime
        .block_on(MockIssuer::start(oidc_forge::Config::default()))
        .unwrap();
    let issuer_url = issuer.url().to_owned();
    let client = Client::builder(issuer_url.clone(), CLIENT_ID)
        .client_secret("forge-web-secret")
        .algorithms([Algorithm::EdDSA, Algorithm::ES256])
        .leeway(LEEWAY)
        .clock(Arc::new(FixedClock::new(NOW)))
        .build()
        .unwrap();
    Env {
        runtime,
        _issuer: issuer,
        issuer_url,
        client,
    }
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    EdDsa,
    Es256,
    /// Signed correctly by the issuer's RSA key, but not in this client's allowlist.
    Rs256,
}

impl Alg {
    fn sign(self, header_typ: Option<&str>, claims: &Value) -> String {
        let (alg, kid, pem) = match self {
            Alg::EdDsa => (
                Algorithm::EdDSA,
                "forge-ed25519",
                include_str!("../../fixtures/keys/ed25519.pem"),
            ),
            Alg::Es256 => (
                Algorithm::ES256,
                "forge-es256",
                include_str!("../../fixtures/keys/es256.pem"),
            ),
            Alg::Rs256 => (
                Algorithm::RS256,
                "forge-rs256",
                include_str!("../../fixtures/keys/rs256.pem"),
            ),
        };
        let key = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .unwrap();
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        header.typ = header_typ.map(str::to_owned);
        oidc_forge_client::jsonwebtoken::encode(&header, claims, &key).unwrap()
    }
}

#[derive(Debug, Clone)]
enum Iss {
    Exact,
    TrailingSlash,
    Other,
    Missing,
}

#[derive(Debug, Clone)]
enum Aud {
    Client,
    ListWithClient,
    Other,
    EmptyList,
    Missing,
    Number,
}

#[derive(Debug, Clone)]
enum Sub {
    Uuid,
    NotUuid,
    Missing,
}

/// A token's claims and header, described so the oracle can judge it.
#[derive(Debug, Clone)]
struct Case {
    alg: Alg,
    typ: Option<&'static str>,
    iss: Iss,
    aud: Aud,
    sub: Sub,
    /// Offsets from NOW; `None` leaves the claim out.
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    scopes: Vec<&'static str>,
    required: Vec<&'static str>,
}

/// Offsets around the leeway boundaries, where off-by-one errors live.
fn boundary() -> impl Strategy<Value = i64> {
    -(LEEWAY as i64) - 2..=(LEEWAY as i64) + 2
}

/// Mostly in the future, as a live token's `exp` is.
fn exp_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        5 => 1i64..100_000,
        2 => boundary(),
        1 => -100_000i64..0,
        1 => prop_oneof![Just(FIFTY_YEARS as i64), Just(FIFTY_YEARS as i64 + 1)],
    ]
}

/// Mostly in the past, as a live token's `iat` and `nbf` are.
fn past_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        5 => -100_000i64..=0,
        2 => boundary(),
        1 => 1i64..100_000,
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let alg = prop_oneof![4 => Just(Alg::EdDsa), 4 => Just(Alg::Es256), 1 => Just(Alg::Rs256)];
    let typ = prop_oneof![
        14 => Just(Some("at+jwt")),
        1 => Just(Some("AT+JWT")),
        1 => Just(Some("application/at+jwt")),
        1 => Just(Some("JWT")),
        1 => Just(Some("at+jwt ")),
        1 => Just(None),
    ];
    let iss = prop_oneof![
        14 => Just(Iss::Exact),
        1 => Just(Iss::TrailingSlash),
        1 => Just(Iss::Other),
        1 => Just(Iss::Missing),
    ];
    let aud = prop_oneof![
        12 => Just(Aud::Client),
        2 => Just(Aud::ListWithClient),
        1 => Just(Aud::Other),
        1 => Just(Aud::EmptyList),
        1 => Just(Aud::Missing),
        1 => Just(Aud::Number),
    ];
    let sub = prop_oneof![14 => Just(Sub::Uuid), 1 => Just(Sub::NotUuid), 1 => Just(Sub::Missing)];
    let time = (
        prop::option::weighted(0.9, exp_offset()),
        prop::option::weighted(0.3, past_offset()),
        prop::option::weighted(0.9, past_offset()),
    );
    let scope_token = prop::sample::select(vec!["openid", "read", "write", "READ", "read:all"]);
    let scopes = prop::collection::vec(scope_token, 0..4);
    let required = prop_oneof![
        2 => Just(Vec::new()),
        1 => prop::collection::vec(prop::sample::select(vec!["read", "write"]), 1..2),
    ];
    (alg, typ, iss, aud, sub, time, scopes, required).prop_map(
        |(alg, typ, iss, aud, sub, (exp, nbf, iat), scopes, required)| Case {
            alg,
            typ,
            iss,
            aud,
            sub,
            exp,
            nbf,
            iat,
            scopes,
            required,
        },
    )
}

fn at(offset: i64) -> Value {
    json!(NOW.checked_add_signed(offset).unwrap())
}

impl Case {
    fn claims(&self, issuer: &str) -> Value {
        let mut claims = Map::new();
        match self.iss {
            Iss::Exact => claims.insert("iss".into(), json!(issuer)),
            Iss::TrailingSlash => claims.insert("iss".into(), json!(format!("{issuer}/"))),
            Iss::Other => claims.insert("iss".into(), json!("https://attacker.example")),
            Iss::Missing => None,
        };
        match self.aud {
            Aud::Client => claims.insert("aud".into(), json!(CLIENT_ID)),
            Aud::ListWithClient => claims.insert("aud".into(), json!(["other-api", CLIENT_ID])),
            Aud::Other => claims.insert("aud".into(), json!("other-api")),
            Aud::EmptyList => claims.insert("aud".into(), json!([])),
            Aud::Missing => None,
            Aud::Number => claims.insert("aud".into(), json!(7)),
        };
        match self.sub {
            Sub::Uuid => claims.insert("sub".into(), json!(SUB)),
            Sub::NotUuid => claims.insert("sub".into(), json!("alice")),
            Sub::Missing => None,
        };
        for (name, value) in [("exp", self.exp), ("nbf", self.nbf), ("iat", self.iat)] {
            if let Some(offset) = value {
                claims.insert(name.into(), at(offset));
            }
        }
        claims.insert("scope".into(), json!(self.scopes.join(" ")));
        claims.insert("jti".into(), json!("j-1"));
        Value::Object(claims)
    }

    /// The rules, from the specs.
    fn should_validate(&self) -> bool {
        let now = NOW as i64;
        let leeway = LEEWAY as i64;
        // RFC 8725 3.1: only allowlisted algorithms.
        let alg_ok = self.alg != Alg::Rs256;
        // RFC 9068 2.1 / 4: typ is at+jwt (media types are case-insensitive, RFC 2045).
        let typ_ok = matches!(
            self.typ.map(str::to_ascii_lowercase).as_deref(),
            Some("at+jwt" | "application/at+jwt")
        );
        // RFC 9068 4 / RFC 8725 3.8: iss exactly the issuer.
        let iss_ok = matches!(self.iss, Iss::Exact);
        // RFC 9068 4 / RFC 7519 4.1.3: aud names this resource.
        let aud_ok = matches!(self.aud, Aud::Client | Aud::ListWithClient);
        // RFC 9068 2.2: `sub` is required, and any non-empty string.
        let sub_ok = !matches!(self.sub, Sub::Missing);
        // RFC 9068 2.2: exp and iat are required. RFC 7519 4.1.4: not on or after exp
        // (with leeway); nothing absurdly far ahead.
        let exp_ok = self.exp.is_some_and(|exp| {
            let exp = now + exp;
            now < exp + leeway && exp <= now + FIFTY_YEARS as i64
        });
        // RFC 7519 4.1.5: not before nbf (with leeway).
        let nbf_ok = self.nbf.is_none_or(|nbf| now + leeway >= now + nbf);
        // Core 3.1.3.7(10) applied to access tokens too: not issued in the future.
        let iat_ok = self.iat.is_some_and(|iat| now + iat <= now + leeway);
        // RFC 6749 3.3: scopes compare exactly.
        let scopes_ok = self.required.iter().all(|r| self.scopes.contains(r));
        alg_ok && typ_ok && iss_ok && aud_ok && sub_ok && exp_ok && nbf_ok && iat_ok && scopes_ok
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn an_access_token_validates_exactly_when_every_rule_holds(case in case()) {
        let env = &*ENV;
        let token = case.alg.sign(case.typ, &case.claims(&env.issuer_url));
        let requirements = Requirements::new().scopes(case.required.iter().copied());
        let result = env
            .runtime
            .block_on(env.client.validate_access_token(&token, &requirements));
        let expected = case.should_validate();
        prop_assert_eq!(result.is_ok(), expected, "{:?} -> {:?}", case, result.err());
        if let Ok(info) = result {
            let sent = if matches!(case.sub, Sub::Uuid) { SUB } else { "alice" };
            prop_assert_eq!(info.id.as_str(), sent);
            prop_assert_eq!(info.uuid().is_some(), matches!(case.sub, Sub::Uuid));
        }
    }

    #[test]
    fn errors_never_echo_a_tokens_signature(case in case(), junk in "[A-Za-z0-9_-]{0,40}") {
        let env = &*ENV;
        let token = case.alg.sign(case.typ, &case.claims(&env.issuer_url));
        // Also a tampered token: the signature no longer matches the payload.
        let (input, signature) = token.rsplit_once('.').unwrap();
        let tampered = format!("{input}{junk}.{signature}");
        for token in [&token, &tampered] {
            let result = env
                .runtime
                .block_on(env.client.validate_access_token(token, &Requirements::new()));
            if let Err(error) = result {
                let shown = format!("{error} {error:?}");
                prop_assert!(!shown.contains(signature), "the signature leaks: {}", shown);
            }
        }
    }

    #[test]
    fn pkce_verifiers_interoperate_with_the_issuer(verifier in "[A-Za-z0-9._~-]{43,128}") {
        let ours = PkceVerifier::new(verifier.clone()).expect("RFC 7636 4.1 charset and length");
        // RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))), computed independently.
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        let expected = URL_SAFE_NO_PAD.encode(digest.as_ref());
        prop_assert_eq!(ours.challenge(), expected.clone());
        prop_assert_eq!(oidc_forge::internals::pkce::s256_challenge(&verifier), expected);
    }

    #[test]
    fn verifiers_outside_rfc_7636_are_refused(verifier in "[ -~]{0,140}") {
        let valid = (43..=128).contains(&verifier.len())
            && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(PkceVerifier::new(verifier.clone()).is_ok(), valid, "{:?}", verifier);
    }
}

#[test]
fn generated_verifiers_are_valid_and_distinct() {
    let a = PkceVerifier::generate();
    let b = PkceVerifier::generate();
    assert_ne!(a.as_str(), b.as_str());
    for verifier in [&a, &b] {
        assert!(PkceVerifier::new(verifier.as_str()).is_ok());
    }
}

/// The oracle accepts a real share of generated tokens, so the property above exercises
/// "validates" as well as "refuses".
#[test]
fn the_generator_reaches_valid_and_invalid_tokens() {
    use proptest::strategy::ValueTree as _;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut accepted = 0;
    for _ in 0..400 {
        let case = case().new_tree(&mut runner).unwrap().current();
        accepted += usize::from(case.should_validate());
    }
    assert!(
        (40..360).contains(&accepted),
        "{accepted} of 400 generated tokens are valid"
    );
}
