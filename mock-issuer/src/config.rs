//! The issuer's configuration: serde types read from TOML, the embedded default, and validation.
//!
//! Loading never panics on user input: a parse error names the file, the key path
//! (`clients[1].redirect_uris[0]`) and what was expected, and [`Config::validate`] checks the
//! rules a real authorization server enforces at registration time.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod validation;

/// The configuration compiled into the binary: used by `oidc-forge serve` without `--config`
/// and by [`Config::default`].
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default_config.toml");

/// Everything the issuer serves: its identity, keys, lifetimes, scopes, clients and users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier (`iss`). `None`: derived from the bound address, `http://HOST:PORT`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// How `/authorize` signs a user in.
    #[serde(default)]
    pub login: LoginConfig,
    /// How long codes and tokens live.
    #[serde(default)]
    pub lifetimes: Lifetimes,
    /// Signing keys; the first key of an algorithm signs, all are published. Empty: the keys
    /// embedded in the binary (RS256, ES256 and EdDSA fixtures), so nothing is generated.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// A fixed clock and RNG seed, so that every response is identical byte for byte.
    #[serde(default)]
    pub deterministic: Option<DeterministicConfig>,
    /// The scope catalogue: every scope the issuer knows and the user claims it releases.
    pub scopes: BTreeMap<String, ScopeConfig>,
    /// Registered clients.
    pub clients: Vec<ClientConfig>,
    /// Users that can sign in.
    pub users: Vec<UserConfig>,
    /// Which web origins may call the issuer's API from a browser (CORS).
    #[serde(default)]
    pub cors: CorsConfig,
    /// Further issuers the same server serves, each at this issuer's URL followed by
    /// `/{slug}` (Fief's tenants; the first path segment names the issuer), each with its own
    /// keys, scopes, clients and users: `[tenants.acme]`, `[[tenants.acme.clients]]`. A tenant
    /// without `keys` gets RS256, ES256 and EdDSA keys made at start, its own. The server's
    /// `cors`, clock and seed cover its tenants.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, Config>,
}

/// The first path segments of the issuer's own routes, which no tenant slug may take.
pub const RESERVED_SLUGS: &[&str] = &[
    ".well-known",
    "api",
    "authorize",
    "logout",
    "oauth2",
    "introspect",
    "revoke",
    "healthz",
    "_forge",
];

/// Cross-origin calls from browsers (the Fetch standard's CORS protocol) to the endpoints an
/// app's own page calls: discovery, JWKS, token, UserInfo, introspection and revocation.
/// Never to the pages a person sees (authorize, login, logout) or the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// `["*"]` (the default, as Fief allows any origin on `/api` and `/.well-known`), a list
    /// of origins such as `"http://localhost:3000"`, or `[]` to send no CORS headers at all.
    pub allowed_origins: Vec<String>,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: vec!["*".into()],
        }
    }
}

/// How the authorization endpoint authenticates the end user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// `auto`: sign in [`LoginConfig::user`] without a page; `interactive`: show a page listing
    /// the users, with a deny button.
    #[serde(default)]
    pub mode: LoginMode,
    /// The user signed in automatically, by email or `sub`. `None`: the first configured user.
    #[serde(default)]
    pub user: Option<String>,
}

/// See [`LoginConfig::mode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LoginMode {
    #[default]
    Auto,
    Interactive,
}

/// Lifetimes in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifetimes {
    /// RFC 6749 4.1.2 recommends at most 10 minutes.
    pub authorization_code: u64,
    pub access_token: u64,
    pub id_token: u64,
    pub refresh_token: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            authorization_code: 60,
            access_token: 3600,
            id_token: 3600,
            refresh_token: 30 * 24 * 3600,
        }
    }
}

/// A signing key, from a PEM file or inline PEM text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub kid: String,
    pub alg: SigningAlg,
    /// Path to a PKCS#8 (or, for RSA, PKCS#1) PEM file, relative to the configuration file.
    #[serde(default)]
    pub pem_file: Option<PathBuf>,
    /// The PEM text itself.
    #[serde(default)]
    pub pem: Option<String>,
}

/// Algorithms the issuer signs with (RFC 7518 3.1, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    /// The same algorithm as jsonwebtoken names it.
    pub fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fixed time and randomness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterministicConfig {
    /// Unix time the clock is frozen at.
    pub now: u64,
    /// Seed of the RNG behind codes, token ids and refresh tokens.
    #[serde(default)]
    pub seed: u64,
}

