/* Frame tests (RFC 6455 §5, §7, §8, MQTT 5.0 chapter 6), each named after the section it
 * checks. Every input stream is fed whole, byte by byte and split at random points; the
 * normalised event logs must be identical.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "test_ws.h"

/* ------------------------------------------------------------------------------------------ */
/* Building raw frames independently of the library's encoder. */

typedef struct bytes {
    uint8_t p[1 << 21];
    size_t len;
} bytes;

static bytes B; /* the stream under construction */
static const uint8_t KEY4[4] = {0x37, 0xfa, 0x21, 0x3d};

static void put_raw(const char *hex) { B.len += testlib_hex(hex, B.p + B.len, sizeof B.p - B.len); }

static void put_frame(unsigned b0, int masked, const void *payload, uint64_t len) {
    uint8_t *o = B.p + B.len;
    size_t n = 0;
    o[n++] = (uint8_t)b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        o[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        o[n++] = (uint8_t)(m | 126);
        o[n++] = (uint8_t)(len >> 8);
        o[n++] = (uint8_t)len;
    } else {
        o[n++] = (uint8_t)(m | 127);
        for (int i = 7; i >= 0; i--)
            o[n++] = (uint8_t)(len >> (8 * i));
    }
    if (masked) {
        memcpy(o + n, KEY4, 4);
        n += 4;
    }
    const uint8_t *src = payload;
    for (uint64_t i = 0; i < len; i++)
        o[n + i] = (uint8_t)((src ? src[i] : (uint8_t)(i * 7)) ^ (masked ? KEY4[i & 3] : 0));
    B.len += n + (size_t)len;
}

/* client-to-server (masked) and server-to-client (unmasked) frames */
static void cframe(unsigned b0, const char *s) { put_frame(b0, 1, s, strlen(s)); }
static void sframe(unsigned b0, const char *s) { put_frame(b0, 0, s, strlen(s)); }

/* ------------------------------------------------------------------------------------------ */
/* Running a stream and logging events in a split-independent form. */

enum { FEED_WHOLE, FEED_BYTES, FEED_RANDOM };

typedef struct logbuf {
    char s[8192];
    size_t n;
} logbuf;

