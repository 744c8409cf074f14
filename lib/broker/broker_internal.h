/* Private structures of the broker. Never installed.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_LIB_BROKER_INTERNAL_H
#define MQWS_LIB_BROKER_INTERNAL_H

#include "../core/internal.h"
#include "mqws/broker.h"
#include "mqws/flow.h"
#include "mqws/topic.h"

/* A counting allocator in front of the host's: the allocator API passes every block's size
 * back on free and realloc, so the bytes each part of the broker holds are known exactly,
 * without per-block headers and without walking anything. */
typedef struct bk_alloc {
    mqws_allocator a; /* handed to the part; a.ud points at this struct */
    const mqws_allocator *base;
    uint64_t used;
} bk_alloc;

#define BK_KIND_CONN 0x434f4e4eu /* "CONN" */
#define BK_KIND_SESS 0x53455353u /* "SESS" */
#define BK_KIND_GONE 0x474f4e45u /* "GONE": a session being ended, no record any more */
#define BK_NO_POS    0xFFFFFFFFu

/* Intrusive doubly linked list link. */
typedef struct bk_link {
    struct bk_link *prev, *next;
} bk_link;

typedef struct bk_sess bk_sess;
typedef struct bk_conn bk_conn;

/* One accepted socket. The session user pointer and the conn user pointer are this record. */
struct bk_conn {
    uint32_t kind; /* BK_KIND_CONN: first, so a session's user pointer tells its kind */
    uint32_t hpos; /* timer heap position or BK_NO_POS */
    mqws_broker *b;
    mqws_conn *conn;
    void *user;
    bk_sess *sess;           /* bound session record, NULL before CONNECT and after takeover */
    bk_link all;             /* every connection */
    bk_link dirty;           /* waiting for mqws_broker_next_writable() */
    bk_link touch;           /* timers to recompute */
    mqws_flow_bucket rate;   /* inbound PUBLISH per second (client_msg_rate) */
    mqws_flow_watermark out; /* unwritten output: slow-consumer policy, PAUSE/RESUME */
    uint64_t out_level;      /* pending output as last accounted */
    uint8_t in_dirty;
    uint8_t in_touch;
    uint8_t admitted;  /* counted by admission: 1 connecting, 2 established */
    uint8_t connected; /* CONNACK 0x00 sent, not yet closed */
    uint8_t refuse;    /* non-zero: answer the CONNECT with this reason */
    uint8_t auth;      /* 0 none, 1 CONNECT pending, 2 re-authentication pending */
    uint8_t clean_start;
    uint8_t closed;       /* on_close seen */
    uint8_t defer_close;  /* 1: mqws_broker_disconnect() asked during a routing */
    uint8_t defer_reason; /* its reason */
    uint8_t paused;       /* PAUSE reported (own output, blocked, or input held), no RESUME yet */
    uint8_t will_sent;    /* mqws_broker_close_all() published the will already */
    uint8_t careful;      /* its last input piece fed a queue over its low watermark */
    uint8_t ka_skip;      /* keepalive suspended: 2 blocked (or just resumed), 1 grace */
    /* Backpressure: subscribers over their queue high watermark this connection routed a
     * QoS 1/2 message to. While non-zero the connection is paused and its input is held. */
    uint32_t blocked_by;
    uint32_t held_len, held_cap; /* input read while paused, fed when it resumes */
    uint8_t *held;
    struct bk_will *will; /* copy of the CONNECT's will, while CONNECTED (close_all) */
};

/* A connected client's will, copied from its CONNECT: mqws_broker_close_all() publishes it
 * before any connection gets its DISCONNECT. Props: the pass-through block (passprops). */
typedef struct bk_will {
    uint32_t payload_len, props_len;
    uint32_t expiry; /* Message Expiry Interval, 0 = none */
    uint16_t topic_len;
    uint8_t qos, retain, has_expiry, pad_[3];
    uint8_t data[]; /* topic, payload, props */
} bk_will;

/* A subscriber session over its queue high watermark: the connections that routed QoS 1/2
 * messages to it since, paused until the queue drains to the low watermark. */
