/*
 * ESipa over HTTPS end to end: a real `eimd serve` process with its HTTPS
 * listener, the real PostgreSQL, and curl (OpenSSL) as the IPA's HTTP stack
 * on TLS 1.2 and 1.3. An operation queued for an imported eUICC is polled
 * with the ASN.1 binding and arrives as a signed BF51 whose signature
 * verifies with the eIM's public key; a re-poll gets the same bytes; the
 * eUICC-signed result is acknowledged and the operation ends DONE; the JSON
 * binding carries the next package; and every error status of the binding
 * (404, 405, 411, 413, 415, 400, 501, 503 with Retry-After) is produced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "proto/base/text_codec.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/esipa/esipa_message.h"
#include "tests/proto/crypto_test_util.h"
#include "tests/server/eimd_process.h"
#include "tests/server/esipa_test_util.h"
#include "tests/support/support.h"

#define EIM_ID EIMD_PROCESS_EIM_ID
#define ENABLE "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103214\"}}]}"

/* GetEimPackage polls per EID and minute for the next setup (0: no limit). */
static int polls_per_minute;
/* Whether the next setup imports the test eUICC itself (else the test does,
 * through the operators' REST API). */
static bool seed_euicc = true;

typedef struct {
    eimd_process_t e;
    int https_port, api_port;
} fixture_t;

static void enqueue(fixture_t *f)
{
    test_pg_exec(f->e.dsn, "INSERT INTO operations (eid, kind, parameters) VALUES ('" TEST_EID
                           "', 'psmo', '" ENABLE "')");
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    eimd_process_init(&f->e, "esipa_https");
    /* the test eUICC with the public key of the test PKI's eUICC, unless
     * the test imports it through the REST API */
    if (seed_euicc)
        esipa_test_import_euicc(f->e.dsn, EIM_ID, TEST_EID, f->e.euicc);
    f->https_port = test_free_port();
    f->api_port = test_free_port();
    eimd_process_env(&f->e, "EIMD_HTTPS_ENABLED=true");
    eimd_process_env(&f->e, "EIMD_HTTPS_LISTEN=127.0.0.1:%d", f->https_port);
    eimd_process_env(&f->e, "EIMD_HTTPS_MAX_BODY_BYTES=4096");
    eimd_process_env(&f->e, "EIMD_API_ENABLED=true");
    eimd_process_env(&f->e, "EIMD_API_LISTEN=127.0.0.1:%d", f->api_port);
    /* 0: tests poll in loops */
    eimd_process_env(&f->e, "EIMD_ESIPA_POLLS_PER_MINUTE=%d", polls_per_minute);
    eimd_process_env(&f->e, "EIMD_ESIPA_POLL_BURST=2");
    eimd_process_keygen(&f->e);
    eimd_process_start(&f->e);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    eimd_process_cleanup(&f->e);
    free(f);
    return 0;
}

typedef struct {
    int status;
    uint8_t body[16384];
    size_t body_len;
    char headers[4096];
} response_t;

/*
 * POSTs (or sends method) body_file to path with curl and fills r. tls is
 * "1.2" or "1.3". extra is further curl arguments (already quoted).
 */
static void curl(const fixture_t *f, const char *tls, const char *method, const char *path,
                 const char *content_type, const char *body_file, const char *extra, response_t *r)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 --cacert '%s' --tlsv%s --tls-max %s -X %s %s%s%s %s%s%s "
             "-H 'X-Admin-Protocol: gsma/rsp/v2.2.0' %s -o '%s' -D '%s' -w '%%{http_code}' "
             "'https://localhost:%d%s'",
             eimd_path(&f->e, "ca.pem"), tls, tls, method, content_type ? "-H 'Content-Type: " : "",
             content_type ? content_type : "", content_type ? "'" : "",
             body_file ? "--data-binary '@" : "", body_file ? body_file : "", body_file ? "'" : "",
             extra ? extra : "", eimd_path(&f->e, "response.bin"), eimd_path(&f->e, "headers.txt"),
             f->https_port, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    r->status = 0;
    assert_int_equal(fscanf(p, "%d", &r->status), 1);
    pclose(p);
    FILE *b = fopen(eimd_path(&f->e, "response.bin"), "rb");
    r->body_len = b ? fread(r->body, 1, sizeof(r->body), b) : 0;
    if (b)
        fclose(b);
    char *h = test_read_file(eimd_path(&f->e, "headers.txt"));
    snprintf(r->headers, sizeof(r->headers), "%s", h ? h : "");
    free(h);
}

static const char *write_body(const fixture_t *f, const char *name, const void *data, size_t len)
{
    const char *path = eimd_path(&f->e, name);
    test_write_file(path, data, len);
    return path;
}

/* Polls with the ASN.1 binding until a package comes (the pending set may
 * learn of new work a moment later). */
