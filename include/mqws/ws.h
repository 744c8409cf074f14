/* mqws ws (L1): RFC 6455 WebSocket handshake and framing, server and client roles, sans-I/O.
 *
 * Two pieces, used one after the other on a connection:
 *
 *  1. mqws_ws_handshake: an incremental HTTP/1.1 parser and validator for the opening
 *     handshake. It buffers the request (bounded) and is freed once the handshake is over.
 *  2. mqws_ws: the frame engine, a caller-allocated 128-byte struct that never holds a buffer
 *     while idle. It unmasks in place and hands out views into the caller's input.
 *
 * The library never reads a clock, never does I/O and has no random source: the host passes
 * time (now_ms), writes the bytes the library builds, and supplies the random bytes RFC 6455
 * requires of a client (the 16-byte Sec-WebSocket-Key nonce and every 4-byte masking key, which
 * must come from a strong source, RFC 6455 §10.3).
 *
 * MQTT binding (MQTT 5.0 chapter 6, MQTT 3.1.1 §6): set MQWS_WS_BINARY_ONLY and treat the
 * payload of MQWS_WS_EV_DATA events as one byte stream: frame boundaries mean nothing to MQTT,
 * a packet may span frames and a frame may hold several packets. A text frame fails the
 * connection with close code 1003 ("unsupported data", RFC 6455 §7.4.1) [MQTT-6.0.0-1].
 * Outgoing packets are framed with mqws_ws_frame_iov(): only the 2..10-byte header is written,
 * the payload is referenced, never copied.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_WS_H
#define MQWS_WS_H

#include "mqws/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Constants */

#define MQWS_WS_SERVER 0u
#define MQWS_WS_CLIENT 1u

/* Opcodes (RFC 6455 §5.2). */
#define MQWS_WS_OP_CONT   0x0u
#define MQWS_WS_OP_TEXT   0x1u
#define MQWS_WS_OP_BINARY 0x2u
#define MQWS_WS_OP_CLOSE  0x8u
#define MQWS_WS_OP_PING   0x9u
#define MQWS_WS_OP_PONG   0xAu

/* Close codes (RFC 6455 §7.4.1). 1005, 1006 and 1015 are only ever reported, never sent. */
#define MQWS_WS_CLOSE_NORMAL       1000u
#define MQWS_WS_CLOSE_GOING_AWAY   1001u
#define MQWS_WS_CLOSE_PROTOCOL     1002u
#define MQWS_WS_CLOSE_UNSUPPORTED  1003u
#define MQWS_WS_CLOSE_NO_STATUS    1005u
#define MQWS_WS_CLOSE_ABNORMAL     1006u
#define MQWS_WS_CLOSE_INVALID_DATA 1007u
#define MQWS_WS_CLOSE_POLICY       1008u
#define MQWS_WS_CLOSE_TOO_BIG      1009u
#define MQWS_WS_CLOSE_EXTENSION    1010u
#define MQWS_WS_CLOSE_INTERNAL     1011u

/* Largest frame header: 2 + 8 (64-bit length) + 4 (masking key). A server never masks, so its
 * headers are at most 10 bytes. */
#define MQWS_WS_HEADER_MAX 14u
/* Largest control frame: header (2 + 4 mask) + 125 payload bytes. */
#define MQWS_WS_CONTROL_MAX         131u
#define MQWS_WS_CONTROL_PAYLOAD_MAX 125u

/* The value of Sec-WebSocket-Accept is 28 base64 characters. */
#define MQWS_WS_ACCEPT_LEN 28u

/* ------------------------------------------------------------------------------------------ */
/* Opening handshake (RFC 6455 §4) */

/* mqws_ws_handshake_config.flags */
/* Server: refuse (400) a client that offers none of our subprotocols. Without this flag such a
 * client is accepted and no Sec-WebSocket-Protocol header is sent (RFC 6455 §4.2.2 item 5.4). */
#define MQWS_WS_HS_REQUIRE_SUBPROTOCOL 0x1u
/* Server: hand complete non-upgrade HTTP requests to the host (feed returns MQWS_WS_HS_HTTP).
 * Without this flag they are answered 426 Upgrade Required. */
#define MQWS_WS_HS_ALLOW_HTTP 0x2u

