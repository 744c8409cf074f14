/* mqws conn (L2): one object per socket. Stacks the optional WebSocket layer (and later TLS)
 * under an MQTT session, so a host feeds raw socket bytes to one object whatever the transport
 * and gets back, as one iovec array, everything to write.
 *
 *   host read()  -> mqws_conn_recv(c, buf, n)       -> [ws handshake, ws frames] -> session
 *   host writev() <- mqws_conn_pending(c, iov, max)  <- [ws frame headers]        <- session
 *                    mqws_conn_sent(c, written)
 *   host timer   -> mqws_conn_tick(c, now_ms) -> next deadline
 *   when !mqws_conn_want_read(c) && !mqws_conn_want_write(c): close the socket, see
 *   mqws_conn_close_info(c), then mqws_conn_free(c) (or detach the session to keep it).
 *
 * Like the session it never does I/O, never reads a clock, allocates only through the host's
 * allocator and holds no buffer while idle (the WebSocket handshake object is freed once the
 * upgrade is done). The server role frames output without copying (a 2..10-byte header per
 * batch of packets); the client role must mask, which copies the outgoing bytes once.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_CONN_H
#define MQWS_CONN_H

#include "mqws/core.h"
#include "mqws/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mqws_conn_config.transport */
#define MQWS_CONN_TCP 0u /* MQTT bytes directly (plain TCP, or TLS terminated by the host) */
#define MQWS_CONN_WS  1u /* WebSocket: HTTP/1.1 upgrade, then binary frames (MQTT chapter 6) */

typedef struct mqws_conn mqws_conn;

/* From ws.h (include it to configure the handshake or read an HTTP request's headers). */
struct mqws_ws_handshake_config;
typedef struct mqws_ws_handshake mqws_ws_handshake;

typedef struct mqws_conn_config {
    size_t size;                     /* sizeof(mqws_conn_config) */
    const mqws_allocator *allocator; /* NULL = default; must outlive the conn (and session) */
    uint32_t transport;              /* MQWS_CONN_TCP or MQWS_CONN_WS */
    uint32_t reserved0_;             /* 0 */
    /* The session's configuration (role, limits); NULL = server defaults. Its allocator field
     * is ignored: the conn's is used. */
    const mqws_session_config *session;
    /* WebSocket opening handshake settings (subprotocols, path/origin checks, client Host and
     * path, ...); NULL = defaults. The frame engine always runs with MQWS_WS_BINARY_ONLY and a
     * maximum frame / message size derived from the session's maximum packet size. */
    const struct mqws_ws_handshake_config *ws_handshake;
    /* Client role over WebSocket: the 16-byte Sec-WebSocket-Key nonce for this connection
     * (from a strong random source, RFC 6455 §4.1) and a source of masking keys, called for 4
     * bytes per frame (RFC 6455 §10.3). Required then, ignored otherwise. */
    const uint8_t *ws_key;
    void (*random)(void *user, uint8_t *out, size_t len);
    /* Server role over WebSocket, optional: a complete plain HTTP request that is not an
     * upgrade (a health check, a browser). Read it with the handshake accessors of ws.h on
     * `hs`, answer with mqws_conn_write_raw(); the conn then reads nothing more and closes
     * once the answer is written. `body` is what followed the request head in this read (may
     * be partial). Unset: the request is answered 426 Upgrade Required. */
    void (*on_http)(mqws_conn *c, const mqws_ws_handshake *hs, const uint8_t *body, size_t body_len,
                    void *user);
    /* Optional push mode: mqws_conn_flush() hands pending bytes to this function, which
     * returns how many it wrote (fewer than offered: the socket would block; the rest stays
     * pending) or a negative value for a write error (the connection is then lost). */
    int64_t (*on_send)(mqws_conn *c, const mqws_iovec *iov, size_t n, void *user);
} mqws_conn_config;

#define MQWS_CONN_CONFIG_INIT                                                                      \
    { sizeof(mqws_conn_config), NULL, MQWS_CONN_TCP, 0u, NULL, NULL, NULL, NULL, NULL, NULL }

/** Create a connection object and its session. `cb` (may be NULL) and `user` are the
 * session's callbacks and user pointer (also passed to on_http / on_send / random). `now_ms`
 * is the host's clock at accept/connect time. Client role over WebSocket: the upgrade request
 * is pending output at once; call mqws_session_connect() any time, CONNECT goes out after the
 * upgrade. Returns NULL on allocation failure or invalid configuration. */
