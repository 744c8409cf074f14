/* mqws-bench: a log-linear latency histogram in the manner of HdrHistogram.
 *
 * Values (nanoseconds here, any unit works) below 2 * BENCH_HIST_SUB are counted exactly; above,
 * each power of two is split into BENCH_HIST_SUB equal buckets, so any recorded value is known
 * to within 1 / BENCH_HIST_SUB (0.2 %) of itself. Values from 2^40 up (about 18 minutes in ns)
 * share the last bucket. The counts are a fixed array inside the struct (128 KiB): recording is
 * a shift, a count-leading-zeros and an increment, with no allocation and no sorting, so a
 * percentile never depends on how many samples were kept. Minimum, maximum and sum are exact.
 *
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_BENCH_HIST_H
#define MQWS_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_HIST_SUB_BITS 9
#define BENCH_HIST_SUB      (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAX_MSB  39 /* values >= 2^(MAX_MSB+1) are clamped */
#define BENCH_HIST_BUCKETS  ((BENCH_HIST_MAX_MSB - BENCH_HIST_SUB_BITS + 2) * BENCH_HIST_SUB)

typedef struct bench_hist {
    uint64_t total; /* samples recorded */
    uint64_t min;   /* UINT64_MAX while empty */
    uint64_t max;
    double sum;
    uint64_t counts[BENCH_HIST_BUCKETS];
} bench_hist;

/* Empty the histogram (also the initialisation). */
void bench_hist_reset(bench_hist *h);
/* Count `v` once / `n` times. */
void bench_hist_record(bench_hist *h, uint64_t v);
void bench_hist_record_n(bench_hist *h, uint64_t v, uint64_t n);
/* Add every sample of `src` to `dst`. */
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* The value at percentile `p` (0..100): the highest value equivalent to the bucket holding the
 * sample of rank ceil(p / 100 * total), clamped to the exact [min, max]. 0 when empty. p >= 100
 * gives the maximum, p <= 0 the minimum. */
uint64_t bench_hist_percentile(const bench_hist *h, double p);
/* Arithmetic mean of the recorded values (0 when empty). */
double bench_hist_mean(const bench_hist *h);

/* Bucket arithmetic (exposed for the tests). */
size_t bench_hist_index(uint64_t v);
uint64_t bench_hist_bucket_low(size_t index);
uint64_t bench_hist_bucket_high(size_t index);

#endif
