/* Unit tests of the topic module, named after the spec statements they check.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "mqws/topic.h"
#include "testlib.h"

#define V(s) ((const uint8_t *)(s)), strlen(s)

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct collect {
    int n;
    mqws_topic_match_info m[64];
    char filters[64][64];
} collect;

static int collect_cb(void *ctx, const mqws_topic_match_info *m) {
    collect *c = ctx;
    if (c->n < 64) {
        c->m[c->n] = *m;
        size_t l = m->filter.len < 63 ? m->filter.len : 63;
        memcpy(c->filters[c->n], m->filter.ptr, l);
        c->filters[c->n][l] = 0;
    }
    c->n++;
    return 0;
}

static int count_matches(mqws_topic_index *x, const char *topic) {
    collect c;
    c.n = 0;
    int rc = mqws_topic_match(x, V(topic), NULL, collect_cb, &c);
    CHECK_INT(rc, c.n);
    return c.n;
}

static int count_cb(void *ctx, const mqws_topic_msg *m) {
    (void)m;
    (*(int *)ctx)++;
    return 0;
}

static const mqws_topic_sub_options qos0 = {0, 0, 0, 0, 0};

/* ---- validation ----------------------------------------------------------------------------- */

static int vfilter(const char *s) { return mqws_topic_validate_filter(V(s), NULL, NULL); }
static int vname(const char *s) { return mqws_topic_validate_name(V(s), NULL, NULL); }

