/*
 * CoAP over DTLS glue. See coap_dtls.h.
 *
 * The table maps a session key to the referenced DTLS session (chained
 * hash, grows by doubling; its size is bounded by the DTLS layer's own
 * max_sessions because only live sessions are in it).
 */
#include "server/coap/coap_dtls.h"

#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

typedef struct entry {
    struct entry *next;
    eim_coap_key_t key;
    eim_dtls_session_t *session;
} entry_t;

struct eim_coap_dtls {
    eim_coap_endpoint_t *endpoint;
    entry_t **buckets;
    size_t bucket_count;
    size_t count;
};

static size_t hash_key(const eim_coap_key_t *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < key->len; i++)
        h = (h ^ key->bytes[i]) * 1099511628211ULL;
    return (size_t)h;
}

static entry_t **find_slot(eim_coap_dtls_t *g, const eim_coap_key_t *key)
{
    entry_t **p = &g->buckets[hash_key(key) & (g->bucket_count - 1)];
    while (*p && !((*p)->key.len == key->len && memcmp((*p)->key.bytes, key->bytes, key->len) == 0))
        p = &(*p)->next;
    return p;
}

static void grow(eim_coap_dtls_t *g)
{
    size_t n = g->bucket_count * 2;
    entry_t **b = eim_calloc(n, sizeof(*b));
    for (size_t i = 0; i < g->bucket_count; i++) {
        entry_t *e = g->buckets[i];
        while (e) {
            entry_t *next = e->next;
            size_t at = hash_key(&e->key) & (n - 1);
            e->next = b[at];
            b[at] = e;
            e = next;
        }
    }
    free(g->buckets);
    g->buckets = b;
    g->bucket_count = n;
}

static void key_of(const eim_dtls_session_t *session, eim_coap_key_t *key)
{
    eim_coap_key_set(key, eim_dtls_session_key(session), EIM_DTLS_KEY_SIZE);
}

static void on_send(const eim_coap_key_t *key, const uint8_t *data, size_t len, void *ctx)
{
    eim_coap_dtls_t *g = ctx;
    entry_t *e = *find_slot(g, key);
    if (e == NULL)
        return; /* the session is gone: the datagram is lost, as on the wire */
    eim_err_t err = eim_dtls_send(e->session, data, len);
    if (err != EIM_OK)
        eim_log_debug("coaps: send failed", "session", eim_dtls_session_key_hex(e->session),
                      "error", eim_strerror(err));
}

void eim_coap_dtls_on_data(eim_dtls_session_t *session, const uint8_t *data, size_t len, void *ctx)
{
    eim_coap_dtls_t *g = ctx;
    eim_coap_key_t key;
    key_of(session, &key);
    entry_t **slot = find_slot(g, &key);
    if (*slot == NULL) {
        entry_t *e = EIM_NEW(entry_t);
        e->key = key;
        e->session = eim_dtls_session_ref(session);
        *slot = e;
        if (++g->count > g->bucket_count * 2)
            grow(g);
    } else if ((*slot)->session != session) {
        /* A new object for the same key (revived from the database). */
        eim_dtls_session_unref((*slot)->session);
        (*slot)->session = eim_dtls_session_ref(session);
    }
    eim_coap_endpoint_input(g->endpoint, &key, eim_dtls_session_peer(session), data, len);
}

void eim_coap_dtls_on_closed(eim_dtls_session_t *session, void *ctx)
{
    eim_coap_dtls_t *g = ctx;
    eim_coap_key_t key;
    key_of(session, &key);
    entry_t **slot = find_slot(g, &key);
    if (*slot != NULL && (*slot)->session == session) {
        entry_t *e = *slot;
        *slot = e->next;
        g->count--;
        eim_dtls_session_unref(e->session);
        free(e);
        eim_coap_endpoint_forget(g->endpoint, &key);
    }
}

eim_coap_dtls_t *eim_coap_dtls_new(const eim_coap_endpoint_options_t *options)
{
    eim_coap_dtls_t *g = EIM_NEW(eim_coap_dtls_t);
    g->bucket_count = 64;
    g->buckets = eim_calloc(g->bucket_count, sizeof(*g->buckets));
    eim_coap_endpoint_options_t o = *options;
    o.send = on_send;
    o.send_ctx = g;
    g->endpoint = eim_coap_endpoint_new(&o);
    return g;
}

eim_coap_endpoint_t *eim_coap_dtls_endpoint(eim_coap_dtls_t *g)
{
    return g->endpoint;
}

void eim_coap_dtls_free(eim_coap_dtls_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->bucket_count; i++) {
        entry_t *e = g->buckets[i];
        while (e) {
            entry_t *next = e->next;
            eim_dtls_session_unref(e->session);
            free(e);
            e = next;
        }
    }
    free(g->buckets);
    eim_coap_endpoint_free(g->endpoint);
    free(g);
}