MQWS_API mqws_conn *mqws_conn_new(const mqws_conn_config *cfg, const mqws_callbacks *cb, void *user,
                                  int64_t now_ms);
/** Free the conn and (unless detached) its session. NULL is a no-op. */
MQWS_API void mqws_conn_free(mqws_conn *c);

/** The MQTT session of this connection (never NULL until detached). */
MQWS_API mqws_session *mqws_conn_session(const mqws_conn *c);
/** The conn a session belongs to, or NULL (a session made with mqws_session_new or detached).
 * Handy inside session callbacks. */
MQWS_API mqws_conn *mqws_conn_of(const mqws_session *s);
/** Give up ownership of the session (e.g. a persistent session outliving its socket): the
 * conn is closed if it was not, and mqws_conn_free() no longer frees the session. */
MQWS_API mqws_session *mqws_conn_detach_session(mqws_conn *c);

/** Feed bytes read from the socket. The buffer may be modified in place (WebSocket unmasking)
 * and is not kept. Returns the bytes consumed (normally all; fewer when the connection closed
 * part way) or a negative MQWS_E*: the error that closed the connection (see
 * mqws_conn_close_info, MQWS_ENOMEM included) or MQWS_ECLOSED if it was already closed. */
MQWS_API int64_t mqws_conn_recv(mqws_conn *c, uint8_t *buf, size_t len);

/** Fill iov[0..max) with what to write now, in order; returns the entries used (0: nothing).
 * Valid until the next call that changes the conn (sent, recv, tick, publish...). */
MQWS_API size_t mqws_conn_pending(mqws_conn *c, mqws_iovec *iov, size_t max);
/** Total bytes pending, WebSocket framing included (an upper bound by a few bytes while the
 * next frame header is not built yet). */
MQWS_API size_t mqws_conn_pending_bytes(mqws_conn *c);
/** The host wrote the first `n` pending bytes (partial writes are fine). */
MQWS_API void mqws_conn_sent(mqws_conn *c, size_t n);
/** Push mode: offer pending bytes to on_send until it takes less than offered or nothing is
 * left. Returns MQWS_OK, MQWS_EINVAL (no on_send) or MQWS_ECLOSED after a write error. */
MQWS_API int mqws_conn_flush(mqws_conn *c);

/** Time: the session's timers plus the WebSocket handshake timeout. Returns the next deadline
 * (INT64_MAX: none). Call once per loop pass before recv, and at the deadline. */
MQWS_API int64_t mqws_conn_tick(mqws_conn *c, int64_t now_ms);

/** 1 while the connection wants input. */
MQWS_API int mqws_conn_want_read(const mqws_conn *c);
/** 1 while output is pending. Both 0: close the socket. */
MQWS_API int mqws_conn_want_write(mqws_conn *c);
/** 1 once the connection is closing or closed (no more input is read). */
MQWS_API int mqws_conn_closed(const mqws_conn *c);
/** Why it closed: MQTT reason, error, statement, WebSocket close code. */
MQWS_API const mqws_close_info *mqws_conn_close_info(const mqws_conn *c);

/** The socket reached end of stream or failed: the connection is lost (will published per the
 * session rules). */
MQWS_API void mqws_conn_eof(mqws_conn *c);
/** Close gracefully: MQTT DISCONNECT with `reason` (5.0; see mqws_session_disconnect) then,
 * over WebSocket, a close frame (1000, or 1002 for a reason >= 0x80). MQWS_OK or
 * MQWS_ECLOSED. */
MQWS_API int mqws_conn_close(mqws_conn *c, uint8_t reason);

/** Queue raw bytes to write before anything else pending (for an on_http answer). Copied.
 * MQWS_OK, MQWS_ENOMEM, MQWS_ESTATE (not in HTTP mode). */
MQWS_API int mqws_conn_write_raw(mqws_conn *c, const void *data, size_t len);

/** The subprotocol agreed in the WebSocket handshake (empty view for TCP or none). */
MQWS_API mqws_view mqws_conn_ws_subprotocol(const mqws_conn *c);

/** Heap bytes held by the conn itself, excluding its session (see mqws_session_get_stats). */
MQWS_API size_t mqws_conn_heap_bytes(const mqws_conn *c);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_CONN_H */
