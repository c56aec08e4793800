//! The SQLite store, the embedded default. All of Gatehouse's SQL lives in this module.
//!
//! WAL mode lets readers run beside the one writer. Every write runs on the store's one
//! writer thread (`writer.rs`) in a `BEGIN IMMEDIATE` transaction, so the write lock is taken
//! up front and never waited for by an async worker. A read runs on the caller's thread when
//! a pooled connection is free, on the blocking pool otherwise (decision 51).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use time::OffsetDateTime;
use uuid::Uuid;

use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::role::{Role, RoleChanges};
use gatehouse_registry::store::{KeyStore, RoleStore, TenantStore};
use gatehouse_registry::tenant::{SigningKeyRecord, Tenant, TenantSeed};

mod audit;
mod clients;
mod device;
mod grants;
mod metrics;
mod snapshot;
mod sql;
mod throttle;
mod users;
mod writer;

/// Every table that holds data (the migrations' own table aside): an import needs them all
/// empty.
const TABLES: [&str; 18] = [
    "tenants",
    "roles",
    "clients",
    "client_tags",
    "client_cors_origins",
    "client_roles",
    "client_secrets",
    "users",
    "user_roles",
    "signing_keys",
    "sessions",
    "authorization_codes",
    "refresh_tokens",
    "revoked_families",
    "server_secrets",
    "attempts",
    "device_codes",
    "audit_events",
];

const POOL_SIZE: u32 = 8;
/// How many times opening tries to prepare the file (250 ms apart) while other processes
/// hold it.
const PREPARE_TRIES: u32 = 40;

/// The schema's versions, oldest first. Append; never edit one that has shipped.
const MIGRATIONS: [&str; 8] = [
    include_str!("schema.sql"),
    include_str!("grants.sql"),
    include_str!("users_contact.sql"),
    include_str!("throttle.sql"),
    include_str!("revoked_at.sql"),
    include_str!("id_token_alg.sql"),
    include_str!("device_codes.sql"),
    include_str!("audit_events.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// A store in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Connections for reads.
    pool: Pool<SqliteConnectionManager>,
    /// The one connection that writes.
    writer: writer::Writer,
}

pub(crate) fn storage(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Storage(e.to_string())
}

/// Every connection's settings: how long to wait for another process's lock, the statement
/// cache, foreign keys, and commits that do not wait for the disk (WAL with `NORMAL` stays
/// consistent after a crash; it may lose the last commits to a power cut).
fn settle(c: &mut Connection) -> rusqlite::Result<()> {
    c.busy_timeout(Duration::from_secs(10))?;
    c.set_prepared_statement_cache_capacity(sql::CACHE_CAPACITY);
    c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
}

/// WAL mode, foreign keys, and the schema brought up to date.
fn prepare(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL").map_err(storage)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(storage)?;
    migrations().to_latest(conn).map_err(migration_failed)
}

/// A migration's failure in one line: the cause, not the migration's SQL.
fn migration_failed(e: rusqlite_migration::Error) -> RegistryError {
    match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => {
            storage(format!("the schema cannot be migrated: {err}"))
        }
        other => storage(format!("the schema cannot be migrated: {other}")),
    }
}

pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn from_ts(secs: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e)))
}

pub(crate) fn uuid_col(s: String) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

pub(crate) fn json_col<T: serde::de::DeserializeOwned>(s: String) -> rusqlite::Result<T> {
    serde_json::from_str(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| storage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(settle);
        let mut first = Connection::open(path).map_err(storage)?;
        first.busy_timeout(Duration::from_secs(10)).map_err(storage)?;
        // Several processes may open one file at the same moment, or one may start beside
        // others that serve from it (after one was killed, say): the migrations of one fail on
        // what another has just created (and then find the schema current), and SQLite
        // answers "locked" at once where waiting could deadlock (switching to WAL, recovering
        // a killed writer's log). So preparing the file is tried again for a while before its
        // failure counts.
        let mut tries = 0;
        while let Err(e) = prepare(&mut first) {
            tries += 1;
            if tries >= PREPARE_TRIES {
                return Err(e);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        settle(&mut first).map_err(storage)?;
        let mut checkpointer = Connection::open(path).map_err(storage)?;
        settle(&mut checkpointer).map_err(storage)?;
        let writer = writer::Writer::start(first, checkpointer)?;
        let pool = Pool::builder().max_size(POOL_SIZE).build(manager).map_err(storage)?;
        Ok(Self { pool, writer })
    }

    fn conn(&self) -> Result<PooledConnection<SqliteConnectionManager>> {
        let started = std::time::Instant::now();
        let conn = self.pool.get().map_err(storage);
        metrics::connection_wait(started.elapsed());
        conn
    }

    /// Runs a read inside one deferred transaction, so that the statements of one method see
    /// one snapshot. `op` names the store method, for the metrics (`metrics.rs`).
    ///
    /// In WAL mode a reader never waits for the writer, so a read is a few microseconds of
    /// work on pages in memory: less than handing it to the blocking pool and back (two
    /// thread wake-ups). It runs on the caller's thread when a pooled connection is free at
    /// once, and on the blocking pool otherwise, so that nothing on an async worker waits for
    /// a connection (decision 51).
    pub(crate) async fn read<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        if let Some(mut conn) = self.pool.try_get() {
            metrics::connection_wait(std::time::Duration::ZERO);
            return read_on(&mut conn, op, f);
        }
        let store = self.clone();
        tokio::task::spawn_blocking(move || read_on(&mut *store.conn()?, op, f)).await.map_err(storage)?
    }

    /// Runs `f` as one write on the store's writer (`writer.rs`); answers once it has
    /// committed, and keeps nothing of it if it fails. `op` names the store method, for the
    /// metrics.
    pub(crate) async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.write(op, f).await
    }
}

