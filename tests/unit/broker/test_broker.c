/* Broker behaviour, client by client with real MQTT bytes: 3.1.1 and 5.0 clients mixed.
 * Each test is named after the spec statement or the behaviour it checks.
 * SPDX-License-Identifier: MIT */
#include "broker_net.h"

#define V3 MQWS_MQTT_311
#define V5 MQWS_MQTT_5

static void start(net *n) {
    net_init(n, 0);
    CHECK_INT(net_start(n), 0);
}

static void finish(net *n) {
    net_stop(n);
    CHECK_ALLOC_CLEAN(&n->ta);
}

static int puback(net *n, int i, uint16_t pid) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBACK);
    p.packet_id = pid;
    return (int)net_send(n, i, &p);
}

/* ------------------------------------------------------------------------------------------ */

TEST(connect_v311_and_v5_clients_get_connack) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "a"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "b"), 0);
    mqws_broker_stats st;
    st.size = sizeof(st);
    CHECK_INT(mqws_broker_stats_get(n.b, &st), MQWS_OK);
    CHECK_INT(st.clients_connected, 2);
    CHECK_INT(st.sessions, 2);
    CHECK_INT(st.connections, 2);
    LOG_HAS(&n, "CONNECT a");
    LOG_HAS(&n, "CONNECT b");
    finish(&n);
}

TEST(publish_routes_to_v311_and_v5_subscribers) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "s3"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "s5"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "a/+", 1), 1);
    CHECK_INT(net_subscribe(&n, 1, "a/#", 2), 2);
    /* 5.0 user properties and content type pass through to the 5.0 subscriber intact. */
    mqws_user_prop up[2] = {{mqws_view_cstr("k1"), mqws_view_cstr("v1")},
                            {mqws_view_cstr("k2"), mqws_view_cstr("v2")}};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("a/b");
    p.payload = mqws_view_cstr("hello");
    p.qos = 1;
    p.packet_id = 5;
    p.props.user_props = up;
    p.props.user_prop_count = 2;
    p.props.present |= MQWS_PROPF_USER_PROPERTY | MQWS_PROPF_CONTENT_TYPE;
    p.props.content_type = mqws_view_cstr("text/plain");
    CHECK(net_send(&n, 2, &p) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 2, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, 0);
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.topic, "a/b");
    CHECK_VIEW(a.payload, "hello");
    CHECK_INT(a.qos, 1);
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.qos, 1);
    CHECK_VIEW(a.props.content_type, "text/plain");
    CHECK_INT(a.props.user_prop_count, 2);
    mqws_prop_iter it;
    mqws_props_iter_init(&a.props, &it);
    mqws_view k, v;
    CHECK(mqws_props_next_user(&it, &k, &v));
    CHECK_VIEW(k, "k1");
    CHECK_VIEW(v, "v1");
    CHECK(mqws_props_next_user(&it, &k, &v));
    CHECK_VIEW(k, "k2");
    CHECK_VIEW(v, "v2");
    finish(&n);
}

TEST(qos0_shared_headers_carry_properties_and_retain_per_variant) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "v3"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "v5"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "v5rap"), 0);
    CHECK_INT(net_connect(&n, 3, V5, "v5id"), 0);
    CHECK_INT(net_connect(&n, 4, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "h/#", 0), 0);
    CHECK_INT(net_subscribe(&n, 1, "h/#", 0), 0);
    sub_opts rap = {0, 1, 2, 0};
    CHECK_INT(net_subscribe_opts(&n, 2, "h/#", 0, &rap), 0);
    sub_opts id = {0, 0, 2, 9};
    CHECK_INT(net_subscribe_opts(&n, 3, "h/#", 0, &id), 0);
    mqws_user_prop up = {mqws_view_cstr("k"), mqws_view_cstr("v")};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("h/1");
    p.payload = mqws_view_cstr("body");
    p.retain = 1;
    p.props.user_props = &up;
    p.props.user_prop_count = 1;
    p.props.content_type = mqws_view_cstr("ct");
    p.props.message_expiry = 30;
    p.props.present |=
        MQWS_PROPF_USER_PROPERTY | MQWS_PROPF_CONTENT_TYPE | MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    CHECK(net_send(&n, 4, &p) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.topic, "h/1");
    CHECK_VIEW(a.payload, "body");
    CHECK_INT(a.retain, 0);
    for (int i = 1; i <= 3; i++) {
        CHECK(net_expect(&n, i, MQWS_PKT_PUBLISH, &a));
        CHECK_VIEW(a.topic, "h/1");
        CHECK_VIEW(a.payload, "body");
        CHECK_INT(a.retain, i == 2 ? 1 : 0);
        CHECK_VIEW(a.props.content_type, "ct");
        CHECK_INT(a.props.message_expiry, 30);
        CHECK_INT(a.props.user_prop_count, 1);
        CHECK_INT(a.props.sub_id_count, i == 3 ? 1 : 0);
        if (i == 3)
            CHECK_INT(a.props.subscription_id, 9);
    }
    finish(&n);
}

TEST(inbound_topic_alias_resolved_before_forwarding) {
    /* The publisher's topic alias is its own (MQTT 5 §3.3.2.3.4): subscribers see the topic name
     * (and no alias of the publisher's), with the other properties intact. */
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "s5"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "s3"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "ta/#", 0), 0);
    CHECK_INT(net_subscribe(&n, 1, "ta/#", 0), 0);
    mqws_user_prop up = {mqws_view_cstr("u"), mqws_view_cstr("1")};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("ta/x");
    p.payload = mqws_view_cstr("first");
    p.props.topic_alias = 3;
    p.props.user_props = &up;
    p.props.user_prop_count = 1;
    p.props.present |= MQWS_PROPF_TOPIC_ALIAS | MQWS_PROPF_USER_PROPERTY;
    CHECK(net_send(&n, 2, &p) > 0);
    p.topic.len = 0; /* the alias alone */
    p.payload = mqws_view_cstr("second");
    CHECK(net_send(&n, 2, &p) > 0);
    mqws_packet a;
    for (int k = 0; k < 2; k++) {
        CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
        CHECK_VIEW(a.topic, "ta/x");
        CHECK(!(a.props.present & MQWS_PROPF_TOPIC_ALIAS));
        CHECK_INT(a.props.user_prop_count, 1);
        CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
        CHECK_VIEW(a.topic, "ta/x");
        CHECK_VIEW(a.payload, k ? "second" : "first");
    }
    finish(&n);
}

TEST(v5_puback_0x10_when_no_matching_subscribers) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "p"), 0);
    CHECK(net_publish(&n, 0, "nobody/here", "x", 1, 0, 9) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, MQWS_RC_NO_MATCHING_SUBSCRIBERS);
    finish(&n);
}

TEST(fan_out_shares_one_payload_slice) {
    net n;
    start(&n);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "s%d", i);
        CHECK_INT(net_connect(&n, i, i == 1 ? V3 : V5, id), 0);
        CHECK_INT(net_subscribe(&n, i, "t", 0), 0);
        n.cli[i].hold = 1; /* keep their output pending to look at it */
    }
    CHECK_INT(net_connect(&n, 3, V5, "pub"), 0);
    const char *payload = "a payload that every subscriber shares";
    CHECK(net_publish(&n, 3, "t", payload, 0, 0, 0) > 0);
    const void *base[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        mqws_iovec iov[8];
        size_t k = mqws_conn_pending(n.cli[i].c, iov, 8);
        CHECK(k >= 2);
        for (size_t j = 0; j < k; j++)
            if (iov[j].len == strlen(payload))
                base[i] = iov[j].base;
    }
    CHECK(base[0] != NULL);
    CHECK(base[0] == base[1]);
    CHECK(base[1] == base[2]);
    CHECK(base[0] != (const void *)payload);
    for (int i = 0; i < 3; i++)
        net_unhold(&n, i);
    for (int i = 0; i < 3; i++)
        CHECK_INT(net_count_publish(&n, i), 1);
    finish(&n);
}

TEST(next_writable_reports_each_connection_once) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "a"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "b"), 0);
    CHECK_INT(net_subscribe(&n, 0, "x", 0), 0);
    CHECK(mqws_broker_next_writable(n.b) == NULL);
    /* Two messages routed in one read: one entry for the subscriber, one for the publisher
     * (nothing to write for QoS 0, so not even that). */
    uint8_t buf[64];
    size_t len = 0, l2 = 0;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("x");
    p.payload = mqws_view_cstr("1");
    CHECK_INT(mqws_encode(&p, V5, buf, sizeof(buf), &len), MQWS_OK);
    CHECK_INT(mqws_encode(&p, V5, buf + len, sizeof(buf) - len, &l2), MQWS_OK);
    CHECK_INT(mqws_broker_recv(n.b, n.cli[1].c, buf, len + l2, n.now), (int64_t)(len + l2));
    mqws_conn *c = mqws_broker_next_writable(n.b);
    CHECK(c == n.cli[0].c);
    CHECK(mqws_broker_next_writable(n.b) == NULL);
    mqws_iovec iov[8];
    size_t k = mqws_conn_pending(c, iov, 8);
    size_t total = 0;
    for (size_t j = 0; j < k; j++)
        total += iov[j].len;
    CHECK(total > 0);
    CHECK_INT(mqws_conn_pending_bytes(c), total);
    mqws_broker_sent(n.b, c, total);
    CHECK(!mqws_conn_want_write(c));
    finish(&n);
}

/* Feed a whole client script (several packets back to back) in pieces. */
static void feed_split(net *n, int i, const uint8_t *buf, size_t len, int mode, uint64_t *seed) {
    size_t pos = 0;
    uint8_t tmp[1024];
    while (pos < len) {
        size_t k = mode == 0 ? len - pos : mode == 1 ? 1 : 1 + testlib_rand_below(seed, len - pos);
        memcpy(tmp, buf + pos, k);
        CHECK_INT(mqws_broker_recv(n->b, n->cli[i].c, tmp, k, n->now), (int64_t)k);
        net_flush(n);
        pos += k;
    }
}

