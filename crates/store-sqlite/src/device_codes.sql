-- Version 7: device codes (RFC 8628), and each client's DeviceCodeLifetime. Both codes are
-- stored as hashes: `handle` of the device code, `user_code` of the normalised user code.
ALTER TABLE clients ADD COLUMN device_code_lifetime INTEGER NOT NULL DEFAULT 300;

CREATE TABLE device_codes (
    handle        BLOB PRIMARY KEY,
    user_code     BLOB NOT NULL UNIQUE,
    client_id     TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    expires       INTEGER NOT NULL,
    poll_interval INTEGER NOT NULL,
    last_poll     INTEGER,
    status        TEXT NOT NULL,
    user_id       TEXT,
    sid           TEXT,
    auth_time     INTEGER,
    family        TEXT
);
CREATE INDEX device_codes_by_expiry ON device_codes(expires);
