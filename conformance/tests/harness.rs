//! Regression tests of the harness itself: tiny stub applications, each answering one way,
//! against the scenarios that once graded them wrongly. A row must not pass an app that did
//! not give the documented answer.

use std::future::Future;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, Uri};
use jsonwebtoken::Algorithm;
use oidc_forge::MockIssuer;
use oidc_forge_conformance::env;
use oidc_forge_conformance::runner::{api_flow, forgery};
use oidc_forge_conformance::scenario::{self, Failure, Outcome};
use oidc_forge_conformance::target::{ApiTarget, MAX_LEEWAY, RoutesFile, TargetClock};

/// A stub app answering every request with `status`, as `check` sees an external app.
async fn stub(status: StatusCode) -> Arc<ApiTarget> {
    let (listener, url) = env::bind().await.unwrap();
    env::serve(
        listener,
        axum::Router::new().fallback(move || async move { status }),
    );
    let issuer = MockIssuer::start(oidc_forge::Config::default())
        .await
        .unwrap();
    Arc::new(
        ApiTarget::new(
            url,
            RoutesFile::api_example(),
            Arc::new(issuer),
            TargetClock::System,
        )
        .unwrap(),
    )
}

/// B-18 in `check` mode: the documented fail-closed answers are 5xx, or 401 for a kid the app
/// cannot fetch. A 404 (a wrong route) or a 400 is not failing closed; it once passed.
#[tokio::test]
async fn b18_accepts_only_the_documented_fail_closed_answers() {
    for status in [
        StatusCode::NOT_FOUND,
        StatusCode::BAD_REQUEST,
        StatusCode::OK,
        StatusCode::FORBIDDEN,
    ] {
        match api_flow::b18_jwks_unreachable(stub(status).await).await {
            Err(Failure::Mismatch(why)) => assert!(why.contains("expected 5xx"), "{why}"),
            other => panic!("{status}: B-18 must fail, got {other:?}"),
        }
    }
    for status in [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::BAD_GATEWAY,
        StatusCode::UNAUTHORIZED,
    ] {
        let outcome = api_flow::b18_jwks_unreachable(stub(status).await).await;
        assert!(outcome.is_ok(), "{status}: {outcome:?}");
    }
}

/// B-07 at leeway 0 (issue 15): RFC 7519 4.1.4 refuses a token "on or after" `exp`, so a
/// strictly correct app with no leeway refuses `exp = now`; the row once demanded it be
/// accepted, and its message underflowed computing `leeway - 1 - margin`.
#[tokio::test]
async fn b07_passes_a_strict_app_with_no_leeway() {
    use oidc_forge_client::clock::Clock;

    let issuer = env::IssuerEnv::start(|_| {}).await.unwrap();
    let clock = Arc::new(oidc_forge_client::clock::FixedClock::new(env::NOW));
    let client = oidc_forge_client::Client::builder(issuer.iss(), env::WEB_CLIENT.0)
        .client_secret(env::WEB_CLIENT.1)
        .clock(clock.clone() as Arc<dyn Clock>)
        .http_client(oidc_forge_testkit::http_client())
        .leeway(0)
        .build()
        .unwrap();
    let (listener, url) = env::bind().await.unwrap();
    env::serve(
        listener,
        oidc_forge_conformance::apps::api::app(oidc_forge_conformance::apps::api::auth(client)),
    );
    let mut routes = RoutesFile::api_example();
    routes.leeway = 0;
    let target = ApiTarget::new(url, routes, issuer.issuer, TargetClock::Fixed(clock)).unwrap();
    let pass = api_flow::b07_leeway_boundary(Arc::new(target))
        .await
        .expect("a strict app passes");
    assert!(
        pass.observed
            .contains("leeway 0 s (margin 0 s): exp now+1 accepted; exp now+0 and now-600 refused"),
        "{}",
        pass.observed
    );
}