/* Handshake configuration. Initialise with MQWS_WS_HANDSHAKE_CONFIG_INIT and change fields. */
typedef struct mqws_ws_handshake_config {
    size_t size;                     /* sizeof(mqws_ws_handshake_config) */
    const mqws_allocator *allocator; /* NULL = mqws_allocator_default(); must outlive the object */
    uint32_t max_bytes;              /* largest request / response head accepted; default 8192 */
    uint32_t max_headers;            /* most header lines accepted; default 64 */
    uint32_t timeout_ms;             /* see mqws_ws_handshake_deadline(); 0 = none; default 10000 */
    uint32_t flags;                  /* MQWS_WS_HS_* */
    /* Comma-separated subprotocols. Server: the ones we support, in order of preference.
     * Client: the ones we offer. NULL = "mqtt,mqttv3.1" (server) or "mqtt" (client); "" = none.
     * Each name is an RFC 7230 token of at most 64 bytes. Copied at creation. */
    const char *subprotocols;
    /* Server, optional: decide on the request-target (path and query, as sent) and on the
     * Origin header (`origin` is NULL when the request has none). Return 0 to accept, or an
     * HTTP status in 400..499 to refuse with it (any other value refuses with 403). Called
     * during mqws_ws_handshake_feed(); the pointers are valid only during the call. */
    int (*check_path)(void *user, const uint8_t *path, size_t len);
    int (*check_origin)(void *user, const uint8_t *origin, size_t len);
    void *user;
    /* Client: the Host header value, the request-target (default "/") and an optional Origin.
     * NUL-terminated, no CR or LF; copied into the request at creation. */
    const char *host;
    const char *path;
    const char *origin;
} mqws_ws_handshake_config;

#define MQWS_WS_HANDSHAKE_CONFIG_INIT                                                              \
    {                                                                                              \
        sizeof(mqws_ws_handshake_config), NULL, 8192u, 64u, 10000u, 0u, NULL, NULL, NULL, NULL,    \
            NULL, NULL, NULL                                                                       \
    }

/* mqws_ws_handshake_feed() results (besides negative MQWS_E* codes). */
#define MQWS_WS_HS_MORE    0 /* need more input */
#define MQWS_WS_HS_UPGRADE 1 /* server: valid upgrade, write the 101; client: 101 verified */
#define MQWS_WS_HS_HTTP    2 /* server: a complete plain HTTP request, for the host to serve */

typedef struct mqws_ws_handshake mqws_ws_handshake;

/** Create a server-side handshake: it will parse an HTTP/1.1 upgrade request. `cfg` may be
 * NULL for defaults; `now_ms` is the host's clock at accept time (any epoch), used only by
 * mqws_ws_handshake_deadline(). Returns NULL if the allocator fails or `cfg` is invalid (bad
 * size, a subprotocol that is not a token). Free with mqws_ws_handshake_free(). */
MQWS_API mqws_ws_handshake *mqws_ws_handshake_server_new(const mqws_ws_handshake_config *cfg,
                                                         int64_t now_ms);

/** Create a client-side handshake: builds the upgrade request at once (get it with
 * mqws_ws_handshake_output()) and will verify the server's response. `key` is a 16-byte nonce
 * the host draws from a strong random source for this connection (RFC 6455 §4.1 item 7): the
 * library has none. `cfg->host` is required. Returns NULL on allocation failure or invalid
 * configuration. */
MQWS_API mqws_ws_handshake *mqws_ws_handshake_client_new(const mqws_ws_handshake_config *cfg,
                                                         const uint8_t key[16], int64_t now_ms);

/** Free the handshake object and its buffer. NULL is a no-op. */
MQWS_API void mqws_ws_handshake_free(mqws_ws_handshake *hs);

/** Feed bytes received from the peer. `*consumed` receives how many bytes of `buf` belong to
 * the HTTP head; once the result is MQWS_WS_HS_UPGRADE the rest (`buf + *consumed`) are the
 * first WebSocket frames and go to mqws_ws_recv(); after MQWS_WS_HS_HTTP they are the request
 * body or a pipelined request, for the host.
 * Returns MQWS_WS_HS_MORE, MQWS_WS_HS_UPGRADE, MQWS_WS_HS_HTTP or:
 *  MQWS_EHANDSHAKE: the peer's request (server) or response (client) is not acceptable. Server:
 *    mqws_ws_handshake_output() holds a 400/403/426 response to write before closing, and
 *    mqws_ws_handshake_status() says which.
 *  MQWS_ETOOBIG: more than max_bytes or max_headers (server: a 400 response is in output).
 *  MQWS_ENOMEM: allocation failed; nothing was consumed, the call may be repeated.
 *  MQWS_ESTATE: the handshake is already over.
 * Errors other than MQWS_ENOMEM are sticky. */
