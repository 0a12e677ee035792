//! What a scenario is, what running one yields, and the small assertion toolkit the runners use.
//!
//! Runners never panic to report a finding: they return a [`Failure`] that says what was
//! expected and what was observed, so the same code serves `cargo test`, the CLI's table and
//! JUnit file, and the markdown report.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::target::ApiTarget;

/// A boxed future, the return type of every runner function.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a runner returns.
pub type Outcome = Result<Pass, Failure>;

/// A runner that starts everything it needs in-process (issuer, web example app).
pub type InProcessFn = fn() -> BoxFuture<Outcome>;

/// A runner that drives an API target: the in-process API example under `cargo test`, or any
/// application with the `check` command.
pub type ApiFn = fn(Arc<ApiTarget>) -> BoxFuture<Outcome>;

/// One row of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The catalogue's id, e.g. `A-03`.
    pub id: &'static str,
    /// A short title, e.g. `happy code flow`.
    pub title: &'static str,
    /// The spec clause, checked against the text where the specs are at hand.
    pub clause: &'static str,
    /// The OpenID Foundation certification test id, when there is one.
    pub oidf: Option<&'static str>,
    /// What the scenario does.
    pub does: &'static str,
    /// The expected outcome.
    pub expected: &'static str,
    /// The code that runs it, or why it cannot apply.
    pub runner: Runner,
}

impl Scenario {
    /// `A-03 happy code flow`: the test name.
    pub fn name(&self) -> String {
        format!("{} {}", self.id, self.title)
    }

    /// The group, from the id's letter.
    pub fn group(&self) -> Group {
        Group::of(self.id)
    }

    /// Whether the `check` command can run it against an application in any language.
    pub fn runs_against_any_app(&self) -> bool {
        matches!(self.runner, Runner::Api(_) | Runner::Token { .. })
    }

    /// Why it does not apply, if it does not.
    pub fn not_applicable(&self) -> Option<&'static str> {
        match self.runner {
            Runner::NotApplicable(why) => Some(why),
            _ => None,
        }
    }
}

/// How a scenario runs.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Runner {
    /// Starts the in-process issuer (and the web example app) itself: groups A and C.
    InProcess(InProcessFn),
    /// Drives an API target: group B.
    Api(ApiFn),
    /// A forgery run twice: against the access token of an API target (any app), and against
    /// the ID token of the in-process web flow.
    Token {
        /// The access-token half.
        access: ApiFn,
        /// The ID-token half, or why the forgery has no ID-token form.
        id_token: IdTokenHalf,
    },
    /// The row cannot apply to this issuer and client; the reason is printed in the report.
    NotApplicable(&'static str),
}

/// The ID-token half of a forgery scenario.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum IdTokenHalf {
    /// Runs in-process through the web example's login.
    Run(InProcessFn),
    /// The forgery has no meaning for ID tokens.
    NotApplicable(&'static str),
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Runner::InProcess(_) => f.write_str("InProcess"),
            Runner::Api(_) => f.write_str("Api"),
            Runner::Token { id_token, .. } => match id_token {
                IdTokenHalf::Run(_) => f.write_str("Token(access + id_token)"),
                IdTokenHalf::NotApplicable(_) => f.write_str("Token(access)"),
            },
            Runner::NotApplicable(why) => write!(f, "NotApplicable({why:?})"),
        }
    }
}

/// The catalogue's four groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Group {
    /// A: the issuer.
    Issuer,
    /// B: the client's API flow.
    ApiFlow,
    /// C: the client's web flow.
    WebFlow,
    /// D: attacks and forgeries.
    Attack,
}

impl Group {
    /// All groups, in catalogue order.
    pub const ALL: [Group; 4] = [Group::Issuer, Group::ApiFlow, Group::WebFlow, Group::Attack];

    /// The group of a scenario id (`A-03` is [`Group::Issuer`]).
    pub fn of(id: &str) -> Group {
        match id.as_bytes().first() {
            Some(b'A') => Group::Issuer,
            Some(b'B') => Group::ApiFlow,
            Some(b'C') => Group::WebFlow,
            _ => Group::Attack,
        }
    }

    /// The id letter.
    pub fn letter(self) -> char {
        match self {
            Group::Issuer => 'A',
            Group::ApiFlow => 'B',
            Group::WebFlow => 'C',
            Group::Attack => 'D',
        }
    }