static void logf_(logbuf *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#include <stdarg.h>
static void logf_(logbuf *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->s + l->n, sizeof l->s - l->n, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->n += (size_t)n < sizeof l->s - l->n ? (size_t)n : sizeof l->s - l->n - 1;
}

static void log_bytes(logbuf *l, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        logf_(l, (p[i] >= 0x20 && p[i] < 0x7f && p[i] != ';' && p[i] != '%') ? "%c" : "%%%02x",
              p[i]);
}

static void run(const mqws_ws_config *cfg, const uint8_t *in, size_t len, int mode, uint64_t seed,
                logbuf *l) {
    mqws_ws ws;
    mqws_ws_event ev;
    CHECK_INT(mqws_ws_init(&ws, cfg), MQWS_OK);
    l->n = 0;
    l->s[0] = 0;
    int in_msg = 0;
    uint8_t head[41];
    size_t mlen = 0;
    uint32_t hash = 2166136261u;
    size_t pos = 0;
    while (pos < len) {
        size_t n = len - pos;
        if (mode == FEED_BYTES)
            n = 1;
        else if (mode == FEED_RANDOM)
            n = 1 + testlib_rand_below(&seed, n < 300 ? n : 300);
        uint8_t *chunk = malloc(n); /* exact size: over-reads show under ASan / valgrind */
        memcpy(chunk, in + pos, n);
        size_t off = 0;
        while (off < n) {
            size_t c = 0;
            int r = mqws_ws_recv(&ws, chunk + off, n - off, &c, &ev);
            CHECK(c <= n - off);
            if (r < 0) {
                logf_(l, "E%d:%u", r, mqws_ws_fail_code(&ws));
                if (r == MQWS_EUTF8)
                    logf_(l, "@%zu", pos + off + c);
                logf_(l, ";");
                free(chunk);
                mqws_ws_cleanup(&ws);
                return;
            }
            off += c;
            if (r == 0) {
                CHECK_INT(off, n);
                break;
            }
            if (ev.type == MQWS_WS_EV_DATA) {
                if (!!(ev.flags & MQWS_WS_MSG_START) == in_msg)
                    logf_(l, "BADSTART;");
                if (ev.flags & MQWS_WS_MSG_START) {
                    in_msg = 1;
                    mlen = 0;
                    hash = 2166136261u;
                }
                for (size_t i = 0; i < ev.data.len; i++) {
                    if (mlen + i < 40)
                        head[mlen + i] = ev.data.ptr[i];
                    hash = (hash ^ ev.data.ptr[i]) * 16777619u;
                }
                mlen += ev.data.len;
                if (ev.flags & MQWS_WS_MSG_END) {
                    in_msg = 0;
                    logf_(l, "M%u:%zu:", ev.opcode, mlen);
                    if (mlen <= 40)
                        log_bytes(l, head, mlen);
                    else
                        logf_(l, "#%08x", hash);
                    logf_(l, ";");
                }
            } else {
                logf_(l, "%c",
                      ev.type == MQWS_WS_EV_PING   ? 'P'
                      : ev.type == MQWS_WS_EV_PONG ? 'O'
                                                   : 'C');
                if (ev.type == MQWS_WS_EV_CLOSE)
                    logf_(l, "%u:", ev.code);
                log_bytes(l, ev.data.ptr, ev.data.len);
                logf_(l, ";");
            }
        }
        free(chunk);
        pos += n;
    }
    mqws_ws_cleanup(&ws);
}

/* Run B whole, byte by byte and split at random; each log must equal `want`. */
static void expect_cfg(const mqws_ws_config *cfg, const char *want, int line) {
    logbuf l;
    for (int mode = FEED_WHOLE; mode <= FEED_RANDOM; mode++) {
        int seeds = mode == FEED_RANDOM ? 25 : 1;
        if (mode == FEED_BYTES && B.len > 300000)
            continue; /* byte-by-byte over megabytes adds nothing but time */
        for (int s = 1; s <= seeds; s++) {
            run(cfg, B.p, B.len, mode, (uint64_t)s * 7919, &l);
            if (strcmp(l.s, want) != 0) {
                testlib_fail(__FILE__, line, "mode %d seed %d: log \"%s\", expected \"%s\"", mode,
                             s, l.s, want);
                return;
            }
        }
    }
}

static mqws_ws_config server_cfg(void) {
    mqws_ws_config c = MQWS_WS_CONFIG_INIT;
    return c;
}
static mqws_ws_config client_cfg(void) {
    mqws_ws_config c = MQWS_WS_CONFIG_INIT;
    c.role = MQWS_WS_CLIENT;
    return c;
}

#define EXPECT_SERVER(want)                                                                        \
    do {                                                                                           \
        mqws_ws_config c_ = server_cfg();                                                          \
        expect_cfg(&c_, want, __LINE__);                                                           \
    } while (0)
#define EXPECT_CLIENT(want)                                                                        \
    do {                                                                                           \
        mqws_ws_config c_ = client_cfg();                                                          \
        expect_cfg(&c_, want, __LINE__);                                                           \
    } while (0)

#define E_PROTO "E-4:1002;"

/* ------------------------------------------------------------------------------------------ */
/* §5.7 examples */

TEST(rfc6455_5_7_examples_unmasked_and_masked_hello) {
    B.len = 0;
    put_raw("81 05 48 65 6c 6c 6f");
    EXPECT_CLIENT("M1:5:Hello;");
    B.len = 0;
    put_raw("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    EXPECT_SERVER("M1:5:Hello;");
}

TEST(rfc6455_5_7_examples_fragmented_text_and_ping_pong) {
    B.len = 0;
    put_raw("01 03 48 65 6c 80 02 6c 6f");
    put_raw("89 05 48 65 6c 6c 6f");
    put_raw("8a 05 48 65 6c 6c 6f");
    EXPECT_CLIENT("M1:5:Hello;PHello;OHello;");
    B.len = 0;
    put_raw("8a 85 37 fa 21 3d 7f 9f 4d 51 58");
    EXPECT_SERVER("OHello;");
}

TEST(rfc6455_5_7_examples_256_and_65536_byte_binary) {
    B.len = 0;
    put_raw("82 7e 01 00");
    for (int i = 0; i < 256; i++)
        B.p[B.len++] = (uint8_t)(i * 7);
    put_raw("82 7f 00 00 00 00 00 01 00 00");
    for (int i = 0; i < 65536; i++)
        B.p[B.len++] = (uint8_t)(i * 7);
    logbuf a, b;
    mqws_ws_config c = client_cfg();
    run(&c, B.p, B.len, FEED_WHOLE, 0, &a);
    CHECK(strncmp(a.s, "M2:256:#", 8) == 0);
    CHECK(strstr(a.s, ";M2:65536:#") != NULL);
    /* the same payload masked, to a server */
    B.len = 0;
    put_frame(0x82, 1, NULL, 256);
    put_frame(0x82, 1, NULL, 65536);
    c = server_cfg();
    run(&c, B.p, B.len, FEED_WHOLE, 0, &b);
    CHECK_STR(a.s, b.s);
    expect_cfg(&c, a.s, __LINE__);
}

/* Payload lengths at every length-encoding boundary, masked and not. */
TEST(rfc6455_5_2_payload_length_encodings_0_125_126_65535_65536) {
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70001};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char want[64];
        B.len = 0;
        put_frame(0x82, 1, NULL, lens[i]);
        logbuf l;
        mqws_ws_config c = server_cfg();
        run(&c, B.p, B.len, FEED_WHOLE, 0, &l);
        snprintf(want, sizeof want, "M2:%llu:", (unsigned long long)lens[i]);
        CHECK(strncmp(l.s, want, strlen(want)) == 0);
        expect_cfg(&c, l.s, __LINE__);
        B.len = 0;
        put_frame(0x82, 0, NULL, lens[i]);
        c = client_cfg();
        expect_cfg(&c, l.s, __LINE__);
    }
}

