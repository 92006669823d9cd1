/*
 * The per-device operation queue (brief §8.2 state machine, §2.9/§3.3
 * counterValue and eimTransactionId, §8.1 acknowledgements) on top of the
 * non-blocking pool: every function queues one or two statements and calls
 * its callback later on the loop, never from inside the call (except the
 * documented in-memory answer of eim_queue_next_package).
 *
 * Delivery (QUEUED -> DELIVERED) never burns or reuses a counter:
 *   1. one SELECT reads the device's counter c, its next operation (the
 *      DELIVERED one first within its priority, else the oldest due QUEUED
 *      one of the highest priority) and a fresh random eimTransactionId;
 *   2. the package is built and signed for counter c+1 through the
 *      eim_queue_build_fn the server provides (proto/esep + proto/crypto);
 *   3. eim_deliver() (migrations/0002) locks the device row, compares the
 *      counter with c, moves the operation to DELIVERED storing counter,
 *      transaction id and the exact bytes, and sets the counter to c+1, all
 *      in one transaction, before the bytes are handed to the caller.
 *      When another instance won the race nothing changes and the poll
 *      starts over (bounded). A DELIVERED operation is handed out again
 *      with its stored bytes, unchanged.
 * The database guarantees the invariants even against bugs here: a unique
 * index allows one DELIVERED signed package (and one data request) per
 * device, and a unique index on the audit trail allows each (EID,
 * counterValue) to be delivered once.
 *
 * Sleeping fleets: an in-memory set of EIDs with work (pending_set.h),
 * loaded after LISTEN eim_pending is in place, updated by NOTIFYs from the
 * enqueue trigger of every instance and by a periodic reconciliation, lets
 * a poll from a device without work be answered without PostgreSQL. While
 * the set is not authoritative (loading, LISTEN connection down, overflow)
 * polls ask the database.
 */
#ifndef EIM_STORAGE_QUEUE_H
#define EIM_STORAGE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"
#include "proto/base/metrics.h"
#include "storage/op_state.h"
#include "storage/pending_set.h"
#include "storage/pg_pool.h"

typedef struct eim_queue eim_queue_t;

#define EIM_QUEUE_TXID_LEN     16
#define EIM_QUEUE_MAX_ACKS     64     /* seqNumbers returned by one eim_queue_acks */
#define EIM_QUEUE_MAX_BULK     200000 /* operations or eUICCs per bulk call */
#define EIM_QUEUE_MAX_LIST     1000   /* rows per eim_queue_list page */
#define EIM_QUEUE_MAX_PARAMS   16384  /* bytes of an operation's parameters (JSON) */
#define EIM_QUEUE_PACKAGE_MAX  65536  /* bytes of one built package */
#define EIM_QUEUE_POLL_RETRIES 8      /* lost delivery races before EIM_ERR_BUSY */

/* What the package builder gets: everything needed to encode and sign. */
typedef struct {
    const char *op_id;
    const char *eid;        /* 32 uppercase hex digits */
    const char *eim_id;     /* the eIM identity the eUICC is associated with */
    const char *kind;       /* "psmo", "eco", "euicc_data_request", "download_trigger" */
    const char *parameters; /* JSON object as enqueued */
    bool uses_counter;      /* psmo/eco: a signed eUICC Package */
    uint64_t counter_value; /* when uses_counter */
    int64_t association_token;
    const uint8_t *transaction_id; /* EIM_QUEUE_TXID_LEN bytes */
} eim_queue_build_input_t;

/* Appends the complete package (e.g. BF51 signed) to out. Called on the
 * loop; must not block. An error cancels the operation (audited). */
typedef eim_err_t (*eim_queue_build_fn)(void *ctx, const eim_queue_build_input_t *in,
                                        eim_buf_t *out);

typedef struct {
    uv_loop_t *loop;
    eim_pg_pool_t *pool;
    eim_metrics_t *metrics; /* optional */
    eim_queue_build_fn build;
    void *build_ctx;
    const char *instance;      /* actor name in the audit trail (copied); default "eimd" */
    size_t pending_max;        /* EIDs kept in memory; default 262144 */
    int reconcile_interval_ms; /* default 60000 */
    int expire_interval_ms;    /* periodic expiry sweep; 0 = off */
    int expire_batch;          /* operations per sweep statement; default 1000 */
    int ecall_backoff_s;       /* first back-off after ecallActive; default 60 */
} eim_queue_options_t;

/* Starts the queue: registers LISTEN eim_pending on the pool (the pool must
 * outlive the queue) and loads the pending set once LISTEN is up. */
eim_queue_t *eim_queue_start(const eim_queue_options_t *options);
/* Stops timers; callbacks of statements still running are still called
 * (with the pool's result or error) before closed(ctx). */
