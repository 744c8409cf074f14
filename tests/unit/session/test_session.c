/* Session engine: byte-level dialogues per spec statement, server and client roles, each fed
 * whole, byte by byte and split at random points (same events, same bytes out).
 * SPDX-License-Identifier: MIT */
#include "session_rig.h"

/* Run one server dialogue in all three feeding modes. */
static void dialogue_at(const char *file, int line, uint32_t role, void (*setup)(rig *),
                        const char *in, const char *out, const char *log) {
    for (int mode = 0; mode < 3; mode++) {
        rig r;
        rig_init_cfg(&r, role, 0);
        if (setup)
            setup(&r);
        if (rig_start(&r) != 0) {
            testlib_fail(file, line, "rig_start failed");
            return;
        }
        if (role == MQWS_SESSION_CLIENT) {
            /* CONNECT "c1", keep alive 10, clean start; its bytes open the expected output */
            mqws_packet c;
            mqws_packet_init(&c, MQWS_PKT_CONNECT);
            c.client_id = mqws_view_cstr("c1");
            c.keep_alive = 10;
            c.clean_start = 1;
            if (mqws_session_connect(r.s, &c) != MQWS_OK)
                testlib_fail(file, line, "connect failed");
            rig_drain(&r);
        }
        rig_feed_hex(&r, in, mode);
        if (!rig_out_is(&r, out) || strcmp(r.log, log) != 0) {
            testlib_fail(file, line, "dialogue differs (feed mode %d); expected out %s log:\n%s",
                         mode, out, log);
            rig_dump(&r);
        }
        rig_stop(&r);
        testlib_alloc_check_clean(&r.ta, file, line);
    }
}
#define DIALOGUE(setup, in, out, log)                                                              \
    dialogue_at(__FILE__, __LINE__, MQWS_SESSION_SERVER, setup, in, out, log)
#define CLIENT_DIALOGUE(setup, in, out, log)                                                       \
    dialogue_at(__FILE__, __LINE__, MQWS_SESSION_CLIENT, setup, in, out, log)

/* Common packets */
#define CONNECT311_C1    "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31 "
#define CONNACK311       "20 02 00 00 "
#define CONNECT5_C1      "10 0f 00 04 4d 51 54 54 05 02 00 3c 00 00 02 63 31 "
#define CONNACK5_DEFAULT "20 0e 00 00 0b 21 00 40 22 00 10 27 00 10 00 00 "

/* ------------------------------------------------------------------------------------------ */
/* CONNECT */

TEST(mqtt_3_1_4_connect_accepted_311) {
    DIALOGUE(NULL, CONNECT311_C1, CONNACK311, "CONNECT id=c1 v4 ka=60 clean=1 will=0\n");
}

TEST(mqtt_3_1_4_connect_accepted_5_capabilities_in_connack) {
    DIALOGUE(NULL, CONNECT5_C1, CONNACK5_DEFAULT, "CONNECT id=c1 v5 ka=60 clean=1 will=0\n");
}

TEST(mqtt_3_1_0_1_first_packet_must_be_connect) {
    DIALOGUE(NULL, "c0 00", "", "CLOSE MQWS_EPROTO rc=82 peer=0\n  [MQTT-3.1.0-1]\n");
}

TEST(mqtt_3_1_0_2_second_connect_is_protocol_error_311) {
    /* 3.1.1: close without a DISCONNECT; nothing after the second CONNECT is processed. */
    DIALOGUE(NULL, CONNECT311_C1 CONNECT311_C1 "c0 00", CONNACK311,
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\n"
             "CLOSE MQWS_EPROTO rc=82 peer=0\n  [MQTT-3.1.0-2]\n");
}

TEST(mqtt_3_1_0_2_second_connect_5_disconnect_0x82) {
    DIALOGUE(NULL, CONNECT5_C1 CONNECT5_C1 "c0 00", CONNACK5_DEFAULT "e0 01 82",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\n"
             "CLOSE MQWS_EPROTO rc=82 peer=0\n  [MQTT-3.1.0-2]\n");
}

TEST(mqtt_3_1_2_2_unsupported_level_311_gets_0x01) {
    /* Protocol level 6 with name MQTT, answered 5.0-style 0x84; level 2 (unknown, older) 0x01. */
    DIALOGUE(NULL, "10 0e 00 04 4d 51 54 54 02 02 00 3c 00 02 63 31", "20 02 00 01",
             "CLOSE MQWS_EUNSUPPORTED rc=84 peer=0\n  [MQTT-3.1.2-2]\n");
}

static void setup_no_v31(rig *r) { (void)r; }

TEST(mqtt_3_1_2_2_mqtt31_refused_unless_allowed) {
    DIALOGUE(setup_no_v31, "10 10 00 06 4d 51 49 73 64 70 03 02 00 3c 00 02 63 31", "20 02 00 01",
             "CLOSE MQWS_EUNSUPPORTED rc=84 peer=0\n  [MQTT-3.1.2-2]\n");
}

static void setup_v31(rig *r) { r->cfg.flags |= MQWS_SESSION_ALLOW_V31; }

TEST(mqtt31_accepted_when_allowed) {
    DIALOGUE(setup_v31, "10 10 00 06 4d 51 49 73 64 70 03 02 00 3c 00 02 63 31", "20 02 00 00",
             "CONNECT id=c1 v3 ka=60 clean=1 will=0\n");
}

TEST(mqtt_3_1_3_8_empty_id_without_clean_session_refused_0x02) {
    DIALOGUE(NULL, "10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00", "20 02 00 02",
             "CLOSE MQWS_EPROTO rc=85 peer=0\n  [MQTT-3.1.3-8]\n");
}

TEST(mqtt_3_1_3_6_empty_id_with_clean_session_assigned_311) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", FEED_WHOLE);
    CHECK_OUT(&r, CONNACK311);
    CHECK_INT(mqws_session_client_id(r.s).len, 21);
    CHECK(memcmp(mqws_session_client_id(r.s).ptr, "mqws-", 5) == 0);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt_3_2_2_16_assigned_client_identifier_5) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00", FEED_WHOLE);
    /* CONNACK: receive max, assigned client id (0x12, 21 bytes), topic alias max, max size */
    CHECK_INT(r.out_len, 2 + 3 + 11 + 3 + 21);
    CHECK_INT(r.out[1], 3 + 11 + 3 + 21);
    CHECK_INT(r.out[5], 0x12);
    CHECK(memcmp(r.out + 8, mqws_session_client_id(r.s).ptr, 21) == 0);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

static void setup_no_empty(rig *r) { r->cfg.flags |= MQWS_SESSION_NO_EMPTY_CLIENT_ID; }

TEST(empty_id_refused_0x85_when_configured) {
    DIALOGUE(setup_no_empty, "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00", "20 03 00 85 00",
             "CLOSE MQWS_EPROTO rc=85 peer=0\n  [MQTT-3.1.3-8]\n");
}

static void setup_reject(rig *r) {
    r->connect_mode = 2;
    r->reject_reason = MQWS_RC_BAD_USER_NAME_OR_PASSWORD;
}