TEST(input_split_anywhere_routes_the_same) {
    /* CONNECT + SUBSCRIBE + PUBLISH x3 from one client, delivered to another; whole, byte by
     * byte and at random split points: the subscriber's bytes must be identical. */
    uint8_t script[512];
    size_t len = 0, k = 0;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.client_id = mqws_view_cstr("splitter");
    p.clean_start = 1;
    CHECK_INT(mqws_encode(&p, V5, script, sizeof(script), &k), MQWS_OK);
    len += k;
    mqws_subscription sub = {mqws_view_cstr("s/#"), 1, 0, 0, 0};
    mqws_packet_init(&p, MQWS_PKT_SUBSCRIBE);
    p.packet_id = 1;
    p.entry_count = 1;
    p.subs = &sub;
    CHECK_INT(mqws_encode(&p, V5, script + len, sizeof(script) - len, &k), MQWS_OK);
    len += k;
    for (int j = 0; j < 3; j++) {
        mqws_packet_init(&p, MQWS_PKT_PUBLISH);
        p.topic = mqws_view_cstr(j == 1 ? "s/b" : "s/a");
        p.payload = mqws_view_cstr("payload");
        p.qos = (uint8_t)j;
        p.packet_id = (uint16_t)(j ? 10 + j : 0);
        CHECK_INT(mqws_encode(&p, V5, script + len, sizeof(script) - len, &k), MQWS_OK);
        len += k;
    }
    uint8_t ref[4096], ref2[4096];
    size_t ref_len = 0, ref2_len = 0;
    uint64_t seed = 0x5eed;
    for (int mode = 0; mode < 6; mode++) {
        net n;
        start(&n);
        CHECK_INT(net_connect(&n, 0, V3, "watch"), 0);
        CHECK_INT(net_subscribe(&n, 0, "s/+", 2), 2);
        CHECK_INT(net_open(&n, 1, V5), 0);
        feed_split(&n, 1, script, len, mode > 2 ? 2 : mode, &seed);
        tcli *w = &n.cli[0], *sp = &n.cli[1];
        if (mode == 0) {
            memcpy(ref, w->out + w->rd, w->out_len - w->rd);
            ref_len = w->out_len - w->rd;
            memcpy(ref2, sp->out, sp->out_len);
            ref2_len = sp->out_len;
            CHECK_INT(net_count_publish(&n, 0), 3);
        } else {
            CHECK_MEM(w->out + w->rd, w->out_len - w->rd, ref, ref_len);
            CHECK_MEM(sp->out, sp->out_len, ref2, ref2_len);
        }
        finish(&n);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Retained messages */

TEST(mqtt_3_3_1_5_retained_message_stored_and_sent_to_new_subscribers) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "pub"), 0);
    CHECK(net_publish(&n, 0, "r/1", "one", 1, 1, 1) > 0);
    CHECK(net_publish(&n, 0, "r/2", "two", 0, 1, 0) > 0);
    CHECK_INT(net_connect(&n, 1, V3, "s3"), 0);
    CHECK_INT(net_subscribe(&n, 1, "r/#", 1), 1);
    mqws_packet a;
    int got = 0;
    while (net_next(&n, 1, &a)) {
        CHECK_INT(a.type, MQWS_PKT_PUBLISH);
        CHECK_INT(a.retain, 1); /* 3.1.1 [MQTT-3.3.1-8] */
        got++;
    }
    CHECK_INT(got, 2);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.retained, 2);
    CHECK(st.mem_retained > 0);
    finish(&n);
}

TEST(mqtt_3_3_1_6_7_empty_retained_payload_deletes) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "pub"), 0);
    CHECK(net_publish(&n, 0, "r", "x", 0, 1, 0) > 0);
    CHECK(net_publish(&n, 0, "r", "", 0, 1, 0) > 0);
    CHECK_INT(net_connect(&n, 1, V5, "s"), 0);
    CHECK_INT(net_subscribe(&n, 1, "r", 0), 0);
    CHECK_INT(net_count_publish(&n, 1), 0);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.retained, 0);
    finish(&n);
}

TEST(mqtt_3_3_1_9_10_11_retain_handling) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "pub"), 0);
    CHECK(net_publish(&n, 0, "r", "x", 0, 1, 0) > 0);
    CHECK_INT(net_connect(&n, 1, V5, "s"), 0);
    sub_opts o = {0, 0, 0, 0};
    /* 0: sent at every subscribe [MQTT-3.3.1-9] */
    CHECK_INT(net_subscribe_opts(&n, 1, "r", 0, &o), 0);
    CHECK_INT(net_count_publish(&n, 1), 1);
    CHECK_INT(net_subscribe_opts(&n, 1, "r", 0, &o), 0);
    CHECK_INT(net_count_publish(&n, 1), 1);
    /* 1: only if the subscription did not exist [MQTT-3.3.1-10] */
    o.rh = 1;
    CHECK_INT(net_subscribe_opts(&n, 1, "r", 0, &o), 0);
    CHECK_INT(net_count_publish(&n, 1), 0);
    CHECK_INT(net_subscribe_opts(&n, 1, "r/#", 0, &o), 0);
    CHECK_INT(net_count_publish(&n, 1), 1); /* "r/#" matches "r" */
    /* 2: never [MQTT-3.3.1-11] */
    o.rh = 2;
    CHECK_INT(net_subscribe_opts(&n, 1, "+", 0, &o), 0);
    CHECK_INT(net_count_publish(&n, 1), 0);
    finish(&n);
}

TEST(mqtt_3_3_1_12_13_retain_as_published) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "rap"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "norap"), 0);
    CHECK_INT(net_connect(&n, 2, V3, "v3"), 0);
    CHECK_INT(net_connect(&n, 3, V5, "pub"), 0);
    sub_opts o = {0, 1, 2, 0};
    CHECK_INT(net_subscribe_opts(&n, 0, "t", 0, &o), 0);
    o.rap = 0;
    CHECK_INT(net_subscribe_opts(&n, 1, "t", 0, &o), 0);
    CHECK_INT(net_subscribe(&n, 2, "t", 0), 0);
    CHECK(net_publish(&n, 3, "t", "x", 0, 1, 0) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.retain, 1); /* [MQTT-3.3.1-13] */
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.retain, 0); /* [MQTT-3.3.1-12] */
    CHECK(net_expect(&n, 2, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.retain, 0); /* 3.1.1 [MQTT-3.3.1-9]: live messages carry retain 0 */
    finish(&n);
}

TEST(mqtt_4_7_2_1_dollar_topics_not_matched_by_leading_wildcards) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "hash"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "plus"), 0);
    CHECK_INT(net_connect(&n, 2, V3, "sys"), 0);
    CHECK_INT(net_subscribe(&n, 0, "#", 0), 0);
    CHECK_INT(net_subscribe(&n, 1, "+/x", 0), 0);
    CHECK_INT(net_subscribe(&n, 2, "$SYS/#", 0), 0);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("$SYS/x");
    p.payload = mqws_view_cstr("v");
    p.retain = 1;
    CHECK_INT(mqws_broker_publish(n.b, &p), 1);
    net_flush(&n);
    CHECK_INT(net_count_publish(&n, 0), 0);
    CHECK_INT(net_count_publish(&n, 1), 0);
    CHECK_INT(net_count_publish(&n, 2), 1);
    /* Retained: the same rule on subscribe. */
    CHECK_INT(net_subscribe(&n, 0, "#", 0), 0);
    CHECK_INT(net_count_publish(&n, 0), 0);
    CHECK_INT(net_subscribe(&n, 2, "$SYS/+", 0), 0);
    CHECK_INT(net_count_publish(&n, 2), 1);
    finish(&n);
}

TEST(retained_message_expiry_is_honoured_and_decremented) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "pub"), 0);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("e");
    p.payload = mqws_view_cstr("x");
    p.retain = 1;
    p.props.message_expiry = 10;
    p.props.present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    CHECK(net_send(&n, 0, &p) > 0);
    net_tick(&n, n.now + 4000);
    CHECK_INT(net_connect(&n, 1, V5, "s"), 0);
    CHECK_INT(net_subscribe(&n, 1, "e", 0), 0);
    mqws_packet a;
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK(a.props.present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL);
    CHECK_INT(a.props.message_expiry, 6); /* [MQTT-3.3.2-6] */
    net_tick(&n, n.now + 7000);
    CHECK_INT(net_subscribe(&n, 1, "e", 0), 0);
    CHECK_INT(net_count_publish(&n, 1), 0); /* [MQTT-3.3.2-5] */
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.retained, 0); /* and gone from the store */
    finish(&n);
}

/* ------------------------------------------------------------------------------------------ */
/* Subscriptions */

TEST(mqtt_3_3_4_2_3_overlapping_subscriptions_delivered_once_max_qos_all_ids) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "s"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "pub"), 0);
    sub_opts o = {0, 0, 0, 11};
    CHECK_INT(net_subscribe_opts(&n, 0, "a/+", 0, &o), 0);
    o.sub_id = 22;
    CHECK_INT(net_subscribe_opts(&n, 0, "a/#", 2, &o), 2);
    CHECK(net_publish(&n, 1, "a/b", "x", 2, 0, 3) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.qos, 2);                /* [MQTT-3.3.4-2] the highest granted */
    CHECK_INT(a.props.sub_id_count, 2); /* [MQTT-3.3.4-3] */
    mqws_prop_iter it;
    mqws_props_iter_init(&a.props, &it);
    uint32_t id1 = 0, id2 = 0;
    CHECK(mqws_props_next_sub_id(&it, &id1));
    CHECK(mqws_props_next_sub_id(&it, &id2));
    CHECK((id1 == 11 && id2 == 22) || (id1 == 22 && id2 == 11));
    CHECK_INT(net_count_publish(&n, 0), 0); /* once */
    finish(&n);
}

TEST(mqtt_3_8_4_8_qos_downgraded_to_granted) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "s0"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "s1"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "q", 0), 0);
    CHECK_INT(net_subscribe(&n, 1, "q", 1), 1);
    CHECK(net_publish(&n, 2, "q", "x", 2, 0, 4) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.qos, 0);
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.qos, 1);
    /* ... and never upgraded */
    CHECK(net_publish(&n, 2, "q", "y", 0, 0, 0) > 0);
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.qos, 0);
    finish(&n);
}

