/* mqws-bench: the per-second timeline and its SVG chart (hand-written SVG, no dependencies).
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_BENCH_PLOT_H
#define MQWS_BENCH_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* One second of the run. Latency fields are < 0 when no message arrived in that second. */
typedef struct bench_sample {
    double t; /* seconds since the start */
    double sent_per_s, recv_per_s, connects_per_s;
    uint32_t conns; /* connections established at the end of the second */
    double p50_ms, p99_ms, max_ms;
} bench_sample;

/* Write a two-panel chart (messages/s and connections; latency p50 / p99 / max) to `path`.
 * `title` and `subtitle` are plain text (escaped here). Returns 0, or -1 if the file cannot be
 * written. */
int bench_plot_svg(const char *path, const bench_sample *v, size_t n, const char *title,
                   const char *subtitle);

#endif
