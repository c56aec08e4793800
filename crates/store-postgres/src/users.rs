//! Local users in PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    col, db, execute, existing_roles, insert as insert_row, limit, query, query_one, query_opt, read_tx, storage,
    tenant_exists, write_tx, PgStore,
};
use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::role::TENANT_ADMINISTRATOR;
use gatehouse_registry::store::{check_role_refs, ListQuery, Page, UserStore};
use gatehouse_registry::user::{User, UserChanges};

/// A user's columns (of `users u`), its roles gathered by sub-select.
pub(crate) const COLUMNS: &str = "u.tenant_id, u.id, u.user_name, u.given_name, u.surname, u.email,
    u.contact_given_name, u.contact_surname, u.enabled, u.password_hash, u.created,
    ARRAY(SELECT r.role_id FROM user_roles r WHERE r.user_id = u.id ORDER BY r.position)";

pub(crate) fn user_row(r: &Row) -> Result<User> {
    user_at(r, 0)
}

/// The user whose [`COLUMNS`] start at column `at` of `r`.
pub(crate) fn user_at(r: &Row, at: usize) -> Result<User> {
    Ok(User {
        tenant_id: col(r, at)?,
        id: col(r, at + 1)?,
        user_name: col(r, at + 2)?,
        given_name: col(r, at + 3)?,
        surname: col(r, at + 4)?,
        email: col(r, at + 5)?,
        contact_given_name: col(r, at + 6)?,
        contact_surname: col(r, at + 7)?,
        enabled: col(r, at + 8)?,
        password_hash: col(r, at + 9)?,
        created: col(r, at + 10)?,
        role_ids: col(r, at + 11)?,
    })
}

/// The user, if the tenant has one with this id.
async fn find(c: &impl GenericClient, tenant_id: Uuid, id: Uuid) -> Result<Option<User>> {
    let row = query_opt(
        c,
        &format!("SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.id = $2"),
        &[&tenant_id, &id],
    )
    .await?;
    row.as_ref().map(user_row).transpose()
}

async fn load(c: &impl GenericClient, tenant_id: Uuid, id: Uuid) -> Result<User> {
    find(c, tenant_id, id).await?.ok_or(RegistryError::NotFound("user"))
}

/// Loads a user for a change. The tenant's row is locked first (FOR NO KEY UPDATE: inserts
/// that reference the tenant still go on), so that the changes to one tenant's users run one
/// at a time and the last-administrator check sees every earlier one.
async fn lock_user(tx: &impl GenericClient, tenant_id: Uuid, id: Uuid) -> Result<User> {
    query_opt(tx, "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE", &[&tenant_id]).await?;
    query_opt(tx, "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE", &[&tenant_id, &id])
        .await?
        .ok_or(RegistryError::NotFound("user"))?;
    load(tx, tenant_id, id).await
}

/// Whether an enabled user of the tenant other than `id` has the Tenant Administrator role.
async fn other_administrator(c: &impl GenericClient, tenant_id: Uuid, id: Uuid) -> Result<bool> {
    let row = query_opt(
        c,
        "SELECT 1 FROM users u JOIN user_roles r ON r.user_id = u.id
         WHERE u.tenant_id = $1 AND u.id <> $2 AND u.enabled AND r.role_id = $3 LIMIT 1",
        &[&tenant_id, &id, &TENANT_ADMINISTRATOR],
    )
    .await?;
    Ok(row.is_some())
}

fn name_taken(user: &User) -> String {
    format!("the user name {} is taken", user.user_name)
}

/// Refuses a user name another user of the tenant has, in any case. A concurrent insert of
/// the same name is caught by the unique index instead (also answered `Conflict`).
async fn check_name(c: &impl GenericClient, user: &User) -> Result<()> {
    let taken: bool = col(
        &query_one(
            c,
            "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND name_key = $2 AND id <> $3)",
            &[&user.tenant_id, &User::name_key(&user.user_name), &user.id],
        )
        .await?,
        0,
    )?;
    if taken {
        return Err(RegistryError::Conflict(name_taken(user)));
    }
    Ok(())
}

