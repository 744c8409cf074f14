/* Session benchmarks (issue 5 targets), one core, no sockets:
 *   qos0-in        QoS 0 PUBLISH bytes in -> on_publish event out, server session   >= 50 M/s
 *   qos1-roundtrip QoS 1 PUBLISH in -> PUBACK bytes out (drained as a host would)   >= 10 M/s
 *   idle-heap      heap bytes of an idle connected 3.1.1 session (16-byte client id),
 *                  counted by the allocator                                         <= 512 B
 * plus the flow module's token bucket take, for scale.
 *
 * usage: bench_session [cpu-seconds-per-run (default 0.5)] [runs (default 3)]
 * Prints one line per measurement: name, median, min, max over the runs.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqws/conn.h"
#include "mqws/flow.h"
#include "mqws/session.h"

/* Thread CPU time, not wall time: on a shared machine the wall clock also counts the time other
 * processes held the core; CPU time does not (cache and SMT interference remain: noise). */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- counting allocator (exact sizes are passed back by mqws) ---- */
typedef struct counting {
    mqws_allocator a;
    size_t live, peak;
    long blocks, allocs;
} counting;

static void *c_alloc(void *ud, size_t n) {
    counting *c = ud;
    void *p = malloc(n ? n : 1);
    if (p) {
        c->live += n;
        c->blocks++;
        c->allocs++;
        if (c->live > c->peak)
            c->peak = c->live;
    }
    return p;
}
static void *c_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
    counting *c = ud;
    void *q = realloc(p, new_n ? new_n : 1);
    if (q) {
        c->live = c->live - old_n + new_n;
        if (!p) {
            c->blocks++;
            c->allocs++;
        }
        if (c->live > c->peak)
            c->peak = c->live;
    }
    return q;
}
static void c_free(void *ud, void *p, size_t n) {
    counting *c = ud;
    if (!p)
        return;
    c->live -= n;
    c->blocks--;
    free(p);
}
static void counting_init(counting *c) {
    memset(c, 0, sizeof *c);
    c->a.alloc = c_alloc;
    c->a.realloc = c_realloc;
    c->a.free = c_free;
    c->a.ud = c;
}

/* ---- wire bytes, built by hand (3.1.1) ---- */
static const char CLIENT_ID[] = "bench-client-001"; /* 16 bytes */

static size_t connect_311(uint8_t *b) {
    size_t n = 0;
    b[n++] = 0x10;
    b[n++] = 10 + 2 + 16;
    memcpy(b + n, "\x00\x04MQTT\x04\x02\x00\x3c", 10);
    n += 10;
    b[n++] = 0;
    b[n++] = 16;
    memcpy(b + n, CLIENT_ID, 16);
    return n + 16;
}

/* PUBLISH "bench/topic" with a 16-byte payload; QoS 1 carries packet id `id`. */
static size_t publish_311(uint8_t *b, int qos, uint16_t id) {
    static const char topic[] = "bench/topic";
    size_t tl = sizeof topic - 1, n = 0;
    b[n++] = (uint8_t)(0x30 | (qos << 1));
    b[n++] = (uint8_t)(2 + tl + (qos ? 2 : 0) + 16);
    b[n++] = 0;
    b[n++] = (uint8_t)tl;
    memcpy(b + n, topic, tl);
    n += tl;
    if (qos) {
        b[n++] = (uint8_t)(id >> 8);
        b[n++] = (uint8_t)id;
    }
    memcpy(b + n, "0123456789abcdef", 16);
    return n + 16;
}

static uint64_t events;
static int on_publish(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    (void)user;
    events += p->payload.len != 0;
    return 0;
}

static size_t drain(mqws_session *s) {
    mqws_iovec iov[64];
    size_t total = 0, n;
    while ((n = mqws_session_pending(s, iov, 64)) > 0) {
        size_t bytes = 0;
        for (size_t k = 0; k < n; k++)
            bytes += iov[k].len;
        mqws_session_sent(s, bytes);
        total += bytes;
    }
    return total;
}

static mqws_session *connected_server(const mqws_allocator *a, const mqws_callbacks *cb) {
    mqws_session_config cfg = MQWS_SESSION_CONFIG_INIT;
    cfg.allocator = a;
    cfg.receive_maximum = 65535;
    mqws_session *s = mqws_session_new(&cfg, cb, NULL, 0);
    if (!s)
        return NULL;
    uint8_t buf[64];
    size_t n = connect_311(buf);
    if (mqws_session_recv(s, buf, n) != (int64_t)n ||
        mqws_session_state(s) != MQWS_SESSION_CONNECTED) {
        fprintf(stderr, "bench: CONNECT not accepted (state %d)\n", mqws_session_state(s));
        mqws_session_free(s);
        return NULL;
    }
    drain(s);
    return s;
}

#define BATCH 1024

