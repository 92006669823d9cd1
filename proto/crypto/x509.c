/*
 * Minimal X.509 reader (x509.h). RFC 5280 §4.1, §4.2.1.1-4, §4.2.1.9,
 * §4.2.1.10; X.690 DER. SGP.22 v2 §4.5.2 names the extensions used here.
 *
 * All decoding goes through the shared DER reader (proto/der/der.h), so
 * certificates get the same strictness as every ESipa object: definite
 * minimal lengths, bounded nesting, minimal INTEGERs, well-formed OIDs and
 * BIT STRINGs. Extension values (OCTET STRINGs holding DER) are read with
 * eim_der_enter_span. Reader failures surface as EIM_ERR_DECODE: callers
 * only need "malformed certificate", not the reader's finer codes.
 */
#include "proto/crypto/x509.h"

#include <limits.h>
#include <string.h>

#include "proto/der/der.h"

/* ---- time ------------------------------------------------------------- */

static int digits(const uint8_t *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

eim_err_t eim_x509_parse_time(uint8_t tag, eim_span_t v, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const uint8_t *p = v.ptr;
    int year, mon, day, hh, mm, ss;

    if (tag == 0x17 && v.len == 13) { /* UTCTime YYMMDDHHMMSSZ */
        year = digits(p, 2);
        if (year < 0)
            return EIM_ERR_DECODE;
        year += year >= 50 ? 1900 : 2000; /* RFC 5280 §4.1.2.5.1 */
        p += 2;
    } else if (tag == 0x18 && v.len == 15) { /* GeneralizedTime YYYYMMDDHHMMSSZ */
        year = digits(p, 4);
        if (year < 0)
            return EIM_ERR_DECODE;
        p += 4;
    } else {
        return EIM_ERR_DECODE;
    }
    mon = digits(p, 2);
    day = digits(p + 2, 2);
    hh = digits(p + 4, 2);
    mm = digits(p + 6, 2);
    ss = digits(p + 8, 2);
    if (p[10] != 'Z' || mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] || hh < 0 ||
        hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
        return EIM_ERR_DECODE;
    *out = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return EIM_OK;
}

/* ---- extensions --------------------------------------------------------- */

/* Reader over a span kept in a parsed certificate (standalone input). */
static eim_der_reader_t span_reader(eim_span_t s)
{
    eim_der_reader_t r;
    eim_der_reader_init(&r, s.ptr, s.len, NULL);
    return r;
}

/* BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE,
 *                                 pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
static eim_err_t parse_basic_constraints(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_reader_t sr;
    eim_der_elem_t seq, e;
    bool present = false;
    uint64_t path_len = 0;
    eim_err_t err = eim_der_read_enter(r, 0x30, &seq, &sr);
    if (err)
        goto out;
    err = eim_der_expect_end(r);
    if (err)
        goto out;
    c->has_basic_constraints = true;
    err = eim_der_read_optional(&sr, 0x01, &e, &present);
    if (!err && present)
        err = eim_der_get_bool(&e, &c->is_ca);
    if (err)
        goto out;
    err = eim_der_read_optional(&sr, 0x02, &e, &present);
    if (!err && present) {
        err = eim_der_get_uint(&e, &path_len);
        if (!err && path_len > INT_MAX)
            err = EIM_ERR_DECODE;
        if (!err)
            c->path_len = (int)path_len;
    }
    if (err)
        goto out;
    err = eim_der_expect_end(&sr);
out:
    return err;
}

/* KeyUsage ::= BIT STRING; bit 0 is the most significant bit of the first
 * octet. The named bits we know fit in two octets. */
static eim_err_t parse_key_usage(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_span_t bits;
    unsigned unused = 0;
    uint16_t ku = 0;
    eim_err_t err = eim_der_read_bit_string(r, 0x03, &bits, &unused);
    if (err)
        goto out;
    err = eim_der_expect_end(r);
    if (err)
        goto out;
    if (bits.len < 1 || bits.len > 2) {
        err = EIM_ERR_DECODE;
        goto out;
    }
    for (size_t i = 0; i < bits.len; i++)
        for (int b = 0; b < 8; b++)
            if (bits.ptr[i] & (0x80 >> b))
                ku |= (uint16_t)(1u << (i * 8 + (size_t)b));
    c->has_key_usage = true;
    c->key_usage = ku;
out:
    return err;
}

/* SubjectKeyIdentifier ::= OCTET STRING */
static eim_err_t parse_ski(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_elem_t os;
    eim_err_t err = eim_der_read_tag(r, 0x04, &os);
    if (!err)
        err = eim_der_expect_end(r);
    if (!err && os.value.len == 0)
        err = EIM_ERR_DECODE;
    if (!err)
        c->ski = os.value;
    return err;
}

/* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OPTIONAL,
 *                                       authorityCertIssuer [1], serial [2] } */
static eim_err_t parse_aki(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_reader_t sr;
    eim_der_elem_t seq, e;
    eim_err_t err = eim_der_read_enter(r, 0x30, &seq, &sr);
    if (!err)
        err = eim_der_expect_end(r);
    while (!err && !eim_der_at_end(&sr)) {
        err = eim_der_read(&sr, &e);
        if (!err && e.tag == 0x80)
            c->aki = e.value;
    }
    return err;
}

/* NameConstraints ::= SEQUENCE { permittedSubtrees [0] OPTIONAL,
 *                                excludedSubtrees [1] OPTIONAL } */
static eim_err_t parse_name_constraints(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_reader_t sr;
    eim_der_elem_t seq, e;
    eim_err_t err = eim_der_read_enter(r, 0x30, &seq, &sr);
    if (!err)
        err = eim_der_expect_end(r);
    if (err)
        return err;
    c->has_name_constraints = true;
    while (!err && !eim_der_at_end(&sr)) {
        err = eim_der_read(&sr, &e);
        if (err)
            break;
        if (e.tag == 0xA0)
            c->permitted = e.value;
        else if (e.tag == 0xA1)
            c->has_excluded = true;
        else
            err = EIM_ERR_DECODE;
    }
    return err;
}

/* certificatePolicies ::= SEQUENCE OF SEQUENCE { policyIdentifier OID, ... }.
 * The shape is validated once here; the lookups below trust it. */
static eim_err_t parse_policies(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_reader_t sr, pr;
    eim_der_elem_t seq, pi;
    eim_span_t oid;
    eim_err_t err = eim_der_read_enter(r, 0x30, &seq, &sr);
    if (!err)
        err = eim_der_expect_end(r);
    while (!err && !eim_der_at_end(&sr)) {
        err = eim_der_read_enter(&sr, 0x30, &pi, &pr);
        if (!err)
            err = eim_der_read_oid(&pr, 0x06, &oid);
    }
    if (!err)
        c->policies = seq.value;
    return err;
}

/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 *                          extnValue OCTET STRING (DER of the extension) } */
static eim_err_t parse_extension(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_reader_t er, vr;
    eim_der_elem_t ext, crit, val;
    eim_span_t oid;
    bool critical = false, present = false;
    eim_err_t err = eim_der_read_enter(r, 0x30, &ext, &er);
    if (err)
        goto out;
    err = eim_der_read_oid(&er, 0x06, &oid);
    if (err)
        goto out;
    err = eim_der_read_optional(&er, 0x01, &crit, &present);
    if (!err && present) {
        err = eim_der_get_bool(&crit, &critical);
        if (!err && !critical) /* DER: the DEFAULT FALSE is omitted */
            err = EIM_ERR_DECODE;
    }
    if (err)
        goto out;
    err = eim_der_read_tag(&er, 0x04, &val);
    if (!err)
        err = eim_der_expect_end(&er);
    if (!err)
        err = eim_der_enter_span(&er, val.value, &vr);
    if (err)
        goto out;
    /* id-ce arc 2.5.29 (55 1D) holds every extension we process. */
    if (oid.len != 3 || oid.ptr[0] != 0x55 || oid.ptr[1] != 0x1D) {
        c->unknown_critical |= critical;
        goto out;
    }
    switch (oid.ptr[2]) {
    case 0x13: err = parse_basic_constraints(&vr, c); break;
    case 0x0F: err = parse_key_usage(&vr, c); break;
    case 0x0E: err = parse_ski(&vr, c); break;
    case 0x23: err = parse_aki(&vr, c); break;
    case 0x1E: err = parse_name_constraints(&vr, c); break;
    case 0x20: err = parse_policies(&vr, c); break;
    default: c->unknown_critical |= critical; break;
    }
out:
    return err;
}

