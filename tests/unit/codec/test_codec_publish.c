/* PUBLISH and its acknowledgements (MQTT 5 §3.3-3.7, MQTT 3.1.1 §3.3-3.7, MQTT 3.1).
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------------------- */
/* Round trips */

TEST(publish_round_trips_every_level) {
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311};
    for (size_t i = 0; i < 2; i++) {
        uint8_t lv = levels[i];
        mqws_packet p;
        DECODE_OK("30 0a 00 03 61 2f 62 68 65 6c 6c 6f", lv, 0, &p);
        CHECK_INT(p.qos, 0);
        CHECK_INT(p.dup, 0);
        CHECK_INT(p.retain, 0);
        CHECK_VIEW(p.topic, "a/b");
        CHECK_VIEW(p.payload, "hello");
        DECODE_OK("32 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f", lv, 0, &p);
        CHECK_INT(p.qos, 1);
        CHECK_INT(p.packet_id, 1);
        DECODE_OK("3d 0c 00 03 61 2f 62 ff fe 68 65 6c 6c 6f", lv, 0, &p);
        CHECK_INT(p.qos, 2);
        CHECK_INT(p.dup, 1);
        CHECK_INT(p.retain, 1);
        CHECK_INT(p.packet_id, 0xfffe);
        /* Empty payload (a retained-message delete), QoS 0 and 1. */
        DECODE_OK("31 03 00 01 74", lv, 0, &p);
        CHECK_INT(p.payload.len, 0);
        CHECK_INT(p.retain, 1);
        DECODE_OK("32 05 00 01 74 00 09", lv, 0, &p);
        CHECK_INT(p.payload.len, 0);
    }
    mqws_packet p;
    DECODE_OK("30 06 00 03 61 2f 62 00", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.props.present, 0);
    CHECK_INT(p.payload.len, 0);
    DECODE_OK("3b 08 00 03 61 2f 62 00 07 00", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.qos, 1);
    CHECK_INT(p.dup, 1);
    CHECK_INT(p.retain, 1);
    CHECK_INT(p.packet_id, 7);
}

/* Every PUBLISH property, repeated user properties (order kept [MQTT-3.3.2-18]) and two
 * subscription identifiers, as a server sends it. */
TEST(publish_5_all_properties_round_trip) {
    mqws_packet p;
    DECODE_OK("35 3d 00 01 61 01 02 36 01 00 02 00 00 00 01 03 00 02 63 74 08 00 03 72 2f 31 09 "
              "00 02 00 01 0b 01 0b ff ff ff 7f 23 00 03 26 00 01 6b 00 01 31 26 00 01 6b 00 01 "
              "32 26 00 01 6a 00 01 33 70",
              MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.qos, 2);
    CHECK_INT(p.retain, 1);
    CHECK_INT(p.packet_id, 258);
    CHECK_VIEW(p.payload, "p");
    const mqws_props *pr = &p.props;
    CHECK_INT(pr->payload_format, 0);
    CHECK_INT(pr->message_expiry, 1);
    CHECK_VIEW(pr->content_type, "ct");
    CHECK_VIEW(pr->response_topic, "r/1");
    CHECK_MEM(pr->correlation_data.ptr, pr->correlation_data.len, "\x00\x01", 2);
    CHECK_INT(pr->topic_alias, 3);
    CHECK_INT(pr->sub_id_count, 2);
    CHECK_INT(pr->subscription_id, 1);
    CHECK_INT(pr->user_prop_count, 3);
    CHECK(pr->user_props == NULL);
    CHECK(pr->sub_ids == NULL);
    mqws_prop_iter it;
    uint32_t id;
    mqws_props_iter_init(pr, &it);
    CHECK(mqws_props_next_sub_id(&it, &id));
    CHECK_INT(id, 1);
    CHECK(mqws_props_next_sub_id(&it, &id));
    CHECK_INT(id, 268435455);
    CHECK(!mqws_props_next_sub_id(&it, &id));
    static const char *const want[3][2] = {{"k", "1"}, {"k", "2"}, {"j", "3"}};
    mqws_view k, v;
    mqws_props_iter_init(pr, &it);
    for (int i = 0; i < 3; i++) {
        CHECK(mqws_props_next_user(&it, &k, &v));
        CHECK_VIEW(k, want[i][0]);
        CHECK_VIEW(v, want[i][1]);
    }
    CHECK(!mqws_props_next_user(&it, &k, &v));
    /* The generic iterator walks all 11 properties in wire order. */
    static const uint8_t ids[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x0b, 0x23, 0x26, 0x26, 0x26};
    mqws_prop pp;
    mqws_props_iter_init(pr, &it);
    for (size_t i = 0; i < sizeof ids; i++) {
        CHECK(mqws_props_next(&it, &pp));
        CHECK_INT(pp.id, ids[i]);
        if (i == 6)
            CHECK_INT(pp.u32, 268435455);
        if (i == 10) {
            CHECK_VIEW(pp.a, "j");
            CHECK_VIEW(pp.b, "3");
        }
    }
    CHECK(!mqws_props_next(&it, &pp));
}