/// Rewrites a user's role rows; every role must exist (and stays locked until the commit).
async fn write_roles(c: &impl GenericClient, user: &User) -> Result<()> {
    let found = existing_roles(c, user.tenant_id, &user.role_ids).await?;
    check_role_refs(&user.role_ids, |id| found.contains(id))?;
    execute(c, "DELETE FROM user_roles WHERE user_id = $1", &[&user.id]).await?;
    let positions: Vec<i32> =
        (0..user.role_ids.len()).map(|i| i32::try_from(i).map_err(storage)).collect::<Result<_>>()?;
    execute(
        c,
        "INSERT INTO user_roles (user_id, tenant_id, position, role_id)
         SELECT $1, $2, p, r FROM unnest($3::integer[], $4::uuid[]) AS u(p, r)",
        &[&user.id, &user.tenant_id, &positions, &user.role_ids],
    )
    .await?;
    Ok(())
}

/// Inserts a user; the caller owns the transaction.
pub(crate) async fn insert(c: &impl GenericClient, user: &User) -> Result<()> {
    tenant_exists(c, user.tenant_id).await?;
    if query_opt(c, "SELECT 1 FROM users WHERE id = $1", &[&user.id]).await?.is_some() {
        return Err(RegistryError::Conflict(format!("a user with id {} already exists", user.id)));
    }
    check_name(c, user).await?;
    insert_row(
        c,
        "INSERT INTO users (id, tenant_id, user_name, name_key, given_name, surname, email, contact_given_name,
            contact_surname, enabled, password_hash, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &user.id,
            &user.tenant_id,
            &user.user_name,
            &User::name_key(&user.user_name),
            &user.given_name,
            &user.surname,
            &user.email,
            &user.contact_given_name,
            &user.contact_surname,
            &user.enabled,
            &user.password_hash,
            &user.created,
        ],
        || name_taken(user),
    )
    .await?;
    write_roles(c, user).await
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: User, audit: Option<&AuditEvent>) -> Result<User> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        insert(&tx, &user).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    async fn get_user(&self, tenant_id: Uuid, id: Uuid) -> Result<User> {
        let conn = self.conn().await?;
        load(&conn, tenant_id, id).await
    }

    async fn find_user_by_name(&self, tenant_id: Uuid, user_name: &str) -> Result<Option<User>> {
        let conn = self.conn().await?;
        let row = query_opt(
            &conn,
            &format!("SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.name_key = $2"),
            &[&tenant_id, &User::name_key(user_name)],
        )
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn list_users(&self, tenant_id: Uuid, query_: &ListQuery) -> Result<Page<User>> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        tenant_exists(&tx, tenant_id).await?;
        const FILTER: &str = "u.tenant_id = $1 AND (cardinality($2::uuid[]) = 0 OR u.id = ANY($2))";
        let total: i64 = col(
            &query_one(&tx, &format!("SELECT count(*) FROM users u WHERE {FILTER}"), &[&tenant_id, &query_.ids])
                .await?,
            0,
        )?;
        let rows = query(
            &tx,
            &format!("SELECT {COLUMNS} FROM users u WHERE {FILTER} ORDER BY u.seq LIMIT $3 OFFSET $4"),
            &[&tenant_id, &query_.ids, &limit(query_.count), &limit(query_.skip)],
        )
        .await?;
        let items = rows.iter().map(user_row).collect::<Result<_>>()?;
        Ok(Page { items, total: u64::try_from(total).map_err(storage)? })
    }

    async fn update_user(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: UserChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<User> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        let before = lock_user(&tx, tenant_id, id).await?;
        let mut user = before.clone();
        user.apply(changes)?;
        if before.removes_administrator(Some(&user)) && !other_administrator(&tx, tenant_id, id).await? {
            return Err(before.last_administrator());
        }
        check_name(&tx, &user).await?;
        insert_row(
            &tx,
            "UPDATE users SET user_name = $2, name_key = $3, given_name = $4, surname = $5, email = $6,
                contact_given_name = $7, contact_surname = $8, enabled = $9, password_hash = $10
             WHERE id = $1",
            &[
                &user.id,
                &user.user_name,
                &User::name_key(&user.user_name),
                &user.given_name,
                &user.surname,
                &user.email,
                &user.contact_given_name,
                &user.contact_surname,
                &user.enabled,
                &user.password_hash,
            ],
            || name_taken(&user),
        )
        .await?;
        write_roles(&tx, &user).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    async fn delete_user(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        let before = lock_user(&tx, tenant_id, id).await?;
        if before.removes_administrator(None) && !other_administrator(&tx, tenant_id, id).await? {
            return Err(before.last_administrator());
        }
        execute(&tx, "DELETE FROM users WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await?;
        crate::audit::insert(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
