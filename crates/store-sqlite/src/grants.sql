-- Version 2: what the protocol remembers between requests. Handles are stored as hashes.

CREATE TABLE sessions (
    handle    BLOB PRIMARY KEY,
    sid       TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    expires   INTEGER NOT NULL
);

CREATE TABLE authorization_codes (
    handle         BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    sid            TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    expires        INTEGER NOT NULL,
    family         TEXT NOT NULL,
    used           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
    handle          BLOB PRIMARY KEY,
    family          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    scope           TEXT NOT NULL,
    sid             TEXT NOT NULL,
    auth_time       INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    absolute_expiry INTEGER NOT NULL,
    expires         INTEGER NOT NULL,
    consumed        INTEGER,
    successor       BLOB
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family);

CREATE TABLE revoked_families (
    family TEXT PRIMARY KEY
);

-- Server-wide secrets (the refresh-successor HMAC key), shared by every instance.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
