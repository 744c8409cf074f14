/* An in-memory network for broker tests: N clients "connect" to one broker, the test encodes
 * real MQTT packets with the codec and feeds them as socket bytes, and every byte the broker
 * writes is collected per client and decoded back. Hooks log events as text lines.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_TEST_BROKER_NET_H
#define MQWS_TEST_BROKER_NET_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/broker.h"
#include "mqws/codec.h"
#include "testlib.h"

#define NET_MAX_CLI 12
#define NET_OUT     (256 * 1024)
#define NET_LOG     16384

typedef struct tcli {
    mqws_conn *c;
    uint8_t level;
    uint8_t finished; /* the broker asked us to close (released) */
    uint8_t hold;     /* do not write this client's output (a slow reader) */
    uint8_t *out;     /* bytes received from the broker */
    size_t out_len, rd;
} tcli;

typedef struct net {
    testlib_alloc ta;
    mqws_broker *b;
    mqws_broker_config cfg;
    mqws_session_config scfg;
    mqws_broker_hooks hooks;
    int64_t now;
    tcli cli[NET_MAX_CLI];
    char log[NET_LOG];
    size_t log_len;
    /* hook behaviour */
    int auth_result; /* returned by authenticate */
    int auth_calls;
    int acl_deny_topic; /* deny publish/subscribe on topics starting with "deny" */
    int auto_release;   /* release finished connections in net_flush (default 1) */
} net;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void
net_logf(net *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(n->log + n->log_len, NET_LOG - n->log_len, fmt, ap);
    va_end(ap);
    if (k > 0 && n->log_len + (size_t)k < NET_LOG)
        n->log_len += (size_t)k;
}

static inline const char *ev_name(int t) {
    static const char *names[] = {"?",        "CONNECT", "REFUSED", "DISCONNECT", "SUBSCRIBE",
                                  "UNSUB",    "PUBLISH", "DROP",    "PAUSE",      "RESUME",
                                  "TAKEOVER", "EXPIRED", "WILL"};
    return t >= 0 && t <= 12 ? names[t] : "?";
}

static inline void net_on_event(void *user, const mqws_broker_event *ev) {
    net *n = user;
    net_logf(n, "%s %.*s %.*s rc=%02x q%u n=%u\n", ev_name(ev->type), (int)ev->client_id.len,
             (const char *)ev->client_id.ptr, (int)ev->topic.len, (const char *)ev->topic.ptr,
             ev->reason, ev->qos, ev->count);
}

static inline int net_authenticate(void *user, mqws_conn *c, void *cu, const mqws_packet *p) {
    net *n = user;
    (void)c;
    (void)cu;
    (void)p;
    n->auth_calls++;
    return n->auth_result;
}

static inline int net_authorize(void *user, mqws_conn *c, void *cu, int action, mqws_view id,
                                mqws_view topic, uint8_t qos, uint8_t retain) {
    net *n = user;
    (void)c;
    (void)cu;
    (void)action;
    (void)id;
    (void)qos;
    (void)retain;
    if (n->acl_deny_topic && topic.len >= 4 && memcmp(topic.ptr, "deny", 4) == 0)
        return 0x87;
    return 0;
}

static inline void net_init(net *n, long fail_at) {
    memset(n, 0, sizeof(*n));
    testlib_alloc_init(&n->ta, fail_at);
    mqws_broker_config c = MQWS_BROKER_CONFIG_INIT;
    n->cfg = c;
    n->cfg.allocator = &n->ta.a;
    n->cfg.sys_interval_ms = 0;
    n->cfg.session = &n->scfg;
    mqws_session_config s = MQWS_SESSION_CONFIG_INIT;
    n->scfg = s;
    n->scfg.outbound_alias_maximum = 0; /* topics in clear in the output, easier to check */
    mqws_broker_hooks h = MQWS_BROKER_HOOKS_INIT;
    n->hooks = h;
    n->hooks.on_event = net_on_event;
    n->hooks.authorize = net_authorize;
    n->now = 1000;
    n->auto_release = 1;
}

/* Returns 0, or -1 when the broker could not be created. */
static inline int net_start(net *n) {
    n->b = mqws_broker_new(&n->cfg, &n->hooks, n);
    return n->b ? 0 : -1;
}

static inline void cli_reset_out(tcli *t) {
    free(t->out);
    t->out = NULL;
    t->out_len = t->rd = 0;
}

