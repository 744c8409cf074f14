/* SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (MQTT 5 §3.8-3.11, MQTT 3.1.1 §3.8-3.11, 3.1).
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

/* A SUBSCRIBE at `level` with packet id 1, no properties, one filter and options byte. */
static void mk_sub(cu_buf *o, uint8_t level, const char *filter, uint8_t opts) {
    cu_buf body = {.n = 0};
    cu_put_hex(&body, "00 01");
    if (level == MQWS_MQTT_5)
        cu_put_u8(&body, 0);
    size_t l = strlen(filter);
    cu_put_u8(&body, (uint8_t)(l >> 8));
    cu_put_u8(&body, (uint8_t)l);
    cu_put(&body, filter, l);
    cu_put_u8(&body, opts);
    cu_packet(o, 0x82, body.b, body.n);
}

#define SUB_ERR(level, filter, opts, code, stmt)                                                   \
    do {                                                                                           \
        cu_buf o_;                                                                                 \
        mk_sub(&o_, (level), (filter), (opts));                                                    \
        DECODE_ERR_BYTES(o_.b, o_.n, (level), MQWS_DECODE_FROM_CLIENT, (code), (stmt));            \
    } while (0)
#define SUB_OK(level, filter, opts)                                                                \
    do {                                                                                           \
        cu_buf o_;                                                                                 \
        mk_sub(&o_, (level), (filter), (opts));                                                    \
        DECODE_OK_BYTES(cu_keep(o_.b, o_.n), o_.n, (level), MQWS_DECODE_FROM_CLIENT, NULL);        \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* SUBSCRIBE */

TEST(subscribe_round_trip_31_311) {
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311};
    for (size_t l = 0; l < 2; l++) {
        mqws_packet p;
        DECODE_OK("82 12 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01 00 01 63 02", levels[l],
                  MQWS_DECODE_FROM_CLIENT, &p);
        CHECK_INT(p.type, MQWS_PKT_SUBSCRIBE);
        CHECK_INT(p.packet_id, 10);
        CHECK_INT(p.entry_count, 3);
        mqws_entry_iter it;
        mqws_subscription s;
        mqws_entry_iter_init(&p, levels[l], &it);
        static const char *const f[3] = {"a/+", "b/#", "c"};
        for (int i = 0; i < 3; i++) {
            memset(&s, 0xff, sizeof s);
            CHECK(mqws_subscribe_next(&it, &s));
            CHECK_VIEW(s.filter, f[i]);
            CHECK_INT(s.qos, i);
            CHECK_INT(s.no_local, 0);
            CHECK_INT(s.retain_as_published, 0);
            CHECK_INT(s.retain_handling, 0);
        }
        CHECK(!mqws_subscribe_next(&it, &s));
    }
}

TEST(subscribe_5_round_trip_with_options_and_properties) {
    mqws_packet p;
    DECODE_OK("82 25 00 01 09 0b 05 26 00 01 75 00 01 31 00 03 61 2f 2b 00 00 03 62 2f 23 15 00 "
              "0a 24 73 68 61 72 65 2f 67 2f 63 2a",
              MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.entry_count, 3);
    CHECK_INT(p.props.subscription_id, 5);
    CHECK_INT(p.props.sub_id_count, 1);
    CHECK_INT(p.props.user_prop_count, 1);
    mqws_entry_iter it;
    mqws_subscription s;
    mqws_entry_iter_init(&p, MQWS_MQTT_5, &it);
    CHECK(mqws_subscribe_next(&it, &s));
    CHECK_VIEW(s.filter, "a/+");
    CHECK_INT(s.qos, 0);
    CHECK(mqws_subscribe_next(&it, &s));
    CHECK_VIEW(s.filter, "b/#");
    CHECK_INT(s.qos, 1);
    CHECK_INT(s.no_local, 1);
    CHECK_INT(s.retain_as_published, 0);
    CHECK_INT(s.retain_handling, 1);
    CHECK(mqws_subscribe_next(&it, &s));
    CHECK_VIEW(s.filter, "$share/g/c");
    CHECK_INT(s.qos, 2);
    CHECK_INT(s.no_local, 0);
    CHECK_INT(s.retain_as_published, 1);
    CHECK_INT(s.retain_handling, 2);
    CHECK(!mqws_subscribe_next(&it, &s));
}

