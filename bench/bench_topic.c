/* Subscription index benchmark: build time, bytes per subscription, matches per second and
 * the match-cost curve from 1 k to 1 M subscriptions.
 *
 * Shape: one subscriber per device, 10 subscriptions each: 9 exact
 * "tenant/<t>/device/<d>/<metric>/status" and 1 wildcard (80 % "tenant/<t>/device/<d>/+/status",
 * 20 % "tenant/<t>/device/<d>/#"): 90 % exact, 10 % wildcard, 100 tenants.
 * Topics matched: "tenant/<t>/device/<d>/<metric>/status" for random devices (2 matches each).
 *
 * Usage: bench_topic [--quick]
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqws/topic.h"

static const char *const metrics[9] = {"temp",  "humidity", "battery", "rssi",    "door",
                                       "power", "voltage",  "current", "pressure"};

/* Counting allocator: bytes and calls, so memory is measured, not estimated, and the match
 * loop can be shown to allocate nothing. */
typedef struct counter {
    size_t live, peak;
    long allocs;
} counter;
static void *c_alloc(void *ud, size_t n) {
    counter *c = ud;
    c->allocs++;
    c->live += n;
    if (c->live > c->peak)
        c->peak = c->live;
    return malloc(n);
}
static void *c_realloc(void *ud, void *p, size_t o, size_t n) {
    counter *c = ud;
    c->allocs++;
    c->live = c->live - o + n;
    if (c->live > c->peak)
        c->peak = c->live;
    return realloc(p, n);
}
static void c_free(void *ud, void *p, size_t n) {
    counter *c = ud;
    c->live -= n;
    free(p);
}

/* CPU time of this thread, not wall time: the benchmark machine is shared, and time spent
 * descheduled is not time spent matching. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x1234567887654321ull;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 2685821657736338717ull;
}

static int count_cb(void *ctx, const mqws_topic_match_info *m) {
    (void)m;
    (*(long *)ctx)++;
    return 0;
}

/* Topics packed as [len byte][text]. */
typedef struct topics {
    char *buf;
    size_t *off;
    size_t n;
} topics;

static void make_topics(topics *t, size_t n, size_t devices) {
    t->buf = malloc(n * 64);
    t->off = malloc(n * sizeof(size_t));
    t->n = n;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = (size_t)(rnd() % devices);
        t->off[i] = pos;
        int len = snprintf(t->buf + pos + 1, 63, "tenant/%zu/device/%zu/%s/status", d % 100,
                           d / 100, metrics[rnd() % 9]);
        t->buf[pos] = (char)len;
        pos += (size_t)len + 1;
    }
}

typedef struct built {
    mqws_topic_index *x;
    counter c;
    mqws_allocator a;
    double build_s;
    size_t subs;
    size_t text_bytes;
} built;

static void build(built *b, size_t subs) {
    size_t devices = subs / 10;
    memset(&b->c, 0, sizeof b->c);
    b->a.alloc = c_alloc;
    b->a.realloc = c_realloc;
    b->a.free = c_free;
    b->a.ud = &b->c;
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &b->a;
    /* Filters are generated first so that only subscribe() is timed. */
    char *buf = malloc(subs * 48);
    size_t *off = malloc((subs + 1) * sizeof(size_t));
    size_t pos = 0;
    for (size_t d = 0; d < devices; d++) {
        for (int k = 0; k < 10; k++) {
            off[d * 10 + (size_t)k] = pos;
            int len;
            if (k < 9)
                len = snprintf(buf + pos, 48, "tenant/%zu/device/%zu/%s/status", d % 100, d / 100,
                               metrics[k]);
            else if (d % 5)
                len = snprintf(buf + pos, 48, "tenant/%zu/device/%zu/+/status", d % 100, d / 100);
            else
                len = snprintf(buf + pos, 48, "tenant/%zu/device/%zu/#", d % 100, d / 100);
            pos += (size_t)len;
        }
    }
    off[devices * 10] = pos;
    b->text_bytes = pos;
    double t0 = now_s();
    b->x = mqws_topic_index_new(&cfg);
    mqws_topic_sub_options o = {1, 0, 0, 0, 0};
    for (size_t d = 0; d < devices; d++) {
        mqws_topic_subscriber *s = mqws_topic_subscriber_new(b->x, (void *)(uintptr_t)(d + 1));
        for (size_t k = 0; k < 10; k++) {
            size_t i = d * 10 + k;
            o.subscription_id = (uint32_t)(k + 1);
            if (mqws_topic_subscribe(b->x, s, (const uint8_t *)buf + off[i], off[i + 1] - off[i],
                                     &o) != 1) {
                fprintf(stderr, "subscribe failed\n");
                exit(1);
            }
        }
    }
    b->build_s = now_s() - t0;
    b->subs = devices * 10;
    free(buf);
    free(off);
}

