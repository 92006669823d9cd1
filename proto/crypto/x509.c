/*
 * Minimal X.509 reader (x509.h). RFC 5280 §4.1, §4.2.1.1-4, §4.2.1.9,
 * §4.2.1.10; X.690 DER. SGP.22 v2 §4.5.2 names the extensions used here.
 */
#include "proto/crypto/x509.h"

#include "proto/crypto/tlv_internal.h"

#include <string.h>

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

static eim_err_t parse_basic_constraints(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t outer = tlv_reader(v), r;
    tlv_t seq, e;
    if (tlv_expect(&outer, 0x30, &seq) != EIM_OK || !tlv_at_end(&outer))
        return EIM_ERR_DECODE;
    r = tlv_reader(seq.value);
    c->has_basic_constraints = true;
    if (tlv_peek(&r, 0x01)) {
        if (tlv_next(&r, &e) != EIM_OK || e.value.len != 1 ||
            (e.value.ptr[0] != 0x00 && e.value.ptr[0] != 0xFF))
            return EIM_ERR_DECODE;
        c->is_ca = e.value.ptr[0] == 0xFF;
    }
    if (tlv_peek(&r, 0x02)) {
        if (tlv_next(&r, &e) != EIM_OK || e.value.len != 1 || e.value.ptr[0] > 0x7F)
            return EIM_ERR_DECODE;
        c->path_len = e.value.ptr[0];
    }
    return tlv_at_end(&r) ? EIM_OK : EIM_ERR_DECODE;
}

static eim_err_t parse_key_usage(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t r = tlv_reader(v);
    tlv_t bits;
    if (tlv_expect(&r, 0x03, &bits) != EIM_OK || !tlv_at_end(&r) || bits.value.len < 2 ||
        bits.value.len > 3 || bits.value.ptr[0] > 7)
        return EIM_ERR_DECODE;
    /* BIT STRING: bit 0 is the most significant bit of the first byte. */
    uint16_t ku = 0;
    for (size_t i = 1; i < bits.value.len; i++)
        for (int b = 0; b < 8; b++)
            if (bits.value.ptr[i] & (0x80 >> b))
                ku |= (uint16_t)(1u << ((i - 1) * 8 + (size_t)b));
    c->has_key_usage = true;
    c->key_usage = ku;
    return EIM_OK;
}

static eim_err_t parse_ski(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t r = tlv_reader(v);
    tlv_t os;
    if (tlv_expect(&r, 0x04, &os) != EIM_OK || !tlv_at_end(&r) || os.value.len == 0)
        return EIM_ERR_DECODE;
    c->ski = os.value;
    return EIM_OK;
}

static eim_err_t parse_aki(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t outer = tlv_reader(v), r;
    tlv_t seq, e;
    if (tlv_expect(&outer, 0x30, &seq) != EIM_OK || !tlv_at_end(&outer))
        return EIM_ERR_DECODE;
    r = tlv_reader(seq.value);
    while (!tlv_at_end(&r)) {
        if (tlv_next(&r, &e) != EIM_OK)
            return EIM_ERR_DECODE;
        if (e.tag == 0x80) /* [0] IMPLICIT KeyIdentifier */
            c->aki = e.value;
    }
    return EIM_OK;
}

static eim_err_t parse_name_constraints(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t outer = tlv_reader(v), r;
    tlv_t seq, e;
    if (tlv_expect(&outer, 0x30, &seq) != EIM_OK || !tlv_at_end(&outer))
        return EIM_ERR_DECODE;
    r = tlv_reader(seq.value);
    c->has_name_constraints = true;
    while (!tlv_at_end(&r)) {
        if (tlv_next(&r, &e) != EIM_OK)
            return EIM_ERR_DECODE;
        if (e.tag == 0xA0)
            c->permitted = e.value;
        else if (e.tag == 0xA1)
            c->has_excluded = true;
        else
            return EIM_ERR_DECODE;
    }
    return EIM_OK;
}

static eim_err_t parse_policies(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t outer = tlv_reader(v), r;
    tlv_t seq, pi;
    if (tlv_expect(&outer, 0x30, &seq) != EIM_OK || !tlv_at_end(&outer))
        return EIM_ERR_DECODE;
    r = tlv_reader(seq.value);
    while (!tlv_at_end(&r)) { /* validate shape once; lookups trust it */
        tlv_reader_t pr;
        tlv_t oid;
        if (tlv_expect(&r, 0x30, &pi) != EIM_OK)
            return EIM_ERR_DECODE;
        pr = tlv_reader(pi.value);
        if (tlv_expect(&pr, 0x06, &oid) != EIM_OK)
            return EIM_ERR_DECODE;
    }
    c->policies = seq.value;
    return EIM_OK;
}

