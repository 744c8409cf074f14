/* mqws-bench: log-linear histogram (see hist.h).
 * SPDX-License-Identifier: MIT */
#include "hist.h"

#include <math.h>
#include <string.h>

#define EXACT_LIMIT ((uint64_t)2 * BENCH_HIST_SUB)
#define CLAMP_VALUE (((uint64_t)1 << (BENCH_HIST_MAX_MSB + 1)) - 1)

static unsigned msb64(uint64_t v) { return 63u - (unsigned)__builtin_clzll(v); }

size_t bench_hist_index(uint64_t v) {
    if (v < EXACT_LIMIT)
        return (size_t)v;
    if (v > CLAMP_VALUE)
        v = CLAMP_VALUE;
    /* v in [2^msb, 2^(msb+1)): drop `e` low bits so the mantissa lands in [SUB, 2 SUB); the
     * bucket index continues the exact range without a gap. */
    unsigned e = msb64(v) - BENCH_HIST_SUB_BITS;
    return (size_t)e * BENCH_HIST_SUB + (size_t)(v >> e);
}

uint64_t bench_hist_bucket_low(size_t index) {
    if (index < EXACT_LIMIT)
        return index;
    size_t e = index / BENCH_HIST_SUB - 1;
    uint64_t m = (uint64_t)(index - e * BENCH_HIST_SUB);
    return m << e;
}

uint64_t bench_hist_bucket_high(size_t index) {
    if (index < EXACT_LIMIT)
        return index;
    size_t e = index / BENCH_HIST_SUB - 1;
    uint64_t m = (uint64_t)(index - e * BENCH_HIST_SUB);
    return ((m + 1) << e) - 1;
}

void bench_hist_reset(bench_hist *h) {
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void bench_hist_record_n(bench_hist *h, uint64_t v, uint64_t n) {
    if (n == 0)
        return;
    h->counts[bench_hist_index(v)] += n;
    h->total += n;
    h->sum += (double)v * (double)n;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void bench_hist_record(bench_hist *h, uint64_t v) { bench_hist_record_n(h, v, 1); }

void bench_hist_merge(bench_hist *dst, const bench_hist *src) {
    if (src->total == 0)
        return;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t bench_hist_percentile(const bench_hist *h, double p) {
    if (h->total == 0)
        return 0;
    if (p <= 0.0)
        return h->min;
    if (p >= 100.0)
        return h->max;
    /* Shave a relative 1e-12 off so that 99.9 % of 1000 is rank 999, not 1000 by rounding. */
    double want = ceil(p / 100.0 * (double)h->total * (1.0 - 1e-12));
    uint64_t rank = want < 1.0 ? 1 : (uint64_t)want;
    uint64_t seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = bench_hist_bucket_high(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

double bench_hist_mean(const bench_hist *h) { return h->total ? h->sum / (double)h->total : 0.0; }
