/* Broker flow control: QoS 1/2 backpressure instead of loss for connected subscribers, and
 * wills published at server shutdown (mqws_broker_close_all). Real MQTT bytes both ways; the
 * host loop is simulated here: a paused connection is not read, the slow subscriber's output is
 * pulled in small pieces.
 * SPDX-License-Identifier: MIT */
#include "broker_net.h"
#include "mqws/session.h"

#define V3 MQWS_MQTT_311
#define V5 MQWS_MQTT_5

#define NMSG 5000

static void finish(net *n) {
    net_stop(n);
    CHECK_ALLOC_CLEAN(&n->ta);
}

/* A growable byte buffer with a read position. */
typedef struct bbuf {
    uint8_t *p;
    size_t len, rd, cap;
} bbuf;

static void bb_put(bbuf *b, const uint8_t *d, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void bb_compact(bbuf *b) {
    if (b->rd && b->rd == b->len)
        b->rd = b->len = 0;
}

static void bb_packet(bbuf *b, const mqws_packet *p, uint8_t level) {
    uint8_t tmp[512];
    size_t len = 0;
    if (mqws_encode(p, level, tmp, sizeof(tmp), &len) == MQWS_OK)
        bb_put(b, tmp, len);
}

static void bb_ack(bbuf *b, int type, uint16_t pid, uint8_t level) {
    mqws_packet a;
    mqws_packet_init(&a, type);
    a.packet_id = pid;
    bb_packet(b, &a, level);
}

/* Next whole packet in `b` decoded (views into b), 1 if one was there. */
static int bb_next(bbuf *b, uint8_t level, mqws_packet *p) {
    mqws_frame_info fi;
    if (b->rd >= b->len || mqws_frame(b->p + b->rd, b->len - b->rd, 0, &fi) != MQWS_FRAME_READY)
        return 0;
    memset(p, 0, sizeof(*p));
    if (mqws_decode(b->p + b->rd, fi.total_len, level, MQWS_DECODE_FROM_SERVER, p, NULL) < 0)
        return 0;
    b->rd += fi.total_len;
    return 1;
}

/* A publisher pipelines NMSG QoS `qos` messages (QoS 2: at most 50 unfinished, its receive
 * maximum being 64) to a subscriber that pulls its output `piece` bytes at a time. Every
 * message arrives in order (QoS 2 exactly once), nothing is dropped, the publisher is paused
 * and resumed, the subscriber's queue stays within its limits. */
static void run_flow(uint8_t level, uint8_t qos, uint32_t qmax, size_t piece) {
    net n;
    net_init(&n, 0);
    n.scfg.queue_max_messages = qmax;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, level, "sub"), 0);
    CHECK_INT(net_connect(&n, 1, level, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "flow/t", qos), qos);
    n.cli[0].hold = 1; /* its output is pulled below, in pieces */
    mqws_conn *sc = n.cli[0].c, *pc = n.cli[1].c;

    bbuf pin = {0}, sin = {0}, sout = {0}; /* publisher input, subscriber input and output */
    int sent = 0, finished = 0, received = 0, dup_seen = 0, order_ok = 1, paused_seen = 0;
    int resumed_seen = 0, was_paused = 0;
    uint32_t max_queued = 0;
    int steps = 0;
    char payload[48];
    while ((received < NMSG || finished < NMSG) && steps < 400000) {
        steps++;
        /* Publisher side: new messages (QoS 2: a window of 50 unfinished). */
        while (sent < NMSG && pin.len - pin.rd < 8192 && (qos < 2 || sent - finished < 50)) {
            mqws_packet p;
            mqws_packet_init(&p, MQWS_PKT_PUBLISH);
            p.topic = mqws_view_cstr("flow/t");
            snprintf(payload, sizeof(payload), "%06d-padding-padding-padding", sent);
            p.payload = mqws_view_cstr(payload);
            p.qos = qos;
            p.packet_id = (uint16_t)(1 + sent % 60000);
            bb_packet(&pin, &p, level);
            sent++;
        }
        /* The host reads the publisher only while it is not paused. */
        int paused = mqws_broker_conn_paused(pc);
        if (paused && !was_paused)
            paused_seen++;
        if (!paused && was_paused)
            resumed_seen++;
        was_paused = paused;
        if (!paused && pin.rd < pin.len) {
            size_t k = pin.len - pin.rd < 4096 ? pin.len - pin.rd : 4096;
            CHECK_INT(mqws_broker_recv(n.b, pc, pin.p + pin.rd, k, n.now), (int64_t)k);
            pin.rd += k;
            bb_compact(&pin);
        }
        net_flush(&n);
        /* The publisher's acknowledgements. */
        mqws_packet a;
        while (net_next(&n, 1, &a)) {
            if (a.type == MQWS_PKT_PUBACK || a.type == MQWS_PKT_PUBCOMP)
                finished++;
            else if (a.type == MQWS_PKT_PUBREC)
                bb_ack(&pin, MQWS_PKT_PUBREL, a.packet_id, level);
            CHECK(a.reason_code < 0x80);
        }
        if (n.cli[1].rd == n.cli[1].out_len)
            cli_reset_out(&n.cli[1]);
        /* The slow subscriber: one small piece of its output per step. */
        mqws_iovec iov[4];
        size_t cnt = mqws_conn_pending(sc, iov, 4), got = 0;
        for (size_t i = 0; i < cnt && got < piece; i++) {
            size_t k = iov[i].len < piece - got ? iov[i].len : piece - got;
            bb_put(&sin, iov[i].base, k);
            got += k;
        }
        if (got)
            mqws_broker_sent(n.b, sc, got);
        mqws_packet p;
        while (bb_next(&sin, level, &p)) {
            if (p.type == MQWS_PKT_PUBLISH) {
                int seq = atoi((const char *)p.payload.ptr);
                if (seq == received) {
                    received++;
                } else if (seq < received && qos == 1) {
                    dup_seen++; /* at least once: a resend is allowed */
                } else {
                    order_ok = 0;
                }
                if (p.qos == 1)
                    bb_ack(&sout, MQWS_PKT_PUBACK, p.packet_id, level);
                else if (p.qos == 2)
                    bb_ack(&sout, MQWS_PKT_PUBREC, p.packet_id, level);
            } else if (p.type == MQWS_PKT_PUBREL) {
                bb_ack(&sout, MQWS_PKT_PUBCOMP, p.packet_id, level);
            }
        }
        bb_compact(&sin);
        if (sout.rd < sout.len) {
            mqws_broker_recv(n.b, sc, sout.p + sout.rd, sout.len - sout.rd, n.now);
            sout.rd = sout.len;
            bb_compact(&sout);
        }
        net_flush(&n);
        mqws_session_stats ss;
        mqws_session_get_stats(mqws_conn_session(sc), &ss);
        if (ss.queued_messages > max_queued)
            max_queued = ss.queued_messages;
    }
    CHECK_INT(received, NMSG);
    CHECK_INT(finished, NMSG);
    CHECK(order_ok);
    if (qos == 2)
        CHECK_INT(dup_seen, 0);
    CHECK(paused_seen > 0);
    CHECK(resumed_seen > 0);
    CHECK(max_queued >= qmax / 2);
    CHECK(max_queued <= qmax);
    mqws_broker_stats st;
    st.size = sizeof(st);
    CHECK_INT(mqws_broker_stats_get(n.b, &st), MQWS_OK);
    CHECK_INT(st.dropped, 0);
    CHECK_INT(st.dropped_online, 0);
    CHECK(st.backpressure_pauses > 0);
    CHECK(!mqws_broker_conn_paused(pc));
    LOG_HASNT(&n, "DROP");
    free(pin.p);
    free(sin.p);
    free(sout.p);
    finish(&n);
}

