//! Interop with relying-party crates we did not write: `openidconnect` (openidconnect-rs, an
//! OpenID Foundation listed Rust RP library) and `oauth2` run their own flows against the issuer
//! started in-process on 127.0.0.1 port 0, and verify what it returns with their own verifiers.
//!
//! The crates are used without default features, so they bring neither reqwest 0.12 nor any TLS
//! stack: [`Http`] adapts the workspace's reqwest (rustls, redirects never followed, as the
//! crates' documentation asks against SSRF) to their `AsyncHttpClient` trait. The authorization
//! redirect is followed by hand, the default configuration signing alice in automatically.
//!
//! Every signature here is checked by the crates' RustCrypto verifiers (`rsa`, `p256`,
//! `ed25519-dalek`), not by the aws-lc code that signed it, and access tokens also by
//! `jsonwebtoken`: a key, `kid` or encoding our JWKS gets wrong fails here.

use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oidc_forge::config::{ClientConfig, SigningAlg};
use oidc_forge::{Config, MockIssuer};
use oidc_forge_conformance::env::{ALICE, REDIRECT_URI, SPA_CLIENT, SPA_REDIRECT_URI, WEB_CLIENT};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGrantType, CoreIdToken, CoreIdTokenClaims,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
    CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, IntrospectionUrl, IssuerUrl, JsonWebKey, LogoutRequest,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadata,
    RedirectUrl, RequestTokenError, RevocationUrl, Scope, SubjectIdentifier,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

type TestResult = Result<(), Box<dyn std::error::Error>>;

// ------------------------------------------------------------------------ the HTTP adapter

/// Why a request through [`Http`] failed.
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("cannot rebuild the response: {0}")]
    Response(#[from] openidconnect::http::Error),
}

/// The workspace's reqwest 0.13 (rustls) as the crates' HTTP client.
#[derive(Debug, Clone)]
struct Http(reqwest::Client);

impl Http {
    fn new() -> Self {
        Self(oidc_forge_conformance::http::client())
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(builder.body(body)?)
        })
    }
}

// ------------------------------------------------------------------- discovery and client

/// The endpoints Discovery 3 leaves to other specs, read from our discovery document:
/// RP-Initiated Logout 1.0 section 2.1 `end_session_endpoint`, RFC 8414 2
/// `introspection_endpoint` and `revocation_endpoint`. Required here: their absence is a bug.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ForgeMetadata {
    end_session_endpoint: EndSessionUrl,
    introspection_endpoint: IntrospectionUrl,
    revocation_endpoint: RevocationUrl,
}

impl AdditionalProviderMetadata for ForgeMetadata {}

type ForgeProviderMetadata = ProviderMetadata<
    ForgeMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A discovered client with every endpoint the issuer advertises.
type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One relying party: the crate's client, built from discovery alone.
struct Party {
    http: Http,
    metadata: ForgeProviderMetadata,
    client: Rp,
}

