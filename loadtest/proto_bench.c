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
 * "vs raw" is each row's rate divided by the matching wolfCrypt row.
 *
 * Usage: proto_bench [seconds-per-row]   (default 1.0). Pins itself to one
 * CPU. Hook for DER encode/decode rows: add entries to `extra_rows` once
 * proto/der and proto/esep land (see the comment there).
 */
#define _GNU_SOURCE
#include <sched.h>
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
#include "proto/crypto/package_signature.h"
#include "proto/crypto/software_signer.h"

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
} bench_ctx_t;

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
}

static void teardown(bench_ctx_t *c)
{
    eim_signer_destroy(c->signer);
    eim_ec_pubkey_free(c->pub);
    wc_ecc_free(&c->key);
    wc_FreeRng(&c->rng);
}

typedef struct {
    const char *name;
    bench_fn_t fn;
    int baseline; /* index of the row this one is compared with */
} row_t;

static const row_t crypto_rows[] = {
    {"wolfCrypt ECDSA sign", raw_sign, 0},
    {"package sign (eim_package_sign)", package_sign, 0},
    {"wolfCrypt ECDSA verify", raw_verify, 2},
    {"result verify, raw r||s", result_verify_raw, 2},
    {"result verify, DER sig", result_verify_der, 2},
};

/* Hook: DER encode/decode rows (EuiccPackageRequest build, ESipa decode)
 * go here once proto/der and proto/esep are merged, each with a baseline
 * such as memcpy of the same bytes. Same row_t shape; `extra_rows` is
 * printed after the crypto rows for each curve. */
static const row_t *const extra_rows = NULL;
static const size_t extra_row_count = 0;

static void run_curve(const char *label, int curve_id, double seconds)
{
    bench_ctx_t ctx;
    double rate[sizeof(crypto_rows) / sizeof(crypto_rows[0])];
    setup(&ctx, curve_id);
    for (size_t i = 0; i < sizeof(crypto_rows) / sizeof(crypto_rows[0]); i++) {
        rate[i] = measure(crypto_rows[i].fn, &ctx, seconds);
        printf("%-16s %-34s %12.0f %8.3f\n", label, crypto_rows[i].name, rate[i],
               rate[i] / rate[crypto_rows[i].baseline]);
        fflush(stdout);
    }
    for (size_t i = 0; i < extra_row_count; i++)
        printf("%-16s %-34s %12.0f\n", label, extra_rows[i].name,
               measure(extra_rows[i].fn, &ctx, seconds));
    teardown(&ctx);
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
    printf("proto_bench: one core, %.1f s per row, EuiccPackageSigned of 60 bytes, token 0x1234\n",
           seconds);
    printf("%-16s %-34s %12s %8s\n", "curve", "operation", "ops/s", "vs raw");
    run_curve("P-256", ECC_SECP256R1, seconds);
    run_curve("brainpoolP256r1", ECC_BRAINPOOLP256R1, seconds);
    return 0;
}
