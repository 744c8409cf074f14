/* mqws core (L0): version, error codes, allocator hooks, byte views, varint, UTF-8.
 *
 * Everything else in mqws builds on these types. Nothing here allocates, reads a clock,
 * does I/O or touches global mutable state.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_CORE_H
#define MQWS_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbol visibility: only functions marked MQWS_API are exported from the shared library. */
#if defined(_WIN32) && defined(MQWS_SHARED_BUILD)
#define MQWS_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define MQWS_API __attribute__((visibility("default")))
#else
#define MQWS_API
#endif

#define MQWS_VERSION_MAJOR  0
#define MQWS_VERSION_MINOR  1
#define MQWS_VERSION_PATCH  0
#define MQWS_VERSION_STRING "0.1.0"
/* 0xMMmmpp, comparable with `<`. */
#define MQWS_VERSION_NUMBER                                                                        \
    ((MQWS_VERSION_MAJOR << 16) | (MQWS_VERSION_MINOR << 8) | MQWS_VERSION_PATCH)

/** The library's version string ("0.1.0"); compare with MQWS_VERSION_STRING to detect a
 * header/library mismatch. Never NULL, statically allocated. */
MQWS_API const char *mqws_version(void);
/** The library's version as MQWS_VERSION_NUMBER. */
MQWS_API uint32_t mqws_version_number(void);

/* ------------------------------------------------------------------------------------------ */
/* Errors. Functions return 0 (MQWS_OK) or a positive count on success and a negative MQWS_E*
 * code on failure. "Need more input" and "would block" are never errors: the functions that can
 * hit them say how they report it. MQTT reason codes are a separate type (codec.h). */
enum mqws_error {
    MQWS_OK = 0,
    MQWS_ENOMEM = -1,       /* the allocator returned NULL */
    MQWS_EINVAL = -2,       /* the caller passed an invalid argument or configuration */
    MQWS_EMALFORMED = -3,   /* peer data is malformed (MQTT reason 0x81) */
    MQWS_EPROTO = -4,       /* peer violated the protocol (MQTT reason 0x82) */
    MQWS_ETOOBIG = -5,      /* larger than a configured maximum (MQTT reason 0x95) */
    MQWS_ENOSPC = -6,       /* the caller's output buffer is too small */
    MQWS_EUNSUPPORTED = -7, /* unsupported protocol version or feature */
    MQWS_ESTATE = -8,       /* the call is not valid in the object's current state */
    MQWS_ELIMIT = -9,       /* a configured quota (count, rate, memory) is exhausted */
    MQWS_ECLOSED = -10,     /* the connection or object is closed */
    MQWS_ENOTFOUND = -11,   /* no such entry */
    MQWS_EEXIST = -12,      /* the entry already exists */
    MQWS_EUTF8 = -13,       /* text is not valid UTF-8 (for MQTT also U+0000) */
    MQWS_EHANDSHAKE = -14,  /* a handshake (WebSocket, TLS, MQTT) failed */
    MQWS_ETLS = -15,        /* TLS layer error */
    MQWS_EINTERNAL = -16    /* an internal invariant failed: a bug, please report */
};

/** A short English description of an MQWS_E* code (or "success" for 0). Never NULL; unknown
 * codes give "unknown error". The string is static. */
MQWS_API const char *mqws_strerror(int err);
/** The symbolic name of an MQWS_E* code ("MQWS_EPROTO"), or "MQWS_E?" if unknown. */
MQWS_API const char *mqws_error_name(int err);

/* ------------------------------------------------------------------------------------------ */
/* Allocator hooks. Every allocation mqws makes goes through one of these. The library always
 * passes the size it asked for to `realloc` (old_size) and `free` (size), so a host can account
 * memory without per-block headers (as Lua's lua_Alloc does). `alloc` and `realloc` return NULL
 * on failure; mqws then returns MQWS_ENOMEM and leaves its objects consistent. */
typedef struct mqws_allocator {
    void *(*alloc)(void *ud, size_t size);
    void *(*realloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *ud, void *ptr, size_t size);
    void *ud;
} mqws_allocator;

