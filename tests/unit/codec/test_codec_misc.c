/* Fixed-header rules for every packet type (MQTT 5 §2.1, MQTT 3.1.1 §2.2), PINGREQ, PINGRESP,
 * DISCONNECT, AUTH, names, and the codec's no-allocation guarantee.
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

#include <stdlib.h>

/* A valid body for each non-PUBLISH type at 3.1.1 and 5.0 (packet id 1, one entry). */
static const struct {
    uint8_t type;
    uint8_t flags; /* the required value */
    const char *body4, *body5;
    const char *stmt4, *stmt5; /* the statement a wrong flag value breaks */
} types[] = {
    {MQWS_PKT_CONNECT, 0, "00 04 4d 51 54 54 04 02 00 3c 00 00",
     "00 04 4d 51 54 54 05 02 00 3c 00 00 00", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_CONNACK, 0, "00 00", "00 00 00", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_PUBACK, 0, "00 01", "00 01", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_PUBREC, 0, "00 01", "00 01", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_PUBREL, 2, "00 01", "00 01", "MQTT-3.6.1-1", "MQTT-3.6.1-1"},
    {MQWS_PKT_PUBCOMP, 0, "00 01", "00 01", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_SUBSCRIBE, 2, "00 01 00 01 61 00", "00 01 00 00 01 61 00", "MQTT-3.8.1-1",
     "MQTT-3.8.1-1"},
    {MQWS_PKT_SUBACK, 0, "00 01 00", "00 01 00 00", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_UNSUBSCRIBE, 2, "00 01 00 01 61", "00 01 00 00 01 61", "MQTT-3.10.1-1",
     "MQTT-3.10.1-1"},
    {MQWS_PKT_UNSUBACK, 0, "00 01", "00 01 00 00", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_PINGREQ, 0, "", "", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_PINGRESP, 0, "", "", "MQTT-2.2.2-1", "MQTT-2.1.3-1"},
    {MQWS_PKT_DISCONNECT, 0, "", "", "MQTT-3.14.1-1|MQTT-2.2.2-1", "MQTT-3.14.1-1|MQTT-2.1.3-1"},
    {MQWS_PKT_AUTH, 0, NULL, "", NULL, "MQTT-3.15.1-1|MQTT-2.1.3-1"},
};

static void mk(cu_buf *o, uint8_t first, const char *body) {
    cu_buf b = {.n = 0};
    cu_put_hex(&b, body);
    cu_packet(o, first, b.b, b.n);
}

/* [MQTT-2.1.3-1] (3.1.1 [MQTT-2.2.2-1], [MQTT-2.2.2-2]) Reserved flag bits MUST be set to the
 * value listed in Table 2-2; anything else is a Malformed Packet. Every type, every value. */
TEST(mqtt_2_1_3_1_reserved_fixed_header_flags) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        for (unsigned f = 0; f < 16; f++) {
            for (int v = 0; v < 2; v++) {
                uint8_t level = v ? MQWS_MQTT_5 : MQWS_MQTT_311;
                const char *body = v ? types[i].body5 : types[i].body4;
                const char *stmt = v ? types[i].stmt5 : types[i].stmt4;
                if (!body)
                    continue;
                cu_buf o;
                mk(&o, (uint8_t)(types[i].type << 4 | f), body);
                if (f == types[i].flags)
                    DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, level, 0, NULL);
                else if (cu_decode_err(__FILE__, __LINE__, o.b, o.n, level, 0, MQWS_EMALFORMED,
                                       stmt, NULL) != MQWS_EMALFORMED)
                    fprintf(stderr, "  type %d flags %u level %d\n", types[i].type, f, level);
            }
        }
    }
}

/* [MQTT-3.14.1-1] DISCONNECT reserved bits MUST be 0: Malformed Packet (0x81). */
TEST(mqtt_3_14_1_1_disconnect_reserved_bits) {
    for (unsigned f = 1; f < 16; f++) {
        uint8_t b[] = {(uint8_t)(0xe0 | f), 0x00};
        DECODE_ERR_BYTES(b, 2, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-3.14.1-1|MQTT-2.1.3-1");
        DECODE_ERR_BYTES(b, 2, MQWS_MQTT_311, 0, MQWS_EMALFORMED, "MQTT-3.14.1-1|MQTT-2.2.2-1");
    }
}

/* [MQTT-3.15.1-1] AUTH fixed header bits MUST all be 0: Malformed. */
TEST(mqtt_3_15_1_1_auth_reserved_bits) {
    for (unsigned f = 1; f < 16; f++) {
        uint8_t b[] = {(uint8_t)(0xf0 | f), 0x00};
        DECODE_ERR_BYTES(b, 2, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-3.15.1-1|MQTT-2.1.3-1");
    }
}

/* mqws_packet_init sets the flags the type requires. */
TEST(packet_init_sets_required_flags) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        mqws_packet p;
        memset(&p, 0x5a, sizeof p);
        mqws_packet_init(&p, types[i].type);
        CHECK_INT(p.type, types[i].type);
        CHECK_INT(p.flags, types[i].flags);
        CHECK_INT(p.packet_id, 0);
        CHECK_INT(p.props.present, 0);
    }
}

/* Packet type 15 is reserved before 5.0 (3.1.1 §2.2.1): AUTH only exists at level 5. */
TEST(mqtt311_2_2_1_type_15_is_reserved) {
    MALFORMED("f0 00", MQWS_MQTT_311, NULL);
    MALFORMED("f0 00", MQWS_MQTT_31, NULL);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_AUTH);
    uint8_t buf[16];
    size_t w;
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_5, buf, sizeof buf, &w), MQWS_OK);
}

/* An unknown protocol level for a non-CONNECT packet is a caller error, not a peer's. */
TEST(decode_and_encode_refuse_unknown_levels) {
    size_t n;
    const uint8_t *b = cu_hex("c0 00", &n);
    mqws_packet p;
    CHECK(mqws_decode(b, n, 6, 0, &p, NULL) < 0);
    mqws_packet_init(&p, MQWS_PKT_PINGREQ);
    uint8_t buf[8];
    size_t w;
    CHECK_INT(mqws_encode(&p, 6, buf, sizeof buf, &w), MQWS_EINVAL);
    mqws_packet_init(&p, 0);
    CHECK_INT(mqws_encode(&p, MQWS_MQTT_311, buf, sizeof buf, &w), MQWS_EINVAL);
}

