/*
 * libFuzzer target: the DTLS record header / CID demultiplexer and the
 * ClientHello look (server/dtls/dtls_record.h, RFC 6347 §4.1, RFC 9146,
 * RFC 9147 §4, RFC 7250 §3). Any input must be classified without reading
 * past its end; a CID pointer must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "server/dtls/dtls_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t cid_size = 1; cid_size <= 20; cid_size += 7) {
        eim_dtls_record_t record;
        eim_dtls_record_parse(data, size, cid_size, &record);
        if (record.cid && (record.cid < data || record.cid + cid_size > data + size))
            abort();
    }
    eim_dtls_client_hello_t hello;
    (void)eim_dtls_client_hello_peek(data, size, &hello);
    return 0;
}
