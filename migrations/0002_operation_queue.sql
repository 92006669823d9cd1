-- The per-device operation queue (brief §8.2, §2.9, §3.3; storage/queue.h):
-- eUICCs with their replay counter, operations with the state machine
-- QUEUED -> DELIVERED -> RESULT_OK/RESULT_ERROR -> DONE (+ EXPIRED, CANCELLED),
-- an append-only audit trail and received notifications.
--
-- The transition table lives in storage/op_state.c; the database enforces
-- the same rules with CHECK constraints, the guarded UPDATEs of
-- storage/queue.c and the trigger op_state_guard below, so a stray UPDATE
-- from psql cannot break them either.

ALTER TABLE eim_identities
    ADD COLUMN tls_trust_model text,          -- what we provisioned as trustedPublicKeyDataTls
    ADD COLUMN tls_trust_data  bytea,
    ADD COLUMN eim_fqdn        text;

CREATE TABLE euiccs (
    eid                     text PRIMARY KEY CHECK (eid ~ '^[0-9A-F]{32}$'),
    eim_id                  text NOT NULL REFERENCES eim_identities (eim_id),
    -- last counterValue used in a package handed out (never reused; brief §2.9)
    counter_value           bigint NOT NULL DEFAULT 0 CHECK (counter_value BETWEEN 0 AND 8388607),
    association_token       bigint NOT NULL DEFAULT 0,
    euicc_public_key        bytea,          -- verified PK.EUICC.ECDSA (SPKI DER)
    certificate_chain       bytea,          -- CERT.EUICC || CERT.EUM (DER), once verified
    euicc_info1             bytea,
    euicc_info2             bytea,
    ipa_capabilities        bytea,
    profile_inventory       jsonb,
    inventory_at            timestamptz,
    default_smdp_address    text,
    last_seen_at            timestamptz,
    transport               text CHECK (transport IN ('https', 'coaps')),
    address                 text,
    rplmn                   text,
    state_change_pending    boolean NOT NULL DEFAULT false,
    state_change_cause      jsonb,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant              text NOT NULL DEFAULT 'default' CHECK (length(tenant) BETWEEN 1 AND 64),
    eid                 text NOT NULL REFERENCES euiccs (eid),
    -- psmo/eco: signed eUICC Package (BF51, uses a counter);
    -- euicc_data_request: IpaEuiccDataRequest (BF52); download_trigger: BF54
    kind                text NOT NULL CHECK (kind IN ('psmo', 'eco', 'euicc_data_request',
                                                      'download_trigger')),
    signed_package      boolean GENERATED ALWAYS AS (kind IN ('psmo', 'eco')) STORED,
    parameters          jsonb NOT NULL DEFAULT '{}',
    state               text NOT NULL DEFAULT 'QUEUED'
                        CHECK (state IN ('QUEUED', 'DELIVERED', 'RESULT_OK', 'RESULT_ERROR',
                                         'DONE', 'EXPIRED', 'CANCELLED')),
    priority            integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
    seq                 bigserial,      -- FIFO tie-break within a priority
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    not_before          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz,
    attempts            integer NOT NULL DEFAULT 0,
    counter_value       bigint,         -- allocated at delivery (signed kinds)
    eim_transaction_id  bytea CHECK (length(eim_transaction_id) BETWEEN 1 AND 16),
    package             bytea,          -- exactly the bytes handed out
    delivered_at        timestamptz,
    result_raw          bytea,
    result_decoded      jsonb,
    result_code         integer,
    result_seq_number   bigint,         -- eUICC seqNumber to acknowledge
    acknowledged_at     timestamptz,
    completed_at        timestamptz,
    caused_by           uuid REFERENCES operations (id),   -- e.g. BF52 fetch after replayError
    idempotency_key     text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    UNIQUE (tenant, idempotency_key),
    -- what each state implies about the stored data
    CHECK (state = 'QUEUED' OR state IN ('EXPIRED', 'CANCELLED') OR package IS NOT NULL),
    CHECK (NOT signed_package OR package IS NULL OR counter_value IS NOT NULL),
    CHECK (state NOT IN ('DONE', 'EXPIRED', 'CANCELLED') OR completed_at IS NOT NULL)
);

