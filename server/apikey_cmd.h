/*
 * `eimd apikey create --tenant T --scope ro|rw [--description TEXT]`:
 * creates an API key of the operators' REST API (storage/api_keys.h) and
 * prints the token once on stdout; only its salted hash is stored.
 */
#ifndef EIM_SERVER_APIKEY_CMD_H
#define EIM_SERVER_APIKEY_CMD_H

#include <stdio.h>

#include "server/config.h"

/* argv holds the words after "apikey"; returns an exit code. */
int eim_apikey_cmd(const eim_config_t *cfg, int argc, char **argv, FILE *out, FILE *err);

#endif
