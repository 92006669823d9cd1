/*
 * Plain-UDP CoAP test transport. See coap_udp.h.
 */
#include "server/coap/coap_udp.h"
#include "server/net_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

struct eim_coap_udp {
    uv_udp_t socket;
    eim_coap_endpoint_t *endpoint;
    uint8_t slab[65536];
};

static void key_from_addr(const struct sockaddr *addr, eim_coap_key_t *key)
{
    size_t len =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    eim_coap_key_set(key, addr, len);
}

static void on_send(const eim_coap_key_t *key, const uint8_t *data, size_t len, void *ctx)
{
    eim_coap_udp_t *udp = ctx;
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    struct sockaddr_storage to;
    memset(&to, 0, sizeof(to));
    memcpy(&to, key->bytes, key->len < sizeof(to) ? key->len : sizeof(to));
    /* Best effort like any datagram: a full socket buffer is a loss. */
    int rc = uv_udp_try_send(&udp->socket, &buf, 1, (const struct sockaddr *)&to);
    if (rc < 0)
        eim_log_debug("coap-udp: send failed", "error", uv_strerror(rc));
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    eim_coap_udp_t *udp = handle->data;
    (void)suggested;
    *buf = uv_buf_init((char *)udp->slab, sizeof(udp->slab));
}

static void on_recv(uv_udp_t *socket, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    eim_coap_udp_t *udp = socket->data;
    (void)flags;
    if (nread <= 0 || addr == NULL)
        return;
    eim_coap_key_t key;
    char peer[EIM_COAP_MAX_PEER];
    key_from_addr(addr, &key);
    eim_address_format(addr, peer, sizeof(peer));
    eim_coap_endpoint_input(udp->endpoint, &key, peer, (const uint8_t *)buf->base, (size_t)nread);
}

eim_err_t eim_coap_udp_start(uv_loop_t *loop, const char *address,
                             const eim_coap_endpoint_options_t *options, eim_coap_udp_t **out)
{
    eim_err_t err = EIM_OK;
    struct sockaddr_storage ss;
    eim_coap_udp_t *udp = NULL;

    *out = NULL;
    if (eim_address_parse(address, &ss) != EIM_OK) {
        err = EIM_ERR_CONFIG;
        goto out;
    }
    udp = EIM_NEW(eim_coap_udp_t);
    uv_udp_init(loop, &udp->socket);
    udp->socket.data = udp;
    if (uv_udp_bind(&udp->socket, (const struct sockaddr *)&ss, 0) != 0 ||
        uv_udp_recv_start(&udp->socket, on_alloc, on_recv) != 0) {
        uv_close((uv_handle_t *)&udp->socket, (uv_close_cb)free);
        udp = NULL;
        err = EIM_ERR_IO;
        goto out;
    }
    eim_coap_endpoint_options_t o = *options;
    o.loop = loop;
    o.send = on_send;
    o.send_ctx = udp;
    udp->endpoint = eim_coap_endpoint_new(&o);
    *out = udp;
out:
    return err;
}

int eim_coap_udp_port(const eim_coap_udp_t *udp)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_udp_getsockname(&udp->socket, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

eim_coap_endpoint_t *eim_coap_udp_endpoint(eim_coap_udp_t *udp)
{
    return udp->endpoint;
}

static void on_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void eim_coap_udp_close(eim_coap_udp_t *udp)
{
    eim_coap_endpoint_free(udp->endpoint);
    udp->endpoint = NULL;
    uv_close((uv_handle_t *)&udp->socket, on_closed);
}
