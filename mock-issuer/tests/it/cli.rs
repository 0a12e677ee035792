//! The `oidc-forge` binary: configuration errors, the fixture configuration, and `serve`.

use std::process::{Command, Stdio};
use std::time::Duration;

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
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines_rx = crate::support::lines_of(child.stdout.take().unwrap());
    let mut banner = Vec::new();
    while !banner
        .iter()
        .any(|l: &String| l.contains("bob@example.com"))
    {
        match lines_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => banner.push(line),
            Err(_) => {
                child.kill().unwrap();
                panic!("the banner never listed the users: {banner:?}");
            }
        }
    }
    let url = banner[0]
        .strip_prefix("oidc-forge issuer: ")
        .expect(&banner[0])
        .to_owned();
    assert!(
        banner.iter().any(|l| l.contains("forge-web (confidential")),
        "{banner:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let doc: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("{url}/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(doc["issuer"], url.as_str());
}
