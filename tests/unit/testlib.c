/* SPDX-License-Identifier: MIT */
#include "testlib.h"

#include <stdarg.h>
#include <stdlib.h>

static int passed, failed, current_failed;
static const char *current_name;

void testlib_run(const char *name, void (*fn)(void)) {
    current_name = name;
    current_failed = 0;
    fn();
    if (current_failed) {
        failed++;
        printf("FAIL %s\n", name);
    } else {
        passed++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
}

int testlib_finish(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

void testlib_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: [%s] ", file, line, current_name ? current_name : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed++;
}

static void dump(const char *label, const uint8_t *p, size_t n) {
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 96; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, n > 96 ? " ...\n" : "\n");
}

void testlib_check_mem(const char *file, int line, const char *expr, const void *a, size_t alen,
                       const void *b, size_t blen) {
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
        return;
    testlib_fail(file, line, "%s: bytes differ", expr);
    dump("got", a, alen);
    dump("expected", b, blen);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t testlib_hex(const char *hex, uint8_t *buf, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == ':')
            continue;
        int v = hexval((unsigned char)*p);
        if (v < 0 || n >= cap) {
            fprintf(stderr, "testlib_hex: bad hex or overflow in \"%s\"\n", hex);
            abort();
        }
        if (hi < 0) {
            hi = v;
        } else {
            buf[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        fprintf(stderr, "testlib_hex: odd digit count in \"%s\"\n", hex);
        abort();
    }
    return n;
}

uint64_t testlib_rand(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

size_t testlib_rand_below(uint64_t *s, size_t n) { return (size_t)(testlib_rand(s) % n); }

/* Block layout: [size_t size][size_t magic][user bytes]. */
#define HDR        (2 * sizeof(size_t))
#define MAGIC_LIVE ((size_t)0x4D515753u)
#define MAGIC_DEAD ((size_t)0xDEADBEEFu)

static int should_fail(testlib_alloc *t) {
    t->count++;
    return t->fail_at > 0 && t->count == t->fail_at;
}

static void *t_alloc(void *ud, size_t n) {
    testlib_alloc *t = ud;
    if (should_fail(t))
        return NULL;
    size_t *h = malloc(HDR + n);
    if (!h)
        return NULL;
    h[0] = n;
    h[1] = MAGIC_LIVE;
    t->live_bytes += n;
    t->live_blocks++;
    if (t->live_bytes > t->peak_bytes)
        t->peak_bytes = t->live_bytes;
    return (uint8_t *)h + HDR;
}

static size_t *header_of(testlib_alloc *t, void *p, size_t n) {
    size_t *h = (size_t *)(void *)((uint8_t *)p - HDR);
    if (h[1] != MAGIC_LIVE) {
        fprintf(stderr, "testlib_alloc: free/realloc of a block that is not live\n");
        t->errors++;
        return NULL;
    }
    if (h[0] != n) {
        fprintf(stderr, "testlib_alloc: size mismatch: block has %zu, caller says %zu\n", h[0], n);
        t->errors++;
    }
    return h;
}

static void t_free(void *ud, void *p, size_t n) {
    testlib_alloc *t = ud;
    if (!p)
        return;
    size_t *h = header_of(t, p, n);
    if (!h)
        return;
    t->live_bytes -= h[0];
    t->live_blocks--;
    h[1] = MAGIC_DEAD;
    free(h);
}

static void *t_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
    testlib_alloc *t = ud;
    if (!p)
        return t_alloc(ud, new_n);
    if (new_n > old_n && should_fail(t))
        return NULL;
    size_t *h = header_of(t, p, old_n);
    if (!h)
        return NULL;
    size_t had = h[0];
    size_t *nh = realloc(h, HDR + new_n);
    if (!nh)
        return NULL;
    nh[0] = new_n;
    t->live_bytes = t->live_bytes - had + new_n;
    if (t->live_bytes > t->peak_bytes)
        t->peak_bytes = t->live_bytes;
    return (uint8_t *)nh + HDR;
}

void testlib_alloc_init(testlib_alloc *t, long fail_at) {
    memset(t, 0, sizeof *t);
    t->a.alloc = t_alloc;
    t->a.realloc = t_realloc;
    t->a.free = t_free;
    t->a.ud = t;
    t->fail_at = fail_at;
}

void testlib_alloc_check_clean(testlib_alloc *t, const char *file, int line) {
    if (t->live_blocks != 0 || t->live_bytes != 0)
        testlib_fail(file, line, "allocator: %ld blocks / %zu bytes still live", t->live_blocks,
                     t->live_bytes);
    if (t->errors)
        testlib_fail(file, line, "allocator: %ld misuse errors", t->errors);
}
