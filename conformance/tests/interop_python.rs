//! The Python integrations users write today, unchanged, against the issuer's embedded default
//! configuration: Fief's Flask and FastAPI examples (fief-client) and FusionAuth's Flask
//! quickstart (Authlib), from the documents in `shared/seeds/`, copied into
//! `conformance/python/apps/` and driven by `conformance/python/drive.py` as a browser would.
//!
//! The issuer runs in-process on 127.0.0.1 port 0 with `Config::default()` (what `oidc-forge
//! serve` serves without `--config`); drive.py gets its URL in `OIDC_FORGE_URL`. It checks the
//! code flow, fief-client's and Authlib's ID-token and access-token validation, UserInfo and the
//! apps' userinfo caches, refresh, the permission and scope checks (403), and logout.
//!
//! Needs `conformance/python/.venv` (`bash .ci/install-python`). Without it the test is reported
//! as ignored, with the reason in its name, except when `CI` is set: there it fails.

#[path = "toolchain/mod.rs"]
mod toolchain;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use oidc_forge::MockIssuer;
use oidc_forge::config::Config;

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

fn venv_python() -> PathBuf {
    python_dir().join(".venv/bin/python")
}

/// `Some(reason)` when the venv is missing or lacks the seeds' client libraries.
fn missing_toolchain() -> Option<String> {
    let python = venv_python();
    if !python.is_file() {
        return Some(format!("{} is missing", python.display()));
    }
    match Command::new(&python)
        .args(["-c", "import fief_client, authlib"])
        .output()
    {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "{} cannot import fief_client and authlib: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Some(format!("{} cannot run: {error}", python.display())),
    }
}

fn main() {
    let arguments = libtest_mimic::Arguments::from_args();
    let trials = vec![
        toolchain::trial(
            "fief_and_fusionauth_python_apps_run_unchanged_against_the_default_configuration",
            missing_toolchain(),
            "run `bash .ci/install-python`",
            seeds_run_unchanged,
        ),
        toolchain::trial(
            "check_web_grades_fiefs_flask_web_example_by_what_it_really_does",
            missing_toolchain(),
            "run `bash .ci/install-python`",
            check_web_grades_the_flask_web_example,
        ),
    ];
    libtest_mimic::run(&arguments, trials).exit();
}

/// The issuer on 127.0.0.1 port 0 with the embedded default configuration.
async fn default_issuer() -> Result<MockIssuer, String> {
    MockIssuer::builder()
        .config(Config::default())
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .start()
        .await
        .map_err(|error| format!("cannot start the issuer: {error}"))
}

async fn seeds_run_unchanged() -> Result<(), String> {
    let issuer = default_issuer().await?;
    let url = issuer.url().to_owned();
    // drive.py blocks for its whole run: off the runtime's threads, which serve the issuer.
    let run = tokio::task::spawn_blocking(move || {
        Command::new(venv_python())
            // -B: no __pycache__ in the work tree; -X dev: warnings and leaks shown.
            .args(["-B", "-X", "dev"])
            .arg(python_dir().join("drive.py"))
            .env("OIDC_FORGE_URL", &url)
            .output()
    })
    .await;
    issuer.shutdown().await;
    let output = run
        .map_err(|error| format!("the drive.py task failed: {error}"))?
        .map_err(|error| format!("cannot run {}: {error}", venv_python().display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "drive.py exited with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `check --web` against Fief's Flask web example (seed 000/001's `fief_flask_web.py`, served by
/// `conformance/python/serve.py` as its document runs it): the rows it really fails are FAIL.
/// Its login sends no state, no nonce and no PKCE, and its callback checks nothing but the
/// code, so an attacker's callback signs the victim in (login CSRF, code injection); its
/// session cookie is the access token itself.
async fn check_web_grades_the_flask_web_example() -> Result<(), String> {
    use oidc_forge_conformance::run;
    use oidc_forge_conformance::web_target::{WebSettings, WebTarget};
    use std::sync::Arc;

    let issuer = default_issuer().await?;
    let issuer = Arc::new(issuer);
    let mut app = Served(
        Command::new(venv_python())
            .arg("-B")
            .arg(python_dir().join("serve.py"))
            .args(["fief_flask_web", issuer.url(), "0"])
            .stdout(std::process::Stdio::piped())
            // Its request log and tracebacks are the app's; the table says what they meant.
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run serve.py: {error}"))?,
    );
    let stdout = app.0.stdout.take().ok_or("serve.py has no stdout")?;
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    })
    .await
    .map_err(|error| error.to_string())?
    .map_err(|error| format!("serve.py did not say its URL: {error}"))?
    .trim()
    .to_owned();
    // fief-client's HTTP client gives up after 5 s: within the 8 s bound.
    let settings: WebSettings = toml::from_str(
        "protected = \"/protected\"\nredirect_uri = \"/auth-callback\"\ntimeout = 8",
    )
    .map_err(|error| error.to_string())?;
    let target = WebTarget::new(url, settings, Some("forge-web"), None, issuer.clone())
        .await
        .map_err(|failure| failure.to_string())?;
    let records = run::against_web(Arc::new(target)).await;
    drop(app);
    let table = oidc_forge_conformance::check::table(&records);
    println!("{table}");
    let grades: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.scenario.id, r.verdict.label()))
        .collect();
    // What the example really does, row by row: no state, nonce or PKCE in its login; an
    // attacker's callback or code signs the victim in (C-03, D-25, D-26); a spent, refused or
    // forged code or ID token raises an exception that Flask answers with 500 (C-04, C-08,
    // C-10, C-12); the callback's iss is not read (C-07); the cookie is the access token, with
    // no SameSite (C-15). access_denied is a KeyError on `code`, which Flask answers 400 (C-05).
    let expected = [
        ("C-01", "FAIL"),
        ("C-03", "FAIL"),
        ("C-04", "FAIL"),
        ("C-05", "PASS"),
        ("C-07", "WARN"),
        ("C-08", "FAIL"),
        ("C-09", "SKIP"),
        ("C-10", "FAIL"),
        ("C-12", "FAIL"),
        ("C-15", "WARN"),
        ("C-18", "SKIP"),
        ("C-22", "SKIP"),
        ("D-25", "FAIL"),
        ("D-26", "FAIL"),
    ];
    // Code injection both ways: no PKCE and no nonce stop either (RFC 9700 4.5).
    let d25 = records
        .iter()
        .find(|r| r.scenario.id == "D-25")
        .map_or("", |r| r.verdict.detail());
    let injected_both_ways = [
        "the attacker's code in the victim's login",
        "the victim's code in the attacker's login",
    ]
    .iter()
    .all(|case| d25.contains(case));
    if grades != expected || table.contains("setup failed") || !injected_both_ways {
        return Err(format!("expected {expected:?}, got:\n{table}\nD-25: {d25}"));
    }
    Ok(())
}

/// A served app, ended when dropped (also when the test fails half-way).
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
