//! The in-memory store's audit trail: a list in the order written, under the one lock.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{page, MemoryStore};
use crate::audit::{AuditEvent, AuditQuery, AuditStore};
use crate::error::Result;
use crate::store::{ListQuery, Page};

#[async_trait]
impl AuditStore for MemoryStore {
    async fn record_event(&self, event: &AuditEvent) -> Result<()> {
        self.lock()?.log(Some(event));
        Ok(())
    }

    async fn list_events(&self, tenant_id: Uuid, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        let state = self.lock()?;
        let mut events: Vec<(usize, &AuditEvent)> =
            state.audit.iter().enumerate().filter(|(_, e)| query.matches(tenant_id, e)).collect();
        // Newest first: by time, then the later written first.
        events.sort_by_key(|(i, e)| std::cmp::Reverse((e.time, *i)));
        let list = ListQuery { skip: query.skip, count: query.count, ..ListQuery::default() };
        Ok(page(events.into_iter().map(|(_, e)| e).collect(), &list))
    }

    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64> {
        let mut state = self.lock()?;
        let count = state.audit.len();
        state.audit.retain(|e| e.time >= before);
        Ok((count - state.audit.len()) as u64)
    }
}