TEST(mqtt_3_8_3_3_no_local) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "me"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "other"), 0);
    sub_opts o = {1, 0, 0, 0};
    CHECK_INT(net_subscribe_opts(&n, 0, "nl", 0, &o), 0);
    CHECK(net_publish(&n, 0, "nl", "x", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 0), 0);
    CHECK(net_publish(&n, 1, "nl", "x", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 0), 1);
    /* Without no-local a client gets its own messages. */
    CHECK_INT(net_subscribe(&n, 1, "nl", 0), 0);
    CHECK(net_publish(&n, 1, "nl", "x", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 1), 1);
    finish(&n);
}

TEST(mqtt_4_8_2_shared_subscription_one_member_per_message) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "m0"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "m1"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "plain"), 0);
    CHECK_INT(net_connect(&n, 3, V5, "pub"), 0);
    CHECK(net_publish(&n, 3, "job/1", "retained", 0, 1, 0) > 0);
    CHECK_INT(net_subscribe(&n, 0, "$share/g/job/+", 1), 1);
    CHECK_INT(net_subscribe(&n, 1, "$share/g/job/+", 1), 1);
    CHECK_INT(net_subscribe(&n, 2, "job/+", 0), 0);
    /* No retained message for a shared subscription (§4.8.2); the plain one gets it. */
    CHECK_INT(net_count_publish(&n, 0), 0);
    CHECK_INT(net_count_publish(&n, 1), 0);
    CHECK_INT(net_count_publish(&n, 2), 1);
    for (int k = 0; k < 10; k++)
        CHECK(net_publish(&n, 3, "job/1", "w", 0, 0, 0) > 0);
    int a = net_count_publish(&n, 0), b = net_count_publish(&n, 1);
    CHECK_INT(a + b, 10); /* each message to exactly one member */
    CHECK_INT(a, 5);      /* round robin */
    CHECK_INT(net_count_publish(&n, 2), 10);
    finish(&n);
}

TEST(unsubscribe_stops_delivery_and_reports_0x11) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "s"), 0);
    CHECK_INT(net_subscribe(&n, 0, "u", 0), 0);
    mqws_view f[2] = {mqws_view_cstr("u"), mqws_view_cstr("none")};
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_UNSUBSCRIBE);
    p.packet_id = 3;
    p.entry_count = 2;
    p.unsub_filters = f;
    CHECK(net_send(&n, 0, &p) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_UNSUBACK, &a));
    CHECK_INT(a.reason_codes.len, 2);
    CHECK_INT(a.reason_codes.ptr[0], 0x00);
    CHECK_INT(a.reason_codes.ptr[1], MQWS_RC_NO_SUBSCRIPTION_EXISTED);
    CHECK(net_publish(&n, 0, "u", "x", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 0), 0);
    finish(&n);
}

TEST(mqtt_3_8_3_4_no_local_on_shared_subscription_is_a_protocol_error) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "nl"), 0);
    sub_opts o = {1, 0, 0, 0};
    (void)net_subscribe_opts(&n, 0, "$share/g/t", 0, &o);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_PROTOCOL_ERROR);
    CHECK(n.cli[0].finished);
    finish(&n);
}

TEST(clients_cannot_publish_to_sys_topics) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "mon"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "fake3"), 0);
    CHECK_INT(net_subscribe(&n, 0, "$SYS/#", 0), 0);
    CHECK(net_publish(&n, 0, "$SYS/broker/uptime", "1", 1, 1, 4) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, MQWS_RC_NOT_AUTHORIZED);
    CHECK(net_publish(&n, 1, "$SYS/broker/uptime", "1", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 0), 0);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.retained, 0);
    finish(&n);
}

TEST(close_all_refuses_a_connect_still_authenticating_with_0x88) {
    net n;
    net_init(&n, 0);
    n.hooks.authenticate = net_authenticate;
    n.auth_result = MQWS_BROKER_AUTH_ASYNC;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "pending"), -1);
    mqws_broker_close_all(n.b, MQWS_RC_SERVER_SHUTTING_DOWN);
    net_flush(&n);
    n.cli[0].rd = 0;
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_CONNACK, &a));
    CHECK_INT(a.reason_code, MQWS_RC_SERVER_UNAVAILABLE);
    CHECK(n.cli[0].finished);
    finish(&n);
}

/* ------------------------------------------------------------------------------------------ */
/* Wills */

static conn_opts will_opts(uint32_t delay, uint32_t expiry) {
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    o.will_topic = "will/t";
    o.will_payload = "gone";
    o.will_delay = delay;
    o.expiry = expiry;
    return o;
}

TEST(mqtt_3_1_2_8_will_published_on_abnormal_disconnect) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = will_opts(0, 0);
    CHECK_INT(net_connect_opts(&n, 1, V3, "w3", &o), 0);
    CHECK_INT(net_connect_opts(&n, 2, V5, "w5", &o), 0);
    net_eof(&n, 1);
    net_eof(&n, 2);
    CHECK_INT(net_count_publish(&n, 0), 2);
    LOG_HAS(&n, "WILL w3 will/t");
    finish(&n);
}

TEST(mqtt_3_1_2_10_no_will_after_normal_disconnect) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = will_opts(0, 0);
    CHECK_INT(net_connect_opts(&n, 1, V3, "w3", &o), 0);
    CHECK_INT(net_connect_opts(&n, 2, V5, "w5", &o), 0);
    CHECK_INT(net_disconnect(&n, 1, 0), 0);
    CHECK_INT(net_disconnect(&n, 2, 0), 0);
    net_eof(&n, 1);
    net_eof(&n, 2);
    CHECK_INT(net_count_publish(&n, 0), 0);
    finish(&n);
}

TEST(v5_disconnect_with_will_0x04_sends_the_will) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = will_opts(0, 0);
    CHECK_INT(net_connect_opts(&n, 1, V5, "w5", &o), 0);
    CHECK_INT(net_disconnect(&n, 1, MQWS_RC_DISCONNECT_WITH_WILL), 0);
    CHECK_INT(net_count_publish(&n, 0), 1);
    finish(&n);
}

TEST(mqtt_3_1_3_9_will_delay_then_published_by_tick) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = will_opts(5, 60);
    CHECK_INT(net_connect_opts(&n, 1, V5, "w5", &o), 0);
    net_eof(&n, 1);
    CHECK_INT(net_count_publish(&n, 0), 0);
    int64_t d = net_tick(&n, n.now + 1000);
    CHECK(d <= n.now + 4000);
    CHECK_INT(net_count_publish(&n, 0), 0);
    net_tick(&n, n.now + 4000);
    CHECK_INT(net_count_publish(&n, 0), 1);
    finish(&n);
}

TEST(mqtt_3_1_3_9_reconnect_within_will_delay_cancels_will) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = will_opts(5, 60);
    o.clean = 0;
    CHECK_INT(net_connect_opts(&n, 1, V5, "w5", &o), 0);
    net_eof(&n, 1);
    net_tick(&n, n.now + 2000);
    conn_opts o2;
    memset(&o2, 0, sizeof(o2));
    o2.expiry = 60;
    CHECK_INT(net_connect_opts(&n, 1, V5, "w5", &o2), 0x100); /* session present */
    net_tick(&n, n.now + 10000);
    CHECK_INT(net_count_publish(&n, 0), 0);
    finish(&n);
}

TEST(mqtt_3_1_2_24_keepalive_timeout_closes_and_publishes_will) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = will_opts(0, 0);
    o.keep_alive = 2;
    CHECK_INT(net_connect_opts(&n, 1, V3, "ka", &o), 0);
    int64_t d = net_tick(&n, n.now + 10);
    CHECK(d <= n.now + 3000);
    net_tick(&n, n.now + 2000);
    CHECK(n.cli[1].c != NULL);
    net_tick(&n, n.now + 1100);
    CHECK(n.cli[1].finished); /* closed and released */
    CHECK_INT(net_count_publish(&n, 0), 1);
    finish(&n);
}

TEST(outbound_topic_aliases_per_subscriber_do_not_disturb_routing) {
    net n;
    net_init(&n, 0);
    n.scfg.outbound_alias_maximum = 4;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_open(&n, 0, V5), 0);
    mqws_packet c;
    mqws_packet_init(&c, MQWS_PKT_CONNECT);
    c.client_id = mqws_view_cstr("alias");
    c.clean_start = 1;
    c.props.topic_alias_maximum = 4;
    c.props.present |= MQWS_PROPF_TOPIC_ALIAS_MAXIMUM;
    CHECK(net_send(&n, 0, &c) > 0);
    CHECK(net_expect(&n, 0, MQWS_PKT_CONNACK, NULL));
    CHECK_INT(net_connect(&n, 1, V3, "plain"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "pub"), 0);
    /* QoS 1: each delivery gets its own header, with this session's alias. (QoS 0 deliveries
     * share one header per wire variant, without alias.) */
    CHECK_INT(net_subscribe(&n, 0, "al/#", 1), 1);
    CHECK_INT(net_subscribe(&n, 1, "al/#", 1), 1);
    for (int k = 0; k < 3; k++)
        CHECK(net_publish(&n, 2, "al/x", "v", 1, 0, (uint16_t)(k + 1)) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.topic, "al/x");
    CHECK(a.props.present & MQWS_PROPF_TOPIC_ALIAS);
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.topic.len, 0); /* the alias alone */
    CHECK_INT(net_count_publish(&n, 0), 1);
    CHECK_INT(net_count_publish(&n, 1), 3);
    finish(&n);
}

TEST(mqtt_3_1_2_17_will_retain_stores_the_will) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    o.will_topic = "status/dev";
    o.will_payload = "offline";
    o.will_retain = 1;
    CHECK_INT(net_connect_opts(&n, 0, V3, "dev", &o), 0);
    net_eof(&n, 0);
    CHECK_INT(net_connect(&n, 1, V5, "late"), 0);
    CHECK_INT(net_subscribe(&n, 1, "status/+", 0), 0);
    mqws_packet a;
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "offline");
    CHECK_INT(a.retain, 1);
    finish(&n);
}

/* ------------------------------------------------------------------------------------------ */
/* Sessions */

