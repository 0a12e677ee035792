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
//! The same builder serves [`MockIssuer::mint`](crate::MockIssuer::mint), `POST
//! /_forge/tokens` and `oidc-forge token`; mutation names are shared by the last two
//! ([`Mutation::from_str`](std::str::FromStr)).

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::{Clock, FixedClock, SystemClock};
use crate::config::{Config, SigningAlg, UserConfig, is_scope_char};
use crate::keys::{KeySet, SigningKey, TokenTyp, header_json};
use crate::random::TokenRng;
use crate::rules::claims::{AccessTokenClaims, IdTokenClaims, released_user_claims};
use crate::state::IssuerState;

/// The key of "an attacker": `fixtures/keys/attacker-rs256.pem`, never published by the issuer.
const ATTACKER_PEM: &str = include_str!("../../../fixtures/keys/attacker-rs256.pem");

/// How far in the past or future the time mutations without a number move a claim: beyond any
/// clock-skew leeway a validator should allow (jsonwebtoken's default is 60 s, the OpenID
/// conformance suite's 5 minutes).
pub const DEFAULT_SHIFT: u64 = 3600;
const WEEK: u64 = 7 * 24 * 3600;
const YEAR: u64 = 365 * 24 * 3600;
/// Values the audience and issuer mutations use: the reserved `.invalid` TLD (RFC 2606).
pub const FOREIGN_ISSUER: &str = "https://issuer.attacker.invalid";
pub const FOREIGN_AUDIENCE: &str = "https://api.attacker.invalid";
pub const UNTRUSTED_AUDIENCE: &str = "https://untrusted.attacker.invalid";
pub const UNKNOWN_KID: &str = "oidc-forge-unknown-kid";
pub const ATTACKER_JKU: &str = "https://attacker.invalid/jwks.json";
pub const ATTACKER_X5U: &str = "https://attacker.invalid/cert.pem";
/// The extension header [`Mutation::CritUnknown`] marks critical.
pub const UNKNOWN_CRITICAL_HEADER: &str = "oidc-forge-unknown";
pub const FORGED_NONCE: &str = "oidc-forge-forged-nonce";

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

/// How `alg: none` is spelled (RFC 8725 2.1; the case variants defeat a case-sensitive
/// deny-list of "none").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoneSpelling {
    /// `none`
    #[default]
    Lower,
    /// `None`
    Capitalised,
    /// `NONE`
    Upper,
    /// `nOnE`
    Mixed,
}

impl NoneSpelling {
    pub const ALL: [NoneSpelling; 4] = [
        NoneSpelling::Lower,
        NoneSpelling::Capitalised,
        NoneSpelling::Upper,
        NoneSpelling::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoneSpelling::Lower => "none",
            NoneSpelling::Capitalised => "None",
            NoneSpelling::Upper => "NONE",
            NoneSpelling::Mixed => "nOnE",
        }
    }
}

/// Which bytes of the issuer's RSA public key become the HMAC secret in
/// [`Mutation::KeyConfusion`]: what a library that reads "the key" as bytes may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKeyForm {
    /// The SubjectPublicKeyInfo PEM, `-----BEGIN PUBLIC KEY-----` with LF line ends and a final
    /// newline: the file a server publishes, and the classic CVE-2015-9235 secret.
    #[default]
    SpkiPem,
    SpkiDer,
    /// `-----BEGIN RSA PUBLIC KEY-----`.
    Pkcs1Pem,
    Pkcs1Der,
}

impl PublicKeyForm {
    pub const ALL: [PublicKeyForm; 4] = [
        PublicKeyForm::SpkiPem,
        PublicKeyForm::SpkiDer,
        PublicKeyForm::Pkcs1Pem,
        PublicKeyForm::Pkcs1Der,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicKeyForm::SpkiPem => "spki-pem",
            PublicKeyForm::SpkiDer => "spki-der",
            PublicKeyForm::Pkcs1Pem => "pkcs1-pem",
            PublicKeyForm::Pkcs1Der => "pkcs1-der",
        }
    }
}

