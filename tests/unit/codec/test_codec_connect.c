/* CONNECT and CONNACK (MQTT 5 §3.1-3.2, MQTT 3.1.1 §3.1-3.2, MQTT 3.1 "MQIsdp").
 * Tests are named after the statement they check; 3.1.1 and 5.0 number some rules
 * differently, the test name carries the 5.0 number and the assertion the level's own.
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

/* A CONNECT with the given connect flags: protocol name/level for `level`, keep alive 60,
 * properties (5.0 only; NULL = none) and the payload given in hex. */
static void mk_connect(cu_buf *o, uint8_t level, uint8_t flags, const char *props,
                       const char *payload) {
    cu_buf body = {.n = 0};
    if (level == MQWS_MQTT_31)
        cu_put_hex(&body, "00 06 4d 51 49 73 64 70 03");
    else
        cu_put_hex(&body, level == MQWS_MQTT_5 ? "00 04 4d 51 54 54 05" : "00 04 4d 51 54 54 04");
    cu_put_u8(&body, flags);
    cu_put_hex(&body, "00 3c");
    if (level == MQWS_MQTT_5)
        cu_put_hex(&body, props ? props : "00");
    cu_put_hex(&body, payload);
    cu_packet(o, 0x10, body.b, body.n);
}

#define CONNECT_ERR(level, flags, props, payload, code, stmt)                                      \
    do {                                                                                           \
        cu_buf o_;                                                                                 \
        mk_connect(&o_, (level), (flags), (props), (payload));                                     \
        DECODE_ERR_BYTES(o_.b, o_.n, (level), MQWS_DECODE_FROM_CLIENT, (code), (stmt));            \
    } while (0)
