//! The SQLite store's whole state, read in one deferred transaction (in WAL mode, one
//! snapshot of the file) and written in one `BEGIN IMMEDIATE` transaction, which holds the
//! write lock from the emptiness check to the commit: no first start of an instance on the
//! same file can interleave.

use async_trait::async_trait;
use rusqlite::{params, Connection};

use crate::{clients, from_ts, grants, insert_role, key_row, role_row, storage, tenant_row, ts, users, uuid_col};
use crate::{SqliteStore, TABLES};
use gatehouse_registry::error::Result;
use gatehouse_registry::grant::SecretHashKey;
use gatehouse_registry::store::snapshot::{
    not_empty, Attempts, ServerSecret, Snapshot, SnapshotStore, StoredClient, StoredCode, StoredRefresh, TenantSnapshot,
};

/// Every row of `sql` (no parameters unless `arg`), mapped by `row`.
fn all<T>(
    c: &Connection,
    sql: &str,
    arg: Option<&str>,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare(sql).map_err(storage)?;
    let rows = match arg {
        Some(a) => st.query_map([a], row),
        None => st.query_map([], row),
    }
    .map_err(storage)?;
    rows.collect::<rusqlite::Result<_>>().map_err(storage)
}

fn tenant(c: &Connection, t: gatehouse_registry::tenant::Tenant) -> Result<TenantSnapshot> {
    let id = t.id.to_string();
    let roles = all(
        c,
        "SELECT id, name, description, built_in FROM roles WHERE tenant_id = ?1 ORDER BY rowid",
        Some(&id),
        role_row,
    )?;
    let users =
        all(c, &format!("{} WHERE u.tenant_id = ?1 ORDER BY u.rowid", users::SELECT), Some(&id), users::user_row)?;
    let clients = all(
        c,
        &format!("{} WHERE c.tenant_id = ?1 ORDER BY c.rowid", clients::SELECT),
        Some(&id),
        clients::client_row,
    )?
    .into_iter()
    .map(|client| {
        let next_secret_id = c
            .query_row("SELECT next_secret_id FROM clients WHERE id = ?1", [client.id.to_string()], |r| r.get(0))
            .map_err(storage)?;
        Ok(StoredClient { secrets: clients::secrets(c, client.id)?, client, next_secret_id })
    })
    .collect::<Result<_>>()?;
    Ok(TenantSnapshot { tenant: t, roles, users, clients })
}

fn export(c: &Connection) -> Result<Snapshot> {
    let tenants = all(c, "SELECT id, name, created FROM tenants ORDER BY rowid", None, tenant_row)?
        .into_iter()
        .map(|t| tenant(c, t))
        .collect::<Result<_>>()?;
    let signing_keys =
        all(c, "SELECT kid, alg, private_der, created, retired FROM signing_keys ORDER BY rowid", None, key_row)?;
    let server_secrets = all(c, "SELECT name, value FROM server_secrets", None, |r| {
        Ok(ServerSecret { name: r.get(0)?, value: r.get(1)? })
    })?;
    let sessions = all(c, &format!("{} FROM sessions", grants::SESSION_COLUMNS), None, grants::session_row)?;
    let codes = all(c, &format!("{} FROM authorization_codes", grants::CODE_COLUMNS), None, |r| {
        grants::code_row(r).map(|(code, used)| StoredCode { code, used })
    })?;
    let refresh_tokens = all(c, &format!("{}, successor FROM refresh_tokens", grants::REFRESH_COLUMNS), None, |r| {
        Ok(StoredRefresh {
            token: grants::refresh_row(r)?,
            successor: r.get::<_, Option<Vec<u8>>>(12)?.map(SecretHashKey),
        })
    })?;
    let revoked_families = all(c, "SELECT family, revoked_at FROM revoked_families", None, |r| {
        Ok((uuid_col(r.get(0)?)?, from_ts(r.get(1)?)?))
    })?;
    let attempts = all(c, "SELECT key, count, since FROM attempts", None, |r| {
        Ok(Attempts { key: r.get(0)?, count: r.get(1)?, since: from_ts(r.get(2)?)? })
    })?;
    let device_codes = all(c, crate::device::DEVICE_COLUMNS, None, crate::device::device_row)?;
    let audit_events = all(c, &format!("{} ORDER BY seq", crate::audit::COLUMNS), None, crate::audit::event_row)?;
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

fn holds_anything(c: &Connection) -> Result<bool> {
    for table in TABLES {
        let any: bool =
            c.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| r.get(0)).map_err(storage)?;
        if any {
            return Ok(true);
        }
    }
    Ok(false)
}