/// One defect. Each leaves every other header member and claim as the unmutated token has
/// them, and the signature by the issuer's key over what was signed, unless the defect is the
/// signature itself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Mutation {
    // --- Time (RFC 7519 4.1.4-4.1.6; Core 3.1.3.7 (9)-(10)).
    /// `exp` [`DEFAULT_SHIFT`] seconds ago.
    Expired,
    /// `exp` N seconds ago (0: `exp` is now, already expired per RFC 7519 4.1.4), to probe a
    /// validator's leeway at its boundary.
    ExpiredBy(u64),
    /// `nbf` [`DEFAULT_SHIFT`] seconds ahead (the unmutated token has no `nbf`).
    NotYetValid,
    /// `nbf` N seconds ahead.
    NotBeforeIn(u64),
    /// `iat` [`DEFAULT_SHIFT`] seconds ahead.
    IssuedInFuture,
    /// `iat` N seconds ahead.
    IssuedInFutureBy(u64),
    /// `iat` a week in the past (the OpenID FAPI "iat is week in past" check).
    IatWeekAgo,
    /// `exp` in milliseconds: a date thousands of years ahead (RFC 7519 2 NumericDate).
    ExpInMilliseconds,
    // --- Claim values and types (RFC 7519 4.1; Core 2, 3.1.3.7).
    /// `iss` is another issuer (RFC 8725 3.8).
    WrongIssuer,
    /// `iss` with a trailing slash: the identifier must match exactly (Discovery 4.3).
    IssuerTrailingSlash,
    /// `aud` names another API only (RFC 8725 3.9, RFC 7519 4.1.3).
    WrongAudience,
    /// No `aud`.
    MissingAudience,
    /// An extra audience the client does not trust; `azp` stays (Core 3.1.3.7 (3)).
    UntrustedSecondAudience,
    /// An extra untrusted audience and no `azp` (Core 3.1.3.7 (3)-(4)); two members change,
    /// because the defect is their combination.
    UntrustedSecondAudienceWithoutAzp,
    /// The claim is absent (`exp`, `sub`, `iss`, `iat`, `aud`, `nonce`, `at_hash`...). The
    /// unmutated token must have it.
    MissingClaim(String),
    /// `exp` as a JSON string of the same number (RFC 7519 2: a NumericDate is a number).
    ExpAsString,
    /// `sub` is `null`.
    SubNull,
    /// `nonce` differs from the one requested (Core 3.1.3.7 (11)).
    InvalidNonce,
    /// `at_hash` is the hash of something else (Core 3.1.3.8).
    InvalidAtHash,
    /// `c_hash` is the hash of something else (Core 3.3.2.11).
    InvalidCHash,
    /// The scope is missing from `scope` (RFC 6750 3.1 `insufficient_scope`).
    WithoutScope(String),
    /// The permission is missing from `permissions` (RFC 9068 2.2.3.1).
    WithoutPermission(String),
    /// The payload names the claim twice, the second time with this value (RFC 7519 4: reject
    /// or use the last, consistently).
    DuplicateClaim(String, Value),
    // --- Algorithms and keys (RFC 8725 2.1, 3.1-3.2; RFC 7515 4.1).
    /// `alg` is a spelling of `none`, and the signature is empty.
    AlgNone(NoneSpelling),
    /// RS256 to HS256 confusion (CVE-2015-9235): `alg: HS256`, HMAC keyed with the issuer's RSA
    /// public key. Needs an RSA signing key.
    KeyConfusion(PublicKeyForm),
    /// Signed by the attacker's RSA key, under the issuer's `kid` (Core 3.1.3.7 (6)).
    ForeignKey,
    /// `kid` no key of the issuer has (a client may refetch the JWKS once, Core 10.1.1).
    UnknownKid,
    /// `kid` is this value (injection: `../../dev/null`, SQL, a 10 KB string; RFC 8725 3.10).
    Kid(String),
    /// No `kid`.
    NoKid,
    /// `typ` of the other kind: an access token typed `JWT` as an ID token is, an ID token
    /// typed `at+jwt` (RFC 8725 3.11, RFC 9068 4).
    WrongTyp,
    /// `typ` is this value.
    Typ(String),
    /// No `typ`.
    NoTyp,
    /// A `jku` header pointing at this URL, signed by the attacker's key whose JWKS the URL
    /// would serve ([`attacker_jwks`]); a validator must not fetch it (RFC 8725 3.10).
    Jku(String),
    /// An `x5u` header pointing at this URL, signed by the attacker's key.
    X5u(String),
    /// The attacker's public key embedded as a `jwk` header, and its signature
    /// (RFC 7515 4.1.3; keys come from the issuer, Core 3.1.3.7 (6)).
    EmbeddedJwk,
    /// `crit` lists an extension header nobody understands (RFC 7515 4.1.11: reject).
    CritUnknown,
    // --- Signature (RFC 7515 5.2).
    /// Every signature byte XORed with 0x5A (the OpenID suite's InvalidateIdTokenSignature).
    SignatureFlipped,
    /// The signature removed: `header.payload.` with the header unchanged.
    SignatureStripped,
    /// After signing, `exp` moved a year ahead: the signature no longer matches.
    PayloadTampered,
    /// After signing, the claim set to this value.
    TamperedClaim(String, Value),
}

