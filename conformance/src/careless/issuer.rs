//! The issuer's side of the careless app: the code redeemed, the ID token validated (all but
//! its nonce), UserInfo, the JWKS, and bounded reads of every answer.

use std::sync::{Arc, PoisonError};

use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oidc_forge_client::validate::{
    DEFAULT_MAX_TOKEN_BYTES, IdTokenRules, VerifyingKey, check_algorithm, id_token_claims,
    parse_compact, verify_signature,
};
use oidc_forge_client::{IdTokenClaims, TokenError};
use serde_json::{Map, Value};

use super::support::{Failed, form_encode, now};
use super::{App, LEEWAY_SECONDS, UPSTREAM_TIMEOUT};

/// The largest response read from the issuer.
const MAX_UPSTREAM_BYTES: usize = 1024 * 1024;

/// The members of a token response this app uses.
pub(super) struct Tokens {
    pub(super) access_token: String,
    pub(super) id_token: String,
}

/// Redeems `code` with `client_secret_basic` and the PKCE verifier.
pub(super) async fn redeem(app: &App, code: &str, code_verifier: &str) -> Result<Tokens, Failed> {
    // RFC 6749 2.3.1: the id and secret are form-urlencoded before the Basic encoding.
    let credentials = format!(
        "{}:{}",
        form_encode(&app.client_id),
        form_encode(&app.client_secret)
    );
    let request = app
        .http
        .post(&app.token_endpoint)
        .header(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(credentials)),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &app.redirect_uri),
            ("code_verifier", code_verifier),
        ]);
    let (status, body) = send(request)
        .await
        .map_err(|reason| Failed::upstream(format!("the token endpoint: {reason}")))?;
    let json: Option<Map<String, Value>> = serde_json::from_slice(&body).ok();
    if !(200..300).contains(&status) {
        // RFC 6749 5.2: name the error code, never echo its free text.
        let error = json
            .as_ref()
            .and_then(|body| body.get("error"))
            .and_then(Value::as_str)
            .map(|error| {
                error
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect::<String>()
            })
            .unwrap_or_else(|| "no error code".into());
        return Err(Failed::upstream(format!(
            "the token endpoint refused the code: {status} {error}"
        )));
    }
    let json =
        json.ok_or_else(|| Failed::upstream("the token endpoint's answer is not a JSON object"))?;
    let member = |name: &str| {
        json.get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Failed::bad_request(format!("the token response carries no `{name}`")))
    };
    // RFC 6749 5.1: token_type is case-insensitive; this app only knows Bearer (RFC 6750).
    let token_type = member("token_type")?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(Failed::bad_request(format!(
            "the token response's token_type {:?} is not Bearer",
            token_type.chars().take(40).collect::<String>()
        )));
    }
    Ok(Tokens {
        access_token: member("access_token")?,
        id_token: member("id_token")?,
    })
}

/// Core 3.1.3.7, every step but (11), the nonce: defect (b).
pub(super) async fn validate_id_token(
    app: &App,
    raw: &str,
    access_token: &str,
    code: &str,
) -> Result<IdTokenClaims, Failed> {
    let refused = |error: TokenError| Failed::bad_request(format!("ID token refused: {error}"));
    let token = parse_compact(raw, DEFAULT_MAX_TOKEN_BYTES).map_err(refused)?;
    // RFC 8725 3.1: the algorithm comes from the allowlist, never from the token alone.
    let alg = check_algorithm(&token.alg, &app.algorithms).map_err(refused)?;
    let mut refetched = false;
    loop {
        let keys = app
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // A kid names its key; without one, every key of the algorithm is tried.
        let candidates: Vec<&VerifyingKey> = keys
            .iter()
            .filter(|key| token.kid.is_none() || key.kid == token.kid)
            .filter(|key| key.accepts(alg))
            .collect();
        if candidates.is_empty() {
            // Core 10.1.1: the issuer may have rotated its keys; fetch them again, once.
            if refetched {
                let what = match &token.kid {
                    Some(kid) => format!("kid {:?}", kid.chars().take(64).collect::<String>()),
                    None => format!("a token without kid signed with {alg:?}"),
                };
                return Err(refused(TokenError::UnknownKey(what)));
            }
            refetched = true;
            let fresh = fetch_keys(&app.http, &app.jwks_uri)
                .await
                .map_err(|reason| Failed::upstream(format!("the issuer's JWKS: {reason}")))?;
            *app.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
            continue;
        }
        if candidates
            .iter()
            .any(|key| verify_signature(&token, key, alg).is_ok())
        {
            break;
        }
        return Err(refused(TokenError::BadSignature));
    }
    let rules = IdTokenRules {
        issuer: &app.issuer,
        client_id: &app.client_id,
        trusted_audiences: &[],
        // Defect (b): the nonce sent is not passed, so none is compared.
        nonce: None,
        access_token: Some(access_token),
        code: Some(code),
        previous_subject: None,
        max_age: None,
        leeway: LEEWAY_SECONDS,
        now: now(),
    };
    id_token_claims(&token, alg, &rules).map_err(refused)
}

/// UserInfo with the access token in the header (RFC 6750 2.1), when the issuer has one.
pub(super) async fn userinfo(
    app: &App,
    access_token: &str,
) -> Result<Option<Map<String, Value>>, Failed> {
    let Some(endpoint) = &app.userinfo_endpoint else {
        return Ok(None);
    };
    let (status, body) = send(app.http.get(endpoint).bearer_auth(access_token))
        .await
        .map_err(|reason| Failed::upstream(format!("UserInfo: {reason}")))?;
    if !(200..300).contains(&status) {
        return Err(Failed::upstream(format!("UserInfo answered {status}")));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|_| Failed::upstream("UserInfo's answer is not a JSON object"))
}

/// The issuer's signing keys; entries this app cannot verify with are left out.
pub(super) async fn fetch_keys(
    http: &reqwest::Client,
    jwks_uri: &str,
) -> Result<Vec<VerifyingKey>, String> {
    let document = fetch_json(http.get(jwks_uri)).await?;
    let entries = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no `keys` array")?;
    let keys: Vec<VerifyingKey> = entries
        .iter()
        .filter_map(|entry| VerifyingKey::from_jwk_value(entry).ok().flatten())
        .collect();
    if keys.is_empty() {
        return Err("no key usable for signature verification".into());
    }
    Ok(keys)
}

pub(super) async fn fetch_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let (status, body) = send(request).await?;
    if !(200..300).contains(&status) {
        return Err(format!("answered {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("unreadable JSON: {e}"))
}

/// Sends `request` and reads at most [`MAX_UPSTREAM_BYTES`] of the answer.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), String> {
    let describe = |error: reqwest::Error| {
        if error.is_timeout() {
            format!("no answer within {} s", UPSTREAM_TIMEOUT.as_secs())
        } else {
            format!("unreachable ({error})")
        }
    };
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_UPSTREAM_BYTES {
            return Err(format!("an answer over {MAX_UPSTREAM_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}