// ------------------------------------------------ stub apps that validate one RFC-correct way
//
// Issue 15, part 2: rows once failed apps whose behaviour the RFCs allow (Apache
// mod_auth_openidc 2.4.12 among them). Each stub below validates access tokens one particular
// way, by hand against the issuer's JWKS, so a test can pin a row's grade for that way: PASS,
// WARN where the row grades a lawful choice as a warning, and FAIL only for a real hole (the
// negative controls, so that a grading loosened too far fails too).

#[path = "harness/stub.rs"]
mod stub;

use stub::{ASYMMETRIC, Crit, Duplicates, Policy, validating};

/// The row's grade: PASS, WARN or FAIL (anything else, a setup failure or a skip, is a bug of
/// the test).
#[derive(Debug, PartialEq, Eq)]
enum Grade {
    Pass,
    Warn,
    Fail,
}

fn grade(outcome: &Outcome) -> Grade {
    match outcome {
        Ok(_) => Grade::Pass,
        Err(Failure::Warning(_)) => Grade::Warn,
        Err(Failure::Mismatch(_)) => Grade::Fail,
        other => panic!("neither PASS, WARN nor FAIL: {other:?}"),
    }
}

/// Runs a row as `check` does, warnings noted and the row going on.
async fn run(row: impl Future<Output = Outcome>) -> Outcome {
    scenario::graded(row).await
}

/// The strict stub is the positive control: every row below passes it outright, so a grade
/// other than PASS in the other tests comes from the one choice that test changes.
#[tokio::test]
async fn a_strict_app_passes_every_row_the_stubs_are_about() {
    let target = validating(Policy::default()).await;
    let mut outcomes = time_rows(&target).await;
    outcomes.extend([
        (
            "B-03",
            run(api_flow::b03_wrong_scheme_or_empty_bearer(target.clone())).await,
        ),
        (
            "B-19",
            run(api_flow::b19_error_responses(target.clone())).await,
        ),
        (
            "D-04",
            run(forgery::d04_alternate_algorithm(target.clone())).await,
        ),
        (
            "D-15",
            run(forgery::d15_key_algorithm_binding(target.clone())).await,
        ),
        ("D-16", run(forgery::d16_crit(target.clone())).await),
        (
            "D-20",
            run(forgery::d20_duplicate_members(target.clone())).await,
        ),
    ]);
    for (id, outcome) in outcomes {
        assert_eq!(grade(&outcome), Grade::Pass, "{id}: {outcome:?}");
    }
}

/// The rows about time (B-06 to B-09) against `target`, as `check` runs them.
async fn time_rows(target: &Arc<ApiTarget>) -> Vec<(&'static str, Outcome)> {
    vec![
        ("B-06", run(api_flow::b06_expired(target.clone())).await),
        (
            "B-07",
            run(api_flow::b07_leeway_boundary(target.clone())).await,
        ),
        ("B-08", run(api_flow::b08_not_before(target.clone())).await),
        (
            "B-09",
            run(api_flow::b09_issued_in_future(target.clone())).await,
        ),
    ]
}

/// B-09: RFC 9068 4 requires no `iat` check of an access token and RFC 7519 4.1.6 makes `iat`
/// informational, so an app accepting an `iat` in the future is warned, never failed.
#[tokio::test]
async fn b09_warns_an_app_that_accepts_an_iat_in_the_future() {
    let target = validating(Policy {
        check_iat: false,
        ..Policy::default()
    })
    .await;
    match run(api_flow::b09_issued_in_future(target)).await {
        Err(Failure::Warning(why)) => {
            assert!(
                why.contains("accepted") && why.contains("RFC 9068"),
                "{why}"
            )
        }
        other => panic!("B-09 must warn, got {other:?}"),
    }
}

