/* Fuzz target: a broker with four client slots driven by a script of operations.
 *
 * Input: a sequence of operations, each one byte `op` (client = op & 3, action = op >> 2 % 6)
 * followed by its arguments:
 *   0 recv:    one length byte n, then n bytes fed to the client's connection
 *   1 drop:    the socket ends (eof), the connection is released, a new one is accepted
 *   2 tick:    one byte k, time advances by k * 250 ms
 *   3 write:   the client's pending output is written (all of it when k is even, half when odd)
 *   4 publish: the host publishes one byte k as payload on topic "f/<k % 4>", QoS k % 3, retain
 *              k & 4
 *   5 stop:    mqws_broker_close_all()
 *   6 answer:  one byte k: answer the client's pending authentication (k even: accept, odd:
 *              refuse 0x87)
 * Hooks: client ids starting with 'a' are authenticated asynchronously; topics starting with
 * "f/3" are refused by the ACL; a DROP event disconnects the slow connection (deferred by the
 * broker while it routes). Whatever the script, nothing may crash, and every byte the broker
 * allocated must be returned by mqws_broker_free(). SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_alloc {
    mqws_allocator a;
    size_t live;
    long n;
} fz_alloc;

static void *fz_alloc_fn(void *ud, size_t n) {
    fz_alloc *f = ud;
    /* Fail now and then, deterministically, to exercise the ENOMEM paths too. */
    if (++f->n % 997 == 0)
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        f->live += n;
    return p;
}
static void *fz_realloc_fn(void *ud, void *p, size_t old_n, size_t new_n) {
    fz_alloc *f = ud;
    void *q = realloc(p, new_n ? new_n : 1);
    if (q)
        f->live = f->live - (p ? old_n : 0) + new_n;
    return q;
}
static void fz_free_fn(void *ud, void *p, size_t n) {
    fz_alloc *f = ud;
    if (p) {
        f->live -= n;
        free(p);
    }
}

static int slot[4];

static int fz_authenticate(void *user, mqws_conn *c, void *cu, const mqws_packet *p) {
    (void)user;
    (void)c;
    (void)cu;
    if (p->type == MQWS_PKT_CONNECT && p->client_id.len && p->client_id.ptr[0] == 'a')
        return MQWS_BROKER_AUTH_ASYNC;
    return MQWS_BROKER_AUTH_OK;
}

static int fz_authorize(void *user, mqws_conn *c, void *cu, int action, mqws_view id,
                        mqws_view topic, uint8_t qos, uint8_t retain) {
    (void)user;
    (void)c;
    (void)cu;
    (void)action;
    (void)id;
    (void)qos;
    (void)retain;
    return topic.len >= 3 && memcmp(topic.ptr, "f/3", 3) == 0 ? 0x87 : 0;
}

static mqws_broker *fz_self;

static void fz_event(void *user, const mqws_broker_event *ev) {
    (void)user;
    if (ev->type == MQWS_BROKER_EV_DROP && ev->conn)
        (void)mqws_broker_disconnect(fz_self, ev->conn, 0x98);
}

static void write_out(mqws_broker *b, mqws_conn *c, int half) {
    mqws_iovec iov[16];
    size_t k = mqws_conn_pending(c, iov, 16), total = 0;
    for (size_t i = 0; i < k; i++)
        total += iov[i].len;
    mqws_broker_sent(b, c, half ? total / 2 : total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_alloc fa = {{fz_alloc_fn, fz_realloc_fn, fz_free_fn, NULL}, 0, 0};
    fa.a.ud = &fa;
    mqws_session_config sc = MQWS_SESSION_CONFIG_INIT;
    sc.max_session_expiry = 60;
    mqws_broker_config cfg = MQWS_BROKER_CONFIG_INIT;
    cfg.allocator = &fa.a;
    cfg.session = &sc;
    cfg.sys_interval_ms = 3000;
    cfg.out_high = 4096;
    cfg.out_low = 1024;
    cfg.max_connections = 3;
    cfg.client_msg_rate = 50;
    mqws_broker_hooks hooks = MQWS_BROKER_HOOKS_INIT;
    hooks.authenticate = fz_authenticate;
    hooks.authorize = fz_authorize;
    hooks.on_event = fz_event;
    mqws_broker *b = mqws_broker_new(&cfg, &hooks, &fz_self);
    if (!b)
        return 0;
    fz_self = b;
    int64_t now = 1000;
    mqws_conn *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = mqws_broker_accept(b, NULL, &slot[i], now);
    size_t pos = 0;
    uint8_t buf[256];
    while (pos < size) {
        uint8_t op = data[pos++];
        int who = op & 3;
        switch ((op >> 2) % 7) {
            case 0: {
                if (pos >= size)
                    break;
                size_t n = data[pos++];
                if (n > size - pos)
                    n = size - pos;
                memcpy(buf, data + pos, n);
                pos += n;
                if (c[who])
                    (void)mqws_broker_recv(b, c[who], buf, n, now);
                break;
            }
            case 1:
                if (c[who]) {
                    mqws_broker_eof(b, c[who]);
                    mqws_broker_release(b, c[who]);
                }
                c[who] = mqws_broker_accept(b, NULL, &slot[who], now);
                break;
            case 2:
                if (pos < size)
                    now += 250 * (int64_t)data[pos++];
                (void)mqws_broker_tick(b, now);
                break;
            case 3: {
                int half = pos < size ? data[pos++] & 1 : 0;
                if (c[who])
                    write_out(b, c[who], half);
                break;
            }
            case 4: {
                uint8_t k = pos < size ? data[pos++] : 0;
                char topic[4] = {'f', '/', (char)('0' + k % 4), 0};
                mqws_packet p;
                mqws_packet_init(&p, MQWS_PKT_PUBLISH);
                p.topic = mqws_view_cstr(topic);
                p.payload.ptr = &k;
                p.payload.len = 1;
                p.qos = (uint8_t)(k % 3);
                p.retain = (uint8_t)((k & 4) ? 1 : 0);
                (void)mqws_broker_publish(b, &p);
                break;
            }
            case 5:
                mqws_broker_close_all(b, 0x8B);
                break;
            default: {
                uint8_t k = pos < size ? data[pos++] : 0;
                if (c[who])
                    (void)mqws_broker_auth_answer(b, c[who], (k & 1) ? 0x87 : 0, NULL);
                break;
            }
        }
        /* The host's loop pass: write what is pending, close what is finished. */
        mqws_conn *w;
        while ((w = mqws_broker_next_writable(b)) != NULL) {
            int *s = mqws_broker_conn_user(w);
            int i = (int)(s - slot);
            if (!mqws_conn_want_read(w) && !mqws_conn_want_write(w)) {
                mqws_broker_release(b, w);
                if (i >= 0 && i < 4 && c[i] == w)
                    c[i] = NULL;
            }
        }
    }
    mqws_broker_stats st;
    st.size = sizeof(st);
    (void)mqws_broker_stats_get(b, &st);
    mqws_broker_free(b);
    fz_self = NULL;
    if (fa.live != 0)
        abort(); /* a leak */
    return 0;
}
