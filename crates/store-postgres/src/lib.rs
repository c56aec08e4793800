//! The PostgreSQL store: the registry's storage traits over one database that any number of
//! Gatehouse instances share. All of its SQL lives in this crate; every query takes its
//! values as parameters, never spliced into the text.
//!
//! # Transactions and concurrency
//!
//! Every trait method is one transaction (a single statement is one too), at PostgreSQL's
//! default isolation, READ COMMITTED, and commits only when the method succeeds: a
//! `tokio_postgres::Transaction` dropped on an error path rolls back. Rules that need stored
//! state hold a row or table lock from the check to the commit, so that concurrent calls, on
//! one instance or several, wait for each other instead of both passing the check:
//!
//! - **Codes and refresh tokens are consumed exactly once**: `use_code` and `use_refresh`
//!   read the row `FOR UPDATE`. A second presentation waits for the first transaction, and
//!   READ COMMITTED then re-reads the row as the first one committed it: used, or consumed
//!   with its successor. So of N parallel presentations one gets `Fresh` (`Rotated`), the
//!   others `Replayed` (`Retried` within the grace window, `Reused` after it). `use_refresh`
//!   also reads the successor `FOR SHARE`, so a retry never answers a successor that is being
//!   consumed at that moment.
//! - **The first start is exclusive**: `create_first_tenant` takes
//!   `LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE`, which conflicts with itself and with
//!   every insert into `tenants` but not with reads, then checks that no tenant exists.
//!   `add_first_signing_key` and `rotate_signing_key` take the same lock on `signing_keys`,
//!   so one key per algorithm is stored however many instances start at once.
//! - **Client ids are unique across tenants**: `clients.id` is the primary key. Two inserts
//!   of one id wait on the index; the loser's unique violation is answered `Conflict`. User
//!   names are unique per tenant the same way (`UNIQUE (tenant_id, name_key)`).
//! - **At most 50,000 clients per tenant**: `create_client` locks the tenant's row
//!   (`FOR NO KEY UPDATE`, which foreign-key checks of other inserts do not wait for) before
//!   counting, so creations in one tenant count one after another.
//! - **At most 10 secrets per client, ids never reused**: `add_secret` locks the client's row
//!   (`FOR UPDATE`) before counting its secrets and taking `next_secret_id`.
//! - **Read-modify-write updates** (`update_client`, `update_user`, `update_role`,
//!   `update_secret`) lock the row `FOR UPDATE` before reading it, so no update is lost.
//! - **Role references**: the roles a client or user names are read `FOR KEY SHARE`, so a
//!   concurrent `delete_role` waits, then cascades (foreign keys) to the new references.
//! - `server_secret` is `INSERT ... ON CONFLICT DO NOTHING`, then a read: the second
//!   instance waits for the first insert and reads its value.
//! - The throttle's `count_attempt` is one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`
//!   per key (keys locked in sorted order), so each of N parallel attempts sees its own count.
//!
//! - **An import goes only into an empty database** (`snapshot.rs`): it locks every table
//!   `IN EXCLUSIVE MODE` (reads go on, writes wait) before checking that all are empty, and
//!   writes everything in that one transaction; `export` reads in one REPEATABLE READ snapshot.
//!
//! Reads of more than one statement (lists with their totals) run in a `REPEATABLE READ
//! READ ONLY` transaction, so the page and its total come from one snapshot.
//!
//! # Connections and migrations
//!
//! [`PgStore::connect`] reads a libpq URL (see `connect.rs`), applies the migrations of
//! `migrations/` on a connection of its own while holding a session-level
//! `pg_advisory_lock` (instances starting at once migrate one after another; the lock goes
//! with the connection, even if the process dies), then opens a `deadpool-postgres` pool.
//! All database work is async on that pool; nothing blocks the runtime.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Object, Pool};
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::role::{Role, RoleChanges};
use gatehouse_registry::store::{KeyStore, RoleStore, TenantStore};
use gatehouse_registry::tenant::{SigningKeyRecord, Tenant, TenantSeed};

mod audit;
mod clients;
mod connect;
mod device;
mod grants;
mod metrics;
mod snapshot;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
mod throttle;
mod users;

