-- Version 8: the audit trail. `time` is in unix milliseconds; `seq` keeps the order events
-- were written in (events of one millisecond list in it). No foreign keys: an event outlives
-- what it names. `tenant_id` is NULL for the server's own events (signing keys).
CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    tenant_id    TEXT,
    time         INTEGER NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    source       TEXT,
    operation_id TEXT NOT NULL,
    detail       TEXT
);
CREATE INDEX audit_events_by_tenant ON audit_events(tenant_id, time);
CREATE INDEX audit_events_by_time ON audit_events(time);
