-- Version 1 of the Gatehouse schema. Ids are lower-case hyphenated GUIDs, times are
-- Unix seconds, lists are child tables kept in their given order by `position`.

CREATE TABLE tenants (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE roles (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    built_in    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Client ids are unique across tenants: the token endpoint knows a client by id alone.
CREATE TABLE clients (
    id                              TEXT PRIMARY KEY,
    tenant_id                       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind                            TEXT NOT NULL,
    name                            TEXT NOT NULL,
    enabled                         INTEGER NOT NULL,
    access_token_lifetime           INTEGER NOT NULL,
    redirect_uris                   TEXT NOT NULL,   -- JSON array of strings
    post_logout_redirect_uris       TEXT NOT NULL,   -- JSON array of strings
    allow_offline_access            INTEGER NOT NULL,
    allow_access_tokens_via_browser INTEGER NOT NULL,
    client_uri                      TEXT,
    logo_uri                        TEXT,
    created                         INTEGER NOT NULL,
    next_secret_id                  INTEGER NOT NULL DEFAULT 1
);
-- Paging walks this index in rowid (creation) order.
CREATE INDEX clients_by_tenant_kind ON clients(tenant_id, kind);

CREATE TABLE client_tags (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
);
CREATE INDEX client_tags_by_tag ON client_tags(tag, client_id);

CREATE TABLE client_cors_origins (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    origin    TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
);
CREATE INDEX client_cors_origins_by_origin ON client_cors_origins(origin);

CREATE TABLE client_roles (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    position  INTEGER NOT NULL,
    role_id   TEXT NOT NULL,
    PRIMARY KEY (client_id, position),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX client_roles_by_role ON client_roles(tenant_id, role_id);

CREATE TABLE client_secrets (
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    description TEXT NOT NULL,
    expiration  INTEGER,           -- NULL: never expires
    hash        BLOB NOT NULL,     -- SHA-256 of the secret
    created     INTEGER NOT NULL,
    PRIMARY KEY (client_id, id)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_name     TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    given_name    TEXT NOT NULL,
    surname       TEXT NOT NULL,
    email         TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL,
    UNIQUE (tenant_id, name_key)
);
CREATE INDEX users_by_tenant ON users(tenant_id);

CREATE TABLE user_roles (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    position  INTEGER NOT NULL,
    role_id   TEXT NOT NULL,
    PRIMARY KEY (user_id, position),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_roles_by_role ON user_roles(tenant_id, role_id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_der BLOB NOT NULL,
    created     INTEGER NOT NULL,
    retired     INTEGER
);
