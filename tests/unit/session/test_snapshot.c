/* Snapshot and restore: a persistent session survives a host restart; a snapshot is hostile
 * input when it comes back (truncated, flipped, wrong version: refused, nothing changed).
 * SPDX-License-Identifier: MIT */
#include "session_rig.h"

#define CONNECT311_PERSIST "10 0e 00 04 4d 51 54 54 04 00 00 3c 00 02 63 31 "

static uint8_t snap[4096];
static size_t snap_len;

static void cb_connect_restore(mqws_session *s, const mqws_packet *c, void *user) {
    (void)c;
    (void)user;
    int sp = mqws_session_restore(s, snap, snap_len) == MQWS_OK;
    mqws_session_accept(s, sp, NULL);
}

/* A closed 3.1.1 session holding: QoS 1 sent, QoS 2 released (PUBREC seen), a waiting QoS 1,
 * an inbound QoS 2 awaiting PUBREL. */
static void make_snapshot(void) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    r.cfg.outbound_inflight_maximum = 2;
    CHECK(rig_start(&r) == 0);
    rig_feed_hex(&r, CONNECT311_PERSIST "34 09 00 03 61 2f 62 00 05 68 69", FEED_WHOLE);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a");
    p.payload = mqws_view_cstr("1");
    p.qos = 1;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK);
    p.topic = mqws_view_cstr("b");
    p.payload = mqws_view_cstr("2");
    p.qos = 2;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK);
    p.topic = mqws_view_cstr("c");
    p.payload = mqws_view_cstr("3");
    p.qos = 1;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK); /* waits: window 2 */
    rig_drain(&r);
    rig_feed_hex(&r, "50 02 00 02", FEED_WHOLE);
    mqws_session_eof(r.s);
    CHECK_INT(mqws_session_snapshot(r.s, NULL, 0, &snap_len), MQWS_ENOSPC);
    CHECK_INT(snap_len, mqws_session_snapshot_size(r.s));
    CHECK_INT(mqws_session_snapshot(r.s, snap, sizeof(snap), &snap_len), MQWS_OK);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(snapshot_restore_resumes_session_after_restart) {
    make_snapshot();
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    mqws_callbacks_set_on_connect(r.cb, cb_connect_restore);
    rig_feed_hex(&r, CONNECT311_PERSIST "62 02 00 05", FEED_WHOLE);
    CHECK_OUT(&r, "20 02 01 00"
                  "3a 06 00 01 61 00 01 31" /* QoS 1 resent with DUP [MQTT-4.4.0-1] */
                  "62 02 00 02"             /* PUBREL resent */
                  "32 06 00 01 63 00 03 33" /* the waiting message */
                  "70 02 00 05" /* the inbound QoS 2 survived: PUBREL completes it */);
    /* and a new message gets a fresh id, no collision with the restored ones */
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("d");
    p.qos = 1;
    uint16_t pid = 0;
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, &pid), MQWS_OK);
    CHECK_INT(pid, 4);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(snapshot_of_5_session_keeps_properties_and_expiry) {
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    /* 5.0, clean start 0, session expiry 100 */
    rig_feed_hex(&r, "10 14 00 04 4d 51 54 54 05 00 00 3c 05 11 00 00 00 64 00 02 63 31",
                 FEED_WHOLE);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a");
    p.payload = mqws_view_cstr("1");
    p.qos = 1;
    mqws_user_prop up = {mqws_view_cstr("k"), mqws_view_cstr("v")};
    p.props.present =
        MQWS_PROPF_CONTENT_TYPE | MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL | MQWS_PROPF_USER_PROPERTY;
    p.props.content_type = mqws_view_cstr("t");
    p.props.message_expiry = 60;
    p.props.user_props = &up;
    p.props.user_prop_count = 1;
    mqws_session_eof(r.s);
    CHECK_INT(mqws_session_publish(r.s, &p, NULL, NULL), MQWS_OK); /* offline queue */
    size_t n = 0;
    CHECK_INT(mqws_session_snapshot(r.s, snap, sizeof(snap), &n), MQWS_OK);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
    /* restore into a closed session created from scratch, then resume on a new one */
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    mqws_session_eof(r.s);
    CHECK_INT(mqws_session_restore(r.s, snap, n), MQWS_OK);
    CHECK_INT(mqws_session_expiry_interval(r.s), 100);
    size_t n2 = 0;
    static uint8_t snap2[4096];
    CHECK_INT(mqws_session_snapshot(r.s, snap2, sizeof(snap2), &n2), MQWS_OK);
    CHECK_MEM(snap2, n2, snap, n); /* a restored session snapshots to the same bytes */
    rig_tick(&r, 100 * 1000 + 1000);
    CHECK(strstr(r.log, "EXPIRED") != NULL);
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(restore_refuses_truncated_and_corrupt_snapshots) {
    make_snapshot();
    for (size_t cut = 0; cut < snap_len; cut++) {
        rig r;
        rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
        CHECK(rig_start(&r) == 0);
        mqws_session_eof(r.s);
        int rc = mqws_session_restore(r.s, snap, cut);
        CHECK(rc == MQWS_EMALFORMED || rc == MQWS_EUNSUPPORTED);
        mqws_session_stats st;
        mqws_session_get_stats(r.s, &st);
        CHECK_INT(st.inflight_out + st.queued_messages, 0); /* nothing changed */
        rig_stop(&r);
        CHECK_ALLOC_CLEAN(&r.ta);
    }
    /* every single-byte corruption: refused or accepted, never a crash or a leak */
    static uint8_t bad[4096];
    for (size_t i = 0; i < snap_len; i++) {
        for (int v = 0; v < 4; v++) {
            memcpy(bad, snap, snap_len);
            static const uint8_t vals[4] = {0x00, 0xFF, 0x01, 0x80};
            bad[i] = (uint8_t)(bad[i] ^ vals[v] ^ (v == 0 ? 0x01 : 0));
            rig r;
            rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
            CHECK(rig_start(&r) == 0);
            mqws_session_eof(r.s);
            (void)mqws_session_restore(r.s, bad, snap_len);
            rig_stop(&r);
            CHECK_ALLOC_CLEAN(&r.ta);
        }
    }
    /* a future version is told apart from garbage */
    memcpy(bad, snap, snap_len);
    bad[5] = 2;
    rig r;
    rig_init_cfg(&r, MQWS_SESSION_SERVER, 0);
    CHECK(rig_start(&r) == 0);
    mqws_session_eof(r.s);
    CHECK_INT(mqws_session_restore(r.s, bad, snap_len), MQWS_EUNSUPPORTED);
    /* and an open session refuses */
    rig_stop(&r);
    CHECK_ALLOC_CLEAN(&r.ta);
}

TEST(restore_failing_allocator) {
    make_snapshot();
    for (long f = 1; f < 40; f++) {
        rig r;
        rig_init_cfg(&r, MQWS_SESSION_SERVER, f);
        if (rig_start(&r) == 0) {
            mqws_session_eof(r.s);
            int rc = mqws_session_restore(r.s, snap, snap_len);
            CHECK(rc == MQWS_OK || rc == MQWS_ENOMEM);
            rig_stop(&r);
        }
        CHECK_ALLOC_CLEAN(&r.ta);
    }
}

int main(void) {
    RUN(snapshot_restore_resumes_session_after_restart);
    RUN(snapshot_of_5_session_keeps_properties_and_expiry);
    RUN(restore_refuses_truncated_and_corrupt_snapshots);
    RUN(restore_failing_allocator);
    return testlib_finish();
}
