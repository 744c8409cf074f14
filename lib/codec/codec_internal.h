/* Private to lib/codec: the rules shared by the decoder, the encoder and mqws_validate(), so that
 * each spec statement is written down once. Never installed.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_LIB_CODEC_INTERNAL_H
#define MQWS_LIB_CODEC_INTERNAL_H

#include "internal.h"
#include "mqws/codec.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MQWS_COLD     __attribute__((cold, noinline))
#define MQWS_NOINLINE __attribute__((noinline))
#else
#define MQWS_COLD
#define MQWS_NOINLINE
#endif

/* Property value kinds (§2.2.2.2). */
enum {
    MQWS__PK_NONE = 0,
    MQWS__PK_BYTE,
    MQWS__PK_U16,
    MQWS__PK_U32,
    MQWS__PK_VARINT,
    MQWS__PK_STR,
    MQWS__PK_BIN,
    MQWS__PK_PAIR
};

/* Allowed properties per context: index = packet type (1..15) or MQWS_PROPS_WILL. */
extern const uint32_t mqws__prop_mask[17];
/* The value kind of a property identifier, or MQWS__PK_NONE. */
int mqws__prop_kind(int id);
extern const uint8_t mqws__prop_kind_of_id[0x2B];
/* The identifier of presence bit number `bit` (0..26), and the bit of identifier `id` (< 0x2B). */
extern const uint8_t mqws__prop_id_of_bit[27];
extern const uint32_t mqws__prop_bit_of_id[0x2B];

/* Reason codes valid per packet type at 5.0: bit (1 << type) set in mqws__rc5_mask[code]. */
extern const uint16_t mqws__rc5_mask[256];

/* Fills `err` (when non-NULL) and returns `code`. Kept out of line: only error paths call it. */
MQWS_COLD int mqws__fail(mqws_decode_error *err, int code, const char *statement,
                         const char *message, size_t offset);

/* ------------------------------------------------------------------------------------------ */
/* Text checks. The fast path accepts 8 bytes at a time when they are all ASCII, non-zero and
 * (for topic names) not a wildcard; anything else goes through the full validators, which also
 * name the statement. */

#define MQWS__ONES  0x0101010101010101ull
#define MQWS__HIGHS 0x8080808080808080ull
#define MQWS__LOWS  0x7F7F7F7F7F7F7F7Full

MQWS_INLINE uint64_t mqws__ld64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}
MQWS_INLINE uint32_t mqws__ld32ne(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}
/* The 8 bytes to check of a string of n bytes starting at s, n <= 8, without reading outside
 * it: short strings are padded with 'a' (which passes every check); overlapping loads are fine
 * because only the presence of a bad byte matters. */
MQWS_INLINE uint64_t mqws__ld_short(const uint8_t *s, size_t n) {
    if (n >= 4)
        return (uint64_t)mqws__ld32ne(s) | ((uint64_t)mqws__ld32ne(s + n - 4) << 32);
    if (n == 0)
        return 0x6161616161616161ull;
    return 0x6161616161000000ull | (uint64_t)s[0] | ((uint64_t)s[n >> 1] << 8) |
           ((uint64_t)s[n - 1] << 16);
}
/* High bit set in some lane iff a lane is >= 0x80 or 0 (or, if `topic`, '+' or '#'); the caller
 * masks with MQWS__HIGHS. A borrow out of a bad lane may flag its neighbour too, which only
 * matters when the word is already bad. '#' (0x23) and '+' (0x2B) differ only in bit 3, so one
 * subtraction finds both; lanes >= 0x80 stay >= 0x80 through the xor and are bad anyway. */
MQWS_INLINE uint64_t mqws__swar_word(uint64_t w, int topic) {
    uint64_t bad = (w - MQWS__ONES) | w;
    if (topic)
        bad |= ((w | 0x0808080808080808ull) ^ 0x2B2B2B2B2B2B2B2Bull) - MQWS__ONES;
    return bad;
}
/* The 16 bytes of words a and b are ASCII without NUL, '+' or '#'. With SSE2 the work stays in
 * vector registers (no 64-bit constants to hold), which keeps short leaf paths free of spills. */