/* §5.4: control frames may come between fragments and are reported in order; empty fragments
 * are allowed. */
TEST(rfc6455_5_4_control_frames_between_fragments) {
    B.len = 0;
    cframe(0x02, "ab");
    cframe(0x89, "p1");
    cframe(0x00, "");
    cframe(0x8a, "");
    cframe(0x00, "cd");
    cframe(0x89, "");
    cframe(0x80, "e");
    cframe(0x81, "");
    cframe(0x01, "");
    cframe(0x80, "");
    EXPECT_SERVER("Pp1;O;P;M2:5:abcde;M1:0:;M1:0:;");
}

/* §5.4: a continuation without a message, or a new message inside one, is a protocol error. */
TEST(rfc6455_5_4_fragmentation_errors_1002) {
    B.len = 0;
    cframe(0x80, "x");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x01, "a");
    cframe(0x81, "b");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x02, "a");
    cframe(0x82, "b");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x82, "a");
    cframe(0x00, "b");
    EXPECT_SERVER("M2:1:a;" E_PROTO);
}

/* §5.2: RSV bits without a negotiated extension, and reserved opcodes, fail with 1002. */
TEST(rfc6455_5_2_rsv_bits_and_reserved_opcodes_1002) {
    static const unsigned b0[] = {0xc1, 0xa2, 0x92, 0x83, 0x84, 0x85, 0x86,
                                  0x87, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0xc9};
    for (size_t i = 0; i < sizeof b0 / sizeof b0[0]; i++) {
        B.len = 0;
        cframe(b0[i], "x");
        EXPECT_SERVER(E_PROTO);
    }
}

/* §5.5: control frames are never fragmented and carry at most 125 bytes. */
TEST(rfc6455_5_5_control_frames_125_bytes_unfragmented) {
    char p125[126];
    memset(p125, 'x', 125);
    p125[125] = 0;
    B.len = 0;
    put_frame(0x89, 1, p125, 125);
    logbuf l;
    mqws_ws_config c = server_cfg();
    run(&c, B.p, B.len, FEED_WHOLE, 0, &l);
    CHECK(l.s[0] == 'P' && strlen(l.s) == 127);
    expect_cfg(&c, l.s, __LINE__);
    B.len = 0;
    put_frame(0x89, 1, NULL, 126);
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x09, "x");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x08, "");
    EXPECT_SERVER(E_PROTO);
}

/* §5.1: a server fails on an unmasked frame, a client on a masked one. */
TEST(rfc6455_5_1_masking_direction_enforced) {
    B.len = 0;
    sframe(0x82, "x");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x82, "x");
    EXPECT_CLIENT(E_PROTO);
    B.len = 0;
    sframe(0x89, "");
    EXPECT_SERVER(E_PROTO);
}

/* §5.2: the minimal number of bytes must encode the length; the 64-bit MSB must be 0. */
TEST(rfc6455_5_2_non_minimal_or_huge_length_1002) {
    B.len = 0;
    put_raw("82 fe 00 7d 01 02 03 04");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    put_raw("82 ff 00 00 00 00 00 00 ff ff 01 02 03 04");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    put_raw("82 ff 80 00 00 00 00 00 00 00 01 02 03 04");
    EXPECT_SERVER(E_PROTO);
    /* the same with the whole payload present (the decoder's fast path must refuse it too) */
    B.len = 0;
    put_raw("82 fe 00 7d 01 02 03 04");
    for (int i = 0; i < 125; i++)
        B.p[B.len++] = 0;
    EXPECT_SERVER(E_PROTO);
}