TEST(auth_refused_311_return_code_4) {
    DIALOGUE(setup_reject, CONNECT311_C1 "c0 00", "20 02 00 04",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nCLOSE MQWS_EHANDSHAKE rc=86 peer=0\n");
}

TEST(auth_refused_5_reason_0x86) {
    DIALOGUE(setup_reject, CONNECT5_C1 "c0 00", "20 03 00 86 00",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_EHANDSHAKE rc=86 peer=0\n");
}

static void setup_defer(rig *r) { r->connect_mode = 1; }

TEST(async_auth_answered_later) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    setup_defer(&r);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT311_C1, FEED_WHOLE);
    CHECK_INT(r.out_len, 0);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTING);
    CHECK_INT(mqws_session_accept(r.s, 0, NULL), MQWS_OK);
    rig_drain(&r);
    CHECK_OUT(&r, CONNACK311);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    CHECK_INT(mqws_session_accept(r.s, 0, NULL), MQWS_ESTATE);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(async_auth_times_out) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    setup_defer(&r);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT311_C1, FEED_WHOLE);
    rig_tick(&r, 1000 + 9999);
    CHECK_INT(r.out_len, 0);
    rig_tick(&r, 1000 + 10000);
    CHECK_OUT(&r, "20 02 00 03");
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_EXPIRED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(connect_timeout_without_connect) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    CHECK_INT(mqws_session_tick(r.s, 1000), 11000);
    rig_tick(&r, 11000);
    CHECK(!mqws_session_want_read(r.s));
    CHECK_LOG(&r, "CLOSE MQWS_EHANDSHAKE rc=a0 peer=0\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* Keepalive */

TEST(mqtt_3_1_2_24_keepalive_closes_after_one_and_a_half) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT5_C1, FEED_WHOLE); /* keep alive 60 s */
    CHECK_INT(mqws_session_tick(r.s, 1000), 1000 + 90000);
    rig_tick(&r, 50000);
    rig_feed_hex(&r, "c0 00", FEED_WHOLE); /* a packet restarts the timer */
    CHECK_INT(mqws_session_tick(r.s, 50000), 50000 + 90000);
    rig_tick(&r, 50000 + 89999);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    r.out_len = 0;
    rig_tick(&r, 50000 + 90000);
    CHECK_OUT(&r, "e0 01 8d");
    CHECK(!mqws_session_want_read(r.s));
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(keepalive_zero_means_no_timeout) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, "10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 63 31", FEED_WHOLE);
    CHECK(mqws_session_tick(r.s, 1000000) == INT64_MAX);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

static void setup_server_ka(rig *r) { r->cfg.server_keep_alive = 10; }

TEST(server_keep_alive_overrides_and_is_announced) {
    /* CONNACK gains Server Keep Alive 10 (0x13 00 0a) */
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    setup_server_ka(&r);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT5_C1, FEED_WHOLE);
    CHECK_OUT(&r, "20 11 00 00 0e 13 00 0a 21 00 40 22 00 10 27 00 10 00 00");
    CHECK_INT(mqws_session_keep_alive(r.s), 10);
    CHECK_INT(mqws_session_tick(r.s, 1000), 16000);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* PUBLISH in */

