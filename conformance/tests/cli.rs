//! The `check` command, run as a separate process against the client's API example served
//! here over HTTP (which it must pass), and against an application that lets everything
//! through (which must fail, with a non-zero exit and failures in the JUnit file).

use std::path::PathBuf;
use std::process::Output;

use oidc_forge_conformance::apps::{api, web};
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

/// The client's API example, trusting the issuer `check` starts on `port`.
fn api_example_trusting(port: u16) -> axum::Router {
    let settings = api::Settings {
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: env::WEB_CLIENT.0.into(),
        client_secret: Some(env::WEB_CLIENT.1.into()),
    };
    api::app(api::auth(api::client(&settings).unwrap()))
}

/// Serves `app` on a local port of its own: its base URL.
async fn served(app: axum::Router) -> String {
    let (listener, url) = env::bind().await.unwrap();
    env::serve(listener, app);
    url
}

/// Runs `check` against `target` (off the runtime's thread, so the app keeps serving).
async fn check(target: String, port: u16, junit: PathBuf) -> Output {
    check_with(target, port, junit, &[]).await
}

/// [`check`] with more arguments (`--strict`).
async fn check_with(target: String, port: u16, junit: PathBuf, extra: &[&str]) -> Output {
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_oidc-forge-conformance"))
            .args(["check", "--issuer-config", &fixture("issuer.toml")])
            .args(["--target", &target, "--routes", &fixture("routes.toml")])
            .args(["--issuer-port", &port.to_string()])
            .arg("--junit")
            .arg(&junit)
            .args(&extra)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the check finishes")
}

/// The API example with every `WWW-Authenticate` header taken out of its answers, as Fief's
/// Flask example answers `"", 401`: it refuses every hostile token, but not as RFC 6750 says.
async fn without_challenges(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().remove("www-authenticate");
    response
}

/// Issue 15: refusals without a challenge are WARN rows, not FAIL; `check` exits 0 on them,
/// and 1 with `--strict`; the JUnit file has them as passed cases with a note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_without_a_challenge_warn_and_fail_only_when_strict() {
    let port = free_port();
    let url = served(
        api_example_trusting(port).layer(axum::middleware::map_response(without_challenges)),
    )
    .await;
    let junit = junit_path("no-challenge");
    let output = check(url.clone(), port, junit.clone()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let row = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing:\n{stdout}"))
            .to_owned()
    };
    for id in ["B-02", "B-03", "B-06", "B-14"] {
        assert!(row(id).ends_with("WARN"), "{}", row(id));
    }
    assert!(row("B-01").ends_with("PASS"), "{}", row("B-01"));
    assert!(row("B-02").contains("WWW-Authenticate"), "{}", row("B-02"));
    assert!(stdout.contains(" warned, 0 failed, "), "{stdout}");
    assert!(!stdout.contains("\n0 warned"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    let _ = std::fs::remove_file(&junit);
    assert!(xml.contains("<system-out>WARN: "), "{xml}");
    assert!(!xml.contains("<failure "), "{xml}");

    let junit = junit_path("no-challenge-strict");
    let strict = check_with(url, port, junit.clone(), &["--strict"]).await;
    let _ = std::fs::remove_file(&junit);
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(1), "{stdout}");
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
    let url = served(api_example_trusting(port)).await;
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
        stdout.contains(&format!(
            "\n{passed} passed, 0 warned, 0 failed, 1 skipped\n"
        )),
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

/// An app that answers without challenges, as above, but lets a token with no `iss` through:
/// the hole comes after the row's first, merely unshaped, refusals.
async fn no_challenge_and_no_issuer_check(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use base64::Engine as _;
    let claims = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| token.split('.').nth(1))
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok());
    if claims.is_some_and(|claims| claims.get("iss").is_none()) {
        return axum::Json(serde_json::json!({"ok": true})).into_response();
    }
    without_challenges(next.run(request).await).await
}

/// Issue 15: a row runs every case and is graded by its worst, so a warning in an early case
/// never hides a hole in a later one (B-11's `no iss` comes after its unshaped refusals).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_never_hides_a_later_hole_in_the_same_row() {
    let port = free_port();
    let url = served(
        api_example_trusting(port)
            .layer(axum::middleware::from_fn(no_challenge_and_no_issuer_check)),
    )
    .await;
    let junit = junit_path("hidden-hole");
    let output = check(url, port, junit.clone()).await;
    let _ = std::fs::remove_file(&junit);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let b11 = stdout
        .lines()
        .find(|l| l.starts_with("B-11"))
        .unwrap_or_else(|| panic!("B-11 missing:\n{stdout}"));
    assert!(b11.ends_with("FAIL") && b11.contains("no iss"), "{b11}");
    // Rows with only unshaped refusals stay WARN.
    let b02 = stdout.lines().find(|l| l.starts_with("B-02")).unwrap();
    assert!(b02.ends_with("WARN"), "{b02}");
}

