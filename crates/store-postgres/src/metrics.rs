//! The store's figures, through the `metrics` facade (which does nothing until the server
//! installs a recorder): how long a connection took to get from the pool, how long each
//! statement took (by its kind: the SQL's first word, from a closed set), and the pool's
//! state at a scrape. Names and labels are the server's (docs/configuration.md, Metrics);
//! label values never carry data (every value is a query parameter, not in the text).

use std::time::{Duration, Instant};

use gatehouse_registry::store::StoreMetrics;

use crate::PgStore;

const BACKEND: &str = "postgres";

pub(crate) fn connection_wait(waited: Duration) {
    metrics::histogram!("gatehouse_store_connection_wait_seconds", "backend" => BACKEND).record(waited);
}

/// The statement's kind, from a closed set.
fn kind(sql: &str) -> &'static str {
    let first = sql.trim_start().split(|c: char| c.is_ascii_whitespace() || c == '(').next().unwrap_or_default();
    ["select", "insert", "update", "delete", "with", "lock"]
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(first))
        .unwrap_or("other")
}

/// A statement being timed: recorded when dropped, whether it succeeded or not.
#[derive(Debug)]
pub(crate) struct Statement {
    kind: &'static str,
    started: Instant,
}

impl Statement {
    pub(crate) fn start(sql: &str) -> Self {
        Self { kind: kind(sql), started: Instant::now() }
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        metrics::histogram!("gatehouse_store_statement_seconds", "backend" => BACKEND, "statement" => self.kind)
            .record(self.started.elapsed());
    }
}

impl StoreMetrics for PgStore {
    fn record_pool(&self) {
        // The lanes' pools, summed: one pool to whoever reads the figures.
        let (mut size, mut available, mut max_size, mut waiting) = (0, 0, 0, 0);
        for status in self.pools.iter().map(deadpool_postgres::Pool::status) {
            size += status.size;
            available += status.available;
            max_size += status.max_size;
            waiting += status.waiting;
        }
        metrics::gauge!("gatehouse_store_pool_connections", "backend" => BACKEND).set(size as f64);
        metrics::gauge!("gatehouse_store_pool_idle_connections", "backend" => BACKEND).set(available as f64);
        metrics::gauge!("gatehouse_store_pool_max_connections", "backend" => BACKEND).set(max_size as f64);
        metrics::gauge!("gatehouse_store_pool_waiting", "backend" => BACKEND).set(waiting as f64);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_statement_kind_is_its_first_word_from_a_closed_set() {
        assert_eq!(super::kind("SELECT 1"), "select");
        assert_eq!(super::kind("\n  insert INTO t VALUES ($1)"), "insert");
        assert_eq!(super::kind("WITH x AS (SELECT 1) SELECT * FROM x"), "with");
        assert_eq!(super::kind("TRUNCATE t"), "other");
        assert_eq!(super::kind(""), "other");
    }
}
