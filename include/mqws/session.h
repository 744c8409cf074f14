/* mqws session (L2): one MQTT connection's protocol engine, server or client role, sans-I/O.
 *
 * A session consumes the MQTT byte stream of one connection (mqws_session_recv), produces the
 * bytes to send (mqws_session_pending / mqws_session_sent), tells the host what happened through
 * callbacks, and keeps time only through mqws_session_tick(now_ms). It never reads a clock,
 * never does I/O and allocates only through the host's allocator. Most hosts use it through
 * mqws_conn (conn.h), which stacks the optional WebSocket layer underneath.
 *
 * Speaks MQTT 3.1.1 and 5.0 (and 3.1 when MQWS_SESSION_ALLOW_V31 is set), in either role:
 *  - server: CONNECT validation, synchronous or asynchronous authentication, MQTT 5 enhanced
 *    authentication and re-authentication, CONNACK capability properties from the config,
 *    keepalive (1.5x [MQTT-3.1.2-24]), QoS 1/2 both ways with receive-maximum windows, topic
 *    aliases both ways, maximum packet size both ways, will with delay, session expiry and an
 *    offline queue, snapshot and restore.
 *  - client: CONNECT, SUBSCRIBE, UNSUBSCRIBE, PUBLISH QoS 0/1/2, keepalive PINGREQ, resume of
 *    a persistent session (unacknowledged messages resent with DUP [MQTT-4.4.0-1]).
 *
 * Memory: an idle connected session holds no buffers: the input buffer exists only while a
 * packet is incomplete (sized exactly from its fixed header, refused before buffering when it
 * exceeds the maximum packet size), the output queue only while bytes are unsent.
 *
 * Outgoing PUBLISH payloads are reference-counted slices (mqws_slice): a broker builds one slice
 * per message and queues it on any number of sessions; each session only encodes a small header.
 * QoS 1/2 messages keep their reference until acknowledged (and across a disconnect when the
 * session persists).
 *
 * Threads: a session and everything reached from it (its slices included) belong to one thread
 * at a time; slice reference counts are not atomic.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_SESSION_H
#define MQWS_SESSION_H

#include "mqws/codec.h"
#include "mqws/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Reference-counted byte slices */

typedef struct mqws_slice mqws_slice;

/** A new slice holding a copy of data[0..len) in one allocation, reference count 1. `a` NULL =
 * default allocator (it must outlive the slice). Returns NULL on allocation failure. */
MQWS_API mqws_slice *mqws_slice_new(const mqws_allocator *a, const void *data, size_t len);

/** A slice over host memory, without copying: `release(release_ud, data, len)` is called when
 * the last reference goes (may be NULL for static data). The small slice header is allocated
 * with `a`. Returns NULL on allocation failure (release is then not called). */
MQWS_API mqws_slice *
mqws_slice_wrap(const mqws_allocator *a, const void *data, size_t len,
                void (*release)(void *release_ud, const void *data, size_t len), void *release_ud);

/** Take one more reference; returns `s`. */
MQWS_API mqws_slice *mqws_slice_ref(mqws_slice *s);
/** Drop one reference; the last one frees the slice. NULL is a no-op. */
MQWS_API void mqws_slice_unref(mqws_slice *s);
/** The bytes of the slice (valid while a reference is held). */
MQWS_API mqws_view mqws_slice_view(const mqws_slice *s);
/** The current reference count (for tests and statistics). */
MQWS_API uint32_t mqws_slice_refcount(const mqws_slice *s);

/* ------------------------------------------------------------------------------------------ */
/* Configuration */

#define MQWS_SESSION_SERVER 0u
#define MQWS_SESSION_CLIENT 1u

/* mqws_session_config.flags */
/* Server: accept MQTT 3.1 ("MQIsdp", level 3) clients. */
#define MQWS_SESSION_ALLOW_V31 0x1u
/* Server: refuse an empty client identifier (3.1.1: return code 0x02 even with clean session;
 * 5.0: 0x85 instead of assigning one). */
#define MQWS_SESSION_NO_EMPTY_CLIENT_ID 0x2u
/* Server: keep QoS 0 messages in the offline queue of a disconnected persistent session
 * (the spec allows either; default: QoS 0 messages for an offline session are dropped). */