/* extensions [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension */
static eim_err_t parse_extensions(eim_der_reader_t *r, eim_x509_cert_t *c)
{
    eim_der_reader_t sr;
    eim_der_elem_t seq;
    eim_err_t err = eim_der_read_enter(r, 0x30, &seq, &sr);
    if (!err)
        err = eim_der_expect_end(r);
    while (!err && !eim_der_at_end(&sr))
        err = parse_extension(&sr, c);
    return err;
}

/* ---- certificate -------------------------------------------------------- */

/* version [0] EXPLICIT INTEGER: only v3 (2) carries extensions. */
static eim_err_t parse_version(eim_der_reader_t *tr)
{
    eim_der_reader_t vr;
    eim_der_elem_t wrap;
    bool present = false;
    int64_t version = 0;
    eim_err_t err = eim_der_read_optional(tr, 0xA0, &wrap, &present);
    if (err)
        return EIM_ERR_DECODE;
    if (!present)
        return EIM_ERR_UNSUPPORTED; /* v1 */
    if (eim_der_enter(tr, &wrap, &vr) != EIM_OK ||
        eim_der_read_int(&vr, 0x02, &version) != EIM_OK || eim_der_expect_end(&vr) != EIM_OK)
        return EIM_ERR_DECODE;
    return version == 2 ? EIM_OK : EIM_ERR_UNSUPPORTED;
}

/* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
static eim_err_t parse_validity(eim_der_reader_t *tr, eim_x509_cert_t *c)
{
    eim_der_reader_t vr;
    eim_der_elem_t seq, t1, t2;
    eim_err_t err = eim_der_read_enter(tr, 0x30, &seq, &vr);
    if (!err)
        err = eim_der_read(&vr, &t1);
    if (!err)
        err = eim_der_read(&vr, &t2);
    if (!err)
        err = eim_der_expect_end(&vr);
    if (err)
        return err;
    if (t1.tag > 0xFF || t2.tag > 0xFF ||
        eim_x509_parse_time((uint8_t)t1.tag, t1.value, &c->not_before) != EIM_OK ||
        eim_x509_parse_time((uint8_t)t2.tag, t2.value, &c->not_after) != EIM_OK)
        return EIM_ERR_DECODE;
    return EIM_OK;
}

/* TBSCertificate (RFC 5280 §4.1.2) after the version. */
static eim_err_t parse_tbs_fields(eim_der_reader_t *tr, const eim_der_elem_t *alg,
                                  eim_x509_cert_t *c)
{
    eim_der_elem_t e;
    eim_err_t err = eim_der_read_tag(tr, 0x02, &e);
    if (!err)
        err = eim_der_check_int(tr, &e);
    if (err)
        return err;
    c->serial = e.value;
    err = eim_der_read_tag(tr, 0x30, &e); /* signature AlgorithmIdentifier */
    if (err)
        return err;
    if (!eim_span_eq(e.tlv, alg->tlv)) /* RFC 5280 §4.1.1.2: must match */
        return EIM_ERR_DECODE;
    err = eim_der_read_tag(tr, 0x30, &e);
    if (err)
        return err;
    c->issuer = e.tlv;
    err = parse_validity(tr, c);
    if (!err)
        err = eim_der_read_tag(tr, 0x30, &e);
    if (err)
        return err;
    c->subject = e.tlv;
    err = eim_der_read_tag(tr, 0x30, &e);
    if (err)
        return err;
    c->spki = e.tlv;
    while (!eim_der_at_end(tr)) {
        err = eim_der_read(tr, &e);
        if (err)
            return err;
        if (e.tag == 0x81 || e.tag == 0x82) /* issuer/subjectUniqueID */
            continue;
        if (e.tag != 0xA3 || !eim_der_at_end(tr))
            return EIM_ERR_DECODE;
        eim_der_reader_t xr;
        err = eim_der_enter(tr, &e, &xr);
        if (!err)
            err = parse_extensions(&xr, c);
        if (!err)
            err = eim_der_expect_end(&xr);
        if (err)
            return err;
    }
    return EIM_OK;
}