/* Write every client's pending output into its buffer, as a host loop pass would. */
static inline void net_flush(net *n) {
    mqws_conn *c;
    mqws_iovec iov[16];
    while ((c = mqws_broker_next_writable(n->b)) != NULL) {
        tcli *t = mqws_broker_conn_user(c);
        if (!t)
            continue;
        if (t->hold)
            continue;
        size_t k;
        while ((k = mqws_conn_pending(c, iov, 16)) > 0) {
            size_t total = 0;
            for (size_t i = 0; i < k; i++) {
                if (!t->out)
                    t->out = malloc(NET_OUT);
                if (t->out && t->out_len + iov[i].len <= NET_OUT) {
                    memcpy(t->out + t->out_len, iov[i].base, iov[i].len);
                    t->out_len += iov[i].len;
                }
                total += iov[i].len;
            }
            mqws_broker_sent(n->b, c, total);
        }
        if (n->auto_release && !mqws_conn_want_read(c) && !mqws_conn_want_write(c)) {
            mqws_broker_release(n->b, c);
            t->c = NULL;
            t->finished = 1;
        }
    }
}

/* Write a held client's output now. */
static inline void net_unhold(net *n, int i) {
    n->cli[i].hold = 0;
    mqws_iovec iov[16];
    tcli *t = &n->cli[i];
    size_t k;
    while (t->c && (k = mqws_conn_pending(t->c, iov, 16)) > 0) {
        size_t total = 0;
        for (size_t j = 0; j < k; j++) {
            if (!t->out)
                t->out = malloc(NET_OUT);
            if (t->out && t->out_len + iov[j].len <= NET_OUT) {
                memcpy(t->out + t->out_len, iov[j].base, iov[j].len);
                t->out_len += iov[j].len;
            }
            total += iov[j].len;
        }
        mqws_broker_sent(n->b, t->c, total);
    }
    net_flush(n);
}

static inline int net_open(net *n, int i, uint8_t level) {
    tcli *t = &n->cli[i];
    cli_reset_out(t);
    t->level = level;
    t->finished = 0;
    t->hold = 0;
    t->c = mqws_broker_accept(n->b, NULL, t, n->now);
    return t->c ? 0 : -1;
}

static inline int64_t net_send(net *n, int i, const mqws_packet *p) {
    tcli *t = &n->cli[i];
    uint8_t buf[4096];
    size_t len = 0;
    if (!t->c)
        return MQWS_ECLOSED;
    int rc = mqws_encode(p, t->level, buf, sizeof(buf), &len);
    if (rc < 0)
        return rc;
    int64_t r = mqws_broker_recv(n->b, t->c, buf, len, n->now);
    net_flush(n);
    return r;
}

static inline void net_eof(net *n, int i) {
    tcli *t = &n->cli[i];
    if (!t->c)
        return;
    mqws_broker_eof(n->b, t->c);
    mqws_broker_release(n->b, t->c);
    t->c = NULL;
    net_flush(n);
}

static inline int64_t net_tick(net *n, int64_t now) {
    n->now = now;
    int64_t d = mqws_broker_tick(n->b, now);
    net_flush(n);
    return d;
}

/* Decode the next packet the broker sent to client i; 1 if one was there, else 0. Views point
 * into the client's buffer (valid until cli_reset_out). */
static inline int net_next(net *n, int i, mqws_packet *p) {
    tcli *t = &n->cli[i];
    if (t->rd >= t->out_len)
        return 0;
    mqws_frame_info fi;
    if (mqws_frame(t->out + t->rd, t->out_len - t->rd, 0, &fi) != MQWS_FRAME_READY)
        return 0;
    memset(p, 0, sizeof(*p));
    if (mqws_decode(t->out + t->rd, fi.total_len, t->level, MQWS_DECODE_FROM_SERVER, p, NULL) < 0)
        return 0;
    t->rd += fi.total_len;
    return 1;
}

/* The next packet must be of `type`. */
static inline int net_expect(net *n, int i, int type, mqws_packet *p) {
    mqws_packet tmp;
    if (!p)
        p = &tmp;
    if (!net_next(n, i, p))
        return 0;
    return p->type == type;
}

/* Count the remaining PUBLISH packets for client i (consumes them). */
static inline int net_count_publish(net *n, int i) {
    mqws_packet p;
    int k = 0;
    while (net_next(n, i, &p))
        if (p.type == MQWS_PKT_PUBLISH)
            k++;
    return k;
}

