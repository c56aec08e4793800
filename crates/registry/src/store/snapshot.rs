//! A store's whole state as plain values, to move it into an empty store of another backend
//! (`gatehouse copy-data`, decision 39). Everything a store keeps is here, exactly: the
//! secret ids of each client and the id its next secret takes (ids are never reused, so the
//! gaps survive), the server secrets (without the refresh-successor HMAC key every refresh
//! token dies), which codes were used, each refresh token's state and successor.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::client::Client;
use crate::device::DeviceCode;
use crate::error::Result;
use crate::grant::{AuthorizationCode, RefreshToken, SecretHashKey, Session};
use crate::role::Role;
use crate::secret::ClientSecret;
use crate::tenant::{SigningKeyRecord, Tenant};
use crate::user::User;

/// Reading a whole store, and writing one into an empty store.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Everything the store holds, read in one transaction (one snapshot), in
    /// [`Snapshot::canonical`] order.
    async fn export(&self) -> Result<Snapshot>;
    /// Writes `snapshot` into this store, which must hold nothing at all (no tenant, key,
    /// server secret, grant or throttle counter): `Conflict` otherwise, and nothing is
    /// written. All or nothing, in one transaction that no first start (of an instance on
    /// the same store) can interleave with. A later [`SnapshotStore::export`] answers a
    /// snapshot equal to `snapshot` (as far as the backend's time precision goes: SQLite
    /// keeps seconds).
    async fn import(&self, snapshot: Snapshot) -> Result<()>;
}

/// Everything a store holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Tenants in the store's list order, each with what belongs to it.
    pub tenants: Vec<TenantSnapshot>,
    /// Oldest first, retired ones included.
    pub signing_keys: Vec<SigningKeyRecord>,
    pub server_secrets: Vec<ServerSecret>,
    pub sessions: Vec<Session>,
    pub codes: Vec<StoredCode>,
    pub refresh_tokens: Vec<StoredRefresh>,
    /// Each revoked family with the time of its revocation.
    pub revoked_families: Vec<(Uuid, OffsetDateTime)>,
    pub attempts: Vec<Attempts>,
    /// Device codes in every state (RFC 8628).
    pub device_codes: Vec<DeviceCode>,
    /// The audit trail, in the order written (a copy keeps it: it is the record of what was
    /// done to the data it travels with).
    pub audit_events: Vec<AuditEvent>,
}

/// A tenant and what it owns, each list in creation order.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSnapshot {
    pub tenant: Tenant,
    /// Built-in and custom roles.
    pub roles: Vec<Role>,
    pub users: Vec<User>,
    pub clients: Vec<StoredClient>,
}

/// A client with its secrets (by id) and the id its next secret will take.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredClient {
    pub client: Client,
    pub secrets: Vec<ClientSecret>,
    pub next_secret_id: u32,
}

/// A server secret (`KeyStore::server_secret`). `Debug` never shows the value.
#[derive(Clone, PartialEq)]
pub struct ServerSecret {
    pub name: String,
    pub value: Vec<u8>,
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSecret").field("name", &self.name).field("value", &"<redacted>").finish()
    }
}

/// An authorization code and whether it has been spent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCode {
    pub code: AuthorizationCode,
    pub used: bool,
}

/// A refresh token and, once rotated, its successor's handle.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRefresh {
    pub token: RefreshToken,
    pub successor: Option<SecretHashKey>,
}

/// A sign-in throttle counter: `count` attempts in the window that began at `since`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempts {
    pub key: String,
    pub count: u32,
    pub since: OffsetDateTime,
}

impl Snapshot {
    /// Puts what has no order of its own (secrets, grants, counters) in one order, so that
    /// snapshots of equal stores are equal whatever order a backend reads them in. Tenants,
    /// roles, users, clients, keys and audit events keep the store's (creation) order;
    /// secrets go by id.
    pub fn canonical(mut self) -> Self {
        for t in &mut self.tenants {
            for c in &mut t.clients {
                c.secrets.sort_by_key(|s| s.id);
            }
        }
        self.server_secrets.sort_by(|a, b| a.name.cmp(&b.name));
        self.sessions.sort_by(|a, b| a.handle.0.cmp(&b.handle.0));
        self.codes.sort_by(|a, b| a.code.handle.0.cmp(&b.code.handle.0));
        self.refresh_tokens.sort_by(|a, b| a.token.handle.0.cmp(&b.token.handle.0));
        self.revoked_families.sort();
        self.attempts.sort_by(|a, b| a.key.cmp(&b.key));
        self.device_codes.sort_by(|a, b| a.handle.0.cmp(&b.handle.0));
        self
    }

    /// How many of each kind, for a one-line summary: never a secret.
    pub fn counts(&self) -> SnapshotCounts {
        let tenants = &self.tenants;
        let clients = tenants.iter().flat_map(|t| &t.clients);
        SnapshotCounts {
            tenants: tenants.len(),
            roles: tenants.iter().map(|t| t.roles.len()).sum(),
            users: tenants.iter().map(|t| t.users.len()).sum(),
            clients: clients.clone().count(),
            client_secrets: clients.map(|c| c.secrets.len()).sum(),
            signing_keys: self.signing_keys.len(),
            server_secrets: self.server_secrets.len(),
            sessions: self.sessions.len(),
            codes: self.codes.len(),
            refresh_tokens: self.refresh_tokens.len(),
            revoked_families: self.revoked_families.len(),
            attempts: self.attempts.len(),
            device_codes: self.device_codes.len(),
            audit_events: self.audit_events.len(),
        }
    }
}

/// The sizes of a [`Snapshot`]; `Display` is the one line `copy-data` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotCounts {
    pub tenants: usize,
    pub roles: usize,
    pub users: usize,
    pub clients: usize,
    pub client_secrets: usize,
    pub signing_keys: usize,
    pub server_secrets: usize,
    pub sessions: usize,
    pub codes: usize,
    pub refresh_tokens: usize,
    pub revoked_families: usize,
    pub attempts: usize,
    pub device_codes: usize,
    pub audit_events: usize,
}

impl fmt::Display for SnapshotCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tenants, {} roles, {} users, {} clients, {} client secrets, {} signing keys, {} server secrets, \
             {} sessions, {} authorization codes, {} refresh tokens, {} revoked families, {} throttle counters, {} device codes, \
             {} audit events",
            self.tenants,
            self.roles,
            self.users,
            self.clients,
            self.client_secrets,
            self.signing_keys,
            self.server_secrets,
            self.sessions,
            self.codes,
            self.refresh_tokens,
            self.revoked_families,
            self.attempts,
            self.device_codes,
            self.audit_events
        )
    }
}

/// The refusal of an import into a store that holds something.
pub fn not_empty() -> crate::error::RegistryError {
    crate::error::RegistryError::Conflict(
        "the target store is not empty; copy only into an empty database (nothing was written)".into(),
    )
}
