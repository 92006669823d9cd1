/*
 * Schema migrations runner. See migrations.h.
 */
#include "storage/migrations.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "proto/base/log.h"

/* Arbitrary constant shared by every eimd: "eimd" + "migr" in ASCII. */
#define MIGRATION_LOCK_KEY "7308819245626255218"

static void fail(char *error, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(char *error, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
    error[strcspn(error, "\n")] = '\0';
}

int eim_migrations_latest(void)
{
    return eim_migration_count ? eim_migrations[eim_migration_count - 1].version : 0;
}

eim_err_t eim_migrations_validate(const eim_migration_t *list, size_t count, char *error,
                                  size_t error_size)
{
    for (size_t i = 0; i < count; i++) {
        const eim_migration_t *m = &list[i];
        char prefix[8];
        snprintf(prefix, sizeof(prefix), "%04d_", m->version);
        /* Versions rise strictly; gaps are allowed because parallel branches
         * reserve numbers (each migration is recorded by version, so one
         * that lands later in a gap is still applied exactly once). */
        int previous = i ? list[i - 1].version : 0;
        if (m->version <= previous) {
            fail(error, error_size,
                 "migration %s: expected a version above %d (versions must rise)", m->name,
                 previous);
            return EIM_ERR_INVALID_ARG;
        }
        if (strncmp(m->name, prefix, 5) != 0 || !m->name[5]) {
            fail(error, error_size, "migration %s: name must be \"%s<name>\"", m->name, prefix);
            return EIM_ERR_INVALID_ARG;
        }
        for (const char *p = m->name + 5; *p; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
                fail(error, error_size, "migration %s: name may hold only [a-z0-9_]", m->name);
                return EIM_ERR_INVALID_ARG;
            }
        }
        if (!m->sql || !*m->sql) {
            fail(error, error_size, "migration %s is empty", m->name);
            return EIM_ERR_INVALID_ARG;
        }
    }
    return EIM_OK;
}

/* Runs one statement (or script); true when it succeeded. */
static bool exec_ok(PGconn *conn, const char *sql, char *error, size_t error_size)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fail(error, error_size, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static PGconn *connect_db(const char *dsn, char *error, size_t error_size)
{
    PGconn *conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fail(error, error_size, "cannot connect to the database: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    /* quiet the "relation already exists, skipping" notices */
    char ignored[64];
    exec_ok(conn, "SET client_min_messages = warning", ignored, sizeof(ignored));
    return conn;
}

static int read_version(PGconn *conn, char *error, size_t error_size)
{
    PGresult *res = PQexec(conn, "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL "
                                 "THEN 0 ELSE (SELECT 1) END");
    int version = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fail(error, error_size, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    bool exists = atoi(PQgetvalue(res, 0, 0)) == 1;
    PQclear(res);
    if (!exists)
        return 0;
    res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        version = atoi(PQgetvalue(res, 0, 0));
    else
        fail(error, error_size, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return version;
}

eim_err_t eim_migrations_current(const char *dsn, int *version, char *error, size_t error_size)
{
    PGconn *conn = connect_db(dsn, error, error_size);
    if (!conn)
        return EIM_ERR_DB_UNAVAILABLE;
    *version = read_version(conn, error, error_size);
    PQfinish(conn);
    return *version < 0 ? EIM_ERR_DB : EIM_OK;
}

static bool is_applied(PGconn *conn, int version, bool *applied, char *error, size_t error_size)
{
    char text[16];
    snprintf(text, sizeof(text), "%d", version);
    const char *params[] = {text};
    PGresult *res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                                 NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok)
        *applied = PQntuples(res) > 0;
    else
        fail(error, error_size, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static bool apply_one(PGconn *conn, const eim_migration_t *m, char *error, size_t error_size)
{
    if (!exec_ok(conn, "BEGIN", error, error_size))
        return false;
    char reason[512];
    if (!exec_ok(conn, m->sql, reason, sizeof(reason))) {
        fail(error, error_size, "migration %s failed: %s", m->name, reason);
        exec_ok(conn, "ROLLBACK", reason, sizeof(reason));
        return false;
    }
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[] = {version, m->name};
    PGresult *res =
        PQexecParams(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL,
                     params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fail(error, error_size, "recording migration %s: %s", m->name, PQresultErrorMessage(res));
    PQclear(res);
    if (!ok) {
        exec_ok(conn, "ROLLBACK", reason, sizeof(reason));
        return false;
    }
    return exec_ok(conn, "COMMIT", error, error_size);
}

eim_err_t eim_migrations_apply(const char *dsn, const eim_migration_t *list, size_t count,
                               int *applied, char *error, size_t error_size)
{
    eim_err_t err = eim_migrations_validate(list, count, error, error_size);
    if (err)
        return err;
    PGconn *conn = connect_db(dsn, error, error_size);
    if (!conn)
        return EIM_ERR_DB_UNAVAILABLE;
    int done = 0;
    err = EIM_ERR_DB;
    if (!exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", error, error_size))
        goto out;
    if (!exec_ok(conn,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY,"
                 " name text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 error, error_size))
        goto unlock;
    for (size_t i = 0; i < count; i++) {
        bool already;
        if (!is_applied(conn, list[i].version, &already, error, error_size))
            goto unlock;
        if (already)
            continue;
        if (!apply_one(conn, &list[i], error, error_size))
            goto unlock;
        eim_log_info("migration applied", "migration", list[i].name);
        done++;
    }
    err = EIM_OK;
unlock:;
    char ignored[64];
    exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", ignored, sizeof(ignored));
out:
    PQfinish(conn);
    if (applied)
        *applied = done;
    return err;
}