#define CONNECT_OK(level, flags, props, payload, out)                                              \
    do {                                                                                           \
        cu_buf o_;                                                                                 \
        mk_connect(&o_, (level), (flags), (props), (payload));                                     \
        DECODE_OK_BYTES(cu_keep(o_.b, o_.n), o_.n, (level), MQWS_DECODE_FROM_CLIENT, (out));       \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Round trips */

TEST(connect_311_minimal_round_trip) {
    mqws_packet p;
    DECODE_OK("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT,
              &p);
    CHECK_INT(p.type, MQWS_PKT_CONNECT);
    CHECK_VIEW(p.protocol_name, "MQTT");
    CHECK_INT(p.protocol_level, 4);
    CHECK_INT(p.clean_start, 1);
    CHECK_INT(p.keep_alive, 60);
    CHECK_INT(p.client_id.len, 0);
    CHECK_INT(p.will_flag, 0);
    CHECK_INT(p.has_username, 0);
    CHECK_INT(p.has_password, 0);
}

TEST(connect_311_all_fields_round_trip) {
    mqws_packet p;
    DECODE_OK("10 28 00 04 4d 51 54 54 04 d4 00 3c 00 08 63 6c 69 65 6e 74 2d 31 00 03 77 2f 74 "
              "00 03 62 79 65 00 04 75 73 65 72 00 02 70 77",
              MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.clean_start, 0);
    CHECK_VIEW(p.client_id, "client-1");
    CHECK_INT(p.will_flag, 1);
    CHECK_INT(p.will_qos, 2);
    CHECK_INT(p.will_retain, 0);
    CHECK_VIEW(p.will_topic, "w/t");
    CHECK_VIEW(p.will_payload, "bye");
    CHECK_INT(p.has_username, 1);
    CHECK_VIEW(p.username, "user");
    CHECK_INT(p.has_password, 1);
    CHECK_VIEW(p.password, "pw");
}

TEST(connect_31_mqisdp_round_trip) {
    mqws_packet p;
    DECODE_OK("10 20 00 06 4d 51 49 73 64 70 03 ee 00 1e 00 02 63 31 00 03 77 2f 74 00 03 62 79 "
              "65 00 01 75 00 01 70",
              MQWS_MQTT_31, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_VIEW(p.protocol_name, "MQIsdp");
    CHECK_INT(p.protocol_level, 3);
    CHECK_INT(p.keep_alive, 30);
    CHECK_VIEW(p.client_id, "c1");
    CHECK_INT(p.will_qos, 1);
    CHECK_INT(p.will_retain, 1);
    CHECK_VIEW(p.username, "u");
    CHECK_VIEW(p.password, "p");
}

TEST(connect_5_all_properties_round_trip) {
    mqws_packet p;
    DECODE_OK("10 57 00 04 4d 51 54 54 05 04 00 00 23 11 ff ff ff ff 15 00 01 6d 16 00 01 09 17 "
              "00 19 01 21 00 64 22 00 08 26 00 01 61 00 01 62 27 00 00 03 e8 00 01 63 1f 01 01 "
              "02 00 00 00 0a 03 00 01 63 08 00 01 72 09 00 01 01 18 00 00 00 03 26 00 01 78 00 "
              "01 79 00 01 74 00 01 6d",
              MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.protocol_level, 5);
    CHECK_INT(p.clean_start, 0);
    CHECK_INT(p.keep_alive, 0);
    const mqws_props *pr = &p.props;
    CHECK_INT(pr->present, MQWS_PROPF_SESSION_EXPIRY_INTERVAL | MQWS_PROPF_AUTHENTICATION_METHOD |
                               MQWS_PROPF_AUTHENTICATION_DATA |
                               MQWS_PROPF_REQUEST_PROBLEM_INFORMATION |
                               MQWS_PROPF_REQUEST_RESPONSE_INFORMATION |
                               MQWS_PROPF_RECEIVE_MAXIMUM | MQWS_PROPF_TOPIC_ALIAS_MAXIMUM |
                               MQWS_PROPF_USER_PROPERTY | MQWS_PROPF_MAXIMUM_PACKET_SIZE);
    CHECK_INT(pr->session_expiry, 0xffffffffu);
    CHECK_VIEW(pr->auth_method, "m");
    CHECK_MEM(pr->auth_data.ptr, pr->auth_data.len, "\x09", 1);
    CHECK_INT(pr->request_problem_info, 0);
    CHECK_INT(pr->request_response_info, 1);
    CHECK_INT(pr->receive_maximum, 100);
    CHECK_INT(pr->topic_alias_maximum, 8);
    CHECK_INT(pr->maximum_packet_size, 1000);
    CHECK_INT(pr->user_prop_count, 1);
    const mqws_props *w = &p.will_props;
    CHECK_INT(w->present, MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR | MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL |
                              MQWS_PROPF_CONTENT_TYPE | MQWS_PROPF_RESPONSE_TOPIC |
                              MQWS_PROPF_CORRELATION_DATA | MQWS_PROPF_WILL_DELAY_INTERVAL |
                              MQWS_PROPF_USER_PROPERTY);
    CHECK_INT(w->payload_format, 1);
    CHECK_INT(w->message_expiry, 10);
    CHECK_VIEW(w->content_type, "c");
    CHECK_VIEW(w->response_topic, "r");
    CHECK_INT(w->will_delay, 3);
    CHECK_INT(w->user_prop_count, 1);
    mqws_prop_iter it;
    mqws_view k, v;
    mqws_props_iter_init(w, &it);
    CHECK(mqws_props_next_user(&it, &k, &v));
    CHECK_VIEW(k, "x");
    CHECK_VIEW(v, "y");
    CHECK(!mqws_props_next_user(&it, &k, &v));
    CHECK_VIEW(p.will_topic, "t");
    CHECK_VIEW(p.will_payload, "m");
    CHECK_INT(p.will_qos, 0);
}

/* "a CONNECT is decoded at the level it announces, whatever `level` says" (codec.h). */
TEST(connect_decoded_at_its_own_level) {
    mqws_packet p;
    DECODE_OK("10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00", MQWS_MQTT_311, 0, &p);
    CHECK_INT(p.protocol_level, 5);
    DECODE_OK("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.protocol_level, 4);
}

TEST(connect_encode_311_exact_bytes) {
    static const uint8_t pw[] = {0x00, 0xff};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.protocol_name = mqws_view_cstr("MQTT");
    p.protocol_level = 4;
    p.clean_start = 1;
    p.keep_alive = 60;
    p.client_id = mqws_view_cstr("c");
    p.will_flag = 1;
    p.will_qos = 1;
    p.will_retain = 1;
    p.will_topic = mqws_view_cstr("t");
    p.will_payload = mqws_view_cstr("m");
    p.has_username = 1;
    p.username = mqws_view_cstr("u");
    p.has_password = 1;
    p.password.ptr = pw;
    p.password.len = 2;
    ENCODE_EQ(&p, MQWS_MQTT_311,
              "10 1a 00 04 4d 51 54 54 04 ee 00 3c 00 01 63 00 01 74 00 01 6d 00 01 75 00 02 00 "
              "ff");
}

TEST(connect_encode_31_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.protocol_name = mqws_view_cstr("MQIsdp");
    p.protocol_level = 3;
    p.clean_start = 1;
    p.keep_alive = 300;
    p.client_id = mqws_view_cstr("c");
    ENCODE_EQ(&p, MQWS_MQTT_31, "10 0f 00 06 4d 51 49 73 64 70 03 02 01 2c 00 01 63");
}

TEST(connect_encode_5_exact_bytes) {
    static const uint8_t ad[] = {9}, cd[] = {1};
    static const mqws_user_prop up = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}};
    static const mqws_user_prop wup = {{(const uint8_t *)"x", 1}, {(const uint8_t *)"y", 1}};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.protocol_name = mqws_view_cstr("MQTT");
    p.protocol_level = 5;
    p.client_id = mqws_view_cstr("c");
    mqws_props *pr = &p.props;
    mqws_props_init(pr);
    pr->present = MQWS_PROPF_SESSION_EXPIRY_INTERVAL | MQWS_PROPF_RECEIVE_MAXIMUM |
                  MQWS_PROPF_MAXIMUM_PACKET_SIZE | MQWS_PROPF_TOPIC_ALIAS_MAXIMUM |
                  MQWS_PROPF_REQUEST_RESPONSE_INFORMATION | MQWS_PROPF_REQUEST_PROBLEM_INFORMATION |
                  MQWS_PROPF_AUTHENTICATION_METHOD | MQWS_PROPF_AUTHENTICATION_DATA |
                  MQWS_PROPF_USER_PROPERTY;
    pr->session_expiry = 0xffffffffu;
    pr->receive_maximum = 100;
    pr->maximum_packet_size = 1000;
    pr->topic_alias_maximum = 8;
    pr->request_response_info = 1;
    pr->request_problem_info = 0;
    pr->auth_method = mqws_view_cstr("m");
    pr->auth_data.ptr = ad;
    pr->auth_data.len = 1;
    pr->user_props = &up;
    pr->user_prop_count = 1;
    p.will_flag = 1;
    p.will_topic = mqws_view_cstr("t");
    p.will_payload = mqws_view_cstr("m");
    mqws_props *w = &p.will_props;
    mqws_props_init(w);
    w->present = MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR | MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL |
                 MQWS_PROPF_CONTENT_TYPE | MQWS_PROPF_RESPONSE_TOPIC | MQWS_PROPF_CORRELATION_DATA |
                 MQWS_PROPF_WILL_DELAY_INTERVAL | MQWS_PROPF_USER_PROPERTY;
    w->payload_format = 1;
    w->message_expiry = 10;
    w->content_type = mqws_view_cstr("c");
    w->response_topic = mqws_view_cstr("r");
    w->correlation_data.ptr = cd;
    w->correlation_data.len = 1;
    w->will_delay = 3;
    w->user_props = &wup;
    w->user_prop_count = 1;
    ENCODE_EQ(&p, MQWS_MQTT_5,
              "10 57 00 04 4d 51 54 54 05 04 00 00 23 11 ff ff ff ff 15 00 01 6d 16 00 01 09 17 "
              "00 19 01 21 00 64 22 00 08 26 00 01 61 00 01 62 27 00 00 03 e8 00 01 63 1f 01 01 "
              "02 00 00 00 0a 03 00 01 63 08 00 01 72 09 00 01 01 18 00 00 00 03 26 00 01 78 00 "
              "01 79 00 01 74 00 01 6d");
}

/* Left empty, the protocol name is the one of the level (§3.1.2.1; 3.1: "MQIsdp"). */
TEST(connect_encode_default_protocol_name) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.client_id = mqws_view_cstr("c");
    p.protocol_level = 4;
    ENCODE_EQ(&p, MQWS_MQTT_311, "10 0d 00 04 4d 51 54 54 04 00 00 00 00 01 63");
    p.protocol_level = 3;
    ENCODE_EQ(&p, MQWS_MQTT_31, "10 0f 00 06 4d 51 49 73 64 70 03 00 00 00 00 01 63");
    p.protocol_level = 5;
    ENCODE_EQ(&p, MQWS_MQTT_5, "10 0e 00 04 4d 51 54 54 05 00 00 00 00 00 01 63");
}