TEST(publish_encode_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a/b");
    p.payload = mqws_view_cstr("hello");
    ENCODE_EQ(&p, MQWS_MQTT_311, "30 0a 00 03 61 2f 62 68 65 6c 6c 6f");
    ENCODE_EQ(&p, MQWS_MQTT_31, "30 0a 00 03 61 2f 62 68 65 6c 6c 6f");
    ENCODE_EQ(&p, MQWS_MQTT_5, "30 0b 00 03 61 2f 62 00 68 65 6c 6c 6f");
    p.qos = 1;
    p.dup = 1;
    p.retain = 1;
    p.packet_id = 0x1234;
    ENCODE_EQ(&p, MQWS_MQTT_311, "3b 0c 00 03 61 2f 62 12 34 68 65 6c 6c 6f");
    p.qos = 2;
    p.dup = 0;
    p.retain = 0;
    ENCODE_EQ(&p, MQWS_MQTT_5, "34 0d 00 03 61 2f 62 12 34 00 68 65 6c 6c 6f");
}

TEST(publish_encode_5_properties_from_arrays) {
    static const uint8_t corr[] = {0, 1};
    static const mqws_user_prop up[3] = {
        {{(const uint8_t *)"k", 1}, {(const uint8_t *)"1", 1}},
        {{(const uint8_t *)"k", 1}, {(const uint8_t *)"2", 1}},
        {{(const uint8_t *)"j", 1}, {(const uint8_t *)"3", 1}},
    };
    static const uint32_t sids[2] = {1, 268435455};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a");
    p.payload = mqws_view_cstr("p");
    p.qos = 2;
    p.retain = 1;
    p.packet_id = 258;
    mqws_props *pr = &p.props;
    mqws_props_init(pr);
    pr->present = MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR | MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL |
                  MQWS_PROPF_CONTENT_TYPE | MQWS_PROPF_RESPONSE_TOPIC |
                  MQWS_PROPF_CORRELATION_DATA | MQWS_PROPF_SUBSCRIPTION_IDENTIFIER |
                  MQWS_PROPF_TOPIC_ALIAS | MQWS_PROPF_USER_PROPERTY;
    pr->payload_format = 0;
    pr->message_expiry = 1;
    pr->content_type = mqws_view_cstr("ct");
    pr->response_topic = mqws_view_cstr("r/1");
    pr->correlation_data.ptr = corr;
    pr->correlation_data.len = 2;
    pr->topic_alias = 3;
    pr->user_props = up;
    pr->user_prop_count = 3;
    pr->sub_ids = sids;
    pr->sub_id_count = 2;
    ENCODE_EQ(&p, MQWS_MQTT_5,
              "35 3d 00 01 61 01 02 36 01 00 02 00 00 00 01 03 00 02 63 74 08 00 03 72 2f 31 09 "
              "00 02 00 01 0b 01 0b ff ff ff 7f 23 00 03 26 00 01 6b 00 01 31 26 00 01 6b 00 01 "
              "32 26 00 01 6a 00 01 33 70");
    /* One subscription identifier from the single-valued field. */
    pr->sub_ids = NULL;
    pr->sub_id_count = 0;
    pr->user_props = NULL;
    pr->user_prop_count = 0;
    pr->subscription_id = 300;
    pr->present = MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
    ENCODE_EQ(&p, MQWS_MQTT_5, "35 0a 00 01 61 01 02 03 0b ac 02 70");
    /* Properties are not written at 3.1.1. */
    ENCODE_EQ(&p, MQWS_MQTT_311, "35 06 00 01 61 01 02 70");
}

/* The iovec form keeps the payload out of the header buffer; a large payload needs a 3-byte
 * remaining length. */
TEST(publish_iov_equals_encode_for_a_large_payload) {
    static uint8_t payload[20000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 31);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("big/topic");
    p.payload.ptr = payload;
    p.payload.len = sizeof payload;
    p.qos = 1;
    p.packet_id = 5;
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311, MQWS_MQTT_5};
    for (size_t l = 0; l < 3; l++) {
        static uint8_t full[20100];
        uint8_t hdr[64];
        size_t w = 0, sz = 0;
        CHECK_INT(mqws_encoded_size(&p, levels[l], &sz), MQWS_OK);
        CHECK_INT(mqws_encode(&p, levels[l], full, sizeof full, &w), MQWS_OK);
        CHECK_INT(w, sz);
        mqws_iovec iov[2];
        CHECK_INT(mqws_encode_publish_iov(&p, levels[l], hdr, sizeof hdr, iov), MQWS_OK);
        CHECK(iov[1].base == (const void *)payload);
        CHECK_INT(iov[1].len, sizeof payload);
        CHECK_INT(iov[0].len + iov[1].len, w);
        CHECK_MEM(iov[0].base, iov[0].len, full, iov[0].len);
        CHECK_INT(full[1] & 0x80, 0x80); /* multi-byte remaining length */
        DECODE_OK_BYTES(cu_keep(full, w), w, levels[l], 0, NULL);
    }
}

