//! Clients and their secrets in SQLite.

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{from_ts, json_col, role_exists, storage, tenant_exists, ts, uuid_col, SqliteStore};
use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::client::{Client, ClientChanges, ClientKind, IdTokenSigningAlg};
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::secret::{ClientSecret, NewSecret, SecretHash};
use gatehouse_registry::store::{
    check_role_refs, next_secret, tenant_full, ClientRef, ClientStore, ListQuery, Page, SecretChanges,
};

/// One row per client, lists gathered by sub-select: a client is one query.
pub(crate) const SELECT: &str = "SELECT c.tenant_id, c.id, c.kind, c.name, c.enabled, c.access_token_lifetime,
    c.redirect_uris, c.post_logout_redirect_uris, c.allow_offline_access,
    c.allow_access_tokens_via_browser, c.client_uri, c.logo_uri, c.created,
    (SELECT json_group_array(origin) FROM (SELECT origin FROM client_cors_origins WHERE client_id = c.id ORDER BY position)),
    (SELECT json_group_array(tag) FROM (SELECT tag FROM client_tags WHERE client_id = c.id ORDER BY position)),
    (SELECT json_group_array(role_id) FROM (SELECT role_id FROM client_roles WHERE client_id = c.id ORDER BY position)),
    c.id_token_signing_alg, c.device_code_lifetime
    FROM clients c";

pub(crate) fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    let kind: String = r.get(2)?;
    let roles: Vec<String> = json_col(r.get(15)?)?;
    let alg: String = r.get(16)?;
    Ok(Client {
        tenant_id: uuid_col(r.get(0)?)?,
        id: uuid_col(r.get(1)?)?,
        kind: ClientKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown kind {kind}").into(),
            )
        })?,
        name: r.get(3)?,
        enabled: r.get(4)?,
        access_token_lifetime: r.get(5)?,
        redirect_uris: json_col(r.get(6)?)?,
        post_logout_redirect_uris: json_col(r.get(7)?)?,
        allow_offline_access: r.get(8)?,
        allow_access_tokens_via_browser: r.get(9)?,
        client_uri: r.get(10)?,
        logo_uri: r.get(11)?,
        created: from_ts(r.get(12)?)?,
        allowed_cors_origins: json_col(r.get(13)?)?,
        tags: json_col(r.get(14)?)?,
        role_ids: roles.into_iter().map(uuid_col).collect::<rusqlite::Result<_>>()?,
        id_token_signing_alg: IdTokenSigningAlg::parse(&alg).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                16,
                rusqlite::types::Type::Text,
                format!("unknown ID token algorithm {alg}").into(),
            )
        })?,
        device_code_lifetime: r.get(17)?,
    })
}

fn secret_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClientSecret> {
    Ok(ClientSecret {
        id: r.get(0)?,
        description: r.get(1)?,
        expiration: r.get::<_, Option<i64>>(2)?.map(from_ts).transpose()?,
        hash: SecretHash::from_bytes(r.get(3)?),
        created: from_ts(r.get(4)?)?,
    })
}

fn json(list: &[String]) -> Result<String> {
    serde_json::to_string(list).map_err(storage)
}

fn load(c: &Connection, id: Uuid) -> Result<Option<Client>> {
    crate::sql::row(c, &format!("{SELECT} WHERE c.id = ?1"), [id.to_string()], client_row).optional().map_err(storage)
}

fn load_at(c: &Connection, at: ClientRef) -> Result<Client> {
    load(c, at.id)?
        .filter(|cl| cl.tenant_id == at.tenant_id && cl.kind == at.kind)
        .ok_or(RegistryError::NotFound("client"))
}

pub(crate) fn secrets(c: &Connection, id: Uuid) -> Result<Vec<ClientSecret>> {
    let mut st = c
        .prepare_cached(
            "SELECT id, description, expiration, hash, created FROM client_secrets WHERE client_id = ?1 ORDER BY id",
        )
        .map_err(storage)?;
    let rows = st.query_map([id.to_string()], secret_row).map_err(storage)?;
    rows.collect::<rusqlite::Result<_>>().map_err(storage)
}