/* The encoder refuses what a strict peer could not decode. */
TEST(connect_encode_invalid_is_einval) {
    mqws_packet p;
    size_t sz;
    uint8_t buf[64];
    size_t w;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.protocol_name = mqws_view_cstr("MQTT");
    p.protocol_level = 4;
    p.client_id = mqws_view_cstr("c");
    p.will_flag = 1;
    p.will_qos = 3; /* [MQTT-3.1.2-12] */
    p.will_topic = mqws_view_cstr("t");
    CHECK_INT(mqws_encoded_size(&p, 4, &sz), MQWS_EINVAL);
    CHECK_INT(mqws_encode(&p, 4, buf, sizeof buf, &w), MQWS_EINVAL);
    p.will_flag = 0;
    p.will_qos = 1; /* [MQTT-3.1.2-11] */
    CHECK_INT(mqws_encode(&p, 4, buf, sizeof buf, &w), MQWS_EINVAL);
    p.will_qos = 0;
    p.will_retain = 1; /* [MQTT-3.1.2-13] */
    CHECK_INT(mqws_encode(&p, 4, buf, sizeof buf, &w), MQWS_EINVAL);
    p.will_retain = 0;
    p.has_password = 1; /* 3.1.1 [MQTT-3.1.2-22] */
    p.password = mqws_view_cstr("x");
    CHECK_INT(mqws_encode(&p, 4, buf, sizeof buf, &w), MQWS_EINVAL);
    p.has_password = 0;
    CHECK_INT(mqws_encode(&p, 4, buf, sizeof buf, &w), MQWS_OK);
}

/* ---------------------------------------------------------------------------------------- */
/* CONNECT statements */

/* [MQTT-3.1.2-1] The protocol name MUST be "MQTT" (3.1: "MQIsdp"). A server MAY answer
 * CONNACK 0x84 / 0x01: the decoder says unsupported and still reports type and level. */
TEST(mqtt_3_1_2_1_protocol_name_not_mqtt_is_unsupported) {
    static const char *bad[] = {
        "10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00",    /* "MQTX" */
        "10 0d 00 04 6d 71 74 74 05 02 00 3c 00 00 00", /* "mqtt" */
    };
    for (size_t i = 0; i < 2; i++) {
        size_t n;
        const uint8_t *b = cu_hex(bad[i], &n);
        mqws_packet p;
        memset(&p, 0, sizeof p);
        mqws_decode_error e;
        memset(&e, 0, sizeof e);
        CHECK_INT(mqws_decode(b, n, MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p, &e),
                  MQWS_EUNSUPPORTED);
        CHECK_INT(e.code, MQWS_EUNSUPPORTED);
        CHECK_INT(e.reason, 0x84);
        CHECK_STR(e.statement, "MQTT-3.1.2-1");
        CHECK_INT(p.type, MQWS_PKT_CONNECT);
    }
}

/* [MQTT-3.1.2-2] A protocol level the server does not speak: CONNACK 0x01 (3.1.1) / 0x84. */
TEST(mqtt_3_1_2_2_unsupported_protocol_level) {
    static const struct {
        const char *hex;
        uint8_t level;
    } c[] = {
        {"10 0c 00 04 4d 51 54 54 06 02 00 3c 00 00", 6},
        {"10 0c 00 04 4d 51 54 54 02 02 00 3c 00 00", 2},
        {"10 0c 00 04 4d 51 54 54 00 02 00 3c 00 00", 0},
        {"10 0c 00 04 4d 51 54 54 ff 02 00 3c 00 00", 255},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        size_t n;
        const uint8_t *b = cu_hex(c[i].hex, &n);
        mqws_packet p;
        memset(&p, 0, sizeof p);
        mqws_decode_error e;
        memset(&e, 0, sizeof e);
        CHECK_INT(mqws_decode(b, n, MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p, &e),
                  MQWS_EUNSUPPORTED);
        CHECK_INT(e.reason, 0x84);
        CHECK_STR(e.statement, "MQTT-3.1.2-2");
        CHECK_INT(p.type, MQWS_PKT_CONNECT);
        CHECK_INT(p.protocol_level, c[i].level);
    }
}

/* The name must match the level: "MQIsdp" is 3.1 only, "MQTT" is 3.1.1 / 5.0 only. */
TEST(mqtt_3_1_2_1_protocol_name_must_match_the_level) {
    static const char *bad[] = {
        "10 0c 00 04 4d 51 54 54 03 02 00 3c 00 00",
        "10 0e 00 06 4d 51 49 73 64 70 04 02 00 3c 00 00",
        "10 0f 00 06 4d 51 49 73 64 70 05 02 00 3c 00 00 00",
    };
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        const uint8_t *b = cu_hex(bad[i], &n);
        mqws_packet p;
        memset(&p, 0, sizeof p);
        int rc = mqws_decode(b, n, MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p, NULL);
        CHECK(rc == MQWS_EUNSUPPORTED || rc == MQWS_EPROTO || rc == MQWS_EMALFORMED);
    }
}