MQWS_INLINE int mqws__topic_words_ok(uint64_t a, uint64_t b) {
#if defined(__SSE2__)
    __m128i v = _mm_set_epi64x((long long)b, (long long)a);
    __m128i bad =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
                     _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(8)), _mm_set1_epi8(0x2B)));
    return _mm_movemask_epi8(_mm_or_si128(bad, v)) == 0;
#else
    return !((mqws__swar_word(a, 1) | mqws__swar_word(b, 1)) & MQWS__HIGHS);
#endif
}

/* 1 if s[0..n) is ASCII without NUL (and, if `topic`, without '+' and '#'). */
MQWS_INLINE int mqws__fast_text(const uint8_t *s, size_t n, int topic) {
    uint64_t bad;
    if (MQWS_LIKELY(n <= 8)) {
        bad = mqws__swar_word(mqws__ld_short(s, n), topic);
    } else if (MQWS_LIKELY(n <= 16)) {
        bad = mqws__swar_word(mqws__ld64(s), topic) | mqws__swar_word(mqws__ld64(s + n - 8), topic);
    } else {
        bad = mqws__swar_word(mqws__ld64(s + n - 8), topic);
        for (size_t i = 0; i + 8 < n; i += 8)
            bad |= mqws__swar_word(mqws__ld64(s + i), topic);
    }
    return (bad & MQWS__HIGHS) == 0;
}
#if defined(__SSE2__)
/* Lanes of v that are >= 0x80 or 0 (or, if `topic`, '+' or '#'), as a 16-bit mask. */
MQWS_INLINE unsigned mqws__sse_bad(__m128i v, int topic) {
    __m128i bad = _mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    if (topic)
        bad = _mm_or_si128(bad,
                           _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(8)), _mm_set1_epi8(0x2B)));
    return (unsigned)_mm_movemask_epi8(bad);
}
#endif

/* mqws__fast_text() for a string that lies inside the readable range [lo, hi) (the packet):
 * with SSE2, one 16-byte load for a string of up to 16 bytes, taken so that it ends where the
 * string ends (or starts where it starts) without leaving [lo, hi), and the lanes outside the
 * string masked off. Falls back to mqws__fast_text() near both ends of a tiny buffer. */
MQWS_INLINE int mqws__fast_text_in(const uint8_t *s, size_t n, const uint8_t *lo, const uint8_t *hi,
                                   int topic) {
#if defined(__SSE2__)
    if (MQWS_LIKELY(n <= 16)) {
        if (MQWS_LIKELY((size_t)(s + n - lo) >= 16))
            return (mqws__sse_bad(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)),
                                  topic) >>
                    (16 - n)) == 0;
        if (MQWS_LIKELY((size_t)(hi - s) >= 16))
            return (mqws__sse_bad(_mm_loadu_si128((const __m128i *)(const void *)s), topic) &
                    ((1u << n) - 1)) == 0;
        return mqws__fast_text(s, n, topic);
    }
    unsigned bad =
        mqws__sse_bad(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)), topic);
    for (size_t i = 0; i + 16 < n; i += 16)
        bad |= mqws__sse_bad(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), topic);
    return bad == 0;
#else
    (void)lo;
    (void)hi;
    return mqws__fast_text(s, n, topic);
#endif
}

/* Exactly the lanes of w equal to '+' or '#' (high bit of each such lane). */
MQWS_INLINE uint64_t mqws__swar_wild(uint64_t w) {
    uint64_t x = (w | 0x0808080808080808ull) ^ 0x2B2B2B2B2B2B2B2Bull;
    return ~(((x & MQWS__LOWS) + MQWS__LOWS) | x | MQWS__LOWS);
}
/* Wildcards of an ASCII filter at positions given by `m` (lanes of the word at `base`) are at
 * legal places [MQTT-4.7.1-1] [MQTT-4.7.1-2]. */