/* '#' is the last character, alone or after '/' [MQTT-4.7.1-1]. */
TEST(mqtt_4_7_1_1_multi_level_wildcard_last) {
    const char *st = NULL;
    CHECK_INT(vfilter("#"), MQWS_OK);
    CHECK_INT(vfilter("sport/tennis/player1/#"), MQWS_OK);
    CHECK_INT(vfilter("sport/#"), MQWS_OK);
    CHECK_INT(mqws_topic_validate_filter(V("sport/tennis#"), NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.7.1-1");
    CHECK_INT(vfilter("sport/tennis/#/ranking"), MQWS_EPROTO);
    CHECK_INT(vfilter("#/"), MQWS_EPROTO);
}

/* '+' occupies an entire level [MQTT-4.7.1-2]. */
TEST(mqtt_4_7_1_2_single_level_wildcard_whole_level) {
    const char *st = NULL;
    CHECK_INT(vfilter("+"), MQWS_OK);
    CHECK_INT(vfilter("+/tennis/#"), MQWS_OK);
    CHECK_INT(vfilter("sport/+/player1"), MQWS_OK);
    CHECK_INT(vfilter("/+"), MQWS_OK);
    CHECK_INT(vfilter("+/+"), MQWS_OK);
    CHECK_INT(mqws_topic_validate_filter(V("sport+"), NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.7.1-2");
    CHECK_INT(vfilter("sport/+x"), MQWS_EPROTO);
}

/* Wildcards may not be used in a topic name (3.1.1 [MQTT-4.7.1-3] wording; 5.0 [MQTT-4.7.0-1]). */
TEST(mqtt_4_7_1_3_no_wildcards_in_topic_names) {
    CHECK_INT(vname("sport/tennis/player1"), MQWS_OK);
    CHECK_INT(vname("sport/+"), MQWS_EPROTO);
    CHECK_INT(vname("sport/#"), MQWS_EPROTO);
    CHECK_INT(vname("a+b"), MQWS_EPROTO);
}

/* Topic names and filters are at least one character long [MQTT-4.7.3-1]. */
TEST(mqtt_4_7_3_1_at_least_one_character) {
    const char *st = NULL;
    CHECK_INT(mqws_topic_validate_name((const uint8_t *)"", 0, NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.7.3-1");
    CHECK_INT(mqws_topic_validate_filter((const uint8_t *)"", 0, NULL, NULL), MQWS_EPROTO);
    CHECK_INT(vname("/"), MQWS_OK); /* zero-length levels are allowed */
}

/* No U+0000 in topic names or filters [MQTT-4.7.3-2]; they are UTF-8 [MQTT-1.5.4-1]. */
TEST(mqtt_4_7_3_2_no_null_character) {
    const uint8_t nul[] = {'a', 0, 'b'};
    const uint8_t bad[] = {'a', 0xC0, 0x80};
    CHECK_INT(mqws_topic_validate_name(nul, 3, NULL, NULL), MQWS_EUTF8);
    CHECK_INT(mqws_topic_validate_filter(nul, 3, NULL, NULL), MQWS_EUTF8);
    CHECK_INT(mqws_topic_validate_name(bad, 3, NULL, NULL), MQWS_EUTF8);
}

/* At most 65535 bytes [MQTT-4.7.3-3], and the configurable limits. */
TEST(mqtt_4_7_3_3_length_and_level_limits) {
    static uint8_t big[65536];
    memset(big, 'a', sizeof big);
    CHECK_INT(mqws_topic_validate_name(big, 65535, NULL, NULL), MQWS_OK);
    CHECK_INT(mqws_topic_validate_name(big, 65536, NULL, NULL), MQWS_ETOOBIG);
    mqws_topic_limits lim = MQWS_TOPIC_LIMITS_INIT;
    lim.max_len = 5;
    lim.max_levels = 3;
    CHECK_INT(mqws_topic_validate_name(V("a/b/c"), &lim, NULL), MQWS_OK);
    CHECK_INT(mqws_topic_validate_name(V("a/b/cd"), &lim, NULL), MQWS_ETOOBIG);
    lim.max_len = 100;
    CHECK_INT(mqws_topic_validate_filter(V("a/b/c/#"), &lim, NULL), MQWS_ETOOBIG);
    lim.size = 1;
    CHECK_INT(mqws_topic_validate_name(V("a"), &lim, NULL), MQWS_EINVAL);
}

/* ShareName: non-empty, no '/', '+', '#' [MQTT-4.8.2-1]; followed by '/' and a filter
 * [MQTT-4.8.2-2]. */
TEST(mqtt_4_8_2_1_and_2_shared_subscription_syntax) {
    mqws_view g, f;
    const char *st = NULL;
    CHECK_INT(mqws_topic_parse_share(V("$share/grp/a/+/c"), &g, &f), 1);
    CHECK_VIEW(g, "grp");
    CHECK_VIEW(f, "a/+/c");
    CHECK_INT(mqws_topic_parse_share(V("a/b"), &g, &f), 0);
    CHECK_INT(mqws_topic_parse_share(V("$sharex/g/a"), &g, &f), 0);
    CHECK_INT(mqws_topic_validate_filter(V("$share//a"), NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.8.2-1");
    CHECK_INT(mqws_topic_validate_filter(V("$share/g+/a"), NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.8.2-1");
    CHECK_INT(mqws_topic_validate_filter(V("$share/g#/a"), NULL, NULL), MQWS_EPROTO);
    CHECK_INT(mqws_topic_validate_filter(V("$share/grp"), NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.8.2-2");
    CHECK_INT(mqws_topic_validate_filter(V("$share/grp/"), NULL, &st), MQWS_EPROTO);
    CHECK_STR(st, "MQTT-4.8.2-2");
    CHECK_INT(mqws_topic_validate_filter(V("$share/grp/a/#/b"), NULL, NULL), MQWS_EPROTO);
    CHECK_INT(mqws_topic_validate_filter(V("$share/grp/#"), NULL, NULL), MQWS_OK);
}

/* ---- the spec's examples (§4.7), through all three matchers --------------------------------- */

typedef struct example {
    const char *filter, *topic;
    int match;
} example;

static const example examples[] = {
    /* §4.7.1.2 multi-level wildcard */
    {"sport/tennis/player1/#", "sport/tennis/player1", 1},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", 1},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", 1},
    {"sport/#", "sport", 1},
    {"#", "sport/tennis", 1},
    {"#", "/", 1},
    /* §4.7.1.3 single-level wildcard */
    {"sport/tennis/+", "sport/tennis/player1", 1},
    {"sport/tennis/+", "sport/tennis/player2", 1},
    {"sport/tennis/+", "sport/tennis/player1/ranking", 0},
    {"sport/+", "sport", 0},
    {"sport/+", "sport/", 1},
    {"+/+", "/finance", 1},
    {"/+", "/finance", 1},
    {"+", "/finance", 0},
    {"+/tennis/#", "sport/tennis/player1", 1},
    {"sport/+/player1", "sport/tennis/player1", 1},
    {"sport/+/player1", "sport/tennis/player2", 0},
    /* §4.7.2 topics beginning with $ [MQTT-4.7.2-1] */
    {"#", "$SYS/monitor/Clients", 0},
    {"+/monitor/Clients", "$SYS/monitor/Clients", 0},
    {"$SYS/#", "$SYS/monitor/Clients", 1},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", 1},
    {"+", "$SYS", 0},
    /* §4.7.3 semantic examples */
    {"ACCOUNTS", "Accounts", 0},
    {"Accounts", "Accounts", 1},
    {"Accounts payable", "Accounts payable", 1},
    {"/finance", "finance", 0},
    {"finance", "/finance", 0},
    {"/finance", "/finance", 1},
    /* more edges */
    {"a/+/c", "a//c", 1},
    {"a/#", "a/", 1},
    {"+/#", "a", 1},
    {"a/b", "a/b/c", 0},
    {"a/b/c", "a/b", 0},
    {"a/+/+", "a/b", 0},
    /* literal levels that are prefixes of each other */
    {"ab/+/cd", "ab/x/cd", 1},
    {"ab/+/cd", "a/x/cd", 0},
    {"ab/+/cd", "abc/x/cd", 0},
    {"ab/+/cd", "ab/x/c", 0},
    {"ab/+/cd", "ab/x/cde", 0},
    {"ab/+/cd/#", "ab/x/cde", 0},
    {"ab/+/cd/#", "ab/x/cd", 1},
    {"+/longer-level/#", "x/longer-levex/y", 0},
    {"+/longer-level/#", "x/longer-level", 1},
    {"x/+/+", "x/y/", 1},
    {"x/+/+", "x//", 1},
};

TEST(spec_4_7_examples_table) {
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const example *e = &examples[i];
        int m = mqws_topic_matches(V(e->filter), V(e->topic));
        if (m != e->match)
            testlib_fail(__FILE__, __LINE__, "matches(%s, %s) = %d", e->filter, e->topic, m);
        mqws_topic_index *x = mqws_topic_index_new(NULL);
        mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
        CHECK_INT(mqws_topic_subscribe(x, s, V(e->filter), &qos0), 1);
        int n = count_matches(x, e->topic);
        if (n != e->match)
            testlib_fail(__FILE__, __LINE__, "index(%s, %s) = %d", e->filter, e->topic, n);
        mqws_topic_index_free(x);
        mqws_topic_store *st = mqws_topic_store_new(NULL);
        mqws_topic_retain r = {{(const uint8_t *)"p", 1}, {NULL, 0}, 0, {0}, 0};
        CHECK_INT(mqws_topic_store_set(st, V(e->topic), &r), 1);
        int c = 0;
        CHECK_INT(mqws_topic_store_match(st, V(e->filter), count_cb, &c), e->match);
        if (c != e->match)
            testlib_fail(__FILE__, __LINE__, "store(%s, %s) = %d", e->filter, e->topic, c);
        mqws_topic_store_free(st);
    }
}

/* A filter beginning with a wildcard does not match a name beginning with '$' [MQTT-4.7.2-1]. */
TEST(mqtt_4_7_2_1_dollar_topics_not_matched_by_leading_wildcard) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    CHECK_INT(mqws_topic_subscribe(x, s, V("#"), &qos0), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("+/a"), &qos0), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("$SYS/#"), &qos0), 1);
    CHECK_INT(count_matches(x, "$SYS/a"), 1);
    CHECK_INT(count_matches(x, "x/a"), 2);
    CHECK_INT(count_matches(x, "a$/a"), 2);
    mqws_topic_index_free(x);
}

/* ---- subscriptions -------------------------------------------------------------------------- */

/* A SUBSCRIBE for a filter the session already has replaces the subscription's options
 * [MQTT-3.8.4-3]. */
TEST(mqtt_3_8_4_3_resubscribe_replaces_options) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &t.a;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, (void *)&t);
    mqws_topic_sub_options o1 = {1, 0, 0, 0, 11}, o2 = {2, 0, 1, 2, 22};
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/+"), &o1), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/+"), &o2), 0);
    CHECK_INT(mqws_topic_subscriber_count(s), 1);
    collect c = {0};
    CHECK_INT(mqws_topic_match(x, V("a/b"), NULL, collect_cb, &c), 1);
    CHECK_INT(c.m[0].max_qos, 2);
    CHECK_INT(c.m[0].subscription_id, 22);
    CHECK_INT(c.m[0].retain_as_published, 1);
    CHECK_INT(c.m[0].retain_handling, 2);
    CHECK(c.m[0].user == (void *)&t);
    CHECK(c.m[0].subscriber == s);
    CHECK_STR(c.filters[0], "a/+");
    mqws_topic_index_stats st = {sizeof st, 0, 0, 0, 0, 0, 0};
    CHECK_INT(mqws_topic_index_stats_get(x, &st), MQWS_OK);
    CHECK_INT(st.subscriptions, 1);
    CHECK_INT(st.filters, 1);
    CHECK_INT(st.subscribers, 1);
    CHECK_INT(st.bytes, t.live_bytes);
    mqws_topic_index_free(x);
    CHECK_ALLOC_CLEAN(&t);
}

TEST(subscribe_rejects_bad_options_and_filters) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    mqws_topic_sub_options o = {3, 0, 0, 0, 0};
    CHECK_INT(mqws_topic_subscribe(x, s, V("a"), &o), MQWS_EINVAL);
    o.max_qos = 0;
    o.subscription_id = 268435456u;
    CHECK_INT(mqws_topic_subscribe(x, s, V("a"), &o), MQWS_EINVAL);
    o.subscription_id = 0;
    o.retain_handling = 3;
    CHECK_INT(mqws_topic_subscribe(x, s, V("a"), &o), MQWS_EINVAL);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a#"), NULL), MQWS_EPROTO);
    CHECK_INT(mqws_topic_unsubscribe(x, s, V("a")), MQWS_ENOTFOUND);
    CHECK_INT(mqws_topic_unsubscribe(x, s, V("a+")), MQWS_EPROTO);
    /* the topic passed to match must be a name within the limits */
    CHECK_INT(mqws_topic_match(x, V("a/+"), NULL, collect_cb, NULL), MQWS_EINVAL);
    CHECK_INT(mqws_topic_match(x, (const uint8_t *)"", 0, NULL, collect_cb, NULL), MQWS_EINVAL);
    mqws_topic_index_free(x);
}

/* No-local: not delivered to the publishing session [MQTT-3.8.3-3]; not allowed on a shared
 * subscription [MQTT-3.8.3-4]. */
TEST(mqtt_3_8_3_3_and_4_no_local) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *a = mqws_topic_subscriber_new(x, NULL);
    mqws_topic_subscriber *b = mqws_topic_subscriber_new(x, NULL);
    mqws_topic_sub_options nl = {1, 1, 0, 0, 0};
    CHECK_INT(mqws_topic_subscribe(x, a, V("t/#"), &nl), 1);
    CHECK_INT(mqws_topic_subscribe(x, b, V("t/#"), &nl), 1);
    mqws_topic_publish pub = {a, {NULL, 0}};
    collect c = {0};
    CHECK_INT(mqws_topic_match(x, V("t/x"), &pub, collect_cb, &c), 1);
    CHECK(c.m[0].subscriber == b);
    CHECK_INT(mqws_topic_subscribe(x, a, V("$share/g/t/#"), &nl), MQWS_EPROTO);
    mqws_topic_index_free(x);
}

/* Overlapping subscriptions of one client: deliver once, with the highest QoS
 * [MQTT-3.3.4-2] and every matching subscription identifier [MQTT-3.3.4-3]. */
