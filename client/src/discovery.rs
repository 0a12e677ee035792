//! OpenID Provider metadata (OpenID Connect Discovery 1.0, section 3).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The subset of the discovery document this client uses; everything else is
/// kept in `extra`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier; must equal the configured issuer (Discovery 4.3).
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are redeemed.
    pub token_endpoint: String,
    /// Where the signing keys are published.
    pub jwks_uri: String,
    /// The UserInfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// RP-initiated logout endpoint.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// RFC 7662 token introspection.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// RFC 7009 token revocation.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Scopes the issuer knows.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// PKCE methods the issuer supports.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// ID token signing algorithms the issuer may use.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Token endpoint client authentication methods.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 9207: the issuer adds `iss` to authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The discovery URL for an issuer: `{issuer}/.well-known/openid-configuration`
/// (Discovery 4.1: the issuer's trailing slash, if any, is removed first).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Checks a discovery document against the configured issuer.
///
/// Discovery 4.3: the `issuer` value returned MUST be identical to the issuer
/// URL the client was configured with; anything else could let one issuer
/// impersonate another (C-21). The endpoints must be absolute http(s) URLs.
pub fn check_metadata(metadata: &ProviderMetadata, configured_issuer: &str) -> Result<(), String> {
    if metadata.issuer != configured_issuer {
        return Err(format!(
            "the discovery document names issuer {:?}, not the configured {:?} (Discovery 4.3)",
            metadata.issuer.chars().take(200).collect::<String>(),
            configured_issuer
        ));
    }
    let endpoints = [
        (
            "authorization_endpoint",
            Some(&metadata.authorization_endpoint),
        ),
        ("token_endpoint", Some(&metadata.token_endpoint)),
        ("jwks_uri", Some(&metadata.jwks_uri)),
        ("userinfo_endpoint", metadata.userinfo_endpoint.as_ref()),
        (
            "end_session_endpoint",
            metadata.end_session_endpoint.as_ref(),
        ),
    ];
    for (name, value) in endpoints {
        if let Some(value) = value {
            match url::Url::parse(value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => return Err(format!("`{name}` is not an absolute http(s) URL")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(issuer: &str) -> ProviderMetadata {
        serde_json::from_value(json!({
            "issuer": issuer,
            "authorization_endpoint": "http://127.0.0.1:1/authorize",
            "token_endpoint": "http://127.0.0.1:1/api/token",
            "jwks_uri": "http://127.0.0.1:1/.well-known/jwks.json",
            "custom": true
        }))
        .unwrap()
    }

    #[test]
    fn issuer_must_be_identical() {
        assert!(check_metadata(&metadata("http://127.0.0.1:1"), "http://127.0.0.1:1").is_ok());
        let error =
            check_metadata(&metadata("http://127.0.0.1:1/"), "http://127.0.0.1:1").unwrap_err();
        assert!(error.contains("Discovery 4.3"), "{error}");
        assert_eq!(metadata("x").extra.get("custom"), Some(&json!(true)));
    }

    #[test]
    fn endpoints_must_be_absolute() {
        let mut bad = metadata("i");
        bad.token_endpoint = "/api/token".into();
        assert!(
            check_metadata(&bad, "i")
                .unwrap_err()
                .contains("token_endpoint")
        );
    }

    #[test]
    fn discovery_url_strips_trailing_slash() {
        assert_eq!(
            discovery_url("https://a.example/tenant/"),
            "https://a.example/tenant/.well-known/openid-configuration"
        );
    }
}