/* §10.4 / §7.4.1 1009: limits are decided from the header alone, before any payload. */
TEST(rfc6455_10_4_frame_and_message_limits_1009_from_header) {
    mqws_ws_config c = server_cfg();
    c.max_frame = 1000;
    c.max_message = 1500;
    B.len = 0;
    put_raw("82 fe 03 e9 01 02 03 04"); /* 1001 bytes announced, none sent */
    expect_cfg(&c, "E-5:1009;", __LINE__);
    B.len = 0;
    put_frame(0x82, 1, NULL, 1001); /* whole frame present */
    expect_cfg(&c, "E-5:1009;", __LINE__);
    c.max_frame = 100;
    B.len = 0;
    put_frame(0x82, 1, NULL, 101);
    expect_cfg(&c, "E-5:1009;", __LINE__);
    c.max_frame = 1000;
    B.len = 0;
    put_frame(0x02, 1, NULL, 1000);
    put_raw("80 fe 01 f5 01 02 03 04"); /* 501 more: 1501 > 1500 */
    expect_cfg(&c, "E-5:1009;", __LINE__);
    B.len = 0;
    put_frame(0x02, 1, NULL, 1000);
    put_frame(0x80, 1, NULL, 500);
    put_frame(0x82, 1, NULL, 1000); /* a new message starts from zero */
    logbuf l;
    run(&c, B.p, B.len, FEED_WHOLE, 0, &l);
    CHECK(strncmp(l.s, "M2:1500:", 8) == 0);
    CHECK(strstr(l.s, ";M2:1000:") != NULL);
    expect_cfg(&c, l.s, __LINE__);
    /* the 2^63-1 ceiling and a 16 MiB default */
    c = server_cfg();
    B.len = 0;
    put_raw("82 ff 00 00 00 00 01 00 00 01 01 02 03 04");
    expect_cfg(&c, "E-5:1009;", __LINE__);
}

/* §8.1 / §5.6: invalid UTF-8 in a text message fails with 1007 at the first bad byte, also
 * when the bad sequence spans fragments; a code point split across fragments is fine. */
TEST(rfc6455_8_1_invalid_utf8_1007_at_first_bad_byte) {
    B.len = 0;
    cframe(0x81, "abc\xff"
                 "def");
    EXPECT_SERVER("E-13:1007@9;");
    B.len = 0;
    cframe(0x01, "a\xe2\x82");
    cframe(0x80, "\xac"
                 "b"); /* U+20AC split across fragments */
    EXPECT_SERVER("M1:5:a%e2%82%acb;");
    B.len = 0;
    cframe(0x01, "a\xe2\x82");
    cframe(0x89, "");
    cframe(0x80, "x"); /* the continuation byte is missing */
    EXPECT_SERVER("P;E-13:1007@21;");
    B.len = 0;
    cframe(0x81, "ok\xe2\x82"); /* message ends inside a character */
    EXPECT_SERVER("E-13:1007@10;");
    B.len = 0;
    cframe(0x81, "\xed\xa0\x80"); /* a surrogate */
    EXPECT_SERVER("E-13:1007@7;");
    B.len = 0;
    cframe(0x82, "\xff\xfe"); /* binary is not checked */
    EXPECT_SERVER("M2:2:%ff%fe;");
}

/* §5.5.1 / §7.4: close frames: empty (1005 reported), code + UTF-8 reason, and the codes a
 * peer may not send. */
TEST(rfc6455_7_4_close_codes_received) {
    B.len = 0;
    cframe(0x88, "");
    EXPECT_SERVER("C1005:;");
    B.len = 0;
    cframe(0x88, "\x03\xe8"
                 "bye");
    EXPECT_SERVER("C1000:bye;");
    static const unsigned ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                  1010, 1011, 1012, 1013, 1014, 3000, 4999};
    static const unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[2] = {(char)(ok[i] >> 8), (char)ok[i]}, want[32];
        B.len = 0;
        put_frame(0x88, 1, body, 2);
        snprintf(want, sizeof want, "C%u:;", ok[i]);
        EXPECT_SERVER(want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[2] = {(char)(bad[i] >> 8), (char)bad[i]};
        B.len = 0;
        put_frame(0x88, 1, body, 2);
        EXPECT_SERVER(E_PROTO);
    }
    B.len = 0;
    cframe(0x88, "\x03");
    EXPECT_SERVER(E_PROTO);
    B.len = 0;
    cframe(0x88, "\x03\xe8\xc0\xaf");
    EXPECT_SERVER("E-13:1007@10;");
}

/* §5.5.1: after a close frame nothing more is read. */
TEST(rfc6455_5_5_1_data_after_close_ignored) {
    B.len = 0;
    cframe(0x88, "\x03\xe8");
    cframe(0x82, "late");
    put_raw("ff ff ff");
    EXPECT_SERVER("C1000:;");
}

