/*
 * EuiccPackageRequest (BF51): the signed list of PSMOs or eCOs the eIM sends
 * to an eUICC (SGP.32 v1.2 §2.11.1 eUICC Package, §2.11.1.1 eIM signature,
 * §2.11.2 PSMOs, §2.11.3 eCOs, §5.9.1 ES10b.LoadEuiccPackage; ASN.1 in
 * Appendix A of docs/sgp32-brief.md):
 *
 *   BF51 { 30 EuiccPackageSigned { 80 eimId, 5A eid, 81 counterValue,
 *          [82 eimTransactionId], A0 {PSMO...} | A1 {eCO...} }, 5F37 signature }
 *
 * Encoding is two-step so the signature is made by proto/crypto:
 * eim_esep_package_encode_signed() writes DER(EuiccPackageSigned), the signer
 * signs that || associationToken TLV (eim_esep_signature_input), and
 * eim_esep_package_assemble() wraps both into BF51.
 * eim_esep_package_encode() does all three with an eim_esep_sign_fn.
 *
 * Decoding returns spans into the input; signed_tlv is the EuiccPackageSigned
 * TLV exactly as received (what the eUICC verifies).
 */
#ifndef EIM_PROTO_ESEP_EUICC_PACKAGE_H
#define EIM_PROTO_ESEP_EUICC_PACKAGE_H

#include "proto/der/der.h"
#include "proto/esep/esep.h"

/* Psmo CHOICE alternatives; the value is the context tag number. */
typedef enum {
    EIM_PSMO_ENABLE = 3,
    EIM_PSMO_DISABLE = 4,
    EIM_PSMO_DELETE = 5,
    EIM_PSMO_GET_RAT = 6,
    EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE = 7,
    EIM_PSMO_SET_FALLBACK_ATTRIBUTE = 8,
    EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE = 9,
    EIM_PSMO_LIST_PROFILE_INFO = 45,
    EIM_PSMO_SET_DEFAULT_DP_ADDRESS = 101,
} eim_psmo_kind_t;

/* ProfileInfoListRequest.searchCriteria (SGP.22 §5.7.15). */
typedef enum {
    EIM_SEARCH_NONE = 0,
    EIM_SEARCH_ISDP_AID,      /* 4F, value = AID (1..16 bytes) */
    EIM_SEARCH_ICCID,         /* 5A, value = ICCID (10 bytes) */
    EIM_SEARCH_PROFILE_CLASS, /* 95, profile_class */
} eim_search_kind_t;

typedef struct {
    eim_search_kind_t search;
    eim_span_t search_value; /* AID or ICCID */
    int64_t profile_class;   /* test(0) provisioning(1) operational(2) */
    eim_span_t tag_list;     /* 5C, OPTIONAL */
} eim_list_profile_info_t;

typedef struct {
    eim_psmo_kind_t kind;
    /* enable, disable, delete, setFallbackAttribute: 10-byte ICCID */
    eim_span_t iccid;
    bool rollback_flag; /* enable only: rollbackFlag NULL OPTIONAL */
    eim_list_profile_info_t list_profile_info;
    /* configureImmediateEnable: all OPTIONAL */
    bool immediate_enable_flag;      /* 80 00 */
    eim_span_t default_smdp_oid;     /* 81, contents octets of the OID */
    eim_span_t default_smdp_address; /* 82 (configureImmediateEnable) */
    /* setDefaultDpAddress: BF65 { 80 defaultDpAddress } (mandatory) */
    eim_span_t default_dp_address;
} eim_psmo_t;

/* eimPublicKeyData [5] / trustedPublicKeyDataTls [6] CHOICE. */
typedef enum {
    EIM_KEY_DATA_NONE = 0,
    EIM_KEY_DATA_PUBLIC_KEY = 1,  /* A0: SubjectPublicKeyInfo */
    EIM_KEY_DATA_CERTIFICATE = 2, /* A1: Certificate */
} eim_key_data_kind_t;

typedef struct {
    eim_key_data_kind_t kind;
    /* Contents octets of the SubjectPublicKeyInfo / Certificate SEQUENCE
     * (what follows its 30 L). Use eim_esep_key_data_to_der for the DER. */
    eim_span_t contents;
    /* Decode only: true when received as A0 { 30 ... } instead of the X.680
     * implicit form A0 { <contents> }. Encoders always emit the latter. */
    bool wrapped;
} eim_key_data_t;