/// Rewrites a client's child rows from its lists.
fn write_lists(tx: &Connection, client: &Client) -> Result<()> {
    let id = client.id.to_string();
    for table in ["client_tags", "client_cors_origins", "client_roles"] {
        crate::sql::exec(tx, &format!("DELETE FROM {table} WHERE client_id = ?1"), [&id]).map_err(storage)?;
    }
    for (i, tag) in client.tags.iter().enumerate() {
        crate::sql::exec(
            tx,
            "INSERT INTO client_tags (client_id, position, tag) VALUES (?1, ?2, ?3)",
            params![id, i, tag],
        )
        .map_err(storage)?;
    }
    for (i, origin) in client.allowed_cors_origins.iter().enumerate() {
        crate::sql::exec(
            tx,
            "INSERT INTO client_cors_origins (client_id, position, origin) VALUES (?1, ?2, ?3)",
            params![id, i, origin],
        )
        .map_err(storage)?;
    }
    for (i, role) in client.role_ids.iter().enumerate() {
        crate::sql::exec(
            tx,
            "INSERT INTO client_roles (client_id, tenant_id, position, role_id) VALUES (?1, ?2, ?3, ?4)",
            params![id, client.tenant_id.to_string(), i, role.to_string()],
        )
        .map_err(storage)?;
    }
    Ok(())
}

pub(crate) fn insert_secret(tx: &Connection, client_id: Uuid, s: &ClientSecret) -> Result<()> {
    crate::sql::exec(tx,
        "INSERT INTO client_secrets (client_id, id, description, expiration, hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![client_id.to_string(), s.id, s.description, s.expiration.map(ts), s.hash.as_bytes(), ts(s.created)],
    )
    .map_err(storage)?;
    crate::sql::exec(
        tx,
        "UPDATE clients SET next_secret_id = ?2 WHERE id = ?1",
        params![client_id.to_string(), s.id + 1],
    )
    .map_err(storage)?;
    Ok(())
}

