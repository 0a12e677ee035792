//! Minting tokens: valid ones for any user, client, scope and permission, and hostile ones
//! that are wrong in exactly one way ([`Mutation`]) and valid in every other: same header
//! members, same claims, a signature by the issuer's key, except for the one defect. A client
//! that accepts such a token has exactly that bug.
//!
//! ```
//! use oidc_forge::forge::mint::{Minter, Mutation};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let minter = Minter::offline(oidc_forge::Config::default(), None)?;
//! let expired = minter
//!     .access_token()
//!     .scope("read")
//!     .permission("castles:read")
//!     .mutate(Mutation::Expired)
//!     .sign()?;
//! assert_eq!(expired.split('.').count(), 3);
//! # Ok(())
//! # }
//! ```
//!
//! The same builder serves [`MockIssuer::mint`](crate::Issuer::mint), `POST
//! /_forge/tokens` and `oidc-forge token`; mutation names are shared by the last two
//! ([`Mutation::NAMES`]). The builder makes the unmutated token, each
//! [`Mutation`](super::mutation) edits its draft, and the draft is signed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::attacker::{ATTACKER_PEM, attacker_jwks, attacker_key, public_key_bytes};
use super::draft::Draft;
use super::mutation::Context;
pub use super::mutation::{
    ATTACKER_JKU, ATTACKER_X5U, DEFAULT_SHIFT, FOREIGN_AUDIENCE, FOREIGN_ISSUER, FORGED_NONCE,
    Mutation, MutationName, NoneSpelling, PublicKeyForm, UNKNOWN_CRITICAL_HEADER, UNKNOWN_KID,
    UNTRUSTED_AUDIENCE, parse_value,
};
pub use super::raw::{RawSigner, sign_raw};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::config::{Config, SigningAlg, UserConfig, is_scope_char};
pub use crate::keys::RsaVariant;
use crate::keys::{KeySet, SigningKey, TokenTyp, header_json};
use crate::random::TokenRng;
use crate::rules::claims::{AccessTokenClaims, IdTokenClaims, released_user_claims};
use crate::state::IssuerState;

/// Which token to mint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenKind {
    #[default]
    AccessToken,
    IdToken,
}

impl TokenKind {
    fn typ(self) -> TokenTyp {
        match self {
            TokenKind::AccessToken => TokenTyp::AccessToken,
            TokenKind::IdToken => TokenTyp::IdToken,
        }
    }
}

/// A token that cannot be minted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    #[error("no user has the email or sub `{0}`")]
    UnknownUser(String),
    #[error("no client `{0}` is registered")]
    UnknownClient(String),
    #[error("the configuration has no user to mint for")]
    NoUser,
    #[error("an ID token is about an end user; the client itself cannot be its subject")]
    ClientSubjectIdToken,
    #[error("no signing key for client `{0}`")]
    NoSigningKey(String),
    #[error("scope `{0}` has a character RFC 6749 3.3 does not allow")]
    InvalidScope(String),
    #[error("`{mutation}` needs an RS256 signing key; this client's tokens are signed with {alg}")]
    NeedsRs256 { mutation: String, alg: SigningAlg },
    #[error("`{0}` and `{1}` both decide the signature; use one")]
    ConflictingMutations(String, String),
    #[error("`{mutation}` changes `{claim}`, which this token does not have")]
    ClaimAbsent { mutation: String, claim: String },
    #[error("`{mutation}`: {message}")]
    BadArgument { mutation: String, message: String },
    #[error("unknown mutation `{0}`; `oidc-forge token --help` lists them")]
    UnknownMutation(String),
    #[error("cannot load the keys: {0}")]
    Keys(String),
    #[error("cannot encode the token: {0}")]
    Encode(String),
}

/// Where tokens are minted from: the issuer's identity, configuration, keys, clock and RNG.
#[derive(Debug, Clone)]
pub struct Minter {
    issuer: String,
    config: Arc<Config>,
    keys: Arc<KeySet>,
    clock: Arc<dyn Clock>,
    rng: Arc<TokenRng>,
}