/// Issue 15: an app that is not running, or a route it does not have, is a usage error said
/// in one sentence (exit 2), not rows of `setup failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_is_not_there_or_a_missing_route_is_a_usage_error() {
    let port = free_port();
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let output = check(nobody.clone(), port, junit_path("nobody")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("nothing listens at {nobody}: is the app running?")),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no table");

    let (listener, url) = env::bind().await.unwrap();
    env::serve(listener, axum::Router::new());
    let output = check(url.clone(), port, junit_path("no-routes")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{url}/"))
            && stderr.contains("answers 404 to a GET with a valid token"),
        "{stderr}"
    );
}

/// An app that refuses even the valid token (it trusts another issuer, say) is a usage error
/// too: every row would fail for a reason that is no finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_refuses_the_valid_token_is_a_usage_error() {
    let port = free_port();
    let url = served(axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
        )
    }))
    .await;
    let junit = junit_path("refuses-all");
    let output = check(url, port, junit.clone()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // The JUnit file says so too, for a gate that reads only it.
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    let _ = std::fs::remove_file(&junit);
    assert!(
        xml.contains("errors=\"1\"") && xml.contains("refuses a valid token"),
        "{xml}"
    );
    assert!(
        stderr.contains("refuses a valid token from http://127.0.0.1:")
            && stderr.contains("does the app trust this issuer"),
        "{stderr}"
    );
}

/// `--report`: each row that did not pass, with every case's token decoded and the answer
/// as it came back; the rows that passed are not in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_file_shows_what_was_sent_and_what_came_back() {
    let port = free_port();
    let url = served(
        api_example_trusting(port).layer(axum::middleware::map_response(without_challenges)),
    )
    .await;
    let report = junit_path("report").with_extension("md");
    let arguments = ["--report", report.to_str().unwrap()];
    let output = check_with(url, port, junit_path("report-junit"), &arguments).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let markdown = std::fs::read_to_string(&report).expect("the report is written");
    let _ = std::fs::remove_file(&report);
    // B-06: an expired token, refused without a challenge.
    let b06 = markdown
        .split("\n## ")
        .find(|section| section.starts_with("B-06 "))
        .unwrap_or_else(|| panic!("B-06 missing:\n{markdown}"));
    for part in [
        ": WARN\n",
        "- clause: ",
        "### Case 1\n",
        "Sent:\n\n```text\nGET http://127.0.0.1:",
        "Token:",
        "\"alg\": \"RS256\"",
        "\"iss\": \"http://127.0.0.1:",
        "\"exp\": ",
        "Got: 401",
        "Body:",
    ] {
        assert!(b06.contains(part), "{part:?} in B-06's section:\n{b06}");
    }
    assert!(!markdown.contains("\n## B-01 "), "a passed row is left out");
    assert!(markdown.contains(" warned, 0 failed, "), "{markdown}");
}

/// `check --web` on the client's web example, which trusts the issuer `check` starts from the
/// embedded default configuration (no `--issuer-config`), as fixtures/conformance/web.toml
/// describes it: every web row passes, and the report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_web_passes_the_clients_web_example() {
    let port = free_port();
    let (listener, url) = env::bind().await.unwrap();
    let settings = web::Settings {
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: env::WEB_CLIENT.0.into(),
        client_secret: Some(env::WEB_CLIENT.1.into()),
        app_url: url.clone(),
        secure_cookies: false,
        cookie_key: None,
    };
    let flow = web::flow(&settings, web::client(&settings).unwrap()).unwrap();
    env::serve(listener, web::app(flow));
    let report = junit_path("web-report").with_extension("md");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_oidc-forge-conformance"))
            .args(["check", "--web", "--target", &url])
            .args(["--routes", &fixture("web.toml")])
            .args(["--issuer-port", &port.to_string()])
            .arg("--report")
            .arg(&report)
            .output()
            .map(|output| (output, report))
    })
    .await
    .unwrap()
    .expect("the binary runs");
    let (output, report) = output;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = oidc_forge_conformance::runner::web_app::ROWS.len();
    assert!(
        stdout.contains(&format!("\n{rows} passed, 0 warned, 0 failed, 0 skipped\n")),
        "{stdout}"
    );
    let markdown = std::fs::read_to_string(&report).expect("the report is written");
    let _ = std::fs::remove_file(&report);
    assert!(
        !markdown.contains("\n## "),
        "nothing to report:\n{markdown}"
    );
}

/// `--web` needs a [web] table; a routes file with neither routes nor one is refused.
#[test]
fn check_web_without_a_web_table_is_a_usage_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-forge-conformance"))
        .args(["check", "--web", "--target", "http://127.0.0.1:9"])
        .args(["--routes", &fixture("routes.toml")])
        .args(["--issuer-port", &free_port().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--web needs a [web] table"), "{stderr}");
}