/* Direction (MQTT 5 Table 2-1, 3.1.1 Table 2.1): a server decodes with FROM_CLIENT, a client
 * with FROM_SERVER; a packet that only flows the other way is a Protocol Error. DISCONNECT
 * flows both ways only from 5.0 on; AUTH both ways. */
TEST(mqtt_2_1_2_packet_direction_matrix) {
    static const struct {
        uint8_t type;
        int c2s, s2c; /* may flow client to server, server to client */
        int s2c_v3;   /* server to client before 5.0 */
    } dir[] = {
        {MQWS_PKT_CONNECT, 1, 0, 0},     {MQWS_PKT_CONNACK, 0, 1, 1},
        {MQWS_PKT_PUBACK, 1, 1, 1},      {MQWS_PKT_PUBREC, 1, 1, 1},
        {MQWS_PKT_PUBREL, 1, 1, 1},      {MQWS_PKT_PUBCOMP, 1, 1, 1},
        {MQWS_PKT_SUBSCRIBE, 1, 0, 0},   {MQWS_PKT_SUBACK, 0, 1, 1},
        {MQWS_PKT_UNSUBSCRIBE, 1, 0, 0}, {MQWS_PKT_UNSUBACK, 0, 1, 1},
        {MQWS_PKT_PINGREQ, 1, 0, 0},     {MQWS_PKT_PINGRESP, 0, 1, 1},
        {MQWS_PKT_DISCONNECT, 1, 1, 0},  {MQWS_PKT_AUTH, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof dir / sizeof dir[0]; i++) {
        size_t t;
        for (t = 0; types[t].type != dir[i].type; t++)
            ;
        for (int v = 0; v < 2; v++) {
            uint8_t level = v ? MQWS_MQTT_5 : MQWS_MQTT_311;
            const char *body = v ? types[t].body5 : types[t].body4;
            if (!body)
                continue;
            cu_buf o;
            mk(&o, (uint8_t)(types[t].type << 4 | types[t].flags), body);
            int s2c = v ? dir[i].s2c : dir[i].s2c_v3;
            if (dir[i].c2s)
                DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, level, MQWS_DECODE_FROM_CLIENT, NULL);
            else
                DECODE_ERR_BYTES(o.b, o.n, level, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
            if (s2c)
                DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, level, MQWS_DECODE_FROM_SERVER, NULL);
            else
                DECODE_ERR_BYTES(o.b, o.n, level, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO, NULL);
            /* No direction check: everything decodes. */
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, level, 0, NULL);
        }
    }
    /* PUBLISH flows both ways. */
    DECODE_OK("30 03 00 01 61", MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, NULL);
    DECODE_OK("30 03 00 01 61", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* PINGREQ, PINGRESP */

TEST(ping_round_trips) {
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311, MQWS_MQTT_5};
    for (size_t l = 0; l < 3; l++) {
        mqws_packet p;
        DECODE_OK("c0 00", levels[l], MQWS_DECODE_FROM_CLIENT, &p);
        CHECK_INT(p.type, MQWS_PKT_PINGREQ);
        DECODE_OK("d0 00", levels[l], MQWS_DECODE_FROM_SERVER, &p);
        CHECK_INT(p.type, MQWS_PKT_PINGRESP);
        mqws_packet_init(&p, MQWS_PKT_PINGREQ);
        ENCODE_EQ(&p, levels[l], "c0 00");
        mqws_packet_init(&p, MQWS_PKT_PINGRESP);
        ENCODE_EQ(&p, levels[l], "d0 00");
        /* No variable header, no payload. */
        MALFORMED("c0 01 00", levels[l], NULL);
        MALFORMED("d0 02 00 00", levels[l], NULL);
    }
}

