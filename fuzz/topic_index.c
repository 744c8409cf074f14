/* Differential fuzz target for the topic module: random subscribe / unsubscribe /
 * unsubscribe-all / match / aggregate / retain operations decoded from the input, each checked
 * against a naive linear-scan model kept here; any disagreement abort()s. Allocations can be
 * made to fail on demand: a failed call must leave the structure as the model says.
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSUBS   4
#define MAXREF  256
#define MAXTEXT 96

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t next(input *in) {
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* ---- allocator that fails when told ---- */
typedef struct fail_alloc {
    int fail_next;
    size_t live;
} fail_alloc;
static void *f_alloc(void *ud, size_t n) {
    fail_alloc *f = ud;
    if (f->fail_next) {
        f->fail_next = 0;
        return NULL;
    }
    void *p = malloc(n ? n : 1);
    if (p)
        f->live += n;
    return p;
}
static void *f_realloc(void *ud, void *p, size_t o, size_t n) {
    fail_alloc *f = ud;
    if (n > o && f->fail_next) {
        f->fail_next = 0;
        return NULL;
    }
    void *q = realloc(p, n ? n : 1);
    if (q)
        f->live = f->live - o + n;
    return q;
}
static void f_free(void *ud, void *p, size_t n) {
    fail_alloc *f = ud;
    f->live -= n;
    free(p);
}

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "topic_index fuzz: mismatch: %s\n", what);
        abort();
    }
}

/* ---- decoding names and filters from a small alphabet (so that matches happen) ---- */
static const char *const words[] = {"a", "b", "", "$s", "long-level", "c"};

static void decode_name(input *in, char *out, int wild) {
    uint8_t b = next(in);
    int levels = 1 + (b & 3);
    out[0] = 0;
    for (int i = 0; i < levels; i++) {
        uint8_t w = next(in);
        if (i)
            strcat(out, "/");
        if (wild && (w & 0x80)) {
            if ((w & 0x40) || i == levels - 1) {
                strcat(out, (w & 0x40) ? "#" : "+");
                if (w & 0x40)
                    break;
                continue;
            }
            strcat(out, "+");
            continue;
        }
        const char *word = words[w % 6];
        if (i > 0 && word[0] == '$')
            word = "d";
        strcat(out, word);
    }
    if (!out[0])
        strcat(out, "e");
}

typedef struct ref {
    int who;
    char filter[MAXTEXT];
    char group[8];
    uint8_t qos, nl;
    uint32_t id;
    int live;
} ref;

typedef struct state {
    ref refs[MAXREF];
    int nref;
    char retained[64][MAXTEXT];
    int nret;
} state;

typedef struct got {
    const char *topic;
    int plain[NSUBS];
    int shared_by_group[MAXREF];
    int shared_total;
    state *s;
    mqws_topic_subscriber **subs;
} got;

static int who_of(mqws_topic_subscriber **subs, const mqws_topic_subscriber *p) {
    for (int i = 0; i < NSUBS; i++)
        if (subs[i] == p)
            return i;
    check(0, "unknown subscriber reported");
    return -1;
}

static int match_cb(void *ctx, const mqws_topic_match_info *m) {
    got *g = ctx;
    int w = who_of(g->subs, m->subscriber);
    check((int)(uintptr_t)m->user == w + 1, "user pointer");
    if (!m->shared) { /* a live plain subscription of this subscriber, with its options */
        int found = -1;
        for (int i = 0; i < g->s->nref; i++) {
            ref *r = &g->s->refs[i];
            if (r->live && !r->group[0] && r->who == w && strlen(r->filter) == m->filter.len &&
                !memcmp(r->filter, m->filter.ptr, m->filter.len))
                found = i;
        }
        check(found >= 0, "plain report is not a live subscription");
        ref *r = &g->s->refs[found];
        check(mqws_topic_matches(m->filter.ptr, m->filter.len, (const uint8_t *)g->topic,
                                 strlen(g->topic)),
              "reported filter does not match");
        check(m->max_qos == r->qos && m->subscription_id == r->id, "reported options");
        g->plain[w]++;
        return 0;
    }
    /* find the group this member belongs to */
    int found = -1;
    for (int i = 0; i < g->s->nref; i++) {
        ref *r = &g->s->refs[i];
        if (r->live && r->group[0] && r->who == w && strlen(r->group) == m->group.len &&
            !memcmp(r->group, m->group.ptr, m->group.len) && strlen(r->filter) == m->filter.len &&
            !memcmp(r->filter, m->filter.ptr, m->filter.len))
            found = i;
    }
    check(found >= 0, "shared pick is not a member");
    g->shared_total++;
    return 0;
}