/// How a mutation makes the signature.
#[derive(Debug, Clone, PartialEq)]
enum Signing {
    Issuer,
    Attacker,
    Unsigned,
    Hmac(Vec<u8>),
    Stripped,
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
        let Value::Object(header) = header_json(key.alg(), key.kid(), self.kind.typ().as_str())
        else {
            return Err(MintError::Encode("the header is not an object".into()));
        };

        let mut draft = Draft {
            header,
            claims,
            signing: Signing::Issuer,
            signing_set_by: None,
            duplicates: Vec::new(),
            tampered: Vec::new(),
            flip: false,
        };
        let context = Context {
            kind: self.kind,
            now,
            issuer: &minter.issuer,
            key: &key,
        };
        for mutation in &self.mutations {
            mutation.apply(&mut draft, &context)?;
        }
        draft.encode(&key)
    }
}

struct Context<'a> {
    kind: TokenKind,
    now: u64,
    issuer: &'a str,
    key: &'a SigningKey,
}

struct Draft {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing: Signing,
    signing_set_by: Option<String>,
    /// Appended to the signed payload's JSON text.
    duplicates: Vec<(String, Value)>,
    /// Set after signing.
    tampered: Vec<(String, Value)>,
    flip: bool,
}

impl Draft {
    fn set_signing(&mut self, signing: Signing, by: &Mutation) -> Result<(), MintError> {
        if let Some(previous) = &self.signing_set_by
            && self.signing != signing
        {
            return Err(MintError::ConflictingMutations(
                previous.clone(),
                by.to_string(),
            ));
        }
        self.signing = signing;
        self.signing_set_by = Some(by.to_string());
        Ok(())
    }

    fn claim_mut(&mut self, name: &str, by: &Mutation) -> Result<&mut Value, MintError> {
        self.claims
            .get_mut(name)
            .ok_or_else(|| MintError::ClaimAbsent {
                mutation: by.to_string(),
                claim: name.to_owned(),
            })
    }

    fn numeric_claim(&self, name: &str, by: &Mutation) -> Result<u64, MintError> {
        self.claims
            .get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| MintError::ClaimAbsent {
                mutation: by.to_string(),
                claim: name.to_owned(),
            })
    }

    fn encode(self, key: &SigningKey) -> Result<MintedToken, MintError> {
        let encode = |value: &Map<String, Value>| {
            serde_json::to_vec(value).map_err(|e| MintError::Encode(e.to_string()))
        };
        let header_b64 = URL_SAFE_NO_PAD.encode(encode(&self.header)?);
        let mut payload = encode(&self.claims)?;
        for (name, value) in &self.duplicates {
            // The payload is a JSON object: its text ends with `}`.
            let member = format!(",{}:{}", Value::from(name.as_str()), value);
            payload.pop();
            payload.extend_from_slice(member.as_bytes());
            payload.push(b'}');
        }
        let signing_input = format!("{header_b64}.{}", URL_SAFE_NO_PAD.encode(&payload));
        let mut signature = match &self.signing {
            Signing::Issuer => key.sign_bytes(signing_input.as_bytes()),
            Signing::Attacker => attacker_key()?.sign_bytes(signing_input.as_bytes()),
            Signing::Unsigned | Signing::Stripped => Vec::new(),
            Signing::Hmac(secret) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                aws_lc_rs::hmac::sign(&key, signing_input.as_bytes())
                    .as_ref()
                    .to_vec()
            }
        };
        if self.flip {
            for byte in &mut signature {
                *byte ^= 0x5A;
            }
        }
        let mut claims = self.claims;
        let token = if self.tampered.is_empty() {
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature))
        } else {
            for (name, value) in self.tampered {
                claims.insert(name, value);
            }
            format!(
                "{header_b64}.{}.{}",
                URL_SAFE_NO_PAD.encode(encode(&claims)?),
                URL_SAFE_NO_PAD.encode(&signature)
            )
        };
        Ok(MintedToken {
            token,
            header: Value::Object(self.header),
            claims: Value::Object(claims),
        })
    }
}

