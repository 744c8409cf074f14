/* A test rig for the session engine: a session with a counting allocator, callbacks that log
 * events as text lines, and helpers to feed hex input whole, byte by byte or split at random
 * points while collecting every output byte. Dialogue tests compare the three feedings.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_TEST_SESSION_RIG_H
#define MQWS_TEST_SESSION_RIG_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/codec.h"
#include "mqws/session.h"
#include "testlib.h"

#define RIG_LOG 16384
#define RIG_OUT 65536

enum { FEED_WHOLE = 0, FEED_BYTES = 1, FEED_RANDOM = 2 };

typedef struct rig {
    testlib_alloc ta;
    mqws_callbacks *cb;
    mqws_session *s;
    mqws_session_config cfg;
    char log[RIG_LOG];
    size_t log_len;
    uint8_t out[RIG_OUT];
    size_t out_len;
    uint64_t seed;
    int64_t now;
    int last_rc;
    /* behaviour of the host callbacks */
    int connect_mode; /* 0 accept, 1 defer, 2 reject with reject_reason */
    uint8_t reject_reason;
    int publish_reason;
    int session_present;
    uint8_t sub_override; /* non-zero: every verdict becomes this */
} rig;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
rig_logf(rig *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->log_len, RIG_LOG - r->log_len, fmt, ap);
    va_end(ap);
    if (n > 0 && r->log_len + (size_t)n < RIG_LOG)
        r->log_len += (size_t)n;
}

static inline void cb_connect(mqws_session *s, const mqws_packet *c, void *user) {
    rig *r = user;
    rig_logf(r, "CONNECT id=%.*s v%u ka=%u clean=%u will=%u\n", (int)c->client_id.len,
             (const char *)c->client_id.ptr, c->protocol_level, c->keep_alive, c->clean_start,
             c->will_flag);
    if (r->connect_mode == 0)
        mqws_session_accept(s, r->session_present, NULL);
    else if (r->connect_mode == 2)
        mqws_session_reject(s, r->reject_reason, NULL);
}

static inline void cb_connack(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    rig_logf(user, "CONNACK sp=%u rc=%02x\n", p->session_present, p->reason_code);
}

static inline void cb_auth(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    rig_logf(user, "AUTH rc=%02x data=%.*s\n", p->reason_code, (int)p->props.auth_data.len,
             (const char *)p->props.auth_data.ptr);
}

static inline int cb_publish(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    rig *r = user;
    rig_logf(r, "PUBLISH %.*s q%u r%u d%u id=%u %.*s\n", (int)p->topic.len,
             (const char *)p->topic.ptr, p->qos, p->retain, p->dup, p->packet_id,
             (int)p->payload.len, (const char *)p->payload.ptr);
    return r->publish_reason;
}

static inline void cb_ack(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    /* SUBACK / UNSUBACK carry one code per entry: show the first */
    uint8_t rc = p->reason_code;
    if (p->type == MQWS_PKT_SUBACK || p->type == MQWS_PKT_UNSUBACK)
        rc = p->reason_codes.len ? p->reason_codes.ptr[0] : 0;
    rig_logf(user, "ACK %s id=%u rc=%02x\n", mqws_packet_type_name(p->type), p->packet_id, rc);
}

static inline void cb_subscribe(mqws_session *s, const mqws_packet *p, uint8_t *v, void *user) {
    (void)s;
    rig *r = user;
    rig_logf(r, "%s n=%u", mqws_packet_type_name(p->type), p->entry_count);
    for (uint32_t i = 0; i < p->entry_count; i++) {
        if (r->sub_override)
            v[i] = r->sub_override;
        if (p->type == MQWS_PKT_SUBSCRIBE || mqws_session_protocol_level(s) == MQWS_MQTT_5)
            rig_logf(r, " %02x", v[i]);
    }
    rig_logf(r, "\n");
}

static inline void cb_will(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    rig_logf(user, "WILL %.*s q%u %.*s\n", (int)p->topic.len, (const char *)p->topic.ptr, p->qos,
             (int)p->payload.len, (const char *)p->payload.ptr);
}

static inline void cb_drop(mqws_session *s, const mqws_packet *p, int why, void *user) {
    (void)s;
    rig_logf(user, "DROP %.*s %s\n", (int)p->topic.len, (const char *)p->topic.ptr,
             mqws_error_name(why));
}

static inline void cb_close(mqws_session *s, const mqws_close_info *i, const mqws_packet *d,
                            void *user) {
    (void)s;
    rig_logf(user, "CLOSE %s rc=%02x peer=%u%s\n", mqws_error_name(i->error), i->reason, i->by_peer,
             d ? " disconnect" : "");
    if (i->statement)
        rig_logf(user, "  [%s]\n", i->statement);
}

static inline void cb_expired(mqws_session *s, void *user) {
    (void)s;
    rig_logf(user, "EXPIRED\n");
}

