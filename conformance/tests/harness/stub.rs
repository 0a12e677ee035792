//! The stub application of the harness's regression tests: it validates a bearer token by
//! hand against the issuer's JWKS, each choice an RFC leaves open (or a hole a row exists to
//! find) set by a [`Policy`].

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use oidc_forge::MockIssuer;
use oidc_forge_client::validate::VerifyingKey;
use oidc_forge_conformance::env;
use oidc_forge_conformance::runner::forgery;
use oidc_forge_conformance::target::{ApiTarget, Route, RoutesFile, TargetClock};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value, json};

/// How a stub reads a JSON object with a member name twice (RFC 7519 4, RFC 7515 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Refuses the token: the RFCs' first choice.
    Reject,
    /// Keeps the lexically last member: the RFCs' second choice (ECMAScript's `JSON.parse`).
    LastWins,
    /// Keeps the first: allowed by neither RFC, the hole D-20 exists to find.
    FirstWins,
}

/// How a stub validates a bearer token. [`Policy::default`] is a strict app; each test changes
/// the one choice it is about.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Clock-skew allowance, seconds (RFC 7519 4.1.4, 4.1.5).
    pub leeway: u64,
    pub duplicates: Duplicates,
    /// Refuses an `iat` further ahead than the leeway: hardening, which RFC 9068 4 does not ask.
    pub check_iat: bool,
    /// The algorithm allowlist (RFC 8725 3.1).
    pub algorithms: Vec<Algorithm>,
    /// Uses a key only with the algorithm its JWK names (RFC 8725 3.1, RFC 7517 4.4); without,
    /// any algorithm of the key's type: the hole D-15 exists to find.
    pub bind_key_alg: bool,
    /// Verifies with the key the `kid` names; without, with any key of the issuer that
    /// verifies (the `kid` is a hint, RFC 7515 4.1.4).
    pub key_by_kid: bool,
    pub crit: Crit,
    /// Takes an ES256 signature without checking it (a broken ECDSA path, CVE-2022-21449's
    /// class): the hole D-04 must find once it sees the app accept ES256.
    pub es256_unverified: bool,
    /// Takes a token whose kid names no key without checking its signature: the hole the
    /// kid rows (D-10, D-11) must find.
    pub unknown_kid_unverified: bool,
}

/// How a stub reads `crit` (RFC 7515 4.1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crit {
    /// Refuses an unknown critical extension (the MUST), and also a `crit` naming a registered
    /// member or empty (the MAY).
    Strict,
    /// Refuses an unknown critical extension only.
    MustOnly,
    /// Never reads `crit`: the hole D-16 exists to find.
    Ignored,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            leeway: 60,
            duplicates: Duplicates::Reject,
            check_iat: true,
            algorithms: vec![Algorithm::RS256],
            bind_key_alg: true,
            key_by_kid: true,
            crit: Crit::Strict,
            es256_unverified: false,
            unknown_kid_unverified: false,
        }
    }
}

/// Every asymmetric algorithm jsonwebtoken verifies: an allowlist as wide as can be safe.
pub const ASYMMETRIC: [Algorithm; 9] = forgery::WIDEST_ALLOWLIST;

/// What a stub app knows: its policy, the issuer it trusts, its routes.
struct Validator {
    policy: Policy,
    iss: String,
    aud: Vec<String>,
    keys: Vec<VerifyingKey>,
    routes: Vec<Route>,
}

/// A JSON object read with a [`Duplicates`] rule.
struct ObjectWith(Duplicates);

impl<'de> DeserializeSeed<'de> for ObjectWith {
    type Value = Map<String, Value>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectWith {
    type Value = Map<String, Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            match (object.contains_key(&name), self.0) {
                (false, _) | (true, Duplicates::LastWins) => {
                    object.insert(name, value);
                }
                (true, Duplicates::FirstWins) => {}
                (true, Duplicates::Reject) => {
                    return Err(serde::de::Error::custom("duplicate member"));
                }
            }
        }
        Ok(object)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Header parameters RFC 7515 4.1 and RFC 7518 register for JWS.
const REGISTERED: [&str; 11] = [
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
];

impl Validator {
    fn object(&self, segment: &str) -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        let object = ObjectWith(self.policy.duplicates)
            .deserialize(&mut json)
            .ok()?;
        json.end().ok()?;
        Some(object)
    }