/* "Bytes mqws_encode() would write ... MQWS_ETOOBIG (more than the protocol maximum)". */
TEST(publish_encoded_size_too_big) {
    static const uint8_t dummy[8];
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("t");
    p.payload.ptr = dummy;
    p.payload.len = MQWS_VARINT_MAX;
    size_t sz = 0;
    CHECK_INT(mqws_encoded_size(&p, MQWS_MQTT_311, &sz), MQWS_ETOOBIG);
    p.payload.len = MQWS_VARINT_MAX - 3; /* topic 3 bytes: exactly the maximum */
    CHECK_INT(mqws_encoded_size(&p, MQWS_MQTT_311, &sz), MQWS_OK);
    CHECK_INT(sz, MQWS_MAX_PACKET_SIZE);
    uint8_t buf[16];
    size_t w;
    mqws_iovec iov[2];
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_ENOSPC);
    /* One byte more than the protocol allows: ETOOBIG from every encoder. */
    p.payload.len = MQWS_VARINT_MAX - 2;
    CHECK_INT(mqws_encoded_size(&p, MQWS_MQTT_311, &sz), MQWS_ETOOBIG);
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_ETOOBIG);
    CHECK_INT(mqws_encode_publish_iov(&p, MQWS_MQTT_311, buf, sizeof buf, iov), MQWS_ETOOBIG);
    /* At 5.0 the property length byte counts too. */
    p.payload.len = MQWS_VARINT_MAX - 3;
    CHECK_INT(mqws_encoded_size(&p, MQWS_MQTT_5, &sz), MQWS_ETOOBIG);
}

/* ---------------------------------------------------------------------------------------- */
/* PUBLISH statements */

/* [MQTT-3.3.1-4] A PUBLISH Packet MUST NOT have both QoS bits set to 1: Malformed. */
TEST(mqtt_3_3_1_4_qos_3_is_malformed) {
    MALFORMED("36 07 00 03 61 2f 62 00 01", MQWS_MQTT_311, "MQTT-3.3.1-4");
    MALFORMED("37 07 00 03 61 2f 62 00 01", MQWS_MQTT_311, "MQTT-3.3.1-4");
    MALFORMED("3e 08 00 03 61 2f 62 00 01 00", MQWS_MQTT_5, "MQTT-3.3.1-4");
    MALFORMED("36 07 00 03 61 2f 62 00 01", MQWS_MQTT_31, "MQTT-3.3.1-4");
    /* Encoding one is refused too. */
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("t");
    p.qos = 3;
    p.packet_id = 1;
    uint8_t buf[32];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
    mqws_iovec iov[2];
    CHECK_INT(mqws_encode_publish_iov(&p, MQWS_MQTT_5, buf, sizeof buf, iov), MQWS_EINVAL);
}