/// One entry of the scope catalogue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    /// User claims released in the ID token and UserInfo when this scope is granted (Core 5.4).
    #[serde(default)]
    pub claims: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A registered client (RFC 6749 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `None`: a public client (RFC 6749 2.1), which must use PKCE.
    #[serde(default)]
    pub secret: Option<String>,
    /// Compared by exact string match (RFC 9700 4.1.3), but see `loopback_any_port`.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes this client may request; each must be in the catalogue.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<GrantType>,
    /// Require PKCE of this client. Public clients always must (RFC 9700 2.1.1: MUST);
    /// confidential ones may, as with Fief, FusionAuth and Keycloak by default (RFC 9700 2.1.1
    /// makes it a SHOULD, with the nonce as an alternative). A challenge that is sent is always
    /// enforced, and a verifier without one is refused as a downgrade (RFC 9700 4.8.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pkce: Option<bool>,
    /// Accept `code_challenge_method=plain` (RFC 7636 4.2); off by default, as RFC 9700 2.1.1 advises.
    #[serde(default)]
    pub allow_plain_pkce: bool,
    /// `aud` of access tokens. Empty: `[client id]`, as Fief does.
    #[serde(default)]
    pub audience: Vec<String>,
    /// Permissions of the client itself, granted to `client_credentials` tokens.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Restrict client authentication to one method. `None`: basic or post for confidential
    /// clients, `none` for public ones.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// Algorithm of this client's tokens. `None`: the first configured key's.
    #[serde(default)]
    pub signing_alg: Option<SigningAlg>,
    /// RFC 8252 7.3: a registered `http` loopback URI (`127.0.0.1`, `[::1]`, `localhost`), redirect
    /// or post-logout, matches with any port, for apps that pick their port when they start.
    /// Off by default: then URIs match exactly.
    #[serde(default)]
    pub loopback_any_port: bool,
    /// Let this client introspect any token (a gateway's). By default a client sees only
    /// tokens issued to it and access tokens whose `aud` names it; others are
    /// `{"active": false}` (RFC 7662 2.2, 4: the server decides who may learn what).
    #[serde(default)]
    pub introspect_any_token: bool,
    /// Where a logout that names this client (by `client_id` or `id_token_hint`) but gives no
    /// `post_logout_redirect_uri` ends: FusionAuth's per-application "Logout URL", which its
    /// quickstart relies on. Without it such a logout ends on the issuer's own page, as RP-
    /// Initiated Logout 1.0 section 3 describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
}

impl ClientConfig {
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    /// Whether `uri` is one of this client's redirect URIs.
    pub fn allows_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| {
            crate::rules::redirect::matches(registered, uri, self.loopback_any_port)
        })
    }

    /// Whether `uri` is one of this client's post-logout redirect URIs.
    pub fn allows_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|registered| {
            crate::rules::redirect::matches(registered, uri, self.loopback_any_port)
        })
    }

    /// Whether authorization requests of this client must carry a PKCE challenge.
    pub fn requires_pkce(&self) -> bool {
        self.is_public() || self.require_pkce == Some(true)
    }

    /// The `aud` of this client's access tokens.
    pub fn access_token_audience(&self) -> Vec<String> {
        if self.audience.is_empty() {
            vec![self.id.clone()]
        } else {
            self.audience.clone()
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}

/// Grant types the token endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

/// Client authentication methods (RFC 6749 2.3, OAuth registration `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// A user that can sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Fief's shape: the subject is a UUID.
    pub sub: Uuid,
    pub email: String,
    #[serde(default = "default_true")]
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
    /// Fief-style `permissions` claim of access tokens.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Any other claims (`given_name`, `locale`, custom fields...), released through the scopes
    /// that list them.
    #[serde(default)]
    pub claims: BTreeMap<String, serde_json::Value>,
}

impl UserConfig {
    /// The value of a user claim by name, as released through a scope.
    pub fn claim(&self, name: &str) -> Option<serde_json::Value> {
        match name {
            "sub" => Some(self.sub.to_string().into()),
            "email" => Some(self.email.clone().into()),
            "email_verified" => Some(self.email_verified.into()),
            "name" => self.name.clone().map(Into::into),
            _ => self.claims.get(name).cloned(),
        }
    }
}

/// A configuration that could not be read or breaks a rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {location}at key `{key}`: {message}")]
    Parse {
        file: String,
        /// `line L, column C: ` when known.
        location: String,
        key: String,
        message: String,
    },
    #[error("{file}: {}", .problems.join(&format!("\n{file}: ")))]
    Invalid { file: String, problems: Vec<String> },
}

impl Default for Config {
    /// The embedded default: one confidential and one public client, two users with different
    /// permissions, the OIDC scopes plus `read` and `write`, auto-login as the first user.
    fn default() -> Self {
        // The embedded text is a compile-time constant checked by the tests, not user input.
        Self::from_toml_str(DEFAULT_CONFIG_TOML, "<embedded default>")
            .expect("the embedded default configuration is valid")
    }
}

