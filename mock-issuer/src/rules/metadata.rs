//! The metadata document (Discovery 3, RFC 8414 2): every endpoint of [`Endpoint::ALL`] that
//! has a metadata member, and only what the issuer really supports.

use serde_json::{Value, json};

use crate::config::{Config, GrantType};
use crate::endpoints::Endpoint;
use crate::keys::KeySet;

/// The metadata document: every endpoint, and only what the issuer really supports.
pub fn document(config: &Config, issuer: &str, keys: &KeySet) -> Value {
    let url = |path: &str| format!("{issuer}{path}");
    let mut grant_types: Vec<&str> = Vec::new();
    for grant in [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ] {
        if config
            .clients
            .iter()
            .any(|c| c.grant_types.contains(&grant))
        {
            grant_types.push(grant.as_str());
        }
    }
    let mut pkce_methods = vec!["S256"];
    if config.clients.iter().any(|c| c.allow_plain_pkce) {
        pkce_methods.push("plain");
    }
    let algs: Vec<&str> = keys.algorithms().iter().map(|a| a.as_str()).collect();
    let mut claims: Vec<&str> = vec![
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "azp",
        "at_hash",
        "c_hash",
    ];
    for scope in config.scopes.values() {
        for claim in &scope.claims {
            if !claims.contains(&claim.as_str()) {
                claims.push(claim);
            }
        }
    }
    let mut document = json!({
        "issuer": issuer,
        "scopes_supported": config.scopes.keys().collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": pkce_methods,
        "claims_supported": claims,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": ["0", "1"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
    });
    for endpoint in Endpoint::ALL {
        if let Some(member) = endpoint.metadata_name() {
            document[member] = url(endpoint.path()).into();
        }
    }
    document
}