/* [MQTT-3.3.1-2] The DUP flag MUST be set to 0 for all QoS 0 messages. */
TEST(mqtt_3_3_1_2_dup_with_qos_0) {
    REJECTED("38 05 00 03 61 2f 62", MQWS_MQTT_311, "MQTT-3.3.1-2");
    REJECTED("38 06 00 03 61 2f 62 00", MQWS_MQTT_5, "MQTT-3.3.1-2");
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("t");
    p.dup = 1;
    uint8_t buf[32];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* [MQTT-3.3.2-1] The Topic Name MUST be present and a UTF-8 Encoded String. */
TEST(mqtt_3_3_2_1_topic_name_must_be_utf8) {
    MALFORMED("30 05 00 02 c3 28 78", MQWS_MQTT_311, "MQTT-3.3.2-1|MQTT-1.5.3-1");
    MALFORMED("30 06 00 02 c3 28 00 78", MQWS_MQTT_5, "MQTT-3.3.2-1|MQTT-1.5.4-1");
    MALFORMED("30 07 00 03 ed b0 80 00 78", MQWS_MQTT_5, "MQTT-3.3.2-1|MQTT-1.5.4-1");
    MALFORMED("30 05 00 02 61 00 78", MQWS_MQTT_311, "MQTT-1.5.3-2");
    MALFORMED("30 06 00 02 61 00 00 78", MQWS_MQTT_5, "MQTT-1.5.4-2");
    /* Truncated topic, missing topic. */
    MALFORMED("30 04 00 05 61 62", MQWS_MQTT_311, NULL);
    MALFORMED("30 01 00", MQWS_MQTT_311, NULL);
    MALFORMED("30 00", MQWS_MQTT_311, NULL);
}

/* [MQTT-1.5.4-1] well-formed UTF-8 only: code points above U+10FFFF, overlong forms, stray
 * continuation bytes and truncated sequences are malformed ... */
TEST(mqtt_1_5_4_1_ill_formed_utf8_in_topic) {
    static const char *const bad[] = {
        "30 07 00 04 f4 90 80 80 00",    /* U+110000 */
        "30 06 00 03 e0 80 af 00",       /* overlong '/' */
        "30 08 00 05 f8 88 80 80 80 00", /* 5-byte form */
        "30 04 00 01 80 00",             /* lone continuation byte */
        "30 05 00 02 e2 82 00",          /* truncated 3-byte sequence */
        "30 04 00 01 fe 00",
        "30 06 00 03 ed bf bf 00", /* U+DFFF */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        MALFORMED(bad[i], MQWS_MQTT_5, "MQTT-3.3.2-1|MQTT-1.5.4-1");
}

/* ... but the code points the spec only discourages (controls, non-characters, U+FEFF) are a
 * receiver's choice (MAY close, §1.5.4): the codec accepts them. */
TEST(mqtt_1_5_4_discouraged_code_points_are_accepted) {
    DECODE_OK("30 05 00 02 61 01 00", MQWS_MQTT_5, 0, NULL);       /* U+0001 */
    DECODE_OK("30 06 00 03 ef bf bf 00", MQWS_MQTT_5, 0, NULL);    /* U+FFFF */
    DECODE_OK("30 06 00 03 ef bb bf 00", MQWS_MQTT_5, 0, NULL);    /* U+FEFF */
    DECODE_OK("30 05 00 02 c2 9f 00", MQWS_MQTT_5, 0, NULL);       /* U+009F */
    DECODE_OK("30 07 00 04 f4 8f bf bf 00", MQWS_MQTT_5, 0, NULL); /* U+10FFFF */
}

/* [MQTT-4.7.3-3] Topic Names are at most 65,535 bytes: the longest one decodes and re-encodes. */
TEST(mqtt_4_7_3_3_longest_topic_name) {
    static uint8_t b[65535 + 16];
    size_t n = 0;
    b[n++] = 0x30;
    n += (size_t)mqws_varint_encode(2 + 65535 + 1, b + n);
    b[n++] = 0xff;
    b[n++] = 0xff;
    for (size_t i = 0; i < 65535; i++)
        b[n++] = (uint8_t)('a' + i % 26);
    b[n++] = 'x';
    mqws_packet p;
    DECODE_OK_BYTES(cu_keep(b, n), n, MQWS_MQTT_311, 0, &p);
    CHECK_INT(p.topic.len, 65535);
    CHECK_INT(p.payload.len, 1);
    /* One byte more does not fit the length field: the encoder refuses it. */
    static uint8_t big[65536];
    memset(big, 'a', sizeof big);
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic.ptr = big;
    p.topic.len = sizeof big;
    size_t sz;
    CHECK_INT(mqws_encoded_size(&p, MQWS_MQTT_311, &sz), MQWS_EINVAL);
}

/* Every topic length from 1 to 40 with one offending byte at every position (the decoder checks
 * text a word at a time: its edges must not let anything through), and the same lengths with a
 * multi-byte character at every position accepted. */
static void topic_packet(cu_buf *o, uint8_t level, const uint8_t *t, size_t n) {
    cu_buf b = {.n = 0};
    cu_put_u8(&b, (uint8_t)(n >> 8));
    cu_put_u8(&b, (uint8_t)n);
    cu_put(&b, t, n);
    if (level == MQWS_MQTT_5)
        cu_put_u8(&b, 0);
    cu_put_hex(&b, "70");
    cu_packet(o, 0x30, b.b, b.n);
}

TEST(mqtt_3_3_2_2_topic_checks_at_every_position) {
    static const struct {
        uint8_t byte;
        int code;
        const char *stmt;
    } bad[] = {
        {'+', 0, "MQTT-3.3.2-2"},
        {'#', 0, "MQTT-3.3.2-2"},
        {0x00, MQWS_EMALFORMED, "MQTT-1.5.4-2|MQTT-1.5.3-2"},
        {0x80, MQWS_EMALFORMED, "MQTT-3.3.2-1|MQTT-1.5.4-1|MQTT-1.5.3-1"},
        {0xff, MQWS_EMALFORMED, "MQTT-3.3.2-1|MQTT-1.5.4-1|MQTT-1.5.3-1"},
        {0xc3, MQWS_EMALFORMED, "MQTT-3.3.2-1|MQTT-1.5.4-1|MQTT-1.5.3-1"},
    };
    static const uint8_t levels[] = {MQWS_MQTT_311, MQWS_MQTT_5};
    for (size_t l = 0; l < 2; l++) {
        for (size_t n = 1; n <= 40; n++) {
            uint8_t t[48];
            memset(t, 'a', n);
            cu_buf o;
            topic_packet(&o, levels[l], t, n);
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, levels[l], 0, NULL);
            for (size_t pos = 0; pos < n; pos++) {
                for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                    memset(t, 'a', n);
                    t[pos] = bad[k].byte;
                    topic_packet(&o, levels[l], t, n);
                    if (cu_decode_err(__FILE__, __LINE__, o.b, o.n, levels[l], 0, bad[k].code,
                                      bad[k].stmt, NULL) >= 0)
                        fprintf(stderr, "  length %zu, byte 0x%02x at %zu\n", n, bad[k].byte, pos);
                }
                /* "é" (c3 a9) starting here is fine. */
                if (pos + 1 < n) {
                    memset(t, 'a', n);
                    t[pos] = 0xc3;
                    t[pos + 1] = 0xa9;
                    topic_packet(&o, levels[l], t, n);
                    DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, levels[l], 0, NULL);
                }
            }
        }
    }
}

