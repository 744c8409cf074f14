/* mqws broker (L3): routing among many MQTT sessions, sans-I/O.
 *
 * The broker owns one mqws_conn per accepted socket and one session record per client
 * identifier. It routes PUBLISH packets through the subscription index (topic.h), keeps
 * retained messages, publishes wills, resumes persistent sessions (takeover), applies admission
 * control and rate limits, and publishes $SYS statistics. It never does I/O, never reads a
 * clock and allocates only through the host's allocator.
 *
 * Driving it from an epoll loop (one thread):
 *
 *   on accept(fd):   c = mqws_broker_accept(b, &conn_cfg, fd_record, now);
 *                    (NULL: the broker is full beyond its refusal backlog, close fd at once)
 *   on EPOLLIN:      n = read(fd, buf, ...);
 *                    n > 0: mqws_broker_recv(b, c, buf, n, now);
 *                    n == 0 or error: mqws_broker_eof(b, c)
 *   after the reads of one loop pass (routing has queued output on other connections):
 *                    while ((c = mqws_broker_next_writable(b)) != NULL) {
 *                        k = mqws_conn_pending(c, iov, 64); w = writev(fd, iov, k);
 *                        mqws_broker_sent(b, c, w > 0 ? w : 0);
 *                        if (mqws_conn_want_write(c)) arm EPOLLOUT (write the rest later,
 *                                                     again through mqws_broker_sent)
 *                        if (!mqws_conn_want_read(c) && !mqws_conn_want_write(c))
 *                            { close(fd); mqws_broker_release(b, c); }
 *                    }
 *   timers:          deadline = mqws_broker_tick(b, now); epoll_wait timeout = deadline - now.
 *                    Call it once per loop pass too (it is cheap when nothing expired).
 *   shutdown:        mqws_broker_close_all(b, 0x8B); drain next_writable; release; free.
 *
 * Connections handed out by mqws_broker_accept() belong to the broker: read their output with
 * mqws_conn_pending() / mqws_conn_pending_bytes() / mqws_conn_want_read() / _want_write() /
 * _close_info() / _ws_subprotocol(), but feed input, acknowledge output, advance time and free
 * them only through mqws_broker_recv / _sent / _tick / _release (the broker keeps each
 * connection's clock, output watermark and timers in step; mqws_conn_recv, _sent, _tick,
 * _flush, _eof and _free must not be called on them).
 *
 * Threads: a broker and all its connections belong to one thread at a time.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_BROKER_H
#define MQWS_BROKER_H

#include "mqws/codec.h"
#include "mqws/conn.h"
#include "mqws/core.h"
#include "mqws/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqws_broker mqws_broker;

/* ------------------------------------------------------------------------------------------ */
/* Configuration */

/* mqws_broker_config.rate_policy: what happens to a PUBLISH over a message-rate limit.
 * DISCONNECT: 5.0 DISCONNECT 0x96 Message rate too high; 3.1.1: the connection is closed (the
 * will is published). DROP: the message is not routed; 5.0 QoS 1/2 get PUBACK / PUBREC 0x97
 * Quota exceeded; QoS 0 and 3.1.1 are acknowledged normally and dropped (counted). */
#define MQWS_BROKER_RATE_DISCONNECT 0u
#define MQWS_BROKER_RATE_DROP       1u