MQWS_API int mqws_ws_handshake_feed(mqws_ws_handshake *hs, const uint8_t *buf, size_t len,
                                    size_t *consumed);

/** Bytes the host must write to the peer: for a client, the request (from creation on); for a
 * server, the 101 or error response once feed() returned UPGRADE or an error (empty before,
 * and after MQWS_WS_HS_HTTP). Valid until the object is freed. */
MQWS_API mqws_view mqws_ws_handshake_output(const mqws_ws_handshake *hs);

/** The time (same epoch as `now_ms` at creation) after which the host should give up on an
 * unfinished handshake and close the connection: creation time + timeout_ms, or INT64_MAX
 * when timeout_ms is 0. The library has no clock: enforcing it is the host's job. */
MQWS_API int64_t mqws_ws_handshake_deadline(const mqws_ws_handshake *hs);

/** Server: the HTTP status of the response in output (101, 400, 403, 426), 0 before it is
 * decided. Client: the status code the server answered, 0 before the status line is in. */
MQWS_API int mqws_ws_handshake_status(const mqws_ws_handshake *hs);

/** The subprotocol agreed on (server: the one echoed; client: the one the server chose), or an
 * empty view when there is none. */
MQWS_API mqws_view mqws_ws_handshake_subprotocol(const mqws_ws_handshake *hs);

/** Server, after MQWS_WS_HS_UPGRADE or MQWS_WS_HS_HTTP: the request method and
 * request-target. Empty views before. The views are valid until the object is freed. */
MQWS_API mqws_view mqws_ws_handshake_method(const mqws_ws_handshake *hs);
MQWS_API mqws_view mqws_ws_handshake_target(const mqws_ws_handshake *hs);

/** Number of header lines of a complete request or response (0 before it is complete). */
MQWS_API size_t mqws_ws_handshake_header_count(const mqws_ws_handshake *hs);
/** The `i`th header (0-based, in arrival order): name as sent and value without surrounding
 * whitespace. Returns MQWS_OK or MQWS_ENOTFOUND if i is out of range. */
MQWS_API int mqws_ws_handshake_header_at(const mqws_ws_handshake *hs, size_t i, mqws_view *name,
                                         mqws_view *value);
/** The value of the first header named `name` (case-insensitive), into `*value`. Returns
 * MQWS_OK or MQWS_ENOTFOUND. */
MQWS_API int mqws_ws_handshake_header(const mqws_ws_handshake *hs, const char *name,
                                      mqws_view *value);

/** Compute Sec-WebSocket-Accept for a Sec-WebSocket-Key value (RFC 6455 §4.2.2 item 5.4):
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). Writes 28 characters (no NUL)
 * to `out`. */
MQWS_API void mqws_ws_accept_key(const uint8_t *key, size_t key_len, char out[MQWS_WS_ACCEPT_LEN]);

/* ------------------------------------------------------------------------------------------ */
/* SHA-1 (RFC 3174) and base64 (RFC 4648 §4), exported because the handshake needs them and
 * hosts often do too. */

typedef struct mqws_sha1 {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
} mqws_sha1;

/** Start a SHA-1 computation. */
MQWS_API void mqws_sha1_init(mqws_sha1 *s);
/** Hash `len` more bytes. */
MQWS_API void mqws_sha1_update(mqws_sha1 *s, const void *data, size_t len);
/** Finish and write the 20-byte digest. `s` must be re-initialised before reuse. */
MQWS_API void mqws_sha1_final(mqws_sha1 *s, uint8_t digest[20]);

/** Characters base64 needs for `len` bytes (padded), without a NUL. */
#define MQWS_BASE64_LEN(len) ((((len) + 2u) / 3u) * 4u)
/** Encode `len` bytes as padded base64 into `out` (MQWS_BASE64_LEN(len) characters, no NUL).
 * Returns the number of characters written. */
MQWS_API size_t mqws_base64_encode(const uint8_t *in, size_t len, char *out);
/** Decode padded base64 (no whitespace) into `out` (capacity `cap`). Returns the number of
 * bytes written, MQWS_EMALFORMED for anything that is not canonical padded base64 (bad
 * character, bad length, misplaced '=', non-zero pad bits), or MQWS_ENOSPC. */
