/* Private helpers shared by every module of lib/. Never installed.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_LIB_CORE_INTERNAL_H
#define MQWS_LIB_CORE_INTERNAL_H

#include <string.h>

#include "mqws/core.h"

#if defined(__GNUC__) || defined(__clang__)
#define MQWS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define MQWS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MQWS_INLINE      static inline __attribute__((always_inline))
#else
#define MQWS_LIKELY(x)   (x)
#define MQWS_UNLIKELY(x) (x)
#define MQWS_INLINE      static inline
#endif

/* A deliberate fall-through between switch labels (clang's -Wimplicit-fallthrough does not
 * accept comments). */
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define MQWS_FALLTHROUGH __attribute__((fallthrough))
#endif
#endif
#ifndef MQWS_FALLTHROUGH
#define MQWS_FALLTHROUGH ((void)0)
#endif

/* Allocation through the host's hooks. `a` is never NULL inside lib/: objects store the
 * allocator they were created with (mqws_allocator_default() when the host gave none). */
MQWS_INLINE void *mqws__alloc(const mqws_allocator *a, size_t n) { return a->alloc(a->ud, n); }
MQWS_INLINE void *mqws__realloc(const mqws_allocator *a, void *p, size_t old_n, size_t new_n) {
    return a->realloc(a->ud, p, old_n, new_n);
}
MQWS_INLINE void mqws__free(const mqws_allocator *a, void *p, size_t n) {
    if (p)
        a->free(a->ud, p, n);
}
/* The allocator to use for a possibly-NULL host pointer. */
MQWS_INLINE const mqws_allocator *mqws__allocator_or_default(const mqws_allocator *a) {
    return a ? a : mqws_allocator_default();
}

/* Big-endian loads and stores (MQTT and WebSocket are network order). */
MQWS_INLINE uint16_t mqws__load16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
MQWS_INLINE uint32_t mqws__load32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
MQWS_INLINE uint64_t mqws__load64(const uint8_t *p) {
    return ((uint64_t)mqws__load32(p) << 32) | mqws__load32(p + 4);
}
MQWS_INLINE void mqws__store16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
MQWS_INLINE void mqws__store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
MQWS_INLINE void mqws__store64(uint8_t *p, uint64_t v) {
    mqws__store32(p, (uint32_t)(v >> 32));
    mqws__store32(p + 4, (uint32_t)v);
}

/* Topic syntax shared by the codec and the topic module (MQTT 5 §4.7, 3.1.1 §4.7).
 * Name: at least one byte [MQTT-4.7.3-1], no '+' or '#' [MQTT-4.7.0-1]... see topic.c.
 * Both assume the bytes already passed UTF-8 validation. Return MQWS_OK or MQWS_EMALFORMED /
 * MQWS_EPROTO with *statement set to the spec statement broken. */
int mqws__topic_name_syntax(const uint8_t *s, size_t len, const char **statement);
int mqws__topic_filter_syntax(const uint8_t *s, size_t len, const char **statement);

#endif
