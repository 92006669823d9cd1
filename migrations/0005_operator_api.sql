-- The operators' REST API (server/rest/, storage/api_keys.c,
-- storage/operator_store.c): tenants, their API keys (stored hashed), the
-- tenant that owns each eUICC, and campaigns (one operation for many EIDs)
-- whose operations point back to them.
--
-- Tenancy: operations already carry a tenant (0002); eUICCs get one here.
-- Every API query filters on the caller's tenant, so a foreign id reads as
-- absent (404). Existing rows belong to 'default'.

CREATE TABLE tenants (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tenants (id) VALUES ('default');

-- A key is "eimd_<id>_<secret>"; only sha256(salt || secret) is stored and
-- compared in constant time (storage/api_keys.c).
CREATE TABLE api_keys (
    id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
    tenant        text NOT NULL REFERENCES tenants (id),
    scope         text NOT NULL CHECK (scope IN ('ro', 'rw')),
    salt          bytea NOT NULL CHECK (length(salt) = 16),
    secret_hash   bytea NOT NULL CHECK (length(secret_hash) = 32),
    description   text CHECK (length(description) <= 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);

ALTER TABLE euiccs
    ADD COLUMN tenant     text NOT NULL DEFAULT 'default' REFERENCES tenants (id),
    -- removed through the API: hidden from it, live work cancelled; the row
    -- stays because operations and the append-only audit trail refer to it
    ADD COLUMN removed_at timestamptz;
CREATE INDEX euiccs_tenant_list ON euiccs (tenant, eid) WHERE removed_at IS NULL;

CREATE TABLE campaigns (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant      text NOT NULL REFERENCES tenants (id),
    kind        text NOT NULL,
    parameters  jsonb NOT NULL,
    requested   integer NOT NULL CHECK (requested BETWEEN 1 AND 10000),
    accepted    integer NOT NULL CHECK (accepted BETWEEN 0 AND requested),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_tenant ON campaigns (tenant, created_at, id);

ALTER TABLE operations ADD COLUMN campaign_id uuid REFERENCES campaigns (id);
CREATE INDEX operations_campaign ON operations (campaign_id, state) WHERE campaign_id IS NOT NULL;
-- the API lists per tenant with keyset pagination
CREATE INDEX operations_list_tenant ON operations (tenant, created_at, id);
