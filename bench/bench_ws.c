/* bench_ws: WebSocket frame decode + unmask throughput, one core.
 *
 *   bench_ws [--quick]
 *
 * Feeds a buffer of masked client frames (server role) through mqws_ws_recv() again and again
 * and reports payload GB/s for 1 KiB frames and frames/s for 64 B frames (each the median of
 * 3 runs), plus mqws_ws_mask() alone and the per-connection state size. XOR-ing the same
 * buffer repeatedly just toggles the payload; the headers are never touched, so the input
 * stays valid. Time is thread CPU time (see now_s); still noisy on a shared machine: compare
 * medians, rerun.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqws/ws.h"

/* CPU time of this thread, not wall time: on a shared, loaded machine wall time mostly
 * measures the other processes. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t build(uint8_t *buf, size_t frames, size_t payload, uint32_t op) {
    size_t n = 0;
    /* Key bytes below 0x20 keep ASCII text ASCII in both states of the toggled payload. */
    const uint8_t key[4] = {0x11, 0x05, 0x0a, 0x1c};
    for (size_t f = 0; f < frames; f++) {
        int h = mqws_ws_frame_header(buf + n, op, 1, payload, key);
        n += (size_t)h;
        for (size_t i = 0; i < payload; i++)
            buf[n + i] = (uint8_t)(op == MQWS_WS_OP_TEXT ? 'a' + i % 26 : i * 31 + f);
        n += payload;
    }
    return n;
}

static volatile uint64_t sink;

/* One run: decode `buf` `reps` times; returns seconds; *bytes / *frames totals. */
static double run(uint8_t *buf, size_t len, long reps, uint64_t *bytes, uint64_t *frames) {
    mqws_ws ws;
    mqws_ws_event ev;
    mqws_ws_init(&ws, NULL);
    uint64_t b = 0, f = 0;
    double t0 = now_s();
    for (long r = 0; r < reps; r++) {
        uint8_t *p = buf;
        size_t left = len;
        while (left) {
            size_t used;
            int rc = mqws_ws_recv(&ws, p, left, &used, &ev);
            if (rc < 0) {
                fprintf(stderr, "decode error %d\n", rc);
                exit(1);
            }
            p += used;
            left -= used;
            if (rc == 1) {
                b += ev.data.len;
                f += (ev.flags & MQWS_WS_MSG_END) != 0;
                sink += ev.data.ptr[0];
            }
        }
    }
    double t = now_s() - t0;
    *bytes = b;
    *frames = f;
    return t;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median3(double v[3]) {
    qsort(v, 3, sizeof v[0], cmp_d);
    return v[1];
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    double target_s = quick ? 0.2 : 1.0;
    static uint8_t buf[1 << 20];

    /* 1 KiB frames: 64 frames (66 KiB, cache-resident) */
    size_t len = build(buf, 64, 1024, MQWS_WS_OP_BINARY);
    uint64_t bytes, frames;
    long reps = 1;
    while (run(buf, len, reps, &bytes, &frames) < target_s / 4)
        reps *= 2;
    double gbs[3];
    for (int i = 0; i < 3; i++) {
        double t = run(buf, len, reps, &bytes, &frames);
        gbs[i] = (double)bytes / t / 1e9;
    }
    printf("decode+unmask 1 KiB frames: %.1f GB/s payload (median of 3; target >= 20)\n",
           median3(gbs));

    /* 64 B frames: 4096 frames (280 KiB) */
    static const struct {
        uint32_t op;
        const char *what;
    } small[] = {{MQWS_WS_OP_BINARY, "64 B binary frames"},
                 {MQWS_WS_OP_TEXT, "64 B text frames (general path + UTF-8 check)"}};
    for (int k = 0; k < 2; k++) {
        len = build(buf, 4096, 64, small[k].op);
        reps = 1;
        while (run(buf, len, reps, &bytes, &frames) < target_s / 4)
            reps *= 2;
        double mfs[3];
        for (int i = 0; i < 3; i++) {
            double t = run(buf, len, reps, &bytes, &frames);
            mfs[i] = (double)frames / t / 1e6;
        }
        printf("decode+unmask %s: %.0f M frames/s (median of 3%s)\n", small[k].what, median3(mfs),
               k ? "" : "; target >= 100");
    }

    /* mqws_ws_mask alone, 1 KiB at an odd offset and phase */
    const uint8_t key[4] = {1, 2, 3, 4};
    reps = quick ? 200000 : 1000000;
    double ms[3];
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        for (long r = 0; r < reps; r++)
            mqws_ws_mask(buf + 3, 1024, key, (size_t)r);
        ms[i] = (double)reps * 1024 / (now_s() - t0) / 1e9;
    }
    sink += buf[5];
    printf("mqws_ws_mask 1 KiB (unaligned start): %.1f GB/s (median of 3)\n", median3(ms));
    printf("per-connection state: sizeof(mqws_ws) = %zu bytes (private state %zu bytes), "
           "0 bytes allocated while idle\n",
           sizeof(mqws_ws), mqws_ws_state_size());
    return 0;
}