#define MQWS_SESSION_QUEUE_QOS0_OFFLINE 0x4u
/* Close the connection when a peer's string holds a code point the spec discourages
 * (U+0001..U+001F, U+007F..U+009F, non-characters; MQTT 5 §1.5.4 allows this). */
#define MQWS_SESSION_REJECT_DISCOURAGED 0x8u
/* MQTT 5: check that a PUBLISH with Payload Format Indicator 1 carries UTF-8 (the spec lets a
 * receiver check, §3.3.2.3.2); refused with 0x99 in PUBACK / PUBREC, or DISCONNECT 0x99 for
 * QoS 0, and not delivered. */
#define MQWS_SESSION_CHECK_PAYLOAD_FORMAT 0x10u

/* Initialise with MQWS_SESSION_CONFIG_INIT (the defaults below) and change fields. The
 * configuration is copied at mqws_session_new(); strings it points to are copied too. */
typedef struct mqws_session_config {
    size_t size;                     /* sizeof(mqws_session_config) */
    const mqws_allocator *allocator; /* NULL = default; must outlive the session */
    uint32_t role;                   /* MQWS_SESSION_SERVER (default) or MQWS_SESSION_CLIENT */
    uint32_t flags;                  /* MQWS_SESSION_*, default 0 */
    /* Client: the protocol level to speak (MQWS_MQTT_311 or MQWS_MQTT_5, default 5). Server:
     * ignored (the client's CONNECT decides). */
    uint8_t protocol_level;
    /* Server: CONNACK Maximum QoS (0..2, default 2 = not sent); a PUBLISH from the client above
     * it is refused (0x9B) and subscriptions are granted at most this. */
    uint8_t maximum_qos;
    /* Server: CONNACK capabilities, 1 = available (default), 0 = not (then sent in CONNACK). */
    uint8_t retain_available;
    uint8_t wildcard_sub_available;
    uint8_t sub_id_available;
    uint8_t shared_sub_available;
    /* Receive Maximum we announce (1..65535, default 64): QoS 1/2 PUBLISH we accept
     * unacknowledged at once; one more is refused with 0x93 [MQTT-3.3.4-9]. */
    uint16_t receive_maximum;
    /* Topic Alias Maximum we announce for inbound aliases (0 = none; default 16). */
    uint16_t topic_alias_maximum;
    /* Our cap on outbound topic aliases, further limited by the peer's Topic Alias Maximum
     * (0 = never use aliases; default 16). */
    uint16_t outbound_alias_maximum;
    /* Our cap on unacknowledged QoS 1/2 messages we send, further limited by the peer's
     * Receive Maximum (1..65535, default 64). */
    uint16_t outbound_inflight_maximum;
    /* Server: Server Keep Alive to impose in seconds (sent in CONNACK 5.0, also applied to
     * 3.1.1 clients' timers); 0 = use the client's Keep Alive (default). */
    uint16_t server_keep_alive;
    uint16_t reserved0_; /* 0 */
    /* Largest packet we accept, in bytes (our Maximum Packet Size, sent in CONNECT/CONNACK
     * 5.0); a bigger one is refused from its fixed header, before any of it is buffered (0x95).
     * 0 = the protocol maximum. Default 1 MiB. */
    uint32_t maximum_packet_size;
    /* Server: close a connection whose CONNECT has not arrived, or whose authentication has
     * not finished, this long after creation (0 = never; default 10000 ms). Client: close when
     * CONNACK has not arrived this long after mqws_session_connect(). */
    uint32_t connect_timeout_ms;
    /* Server: the largest Session Expiry Interval granted, in seconds; a 5.0 client asking
     * more is told this in CONNACK. A 3.1.1 session with clean session 0 lasts this long after
     * a disconnect. 0xFFFFFFFF = never expires. Default 86400. */
    uint32_t max_session_expiry;
    /* Messages waiting for the send window or, while a persistent session is offline, for
     * the client to come back: limits in messages and payload bytes (defaults 1000 and 1 MiB).
     * Drop policy when full: the oldest queued QoS 0 message goes first (on_drop is called for
     * it); when none is left the new message is refused (mqws_session_publish returns
     * MQWS_ELIMIT; on_drop is not called for a message that was never accepted).
     * Messages in flight (sent, unacknowledged) never count against and are never dropped. */
    uint32_t queue_max_messages;
    uint32_t queue_max_bytes;
    /* Server: Response Information sent when a 5.0 client requests it, NUL-terminated, or
     * NULL for none (default). Copied. */
    const char *response_information;
} mqws_session_config;