TEST(backpressure_qos1_v311_nothing_lost_publisher_paused_and_resumed) {
    run_flow(V3, 1, 1000, 256);
}

TEST(backpressure_qos1_v5_small_queue_nothing_lost) { run_flow(V5, 1, 100, 128); }

TEST(backpressure_qos2_v5_exactly_once_in_order) { run_flow(V5, 2, 1000, 256); }

TEST(backpressure_qos2_v311_small_queue_exactly_once) { run_flow(V3, 2, 60, 96); }

/* Ten publishers pipelining at once into one subscriber with a tiny queue: each brings one
 * input piece after the high watermark, more than the queue's headroom; what the full queue
 * refuses waits in the broker (bounded, in order) instead of being dropped. */
TEST(backpressure_many_publishers_tiny_queue_nothing_lost_in_order) {
    enum { NP = 10, PER = 300 };
    net n;
    net_init(&n, 0);
    n.scfg.queue_max_messages = 20;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "sub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "m/#", 1), 1);
    n.cli[0].hold = 1;
    bbuf pin[NP + 1];
    memset(pin, 0, sizeof(pin));
    char id[8], topic[8], payload[16];
    for (int k = 1; k <= NP; k++) {
        snprintf(id, sizeof(id), "p%d", k);
        CHECK_INT(net_connect(&n, k, V5, id), 0);
        snprintf(topic, sizeof(topic), "m/%d", k);
        for (int i = 0; i < PER; i++) {
            mqws_packet p;
            mqws_packet_init(&p, MQWS_PKT_PUBLISH);
            p.topic = mqws_view_cstr(topic);
            snprintf(payload, sizeof(payload), "%02d-%05d-", k, i); /* '-' ends each number */
            p.payload = mqws_view_cstr(payload);
            p.qos = 1;
            p.packet_id = (uint16_t)(i + 1);
            bb_packet(&pin[k], &p, V5);
        }
    }
    mqws_conn *sc = n.cli[0].c;
    bbuf sin = {0}, sout = {0};
    int next[NP + 1], received = 0, order_ok = 1, steps = 0;
    uint64_t max_mem = 0;
    uint32_t max_queued = 0;
    memset(next, 0, sizeof(next));
    while (received < NP * PER && steps < 200000) {
        steps++;
        for (int k = 1; k <= NP; k++) {
            mqws_conn *pc = n.cli[k].c;
            if (pc && !mqws_broker_conn_paused(pc) && pin[k].rd < pin[k].len) {
                size_t len = pin[k].len - pin[k].rd < 16384 ? pin[k].len - pin[k].rd : 16384;
                mqws_broker_recv(n.b, pc, pin[k].p + pin[k].rd, len, n.now);
                pin[k].rd += len;
            }
        }
        net_flush(&n);
        for (int k = 1; k <= NP; k++)
            cli_reset_out(&n.cli[k]);
        mqws_iovec iov[4];
        size_t cnt = mqws_conn_pending(sc, iov, 4), got = 0;
        for (size_t i = 0; i < cnt && got < 128; i++) {
            size_t k = iov[i].len < 128 - got ? iov[i].len : 128 - got;
            bb_put(&sin, iov[i].base, k);
            got += k;
        }
        if (got)
            mqws_broker_sent(n.b, sc, got);
        mqws_packet p;
        while (bb_next(&sin, V5, &p)) {
            if (p.type != MQWS_PKT_PUBLISH)
                continue;
            int k = atoi((const char *)p.payload.ptr);
            int i = atoi((const char *)p.payload.ptr + 3);
            if (k < 1 || k > NP || i != next[k])
                order_ok = 0;
            else
                next[k]++;
            received++;
            bb_ack(&sout, MQWS_PKT_PUBACK, p.packet_id, V5);
        }
        bb_compact(&sin);
        if (sout.rd < sout.len) {
            mqws_broker_recv(n.b, sc, sout.p + sout.rd, sout.len - sout.rd, n.now);
            sout.rd = sout.len;
            bb_compact(&sout);
        }
        net_flush(&n);
        mqws_session_stats ss;
        mqws_session_get_stats(mqws_conn_session(sc), &ss);
        if (ss.queued_messages > max_queued)
            max_queued = ss.queued_messages;
        mqws_broker_stats st;
        st.size = sizeof(st);
        mqws_broker_stats_get(n.b, &st);
        if (st.mem_total > max_mem)
            max_mem = st.mem_total;
    }
    CHECK_INT(received, NP * PER);
    CHECK(order_ok);
    CHECK(max_queued <= 20);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.dropped, 0);
    CHECK_INT(st.dropped_online, 0);
    CHECK(max_mem < 1024 * 1024); /* held input + overflow stay bounded */
    for (int k = 0; k <= NP; k++)
        free(pin[k].p);
    free(sin.p);
    free(sout.p);
    finish(&n);
}

