/* ws unit tests: SHA-1 (RFC 3174), base64 (RFC 4648) and the accept key (RFC 6455 §1.3);
 * handshake and frame tests live in the other two files.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "test_ws.h"

static void sha1_hex(const void *data, size_t len, size_t chunk, char out[41]) {
    mqws_sha1 s;
    uint8_t d[20];
    const uint8_t *p = data;
    mqws_sha1_init(&s);
    while (len) {
        size_t n = chunk && chunk < len ? chunk : len;
        mqws_sha1_update(&s, p, n);
        p += n;
        len -= n;
    }
    mqws_sha1_final(&s, d);
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* RFC 3174 §7.3 test vectors TEST1..TEST4, whole and fed in odd pieces. */
TEST(rfc3174_7_3_sha1_test_vectors) {
    static const struct {
        const char *in;
        int repeat;
        const char *digest;
    } v[] = {
        {"abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
        {"0123456701234567012345670123456701234567012345670123456701234567", 10,
         "dea356a2cddd90c7a7ecedc5ebb563934f460452"},
        {"", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].in), total = n * (size_t)v[i].repeat;
        uint8_t *buf = malloc(total + 1);
        for (int r = 0; r < v[i].repeat; r++)
            memcpy(buf + (size_t)r * n, v[i].in, n);
        static const size_t chunks[] = {0, 1, 3, 63, 64, 65, 1000};
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            char hex[41];
            sha1_hex(buf, total, chunks[c], hex);
            CHECK_STR(hex, v[i].digest);
        }
        free(buf);
    }
}

/* RFC 4648 §10 test vectors, both directions. */
TEST(rfc4648_10_base64_test_vectors) {
    static const char *v[][2] = {{"", ""},
                                 {"f", "Zg=="},
                                 {"fo", "Zm8="},
                                 {"foo", "Zm9v"},
                                 {"foob", "Zm9vYg=="},
                                 {"fooba", "Zm9vYmE="},
                                 {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char enc[16] = {0};
        uint8_t dec[16];
        size_t n = mqws_base64_encode((const uint8_t *)v[i][0], strlen(v[i][0]), enc);
        CHECK_INT(n, strlen(v[i][1]));
        CHECK_INT(n, MQWS_BASE64_LEN(strlen(v[i][0])));
        CHECK_STR(enc, v[i][1]);
        int d = mqws_base64_decode(v[i][1], strlen(v[i][1]), dec, sizeof dec);
        CHECK_INT(d, strlen(v[i][0]));
        CHECK_MEM(dec, (size_t)d, v[i][0], strlen(v[i][0]));
    }
}

/* RFC 4648 §3.3 (no characters outside the alphabet), §3.5 (canonical: pad bits zero),
 * §4 (length a multiple of 4, '=' only at the end). */
TEST(rfc4648_3_base64_decode_is_strict) {
    static const char *bad[] = {
        "Zg=", "Zh==", "Zm9=", "Z===", "Zm9v!A==", "=Zg=", "Zg==Zg==", "Zm 9", "Zm9\n", "Zm=v"};
    uint8_t out[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(mqws_base64_decode(bad[i], strlen(bad[i]), out, sizeof out), MQWS_EMALFORMED);
    CHECK_INT(mqws_base64_decode("Zm9vYmFy", 8, out, 5), MQWS_ENOSPC);
    CHECK_INT(mqws_base64_decode("Zm9vYmFy", 8, out, 6), 6);
}

/* RFC 6455 §1.3: the example key and its accept value. */
TEST(rfc6455_1_3_accept_key_example) {
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char acc[MQWS_WS_ACCEPT_LEN + 1] = {0};
    mqws_ws_accept_key((const uint8_t *)key, strlen(key), acc);
    CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void) {
    RUN(rfc3174_7_3_sha1_test_vectors);
    RUN(rfc4648_10_base64_test_vectors);
    RUN(rfc4648_3_base64_decode_is_strict);
    RUN(rfc6455_1_3_accept_key_example);
    run_handshake_tests();
    run_frame_tests();
    return testlib_finish();
}