#define MQWS_SESSION_CONFIG_INIT                                                                   \
    {                                                                                              \
        sizeof(mqws_session_config), NULL, MQWS_SESSION_SERVER, 0u, 5u, 2u, 1u, 1u, 1u, 1u, 64u,   \
            16u, 16u, 64u, 0u, 0u, 1048576u, 10000u, 86400u, 1000u, 1048576u, NULL                 \
    }

/* ------------------------------------------------------------------------------------------ */
/* States and closing */

enum mqws_session_state {
    MQWS_SESSION_IDLE = 0,       /* server: waiting for CONNECT; client: not yet connecting */
    MQWS_SESSION_CONNECTING = 1, /* server: CONNECT in, answer pending (auth); client: sent */
    MQWS_SESSION_CONNECTED = 2,  /* CONNACK accepted: packets flow */
    MQWS_SESSION_CLOSING = 3,    /* a final packet (CONNACK refusal, DISCONNECT) is being
                                    flushed; nothing more is read */
    MQWS_SESSION_CLOSED = 4,     /* the connection is over (the session state may persist) */
    MQWS_SESSION_EXPIRED = 5     /* server: a persistent session's expiry passed; all gone */
};

typedef struct mqws_session mqws_session;

/* Why a connection closed. Filled once it is CLOSING or CLOSED. */
typedef struct mqws_close_info {
    int error;             /* MQWS_OK for a normal close, else the MQWS_E* cause */
    uint8_t reason;        /* MQTT 5 reason code sent or received (also for 3.1.1, as the cause) */
    uint8_t by_peer;       /* 1: the peer disconnected or the stream ended; 0: we closed */
    uint16_t ws_code;      /* conn with WebSocket: the close code sent or received, else 0 */
    const char *statement; /* the spec statement the peer broke ("MQTT-3.1.0-2"), or NULL */
    const char *message;   /* a short English explanation, static, never NULL once closed */
} mqws_close_info;

/* ------------------------------------------------------------------------------------------ */
/* Callbacks: an opaque object filled by setters, shared by any number of sessions (not copied:
 * it must outlive every session using it). Unset callbacks take the documented default.
 *
 * Re-entry: inside a callback the host MAY call, on the same session, mqws_session_accept /
 * _reject / _auth / _publish / _subscribe / _unsubscribe / _disconnect / _pending_bytes /
 * _state / getters, and any function on OTHER sessions (a broker routes a publish to its
 * subscribers from on_publish). It MUST NOT call mqws_session_recv, _tick, _sent, _pending,
 * _free or _takeover on the session the callback is about. After a callback closes the
 * session (disconnect, reject), nothing more of the current input is processed.
 *
 * Packets passed to callbacks are decoded views into the input: valid only during the call. */

typedef struct mqws_callbacks mqws_callbacks;

/* Server: a valid CONNECT arrived (client id, will, username/password, properties in
 * `connect`; an empty client id has already been replaced by the assigned one in 5.0). The
 * host answers with mqws_session_accept() or mqws_session_reject(), now or later (asynchronous
 * authentication, bounded by connect_timeout_ms), or with mqws_session_auth() to continue an
 * enhanced authentication (5.0, `connect->props` has an Authentication Method). Unset: accept
 * with session_present 0. */
typedef void (*mqws_on_connect_cb)(mqws_session *s, const mqws_packet *connect, void *user);

/* Client: the CONNACK arrived. reason_code != 0 means refused; the session then closes. */
typedef void (*mqws_on_connack_cb)(mqws_session *s, const mqws_packet *connack, void *user);

/* 5.0 enhanced authentication: an AUTH packet arrived (server: continue 0x18 or re-auth 0x19
 * from the client; client: continue 0x18 or success 0x00 of a re-auth from the server).
 * Answer with mqws_session_auth() (continue), mqws_session_accept() (server, during CONNECT),
 * mqws_session_auth(s, 0x00, ...) (server, re-auth success) or mqws_session_disconnect().
 * Unset: server refuses (0x8C Bad authentication method), client disconnects. */
typedef void (*mqws_on_auth_cb)(mqws_session *s, const mqws_packet *auth, void *user);