impl Party {
    /// Discovery 4: `openidconnect` fetches the document and the JWKS and checks that the
    /// document's `issuer` is exactly the URL it was discovered from.
    async fn discover(
        issuer: &MockIssuer,
        client_id: &str,
        secret: Option<&str>,
        redirect_uri: &str,
        auth: AuthType,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let http = Http::new();
        let metadata =
            ForgeProviderMetadata::discover_async(IssuerUrl::new(issuer.url().into())?, &http)
                .await?;
        let extra = metadata.additional_metadata().clone();
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(client_id.into()),
            secret.map(|secret| ClientSecret::new(secret.into())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.into())?)
        .set_introspection_url(extra.introspection_endpoint)
        .set_revocation_url(extra.revocation_endpoint)
        .set_auth_type(auth);
        Ok(Self {
            http,
            metadata,
            client,
        })
    }

    /// The code flow with PKCE S256 and a nonce, up to the verified ID token. The authorize
    /// redirect is followed by hand: the issuer signs the default user in and answers 302.
    async fn code_flow(
        &self,
        scopes: &[&str],
        expected_alg: CoreJwsSigningAlgorithm,
    ) -> Result<Login, Box<dyn std::error::Error>> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).into()));
        }
        let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();

        let answer = self.http.0.get(url).send().await?;
        if answer.status() != 302 {
            return Err(format!(
                "authorize answered {} instead of the 302 to the client",
                answer.status()
            )
            .into());
        }
        let location = answer
            .headers()
            .get("location")
            .ok_or("authorize's 302 has no Location")?
            .to_str()?;
        let location = url::Url::parse(location)?;
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let redirect = self
            .client
            .redirect_uri()
            .ok_or("the client has a redirect URI")?;
        assert_eq!(
            location.as_str().split('?').next(),
            Some(redirect.as_str()),
            "RFC 6749 4.1.2: the answer goes to the registered redirect URI"
        );
        assert_eq!(
            param("state").as_deref(),
            Some(csrf.secret().as_str()),
            "RFC 6749 4.1.2: state comes back unchanged"
        );
        assert_eq!(
            param("iss").as_deref(),
            Some(self.metadata.issuer().as_str()),
            "RFC 9207 2: the authorization response names the issuer"
        );
        let code = param("code").ok_or("no code in the authorization response")?;

        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await?;
        let id_token = tokens
            .id_token()
            .ok_or("Core 3.1.3.3: the token response of an openid request has an id_token")?
            .clone();
        let id_verifier = self
            .client
            .id_token_verifier()
            .set_allowed_algs([expected_alg.clone()]);
        // Core 3.1.3.7: signature with a JWKS key, iss, aud, azp, exp, iat, nonce.
        let claims = id_token.claims(&id_verifier, &nonce)?.clone();
        assert_eq!(id_token.signing_alg()?, &expected_alg);
        // Core 3.1.3.8: at_hash, the left half of the access token's hash.
        let at_hash = claims
            .access_token_hash()
            .ok_or("the ID token has an at_hash")?;
        let computed = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg()?,
            id_token.signing_key(&id_verifier)?,
        )?;
        assert_eq!(at_hash, &computed, "Core 3.1.3.8: at_hash matches");
        Ok(Login {
            tokens,
            id_token,
            claims,
            nonce,
        })
    }
    /// RFC 6749 6 then Core 5.3: refreshes the login's tokens and calls UserInfo with the new
    /// access token, expecting the login's subject.
    async fn refresh_then_userinfo(
        &self,
        login: &Login,
    ) -> Result<CoreUserInfoClaims, Box<dyn std::error::Error>> {
        let refresh = login
            .tokens
            .refresh_token()
            .ok_or("offline_access grants a refresh token")?;
        let refreshed = self
            .client
            .exchange_refresh_token(refresh)?
            .request_async(&self.http)
            .await?;
        let userinfo = self
            .client
            .user_info(
                refreshed.access_token().clone(),
                Some(login.claims.subject().clone()),
            )?
            .request_async(&self.http)
            .await?;
        Ok(userinfo)
    }
}

/// What a code flow produced, verified.
struct Login {
    tokens: CoreTokenResponse,
    id_token: CoreIdToken,
    claims: CoreIdTokenClaims,
    nonce: Nonce,
}

/// The default configuration; `edit` adds what a test needs.
async fn issuer(edit: impl FnOnce(&mut Config)) -> Result<MockIssuer, Box<dyn std::error::Error>> {
    let mut config = Config::default();
    edit(&mut config);
    Ok(MockIssuer::start(config).await?)
}

// ---------------------------------------------------------------------------------- tests