impl Mutation {
    fn apply(&self, draft: &mut Draft, cx: &Context<'_>) -> Result<(), MintError> {
        let now = cx.now;
        match self {
            Mutation::Expired => Mutation::ExpiredBy(DEFAULT_SHIFT).apply(draft, cx)?,
            Mutation::ExpiredBy(seconds) => {
                *draft.claim_mut("exp", self)? = now.saturating_sub(*seconds).into();
            }
            Mutation::NotYetValid => Mutation::NotBeforeIn(DEFAULT_SHIFT).apply(draft, cx)?,
            Mutation::NotBeforeIn(seconds) => {
                draft
                    .claims
                    .insert("nbf".into(), now.saturating_add(*seconds).into());
            }
            Mutation::IssuedInFuture => {
                Mutation::IssuedInFutureBy(DEFAULT_SHIFT).apply(draft, cx)?
            }
            Mutation::IssuedInFutureBy(seconds) => {
                *draft.claim_mut("iat", self)? = now.saturating_add(*seconds).into();
            }
            Mutation::IatWeekAgo => {
                *draft.claim_mut("iat", self)? = now.saturating_sub(WEEK).into();
            }
            Mutation::ExpInMilliseconds => {
                let exp = draft.numeric_claim("exp", self)?;
                *draft.claim_mut("exp", self)? = exp.saturating_mul(1000).into();
            }
            Mutation::WrongIssuer => *draft.claim_mut("iss", self)? = FOREIGN_ISSUER.into(),
            Mutation::IssuerTrailingSlash => {
                *draft.claim_mut("iss", self)? = format!("{}/", cx.issuer).into();
            }
            Mutation::WrongAudience => {
                *draft.claim_mut("aud", self)? = json!([FOREIGN_AUDIENCE]);
            }
            Mutation::MissingAudience => Mutation::MissingClaim("aud".into()).apply(draft, cx)?,
            Mutation::UntrustedSecondAudience | Mutation::UntrustedSecondAudienceWithoutAzp => {
                let aud = draft.claim_mut("aud", self)?;
                let mut list = match aud.take() {
                    Value::Array(list) => list,
                    Value::Null => Vec::new(),
                    single => vec![single],
                };
                list.push(UNTRUSTED_AUDIENCE.into());
                *aud = Value::Array(list);
                if *self == Mutation::UntrustedSecondAudienceWithoutAzp {
                    draft.claims.remove("azp");
                }
            }
            Mutation::MissingClaim(name) => {
                if draft.claims.remove(name).is_none() {
                    return Err(MintError::ClaimAbsent {
                        mutation: self.to_string(),
                        claim: name.clone(),
                    });
                }
            }
            Mutation::ExpAsString => {
                let exp = draft.numeric_claim("exp", self)?;
                *draft.claim_mut("exp", self)? = exp.to_string().into();
            }
            Mutation::SubNull => *draft.claim_mut("sub", self)? = Value::Null,
            Mutation::InvalidNonce => {
                draft.claims.insert("nonce".into(), FORGED_NONCE.into());
            }
            Mutation::InvalidAtHash => {
                let forged = cx.key.half_hash("oidc-forge: not the access token");
                draft.claims.insert("at_hash".into(), forged.into());
            }
            Mutation::InvalidCHash => {
                let forged = cx.key.half_hash("oidc-forge: not the code");
                draft.claims.insert("c_hash".into(), forged.into());
            }
            Mutation::WithoutScope(wanted) => {
                let scope = draft.claim_mut("scope", self)?;
                let present = scope.as_str().unwrap_or_default();
                if !present.split(' ').any(|s| s == wanted) {
                    return Err(MintError::ClaimAbsent {
                        mutation: self.to_string(),
                        claim: format!("scope {wanted}"),
                    });
                }
                let rest: Vec<&str> = present.split(' ').filter(|s| s != wanted).collect();
                *scope = rest.join(" ").into();
            }
            Mutation::WithoutPermission(wanted) => {
                let permissions = draft.claim_mut("permissions", self)?;
                let list = permissions
                    .as_array_mut()
                    .ok_or_else(|| MintError::ClaimAbsent {
                        mutation: self.to_string(),
                        claim: "permissions".into(),
                    })?;
                let before = list.len();
                list.retain(|p| p.as_str() != Some(wanted));
                if list.len() == before {
                    return Err(MintError::ClaimAbsent {
                        mutation: self.to_string(),
                        claim: format!("permission {wanted}"),
                    });
                }
            }
            Mutation::DuplicateClaim(name, value) => {
                if !draft.claims.contains_key(name) {
                    return Err(MintError::ClaimAbsent {
                        mutation: self.to_string(),
                        claim: name.clone(),
                    });
                }
                draft.duplicates.push((name.clone(), value.clone()));
            }
            Mutation::AlgNone(spelling) => {
                draft.header.insert("alg".into(), spelling.as_str().into());
                draft.set_signing(Signing::Unsigned, self)?;
            }
            Mutation::KeyConfusion(form) => {
                self.needs_rs256(cx)?;
                let secret = public_key_bytes(cx.key, *form)?;
                draft.header.insert("alg".into(), "HS256".into());
                draft.set_signing(Signing::Hmac(secret), self)?;
            }
            Mutation::ForeignKey => {
                self.needs_rs256(cx)?;
                draft.set_signing(Signing::Attacker, self)?;
            }
            Mutation::UnknownKid => {
                draft.header.insert("kid".into(), UNKNOWN_KID.into());
            }
            Mutation::Kid(kid) => {
                draft.header.insert("kid".into(), kid.clone().into());
            }
            Mutation::NoKid => {
                draft.header.remove("kid");
            }
            Mutation::WrongTyp => {
                let other = match cx.kind {
                    TokenKind::AccessToken => TokenTyp::IdToken,
                    TokenKind::IdToken => TokenTyp::AccessToken,
                };
                draft.header.insert("typ".into(), other.as_str().into());
            }
            Mutation::Typ(typ) => {
                draft.header.insert("typ".into(), typ.clone().into());
            }
            Mutation::NoTyp => {
                draft.header.remove("typ");
            }
            Mutation::Jku(url) | Mutation::X5u(url) => {
                self.needs_rs256(cx)?;
                let name = if matches!(self, Mutation::Jku(_)) {
                    "jku"
                } else {
                    "x5u"
                };
                draft.header.insert(name.into(), url.clone().into());
                draft.set_signing(Signing::Attacker, self)?;
            }
            Mutation::EmbeddedJwk => {
                self.needs_rs256(cx)?;
                let attacker = attacker_key()?;
                let jwk = attacker.jwk();
                draft.header.insert(
                    "jwk".into(),
                    json!({ "kty": "RSA", "n": jwk["n"], "e": jwk["e"] }),
                );
                draft.set_signing(Signing::Attacker, self)?;
            }
            Mutation::CritUnknown => {
                draft
                    .header
                    .insert("crit".into(), json!([UNKNOWN_CRITICAL_HEADER]));
                draft
                    .header
                    .insert(UNKNOWN_CRITICAL_HEADER.into(), true.into());
            }
            Mutation::SignatureFlipped => draft.flip = true,
            Mutation::SignatureStripped => draft.set_signing(Signing::Stripped, self)?,
            Mutation::PayloadTampered => {
                let exp = draft.numeric_claim("exp", self)?;
                draft
                    .tampered
                    .push(("exp".into(), exp.saturating_add(YEAR).into()));
            }
            Mutation::TamperedClaim(name, value) => {
                draft.tampered.push((name.clone(), value.clone()));
            }
        }
        Ok(())
    }