static void poll_package(const fixture_t *f, const char *tls, response_t *r)
{
    uint8_t body[64];
    const char *file = write_body(f, "poll.der", body, esipa_test_poll_body(body));
    for (int i = 0; i < 100; i++) {
        curl(f, tls, "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1", file, NULL, r);
        assert_int_equal(r->status, 200);
        if (r->body_len > 6)
            return;
        usleep(50000);
    }
    fail_msg("no package delivered");
}

static void check_package(const fixture_t *f, const response_t *r, eim_euicc_package_request_t *req,
                          eim_esipa_eim_to_ipa_t *msg)
{
    assert_int_equal(eim_esipa_eim_to_ipa_decode(r->body, r->body_len, msg, NULL), EIM_OK);
    assert_int_equal(msg->function, EIM_ESIPA_GET_EIM_PACKAGE);
    char *pem = test_read_file(eimd_path(&f->e, "signing.pub.pem"));
    assert_non_null(pem);
    esipa_test_check_package(eim_span(pem, strlen(pem)), EIM_ID,
                             msg->get_eim_package.euicc_package_request, req);
    free(pem);
}

static void test_poll_sign_result_cycle(void **state)
{
    fixture_t *f = *state;
    enqueue(f);
    response_t *r = calloc(1, sizeof(*r)), *again = calloc(1, sizeof(*again));
    eim_esipa_eim_to_ipa_t *msg = calloc(1, sizeof(*msg));
    eim_euicc_package_request_t *req = calloc(1, sizeof(*req));

    poll_package(f, "1.2", r);
    assert_non_null(strstr(r->headers, "Content-Type: application/x-gsma-rsp-asn1"));
    assert_non_null(strstr(r->headers, "X-Admin-Protocol: gsma/rsp/v2.2.0"));
    check_package(f, r, req, msg);
    assert_int_equal(req->package.counter_value, 1);

    /* the same bytes again over TLS 1.3 before a result arrives */
    poll_package(f, "1.3", again);
    assert_int_equal(again->body_len, r->body_len);
    assert_memory_equal(again->body, r->body, r->body_len);

    /* the eUICC's signed result: acknowledged, the operation is DONE */
    uint8_t body[2048];
    size_t len = esipa_test_result_body(f->e.euicc, &req->package, 5, false, body, sizeof(body));
    curl(f, "1.3", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1",
         write_body(f, "result.der", body, len), NULL, again);
    assert_int_equal(again->status, 200);
    static const uint8_t ack5[] = {0xBF, 0x50, 0x06, 0xBF, 0x53, 0x03, 0x80, 0x01, 0x05};
    assert_int_equal(again->body_len, sizeof(ack5));
    assert_memory_equal(again->body, ack5, sizeof(ack5));
    assert_int_equal(test_pg_long(f->e.dsn,
                                  "SELECT count(*) FROM operations WHERE state = 'DONE' AND "
                                  "counter_value = 1 AND result_seq_number = 5"),
                     1);
    /* the device was seen over HTTPS (written behind, within seconds) */
    for (int i = 0;
         i < 100 && test_pg_long(f->e.dsn, "SELECT count(*) FROM euiccs WHERE transport = "
                                           "'https' AND rplmn IS NOT NULL") != 1;
         i++)
        usleep(100000);
    assert_int_equal(
        test_pg_long(f->e.dsn, "SELECT count(*) FROM euiccs WHERE transport = 'https'"), 1);

    /* nothing pending now */
    uint8_t poll[64];
    curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1",
         write_body(f, "poll.der", poll, esipa_test_poll_body(poll)), NULL, r);
    static const uint8_t nothing[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(r->body_len, sizeof(nothing));
    assert_memory_equal(r->body, nothing, sizeof(nothing));
    free(r);
    free(again);
    free(msg);
    free(req);
}

static void test_json_binding(void **state)
{
    fixture_t *f = *state;
    enqueue(f);
    response_t *r = calloc(1, sizeof(*r));
    const char *file = write_body(f, "poll.json", "{\"eidValue\":\"" TEST_EID "\"}",
                                  strlen("{\"eidValue\":\"" TEST_EID "\"}"));
    json_t *doc = NULL;
    for (int i = 0; i < 100; i++) {
        curl(f, "1.3", "POST", "/gsma/rsp2/esipa/getEimPackage", "application/json", file, NULL, r);
        assert_int_equal(r->status, 200);
        doc = json_loadb((const char *)r->body, r->body_len, 0, NULL);
        assert_non_null(doc);
        if (json_object_get(doc, "euiccPackageRequest"))
            break;
        json_decref(doc);
        doc = NULL;
        usleep(50000);
    }
    assert_non_null(doc);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(doc, "header"), "functionExecutionStatus"), "status")),
        "Executed-Success");
    eim_buf_t der;
    eim_buf_init(&der, 8192);
    const char *b64 = json_string_value(json_object_get(doc, "euiccPackageRequest"));
    size_t bad = 0;
    assert_int_equal(eim_base64_decode(b64, strlen(b64), &der, &bad), EIM_OK);
    eim_euicc_package_request_t *req = calloc(1, sizeof(*req));
    char *pem = test_read_file(eimd_path(&f->e, "signing.pub.pem"));
    assert_non_null(pem);
    esipa_test_check_package(eim_span(pem, strlen(pem)), EIM_ID, eim_span(der.data, der.len), req);
    free(pem);
    free(req);
    eim_buf_free(&der);
    json_decref(doc);
    free(r);
}