/* Initialise with MQWS_BROKER_CONFIG_INIT and change fields. Copied by mqws_broker_new(). */
typedef struct mqws_broker_config {
    size_t size;                     /* sizeof(mqws_broker_config) */
    const mqws_allocator *allocator; /* NULL = default; must outlive the broker */
    /* Session settings used for every accepted connection whose mqws_conn_config has no
     * `session` of its own (NULL = MQWS_SESSION_CONFIG_INIT). Copied. The role is forced to
     * server. Its queue limits bound what a persistent session keeps offline and what waits
     * for a slow subscriber's send window (QoS 1/2). */
    const mqws_session_config *session;
    /* Admission (flow.h): all connections (0 = unlimited), connections whose CONNECT is not yet
     * answered (0 = unlimited), new connections per second (0 = unlimited) and its burst. A
     * connection over a limit is still accepted to be refused cleanly: its CONNECT is answered
     * CONNACK 0x89 Server busy (0x9F Connection rate exceeded for the rate; 3.1.1: 0x03 Server
     * unavailable) and it is closed; existing connections are untouched. At most
     * `refuse_backlog` such connections exist at once (default 64); beyond that
     * mqws_broker_accept() returns NULL. */
    uint32_t max_connections;
    uint32_t max_connecting;
    uint64_t connect_rate;
    uint64_t connect_burst;
    uint32_t refuse_backlog;
    /* Session records (online and offline persistent sessions, by client id), 0 = unlimited.
     * A CONNECT that would create one more is refused with 0x97 Quota exceeded (3.1.1: 0x03). */
    uint32_t max_sessions;
    /* Inbound PUBLISH rate limits in messages per second, per connection and for the whole
     * broker (0 = unlimited, default), with their bursts (0 = one second's worth), and the
     * policy when exceeded (MQWS_BROKER_RATE_*). */
    uint64_t client_msg_rate;
    uint64_t client_msg_burst;
    uint64_t global_msg_rate;
    uint64_t global_msg_burst;
    uint32_t rate_policy;
    /* Subscription index: shared-subscription strategy (enum mqws_topic_share_strategy) and
     * the hash / PRNG seed (give a random value). */
    uint32_t share_strategy;
    uint64_t seed;
    /* Slow consumers: a connection whose unwritten output reaches `out_high` bytes
     * (default MQWS_FLOW_OUT_HIGH_DEFAULT, 0 = never) gets no more QoS 0 messages (dropped,
     * counted, MQWS_BROKER_EV_DROP) until the host has written it down. The same watermark
     * with `out_low` (default MQWS_FLOW_OUT_LOW_DEFAULT) reports MQWS_BROKER_EV_PAUSE /
     * _RESUME for that connection: stop / resume reading it.
     * QoS 1/2 messages go to the subscriber session's queue (session queue limits). Nothing
     * accepted is lost for a connected subscriber: when its queue passes half of either limit
     * (the high watermark), every connection that routes a QoS 1/2 message to it is paused
     * (PAUSE; its input not yet processed is held by the broker) until the queue drains to a
     * quarter of the limits (RESUME). What reaches a full queue before its publishers stop
     * (one input piece each) waits in a broker-side overflow, in order, bounded by those
     * pieces. Only an offline persistent session drops over its limits (counted, DROP event);
     * a connected one only when the publisher cannot be paused (its own session congested, a
     * will, mqws_broker_publish) or memory runs out: dropped, counted (stats dropped_online),
     * and a 5.0 publisher gets PUBACK / PUBREC 0x97 instead of a success for that message. */
    uint64_t out_high;
    uint64_t out_low;
    /* Global output budget: when the unwritten output of all connections together reaches
     * this many bytes (0 = unlimited, default), MQWS_BROKER_EV_PAUSE is reported with
     * conn NULL and mqws_broker_paused() is 1: the host stops reading every connection until
     * MQWS_BROKER_EV_RESUME (conn NULL), reported when the total falls to half the budget. */
    uint64_t global_out_high;
    /* Retained store limits (0 = unlimited): messages and topic + payload + property bytes. A
     * retained PUBLISH over the limit is still routed but not retained (counted). */
    uint64_t max_retained;
    uint64_t max_retained_bytes;
    /* $SYS: publish the statistics as retained messages under "$SYS/broker/..." every
     * `sys_interval_ms` (0 = never; default 10000). */
    uint32_t sys_interval_ms;
    uint32_t reserved0_; /* 0 */
} mqws_broker_config;

#define MQWS_BROKER_CONFIG_INIT                                                                    \
    {                                                                                              \
        sizeof(mqws_broker_config), NULL, NULL, 0u, 0u, 0u, 0u, 64u, 0u, 0u, 0u, 0u, 0u,           \
            MQWS_BROKER_RATE_DISCONNECT, 0u, 0x6d7177736272306bull, 1048576u, 262144u, 0u, 0u, 0u, \
            10000u, 0u                                                                             \
    }

