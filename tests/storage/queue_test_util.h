/*
 * Helpers for the queue tests and the multi-process driver: a database with
 * the schema, one eIM identity and N eUICCs; a pool + queue on a loop; a
 * package builder producing "PKG|<eid>|<counter>|<txid hex>|<op id>" so a
 * simulated eUICC can read back what it was given; and blocking wrappers
 * that run the loop until a callback arrived (bounded).
 */
#ifndef EIM_TESTS_STORAGE_QUEUE_TEST_UTIL_H
#define EIM_TESTS_STORAGE_QUEUE_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "storage/queue.h"

typedef struct {
    uv_loop_t loop;
    eim_pg_pool_t *pool;
    eim_queue_t *queue;
    int builds;       /* builder calls */
    bool fail_builds; /* builder returns an error */
} qt_env_t;

/* Applies the migrations to dsn and inserts eim "eim1" and n eUICCs with
 * EIDs qt_eid(0..n-1) and counter start_counter. Blocking (setup only). */
void qt_setup_db(const char *dsn, int n, uint64_t start_counter);
/* EID number i: "8904903200000100" + 16 digits. out: 33 bytes. */
void qt_eid(int i, char out[33]);

/* Starts pool (size connections) and queue; waits (bounded) until the
 * pending set is known. Returns false if that did not happen in 10 s. */
bool qt_start(qt_env_t *env, const char *dsn, int size, const char *instance);
void qt_stop(qt_env_t *env);
/* Runs the loop until *flag or timeout_ms. */
bool qt_run_until(qt_env_t *env, const bool *flag, int timeout_ms);

/* The test builder (build_ctx = the env). */
eim_err_t qt_build(void *ctx, const eim_queue_build_input_t *in, eim_buf_t *out);
/* Parses a package made by qt_build. */
bool qt_parse_package(const uint8_t *pkg, size_t len, char eid[33], uint64_t *counter,
                      uint8_t txid[16], char op_id[40]);

/* Blocking wrappers (each runs the loop up to 10 s, fails the test otherwise). */
typedef struct {
    eim_err_t err;
    bool nothing; /* answered with no package */
    bool from_memory;
    char op_id[40];
    uint8_t package[512];
    size_t package_len;
    bool redelivery;
    uint64_t counter;
    uint8_t txid[16];
} qt_poll_t;
qt_poll_t qt_poll(qt_env_t *env, const char *eid);

eim_err_t qt_enqueue(qt_env_t *env, const eim_queue_op_spec_t *spec, char op_id[40], bool *created);
eim_queue_result_status_t qt_result(qt_env_t *env, const eim_queue_result_t *r, eim_err_t *err);
/* Result OK for a polled package, with seq number seq (0: none). */
eim_queue_result_status_t qt_result_ok(qt_env_t *env, const char *eid, const qt_poll_t *p,
                                       uint64_t seq);
eim_queue_result_status_t qt_result_error(qt_env_t *env, const char *eid, const qt_poll_t *p,
                                          int64_t code);
/* For eim_queue_done_cb calls: pass qt_on_done, &w; then qt_wait(env, &w). */
typedef struct {
    bool done;
    eim_err_t err;
    size_t count;
} qt_done_t;
void qt_on_done(eim_err_t err, size_t count, void *ctx);
void qt_wait(qt_env_t *env, qt_done_t *w);
eim_err_t qt_acks_sent(qt_env_t *env, const char *eid, const uint64_t *seqs, size_t n,
                       size_t *count);

#endif
