/*
 * Batched UDP transmission for one libuv socket: while a batch is open
 * (between eim_udp_tx_hold and eim_udp_tx_flush, i.e. while the datagrams
 * of one recvmmsg(2) burst are processed), outgoing datagrams are copied
 * into a fixed slab and leave together in one sendmmsg(2); outside a batch
 * they leave at once, as with uv_udp_try_send. The answer to a burst of
 * requests then costs one system call instead of one per answer.
 *
 * Nothing is queued without bound: the slab holds EIM_UDP_TX_BATCH
 * datagrams of at most EIM_UDP_TX_MAX bytes; a full slab is flushed before
 * the next datagram is added. Like uv_udp_try_send, a datagram the kernel
 * refuses (full send buffer) is dropped, and the caller is told how many.
 * Where sendmmsg(2) is missing, a flush sends one datagram per call.
 */
#ifndef EIM_SERVER_DTLS_UDP_TX_BATCH_H
#define EIM_SERVER_DTLS_UDP_TX_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#define EIM_UDP_TX_BATCH 32
#define EIM_UDP_TX_MAX   2048 /* bytes per datagram kept in the slab */

typedef struct eim_udp_tx eim_udp_tx_t;

/* Datagrams that did not leave, by reason. */
typedef struct {
    size_t buffer_full; /* EAGAIN / ENOBUFS: the socket's send buffer is full */
    size_t error;       /* any other error of the kernel */
} eim_udp_tx_drops_t;

eim_udp_tx_t *eim_udp_tx_new(uv_udp_t *udp);
void eim_udp_tx_free(eim_udp_tx_t *tx);

/* Opens a batch: later sends are held until eim_udp_tx_flush. */
void eim_udp_tx_hold(eim_udp_tx_t *tx);
bool eim_udp_tx_holding(const eim_udp_tx_t *tx);

/* Sends (or, in a batch, copies and holds) one datagram to `to`. A
 * datagram larger than EIM_UDP_TX_MAX, or sent outside a batch, leaves at
 * once (held ones first, keeping the order). Drops are added to *drops. */
void eim_udp_tx_send(eim_udp_tx_t *tx, const struct sockaddr *to, const void *data, size_t len,
                     eim_udp_tx_drops_t *drops);

/* Sends everything held and closes the batch. Drops are added to *drops. */
void eim_udp_tx_flush(eim_udp_tx_t *tx, eim_udp_tx_drops_t *drops);

#endif
