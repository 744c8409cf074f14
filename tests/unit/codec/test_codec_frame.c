/* Codec framing (MQTT 5 §2.1.4 / §1.5.5, MQTT 3.1.1 §2.2.3): the streaming framer, the
 * remaining-length rules, the maximum packet size enforced from the header alone, and the
 * same packet sequence whether a stream is fed whole, byte by byte or split at random points.
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------------------- */
/* mqws_frame on single packets */

TEST(frame_empty_input_needs_more) {
    mqws_frame_info fi;
    memset(&fi, 0, sizeof fi);
    CHECK_INT(mqws_frame(NULL, 0, 0, &fi), MQWS_FRAME_NEED_MORE);
    CHECK(fi.need >= 1);
}

/* Every prefix of a packet needs exactly the missing bytes once the fixed header is complete. */
TEST(frame_need_more_is_exact_once_the_header_is_known) {
    size_t n;
    const uint8_t *b = cu_hex("30 0a 00 03 61 2f 62 68 65 6c 6c 6f", &n);
    CHECK_INT(n, 12);
    for (size_t k = 1; k < n; k++) {
        mqws_frame_info fi;
        memset(&fi, 0, sizeof fi);
        CHECK_INT(mqws_frame(b, k, 0, &fi), MQWS_FRAME_NEED_MORE);
        if (k >= 2) {
            CHECK_INT(fi.need, n - k);
            CHECK_INT(fi.total_len, 12);
            CHECK_INT(fi.header_len, 2);
            CHECK_INT(fi.remaining_len, 10);
            CHECK_INT(fi.first_byte, 0x30);
        } else {
            CHECK(fi.need >= 1);
        }
    }
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_FRAME_READY);
    CHECK_INT(fi.total_len, 12);
    CHECK_INT(fi.header_len, 2);
    CHECK_INT(fi.remaining_len, 10);
    CHECK_INT(fi.first_byte, 0x30);
}

/* More bytes after the packet do not change the frame. */
TEST(frame_ready_with_following_bytes) {
    size_t n;
    const uint8_t *b = cu_hex("c0 00 d0 00 30", &n);
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_FRAME_READY);
    CHECK_INT(fi.total_len, 2);
    CHECK_INT(fi.first_byte, 0xc0);
    CHECK_INT(mqws_frame(b + 2, n - 2, 0, &fi), MQWS_FRAME_READY);
    CHECK_INT(fi.first_byte, 0xd0);
    CHECK_INT(mqws_frame(b + 4, 1, 0, &fi), MQWS_FRAME_NEED_MORE);
}

/* Remaining length boundaries of the variable byte integer table (§1.5.5). */
TEST(frame_remaining_length_boundaries) {
    static const struct {
        const char *hdr;
        uint32_t rl;
        uint8_t hl;
    } c[] = {
        {"30 00", 0, 2},
        {"30 7f", 127, 2},
        {"30 80 01", 128, 3},
        {"30 ff 7f", 16383, 3},
        {"30 80 80 01", 16384, 4},
        {"30 ff ff 7f", 2097151, 4},
        {"30 80 80 80 01", 2097152, 5},
        {"30 ff ff ff 7f", 268435455u, 5},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        size_t n;
        const uint8_t *b = cu_hex(c[i].hdr, &n);
        mqws_frame_info fi;
        memset(&fi, 0, sizeof fi);
        int rc = mqws_frame(b, n, 0, &fi);
        CHECK_INT(rc, c[i].rl == 0 ? MQWS_FRAME_READY : MQWS_FRAME_NEED_MORE);
        CHECK_INT(fi.remaining_len, c[i].rl);
        CHECK_INT(fi.header_len, c[i].hl);
        CHECK_INT(fi.total_len, c[i].rl + c[i].hl);
        if (rc == MQWS_FRAME_NEED_MORE)
            CHECK_INT(fi.need, c[i].rl);
        /* A partial header needs at least one more byte. */
        for (size_t k = 1; k < n; k++) {
            memset(&fi, 0, sizeof fi);
            CHECK_INT(mqws_frame(b, k, 0, &fi), MQWS_FRAME_NEED_MORE);
            CHECK(fi.need >= 1);
        }
    }
}

