/* Codec benchmark: packets per second for encode and decode on one core, and the number of
 * allocations on the hot path (malloc/calloc/realloc are interposed in this binary).
 *
 *   bench_codec [--quick] [--reps N]
 *   bench_codec --count KEY N     (run case KEY exactly N times, untimed: for callgrind, so
 *                                  instructions per packet can be read off deterministically)
 *
 * Each case runs for a fixed slice of thread CPU time (0.4 s, or 0.05 s with --quick), N times
 * (default 3), and the median is printed. Results feed a volatile sink so nothing is optimised
 * away. bench/run_codec.sh runs this and the mqtt-packet benchmark on the same packets.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* clock_gettime, uname, __libc_malloc */
#include <mqws/codec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------ */
/* Allocation counter: glibc's allocator under a counting wrapper. */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static volatile unsigned long alloc_count;
static volatile int alloc_counting;

void *malloc(size_t size) {
    if (alloc_counting)
        alloc_count++;
    return __libc_malloc(size);
}
void *calloc(size_t n, size_t size) {
    if (alloc_counting)
        alloc_count++;
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t size) {
    if (alloc_counting)
        alloc_count++;
    return __libc_realloc(p, size);
}
void free(void *p) { __libc_free(p); }

/* ------------------------------------------------------------------------------------------ */

static volatile uint64_t sink;

/* CPU time of this thread, not wall time: on a shared machine other processes steal the core,
 * and wall-clock rates then measure the neighbours more than the codec. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef uint64_t (*bench_fn)(uint64_t iters);

typedef struct bench_case {
    const char *key;  /* shared with bench/codec_mqtt_packet.js */
    const char *name; /* for the table */
    bench_fn fn;
    double target; /* M packets/s, 0 = none */
} bench_case;

/* Fixtures, built once by setup(). */
static uint8_t topic12[] = "sensors/t/42"; /* 12 bytes */
static uint8_t payload64[64];
static mqws_packet pub311, pub5, sub311, sub5;
static mqws_user_prop up = {{(const uint8_t *)"unit", 4}, {(const uint8_t *)"celsius", 7}};
static mqws_subscription subs3[3];
static uint8_t wire_pub311[128], wire_pub5[192], wire_sub311[128], wire_sub5[128];
static size_t len_pub311, len_pub5, len_sub311, len_sub5;
static uint8_t out[256];

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_codec: %s failed: %s\n", what, mqws_strerror(rc));
    exit(1);
}

static void setup(void) {
    int rc;
    for (size_t i = 0; i < sizeof payload64; i++)
        payload64[i] = (uint8_t)(i * 7 + 1);

    mqws_packet_init(&pub311, MQWS_PKT_PUBLISH);
    pub311.topic = (mqws_view){topic12, 12};
    pub311.payload = (mqws_view){payload64, sizeof payload64};

    pub5 = pub311;
    mqws_props_init(&pub5.props);
    pub5.props.present =
        MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL | MQWS_PROPF_CONTENT_TYPE | MQWS_PROPF_USER_PROPERTY;
    pub5.props.message_expiry = 3600;
    pub5.props.content_type = mqws_view_cstr("application/json");
    pub5.props.user_props = &up;
    pub5.props.user_prop_count = 1;

    subs3[0] = (mqws_subscription){mqws_view_cstr("sensors/+/temperature"), 1, 0, 0, 0};
    subs3[1] = (mqws_subscription){mqws_view_cstr("alerts/#"), 2, 0, 0, 0};
    subs3[2] = (mqws_subscription){mqws_view_cstr("home/kitchen/light"), 0, 0, 0, 0};
    mqws_packet_init(&sub311, MQWS_PKT_SUBSCRIBE);
    sub311.packet_id = 17;
    sub311.subs = subs3;
    sub311.entry_count = 3;
    sub5 = sub311;
    mqws_props_init(&sub5.props);

    if ((rc = mqws_encode(&pub311, MQWS_MQTT_311, wire_pub311, sizeof wire_pub311, &len_pub311)))
        die("encode PUBLISH 3.1.1", rc);
    if ((rc = mqws_encode(&pub5, MQWS_MQTT_5, wire_pub5, sizeof wire_pub5, &len_pub5)))
        die("encode PUBLISH 5.0", rc);
    if ((rc = mqws_encode(&sub311, MQWS_MQTT_311, wire_sub311, sizeof wire_sub311, &len_sub311)))
        die("encode SUBSCRIBE 3.1.1", rc);
    if ((rc = mqws_encode(&sub5, MQWS_MQTT_5, wire_sub5, sizeof wire_sub5, &len_sub5)))
        die("encode SUBSCRIBE 5.0", rc);
}

static uint64_t enc_pub311(uint64_t n) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t w = 1;
        pub311.packet_id = (uint16_t)i; /* defeats hoisting; ignored at QoS 0 */
        mqws_encode(&pub311, MQWS_MQTT_311, out, sizeof out, &w);
        acc += w + out[w - 1];
    }
    return acc;
}