TEST(mqtt_3_3_4_2_and_3_overlapping_subscriptions_aggregate) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *a = mqws_topic_subscriber_new(x, (void *)1);
    mqws_topic_subscriber *b = mqws_topic_subscriber_new(x, (void *)2);
    mqws_topic_sub_options o1 = {1, 0, 0, 0, 5}, o2 = {2, 0, 0, 0, 7}, o3 = {0, 0, 1, 0, 0};
    CHECK_INT(mqws_topic_subscribe(x, a, V("a/+"), &o1), 1);
    CHECK_INT(mqws_topic_subscribe(x, a, V("a/#"), &o2), 1);
    CHECK_INT(mqws_topic_subscribe(x, a, V("a/b"), &o3), 1);
    CHECK_INT(mqws_topic_subscribe(x, b, V("a/b"), &o1), 1);
    CHECK_INT(mqws_topic_subscribe(x, b, V("$share/g/a/b"), &o3), 1);
    CHECK_INT(count_matches(x, "a/b"), 5);
    mqws_topic_delivery d[4];
    mqws_topic_sub_id ids[4];
    size_t nd = 0, ni = 0;
    CHECK_INT(mqws_topic_match_aggregate(x, V("a/b"), NULL, d, 4, &nd, ids, 4, &ni), MQWS_OK);
    CHECK_INT(nd, 3);
    CHECK_INT(ni, 3);
    int seen_a = 0, seen_b = 0, seen_shared = 0;
    for (size_t i = 0; i < nd; i++) {
        if (d[i].shared) {
            seen_shared++;
            CHECK(d[i].subscriber == b);
            CHECK_INT(d[i].n_ids, 0);
        } else if (d[i].subscriber == a) {
            seen_a++;
            CHECK_INT(d[i].max_qos, 2);
            CHECK_INT(d[i].retain_as_published, 1);
            CHECK_INT(d[i].n_ids, 2);
            uint32_t sum = 0, cnt = 0;
            for (uint32_t k = d[i].first_id; k != MQWS_TOPIC_NO_ID; k = ids[k].next) {
                sum += ids[k].id;
                cnt++;
            }
            CHECK_INT(cnt, 2);
            CHECK_INT(sum, 12);
        } else {
            seen_b++;
            CHECK(d[i].user == (void *)2);
            CHECK_INT(d[i].max_qos, 1);
            CHECK_INT(d[i].n_ids, 1);
        }
    }
    CHECK_INT(seen_a, 1);
    CHECK_INT(seen_b, 1);
    CHECK_INT(seen_shared, 1);
    /* too small: the sizes needed are reported */
    CHECK_INT(mqws_topic_match_aggregate(x, V("a/b"), NULL, d, 1, &nd, ids, 1, &ni), MQWS_ENOSPC);
    CHECK_INT(nd, 3);
    CHECK_INT(ni, 3);
    /* a second call reuses the marks correctly */
    CHECK_INT(mqws_topic_match_aggregate(x, V("a/c"), NULL, d, 4, &nd, ids, 4, &ni), MQWS_OK);
    CHECK_INT(nd, 1);
    CHECK_INT(ni, 2);
    mqws_topic_index_free(x);
}

TEST(unsubscribe_and_unsubscribe_all) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &t.a;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    mqws_topic_subscriber *s[20];
    char f[64];
    for (int i = 0; i < 20; i++) {
        s[i] = mqws_topic_subscriber_new(x, NULL);
        for (int j = 0; j < 30; j++) {
            snprintf(f, sizeof f, j % 3 ? "d/%d/x" : "d/%d/+", j);
            CHECK_INT(mqws_topic_subscribe(x, s[i], V(f), &qos0), 1);
        }
        CHECK_INT(mqws_topic_subscribe(x, s[i], V("$share/g/d/#"), &qos0), 1);
    }
    CHECK_INT(count_matches(x, "d/3/x"), 20 + 1);
    CHECK_INT(count_matches(x, "d/4/x"), 20 + 1);
    CHECK_INT(mqws_topic_unsubscribe(x, s[0], V("d/3/+")), MQWS_OK);
    CHECK_INT(mqws_topic_unsubscribe(x, s[0], V("d/3/+")), MQWS_ENOTFOUND);
    CHECK_INT(count_matches(x, "d/3/x"), 19 + 1);
    for (int i = 0; i < 10; i++)
        CHECK_INT(mqws_topic_unsubscribe_all(x, s[i]), i == 0 ? 30 : 31);
    CHECK_INT(count_matches(x, "d/3/x"), 10 + 1);
    CHECK_INT(count_matches(x, "d/4/x"), 10 + 1);
    for (int i = 10; i < 19; i++)
        mqws_topic_subscriber_free(x, s[i]);
    CHECK_INT(count_matches(x, "d/4/x"), 1 + 1);
    mqws_topic_index_stats st = {sizeof st, 0, 0, 0, 0, 0, 0};
    mqws_topic_index_stats_get(x, &st);
    CHECK_INT(st.subscriptions, 31);
    CHECK_INT(st.filters, 31);
    CHECK_INT(st.shared_groups, 1);
    CHECK_INT(st.subscribers, 11);
    mqws_topic_unsubscribe_all(x, s[19]);
    mqws_topic_index_stats_get(x, &st);
    CHECK_INT(st.filters, 0);
    CHECK_INT(st.shapes, 0);
    CHECK_INT(count_matches(x, "d/4/x"), 0);
    mqws_topic_index_free(x); /* frees the remaining subscribers too */
    CHECK_ALLOC_CLEAN(&t);
}

TEST(limits_shapes_and_subscriptions) {
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.max_shapes = 2;
    cfg.max_subscriptions = 3;
    cfg.max_levels = 4;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/b"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/+"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/#"), NULL), MQWS_ELIMIT);
    CHECK_INT(mqws_topic_subscribe(x, s, V("x/y"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("x/z"), NULL), MQWS_ELIMIT);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/b/c/d/e"), NULL), MQWS_ETOOBIG);
    CHECK_INT(mqws_topic_match(x, V("a/b/c/d/e"), NULL, collect_cb, NULL), MQWS_EINVAL);
    CHECK_INT(count_matches(x, "a/b/c/d"), 0);
    mqws_topic_index_free(x);
    cfg.max_levels = 65;
    CHECK(mqws_topic_index_new(&cfg) == NULL);
    cfg.size = 3;
    CHECK(mqws_topic_index_new(&cfg) == NULL);
}

/* ---- shared subscriptions ------------------------------------------------------------------- */

static mqws_topic_index *shared_index(uint32_t strategy, mqws_topic_subscriber **m, int n) {
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.share_strategy = strategy;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    for (int i = 0; i < n; i++) {
        m[i] = mqws_topic_subscriber_new(x, (void *)(uintptr_t)(i + 1));
        CHECK_INT(mqws_topic_subscribe(x, m[i], V("$share/g/s/+"), NULL), 1);
    }
    return x;
}

static int picked(mqws_topic_index *x, const char *topic, const char *client) {
    collect c = {0};
    mqws_topic_publish pub = {NULL, {(const uint8_t *)client, client ? strlen(client) : 0}};
    CHECK_INT(mqws_topic_match(x, V(topic), &pub, collect_cb, &c), 1);
    CHECK_INT(c.m[0].shared, 1);
    CHECK_VIEW(c.m[0].group, "g");
    return (int)(uintptr_t)c.m[0].user;
}

/* One member per message of a group (§4.8.2), for each strategy. */
TEST(mqtt_4_8_2_shared_round_robin) {
    mqws_topic_subscriber *m[3];
    mqws_topic_index *x = shared_index(MQWS_TOPIC_SHARE_ROUND_ROBIN, m, 3);
    int hits[4] = {0};
    for (int i = 0; i < 30; i++)
        hits[picked(x, "s/x", NULL)]++;
    CHECK_INT(hits[1], 10);
    CHECK_INT(hits[2], 10);
    CHECK_INT(hits[3], 10);
    mqws_topic_index_free(x);
}

TEST(mqtt_4_8_2_shared_random) {
    mqws_topic_subscriber *m[3];
    mqws_topic_index *x = shared_index(MQWS_TOPIC_SHARE_RANDOM, m, 3);
    int hits[4] = {0};
    for (int i = 0; i < 300; i++)
        hits[picked(x, "s/x", NULL)]++;
    CHECK(hits[1] > 50 && hits[2] > 50 && hits[3] > 50);
    mqws_topic_index_free(x);
}

TEST(mqtt_4_8_2_shared_hash_client_and_topic) {
    mqws_topic_subscriber *m[4];
    mqws_topic_index *x = shared_index(MQWS_TOPIC_SHARE_HASH_CLIENT, m, 4);
    int first = picked(x, "s/x", "client-a");
    for (int i = 0; i < 10; i++)
        CHECK_INT(picked(x, "s/y", "client-a"), first);
    int spread[5] = {0};
    char id[32];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "c%d", i);
        spread[picked(x, "s/x", id)]++;
    }
    CHECK(spread[1] && spread[2] && spread[3] && spread[4]);
    mqws_topic_index_free(x);
    x = shared_index(MQWS_TOPIC_SHARE_HASH_TOPIC, m, 4);
    first = picked(x, "s/x", "a");
    CHECK_INT(picked(x, "s/x", "b"), first);
    mqws_topic_index_free(x);
}