/* [MQTT-1.5.5-1] The encoded value MUST use the minimum number of bytes. */
TEST(mqtt_1_5_5_1_non_minimal_remaining_length_is_malformed) {
    static const char *bad[] = {"30 80 00", "30 ff 00", "30 80 80 00", "30 80 80 80 00",
                                "c0 80 00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n;
        const uint8_t *b = cu_hex(bad[i], &n);
        mqws_frame_info fi;
        CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_EMALFORMED);
    }
    /* mqws_decode applies the same rule to a buffer that was not framed. */
    size_t n;
    const uint8_t *b = cu_hex("c0 80 00", &n);
    mqws_packet p;
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    CHECK_INT(mqws_decode(b, n, MQWS_MQTT_5, 0, &p, &e), MQWS_EMALFORMED);
    CHECK_INT(e.reason, 0x81);
}

/* Remaining length is at most four bytes (MQTT 5 §1.5.5, 3.1.1 §2.2.3). */
TEST(mqtt_2_1_4_remaining_length_over_four_bytes_is_malformed) {
    size_t n;
    const uint8_t *b = cu_hex("30 80 80 80 80 01", &n);
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_EMALFORMED);
    b = cu_hex("30 ff ff ff ff", &n);
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_EMALFORMED);
    b = cu_hex("30 ff ff ff ff 7f", &n);
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_EMALFORMED);
}

/* Packet type 0 is reserved (MQTT 5 §2.1.2, 3.1.1 §2.2.1). */
TEST(mqtt_2_1_2_packet_type_0_is_malformed) {
    size_t n;
    const uint8_t *b = cu_hex("00 00", &n);
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_EMALFORMED);
    b = cu_hex("0f 02 00 01", &n);
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_EMALFORMED);
}

/* The framer leaves flag checks to mqws_decode(): a QoS 3 PUBLISH frames fine. */
TEST(frame_does_not_check_flags) {
    size_t n;
    const uint8_t *b = cu_hex("36 05 00 01 61 00 01", &n);
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_FRAME_READY);
    CHECK_INT(fi.total_len, 7);
    MALFORMED("36 05 00 01 61 00 01", MQWS_MQTT_311, "MQTT-3.3.1-4");
}

/* A header announcing 200 MB is refused with five bytes buffered. */
TEST(frame_max_packet_size_decided_from_the_header_alone) {
    size_t n;
    const uint8_t *b = cu_hex("30 80 80 80 64", &n);
    mqws_frame_info fi;
    memset(&fi, 0, sizeof fi);
    CHECK_INT(mqws_frame(b, n, 1024 * 1024, &fi), MQWS_ETOOBIG);
    CHECK_INT(fi.total_len, 209715205u);
    CHECK_INT(fi.remaining_len, 209715200u);
    /* 0 means the protocol maximum: then it is merely incomplete. */
    memset(&fi, 0, sizeof fi);
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_FRAME_NEED_MORE);
    CHECK_INT(fi.need, 209715200u);
    CHECK_INT(fi.total_len, 209715205u);
    /* The limit applies to the whole packet (header included), inclusively. */
    CHECK_INT(mqws_frame(b, n, 209715205u, &fi), MQWS_FRAME_NEED_MORE);
    CHECK_INT(mqws_frame(b, n, 209715204u, &fi), MQWS_ETOOBIG);
    /* The largest packet the protocol allows. */
    b = cu_hex("30 ff ff ff 7f", &n);
    CHECK_INT(mqws_frame(b, n, 0, &fi), MQWS_FRAME_NEED_MORE);
    CHECK_INT(fi.total_len, MQWS_MAX_PACKET_SIZE);
    CHECK_INT(mqws_frame(b, n, MQWS_MAX_PACKET_SIZE, &fi), MQWS_FRAME_NEED_MORE);
    CHECK_INT(mqws_frame(b, n, MQWS_MAX_PACKET_SIZE - 1, &fi), MQWS_ETOOBIG);
}

