/* Private structures of the session engine, shared with conn.c. Never installed.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_LIB_SESSION_INTERNAL_H
#define MQWS_LIB_SESSION_INTERNAL_H

#include "../core/internal.h"
#include "mqws/codec.h"
#include "mqws/session.h"

struct mqws_callbacks {
    const mqws_allocator *a;
    mqws_on_connect_cb on_connect;
    mqws_on_connack_cb on_connack;
    mqws_on_auth_cb on_auth;
    mqws_on_publish_cb on_publish;
    mqws_on_ack_cb on_ack;
    mqws_on_subscribe_cb on_subscribe;
    mqws_on_subscribe_cb on_unsubscribe;
    mqws_on_will_cb on_will;
    mqws_on_drop_cb on_drop;
    mqws_on_close_cb on_close;
    mqws_on_expired_cb on_expired;
};

struct mqws_slice {
    const uint8_t *data;
    size_t len;
    const mqws_allocator *a;
    void (*release)(void *ud, const void *data, size_t len);
    void *release_ud;
    uint32_t refs;
    uint32_t inline_data; /* 1: data follows the struct in the same block */
};

/* One entry of the output queue: control / header bytes in chunk[0..len) (an allocation of
 * `cap` bytes), then an optional payload slice. The entries live in one array (a window
 * [ent_head, ent_head + ent_n) of ent_cap slots) so that walking the queue reads memory in
 * order: a fan-out allocates each subscriber's chunks interleaved with everyone else's, and a
 * linked list of them is a chain of cache misses. The array is freed when the queue empties. */
typedef struct sess_ent {
    uint8_t *chunk;
    mqws_slice *payload;
    uint32_t len;
    uint32_t cap;
} sess_ent;

/* An outbound application message kept for the send window, the offline queue or until it is
 * acknowledged. data[] holds the topic, then the pass-through property block (wire format:
 * payload format, content type, response topic, correlation data, user properties), then
 * sub_id_count subscription identifiers (4 bytes each, big-endian). */
typedef struct sess_msg {
    struct sess_msg *next;
    mqws_slice *payload; /* NULL once PUBREC released it */
    int64_t expire_at;   /* INT64_MAX: no Message Expiry Interval */
    uint32_t props_len;
    uint16_t topic_len;
    uint16_t packet_id;
    uint16_t sub_id_count;
    uint8_t qos;
    uint8_t retain;
    uint8_t state; /* MSG_QUEUED, MSG_SENT, MSG_RELEASED */
    uint8_t pad_[3];
    uint8_t data[];
} sess_msg;

enum { MSG_QUEUED = 0, MSG_SENT = 1, MSG_RELEASED = 2 };

/* A small growable set of packet identifiers (inbound QoS 2 awaiting PUBREL; client SUBSCRIBE /
 * UNSUBSCRIBE awaiting their ack). No allocation while empty. */
typedef struct sess_idset {
    uint16_t *v;
    uint16_t n;
    uint16_t cap;
} sess_idset;

typedef struct sess_alias_in {
    uint8_t *topic;
    uint16_t len;
} sess_alias_in;

typedef struct sess_alias_out {
    uint8_t *topic;
    uint16_t len;
    uint32_t used; /* LRU clock */
} sess_alias_out;

/* The will of a server session, one block: topic, payload, will property block. */
typedef struct sess_will {
    uint32_t delay;
    uint32_t props_len;
    uint32_t payload_len;
    uint16_t topic_len;
    uint8_t qos;
    uint8_t retain;
    uint8_t data[];
} sess_will;

struct mqws_session {
    const mqws_allocator *a;
    const mqws_callbacks *cb;
    void *user;
    void *owner; /* the mqws_conn, if any */

    int64_t now;
    int64_t deadline_connect; /* INT64_MAX: none */
    int64_t last_rx;
    int64_t last_tx;
    int64_t closed_at;
    int64_t ping_sent_at; /* client: 0 when no PINGREQ is outstanding */

    /* Output queue */
    sess_ent *ent;
    size_t out_off; /* bytes of the first entry already sent */
    size_t out_bytes;

