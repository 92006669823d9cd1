/*
 * eimd: the SGP.32 eSIM IoT remote Manager.
 *
 *   eimd [--config FILE] serve|migrate|keygen|version
 *   eimd [--config FILE] apikey create --tenant T --scope ro|rw [--description TEXT]
 *   eimd decode [--in hex|base64|der] [FILE|-|HEXSTRING]
 *
 * Without --config, the built-in defaults apply (the same values as
 * config/eimd.json); EIMD_<SECTION>_<KEY> environment variables override
 * either.
 */
#include <stdio.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/version.h>

#include "proto/base/log.h"
#include "server/apikey_cmd.h"
#include "server/app.h"
#include "server/config.h"
#include "server/decode_cmd.h"
#include "server/keygen.h"
#include "storage/migrations.h"

extern char **environ;

static void usage(FILE *out)
{
    fprintf(out, "usage: eimd [--config FILE] serve|migrate|keygen|version\n"
                 "       eimd [--config FILE] apikey create --tenant T --scope ro|rw "
                 "[--description TEXT]\n"
                 "       eimd decode [--in hex|base64|der] [FILE|-|HEXSTRING]\n"
                 "  serve    run the eIM (listeners, database pool) until SIGTERM/SIGINT\n"
                 "  migrate  apply pending database migrations and exit\n"
                 "  keygen   create missing development keys and certificates\n"
                 "  version  print the version and exit\n"
                 "  apikey   create a REST API key (printed once; stored hashed)\n"
                 "  decode   print an ESipa/ESep message (hex, base64 or DER) as JSON\n");
}

static int run_migrate(const eim_config_t *cfg)
{
    char error[512];
    int applied = 0;
    eim_err_t err = eim_migrations_apply(cfg->database.dsn, eim_migrations, eim_migration_count,
                                         &applied, error, sizeof(error));
    if (err) {
        eim_log_error("migrate failed", "reason", error);
        return err == EIM_ERR_DB_UNAVAILABLE ? EIM_EXIT_UNAVAILABLE : EIM_EXIT_FAILURE;
    }
    char n[16], v[16];
    snprintf(n, sizeof(n), "%d", applied);
    snprintf(v, sizeof(v), "%d", eim_migrations_latest());
    eim_log_info("schema is current", "applied", n, "schema_version", v);
    return EIM_EXIT_OK;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *command = NULL;
    int command_index = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EIM_EXIT_OK;
        } else if (!command && argv[i][0] != '-') {
            command = argv[i];
            command_index = i;
            /* apikey takes its own arguments after the command */
            if (strcmp(command, "apikey") == 0)
                break;
            /* decode takes its own arguments and needs no configuration. */
            if (strcmp(command, "decode") == 0)
                return eim_decode_cmd(argc - i - 1, argv + i + 1, stdin, stdout, stderr);
        } else {
            fprintf(stderr, "eimd: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return EIM_EXIT_USAGE;
        }
    }
    if (!command) {
        usage(stderr);
        return EIM_EXIT_USAGE;
    }
    if (strcmp(command, "version") == 0) {
        printf("eimd %s (wolfSSL %s)\n", EIMD_VERSION, LIBWOLFSSL_VERSION_STRING);
        return EIM_EXIT_OK;
    }

    eim_config_t cfg;
    eim_config_defaults(&cfg);
    char error[512];
    if (eim_config_load(&cfg, config_path, environ, error, sizeof(error)) != EIM_OK) {
        eim_log_error("invalid configuration", "reason", error);
        eim_config_free(&cfg);
        return EIM_EXIT_CONFIG;
    }
    eim_log_set_level(cfg.log_level);

    int code;
    if (strcmp(command, "serve") == 0) {
        code = eim_app_serve(&cfg);
    } else if (strcmp(command, "migrate") == 0) {
        code = run_migrate(&cfg);
    } else if (strcmp(command, "keygen") == 0) {
        code = eim_keygen(&cfg);
    } else if (strcmp(command, "apikey") == 0) {
        code = eim_apikey_cmd(&cfg, argc - command_index - 1, argv + command_index + 1, stdout,
                              stderr);
    } else {
        fprintf(stderr, "eimd: unknown command '%s'\n", command);
        usage(stderr);
        code = EIM_EXIT_USAGE;
    }
    eim_config_free(&cfg);
    return code;
}
