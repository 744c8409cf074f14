/* Subscription index benchmark: build time, bytes per subscription, matches per second and
 * the match-cost curve from 1 k to 1 M subscriptions.
 *
 * Shape: one subscriber per device, 10 subscriptions each: 9 exact
 * "tenant/<t>/device/<d>/<metric>/status" and 1 wildcard (80 % "tenant/<t>/device/<d>/+/status",
 * 20 % "tenant/<t>/device/<d>/#"): 90 % exact, 10 % wildcard, 100 tenants.
 * Topics matched: "tenant/<t>/device/<d>/<metric>/status" for random devices (2 matches each).
 *
 * Rates are millions of topics matched per second of thread CPU time: "random" picks topics of
 * random devices (cache-cold at 1 M), "hot" cycles through 16 topics; "batch" columns use
 * mqws_topic_match_batch() with 16 topics per call. "allocs" counts allocator calls made while
 * matching (must be 0).
 *
 * Usage: bench_topic [--quick] [--hugepages]
 *        bench_topic --case random|rnd_batch|hot|hot_batch [--subs N] [--matches M] [--reps R]
 *        either form: --match-cache N sets config.match_cache (0 = off; default: the library's)
 * The second form builds one index (default 1,000,000 subscriptions), runs one column's
 * measurement (default 5,000,000 matches, median of 3) and prints its rate: a short run for
 * profilers, e.g. valgrind --tool=callgrind --toggle-collect=match_rate (or batch_rate).
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* --hugepages: the host hands the index's large blocks (64 KiB slab chunks, the hash table)
 * from one region advised for transparent huge pages, as a gateway host may choose to do: fewer
 * TLB misses on random lookups. A bump allocator: blocks are not reused (fine for a benchmark
 * that builds, measures and frees). Small blocks still come from malloc. */