impl Minter {
    /// The running issuer's view now.
    pub fn from_state(state: &IssuerState) -> Self {
        Self {
            issuer: state.issuer.clone(),
            config: state.config(),
            keys: state.keys(),
            clock: state.clock.clone(),
            rng: state.rng.clone(),
        }
    }

    /// Without a server, from a configuration and its keys: what `oidc-forge token` does. The
    /// issuer is `issuer`, else the configuration's, else `http://127.0.0.1:9000` (where
    /// `oidc-forge serve` listens by default). A `[deterministic]` section fixes the clock and
    /// the `jti`.
    pub fn offline(config: Config, issuer: Option<String>) -> Result<Self, MintError> {
        let keys = KeySet::from_config(&config).map_err(|e| MintError::Keys(e.to_string()))?;
        let (clock, rng): (Arc<dyn Clock>, TokenRng) = match &config.deterministic {
            Some(fixed) => (
                Arc::new(FixedClock::new(fixed.now)),
                TokenRng::seeded(fixed.seed),
            ),
            None => (Arc::new(SystemClock), TokenRng::Os),
        };
        let issuer = issuer
            .or_else(|| config.issuer.clone())
            .unwrap_or_else(|| "http://127.0.0.1:9000".to_owned());
        Ok(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            config: Arc::new(config),
            keys: Arc::new(keys),
            clock,
            rng: Arc::new(rng),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn access_token(&self) -> TokenBuilder {
        self.token(TokenKind::AccessToken)
    }

    pub fn id_token(&self) -> TokenBuilder {
        self.token(TokenKind::IdToken)
    }

    pub fn token(&self, kind: TokenKind) -> TokenBuilder {
        TokenBuilder {
            minter: self.clone(),
            kind,
            subject: Subject::Default,
            client: None,
            audience: None,
            scopes: None,
            permissions: None,
            claims: Vec::new(),
            lifetime: None,
            now: None,
            jti: None,
            nonce: None,
            at_hash_of: None,
            c_hash_of: None,
            mutations: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    /// The user automatic login signs in.
    Default,
    User(String),
    Raw(String),
    Client,
}

/// A minted token, with the header and claims it carries (for a tampered token, the claims
/// after tampering; a duplicated claim appears once, with its first value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MintedToken {
    pub token: String,
    pub header: Value,
    pub claims: Value,
}

/// Describes a token; [`sign`](Self::sign) or [`build`](Self::build) makes it. Cloning a
/// builder and adding a mutation to one clone gives a pair that differs only by the defect,
/// once the time and `jti` are fixed ([`issued_at`](Self::issued_at), [`jti`](Self::jti)).
#[derive(Debug, Clone)]
#[must_use = "a token is made by sign() or build()"]
pub struct TokenBuilder {
    minter: Minter,
    kind: TokenKind,
    subject: Subject,
    client: Option<String>,
    audience: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    permissions: Option<Vec<String>>,
    claims: Vec<(String, Value)>,
    lifetime: Option<u64>,
    now: Option<u64>,
    jti: Option<String>,
    nonce: Option<String>,
    at_hash_of: Option<String>,
    c_hash_of: Option<String>,
    mutations: Vec<Mutation>,
}

impl TokenBuilder {
    /// A configured user, by email or `sub`. Default: the auto-login user.
    pub fn user(mut self, email_or_sub: impl Into<String>) -> Self {
        self.subject = Subject::User(email_or_sub.into());
        self
    }

    /// Any subject, configured or not; it releases no user claims and has no permissions
    /// unless given.
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Subject::Raw(sub.into());
        self
    }

    /// The client itself, as `client_credentials` issues (access tokens only).
    pub fn client_subject(mut self) -> Self {
        self.subject = Subject::Client;
        self
    }

    /// The client the token is issued to (`client_id`, `azp`, default `aud`). Default: the
    /// first configured client.
    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client = Some(client_id.into());
        self
    }

    /// An audience; the first call replaces the client's default audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience
            .get_or_insert_with(Vec::new)
            .push(audience.into());
        self
    }

