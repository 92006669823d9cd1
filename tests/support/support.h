/*
 * Helpers shared by eimd's tests: throwaway databases in the test cluster
 * that tests/run starts, child processes, a minimal blocking HTTP client for
 * loopback, and temporary files.
 */
#ifndef EIM_TESTS_SUPPORT_H
#define EIM_TESTS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates a fresh database named "<prefix>_<random>" in the test cluster
 * (EIMD_TEST_DSN) and returns its URI (heap). Aborts the test when the
 * cluster is missing: run the suite through tests/run. */
char *test_pg_create_db(const char *prefix);
/* Runs one SQL statement on dsn; returns the first column of the first row
 * (heap, "" when none) or NULL on error. */
char *test_pg_query_value(const char *dsn, const char *sql);
/* Runs one SQL statement that must succeed (the test fails otherwise). */
void test_pg_exec(const char *dsn, const char *sql);
/* The first column of the first row of sql as a number (must succeed). */
long test_pg_long(const char *dsn, const char *sql);
/* Stops / starts the test cluster (EIMD_TEST_PG_CTL on EIMD_TEST_PG_CLUSTER). */
void test_pg_cluster(const char *action);

/* Path of the eimd binary of this build tree. */
const char *test_eimd_path(void);

/* Starts argv with extra "NAME=value" environment entries (NULL-terminated),
 * stdout+stderr appended to log_path (may be NULL). */
pid_t test_spawn(char *const argv[], char *const extra_env[], const char *log_path);
/* Waits up to timeout_ms; returns the exit code, 128+signal, or -1 on timeout. */
int test_wait(pid_t pid, int timeout_ms);

/* A free TCP port on 127.0.0.1 (bound and released). */
int test_free_port(void);

/* Sends request (raw bytes) to 127.0.0.1:port and reads until the peer
 * closes, response_size-1 bytes or timeout_ms. Returns bytes read (NUL
 * terminated) or -1 when the connection failed. */
ssize_t test_http_raw(int port, const char *request, size_t request_len, char *response,
                      size_t response_size, int timeout_ms);
/* GET path with Connection: close; returns the status (body copied into
 * body when given) or -1 when nothing answered. */
int test_http_get(int port, const char *path, char *body, size_t body_size);

/* Polls test_http_get(port, path) until it returns want or timeout_ms passes;
 * returns the last status seen. */
int test_http_wait_status(int port, const char *path, int want, int timeout_ms);

/* dir/name. Each name keeps its own buffer, so a returned path stays valid
 * and unchanged across later calls (until the same name is asked again
 * with another dir). */
const char *test_path(const char *dir, const char *name);

/* Prints a process log file to stderr (for failing tests). */
void test_dump_log(const char *path);

/* Reads a whole file (heap, NUL-terminated) or NULL. */
char *test_read_file(const char *path);

#endif