MQWS_API int mqws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* Frames (RFC 6455 §5) */

/* mqws_ws_config.flags */
/* Accept binary data frames only: a text frame fails with 1003 (the MQTT binding). */
#define MQWS_WS_BINARY_ONLY 0x1u

typedef struct mqws_ws_config {
    size_t size;                     /* sizeof(mqws_ws_config) */
    const mqws_allocator *allocator; /* NULL = default; must outlive the mqws_ws */
    uint32_t role;                   /* MQWS_WS_SERVER or MQWS_WS_CLIENT */
    uint32_t flags;                  /* MQWS_WS_BINARY_ONLY */
    uint64_t max_frame;              /* largest frame payload accepted, else 1009; default 16 MiB */
    uint64_t max_message; /* largest message (sum of its frames), else 1009; default 16 MiB */
} mqws_ws_config;

#define MQWS_WS_CONFIG_INIT                                                                        \
    { sizeof(mqws_ws_config), NULL, MQWS_WS_SERVER, 0u, 16u * 1024u * 1024u, 16u * 1024u * 1024u }

/* The frame engine of one connection. Caller-allocated (embed it, or allocate 128 bytes);
 * the fields are private. Its size is part of the ABI. */
typedef struct mqws_ws {
    uint64_t opaque_[16];
} mqws_ws;

/* Event types. */
#define MQWS_WS_EV_DATA  1u /* message payload bytes (text or binary) */
#define MQWS_WS_EV_PING  2u /* answer with a pong carrying the same payload (§5.5.2) */
#define MQWS_WS_EV_PONG  3u
#define MQWS_WS_EV_CLOSE 4u /* the peer's close frame; see mqws_ws_close() and _tcp_action() */

/* mqws_ws_event.flags for DATA events */
#define MQWS_WS_MSG_START 0x1u /* the first bytes of a message */
#define MQWS_WS_MSG_END   0x2u /* the last bytes of a message: it is complete */

typedef struct mqws_ws_event {
    uint32_t type;   /* MQWS_WS_EV_* */
    uint32_t opcode; /* DATA: MQWS_WS_OP_TEXT or MQWS_WS_OP_BINARY; else the control opcode */
    uint32_t flags;  /* DATA: MQWS_WS_MSG_* */
    uint32_t code;   /* CLOSE: the status code, MQWS_WS_CLOSE_NO_STATUS (1005) if none */
    /* DATA: unmasked payload bytes, a view into the caller's input buffer (may be empty for an
     * empty message). PING/PONG: the payload. CLOSE: the reason (valid UTF-8). A control
     * payload that arrived split across calls is in a buffer owned by the mqws_ws. Valid until
     * the next call on this mqws_ws and while the input buffer is. */
    mqws_view data;
} mqws_ws_event;

/** Initialise the frame engine (no allocation). `cfg` may be NULL for a server with defaults.
 * Returns MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_ws_init(mqws_ws *ws, const mqws_ws_config *cfg);

/** Release what the engine may hold (a control frame buffer, between calls). The struct may
 * then be discarded or re-initialised. */
MQWS_API void mqws_ws_cleanup(mqws_ws *ws);

/** Decode frames from `buf`, which must be writable: payloads are unmasked in place.
 * Consumes input up to and including the next event; `*consumed` says how many bytes.
 * Returns 1 with `*ev` filled, 0 when all of `buf` was consumed without an event (need
 * more), or a negative code, after which the connection must be failed (RFC 6455 §7.1.7):
 * write mqws_ws_close(ws, mqws_ws_fail_code(ws), ...) and close the TCP connection:
 *  MQWS_EPROTO (1002), MQWS_EUTF8 (1007; `*consumed` stops at the first bad byte),
 *  MQWS_ETOOBIG (1009, decided from the frame header before any payload is read),
 *  MQWS_EUNSUPPORTED (1003, a text frame with MQWS_WS_BINARY_ONLY).
 *  MQWS_ENOMEM is not fatal: nothing more was consumed, call again.
 * Errors are sticky. Bytes after the peer's close frame are ignored (consumed, no event). */
MQWS_API int mqws_ws_recv(mqws_ws *ws, uint8_t *buf, size_t len, size_t *consumed,
                          mqws_ws_event *ev);