    fn needs_rs256(&self, cx: &Context<'_>) -> Result<(), MintError> {
        if cx.key.alg() == SigningAlg::RS256 {
            Ok(())
        } else {
            Err(MintError::NeedsRs256 {
                mutation: self.to_string(),
                alg: cx.key.alg(),
            })
        }
    }

    /// One example of every mutation, for documentation, `--help` and tests.
    pub fn examples() -> Vec<Mutation> {
        let mut all = vec![
            Mutation::Expired,
            Mutation::ExpiredBy(30),
            Mutation::NotYetValid,
            Mutation::NotBeforeIn(30),
            Mutation::IssuedInFuture,
            Mutation::IssuedInFutureBy(30),
            Mutation::IatWeekAgo,
            Mutation::ExpInMilliseconds,
            Mutation::WrongIssuer,
            Mutation::IssuerTrailingSlash,
            Mutation::WrongAudience,
            Mutation::MissingAudience,
            Mutation::UntrustedSecondAudience,
            Mutation::UntrustedSecondAudienceWithoutAzp,
            Mutation::MissingClaim("exp".into()),
            Mutation::MissingClaim("sub".into()),
            Mutation::MissingClaim("iss".into()),
            Mutation::MissingClaim("iat".into()),
            Mutation::MissingClaim("at_hash".into()),
            Mutation::MissingClaim("https://example.com/roles".into()),
            Mutation::ExpAsString,
            Mutation::SubNull,
            Mutation::InvalidNonce,
            Mutation::InvalidAtHash,
            Mutation::InvalidCHash,
            Mutation::WithoutScope("read".into()),
            Mutation::WithoutPermission("castles:read".into()),
            Mutation::DuplicateClaim("sub".into(), "admin".into()),
        ];
        all.extend(NoneSpelling::ALL.map(Mutation::AlgNone));
        all.extend(PublicKeyForm::ALL.map(Mutation::KeyConfusion));
        all.extend([
            Mutation::ForeignKey,
            Mutation::UnknownKid,
            Mutation::Kid("../../../../dev/null".into()),
            Mutation::NoKid,
            Mutation::WrongTyp,
            Mutation::Typ("JWT".into()),
            Mutation::NoTyp,
            Mutation::Jku(ATTACKER_JKU.into()),
            Mutation::X5u(ATTACKER_X5U.into()),
            Mutation::EmbeddedJwk,
            Mutation::CritUnknown,
            Mutation::SignatureFlipped,
            Mutation::SignatureStripped,
            Mutation::PayloadTampered,
            Mutation::TamperedClaim("sub".into(), "admin".into()),
        ]);
        all
    }
}