/// B-09's refusal still passes, and a crash still fails: only the acceptance changed grade.
#[tokio::test]
async fn b09_fails_an_app_that_crashes_on_an_iat_in_the_future() {
    let (listener, url) = env::bind().await.unwrap();
    let strict = validating(Policy::default()).await;
    let upstream = strict.url.clone();
    let http = reqwest::Client::new();
    // Forwards to the strict stub, but answers 500 where it would refuse a token from the
    // future: the twin passes, the case crashes.
    env::serve(
        listener,
        axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (http, upstream) = (http.clone(), upstream.clone());
            async move {
                let mut request = http.get(format!("{upstream}{}", uri.path()));
                if let Some(value) = headers.get("authorization") {
                    request = request.header("authorization", value);
                }
                let status = request.send().await.map_or(500, |r| r.status().as_u16());
                StatusCode::from_u16(if status == 401 { 500 } else { status })
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }),
    );
    let target = ApiTarget::new(
        url,
        strict.routes.clone(),
        strict.issuer.clone(),
        TargetClock::System,
    )
    .unwrap();
    match run(api_flow::b09_issued_in_future(Arc::new(target))).await {
        Err(Failure::Mismatch(why)) => assert!(why.contains("crashed with 500"), "{why}"),
        other => panic!("B-09 must fail a crash, got {other:?}"),
    }
}

/// D-20: refusing duplicate members passes; taking the last one (RFC 7519 4's other lawful
/// choice) is a WARN, as the suite cannot see which `sub` the app read; taking the first is the
/// hole, found where the last value is invalid (`alg` last `none`).
#[tokio::test]
async fn d20_grades_duplicates_by_the_last_value() {
    let with = |duplicates| Policy {
        duplicates,
        ..Policy::default()
    };
    let rejecting = run(forgery::d20_duplicate_members(
        validating(with(Duplicates::Reject)).await,
    ))
    .await;
    assert_eq!(grade(&rejecting), Grade::Pass, "{rejecting:?}");
    match run(forgery::d20_duplicate_members(
        validating(with(Duplicates::LastWins)).await,
    ))
    .await
    {
        Err(Failure::Warning(why)) => assert!(why.contains("sub twice"), "{why}"),
        other => panic!("a last-wins app must be warned, got {other:?}"),
    }
    match run(forgery::d20_duplicate_members(
        validating(with(Duplicates::FirstWins)).await,
    ))
    .await
    {
        Err(Failure::Mismatch(why)) => {
            // Every case whose last value is bad fails, each named.
            assert!(
                why.contains("alg twice") && why.contains("exp twice"),
                "{why}"
            )
        }
        other => panic!("a first-wins app must fail, got {other:?}"),
    }
}

/// D-04 and D-15: an app that allows ES256 and accepts the issuer's genuine ES256 token (its
/// published key, its kid) passes both; PS256 with the RS256 key is refused by the binding.
#[tokio::test]
async fn d04_and_d15_pass_an_app_that_accepts_the_issuers_genuine_es256_token() {
    let target = validating(Policy {
        algorithms: ASYMMETRIC.to_vec(),
        ..Policy::default()
    })
    .await;
    let d04 = run(forgery::d04_alternate_algorithm(target.clone())).await;
    match &d04 {
        Ok(pass) => assert!(
            pass.observed
                .contains("ES256 by the issuer's own ES256 key, under its kid: accepted"),
            "{}",
            pass.observed
        ),
        other => panic!("D-04 must pass, got {other:?}"),
    }
    let d15 = run(forgery::d15_key_algorithm_binding(target)).await;
    assert_eq!(grade(&d15), Grade::Pass, "{d15:?}");
}