-- "next operation for this EID": only live rows are indexed
CREATE INDEX operations_next ON operations (eid, priority DESC, seq)
    WHERE state IN ('QUEUED', 'DELIVERED');
-- one package in flight per device and per channel (signed packages / data requests)
CREATE UNIQUE INDEX operations_one_in_flight ON operations (eid, signed_package)
    WHERE state = 'DELIVERED';
-- results arrive by (EID, eimTransactionId)
CREATE UNIQUE INDEX operations_txid ON operations (eid, eim_transaction_id)
    WHERE eim_transaction_id IS NOT NULL;
-- listing with keyset pagination
CREATE INDEX operations_list ON operations (created_at, id);
CREATE INDEX operations_list_eid ON operations (eid, created_at, id);
CREATE INDEX operations_list_state ON operations (state, created_at, id);
-- expiry sweep
CREATE INDEX operations_expiry ON operations (expires_at)
    WHERE state IN ('QUEUED', 'DELIVERED') AND expires_at IS NOT NULL;
-- acknowledgements still to send
CREATE INDEX operations_unacked ON operations (eid)
    WHERE state IN ('RESULT_OK', 'RESULT_ERROR') AND result_seq_number IS NOT NULL;

-- Append-only: every state change, who caused it, when, details.
CREATE TABLE operation_audit (
    id              bigserial PRIMARY KEY,
    operation_id    uuid NOT NULL REFERENCES operations (id),
    eid             text NOT NULL,
    from_state      text,           -- NULL for creation
    to_state        text NOT NULL,
    actor           text NOT NULL,  -- "api", "device", "sweep", an instance name, ...
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    counter_value   bigint,
    details         jsonb
);
CREATE INDEX operation_audit_op ON operation_audit (operation_id, id);
-- A counter value is handed out with exactly one package, ever.
CREATE UNIQUE INDEX operation_audit_counter ON operation_audit (eid, counter_value)
    WHERE from_state = 'QUEUED' AND to_state = 'DELIVERED' AND counter_value IS NOT NULL;

CREATE FUNCTION operation_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operation_audit is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER operation_audit_append_only BEFORE UPDATE OR DELETE ON operation_audit
    FOR EACH STATEMENT EXECUTE FUNCTION operation_audit_append_only();

-- The state machine of storage/op_state.c, as the database's last word.
CREATE FUNCTION op_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF NOT ((OLD.state, NEW.state) IN (
            ('QUEUED', 'DELIVERED'), ('QUEUED', 'EXPIRED'), ('QUEUED', 'CANCELLED'),
            ('DELIVERED', 'RESULT_OK'), ('DELIVERED', 'RESULT_ERROR'), ('DELIVERED', 'QUEUED'),
            ('DELIVERED', 'EXPIRED'), ('DELIVERED', 'CANCELLED'),
            ('RESULT_OK', 'DONE'), ('RESULT_ERROR', 'DONE'))) THEN
        RAISE EXCEPTION 'operation % cannot go from % to %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.state = 'DELIVERED' AND NEW.state = 'QUEUED' AND NEW.package IS NOT NULL THEN
        RAISE EXCEPTION 'a re-queued operation must drop its package' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER op_state_guard BEFORE UPDATE OF state ON operations
    FOR EACH ROW EXECUTE FUNCTION op_state_guard();

