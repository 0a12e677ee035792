//! The `oidc-forge` binary: configuration errors, the fixture configuration, and `serve`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Served, block_on, http};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-forge");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/issuer.toml");

#[test]
fn the_fixture_configuration_is_valid() {
    let output = Command::new(BIN)
        .args(["check-config", "--config", FIXTURE])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = oidc_forge::Config::load(FIXTURE).unwrap();
    assert!(
        config.keys.len() >= 3,
        "the fixture exercises every key type"
    );
}

#[test]
fn a_config_error_names_the_file_the_key_and_the_expectation() {
    let dir = std::env::temp_dir().join(format!("oidc-forge-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    let text = oidc_forge::config::DEFAULT_CONFIG_TOML
        .replace("email_verified = false", "email_verified = \"no\"");
    std::fs::write(&file, text).unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("users[1].email_verified"), "{stderr}");
    assert!(
        stderr.contains("expected a boolean") || stderr.contains("invalid type"),
        "{stderr}"
    );

    let output = Command::new(BIN)
        .args(["serve", "--port", "0", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "serve refuses a bad configuration"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_prints_the_issuer_and_answers_discovery() {
    let served = Served::start(&["--port", "0"]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    served.banner_line("forge-web (confidential");
    let doc = discovery(&served.url, &http());
    assert_eq!(doc["issuer"], served.url.as_str());
}

async fn fetch_discovery(url: &str, http: &reqwest::Client) -> Value {
    http.get(format!("{url}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn discovery(url: &str, http: &reqwest::Client) -> Value {
    block_on(fetch_discovery(url, http))
}

/// The port trap: a configuration naming `http://127.0.0.1:9000`, served on another port, must
/// not hand out that identifier (Discovery 4.3: `issuer` is where the document was fetched).
#[test]
fn a_loopback_issuer_takes_the_port_bound_and_says_so() {
    let served = Served::start(&["--config", FIXTURE, "--port", "0"]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    assert_ne!(served.url, "http://127.0.0.1:9000");
    let note = served.banner_line("the configuration says");
    assert!(
        note.contains("http://127.0.0.1:9000") && note.contains("--issuer-url"),
        "{note}"
    );
    let doc = discovery(&served.url, &http());
    assert_eq!(doc["issuer"], served.url.as_str());
    assert_eq!(doc["token_endpoint"], format!("{}/api/token", served.url));

    // --issuer-url is taken as given (a proxy or a port mapping in front).
    let served = Served::start(&["--port", "0", "--issuer-url", "http://localhost:9999"]);
    assert_eq!(served.url, "http://localhost:9999");
    assert!(
        !served
            .banner
            .iter()
            .any(|l| l.contains("the configuration says"))
    );
}

/// Without --port, a loopback issuer's own port is bound.
#[test]
fn without_a_port_the_configured_loopback_port_is_bound() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let dir = std::env::temp_dir().join(format!("oidc-forge-port-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("issuer.toml");
    let text = oidc_forge::config::DEFAULT_CONFIG_TOML.replacen(
        "[login]",
        &format!("issuer = \"http://localhost:{port}\"\n\n[login]"),
        1,
    );
    std::fs::write(&file, text).unwrap();
    let served = Served::start(&["--config", file.to_str().unwrap()]);
    assert_eq!(served.url, format!("http://localhost:{port}"));
    assert_eq!(
        served.banner_line("listening on").trim(),
        format!("listening on  127.0.0.1:{port}")
    );
    drop(served);
    // An IP literal is the address too (review 13 F5): served where discovery says.
    let text = oidc_forge::config::DEFAULT_CONFIG_TOML.replacen(
        "[login]",
        &format!("issuer = \"http://127.0.0.2:{port}\"\n\n[login]"),
        1,
    );
    std::fs::write(&file, text).unwrap();
    let served = Served::start(&["--config", file.to_str().unwrap()]);
    assert_eq!(
        served.banner_line("listening on").trim(),
        format!("listening on  127.0.0.2:{port}")
    );
    let doc = discovery(&served.url, &http());
    assert_eq!(doc["issuer"], format!("http://127.0.0.2:{port}"));
    drop(served);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--tls`: https with a CA made at start, written where the banner says; clients that trust
/// it connect, others are refused, and the login cookies are `Secure`.
#[test]
fn serve_tls_writes_its_authority_and_serves_https() {
    let dir = std::env::temp_dir().join(format!("oidc-forge-tls-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let ca_arg = ca_file.to_str().unwrap();
    let served = Served::start(&["--port", "0", "--tls", "--tls-ca-file", ca_arg]);
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );
    assert!(
        served.banner_line("TLS CA").contains(ca_arg),
        "the chosen file"
    );
    let pem = std::fs::read(&ca_file).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let doc = discovery(&served.url, &trusting);
    assert_eq!(doc["issuer"], served.url.as_str());
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{}/authorize", served.url)
    );
    block_on(async {
        let untrusting = http().get(format!("{}/healthz", served.url)).send().await;
        assert!(untrusting.is_err(), "an unknown CA is refused");
        let authorize = trusting
            .get(format!("{}/authorize", served.url))
            .query(&[
                ("client_id", "forge-web"),
                ("redirect_uri", "http://localhost:8000/auth-callback"),
                ("response_type", "code"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(authorize.status(), reqwest::StatusCode::FOUND);
        let cookie = authorize.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("; Secure"), "{cookie}");
    });
    drop(served);

    // The default file (review 13 S1): new for this start, and gone after Ctrl-C.
    let mut served = Served::start(&["--port", "0", "--tls"]);
    let default_file = served
        .banner_line("TLS CA")
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_owned();
    assert!(
        default_file.ends_with(&format!("-{}.pem", served.pid())),
        "{default_file}"
    );
    assert!(Path::new(&default_file).is_file());
    served.interrupt("INT");
    assert!(
        !Path::new(&default_file).exists(),
        "{default_file} removed at shutdown"
    );
    // SIGTERM (`docker stop`) shuts down as cleanly.
    let mut served = Served::start(&["--port", "0", "--tls"]);
    let default_file = served
        .banner_line("TLS CA")
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_owned();
    served.interrupt("TERM");
    assert!(
        !Path::new(&default_file).exists(),
        "{default_file} removed at SIGTERM"
    );

    // --tls-cert/--tls-key: the caller's files.
    let identity = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.signing_key.serialize_pem()).unwrap();
    let served = Served::start(&[
        "--port",
        "0",
        "--issuer-url",
        "https://localhost:1",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(!served.banner.iter().any(|l| l.contains("TLS CA")));
    let port = served
        .banner_line("listening on")
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(identity.cert.pem().as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let health = block_on(async {
        trusting
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(health, reqwest::StatusCode::OK);
    drop(served);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Logs to a pipe carry no terminal escapes; `--log-format json` writes one object a line.
#[test]
fn logs_are_plain_in_a_pipe_and_json_when_asked() {
    let served = Served::start(&["--port", "0"]);
    discovery(&served.url, &http());
    let logs = served.logs(1);
    assert!(logs.iter().any(|l| l.contains("status=200")), "{logs:?}");
    assert!(!logs.iter().any(|l| l.contains('\u{1b}')), "{logs:?}");
    drop(served);

    let served = Served::start(&["--port", "0", "--log-format", "json"]);
    discovery(&served.url, &http());
    let logs = served.logs(1);
    for line in &logs {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            entry["timestamp"].is_string() && entry["level"].is_string(),
            "{line}"
        );
    }
    assert!(
        logs.iter().any(|l| l.contains(r#""status":200"#)),
        "{logs:?}"
    );
}
