//! The rules a configuration must keep, as a real authorization server enforces them at
//! registration time: every problem found, each named by its key.

use std::collections::BTreeSet;

use super::*;

impl Config {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut problem = |key: String, message: &str| problems.push(format!("{key}: {message}"));

        if let Some(issuer) = &self.issuer
            && let Err(why) = check_issuer_url(issuer)
        {
            problem("issuer".into(), &why);
        }
        if !self.scopes.contains_key("openid") {
            problem(
                "scopes".into(),
                "the catalogue must define `openid` (Core 3.1.2.1)",
            );
        }
        for name in self.scopes.keys() {
            if name.is_empty() || !name.bytes().all(is_scope_char) {
                problem(
                    format!("scopes.{name}"),
                    "a scope name is one or more of the characters RFC 6749 3.3 allows (no spaces, quotes or backslashes)",
                );
            }
        }

        let mut kids = BTreeSet::new();
        for (i, key) in self.keys.iter().enumerate() {
            if key.kid.is_empty() || !kids.insert(&key.kid) {
                problem(
                    format!("keys[{i}].kid"),
                    "expected a non-empty kid unique among the keys",
                );
            }
            if key.pem.is_some() == key.pem_file.is_some() {
                problem(
                    format!("keys[{i}]"),
                    "expected exactly one of `pem_file` and `pem`",
                );
            }
        }
        let key_algs: BTreeSet<SigningAlg> = if self.keys.is_empty() {
            [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA].into()
        } else {
            self.keys.iter().map(|k| k.alg).collect()
        };

        let mut user_subs = BTreeSet::new();
        let mut user_emails = BTreeSet::new();
        for (i, user) in self.users.iter().enumerate() {
            if !user_subs.insert(user.sub) {
                problem(
                    format!("users[{i}].sub"),
                    "expected a sub unique among the users",
                );
            }
            if user.email.is_empty() || !user_emails.insert(user.email.to_lowercase()) {
                problem(
                    format!("users[{i}].email"),
                    "expected a non-empty email unique among the users",
                );
            }
        }
        if self.users.is_empty() {
            problem("users".into(), "expected at least one user");
        }
        if let Some(wanted) = &self.login.user
            && self.find_user(wanted).is_none()
        {
            problem(
                "login.user".into(),
                "expected the email or sub of a configured user",
            );
        }

        for (i, origin) in self.cors.allowed_origins.iter().enumerate() {
            if let Err(why) = check_cors_origin(origin) {
                problem(format!("cors.allowed_origins[{i}]"), &why);
            }
        }
        if self.cors.allowed_origins.len() > 1 && self.cors.allowed_origins.iter().any(|o| o == "*")
        {
            problem(
                "cors.allowed_origins".into(),
                "`*` stands alone: it already allows every origin",
            );
        }

