/* Socket addresses as text: see net_address.h. */
#include "server/net_address.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

eim_err_t eim_address_parse(const char *text, struct sockaddr_storage *out)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || !colon[1])
        return EIM_ERR_INVALID_ARG;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 0 || port > 65535)
        return EIM_ERR_INVALID_ARG;
    char host[64];
    size_t host_len = (size_t)(colon - text);
    memset(out, 0, sizeof(*out));
    if (text[0] == '[') {
        if (host_len < 3 || text[host_len - 1] != ']' || host_len - 2 >= sizeof(host))
            return EIM_ERR_INVALID_ARG;
        memcpy(host, text + 1, host_len - 2);
        host[host_len - 2] = '\0';
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) ? EIM_ERR_INVALID_ARG
                                                                        : EIM_OK;
    }
    if (host_len >= sizeof(host))
        return EIM_ERR_INVALID_ARG;
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) ? EIM_ERR_INVALID_ARG : EIM_OK;
}

void eim_address_format(const struct sockaddr *address, char *out, size_t size)
{
    char ip[48] = "";
    if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)address;
        uv_ip6_name(a6, ip, sizeof(ip));
        snprintf(out, size, "[%s]:%u", ip, (unsigned)ntohs(a6->sin6_port));
    } else if (address->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)address;
        uv_ip4_name(a4, ip, sizeof(ip));
        snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(a4->sin_port));
    } else {
        snprintf(out, size, "?");
    }
}