MQWS_INLINE int mqws__wild_ok(const uint8_t *s, size_t n, size_t base, uint64_t m) {
    while (m) {
        size_t i = base + (size_t)(__builtin_ctzll(m) >> 3);
        m &= m - 1;
        if (i > 0 && s[i - 1] != '/')
            return 0;
        if (s[i] == '#' ? i != n - 1 : (i + 1 < n && s[i + 1] != '/'))
            return 0;
    }
    return 1;
}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The 8 filter bytes at s + i: ASCII without NUL, and any wildcard in them at a legal place. */
MQWS_INLINE int mqws__filter_word(const uint8_t *s, size_t n, size_t i) {
    uint64_t w = mqws__ld64(s + i);
    uint64_t x = (w | 0x0808080808080808ull) ^ 0x2B2B2B2B2B2B2B2Bull;
    /* One test for "plain word": ASCII, no NUL, no wildcard (x lane 0). */
    if (MQWS_LIKELY(!(((w - MQWS__ONES) | w | (x - MQWS__ONES)) & MQWS__HIGHS)))
        return 1;
    if (((w - MQWS__ONES) | w) & MQWS__HIGHS)
        return 0;
    return mqws__wild_ok(s, n, i, ~(((x & MQWS__LOWS) + MQWS__LOWS) | x | MQWS__LOWS));
}
#endif

/* 1 if s[0..n) is a non-empty ASCII topic filter with legal wildcards. One pass: each word is
 * checked for non-ASCII and NUL, and its wildcard lanes (usually none) are looked at. */
MQWS_INLINE int mqws__fast_filter(const uint8_t *s, size_t n) {
    if (MQWS_UNLIKELY(n - 1 >= 64))
        return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8)
            if (!mqws__filter_word(s, n, i))
                return 0;
        return mqws__filter_word(s, n, n - 8); /* overlaps the previous word */
    }
#endif
    if (n <= 8 && mqws__fast_text(s, n, 1))
        return 1; /* short and without wildcards */
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if ((uint8_t)(c - 1) >= 0x7F)
            return 0;
        if ((c | 8) == '+') {
            if (i > 0 && s[i - 1] != '/')
                return 0;
            if (c == '#' ? i != n - 1 : (i + 1 < n && s[i + 1] != '/'))
                return 0;
        }
    }
    return 1;
}

/* The bytes at positions base + (bits of m) of filter s[0..n), each a wildcard or a bad byte:
 * 1 if all are wildcards at legal places [MQTT-4.7.1-1] [MQTT-4.7.1-2]. */
MQWS_INLINE int mqws__wild_at(const uint8_t *s, size_t n, size_t base, unsigned m) {
    do {
        size_t i = base + (size_t)__builtin_ctz(m);
        unsigned c = s[i];
        m &= m - 1;
        if ((c | 8) != '+') /* not a wildcard: >= 0x80 or NUL */
            return 0;
        if (i > 0 && s[i - 1] != '/')
            return 0;
        if (c == '#' ? i != n - 1 : (i + 1 < n && s[i + 1] != '/'))
            return 0;
    } while (m);
    return 1;
}

#if defined(__SSE2__)
#define MQWS__LD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
/* Lanes of a 16-byte block that are >= 0x80, NUL, '+' or '#'. */
MQWS_INLINE unsigned mqws__fblock(__m128i v) {
    __m128i x = _mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    x = _mm_or_si128(x, _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(8)), _mm_set1_epi8(0x2B)));
    return (unsigned)_mm_movemask_epi8(x);
}
#endif

/* mqws__fast_filter() for a filter inside the readable range [lo, hi) (the packet): with SSE2,
 * each 16-byte block (loads never leave [lo, hi)) gives the lanes that are not plain ASCII;
 * usually none, otherwise each must be a wildcard at a legal place (mqws__wild_at). */
