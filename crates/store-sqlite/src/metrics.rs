//! The store's figures, through the `metrics` facade (which does nothing until the server
//! installs a recorder): how long a connection took to get, how long each transaction ran
//! (by store method), and the pool's state at a scrape. Names and labels are the server's
//! (docs/configuration.md, Metrics); label values are method names, never data.

use std::time::{Duration, Instant};

use gatehouse_registry::store::StoreMetrics;

use crate::SqliteStore;

const BACKEND: &str = "sqlite";

pub(crate) fn connection_wait(waited: Duration) {
    metrics::histogram!("gatehouse_store_connection_wait_seconds", "backend" => BACKEND).record(waited);
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Read,
    Write,
}

/// A transaction being timed: its time is recorded when it is dropped, after the commit
/// or the rollback, whether the method succeeded or not.
#[derive(Debug)]
pub(crate) struct Transaction {
    op: &'static str,
    kind: Kind,
    started: Instant,
}

impl Transaction {
    pub(crate) fn start(op: &'static str, kind: Kind) -> Self {
        Self { op, kind, started: Instant::now() }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let kind = match self.kind {
            Kind::Read => "read",
            Kind::Write => "write",
        };
        metrics::histogram!(
            "gatehouse_store_transaction_seconds",
            "backend" => BACKEND,
            "op" => self.op,
            "kind" => kind
        )
        .record(self.started.elapsed());
    }
}

impl StoreMetrics for SqliteStore {
    fn record_pool(&self) {
        let state = self.pool.state();
        metrics::gauge!("gatehouse_store_pool_connections", "backend" => BACKEND).set(state.connections);
        metrics::gauge!("gatehouse_store_pool_idle_connections", "backend" => BACKEND).set(state.idle_connections);
        metrics::gauge!("gatehouse_store_pool_max_connections", "backend" => BACKEND).set(self.pool.max_size());
    }
}