/// The text names, shared by the CLI (`--mutation NAME[=ARG]`) and the admin API
/// (`"mutations": ["NAME[=ARG]", ...]`).
impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mutation::Expired => f.write_str("expired"),
            Mutation::ExpiredBy(n) => write!(f, "expired-by={n}"),
            Mutation::NotYetValid => f.write_str("not-yet-valid"),
            Mutation::NotBeforeIn(n) => write!(f, "not-before-in={n}"),
            Mutation::IssuedInFuture => f.write_str("iat-in-future"),
            Mutation::IssuedInFutureBy(n) => write!(f, "iat-in-future-by={n}"),
            Mutation::IatWeekAgo => f.write_str("iat-week-ago"),
            Mutation::ExpInMilliseconds => f.write_str("exp-in-milliseconds"),
            Mutation::WrongIssuer => f.write_str("wrong-iss"),
            Mutation::IssuerTrailingSlash => f.write_str("iss-trailing-slash"),
            Mutation::WrongAudience => f.write_str("wrong-aud"),
            Mutation::MissingAudience => f.write_str("missing-aud"),
            Mutation::UntrustedSecondAudience => f.write_str("untrusted-second-aud"),
            Mutation::UntrustedSecondAudienceWithoutAzp => {
                f.write_str("untrusted-second-aud-without-azp")
            }
            // `missing-at-hash` reads better than `missing=at_hash`, when it parses back.
            Mutation::MissingClaim(name)
                if !name.is_empty()
                    && name != "aud"
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                write!(f, "missing-{}", name.replace('_', "-"))
            }
            Mutation::MissingClaim(name) => write!(f, "missing={name}"),
            Mutation::ExpAsString => f.write_str("exp-as-string"),
            Mutation::SubNull => f.write_str("sub-null"),
            Mutation::InvalidNonce => f.write_str("invalid-nonce"),
            Mutation::InvalidAtHash => f.write_str("invalid-at-hash"),
            Mutation::InvalidCHash => f.write_str("invalid-c-hash"),
            Mutation::WithoutScope(scope) => write!(f, "without-scope={scope}"),
            Mutation::WithoutPermission(p) => write!(f, "without-permission={p}"),
            Mutation::DuplicateClaim(name, value) => write!(f, "duplicate-claim={name}:{value}"),
            Mutation::AlgNone(spelling) => write!(f, "alg-none={}", spelling.as_str()),
            Mutation::KeyConfusion(form) => write!(f, "key-confusion={}", form.as_str()),
            Mutation::ForeignKey => f.write_str("foreign-key"),
            Mutation::UnknownKid => f.write_str("unknown-kid"),
            Mutation::Kid(kid) => write!(f, "kid={kid}"),
            Mutation::NoKid => f.write_str("no-kid"),
            Mutation::WrongTyp => f.write_str("wrong-typ"),
            Mutation::Typ(typ) => write!(f, "typ={typ}"),
            Mutation::NoTyp => f.write_str("no-typ"),
            Mutation::Jku(url) => write!(f, "jku={url}"),
            Mutation::X5u(url) => write!(f, "x5u={url}"),
            Mutation::EmbeddedJwk => f.write_str("embedded-jwk"),
            Mutation::CritUnknown => f.write_str("crit-unknown"),
            Mutation::SignatureFlipped => f.write_str("signature-flipped"),
            Mutation::SignatureStripped => f.write_str("signature-stripped"),
            Mutation::PayloadTampered => f.write_str("payload-tampered"),
            Mutation::TamperedClaim(name, value) => write!(f, "tampered-claim={name}:{value}"),
        }
    }
}

impl FromStr for Mutation {
    type Err = MintError;