    /// The claims of a token this app accepts, or `None`.
    fn validate(&self, token: &str) -> Option<Map<String, Value>> {
        let policy = &self.policy;
        let [header_b64, payload_b64, signature] = token.split('.').collect::<Vec<_>>()[..] else {
            return None;
        };
        let header = self.object(header_b64)?;
        let claims = self.object(payload_b64)?;
        // `none` and anything unknown are no `Algorithm`; then the allowlist (RFC 8725 3.1).
        let alg = Algorithm::from_str(header.get("alg")?.as_str()?).ok()?;
        if !policy.algorithms.contains(&alg) {
            return None;
        }
        if let Some(crit) = header.get("crit")
            && policy.crit != Crit::Ignored
        {
            let strict = policy.crit == Crit::Strict;
            let names = crit.as_array()?;
            if strict && names.is_empty() {
                return None;
            }
            for name in names {
                let registered = REGISTERED.contains(&name.as_str()?);
                // This app understands no extension: a critical one is refused (a MUST).
                if !registered || strict {
                    return None;
                }
            }
        }
        // RFC 9068 4: `typ` at+jwt, with or without the `application/` prefix.
        let typ = header.get("typ")?.as_str()?.to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return None;
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        let known_kid = self
            .keys
            .iter()
            .any(|key| kid.is_some() && key.kid.as_deref() == kid);
        let verified = (policy.unknown_kid_unverified && !known_kid)
            || self
                .keys
                .iter()
                .filter(|key| !policy.key_by_kid || (kid.is_some() && key.kid.as_deref() == kid))
                .filter(|key| {
                    if policy.bind_key_alg {
                        key.accepts(alg)
                    } else {
                        key.kind.fits(alg)
                    }
                })
                .any(|key| {
                    (policy.es256_unverified && alg == Algorithm::ES256)
                        || jsonwebtoken::crypto::verify(
                            signature,
                            signing_input.as_bytes(),
                            &key.key,
                            alg,
                        )
                        .unwrap_or(false)
                });
        if !verified {
            return None;
        }
        if claims.get("iss")?.as_str()? != self.iss {
            return None;
        }
        let audience = match claims.get("aud")? {
            Value::String(aud) => vec![aud.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => return None,
        };
        if !self.aud.iter().any(|aud| audience.contains(&aud.as_str())) {
            return None;
        }
        let now = now();
        // RFC 7519 4.1.4: expired "on or after" exp, give or take the leeway.
        if now >= claims.get("exp")?.as_u64()?.saturating_add(policy.leeway) {
            return None;
        }
        if let Some(nbf) = claims.get("nbf")
            && nbf.as_u64()? > now + policy.leeway
        {
            return None;
        }
        if policy.check_iat && claims.get("iat")?.as_u64()? > now + policy.leeway {
            return None;
        }
        Some(claims)
    }

    /// The app's answer to a GET of `path`.
    fn answer(&self, path: &str, authorization: Option<&str>) -> Response {
        let Some(route) = self.routes.iter().find(|r| r.path == path) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let challenge = |status: StatusCode, value: &'static str| {
            (status, [("www-authenticate", value)], "refused").into_response()
        };
        let Some(authorization) = authorization else {
            if route.optional {
                return Json(json!({"user": null})).into_response();
            }
            return challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"stub\"");
        };
        let (scheme, token) = authorization.split_once(' ').unwrap_or((authorization, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // No bearer token at all: a challenge without an error code (RFC 6750 3.1).
            return challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"stub\"");
        }
        // `Bearer` with nothing after it: refused as an invalid token, as a 401 (B-03).
        let invalid = || {
            challenge(
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"stub\", error=\"invalid_token\"",
            )
        };
        let Some(claims) = (!token.trim().is_empty())
            .then(|| self.validate(token.trim()))
            .flatten()
        else {
            return invalid();
        };
        let scopes: Vec<&str> = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(' ')
            .collect();
        let permissions: Vec<&str> = claims
            .get("permissions")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let lacks = route.scopes.iter().any(|s| !scopes.contains(&s.as_str()))
            || route
                .permissions
                .iter()
                .any(|p| !permissions.contains(&p.as_str()));
        if lacks {
            // insufficient_scope without a `scope` attribute: RFC 6750 3 makes it a MAY.
            return challenge(
                StatusCode::FORBIDDEN,
                "Bearer realm=\"stub\", error=\"insufficient_scope\"",
            );
        }
        Json(json!({"sub": claims.get("sub")})).into_response()
    }
}

/// A stub app validating as `policy` says, trusting a fresh issuer, as `check` sees an
/// external app (the system clock, the API example's routes with `policy`'s leeway).
pub async fn validating(policy: Policy) -> Arc<ApiTarget> {
    let (listener, url) = env::bind().await.unwrap();
    let issuer = Arc::new(
        MockIssuer::start(oidc_forge::Config::default())
            .await
            .unwrap(),
    );
    let mut routes = RoutesFile::api_example();
    routes.leeway = policy.leeway;
    let target = ApiTarget::new(url, routes, issuer.clone(), TargetClock::System).unwrap();
    let jwks: Value = serde_json::from_slice(issuer.key_set().jwks_json()).unwrap();
    let keys = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|jwk| VerifyingKey::from_jwk_value(jwk).unwrap())
        .collect();
    let validator = Arc::new(Validator {
        policy,
        iss: target.mint.iss().to_owned(),
        aud: target.mint.profile.aud.clone(),
        keys,
        routes: target.routes.routes.clone(),
    });
    env::serve(
        listener,
        axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let validator = validator.clone();
            async move {
                let authorization = headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok());
                validator.answer(uri.path(), authorization)
            }
        }),
    );
    Arc::new(target)
}
