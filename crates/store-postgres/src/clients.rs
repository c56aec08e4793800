//! Clients and their secrets in PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    col, db, execute, existing_roles, insert as insert_row, limit, query, query_one, query_opt, read_tx, storage,
    tenant_exists, to_i32, to_u32, write_tx, PgStore,
};
use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::client::{Client, ClientChanges, ClientKind, IdTokenSigningAlg};
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::secret::{ClientSecret, NewSecret, SecretHash};
use gatehouse_registry::store::{
    check_role_refs, next_secret, tenant_full, ClientRef, ClientStore, ListQuery, Page, SecretChanges,
};

/// A client's columns (of `clients c`), its roles gathered by sub-select: a client is one
/// query.
pub(crate) const COLUMNS: &str = "c.tenant_id, c.id, c.kind, c.name, c.enabled, c.access_token_lifetime,
    c.redirect_uris, c.post_logout_redirect_uris, c.allowed_cors_origins, c.allow_offline_access,
    c.allow_access_tokens_via_browser, c.client_uri, c.logo_uri, c.tags, c.created,
    ARRAY(SELECT r.role_id FROM client_roles r WHERE r.client_id = c.id ORDER BY r.position),
    c.id_token_signing_alg, c.device_code_lifetime";

/// How many [`COLUMNS`]; a secret's columns follow them in `find_client`.
pub(crate) const CLIENT_COLUMNS: usize = 18;