    /// The catalogue's heading for the group.
    pub fn title(self) -> &'static str {
        match self {
            Group::Issuer => "Issuer (OP) behaviour",
            Group::ApiFlow => "Client API flow: bearer token on a protected route",
            Group::WebFlow => "Client web flow",
            Group::Attack => "Attacks and forgeries",
        }
    }
}

/// A scenario that passed, with what was observed (the "got" column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// What the runner saw, in a line.
    pub observed: String,
}

impl Pass {
    /// A pass that observed `observed`.
    pub fn new(observed: impl Into<String>) -> Self {
        Self {
            observed: observed.into(),
        }
    }
}

/// Why a scenario did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The behaviour differs from the expected outcome.
    #[error("{0}")]
    Mismatch(String),
    /// The environment could not be set up (a server did not start, a request could not be
    /// sent): not a finding about the behaviour.
    #[error("setup failed: {0}")]
    Setup(String),
    /// The target lacks what the scenario needs (e.g. the routes file names no route with a
    /// required permission): the scenario was skipped, which counts as a failure under
    /// `cargo test` and as "skipped" in the `check` table.
    #[error("skipped: {0}")]
    Skipped(String),
    /// The application refused, as it must, but not as the RFC says (the status, the
    /// `WWW-Authenticate` challenge or its error code), or a SHOULD is not met: a formality,
    /// not a hole. `check` grades it WARN; under `cargo test` the client's own apps must meet
    /// it, so it fails there.
    #[error("{0}")]
    Warning(String),
}

impl Failure {
    /// A behaviour mismatch.
    pub fn mismatch(message: impl Into<String>) -> Self {
        Failure::Mismatch(message.into())
    }

    /// A setup failure.
    pub fn setup(message: impl fmt::Display) -> Self {
        Failure::Setup(message.to_string())
    }

    /// A skip.
    pub fn skipped(message: impl Into<String>) -> Self {
        Failure::Skipped(message.into())
    }

    /// A refusal that is not shaped as the RFC says.
    pub fn warning(message: impl Into<String>) -> Self {
        Failure::Warning(message.into())
    }
}

/// A refusal that is not shaped as the RFC says. Inside [`graded`] it is noted and the row
/// goes on to its other cases (a warning must never hide a hole found later in the same row);
/// outside, it is returned at once as a [`Failure::Warning`].
pub fn unshaped(message: impl Into<String>) -> Result<(), Failure> {
    let message = message.into();
    if crate::evidence::warn(&message) {
        Ok(())
    } else {
        Err(Failure::warning(message))
    }
}

/// One case of a row: a [`Failure::Mismatch`] is noted and the row goes on to its other cases
/// (`Ok(None)`), so one hole never hides the next; setup failures and skips still end the
/// row, and outside [`graded`] the failure is returned at once.
pub fn case<T>(outcome: Result<T, Failure>) -> Result<Option<T>, Failure> {
    match outcome {
        Ok(value) => Ok(Some(value)),
        Err(Failure::Mismatch(message)) if crate::evidence::fail(&message) => Ok(None),
        Err(failure) => Err(failure),
    }
}

/// Runs one row and grades it by its worst case: a failure stands whatever was noted before
/// it; a row that passed with notes is a [`Failure::Warning`] listing every one.
pub async fn graded(row: impl Future<Output = Outcome>) -> Outcome {
    graded_with_evidence(row).await.0
}

/// [`graded`], with what each case that did not pass sent and got back (for `--report`).
pub async fn graded_with_evidence(
    row: impl Future<Output = Outcome>,
) -> (Outcome, Vec<crate::evidence::Evidence>) {
    let (outcome, log) = crate::evidence::scoped(async {
        let outcome = row.await;
        if let Err(failure) = &outcome {
            crate::evidence::note(&failure.to_string());
        }
        outcome
    })
    .await;
    // The cases that failed while the row went on come first; the row's own end last.
    let outcome = match (outcome, log.failures.is_empty()) {
        (outcome, true) => outcome,
        (Ok(_), false) => Err(Failure::mismatch(log.failures.join("; "))),
        (Err(Failure::Mismatch(last)), false) => Err(Failure::mismatch(format!(
            "{}; {last}",
            log.failures.join("; ")
        ))),
        (Err(other), false) => Err(Failure::mismatch(format!(
            "{}; then {other}",
            log.failures.join("; ")
        ))),
    };
    let mut evidence = log.evidence;
    if log.dropped > 0 {
        evidence.push(crate::evidence::Evidence {
            finding: format!("… and {} more case(s) not kept", log.dropped),
            exchange: None,
        });
    }
    let outcome = match outcome {
        Ok(_) if !log.warnings.is_empty() => Err(Failure::warning(log.warnings.join("; "))),
        other => other,
    };
    (outcome, evidence)
}

