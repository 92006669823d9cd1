/*
 * CoAP server endpoint (RFC 7252 §4, §5; RFC 7959). See coap_endpoint.h.
 *
 * State per session key: the exchanges of the last EXCHANGE_LIFETIME
 * (bounded list, newest last; each holds the datagram it was answered
 * with), one Block1 reassembly and one Block2 body. Sessions sit in a hash
 * table (lookup) and in a list ordered by last activity (sweep and budget
 * eviction walk it from the oldest end and stop at the first one that is
 * still fresh). An exchange that waits owns a uv_timer_t: first the
 * piggyback window, then, for a separate CON response, the retransmission
 * back-off. Freed exchanges close their timer; the memory goes in the
 * close callback.
 */
#include "server/coap/coap_endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

#define RESPONSE_MAX   (EIM_COAP_BLOCK_SIZE(EIM_COAP_MAX_BLOCK_SZX) + 128)
#define DIAGNOSTIC_MAX 120

typedef struct session session_t;

typedef enum { X_RUNNING, X_DONE } exchange_state_t;

struct eim_coap_exchange {
    eim_coap_endpoint_t *ep; /* NULL once orphaned */
    session_t *session;
    eim_coap_exchange_t *prev, *next;
    exchange_state_t state;
    eim_coap_type_t request_type;
    uint16_t request_mid;
    uint8_t token[EIM_COAP_MAX_TOKEN];
    size_t token_len;
    uint64_t created_ms;
    bool empty_ack_sent;
    bool retransmitting;
    uint16_t response_mid;
    uint8_t *response; /* the datagram answered with */
    size_t response_len;
    unsigned retransmits;
    uint64_t timeout_ms;
    uv_timer_t timer;
    /* From the request, for building the response. */
    eim_coap_block_t block1; /* echoed (RFC 7959 §2.3) */
    eim_coap_block_t block2; /* preferred size of the client */
    int content_format;
};

struct session {
    eim_coap_key_t key;
    session_t *hash_next;
    session_t *older, *newer; /* activity list */
    uint64_t last_ms;
    char peer[EIM_COAP_MAX_PEER];
    eim_coap_exchange_t *first, *last;
    size_t exchange_count;
    size_t running;
    uint16_t next_mid;
    /* Block1 reassembly (RFC 7959 §2.5). */
    bool block1_active;
    eim_buf_t block1_body;
    /* Block2 body being served (RFC 7959 §2.4). */
    uint8_t *block2_body;
    size_t block2_len;
    uint8_t block2_code;
    int block2_format;
    uint32_t block2_etag;
};

typedef struct {
    eim_counter_t *by_code[256];
    eim_counter_t *retransmissions;
    eim_counter_t *duplicates;
    eim_counter_t *drops_malformed;
    eim_counter_t *drops_not_request;
    eim_counter_t *drops_unmatched;
    eim_counter_t *drops_session_busy;
    eim_counter_t *drops_too_many_sessions;
    eim_counter_t *drops_retransmit_exhausted;
} endpoint_metrics_t;

struct eim_coap_endpoint {
    eim_coap_endpoint_options_t o;
    char resource[EIM_COAP_MAX_URI_PATH + 1];
    session_t **buckets;
    size_t bucket_count;
    size_t session_count;
    session_t *oldest, *newest;
    size_t in_flight;
    size_t cache_bytes;
    uint64_t rng;
    uint32_t next_etag;
    uv_timer_t sweep;
    endpoint_metrics_t m;
};

/* ---- small helpers ------------------------------------------------------ */

static void count(eim_counter_t *c)
{
    if (c != NULL)
        eim_counter_inc(c);
}

