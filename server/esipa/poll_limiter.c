/* Per-EID poll rate limit: see poll_limiter.h. */
#include "server/esipa/poll_limiter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "proto/base/memory.h"

typedef struct {
    uint8_t eid[16];
    bool used;
    double tokens;
    uint64_t refilled_ms;
} bucket_t;

struct eim_poll_limiter {
    unsigned per_minute;
    unsigned burst;
    size_t mask;
    uint64_t seed[2]; /* keyed hash: devices cannot aim at each other's slots */
    bucket_t *buckets;
};

eim_poll_limiter_t *eim_poll_limiter_new(unsigned per_minute, unsigned burst, size_t slots)
{
    eim_poll_limiter_t *l = EIM_NEW(eim_poll_limiter_t);
    l->per_minute = per_minute;
    l->burst = burst ? burst : 1;
    size_t n = 16;
    while (n < slots && n < ((size_t)1 << 30))
        n <<= 1;
    l->mask = n - 1;
    l->buckets = eim_calloc(n, sizeof(bucket_t));
    WC_RNG rng;
    if (wc_InitRng(&rng) == 0) {
        wc_RNG_GenerateBlock(&rng, (byte *)l->seed, sizeof(l->seed));
        wc_FreeRng(&rng);
    }
    return l;
}

void eim_poll_limiter_free(eim_poll_limiter_t *limiter)
{
    if (!limiter)
        return;
    free(limiter->buckets);
    free(limiter);
}

/* FNV-1a over seed || EID: cheap, and keyed so slots are not predictable. */
static size_t slot_of(const eim_poll_limiter_t *l, const uint8_t eid[16])
{
    uint64_t h = 1469598103934665603ull ^ l->seed[0];
    for (int i = 0; i < 16; i++)
        h = (h ^ eid[i]) * 1099511628211ull;
    h ^= l->seed[1];
    h *= 1099511628211ull;
    return (size_t)(h ^ (h >> 29)) & l->mask;
}

bool eim_poll_limiter_allow(eim_poll_limiter_t *limiter, const uint8_t eid[16], uint64_t now_ms,
                            int *retry_after_s)
{
    if (limiter->per_minute == 0)
        return true;
    bucket_t *b = &limiter->buckets[slot_of(limiter, eid)];
    if (!b->used || memcmp(b->eid, eid, 16) != 0) {
        memcpy(b->eid, eid, 16);
        b->used = true;
        b->tokens = limiter->burst;
        b->refilled_ms = now_ms;
    }
    double rate_per_ms = limiter->per_minute / 60000.0;
    if (now_ms > b->refilled_ms) {
        b->tokens += (double)(now_ms - b->refilled_ms) * rate_per_ms;
        if (b->tokens > limiter->burst)
            b->tokens = limiter->burst;
        b->refilled_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    /* whole seconds until the next token, rounded up (the epsilon absorbs
     * floating-point noise in the refill sum) */
    double wait_s = (1.0 - b->tokens) / rate_per_ms / 1000.0;
    int seconds = (int)ceil(wait_s - 1e-9);
    *retry_after_s = seconds > 0 ? seconds : 1;
    return false;
}
