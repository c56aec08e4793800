//! Sessions, codes and refresh tokens in PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{col, db, execute, query_one, query_opt, write_tx, PgStore};
use gatehouse_registry::error::Result;
use gatehouse_registry::grant::{
    refresh_step, AuthorizationCode, CodeUse, RefreshStep, RefreshToken, RefreshUse, SecretHashKey, Session, WithUser,
    REVOCATION_KEPT,
};
use gatehouse_registry::store::GrantStore;

/// A session's columns, in [`session_row`]'s order.
pub(crate) const SESSION_COLUMNS: &str = "SELECT handle, sid, tenant_id, user_id, auth_time, expires";

pub(crate) fn session_row(r: &Row) -> Result<Session> {
    Ok(Session {
        handle: SecretHashKey(col(r, 0)?),
        sid: col(r, 1)?,
        tenant_id: col(r, 2)?,
        user_id: col(r, 3)?,
        auth_time: col(r, 4)?,
        expires: col(r, 5)?,
    })
}

pub(crate) const REFRESH: &str = "SELECT handle, family, client_id, tenant_id, user_id, scope, sid, auth_time, created,
    absolute_expiry, expires, consumed, successor FROM refresh_tokens";

pub(crate) fn refresh_row(r: &Row) -> Result<RefreshToken> {
    Ok(RefreshToken {
        handle: SecretHashKey(col(r, 0)?),
        family: col(r, 1)?,
        client_id: col(r, 2)?,
        tenant_id: col(r, 3)?,
        user_id: col(r, 4)?,
        scope: col(r, 5)?,
        sid: col(r, 6)?,
        auth_time: col(r, 7)?,
        created: col(r, 8)?,
        absolute_expiry: col(r, 9)?,
        expires: col(r, 10)?,
        consumed: col(r, 11)?,
    })
}

/// A code's columns, in [`code_row`]'s order.
pub(crate) const CODE_COLUMNS: &str = "SELECT handle, client_id, tenant_id, user_id, redirect_uri, scope, nonce,
    code_challenge, sid, auth_time, expires, family";

pub(crate) fn code_row(r: &Row) -> Result<AuthorizationCode> {
    Ok(AuthorizationCode {
        handle: SecretHashKey(col(r, 0)?),
        client_id: col(r, 1)?,
        tenant_id: col(r, 2)?,
        user_id: col(r, 3)?,
        redirect_uri: col(r, 4)?,
        scope: col(r, 5)?,
        nonce: col(r, 6)?,
        code_challenge: col(r, 7)?,
        sid: col(r, 8)?,
        auth_time: col(r, 9)?,
        expires: col(r, 10)?,
        family: col(r, 11)?,
    })
}

pub(crate) async fn insert_refresh(c: &impl GenericClient, t: &RefreshToken) -> Result<()> {
    execute(
        c,
        "INSERT INTO refresh_tokens (handle, family, client_id, tenant_id, user_id, scope, sid, auth_time, created,
            absolute_expiry, expires, consumed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &t.handle.0,
            &t.family,
            &t.client_id,
            &t.tenant_id,
            &t.user_id,
            &t.scope,
            &t.sid,
            &t.auth_time,
            &t.created,
            &t.absolute_expiry,
            &t.expires,
            &t.consumed,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_code(c: &impl GenericClient, code: &AuthorizationCode) -> Result<()> {
    execute(
        c,
        "INSERT INTO authorization_codes (handle, client_id, tenant_id, user_id, redirect_uri, scope, nonce,
            code_challenge, sid, auth_time, expires, family) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &code.handle.0,
            &code.client_id,
            &code.tenant_id,
            &code.user_id,
            &code.redirect_uri,
            &code.scope,
            &code.nonce,
            &code.code_challenge,
            &code.sid,
            &code.auth_time,
            &code.expires,
            &code.family,
        ],
    )
    .await?;
    Ok(())
}

