/*
 * proto_bench: single-core throughput of the proto/ layer against the raw
 * crypto it is built on (engineering notes Part 1 rule 11: compare against a
 * baseline measured in the same run).
 *
 * Rows, per curve (P-256, brainpoolP256r1):
 *   wolfCrypt sign          wc_ecc_sign_hash over a fixed SHA-256 digest
 *   package sign            eim_package_sign: token TLV + SHA-256 over
 *                           EuiccPackageSigned || 84 L token + sign + r||s
 *   wolfCrypt verify        wc_ecc_verify_hash of a DER signature
 *   result verify (r||s)    eim_package_result_verify with a raw signature
 *   result verify (DER)     the same with a DER signature
 *   package build+sign/s    eim_package_build: encode EuiccPackageSigned
 *                           for an enable PSMO (SGP.32 §2.11.2.1), sign it
 *                           with the token (§2.11.1.1) and assemble BF51
 *   result decode+verify/s  eim_package_result_open: decode a signed BF51
 *                           EuiccPackageResult (enable result) and verify
 *                           euiccSignEPR (§2.11.1.2)
 * "vs raw" is each row's rate divided by the matching wolfCrypt row (sign
 * rows by raw sign, verify rows by raw verify). The end-to-end rows have a
 * target of 0.80: the codec must not cost more than a fifth of the crypto.
 *
 * Usage: proto_bench [seconds-per-row]   (default 1.0). Pins itself to one
 * CPU; each row's time is split into interleaved rounds (best kept).
 * Exit status 1 when an end-to-end row misses its target.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>

#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/package_codec.h"
#include "proto/crypto/package_signature.h"
#include "proto/crypto/software_signer.h"

/* End-to-end rows must reach this fraction of the raw crypto rate. */
#define BENCH_TARGET_RATIO 0.80
/* Interleaved measurement rounds per row (best round kept). */
#define BENCH_ROUNDS 5

typedef struct {
    ecc_key key;
    WC_RNG rng;
    eim_signer_t *signer;
    eim_ec_pubkey_t *pub;
    uint8_t tlv[256];
    size_t tlv_len;
    uint8_t digest[32];
    uint8_t der[EIM_ECDSA_DER_MAX];
    word32 der_len;
    uint8_t raw[EIM_ECDSA_RAW_LEN];
    uint8_t result_der[EIM_ECDSA_DER_MAX];
    size_t result_der_len;
    eim_assoc_token_t token;
    eim_euicc_package_t *package; /* typical enable PSMO */
    eim_buf_t request;            /* eim_package_build output, reused */
    eim_buf_t result;             /* a signed BF51 EuiccPackageResult */
    eim_euicc_result_t *decoded;
} bench_ctx_t;

static const uint8_t bench_eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                      0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};
static const uint8_t bench_iccid[10] = {0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14};
static const uint8_t bench_txid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const char bench_eim_id[] = "eim.example.com";

typedef int (*bench_fn_t)(bench_ctx_t *ctx);

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn repeatedly for about `seconds`; returns operations per second. */
static double measure(bench_fn_t fn, bench_ctx_t *ctx, double seconds)
{
    long n = 0, batch = 16;
    double start = now_sec(), elapsed = 0;
    do {
        for (long i = 0; i < batch; i++) {
            if (fn(ctx) != 0) {
                fprintf(stderr, "proto_bench: operation failed\n");
                exit(1);
            }
        }
        n += batch;
        elapsed = now_sec() - start;
    } while (elapsed < seconds);
    return (double)n / elapsed;
}

static int raw_sign(bench_ctx_t *c)
{
    uint8_t sig[EIM_ECDSA_DER_MAX];
    word32 len = sizeof(sig);
    return wc_ecc_sign_hash(c->digest, 32, sig, &len, &c->rng, &c->key);
}

static int raw_verify(bench_ctx_t *c)
{
    int ok = 0;
    int rc = wc_ecc_verify_hash(c->der, c->der_len, c->digest, 32, &ok, &c->key);
    return rc == 0 && ok == 1 ? 0 : -1;
}

static int package_sign(bench_ctx_t *c)
{
    uint8_t sig[EIM_ECDSA_RAW_LEN];
    return eim_package_sign(c->signer, eim_span(c->tlv, c->tlv_len), c->token, sig) == EIM_OK ? 0
                                                                                              : -1;
}