/// Discovery, code flow with PKCE and nonce (client_secret_basic), ID token verified by
/// openidconnect, UserInfo, refresh with rotation, introspection, revocation and logout.
#[tokio::test]
async fn openidconnect_code_flow_refresh_userinfo_with_client_secret_basic() -> TestResult {
    let issuer = issuer(|_| {}).await?;
    let party = Party::discover(
        &issuer,
        WEB_CLIENT.0,
        Some(WEB_CLIENT.1),
        REDIRECT_URI,
        AuthType::BasicAuth,
    )
    .await?;
    let login = party
        .code_flow(
            &["email", "profile", "offline_access"],
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        )
        .await?;
    let claims = &login.claims;
    assert_eq!(claims.subject().as_str(), ALICE);
    assert_eq!(claims.issuer().as_str(), issuer.url());
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        [WEB_CLIENT.0]
    );
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some(), "Core 2: auth_time is sent");

    // Core 5.3.2: UserInfo, whose sub must equal the ID token's (openidconnect checks).
    let userinfo: CoreUserInfoClaims = party
        .client
        .user_info(
            login.tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )?
        .request_async(&party.http)
        .await?;
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(
        userinfo
            .given_name()
            .and_then(|name| name.get(None))
            .map(|n| n.as_str()),
        Some("Alice")
    );

    // RFC 6749 6: refresh; RFC 9700 4.14.2: the refresh token rotates.
    let first_refresh = login
        .tokens
        .refresh_token()
        .ok_or("offline_access grants a refresh token")?
        .clone();
    let refreshed = party
        .client
        .exchange_refresh_token(&first_refresh)?
        .request_async(&party.http)
        .await?;
    assert_ne!(
        refreshed.access_token().secret(),
        login.tokens.access_token().secret()
    );
    let second_refresh = refreshed
        .refresh_token()
        .ok_or("the refresh answer carries the rotated refresh token")?;
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    // Core 12.2 allows an ID token in the refresh answer and the issuer sends one: same iss,
    // sub, aud and auth_time as the original, nonce absent or equal.
    let id_token = refreshed
        .id_token()
        .ok_or("the refresh answer of an openid grant carries an ID token")?;
    let original_nonce = login.nonce.secret().clone();
    let verifier = party.client.id_token_verifier();
    let again = id_token.claims(&verifier, |nonce: Option<&Nonce>| match nonce {
        Some(nonce) if nonce.secret() != &original_nonce => {
            Err("a refreshed ID token carries another nonce".to_owned())
        }
        _ => Ok(()),
    })?;
    assert_eq!(again.subject(), claims.subject());
    assert_eq!(again.issuer(), claims.issuer());
    assert_eq!(again.audiences(), claims.audiences());
    assert_eq!(again.auth_time(), claims.auth_time());
    let userinfo: CoreUserInfoClaims = party
        .client
        .user_info(
            refreshed.access_token().clone(),
            Some(SubjectIdentifier::new(ALICE.into())),
        )?
        .request_async(&party.http)
        .await?;
    assert_eq!(userinfo.subject().as_str(), ALICE);

    // RFC 7662 2.2, parsed by the crate: the live token is active and describes itself.
    let access = refreshed.access_token().clone();
    let introspection = party
        .client
        .introspect(&access)
        .request_async(&party.http)
        .await?;
    assert!(introspection.active());
    assert_eq!(introspection.sub(), Some(ALICE));
    assert_eq!(
        introspection.client_id().map(|c| c.as_str()),
        Some(WEB_CLIENT.0)
    );
    let scopes: Vec<String> = introspection
        .scopes()
        .ok_or("RFC 7662 2.2: scope is returned")?
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(scopes.iter().any(|s| s == "email"), "{scopes:?}");

    // RFC 7009 2.1: revoked, then RFC 7662 2.2 says inactive. The revocation request is sent
    // by hand: oauth2 refuses a revocation endpoint that is not https (`InsecureUrl`, after
    // RFC 7009 2's "MUST use TLS"), and the in-process issuer speaks plain http.
    let revocation = &party.metadata.additional_metadata().revocation_endpoint;
    let revoked = party
        .http
        .0
        .post(revocation.url().as_str())
        .basic_auth(WEB_CLIENT.0, Some(WEB_CLIENT.1))
        .form(&[
            ("token", access.secret().as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await?;
    assert_eq!(revoked.status(), 200, "RFC 7009 2.2");
    let after = party
        .client
        .introspect(&access)
        .request_async(&party.http)
        .await?;
    assert!(!after.active(), "RFC 7009 2.1: a revoked token is inactive");

    // RFC 9700 4.14.2: replaying the rotated refresh token is invalid_grant, a JSON error the
    // crate parses (RFC 6749 5.2).
    match party
        .client
        .exchange_refresh_token(&first_refresh)?
        .request_async(&party.http)
        .await
    {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &CoreErrorResponseType::InvalidGrant);
        }
        other => return Err(format!("replayed refresh token: {other:?}").into()),
    }

    // RP-Initiated Logout 1.0 section 2, the request as the crate builds it.
    let end_session = party
        .metadata
        .additional_metadata()
        .end_session_endpoint
        .clone();
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(&login.id_token)
        .set_client_id(ClientId::new(WEB_CLIENT.0.into()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new("http://localhost:8000/".into())?)
        .set_state(CsrfToken::new("bye".into()))
        .http_get_url();
    let answer = party.http.0.get(logout).send().await?;
    assert_eq!(answer.status(), 302);
    assert_eq!(
        answer
            .headers()
            .get("location")
            .map(|l| l.to_str())
            .transpose()?,
        Some("http://localhost:8000/?state=bye"),
        "RP-Initiated Logout 1.0 section 3: back to the registered URI with state"
    );
    issuer.shutdown().await;
    Ok(())
}

/// The same flow with client_secret_post (RFC 6749 2.3.1, the secret in the body).
#[tokio::test]
async fn openidconnect_code_flow_with_client_secret_post() -> TestResult {
    let issuer = issuer(|config| {
        if let Some(web) = config.client_mut(WEB_CLIENT.0) {
            // Only the body method, so that Basic could not be what worked.
            web.token_endpoint_auth_method = Some(oidc_forge::config::AuthMethod::ClientSecretPost);
        }
    })
    .await?;
    let party = Party::discover(
        &issuer,
        WEB_CLIENT.0,
        Some(WEB_CLIENT.1),
        REDIRECT_URI,
        AuthType::RequestBody,
    )
    .await?;
    let login = party
        .code_flow(
            &["email", "offline_access"],
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        )
        .await?;
    assert_eq!(login.claims.subject().as_str(), ALICE);
    let userinfo = party.refresh_then_userinfo(&login).await?;
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );

    // The restriction is real: the same client with Basic is refused, and the crate reads the
    // RFC 6749 5.2 invalid_client answer.
    let basic = Party::discover(
        &issuer,
        WEB_CLIENT.0,
        Some(WEB_CLIENT.1),
        REDIRECT_URI,
        AuthType::BasicAuth,
    )
    .await?;
    match basic
        .code_flow(&["email"], CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256)
        .await
    {
        Err(error) => {
            let error = error
                .downcast_ref::<RequestTokenError<
                    HttpError,
                    openidconnect::StandardErrorResponse<CoreErrorResponseType>,
                >>()
                .ok_or_else(|| format!("not a token error: {error}"))?;
            match error {
                RequestTokenError::ServerResponse(response) => {
                    assert_eq!(response.error(), &CoreErrorResponseType::InvalidClient)
                }
                other => return Err(format!("expected invalid_client, got {other:?}").into()),
            }
        }
        Ok(_) => return Err("client_secret_basic was accepted for a post-only client".into()),
    }
    issuer.shutdown().await;
    Ok(())
}

