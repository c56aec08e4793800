//! Local users: the embedded directory that lets the server work alone.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::client::with_member_role;
use crate::error::{RegistryError, Result};
use crate::secret::SecretValue;

/// The longest user name, in characters.
pub const USER_NAME_MAX: usize = 128;

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 1024;
/// `GivenName`, `Surname`, `ContactGivenName`, `ContactSurname` and the address: at most
/// this many characters.
pub const TEXT_MAX: usize = 256;

#[derive(Clone, PartialEq)]
pub struct User {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub user_name: String,
    pub given_name: String,
    pub surname: String,
    /// The product's `ContactEmail` (also shown as `Email`); the `email` claim.
    pub email: String,
    /// The product's `ContactGivenName` and `ContactSurname`: how to address the user, kept
    /// apart from the names the directory signs in with (which go into ID tokens).
    pub contact_given_name: String,
    pub contact_surname: String,
    pub enabled: bool,
    pub role_ids: Vec<Uuid>,
    /// PHC string of an argon2id hash; never leaves the server.
    pub password_hash: String,
    pub created: OffsetDateTime,
}

/// The password hash is never shown.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("user_name", &self.user_name)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A create or partial update of a user; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct UserChanges {
    pub id: Option<Uuid>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    /// `ContactEmail`.
    pub email: Option<String>,
    /// `Email`, the alias of `ContactEmail`: see [`User::apply`] when both are given.
    pub email_alias: Option<String>,
    pub contact_given_name: Option<String>,
    pub contact_surname: Option<String>,
    /// `IdentityProviderId` as given (non-null): refused, this server has only its local
    /// directory.
    pub identity_provider_id: Option<String>,
    pub enabled: Option<bool>,
    pub role_ids: Option<Vec<Uuid>>,
    /// Already hashed with [`hash_password`], so the slow work happens off the store's lock.
    pub password_hash: Option<String>,
}