/* Messages per second through recv -> on_publish (-> PUBACK drained, for QoS 1). */
static double run_publish(const mqws_callbacks *cb, int qos, double secs) {
    static uint8_t buf[BATCH * 40];
    size_t len = 0;
    for (int i = 0; i < BATCH; i++)
        len += publish_311(buf + len, qos, (uint16_t)(i + 1));
    mqws_session *s = connected_server(NULL, cb);
    if (!s)
        exit(1);
    uint64_t msgs = 0;
    events = 0;
    double t0 = now_s(), t;
    do {
        for (int r = 0; r < 64; r++) {
            if (mqws_session_recv(s, buf, len) != (int64_t)len) {
                fprintf(stderr, "bench: recv failed: %s\n", mqws_session_close_info(s)->message);
                exit(1);
            }
            if (qos)
                drain(s); /* PUBACKs go out as a host's writev would take them */
            msgs += BATCH;
        }
        t = now_s() - t0;
    } while (t < secs);
    if (events != msgs) {
        fprintf(stderr, "bench: %llu events for %llu messages\n", (unsigned long long)events,
                (unsigned long long)msgs);
        exit(1);
    }
    mqws_session_free(s);
    return (double)msgs / t;
}

static double run_flow(double secs) {
    mqws_flow f;
    mqws_flow_config cfg = MQWS_FLOW_CONFIG_INIT;
    cfg.msg_rate = 1000000000u;
    cfg.byte_rate = 1000000000000u;
    mqws_flow_init(&f, &cfg, 0);
    uint64_t n = 0;
    int64_t now = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1 << 16; i++) {
            if (mqws_flow_take(&f, 100, now) != 0)
                now++;
            n++;
        }
        t = now_s() - t0;
    } while (t < secs);
    return (double)n / t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, const char *unit, double *v, int runs, double target,
                   int higher_better) {
    qsort(v, (size_t)runs, sizeof *v, cmp_double);
    double med = v[runs / 2];
    printf("%-16s median %10.2f %s  (min %.2f, max %.2f, %d runs)", name, med, unit, v[0],
           v[runs - 1], runs);
    if (target > 0)
        printf("  target %s %.0f: %s", higher_better ? ">=" : "<=", target,
               (higher_better ? med >= target : med <= target) ? "MET" : "NOT MET");
    printf("\n");
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    if (secs <= 0 || runs < 1 || runs > 99) {
        fprintf(stderr, "usage: bench_session [seconds-per-run] [runs]\n");
        return 2;
    }
    double v[99];
    mqws_callbacks *cb = mqws_callbacks_new(NULL);
    mqws_callbacks_set_on_publish(cb, on_publish);

    for (int r = 0; r < runs; r++)
        v[r] = run_publish(cb, 0, secs) / 1e6;
    report("qos0-in", "M msg/s", v, runs, 50, 1);

    for (int r = 0; r < runs; r++)
        v[r] = run_publish(cb, 1, secs) / 1e6;
    report("qos1-roundtrip", "M msg/s", v, runs, 10, 1);

    /* Idle heap: a connected, idle 3.1.1 session (and the same over a TCP conn). */
    for (int r = 0; r < runs; r++) {
        counting c;
        counting_init(&c);
        mqws_session *s = connected_server(&c.a, cb);
        if (!s)
            return 1;
        mqws_session_stats st;
        mqws_session_get_stats(s, &st);
        v[r] = (double)c.live;
        if (r == 0)
            printf("idle session: %zu bytes in %ld blocks (session reports %zu; peak during "
                   "CONNECT %zu)\n",
                   c.live, c.blocks, st.heap_bytes, c.peak);
        mqws_session_free(s);
        if (c.live != 0 || c.blocks != 0)
            fprintf(stderr, "bench: leak after free: %zu bytes\n", c.live);
    }
    report("idle-heap", "B", v, runs, 512, 0);
    {
        counting c;
        counting_init(&c);
        mqws_session_config scfg = MQWS_SESSION_CONFIG_INIT;
        mqws_conn_config ccfg = MQWS_CONN_CONFIG_INIT;
        ccfg.allocator = &c.a;
        ccfg.session = &scfg;
        mqws_conn *conn = mqws_conn_new(&ccfg, cb, NULL, 0);
        uint8_t buf[64];
        size_t n = connect_311(buf);
        if (conn && mqws_conn_recv(conn, buf, n) == (int64_t)n) {
            mqws_iovec iov[8];
            size_t k;
            while ((k = mqws_conn_pending(conn, iov, 8)) > 0) {
                size_t bytes = 0;
                for (size_t i = 0; i < k; i++)
                    bytes += iov[i].len;
                mqws_conn_sent(conn, bytes);
            }
            printf("idle conn+session (TCP): %zu bytes in %ld blocks\n", c.live, c.blocks);
        }
        mqws_conn_free(conn);
    }

    for (int r = 0; r < runs; r++)
        v[r] = run_flow(secs) / 1e6;
    report("flow-take", "M op/s", v, runs, 0, 1);

    mqws_callbacks_free(cb);
    return 0;
}