/* An application message arrived. Topic aliases are already resolved: `pub->topic` is the
 * full topic name, the Topic Alias property bit is cleared. For QoS 2 this is called once per
 * message: a resend with the same packet identifier before PUBREL is not delivered again
 * (§4.3.3). Return the reason code for PUBACK / PUBREC: 0x00 (or 0x10 "no matching
 * subscribers"), or >= 0x80 to refuse (5.0; with 3.1.1 a refusal closes the connection, the
 * only way the older protocol has to say no); other values count as 0x80. Unset: 0x00. */
typedef int (*mqws_on_publish_cb)(mqws_session *s, const mqws_packet *pub, void *user);

/* An acknowledgement of something we sent: PUBACK, PUBREC with a reason >= 0x80, PUBCOMP
 * (the packet identifier is free again when this is called), and in the client role SUBACK and
 * UNSUBACK. */
typedef void (*mqws_on_ack_cb)(mqws_session *s, const mqws_packet *ack, void *user);

/* Server: SUBSCRIBE / UNSUBSCRIBE arrived. `verdicts` has one byte per entry
 * (sub->entry_count), pre-filled by the session: granted QoS (requested, capped by maximum_qos)
 * or an error the session already decided (0x8F invalid filter, 0xA2 wildcards or 0x9E shared
 * subscriptions not available); for UNSUBSCRIBE 0x00. The host overwrites entries (e.g. 0x87
 * not authorised, 0x11 no subscription existed) before returning; the session then sends
 * SUBACK / UNSUBACK (3.1.1: 0x80 for any failure). Unset: the pre-filled verdicts stand. */
typedef void (*mqws_on_subscribe_cb)(mqws_session *s, const mqws_packet *sub, uint8_t *verdicts,
                                     void *user);

/* Server: the will message must be published now (connection lost without DISCONNECT 0x00,
 * after the Will Delay Interval or at session end, whichever is first [MQTT-3.1.3-9]).
 * `will` is a PUBLISH (topic, payload, qos, retain, props = the will properties). */
typedef void (*mqws_on_will_cb)(mqws_session *s, const mqws_packet *will, void *user);

/* A message we were asked to send was dropped: `why` is MQWS_ETOOBIG (bigger than the peer's
 * Maximum Packet Size [MQTT-3.1.2-25]), MQWS_ELIMIT (queue full), or MQWS_ECLOSED (expired:
 * Message Expiry Interval passed, or the session ended). */
typedef void (*mqws_on_drop_cb)(mqws_session *s, const mqws_packet *pub, int why, void *user);

/* The connection closed (once per connection): see mqws_close_info. `disconnect` is the peer's
 * DISCONNECT packet when there was one, else NULL. A persistent session lives on (state
 * CLOSED) until it expires or is taken over. */
typedef void (*mqws_on_close_cb)(mqws_session *s, const mqws_close_info *why,
                                 const mqws_packet *disconnect, void *user);

/* Server: a closed persistent session reached its expiry in mqws_session_tick(): its
 * messages are gone; the host may free it now (not from inside this callback). */
typedef void (*mqws_on_expired_cb)(mqws_session *s, void *user);

/** New, empty callbacks object. NULL on allocation failure. */
MQWS_API mqws_callbacks *mqws_callbacks_new(const mqws_allocator *a);
MQWS_API void mqws_callbacks_free(mqws_callbacks *cb);
MQWS_API void mqws_callbacks_set_on_connect(mqws_callbacks *cb, mqws_on_connect_cb fn);
MQWS_API void mqws_callbacks_set_on_connack(mqws_callbacks *cb, mqws_on_connack_cb fn);
MQWS_API void mqws_callbacks_set_on_auth(mqws_callbacks *cb, mqws_on_auth_cb fn);
MQWS_API void mqws_callbacks_set_on_publish(mqws_callbacks *cb, mqws_on_publish_cb fn);
MQWS_API void mqws_callbacks_set_on_ack(mqws_callbacks *cb, mqws_on_ack_cb fn);
MQWS_API void mqws_callbacks_set_on_subscribe(mqws_callbacks *cb, mqws_on_subscribe_cb fn);
MQWS_API void mqws_callbacks_set_on_unsubscribe(mqws_callbacks *cb, mqws_on_subscribe_cb fn);
MQWS_API void mqws_callbacks_set_on_will(mqws_callbacks *cb, mqws_on_will_cb fn);
MQWS_API void mqws_callbacks_set_on_drop(mqws_callbacks *cb, mqws_on_drop_cb fn);
MQWS_API void mqws_callbacks_set_on_close(mqws_callbacks *cb, mqws_on_close_cb fn);
MQWS_API void mqws_callbacks_set_on_expired(mqws_callbacks *cb, mqws_on_expired_cb fn);

