/* eimd error codes: names for logs and API error bodies. */
#include "proto/base/error.h"

const char *eim_strerror(eim_err_t err)
{
    switch (err) {
    case EIM_OK: return "ok";
    case EIM_ERR_INVALID_ARG: return "invalid argument";
    case EIM_ERR_DECODE: return "malformed input";
    case EIM_ERR_TRUNCATED: return "truncated input";
    case EIM_ERR_LIMIT: return "limit exceeded";
    case EIM_ERR_UNSUPPORTED: return "unsupported";
    case EIM_ERR_CRYPTO: return "cryptographic failure";
    case EIM_ERR_VERIFY: return "verification failed";
    case EIM_ERR_IO: return "i/o error";
    case EIM_ERR_CONFIG: return "invalid configuration";
    case EIM_ERR_DB: return "database error";
    case EIM_ERR_DB_UNAVAILABLE: return "database unavailable";
    case EIM_ERR_NOT_FOUND: return "not found";
    case EIM_ERR_CONFLICT: return "conflict";
    case EIM_ERR_BUSY: return "busy";
    case EIM_ERR_TIMEOUT: return "timeout";
    case EIM_ERR_SCHEMA: return "schema version mismatch";
    case EIM_ERR_BUFFER: return "buffer too small";
    }
    return "unknown error";
}