typedef struct conn_opts {
    uint8_t clean;
    uint16_t keep_alive;
    uint32_t expiry; /* 5.0 session expiry */
    const char *will_topic;
    const char *will_payload;
    uint8_t will_qos;
    uint8_t will_retain;
    uint32_t will_delay;
    const char *auth_method;
} conn_opts;

/* Open client i and send CONNECT; returns the CONNACK reason (or -1 if none came). */
static inline int net_connect_opts(net *n, int i, uint8_t level, const char *id,
                                   const conn_opts *o) {
    if (net_open(n, i, level) < 0)
        return -2;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.client_id = mqws_view_cstr(id);
    p.clean_start = o->clean;
    p.keep_alive = o->keep_alive;
    if (level == MQWS_MQTT_5 && o->expiry) {
        p.props.session_expiry = o->expiry;
        p.props.present |= MQWS_PROPF_SESSION_EXPIRY_INTERVAL;
    }
    if (level == MQWS_MQTT_5 && o->auth_method) {
        p.props.auth_method = mqws_view_cstr(o->auth_method);
        p.props.present |= MQWS_PROPF_AUTHENTICATION_METHOD;
    }
    if (o->will_topic) {
        p.will_flag = 1;
        p.will_topic = mqws_view_cstr(o->will_topic);
        p.will_payload = mqws_view_cstr(o->will_payload ? o->will_payload : "");
        p.will_qos = o->will_qos;
        p.will_retain = o->will_retain;
        if (level == MQWS_MQTT_5 && o->will_delay) {
            p.will_props.will_delay = o->will_delay;
            p.will_props.present |= MQWS_PROPF_WILL_DELAY_INTERVAL;
        }
    }
    (void)net_send(n, i, &p); /* negative when the CONNECT was refused: look at CONNACK */
    mqws_packet a;
    if (!net_next(n, i, &a) || a.type != MQWS_PKT_CONNACK)
        return -1;
    return a.reason_code | (a.session_present ? 0x100 : 0);
}

static inline int net_connect(net *n, int i, uint8_t level, const char *id) {
    conn_opts o;
    memset(&o, 0, sizeof(o));
    o.clean = 1;
    return net_connect_opts(n, i, level, id, &o);
}

static inline int64_t net_publish(net *n, int i, const char *topic, const char *payload,
                                  uint8_t qos, uint8_t retain, uint16_t pid) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr(topic);
    p.payload = mqws_view_cstr(payload);
    p.qos = qos;
    p.retain = retain;
    p.packet_id = qos ? pid : 0;
    return net_send(n, i, &p);
}

typedef struct sub_opts {
    uint8_t no_local, rap, rh;
    uint32_t sub_id;
} sub_opts;

/* SUBSCRIBE one filter; returns the SUBACK verdict (or -1). Retained messages sent right after
 * the SUBACK stay in the client's buffer. */
static inline int net_subscribe_opts(net *n, int i, const char *filter, uint8_t qos,
                                     const sub_opts *o) {
    mqws_subscription s;
    memset(&s, 0, sizeof(s));
    s.filter = mqws_view_cstr(filter);
    s.qos = qos;
    if (o) {
        s.no_local = o->no_local;
        s.retain_as_published = o->rap;
        s.retain_handling = o->rh;
    }
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_SUBSCRIBE);
    p.packet_id = 77;
    p.entry_count = 1;
    p.subs = &s;
    if (o && o->sub_id) {
        p.props.subscription_id = o->sub_id;
        p.props.present |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
    }
    if (net_send(n, i, &p) < 0)
        return -1;
    mqws_packet a;
    if (!net_next(n, i, &a) || a.type != MQWS_PKT_SUBACK || a.reason_codes.len != 1)
        return -1;
    return a.reason_codes.ptr[0];
}

static inline int net_subscribe(net *n, int i, const char *filter, uint8_t qos) {
    return net_subscribe_opts(n, i, filter, qos, NULL);
}

static inline int net_disconnect(net *n, int i, uint8_t reason) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_DISCONNECT);
    p.reason_code = reason;
    int64_t r = net_send(n, i, &p);
    return r < 0 ? (int)r : 0;
}

static inline void net_stop(net *n) {
    mqws_broker_free(n->b);
    n->b = NULL;
    for (int i = 0; i < NET_MAX_CLI; i++) {
        cli_reset_out(&n->cli[i]);
        n->cli[i].c = NULL;
    }
}

#define LOG_HAS(n, s)   CHECK(strstr((n)->log, (s)) != NULL)
#define LOG_HASNT(n, s) CHECK(strstr((n)->log, (s)) == NULL)

#endif
