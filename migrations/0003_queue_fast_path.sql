-- The queue's hot path made cheaper (storage/queue.c; docs/architecture.md
-- "storage"). Measured with pg_stat_statements on the 2-core machines: the
-- plpgsql transitions of 0002 cost ~1.1 ms of server time per full cycle,
-- most of it per-statement executor start-up inside plpgsql, the per-row
-- plpgsql state guard and a third non-HOT UPDATE of the operation for the
-- acknowledgement. This migration:
--
--  * lets the state guard run only when a transition is NOT allowed (a WHEN
--    clause is evaluated by the executor; the plpgsql function that raises
--    is called only for a violation), so allowed transitions cost nothing;
--  * adds DELIVERED -> DONE for a result whose acknowledgement travels in
--    the same ProvideEimPackageResultResponse (brief §2.7/§8.1): the row
--    moves once, the audit trail still records both logical transitions
--    (DELIVERED -> RESULT_* and RESULT_* -> DONE) in the same transaction;
--  * adds eim_lost(), which aborts a one-statement delivery whose counter
--    compare-and-swap failed after the operation row was already updated
--    (SQLSTATE 40001: the caller starts the poll over), so the CTE form of
--    the delivery in storage/queue.c is all-or-nothing like eim_deliver;
--  * gives the device table room for HOT updates of its counter.
-- The functions of 0002 stay: the rare paths (ecallActive, replayError,
-- cancel, expiry, notifyStateChange) still use them.

CREATE OR REPLACE FUNCTION op_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- only called (WHEN clause below) for transitions the table does not allow
    RAISE EXCEPTION 'operation % cannot go from % to %', OLD.id, OLD.state, NEW.state
        USING ERRCODE = 'check_violation';
END $$;

DROP TRIGGER op_state_guard ON operations;
CREATE TRIGGER op_state_guard BEFORE UPDATE OF state ON operations
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state AND NOT (
            (OLD.state = 'QUEUED' AND NEW.state IN ('DELIVERED', 'EXPIRED', 'CANCELLED'))
         OR (OLD.state = 'DELIVERED' AND NEW.state IN ('RESULT_OK', 'RESULT_ERROR', 'EXPIRED',
                                                       'CANCELLED'))
         OR (OLD.state = 'DELIVERED' AND NEW.state = 'QUEUED' AND NEW.package IS NULL)
         OR (OLD.state = 'DELIVERED' AND NEW.state = 'DONE' AND NEW.result_raw IS NOT NULL)
         OR (OLD.state IN ('RESULT_OK', 'RESULT_ERROR') AND NEW.state = 'DONE')))
    EXECUTE FUNCTION op_state_guard();

CREATE FUNCTION eim_lost() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'delivery lost a race: counter changed' USING ERRCODE = 'serialization_failure';
END $$;

-- new pages keep room so counter updates stay HOT (no index change)
ALTER TABLE euiccs SET (fillfactor = 80);
