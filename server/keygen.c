/*
 * Development key and certificate generation with wolfCrypt. See keygen.h.
 */
#include "server/keygen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "server/app.h"

#define DER_MAX 4096
#define PEM_MAX 8192

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* mkdir -p of path's directory. */
static int make_parent_dirs(const char *path)
{
    char *copy = eim_strdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    if (make_parent_dirs(path) != 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, data, len);
    int rc = close(fd);
    return n == (ssize_t)len && rc == 0 ? 0 : -1;
}

static int read_file(const char *path, uint8_t *out, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    *len = fread(out, 1, max, f);
    int bad = ferror(f) || !feof(f);
    fclose(f);
    return bad ? -1 : 0;
}

static int to_pem(const uint8_t *der, size_t der_len, int type, uint8_t *pem, size_t *pem_len)
{
    int n = wc_DerToPem(der, (word32)der_len, pem, PEM_MAX, type);
    if (n <= 0)
        return -1;
    *pem_len = (size_t)n;
    return 0;
}

static int write_private_key(const char *path, ecc_key *key)
{
    uint8_t der[DER_MAX], pem[PEM_MAX];
    size_t pem_len;
    int n = wc_EccKeyToDer(key, der, sizeof(der));
    if (n <= 0 || to_pem(der, (size_t)n, ECC_PRIVATEKEY_TYPE, pem, &pem_len) != 0)
        return -1;
    int rc = write_file(path, pem, pem_len, 0600);
    memset(der, 0, sizeof(der));
    memset(pem, 0, sizeof(pem));
    return rc;
}

static int load_private_key(const char *path, ecc_key *key)
{
    uint8_t pem[PEM_MAX], der[DER_MAX];
    size_t pem_len;
    if (read_file(path, pem, sizeof(pem), &pem_len) != 0)
        return -1;
    int n = wc_KeyPemToDer(pem, (int)pem_len, der, sizeof(der), NULL);
    word32 idx = 0;
    int rc = n > 0 && wc_EccPrivateKeyDecode(der, &idx, key, (word32)n) == 0 ? 0 : -1;
    memset(der, 0, sizeof(der));
    memset(pem, 0, sizeof(pem));
    return rc;
}

