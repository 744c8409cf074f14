/* Unit tests of mqws-bench's measuring parts: the log-linear latency histogram, the fixed-rate
 * schedule and the per-stream sequence tracker (examples/bench/{hist,rate,seq}.c).
 * Registered from examples/bench/meson.build (suite unit, bench).
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mkstemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "plot.h"
#include "rate.h"
#include "seq.h"
#include "testlib.h"

static bench_hist h, h2;

/* ---- histogram ---- */

TEST(hist_small_values_are_exact) {
    for (uint64_t v = 0; v < 2 * BENCH_HIST_SUB; v++) {
        CHECK_INT(bench_hist_index(v), v);
        CHECK_INT(bench_hist_bucket_low(v), v);
        CHECK_INT(bench_hist_bucket_high(v), v);
    }
}

TEST(hist_buckets_are_contiguous_and_monotonic) {
    /* Every bucket starts right after the previous one ends, up to the last. */
    for (size_t i = 1; i < BENCH_HIST_BUCKETS; i++) {
        CHECK_INT(bench_hist_bucket_low(i), bench_hist_bucket_high(i - 1) + 1);
        CHECK(bench_hist_bucket_high(i) >= bench_hist_bucket_low(i));
        CHECK_INT(bench_hist_index(bench_hist_bucket_low(i)), i);
        CHECK_INT(bench_hist_index(bench_hist_bucket_high(i)), i);
    }
}

TEST(hist_relative_error_is_bounded) {
    uint64_t st = 42;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = testlib_rand(&st) >> (testlib_rand(&st) % 40 + 24);
        size_t k = bench_hist_index(v);
        uint64_t lo = bench_hist_bucket_low(k), hi = bench_hist_bucket_high(k);
        CHECK(lo <= v && v <= hi);
        CHECK((double)(hi - lo) <= (double)v / BENCH_HIST_SUB + 1.0);
    }
}

TEST(hist_huge_values_clamp_to_last_bucket) {
    CHECK_INT(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
    CHECK_INT(bench_hist_index((uint64_t)1 << 45), BENCH_HIST_BUCKETS - 1);
    bench_hist_reset(&h);
    bench_hist_record(&h, UINT64_MAX / 2);
    CHECK(bench_hist_percentile(&h, 50) == UINT64_MAX / 2); /* clamped to the exact max */
}

TEST(hist_empty_reports_zero) {
    bench_hist_reset(&h);
    CHECK_INT(bench_hist_percentile(&h, 50), 0);
    CHECK_INT(bench_hist_percentile(&h, 100), 0);
    CHECK(bench_hist_mean(&h) == 0.0);
    CHECK_INT(h.total, 0);
}

TEST(hist_percentiles_of_uniform_1_to_10000) {
    bench_hist_reset(&h);
    for (uint64_t v = 1; v <= 10000; v++)
        bench_hist_record(&h, v);
    CHECK_INT(h.total, 10000);
    CHECK_INT(h.min, 1);
    CHECK_INT(h.max, 10000);
    CHECK(fabs(bench_hist_mean(&h) - 5000.5) < 1e-9);
    struct {
        double p;
        double want;
    } cases[] = {{50, 5000}, {90, 9000}, {99, 9900}, {99.9, 9990}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = (double)bench_hist_percentile(&h, cases[i].p);
        /* The highest value equivalent to the rank's bucket: never below the exact answer,
         * at most one bucket width (0.2 %) above. */
        CHECK(got >= cases[i].want);
        CHECK(got <= cases[i].want * (1.0 + 1.0 / BENCH_HIST_SUB) + 1);
    }
    CHECK_INT(bench_hist_percentile(&h, 100), 10000);
    CHECK_INT(bench_hist_percentile(&h, 0), 1);
}

TEST(hist_single_outlier_sets_max_not_p99) {
    bench_hist_reset(&h);
    bench_hist_record_n(&h, 1000, 999);
    bench_hist_record(&h, 5000000);
    CHECK_INT(bench_hist_percentile(&h, 99), 1000);
    CHECK_INT(bench_hist_percentile(&h, 99.9), 1000);
    CHECK_INT(bench_hist_percentile(&h, 99.91), 5000000);
    CHECK_INT(h.max, 5000000);
}

TEST(hist_percentile_never_outside_min_max) {
    bench_hist_reset(&h);
    bench_hist_record(&h, 123457); /* a bucket wider than 1: its high end is above 123457 */
    CHECK_INT(bench_hist_percentile(&h, 50), 123457);
    CHECK_INT(bench_hist_percentile(&h, 1), 123457);
}

TEST(hist_merge_equals_recording_everything_once) {
    bench_hist_reset(&h);
    bench_hist_reset(&h2);
    static bench_hist all;
    bench_hist_reset(&all);
    uint64_t st = 7;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = testlib_rand(&st) % 10000000;
        bench_hist_record(i % 3 ? &h : &h2, v);
        bench_hist_record(&all, v);
    }
    bench_hist_merge(&h, &h2);
    CHECK_INT(h.total, all.total);
    CHECK_INT(h.min, all.min);
    CHECK_INT(h.max, all.max);
    CHECK(memcmp(h.counts, all.counts, sizeof h.counts) == 0);
    for (double p = 1; p < 100; p += 7.5)
        CHECK_INT(bench_hist_percentile(&h, p), bench_hist_percentile(&all, p));
}

