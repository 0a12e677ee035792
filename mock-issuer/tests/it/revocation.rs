//! What revocation reaches, and what it does when its stores are full.
//!
//! - A grant (one code redemption) is revoked whole: every access and refresh token issued on
//!   it, refreshed ones included (RFC 6749 4.1.2 on a replayed code; RFC 7009 2.1 on a revoked
//!   refresh token; RFC 9700 4.14.2 on a reused one).
//! - A store that guards revocation or replay never forgets a live entry: full, it refuses the
//!   request that needs it (`temporarily_unavailable`), and a revocation the issuer must make
//!   itself revokes everything issued so far rather than fail open. Refresh grants are one
//!   entry each, whatever their rotations; a full store forgets the oldest, which fails closed.

use oidc_forge::{Config, MockIssuer, StoreLimits};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn start_limited(limits: StoreLimits) -> Harness {
    start_built(MockIssuer::builder().store_limits(limits)).await
}

fn field(tokens: &Value, name: &str) -> String {
    str_of(tokens, name).to_owned()
}

/// A code, its tokens, and the tokens of one refresh: AT1 + RT1, then AT2 + RT2.
struct Chain {
    code: String,
    at1: String,
    at2: String,
    rt2: String,
}

async fn refresh_chain(h: &Harness) -> Chain {
    let code = h.code(&[]).await;
    let first = h.redeem(&code).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let first = first.json();
    let refreshed = h.refresh(&field(&first, "refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let refreshed = refreshed.json();
    // Every token of the chain carries the grant's id.
    let grant = |token: &str| decode(token).1["grant_id"].clone();
    assert!(grant(&field(&first, "access_token")).is_string());
    assert_eq!(
        grant(&field(&first, "access_token")),
        grant(&field(&refreshed, "access_token"))
    );
    Chain {
        code,
        at1: field(&first, "access_token"),
        at2: field(&refreshed, "access_token"),
        rt2: field(&refreshed, "refresh_token"),
    }
}

/// Issue 12.3: code -> AT1 + RT1, refresh -> AT2 + RT2, replay the code: AT2 and RT2 die too.
#[tokio::test]
async fn a_replayed_code_revokes_the_tokens_refreshed_from_it() {
    let h = start().await;
    let chain = refresh_chain(&h).await;
    let other = chain_tokens_of_another_grant(&h).await;
    assert!(h.active(&chain.at2).await);
    h.redeem(&chain.code)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(!h.active(&chain.at1).await, "AT1");
    assert!(
        !h.active(&chain.at2).await,
        "AT2, refreshed from the replayed code's grant"
    );
    assert_eq!(
        h.userinfo(&chain.at2).await.status,
        StatusCode::UNAUTHORIZED
    );
    h.refresh(&chain.rt2)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(h.active(&other).await, "another grant is untouched");
}

async fn chain_tokens_of_another_grant(h: &Harness) -> String {
    str_of(&h.tokens(&[]).await, "access_token").to_owned()
}

/// Issue 12.3, RFC 7009 2.1: revoking a refresh token revokes the access tokens of its grant.
#[tokio::test]
async fn revoking_a_refresh_token_revokes_every_access_token_of_its_grant() {
    let h = start().await;
    let chain = refresh_chain(&h).await;
    let other = chain_tokens_of_another_grant(&h).await;
    let answer = h.revoke(&chain.rt2).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(!h.active(&chain.at1).await, "AT1");
    assert!(!h.active(&chain.at2).await, "AT2");
    assert!(!h.active(&chain.rt2).await, "RT2");
    h.refresh(&chain.rt2)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(h.active(&other).await, "another grant is untouched");
    // An access token alone is revoked alone.
    let fresh = refresh_chain(&h).await;
    assert_eq!(h.revoke(&fresh.at2).await.status, StatusCode::OK);
    assert!(!h.active(&fresh.at2).await);
    assert!(h.active(&fresh.at1).await && h.active(&fresh.rt2).await);
}

/// RFC 7009 2.1 with RFC 9700 4.14.2: revoking a spent (rotated) refresh token ends its family,
/// so a thief who refreshed first cannot keep the grant after the client revokes the token it
/// holds; another client cannot do it for them.
#[tokio::test]
async fn revoking_a_spent_refresh_token_ends_its_family() {
    let h = start().await;
    let first = h.redeem(&h.code(&[]).await).await.json();
    let rt1 = field(&first, "refresh_token");
    // The thief refreshes first: RT1 is spent, RT2 is the family's now.
    let stolen = h.refresh(&rt1).await.json();
    let (at2, rt2) = (
        field(&stolen, "access_token"),
        field(&stolen, "refresh_token"),
    );
    let answer = h.revoke(&rt1).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "", "RFC 7009 2.2: an empty 200");
    assert!(!h.active(&at2).await, "the thief's access token");
    h.refresh(&rt2)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

/// RFC 9700 4.14.2: a rotated refresh token that comes back revokes its grant, access tokens
/// included.
#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_grant() {
    let h = start().await;
    let code = h.code(&[]).await;
    let first = h.redeem(&code).await.json();
    let rt1 = field(&first, "refresh_token");
    let second = h.refresh(&rt1).await.json();
    let at2 = field(&second, "access_token");
    let rt2 = field(&second, "refresh_token");
    h.refresh(&rt1)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(!h.active(&field(&first, "access_token")).await);
    assert!(!h.active(&at2).await);
    h.refresh(&rt2)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

/// Issue 12.4: a full revocation store refuses the next revocation (RFC 7009 2.2.1: 503, not
/// revoked) and never forgets the ones it holds, until their tokens expire.
#[tokio::test]
async fn a_revoked_token_stays_revoked_when_the_store_is_full() {
    let h = start_limited(StoreLimits::default().revocations(2)).await;
    let tokens = [
        h.client_credentials_token().await,
        h.client_credentials_token().await,
        h.client_credentials_token().await,
    ];
    assert_eq!(h.revoke(&tokens[0]).await.status, StatusCode::OK);
    assert_eq!(h.revoke(&tokens[1]).await.status, StatusCode::OK);
    let refused = h.revoke(&tokens[2]).await;
    refused.assert_oauth_error(503, "temporarily_unavailable");
    assert!(
        refused.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("full")),
        "{}",
        refused.body
    );
    // The old revocations hold; the refused one did not happen.
    for _ in 0..3 {
        assert!(!h.active(&tokens[0]).await);
        assert!(!h.active(&tokens[1]).await);
        assert!(h.active(&tokens[2]).await);
    }
    // Once revoked tokens expire, their records go and there is room again.
    h.clock.advance(3600);
    let fresh = h.client_credentials_token().await;
    assert_eq!(h.revoke(&fresh).await.status, StatusCode::OK);
    assert!(!h.active(&fresh).await);
}

/// Issue 12.4: a full code store refuses new codes (RFC 6749 4.1.2.1 `temporarily_unavailable`)
/// and keeps its redeemed codes, so a replay is still detected and still revokes.
#[tokio::test]
async fn a_full_code_store_refuses_new_codes_and_still_catches_replays() {
    let h = start_limited(StoreLimits::default().codes(2)).await;
    let code = h.code(&[]).await;
    let first = h.redeem(&code).await.json();
    let _second = h.code(&[]).await;
    h.authorize(&[]).await.assert_redirected_error(
        "temporarily_unavailable",
        Some("state-1"),
        h.issuer.url(),
    );
    h.redeem(&code)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(!h.active(&field(&first, "access_token")).await);
    // Codes live a minute: then there is room.
    h.clock.advance(61);
    h.code(&[]).await;
    let sizes = h.issuer.state().store_sizes();
    assert_eq!(sizes.evicted, 0, "{sizes:?}");
}

/// Reuse detection (RFC 9700 4.14.2) costs one entry per grant, however often it rotates: every
/// spent token of the chain is still recognised and revokes the grant.
#[tokio::test]
async fn every_spent_refresh_token_is_recognised_with_one_entry_per_grant() {
    let h = start().await;
    let first = h.tokens(&[]).await;
    let mut spent = vec![field(&first, "refresh_token")];
    for _ in 0..20 {
        let next = h.refresh(spent.last().unwrap()).await;
        assert_eq!(next.status, StatusCode::OK, "{}", next.body);
        spent.push(field(&next.json(), "refresh_token"));
    }
    let current = spent.pop().unwrap();
    assert_eq!(h.issuer.state().store_sizes().refresh_tokens, 1);
    // Any spent token, even the first of twenty, ends the grant.
    h.refresh(&spent[0])
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(!h.active(&current).await);
    h.refresh(&current)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

/// A full store of refresh grants forgets the oldest, and revokes its grant: its refresh token
/// stops working (the user signs in again) and so does every token of it.
#[tokio::test]
async fn a_full_refresh_store_forgets_the_oldest_grant() {
    let h = start_limited(StoreLimits::default().refresh_tokens(2)).await;
    let oldest = h.tokens(&[]).await;
    let second = h.tokens(&[]).await;
    let third = h.tokens(&[]).await;
    h.refresh(&field(&oldest, "refresh_token"))
        .await
        .assert_oauth_error(400, "invalid_grant");
    for tokens in [&second, &third] {
        let answer = h.refresh(&field(tokens, "refresh_token")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    // Forgotten, the grant could no longer tell its spent tokens from unknown ones: it is
    // revoked, access token included.
    assert!(!h.active(&field(&oldest, "access_token")).await);
    assert!(h.active(&field(&second, "access_token")).await);
    assert_eq!(h.issuer.state().store_sizes().evicted, 1);
}

/// Issue 12.4: when a revocation the issuer must make itself (a replayed code) finds the store
/// full of live revocations, every token issued until then is revoked, so it never fails open.
#[tokio::test]
async fn a_forced_revocation_into_a_full_store_revokes_everything_issued() {
    let h = start_limited(StoreLimits::default().revocations(1)).await;
    let bystander = h.tokens(&[]).await;
    // The one grant revocation the store holds: a refresh token's.
    let revoked = h.tokens(&[]).await;
    let filler = field(&revoked, "access_token");
    assert_eq!(
        h.revoke(&field(&revoked, "refresh_token")).await.status,
        StatusCode::OK
    );
    let code = h.code(&[]).await;
    let victim = h.redeem(&code).await.json();
    h.redeem(&code)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(!h.active(&field(&victim, "access_token")).await);
    assert!(!h.active(&field(&bystander, "access_token")).await);
    assert!(!h.active(&filler).await);
    h.refresh(&field(&bystander, "refresh_token"))
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert_eq!(h.issuer.state().store_sizes().revoked_until, Some(NOW));
    // Tokens issued afterwards are valid.
    h.clock.advance(1);
    let after = h.tokens(&[]).await;
    assert!(h.active(&field(&after, "access_token")).await);
}

/// Issue 12.11, RFC 7662 4: a client learns only about its own tokens and those meant for it.
#[tokio::test]
async fn introspection_shows_a_client_its_own_tokens_only() {
    let mut config = Config::default();
    let mut gateway = config.client("forge-web").unwrap().clone();
    gateway.id = "gateway".into();
    gateway.secret = Some("gateway-secret".into());
    let mut peer = gateway.clone();
    peer.id = "peer".into();
    peer.secret = Some("peer-secret".into());
    gateway.introspect_any_token = true;
    let mut api = gateway.clone();
    api.id = "castles-api".into();
    api.secret = Some("castles-api-secret".into());
    api.introspect_any_token = false;
    config.client_mut("forge-web").unwrap().audience =
        vec!["forge-web".into(), "castles-api".into()];
    config.clients.extend([gateway, peer, api]);
    let h = start_with(config).await;
    let tokens = h.tokens(&[]).await;
    let introspect = |who: (&'static str, &'static str), token: String| {
        let h = &h;
        async move {
            h.post_form("/introspect", &[("token", &token)], Some(who))
                .await
                .json()
        }
    };
    let access = field(&tokens, "access_token");
    let refresh = field(&tokens, "refresh_token");
    assert_eq!(introspect(WEB, access.clone()).await["active"], true);
    assert_eq!(introspect(WEB, refresh.clone()).await["active"], true);
    // Another client: as if the tokens did not exist.
    let peer = ("peer", "peer-secret");
    assert_eq!(
        introspect(peer, access.clone()).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(peer, refresh.clone()).await,
        serde_json::json!({"active": false})
    );
    // The audience of the access token may introspect it, not the client's refresh token.
    let api = ("castles-api", "castles-api-secret");
    assert_eq!(introspect(api, access.clone()).await["active"], true);
    assert_eq!(introspect(api, refresh.clone()).await["active"], false);
    // A client configured to see everything does.
    let gateway = ("gateway", "gateway-secret");
    assert_eq!(introspect(gateway, access).await["active"], true);
    assert_eq!(introspect(gateway, refresh).await["active"], true);
}

/// A flood of new grants cannot erase reuse detection (review F1): the thief of a refresh token
/// who refreshed first keeps nothing once the victim's family is forgotten, since a forgotten
/// family's grant is revoked.
#[tokio::test]
async fn a_flood_of_grants_does_not_let_a_stolen_refresh_token_survive() {
    let h = start_limited(StoreLimits::default().refresh_tokens(3)).await;
    let victim = h.tokens(&[]).await;
    let stolen = field(&victim, "refresh_token");
    let thief = h.refresh(&stolen).await.json();
    assert!(h.active(&field(&thief, "access_token")).await);
    for _ in 0..3 {
        h.tokens(&[]).await;
    }
    assert!(
        !h.active(&field(&thief, "access_token")).await,
        "the thief's access token"
    );
    h.refresh(&field(&thief, "refresh_token"))
        .await
        .assert_oauth_error(400, "invalid_grant");
    h.refresh(&stolen)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

/// A forced revocation into a full store (review F5) sweeps the tokens of the client whose grant
/// it was, not every client's.
#[tokio::test]
async fn a_forced_revocation_sweeps_only_its_own_client() {
    let mut config = Config::default();
    let mut other = config.client("forge-web").unwrap().clone();
    other.id = "other-web".into();
    other.secret = Some("other-secret".into());
    config.clients.push(other);
    let h = start_built(
        MockIssuer::builder()
            .config(config)
            .store_limits(StoreLimits::default().revocations(2)),
    )
    .await;
    let other_client = ("other-web", "other-secret");
    let other_tokens = || async {
        let code = h.code(&[("client_id", "other-web")]).await;
        h.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
            Some(other_client),
        )
        .await
        .json()
    };
    let bystander = other_tokens().await;
    // other-web's own revocation, which forge-web's trouble must not undo.
    let revoked = other_tokens().await;
    let answer = h
        .post_form(
            "/revoke",
            &[("token", str_of(&revoked, "refresh_token"))],
            Some(other_client),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let filler = h.tokens(&[]).await;
    assert_eq!(
        h.revoke(&field(&filler, "refresh_token")).await.status,
        StatusCode::OK
    );
    let same_client = h.tokens(&[]).await;
    let code = h.code(&[]).await;
    h.redeem(&code).await;
    h.redeem(&code)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(
        !h.active(&field(&same_client, "access_token")).await,
        "forge-web's tokens"
    );
    let active_for_other = h
        .post_form(
            "/introspect",
            &[("token", str_of(&bystander, "access_token"))],
            Some(other_client),
        )
        .await
        .json()["active"]
        == true;
    assert!(
        active_for_other,
        "other-web's tokens are not forge-web's to lose"
    );
    let revoked_for_other = h
        .post_form(
            "/introspect",
            &[("token", str_of(&revoked, "access_token"))],
            Some(other_client),
        )
        .await
        .json()["active"]
        == true;
    assert!(
        !revoked_for_other,
        "other-web's revocation stands after forge-web's sweep"
    );
}