void eim_queue_close(eim_queue_t *queue, void (*closed)(void *ctx), void *ctx);
/* True when the pending set is authoritative (polls for EIDs outside it are
 * answered from memory). */
bool eim_queue_pending_known(const eim_queue_t *queue);
size_t eim_queue_pending_count(const eim_queue_t *queue);

/* Generic completion: count is what the call documents (created rows, ...). */
typedef void (*eim_queue_done_cb)(eim_err_t err, size_t count, void *ctx);

/* ---- enqueue ---- */
typedef struct {
    const char *tenant;          /* NULL: "default" */
    const char *eid;             /* 32 hex digits; the eUICC must exist (else EIM_ERR_NOT_FOUND) */
    const char *kind;            /* see eim_queue_build_input_t */
    const char *parameters;      /* JSON object text; NULL: {} */
    int priority;                /* -1000..1000, higher first */
    const char *idempotency_key; /* optional, unique per tenant */
    int64_t not_before_s;        /* delay from now; 0: due now */
    int64_t expires_in_s;        /* 0: never */
} eim_queue_op_spec_t;

/* op_id (36 characters) is valid during the callback; created is false when
 * the idempotency key already existed (op_id is then the existing one). */
typedef void (*eim_queue_enqueue_cb)(eim_err_t err, const char *op_id, bool created, void *ctx);
void eim_queue_enqueue(eim_queue_t *queue, const eim_queue_op_spec_t *spec, eim_queue_enqueue_cb cb,
                       void *ctx);
/* One statement for all of specs (at most EIM_QUEUE_MAX_BULK); count =
 * operations created (existing idempotency keys are skipped). All or none:
 * an unknown EID fails the whole batch with EIM_ERR_NOT_FOUND. */
void eim_queue_enqueue_bulk(eim_queue_t *queue, const eim_queue_op_spec_t *specs, size_t n,
                            eim_queue_done_cb cb, void *ctx);

/* ---- the poll ---- */
typedef struct {
    const char *op_id;
    const char *kind;
    const uint8_t *package; /* exactly the stored bytes */
    size_t package_len;
    bool redelivery; /* handed out before: same bytes again */
    bool uses_counter;
    uint64_t counter_value;
    const uint8_t *transaction_id; /* EIM_QUEUE_TXID_LEN bytes */
} eim_queue_package_t;

/* package NULL with EIM_OK: nothing to send. Errors are retryable
 * (EIM_ERR_DB_UNAVAILABLE, EIM_ERR_BUSY) or EIM_ERR_DB. Everything pointed
 * to is valid during the callback only. */
typedef void (*eim_queue_package_cb)(eim_err_t err, const eim_queue_package_t *package, void *ctx);

typedef enum {
    EIM_QUEUE_POLL_NOTHING = 0, /* answered from memory: nothing queued; cb not called */
    EIM_QUEUE_POLL_ASYNC,       /* cb will be called */
} eim_queue_poll_t;

/* eid: the 16 bytes of the EID as they arrive from the wire (the poll path
 * never formats it unless it has to ask PostgreSQL). */
eim_queue_poll_t eim_queue_next_package(eim_queue_t *queue, const uint8_t eid[EIM_EID_LEN],
                                        eim_queue_package_cb cb, void *ctx);

/* ---- results (signature already verified by the caller) ---- */
typedef struct {
    const char *eid;
    const uint8_t *transaction_id; /* 1..16 bytes */
    size_t transaction_id_len;
    bool has_counter;
    uint64_t counter_value; /* echoed by the eUICC in signed results */
    bool is_error;          /* euiccPackageErrorSigned / data request error */
    int64_t code;           /* EuiccPackageErrorCode or the first result code */
    bool has_seq_number;    /* EuiccPackageResultDataSigned.seqNumber: to acknowledge */
    uint64_t seq_number;
    const uint8_t *raw; /* the result TLV as received */
    size_t raw_len;
    const char *decoded_json; /* optional JSON for operators */
    /* The caller acknowledges seq_number in the response that carries this
     * result (ProvideEimPackageResultResponse eimAcknowledgements, brief
     * §2.7): the operation goes straight to DONE in the same transaction
     * (the audit still shows RESULT_* then DONE). The caller must then also
     * acknowledge a DUPLICATE result's seqNumber again: the IPA resends a
     * result whose acknowledgement it did not get. */
    bool ack_in_response;
} eim_queue_result_t;