/* §7.4.1: 1005, 1006 and 1015 are never sent; other invalid codes neither. */
TEST(rfc6455_5_5_1_close_code_1005_never_sent) {
    static const unsigned never[] = {1005, 1006, 1015, 1004, 999, 2000, 5000};
    uint8_t out[MQWS_WS_CONTROL_MAX];
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        mqws_ws ws;
        mqws_ws_init(&ws, NULL);
        CHECK_INT(mqws_ws_close(&ws, never[i], NULL, 0, NULL, out, sizeof out), MQWS_EINVAL);
        CHECK_INT(mqws_ws_close_sent(&ws), 0);
    }
    mqws_ws ws;
    mqws_ws_init(&ws, NULL);
    CHECK_INT(mqws_ws_close(&ws, 1000, (const uint8_t *)"\xff", 1, NULL, out, sizeof out),
              MQWS_EUTF8);
    uint8_t reason[124];
    memset(reason, 'r', sizeof reason);
    CHECK_INT(mqws_ws_close(&ws, 1000, reason, 124, NULL, out, sizeof out), MQWS_EINVAL);
    CHECK_INT(mqws_ws_close(&ws, 0, reason, 1, NULL, out, sizeof out), MQWS_EINVAL);
    CHECK_INT(mqws_ws_close(&ws, 1000, reason, 123, NULL, out, 126), MQWS_ENOSPC);
    CHECK_INT(mqws_ws_close(&ws, 1000, reason, 123, NULL, out, sizeof out), 127);
    CHECK_INT(out[0], 0x88);
    CHECK_INT(out[1], 125);
    CHECK_INT(out[2] << 8 | out[3], 1000);
    CHECK_INT(mqws_ws_close(&ws, 1000, NULL, 0, NULL, out, sizeof out), MQWS_ESTATE);
    /* code 0: the empty answer to a close that had no code */
    mqws_ws_init(&ws, NULL);
    CHECK_INT(mqws_ws_close(&ws, 0, NULL, 0, NULL, out, sizeof out), 2);
    CHECK_MEM(out, 2, "\x88\x00", 2);
}

/* §7.1.1: the server closes TCP first; the client waits for it. §7.1.7: after a failure both
 * close at once. */
TEST(rfc6455_7_1_1_server_closes_tcp_first) {
    uint8_t out[MQWS_WS_CONTROL_MAX], in[16];
    mqws_ws_event ev;
    size_t c;
    mqws_ws sv;
    mqws_ws_init(&sv, NULL);
    CHECK_INT(mqws_ws_tcp_action(&sv), MQWS_WS_TCP_KEEP);
    size_t n = testlib_hex("88 82 00 00 00 00 03 e8", in, sizeof in);
    CHECK_INT(mqws_ws_recv(&sv, in, n, &c, &ev), 1);
    CHECK_INT(ev.type, MQWS_WS_EV_CLOSE);
    CHECK_INT(mqws_ws_close_received(&sv), 1);
    CHECK_INT(mqws_ws_tcp_action(&sv), MQWS_WS_TCP_KEEP);
    CHECK_INT(mqws_ws_close(&sv, ev.code, NULL, 0, NULL, out, sizeof out), 4);
    CHECK_INT(mqws_ws_tcp_action(&sv), MQWS_WS_TCP_CLOSE_NOW);

    mqws_ws_config cc = client_cfg();
    mqws_ws cl;
    mqws_ws_init(&cl, &cc);
    const uint8_t mk[4] = {1, 2, 3, 4};
    CHECK_INT(mqws_ws_close(&cl, 1000, NULL, 0, NULL, out, sizeof out), MQWS_EINVAL);
    CHECK_INT(mqws_ws_close(&cl, 1001, (const uint8_t *)"x", 1, mk, out, sizeof out), 9);
    CHECK_INT(out[1], 0x83);
    CHECK_INT((out[6] ^ 1) << 8 | (out[7] ^ 2), 1001);
    CHECK_INT(out[8] ^ 3, 'x');
    CHECK_INT(mqws_ws_tcp_action(&cl), MQWS_WS_TCP_KEEP);
    n = testlib_hex("88 02 03 e9", in, sizeof in);
    CHECK_INT(mqws_ws_recv(&cl, in, n, &c, &ev), 1);
    CHECK_INT(ev.code, 1001);
    CHECK_INT(mqws_ws_tcp_action(&cl), MQWS_WS_TCP_WAIT_PEER);

    mqws_ws_init(&cl, &cc);
    n = testlib_hex("82 81 00 00 00 00 00", in, sizeof in);
    CHECK_INT(mqws_ws_recv(&cl, in, n, &c, &ev), MQWS_EPROTO);
    CHECK_INT(mqws_ws_tcp_action(&cl), MQWS_WS_TCP_CLOSE_NOW);
    CHECK_INT(mqws_ws_fail_code(&cl), 1002);
    CHECK_INT(mqws_ws_recv(&cl, in, n, &c, &ev), MQWS_EPROTO); /* sticky */
    CHECK_INT(mqws_ws_close(&cl, mqws_ws_fail_code(&cl), NULL, 0, mk, out, sizeof out), 8);
}