    /// A granted scope; the first call replaces the default (`openid`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.get_or_insert_with(Vec::new).push(scope.into());
        self
    }

    /// Granted scopes; an empty list gives an empty `scope`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = self.scopes.get_or_insert_with(Vec::new);
        list.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// A permission; the first call replaces the subject's own permissions.
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions
            .get_or_insert_with(Vec::new)
            .push(permission.into());
        self
    }

    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = self.permissions.get_or_insert_with(Vec::new);
        list.extend(permissions.into_iter().map(Into::into));
        self
    }

    /// Sets a claim, over anything the issuer would put there (the token stays validly
    /// signed: this is the token you describe, not a defect).
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.push((name.into(), value.into()));
        self
    }

    /// Seconds until `exp`. Default: the configured lifetime of the kind.
    pub fn lifetime(mut self, seconds: u64) -> Self {
        self.lifetime = Some(seconds);
        self
    }

    /// Mints as of this Unix time instead of the issuer's clock.
    pub fn issued_at(mut self, now: u64) -> Self {
        self.now = Some(now);
        self
    }

    /// The access token's `jti`. Default: a fresh one from the issuer's RNG.
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// The ID token's `nonce`.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// The ID token's `at_hash`, of this access token (Core 3.1.3.6).
    pub fn at_hash_of(mut self, access_token: impl Into<String>) -> Self {
        self.at_hash_of = Some(access_token.into());
        self
    }

    /// The ID token's `c_hash`, of this authorization code (Core 3.3.2.11).
    pub fn c_hash_of(mut self, code: impl Into<String>) -> Self {
        self.c_hash_of = Some(code.into());
        self
    }

    /// Adds a defect; any number may be combined, applied in order.
    pub fn mutate(mut self, mutation: Mutation) -> Self {
        self.mutations.push(mutation);
        self
    }

    pub fn mutations(mut self, mutations: impl IntoIterator<Item = Mutation>) -> Self {
        self.mutations.extend(mutations);
        self
    }

    /// The compact token.
    pub fn sign(self) -> Result<String, MintError> {
        self.build().map(|minted| minted.token)
    }

    /// The token with its header and claims.
    pub fn build(self) -> Result<MintedToken, MintError> {
        let minter = &self.minter;
        let config = &minter.config;
        let now = self.now.unwrap_or_else(|| minter.clock.now());
        let client = match &self.client {
            Some(id) => config
                .client(id)
                .ok_or_else(|| MintError::UnknownClient(id.clone()))?,
            None => config
                .clients
                .first()
                .ok_or_else(|| MintError::UnknownClient(String::new()))?,
        };
        let key = minter
            .keys
            .signing_key_for(Some(client))
            .cloned()
            .ok_or_else(|| MintError::NoSigningKey(client.id.clone()))?;
        let user: Option<&UserConfig> = match &self.subject {
            Subject::Default => Some(
                config
                    .auto_login_user()
                    .or_else(|| config.users.first())
                    .ok_or(MintError::NoUser)?,
            ),
            Subject::User(wanted) => Some(
                config
                    .find_user(wanted)
                    .ok_or_else(|| MintError::UnknownUser(wanted.clone()))?,
            ),
            Subject::Raw(_) | Subject::Client => None,
        };
        let sub = match (&self.subject, user) {
            (_, Some(user)) => user.sub.to_string(),
            (Subject::Raw(sub), None) => sub.clone(),
            _ => client.id.clone(),
        };
        let scopes = self.scopes.clone().unwrap_or_else(|| vec!["openid".into()]);
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.is_empty() || !s.bytes().all(is_scope_char))
        {
            return Err(MintError::InvalidScope(bad.clone()));
        }
        let is_client = self.subject == Subject::Client;

        let claims = match self.kind {
            TokenKind::AccessToken => {
                let permissions = self.permissions.clone().unwrap_or_else(|| match user {
                    Some(user) => user.permissions.clone(),
                    None if is_client => client.permissions.clone(),
                    None => Vec::new(),
                });
                let claims = AccessTokenClaims {
                    iss: minter.issuer.clone(),
                    sub,
                    aud: self
                        .audience
                        .clone()
                        .unwrap_or_else(|| client.access_token_audience()),
                    client_id: client.id.clone(),
                    azp: client.id.clone(),
                    exp: now.saturating_add(self.lifetime.unwrap_or(config.lifetimes.access_token)),
                    iat: now,
                    auth_time: (!is_client).then_some(now),
                    jti: self.jti.clone().unwrap_or_else(|| minter.rng.id()),
                    grant_id: None,
                    scope: scopes.join(" "),
                    permissions,
                    acr: "0".into(),
                };
                serde_json::to_value(claims)
            }
            TokenKind::IdToken => {
                if is_client {
                    return Err(MintError::ClientSubjectIdToken);
                }
                let claims = IdTokenClaims {
                    iss: minter.issuer.clone(),
                    sub,
                    aud: self
                        .audience
                        .clone()
                        .unwrap_or_else(|| vec![client.id.clone()]),
                    azp: client.id.clone(),
                    exp: now.saturating_add(self.lifetime.unwrap_or(config.lifetimes.id_token)),
                    iat: now,
                    auth_time: now,
                    acr: "0".into(),
                    // A minted token belongs to no session of the issuer's.
                    sid: None,
                    nonce: self.nonce.clone(),
                    at_hash: self.at_hash_of.as_deref().map(|t| key.half_hash(t)),
                    c_hash: self.c_hash_of.as_deref().map(|c| key.half_hash(c)),
                    user_claims: user
                        .map(|user| released_user_claims(config, user, &scopes))
                        .unwrap_or_default(),
                };
                serde_json::to_value(claims)
            }
        }
        .map_err(|e| MintError::Encode(e.to_string()))?;
        let Value::Object(mut claims) = claims else {
            return Err(MintError::Encode("the claims are not an object".into()));
        };
        for (name, value) in &self.claims {
            claims.insert(name.clone(), value.clone());
        }
        sign_mutated(
            &minter.issuer,
            &key,
            self.kind,
            claims,
            &self.mutations,
            now,
        )
    }
}

