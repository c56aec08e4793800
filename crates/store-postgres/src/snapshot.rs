//! The PostgreSQL store's whole state: read in one REPEATABLE READ READ ONLY transaction (one
//! snapshot, however long the read), written in one transaction that first locks every table
//! `IN EXCLUSIVE MODE` (plain reads go on; every write, a first start's included, waits for
//! the commit), so that the emptiness check holds until everything is written. All or nothing.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::{
    clients, col, db, execute, grants, insert_key, insert_role, key_row, query, read_tx, role_row, tenant_row, to_i32,
    to_u32, users, write_tx, PgStore,
};
use gatehouse_registry::error::Result;
use gatehouse_registry::grant::SecretHashKey;
use gatehouse_registry::store::snapshot::{
    not_empty, Attempts, ServerSecret, Snapshot, SnapshotStore, StoredClient, StoredCode, StoredRefresh, TenantSnapshot,
};
use gatehouse_registry::tenant::Tenant;

/// Every table that holds data (`schema_migrations` aside): an import needs them all empty.
const TABLES: [&str; 15] = [
    "tenants",
    "roles",
    "clients",
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
    "device_codes",
    "audit_events",
];
const ATTEMPTS: &str = "attempts";

fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

async fn tenant(c: &impl GenericClient, t: Tenant) -> Result<TenantSnapshot> {
    let id = t.id;
    let roles = rows(
        query(c, "SELECT id, name, description, built_in FROM roles WHERE tenant_id = $1 ORDER BY seq", &[&id]).await?,
        role_row,
    )?;
    let users = rows(
        query(c, &format!("SELECT {} FROM users u WHERE u.tenant_id = $1 ORDER BY u.seq", users::COLUMNS), &[&id])
            .await?,
        users::user_row,
    )?;
    let listed = query(
        c,
        &format!("SELECT {}, c.next_secret_id FROM clients c WHERE c.tenant_id = $1 ORDER BY c.seq", clients::COLUMNS),
        &[&id],
    )
    .await?;
    let mut stored = Vec::with_capacity(listed.len());
    for row in &listed {
        let client = clients::client_row(row)?;
        let next_secret_id = to_u32(col(row, clients::CLIENT_COLUMNS)?)?;
        stored.push(StoredClient { secrets: clients::secrets(c, client.id).await?, client, next_secret_id });
    }
    Ok(TenantSnapshot { tenant: t, roles, users, clients: stored })
}

async fn export(c: &impl GenericClient) -> Result<Snapshot> {
    let mut tenants = Vec::new();
    for t in rows(query(c, "SELECT id, name, created FROM tenants ORDER BY seq", &[]).await?, tenant_row)? {
        tenants.push(tenant(c, t).await?);
    }
    let signing_keys = rows(
        query(c, "SELECT kid, alg, private_der, created, retired FROM signing_keys ORDER BY seq", &[]).await?,
        key_row,
    )?;
    let server_secrets = rows(query(c, "SELECT name, value FROM server_secrets", &[]).await?, |r| {
        Ok(ServerSecret { name: col(r, 0)?, value: col(r, 1)? })
    })?;
    let sessions =
        rows(query(c, &format!("{} FROM sessions", grants::SESSION_COLUMNS), &[]).await?, grants::session_row)?;
    let codes = rows(query(c, &format!("{}, used FROM authorization_codes", grants::CODE_COLUMNS), &[]).await?, |r| {
        Ok(StoredCode { code: grants::code_row(r)?, used: col(r, 12)? })
    })?;
    let refresh_tokens = rows(query(c, grants::REFRESH, &[]).await?, |r| {
        Ok(StoredRefresh {
            token: grants::refresh_row(r)?,
            successor: col::<Option<Vec<u8>>>(r, 12)?.map(SecretHashKey),
        })
    })?;
    let revoked_families = rows(query(c, "SELECT family, revoked_at FROM revoked_families", &[]).await?, |r| {
        Ok((col(r, 0)?, col(r, 1)?))
    })?;
    let attempts = rows(query(c, "SELECT key, count, since FROM attempts", &[]).await?, |r| {
        Ok(Attempts { key: col(r, 0)?, count: to_u32(col(r, 1)?)?, since: col(r, 2)? })
    })?;
    let device_codes = rows(query(c, crate::device::DEVICE_COLUMNS, &[]).await?, crate::device::device_row)?;
    let audit_events = crate::audit::all(c).await?;
    Ok(Snapshot {
        tenants,
        signing_keys,
        server_secrets,
        sessions,
        codes,
        refresh_tokens,
        revoked_families,
        attempts,
        device_codes,
        audit_events,
    }
    .canonical())
}