TEST(mqtt_4_8_2_shared_sticky_moves_when_member_leaves) {
    mqws_topic_subscriber *m[3];
    mqws_topic_index *x = shared_index(MQWS_TOPIC_SHARE_STICKY, m, 3);
    int first = picked(x, "s/x", NULL);
    for (int i = 0; i < 5; i++)
        CHECK_INT(picked(x, "s/x", NULL), first);
    CHECK_INT(mqws_topic_unsubscribe(x, m[first - 1], V("$share/g/s/+")), MQWS_OK);
    int second = picked(x, "s/x", NULL);
    CHECK(second != first);
    CHECK_INT(picked(x, "s/x", NULL), second);
    mqws_topic_index_free(x);
}

/* Members join and leave between messages: each message still goes to exactly one current
 * member. */
TEST(mqtt_4_8_2_shared_join_leave_while_flowing) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *m[8];
    int member[8] = {0};
    for (int i = 0; i < 8; i++)
        m[i] = mqws_topic_subscriber_new(x, (void *)(uintptr_t)i);
    uint64_t rng = 42;
    for (int step = 0; step < 2000; step++) {
        int i = (int)testlib_rand_below(&rng, 8);
        if (member[i]) {
            CHECK_INT(mqws_topic_unsubscribe(x, m[i], V("$share/g/q")), MQWS_OK);
            member[i] = 0;
        } else {
            CHECK_INT(mqws_topic_subscribe(x, m[i], V("$share/g/q"), NULL), 1);
            member[i] = 1;
        }
        int members = 0;
        for (int k = 0; k < 8; k++)
            members += member[k];
        collect c = {0};
        CHECK_INT(mqws_topic_match(x, V("q"), NULL, collect_cb, &c), members ? 1 : 0);
        if (members && c.n == 1)
            CHECK(member[(int)(uintptr_t)c.m[0].user]);
    }
    mqws_topic_index_free(x);
}

typedef struct per_topic {
    int n[4];
} per_topic;

static int per_topic_cb(void *ctx, const mqws_topic_match_info *m) {
    per_topic *p = ctx;
    CHECK(m->topic_index < 4);
    if (m->topic_index < 4)
        p->n[m->topic_index]++;
    return 0;
}

/* A batch reports exactly what one call per topic reports, tagged with the topic's index. */
TEST(match_batch_equals_single_matches) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    const char *filters[] = {"a/+", "a/#", "+/b", "c", "$SYS/#", "$share/g/a/b"};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        CHECK_INT(mqws_topic_subscribe(x, s, V(filters[i]), NULL), 1);
    const char *topics[] = {"a/b", "c", "$SYS/x", "zz/b"};
    mqws_view v[4];
    for (int i = 0; i < 4; i++)
        v[i] = mqws_view_cstr(topics[i]);
    per_topic p = {{0}};
    CHECK_INT(mqws_topic_match_batch(x, v, 4, NULL, per_topic_cb, &p), 4 + 1 + 1 + 1);
    for (int i = 0; i < 4; i++)
        CHECK_INT(p.n[i], count_matches(x, topics[i]));
    CHECK_INT(p.n[0], 4); /* a/+, a/#, +/b, one shared member */
    v[2] = mqws_view_cstr("bad/+");
    CHECK_INT(mqws_topic_match_batch(x, v, 4, NULL, per_topic_cb, &p), MQWS_EINVAL);
    CHECK_INT(mqws_topic_match_batch(x, v, MQWS_TOPIC_BATCH_MAX + 1, NULL, per_topic_cb, &p),
              MQWS_EINVAL);
    CHECK_INT(mqws_topic_match_batch(x, v, 0, NULL, per_topic_cb, &p), 0);
    mqws_topic_index_free(x);
}

/* Stopping from the callback stops the match. */
static int stop_cb(void *ctx, const mqws_topic_match_info *m) {
    (void)m;
    (*(int *)ctx)++;
    return 1;
}

TEST(match_callback_can_stop) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    mqws_topic_subscriber *s2 = mqws_topic_subscriber_new(x, NULL);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/+"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("a/#"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, s2, V("a/#"), NULL), 1);
    int calls = 0;
    CHECK_INT(mqws_topic_match(x, V("a/b"), NULL, stop_cb, &calls), 1);
    CHECK_INT(calls, 1);
    mqws_topic_index_free(x);
}

/* ---- match cache ---------------------------------------------------------------------------- */

static mqws_topic_cache_stats cache_stats(const mqws_topic_index *x) {
    mqws_topic_cache_stats cs = {sizeof cs, 0, 0, 0, 0, 0};
    CHECK_INT(mqws_topic_index_cache_stats_get(x, &cs), MQWS_OK);
    return cs;
}

/* Match `topic` three times (enough for the cache to store it and answer at least once: a topic
 * is stored on its first miss into an empty or stale line, else on its second) and check that
 * all three report `want` subscriptions; returns the reports of the last call. */
static collect match3(mqws_topic_index *x, const char *topic, const mqws_topic_publish *pub,
                      int want) {
    collect c = {0};
    for (int i = 0; i < 3; i++) {
        c.n = 0;
        CHECK_INT(mqws_topic_match(x, V(topic), pub, collect_cb, &c), want);
        CHECK_INT(c.n, want);
    }
    return c;
}

/* A repeated topic is answered from the cache, and every change of the index is seen by the
 * next match: a new filter, a new subscriber of an existing filter, new options, no-local per
 * publisher, unsubscribe, unsubscribe-all, a freed subscriber. */
TEST(match_cache_sees_every_change) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &t.a;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    CHECK_INT(cache_stats(x).slots, 0); /* nothing allocated before the first filter */
    mqws_topic_subscriber *a = mqws_topic_subscriber_new(x, (void *)1);
    mqws_topic_subscriber *b = mqws_topic_subscriber_new(x, (void *)2);
    mqws_topic_sub_options o1 = {1, 0, 0, 0, 5}, o2 = {2, 0, 1, 1, 9}, nl = {0, 1, 0, 0, 0};
    CHECK_INT(mqws_topic_subscribe(x, a, V("a/+"), &o1), 1);
    mqws_topic_cache_stats cs = cache_stats(x);
    CHECK_INT(cs.slots, 64);
    CHECK(cs.bytes >= 64u * 128u);
    mqws_topic_index_stats st = {sizeof st, 0, 0, 0, 0, 0, 0};
    mqws_topic_index_stats_get(x, &st);
    CHECK_INT(st.bytes, t.live_bytes); /* the cache is counted */

    collect c = match3(x, "a/b", NULL, 1);
    CHECK_INT(c.m[0].max_qos, 1);
    CHECK_INT(c.m[0].subscription_id, 5);
    cs = cache_stats(x); /* stored at once into an empty line */
    CHECK_INT(cs.hits, 2);
    CHECK_INT(cs.misses, 1);
    /* a new subscriber of the same filter (no new entry) */
    CHECK_INT(mqws_topic_subscribe(x, b, V("a/+"), &o1), 1);
    match3(x, "a/b", NULL, 2);
    /* a new filter */
    CHECK_INT(mqws_topic_subscribe(x, b, V("a/b"), &o1), 1);
    match3(x, "a/b", NULL, 3);
    /* new options of an existing subscription, answered from the cache */
    uint64_t hits = cache_stats(x).hits;
    CHECK_INT(mqws_topic_subscribe(x, a, V("a/+"), &o2), 0);
    c.n = 0;
    CHECK_INT(mqws_topic_match(x, V("a/b"), NULL, collect_cb, &c), 3);
    CHECK_INT(cache_stats(x).hits, hits + 1);
    int seen = 0;
    for (int i = 0; i < c.n; i++) {
        if (c.m[i].subscriber == a) {
            seen++;
            CHECK_INT(c.m[i].max_qos, 2);
            CHECK_INT(c.m[i].subscription_id, 9);
            CHECK_INT(c.m[i].retain_as_published, 1);
            CHECK_INT(c.m[i].retain_handling, 1);
        }
    }
    CHECK_INT(seen, 1);
    /* no-local is decided per call, not cached: same topic, different publishers */
    CHECK_INT(mqws_topic_subscribe(x, b, V("a/b"), &nl), 0);
    mqws_topic_publish pa = {a, {NULL, 0}}, pb = {b, {NULL, 0}};
    match3(x, "a/b", &pb, 2);
    match3(x, "a/b", &pa, 3);
    match3(x, "a/b", NULL, 3);
    /* unsubscribe (entry kept: another subscriber), then the entry itself */
    CHECK_INT(mqws_topic_unsubscribe(x, a, V("a/+")), MQWS_OK);
    match3(x, "a/b", NULL, 2);
    CHECK_INT(mqws_topic_unsubscribe(x, b, V("a/b")), MQWS_OK);
    match3(x, "a/b", NULL, 1);
    /* unsubscribe-all, then a freed subscriber */
    CHECK_INT(mqws_topic_subscribe(x, a, V("a/#"), &o1), 1);
    match3(x, "a/b", NULL, 2);
    CHECK_INT(mqws_topic_unsubscribe_all(x, b), 1);
    match3(x, "a/b", NULL, 1);
    mqws_topic_subscriber_free(x, a);
    match3(x, "a/b", NULL, 0);
    /* a topic never subscribed to, and a '$' topic next to a leading wildcard [MQTT-4.7.2-1] */
    b = mqws_topic_subscriber_new(x, (void *)2);
    CHECK_INT(mqws_topic_subscribe(x, b, V("+/x"), NULL), 1);
    match3(x, "$SYS/x", NULL, 0);
    match3(x, "SYS/x", NULL, 1);
    CHECK_INT(mqws_topic_subscribe(x, b, V("$SYS/#"), NULL), 1);
    match3(x, "$SYS/x", NULL, 1);
    /* invalid names are rejected before and after the same bytes were cached as valid ones */
    CHECK_INT(mqws_topic_match(x, V("SYS/+"), NULL, collect_cb, &c), MQWS_EINVAL);
    CHECK_INT(mqws_topic_match(x, V("SYS/+"), NULL, collect_cb, &c), MQWS_EINVAL);
    mqws_topic_index_free(x);
    CHECK_ALLOC_CLEAN(&t);
}

