/*
 * `eimd apikey create`: see apikey_cmd.h. Blocking libpq is fine here: the
 * command runs before (and outside) any event loop.
 */
#include "server/apikey_cmd.h"

#include <string.h>

#include "proto/base/log.h"
#include "server/app.h"
#include "storage/api_keys.h"

int eim_apikey_cmd(const eim_config_t *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    const char *tenant = NULL, *scope = NULL, *description = NULL;
    if (argc < 1 || strcmp(argv[0], "create") != 0) {
        fprintf(err, "usage: eimd apikey create --tenant TENANT --scope ro|rw "
                     "[--description TEXT]\n");
        return EIM_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--tenant") == 0)
            slot = &tenant;
        else if (strcmp(argv[i], "--scope") == 0)
            slot = &scope;
        else if (strcmp(argv[i], "--description") == 0)
            slot = &description;
        if (!slot || i + 1 >= argc) {
            fprintf(err, "eimd apikey: unexpected argument '%s'\n", argv[i]);
            return EIM_EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    if (!tenant || !scope) {
        fprintf(err, "eimd apikey create: --tenant and --scope are required\n");
        return EIM_EXIT_USAGE;
    }
    char token[EIM_API_KEY_TOKEN_SIZE];
    char error[512];
    eim_err_t e = eim_api_key_create(cfg->database.dsn, tenant, scope, description, token, error,
                                     sizeof(error));
    if (e == EIM_ERR_INVALID_ARG) {
        fprintf(err, "eimd apikey create: %s\n", error);
        return EIM_EXIT_USAGE;
    }
    if (e) {
        eim_log_error("apikey create failed", "reason", error);
        return e == EIM_ERR_DB_UNAVAILABLE ? EIM_EXIT_UNAVAILABLE : EIM_EXIT_FAILURE;
    }
    char id[EIM_API_KEY_ID_HEX + 1];
    memcpy(id, token + 5, EIM_API_KEY_ID_HEX);
    id[EIM_API_KEY_ID_HEX] = '\0';
    eim_log_info("api key created", "key_id", id, "tenant", tenant, "scope", scope);
    fprintf(out, "%s\n", token);
    memset(token, 0, sizeof(token));
    return EIM_EXIT_OK;
}