eim_err_t eim_x509_parse(eim_span_t der, eim_x509_cert_t *c)
{
    eim_der_reader_t top, cr, tr, ar;
    eim_der_elem_t cert, tbs, alg;
    eim_span_t sig_bits;
    unsigned unused = 0;
    eim_err_t err;

    if (!der.ptr || !c)
        return EIM_ERR_INVALID_ARG;
    if (der.len > EIM_X509_MAX_CERT)
        return EIM_ERR_LIMIT;
    memset(c, 0, sizeof(*c));
    c->path_len = -1;
    eim_der_reader_init(&top, der.ptr, der.len, NULL);
    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
     *                            signatureValue BIT STRING } */
    err = eim_der_read_enter(&top, 0x30, &cert, &cr);
    if (!err)
        err = eim_der_expect_end(&top);
    if (!err)
        err = eim_der_read_enter(&cr, 0x30, &tbs, &tr);
    if (!err)
        err = eim_der_read_enter(&cr, 0x30, &alg, &ar);
    if (!err)
        err = eim_der_read_bit_string(&cr, 0x03, &sig_bits, &unused);
    if (!err)
        err = eim_der_expect_end(&cr);
    if (!err)
        err = eim_der_read_oid(&ar, 0x06, &c->sig_alg);
    if (!err && (unused != 0 || sig_bits.len == 0))
        err = EIM_ERR_DECODE;
    if (err)
        goto out;
    c->tlv = cert.tlv;
    c->tbs = tbs.tlv;
    c->signature = sig_bits;
    err = parse_version(&tr);
    if (err)
        goto out;
    err = parse_tbs_fields(&tr, &alg, c);
out:
    if (err != EIM_OK && err != EIM_ERR_UNSUPPORTED)
        err = EIM_ERR_DECODE;
    return err;
}

eim_err_t eim_x509_name_attr(eim_span_t name, eim_span_t oid, eim_span_t *value)
{
    /* Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF
     *          AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY }) */
    eim_der_reader_t outer = span_reader(name), r, sr, ar;
    eim_der_elem_t seq, set, atv, val;
    eim_span_t type;
    if (eim_der_read_enter(&outer, 0x30, &seq, &r) != EIM_OK || !eim_der_at_end(&outer))
        return EIM_ERR_DECODE;
    while (!eim_der_at_end(&r)) {
        if (eim_der_read_enter(&r, 0x31, &set, &sr) != EIM_OK)
            return EIM_ERR_DECODE;
        while (!eim_der_at_end(&sr)) {
            if (eim_der_read_enter(&sr, 0x30, &atv, &ar) != EIM_OK ||
                eim_der_read_oid(&ar, 0x06, &type) != EIM_OK || eim_der_read(&ar, &val) != EIM_OK ||
                !eim_der_at_end(&ar))
                return EIM_ERR_DECODE;
            if (eim_span_eq(type, oid)) {
                *value = val.value;
                return EIM_OK;
            }
        }
    }
    return EIM_ERR_NOT_FOUND;
}

eim_err_t eim_x509_each_permitted_dirname(const eim_x509_cert_t *cert,
                                          bool (*fn)(eim_span_t name, void *arg), void *arg,
                                          bool *found)
{
    /* GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0], maximum [1] } */
    eim_der_reader_t r = span_reader(cert->permitted), sr, nr;
    eim_der_elem_t subtree, base, name;
    *found = false;
    while (!eim_der_at_end(&r)) {
        if (eim_der_read_enter(&r, 0x30, &subtree, &sr) != EIM_OK ||
            eim_der_read(&sr, &base) != EIM_OK)
            return EIM_ERR_DECODE;
        if (base.tag != 0xA4) /* directoryName [4] (EXPLICIT: Name is a CHOICE) */
            continue;
        if (eim_der_enter(&sr, &base, &nr) != EIM_OK ||
            eim_der_read_tag(&nr, 0x30, &name) != EIM_OK || !eim_der_at_end(&nr))
            return EIM_ERR_DECODE;
        if (fn(name.tlv, arg)) {
            *found = true;
            return EIM_OK;
        }
    }
    return EIM_OK;
}

static bool policy_match(const eim_x509_cert_t *cert, eim_span_t oid, bool prefix)
{
    eim_der_reader_t r = span_reader(cert->policies), pr;
    eim_der_elem_t pi;
    eim_span_t id;
    while (!eim_der_at_end(&r)) {
        if (eim_der_read_enter(&r, 0x30, &pi, &pr) != EIM_OK ||
            eim_der_read_oid(&pr, 0x06, &id) != EIM_OK)
            return false;
        if (prefix ? (id.len >= oid.len && memcmp(id.ptr, oid.ptr, oid.len) == 0)
                   : eim_span_eq(id, oid))
            return true;
    }
    return false;
}

bool eim_x509_has_policy(const eim_x509_cert_t *cert, eim_span_t oid)
{
    return policy_match(cert, oid, false);
}

bool eim_x509_has_policy_prefix(const eim_x509_cert_t *cert, eim_span_t prefix)
{
    return policy_match(cert, prefix, true);
}
