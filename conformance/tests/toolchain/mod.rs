//! Tests that need a toolchain outside Rust (Node, Chromium), as libtest-mimic trials: without
//! the toolchain a trial is reported as ignored, with the reason in its name, never as passed;
//! under `CI` it runs, and fails on the missing toolchain.

use std::future::Future;

use libtest_mimic::{Failed, Trial};

/// A trial named `name` running `test` on a two-thread runtime, or, when `missing` gives why
/// the toolchain is absent, ignored (locally) or failed with `install` (under `CI`).
pub fn trial<F, Fut>(name: &str, missing: Option<String>, install: &'static str, test: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>>,
{
    let ignored = missing.is_some() && std::env::var_os("CI").is_none();
    let label = match (&missing, ignored) {
        (Some(reason), true) => format!("{name} [skipped: {reason}; {install}]"),
        _ => name.to_owned(),
    };
    Trial::test(label, move || {
        if let Some(reason) = missing {
            return Err(Failed::from(format!(
                "{reason}; CI must {install} before `cargo test`"
            )));
        }
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a runtime: {e}"))?
            .block_on(test())
            .map_err(Failed::from)
    })
    .with_ignored_flag(ignored)
}