static int spki_der(ecc_key *key, uint8_t *out, size_t *len)
{
    int n = wc_EccPublicKeyToDer(key, out, DER_MAX, 1);
    if (n <= 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

/* path with ".key.pem" replaced by suffix (or suffix appended). */
static char *sibling_path(const char *path, const char *suffix)
{
    size_t len = strlen(path);
    const char *ending = ".key.pem";
    size_t el = strlen(ending);
    if (len > el && strcmp(path + len - el, ending) == 0)
        return eim_sprintf("%.*s%s", (int)(len - el), path, suffix);
    return eim_sprintf("%s%s", path, suffix);
}

static int make_signing_key(const char *path, WC_RNG *rng)
{
    ecc_key key;
    if (wc_ecc_init(&key) != 0)
        return -1;
    int rc = -1;
    uint8_t der[DER_MAX], pem[PEM_MAX];
    size_t der_len, pem_len;
    char *pub_path = sibling_path(path, ".pub.pem");
    if (wc_ecc_make_key_ex(rng, 32, &key, ECC_SECP256R1) != 0)
        goto out;
    if (write_private_key(path, &key) != 0)
        goto out;
    if (spki_der(&key, der, &der_len) != 0 ||
        to_pem(der, der_len, PUBLICKEY_TYPE, pem, &pem_len) != 0)
        goto out;
    if (!file_exists(pub_path) && write_file(pub_path, pem, pem_len, 0644) != 0)
        goto out;
    eim_log_info("created eUICC package signing key", "path", path, "public_key", pub_path);
    rc = 0;
out:
    free(pub_path);
    wc_ecc_free(&key);
    return rc;
}

static void set_name(CertName *name, const char *common_name)
{
    strncpy(name->country, "ZZ", CTC_NAME_SIZE - 1);
    strncpy(name->org, "eimd development", CTC_NAME_SIZE - 1);
    strncpy(name->commonName, common_name, CTC_NAME_SIZE - 1);
}

/* SubjectAltName extension value (GeneralNames) for the server certificate. */
static int build_alt_names(const char *eim_id, uint8_t *out, size_t max)
{
    static const uint8_t ipv4[] = {127, 0, 0, 1};
    static const uint8_t ipv6[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const char *dns[] = {eim_id, "localhost"};
    uint8_t names[512];
    size_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        size_t len = strlen(dns[i]);
        if (len > 120 || n + 2 + len > sizeof(names))
            return -1;
        names[n++] = 0x82; /* dNSName [2] */
        names[n++] = (uint8_t)len;
        memcpy(names + n, dns[i], len);
        n += len;
    }
    names[n++] = 0x87; /* iPAddress [7] */
    names[n++] = sizeof(ipv4);
    memcpy(names + n, ipv4, sizeof(ipv4));
    n += sizeof(ipv4);
    names[n++] = 0x87;
    names[n++] = sizeof(ipv6);
    memcpy(names + n, ipv6, sizeof(ipv6));
    n += sizeof(ipv6);
    /* DER: the short length form below 128 (strict parsers reject 81 xx) */
    size_t head = n < 128 ? 2 : 3;
    if (n > 255 || n + head > max)
        return -1;
    out[0] = 0x30;
    if (n < 128) {
        out[1] = (uint8_t)n;
    } else {
        out[1] = 0x81;
        out[2] = (uint8_t)n;
    }
    memcpy(out + head, names, n);
    return (int)(n + head);
}

static int make_ca(const eim_config_t *cfg, WC_RNG *rng)
{
    ecc_key key;
    Cert cert;
    uint8_t der[DER_MAX], pem[PEM_MAX];
    size_t pem_len;
    int rc = -1;
    if (wc_ecc_init(&key) != 0)
        return -1;
    if (wc_ecc_make_key_ex(rng, 32, &key, ECC_SECP256R1) != 0 || wc_InitCert(&cert) != 0)
        goto out;
    set_name(&cert.subject, "eimd development TLS CA");
    cert.isCA = 1;
    cert.sigType = CTC_SHA256wECDSA;
    cert.daysValid = 3650;
    if (wc_SetSubjectKeyIdFromPublicKey_ex(&cert, ECC_TYPE, &key) != 0 ||
        wc_SetKeyUsage(&cert, "keyCertSign,cRLSign") != 0)
        goto out;
    int n = wc_MakeCert_ex(&cert, der, sizeof(der), ECC_TYPE, &key, rng);
    if (n > 0)
        n = wc_SignCert_ex(cert.bodySz, cert.sigType, der, sizeof(der), ECC_TYPE, &key, rng);
    if (n <= 0 || to_pem(der, (size_t)n, CERT_TYPE, pem, &pem_len) != 0)
        goto out;
    if (write_private_key(cfg->keys.tls_ca_key, &key) != 0 ||
        write_file(cfg->keys.tls_ca_certificate, pem, pem_len, 0644) != 0)
        goto out;
    eim_log_info("created TLS CA", "certificate", cfg->keys.tls_ca_certificate);
    rc = 0;
out:
    wc_ecc_free(&key);
    return rc;
}

static int make_server_cert(const eim_config_t *cfg, WC_RNG *rng)
{
    ecc_key ca_key, key;
    Cert cert;
    uint8_t ca_pem[PEM_MAX], ca_der[DER_MAX], der[DER_MAX], pem[PEM_MAX], spki[DER_MAX];
    size_t ca_pem_len, pem_len, spki_len;
    int rc = -1;
    wc_ecc_init(&ca_key);
    wc_ecc_init(&key);
    if (load_private_key(cfg->keys.tls_ca_key, &ca_key) != 0 ||
        read_file(cfg->keys.tls_ca_certificate, ca_pem, sizeof(ca_pem), &ca_pem_len) != 0) {
        eim_log_error("cannot read the TLS CA", "certificate", cfg->keys.tls_ca_certificate, "key",
                      cfg->keys.tls_ca_key);
        goto out;
    }
    int ca_der_len = wc_CertPemToDer(ca_pem, (int)ca_pem_len, ca_der, sizeof(ca_der), CERT_TYPE);
    if (ca_der_len <= 0)
        goto out;
    if (wc_ecc_make_key_ex(rng, 32, &key, ECC_SECP256R1) != 0 || wc_InitCert(&cert) != 0)
        goto out;
    set_name(&cert.subject, cfg->eim.id);
    cert.sigType = CTC_SHA256wECDSA;
    cert.daysValid = 825;
    int alt_len = build_alt_names(cfg->eim.id, cert.altNames, sizeof(cert.altNames));
    if (alt_len < 0)
        goto out;
    cert.altNamesSz = alt_len;
    if (wc_SetIssuerBuffer(&cert, ca_der, ca_der_len) != 0 ||
        wc_SetAuthKeyIdFromCert(&cert, ca_der, ca_der_len) != 0 ||
        wc_SetSubjectKeyIdFromPublicKey_ex(&cert, ECC_TYPE, &key) != 0 ||
        wc_SetKeyUsage(&cert, "digitalSignature") != 0 ||
        wc_SetExtKeyUsage(&cert, "serverAuth") != 0)
        goto out;
    int n = wc_MakeCert_ex(&cert, der, sizeof(der), ECC_TYPE, &key, rng);
    if (n > 0)
        n = wc_SignCert_ex(cert.bodySz, cert.sigType, der, sizeof(der), ECC_TYPE, &ca_key, rng);
    if (n <= 0 || to_pem(der, (size_t)n, CERT_TYPE, pem, &pem_len) != 0 ||
        pem_len + ca_pem_len > sizeof(pem))
        goto out;
    memcpy(pem + pem_len, ca_pem, ca_pem_len); /* chain: leaf, then CA */
    if (write_private_key(cfg->keys.tls_private_key, &key) != 0 ||
        write_file(cfg->keys.tls_certificate_chain, pem, pem_len + ca_pem_len, 0644) != 0)
        goto out;
    if (spki_der(&key, spki, &spki_len) != 0 ||
        write_file(cfg->keys.tls_raw_public_key, spki, spki_len, 0644) != 0)
        goto out;
    eim_log_info("created TLS server certificate", "chain", cfg->keys.tls_certificate_chain,
                 "subject", cfg->eim.id, "raw_public_key", cfg->keys.tls_raw_public_key);
    rc = 0;
out:
    wc_ecc_free(&ca_key);
    wc_ecc_free(&key);
    return rc;
}

int eim_keygen(const eim_config_t *cfg)
{
    WC_RNG rng;
    if (wc_InitRng(&rng) != 0) {
        eim_log_error("cannot initialise the random generator");
        return EIM_EXIT_SOFTWARE;
    }
    int rc = 0;
    if (!file_exists(cfg->keys.signing_key))
        rc |= make_signing_key(cfg->keys.signing_key, &rng);
    if (!rc && !file_exists(cfg->keys.tls_ca_certificate) && !file_exists(cfg->keys.tls_ca_key))
        rc |= make_ca(cfg, &rng);
    bool have_server = file_exists(cfg->keys.tls_certificate_chain) &&
                       file_exists(cfg->keys.tls_private_key) &&
                       file_exists(cfg->keys.tls_raw_public_key);
    if (!rc && !have_server) {
        if (file_exists(cfg->keys.tls_certificate_chain) ||
            file_exists(cfg->keys.tls_private_key) || file_exists(cfg->keys.tls_raw_public_key)) {
            eim_log_error("TLS key files are partly present; remove them all or none", "chain",
                          cfg->keys.tls_certificate_chain);
            rc = -1;
        } else {
            rc |= make_server_cert(cfg, &rng);
        }
    }
    wc_FreeRng(&rng);
    if (rc) {
        eim_log_error("keygen failed");
        return EIM_EXIT_FAILURE;
    }
    eim_log_info("keys ready");
    return EIM_EXIT_OK;
}