/// D-15: an app that treats the `kid` as a hint and verifies with whichever of the issuer's
/// keys fits accepts ES256 under the RSA key's kid: the issuer's own signature, so a WARN.
#[tokio::test]
async fn d15_warns_an_app_that_takes_the_kid_as_a_hint() {
    let target = validating(Policy {
        algorithms: ASYMMETRIC.to_vec(),
        key_by_kid: false,
        ..Policy::default()
    })
    .await;
    match run(forgery::d15_key_algorithm_binding(target.clone())).await {
        Err(Failure::Warning(why)) => assert!(why.contains("RFC 7515 4.1.4"), "{why}"),
        other => panic!("D-15 must warn, got {other:?}"),
    }
    let d04 = run(forgery::d04_alternate_algorithm(target.clone())).await;
    assert_eq!(grade(&d04), Grade::Pass, "{d04:?}");
    // Unknown and injected kids on the issuer's genuine key: tried with its keys, accepted, no
    // forgery (a WARN); the same kids on the attacker's key are refused.
    for (id, outcome) in [
        (
            "D-10",
            run(forgery::d10_kid_injection(target.clone())).await,
        ),
        ("D-11", run(forgery::d11_unknown_kid(target.clone())).await),
        ("D-12", run(forgery::d12_kid_flood(target)).await),
    ] {
        assert_eq!(grade(&outcome), Grade::Warn, "{id}: {outcome:?}");
    }
}

/// The negative control of the kid rows: an app that takes any token whose kid it does not
/// know (it verifies nothing then) accepts the attacker's key, and fails.
#[tokio::test]
async fn the_kid_rows_fail_an_app_that_accepts_an_unknown_kid_unverified() {
    let target = validating(Policy {
        key_by_kid: false,
        unknown_kid_unverified: true,
        ..Policy::default()
    })
    .await;
    for (id, outcome) in [
        (
            "D-10",
            run(forgery::d10_kid_injection(target.clone())).await,
        ),
        ("D-11", run(forgery::d11_unknown_kid(target)).await),
    ] {
        match outcome {
            Err(Failure::Mismatch(why)) => assert!(why.contains("attacker's key"), "{id}: {why}"),
            other => panic!("{id} must fail, got {other:?}"),
        }
    }
}

/// The negative control of D-04 and D-15: an app that lets the header choose any algorithm of
/// the key's type (no RFC 8725 3.1 binding) accepts PS256 made with the RS256 key, and fails.
#[tokio::test]
async fn d04_and_d15_fail_an_app_without_the_key_algorithm_binding() {
    let target = validating(Policy {
        algorithms: ASYMMETRIC.to_vec(),
        bind_key_alg: false,
        ..Policy::default()
    })
    .await;
    for (id, outcome) in [
        (
            "D-04",
            run(forgery::d04_alternate_algorithm(target.clone())).await,
        ),
        (
            "D-15",
            run(forgery::d15_key_algorithm_binding(target.clone())).await,
        ),
    ] {
        match outcome {
            Err(Failure::Mismatch(why)) => assert!(why.contains("accepted"), "{id}: {why}"),
            other => panic!("{id} must fail, got {other:?}"),
        }
    }
}

/// D-16: a `crit` naming a registered member, or empty, MAY be refused (RFC 7515 4.1.11), so
/// accepting it is a WARN; an unknown critical extension must be refused, so an app that
/// ignores `crit` altogether fails.
#[tokio::test]
async fn d16_warns_on_a_may_and_fails_only_on_an_unknown_critical_extension() {
    let with = |crit| Policy {
        crit,
        ..Policy::default()
    };
    match run(forgery::d16_crit(validating(with(Crit::MustOnly)).await)).await {
        Err(Failure::Warning(why)) => {
            assert!(why.contains("crit empty") && why.contains("MAY"), "{why}")
        }
        other => panic!("D-16 must warn, got {other:?}"),
    }
    match run(forgery::d16_crit(validating(with(Crit::Ignored)).await)).await {
        Err(Failure::Mismatch(why)) => assert!(why.contains("crit [exp-unknown]"), "{why}"),
        other => panic!("D-16 must fail, got {other:?}"),
    }
}

