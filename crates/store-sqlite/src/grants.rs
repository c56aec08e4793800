//! Sessions, codes and refresh tokens in SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{from_ts, storage, ts, uuid_col, SqliteStore};
use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::error::Result;
use gatehouse_registry::grant::{
    refresh_step, AuthorizationCode, CodeUse, RefreshStep, RefreshToken, RefreshUse, SecretHashKey, Session, WithUser,
    REVOCATION_KEPT,
};
use gatehouse_registry::store::GrantStore;

/// A refresh token's columns, in [`refresh_row`]'s order.
pub(crate) const REFRESH_COLUMNS: &str = "SELECT handle, family, client_id, tenant_id, user_id, scope, sid, auth_time,
    created, absolute_expiry, expires, consumed";

pub(crate) fn refresh_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RefreshToken> {
    Ok(RefreshToken {
        handle: SecretHashKey(r.get(0)?),
        family: uuid_col(r.get(1)?)?,
        client_id: uuid_col(r.get(2)?)?,
        tenant_id: uuid_col(r.get(3)?)?,
        user_id: uuid_col(r.get(4)?)?,
        scope: r.get(5)?,
        sid: r.get(6)?,
        auth_time: from_ts(r.get(7)?)?,
        created: from_ts(r.get(8)?)?,
        absolute_expiry: from_ts(r.get(9)?)?,
        expires: from_ts(r.get(10)?)?,
        consumed: r.get::<_, Option<i64>>(11)?.map(from_ts).transpose()?,
    })
}

/// A session's columns, in [`session_row`]'s order.
pub(crate) const SESSION_COLUMNS: &str = "SELECT handle, sid, tenant_id, user_id, auth_time, expires";

pub(crate) fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        handle: SecretHashKey(r.get(0)?),
        sid: r.get(1)?,
        tenant_id: uuid_col(r.get(2)?)?,
        user_id: uuid_col(r.get(3)?)?,
        auth_time: from_ts(r.get(4)?)?,
        expires: from_ts(r.get(5)?)?,
    })
}

/// A code's columns and whether it was used, in [`code_row`]'s order.
pub(crate) const CODE_COLUMNS: &str = "SELECT handle, client_id, tenant_id, user_id, redirect_uri, scope, nonce,
    code_challenge, sid, auth_time, expires, family, used";

pub(crate) fn code_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AuthorizationCode, bool)> {
    let code = AuthorizationCode {
        handle: SecretHashKey(r.get(0)?),
        client_id: uuid_col(r.get(1)?)?,
        tenant_id: uuid_col(r.get(2)?)?,
        user_id: uuid_col(r.get(3)?)?,
        redirect_uri: r.get(4)?,
        scope: r.get(5)?,
        nonce: r.get(6)?,
        code_challenge: r.get(7)?,
        sid: r.get(8)?,
        auth_time: from_ts(r.get(9)?)?,
        expires: from_ts(r.get(10)?)?,
        family: uuid_col(r.get(11)?)?,
    };
    Ok((code, r.get(12)?))
}

/// Stores a code, used or not (a snapshot keeps which).
pub(crate) fn insert_code(tx: &Connection, code: &AuthorizationCode, used: bool) -> Result<()> {
    crate::sql::exec(
        tx,
        "INSERT INTO authorization_codes (handle, client_id, tenant_id, user_id, redirect_uri, scope, nonce,
            code_challenge, sid, auth_time, expires, family, used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            code.handle.0,
            code.client_id.to_string(),
            code.tenant_id.to_string(),
            code.user_id.to_string(),
            code.redirect_uri,
            code.scope,
            code.nonce,
            code.code_challenge,
            code.sid,
            ts(code.auth_time),
            ts(code.expires),
            code.family.to_string(),
            used,
        ],
    )
    .map(drop)
    .map_err(storage)
}

fn load_refresh(c: &Connection, handle: &[u8]) -> Result<Option<RefreshToken>> {
    crate::sql::row(c, &format!("{REFRESH_COLUMNS} FROM refresh_tokens WHERE handle = ?1"), [handle], refresh_row)
        .optional()
        .map_err(storage)
}

