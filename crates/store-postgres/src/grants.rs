//! Sessions, codes and refresh tokens in PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::audit::EventParams;
use crate::{col, db, execute, query_one, query_opt, write_tx, PgStore};
use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::error::Result;
use gatehouse_registry::grant::{
    refresh_step, AuthorizationCode, CodeUse, RefreshStep, RefreshToken, RefreshUse, SecretHashKey, Session, WithUser,
    REVOCATION_KEPT,
};
use gatehouse_registry::store::GrantStore;
use gatehouse_registry::User;

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
    refresh_at(r, 0)
}

/// The refresh token whose columns (in [`REFRESH`]'s order) start at column `at` of `r`.
fn refresh_at(r: &Row, at: usize) -> Result<RefreshToken> {
    Ok(RefreshToken {
        handle: SecretHashKey(col(r, at)?),
        family: col(r, at + 1)?,
        client_id: col(r, at + 2)?,
        tenant_id: col(r, at + 3)?,
        user_id: col(r, at + 4)?,
        scope: col(r, at + 5)?,
        sid: col(r, at + 6)?,
        auth_time: col(r, at + 7)?,
        created: col(r, at + 8)?,
        absolute_expiry: col(r, at + 9)?,
        expires: col(r, at + 10)?,
        consumed: col(r, at + 11)?,
    })
}

/// The user whose columns start at `at`, if the row has one (a LEFT JOIN's NULLs: none).
fn user_from(r: &Row, at: usize) -> Result<Option<User>> {
    match col::<Option<Uuid>>(r, at + 1)? {
        Some(_) => Ok(Some(crate::users::user_at(r, at)?)),
        None => Ok(None),
    }
}

/// Consumes `handle` at `now` and stores `next`, its successor, in one statement, only if
/// `handle` was still unconsumed: `false` when another request consumed it first.
async fn rotate(
    c: &impl GenericClient,
    handle: &SecretHashKey,
    next: &RefreshToken,
    now: OffsetDateTime,
) -> Result<bool> {
    let stored = execute(
        c,
        "WITH consumed AS (
            UPDATE refresh_tokens SET consumed = $13, successor = $1 WHERE handle = $14 AND consumed IS NULL
            RETURNING handle
         )
         INSERT INTO refresh_tokens (handle, family, client_id, tenant_id, user_id, scope, sid, auth_time, created,
            absolute_expiry, expires, consumed)
         SELECT $1::bytea, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6::text, $7::text, $8::timestamptz,
            $9::timestamptz, $10::timestamptz, $11::timestamptz, $12::timestamptz FROM consumed",
        &[
            &next.handle.0,
            &next.family,
            &next.client_id,
            &next.tenant_id,
            &next.user_id,
            &next.scope,
            &next.sid,
            &next.auth_time,
            &next.created,
            &next.absolute_expiry,
            &next.expires,
            &next.consumed,
            &now,
            &handle.0,
        ],
    )
    .await?;
    Ok(stored == 1)
}

/// [`refresh_step`]'s `Rotate` in one statement: consumes `handle` at `now` if it is
/// `client_id`'s, unconsumed, live at `now`, and its family is not revoked, and stores its
/// successor ([`RefreshToken::successor`]: `created` now, `expires` the sooner of
/// `now + sliding` and the family's end). `None` when the token is not in that state: the
/// caller then reads it and decides. Of two at once, the second waits for the first's
/// commit, finds the token consumed, and rotates nothing.
async fn rotate_at_once(
    c: &impl GenericClient,
    client_id: Uuid,
    handle: &SecretHashKey,
    successor: &SecretHashKey,
    now: OffsetDateTime,
    sliding: time::Duration,
) -> Result<Option<WithUser<RefreshToken>>> {
    let row = query_opt(
        c,
        &format!(
            "WITH consumed AS (
                UPDATE refresh_tokens r SET consumed = $3, successor = $2
                WHERE r.handle = $1 AND r.client_id = $4 AND r.consumed IS NULL
                    AND $3 < r.expires AND $3 < r.absolute_expiry
                    AND NOT EXISTS (SELECT 1 FROM revoked_families f WHERE f.family = r.family)
                RETURNING r.handle, r.family, r.client_id, r.tenant_id, r.user_id, r.scope, r.sid, r.auth_time,
                    r.created, r.absolute_expiry, r.expires, r.consumed
             ), stored AS (
                INSERT INTO refresh_tokens (handle, family, client_id, tenant_id, user_id, scope, sid, auth_time,
                    created, absolute_expiry, expires, consumed)
                SELECT $2, family, client_id, tenant_id, user_id, scope, sid, auth_time, $3, absolute_expiry,
                    LEAST($5::timestamptz, absolute_expiry), NULL FROM consumed
             )
             SELECT r.handle, r.family, r.client_id, r.tenant_id, r.user_id, r.scope, r.sid, r.auth_time,
                r.created, r.absolute_expiry, r.expires, r.consumed, {}
             FROM consumed r LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id",
            crate::users::COLUMNS
        ),
        &[&handle.0, &successor.0, &now, &client_id, &(now + sliding)],
    )
    .await?;
    row.map(|r| Ok(WithUser { record: refresh_at(&r, 0)?, user: user_from(&r, 12)? })).transpose()
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

