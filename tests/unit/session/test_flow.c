/* Flow control (include/mqws/flow.h): token buckets, watermarks, memory caps, admission.
 * Time is a fake clock: every call gets now_ms from the test.
 * SPDX-License-Identifier: MIT */
#include "mqws/flow.h"

#include "testlib.h"

/* ---- token bucket ---- */

TEST(bucket_starts_full_and_reports_exact_wait) {
    mqws_flow_bucket b;
    CHECK_INT(mqws_flow_bucket_init(&b, 1000, 10, 0), MQWS_OK);
    CHECK_INT(mqws_flow_bucket_available(&b, 0), 10);
    for (int i = 0; i < 10; i++)
        CHECK_INT(mqws_flow_bucket_take(&b, 1, 0), 0);
    CHECK_INT(mqws_flow_bucket_take(&b, 1, 0), 1); /* 1000/s: one token per ms */
    CHECK_INT(mqws_flow_bucket_take(&b, 5, 0), 5);
    CHECK_INT(mqws_flow_bucket_take(&b, 1, 1), 0);
    CHECK_INT(mqws_flow_bucket_available(&b, 1), 0);
    CHECK_INT(mqws_flow_bucket_available(&b, 1000), 10); /* capped at burst */
}

TEST(bucket_wait_rounds_up_and_carries_fractions) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, 3, 1, 0);
    CHECK_INT(mqws_flow_bucket_take(&b, 1, 0), 0);
    CHECK_INT(mqws_flow_bucket_take(&b, 1, 0), 334); /* ceil(1000 / 3) */
    CHECK_INT(mqws_flow_bucket_take(&b, 1, 333), 1); /* 0.999 token earned */
    CHECK_INT(mqws_flow_bucket_take(&b, 1, 334), 0);
}

TEST(bucket_refill_is_exact_whatever_the_step) {
    mqws_flow_bucket a, b;
    mqws_flow_bucket_init(&a, 7, 100, 0);
    mqws_flow_bucket_init(&b, 7, 100, 0);
    CHECK_INT(mqws_flow_bucket_take(&a, 100, 0), 0);
    CHECK_INT(mqws_flow_bucket_take(&b, 100, 0), 0);
    for (int64_t t = 1; t <= 3000; t++)
        mqws_flow_bucket_available(&a, t);
    CHECK_INT(mqws_flow_bucket_available(&a, 3000), 21);
    CHECK_INT(mqws_flow_bucket_available(&b, 3000), 21);
    /* 1/7 s steps of 142 ms lose nothing either: 7 * 142 ms = 994 ms -> 6.958 tokens. */
    mqws_flow_bucket c;
    mqws_flow_bucket_init(&c, 7, 100, 0);
    mqws_flow_bucket_take(&c, 100, 0);
    for (int64_t t = 142; t <= 994; t += 142)
        mqws_flow_bucket_available(&c, t);
    CHECK_INT(mqws_flow_bucket_available(&c, 994), 6);
    CHECK_INT(mqws_flow_bucket_take(&c, 7, 994), 6); /* 0.042 token short: 6 ms at 7/s */
    CHECK_INT(mqws_flow_bucket_take(&c, 7, 1000), 0);
}

TEST(bucket_rate_zero_is_unlimited) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, 0, 5, 0);
    for (int i = 0; i < 1000; i++)
        CHECK_INT(mqws_flow_bucket_take(&b, UINT64_MAX, 0), 0);
    CHECK(mqws_flow_bucket_available(&b, 0) == UINT64_MAX);
}

TEST(bucket_burst_zero_means_one_second) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, 50, 0, 0);
    CHECK_INT(mqws_flow_bucket_available(&b, 0), 50);
}

TEST(bucket_take_larger_than_burst_needs_a_full_bucket) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, 10, 10, 0);
    CHECK_INT(mqws_flow_bucket_take(&b, 50, 0), 0);
    CHECK_INT(mqws_flow_bucket_available(&b, 0), 0);
    CHECK_INT(mqws_flow_bucket_take(&b, 50, 0), 1000);
    CHECK_INT(mqws_flow_bucket_take(&b, 50, 999), 1); /* 9.99 tokens: 0.01 short */
    CHECK_INT(mqws_flow_bucket_take(&b, 50, 1000), 0);
}