/// One read transaction on `conn`, timed as `op`.
fn read_on<T>(conn: &mut Connection, op: &'static str, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let _timer = metrics::Transaction::start(op, metrics::Kind::Read);
    let tx = conn.transaction().map_err(storage)?;
    let out = f(&tx)?;
    tx.finish().map_err(storage)?;
    Ok(out)
}

pub(crate) fn tenant_exists(c: &Connection, id: Uuid) -> Result<()> {
    let found: Option<i64> = crate::sql::row(c, "SELECT 1 FROM tenants WHERE id = ?1", [id.to_string()], |r| r.get(0))
        .optional()
        .map_err(storage)?;
    found.map(|_| ()).ok_or(RegistryError::NotFound("tenant"))
}

pub(crate) fn role_exists(c: &Connection, tenant_id: Uuid) -> impl Fn(&Uuid) -> bool + '_ {
    move |id| {
        crate::sql::row(
            c,
            "SELECT 1 FROM roles WHERE tenant_id = ?1 AND id = ?2",
            [tenant_id.to_string(), id.to_string()],
            |_| Ok(()),
        )
        .optional()
        .ok()
        .flatten()
        .is_some()
    }
}

pub(crate) fn insert_role(tx: &Connection, tenant_id: Uuid, role: &Role) -> Result<()> {
    crate::sql::exec(
        tx,
        "INSERT INTO roles (tenant_id, id, name, description, built_in) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![tenant_id.to_string(), role.id.to_string(), role.name, role.description, role.built_in],
    )
    .map_err(storage)?;
    Ok(())
}

pub(crate) fn role_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role { id: uuid_col(r.get(0)?)?, name: r.get(1)?, description: r.get(2)?, built_in: r.get(3)? })
}

fn load_role(c: &Connection, tenant_id: Uuid, id: Uuid) -> Result<Role> {
    tenant_exists(c, tenant_id)?;
    crate::sql::row(
        c,
        "SELECT id, name, description, built_in FROM roles WHERE tenant_id = ?1 AND id = ?2",
        [tenant_id.to_string(), id.to_string()],
        role_row,
    )
    .optional()
    .map_err(storage)?
    .ok_or(RegistryError::NotFound("role"))
}