TEST(subscribe_encode_exact_bytes) {
    static const mqws_subscription subs[3] = {
        {{(const uint8_t *)"a/+", 3}, 0, 0, 0, 0},
        {{(const uint8_t *)"b/#", 3}, 1, 1, 0, 1},
        {{(const uint8_t *)"$share/g/c", 10}, 2, 0, 1, 2},
    };
    static const mqws_user_prop up = {{(const uint8_t *)"u", 1}, {(const uint8_t *)"1", 1}};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_SUBSCRIBE);
    CHECK_INT(p.flags, 2);
    p.packet_id = 1;
    p.subs = subs;
    p.entry_count = 3;
    p.props.present = MQWS_PROPF_SUBSCRIPTION_IDENTIFIER | MQWS_PROPF_USER_PROPERTY;
    p.props.subscription_id = 5;
    p.props.user_props = &up;
    p.props.user_prop_count = 1;
    ENCODE_EQ(&p, MQWS_MQTT_5,
              "82 25 00 01 09 0b 05 26 00 01 75 00 01 31 00 03 61 2f 2b 00 00 03 62 2f 23 15 00 "
              "0a 24 73 68 61 72 65 2f 67 2f 63 2a");
    /* 3.1.1 has only the QoS on the wire. */
    static const mqws_subscription subs4[2] = {
        {{(const uint8_t *)"a/+", 3}, 0, 0, 0, 0},
        {{(const uint8_t *)"b/#", 3}, 1, 0, 0, 0},
    };
    mqws_packet_init(&p, MQWS_PKT_SUBSCRIBE);
    p.packet_id = 10;
    p.subs = subs4;
    p.entry_count = 2;
    ENCODE_EQ(&p, MQWS_MQTT_311, "82 0e 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01");
    ENCODE_EQ(&p, MQWS_MQTT_31, "82 0e 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01");
    /* [MQTT-3.8.3-2] no entries; [MQTT-2.2.1-3] packet id 0; QoS 3: EINVAL. */
    uint8_t buf[64];
    size_t w;
    p.entry_count = 0;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
    p.entry_count = 2;
    p.packet_id = 0;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
    static const mqws_subscription bad[1] = {{{(const uint8_t *)"a", 1}, 3, 0, 0, 0}};
    p.packet_id = 1;
    p.subs = bad;
    p.entry_count = 1;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_5, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* "encode: subs, or when subs is NULL the wire-form `entries` as decoded, copied" (codec.h):
 * a decoded SUBSCRIBE / UNSUBSCRIBE re-encodes as is, and converts between levels when the
 * entries can be carried; 5.0-only options cannot go to a 3.1.1 peer (EINVAL). */
TEST(subscribe_encode_from_decoded_entries) {
    mqws_packet p;
    size_t n;
    const uint8_t *b;
    uint8_t out[64];
    size_t w = 0;
    b = cu_hex("82 12 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01 00 01 63 02", &n);
    memset(&p, 0, sizeof p);
    CHECK_INT(mqws_decode(b, n, MQWS_MQTT_311, 0, &p, NULL), MQWS_OK);
    CHECK_INT(p.entry_count, 3);
    CHECK(p.subs == NULL);
    ENCODE_EQ(&p, MQWS_MQTT_311, "82 12 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01 00 01 63 02");
    ENCODE_EQ(&p, MQWS_MQTT_5, "82 13 00 0a 00 00 03 61 2f 2b 00 00 03 62 2f 23 01 00 01 63 02");
    b = cu_hex("82 0c 00 04 03 0b ac 02 00 03 61 2f 2b 2d", &n);
    memset(&p, 0, sizeof p);
    CHECK_INT(mqws_decode(b, n, MQWS_MQTT_5, 0, &p, NULL), MQWS_OK);
    ENCODE_EQ(&p, MQWS_MQTT_5, "82 0c 00 04 03 0b ac 02 00 03 61 2f 2b 2d");
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, out, sizeof out, &w), MQWS_EINVAL);
    b = cu_hex("a2 0b 00 05 00 00 03 61 2f 2b 00 01 62", &n);
    memset(&p, 0, sizeof p);
    CHECK_INT(mqws_decode(b, n, MQWS_MQTT_5, 0, &p, NULL), MQWS_OK);
    CHECK_INT(p.entry_count, 2);
    ENCODE_EQ(&p, MQWS_MQTT_5, "a2 0b 00 05 00 00 03 61 2f 2b 00 01 62");
    ENCODE_EQ(&p, MQWS_MQTT_311, "a2 0a 00 05 00 03 61 2f 2b 00 01 62");
}

/* "decode also sets entry_count to their number" for SUBACK / UNSUBACK (codec.h). */
TEST(suback_unsuback_entry_count) {
    mqws_packet p;
    DECODE_OK("90 06 00 0a 00 01 02 80", MQWS_MQTT_311, 0, &p);
    CHECK_INT(p.entry_count, 4);
    DECODE_OK("b0 0e 00 02 04 1f 00 01 72 00 11 80 83 87 8f 91", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.entry_count, 7);
}

