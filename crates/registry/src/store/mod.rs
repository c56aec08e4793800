//! Storage: narrow traits whose doc comments are their contracts, an in-memory reference
//! store, and the suite every store must pass. Each backend is a crate of its own
//! (`crates/store-sqlite`, ...) implementing these traits and running the suite.
//!
//! Every method is one transaction: it either does all it says or nothing. Rules that
//! need the stored state (limits, uniqueness, role references) are checked inside that
//! transaction, so concurrent calls cannot break them.
//!
//! The methods that change what an administrator or a sign-in changes take an `audit`
//! event ([`AuditEvent`]): when it is given, the method writes it in that same transaction,
//! and only if the change is made (a method that fails writes no event). `None` is for
//! changes that are nobody's act (the console client registered at start, tests).

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::client::{Client, ClientChanges, ClientKind};
use crate::error::Result;
use crate::grant::{AuthorizationCode, CodeUse, RefreshToken, RefreshUse, SecretHashKey, Session, WithUser};
use crate::role::{Role, RoleChanges};
use crate::secret::{ClientSecret, Expiration, NewSecret};
use crate::tenant::{SigningKeyRecord, Tenant, TenantSeed};
use crate::user::{User, UserChanges};

pub mod device;
pub mod memory;
pub mod snapshot;
#[cfg(any(test, feature = "test-suite"))]
pub mod suite;

pub use crate::audit::AuditStore;
pub use device::DeviceCodeStore;
pub use snapshot::{Snapshot, SnapshotStore};

/// Which client: its tenant, the collection (kind) it is reached through, its id.
/// A client reached through another kind's collection does not exist there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRef {
    pub tenant_id: Uuid,
    pub kind: ClientKind,
    pub id: Uuid,
}

/// A list request: `skip` and `count` page; `ids` and `tags`, when not empty, keep only
/// items with one of those ids and one of those tags; `name` keeps clients whose name
/// contains it, ignoring ASCII case (the console's filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub skip: u64,
    pub count: u64,
    pub ids: Vec<Uuid>,
    pub tags: Vec<String>,
    pub name: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { skip: 0, count: 100, ids: Vec::new(), tags: Vec::new(), name: None }
    }
}