/* Direction: PINGREQ comes from clients, PINGRESP from servers. */
TEST(ping_direction) {
    DECODE_ERR("c0 00", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO, NULL);
    DECODE_ERR("d0 00", MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
    DECODE_ERR("c0 00", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO, NULL);
    DECODE_ERR("d0 00", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* DISCONNECT */

TEST(disconnect_round_trips) {
    mqws_packet p;
    DECODE_OK("e0 00", MQWS_MQTT_31, 0, &p);
    DECODE_OK("e0 00", MQWS_MQTT_311, 0, &p);
    DECODE_OK("e0 00", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.reason_code, MQWS_RC_NORMAL_DISCONNECTION);
    DECODE_OK("e0 01 04", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.reason_code, MQWS_RC_DISCONNECT_WITH_WILL);
    DECODE_OK("e0 07 04 05 11 00 00 00 00", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.props.session_expiry, 0);
    CHECK(p.props.present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL);
    DECODE_OK("e0 0d 9c 0b 1c 00 03 61 2e 62 1f 00 02 62 79", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER,
              &p);
    CHECK_INT(p.reason_code, MQWS_RC_USE_ANOTHER_SERVER);
    CHECK_VIEW(p.props.server_reference, "a.b");
    CHECK_VIEW(p.props.reason_string, "by");
    /* Reason 0 with an empty property block spelled out: accepted, not canonical. */
    DECODE_OK_NONCANON("e0 02 00 00", MQWS_MQTT_5, 0, &p);
    DECODE_OK_NONCANON("e0 01 00", MQWS_MQTT_5, 0, &p);
    DECODE_OK_NONCANON("e0 02 8e 00", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.reason_code, MQWS_RC_SESSION_TAKEN_OVER);
}

TEST(disconnect_encode_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_DISCONNECT);
    ENCODE_EQ(&p, MQWS_MQTT_311, "e0 00");
    ENCODE_EQ(&p, MQWS_MQTT_5, "e0 00");
    p.reason_code = MQWS_RC_SERVER_SHUTTING_DOWN;
    ENCODE_EQ(&p, MQWS_MQTT_5, "e0 01 8b");
    p.props.present = MQWS_PROPF_REASON_STRING;
    p.props.reason_string = mqws_view_cstr("bye");
    ENCODE_EQ(&p, MQWS_MQTT_5, "e0 08 8b 06 1f 00 03 62 79 65");
}

/* 3.1.1: DISCONNECT has no variable header or payload. */
TEST(mqtt311_disconnect_length_is_0) {
    MALFORMED("e0 01 00", MQWS_MQTT_311, NULL);
    MALFORMED("e0 01 00", MQWS_MQTT_31, NULL);
}

/* [MQTT-3.14.2-1] one of the DISCONNECT Reason Codes. 0x8C (Bad authentication method) is
 * missing from the DISCONNECT table (§3.14.2.1) but listed for DISCONNECT in the table of all
 * reason codes (§2.4); the codec follows §2.4 and so does this test. */
TEST(mqtt_3_14_2_1_disconnect_reason_codes) {
    static const uint8_t valid[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c,
                                    0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
                                    0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2};
    for (int rc = 0; rc < 256; rc++) {
        uint8_t b[] = {0xe0, 0x01, (uint8_t)rc};
        int ok = memchr(valid, rc, sizeof valid) != NULL;
        if (ok && rc != 0)
            DECODE_OK_BYTES(cu_keep(b, 3), 3, MQWS_MQTT_5, 0, NULL);
        else if (!ok)
            DECODE_ERR_BYTES(b, 3, MQWS_MQTT_5, 0, 0, "MQTT-3.14.2-1");
        CHECK_INT(mqws_reason_name(rc, MQWS_PKT_DISCONNECT, 5) != NULL, ok);
    }
}

/* [MQTT-3.14.2-2] The Session Expiry Interval MUST NOT be sent on a DISCONNECT by the Server. */
TEST(mqtt_3_14_2_2_session_expiry_from_server) {
    DECODE_ERR("e0 07 00 05 11 00 00 00 0a", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO,
               "MQTT-3.14.2-2");
    DECODE_OK("e0 07 00 05 11 00 00 00 0a", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, NULL);
}

TEST(disconnect_structure) {
    MALFORMED("e0 02 00 05", MQWS_MQTT_5, NULL);          /* properties past the end */
    MALFORMED("e0 03 00 00 00", MQWS_MQTT_5, NULL);       /* trailing byte */
    MALFORMED("e0 05 00 03 21 00 01", MQWS_MQTT_5, NULL); /* Receive Maximum not allowed */
    PROTOERR("e0 0c 00 0a 11 00 00 00 01 11 00 00 00 01", MQWS_MQTT_5, NULL); /* twice */
}

/* ---------------------------------------------------------------------------------------- */
/* AUTH (5.0 only) */

TEST(auth_round_trips) {
    mqws_packet p;
    DECODE_OK("f0 00", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.type, MQWS_PKT_AUTH);
    CHECK_INT(p.reason_code, MQWS_RC_SUCCESS);
    DECODE_OK("f0 10 18 0e 15 00 05 53 43 52 41 4d 16 00 03 01 02 03", MQWS_MQTT_5,
              MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.reason_code, MQWS_RC_CONTINUE_AUTHENTICATION);
    CHECK_VIEW(p.props.auth_method, "SCRAM");
    CHECK_MEM(p.props.auth_data.ptr, p.props.auth_data.len, "\x01\x02\x03", 3);
    DECODE_OK_NONCANON("f0 02 00 00", MQWS_MQTT_5, 0, &p);
    mqws_packet_init(&p, MQWS_PKT_AUTH);
    p.reason_code = MQWS_RC_REAUTHENTICATE;
    p.props.present = MQWS_PROPF_AUTHENTICATION_METHOD;
    p.props.auth_method = mqws_view_cstr("m");
    ENCODE_EQ(&p, MQWS_MQTT_5, "f0 06 19 04 15 00 01 6d");
}

/* [MQTT-3.15.2-1] one of the AUTH Reason Codes. */
TEST(mqtt_3_15_2_1_auth_reason_codes) {
    for (int rc = 0; rc < 256; rc++) {
        uint8_t b[] = {0xf0, 0x06, (uint8_t)rc, 0x04, 0x15, 0x00, 0x01, 0x6d};
        int ok = rc == 0x00 || rc == 0x18 || rc == 0x19;
        if (ok)
            DECODE_OK_BYTES(cu_keep(b, sizeof b), sizeof b, MQWS_MQTT_5, 0, NULL);
        else
            DECODE_ERR_BYTES(b, sizeof b, MQWS_MQTT_5, 0, 0, "MQTT-3.15.2-1");
        CHECK_INT(mqws_reason_name(rc, MQWS_PKT_AUTH, 5) != NULL, ok);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Names */

TEST(packet_type_names) {
    static const char *const names[16] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                          "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                          "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                          "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
    for (int t = 0; t < 16; t++)
        CHECK_STR(mqws_packet_type_name(t), names[t]);
    CHECK_STR(mqws_packet_type_name(16), "RESERVED");
    CHECK_STR(mqws_packet_type_name(-1), "RESERVED");
}

/* Reason code names (MQTT 5 §2.4 and the per-packet tables; 3.1.1 CONNACK §3.2.2.3). */
TEST(reason_code_names) {
    CHECK_STR(mqws_reason_name(0x00, MQWS_PKT_DISCONNECT, 5), "Normal disconnection");
    CHECK_STR(mqws_reason_name(0x00, MQWS_PKT_SUBACK, 5), "Granted QoS 0");
    CHECK_STR(mqws_reason_name(0x02, MQWS_PKT_SUBACK, 5), "Granted QoS 2");
    CHECK_STR(mqws_reason_name(0x00, MQWS_PKT_CONNACK, 5), "Success");
    CHECK_STR(mqws_reason_name(0x81, MQWS_PKT_CONNACK, 5), "Malformed Packet");
    CHECK_STR(mqws_reason_name(0x82, MQWS_PKT_DISCONNECT, 5), "Protocol Error");
    CHECK_STR(mqws_reason_name(0x10, MQWS_PKT_PUBACK, 5), "No matching subscribers");
    CHECK_STR(mqws_reason_name(0x04, MQWS_PKT_DISCONNECT, 5), "Disconnect with Will Message");
    CHECK_STR(mqws_reason_name(0x18, MQWS_PKT_AUTH, 5), "Continue authentication");
    CHECK_STR(mqws_reason_name(0x02, MQWS_PKT_CONNACK, 4), "Identifier rejected");
    CHECK(mqws_reason_name(0x01, MQWS_PKT_CONNACK, 4) != NULL);
    CHECK(mqws_reason_name(0x05, MQWS_PKT_CONNACK, 3) != NULL);
    CHECK(mqws_reason_name(0x10, MQWS_PKT_CONNACK, 5) == NULL);
    CHECK(mqws_reason_name(0x06, MQWS_PKT_CONNACK, 4) == NULL);
    CHECK(mqws_reason_name(0x83, MQWS_PKT_SUBACK, 4) == NULL);
    CHECK(mqws_reason_name(0x80, MQWS_PKT_SUBACK, 4) != NULL);
    CHECK(mqws_reason_name(0x00, MQWS_PKT_PINGREQ, 5) == NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* No allocation.
 *
 * The codec API takes no allocator and returns views into the caller's input, so it has no
 * allocating path for a failing allocator to exercise. What can be checked is that it really
 * calls no allocator: when the link supports --wrap (meson.build), the libc allocation entry
 * points are wrapped for this executable and counted while a corpus of every packet type at
 * every level is decoded and re-encoded. Without --wrap, the test still decodes the corpus
 * from read-only memory and checks every view points into it. */

#ifdef MQWS_TEST_WRAP_MALLOC
static long alloc_calls;
static int counting;
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) {
    alloc_calls += counting;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n) {
    alloc_calls += counting;
    return __real_calloc(k, n);
}
void *__wrap_realloc(void *p, size_t n) {
    alloc_calls += counting;
    return __real_realloc(p, n);
}
#endif

static const char *const corpus[][2] = {
    {"4", "10 28 00 04 4d 51 54 54 04 d4 00 3c 00 08 63 6c 69 65 6e 74 2d 31 00 03 77 2f 74 00 "
          "03 62 79 65 00 04 75 73 65 72 00 02 70 77"},
    {"3", "10 20 00 06 4d 51 49 73 64 70 03 ee 00 1e 00 02 63 31 00 03 77 2f 74 00 03 62 79 65 "
          "00 01 75 00 01 70"},
    {"5", "10 29 00 04 4d 51 54 54 05 ee 00 0a 08 11 00 00 00 78 21 00 14 00 02 63 35 05 18 00 "
          "00 00 05 00 01 77 00 01 78 00 01 75 00 01 70"},
    {"5", "20 0c 00 00 09 12 00 03 69 64 31 22 00 0a"},
    {"4", "20 02 01 00"},
    {"5", "32 30 00 03 61 2f 62 00 01 26 01 01 02 00 00 00 3c 03 00 0a 74 65 78 74 2f 70 6c 61 "
          "69 6e 26 00 02 6b 31 00 02 76 31 26 00 02 6b 32 00 02 76 32 68 69"},
    {"4", "3d 0c 00 03 61 2f 62 00 07 68 65 6c 6c 6f"},
    {"5", "40 03 00 01 10"},
    {"5", "50 02 00 01"},
    {"5", "62 02 00 01"},
    {"5", "70 03 00 01 92"},
    {"5", "82 0c 00 04 03 0b ac 02 00 03 61 2f 2b 2d"},
    {"4", "82 12 00 0a 00 03 61 2f 2b 00 00 03 62 2f 23 01 00 01 63 02"},
    {"5", "90 09 00 04 05 1f 00 02 6f 6b 01"},
    {"5", "a2 0b 00 05 00 00 03 61 2f 2b 00 01 62"},
    {"5", "b0 05 00 05 00 00 11"},
    {"4", "b0 02 00 0b"},
    {"5", "c0 00"},
    {"5", "d0 00"},
    {"5", "e0 07 04 05 11 00 00 00 00"},
    {"5", "f0 10 18 0e 15 00 05 53 43 52 41 4d 16 00 03 01 02 03"},
    /* and some rejections */
    {"4", "36 07 00 03 61 2f 62 00 01"},
    {"5", "30 09 00 01 74 04 08 00 01 23 78"},
    {"5", "82 03 00 01 00"},
};
static const size_t corpus_len = sizeof corpus / sizeof corpus[0];

TEST(codec_never_allocates) {
    static uint8_t bufs[sizeof corpus / sizeof corpus[0]][128];
    size_t lens[sizeof corpus / sizeof corpus[0]];
    size_t k = sizeof corpus / sizeof corpus[0];
    for (size_t i = 0; i < k; i++)
        lens[i] = testlib_hex(corpus[i][1], bufs[i], sizeof bufs[i]);
#ifdef MQWS_TEST_WRAP_MALLOC
    /* Positive control: the counter sees the library's own default allocator (the wrap is live
     * for lib/ objects). */
    const mqws_allocator *da = mqws_allocator_default();
    alloc_calls = 0;
    counting = 1;
    void *probe = da->alloc(da->ud, 16);
    counting = 0;
    da->free(da->ud, probe, 16);
    CHECK_INT(alloc_calls, 1);
    alloc_calls = 0;
    counting = 1;
#endif
    int ok = 0, bad = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < k; i++) {
            uint8_t level = (uint8_t)(corpus[i][0][0] - '0');
            mqws_frame_info fi;
            mqws_packet p;
            memset(&p, 0, sizeof p);
            if (mqws_frame(bufs[i], lens[i], 0, &fi) != MQWS_FRAME_READY)
                continue;
            mqws_decode_error e;
            if (mqws_decode(bufs[i], lens[i], level, 0, &p, &e) != MQWS_OK) {
                bad++;
                continue;
            }
            ok++;
            uint8_t out[256];
            size_t w = 0, sz = 0;
            mqws_iovec iov[2];
            CHECK_INT(cu_reencode(&p, level, out, sizeof out, &w), MQWS_OK);
            CHECK_INT(mqws_encoded_size(&p, level, &sz), MQWS_OK);
            if (p.type == MQWS_PKT_PUBLISH)
                CHECK_INT(mqws_encode_publish_iov(&p, level, out, sizeof out, iov), MQWS_OK);
            CHECK_INT(mqws_validate(&p, level, 0, &e), MQWS_OK);
            mqws_prop_iter it;
            mqws_prop pr;
            mqws_props_iter_init(&p.props, &it);
            while (mqws_props_next(&it, &pr))
                ;
        }
    }
#ifdef MQWS_TEST_WRAP_MALLOC
    counting = 0;
    CHECK_INT(alloc_calls, 0);
#endif
    CHECK_INT(ok, 3 * (int)(k - 3));
    CHECK_INT(bad, 3 * 3);
}

/* ---------------------------------------------------------------------------------------- */
/* Hostile input: every single-byte mutation of every packet of the corpus below, at every
 * level, and every truncation. Nothing may crash or read out of bounds (run under ASan and
 * valgrind); what is accepted must re-encode to bytes that decode to the same packet and are a
 * fixed point ("what mqws_decode() accepts, mqws_encode() can write back"); what is refused must
 * say why. */

static void mutant(const uint8_t *b, size_t n, uint8_t level, long *acc, long *rej) {
    mqws_frame_info fi;
    if (mqws_frame(b, n, 0, &fi) != MQWS_FRAME_READY || fi.total_len != n)
        return;
    mqws_packet p;
    memset(&p, 0, sizeof p);
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    int rc = mqws_decode(b, n, level, 0, &p, &e);
    if (rc != MQWS_OK) {
        (*rej)++;
        if (!e.statement || !e.message || e.code != rc ||
            (rc == MQWS_EMALFORMED && e.reason != 0x81) || (rc == MQWS_EPROTO && e.reason != 0x82))
            testlib_fail(__FILE__, __LINE__, "refusal without a proper error (rc %d)", rc);
        return;
    }
    (*acc)++;
    static uint8_t r1[512], r2[512];
    size_t w1 = 0, w2 = 0;
    rc = cu_reencode(&p, p.type == MQWS_PKT_CONNECT ? p.protocol_level : level, r1, sizeof r1, &w1);
    if (rc != MQWS_OK) {
        testlib_fail(__FILE__, __LINE__, "accepted packet does not re-encode: rc %d", rc);
        return;
    }
    mqws_packet q;
    memset(&q, 0, sizeof q);
    rc = mqws_decode(r1, w1, level, 0, &q, NULL);
    if (rc != MQWS_OK) {
        testlib_fail(__FILE__, __LINE__, "re-encoding of an accepted packet does not decode");
        return;
    }
    if (q.type != p.type || q.packet_id != p.packet_id || q.qos != p.qos ||
        q.props.present != p.props.present || !mqws_view_eq(q.topic, p.topic) ||
        !mqws_view_eq(q.payload, p.payload))
        testlib_fail(__FILE__, __LINE__, "re-encoding decodes to another packet");
    CHECK_INT(
        cu_reencode(&q, q.type == MQWS_PKT_CONNECT ? q.protocol_level : level, r2, sizeof r2, &w2),
        MQWS_OK);
    CHECK_MEM(r2, w2, r1, w1);
}

TEST(hostile_mutations_and_truncations) {
    static const uint8_t flips[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
    long acc = 0, rej = 0;
    for (size_t i = 0; i < corpus_len; i++) {
        uint8_t b[160];
        size_t n = testlib_hex(corpus[i][1], b, sizeof b);
        for (uint8_t level = MQWS_MQTT_31; level <= MQWS_MQTT_5; level++) {
            for (size_t pos = 0; pos < n; pos++) {
                for (size_t f = 0; f < sizeof flips; f++) {
                    uint8_t *m = cu_keep(b, n);
                    m[pos] ^= flips[f];
                    mutant(m, n, level, &acc, &rej);
                }
            }
            /* Truncations with the remaining length adjusted (single-byte lengths only). */
            for (size_t cut = 2; cut < n && b[1] < 0x80; cut++) {
                uint8_t *m = cu_keep(b, cut);
                m[1] = (uint8_t)(cut - 2);
                mutant(m, cut, level, &acc, &rej);
                /* And the unadjusted prefix handed to mqws_decode directly. */
                mqws_packet p;
                CHECK(mqws_decode(b, cut, level, 0, &p, NULL) < 0);
            }
        }
    }
    CHECK(acc > 100);
    CHECK(rej > 1000);
}

/* ---------------------------------------------------------------------------------------- */
/* Random packet structs, sane and insane: mqws_validate, mqws_encode and mqws_decode agree.
 * - the encoder returns OK or EINVAL, never writes past its buffer, and its size matches;
 * - a packet mqws_validate accepts is encodable, decodes back, and re-encodes identically;
 * - ENOSPC one byte short writes nothing. */
static uint64_t pick(uint64_t *st, uint64_t n) { return testlib_rand_below(st, (size_t)n); }

static void random_packet(uint64_t *st, uint8_t level, mqws_packet *p) {
    static const char *const strs[] = {"", "a", "a/b", "a/+", "#", "r", "$share/g/x"};
    static const uint8_t rcs[] = {0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x18, 0x19,
                                  0x80, 0x81, 0x87, 0x8c, 0x8f, 0x92, 0x97, 0xff};
    static const uint32_t ints[] = {0, 1, 2, 3, 300, 65535, 268435455u, 0xffffffffu};
    static mqws_subscription subs[3];
    static mqws_view filters[3];
    static uint8_t codes[3];
    static const mqws_user_prop up = {{(const uint8_t *)"k", 1}, {(const uint8_t *)"v", 1}};
    int type = (int)pick(st, 17);
    mqws_packet_init(p, type);
    if (pick(st, 8) == 0)
        p->flags = (uint8_t)pick(st, 16);
    p->protocol_level = pick(st, 8) ? level : (uint8_t)pick(st, 7);
    p->reason_code = rcs[pick(st, sizeof rcs)];
    p->packet_id = (uint16_t)(pick(st, 6) ? 1 + pick(st, 65535) : 0);
    p->keep_alive = (uint16_t)pick(st, 65536);
    p->qos = (uint8_t)(pick(st, 6) ? pick(st, 3) : 3);
    p->dup = (uint8_t)(pick(st, 4) == 0);
    p->retain = (uint8_t)pick(st, 2);
    p->clean_start = (uint8_t)pick(st, 2);
    p->will_flag = (uint8_t)pick(st, 2);
    p->will_qos = (uint8_t)(p->will_flag || pick(st, 8) == 0 ? pick(st, 4) : 0);
    p->will_retain = (uint8_t)(p->will_flag || pick(st, 8) == 0 ? pick(st, 2) : 0);
    p->has_username = (uint8_t)pick(st, 2);
    p->has_password = (uint8_t)pick(st, 2);
    p->session_present = (uint8_t)(pick(st, 4) == 0);
    p->topic = mqws_view_cstr(strs[pick(st, 4) ? 1 + pick(st, 2) : pick(st, 7)]);
    p->payload = mqws_view_cstr(pick(st, 2) ? "payload" : "");
    p->client_id = mqws_view_cstr(pick(st, 4) ? "c" : "");
    p->will_topic = mqws_view_cstr(strs[pick(st, 4) ? 1 : pick(st, 7)]);
    p->will_payload = mqws_view_cstr("w");
    p->username = mqws_view_cstr("u");
    p->password = mqws_view_cstr("p");
    size_t n = pick(st, 5) ? 1 + pick(st, 3) : 0;
    for (size_t i = 0; i < n; i++) {
        memset(&subs[i], 0, sizeof subs[i]);
        subs[i].filter = mqws_view_cstr(strs[pick(st, 7)]);
        subs[i].qos = (uint8_t)pick(st, 4);
        subs[i].no_local = (uint8_t)(pick(st, 3) == 0);
        subs[i].retain_as_published = (uint8_t)pick(st, 2);
        subs[i].retain_handling = (uint8_t)pick(st, 4);
        filters[i] = subs[i].filter;
        codes[i] = rcs[pick(st, sizeof rcs)];
    }
    p->entry_count = (uint32_t)n;
    p->subs = subs;
    p->unsub_filters = filters;
    p->reason_codes.ptr = codes;
    p->reason_codes.len = pick(st, 6) ? n : pick(st, 4);
    mqws_props *props[2] = {&p->props, &p->will_props};
    for (int k = 0; k < 2; k++) {
        mqws_props *pr = props[k];
        mqws_props_init(pr);
        if (level != MQWS_MQTT_5 && pick(st, 4))
            continue;
        for (int bit = 0; bit < 27; bit++)
            if (pick(st, 12) == 0)
                pr->present |= 1u << bit;
        uint32_t v = ints[pick(st, sizeof ints / sizeof ints[0])];
        pr->payload_format = pr->request_problem_info = pr->request_response_info =
            pr->maximum_qos = pr->retain_available = pr->wildcard_sub_available =
                pr->sub_id_available = pr->shared_sub_available = (uint8_t)pick(st, 3);
        pr->server_keep_alive = pr->receive_maximum = pr->topic_alias_maximum = pr->topic_alias =
            (uint16_t)v;
        pr->message_expiry = pr->session_expiry = pr->will_delay = pr->maximum_packet_size = v;
        pr->subscription_id = v;
        mqws_view sv = mqws_view_cstr(strs[pick(st, 7)]);
        pr->content_type = pr->response_topic = pr->correlation_data = pr->assigned_client_id =
            pr->auth_method = pr->auth_data = pr->response_info = pr->server_reference =
                pr->reason_string = sv;
        if (pick(st, 3) == 0) {
            pr->user_props = &up;
            pr->user_prop_count = 1;
        }
    }
}

TEST(random_packets_validate_encode_decode_agree) {
    static uint8_t out[1024 + 16], out2[1024];
    uint64_t st = 0xC0DEC;
    long valid = 0, encodable = 0;
    for (int iter = 0; iter < 30000; iter++) {
        uint8_t level = (uint8_t)(MQWS_MQTT_31 + iter % 3);
        mqws_packet p;
        random_packet(&st, level, &p);
        uint8_t elevel = level;
        memset(out, 0xA5, sizeof out);
        size_t w = 0, sz = 0;
        int rc = mqws_encode(&p, elevel, out, 1024, &w);
        int vrc = mqws_validate(&p, elevel, 0, NULL);
        if (rc != MQWS_OK && rc != MQWS_EINVAL) {
            testlib_fail(__FILE__, __LINE__, "iteration %d: mqws_encode rc %d", iter, rc);
            continue;
        }
        if (vrc != MQWS_OK && vrc != MQWS_EMALFORMED && vrc != MQWS_EPROTO &&
            vrc != MQWS_EUNSUPPORTED && vrc != MQWS_EINVAL)
            testlib_fail(__FILE__, __LINE__, "iteration %d: mqws_validate rc %d", iter, vrc);
        for (size_t i = 1024; i < sizeof out; i++)
            if (out[i] != 0xA5)
                testlib_fail(__FILE__, __LINE__, "iteration %d: wrote past the buffer", iter);
        if (vrc == MQWS_OK) {
            valid++;
            if (rc != MQWS_OK) {
                testlib_fail(__FILE__, __LINE__,
                             "iteration %d: %s at level %d validates but does not encode (%d)",
                             iter, mqws_packet_type_name(p.type), level, rc);
                continue;
            }
        }
        if (rc != MQWS_OK)
            continue;
        encodable++;
        CHECK_INT(mqws_encoded_size(&p, elevel, &sz), MQWS_OK);
        CHECK_INT(sz, w);
        /* One byte short: ENOSPC, nothing written. */
        memset(out2, 0xA5, sizeof out2);
        size_t w2 = 0;
        CHECK_INT(mqws_encode(&p, elevel, out2, w - 1, &w2), MQWS_ENOSPC);
        for (size_t i = 0; i < w; i++)
            if (out2[i] != 0xA5) {
                testlib_fail(__FILE__, __LINE__, "iteration %d: ENOSPC wrote byte %zu", iter, i);
                break;
            }
        if (vrc != MQWS_OK)
            continue;
        mqws_packet d;
        memset(&d, 0, sizeof d);
        mqws_decode_error e;
        memset(&e, 0, sizeof e);
        rc = mqws_decode(out, w, level, 0, &d, &e);
        if (rc != MQWS_OK) {
            testlib_fail(__FILE__, __LINE__,
                         "iteration %d: validated %s at level %d does not decode: %d %s (%s)", iter,
                         mqws_packet_type_name(p.type), level, rc, e.statement ? e.statement : "-",
                         e.message ? e.message : "-");
            continue;
        }
        CHECK_INT(cu_reencode(&d, d.type == MQWS_PKT_CONNECT ? d.protocol_level : level, out2,
                              sizeof out2, &w2),
                  MQWS_OK);
        CHECK_MEM(out2, w2, out, w);
    }
    CHECK(valid > 3000);
    CHECK(encodable > valid);
}

/* ---------------------------------------------------------------------------------------- */
/* err.offset: "byte offset in the packet where the problem was found". */

TEST(decode_error_offsets_point_at_the_field) {
    static const struct {
        const char *hex;
        uint8_t level;
        size_t offset;
    } c[] = {
        {"36 07 00 03 61 2f 62 00 01", MQWS_MQTT_311, 0}, /* QoS 3: the first byte */
        {"32 07 00 03 61 2f 62 00 00", MQWS_MQTT_311, 7}, /* packet identifier */
        {"30 05 00 03 61 2f 23", MQWS_MQTT_311, 4},       /* the topic (or its '#') */
        {"40 07 00 01 00 03 23 00 01", MQWS_MQTT_5, 6},   /* the property */
        {"82 06 00 01 00 01 61 04", MQWS_MQTT_311, 7},    /* the options byte */
        {"10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00", MQWS_MQTT_311, 9}, /* connect flags */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        REJECTED(c[i].hex, c[i].level, NULL);
        size_t off = cu_last_err.offset;
        /* The topic may be reported at its length field, its first byte or the wildcard. */
        if (i == 2)
            CHECK(off >= 2 && off <= 6);
        else
            CHECK_INT(off, c[i].offset);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* mqws_validate: "Everything mqws_decode() would check, applied to a packet about to be
 * encoded", with the same statement. */

#define ANY_ERR 1 /* MQWS_EMALFORMED or MQWS_EPROTO: the spec names no consequence */

static void check_validate(int line, const mqws_packet *p, uint8_t level, uint32_t dir, int code,
                           const char *stmt) {
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    int rc = mqws_validate(p, level, dir, &e);
    int ok_code = code == ANY_ERR ? (rc == MQWS_EMALFORMED || rc == MQWS_EPROTO) : rc == code;
    if (!ok_code)
        testlib_fail(__FILE__, line, "mqws_validate: rc %d, expected %d", rc, code);
    if (code != MQWS_OK && !cu_stmt_match(stmt, e.statement))
        testlib_fail(__FILE__, line, "mqws_validate: statement %s, expected %s",
                     e.statement ? e.statement : "(null)", stmt);
    if (code != MQWS_OK && e.reason != (rc == MQWS_EMALFORMED ? 0x81 : 0x82))
        testlib_fail(__FILE__, line, "mqws_validate: reason 0x%02x", e.reason);
    if (rc != MQWS_OK && mqws_validate(p, level, dir, NULL) != rc)
        testlib_fail(__FILE__, line, "mqws_validate with err == NULL differs");
}
#define VALIDATE(p, level, dir, code, stmt)                                                        \
    check_validate(__LINE__, (p), (level), (dir), (code), (stmt))

TEST(validate_applies_the_decoder_rules) {
    mqws_packet p;
    /* PUBLISH */
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a/b");
    VALIDATE(&p, MQWS_MQTT_311, 0, MQWS_OK, NULL);
    p.qos = 1;
    VALIDATE(&p, MQWS_MQTT_311, 0, ANY_ERR, "MQTT-2.3.1-1");
    VALIDATE(&p, MQWS_MQTT_5, 0, ANY_ERR, "MQTT-2.2.1-3");
    p.packet_id = 1;
    VALIDATE(&p, MQWS_MQTT_5, 0, MQWS_OK, NULL);
    p.topic = mqws_view_cstr("a/+");
    VALIDATE(&p, MQWS_MQTT_5, 0, ANY_ERR, "MQTT-3.3.2-2");
    p.topic = mqws_view_cstr("");
    VALIDATE(&p, MQWS_MQTT_311, 0, ANY_ERR, "MQTT-4.7.3-1");
    p.topic = mqws_view_cstr("a");
    p.props.present = MQWS_PROPF_TOPIC_ALIAS;
    p.props.topic_alias = 0;
    VALIDATE(&p, MQWS_MQTT_5, 0, ANY_ERR, "MQTT-3.3.2-8");
    p.props.present = MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
    p.props.subscription_id = 7;
    VALIDATE(&p, MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, MQWS_OK, NULL);
    VALIDATE(&p, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, "MQTT-3.3.4-6");
    p.props.present = MQWS_PROPF_CONTENT_TYPE;
    p.props.content_type.ptr = (const uint8_t *)"\xc3";
    p.props.content_type.len = 1;
    VALIDATE(&p, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-3.3.2-19|MQTT-1.5.4-1");
    p.props.present = MQWS_PROPF_RECEIVE_MAXIMUM; /* not a PUBLISH property */
    p.props.receive_maximum = 1;
    VALIDATE(&p, MQWS_MQTT_5, 0, MQWS_EMALFORMED, NULL);
    /* CONNECT */
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.protocol_name = mqws_view_cstr("MQTT");
    p.protocol_level = 4;
    p.client_id = mqws_view_cstr("c");
    VALIDATE(&p, MQWS_MQTT_311, 0, MQWS_OK, NULL);
    p.has_password = 1;
    p.password = mqws_view_cstr("x");
    VALIDATE(&p, MQWS_MQTT_311, 0, ANY_ERR, "MQTT-3.1.2-22");
    p.has_password = 0;
    p.client_id.ptr = (const uint8_t *)"a\0";
    p.client_id.len = 2;
    VALIDATE(&p, MQWS_MQTT_311, 0, MQWS_EMALFORMED, "MQTT-1.5.3-2");
    p.client_id = mqws_view_cstr("c");
    p.will_flag = 1;
    p.will_qos = 3;
    p.will_topic = mqws_view_cstr("w");
    VALIDATE(&p, MQWS_MQTT_311, 0, MQWS_EMALFORMED, "MQTT-3.1.2-14");
    /* SUBSCRIBE */
    static const mqws_subscription shared_nl = {{(const uint8_t *)"$share/g/a", 10}, 1, 1, 0, 0};
    static const mqws_subscription bad_filter = {{(const uint8_t *)"a/#/b", 5}, 1, 0, 0, 0};
    mqws_packet_init(&p, MQWS_PKT_SUBSCRIBE);
    p.packet_id = 1;
    p.subs = &shared_nl;
    p.entry_count = 1;
    VALIDATE(&p, MQWS_MQTT_5, 0, MQWS_EPROTO, "MQTT-3.8.3-4");
    p.subs = &bad_filter;
    VALIDATE(&p, MQWS_MQTT_311, 0, ANY_ERR, "MQTT-4.7.1-2");
    /* UNSUBSCRIBE */
    static const mqws_view nul_filter = {(const uint8_t *)"a\0", 2};
    mqws_packet_init(&p, MQWS_PKT_UNSUBSCRIBE);
    p.packet_id = 1;
    p.unsub_filters = &nul_filter;
    p.entry_count = 1;
    VALIDATE(&p, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-1.5.4-2");
    /* Acknowledgements */
    mqws_packet_init(&p, MQWS_PKT_PUBACK);
    p.packet_id = 1;
    p.reason_code = 0x05;
    VALIDATE(&p, MQWS_MQTT_5, 0, ANY_ERR, "MQTT-3.4.2-1");
    mqws_packet_init(&p, MQWS_PKT_CONNACK);
    p.session_present = 1;
    p.reason_code = 0x80;
    VALIDATE(&p, MQWS_MQTT_5, 0, ANY_ERR, "MQTT-3.2.2-6");
    mqws_packet_init(&p, MQWS_PKT_DISCONNECT);
    p.props.present = MQWS_PROPF_SESSION_EXPIRY_INTERVAL;
    VALIDATE(&p, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, MQWS_OK, NULL);
    VALIDATE(&p, MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, MQWS_EPROTO, "MQTT-3.14.2-2");
}

/* Exact-size heap buffers of 0..3 bytes: every decode path (each protocol level, both
 * directions, and the framer) must read only the bytes it was given. A fast path once read a
 * byte past a 3-byte buffer; the sanitizer and valgrind builds see any such read here, since
 * each buffer is its own allocation with nothing after it. Lengths 0..2: every byte value;
 * length 3: every first and second byte with a few third bytes. */
TEST(short_exact_buffers_are_read_in_bounds) {
    static const uint8_t levels[] = {0, MQWS_MQTT_31, MQWS_MQTT_311, MQWS_MQTT_5, 6};
    static const uint32_t dirs[] = {0, MQWS_DECODE_FROM_CLIENT, MQWS_DECODE_FROM_SERVER};
    static const uint8_t thirds[] = {0x00, 0x01, 0x23, 0x80, 0xFF};
    long ok = 0, calls = 0;
    for (size_t n = 0; n <= 3; n++) {
        uint8_t *b = malloc(n ? n : 1);
        CHECK(b != NULL);
        if (!b)
            return;
        const uint8_t *buf = n ? b : NULL;
        size_t combos = n == 0 ? 1 : n == 1 ? 256 : n == 2 ? 65536 : 65536 * sizeof thirds;
        for (size_t c = 0; c < combos; c++) {
            if (n >= 1)
                b[0] = (uint8_t)c;
            if (n >= 2)
                b[1] = (uint8_t)(c >> 8);
            if (n == 3)
                b[2] = thirds[c >> 16];
            mqws_frame_info fi;
            (void)mqws_frame(buf, n, 0, &fi);
            for (size_t l = 0; l < sizeof levels; l++) {
                for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
                    mqws_packet p;
                    mqws_decode_error e;
                    int rc = mqws_decode(buf, n, levels[l], dirs[d], &p, &e);
                    calls++;
                    ok += rc == MQWS_OK;
                }
            }
        }
        free(b);
    }
    CHECK(calls > 1000000);
    CHECK(ok > 0); /* PINGREQ, DISCONNECT and friends decode */
}

int main(void) {
    RUN(mqtt_2_1_3_1_reserved_fixed_header_flags);
    RUN(mqtt_3_14_1_1_disconnect_reserved_bits);
    RUN(mqtt_3_15_1_1_auth_reserved_bits);
    RUN(packet_init_sets_required_flags);
    RUN(mqtt311_2_2_1_type_15_is_reserved);
    RUN(decode_and_encode_refuse_unknown_levels);
    RUN(mqtt_2_1_2_packet_direction_matrix);
    RUN(ping_round_trips);
    RUN(ping_direction);
    RUN(disconnect_round_trips);
    RUN(disconnect_encode_exact_bytes);
    RUN(mqtt311_disconnect_length_is_0);
    RUN(mqtt_3_14_2_1_disconnect_reason_codes);
    RUN(mqtt_3_14_2_2_session_expiry_from_server);
    RUN(disconnect_structure);
    RUN(auth_round_trips);
    RUN(mqtt_3_15_2_1_auth_reason_codes);
    RUN(packet_type_names);
    RUN(reason_code_names);
    RUN(hostile_mutations_and_truncations);
    RUN(random_packets_validate_encode_decode_agree);
    RUN(decode_error_offsets_point_at_the_field);
    RUN(validate_applies_the_decoder_rules);
    RUN(codec_never_allocates);
    RUN(short_exact_buffers_are_read_in_bounds);
    return testlib_finish();
}