typedef struct bk_cong {
    bk_link link;                       /* in the broker's congested list */
    struct bk_ovf *ovf_head, *ovf_tail; /* refused by the full queue, in order */
    uint32_t n, cap;
    bk_conn *blk[];
} bk_cong;

/* A QoS 1/2 message a congested, connected subscriber's queue refused (its hard limit reached
 * before the publishers feeding it stopped): kept here in order and handed to the session as
 * its queue drains. Bounded: each publisher is paused after the input piece it is in. */
typedef struct bk_ovf {
    struct bk_ovf *next;
    mqws_slice *payload;
    int64_t expire_at; /* INT64_MAX: no Message Expiry */
    uint32_t props_len, nids;
    uint16_t topic_len;
    uint8_t qos, retain;
    uint8_t pad_[4];
    uint8_t data[]; /* topic, pass-through props block, nids x uint32 subscription ids */
} bk_ovf;

/* One client identifier's session record: subscriptions, and the session object (inside the
 * current connection, or owned here while offline). */
struct bk_sess {
    uint32_t kind; /* BK_KIND_SESS */
    uint32_t hpos; /* timer heap position while offline */
    mqws_broker *b;
    bk_sess *hnext; /* hash chain */
    uint64_t hash;
    mqws_topic_subscriber *sub;
    bk_conn *conn;      /* current connection, or NULL */
    mqws_session *off;  /* owned offline session (conn == NULL), or NULL */
    bk_sess *dead_next; /* expired, waiting to be freed outside the session's callback */
    bk_cong *cong;      /* over its queue high watermark, or NULL */
    uint8_t dead;
    uint8_t will_sent; /* mqws_broker_close_all() published the will already */
    uint16_t id_len;
    uint8_t id[];
};

typedef struct bk_heap_ent {
    int64_t at;
    void *obj; /* bk_conn or bk_sess, told apart by kind */
} bk_heap_ent;

/* The user pointer of an offline session that is being ended or taken over: its callbacks
 * (will, drop) still reach the broker, but no session record. */
typedef struct bk_gone {
    uint32_t kind; /* BK_KIND_GONE */
    uint32_t pad_;
    mqws_broker *b;
} bk_gone;

struct mqws_broker {
    bk_alloc a_brk, a_sess, a_idx, a_ret;
    bk_gone gone;
    mqws_broker_hooks hooks;
    void *user;
    mqws_session_config scfg;
    mqws_callbacks *cb;
    mqws_topic_index *idx;
    mqws_topic_store *store;

    /* config */
    uint32_t refuse_backlog;
    uint32_t max_sessions;
    uint32_t rate_policy;
    uint32_t sys_interval_ms;
    uint64_t client_msg_rate, client_msg_burst;
    uint64_t out_high, out_low, global_out_high;

    mqws_flow_admission adm;
    mqws_flow_bucket global_rate;
    int global_rate_on;

    bk_link conns; /* sentinels */
    bk_link dirty;
    bk_link touch;
    bk_link congested; /* bk_cong of subscribers over their queue high watermark */
    bk_sess *dead;

    bk_sess **buckets;
    size_t nbuckets;
    size_t nsess;
    size_t nsess_off;
    uint64_t seed;

    bk_heap_ent *heap;
    size_t heap_n, heap_cap;

    /* routing scratch (grown on demand, never shrunk) */
    mqws_topic_delivery *dv;
    size_t dv_cap;
    mqws_topic_sub_id *ids;
    size_t ids_cap;
    int routing;         /* depth guard: routing is not reentrant */
    bk_conn *route_from; /* publishing connection of the current routing, or NULL */
    uint32_t route_lost; /* QoS 1/2 deliveries to online sessions refused (queue full) */
    int depth;           /* nesting of API calls (hooks calling back in) */

    int64_t now;
    int64_t start; /* first time seen; INT64_MIN until then */
    int64_t next_sys;
    int have_time;
    int closing; /* mqws_broker_close_all() called */
    int gpaused;
    uint64_t out_total;

    uint64_t nconns, nrefusing, nconnected;
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out, dropped, rate_limited, refused;
    uint64_t dropped_online, dropped_offline, backpressure_pauses, wills_at_close;
};

#endif