fn import(tx: &Connection, snapshot: Snapshot) -> Result<()> {
    if holds_anything(tx)? {
        return Err(not_empty());
    }
    for t in &snapshot.tenants {
        let id = t.tenant.id;
        tx.execute(
            "INSERT INTO tenants (id, name, created) VALUES (?1, ?2, ?3)",
            params![id.to_string(), t.tenant.name, ts(t.tenant.created)],
        )
        .map_err(storage)?;
        for role in &t.roles {
            insert_role(tx, id, role)?;
        }
        for user in &t.users {
            users::insert(tx, user)?;
        }
        for c in &t.clients {
            clients::insert(tx, &c.client, None)?;
            for secret in &c.secrets {
                clients::insert_secret(tx, c.client.id, secret)?;
            }
            tx.execute(
                "UPDATE clients SET next_secret_id = ?2 WHERE id = ?1",
                params![c.client.id.to_string(), c.next_secret_id],
            )
            .map_err(storage)?;
        }
    }
    for k in &snapshot.signing_keys {
        tx.execute(
            "INSERT INTO signing_keys (kid, alg, private_der, created, retired) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![k.kid, k.alg, k.private_der, ts(k.created), k.retired.map(ts)],
        )
        .map_err(storage)?;
    }
    for s in &snapshot.server_secrets {
        tx.execute("INSERT INTO server_secrets (name, value) VALUES (?1, ?2)", params![s.name, s.value])
            .map_err(storage)?;
    }
    for s in &snapshot.sessions {
        tx.execute(
            "INSERT INTO sessions (handle, sid, tenant_id, user_id, auth_time, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![s.handle.0, s.sid, s.tenant_id.to_string(), s.user_id.to_string(), ts(s.auth_time), ts(s.expires)],
        )
        .map_err(storage)?;
    }
    for StoredCode { code, used } in &snapshot.codes {
        grants::insert_code(tx, code, *used)?;
    }
    for r in &snapshot.refresh_tokens {
        grants::insert_refresh(tx, &r.token)?;
        if let Some(successor) = &r.successor {
            tx.execute(
                "UPDATE refresh_tokens SET successor = ?2 WHERE handle = ?1",
                params![r.token.handle.0, successor.0],
            )
            .map_err(storage)?;
        }
    }
    for (family, revoked_at) in &snapshot.revoked_families {
        tx.execute(
            "INSERT INTO revoked_families (family, revoked_at) VALUES (?1, ?2)",
            params![family.to_string(), ts(*revoked_at)],
        )
        .map_err(storage)?;
    }
    for a in &snapshot.attempts {
        tx.execute(
            "INSERT INTO attempts (key, count, since) VALUES (?1, ?2, ?3)",
            params![a.key, a.count, ts(a.since)],
        )
        .map_err(storage)?;
    }
    for d in &snapshot.device_codes {
        crate::device::insert(tx, d)?;
    }
    for e in &snapshot.audit_events {
        crate::audit::insert(tx, Some(e))?;
    }
    Ok(())
}

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn export(&self) -> Result<Snapshot> {
        self.read("export", export).await
    }

    async fn import(&self, snapshot: Snapshot) -> Result<()> {
        self.write("import", move |tx| import(tx, snapshot)).await
    }
}
