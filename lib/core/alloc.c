/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "internal.h"

static void *libc_alloc(void *ud, size_t n) {
    (void)ud;
    return malloc(n ? n : 1);
}

static void *libc_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
    (void)ud;
    (void)old_n;
    return realloc(p, new_n ? new_n : 1);
}

static void libc_free(void *ud, void *p, size_t n) {
    (void)ud;
    (void)n;
    free(p);
}

static const mqws_allocator libc_allocator = {libc_alloc, libc_realloc, libc_free, NULL};

const mqws_allocator *mqws_allocator_default(void) { return &libc_allocator; }

mqws_view mqws_view_cstr(const char *s) {
    mqws_view v = {(const uint8_t *)s, s ? strlen(s) : 0};
    return v;
}

int mqws_view_eq(mqws_view a, mqws_view b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
