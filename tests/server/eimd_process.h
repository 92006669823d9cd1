/*
 * An `eimd serve` process for end-to-end tests (ESipa over HTTPS and over
 * CoAP/DTLS): a temporary folder for keys, bodies and the log, a migrated
 * database of its own in the test cluster holding the eIM identity
 * EIMD_PROCESS_EIM_ID, the test PKI's eUICC key, a free admin port, and the
 * environment every such test gives eimd (database, admin listener, eIM id,
 * keys in the folder, quick reconnects). A suite adds its listeners with
 * eimd_process_env, then keygen and start.
 */
#ifndef EIM_TESTS_SERVER_EIMD_PROCESS_H
#define EIM_TESTS_SERVER_EIMD_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "proto/crypto/signer.h"

#define EIMD_PROCESS_EIM_ID "eim.example.org"
#define EIMD_PROCESS_ENV    32

typedef struct {
    char dir[64];
    char *dsn;
    int admin_port;
    pid_t pid; /* 0 when not running */
    eim_signer_t *euicc;
    size_t env_count;
    char env[EIMD_PROCESS_ENV][600];
    char *envp[EIMD_PROCESS_ENV + 1];
} eimd_process_t;

/* name: a short word for the folder and the database name. */
void eimd_process_init(eimd_process_t *p, const char *name);
/* Adds one NAME=value entry (printf format). */
void eimd_process_env(eimd_process_t *p, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* eimd keygen into the folder (signing key, TLS CA, chain, raw public key). */
void eimd_process_keygen(eimd_process_t *p);
/* eimd serve; returns once /readyz answers 200 (fails the test otherwise). */
void eimd_process_start(eimd_process_t *p);
/* SIGTERM; eimd must exit 0 within 15 s. */
void eimd_process_stop(eimd_process_t *p);
/* Stops eimd if it runs, removes the folder, frees what init made. */
void eimd_process_cleanup(eimd_process_t *p);

/* folder/name (see test_path for the lifetime of the result). */
const char *eimd_path(const eimd_process_t *p, const char *name);
/* Prints eimd's log to stderr. */
void eimd_dump_log(const eimd_process_t *p);

#endif
