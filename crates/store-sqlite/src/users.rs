//! Local users in SQLite.

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{from_ts, json_col, role_exists, storage, tenant_exists, ts, uuid_col, SqliteStore};
use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::role::TENANT_ADMINISTRATOR;
use gatehouse_registry::store::{check_role_refs, ListQuery, Page, UserStore};
use gatehouse_registry::user::{User, UserChanges};

pub(crate) const SELECT: &str = "SELECT u.tenant_id, u.id, u.user_name, u.given_name, u.surname, u.email, u.enabled,
    u.password_hash, u.created,
    (SELECT json_group_array(role_id) FROM (SELECT role_id FROM user_roles WHERE user_id = u.id ORDER BY position)),
    u.contact_given_name, u.contact_surname
    FROM users u";

pub(crate) fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let roles: Vec<String> = json_col(r.get(9)?)?;
    Ok(User {
        tenant_id: uuid_col(r.get(0)?)?,
        id: uuid_col(r.get(1)?)?,
        user_name: r.get(2)?,
        given_name: r.get(3)?,
        surname: r.get(4)?,
        email: r.get(5)?,
        contact_given_name: r.get(10)?,
        contact_surname: r.get(11)?,
        enabled: r.get(6)?,
        password_hash: r.get(7)?,
        created: from_ts(r.get(8)?)?,
        role_ids: roles.into_iter().map(uuid_col).collect::<rusqlite::Result<_>>()?,
    })
}

/// The user, if the tenant has one with this id.
pub(crate) fn find(c: &Connection, tenant_id: Uuid, id: Uuid) -> Result<Option<User>> {
    crate::sql::row(
        c,
        &format!("{SELECT} WHERE u.tenant_id = ?1 AND u.id = ?2"),
        [tenant_id.to_string(), id.to_string()],
        user_row,
    )
    .optional()
    .map_err(storage)
}

fn load(c: &Connection, tenant_id: Uuid, id: Uuid) -> Result<User> {
    find(c, tenant_id, id)?.ok_or(RegistryError::NotFound("user"))
}

fn name_taken(c: &Connection, user: &User) -> Result<()> {
    let taken: bool = crate::sql::row(
        c,
        "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND name_key = ?2 AND id <> ?3)",
        params![user.tenant_id.to_string(), User::name_key(&user.user_name), user.id.to_string()],
        |r| r.get(0),
    )
    .map_err(storage)?;
    if taken {
        return Err(RegistryError::Conflict(format!("the user name {} is taken", user.user_name)));
    }
    Ok(())
}

/// Whether an enabled user of the tenant other than `id` has the Tenant Administrator role.
fn other_administrator(c: &Connection, tenant_id: Uuid, id: Uuid) -> Result<bool> {
    crate::sql::row(
        c,
        "SELECT EXISTS (SELECT 1 FROM users u JOIN user_roles r ON r.user_id = u.id
            WHERE u.tenant_id = ?1 AND u.id <> ?2 AND u.enabled AND r.role_id = ?3)",
        params![tenant_id.to_string(), id.to_string(), TENANT_ADMINISTRATOR.to_string()],
        |r| r.get(0),
    )
    .map_err(storage)
}

fn write_roles(tx: &Connection, user: &User) -> Result<()> {
    check_role_refs(&user.role_ids, role_exists(tx, user.tenant_id))?;
    crate::sql::exec(tx, "DELETE FROM user_roles WHERE user_id = ?1", [user.id.to_string()]).map_err(storage)?;
    for (i, role) in user.role_ids.iter().enumerate() {
        crate::sql::exec(
            tx,
            "INSERT INTO user_roles (user_id, tenant_id, position, role_id) VALUES (?1, ?2, ?3, ?4)",
            params![user.id.to_string(), user.tenant_id.to_string(), i, role.to_string()],
        )
        .map_err(storage)?;
    }
    Ok(())
}

