//! Executing scenarios: in process (every group, each scenario with a fresh issuer and app),
//! or against an API target (groups B and D, for the `check` command), into [`Record`]s that
//! the test harness, the table, the JUnit file and the report all read.

use std::sync::Arc;

use crate::catalogue::SCENARIOS;
use crate::evidence::Evidence;
use crate::scenario::{Failure, IdTokenHalf, Outcome, Runner, Scenario, graded_with_evidence};
use crate::target::ApiTarget;
use crate::web_target::WebTarget;

/// The verdict of one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// It passed; what was observed.
    Pass(String),
    /// It failed; why: the application accepted what it must refuse, crashed, or leaked.
    Fail(String),
    /// It refused, but not as the RFC says; why (the `check` command only).
    Warn(String),
    /// The target lacks what it needs (the `check` command only).
    Skipped(String),
    /// The row cannot apply; why.
    NotApplicable(&'static str),
}

impl Verdict {
    /// `PASS`, `WARN`, `FAIL`, `SKIP`, `N/A`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Pass(_) => "PASS",
            Verdict::Fail(_) => "FAIL",
            Verdict::Warn(_) => "WARN",
            Verdict::Skipped(_) => "SKIP",
            Verdict::NotApplicable(_) => "N/A",
        }
    }

    /// The "got" column: the observation, the failure, or the reason.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Pass(text)
            | Verdict::Fail(text)
            | Verdict::Warn(text)
            | Verdict::Skipped(text) => text,
            Verdict::NotApplicable(why) => why,
        }
    }

    /// Whether it counts as a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::Fail(_))
    }

    /// Whether it is a warning: refused, but not as the RFC says.
    pub fn is_warning(&self) -> bool {
        matches!(self, Verdict::Warn(_))
    }

    fn from_outcome(outcome: Outcome) -> Self {
        match outcome {
            Ok(pass) => Verdict::Pass(pass.observed),
            Err(Failure::Skipped(why)) => Verdict::Skipped(why),
            Err(Failure::Warning(why)) => Verdict::Warn(why),
            Err(failure) => Verdict::Fail(failure.to_string()),
        }
    }
}

/// A secret shorter than this is not redacted: it would garble the text, and a client secret
/// that short is no secret.
const MIN_REDACTED: usize = 8;

/// `text` with each of `secrets`, as sent and form-urlencoded, replaced by `[redacted]`.
pub fn redacted(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= MIN_REDACTED) {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for form in [secret.as_str(), encoded.as_str()] {
            if text.contains(form) {
                text = text.replace(form, "[redacted]");
            }
        }
    }
    text
}

/// A scenario and its verdict.
#[derive(Debug, Clone)]
pub struct Record {
    /// The row.
    pub scenario: &'static Scenario,
    /// What happened.
    pub verdict: Verdict,
    /// What each case that did not pass sent and got back (`check` only; empty in process).
    pub evidence: Vec<Evidence>,
}

impl Record {
    /// Replaces each of `secrets` (a client secret an app echoed) with `[redacted]` wherever
    /// the record holds text from the app.
    pub fn redact(&mut self, secrets: &[String]) {
        let scrub = |text: &mut String| {
            if secrets.iter().any(|secret| text.contains(secret.as_str())) || text.contains('%') {
                *text = redacted(text, secrets);
            }
        };
        match &mut self.verdict {
            Verdict::Pass(text)
            | Verdict::Fail(text)
            | Verdict::Warn(text)
            | Verdict::Skipped(text) => scrub(text),
            Verdict::NotApplicable(_) => {}
        }
        for evidence in &mut self.evidence {
            scrub(&mut evidence.finding);
            if let Some(exchange) = &mut evidence.exchange {
                scrub(&mut exchange.url);
                scrub(&mut exchange.body);
                if let Some(authorization) = &mut exchange.authorization {
                    scrub(authorization);
                }
                for (_, value) in &mut exchange.headers {
                    scrub(value);
                }
            }
        }
    }

    /// A record without evidence.
    pub fn new(scenario: &'static Scenario, verdict: Verdict) -> Self {
        Self {
            scenario,
            verdict,
            evidence: Vec::new(),
        }
    }
}

/// Runs a scenario in process: A and C against fresh in-process servers, B and D against a
/// fresh in-process API example. A skip is a failure here: the in-process targets provide
/// everything every row needs.
pub async fn in_process(scenario: &Scenario) -> Outcome {
    crate::scenario::graded(run_in_process(scenario))
        .await
        .map_err(|failure| match failure {
            Failure::Skipped(why) => Failure::mismatch(format!(
                "the in-process target must provide everything, but the scenario skipped: {why}"
            )),
            other => other,
        })
}

async fn run_in_process(scenario: &Scenario) -> Outcome {
    match scenario.runner {
        Runner::InProcess(run) => run().await,
        Runner::Api(run) => run(Arc::new(ApiTarget::api_example().await?)).await,
        Runner::Token { access, id_token } => {
            let access = access(Arc::new(ApiTarget::api_example().await?)).await?;
            let id_token = match id_token {
                IdTokenHalf::Run(run) => run().await?.observed,
                IdTokenHalf::NotApplicable(why) => format!("n/a ({why})"),
            };
            Ok(crate::scenario::Pass::new(format!(
                "access token: {}; ID token: {id_token}",
                access.observed
            )))
        }
        Runner::NotApplicable(why) => Err(Failure::setup(format!("not applicable: {why}"))),
    }
}