/* [MQTT-3.1.2-3] The reserved flag (bit 0 of the connect flags) MUST be 0: Malformed. */
TEST(mqtt_3_1_2_3_connect_reserved_flag_is_malformed) {
    CONNECT_ERR(MQWS_MQTT_311, 0x03, NULL, "00 01 63", MQWS_EMALFORMED, "MQTT-3.1.2-3");
    CONNECT_ERR(MQWS_MQTT_5, 0x03, NULL, "00 01 63", MQWS_EMALFORMED, "MQTT-3.1.2-3");
    CONNECT_ERR(MQWS_MQTT_5, 0x01, NULL, "00 01 63", MQWS_EMALFORMED, "MQTT-3.1.2-3");
}

/* [MQTT-3.1.2-11] (3.1.1: [MQTT-3.1.2-13]) Will Flag 0 => Will QoS 0. */
TEST(mqtt_3_1_2_11_will_qos_without_will_flag) {
    CONNECT_ERR(MQWS_MQTT_311, 0x0a, NULL, "00 01 63", 0, "MQTT-3.1.2-13|MQTT-3.1.2-11");
    CONNECT_ERR(MQWS_MQTT_311, 0x12, NULL, "00 01 63", 0, "MQTT-3.1.2-13|MQTT-3.1.2-11");
    CONNECT_ERR(MQWS_MQTT_5, 0x0a, NULL, "00 01 63", 0, "MQTT-3.1.2-11");
    CONNECT_ERR(MQWS_MQTT_5, 0x12, NULL, "00 01 63", 0, "MQTT-3.1.2-11");
}

/* [MQTT-3.1.2-12] (3.1.1: [MQTT-3.1.2-14]) Will QoS 3 is a Malformed Packet. */
TEST(mqtt_3_1_2_12_will_qos_3_is_malformed) {
    CONNECT_ERR(MQWS_MQTT_311, 0x1e, NULL, "00 01 63 00 01 74 00 01 6d", MQWS_EMALFORMED,
                "MQTT-3.1.2-14");
    CONNECT_ERR(MQWS_MQTT_5, 0x1e, NULL, "00 01 63 00 00 01 74 00 01 6d", MQWS_EMALFORMED,
                "MQTT-3.1.2-12");
    /* QoS 0, 1, 2 with the will flag are fine. */
    mqws_packet p;
    CONNECT_OK(MQWS_MQTT_311, 0x06, NULL, "00 01 63 00 01 74 00 01 6d", &p);
    CHECK_INT(p.will_qos, 0);
    CONNECT_OK(MQWS_MQTT_311, 0x0e, NULL, "00 01 63 00 01 74 00 01 6d", &p);
    CHECK_INT(p.will_qos, 1);
    CONNECT_OK(MQWS_MQTT_5, 0x16, NULL, "00 01 63 00 00 01 74 00 01 6d", &p);
    CHECK_INT(p.will_qos, 2);
}

/* [MQTT-3.1.2-13] (3.1.1: [MQTT-3.1.2-15]) Will Flag 0 => Will Retain 0. */
TEST(mqtt_3_1_2_13_will_retain_without_will_flag) {
    CONNECT_ERR(MQWS_MQTT_311, 0x22, NULL, "00 01 63", 0, "MQTT-3.1.2-15|MQTT-3.1.2-11");
    CONNECT_ERR(MQWS_MQTT_5, 0x22, NULL, "00 01 63", 0, "MQTT-3.1.2-13");
}

/* [MQTT-3.1.2-9] Will Flag 1 => Will Topic and Will Message present. */
TEST(mqtt_3_1_2_9_will_fields_must_be_present) {
    CONNECT_ERR(MQWS_MQTT_311, 0x06, NULL, "00 01 63", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_311, 0x06, NULL, "00 01 63 00 01 74", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x06, NULL, "00 01 63 00 00 01 74", MQWS_EMALFORMED, NULL);
}

/* [MQTT-3.1.2-16] (3.1.1: -18) User Name Flag 0 => no User Name; anything left over is a
 * Malformed Packet. */
TEST(mqtt_3_1_2_16_no_user_name_without_flag) {
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "00 01 63 00 01 75", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x02, NULL, "00 01 63 00 01 75", MQWS_EMALFORMED, NULL);
}

/* [MQTT-3.1.2-17] (3.1.1: -19) User Name Flag 1 => User Name present. */
TEST(mqtt_3_1_2_17_user_name_with_flag) {
    CONNECT_ERR(MQWS_MQTT_311, 0x82, NULL, "00 01 63", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x82, NULL, "00 01 63", MQWS_EMALFORMED, NULL);
    mqws_packet p;
    CONNECT_OK(MQWS_MQTT_311, 0x82, NULL, "00 01 63 00 00", &p);
    CHECK_INT(p.has_username, 1);
    CHECK_INT(p.username.len, 0);
}

/* [MQTT-3.1.2-18] (3.1.1: -20) Password Flag 0 => no Password. */
TEST(mqtt_3_1_2_18_no_password_without_flag) {
    CONNECT_ERR(MQWS_MQTT_311, 0x82, NULL, "00 01 63 00 01 75 00 01 70", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x82, NULL, "00 01 63 00 01 75 00 01 70", MQWS_EMALFORMED, NULL);
}

/* [MQTT-3.1.2-19] (3.1.1: -21) Password Flag 1 => Password present. */
TEST(mqtt_3_1_2_19_password_with_flag) {
    CONNECT_ERR(MQWS_MQTT_311, 0xc2, NULL, "00 01 63 00 01 75", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0xc2, NULL, "00 01 63 00 01 75", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x42, NULL, "00 01 63", MQWS_EMALFORMED, NULL);
}

/* 3.1.1 [MQTT-3.1.2-22] User Name Flag 0 => Password Flag 0. MQTT 5 dropped the rule. */
TEST(mqtt311_3_1_2_22_password_requires_user_name) {
    CONNECT_ERR(MQWS_MQTT_311, 0x42, NULL, "00 01 63 00 01 70", 0, "MQTT-3.1.2-22");
    mqws_packet p;
    CONNECT_OK(MQWS_MQTT_5, 0x42, NULL, "00 01 63 00 01 70", &p);
    CHECK_INT(p.has_username, 0);
    CHECK_INT(p.has_password, 1);
    CHECK_VIEW(p.password, "p");
}