/// `record` with its user as stored now, read in the caller's transaction.
async fn with_user<T>(c: &impl GenericClient, tenant_id: Uuid, user_id: Uuid, record: T) -> Result<WithUser<T>> {
    Ok(WithUser { record, user: crate::users::find(c, tenant_id, user_id).await? })
}

/// Revokes `family` at `now` (a later revocation of the same family moves the time on).
async fn revoke(c: &impl GenericClient, family: Uuid, now: OffsetDateTime) -> Result<()> {
    execute(
        c,
        "INSERT INTO revoked_families (family, revoked_at) VALUES ($1, $2)
         ON CONFLICT (family) DO UPDATE SET revoked_at = greatest(revoked_families.revoked_at, excluded.revoked_at)",
        &[&family, &now],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl GrantStore for PgStore {
    async fn create_session(&self, s: Session) -> Result<()> {
        let conn = self.conn().await?;
        execute(
            &conn,
            "INSERT INTO sessions (handle, sid, tenant_id, user_id, auth_time, expires) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&s.handle.0, &s.sid, &s.tenant_id, &s.user_id, &s.auth_time, &s.expires],
        )
        .await?;
        Ok(())
    }

    async fn find_session(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<Option<WithUser<Session>>> {
        let conn = self.conn().await?;
        // One statement: the session and its user (NULLs when the user is gone).
        let row = query_opt(
            &conn,
            &format!(
                "SELECT s.handle, s.sid, s.tenant_id, s.user_id, s.auth_time, s.expires, {}
                 FROM sessions s LEFT JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
                 WHERE s.handle = $1 AND s.expires > $2",
                crate::users::COLUMNS
            ),
            &[&handle.0, &now],
        )
        .await?;
        let Some(r) = row else { return Ok(None) };
        let user = match col::<Option<Uuid>>(&r, 7)? {
            Some(_) => Some(crate::users::user_at(&r, 6)?),
            None => None,
        };
        Ok(Some(WithUser { record: session_row(&r)?, user }))
    }

    async fn delete_session(&self, handle: &SecretHashKey) -> Result<()> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM sessions WHERE handle = $1", &[&handle.0]).await?;
        Ok(())
    }

    async fn save_code(&self, code: AuthorizationCode) -> Result<()> {
        let conn = self.conn().await?;
        insert_code(&conn, &code).await
    }

    async fn use_code(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<CodeUse> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        // FOR UPDATE: a second presentation waits here for the first one's commit, then
        // reads the row as it committed it (used), so only one use is Fresh.
        let row = query_opt(
            &tx,
            "SELECT handle, client_id, tenant_id, user_id, redirect_uri, scope, nonce, code_challenge, sid,
                auth_time, expires, family, used FROM authorization_codes WHERE handle = $1 FOR UPDATE",
            &[&handle.0],
        )
        .await?;
        let found = row.map(|r| Ok::<_, gatehouse_registry::RegistryError>((code_row(&r)?, col::<bool>(&r, 12)?)));
        let outcome = match found.transpose()? {
            Some((code, true)) => CodeUse::Replayed(code.into()),
            Some((code, false)) if now < code.expires => {
                execute(&tx, "UPDATE authorization_codes SET used = true WHERE handle = $1", &[&handle.0]).await?;
                CodeUse::Fresh(with_user(&tx, code.tenant_id, code.user_id, code).await?.into())
            }
            _ => CodeUse::Unknown,
        };
        tx.commit().await.map_err(db)?;
        Ok(outcome)
    }

    async fn save_refresh(&self, token: RefreshToken) -> Result<()> {
        let conn = self.conn().await?;
        insert_refresh(&conn, &token).await
    }

    async fn use_refresh(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        successor: SecretHashKey,
        now: OffsetDateTime,
        sliding: time::Duration,
        grace: time::Duration,
    ) -> Result<RefreshUse> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        // FOR UPDATE: concurrent presentations of one token take turns, and each later one
        // reads it as consumed by the one before.
        let row = query_opt(&tx, &format!("{REFRESH} WHERE handle = $1 FOR UPDATE"), &[&handle.0]).await?;
        let token = row.as_ref().map(refresh_row).transpose()?;
        let next_handle: Option<Vec<u8>> = row.as_ref().map(|r| col(r, 12)).transpose()?.flatten();
        // FOR SHARE: a retry does not answer a successor that is being consumed right now.
        let next = match next_handle {
            Some(h) => query_opt(&tx, &format!("{REFRESH} WHERE handle = $1 FOR SHARE"), &[&h])
                .await?
                .as_ref()
                .map(refresh_row)
                .transpose()?,
            None => None,
        };
        let is_revoked = match &token {
            Some(t) => col(
                &query_one(&tx, "SELECT EXISTS (SELECT 1 FROM revoked_families WHERE family = $1)", &[&t.family])
                    .await?,
                0,
            )?,
            None => false,
        };
        let outcome = match (refresh_step(client_id, token.as_ref(), next.as_ref(), is_revoked, now, grace), token) {
            (RefreshStep::Rotate, Some(mut token)) => {
                insert_refresh(&tx, &token.successor(successor.clone(), now, sliding)).await?;
                execute(
                    &tx,
                    "UPDATE refresh_tokens SET consumed = $2, successor = $3 WHERE handle = $1",
                    &[&handle.0, &now, &successor.0],
                )
                .await?;
                token.consumed = Some(now);
                RefreshUse::Rotated(with_user(&tx, token.tenant_id, token.user_id, token).await?.into())
            }
            (RefreshStep::Retry, Some(token)) => {
                RefreshUse::Retried(with_user(&tx, token.tenant_id, token.user_id, token).await?.into())
            }
            (RefreshStep::Reuse, Some(token)) => {
                revoke(&tx, token.family, now).await?;
                RefreshUse::Reused
            }
            _ => RefreshUse::Invalid,
        };
        tx.commit().await.map_err(db)?;
        Ok(outcome)
    }

    async fn find_refresh(&self, handle: &SecretHashKey) -> Result<Option<RefreshToken>> {
        let conn = self.conn().await?;
        query_opt(&conn, &format!("{REFRESH} WHERE handle = $1"), &[&handle.0])
            .await?
            .as_ref()
            .map(refresh_row)
            .transpose()
    }

    async fn revoke_family(&self, family: Uuid, now: OffsetDateTime) -> Result<()> {
        let conn = self.conn().await?;
        revoke(&conn, family, now).await
    }

    async fn family_revoked(&self, family: Uuid) -> Result<bool> {
        let conn = self.conn().await?;
        col(&query_one(&conn, "SELECT EXISTS (SELECT 1 FROM revoked_families WHERE family = $1)", &[&family]).await?, 0)
    }

    async fn revoke_user_grants(&self, tenant_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        execute(&tx, "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2", &[&tenant_id, &user_id]).await?;
        execute(
            &tx,
            "INSERT INTO revoked_families (family, revoked_at)
                SELECT family, $3::timestamptz FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2
                UNION SELECT family, $3::timestamptz FROM authorization_codes WHERE tenant_id = $1 AND user_id = $2
             ON CONFLICT (family) DO UPDATE
                SET revoked_at = greatest(revoked_families.revoked_at, excluded.revoked_at)",
            &[&tenant_id, &user_id, &now],
        )
        .await?;
        tx.commit().await.map_err(db)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        let mut gone = 0;
        for sql in [
            "DELETE FROM sessions WHERE expires <= $1",
            "DELETE FROM authorization_codes WHERE expires <= $1",
            "DELETE FROM refresh_tokens WHERE absolute_expiry <= $1",
        ] {
            gone += execute(&tx, sql, &[&now]).await?;
        }
        gone += execute(
            &tx,
            "DELETE FROM revoked_families f WHERE f.revoked_at <= $1
                AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family = f.family)
                AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family = f.family)",
            &[&(now - REVOCATION_KEPT)],
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(gone)
    }
}