/// Runs every scenario in process, one after the other, for the report.
pub async fn all_in_process() -> Vec<Record> {
    let mut records = Vec::with_capacity(SCENARIOS.len());
    for scenario in SCENARIOS {
        let verdict = match scenario.runner {
            Runner::NotApplicable(why) => Verdict::NotApplicable(why),
            _ => Verdict::from_outcome(in_process(scenario).await),
        };
        records.push(Record::new(scenario, verdict));
    }
    records
}

/// Runs the rows that apply to any application (B and the access-token half of D) against
/// `target`, in catalogue order.
pub async fn against(target: Arc<ApiTarget>) -> Vec<Record> {
    let mut records = Vec::new();
    for scenario in SCENARIOS.iter().filter(|s| s.runs_against_any_app()) {
        let (outcome, evidence) = match scenario.runner {
            Runner::Api(run) => graded_with_evidence(run(target.clone())).await,
            Runner::Token { access, .. } => graded_with_evidence(access(target.clone())).await,
            _ => continue,
        };
        records.push(Record {
            scenario,
            verdict: Verdict::from_outcome(outcome),
            evidence,
        });
    }
    records
}

/// How many answer bounds (`[web] timeout`) one web row may take in all: the longest row, C-08,
/// waits out one bound, and every other request of a row is answered in milliseconds.
const ROW_DEADLINE_IN_TIMEOUTS: u32 = 12;

/// Runs the black-box web rows against `target`, in catalogue order.
pub async fn against_web(target: Arc<WebTarget>) -> Vec<Record> {
    let mut records = Vec::new();
    for row in crate::runner::web_app::ROWS {
        let Some(scenario) = crate::catalogue::find(row.id) else {
            continue;
        };
        // Each answer is bounded; so is the row, or an app answering just in time to each of
        // a row's requests could hold the check for hours.
        let deadline = target.timeout() * ROW_DEADLINE_IN_TIMEOUTS;
        let (outcome, evidence) =
            match tokio::time::timeout(deadline, graded_with_evidence((row.run)(target.clone())))
                .await
            {
                Ok(graded) => graded,
                Err(_) => (
                    Err(Failure::mismatch(format!(
                        "the row did not end within {} s: the app answers too slowly to be checked",
                        deadline.as_secs()
                    ))),
                    Vec::new(),
                ),
            };
        // A fault or an edit a row left when it was cut off must not reach the next row.
        target.issuer.faults().clear();
        target.issuer.clear_token_response_edits();
        records.push(Record {
            scenario,
            verdict: Verdict::from_outcome(outcome),
            evidence,
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Pass;

    #[test]
    fn a_secret_the_app_echoed_is_redacted_everywhere() {
        use crate::evidence::{Evidence, Exchange};
        let secret = "s3cret+pa$$word";
        let encoded = "s3cret%2Bpa%24%24word";
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "location",
            format!("http://a/?s={encoded}").parse().unwrap(),
        );
        let mut record = Record {
            scenario: crate::catalogue::find("C-01").unwrap(),
            verdict: Verdict::Fail(format!("the URL carries {secret}")),
            evidence: vec![Evidence {
                finding: format!("{secret} in the URL"),
                exchange: Some(Exchange::new(
                    "GET",
                    &format!("http://a/?client_secret={encoded}"),
                    Some(&format!("Basic {secret}")),
                    302,
                    &headers,
                    &format!("body {secret}"),
                )),
            }],
        };
        record.redact(&[secret.to_owned(), String::new(), "short".to_owned()]);
        let shown = format!("{record:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(shown.matches("[redacted]").count(), 6, "{shown}");
        // A secret under eight characters would garble the text: left alone.
        assert_eq!(redacted("a short b", &["short".to_owned()]), "a short b");
    }

    #[test]
    fn every_web_row_is_a_catalogue_row_in_order() {
        let ids: Vec<&str> = crate::runner::web_app::ROWS.iter().map(|r| r.id).collect();
        for id in &ids {
            assert!(crate::catalogue::find(id).is_some(), "{id}");
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted, "in catalogue order, once each");
    }

    #[test]
    fn each_outcome_has_its_grade() {
        let grade = |outcome: Outcome| Verdict::from_outcome(outcome).label();
        assert_eq!(grade(Ok(Pass::new("200"))), "PASS");
        assert_eq!(grade(Err(Failure::warning("refused with 400"))), "WARN");
        assert_eq!(grade(Err(Failure::mismatch("accepted with 200"))), "FAIL");
        assert_eq!(grade(Err(Failure::setup("no server"))), "FAIL");
        assert_eq!(grade(Err(Failure::skipped("no route"))), "SKIP");
        let warned = Verdict::from_outcome(Err(Failure::warning("no challenge")));
        assert!(warned.is_warning() && !warned.is_failure());
        assert_eq!(warned.detail(), "no challenge");
    }
}