TEST(mqtt_4_3_1_qos0_delivered_no_ack) {
    DIALOGUE(NULL, CONNECT311_C1 "30 07 00 03 61 2f 62 68 69", CONNACK311,
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nPUBLISH a/b q0 r0 d0 id=0 hi\n");
}

TEST(mqtt_4_3_2_qos1_puback) {
    DIALOGUE(NULL, CONNECT311_C1 "32 09 00 03 61 2f 62 00 07 68 69", CONNACK311 "40 02 00 07",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nPUBLISH a/b q1 r0 d0 id=7 hi\n");
}

TEST(mqtt_4_3_3_qos2_delivered_once_until_pubrel) {
    DIALOGUE(NULL,
             CONNECT311_C1 "34 09 00 03 61 2f 62 00 05 68 69"
                           "3c 09 00 03 61 2f 62 00 05 68 69" /* resend with DUP */
                           "62 02 00 05"                      /* PUBREL */
                           "62 02 00 05",                     /* PUBREL again: still PUBCOMP */
             CONNACK311 "50 02 00 05 50 02 00 05 70 02 00 05 70 02 00 05",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nPUBLISH a/b q2 r0 d0 id=5 hi\n");
}

TEST(mqtt_4_3_3_pubrel_unknown_id_5_pubcomp_0x92) {
    DIALOGUE(NULL, CONNECT5_C1 "62 02 00 09", CONNACK5_DEFAULT "70 03 00 09 92",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\n");
}

static void setup_recv_max_1(rig *r) { r->cfg.receive_maximum = 1; }

TEST(mqtt_4_9_0_receive_maximum_exceeded_0x93) {
    DIALOGUE(setup_recv_max_1,
             CONNECT5_C1 "34 0a 00 03 61 2f 62 00 01 00 68 69"
                         "34 0a 00 03 61 2f 62 00 02 00 68 69",
             "20 0e 00 00 0b 21 00 01 22 00 10 27 00 10 00 00 50 02 00 01 e0 01 93",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nPUBLISH a/b q2 r0 d0 id=1 hi\n"
             "CLOSE MQWS_EPROTO rc=93 peer=0\n  [MQTT-3.3.4-9]\n");
}

/* 3.1.1 has no Receive Maximum: a client pipelining more QoS 2 messages than the configured
 * 5.0 window is not disconnected; each gets its PUBREC. */
TEST(mqtt311_no_receive_maximum_for_inbound_qos2) {
    DIALOGUE(setup_recv_max_1,
             CONNECT311_C1 "34 09 00 03 61 2f 62 00 01 68 69"
                           "34 09 00 03 61 2f 62 00 02 68 69"
                           "34 09 00 03 61 2f 62 00 03 68 69",
             CONNACK311 "50 02 00 01 50 02 00 02 50 02 00 03",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nPUBLISH a/b q2 r0 d0 id=1 hi\n"
             "PUBLISH a/b q2 r0 d0 id=2 hi\nPUBLISH a/b q2 r0 d0 id=3 hi\n");
}

static void setup_refuse_publish(rig *r) { r->publish_reason = MQWS_RC_NOT_AUTHORIZED; }

TEST(publish_refused_by_host_5_puback_reason) {
    DIALOGUE(setup_refuse_publish, CONNECT5_C1 "32 0a 00 03 61 2f 62 00 07 00 68 69",
             CONNACK5_DEFAULT "40 03 00 07 87",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nPUBLISH a/b q1 r0 d0 id=7 hi\n");
}

TEST(publish_refused_by_host_311_closes) {
    DIALOGUE(setup_refuse_publish, CONNECT311_C1 "32 09 00 03 61 2f 62 00 07 68 69", CONNACK311,
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nPUBLISH a/b q1 r0 d0 id=7 hi\n"
             "CLOSE MQWS_EPROTO rc=87 peer=0\n");
}

TEST(mqtt_3_3_2_topic_alias_set_and_used) {
    DIALOGUE(NULL,
             CONNECT5_C1 "30 0b 00 03 61 2f 62 03 23 00 02 68 69" /* alias 2 = a/b */
                         "30 08 00 00 03 23 00 02 79 6f",         /* alias 2 only */
             CONNACK5_DEFAULT,
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nPUBLISH a/b q0 r0 d0 id=0 hi\n"
             "PUBLISH a/b q0 r0 d0 id=0 yo\n");
}

TEST(mqtt_3_3_2_9_topic_alias_above_maximum_0x94) {
    DIALOGUE(NULL, CONNECT5_C1 "30 0b 00 03 61 2f 62 03 23 00 11 68 69",
             CONNACK5_DEFAULT "e0 01 94",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\n"
             "CLOSE MQWS_EPROTO rc=94 peer=0\n  [MQTT-3.3.2-9]\n");
}

TEST(topic_alias_unmapped_is_protocol_error) {
    DIALOGUE(NULL, CONNECT5_C1 "30 08 00 00 03 23 00 03 79 6f", CONNACK5_DEFAULT "e0 01 82",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_EPROTO rc=82 peer=0\n");
}

static void setup_max_packet_20(rig *r) { r->cfg.maximum_packet_size = 20; }

TEST(maximum_packet_size_inbound_refused_from_header_0x95) {
    /* announced remaining length 0x7f: refused before the body arrives */
    DIALOGUE(setup_max_packet_20, CONNECT5_C1 "30 7f 00",
             "20 0e 00 00 0b 21 00 40 22 00 10 27 00 00 00 14 e0 01 95",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_ETOOBIG rc=95 peer=0\n"
             "  [MQTT-3.2.2-15]\n");
}

static void setup_max_qos1(rig *r) { r->cfg.maximum_qos = 1; }

TEST(mqtt_3_2_2_11_qos_above_maximum_0x9b) {
    DIALOGUE(setup_max_qos1, CONNECT5_C1 "34 0a 00 03 61 2f 62 00 01 00 68 69",
             "20 10 00 00 0d 21 00 40 22 00 10 24 01 27 00 10 00 00 e0 01 9b",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\n"
             "CLOSE MQWS_EPROTO rc=9b peer=0\n  [MQTT-3.2.2-11]\n");
}

TEST(malformed_packet_5_disconnect_0x81) {
    /* PUBLISH with QoS 3 [MQTT-3.3.1-4] */
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT5_C1 "36 0a 00 03 61 2f 62 00 01 00 68 69", FEED_WHOLE);
    CHECK_OUT(&r, CONNACK5_DEFAULT "e0 01 81");
    CHECK_INT(r.last_rc, MQWS_EMALFORMED);
    CHECK_INT(mqws_session_recv(r.s, (const uint8_t *)"\xc0\x00", 2), MQWS_ECLOSED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* SUBSCRIBE */

TEST(mqtt_3_9_3_suback_per_filter_verdicts_311) {
    DIALOGUE(NULL, CONNECT311_C1 "82 0e 00 01 00 03 61 2f 62 01 00 03 63 2f 23 02",
             CONNACK311 "90 04 00 01 01 02",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nSUBSCRIBE n=2 01 02\n");
}

TEST(suback_granted_qos_capped_by_maximum_qos) {
    DIALOGUE(setup_max_qos1, CONNECT311_C1 "82 08 00 01 00 03 61 2f 62 02",
             CONNACK311 "90 03 00 01 01",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nSUBSCRIBE n=1 01\n");
}

static void setup_sub_refuse(rig *r) { r->sub_override = MQWS_RC_NOT_AUTHORIZED; }

TEST(suback_failure_311_is_0x80) {
    DIALOGUE(setup_sub_refuse, CONNECT311_C1 "82 08 00 01 00 03 61 2f 62 02",
             CONNACK311 "90 03 00 01 80",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nSUBSCRIBE n=1 87\n");
}

TEST(suback_failure_5_keeps_reason) {
    DIALOGUE(setup_sub_refuse, CONNECT5_C1 "82 09 00 01 00 00 03 61 2f 62 02",
             CONNACK5_DEFAULT "90 04 00 01 00 87",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nSUBSCRIBE n=1 87\n");
}

static void setup_no_wild(rig *r) { r->cfg.wildcard_sub_available = 0; }

TEST(wildcard_not_available_0xa2) {
    DIALOGUE(setup_no_wild, CONNECT5_C1 "82 09 00 01 00 00 03 61 2f 23 02",
             "20 10 00 00 0d 21 00 40 22 00 10 27 00 10 00 00 28 00 90 04 00 01 00 a2",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nSUBSCRIBE n=1 a2\n");
}

TEST(mqtt_3_11_unsuback_311_and_5) {
    DIALOGUE(NULL, CONNECT311_C1 "a2 07 00 02 00 03 61 2f 62", CONNACK311 "b0 02 00 02",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\nUNSUBSCRIBE n=1\n");
    DIALOGUE(NULL, CONNECT5_C1 "a2 08 00 02 00 00 03 61 2f 62",
             CONNACK5_DEFAULT "b0 04 00 02 00 00",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nUNSUBSCRIBE n=1 00\n");
}

TEST(mqtt_3_12_pingreq_pingresp) {
    DIALOGUE(NULL, CONNECT311_C1 "c0 00 c0 00", CONNACK311 "d0 00 d0 00",
             "CONNECT id=c1 v4 ka=60 clean=1 will=0\n");
}

/* ------------------------------------------------------------------------------------------ */
/* DISCONNECT and will */

/* CONNECT 3.1.1 with will: topic "w", message "bye", QoS 1, clean session. */
#define CONNECT311_WILL "10 16 00 04 4d 51 54 54 04 0e 00 3c 00 02 63 31 00 01 77 00 03 62 79 65 "

TEST(mqtt_3_1_2_10_disconnect_deletes_will) {
    DIALOGUE(NULL, CONNECT311_WILL "e0 00", CONNACK311,
             "CONNECT id=c1 v4 ka=60 clean=1 will=1\nCLOSE MQWS_OK rc=00 peer=1 disconnect\n");
}

TEST(mqtt_3_1_2_8_will_published_on_protocol_error) {
    DIALOGUE(NULL, CONNECT311_WILL CONNECT311_C1, CONNACK311,
             "CONNECT id=c1 v4 ka=60 clean=1 will=1\nWILL w q1 bye\n"
             "CLOSE MQWS_EPROTO rc=82 peer=0\n  [MQTT-3.1.0-2]\n");
}

TEST(will_published_when_connection_lost) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT311_WILL, FEED_WHOLE);
    mqws_session_eof(r.s);
    CHECK_LOG(&r, "CONNECT id=c1 v4 ka=60 clean=1 will=1\nWILL w q1 bye\n"
                  "CLOSE MQWS_ECLOSED rc=80 peer=1\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* 5.0 CONNECT: will delay 5 s, session expiry 10 s, will "w"/"bye" QoS 0. */
#define CONNECT5_WILL_DELAY                                                                        \
    "10 22 00 04 4d 51 54 54 05 06 00 3c 05 11 00 00 00 0a 00 02 63 31 05 18 00 00 00 05 00 01 "   \
    "77 "                                                                                          \
    "00 03 62 79 65 "

TEST(mqtt_3_1_3_9_will_delay_then_session_expiry) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT5_WILL_DELAY, FEED_WHOLE);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    CHECK_INT(mqws_session_expiry_interval(r.s), 10);
    rig_tick(&r, 2000);
    mqws_session_eof(r.s);
    CHECK_INT(mqws_session_tick(r.s, 2000), 7000);
    rig_tick(&r, 6999);
    CHECK(strstr(r.log, "WILL") == NULL);
    rig_tick(&r, 7000);
    CHECK(strstr(r.log, "WILL w q0 bye\n") != NULL);
    CHECK_INT(mqws_session_tick(r.s, 7000), 12000);
    rig_tick(&r, 12000);
    CHECK(strstr(r.log, "EXPIRED\n") != NULL);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_EXPIRED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* Outbound messages (server -> client) */

static void server_connected(rig *r, const char *connect_hex) {
    CHECK(rig_start(r) == 0);
    rig_feed_hex(r, connect_hex, FEED_WHOLE);
    r->out_len = 0;
    r->log_len = 0;
    r->log[0] = 0;
}

static int publish(rig *r, const char *topic, const char *payload, uint8_t qos, mqws_slice *sl,
                   uint16_t *pid) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr(topic);
    p.payload = mqws_view_cstr(payload);
    p.qos = qos;
    int rc = mqws_session_publish(r->s, &p, sl, pid);
    rig_drain(r);
    return rc;
}

TEST(outbound_qos0_zero_copy_slice_shared) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT311_C1);
    mqws_slice *sl = mqws_slice_new(&r.ta.a, "hi", 2);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a/b");
    CHECK_INT(mqws_session_publish(r.s, &p, sl, NULL), MQWS_OK);
    CHECK_INT(mqws_slice_refcount(sl), 2); /* queued by reference */
    mqws_iovec iov[4];
    CHECK_INT(mqws_session_pending(r.s, iov, 4), 2);
    CHECK(iov[1].base == mqws_slice_view(sl).ptr); /* the payload is not copied */
    rig_drain(&r);
    CHECK_INT(mqws_slice_refcount(sl), 1);
    CHECK_OUT(&r, "30 07 00 03 61 2f 62 68 69");
    mqws_slice_unref(sl);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt_4_3_2_outbound_qos1_until_puback) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT311_C1);
    uint16_t pid = 0;
    CHECK_INT(publish(&r, "a/b", "hi", 1, NULL, &pid), MQWS_OK);
    CHECK_INT(pid, 1);
    CHECK_OUT(&r, "32 09 00 03 61 2f 62 00 01 68 69");
    mqws_session_stats st;
    mqws_session_get_stats(r.s, &st);
    CHECK_INT(st.inflight_out, 1);
    rig_feed_hex(&r, "40 02 00 01", FEED_WHOLE);
    CHECK_LOG(&r, "ACK PUBACK id=1 rc=00\n");
    mqws_session_get_stats(r.s, &st);
    CHECK_INT(st.inflight_out, 0);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt_4_3_3_outbound_qos2_pubrec_pubrel_pubcomp) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT311_C1);
    uint16_t pid = 0;
    CHECK_INT(publish(&r, "a/b", "hi", 2, NULL, &pid), MQWS_OK);
    rig_feed_hex(&r, "50 02 00 01", FEED_WHOLE);
    rig_feed_hex(&r, "70 02 00 01", FEED_WHOLE);
    CHECK_OUT(&r, "34 09 00 03 61 2f 62 00 01 68 69 62 02 00 01");
    CHECK_LOG(&r, "ACK PUBCOMP id=1 rc=00\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* 5.0 CONNECT with Receive Maximum 1 and Topic Alias Maximum 2, Maximum Packet Size 30. */
#define CONNECT5_RM1                                                                               \
    "10 1a 00 04 4d 51 54 54 05 02 00 3c 0b 21 00 01 22 00 02 27 00 00 00 1e 00 02 63 31 "

TEST(mqtt_4_9_0_outbound_receive_maximum_honoured_in_order) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.outbound_alias_maximum = 0;
    server_connected(&r, CONNECT5_RM1);
    uint16_t p1, p2, p3;
    CHECK_INT(publish(&r, "a", "1", 1, NULL, &p1), MQWS_OK);
    CHECK_INT(publish(&r, "a", "2", 1, NULL, &p2), MQWS_OK); /* waits: window 1 */
    CHECK_INT(publish(&r, "a", "3", 0, NULL, &p3), MQWS_OK); /* waits behind it (§4.6) */
    CHECK_OUT(&r, "32 07 00 01 61 00 01 00 31");
    rig_feed_hex(&r, "40 02 00 01", FEED_WHOLE);
    CHECK_OUT(&r, "32 07 00 01 61 00 01 00 31 32 07 00 01 61 00 02 00 32 30 05 00 01 61 00 33");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt_3_3_2_outbound_topic_alias_lru) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT5_RM1);
    CHECK_INT(publish(&r, "a", "1", 0, NULL, NULL), MQWS_OK); /* alias 1 = a */
    CHECK_INT(publish(&r, "a", "2", 0, NULL, NULL), MQWS_OK); /* alias 1 only */
    CHECK_INT(publish(&r, "b", "3", 0, NULL, NULL), MQWS_OK); /* alias 2 = b */
    CHECK_INT(publish(&r, "c", "4", 0, NULL, NULL), MQWS_OK); /* replaces LRU: a */
    CHECK_OUT(&r, "30 08 00 01 61 03 23 00 01 31"
                  "30 07 00 00 03 23 00 01 32"
                  "30 08 00 01 62 03 23 00 02 33"
                  "30 08 00 01 63 03 23 00 01 34");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt_3_1_2_25_too_large_for_client_is_dropped) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT5_RM1);
    CHECK_INT(publish(&r, "a", "0123456789012345678901234567890123456789", 0, NULL, NULL),
              MQWS_ETOOBIG);
    CHECK_INT(r.out_len, 0);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(message_expiry_decremented_on_delivery) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.outbound_alias_maximum = 0;
    server_connected(&r, CONNECT5_RM1);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a");
    p.qos = 1;
    p.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    p.props.message_expiry = 10;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK);
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK); /* waits for the window */
    rig_tick(&r, 1000 + 3500);
    rig_feed_hex(&r, "40 02 00 01", FEED_WHOLE);
    /* the second goes out with 10 - 3.5 = 6.5 -> 7 seconds left */
    CHECK_OUT(&r, "32 0b 00 01 61 00 01 05 02 00 00 00 0a 32 0b 00 01 61 00 02 05 02 00 00 00 07");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(expired_message_is_dropped_from_queue) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.outbound_alias_maximum = 0;
    server_connected(&r, CONNECT5_RM1);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a");
    p.qos = 1;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK);
    p.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    p.props.message_expiry = 1;
    p.topic = mqws_view_cstr("x");
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK);
    rig_tick(&r, 5000);
    rig_feed_hex(&r, "40 02 00 01", FEED_WHOLE);
    CHECK_LOG(&r, "ACK PUBACK id=1 rc=00\nDROP x MQWS_ECLOSED\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(queue_limit_drops_oldest_qos0_first) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.queue_max_messages = 2;
    r.cfg.outbound_alias_maximum = 0;
    server_connected(&r, CONNECT5_RM1);
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK); /* in flight */
    CHECK_INT(publish(&r, "b", "3", 1, NULL, NULL), MQWS_OK); /* queued */
    CHECK_INT(publish(&r, "q", "2", 0, NULL, NULL), MQWS_OK); /* queued behind it */
    CHECK_INT(publish(&r, "c", "4", 1, NULL, NULL), MQWS_OK); /* drops "q" */
    CHECK_INT(publish(&r, "d", "5", 1, NULL, NULL), MQWS_ELIMIT);
    CHECK_LOG(&r, "DROP q MQWS_ELIMIT\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* Persistent sessions */

/* 3.1.1 CONNECT, clean session 0, id c1 */
#define CONNECT311_PERSIST "10 0e 00 04 4d 51 54 54 04 00 00 3c 00 02 63 31 "

static void cb_connect_takeover(mqws_session *s, const mqws_packet *c, void *user) {
    rig *r = user;
    (void)c;
    mqws_session *old = (mqws_session *)(void *)r->log; /* placeholder, replaced below */
    (void)old;
    mqws_session_accept(s, r->session_present, NULL);
}

static mqws_session *g_old;
static void cb_connect_resume(mqws_session *s, const mqws_packet *c, void *user) {
    rig *r = user;
    rig_logf(r, "CONNECT id=%.*s resume\n", (int)c->client_id.len, (const char *)c->client_id.ptr);
    int sp = g_old && mqws_session_takeover(s, g_old) == MQWS_OK;
    mqws_session_accept(s, sp, NULL);
}

TEST(mqtt_4_4_0_1_resume_resends_with_dup_and_offline_queue) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT311_PERSIST);
    (void)cb_connect_takeover;
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK);
    CHECK_INT(publish(&r, "b", "2", 2, NULL, NULL), MQWS_OK);
    rig_feed_hex(&r, "50 02 00 02", FEED_WHOLE); /* PUBREC for 2: PUBREL goes out */
    mqws_session_eof(r.s);                       /* connection lost */
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CLOSED);
    CHECK_INT(publish(&r, "c", "3", 1, NULL, NULL), MQWS_OK);      /* offline queue */
    CHECK_INT(publish(&r, "d", "4", 0, NULL, NULL), MQWS_ECLOSED); /* QoS 0 not kept offline */
    g_old = r.s;
    /* A new connection for the same client resumes the session. */
    mqws_session *old = r.s;
    r.out_len = 0;
    mqws_callbacks_set_on_connect(r.cb, cb_connect_resume);
    r.s = mqws_session_new(&r.cfg, r.cb, &r, r.now);
    rig_feed_hex(&r, CONNECT311_PERSIST, FEED_WHOLE);
    CHECK_OUT(&r, "20 02 01 00"
                  "3a 06 00 01 61 00 01 31" /* DUP resend */
                  "62 02 00 02"             /* PUBREL resent */
                  "32 06 00 01 63 00 03 33" /* the offline message */);
    mqws_session_free(old);
    g_old = NULL;
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt_3_1_4_3_takeover_of_live_session_5_disconnect_0x8e) {
    rig r1, r2;
    rig_init_cfg(&r1, MQWS_SESSION_SERVER, 0);
    server_connected(&r1, CONNECT5_C1);
    rig_init_cfg(&r2, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r2) == 0);
    mqws_callbacks_set_on_connect(r2.cb, cb_connect_resume);
    g_old = r1.s;
    rig_feed_hex(&r2, CONNECT5_C1, FEED_WHOLE);
    g_old = NULL;
    CHECK_OUT(&r2, "20 0e 00 00 0b 21 00 40 22 00 10 27 00 10 00 00"); /* clean start: sp 0 */
    rig_drain(&r1);
    CHECK_OUT(&r1, "e0 01 8e");
    CHECK_LOG(&r1, "CLOSE MQWS_ECLOSED rc=8e peer=0\n");
    rig_stop(&r1);
    rig_stop(&r2);
    CHECK_ALLOC_CLEAN(&r1.ta);
    CHECK_ALLOC_CLEAN(&r2.ta);
}