/* The subscriber over its watermark disconnects: the publisher is released, the rest goes to
 * the session that is now gone (expiry 0) or offline (dropped over its limit, counted). */
TEST(backpressure_released_when_the_slow_subscriber_goes) {
    net n;
    net_init(&n, 0);
    n.scfg.queue_max_messages = 400;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "sub"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 1), 1);
    n.cli[0].hold = 1; /* never reads, never acknowledges */
    /* 64 go out in flight (the session's window), then 200 queued reach the watermark. */
    bbuf pin = {0};
    for (int i = 0; i < 1000; i++) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_PUBLISH);
        p.topic = mqws_view_cstr("t");
        p.payload = mqws_view_cstr("x");
        p.qos = 1;
        p.packet_id = (uint16_t)(i + 1);
        bb_packet(&pin, &p, V5);
    }
    CHECK_INT(mqws_broker_recv(n.b, n.cli[1].c, pin.p, pin.len, n.now), (int64_t)pin.len);
    net_flush(&n);
    CHECK(mqws_broker_conn_paused(n.cli[1].c));
    LOG_HAS(&n, "PAUSE pub");
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.dropped, 0);
    CHECK(st.messages_in < 1000); /* the rest is held, not yet read */
    CHECK(st.messages_in >= 264);
    net_eof(&n, 0);
    LOG_HAS(&n, "RESUME pub");
    CHECK(!mqws_broker_conn_paused(n.cli[1].c));
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.messages_in, 1000);
    int acks = 0;
    mqws_packet a;
    while (net_next(&n, 1, &a))
        acks += a.type == MQWS_PKT_PUBACK;
    CHECK_INT(acks, 1000);
    free(pin.p);
    finish(&n);
}