/* The password and the will payload are binary data: any bytes. */
TEST(mqtt_3_1_3_password_and_will_payload_are_binary) {
    mqws_packet p;
    CONNECT_OK(MQWS_MQTT_311, 0xc6, NULL, "00 01 63 00 01 74 00 03 00 ff c3 00 01 75 00 02 00 ed",
               &p);
    CHECK_MEM(p.will_payload.ptr, p.will_payload.len, "\x00\xff\xc3", 3);
    CHECK_MEM(p.password.ptr, p.password.len, "\x00\xed", 2);
}

/* [MQTT-3.1.3-3] The ClientID MUST be present (first field of the payload). */
TEST(mqtt_3_1_3_3_client_id_must_be_present) {
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x02, NULL, "", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "00", MQWS_EMALFORMED, NULL);
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "00 03 61", MQWS_EMALFORMED, NULL);
}

/* [MQTT-3.1.3-5] The Server MUST allow ClientIDs of 1 to 23 bytes of [0-9a-zA-Z]; longer ones
 * (and other characters) MAY be allowed, and the codec leaves that policy to the server. */
TEST(mqtt_3_1_3_5_client_ids_of_1_to_23_alphanumerics) {
    mqws_packet p;
    static const uint8_t levels[] = {MQWS_MQTT_31, MQWS_MQTT_311, MQWS_MQTT_5};
    for (size_t l = 0; l < 3; l++) {
        CONNECT_OK(levels[l], 0x02, NULL, "00 01 30", &p);
        CONNECT_OK(levels[l], 0x02, NULL,
                   "00 17 30 31 32 33 34 35 36 37 38 39 61 62 63 78 79 7a 41 42 43 58 59 5a 71",
                   &p);
        CHECK_INT(p.client_id.len, 23);
        CONNECT_OK(levels[l], 0x00, NULL,
                   "00 18 30 31 32 33 34 35 36 37 38 39 61 62 63 78 79 7a 41 42 "
                   "43 58 59 5a 71 2d",
                   &p);
        CHECK_INT(p.client_id.len, 24);
    }
}

/* [MQTT-3.1.3-1] Payload fields in the order Client Identifier, Will Topic, Will Message,
 * User Name, Password, present as the flags say. */
TEST(mqtt_3_1_3_1_payload_order) {
    mqws_packet p;
    CONNECT_OK(MQWS_MQTT_311, 0xc6, NULL, "00 01 31 00 01 32 00 01 33 00 01 34 00 01 35", &p);
    CHECK_VIEW(p.client_id, "1");
    CHECK_VIEW(p.will_topic, "2");
    CHECK_VIEW(p.will_payload, "3");
    CHECK_VIEW(p.username, "4");
    CHECK_VIEW(p.password, "5");
    CONNECT_OK(MQWS_MQTT_5, 0xc6, NULL, "00 01 31 00 00 01 32 00 01 33 00 01 34 00 01 35", &p);
    CHECK_VIEW(p.client_id, "1");
    CHECK_VIEW(p.will_topic, "2");
    CHECK_VIEW(p.password, "5");
    CONNECT_OK(MQWS_MQTT_311, 0x82, NULL, "00 01 31 00 01 34", &p);
    CHECK_VIEW(p.username, "4");
    CHECK_INT(p.will_flag, 0);
}

/* [MQTT-3.1.3-4] The ClientID MUST be a UTF-8 Encoded String ([MQTT-1.5.4-1], 3.1.1
 * [MQTT-1.5.3-1]); U+0000 is refused by [MQTT-1.5.4-2] / [MQTT-1.5.3-2]. */
TEST(mqtt_3_1_3_4_client_id_must_be_utf8) {
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "00 02 c3 28", MQWS_EMALFORMED,
                "MQTT-3.1.3-4|MQTT-1.5.3-1");
    CONNECT_ERR(MQWS_MQTT_5, 0x02, NULL, "00 02 c3 28", MQWS_EMALFORMED,
                "MQTT-3.1.3-4|MQTT-1.5.4-1");
    /* An encoded surrogate (U+D800). */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, NULL, "00 03 ed a0 80", MQWS_EMALFORMED,
                "MQTT-3.1.3-4|MQTT-1.5.4-1");
    /* An overlong encoding of '/'. */
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "00 02 c0 af", MQWS_EMALFORMED,
                "MQTT-3.1.3-4|MQTT-1.5.3-1");
    CONNECT_ERR(MQWS_MQTT_311, 0x02, NULL, "00 02 61 00", MQWS_EMALFORMED, "MQTT-1.5.3-2");
    CONNECT_ERR(MQWS_MQTT_5, 0x02, NULL, "00 02 61 00", MQWS_EMALFORMED, "MQTT-1.5.4-2");
}

/* Wildcard characters are ordinary characters outside topic names: a client identifier, user
 * name or will payload may hold '+' and '#' at any position; U+0000 is refused at any position. */
TEST(mqtt_1_5_4_strings_checked_at_every_position) {
    for (size_t n = 1; n <= 24; n++) {
        for (size_t pos = 0; pos < n; pos++) {
            cu_buf payload = {.n = 0}, o;
            char hex[8];
            cu_put_u8(&payload, 0);
            cu_put_u8(&payload, (uint8_t)n);
            for (size_t i = 0; i < n; i++)
                cu_put_u8(&payload, i == pos ? '+' : 'c');
            /* Flags 0x02: client id only. */
            cu_buf body = {.n = 0};
            cu_put_hex(&body, "00 04 4d 51 54 54 04 02 00 3c");
            cu_put(&body, payload.b, payload.n);
            cu_packet(&o, 0x10, body.b, body.n);
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, MQWS_MQTT_311, 0, NULL);
            body.b[10 + 2 + pos] = '#';
            cu_packet(&o, 0x10, body.b, body.n);
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, MQWS_MQTT_311, 0, NULL);
            body.b[10 + 2 + pos] = 0;
            cu_packet(&o, 0x10, body.b, body.n);
            DECODE_ERR_BYTES(o.b, o.n, MQWS_MQTT_311, 0, MQWS_EMALFORMED, "MQTT-1.5.3-2");
            body.b[10 + 2 + pos] = 0xf5; /* never valid in UTF-8 */
            cu_packet(&o, 0x10, body.b, body.n);
            DECODE_ERR_BYTES(o.b, o.n, MQWS_MQTT_311, 0, MQWS_EMALFORMED,
                             "MQTT-3.1.3-4|MQTT-1.5.3-1");
            (void)hex;
        }
    }
}

