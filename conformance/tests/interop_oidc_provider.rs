//! Our client against an issuer we did not write: `oidc-provider` (panva's certified OpenID
//! Provider, from npm), started by `conformance/interop/oidc-provider.mjs` on 127.0.0.1 port 0.
//!
//! The client runs its real flows: discovery, an authorization URL with PKCE S256, state and
//! nonce, the redirects followed by hand with a cookie-keeping HTTP client (the provider's
//! interaction signs in and consents automatically), the callback exchange with ID-token
//! validation (OIDC Core 3.1.3.7), UserInfo (Core 5.3), refresh (RFC 6749 6, Core 12.2), and
//! RFC 9068 JWT access tokens issued for an RFC 8707 resource indicator.
//!
//! Needs `node` and `npm ci --prefix conformance/interop`. Without them the tests are reported
//! as ignored, with the reason in their names, except when `CI` is set: there a missing
//! toolchain is a failure.

#[path = "toolchain/mod.rs"]
mod toolchain;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oidc_forge_client::jsonwebtoken::Algorithm;
use oidc_forge_client::pkce::{PkceVerifier, generate_nonce, generate_state};
use oidc_forge_client::{
    AuthorizationRequest, Client, CodeExchange, Error, RefreshRequest, Requirements, TokenError,
};
use url::Url;

// The fixtures of conformance/interop/oidc-provider.mjs (CLIENT, ACCOUNT, RESOURCE there).
const CLIENT_ID: &str = "forge-interop";
const CLIENT_SECRET: &str = "forge-interop-secret";
const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
const SUBJECT: &str = "carol-3f9a";
const EMAIL: &str = "carol@example.com";
const RESOURCE: &str = "urn:oidc-forge:interop-api";
/// Redirects from the authorization request to the client: login and consent interactions,
/// each a hop out and a hop back, and the final one to the redirect URI.
const MAX_HOPS: usize = 10;

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// `Some(reason)` when node or the npm packages are missing.
fn missing_toolchain() -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => return Some(format!("`node --version` failed: {}", output.status)),
        Err(error) => return Some(format!("`node` cannot run: {error}")),
    }
    let package = interop_dir().join("node_modules/oidc-provider/package.json");
    if !package.is_file() {
        return Some(format!("{} is missing", package.display()));
    }
    None
}

/// Runs each interop test as a named trial, ignored without node or the npm packages.
fn main() {
    let arguments = libtest_mimic::Arguments::from_args();
    let missing = missing_toolchain();
    let install = "run `npm ci --prefix conformance/interop`";
    let trials = vec![
        toolchain::trial(
            "code_flow_userinfo_and_refresh_against_oidc_provider",
            missing.clone(),
            install,
            || async {
                code_flow_userinfo_and_refresh_against_oidc_provider().await;
                Ok(())
            },
        ),
        toolchain::trial(
            "jwt_access_tokens_for_a_resource_indicator_validate",
            missing.clone(),
            install,
            || async {
                jwt_access_tokens_for_a_resource_indicator_validate().await;
                Ok(())
            },
        ),
        toolchain::trial(
            "es256_and_eddsa_id_tokens_verify",
            missing,
            install,
            || async {
                es256_and_eddsa_id_tokens_verify().await;
                Ok(())
            },
        ),
    ];
    libtest_mimic::run(&arguments, trials).exit();
}

/// A running oidc-provider; killed when dropped.
struct Provider {
    child: Child,
    // Held open: the provider runs with --exit-with-stdin, so if this process dies without
    // dropping the guard, the closed pipe stops the provider too.
    _stdin: Option<ChildStdin>,
    issuer: String,
    stderr: Arc<Mutex<String>>,
}

impl Provider {
    async fn start() -> Self {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .expect("the start task finishes")
    }