/// A store in one PostgreSQL database, shared by every instance that connects to it.
#[derive(Clone)]
pub struct PgStore {
    /// One pool per lane; a thread takes its lane's ([`lane`]).
    pools: Arc<[Pool]>,
    target: Arc<str>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The target names host, port, database and user; never the password.
        f.debug_struct("PgStore").field("target", &self.target).finish_non_exhaustive()
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) fn storage(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Storage(e.to_string().replace('\n', " "))
}

/// A database error with its causes ("error connecting to server: Connection refused"), on
/// one line.
pub(crate) fn db(e: tokio_postgres::Error) -> RegistryError {
    storage(cause_chain(&e))
}

pub(crate) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A unique violation becomes `Conflict(message)`; anything else a storage failure.
pub(crate) fn conflict_or_storage(e: tokio_postgres::Error, message: impl FnOnce() -> String) -> RegistryError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        RegistryError::Conflict(message())
    } else {
        db(e)
    }
}

/// The statements below are prepared once per connection (deadpool's statement cache), so a
/// query costs one round trip.
pub(crate) async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let _timer = metrics::Statement::start(sql);
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.query(&st, params).await.map_err(db)
}

pub(crate) async fn query_opt(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
    let _timer = metrics::Statement::start(sql);
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.query_opt(&st, params).await.map_err(db)
}

pub(crate) async fn query_one(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row> {
    let _timer = metrics::Statement::start(sql);
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.query_one(&st, params).await.map_err(db)
}

pub(crate) async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64> {
    let _timer = metrics::Statement::start(sql);
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.execute(&st, params).await.map_err(db)
}

/// Like [`execute`], with a unique violation answered `Conflict(message)`.
pub(crate) async fn insert(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
    message: impl FnOnce() -> String,
) -> Result<u64> {
    let _timer = metrics::Statement::start(sql);
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.execute(&st, params).await.map_err(|e| conflict_or_storage(e, message))
}

/// A column of a row, or a storage failure naming the column.
pub(crate) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx).map_err(db)
}

pub(crate) fn to_i32(n: u32) -> Result<i32> {
    i32::try_from(n).map_err(storage)
}

pub(crate) fn to_u32(n: i32) -> Result<u32> {
    u32::try_from(n).map_err(storage)
}

/// `skip`/`count` as `OFFSET`/`LIMIT` (bigint), saturating.
pub(crate) fn limit(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Connects to the database at `url` (a libpq URL: `postgres://` or `postgresql://`,
    /// user, password, host, port, database, `sslmode`), brings its schema up to date, and
    /// opens a pool of at most `pool_size` connections. A wrong URL or an unreachable server
    /// is one line naming host, port, database and user, never the password.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self> {
        let (pools, target) = connect::open(url, pool_size).await?;
        Ok(Self { pools: pools.into(), target: target.into() })
    }

    /// Host, port, database and user, for messages (no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    pub(crate) async fn conn(&self) -> Result<Object> {
        let started = std::time::Instant::now();
        let pool = &self.pools[lane() % self.pools.len()];
        let conn = pool.get().await.map_err(|e| storage(format!("PostgreSQL at {}: {e}", self.target)));
        metrics::connection_wait(started.elapsed());
        conn
    }
}

static NEXT_LANE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static LANE: usize = NEXT_LANE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// This thread's lane (decision 52). A connection's driver runs on the runtime of the thread
/// that opened it; with one pool per lane, an async worker mostly gets connections that its
/// own runtime drives, so a statement wakes no other thread.
fn lane() -> usize {
    LANE.with(|l| *l)
}

/// Starts a read-write transaction (READ COMMITTED) on `conn`.
macro_rules! write_tx {
    ($conn:expr) => {
        $conn.transaction().await.map_err($crate::db)?
    };
}

/// Starts a read-only transaction that sees one snapshot (REPEATABLE READ) on `conn`.
macro_rules! read_tx {
    ($conn:expr) => {
        $conn
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err($crate::db)?
    };
}
pub(crate) use {read_tx, write_tx};

pub(crate) async fn tenant_exists(c: &impl GenericClient, id: Uuid) -> Result<()> {
    query_opt(c, "SELECT 1 FROM tenants WHERE id = $1", &[&id])
        .await?
        .map(|_| ())
        .ok_or(RegistryError::NotFound("tenant"))
}