static void test_error_statuses(void **state)
{
    fixture_t *f = *state;
    response_t *r = calloc(1, sizeof(*r));
    uint8_t poll[64];
    const char *poll_file = write_body(f, "poll.der", poll, esipa_test_poll_body(poll));

    curl(f, "1.2", "POST", "/gsma/rsp2/other", "application/x-gsma-rsp-asn1", poll_file, NULL, r);
    assert_int_equal(r->status, 404);
    curl(f, "1.2", "GET", "/gsma/rsp2/asn1", NULL, NULL, NULL, r);
    assert_int_equal(r->status, 405);
    assert_non_null(strstr(r->headers, "Allow: POST"));
    curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1", NULL, NULL, r);
    assert_int_equal(r->status, 411);
    curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "text/plain", poll_file, NULL, r);
    assert_int_equal(r->status, 415);
    curl(f, "1.2", "POST", "/gsma/rsp2/esipa/getEimPackage", "application/x-gsma-rsp-asn1",
         poll_file, NULL, r);
    assert_int_equal(r->status, 415);
    static const uint8_t garbage[] = {0xBF, 0x4F, 0x7F, 0x5A};
    curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1",
         write_body(f, "garbage.der", garbage, sizeof(garbage)), NULL, r);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->headers, "application/problem+json"));
    assert_non_null(strstr((const char *)r->body, "\"detail\":"));
    char big[5000];
    memset(big, 0x30, sizeof(big));
    curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1",
         write_body(f, "big.der", big, sizeof(big)), NULL, r);
    assert_int_equal(r->status, 413);
    static const char auth[] = "{\"euiccChallenge\":\"AAECAwQFBgcICQoLDA0ODw==\","
                               "\"euiccInfo1\":\"vyAA\",\"smdpAddress\":\"smdp.example\"}";
    curl(f, "1.2", "POST", "/gsma/rsp2/esipa/initiateAuthentication", "application/json",
         write_body(f, "auth.json", auth, strlen(auth)), NULL, r);
    assert_int_equal(r->status, 501);
    free(r);
}

/* The database goes away: a poll that needs it gets 503 with Retry-After,
 * and eimd serves again once it is back, without a restart. */
static void test_unavailable_database(void **state)
{
    fixture_t *f = *state;
    enqueue(f);
    response_t *r = calloc(1, sizeof(*r));
    uint8_t poll[64];
    const char *file = write_body(f, "poll.der", poll, esipa_test_poll_body(poll));
    test_pg_cluster("stop");
    int status = 0;
    for (int i = 0; i < 100 && status != 503; i++) {
        curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1", file, NULL, r);
        status = r->status;
        if (status != 503)
            usleep(100000);
    }
    test_pg_cluster("start");
    assert_int_equal(status, 503);
    assert_non_null(strstr(r->headers, "Retry-After: 30"));
    assert_int_equal(test_http_wait_status(f->e.admin_port, "/readyz", 200, 20000), 200);
    poll_package(f, "1.3", r);
    free(r);
}

static int setup_without_euicc(void **state)
{
    seed_euicc = false;
    int rc = setup(state);
    seed_euicc = true;
    return rc;
}

/* Calls the operators' REST API with curl; returns the status, body in out. */
static int api(const fixture_t *f, const char *key, const char *method, const char *path,
               const char *json, char *out, size_t out_size)
{
    const char *body_file = json ? write_body(f, "api.json", json, strlen(json)) : NULL;
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 -X %s -H 'Authorization: Bearer %s' %s%s%s -o '%s' "
             "-w '%%{http_code}' 'http://127.0.0.1:%d%s'",
             method, key, body_file ? "-H 'Content-Type: application/json' --data-binary '@" : "",
             body_file ? body_file : "", body_file ? "'" : "", eimd_path(&f->e, "api.out"),
             f->api_port, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int status = 0;
    assert_int_equal(fscanf(p, "%d", &status), 1);
    pclose(p);
    char *body = test_read_file(eimd_path(&f->e, "api.out"));
    snprintf(out, out_size, "%s", body ? body : "");
    free(body);
    return status;
}