/** The default allocator (malloc/realloc/free). The returned object is immutable. */
MQWS_API const mqws_allocator *mqws_allocator_default(void);

/* ------------------------------------------------------------------------------------------ */
/* Byte views: non-owning (pointer, length) pairs. A view decoded from input points into that
 * input and is valid only as long as the input buffer is. `ptr` may be NULL when `len` is 0. */
typedef struct mqws_view {
    const uint8_t *ptr;
    size_t len;
} mqws_view;

/** A view of a NUL-terminated C string (no copy). */
MQWS_API mqws_view mqws_view_cstr(const char *s);
/** 1 if both views hold the same bytes, else 0. */
MQWS_API int mqws_view_eq(mqws_view a, mqws_view b);

/* Scatter/gather element with the layout of POSIX `struct iovec` on common ABIs, so an array
 * can be cast for writev(); lib/ itself never needs <sys/uio.h>. */
typedef struct mqws_iovec {
    const void *base;
    size_t len;
} mqws_iovec;

/* ------------------------------------------------------------------------------------------ */
/* Variable Byte Integer (MQTT 5 §1.5.5, MQTT 3.1.1 §2.2.3 remaining length). */
#define MQWS_VARINT_MAX 268435455u /* 0x0FFFFFFF, the largest value 4 bytes encode */

/** Decode a variable byte integer from `buf`.
 * Returns the number of bytes used (1..4) and stores the value; 0 if `buf` ends before the
 * integer does (need more input); MQWS_EMALFORMED if a 5th byte would be needed or the encoding
 * is not minimal [MQTT-1.5.5-1]. */
MQWS_API int mqws_varint_decode(const uint8_t *buf, size_t len, uint32_t *value);
/** Encode `value` into `out` (at least 4 bytes). Returns the bytes written (1..4), or
 * MQWS_EINVAL if value > MQWS_VARINT_MAX. */
MQWS_API int mqws_varint_encode(uint32_t value, uint8_t *out);
/** Bytes needed to encode `value` (1..4), or 0 if value > MQWS_VARINT_MAX. */
MQWS_API size_t mqws_varint_size(uint32_t value);

/* ------------------------------------------------------------------------------------------ */
/* UTF-8 (RFC 3629; MQTT 5 §1.5.4, MQTT 3.1.1 §1.5.3). */

/** Validate an MQTT UTF-8 string: well-formed UTF-8 with no surrogates or overlongs
 * [MQTT-1.5.4-1] and no U+0000 [MQTT-1.5.4-2]. A BOM (EF BB BF) is a valid character and is
 * kept [MQTT-1.5.4-3]. Returns MQWS_OK or MQWS_EUTF8; if `bad_at` is non-NULL it receives the
 * offset of the first offending byte on error. */
MQWS_API int mqws_utf8_check_mqtt(const uint8_t *s, size_t len, size_t *bad_at);

/** 1 if the string holds a code point the MQTT spec discourages (U+0001..U+001F control
 * characters, U+007F..U+009F, or a Unicode non-character); a receiver MAY close the connection
 * for these (MQTT 5 §1.5.4). Assumes `s` already passed mqws_utf8_check_mqtt(). */
MQWS_API int mqws_utf8_has_discouraged(const uint8_t *s, size_t len);

/* Incremental validator for text that arrives in pieces (WebSocket text messages, RFC 6455
 * §8.1): U+0000 is allowed here, as RFC 3629 allows it. Zero-initialise the state. */
typedef struct mqws_utf8_stream {
    uint32_t state; /* 0 = at a character boundary */
    uint32_t cp;    /* partial code point */
} mqws_utf8_stream;

/** Feed `len` bytes. Returns MQWS_OK if every byte so far can start or continue valid UTF-8,
 * or MQWS_EUTF8 at the first byte that cannot (its offset in this chunk in `*bad_at` when
 * non-NULL). After an error the state is sticky. */
MQWS_API int mqws_utf8_stream_feed(mqws_utf8_stream *st, const uint8_t *s, size_t len,
                                   size_t *bad_at);
/** 1 if the stream ends on a character boundary (a complete message), else 0. */
MQWS_API int mqws_utf8_stream_complete(const mqws_utf8_stream *st);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_CORE_H */