TEST(bucket_clock_stepping_back_earns_nothing) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, 1000, 10, 1000);
    mqws_flow_bucket_take(&b, 10, 1000);
    CHECK_INT(mqws_flow_bucket_available(&b, 500), 0);
    CHECK_INT(mqws_flow_bucket_available(&b, 505), 5); /* measured from the new origin */
}

TEST(bucket_huge_rates_and_bursts_saturate) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, UINT64_MAX, UINT64_MAX, 0);
    CHECK_INT(mqws_flow_bucket_take(&b, UINT64_MAX, 0), 0);
    CHECK(mqws_flow_bucket_available(&b, 1) == UINT64_MAX / 1000);
    CHECK(mqws_flow_bucket_available(&b, 2) == UINT64_MAX / 1000 * 2 + 1); /* .615 carried */
    CHECK(mqws_flow_bucket_available(&b, 5000) == UINT64_MAX);

    /* Largest possible gap: INT64_MIN to INT64_MAX is UINT64_MAX ms. */
    mqws_flow_bucket_init(&b, 1, UINT64_MAX, INT64_MIN);
    mqws_flow_bucket_take(&b, UINT64_MAX, INT64_MIN);
    CHECK(mqws_flow_bucket_available(&b, INT64_MAX) == UINT64_MAX / 1000);
    mqws_flow_bucket_init(&b, UINT64_MAX / 3, UINT64_MAX, INT64_MIN);
    mqws_flow_bucket_take(&b, UINT64_MAX, INT64_MIN);
    CHECK(mqws_flow_bucket_available(&b, INT64_MAX) == UINT64_MAX);
}

TEST(bucket_huge_deficits_wait_exactly_or_saturate) {
    mqws_flow_bucket b;
    mqws_flow_bucket_init(&b, 1, UINT64_MAX, 0);
    mqws_flow_bucket_take(&b, UINT64_MAX, 0);
    CHECK(mqws_flow_bucket_take(&b, UINT64_MAX, 0) == INT64_MAX);
    mqws_flow_bucket_init(&b, 4000, UINT64_MAX, 0);
    mqws_flow_bucket_take(&b, UINT64_MAX, 0);
    /* ceil((2^64 - 1) * 1000 / 4000) = 2^62 */
    CHECK(mqws_flow_bucket_take(&b, UINT64_MAX, 0) == (int64_t)1 << 62);
    /* with a carried fraction: rate 4001, 1 ms earns 4.001 tokens */
    mqws_flow_bucket_init(&b, 4001, UINT64_MAX, 0);
    mqws_flow_bucket_take(&b, UINT64_MAX, 0);
    int64_t w = mqws_flow_bucket_take(&b, UINT64_MAX, 1);
    CHECK(w > 0);
    /* w is the least ms with w * 4001 >= (2^64 - 1 - 4) * 1000 - 1 */
    mqws_flow_bucket c = b;
    CHECK(mqws_flow_bucket_take(&c, UINT64_MAX, 1 + w - 1) == 1);
    c = b;
    CHECK(mqws_flow_bucket_take(&c, UINT64_MAX, 1 + w) == 0);
}

TEST(bucket_wait_is_the_least_sufficient_delay_random) {
    uint64_t seed = 0x5eed;
    for (int i = 0; i < 20000; i++) {
        uint64_t rate = 1 + testlib_rand_below(&seed, i % 2 ? 100000 : 50);
        uint64_t burst = 1 + testlib_rand_below(&seed, 200);
        mqws_flow_bucket b;
        int64_t now = (int64_t)testlib_rand_below(&seed, 1000000) - 500000;
        mqws_flow_bucket_init(&b, rate, burst, now);
        for (int k = 0; k < 8; k++) {
            now += (int64_t)testlib_rand_below(&seed, 300);
            uint64_t n = 1 + testlib_rand_below(&seed, burst + 5);
            int64_t wt = mqws_flow_bucket_take(&b, n, now);
            if (wt > 0) {
                mqws_flow_bucket early = b, late = b;
                if (wt > 1)
                    CHECK(mqws_flow_bucket_take(&early, n, now + wt - 1) > 0);
                CHECK_INT(mqws_flow_bucket_take(&late, n, now + wt), 0);
            }
            CHECK(b.tokens <= b.burst && b.milli < 1000);
        }
    }
}