/// The roles of `role_ids` that exist in the tenant, locked `FOR KEY SHARE` until the
/// commit: a concurrent `delete_role` waits, then cascades to the references written now.
pub(crate) async fn existing_roles(c: &impl GenericClient, tenant_id: Uuid, role_ids: &[Uuid]) -> Result<Vec<Uuid>> {
    if role_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query(
        c,
        "SELECT id FROM roles WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR KEY SHARE",
        &[&tenant_id, &role_ids],
    )
    .await?;
    rows.iter().map(|r| col(r, 0)).collect()
}

pub(crate) async fn insert_role(c: &impl GenericClient, tenant_id: Uuid, role: &Role) -> Result<()> {
    insert(
        c,
        "INSERT INTO roles (tenant_id, id, name, description, built_in) VALUES ($1, $2, $3, $4, $5)",
        &[&tenant_id, &role.id, &role.name, &role.description, &role.built_in],
        || format!("a role with id {} already exists", role.id),
    )
    .await?;
    Ok(())
}

const ROLE: &str = "SELECT id, name, description, built_in FROM roles";

pub(crate) fn role_row(r: &Row) -> Result<Role> {
    Ok(Role { id: col(r, 0)?, name: col(r, 1)?, description: col(r, 2)?, built_in: col(r, 3)? })
}

pub(crate) fn tenant_row(r: &Row) -> Result<Tenant> {
    Ok(Tenant { id: col(r, 0)?, name: col(r, 1)?, created: col(r, 2)? })
}

/// Writes a tenant's seed: the tenant, its built-in roles, its users and clients.
async fn insert_seed(c: &impl GenericClient, seed: TenantSeed) -> Result<()> {
    let id = seed.tenant.id;
    insert(
        c,
        "INSERT INTO tenants (id, name, created) VALUES ($1, $2, $3)",
        &[&id, &seed.tenant.name, &seed.tenant.created],
        || format!("tenant {id} already exists"),
    )
    .await?;
    for role in Role::built_ins() {
        insert_role(c, id, &role).await?;
    }
    for user in &seed.users {
        users::insert(c, user).await?;
    }
    for (client, secret) in seed.clients {
        clients::insert(c, &client, secret).await?;
    }
    Ok(())
}

#[async_trait]
impl TenantStore for PgStore {
    async fn is_empty(&self) -> Result<bool> {
        let conn = self.conn().await?;
        col(&query_one(&conn, "SELECT NOT EXISTS (SELECT 1 FROM tenants)", &[]).await?, 0)
    }

    async fn create_tenant(&self, seed: TenantSeed) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        if tenant_exists(&tx, seed.tenant.id).await.is_ok() {
            return Err(RegistryError::Conflict(format!("tenant {} already exists", seed.tenant.id)));
        }
        insert_seed(&tx, seed).await?;
        tx.commit().await.map_err(db)
    }

    async fn create_first_tenant(&self, seed: TenantSeed) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        // Conflicts with itself and with inserts into tenants: a second first start (on any
        // instance) waits here until this one commits, then finds the tenant.
        execute(&tx, "LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE", &[]).await?;
        let empty: bool = col(&query_one(&tx, "SELECT NOT EXISTS (SELECT 1 FROM tenants)", &[]).await?, 0)?;
        if !empty {
            return Ok(false);
        }
        insert_seed(&tx, seed).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn get_tenant(&self, id: Uuid) -> Result<Tenant> {
        let conn = self.conn().await?;
        let row = query_opt(&conn, "SELECT id, name, created FROM tenants WHERE id = $1", &[&id]).await?;
        row.as_ref().map(tenant_row).transpose()?.ok_or(RegistryError::NotFound("tenant"))
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let conn = self.conn().await?;
        query(&conn, "SELECT id, name, created FROM tenants ORDER BY seq", &[]).await?.iter().map(tenant_row).collect()
    }
}

