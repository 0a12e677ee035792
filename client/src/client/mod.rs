//! The [`Client`]: Fief's `Fief`/`FiefAsync` in Rust, validating strictly.
//!
//! - `builder`: [`ClientBuilder`] and [`ClientAuthMethod`];
//! - `requests`: what the app asks for: authorization, code exchange, refresh, logout, and the
//!   [`Requirements`] a token must meet.

mod builder;
mod requests;

pub use builder::*;
pub use requests::*;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm;
use std::sync::Arc;
use url::Url;

use crate::clock::Clock;
use crate::discovery::{ProviderMetadata, check_metadata};
use crate::error::{Error, TokenError};
use crate::http::{Body, send};
use crate::jwks::{JwksCache, KeyLookupError, parse_jwks};
use crate::tokens::{AccessTokenInfo, IdTokenClaims, TokenResponse, UserInfo};
use crate::validate::{self, AccessTokenRules, IdTokenRules, ParsedJwt};

#[derive(Default)]
struct MetadataState {
    metadata: Option<Arc<ProviderMetadata>>,
    last_failure: Option<(u64, String)>,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    auth_method: ClientAuthMethod,
    algorithms: Vec<Algorithm>,
    access_token_audiences: Vec<String>,
    trusted_id_token_audiences: Vec<String>,
    leeway: u64,
    max_token_bytes: usize,
    require_access_token_typ: bool,
    discovery_url: String,
    discovery_cooldown: u64,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<MetadataState>,
    jwks: JwksCache,
}

/// An OpenID Connect client and resource-server validator. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .field("auth_method", &self.inner.auth_method)
            .field("algorithms", &self.inner.algorithms)
            .finish_non_exhaustive()
    }
}

enum VerifyFailure {
    Token(TokenError),
    Other(Error),
}

impl Client {
    /// Starts configuring a client for `issuer` (the exact issuer identifier,
    /// e.g. `https://fief.mydomain.com`) and `client_id`.
    pub fn builder(issuer: impl Into<String>, client_id: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(issuer.into(), client_id.into())
    }