TEST(frame_max_packet_size_on_a_complete_packet) {
    size_t n;
    const uint8_t *b = cu_hex("30 0a 00 03 61 2f 62 68 65 6c 6c 6f", &n);
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(b, n, 12, &fi), MQWS_FRAME_READY);
    CHECK_INT(mqws_frame(b, n, 11, &fi), MQWS_ETOOBIG);
    CHECK_INT(mqws_frame(b, 2, 11, &fi), MQWS_ETOOBIG);
    CHECK_INT(mqws_frame(b, 2, 12, &fi), MQWS_FRAME_NEED_MORE);
    CHECK_INT(fi.need, 10);
}

/* mqws_decode refuses a buffer whose length is not the announced packet length. */
TEST(decode_length_must_match_the_fixed_header) {
    size_t n;
    const uint8_t *b = cu_hex("30 05 00 01 61 78 79 7a", &n);
    mqws_packet p;
    CHECK_INT(mqws_decode(b, 5, MQWS_MQTT_311, 0, &p, NULL), MQWS_EMALFORMED);
    CHECK_INT(mqws_decode(b, 8, MQWS_MQTT_311, 0, &p, NULL), MQWS_EMALFORMED);
    CHECK_INT(mqws_decode(b, 7, MQWS_MQTT_311, 0, &p, NULL), MQWS_OK);
    CHECK_INT(mqws_decode(b, 1, MQWS_MQTT_311, 0, &p, NULL), MQWS_EMALFORMED);
    CHECK_INT(mqws_decode(b, 0, MQWS_MQTT_311, 0, &p, NULL), MQWS_EMALFORMED);
}

/* ---------------------------------------------------------------------------------------- */
/* Whole / byte-by-byte / random-split feeding */

typedef struct rec {
    int rc; /* decode result, or a negative framer result */
    uint8_t type, qos;
    uint16_t packet_id;
    uint32_t len;
    uint8_t bytes[32768]; /* re-encoded packet */
    size_t nbytes;
} rec;

typedef struct feed_result {
    rec r[64];
    size_t count;
} feed_result;

static uint8_t hostbuf[1 << 18];

/* Feed `s[0..n)` in chunks, the way a host does: append to a buffer, frame, decode every ready
 * packet, keep the rest. `mode` 0 = whole, 1 = byte by byte, 2 = random chunk sizes from
 * `seed`. Stops at the first error. */
static void feed(const uint8_t *s, size_t n, uint8_t level, uint32_t maxsz, int mode, uint64_t seed,
                 feed_result *out) {
    size_t have = 0, pos = 0;
    out->count = 0;
    uint64_t st = seed;
    while (pos < n) {
        size_t chunk = n - pos;
        if (mode == 1)
            chunk = 1;
        else if (mode == 2)
            chunk = 1 + testlib_rand_below(&st, chunk < 40 ? chunk : 40);
        memcpy(hostbuf + have, s + pos, chunk);
        have += chunk;
        pos += chunk;
        for (;;) {
            mqws_frame_info fi;
            memset(&fi, 0, sizeof fi);
            int rc = mqws_frame(hostbuf, have, maxsz, &fi);
            if (rc == MQWS_FRAME_NEED_MORE) {
                CHECK(fi.need >= 1);
                if (have >= fi.header_len && fi.header_len >= 2)
                    CHECK_INT(have + fi.need, fi.total_len);
                break;
            }
            rec *r = &out->r[out->count++];
            memset(r, 0, sizeof *r);
            if (rc < 0) {
                r->rc = rc;
                return;
            }
            mqws_packet p;
            memset(&p, 0, sizeof p);
            r->rc = mqws_decode(hostbuf, fi.total_len, level, 0, &p, NULL);
            r->len = fi.total_len;
            if (r->rc != MQWS_OK)
                return;
            r->type = p.type;
            r->qos = p.qos;
            r->packet_id = p.packet_id;
            CHECK_INT(cu_reencode(&p, level, r->bytes, sizeof r->bytes, &r->nbytes), MQWS_OK);
            memmove(hostbuf, hostbuf + fi.total_len, have - fi.total_len);
            have -= fi.total_len;
            if (out->count == 64)
                return;
        }
    }
}