static uint8_t *huge_base;
static size_t huge_used, huge_cap;
static int use_huge;
static long match_cache = -1; /* --match-cache N: config.match_cache, -1 = the default */
static int in_huge(const void *p) {
    return huge_base && (const uint8_t *)p >= huge_base &&
           (const uint8_t *)p < huge_base + huge_cap;
}
static void *h_alloc(void *ud, size_t n) {
    if (n < 16384 || huge_used + n > huge_cap)
        return c_alloc(ud, n);
    counter *c = ud;
    c->allocs++;
    c->live += n;
    if (c->live > c->peak)
        c->peak = c->live;
    void *p = huge_base + huge_used;
    huge_used += (n + 63) & ~(size_t)63;
    return p;
}
static void *h_realloc(void *ud, void *p, size_t o, size_t n) {
    if (!in_huge(p) && n < 16384)
        return c_realloc(ud, p, o, n);
    void *q = h_alloc(ud, n);
    if (q && p) {
        memcpy(q, p, o < n ? o : n);
        counter *c = ud;
        c->live -= o;
        if (!in_huge(p))
            free(p);
    }
    return q;
}
static void h_free(void *ud, void *p, size_t n) {
    if (!in_huge(p)) {
        c_free(ud, p, n);
        return;
    }
    counter *c = ud;
    c->live -= n;
}
static void huge_reset(void) {
    if (!huge_base) {
        huge_cap = (size_t)1 << 30;
        void *m = mmap(NULL, huge_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            perror("mmap");
            exit(1);
        }
#ifdef MADV_HUGEPAGE
        madvise(m, huge_cap, MADV_HUGEPAGE);
#endif
        huge_base = m;
    }
    huge_used = 0;
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
    b->a.alloc = use_huge ? h_alloc : c_alloc;
    b->a.realloc = use_huge ? h_realloc : c_realloc;
    b->a.free = use_huge ? h_free : c_free;
    if (use_huge)
        huge_reset();
    b->a.ud = &b->c;
    mqws_topic_index_config cfg = MQWS_TOPIC_INDEX_CONFIG_INIT;
    cfg.allocator = &b->a;
    if (match_cache >= 0)
        cfg.match_cache = (uint32_t)match_cache;
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

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Not inlined, so that a profiler can restrict collection to the measurement loop. */
NOINLINE static double match_rate(built *b, const topics *t, size_t total, int reps,
                                  long *matches_out, long *allocs_out) {
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

/* The same through mqws_topic_match_batch(), MQWS_TOPIC_BATCH_MAX topics per call. */
NOINLINE static double batch_rate(built *b, const topics *t, size_t total, int reps,
                                  long *matches_out, long *allocs_out) {
    double r[9];
    long allocs_before = b->c.allocs;
    long matches = 0;
    mqws_view v[MQWS_TOPIC_BATCH_MAX];
    for (int rep = 0; rep < reps; rep++) {
        matches = 0;
        double t0 = now_s();
        for (size_t i = 0; i < total; i += MQWS_TOPIC_BATCH_MAX) {
            for (size_t k = 0; k < MQWS_TOPIC_BATCH_MAX; k++) {
                const char *p = t->buf + t->off[(i + k) % t->n];
                v[k].ptr = (const uint8_t *)p + 1;
                v[k].len = (size_t)(uint8_t)p[0];
            }
            mqws_topic_match_batch(b->x, v, MQWS_TOPIC_BATCH_MAX, NULL, count_cb, &matches);
        }
        r[rep] = (double)total / (now_s() - t0);
    }
    qsort(r, (size_t)reps, sizeof r[0], cmp_d);
    *matches_out = matches;
    *allocs_out = b->c.allocs - allocs_before;
    return r[reps / 2];
}

/* --case: one column's measurement on one index size. */
static int one_case(const char *name, size_t subs, size_t total, int reps) {
    int which = !strcmp(name, "random")      ? 0
                : !strcmp(name, "rnd_batch") ? 1
                : !strcmp(name, "hot")       ? 2
                : !strcmp(name, "hot_batch") ? 3
                                             : -1;
    if (which < 0 || subs < 10 || total == 0 || reps < 1 || reps > 9) {
        fprintf(stderr, "bad --case, --subs, --matches or --reps\n");
        return 2;
    }
    built b;
    build(&b, subs);
    topics t;
    if (which < 2)
        make_topics(&t, total < 1000000 ? total : 1000000, b.subs / 10);
    else
        make_topics(&t, 16, b.subs / 10);
    long m = 0, a = 0;
    double r = (which & 1) ? batch_rate(&b, &t, total, reps, &m, &a)
                           : match_rate(&b, &t, total, reps, &m, &a);
    printf("# bench_topic --case %s: %zu subscriptions, %zu matches per run, median of %d\n", name,
           b.subs, total, reps);
    printf("%s %.2f M/s, %.2f reports per topic, %ld allocations while matching\n", name, r / 1e6,
           (double)m / (double)total, a);
    mqws_topic_index_free(b.x);
    free(t.buf);
    free(t.off);
    return a != 0;
}

int main(int argc, char **argv) {
    int quick = 0, reps1 = 3;
    const char *one = NULL;
    size_t subs1 = 1000000, total1 = 5000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--hugepages") == 0)
            use_huge = 1;
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            one = argv[++i];
        else if (strcmp(argv[i], "--subs") == 0 && i + 1 < argc)
            subs1 = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--matches") == 0 && i + 1 < argc)
            total1 = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps1 = atoi(argv[++i]);
        else if (strcmp(argv[i], "--match-cache") == 0 && i + 1 < argc)
            match_cache = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_topic [--quick] [--hugepages]\n"
                            "       bench_topic --case random|rnd_batch|hot|hot_batch [--subs N] "
                            "[--matches M] [--reps R]\n"
                            "       (either form) --match-cache N: config.match_cache, 0 = off\n");
            return 2;
        }
    }
    if (one)
        return one_case(one, subs1, total1, reps1);
    size_t max_subs = quick ? 100000 : 1000000;
    size_t total = quick ? 1000000 : 5000000;
    int reps = quick ? 1 : 3;

    printf("# bench_topic%s%s: %zu subscriptions max, %zu matches per run, median of %d\n",
           quick ? " --quick" : "", use_huge ? " --hugepages" : "", max_subs, total, reps);
    printf("%-8s %8s %7s %10s %10s %10s %10s %10s %6s\n", "subs", "build_s", "B/sub", "text_B/sub",
           "random", "rnd_batch", "hot", "hot_batch", "allocs");
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
        long m1, m2, m3, m4, a1, a2, a3, a4;
        double rr = match_rate(&b, &rt, total, reps, &m1, &a1);
        double rb = batch_rate(&b, &rt, total, reps, &m3, &a3);
        double hr = match_rate(&b, &ht, total, reps, &m2, &a2);
        double hb = batch_rate(&b, &ht, total, reps, &m4, &a4);
        printf("%-8zu %8.3f %7.1f %10.1f %10.2f %10.2f %10.2f %10.2f %6ld\n", b.subs, b.build_s,
               (double)st.bytes / (double)b.subs, (double)b.text_bytes / (double)b.subs, rr / 1e6,
               rb / 1e6, hr / 1e6, hb / 1e6, a1 + a2 + a3 + a4);
        if (m1 < (long)total || m3 != m1) {
            fprintf(stderr, "too few matches: %ld\n", m1);
            return 1;
        }
        if (subs == max_subs)
            printf("# %zu subscriptions: %llu filters, %llu shapes, %llu subscribers, peak %zu "
                   "bytes, %.2f matches per random topic\n",
                   b.subs, (unsigned long long)st.filters, (unsigned long long)st.shapes,
                   (unsigned long long)st.subscribers, b.c.peak, (double)m1 / (double)total);
        mqws_topic_cache_stats cs = {sizeof cs, 0, 0, 0, 0, 0};
        mqws_topic_index_cache_stats_get(b.x, &cs);
        printf("# %zu: match cache %llu lines, %llu hits, %llu misses\n", b.subs,
               (unsigned long long)cs.slots, (unsigned long long)cs.hits,
               (unsigned long long)cs.misses);
        mqws_topic_index_free(b.x);
        free(rt.buf);
        free(rt.off);
        free(ht.buf);
        free(ht.off);
    }
    return 0;
}