#define CONNECT31_PERSIST "10 10 00 06 4d 51 49 73 64 70 03 00 00 3c 00 02 63 31 "

TEST(mqtt31_session_resumed_without_session_present_on_the_wire) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.flags |= MQWS_SESSION_ALLOW_V31;
    server_connected(&r, CONNECT31_PERSIST);
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK);
    mqws_session_eof(r.s);
    mqws_session *old = r.s;
    g_old = old;
    r.out_len = 0;
    mqws_callbacks_set_on_connect(r.cb, cb_connect_resume);
    r.s = mqws_session_new(&r.cfg, r.cb, &r, r.now);
    rig_feed_hex(&r, CONNECT31_PERSIST, FEED_WHOLE);
    CHECK_OUT(&r, "20 02 00 00 3a 06 00 01 61 00 01 31"); /* flag 0, message still resent */
    mqws_session_free(old);
    g_old = NULL;
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(publish_encoded_header_shared_payload) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    server_connected(&r, CONNECT311_C1);
    static const uint8_t hdr[] = {0x30, 0x07, 0x00, 0x03, 'a', '/', 'b'};
    mqws_view h = {hdr, sizeof(hdr)};
    mqws_slice *sl = mqws_slice_new(&r.ta.a, "hi", 2);
    CHECK_INT(mqws_session_publish_encoded(r.s, h, sl), MQWS_OK);
    CHECK_INT(mqws_slice_refcount(sl), 2);
    rig_drain(&r);
    CHECK_OUT(&r, "30 07 00 03 61 2f 62 68 69");
    mqws_view bad = {hdr + 1, 3};
    CHECK_INT(mqws_session_publish_encoded(r.s, bad, sl), MQWS_EINVAL);
    mqws_slice_unref(sl);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(publish_encoded_refuses_when_messages_wait) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.outbound_alias_maximum = 0;
    server_connected(&r, CONNECT5_RM1); /* receive maximum 1, maximum packet size 30 */
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK);
    CHECK_INT(publish(&r, "a", "2", 1, NULL, NULL), MQWS_OK); /* waits */
    static const uint8_t hdr[] = {0x30, 0x04, 0x00, 0x01, 'a', 0x00};
    mqws_view h = {hdr, sizeof(hdr)};
    CHECK_INT(mqws_session_publish_encoded(r.s, h, NULL), MQWS_ESTATE); /* keeps §4.6 order */
    rig_feed_hex(&r, "40 02 00 01 40 02 00 02", FEED_WHOLE);
    CHECK_INT(mqws_session_publish_encoded(r.s, h, NULL), MQWS_OK);
    mqws_slice *big = mqws_slice_new(&r.ta.a, "0123456789012345678901234567890123", 34);
    CHECK_INT(mqws_session_publish_encoded(r.s, h, big), MQWS_ETOOBIG);
    mqws_slice_unref(big);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(set_now_moves_the_clock_without_timers) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.outbound_alias_maximum = 0;
    server_connected(&r, CONNECT5_RM1);
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK); /* fills the window */
    mqws_session_set_now(r.s, 1000 + 10 * 90000);             /* past keep alive: no close */
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("x");
    p.qos = 1;
    p.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    p.props.message_expiry = 5;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK); /* expires at now + 5 s */
    mqws_session_set_now(r.s, 1000 + 10 * 90000 + 4000);
    rig_feed_hex(&r, "40 02 00 01", FEED_WHOLE);
    /* 1 second left: sent with Message Expiry Interval 1 */
    CHECK_OUT(&r, "32 07 00 01 61 00 01 00 31 32 0b 00 01 78 00 02 05 02 00 00 00 01");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* Client role */