/// Inserts a client and its first secret; the caller owns the transaction.
pub(super) fn insert(tx: &Connection, client: &Client, secret: Option<NewSecret>) -> Result<Option<ClientSecret>> {
    tenant_exists(tx, client.tenant_id)?;
    if load(tx, client.id)?.is_some() {
        return Err(RegistryError::Conflict(format!("a client with id {} already exists", client.id)));
    }
    let count: u64 =
        crate::sql::row(tx, "SELECT count(*) FROM clients WHERE tenant_id = ?1", [client.tenant_id.to_string()], |r| {
            r.get(0)
        })
        .map_err(storage)?;
    tenant_full(count)?;
    check_role_refs(&client.role_ids, role_exists(tx, client.tenant_id))?;
    crate::sql::exec(
        tx,
        "INSERT INTO clients (id, tenant_id, kind, name, enabled, access_token_lifetime, redirect_uris,
            post_logout_redirect_uris, allow_offline_access, allow_access_tokens_via_browser,
            client_uri, logo_uri, created, id_token_signing_alg, device_code_lifetime)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            client.id.to_string(),
            client.tenant_id.to_string(),
            client.kind.as_str(),
            client.name,
            client.enabled,
            client.access_token_lifetime,
            json(&client.redirect_uris)?,
            json(&client.post_logout_redirect_uris)?,
            client.allow_offline_access,
            client.allow_access_tokens_via_browser,
            client.client_uri,
            client.logo_uri,
            ts(client.created),
            client.id_token_signing_alg.as_str(),
            client.device_code_lifetime,
        ],
    )
    .map_err(storage)?;
    write_lists(tx, client)?;
    let first = secret.map(|s| next_secret(0, 1, s)).transpose()?;
    if let Some(s) = &first {
        insert_secret(tx, client.id, s)?;
    }
    Ok(first)
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(
        &self,
        client: Client,
        secret: Option<NewSecret>,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<ClientSecret>> {
        let audit = audit.cloned();
        self.write("create_client", move |tx| {
            let first = insert(tx, &client, secret)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(first)
        })
        .await
    }

    async fn get_client(&self, at: ClientRef) -> Result<Client> {
        self.read("get_client", move |c| load_at(c, at)).await
    }

    async fn find_client(&self, id: Uuid) -> Result<Option<(Client, Vec<ClientSecret>)>> {
        self.read("find_client", move |c| match load(c, id)? {
            Some(client) => Ok(Some((client, secrets(c, id)?))),
            None => Ok(None),
        })
        .await
    }

    async fn list_clients(&self, tenant_id: Uuid, kind: ClientKind, query: &ListQuery) -> Result<Page<Client>> {
        let query = query.clone();
        self.read("list_clients", move |c| {
            tenant_exists(c, tenant_id)?;
            // With tags, the tag index drives (CROSS JOIN fixes the join order): a tag is
            // selective, a tenant's clients are many.
            let mut args: Vec<String> = query.tags.clone();
            let from = if query.tags.is_empty() {
                "clients c".to_owned()
            } else {
                format!(
                    "(SELECT DISTINCT client_id FROM client_tags WHERE tag IN ({})) t CROSS JOIN clients c ON c.id = t.client_id",
                    vec!["?"; query.tags.len()].join(",")
                )
            };
            let mut filter = String::from("c.tenant_id = ? AND c.kind = ?");
            args.extend([tenant_id.to_string(), kind.as_str().to_owned()]);
            if !query.ids.is_empty() {
                filter.push_str(&format!(" AND c.id IN ({})", vec!["?"; query.ids.len()].join(",")));
                args.extend(query.ids.iter().map(Uuid::to_string));
            }
            if let Some(name) = &query.name {
                // LIKE ignores ASCII case; the wildcards in the name itself are escaped.
                filter.push_str(" AND c.name LIKE ? ESCAPE '\\'");
                let escaped = name.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(format!("%{escaped}%"));
            }
            let total: u64 = crate::sql::row(c, &format!("SELECT count(*) FROM {from} WHERE {filter}"), params_from_iter(&args), |r| r.get(0))
                .map_err(storage)?;
            let limit = i64::try_from(query.count).unwrap_or(i64::MAX);
            let offset = i64::try_from(query.skip).unwrap_or(i64::MAX);
            // Page over the covering index first, then build only the rows of the page.
            let sql = format!(
                "{SELECT} WHERE c.rowid IN (SELECT c.rowid FROM {from} WHERE {filter} ORDER BY c.rowid LIMIT {limit} OFFSET {offset}) ORDER BY c.rowid"
            );
            let mut st = c.prepare(&sql).map_err(storage)?;
            let items = st
                .query_map(params_from_iter(&args), client_row)
                .map_err(storage)?
                .collect::<rusqlite::Result<_>>()
                .map_err(storage)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn update_client(&self, at: ClientRef, changes: ClientChanges, audit: Option<&AuditEvent>) -> Result<Client> {
        let audit = audit.cloned();
        self.write("update_client", move |tx| {
            let mut client = load_at(tx, at)?;
            client.apply(changes)?;
            check_role_refs(&client.role_ids, role_exists(tx, at.tenant_id))?;
            crate::sql::exec(
                tx,
                "UPDATE clients SET name = ?2, enabled = ?3, access_token_lifetime = ?4, redirect_uris = ?5,
                    post_logout_redirect_uris = ?6, allow_offline_access = ?7,
                    allow_access_tokens_via_browser = ?8, client_uri = ?9, logo_uri = ?10,
                    id_token_signing_alg = ?11, device_code_lifetime = ?12
                 WHERE id = ?1",
                params![
                    client.id.to_string(),
                    client.name,
                    client.enabled,
                    client.access_token_lifetime,
                    json(&client.redirect_uris)?,
                    json(&client.post_logout_redirect_uris)?,
                    client.allow_offline_access,
                    client.allow_access_tokens_via_browser,
                    client.client_uri,
                    client.logo_uri,
                    client.id_token_signing_alg.as_str(),
                    client.device_code_lifetime,
                ],
            )
            .map_err(storage)?;
            write_lists(tx, &client)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(client)
        })
        .await
    }

    async fn delete_client(&self, at: ClientRef, audit: Option<&AuditEvent>) -> Result<()> {
        let audit = audit.cloned();
        self.write("delete_client", move |tx| {
            load_at(tx, at)?;
            crate::sql::exec(tx, "DELETE FROM clients WHERE id = ?1", [at.id.to_string()]).map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(())
        })
        .await
    }

    async fn add_secret(&self, at: ClientRef, secret: NewSecret, audit: Option<&AuditEvent>) -> Result<ClientSecret> {
        let audit = audit.cloned();
        self.write("add_secret", move |tx| {
            load_at(tx, at)?;
            let (count, next_id): (usize, u32) = crate::sql::row(tx,
                    "SELECT (SELECT count(*) FROM client_secrets WHERE client_id = ?1), next_secret_id FROM clients WHERE id = ?1",
                    [at.id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(storage)?;
            let stored = next_secret(count, next_id, secret)?;
            insert_secret(tx, at.id, &stored)?;
            crate::audit::insert(tx, audit.map(|e| e.on_secret(stored.id)).as_ref())?;
            Ok(stored)
        })
        .await
    }

    async fn list_secrets(&self, at: ClientRef) -> Result<Vec<ClientSecret>> {
        self.read("list_secrets", move |c| {
            load_at(c, at)?;
            secrets(c, at.id)
        })
        .await
    }

    async fn update_secret(
        &self,
        at: ClientRef,
        secret_id: u32,
        changes: SecretChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<ClientSecret> {
        let audit = audit.cloned();
        self.write("update_secret", move |tx| {
            load_at(tx, at)?;
            let mut secret =
                secrets(tx, at.id)?.into_iter().find(|s| s.id == secret_id).ok_or(RegistryError::NotFound("secret"))?;
            if let Some(d) = changes.description {
                secret.description = d;
            }
            if let Some(e) = changes.expiration {
                secret.expiration = e;
            }
            crate::sql::exec(
                tx,
                "UPDATE client_secrets SET description = ?3, expiration = ?4 WHERE client_id = ?1 AND id = ?2",
                params![at.id.to_string(), secret_id, secret.description, secret.expiration.map(ts)],
            )
            .map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(secret)
        })
        .await
    }

    async fn delete_secret(&self, at: ClientRef, secret_id: u32, audit: Option<&AuditEvent>) -> Result<()> {
        let audit = audit.cloned();
        self.write("delete_secret", move |tx| {
            load_at(tx, at)?;
            let n = crate::sql::exec(
                tx,
                "DELETE FROM client_secrets WHERE client_id = ?1 AND id = ?2",
                params![at.id.to_string(), secret_id],
            )
            .map_err(storage)?;
            if n == 0 {
                return Err(RegistryError::NotFound("secret"));
            }
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(())
        })
        .await
    }

    async fn cors_origin_allowed(&self, origin: &str) -> Result<bool> {
        let origin = origin.to_owned();
        self.read("cors_origin_allowed", move |c| {
            crate::sql::row(
                c,
                "SELECT EXISTS (SELECT 1 FROM client_cors_origins o JOIN clients c ON c.id = o.client_id
                    WHERE o.origin = ?1 AND c.enabled)",
                [origin],
                |r| r.get(0),
            )
            .map_err(storage)
        })
        .await
    }
}
