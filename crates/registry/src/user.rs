//! Local users: the embedded directory that lets the server work alone.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::client::with_member_role;
use crate::error::{RegistryError, Result};
use crate::secret::SecretValue;

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub user_name: String,
    pub given_name: String,
    pub surname: String,
    pub email: String,
    pub enabled: bool,
    pub role_ids: Vec<Uuid>,
    /// PHC string of an argon2id hash; never leaves the server.
    pub password_hash: String,
    pub created: OffsetDateTime,
}

/// A create or partial update of a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub id: Option<Uuid>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub email: Option<String>,
    pub enabled: Option<bool>,
    pub role_ids: Option<Vec<Uuid>>,
    /// Already hashed with [`hash_password`], so the slow work happens off the store's lock.
    pub password_hash: Option<String>,
}

impl User {
    pub fn create(tenant_id: Uuid, changes: UserChanges, now: OffsetDateTime) -> Result<Self> {
        if changes.user_name.is_none() {
            return Err(RegistryError::invalid("UserName", "is required"));
        }
        if changes.password_hash.is_none() {
            return Err(RegistryError::invalid("Password", "is required"));
        }
        let mut user = User {
            tenant_id,
            id: changes.id.unwrap_or_else(Uuid::new_v4),
            user_name: String::new(),
            given_name: String::new(),
            surname: String::new(),
            email: String::new(),
            enabled: true,
            role_ids: Vec::new(),
            password_hash: String::new(),
            created: now,
        };
        user.apply(UserChanges { id: None, ..changes })?;
        Ok(user)
    }

    pub fn apply(&mut self, changes: UserChanges) -> Result<()> {
        if let Some(id) = changes.id {
            if id != self.id {
                return Err(RegistryError::invalid("Id", "cannot be changed; it must match the id in the path"));
            }
        }
        if let Some(name) = changes.user_name {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
                return Err(RegistryError::invalid("UserName", "must be 1 to 128 printable characters"));
            }
            self.user_name = name;
        }
        for (field, value, slot) in [
            ("GivenName", changes.given_name, &mut self.given_name),
            ("Surname", changes.surname, &mut self.surname),
            ("Email", changes.email, &mut self.email),
        ] {
            if let Some(v) = value {
                if v.chars().count() > 256 {
                    return Err(RegistryError::invalid(field, "must be at most 256 characters"));
                }
                *slot = v;
            }
        }
        if !self.email.is_empty() && !self.email.contains('@') {
            return Err(RegistryError::invalid("Email", "must be an e-mail address"));
        }
        if let Some(enabled) = changes.enabled {
            self.enabled = enabled;
        }
        if let Some(roles) = changes.role_ids {
            self.role_ids = roles;
        }
        self.role_ids = with_member_role(std::mem::take(&mut self.role_ids));
        if let Some(hash) = changes.password_hash {
            self.password_hash = hash;
        }
        Ok(())
    }

    /// The key that makes user names unique in a tenant, whatever their case.
    pub fn name_key(user_name: &str) -> String {
        user_name.trim().to_lowercase()
    }
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes, OWASP's
/// recommendation). Slow by design: call it off the async workers.
pub fn hash_password(password: &SecretValue) -> Result<String> {
    let len = password.expose().chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(RegistryError::invalid("Password", format!("must be {PASSWORD_MIN} to {PASSWORD_MAX} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RegistryError::Storage(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored hash. Slow by design: call it off the async workers.
pub fn verify_password(hash: &str, password: &SecretValue) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(password.expose().as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let pw = SecretValue::new("correct horse battery");
        let hash = hash_password(&pw).expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, &pw));
        assert!(!verify_password(&hash, &SecretValue::new("wrong horse battery")));
        assert!(hash_password(&SecretValue::new("short")).is_err());
    }
}
