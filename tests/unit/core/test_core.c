/* Core (L0): errors, allocator, views, varint (MQTT 5 §1.5.5), UTF-8 (§1.5.4, RFC 3629).
 * SPDX-License-Identifier: MIT */
#include "internal.h"
#include "testlib.h"

TEST(version_matches_header) {
    CHECK_STR(mqws_version(), MQWS_VERSION_STRING);
    CHECK_INT(mqws_version_number(), MQWS_VERSION_NUMBER);
}

TEST(strerror_names_every_code) {
    for (int e = 0; e >= MQWS_EINTERNAL; e--) {
        CHECK(strcmp(mqws_strerror(e), "unknown error") != 0);
        CHECK(strncmp(mqws_error_name(e), "MQWS_", 5) == 0);
    }
    CHECK_STR(mqws_strerror(MQWS_EPROTO), "protocol error");
    CHECK_STR(mqws_error_name(MQWS_EMALFORMED), "MQWS_EMALFORMED");
    CHECK_STR(mqws_strerror(MQWS_EINTERNAL - 1), "unknown error");
    CHECK_STR(mqws_strerror(5), "unknown error");
    CHECK_STR(mqws_error_name(-1000), "MQWS_E?");
}

TEST(default_allocator_round_trip) {
    const mqws_allocator *a = mqws_allocator_default();
    uint8_t *p = a->alloc(a->ud, 10);
    CHECK(p != NULL);
    memset(p, 7, 10);
    p = a->realloc(a->ud, p, 10, 100);
    CHECK(p != NULL && p[9] == 7);
    a->free(a->ud, p, 100);
    CHECK(mqws__allocator_or_default(NULL) == a);
}

TEST(failing_allocator_fails_the_nth_allocation) {
    testlib_alloc t;
    testlib_alloc_init(&t, 2);
    void *p1 = mqws__alloc(&t.a, 8);
    void *p2 = mqws__alloc(&t.a, 8);
    CHECK(p1 != NULL);
    CHECK(p2 == NULL);
    mqws__free(&t.a, p1, 8);
    CHECK_ALLOC_CLEAN(&t);
}

TEST(views) {
    mqws_view a = mqws_view_cstr("abc"), b = mqws_view_cstr("abc"), c = mqws_view_cstr("abd");
    CHECK(mqws_view_eq(a, b));
    CHECK(!mqws_view_eq(a, c));
    CHECK(mqws_view_eq(mqws_view_cstr(NULL), mqws_view_cstr("")));
}