/* [MQTT-3.8.1-1] SUBSCRIBE fixed header flags MUST be 0,0,1,0: Malformed. */
TEST(mqtt_3_8_1_1_subscribe_flags) {
    MALFORMED("80 06 00 01 00 01 61 00", MQWS_MQTT_311, "MQTT-3.8.1-1");
    MALFORMED("83 06 00 01 00 01 61 00", MQWS_MQTT_311, "MQTT-3.8.1-1");
    MALFORMED("8a 06 00 01 00 01 61 00", MQWS_MQTT_311, "MQTT-3.8.1-1");
    MALFORMED("80 07 00 01 00 00 01 61 00", MQWS_MQTT_5, "MQTT-3.8.1-1");
}

/* [MQTT-3.8.3-1] The Topic Filters MUST be UTF-8 Encoded Strings. */
TEST(mqtt_3_8_3_1_subscribe_filter_must_be_utf8) {
    SUB_ERR(MQWS_MQTT_311, "a\xff", 0, MQWS_EMALFORMED, "MQTT-3.8.3-1|MQTT-1.5.3-1");
    SUB_ERR(MQWS_MQTT_5, "a\xc3", 0, MQWS_EMALFORMED, "MQTT-3.8.3-1|MQTT-1.5.4-1");
    SUB_ERR(MQWS_MQTT_5, "\xed\xa0\x80", 0, MQWS_EMALFORMED, "MQTT-3.8.3-1|MQTT-1.5.4-1");
    cu_buf o;
    /* U+0000 ([MQTT-1.5.4-2]): the filter "a\0" spelled out. */
    cu_packet(&o, 0x82, (const uint8_t *)"\x00\x01\x00\x00\x02\x61\x00\x00", 8);
    DECODE_ERR_BYTES(o.b, o.n, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-1.5.4-2");
}

/* [MQTT-3.8.3-2] (3.1.1 [MQTT-3.8.3-3]) At least one Topic Filter: no payload is a Protocol
 * Error. */
TEST(mqtt_3_8_3_2_subscribe_needs_a_filter) {
    PROTOERR("82 02 00 01", MQWS_MQTT_311, "MQTT-3.8.3-3");
    PROTOERR("82 03 00 01 00", MQWS_MQTT_5, "MQTT-3.8.3-2");
    PROTOERR("82 05 00 01 02 0b 01", MQWS_MQTT_5, "MQTT-3.8.3-2");
}

/* 3.1.1 [MQTT-3.8.3-4]: reserved option bits or QoS 3 => malformed. */
TEST(mqtt311_3_8_3_4_subscribe_options) {
    for (int o = 0; o < 256; o++) {
        if (o <= 2)
            SUB_OK(MQWS_MQTT_311, "a", (uint8_t)o);
        else
            SUB_ERR(MQWS_MQTT_311, "a", (uint8_t)o, MQWS_EMALFORMED, "MQTT-3.8.3-4");
    }
}

/* [MQTT-3.8.3-5] 5.0: reserved bits 6-7 of the options => malformed; QoS 3 and Retain
 * Handling 3 are Protocol Errors (§3.8.3.1). */
TEST(mqtt_3_8_3_5_subscribe_options) {
    for (int o = 0; o < 256; o++) {
        int qos = o & 3, rh = (o >> 4) & 3;
        if (o & 0xc0)
            SUB_ERR(MQWS_MQTT_5, "a", (uint8_t)o, MQWS_EMALFORMED, "MQTT-3.8.3-5");
        else if (qos == 3 || rh == 3)
            SUB_ERR(MQWS_MQTT_5, "a", (uint8_t)o, MQWS_EPROTO, NULL);
        else
            SUB_OK(MQWS_MQTT_5, "a", (uint8_t)o);
    }
}

/* [MQTT-3.8.3-4] 5.0: No Local on a Shared Subscription is a Protocol Error. */
TEST(mqtt_3_8_3_4_no_local_on_shared_subscription) {
    SUB_ERR(MQWS_MQTT_5, "$share/g/a", 0x04, MQWS_EPROTO, "MQTT-3.8.3-4");
    SUB_ERR(MQWS_MQTT_5, "$share/g/#", 0x05, MQWS_EPROTO, "MQTT-3.8.3-4");
    SUB_OK(MQWS_MQTT_5, "$share/g/a", 0x01);
    /* Not a shared subscription at 3.1.1: any filter starting with "$share" is a filter. */
    SUB_OK(MQWS_MQTT_311, "$share/g/a", 0x01);
}

/* [MQTT-4.8.2-1] [MQTT-4.8.2-2] Shared Subscription syntax (5.0). */
TEST(mqtt_4_8_2_shared_subscription_syntax) {
    SUB_ERR(MQWS_MQTT_5, "$share//a", 0, 0, "MQTT-4.8.2-1");
    SUB_ERR(MQWS_MQTT_5, "$share/g", 0, 0, "MQTT-4.8.2-1|MQTT-4.8.2-2");
    SUB_ERR(MQWS_MQTT_5, "$share/g/", 0, 0, "MQTT-4.8.2-2|MQTT-4.7.3-1");
    SUB_ERR(MQWS_MQTT_5, "$share/g+/a", 0, 0, "MQTT-4.8.2-2|MQTT-4.7.1-2");
    SUB_ERR(MQWS_MQTT_5, "$share/g#/a", 0, 0, "MQTT-4.8.2-2|MQTT-4.7.1-1");
    SUB_OK(MQWS_MQTT_5, "$share/group/a/+/#", 0);
    SUB_OK(MQWS_MQTT_5, "$shared/x", 0);
}

/* [MQTT-4.7.1-1] (3.1.1 -2) '#' last and alone in its level; [MQTT-4.7.1-2] (3.1.1 -3) '+' alone in
 * its level; [MQTT-4.7.3-1] at least one character. */
TEST(mqtt_4_7_1_topic_filter_wildcards) {
    static const char *const good[] = {"#",     "+", "a/#",    "+/+", "/+/",
                                       "a/+/b", "/", "$SYS/#", "a//b"};
    static const char *const bad1[] = {"a#", "a/#/b", "#/a", "a/b#"};
    static const char *const bad2[] = {"a+", "+a", "a/+b", "a/b+/c"};
    /* The numbering differs: 3.1.1 has [MQTT-4.7.1-1] for "no wildcards in topic names", so '#'
     * placement is [MQTT-4.7.1-2] and '+' placement [MQTT-4.7.1-3]; 5.0 moved the first rule to
     * [MQTT-4.7.0-1] and renumbered the other two -1 and -2. */
    static const struct {
        uint8_t level;
        const char *hash, *plus;
    } lv[] = {
        {MQWS_MQTT_31, "MQTT-4.7.1-2", "MQTT-4.7.1-3"},
        {MQWS_MQTT_311, "MQTT-4.7.1-2", "MQTT-4.7.1-3"},
        {MQWS_MQTT_5, "MQTT-4.7.1-1", "MQTT-4.7.1-2"},
    };
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
            SUB_OK(lv[l].level, good[i], 1);
        for (size_t i = 0; i < sizeof bad1 / sizeof bad1[0]; i++)
            SUB_ERR(lv[l].level, bad1[i], 1, 0, lv[l].hash);
        for (size_t i = 0; i < sizeof bad2 / sizeof bad2[0]; i++)
            SUB_ERR(lv[l].level, bad2[i], 1, 0, lv[l].plus);
        SUB_ERR(lv[l].level, "", 1, 0, "MQTT-4.7.3-1");
    }
}

