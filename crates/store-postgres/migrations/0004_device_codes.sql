-- Device codes (RFC 8628), and each client's DeviceCodeLifetime. Both codes are stored as
-- SHA-256 hashes: `handle` of the device code, `user_code` of the normalised user code.
ALTER TABLE clients ADD COLUMN device_code_lifetime integer NOT NULL DEFAULT 300;

CREATE TABLE device_codes (
    handle        bytea PRIMARY KEY,
    user_code     bytea NOT NULL UNIQUE,
    client_id     uuid NOT NULL,
    tenant_id     uuid NOT NULL,
    scope         text NOT NULL,
    expires       timestamptz NOT NULL,
    poll_interval integer NOT NULL,
    last_poll     timestamptz,
    status        text NOT NULL,
    user_id       uuid,
    sid           text,
    auth_time     timestamptz,
    family        uuid
);
CREATE INDEX device_codes_by_expiry ON device_codes (expires);