/* A client publishing QoS 1 to its own subscription: its input carries the acknowledgements
 * that drain its queue, so it is never held (no deadlock); if its queue fills anyway the drop
 * is counted and it gets PUBACK 0x97 for those. Every PUBLISH is answered. */
TEST(backpressure_never_deadlocks_a_client_feeding_itself) {
    net n;
    net_init(&n, 0);
    n.scfg.queue_max_messages = 100;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "self"), 0);
    CHECK_INT(net_subscribe(&n, 0, "me", 1), 1);
    n.cli[0].hold = 1;
    mqws_conn *c = n.cli[0].c;
    bbuf in = {0}, out = {0};
    int sent = 0, acked = 0, refused = 0, received = 0, steps = 0;
    while (acked < 3000 && steps < 100000) {
        steps++;
        while (sent < 3000 && in.len - in.rd < 8192) {
            mqws_packet p;
            mqws_packet_init(&p, MQWS_PKT_PUBLISH);
            p.topic = mqws_view_cstr("me");
            p.payload = mqws_view_cstr("payload-payload");
            p.qos = 1;
            p.packet_id = (uint16_t)(1 + sent % 60000);
            bb_packet(&in, &p, V5);
            sent++;
        }
        if (!mqws_broker_conn_paused(c) && in.rd < in.len) {
            size_t k = in.len - in.rd < 4096 ? in.len - in.rd : 4096;
            mqws_broker_recv(n.b, c, in.p + in.rd, k, n.now);
            in.rd += k;
            bb_compact(&in);
        }
        net_flush(&n);
        mqws_iovec iov[4];
        size_t cnt = mqws_conn_pending(c, iov, 4), got = 0;
        for (size_t i = 0; i < cnt && got < 256; i++) {
            size_t k = iov[i].len < 256 - got ? iov[i].len : 256 - got;
            bb_put(&out, iov[i].base, k);
            got += k;
        }
        if (got)
            mqws_broker_sent(n.b, c, got);
        mqws_packet p;
        while (bb_next(&out, V5, &p)) {
            if (p.type == MQWS_PKT_PUBLISH) {
                received++;
                bb_ack(&in, MQWS_PKT_PUBACK, p.packet_id, V5);
            } else if (p.type == MQWS_PKT_PUBACK) {
                acked++;
                refused += p.reason_code >= 0x80;
            }
        }
        bb_compact(&out);
    }
    CHECK_INT(acked, 3000);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT((int)st.dropped_online, refused);
    CHECK(received >= 3000 - refused - 200); /* the rest still in flight / queued */
    free(in.p);
    free(out.p);
    finish(&n);
}