static void same_results(const feed_result *a, const feed_result *b, const char *what) {
    if (a->count != b->count) {
        testlib_fail(__FILE__, __LINE__, "%s: %zu packets vs %zu", what, a->count, b->count);
        return;
    }
    for (size_t i = 0; i < a->count; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        if (x->rc != y->rc || x->type != y->type || x->qos != y->qos ||
            x->packet_id != y->packet_id || x->len != y->len || x->nbytes != y->nbytes ||
            memcmp(x->bytes, y->bytes, x->nbytes) != 0)
            testlib_fail(__FILE__, __LINE__, "%s: packet %zu differs", what, i);
    }
}

static feed_result fr_whole, fr_other;

/* Whole, byte by byte, and 8 random splittings must give the same packets. Returns the count
 * of records of the whole feed. */
static size_t check_splits(const uint8_t *s, size_t n, uint8_t level, uint32_t maxsz) {
    feed(s, n, level, maxsz, 0, 0, &fr_whole);
    feed(s, n, level, maxsz, 1, 0, &fr_other);
    same_results(&fr_whole, &fr_other, "byte by byte");
    for (uint64_t seed = 1; seed <= 8; seed++) {
        feed(s, n, level, maxsz, 2, seed * 0x9E3779B97F4A7C15ull, &fr_other);
        same_results(&fr_whole, &fr_other, "random split");
    }
    return fr_whole.count;
}

static size_t stream_of(const char *const *hex, size_t k, uint8_t *s, size_t cap, size_t *lens) {
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        size_t l = testlib_hex(hex[i], s + n, cap - n);
        if (lens)
            lens[i] = l;
        n += l;
    }
    return n;
}

static uint8_t stream[1 << 17];

static void check_stream(const char *const *hex, size_t k, uint8_t level) {
    size_t lens[64];
    size_t n = stream_of(hex, k, stream, sizeof stream, lens);
    CHECK_INT(check_splits(stream, n, level, 0), k);
    size_t off = 0;
    for (size_t i = 0; i < fr_whole.count && i < k; i++) {
        CHECK_INT(fr_whole.r[i].rc, MQWS_OK);
        /* Every packet here is canonical: the re-encoding is the input. */
        CHECK_MEM(fr_whole.r[i].bytes, fr_whole.r[i].nbytes, stream + off, lens[i]);
        off += lens[i];
    }
}

TEST(split_feeding_mqtt_31_stream) {
    static const char *const pk[] = {
        ("10 20 00 06 4d 51 49 73 64 70 03 ee 00 1e 00 02 63 31 00 03 77 2f 74 00 03 62 79 65 "
         "00 01 75 00 01 70"),
        "20 02 00 00",
        "30 0a 00 03 61 2f 62 68 65 6c 6c 6f",
        "3d 0c 00 03 61 2f 62 00 07 68 65 6c 6c 6f",
        "82 0c 00 02 00 03 61 2f 2b 01 00 01 23 02",
        "90 04 00 02 01 02",
        "a2 0a 00 03 00 03 61 2f 2b 00 01 23",
        "b0 02 00 03",
        "40 02 00 07",
        "50 02 00 07",
        "62 02 00 07",
        "70 02 00 07",
        "c0 00",
        "d0 00",
        "e0 00",
    };
    check_stream(pk, sizeof pk / sizeof pk[0], MQWS_MQTT_31);
}

