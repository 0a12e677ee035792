//! The login redirect and the callback's checks, black box (C-01, C-03 to C-05, C-07, D-25,
//! D-26).

use std::sync::Arc;

use crate::scenario::{Failure, Outcome, Pass, case, unshaped};
use crate::web_target::{WebTarget, replace_param};
use crate::{ensure, ensure_eq};

use super::{attacker_twin, no_crash, not_signed_in, twin};

/// Fewer characters than this in a `state` or `nonce` is too few to be unguessable: 22
/// base64url characters hold 128 bits (RFC 6749 10.10's bound for what must not be guessed).
const MIN_RANDOM_CHARS: usize = 22;

/// C-01: the login redirect (Core 3.1.2.1; RFC 9700 2.1.1, 4.7.1; RFC 7636 4.2), and the
/// happy path: the protected page shows the user after the callback.
pub async fn c01_login_redirect(target: Arc<WebTarget>) -> Outcome {
    let mut first = target.browser();
    let a = target.answered(&mut first, &target.user).await?;
    let b = target.answered(&mut target.browser(), &target.user).await?;
    let param = |name: &str| a.request.get(name).map(String::as_str);
    let again = |name: &str| b.request.get(name).map(String::as_str);
    let mut seen = Vec::new();
    match param("response_type") {
        Some("code") => seen.push("response_type=code".to_owned()),
        other => unshaped(format!(
            "response_type is {other:?}, not code (RFC 9700 2.1.2: the implicit grant SHOULD NOT be used)"
        ))?,
    }
    ensure_eq!(
        param("redirect_uri"),
        Some(target.redirect_uri().as_str()),
        "the redirect_uri sent (Core 3.1.2.1: one the client registered)"
    );
    ensure_eq!(
        param("client_id"),
        Some(target.client_id.as_str()),
        "the client_id sent"
    );
    // RFC 6749 2.3.1: the client secret MUST NOT be in the request URI, which the browser,
    // its history and every log along the way see.
    let secret = target
        .issuer
        .config()
        .client(&target.client_id)
        .and_then(|client| client.secret.clone());
    ensure!(
        !a.request.contains_key("client_secret")
            && secret.is_none_or(|secret| !a.request.values().any(|v| v.contains(&secret))),
        "the authorization URL carries the client secret (RFC 6749 2.3.1: MUST NOT be included in the request URI)"
    );
    if let Some(challenge) = param("code_challenge") {
        ensure!(
            again("code_challenge") != Some(challenge),
            "the same code_challenge in two logins: the verifier is not fresh (RFC 7636 4.1; RFC 9700 2.1.1: transaction-specific)"
        );
    }
    let pkce = match (param("code_challenge"), param("code_challenge_method")) {
        (Some(_), Some("S256")) => {
            seen.push("PKCE S256".into());
            true
        }
        (Some(_), method) => {
            unshaped(format!(
                "PKCE with method {method:?}, not S256 (RFC 7636 4.2: S256 is mandatory to implement and SHOULD be used; RFC 9700 2.1.1)"
            ))?;
            true
        }
        (None, _) => {
            unshaped("no PKCE (RFC 9700 2.1.1: confidential clients SHOULD use it too)")?;
            false
        }
    };
    let openid = param("scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
    let nonce = param("nonce");
    if let Some(nonce) = nonce {
        ensure!(
            again("nonce") != Some(nonce),
            "the same nonce in two logins (Core 3.1.2.1: it binds one login)"
        );
        random_enough(nonce, "nonce")?;
        seen.push("nonce".into());
    } else if openid {
        unshaped(
            "openid asked for without a nonce (Core 15.5.2: it mitigates replay and injection)",
        )?;
    }
    // RFC 9700 2.1.1: a client MUST prevent code injection; PKCE does, and so does the nonce.
    ensure!(
        pkce || nonce.is_some(),
        "neither PKCE nor a nonce: nothing stops an injected authorization code (RFC 9700 2.1.1 MUST)"
    );
    match param("state") {
        Some(state) => {
            ensure!(
                again("state") != Some(state),
                "the same state in two logins: it is not a per-login secret (RFC 6749 10.12)"
            );
            random_enough(state, "state")?;
            seen.push(format!("state ({} characters, new per login)", state.len()));
        }
        // RFC 9700 4.7.1: a client that uses PKCE MAY rely on it against CSRF.
        None if pkce => seen.push("no state (PKCE protects against CSRF, RFC 9700 4.7.1)".into()),
        None if nonce.is_some() => {
            seen.push("no state (the nonce protects against CSRF, RFC 9700 4.7.1)".into())
        }
        None => {
            return Err(Failure::mismatch(
                "no state, no PKCE and no nonce: nothing stops login CSRF (RFC 6749 10.12)",
            ));
        }
    }
    let pages = target.visit(&mut first, &a.callback).await?;
    no_crash(&target, &pages, "the callback")?;
    ensure!(
        target.signed_in_as(&mut first, &target.user).await?,
        "after the callback, {} does not show {:?}",
        target.settings.protected,
        target.settings.signed_in.text_for(&target.user)
    );
    Ok(Pass::new(format!(
        "{}; signed in as {}",
        seen.join(", "),
        target.user.email
    )))
}

/// A `state` or `nonce` too short to be unguessable is noted.
fn random_enough(value: &str, what: &str) -> Result<(), Failure> {
    if value.len() < MIN_RANDOM_CHARS {
        unshaped(format!(
            "{what} has {} characters: fewer than {MIN_RANDOM_CHARS} cannot hold 128 random bits (RFC 6749 10.10)",
            value.len()
        ))?;
    }
    Ok(())
}

/// C-03: the victim's own callback with its state removed, or replaced by a foreign one, must
/// not sign in (RFC 6749 10.12; RFC 9700 4.7).
pub async fn c03_callback_state(target: Arc<WebTarget>) -> Outcome {
    twin(&target).await?;
    let mut seen = Vec::new();
    for (what, state) in [
        ("the callback without its state", None),
        (
            "the callback with a foreign state",
            Some("c2VlbXMtbGVnaXQtYnV0LWZvcmVpZ24"),
        ),
    ] {
        let mut victim = target.browser();
        let answered = target.answered(&mut victim, &target.user).await?;
        if !answered.request.contains_key("state") {
            // RFC 9700 4.7.1: PKCE, or the nonce, may stand in for the state against CSRF.
            let stand_in = ["code_challenge", "nonce"]
                .into_iter()
                .find(|name| answered.request.contains_key(*name));
            return match stand_in {
                Some(name) => Ok(Pass::new(format!(
                    "the app sends no state; its {name} protects the callback (RFC 9700 4.7.1)"
                ))),
                None => Err(Failure::mismatch(
                    "the app sends no state, no PKCE and no nonce: nothing binds the callback to the browser that started the login (RFC 6749 10.12)",
                )),
            };
        }
        let hostile = replace_param(&answered.callback, "state", state)?;
        let pages = target.visit(&mut victim, &hostile).await?;
        if case(no_crash(&target, &pages, what))?.is_none() {
            continue;
        }
        if !target.signed_in_as(&mut victim, &target.user).await? {
            seen.push(format!("{what}: refused"));
        } else if bound_to_browser(&answered.request) {
            // The code stays bound to this browser: by PKCE, which the issuer enforces when
            // the app sends it, or by the nonce (RFC 9700 4.7.1: both protect against CSRF).
            // A state not checked is then no hole, only a check that is not done.
            unshaped(format!(
                "{what}: signed in; the state is not checked (RFC 6749 10.12), but PKCE or the nonce still binds the code to this browser (RFC 9700 4.7.1)"
            ))?;
            seen.push(format!(
                "{what}: signed in (the code is bound to the browser)"
            ));
        } else {
            case::<()>(Err(Failure::mismatch(format!(
                "{what}: the browser is then signed in, and nothing else binds the code to it (RFC 6749 10.12)"
            ))))?;
        }
    }
    Ok(Pass::new(seen.join("; ")))
}

/// Whether the login's code is bound to the browser that started it by more than the state:
/// PKCE S256 or a nonce.
fn bound_to_browser(request: &std::collections::BTreeMap<String, String>) -> bool {
    request.get("code_challenge_method").map(String::as_str) == Some("S256")
        || request.contains_key("nonce")
}

/// C-04: a callback URL visited again, from another browser (a leaked URL), must not sign
/// in: the code is spent, and the state belongs to the first browser (RFC 9700 4.2.4).
pub async fn c04_callback_replayed(target: Arc<WebTarget>) -> Outcome {
    let mut victim = target.browser();
    let answered = target.answered(&mut victim, &target.user).await?;
    let pages = target.visit(&mut victim, &answered.callback).await?;
    no_crash(&target, &pages, "the callback")?;
    ensure!(
        target.signed_in_as(&mut victim, &target.user).await?,
        "the valid twin: the first visit of the callback signs in"
    );
    let mut other = target.browser();
    let seen = not_signed_in(
        &target,
        &mut other,
        &answered.callback,
        &target.user,
        "the same callback URL in another browser",
    )
    .await?;
    Ok(Pass::new(seen))
}

/// C-05: the user denied the login (RFC 6749 4.1.2.1): the app shows an error (not a crash,
/// not a hang), signs nobody in, and does not echo `error_description` unescaped.
pub async fn c05_error_callback(target: Arc<WebTarget>) -> Outcome {
    const SCRIPT: &str = "<script>alert(1)</script>";
    let mut victim = target.browser();
    let answered = target.answered(&mut victim, &target.user).await?;
    let mut denied = replace_param(&answered.callback, "code", None)?;
    denied = replace_param(&denied, "error", Some("access_denied"))?;
    denied = replace_param(
        &denied,
        "error_description",
        Some(&format!("denied {SCRIPT}")),
    )?;
    let pages = target.visit(&mut victim, &denied).await?;
    no_crash(&target, &pages, "error=access_denied")?;
    // Only an HTML page runs the script; JSON or text that holds it is harmless.
    ensure!(
        !pages.iter().any(|p| {
            p.answer.header("content-type").contains("html") && p.answer.body.contains(SCRIPT)
        }),
        "error_description is shown unescaped in an HTML page: a script in the callback runs on the app's origin"
    );
    ensure!(
        !target.signed_in_as(&mut victim, &target.user).await?,
        "error=access_denied: the browser is then signed in"
    );
    let status = pages.first().map_or(0, |p| p.answer.status);
    Ok(Pass::new(format!(
        "error=access_denied: {status}, no script echoed, not signed in"
    )))
}

/// C-07: the callback's `iss` from another issuer, or removed, when the issuer advertises the
/// parameter (RFC 9207 2.4). With one issuer there is no one to mix up with (RFC 9700 4.4),
/// so a login that goes through is a warning.
pub async fn c07_iss_parameter(target: Arc<WebTarget>) -> Outcome {
    if !target.endpoints.iss_parameter {
        return Err(Failure::skipped(
            "the issuer does not advertise authorization_response_iss_parameter_supported",
        ));
    }
    twin(&target).await?;
    let mut seen = Vec::new();
    for (what, iss) in [
        ("iss of another issuer", Some("https://attacker.example")),
        ("iss removed", None),
    ] {
        let mut victim = target.browser();
        let answered = target.answered(&mut victim, &target.user).await?;
        let hostile = replace_param(&answered.callback, "iss", iss)?;
        let pages = target.visit(&mut victim, &hostile).await?;
        no_crash(&target, &pages, what)?;
        if target.signed_in_as(&mut victim, &target.user).await? {
            unshaped(format!(
                "{what}: signed in anyway (RFC 9207 2.4: a client that supports it MUST compare iss; RFC 9700 4.4.2.1)"
            ))?;
            seen.push(format!("{what}: signed in"));
        } else {
            seen.push(format!("{what}: refused"));
        }
    }
    Ok(Pass::new(seen.join("; ")))
}

/// The attacker's own login, stopped before the callback: a code issued to the attacker,
/// for the app, and the attacker's state.
async fn attackers_callback(target: &WebTarget) -> Result<String, Failure> {
    let mut attacker = target.browser();
    Ok(target
        .answered(&mut attacker, &target.attacker)
        .await?
        .callback)
}

/// D-25: authorization code injection (RFC 9700 4.5): a victim's code, stolen before the
/// app redeemed it, injected into the attacker's own login with the attacker's state, must
/// not sign the attacker in as the victim; and the attacker's code in the victim's login,
/// with the victim's state, must not sign the victim in as the attacker. PKCE, or the nonce,
/// must stop both (RFC 9700 2.1.1).
pub async fn d25_code_injection(target: Arc<WebTarget>) -> Outcome {
    twin(&target).await?;
    attacker_twin(&target).await?;
    let mut seen = Vec::new();
    for (what, code_of, login_of) in [
        (
            "the attacker's code in the victim's login",
            &target.attacker,
            &target.user,
        ),
        (
            "the victim's code in the attacker's login",
            &target.user,
            &target.attacker,
        ),
    ] {
        // The code, unredeemed: the callback is never visited by its own browser.
        let code = target
            .answered(&mut target.browser(), code_of)
            .await?
            .callback;
        let mut browser = target.browser();
        let login = target.answered(&mut browser, login_of).await?;
        let state = login.request.get("state").map(String::as_str);
        let injected = replace_param(&code, "state", state)?;
        seen.extend(case(
            not_signed_in(&target, &mut browser, &injected, code_of, what).await,
        )?);
    }
    Ok(Pass::new(seen.join("; ")))
}

/// Where the victim's browser stands when the attacker's callback reaches it (D-26).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Situation {
    Fresh,
    LoginInProgress,
    StateRemoved,
    SpentState,
}

