//! The token response and what the app does with it, black box (C-08 to C-10, C-12): the
//! issuer's real token response, edited by its forge for one login, or the issuer failing.

use std::sync::Arc;
use std::time::Duration;

use oidc_forge::Mutation;
use oidc_forge::forge::mutation::{NoneSpelling, PublicKeyForm};
use oidc_forge::forge::token_response::ResponseEdit;
use serde_json::{Map, Value};

use crate::scenario::{Failure, Outcome, Pass, case, setup};
use crate::web_target::{Answered, WebTarget};

use super::{attacker_twin, no_crash, not_signed_in, twin};

/// One login whose token response carries `edits`, which must not sign in. The edit is
/// withdrawn afterwards whatever happened, so it cannot reach the next login.
async fn edited_login(
    target: &WebTarget,
    edits: impl FnOnce(&Answered) -> Result<Vec<ResponseEdit>, Failure>,
    signs_in_as: &oidc_forge::config::UserConfig,
    what: &str,
) -> Result<String, Failure> {
    let mut browser = target.browser();
    let answered = target.answered(&mut browser, &target.user).await?;
    target.issuer.clear_token_response_edits();
    target
        .issuer
        .edit_next_token_response(edits(&answered)?)
        .map_err(setup)?;
    let seen = not_signed_in(target, &mut browser, &answered.callback, signs_in_as, what).await;
    let unused = target.issuer.token_response_edits_waiting() > 0;
    target.issuer.clear_token_response_edits();
    let seen = seen?;
    if unused {
        return Err(Failure::setup(format!(
            "{what}: the app never redeemed the code, so the edited response was not seen"
        )));
    }
    Ok(seen)
}

/// The ID-token defects of one login each, which must not sign in.
async fn id_token_defects(target: &WebTarget, defects: Vec<(&str, Mutation)>) -> Outcome {
    twin(target).await?;
    let mut seen = Vec::new();
    for (what, mutation) in defects {
        seen.extend(case(
            edited_login(
                target,
                |_| Ok(vec![ResponseEdit::IdTokenMutations(vec![mutation])]),
                &target.user,
                what,
            )
            .await,
        )?);
    }
    Ok(Pass::new(seen.join("; ")))
}

/// Whether the app's login asks for `openid`: without it there is no ID token to judge.
async fn asks_for_openid(target: &WebTarget) -> Result<Answered, Failure> {
    let answered = target.answered(&mut target.browser(), &target.user).await?;
    let openid = answered
        .request
        .get("scope")
        .is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
    if !openid {
        return Err(Failure::skipped(
            "the app's login does not ask for openid: there is no ID token",
        ));
    }
    Ok(answered)
}

/// C-09: the ID token's nonce wrong or missing when the app sent one (Core 3.1.3.7 item 11).
pub async fn c09_nonce(target: Arc<WebTarget>) -> Outcome {
    let answered = asks_for_openid(&target).await?;
    if !answered.request.contains_key("nonce") {
        return Err(Failure::skipped(
            "the app sends no nonce, so there is none to check (C-01 grades that)",
        ));
    }
    id_token_defects(
        &target,
        vec![
            ("an ID token with another nonce", Mutation::InvalidNonce),
            (
                "an ID token without its nonce",
                Mutation::MissingClaim("nonce".into()),
            ),
        ],
    )
    .await
}

/// C-10: the ID token of the real token response, wrong in one way each (Core 3.1.3.7;
/// RFC 8725 3.1, 3.2). Core 3.1.3.7 (6) lets a code-flow client rely on TLS to the token
/// endpoint instead of the signature, but the issuer here speaks plain HTTP: without TLS
/// there is nothing else to rely on, so a signature not checked is a hole.
pub async fn c10_id_token_validation(target: Arc<WebTarget>) -> Outcome {
    asks_for_openid(&target).await?;
    id_token_defects(
        &target,
        vec![
            ("a bad signature", Mutation::SignatureFlipped),
            ("alg none", Mutation::AlgNone(NoneSpelling::Lower)),
            (
                "signed by a key the issuer never published",
                Mutation::ForeignKey,
            ),
            ("a kid the JWKS does not have", Mutation::UnknownKid),
            ("the attacker's key embedded as jwk", Mutation::EmbeddedJwk),
            (
                "HS256 keyed with the issuer's public key",
                Mutation::KeyConfusion(PublicKeyForm::SpkiPem),
            ),
            ("another iss", Mutation::WrongIssuer),
            ("another aud", Mutation::WrongAudience),
            ("expired", Mutation::Expired),
            (
                "a second audience without azp",
                Mutation::UntrustedSecondAudienceWithoutAzp,
            ),
        ],
    )
    .await
}