static int ret_cb(void *ctx, const mqws_topic_msg *m) {
    (void)m;
    (*(int *)ctx)++;
    return 0;
}

static int find_ref(state *s, int who, const char *filter, const char *group) {
    for (int i = 0; i < s->nref; i++)
        if (s->refs[i].live && s->refs[i].who == who && !strcmp(s->refs[i].filter, filter) &&
            !strcmp(s->refs[i].group, group))
            return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static state s;
    memset(&s, 0, sizeof s);
    input in = {data, size};
    fail_alloc fa = {0, 0};
    mqws_allocator a = {f_alloc, f_realloc, f_free, &fa};
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &a;
    cfg.max_levels = 8;
    cfg.share_strategy = next(&in) % 5;
    cfg.seed = next(&in);
    /* match cache: default, off, one set (4 lines), two sets */
    cfg.match_cache = (const uint32_t[]){4096u, 0u, 2u, 8u}[cfg.seed & 3u];
    mqws_topic_index *x = mqws_topic_index_new(&cfg);
    mqws_topic_store_config scfg = MQWS_TOPIC_STORE_CONFIG_INIT;
    scfg.allocator = &a;
    mqws_topic_store *st = mqws_topic_store_new(&scfg);
    if (!x || !st)
        abort();
    mqws_topic_subscriber *subs[NSUBS];
    for (int i = 0; i < NSUBS; i++)
        if (!(subs[i] = mqws_topic_subscriber_new(x, (void *)(uintptr_t)(i + 1))))
            abort();

    char buf[MAXTEXT + 16], full[MAXTEXT + 32];
    while (in.n) {
        uint8_t op = next(&in);
        int who = (op >> 4) % NSUBS;
        fa.fail_next = (op & 8) != 0 && (op & 7) < 2;
        switch (op & 7) {
            case 0:
            case 1: { /* subscribe, plain or shared */
                uint8_t b = next(&in);
                decode_name(&in, buf, 1);
                char group[8] = "";
                if (b & 1)
                    snprintf(group, sizeof group, "g%d", (b >> 1) & 1);
                if (group[0])
                    snprintf(full, sizeof full, "$share/%s/%s", group, buf);
                else
                    snprintf(full, sizeof full, "%s", buf);
                mqws_topic_sub_options o = {(uint8_t)((b >> 2) % 3),
                                            (uint8_t)(group[0] ? 0 : (b >> 4) & 1), 0, 0,
                                            (uint32_t)(b >> 5)};
                int rc =
                    mqws_topic_subscribe(x, subs[who], (const uint8_t *)full, strlen(full), &o);
                int at = find_ref(&s, who, buf, group);
                if (rc == MQWS_ENOMEM) {
                    check(at < 0, "ENOMEM on replace");
                    break;
                }
                check(rc == (at >= 0 ? 0 : 1), "subscribe result");
                if (at < 0) {
                    if (s.nref == MAXREF) { /* model full: take it back out */
                        mqws_topic_unsubscribe(x, subs[who], (const uint8_t *)full, strlen(full));
                        break;
                    }
                    at = s.nref++;
                    s.refs[at].who = who;
                    strcpy(s.refs[at].filter, buf);
                    strcpy(s.refs[at].group, group);
                    s.refs[at].live = 1;
                }
                s.refs[at].qos = o.max_qos;
                s.refs[at].nl = o.no_local;
                s.refs[at].id = o.subscription_id;
                break;
            }
            case 2: { /* unsubscribe */
                uint8_t b = next(&in);
                decode_name(&in, buf, 1);
                char group[8] = "";
                if (b & 1)
                    snprintf(group, sizeof group, "g%d", (b >> 1) & 1);
                if (group[0])
                    snprintf(full, sizeof full, "$share/%s/%s", group, buf);
                else
                    snprintf(full, sizeof full, "%s", buf);
                int rc = mqws_topic_unsubscribe(x, subs[who], (const uint8_t *)full, strlen(full));
                int at = find_ref(&s, who, buf, group);
                check(rc == (at >= 0 ? MQWS_OK : MQWS_ENOTFOUND), "unsubscribe result");
                if (at >= 0)
                    s.refs[at].live = 0;
                break;
            }
            case 3: { /* unsubscribe all */
                uint32_t n = mqws_topic_unsubscribe_all(x, subs[who]);
                uint32_t want = 0;
                for (int i = 0; i < s.nref; i++)
                    if (s.refs[i].live && s.refs[i].who == who) {
                        s.refs[i].live = 0;
                        want++;
                    }
                check(n == want, "unsubscribe_all count");
                break;
            }
            case 4:
            case 5: { /* match, compared with a linear scan */
                decode_name(&in, buf, 0);
                int pub_who = (op >> 6) ? (op >> 6) - 1 : -1;
                mqws_topic_publish pub = {pub_who >= 0 ? subs[pub_who] : NULL, {NULL, 0}};
                got g;
                int rc = 0, want_plain[NSUBS] = {0}, want_shared = 0, total = 0;
                int max_qos[NSUBS] = {0}, nids[NSUBS] = {0};
                for (int i = 0; i < s.nref; i++) {
                    ref *r = &s.refs[i];
                    if (!r->live ||
                        !mqws_topic_matches((const uint8_t *)r->filter, strlen(r->filter),
                                            (const uint8_t *)buf, strlen(buf)))
                        continue;
                    if (r->group[0]) {
                        int first = 1; /* count each (group, filter) once */
                        for (int j = 0; j < i; j++)
                            if (s.refs[j].live && !strcmp(s.refs[j].group, r->group) &&
                                !strcmp(s.refs[j].filter, r->filter))
                                first = 0;
                        want_shared += first;
                        continue;
                    }
                    if (r->nl && r->who == pub_who)
                        continue;
                    want_plain[r->who]++;
                    if (r->qos > max_qos[r->who])
                        max_qos[r->who] = r->qos;
                    nids[r->who] += r->id != 0;
                }
                for (int i = 0; i < NSUBS; i++)
                    total += want_plain[i];
                /* three times: through the index, then (usually) from the match cache */
                for (int rep = 0; rep < 3; rep++) {
                    memset(&g, 0, sizeof g);
                    g.topic = buf;
                    g.s = &s;
                    g.subs = subs;
                    rc = mqws_topic_match(x, (const uint8_t *)buf, strlen(buf), &pub, match_cb, &g);
                    for (int i = 0; i < NSUBS; i++)
                        check(g.plain[i] == want_plain[i], "plain matches per subscriber");
                    check(g.shared_total == want_shared, "one pick per shared group");
                    check(rc == total + want_shared, "match return value");
                }
                if ((op & 7) == 5) { /* the batch form: two copies count twice */
                    mqws_view two[2] = {{(const uint8_t *)buf, strlen(buf)},
                                        {(const uint8_t *)buf, strlen(buf)}};
                    memset(&g, 0, sizeof g);
                    g.topic = buf;
                    g.s = &s;
                    g.subs = subs;
                    rc = mqws_topic_match_batch(x, two, 2, &pub, match_cb, &g);
                    check(rc == 2 * (total + want_shared), "batch match return value");
                    for (int i = 0; i < NSUBS; i++)
                        check(g.plain[i] == 2 * want_plain[i], "batch plain matches");
                }
                if (op & 0x20) { /* and the aggregated form */
                    mqws_topic_delivery d[NSUBS + MAXREF];
                    mqws_topic_sub_id ids[MAXREF];
                    size_t nd = 0, ni = 0;
                    size_t cap = (op & 0x10) ? 1 : NSUBS + MAXREF;
                    rc = mqws_topic_match_aggregate(x, (const uint8_t *)buf, strlen(buf), &pub, d,
                                                    cap, &nd, ids, MAXREF, &ni);
                    size_t want_nd = (size_t)want_shared;
                    for (int i = 0; i < NSUBS; i++)
                        want_nd += want_plain[i] > 0;
                    check(nd == want_nd, "aggregate delivery count");
                    if (rc == MQWS_OK) {
                        for (size_t k = 0; k < nd; k++) {
                            if (d[k].shared)
                                continue;
                            int w = who_of(subs, d[k].subscriber);
                            check(d[k].max_qos == max_qos[w], "aggregate max qos");
                            check((int)d[k].n_ids == nids[w], "aggregate ids");
                        }
                    } else {
                        check(rc == MQWS_ENOSPC && nd > cap, "aggregate ENOSPC");
                    }
                }
                break;
            }
            case 6: { /* retain set or delete */
                decode_name(&in, buf, 0);
                uint8_t plen = next(&in) & 3;
                fa.fail_next = (op & 0x80) != 0;
                mqws_topic_retain r = {{(const uint8_t *)"xyz", plen}, {NULL, 0}, 0, {0}, 0};
                int rc = mqws_topic_store_set(st, (const uint8_t *)buf, strlen(buf), &r);
                fa.fail_next = 0;
                int at = -1;
                for (int i = 0; i < s.nret; i++)
                    if (!strcmp(s.retained[i], buf))
                        at = i;
                if (rc == MQWS_ENOMEM) {
                    check(plen != 0, "ENOMEM on delete");
                    break;
                }
                check(rc == (plen ? 1 : 0), "retain result");
                if (plen && at < 0 && s.nret < 64)
                    strcpy(s.retained[s.nret++], buf);
                else if (plen && at < 0) /* model full: delete it again */
                    mqws_topic_store_set(st, (const uint8_t *)buf, strlen(buf),
                                         &(mqws_topic_retain){{NULL, 0}, {NULL, 0}, 0, {0}, 0});
                else if (!plen && at >= 0 && at != --s.nret)
                    strcpy(s.retained[at], s.retained[s.nret]);
                break;
            }
            default: { /* retained messages matching a filter */
                decode_name(&in, buf, 1);
                int c = 0;
                int rc = mqws_topic_store_match(st, (const uint8_t *)buf, strlen(buf), ret_cb, &c);
                int want = 0;
                for (int i = 0; i < s.nret; i++)
                    want +=
                        mqws_topic_matches((const uint8_t *)buf, strlen(buf),
                                           (const uint8_t *)s.retained[i], strlen(s.retained[i]));
                check(rc == want && c == want, "retained match");
                break;
            }
        }
        fa.fail_next = 0;
    }
    mqws_topic_index_stats is = {sizeof is, 0, 0, 0, 0, 0, 0};
    mqws_topic_index_stats_get(x, &is);
    mqws_topic_store_stats ss = {sizeof ss, 0, 0, 0};
    mqws_topic_store_stats_get(st, &ss);
    check(is.bytes + ss.memory == fa.live, "memory accounting");
    uint64_t live = 0;
    for (int i = 0; i < s.nref; i++)
        live += (uint64_t)s.refs[i].live;
    check(is.subscriptions == live, "subscription count");
    check(ss.messages == (uint64_t)s.nret, "retained count");
    mqws_topic_store_free(st);
    mqws_topic_index_free(x);
    check(fa.live == 0, "leak");
    return 0;
}