/* [MQTT-6.0.0-1]: MQTT travels in binary frames; a text frame closes with 1003. */
TEST(mqtt_6_0_0_1_text_frame_closes_1003) {
    mqws_ws_config c = server_cfg();
    c.flags = MQWS_WS_BINARY_ONLY;
    B.len = 0;
    cframe(0x81, "\x10\x00");
    expect_cfg(&c, "E-7:1003;", __LINE__);
    B.len = 0;
    cframe(0x02, "\x10");
    cframe(0x89, "");
    put_frame(0x80, 1, "\x00", 1);
    expect_cfg(&c, "P;M2:2:%10%00;", __LINE__);
}

/* [MQTT-6.0.0-2]: a packet may span frames and a frame may hold several packets: the payload
 * is one stream, returned as views into the input. */
TEST(mqtt_6_0_0_2_packets_span_frames_as_one_stream) {
    /* CONNECT-ish bytes then two PINGREQs, cut at odd places */
    uint8_t mqtt[64];
    size_t n =
        testlib_hex("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00 c0 00 c0 00", mqtt, sizeof mqtt);
    B.len = 0;
    put_frame(0x82, 1, mqtt, 3);
    put_frame(0x82, 1, mqtt + 3, 12);
    put_frame(0x02, 1, mqtt + 15, 1);
    put_frame(0x80, 1, mqtt + 16, 2);
    mqws_ws ws;
    mqws_ws_config c = server_cfg();
    c.flags = MQWS_WS_BINARY_ONLY;
    mqws_ws_init(&ws, &c);
    uint8_t stream[64];
    size_t got = 0, pos = 0, cons;
    mqws_ws_event ev;
    while (pos < B.len) {
        int r = mqws_ws_recv(&ws, B.p + pos, B.len - pos, &cons, &ev);
        CHECK(r >= 0);
        pos += cons;
        if (r == 1 && ev.type == MQWS_WS_EV_DATA) {
            CHECK(ev.data.ptr >= B.p && ev.data.ptr + ev.data.len <= B.p + B.len); /* zero-copy */
            memcpy(stream + got, ev.data.ptr, ev.data.len);
            got += ev.data.len;
        }
    }
    CHECK_MEM(stream, got, mqtt, n);
}

/* §5.3: masking is XOR with the key at the payload offset modulo 4, for every alignment,
 * phase and length, including across calls. */
