//! Device codes (RFC 8628) in SQLite. Each method is one `BEGIN IMMEDIATE` transaction, so
//! a poll's read and write cannot interleave with another's: one redemption per approval.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{from_ts, storage, ts, uuid_col, SqliteStore};
use gatehouse_registry::device::{
    decided, device_step, status_from, status_parts, Approval, DeviceCode, DeviceDecision, DevicePoll, DeviceStep,
};
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::grant::SecretHashKey;
use gatehouse_registry::store::DeviceCodeStore;

/// A device code's columns, in [`device_row`]'s order.
pub(crate) const DEVICE_COLUMNS: &str = "SELECT handle, user_code, client_id, tenant_id, scope, expires,
    poll_interval, last_poll, status, user_id, sid, auth_time, family FROM device_codes";

pub(crate) fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceCode> {
    let name: String = r.get(8)?;
    let approval = match (r.get::<_, Option<String>>(9)?, r.get(10)?, r.get::<_, Option<i64>>(11)?, r.get(12)?) {
        (Some(user), Some(sid), Some(auth_time), Some(family)) => {
            Some(Approval { user_id: uuid_col(user)?, sid, auth_time: from_ts(auth_time)?, family: uuid_col(family)? })
        }
        _ => None,
    };
    let status = status_from(&name, approval).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, format!("bad status {name}").into())
    })?;
    Ok(DeviceCode {
        handle: SecretHashKey(r.get(0)?),
        user_code: SecretHashKey(r.get(1)?),
        client_id: uuid_col(r.get(2)?)?,
        tenant_id: uuid_col(r.get(3)?)?,
        scope: r.get(4)?,
        expires: from_ts(r.get(5)?)?,
        interval: r.get(6)?,
        last_poll: r.get::<_, Option<i64>>(7)?.map(from_ts).transpose()?,
        status,
    })
}

/// Inserts a record as it is; `Conflict` when its handle or user code is taken.
pub(crate) fn insert(tx: &Connection, d: &DeviceCode) -> Result<()> {
    let taken: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM device_codes WHERE handle = ?1 OR user_code = ?2)",
            params![d.handle.0, d.user_code.0],
            |r| r.get(0),
        )
        .map_err(storage)?;
    if taken {
        return Err(RegistryError::Conflict("the device code or user code is taken".into()));
    }
    let (status, approval) = status_parts(&d.status);
    tx.execute(
        "INSERT INTO device_codes (handle, user_code, client_id, tenant_id, scope, expires, poll_interval,
            last_poll, status, user_id, sid, auth_time, family)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            d.handle.0,
            d.user_code.0,
            d.client_id.to_string(),
            d.tenant_id.to_string(),
            d.scope,
            ts(d.expires),
            d.interval,
            d.last_poll.map(ts),
            status,
            approval.map(|a| a.user_id.to_string()),
            approval.map(|a| a.sid.clone()),
            approval.map(|a| ts(a.auth_time)),
            approval.map(|a| a.family.to_string()),
        ],
    )
    .map_err(storage)?;
    Ok(())
}

/// Writes back a record's changing parts: its poll state and its status.
fn rewrite(tx: &Connection, d: &DeviceCode) -> Result<()> {
    let (status, approval) = status_parts(&d.status);
    tx.execute(
        "UPDATE device_codes SET poll_interval = ?2, last_poll = ?3, status = ?4, user_id = ?5, sid = ?6,
            auth_time = ?7, family = ?8 WHERE handle = ?1",
        params![
            d.handle.0,
            d.interval,
            d.last_poll.map(ts),
            status,
            approval.map(|a| a.user_id.to_string()),
            approval.map(|a| a.sid.clone()),
            approval.map(|a| ts(a.auth_time)),
            approval.map(|a| a.family.to_string()),
        ],
    )
    .map_err(storage)?;
    Ok(())
}

fn by_user_code(c: &Connection, user_code: &SecretHashKey) -> Result<Option<DeviceCode>> {
    c.query_row(&format!("{DEVICE_COLUMNS} WHERE user_code = ?1"), [&user_code.0], device_row)
        .optional()
        .map_err(storage)
}

#[async_trait]
impl DeviceCodeStore for SqliteStore {
    async fn save_device_code(&self, code: DeviceCode) -> Result<()> {
        self.write("save_device_code", move |tx| insert(tx, &code)).await
    }

    async fn find_user_code(&self, user_code: &SecretHashKey, now: OffsetDateTime) -> Result<Option<DeviceCode>> {
        let user_code = user_code.clone();
        let found = self.read("find_user_code", move |c| by_user_code(c, &user_code)).await?;
        Ok(found.filter(|d| d.status == gatehouse_registry::device::DeviceStatus::Pending && d.is_live(now)))
    }

    async fn decide_device_code(
        &self,
        user_code: &SecretHashKey,
        decision: DeviceDecision,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceCode>> {
        let user_code = user_code.clone();
        self.write("decide_device_code", move |tx| {
            let Some(next) = by_user_code(tx, &user_code)?.and_then(|d| decided(&d, decision, now)) else {
                return Ok(None);
            };
            rewrite(tx, &next)?;
            Ok(Some(next))
        })
        .await
    }

    async fn poll_device_code(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        now: OffsetDateTime,
    ) -> Result<DevicePoll> {
        let handle = handle.clone();
        self.write("poll_device_code", move |tx| {
            let found = tx
                .query_row(&format!("{DEVICE_COLUMNS} WHERE handle = ?1"), [&handle.0], device_row)
                .optional()
                .map_err(storage)?;
            Ok(match device_step(client_id, found.as_ref(), now) {
                DeviceStep::Answer(poll) => poll,
                DeviceStep::Write(poll, record) => {
                    rewrite(tx, &record)?;
                    poll
                }
            })
        })
        .await
    }

    async fn purge_device_codes(&self, before: OffsetDateTime) -> Result<u64> {
        self.write("purge_device_codes", move |tx| {
            let n = tx.execute("DELETE FROM device_codes WHERE expires <= ?1", [ts(before)]).map_err(storage)?;
            Ok(n as u64)
        })
        .await
    }
}