MQWS_INLINE int mqws__fast_filter_in(const uint8_t *s, size_t n, const uint8_t *lo,
                                     const uint8_t *hi) {
#if defined(__SSE2__)
    if (MQWS_UNLIKELY(n - 1 >= 64))
        return 0;
    unsigned m;
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 < n; i += 16)
            if (MQWS_UNLIKELY((m = mqws__fblock(MQWS__LD128(s + i))) != 0) &&
                !mqws__wild_at(s, n, i, m))
                return 0;
        /* The last block overlaps the previous one by 16 - (n - i) lanes, already looked at. */
        m = mqws__fblock(MQWS__LD128(s + n - 16)) & (0xFFFFu << (16 - (n - i)));
        return MQWS_LIKELY(!m) || mqws__wild_at(s, n, n - 16, m);
    }
    if (MQWS_LIKELY((size_t)(s + n - lo) >= 16)) {
        m = mqws__fblock(MQWS__LD128(s + n - 16)) >> (16 - n);
    } else if (MQWS_LIKELY((size_t)(hi - s) >= 16)) {
        m = mqws__fblock(MQWS__LD128(s)) & ((1u << n) - 1);
    } else {
        return mqws__fast_filter(s, n);
    }
    return MQWS_LIKELY(!m) || mqws__wild_at(s, n, 0, m);
#else
    (void)lo;
    (void)hi;
    return mqws__fast_filter(s, n);
#endif
}

/* Slow paths, with the statement. */
int mqws__utf8_slow(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err, size_t off);
int mqws__topic_name_slow(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err,
                          size_t off);

/* The Response Topic: a topic name, without wildcards [MQTT-3.3.2-14]. */
int mqws__response_topic_slow(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err,
                              size_t off);
MQWS_INLINE int mqws__check_response_topic(const uint8_t *s, size_t n, uint8_t level,
                                           mqws_decode_error *err, size_t off) {
    if (MQWS_LIKELY(n > 0 && mqws__fast_text(s, n, 1)))
        return MQWS_OK;
    return mqws__response_topic_slow(s, n, level, err, off);
}
/* A UTF-8 Encoded String [MQTT-1.5.4-1] [MQTT-1.5.4-2]: MQWS_OK or MQWS_EMALFORMED. */
MQWS_INLINE int mqws__check_utf8(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err,
                                 size_t off) {
    if (MQWS_LIKELY(mqws__fast_text(s, n, 0)))
        return MQWS_OK;
    return mqws__utf8_slow(s, n, level, err, off);
}
/* A non-empty topic name: UTF-8, no wildcards [MQTT-3.3.2-2], at least one byte [MQTT-4.7.3-1]. */
MQWS_INLINE int mqws__check_topic_name(const uint8_t *s, size_t n, uint8_t level,
                                       mqws_decode_error *err, size_t off) {
    if (MQWS_LIKELY(n > 0 && mqws__fast_text(s, n, 1)))
        return MQWS_OK;
    return mqws__topic_name_slow(s, n, level, err, off);
}

/* ------------------------------------------------------------------------------------------ */
/* Rules shared by decode and validate. Each returns MQWS_OK or fails through mqws__fail(). */

/* Packet identifier non-zero [MQTT-2.2.1-3] (5.0) / [MQTT-2.3.1-1] (3.x). */
MQWS_COLD int mqws__fail_packet_id(uint8_t level, mqws_decode_error *err, size_t off);
MQWS_INLINE int mqws__check_packet_id(uint16_t id, uint8_t level, mqws_decode_error *err,
                                      size_t off) {
    if (MQWS_LIKELY(id != 0))
        return MQWS_OK;
    return mqws__fail_packet_id(level, err, off);
}