/* [MQTT-2.2.1-3] (3.1.1 [MQTT-2.3.1-1]) SUBSCRIBE needs a non-zero Packet Identifier. */
TEST(mqtt_2_2_1_3_subscribe_packet_id_0) {
    REJECTED("82 06 00 00 00 01 61 00", MQWS_MQTT_311, "MQTT-2.3.1-1");
    REJECTED("82 07 00 00 00 00 01 61 00", MQWS_MQTT_5, "MQTT-2.2.1-3");
}

/* Entries must be complete; property rules for SUBSCRIBE (§3.8.2.1). */
TEST(mqtt_3_8_3_truncated_entries_and_properties) {
    MALFORMED("82 05 00 01 00 01 61", MQWS_MQTT_311, NULL);                 /* no options */
    MALFORMED("82 07 00 01 00 01 61 00 00", MQWS_MQTT_311, NULL);           /* half a length */
    MALFORMED("82 06 00 01 00 05 61 00", MQWS_MQTT_311, NULL);              /* filter too long */
    MALFORMED("82 01 00", MQWS_MQTT_311, NULL);                             /* half an id */
    MALFORMED("82 06 00 01 00 01 61 00", MQWS_MQTT_5, NULL);                /* no prop length */
    PROTOERR("82 09 00 01 02 0b 00 00 01 61 00", MQWS_MQTT_5, NULL);        /* sub id 0 */
    PROTOERR("82 0b 00 01 04 0b 01 0b 02 00 01 61 00", MQWS_MQTT_5, NULL);  /* sub id twice */
    MALFORMED("82 0b 00 01 04 1f 00 01 78 00 01 61 00", MQWS_MQTT_5, NULL); /* reason string */
}

