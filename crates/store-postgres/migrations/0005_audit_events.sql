-- The audit trail. `seq` keeps the order events were written in (events of one instant list
-- in it). No foreign keys: an event outlives what it names. `tenant_id` is NULL for the
-- server's own events (signing keys).
CREATE TABLE audit_events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    tenant_id    uuid,
    time         timestamptz NOT NULL,
    actor_kind   text NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    target       text NOT NULL,
    outcome      text NOT NULL,
    source       text,
    operation_id uuid NOT NULL,
    detail       text
);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, time);
CREATE INDEX audit_events_by_time ON audit_events (time);