static uint64_t dec_pub311(uint64_t n) {
    uint64_t acc = 0;
    mqws_packet p;
    for (uint64_t i = 0; i < n; i++) {
        if (mqws_decode(wire_pub311, len_pub311, MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p,
                        NULL) == MQWS_OK)
            acc += p.payload.len + p.topic.len + p.payload.ptr[i & 63];
    }
    return acc;
}

static uint64_t framedec_pub311(uint64_t n) {
    uint64_t acc = 0;
    mqws_packet p;
    mqws_frame_info fi;
    for (uint64_t i = 0; i < n; i++) {
        if (mqws_frame(wire_pub311, len_pub311, 0, &fi) == MQWS_FRAME_READY &&
            mqws_decode(wire_pub311, fi.total_len, MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p,
                        NULL) == MQWS_OK)
            acc += p.payload.len + p.topic.len;
    }
    return acc;
}

static uint64_t iov_pub311(uint64_t n) {
    uint64_t acc = 0;
    mqws_iovec iov[2];
    for (uint64_t i = 0; i < n; i++) {
        pub311.packet_id = (uint16_t)i;
        mqws_encode_publish_iov(&pub311, MQWS_MQTT_311, out, sizeof out, iov);
        acc += iov[0].len + iov[1].len + out[1];
    }
    return acc;
}

static uint64_t enc_pub5(uint64_t n) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t w = 1;
        pub5.props.message_expiry = (uint32_t)i | 1u;
        mqws_encode(&pub5, MQWS_MQTT_5, out, sizeof out, &w);
        acc += w + out[w - 1];
    }
    return acc;
}

static uint64_t iov_pub5(uint64_t n) {
    uint64_t acc = 0;
    mqws_iovec iov[2];
    for (uint64_t i = 0; i < n; i++) {
        pub5.props.message_expiry = (uint32_t)i | 1u;
        mqws_encode_publish_iov(&pub5, MQWS_MQTT_5, out, sizeof out, iov);
        acc += iov[0].len + iov[1].len + out[1];
    }
    return acc;
}

static uint64_t dec_pub5(uint64_t n) {
    uint64_t acc = 0;
    mqws_packet p;
    for (uint64_t i = 0; i < n; i++) {
        if (mqws_decode(wire_pub5, len_pub5, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p, NULL) !=
            MQWS_OK)
            continue;
        /* Read every value, as a broker would: expiry, content type, the user property. */
        mqws_prop_iter it;
        mqws_view k, v;
        acc += p.props.message_expiry + p.props.content_type.len + p.payload.len;
        mqws_props_iter_init(&p.props, &it);
        while (mqws_props_next_user(&it, &k, &v))
            acc += k.len + v.len + v.ptr[0];
    }
    return acc;
}

/* Decode only: the values are readable (fields and iterators), not read, as issue 2 words its
 * targets ("decode (values readable) >= 60 M/s", "SUBSCRIBE with 3 filters decode >= 50 M/s"),
 * so the targets sit on these cases. dec_pub5 and dec_sub311 also read every value and entry,
 * as a broker would: stricter, reported beside them without a target. */
static uint64_t dec_pub5_only(uint64_t n) {
    uint64_t acc = 0;
    mqws_packet p;
    for (uint64_t i = 0; i < n; i++)
        if (mqws_decode(wire_pub5, len_pub5, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p, NULL) ==
            MQWS_OK)
            acc += p.props.message_expiry + p.props.user_prop_count + p.payload.len;
    return acc;
}

static uint64_t dec_sub311_only(uint64_t n) {
    uint64_t acc = 0;
    mqws_packet p;
    for (uint64_t i = 0; i < n; i++)
        if (mqws_decode(wire_sub311, len_sub311, MQWS_MQTT_311, MQWS_DECODE_FROM_CLIENT, &p,
                        NULL) == MQWS_OK)
            acc += p.entry_count + p.entries.len;
    return acc;
}

static uint64_t dec_sub(const uint8_t *wire, size_t len, uint8_t level, uint64_t n) {
    uint64_t acc = 0;
    mqws_packet p;
    for (uint64_t i = 0; i < n; i++) {
        if (mqws_decode(wire, len, level, MQWS_DECODE_FROM_CLIENT, &p, NULL) != MQWS_OK)
            continue;
        mqws_entry_iter it;
        mqws_subscription s;
        mqws_entry_iter_init(&p, level, &it);
        while (mqws_subscribe_next(&it, &s))
            acc += s.filter.len + s.qos + s.filter.ptr[0];
    }
    return acc;
}

static uint64_t dec_sub311(uint64_t n) { return dec_sub(wire_sub311, len_sub311, 4, n); }
static uint64_t dec_sub5(uint64_t n) { return dec_sub(wire_sub5, len_sub5, 5, n); }

