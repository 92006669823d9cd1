/*
 * `eimd serve`: wires configuration, the libuv loop, the PostgreSQL pool, the
 * listeners and signal handling together. Contains no protocol logic.
 */
#ifndef EIM_SERVER_APP_H
#define EIM_SERVER_APP_H

#include "server/config.h"

/* Exit codes of eimd (sysexits-style where one fits). */
enum {
    EIM_EXIT_OK = 0,
    EIM_EXIT_FAILURE = 1,
    EIM_EXIT_USAGE = 64,
    EIM_EXIT_UNAVAILABLE = 69, /* database unreachable where it is required */
    EIM_EXIT_SOFTWARE = 70,
    EIM_EXIT_CONFIG = 78, /* invalid configuration or schema too old */
};

/* Runs until SIGTERM/SIGINT; returns a process exit code. */
int eim_app_serve(const eim_config_t *cfg);

#endif