pub(crate) fn tenant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant { id: uuid_col(r.get(0)?)?, name: r.get(1)?, created: from_ts(r.get(2)?)? })
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn is_empty(&self) -> Result<bool> {
        self.read("is_empty", |c| {
            crate::sql::row(c, "SELECT NOT EXISTS (SELECT 1 FROM tenants)", [], |r| r.get(0)).map_err(storage)
        })
        .await
    }

    async fn create_tenant(&self, seed: TenantSeed) -> Result<()> {
        self.write("create_tenant", move |tx| {
            if tenant_exists(tx, seed.tenant.id).is_ok() {
                return Err(RegistryError::Conflict(format!("tenant {} already exists", seed.tenant.id)));
            }
            insert_seed(tx, seed)
        })
        .await
    }

    async fn create_first_tenant(&self, seed: TenantSeed) -> Result<bool> {
        // BEGIN IMMEDIATE: the write lock is held from the check to the commit, so a second
        // first start (another process on the same file) waits, then finds the tenant.
        self.write("create_first_tenant", move |tx| {
            let empty: bool =
                crate::sql::row(tx, "SELECT NOT EXISTS (SELECT 1 FROM tenants)", [], |r| r.get(0)).map_err(storage)?;
            if !empty {
                return Ok(false);
            }
            insert_seed(tx, seed).map(|()| true)
        })
        .await
    }

    async fn get_tenant(&self, id: Uuid) -> Result<Tenant> {
        self.read("get_tenant", move |c| {
            crate::sql::row(c, "SELECT id, name, created FROM tenants WHERE id = ?1", [id.to_string()], tenant_row)
                .optional()
                .map_err(storage)?
                .ok_or(RegistryError::NotFound("tenant"))
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read("list_tenants", |c| {
            let mut st = c.prepare("SELECT id, name, created FROM tenants ORDER BY rowid").map_err(storage)?;
            let rows = st.query_map([], tenant_row).map_err(storage)?;
            rows.collect::<rusqlite::Result<_>>().map_err(storage)
        })
        .await
    }
}

#[async_trait]
impl RoleStore for SqliteStore {
    async fn list_roles(&self, tenant_id: Uuid) -> Result<Vec<Role>> {
        self.read("list_roles", move |c| {
            tenant_exists(c, tenant_id)?;
            let mut st = c
                .prepare("SELECT id, name, description, built_in FROM roles WHERE tenant_id = ?1 ORDER BY rowid")
                .map_err(storage)?;
            let rows = st.query_map([tenant_id.to_string()], role_row).map_err(storage)?;
            rows.collect::<rusqlite::Result<_>>().map_err(storage)
        })
        .await
    }

    async fn get_role(&self, tenant_id: Uuid, id: Uuid) -> Result<Role> {
        self.read("get_role", move |c| load_role(c, tenant_id, id)).await
    }

    async fn create_role(&self, tenant_id: Uuid, role: Role, audit: Option<&AuditEvent>) -> Result<Role> {
        let audit = audit.cloned();
        self.write("create_role", move |tx| {
            tenant_exists(tx, tenant_id)?;
            if role_exists(tx, tenant_id)(&role.id) {
                return Err(RegistryError::Conflict(format!("a role with id {} already exists", role.id)));
            }
            insert_role(tx, tenant_id, &role)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(role)
        })
        .await
    }

    async fn update_role(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: RoleChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<Role> {
        let audit = audit.cloned();
        self.write("update_role", move |tx| {
            let mut role = load_role(tx, tenant_id, id)?;
            role.apply(tenant_id, changes)?;
            crate::sql::exec(
                tx,
                "UPDATE roles SET name = ?3, description = ?4 WHERE tenant_id = ?1 AND id = ?2",
                params![tenant_id.to_string(), id.to_string(), role.name, role.description],
            )
            .map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(role)
        })
        .await
    }

    async fn delete_role(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()> {
        let audit = audit.cloned();
        self.write("delete_role", move |tx| {
            tenant_exists(tx, tenant_id)?;
            let built_in: Option<bool> = crate::sql::row(
                tx,
                "SELECT built_in FROM roles WHERE tenant_id = ?1 AND id = ?2",
                [tenant_id.to_string(), id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(storage)?;
            match built_in {
                None => Err(RegistryError::NotFound("role")),
                Some(true) => Err(RegistryError::invalid("Id", "a built-in role cannot be deleted")),
                Some(false) => {
                    // References go with it: the foreign keys cascade.
                    crate::sql::exec(
                        tx,
                        "DELETE FROM roles WHERE tenant_id = ?1 AND id = ?2",
                        [tenant_id.to_string(), id.to_string()],
                    )
                    .map_err(storage)?;
                    crate::audit::insert(tx, audit.as_ref())
                }
            }
        })
        .await
    }
}

pub(crate) fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: r.get(0)?,
        alg: r.get(1)?,
        private_der: r.get(2)?,
        created: from_ts(r.get(3)?)?,
        retired: r.get::<_, Option<i64>>(4)?.map(from_ts).transpose()?,
    })
}

/// Writes a tenant's seed: the tenant, its built-in roles, its users and clients.
fn insert_seed(tx: &Connection, seed: TenantSeed) -> Result<()> {
    crate::sql::exec(
        tx,
        "INSERT INTO tenants (id, name, created) VALUES (?1, ?2, ?3)",
        params![seed.tenant.id.to_string(), seed.tenant.name, ts(seed.tenant.created)],
    )
    .map_err(storage)?;
    for role in Role::built_ins() {
        insert_role(tx, seed.tenant.id, &role)?;
    }
    for user in &seed.users {
        users::insert(tx, user)?;
    }
    for (client, secret) in seed.clients {
        clients::insert(tx, &client, secret)?;
    }
    Ok(())
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn server_secret(&self, name: &str, candidate: Vec<u8>) -> Result<Vec<u8>> {
        let name = name.to_owned();
        self.write("server_secret", move |tx| {
            crate::sql::exec(
                tx,
                "INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?1, ?2)",
                params![name, candidate],
            )
            .map_err(storage)?;
            crate::sql::row(tx, "SELECT value FROM server_secrets WHERE name = ?1", [name], |r| r.get(0))
                .map_err(storage)
        })
        .await
    }
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        self.read("signing_keys", |c| {
            let mut st = c
                .prepare("SELECT kid, alg, private_der, created, retired FROM signing_keys ORDER BY rowid")
                .map_err(storage)?;
            let rows = st.query_map([], key_row).map_err(storage)?;
            rows.collect::<rusqlite::Result<_>>().map_err(storage)
        })
        .await
    }

    async fn rotate_signing_key(
        &self,
        key: SigningKeyRecord,
        at: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()> {
        let audit = audit.cloned();
        self.write("rotate_signing_key", move |tx| {
            crate::sql::exec(
                tx,
                "UPDATE signing_keys SET retired = ?1 WHERE alg = ?2 AND retired IS NULL",
                params![ts(at), key.alg],
            )
            .map_err(storage)?;
            crate::sql::exec(
                tx,
                "INSERT INTO signing_keys (kid, alg, private_der, created, retired) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.kid, key.alg, key.private_der, ts(key.created), key.retired.map(ts)],
            )
            .map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(())
        })
        .await
    }

    async fn add_first_signing_key(&self, key: SigningKeyRecord) -> Result<bool> {
        self.write("add_first_signing_key", move |tx| {
            let signing: bool = crate::sql::row(
                tx,
                "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ?1 AND retired IS NULL)",
                [&key.alg],
                |r| r.get(0),
            )
            .map_err(storage)?;
            if signing {
                return Ok(false);
            }
            crate::sql::exec(
                tx,
                "INSERT INTO signing_keys (kid, alg, private_der, created, retired) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.kid, key.alg, key.private_der, ts(key.created), key.retired.map(ts)],
            )
            .map_err(storage)?;
            Ok(true)
        })
        .await
    }

    async fn prune_signing_keys(&self, before: OffsetDateTime) -> Result<()> {
        self.write("prune_signing_keys", move |tx| {
            crate::sql::exec(tx, "DELETE FROM signing_keys WHERE retired IS NOT NULL AND retired < ?1", [ts(before)])
                .map_err(storage)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().expect("valid migrations");
    }

    /// A database written before users had contact names opens, and its users get empty ones.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_2_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let mut old = Connection::open(&path).expect("open");
        Migrations::new(MIGRATIONS[..2].iter().map(|sql| M::up(sql)).collect()).to_latest(&mut old).expect("v2");
        old.execute_batch(
            "INSERT INTO tenants (id, name, created) VALUES ('t', 't', 0);
             INSERT INTO users (id, tenant_id, user_name, name_key, given_name, surname, email, enabled,
                 password_hash, created)
             VALUES ('8f0e1a34-5c9b-4d2e-a7f6-0b1c2d3e4f50', 't', 'Old', 'old', 'G', 'S', 'o@example.com', 1, 'h', 0);",
        )
        .expect("old rows");
        drop(old);
        let store = SqliteStore::open(&path).expect("upgrade");
        let user = store.read("test", |c| {
            crate::sql::row(c, "SELECT user_name, contact_given_name, contact_surname FROM users", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(storage)
        });
        assert_eq!(user.await.expect("read"), ("Old".into(), String::new(), String::new()));
    }

    /// Clients stored before the ID token algorithm was a property keep RS256.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_of_a_version_5_database_keep_rs256_id_tokens() {
        use gatehouse_registry::store::ClientStore;
        use gatehouse_registry::{ClientRef, IdTokenSigningAlg};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let mut old = Connection::open(&path).expect("open");
        Migrations::new(MIGRATIONS[..5].iter().map(|sql| M::up(sql)).collect()).to_latest(&mut old).expect("v5");
        let (tenant, client) = (Uuid::new_v4(), Uuid::new_v4());
        old.execute("INSERT INTO tenants (id, name, created) VALUES (?1, 't', 0)", [tenant.to_string()])
            .expect("tenant");
        old.execute(
            "INSERT INTO clients (id, tenant_id, kind, name, enabled, access_token_lifetime, redirect_uris,
                 post_logout_redirect_uris, allow_offline_access, allow_access_tokens_via_browser, created)
             VALUES (?1, ?2, 'Hybrid', 'old', 1, 3600, '[\"https://a.example.com/cb\"]', '[]', 0, 0, 0)",
            [client.to_string(), tenant.to_string()],
        )
        .expect("old client");
        drop(old);
        let store = SqliteStore::open(&path).expect("upgrade");
        let at = ClientRef { tenant_id: tenant, kind: gatehouse_registry::ClientKind::Hybrid, id: client };
        let loaded = store.get_client(at).await.expect("old client readable");
        assert_eq!(loaded.id_token_signing_alg, IdTokenSigningAlg::RS256);
        let refused = store
            .write("test", |tx| tx.execute("UPDATE clients SET id_token_signing_alg = 'es256'", []).map_err(storage));
        assert!(refused.await.is_err(), "the column holds only RS256 or ES256");
    }

    gatehouse_registry::store_suite!({
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("test.db")).expect("open");
        (store, dir)
    });
}
