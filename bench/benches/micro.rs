//! Micro-benchmarks: each piece of the token path against the raw primitive it is built on.
//!
//! ```text
//! cargo bench -p oidc-forge-bench --bench micro
//! ```
//!
//! - `sign`: one raw RS256 signature (aws-lc-rs, key parsed once) vs the issuer's
//!   `SigningKey::sign_jwt` vs a whole client_credentials `rules::tokens::issue`;
//! - `verify`: raw RS256 verification (parsed key) vs jsonwebtoken's path (key rebuilt from
//!   `n`/`e` per call) vs the client's `validate_access_token` with a warm JWKS;
//! - `startup`: config parse, key parsing, state building, `MockIssuer::start`;
//! - `serve`: discovery and JWKS answered by the router, no socket.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use divan::{Bencher, black_box};
use oidc_forge::MockIssuer;
use oidc_forge::config::{ClientConfig, Config};
use oidc_forge::internals::AppState;
use oidc_forge::internals::TokenTyp;
use oidc_forge::internals::tokens::{self, Grant, Subject};
use oidc_forge::{KeySet, SigningKey};
use tower::ServiceExt as _;

fn main() {
    divan::main();
}

const RS256_PEM: &str = include_str!("../../fixtures/keys/rs256.pem");

fn key_pair() -> RsaKeyPair {
    let block = pem::parse(RS256_PEM).expect("fixture PEM");
    RsaKeyPair::from_pkcs8(block.contents()).expect("fixture key")
}

fn claims_json() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "iss": "http://127.0.0.1:9000", "sub": "forge-web", "aud": ["forge-web"],
        "client_id": "forge-web", "azp": "forge-web", "exp": 1_900_000_000u64,
        "iat": 1_899_996_400u64, "jti": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "scope": "read", "permissions": ["castles:read"], "acr": "0",
    }))
    .expect("claims")
}

fn state() -> AppState {
    MockIssuer::builder()
        .build_state("http://127.0.0.1:9000")
        .expect("state")
}

mod sign {
    use super::*;

    #[divan::bench]
    fn raw_rs256(bencher: Bencher) {
        let pair = key_pair();
        let rng = SystemRandom::new();
        let mut message = b"eyJhbGciOiJSUzI1NiJ9.".to_vec();
        message.extend(URL_SAFE_NO_PAD.encode(claims_json()).bytes());
        let mut signature = vec![0u8; pair.public_modulus_len()];
        bencher.bench_local(|| {
            pair.sign(&RSA_PKCS1_SHA256, &rng, black_box(&message), &mut signature)
                .expect("sign");
        });
    }

    #[divan::bench]
    fn issuer_sign_jwt(bencher: Bencher) {
        let key = SigningKey::from_pem(
            "forge-rs256",
            oidc_forge::config::SigningAlg::RS256,
            RS256_PEM,
        )
        .expect("key");
        let claims = claims_json();
        bencher.bench_local(|| key.sign_jwt(TokenTyp::AccessToken, black_box(&claims)));
    }

    /// The grant of a client_credentials request for `scopes`.
    fn client_credentials<'a>(client: &'a ClientConfig, scopes: &'a [String]) -> Grant<'a> {
        Grant {
            client,
            subject: Subject::Client,
            scopes,
            nonce: None,
            code: None,
            grant_id: None,
            refresh_token: None,
        }
    }

    /// Claims built, serialised and signed: what a client_credentials request costs beyond
    /// HTTP and client authentication.
    #[divan::bench]
    fn issue_client_credentials(bencher: Bencher) {
        let state = state();
        let config = state.config();
        let client = config.client("forge-web").expect("client");
        let scopes = vec!["read".to_owned()];
        let key = state.signing_key_for(client).expect("key");
        let queued = Default::default();
        bencher.bench_local(|| {
            let grant = client_credentials(client, &scopes);
            let issuer = tokens::Issuer {
                url: &state.issuer,
                config: &config,
                key: &key,
                now: 1_900_000_000,
            };
            tokens::issue(issuer, grant, state.rng.id(), &queued).expect("issue")
        });
    }

    /// The same without the signature: building and serialising the claims.
    #[divan::bench]
    fn access_claims_only(bencher: Bencher) {
        let state = state();
        let config = state.config();
        let client = config.client("forge-web").expect("client");
        let scopes = vec!["read".to_owned()];
        bencher.bench_local(|| {
            let grant = client_credentials(client, &scopes);
            let claims = tokens::access_token_claims(
                &state.issuer,
                &config,
                &grant,
                "jti".to_owned(),
                1_900_000_000,
            );
            serde_json::to_vec(&claims).expect("claims")
        });
    }
}