impl Config {
    /// Reads and validates a TOML file; `pem_file` paths are resolved against its folder.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        let mut config = Self::parse(&text, &file)?;
        config.resolve_key_files(path.parent().unwrap_or(Path::new(".")));
        config.validate_as(&file)?;
        Ok(config)
    }

    fn resolve_key_files(&mut self, base: &Path) {
        for key in &mut self.keys {
            if let Some(pem_file) = &key.pem_file
                && pem_file.is_relative()
            {
                key.pem_file = Some(base.join(pem_file));
            }
        }
        for tenant in self.tenants.values_mut() {
            tenant.resolve_key_files(base);
        }
    }

    /// Parses and validates TOML text; `source_name` names it in errors.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let config = Self::parse(text, source_name)?;
        config.validate_as(source_name)?;
        Ok(config)
    }

    fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let parse_error = |key: String, err: toml::de::Error| {
            let location = err
                .span()
                .map(|span| {
                    let (line, column) = line_and_column(text, span.start);
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            ConfigError::Parse {
                file: file.to_owned(),
                location,
                key,
                message: err.message().to_owned(),
            }
        };
        let deserializer =
            toml::Deserializer::parse(text).map_err(|err| parse_error(".".into(), err))?;
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let key = err.path().to_string();
            parse_error(key, err.into_inner())
        })
    }

    /// Checks the registration rules; every problem is reported, each with its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_as("configuration")
    }

    fn validate_as(&self, file: &str) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                file: file.to_owned(),
                problems,
            })
        }
    }

    /// The address and port a loopback `issuer` names (`http://127.0.0.1:9000` names both),
    /// which `serve` binds unless told otherwise; nothing for any other issuer identifier.
    pub fn loopback_address(&self) -> (Option<std::net::IpAddr>, Option<u16>) {
        self.issuer.as_deref().map_or(
            (None, None),
            crate::rules::issuer::configured_loopback_address,
        )
    }

    /// A user by email (case-insensitive) or `sub`.
    pub fn find_user(&self, email_or_sub: &str) -> Option<&UserConfig> {
        self.users.iter().find(|user| {
            user.email.eq_ignore_ascii_case(email_or_sub) || user.sub.to_string() == email_or_sub
        })
    }

    /// The user that automatic login signs in.
    pub fn auto_login_user(&self) -> Option<&UserConfig> {
        match &self.login.user {
            Some(wanted) => self.find_user(wanted),
            None => self.users.first(),
        }
    }

    pub fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|client| client.id == id)
    }

    /// A mutable client by id, for tests that adjust the default configuration.
    pub fn client_mut(&mut self, id: &str) -> Option<&mut ClientConfig> {
        self.clients.iter_mut().find(|client| client.id == id)
    }
}

/// RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
pub(crate) fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let config = Config::default();
        assert_eq!(config.clients.len(), 2);
        assert!(config.client("forge-web").is_some_and(|c| !c.is_public()));
        assert!(config.client("forge-spa").is_some_and(|c| c.is_public()));
        assert_eq!(config.users.len(), 3);
        let dana = config
            .find_user("dana@example.com")
            .expect("a user without permissions");
        assert!(dana.permissions.is_empty());
        assert!(config.keys.is_empty(), "the default uses the embedded keys");
    }

    #[test]
    fn parse_error_names_the_key_and_position() {
        let text = DEFAULT_CONFIG_TOML.replacen(
            "grant_types = [\"authorization_code\"",
            "grant_types = [\"password\"",
            1,
        );
        let err = Config::from_toml_str(&text, "test.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test.toml: line "), "{err}");
        assert!(err.contains("at key `clients[0].grant_types[0]`"), "{err}");
        assert!(err.contains("unknown variant `password`"), "{err}");
    }

    #[test]
    fn validation_reports_every_problem_with_its_key() {
        let mut config = Config::default();
        config.clients[1].require_pkce = Some(false);
        config.clients[0]
            .redirect_uris
            .push("https://app.test/cb#frag".into());
        let fragment_at = config.clients[0].redirect_uris.len() - 1;
        config.clients[0].scopes.push("admin".into());
        config.login.user = Some("nobody@example.com".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("clients[1].require_pkce: a public client must use PKCE"),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "clients[0].redirect_uris[{fragment_at}]: a redirect URI must not have a fragment"
            )),
            "{err}"
        );
        assert!(
            err.contains("clients[0].scopes[6]: `admin` is not in the scope catalogue"),
            "{err}"
        );
        assert!(
            err.contains("login.user: expected the email or sub"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let text = format!("{DEFAULT_CONFIG_TOML}\n[lifetimes]\naccess_tokn = 5\n");
        let err = Config::from_toml_str(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("access_tokn"), "{err}");
    }
}
