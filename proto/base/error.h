/*
 * eimd error codes.
 *
 * Every fallible function of eimd returns an eim_err_t: EIM_OK (0) on
 * success, a negative code otherwise. eim_strerror() gives a stable,
 * human-readable name for logs and API error bodies. Context (which field,
 * which offset) travels separately, e.g. in eim_der_error_t for decoders.
 */
#ifndef EIM_PROTO_BASE_ERROR_H
#define EIM_PROTO_BASE_ERROR_H

typedef enum {
    EIM_OK = 0,
    EIM_ERR_INVALID_ARG = -1,     /* caller passed something unusable */
    EIM_ERR_DECODE = -2,          /* malformed input bytes / text */
    EIM_ERR_TRUNCATED = -3,       /* input ended inside an element */
    EIM_ERR_LIMIT = -4,           /* a size, depth or count limit was hit */
    EIM_ERR_UNSUPPORTED = -5,     /* well-formed but not supported */
    EIM_ERR_CRYPTO = -6,          /* a cryptographic primitive failed */
    EIM_ERR_VERIFY = -7,          /* a signature or chain did not verify */
    EIM_ERR_IO = -8,              /* file or socket I/O failed */
    EIM_ERR_CONFIG = -9,          /* configuration invalid */
    EIM_ERR_DB = -10,             /* database error (see log for details) */
    EIM_ERR_DB_UNAVAILABLE = -11, /* database unreachable: retry later */
    EIM_ERR_NOT_FOUND = -12,
    EIM_ERR_CONFLICT = -13, /* state does not allow the operation */
    EIM_ERR_BUSY = -14,     /* temporarily overloaded: retry later */
    EIM_ERR_TIMEOUT = -15,
    EIM_ERR_SCHEMA = -16, /* database schema older/newer than this build */
    EIM_ERR_BUFFER = -17, /* output buffer too small */
} eim_err_t;

/* Returns a static string naming err ("invalid argument", ...). Never NULL. */
const char *eim_strerror(eim_err_t err);

#endif