/* [MQTT-3.3.2-2] The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters. */
TEST(mqtt_3_3_2_2_topic_name_wildcards) {
    REJECTED("30 05 00 03 61 2f 23", MQWS_MQTT_311, "MQTT-3.3.2-2");
    REJECTED("30 05 00 03 61 2f 2b", MQWS_MQTT_311, "MQTT-3.3.2-2");
    REJECTED("30 03 00 01 2b", MQWS_MQTT_311, "MQTT-3.3.2-2");
    REJECTED("30 0b 00 09 61 62 63 64 65 66 67 68 23", MQWS_MQTT_311, "MQTT-3.3.2-2");
    REJECTED("30 06 00 03 2b 2f 62 00", MQWS_MQTT_5, "MQTT-3.3.2-2");
    REJECTED("30 05 00 03 61 2f 23", MQWS_MQTT_31, "MQTT-3.3.2-2");
    /* '$' topics and other punctuation are names, not wildcards. */
    DECODE_OK("30 06 00 04 24 53 59 53", MQWS_MQTT_311, 0, NULL);
    /* mqws_validate applies the rule to a packet about to be encoded. */
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a/#");
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    CHECK(mqws_validate(&p, MQWS_MQTT_311, 0, &e) < 0);
    CHECK_STR(e.statement, "MQTT-3.3.2-2");
    p.topic.ptr = (const uint8_t *)"a\xc3";
    p.topic.len = 2;
    CHECK_INT(mqws_validate(&p, MQWS_MQTT_5, 0, &e), MQWS_EMALFORMED);
}

/* [MQTT-4.7.3-1] Topic Names MUST be at least one character long (3.1.1); in 5.0 an empty
 * Topic Name is allowed only with a Topic Alias, otherwise a Protocol Error (§3.3.2.1). */
TEST(mqtt_4_7_3_1_empty_topic_name) {
    REJECTED("30 02 00 00", MQWS_MQTT_311, "MQTT-4.7.3-1");
    REJECTED("30 04 00 00 00 78", MQWS_MQTT_5, NULL);
    mqws_packet p;
    DECODE_OK("30 07 00 00 03 23 00 01 78", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.topic.len, 0);
    CHECK_INT(p.props.topic_alias, 1);
}

/* [MQTT-2.2.1-3] (3.1.1 [MQTT-2.3.1-1]) PUBLISH with QoS > 0 needs a non-zero Packet
 * Identifier. */
TEST(mqtt_2_2_1_3_publish_packet_id_0) {
    REJECTED("32 07 00 03 61 2f 62 00 00", MQWS_MQTT_311, "MQTT-2.3.1-1");
    REJECTED("34 07 00 03 61 2f 62 00 00", MQWS_MQTT_311, "MQTT-2.3.1-1");
    REJECTED("32 08 00 03 61 2f 62 00 00 00", MQWS_MQTT_5, "MQTT-2.2.1-3");
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("t");
    p.qos = 1;
    uint8_t buf[32];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* [MQTT-2.2.1-2] (3.1.1 [MQTT-2.3.1-5]) A QoS 0 PUBLISH MUST NOT contain a Packet Identifier:
 * the encoder writes none (or refuses the packet). */
TEST(mqtt_2_2_1_2_qos_0_has_no_packet_id) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("t");
    p.payload = mqws_view_cstr("x");
    p.packet_id = 77;
    uint8_t buf[32];
    size_t w = 0;
    int rc = mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w);
    CHECK(rc == MQWS_EINVAL || rc == MQWS_OK);
    if (rc == MQWS_OK)
        CHECK_MEM(buf, w, "\x30\x04\x00\x01tx", 6);
    /* Decoding: the two bytes after the topic are payload. */
    DECODE_OK("30 06 00 01 74 00 4d 78", MQWS_MQTT_311, 0, &p);
    CHECK_INT(p.payload.len, 3);
}

/* QoS > 0 needs room for the packet identifier; 5.0 needs the property length. */
TEST(mqtt_3_3_2_truncated_variable_header_is_malformed) {
    MALFORMED("32 05 00 03 61 2f 62", MQWS_MQTT_311, NULL);
    MALFORMED("32 06 00 03 61 2f 62 00", MQWS_MQTT_311, NULL);
    MALFORMED("30 05 00 03 61 2f 62", MQWS_MQTT_5, NULL);
    MALFORMED("32 07 00 03 61 2f 62 00 01", MQWS_MQTT_5, NULL);
    /* Property length past the end. */
    MALFORMED("30 07 00 03 61 2f 62 05 01", MQWS_MQTT_5, NULL);
}

/* [MQTT-3.3.4-6] A PUBLISH sent from a Client to a Server MUST NOT contain a Subscription
 * Identifier. A client receives them (FROM_SERVER). */
TEST(mqtt_3_3_4_6_subscription_id_from_client) {
    DECODE_ERR("30 07 00 01 74 02 0b 01 78", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO,
               "MQTT-3.3.4-6");
    mqws_packet p;
    DECODE_OK("30 07 00 01 74 02 0b 01 78", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.props.subscription_id, 1);
    /* mqws_validate with the client direction. */
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    CHECK_INT(mqws_validate(&p, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &e), MQWS_EPROTO);
    CHECK_STR(e.statement, "MQTT-3.3.4-6");
}

