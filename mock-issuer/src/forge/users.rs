//! Users, their claims and their permissions, changed while the issuer runs. Every change
//! produces a whole new configuration that must pass the same validation as one loaded at
//! startup (unique `sub` and email, the auto-login user exists...), then replaces the old one
//! atomically: a request in flight keeps the snapshot it started with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, UserConfig};
use crate::state::IssuerState;

/// Why a user change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    #[error("no user has the email or sub `{0}`")]
    NotFound(String),
    #[error("the change would make the configuration invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Whether [`Issuer::upsert_user`](crate::Issuer::upsert_user) added a user or replaced one with the same `sub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Upserted {
    Added,
    Replaced,
}

/// A partial change to a user. Absent fields stay as they are; `claims` is merged in the
/// manner of JSON Merge Patch (RFC 7396): a `null` value removes the claim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Replaces the whole list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<BTreeMap<String, Value>>,
}

impl UserPatch {
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = Some(permissions.into_iter().map(Into::into).collect());
        self
    }

    /// Sets (or, with `Value::Null`, removes) one claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), value.into());
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn email_verified(mut self, verified: bool) -> Self {
        self.email_verified = Some(verified);
        self
    }

    fn apply(&self, user: &mut UserConfig) {
        if let Some(email) = &self.email {
            user.email.clone_from(email);
        }
        if let Some(verified) = self.email_verified {
            user.email_verified = verified;
        }
        if let Some(name) = &self.name {
            user.name = Some(name.clone());
        }
        if let Some(permissions) = &self.permissions {
            user.permissions.clone_from(permissions);
        }
        for (name, value) in self.claims.iter().flatten() {
            if value.is_null() {
                user.claims.remove(name);
            } else {
                user.claims.insert(name.clone(), value.clone());
            }
        }
    }
}

/// `config` with `user` added, or replacing the user with the same `sub`.
pub(crate) fn with_user(
    config: &Config,
    user: UserConfig,
) -> Result<(Config, Upserted), UserError> {
    let mut next = config.clone();
    let outcome = match next.users.iter_mut().find(|u| u.sub == user.sub) {
        Some(existing) => {
            *existing = user;
            Upserted::Replaced
        }
        None => {
            next.users.push(user);
            Upserted::Added
        }
    };
    validated(next).map(|config| (config, outcome))
}

/// `config` with the user found by `email_or_sub` changed by `patch`.
pub(crate) fn with_patch(
    config: &Config,
    email_or_sub: &str,
    patch: &UserPatch,
) -> Result<(Config, UserConfig), UserError> {
    let mut next = config.clone();
    let index = find(&next, email_or_sub)?;
    patch.apply(&mut next.users[index]);
    let user = next.users[index].clone();
    validated(next).map(|config| (config, user))
}

/// `config` without the user found by `email_or_sub`.
pub(crate) fn without_user(
    config: &Config,
    email_or_sub: &str,
) -> Result<(Config, UserConfig), UserError> {
    let mut next = config.clone();
    let index = find(&next, email_or_sub)?;
    let user = next.users.remove(index);
    validated(next).map(|config| (config, user))
}

fn find(config: &Config, email_or_sub: &str) -> Result<usize, UserError> {
    config
        .users
        .iter()
        .position(|u| {
            u.email.eq_ignore_ascii_case(email_or_sub) || u.sub.to_string() == email_or_sub
        })
        .ok_or_else(|| UserError::NotFound(email_or_sub.to_owned()))
}

fn validated(config: Config) -> Result<Config, UserError> {
    match config.validate() {
        Ok(()) => Ok(config),
        Err(crate::config::ConfigError::Invalid { problems, .. }) => {
            Err(UserError::Invalid(problems))
        }
        Err(other) => Err(UserError::Invalid(vec![other.to_string()])),
    }
}

/// Adds or replaces a user on the running issuer.
pub(crate) fn upsert(state: &IssuerState, user: UserConfig) -> Result<Upserted, UserError> {
    let mut outcome = Upserted::Added;
    state.update_config(|config| {
        let (next, how) = with_user(config, user)?;
        outcome = how;
        Ok(next)
    })?;
    Ok(outcome)
}

/// Changes a user on the running issuer; returns the user as it is now.
pub(crate) fn update(
    state: &IssuerState,
    email_or_sub: &str,
    patch: &UserPatch,
) -> Result<UserConfig, UserError> {
    let mut changed = None;
    state.update_config(|config| {
        let (next, user) = with_patch(config, email_or_sub, patch)?;
        changed = Some(user);
        Ok(next)
    })?;
    changed.ok_or_else(|| UserError::NotFound(email_or_sub.to_owned()))
}

/// Removes a user from the running issuer; codes, sessions and refresh tokens of that user stop
/// working (the grants find no user), tokens already issued stay valid until they expire.
pub(crate) fn remove(state: &IssuerState, email_or_sub: &str) -> Result<UserConfig, UserError> {
    let mut removed = None;
    state.update_config(|config| {
        let (next, user) = without_user(config, email_or_sub)?;
        removed = Some(user);
        Ok(next)
    })?;
    removed.ok_or_else(|| UserError::NotFound(email_or_sub.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn carol() -> UserConfig {
        serde_json::from_value(json!({
            "sub": "0f6b4c1e-2d3a-4b5c-8d9e-0a1b2c3d4e5f",
            "email": "carol@example.com",
            "permissions": ["castles:admin"],
        }))
        .unwrap()
    }

    #[test]
    fn a_new_sub_is_added_and_a_known_one_replaced() {
        let config = Config::default();
        let (config, how) = with_user(&config, carol()).unwrap();
        let users = Config::default().users.len();
        assert_eq!(how, Upserted::Added);
        assert_eq!(config.users.len(), users + 1);
        let mut renamed = carol();
        renamed.name = Some("Carol".into());
        let (config, how) = with_user(&config, renamed).unwrap();
        assert_eq!(how, Upserted::Replaced);
        assert_eq!(config.users.len(), users + 1);
        assert_eq!(config.users[users].name.as_deref(), Some("Carol"));
    }

    #[test]
    fn changes_that_break_validation_are_refused_with_the_reason() {
        let config = Config::default();
        let mut clash = carol();
        clash.email = "ALICE@example.com".into();
        let err = with_user(&config, clash).unwrap_err();
        let at = format!("users[{}].email", Config::default().users.len());
        assert!(err.to_string().contains(&at), "{err}");
        // alice signs in automatically: she cannot go.
        let err = without_user(&config, "alice@example.com").unwrap_err();
        assert!(err.to_string().contains("login.user"), "{err}");
        assert_eq!(
            without_user(&config, "nobody").unwrap_err(),
            UserError::NotFound("nobody".into())
        );
    }

    #[test]
    fn a_patch_merges_claims_and_replaces_permissions() {
        let config = Config::default();
        let patch = UserPatch::default()
            .claim("locale", Value::Null)
            .claim("tenant_id", 7)
            .permissions(["castles:admin"]);
        let (_, alice) = with_patch(&config, "alice@example.com", &patch).unwrap();
        assert_eq!(alice.permissions, ["castles:admin"]);
        assert_eq!(alice.claims.get("tenant_id"), Some(&json!(7)));
        assert!(!alice.claims.contains_key("locale"));
        assert_eq!(alice.claims.get("given_name"), Some(&json!("Alice")));
    }
}
