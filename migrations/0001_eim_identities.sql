-- The eIM identities this deployment operates (SGP.32 eimId, its type and
-- the package-signing key the eUICCs hold for it). Later migrations add
-- eUICCs, operations, results, notifications and the audit trail.
CREATE TABLE eim_identities (
    eim_id          text PRIMARY KEY CHECK (length(eim_id) BETWEEN 1 AND 128),
    eim_id_type     smallint NOT NULL DEFAULT 2 CHECK (eim_id_type IN (1, 2, 3)), -- oid, fqdn, proprietary
    signing_key_ref text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