/* The Subscription Identifier is 1..268,435,455: 0 is a Protocol Error (§3.3.2.3.8). */
TEST(mqtt5_3_3_2_3_8_subscription_id_0) {
    DECODE_ERR("30 07 00 01 74 02 0b 00 78", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO,
               NULL);
}

/* [MQTT-3.3.2-8] A Topic Alias of 0 is not permitted. */
TEST(mqtt_3_3_2_8_topic_alias_0) {
    REJECTED("30 08 00 01 74 03 23 00 00 78", MQWS_MQTT_5, "MQTT-3.3.2-8");
    REJECTED("30 0b 00 01 74 06 23 00 01 23 00 02 78", MQWS_MQTT_5, NULL); /* twice */
}

/* [MQTT-3.3.2-13] The Response Topic MUST be a UTF-8 Encoded String. */
TEST(mqtt_3_3_2_13_response_topic_must_be_utf8) {
    MALFORMED("30 09 00 01 74 04 08 00 01 ff 78", MQWS_MQTT_5, "MQTT-3.3.2-13|MQTT-1.5.4-1");
}

/* [MQTT-3.3.2-14] The Response Topic MUST NOT contain wildcard characters. */
TEST(mqtt_3_3_2_14_response_topic_wildcards) {
    REJECTED("30 09 00 01 74 04 08 00 01 23 78", MQWS_MQTT_5, "MQTT-3.3.2-14");
    REJECTED("30 0b 00 01 74 06 08 00 03 61 2f 2b 78", MQWS_MQTT_5, "MQTT-3.3.2-14");
}

/* [MQTT-3.3.2-19] The Content Type MUST be a UTF-8 Encoded String. */
TEST(mqtt_3_3_2_19_content_type_must_be_utf8) {
    MALFORMED("30 09 00 01 74 04 03 00 01 c0 78", MQWS_MQTT_5, "MQTT-3.3.2-19|MQTT-1.5.4-1");
    MALFORMED("30 09 00 01 74 04 03 00 01 00 78", MQWS_MQTT_5, "MQTT-1.5.4-2");
}

/* The Payload Format Indicator is 0 or 1 (§3.3.2.3.2). The payload itself is not checked
 * against it: a receiver MAY do so (0x99), the codec leaves it to the host. */