/* A publisher paused by backpressure is not read, so its keepalive is suspended meanwhile
 * (its PINGREQs wait unread); after it resumes the keepalive applies again. */
TEST(backpressure_pause_suspends_the_publishers_keepalive) {
    net n;
    net_init(&n, 0);
    n.scfg.queue_max_messages = 40;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "sub"), 0);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    o.keep_alive = 2;
    CHECK_INT(net_connect_opts(&n, 1, V5, "pub", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 1), 1);
    n.cli[0].hold = 1;
    bbuf pin = {0};
    for (int i = 0; i < 1000; i++) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_PUBLISH);
        p.topic = mqws_view_cstr("t");
        p.payload = mqws_view_cstr("x");
        p.qos = 1;
        p.packet_id = (uint16_t)(i + 1);
        bb_packet(&pin, &p, V5);
    }
    mqws_conn *pc = n.cli[1].c;
    CHECK_INT(mqws_broker_recv(n.b, pc, pin.p, pin.len, n.now), (int64_t)pin.len);
    net_flush(&n);
    CHECK(mqws_broker_conn_paused(pc));
    for (int k = 0; k < 40; k++)
        net_tick(&n, n.now + 500); /* 20 s: ten times the keepalive */
    CHECK(n.cli[1].c != NULL && mqws_conn_want_read(pc));
    LOG_HASNT(&n, "DISCONNECT pub");
    net_eof(&n, 0); /* the slow subscriber leaves: the publisher resumes */
    CHECK(!mqws_broker_conn_paused(pc));
    CHECK(mqws_conn_want_read(pc));
    net_tick(&n, n.now + 500);
    mqws_packet ping;
    mqws_packet_init(&ping, MQWS_PKT_PINGREQ);
    CHECK(net_send(&n, 1, &ping) > 0); /* what it sent meanwhile, read now */
    net_tick(&n, n.now + 2000);
    CHECK(n.cli[1].c != NULL && mqws_conn_want_read(pc));
    int acks = 0, pong = 0;
    mqws_packet a;
    while (net_next(&n, 1, &a)) {
        acks += a.type == MQWS_PKT_PUBACK;
        pong += a.type == MQWS_PKT_PINGRESP;
    }
    CHECK_INT(acks, 1000);
    CHECK_INT(pong, 1);
    /* silent for more than 1.5 x keepalive from here: closed as usual */
    for (int k = 0; k < 8; k++)
        net_tick(&n, n.now + 500);
    CHECK(n.cli[1].finished); /* (the event log is full of PUBLISH lines by now) */
    free(pin.p);
    finish(&n);
}

/* Offline persistent sessions are not protected by backpressure: over their queue limits the
 * messages are dropped and counted (dropped_offline, DROP events), the publisher is neither
 * paused nor refused. */
TEST(offline_session_over_its_queue_limit_drops_and_counts) {
    net n;
    net_init(&n, 0);
    n.scfg.queue_max_messages = 10;
    CHECK_INT(net_start(&n), 0);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 600;
    CHECK_INT(net_connect_opts(&n, 0, V5, "away", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 1), 1);
    net_eof(&n, 0);
    CHECK_INT(net_connect(&n, 1, V5, "pub"), 0);
    for (int i = 0; i < 30; i++)
        CHECK(net_publish(&n, 1, "t", "m", 1, 0, (uint16_t)(i + 1)) > 0);
    CHECK(!mqws_broker_conn_paused(n.cli[1].c));
    int ok = 0;
    mqws_packet a;
    while (net_next(&n, 1, &a))
        ok += a.type == MQWS_PKT_PUBACK && a.reason_code < 0x80;
    CHECK_INT(ok, 30);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.dropped_offline, 20);
    CHECK_INT(st.dropped_online, 0);
    CHECK_INT(st.dropped, 20);
    CHECK_INT(st.backpressure_pauses, 0);
    LOG_HAS(&n, "DROP away t");
    finish(&n);
}