/// The filter of a list, all of it parameters: `$3` ids (empty: any), `$4` tags (empty:
/// any), `$5` a LIKE pattern on the ASCII-lower-cased name (NULL: any).
const FILTER: &str = "c.tenant_id = $1 AND c.kind = $2
    AND (cardinality($3::uuid[]) = 0 OR c.id = ANY($3))
    AND (cardinality($4::text[]) = 0 OR c.tags && $4)
    AND ($5::text IS NULL
        OR translate(c.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') LIKE $5 ESCAPE '\\')";

pub(crate) fn client_row(r: &Row) -> Result<Client> {
    let kind: String = col(r, 2)?;
    let alg: String = col(r, 16)?;
    Ok(Client {
        tenant_id: col(r, 0)?,
        id: col(r, 1)?,
        kind: ClientKind::parse(&kind).ok_or_else(|| storage(format!("unknown client kind {kind}")))?,
        name: col(r, 3)?,
        enabled: col(r, 4)?,
        access_token_lifetime: to_u32(col(r, 5)?)?,
        redirect_uris: col(r, 6)?,
        post_logout_redirect_uris: col(r, 7)?,
        allowed_cors_origins: col(r, 8)?,
        allow_offline_access: col(r, 9)?,
        allow_access_tokens_via_browser: col(r, 10)?,
        client_uri: col(r, 11)?,
        logo_uri: col(r, 12)?,
        tags: col(r, 13)?,
        created: col(r, 14)?,
        role_ids: col(r, 15)?,
        id_token_signing_alg: IdTokenSigningAlg::parse(&alg)
            .ok_or_else(|| storage(format!("unknown ID token algorithm {alg}")))?,
        device_code_lifetime: to_u32(col(r, 17)?)?,
    })
}

/// A secret from the row's columns at `at`.
fn secret_row(r: &Row, at: usize) -> Result<ClientSecret> {
    Ok(ClientSecret {
        id: to_u32(col(r, at)?)?,
        description: col(r, at + 1)?,
        expiration: col(r, at + 2)?,
        hash: SecretHash::from_bytes(col(r, at + 3)?),
        created: col(r, at + 4)?,
    })
}

/// Locks the client's row until the commit; `NotFound("client")` unless it is of that
/// tenant and kind.
async fn lock_at(c: &impl GenericClient, at: ClientRef) -> Result<()> {
    query_opt(
        c,
        "SELECT 1 FROM clients WHERE id = $1 AND tenant_id = $2 AND kind = $3 FOR UPDATE",
        &[&at.id, &at.tenant_id, &at.kind.as_str()],
    )
    .await?
    .map(|_| ())
    .ok_or(RegistryError::NotFound("client"))
}

async fn load_at(c: &impl GenericClient, at: ClientRef) -> Result<Client> {
    let row = query_opt(
        c,
        &format!("SELECT {COLUMNS} FROM clients c WHERE c.id = $1 AND c.tenant_id = $2 AND c.kind = $3"),
        &[&at.id, &at.tenant_id, &at.kind.as_str()],
    )
    .await?;
    row.as_ref().map(client_row).transpose()?.ok_or(RegistryError::NotFound("client"))
}

pub(crate) async fn secrets(c: &impl GenericClient, id: Uuid) -> Result<Vec<ClientSecret>> {
    let rows = query(
        c,
        "SELECT id, description, expiration, hash, created FROM client_secrets WHERE client_id = $1 ORDER BY id",
        &[&id],
    )
    .await?;
    rows.iter().map(|r| secret_row(r, 0)).collect()
}

/// Rewrites a client's role rows; every role must exist (and stays locked until the commit).
async fn write_roles(c: &impl GenericClient, client: &Client) -> Result<()> {
    let found = existing_roles(c, client.tenant_id, &client.role_ids).await?;
    check_role_refs(&client.role_ids, |id| found.contains(id))?;
    execute(c, "DELETE FROM client_roles WHERE client_id = $1", &[&client.id]).await?;
    let positions: Vec<i32> =
        (0..client.role_ids.len()).map(|i| i32::try_from(i).map_err(storage)).collect::<Result<_>>()?;
    execute(
        c,
        "INSERT INTO client_roles (client_id, tenant_id, position, role_id)
         SELECT $1, $2, p, r FROM unnest($3::integer[], $4::uuid[]) AS u(p, r)",
        &[&client.id, &client.tenant_id, &positions, &client.role_ids],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_secret(c: &impl GenericClient, client_id: Uuid, s: &ClientSecret) -> Result<()> {
    let id = to_i32(s.id)?;
    execute(
        c,
        "INSERT INTO client_secrets (client_id, id, description, expiration, hash, created) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&client_id, &id, &s.description, &s.expiration, &s.hash.as_bytes(), &s.created],
    )
    .await?;
    execute(c, "UPDATE clients SET next_secret_id = $2 WHERE id = $1", &[&client_id, &(id + 1)]).await?;
    Ok(())
}

/// Inserts a client and its first secret; the caller owns the transaction.
pub(crate) async fn insert(
    c: &impl GenericClient,
    client: &Client,
    secret: Option<NewSecret>,
) -> Result<Option<ClientSecret>> {
    // The tenant's row stays locked until the commit, so creations in one tenant count one
    // after another and the limit holds. FOR NO KEY UPDATE: other inserts' foreign-key
    // checks (FOR KEY SHARE) do not wait for it.
    query_opt(c, "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE", &[&client.tenant_id])
        .await?
        .ok_or(RegistryError::NotFound("tenant"))?;
    let taken = || format!("a client with id {} already exists", client.id);
    if query_opt(c, "SELECT 1 FROM clients WHERE id = $1", &[&client.id]).await?.is_some() {
        return Err(RegistryError::Conflict(taken()));
    }
    let count: i64 =
        col(&query_one(c, "SELECT count(*) FROM clients WHERE tenant_id = $1", &[&client.tenant_id]).await?, 0)?;
    tenant_full(u64::try_from(count).map_err(storage)?)?;
    let lifetime = to_i32(client.access_token_lifetime)?;
    let device_lifetime = to_i32(client.device_code_lifetime)?;
    // A concurrent insert of the same id (in any tenant) waits on the primary key and
    // then fails: Conflict.
    insert_row(
        c,
        "INSERT INTO clients (id, tenant_id, kind, name, enabled, access_token_lifetime, redirect_uris,
            post_logout_redirect_uris, allowed_cors_origins, tags, allow_offline_access,
            allow_access_tokens_via_browser, client_uri, logo_uri, created, id_token_signing_alg,
            device_code_lifetime)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        &[
            &client.id,
            &client.tenant_id,
            &client.kind.as_str(),
            &client.name,
            &client.enabled,
            &lifetime,
            &client.redirect_uris,
            &client.post_logout_redirect_uris,
            &client.allowed_cors_origins,
            &client.tags,
            &client.allow_offline_access,
            &client.allow_access_tokens_via_browser,
            &client.client_uri,
            &client.logo_uri,
            &client.created,
            &client.id_token_signing_alg.as_str(),
            &device_lifetime,
        ],
        taken,
    )
    .await?;
    write_roles(c, client).await?;
    let first = secret.map(|s| next_secret(0, 1, s)).transpose()?;
    if let Some(s) = &first {
        insert_secret(c, client.id, s).await?;
    }
    Ok(first)
}

/// The ASCII-lower-cased name as a LIKE pattern for "contains", its wildcards escaped.
fn name_pattern(name: &str) -> String {
    let escaped = name.to_ascii_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[async_trait]
impl ClientStore for PgStore {
    async fn create_client(
        &self,
        client: Client,
        secret: Option<NewSecret>,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<ClientSecret>> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        let first = insert(&tx, &client, secret).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(first)
    }

    async fn get_client(&self, at: ClientRef) -> Result<Client> {
        let conn = self.conn().await?;
        load_at(&conn, at).await
    }

    async fn find_client(&self, id: Uuid) -> Result<Option<(Client, Vec<ClientSecret>)>> {
        // One statement: the client with its secrets joined, one row per secret.
        let conn = self.conn().await?;
        let rows = query(
            &conn,
            &format!(
                "SELECT {COLUMNS}, s.id, s.description, s.expiration, s.hash, s.created
                 FROM clients c LEFT JOIN client_secrets s ON s.client_id = c.id WHERE c.id = $1 ORDER BY s.id"
            ),
            &[&id],
        )
        .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let client = client_row(first)?;
        let secrets = rows
            .iter()
            .filter(|r| r.try_get::<_, Option<i32>>(CLIENT_COLUMNS).ok().flatten().is_some())
            .map(|r| secret_row(r, CLIENT_COLUMNS))
            .collect::<Result<_>>()?;
        Ok(Some((client, secrets)))
    }

    async fn list_clients(&self, tenant_id: Uuid, kind: ClientKind, query_: &ListQuery) -> Result<Page<Client>> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        let pattern = query_.name.as_deref().map(name_pattern);
        let kind = kind.as_str();
        let total: i64 = col(
            &query_one(
                &tx,
                &format!("SELECT count(*) FROM clients c WHERE {FILTER}"),
                &[&tenant_id, &kind, &query_.ids, &query_.tags, &pattern],
            )
            .await?,
            0,
        )?;
        let rows = query(
            &tx,
            &format!("SELECT {COLUMNS} FROM clients c WHERE {FILTER} ORDER BY c.seq LIMIT $6 OFFSET $7"),
            &[&tenant_id, &kind, &query_.ids, &query_.tags, &pattern, &limit(query_.count), &limit(query_.skip)],
        )
        .await?;
        let items = rows.iter().map(client_row).collect::<Result<_>>()?;
        Ok(Page { items, total: u64::try_from(total).map_err(storage)? })
    }

    async fn update_client(&self, at: ClientRef, changes: ClientChanges, audit: Option<&AuditEvent>) -> Result<Client> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        lock_at(&tx, at).await?;
        let mut client = load_at(&tx, at).await?;
        client.apply(changes)?;
        let lifetime = to_i32(client.access_token_lifetime)?;
        execute(
            &tx,
            "UPDATE clients SET name = $2, enabled = $3, access_token_lifetime = $4, redirect_uris = $5,
                post_logout_redirect_uris = $6, allowed_cors_origins = $7, tags = $8, allow_offline_access = $9,
                allow_access_tokens_via_browser = $10, client_uri = $11, logo_uri = $12,
                id_token_signing_alg = $13, device_code_lifetime = $14
             WHERE id = $1",
            &[
                &client.id,
                &client.name,
                &client.enabled,
                &lifetime,
                &client.redirect_uris,
                &client.post_logout_redirect_uris,
                &client.allowed_cors_origins,
                &client.tags,
                &client.allow_offline_access,
                &client.allow_access_tokens_via_browser,
                &client.client_uri,
                &client.logo_uri,
                &client.id_token_signing_alg.as_str(),
                &to_i32(client.device_code_lifetime)?,
            ],
        )
        .await?;
        write_roles(&tx, &client).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(client)
    }

    async fn delete_client(&self, at: ClientRef, audit: Option<&AuditEvent>) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        // Secrets and role rows go with it (foreign keys, ON DELETE CASCADE).
        let n = execute(
            &tx,
            "DELETE FROM clients WHERE id = $1 AND tenant_id = $2 AND kind = $3",
            &[&at.id, &at.tenant_id, &at.kind.as_str()],
        )
        .await?;
        if n == 0 {
            return Err(RegistryError::NotFound("client"));
        }
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)
    }

    async fn add_secret(&self, at: ClientRef, secret: NewSecret, audit: Option<&AuditEvent>) -> Result<ClientSecret> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        // The client's row stays locked until the commit: concurrent additions count one
        // after another, so the limit holds and no id is handed out twice.
        lock_at(&tx, at).await?;
        let row = query_one(
            &tx,
            "SELECT (SELECT count(*) FROM client_secrets WHERE client_id = $1), next_secret_id FROM clients WHERE id = $1",
            &[&at.id],
        )
        .await?;
        let count: i64 = col(&row, 0)?;
        let stored = next_secret(usize::try_from(count).map_err(storage)?, to_u32(col(&row, 1)?)?, secret)?;
        insert_secret(&tx, at.id, &stored).await?;
        crate::audit::insert(&tx, audit.map(|e| e.on_secret(stored.id)).as_ref()).await?;
        tx.commit().await.map_err(db)?;
        Ok(stored)
    }

    async fn list_secrets(&self, at: ClientRef) -> Result<Vec<ClientSecret>> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        query_opt(
            &tx,
            "SELECT 1 FROM clients WHERE id = $1 AND tenant_id = $2 AND kind = $3",
            &[&at.id, &at.tenant_id, &at.kind.as_str()],
        )
        .await?
        .ok_or(RegistryError::NotFound("client"))?;
        secrets(&tx, at.id).await
    }

    async fn update_secret(
        &self,
        at: ClientRef,
        secret_id: u32,
        changes: SecretChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<ClientSecret> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        lock_at(&tx, at).await?;
        let id = to_i32(secret_id)?;
        let row = query_opt(
            &tx,
            "SELECT id, description, expiration, hash, created FROM client_secrets WHERE client_id = $1 AND id = $2",
            &[&at.id, &id],
        )
        .await?;
        let mut secret =
            row.as_ref().map(|r| secret_row(r, 0)).transpose()?.ok_or(RegistryError::NotFound("secret"))?;
        if let Some(d) = changes.description {
            secret.description = d;
        }
        if let Some(e) = changes.expiration {
            secret.expiration = e;
        }
        execute(
            &tx,
            "UPDATE client_secrets SET description = $3, expiration = $4 WHERE client_id = $1 AND id = $2",
            &[&at.id, &id, &secret.description, &secret.expiration],
        )
        .await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(secret)
    }

    async fn delete_secret(&self, at: ClientRef, secret_id: u32, audit: Option<&AuditEvent>) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        lock_at(&tx, at).await?;
        let n =
            execute(&tx, "DELETE FROM client_secrets WHERE client_id = $1 AND id = $2", &[&at.id, &to_i32(secret_id)?])
                .await?;
        if n == 0 {
            return Err(RegistryError::NotFound("secret"));
        }
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)
    }

    async fn cors_origin_allowed(&self, origin: &str) -> Result<bool> {
        let conn = self.conn().await?;
        let row = query_one(
            &conn,
            "SELECT EXISTS (SELECT 1 FROM clients WHERE allowed_cors_origins @> ARRAY[$1::text] AND enabled)",
            &[&origin],
        )
        .await?;
        col(&row, 0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn name_patterns_escape_wildcards() {
        assert_eq!(super::name_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
