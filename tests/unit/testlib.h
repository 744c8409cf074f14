/* A small test harness for mqws unit tests: checks that report file:line, a failing and
 * counting allocator, a deterministic PRNG for random split points, and hex helpers.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_TESTLIB_H
#define MQWS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mqws/core.h"

/* Define a test: TEST(name) { ... }  and run it from main() with RUN(name). Name tests after
 * the spec statement or RFC section they check, e.g. TEST(mqtt_3_3_1_4_qos3_is_malformed). */
#define TEST(name) static void name(void)
#define RUN(name)  testlib_run(#name, name)

void testlib_run(const char *name, void (*fn)(void));
/* Prints "N passed, M failed" for this binary and returns the process exit status. */
int testlib_finish(void);
void testlib_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            testlib_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                  \
    } while (0)
#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_)                                                                            \
            testlib_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, va_, #b, vb_); \
    } while (0)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                                 \
            testlib_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,                  \
                         sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                              \
    } while (0)
#define CHECK_MEM(a, alen, b, blen)                                                                \
    testlib_check_mem(__FILE__, __LINE__, #a, (const void *)(a), (size_t)(alen),                   \
                      (const void *)(b), (size_t)(blen))
/* A view equals a C string. */
#define CHECK_VIEW(v, cstr) CHECK_MEM((v).ptr, (v).len, (cstr), strlen(cstr))

void testlib_check_mem(const char *file, int line, const char *expr, const void *a, size_t alen,
                       const void *b, size_t blen);

/* Hex: "10 0c 00 04" (spaces ignored) into buf; returns the length. Aborts on bad input. */
size_t testlib_hex(const char *hex, uint8_t *buf, size_t cap);

/* Deterministic xorshift PRNG. */
uint64_t testlib_rand(uint64_t *state);
/* Uniform in [0, n), n > 0. */
size_t testlib_rand_below(uint64_t *state, size_t n);

/* Failing and counting allocator. Every block carries a header with its size, so a wrong
 * size passed back to free/realloc, a double free or a leak is caught. */
typedef struct testlib_alloc {
    mqws_allocator a;  /* pass &t.a to mqws */
    long fail_at;      /* the Nth allocation (1-based, alloc or growing realloc) fails; 0 = never */
    long count;        /* allocations attempted so far */
    size_t live_bytes; /* bytes currently allocated */
    size_t peak_bytes;
    long live_blocks;
    long errors; /* size mismatches, double frees */
} testlib_alloc;

void testlib_alloc_init(testlib_alloc *t, long fail_at);
/* Fails the test if blocks are still live or errors were seen. */
void testlib_alloc_check_clean(testlib_alloc *t, const char *file, int line);
#define CHECK_ALLOC_CLEAN(t) testlib_alloc_check_clean((t), __FILE__, __LINE__)

#endif
