/* The broker under allocation failure: a multi-client dialogue (3.1.1 and 5.0, retained, QoS
 * 0/1/2, shared subscriptions, wills, persistent sessions, takeover, $SYS, expiry) is replayed
 * with the Nth allocation failing, for every N until the dialogue runs clean. Whatever fails,
 * nothing may crash and every byte must be returned when the broker is freed.
 * SPDX-License-Identifier: MIT */
#include "broker_net.h"

static void pubrel_comp(net *n, int i) {
    /* Answer whatever QoS 1/2 traffic client i received, as a client would. */
    mqws_packet p;
    while (net_next(n, i, &p)) {
        mqws_packet a;
        if (p.type == MQWS_PKT_PUBLISH && p.qos == 1) {
            mqws_packet_init(&a, MQWS_PKT_PUBACK);
            a.packet_id = p.packet_id;
            (void)net_send(n, i, &a);
        } else if (p.type == MQWS_PKT_PUBLISH && p.qos == 2) {
            mqws_packet_init(&a, MQWS_PKT_PUBREC);
            a.packet_id = p.packet_id;
            (void)net_send(n, i, &a);
        } else if (p.type == MQWS_PKT_PUBREC) {
            mqws_packet_init(&a, MQWS_PKT_PUBREL);
            a.packet_id = p.packet_id;
            (void)net_send(n, i, &a);
        } else if (p.type == MQWS_PKT_PUBREL) {
            mqws_packet_init(&a, MQWS_PKT_PUBCOMP);
            a.packet_id = p.packet_id;
            (void)net_send(n, i, &a);
        }
    }
}

/* Returns the number of allocations attempted. */
static long dialogue(long fail_at) {
    net n;
    net_init(&n, fail_at);
    n.cfg.sys_interval_ms = 2000;
    n.cfg.out_high = 4096;
    n.cfg.out_low = 1024;
    if (net_start(&n) < 0) {
        long k = n.ta.count;
        CHECK_ALLOC_CLEAN(&n.ta);
        return k;
    }
    conn_opts keep;
    memset(&keep, 0, sizeof(keep));
    keep.expiry = 30;
    conn_opts will;
    memset(&will, 0, sizeof(will));
    will.clean = 1;
    will.will_topic = "w/t";
    will.will_payload = "bye";
    will.will_qos = 1;
    will.will_retain = 1;

    (void)net_connect_opts(&n, 0, MQWS_MQTT_5, "sub5", &keep);
    (void)net_connect(&n, 1, MQWS_MQTT_311, "sub3");
    (void)net_connect_opts(&n, 2, MQWS_MQTT_5, "pub", &will);
    sub_opts so = {0, 1, 0, 7};
    (void)net_publish(&n, 2, "r/a", "retained", 1, 1, 1);
    (void)net_subscribe_opts(&n, 0, "r/#", 2, &so);
    (void)net_subscribe(&n, 1, "r/+", 1);
    (void)net_subscribe(&n, 1, "$share/g/r/a", 1);
    (void)net_subscribe(&n, 0, "$share/g/r/a", 2);
    (void)net_subscribe(&n, 1, "w/#", 0);
    for (int k = 0; k < 4; k++) {
        (void)net_publish(&n, 2, "r/a", "m", (uint8_t)(k % 3), 0, (uint16_t)(10 + k));
        pubrel_comp(&n, 0);
        pubrel_comp(&n, 1);
        pubrel_comp(&n, 2);
    }
    /* Persistent session offline, messages queued, resumed by a takeover-free reconnect. */
    net_eof(&n, 0);
    (void)net_publish(&n, 2, "r/b", "offline", 1, 0, 20);
    pubrel_comp(&n, 2);
    net_tick(&n, n.now + 2500); /* $SYS */
    keep.clean = 0;
    (void)net_connect_opts(&n, 0, MQWS_MQTT_5, "sub5", &keep);
    pubrel_comp(&n, 0);
    /* Takeover of an open 5.0 connection, then of a 3.1.1 one. */
    (void)net_connect_opts(&n, 3, MQWS_MQTT_5, "sub5", &keep);
    pubrel_comp(&n, 3);
    (void)net_connect(&n, 4, MQWS_MQTT_311, "sub3");
    /* Will on abnormal loss; expiry of the session left behind. */
    net_eof(&n, 2);
    pubrel_comp(&n, 4);
    net_eof(&n, 3);
    net_tick(&n, n.now + 31000);
    net_tick(&n, n.now + 1000);
    long count = n.ta.count;
    if (fail_at == 0) {
        /* The dialogue does what it says when nothing fails. */
        LOG_HAS(&n, "TAKEOVER sub5");
        LOG_HAS(&n, "TAKEOVER sub3");
        LOG_HAS(&n, "WILL pub w/t");
        LOG_HAS(&n, "EXPIRED sub5");
        LOG_HASNT(&n, "REFUSED");
        LOG_HASNT(&n, "DROP");
    }
    net_stop(&n);
    CHECK_ALLOC_CLEAN(&n.ta);
    return count;
}