static const char *json_text(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    assert_non_null(v);
    return v;
}

/*
 * The whole path as an operator and a device see it: an API key, the eUICC
 * imported and an enable queued through the REST API, the device polling
 * over HTTPS and returning its signed result, the operation COMPLETED with
 * outcome SUCCESS when read back through the REST API.
 */
static void test_operator_to_device(void **state)
{
    fixture_t *f = *state;
    char cmd[1024], key[160] = "", out[8192];
    snprintf(cmd, sizeof(cmd),
             "env EIMD_DATABASE_DSN='%s' '%s' apikey create --tenant default --scope rw", f->e.dsn,
             test_eimd_path());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(key, sizeof(key), p));
    pclose(p);
    key[strcspn(key, "\n")] = '\0';
    assert_true(strncmp(key, "eimd_", 5) == 0);

    uint8_t spki[EIM_EC_SPKI_MAX];
    size_t spki_len;
    assert_int_equal(eim_signer_export_spki(f->e.euicc, spki, sizeof(spki), &spki_len), EIM_OK);
    eim_buf_t b64;
    eim_buf_init(&b64, 4096);
    assert_int_equal(eim_base64_encode(spki, spki_len, &b64), EIM_OK);
    char import[1024];
    snprintf(import, sizeof(import),
             "{\"eid\":\"" TEST_EID "\",\"eimId\":\"" EIM_ID "\",\"publicKey\":\"%.*s\"}",
             (int)b64.len, (const char *)b64.data);
    eim_buf_free(&b64);
    assert_int_equal(api(f, key, "POST", "/api/v1/euiccs", import, out, sizeof(out)), 201);

    assert_int_equal(api(f, key, "POST", "/api/v1/euiccs/" TEST_EID "/operations",
                         "{\"kind\":\"psmo\",\"parameters\":" ENABLE "}", out, sizeof(out)),
                     202);
    json_t *op = json_loads(out, 0, NULL);
    assert_non_null(op);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/operations/%s", json_text(op, "operationId"));
    json_decref(op);
    assert_int_equal(api(f, key, "GET", path, NULL, out, sizeof(out)), 200);
    op = json_loads(out, 0, NULL);
    assert_string_equal(json_text(op, "status"), "ACCEPTED");
    json_decref(op);

    response_t *r = calloc(1, sizeof(*r));
    eim_esipa_eim_to_ipa_t *msg = calloc(1, sizeof(*msg));
    eim_euicc_package_request_t *req = calloc(1, sizeof(*req));
    poll_package(f, "1.3", r);
    check_package(f, r, req, msg);
    uint8_t body[2048];
    size_t len = esipa_test_result_body(f->e.euicc, &req->package, 9, false, body, sizeof(body));
    curl(f, "1.2", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1",
         write_body(f, "result.der", body, len), NULL, r);
    assert_int_equal(r->status, 200);

    assert_int_equal(api(f, key, "GET", path, NULL, out, sizeof(out)), 200);
    op = json_loads(out, 0, NULL);
    assert_string_equal(json_text(op, "status"), "COMPLETED");
    assert_string_equal(json_text(op, "outcome"), "SUCCESS");
    json_decref(op);
    free(r);
    free(msg);
    free(req);
}

static int setup_rate_limited(void **state)
{
    polls_per_minute = 1;
    int rc = setup(state);
    polls_per_minute = 0;
    return rc;
}

/* Over the poll rate: 429 with Retry-After, over both bindings. */
static void test_poll_rate_limit(void **state)
{
    fixture_t *f = *state;
    response_t *r = calloc(1, sizeof(*r));
    uint8_t poll[64];
    const char *file = write_body(f, "poll.der", poll, esipa_test_poll_body(poll));
    for (int i = 0; i < 2; i++) {
        curl(f, "1.3", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1", file, NULL, r);
        assert_int_equal(r->status, 200);
    }
    curl(f, "1.3", "POST", "/gsma/rsp2/asn1", "application/x-gsma-rsp-asn1", file, NULL, r);
    assert_int_equal(r->status, 429);
    assert_non_null(strstr(r->headers, "Retry-After: "));
    const char *json = "{\"eidValue\":\"" TEST_EID "\"}";
    curl(f, "1.3", "POST", "/gsma/rsp2/esipa/getEimPackage", "application/json",
         write_body(f, "poll.json", json, strlen(json)), NULL, r);
    assert_int_equal(r->status, 429);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_poll_sign_result_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unavailable_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_rate_limit, setup_rate_limited, teardown),
        cmocka_unit_test_setup_teardown(test_operator_to_device, setup_without_euicc, teardown),
    };
    int rc = cmocka_run_group_tests(tests, test_pki_group_setup, test_pki_group_teardown);
    return rc;
}
