/*
 * esipa_describe (SGP.32 v1.2 Annex A names): every ESipa vector renders as
 * JSON of the right envelope with no unnamed element, and a broken nested
 * BF51 is reported inside the rendering.
 */
#include "esipa_test_util.h"
#include "esipa_vectors.h"

#include <jansson.h>

#include "proto/esipa/esipa_describe.h"

static void test_all_vectors_render(void **state)
{
    (void)state;
    for (size_t i = 0; i < ESIPA_VECTOR_COUNT; i++) {
        const esipa_vector_t *v = &esipa_vectors[i];
        size_t len;
        uint8_t *bytes = test_hex(v->hex, &len);
        eim_buf_t out;
        eim_buf_init(&out, 1 << 20);
        eim_esipa_describe_kind_t kind;
        eim_der_error_t err;
        assert_int_equal(eim_esipa_describe(bytes, len, &out, &kind, &err), EIM_OK);
        if (kind != (v->from_ipa ? EIM_DESCRIBE_IPA_TO_EIM : EIM_DESCRIBE_EIM_TO_IPA))
            fail_msg("%s: read as %s", v->name, eim_esipa_describe_kind_name(kind));
        json_error_t jerr;
        json_t *root = json_loadb((const char *)out.data, out.len, 0, &jerr);
        assert_non_null(root);
        if (json_object_size(root) != 2)
            fail_msg("%s: %.*s", v->name, (int)out.len, out.data);
        assert_int_equal(eim_buf_append_byte(&out, 0), EIM_OK);
        if (strstr((char *)out.data, "unknown") || strstr((char *)out.data, "decodeError"))
            fail_msg("%s: %.*s", v->name, (int)out.len, out.data);
        json_decref(root);
        eim_buf_free(&out);
        free(bytes);
    }
}

static void test_names_and_nested_error(void **state)
{
    (void)state;
    size_t len;
    /* b4c: ProvideEimPackageResult with a signed EPR. */
    uint8_t *bytes = test_hex(esipa_vectors[3].hex, &len);
    assert_string_equal(esipa_vectors[3].name, "b4c_provide_eim_package_result");
    eim_buf_t out;
    eim_buf_init(&out, 1 << 20);
    assert_int_equal(eim_esipa_describe(bytes, len, &out, NULL, NULL), EIM_OK);
    json_t *root = json_loadb((const char *)out.data, out.len, 0, NULL);
    json_t *data = json_object_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(root, "provideEimPackageResult"),
                                            "euiccPackageResult"),
                            "euiccPackageResultSigned"),
            "euiccPackageResultDataSigned"),
        "seqNumber");
    assert_true(json_is_integer(data));
    assert_int_equal(json_integer_value(data), 7);
    json_decref(root);
    free(bytes);

    /* A GetEimPackageResponse whose BF51 has no signature: the envelope
     * keeps BF51 opaque, the renderer reports what proto/esep says. */
    bytes = test_hex("BF4F09BF5106300480010141", &len);
    eim_buf_reset(&out);
    eim_esipa_describe_kind_t kind;
    assert_int_equal(eim_esipa_describe(bytes, len, &out, &kind, NULL), EIM_OK);
    assert_int_equal(kind, EIM_DESCRIBE_EIM_TO_IPA);
    assert_int_equal(eim_buf_append_byte(&out, 0), EIM_OK);
    assert_non_null(strstr((char *)out.data, "\"decodeError\""));
    free(bytes);

    /* Nothing decodes: the furthest failure is reported. */
    bytes = test_hex("BF4F045A108904", &len);
    eim_der_error_t err;
    eim_buf_reset(&out);
    assert_int_equal(eim_esipa_describe(bytes, len, &out, &kind, &err), EIM_ERR_TRUNCATED);
    assert_int_equal(err.offset, 3);
    assert_int_equal(err.tag, 0x5A);
    assert_int_equal(out.len, 0);
    free(bytes);
    eim_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_vectors_render),
        cmocka_unit_test(test_names_and_nested_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
