//! Several issuers in one server (`[tenants.SLUG]`): each at the root's URL + `/SLUG`, with its
//! own identifier, keys, clients, users and sessions, and nothing of one accepted by another.

use oidc_forge::config::DEFAULT_CONFIG_TOML;
use oidc_forge::{Config, MockIssuer};
use reqwest::StatusCode;

use crate::support::*;

const CAROL: &str = "5d6e7f80-91a2-4b3c-8d4e-5f6071829304";

/// The embedded default at the root, and tenant `acme` with a `forge-web` of its own (another
/// secret), one user, and no keys listed (so its keys are made at start).
fn two_tenants() -> Config {
    let text = format!(
        r#"{DEFAULT_CONFIG_TOML}
[tenants.acme.login]
mode = "auto"

[tenants.acme.scopes.openid]
claims = ["email"]
[tenants.acme.scopes.offline_access]

[[tenants.acme.clients]]
id = "forge-web"
secret = "acme-secret"
redirect_uris = ["{REDIRECT_URI}"]
scopes = ["openid", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]

[[tenants.acme.users]]
sub = "{CAROL}"
email = "carol@acme.test"
"#
    );
    Config::from_toml_str(&text, "two tenants").expect("a valid configuration")
}

#[tokio::test]
async fn each_tenant_is_an_issuer_of_its_own() {
    let mut h = start_with(two_tenants()).await;
    let root_url = h.issuer.url().to_owned();
    let tenant = h.issuer.tenant("acme").expect("tenant acme");
    assert_eq!(tenant.url(), format!("{root_url}/acme"));
    assert!(h.issuer.tenant("other").is_none());
    let slugs: Vec<&str> = h.issuer.tenants().map(|(slug, _)| slug).collect();
    assert_eq!(slugs, ["acme"]);

    // Discovery names the tenant, at the suffixed and the RFC 8414 3.1 inserted paths.
    let doc = h.http.get(tenant.discovery_url()).send().await.unwrap();
    let doc: serde_json::Value = doc.json().await.unwrap();
    assert_eq!(doc["issuer"], tenant.url());
    assert_eq!(doc["token_endpoint"], format!("{}/api/token", tenant.url()));
    let inserted = h
        .http
        .get(format!(
            "{root_url}/.well-known/oauth-authorization-server/acme"
        ))
        .send()
        .await
        .unwrap();
    let inserted: serde_json::Value = inserted.json().await.unwrap();
    assert_eq!(inserted["issuer"], tenant.url());

    // Its own keys: no kid and no key material shared with the root.
    let root_kids = h.jwks_kids().await;
    h.base = tenant.url().to_owned();
    let tenant_jwks = h.jwks().await;
    let tenant_kids = h.jwks_kids().await;
    assert_eq!(tenant_kids, ["acme-rs256", "acme-es256", "acme-eddsa"]);
    assert!(tenant_kids.iter().all(|kid| !root_kids.contains(kid)));
    let root_jwks = {
        h.base = root_url.clone();
        h.jwks().await
    };
    let moduli = |jwks: &serde_json::Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["n"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        moduli(&tenant_jwks)
            .iter()
            .all(|n| !moduli(&root_jwks).contains(n))
    );

    // A code flow at the tenant: its user, its identifier, its client's secret.
    h.base = tenant.url().to_owned();
    let code = h.code(&[("scope", "openid offline_access")]).await;
    let refused = h.redeem(&code).await;
    refused.assert_oauth_error(401, "invalid_client");
    let code = h.code(&[("scope", "openid offline_access")]).await;
    let answer = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
            Some(("forge-web", "acme-secret")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let tokens = answer.json();
    let access_token = str_of(&tokens, "access_token").to_owned();
    let (header, claims) = decode(&access_token);
    assert_eq!(claims["iss"], tenant.url());
    assert_eq!(claims["sub"], CAROL);
    assert_eq!(header["kid"], "acme-rs256");
    assert!(rsa_verifies(jwk(&tenant_jwks, "acme-rs256"), &access_token));
    assert_eq!(h.userinfo(&access_token).await.status, StatusCode::OK);

    // The root knows nothing of it: UserInfo refuses the token, introspection calls it inactive.
    h.base = root_url.clone();
    let userinfo = h.userinfo(&access_token).await;
    assert_eq!(
        userinfo.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        userinfo.body
    );
    assert!(!h.active(&access_token).await);
    let refresh = h.refresh(str_of(&tokens, "refresh_token")).await;
    refresh.assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn sessions_and_the_admin_api_stay_with_their_tenant() {
    let mut h = start_with(two_tenants()).await;
    let answer = h.authorize(&[]).await;
    let root_cookie = answer.cookie("oidc_forge_session").expect("a root session");
    h.base = h.issuer.tenant("acme").unwrap().url().to_owned();
    let answer = h.authorize(&[("scope", "openid")]).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert!(
        answer.cookie("oidc_forge_session_acme").is_some(),
        "the tenant's session cookie has a name of its own: {:?}",
        answer.headers
    );
    assert!(answer.cookie("oidc_forge_session").is_none());
    // The root's session cookie means nothing to the tenant: its user is signed in afresh.
    let answer = h
        .authorize_with_cookie(
            &[("scope", "openid")],
            Some(&format!("oidc_forge_session={root_cookie}")),
        )
        .await;
    assert!(answer.cookie("oidc_forge_session_acme").is_some());

    // A user added through the tenant's admin API is the tenant's alone.
    let added = h
        .admin(
            reqwest::Method::PUT,
            "/users",
            Some(serde_json::json!({
                "sub": "6e7f8091-a2b3-4c4d-9e5f-607182930415",
                "email": "dave@acme.test"
            })),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.body);
    let tenant = h.issuer.tenant("acme").unwrap();
    assert!(tenant.config().find_user("dave@acme.test").is_some());
    assert!(h.issuer.config().find_user("dave@acme.test").is_none());
}

#[test]
fn tenant_configurations_are_checked_like_the_root() {
    let tenant = |extra: &str| {
        format!(
            "{DEFAULT_CONFIG_TOML}\n{extra}\n[tenants.{{slug}}.scopes.openid]\n[[tenants.{{slug}}.clients]]\nid = \"c\"\nredirect_uris = [\"http://localhost/cb\"]\nscopes = [\"openid\"]\n[[tenants.{{slug}}.users]]\nsub = \"{CAROL}\"\nemail = \"carol@acme.test\"\n"
        )
    };
    let problems = |slug: &str, extra: &str| {
        let text = tenant(extra).replace("{slug}", slug);
        match Config::from_toml_str(&text, "t.toml") {
            Ok(_) => String::new(),
            Err(error) => error.to_string(),
        }
    };
    assert_eq!(problems("acme", ""), "", "a well-formed tenant");
    let reserved = problems("api", "");
    assert!(
        reserved.contains("tenants.api: `api` is a path"),
        "{reserved}"
    );
    let malformed = problems("Acme", "");
    assert!(malformed.contains("lowercase"), "{malformed}");
    let issuer = problems("acme", "[tenants.acme]\nissuer = \"http://elsewhere\"");
    assert!(issuer.contains("tenants.acme.issuer"), "{issuer}");
    let mut nested = two_tenants();
    let inner = nested.tenants["acme"].clone();
    let acme = nested.tenants.get_mut("acme").unwrap();
    acme.tenants.insert("b".into(), inner);
    let error = nested.validate().unwrap_err().to_string();
    assert!(
        error.contains("tenants.acme.tenants: tenants do not nest"),
        "{error}"
    );
    // A tenant's own rules carry its path.
    let text = tenant("").replace("{slug}", "acme").replace(
        "scopes = [\"openid\"]\n[[tenants.acme.users]]",
        "scopes = [\"nope\"]\n[[tenants.acme.users]]",
    );
    let error = Config::from_toml_str(&text, "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("tenants.acme.clients[0].scopes[0]"),
        "{error}"
    );
    // Deterministic responses need keys that are the same at every start.
    let text = format!(
        "[deterministic]\nnow = 1767225600\nseed = 7\n{}",
        tenant("").replace("{slug}", "acme")
    );
    let error = Config::from_toml_str(&text, "t.toml")
        .unwrap_err()
        .to_string();
    assert!(error.contains("tenants.acme.keys"), "{error}");
}

#[tokio::test]
async fn a_configuration_without_tenants_serves_one_issuer() {
    let issuer = MockIssuer::start(Config::default()).await.unwrap();
    assert_eq!(issuer.tenants().count(), 0);
    assert!(issuer.tenant("acme").is_none());
}

/// Review 13 F2-F4: a tenant takes the server's CORS policy (never more open than the root),
/// tenants whose slugs differ only by `-` and `_` keep sessions of their own, and a tenant's
/// default rotation makes a key of its own instead of the embedded next key every issuer has.
#[tokio::test]
async fn tenants_share_no_policy_cookie_or_rotated_key_by_accident() {
    let mut config = two_tenants();
    config.cors.allowed_origins = vec!["http://localhost:3000".into()];
    let acme = config.tenants["acme"].clone();
    config.tenants.insert("a-b".into(), acme.clone());
    config.tenants.insert("a_b".into(), acme);
    let mut h = start_with(config).await;
    let tenant_url = |slug: &str| h.issuer.tenant(slug).unwrap().url().to_owned();
    let (acme_url, dash_url, underscore_url) =
        (tenant_url("acme"), tenant_url("a-b"), tenant_url("a_b"));

    let jwks = h
        .http
        .get(format!("{acme_url}/.well-known/jwks.json"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(jwks.headers().get("access-control-allow-origin").is_none());
    let jwks = h
        .http
        .get(format!("{acme_url}/.well-known/jwks.json"))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        jwks.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let mut open = two_tenants();
    open.tenants.get_mut("acme").unwrap().cors.allowed_origins = vec!["http://x.test".into()];
    let error = open.validate().unwrap_err().to_string();
    assert!(error.contains("tenants.acme.cors"), "{error}");

    let mut names = Vec::new();
    for url in [&dash_url, &underscore_url] {
        h.base = url.clone();
        let answer = h.authorize(&[("scope", "openid")]).await;
        let cookie = answer.header("set-cookie").to_owned();
        names.push(cookie.split('=').next().unwrap().to_owned());
    }
    assert_eq!(
        names,
        ["oidc_forge_session_a-b", "oidc_forge_session_a_5fb"],
        "distinct names"
    );

    let tenant = h.issuer.tenant("acme").unwrap();
    let report = tenant
        .rotate_keys(std::time::Duration::from_secs(60))
        .unwrap();
    assert_ne!(report.signing_kid, "forge-rs256-next", "{report:?}");
    let root_report = h
        .issuer
        .rotate_keys(std::time::Duration::from_secs(60))
        .unwrap();
    assert_eq!(root_report.signing_kid, "forge-rs256-next");
}
