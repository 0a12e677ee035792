//! The ratios issue 14 asks for, measured paired: the sides interleaved in one loop, each
//! round giving one ratio, and the median over rounds quoted. The machine's speed drifts
//! between phases; within a round it does not, so it cancels out of every ratio.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::Cli;
use crate::limits::{self, Rate, median};
use crate::load::{self, Load, Requests};
use crate::scenarios::{CLIENT_ID, CLIENT_SECRET, Sample, code_request, mint_codes, timed_run};

/// The token requests of a paired round.
pub enum TokenSide<'a> {
    /// The same request again and again (client_credentials).
    Repeat(Vec<u8>),
    /// A fresh code for each request, minted (untimed) before the round.
    FreshCodes { auth: &'a str },
}

/// Issue 14's token target, measured paired: what a token request costs the server beyond the
/// RS256 signatures it needs, in whole discovery requests. Every round times token requests,
/// discovery requests and this thread's RS256 signatures, one after the other (and in the
/// reverse order every other round, so that no side always goes first); each round gives
/// `(token CPU - signatures x signature CPU) / discovery CPU`, and the median over rounds is
/// quoted. The machine's speed drifts between phases; within a round it does not, so it
/// cancels out of the ratio.
pub async fn token_overhead(
    cli: &Cli,
    addr: SocketAddr,
    host: &str,
    pid: Option<u32>,
    side: &TokenSide<'_>,
    signatures: f64,
) -> Result<f64, String> {
    let each = (cli.duration / 5).clamp(Duration::from_millis(500), Duration::from_secs(2));
    let load = Load {
        addr,
        connections: cli.connections,
        duration: each,
        expected_status: 200,
        capture_location: false,
    };
    let discovery = Requests::repeat(load::get(host, "/.well-known/openid-configuration", &[]));
    let cpu_per_request = |sample: Sample| {
        sample
            .server_cpu_us
            .ok_or_else(|| "the paired rows need the server's CPU time".to_owned())
    };
    let mut ratios = Vec::new();
    for round in 0..2 * cli.runs.max(2) {
        let (mut token_us, mut discovery_us, mut sign_us) = (0.0_f64, 0.0_f64, 0.0_f64);
        let steps = if round.is_multiple_of(2) {
            [0, 1, 2]
        } else {
            [2, 1, 0]
        };
        for step in steps {
            match step {
                0 => {
                    let requests = match side {
                        TokenSide::Repeat(request) => Requests::repeat(request.clone()),
                        TokenSide::FreshCodes { auth } => {
                            let codes =
                                mint_codes(addr, host, cli.connections, cli.code_batch.max(1))
                                    .await?;
                            let requests =
                                codes.iter().map(|c| code_request(host, auth, c)).collect();
                            Requests::once_each(requests)
                        }
                    };
                    token_us = cpu_per_request(timed_run(&load, requests, pid).await?)?;
                }
                1 => {
                    discovery_us = cpu_per_request(timed_run(&load, discovery.clone(), pid).await?)?
                }
                _ => sign_us = limits::sign_rate(each / 4)?.us_each,
            }
        }
        ratios.push((token_us - signatures * sign_us) / discovery_us.max(f64::MIN_POSITIVE));
    }
    Ok(median(&mut ratios))
}

/// The client's validation against the two things it is compared with, measured paired.
#[derive(Debug, Clone, Copy)]
pub struct Validation {
    /// `validate_access_token` with a warm JWKS, per second (the median round's).
    pub validate: Rate,
    /// The median over rounds of validate's rate over a raw RS256 verification's (aws-lc-rs,
    /// key parsed once) of the same token.
    pub of_raw_verify: f64,
    /// The same over `jsonwebtoken::decode` of the same token with the same key, checking
    /// the issuer, the audience and `exp`.
    pub of_jsonwebtoken: f64,
}

/// Operations per side in one batch of a round: long enough (about 1.5 ms) for the wall clock
/// to time, short enough that a round sees the machine at one speed.
const BATCH: u32 = 64;