-- Pending-EID sets of every instance learn about new work through NOTIFY
-- on channel eim_pending: a comma-separated list of EIDs, or "*" (reload)
-- when one statement queued work for many devices.
CREATE FUNCTION operations_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    list text;
BEGIN
    SELECT count(DISTINCT eid), string_agg(DISTINCT eid, ',') INTO n, list
        FROM new_rows WHERE state = 'QUEUED';
    IF n = 0 THEN
        RETURN NULL;
    ELSIF n > 200 THEN
        PERFORM pg_notify('eim_pending', '*');
    ELSE
        PERFORM pg_notify('eim_pending', list);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER operations_notify_pending AFTER INSERT ON operations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION operations_notify_pending();

CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    eid             text NOT NULL,
    seq_number      bigint NOT NULL,
    kind            text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    raw             bytea NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    forwarded_at    timestamptz,
    forward_to      text,
    UNIQUE (eid, kind, seq_number)
);
CREATE INDEX notifications_unacked ON notifications (eid) WHERE acknowledged_at IS NULL;

-- ---------------------------------------------------------------------------
-- Transitions as functions: each is one statement for the caller (one round
-- trip, one implicit transaction), and the only code that changes
-- operations.state besides the enqueue INSERT.

-- QUEUED -> DELIVERED. The caller read the device's counter (p_expected),
-- built and signed the package with p_expected + 1 and now stores it: the
-- device row is locked, the counter compared-and-swapped, and the package
-- stored in the same transaction, or nothing happens ('lost': another
-- instance delivered first, or the operation changed state meanwhile).
CREATE FUNCTION eim_deliver(p_op uuid, p_eid text, p_expected bigint, p_txid bytea,
                            p_package bytea, p_actor text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_counter bigint;
    v_signed boolean;
    v_new bigint;
BEGIN
    SELECT counter_value INTO v_counter FROM euiccs WHERE eid = p_eid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'lost';
    END IF;
    SELECT signed_package INTO v_signed FROM operations
        WHERE id = p_op AND eid = p_eid AND state = 'QUEUED' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'lost';
    END IF;
    IF v_signed THEN
        IF v_counter <> p_expected THEN
            RETURN 'lost';
        END IF;
        v_new := p_expected + 1;
    END IF;
    IF EXISTS (SELECT 1 FROM operations WHERE eid = p_eid AND state = 'DELIVERED'
                                          AND signed_package = v_signed) THEN
        RETURN 'lost';
    END IF;
    UPDATE operations SET state = 'DELIVERED', counter_value = v_new, eim_transaction_id = p_txid,
           package = p_package, delivered_at = now(), updated_at = now(), attempts = attempts + 1
        WHERE id = p_op;
    UPDATE euiccs SET counter_value = coalesce(v_new, counter_value), last_seen_at = now(),
           updated_at = now() WHERE eid = p_eid;
    INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
        VALUES (p_op, p_eid, 'QUEUED', 'DELIVERED', p_actor, v_new,
                jsonb_build_object('event', 'deliver', 'eim_transaction_id', encode(p_txid, 'hex')));
    RETURN 'delivered';
END $$;

-- A package that could not be built is cancelled (it would block the device).
CREATE FUNCTION eim_build_failed(p_op uuid, p_reason text, p_actor text) RETURNS void
LANGUAGE sql AS $$
    WITH o AS (UPDATE operations SET state = 'CANCELLED', completed_at = now(), updated_at = now()
               WHERE id = p_op AND state = 'QUEUED' RETURNING id, eid)
    INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, details)
        SELECT id, eid, 'QUEUED', 'CANCELLED', p_actor,
               jsonb_build_object('event', 'cancel', 'reason', 'build failed: ' || p_reason) FROM o;
$$;