impl Situation {
    fn describe(self) -> &'static str {
        match self {
            Situation::Fresh => "in a fresh browser",
            Situation::LoginInProgress => "with a login of the victim's in progress",
            Situation::StateRemoved => "with the state removed",
            Situation::SpentState => "with the victim's spent state",
        }
    }
}

/// D-26: login CSRF (RFC 6749 10.12): the attacker's callback, in the victim's browser, must
/// not sign the victim in as the attacker: in a fresh browser, with a login of the victim's in
/// progress (a foreign state), with the state removed, and with a stale state (from the
/// victim's earlier, finished login).
pub async fn d26_login_csrf(target: Arc<WebTarget>) -> Outcome {
    let mut twin_browser = twin(&target).await?;
    attacker_twin(&target).await?;
    let mut seen = Vec::new();
    for situation in [
        Situation::Fresh,
        Situation::LoginInProgress,
        Situation::StateRemoved,
        Situation::SpentState,
    ] {
        let mut victim = target.browser();
        let mut state = None;
        match situation {
            Situation::Fresh => {}
            Situation::LoginInProgress | Situation::StateRemoved => {
                target.answered(&mut victim, &target.user).await?;
            }
            // The victim's earlier login, finished: its state is spent.
            Situation::SpentState => {
                let finished = target.answered(&mut victim, &target.user).await?;
                target.visit(&mut victim, &finished.callback).await?;
                let Some(spent) = finished.request.get("state") else {
                    continue;
                };
                state = Some(spent.clone());
            }
        }
        let mut callback = attackers_callback(&target).await?;
        if matches!(situation, Situation::StateRemoved | Situation::SpentState) {
            callback = replace_param(&callback, "state", state.as_deref())?;
        }
        seen.extend(case(
            not_signed_in(
                &target,
                &mut victim,
                &callback,
                &target.attacker,
                situation.describe(),
            )
            .await,
        )?);
    }
    // The attacker's logins did not reach into the twin's browser (an app may end the
    // twin's session as it likes: one session per user, say).
    ensure!(
        !target
            .signed_in_as(&mut twin_browser, &target.attacker)
            .await?,
        "the valid twin's browser is signed in as the attacker after the attacker's logins"
    );
    Ok(Pass::new(seen.join("; ")))
}