TEST(mqtt5_3_3_2_3_2_payload_format_indicator) {
    REJECTED("30 07 00 01 74 02 01 02 78", MQWS_MQTT_5, NULL);
    DECODE_OK("30 07 00 01 74 02 01 01 ff", MQWS_MQTT_5, 0, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* PUBACK, PUBREC, PUBREL, PUBCOMP */

static const uint8_t ack_types[4] = {MQWS_PKT_PUBACK, MQWS_PKT_PUBREC, MQWS_PKT_PUBREL,
                                     MQWS_PKT_PUBCOMP};

static uint8_t ack_first(uint8_t type) {
    return (uint8_t)(type << 4 | (type == MQWS_PKT_PUBREL ? 2 : 0));
}

TEST(pub_acks_round_trip_every_level) {
    for (size_t i = 0; i < 4; i++) {
        uint8_t f = ack_first(ack_types[i]);
        uint8_t b2[] = {f, 0x02, 0x12, 0x34};
        mqws_packet p;
        DECODE_OK_BYTES(cu_keep(b2, 4), 4, MQWS_MQTT_31, 0, &p);
        DECODE_OK_BYTES(cu_keep(b2, 4), 4, MQWS_MQTT_311, 0, &p);
        CHECK_INT(p.packet_id, 0x1234);
        DECODE_OK_BYTES(cu_keep(b2, 4), 4, MQWS_MQTT_5, 0, &p);
        CHECK_INT(p.packet_id, 0x1234);
        CHECK_INT(p.reason_code, 0);
        CHECK_INT(p.props.present, 0);
        /* 5.0: reason code with and without properties. */
        uint8_t rc =
            ack_types[i] == MQWS_PKT_PUBREL || ack_types[i] == MQWS_PKT_PUBCOMP ? 0x92 : 0x80;
        uint8_t b3[] = {f, 0x03, 0x00, 0x01, rc};
        DECODE_OK_BYTES(cu_keep(b3, 5), 5, MQWS_MQTT_5, 0, &p);
        CHECK_INT(p.reason_code, rc);
        uint8_t b8[] = {f,    0x0f, 0x00, 0x01, rc,   0x0b, 0x1f, 0x00, 0x01,
                        0x78, 0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76};
        DECODE_OK_BYTES(cu_keep(b8, sizeof b8), sizeof b8, MQWS_MQTT_5, 0, &p);
        CHECK_VIEW(p.props.reason_string, "x");
        CHECK_INT(p.props.user_prop_count, 1);
        /* Reason code 0 with empty properties written out: accepted, not canonical. */
        uint8_t b4[] = {f, 0x04, 0x00, 0x01, 0x00, 0x00};
        cu_decode_ok(__FILE__, __LINE__, cu_keep(b4, 6), 6, MQWS_MQTT_5, 0, 0, &p);
        uint8_t b3z[] = {f, 0x03, 0x00, 0x01, 0x00};
        cu_decode_ok(__FILE__, __LINE__, cu_keep(b3z, 5), 5, MQWS_MQTT_5, 0, 0, &p);
        uint8_t b4r[] = {f, 0x04, 0x00, 0x01, rc, 0x00};
        cu_decode_ok(__FILE__, __LINE__, cu_keep(b4r, 6), 6, MQWS_MQTT_5, 0, 0, &p);
        CHECK_INT(p.reason_code, rc);
    }
}

TEST(pub_acks_encode_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBREL);
    CHECK_INT(p.flags, 2);
    p.packet_id = 9;
    ENCODE_EQ(&p, MQWS_MQTT_311, "62 02 00 09");
    ENCODE_EQ(&p, MQWS_MQTT_5, "62 02 00 09");
    p.reason_code = MQWS_RC_PACKET_IDENTIFIER_NOT_FOUND;
    ENCODE_EQ(&p, MQWS_MQTT_5, "62 03 00 09 92");
    p.props.present = MQWS_PROPF_REASON_STRING;
    p.props.reason_string = mqws_view_cstr("gone");
    ENCODE_EQ(&p, MQWS_MQTT_5, "62 0b 00 09 92 07 1f 00 04 67 6f 6e 65");
    /* Reason 0 with a property keeps the reason byte. */
    p.reason_code = 0;
    ENCODE_EQ(&p, MQWS_MQTT_5, "62 0b 00 09 00 07 1f 00 04 67 6f 6e 65");
    mqws_packet_init(&p, MQWS_PKT_PUBACK);
    p.packet_id = 0xffff;
    ENCODE_EQ(&p, MQWS_MQTT_311, "40 02 ff ff");
    mqws_packet_init(&p, MQWS_PKT_PUBREC);
    p.packet_id = 1;
    p.reason_code = MQWS_RC_QUOTA_EXCEEDED;
    ENCODE_EQ(&p, MQWS_MQTT_5, "50 03 00 01 97");
    mqws_packet_init(&p, MQWS_PKT_PUBCOMP);
    p.packet_id = 2;
    ENCODE_EQ(&p, MQWS_MQTT_311, "70 02 00 02");
    /* Packet identifier 0 cannot be encoded. */
    p.packet_id = 0;
    uint8_t buf[16];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* 3.1.1: the acknowledgements are exactly two bytes long. */
TEST(mqtt311_pub_acks_length_is_2) {
    for (size_t i = 0; i < 4; i++) {
        uint8_t f = ack_first(ack_types[i]);
        uint8_t b3[] = {f, 0x03, 0x00, 0x01, 0x00};
        DECODE_ERR_BYTES(b3, 5, MQWS_MQTT_311, 0, MQWS_EMALFORMED, NULL);
        uint8_t b1[] = {f, 0x01, 0x00};
        DECODE_ERR_BYTES(b1, 3, MQWS_MQTT_311, 0, MQWS_EMALFORMED, NULL);
        DECODE_ERR_BYTES(b1, 3, MQWS_MQTT_5, 0, MQWS_EMALFORMED, NULL);
        uint8_t b0[] = {f, 0x00};
        DECODE_ERR_BYTES(b0, 2, MQWS_MQTT_5, 0, MQWS_EMALFORMED, NULL);
        /* 5.0: property length past the end, trailing bytes after the properties. */
        uint8_t b5[] = {f, 0x04, 0x00, 0x01, 0x00, 0x03};
        DECODE_ERR_BYTES(b5, 6, MQWS_MQTT_5, 0, MQWS_EMALFORMED, NULL);
        uint8_t b6[] = {f, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00};
        DECODE_ERR_BYTES(b6, 7, MQWS_MQTT_5, 0, MQWS_EMALFORMED, NULL);
    }
}

/* [MQTT-2.2.1-5] an acknowledgement carries the (non-zero) identifier of its PUBLISH. */
TEST(mqtt_2_2_1_5_pub_ack_packet_id_0) {
    for (size_t i = 0; i < 4; i++) {
        uint8_t f = ack_first(ack_types[i]);
        uint8_t b[] = {f, 0x02, 0x00, 0x00};
        DECODE_ERR_BYTES(b, 4, MQWS_MQTT_311, 0, 0, NULL);
        DECODE_ERR_BYTES(b, 4, MQWS_MQTT_5, 0, 0, NULL);
    }
}

/* The reason codes of one acknowledgement type at 5.0: the table's codes are accepted (and
 * named), every other byte is refused naming `stmt`. */
static void check_ack_reason_codes(size_t i, const char *stmt) {
    static const uint8_t pub[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
    static const uint8_t rel[] = {0x00, 0x92};
    const uint8_t *set = i < 2 ? pub : rel;
    size_t nset = i < 2 ? sizeof pub : sizeof rel;
    uint8_t f = ack_first(ack_types[i]);
    for (int rc = 0; rc < 256; rc++) {
        uint8_t b[] = {f, 0x03, 0x00, 0x01, (uint8_t)rc};
        int ok = memchr(set, rc, nset) != NULL;
        if (ok && rc != 0)
            DECODE_OK_BYTES(cu_keep(b, 5), 5, MQWS_MQTT_5, 0, NULL);
        else if (!ok)
            DECODE_ERR_BYTES(b, 5, MQWS_MQTT_5, 0, 0, stmt);
        CHECK_INT(mqws_reason_name(rc, ack_types[i], 5) != NULL, ok);
    }
}

/* [MQTT-3.4.2-1] The sender of a PUBACK MUST use one of the PUBACK Reason Codes. */
TEST(mqtt_3_4_2_1_puback_reason_codes) { check_ack_reason_codes(0, "MQTT-3.4.2-1"); }
/* [MQTT-3.5.2-1] ... PUBREC Reason Codes. */
TEST(mqtt_3_5_2_1_pubrec_reason_codes) { check_ack_reason_codes(1, "MQTT-3.5.2-1"); }
/* [MQTT-3.6.2-1] ... PUBREL Reason Codes (0x00, 0x92). */
TEST(mqtt_3_6_2_1_pubrel_reason_codes) { check_ack_reason_codes(2, "MQTT-3.6.2-1"); }
/* [MQTT-3.7.2-1] ... PUBCOMP Reason Codes (0x00, 0x92). */
TEST(mqtt_3_7_2_1_pubcomp_reason_codes) { check_ack_reason_codes(3, "MQTT-3.7.2-1"); }

/* [MQTT-3.6.1-1] PUBREL fixed header bits MUST be 0,0,1,0; anything else is malformed. */
TEST(mqtt_3_6_1_1_pubrel_flags) {
    for (unsigned f = 0; f < 16; f++) {
        uint8_t b[] = {(uint8_t)(0x60 | f), 0x02, 0x00, 0x01};
        if (f == 2) {
            DECODE_OK_BYTES(cu_keep(b, 4), 4, MQWS_MQTT_311, 0, NULL);
            DECODE_OK_BYTES(cu_keep(b, 4), 4, MQWS_MQTT_5, 0, NULL);
        } else {
            DECODE_ERR_BYTES(b, 4, MQWS_MQTT_311, 0, MQWS_EMALFORMED, "MQTT-3.6.1-1");
            DECODE_ERR_BYTES(b, 4, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-3.6.1-1");
        }
    }
}

/* [MQTT-2.2.1-4] A Server's PUBLISH with QoS > 0 carries a non-zero Packet Identifier too. */
TEST(mqtt_2_2_1_4_server_publish_packet_id_0) {
    DECODE_ERR("34 08 00 03 61 2f 62 00 00 00", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, 0,
               "MQTT-2.2.1-3|MQTT-2.2.1-4");
    DECODE_ERR("32 07 00 03 61 2f 62 00 00", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, 0,
               "MQTT-2.3.1-1");
}

int main(void) {
    RUN(publish_round_trips_every_level);
    RUN(publish_5_all_properties_round_trip);
    RUN(publish_encode_exact_bytes);
    RUN(publish_encode_5_properties_from_arrays);
    RUN(publish_iov_equals_encode_for_a_large_payload);
    RUN(publish_encoded_size_too_big);
    RUN(mqtt_3_3_1_4_qos_3_is_malformed);
    RUN(mqtt_3_3_1_2_dup_with_qos_0);
    RUN(mqtt_3_3_2_1_topic_name_must_be_utf8);
    RUN(mqtt_1_5_4_1_ill_formed_utf8_in_topic);
    RUN(mqtt_1_5_4_discouraged_code_points_are_accepted);
    RUN(mqtt_4_7_3_3_longest_topic_name);
    RUN(mqtt_3_3_2_2_topic_name_wildcards);
    RUN(mqtt_3_3_2_2_topic_checks_at_every_position);
    RUN(mqtt_4_7_3_1_empty_topic_name);
    RUN(mqtt_2_2_1_3_publish_packet_id_0);
    RUN(mqtt_2_2_1_2_qos_0_has_no_packet_id);
    RUN(mqtt_3_3_2_truncated_variable_header_is_malformed);
    RUN(mqtt_3_3_4_6_subscription_id_from_client);
    RUN(mqtt5_3_3_2_3_8_subscription_id_0);
    RUN(mqtt_3_3_2_8_topic_alias_0);
    RUN(mqtt_3_3_2_13_response_topic_must_be_utf8);
    RUN(mqtt_3_3_2_14_response_topic_wildcards);
    RUN(mqtt_3_3_2_19_content_type_must_be_utf8);
    RUN(mqtt5_3_3_2_3_2_payload_format_indicator);
    RUN(pub_acks_round_trip_every_level);
    RUN(pub_acks_encode_exact_bytes);
    RUN(mqtt311_pub_acks_length_is_2);
    RUN(mqtt_2_2_1_5_pub_ack_packet_id_0);
    RUN(mqtt_3_4_2_1_puback_reason_codes);
    RUN(mqtt_3_5_2_1_pubrec_reason_codes);
    RUN(mqtt_3_6_2_1_pubrel_reason_codes);
    RUN(mqtt_3_7_2_1_pubcomp_reason_codes);
    RUN(mqtt_3_6_1_1_pubrel_flags);
    RUN(mqtt_2_2_1_4_server_publish_packet_id_0);
    return testlib_finish();
}