/// One page of a list, and how many items match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A change to a stored secret; `None` leaves that part as it is.
#[derive(Debug, Clone, Default)]
pub struct SecretChanges {
    pub description: Option<String>,
    pub expiration: Option<Expiration>,
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// True when no tenant exists yet: the server's first start.
    async fn is_empty(&self) -> Result<bool>;
    /// Creates the tenant, its built-in roles, and the seed's users and clients (with their
    /// secrets). `Conflict` when the tenant exists.
    async fn create_tenant(&self, seed: TenantSeed) -> Result<()>;
    /// The first start: creates the seed as [`TenantStore::create_tenant`] does, but only
    /// while no tenant exists at all, in one transaction that no other first start (on any
    /// instance sharing the store) can interleave with. `true` when it created the tenant,
    /// `false` when a tenant existed (the seed is dropped).
    async fn create_first_tenant(&self, seed: TenantSeed) -> Result<bool>;
    /// `NotFound("tenant")` when absent.
    async fn get_tenant(&self, id: Uuid) -> Result<Tenant>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Stores a new client and, for kinds with secrets, its first secret. `Conflict` when
    /// the id is taken (in any tenant: the token endpoint knows clients by id alone);
    /// `Invalid` when a role id is not a role of the tenant or the tenant is full;
    /// `NotFound("tenant")` when the tenant does not exist.
    async fn create_client(
        &self,
        client: Client,
        secret: Option<NewSecret>,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<ClientSecret>>;
    /// `NotFound("client")` when absent from that tenant and kind.
    async fn get_client(&self, at: ClientRef) -> Result<Client>;
    /// The client with this id in any tenant, with all its secrets, for authenticating it.
    async fn find_client(&self, id: Uuid) -> Result<Option<(Client, Vec<ClientSecret>)>>;
    /// Clients of one kind in a tenant, in creation order.
    async fn list_clients(&self, tenant_id: Uuid, kind: ClientKind, query: &ListQuery) -> Result<Page<Client>>;
    /// Reads the client, applies [`Client::apply`], checks role references, and writes it,
    /// all in one transaction. Nothing changes on error.
    async fn update_client(&self, at: ClientRef, changes: ClientChanges, audit: Option<&AuditEvent>) -> Result<Client>;
    /// Deletes the client and its secrets.
    async fn delete_client(&self, at: ClientRef, audit: Option<&AuditEvent>) -> Result<()>;
    /// Adds a secret; `Invalid("Secrets")` when the client already has the maximum. The
    /// audit event's target gets `/{secret id}` appended ([`AuditEvent::on_secret`]).
    async fn add_secret(&self, at: ClientRef, secret: NewSecret, audit: Option<&AuditEvent>) -> Result<ClientSecret>;
    async fn list_secrets(&self, at: ClientRef) -> Result<Vec<ClientSecret>>;
    /// `NotFound("secret")` when absent.
    async fn update_secret(
        &self,
        at: ClientRef,
        secret_id: u32,
        changes: SecretChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<ClientSecret>;
    /// `NotFound("secret")` when absent.
    async fn delete_secret(&self, at: ClientRef, secret_id: u32, audit: Option<&AuditEvent>) -> Result<()>;
    /// True when some enabled client lists `origin` (normalised) in its CORS origins.
    async fn cors_origin_allowed(&self, origin: &str) -> Result<bool>;
}

#[async_trait]
pub trait RoleStore: Send + Sync {
    async fn list_roles(&self, tenant_id: Uuid) -> Result<Vec<Role>>;
    /// `NotFound("role")` when absent.
    async fn get_role(&self, tenant_id: Uuid, id: Uuid) -> Result<Role>;
    /// `Conflict` when the id is taken in the tenant.
    async fn create_role(&self, tenant_id: Uuid, role: Role, audit: Option<&AuditEvent>) -> Result<Role>;
    /// Reads the role, applies [`Role::apply`] and writes it, in one transaction.
    /// `NotFound("role")` when absent; `Invalid("Id")` for a built-in role.
    async fn update_role(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: RoleChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<Role>;
    /// Removes a custom role and every reference to it. `Invalid("Id")` for a built-in role.
    async fn delete_role(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Conflict` when the id or the user name (in any case) is taken in the tenant.
    async fn create_user(&self, user: User, audit: Option<&AuditEvent>) -> Result<User>;
    async fn get_user(&self, tenant_id: Uuid, id: Uuid) -> Result<User>;
    async fn find_user_by_name(&self, tenant_id: Uuid, user_name: &str) -> Result<Option<User>>;
    async fn list_users(&self, tenant_id: Uuid, query: &ListQuery) -> Result<Page<User>>;
    /// Applies [`User::apply`] in one transaction.
    async fn update_user(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: UserChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<User>;
    async fn delete_user(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()>;
}

#[async_trait]
/// Key material: signing keys, and the server's own secrets (the HMAC key of refresh-token
/// successors).
pub trait KeyStore: Send + Sync {
    /// The server secret called `name`, stored as `candidate` on first call: every later
    /// call (from any instance) answers the stored value.
    async fn server_secret(&self, name: &str, candidate: Vec<u8>) -> Result<Vec<u8>>;
    /// Every stored signing key, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Adds a key and retires (`retired = at`) every key of the same algorithm that was
    /// still signing, in one transaction.
    async fn rotate_signing_key(
        &self,
        key: SigningKeyRecord,
        at: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()>;
    /// Stores `key` only while no key of its algorithm is signing (unretired), atomically:
    /// of several instances starting at once on an empty store, one key per algorithm is
    /// kept. `true` when `key` was stored.
    async fn add_first_signing_key(&self, key: SigningKeyRecord) -> Result<bool>;
    /// Deletes retired keys retired before `before`.
    async fn prune_signing_keys(&self, before: OffsetDateTime) -> Result<()>;
}

/// What a store tells the metrics about its own machinery, asked at each scrape of the
/// server's metrics: a store with a connection pool records the pool's state through the
/// `metrics` facade. The default records nothing (the in-memory store has no pool).
pub trait StoreMetrics {
    fn record_pool(&self) {}
}

/// Everything the server (and `gatehouse copy-data`) needs from storage.
pub trait Store:
    TenantStore
    + ClientStore
    + RoleStore
    + UserStore
    + KeyStore
    + GrantStore
    + DeviceCodeStore
    + ThrottleStore
    + SnapshotStore
    + StoreMetrics
    + AuditStore
{
}

impl<T> Store for T where
    T: TenantStore
        + ClientStore
        + RoleStore
        + UserStore
        + KeyStore
        + GrantStore
        + DeviceCodeStore
        + ThrottleStore
        + SnapshotStore
        + StoreMetrics
        + AuditStore
{
}

/// Checks that every role id names a role of the tenant, naming the first that does not.
pub fn check_role_refs(role_ids: &[Uuid], exists: impl Fn(&Uuid) -> bool) -> Result<()> {
    match role_ids.iter().find(|r| !exists(r)) {
        Some(id) => Err(crate::error::RegistryError::invalid(
            "RoleIds",
            format!("names {id}, which is not a role of this tenant"),
        )),
        None => Ok(()),
    }
}

/// Assigns the next secret id and refuses past the limit.
pub fn next_secret(existing: usize, next_id: u32, secret: NewSecret) -> Result<ClientSecret> {
    if existing >= crate::secret::MAX_SECRETS_PER_CLIENT {
        return Err(crate::error::RegistryError::invalid(
            "Secrets",
            format!("a client may have at most {} secrets; delete one first", crate::secret::MAX_SECRETS_PER_CLIENT),
        ));
    }
    Ok(ClientSecret {
        id: next_id,
        description: secret.description,
        expiration: secret.expiration,
        hash: secret.hash,
        created: secret.created,
    })
}

pub fn tenant_full(count: u64) -> Result<()> {
    if count >= crate::client::MAX_CLIENTS_PER_TENANT {
        return Err(crate::error::RegistryError::invalid(
            "Id",
            format!("the tenant already has the maximum of {} clients", crate::client::MAX_CLIENTS_PER_TENANT),
        ));
    }
    Ok(())
}

/// Counters of attempts (sign-ins) per key, shared by every instance on the store, so that a
/// failure counted on one instance counts on all. Keys are short strings the caller builds
/// (a user name in a tenant, a client address); each lives for its window.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts one attempt against each of `keys` and answers, for each, how many attempts it
    /// has had in its current window, this one included, in one transaction: of N attempts at
    /// once, each sees a different count. A key whose window (`window` from its first counted
    /// attempt) has passed at `now` starts again at 1.
    async fn count_attempt(&self, keys: &[String], now: OffsetDateTime, window: time::Duration) -> Result<Vec<u32>>;
    /// Forgets every attempt of `key` (a sign-in that succeeded clears its user name).
    async fn clear_attempts(&self, key: &str) -> Result<()>;
    /// Takes back one attempt of `key`, if it has any (a success from an address).
    async fn forgive_attempt(&self, key: &str) -> Result<()>;
    /// Deletes the counters whose window began before `before`. Answers how many went.
    async fn purge_attempts(&self, before: OffsetDateTime) -> Result<u64>;
}

/// What the protocol remembers between requests. Handles are looked up by their hash.
#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn create_session(&self, session: Session, audit: Option<&AuditEvent>) -> Result<()>;
    /// The session if it exists and has not expired at `now`, with its user.
    async fn find_session(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<Option<WithUser<Session>>>;
    /// Ends a session; ending an unknown one is not an error, and writes no audit event.
    async fn delete_session(&self, handle: &SecretHashKey, audit: Option<&AuditEvent>) -> Result<()>;

    async fn save_code(&self, code: AuthorizationCode) -> Result<()>;
    /// Spends a code atomically: the first use answers `Fresh` (with the code's user), every
    /// later one `Replayed`; an unknown or expired code is `Unknown`.
    async fn use_code(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<CodeUse>;

    async fn save_refresh(&self, token: RefreshToken) -> Result<()>;
    /// `client_id` presents a refresh token, atomically (answering its user with it) (another client's token is
    /// `Invalid` and left untouched): a live unused token is consumed and its
    /// [`RefreshToken::successor`] (with handle `successor`) stored: `Rotated`. A consumed
    /// one whose successor is still unused, presented within `grace` of its consumption:
    /// `Retried`. A consumed one otherwise: the family is revoked: `Reused`. Unknown,
    /// expired or revoked: `Invalid`. On a reuse, `reuse` (when given) is written with the
    /// family's revocation, its target the family ([`AuditEvent::on_family`]).
    // The presentation's parts and the event of a reuse: one call, one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn use_refresh(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        successor: SecretHashKey,
        now: OffsetDateTime,
        sliding: time::Duration,
        grace: time::Duration,
        reuse: Option<&AuditEvent>,
    ) -> Result<RefreshUse>;
    /// The token, whatever its state, for revocation and introspection.
    async fn find_refresh(&self, handle: &SecretHashKey) -> Result<Option<RefreshToken>>;
    /// Revokes every token of a family at `now`; access tokens carrying the family in their
    /// `jti` are refused from now on. The revocation is remembered while any refresh token
    /// or code of the family is stored, and at least [`REVOCATION_KEPT`] after `now`.
    ///
    /// [`REVOCATION_KEPT`]: crate::grant::REVOCATION_KEPT
    async fn revoke_family(&self, family: Uuid, now: OffsetDateTime, audit: Option<&AuditEvent>) -> Result<()>;
    async fn family_revoked(&self, family: Uuid) -> Result<bool>;
    /// Ends every session of a user and revokes every grant family issued to them (their
    /// refresh tokens, their codes, the device codes they approved, and the access tokens
    /// carrying those families): after a password reset, nothing obtained with the old
    /// password still works.
    /// Revoked at `now`, as [`GrantStore::revoke_family`].
    async fn revoke_user_grants(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()>;
    /// Deletes what can no longer be used at `now`: expired sessions and codes, refresh
    /// tokens past their family's absolute end, and revocations no longer needed (revoked
    /// before `now - REVOCATION_KEPT`, no refresh token or code of the family left). Answers
    /// how many rows went.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64>;
}