TEST(hist_percentile_matches_sorted_samples_within_a_bucket) {
    enum { N = 5000 };
    static uint64_t v[N];
    uint64_t st = 99;
    bench_hist_reset(&h);
    for (int i = 0; i < N; i++) {
        /* latencies: 20 us .. ~50 ms, skewed */
        v[i] = 20000 + (testlib_rand(&st) % 1000) * (testlib_rand(&st) % 50000);
        bench_hist_record(&h, v[i]);
    }
    for (int i = 1; i < N; i++) /* insertion sort: small N */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    double ps[] = {50, 90, 99, 99.9};
    for (size_t i = 0; i < 4; i++) {
        size_t rank = (size_t)ceil(ps[i] / 100.0 * N);
        uint64_t exact = v[rank - 1];
        uint64_t got = bench_hist_percentile(&h, ps[i]);
        CHECK(bench_hist_index(got) == bench_hist_index(exact) || got == h.max);
    }
}

/* ---- schedule ---- */

TEST(sched_first_message_is_due_at_start) {
    bench_sched s;
    bench_sched_init(&s, 1000, 10.0, 0);
    CHECK_INT(bench_sched_due(&s, 999), 0);
    CHECK_INT(bench_sched_due(&s, 1000), 1);
    CHECK_INT(bench_sched_next(&s), 1000);
}

TEST(sched_due_counts_match_the_rate) {
    bench_sched s;
    bench_sched_init(&s, 0, 1000.0, 0); /* one per ms */
    CHECK_INT(bench_sched_due(&s, 999999), 1);
    CHECK_INT(bench_sched_due(&s, 1000000), 2);
    CHECK_INT(bench_sched_due(&s, 1000000000), 1001);
    CHECK_INT(bench_sched_time(&s, 500), 500000000);
}

TEST(sched_take_stamps_intended_times_even_when_late) {
    /* The loop wakes 50 ms late: all 5 overdue messages come out at once, each with its own
     * intended time (no coordinated omission). */
    bench_sched s;
    bench_sched_init(&s, 0, 100.0, 0);
    uint64_t k;
    int64_t when;
    int n = 0;
    while (bench_sched_take(&s, 40000000, &k, &when)) {
        CHECK_INT(k, (uint64_t)n);
        CHECK_INT(when, (int64_t)n * 10000000);
        n++;
    }
    CHECK_INT(n, 5);
    CHECK_INT(bench_sched_due(&s, 40000000), 0);
    CHECK_INT(bench_sched_next(&s), 50000000);
}

TEST(sched_limit_stops_it) {
    bench_sched s;
    bench_sched_init(&s, 0, 1e6, 3);
    uint64_t k;
    int64_t when;
    int n = 0;
    while (bench_sched_take(&s, 1000000000, &k, &when))
        n++;
    CHECK_INT(n, 3);
    CHECK(bench_sched_done(&s));
    CHECK_INT(bench_sched_next(&s), INT64_MAX);
    CHECK_INT(bench_sched_due(&s, INT64_MAX / 2), 0);
}