/* ---- watermark ---- */

TEST(watermark_pauses_at_high_and_resumes_at_low_once) {
    mqws_flow_watermark wm;
    CHECK_INT(mqws_flow_watermark_init(&wm, 100, 20), MQWS_OK);
    CHECK_INT(mqws_flow_watermark_add(&wm, 99), MQWS_FLOW_NONE);
    CHECK(!mqws_flow_watermark_paused(&wm));
    CHECK_INT(mqws_flow_watermark_add(&wm, 1), MQWS_FLOW_PAUSE);
    CHECK_INT(mqws_flow_watermark_add(&wm, 50), MQWS_FLOW_NONE); /* edge-triggered */
    CHECK(mqws_flow_watermark_paused(&wm));
    CHECK_INT(mqws_flow_watermark_sub(&wm, 100), MQWS_FLOW_NONE);  /* 50: between low and high */
    CHECK_INT(mqws_flow_watermark_add(&wm, 60), MQWS_FLOW_NONE);   /* 110: still the same pause */
    CHECK_INT(mqws_flow_watermark_sub(&wm, 90), MQWS_FLOW_RESUME); /* 20 <= low */
    CHECK_INT(mqws_flow_watermark_sub(&wm, 5), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_watermark_add(&wm, 70), MQWS_FLOW_NONE); /* 85: no pause below high */
    CHECK_INT(mqws_flow_watermark_add(&wm, 15), MQWS_FLOW_PAUSE);
    CHECK_INT(wm.pauses, 2);
    CHECK_INT(wm.peak, 150);
}

TEST(watermark_rejects_low_not_below_high_and_high_zero_never_pauses) {
    mqws_flow_watermark wm;
    CHECK_INT(mqws_flow_watermark_init(&wm, 10, 10), MQWS_EINVAL);
    CHECK_INT(mqws_flow_watermark_init(NULL, 10, 1), MQWS_EINVAL);
    CHECK_INT(mqws_flow_watermark_init(&wm, 0, 0), MQWS_OK);
    CHECK_INT(mqws_flow_watermark_add(&wm, UINT64_MAX), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_watermark_add(&wm, UINT64_MAX), MQWS_FLOW_NONE);
    CHECK(wm.level == UINT64_MAX); /* saturates */
    CHECK_INT(mqws_flow_watermark_sub(&wm, UINT64_MAX), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_watermark_sub(&wm, 1), MQWS_FLOW_NONE); /* clamps at 0 */
    CHECK_INT(wm.level, 0);
}

TEST(watermark_by_absolute_level) {
    mqws_flow_watermark wm;
    mqws_flow_watermark_init(&wm, 1000, 200);
    CHECK_INT(mqws_flow_watermark_set(&wm, 500), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_watermark_set(&wm, 1200), MQWS_FLOW_PAUSE);
    CHECK_INT(mqws_flow_watermark_set(&wm, 1200), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_watermark_set(&wm, 300), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_watermark_set(&wm, 200), MQWS_FLOW_RESUME);
    CHECK_INT(wm.level, 200);
    CHECK_INT(wm.peak, 1200);
    mqws_flow f;
    mqws_flow_init(&f, NULL, 0);
    CHECK_INT(mqws_flow_out_level(&f, MQWS_FLOW_OUT_HIGH_DEFAULT), MQWS_FLOW_PAUSE);
    CHECK(mqws_flow_paused(&f));
    CHECK_INT(mqws_flow_out_level(&f, 0), MQWS_FLOW_RESUME);
}

/* ---- memory cap ---- */

