//! The SQLite store's audit trail (`audit_events`). [`insert`] is what every changing method
//! calls inside its own transaction; the trait's methods read, write alone, and purge.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{storage, uuid_col, SqliteStore};
use gatehouse_registry::audit::{Actor, AuditAction, AuditEvent, AuditQuery, AuditStore, Outcome};
use gatehouse_registry::error::Result;
use gatehouse_registry::store::Page;

pub(crate) const COLUMNS: &str = "SELECT id, tenant_id, time, actor_kind, actor, action, target, outcome, source, \
     operation_id, detail FROM audit_events";

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn bad(what: &str, value: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown audit {what} {value}").into(),
    )
}

pub(crate) fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    let time: i64 = r.get(2)?;
    let action: String = r.get(5)?;
    let outcome: String = r.get(7)?;
    let actor_kind: String = r.get(3)?;
    Ok(AuditEvent {
        id: uuid_col(r.get(0)?)?,
        tenant_id: r.get::<_, Option<String>>(1)?.map(uuid_col).transpose()?,
        time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(time) * 1_000_000)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Integer, Box::new(e)))?,
        actor: Actor::from_parts(&actor_kind, r.get(4)?).map_err(|_| bad("actor kind", actor_kind.clone()))?,
        action: AuditAction::parse(&action).ok_or_else(|| bad("action", action.clone()))?,
        target: r.get(6)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| bad("outcome", outcome.clone()))?,
        source: r.get(8)?,
        operation_id: uuid_col(r.get(9)?)?,
        detail: r.get(10)?,
    })
}

/// Writes `event` (when there is one) on `c`, inside the caller's transaction.
pub(crate) fn insert(c: &Connection, event: Option<&AuditEvent>) -> Result<()> {
    let Some(e) = event else { return Ok(()) };
    crate::sql::exec(
        c,
        "INSERT INTO audit_events (id, tenant_id, time, actor_kind, actor, action, target, outcome, source,
             operation_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            e.id.to_string(),
            e.tenant_id.map(|t| t.to_string()),
            millis(e.time),
            e.actor.kind(),
            e.actor.value(),
            e.action.as_str(),
            e.target,
            e.outcome.as_str(),
            e.source,
            e.operation_id.to_string(),
            e.detail,
        ],
    )
    .map_err(storage)?;
    Ok(())
}

/// The filters of a list, as `?1` (tenant) to `?6`.
const FILTER: &str = "WHERE (tenant_id = ?1 OR tenant_id IS NULL) AND (?2 IS NULL OR action = ?2)
     AND (?3 IS NULL OR actor = ?3) AND (?4 IS NULL OR time >= ?4) AND (?5 IS NULL OR time < ?5)";

fn list(c: &Connection, tenant_id: Uuid, q: &AuditQuery) -> Result<Page<AuditEvent>> {
    let limit = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let filters = params![
        tenant_id.to_string(),
        q.action.map(AuditAction::as_str),
        q.actor,
        q.from.map(millis),
        q.to.map(millis),
        limit(q.count),
        limit(q.skip),
    ];
    let total: i64 =
        crate::sql::row(c, &format!("SELECT count(*) FROM audit_events {FILTER}"), &filters[..5], |r| r.get(0))
            .map_err(storage)?;
    let mut st = c
        .prepare_cached(&format!("{COLUMNS} {FILTER} ORDER BY time DESC, seq DESC LIMIT ?6 OFFSET ?7"))
        .map_err(storage)?;
    let items = st.query_map(filters, event_row).map_err(storage)?.collect::<rusqlite::Result<_>>().map_err(storage)?;
    Ok(Page { items, total: u64::try_from(total).unwrap_or_default() })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record_event(&self, event: &AuditEvent) -> Result<()> {
        let event = event.clone();
        self.write("record_event", move |tx| insert(tx, Some(&event))).await
    }

    async fn list_events(&self, tenant_id: Uuid, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        let query = query.clone();
        self.read("list_events", move |c| list(c, tenant_id, &query)).await
    }

    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64> {
        self.write("purge_events", move |tx| {
            let gone = crate::sql::exec(tx, "DELETE FROM audit_events WHERE time < ?1", [millis(before)]);
            Ok(gone.map_err(storage)? as u64)
        })
        .await
    }
}
