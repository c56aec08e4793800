//! The sign-in throttle's counters in SQLite. Each call is one `BEGIN IMMEDIATE` write, so
//! concurrent attempts are counted one after another.

use async_trait::async_trait;
use gatehouse_registry::error::Result;
use gatehouse_registry::store::ThrottleStore;
use rusqlite::params;
use time::OffsetDateTime;

use crate::{storage, ts, SqliteStore};

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn count_attempt(&self, keys: &[String], now: OffsetDateTime, window: time::Duration) -> Result<Vec<u32>> {
        let keys = keys.to_vec();
        self.write("count_attempt", move |tx| {
            keys.iter()
                .map(|key| {
                    // A window that has passed starts again at this attempt.
                    crate::sql::row(
                        tx,
                        "INSERT INTO attempts (key, count, since) VALUES (?1, 1, ?2)
                         ON CONFLICT (key) DO UPDATE SET
                             count = CASE WHEN since <= ?3 THEN 1 ELSE count + 1 END,
                             since = CASE WHEN since <= ?3 THEN ?2 ELSE since END
                         RETURNING count",
                        params![key, ts(now), ts(now - window)],
                        |r| r.get(0),
                    )
                    .map_err(storage)
                })
                .collect()
        })
        .await
    }

    async fn clear_attempts(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.write("clear_attempts", move |tx| {
            crate::sql::exec(tx, "DELETE FROM attempts WHERE key = ?1", [key]).map(drop).map_err(storage)
        })
        .await
    }

    async fn forgive_attempt(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.write("forgive_attempt", move |tx| {
            crate::sql::exec(tx, "UPDATE attempts SET count = count - 1 WHERE key = ?1 AND count > 0", [key])
                .map(drop)
                .map_err(storage)
        })
        .await
    }

    async fn purge_attempts(&self, before: OffsetDateTime) -> Result<u64> {
        self.write("purge_attempts", move |tx| {
            crate::sql::exec(tx, "DELETE FROM attempts WHERE since < ?1", [ts(before)])
                .map(|n| n as u64)
                .map_err(storage)
        })
        .await
    }
}