TEST(memcap_refuses_what_exceeds_the_cap_and_charges_nothing) {
    mqws_flow_memcap m;
    mqws_flow_memcap_init(&m, 1000);
    CHECK_INT(mqws_flow_memcap_charge(&m, 600), MQWS_OK);
    CHECK_INT(mqws_flow_memcap_charge(&m, 401), MQWS_ELIMIT);
    CHECK_INT(mqws_flow_memcap_charge(&m, UINT64_MAX), MQWS_ELIMIT);
    CHECK_INT(m.used, 600);
    CHECK_INT(mqws_flow_memcap_charge(&m, 400), MQWS_OK);
    CHECK_INT(mqws_flow_memcap_charge(&m, 0), MQWS_OK);
    CHECK_INT(mqws_flow_memcap_charge(&m, 1), MQWS_ELIMIT);
    CHECK_INT(m.denied, 3);
    CHECK_INT(mqws_flow_memcap_release(&m, 1000), MQWS_OK);
    CHECK_INT(mqws_flow_memcap_release(&m, 1), MQWS_EINVAL); /* more than charged */
    CHECK_INT(m.used, 0);
    CHECK_INT(m.peak, 1000);
    mqws_flow_memcap_init(&m, 0); /* unlimited, saturating */
    CHECK_INT(mqws_flow_memcap_charge(&m, UINT64_MAX), MQWS_OK);
    CHECK_INT(mqws_flow_memcap_charge(&m, UINT64_MAX), MQWS_OK);
    CHECK(m.used == UINT64_MAX);
}

/* ---- per-connection bundle ---- */

TEST(flow_defaults_and_older_config_sizes) {
    mqws_flow f;
    CHECK_INT(mqws_flow_init(&f, NULL, 0), MQWS_OK);
    CHECK_INT(f.out.high, MQWS_FLOW_OUT_HIGH_DEFAULT);
    CHECK_INT(f.out.low, MQWS_FLOW_OUT_LOW_DEFAULT);
    CHECK_INT(f.mem.max, MQWS_FLOW_MEM_MAX_DEFAULT);
    CHECK_INT(mqws_flow_take(&f, 1u << 30, 0), 0); /* no rate limit by default */

    /* An older caller that knew only size, msg_rate and msg_burst. */
    mqws_flow_config c = MQWS_FLOW_CONFIG_INIT;
    c.size = offsetof(mqws_flow_config, byte_rate);
    c.msg_rate = 5;
    c.byte_rate = 77; /* beyond its size: ignored */
    c.out_high = 3;
    CHECK_INT(mqws_flow_init(&f, &c, 0), MQWS_OK);
    CHECK_INT(f.msgs.rate, 5);
    CHECK_INT(f.bytes.rate, 0);
    CHECK_INT(f.out.high, MQWS_FLOW_OUT_HIGH_DEFAULT);

    c.size = 0;
    CHECK_INT(mqws_flow_init(&f, &c, 0), MQWS_EINVAL);
    c = (mqws_flow_config)MQWS_FLOW_CONFIG_INIT;
    c.out_low = c.out_high;
    CHECK_INT(mqws_flow_init(&f, &c, 0), MQWS_EINVAL);
    CHECK_INT(mqws_flow_init(NULL, NULL, 0), MQWS_EINVAL);
    CHECK_INT(mqws_flow_take(NULL, 1, 0), MQWS_EINVAL);
}

TEST(flow_take_charges_both_buckets_or_neither) {
    mqws_flow f;
    mqws_flow_config c = MQWS_FLOW_CONFIG_INIT;
    c.msg_rate = 10;   /* burst 10 */
    c.byte_rate = 100; /* burst 100 */
    CHECK_INT(mqws_flow_init(&f, &c, 0), MQWS_OK);
    CHECK_INT(mqws_flow_take(&f, 90, 0), 0);
    CHECK_INT(mqws_flow_take(&f, 20, 0), 100); /* 10 bytes short at 100 B/s */
    CHECK_INT(f.msgs.tokens, 9);               /* the message token was not spent */
    for (int i = 0; i < 9; i++)
        CHECK_INT(mqws_flow_take(&f, 1, 0), 0);
    CHECK_INT(mqws_flow_take(&f, 1, 0), 100); /* messages exhausted: 1 per 100 ms */
    CHECK_INT(f.bytes.tokens, 1);
    CHECK_INT(mqws_flow_take(&f, 0, 100), 0);

    mqws_flow_stats s = MQWS_FLOW_STATS_INIT;
    CHECK_INT(mqws_flow_get_stats(&f, &s), MQWS_OK);
    CHECK_INT(s.msgs_allowed, 11);
    CHECK_INT(s.msgs_denied, 2);
    CHECK_INT(s.bytes_allowed, 99);
    CHECK_INT(s.bytes_denied, 21);
}

