//! The API-docs example (`client/examples/api_docs.rs`) without a browser: its OpenAPI
//! document carries the issuer's authorization-code flow from discovery, its Swagger UI is
//! configured for PKCE with the client's id, and the documented routes check tokens as the API
//! example does. (`conformance/tests/browser.rs` signs in through Swagger UI in Chromium.)

mod support;

#[path = "../examples/api_docs.rs"]
mod api_docs_example;

use serde_json::Value;
use support::*;

#[tokio::test]
async fn the_docs_describe_the_issuers_flow_and_the_routes_check_tokens() {
    // The example's client reads the system clock, so the issuer does too.
    let issuer = oidc_forge::MockIssuer::start(oidc_forge::config::Config::default())
        .await
        .unwrap();
    let settings = api_docs_example::Settings {
        issuer: issuer.url().to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
    };
    let app = api_docs_example::app(&settings).await.expect("discovery");
    let (listener, url) = bind().await;
    serve(listener, app);
    let http = http();

    let doc: Value = http
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flow = &doc["components"]["securitySchemes"]["oidc"]["flows"]["authorizationCode"];
    assert_eq!(
        flow["authorizationUrl"],
        format!("{}/authorize", issuer.url())
    );
    assert_eq!(flow["tokenUrl"], format!("{}/api/token", issuer.url()));
    assert_eq!(flow["scopes"]["read"], "Read the castles");
    assert_eq!(
        doc["paths"]["/castles"]["get"]["security"][0]["oidc"],
        serde_json::json!(["openid", "read"])
    );

    let initializer = http
        .get(format!("{url}/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""clientId": "forge-web""#),
        "{initializer}"
    );
    assert!(
        initializer.contains(r#""usePkceWithAuthorizationCodeGrant": true"#),
        "{initializer}"
    );

    let castles = format!("{url}/castles");
    assert_eq!(http.get(&castles).send().await.unwrap().status(), 401);
    let token = |permissions: &[&str]| {
        issuer
            .mint()
            .access_token()
            .scopes(["openid", "read"])
            .permissions(permissions.iter().copied())
            .sign()
            .unwrap()
    };
    let allowed = http
        .get(&castles)
        .bearer_auth(token(&["castles:read"]))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(body["for"], ALICE);
    let refused = http
        .get(&castles)
        .bearer_auth(token(&[]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}