    /* Outbound messages: in flight (sent, awaiting ack) and waiting (window or offline). */
    sess_msg *infl_head;
    sess_msg *infl_tail;
    sess_msg *q_head;
    sess_msg *q_tail;
    uint32_t infl_count;
    uint32_t q_count;
    uint32_t q_bytes;

    /* Input: a partial packet (header bytes first, then an exact-size buffer). */
    uint32_t in_len;
    uint32_t in_total; /* 0 while the fixed header is incomplete */
    uint8_t *inbuf;
    uint8_t *early; /* server: packets pipelined behind a CONNECT whose answer is pending */
    uint32_t early_len;

    uint8_t *client_id;
    sess_will *will;
    char *response_info;
    sess_alias_in *alias_in;   /* alias_in_max entries, allocated on first use */
    sess_alias_out *alias_out; /* alias_out_max entries, allocated on first use */
    sess_idset in_qos2;
    sess_idset pending_sub;

    uint32_t flags;
    uint32_t max_packet_in;  /* ours */
    uint32_t max_packet_out; /* the peer's */
    uint32_t connect_timeout_ms;
    uint32_t max_session_expiry;
    uint32_t session_expiry;
    uint32_t queue_max_messages;
    uint32_t queue_max_bytes;
    uint32_t alias_clock;
    uint32_t ent_head;
    uint32_t ent_n;
    uint32_t ent_cap;

    uint16_t client_id_len;
    uint16_t keep_alive;
    uint16_t recv_max_in;
    uint16_t alias_in_max;
    uint16_t alias_out_cfg;
    uint16_t alias_out_max; /* in force: min(ours, peer's) */
    uint16_t inflight_cfg;
    uint16_t window_out; /* in force: min(ours, peer Receive Maximum) */
    uint16_t server_keep_alive;
    uint16_t next_pid;

    uint8_t role;
    uint8_t level;
    uint8_t state;
    uint8_t maximum_qos;
    uint8_t caps; /* CAP_* */
    uint8_t peer_max_qos;
    uint8_t peer_retain;
    uint8_t clean_start;
    uint8_t pid_wrapped;
    uint8_t auth_pending; /* server: enhanced authentication in progress */
    uint8_t connect_seen; /* server: CONNECT received on this connection */
    uint8_t will_fired;
    uint8_t expiry_zero_connect; /* 5.0: CONNECT had Session Expiry 0 (§3.14.2.2.2) */
    uint8_t expired;             /* server: the session state is gone */
    uint8_t in_recv;             /* inside mqws_session_recv */
    uint8_t in_hdr[5];

    mqws_close_info close;
    uint64_t packets_in, packets_out, bytes_in, bytes_out, publish_in, publish_out, dropped;
};

#define CAP_RETAIN 0x1u
#define CAP_WILD   0x2u
#define CAP_SUBID  0x4u
#define CAP_SHARED 0x8u

/* Used by conn.c. */
void mqws__session_set_owner(mqws_session *s, void *owner);
void *mqws__session_owner(const mqws_session *s);
/* Close the connection from below (transport failure or end): `by_peer`, error and message as
 * given; the will rules of a lost connection apply. No-op when already closed. */
void mqws__session_abort(mqws_session *s, int err, uint8_t reason, int by_peer,
                         const char *message);
/* The allocator-accounted size of the session (struct and everything it owns). */
size_t mqws__session_heap(const mqws_session *s);

/* Parse a property block the library stored itself (validated when it was received) into the
 * fields of `out`: payload format, message expiry, content type, response topic, correlation
 * data, will delay and user properties (counted; `raw` keeps them for iteration). Shared by
 * the session's message and will records and the broker's. */
void mqws__props_from_block(const uint8_t *b, size_t len, mqws_props *out);
/* A PUBLISH over a stored message laid out as topic, payload, property block in `data` (a
 * will, in the session and in the broker): views into `data`, properties parsed back. */
void mqws__stored_publish(mqws_packet *p, const uint8_t *data, size_t topic_len, size_t payload_len,
                          size_t props_len, uint8_t qos, uint8_t retain);

#endif