mod verify {
    use super::*;

    fn signed() -> (RsaKeyPair, Vec<u8>, Vec<u8>) {
        let pair = key_pair();
        let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0".to_vec();
        let mut signature = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            &message,
            &mut signature,
        )
        .expect("sign");
        (pair, message, signature)
    }

    #[divan::bench]
    fn raw_rs256_parsed_key(bencher: Bencher) {
        let (pair, message, signature) = signed();
        let public = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
            .expect("public key");
        bencher.bench_local(|| {
            public
                .verify_sig(black_box(&message), &signature)
                .expect("valid")
        });
    }

    /// What jsonwebtoken does with a key from a JWK: rebuild the RSA key from `n` and `e`.
    #[divan::bench]
    fn jsonwebtoken_from_components(bencher: Bencher) {
        let (_, message, signature) = signed();
        let keys = KeySet::embedded();
        let key = keys
            .by_kid("forge-rs256")
            .expect("key")
            .verifying_key()
            .clone();
        let signature = URL_SAFE_NO_PAD.encode(signature);
        bencher.bench_local(|| {
            jsonwebtoken::crypto::verify(
                &signature,
                black_box(&message),
                &key,
                jsonwebtoken::Algorithm::RS256,
            )
            .expect("valid")
        });
    }

    /// The client's whole access-token validation, JWKS cached.
    #[divan::bench]
    fn client_validate_access_token(bencher: Bencher) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (issuer, client, token) = runtime.block_on(async {
            let issuer = MockIssuer::start(Config::default()).await.expect("issuer");
            let client = oidc_forge_client::Client::builder(issuer.url(), "forge-web")
                .client_secret("forge-web-secret")
                .build()
                .expect("client");
            let token = issuer
                .mint()
                .access_token()
                .scope("read")
                .sign()
                .expect("token");
            (issuer, client, token)
        });
        let requirements = oidc_forge_client::Requirements::new();
        runtime
            .block_on(client.validate_access_token(&token, &requirements))
            .expect("valid");
        bencher.bench_local(|| {
            runtime
                .block_on(client.validate_access_token(black_box(&token), &requirements))
                .expect("valid")
        });
        runtime.block_on(issuer.shutdown());
    }

    /// The client's structural parse alone (base64url, JSON with duplicate checks, header).
    #[divan::bench]
    fn client_parse_compact(bencher: Bencher) {
        let key = SigningKey::from_pem(
            "forge-rs256",
            oidc_forge::config::SigningAlg::RS256,
            RS256_PEM,
        )
        .expect("key");
        let token = key.sign_jwt(TokenTyp::AccessToken, &claims_json());
        bencher.bench_local(|| {
            oidc_forge_client::validate::parse_compact(black_box(&token), 16 * 1024).expect("parse")
        });
    }
}

mod startup {
    use super::*;

    #[divan::bench]
    fn default_config_parse() -> Config {
        Config::default()
    }

    #[divan::bench]
    fn embedded_keys_parse() -> KeySet {
        KeySet::embedded()
    }

    #[divan::bench]
    fn rs256_key_parse() -> SigningKey {
        SigningKey::from_pem("k", oidc_forge::config::SigningAlg::RS256, RS256_PEM).expect("key")
    }

    #[divan::bench]
    fn build_state() -> AppState {
        state()
    }

    #[divan::bench(sample_count = 50)]
    fn mock_issuer_start_and_shutdown(bencher: Bencher) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        bencher.bench_local(|| {
            runtime.block_on(async {
                let issuer = MockIssuer::start(Config::default()).await.expect("issuer");
                issuer.shutdown().await;
            })
        });
    }
}

mod serve {
    use super::*;

    fn answer(router: &axum::Router, runtime: &tokio::runtime::Runtime, path: &str) -> usize {
        runtime.block_on(async {
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("request");
            let response = router.clone().oneshot(request).await.expect("response");
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body")
                .len()
        })
    }

    fn setup() -> (axum::Router, tokio::runtime::Runtime) {
        let state = state();
        let router = oidc_forge::internals::router(Arc::clone(&state));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        (router, runtime)
    }

    #[divan::bench]
    fn discovery(bencher: Bencher) {
        let (router, runtime) = setup();
        bencher.bench_local(|| answer(&router, &runtime, "/.well-known/openid-configuration"));
    }

    #[divan::bench]
    fn jwks(bencher: Bencher) {
        let (router, runtime) = setup();
        bencher.bench_local(|| answer(&router, &runtime, "/.well-known/jwks.json"));
    }
}
