/*
 * Per-EID poll rate limit for GetEimPackage (SGP.32 §5.14.5 polls), shared
 * by every transport through the dispatcher. A device that polls faster
 * than configured is answered "too many requests" (HTTP 429 / CoAP 4.29,
 * RFC 8516) with a retry hint, before any other work is done.
 *
 * Token bucket per EID: `burst` polls at once, refilled at `per_minute`.
 * Buckets live in a fixed-size table indexed by a keyed hash of the EID;
 * a slot taken by another EID is simply reused (the older device starts
 * again with a full bucket), so memory is bounded and every operation is
 * O(1), at the price of forgetting some history under heavy collision.
 */
#ifndef EIM_SERVER_ESIPA_POLL_LIMITER_H
#define EIM_SERVER_ESIPA_POLL_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eim_poll_limiter eim_poll_limiter_t;

/* per_minute 0 disables the limit (every poll allowed). slots is rounded up
 * to a power of two. */
eim_poll_limiter_t *eim_poll_limiter_new(unsigned per_minute, unsigned burst, size_t slots);
void eim_poll_limiter_free(eim_poll_limiter_t *limiter);

/* Takes one token for eid (16 bytes) at now_ms (a monotonic clock). Returns
 * true when the poll may proceed; otherwise false and *retry_after_s says
 * when the next token is due (at least 1). */
bool eim_poll_limiter_allow(eim_poll_limiter_t *limiter, const uint8_t eid[16], uint64_t now_ms,
                            int *retry_after_s);

#endif
