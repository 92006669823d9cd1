/*
 * Schema migrations: migrations/NNNN_name.sql, embedded into the binary at
 * build time (storage/embed_migrations.cmake), applied in order, each in its
 * own transaction, and recorded in schema_migrations(version, name,
 * applied_at). A session-level advisory lock serializes instances that start
 * together, so each migration is applied exactly once.
 *
 * These functions use blocking libpq: they run from `eimd migrate` and before
 * `eimd serve` starts its loop, never on the loop.
 */
#ifndef EIM_STORAGE_MIGRATIONS_H
#define EIM_STORAGE_MIGRATIONS_H

#include <stddef.h>

#include "proto/base/error.h"

typedef struct {
    int version;      /* NNNN */
    const char *name; /* "NNNN_name" */
    const char *sql;
} eim_migration_t;

/* The migrations this build carries, sorted; terminated by a zero entry. */
extern const eim_migration_t eim_migrations[];
extern const size_t eim_migration_count;

/* Version of the newest embedded migration (what `serve` expects). */
int eim_migrations_latest(void);

/* Checks a migration list: versions start at 1 and rise by exactly 1, names
 * are "NNNN_lowercase_name" matching their version. */
eim_err_t eim_migrations_validate(const eim_migration_t *list, size_t count, char *error,
                                  size_t error_size);

/* Applies every migration of list not yet recorded in dsn's database.
 * *applied (optional) receives how many this call applied. */
eim_err_t eim_migrations_apply(const char *dsn, const eim_migration_t *list, size_t count,
                               int *applied, char *error, size_t error_size);

/* Highest applied version (0 for a database never migrated). */
eim_err_t eim_migrations_current(const char *dsn, int *version, char *error, size_t error_size);

#endif
