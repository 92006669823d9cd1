/*
 * Human-readable rendering of ESipa and ESep messages (SGP.32 v1.2 §6.3 and
 * Annex A; §2.11 eUICC Packages): the bytes are first decoded with the real
 * codecs (EsipaMessageFromIpaToEim, EsipaMessageFromEimToIpa, and for the
 * BF51 objects proto/esep's EuiccPackageRequest / EuiccPackageResult), and a
 * message that decodes is rendered as JSON whose member names are the ASN.1
 * component names ("eidValue", "counterValue", "psmoList", ...). Nested
 * SGP.22 objects that eimd relays without interpreting (PIRs, certificates,
 * EUICCInfo, BPPs) are shown as hex of their complete TLV; INTEGERs as
 * numbers, UTF8Strings as strings, NULL flags as true, other values as hex.
 * Used by `eimd decode`; not on any request path.
 */
#ifndef EIM_PROTO_ESIPA_ESIPA_DESCRIBE_H
#define EIM_PROTO_ESIPA_ESIPA_DESCRIBE_H

#include "proto/esipa/esipa_common.h"

typedef enum {
    EIM_DESCRIBE_IPA_TO_EIM = 1,        /* EsipaMessageFromIpaToEim */
    EIM_DESCRIBE_EIM_TO_IPA,            /* EsipaMessageFromEimToIpa */
    EIM_DESCRIBE_EUICC_PACKAGE_REQUEST, /* bare BF51 EuiccPackageRequest */
    EIM_DESCRIBE_EUICC_PACKAGE_RESULT,  /* bare BF51 EuiccPackageResult */
} eim_esipa_describe_kind_t;

/* Name of a kind ("EsipaMessageFromIpaToEim", ...). */
const char *eim_esipa_describe_kind_name(eim_esipa_describe_kind_t kind);

/* Tries the four forms in the order of eim_esipa_describe_kind_t and
 * appends the pretty-printed JSON (with a final newline) of the first that
 * decodes to out; *kind (optional) says which. When none decodes, returns
 * the decoder's error and fills *error with the failure that got furthest
 * into the input (offset, tag, reason); *kind then names that attempt. */
eim_err_t eim_esipa_describe(const uint8_t *data, size_t len, eim_buf_t *out,
                             eim_esipa_describe_kind_t *kind, eim_der_error_t *error);

#endif
