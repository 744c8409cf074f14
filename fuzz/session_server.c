/* Fuzz target: a server session (through mqws_conn, plain TCP or WebSocket) fed arbitrary
 * bytes, ticks and host publishes. Invariants checked after every step: pending() describes
 * exactly pending_bytes() (TCP), heap accounting matches the allocator, nothing is read after
 * close, and freeing returns every byte.
 *
 * Input: byte 0 selects the configuration (bit 0 WebSocket, bit 1 asynchronous accept, bit 2
 * small limits, bit 3 echo publishes back from on_publish, bit 4 the CLIENT role over TCP
 * instead (the bytes are then the server's; bit 5 picks MQTT 3.1.1 over 5.0)). Then a list of
 * operations, each one control byte c: c < 0xC0: feed the next (c & 0x3F) + 1 bytes (over WebSocket
 * wrapped in one masked binary frame when bit 0x40 is clear, raw otherwise); 0xC0..0xDF: advance
 * the clock by (c & 0x1F) * 700 ms and tick; 0xE0..0xEF: the host publishes QoS (c & 3) on "t/x"
 * (retain if bit 2); 0xF0..0xFF: the host accepts a deferred CONNECT / writes some output / eof /
 * disconnect. SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/conn.h"
#include "mqws/session.h"
#include "mqws/ws.h"

typedef struct fz_alloc {
    size_t live;
    long blocks;
} fz_alloc;

static void *fz_alloc_fn(void *ud, size_t n) {
    fz_alloc *f = ud;
    uint8_t *p = malloc(n + 16);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    f->live += n;
    f->blocks++;
    return p + 16;
}

static void fz_free_fn(void *ud, void *ptr, size_t n) {
    fz_alloc *f = ud;
    uint8_t *p = (uint8_t *)ptr - 16;
    size_t had;
    memcpy(&had, p, sizeof(had));
    if (had != n)
        abort(); /* the library passed back a wrong size */
    f->live -= n;
    f->blocks--;
    free(p);
}

static void *fz_realloc_fn(void *ud, void *ptr, size_t old_n, size_t n) {
    fz_alloc *f = ud;
    uint8_t *p = (uint8_t *)ptr - 16;
    size_t had;
    memcpy(&had, p, sizeof(had));
    if (had != old_n)
        abort();
    uint8_t *q = realloc(p, n + 16);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof(n));
    f->live = f->live - old_n + n;
    return q + 16;
}

typedef struct fz_host {
    int echo;
    int defer;
    mqws_session *pending_connect;
} fz_host;

static void on_connect(mqws_session *s, const mqws_packet *c, void *user) {
    fz_host *h = user;
    (void)c;
    if (h->defer)
        h->pending_connect = s;
    else
        mqws_session_accept(s, 0, NULL);
}

static int on_publish(mqws_session *s, const mqws_packet *p, void *user) {
    fz_host *h = user;
    if (h->echo && p->topic.len)
        (void)mqws_session_publish(s, p, NULL, NULL); /* re-entry from a callback */
    return p->payload.len && p->payload.ptr[0] == 'X' ? 0x87 : 0;
}

static void on_sub(mqws_session *s, const mqws_packet *p, uint8_t *v, void *user) {
    (void)s;
    (void)user;
    if (p->entry_count)
        v[0] = 0x87;
}

static void on_auth(mqws_session *s, const mqws_packet *p, void *user) {
    (void)user;
    mqws_props pr;
    mqws_props_init(&pr);
    pr.present = MQWS_PROPF_AUTHENTICATION_METHOD;
    pr.auth_method = mqws_view_cstr("m");
    if (p->reason_code == MQWS_RC_REAUTHENTICATE)
        (void)mqws_session_auth(s, 0x00, &pr);
    else if (mqws_session_accept(s, 0, &pr) != MQWS_OK)
        (void)mqws_session_auth(s, MQWS_RC_CONTINUE_AUTHENTICATION, &pr);
}

static void check_pending(mqws_conn *c, int ws) {
    mqws_iovec iov[64];
    size_t n = mqws_conn_pending(c, iov, 64);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].len == 0 || !iov[i].base)
            abort();
        total += iov[i].len;
    }
    size_t pb = mqws_conn_pending_bytes(c);
    if (!ws && n < 64 && total != pb)
        abort();
    if (total > pb)
        abort();
}