/* ------------------------------------------------------------------------------------------ */
/* Hooks: how the host authenticates, authorises and observes. Every hook is optional; unset
 * hooks allow everything (the "plain default": bind the listeners to loopback, or set them).
 * Hooks run inside the broker's calls (recv, tick, eof, release, disconnect, ...). Inside a
 * hook the host may call mqws_broker_auth_answer / _auth_continue / _disconnect / _publish /
 * _stats_get and the getters (their follow-up work runs when the outer call returns);
 * mqws_broker_recv returns MQWS_ESTATE and mqws_broker_tick does nothing there; _sent,
 * _next_writable, _release, _close_all and _free must not be called from a hook. */

/* authenticate() and mqws_broker_auth_answer() results besides a reason code: */
#define MQWS_BROKER_AUTH_OK 0 /* accept (CONNACK 0x00; re-authentication: AUTH 0x00) */
#define MQWS_BROKER_AUTH_ASYNC                                                                     \
    -1 /* the answer comes later: mqws_broker_auth_answer() (bounded                               \
          by the session's connect_timeout_ms), or the host has                                    \
          called mqws_broker_auth_continue() for another AUTH round */

/* MQWS_BROKER_ACL_*: the action an authorize() call is about. */
#define MQWS_BROKER_ACL_PUBLISH 1 /* PUBLISH (and the will when the CONNECT arrives) */
#define MQWS_BROKER_ACL_SUBSCRIBE                                                                  \
    2 /* one SUBSCRIBE entry; topic is the whole filter, $share                                    \
         prefix included */

/* Events reported to on_event(). */
enum mqws_broker_event_type {
    MQWS_BROKER_EV_CONNECT = 1,     /* CONNACK 0x00 sent (session_present in `flag`) */
    MQWS_BROKER_EV_REFUSED = 2,     /* CONNECT refused (reason; admission, auth, quota) */
    MQWS_BROKER_EV_DISCONNECT = 3,  /* a connected client's connection ended (reason, close) */
    MQWS_BROKER_EV_SUBSCRIBE = 4,   /* one SUBSCRIBE entry decided (topic, qos, reason) */
    MQWS_BROKER_EV_UNSUBSCRIBE = 5, /* one UNSUBSCRIBE entry (topic, reason) */
    MQWS_BROKER_EV_PUBLISH = 6,     /* a message was routed (topic, qos, retain, count =
                                       deliveries, bytes = payload size) */
    MQWS_BROKER_EV_DROP = 7,        /* a delivery was dropped (topic, qos, error: MQWS_ELIMIT
                                       slow consumer / queue full / rate limit, MQWS_ETOOBIG,
                                       MQWS_ECLOSED expired, MQWS_ENOMEM) */
    MQWS_BROKER_EV_PAUSE = 8,       /* stop reading `conn` (NULL: every connection): its own
                                       output is over out_high, or it feeds a subscriber whose
                                       queue is over its high watermark */
    MQWS_BROKER_EV_RESUME = 9,      /* read again */
    MQWS_BROKER_EV_TAKEOVER = 10,   /* `conn` (still open) is closed because a new connection
                                       takes its session over */
    MQWS_BROKER_EV_EXPIRED = 11,    /* an offline session expired (client_id) */
    MQWS_BROKER_EV_WILL = 12        /* a will message is being published (topic, qos, retain) */
};

typedef struct mqws_broker_event {
    size_t size;         /* sizeof(mqws_broker_event); fields may be added at the end */
    int type;            /* enum mqws_broker_event_type */
    int error;           /* MQWS_E* where the type says so, else 0 */
    mqws_conn *conn;     /* the connection concerned, or NULL (offline session, global) */
    void *conn_user;     /* its host pointer, or NULL */
    mqws_view client_id; /* empty before CONNECT */
    mqws_view topic;     /* topic name or filter, else empty */
    uint8_t protocol_level;
    uint8_t reason; /* MQTT reason code (CONNECT refusal, DISCONNECT, SUBACK verdict) */
    uint8_t qos;
    uint8_t retain;
    uint8_t flag; /* CONNECT: session present */
    uint8_t reserved_[3];
    uint32_t count;               /* PUBLISH: deliveries made */
    uint64_t bytes;               /* PUBLISH / DROP: payload bytes */
    const mqws_close_info *close; /* DISCONNECT: why */
} mqws_broker_event;