TEST(mqtt_3_1_4_3_takeover_v5_old_connection_gets_0x8e) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 100;
    CHECK_INT(net_connect_opts(&n, 0, V5, "dup", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "keep", 1), 1);
    CHECK_INT(net_connect_opts(&n, 1, V5, "dup", &o), 0x100);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_SESSION_TAKEN_OVER);
    CHECK(n.cli[0].finished);
    LOG_HAS(&n, "TAKEOVER dup");
    /* The subscription lives on in the resumed session. */
    CHECK_INT(net_connect(&n, 2, V3, "pub"), 0);
    CHECK(net_publish(&n, 2, "keep", "x", 1, 0, 1) > 0);
    CHECK_INT(net_count_publish(&n, 1), 1);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.clients_connected, 2);
    CHECK_INT(st.sessions, 2);
    finish(&n);
}

TEST(mqtt_3_1_4_3_takeover_v311_old_connection_closed) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "dup"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "dup"), 0);
    CHECK(n.cli[0].finished);
    CHECK_INT(net_count_publish(&n, 0), 0);
    CHECK(n.cli[1].c != NULL);
    finish(&n);
}

TEST(mqtt_3_1_2_4_clean_start_discards_the_session) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 100;
    CHECK_INT(net_connect_opts(&n, 0, V5, "c", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "s", 1), 1);
    net_eof(&n, 0);
    o.clean = 1;
    CHECK_INT(net_connect_opts(&n, 0, V5, "c", &o), 0); /* session present 0 */
    CHECK_INT(net_connect(&n, 1, V5, "pub"), 0);
    CHECK(net_publish(&n, 1, "s", "x", 1, 0, 1) > 0);
    CHECK_INT(net_count_publish(&n, 0), 0); /* the old subscription is gone */
    /* ... and the new session works: its record was not thrown away with the old state. */
    CHECK_INT(net_subscribe(&n, 0, "s", 1), 1);
    CHECK(net_publish(&n, 1, "s", "y", 1, 0, 2) > 0);
    CHECK_INT(net_count_publish(&n, 0), 1);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions, 2);
    finish(&n);
}

TEST(persistent_session_queues_qos1_offline_and_resumes) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "p"), 0);
    conn_opts o;
    memset(&o, 0, sizeof(o)); /* 3.1.1 clean session 0 */
    CHECK_INT(net_connect_opts(&n, 1, V3, "durable", &o), 0);
    CHECK_INT(net_subscribe(&n, 1, "q/#", 1), 1);
    net_eof(&n, 1);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions_offline, 1);
    CHECK(net_publish(&n, 0, "q/1", "m1", 1, 0, 1) > 0);
    CHECK(net_publish(&n, 0, "q/2", "m2", 1, 0, 2) > 0);
    CHECK(net_publish(&n, 0, "q/3", "m0", 0, 0, 0) > 0); /* QoS 0 offline: not kept */
    CHECK_INT(net_connect_opts(&n, 1, V3, "durable", &o), 0x100);
    mqws_packet a;
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "m1");
    CHECK_INT(a.qos, 1);
    uint16_t pid1 = a.packet_id;
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "m2");
    uint16_t pid2 = a.packet_id;
    CHECK_INT(net_count_publish(&n, 1), 0);
    CHECK(puback(&n, 1, pid1) > 0);
    CHECK(puback(&n, 1, pid2) > 0);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions_offline, 0);
    finish(&n);
}

TEST(mqtt_31_persistent_session_resumes_with_its_queue) {
    net n;
    net_init(&n, 0);
    n.scfg.flags |= MQWS_SESSION_ALLOW_V31;
    CHECK_INT(net_start(&n), 0);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    CHECK_INT(net_connect_opts(&n, 0, MQWS_MQTT_31, "mr31x", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "sess/x", 1), 1);
    CHECK_INT(net_disconnect(&n, 0, 0), 0);
    CHECK(n.cli[0].finished);
    CHECK_INT(net_connect(&n, 1, MQWS_MQTT_31, "pub"), 0);
    CHECK(net_publish(&n, 1, "sess/x", "q0", 1, 0, 1) > 0);
    CHECK_INT(net_connect_opts(&n, 0, MQWS_MQTT_31, "mr31x", &o), 0); /* 3.1: no flag */
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "q0");
    LOG_HAS(&n, "CONNECT mr31x  rc=00 q0 n=0\nSUBSCRIBE");
    finish(&n);
}

TEST(mqtt_3_1_2_11_offline_session_expires_after_expiry_interval) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 3;
    CHECK_INT(net_connect_opts(&n, 0, V5, "exp", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "x", 1), 1);
    net_eof(&n, 0);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions, 1);
    CHECK_INT(st.subscriptions, 1);
    int64_t d = net_tick(&n, n.now + 100);
    CHECK_INT(d, n.now + 2900);
    net_tick(&n, d);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions, 0);
    CHECK_INT(st.subscriptions, 0);
    LOG_HAS(&n, "EXPIRED exp");
    CHECK_INT(net_connect_opts(&n, 0, V5, "exp", &o), 0); /* fresh: not present */
    finish(&n);
}

TEST(session_expiry_zero_ends_with_the_connection) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "gone"), 0);
    CHECK_INT(net_subscribe(&n, 0, "x", 0), 0);
    net_eof(&n, 0);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions, 0);
    CHECK_INT(st.subscriptions, 0);
    CHECK_INT(st.connections, 0);
    finish(&n);
}

TEST(mqtt_3_3_2_5_offline_message_expiry_counts_from_publication) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 3600;
    CHECK_INT(net_connect_opts(&n, 0, V5, "off", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "m", 1), 1);
    net_eof(&n, 0);
    CHECK_INT(net_connect(&n, 1, V5, "pub"), 0);
    net_tick(&n, n.now + 100000); /* nothing due: the offline session is not ticked */
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("m");
    p.payload = mqws_view_cstr("x");
    p.qos = 1;
    p.packet_id = 1;
    p.props.message_expiry = 60;
    p.props.present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    CHECK(net_send(&n, 1, &p) > 0);
    p.packet_id = 2;
    p.props.message_expiry = 20;
    CHECK(net_send(&n, 1, &p) > 0);
    net_tick(&n, n.now + 30000);
    o.clean = 0;
    CHECK_INT(net_connect_opts(&n, 0, V5, "off", &o), 0x100);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_INT(a.props.message_expiry, 30);  /* 60 s minus the 30 s it waited [MQTT-3.3.2-6] */
    CHECK_INT(net_count_publish(&n, 0), 0); /* the 20 s one expired [MQTT-3.3.2-5] */
    finish(&n);
}

TEST(mqtt_3_1_4_3_takeover_of_a_slow_connection_keeps_its_disconnect) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 100;
    CHECK_INT(net_connect_opts(&n, 0, V5, "slow", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "k", 1), 1);
    n.cli[0].hold = 1; /* the old connection does not write */
    CHECK_INT(net_connect_opts(&n, 1, V5, "slow", &o), 0x100);
    CHECK(mqws_conn_pending_bytes(n.cli[0].c) > 0);
    net_unhold(&n, 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_SESSION_TAKEN_OVER);
    CHECK(n.cli[0].finished);
    CHECK_INT(net_connect(&n, 3, V3, "pub"), 0);
    CHECK(net_publish(&n, 3, "k", "x", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 1), 1);
    CHECK_INT(net_count_publish(&n, 0), 0);
    finish(&n);
}

TEST(takeover_chain_three_connections_one_session) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.expiry = 100;
    CHECK_INT(net_connect_opts(&n, 0, V5, "x", &o), 0);
    CHECK_INT(net_subscribe(&n, 0, "k", 1), 1);
    n.cli[0].hold = 1;
    CHECK_INT(net_connect_opts(&n, 1, V3, "x", &o), 0x100);
    n.cli[1].hold = 1;
    CHECK_INT(net_connect_opts(&n, 2, V5, "x", &o), 0x100);
    net_eof(&n, 0);
    net_eof(&n, 1);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.sessions, 1);
    CHECK_INT(st.subscriptions, 1);
    CHECK_INT(st.clients_connected, 1);
    CHECK_INT(st.connections, 1);
    finish(&n);
}

TEST(clean_start_takeover_ends_the_old_session_and_sends_its_will) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V3, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "will/#", 0), 0);
    conn_opts o = {0};
    o.expiry = 100;
    o.will_topic = "will/x";
    o.will_payload = "w";
    o.will_delay = 50;
    CHECK_INT(net_connect_opts(&n, 1, V5, "c", &o), 0);
    conn_opts o2 = {0};
    o2.clean = 1;
    CHECK_INT(net_connect_opts(&n, 2, V5, "c", &o2), 0);
    mqws_packet a;
    CHECK(net_expect(&n, 1, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_SESSION_TAKEN_OVER);
    CHECK_INT(net_count_publish(&n, 0), 1); /* the old session ended: its will goes now */
    finish(&n);
}

static int reauth_hook(void *user, mqws_conn *c, void *cu, const mqws_packet *p) {
    net *n = user;
    (void)c;
    (void)cu;
    n->auth_calls++;
    if (p->type == MQWS_PKT_AUTH && p->reason_code == MQWS_RC_REAUTHENTICATE)
        return mqws_view_eq(p->props.auth_data, mqws_view_cstr("good")) ? MQWS_BROKER_AUTH_OK
                                                                        : 0x87;
    return MQWS_BROKER_AUTH_OK;
}

TEST(v5_reauthentication_success_then_failure_disconnects) {
    net n;
    net_init(&n, 0);
    n.hooks.authenticate = reauth_hook;
    CHECK_INT(net_start(&n), 0);
    conn_opts o = {0};
    o.clean = 1;
    o.auth_method = "M";
    CHECK_INT(net_connect_opts(&n, 0, V5, "r", &o), 0);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_AUTH);
    p.reason_code = MQWS_RC_REAUTHENTICATE;
    p.props.auth_method = mqws_view_cstr("M");
    p.props.auth_data = mqws_view_cstr("good");
    p.props.present |= MQWS_PROPF_AUTHENTICATION_METHOD | MQWS_PROPF_AUTHENTICATION_DATA;
    CHECK(net_send(&n, 0, &p) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_AUTH, &a));
    CHECK_INT(a.reason_code, 0x00);
    CHECK_VIEW(a.props.auth_method, "M");
    p.props.auth_data = mqws_view_cstr("bad");
    (void)net_send(&n, 0, &p);
    CHECK(net_expect(&n, 0, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_NOT_AUTHORIZED);
    CHECK(n.cli[0].finished);
    finish(&n);
}