static int result_verify_raw(bench_ctx_t *c)
{
    return eim_package_result_verify(c->pub, eim_span(c->tlv, c->tlv_len), c->token,
                                     eim_span(c->raw, sizeof(c->raw))) == EIM_OK
               ? 0
               : -1;
}

static int result_verify_der(bench_ctx_t *c)
{
    return eim_package_result_verify(c->pub, eim_span(c->tlv, c->tlv_len), c->token,
                                     eim_span(c->result_der, c->result_der_len)) == EIM_OK
               ? 0
               : -1;
}

static int package_build(bench_ctx_t *c)
{
    eim_buf_reset(&c->request);
    return eim_package_build(c->package, c->token, c->signer, &c->request) == EIM_OK ? 0 : -1;
}

static int result_decode_verify(bench_ctx_t *c)
{
    eim_result_verdict_t verdict = EIM_VERDICT_NONE;
    eim_err_t err = eim_package_result_open(c->result.data, c->result.len, c->pub, c->token,
                                            c->decoded, &verdict, NULL);
    return err == EIM_OK && verdict == EIM_VERDICT_VERIFIED ? 0 : -1;
}

/* The enable PSMO package and its signed result (brief Appendix B shapes). */
static void setup_messages(bench_ctx_t *c)
{
    eim_euicc_package_t *p = calloc(1, sizeof(*p));
    eim_euicc_result_t *res = calloc(1, sizeof(*res));
    c->decoded = calloc(1, sizeof(*c->decoded));
    if (!p || !res || !c->decoded) {
        fprintf(stderr, "proto_bench: out of memory\n");
        exit(1);
    }
    p->eim_id = eim_span(bench_eim_id, strlen(bench_eim_id));
    p->eid = eim_span(bench_eid, sizeof(bench_eid));
    p->counter_value = 1234;
    p->transaction_id = eim_span(bench_txid, sizeof(bench_txid));
    p->list = EIM_PACKAGE_PSMO_LIST;
    p->count = 1;
    p->psmos[0].kind = EIM_PSMO_ENABLE;
    p->psmos[0].iccid = eim_span(bench_iccid, sizeof(bench_iccid));
    p->psmos[0].rollback_flag = true;
    c->package = p;
    eim_buf_init(&c->request, EIM_ESEP_MAX_MESSAGE);
    eim_buf_init(&c->result, EIM_ESEP_MAX_MESSAGE);

    res->form = EIM_RESULT_SIGNED;
    res->eim_id = p->eim_id;
    res->counter_value = p->counter_value;
    res->transaction_id = p->transaction_id;
    res->seq_number = 77;
    res->count = 1;
    res->results[0] = (eim_result_data_t){.kind = EIM_RD_ENABLE, .code = EIM_RESULT_OK};
    /* The bench key plays the eUICC: the same curve and ECDSA cost. */
    if (eim_esep_result_encode(res, c->token.value, eim_package_signer_fn, c->signer, &c->result) !=
            EIM_OK ||
        package_build(c) != 0 || result_decode_verify(c) != 0) {
        fprintf(stderr, "proto_bench: message setup failed\n");
        exit(1);
    }
    free(res);
}

static void setup(bench_ctx_t *c, int curve_id)
{
    uint8_t key_der[256], spki[EIM_EC_SPKI_MAX];
    size_t spki_len = 0;
    int n;

    memset(c, 0, sizeof(*c));
    /* An EuiccPackageSigned-sized structure (brief Appendix B shape). */
    c->tlv[0] = 0x30;
    c->tlv[1] = 0x3A;
    for (int i = 2; i < 0x3C; i++)
        c->tlv[i] = (uint8_t)(i * 7);
    c->tlv_len = 0x3C;
    c->token = EIM_TOKEN(0x1234);
    if (wc_InitRng(&c->rng) != 0 || wc_ecc_init(&c->key) != 0 ||
        wc_ecc_make_key_ex(&c->rng, 32, &c->key, curve_id) != 0 ||
        wc_ecc_set_rng(&c->key, &c->rng) != 0) {
        fprintf(stderr, "proto_bench: key generation failed\n");
        exit(1);
    }
    n = wc_EccKeyToDer(&c->key, key_der, sizeof(key_der));
    if (n <= 0 || eim_software_signer_new(eim_span(key_der, (size_t)n), &c->signer) != EIM_OK ||
        eim_signer_export_spki(c->signer, spki, sizeof(spki), &spki_len) != EIM_OK ||
        eim_ec_pubkey_from_spki(eim_span(spki, spki_len), &c->pub) != EIM_OK) {
        fprintf(stderr, "proto_bench: signer setup failed\n");
        exit(1);
    }
    memset(key_der, 0, sizeof(key_der));
    wc_Sha256Hash(c->tlv, (word32)c->tlv_len, c->digest);
    c->der_len = sizeof(c->der);
    if (wc_ecc_sign_hash(c->digest, 32, c->der, &c->der_len, &c->rng, &c->key) != 0 ||
        eim_package_sign(c->signer, eim_span(c->tlv, c->tlv_len), c->token, c->raw) != EIM_OK ||
        eim_ecdsa_raw_to_der(c->raw, c->result_der, &c->result_der_len) != EIM_OK) {
        fprintf(stderr, "proto_bench: sample signatures failed\n");
        exit(1);
    }
    setup_messages(c);
}

