/* Private helpers of the topic module: level splitting and hashing.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_LIB_TOPIC_INTERNAL_H
#define MQWS_LIB_TOPIC_INTERNAL_H

#include "internal.h"
#include "mqws/topic.h"

#define MQWS__K1 0x9E3779B97F4A7C15ull
#define MQWS__K2 0xC2B2AE3D27D4EB4Full

MQWS_INLINE uint64_t mqws__topic_mix(uint64_t h) {
    h ^= h >> 32;
    h *= MQWS__K2;
    h ^= h >> 29;
    return h;
}

/* Hash of one level's bytes: 8 bytes per multiply; levels are short, so no vector tricks. */
MQWS_INLINE uint64_t mqws__topic_hash_bytes(const uint8_t *p, size_t n, uint64_t seed) {
    uint64_t h = seed ^ ((uint64_t)n * MQWS__K1);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * MQWS__K1;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + n - 4, 4);
            w = ((uint64_t)a << 32) | b;
        } else {
            w = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
        }
        h = (h ^ w) * MQWS__K1;
        h ^= h >> 31;
    }
    return h;
}

/* Combine the next literal level's hash into a key. */
MQWS_INLINE uint64_t mqws__topic_combine(uint64_t key, uint64_t level_hash) {
    return (key ^ level_hash) * MQWS__K2 + 0x165667B19E3779F9ull;
}

#endif