static void client_connect(rig *r, uint8_t level, uint8_t clean) {
    mqws_packet c;
    mqws_packet_init(&c, MQWS_PKT_CONNECT);
    c.client_id = mqws_view_cstr("c1");
    c.keep_alive = 10;
    c.clean_start = clean;
    (void)level;
    CHECK_INT(mqws_session_connect(r->s, &c), MQWS_OK);
}

static void setup_client311(rig *r) { r->cfg.protocol_level = MQWS_MQTT_311; }

TEST(client_connect_311_and_connack) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client311(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 4, 1);
    rig_drain(&r);
    CHECK_OUT(&r, "10 0e 00 04 4d 51 54 54 04 02 00 0a 00 02 63 31");
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE);
    CHECK_LOG(&r, "CONNACK sp=0 rc=00\n");
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_connect_5_sends_limits) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 5, 1);
    rig_drain(&r);
    CHECK_OUT(&r, "10 1a 00 04 4d 51 54 54 05 02 00 0a 0b 21 00 40 22 00 10 27 00 10 00 00 00 02 "
                  "63 31");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_keepalive_pingreq_and_timeout) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client311(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 4, 1);
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE);
    r.out_len = 0;
    CHECK_INT(mqws_session_tick(r.s, 1000), 11000);
    rig_tick(&r, 11000);
    CHECK_OUT(&r, "c0 00");
    rig_feed_hex(&r, "d0 00", FEED_WHOLE);
    CHECK_INT(mqws_session_tick(r.s, 11000), 21000);
    rig_tick(&r, 21000);
    rig_tick(&r, 31000); /* no PINGRESP within keep alive: close */
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CLOSED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_subscribe_publish_qos2_roundtrip) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client311(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 4, 1);
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE);
    r.out_len = 0;
    mqws_subscription sub = {mqws_view_cstr("a/b"), 1, 0, 0, 0};
    uint16_t pid = 0;
    CHECK_INT(mqws_session_subscribe(r.s, &sub, 1, NULL, &pid), MQWS_OK);
    CHECK_INT(pid, 1);
    rig_drain(&r);
    CHECK_OUT(&r, "82 08 00 01 00 03 61 2f 62 01");
    rig_feed_hex(&r, "90 03 00 01 01", FEED_WHOLE);
    CHECK_INT(publish(&r, "a/b", "hi", 2, NULL, &pid), MQWS_OK);
    CHECK_INT(pid, 2);
    rig_feed_hex(&r, "50 02 00 02 70 02 00 02", FEED_WHOLE);
    rig_feed_hex(&r, "32 09 00 03 61 2f 62 00 09 68 69", FEED_WHOLE);
    CHECK_OUT(&r,
              "82 08 00 01 00 03 61 2f 62 01 34 09 00 03 61 2f 62 00 02 68 69 62 02 00 02 40 02 "
              "00 09");
    CHECK_LOG(&r, "CONNACK sp=0 rc=00\nACK SUBACK id=1 rc=01\nACK PUBCOMP id=2 rc=00\n"
                  "PUBLISH a/b q1 r0 d0 id=9 hi\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_reconnect_resumes_with_dup) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client311(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 4, 0);
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE);
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK);
    mqws_session_eof(r.s);
    r.out_len = 0;
    client_connect(&r, 4, 0);
    rig_feed_hex(&r, "20 02 01 00", FEED_WHOLE);
    CHECK_OUT(&r, "10 0e 00 04 4d 51 54 54 04 00 00 0a 00 02 63 31 3a 06 00 01 61 00 01 31");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_first_packet_must_be_connack) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client311(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 4, 1);
    rig_feed_hex(&r, "d0 00", FEED_WHOLE);
    CHECK_INT(r.last_rc, MQWS_EPROTO);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */
/* Asynchronous accept with pipelined packets, enhanced authentication, re-authentication */

TEST(async_accept_processes_packets_pipelined_behind_connect) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    setup_defer(&r);
    CHECK(rig_start(&r) == 0);
    /* A client need not wait for CONNACK (§3.1.4): its PUBLISH and PINGREQ wait for the host. */
    rig_feed_hex(&r, CONNECT311_C1 "32 09 00 03 61 2f 62 00 07 68 69 c0 00", FEED_BYTES);
    CHECK_INT(r.out_len, 0);
    CHECK_LOG(&r, "CONNECT id=c1 v4 ka=60 clean=1 will=0\n");
    CHECK_INT(mqws_session_accept(r.s, 0, NULL), MQWS_OK);
    rig_drain(&r);
    CHECK_OUT(&r, CONNACK311 "40 02 00 07 d0 00");
    CHECK_LOG(&r, "CONNECT id=c1 v4 ka=60 clean=1 will=0\nPUBLISH a/b q1 r0 d0 id=7 hi\n");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

static mqws_props auth_props(const char *data) {
    mqws_props p;
    mqws_props_init(&p);
    p.present = MQWS_PROPF_AUTHENTICATION_METHOD;
    p.auth_method = mqws_view_cstr("m");
    if (data) {
        p.present |= MQWS_PROPF_AUTHENTICATION_DATA;
        p.auth_data = mqws_view_cstr(data);
    }
    return p;
}

static void cb_connect_enhanced(mqws_session *s, const mqws_packet *c, void *user) {
    rig_logf(user, "CONNECT method=%.*s\n", (int)c->props.auth_method.len,
             (const char *)c->props.auth_method.ptr);
    mqws_props p = auth_props("c1");
    CHECK_INT(mqws_session_auth(s, MQWS_RC_CONTINUE_AUTHENTICATION, &p), MQWS_OK);
}

static void cb_auth_enhanced(mqws_session *s, const mqws_packet *a, void *user) {
    rig_logf(user, "AUTH rc=%02x data=%.*s\n", a->reason_code, (int)a->props.auth_data.len,
             (const char *)a->props.auth_data.ptr);
    mqws_props p = auth_props(NULL);
    if (a->reason_code == MQWS_RC_REAUTHENTICATE)
        CHECK_INT(mqws_session_auth(s, 0x00, &p), MQWS_OK);
    else
        CHECK_INT(mqws_session_accept(s, 0, &p), MQWS_OK);
}

TEST(mqtt_4_12_enhanced_authentication_and_reauthentication) {
    for (int mode = 0; mode < 3; mode++) {
        rig r;
        rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
        CHECK(rig_start(&r) == 0);
        mqws_callbacks_set_on_connect(r.cb, cb_connect_enhanced);
        mqws_callbacks_set_on_auth(r.cb, cb_auth_enhanced);
        rig_feed_hex(&r,
                     "10 13 00 04 4d 51 54 54 05 02 00 3c 04 15 00 01 6d 00 02 63 31"
                     "f0 0b 18 09 15 00 01 6d 16 00 02 6f 6b" /* client continues */
                     "f0 0b 19 09 15 00 01 6d 16 00 02 72 61" /* later: re-authentication */,
                     mode);
        CHECK_OUT(&r, "f0 0b 18 09 15 00 01 6d 16 00 02 63 31"
                      "20 12 00 00 0f 15 00 01 6d 21 00 40 22 00 10 27 00 10 00 00"
                      "f0 06 00 04 15 00 01 6d");
        CHECK_LOG(&r, "CONNECT method=m\nAUTH rc=18 data=ok\nAUTH rc=19 data=ra\n");
        rig_stop(&r);
        CHECK_ALLOC_CLEAN(&r.ta);
    }
}

TEST(enhanced_auth_without_handler_refused_0x8c) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    mqws_callbacks_set_on_auth(r.cb, NULL);
    rig_feed_hex(&r, "10 13 00 04 4d 51 54 54 05 02 00 3c 04 15 00 01 6d 00 02 63 31", FEED_WHOLE);
    CHECK_OUT(&r, "20 03 00 8c 00");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(non_auth_packet_during_enhanced_auth_is_protocol_error) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    mqws_callbacks_set_on_connect(r.cb, cb_connect_enhanced);
    rig_feed_hex(&r, "10 13 00 04 4d 51 54 54 05 02 00 3c 04 15 00 01 6d 00 02 63 31 c0 00",
                 FEED_WHOLE);
    CHECK_INT(mqws_session_want_read(r.s), 0);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(session_expiry_set_at_disconnect_after_zero_is_protocol_error) {
    DIALOGUE(NULL, CONNECT5_C1 "e0 07 00 05 11 00 00 00 05", CONNACK5_DEFAULT "e0 01 82",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_EPROTO rc=82 peer=0\n");
}

TEST(disconnect_with_will_0x04_publishes_will_5) {
    /* 5.0 CONNECT with will "w"/"bye", no delay */
    DIALOGUE(NULL,
             "10 18 00 04 4d 51 54 54 05 06 00 3c 00 00 02 63 31 00 00 01 77 00 03 62 79 65"
             "e0 01 04",
             CONNACK5_DEFAULT,
             "CONNECT id=c1 v5 ka=60 clean=1 will=1\nWILL w q0 bye\n"
             "CLOSE MQWS_OK rc=04 peer=1 disconnect\n");
}

TEST(client_topic_alias_within_server_limit) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 5, 1);
    rig_feed_hex(&r, "20 06 00 00 03 22 00 01", FEED_WHOLE); /* server: alias maximum 1 */
    r.out_len = 0;
    CHECK_INT(publish(&r, "a", "1", 0, NULL, NULL), MQWS_OK);
    CHECK_INT(publish(&r, "a", "2", 0, NULL, NULL), MQWS_OK);
    CHECK_INT(publish(&r, "b", "3", 0, NULL, NULL), MQWS_OK);
    CHECK_OUT(&r, "30 08 00 01 61 03 23 00 01 31 30 07 00 00 03 23 00 01 32"
                  "30 08 00 01 62 03 23 00 01 33");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_honours_server_keep_alive_and_maximum_qos) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 5, 1);
    rig_feed_hex(&r, "20 08 00 00 05 13 00 05 24 00", FEED_WHOLE); /* keep alive 5, max QoS 0 */
    CHECK_INT(mqws_session_keep_alive(r.s), 5);
    CHECK_INT(mqws_session_tick(r.s, 1000), 6000);
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_EINVAL); /* [MQTT-3.2.2-11] */
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_session_not_present_drops_unacknowledged) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client311(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 4, 0);
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE);
    CHECK_INT(publish(&r, "a", "1", 1, NULL, NULL), MQWS_OK);
    mqws_session_eof(r.s);
    client_connect(&r, 4, 0);
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE); /* the server lost the session */
    CHECK(strstr(r.log, "DROP a MQWS_ECLOSED\n") != NULL);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(connack_refusal_closes_client) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 5, 1);
    rig_feed_hex(&r, "20 03 00 87 00", FEED_WHOLE);
    CHECK_LOG(&r, "CONNACK sp=0 rc=87\nCLOSE MQWS_EHANDSHAKE rc=87 peer=1\n");
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CLOSED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