static inline void rig_init_cfg(rig *r, uint32_t role, long fail_at) {
    memset(r, 0, sizeof(*r));
    testlib_alloc_init(&r->ta, fail_at);
    mqws_session_config c = MQWS_SESSION_CONFIG_INIT;
    r->cfg = c;
    r->cfg.allocator = &r->ta.a;
    r->cfg.role = role;
    r->seed = 0x1234567u;
    r->now = 1000;
}

/* Returns 0, or -1 if an allocation failed while setting up. */
static inline int rig_start(rig *r) {
    r->cb = mqws_callbacks_new(&r->ta.a);
    if (!r->cb)
        return -1;
    mqws_callbacks_set_on_connect(r->cb, cb_connect);
    mqws_callbacks_set_on_connack(r->cb, cb_connack);
    mqws_callbacks_set_on_auth(r->cb, cb_auth);
    mqws_callbacks_set_on_publish(r->cb, cb_publish);
    mqws_callbacks_set_on_ack(r->cb, cb_ack);
    mqws_callbacks_set_on_subscribe(r->cb, cb_subscribe);
    mqws_callbacks_set_on_unsubscribe(r->cb, cb_subscribe);
    mqws_callbacks_set_on_will(r->cb, cb_will);
    mqws_callbacks_set_on_drop(r->cb, cb_drop);
    mqws_callbacks_set_on_close(r->cb, cb_close);
    mqws_callbacks_set_on_expired(r->cb, cb_expired);
    r->s = mqws_session_new(&r->cfg, r->cb, r, r->now);
    if (!r->s) {
        mqws_callbacks_free(r->cb);
        r->cb = NULL;
        return -1;
    }
    return 0;
}

static inline void rig_drain(rig *r) {
    mqws_iovec iov[8];
    size_t n;
    while ((n = mqws_session_pending(r->s, iov, 8)) > 0) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            if (r->out_len + iov[i].len <= RIG_OUT) {
                memcpy(r->out + r->out_len, iov[i].base, iov[i].len);
                r->out_len += iov[i].len;
            }
            total += iov[i].len;
        }
        /* Exercise partial writes: report one byte less when possible, then the rest. */
        if (total > 1) {
            mqws_session_sent(r->s, total - 1);
            r->out_len -= 1; /* the last byte will be offered again */
        } else {
            mqws_session_sent(r->s, total);
        }
    }
}

static inline void rig_stop(rig *r) {
    mqws_session_free(r->s);
    mqws_callbacks_free(r->cb);
    r->s = NULL;
    r->cb = NULL;
}

/* Feed `in` in the given manner, draining output after every call. */
static inline void rig_feed(rig *r, const uint8_t *in, size_t len, int mode) {
    size_t pos = 0;
    while (pos < len) {
        size_t n = len - pos;
        if (mode == FEED_BYTES)
            n = 1;
        else if (mode == FEED_RANDOM)
            n = 1 + testlib_rand_below(&r->seed, n < 9 ? n : 9);
        /* The session never keeps the buffer: feed from a scratch copy we then scribble. */
        uint8_t *tmp = malloc(n);
        memcpy(tmp, in + pos, n);
        int64_t rc = mqws_session_recv(r->s, tmp, n);
        memset(tmp, 0xEE, n);
        free(tmp);
        r->last_rc = (int)rc;
        rig_drain(r);
        if (rc < 0 || (size_t)rc < n)
            break;
        pos += n;
    }
}

static inline void rig_feed_hex(rig *r, const char *hex, int mode) {
    static uint8_t buf[16384];
    size_t n = testlib_hex(hex, buf, sizeof(buf));
    rig_feed(r, buf, n, mode);
}

static inline void rig_tick(rig *r, int64_t now) {
    r->now = now;
    mqws_session_tick(r->s, now);
    rig_drain(r);
}

static inline int rig_out_is(rig *r, const char *hex) {
    static uint8_t buf[16384];
    size_t n = testlib_hex(hex, buf, sizeof(buf));
    return n == r->out_len && memcmp(buf, r->out, n) == 0;
}

static inline void rig_dump(rig *r) {
    fprintf(stderr, "--- out (%zu):", r->out_len);
    for (size_t i = 0; i < r->out_len; i++)
        fprintf(stderr, " %02x", r->out[i]);
    fprintf(stderr, "\n--- log:\n%s---\n", r->log);
}

#define CHECK_OUT(r, hex)                                                                          \
    do {                                                                                           \
        if (!rig_out_is((r), (hex))) {                                                             \
            testlib_fail(__FILE__, __LINE__, "output differs, expected %s", (hex));                \
            rig_dump(r);                                                                           \
        }                                                                                          \
    } while (0)
#define CHECK_LOG(r, text)                                                                         \
    do {                                                                                           \
        if (strcmp((r)->log, (text)) != 0) {                                                       \
            testlib_fail(__FILE__, __LINE__, "log differs, expected:\n%s", (text));                \
            rig_dump(r);                                                                           \
        }                                                                                          \
    } while (0)

#endif