TEST(subscribe_from_the_server_is_a_protocol_error) {
    DECODE_ERR("82 06 00 01 00 01 61 00", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO,
               NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* SUBACK */

TEST(suback_round_trips) {
    mqws_packet p;
    DECODE_OK("90 04 00 02 01 02", MQWS_MQTT_31, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.packet_id, 2);
    CHECK_MEM(p.reason_codes.ptr, p.reason_codes.len, "\x01\x02", 2);
    DECODE_OK("90 06 00 0a 00 01 02 80", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_MEM(p.reason_codes.ptr, p.reason_codes.len, "\x00\x01\x02\x80", 4);
    DECODE_OK("90 1a 00 01 0b 1f 00 01 72 26 00 01 75 00 01 31 00 01 02 80 83 87 8f 91 97 9e a1 "
              "a2",
              MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.reason_codes.len, 12);
    CHECK_VIEW(p.props.reason_string, "r");
}

TEST(suback_encode_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_SUBACK);
    p.packet_id = 10;
    p.reason_codes.ptr = (const uint8_t *)"\x00\x01\x80";
    p.reason_codes.len = 3;
    ENCODE_EQ(&p, MQWS_MQTT_311, "90 05 00 0a 00 01 80");
    ENCODE_EQ(&p, MQWS_MQTT_5, "90 06 00 0a 00 00 01 80");
}

/* [MQTT-3.9.3-2] 3.1.1: return codes other than 0x00, 0x01, 0x02, 0x80 are reserved. */
TEST(mqtt311_3_9_3_2_suback_return_codes) {
    for (int rc = 0; rc < 256; rc++) {
        uint8_t b[] = {0x90, 0x03, 0x00, 0x01, (uint8_t)rc};
        if (rc <= 2 || rc == 0x80)
            DECODE_OK_BYTES(cu_keep(b, 5), 5, MQWS_MQTT_311, 0, NULL);
        else
            DECODE_ERR_BYTES(b, 5, MQWS_MQTT_311, 0, 0, "MQTT-3.9.3-2");
    }
}

/* [MQTT-3.9.3-2] 5.0: one of the Subscribe Reason Codes for each subscription. */
TEST(mqtt_3_9_3_2_suback_reason_codes) {
    static const uint8_t valid[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                    0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2};
    for (int rc = 0; rc < 256; rc++) {
        uint8_t b[] = {0x90, 0x04, 0x00, 0x01, 0x00, (uint8_t)rc};
        int ok = memchr(valid, rc, sizeof valid) != NULL;
        if (ok)
            DECODE_OK_BYTES(cu_keep(b, 6), 6, MQWS_MQTT_5, 0, NULL);
        else
            DECODE_ERR_BYTES(b, 6, MQWS_MQTT_5, 0, 0, "MQTT-3.9.3-2");
        CHECK_INT(mqws_reason_name(rc, MQWS_PKT_SUBACK, 5) != NULL, ok);
    }
}

TEST(suback_structure) {
    MALFORMED("90 01 00", MQWS_MQTT_311, NULL);
    MALFORMED("91 03 00 01 00", MQWS_MQTT_311, "MQTT-2.2.2-1");
    MALFORMED("90 03 00 01 05", MQWS_MQTT_5, NULL);  /* property length past the end */
    REJECTED("90 03 00 00 00", MQWS_MQTT_311, NULL); /* packet id 0 [MQTT-2.2.1-6] */
    DECODE_ERR("90 03 00 01 00", MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* UNSUBSCRIBE */

TEST(unsubscribe_round_trips) {
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311};
    for (size_t l = 0; l < 2; l++) {
        mqws_packet p;
        DECODE_OK("a2 0a 00 03 00 03 61 2f 2b 00 01 23", levels[l], MQWS_DECODE_FROM_CLIENT, &p);
        CHECK_INT(p.packet_id, 3);
        CHECK_INT(p.entry_count, 2);
        mqws_entry_iter it;
        mqws_view f;
        mqws_entry_iter_init(&p, levels[l], &it);
        CHECK(mqws_unsubscribe_next(&it, &f));
        CHECK_VIEW(f, "a/+");
        CHECK(mqws_unsubscribe_next(&it, &f));
        CHECK_VIEW(f, "#");
        CHECK(!mqws_unsubscribe_next(&it, &f));
    }
    mqws_packet p;
    DECODE_OK("a2 1b 00 02 07 26 00 01 75 00 01 31 00 03 61 2f 2b 00 0a 24 73 68 61 72 65 2f 67 "
              "2f 63",
              MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.entry_count, 2);
    CHECK_INT(p.props.user_prop_count, 1);
}

TEST(unsubscribe_encode_exact_bytes) {
    static const mqws_view f[2] = {{(const uint8_t *)"a/+", 3}, {(const uint8_t *)"#", 1}};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_UNSUBSCRIBE);
    CHECK_INT(p.flags, 2);
    p.packet_id = 3;
    p.unsub_filters = f;
    p.entry_count = 2;
    ENCODE_EQ(&p, MQWS_MQTT_311, "a2 0a 00 03 00 03 61 2f 2b 00 01 23");
    ENCODE_EQ(&p, MQWS_MQTT_5, "a2 0b 00 03 00 00 03 61 2f 2b 00 01 23");
    p.entry_count = 0;
    uint8_t buf[32];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* [MQTT-3.10.1-1] UNSUBSCRIBE fixed header flags MUST be 0,0,1,0: Malformed. */
TEST(mqtt_3_10_1_1_unsubscribe_flags) {
    MALFORMED("a0 05 00 01 00 01 61", MQWS_MQTT_311, "MQTT-3.10.1-1");
    MALFORMED("a3 05 00 01 00 01 61", MQWS_MQTT_311, "MQTT-3.10.1-1");
    MALFORMED("a6 06 00 01 00 00 01 61", MQWS_MQTT_5, "MQTT-3.10.1-1");
}

/* [MQTT-3.10.3-1] The Topic Filters in an UNSUBSCRIBE packet MUST be UTF-8 Encoded Strings. */
TEST(mqtt_3_10_3_1_unsubscribe_filter_must_be_utf8) {
    MALFORMED("a2 05 00 01 00 01 ff", MQWS_MQTT_311, "MQTT-3.10.3-1|MQTT-1.5.3-1");
    MALFORMED("a2 06 00 01 00 00 01 80", MQWS_MQTT_5, "MQTT-3.10.3-1|MQTT-1.5.4-1");
    MALFORMED("a2 06 00 01 00 00 01 00", MQWS_MQTT_5, "MQTT-1.5.4-2");
}

/* [MQTT-3.10.3-2] The Payload of an UNSUBSCRIBE packet MUST contain at least one Topic
 * Filter: no payload is a Protocol Error. */
TEST(mqtt_3_10_3_2_unsubscribe_needs_a_filter) {
    PROTOERR("a2 02 00 01", MQWS_MQTT_311, "MQTT-3.10.3-2");
    PROTOERR("a2 03 00 01 00", MQWS_MQTT_5, "MQTT-3.10.3-2");
}

/* [MQTT-2.2.1-3] (3.1.1 [MQTT-2.3.1-1]) UNSUBSCRIBE needs a non-zero Packet Identifier. */
TEST(mqtt_2_2_1_3_unsubscribe_packet_id_0) {
    REJECTED("a2 05 00 00 00 01 61", MQWS_MQTT_311, "MQTT-2.3.1-1");
    REJECTED("a2 05 00 00 00 01 61", MQWS_MQTT_31, "MQTT-2.3.1-1");
    REJECTED("a2 06 00 00 00 00 01 61", MQWS_MQTT_5, "MQTT-2.2.1-3");
}

/* [MQTT-2.2.1-6] SUBACK and UNSUBACK carry the (non-zero) identifier of their request. */
TEST(mqtt_2_2_1_6_suback_unsuback_packet_id_0) {
    REJECTED("90 03 00 00 00", MQWS_MQTT_311, NULL);
    REJECTED("90 04 00 00 00 00", MQWS_MQTT_5, NULL);
    REJECTED("b0 02 00 00", MQWS_MQTT_311, NULL);
    REJECTED("b0 04 00 00 00 00", MQWS_MQTT_5, NULL);
}

TEST(unsubscribe_structure) {
    MALFORMED("a2 05 00 01 00 05 61", MQWS_MQTT_311, NULL);
    MALFORMED("a2 04 00 01 00 01", MQWS_MQTT_311, NULL);
    /* Subscription Identifier is not an UNSUBSCRIBE property. */
    MALFORMED("a2 08 00 01 02 0b 01 00 01 61", MQWS_MQTT_5, NULL);
    DECODE_ERR("a2 05 00 01 00 01 61", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* UNSUBACK */

TEST(unsuback_round_trips) {
    mqws_packet p;
    DECODE_OK("b0 02 00 03", MQWS_MQTT_31, MQWS_DECODE_FROM_SERVER, &p);
    DECODE_OK("b0 02 00 0b", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.packet_id, 11);
    DECODE_OK("b0 0e 00 02 04 1f 00 01 72 00 11 80 83 87 8f 91", MQWS_MQTT_5,
              MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.reason_codes.len, 7);
    CHECK_INT(p.reason_codes.ptr[1], MQWS_RC_NO_SUBSCRIPTION_EXISTED);
}

TEST(unsuback_encode_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_UNSUBACK);
    p.packet_id = 11;
    ENCODE_EQ(&p, MQWS_MQTT_311, "b0 02 00 0b");
    p.reason_codes.ptr = (const uint8_t *)"\x00\x11";
    p.reason_codes.len = 2;
    ENCODE_EQ(&p, MQWS_MQTT_5, "b0 05 00 0b 00 00 11");
}

/* [MQTT-3.11.3-2] 5.0: one of the UNSUBACK Reason Codes. */
TEST(mqtt_3_11_3_2_unsuback_reason_codes) {
    static const uint8_t valid[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91};
    for (int rc = 0; rc < 256; rc++) {
        uint8_t b[] = {0xb0, 0x04, 0x00, 0x01, 0x00, (uint8_t)rc};
        int ok = memchr(valid, rc, sizeof valid) != NULL;
        if (ok)
            DECODE_OK_BYTES(cu_keep(b, 6), 6, MQWS_MQTT_5, 0, NULL);
        else
            DECODE_ERR_BYTES(b, 6, MQWS_MQTT_5, 0, 0, "MQTT-3.11.3-2");
        CHECK_INT(mqws_reason_name(rc, MQWS_PKT_UNSUBACK, 5) != NULL, ok);
    }
}

/* 3.1.1 UNSUBACK is exactly the packet identifier. */
TEST(mqtt311_unsuback_length_is_2) {
    MALFORMED("b0 03 00 01 00", MQWS_MQTT_311, NULL);
    MALFORMED("b0 01 00", MQWS_MQTT_311, NULL);
    REJECTED("b0 02 00 00", MQWS_MQTT_311, NULL);
    DECODE_ERR("b0 02 00 01", MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
}

/* [MQTT-3.8.4-6] a Reason Code for each Topic Filter (3.1.1 [MQTT-3.8.4-5]), and one per
 * filter in a 5.0 UNSUBACK (§3.11.3, [MQTT-3.11.3-1]): since SUBSCRIBE and UNSUBSCRIBE carry at
 * least one filter, an acknowledgement without any reason code is refused. */
TEST(mqtt_3_8_4_6_acknowledgement_without_reason_codes) {
    REJECTED("90 02 00 01", MQWS_MQTT_311, NULL);
    REJECTED("90 02 00 01", MQWS_MQTT_31, NULL);
    REJECTED("90 03 00 01 00", MQWS_MQTT_5, NULL);
    REJECTED("b0 03 00 01 00", MQWS_MQTT_5, NULL);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_SUBACK);
    p.packet_id = 1;
    uint8_t buf[16];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* The entry iterators (inline through mqws/codec.h's macros, and exported: parenthesised names
 * call the library) over random byte strings taken as entry lists, well formed or not, at
 * 3.1.1 and 5.0, against a reference walk written here from §3.8.3 / §3.10.3: a two-byte
 * length, the filter, and (SUBSCRIBE) the options byte (QoS bits 0-1; at 5.0 No Local bit 2,
 * Retain As Published bit 3, Retain Handling bits 4-5). Iteration stops at the first entry
 * that does not fit, `out` cleared. */
TEST(entry_iterators_follow_the_wire_layout) {
    uint64_t rng = 0x5eed;
    uint8_t buf[48];
    for (int round = 0; round < 20000; round++) {
        size_t n = testlib_rand_below(&rng, sizeof buf + 1);
        for (size_t i = 0; i < n; i++) /* small lengths, so that entries often fit */
            buf[i] = (uint8_t)(testlib_rand_below(&rng, 4) ? testlib_rand_below(&rng, 8)
                                                           : testlib_rand(&rng));
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_SUBSCRIBE);
        p.entries = (mqws_view){n ? buf : NULL, n};
        uint8_t level = round & 1 ? MQWS_MQTT_5 : MQWS_MQTT_311;
        for (int form = 0; form < 2; form++) {
            mqws_entry_iter it;
            if (form)
                (mqws_entry_iter_init)(&p, level, &it);
            else
                mqws_entry_iter_init(&p, level, &it);
            size_t pos = 0;
            for (;;) {
                mqws_subscription x;
                memset(&x, 0xAA, sizeof x);
                int r = form ? (mqws_subscribe_next)(&it, &x) : mqws_subscribe_next(&it, &x);
                size_t fl = n - pos >= 2 ? (size_t)buf[pos] << 8 | buf[pos + 1] : 0;
                int fits = n - pos >= 3 && n - pos - 3 >= fl;
                CHECK_INT(r, fits);
                if (!fits) {
                    CHECK(x.filter.ptr == NULL && x.filter.len == 0 && x.qos == 0 &&
                          x.no_local == 0 && x.retain_as_published == 0 && x.retain_handling == 0);
                    break;
                }
                uint8_t o = buf[pos + 2 + fl];
                CHECK(x.filter.ptr == buf + pos + 2 && x.filter.len == fl);
                CHECK_INT(x.qos, o & 3);
                CHECK_INT(x.no_local, level == MQWS_MQTT_5 ? (o >> 2) & 1 : 0);
                CHECK_INT(x.retain_as_published, level == MQWS_MQTT_5 ? (o >> 3) & 1 : 0);
                CHECK_INT(x.retain_handling, level == MQWS_MQTT_5 ? (o >> 4) & 3 : 0);
                pos += 3 + fl;
            }
            if (form)
                (mqws_entry_iter_init)(&p, level, &it);
            else
                mqws_entry_iter_init(&p, level, &it);
            pos = 0;
            for (;;) {
                mqws_view x;
                int r = form ? (mqws_unsubscribe_next)(&it, &x) : mqws_unsubscribe_next(&it, &x);
                size_t fl = n - pos >= 2 ? (size_t)buf[pos] << 8 | buf[pos + 1] : 0;
                int fits = n - pos >= 2 && n - pos - 2 >= fl;
                CHECK_INT(r, fits);
                if (!fits) {
                    CHECK(x.ptr == NULL && x.len == 0);
                    break;
                }
                CHECK(x.ptr == buf + pos + 2 && x.len == fl);
                pos += 2 + fl;
            }
        }
    }
}

int main(void) {
    RUN(subscribe_round_trip_31_311);
    RUN(subscribe_5_round_trip_with_options_and_properties);
    RUN(subscribe_encode_exact_bytes);
    RUN(subscribe_encode_from_decoded_entries);
    RUN(suback_unsuback_entry_count);
    RUN(mqtt_3_8_1_1_subscribe_flags);
    RUN(mqtt_3_8_3_1_subscribe_filter_must_be_utf8);
    RUN(mqtt_3_8_3_2_subscribe_needs_a_filter);
    RUN(mqtt311_3_8_3_4_subscribe_options);
    RUN(mqtt_3_8_3_5_subscribe_options);
    RUN(mqtt_3_8_3_4_no_local_on_shared_subscription);
    RUN(mqtt_4_8_2_shared_subscription_syntax);
    RUN(mqtt_4_7_1_topic_filter_wildcards);
    RUN(mqtt_2_2_1_3_subscribe_packet_id_0);
    RUN(mqtt_3_8_3_truncated_entries_and_properties);
    RUN(subscribe_from_the_server_is_a_protocol_error);
    RUN(suback_round_trips);
    RUN(suback_encode_exact_bytes);
    RUN(mqtt311_3_9_3_2_suback_return_codes);
    RUN(mqtt_3_9_3_2_suback_reason_codes);
    RUN(suback_structure);
    RUN(unsubscribe_round_trips);
    RUN(unsubscribe_encode_exact_bytes);
    RUN(mqtt_3_10_1_1_unsubscribe_flags);
    RUN(mqtt_3_10_3_1_unsubscribe_filter_must_be_utf8);
    RUN(mqtt_3_10_3_2_unsubscribe_needs_a_filter);
    RUN(mqtt_2_2_1_3_unsubscribe_packet_id_0);
    RUN(mqtt_2_2_1_6_suback_unsuback_packet_id_0);
    RUN(unsubscribe_structure);
    RUN(unsuback_round_trips);
    RUN(unsuback_encode_exact_bytes);
    RUN(mqtt_3_11_3_2_unsuback_reason_codes);
    RUN(mqtt311_unsuback_length_is_2);
    RUN(mqtt_3_8_4_6_acknowledgement_without_reason_codes);
    RUN(entry_iterators_follow_the_wire_layout);
    return testlib_finish();
}
