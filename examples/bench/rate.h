/* mqws-bench: fixed-rate schedules and rate arithmetic.
 *
 * A schedule issues message k at start + k / rate (k = 0, 1, ...), up to an optional limit.
 * The loop asks how many are due now and stamps each with its intended time, not the time it
 * got round to sending it: when the loop (or the broker pushing back) falls behind, the delay
 * shows up as latency instead of silently thinning the samples (coordinated omission).
 * P publishers at R messages/s each share one schedule at P * R: message k goes to publisher
 * k mod P, so their sends are spread evenly over each period instead of bunched together.
 *
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_BENCH_RATE_H
#define MQWS_BENCH_RATE_H

#include <stdint.h>

typedef struct bench_sched {
    int64_t start_ns;
    double rate;     /* per second, > 0 */
    uint64_t limit;  /* messages in all (0 = no limit) */
    uint64_t issued; /* messages taken so far (bench_sched_take) */
} bench_sched;

void bench_sched_init(bench_sched *s, int64_t start_ns, double rate_per_s, uint64_t limit);
/* Intended time of message k. */
int64_t bench_sched_time(const bench_sched *s, uint64_t k);
/* Messages due by `now_ns` that were not taken yet (bounded by the limit). */
uint64_t bench_sched_due(const bench_sched *s, int64_t now_ns);
/* Take the next due message: returns 1 and its index and intended time, or 0 if none is due. */
int bench_sched_take(bench_sched *s, int64_t now_ns, uint64_t *k, int64_t *when_ns);
/* When the next message is due (INT64_MAX once the limit is reached). */
int64_t bench_sched_next(const bench_sched *s);
/* 1 once the limit is reached. */
int bench_sched_done(const bench_sched *s);

/* Events per second between two counter readings `dt_ns` apart (0 for dt <= 0). */
double bench_rate_per_s(uint64_t before, uint64_t after, int64_t dt_ns);

#endif