/* Shared-group picks are made per message, also when the entries come from the cache. */
TEST(match_cache_shared_picks_rotate) {
    for (uint32_t strategy = MQWS_TOPIC_SHARE_ROUND_ROBIN; strategy <= MQWS_TOPIC_SHARE_STICKY;
         strategy++) {
        mqws_topic_subscriber *m[3];
        mqws_topic_index *x = shared_index(strategy, m, 3);
        int hits[4] = {0};
        for (int i = 0; i < 300; i++)
            hits[picked(x, "s/x", "client")]++;
        CHECK(cache_stats(x).hits >= 298);
        if (strategy == MQWS_TOPIC_SHARE_ROUND_ROBIN) {
            CHECK_INT(hits[1], 100);
            CHECK_INT(hits[2], 100);
            CHECK_INT(hits[3], 100);
        } else if (strategy == MQWS_TOPIC_SHARE_RANDOM) {
            CHECK(hits[1] > 50 && hits[2] > 50 && hits[3] > 50);
        } else { /* hashes and sticky: always the same member */
            CHECK(hits[1] == 300 || hits[2] == 300 || hits[3] == 300);
        }
        /* the sticky member leaves: the next one takes over, still from the cache */
        int first = strategy == MQWS_TOPIC_SHARE_STICKY ? picked(x, "s/x", NULL) : 0;
        if (first) {
            mqws_topic_subscriber_free(x, m[first - 1]);
            int next = picked(x, "s/x", NULL);
            CHECK(next != first);
            for (int i = 0; i < 5; i++)
                CHECK_INT(picked(x, "s/x", NULL), next);
        }
        mqws_topic_index_free(x);
    }
}

/* What the cache cannot hold is matched by the index every time: topics longer than a line,
 * more matching entries than fit, a match stopped by the callback. Off and tiny caches work. */
TEST(match_cache_limits_and_sizes) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &t.a;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    char f[200], topic[200];
    /* 130-byte topic: never stored */
    memset(topic, 'l', 130);
    topic[130] = 0;
    CHECK_INT(mqws_topic_subscribe(x, s, V(topic), NULL), 1);
    for (int i = 0; i < 4; i++)
        CHECK_INT(count_matches(x, topic), 1);
    CHECK_INT(cache_stats(x).hits, 0);
    /* 20 entries match "m/0/1/2/3": more than fit next to the name */
    const char *many = "m/0/1/2/3";
    for (int i = 0; i < 20; i++) {
        snprintf(f, sizeof f, "%s/%s/%s/%s/%s", i & 1 ? "+" : "m", i & 2 ? "+" : "0",
                 i & 4 ? "+" : "1", i & 8 ? "+" : "2", i & 16 ? "#" : "3");
        CHECK_INT(mqws_topic_subscribe(x, s, V(f), NULL), 1);
    }
    for (int i = 0; i < 4; i++)
        CHECK_INT(count_matches(x, many), 20);
    CHECK_INT(cache_stats(x).hits, 0);
    /* a stopped match is not stored: the full answer comes next */
    CHECK_INT(mqws_topic_subscribe(x, s, V("p/+"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, s, V("p/#"), NULL), 1);
    for (int i = 0; i < 3; i++) {
        int calls = 0;
        CHECK_INT(mqws_topic_match(x, V("p/q"), NULL, stop_cb, &calls), 1);
        CHECK_INT(calls, 1);
    }
    CHECK_INT(count_matches(x, "p/q"), 2);
    CHECK_INT(count_matches(x, "p/q"), 2);
    CHECK_INT(count_matches(x, "p/q"), 2);
    CHECK(cache_stats(x).hits >= 1);
    /* the cache grows with the index (one line per 64 filters), up to the maximum */
    for (int i = 0; i < 10000; i++) {
        snprintf(f, sizeof f, "g/%d", i);
        CHECK_INT(mqws_topic_subscribe(x, s, V(f), NULL), 1);
    }
    CHECK_INT(cache_stats(x).slots, 256);
    mqws_topic_index_stats st = {sizeof st, 0, 0, 0, 0, 0, 0};
    mqws_topic_index_stats_get(x, &st);
    CHECK_INT(st.bytes, t.live_bytes);
    mqws_topic_index_free(x);
    CHECK_ALLOC_CLEAN(&t);
    /* a maximum is rounded down to a power of two; 1 gives one set of four lines */
    const uint32_t max[] = {100, 1, 0};
    const uint64_t want[] = {64, 4, 0};
    for (int k = 0; k < 3; k++) {
        cfg.allocator = NULL;
        cfg.match_cache = max[k];
        x = mqws_topic_index_new(&cfg);
        s = mqws_topic_subscriber_new(x, NULL);
        for (int i = 0; i < 10000; i++) {
            snprintf(f, sizeof f, "g/%d", i);
            CHECK_INT(mqws_topic_subscribe(x, s, V(f), NULL), 1);
        }
        CHECK_INT(cache_stats(x).slots, want[k]);
        for (int i = 0; i < 3; i++) {
            CHECK_INT(count_matches(x, "g/1"), 1);
            CHECK_INT(count_matches(x, "g/2"), 1);
            CHECK_INT(count_matches(x, "g/x"), 0);
        }
        CHECK(want[k] ? cache_stats(x).hits > 0 : cache_stats(x).misses == 0);
        mqws_topic_index_free(x);
    }
    /* One set of four lines, filled by other names: four names taking turns (more than the
     * set's three ghosts) still end up cached, and then every match is a hit. */
    cfg.match_cache = 4;
    x = mqws_topic_index_new(&cfg);
    s = mqws_topic_subscriber_new(x, NULL);
    CHECK_INT(mqws_topic_subscribe(x, s, V("h/+"), NULL), 1);
    for (int i = 0; i < 8; i++) {
        snprintf(topic, sizeof topic, "h/cold%d", i);
        CHECK_INT(count_matches(x, topic), 1);
    }
    for (int round = 0; round < 40; round++)
        for (int i = 0; i < 4; i++) {
            snprintf(topic, sizeof topic, "h/hot%d", i);
            CHECK_INT(count_matches(x, topic), 1);
        }
    const uint64_t h0 = cache_stats(x).hits;
    for (int round = 0; round < 10; round++)
        for (int i = 0; i < 4; i++) {
            snprintf(topic, sizeof topic, "h/hot%d", i);
            CHECK_INT(count_matches(x, topic), 1);
        }
    CHECK_INT(cache_stats(x).hits, h0 + 40);
    mqws_topic_index_free(x);
    /* A low hit rate makes most calls skip the cache; a hot topic brings it back. */
    cfg.match_cache = 4096;
    x = mqws_topic_index_new(&cfg);
    s = mqws_topic_subscriber_new(x, NULL);
    CHECK_INT(mqws_topic_subscribe(x, s, V("b/+"), NULL), 1);
    for (int i = 0; i < 300; i++) { /* never repeated: one window, no hit */
        snprintf(topic, sizeof topic, "b/cold%d", i);
        CHECK_INT(count_matches(x, topic), 1);
    }
    mqws_topic_cache_stats cs = cache_stats(x);
    CHECK_INT(cs.hits, 0);
    CHECK_INT(cs.misses, 256);
    CHECK_INT(cs.bypassed, 300 - 256);
    for (int i = 0; i < 5000; i++) /* 16 windows skipped, then hits again */
        CHECK_INT(count_matches(x, "b/hot"), 1);
    cs = cache_stats(x);
    CHECK_INT(cs.bypassed, 256 * 16);
    CHECK(cs.hits > 5000 - 256 * 16 - 300 - 5);
    mqws_topic_index_free(x);
    mqws_topic_cache_stats bad = {3, 0, 0, 0, 0, 0};
    CHECK_INT(mqws_topic_index_cache_stats_get(x = mqws_topic_index_new(NULL), &bad), MQWS_EINVAL);
    mqws_topic_index_free(x);
}

