-- Version 1 of the Gatehouse schema on PostgreSQL. Ids are uuid, times timestamptz, handles
-- and secret hashes bytea (SHA-256). `seq` keeps creation order for paging. URI lists, CORS
-- origins and tags are text arrays in their given order; role references are child rows,
-- so that deleting a role cascades to them through a foreign key.

CREATE TABLE tenants (
    id      uuid PRIMARY KEY,
    name    text NOT NULL,
    created timestamptz NOT NULL,
    seq     bigint GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE roles (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    name        text NOT NULL,
    description text NOT NULL,
    built_in    boolean NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id)
);

-- Client ids are unique across tenants: the token endpoint knows a client by id alone.
CREATE TABLE clients (
    id                              uuid PRIMARY KEY,
    tenant_id                       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                            text NOT NULL,
    name                            text NOT NULL,
    enabled                         boolean NOT NULL,
    access_token_lifetime           integer NOT NULL,
    redirect_uris                   text[] NOT NULL,
    post_logout_redirect_uris       text[] NOT NULL,
    allowed_cors_origins            text[] NOT NULL,
    tags                            text[] NOT NULL,
    allow_offline_access            boolean NOT NULL,
    allow_access_tokens_via_browser boolean NOT NULL,
    client_uri                      text,
    logo_uri                        text,
    created                         timestamptz NOT NULL,
    next_secret_id                  integer NOT NULL DEFAULT 1,
    seq                             bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX clients_by_tenant_kind ON clients (tenant_id, kind, seq);
CREATE INDEX clients_by_tag ON clients USING gin (tags);
CREATE INDEX clients_by_cors_origin ON clients USING gin (allowed_cors_origins);

CREATE TABLE client_roles (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    tenant_id uuid NOT NULL,
    role_id   uuid NOT NULL,
    PRIMARY KEY (client_id, position),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX client_roles_by_role ON client_roles (tenant_id, role_id);

CREATE TABLE client_secrets (
    client_id   uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    id          integer NOT NULL,
    description text NOT NULL,
    expiration  timestamptz,          -- NULL: never expires
    hash        bytea NOT NULL,       -- SHA-256 of the secret
    created     timestamptz NOT NULL,
    PRIMARY KEY (client_id, id)
);

CREATE TABLE users (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_name          text NOT NULL,
    name_key           text NOT NULL,   -- the user name lower-cased: unique per tenant
    given_name         text NOT NULL,
    surname            text NOT NULL,
    email              text NOT NULL,
    contact_given_name text NOT NULL,
    contact_surname    text NOT NULL,
    enabled            boolean NOT NULL,
    password_hash      text NOT NULL,
    created            timestamptz NOT NULL,
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    UNIQUE (tenant_id, name_key)
);
CREATE INDEX users_by_tenant ON users (tenant_id, seq);

CREATE TABLE user_roles (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    tenant_id uuid NOT NULL,
    role_id   uuid NOT NULL,
    PRIMARY KEY (user_id, position),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_roles_by_role ON user_roles (tenant_id, role_id);

CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    alg         text NOT NULL,
    private_der bytea NOT NULL,       -- PKCS#8
    created     timestamptz NOT NULL,
    retired     timestamptz,
    seq         bigint GENERATED ALWAYS AS IDENTITY
);

-- What the protocol remembers between requests. Every handle is the SHA-256 of the value
-- its holder has.
CREATE TABLE sessions (
    handle    bytea PRIMARY KEY,
    sid       text NOT NULL,
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    auth_time timestamptz NOT NULL,
    expires   timestamptz NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires);

CREATE TABLE authorization_codes (
    handle         bytea PRIMARY KEY,
    client_id      uuid NOT NULL,
    tenant_id      uuid NOT NULL,
    user_id        uuid NOT NULL,
    redirect_uri   text NOT NULL,
    scope          text NOT NULL,
    nonce          text,
    code_challenge text,
    sid            text NOT NULL,
    auth_time      timestamptz NOT NULL,
    expires        timestamptz NOT NULL,
    family         uuid NOT NULL,
    used           boolean NOT NULL DEFAULT false
);
CREATE INDEX authorization_codes_by_user ON authorization_codes (tenant_id, user_id);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires);

CREATE TABLE refresh_tokens (
    handle          bytea PRIMARY KEY,
    family          uuid NOT NULL,
    client_id       uuid NOT NULL,
    tenant_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    scope           text NOT NULL,
    sid             text NOT NULL,
    auth_time       timestamptz NOT NULL,
    created         timestamptz NOT NULL,
    absolute_expiry timestamptz NOT NULL,
    expires         timestamptz NOT NULL,
    consumed        timestamptz,
    successor       bytea
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (tenant_id, user_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (absolute_expiry);

CREATE TABLE revoked_families (
    family uuid PRIMARY KEY
);

-- Server-wide secrets (the refresh-successor HMAC key), shared by every instance.
CREATE TABLE server_secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

-- The sign-in throttle's counters, shared by every instance.
CREATE TABLE attempts (
    key   text PRIMARY KEY,
    count integer NOT NULL,
    since timestamptz NOT NULL
);