pub(crate) fn insert_refresh(c: &Connection, t: &RefreshToken) -> Result<()> {
    crate::sql::exec(
        c,
        "INSERT INTO refresh_tokens (handle, family, client_id, tenant_id, user_id, scope, sid, auth_time, created,
            absolute_expiry, expires, consumed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            t.handle.0,
            t.family.to_string(),
            t.client_id.to_string(),
            t.tenant_id.to_string(),
            t.user_id.to_string(),
            t.scope,
            t.sid,
            ts(t.auth_time),
            ts(t.created),
            ts(t.absolute_expiry),
            ts(t.expires),
            t.consumed.map(ts),
        ],
    )
    .map_err(storage)?;
    Ok(())
}

/// `record` with its user as stored now, read in the caller's transaction.
fn with_user<T>(c: &Connection, tenant_id: Uuid, user_id: Uuid, record: T) -> Result<WithUser<T>> {
    Ok(WithUser { record, user: crate::users::find(c, tenant_id, user_id)? })
}

fn revoked(c: &Connection, family: Uuid) -> Result<bool> {
    crate::sql::row(c, "SELECT EXISTS (SELECT 1 FROM revoked_families WHERE family = ?1)", [family.to_string()], |r| {
        r.get(0)
    })
    .map_err(storage)
}