/* ------------------------------------------------------------------------------------------ */
/* Lifetime */

/** Create a session. `cfg` NULL = server with defaults; `cb` NULL = no callbacks (must outlive
 * the session otherwise); `user` is passed to every callback. `now_ms` is the host's clock
 * (any epoch, same as for tick) at creation, the start of the CONNECT timeout. Returns NULL on
 * allocation failure or invalid configuration. */
MQWS_API mqws_session *mqws_session_new(const mqws_session_config *cfg, const mqws_callbacks *cb,
                                        void *user, int64_t now_ms);
/** Free the session, its queues and its slice references. No callback is called. NULL no-op. */
MQWS_API void mqws_session_free(mqws_session *s);

MQWS_API void *mqws_session_user(const mqws_session *s);
MQWS_API void mqws_session_set_user(mqws_session *s, void *user);

/* ------------------------------------------------------------------------------------------ */
/* Bytes in, bytes out, time */

/** Feed bytes received from the peer. Returns the number of bytes consumed (all of them unless
 * the session closed part way: bytes after the packet that ended the connection are not
 * consumed), or a negative MQWS_E* code: MQWS_ECLOSED when already closed, MQWS_ESTATE for a
 * client that has not called mqws_session_connect(), or the error that just closed the session
 * (a protocol error, or MQWS_ENOMEM: a packet half processed cannot be rolled back, so running
 * out of memory ends the connection cleanly; see mqws_session_close_info()). The buffer is not
 * kept. */
MQWS_API int64_t mqws_session_recv(mqws_session *s, const uint8_t *buf, size_t len);

/** Fill iov[0..max) with the bytes to send now, in order; returns the number of entries used
 * (0: nothing to send). The memory stays valid until the next mqws_session_sent() or recv,
 * tick or publish call. */
MQWS_API size_t mqws_session_pending(mqws_session *s, mqws_iovec *iov, size_t max);
/** Total bytes pending. */
MQWS_API size_t mqws_session_pending_bytes(const mqws_session *s);
/** The host wrote `n` bytes (the first n of what pending() described; partial writes fine). */
MQWS_API void mqws_session_sent(mqws_session *s, size_t n);

/** Advance time: keepalive (server: close after 1.5x Keep Alive without a packet
 * [MQTT-3.1.2-24]; client: PINGREQ when idle, close when PINGRESP does not come), CONNECT
 * timeout, will delay, message expiry, session expiry. Also the session's notion of "now" for
 * packets received afterwards: hosts call tick once per loop pass before recv. Returns the
 * next deadline (same epoch), INT64_MAX if none. */
MQWS_API int64_t mqws_session_tick(mqws_session *s, int64_t now_ms);

/** 1 while the session wants input (not closing or closed). */
MQWS_API int mqws_session_want_read(const mqws_session *s);
/** 1 while bytes are pending. When both want_read and want_write are 0, drop the socket. */
MQWS_API int mqws_session_want_write(const mqws_session *s);

MQWS_API int mqws_session_state(const mqws_session *s);
/** The close information (zeroed with message NULL while open). */
MQWS_API const mqws_close_info *mqws_session_close_info(const mqws_session *s);

/** Set the session's clock without running any timer or callback (a router queueing a message
 * with a Message Expiry Interval on an idle session wants the current time). Same epoch as
 * tick. */
MQWS_API void mqws_session_set_now(mqws_session *s, int64_t now_ms);

/** The socket is gone (end of stream, error, or the host closed it after want_read and
 * want_write went 0): an open connection closes as "lost" (the will is published per the rules
 * above), and pending output is discarded. A persistent session stays for takeover/expiry. */
MQWS_API void mqws_session_eof(mqws_session *s);

/* ------------------------------------------------------------------------------------------ */
/* Server role */