    /// `NAME` or `NAME=ARG`; names are case-insensitive and `_` reads as `-`; `ARG` is kept
    /// as written. `missing-exp` is short for `missing=exp`. A `NAME:JSON` argument takes a
    /// JSON value, or the text itself when it is not JSON.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (raw_name, arg) = match text.split_once('=') {
            Some((name, arg)) => (name, Some(arg)),
            None => (text, None),
        };
        let name = raw_name.trim().to_ascii_lowercase().replace('_', "-");
        let bad = |message: &str| MintError::BadArgument {
            mutation: name.clone(),
            message: message.to_owned(),
        };
        let seconds = |arg: Option<&str>| -> Result<u64, MintError> {
            arg.ok_or_else(|| bad("expected =SECONDS"))?
                .trim()
                .parse()
                .map_err(|_| bad("expected a whole number of seconds"))
        };
        let text_arg = |arg: Option<&str>| -> Result<String, MintError> {
            match arg {
                Some(value) if !value.is_empty() => Ok(value.to_owned()),
                _ => Err(bad("expected =VALUE")),
            }
        };
        let claim_arg = |arg: Option<&str>| -> Result<(String, Value), MintError> {
            let (claim, value) = arg
                .and_then(|a| a.split_once(':'))
                .filter(|(claim, _)| !claim.is_empty())
                .ok_or_else(|| bad("expected =CLAIM:VALUE"))?;
            Ok((claim.to_owned(), parse_value(value)))
        };
        let no_arg = |mutation: Mutation| match arg {
            None => Ok(mutation),
            Some(_) => Err(bad("takes no argument")),
        };
        if let Some(claim) = name.strip_prefix("missing-")
            && arg.is_none()
        {
            return Ok(match claim {
                "aud" => Mutation::MissingAudience,
                other => Mutation::MissingClaim(other.replace('-', "_")),
            });
        }
        match name.as_str() {
            "expired" => no_arg(Mutation::Expired),
            "expired-by" => Ok(Mutation::ExpiredBy(seconds(arg)?)),
            "not-yet-valid" | "nbf-in-future" => no_arg(Mutation::NotYetValid),
            "not-before-in" => Ok(Mutation::NotBeforeIn(seconds(arg)?)),
            "iat-in-future" => no_arg(Mutation::IssuedInFuture),
            "iat-in-future-by" => Ok(Mutation::IssuedInFutureBy(seconds(arg)?)),
            "iat-week-ago" => no_arg(Mutation::IatWeekAgo),
            "exp-in-milliseconds" => no_arg(Mutation::ExpInMilliseconds),
            "wrong-iss" => no_arg(Mutation::WrongIssuer),
            "iss-trailing-slash" => no_arg(Mutation::IssuerTrailingSlash),
            "wrong-aud" => no_arg(Mutation::WrongAudience),
            "untrusted-second-aud" => no_arg(Mutation::UntrustedSecondAudience),
            "untrusted-second-aud-without-azp" => {
                no_arg(Mutation::UntrustedSecondAudienceWithoutAzp)
            }
            "missing" => Ok(match text_arg(arg)?.as_str() {
                "aud" => Mutation::MissingAudience,
                claim => Mutation::MissingClaim(claim.to_owned()),
            }),
            "exp-as-string" => no_arg(Mutation::ExpAsString),
            "sub-null" => no_arg(Mutation::SubNull),
            "invalid-nonce" => no_arg(Mutation::InvalidNonce),
            "invalid-at-hash" => no_arg(Mutation::InvalidAtHash),
            "invalid-c-hash" => no_arg(Mutation::InvalidCHash),
            "without-scope" => Ok(Mutation::WithoutScope(text_arg(arg)?)),
            "without-permission" => Ok(Mutation::WithoutPermission(text_arg(arg)?)),
            "duplicate-claim" => {
                let (claim, value) = claim_arg(arg)?;
                Ok(Mutation::DuplicateClaim(claim, value))
            }
            "alg-none" => match arg {
                None => Ok(Mutation::AlgNone(NoneSpelling::Lower)),
                Some(spelling) => NoneSpelling::ALL
                    .into_iter()
                    .find(|s| s.as_str() == spelling)
                    .map(Mutation::AlgNone)
                    .ok_or_else(|| bad("expected none, None, NONE or nOnE")),
            },
            "key-confusion" => match arg {
                None => Ok(Mutation::KeyConfusion(PublicKeyForm::SpkiPem)),
                Some(form) => PublicKeyForm::ALL
                    .into_iter()
                    .find(|f| f.as_str().eq_ignore_ascii_case(form))
                    .map(Mutation::KeyConfusion)
                    .ok_or_else(|| bad("expected spki-pem, spki-der, pkcs1-pem or pkcs1-der")),
            },
            "foreign-key" => no_arg(Mutation::ForeignKey),
            "unknown-kid" => no_arg(Mutation::UnknownKid),
            "kid" => Ok(Mutation::Kid(text_arg(arg)?)),
            "no-kid" => no_arg(Mutation::NoKid),
            "wrong-typ" => no_arg(Mutation::WrongTyp),
            "typ" => Ok(Mutation::Typ(text_arg(arg)?)),
            "no-typ" => no_arg(Mutation::NoTyp),
            "jku" => Ok(Mutation::Jku(
                arg.map_or(ATTACKER_JKU.to_owned(), str::to_owned),
            )),
            "x5u" => Ok(Mutation::X5u(
                arg.map_or(ATTACKER_X5U.to_owned(), str::to_owned),
            )),
            "embedded-jwk" => no_arg(Mutation::EmbeddedJwk),
            "crit-unknown" => no_arg(Mutation::CritUnknown),
            "signature-flipped" | "bad-signature" => no_arg(Mutation::SignatureFlipped),
            "signature-stripped" => no_arg(Mutation::SignatureStripped),
            "payload-tampered" => no_arg(Mutation::PayloadTampered),
            "tampered-claim" => {
                let (claim, value) = claim_arg(arg)?;
                Ok(Mutation::TamperedClaim(claim, value))
            }
            _ => Err(MintError::UnknownMutation(raw_name.to_owned())),
        }
    }
}

