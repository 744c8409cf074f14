/* Shared helpers for the codec tests: hex in, decode + checks, encode + exact bytes out.
 *
 * Every helper reports failures at the caller's file:line through the macros below.
 * Statement expectations may list alternatives separated by '|' ("MQTT-1.5.4-1|MQTT-3.3.2-1")
 * where the spec leaves open which of two statements a rejection is attributed to; NULL means
 * "any" (rules the spec states without a number: the codec names their section, "§2.2.2.2"),
 * but a rejection must always name something.
 *
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_CODEC_TEST_UTIL_H
#define MQWS_CODEC_TEST_UTIL_H

#include "mqws/codec.h"
#include "testlib.h"

/* Hex into one of a ring of static buffers (views of decoded packets stay valid until the
 * ring wraps: 16 calls later). */
const uint8_t *cu_hex(const char *hex, size_t *len);
/* A copy of bytes into the ring (same lifetime rules). */
uint8_t *cu_keep(const uint8_t *b, size_t n);

/* Small byte builder for packets assembled from parts. */
typedef struct cu_buf {
    uint8_t b[1024];
    size_t n;
} cu_buf;
void cu_put(cu_buf *o, const void *p, size_t n);
void cu_put_hex(cu_buf *o, const char *hex);
void cu_put_u8(cu_buf *o, uint8_t v);
void cu_put_varint(cu_buf *o, uint32_t v);
/* first byte + remaining length + body. */
void cu_packet(cu_buf *o, uint8_t first, const uint8_t *body, size_t n);

/* Decode `b[0..n)` expecting success: the framer must report READY with total_len == n, the
 * views must point into the input (zero copy), and the packet must re-encode to exactly the
 * input bytes (mqws_encoded_size, mqws_encode with every capacity below the size returning
 * MQWS_ENOSPC without writing past the capacity, mqws_encode_publish_iov for PUBLISH,
 * mqws_validate). With `canonical` = 0 the input is an accepted but non-canonical form: the
 * re-encoding must then decode to the same packet and be a fixed point. */
int cu_decode_ok(const char *file, int line, const uint8_t *b, size_t n, uint8_t level,
                 uint32_t dflags, int canonical, mqws_packet *out);
#define DECODE_OK(hex, level, dflags, out)                                                         \
    cu_decode_ok_hex(__FILE__, __LINE__, (hex), (level), (dflags), 1, (out))
#define DECODE_OK_NONCANON(hex, level, dflags, out)                                                \
    cu_decode_ok_hex(__FILE__, __LINE__, (hex), (level), (dflags), 0, (out))
#define DECODE_OK_BYTES(b, n, level, dflags, out)                                                  \
    cu_decode_ok(__FILE__, __LINE__, (b), (n), (level), (dflags), 1, (out))
int cu_decode_ok_hex(const char *file, int line, const char *hex, uint8_t level, uint32_t dflags,
                     int canonical, mqws_packet *out);

/* Decode expecting the error `code` (MQWS_EMALFORMED -> reason 0x81, MQWS_EPROTO -> 0x82,
 * MQWS_EUNSUPPORTED -> 0x84, MQWS_ETOOBIG -> 0x95), with `stmt` (see above). Also checks the
 * same result with err == NULL, a message, and an offset inside the packet. code 0 means
 * "either MQWS_EMALFORMED or MQWS_EPROTO" (the spec names no consequence), the reason must
 * then match the code returned. Returns the code. */
int cu_decode_err(const char *file, int line, const uint8_t *b, size_t n, uint8_t level,
                  uint32_t dflags, int code, const char *stmt, mqws_packet *out);
int cu_decode_err_hex(const char *file, int line, const char *hex, uint8_t level, uint32_t dflags,
                      int code, const char *stmt);
#define DECODE_ERR(hex, level, dflags, code, stmt)                                                 \
    cu_decode_err_hex(__FILE__, __LINE__, (hex), (level), (dflags), (code), (stmt))
#define DECODE_ERR_BYTES(b, n, level, dflags, code, stmt)                                          \
    cu_decode_err(__FILE__, __LINE__, (b), (n), (level), (dflags), (code), (stmt), NULL)
#define MALFORMED(hex, level, stmt) DECODE_ERR((hex), (level), 0, MQWS_EMALFORMED, (stmt))
#define PROTOERR(hex, level, stmt)  DECODE_ERR((hex), (level), 0, MQWS_EPROTO, (stmt))
#define REJECTED(hex, level, stmt)  DECODE_ERR((hex), (level), 0, 0, (stmt))

/* The error of the last cu_decode_err* call (for offset checks). */
extern mqws_decode_error cu_last_err;

/* Encode `p` at `level` expecting exactly `hex` (size, capacity and round-trip checks as in
 * cu_decode_ok; the output must decode back with no direction check). */
void cu_encode_eq(const char *file, int line, const mqws_packet *p, uint8_t level, const char *hex);
#define ENCODE_EQ(p, level, hex) cu_encode_eq(__FILE__, __LINE__, (p), (level), (hex))

/* Re-encode a decoded packet (fills subs / unsub_filters / sub_ids from the iterators). */
int cu_reencode(const mqws_packet *p, uint8_t level, uint8_t *buf, size_t cap, size_t *written);

/* 1 if `stmt` is one of the '|'-separated alternatives in `want`. */
int cu_stmt_match(const char *want, const char *stmt);

#endif