typedef struct mqws_broker_hooks {
    size_t size; /* sizeof(mqws_broker_hooks); hooks are only added at the end */
    /* A CONNECT (packet->type MQWS_PKT_CONNECT) or, in 5.0 enhanced authentication, an AUTH
     * (MQWS_PKT_AUTH: reason 0x18 continues a CONNECT exchange, 0x19 starts a
     * re-authentication) arrived on `c`. Return MQWS_BROKER_AUTH_OK, a reason code >= 0x80 to
     * refuse (CONNACK with it; 3.1.1 maps it to 0x04/0x05/0x03; during re-authentication:
     * DISCONNECT), or MQWS_BROKER_AUTH_ASYNC. To continue an enhanced exchange call
     * mqws_broker_auth_continue() and return ASYNC. The packet's views are valid only during
     * the call. Unset: every CONNECT is accepted, and a CONNECT carrying an Authentication
     * Method is refused with 0x8C Bad authentication method. */
    int (*authenticate)(void *user, mqws_conn *c, void *conn_user, const mqws_packet *packet);
    /* May `client_id` publish to (MQWS_BROKER_ACL_PUBLISH) or subscribe to
     * (MQWS_BROKER_ACL_SUBSCRIBE) `topic` at `qos`? Return 0 to allow, or a reason code
     * >= 0x80 (usually 0x87 Not authorized). A refused PUBLISH is answered 0x87 in 5.0 PUBACK /
     * PUBREC (QoS 0: silently dropped) and acknowledged-and-dropped in 3.1.1; a refused
     * subscription gets that verdict in SUBACK (3.1.1: 0x80). A will is checked once, when
     * its CONNECT arrives (action PUBLISH with the will's topic, QoS and retain): refused, the
     * CONNECT is answered with that reason (3.1.1: 0x05 / 0x03). Unset: allow. Whatever the
     * hook says, clients never publish under "$SYS/" (refused as above, 0x87). */
    int (*authorize)(void *user, mqws_conn *c, void *conn_user, int action, mqws_view client_id,
                     mqws_view topic, uint8_t qos, uint8_t retain);
    /* An event happened (see enum mqws_broker_event_type); the struct and its views are valid
     * only during the call. Unset: nothing is reported. */
    void (*on_event)(void *user, const mqws_broker_event *ev);
} mqws_broker_hooks;

#define MQWS_BROKER_HOOKS_INIT                                                                     \
    { sizeof(mqws_broker_hooks), NULL, NULL, NULL }

/* ------------------------------------------------------------------------------------------ */
/* Lifetime */

/** Create a broker. `cfg` NULL = defaults; `hooks` NULL = no hooks (copied; `user` is passed to
 * every hook). Returns NULL on allocation failure or an invalid configuration (size too
 * small, out_low >= out_high, unknown policy or strategy). */
MQWS_API mqws_broker *mqws_broker_new(const mqws_broker_config *cfg, const mqws_broker_hooks *hooks,
                                      void *user);

/** Free the broker, every connection it still holds (without sending anything and without
 * publishing wills: call mqws_broker_close_all() first for a graceful stop), every session,
 * subscription and retained message. NULL is a no-op. */
MQWS_API void mqws_broker_free(mqws_broker *b);

/* ------------------------------------------------------------------------------------------ */
/* Connections */

/** A socket was accepted at `now_ms`: create its connection. `cfg` is as for mqws_conn_new
 * (transport, WebSocket handshake settings, on_http; NULL = plain TCP with the broker's session
 * settings); the role is always server. Its callbacks (on_http, on_send) receive the broker's
 * connection pointer as `user`: get the host's back with mqws_broker_conn_user(c). `conn_user`
 * is the host's pointer for this connection (e.g. its fd record). The connection allocates
 * through the broker's allocator (cfg->allocator is ignored). Returns the connection, or
 * NULL when the refusal backlog is full or memory ran out (close the socket). A connection over
 * an admission limit is returned too; it will be refused at CONNECT.
 */
MQWS_API mqws_conn *mqws_broker_accept(mqws_broker *b, const mqws_conn_config *cfg, void *conn_user,
                                       int64_t now_ms);

