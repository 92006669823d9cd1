/*
 * The eIM core: see engine.h. Start-up order follows the dependencies
 * (key -> queue with builder -> last-seen buffer -> dispatcher); closing
 * goes the other way and ends with the storage users, so that the pool can
 * be closed after the last-seen flush reached PostgreSQL.
 */
#include "server/engine.h"

#include <stdio.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "proto/crypto/software_signer.h"

static eim_err_t load_ci_roots(eim_ci_store_t *ci, const char *list, char *error, size_t error_size)
{
    char *copy = eim_strdup(list);
    eim_err_t err = EIM_OK;
    char *save = NULL;
    for (char *path = strtok_r(copy, ":", &save); path; path = strtok_r(NULL, ":", &save)) {
        err = eim_ci_store_add_file(ci, path);
        if (err) {
            snprintf(error, error_size, "esipa.ci_roots: cannot use %s as a CI root: %s", path,
                     eim_strerror(err));
            break;
        }
    }
    free(copy);
    return err;
}

eim_err_t eim_engine_start(eim_engine_t *engine, uv_loop_t *loop, eim_pg_pool_t *pool,
                           eim_metrics_t *metrics, const eim_config_t *cfg, char *error,
                           size_t error_size)
{
    memset(engine, 0, sizeof(*engine));
    eim_err_t err = eim_software_signer_load_file(cfg->keys.signing_key, &engine->signer);
    if (err) {
        snprintf(error, error_size,
                 "keys.signing_key: cannot load %s (%s); `eimd keygen` creates a development key",
                 cfg->keys.signing_key, eim_strerror(err));
        return err;
    }
    engine->ci = eim_ci_store_new();
    err = load_ci_roots(engine->ci, cfg->esipa.ci_roots, error, error_size);
    if (err) {
        eim_ci_store_free(engine->ci);
        eim_signer_destroy(engine->signer);
        memset(engine, 0, sizeof(*engine));
        return err;
    }
    engine->builder.signer = engine->signer;
    eim_queue_options_t queue_options = {
        .loop = loop,
        .pool = pool,
        .metrics = metrics,
        .build = eim_package_builder_build,
        .build_ctx = &engine->builder,
        .expire_interval_ms = 60000,
    };
    engine->queue = eim_queue_start(&queue_options);
    eim_device_seen_options_t seen_options = {.loop = loop, .pool = pool, .metrics = metrics};
    engine->seen = eim_device_seen_start(&seen_options);
    eim_esipa_dispatcher_options_t options = {
        .loop = loop,
        .queue = engine->queue,
        .pool = pool,
        .seen = engine->seen,
        .metrics = metrics,
        .ci = eim_ci_store_count(engine->ci) ? engine->ci : NULL,
        .unknown_key_policy = cfg->esipa.apply_unverified_results
                                  ? EIM_ESIPA_UNKNOWN_KEY_APPLY_UNVERIFIED
                                  : EIM_ESIPA_UNKNOWN_KEY_REFUSE,
        .retry_after_s = cfg->esipa.retry_after_s,
        .key_cache_capacity = (size_t)cfg->esipa.key_cache_size,
        .polls_per_minute = (unsigned)cfg->esipa.polls_per_minute,
        .poll_burst = (unsigned)cfg->esipa.poll_burst,
    };
    engine->dispatcher = eim_esipa_dispatcher_new(&options);
    return EIM_OK;
}

size_t eim_engine_in_flight(const eim_engine_t *engine)
{
    return engine->dispatcher ? eim_esipa_dispatcher_in_flight(engine->dispatcher) : 0;
}

static void on_queue_closed(void *ctx)
{
    eim_engine_t *engine = ctx;
    eim_signer_destroy(engine->signer);
    eim_ci_store_free(engine->ci);
    engine->signer = NULL;
    engine->ci = NULL;
    engine->queue = NULL;
    if (engine->closed)
        engine->closed(engine->closed_ctx);
}

static void on_seen_closed(void *ctx)
{
    eim_engine_t *engine = ctx;
    engine->seen = NULL;
    eim_queue_close(engine->queue, on_queue_closed, engine);
}

void eim_engine_close(eim_engine_t *engine, void (*closed)(void *ctx), void *ctx)
{
    engine->closed = closed;
    engine->closed_ctx = ctx;
    if (engine->dispatcher)
        eim_esipa_dispatcher_free(engine->dispatcher);
    engine->dispatcher = NULL;
    eim_device_seen_close(engine->seen, on_seen_closed, engine);
}
