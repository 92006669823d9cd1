-- Parked DTLS 1.2 sessions (server/dtls/, storage/dtls_sessions.h): a
-- device that sleeps for hours resumes with its Connection ID (RFC 9146)
-- and no new handshake, also after a restart or on another instance.
--
-- sealed is the wolfSSL session export plus the peer's CID and address,
-- sealed with AES-256-GCM under the instances' shared park key (the CID
-- and session id are the associated data); it is never readable here.
-- The row is rewritten after every wake and when a session is parked.
CREATE TABLE dtls_sessions (
    cid         bytea PRIMARY KEY CHECK (octet_length(cid) BETWEEN 1 AND 20),
    session_key bytea NOT NULL CHECK (octet_length(session_key) BETWEEN 1 AND 32),
    sealed      bytea NOT NULL CHECK (octet_length(sealed) <= 2048),
    instance    text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

CREATE INDEX dtls_sessions_expires ON dtls_sessions (expires_at);