static void teardown(bench_ctx_t *c)
{
    eim_signer_destroy(c->signer);
    eim_ec_pubkey_free(c->pub);
    wc_ecc_free(&c->key);
    wc_FreeRng(&c->rng);
    eim_buf_free(&c->request);
    eim_buf_free(&c->result);
    free(c->package);
    free(c->decoded);
}

typedef struct {
    const char *name;
    bench_fn_t fn;
    int baseline; /* index of the row this one is compared with */
    bool target;  /* end-to-end row held to BENCH_TARGET_RATIO */
} row_t;

static const row_t crypto_rows[] = {
    {"wolfCrypt ECDSA sign", raw_sign, 0, false},
    {"package sign (eim_package_sign)", package_sign, 0, false},
    {"package build+sign/s", package_build, 0, true},
    {"wolfCrypt ECDSA verify", raw_verify, 3, false},
    {"result verify, raw r||s", result_verify_raw, 3, false},
    {"result verify, DER sig", result_verify_der, 3, false},
    {"result decode+verify/s", result_decode_verify, 3, true},
};

/* Returns the number of end-to-end rows below target. Rows are measured in
 * BENCH_ROUNDS interleaved rounds and each keeps its best round, so a burst
 * of load from another process on a shared machine hits a row and its
 * baseline alike instead of skewing one ratio. */
static int run_curve(const char *label, int curve_id, double seconds)
{
    enum { ROWS = sizeof(crypto_rows) / sizeof(crypto_rows[0]) };
    bench_ctx_t ctx;
    double rate[ROWS] = {0};
    int low = 0;
    setup(&ctx, curve_id);
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        for (size_t i = 0; i < ROWS; i++) {
            double r = measure(crypto_rows[i].fn, &ctx, seconds / BENCH_ROUNDS);
            if (r > rate[i])
                rate[i] = r;
        }
    }
    for (size_t i = 0; i < ROWS; i++) {
        double ratio = rate[i] / rate[crypto_rows[i].baseline];
        const char *mark = "";
        if (crypto_rows[i].target) {
            mark = ratio >= BENCH_TARGET_RATIO ? "ok" : "LOW";
            low += ratio < BENCH_TARGET_RATIO;
        }
        printf("%-16s %-34s %12.0f %8.3f %s\n", label, crypto_rows[i].name, rate[i], ratio, mark);
    }
    fflush(stdout);
    teardown(&ctx);
    return low;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    cpu_set_t set;
    if (seconds <= 0 || seconds > 60) {
        fprintf(stderr, "usage: proto_bench [seconds-per-row (0..60]]\n");
        return 2;
    }
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fprintf(stderr, "proto_bench: could not pin to CPU 0, continuing\n");
    printf("proto_bench: one core, %.1f s per row, EuiccPackageSigned of 60 bytes, token 0x1234;"
           " end-to-end target >= %.2f of raw\n",
           seconds, BENCH_TARGET_RATIO);
    printf("%-16s %-34s %12s %8s\n", "curve", "operation", "ops/s", "vs raw");
    int low = run_curve("P-256", ECC_SECP256R1, seconds);
    low += run_curve("brainpoolP256r1", ECC_BRAINPOOLP256R1, seconds);
    return low ? 1 : 0;
}
