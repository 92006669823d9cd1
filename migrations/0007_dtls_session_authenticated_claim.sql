-- A parked DTLS session moves to another instance only for a record that
-- authenticates under the session's newest state (server/dtls/dtls_server.c,
-- storage/dtls_sessions.h). Under 0006 an instance claimed a session as soon
-- as a datagram carried its Connection ID, before the record could be
-- checked (that needs the keys in the blob): anyone who saw a CID on the
-- wire (it travels in clear) could move the session with one forged
-- datagram, at the cost of a row write, a NOTIFY and 2^24 of the sequence
-- space per move.
--
-- Now the instance first reads the row (dtls_session_peek: no lock, no
-- write, no NOTIFY), tries the record against the blob (write sequence
-- advanced as the claim would advance it) and only if wolfSSL returns
-- application data claims the session, with a compare-and-swap on the
-- generation it read (dtls_session_claim with p_expected): if another
-- instance claimed meanwhile nothing is written and the record is dropped
-- (the device's retransmission finds the new state).
--
-- The 4-argument dtls_session_claim of 0006 stays for instances still
-- running an older build during a rolling upgrade (this build never calls
-- it); the protection is complete once every instance runs this build.

-- The row of p_cid as it is now: 'owned' (its generation is p_held: the
-- caller's copy is the newest state, no blob sent), 'present' (another
-- generation holds it: generation_now, the blob and its writer's
-- generation), 'closed' (a tombstone, or p_key names another session). No
-- row: nothing unexpired under that CID. A plain read: the answer may be
-- overtaken by a claim right after, like any answer once the lock of a
-- locking read is released; the caller's writes name its generation and
-- are refused then.
CREATE FUNCTION dtls_session_peek(p_cid bytea, p_key bytea, p_held bigint)
RETURNS TABLE (verdict text, generation_now bigint, blob_generation bigint, blob_key bytea,
               blob bytea)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r dtls_sessions%ROWTYPE;
BEGIN
    SELECT * INTO r FROM dtls_sessions d WHERE d.cid = p_cid AND d.expires_at > now();
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF r.sealed IS NULL OR (p_key IS NOT NULL AND r.session_key <> p_key) THEN
        RETURN QUERY SELECT 'closed'::text, r.generation, r.sealed_generation, NULL::bytea,
                            NULL::bytea;
        RETURN;
    END IF;
    IF r.generation = p_held THEN
        RETURN QUERY SELECT 'owned'::text, r.generation, r.sealed_generation, NULL::bytea,
                            NULL::bytea;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'present'::text, r.generation, r.sealed_generation, r.session_key,
                        r.sealed;
END
$$;

-- Claim the session of p_cid if its generation is still p_expected (the one
-- the caller peeked and authenticated a record against): the caller takes
-- greatest(p_expected, p_held) + 1 ('claimed', NOTIFY as in 0006). 'moved':
-- the row has another generation now, nothing written. 'closed' or no row:
-- ended or expired meanwhile.
CREATE FUNCTION dtls_session_claim(p_cid bytea, p_key bytea, p_held bigint, p_expected bigint,
                                   p_instance text)
RETURNS TABLE (verdict text, generation_now bigint, blob_generation bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r dtls_sessions%ROWTYPE;
    taken bigint;
BEGIN
    SELECT * INTO r FROM dtls_sessions d
    WHERE d.cid = p_cid AND d.expires_at > now() FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF r.sealed IS NULL OR (p_key IS NOT NULL AND r.session_key <> p_key) THEN
        RETURN QUERY SELECT 'closed'::text, r.generation, r.sealed_generation;
        RETURN;
    END IF;
    IF r.generation <> p_expected THEN
        RETURN QUERY SELECT 'moved'::text, r.generation, r.sealed_generation;
        RETURN;
    END IF;
    -- never hand out a generation the caller may already have used
    taken := greatest(r.generation, coalesce(p_held, 0)) + 1;
    UPDATE dtls_sessions d SET generation = taken, instance = p_instance, updated_at = now()
    WHERE d.cid = p_cid;
    PERFORM pg_notify('eim_dtls_claims', encode(p_cid, 'hex') || ':' || taken::text);
    RETURN QUERY SELECT 'claimed'::text, taken, r.sealed_generation;
END
$$;