impl Serialize for Mutation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mutation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A command-line or JSON-text value: JSON if it parses, else the text as a string.
pub fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
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

/// The attacker's key, parsed on first use.
fn attacker_key() -> Result<&'static SigningKey, MintError> {
    static KEY: OnceLock<Result<SigningKey, String>> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_pem("attacker-rs256", SigningAlg::RS256, ATTACKER_PEM))
        .as_ref()
        .map_err(|e| MintError::Keys(format!("the attacker key: {e}")))
}

/// The attacker's public key as a JWKS, its key published under `kid`: what a test serves at
/// the URL of a [`Mutation::Jku`] to see whether a client fetches and trusts it.
pub fn attacker_jwks(kid: &str) -> Result<Value, MintError> {
    let key = attacker_key()?;
    let mut jwk = key.jwk().clone();
    jwk["kid"] = kid.into();
    Ok(json!({ "keys": [jwk] }))
}

/// The issuer's RSA public key in `form`, from the published `n` and `e`.
pub fn public_key_bytes(key: &SigningKey, form: PublicKeyForm) -> Result<Vec<u8>, MintError> {
    use ::rsa::pkcs1::EncodeRsaPublicKey as _;
    use ::rsa::pkcs8::{EncodePublicKey as _, LineEnding};

    let component = |name: &str| {
        key.jwk()[name]
            .as_str()
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .map(|bytes| ::rsa::BigUint::from_bytes_be(&bytes))
            .ok_or_else(|| MintError::Keys(format!("the key has no RSA `{name}`")))
    };
    let public = ::rsa::RsaPublicKey::new(component("n")?, component("e")?)
        .map_err(|e| MintError::Keys(e.to_string()))?;
    let failed = |e: &dyn std::fmt::Display| MintError::Encode(e.to_string());
    Ok(match form {
        PublicKeyForm::SpkiPem => public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| failed(&e))?
            .into_bytes(),
        PublicKeyForm::SpkiDer => public
            .to_public_key_der()
            .map_err(|e| failed(&e))?
            .into_vec(),
        PublicKeyForm::Pkcs1Pem => public
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| failed(&e))?
            .into_bytes(),
        PublicKeyForm::Pkcs1Der => public.to_pkcs1_der().map_err(|e| failed(&e))?.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> Minter {
        Minter::offline(Config::default(), Some("http://issuer.test".into())).unwrap()
    }

    #[test]
    fn every_mutation_name_round_trips() {
        for mutation in Mutation::examples() {
            let text = mutation.to_string();
            assert_eq!(text.parse::<Mutation>(), Ok(mutation.clone()), "{text}");
            let json = serde_json::to_value(&mutation).unwrap();
            assert_eq!(serde_json::from_value::<Mutation>(json).unwrap(), mutation);
        }
        assert_eq!("EXPIRED".parse(), Ok(Mutation::Expired));
        assert_eq!(
            "alg_none".parse(),
            Ok(Mutation::AlgNone(NoneSpelling::Lower))
        );
        assert_eq!(
            "missing-at-hash".parse(),
            Ok(Mutation::MissingClaim("at_hash".into()))
        );
        assert_eq!("missing-aud".parse(), Ok(Mutation::MissingAudience));
        assert_eq!(
            "duplicate-claim=sub:null".parse(),
            Ok(Mutation::DuplicateClaim("sub".into(), Value::Null))
        );
    }

    #[test]
    fn bad_mutation_text_says_what_is_wrong() {
        assert_eq!(
            "expird".parse::<Mutation>(),
            Err(MintError::UnknownMutation("expird".into()))
        );
        for (text, needle) in [
            ("expired-by", "=SECONDS"),
            ("expired-by=soon", "whole number"),
            ("expired=3", "no argument"),
            ("alg-none=nOne", "nOnE"),
            ("tampered-claim=sub", "CLAIM:VALUE"),
            ("kid=", "=VALUE"),
        ] {
            let err = text.parse::<Mutation>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
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