TEST(every_allocation_failure_in_a_dialogue_is_survived_without_leaks) {
    long total = dialogue(0);
    CHECK(total > 100);
    printf("     %ld allocations in the dialogue, each failed in turn\n", total);
    for (long k = 1; k <= total + 1; k++)
        (void)dialogue(k);
}

/* A seeded random dialogue (see test_broker.c) with the Nth allocation failing: whatever
 * fails, the end state is clean. Returns the allocations attempted. */
static long random_dialogue(uint64_t seed, int steps, long fail_at) {
    static const char *ids[] = {"r0", "r1", "r2"};
    static const char *filters[] = {"a/#", "+/b", "$share/g/a/b", "a/b"};
    static const char *topics[] = {"a/b", "a/c", "x/b"};
    net n;
    net_init(&n, fail_at);
    if (net_start(&n) < 0) {
        long k = n.ta.count;
        CHECK_ALLOC_CLEAN(&n.ta);
        return k;
    }
    for (int step = 0; step < steps; step++) {
        int i = (int)testlib_rand_below(&seed, 4);
        tcli *t = &n.cli[i];
        size_t op = testlib_rand_below(&seed, 8);
        if (!t->c || op == 0) {
            conn_opts o;
            memset(&o, 0, sizeof(o));
            o.clean = (uint8_t)testlib_rand_below(&seed, 2);
            o.expiry = 5;
            if (testlib_rand_below(&seed, 2)) {
                o.will_topic = "a/w";
                o.will_retain = 1;
            }
            if (t->c)
                net_eof(&n, i);
            (void)net_connect_opts(&n, i,
                                   testlib_rand_below(&seed, 2) ? MQWS_MQTT_5 : MQWS_MQTT_311,
                                   ids[testlib_rand_below(&seed, 3)], &o);
            continue;
        }
        switch (op) {
            case 1:
            case 2:
                (void)net_subscribe(&n, i, filters[testlib_rand_below(&seed, 4)],
                                    (uint8_t)testlib_rand_below(&seed, 3));
                break;
            case 3:
            case 4:
                (void)net_publish(&n, i, topics[testlib_rand_below(&seed, 3)], "p",
                                  (uint8_t)testlib_rand_below(&seed, 3),
                                  (uint8_t)(testlib_rand_below(&seed, 3) == 0),
                                  (uint16_t)(1 + testlib_rand_below(&seed, 20)));
                break;
            case 5:
                net_eof(&n, i);
                break;
            case 6:
                net_tick(&n, n.now + (int64_t)testlib_rand_below(&seed, 3000));
                break;
            default:
                pubrel_comp(&n, i);
                break;
        }
    }
    for (int i = 0; i < 4; i++)
        net_eof(&n, i);
    net_tick(&n, n.now + 2 * 86400000);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.connections, 0);
    CHECK_INT(st.sessions, 0);
    CHECK_INT(st.mem_sessions, 0);
    long count = n.ta.count;
    net_stop(&n);
    CHECK_ALLOC_CLEAN(&n.ta);
    return count;
}

TEST(every_allocation_failure_in_a_random_dialogue_is_survived) {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        long total = random_dialogue(seed * 7919, 120, 0);
        CHECK(total > 100);
        for (long k = 1; k <= total + 1; k++)
            (void)random_dialogue(seed * 7919, 120, k);
    }
}

int main(void) {
    RUN(every_allocation_failure_in_a_dialogue_is_survived_without_leaks);
    RUN(every_allocation_failure_in_a_random_dialogue_is_survived);
    return testlib_finish();
}