typedef struct per_topic16 {
    int n[MQWS_TOPIC_BATCH_MAX];
} per_topic16;

static int per_topic16_cb(void *ctx, const mqws_topic_match_info *m) {
    per_topic16 *p = ctx;
    CHECK(m->topic_index < MQWS_TOPIC_BATCH_MAX);
    if (m->topic_index < MQWS_TOPIC_BATCH_MAX)
        p->n[m->topic_index]++;
    return 0;
}

/* mqws_topic_match_batch() goes through the index (its stages overlap cache misses of cold
 * topics) and leaves the match cache alone; topics cached by single matches are reported the
 * same by a batch, and changes between batches and single matches are seen by both. */
TEST(match_cache_and_batch) {
    mqws_topic_index *x = mqws_topic_index_new(NULL);
    mqws_topic_subscriber *s = mqws_topic_subscriber_new(x, NULL);
    mqws_topic_subscriber *g1 = mqws_topic_subscriber_new(x, NULL);
    mqws_topic_subscriber *g2 = mqws_topic_subscriber_new(x, NULL);
    const char *filters[] = {"a/+", "a/#", "+/b", "c", "$SYS/#", "d/+/e"};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        CHECK_INT(mqws_topic_subscribe(x, s, V(filters[i]), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, g1, V("$share/g/a/#"), NULL), 1);
    CHECK_INT(mqws_topic_subscribe(x, g2, V("$share/g/a/#"), NULL), 1);
    const char *topics[] = {"a/b", "c", "$SYS/x", "zz/b", "a/b", "d/1/e", "d/2/e", "q",
                            "a",   "c", "a/b/c",  "zz/b", "x/b", "d/3/e", "a/b",   "$SYS"};
    mqws_view v[MQWS_TOPIC_BATCH_MAX];
    int want[MQWS_TOPIC_BATCH_MAX], total = 0;
    for (int i = 0; i < 16; i++) {
        v[i] = mqws_view_cstr(topics[i]);
        for (int k = 0; k < 2; k++) /* cached by single matches */
            want[i] = count_matches(x, topics[i]);
        total += want[i];
    }
    const mqws_topic_cache_stats before = cache_stats(x);
    CHECK(before.hits > 0);
    for (int round = 0; round < 3; round++) {
        per_topic16 p = {{0}};
        CHECK_INT(mqws_topic_match_batch(x, v, 16, NULL, per_topic16_cb, &p), total);
        for (int i = 0; i < 16; i++)
            CHECK_INT(p.n[i], want[i]);
    }
    const mqws_topic_cache_stats after = cache_stats(x);
    CHECK_INT(after.hits, before.hits);
    CHECK_INT(after.misses, before.misses);
    /* shared picks rotate across batch and cached single matches alike */
    int picks[2] = {0};
    for (int round = 0; round < 4; round++) {
        collect c = {0};
        if (round & 1)
            CHECK_INT(mqws_topic_match_batch(x, v, 1, NULL, collect_cb, &c), 4);
        else
            CHECK_INT(mqws_topic_match(x, V("a/b"), NULL, collect_cb, &c), 4);
        for (int k = 0; k < c.n; k++)
            if (c.m[k].shared)
                picks[c.m[k].subscriber == g2]++;
    }
    CHECK_INT(picks[0], 2);
    CHECK_INT(picks[1], 2);
    /* a change is seen by both */
    CHECK_INT(mqws_topic_unsubscribe(x, s, V("a/#")), MQWS_OK);
    per_topic16 q = {{0}};
    CHECK_INT(mqws_topic_match_batch(x, v, 1, NULL, per_topic16_cb, &q), 3);
    CHECK_INT(count_matches(x, "a/b"), 3);
    mqws_topic_index_free(x);
}

/* ---- differential: index vs linear scan ----------------------------------------------------- */

static const char *const parts[] = {"a", "b", "c", "", "$x", "long-level-name-here"};

static void random_name(uint64_t *r, char *out, int wild) {
    int n = 1 + (int)testlib_rand_below(r, 4);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, "/");
        size_t k = testlib_rand_below(r, 8 + (wild ? 3 : 0));
        if (k < 6)
            strcat(out, k == 4 && i ? "x" : parts[k]);
        else if (k < 8)
            strcat(out, "a");
        else if (k < 10)
            strcat(out, "+");
        else {
            strcat(out, "#");
            break;
        }
    }
    if (!out[0])
        strcat(out, wild ? "#" : "a");
}

typedef struct ref_sub {
    int who;
    char filter[128];
    int live;
} ref_sub;

typedef struct diff_ctx {
    int count[8];
} diff_ctx;

static int diff_cb(void *ctx, const mqws_topic_match_info *m) {
    ((diff_ctx *)ctx)->count[(int)(uintptr_t)m->user]++;
    return 0;
}

static void differential(uint32_t match_cache) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &t.a;
    cfg.match_cache = match_cache;
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    mqws_topic_subscriber *s[8];
    for (int i = 0; i < 8; i++)
        s[i] = mqws_topic_subscriber_new(x, (void *)(uintptr_t)i);
    static ref_sub ref[4000];
    int nref = 0;
    uint64_t r = 7;
    char buf[128];
    for (int step = 0; step < 20000; step++) {
        size_t op = testlib_rand_below(&r, 10);
        int who = (int)testlib_rand_below(&r, 8);
        if (op < 4 && nref < 4000) {
            random_name(&r, buf, 1);
            int rc = mqws_topic_subscribe(x, s[who], V(buf), NULL);
            int found = 0;
            for (int i = 0; i < nref; i++)
                if (ref[i].live && ref[i].who == who && !strcmp(ref[i].filter, buf))
                    found = 1;
            CHECK_INT(rc, found ? 0 : 1);
            if (!found) {
                ref[nref].who = who;
                strcpy(ref[nref].filter, buf);
                ref[nref++].live = 1;
            }
        } else if (op < 6) {
            random_name(&r, buf, 1);
            int rc = mqws_topic_unsubscribe(x, s[who], V(buf));
            int found = 0;
            for (int i = 0; i < nref; i++)
                if (ref[i].live && ref[i].who == who && !strcmp(ref[i].filter, buf)) {
                    ref[i].live = 0;
                    found = 1;
                }
            CHECK_INT(rc, found ? MQWS_OK : MQWS_ENOTFOUND);
        } else if (op == 6 && testlib_rand_below(&r, 20) == 0) {
            mqws_topic_unsubscribe_all(x, s[who]);
            for (int i = 0; i < nref; i++)
                if (ref[i].who == who)
                    ref[i].live = 0;
        } else {
            random_name(&r, buf, 0);
            diff_ctx got = {{0}}, want = {{0}};
            int rc = mqws_topic_match(x, V(buf), NULL, diff_cb, &got);
            int total = 0;
            for (int i = 0; i < nref; i++)
                if (ref[i].live && mqws_topic_matches(V(ref[i].filter), V(buf))) {
                    want.count[ref[i].who]++;
                    total++;
                }
            CHECK_INT(rc, total);
            CHECK(memcmp(&got, &want, sizeof got) == 0);
        }
    }
    mqws_topic_cache_stats cs = {sizeof cs, 0, 0, 0, 0, 0};
    CHECK_INT(mqws_topic_index_cache_stats_get(x, &cs), MQWS_OK);
    if (match_cache) /* the random names repeat: the cache answered part of the matches */
        CHECK(cs.hits > 0 && cs.misses > 0);
    else
        CHECK(cs.hits == 0 && cs.misses == 0 && cs.slots == 0 && cs.bytes == 0);
    mqws_topic_index_free(x);
    CHECK_ALLOC_CLEAN(&t);
}

