-- Ownership of parked DTLS sessions among the eimd instances sharing this
-- database (server/dtls/dtls_server.c, storage/dtls_sessions.h). Behind a
-- UDP load balancer a device may wake on instance B today and on instance A
-- tomorrow; A may still hold an older copy of the session in memory.
--
-- generation: who holds the session. It rises by one with every claim: an
-- instance that resumes a session it does not hold (the device reached it
-- after waking elsewhere, or after a restart) takes the next generation in
-- one locked step, and the holder of an older generation may neither write
-- the row nor resume its in-memory copy any more. The instance that made the
-- session (the handshake) holds generation 1.
--
-- sealed_generation: the generation whose holder wrote `sealed`. A claimer
-- advances the blob's write sequence number, and with it the AES-CCM nonce,
-- by (generation - sealed_generation) * EIM_DTLS_SEQUENCE_GAP: the holders
-- of the generations in between all started from the same blob, each one
-- gap further, so every holder sends in a sequence range of its own and no
-- (key, nonce) pair is used twice, whatever the races.
--
-- A session that ended keeps its row with sealed = NULL (a tombstone, one
-- generation further) until it expires, so that a late write of an older
-- holder cannot bring it back; purging waits an hour past expires_at.
--
-- Every instance sharing the database must run a build that knows these
-- rules: an older one would overwrite rows unconditionally.
ALTER TABLE dtls_sessions
    ADD COLUMN generation bigint NOT NULL DEFAULT 1 CHECK (generation >= 1),
    ADD COLUMN sealed_generation bigint NOT NULL DEFAULT 1 CHECK (sealed_generation >= 1),
    ALTER COLUMN sealed DROP NOT NULL,
    ADD CONSTRAINT dtls_sessions_sealed_by_a_holder CHECK (sealed_generation <= generation);

-- Resume a session: p_held is the generation the caller holds in memory (0:
-- none), p_key its session key (NULL: unknown, the caller has only the CID).
-- One row: 'owned' (p_held is current: the caller's copy is the newest
-- state), 'claimed' (the caller now holds generation_now and must resume
-- from blob), 'closed' (a tombstone, or the CID names another session). No
-- row: nothing unexpired under that CID. A claim NOTIFYs eim_dtls_claims
-- with "<cid hex>:<generation>" so that other holders drop their copies early
-- (an optimisation only: the verdict here is the authority).
CREATE FUNCTION dtls_session_claim(p_cid bytea, p_key bytea, p_held bigint, p_instance text)
RETURNS TABLE (verdict text, generation_now bigint, blob_generation bigint, blob_key bytea,
               blob bytea)
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
        RETURN QUERY SELECT 'closed'::text, r.generation, r.sealed_generation, NULL::bytea,
                            NULL::bytea;
        RETURN;
    END IF;
    IF r.generation = p_held THEN
        RETURN QUERY SELECT 'owned'::text, r.generation, r.sealed_generation, NULL::bytea,
                            NULL::bytea;
        RETURN;
    END IF;
    -- never hand out a generation the caller may already have used
    taken := greatest(r.generation, coalesce(p_held, 0)) + 1;
    UPDATE dtls_sessions d SET generation = taken, instance = p_instance, updated_at = now()
    WHERE d.cid = p_cid;
    PERFORM pg_notify('eim_dtls_claims', encode(p_cid, 'hex') || ':' || taken::text);
    RETURN QUERY SELECT 'claimed'::text, taken, r.sealed_generation, r.session_key, r.sealed;
END
$$;

-- Write a session's newest sealed state as the holder of p_generation.
-- Generation 1 (the instance that made the session) may insert the row;
-- any other holder only updates the row it holds. False: the row belongs to
-- a newer generation, ended, or names another session; nothing was written.
CREATE FUNCTION dtls_session_store(p_cid bytea, p_key bytea, p_sealed bytea, p_instance text,
                                   p_generation bigint, p_expires_ms bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF p_generation = 1 THEN
        INSERT INTO dtls_sessions AS d (cid, session_key, sealed, instance, generation,
                                        sealed_generation, updated_at, expires_at)
        VALUES (p_cid, p_key, p_sealed, p_instance, 1, 1, now(),
                now() + p_expires_ms * interval '1 millisecond')
        ON CONFLICT (cid) DO UPDATE SET sealed = excluded.sealed, instance = excluded.instance,
            updated_at = excluded.updated_at, expires_at = excluded.expires_at
        WHERE d.session_key = excluded.session_key AND d.generation = 1
          AND d.sealed IS NOT NULL;
    ELSE
        UPDATE dtls_sessions d SET sealed = p_sealed, sealed_generation = p_generation,
            instance = p_instance, updated_at = now(),
            expires_at = now() + p_expires_ms * interval '1 millisecond'
        WHERE d.cid = p_cid AND d.session_key = p_key AND d.generation = p_generation
          AND d.sealed IS NOT NULL;
    END IF;
    RETURN FOUND;
END
$$;

-- End a session as the holder of p_generation: the row becomes a tombstone
-- one generation further (other holders are told like for a claim). False:
-- not the holder; nothing changed.
CREATE FUNCTION dtls_session_close(p_cid bytea, p_key bytea, p_generation bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dtls_sessions d SET sealed = NULL, generation = p_generation + 1, updated_at = now()
    WHERE d.cid = p_cid AND d.session_key = p_key AND d.generation = p_generation
      AND d.sealed IS NOT NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_notify('eim_dtls_claims', encode(p_cid, 'hex') || ':' || (p_generation + 1)::text);
    RETURN true;
END
$$;