/* EimConfigurationData (SGP.32 §2.11.1.1.1 / brief §2.4). */
typedef struct {
    eim_span_t eim_id;   /* 80, mandatory, 1..128 */
    eim_span_t eim_fqdn; /* 81 */
    bool has_eim_id_type;
    int64_t eim_id_type; /* 82: oid(1) fqdn(2) proprietary(3) */
    bool has_counter_value;
    uint64_t counter_value; /* 83 */
    bool has_association_token;
    int64_t association_token;                  /* 84 */
    eim_key_data_t eim_public_key_data;         /* A5 */
    eim_key_data_t trusted_public_key_data_tls; /* A6 */
    eim_span_t eim_supported_protocol; /* 87 BIT STRING contents (unused-bits byte first) */
    eim_span_t euicc_ci_pkid;          /* 88 SubjectKeyIdentifier */
    bool indirect_profile_download;    /* 89 00 */
} eim_eim_config_t;

/* Eco CHOICE alternatives; the value is the context tag number. */
typedef enum {
    EIM_ECO_ADD_EIM = 8,
    EIM_ECO_DELETE_EIM = 9,
    EIM_ECO_UPDATE_EIM = 10,
    EIM_ECO_LIST_EIM = 11,
} eim_eco_kind_t;

typedef struct {
    eim_eco_kind_t kind;
    eim_eim_config_t config; /* addEim, updateEim */
    eim_span_t eim_id;       /* deleteEim */
} eim_eco_t;

typedef enum {
    EIM_PACKAGE_PSMO_LIST = 0, /* A0 */
    EIM_PACKAGE_ECO_LIST = 1,  /* A1 */
} eim_package_list_t;

/* EuiccPackageSigned. */
typedef struct {
    eim_span_t eim_id; /* 1..128 */
    eim_span_t eid;    /* 16 bytes */
    uint64_t counter_value;
    eim_span_t transaction_id; /* OPTIONAL, 1..16 */
    eim_package_list_t list;
    size_t count; /* entries used in psmos[] or ecos[] */
    eim_psmo_t psmos[EIM_ESEP_MAX_PSMOS];
    eim_eco_t ecos[EIM_ESEP_MAX_ECOS];
} eim_euicc_package_t;

/* A decoded EuiccPackageRequest. */
typedef struct {
    eim_euicc_package_t package;
    eim_span_t signed_tlv; /* EuiccPackageSigned TLV (30 ...) as received */
    eim_span_t signature;  /* contents of 5F37 */
    eim_span_t tlv;        /* the whole BF51 TLV */
} eim_euicc_package_request_t;

/* Appends DER(EuiccPackageSigned) of pkg to out (the signature input prefix).
 * Fails with EIM_ERR_INVALID_ARG on a field outside its constraints (e.g. a
 * 9-byte ICCID, an empty list, a missing mandatory field). */
eim_err_t eim_esep_package_encode_signed(const eim_euicc_package_t *pkg, eim_buf_t *out);

/* Appends BF51 { signed_tlv, 5F37 40 signature } to out. signed_tlv must be a
 * single 30 TLV (normally produced by eim_esep_package_encode_signed). */
eim_err_t eim_esep_package_assemble(eim_span_t signed_tlv,
                                    const uint8_t signature[EIM_ESEP_SIGNATURE_LEN],
                                    eim_buf_t *out);

/* Encodes, signs (sign(ctx, DER(EuiccPackageSigned) || 84 L token)) and
 * assembles the complete BF51 into out. Pass token 0 when none. */
eim_err_t eim_esep_package_encode(const eim_euicc_package_t *pkg, int64_t token,
                                  eim_esep_sign_fn sign, void *sign_ctx, eim_buf_t *out);

/* Decodes exactly one BF51 EuiccPackageRequest occupying data[0..len).
 * Spans in out point into data. error (optional) receives the failure. */
eim_err_t eim_esep_package_decode(const uint8_t *data, size_t len, eim_euicc_package_request_t *out,
                                  eim_der_error_t *error);

/* Same, reading the next element of an existing reader (offsets in errors
 * then count from that reader's top-level input, e.g. a BF4F envelope). */
eim_err_t eim_esep_package_read(eim_der_reader_t *r, eim_euicc_package_request_t *out);

/* Appends the DER of a key data's SubjectPublicKeyInfo/Certificate
 * (30 L contents) to out, whichever form it was received in. */
eim_err_t eim_esep_key_data_to_der(const eim_key_data_t *key, eim_buf_t *out);

#endif