    fn start_blocking() -> Self {
        let script = interop_dir().join("oidc-provider.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .args(["0", "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start node {}: {error}", script.display()));
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read) = pipe.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                    }
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut reader = BufReader::new(stdout);
        // The script prints `issuer URL` first; oidc-provider's own notices also go to stdout,
        // so a few lines are tolerated before it.
        let mut seen = Vec::new();
        let mut issuer = None;
        while issuer.is_none() && seen.len() < 20 {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            issuer = line.trim_end().strip_prefix("issuer ").map(str::to_owned);
            seen.push(line);
        }
        // Drain the rest so the provider never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let provider = Self {
            child,
            _stdin: stdin,
            issuer: issuer.unwrap_or_default(),
            stderr,
        };
        if provider.issuer.is_empty() {
            // Dropping the provider (during the unwind) kills it.
            panic!(
                "oidc-provider.mjs printed no `issuer URL` line, only {seen:?}; stderr:\n{}",
                provider.stderr()
            );
        }
        provider
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn client(&self) -> Client {
        Client::builder(&self.issuer, CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .build()
            .expect("a valid client configuration")
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows the authorization redirects as a browser would, keeping cookies, and returns the
/// redirect to the client. reqwest's cookie store is a feature the workspace does not enable;
/// oidc-provider's cookies need only name-to-value replay within one flow, so a map does.
async fn follow_to_callback(provider: &Provider, authorization_url: Url) -> Url {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut next = authorization_url;
    for hop in 1..=MAX_HOPS {
        let mut request = http.get(next.clone());
        if !cookies.is_empty() {
            let header = cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(reqwest::header::COOKIE, header);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("hop {hop} to {next}: {error}"));
        for set_cookie in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(set_cookie) = set_cookie.to_str() else {
                continue;
            };
            let pair = set_cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let Some(location) = location.filter(|_| status.is_redirection()) else {
            let body = response.text().await.unwrap_or_default();
            panic!(
                "hop {hop}: expected a redirect from {next}, got {status}: {body}\nprovider stderr:\n{}",
                provider.stderr()
            );
        };
        let target = next.join(&location).expect("a valid Location");
        if target.as_str().starts_with(&format!("{REDIRECT_URI}?")) {
            return target;
        }
        next = target;
    }
    panic!("no redirect to {REDIRECT_URI} within {MAX_HOPS} hops");
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// One authorization request through to the callback; checks `state` and RFC 9207 `iss` on the
/// callback as the client's web flow does, and returns the code.
async fn authorize(provider: &Provider, client: &Client, request: AuthorizationRequest) -> String {
    let state = generate_state();
    let url = client
        .auth_url(&request.state(state.clone()))
        .await
        .expect("the authorization URL (discovery of oidc-provider)");
    let callback = follow_to_callback(provider, url).await;
    assert_eq!(
        query_param(&callback, "error"),
        None,
        "the provider answered with an error: {callback}\n{}",
        provider.stderr()
    );
    // RFC 6749 10.12: state round-trips; RFC 9207 2.4: iss is the issuer identifier.
    assert_eq!(query_param(&callback, "state").as_deref(), Some(&*state));
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(provider.issuer.as_str())
    );
    query_param(&callback, "code").expect("the callback carries a code")
}

async fn code_flow_userinfo_and_refresh_against_oidc_provider() {
    let provider = Provider::start().await;
    let client = provider.client();

    // Discovery 4.3: the document names exactly the issuer the client was configured with.
    let metadata = client.metadata().await.expect("oidc-provider's discovery");
    assert_eq!(metadata.issuer, provider.issuer);

    let verifier = PkceVerifier::generate();
    let nonce = generate_nonce();
    // Core 11: offline_access needs prompt=consent for a refresh token to be issued.
    let request = AuthorizationRequest::new(REDIRECT_URI)
        .scope(["openid", "email", "profile", "offline_access"])
        .nonce(nonce.clone())
        .pkce(&verifier)
        .extra("prompt", "consent");
    let code = authorize(&provider, &client, request).await;

    // Core 3.1.3.7: signature from the provider's JWKS, iss, aud, exp/iat, nonce.
    let (tokens, claims) = client
        .auth_callback(
            CodeExchange::new(code.clone(), REDIRECT_URI)
                .code_verifier(&verifier)
                .nonce(nonce.clone()),
        )
        .await
        .unwrap_or_else(|error| panic!("code exchange: {error}\n{}", provider.stderr()));
    assert_eq!(claims.sub, SUBJECT);
    assert_eq!(claims.iss, provider.issuer);
    assert_eq!(claims.aud, [CLIENT_ID]);
    assert_eq!(claims.nonce.as_deref(), Some(nonce.as_str()));
    let refresh_token = tokens
        .refresh_token
        .clone()
        .expect("a refresh token for offline_access with prompt=consent");

    // Core 5.3.2: UserInfo's sub is the ID token's.
    let userinfo = client
        .userinfo(&tokens.access_token, &claims.sub)
        .await
        .unwrap_or_else(|error| panic!("userinfo: {error}\n{}", provider.stderr()));
    assert_eq!(userinfo.sub(), SUBJECT);
    assert_eq!(userinfo.email(), Some(EMAIL));
    assert_eq!(
        userinfo.get("name").and_then(|v| v.as_str()),
        Some("Carol Danvers")
    );

    // RFC 6749 6 and Core 12.2: a refreshed ID token keeps iss and sub; it is validated too.
    let (refreshed, refreshed_claims) = client
        .refresh(RefreshRequest::new(&refresh_token, &claims.sub))
        .await
        .unwrap_or_else(|error| panic!("refresh: {error}\n{}", provider.stderr()));
    assert_ne!(refreshed.access_token, tokens.access_token);
    let refreshed_claims = refreshed_claims.expect("oidc-provider returns an ID token on refresh");
    assert_eq!(refreshed_claims.sub, SUBJECT);
    let userinfo = client
        .userinfo(&refreshed.access_token, &claims.sub)
        .await
        .expect("userinfo with the refreshed access token");
    assert_eq!(userinfo.sub(), SUBJECT);

    // Core 5.3.2: a UserInfo answer for another subject must not be used.
    let mismatch = client
        .userinfo(&refreshed.access_token, "someone-else")
        .await
        .expect_err("a sub that is not the ID token's");
    assert!(matches!(mismatch, Error::UserInfoInvalid(_)), "{mismatch}");

    // RFC 6749 4.1.2: the code is single-use; oidc-provider also revokes what it issued from it
    // (the SHOULD of the same clause), so the newest refresh token dies with it.
    let replay = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT_URI)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .expect_err("a second redemption of the code");
    assert!(
        matches!(&replay, Error::RequestFailed { status: 400, body, .. } if body.contains("invalid_grant")),
        "{replay}"
    );

    let revoked = client
        .refresh(RefreshRequest::new(
            refreshed.refresh_token.as_deref().unwrap_or(&refresh_token),
            &claims.sub,
        ))
        .await
        .expect_err("a refresh after the code was replayed");
    assert!(
        matches!(&revoked, Error::RequestFailed { status: 400, body, .. } if body.contains("invalid_grant")),
        "{revoked}"
    );
}

async fn jwt_access_tokens_for_a_resource_indicator_validate() {
    let provider = Provider::start().await;
    let client = provider.client();

    let verifier = PkceVerifier::generate();
    let nonce = generate_nonce();
    // RFC 8707 2.1: the resource the access token is for; `read` is its scope.
    let request = AuthorizationRequest::new(REDIRECT_URI)
        .scope(["openid", "email", "read"])
        .nonce(nonce.clone())
        .pkce(&verifier)
        .extra("resource", RESOURCE);
    let code = authorize(&provider, &client, request).await;
    let (tokens, claims) = client
        .auth_callback(
            CodeExchange::new(code, REDIRECT_URI)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .unwrap_or_else(|error| panic!("code exchange: {error}\n{}", provider.stderr()));
    assert_eq!(claims.sub, SUBJECT);

    // The API's view: RFC 9068 (typ at+jwt, iss, aud = the resource, exp, sub, client_id) with
    // the signature from the provider's JWKS.
    let api = Client::builder(&provider.issuer, CLIENT_ID)
        .access_token_audience(RESOURCE)
        .build()
        .expect("a valid resource-server configuration");
    let info = api
        .validate_access_token(&tokens.access_token, &Requirements::new().scopes(["read"]))
        .await
        .unwrap_or_else(|error| panic!("JWT access token: {error}\n{}", provider.stderr()));
    assert_eq!(info.id.to_string(), SUBJECT);
    assert_eq!(info.subject(), SUBJECT);
    assert_eq!(info.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(info.scope, ["read"]);
    assert_eq!(
        info.claims.get("aud").and_then(|v| v.as_str()),
        Some(RESOURCE)
    );

    // RFC 9068 4: an API that is not the token's audience refuses it.
    let other_api = provider.client();
    let refused = other_api
        .validate_access_token(&tokens.access_token, &Requirements::new())
        .await
        .expect_err("a token for another audience");
    assert!(
        matches!(refused, Error::AccessTokenInvalid(TokenError::Audience(_))),
        "{refused}"
    );
    // A scope the resource never granted is missing.
    let missing = api
        .validate_access_token(&tokens.access_token, &Requirements::new().scopes(["write"]))
        .await
        .expect_err("a scope that was not granted");
    assert!(matches!(missing, Error::MissingScope { .. }), "{missing}");
    // RFC 8725 3.11: the ID token is not an access token (typ, audience).
    let id_token = tokens.id_token.as_deref().expect("an ID token");
    let confused = api
        .validate_access_token(id_token, &Requirements::new())
        .await
        .expect_err("an ID token presented as an access token");
    assert!(
        matches!(
            confused,
            Error::AccessTokenInvalid(TokenError::WrongType { .. })
        ),
        "{confused}"
    );
}

/// Core 3.1.3.7(6)-(7): ID tokens signed with the provider's P-256 and Ed25519 keys verify
/// against its JWKS when the client allows that algorithm, and are refused when it does not
/// (RFC 8725 3.1: the allowlist, not the token's header, decides).
async fn es256_and_eddsa_id_tokens_verify() {
    let provider = Provider::start().await;
    for (client_id, algorithm) in [
        ("forge-interop-es256", Algorithm::ES256),
        ("forge-interop-eddsa", Algorithm::EdDSA),
    ] {
        let client = Client::builder(&provider.issuer, client_id)
            .client_secret(CLIENT_SECRET)
            .algorithms([algorithm])
            .build()
            .expect("a valid client configuration");
        let verifier = PkceVerifier::generate();
        let nonce = generate_nonce();
        let request = AuthorizationRequest::new(REDIRECT_URI)
            .scope(["openid", "email"])
            .nonce(nonce.clone())
            .pkce(&verifier);
        let code = authorize(&provider, &client, request).await;
        let (tokens, claims) = client
            .auth_callback(
                CodeExchange::new(code, REDIRECT_URI)
                    .code_verifier(&verifier)
                    .nonce(nonce.clone()),
            )
            .await
            .unwrap_or_else(|error| {
                panic!("{client_id} code exchange: {error}\n{}", provider.stderr())
            });
        assert_eq!(claims.sub, SUBJECT, "{client_id}");
        assert_eq!(claims.aud, [client_id]);
        let id_token = tokens.id_token.as_deref().expect("an ID token");

        // The same token, to a client of the same id that allows only RS256.
        let rs256_only = Client::builder(&provider.issuer, client_id)
            .client_secret(CLIENT_SECRET)
            .build()
            .expect("a valid client configuration");
        let refused = rs256_only
            .validate_id_token(id_token, Some(&nonce))
            .await
            .expect_err("an algorithm outside the allowlist");
        assert!(
            matches!(
                refused,
                Error::IdTokenInvalid(TokenError::AlgorithmNotAllowed { .. })
            ),
            "{client_id}: {refused}"
        );
    }
}