/* The fixed-header flags of a non-PUBLISH type [MQTT-2.1.3-1] / 3.x [MQTT-2.2.2-1]. */
int mqws__check_fixed_flags(int type, unsigned flags, uint8_t level, mqws_decode_error *err);
/* PUBLISH flags: QoS 3 [MQTT-3.3.1-4], DUP with QoS 0 [MQTT-3.3.1-2]. */
int mqws__check_publish_flags(unsigned dup, unsigned qos, mqws_decode_error *err);
/* Packet type allowed at `level` and in the direction given by `dir` (MQWS_DECODE_FROM_*). */
int mqws__check_type(int type, uint8_t level, uint32_t dir, mqws_decode_error *err);
/* A reason code valid in `type` at `level` (3.x CONNACK 0..5, SUBACK 0..2 (+0x80 in 3.1.1)). */
int mqws__check_reason(int code, int type, uint8_t level, mqws_decode_error *err, size_t off);
/* CONNECT flags byte (reserved bit, will and password rules) at `level`. */
int mqws__check_connect_flags(unsigned f, uint8_t level, mqws_decode_error *err, size_t off);
/* CONNACK acknowledge flags and return/reason code at `level`. */
int mqws__check_connack(unsigned ack_flags, unsigned code, uint8_t level, mqws_decode_error *err,
                        size_t off);
/* SUBSCRIBE options byte at `level` (reserved bits, QoS 3, retain handling 3). */
int mqws__check_sub_options(unsigned o, uint8_t level, mqws_decode_error *err, size_t off);
/* A topic filter in SUBSCRIBE / UNSUBSCRIBE: UTF-8, wildcard placement, shared-subscription
 * syntax at 5.0, and no No Local on a shared subscription [MQTT-3.8.3-4]. */
int mqws__check_filter(const uint8_t *s, size_t n, uint8_t level, int no_local,
                       mqws_decode_error *err, size_t off);
/* The common case inline: an ASCII filter with legal wildcards and no "$share/" at 5.0. */
MQWS_INLINE int mqws__check_filter_fast(const uint8_t *s, size_t n, uint8_t level, int no_local,
                                        mqws_decode_error *err, size_t off) {
    if (MQWS_LIKELY(mqws__fast_filter(s, n) && !(level == MQWS_MQTT_5 && s[0] == '$')))
        return MQWS_OK;
    return mqws__check_filter(s, n, level, no_local, err, off);
}
/* One property value: the range rules of §3 (booleans 0/1, non-zero maxima, topic alias 0,
 * subscription identifier 0). Strings are checked separately. */
int mqws__check_prop_value(int id, uint32_t v, mqws_decode_error *err, size_t off);
/* Rules that involve more than one property or the packet around them. `ctx` is a packet type
 * or MQWS_PROPS_WILL; `dir` is MQWS_DECODE_FROM_* flags. */
int mqws__check_props_cross(uint32_t present, int ctx, uint32_t dir, mqws_decode_error *err,
                            size_t off);

/* ------------------------------------------------------------------------------------------ */
/* Properties. */

/* Parse and validate a property block p[0..n) for context `ctx` (packet type or
 * MQWS_PROPS_WILL). Fills `out` as mqws_decode() documents. `off` is the offset of p in the
 * packet, for error offsets. */
int mqws__props_parse(const uint8_t *p, size_t n, int ctx, uint8_t level, mqws_props *out,
                      mqws_decode_error *err, size_t off);

/* Encoding plan for one property block: its length and whether `raw` is written verbatim. */
typedef struct mqws__pplan {
    uint32_t len;      /* bytes of the property block, without its length field */
    uint8_t verbatim;  /* 1: props->raw reproduces the fields exactly and is copied */
    uint8_t user_mode; /* 0 none, 1 from user_props, 2 copied from raw */
    uint8_t sub_mode;  /* 0 none, 1 from sub_ids, 2 the single subscription_id */
} mqws__pplan;

/* Compute the plan; MQWS_OK or MQWS_EINVAL (not allowed in ctx, bad value, bad raw). */
int mqws__props_plan(const mqws_props *pr, int ctx, mqws__pplan *plan);
/* Write the block (without its length) as planned; returns the end. */
uint8_t *mqws__props_write(uint8_t *o, const mqws_props *pr, const mqws__pplan *plan);
/* Full validation of a property block about to be encoded (mqws_validate). */
int mqws__props_validate(const mqws_props *pr, int ctx, uint8_t level, uint32_t dir,
                         mqws_decode_error *err);

