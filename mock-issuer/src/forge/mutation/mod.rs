//! The defects: [`Mutation`], each wrong in exactly one way, and how each edits a token's
//! draft before it is signed. Their text names are in `names`.

mod names;

use serde_json::{Value, json};

pub use names::{MutationName, parse_value};

use super::attacker::{attacker_key, public_key_bytes};
use super::draft::{Draft, Signing};
use super::mint::MintError;
use crate::config::SigningAlg;
use crate::keys::{SigningKey, TokenTyp};

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
    /// would serve ([`attacker_jwks`](super::mint::attacker_jwks)); a validator must not fetch it (RFC 8725 3.10).
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

/// What a mutation may read: the token's kind, the time it is minted at and the issuer's key.
pub(super) struct Context<'a> {
    /// The `typ` of the unmutated token.
    pub typ: TokenTyp,
    pub now: u64,
    pub issuer: &'a str,
    pub key: &'a SigningKey,
}

impl Mutation {
    pub(super) fn apply(&self, draft: &mut Draft, cx: &Context<'_>) -> Result<(), MintError> {
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
                let other = match cx.typ {
                    TokenTyp::AccessToken => TokenTyp::IdToken,
                    TokenTyp::IdToken => TokenTyp::AccessToken,
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
