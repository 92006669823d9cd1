/*
 * EuiccPackageResult (BF51): the eUICC's answer to an eUICC Package (SGP.32
 * v1.2 §2.11.1.2 euiccSignEPR/euiccSignEPE, §5.9.1 LoadEuiccPackage
 * response; ASN.1 in Appendix A of docs/sgp32-brief.md, brief §2.8, §3.2):
 *
 *   BF51 { A0 { 30 EuiccPackageResultDataSigned, 5F37 euiccSignEPR } }
 *   BF51 { A1 { 30 EuiccPackageErrorDataSigned,  5F37 euiccSignEPE } }
 *   BF51 { A2 { 80 eimId, [82 txid], [84 token], [8F code (v1.3)] } }
 *
 * Decoding is liberal about the automatic CHOICE wrapper (brief §2.8): the
 * bare forms BF51 { 30 {data}, 5F37 sig } and BF51 { 30 { 30 {data}, 5F37 } }
 * seen on test mocks are accepted too (the alternative is then inferred from
 * the data: a universal INTEGER directly inside means an error). Encoding
 * always emits the X.680 form. signed_tlv/signature are the exact received
 * bytes for proto/crypto: verify signature over signed_tlv || 84 L token.
 */
#ifndef EIM_PROTO_ESEP_EUICC_RESULT_H
#define EIM_PROTO_ESEP_EUICC_RESULT_H

#include "proto/der/der.h"
#include "proto/esep/esep.h"

typedef enum {
    EIM_RESULT_SIGNED = 0,         /* A0 euiccPackageResultSigned */
    EIM_RESULT_ERROR_SIGNED = 1,   /* A1 euiccPackageErrorSigned */
    EIM_RESULT_ERROR_UNSIGNED = 2, /* A2 euiccPackageErrorUnsigned */
} eim_result_form_t;

/* EuiccResultData CHOICE alternatives; values are the context tag numbers
 * except processingTerminated (universal INTEGER) and unknown alternatives. */
typedef enum {
    EIM_RD_ENABLE = 3,                     /* 83 EnableProfileResult */
    EIM_RD_DISABLE = 4,                    /* 84 */
    EIM_RD_DELETE = 5,                     /* 85 */
    EIM_RD_GET_RAT = 6,                    /* A6 RulesAuthorisationTable */
    EIM_RD_CONFIGURE_IMMEDIATE_ENABLE = 7, /* 87 */
    EIM_RD_ADD_EIM = 8,                    /* A8 { 84 token | 02 code } */
    EIM_RD_DELETE_EIM = 9,                 /* 89 */
    EIM_RD_UPDATE_EIM = 10,                /* 8A */
    EIM_RD_LIST_EIM = 11,                  /* AB { A0 {EimIdInfo...} | 81 code } */
    EIM_RD_ROLLBACK = 12,                  /* 8C */
    EIM_RD_SET_FALLBACK_ATTRIBUTE = 13,    /* 8D */
    EIM_RD_UNSET_FALLBACK_ATTRIBUTE = 14,  /* 8E */
    EIM_RD_LIST_PROFILE_INFO = 45,         /* BF2D { A0 {E3...} | 81 code } */
    EIM_RD_SET_DEFAULT_DP_ADDRESS = 101,   /* BF65 { 80 code } */
    EIM_RD_PROCESSING_TERMINATED = 1000,   /* 02 code */
    EIM_RD_UNKNOWN = 1001,                 /* newer alternative: raw only */
} eim_result_data_kind_t;

/* Result codes used by several alternatives (SGP.32 Appendix A). */
#define EIM_RESULT_OK              0
#define EIM_RESULT_UNDEFINED_ERROR 127

/* EuiccPackageErrorCode */
#define EIM_PACKAGE_ERROR_INVALID_EID   3
#define EIM_PACKAGE_ERROR_REPLAY        4
#define EIM_PACKAGE_ERROR_COUNTER_RANGE 6
#define EIM_PACKAGE_ERROR_SIZE_OVERFLOW 15
#define EIM_PACKAGE_ERROR_ECALL_ACTIVE  104

/* One ProfileInfo (E3) of a listProfileInfo result; fields the eIM uses. */
typedef struct {
    eim_span_t iccid;    /* 5A */
    eim_span_t isdp_aid; /* 4F */
    bool has_state;
    int64_t state;                    /* 9F70: disabled(0) enabled(1) */
    eim_span_t nickname;              /* 90 */
    eim_span_t service_provider_name; /* 91 */
    eim_span_t name;                  /* 92 */
    bool has_profile_class;
    int64_t profile_class; /* 95 */
    bool has_ecall_indication;
    bool ecall_indication;   /* 9F7B */
    bool fallback_attribute; /* 9F26, DEFAULT FALSE */
    bool has_fallback_allowed;
    bool fallback_allowed; /* 9F67 */
    eim_span_t raw;        /* the whole E3 TLV (all other fields) */
} eim_profile_info_t;