/* Variable byte integer reader bounded by `end`: bytes used, 0 if truncated, <0 if malformed
 * (a fifth byte, or a non-minimal encoding [MQTT-1.5.5-1]). Inline, without calls. */
MQWS_INLINE int mqws__rd_varint(const uint8_t *p, const uint8_t *end, uint32_t *v) {
    if (MQWS_LIKELY(p < end && !(p[0] & 0x80))) {
        *v = p[0];
        return 1;
    }
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        if (p + i >= end)
            return 0;
        uint8_t b = p[i];
        x |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0)
                return -1;
            *v = x;
            return i + 1;
        }
    }
    return -1;
}
MQWS_INLINE size_t mqws__varint_size(uint32_t v) {
    return v < 128u ? 1 : v < 16384u ? 2 : v < 2097152u ? 3 : 4;
}
/* Write v (<= MQWS_VARINT_MAX) as a variable byte integer; returns the end. */
MQWS_INLINE uint8_t *mqws__wr_varint(uint8_t *o, uint32_t v) {
    while (v >= 128) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}
/* memcpy for the short strings of MQTT headers without a call; long ones use memcpy. */
MQWS_INLINE void mqws__copy(uint8_t *d, const uint8_t *s, size_t n) {
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n) {
        uint8_t a = s[0], b = s[n >> 1], c = s[n - 1];
        d[0] = a;
        d[n >> 1] = b;
        d[n - 1] = c;
    }
}
MQWS_INLINE uint8_t *mqws__wr_str(uint8_t *o, mqws_view v) {
    mqws__store16(o, (uint16_t)v.len);
    mqws__copy(o + 2, v.ptr, v.len);
    return o + 2 + v.len;
}

/* ------------------------------------------------------------------------------------------ */
/* Property parsing, inline so the PUBLISH fast path gets a copy specialised for its context. */

extern const uint8_t mqws__prop_off_of_id[0x2B];

/* Everything the parser needs about an identifier byte, for all 256 values (0 bit = invalid). */
typedef struct mqws__propinfo {
    uint32_t bit;
    uint8_t kind;
    uint8_t off;
} mqws__propinfo;
extern const mqws__propinfo mqws__props_by_id[256];

/* Two-byte and four-byte properties that must not be 0 (Receive Maximum, Topic Alias, Maximum
 * Packet Size); every byte property is a 0/1 value. */
#define MQWS__NONZERO_PROPS                                                                        \
    (MQWS_PROPF_RECEIVE_MAXIMUM | MQWS_PROPF_TOPIC_ALIAS | MQWS_PROPF_MAXIMUM_PACKET_SIZE)

#define MQWS__AT(q) (off + (size_t)((q)-start))
#define MQWS__PTRUNC()                                                                             \
    return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2", "truncated property", MQWS__AT(at))

