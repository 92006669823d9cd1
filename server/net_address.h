/*
 * Socket addresses as text, the one place that reads and writes them:
 * "ipv4:port" and "[ipv6]:port", numeric hosts only (no name resolution on
 * the loop). Used by the configuration checks, every listener (HTTP, DTLS,
 * plain UDP CoAP) and the peer addresses recorded for devices.
 */
#ifndef EIM_SERVER_NET_ADDRESS_H
#define EIM_SERVER_NET_ADDRESS_H

#include <stddef.h>
#include <sys/socket.h>

#include "proto/base/error.h"

/* Longest text eim_address_format writes, with its terminator. */
#define EIM_ADDRESS_TEXT_MAX 64

/* Parses "ipv4:port" or "[ipv6]:port" (port 0..65535) into out;
 * EIM_ERR_INVALID_ARG for anything else. */
eim_err_t eim_address_parse(const char *text, struct sockaddr_storage *out);

/* Writes "ipv4:port" or "[ipv6]:port" (or "?" for another family). */
void eim_address_format(const struct sockaddr *address, char *out, size_t size);

#endif