static int reauth_async_hook(void *user, mqws_conn *c, void *cu, const mqws_packet *p) {
    (void)user;
    (void)c;
    (void)cu;
    return p->type == MQWS_PKT_AUTH ? MQWS_BROKER_AUTH_ASYNC : MQWS_BROKER_AUTH_OK;
}

TEST(v5_reauthentication_answered_asynchronously) {
    net n;
    net_init(&n, 0);
    n.hooks.authenticate = reauth_async_hook;
    CHECK_INT(net_start(&n), 0);
    conn_opts o = {0};
    o.clean = 1;
    o.auth_method = "M";
    CHECK_INT(net_connect_opts(&n, 0, V5, "ra", &o), 0);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_AUTH);
    p.reason_code = MQWS_RC_REAUTHENTICATE;
    p.props.auth_method = mqws_view_cstr("M");
    p.props.present |= MQWS_PROPF_AUTHENTICATION_METHOD;
    CHECK(net_send(&n, 0, &p) > 0);
    mqws_packet none;
    CHECK(!net_next(&n, 0, &none)); /* nothing yet */
    CHECK_INT(mqws_broker_auth_answer(n.b, n.cli[0].c, MQWS_BROKER_AUTH_OK, NULL), MQWS_EINVAL);
    mqws_props pr;
    mqws_props_init(&pr);
    pr.auth_method = mqws_view_cstr("M");
    pr.present |= MQWS_PROPF_AUTHENTICATION_METHOD;
    CHECK_INT(mqws_broker_auth_answer(n.b, n.cli[0].c, MQWS_BROKER_AUTH_OK, &pr), MQWS_OK);
    net_flush(&n);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_AUTH, &a));
    CHECK_INT(a.reason_code, 0x00);
    CHECK_INT(mqws_broker_auth_answer(n.b, n.cli[0].c, MQWS_BROKER_AUTH_OK, &pr), MQWS_ESTATE);
    finish(&n);
}

TEST(websocket_connections_route_like_tcp_ones) {
    net n;
    start(&n);
    mqws_conn_config cc = MQWS_CONN_CONFIG_INIT;
    cc.transport = MQWS_CONN_WS;
    tcli *t = &n.cli[0];
    t->level = V5;
    t->c = mqws_broker_accept(n.b, &cc, t, n.now);
    CHECK(t->c != NULL);
    const char *req =
        "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n";
    uint8_t buf[512];
    size_t len = strlen(req);
    memcpy(buf, req, len);
    CHECK_INT(mqws_broker_recv(n.b, t->c, buf, len, n.now), (int64_t)len);
    net_flush(&n);
    CHECK(t->out_len > 0 && memcmp(t->out, "HTTP/1.1 101", 12) == 0);
    /* A masked binary frame carrying CONNECT. */
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.client_id = mqws_view_cstr("ws");
    p.clean_start = 1;
    uint8_t mq[64];
    size_t ml = 0;
    CHECK_INT(mqws_encode(&p, V5, mq, sizeof(mq), &ml), MQWS_OK);
    uint8_t fr[80];
    const uint8_t key[4] = {1, 2, 3, 4};
    fr[0] = 0x82;
    fr[1] = (uint8_t)(0x80 | ml);
    memcpy(fr + 2, key, 4);
    for (size_t i = 0; i < ml; i++)
        fr[6 + i] = mq[i] ^ key[i % 4];
    size_t hs = t->out_len;
    CHECK_INT(mqws_broker_recv(n.b, t->c, fr, 6 + ml, n.now), (int64_t)(6 + ml));
    net_flush(&n);
    /* The server's unmasked frame: 0x82, length, then CONNACK. */
    CHECK(t->out_len > hs + 2);
    CHECK_INT(t->out[hs], 0x82);
    CHECK_INT(t->out[hs + 2], 0x20);
    LOG_HAS(&n, "CONNECT ws");
    finish(&n);
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks */

TEST(authenticate_refusal_v5_reason_and_v311_code) {
    net n;
    net_init(&n, 0);
    n.hooks.authenticate = net_authenticate;
    n.auth_result = MQWS_RC_BAD_USER_NAME_OR_PASSWORD;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "x"), MQWS_RC_BAD_USER_NAME_OR_PASSWORD);
    CHECK_INT(net_connect(&n, 1, V3, "y"), MQWS_CONNACK_V3_BAD_USERNAME_OR_PASSWORD);
    CHECK(n.cli[0].finished);
    CHECK(n.cli[1].finished);
    LOG_HAS(&n, "REFUSED x  rc=86");
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.refused, 2);
    CHECK_INT(st.sessions, 0);
    finish(&n);
}

TEST(authenticate_asynchronous_answer) {
    net n;
    net_init(&n, 0);
    n.hooks.authenticate = net_authenticate;
    n.auth_result = MQWS_BROKER_AUTH_ASYNC;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "later"), -1); /* no CONNACK yet */
    CHECK_INT(mqws_broker_auth_answer(n.b, n.cli[0].c, MQWS_BROKER_AUTH_OK, NULL), MQWS_OK);
    net_flush(&n);
    n.cli[0].rd = 0;
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_CONNACK, &a));
    CHECK_INT(a.reason_code, 0);
    CHECK_INT(mqws_broker_auth_answer(n.b, n.cli[0].c, 0, NULL), MQWS_ESTATE);
    /* A second client is refused later. */
    CHECK_INT(net_connect(&n, 1, V3, "nope"), -1);
    CHECK_INT(mqws_broker_auth_answer(n.b, n.cli[1].c, MQWS_RC_NOT_AUTHORIZED, NULL), MQWS_OK);
    net_flush(&n);
    n.cli[1].rd = 0;
    CHECK(net_expect(&n, 1, MQWS_PKT_CONNACK, &a));
    CHECK_INT(a.reason_code, MQWS_CONNACK_V3_NOT_AUTHORIZED);
    CHECK(n.cli[1].finished);
    finish(&n);
}

static int enh_step;
static int enh_auth(void *user, mqws_conn *c, void *cu, const mqws_packet *p) {
    net *n = user;
    (void)cu;
    n->auth_calls++;
    mqws_props pr;
    mqws_props_init(&pr);
    pr.auth_method = mqws_view_cstr("X-TEST");
    pr.present |= MQWS_PROPF_AUTHENTICATION_METHOD;
    if (p->type == MQWS_PKT_CONNECT) {
        enh_step = 1;
        pr.auth_data = mqws_view_cstr("challenge");
        pr.present |= MQWS_PROPF_AUTHENTICATION_DATA;
        CHECK_INT(mqws_broker_auth_continue(n->b, c, &pr), MQWS_OK);
        return MQWS_BROKER_AUTH_ASYNC;
    }
    CHECK_INT(p->type, MQWS_PKT_AUTH);
    enh_step = 2;
    return mqws_view_eq(p->props.auth_data, mqws_view_cstr("response")) ? MQWS_BROKER_AUTH_OK
                                                                        : 0x87;
}

TEST(v5_enhanced_authentication_exchange) {
    net n;
    net_init(&n, 0);
    n.hooks.authenticate = enh_auth;
    CHECK_INT(net_start(&n), 0);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    o.auth_method = "X-TEST";
    CHECK_INT(net_connect_opts(&n, 0, V5, "enh", &o), -1); /* AUTH came instead */
    n.cli[0].rd = 0;
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_AUTH, &a));
    CHECK_INT(a.reason_code, MQWS_RC_CONTINUE_AUTHENTICATION);
    CHECK_VIEW(a.props.auth_data, "challenge");
    mqws_packet r;
    mqws_packet_init(&r, MQWS_PKT_AUTH);
    r.reason_code = MQWS_RC_CONTINUE_AUTHENTICATION;
    r.props.auth_method = mqws_view_cstr("X-TEST");
    r.props.auth_data = mqws_view_cstr("response");
    r.props.present |= MQWS_PROPF_AUTHENTICATION_METHOD | MQWS_PROPF_AUTHENTICATION_DATA;
    CHECK(net_send(&n, 0, &r) > 0);
    CHECK(net_expect(&n, 0, MQWS_PKT_CONNACK, &a));
    CHECK_INT(a.reason_code, 0);
    CHECK_INT(enh_step, 2);
    finish(&n);
}

TEST(v5_auth_method_without_hook_is_refused_0x8c) {
    net n;
    start(&n);
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    o.auth_method = "SCRAM";
    CHECK_INT(net_connect_opts(&n, 0, V5, "x", &o), MQWS_RC_BAD_AUTHENTICATION_METHOD);
    finish(&n);
}

TEST(acl_denies_publish_and_subscribe) {
    net n;
    start(&n);
    n.acl_deny_topic = 1;
    CHECK_INT(net_connect(&n, 0, V5, "a5"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "a3"), 0);
    CHECK_INT(net_subscribe(&n, 0, "deny/x", 1), MQWS_RC_NOT_AUTHORIZED);
    CHECK_INT(net_subscribe(&n, 1, "deny/x", 1), 0x80);
    CHECK_INT(net_subscribe(&n, 0, "#", 1), 1);
    CHECK(net_publish(&n, 0, "deny/y", "x", 1, 0, 7) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, MQWS_RC_NOT_AUTHORIZED);
    /* 3.1.1: acknowledged, not routed, the connection stays. */
    CHECK(net_publish(&n, 1, "deny/y", "x", 1, 0, 8) > 0);
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBACK, &a));
    CHECK(n.cli[1].c != NULL);
    CHECK_INT(net_count_publish(&n, 0), 0);
    /* A will on a denied topic refuses the CONNECT. */
    conn_opts o = will_opts(0, 0);
    o.will_topic = "deny/will";
    CHECK_INT(net_connect_opts(&n, 2, V5, "w", &o), MQWS_RC_NOT_AUTHORIZED);
    finish(&n);
}

