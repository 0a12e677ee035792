//! The tokens a login gets: UserInfo with the bearer header and its errors, ID-token
//! validation and `at_hash`, the UserInfo `sub` match, and refreshes (Core 3.1.3.7, 5.3.4, 12.2).

use oidc_forge::Endpoint;
use oidc_forge::forge::claims::ClaimsTarget;
use serde_json::{Value, json};

use crate::env::{ALICE, WebEnv};
use crate::http::{Browser, Page};
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::{ensure, ensure_eq};

use super::*;

/// C-13: the UserInfo call.
pub async fn c13_userinfo_bearer_header() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    log_in(&web, &mut Browser::new()).await?;
    let cached = web
        .flow
        .auth()
        .cache()
        .get(ALICE)
        .await
        .ok_or_else(|| Failure::mismatch("UserInfo was fetched and cached at login"))?;
    ensure_eq!(
        cached.email(),
        Some("alice@example.com"),
        "the cached email"
    );
    let calls = web.issuer.issuer.requests_to(Endpoint::Userinfo);
    ensure!(!calls.is_empty(), "the issuer saw a UserInfo request");
    for call in &calls {
        ensure!(
            call.authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer ")),
            "UserInfo called with Authorization: Bearer, got {:?}",
            call.authorization
        );
        ensure!(
            call.query.get("access_token").is_none() && call.form.get("access_token").is_none(),
            "no token in the query or body: {call:?}"
        );
    }
    Ok(Pass::new(format!(
        "{} UserInfo request(s), each {} with Authorization: Bearer, no query or body token",
        calls.len(),
        calls[0].method
    )))
}

/// C-14: UserInfo answers 401.
pub async fn c14_userinfo_unauthorized() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let fresh = browser.get(&web.app("/protected-fresh")).await?;
    ensure_eq!(
        fresh.answer.status,
        200,
        "/protected-fresh while the token is good"
    );
    // The issuer's clock passes the token's expiry; the app's does not, so only UserInfo knows.
    let lifetime = web.issuer.issuer.config().lifetimes.access_token;
    web.issuer.clock.advance(lifetime + 1);
    let page = browser.get(&web.app("/protected-fresh")).await?;
    ensure_eq!(
        page.answer.status,
        302,
        "a 401 from UserInfo sends the browser to login"
    );
    ensure!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("/login?return_to=")),
        "to the login route: {:?}",
        page.location
    );
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_none(),
        "the cached UserInfo is dropped"
    );
    let ttl = oidc_forge_client::cache::MemoryUserInfoCache::DEFAULT_TTL.as_secs();
    ensure!(
        ttl <= lifetime,
        "the cache TTL ({ttl} s) is at most the token lifetime ({lifetime} s)"
    );
    Ok(Pass::new(format!(
        "UserInfo 401: 302 to login, cache entry dropped; cache TTL {ttl} s <= token lifetime {lifetime} s"
    )))
}

/// Logs in a browser while the issuer's next token response carries `claims` in its ID token.
async fn log_in_with_id_claims(web: &WebEnv, claims: Value) -> Result<Page, Failure> {
    let mut browser = Browser::new();
    let answer = issuer_answer(web, &mut browser).await?;
    web.issuer
        .issuer
        .queue_claims_for(ClaimsTarget::IdToken, claims)
        .map_err(setup)?;
    browser.get(&answer).await
}

/// C-10: ID tokens with a wrong claim, delivered by the issuer's token endpoint.
pub async fn c10_id_token_validation() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let now = crate::env::NOW;
    let cases = [
        (
            "another issuer",
            json!({"iss": "https://issuer.attacker.invalid"}),
            "issuer",
        ),
        (
            "another audience",
            json!({"aud": ["another-client"]}),
            "audience",
        ),
        (
            "an untrusted second audience",
            json!({"aud": [crate::env::WEB_CLIENT.0, "https://untrusted.example"]}),
            "audience",
        ),
        (
            "azp another client",
            json!({"azp": "another-client"}),
            "azp",
        ),
        (
            "expired",
            json!({"exp": now - 3600, "iat": now - 7200}),
            "expired",
        ),
        ("issued in the future", json!({"iat": now + 3600}), "future"),
        ("sub null", json!({"sub": null}), "sub"),
        (
            "exp a string",
            json!({"exp": (now + 3600).to_string()}),
            "exp",
        ),
    ];
    for (what, claims, expected) in &cases {
        let page = log_in_with_id_claims(&web, claims.clone()).await?;
        expect_failed_login(&page, expected)
            .map_err(|f| Failure::mismatch(format!("ID token with {what}: {f}")))?;
    }
    ensure!(
        web.flow.auth().cache().get(ALICE).await.is_none(),
        "nothing cached from a refused login"
    );
    log_in(&web, &mut Browser::new()).await?;
    Ok(Pass::new(format!(
        "{}: login failed, no cookie; the unmodified response: logged in",
        cases.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
    )))
}

