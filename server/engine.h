/*
 * The eIM core behind the device transports: the package-signing key
 * (SK.EIM.ECDSA), the operation queue with its package builder, the
 * last-seen buffer, the GSMA CI roots and the ESipa dispatcher. HTTPS and
 * CoAP/DTLS listeners hand their requests to engine->dispatcher.
 *
 * Started only when a device-facing listener is enabled, so that `serve`
 * without one needs no signing key.
 */
#ifndef EIM_SERVER_ENGINE_H
#define EIM_SERVER_ENGINE_H

#include <stddef.h>

#include <uv.h>

#include "proto/base/metrics.h"
#include "proto/crypto/cert_chain.h"
#include "proto/crypto/signer.h"
#include "server/config.h"
#include "server/esipa/dispatcher.h"
#include "server/esipa/package_builder.h"
#include "storage/device_seen.h"
#include "storage/pg_pool.h"
#include "storage/queue.h"

typedef struct {
    eim_signer_t *signer;
    eim_package_builder_t builder;
    eim_ci_store_t *ci;
    eim_queue_t *queue;
    eim_device_seen_t *seen;
    eim_esipa_dispatcher_t *dispatcher;
    void (*closed)(void *ctx);
    void *closed_ctx;
} eim_engine_t;

/* Loads the signing key and CI roots and starts the queue, the last-seen
 * buffer and the dispatcher on pool. On failure writes a one-line reason
 * (naming the file or key) and leaves nothing running. */
eim_err_t eim_engine_start(eim_engine_t *engine, uv_loop_t *loop, eim_pg_pool_t *pool,
                           eim_metrics_t *metrics, const eim_config_t *cfg, char *error,
                           size_t error_size);

/* ESipa requests still being answered. */
size_t eim_engine_in_flight(const eim_engine_t *engine);

/* Flushes the last-seen buffer, closes the queue and frees the rest; calls
 * closed(ctx) when nothing of the engine uses the pool any more (the pool
 * may be closed then). */
void eim_engine_close(eim_engine_t *engine, void (*closed)(void *ctx), void *ctx);

#endif