static net *hook_net;
static void kick_on_connect(void *user, const mqws_broker_event *ev) {
    net *n = user;
    net_on_event(user, ev);
    if (ev->type == MQWS_BROKER_EV_CONNECT && mqws_view_eq(ev->client_id, mqws_view_cstr("bad")))
        CHECK_INT(mqws_broker_disconnect(n->b, ev->conn, MQWS_RC_ADMINISTRATIVE_ACTION), MQWS_OK);
    if (ev->type == MQWS_BROKER_EV_CONNECT) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_PUBLISH);
        p.topic = mqws_view_cstr("joined");
        p.payload = ev->client_id;
        CHECK(mqws_broker_publish(n->b, &p) >= 0);
        uint8_t junk[2] = {0xC0, 0x00};
        CHECK_INT(mqws_broker_recv(n->b, ev->conn, junk, 2, n->now), MQWS_ESTATE);
    }
    (void)hook_net;
}

TEST(hooks_may_disconnect_and_publish_from_inside_an_event) {
    net n;
    net_init(&n, 0);
    n.hooks.on_event = kick_on_connect;
    CHECK_INT(net_start(&n), 0);
    hook_net = &n;
    CHECK_INT(net_connect(&n, 0, V5, "watch"), 0);
    CHECK_INT(net_subscribe(&n, 0, "joined", 0), 0);
    CHECK_INT(net_connect(&n, 1, V5, "bad"), 0);
    mqws_packet a;
    CHECK(net_expect(&n, 1, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_ADMINISTRATIVE_ACTION);
    CHECK(n.cli[1].finished);
    CHECK_INT(net_connect(&n, 2, V3, "good"), 0);
    CHECK(n.cli[2].c != NULL);
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "bad");
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "good");
    finish(&n);
}

static void kick_on_drop(void *user, const mqws_broker_event *ev) {
    net *n = user;
    net_on_event(user, ev);
    if (ev->type == MQWS_BROKER_EV_DROP && ev->conn)
        (void)mqws_broker_disconnect(n->b, ev->conn, MQWS_RC_ADMINISTRATIVE_ACTION);
}

TEST(host_kicks_a_slow_consumer_from_its_drop_event) {
    net n;
    net_init(&n, 0);
    n.hooks.on_event = kick_on_drop;
    n.cfg.out_high = 600;
    n.cfg.out_low = 100;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "slow"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "slow3"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 0), 0);
    CHECK_INT(net_subscribe(&n, 1, "t", 0), 0);
    n.cli[0].hold = 1;
    n.cli[1].hold = 1;
    char big[201];
    memset(big, 'z', 200);
    big[200] = 0;
    for (int k = 0; k < 6; k++)
        CHECK(net_publish(&n, 2, "t", big, 0, 0, 0) > 0);
    CHECK(!mqws_conn_want_read(n.cli[0].c));
    CHECK(!mqws_conn_want_read(n.cli[1].c));
    net_unhold(&n, 0);
    net_unhold(&n, 1);
    CHECK(n.cli[0].finished);
    CHECK(n.cli[1].finished);
    mqws_packet a;
    int got = 0;
    while (net_next(&n, 0, &a))
        if (a.type == MQWS_PKT_DISCONNECT)
            got = a.reason_code;
    CHECK_INT(got, MQWS_RC_ADMINISTRATIVE_ACTION);
    CHECK(n.cli[2].c != NULL);
    finish(&n);
}

/* ------------------------------------------------------------------------------------------ */
/* Admission and limits */

TEST(admission_max_connections_refuses_cleanly_0x89_and_0x03) {
    net n;
    net_init(&n, 0);
    n.cfg.max_connections = 1;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "first"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "second"), MQWS_RC_SERVER_BUSY);
    CHECK_INT(net_connect(&n, 2, V3, "third"), MQWS_CONNACK_V3_SERVER_UNAVAILABLE);
    CHECK(n.cli[1].finished);
    CHECK(n.cli[2].finished);
    /* The existing connection keeps working. */
    CHECK_INT(net_subscribe(&n, 0, "t", 0), 0);
    CHECK(net_publish(&n, 0, "t", "x", 0, 0, 0) > 0);
    CHECK_INT(net_count_publish(&n, 0), 1);
    /* Room again once it leaves. */
    net_eof(&n, 0);
    CHECK_INT(net_connect(&n, 1, V5, "second"), 0);
    finish(&n);
}

TEST(admission_max_connecting_and_refuse_backlog) {
    net n;
    net_init(&n, 0);
    n.cfg.max_connecting = 1;
    n.cfg.refuse_backlog = 1;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_open(&n, 0, V5), 0);  /* connecting, no CONNECT yet */
    CHECK_INT(net_open(&n, 1, V5), 0);  /* over max_connecting: kept to be refused */
    CHECK_INT(net_open(&n, 2, V5), -1); /* backlog full */
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.connecting, 1);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.client_id = mqws_view_cstr("late");
    p.clean_start = 1;
    CHECK_INT(net_send(&n, 1, &p), MQWS_EHANDSHAKE); /* refused: the connection ends */
    mqws_packet a;
    CHECK(net_expect(&n, 1, MQWS_PKT_CONNACK, &a));
    CHECK_INT(a.reason_code, MQWS_RC_SERVER_BUSY);
    p.client_id = mqws_view_cstr("early");
    CHECK(net_send(&n, 0, &p) > 0);
    CHECK(net_expect(&n, 0, MQWS_PKT_CONNACK, &a));
    CHECK_INT(a.reason_code, 0);
    finish(&n);
}

TEST(admission_max_sessions_refused_0x97) {
    net n;
    net_init(&n, 0);
    n.cfg.max_sessions = 1;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "one"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "two"), MQWS_RC_QUOTA_EXCEEDED);
    CHECK_INT(net_connect(&n, 2, V5, "one"), 0); /* the same id is not a new session */
    finish(&n);
}

TEST(rate_limit_disconnects_v5_with_0x96) {
    net n;
    net_init(&n, 0);
    n.cfg.client_msg_rate = 2;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "fast"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "calm"), 0);
    CHECK(net_publish(&n, 0, "t", "1", 0, 0, 0) > 0);
    CHECK(net_publish(&n, 0, "t", "2", 0, 0, 0) > 0);
    CHECK(net_publish(&n, 0, "t", "3", 0, 0, 0) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_MESSAGE_RATE_TOO_HIGH);
    CHECK(n.cli[0].finished);
    CHECK(net_publish(&n, 1, "t", "x", 1, 0, 1) > 0);
    CHECK(net_expect(&n, 1, MQWS_PKT_PUBACK, &a));
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.rate_limited, 1);
    finish(&n);
}

TEST(rate_limit_drop_policy_answers_0x97_and_refills) {
    net n;
    net_init(&n, 0);
    n.cfg.global_msg_rate = 1;
    n.cfg.rate_policy = MQWS_BROKER_RATE_DROP;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "p"), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 0), 0);
    CHECK(net_publish(&n, 0, "t", "1", 1, 0, 1) > 0);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a)); /* routed (to itself) before the PUBACK */
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, 0);
    CHECK(net_publish(&n, 0, "t", "2", 1, 0, 2) > 0);
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, MQWS_RC_QUOTA_EXCEEDED);
    CHECK_INT(net_count_publish(&n, 0), 0);
    n.now += 1000;
    CHECK(net_publish(&n, 0, "t", "3", 1, 0, 3) > 0);
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBACK, &a));
    CHECK_INT(a.reason_code, 0);
    finish(&n);
}

TEST(slow_consumer_qos0_dropped_over_watermark_qos1_queued) {
    net n;
    net_init(&n, 0);
    n.cfg.out_high = 2000;
    n.cfg.out_low = 500;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "slow"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "fast"), 0);
    CHECK_INT(net_connect(&n, 2, V5, "pub"), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 1), 1);
    CHECK_INT(net_subscribe(&n, 1, "t", 1), 1);
    n.cli[0].hold = 1;
    char big[301];
    memset(big, 'x', 300);
    big[300] = 0;
    for (int k = 0; k < 20; k++)
        CHECK(net_publish(&n, 2, "t", big, 0, 0, 0) > 0);
    LOG_HAS(&n, "PAUSE slow");
    CHECK(mqws_broker_conn_paused(n.cli[0].c));
    CHECK(mqws_conn_pending_bytes(n.cli[0].c) < 2000 + 400);
    mqws_broker_stats st;
    st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st);
    CHECK(st.dropped >= 13);
    /* QoS 1 still goes to the session (its window and queue bound it). */
    CHECK(net_publish(&n, 2, "t", "q1", 1, 0, 1) > 0);
    CHECK_INT(net_count_publish(&n, 1), 21);
    net_unhold(&n, 0);
    LOG_HAS(&n, "RESUME slow");
    int got = net_count_publish(&n, 0);
    CHECK(got >= 7 && got <= 8);
    finish(&n);
}

TEST(global_output_budget_pauses_and_resumes_everyone) {
    net n;
    net_init(&n, 0);
    n.cfg.global_out_high = 1000;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "s"), 0);
    CHECK_INT(net_connect(&n, 1, V5, "p"), 0);
    CHECK_INT(net_subscribe(&n, 0, "t", 0), 0);
    n.cli[0].hold = 1;
    char big[601];
    memset(big, 'y', 600);
    big[600] = 0;
    CHECK(net_publish(&n, 1, "t", big, 0, 0, 0) > 0);
    CHECK(!mqws_broker_paused(n.b));
    CHECK(net_publish(&n, 1, "t", big, 0, 0, 0) > 0);
    CHECK(mqws_broker_paused(n.b));
    LOG_HAS(&n, "PAUSE   rc=00");
    net_unhold(&n, 0);
    CHECK(!mqws_broker_paused(n.b));
    finish(&n);
}