/// Revokes `family` at `now` (a later revocation of the same family moves the time on), with
/// its audit event in the same statement.
async fn revoke(c: &impl GenericClient, family: Uuid, now: OffsetDateTime, audit: Option<&AuditEvent>) -> Result<()> {
    const REVOKE: &str = "INSERT INTO revoked_families (family, revoked_at) VALUES ($1, $2)
         ON CONFLICT (family) DO UPDATE SET revoked_at = greatest(revoked_families.revoked_at, excluded.revoked_at)";
    let revocation: [&(dyn ToSql + Sync); 2] = [&family, &now];
    match audit.map(EventParams::of) {
        None => execute(c, REVOKE, &revocation).await?,
        Some(event) => {
            let sql = format!("WITH r AS ({REVOKE} RETURNING 1) {} FROM r", crate::audit::insert_select(3));
            let all: Vec<&(dyn ToSql + Sync)> = revocation.into_iter().chain(event.refs()).collect();
            execute(c, &sql, &all).await?
        }
    };
    Ok(())
}

#[async_trait]
impl GrantStore for PgStore {
    async fn create_session(&self, s: Session, audit: Option<&AuditEvent>) -> Result<()> {
        let conn = self.conn().await?;
        const INSERT: &str =
            "INSERT INTO sessions (handle, sid, tenant_id, user_id, auth_time, expires) VALUES ($1, $2, $3, $4, $5, $6)";
        let session: [&(dyn ToSql + Sync); 6] =
            [&s.handle.0, &s.sid, &s.tenant_id, &s.user_id, &s.auth_time, &s.expires];
        match audit.map(EventParams::of) {
            None => execute(&conn, INSERT, &session).await?,
            // One statement: the sign-in's session and its event.
            Some(event) => {
                let sql = format!("WITH s AS ({INSERT} RETURNING 1) {} FROM s", crate::audit::insert_select(7));
                let all: Vec<&(dyn ToSql + Sync)> = session.into_iter().chain(event.refs()).collect();
                execute(&conn, &sql, &all).await?
            }
        };
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

    async fn delete_session(&self, handle: &SecretHashKey, audit: Option<&AuditEvent>) -> Result<()> {
        let conn = self.conn().await?;
        const DELETE: &str = "DELETE FROM sessions WHERE handle = $1";
        match audit.map(EventParams::of) {
            None => execute(&conn, DELETE, &[&handle.0]).await?,
            // One statement: the event goes in only if a session was ended.
            Some(event) => {
                let sql = format!("WITH s AS ({DELETE} RETURNING 1) {} FROM s", crate::audit::insert_select(2));
                let all: Vec<&(dyn ToSql + Sync)> =
                    [&handle.0 as &(dyn ToSql + Sync)].into_iter().chain(event.refs()).collect();
                execute(&conn, &sql, &all).await?
            }
        };
        Ok(())
    }

    async fn save_code(&self, code: AuthorizationCode) -> Result<()> {
        let conn = self.conn().await?;
        insert_code(&conn, &code).await
    }

    async fn use_code(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<CodeUse> {
        let conn = self.conn().await?;
        // One statement (issue 10: a round trip is most of a statement's cost here). The
        // UPDATE spends the code only while it is unused and live; of two at once, the second
        // waits for the first's commit, finds it used and spends nothing. The SELECT sees the
        // row as it was before the statement, with its user.
        let row = query_opt(
            &conn,
            &format!(
                "WITH spent AS (
                    UPDATE authorization_codes SET used = true
                    WHERE handle = $1 AND NOT used AND expires > $2 RETURNING handle
                 )
                 SELECT c.handle, c.client_id, c.tenant_id, c.user_id, c.redirect_uri, c.scope, c.nonce,
                    c.code_challenge, c.sid, c.auth_time, c.expires, c.family, c.used,
                    EXISTS (SELECT 1 FROM spent), {}
                 FROM authorization_codes c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id
                 WHERE c.handle = $1",
                crate::users::COLUMNS
            ),
            &[&handle.0, &now],
        )
        .await?;
        let Some(r) = row else { return Ok(CodeUse::Unknown) };
        let (code, used, spent_now) = (code_row(&r)?, col::<bool>(&r, 12)?, col::<bool>(&r, 13)?);
        Ok(if spent_now {
            let user = user_from(&r, 14)?;
            CodeUse::Fresh(WithUser { record: code, user }.into())
        } else if used || now < code.expires {
            // Used before, or spent by another request at this very moment.
            CodeUse::Replayed(code.into())
        } else {
            CodeUse::Unknown
        })
    }

    async fn save_refresh(&self, token: RefreshToken) -> Result<()> {
        let conn = self.conn().await?;
        insert_refresh(&conn, &token).await
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
        let conn = self.conn().await?;
        // The usual case first, in one statement (issue 10): a live, unconsumed token of this
        // client whose family stands is consumed and its successor stored, with its user.
        if let Some(rotated) = rotate_at_once(&conn, client_id, handle, &successor, now, sliding).await? {
            return Ok(RefreshUse::Rotated(rotated.into()));
        }
        // Anything else (a retry, a reuse, an unknown, expired or revoked token, or a rotation
        // that lost a race) in two statements, no transaction around them: a read of the
        // token, its successor, its family's revocation and its user; then, to rotate, one
        // statement that consumes the token only if it is still unconsumed and stores the
        // successor only if it did (compare and set). A rotation that loses the race to a
        // concurrent one reads again and becomes a retry or a reuse, as if it had come second.
        loop {
            let row = query_opt(
                &conn,
                &format!(
                    "SELECT r.handle, r.family, r.client_id, r.tenant_id, r.user_id, r.scope, r.sid, r.auth_time,
                        r.created, r.absolute_expiry, r.expires, r.consumed,
                        n.handle, n.family, n.client_id, n.tenant_id, n.user_id, n.scope, n.sid, n.auth_time,
                        n.created, n.absolute_expiry, n.expires, n.consumed,
                        EXISTS (SELECT 1 FROM revoked_families f WHERE f.family = r.family), {}
                     FROM refresh_tokens r
                     LEFT JOIN refresh_tokens n ON n.handle = r.successor
                     LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
                     WHERE r.handle = $1",
                    crate::users::COLUMNS
                ),
                &[&handle.0],
            )
            .await?;
            let Some(r) = row else { return Ok(RefreshUse::Invalid) };
            let token = refresh_at(&r, 0)?;
            let next = match col::<Option<Vec<u8>>>(&r, 12)? {
                Some(_) => Some(refresh_at(&r, 12)?),
                None => None,
            };
            let is_revoked: bool = col(&r, 24)?;
            match refresh_step(client_id, Some(&token), next.as_ref(), is_revoked, now, grace) {
                RefreshStep::Rotate => {
                    let new = token.successor(successor.clone(), now, sliding);
                    if !rotate(&conn, &token.handle, &new, now).await? {
                        continue;
                    }
                    let user = user_from(&r, 25)?;
                    return Ok(RefreshUse::Rotated(
                        WithUser { record: RefreshToken { consumed: Some(now), ..token }, user }.into(),
                    ));
                }
                RefreshStep::Retry => {
                    let user = user_from(&r, 25)?;
                    return Ok(RefreshUse::Retried(WithUser { record: token, user }.into()));
                }
                RefreshStep::Reuse => {
                    let event = reuse.map(|e| e.on_family(token.family));
                    revoke(&conn, token.family, now, event.as_ref()).await?;
                    return Ok(RefreshUse::Reused);
                }
                RefreshStep::Invalid => return Ok(RefreshUse::Invalid),
            }
        }
    }

    async fn find_refresh(&self, handle: &SecretHashKey) -> Result<Option<RefreshToken>> {
        let conn = self.conn().await?;
        query_opt(&conn, &format!("{REFRESH} WHERE handle = $1"), &[&handle.0])
            .await?
            .as_ref()
            .map(refresh_row)
            .transpose()
    }

    async fn revoke_family(&self, family: Uuid, now: OffsetDateTime, audit: Option<&AuditEvent>) -> Result<()> {
        let conn = self.conn().await?;
        revoke(&conn, family, now, audit).await
    }

    async fn family_revoked(&self, family: Uuid) -> Result<bool> {
        let conn = self.conn().await?;
        col(&query_one(&conn, "SELECT EXISTS (SELECT 1 FROM revoked_families WHERE family = $1)", &[&family]).await?, 0)
    }

    async fn revoke_user_grants(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        execute(&tx, "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2", &[&tenant_id, &user_id]).await?;
        execute(
            &tx,
            "INSERT INTO revoked_families (family, revoked_at)
                SELECT family, $3::timestamptz FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2
                UNION SELECT family, $3::timestamptz FROM authorization_codes WHERE tenant_id = $1 AND user_id = $2
                UNION SELECT family, $3::timestamptz FROM device_codes
                    WHERE tenant_id = $1 AND user_id = $2 AND family IS NOT NULL
             ON CONFLICT (family) DO UPDATE
                SET revoked_at = greatest(revoked_families.revoked_at, excluded.revoked_at)",
            &[&tenant_id, &user_id, &now],
        )
        .await?;
        crate::audit::insert(&tx, audit).await?;
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