#[async_trait]
impl RoleStore for PgStore {
    async fn list_roles(&self, tenant_id: Uuid) -> Result<Vec<Role>> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        let rows = query(&tx, &format!("{ROLE} WHERE tenant_id = $1 ORDER BY seq"), &[&tenant_id]).await?;
        rows.iter().map(role_row).collect()
    }

    async fn get_role(&self, tenant_id: Uuid, id: Uuid) -> Result<Role> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        let row = query_opt(&tx, &format!("{ROLE} WHERE tenant_id = $1 AND id = $2"), &[&tenant_id, &id]).await?;
        row.as_ref().map(role_row).transpose()?.ok_or(RegistryError::NotFound("role"))
    }

    async fn create_role(&self, tenant_id: Uuid, role: Role, audit: Option<&AuditEvent>) -> Result<Role> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        insert_role(&tx, tenant_id, &role).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(role)
    }

    async fn update_role(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: RoleChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<Role> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        let row =
            query_opt(&tx, &format!("{ROLE} WHERE tenant_id = $1 AND id = $2 FOR UPDATE"), &[&tenant_id, &id]).await?;
        let mut role = row.as_ref().map(role_row).transpose()?.ok_or(RegistryError::NotFound("role"))?;
        role.apply(tenant_id, changes)?;
        execute(
            &tx,
            "UPDATE roles SET name = $3, description = $4 WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &role.name, &role.description],
        )
        .await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(role)
    }

    async fn delete_role(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        let row = query_opt(
            &tx,
            "SELECT built_in FROM roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            &[&tenant_id, &id],
        )
        .await?;
        match row.as_ref().map(|r| col::<bool>(r, 0)).transpose()? {
            None => Err(RegistryError::NotFound("role")),
            Some(true) => Err(RegistryError::invalid("Id", "a built-in role cannot be deleted")),
            Some(false) => {
                // References go with it: the foreign keys of client_roles and user_roles cascade.
                execute(&tx, "DELETE FROM roles WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await?;
                crate::audit::insert(&tx, audit).await?;
                tx.commit().await.map_err(db)
            }
        }
    }
}

pub(crate) fn key_row(r: &Row) -> Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: col(r, 0)?,
        alg: col(r, 1)?,
        private_der: col(r, 2)?,
        created: col(r, 3)?,
        retired: col(r, 4)?,
    })
}

pub(crate) async fn insert_key(c: &impl GenericClient, key: &SigningKeyRecord) -> Result<()> {
    insert(
        c,
        "INSERT INTO signing_keys (kid, alg, private_der, created, retired) VALUES ($1, $2, $3, $4, $5)",
        &[&key.kid, &key.alg, &key.private_der, &key.created, &key.retired],
        || format!("a signing key with kid {} already exists", key.kid),
    )
    .await?;
    Ok(())
}

/// Key changes wait for each other (and for a first start's key) on this lock, which
/// reads do not take.
const LOCK_KEYS: &str = "LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE";

#[async_trait]
impl KeyStore for PgStore {
    async fn server_secret(&self, name: &str, candidate: Vec<u8>) -> Result<Vec<u8>> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        execute(
            &tx,
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &candidate],
        )
        .await?;
        let value = col(&query_one(&tx, "SELECT value FROM server_secrets WHERE name = $1", &[&name]).await?, 0)?;
        tx.commit().await.map_err(db)?;
        Ok(value)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let conn = self.conn().await?;
        let rows =
            query(&conn, "SELECT kid, alg, private_der, created, retired FROM signing_keys ORDER BY seq", &[]).await?;
        rows.iter().map(key_row).collect()
    }

    async fn rotate_signing_key(
        &self,
        key: SigningKeyRecord,
        at: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        execute(&tx, LOCK_KEYS, &[]).await?;
        execute(&tx, "UPDATE signing_keys SET retired = $1 WHERE alg = $2 AND retired IS NULL", &[&at, &key.alg])
            .await?;
        insert_key(&tx, &key).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)
    }

    async fn add_first_signing_key(&self, key: SigningKeyRecord) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        execute(&tx, LOCK_KEYS, &[]).await?;
        let signing: bool = col(
            &query_one(
                &tx,
                "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE alg = $1 AND retired IS NULL)",
                &[&key.alg],
            )
            .await?,
            0,
        )?;
        if signing {
            return Ok(false);
        }
        insert_key(&tx, &key).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn prune_signing_keys(&self, before: OffsetDateTime) -> Result<()> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM signing_keys WHERE retired IS NOT NULL AND retired < $1", &[&before]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    gatehouse_registry::store_suite!(match crate::testing::TestDatabase::create().await {
        Some(db) => (db.store().await, db),
        None => return,
    });
}