/** The close code to send after mqws_ws_recv() failed (1002, 1003, 1007, 1009), else 0. */
MQWS_API uint32_t mqws_ws_fail_code(const mqws_ws *ws);

/** Build a close frame into `out` (capacity `cap`, MQWS_WS_CONTROL_MAX is always enough) and
 * record that our close was sent. `code` 0 sends a close with no body (the answer to a close
 * that carried no code); otherwise it must be a code valid on the wire (§7.4: 1000-1003,
 * 1007-1014, 3000-4999; never 1005/1006/1015). `reason` must be valid UTF-8 with
 * 2 + reason_len <= 125. Client role: `mask_key` (4 random bytes from the host) is required;
 * server: must be NULL. Returns the frame length, MQWS_EINVAL, MQWS_EUTF8, MQWS_ENOSPC, or
 * MQWS_ESTATE if a close was already sent. */
MQWS_API int mqws_ws_close(mqws_ws *ws, uint32_t code, const uint8_t *reason, size_t reason_len,
                           const uint8_t *mask_key, uint8_t *out, size_t cap);

/* mqws_ws_tcp_action() results */
#define MQWS_WS_TCP_KEEP      0 /* keep the TCP connection open */
#define MQWS_WS_TCP_CLOSE_NOW 1 /* close it once pending output is written */
#define MQWS_WS_TCP_WAIT_PEER 2 /* client: wait (bounded) for the server to close first */

/** What to do with the TCP connection (RFC 6455 §7.1.1): once close frames went both ways, the
 * server closes first (CLOSE_NOW) and the client waits for it (WAIT_PEER, then closes after a
 * timeout of the host's choosing). After a failure (mqws_ws_recv() < 0, other than ENOMEM)
 * both roles close now. */
MQWS_API int mqws_ws_tcp_action(const mqws_ws *ws);

/** 1 after the peer's close frame was received, else 0. */
MQWS_API int mqws_ws_close_received(const mqws_ws *ws);
/** 1 after mqws_ws_close() built our close frame, else 0. No data may be sent after it. */
MQWS_API int mqws_ws_close_sent(const mqws_ws *ws);

/** Write a frame header for a payload of `payload_len` bytes into `out` (at least
 * MQWS_WS_HEADER_MAX bytes; a server header is at most 10). `fin` 1 ends the message.
 * `mask_key` NULL for a server; for a client, 4 random bytes, and the payload must then be
 * masked with mqws_ws_mask(). Returns the header length (2..14) or MQWS_EINVAL (bad opcode,
 * a fragmented or >125-byte control frame, a length above 2^63-1). Stateless. */
MQWS_API int mqws_ws_frame_header(uint8_t *out, uint32_t opcode, int fin, uint64_t payload_len,
                                  const uint8_t *mask_key);

/** Build a whole control frame (ping, pong; close frames go through mqws_ws_close()) into
 * `out`; payload at most 125 bytes, mask_key as for mqws_ws_frame_header(). Returns the frame
 * length, MQWS_EINVAL or MQWS_ENOSPC. Stateless. */
MQWS_API int mqws_ws_control_frame(uint32_t opcode, const uint8_t *payload, size_t len,
                                   const uint8_t *mask_key, uint8_t *out, size_t cap);

/** Frame the bytes of `in[0..nin)` as one unmasked (server role) frame of `opcode` with FIN
 * set, without copying them: writes the header into `hdr` (at least 10 bytes) and fills
 * `out` with nin + 1 entries: the header first, then the input entries (empty ones skipped).
 * Returns the number of entries written to `out`, or MQWS_ENOSPC if `out_cap` is too small,
 * MQWS_EINVAL for a bad opcode. The client role must mask, which needs a writable copy: use
 * mqws_ws_frame_header() and mqws_ws_mask(). */
MQWS_API int mqws_ws_frame_iov(uint32_t opcode, const mqws_iovec *in, size_t nin, uint8_t *hdr,
                               mqws_iovec *out, size_t out_cap);

/** XOR `len` bytes in place with the 4-byte masking key, starting at key position `phase`
 * (the payload offset modulo 4) (RFC 6455 §5.3). Masking and unmasking are the same. */
MQWS_API void mqws_ws_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t phase);

/** The size of mqws_ws's private state (≤ sizeof(mqws_ws) = 128), for memory reports. */
MQWS_API size_t mqws_ws_state_size(void);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_WS_H */
