//! Every row of the catalogue as its own test, named after it (`A-03 happy code flow`),
//! iterated from the table so a row can never be forgotten: in-process rows start their own
//! issuer and apps on 127.0.0.1 port 0, so the tests run in parallel; rows that cannot apply
//! are listed as ignored with the reason in the table.

use libtest_mimic::{Arguments, Failed, Trial};
use oidc_forge_conformance::catalogue::SCENARIOS;
use oidc_forge_conformance::run;

fn main() {
    let arguments = Arguments::from_args();
    let trials = SCENARIOS
        .iter()
        .map(|scenario| {
            // A row that cannot apply says why in its name, so `cargo test` shows the reason.
            let name = match scenario.not_applicable() {
                Some(why) => format!("{} [not applicable: {why}]", scenario.name()),
                None => scenario.name(),
            };
            let trial = Trial::test(name, move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Failed::from(format!("cannot build a runtime: {e}")))?;
                runtime
                    .block_on(run::in_process(scenario))
                    .map(|_| ())
                    .map_err(|failure| {
                        Failed::from(format!(
                            "{}\n  expected: {}\n  clause: {}",
                            failure, scenario.expected, scenario.clause
                        ))
                    })
            })
            .with_kind(scenario.group().title());
            trial.with_ignored_flag(scenario.not_applicable().is_some())
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
