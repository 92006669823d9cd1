/*
 * Batched UDP transmission. See udp_tx_batch.h.
 */
#ifdef __linux__
#define _GNU_SOURCE /* sendmmsg(2) */
#endif
#include "server/dtls/udp_tx_batch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/base/memory.h"

#if defined(__linux__) && defined(MSG_WAITFORONE)
#define HAVE_SENDMMSG 1
#endif

struct eim_udp_tx {
    uv_udp_t *udp;
    bool holding;
    size_t count;
    struct sockaddr_storage to[EIM_UDP_TX_BATCH];
    socklen_t to_len[EIM_UDP_TX_BATCH];
    size_t len[EIM_UDP_TX_BATCH];
    uint8_t data[EIM_UDP_TX_BATCH][EIM_UDP_TX_MAX];
};

eim_udp_tx_t *eim_udp_tx_new(uv_udp_t *udp)
{
    eim_udp_tx_t *tx = eim_calloc(1, sizeof(*tx));
    tx->udp = udp;
    return tx;
}

void eim_udp_tx_free(eim_udp_tx_t *tx)
{
    free(tx);
}

void eim_udp_tx_hold(eim_udp_tx_t *tx)
{
    tx->holding = true;
}

bool eim_udp_tx_holding(const eim_udp_tx_t *tx)
{
    return tx->holding;
}

static void count(int err, size_t n, eim_udp_tx_drops_t *drops)
{
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
        drops->buffer_full += n;
    else
        drops->error += n;
}

static socklen_t addr_len(const struct sockaddr *to)
{
    return to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void send_one(eim_udp_tx_t *tx, const struct sockaddr *to, const void *data, size_t len,
                     eim_udp_tx_drops_t *drops)
{
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(tx->udp, &buf, 1, to);
    if (rc < 0)
        count(-rc, 1, drops);
}

static void send_held(eim_udp_tx_t *tx, eim_udp_tx_drops_t *drops)
{
    size_t done = 0;
#ifdef HAVE_SENDMMSG
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)tx->udp, &fd) == 0) {
        struct mmsghdr msgs[EIM_UDP_TX_BATCH];
        struct iovec iov[EIM_UDP_TX_BATCH];
        memset(msgs, 0, sizeof(msgs[0]) * tx->count);
        for (size_t i = 0; i < tx->count; i++) {
            iov[i].iov_base = tx->data[i];
            iov[i].iov_len = tx->len[i];
            msgs[i].msg_hdr.msg_name = &tx->to[i];
            msgs[i].msg_hdr.msg_namelen = tx->to_len[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        /* sendmmsg stops at the first datagram the kernel refuses: with a
         * full send buffer the rest is dropped too (as uv_udp_try_send
         * would drop each), after any other error only that one */
        while (done < tx->count) {
            int n;
            do
                n = sendmmsg(fd, msgs + done, (unsigned)(tx->count - done), 0);
            while (n < 0 && errno == EINTR);
            if (n >= 0) {
                done += (size_t)n;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                count(errno, tx->count - done, drops);
                done = tx->count;
            } else {
                count(errno, 1, drops);
                done++;
            }
        }
    }
#endif
    for (; done < tx->count; done++)
        send_one(tx, (const struct sockaddr *)&tx->to[done], tx->data[done], tx->len[done], drops);
    tx->count = 0;
}

void eim_udp_tx_send(eim_udp_tx_t *tx, const struct sockaddr *to, const void *data, size_t len,
                     eim_udp_tx_drops_t *drops)
{
    if (!tx->holding || len > EIM_UDP_TX_MAX) {
        send_held(tx, drops);
        send_one(tx, to, data, len, drops);
        return;
    }
    if (tx->count == EIM_UDP_TX_BATCH)
        send_held(tx, drops);
    size_t i = tx->count++;
    tx->to_len[i] = addr_len(to);
    memcpy(&tx->to[i], to, tx->to_len[i]);
    memcpy(tx->data[i], data, len);
    tx->len[i] = len;
}

void eim_udp_tx_flush(eim_udp_tx_t *tx, eim_udp_tx_drops_t *drops)
{
    if (tx->count)
        send_held(tx, drops);
    tx->holding = false;
}