TEST(sched_fractional_rates_one_per_minute) {
    bench_sched s;
    bench_sched_init(&s, 0, 1.0 / 60.0, 0);
    CHECK_INT(bench_sched_due(&s, 59999999999), 1);
    CHECK_INT(bench_sched_due(&s, 60000000000), 2);
    /* 10,000 sensors at 1/min share one schedule at 166.67/s: evenly spaced, 6 ms apart */
    bench_sched_init(&s, 0, 10000.0 / 60.0, 0);
    CHECK_INT(bench_sched_due(&s, 60000000000 - 1), 10000);
    CHECK_INT(bench_sched_time(&s, 1), 6000000);
}

TEST(sched_due_agrees_with_time_for_odd_rates) {
    double rates[] = {3.0, 7.0, 333.333, 12345.6, 1e6 / 3.0};
    for (size_t r = 0; r < 5; r++) {
        bench_sched s;
        bench_sched_init(&s, 17, rates[r], 0);
        for (uint64_t k = 0; k < 2000; k++) {
            int64_t t = bench_sched_time(&s, k);
            CHECK_INT(bench_sched_due(&s, t), k + 1);
            CHECK_INT(bench_sched_due(&s, t - 1), k);
        }
    }
}

TEST(rate_per_second) {
    CHECK(fabs(bench_rate_per_s(100, 350, 500000000) - 500.0) < 1e-9);
    CHECK(bench_rate_per_s(5, 5, 1000000000) == 0.0);
    CHECK(bench_rate_per_s(5, 10, 0) == 0.0);
    CHECK(bench_rate_per_s(10, 5, 1000000000) == 0.0);
}

/* ---- sequence tracking ---- */

TEST(seq_in_order_stream_has_no_loss) {
    bench_seq t;
    bench_seq_init(&t);
    for (uint64_t i = 0; i < 1000; i++)
        CHECK_INT(bench_seq_record(&t, i), BENCH_SEQ_NEW);
    CHECK_INT(t.unique, 1000);
    CHECK_INT(bench_seq_missing(&t, 1000), 0);
    CHECK_INT(t.duplicates + t.reordered + t.late, 0);
}

TEST(seq_gap_is_loss_until_filled) {
    bench_seq t;
    bench_seq_init(&t);
    bench_seq_record(&t, 0);
    bench_seq_record(&t, 1);
    bench_seq_record(&t, 4);
    CHECK_INT(bench_seq_missing(&t, 5), 2);
    CHECK_INT(bench_seq_record(&t, 3), BENCH_SEQ_REORDERED);
    CHECK_INT(bench_seq_missing(&t, 5), 1);
    CHECK_INT(t.reordered, 1);
    /* messages the publisher sent that never came at the end */
    CHECK_INT(bench_seq_missing(&t, 8), 4);
}

TEST(seq_duplicates_are_counted_once_each) {
    bench_seq t;
    bench_seq_init(&t);
    for (uint64_t i = 0; i < 100; i++)
        bench_seq_record(&t, i);
    CHECK_INT(bench_seq_record(&t, 99), BENCH_SEQ_DUPLICATE);
    CHECK_INT(bench_seq_record(&t, 37), BENCH_SEQ_DUPLICATE);
    CHECK_INT(bench_seq_record(&t, 37), BENCH_SEQ_DUPLICATE);
    CHECK_INT(t.duplicates, 3);
    CHECK_INT(t.unique, 100);
    CHECK_INT(bench_seq_missing(&t, 100), 0);
}

TEST(seq_far_behind_is_late_not_duplicate) {
    bench_seq t;
    bench_seq_init(&t);
    bench_seq_record(&t, 1000);
    CHECK_INT(bench_seq_record(&t, 5), BENCH_SEQ_LATE);
    CHECK_INT(t.late, 1);
    CHECK_INT(t.unique, 2);
}

TEST(seq_big_jump_clears_the_window) {
    bench_seq t;
    bench_seq_init(&t);
    bench_seq_record(&t, 0);
    bench_seq_record(&t, 200);
    CHECK_INT(bench_seq_record(&t, 199), BENCH_SEQ_REORDERED);
    CHECK_INT(bench_seq_record(&t, 200), BENCH_SEQ_DUPLICATE);
    CHECK_INT(bench_seq_missing(&t, 201), 198);
}

