//! The `check` command, run as a separate process against the client's API example served
//! here over HTTP (which it must pass), and against an application that lets everything
//! through (which must fail, with a non-zero exit and failures in the JUnit file).

use std::path::PathBuf;
use std::process::Output;

use oidc_forge_conformance::apps::api;
use oidc_forge_conformance::catalogue::SCENARIOS;
use oidc_forge_conformance::env;

fn fixture(name: &str) -> String {
    format!(
        "{}/../fixtures/conformance/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A port free right now, for the issuer `check` starts (the app must know the issuer URL
/// before the issuer exists; discovery is lazy, so it is only used at the first request).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `check` against `target` (off the runtime's thread, so the app keeps serving).
async fn check(target: String, port: u16, junit: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_oidc-forge-conformance"))
            .args(["check", "--issuer-config", &fixture("issuer.toml")])
            .args(["--target", &target, "--routes", &fixture("routes.toml")])
            .args(["--issuer-port", &port.to_string()])
            .arg("--junit")
            .arg(&junit)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the check finishes")
}

fn junit_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "oidc-forge-conformance-{name}-{}-{}.xml",
        std::process::id(),
        free_port()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_example_passes_every_portable_scenario() {
    let port = free_port();
    let settings = api::Settings {
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: env::WEB_CLIENT.0.into(),
        client_secret: Some(env::WEB_CLIENT.1.into()),
    };
    let (listener, url) = env::bind().await.unwrap();
    env::serve(
        listener,
        api::app(api::auth(api::client(&settings).unwrap())),
    );
    let junit = junit_path("example");
    let output = check(url, port, junit.clone()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let portable: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| s.runs_against_any_app())
        .collect();
    assert!(stdout.starts_with("scenario"), "{stdout}");
    for scenario in &portable {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(scenario.id))
            .unwrap_or_else(|| panic!("{} missing from the table:\n{stdout}", scenario.id));
        // D-14 needs an app whose key refetch it can trigger on demand: skipped for any app.
        let expected = if scenario.id == "D-14" {
            "SKIP"
        } else {
            "PASS"
        };
        assert!(line.ends_with(expected), "{line}");
    }
    let passed = portable.len() - 1;
    assert!(
        stdout.contains(&format!("\n{passed} passed, 0 failed, 1 skipped\n")),
        "{stdout}"
    );

    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    let _ = std::fs::remove_file(&junit);
    assert!(
        xml.contains(&format!(
            "<testsuites name=\"oidc-forge-conformance\" tests=\"{}\" failures=\"0\" errors=\"0\" skipped=\"1\">",
            portable.len()
        )),
        "{xml}"
    );
    assert!(xml.contains("<testcase classname=\"oidc-forge-conformance.B\" name=\"B-01 valid token with scope and permission\">"));
    assert_eq!(xml.matches("<testcase ").count(), portable.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_lets_everything_through_fails_with_a_non_zero_exit() {
    let port = free_port();
    let (listener, url) = env::bind().await.unwrap();
    env::serve(
        listener,
        axum::Router::new().fallback(|| async { axum::Json(serde_json::json!({"ok": true})) }),
    );
    let junit = junit_path("permissive");
    let output = check(url, port, junit.clone()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for id in ["B-02", "B-06", "B-11", "B-14", "D-01", "D-03", "D-07"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing:\n{stdout}"));
        assert!(line.ends_with("FAIL"), "{line}");
    }
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    let _ = std::fs::remove_file(&junit);
    assert!(
        !xml.contains("failures=\"0\" errors=\"0\" skipped=\"1\">\n  <testsuite"),
        "{xml}"
    );
    assert!(xml.contains("<failure message="), "{xml}");
}

#[test]
fn a_bad_routes_file_is_a_usage_error() {
    let routes = std::env::temp_dir().join(format!("routes-{}.toml", std::process::id()));
    std::fs::write(&routes, "[[route]]\npath = \"no-slash\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-forge-conformance"))
        .args(["check", "--issuer-config", &fixture("issuer.toml")])
        .args(["--target", "http://127.0.0.1:9", "--routes"])
        .arg(&routes)
        .args(["--issuer-port", &free_port().to_string()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&routes);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("must start with `/`"), "{stderr}");
}
