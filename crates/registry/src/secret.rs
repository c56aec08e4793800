//! Client secrets: generated here, shown once, stored only as a hash.
//!
//! Secrets are 256 random bits from the operating system's CSPRNG. Because they carry that
//! much entropy, a single SHA-256 is a sound verifier: no dictionary or brute force reaches
//! a 2^256 space, so a slow password hash (bcrypt, PBKDF2, Argon2) would only cost every
//! token request time without adding safety (`shared/spec/protocol.md`, Token).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::error::{Invalid, RegistryError, Result};

/// At most this many secrets per client (admin-api.md, Rules).
pub const MAX_SECRETS_PER_CLIENT: usize = 10;

const SECRET_BYTES: usize = 32;

/// A plaintext secret. Its `Debug` is redacted; the value is reached only by [`expose`].
///
/// [`expose`]: SecretValue::expose
#[derive(Clone)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value given by the operator (configuration) or presented by a client.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Draws a new secret from the CSPRNG. A value that would begin with `-` is drawn again:
    /// command-line tools read an argument that starts with a dash as an option, and people
    /// pass secrets on command lines (`curl -u`, scripts, load generators). This keeps
    /// 255.98 of the 256 bits (one first character in 64 is never used).
    pub fn generate() -> Result<Self> {
        let random = SystemRandom::new();
        loop {
            let mut bytes = [0u8; SECRET_BYTES];
            random.fill(&mut bytes).map_err(|_| RegistryError::Storage("the system random source failed".into()))?;
            let value = URL_SAFE_NO_PAD.encode(bytes);
            if !value.starts_with('-') {
                return Ok(Self(value));
            }
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(digest(&SHA256, self.0.as_bytes()).as_ref().to_vec())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// The stored verifier of a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(Vec<u8>);

impl SecretHash {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time comparison, so timing tells nothing about how much matched.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// When a secret stops authenticating. `None` is "Never Expires".
pub type Expiration = Option<OffsetDateTime>;

/// A secret as stored: everything but the value.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSecret {
    /// Per client, counting from 1, never reused.
    pub id: u32,
    pub description: String,
    pub expiration: Expiration,
    pub hash: SecretHash,
    pub created: OffsetDateTime,
}

impl ClientSecret {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expiration.is_none_or(|at| now < at)
    }
}

/// What the caller asks for when adding a secret; the store assigns the id.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub description: String,
    pub expiration: Expiration,
    pub hash: SecretHash,
    pub created: OffsetDateTime,
}

impl NewSecret {
    /// Draws a new secret value and the record to store for it. The value is returned to
    /// be shown once; only its hash is kept.
    pub fn generate(description: String, expiration: Expiration, now: OffsetDateTime) -> Result<(SecretValue, Self)> {
        let value = SecretValue::generate()?;
        let record = Self { description, expiration, hash: value.hash(), created: now };
        Ok((value, record))
    }
}

/// How long a first secret created with its client lives when the request names no
/// expiration: one year, the portal's default.
pub const DEFAULT_SECRET_LIFETIME: time::Duration = time::Duration::days(365);

/// The `Expires`/`Expiration` rules of the contract: `Expires` defaults to true; true needs
/// an `Expiration`, false forbids one. An expiration already past is refused too: it would
/// create a secret that can never be used.
pub fn expiration_rule(
    expires: Option<bool>,
    expiration: Option<OffsetDateTime>,
    now: OffsetDateTime,
    names: (&str, &str),
) -> Result<Expiration, Invalid> {
    let (expires_field, expiration_field) = names;
    match (expires.unwrap_or(true), expiration) {
        (true, None) => Err(Invalid::new(
            expiration_field,
            format!(
                "is required when {expires_field} is true (use {expires_field}: false for a secret that never expires)"
            ),
        )),
        (true, Some(at)) if at <= now => Err(Invalid::new(expiration_field, "must be in the future")),
        // Stores keep whole seconds; so does what we answer.
        (true, Some(at)) => {
            // The last hours of 9999-12-31 with a negative offset fall past year 9999 in
            // UTC, which `time` cannot hold: `to_offset` panicked there (fuzz/regressions).
            let Some(at) = at.checked_to_offset(time::UtcOffset::UTC) else {
                return Err(Invalid::new(expiration_field, "must be at most 9999-12-31T23:59:59Z"));
            };
            Ok(Some(at.replace_nanosecond(0).unwrap_or(at)))
        }
        (false, None) => Ok(None),
        (false, Some(_)) => {
            Err(Invalid::new(expiration_field, format!("must be absent or null when {expires_field} is false")))
        }
    }
}