/// The password hash is never shown.
impl std::fmt::Debug for UserChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChanges")
            .field("id", &self.id)
            .field("user_name", &self.user_name)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether the user, as stored now, may hold a token issued at `issued_at` (Unix
    /// seconds): enabled, and not created after it. A deleted id created again does not
    /// inherit the tokens of the user it was before (both times in whole seconds).
    pub fn may_hold(&self, issued_at: i64) -> bool {
        self.enabled && self.created.unix_timestamp() <= issued_at
    }

    /// Whether the user can administer the tenant: enabled, with the Tenant Administrator
    /// role.
    pub fn administers(&self) -> bool {
        self.enabled && self.role_ids.contains(&crate::role::TENANT_ADMINISTRATOR)
    }

    /// Whether a change (`after`; `None` for a delete) takes `self` out of the tenant's
    /// administrators. A store refuses such a change with [`User::last_administrator`] when
    /// no other enabled user has the role, checking inside the change's transaction so that
    /// two administrators removing each other at once cannot both succeed.
    pub fn removes_administrator(&self, after: Option<&User>) -> bool {
        self.administers() && !after.is_some_and(User::administers)
    }

    /// Why the change was refused: the tenant would be locked out of its console for good.
    pub fn last_administrator(&self) -> RegistryError {
        RegistryError::LastAdministrator(self.user_name.clone())
    }

    /// A new user. `UserName` defaults to the e-mail address (the product's users have no
    /// user name: they sign in with their e-mail address).
    pub fn create(tenant_id: Uuid, mut changes: UserChanges, now: OffsetDateTime) -> Result<Self> {
        if changes.user_name.is_none() {
            let email = changes.email.as_ref().or(changes.email_alias.as_ref()).filter(|e| !e.trim().is_empty());
            match email {
                Some(email) => changes.user_name = Some(email.clone()),
                None => {
                    return Err(RegistryError::invalid("UserName", "is required (or a ContactEmail, which becomes it)"))
                }
            }
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
            contact_given_name: String::new(),
            contact_surname: String::new(),
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
            if name.is_empty() || name.chars().count() > USER_NAME_MAX || name.chars().any(char::is_control) {
                return Err(RegistryError::invalid("UserName", "must be 1 to 128 printable characters"));
            }
            self.user_name = name;
        }
        if changes.identity_provider_id.is_some() {
            return Err(RegistryError::invalid(
                "IdentityProviderId",
                "must be null or absent: this server has only its local directory for now",
            ));
        }
        let email = email_change(&self.email, changes.email, changes.email_alias)?;
        for (field, value, slot) in [
            ("GivenName", changes.given_name, &mut self.given_name),
            ("Surname", changes.surname, &mut self.surname),
            ("ContactGivenName", changes.contact_given_name, &mut self.contact_given_name),
            ("ContactSurname", changes.contact_surname, &mut self.contact_surname),
        ] {
            if let Some(v) = value {
                if v.chars().count() > TEXT_MAX {
                    return Err(RegistryError::invalid(field, format!("must be at most {TEXT_MAX} characters")));
                }
                *slot = v;
            }
        }
        if let Some((field, email)) = email {
            if email.chars().count() > TEXT_MAX {
                return Err(RegistryError::invalid(field, format!("must be at most {TEXT_MAX} characters")));
            }
            if !email.is_empty() && !email.contains('@') {
                return Err(RegistryError::invalid(field, "must be an e-mail address"));
            }
            self.email = email;
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

/// The e-mail address a change sets, and the property it came from. `Email` is an alias of
/// `ContactEmail`. When both are given with different values, one of them must be the stored
/// address (a GET body sent back with one of the two edited), and the other is the change;
/// otherwise the request is ambiguous.
fn email_change(
    stored: &str,
    contact: Option<String>,
    alias: Option<String>,
) -> Result<Option<(&'static str, String)>> {
    Ok(match (contact, alias) {
        (Some(contact), Some(alias)) if contact != alias => {
            if alias == stored {
                Some(("ContactEmail", contact))
            } else if contact == stored {
                Some(("Email", alias))
            } else {
                return Err(RegistryError::invalid(
                    "ContactEmail",
                    "and Email name the same address and differ; send one of them, or the same value in both",
                ));
            }
        }
        (Some(contact), _) => Some(("ContactEmail", contact)),
        (None, Some(alias)) => Some(("Email", alias)),
        (None, None) => None,
    })
}

/// argon2's working memory (19 MiB for our parameters), kept by a thread that checks
/// passwords and reused for every check: allocating it per check left each allocator arena
/// that ever served one holding its own copy (issue 9, item 1).
#[derive(Default)]
pub struct PasswordMemory(Vec<argon2::Block>);

impl PasswordMemory {
    /// The blocks `params` needs, grown (never shrunk) to fit.
    fn blocks(&mut self, params: &Params) -> &mut [argon2::Block] {
        let needed = params.block_count();
        if self.0.len() < needed {
            self.0.resize(needed, argon2::Block::default());
        }
        &mut self.0[..needed]
    }
}

impl std::fmt::Debug for PasswordMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordMemory({} blocks)", self.0.len())
    }
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes, OWASP's
/// recommendation) into a PHC string, working in `memory`. Slow by design: call it off the
/// async workers.
pub fn hash_password(password: &SecretValue, memory: &mut PasswordMemory) -> Result<String> {
    let len = password.expose().chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(RegistryError::invalid("Password", format!("must be {PASSWORD_MIN} to {PASSWORD_MAX} characters")));
    }
    let failed = |e: &dyn std::fmt::Display| RegistryError::Storage(format!("password hashing failed: {e}"));
    let argon = Argon2::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut raw_salt).map_err(|e| failed(&e))?;
    let params = argon.params().clone();
    let output = Output::init_with(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), |out| {
        argon
            .hash_password_into_with_memory(password.expose().as_bytes(), raw_salt, out, memory.blocks(&params))
            .map_err(|_| password_hash::Error::Password)
    })
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored argon2 hash (any of its variants and parameters),
/// working in `memory`. Slow by design: call it off the async workers.
pub fn verify_password(hash: &str, password: &SecretValue, memory: &mut PasswordMemory) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(phc.algorithm), Params::try_from(&phc)) else {
        return false;
    };
    let Ok(version) = phc.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let mut raw_salt = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut raw_salt) else { return false };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon
        .hash_password_into_with_memory(password.expose().as_bytes(), raw_salt, &mut out, memory.blocks(&params))
        .is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(changes: UserChanges) -> Result<User> {
        let changes = UserChanges { password_hash: Some("$argon2id$stub".into()), ..changes };
        User::create(Uuid::new_v4(), changes, OffsetDateTime::UNIX_EPOCH)
    }

    fn rule(result: Result<User>) -> String {
        match result {
            Err(RegistryError::Invalid(i)) => format!("{}: {}", i.field, i.rule),
            other => panic!("expected a rule, got {other:?}"),
        }
    }

    #[test]
    fn contact_email_and_its_alias_email_set_one_address() {
        let email = |e: &str| Some(e.to_owned());
        let user = create(UserChanges { email: email("a@example.com"), ..Default::default() }).expect("valid");
        assert_eq!((user.user_name.as_str(), user.email.as_str()), ("a@example.com", "a@example.com"));
        let user =
            create(UserChanges { user_name: email("a"), email_alias: email("b@example.com"), ..Default::default() })
                .expect("valid");
        assert_eq!(user.email, "b@example.com");
        let same =
            UserChanges { email: email("c@example.com"), email_alias: email("c@example.com"), ..Default::default() };
        assert_eq!(create(same).expect("valid").email, "c@example.com");
        let differ =
            UserChanges { email: email("c@example.com"), email_alias: email("d@example.com"), ..Default::default() };
        assert!(rule(create(differ)).starts_with("ContactEmail: and Email"));

        // A GET body sent back with one of the two edited: the edited one wins.
        let mut user = create(UserChanges { email: email("old@example.com"), ..Default::default() }).expect("valid");
        let edited_contact = UserChanges {
            email: email("new@example.com"),
            email_alias: email("old@example.com"),
            ..Default::default()
        };
        user.apply(edited_contact).expect("unambiguous");
        assert_eq!(user.email, "new@example.com");
        let edited_alias = UserChanges {
            email: email("new@example.com"),
            email_alias: email("newer@example.com"),
            ..Default::default()
        };
        user.apply(edited_alias).expect("unambiguous");
        assert_eq!(user.email, "newer@example.com");
        let bad = UserChanges { email_alias: email("no-at-sign"), ..Default::default() };
        assert_eq!(rule(user.apply(bad).map(|()| user.clone())), "Email: must be an e-mail address");
        assert_eq!(user.email, "newer@example.com", "nothing changed");
    }

    #[test]
    fn a_user_name_or_an_address_is_required_and_only_the_local_directory_exists() {
        assert!(rule(create(UserChanges::default())).starts_with("UserName"));
        assert!(rule(create(UserChanges { email: Some(" ".into()), ..Default::default() })).starts_with("UserName"));
        let elsewhere = UserChanges {
            user_name: Some("a".into()),
            identity_provider_id: Some("e2398938-bf8f-40fa-b380-d538ece2bfc2".into()),
            ..Default::default()
        };
        assert!(rule(create(elsewhere)).contains("only its local directory"));
        let long =
            UserChanges { user_name: Some("a".into()), contact_surname: Some("x".repeat(257)), ..Default::default() };
        assert!(rule(create(long)).starts_with("ContactSurname"));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let memory = &mut PasswordMemory::default();
        let pw = SecretValue::new("correct horse battery");
        let hash = hash_password(&pw, memory).expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&hash, &pw, memory));
        assert!(!verify_password(&hash, &SecretValue::new("wrong horse battery"), memory));
        assert!(hash_password(&SecretValue::new("short"), memory).is_err());
        assert!(!verify_password("$argon2id$v=19$m=19456,t=2,p=1$bm9wZQ", &pw, memory), "no hash part");
        assert!(!verify_password("not a hash", &pw, memory));
    }

    /// Our hashes are the argon2 crate's, and we verify the crate's, whatever their
    /// parameters, with one memory that grows to fit.
    #[test]
    fn hashes_agree_with_the_argon2_crate_and_memory_is_reused() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let memory = &mut PasswordMemory::default();
        let pw = SecretValue::new("correct horse battery");
        let ours = hash_password(&pw, memory).expect("hash");
        let blocks = memory.0.len();
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(Argon2::default().verify_password(pw.expose().as_bytes(), &parsed).is_ok(), "the crate verifies ours");
        for params in [Params::new(8, 1, 1, None), Params::new(32 * 1024, 3, 2, None)] {
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.expect("params"));
            let salt = SaltString::generate(&mut OsRng);
            let theirs = argon.hash_password(pw.expose().as_bytes(), &salt).expect("hash").to_string();
            assert!(verify_password(&theirs, &pw, memory), "{theirs}");
            assert!(!verify_password(&theirs, &SecretValue::new("wrong horse battery"), memory));
        }
        assert!(memory.0.len() >= blocks && verify_password(&ours, &pw, memory), "grown, and still right");
    }
}

#[cfg(test)]
mod debug_tests {
    use super::{User, UserChanges};

    #[test]
    fn password_hashes_never_show_in_debug() {
        let changes = UserChanges {
            user_name: Some("alice".into()),
            password_hash: Some("$argon2id$secret-hash".into()),
            ..Default::default()
        };
        let user = User::create(uuid::Uuid::new_v4(), changes.clone(), time::OffsetDateTime::UNIX_EPOCH).expect("user");
        let shown = format!("{user:?} {changes:?}");
        assert!(!shown.contains("secret-hash") && shown.contains("alice"), "{shown}");
    }
}
