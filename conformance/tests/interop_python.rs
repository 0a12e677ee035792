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
    let trials = vec![toolchain::trial(
        "fief_and_fusionauth_python_apps_run_unchanged_against_the_default_configuration",
        missing_toolchain(),
        "run `bash .ci/install-python`",
        seeds_run_unchanged,
    )];
    libtest_mimic::run(&arguments, trials).exit();
}

async fn seeds_run_unchanged() -> Result<(), String> {
    let issuer = MockIssuer::builder()
        .config(Config::default())
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .start()
        .await
        .map_err(|error| format!("cannot start the issuer: {error}"))?;
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