/* MQTT 5 §1.5.5 table: boundary values and their encodings. */
TEST(mqtt_1_5_5_varint_boundaries) {
    static const struct {
        uint32_t v;
        const char *hex;
    } cases[] = {
        {0, "00"},
        {127, "7f"},
        {128, "80 01"},
        {16383, "ff 7f"},
        {16384, "80 80 01"},
        {2097151, "ff ff 7f"},
        {2097152, "80 80 80 01"},
        {268435455, "ff ff ff 7f"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t want[4], got[4];
        size_t n = testlib_hex(cases[i].hex, want, sizeof want);
        CHECK_INT(mqws_varint_size(cases[i].v), n);
        CHECK_INT(mqws_varint_encode(cases[i].v, got), n);
        CHECK_MEM(got, n, want, n);
        uint32_t v = 0xFFFFFFFF;
        CHECK_INT(mqws_varint_decode(want, n, &v), n);
        CHECK_INT(v, cases[i].v);
        /* Every proper prefix asks for more input. */
        for (size_t k = 0; k < n; k++)
            CHECK_INT(mqws_varint_decode(want, k, &v), 0);
    }
    uint8_t out[4];
    CHECK_INT(mqws_varint_encode(MQWS_VARINT_MAX + 1, out), MQWS_EINVAL);
    CHECK_INT(mqws_varint_size(MQWS_VARINT_MAX + 1), 0);
}

TEST(mqtt_1_5_5_1_varint_non_minimal_is_malformed) {
    uint8_t buf[5];
    uint32_t v;
    size_t n = testlib_hex("80 00", buf, sizeof buf);
    CHECK_INT(mqws_varint_decode(buf, n, &v), MQWS_EMALFORMED);
    n = testlib_hex("ff 80 00", buf, sizeof buf);
    CHECK_INT(mqws_varint_decode(buf, n, &v), MQWS_EMALFORMED);
    n = testlib_hex("80 80 80 00", buf, sizeof buf);
    CHECK_INT(mqws_varint_decode(buf, n, &v), MQWS_EMALFORMED);
}

TEST(mqtt_1_5_5_varint_five_bytes_is_malformed) {
    uint8_t buf[5];
    uint32_t v;
    size_t n = testlib_hex("ff ff ff ff 7f", buf, sizeof buf);
    CHECK_INT(mqws_varint_decode(buf, n, &v), MQWS_EMALFORMED);
    CHECK_INT(mqws_varint_decode(buf, 4, &v), MQWS_EMALFORMED);
}

TEST(varint_round_trip_all_sizes) {
    uint64_t rng = 42;
    for (int i = 0; i < 100000; i++) {
        uint32_t v = (uint32_t)(testlib_rand(&rng) & MQWS_VARINT_MAX) >> (i % 28);
        uint8_t b[4];
        uint32_t back;
        int n = mqws_varint_encode(v, b);
        CHECK(n >= 1 && n <= 4);
        CHECK_INT(mqws_varint_decode(b, (size_t)n, &back), n);
        CHECK_INT(back, v);
    }
}

static int utf8(const char *hex, size_t *bad) {
    uint8_t buf[64];
    size_t n = testlib_hex(hex, buf, sizeof buf);
    return mqws_utf8_check_mqtt(buf, n, bad);
}

TEST(mqtt_1_5_4_1_wellformed_utf8_accepted) {
    CHECK_INT(utf8("", NULL), MQWS_OK);
    CHECK_INT(utf8("61 62 63", NULL), MQWS_OK);
    CHECK_INT(utf8("c2 80", NULL), MQWS_OK);          /* U+0080 */
    CHECK_INT(utf8("df bf", NULL), MQWS_OK);          /* U+07FF */
    CHECK_INT(utf8("e0 a0 80", NULL), MQWS_OK);       /* U+0800 */
    CHECK_INT(utf8("ed 9f bf", NULL), MQWS_OK);       /* U+D7FF */
    CHECK_INT(utf8("ee 80 80", NULL), MQWS_OK);       /* U+E000 */
    CHECK_INT(utf8("f0 90 80 80", NULL), MQWS_OK);    /* U+10000 */
    CHECK_INT(utf8("f4 8f bf bf", NULL), MQWS_OK);    /* U+10FFFF */
    CHECK_INT(utf8("41 f0 aa 9b 94", NULL), MQWS_OK); /* the spec's example: A U+2A6D4 */
    /* Long ASCII runs go through the word-at-a-time path. */
    const char *s = "sensors/building-1/floor-2/room-3/temperature";
    CHECK_INT(mqws_utf8_check_mqtt((const uint8_t *)s, strlen(s), NULL), MQWS_OK);
}

TEST(mqtt_1_5_4_1_surrogates_rejected) {
    size_t bad = 99;
    CHECK_INT(utf8("ed a0 80", &bad), MQWS_EUTF8); /* U+D800 */
    CHECK_INT(bad, 1);
    CHECK_INT(utf8("61 ed bf bf", &bad), MQWS_EUTF8); /* U+DFFF */
    CHECK_INT(bad, 2);
}

TEST(mqtt_1_5_4_1_overlong_and_invalid_rejected) {
    size_t bad;
    CHECK_INT(utf8("c0 80", &bad), MQWS_EUTF8); /* overlong NUL */
    CHECK_INT(bad, 0);
    CHECK_INT(utf8("c1 bf", &bad), MQWS_EUTF8);
    CHECK_INT(utf8("e0 80 80", &bad), MQWS_EUTF8);
    CHECK_INT(bad, 1);
    CHECK_INT(utf8("f0 80 80 80", &bad), MQWS_EUTF8);
    CHECK_INT(utf8("f4 90 80 80", &bad), MQWS_EUTF8); /* > U+10FFFF */
    CHECK_INT(utf8("f5 80 80 80", &bad), MQWS_EUTF8);
    CHECK_INT(utf8("ff", &bad), MQWS_EUTF8);
    CHECK_INT(utf8("80", &bad), MQWS_EUTF8);                               /* stray continuation */
    CHECK_INT(utf8("61 62 63 64 65 66 67 68 69 e2 82", &bad), MQWS_EUTF8); /* truncated */
    CHECK_INT(bad, 11);
    CHECK_INT(utf8("e2 28 a1", &bad), MQWS_EUTF8);
    CHECK_INT(bad, 1);
}

TEST(mqtt_1_5_4_2_nul_rejected) {
    size_t bad;
    CHECK_INT(utf8("00", &bad), MQWS_EUTF8);
    CHECK_INT(bad, 0);
    /* NUL inside an 8-byte ASCII word is caught by the fast path too. */
    CHECK_INT(utf8("61 62 63 00 65 66 67 68 69 6a", &bad), MQWS_EUTF8);
    CHECK_INT(bad, 3);
}

TEST(mqtt_1_5_4_3_bom_is_kept_as_a_character) { CHECK_INT(utf8("ef bb bf 61", NULL), MQWS_OK); }

TEST(mqtt_1_5_4_discouraged_code_points_detected) {
    uint8_t b[8];
    size_t n = testlib_hex("61 01", b, sizeof b);
    CHECK(mqws_utf8_has_discouraged(b, n));
    n = testlib_hex("c2 85", b, sizeof b); /* U+0085 */
    CHECK(mqws_utf8_has_discouraged(b, n));
    n = testlib_hex("ef bf bf", b, sizeof b); /* U+FFFF */
    CHECK(mqws_utf8_has_discouraged(b, n));
    n = testlib_hex("ef b7 90", b, sizeof b); /* U+FDD0 */
    CHECK(mqws_utf8_has_discouraged(b, n));
    n = testlib_hex("61 62 c3 a9", b, sizeof b);
    CHECK(!mqws_utf8_has_discouraged(b, n));
}

/* The stream validator gives the same verdict for any split of the input (RFC 6455 §8.1 needs
 * fail-fast validation of text arriving in fragments). */
TEST(utf8_stream_any_split_same_verdict) {
    static const char *const inputs[] = {
        "61 62 63",       "c2 80 e0 a0 80 f0 90 80 80 f4 8f bf bf",
        "ed a0 80",       "f0 80 80 80",
        "e2 82 ac 00 61", "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64",
        "e2 82"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        uint8_t buf[64];
        size_t n = testlib_hex(inputs[i], buf, sizeof buf);
        mqws_utf8_stream whole = {0, 0};
        size_t bad_whole = 0;
        int rc_whole = mqws_utf8_stream_feed(&whole, buf, n, &bad_whole);
        int complete_whole = mqws_utf8_stream_complete(&whole);
        for (size_t cut = 0; cut <= n; cut++) {
            mqws_utf8_stream st = {0, 0};
            size_t bad = 0;
            int rc = mqws_utf8_stream_feed(&st, buf, cut, &bad);
            size_t at = bad;
            if (rc == MQWS_OK) {
                rc = mqws_utf8_stream_feed(&st, buf + cut, n - cut, &bad);
                at = cut + bad;
            }
            CHECK_INT(rc, rc_whole);
            if (rc != MQWS_OK)
                CHECK_INT(at, bad_whole);
            else
                CHECK_INT(mqws_utf8_stream_complete(&st), complete_whole);
        }
    }
    /* U+0000 is valid in WebSocket text. */
    mqws_utf8_stream st = {0, 0};
    uint8_t z = 0;
    CHECK_INT(mqws_utf8_stream_feed(&st, &z, 1, NULL), MQWS_OK);
    /* Errors are sticky. */
    uint8_t bad = 0xFF;
    CHECK_INT(mqws_utf8_stream_feed(&st, &bad, 1, NULL), MQWS_EUTF8);
    CHECK_INT(mqws_utf8_stream_feed(&st, (const uint8_t *)"a", 1, NULL), MQWS_EUTF8);
}

static int name_ok(const char *s) {
    const char *st = NULL;
    return mqws__topic_name_syntax((const uint8_t *)s, strlen(s), &st) == MQWS_OK;
}
static int filter_ok(const char *s) {
    const char *st = NULL;
    return mqws__topic_filter_syntax((const uint8_t *)s, strlen(s), &st) == MQWS_OK;
}

/* MQTT 5 §4.7 examples. */
TEST(mqtt_4_7_topic_syntax_examples) {
    CHECK(filter_ok("sport/tennis/player1/#"));
    CHECK(filter_ok("sport/#"));
    CHECK(filter_ok("#"));
    CHECK(!filter_ok("sport/tennis#")); /* [MQTT-4.7.1-1] */
    CHECK(!filter_ok("sport/tennis/#/ranking"));
    CHECK(filter_ok("+"));
    CHECK(filter_ok("+/tennis/#"));
    CHECK(!filter_ok("sport+")); /* [MQTT-4.7.1-2] */
    CHECK(filter_ok("sport/+/player1"));
    CHECK(filter_ok("/+"));
    CHECK(filter_ok("+/+"));
    CHECK(!filter_ok("")); /* [MQTT-4.7.3-1] */
    CHECK(name_ok("/"));
    CHECK(name_ok("sport/tennis"));
    CHECK(!name_ok(""));
    CHECK(!name_ok("sport/+")); /* [MQTT-3.3.2-2] */
    CHECK(!name_ok("sport/#"));
}

int main(void) {
    RUN(version_matches_header);
    RUN(strerror_names_every_code);
    RUN(default_allocator_round_trip);
    RUN(failing_allocator_fails_the_nth_allocation);
    RUN(views);
    RUN(mqtt_1_5_5_varint_boundaries);
    RUN(mqtt_1_5_5_1_varint_non_minimal_is_malformed);
    RUN(mqtt_1_5_5_varint_five_bytes_is_malformed);
    RUN(varint_round_trip_all_sizes);
    RUN(mqtt_1_5_4_1_wellformed_utf8_accepted);
    RUN(mqtt_1_5_4_1_surrogates_rejected);
    RUN(mqtt_1_5_4_1_overlong_and_invalid_rejected);
    RUN(mqtt_1_5_4_2_nul_rejected);
    RUN(mqtt_1_5_4_3_bom_is_kept_as_a_character);
    RUN(mqtt_1_5_4_discouraged_code_points_detected);
    RUN(utf8_stream_any_split_same_verdict);
    RUN(mqtt_4_7_topic_syntax_examples);
    return testlib_finish();
}
