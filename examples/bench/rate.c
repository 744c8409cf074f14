/* mqws-bench: fixed-rate schedules (see rate.h).
 * SPDX-License-Identifier: MIT */
#include "rate.h"

#include <math.h>

void bench_sched_init(bench_sched *s, int64_t start_ns, double rate_per_s, uint64_t limit) {
    s->start_ns = start_ns;
    s->rate = rate_per_s > 0 ? rate_per_s : 1.0;
    s->limit = limit;
    s->issued = 0;
}

int64_t bench_sched_time(const bench_sched *s, uint64_t k) {
    return s->start_ns + (int64_t)ceil((double)k * 1e9 / s->rate);
}

uint64_t bench_sched_due(const bench_sched *s, int64_t now_ns) {
    if (now_ns < s->start_ns)
        return 0;
    /* Messages 0..n-1 have time <= now. Computed from the count, then corrected against
     * bench_sched_time so both always agree despite floating point rounding. */
    uint64_t n = (uint64_t)floor((double)(now_ns - s->start_ns) * s->rate / 1e9) + 1;
    while (n > 0 && bench_sched_time(s, n - 1) > now_ns)
        n--;
    while (bench_sched_time(s, n) <= now_ns)
        n++;
    if (s->limit && n > s->limit)
        n = s->limit;
    return n > s->issued ? n - s->issued : 0;
}

int bench_sched_take(bench_sched *s, int64_t now_ns, uint64_t *k, int64_t *when_ns) {
    if (s->limit && s->issued >= s->limit)
        return 0;
    int64_t t = bench_sched_time(s, s->issued);
    if (t > now_ns)
        return 0;
    *k = s->issued++;
    *when_ns = t;
    return 1;
}

int64_t bench_sched_next(const bench_sched *s) {
    if (s->limit && s->issued >= s->limit)
        return INT64_MAX;
    return bench_sched_time(s, s->issued);
}

int bench_sched_done(const bench_sched *s) { return s->limit && s->issued >= s->limit; }

double bench_rate_per_s(uint64_t before, uint64_t after, int64_t dt_ns) {
    if (dt_ns <= 0 || after < before)
        return 0.0;
    return (double)(after - before) * 1e9 / (double)dt_ns;
}
