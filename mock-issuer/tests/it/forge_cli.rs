//! `oidc-forge token` (offline, and through a running issuer) and `oidc-forge serve --no-admin`.

use std::process::{Command, Output};

use oidc_forge::KeySet;
use serde_json::{Value, json};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_oidc-forge");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/issuer.toml");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("token")
        .args(args)
        .env_remove("OIDC_FORGE_CONFIG")
        .env_remove("OIDC_FORGE_ISSUER_URL")
        .output()
        .expect("the binary runs")
}

/// The token printed by a successful run.
fn token(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.trim_end_matches('\n');
    assert_eq!(token.lines().count(), 1, "one line: {stdout:?}");
    token.to_owned()
}

fn embedded_jwk(kid: &str) -> Value {
    let keys = KeySet::embedded();
    let jwks: Value = serde_json::from_slice(keys.jwks_json()).unwrap();
    jwk(&jwks, kid).clone()
}

#[test]
fn the_brief_example_prints_an_expired_token_signed_by_the_embedded_key() {
    let jwt = token(&[
        "--scope",
        "read",
        "--permission",
        "castles:read",
        "--expired",
    ]);
    let (header, claims) = decode(&jwt);
    assert_eq!(
        header,
        json!({"alg": "RS256", "kid": "forge-rs256", "typ": "at+jwt"})
    );
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["permissions"], json!(["castles:read"]));
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(claims["iss"], "http://127.0.0.1:9000");
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp, iat - 3600);
    assert!(rsa_verifies(&embedded_jwk("forge-rs256"), &jwt));
}

#[test]
fn id_tokens_users_claims_and_mutations() {
    let jwt = token(&[
        "--id-token",
        "--user",
        "bob@example.com",
        "--scope",
        "openid email",
        "--nonce",
        "n-1",
        "--claim",
        "tenant_id=7",
        "--claim",
        "team=blue",
        "--expired-by",
        "30",
    ]);
    let (header, claims) = decode(&jwt);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["sub"], BOB);
    assert_eq!(claims["email"], "bob@example.com");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["tenant_id"], 7, "a JSON value");
    assert_eq!(claims["team"], "blue", "else a string");
    assert_eq!(
        claims["exp"].as_u64().unwrap(),
        claims["iat"].as_u64().unwrap() - 30
    );

    let jwt = token(&["--mutation", "alg-none=nOnE", "--mutation", "missing-sub"]);
    let (header, claims) = decode(&jwt);
    assert_eq!(header["alg"], "nOnE");
    assert!(jwt.ends_with('.'));
    assert!(claims.get("sub").is_none());
}

#[test]
fn a_configuration_file_gives_its_clients_keys_and_issuer() {
    let jwt = token(&[
        "--config",
        FIXTURE,
        "--client",
        "fixture-web",
        "--client-subject",
    ]);
    let (header, claims) = decode(&jwt);
    assert_eq!(header["kid"], "fixture-rs256");
    assert_eq!(claims["aud"], json!(["https://api.castles.test"]));
    assert_eq!(claims["sub"], "fixture-web");
    assert_eq!(claims["iss"], "http://127.0.0.1:9000");
    let other = token(&[
        "--issuer-url",
        "https://id.example.test/",
        "--client",
        "forge-spa",
    ]);
    let (_, claims) = decode(&other);
    assert_eq!(claims["iss"], "https://id.example.test");
    assert_eq!(claims["client_id"], "forge-spa");
}

#[test]
fn json_output_and_deterministic_configurations() {
    let dir = std::env::temp_dir().join(format!("oidc-forge-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fixed.toml");
    let text = format!(
        "{}\n[deterministic]\nnow = {NOW}\nseed = 7\n",
        oidc_forge::config::DEFAULT_CONFIG_TOML
    );
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    let first = token(&["--config", path]);
    assert_eq!(first, token(&["--config", path]), "same clock, same seed");
    assert_eq!(decode(&first).1["iat"], NOW);

    let output = run(&["--config", path, "--json", "--mutation", "no-kid"]);
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(printed["header"].get("kid").is_none());
    assert_eq!(printed["claims"]["iat"], NOW);
    assert_eq!(decode(str_of(&printed, "token")).1, printed["claims"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message() {
    for (args, needle) in [
        (
            &["--user", "carol@example.com"][..],
            "no user has the email or sub `carol@example.com`",
        ),
        (&["--mutation", "expird"], "unknown mutation `expird`"),
        (&["--mutation", "expired-by=soon"], "whole number"),
        (&["--claim", "novalue"], "expected NAME=VALUE"),
        (&["--client", "nope"], "no client `nope`"),
        (&["--config", "/nonexistent/issuer.toml"], "cannot read"),
        (&["--expired", "--expired-by", "3"], "cannot be used with"),
        (
            &["--mutation", "without-scope=write"],
            "which this token does not have",
        ),
        (&["--id-token", "--client-subject"], "cannot be used with"),
    ] {
        let output = run(args);
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn serve_no_admin_leaves_out_the_admin_api() {
    let served = Served::start(&["--port", "0", "--no-admin"]);
    served.banner_line("admin API     disabled");
    let (admin, discovery) = block_on(async {
        let http = http();
        let admin = http
            .get(format!("{}/_forge/", served.url))
            .send()
            .await
            .unwrap();
        let discovery = http
            .get(format!("{}/.well-known/openid-configuration", served.url))
            .send()
            .await
            .unwrap();
        (admin.status(), discovery.status())
    });
    assert_eq!(admin, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(discovery, reqwest::StatusCode::OK);
}

/// `token --server`: minted by the running issuer, so a user added at runtime, the key it signs
/// with after a rotation and the port it took are all in the token; errors are the server's.
#[test]
fn token_server_mints_through_the_running_issuer() {
    let served = Served::start(&["--port", "0", "--admin-token", "s3cret"]);
    let admin = format!("{}/_forge", served.url);
    block_on(async {
        let http = http();
        let added = http
            .put(format!("{admin}/users"))
            .bearer_auth("s3cret")
            .json(&json!({"sub": "7c1e0d4a-9b2f-4e3a-8d5c-6f7a8b9c0d1e", "email": "erin@example.com"}))
            .send()
            .await
            .unwrap();
        assert!(added.status().is_success(), "{:?}", added.text().await);
        let rotated = http
            .post(format!("{admin}/keys/rotate"))
            .bearer_auth("s3cret")
            .json(&json!({"grace_seconds": 60}))
            .send()
            .await
            .unwrap();
        assert!(rotated.status().is_success(), "{:?}", rotated.text().await);
    });
    let url = served.url.clone();
    let server = ["--server", url.as_str(), "--admin-token", "s3cret"];
    let jwt = token(
        &[
            &server[..],
            &["--user", "erin@example.com", "--scope", "read"],
        ]
        .concat(),
    );
    let (header, claims) = decode(&jwt);
    assert_eq!(claims["iss"], served.url.as_str());
    assert_eq!(claims["sub"], "7c1e0d4a-9b2f-4e3a-8d5c-6f7a8b9c0d1e");
    assert_eq!(claims["scope"], "read");
    assert_ne!(
        header["kid"], "forge-rs256",
        "the rotated key signs: {header}"
    );

    let output = run(&["--server", served.url.as_str(), "--admin-token", "wrong"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    let output = run(&[&server[..], &["--user", "nobody@example.com"]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nobody@example.com"), "{stderr}");
    drop(served);
    let output = run(&server);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("cannot reach"),
        "{stderr}"
    );
}