TEST(split_feeding_mqtt_311_stream) {
    static const char *const pk[] = {
        ("10 28 00 04 4d 51 54 54 04 d4 00 3c 00 08 63 6c 69 65 6e 74 2d 31 00 03 77 2f 74 00 03 "
         "62 79 65 00 04 75 73 65 72 00 02 70 77"),
        "20 02 01 00",
        "32 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f",
        "82 12 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01 00 01 63 02",
        "90 05 00 0a 00 01 80",
        "a2 07 00 0b 00 03 61 2f 2b",
        "b0 02 00 0b",
        "30 03 00 01 78", /* QoS 0, empty payload */
        "40 02 00 01",
        "50 02 00 02",
        "62 02 00 02",
        "70 02 00 02",
        "c0 00",
        "d0 00",
        "e0 00",
    };
    check_stream(pk, sizeof pk / sizeof pk[0], MQWS_MQTT_311);
}

TEST(split_feeding_mqtt_5_stream) {
    static const char *const pk[] = {
        "10 29 00 04 4d 51 54 54 05 ee 00 0a 08 11 00 00 00 78 21 00 14 00 02 63 35 05 18 00 00 "
        "00 05 00 01 77 00 01 78 00 01 75 00 01 70",
        "20 0c 00 00 09 12 00 03 69 64 31 22 00 0a",
        "32 30 00 03 61 2f 62 00 01 26 01 01 02 00 00 00 3c 03 00 0a 74 65 78 74 2f 70 6c 61 69 "
        "6e 26 00 02 6b 31 00 02 76 31 26 00 02 6b 32 00 02 76 32 68 69",
        "40 03 00 01 10",
        "82 0c 00 04 03 0b ac 02 00 03 61 2f 2b 2d",
        "90 09 00 04 05 1f 00 02 6f 6b 01",
        "a2 0b 00 05 00 00 03 61 2f 2b 00 01 62",
        "b0 05 00 05 00 00 11",
        "e0 07 04 05 11 00 00 00 00",
        "f0 10 18 0e 15 00 05 53 43 52 41 4d 16 00 03 01 02 03",
        "c0 00",
        "d0 00",
        "40 02 00 01",
        "e0 00",
        "f0 00",
    };
    check_stream(pk, sizeof pk / sizeof pk[0], MQWS_MQTT_5);
}

/* Long packets (2- and 3-byte remaining lengths) between short ones. */
TEST(split_feeding_long_packets) {
    size_t n = 0;
    static const uint32_t sizes[] = {127, 128, 16383, 16384, 20000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* QoS 0 PUBLISH, topic "t", payload of sizes[i] - 3 bytes. */
        uint32_t rl = sizes[i];
        stream[n++] = 0x30;
        n += (size_t)mqws_varint_encode(rl, stream + n);
        stream[n++] = 0;
        stream[n++] = 1;
        stream[n++] = 't';
        for (uint32_t k = 0; k < rl - 3; k++)
            stream[n++] = (uint8_t)(k * 7);
        stream[n++] = 0xc0;
        stream[n++] = 0x00;
    }
    CHECK_INT(check_splits(stream, n, MQWS_MQTT_311, 0), 10);
    for (size_t i = 0; i < fr_whole.count; i++)
        CHECK_INT(fr_whole.r[i].rc, MQWS_OK);
    CHECK_INT(fr_whole.r[8].len, 20000 + 4);
}

/* A malformed packet in the middle: every feeding stops at the same packet with the same
 * error, after the same good packets. */
TEST(split_feeding_stops_at_the_same_malformed_packet) {
    static const char *const pk[] = {
        "c0 00",
        "32 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f",
        "36 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f", /* QoS 3 */
        "c0 00",
    };
    size_t n = stream_of(pk, 4, stream, sizeof stream, NULL);
    CHECK_INT(check_splits(stream, n, MQWS_MQTT_311, 0), 3);
    CHECK_INT(fr_whole.r[2].rc, MQWS_EMALFORMED);
}

/* The maximum packet size stops every feeding at the same packet, before its body arrives. */
TEST(split_feeding_max_packet_size) {
    static const char *const pk[] = {
        "c0 00",
        "30 0a 00 03 61 2f 62 68 65 6c 6c 6f",
        "30 0b 00 03 61 2f 62 68 65 6c 6c 6f 21",
        "c0 00",
    };
    size_t n = stream_of(pk, 4, stream, sizeof stream, NULL);
    CHECK_INT(check_splits(stream, n, MQWS_MQTT_311, 12), 3);
    CHECK_INT(fr_whole.r[1].rc, MQWS_OK);
    CHECK_INT(fr_whole.r[2].rc, MQWS_ETOOBIG);
}