typedef enum {
    EIM_QUEUE_RESULT_APPLIED = 0,  /* DELIVERED -> RESULT_* (-> DONE when nothing to ack) */
    EIM_QUEUE_RESULT_DUPLICATE,    /* already recorded: nothing changed */
    EIM_QUEUE_RESULT_REQUEUED,     /* ecallActive: QUEUED again after a back-off */
    EIM_QUEUE_RESULT_REPLAY_FETCH, /* replayError: a BF52 fetch of the stored result queued */
    EIM_QUEUE_RESULT_NOT_FOUND,    /* no operation with this (EID, eimTransactionId) */
    EIM_QUEUE_RESULT_COUNTER_MISMATCH,
} eim_queue_result_status_t;

typedef void (*eim_queue_result_cb)(eim_err_t err, eim_queue_result_status_t status,
                                    const char *op_id, void *ctx);
void eim_queue_record_result(eim_queue_t *queue, const eim_queue_result_t *result,
                             eim_queue_result_cb cb, void *ctx);

/* ---- notifications and acknowledgements ---- */
/* Stores a notification (idempotent by (eid, kind, seq_number)); count = 1
 * when new, 0 when already stored. */
void eim_queue_record_notification(eim_queue_t *queue, const char *eid, uint64_t seq_number,
                                   const char *kind, const uint8_t *raw, size_t raw_len,
                                   eim_queue_done_cb cb, void *ctx);
/* notifyStateChange: schedules one inventory (listProfileInfo) unless one is
 * queued; count = 1 when the device exists. cause_json may be NULL. */
void eim_queue_state_change(eim_queue_t *queue, const char *eid, const char *cause_json,
                            eim_queue_done_cb cb, void *ctx);
/* seqNumbers of results and notifications recorded and not acknowledged
 * yet (at most EIM_QUEUE_MAX_ACKS, oldest first). */
typedef void (*eim_queue_acks_cb)(eim_err_t err, const uint64_t *seq_numbers, size_t n, void *ctx);
void eim_queue_acks(eim_queue_t *queue, const char *eid, eim_queue_acks_cb cb, void *ctx);
/* The acknowledgements were sent: RESULT_* -> DONE; count = rows updated. */
void eim_queue_acks_sent(eim_queue_t *queue, const char *eid, const uint64_t *seq_numbers, size_t n,
                         eim_queue_done_cb cb, void *ctx);

/* ---- operators ---- */
/* QUEUED/DELIVERED -> CANCELLED (count = 1); EIM_ERR_NOT_FOUND for an
 * unknown id, EIM_ERR_CONFLICT when the operation is no longer live. */
void eim_queue_cancel(eim_queue_t *queue, const char *op_id, eim_queue_done_cb cb, void *ctx);

typedef struct {
    const char *id;
    const char *tenant;
    const char *eid;
    const char *kind;
    eim_op_state_t state;
    int priority;
    const char *parameters;
    int attempts;
    bool has_counter;
    uint64_t counter_value;
    bool has_result_code;
    int64_t result_code;
    const char *created_at;
    const char *updated_at;
} eim_queue_op_t;

/* op valid during the callback; EIM_ERR_NOT_FOUND when unknown. */
typedef void (*eim_queue_get_cb)(eim_err_t err, const eim_queue_op_t *op, void *ctx);
void eim_queue_get(eim_queue_t *queue, const char *op_id, eim_queue_get_cb cb, void *ctx);

typedef struct {
    const char *eid; /* optional */
    bool has_state;
    eim_op_state_t state;
    const char *created_from;   /* optional timestamptz text, inclusive */
    const char *created_before; /* optional, exclusive */
    const char *cursor;         /* from the previous page, or NULL */
    int limit;                  /* 1..EIM_QUEUE_MAX_LIST */
} eim_queue_filter_t;

/* Ordered by (created_at, id); next_cursor NULL on the last page. */
typedef void (*eim_queue_list_cb)(eim_err_t err, const eim_queue_op_t *ops, size_t n,
                                  const char *next_cursor, void *ctx);
void eim_queue_list(eim_queue_t *queue, const eim_queue_filter_t *filter, eim_queue_list_cb cb,
                    void *ctx);

/* ---- devices ---- */
typedef struct {
    const char *eid;
    const char *eim_id; /* must exist in eim_identities */
    uint64_t counter_value;
    int64_t association_token;
    const char *default_smdp_address; /* optional */
} eim_queue_euicc_t;

/* Inserts or updates (the counter never goes down) up to EIM_QUEUE_MAX_BULK
 * eUICCs in one statement; count = rows written. */
void eim_queue_upsert_euiccs(eim_queue_t *queue, const eim_queue_euicc_t *euiccs, size_t n,
                             eim_queue_done_cb cb, void *ctx);

/* Expires up to limit overdue operations (SKIP LOCKED); count = expired. */
void eim_queue_expire(eim_queue_t *queue, int limit, eim_queue_done_cb cb, void *ctx);

#endif