/** Bytes read from `c`'s socket at `now_ms` (the buffer may be modified in place). Routes what
 * they carry: other connections may get output (see mqws_broker_next_writable()), `c` too.
 * Returns what mqws_conn_recv() returns. Input is processed in pieces of a few KiB: when `c`
 * gets paused by backpressure part way, the rest is copied and kept by the broker (counted as
 * consumed) and processed when `c` resumes; bytes given while `c` is paused are kept the same
 * way (don't: wait for RESUME). MQWS_ENOMEM when they cannot be kept (`c` is closed). */
MQWS_API int64_t mqws_broker_recv(mqws_broker *b, mqws_conn *c, uint8_t *buf, size_t len,
                                  int64_t now_ms);

/** The host wrote `n` bytes of `c`'s pending output (mqws_conn_pending()). */
MQWS_API void mqws_broker_sent(mqws_broker *b, mqws_conn *c, size_t n);

/** The next connection that needs the host's attention since the last call: output pending, or
 * finished (want_read and want_write both 0: close it and call mqws_broker_release()). Each
 * connection is returned at most once per change; NULL when none is left. O(1). */
MQWS_API mqws_conn *mqws_broker_next_writable(mqws_broker *b);

/** The socket reached end of stream or failed: the connection is lost (will rules apply). */
MQWS_API void mqws_broker_eof(mqws_broker *b, mqws_conn *c);

/** The host closed `c`'s socket: the broker frees the connection (mqws_broker_eof() first if
 * it was still open). A persistent session lives on offline (queueing QoS 1/2 messages) until
 * it is resumed or expires. `c` is invalid afterwards. */
MQWS_API void mqws_broker_release(mqws_broker *b, mqws_conn *c);

/** Close `c` gracefully: 5.0 DISCONNECT with `reason` (e.g. 0x98 Administrative action), then
 * the connection ends once its output is written. A connection still authenticating is refused
 * with `reason` (>= 0x80). Called from a hook while a message is being routed (a DROP or PAUSE
 * event), the close happens when the outer call returns. MQWS_OK or MQWS_ECLOSED. */
MQWS_API int mqws_broker_disconnect(mqws_broker *b, mqws_conn *c, uint8_t reason);

/** Close every connection as mqws_broker_disconnect() does (0x8B Server shutting down for a
 * stop). Wills follow the spec: the server closes without the client's DISCONNECT 0x00
 * [MQTT-3.1.2-8], and a will goes out at the earlier of its delay and the end of the session
 * [MQTT-3.1.3-9]; sessions are not kept across a restart, so they all end now. Every connected
 * client's will (delayed or not) and the delayed will of every offline session are therefore
 * published first, to the subscribers still connected (retained ones to the retained store),
 * and only then is any DISCONNECT queued: write the output out (next_writable) before
 * exiting. A will is never published twice (not at the session's close nor after its delay).
 * New connections are refused from now on (CONNACK 0x88 Server unavailable, 3.1.1 0x03). */
MQWS_API void mqws_broker_close_all(mqws_broker *b, uint8_t reason);

/** The host pointer given to mqws_broker_accept() for `c`. */
MQWS_API void *mqws_broker_conn_user(const mqws_conn *c);

/** 1 while the global output budget says "stop reading" (between the global PAUSE and RESUME
 * events), else 0. */
MQWS_API int mqws_broker_paused(const mqws_broker *b);
/** 1 while `c` must not be read (between its PAUSE and RESUME): its own output is over its
 * high watermark, or it feeds a subscriber whose queue is over its high watermark, or the broker
 * still holds input of it. */
MQWS_API int mqws_broker_conn_paused(const mqws_conn *c);

/* ------------------------------------------------------------------------------------------ */
/* Authentication answers */

/** Answer a pending authenticate() (ASYNC) for `c`: `reason` MQWS_BROKER_AUTH_OK (0) accepts
 * (CONNACK 0x00, or AUTH 0x00 for a re-authentication) with optional CONNACK / AUTH `props`
 * (Authentication Method and Data, reason string, user properties; may be NULL, except
 * that accepting a re-authentication needs the Authentication Method: MQWS_EINVAL), a reason
 * >= 0x80 refuses. MQWS_OK, MQWS_ESTATE (nothing pending, or called from a hook during a routing),
 * MQWS_ECLOSED. */