/// A public client (RFC 6749 2.1): no secret, PKCE only, `token_endpoint_auth_method=none`.
#[tokio::test]
async fn openidconnect_public_client_with_pkce() -> TestResult {
    let issuer = issuer(|_| {}).await?;
    let party = Party::discover(
        &issuer,
        SPA_CLIENT,
        None,
        SPA_REDIRECT_URI,
        AuthType::RequestBody,
    )
    .await?;
    let login = party
        .code_flow(
            &["email", "offline_access"],
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        )
        .await?;
    assert_eq!(login.claims.subject().as_str(), ALICE);
    assert_eq!(
        login
            .claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        [SPA_CLIENT]
    );
    let userinfo = party.refresh_then_userinfo(&login).await?;
    assert_eq!(userinfo.subject().as_str(), ALICE);
    issuer.shutdown().await;
    Ok(())
}

/// ES256 and EdDSA ID tokens, signed with `fixtures/`' PEM keys, verified by openidconnect's
/// `p256` and `ed25519-dalek` code from our JWKS (RFC 7518 3.4, RFC 8037 3.1). The fixture's
/// JWKS also publishes a second, non-signing RS256 key: the verifier must pick by `kid`.
#[tokio::test]
async fn openidconnect_verifies_es256_and_eddsa_id_tokens_from_the_fixture_keys() -> TestResult {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/issuer.toml");
    let mut config = Config::load(path)?;
    // Bind where the test runs, not at the fixture's fixed :9000.
    config.issuer = None;
    let es256 = config
        .client("fixture-es256")
        .ok_or("fixtures/issuer.toml has fixture-es256")?
        .clone();
    assert_eq!(es256.signing_alg, Some(SigningAlg::ES256));
    let eddsa = ClientConfig {
        id: "fixture-eddsa".into(),
        secret: Some("fixture-eddsa-secret".into()),
        signing_alg: Some(SigningAlg::EdDSA),
        ..es256.clone()
    };
    config.clients.push(eddsa.clone());
    let issuer = MockIssuer::start(config).await?;

    for (client, alg) in [
        (&es256, CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        (&eddsa, CoreJwsSigningAlgorithm::EdDsa),
    ] {
        let party = Party::discover(
            &issuer,
            &client.id,
            client.secret.as_deref(),
            &client.redirect_uris[0],
            AuthType::BasicAuth,
        )
        .await?;
        let login = party.code_flow(&["email"], alg.clone()).await?;
        assert_eq!(login.claims.subject().as_str(), ALICE, "{alg:?}");
        assert_eq!(
            login.claims.email().map(|e| e.as_str()),
            Some("alice@example.com")
        );
        // The verifier is strict about the algorithm: RS256 only refuses this token.
        let rs256_only = party
            .client
            .id_token_verifier()
            .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
        assert!(
            login.id_token.claims(&rs256_only, &login.nonce).is_err(),
            "{alg:?} token accepted by an RS256-only verifier"
        );
        // The access token of this client is signed the same way; check it against the JWKS.
        let jwks = party.metadata.jwks();
        let access = verify_jwt_with_openidconnect(jwks, login.tokens.access_token())?;
        assert_eq!(access.header["alg"], serde_json::to_value(&alg)?);
        let claims =
            validate_with_jsonwebtoken(&issuer, login.tokens.access_token().secret(), &client.id)
                .await?;
        assert_eq!(access.claims, claims, "both verifiers read the same claims");
        let userinfo: CoreUserInfoClaims = party
            .client
            .user_info(
                login.tokens.access_token().clone(),
                Some(login.claims.subject().clone()),
            )?
            .request_async(&party.http)
            .await?;
        assert_eq!(userinfo.subject().as_str(), ALICE);
    }
    issuer.shutdown().await;
    Ok(())
}

// --------------------------------------------------------------- oauth2: client credentials

/// A JWT's parts after openidconnect verified its signature.
struct VerifiedJwt {
    header: serde_json::Value,
    claims: serde_json::Value,
}

/// Verifies a compact JWS (RFC 7515 7.1) with openidconnect's JWK code: the key is the JWKS
/// entry with the header's `kid`, and the algorithm must be one the key allows.
fn verify_jwt_with_openidconnect(
    jwks: &openidconnect::core::CoreJsonWebKeySet,
    token: &AccessToken,
) -> Result<VerifiedJwt, Box<dyn std::error::Error>> {
    let parts: Vec<&str> = token.secret().split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(format!("not a compact JWS: {} parts", parts.len()).into());
    };
    let header_json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
    let alg: CoreJwsSigningAlgorithm = serde_json::from_value(header_json["alg"].clone())?;
    let kid = header_json["kid"]
        .as_str()
        .ok_or("the JWT header has a kid")?;
    let key = jwks
        .keys()
        .iter()
        .find(|key| key.key_id().map(|k| k.as_str()) == Some(kid))
        .ok_or_else(|| format!("kid {kid} is not in the JWKS"))?;
    key.verify_signature(
        &alg,
        format!("{header}.{payload}").as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature)?,
    )?;
    Ok(VerifiedJwt {
        header: header_json,
        claims: serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?,
    })
}