/* With the default match cache, without it, and with a one-set cache (four lines) that evicts all
 * the time. */
TEST(differential_random_against_linear_scan) {
    differential(4096u); /* the default */
    differential(0);
    differential(4);
}

/* ---- failing allocator ---------------------------------------------------------------------- */

/* Index: a scripted sequence touching every allocating path (new shape, table growth, slab
 * chunk, inline->list, list growth, shared group, owner list growth, big filter). Fail the Nth
 * allocation for every N; the failed call must leave the index as it was. */
static const char *const script[] = {
    "a/b",  "a/+",  "a/#",  "$share/g/a/+", "a/b",  "x/y/z", "+/+/+", "a/b", "$share/g/a/+", "q/1",
    "q/2",  "q/3",  "q/4",  "q/5",          "q/6",  "q/7",   "q/8",   "q/9", "q/10",         "q/11",
    "q/12", "q/13", "q/14", "q/15",         "q/16", "q/17",  "q/+/#", "BIG", "+/b/+/#",      "#",
};
#define SCRIPT_N (int)(sizeof script / sizeof script[0])

static const char *const probes[] = {"a/b", "a/c", "x/y/z", "q/3", "q/17/x", "z", "a/b/c/d"};

TEST(failing_allocator_index) {
    static char big[3000];
    memset(big, 'B', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (long n = 1;; n++) {
        testlib_alloc t;
        testlib_alloc_init(&t, n);
        mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
        cfg.allocator = &t.a;
        cfg.max_levels = 8;
        mqws_topic_index *x = mqws_topic_index_new(&cfg);
        if (!x) {
            CHECK_ALLOC_CLEAN(&t);
            continue;
        }
        mqws_topic_subscriber *s[3] = {NULL, NULL, NULL};
        int ok[SCRIPT_N][3];
        memset(ok, 0, sizeof ok);
        for (int i = 0; i < 3; i++)
            s[i] = mqws_topic_subscriber_new(x, (void *)(uintptr_t)i);
        /* Keep going after a failure: later calls must work on the consistent index. */
        for (int k = 0; k < SCRIPT_N; k++) {
            for (int i = 0; i < 3; i++) {
                if (!s[i])
                    continue;
                const char *f = strcmp(script[k], "BIG") ? script[k] : big;
                mqws_topic_index_stats before = {sizeof before, 0, 0, 0, 0, 0, 0};
                mqws_topic_index_stats_get(x, &before);
                int rc = mqws_topic_subscribe(x, s[i], V(f), NULL);
                if (rc == MQWS_ENOMEM) {
                    mqws_topic_index_stats after = {sizeof after, 0, 0, 0, 0, 0, 0};
                    mqws_topic_index_stats_get(x, &after);
                    CHECK_INT(after.subscriptions, before.subscriptions);
                    CHECK_INT(after.filters, before.filters);
                    CHECK_INT(after.shapes, before.shapes);
                    CHECK_INT(after.bytes, t.live_bytes);
                    continue;
                }
                CHECK(rc == 0 || rc == 1);
                ok[k][i] = 1;
            }
        }
        /* Whatever succeeded is matched exactly as the linear scan says. */
        for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
            int want = 0;
            for (int i = 0; i < 3; i++) {
                for (int k = 0; k < SCRIPT_N; k++) {
                    int dup = 0;
                    for (int j = 0; j < k; j++)
                        dup |= ok[j][i] && !strcmp(script[j], script[k]);
                    const char *f = strcmp(script[k], "BIG") ? script[k] : big;
                    mqws_view g, ff;
                    if (mqws_topic_parse_share(V(f), &g, &ff) == 1)
                        continue; /* shared: counted below */
                    if (ok[k][i] && !dup && mqws_topic_matches(V(f), V(probes[p])))
                        want++;
                }
            }
            int shared_any = 0;
            for (int i = 0; i < 3; i++)
                shared_any |= ok[3][i] && mqws_topic_matches(V("a/+"), V(probes[p]));
            for (int rep = 0; rep < 3; rep++) /* through the index, then the match cache */
                CHECK_INT(count_matches(x, probes[p]), want + shared_any);
        }
        /* unsubscribe everything one by one, then free */
        for (int i = 0; i < 3; i++)
            if (s[i])
                mqws_topic_unsubscribe_all(x, s[i]);
        mqws_topic_index_stats st = {sizeof st, 0, 0, 0, 0, 0, 0};
        mqws_topic_index_stats_get(x, &st);
        CHECK_INT(st.filters, 0);
        CHECK_INT(st.subscriptions, 0);
        mqws_topic_index_free(x);
        CHECK_ALLOC_CLEAN(&t);
        /* The match cache grows on subscribe when it can: its failed allocation is not an
         * error, so "no call failed" does not mean "nothing failed". */
        if (t.count < n)
            break; /* the Nth allocation never happened: every N has been covered */
    }
}

TEST(failing_allocator_store) {
    for (long n = 1;; n++) {
        testlib_alloc t;
        testlib_alloc_init(&t, n);
        mqws_topic_store_config cfg = MQWS_TOPIC_STORE_CONFIG_INIT;
        cfg.allocator = &t.a;
        mqws_topic_store *st = mqws_topic_store_new(&cfg);
        if (!st) {
            CHECK_ALLOC_CLEAN(&t);
            continue;
        }
        int failed = 0;
        char topic[64];
        const mqws_topic_msg *held = NULL;
        /* Keep going after a failure: later calls must work on the consistent store. */
        for (int i = 0; i < 40; i++) {
            snprintf(topic, sizeof topic, "r/%d/%s/leaf", i % 7, i % 2 ? "odd" : "even");
            mqws_topic_retain r = {
                {(const uint8_t *)"payload", 7}, {(const uint8_t *)"pp", 2}, 1, {0}, (uint64_t)i};
            mqws_topic_store_stats before = {sizeof before, 0, 0, 0};
            mqws_topic_store_stats_get(st, &before);
            int rc = mqws_topic_store_set(st, V(topic), &r);
            if (rc == MQWS_ENOMEM) {
                mqws_topic_store_stats after = {sizeof after, 0, 0, 0};
                mqws_topic_store_stats_get(st, &after);
                CHECK_INT(after.messages, before.messages);
                CHECK_INT(after.bytes, before.bytes);
                CHECK(after.memory >= before.memory); /* the edge table may have grown */
                CHECK(after.memory <= t.live_bytes);
                failed = 1;
                continue;
            }
            CHECK_INT(rc, 1);
            if (i == 3) {
                held = mqws_topic_store_get(st, V(topic));
                CHECK(held != NULL);
                mqws_topic_msg_ref(held);
            }
        }
        /* 14 distinct topics, each set at least twice: one failure loses none of them */
        int c = 0;
        mqws_topic_store_match(st, V("r/#"), count_cb, &c);
        CHECK_INT(c, 14);
        mqws_topic_store_free(st);
        if (held) {
            mqws_topic_msg_info info;
            mqws_topic_msg_get(held, &info);
            CHECK_VIEW(info.payload, "payload");
            mqws_topic_msg_unref(held);
        }
        CHECK_ALLOC_CLEAN(&t);
        if (!failed)
            break;
    }
}

/* ---- retained store ------------------------------------------------------------------------- */

static int set_str(mqws_topic_store *st, const char *topic, const char *payload) {
    mqws_topic_retain r = {{(const uint8_t *)payload, strlen(payload)}, {NULL, 0}, 1, {0}, 9};
    return mqws_topic_store_set(st, V(topic), &r);
}

static int store_count(const mqws_topic_store *st, const char *filter) {
    int c = 0;
    int rc = mqws_topic_store_match(st, V(filter), count_cb, &c);
    CHECK_INT(rc, c);
    return c;
}

/* Set, replace, delete with an empty payload [MQTT-3.3.1-6] [MQTT-3.3.1-7]; handles held by
 * the caller survive replacement, deletion and the store itself. */