TEST(close_all_disconnects_v5_with_reason_and_refuses_new) {
    net n;
    start(&n);
    CHECK_INT(net_connect(&n, 0, V5, "a"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "b"), 0);
    mqws_broker_close_all(n.b, MQWS_RC_SERVER_SHUTTING_DOWN);
    net_flush(&n);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_DISCONNECT, &a));
    CHECK_INT(a.reason_code, MQWS_RC_SERVER_SHUTTING_DOWN);
    CHECK(n.cli[0].finished);
    CHECK(n.cli[1].finished);
    CHECK_INT(net_connect(&n, 2, V5, "c"), MQWS_RC_SERVER_UNAVAILABLE);
    finish(&n);
}

/* ------------------------------------------------------------------------------------------ */
/* $SYS and statistics */

TEST(sys_topics_published_retained_at_interval) {
    net n;
    net_init(&n, 0);
    n.cfg.sys_interval_ms = 5000;
    CHECK_INT(net_start(&n), 0);
    CHECK_INT(net_connect(&n, 0, V5, "mon"), 0);
    CHECK_INT(net_subscribe(&n, 0, "$SYS/broker/clients/connected", 0), 0);
    int64_t d = net_tick(&n, n.now);
    CHECK_INT(d, 1000 + 5000);
    CHECK_INT(net_count_publish(&n, 0), 0);
    net_tick(&n, d);
    mqws_packet a;
    CHECK(net_expect(&n, 0, MQWS_PKT_PUBLISH, &a));
    CHECK_VIEW(a.payload, "1");
    CHECK_INT(a.retain, 0); /* a live message to an existing subscription */
    CHECK_INT(net_connect(&n, 1, V3, "late"), 0);
    CHECK_INT(net_subscribe(&n, 1, "$SYS/broker/#", 0), 0);
    int k = 0;
    while (net_next(&n, 1, &a))
        if (a.type == MQWS_PKT_PUBLISH && a.retain)
            k++;
    CHECK(k >= 10); /* every statistic, retained */
    /* "#" does not see them [MQTT-4.7.2-1]. */
    CHECK_INT(net_subscribe(&n, 1, "#", 0), 0);
    CHECK_INT(net_count_publish(&n, 1), 0);
    finish(&n);
}

TEST(stats_count_messages_bytes_and_memory_back_to_baseline) {
    net n;
    start(&n);
    mqws_broker_stats st0, st;
    st0.size = st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st0);
    CHECK(st0.mem_total > 0);
    CHECK_INT(net_connect(&n, 0, V5, "a"), 0);
    CHECK_INT(net_connect(&n, 1, V3, "b"), 0);
    CHECK_INT(net_subscribe(&n, 0, "t/#", 0), 0);
    CHECK(net_publish(&n, 1, "t/1", "xyz", 0, 0, 0) > 0);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.messages_in, 1);
    CHECK_INT(st.messages_out, 1);
    CHECK(st.bytes_in > 20);
    CHECK(st.bytes_out > 10);
    CHECK(st.mem_index > st0.mem_index);
    CHECK(st.mem_sessions > 0);
    CHECK_INT(st.subscriptions, 1);
    CHECK_INT(st.output_pending, 0);
    net_eof(&n, 0);
    net_eof(&n, 1);
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.mem_sessions, 0);
    CHECK_INT(st.connections, 0);
    CHECK_INT(st.subscriptions, 0);
    /* a small struct size gets only the fields it has room for */
    struct {
        size_t size;
        uint64_t uptime;
    } small = {sizeof(small), 0};
    CHECK_INT(mqws_broker_stats_get(n.b, (mqws_broker_stats *)(void *)&small), MQWS_OK);
    finish(&n);
}

TEST(idle_connected_client_costs_at_most_850_heap_bytes) {
    /* The library's share of the issue-6 budget (1 KiB per idle client in the gateway): a
     * connected 3.1.1 client with a 16-byte id, no subscription, nothing pending. */
    net n;
    start(&n);
    mqws_broker_stats st0, st;
    st0.size = st.size = sizeof(st);
    mqws_broker_stats_get(n.b, &st0);
    static int users[500];
    for (int i = 0; i < 500; i++) {
        mqws_conn *c = mqws_broker_accept(n.b, NULL, &users[i], n.now);
        CHECK(c != NULL);
        char id[17];
        snprintf(id, sizeof(id), "client-%09d", i);
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_CONNECT);
        p.client_id = mqws_view_cstr(id);
        p.clean_start = 1;
        p.keep_alive = 60;
        uint8_t buf[64];
        size_t len = 0;
        CHECK_INT(mqws_encode(&p, V3, buf, sizeof(buf), &len), MQWS_OK);
        CHECK_INT(mqws_broker_recv(n.b, c, buf, len, n.now), (int64_t)len);
        mqws_conn *w;
        mqws_iovec iov[4];
        while ((w = mqws_broker_next_writable(n.b)) != NULL) {
            size_t k = mqws_conn_pending(w, iov, 4), t = 0;
            for (size_t j = 0; j < k; j++)
                t += iov[j].len;
            mqws_broker_sent(n.b, w, t);
        }
    }
    mqws_broker_stats_get(n.b, &st);
    CHECK_INT(st.clients_connected, 500);
    uint64_t per = (st.mem_total - st0.mem_total) / 500;
    printf("     %llu heap bytes per idle connected client\n", (unsigned long long)per);
    CHECK(per <= 850);
    finish(&n);
}

TEST(tick_returns_the_next_deadline_and_host_publish_routes) {
    net n;
    start(&n);
    CHECK_INT(net_tick(&n, 1000), INT64_MAX);
    CHECK_INT(net_open(&n, 0, V5), 0);
    /* The CONNECT timeout (10 s by default) is the only deadline. */
    CHECK_INT(net_tick(&n, 1000), 11000);
    net_tick(&n, 11000);
    CHECK(n.cli[0].finished);
    CHECK_INT(net_tick(&n, 11001), INT64_MAX);
    CHECK_INT(net_connect(&n, 1, V5, "s"), 0);
    CHECK_INT(net_subscribe(&n, 1, "h", 0), 0);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr("h");
    p.payload = mqws_view_cstr("from host");
    CHECK_INT(mqws_broker_publish(n.b, &p), 1);
    net_flush(&n);
    CHECK_INT(net_count_publish(&n, 1), 1);
    p.topic = mqws_view_cstr("bad/#");
    CHECK_INT(mqws_broker_publish(n.b, &p), MQWS_EINVAL);
    finish(&n);
}

TEST(timer_heap_fires_each_keepalive_at_its_time) {
    /* Many connections with shuffled keep alives, some leaving early (removal from the middle
     * of the heap): each one is closed by the tick at 1.5 x its keep alive, not before, not
     * after [MQTT-3.1.2-24]. */
    enum { N = 40 };
    static int users[N];
    int ka[N], gone[N];
    uint64_t seed = 42;
    for (int i = 0; i < N; i++)
        ka[i] = 2 + 2 * i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)testlib_rand_below(&seed, (size_t)i + 1);
        int t = ka[i];
        ka[i] = ka[j];
        ka[j] = t;
    }
    net n;
    start(&n);
    n.auto_release = 0;
    mqws_conn *c[N];
    for (int i = 0; i < N; i++) {
        gone[i] = 0;
        c[i] = mqws_broker_accept(n.b, NULL, &users[i], n.now);
        CHECK(c[i] != NULL);
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_CONNECT);
        char id[8];
        snprintf(id, sizeof(id), "k%d", i);
        p.client_id = mqws_view_cstr(id);
        p.clean_start = 1;
        p.keep_alive = (uint16_t)ka[i];
        uint8_t buf[64];
        size_t len = 0;
        CHECK_INT(mqws_encode(&p, V3, buf, sizeof(buf), &len), MQWS_OK);
        CHECK_INT(mqws_broker_recv(n.b, c[i], buf, len, n.now), (int64_t)len);
    }
    int64_t t0 = n.now;
    for (int sec = 1; sec <= 130; sec++) {
        n.now = t0 + sec * 1000;
        mqws_broker_tick(n.b, n.now);
        for (int i = 0; i < N; i++) {
            if (gone[i])
                continue;
            if (i % 7 == 3 && sec == ka[i] / 2) { /* leaves early */
                mqws_broker_eof(n.b, c[i]);
                mqws_broker_release(n.b, c[i]);
                gone[i] = 1;
                continue;
            }
            int expired = sec * 1000 >= ka[i] * 1500;
            CHECK_INT(!mqws_conn_want_read(c[i]), expired);
            if (expired) {
                mqws_broker_release(n.b, c[i]);
                gone[i] = 1;
            }
        }
    }
    for (int i = 0; i < N; i++)
        CHECK(gone[i]);
    CHECK_INT(mqws_broker_tick(n.b, n.now + 1), INT64_MAX);
    finish(&n);
}

