//! The PostgreSQL store's audit trail (`audit_events`). A changing method in a transaction
//! calls [`insert`] before its commit; one of a single statement (a sign-in's session, a
//! family's revocation, a logout) puts the event's insert into that same statement
//! ([`values`]), so it stays one round trip.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{col, db, execute, limit, query, read_tx, storage, PgStore};
use gatehouse_registry::audit::{Actor, AuditAction, AuditEvent, AuditQuery, AuditStore, Outcome};
use gatehouse_registry::error::{RegistryError, Result};
use gatehouse_registry::store::Page;

const COLUMNS: &str = "id, tenant_id, time, actor_kind, actor, action, target, outcome, source, operation_id, detail";

/// An event's values as statement parameters, in [`COLUMNS`] order.
pub(crate) struct EventParams {
    id: Uuid,
    tenant_id: Option<Uuid>,
    time: OffsetDateTime,
    actor_kind: &'static str,
    actor: String,
    action: &'static str,
    target: String,
    outcome: &'static str,
    source: Option<String>,
    operation_id: Uuid,
    detail: Option<String>,
}

impl EventParams {
    pub(crate) fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            time: e.time,
            actor_kind: e.actor.kind(),
            actor: e.actor.value(),
            action: e.action.as_str(),
            target: e.target.clone(),
            outcome: e.outcome.as_str(),
            source: e.source.clone(),
            operation_id: e.operation_id,
            detail: e.detail.clone(),
        }
    }

    pub(crate) fn refs(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.id,
            &self.tenant_id,
            &self.time,
            &self.actor_kind,
            &self.actor,
            &self.action,
            &self.target,
            &self.outcome,
            &self.source,
            &self.operation_id,
            &self.detail,
        ]
    }
}

/// `INSERT INTO audit_events (...) SELECT <the event's parameters from $first on>`, typed,
/// for a statement that ends `FROM <the change's CTE>` (the event then goes in only if the
/// change returned a row).
pub(crate) fn insert_select(first: usize) -> String {
    let types = ["uuid", "uuid", "timestamptz", "text", "text", "text", "text", "text", "text", "uuid", "text"];
    let values: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::{t}", first + i)).collect();
    format!("INSERT INTO audit_events ({COLUMNS}) SELECT {}", values.join(", "))
}

/// Writes `event` (when there is one) on `c`, inside the caller's transaction.
pub(crate) async fn insert(c: &impl GenericClient, event: Option<&AuditEvent>) -> Result<()> {
    let Some(e) = event else { return Ok(()) };
    let p = EventParams::of(e);
    execute(
        c,
        &format!("INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
        &p.refs(),
    )
    .await?;
    Ok(())
}

fn unknown(what: &str, value: &str) -> RegistryError {
    storage(format!("unknown audit {what} {value}"))
}

pub(crate) fn event_row(r: &Row) -> Result<AuditEvent> {
    let action: String = col(r, 5)?;
    let outcome: String = col(r, 7)?;
    Ok(AuditEvent {
        id: col(r, 0)?,
        tenant_id: col(r, 1)?,
        time: col(r, 2)?,
        actor: Actor::from_parts(&col::<String>(r, 3)?, col(r, 4)?)?,
        action: AuditAction::parse(&action).ok_or_else(|| unknown("action", &action))?,
        target: col(r, 6)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| unknown("outcome", &outcome))?,
        source: col(r, 8)?,
        operation_id: col(r, 9)?,
        detail: col(r, 10)?,
    })
}

/// Every event, in the order written (the snapshot's export).
pub(crate) async fn all(c: &impl GenericClient) -> Result<Vec<AuditEvent>> {
    query(c, &format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq"), &[]).await?.iter().map(event_row).collect()
}

/// The filters of a list, as `$1` (tenant) to `$5`.
const FILTER: &str = "WHERE (tenant_id = $1 OR tenant_id IS NULL) AND ($2::text IS NULL OR action = $2)
     AND ($3::text IS NULL OR actor = $3) AND ($4::timestamptz IS NULL OR time >= $4)
     AND ($5::timestamptz IS NULL OR time < $5)";

#[async_trait]
impl AuditStore for PgStore {
    async fn record_event(&self, event: &AuditEvent) -> Result<()> {
        let conn = self.conn().await?;
        insert(&conn, Some(event)).await
    }

    async fn list_events(&self, tenant_id: Uuid, q: &AuditQuery) -> Result<Page<AuditEvent>> {
        let mut conn = self.conn().await?;
        let tx = read_tx!(conn);
        let action = q.action.map(AuditAction::as_str);
        let filters: [&(dyn ToSql + Sync); 5] = [&tenant_id, &action, &q.actor, &q.from, &q.to];
        let total: i64 =
            col(&query(&tx, &format!("SELECT count(*) FROM audit_events {FILTER}"), &filters).await?[0], 0)?;
        let (count, skip) = (limit(q.count), limit(q.skip));
        let mut paged: Vec<&(dyn ToSql + Sync)> = filters.to_vec();
        paged.extend([&count as &(dyn ToSql + Sync), &skip]);
        let rows = query(
            &tx,
            &format!("SELECT {COLUMNS} FROM audit_events {FILTER} ORDER BY time DESC, seq DESC LIMIT $6 OFFSET $7"),
            &paged,
        )
        .await?;
        let items = rows.iter().map(event_row).collect::<Result<_>>()?;
        tx.commit().await.map_err(db)?;
        Ok(Page { items, total: u64::try_from(total).map_err(storage)? })
    }

    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM audit_events WHERE time < $1", &[&before]).await
    }
}