/* [MQTT-1.5.4-3] EF BB BF is U+FEFF and MUST NOT be stripped. */
TEST(mqtt_1_5_4_3_bom_is_kept) {
    mqws_packet p;
    CONNECT_OK(MQWS_MQTT_5, 0x02, NULL, "00 04 ef bb bf 61", &p);
    CHECK_MEM(p.client_id.ptr, p.client_id.len, "\xef\xbb\xbf\x61", 4);
    /* Multi-byte characters in general. */
    CONNECT_OK(MQWS_MQTT_311, 0x02, NULL, "00 09 c3 a9 e2 82 ac f0 9f 98 80", &p);
}

/* [MQTT-3.1.3-11] (3.1.1: -10) The Will Topic MUST be a UTF-8 Encoded String. */
TEST(mqtt_3_1_3_11_will_topic_must_be_utf8) {
    CONNECT_ERR(MQWS_MQTT_311, 0x06, NULL, "00 01 63 00 01 ff 00 01 6d", MQWS_EMALFORMED,
                "MQTT-3.1.3-10|MQTT-1.5.3-1");
    CONNECT_ERR(MQWS_MQTT_5, 0x06, NULL, "00 01 63 00 00 01 ff 00 01 6d", MQWS_EMALFORMED,
                "MQTT-3.1.3-11|MQTT-1.5.4-1");
}

/* [MQTT-3.1.3-12] (3.1.1: -11) The User Name MUST be a UTF-8 Encoded String. */
TEST(mqtt_3_1_3_12_user_name_must_be_utf8) {
    CONNECT_ERR(MQWS_MQTT_311, 0x82, NULL, "00 01 63 00 01 80", MQWS_EMALFORMED,
                "MQTT-3.1.3-11|MQTT-1.5.3-1");
    CONNECT_ERR(MQWS_MQTT_5, 0x82, NULL, "00 01 63 00 01 80", MQWS_EMALFORMED,
                "MQTT-3.1.3-12|MQTT-1.5.4-1");
}

/* The CONNECT variable header must be complete. */
TEST(mqtt_3_1_2_truncated_variable_header_is_malformed) {
    MALFORMED("10 00", MQWS_MQTT_311, NULL);
    MALFORMED("10 02 00 04", MQWS_MQTT_311, NULL);
    MALFORMED("10 06 00 04 4d 51 54 54", MQWS_MQTT_311, NULL);
    MALFORMED("10 09 00 04 4d 51 54 54 04 02 00", MQWS_MQTT_311, NULL);
    MALFORMED("10 0a 00 04 4d 51 54 54 05 02 00 3c", MQWS_MQTT_5, NULL);
    /* Property length running past the packet. */
    MALFORMED("10 0d 00 04 4d 51 54 54 05 02 00 3c 05 00 00", MQWS_MQTT_5, NULL);
}

/* MQTT 5 CONNECT property values (§3.1.2.11): Protocol Errors. */
TEST(mqtt5_3_1_2_11_connect_property_values) {
    /* Receive Maximum 0. */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "03 21 00 00", "00 01 63", MQWS_EPROTO, NULL);
    /* Maximum Packet Size 0. */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "05 27 00 00 00 00", "00 01 63", MQWS_EPROTO, NULL);
    /* Request Response Information / Request Problem Information other than 0 or 1. */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "02 19 02", "00 01 63", MQWS_EPROTO, NULL);
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "02 17 02", "00 01 63", MQWS_EPROTO, NULL);
    /* Authentication Data without Authentication Method. */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "04 16 00 01 01", "00 01 63", MQWS_EPROTO, NULL);
    /* Included twice. */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "0a 11 00 00 00 01 11 00 00 00 02", "00 01 63", MQWS_EPROTO,
                NULL);
    /* Will Delay Interval belongs in the will properties, not the CONNECT's. */
    CONNECT_ERR(MQWS_MQTT_5, 0x02, "05 18 00 00 00 01", "00 01 63", MQWS_EMALFORMED, NULL);
    /* Topic Alias is not a will property. */
    CONNECT_ERR(MQWS_MQTT_5, 0x06, NULL, "00 01 63 03 23 00 01 00 01 74 00 01 6d", MQWS_EMALFORMED,
                NULL);
    /* Will property length running past the payload. */
    CONNECT_ERR(MQWS_MQTT_5, 0x06, NULL, "00 01 63 09 00 01 74", MQWS_EMALFORMED, NULL);
}

/* [MQTT-3.3.2-13/14] a will's Response Topic is a topic name; [MQTT-3.3.2-19] Content Type is
 * UTF-8 (the will properties follow the PUBLISH rules). */
TEST(mqtt5_will_properties_strings) {
    CONNECT_ERR(MQWS_MQTT_5, 0x06, NULL, "00 01 63 04 08 00 01 23 00 01 74 00 01 6d", 0,
                "MQTT-3.3.2-14");
    CONNECT_ERR(MQWS_MQTT_5, 0x06, NULL, "00 01 63 04 03 00 01 ff 00 01 74 00 01 6d",
                MQWS_EMALFORMED, "MQTT-3.3.2-19|MQTT-1.5.4-1");
}