TEST(random_dialogues_keep_the_books_balanced) {
    /* Seeded random dialogues among six clients drawing from four client ids (so takeovers,
     * resumes and clean starts collide), both protocol versions, all QoS, retained messages,
     * wills, shared subscriptions, slow readers and time. After every step the counts agree
     * with what the clients hold; at the end, with every socket gone and every session
     * expired, nothing is left but retained messages. */
    static const char *ids[] = {"r0", "r1", "r2", "r3"};
    static const char *filters[] = {"a/#", "a/+", "+/b", "$share/g/a/b", "a/b", "#"};
    static const char *topics[] = {"a/b", "a/c", "x/b", "a"};
    for (uint64_t run = 1; run <= 40; run++) {
        uint64_t seed = run * 0x9E3779B97F4A7C15ull;
        net n;
        start(&n);
        for (int step = 0; step < 600; step++) {
            int i = (int)testlib_rand_below(&seed, 6);
            tcli *t = &n.cli[i];
            size_t op = testlib_rand_below(&seed, 13);
            uint8_t level = testlib_rand_below(&seed, 2) ? V5 : V3;
            if (!t->c || op == 0) {
                conn_opts o;
                memset(&o, 0, sizeof(o));
                o.clean = (uint8_t)testlib_rand_below(&seed, 2);
                o.expiry = testlib_rand_below(&seed, 2) ? 5 : 0;
                o.keep_alive = (uint16_t)testlib_rand_below(&seed, 4);
                if (testlib_rand_below(&seed, 3) == 0) {
                    o.will_topic = "a/w";
                    o.will_delay = (uint32_t)testlib_rand_below(&seed, 3);
                    o.will_retain = (uint8_t)testlib_rand_below(&seed, 2);
                }
                if (t->c)
                    net_eof(&n, i);
                (void)net_connect_opts(&n, i, level, ids[testlib_rand_below(&seed, 4)], &o);
                continue;
            }
            level = t->level;
            switch (op) {
                case 1:
                case 2: {
                    sub_opts so = {0, (uint8_t)testlib_rand_below(&seed, 2),
                                   (uint8_t)testlib_rand_below(&seed, 3),
                                   (uint32_t)testlib_rand_below(&seed, 3)};
                    (void)net_subscribe_opts(&n, i, filters[testlib_rand_below(&seed, 6)],
                                             (uint8_t)testlib_rand_below(&seed, 3), &so);
                    break;
                }
                case 3:
                case 4:
                case 5:
                    (void)net_publish(&n, i, topics[testlib_rand_below(&seed, 4)], "p",
                                      (uint8_t)testlib_rand_below(&seed, 3),
                                      (uint8_t)(testlib_rand_below(&seed, 4) == 0),
                                      (uint16_t)(1 + testlib_rand_below(&seed, 50)));
                    break;
                case 6:
                    net_eof(&n, i);
                    break;
                case 7:
                    (void)net_disconnect(&n, i, testlib_rand_below(&seed, 2) ? 0 : 4);
                    break;
                case 8:
                    net_tick(&n, n.now + (int64_t)testlib_rand_below(&seed, 3000));
                    break;
                case 9:
                    if (t->hold)
                        net_unhold(&n, i);
                    else
                        t->hold = 1;
                    break;
                case 10: {
                    /* Probe: a connected client that subscribes gets what is published. */
                    if (t->hold ||
                        mqws_session_state(mqws_conn_session(t->c)) != MQWS_SESSION_CONNECTED)
                        break;
                    t->rd = t->out_len; /* skip whatever came before */
                    char topic[16];
                    snprintf(topic, sizeof(topic), "probe/%d", i);
                    CHECK_INT(net_subscribe(&n, i, topic, 0), 0);
                    mqws_packet p, a;
                    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
                    p.topic = mqws_view_cstr(topic);
                    p.payload = mqws_view_cstr("probe");
                    CHECK(mqws_broker_publish(n.b, &p) >= 1);
                    net_flush(&n);
                    int seen = 0;
                    while (net_next(&n, i, &a))
                        seen += a.type == MQWS_PKT_PUBLISH && mqws_view_eq(a.topic, p.topic);
                    CHECK_INT(seen, 1);
                    break;
                }
                default: {
                    /* Acknowledge what arrived, as a client would. */
                    mqws_packet p;
                    while (t->c && net_next(&n, i, &p)) {
                        mqws_packet a;
                        if (p.type == MQWS_PKT_PUBLISH && p.qos) {
                            mqws_packet_init(&a, p.qos == 1 ? MQWS_PKT_PUBACK : MQWS_PKT_PUBREC);
                            a.packet_id = p.packet_id;
                            (void)net_send(&n, i, &a);
                        } else if (p.type == MQWS_PKT_PUBREL) {
                            mqws_packet_init(&a, MQWS_PKT_PUBCOMP);
                            a.packet_id = p.packet_id;
                            (void)net_send(&n, i, &a);
                        }
                    }
                    break;
                }
            }
            mqws_broker_stats st;
            st.size = sizeof(st);
            mqws_broker_stats_get(n.b, &st);
            uint64_t open = 0;
            for (int k = 0; k < NET_MAX_CLI; k++)
                open += n.cli[k].c != NULL;
            CHECK_INT(st.connections, open);
            CHECK(st.clients_connected <= st.connections);
            CHECK(st.sessions_offline <= st.sessions);
            CHECK(st.sessions <= 4);
        }
        for (int i = 0; i < 6; i++) {
            n.cli[i].hold = 0;
            net_eof(&n, i);
        }
        net_tick(&n, n.now + 10000);
        net_tick(&n, n.now + 2 * 86400000); /* 3.1.1 persistent sessions: a day by default */
        mqws_broker_stats st;
        st.size = sizeof(st);
        mqws_broker_stats_get(n.b, &st);
        CHECK_INT(st.connections, 0);
        CHECK_INT(st.sessions, 0);
        CHECK_INT(st.subscriptions, 0);
        CHECK_INT(st.mem_sessions, 0);
        CHECK_INT(st.output_pending, 0);
        finish(&n);
    }
}

TEST(config_validation) {
    mqws_broker_config c = MQWS_BROKER_CONFIG_INIT;
    c.out_low = c.out_high;
    CHECK(mqws_broker_new(&c, NULL, NULL) == NULL);
    mqws_broker_config c2 = MQWS_BROKER_CONFIG_INIT;
    c2.rate_policy = 9;
    CHECK(mqws_broker_new(&c2, NULL, NULL) == NULL);
    mqws_broker_config c3 = MQWS_BROKER_CONFIG_INIT;
    c3.size = 8;
    CHECK(mqws_broker_new(&c3, NULL, NULL) == NULL);
    mqws_broker *b = mqws_broker_new(NULL, NULL, NULL);
    CHECK(b != NULL);
    mqws_broker_free(b);
    mqws_broker_free(NULL);
}

int main(void) {
    RUN(connect_v311_and_v5_clients_get_connack);
    RUN(publish_routes_to_v311_and_v5_subscribers);
    RUN(qos0_shared_headers_carry_properties_and_retain_per_variant);
    RUN(inbound_topic_alias_resolved_before_forwarding);
    RUN(v5_puback_0x10_when_no_matching_subscribers);
    RUN(fan_out_shares_one_payload_slice);
    RUN(next_writable_reports_each_connection_once);
    RUN(input_split_anywhere_routes_the_same);
    RUN(mqtt_3_3_1_5_retained_message_stored_and_sent_to_new_subscribers);
    RUN(mqtt_3_3_1_6_7_empty_retained_payload_deletes);
    RUN(mqtt_3_3_1_9_10_11_retain_handling);
    RUN(mqtt_3_3_1_12_13_retain_as_published);
    RUN(mqtt_4_7_2_1_dollar_topics_not_matched_by_leading_wildcards);
    RUN(retained_message_expiry_is_honoured_and_decremented);
    RUN(mqtt_3_3_4_2_3_overlapping_subscriptions_delivered_once_max_qos_all_ids);
    RUN(mqtt_3_8_4_8_qos_downgraded_to_granted);
    RUN(mqtt_3_8_3_3_no_local);
    RUN(mqtt_4_8_2_shared_subscription_one_member_per_message);
    RUN(unsubscribe_stops_delivery_and_reports_0x11);
    RUN(mqtt_3_8_3_4_no_local_on_shared_subscription_is_a_protocol_error);
    RUN(clients_cannot_publish_to_sys_topics);
    RUN(mqtt_3_1_2_8_will_published_on_abnormal_disconnect);
    RUN(mqtt_3_1_2_10_no_will_after_normal_disconnect);
    RUN(v5_disconnect_with_will_0x04_sends_the_will);
    RUN(mqtt_3_1_3_9_will_delay_then_published_by_tick);
    RUN(mqtt_3_1_3_9_reconnect_within_will_delay_cancels_will);
    RUN(mqtt_3_1_2_24_keepalive_timeout_closes_and_publishes_will);
    RUN(outbound_topic_aliases_per_subscriber_do_not_disturb_routing);
    RUN(mqtt_3_1_2_17_will_retain_stores_the_will);
    RUN(mqtt_3_1_4_3_takeover_v5_old_connection_gets_0x8e);
    RUN(mqtt_3_1_4_3_takeover_v311_old_connection_closed);
    RUN(mqtt_3_1_2_4_clean_start_discards_the_session);
    RUN(persistent_session_queues_qos1_offline_and_resumes);
    RUN(mqtt_31_persistent_session_resumes_with_its_queue);
    RUN(mqtt_3_1_2_11_offline_session_expires_after_expiry_interval);
    RUN(session_expiry_zero_ends_with_the_connection);
    RUN(mqtt_3_3_2_5_offline_message_expiry_counts_from_publication);
    RUN(mqtt_3_1_4_3_takeover_of_a_slow_connection_keeps_its_disconnect);
    RUN(takeover_chain_three_connections_one_session);
    RUN(clean_start_takeover_ends_the_old_session_and_sends_its_will);
    RUN(v5_reauthentication_success_then_failure_disconnects);
    RUN(v5_reauthentication_answered_asynchronously);
    RUN(websocket_connections_route_like_tcp_ones);
    RUN(authenticate_refusal_v5_reason_and_v311_code);
    RUN(authenticate_asynchronous_answer);
    RUN(v5_enhanced_authentication_exchange);
    RUN(v5_auth_method_without_hook_is_refused_0x8c);
    RUN(acl_denies_publish_and_subscribe);
    RUN(hooks_may_disconnect_and_publish_from_inside_an_event);
    RUN(host_kicks_a_slow_consumer_from_its_drop_event);
    RUN(admission_max_connections_refuses_cleanly_0x89_and_0x03);
    RUN(admission_max_connecting_and_refuse_backlog);
    RUN(admission_max_sessions_refused_0x97);
    RUN(rate_limit_disconnects_v5_with_0x96);
    RUN(rate_limit_drop_policy_answers_0x97_and_refills);
    RUN(slow_consumer_qos0_dropped_over_watermark_qos1_queued);
    RUN(global_output_budget_pauses_and_resumes_everyone);
    RUN(close_all_disconnects_v5_with_reason_and_refuses_new);
    RUN(close_all_refuses_a_connect_still_authenticating_with_0x88);
    RUN(sys_topics_published_retained_at_interval);
    RUN(stats_count_messages_bytes_and_memory_back_to_baseline);
    RUN(idle_connected_client_costs_at_most_850_heap_bytes);
    RUN(tick_returns_the_next_deadline_and_host_publish_routes);
    RUN(timer_heap_fires_each_keepalive_at_its_time);
    RUN(random_dialogues_keep_the_books_balanced);
    RUN(config_validation);
    return testlib_finish();
}