/// Signs `claims` as a `kind` token of `issuer` by `key`, after applying `mutations`: the last
/// step of every minted token, and how the forge makes a genuine token wrong in a given way
/// ([`super::token_response`]).
pub(crate) fn sign_mutated(
    issuer: &str,
    key: &SigningKey,
    kind: TokenKind,
    claims: Map<String, Value>,
    mutations: &[Mutation],
    now: u64,
) -> Result<MintedToken, MintError> {
    let Value::Object(header) = header_json(key.alg(), key.kid(), kind.typ().as_str()) else {
        return Err(MintError::Encode("the header is not an object".into()));
    };
    let mut draft = Draft::new(header, claims);
    let context = Context {
        typ: kind.typ(),
        now,
        issuer,
        key,
    };
    for mutation in mutations {
        mutation.apply(&mut draft, &context)?;
    }
    draft.encode(key)
}

/// The JSON face of the builder (`POST /_forge/tokens`): every field optional, named as the
/// builder's methods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(default)]
    pub kind: TokenKind,
    /// A configured user by email or `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Any subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The client itself is the subject.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_subject: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub c_hash_of: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
}

impl TokenRequest {
    pub fn into_builder(self, minter: &Minter) -> TokenBuilder {
        let mut builder = minter.token(self.kind);
        if let Some(user) = self.user {
            builder = builder.user(user);
        }
        if let Some(subject) = self.subject {
            builder = builder.subject(subject);
        }
        if self.client_subject {
            builder = builder.client_subject();
        }
        if let Some(client) = self.client {
            builder = builder.client(client);
        }
        builder.audience = self.audience;
        builder.scopes = self.scopes;
        builder.permissions = self.permissions;
        builder.claims = self.claims.into_iter().collect();
        builder.lifetime = self.lifetime;
        builder.now = self.issued_at;
        builder.jti = self.jti;
        builder.nonce = self.nonce;
        builder.at_hash_of = self.at_hash_of;
        builder.c_hash_of = self.c_hash_of;
        builder.mutations(self.mutations)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    fn minter() -> Minter {
        Minter::offline(Config::default(), Some("http://issuer.test".into())).unwrap()
    }

    #[test]
    fn conflicting_signatures_and_absent_claims_are_errors() {
        let err = minter()
            .access_token()
            .mutate(Mutation::AlgNone(NoneSpelling::Lower))
            .mutate(Mutation::ForeignKey)
            .sign()
            .unwrap_err();
        assert_eq!(
            err,
            MintError::ConflictingMutations("alg-none=none".into(), "foreign-key".into())
        );
        let err = minter()
            .id_token()
            .mutate(Mutation::MissingClaim("nonce".into()))
            .sign()
            .unwrap_err();
        assert!(matches!(err, MintError::ClaimAbsent { .. }), "{err}");
        let err = minter()
            .access_token()
            .mutate(Mutation::WithoutScope("write".into()))
            .sign()
            .unwrap_err();
        assert!(err.to_string().contains("scope write"), "{err}");
    }

    #[test]
    fn key_confusion_is_hmac_keyed_with_the_public_key_pem() {
        let minter = minter();
        let minted = minter
            .access_token()
            .mutate(Mutation::KeyConfusion(PublicKeyForm::SpkiPem))
            .build()
            .unwrap();
        let key = minter.keys.default_key().unwrap().clone();
        let pem =
            String::from_utf8(public_key_bytes(&key, PublicKeyForm::SpkiPem).unwrap()).unwrap();
        assert!(
            pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
                && pem.ends_with("-----END PUBLIC KEY-----\n")
        );
        let (input, signature) = minted.token.rsplit_once('.').unwrap();
        let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pem.as_bytes());
        let expected = aws_lc_rs::hmac::sign(&hmac, input.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.decode(signature).unwrap(),
            expected.as_ref()
        );
        assert_eq!(minted.header["alg"], "HS256");
        let pkcs1 = public_key_bytes(&key, PublicKeyForm::Pkcs1Pem).unwrap();
        assert!(pkcs1.starts_with(b"-----BEGIN RSA PUBLIC KEY-----\n"));
    }

