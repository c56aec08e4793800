//! Tenants and what a fresh server creates on its first start.

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::client::Client;
use crate::secret::NewSecret;
use crate::user::User;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub created: OffsetDateTime,
}

/// Everything a new tenant starts with, written in one transaction: the tenant, its
/// built-in roles (added by the store), its first users and clients.
#[derive(Debug, Clone)]
pub struct TenantSeed {
    pub tenant: Tenant,
    pub users: Vec<User>,
    pub clients: Vec<(Client, Option<NewSecret>)>,
}

/// A private signing key as stored. `Debug` never shows the key material.
#[derive(Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// JOSE algorithm name, such as `ES256` or `RS256`.
    pub alg: String,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    pub created: OffsetDateTime,
    /// When it stopped signing; it stays published until what it signed has expired.
    pub retired: Option<OffsetDateTime>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_der", &"<redacted>")
            .field("created", &self.created)
            .field("retired", &self.retired)
            .finish()
    }
}
