//! Device codes (RFC 8628) in PostgreSQL. A poll or a decision locks its row (`FOR UPDATE`):
//! a second one waits for the first one's commit and then reads what it wrote, so an
//! approval is redeemed once, on any number of instances.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{col, db, execute, insert as insert_row, query_opt, storage, to_i32, to_u32, write_tx, PgStore};
use gatehouse_registry::device::{
    decided, device_step, status_from, status_parts, Approval, DeviceCode, DeviceDecision, DevicePoll, DeviceStatus,
    DeviceStep,
};
use gatehouse_registry::error::Result;
use gatehouse_registry::grant::SecretHashKey;
use gatehouse_registry::store::DeviceCodeStore;

/// A device code's columns, in [`device_row`]'s order.
pub(crate) const DEVICE_COLUMNS: &str = "SELECT handle, user_code, client_id, tenant_id, scope, expires,
    poll_interval, last_poll, status, user_id, sid, auth_time, family FROM device_codes";

pub(crate) fn device_row(r: &Row) -> Result<DeviceCode> {
    let name: String = col(r, 8)?;
    let approval = match (col(r, 9)?, col(r, 10)?, col(r, 11)?, col(r, 12)?) {
        (Some(user_id), Some(sid), Some(auth_time), Some(family)) => Some(Approval { user_id, sid, auth_time, family }),
        _ => None,
    };
    Ok(DeviceCode {
        handle: SecretHashKey(col(r, 0)?),
        user_code: SecretHashKey(col(r, 1)?),
        client_id: col(r, 2)?,
        tenant_id: col(r, 3)?,
        scope: col(r, 4)?,
        expires: col(r, 5)?,
        interval: to_u32(col(r, 6)?)?,
        last_poll: col(r, 7)?,
        status: status_from(&name, approval).ok_or_else(|| storage(format!("bad device code status {name}")))?,
    })
}

/// Inserts a record as it is; `Conflict` when its handle or user code is taken.
pub(crate) async fn insert(c: &impl GenericClient, d: &DeviceCode) -> Result<()> {
    let (status, approval) = status_parts(&d.status);
    insert_row(
        c,
        "INSERT INTO device_codes (handle, user_code, client_id, tenant_id, scope, expires, poll_interval,
            last_poll, status, user_id, sid, auth_time, family)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &d.handle.0,
            &d.user_code.0,
            &d.client_id,
            &d.tenant_id,
            &d.scope,
            &d.expires,
            &to_i32(d.interval)?,
            &d.last_poll,
            &status,
            &approval.map(|a| a.user_id),
            &approval.map(|a| a.sid.as_str()),
            &approval.map(|a| a.auth_time),
            &approval.map(|a| a.family),
        ],
        || "the device code or user code is taken".into(),
    )
    .await?;
    Ok(())
}

/// Writes back a record's changing parts: its poll state and its status.
async fn rewrite(c: &impl GenericClient, d: &DeviceCode) -> Result<()> {
    let (status, approval) = status_parts(&d.status);
    execute(
        c,
        "UPDATE device_codes SET poll_interval = $2, last_poll = $3, status = $4, user_id = $5, sid = $6,
            auth_time = $7, family = $8 WHERE handle = $1",
        &[
            &d.handle.0,
            &to_i32(d.interval)?,
            &d.last_poll,
            &status,
            &approval.map(|a| a.user_id),
            &approval.map(|a| a.sid.as_str()),
            &approval.map(|a| a.auth_time),
            &approval.map(|a| a.family),
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl DeviceCodeStore for PgStore {
    async fn save_device_code(&self, code: DeviceCode) -> Result<()> {
        let conn = self.conn().await?;
        insert(&conn, &code).await
    }

    async fn find_user_code(&self, user_code: &SecretHashKey, now: OffsetDateTime) -> Result<Option<DeviceCode>> {
        let conn = self.conn().await?;
        let row = query_opt(&conn, &format!("{DEVICE_COLUMNS} WHERE user_code = $1"), &[&user_code.0]).await?;
        let found = row.map(|r| device_row(&r)).transpose()?;
        Ok(found.filter(|d| d.status == DeviceStatus::Pending && d.is_live(now)))
    }

    async fn decide_device_code(
        &self,
        user_code: &SecretHashKey,
        decision: DeviceDecision,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceCode>> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        let row = query_opt(&tx, &format!("{DEVICE_COLUMNS} WHERE user_code = $1 FOR UPDATE"), &[&user_code.0]).await?;
        let next = row.map(|r| device_row(&r)).transpose()?.and_then(|d| decided(&d, decision, now));
        if let Some(next) = &next {
            rewrite(&tx, next).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(next)
    }

    async fn poll_device_code(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        now: OffsetDateTime,
    ) -> Result<DevicePoll> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        let row = query_opt(&tx, &format!("{DEVICE_COLUMNS} WHERE handle = $1 FOR UPDATE"), &[&handle.0]).await?;
        let found = row.map(|r| device_row(&r)).transpose()?;
        let poll = match device_step(client_id, found.as_ref(), now) {
            DeviceStep::Answer(poll) => poll,
            DeviceStep::Write(poll, record) => {
                rewrite(&tx, &record).await?;
                poll
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(poll)
    }

    async fn purge_device_codes(&self, before: OffsetDateTime) -> Result<u64> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM device_codes WHERE expires <= $1", &[&before]).await
    }
}