/// Returns a [`Failure::Mismatch`] when the condition does not hold.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err($crate::scenario::Failure::mismatch(format!($($message)+)));
        }
    };
}

/// Returns a [`Failure::Mismatch`] when the two values differ, naming `what`.
#[macro_export]
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($what:tt)+) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if actual != expected {
                    return Err($crate::scenario::Failure::mismatch(format!(
                        "{}: expected {:?}, got {:?}",
                        format!($($what)+),
                        expected,
                        actual
                    )));
                }
            }
        }
    };
}

/// Turns any displayable error into a setup failure (`.map_err(setup)?`).
pub fn setup(error: impl fmt::Display) -> Failure {
    Failure::setup(error)
}

/// Boxes a runner's future: `|| boxed(issuer::a03())` in the catalogue.
pub fn boxed<F>(future: F) -> BoxFuture<Outcome>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    Box::pin(future)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Answer;
    use crate::runner::api_flow::{expect_invalid_token, refusal};

    fn answer(status: u16, challenge: Option<&str>) -> Answer {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(challenge) = challenge {
            headers.insert("www-authenticate", challenge.parse().unwrap());
        }
        Answer {
            status,
            headers,
            body: String::new(),
        }
    }

    /// A warning never hides a failure found later in the same row, and a row with warnings
    /// only names them all.
    #[tokio::test]
    async fn a_row_is_graded_by_its_worst_case() {
        let hole = graded(async {
            unshaped("first case: no challenge")?;
            Err::<Pass, _>(Failure::mismatch("second case: accepted with 200"))
        })
        .await;
        assert_eq!(
            hole,
            Err(Failure::mismatch("second case: accepted with 200"))
        );
        let formalities = graded(async {
            unshaped("a: no challenge")?;
            unshaped("b: 400, not 401")?;
            Ok(Pass::new("refused"))
        })
        .await;
        assert_eq!(
            formalities,
            Err(Failure::warning("a: no challenge; b: 400, not 401"))
        );
        assert_eq!(
            graded(async { Ok(Pass::new("ok")) }).await,
            Ok(Pass::new("ok"))
        );
        // A failed case is noted and the row goes on; the row then fails with every one.
        let two_holes = graded(async {
            assert_eq!(case::<()>(Err(Failure::mismatch("a: accepted")))?, None);
            assert_eq!(case(Ok::<_, Failure>(1))?, Some(1));
            unshaped("b: no challenge")?;
            case::<()>(Err(Failure::mismatch("c: crashed")))?;
            Ok(Pass::new("done"))
        })
        .await;
        assert_eq!(two_holes, Err(Failure::mismatch("a: accepted; c: crashed")));
        assert_eq!(
            graded(async {
                case::<()>(Err(Failure::mismatch("a: accepted")))?;
                Err::<Pass, _>(Failure::skipped("no route"))
            })
            .await,
            Err(Failure::mismatch("a: accepted; then skipped: no route"))
        );
        assert_eq!(
            case::<()>(Err(Failure::mismatch("alone"))),
            Err(Failure::mismatch("alone"))
        );
        // Outside a graded row, a warning is returned at once.
        assert_eq!(unshaped("alone"), Err(Failure::warning("alone")));
    }

    /// What counts as a refusal: any 4xx, and a redirect (noted); a 2xx is an acceptance and a
    /// 5xx a crash, both failures.
    #[tokio::test]
    async fn accepting_and_crashing_fail_and_an_unshaped_refusal_warns() {
        let bearer = "Bearer error=\"invalid_token\"";
        let grade = |status, challenge: Option<&'static str>| {
            graded(async move {
                expect_invalid_token(&answer(status, challenge), "case")?;
                Ok(Pass::new("refused"))
            })
        };
        assert_eq!(grade(401, Some(bearer)).await, Ok(Pass::new("refused")));
        for (status, challenge) in [(401, None), (400, Some(bearer)), (403, None), (302, None)] {
            assert!(
                matches!(grade(status, challenge).await, Err(Failure::Warning(_))),
                "{status} {challenge:?}"
            );
        }
        for status in [200, 204, 500, 503] {
            assert!(
                matches!(grade(status, Some(bearer)).await, Err(Failure::Mismatch(_))),
                "{status}"
            );
        }
        assert_eq!(refusal(&answer(404, None), "case", "401"), Ok(true));
    }
}