MQWS_API int mqws_broker_auth_answer(mqws_broker *b, mqws_conn *c, int reason,
                                     const mqws_props *props);

/** 5.0 enhanced authentication: send AUTH 0x18 Continue authentication with `props`
 * (Authentication Method required, Data optional); the client's next AUTH reaches
 * authenticate(). MQWS_OK, MQWS_EINVAL, MQWS_ESTATE. */
MQWS_API int mqws_broker_auth_continue(mqws_broker *b, mqws_conn *c, const mqws_props *props);

/* ------------------------------------------------------------------------------------------ */
/* Time and injection */

/** Advance time to `now_ms`: expired timers only (keepalives, CONNECT timeouts, WebSocket
 * handshake timeouts, will delays, session expiry, the $SYS interval), from a binary heap:
 * O(log n) per expired timer, nothing per idle connection. Call it once per loop pass, before
 * handling the pass's I/O, and at the deadline it returns (INT64_MAX: none). */
MQWS_API int64_t mqws_broker_tick(mqws_broker *b, int64_t now_ms);

/** Publish a message from the host (a bridge, an admin tool): `pub` gives topic, qos, retain,
 * payload and 5.0 properties (pass-through ones: payload format, message expiry, content type,
 * response topic, correlation data, user properties). Routed like a client's PUBLISH without a
 * publisher (no no-local). Returns the number of deliveries (>= 0), MQWS_EINVAL (bad topic or
 * QoS), MQWS_ENOMEM, or MQWS_ESTATE when called from a hook while a message is being routed
 * (routing is not reentrant). */
MQWS_API int mqws_broker_publish(mqws_broker *b, const mqws_packet *pub);

/* ------------------------------------------------------------------------------------------ */
/* Statistics (also published under $SYS/broker/...) */

typedef struct mqws_broker_stats {
    size_t size;                /* set to sizeof(mqws_broker_stats) before the call */
    uint64_t uptime_ms;         /* since the first time value the broker saw */
    uint64_t connections;       /* connection objects held (accepted, not yet released) */
    uint64_t clients_connected; /* connections with an accepted CONNECT, still open */
    uint64_t connecting;        /* CONNECT not yet answered */
    uint64_t sessions;          /* session records (online + offline) */
    uint64_t sessions_offline;  /* persistent sessions without a connection */
    uint64_t messages_in;       /* PUBLISH received from clients (and mqws_broker_publish) */
    uint64_t messages_out;      /* deliveries queued to sessions */
    uint64_t bytes_in;          /* bytes fed to mqws_broker_recv */
    uint64_t bytes_out;         /* bytes acknowledged with mqws_broker_sent */
    uint64_t dropped;           /* deliveries dropped (slow consumer, queue full, too big) */
    uint64_t rate_limited;      /* PUBLISH over a message-rate limit */
    uint64_t refused;           /* CONNECTs refused (admission, quota, authentication) */
    uint64_t subscriptions;     /* plain subscriptions + shared memberships */
    uint64_t retained;          /* retained messages */
    uint64_t retained_bytes;    /* their topic + payload + property bytes */
    uint64_t mem_index;         /* heap bytes: subscription index */
    uint64_t mem_retained;      /* heap bytes: retained store and messages */
    uint64_t mem_sessions;      /* heap bytes: connections, sessions, queues, payload slices */
    uint64_t mem_broker;        /* heap bytes: the broker's own tables */
    uint64_t mem_total;         /* sum of the four */
    uint64_t output_pending;    /* unwritten output bytes of all connections */
    /* Added with the queue backpressure (fields are only added at the end): */
    uint64_t dropped_online;      /* QoS 1/2 refused by a connected subscriber's full queue
                                     (its hard limit reached despite the backpressure) */
    uint64_t dropped_offline;     /* QoS 1/2 refused by an offline session's full queue */
    uint64_t backpressure_pauses; /* connections paused because a subscriber they feed passed
                                     its queue high watermark */
    uint64_t wills_at_close;      /* wills published by mqws_broker_close_all() */
} mqws_broker_stats;

/** Fill `st` (st->size must be set; fields beyond it are not written). O(1).
 * MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_broker_stats_get(const mqws_broker *b, mqws_broker_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_BROKER_H */