/* [MQTT-3.1.0-1] CONNECT comes from the client: a client decoding (FROM_SERVER) refuses it. */
TEST(connect_from_the_server_is_a_protocol_error) {
    DECODE_ERR("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER,
               MQWS_EPROTO, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* CONNACK */

TEST(connack_round_trips) {
    mqws_packet p;
    DECODE_OK("20 02 00 00", MQWS_MQTT_31, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.reason_code, 0);
    DECODE_OK("20 02 01 00", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.session_present, 1);
    CHECK_INT(p.reason_code, 0);
    DECODE_OK("20 02 00 05", MQWS_MQTT_311, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.reason_code, MQWS_CONNACK_V3_NOT_AUTHORIZED);
    DECODE_OK("20 03 00 87 00", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.reason_code, MQWS_RC_NOT_AUTHORIZED);
    DECODE_OK("20 0c 00 00 09 12 00 03 69 64 31 22 00 0a", MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER,
              &p);
    CHECK_VIEW(p.props.assigned_client_id, "id1");
    CHECK_INT(p.props.topic_alias_maximum, 10);
}

TEST(connack_5_all_properties_round_trip) {
    mqws_packet p;
    DECODE_OK("20 3f 01 00 3c 11 00 00 00 0a 12 00 01 61 13 00 1e 15 00 01 6d 16 00 01 07 1a 00 "
              "01 69 1c 00 01 73 1f 00 01 72 21 00 05 22 00 03 24 01 25 00 26 00 01 6b 00 01 76 "
              "27 00 00 07 d0 28 00 29 01 2a 00",
              MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, &p);
    const mqws_props *pr = &p.props;
    CHECK_INT(p.session_present, 1);
    CHECK_INT(pr->session_expiry, 10);
    CHECK_VIEW(pr->assigned_client_id, "a");
    CHECK_INT(pr->server_keep_alive, 30);
    CHECK_VIEW(pr->auth_method, "m");
    CHECK_VIEW(pr->response_info, "i");
    CHECK_VIEW(pr->server_reference, "s");
    CHECK_VIEW(pr->reason_string, "r");
    CHECK_INT(pr->receive_maximum, 5);
    CHECK_INT(pr->topic_alias_maximum, 3);
    CHECK_INT(pr->maximum_qos, 1);
    CHECK_INT(pr->retain_available, 0);
    CHECK_INT(pr->user_prop_count, 1);
    CHECK_INT(pr->maximum_packet_size, 2000);
    CHECK_INT(pr->wildcard_sub_available, 0);
    CHECK_INT(pr->sub_id_available, 1);
    CHECK_INT(pr->shared_sub_available, 0);
    CHECK_INT(pr->present,
              MQWS_PROPF_SESSION_EXPIRY_INTERVAL | MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER |
                  MQWS_PROPF_SERVER_KEEP_ALIVE | MQWS_PROPF_AUTHENTICATION_METHOD |
                  MQWS_PROPF_AUTHENTICATION_DATA | MQWS_PROPF_RESPONSE_INFORMATION |
                  MQWS_PROPF_SERVER_REFERENCE | MQWS_PROPF_REASON_STRING |
                  MQWS_PROPF_RECEIVE_MAXIMUM | MQWS_PROPF_TOPIC_ALIAS_MAXIMUM |
                  MQWS_PROPF_MAXIMUM_QOS | MQWS_PROPF_RETAIN_AVAILABLE | MQWS_PROPF_USER_PROPERTY |
                  MQWS_PROPF_MAXIMUM_PACKET_SIZE | MQWS_PROPF_WILDCARD_SUBSCRIPTION_AVAILABLE |
                  MQWS_PROPF_SUBSCRIPTION_IDENTIFIER_AVAILABLE |
                  MQWS_PROPF_SHARED_SUBSCRIPTION_AVAILABLE);
}

TEST(connack_encode_exact_bytes) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNACK);
    p.session_present = 1;
    ENCODE_EQ(&p, MQWS_MQTT_311, "20 02 01 00");
    ENCODE_EQ(&p, MQWS_MQTT_5, "20 03 01 00 00");
    p.session_present = 0;
    p.reason_code = MQWS_CONNACK_V3_IDENTIFIER_REJECTED;
    ENCODE_EQ(&p, MQWS_MQTT_311, "20 02 00 02");
    p.reason_code = MQWS_RC_SERVER_BUSY;
    p.props.present = MQWS_PROPF_SERVER_REFERENCE;
    p.props.server_reference = mqws_view_cstr("other");
    ENCODE_EQ(&p, MQWS_MQTT_5, "20 0b 00 89 08 1c 00 05 6f 74 68 65 72");
}

/* 3.1.1 §3.2.2.3: return codes 6-255 are reserved. */
TEST(mqtt311_3_2_2_3_connack_return_codes) {
    for (int rc = 0; rc < 256; rc++) {
        cu_buf o;
        uint8_t body[2] = {0, (uint8_t)rc};
        cu_packet(&o, 0x20, body, 2);
        if (rc <= 5) {
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, MQWS_MQTT_311, 0, NULL);
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, MQWS_MQTT_31, 0, NULL);
        } else {
            DECODE_ERR_BYTES(o.b, o.n, MQWS_MQTT_311, 0, 0, NULL);
        }
    }
}

/* [MQTT-3.2.2-8] The Server MUST use one of the CONNACK Reason Codes (Table 3-1). */
TEST(mqtt_3_2_2_8_connack_reason_codes) {
    static const uint8_t valid[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                    0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
                                    0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f};
    for (int rc = 0; rc < 256; rc++) {
        int ok = memchr(valid, rc, sizeof valid) != NULL;
        cu_buf o;
        uint8_t body[3] = {0, (uint8_t)rc, 0};
        cu_packet(&o, 0x20, body, 3);
        if (ok)
            DECODE_OK_BYTES(cu_keep(o.b, o.n), o.n, MQWS_MQTT_5, 0, NULL);
        else
            DECODE_ERR_BYTES(o.b, o.n, MQWS_MQTT_5, 0, 0, "MQTT-3.2.2-8");
        CHECK_INT(mqws_reason_name(rc, MQWS_PKT_CONNACK, 5) != NULL, ok);
    }
}