        let mut client_ids = BTreeSet::new();
        for (i, client) in self.clients.iter().enumerate() {
            let at = |field: &str| format!("clients[{i}].{field}");
            if client.id.is_empty() || !client_ids.insert(&client.id) {
                problem(at("id"), "expected a non-empty id unique among the clients");
            }
            if client.secret.as_deref() == Some("") {
                problem(
                    at("secret"),
                    "an empty secret is not a secret; omit it for a public client",
                );
            }
            for (j, uri) in client.redirect_uris.iter().enumerate() {
                if let Err(why) = check_redirect_uri(uri) {
                    problem(at(&format!("redirect_uris[{j}]")), &why);
                }
            }
            for (j, uri) in client.post_logout_redirect_uris.iter().enumerate() {
                if let Err(why) = check_redirect_uri(uri) {
                    problem(at(&format!("post_logout_redirect_uris[{j}]")), &why);
                }
            }
            if let Some(uri) = &client.logout_url
                && let Err(why) = check_redirect_uri(uri)
            {
                problem(at("logout_url"), &why);
            }
            for (j, scope) in client.scopes.iter().enumerate() {
                if !self.scopes.contains_key(scope) {
                    problem(
                        at(&format!("scopes[{j}]")),
                        &format!("`{scope}` is not in the scope catalogue (`[scopes]`)"),
                    );
                }
            }
            if client.grant_types.contains(&GrantType::AuthorizationCode)
                && client.redirect_uris.is_empty()
            {
                problem(
                    at("redirect_uris"),
                    "a client using authorization_code needs at least one redirect URI (RFC 6749 3.1.2.2)",
                );
            }
            if client.is_public() {
                if client.require_pkce == Some(false) {
                    problem(
                        at("require_pkce"),
                        "a public client must use PKCE (RFC 9700 2.1.1)",
                    );
                }
                if client.grant_types.contains(&GrantType::ClientCredentials) {
                    problem(
                        at("grant_types"),
                        "client_credentials is only for confidential clients (RFC 6749 4.4)",
                    );
                }
                if matches!(
                    client.token_endpoint_auth_method,
                    Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
                ) {
                    problem(
                        at("token_endpoint_auth_method"),
                        "a public client has no secret: expected `none`",
                    );
                }
            } else if client.token_endpoint_auth_method == Some(AuthMethod::None) {
                problem(
                    at("token_endpoint_auth_method"),
                    "a client with a secret must authenticate: expected client_secret_basic or client_secret_post",
                );
            }
            if let Some(alg) = client.signing_alg
                && !key_algs.contains(&alg)
            {
                problem(
                    at("signing_alg"),
                    &format!("no key in `keys` has alg {alg}"),
                );
            }
        }
        if self.clients.is_empty() {
            problem("clients".into(), "expected at least one client");
        }

        let mut nested = Vec::new();
        for (slug, tenant) in &self.tenants {
            let at = |field: &str| format!("tenants.{slug}{field}");
            if let Err(why) = check_slug(slug) {
                problem(at(""), &why);
            }
            if tenant.issuer.is_some() {
                problem(
                    at(".issuer"),
                    "a tenant's issuer is the server's followed by /SLUG; leave it out",
                );
            }
            if tenant.deterministic.is_some() {
                problem(
                    at(".deterministic"),
                    "tenants share the server's clock and seed; set `deterministic` at the top",
                );
            }
            if !tenant.tenants.is_empty() {
                problem(at(".tenants"), "tenants do not nest");
            }
            if tenant.cors != CorsConfig::default() {
                problem(
                    at(".cors"),
                    "the server's `[cors]` covers its tenants; set it at the top",
                );
            }
            if self.deterministic.is_some() && tenant.keys.is_empty() {
                problem(
                    at(".keys"),
                    "a deterministic configuration lists each tenant's keys (keys made at start differ every time)",
                );
            }
            nested.extend(
                tenant
                    .problems()
                    .into_iter()
                    .map(|problem| format!("tenants.{slug}.{problem}")),
            );
        }
        problems.extend(nested);
        problems
    }
}

fn check_issuer_url(issuer: &str) -> Result<(), String> {
    let url = url::Url::parse(issuer).map_err(|e| format!("expected an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("expected an http or https URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an issuer identifier has no query or fragment (Discovery 3)".into());
    }
    Ok(())
}

/// A tenant slug is one path segment that none of the issuer's own routes starts with.
fn check_slug(slug: &str) -> Result<(), String> {
    let well_formed = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !slug.starts_with(['-', '_']);
    if !well_formed {
        return Err(
            "a tenant slug is 1 to 63 lowercase letters, digits, `-` and `_`, starting with a letter or digit".into(),
        );
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(format!(
            "`{slug}` is a path of the issuer's own; reserved: {}",
            RESERVED_SLUGS.join(", ")
        ));
    }
    Ok(())
}

/// `*`, or a web origin as browsers send it: `scheme://host[:port]`, nothing after.
fn check_cors_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let url = url::Url::parse(origin).map_err(|e| format!("expected `*` or an origin: {e}"))?;
    let serialized = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || serialized != origin {
        return Err(format!(
            "expected an origin such as `http://localhost:3000` (scheme, host, port; no path or trailing slash), got `{origin}`"
        ));
    }
    Ok(())
}

fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("expected an absolute URI: {e}"))?;
    if url.fragment().is_some() {
        return Err("a redirect URI must not have a fragment (RFC 6749 3.1.2)".into());
    }
    Ok(())
}