/// The client's `validate_access_token` (warm JWKS), a raw RS256 verification and
/// `jsonwebtoken::decode`, each of the same token with the same key, interleaved: every round
/// times a batch of each (A B C, then C B A, so that no side always goes first), and each ratio
/// is the median over rounds of the per-round ratios (issue 14). The machine's speed drifts
/// between phases; within a round it does not, so it cancels out of every ratio.
pub async fn client_validation(duration: Duration) -> Result<Validation, String> {
    use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let issuer = oidc_forge::MockIssuer::start(oidc_forge::Config::default())
        .await
        .map_err(|e| e.to_string())?;
    let client = oidc_forge_client::Client::builder(issuer.url(), CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .build()
        .map_err(|e| e.to_string())?;
    // A user's token (the client refuses a non-UUID `sub`, Fief's shape), as the issuer signs it.
    let token = issuer
        .mint()
        .access_token()
        .scope("read")
        .sign()
        .map_err(|e| e.to_string())?;
    let requirements = oidc_forge_client::Requirements::new();

    // The raw side: the token's own signing input and signature, the fixture key parsed once.
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or("the minted token has no signature")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| format!("the signature is not base64url: {e}"))?;
    let pair = limits::rs256_key_pair()?;
    let public_der = aws_lc_rs::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    let raw = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_der)
        .map_err(|e| format!("cannot parse the public key: {e}"))?;
    raw.verify_sig(signing_input.as_bytes(), &signature)
        .map_err(|_| "the issuer's default key is not fixtures/keys/rs256.pem")?;

    // jsonwebtoken's side: the same key, and the checks every validator makes.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(signing_input.split('.').nth(1).unwrap_or_default())
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or("the minted token's claims are not JSON")?;
    let audience = match &claims["aud"] {
        serde_json::Value::Array(list) => list.first().and_then(|a| a.as_str()),
        other => other.as_str(),
    }
    .ok_or("the minted token has no audience")?
    .to_owned();
    let decoding = jsonwebtoken::DecodingKey::from_rsa_der(&public_der);
    let mut checks = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    checks.set_issuer(&[issuer.url()]);
    checks.set_audience(&[audience]);
    checks.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &checks)
        .map_err(|e| format!("jsonwebtoken refuses the token: {e}"))?;

    // Warm: discovery and JWKS fetched once here, then caches and the CPU's frequency.
    client
        .validate_access_token(&token, &requirements)
        .await
        .map_err(|e| e.to_string())?;
    let fetches = client.jwks_fetch_count();
    let warm_until = Instant::now() + duration / 10;
    while Instant::now() < warm_until {
        let _ = client.validate_access_token(&token, &requirements).await;
    }

    // Seconds per operation, per side and round: validate, raw verify, jsonwebtoken.
    let mut times: [Vec<f64>; 3] = Default::default();
    let start = Instant::now();
    let mut round = 0usize;
    while start.elapsed() < duration || round < 2 {
        let order = if round.is_multiple_of(2) {
            [0, 1, 2]
        } else {
            [2, 1, 0]
        };
        for side in order {
            let batch = Instant::now();
            for _ in 0..BATCH {
                match side {
                    0 => {
                        client
                            .validate_access_token(&token, &requirements)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    1 => raw
                        .verify_sig(signing_input.as_bytes(), &signature)
                        .map_err(|_| "the raw verification failed")?,
                    _ => {
                        jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &checks)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            times[side].push(batch.elapsed().as_secs_f64() / f64::from(BATCH));
        }
        round += 1;
    }
    if client.jwks_fetch_count() != fetches {
        return Err("the JWKS was fetched again during the timed loop".into());
    }
    issuer.shutdown().await;
    let [validate, verify, decode] = &times;
    let mut each = validate.clone();
    let seconds = limits::median(&mut each);
    Ok(Validation {
        validate: Rate {
            per_second: 1.0 / seconds,
            us_each: seconds * 1e6,
        },
        of_raw_verify: limits::median_ratio(verify, validate),
        of_jsonwebtoken: limits::median_ratio(decode, validate),
    })
}