/* [MQTT-3.2.2-1] Connect Acknowledge Flags bits 7-1 are reserved, MUST be 0 (3.1.1 §3.2.2.1). */
TEST(mqtt_3_2_2_1_connack_reserved_flags_are_malformed) {
    MALFORMED("20 03 02 00 00", MQWS_MQTT_5, "MQTT-3.2.2-1");
    MALFORMED("20 03 80 00 00", MQWS_MQTT_5, "MQTT-3.2.2-1");
    REJECTED("20 02 02 00", MQWS_MQTT_311, NULL);
    REJECTED("20 02 fe 00", MQWS_MQTT_311, NULL);
}

/* [MQTT-3.2.2-6] (3.1.1 [MQTT-3.2.2-4]) a non-zero reason code requires Session Present 0. */
TEST(mqtt_3_2_2_6_session_present_with_failure_code) {
    REJECTED("20 03 01 80 00", MQWS_MQTT_5, "MQTT-3.2.2-6");
    REJECTED("20 02 01 05", MQWS_MQTT_311, "MQTT-3.2.2-4");
}

/* MQTT 5 CONNACK: the property length is not optional; property value rules (§3.2.2.3). */
TEST(mqtt5_3_2_2_3_connack_properties) {
    MALFORMED("20 02 00 00", MQWS_MQTT_5, NULL);
    /* Maximum QoS, Retain Available, Wildcard / Subscription Identifier / Shared Subscription
     * Available: 0 or 1, else Protocol Error. */
    PROTOERR("20 05 00 00 02 24 02", MQWS_MQTT_5, NULL);
    PROTOERR("20 05 00 00 02 25 02", MQWS_MQTT_5, NULL);
    PROTOERR("20 05 00 00 02 28 02", MQWS_MQTT_5, NULL);
    PROTOERR("20 05 00 00 02 29 02", MQWS_MQTT_5, NULL);
    PROTOERR("20 05 00 00 02 2a 02", MQWS_MQTT_5, NULL);
    PROTOERR("20 06 00 00 03 21 00 00", MQWS_MQTT_5, NULL);
    PROTOERR("20 08 00 00 05 27 00 00 00 00", MQWS_MQTT_5, NULL);
    PROTOERR("20 07 00 00 04 24 00 24 01", MQWS_MQTT_5, NULL);
    /* Request Problem Information is a CONNECT property. */
    MALFORMED("20 05 00 00 02 17 01", MQWS_MQTT_5, NULL);
    /* Trailing bytes. */
    MALFORMED("20 04 00 00 00 00", MQWS_MQTT_5, NULL);
    MALFORMED("20 03 00 00 00", MQWS_MQTT_311, NULL);
    MALFORMED("20 01 00", MQWS_MQTT_311, NULL);
}

/* A server decoding (FROM_CLIENT) refuses a CONNACK. */
TEST(connack_from_a_client_is_a_protocol_error) {
    DECODE_ERR("20 02 00 00", MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
    DECODE_ERR("20 03 00 00 00", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, MQWS_EPROTO, NULL);
}

int main(void) {
    RUN(connect_311_minimal_round_trip);
    RUN(connect_311_all_fields_round_trip);
    RUN(connect_31_mqisdp_round_trip);
    RUN(connect_5_all_properties_round_trip);
    RUN(connect_decoded_at_its_own_level);
    RUN(connect_encode_311_exact_bytes);
    RUN(connect_encode_31_exact_bytes);
    RUN(connect_encode_5_exact_bytes);
    RUN(connect_encode_default_protocol_name);
    RUN(connect_encode_invalid_is_einval);
    RUN(mqtt_3_1_2_1_protocol_name_not_mqtt_is_unsupported);
    RUN(mqtt_3_1_2_2_unsupported_protocol_level);
    RUN(mqtt_3_1_2_1_protocol_name_must_match_the_level);
    RUN(mqtt_3_1_2_3_connect_reserved_flag_is_malformed);
    RUN(mqtt_3_1_2_11_will_qos_without_will_flag);
    RUN(mqtt_3_1_2_12_will_qos_3_is_malformed);
    RUN(mqtt_3_1_2_13_will_retain_without_will_flag);
    RUN(mqtt_3_1_2_9_will_fields_must_be_present);
    RUN(mqtt_3_1_2_16_no_user_name_without_flag);
    RUN(mqtt_3_1_2_17_user_name_with_flag);
    RUN(mqtt_3_1_2_18_no_password_without_flag);
    RUN(mqtt_3_1_2_19_password_with_flag);
    RUN(mqtt311_3_1_2_22_password_requires_user_name);
    RUN(mqtt_3_1_3_password_and_will_payload_are_binary);
    RUN(mqtt_3_1_3_3_client_id_must_be_present);
    RUN(mqtt_3_1_3_5_client_ids_of_1_to_23_alphanumerics);
    RUN(mqtt_3_1_3_1_payload_order);
    RUN(mqtt_3_1_3_4_client_id_must_be_utf8);
    RUN(mqtt_1_5_4_3_bom_is_kept);
    RUN(mqtt_1_5_4_strings_checked_at_every_position);
    RUN(mqtt_3_1_3_11_will_topic_must_be_utf8);
    RUN(mqtt_3_1_3_12_user_name_must_be_utf8);
    RUN(mqtt_3_1_2_truncated_variable_header_is_malformed);
    RUN(mqtt5_3_1_2_11_connect_property_values);
    RUN(mqtt5_will_properties_strings);
    RUN(connect_from_the_server_is_a_protocol_error);
    RUN(connack_round_trips);
    RUN(connack_5_all_properties_round_trip);
    RUN(connack_encode_exact_bytes);
    RUN(mqtt311_3_2_2_3_connack_return_codes);
    RUN(mqtt_3_2_2_8_connack_reason_codes);
    RUN(mqtt_3_2_2_1_connack_reserved_flags_are_malformed);
    RUN(mqtt_3_2_2_6_session_present_with_failure_code);
    RUN(mqtt5_3_2_2_3_connack_properties);
    RUN(connack_from_a_client_is_a_protocol_error);
    return testlib_finish();
}