async fn import(c: &impl GenericClient, snapshot: Snapshot) -> Result<()> {
    let all = TABLES.iter().chain([&ATTEMPTS]).copied().collect::<Vec<_>>();
    // Table names are ours, not input.
    execute(c, &format!("LOCK TABLE {} IN EXCLUSIVE MODE", all.join(", ")), &[]).await?;
    for table in &all {
        let any: bool = col(&query(c, &format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[]).await?[0], 0)?;
        if any {
            return Err(not_empty());
        }
    }
    for t in &snapshot.tenants {
        let id = t.tenant.id;
        execute(
            c,
            "INSERT INTO tenants (id, name, created) VALUES ($1, $2, $3)",
            &[&id, &t.tenant.name, &t.tenant.created],
        )
        .await?;
        for role in &t.roles {
            insert_role(c, id, role).await?;
        }
        for user in &t.users {
            users::insert(c, user).await?;
        }
        for stored in &t.clients {
            clients::insert(c, &stored.client, None).await?;
            for secret in &stored.secrets {
                clients::insert_secret(c, stored.client.id, secret).await?;
            }
            let next = to_i32(stored.next_secret_id)?;
            execute(c, "UPDATE clients SET next_secret_id = $2 WHERE id = $1", &[&stored.client.id, &next]).await?;
        }
    }
    for key in &snapshot.signing_keys {
        insert_key(c, key).await?;
    }
    for s in &snapshot.server_secrets {
        execute(c, "INSERT INTO server_secrets (name, value) VALUES ($1, $2)", &[&s.name, &s.value]).await?;
    }
    for s in &snapshot.sessions {
        execute(
            c,
            "INSERT INTO sessions (handle, sid, tenant_id, user_id, auth_time, expires) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&s.handle.0, &s.sid, &s.tenant_id, &s.user_id, &s.auth_time, &s.expires],
        )
        .await?;
    }
    for StoredCode { code, used } in &snapshot.codes {
        grants::insert_code(c, code).await?;
        execute(c, "UPDATE authorization_codes SET used = $2 WHERE handle = $1", &[&code.handle.0, used]).await?;
    }
    for r in &snapshot.refresh_tokens {
        grants::insert_refresh(c, &r.token).await?;
        if let Some(successor) = &r.successor {
            execute(
                c,
                "UPDATE refresh_tokens SET successor = $2 WHERE handle = $1",
                &[&r.token.handle.0, &successor.0],
            )
            .await?;
        }
    }
    for (family, revoked_at) in &snapshot.revoked_families {
        execute(c, "INSERT INTO revoked_families (family, revoked_at) VALUES ($1, $2)", &[family, revoked_at]).await?;
    }
    for a in &snapshot.attempts {
        let count = to_i32(a.count)?;
        execute(c, "INSERT INTO attempts (key, count, since) VALUES ($1, $2, $3)", &[&a.key, &count, &a.since]).await?;
    }
    for d in &snapshot.device_codes {
        crate::device::insert(c, d).await?;
    }
    for e in &snapshot.audit_events {
        crate::audit::insert(c, Some(e)).await?;
    }
    Ok(())
}

#[async_trait]
impl SnapshotStore for PgStore {
    async fn export(&self) -> Result<Snapshot> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        let snapshot = export(&tx).await?;
        tx.commit().await.map_err(db)?;
        Ok(snapshot)
    }

    async fn import(&self, snapshot: Snapshot) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        import(&tx, snapshot).await?;
        tx.commit().await.map_err(db)
    }
}