/* A garbage header (5-byte remaining length) stops every feeding identically. */
TEST(split_feeding_bad_remaining_length) {
    static const char *const pk[] = {"d0 00", "30 80 80 80 80 01 00"};
    size_t n = stream_of(pk, 2, stream, sizeof stream, NULL);
    CHECK_INT(check_splits(stream, n, MQWS_MQTT_5, 0), 2);
    CHECK_INT(fr_whole.r[1].rc, MQWS_EMALFORMED);
}

/* Random valid packets of every type, built as structs and encoded, then fed as one stream:
 * each decodes back to its own encoding however the stream is split. */
static size_t gen_packet(uint64_t *st, uint8_t level, uint8_t *out, size_t cap) {
    static const char *const topics[] = {"a", "a/b", "sensors/x/temp", "$SYS/uptime", "t/\xc3\xa9"};
    static const char *const filters[] = {"a/+", "#", "b/#", "+/x/+", "c"};
    static uint8_t payload[3000];
    static mqws_subscription subs[4];
    static mqws_view filt[4];
    static const uint8_t codes5[] = {0x00, 0x01, 0x02, 0x80, 0x87};
    static uint8_t rcs[4];
    static const mqws_user_prop up[2] = {{{(const uint8_t *)"k", 1}, {(const uint8_t *)"v", 1}},
                                         {{(const uint8_t *)"k", 1}, {(const uint8_t *)"w", 1}}};
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)testlib_rand(st);
    mqws_packet p;
    int types5[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    int ntypes = level == MQWS_MQTT_5 ? 14 : 13;
    int type = types5[testlib_rand_below(st, (size_t)ntypes)];
    mqws_packet_init(&p, type);
    uint16_t id = (uint16_t)(1 + testlib_rand_below(st, 65535));
    int v5 = level == MQWS_MQTT_5;
    size_t n = 1 + testlib_rand_below(st, 4);
    switch (type) {
        case MQWS_PKT_CONNACK:
            /* 3.1 has no Session Present flag (the byte is reserved). */
            p.session_present = level == MQWS_MQTT_31 ? 0 : (uint8_t)testlib_rand_below(st, 2);
            break;
        case MQWS_PKT_PUBLISH:
            p.topic = mqws_view_cstr(topics[testlib_rand_below(st, 5)]);
            p.qos = (uint8_t)testlib_rand_below(st, 3);
            p.retain = (uint8_t)testlib_rand_below(st, 2);
            p.dup = p.qos ? (uint8_t)testlib_rand_below(st, 2) : 0;
            p.packet_id = p.qos ? id : 0;
            p.payload.ptr = payload;
            p.payload.len = testlib_rand_below(st, sizeof payload);
            if (v5 && testlib_rand_below(st, 2)) {
                p.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL | MQWS_PROPF_USER_PROPERTY;
                p.props.message_expiry = (uint32_t)testlib_rand(st);
                p.props.user_props = up;
                p.props.user_prop_count = 2;
            }
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            p.packet_id = id;
            if (v5 && testlib_rand_below(st, 2)) {
                p.reason_code = (type == MQWS_PKT_PUBREL || type == MQWS_PKT_PUBCOMP) ? 0x92 : 0x10;
                p.props.present = MQWS_PROPF_REASON_STRING;
                p.props.reason_string = mqws_view_cstr("why");
            }
            break;
        case MQWS_PKT_SUBSCRIBE:
            p.packet_id = id;
            for (size_t i = 0; i < n; i++) {
                memset(&subs[i], 0, sizeof subs[i]);
                subs[i].filter = mqws_view_cstr(filters[testlib_rand_below(st, 5)]);
                subs[i].qos = (uint8_t)testlib_rand_below(st, 3);
                if (v5) {
                    subs[i].no_local = (uint8_t)testlib_rand_below(st, 2);
                    subs[i].retain_as_published = (uint8_t)testlib_rand_below(st, 2);
                    subs[i].retain_handling = (uint8_t)testlib_rand_below(st, 3);
                }
            }
            p.subs = subs;
            p.entry_count = (uint32_t)n;
            break;
        case MQWS_PKT_UNSUBSCRIBE:
            p.packet_id = id;
            for (size_t i = 0; i < n; i++)
                filt[i] = mqws_view_cstr(filters[testlib_rand_below(st, 5)]);
            p.unsub_filters = filt;
            p.entry_count = (uint32_t)n;
            break;
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            p.packet_id = id;
            if (type == MQWS_PKT_UNSUBACK && !v5)
                break;
            for (size_t i = 0; i < n; i++)
                /* 3.1 SUBACK grants 0..2 only; 0x80 came with 3.1.1. */
                rcs[i] = type == MQWS_PKT_SUBACK
                             ? codes5[testlib_rand_below(st, v5                       ? 5
                                                             : level == MQWS_MQTT_311 ? 4
                                                                                      : 3)]
                             : (uint8_t)(testlib_rand_below(st, 2) ? 0x11 : 0);
            p.reason_codes.ptr = rcs;
            p.reason_codes.len = n;
            break;
        case MQWS_PKT_DISCONNECT:
            if (v5)
                p.reason_code = testlib_rand_below(st, 2) ? 0x04 : 0x00;
            break;
        case MQWS_PKT_AUTH:
            p.reason_code = 0x18;
            p.props.present = MQWS_PROPF_AUTHENTICATION_METHOD;
            p.props.auth_method = mqws_view_cstr("m");
            break;
        default:
            break;
    }
    size_t w = 0;
    int rc = mqws_encode(&p, level, out, cap, &w);
    if (rc != MQWS_OK)
        testlib_fail(__FILE__, __LINE__, "generated %s at level %d: rc %d",
                     mqws_packet_type_name(type), level, rc);
    return w;
}