static eim_err_t parse_extensions(eim_span_t v, eim_x509_cert_t *c)
{
    tlv_reader_t outer = tlv_reader(v), r;
    tlv_t seq;
    if (tlv_expect(&outer, 0x30, &seq) != EIM_OK || !tlv_at_end(&outer))
        return EIM_ERR_DECODE;
    r = tlv_reader(seq.value);
    while (!tlv_at_end(&r)) {
        tlv_t ext, oid, crit, val;
        tlv_reader_t er;
        bool critical = false;
        eim_err_t err = EIM_OK;
        if (tlv_expect(&r, 0x30, &ext) != EIM_OK)
            return EIM_ERR_DECODE;
        er = tlv_reader(ext.value);
        if (tlv_expect(&er, 0x06, &oid) != EIM_OK)
            return EIM_ERR_DECODE;
        if (tlv_peek(&er, 0x01)) {
            if (tlv_next(&er, &crit) != EIM_OK || crit.value.len != 1 ||
                crit.value.ptr[0] != 0xFF) /* DER: FALSE is omitted */
                return EIM_ERR_DECODE;
            critical = true;
        }
        if (tlv_expect(&er, 0x04, &val) != EIM_OK || !tlv_at_end(&er))
            return EIM_ERR_DECODE;
        if (oid.value.len != 3 || oid.value.ptr[0] != 0x55 || oid.value.ptr[1] != 0x1D) {
            if (critical)
                c->unknown_critical = true;
            continue;
        }
        switch (oid.value.ptr[2]) {
        case 0x13: err = parse_basic_constraints(val.value, c); break;
        case 0x0F: err = parse_key_usage(val.value, c); break;
        case 0x0E: err = parse_ski(val.value, c); break;
        case 0x23: err = parse_aki(val.value, c); break;
        case 0x1E: err = parse_name_constraints(val.value, c); break;
        case 0x20: err = parse_policies(val.value, c); break;
        default:
            if (critical)
                c->unknown_critical = true;
            break;
        }
        if (err != EIM_OK)
            return err;
    }
    return EIM_OK;
}

/* ---- certificate -------------------------------------------------------- */

eim_err_t eim_x509_parse(eim_span_t der, eim_x509_cert_t *c)
{
    tlv_reader_t top, cr, tr, ar, vr;
    tlv_t cert, tbs, alg, oid, sig, e, t1, t2;

    if (!der.ptr || !c)
        return EIM_ERR_INVALID_ARG;
    if (der.len > EIM_X509_MAX_CERT)
        return EIM_ERR_LIMIT;
    memset(c, 0, sizeof(*c));
    c->path_len = -1;
    top = tlv_reader(der);
    if (tlv_expect(&top, 0x30, &cert) != EIM_OK || !tlv_at_end(&top))
        return EIM_ERR_DECODE;
    c->tlv = cert.tlv;
    cr = tlv_reader(cert.value);
    if (tlv_expect(&cr, 0x30, &tbs) != EIM_OK || tlv_expect(&cr, 0x30, &alg) != EIM_OK ||
        tlv_expect(&cr, 0x03, &sig) != EIM_OK || !tlv_at_end(&cr))
        return EIM_ERR_DECODE;
    c->tbs = tbs.tlv;
    ar = tlv_reader(alg.value);
    if (tlv_expect(&ar, 0x06, &oid) != EIM_OK)
        return EIM_ERR_DECODE;
    c->sig_alg = oid.value;
    if (sig.value.len < 2 || sig.value.ptr[0] != 0)
        return EIM_ERR_DECODE;
    c->signature = eim_span(sig.value.ptr + 1, sig.value.len - 1);

    tr = tlv_reader(tbs.value);
    if (tlv_peek(&tr, 0xA0)) { /* version [0] EXPLICIT: must be v3 (2) */
        tlv_reader_t vr0;
        tlv_t ver_wrap, ver;
        if (tlv_next(&tr, &ver_wrap) != EIM_OK)
            return EIM_ERR_DECODE;
        vr0 = tlv_reader(ver_wrap.value);
        if (tlv_expect(&vr0, 0x02, &ver) != EIM_OK || ver.value.len != 1 || ver.value.ptr[0] != 2)
            return EIM_ERR_UNSUPPORTED;
    } else {
        return EIM_ERR_UNSUPPORTED; /* v1 certificates have no extensions */
    }
    if (tlv_expect(&tr, 0x02, &e) != EIM_OK)
        return EIM_ERR_DECODE;
    c->serial = e.value;
    if (tlv_expect(&tr, 0x30, &e) != EIM_OK) /* signature AlgorithmIdentifier */
        return EIM_ERR_DECODE;
    if (!eim_span_eq(e.tlv, alg.tlv)) /* RFC 5280 §4.1.1.2: must match */
        return EIM_ERR_DECODE;
    if (tlv_expect(&tr, 0x30, &e) != EIM_OK)
        return EIM_ERR_DECODE;
    c->issuer = e.tlv;
    if (tlv_expect(&tr, 0x30, &e) != EIM_OK)
        return EIM_ERR_DECODE;
    vr = tlv_reader(e.value);
    if (tlv_next(&vr, &t1) != EIM_OK || tlv_next(&vr, &t2) != EIM_OK || !tlv_at_end(&vr) ||
        eim_x509_parse_time(t1.tag, t1.value, &c->not_before) != EIM_OK ||
        eim_x509_parse_time(t2.tag, t2.value, &c->not_after) != EIM_OK)
        return EIM_ERR_DECODE;
    if (tlv_expect(&tr, 0x30, &e) != EIM_OK)
        return EIM_ERR_DECODE;
    c->subject = e.tlv;
    if (tlv_expect(&tr, 0x30, &e) != EIM_OK)
        return EIM_ERR_DECODE;
    c->spki = e.tlv;
    while (!tlv_at_end(&tr)) {
        if (tlv_next(&tr, &e) != EIM_OK)
            return EIM_ERR_DECODE;
        if (e.tag == 0x81 || e.tag == 0x82) /* issuer/subjectUniqueID */
            continue;
        if (e.tag != 0xA3 || !tlv_at_end(&tr))
            return EIM_ERR_DECODE;
        eim_err_t err = parse_extensions(e.value, c);
        if (err != EIM_OK)
            return err;
    }
    return EIM_OK;
}