TEST(mqtt_3_3_1_6_and_7_retained_set_replace_delete) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_store_config cfg = MQWS_TOPIC_STORE_CONFIG_INIT;
    cfg.allocator = &t.a;
    mqws_topic_store *st = mqws_topic_store_new(&cfg);
    CHECK_INT(set_str(st, "a/b", "one"), 1);
    const mqws_topic_msg *m1 = mqws_topic_store_get(st, V("a/b"));
    CHECK(m1 != NULL);
    mqws_topic_msg_ref(m1);
    CHECK_INT(set_str(st, "a/b", "two!"), 1);
    mqws_topic_msg_info info;
    mqws_topic_msg_get(m1, &info);
    CHECK_VIEW(info.payload, "one");
    CHECK_VIEW(info.topic, "a/b");
    CHECK_INT(info.qos, 1);
    CHECK_INT(info.user, 9);
    mqws_topic_msg_get(mqws_topic_store_get(st, V("a/b")), &info);
    CHECK_VIEW(info.payload, "two!");
    mqws_topic_store_stats s = {sizeof s, 0, 0, 0};
    mqws_topic_store_stats_get(st, &s);
    CHECK_INT(s.messages, 1);
    CHECK_INT(s.bytes, 3 + 4);
    CHECK(s.memory > 0 && s.memory < t.live_bytes); /* m1 is held by us, not the store */
    CHECK(mqws_topic_store_get(st, V("a")) == NULL);
    CHECK_INT(set_str(st, "a/b", ""), 0); /* delete */
    CHECK(mqws_topic_store_get(st, V("a/b")) == NULL);
    CHECK_INT(set_str(st, "a/b", ""), 0);
    mqws_topic_store_stats_get(st, &s);
    CHECK_INT(s.messages, 0);
    CHECK_INT(s.bytes, 0);
    CHECK_INT(set_str(st, "keep", "x"), 1);
    const mqws_topic_msg *m2 = mqws_topic_store_get(st, V("keep"));
    mqws_topic_msg_ref(m2);
    mqws_topic_store_free(st);
    mqws_topic_msg_get(m2, &info);
    CHECK_VIEW(info.payload, "x");
    mqws_topic_msg_unref(m2);
    mqws_topic_msg_unref(m1);
    CHECK_ALLOC_CLEAN(&t);
}

TEST(retained_limits_give_elimit) {
    mqws_topic_store_config cfg = MQWS_TOPIC_STORE_CONFIG_INIT;
    cfg.max_messages = 2;
    cfg.max_bytes = 20;
    mqws_topic_store *st = mqws_topic_store_new(&cfg);
    CHECK_INT(set_str(st, "a", "123"), 1);
    CHECK_INT(set_str(st, "b", "123"), 1);
    CHECK_INT(set_str(st, "c", "123"), MQWS_ELIMIT);
    CHECK_INT(set_str(st, "a", "0123456789"), 1); /* replacing: 11 + 4 bytes */
    CHECK_INT(set_str(st, "a", "0123456789abcdef"), MQWS_ELIMIT);
    mqws_topic_msg_info info;
    mqws_topic_msg_get(mqws_topic_store_get(st, V("a")), &info);
    CHECK_VIEW(info.payload, "0123456789");
    CHECK_INT(set_str(st, "a/+", "x"), MQWS_EPROTO);
    mqws_topic_store_free(st);
}

TEST(retained_match_wildcards_and_dollar) {
    mqws_topic_store *st = mqws_topic_store_new(NULL);
    const char *topics[] = {"a",  "a/b",     "a/b/c",       "a/c", "b/b",
                            "/x", "$SYS/up", "$SYS/down/x", "a//c"};
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
        CHECK_INT(set_str(st, topics[i], "v"), 1);
    CHECK_INT(store_count(st, "#"), 7);
    CHECK_INT(store_count(st, "a/#"), 5);
    CHECK_INT(store_count(st, "a/+"), 2);
    CHECK_INT(store_count(st, "+/b"), 2);
    CHECK_INT(store_count(st, "+/+/c"), 2);
    CHECK_INT(store_count(st, "$SYS/#"), 2);
    CHECK_INT(store_count(st, "+/up"), 0);
    CHECK_INT(store_count(st, "a/b"), 1);
    CHECK_INT(store_count(st, "a/x"), 0);
    CHECK_INT(store_count(st, "+"), 1);
    CHECK_INT(store_count(st, "/+"), 1);
    CHECK_INT(mqws_topic_store_match(st, V("$share/g/#"), count_cb, NULL), MQWS_EINVAL);
    CHECK_INT(mqws_topic_store_match(st, V("a#"), count_cb, NULL), MQWS_EPROTO);
    /* deleting an inner topic keeps its children */
    CHECK_INT(set_str(st, "a/b", ""), 0);
    CHECK_INT(store_count(st, "a/#"), 4);
    CHECK_INT(store_count(st, "a/b/c"), 1);
    mqws_topic_store_free(st);
}

/* The store's wildcard iteration agrees with the reference matcher on random data. */
TEST(retained_differential_random) {
    testlib_alloc t;
    testlib_alloc_init(&t, 0);
    mqws_topic_store_config cfg = MQWS_TOPIC_STORE_CONFIG_INIT;
    cfg.allocator = &t.a;
    mqws_topic_store *st = mqws_topic_store_new(&cfg);
    static char names[64][128];
    static int live[64];
    uint64_t r = 99;
    for (int i = 0; i < 64; i++)
        random_name(&r, names[i], 0);
    char f[128];
    for (int step = 0; step < 5000; step++) {
        int i = (int)testlib_rand_below(&r, 64);
        if (testlib_rand_below(&r, 3) == 0) {
            int del = (int)testlib_rand_below(&r, 2);
            set_str(st, names[i], del ? "" : "v");
            for (int k = 0; k < 64; k++)
                if (!strcmp(names[k], names[i]))
                    live[k] = !del;
        } else {
            random_name(&r, f, 1);
            int want = 0;
            for (int k = 0; k < 64; k++) {
                int dup = 0;
                for (int j = 0; j < k; j++)
                    dup |= !strcmp(names[j], names[k]);
                if (live[k] && !dup && mqws_topic_matches(V(f), V(names[k])))
                    want++;
            }
            CHECK_INT(store_count(st, f), want);
        }
    }
    mqws_topic_store_free(st);
    CHECK_ALLOC_CLEAN(&t);
}

int main(void) {
    RUN(mqtt_4_7_1_1_multi_level_wildcard_last);
    RUN(mqtt_4_7_1_2_single_level_wildcard_whole_level);
    RUN(mqtt_4_7_1_3_no_wildcards_in_topic_names);
    RUN(mqtt_4_7_3_1_at_least_one_character);
    RUN(mqtt_4_7_3_2_no_null_character);
    RUN(mqtt_4_7_3_3_length_and_level_limits);
    RUN(mqtt_4_8_2_1_and_2_shared_subscription_syntax);
    RUN(spec_4_7_examples_table);
    RUN(mqtt_4_7_2_1_dollar_topics_not_matched_by_leading_wildcard);
    RUN(mqtt_3_8_4_3_resubscribe_replaces_options);
    RUN(subscribe_rejects_bad_options_and_filters);
    RUN(mqtt_3_8_3_3_and_4_no_local);
    RUN(mqtt_3_3_4_2_and_3_overlapping_subscriptions_aggregate);
    RUN(unsubscribe_and_unsubscribe_all);
    RUN(limits_shapes_and_subscriptions);
    RUN(mqtt_4_8_2_shared_round_robin);
    RUN(mqtt_4_8_2_shared_random);
    RUN(mqtt_4_8_2_shared_hash_client_and_topic);
    RUN(mqtt_4_8_2_shared_sticky_moves_when_member_leaves);
    RUN(mqtt_4_8_2_shared_join_leave_while_flowing);
    RUN(match_batch_equals_single_matches);
    RUN(match_callback_can_stop);
    RUN(match_cache_sees_every_change);
    RUN(match_cache_shared_picks_rotate);
    RUN(match_cache_limits_and_sizes);
    RUN(match_cache_and_batch);
    RUN(differential_random_against_linear_scan);
    RUN(failing_allocator_index);
    RUN(failing_allocator_store);
    RUN(mqtt_3_3_1_6_and_7_retained_set_replace_delete);
    RUN(retained_limits_give_elimit);
    RUN(retained_match_wildcards_and_dollar);
    RUN(retained_differential_random);
    return testlib_finish();
}