/// What a change's `Expires` and `Expiration` make of a stored secret's expiration
/// `current`: `None` leaves it as it is. Neither given leaves it (a missing or null property
/// is no change); so does the expiration it already has, past or not, so that a secret's GET
/// body sent back changes nothing, an expired secret's included. Anything else follows
/// [`expiration_rule`], which refuses a new expiration in the past.
pub fn changed_expiration(
    expires: Option<bool>,
    expiration: Option<OffsetDateTime>,
    current: Expiration,
    now: OffsetDateTime,
    names: (&str, &str),
) -> Result<Option<Expiration>, Invalid> {
    // Stores keep whole seconds.
    let given = expiration.map(|at| at.replace_nanosecond(0).unwrap_or(at));
    match (expires, given) {
        (None, None) => Ok(None),
        (None | Some(true), Some(_)) if given == current => Ok(None),
        _ => expiration_rule(expires, expiration, now, names).map(Some),
    }
}

pub const DESCRIPTION_MAX: usize = 256;

pub fn description_rule(field: &str, description: Option<String>) -> Result<String, Invalid> {
    let description = description.unwrap_or_default();
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(Invalid::new(field, format!("must be at most {DESCRIPTION_MAX} characters")));
    }
    Ok(description)
}

/// True when `presented` is one of the client's live secrets. Hashes once, then compares
/// against every live secret without stopping early.
pub fn verify(secrets: &[ClientSecret], presented: &SecretValue, now: OffsetDateTime) -> bool {
    let hash = presented.hash();
    secrets.iter().filter(|s| s.is_live(now)).fold(false, |found, s| s.hash.matches(&hash) | found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;
    use time::macros::datetime;

    fn stored(id: u32, value: &SecretValue, expiration: Expiration) -> ClientSecret {
        ClientSecret {
            id,
            description: String::new(),
            expiration,
            hash: value.hash(),
            created: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn generated_secrets_are_long_distinct_and_redacted() {
        let a = SecretValue::generate().expect("rng");
        let b = SecretValue::generate().expect("rng");
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "SecretValue(<redacted>)");
    }

    #[test]
    fn generated_secrets_never_begin_with_a_dash() {
        // One draw in 64 would begin with `-`: 2,000 draws would hold ~31 of them.
        for _ in 0..2000 {
            assert!(!SecretValue::generate().expect("rng").expose().starts_with('-'));
        }
    }

    #[test]
    fn any_live_secret_verifies_and_an_expired_one_never_does() {
        let now = datetime!(2026-06-01 0:00 UTC);
        let live = SecretValue::new("live");
        let never = SecretValue::new("never");
        let expired = SecretValue::new("expired");
        let secrets = [
            stored(1, &live, Some(datetime!(2027-01-01 0:00 UTC))),
            stored(2, &never, None),
            stored(3, &expired, Some(now)),
        ];
        assert!(verify(&secrets, &live, now));
        assert!(verify(&secrets, &never, now));
        assert!(!verify(&secrets, &expired, now));
        assert!(!verify(&secrets, &SecretValue::new("other"), now));
    }

    #[test]
    fn expiration_rules_follow_the_contract() {
        let now = datetime!(2026-06-01 0:00 UTC);
        let later = datetime!(2027-06-01 0:00 UTC);
        let names = ("Expires", "Expiration");
        assert_eq!(expiration_rule(None, Some(later), now, names), Ok(Some(later)));
        assert_eq!(expiration_rule(Some(false), None, now, names), Ok(None));
        assert!(expiration_rule(None, None, now, names).is_err());
        assert!(expiration_rule(Some(false), Some(later), now, names).is_err());
        // Found while writing the admin_json fuzz target: past year 9999 in UTC, refused.
        let beyond = OffsetDateTime::parse("9999-12-31T23:59:59-00:01", &Rfc3339).expect("RFC 3339");
        assert!(expiration_rule(None, Some(beyond), now, names).is_err());
        let last = OffsetDateTime::parse("9999-12-31T23:59:59Z", &Rfc3339).expect("RFC 3339");
        assert_eq!(expiration_rule(None, Some(last), now, names), Ok(Some(last)));
        assert!(expiration_rule(Some(true), Some(now), now, names).is_err());
    }

    #[test]
    fn a_change_to_the_expiration_it_already_has_is_no_change_even_past() {
        let now = datetime!(2026-06-01 0:00 UTC);
        let (past, later) = (datetime!(2026-05-01 0:00 UTC), datetime!(2027-06-01 0:00 UTC));
        let names = ("Expires", "Expiration");
        assert_eq!(changed_expiration(None, None, Some(past), now, names), Ok(None));
        assert_eq!(changed_expiration(None, Some(past), Some(past), now, names), Ok(None));
        assert_eq!(
            changed_expiration(Some(true), Some(datetime!(2026-05-01 2:00 +2)), Some(past), now, names),
            Ok(None)
        );
        assert_eq!(changed_expiration(Some(false), None, None, now, names), Ok(Some(None)));
        assert_eq!(changed_expiration(None, Some(later), Some(past), now, names), Ok(Some(Some(later))));
        assert!(changed_expiration(None, Some(past - time::Duration::SECOND), Some(past), now, names).is_err());
        assert!(changed_expiration(Some(false), Some(past), Some(past), now, names).is_err());
        assert!(changed_expiration(Some(true), None, Some(later), now, names).is_err());
    }
}