static const bench_case cases[] = {
    {"pub311_encode", "3.1.1 PUBLISH encode", enc_pub311, 100},
    {"pub311_decode", "3.1.1 PUBLISH decode", dec_pub311, 150},
    {"pub311_frame_decode", "3.1.1 PUBLISH frame+decode", framedec_pub311, 0},
    {"pub311_encode_iov", "3.1.1 PUBLISH encode_publish_iov", iov_pub311, 0},
    {"pub5_encode", "5.0 PUBLISH+3 props encode", enc_pub5, 40},
    {"pub5_encode_iov", "5.0 PUBLISH+3 props encode_publish_iov", iov_pub5, 0},
    {"pub5_decode", "5.0 PUBLISH+3 props decode, values read", dec_pub5, 0},
    {"pub5_decode_only", "5.0 PUBLISH+3 props decode (values readable)", dec_pub5_only, 60},
    {"sub311_decode", "3.1.1 SUBSCRIBE x3 decode, entries read", dec_sub311, 0},
    {"sub311_decode_only", "3.1.1 SUBSCRIBE x3 decode (entries readable)", dec_sub311_only, 50},
    {"sub5_decode", "5.0 SUBSCRIBE x3 decode, entries read", dec_sub5, 0},
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Packets per second over one time slice: doubles the batch until it takes >= 10 ms, then
 * repeats batches until `slice` seconds have passed. */
static double measure(bench_fn fn, double slice) {
    uint64_t batch = 1024;
    for (;;) {
        double t = now();
        sink += fn(batch);
        if (now() - t >= 0.01)
            break;
        batch *= 2;
    }
    uint64_t done = 0;
    double start = now(), t;
    do {
        sink += fn(batch);
        done += batch;
        t = now();
    } while (t - start < slice);
    return (double)done / (t - start);
}

static void machine_info(void) {
    struct utsname u;
    char line[256], model[256] = "unknown";
    int cpus = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0 && cpus++ == 0) {
                char *c = strchr(line, ':');
                if (c != NULL) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
            }
        }
        fclose(f);
    }
    if (uname(&u) == 0)
        printf("# machine: %s %s %s\n", u.sysname, u.release, u.machine);
    printf("# cpu: %s (%d logical CPUs; this benchmark uses one)\n", model, cpus);
#if defined(__clang__)
    printf("# compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    printf("# compiler: gcc %s\n", __VERSION__);
#endif
    printf("# mqws %s; shared machines are noisy: compare runs made together\n", mqws_version());
}

int main(int argc, char **argv) {
    double slice = 0.4;
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            slice = 0.05;
        } else if (strcmp(argv[i], "--count") == 0 && i + 2 < argc) {
            const char *key = argv[i + 1];
            uint64_t n = strtoull(argv[i + 2], NULL, 10);
            setup();
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
                if (strcmp(cases[c].key, key) == 0) {
                    sink += cases[c].fn(n);
                    printf("%s: %llu packets\n", key, (unsigned long long)n);
                    return 0;
                }
            fprintf(stderr, "bench_codec: no case %s\n", key);
            return 2;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1 || reps > 99)
                reps = 3;
        } else {
            fprintf(stderr, "usage: bench_codec [--quick] [--reps N] | --count KEY N\n");
            return 2;
        }
    }
    setup();
    machine_info();
    printf("# packets: 3.1.1 PUBLISH QoS 0, 12-byte topic, 64-byte payload = %zu bytes; 5.0 "
           "adds message expiry, content type, one user property = %zu bytes; SUBSCRIBE with 3 "
           "filters = %zu / %zu bytes\n",
           len_pub311, len_pub5, len_sub311, len_sub5);
    printf("# median of %d runs of %.2f s of thread CPU time each\n", reps, slice);
    printf("%-46s %10s %9s %8s %8s\n", "case", "M pkt/s", "ns/pkt", "target", "best");

    double results[sizeof cases / sizeof cases[0]];
    unsigned long allocs = 0;
    int missed = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double r[99];
        alloc_count = 0;
        alloc_counting = 1;
        for (int i = 0; i < reps; i++)
            r[i] = measure(cases[c].fn, slice);
        alloc_counting = 0;
        allocs += alloc_count;
        qsort(r, (size_t)reps, sizeof r[0], cmp_double);
        double m = r[reps / 2] / 1e6;
        char target[32] = "-";
        if (cases[c].target > 0) {
            snprintf(target, sizeof target, "%s%.0f", m >= cases[c].target ? ">=" : "MISS ",
                     cases[c].target);
            missed += m < cases[c].target;
        }
        /* "best": the fastest run; other work on a shared machine only ever slows a run down,
         * so the best run shows what the code does when left alone. Targets use the median. */
        printf("%-46s %10.1f %9.2f %8s %8.1f\n", cases[c].name, m, 1e3 / m, target,
               r[reps - 1] / 1e6);
        fflush(stdout);
        results[c] = m;
    }
    /* For bench/run_codec.sh, which matches these keys with bench/codec_mqtt_packet.js. */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        printf("RESULT %s %.3f\n", cases[c].key, results[c]);
    printf("allocations on hot path: %lu\n", allocs);
    printf("targets missed: %d (timings on a shared machine vary; rerun before concluding)\n",
           missed);
    return allocs == 0 ? 0 : 1;
}