-- Result of a delivered operation, found by (EID, eimTransactionId).
-- Returns (status, operation id): applied | duplicate | not_found |
-- counter_mismatch | requeued (ecallActive) | replay (a BF52 fetch of the
-- stored result was scheduled).
CREATE FUNCTION eim_record_result(p_eid text, p_txid bytea, p_counter bigint, p_is_error boolean,
                                  p_code integer, p_seq bigint, p_raw bytea, p_decoded jsonb,
                                  p_actor text, p_backoff_s integer,
                                  OUT status text, OUT op_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    o operations%ROWTYPE;
    v_state text;
    v_fetch uuid;
BEGIN
    SELECT * INTO o FROM operations WHERE eid = p_eid AND eim_transaction_id = p_txid FOR UPDATE;
    IF NOT FOUND THEN
        status := 'not_found';
        RETURN;
    END IF;
    op_id := o.id;
    IF o.state <> 'DELIVERED' THEN
        status := 'duplicate';
        RETURN;
    END IF;
    IF o.signed_package AND p_counter IS NOT NULL AND o.counter_value <> p_counter THEN
        status := 'counter_mismatch';
        RETURN;
    END IF;
    IF p_is_error AND p_code = 104 THEN -- ecallActive: try again later, with a fresh counter
        UPDATE operations SET state = 'QUEUED', package = NULL, eim_transaction_id = NULL,
               delivered_at = NULL, updated_at = now(), result_code = p_code, result_raw = p_raw,
               not_before = now() + make_interval(secs => least(p_backoff_s * (2 ^ least(o.attempts - 1, 10)), 86400))
            WHERE id = o.id;
        INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
            VALUES (o.id, p_eid, 'DELIVERED', 'QUEUED', p_actor, o.counter_value,
                    jsonb_build_object('event', 'ecall_backoff', 'code', p_code));
        status := 'requeued';
        RETURN;
    END IF;
    IF p_is_error AND p_code = 4 THEN -- replayError: fetch the stored result (BF52 A2)
        IF NOT EXISTS (SELECT 1 FROM operations WHERE caused_by = o.id AND state IN ('QUEUED', 'DELIVERED')) THEN
            INSERT INTO operations (tenant, eid, kind, parameters, priority, caused_by)
                VALUES (o.tenant, p_eid, 'euicc_data_request',
                        jsonb_build_object('searchCriteriaEuiccPackageResult', true,
                                           'operation', o.id, 'counter_value', o.counter_value),
                        1000, o.id)
                RETURNING id INTO v_fetch;
            INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, details)
                VALUES (v_fetch, p_eid, NULL, 'QUEUED', p_actor,
                        jsonb_build_object('event', 'replay_fetch', 'operation', o.id));
        END IF;
        INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
            VALUES (o.id, p_eid, 'DELIVERED', 'DELIVERED', p_actor, o.counter_value,
                    jsonb_build_object('event', 'replay_error', 'code', p_code));
        status := 'replay';
        RETURN;
    END IF;
    v_state := CASE WHEN p_is_error THEN 'RESULT_ERROR' ELSE 'RESULT_OK' END;
    UPDATE operations SET state = v_state, result_raw = p_raw, result_decoded = p_decoded,
           result_code = p_code, result_seq_number = p_seq, updated_at = now()
        WHERE id = o.id;
    INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
        VALUES (o.id, p_eid, 'DELIVERED', v_state, p_actor, o.counter_value,
                jsonb_build_object('event', lower(v_state), 'code', p_code, 'seq_number', p_seq));
    IF p_seq IS NULL THEN -- nothing for the eUICC to delete: done at once
        UPDATE operations SET state = 'DONE', completed_at = now() WHERE id = o.id;
        INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, details)
            VALUES (o.id, p_eid, v_state, 'DONE', p_actor,
                    jsonb_build_object('event', 'acknowledged', 'seq_number', NULL));
    END IF;
    IF o.parameters->>'purpose' = 'inventory' AND NOT p_is_error THEN
        UPDATE euiccs SET state_change_pending = false, state_change_cause = NULL,
               profile_inventory = p_decoded, inventory_at = now(), updated_at = now()
            WHERE eid = p_eid;
    END IF;
    status := 'applied';
END $$;