/// C-12: UserInfo answers for another user than the ID token names (Core 5.3.2): the token
/// response's access token is the attacker's, so UserInfo says the attacker's `sub`. The app
/// must not sign in as the attacker.
pub async fn c12_userinfo_sub(target: Arc<WebTarget>) -> Outcome {
    asks_for_openid(&target).await?;
    twin(&target).await?;
    attacker_twin(&target).await?;
    let seen = edited_login(
        &target,
        |answered| {
            let scopes = answered.request.get("scope").cloned().unwrap_or_default();
            let access_token = target
                .issuer
                .mint()
                .access_token()
                .user(target.attacker.sub.to_string())
                .client(&target.client_id)
                .scopes(scopes.split(' ').map(str::to_owned))
                .sign()
                .map_err(setup)?;
            let mut set = Map::new();
            set.insert("access_token".into(), Value::String(access_token));
            Ok(vec![ResponseEdit::Members {
                set,
                remove: Vec::new(),
            }])
        },
        &target.attacker,
        "UserInfo for the attacker, the ID token for the victim",
    )
    .await?;
    Ok(Pass::new(seen))
}

/// C-08: the issuer fails during the login: the token endpoint answers `invalid_grant`, or 500,
/// or does not answer within the bound; the JWKS cannot be fetched. The app shows an error
/// (502, 503 or 504 say an upstream failed; any other 5xx is a crash), answers within the
/// bound, and signs nobody in; with the JWKS down, keys it already holds may still serve.
pub async fn c08_issuer_failures(target: Arc<WebTarget>) -> Outcome {
    twin(&target).await?;
    let faults = target.issuer.faults();
    let hang = target.timeout() + Duration::from_secs(5);
    let mut seen = Vec::new();
    // Armed one at a time: a fault left armed would answer the next row's login.
    for (what, case_number) in [
        ("the token endpoint answers invalid_grant", 0),
        ("the token endpoint answers 500", 1),
        ("the token endpoint does not answer in time", 2),
    ] {
        let mut browser = target.browser();
        let answered = target.answered(&mut browser, &target.user).await?;
        let code = crate::http::query_of(&answered.callback)?
            .remove("code")
            .ok_or_else(|| Failure::setup("the issuer's answer has no code"))?;
        // Bound to this login's code and armed until cleared: a retry fails the same way, so
        // only a login that really got no tokens is judged.
        let fault = match case_number {
            0 => faults.token().status(400).error("invalid_grant"),
            1 => faults.token().status(500),
            _ => faults.token().delay(hang),
        };
        let id = fault.for_code(code).until_cleared().map_err(setup)?;
        let outcome = not_signed_in(
            &target,
            &mut browser,
            &answered.callback,
            &target.user,
            what,
        )
        .await;
        faults.clear_fault(id);
        seen.extend(case(outcome)?);
    }
    // The JWKS down: an app may sign in with the keys it holds, or refuse; not crash or hang.
    let id = faults.jwks_unreachable();
    let mut browser = target.browser();
    let outcome = async {
        let answered = target.answered(&mut browser, &target.user).await?;
        let pages = target.visit(&mut browser, &answered.callback).await?;
        no_crash(&target, &pages, "the JWKS unreachable")?;
        let signed_in = target.signed_in_as(&mut browser, &target.user).await?;
        Ok::<_, Failure>(if signed_in {
            "the JWKS unreachable: signed in with the keys the app holds".to_owned()
        } else {
            "the JWKS unreachable: refused".to_owned()
        })
    }
    .await;
    faults.clear_fault(id);
    seen.extend(case(outcome)?);
    Ok(Pass::new(seen.join("; ")))
}