static void drain(mqws_conn *c, size_t max) {
    mqws_iovec iov[8];
    size_t n = mqws_conn_pending(c, iov, 8);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].len;
    mqws_conn_sent(c, total < max ? total : max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    fz_alloc fa = {0, 0};
    mqws_allocator a = {fz_alloc_fn, fz_realloc_fn, fz_free_fn, &fa};
    uint8_t mode = data[0];
    int client = (mode & 0x10) != 0;
    int ws = (mode & 1) && !client;
    fz_host host = {(mode & 8) != 0, (mode & 2) != 0, NULL};
    mqws_callbacks *cb = mqws_callbacks_new(&a);
    if (!cb)
        return 0;
    mqws_callbacks_set_on_connect(cb, on_connect);
    mqws_callbacks_set_on_publish(cb, on_publish);
    mqws_callbacks_set_on_subscribe(cb, on_sub);
    mqws_callbacks_set_on_auth(cb, on_auth);
    size_t cb_live = fa.live;
    mqws_session_config scfg = MQWS_SESSION_CONFIG_INIT;
    if (mode & 4) {
        scfg.receive_maximum = 2;
        scfg.topic_alias_maximum = 2;
        scfg.maximum_packet_size = 64;
        scfg.maximum_qos = 1;
        scfg.retain_available = 0;
        scfg.queue_max_messages = 3;
        scfg.flags = MQWS_SESSION_ALLOW_V31 | MQWS_SESSION_REJECT_DISCOURAGED;
    }
    if (client) {
        scfg.role = MQWS_SESSION_CLIENT;
        scfg.protocol_level = (mode & 0x20) ? MQWS_MQTT_311 : MQWS_MQTT_5;
    }
    mqws_conn_config cc = MQWS_CONN_CONFIG_INIT;
    cc.allocator = &a;
    cc.transport = ws ? MQWS_CONN_WS : MQWS_CONN_TCP;
    cc.session = &scfg;
    int64_t now = 0;
    mqws_conn *c = mqws_conn_new(&cc, cb, &host, now);
    if (!c) {
        mqws_callbacks_free(cb);
        return 0;
    }
    uint8_t buf[256];
    if (client) {
        mqws_packet con;
        mqws_packet_init(&con, MQWS_PKT_CONNECT);
        con.client_id = mqws_view_cstr("fz");
        con.keep_alive = 5;
        con.clean_start = (mode & 2) ? 0 : 1;
        con.will_flag = 1;
        con.will_topic = mqws_view_cstr("w");
        con.will_payload = mqws_view_cstr("bye");
        if (mqws_session_connect(mqws_conn_session(c), &con) != MQWS_OK)
            abort();
    }
    if (ws) {
        static const char req[] = "GET / HTTP/1.1\r\nHost: f\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Key: "
                                  "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                  "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
        memcpy(buf, req, sizeof(req) - 1);
        (void)mqws_conn_recv(c, buf, sizeof(req) - 1);
    }
    size_t pos = 1;
    while (pos < size) {
        uint8_t op = data[pos++];
        if (op < 0xC0) {
            size_t n = (size_t)(op & 0x3F) + 1;
            if (n > size - pos)
                n = size - pos;
            size_t len = 0;
            if (ws && !(op & 0x40)) {
                static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
                int h = mqws_ws_frame_header(buf, MQWS_WS_OP_BINARY, 1, n, key);
                if (h < 0)
                    abort();
                memcpy(buf + h, data + pos, n);
                mqws_ws_mask(buf + h, n, key, 0);
                len = (size_t)h + n;
            } else {
                memcpy(buf, data + pos, n);
                len = n;
            }
            pos += n;
            int was_open = mqws_conn_want_read(c);
            int64_t rc = mqws_conn_recv(c, buf, len);
            if (!was_open && rc != MQWS_ECLOSED)
                abort(); /* nothing is processed after close */
            if (rc > (int64_t)len)
                abort();
        } else if (op < 0xE0) {
            now += (int64_t)(op & 0x1F) * 700;
            int64_t next = mqws_conn_tick(c, now);
            if (next <= now)
                abort(); /* every deadline that passed was handled by the tick */
        } else if (op < 0xF0) {
            mqws_session *s = mqws_conn_session(c);
            mqws_packet p;
            mqws_packet_init(&p, MQWS_PKT_PUBLISH);
            p.topic = mqws_view_cstr("t/x");
            p.payload = mqws_view_cstr("fuzz");
            p.qos = (uint8_t)(op & 3) % 3;
            p.retain = (op & 4) ? 1 : 0;
            p.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
            p.props.message_expiry = 2;
            (void)mqws_session_publish(s, &p, NULL, NULL);
        } else {
            switch (op & 3) {
                case 0:
                    if (client) {
                        mqws_subscription sub = {mqws_view_cstr("a/#"), (uint8_t)(op >> 2 & 3) % 3,
                                                 0, 0, 0};
                        (void)mqws_session_subscribe(mqws_conn_session(c), &sub, 1, NULL, NULL);
                        break;
                    }
                    if (host.pending_connect)
                        (void)mqws_session_accept(host.pending_connect, 1, NULL);
                    host.pending_connect = NULL;
                    break;
                case 1:
                    drain(c, (size_t)(op >> 2 & 3) * 5 + 1);
                    break;
                case 2:
                    drain(c, SIZE_MAX);
                    break;
                default:
                    (void)mqws_conn_close(c, (op & 4) ? 0x00 : 0x8B);
                    if (client && (op & 8)) { /* reconnect over a "new transport" */
                        mqws_conn_eof(c);
                        mqws_packet con;
                        mqws_packet_init(&con, MQWS_PKT_CONNECT);
                        con.client_id = mqws_view_cstr("fz");
                        con.keep_alive = 5;
                        (void)mqws_session_connect(mqws_conn_session(c), &con);
                    }
                    break;
            }
        }
        check_pending(c, ws);
        mqws_session_stats st;
        mqws_session_get_stats(mqws_conn_session(c), &st);
        /* When no payload slice is held, the session's accounting matches the allocator. */
        if (!ws && st.pending_bytes == 0 && st.inflight_out == 0 && st.queued_messages == 0 &&
            st.heap_bytes + mqws_conn_heap_bytes(c) + cb_live != fa.live)
            abort();
    }
    drain(c, SIZE_MAX);
    mqws_conn_eof(c);
    (void)mqws_conn_tick(c, now + 100000000);
    mqws_conn_free(c);
    mqws_callbacks_free(cb);
    if (fa.live != 0 || fa.blocks != 0)
        abort(); /* leak */
    return 0;
}