/* EimIdInfo of a listEim result. */
typedef struct {
    eim_span_t eim_id; /* 80 */
    bool has_eim_id_type;
    int64_t eim_id_type; /* 82 */
} eim_eim_id_info_t;

typedef struct {
    eim_result_data_kind_t kind;
    /* The INTEGER result for every alternative that has one (enable, ...,
     * processingTerminated, setDefaultDpAddress, addEim error, listProfileInfo
     * error, listEim error). */
    int64_t code;
    bool is_error;              /* listProfileInfo/listEim: the error alternative was sent;
                                   addEim: a code instead of a token was sent */
    bool has_association_token; /* addEim success */
    int64_t association_token;
    /* getRAT: contents of A6 (the ProfilePolicyAuthorisationRules) */
    eim_span_t rat;
    /* listProfileInfo: profiles[first .. first+count) of the result */
    size_t profile_first, profile_count;
    /* listEim: eim_ids[first .. first+count) of the result */
    size_t eim_id_first, eim_id_count;
    /* Decode only: for listProfileInfo/listEim, whether the automatic CHOICE
     * wrapper (A0/81) was present (false: bare E3.../30... list). */
    bool wrapped;
    eim_span_t raw; /* the whole TLV of this EuiccResultData */
} eim_result_data_t;

typedef struct {
    eim_result_form_t form;
    bool wrapped;               /* decode: A0/A1/A2 present (false: bare 30 form) */
    eim_span_t eim_id;          /* all forms */
    uint64_t counter_value;     /* signed forms */
    eim_span_t transaction_id;  /* OPTIONAL, all forms */
    uint64_t seq_number;        /* EIM_RESULT_SIGNED */
    int64_t error_code;         /* EIM_RESULT_ERROR_SIGNED: EuiccPackageErrorCode */
    bool has_association_token; /* EIM_RESULT_ERROR_UNSIGNED */
    int64_t association_token;
    bool has_unsigned_error_code; /* v1.3 euiccPackageUnsignedErrorCode [15] */
    int64_t unsigned_error_code;
    size_t count; /* euiccResult entries (EIM_RESULT_SIGNED) */
    eim_result_data_t results[EIM_ESEP_MAX_RESULTS];
    size_t profile_count;
    eim_profile_info_t profiles[EIM_ESEP_MAX_PROFILES];
    size_t eim_id_count;
    eim_eim_id_info_t eim_ids[EIM_ESEP_MAX_EIM_IDS];
    /* Decode only: */
    eim_span_t signed_tlv; /* 30 EuiccPackage{Result,Error}DataSigned as received */
    eim_span_t signature;  /* contents of 5F37 */
    eim_span_t tlv;        /* the whole BF51 */
} eim_euicc_result_t;

/* Appends DER(EuiccPackageResultDataSigned) (form EIM_RESULT_SIGNED) or
 * DER(EuiccPackageErrorDataSigned) (EIM_RESULT_ERROR_SIGNED) of res to out:
 * the euiccSignEPR/EPE input prefix. For listProfileInfo results the profile
 * raw TLVs are written when set, otherwise the decoded fields. */
eim_err_t eim_esep_result_encode_signed(const eim_euicc_result_t *res, eim_buf_t *out);

/* Appends BF51 { A0|A1 { signed_tlv, 5F37 signature } } to out; form must be
 * a signed one, signature 1..EIM_ESEP_SIGNATURE_MAX bytes. */
eim_err_t eim_esep_result_assemble(eim_result_form_t form, eim_span_t signed_tlv,
                                   eim_span_t signature, eim_buf_t *out);

/* Appends the complete BF51 for res. Signed forms are signed through
 * sign(ctx, signed data || 84 L token); the unsigned form ignores sign. */
eim_err_t eim_esep_result_encode(const eim_euicc_result_t *res, int64_t token,
                                 eim_esep_sign_fn sign, void *sign_ctx, eim_buf_t *out);

/* Decodes exactly one BF51 EuiccPackageResult occupying data[0..len). */
eim_err_t eim_esep_result_decode(const uint8_t *data, size_t len, eim_euicc_result_t *out,
                                 eim_der_error_t *error);

/* Same, reading the next element of an existing reader (e.g. inside BF50). */
eim_err_t eim_esep_result_read(eim_der_reader_t *r, eim_euicc_result_t *out);

#endif