static uint64_t next_random(eim_coap_endpoint_t *ep)
{
    /* xorshift64*: jitter and initial message IDs, not security. */
    ep->rng ^= ep->rng >> 12;
    ep->rng ^= ep->rng << 25;
    ep->rng ^= ep->rng >> 27;
    return ep->rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t now_ms(const eim_coap_endpoint_t *ep)
{
    return uv_now(ep->o.loop);
}

void eim_coap_key_set(eim_coap_key_t *key, const void *bytes, size_t len)
{
    if (len > EIM_COAP_MAX_KEY)
        len = EIM_COAP_MAX_KEY;
    key->len = (uint8_t)len;
    memcpy(key->bytes, bytes, len);
}

static bool key_equal(const eim_coap_key_t *a, const eim_coap_key_t *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static size_t key_hash(const eim_coap_key_t *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < key->len; i++)
        h = (h ^ key->bytes[i]) * 1099511628211ULL;
    return (size_t)h;
}

static void send_datagram(eim_coap_endpoint_t *ep, session_t *s, const uint8_t *data, size_t len)
{
    ep->o.send(&s->key, data, len, ep->o.send_ctx);
}

static eim_counter_t *code_counter(eim_coap_endpoint_t *ep, uint8_t code)
{
    if (ep->o.metrics == NULL)
        return NULL;
    if (ep->m.by_code[code] == NULL) {
        char text[5], labels[24];
        snprintf(labels, sizeof(labels), "code=\"%s\"", eim_coap_code_text(code, text));
        ep->m.by_code[code] = eim_metrics_counter(
            ep->o.metrics, "eimd_coap_requests_total",
            "CoAP requests answered, by response code (duplicates not counted).", labels);
    }
    return ep->m.by_code[code];
}

/* ---- sessions ----------------------------------------------------------- */

static void activity_unlink(eim_coap_endpoint_t *ep, session_t *s)
{
    if (s->older)
        s->older->newer = s->newer;
    else
        ep->oldest = s->newer;
    if (s->newer)
        s->newer->older = s->older;
    else
        ep->newest = s->older;
    s->older = s->newer = NULL;
}

static void activity_touch(eim_coap_endpoint_t *ep, session_t *s)
{
    if (s->older != NULL || s->newer != NULL || ep->oldest == s)
        activity_unlink(ep, s);
    s->older = ep->newest;
    if (ep->newest)
        ep->newest->newer = s;
    else
        ep->oldest = s;
    ep->newest = s;
    s->last_ms = now_ms(ep);
}

static void grow_buckets(eim_coap_endpoint_t *ep)
{
    size_t count_new = ep->bucket_count * 2;
    session_t **b = eim_calloc(count_new, sizeof(*b));
    for (size_t i = 0; i < ep->bucket_count; i++) {
        session_t *s = ep->buckets[i];
        while (s) {
            session_t *next = s->hash_next;
            size_t at = key_hash(&s->key) & (count_new - 1);
            s->hash_next = b[at];
            b[at] = s;
            s = next;
        }
    }
    free(ep->buckets);
    ep->buckets = b;
    ep->bucket_count = count_new;
}

static session_t *session_find(eim_coap_endpoint_t *ep, const eim_coap_key_t *key)
{
    for (session_t *s = ep->buckets[key_hash(key) & (ep->bucket_count - 1)]; s; s = s->hash_next)
        if (key_equal(&s->key, key))
            return s;
    return NULL;
}

static session_t *session_create(eim_coap_endpoint_t *ep, const eim_coap_key_t *key)
{
    if (ep->session_count >= ep->o.max_sessions)
        return NULL;
    if (ep->session_count >= ep->bucket_count * 2)
        grow_buckets(ep);
    session_t *s = EIM_NEW(session_t);
    s->key = *key;
    size_t at = key_hash(key) & (ep->bucket_count - 1);
    s->hash_next = ep->buckets[at];
    ep->buckets[at] = s;
    s->next_mid = (uint16_t)next_random(ep);
    eim_buf_init(&s->block1_body, ep->o.max_body_bytes);
    ep->session_count++;
    activity_touch(ep, s);
    return s;
}

static void exchange_closed(uv_handle_t *handle)
{
    eim_coap_exchange_t *x = handle->data;
    free(x->response);
    free(x);
}

/* Unlinks x from its session and releases it (or orphans it while the
 * handler still owes an answer). */
static void exchange_drop(eim_coap_endpoint_t *ep, eim_coap_exchange_t *x)
{
    session_t *s = x->session;
    if (x->prev)
        x->prev->next = x->next;
    else
        s->first = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        s->last = x->prev;
    s->exchange_count--;
    uv_timer_stop(&x->timer);
    ep->cache_bytes -= x->response_len;
    if (x->state == X_RUNNING) {
        s->running--;
        ep->in_flight--;
        x->ep = NULL;
        x->session = NULL;
        return; /* eim_coap_respond frees it */
    }
    uv_close((uv_handle_t *)&x->timer, exchange_closed);
}

static void block2_release(eim_coap_endpoint_t *ep, session_t *s)
{
    ep->cache_bytes -= s->block2_len;
    free(s->block2_body);
    s->block2_body = NULL;
    s->block2_len = 0;
}

static void block1_release(eim_coap_endpoint_t *ep, session_t *s)
{
    ep->cache_bytes -= s->block1_body.cap;
    eim_buf_free(&s->block1_body);
    eim_buf_init(&s->block1_body, ep->o.max_body_bytes);
    s->block1_active = false;
}

static void session_destroy(eim_coap_endpoint_t *ep, session_t *s)
{
    while (s->first)
        exchange_drop(ep, s->first);
    block2_release(ep, s);
    block1_release(ep, s);
    eim_buf_free(&s->block1_body);
    session_t **p = &ep->buckets[key_hash(&s->key) & (ep->bucket_count - 1)];
    while (*p != s)
        p = &(*p)->hash_next;
    *p = s->hash_next;
    activity_unlink(ep, s);
    ep->session_count--;
    free(s);
}

/* Frees what s holds that no one waits for: answered exchanges that are
 * not being retransmitted, the Block2 body, a Block1 reassembly. */
static void session_shed(eim_coap_endpoint_t *ep, session_t *s)
{
    eim_coap_exchange_t *x = s->first;
    while (x) {
        eim_coap_exchange_t *next = x->next;
        if (x->state == X_DONE && !x->retransmitting)
            exchange_drop(ep, x);
        x = next;
    }
    block2_release(ep, s);
    block1_release(ep, s);
}

/* Keeps cached bytes under max_cache_bytes: the least recently active
 * sessions (other than keep) give up their cached state first. */
static void enforce_budget(eim_coap_endpoint_t *ep, session_t *keep)
{
    session_t *s = ep->oldest;
    while (ep->cache_bytes > ep->o.max_cache_bytes && s != NULL && s != keep) {
        session_t *newer = s->newer;
        session_shed(ep, s);
        if (s->first == NULL)
            session_destroy(ep, s);
        s = newer;
    }
}

static void sweep(uv_timer_t *timer)
{
    eim_coap_endpoint_t *ep = timer->data;
    uint64_t now = now_ms(ep);
    uint64_t lifetime = ep->o.exchange_lifetime_ms;
    while (ep->oldest != NULL && ep->oldest->last_ms + lifetime <= now) {
        session_t *s = ep->oldest;
        session_shed(ep, s);
        if (s->first == NULL) {
            session_destroy(ep, s);
        } else {
            /* Still waiting for a handler or an ACK: look again later. */
            activity_touch(ep, s);
            if (ep->oldest == s)
                break;
        }
    }
}

/* ---- building and sending answers ---------------------------------------- */

typedef struct {
    uint8_t code;
    eim_coap_type_t type;
    uint16_t mid;
    const uint8_t *token;
    size_t token_len;
    const uint8_t *payload;
    size_t payload_len;
    int content_format;
    int64_t max_age_s;
    const eim_coap_block_t *block1;
    const eim_coap_block_t *block2;
    bool has_size1;
    uint32_t size1;
    bool has_size2;
    uint32_t size2;
    bool has_etag;
    uint32_t etag;
} answer_t;

static eim_err_t build_answer(const answer_t *a, uint8_t *out, size_t cap, size_t *out_len)
{
    eim_coap_message_t msg;
    uint8_t s_cf[4], s_age[4], s_b1[4], s_b2[4], s_sz1[4], s_sz2[4], etag[4];
    eim_err_t err = EIM_OK;

    eim_coap_message_init(&msg, a->type, a->code, a->mid, a->token, a->token_len);
    if (a->has_etag) {
        etag[0] = (uint8_t)(a->etag >> 24);
        etag[1] = (uint8_t)(a->etag >> 16);
        etag[2] = (uint8_t)(a->etag >> 8);
        etag[3] = (uint8_t)a->etag;
        err = eim_coap_add_option(&msg, EIM_COAP_OPTION_ETAG, etag, 4);
    }
    if (err == EIM_OK && a->content_format >= 0)
        err = eim_coap_add_uint_option(&msg, EIM_COAP_OPTION_CONTENT_FORMAT,
                                       (uint32_t)a->content_format, s_cf);
    if (err == EIM_OK && a->max_age_s >= 0)
        err = eim_coap_add_uint_option(
            &msg, EIM_COAP_OPTION_MAX_AGE,
            a->max_age_s > UINT32_MAX ? UINT32_MAX : (uint32_t)a->max_age_s, s_age);
    if (err == EIM_OK && a->block2 != NULL && a->block2->present)
        err = eim_coap_add_block_option(&msg, EIM_COAP_OPTION_BLOCK2, a->block2, s_b2);
    if (err == EIM_OK && a->block1 != NULL && a->block1->present)
        err = eim_coap_add_block_option(&msg, EIM_COAP_OPTION_BLOCK1, a->block1, s_b1);
    if (err == EIM_OK && a->has_size2)
        err = eim_coap_add_uint_option(&msg, EIM_COAP_OPTION_SIZE2, a->size2, s_sz2);
    if (err == EIM_OK && a->has_size1)
        err = eim_coap_add_uint_option(&msg, EIM_COAP_OPTION_SIZE1, a->size1, s_sz1);
    if (err != EIM_OK)
        return err;
    msg.payload = a->payload;
    msg.payload_len = a->payload_len;
    return eim_coap_build(&msg, out, cap, out_len);
}

static void send_empty(eim_coap_endpoint_t *ep, session_t *s, eim_coap_type_t type, uint16_t mid)
{
    uint8_t out[4] = {(uint8_t)(0x40 | (type << 4)), 0, (uint8_t)(mid >> 8), (uint8_t)mid};
    send_datagram(ep, s, out, sizeof(out));
}

static void retransmit_due(uv_timer_t *timer);

static void start_retransmission(eim_coap_endpoint_t *ep, eim_coap_exchange_t *x)
{
    double span = ep->o.ack_random_factor - 1.0;
    double r = (double)(next_random(ep) >> 11) / (double)(1ULL << 53);
    x->timeout_ms = (uint64_t)((double)ep->o.ack_timeout_ms * (1.0 + span * r));
    x->retransmits = 0;
    x->retransmitting = true;
    uv_timer_start(&x->timer, retransmit_due, x->timeout_ms, 0);
}

static void retransmit_due(uv_timer_t *timer)
{
    eim_coap_exchange_t *x = timer->data;
    eim_coap_endpoint_t *ep = x->ep;
    if (ep == NULL || !x->retransmitting)
        return;
    if (x->retransmits >= ep->o.max_retransmit) {
        x->retransmitting = false;
        count(ep->m.drops_retransmit_exhausted);
        eim_log_debug("coap: separate response not acknowledged", "peer", x->session->peer);
        return;
    }
    x->retransmits++;
    x->timeout_ms *= 2;
    count(ep->m.retransmissions);
    send_datagram(ep, x->session, x->response, x->response_len);
    uv_timer_start(&x->timer, retransmit_due, x->timeout_ms, 0);
}

/* Sends the answer of x and keeps its datagram for duplicates. */
static void exchange_finish(eim_coap_endpoint_t *ep, eim_coap_exchange_t *x, answer_t *a)
{
    session_t *s = x->session;
    uint8_t out[RESPONSE_MAX];
    size_t out_len = 0;

    a->token = x->token;
    a->token_len = x->token_len;
    if (x->request_type == EIM_COAP_CON && !x->empty_ack_sent) {
        a->type = EIM_COAP_ACK; /* piggybacked (§5.2.1) */
        a->mid = x->request_mid;
    } else {
        /* Separate CON response (§5.2.2) or NON response (§5.2.3). */
        a->type = x->request_type;
        a->mid = s->next_mid++;
    }
    if (build_answer(a, out, sizeof(out), &out_len) != EIM_OK) {
        /* Cannot happen with payloads bounded by the block size. */
        eim_log_error("coap: cannot encode response", "peer", s->peer);
        answer_t fallback = *a;
        fallback.code = EIM_COAP_INTERNAL_SERVER_ERROR;
        fallback.payload = NULL;
        fallback.payload_len = 0;
        fallback.block1 = fallback.block2 = NULL;
        fallback.has_size1 = fallback.has_size2 = fallback.has_etag = false;
        fallback.content_format = EIM_COAP_FORMAT_NONE;
        fallback.max_age_s = -1;
        if (build_answer(&fallback, out, sizeof(out), &out_len) != EIM_OK)
            abort();
        a->code = fallback.code;
    }
    uv_timer_stop(&x->timer);
    x->state = X_DONE;
    s->running--;
    ep->in_flight--;
    x->response_mid = a->mid;
    x->response = eim_malloc(out_len);
    memcpy(x->response, out, out_len);
    x->response_len = out_len;
    ep->cache_bytes += out_len;
    count(code_counter(ep, a->code));
    send_datagram(ep, s, out, out_len);
    if (a->type == EIM_COAP_CON)
        start_retransmission(ep, x);
    enforce_budget(ep, s);
}

static void answer_init(answer_t *a, uint8_t code)
{
    memset(a, 0, sizeof(*a));
    a->code = code;
    a->content_format = EIM_COAP_FORMAT_NONE;
    a->max_age_s = -1;
}

/* Serves block `num` of the session's Block2 body with size szx. */
static void serve_block2(eim_coap_endpoint_t *ep, eim_coap_exchange_t *x, uint32_t num, uint8_t szx,
                         bool has_block1)
{
    session_t *s = x->session;
    size_t size = EIM_COAP_BLOCK_SIZE(szx);
    size_t offset = (size_t)num * size;
    answer_t a;
    eim_coap_block_t b2 = {.present = true, .num = num, .szx = szx};

    if (s->block2_body == NULL || offset >= s->block2_len) {
        eim_coap_respond_error(x, EIM_COAP_BAD_REQUEST, "no such block of a response", -1);
        return;
    }
    answer_init(&a, s->block2_code);
    b2.more = offset + size < s->block2_len;
    a.block2 = &b2;
    a.block1 = has_block1 ? &x->block1 : NULL;
    a.payload = s->block2_body + offset;
    a.payload_len = b2.more ? size : s->block2_len - offset;
    a.content_format = s->block2_format;
    a.has_size2 = true;
    a.size2 = (uint32_t)s->block2_len;
    a.has_etag = true;
    a.etag = s->block2_etag;
    exchange_finish(ep, x, &a);
}

void eim_coap_respond(eim_coap_exchange_t *x, const eim_coap_response_t *r)
{
    eim_coap_endpoint_t *ep = x->ep;
    if (ep == NULL) {
        /* The session went away while the handler worked. */
        uv_close((uv_handle_t *)&x->timer, exchange_closed);
        return;
    }
    if (x->state != X_RUNNING)
        return;
    session_t *s = x->session;
    uint8_t szx = ep->o.block_szx;
    if (x->block2.present && x->block2.szx < szx)
        szx = x->block2.szx; /* the client asked for smaller blocks (RFC 7959 §2.4) */

    if (r->body_len > EIM_COAP_BLOCK_SIZE(szx)) {
        block2_release(ep, s);
        s->block2_body = eim_malloc(r->body_len);
        memcpy(s->block2_body, r->body, r->body_len);
        s->block2_len = r->body_len;
        s->block2_code = r->code;
        s->block2_format = r->content_format;
        s->block2_etag = ep->next_etag++;
        ep->cache_bytes += r->body_len;
        serve_block2(ep, x, 0, szx, x->block1.present);
        return;
    }
    answer_t a;
    answer_init(&a, r->code);
    a.payload = r->body;
    a.payload_len = r->body_len;
    a.content_format = r->content_format;
    a.max_age_s = r->max_age_s;
    a.block1 = x->block1.present ? &x->block1 : NULL;
    exchange_finish(ep, x, &a);
}

void eim_coap_respond_error(eim_coap_exchange_t *x, uint8_t code, const char *diagnostic,
                            int64_t max_age_s)
{
    size_t len = diagnostic ? strlen(diagnostic) : 0;
    eim_coap_response_t r = {
        .code = code,
        .body = (const uint8_t *)diagnostic,
        .body_len = len > DIAGNOSTIC_MAX ? DIAGNOSTIC_MAX : len,
        .content_format = EIM_COAP_FORMAT_NONE,
        .max_age_s = max_age_s,
    };
    eim_coap_respond(x, &r);
}

/* ---- receiving ------------------------------------------------------------- */

static void piggyback_expired(uv_timer_t *timer)
{
    eim_coap_exchange_t *x = timer->data;
    if (x->ep == NULL || x->state != X_RUNNING || x->empty_ack_sent)
        return;
    x->empty_ack_sent = true;
    send_empty(x->ep, x->session, EIM_COAP_ACK, x->request_mid);
}

static eim_coap_exchange_t *exchange_find_request(eim_coap_endpoint_t *ep, session_t *s,
                                                  uint16_t mid, uint64_t now)
{
    for (eim_coap_exchange_t *x = s->last; x; x = x->prev) {
        uint64_t life =
            x->request_type == EIM_COAP_CON ? ep->o.exchange_lifetime_ms : ep->o.non_lifetime_ms;
        if (x->request_mid == mid && x->created_ms + life > now)
            return x;
    }
    return NULL;
}

static eim_coap_exchange_t *exchange_create(eim_coap_endpoint_t *ep, session_t *s,
                                            const eim_coap_message_t *m)
{
    if (s->exchange_count >= ep->o.max_exchanges_per_session) {
        eim_coap_exchange_t *victim = s->first;
        while (victim && (victim->state == X_RUNNING || victim->retransmitting))
            victim = victim->next;
        if (victim == NULL)
            return NULL;
        exchange_drop(ep, victim);
    }
    eim_coap_exchange_t *x = EIM_NEW(eim_coap_exchange_t);
    x->ep = ep;
    x->session = s;
    x->state = X_RUNNING;
    x->request_type = m->type;
    x->request_mid = m->message_id;
    memcpy(x->token, m->token, m->token_len);
    x->token_len = m->token_len;
    x->created_ms = now_ms(ep);
    x->block1 = m->block1;
    x->block2 = m->block2;
    x->content_format = m->content_format;
    uv_timer_init(ep->o.loop, &x->timer);
    x->timer.data = x;
    x->prev = s->last;
    if (s->last)
        s->last->next = x;
    else
        s->first = x;
    s->last = x;
    s->exchange_count++;
    s->running++;
    ep->in_flight++;
    return x;
}

static void handle_ack_or_reset(eim_coap_endpoint_t *ep, session_t *s, const uint8_t *data,
                                size_t len, eim_coap_type_t type, uint16_t mid)
{
    (void)data;
    (void)len;
    for (eim_coap_exchange_t *x = s->last; x; x = x->prev) {
        if (x->retransmitting && x->response_mid == mid) {
            x->retransmitting = false;
            uv_timer_stop(&x->timer);
            if (type == EIM_COAP_RST)
                eim_log_debug("coap: separate response reset by the client", "peer", s->peer);
            return;
        }
    }
    count(ep->m.drops_unmatched);
}

static bool format_acceptable(const eim_coap_endpoint_t *ep, int format)
{
    return format == EIM_COAP_FORMAT_NONE || format == EIM_COAP_FORMAT_OCTET ||
           (ep->o.extra_content_format >= 0 && format == ep->o.extra_content_format);
}

/* Block1 (RFC 7959 §2.5). Returns true when the request body is complete
 * (then body and body_len point at it); otherwise x has been answered. */
static bool block1_step(eim_coap_endpoint_t *ep, session_t *s, eim_coap_exchange_t *x,
                        const eim_coap_message_t *m, const uint8_t **body, size_t *body_len)
{
    const eim_coap_block_t *b = &m->block1;
    size_t size = EIM_COAP_BLOCK_SIZE(b->szx);
    char diag[80];

    if (b->szx > EIM_COAP_MAX_BLOCK_SZX || (b->more && m->payload_len != size)) {
        eim_coap_respond_error(x, EIM_COAP_BAD_REQUEST, "block size does not match Block1", -1);
        return false;
    }
    if (b->num == 0) {
        block1_release(ep, s);
        s->block1_active = true;
        if (m->has_size1 && m->size1 > ep->o.max_body_bytes)
            goto too_large;
    } else if (!s->block1_active || (size_t)b->num * size != s->block1_body.len) {
        block1_release(ep, s);
        eim_coap_respond_error(x, EIM_COAP_REQUEST_ENTITY_INCOMPLETE, "Block1 out of sequence", -1);
        return false;
    }
    size_t cap_before = s->block1_body.cap;
    if (eim_buf_append(&s->block1_body, m->payload, m->payload_len) != EIM_OK)
        goto too_large;
    ep->cache_bytes += s->block1_body.cap - cap_before;
    if (b->more) {
        eim_coap_block_t echo = *b;
        answer_t a;
        answer_init(&a, EIM_COAP_CONTINUE);
        a.block1 = &echo;
        exchange_finish(ep, x, &a);
        return false;
    }
    *body = s->block1_body.data;
    *body_len = s->block1_body.len;
    return true;
too_large:
    block1_release(ep, s);
    snprintf(diag, sizeof(diag), "request body larger than %zu bytes", ep->o.max_body_bytes);
    answer_t a;
    answer_init(&a, EIM_COAP_REQUEST_ENTITY_TOO_LARGE);
    a.payload = (const uint8_t *)diag;
    a.payload_len = strlen(diag);
    a.has_size1 = true;
    a.size1 = (uint32_t)ep->o.max_body_bytes;
    exchange_finish(ep, x, &a);
    return false;
}

static void handle_request(eim_coap_endpoint_t *ep, session_t *s, const eim_coap_message_t *m,
                           size_t datagram_len)
{
    uint64_t now = now_ms(ep);
    eim_coap_exchange_t *x = exchange_find_request(ep, s, m->message_id, now);
    if (x != NULL) {
        /* Duplicate (§4.5): same answer again, the handler never sees it. */
        count(ep->m.duplicates);
        if (x->state == X_RUNNING) {
            if (x->empty_ack_sent)
                send_empty(ep, s, EIM_COAP_ACK, x->request_mid);
        } else if (x->request_type == EIM_COAP_CON && x->empty_ack_sent) {
            send_empty(ep, s, EIM_COAP_ACK, x->request_mid);
        } else {
            send_datagram(ep, s, x->response, x->response_len);
        }
        return;
    }
    x = exchange_create(ep, s, m);
    if (x == NULL) {
        count(ep->m.drops_session_busy);
        return;
    }
    if (m->unknown_critical) {
        char diag[48];
        snprintf(diag, sizeof(diag), "unrecognised critical option %u",
                 (unsigned)m->unknown_critical_number);
        eim_coap_respond_error(x, EIM_COAP_BAD_OPTION, diag, -1);
        return;
    }
    if (strcmp(m->uri_path, ep->resource) != 0) {
        eim_coap_respond_error(x, EIM_COAP_NOT_FOUND, "no such resource", -1);
        return;
    }
    if (m->code != EIM_COAP_POST) {
        eim_coap_respond_error(x, EIM_COAP_METHOD_NOT_ALLOWED, "only POST", -1);
        return;
    }
    if (!format_acceptable(ep, m->content_format)) {
        eim_coap_respond_error(x, EIM_COAP_UNSUPPORTED_CONTENT_FORMAT,
                               "Content-Format must be application/octet-stream (42)", -1);
        return;
    }
    if (m->block2.present && m->block2.num > 0) {
        /* Next block of a response already computed (RFC 7959 §2.4). */
        if (m->block2.szx > EIM_COAP_MAX_BLOCK_SZX) {
            eim_coap_respond_error(x, EIM_COAP_BAD_REQUEST, "BERT is not for UDP", -1);
            return;
        }
        serve_block2(ep, x, m->block2.num, m->block2.szx, false);
        return;
    }
    const uint8_t *body = m->payload;
    size_t body_len = m->payload_len;
    if (m->block1.present) {
        if (!block1_step(ep, s, x, m, &body, &body_len))
            return;
    } else if (datagram_len > ep->o.max_datagram_bytes || body_len > ep->o.max_body_bytes) {
        char diag[64];
        snprintf(diag, sizeof(diag), "request larger than %zu bytes: use Block1",
                 ep->o.max_datagram_bytes);
        answer_t a;
        answer_init(&a, EIM_COAP_REQUEST_ENTITY_TOO_LARGE);
        a.payload = (const uint8_t *)diag;
        a.payload_len = strlen(diag);
        a.has_size1 = true;
        a.size1 = (uint32_t)ep->o.max_body_bytes;
        exchange_finish(ep, x, &a);
        return;
    }
    if (body_len == 0) {
        eim_coap_respond_error(x, EIM_COAP_BAD_REQUEST, "empty request body", -1);
        return;
    }
    eim_coap_request_t req = {
        .session = &s->key,
        .peer = s->peer,
        .path = m->uri_path,
        .body = body,
        .body_len = body_len,
        .content_format = m->content_format,
        .confirmable = m->type == EIM_COAP_CON,
    };
    ep->o.handler(x, &req, ep->o.handler_ctx);
    /* The reassembled body was lent for the call only. */
    if (m->block1.present)
        block1_release(ep, s);
    if (x->state == X_RUNNING && x->request_type == EIM_COAP_CON) {
        uv_timer_start(&x->timer, piggyback_expired, ep->o.piggyback_ms, 0);
    }
}

void eim_coap_endpoint_input(eim_coap_endpoint_t *ep, const eim_coap_key_t *key, const char *peer,
                             const uint8_t *data, size_t len)
{
    eim_coap_type_t type;
    uint8_t code;
    uint16_t mid;
    eim_coap_message_t m;
    bool header_ok = eim_coap_peek_header(data, len, &type, &code, &mid) == EIM_OK;

    if (!header_ok) {
        count(ep->m.drops_malformed);
        return;
    }
    session_t *s = session_find(ep, key);
    if (s == NULL) {
        if (type == EIM_COAP_ACK || type == EIM_COAP_RST) {
            count(ep->m.drops_unmatched);
            return;
        }
        s = session_create(ep, key);
        if (s == NULL) {
            count(ep->m.drops_too_many_sessions);
            return;
        }
    }
    activity_touch(ep, s);
    if (peer != NULL)
        eim_strlcpy(s->peer, peer, sizeof(s->peer));

    if (eim_coap_parse(data, len, &m) != EIM_OK) {
        /* §4.2: a Confirmable message that cannot be processed: Reset. */
        count(ep->m.drops_malformed);
        if (type == EIM_COAP_CON)
            send_empty(ep, s, EIM_COAP_RST, mid);
        goto out;
    }
    if (m.type == EIM_COAP_ACK || m.type == EIM_COAP_RST) {
        handle_ack_or_reset(ep, s, data, len, m.type, m.message_id);
        goto out;
    }
    if (m.code == EIM_COAP_EMPTY) {
        if (m.type == EIM_COAP_CON)
            send_empty(ep, s, EIM_COAP_RST, m.message_id); /* CoAP ping (§4.3) */
        goto out;
    }
    if ((m.code >> 5) != 0) {
        /* A response sent to a server: reject CON, ignore NON (§4.2, §4.3). */
        count(ep->m.drops_not_request);
        if (m.type == EIM_COAP_CON)
            send_empty(ep, s, EIM_COAP_RST, m.message_id);
        goto out;
    }
    handle_request(ep, s, &m, len);
out:
    eim_coap_message_clear(&m);
    /* A session that was created for nothing does not stay. */
    s = session_find(ep, key);
    if (s != NULL && s->first == NULL && !s->block1_active && s->block2_body == NULL)
        session_destroy(ep, s);
}

void eim_coap_endpoint_forget(eim_coap_endpoint_t *ep, const eim_coap_key_t *key)
{
    session_t *s = session_find(ep, key);
    if (s != NULL)
        session_destroy(ep, s);
}

/* ---- lifecycle --------------------------------------------------------------- */

static double gauge_sessions(void *ctx)
{
    return (double)((eim_coap_endpoint_t *)ctx)->session_count;
}

static double gauge_cache(void *ctx)
{
    return (double)((eim_coap_endpoint_t *)ctx)->cache_bytes;
}

static void register_metrics(eim_coap_endpoint_t *ep)
{
    eim_metrics_t *mx = ep->o.metrics;
    const char *drops = "eimd_coap_drops_total";
    const char *drops_help = "CoAP datagrams dropped or exchanges abandoned, by reason.";
    if (mx == NULL)
        return;
    ep->m.retransmissions =
        eim_metrics_counter(mx, "eimd_coap_retransmissions_total",
                            "Separate CON responses sent again (RFC 7252 §4.2).", NULL);
    ep->m.duplicates =
        eim_metrics_counter(mx, "eimd_coap_duplicates_total",
                            "Duplicate requests answered from the exchange cache.", NULL);
    ep->m.drops_malformed = eim_metrics_counter(mx, drops, drops_help, "reason=\"malformed\"");
    ep->m.drops_not_request = eim_metrics_counter(mx, drops, drops_help, "reason=\"not_request\"");
    ep->m.drops_unmatched = eim_metrics_counter(mx, drops, drops_help, "reason=\"unmatched_ack\"");
    ep->m.drops_session_busy =
        eim_metrics_counter(mx, drops, drops_help, "reason=\"session_busy\"");
    ep->m.drops_too_many_sessions =
        eim_metrics_counter(mx, drops, drops_help, "reason=\"too_many_sessions\"");
    ep->m.drops_retransmit_exhausted =
        eim_metrics_counter(mx, drops, drops_help, "reason=\"retransmit_exhausted\"");
    eim_metrics_gauge_fn(mx, "eimd_coap_sessions", "Sessions with CoAP state.", NULL,
                         gauge_sessions, ep);
    eim_metrics_gauge_fn(mx, "eimd_coap_cache_bytes",
                         "Bytes of cached responses, Block1 buffers and Block2 bodies.", NULL,
                         gauge_cache, ep);
}

eim_coap_endpoint_t *eim_coap_endpoint_new(const eim_coap_endpoint_options_t *options)
{
    eim_coap_endpoint_t *ep = EIM_NEW(eim_coap_endpoint_t);
    ep->o = *options;
    if (ep->o.resource_path == NULL)
        ep->o.resource_path = "gsma/rsp2/asn1";
    while (*ep->o.resource_path == '/')
        ep->o.resource_path++;
    snprintf(ep->resource, sizeof(ep->resource), "%s", ep->o.resource_path);
    ep->o.resource_path = ep->resource;
    /* 0 is "unset" like the other options: before, it meant "separate
     * response at once", and eimd (which does not set it) answered every
     * poll with an empty ACK plus a CON response. */
    if (ep->o.piggyback_ms == 0)
        ep->o.piggyback_ms = 500;
    if (ep->o.ack_timeout_ms == 0)
        ep->o.ack_timeout_ms = 2000;
    if (ep->o.ack_random_factor < 1.0)
        ep->o.ack_random_factor = 1.5;
    if (ep->o.max_retransmit == 0)
        ep->o.max_retransmit = 4;
    if (ep->o.exchange_lifetime_ms == 0)
        ep->o.exchange_lifetime_ms = 247000;
    if (ep->o.non_lifetime_ms == 0)
        ep->o.non_lifetime_ms = 145000;
    if (ep->o.block_szx == 0 || ep->o.block_szx > EIM_COAP_MAX_BLOCK_SZX)
        ep->o.block_szx = EIM_COAP_MAX_BLOCK_SZX;
    if (ep->o.max_datagram_bytes == 0)
        ep->o.max_datagram_bytes = 1400;
    if (ep->o.max_body_bytes == 0)
        ep->o.max_body_bytes = 65536;
    if (ep->o.max_exchanges_per_session == 0)
        ep->o.max_exchanges_per_session = 8;
    if (ep->o.max_sessions == 0)
        ep->o.max_sessions = 100000;
    if (ep->o.max_cache_bytes == 0)
        ep->o.max_cache_bytes = 32u << 20;
    if (ep->o.sweep_interval_ms == 0)
        ep->o.sweep_interval_ms = 1000;
    ep->bucket_count = 64;
    ep->buckets = eim_calloc(ep->bucket_count, sizeof(*ep->buckets));
    ep->rng = uv_hrtime() | 1;
    ep->next_etag = (uint32_t)next_random(ep);
    eim_coap_codec_init();
    register_metrics(ep);
    uv_timer_init(ep->o.loop, &ep->sweep);
    ep->sweep.data = ep;
    uv_timer_start(&ep->sweep, sweep, ep->o.sweep_interval_ms, ep->o.sweep_interval_ms);
    uv_unref((uv_handle_t *)&ep->sweep);
    return ep;
}

static void endpoint_closed(uv_handle_t *handle)
{
    eim_coap_endpoint_t *ep = handle->data;
    free(ep->buckets);
    free(ep);
}

void eim_coap_endpoint_free(eim_coap_endpoint_t *ep)
{
    if (ep == NULL)
        return;
    while (ep->oldest)
        session_destroy(ep, ep->oldest);
    uv_close((uv_handle_t *)&ep->sweep, endpoint_closed);
}

int eim_coap_exchange_request_format(const eim_coap_exchange_t *exchange)
{
    return exchange->content_format;
}

size_t eim_coap_endpoint_in_flight(const eim_coap_endpoint_t *ep)
{
    return ep->in_flight;
}

size_t eim_coap_endpoint_sessions(const eim_coap_endpoint_t *ep)
{
    return ep->session_count;
}

size_t eim_coap_endpoint_cache_bytes(const eim_coap_endpoint_t *ep)
{
    return ep->cache_bytes;
}