TEST(seq_random_shuffle_within_window_counts_exactly) {
    enum { N = 4000 };
    static uint64_t order[N];
    uint64_t st = 3;
    for (uint64_t i = 0; i < N; i++)
        order[i] = i;
    /* shuffles inside blocks of 32 (displacement < 32) plus some duplicates and some drops */
    for (size_t i = 0; i + 32 <= N; i += 32)
        for (int k = 0; k < 8; k++) {
            size_t a = i + testlib_rand_below(&st, 32), b = i + testlib_rand_below(&st, 32);
            uint64_t tmp = order[a];
            order[a] = order[b];
            order[b] = tmp;
        }
    bench_seq t;
    bench_seq_init(&t);
    uint64_t dups = 0, drops = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 97 == 5) {
            drops++;
            continue;
        }
        bench_seq_record(&t, order[i]);
        if (i % 89 == 3) {
            bench_seq_record(&t, order[i]);
            dups++;
        }
    }
    CHECK_INT(t.duplicates, dups);
    CHECK_INT(t.late, 0);
    CHECK_INT(bench_seq_missing(&t, N), drops);
}

/* ---- SVG chart ---- */

static size_t count_of(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(plot_writes_a_complete_svg_with_escaped_text) {
    bench_sample v[5];
    for (int i = 0; i < 5; i++) {
        v[i].t = i;
        v[i].sent_per_s = 1000.0 * i;
        v[i].recv_per_s = 990.0 * i;
        v[i].connects_per_s = i == 1 ? 500 : 0;
        v[i].conns = i ? 500 : 0;
        v[i].p50_ms = i == 2 ? -1 : 0.5 * i; /* a second without samples breaks the line */
        v[i].p99_ms = i == 2 ? -1 : 2.0 * i;
        v[i].max_ms = i == 2 ? -1 : 3.0 * i;
    }
    char path[] = "/tmp/mqws-bench-plot-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    CHECK_INT(bench_plot_svg(path, v, 5, "a <b> & \"c\"", "sub"), 0);
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    unlink(path);
    CHECK(strncmp(buf, "<?xml", 5) == 0);
    CHECK(strstr(buf, "</svg>\n") != NULL);
    CHECK(strstr(buf, "a &lt;b&gt; &amp; &quot;c&quot;") != NULL);
    CHECK(strstr(buf, "<b>") == NULL);
    /* sent, received, connections, and the three latency series split in two by the gap */
    CHECK_INT(count_of(buf, "<polyline"), 3 + 3 * 2);
    CHECK_INT(bench_plot_svg("/nonexistent-dir/x.svg", v, 5, "t", "s"), -1);
}

TEST(plot_handles_an_empty_timeline) {
    char path[] = "/tmp/mqws-bench-plot-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    CHECK_INT(bench_plot_svg(path, NULL, 0, "empty", ""), 0);
    unlink(path);
}

int main(void) {
    RUN(hist_small_values_are_exact);
    RUN(hist_buckets_are_contiguous_and_monotonic);
    RUN(hist_relative_error_is_bounded);
    RUN(hist_huge_values_clamp_to_last_bucket);
    RUN(hist_empty_reports_zero);
    RUN(hist_percentiles_of_uniform_1_to_10000);
    RUN(hist_single_outlier_sets_max_not_p99);
    RUN(hist_percentile_never_outside_min_max);
    RUN(hist_merge_equals_recording_everything_once);
    RUN(hist_percentile_matches_sorted_samples_within_a_bucket);
    RUN(sched_first_message_is_due_at_start);
    RUN(sched_due_counts_match_the_rate);
    RUN(sched_take_stamps_intended_times_even_when_late);
    RUN(sched_limit_stops_it);
    RUN(sched_fractional_rates_one_per_minute);
    RUN(sched_due_agrees_with_time_for_odd_rates);
    RUN(rate_per_second);
    RUN(seq_in_order_stream_has_no_loss);
    RUN(seq_gap_is_loss_until_filled);
    RUN(seq_duplicates_are_counted_once_each);
    RUN(seq_far_behind_is_late_not_duplicate);
    RUN(seq_big_jump_clears_the_window);
    RUN(seq_random_shuffle_within_window_counts_exactly);
    RUN(plot_writes_a_complete_svg_with_escaped_text);
    RUN(plot_handles_an_empty_timeline);
    return testlib_finish();
}
