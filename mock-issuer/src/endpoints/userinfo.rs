//! `GET|POST /api/userinfo` (Core 5.3): the claims of the token's user, limited to the granted
//! scopes, behind RFC 6750 bearer-token rules.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{BearerError, no_store_json};
use crate::params::Params;
use crate::rules::claims::released_user_claims;
use crate::rules::{own_tokens, scope};
use crate::state::AppState;

pub async fn handle(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let result = bearer_token(&method, &headers, query.as_deref(), &body)
        .and_then(|token| userinfo(&state, &token));
    match result {
        Ok(claims) => no_store_json(claims.to_string()),
        Err(error) => error.into_response(),
    }
}

/// The token from exactly one of the places RFC 6750 2 allows here: the `Authorization`
/// header, or on POST the form body. The query (RFC 6750 2.3) is refused: it ends up in logs.
pub fn bearer_token(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<String, BearerError> {
    let from_header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| {
                BearerError::invalid_request("the Authorization header is not ASCII")
            })?;
            match value.split_once(' ') {
                // RFC 9110 11.1: the scheme is case-insensitive.
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    let token = token.trim();
                    if token.is_empty() {
                        return Err(BearerError::invalid_request(
                            "the Bearer credentials are empty (RFC 6750 2.1)",
                        ));
                    }
                    Some(token.to_owned())
                }
                _ if value.eq_ignore_ascii_case("bearer") => {
                    return Err(BearerError::invalid_request(
                        "the Bearer credentials are empty (RFC 6750 2.1)",
                    ));
                }
                // Another scheme is no bearer token at all (RFC 6750 3.1).
                _ => None,
            }
        }
    };
    let from_query =
        query.is_some_and(|q| Params::parse(q.as_bytes()).get("access_token").is_some());
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_body = if *method == Method::POST && is_form {
        Params::parse(body).get("access_token").map(str::to_owned)
    } else {
        None
    };
    let sources = usize::from(from_header.is_some())
        + usize::from(from_query)
        + usize::from(from_body.is_some());
    if sources > 1 {
        return Err(BearerError::invalid_request(
            "the access token was sent in more than one place; use only the Authorization header (RFC 6750 2)",
        ));
    }
    if from_query {
        return Err(BearerError::invalid_request(
            "access tokens in the query string are not accepted; use the Authorization header (RFC 6750 2.3)",
        ));
    }
    from_header
        .or(from_body)
        .ok_or_else(BearerError::missing_token)
}

fn userinfo(state: &AppState, token: &str) -> Result<Value, BearerError> {
    let claims = own_tokens::verify_access_token(state, token, state.now())
        .map_err(|why| BearerError::invalid_token(why.to_string()))?;
    let scopes = scope::parse(&claims.scope).unwrap_or_default();
    // Core 5.3: UserInfo is an OpenID resource; the token must carry `openid`.
    if !scope::contains(&scopes, "openid") {
        return Err(BearerError::insufficient_scope(
            "openid",
            "the access token lacks the openid scope (Core 5.3)",
        ));
    }
    let config = state.config();
    let user = config.find_user(&claims.sub).ok_or_else(|| {
        BearerError::invalid_token("the access token's subject is not a known user")
    })?;
    let mut body = json!({ "sub": user.sub.to_string() });
    for (name, value) in released_user_claims(&config, user, &scopes) {
        body[name] = value;
    }
    Ok(body)
}