/* Matches per second over `rounds` passes of the topic list; median of `reps` runs. */
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double match_rate(built *b, const topics *t, size_t total, int reps, long *matches_out,
                         long *allocs_out) {
    double r[9];
    long allocs_before = b->c.allocs;
    long matches = 0;
    for (int rep = 0; rep < reps; rep++) {
        matches = 0;
        double t0 = now_s();
        for (size_t i = 0; i < total; i++) {
            const char *p = t->buf + t->off[i % t->n];
            mqws_topic_match(b->x, (const uint8_t *)p + 1, (size_t)(uint8_t)p[0], NULL, count_cb,
                             &matches);
        }
        r[rep] = (double)total / (now_s() - t0);
    }
    qsort(r, (size_t)reps, sizeof r[0], cmp_d);
    *matches_out = matches;
    *allocs_out = b->c.allocs - allocs_before;
    return r[reps / 2];
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t max_subs = quick ? 100000 : 1000000;
    size_t total = quick ? 1000000 : 5000000;
    int reps = quick ? 1 : 3;

    printf("# bench_topic%s: %zu subscriptions max, %zu matches per run, median of %d\n",
           quick ? " --quick" : "", max_subs, total, reps);
    printf("%-10s %10s %10s %12s %14s %14s %8s\n", "subs", "build_s", "B/sub", "text_B/sub",
           "random_M/s", "hot_M/s", "allocs");
    for (size_t subs = 1000; subs <= max_subs; subs *= 10) {
        built b;
        build(&b, subs);
        mqws_topic_index_stats st = {sizeof st, 0, 0, 0, 0, 0, 0};
        mqws_topic_index_stats_get(b.x, &st);
        if (st.bytes != b.c.live) {
            fprintf(stderr, "accounting mismatch: %llu vs %zu\n", (unsigned long long)st.bytes,
                    b.c.live);
            return 1;
        }
        topics rt, ht;
        make_topics(&rt, total < 1000000 ? total : 1000000, subs / 10);
        make_topics(&ht, 16, subs / 10);
        long m1, m2, a1, a2;
        double rr = match_rate(&b, &rt, total, reps, &m1, &a1);
        double hr = match_rate(&b, &ht, total, reps, &m2, &a2);
        printf("%-10zu %10.3f %10.1f %12.1f %14.2f %14.2f %8ld\n", b.subs, b.build_s,
               (double)st.bytes / (double)b.subs, (double)b.text_bytes / (double)b.subs, rr / 1e6,
               hr / 1e6, a1 + a2);
        if (m1 < (long)total) {
            fprintf(stderr, "too few matches: %ld\n", m1);
            return 1;
        }
        if (subs == max_subs)
            printf("# %zu subscriptions: %llu filters, %llu shapes, %llu subscribers, peak %zu "
                   "bytes, %.2f matches per random topic\n",
                   b.subs, (unsigned long long)st.filters, (unsigned long long)st.shapes,
                   (unsigned long long)st.subscribers, b.c.peak, (double)m1 / (double)total);
        mqws_topic_index_free(b.x);
        free(rt.buf);
        free(rt.off);
        free(ht.buf);
        free(ht.off);
    }
    return 0;
}
