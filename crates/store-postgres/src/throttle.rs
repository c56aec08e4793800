//! The sign-in throttle's counters in PostgreSQL, shared by every instance.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{col, db, execute, query_one, storage, write_tx, PgStore};
use gatehouse_registry::error::Result;
use gatehouse_registry::store::ThrottleStore;

#[async_trait]
impl ThrottleStore for PgStore {
    async fn count_attempt(&self, keys: &[String], now: OffsetDateTime, window: time::Duration) -> Result<Vec<u32>> {
        let mut conn = self.conn().await?;
        let tx = write_tx!(conn);
        // Keys are counted (and their rows locked) in sorted order, so two calls with the
        // same keys never wait for each other in a cycle.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
        let mut counts = vec![0; keys.len()];
        let window_start = now - window;
        for i in order {
            // One statement per key: a concurrent attempt on the same key waits for this
            // row, then counts on from it. A window that has passed starts again at 1.
            let row = query_one(
                &tx,
                "INSERT INTO attempts (key, count, since) VALUES ($1, 1, $2)
                 ON CONFLICT (key) DO UPDATE SET
                     count = CASE WHEN attempts.since <= $3 THEN 1 ELSE attempts.count + 1 END,
                     since = CASE WHEN attempts.since <= $3 THEN $2 ELSE attempts.since END
                 RETURNING count",
                &[&keys[i], &now, &window_start],
            )
            .await?;
            counts[i] = u32::try_from(col::<i32>(&row, 0)?).map_err(storage)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(counts)
    }

    async fn clear_attempts(&self, key: &str) -> Result<()> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM attempts WHERE key = $1", &[&key]).await?;
        Ok(())
    }

    async fn forgive_attempt(&self, key: &str) -> Result<()> {
        let conn = self.conn().await?;
        execute(&conn, "UPDATE attempts SET count = count - 1 WHERE key = $1 AND count > 0", &[&key]).await?;
        Ok(())
    }

    async fn purge_attempts(&self, before: OffsetDateTime) -> Result<u64> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM attempts WHERE since < $1", &[&before]).await
    }
}