MQWS_INLINE int mqws__props_parse_inline(const uint8_t *p, size_t n, int ctx, uint8_t level,
                                         mqws_props *out, mqws_decode_error *err, size_t off) {
    const uint8_t *start = p, *end = p + n;
    const uint32_t allowed = mqws__prop_mask[ctx];
    /* Properties that may repeat here: user properties always, subscription identifiers in
     * PUBLISH (one per matching subscription, §3.3.2.3.8). */
    const uint32_t repeatable = MQWS_PROPF_USER_PROPERTY |
                                (ctx == MQWS_PKT_PUBLISH ? MQWS_PROPF_SUBSCRIPTION_IDENTIFIER : 0);
    uint32_t present = 0, nuser = 0, nsub = 0;
    uint8_t *base = (uint8_t *)out;
    out->raw.ptr = p;
    out->raw.len = n;
    out->user_props = NULL;
    out->sub_ids = NULL;
    while (p < end) {
        const uint8_t *at = p;
        unsigned id = *p++;
        const mqws__propinfo *info = &mqws__props_by_id[id];
        uint32_t bit = info->bit;
        if (MQWS_UNLIKELY(!(bit & allowed)))
            return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2",
                              bit ? "property not allowed in this packet"
                                  : "unknown property identifier",
                              MQWS__AT(at));
        if (MQWS_UNLIKELY(present & bit & ~repeatable))
            return mqws__fail(err, MQWS_EPROTO, "§2.2.2.2", "property included more than once",
                              MQWS__AT(at));
        present |= bit;
        unsigned kind = info->kind;
        uint8_t *f = base + info->off;
        if (kind >= MQWS__PK_STR) {
            if (MQWS_UNLIKELY(end - p < 2))
                MQWS__PTRUNC();
            size_t len = mqws__load16(p);
            if (MQWS_UNLIKELY((size_t)(end - p - 2) < len))
                MQWS__PTRUNC();
            mqws_view v = {p + 2, len};
            p += 2 + len;
            if (kind == MQWS__PK_BIN) {
                memcpy(f, &v, sizeof v);
                continue;
            }
            int rc = id == MQWS_PROP_RESPONSE_TOPIC
                         ? mqws__check_response_topic(v.ptr, len, level, err, MQWS__AT(v.ptr))
                         : mqws__check_utf8(v.ptr, len, level, err, MQWS__AT(v.ptr));
            if (MQWS_UNLIKELY(rc))
                return rc;
            if (kind == MQWS__PK_STR) {
                memcpy(f, &v, sizeof v);
                continue;
            }
            /* User Property: a second string follows. */
            if (MQWS_UNLIKELY(end - p < 2))
                MQWS__PTRUNC();
            len = mqws__load16(p);
            if (MQWS_UNLIKELY((size_t)(end - p - 2) < len))
                MQWS__PTRUNC();
            rc = mqws__check_utf8(p + 2, len, level, err, MQWS__AT(p + 2));
            if (MQWS_UNLIKELY(rc))
                return rc;
            p += 2 + len;
            if (nuser++ == 0)
                out->user_first = (uint32_t)(at - start);
            continue;
        }
        switch (kind) {
            case MQWS__PK_BYTE:
                if (MQWS_UNLIKELY(p >= end))
                    MQWS__PTRUNC();
                if (MQWS_UNLIKELY(*p > 1))
                    return mqws__check_prop_value((int)id, *p, err, MQWS__AT(at));
                *f = *p++;
                break;
            case MQWS__PK_U16: {
                if (MQWS_UNLIKELY(end - p < 2))
                    MQWS__PTRUNC();
                uint16_t v = mqws__load16(p);
                p += 2;
                if (MQWS_UNLIKELY(v == 0 && (bit & MQWS__NONZERO_PROPS)))
                    return mqws__check_prop_value((int)id, v, err, MQWS__AT(at));
                memcpy(f, &v, 2);
                break;
            }
            case MQWS__PK_U32: {
                if (MQWS_UNLIKELY(end - p < 4))
                    MQWS__PTRUNC();
                uint32_t v = mqws__load32(p);
                p += 4;
                if (MQWS_UNLIKELY(v == 0 && (bit & MQWS__NONZERO_PROPS)))
                    return mqws__check_prop_value((int)id, v, err, MQWS__AT(at));
                memcpy(f, &v, 4);
                break;
            }
            default: { /* Subscription Identifier, a Variable Byte Integer */
                uint32_t v;
                int k = mqws__rd_varint(p, end, &v);
                if (k == 0)
                    MQWS__PTRUNC();
                if (k < 0)
                    return mqws__fail(err, MQWS_EMALFORMED, "MQTT-1.5.5-1",
                                      "malformed variable byte integer", MQWS__AT(p));
                p += k;
                if (v == 0)
                    return mqws__check_prop_value((int)id, v, err, MQWS__AT(at));
                if (nsub++ == 0)
                    out->subscription_id = v;
                break;
            }
        }
    }
    out->present = present;
    out->user_prop_count = nuser;
    out->sub_id_count = nsub;
    if (nuser == 0)
        out->user_first = (uint32_t)n;
    return MQWS_OK;
}

#undef MQWS__AT
#undef MQWS__PTRUNC

#endif