eim_err_t eim_x509_name_attr(eim_span_t name, eim_span_t oid, eim_span_t *value)
{
    tlv_reader_t outer = tlv_reader(name), r;
    tlv_t seq;
    if (tlv_expect(&outer, 0x30, &seq) != EIM_OK || !tlv_at_end(&outer))
        return EIM_ERR_DECODE;
    r = tlv_reader(seq.value);
    while (!tlv_at_end(&r)) {
        tlv_t set;
        tlv_reader_t sr;
        if (tlv_expect(&r, 0x31, &set) != EIM_OK)
            return EIM_ERR_DECODE;
        sr = tlv_reader(set.value);
        while (!tlv_at_end(&sr)) {
            tlv_t atv, type, val;
            tlv_reader_t ar;
            if (tlv_expect(&sr, 0x30, &atv) != EIM_OK)
                return EIM_ERR_DECODE;
            ar = tlv_reader(atv.value);
            if (tlv_expect(&ar, 0x06, &type) != EIM_OK || tlv_next(&ar, &val) != EIM_OK ||
                !tlv_at_end(&ar))
                return EIM_ERR_DECODE;
            if (eim_span_eq(type.value, oid)) {
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
    tlv_reader_t r = tlv_reader(cert->permitted);
    *found = false;
    while (!tlv_at_end(&r)) {
        tlv_t subtree, base;
        tlv_reader_t sr;
        if (tlv_expect(&r, 0x30, &subtree) != EIM_OK)
            return EIM_ERR_DECODE;
        sr = tlv_reader(subtree.value);
        if (tlv_next(&sr, &base) != EIM_OK)
            return EIM_ERR_DECODE;
        if (base.tag != 0xA4) /* directoryName [4] (EXPLICIT: Name is a CHOICE) */
            continue;
        tlv_reader_t nr = tlv_reader(base.value);
        tlv_t name;
        if (tlv_expect(&nr, 0x30, &name) != EIM_OK || !tlv_at_end(&nr))
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
    tlv_reader_t r = tlv_reader(cert->policies);
    while (!tlv_at_end(&r)) {
        tlv_t pi, id;
        tlv_reader_t pr;
        if (tlv_expect(&r, 0x30, &pi) != EIM_OK)
            return false;
        pr = tlv_reader(pi.value);
        if (tlv_expect(&pr, 0x06, &id) != EIM_OK)
            return false;
        if (prefix ? (id.value.len >= oid.len && memcmp(id.value.ptr, oid.ptr, oid.len) == 0)
                   : eim_span_eq(id.value, oid))
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