    #[test]
    fn rs256_only_mutations_refuse_other_keys() {
        let mut config = Config::default();
        config.clients[0].signing_alg = Some(SigningAlg::ES256);
        let minter = Minter::offline(config, None).unwrap();
        let err = minter
            .access_token()
            .mutate(Mutation::ForeignKey)
            .sign()
            .unwrap_err();
        assert_eq!(
            err,
            MintError::NeedsRs256 {
                mutation: "foreign-key".into(),
                alg: SigningAlg::ES256
            }
        );
        // Everything else works with any key.
        minter
            .access_token()
            .mutate(Mutation::Expired)
            .sign()
            .unwrap();
    }

    #[test]
    fn defaults_follow_the_configuration() {
        let minted = minter()
            .access_token()
            .issued_at(100)
            .jti("j")
            .build()
            .unwrap();
        assert_eq!(
            minted.claims["sub"],
            Config::default().users[0].sub.to_string()
        );
        assert_eq!(minted.claims["scope"], "openid");
        assert_eq!(minted.claims["aud"], json!(["forge-web"]));
        assert_eq!(minted.claims["exp"], 3700);
        assert_eq!(minted.claims["iss"], "http://issuer.test");
        let cc = minter().access_token().client_subject().build().unwrap();
        assert_eq!(cc.claims["sub"], "forge-web");
        assert_eq!(cc.claims["permissions"], json!(["castles:read"]));
        assert!(cc.claims.get("auth_time").is_none());
        assert_eq!(
            minter().id_token().client_subject().sign(),
            Err(MintError::ClientSubjectIdToken)
        );
        assert_eq!(
            minter().access_token().user("carol").sign(),
            Err(MintError::UnknownUser("carol".into()))
        );
        assert_eq!(
            minter().access_token().scope("a b").sign(),
            Err(MintError::InvalidScope("a b".into()))
        );
    }
}