/* [MQTT-3.1.2-8] the server closes without DISCONNECT 0x00: every will, delayed ones too (the
 * session ends with the server), reaches the subscribers before their DISCONNECT 0x8B. */
TEST(close_all_publishes_every_will_before_the_disconnects) {
    net n;
    net_init(&n, 0);
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "watch5"), 0); /* first in the list: closed first */
    CHECK_INT(net_connect(&n, 1, V3, "watch3"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 1), 1);
    CHECK_INT(net_subscribe(&n, 1, "will/#", 0), 0);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    o.will_topic = "will/a";
    o.will_payload = "a-gone";
    o.will_qos = 1;
    CHECK_INT(net_connect_opts(&n, 2, V3, "a", &o), 0);
    o.will_topic = "will/b";
    o.will_payload = "b-gone";
    o.will_retain = 1;
    o.will_delay = 60;
    o.expiry = 300;
    CHECK_INT(net_connect_opts(&n, 3, V5, "b", &o), 0);
    /* c: lost abnormally, offline, its delayed will still waiting */
    o.will_topic = "will/c";
    o.will_payload = "c-gone";
    o.will_retain = 0;
    CHECK_INT(net_connect_opts(&n, 4, V5, "c", &o), 0);
    net_eof(&n, 4);
    /* d: a clean DISCONNECT 0x00 deleted its will */
    o.will_topic = "will/d";
    o.will_delay = 0;
    CHECK_INT(net_connect_opts(&n, 5, V5, "d", &o), 0);
    CHECK_INT(net_disconnect(&n, 5, 0x00), 0);
    net_flush(&n);
    CHECK_INT(net_count_publish(&n, 0), 0);

    mqws_broker_close_all(n.b, MQWS_RC_SERVER_SHUTTING_DOWN);
    net_flush(&n);
    const char *want[] = {"will/a", "will/b", "will/c"};
    for (int w = 0; w < 2; w++) {
        int seen[3] = {0, 0, 0}, after = 0, disc = 0;
        mqws_packet p;
        while (net_next(&n, w, &p)) {
            if (p.type == MQWS_PKT_PUBLISH) {
                after += disc;
                for (int k = 0; k < 3; k++)
                    if (p.topic.len == strlen(want[k]) &&
                        !memcmp(p.topic.ptr, want[k], p.topic.len))
                        seen[k]++;
                CHECK(!(p.topic.len == 6 && !memcmp(p.topic.ptr, "will/d", 6)));
            } else if (p.type == MQWS_PKT_DISCONNECT) {
                disc = 1;
                CHECK_INT(p.reason_code, MQWS_RC_SERVER_SHUTTING_DOWN);
            }
        }
        CHECK_INT(seen[0], 1);
        CHECK_INT(seen[1], 1);
        CHECK_INT(seen[2], 1);
        CHECK_INT(after, 0);
        CHECK_INT(disc, w == 0); /* 3.1.1 has no server DISCONNECT */
        CHECK(n.cli[w].finished);
    }
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.wills_at_close, 2);
    CHECK_INT(st.retained, 1); /* will/b, retained */
    /* Later ticks do not publish b's delayed will a second time. */
    size_t before = n.log_len;
    net_tick(&n, n.now + 120000);
    CHECK(strstr(n.log + before, "WILL") == NULL);
    finish(&n);
}

int main(void) {
    RUN(backpressure_qos1_v311_nothing_lost_publisher_paused_and_resumed);
    RUN(backpressure_qos1_v5_small_queue_nothing_lost);
    RUN(backpressure_qos2_v5_exactly_once_in_order);
    RUN(backpressure_qos2_v311_small_queue_exactly_once);
    RUN(backpressure_many_publishers_tiny_queue_nothing_lost_in_order);
    RUN(backpressure_released_when_the_slow_subscriber_goes);
    RUN(backpressure_never_deadlocks_a_client_feeding_itself);
    RUN(backpressure_pause_suspends_the_publishers_keepalive);
    RUN(offline_session_over_its_queue_limit_drops_and_counts);
    RUN(close_all_publishes_every_will_before_the_disconnects);
    return testlib_finish();
}