TEST(rfc6455_5_3_mask_any_alignment_phase_length) {
    uint64_t seed = 42;
    uint8_t a[600], b[600];
    const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
    for (int iter = 0; iter < 3000; iter++) {
        size_t off = testlib_rand_below(&seed, 17), len = testlib_rand_below(&seed, 520);
        size_t phase = testlib_rand_below(&seed, 8);
        for (size_t i = 0; i < sizeof a; i++)
            a[i] = b[i] = (uint8_t)testlib_rand(&seed);
        mqws_ws_mask(a + off, len, key, phase);
        for (size_t i = 0; i < len; i++)
            b[off + i] ^= key[(phase + i) & 3];
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
}

/* Random streams of valid frames of every kind, both roles: all feeding modes agree, and the
 * messages equal what was sent. */
TEST(rfc6455_5_random_streams_whole_bytewise_random_split_identical) {
    uint64_t seed = 1234;
    for (int round = 0; round < 30; round++) {
        int masked = round & 1;
        B.len = 0;
        int frags = 0;
        for (int f = 0; f < 20; f++) {
            unsigned kind = (unsigned)testlib_rand_below(&seed, 6);
            size_t len = testlib_rand_below(&seed, kind == 5 ? 70000 : 300);
            if (kind <= 1) { /* a control frame */
                put_frame(kind ? 0x89 : 0x8a, masked, NULL, len % 126);
                continue;
            }
            unsigned fin = testlib_rand_below(&seed, 2) ? 0x80u : 0u;
            put_frame(fin | (frags ? 0u : 2u), masked, NULL, len);
            frags = !fin;
        }
        if (frags)
            put_frame(0x80, masked, NULL, 3);
        mqws_ws_config c = masked ? server_cfg() : client_cfg();
        logbuf l;
        run(&c, B.p, B.len, FEED_WHOLE, 0, &l);
        CHECK(strstr(l.s, "E-") == NULL);
        expect_cfg(&c, l.s, __LINE__);
    }
}

/* A control frame split across calls is assembled in a 125-byte buffer that exists only while
 * needed; a failing allocation is reported and the call can be repeated. */
TEST(alloc_failure_split_control_frame) {
    B.len = 0;
    cframe(0x89, "ping payload");
    for (long n = 1; n <= 2; n++) {
        testlib_alloc t;
        testlib_alloc_init(&t, n);
        mqws_ws_config c = server_cfg();
        c.allocator = &t.a;
        mqws_ws ws;
        mqws_ws_init(&ws, &c);
        mqws_ws_event ev;
        size_t cons;
        uint8_t in[64];
        memcpy(in, B.p, B.len);
        CHECK_INT(mqws_ws_recv(&ws, in, 8, &cons, &ev), n == 1 ? MQWS_ENOMEM : 0);
        if (n == 1) {
            CHECK_INT(cons, 6); /* the header, not the payload */
            CHECK_INT(mqws_ws_recv(&ws, in + 6, 2, &cons, &ev), 0);
        }
        CHECK_INT(t.live_blocks, 1);
        CHECK_INT(mqws_ws_recv(&ws, in + 8, B.len - 8, &cons, &ev), 1);
        CHECK_INT(ev.type, MQWS_WS_EV_PING);
        CHECK_VIEW(ev.data, "ping payload");
        CHECK_INT(mqws_ws_recv(&ws, in, 0, &cons, &ev), 0);
        CHECK_INT(t.live_blocks, 0); /* idle: no buffer held */
        mqws_ws_cleanup(&ws);
        CHECK_ALLOC_CLEAN(&t);
    }
    /* torn down mid-frame */
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_ws_config c = server_cfg();
    c.allocator = &t.a;
    mqws_ws ws;
    mqws_ws_init(&ws, &c);
    mqws_ws_event ev;
    size_t cons;
    uint8_t in[64];
    memcpy(in, B.p, B.len);
    CHECK_INT(mqws_ws_recv(&ws, in, 9, &cons, &ev), 0);
    mqws_ws_cleanup(&ws);
    CHECK_ALLOC_CLEAN(&t);
}

/* §5.2 encoder: header sizes at the boundaries, control frame rules, masking. */
TEST(rfc6455_5_2_frame_header_encoding) {
    uint8_t h[MQWS_WS_HEADER_MAX];
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_BINARY, 1, 0, NULL), 2);
    CHECK_MEM(h, 2, "\x82\x00", 2);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_TEXT, 0, 125, NULL), 2);
    CHECK_MEM(h, 2, "\x01\x7d", 2);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_BINARY, 1, 126, NULL), 4);
    CHECK_MEM(h, 4, "\x82\x7e\x00\x7e", 4);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_BINARY, 1, 65535, NULL), 4);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_CONT, 1, 65536, NULL), 10);
    CHECK_MEM(h, 10, "\x80\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_BINARY, 1, 65536, KEY4), 14);
    CHECK_INT(h[1], 0xff);
    CHECK_MEM(h + 10, 4, KEY4, 4);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_PING, 0, 0, NULL), MQWS_EINVAL);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_PING, 1, 126, NULL), MQWS_EINVAL);
    CHECK_INT(mqws_ws_frame_header(h, 3, 1, 0, NULL), MQWS_EINVAL);
    CHECK_INT(mqws_ws_frame_header(h, MQWS_WS_OP_BINARY, 1, UINT64_MAX, NULL), MQWS_EINVAL);
    uint8_t f[MQWS_WS_CONTROL_MAX];
    CHECK_INT(
        mqws_ws_control_frame(MQWS_WS_OP_PONG, (const uint8_t *)"Hello", 5, KEY4, f, sizeof f), 11);
    CHECK_MEM(f, 11, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    CHECK_INT(mqws_ws_control_frame(MQWS_WS_OP_BINARY, NULL, 0, NULL, f, sizeof f), MQWS_EINVAL);
    CHECK_INT(mqws_ws_control_frame(MQWS_WS_OP_PING, NULL, 0, NULL, f, 1), MQWS_ENOSPC);
}

/* [MQTT-6.0.0-2] outgoing: an MQTT packet framed without copying its payload. */
TEST(mqtt_6_frame_iov_zero_copy) {
    uint8_t big[70000];
    memset(big, 0xab, sizeof big);
    mqws_iovec in[3] = {{"\x30\x05", 2}, {"", 0}, {big, sizeof big}};
    mqws_iovec out[4];
    uint8_t hdr[10];
    CHECK_INT(mqws_ws_frame_iov(MQWS_WS_OP_BINARY, in, 3, hdr, out, 2), MQWS_ENOSPC);
    CHECK_INT(mqws_ws_frame_iov(MQWS_WS_OP_BINARY, in, 3, hdr, out, 4), 3);
    CHECK(out[0].base == hdr && out[0].len == 10);
    CHECK(out[1].base == in[0].base && out[2].base == big && out[2].len == sizeof big);
    CHECK_MEM(hdr, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x72", 10);
    CHECK_INT(mqws_ws_frame_iov(MQWS_WS_OP_PING, in, 3, hdr, out, 4), MQWS_EINVAL);
    /* what it builds decodes on the client side as one binary message */
    B.len = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(B.p + B.len, out[i].base, out[i].len);
        B.len += out[i].len;
    }
    logbuf l;
    mqws_ws_config c = client_cfg();
    run(&c, B.p, B.len, FEED_WHOLE, 0, &l);
    CHECK(strncmp(l.s, "M2:70002:#", 10) == 0);
}