TEST(flow_output_watermark_and_memory_counters) {
    mqws_flow f;
    mqws_flow_config c = MQWS_FLOW_CONFIG_INIT;
    c.out_high = 1000;
    c.out_low = 100;
    c.mem_max = 500;
    CHECK_INT(mqws_flow_init(&f, &c, 0), MQWS_OK);
    CHECK_INT(mqws_flow_out_queued(&f, 999), MQWS_FLOW_NONE);
    CHECK_INT(mqws_flow_out_queued(&f, 1), MQWS_FLOW_PAUSE);
    CHECK(mqws_flow_paused(&f));
    CHECK_INT(mqws_flow_out_written(&f, 900), MQWS_FLOW_RESUME);
    CHECK(!mqws_flow_paused(&f));
    CHECK_INT(mqws_flow_mem_charge(&f, 400), MQWS_OK);
    CHECK_INT(mqws_flow_mem_charge(&f, 101), MQWS_ELIMIT);
    CHECK_INT(mqws_flow_mem_release(&f, 150), MQWS_OK);

    mqws_flow_stats s = MQWS_FLOW_STATS_INIT;
    mqws_flow_get_stats(&f, &s);
    CHECK_INT(s.size, sizeof s);
    CHECK_INT(s.out_level, 100);
    CHECK_INT(s.out_peak, 1000);
    CHECK_INT(s.pauses, 1);
    CHECK_INT(s.paused, 0);
    CHECK_INT(s.mem_used, 250);
    CHECK_INT(s.mem_peak, 400);
    CHECK_INT(s.mem_denied, 1);

    /* An older caller's smaller stats struct: nothing written beyond its size. */
    mqws_flow_stats small;
    memset(&small, 0xAB, sizeof small);
    small.size = offsetof(mqws_flow_stats, bytes_allowed);
    CHECK_INT(mqws_flow_get_stats(&f, &small), MQWS_OK);
    CHECK_INT(small.size, offsetof(mqws_flow_stats, bytes_allowed));
    CHECK(small.bytes_allowed == 0xABABABABABABABABu);
    small.size = 1;
    CHECK_INT(mqws_flow_get_stats(&f, &small), MQWS_EINVAL);
}

TEST(flow_reconfigure_keeps_levels_and_counters) {
    mqws_flow f;
    mqws_flow_config c = MQWS_FLOW_CONFIG_INIT;
    c.msg_rate = 100;
    CHECK_INT(mqws_flow_init(&f, &c, 0), MQWS_OK);
    for (int i = 0; i < 60; i++)
        mqws_flow_take(&f, 1, 0);
    mqws_flow_out_queued(&f, 5000);
    c.msg_rate = 10; /* burst 10: 40 saved tokens clamp to 10 */
    c.out_high = 8000;
    c.out_low = 4000;
    CHECK_INT(mqws_flow_reconfigure(&f, &c, 0), MQWS_OK);
    CHECK_INT(f.msgs.tokens, 10);
    CHECK_INT(f.msgs_allowed, 60);
    CHECK_INT(mqws_flow_out_queued(&f, 3000), MQWS_FLOW_PAUSE);
    /* unlimited -> limited starts full */
    c.byte_rate = 7;
    CHECK_INT(mqws_flow_reconfigure(&f, &c, 10), MQWS_OK);
    CHECK_INT(f.bytes.tokens, 7);
    c.out_high = 0; /* switching the watermark off releases a pause on the next write */
    CHECK_INT(mqws_flow_reconfigure(&f, &c, 10), MQWS_OK);
    CHECK_INT(mqws_flow_out_written(&f, 1), MQWS_FLOW_RESUME);
}