-- The IPA deleted what we acknowledged: RESULT_* -> DONE, notifications acked.
CREATE FUNCTION eim_acks_sent(p_eid text, p_seqs bigint[], p_actor text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    m integer;
BEGIN
    WITH o AS (SELECT id, state, counter_value, result_seq_number FROM operations
               WHERE eid = p_eid AND state IN ('RESULT_OK', 'RESULT_ERROR')
                 AND result_seq_number = ANY (p_seqs) FOR UPDATE),
         u AS (UPDATE operations p SET state = 'DONE', acknowledged_at = now(), completed_at = now(),
                      updated_at = now()
               FROM o WHERE p.id = o.id RETURNING p.id),
         a AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
               SELECT o.id, p_eid, o.state, 'DONE', p_actor, o.counter_value,
                      jsonb_build_object('event', 'acknowledged', 'seq_number', o.result_seq_number)
               FROM o)
    SELECT count(*) INTO n FROM u;
    UPDATE notifications SET acknowledged_at = now()
        WHERE eid = p_eid AND acknowledged_at IS NULL AND seq_number = ANY (p_seqs);
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END $$;

-- Operator cancel (p_event 'cancel') or expiry ('expire') of one operation;
-- returns the state it left, or NULL when it was not live.
CREATE FUNCTION eim_finish(p_op uuid, p_to text, p_event text, p_actor text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o operations%ROWTYPE;
BEGIN
    SELECT * INTO o FROM operations WHERE id = p_op AND state IN ('QUEUED', 'DELIVERED') FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE operations SET state = p_to, completed_at = now(), updated_at = now() WHERE id = p_op;
    INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
        VALUES (p_op, o.eid, o.state, p_to, p_actor, o.counter_value,
                jsonb_build_object('event', p_event));
    RETURN o.state;
END $$;

-- Expiry sweep: up to p_limit overdue operations; SKIP LOCKED lets several
-- instances sweep at once without waiting on each other or on deliveries.
CREATE FUNCTION eim_expire(p_limit integer, p_actor text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    WITH o AS (SELECT id, eid, state, counter_value FROM operations
               WHERE state IN ('QUEUED', 'DELIVERED') AND expires_at <= now()
               ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED),
         u AS (UPDATE operations p SET state = 'EXPIRED', completed_at = now(), updated_at = now()
               FROM o WHERE p.id = o.id RETURNING p.id),
         a AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, counter_value, details)
               SELECT id, eid, state, 'EXPIRED', p_actor, counter_value,
                      jsonb_build_object('event', 'expire') FROM o)
    SELECT count(*) INTO n FROM u;
    RETURN n;
END $$;

-- notifyStateChange: remember it and schedule one inventory (listProfileInfo)
-- unless one is already waiting. Returns the inventory operation's id.
CREATE FUNCTION eim_state_change(p_eid text, p_cause jsonb, p_actor text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
    v_tenant text;
BEGIN
    UPDATE euiccs SET state_change_pending = true, state_change_cause = p_cause, updated_at = now()
        WHERE eid = p_eid;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT id INTO v_id FROM operations
        WHERE eid = p_eid AND state = 'QUEUED' AND parameters->>'purpose' = 'inventory';
    IF FOUND THEN
        RETURN v_id;
    END IF;
    SELECT coalesce((SELECT tenant FROM operations WHERE eid = p_eid ORDER BY seq DESC LIMIT 1),
                    'default') INTO v_tenant;
    INSERT INTO operations (tenant, eid, kind, parameters, priority)
        VALUES (v_tenant, p_eid, 'psmo',
                '{"purpose": "inventory", "psmos": [{"listProfileInfo": {}}]}', 500)
        RETURNING id INTO v_id;
    INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, details)
        VALUES (v_id, p_eid, NULL, 'QUEUED', p_actor,
                jsonb_build_object('event', 'state_change', 'cause', p_cause));
    RETURN v_id;
END $$;