TEST(split_feeding_generated_stream) {
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311, MQWS_MQTT_5};
    for (size_t l = 0; l < 3; l++) {
        uint64_t st = 0x1234567 + l;
        size_t n = 0, lens[64], k;
        for (k = 0; k < 60; k++) {
            lens[k] = gen_packet(&st, levels[l], stream + n, sizeof stream - n);
            n += lens[k];
        }
        CHECK_INT(check_splits(stream, n, levels[l], 0), k);
        size_t off = 0;
        for (size_t i = 0; i < fr_whole.count; i++) {
            CHECK_INT(fr_whole.r[i].rc, MQWS_OK);
            CHECK_MEM(fr_whole.r[i].bytes, fr_whole.r[i].nbytes, stream + off, lens[i]);
            off += lens[i];
        }
    }
}

int main(void) {
    RUN(frame_empty_input_needs_more);
    RUN(frame_need_more_is_exact_once_the_header_is_known);
    RUN(frame_ready_with_following_bytes);
    RUN(frame_remaining_length_boundaries);
    RUN(mqtt_1_5_5_1_non_minimal_remaining_length_is_malformed);
    RUN(mqtt_2_1_4_remaining_length_over_four_bytes_is_malformed);
    RUN(mqtt_2_1_2_packet_type_0_is_malformed);
    RUN(frame_does_not_check_flags);
    RUN(frame_max_packet_size_decided_from_the_header_alone);
    RUN(frame_max_packet_size_on_a_complete_packet);
    RUN(decode_length_must_match_the_fixed_header);
    RUN(split_feeding_mqtt_31_stream);
    RUN(split_feeding_mqtt_311_stream);
    RUN(split_feeding_mqtt_5_stream);
    RUN(split_feeding_long_packets);
    RUN(split_feeding_stops_at_the_same_malformed_packet);
    RUN(split_feeding_max_packet_size);
    RUN(split_feeding_bad_remaining_length);
    RUN(split_feeding_generated_stream);
    return testlib_finish();
}
