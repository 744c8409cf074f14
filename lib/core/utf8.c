/* UTF-8 validation (RFC 3629 §4 table of well-formed sequences; MQTT 5 §1.5.4).
 * SPDX-License-Identifier: MIT */
#include "internal.h"

/* Validation state: the number of continuation bytes still expected (bits 16..17) and the
 * allowed range of the next one (lo in bits 8..15, hi in bits 0..7). 0 = at a boundary. */
#define ST(rem, lo, hi) (((uint32_t)(rem) << 16) | ((uint32_t)(lo) << 8) | (uint32_t)(hi))
#define ST_ERROR        0xFFFFFFFFu

/* One step of the RFC 3629 automaton. The first-continuation ranges exclude overlongs
 * (E0 A0.., F0 90..), surrogates (ED ..9F) and code points above U+10FFFF (F4 ..8F). */
MQWS_INLINE uint32_t step(uint32_t st, uint8_t b) {
    if (st == 0) {
        if (b < 0x80)
            return 0;
        if (b < 0xC2)
            return ST_ERROR; /* stray continuation or overlong 2-byte lead */
        if (b < 0xE0)
            return ST(1, 0x80, 0xBF);
        if (b == 0xE0)
            return ST(2, 0xA0, 0xBF);
        if (b == 0xED)
            return ST(2, 0x80, 0x9F);
        if (b < 0xF0)
            return ST(2, 0x80, 0xBF);
        if (b == 0xF0)
            return ST(3, 0x90, 0xBF);
        if (b < 0xF4)
            return ST(3, 0x80, 0xBF);
        if (b == 0xF4)
            return ST(3, 0x80, 0x8F);
        return ST_ERROR;
    }
    uint32_t lo = (st >> 8) & 0xFF, hi = st & 0xFF, rem = st >> 16;
    if (b < lo || b > hi)
        return ST_ERROR;
    return rem == 1 ? 0 : ST(rem - 1, 0x80, 0xBF);
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

int mqws_utf8_check_mqtt(const uint8_t *s, size_t len, size_t *bad_at) {
    size_t i = 0;
    uint32_t st = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time: no high bit and no zero byte. */
        if (st == 0) {
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if ((w & HIGHS) || ((w - ONES) & ~w & HIGHS))
                    break;
                i += 8;
            }
            if (i >= len)
                break;
        }
        uint8_t b = s[i];
        if (b == 0) { /* [MQTT-1.5.4-2] */
            if (bad_at)
                *bad_at = i;
            return MQWS_EUTF8;
        }
        st = step(st, b);
        if (st == ST_ERROR) { /* [MQTT-1.5.4-1] */
            if (bad_at)
                *bad_at = i;
            return MQWS_EUTF8;
        }
        i++;
    }
    if (st != 0) { /* truncated sequence */
        if (bad_at)
            *bad_at = len;
        return MQWS_EUTF8;
    }
    return MQWS_OK;
}

int mqws_utf8_has_discouraged(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t c = s[i];
        size_t n;
        if (c < 0x80) {
            n = 1;
        } else if (c < 0xE0) {
            n = 2;
            c &= 0x1F;
        } else if (c < 0xF0) {
            n = 3;
            c &= 0x0F;
        } else {
            n = 4;
            c &= 0x07;
        }
        if (i + n > len)
            return 0; /* not validated input; nothing more to say */
        for (size_t k = 1; k < n; k++)
            c = (c << 6) | (s[i + k] & 0x3Fu);
        i += n;
        if ((c >= 0x01 && c <= 0x1F) || (c >= 0x7F && c <= 0x9F))
            return 1;
        if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
            return 1;
    }
    return 0;
}

int mqws_utf8_stream_feed(mqws_utf8_stream *stream, const uint8_t *s, size_t len, size_t *bad_at) {
    uint32_t st = stream->state;
    if (st == ST_ERROR) {
        if (bad_at)
            *bad_at = 0;
        return MQWS_EUTF8;
    }
    size_t i = 0;
    while (i < len) {
        if (st == 0) {
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & HIGHS)
                    break;
                i += 8;
            }
            if (i >= len)
                break;
        }
        st = step(st, s[i]);
        if (st == ST_ERROR) {
            stream->state = ST_ERROR;
            if (bad_at)
                *bad_at = i;
            return MQWS_EUTF8;
        }
        i++;
    }
    stream->state = st;
    return MQWS_OK;
}

int mqws_utf8_stream_complete(const mqws_utf8_stream *stream) { return stream->state == 0; }