    /// Fief's constructor: issuer, client id and optional secret, defaults otherwise.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<String>,
    ) -> Result<Self, Error> {
        Self::builder(issuer, client_id)
            .maybe_client_secret(client_secret)
            .build()
    }

    /// The configured issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The clock the client validates with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// How many times the JWKS has been fetched (diagnostics; shows the
    /// single-flight and cooldown at work).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.jwks.fetch_count()
    }

    /// The issuer's metadata, fetched on first use and cached for the life of
    /// the client. A failed fetch is retried, at most once per cooldown.
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        let mut state = self.inner.metadata.lock().await;
        if let Some(metadata) = &state.metadata {
            return Ok(metadata.clone());
        }
        let now = self.inner.clock.now();
        if let Some((at, error)) = &state.last_failure
            && now < at.saturating_add(self.inner.discovery_cooldown)
        {
            return Err(Error::Discovery(error.clone()));
        }
        match self.fetch_metadata().await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                state.metadata = Some(metadata.clone());
                state.last_failure = None;
                Ok(metadata)
            }
            Err(error) => {
                state.last_failure = Some((now, error.clone()));
                Err(Error::Discovery(error))
            }
        }
    }

    async fn fetch_metadata(&self) -> Result<ProviderMetadata, String> {
        const ENDPOINT: &str = "discovery endpoint";
        let body = send(self.inner.http.get(&self.inner.discovery_url), ENDPOINT)
            .await
            .and_then(|body| body.success(ENDPOINT))
            .map_err(|error| error.to_string())?;
        let metadata: ProviderMetadata = body.json(ENDPOINT).map_err(|error| error.to_string())?;
        check_metadata(&metadata, &self.inner.issuer)?;
        Ok(metadata)
    }

    /// Builds the authorization URL from the discovered `authorization_endpoint`
    /// (Fief's `auth_url`).
    pub async fn auth_url(&self, request: &AuthorizationRequest) -> Result<Url, Error> {
        let metadata = self.metadata().await?;
        if let Some((name, _)) = request
            .extras
            .iter()
            .find(|(name, _)| RESERVED_AUTHORIZATION_PARAMS.contains(&name.as_str()))
        {
            return Err(Error::Configuration(format!(
                "the extra parameter {name:?} would override one the client sets itself"
            )));
        }
        let mut url = Url::parse(&metadata.authorization_endpoint)
            .map_err(|error| Error::Discovery(format!("authorization_endpoint: {error}")))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.inner.client_id)
                .append_pair("redirect_uri", &request.redirect_uri);
            if !request.scopes.is_empty() {
                query.append_pair("scope", &request.scopes.join(" "));
            }
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
            if let Some(nonce) = &request.nonce {
                query.append_pair("nonce", nonce);
            }
            if let Some((challenge, method)) = &request.code_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", method);
            }
            if let Some(max_age) = request.max_age {
                query.append_pair("max_age", &max_age.to_string());
            }
            for (name, value) in &request.extras {
                query.append_pair(name, value);
            }
        }
        Ok(url)
    }

    async fn token_request(&self, mut form: Vec<(&str, String)>) -> Result<TokenResponse, Error> {
        const ENDPOINT: &str = "token endpoint";
        let metadata = self.metadata().await?;
        let mut request = self
            .inner
            .http
            .post(&metadata.token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json");
        match (self.inner.auth_method, &self.inner.client_secret) {
            (ClientAuthMethod::ClientSecretBasic, Some(secret)) => {
                // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
                let encode = |value: &str| {
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                };
                let credentials = format!("{}:{}", encode(&self.inner.client_id), encode(secret));
                request = request.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(credentials)),
                );
            }
            (ClientAuthMethod::ClientSecretPost, Some(secret)) => {
                form.push(("client_id", self.inner.client_id.clone()));
                form.push(("client_secret", secret.clone()));
            }
            _ => form.push(("client_id", self.inner.client_id.clone())),
        }
        let body = send(request.form(&form), ENDPOINT)
            .await?
            .success(ENDPOINT)?;
        let response: TokenResponse = body.json(ENDPOINT)?;
        check_token_response(&response).map_err(|reason| Error::InvalidResponse {
            endpoint: ENDPOINT,
            reason,
        })?;
        Ok(response)
    }

    /// Redeems an authorization code (Fief's `auth_callback`): returns the
    /// tokens and the validated ID-token claims.
    ///
    /// The ID token is required and checked per Core 3.1.3.7, including the
    /// nonce, `at_hash` and `c_hash`. If any check fails, no token is returned
    /// (Core 3.1.3.7(11); RFC 9700 4.5.3.2).
    pub async fn auth_callback(
        &self,
        exchange: CodeExchange,
    ) -> Result<(TokenResponse, IdTokenClaims), Error> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", exchange.code.clone()),
            ("redirect_uri", exchange.redirect_uri.clone()),
        ];
        if let Some(verifier) = &exchange.code_verifier {
            form.push(("code_verifier", verifier.clone()));
        }
        let tokens = self.token_request(form).await?;
        let id_token = tokens.id_token.as_deref().ok_or_else(|| {
            Error::IdTokenInvalid(TokenError::Malformed(
                "the token response has no id_token (was `openid` requested?)".into(),
            ))
        })?;
        let claims = self
            .validate_id_token_with(
                id_token,
                exchange.nonce.as_deref(),
                Some(&tokens.access_token),
                Some(&exchange.code),
                None,
                exchange.max_age,
            )
            .await?;
        Ok((tokens, claims))
    }

    /// Uses a refresh token (RFC 6749 6). A returned ID token is validated,
    /// and must keep the original subject when one is given (Core 12.2).
    pub async fn refresh(
        &self,
        request: RefreshRequest,
    ) -> Result<(TokenResponse, Option<IdTokenClaims>), Error> {
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", request.refresh_token.clone()),
        ];
        if let Some(scopes) = &request.scopes {
            form.push(("scope", scopes.join(" ")));
        }
        let tokens = self.token_request(form).await?;
        let claims = match tokens.id_token.as_deref() {
            Some(id_token) => Some(
                self.validate_id_token_with(
                    id_token,
                    None,
                    Some(&tokens.access_token),
                    None,
                    request.previous_subject.as_deref(),
                    None,
                )
                .await?,
            ),
            None => None,
        };
        Ok((tokens, claims))
    }

    /// Fief's `auth_refresh_token(refresh_token, scope=...)`, with the `sub`
    /// of the session's ID token, which a refreshed ID token must keep
    /// (Core 12.2; Fief does not check it).
    pub async fn auth_refresh_token(
        &self,
        refresh_token: &str,
        previous_subject: &str,
        scopes: Option<&[&str]>,
    ) -> Result<(TokenResponse, Option<IdTokenClaims>), Error> {
        let mut request = RefreshRequest::new(refresh_token, previous_subject);
        if let Some(scopes) = scopes {
            request = request.scope(scopes.iter().copied());
        }
        self.refresh(request).await
    }

    /// The client credentials grant (RFC 6749 4.4), for machine-to-machine calls.
    pub async fn client_credentials(&self, scopes: &[&str]) -> Result<TokenResponse, Error> {
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !scopes.is_empty() {
            form.push(("scope", scopes.join(" ")));
        }
        self.token_request(form).await
    }

    async fn verify(&self, token: &str) -> Result<(ParsedJwt, Algorithm), VerifyFailure> {
        let parsed = validate::parse_compact(token, self.inner.max_token_bytes)
            .map_err(VerifyFailure::Token)?;
        let alg = validate::check_algorithm(&parsed.alg, &self.inner.algorithms)
            .map_err(VerifyFailure::Token)?;
        let metadata = self.metadata().await.map_err(VerifyFailure::Other)?;
        let now = self.inner.clock.now();
        let fetch = || async {
            const ENDPOINT: &str = "JWKS endpoint";
            let body: Body = send(self.inner.http.get(&metadata.jwks_uri), ENDPOINT)
                .await
                .and_then(|body| body.success(ENDPOINT))
                .map_err(|error| error.to_string())?;
            let document: serde_json::Value =
                body.json(ENDPOINT).map_err(|error| error.to_string())?;
            parse_jwks(&document)
        };
        let keys = self
            .inner
            .jwks
            .keys_for(parsed.kid.as_deref(), alg, now, fetch)
            .await
            .map_err(|error| match error {
                KeyLookupError::NoMatch(what) => VerifyFailure::Token(TokenError::UnknownKey(what)),
                KeyLookupError::Unavailable(why) => {
                    VerifyFailure::Other(Error::KeysUnavailable(why))
                }
            })?;
        // Core 10.1: without a kid, try each key that fits the algorithm.
        if keys
            .iter()
            .any(|key| validate::verify_signature(&parsed, key, alg).is_ok())
        {
            Ok((parsed, alg))
        } else {
            Err(VerifyFailure::Token(TokenError::BadSignature))
        }
    }

    /// Validates an access token and checks `requirements` (Fief's
    /// `validate_access_token`): signature from the issuer's JWKS, `typ`,
    /// `iss`, `aud`, `exp`/`nbf`/`iat`, claim types, then scopes, `acr` and
    /// permissions.
    pub async fn validate_access_token(
        &self,
        token: &str,
        requirements: &Requirements,
    ) -> Result<AccessTokenInfo, Error> {
        let invalid = |error: TokenError| match error {
            TokenError::Expired {
                expired_ago,
                leeway,
            } => Error::AccessTokenExpired {
                expired_ago,
                leeway,
            },
            other => Error::AccessTokenInvalid(other),
        };
        let (parsed, _alg) = self.verify(token).await.map_err(|failure| match failure {
            VerifyFailure::Token(error) => invalid(error),
            VerifyFailure::Other(error) => error,
        })?;
        let rules = AccessTokenRules {
            issuer: &self.inner.issuer,
            audiences: &self.inner.access_token_audiences,
            require_typ: self.inner.require_access_token_typ,
            leeway: self.inner.leeway,
            now: self.inner.clock.now(),
        };
        let info = validate::into_access_token_info(parsed, token, &rules).map_err(invalid)?;
        requirements.check(&info)?;
        Ok(info)
    }

    /// Validates an ID token outside the code flow (e.g. one kept in a session).
    /// `nonce` is checked when given.
    pub async fn validate_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        self.validate_id_token_with(id_token, nonce, None, None, None, None)
            .await
    }

    async fn validate_id_token_with(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
        code: Option<&str>,
        previous_subject: Option<&str>,
        max_age: Option<u64>,
    ) -> Result<IdTokenClaims, Error> {
        let (parsed, alg) = self
            .verify(id_token)
            .await
            .map_err(|failure| match failure {
                VerifyFailure::Token(error) => Error::IdTokenInvalid(error),
                VerifyFailure::Other(error) => error,
            })?;
        let rules = IdTokenRules {
            issuer: &self.inner.issuer,
            client_id: &self.inner.client_id,
            trusted_audiences: &self.inner.trusted_id_token_audiences,
            nonce,
            access_token,
            code,
            previous_subject,
            max_age,
            leeway: self.inner.leeway,
            now: self.inner.clock.now(),
        };
        validate::id_token_claims(&parsed, alg, &rules).map_err(Error::IdTokenInvalid)
    }

    /// Calls the UserInfo endpoint with the access token in the
    /// `Authorization` header (Core 5.3.1; never in the query, RFC 6750 2.3)
    /// and checks that its `sub` is `expected_subject` (Core 5.3.2).
    pub async fn userinfo(
        &self,
        access_token: &str,
        expected_subject: &str,
    ) -> Result<UserInfo, Error> {
        const ENDPOINT: &str = "userinfo endpoint";
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .userinfo_endpoint
            .as_deref()
            .ok_or_else(|| Error::Discovery("the issuer advertises no userinfo_endpoint".into()))?;
        let body = send(
            self.inner
                .http
                .get(endpoint)
                .bearer_auth(access_token)
                .header(reqwest::header::ACCEPT, "application/json"),
            ENDPOINT,
        )
        .await?
        .success(ENDPOINT)?;
        if body
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/jwt"))
        {
            return Err(Error::InvalidResponse {
                endpoint: ENDPOINT,
                reason: "signed or encrypted UserInfo responses are not supported".into(),
            });
        }
        let claims: serde_json::Map<String, serde_json::Value> = body.json(ENDPOINT)?;
        let userinfo = UserInfo::from_claims(claims).ok_or_else(|| {
            Error::UserInfoInvalid("the response has no string `sub` (Core 5.3.2)".into())
        })?;
        // Core 5.3.2: the sub in the UserInfo response MUST be verified to
        // exactly match the sub in the ID token; if not, it MUST NOT be used.
        if userinfo.sub() != expected_subject {
            return Err(Error::UserInfoInvalid(format!(
                "its sub {:?} is not the expected {:?} (Core 5.3.2)",
                userinfo.sub().chars().take(80).collect::<String>(),
                expected_subject
            )));
        }
        Ok(userinfo)
    }

    /// The issuer's logout URL from the discovered `end_session_endpoint`
    /// (RP-Initiated Logout 1.0), with `client_id` always included.
    pub async fn logout_url(&self, request: &LogoutRequest) -> Result<Url, Error> {
        let metadata = self.metadata().await?;
        let endpoint = metadata.end_session_endpoint.as_deref().ok_or_else(|| {
            Error::Discovery("the issuer advertises no end_session_endpoint".into())
        })?;
        let mut url = Url::parse(endpoint)
            .map_err(|error| Error::Discovery(format!("end_session_endpoint: {error}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &self.inner.client_id);
            if let Some(hint) = &request.id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
            if let Some(uri) = &request.post_logout_redirect_uri {
                query.append_pair("post_logout_redirect_uri", uri);
            }
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_refuses_unsafe_configuration() {
        let error = Client::builder("https://i.example", "c")
            .algorithms([Algorithm::HS256])
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("HS256 is not allowed"),
            "{error}"
        );
        assert!(Client::builder("not a url", "c").build().is_err());
        assert!(
            Client::builder("https://i.example?x=1", "c")
                .build()
                .is_err()
        );
        assert!(Client::builder("https://i.example", "").build().is_err());
        assert!(
            Client::builder("https://i.example", "c")
                .algorithms([])
                .build()
                .is_err()
        );
        assert!(
            Client::builder("https://i.example", "c")
                .client_auth_method(ClientAuthMethod::ClientSecretPost)
                .build()
                .is_err()
        );
        // A leeway beyond an hour would turn the time checks off.
        let error = Client::builder("https://i.example", "c")
            .leeway(MAX_LEEWAY + 1)
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("at most 3600 s"), "{error}");
        assert!(
            Client::builder("https://i.example", "c")
                .leeway(MAX_LEEWAY)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn token_responses_accept_any_bearer_case_and_optional_members() {
        let parse = |json: &str| serde_json::from_str::<TokenResponse>(json).unwrap();
        let minimal = parse(r#"{"access_token":"a","token_type":"bEARER"}"#);
        assert!(check_token_response(&minimal).is_ok());
        assert_eq!((minimal.expires_in, minimal.scope), (None, None));
        let dpop = parse(r#"{"access_token":"a","token_type":"DPoP","expires_in":60}"#);
        assert_eq!(
            check_token_response(&dpop).unwrap_err(),
            "token_type \"DPoP\" is not Bearer"
        );
        let empty = parse(r#"{"access_token":"","token_type":"Bearer"}"#);
        assert!(check_token_response(&empty).is_err());
    }

    #[test]
    fn requirements_check_scope_then_acr_then_permissions() {
        let info = AccessTokenInfo {
            id: "00000000-0000-0000-0000-000000000000".into(),
            scope: vec!["openid".into(), "read:all".into()],
            permissions: vec!["castles:read".into()],
            acr: Some("0".into()),
            client_id: None,
            expires_at: 0,
            access_token: String::new(),
            claims: Default::default(),
        };
        assert!(Requirements::new().check(&info).is_ok());
        let error = Requirements::new()
            .scopes(["openid", "read"])
            .check(&info)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "access token lacks required scope(s): read"
        );
        let error = Requirements::new().acr("1").check(&info).unwrap_err();
        assert!(matches!(error, Error::AcrTooLow { .. }));
        assert!(Requirements::new().acr("0").check(&info).is_ok());
        let error = Requirements::new()
            .permissions(["castles:read", "castles:write"])
            .check(&info)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "access token lacks required permission(s): castles:write"
        );
    }
}