static uint32_t fnv(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

/* The client role's frames (header + mqws_ws_mask) decode on the server side. */
TEST(rfc6455_5_3_client_masked_frames_round_trip) {
    const char *msg = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(msg);
    const uint8_t key[4] = {9, 8, 7, 6};
    B.len = 0;
    for (size_t cut = 0; cut <= n; cut += 7) {
        int h = mqws_ws_frame_header(B.p + B.len, MQWS_WS_OP_TEXT, 1, n, key);
        CHECK(h == 6);
        B.len += (size_t)h;
        memcpy(B.p + B.len, msg, n);
        mqws_ws_mask(B.p + B.len, cut, key, 0); /* masked in two pieces */
        mqws_ws_mask(B.p + B.len + cut, n - cut, key, cut);
        B.len += n;
    }
    logbuf l;
    mqws_ws_config c = server_cfg();
    run(&c, B.p, B.len, FEED_WHOLE, 0, &l);
    char want[1024] = "", one[64];
    snprintf(one, sizeof one, "M1:43:#%08x;", fnv(msg, n));
    for (size_t cut = 0; cut <= n; cut += 7)
        strcat(want, one);
    CHECK_STR(l.s, want);
}

/* Per-connection state after the handshake: ≤ 128 bytes, no allocation while idle. */
TEST(ws_state_fits_128_bytes) {
    CHECK(sizeof(mqws_ws) == 128);
    CHECK(mqws_ws_state_size() <= sizeof(mqws_ws));
    mqws_ws_config c = MQWS_WS_CONFIG_INIT;
    mqws_ws ws;
    c.size = 4;
    CHECK_INT(mqws_ws_init(&ws, &c), MQWS_EINVAL);
    c = (mqws_ws_config)MQWS_WS_CONFIG_INIT;
    c.role = 7;
    CHECK_INT(mqws_ws_init(&ws, &c), MQWS_EINVAL);
    c.role = MQWS_WS_CLIENT;
    c.flags = 0x100;
    CHECK_INT(mqws_ws_init(&ws, &c), MQWS_EINVAL);
}

void run_frame_tests(void) {
    RUN(rfc6455_5_7_examples_unmasked_and_masked_hello);
    RUN(rfc6455_5_7_examples_fragmented_text_and_ping_pong);
    RUN(rfc6455_5_7_examples_256_and_65536_byte_binary);
    RUN(rfc6455_5_2_payload_length_encodings_0_125_126_65535_65536);
    RUN(rfc6455_5_4_control_frames_between_fragments);
    RUN(rfc6455_5_4_fragmentation_errors_1002);
    RUN(rfc6455_5_2_rsv_bits_and_reserved_opcodes_1002);
    RUN(rfc6455_5_5_control_frames_125_bytes_unfragmented);
    RUN(rfc6455_5_1_masking_direction_enforced);
    RUN(rfc6455_5_2_non_minimal_or_huge_length_1002);
    RUN(rfc6455_10_4_frame_and_message_limits_1009_from_header);
    RUN(rfc6455_8_1_invalid_utf8_1007_at_first_bad_byte);
    RUN(rfc6455_7_4_close_codes_received);
    RUN(rfc6455_5_5_1_data_after_close_ignored);
    RUN(rfc6455_5_5_1_close_code_1005_never_sent);
    RUN(rfc6455_7_1_1_server_closes_tcp_first);
    RUN(mqtt_6_0_0_1_text_frame_closes_1003);
    RUN(mqtt_6_0_0_2_packets_span_frames_as_one_stream);
    RUN(rfc6455_5_3_mask_any_alignment_phase_length);
    RUN(rfc6455_5_random_streams_whole_bytewise_random_split_identical);
    RUN(alloc_failure_split_control_frame);
    RUN(rfc6455_5_2_frame_header_encoding);
    RUN(mqtt_6_frame_iov_zero_copy);
    RUN(rfc6455_5_3_client_masked_frames_round_trip);
    RUN(ws_state_fits_128_bytes);
}