static void setup_client31(rig *r) { r->cfg.protocol_level = MQWS_MQTT_31; }

TEST(client_connect_mqtt31_mqisdp) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    setup_client31(&r);
    CHECK(rig_start(&r) == 0);
    client_connect(&r, 3, 1);
    rig_drain(&r);
    CHECK_OUT(&r, "10 10 00 06 4d 51 49 73 64 70 03 02 00 0a 00 02 63 31");
    rig_feed_hex(&r, "20 02 00 00", FEED_WHOLE);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(mqtt31_client_id_longer_than_23_refused) {
    DIALOGUE(setup_v31,
             "10 26 00 06 4d 51 49 73 64 70 03 02 00 3c 00 18 "
             "61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61",
             "20 02 00 02", "CLOSE MQWS_EPROTO rc=85 peer=0\n");
}

static void setup_no_retain(rig *r) { r->cfg.retain_available = 0; }

TEST(mqtt_3_2_2_14_retain_not_available_0x9a) {
    DIALOGUE(setup_no_retain, CONNECT5_C1 "31 08 00 03 61 2f 62 00 68 69",
             "20 10 00 00 0d 21 00 40 22 00 10 25 00 27 00 10 00 00 e0 01 9a",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_EPROTO rc=9a peer=0\n"
             "  [MQTT-3.2.2-14]\n");
}

static void setup_no_subid(rig *r) { r->cfg.sub_id_available = 0; }