/** Accept the pending CONNECT: queue CONNACK (with the capability properties from the config,
 * assigned client id, server keep alive, response information, plus `props` from the host:
 * reason string, user properties, authentication method/data, server reference; may be NULL)
 * and resend what a resumed session had in flight. `session_present` says whether the host
 * resumed a stored session (mqws_session_takeover / _restore) [MQTT-3.2.2-2]; it is forced to
 * 0 for clean start. Returns MQWS_OK, MQWS_ESTATE (no CONNECT pending), MQWS_ENOMEM. */
MQWS_API int mqws_session_accept(mqws_session *s, int session_present, const mqws_props *props);

/** Refuse the pending CONNECT with a 5.0 reason code (>= 0x80); for 3.1/3.1.1 it is mapped to
 * the closest return code (0x84->0x01, 0x85->0x02, 0x86->0x04, 0x87->0x05, others 0x03).
 * `props` as for accept (Server Reference with 0x9C/0x9D for redirection). The session sends
 * CONNACK and closes. Returns MQWS_OK, MQWS_ESTATE, MQWS_EINVAL. */
MQWS_API int mqws_session_reject(mqws_session *s, uint8_t reason, const mqws_props *props);

/** Move the persistent state of `old` (a closed, or still open, session of the same client
 * id) into `s`, whose CONNECT is pending: unacknowledged and queued outbound messages,
 * inbound QoS 2 state, next packet id. `old` is closed if open (5.0: DISCONNECT 0x8E "session
 * taken over" [MQTT-3.1.4-3]) and left empty; free it afterwards. Call it from on_connect
 * before mqws_session_accept(s, 1, ...). Returns MQWS_OK, MQWS_ENOTFOUND (`old` had no state
 * left to take: expired, or expiry 0; accept with session_present 0), MQWS_ESTATE. */
MQWS_API int mqws_session_takeover(mqws_session *s, mqws_session *old);

/** The client identifier (assigned one included) once a CONNECT was accepted or sent. */
MQWS_API mqws_view mqws_session_client_id(const mqws_session *s);
/** The protocol level in use (0 before CONNECT). */
MQWS_API uint8_t mqws_session_protocol_level(const mqws_session *s);
/** The keep alive in force, in seconds (after Server Keep Alive). */
MQWS_API uint16_t mqws_session_keep_alive(const mqws_session *s);
/** The session expiry interval in force, in seconds (0: ends with the connection). */
MQWS_API uint32_t mqws_session_expiry_interval(const mqws_session *s);

/* ------------------------------------------------------------------------------------------ */
/* Both roles */

/** Continue enhanced authentication (5.0 AUTH packet): `reason` 0x18 (continue), 0x19
 * (client: start re-authentication) or 0x00 (server: re-authentication succeeded); `props`
 * carries the Authentication Method (required) and Data. Server during CONNECT: sends AUTH
 * 0x18 and waits for the client's AUTH (on_auth). MQWS_OK, MQWS_ESTATE, MQWS_EINVAL. */
MQWS_API int mqws_session_auth(mqws_session *s, uint8_t reason, const mqws_props *props);

/** Send an application message: `pub` gives topic, qos, retain, props (Message Expiry
 * Interval, Payload Format, Content Type, Response Topic, Correlation Data, user properties,
 * and for a server Subscription Identifiers via props->sub_ids); the payload is `payload`
 * (a reference is taken; the caller keeps its own) or, when `payload` is NULL, a copy of
 * pub->payload. The session assigns the packet id (returned in *packet_id when non-NULL, 0 for
 * QoS 0), picks a topic alias, encodes a header and queues header + slice: the message goes out
 * now if the send window (peer Receive Maximum) allows, or waits in order (§4.6). A closed
 * persistent session queues it offline (see config queue limits and drop policy).
 * Returns MQWS_OK; MQWS_ETOOBIG (bigger than the peer's Maximum Packet Size: dropped as the
 * spec requires [MQTT-3.1.2-25]); MQWS_ELIMIT (queue full); MQWS_EINVAL (bad topic / qos,
 * or QoS above the server's Maximum QoS in the client role); MQWS_ECLOSED; MQWS_ENOMEM. */
MQWS_API int mqws_session_publish(mqws_session *s, const mqws_packet *pub, mqws_slice *payload,
                                  uint16_t *packet_id);