/// Inserts a user; the caller owns the transaction.
pub(super) fn insert(tx: &Connection, user: &User) -> Result<()> {
    tenant_exists(tx, user.tenant_id)?;
    let exists: bool =
        crate::sql::row(tx, "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)", [user.id.to_string()], |r| r.get(0))
            .map_err(storage)?;
    if exists {
        return Err(RegistryError::Conflict(format!("a user with id {} already exists", user.id)));
    }
    name_taken(tx, user)?;
    crate::sql::exec(tx,
        "INSERT INTO users (id, tenant_id, user_name, name_key, given_name, surname, email, enabled, password_hash, created,
             contact_given_name, contact_surname)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            user.id.to_string(),
            user.tenant_id.to_string(),
            user.user_name,
            User::name_key(&user.user_name),
            user.given_name,
            user.surname,
            user.email,
            user.enabled,
            user.password_hash,
            ts(user.created),
            user.contact_given_name,
            user.contact_surname,
        ],
    )
    .map_err(storage)?;
    write_roles(tx, user)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: User, audit: Option<&AuditEvent>) -> Result<User> {
        let audit = audit.cloned();
        self.write("create_user", move |tx| {
            insert(tx, &user)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(user)
        })
        .await
    }

    async fn get_user(&self, tenant_id: Uuid, id: Uuid) -> Result<User> {
        self.read("get_user", move |c| load(c, tenant_id, id)).await
    }

    async fn find_user_by_name(&self, tenant_id: Uuid, user_name: &str) -> Result<Option<User>> {
        let key = User::name_key(user_name);
        self.read("find_user_by_name", move |c| {
            crate::sql::row(
                c,
                &format!("{SELECT} WHERE u.tenant_id = ?1 AND u.name_key = ?2"),
                [tenant_id.to_string(), key],
                user_row,
            )
            .optional()
            .map_err(storage)
        })
        .await
    }

    async fn list_users(&self, tenant_id: Uuid, query: &ListQuery) -> Result<Page<User>> {
        let query = query.clone();
        self.read("list_users", move |c| {
            tenant_exists(c, tenant_id)?;
            let mut filter = String::from("u.tenant_id = ?");
            let mut args = vec![tenant_id.to_string()];
            if !query.ids.is_empty() {
                filter.push_str(&format!(" AND u.id IN ({})", vec!["?"; query.ids.len()].join(",")));
                args.extend(query.ids.iter().map(Uuid::to_string));
            }
            let total: u64 = crate::sql::row(
                c,
                &format!("SELECT count(*) FROM users u WHERE {filter}"),
                params_from_iter(&args),
                |r| r.get(0),
            )
            .map_err(storage)?;
            let limit = i64::try_from(query.count).unwrap_or(i64::MAX);
            let offset = i64::try_from(query.skip).unwrap_or(i64::MAX);
            let mut st = c
                .prepare(&format!("{SELECT} WHERE {filter} ORDER BY u.rowid LIMIT {limit} OFFSET {offset}"))
                .map_err(storage)?;
            let items = st
                .query_map(params_from_iter(&args), user_row)
                .map_err(storage)?
                .collect::<rusqlite::Result<_>>()
                .map_err(storage)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn update_user(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: UserChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<User> {
        let audit = audit.cloned();
        self.write("update_user", move |tx| {
            let before = load(tx, tenant_id, id)?;
            let mut user = before.clone();
            user.apply(changes)?;
            if before.removes_administrator(Some(&user)) && !other_administrator(tx, tenant_id, id)? {
                return Err(before.last_administrator());
            }
            name_taken(tx, &user)?;
            crate::sql::exec(
                tx,
                "UPDATE users SET user_name = ?2, name_key = ?3, given_name = ?4, surname = ?5, email = ?6,
                    enabled = ?7, password_hash = ?8, contact_given_name = ?9, contact_surname = ?10 WHERE id = ?1",
                params![
                    user.id.to_string(),
                    user.user_name,
                    User::name_key(&user.user_name),
                    user.given_name,
                    user.surname,
                    user.email,
                    user.enabled,
                    user.password_hash,
                    user.contact_given_name,
                    user.contact_surname,
                ],
            )
            .map_err(storage)?;
            write_roles(tx, &user)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(user)
        })
        .await
    }

    async fn delete_user(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()> {
        let audit = audit.cloned();
        self.write("delete_user", move |tx| {
            let before = load(tx, tenant_id, id)?;
            if before.removes_administrator(None) && !other_administrator(tx, tenant_id, id)? {
                return Err(before.last_administrator());
            }
            crate::sql::exec(tx, "DELETE FROM users WHERE id = ?1", [id.to_string()]).map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(())
        })
        .await
    }
}