/// B-03: `Bearer` with nothing after it answered 401 `invalid_token` refuses as RFC 6750 3.1
/// allows (400 `invalid_request` is the other answer).
#[tokio::test]
async fn b03_passes_an_app_that_answers_a_bare_bearer_with_invalid_token() {
    let target = validating(Policy::default()).await;
    let outcome = run(api_flow::b03_wrong_scheme_or_empty_bearer(target)).await;
    match outcome {
        Ok(pass) => assert!(
            pass.observed.contains("`Bearer` alone: 401"),
            "{}",
            pass.observed
        ),
        other => panic!("B-03 must pass, got {other:?}"),
    }
}

/// B-14: 403 `insufficient_scope` without a `scope` attribute; the attribute is a MAY of RFC
/// 6750 3, so the row warns and never fails.
#[tokio::test]
async fn b14_warns_an_app_whose_challenge_names_no_scope() {
    let target = validating(Policy::default()).await;
    match run(api_flow::b14_missing_scope(target)).await {
        Err(Failure::Warning(why)) => assert!(why.contains("a MAY of RFC 6750 3"), "{why}"),
        other => panic!("B-14 must warn, got {other:?}"),
    }
}

/// B-07 at leeway 0 on the system clock, as `check` runs it: a strict app refuses `exp = now`
/// (RFC 7519 4.1.4, "on or after") and passes.
#[tokio::test]
async fn b07_passes_a_strict_app_with_no_leeway_on_the_system_clock() {
    let target = validating(Policy {
        leeway: 0,
        ..Policy::default()
    })
    .await;
    let outcome = run(api_flow::b07_leeway_boundary(target)).await;
    assert_eq!(grade(&outcome), Grade::Pass, "{outcome:?}");
}

/// B-19: an app that refuses everything, valid tokens included, does not pass: the valid twin
/// comes first.
#[tokio::test]
async fn b19_fails_an_app_that_refuses_everything() {
    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
        match run(api_flow::b19_error_responses(stub(status).await)).await {
            Err(Failure::Mismatch(why)) => assert!(why.contains("the valid twin"), "{why}"),
            other => panic!("{status}: B-19 must fail, got {other:?}"),
        }
    }
}

/// Every routes-file leeway from 0 to the hour: the time rows compute their instants without
/// underflow (a debug build panics on one), and a strict app with a leeway of a few minutes
/// at most passes them.
#[tokio::test]
async fn the_time_rows_never_underflow_whatever_the_leeway() {
    for leeway in [
        0, 1, 2, 3, 4, 5, 6, 10, 299, 300, 301, 600, 3599, MAX_LEEWAY,
    ] {
        let target = validating(Policy {
            leeway,
            ..Policy::default()
        })
        .await;
        let mut outcomes = time_rows(&target).await;
        outcomes.push((
            "D-20",
            run(forgery::d20_duplicate_members(target.clone())).await,
        ));
        for (id, outcome) in outcomes {
            // B-07 expects ten minutes ago refused ("a few minutes", RFC 7519 4.1.4, which
            // is no MUST): an app that declares a longer leeway and accepts it warns.
            let expected = if id == "B-07" && leeway > 600 {
                Grade::Warn
            } else {
                Grade::Pass
            };
            assert_eq!(
                grade(&outcome),
                expected,
                "leeway {leeway}, {id}: {outcome:?}"
            );
        }
    }
}

/// The negative control of D-04's genuine ES256 case: an app that accepts ES256 but checks no
/// ES256 signature accepts the forgeries under the genuine kid, and fails.
#[tokio::test]
async fn d04_fails_an_app_that_accepts_es256_without_checking_it() {
    let target = validating(Policy {
        algorithms: vec![Algorithm::RS256, Algorithm::ES256],
        es256_unverified: true,
        ..Policy::default()
    })
    .await;
    match run(forgery::d04_alternate_algorithm(target)).await {
        Err(Failure::Mismatch(why)) => {
            assert!(why.contains("ES256 with an all-zero signature"), "{why}");
            assert!(why.contains("ES256 with its payload changed"), "{why}");
        }
        other => panic!("D-04 must fail, got {other:?}"),
    }
}