/** Queue a QoS 0 PUBLISH whose fixed and variable header the caller encoded already (for
 * this session's protocol level: no packet id, no topic alias), followed by `payload` (a
 * reference is taken; may be NULL for an empty payload). A broker encodes the header once per
 * wire variant and shares it; the header bytes (a few dozen) are copied, the payload never.
 * Returns MQWS_OK; MQWS_ESTATE when the message cannot go out now (not connected, or messages
 * are waiting ahead of it: use mqws_session_publish() instead, which keeps the order);
 * MQWS_ETOOBIG (dropped: bigger than the peer accepts); MQWS_EINVAL (not a QoS 0 PUBLISH
 * header); MQWS_ENOMEM. The header is not validated beyond its first byte. */
MQWS_API int mqws_session_publish_encoded(mqws_session *s, mqws_view header, mqws_slice *payload);

/** Close gracefully: 5.0 sends DISCONNECT with `reason` and `props` (may be NULL) (the server
 * sends it only in 5.0, the client in every version), then the session closes once the output
 * is flushed. A client's reason 0x04 keeps the will; 0x00 discards it. Returns MQWS_OK or
 * MQWS_ECLOSED. */
MQWS_API int mqws_session_disconnect(mqws_session *s, uint8_t reason, const mqws_props *props);

/* ------------------------------------------------------------------------------------------ */
/* Client role */

/** Queue CONNECT built from `connect` (client_id, clean_start, keep_alive, will*, username,
 * password, props; protocol level from the config). May be called again on a CLOSED session
 * to reconnect over a new transport: the session then resends its unacknowledged messages with
 * DUP once CONNACK says session present [MQTT-4.4.0-1]. MQWS_OK, MQWS_ESTATE, MQWS_EINVAL. */
MQWS_API int mqws_session_connect(mqws_session *s, const mqws_packet *connect);

/** Queue SUBSCRIBE for `n` entries (props: Subscription Identifier, user properties; may be
 * NULL). The answer comes as on_ack with a SUBACK. *packet_id receives the id. */
MQWS_API int mqws_session_subscribe(mqws_session *s, const mqws_subscription *subs, size_t n,
                                    const mqws_props *props, uint16_t *packet_id);
/** Queue UNSUBSCRIBE for `n` filters. */
MQWS_API int mqws_session_unsubscribe(mqws_session *s, const mqws_view *filters, size_t n,
                                      const mqws_props *props, uint16_t *packet_id);

/* ------------------------------------------------------------------------------------------ */
/* Persistence: a versioned binary snapshot of the state that outlives a connection (client
 * id, protocol level, expiry interval, next packet id, outbound unacknowledged and queued
 * messages with their payloads, inbound QoS 2 packet ids). Subscriptions are the broker's. The
 * format begins with "MQWS" and a version byte; restore validates everything (hostile input). */

/** Bytes mqws_session_snapshot() needs. */
MQWS_API size_t mqws_session_snapshot_size(const mqws_session *s);
/** Write the snapshot into buf[0..cap); *len receives its size. MQWS_OK or MQWS_ENOSPC. */
MQWS_API int mqws_session_snapshot(const mqws_session *s, uint8_t *buf, size_t cap, size_t *len);
/** Load a snapshot into `s`, whose CONNECT is pending or which is CLOSED (replacing its
 * persistent state). MQWS_OK, MQWS_EMALFORMED (not a valid snapshot: nothing changed),
 * MQWS_EUNSUPPORTED (unknown version), MQWS_ESTATE, MQWS_ENOMEM. */
MQWS_API int mqws_session_restore(mqws_session *s, const uint8_t *buf, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* Statistics */

typedef struct mqws_session_stats {
    uint64_t packets_in, packets_out;   /* whole packets */
    uint64_t bytes_in, bytes_out;       /* MQTT bytes (not counting WebSocket framing) */
    uint64_t publish_in, publish_out;   /* PUBLISH packets */
    uint64_t dropped;                   /* messages dropped (on_drop) */
    uint32_t inflight_out, inflight_in; /* unacknowledged QoS 1/2 each way */
    uint32_t queued_messages;           /* waiting for the send window or offline */
    uint32_t queued_bytes;              /* their payload bytes */
    size_t pending_bytes;               /* output not yet written */
    size_t heap_bytes;                  /* bytes this session holds from the allocator */
} mqws_session_stats;

MQWS_API void mqws_session_get_stats(const mqws_session *s, mqws_session_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_SESSION_H */