/// C-11: a wrong `at_hash`.
pub async fn c11_at_hash() -> Outcome {
    let web = WebEnv::start(|_| {}).await?;
    let page = log_in_with_id_claims(&web, json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"})).await?;
    expect_failed_login(&page, "at_hash")?;
    log_in(&web, &mut Browser::new()).await?;
    Ok(Pass::new(
        "ID token whose at_hash is another token's: login failed; the real at_hash: logged in",
    ))
}

/// C-12: UserInfo answering for another subject.
pub async fn c12_userinfo_sub_mismatch() -> Outcome {
    let issuer = crate::env::IssuerEnv::start(|_| {}).await?;
    let (client, _) = crate::env::app_client(issuer.iss())?;
    // A real access token of bob's: UserInfo answers with bob's sub.
    let token = issuer
        .issuer
        .mint()
        .access_token()
        .user(crate::env::BOB)
        .scopes(["openid", "email"])
        .sign()
        .map_err(setup)?;
    let bob = client
        .userinfo(&token, crate::env::BOB)
        .await
        .map_err(|e| Failure::mismatch(format!("the twin (expecting bob) is accepted, got {e}")))?;
    ensure_eq!(bob.sub(), crate::env::BOB, "the twin's sub");
    match client.userinfo(&token, ALICE).await {
        Err(oidc_forge_client::Error::UserInfoInvalid(why)) => Ok(Pass::new(format!(
            "UserInfo for bob while the ID token says alice: refused ({why}); expecting bob: accepted"
        ))),
        other => Err(Failure::mismatch(format!(
            "a UserInfo sub other than the ID token's must be refused, got {other:?}"
        ))),
    }
}

/// Tokens of a code flow with `offline_access`, through the client's own API over HTTP.
async fn tokens_with_refresh(
    issuer: &crate::env::IssuerEnv,
    client: &oidc_forge_client::Client,
) -> Result<oidc_forge_client::TokenResponse, Failure> {
    use oidc_forge_client::pkce::{PkceVerifier, generate_nonce};
    use oidc_forge_client::{AuthorizationRequest, CodeExchange};
    let (verifier, nonce) = (PkceVerifier::generate(), generate_nonce());
    let url = client
        .auth_url(
            &AuthorizationRequest::new(crate::env::REDIRECT_URI)
                .scope(["openid", "email", "offline_access"])
                .state("s")
                .nonce(&nonce)
                .pkce(&verifier),
        )
        .await
        .map_err(setup)?;
    let answer = crate::http::Answer::send(issuer.http.get(url.as_str())).await?;
    let code = answer
        .location_params()?
        .get("code")
        .cloned()
        .ok_or_else(|| Failure::setup("no code"))?;
    let (tokens, _) = client
        .auth_callback(
            CodeExchange::new(code, crate::env::REDIRECT_URI)
                .code_verifier(&verifier)
                .nonce(nonce),
        )
        .await
        .map_err(setup)?;
    Ok(tokens)
}

/// C-20: a refreshed ID token with another `iss` or `sub`, through the two paths users take:
/// the web flow's `refresh_session` on a real browser session, and Fief's
/// `auth_refresh_token`, which takes the session's subject.
pub async fn c20_refresh_changes_subject() -> Outcome {
    let changes = [
        ("another sub", json!({"sub": crate::env::BOB})),
        (
            "another iss",
            json!({"iss": "https://issuer.attacker.invalid"}),
        ),
    ];
    // The web flow: the session's own cookies, the subject read from its ID token.
    let web = WebEnv::start(|_| {}).await?;
    let mut browser = Browser::new();
    log_in(&web, &mut browser).await?;
    let session = browser.cookie_headers()?;
    let refreshed = web.flow.refresh_session(&session).await.map_err(|e| {
        Failure::mismatch(format!(
            "the unmodified session refresh is accepted, got {e}"
        ))
    })?;
    ensure!(
        refreshed.get(SESSION).is_some(),
        "the refreshed session has its cookie"
    );
    for (what, changed) in &changes {
        // Each refresh rotates the token: start from a fresh session.
        let mut browser = Browser::new();
        log_in(&web, &mut browser).await?;
        web.issuer
            .issuer
            .queue_claims_for(ClaimsTarget::IdToken, changed.clone())
            .map_err(setup)?;
        match web.flow.refresh_session(&browser.cookie_headers()?).await {
            Err(oidc_forge_client::Error::IdTokenInvalid(_)) => {}
            other => {
                return Err(Failure::mismatch(format!(
                    "WebFlow::refresh_session: a refreshed ID token with {what} must be refused, got {:?}",
                    other.map(|_| "accepted")
                )));
            }
        }
    }
    // Fief's API, which takes the subject.
    let issuer = crate::env::IssuerEnv::start(|_| {}).await?;
    let (client, _) = crate::env::app_client(issuer.iss())?;
    let tokens = tokens_with_refresh(&issuer, &client).await?;
    let refresh_token = tokens.refresh_token.clone().unwrap_or_default();
    let (_, claims) = client
        .auth_refresh_token(&refresh_token, ALICE, None)
        .await
        .map_err(|e| Failure::mismatch(format!("the unmodified refresh is accepted, got {e}")))?;
    ensure!(claims.is_some(), "the refresh returns an ID token");
    for (what, changed) in changes {
        let tokens = tokens_with_refresh(&issuer, &client).await?;
        issuer
            .issuer
            .queue_claims_for(ClaimsTarget::IdToken, changed)
            .map_err(setup)?;
        let refresh_token = tokens.refresh_token.clone().unwrap_or_default();
        match client.auth_refresh_token(&refresh_token, ALICE, None).await {
            Err(oidc_forge_client::Error::IdTokenInvalid(_)) => {}
            other => {
                return Err(Failure::mismatch(format!(
                    "auth_refresh_token: a refreshed ID token with {what} must be refused, got {:?}",
                    other.map(|_| "accepted")
                )));
            }
        }
    }
    Ok(Pass::new(
        "refreshed ID token with another sub or iss: IdTokenInvalid through WebFlow::refresh_session and auth_refresh_token; unmodified: accepted",
    ))
}