/// Revokes `family` at `now` (a later revocation of the same family moves the time on).
fn revoke(c: &Connection, family: Uuid, now: OffsetDateTime) -> Result<()> {
    crate::sql::exec(
        c,
        "INSERT INTO revoked_families (family, revoked_at) VALUES (?1, ?2)
         ON CONFLICT (family) DO UPDATE SET revoked_at = max(revoked_at, excluded.revoked_at)",
        params![family.to_string(), ts(now)],
    )
    .map_err(storage)?;
    Ok(())
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn create_session(&self, s: Session, audit: Option<&AuditEvent>) -> Result<()> {
        let audit = audit.cloned();
        self.write("create_session", move |tx| {
            crate::sql::exec(tx,
                "INSERT INTO sessions (handle, sid, tenant_id, user_id, auth_time, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![s.handle.0, s.sid, s.tenant_id.to_string(), s.user_id.to_string(), ts(s.auth_time), ts(s.expires)],
            )
            .map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(())
        })
        .await
    }

    async fn find_session(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<Option<WithUser<Session>>> {
        let handle = handle.clone();
        self.read("find_session", move |c| {
            let session = crate::sql::row(
                c,
                &format!("{SESSION_COLUMNS} FROM sessions WHERE handle = ?1 AND expires > ?2"),
                params![handle.0, ts(now)],
                session_row,
            )
            .optional()
            .map_err(storage)?;
            session.map(|s| with_user(c, s.tenant_id, s.user_id, s)).transpose()
        })
        .await
    }

    async fn delete_session(&self, handle: &SecretHashKey, audit: Option<&AuditEvent>) -> Result<()> {
        let (handle, audit) = (handle.clone(), audit.cloned());
        self.write("delete_session", move |tx| {
            let ended = crate::sql::exec(tx, "DELETE FROM sessions WHERE handle = ?1", [handle.0]).map_err(storage)?;
            if ended > 0 {
                crate::audit::insert(tx, audit.as_ref())?;
            }
            Ok(())
        })
        .await
    }

    async fn save_code(&self, code: AuthorizationCode) -> Result<()> {
        self.write("save_code", move |tx| insert_code(tx, &code, false)).await
    }

    async fn use_code(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<CodeUse> {
        let handle = handle.clone();
        self.write("use_code", move |tx| {
            let found = crate::sql::row(
                tx,
                &format!("{CODE_COLUMNS} FROM authorization_codes WHERE handle = ?1"),
                [&handle.0],
                code_row,
            )
            .optional()
            .map_err(storage)?;
            Ok(match found {
                Some((code, true)) => CodeUse::Replayed(code.into()),
                Some((code, false)) if now < code.expires => {
                    crate::sql::exec(tx, "UPDATE authorization_codes SET used = 1 WHERE handle = ?1", [&handle.0])
                        .map_err(storage)?;
                    CodeUse::Fresh(with_user(tx, code.tenant_id, code.user_id, code)?.into())
                }
                _ => CodeUse::Unknown,
            })
        })
        .await
    }

    async fn save_refresh(&self, token: RefreshToken) -> Result<()> {
        self.write("save_refresh", move |tx| insert_refresh(tx, &token)).await
    }

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
    ) -> Result<RefreshUse> {
        let (handle, reuse) = (handle.clone(), reuse.cloned());
        self.write("use_refresh", move |tx| {
            let token = load_refresh(tx, &handle.0)?;
            let next_handle: Option<Vec<u8>> =
                crate::sql::row(tx, "SELECT successor FROM refresh_tokens WHERE handle = ?1", [&handle.0], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(storage)?
                .flatten();
            let next = next_handle.map(|h| load_refresh(tx, &h)).transpose()?.flatten();
            let is_revoked = token.as_ref().map(|t| revoked(tx, t.family)).transpose()?.unwrap_or(false);
            Ok(match (refresh_step(client_id, token.as_ref(), next.as_ref(), is_revoked, now, grace), token) {
                (RefreshStep::Rotate, Some(mut token)) => {
                    insert_refresh(tx, &token.successor(successor.clone(), now, sliding))?;
                    crate::sql::exec(
                        tx,
                        "UPDATE refresh_tokens SET consumed = ?2, successor = ?3 WHERE handle = ?1",
                        params![handle.0, ts(now), successor.0],
                    )
                    .map_err(storage)?;
                    token.consumed = Some(now);
                    RefreshUse::Rotated(with_user(tx, token.tenant_id, token.user_id, token)?.into())
                }
                (RefreshStep::Retry, Some(token)) => {
                    RefreshUse::Retried(with_user(tx, token.tenant_id, token.user_id, token)?.into())
                }
                (RefreshStep::Reuse, Some(token)) => {
                    revoke(tx, token.family, now)?;
                    crate::audit::insert(tx, reuse.map(|e| e.on_family(token.family)).as_ref())?;
                    RefreshUse::Reused
                }
                _ => RefreshUse::Invalid,
            })
        })
        .await
    }

    async fn find_refresh(&self, handle: &SecretHashKey) -> Result<Option<RefreshToken>> {
        let handle = handle.clone();
        self.read("find_refresh", move |c| load_refresh(c, &handle.0)).await
    }

    async fn revoke_family(&self, family: Uuid, now: OffsetDateTime, audit: Option<&AuditEvent>) -> Result<()> {
        let audit = audit.cloned();
        self.write("revoke_family", move |tx| {
            revoke(tx, family, now)?;
            crate::audit::insert(tx, audit.as_ref())
        })
        .await
    }

    async fn family_revoked(&self, family: Uuid) -> Result<bool> {
        self.read("family_revoked", move |c| revoked(c, family)).await
    }

    async fn revoke_user_grants(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()> {
        let audit = audit.cloned();
        self.write("revoke_user_grants", move |tx| {
            let (t, u) = (tenant_id.to_string(), user_id.to_string());
            crate::sql::exec(tx, "DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2", [&t, &u])
                .map_err(storage)?;
            crate::sql::exec(
                tx,
                "INSERT INTO revoked_families (family, revoked_at)
                    SELECT family, ?3 FROM refresh_tokens WHERE tenant_id = ?1 AND user_id = ?2
                    UNION SELECT family, ?3 FROM authorization_codes WHERE tenant_id = ?1 AND user_id = ?2
                    UNION SELECT family, ?3 FROM device_codes
                        WHERE tenant_id = ?1 AND user_id = ?2 AND family IS NOT NULL
                 ON CONFLICT (family) DO UPDATE SET revoked_at = max(revoked_at, excluded.revoked_at)",
                params![t, u, ts(now)],
            )
            .map_err(storage)?;
            crate::audit::insert(tx, audit.as_ref())?;
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        self.write("purge_expired", move |tx| {
            let mut gone = 0;
            for sql in [
                "DELETE FROM sessions WHERE expires <= ?1",
                "DELETE FROM authorization_codes WHERE expires <= ?1",
                "DELETE FROM refresh_tokens WHERE absolute_expiry <= ?1",
            ] {
                gone += crate::sql::exec(tx, sql, [ts(now)]).map_err(storage)? as u64;
            }
            gone += crate::sql::exec(
                tx,
                "DELETE FROM revoked_families WHERE revoked_at <= ?1
                        AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family = revoked_families.family)
                        AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family = revoked_families.family)",
                [ts(now - REVOCATION_KEPT)],
            )
            .map_err(storage)? as u64;
            Ok(gone)
        })
        .await
    }
}