/// Validates an access token with `jsonwebtoken` from the published JWKS: signature, `iss`,
/// `aud`, `exp`, `nbf` (RFC 9068 4, RFC 8725 3.1 and 3.8).
async fn validate_with_jsonwebtoken(
    issuer: &MockIssuer,
    token: &str,
    audience: &str,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let http = Http::new();
    let jwks: jsonwebtoken::jwk::JwkSet = http
        .0
        .get(format!("{}/.well-known/jwks.json", issuer.url()))
        .send()
        .await?
        .json()
        .await?;
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header.kid.ok_or("the access token names its key")?;
    let jwk = jwks.find(&kid).ok_or("the kid is in the JWKS")?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[issuer.url()]);
    validation.set_audience(&[audience]);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk)?,
        &validation,
    )?;
    Ok(data.claims)
}

/// RFC 6749 4.4 with the `oauth2` crate, both client authentication methods; the token is
/// then validated as a resource server would, by two verifiers that are not ours.
#[tokio::test]
async fn oauth2_client_credentials_with_basic_and_post() -> TestResult {
    let issuer = issuer(|_| {}).await?;
    let http = Http::new();
    let metadata =
        ForgeProviderMetadata::discover_async(IssuerUrl::new(issuer.url().into())?, &http).await?;
    let token_url = metadata
        .token_endpoint()
        .ok_or("Discovery 3: token_endpoint")?
        .clone();
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new(WEB_CLIENT.0.into()))
            .set_client_secret(ClientSecret::new(WEB_CLIENT.1.into()))
            .set_token_uri(TokenUrl::new(token_url.as_str().into())?)
            .set_auth_type(auth.clone());
        let tokens = client
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request_async(&http)
            .await?;
        assert_eq!(
            tokens
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec!["read".to_owned()]),
            "{auth:?}"
        );
        assert!(
            tokens.refresh_token().is_none(),
            "RFC 6749 4.4.3: no refresh token"
        );
        assert!(tokens.expires_in().is_some());

        let checked = verify_jwt_with_openidconnect(metadata.jwks(), tokens.access_token())?;
        let claims =
            validate_with_jsonwebtoken(&issuer, tokens.access_token().secret(), WEB_CLIENT.0)
                .await?;
        assert_eq!(
            checked.claims, claims,
            "both verifiers read the same claims"
        );
        assert_eq!(claims["scope"], "read");
        assert_eq!(claims["permissions"], serde_json::json!(["castles:read"]));
        assert_eq!(claims["client_id"], WEB_CLIENT.0, "RFC 9068 2.2");

        // The verifiers can fail: the same token with one signature byte changed is refused.
        let mut forged = tokens.access_token().secret().clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged)?;
        assert!(
            verify_jwt_with_openidconnect(metadata.jwks(), &AccessToken::new(forged.clone()))
                .is_err()
        );
        assert!(
            validate_with_jsonwebtoken(&issuer, &forged, WEB_CLIENT.0)
                .await
                .is_err()
        );
    }

    // RFC 6749 5.2 as oauth2 reads it: a wrong secret is invalid_client.
    let wrong = BasicClient::new(ClientId::new(WEB_CLIENT.0.into()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(TokenUrl::new(token_url.as_str().into())?);
    match wrong
        .exchange_client_credentials()
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &BasicErrorResponseType::InvalidClient);
            assert!(error.error_description().is_some());
        }
        other => return Err(format!("wrong secret: {other:?}").into()),
    }
    // RFC 6749 5.2: a scope the client may not have is invalid_scope.
    let client = BasicClient::new(ClientId::new(WEB_CLIENT.0.into()))
        .set_client_secret(ClientSecret::new(WEB_CLIENT.1.into()))
        .set_token_uri(TokenUrl::new(token_url.as_str().into())?);
    match client
        .exchange_client_credentials()
        .add_scope(Scope::new("admin".into()))
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &BasicErrorResponseType::InvalidScope);
        }
        other => return Err(format!("unknown scope: {other:?}").into()),
    }
    issuer.shutdown().await;
    Ok(())
}
