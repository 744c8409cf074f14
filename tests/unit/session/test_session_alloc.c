/* Failing allocator over whole dialogues: the Nth allocation fails, for every N. No crash, no
 * leak, no size mismatch; the session either completes or ends with a clean error.
 * SPDX-License-Identifier: MIT */
#include "session_rig.h"

/* A 5.0 dialogue touching every allocation site: will with delay, session expiry, topic
 * aliases in, QoS 1 and 2 in (with a duplicate), SUBSCRIBE, UNSUBSCRIBE, PING, outbound QoS
 * 0/1/2 with aliases and a waiting queue, DISCONNECT. Fed byte by byte so the partial-packet
 * buffer is exercised too. */
static const char *server_in =
    "10 22 00 04 4d 51 54 54 05 06 00 3c 05 11 00 00 00 0a 00 02 63 31 05 18 00 00 00 05 00 01 77 "
    "00 03 62 79 65 "
    "30 0b 00 03 61 2f 62 03 23 00 02 68 69 "
    "30 08 00 00 03 23 00 02 79 6f "
    "32 0a 00 03 61 2f 62 00 07 00 68 69 "
    "34 0a 00 03 61 2f 62 00 08 00 68 69 "
    "3c 0a 00 03 61 2f 62 00 08 00 68 69 "
    "62 02 00 08 "
    "82 0f 00 01 00 00 03 61 2f 62 01 00 03 63 2f 23 02 "
    "a2 08 00 02 00 00 03 61 2f 62 "
    "c0 00 "
    "40 02 00 01 50 02 00 02 70 02 00 02 "
    "e0 00";

static void server_run(long fail_at, long *count) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, fail_at);
    r.cfg.receive_maximum = 4;
    if (rig_start(&r) == 0) {
        static uint8_t in[512];
        size_t n = testlib_hex(server_in, in, sizeof(in));
        /* CONNECT first, then queue outbound messages, then the rest */
        rig_feed(&r, in, 36, FEED_BYTES);
        for (int q = 0; q < 3; q++) {
            mqws_packet p;
            mqws_packet_init(&p, MQWS_PKT_PUBLISH);
            p.topic = mqws_view_cstr(q == 1 ? "x/y" : "a/b");
            p.payload = mqws_view_cstr("payload");
            p.qos = (uint8_t)q;
            p.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL | MQWS_PROPF_CONTENT_TYPE;
            p.props.message_expiry = 100;
            p.props.content_type = mqws_view_cstr("text/plain");
            (void)mqws_session_publish(r.s, &p, NULL, NULL);
            rig_drain(&r);
        }
        if (mqws_session_want_read(r.s))
            rig_feed(&r, in + 36, n - 36, FEED_BYTES);
        mqws_session_eof(r.s);
        rig_tick(&r, 100000);
        if (fail_at == 0) { /* the reference run reaches every step */
            CHECK(strstr(r.log, "PUBLISH a/b q0 r0 d0 id=0 yo\n") != NULL);
            CHECK(strstr(r.log, "UNSUBSCRIBE n=1") != NULL);
            CHECK(strstr(r.log, "CLOSE MQWS_OK rc=00 peer=1 disconnect\n") != NULL);
            if (!strstr(r.log, "CLOSE MQWS_OK"))
                rig_dump(&r);
        }
        rig_stop(&r);
    }
    CHECK_ALLOC_CLEAN(&r.ta);
    *count = r.ta.count;
}

TEST(failing_allocator_server_dialogue_5) {
    long total = 0;
    server_run(0, &total);
    CHECK(total > 10);
    for (long n = 1; n <= total; n++) {
        long c;
        server_run(n, &c);
    }
}

static void client_run(long fail_at, long *count) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_CLIENT, fail_at);
    if (rig_start(&r) == 0) {
        mqws_packet c;
        mqws_packet_init(&c, MQWS_PKT_CONNECT);
        c.client_id = mqws_view_cstr("c1");
        c.keep_alive = 10;
        if (mqws_session_connect(r.s, &c) == MQWS_OK) {
            rig_drain(&r);
            /* CONNACK with topic alias maximum 2, receive maximum 1 */
            rig_feed_hex(&r, "20 09 00 00 06 21 00 01 22 00 02", FEED_BYTES);
            mqws_subscription sub = {mqws_view_cstr("a/#"), 2, 0, 0, 0};
            (void)mqws_session_subscribe(r.s, &sub, 1, NULL, NULL);
            for (int q = 0; q < 3; q++) {
                mqws_packet p;
                mqws_packet_init(&p, MQWS_PKT_PUBLISH);
                p.topic = mqws_view_cstr("a/b");
                p.payload = mqws_view_cstr("x");
                p.qos = (uint8_t)q;
                (void)mqws_session_publish(r.s, &p, NULL, NULL);
            }
            rig_drain(&r);
            rig_feed_hex(&r,
                         "90 04 00 01 00 02 40 02 00 02 50 02 00 03 70 02 00 03 "
                         "34 0a 00 03 61 2f 62 00 05 00 68 69 62 02 00 05 d0 00",
                         FEED_BYTES);
            rig_tick(&r, 20000);
            if (fail_at == 0) {
                CHECK(strstr(r.log, "ACK PUBCOMP id=3") != NULL);
                CHECK(strstr(r.log, "PUBLISH a/b q2") != NULL);
                if (!strstr(r.log, "PUBLISH a/b q2"))
                    rig_dump(&r);
            }
            (void)mqws_session_disconnect(r.s, 0, NULL);
            rig_drain(&r);
        }
        rig_stop(&r);
    }
    CHECK_ALLOC_CLEAN(&r.ta);
    *count = r.ta.count;
}

TEST(failing_allocator_client_dialogue_5) {
    long total = 0;
    client_run(0, &total);
    CHECK(total > 5);
    for (long n = 1; n <= total; n++) {
        long c;
        client_run(n, &c);
    }
}

int main(void) {
    RUN(failing_allocator_server_dialogue_5);
    RUN(failing_allocator_client_dialogue_5);
    return testlib_finish();
}