TEST(subscription_identifier_not_available_0xa1) {
    DIALOGUE(setup_no_subid, CONNECT5_C1 "82 0b 00 01 02 0b 05 00 03 61 2f 62 01",
             "20 10 00 00 0d 21 00 40 22 00 10 27 00 10 00 00 29 00 e0 01 a1",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_EPROTO rc=a1 peer=0\n");
}

static void setup_no_shared(rig *r) { r->cfg.shared_sub_available = 0; }

TEST(shared_subscription_not_available_0x9e) {
    DIALOGUE(setup_no_shared, CONNECT5_C1 "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 01",
             "20 10 00 00 0d 21 00 40 22 00 10 27 00 10 00 00 2a 00 90 04 00 01 00 9e",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nSUBSCRIBE n=1 9e\n");
}

static void setup_check_pfi(rig *r) { r->cfg.flags |= MQWS_SESSION_CHECK_PAYLOAD_FORMAT; }

TEST(payload_format_invalid_0x99_when_checked) {
    DIALOGUE(setup_check_pfi, CONNECT5_C1 "32 0b 00 03 61 2f 62 00 07 02 01 01 ff",
             CONNACK5_DEFAULT "40 03 00 07 99", "CONNECT id=c1 v5 ka=60 clean=1 will=0\n");
    DIALOGUE(setup_check_pfi, CONNECT5_C1 "30 09 00 03 61 2f 62 02 01 01 ff",
             CONNACK5_DEFAULT "e0 01 99",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nCLOSE MQWS_EUTF8 rc=99 peer=0\n");
    /* unchecked by default: delivered */
    DIALOGUE(NULL, CONNECT5_C1 "32 0b 00 03 61 2f 62 00 07 02 01 01 41",
             CONNACK5_DEFAULT "40 02 00 07",
             "CONNECT id=c1 v5 ka=60 clean=1 will=0\nPUBLISH a/b q1 r0 d0 id=7 A\n");
}

static void cb_connect_auth_with_reason(mqws_session *s, const mqws_packet *c, void *user) {
    (void)c;
    (void)user;
    mqws_props p = auth_props(NULL);
    p.present |= MQWS_PROPF_REASON_STRING;
    p.reason_string = mqws_view_cstr("why");
    CHECK_INT(mqws_session_auth(s, MQWS_RC_CONTINUE_AUTHENTICATION, &p), MQWS_OK);
}

TEST(mqtt_3_1_2_29_no_reason_string_on_auth_when_problem_info_0) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    mqws_callbacks_set_on_connect(r.cb, cb_connect_auth_with_reason);
    rig_feed_hex(&r, "10 15 00 04 4d 51 54 54 05 02 00 3c 06 17 00 15 00 01 6d 00 02 63 31",
                 FEED_WHOLE);
    CHECK_OUT(&r, "f0 06 18 04 15 00 01 6d");
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(client_connect_refuses_invalid_fields) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, 0);
    CHECK(rig_start(&r) == 0);
    mqws_packet c;
    mqws_packet_init(&c, MQWS_PKT_CONNECT);
    static const uint8_t bad_id[] = {0x63, 0xC0, 0x80}; /* overlong NUL [MQTT-1.5.4-1] */
    c.client_id.ptr = bad_id;
    c.client_id.len = sizeof(bad_id);
    CHECK_INT(mqws_session_connect(r.s, &c), MQWS_EINVAL);
    c.client_id = mqws_view_cstr("ok");
    c.will_flag = 1;
    c.will_topic = mqws_view_cstr("a/+"); /* wildcard in a will topic */
    CHECK_INT(mqws_session_connect(r.s, &c), MQWS_EINVAL);
    CHECK_INT(mqws_session_pending_bytes(r.s), 0);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_IDLE);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* Client-role dialogues: the server's bytes fed whole, byte by byte and split at random. */
#define CLIENT_CONNECT311 "10 0e 00 04 4d 51 54 54 04 02 00 0a 00 02 63 31 "
#define CLIENT_CONNECT5                                                                            \
    "10 1a 00 04 4d 51 54 54 05 02 00 0a 0b 21 00 40 22 00 10 27 00 10 00 00 00 02 63 31 "

static void setup_client311_d(rig *r) { r->cfg.protocol_level = MQWS_MQTT_311; }

TEST(client_mqtt_4_3_inbound_qos1_and_qos2_311) {
    CLIENT_DIALOGUE(setup_client311_d,
                    "20 02 00 00"
                    "32 09 00 03 61 2f 62 00 07 68 69"
                    "34 09 00 03 61 2f 62 00 08 68 69"
                    "3c 09 00 03 61 2f 62 00 08 68 69" /* resend before PUBREL: not delivered */
                    "62 02 00 08",
                    CLIENT_CONNECT311 "40 02 00 07 50 02 00 08 50 02 00 08 70 02 00 08",
                    "CONNACK sp=0 rc=00\nPUBLISH a/b q1 r0 d0 id=7 hi\n"
                    "PUBLISH a/b q2 r0 d0 id=8 hi\n");
}

TEST(client_mqtt_3_2_connack_refused_5) {
    CLIENT_DIALOGUE(NULL, "20 03 00 86 00 32 09 00 03 61 2f 62 00 07 68 69", CLIENT_CONNECT5,
                    "CONNACK sp=0 rc=86\nCLOSE MQWS_EHANDSHAKE rc=86 peer=1\n");
}

TEST(client_server_disconnect_5) {
    CLIENT_DIALOGUE(NULL, "20 03 00 00 00 e0 01 8b", CLIENT_CONNECT5,
                    "CONNACK sp=0 rc=00\nCLOSE MQWS_EPROTO rc=8b peer=1 disconnect\n");
}

TEST(client_topic_alias_from_server_5) {
    CLIENT_DIALOGUE(NULL,
                    "20 03 00 00 00"
                    "30 0b 00 03 61 2f 62 03 23 00 01 68 69"
                    "30 08 00 00 03 23 00 01 79 6f",
                    CLIENT_CONNECT5,
                    "CONNACK sp=0 rc=00\nPUBLISH a/b q0 r0 d0 id=0 hi\n"
                    "PUBLISH a/b q0 r0 d0 id=0 yo\n");
}

TEST(client_second_connack_is_protocol_error) {
    CLIENT_DIALOGUE(NULL, "20 03 00 00 00 20 03 00 00 00", CLIENT_CONNECT5 "e0 01 82",
                    "CONNACK sp=0 rc=00\nCLOSE MQWS_EPROTO rc=82 peer=0\n");
}

/* ------------------------------------------------------------------------------------------ */
/* Memory */

TEST(idle_session_heap_at_most_512_bytes) {
    /* A connected 3.1.1 session with a 16-byte client id, nothing pending. */
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r,
                 "10 1c 00 04 4d 51 54 54 04 02 00 3c 00 10 30 31 32 33 34 35 36 37 38 39 61 62 "
                 "63 64 65 66",
                 FEED_BYTES);
    rig_feed_hex(&r, "c0 00", FEED_WHOLE);
    CHECK_INT(mqws_session_state(r.s), MQWS_SESSION_CONNECTED);
    CHECK_INT(mqws_session_pending_bytes(r.s), 0);
    mqws_session_stats st;
    mqws_session_get_stats(r.s, &st);
    /* live bytes minus the shared callbacks object */
    size_t cbsize = 0;
    {
        testlib_alloc t2;
        testlib_alloc_init(&t2, 0);
        mqws_callbacks *c2 = mqws_callbacks_new(&t2.a);
        cbsize = t2.live_bytes;
        mqws_callbacks_free(c2);
    }
    size_t idle = r.ta.live_bytes - cbsize;
    printf("idle 3.1.1 session heap: %zu bytes (stats say %zu)\n", idle, st.heap_bytes);
    CHECK(idle <= 512);
    CHECK_INT(idle, st.heap_bytes);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

/* ------------------------------------------------------------------------------------------ */

int main(void) {
    RUN(mqtt_3_1_4_connect_accepted_311);
    RUN(mqtt_3_1_4_connect_accepted_5_capabilities_in_connack);
    RUN(mqtt_3_1_0_1_first_packet_must_be_connect);
    RUN(mqtt_3_1_0_2_second_connect_is_protocol_error_311);
    RUN(mqtt_3_1_0_2_second_connect_5_disconnect_0x82);
    RUN(mqtt_3_1_2_2_unsupported_level_311_gets_0x01);
    RUN(mqtt_3_1_2_2_mqtt31_refused_unless_allowed);
    RUN(mqtt31_accepted_when_allowed);
    RUN(mqtt_3_1_3_8_empty_id_without_clean_session_refused_0x02);
    RUN(mqtt_3_1_3_6_empty_id_with_clean_session_assigned_311);
    RUN(mqtt_3_2_2_16_assigned_client_identifier_5);
    RUN(empty_id_refused_0x85_when_configured);
    RUN(auth_refused_311_return_code_4);
    RUN(auth_refused_5_reason_0x86);
    RUN(async_auth_answered_later);
    RUN(async_auth_times_out);
    RUN(connect_timeout_without_connect);
    RUN(mqtt_3_1_2_24_keepalive_closes_after_one_and_a_half);
    RUN(keepalive_zero_means_no_timeout);
    RUN(server_keep_alive_overrides_and_is_announced);
    RUN(mqtt_4_3_1_qos0_delivered_no_ack);
    RUN(mqtt_4_3_2_qos1_puback);
    RUN(mqtt_4_3_3_qos2_delivered_once_until_pubrel);
    RUN(mqtt_4_3_3_pubrel_unknown_id_5_pubcomp_0x92);
    RUN(mqtt_4_9_0_receive_maximum_exceeded_0x93);
    RUN(mqtt311_no_receive_maximum_for_inbound_qos2);
    RUN(publish_refused_by_host_5_puback_reason);
    RUN(publish_refused_by_host_311_closes);
    RUN(mqtt_3_3_2_topic_alias_set_and_used);
    RUN(mqtt_3_3_2_9_topic_alias_above_maximum_0x94);
    RUN(topic_alias_unmapped_is_protocol_error);
    RUN(maximum_packet_size_inbound_refused_from_header_0x95);
    RUN(mqtt_3_2_2_11_qos_above_maximum_0x9b);
    RUN(malformed_packet_5_disconnect_0x81);
    RUN(mqtt_3_9_3_suback_per_filter_verdicts_311);
    RUN(suback_granted_qos_capped_by_maximum_qos);
    RUN(suback_failure_311_is_0x80);
    RUN(suback_failure_5_keeps_reason);
    RUN(wildcard_not_available_0xa2);
    RUN(mqtt_3_11_unsuback_311_and_5);
    RUN(mqtt_3_12_pingreq_pingresp);
    RUN(mqtt_3_1_2_10_disconnect_deletes_will);
    RUN(mqtt_3_1_2_8_will_published_on_protocol_error);
    RUN(will_published_when_connection_lost);
    RUN(mqtt_3_1_3_9_will_delay_then_session_expiry);
    RUN(outbound_qos0_zero_copy_slice_shared);
    RUN(mqtt_4_3_2_outbound_qos1_until_puback);
    RUN(mqtt_4_3_3_outbound_qos2_pubrec_pubrel_pubcomp);
    RUN(mqtt_4_9_0_outbound_receive_maximum_honoured_in_order);
    RUN(mqtt_3_3_2_outbound_topic_alias_lru);
    RUN(mqtt_3_1_2_25_too_large_for_client_is_dropped);
    RUN(message_expiry_decremented_on_delivery);
    RUN(expired_message_is_dropped_from_queue);
    RUN(queue_limit_drops_oldest_qos0_first);
    RUN(mqtt_4_4_0_1_resume_resends_with_dup_and_offline_queue);
    RUN(mqtt_3_1_4_3_takeover_of_live_session_5_disconnect_0x8e);
    RUN(mqtt31_session_resumed_without_session_present_on_the_wire);
    RUN(publish_encoded_header_shared_payload);
    RUN(publish_encoded_refuses_when_messages_wait);
    RUN(set_now_moves_the_clock_without_timers);
    RUN(client_connect_311_and_connack);
    RUN(client_connect_5_sends_limits);
    RUN(client_keepalive_pingreq_and_timeout);
    RUN(client_subscribe_publish_qos2_roundtrip);
    RUN(client_reconnect_resumes_with_dup);
    RUN(client_first_packet_must_be_connack);
    RUN(async_accept_processes_packets_pipelined_behind_connect);
    RUN(mqtt_4_12_enhanced_authentication_and_reauthentication);
    RUN(enhanced_auth_without_handler_refused_0x8c);
    RUN(non_auth_packet_during_enhanced_auth_is_protocol_error);
    RUN(session_expiry_set_at_disconnect_after_zero_is_protocol_error);
    RUN(disconnect_with_will_0x04_publishes_will_5);
    RUN(client_topic_alias_within_server_limit);
    RUN(client_honours_server_keep_alive_and_maximum_qos);
    RUN(client_session_not_present_drops_unacknowledged);
    RUN(connack_refusal_closes_client);
    RUN(client_connect_mqtt31_mqisdp);
    RUN(mqtt31_client_id_longer_than_23_refused);
    RUN(mqtt_3_2_2_14_retain_not_available_0x9a);
    RUN(subscription_identifier_not_available_0xa1);
    RUN(shared_subscription_not_available_0x9e);
    RUN(payload_format_invalid_0x99_when_checked);
    RUN(mqtt_3_1_2_29_no_reason_string_on_auth_when_problem_info_0);
    RUN(client_connect_refuses_invalid_fields);
    RUN(client_mqtt_4_3_inbound_qos1_and_qos2_311);
    RUN(client_mqtt_3_2_connack_refused_5);
    RUN(client_server_disconnect_5);
    RUN(client_topic_alias_from_server_5);
    RUN(client_second_connack_is_protocol_error);
    RUN(idle_session_heap_at_most_512_bytes);
    return testlib_finish();
}