/* ---- admission ---- */

TEST(admission_caps_connections_handshakes_and_rate) {
    mqws_flow_admission a;
    mqws_flow_admission_config c = MQWS_FLOW_ADMISSION_CONFIG_INIT;
    c.max_connections = 3;
    c.max_connecting = 2;
    c.connect_rate = 1000;
    c.connect_burst = 2;
    CHECK_INT(mqws_flow_admission_init(&a, &c, 0), MQWS_OK);
    CHECK_INT(mqws_flow_admission_open(&a, 0), MQWS_OK);
    CHECK_INT(mqws_flow_admission_open(&a, 0), MQWS_OK);
    CHECK_INT(mqws_flow_admission_open(&a, 0), MQWS_ELIMIT); /* two handshaking */
    CHECK_INT(a.refused_connecting, 1);
    CHECK_INT(mqws_flow_admission_established(&a), MQWS_OK);
    CHECK_INT(mqws_flow_admission_open(&a, 0), MQWS_ELIMIT); /* rate: burst spent */
    CHECK_INT(a.refused_rate, 1);
    CHECK_INT(mqws_flow_admission_open(&a, 1), MQWS_OK);
    CHECK_INT(mqws_flow_admission_established(&a), MQWS_OK);
    CHECK_INT(mqws_flow_admission_open(&a, 100), MQWS_ELIMIT); /* three connections */
    CHECK_INT(a.refused_full, 1);
    CHECK_INT(mqws_flow_admission_close(&a, 1), MQWS_OK);
    CHECK_INT(mqws_flow_admission_close(&a, 0), MQWS_OK); /* the one still handshaking */
    CHECK_INT(mqws_flow_admission_close(&a, 0), MQWS_ESTATE);
    CHECK_INT(a.connections, 1);
    CHECK_INT(a.connecting, 0);
    CHECK_INT(a.admitted, 3);
    CHECK_INT(mqws_flow_admission_close(&a, 1), MQWS_OK);
    CHECK_INT(mqws_flow_admission_close(&a, 1), MQWS_ESTATE);
    CHECK_INT(mqws_flow_admission_established(&a), MQWS_ESTATE);
}

TEST(admission_without_config_is_unlimited) {
    mqws_flow_admission a;
    CHECK_INT(mqws_flow_admission_init(&a, NULL, 0), MQWS_OK);
    for (int i = 0; i < 100000; i++)
        CHECK_INT(mqws_flow_admission_open(&a, 0), MQWS_OK);
    CHECK_INT(a.connections, 100000);
}

int main(void) {
    RUN(bucket_starts_full_and_reports_exact_wait);
    RUN(bucket_wait_rounds_up_and_carries_fractions);
    RUN(bucket_refill_is_exact_whatever_the_step);
    RUN(bucket_rate_zero_is_unlimited);
    RUN(bucket_burst_zero_means_one_second);
    RUN(bucket_take_larger_than_burst_needs_a_full_bucket);
    RUN(bucket_clock_stepping_back_earns_nothing);
    RUN(bucket_huge_rates_and_bursts_saturate);
    RUN(bucket_huge_deficits_wait_exactly_or_saturate);
    RUN(bucket_wait_is_the_least_sufficient_delay_random);
    RUN(watermark_pauses_at_high_and_resumes_at_low_once);
    RUN(watermark_rejects_low_not_below_high_and_high_zero_never_pauses);
    RUN(watermark_by_absolute_level);
    RUN(memcap_refuses_what_exceeds_the_cap_and_charges_nothing);
    RUN(flow_defaults_and_older_config_sizes);
    RUN(flow_take_charges_both_buckets_or_neither);
    RUN(flow_output_watermark_and_memory_counters);
    RUN(flow_reconfigure_keeps_levels_and_counters);
    RUN(admission_caps_connections_handshakes_and_rate);
    RUN(admission_without_config_is_unlimited);
    return testlib_finish();
}
