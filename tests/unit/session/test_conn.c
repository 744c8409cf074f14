/* mqws_conn: plain TCP and WebSocket stacks, both roles, driven end to end over an in-memory
 * loopback with random read and write sizes.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/conn.h"
#include "mqws/ws.h"
#include "testlib.h"

typedef struct peer {
    mqws_conn *c;
    char log[4096];
    size_t log_len;
    uint64_t seed;
    int http_seen;
} peer;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
plog(peer *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->log + p->log_len, sizeof(p->log) - p->log_len, fmt, ap);
    va_end(ap);
    if (n > 0 && p->log_len + (size_t)n < sizeof(p->log))
        p->log_len += (size_t)n;
}

static void on_connect(mqws_session *s, const mqws_packet *c, void *user) {
    plog(user, "CONNECT %.*s\n", (int)c->client_id.len, (const char *)c->client_id.ptr);
    CHECK(mqws_conn_of(s) != NULL);
    mqws_session_accept(s, 0, NULL);
}
static void on_connack(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    plog(user, "CONNACK %02x\n", p->reason_code);
}
static int on_publish(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    plog(user, "PUBLISH %.*s q%u %.*s\n", (int)p->topic.len, (const char *)p->topic.ptr, p->qos,
         (int)p->payload.len, (const char *)p->payload.ptr);
    return 0;
}
static void on_ack(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    plog(user, "ACK %s %u\n", mqws_packet_type_name(p->type), p->packet_id);
}
static void on_sub(mqws_session *s, const mqws_packet *p, uint8_t *v, void *user) {
    (void)s;
    (void)v;
    plog(user, "SUBSCRIBE %u\n", p->entry_count);
}
static void on_close(mqws_session *s, const mqws_close_info *i, const mqws_packet *d, void *user) {
    (void)s;
    (void)d;
    plog(user, "CLOSE %s %02x peer=%u\n", mqws_error_name(i->error), i->reason, i->by_peer);
}

static void rnd(void *user, uint8_t *out, size_t len) {
    (void)user;
    static uint64_t st = 99;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)testlib_rand(&st);
}

static mqws_callbacks *make_cb(testlib_alloc *ta) {
    mqws_callbacks *cb = mqws_callbacks_new(&ta->a);
    mqws_callbacks_set_on_connect(cb, on_connect);
    mqws_callbacks_set_on_connack(cb, on_connack);
    mqws_callbacks_set_on_publish(cb, on_publish);
    mqws_callbacks_set_on_ack(cb, on_ack);
    mqws_callbacks_set_on_subscribe(cb, on_sub);
    mqws_callbacks_set_on_close(cb, on_close);
    return cb;
}

/* Move bytes from a to b: pending -> copy -> recv, in random-sized pieces. Returns bytes. */
static size_t pump_one(peer *a, peer *b, uint64_t *seed) {
    mqws_iovec iov[16];
    size_t n = mqws_conn_pending(a->c, iov, 16);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].len;
    if (!total)
        return 0;
    size_t take = 1 + testlib_rand_below(seed, total);
    uint8_t *buf = malloc(take);
    size_t got = 0;
    for (size_t i = 0; i < n && got < take; i++) {
        size_t k = iov[i].len < take - got ? iov[i].len : take - got;
        memcpy(buf + got, iov[i].base, k);
        got += k;
    }
    mqws_conn_sent(a->c, take);
    size_t pos = 0;
    while (pos < take && mqws_conn_want_read(b->c)) {
        size_t piece = 1 + testlib_rand_below(seed, take - pos);
        int64_t rc = mqws_conn_recv(b->c, buf + pos, piece);
        if (rc < 0)
            break;
        pos += piece;
    }
    free(buf);
    return take;
}

static void pump(peer *a, peer *b, uint64_t *seed) {
    for (int i = 0; i < 10000; i++) {
        size_t x = pump_one(a, b, seed) + pump_one(b, a, seed);
        if (!x)
            break;
    }
}

static int cmp_line(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void sort_lines(const char *in, char *out) {
    char tmp[4096];
    char *lines[128];
    size_t n = 0;
    snprintf(tmp, sizeof(tmp), "%s", in);
    for (char *t = strtok(tmp, "\n"); t && n < 128; t = strtok(NULL, "\n"))
        lines[n++] = t;
    qsort(lines, n, sizeof(lines[0]), cmp_line);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
    }
}

static void loopback(uint32_t transport, uint8_t level, uint64_t seed) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_callbacks *cb = make_cb(&ta);
    peer srv, cli;
    memset(&srv, 0, sizeof(srv));
    memset(&cli, 0, sizeof(cli));
    mqws_session_config scs = MQWS_SESSION_CONFIG_INIT;
    mqws_session_config ccs = MQWS_SESSION_CONFIG_INIT;
    ccs.role = MQWS_SESSION_CLIENT;
    ccs.protocol_level = level;
    mqws_ws_handshake_config hc = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    hc.host = "localhost";
    hc.path = "/mqtt";
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.transport = transport;
    sc.session = &scs;
    mqws_conn_config cc = sc;
    cc.session = &ccs;
    cc.ws_handshake = &hc;
    cc.ws_key = key;
    cc.random = rnd;
    srv.c = mqws_conn_new(&sc, cb, &srv, 0);
    cli.c = mqws_conn_new(&cc, cb, &cli, 0);
    CHECK(srv.c && cli.c);
    mqws_session *cs = mqws_conn_session(cli.c);
    mqws_packet con;
    mqws_packet_init(&con, MQWS_PKT_CONNECT);
    con.client_id = mqws_view_cstr("loop");
    con.clean_start = 1;
    con.keep_alive = 30;
    CHECK_INT(mqws_session_connect(cs, &con), MQWS_OK);
    pump(&cli, &srv, &seed);
    CHECK_INT(mqws_session_state(cs), MQWS_SESSION_CONNECTED);
    if (transport == MQWS_CONN_WS)
        CHECK_VIEW(mqws_conn_ws_subprotocol(srv.c), "mqtt");
    mqws_subscription sub = {mqws_view_cstr("t/#"), 2, 0, 0, 0};
    CHECK_INT(mqws_session_subscribe(cs, &sub, 1, NULL, NULL), MQWS_OK);
    for (uint8_t q = 0; q < 3; q++) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_PUBLISH);
        p.topic = mqws_view_cstr("t/x");
        p.payload = mqws_view_cstr("up");
        p.qos = q;
        CHECK_INT(mqws_session_publish(cs, &p, NULL, NULL), MQWS_OK);
        p.payload = mqws_view_cstr("down");
        CHECK_INT(mqws_session_publish(mqws_conn_session(srv.c), &p, NULL, NULL), MQWS_OK);
    }
    pump(&cli, &srv, &seed);
    CHECK_INT(mqws_conn_close(cli.c, 0), MQWS_OK);
    pump(&cli, &srv, &seed);
    CHECK(!mqws_conn_want_read(srv.c));
    CHECK(!mqws_conn_want_write(srv.c));
    CHECK(!mqws_conn_want_read(cli.c));
    CHECK(!mqws_conn_want_write(cli.c));
    /* Both directions run at once: compare the events as sets (each side's order is checked
     * by the session dialogue tests). */
    char a[4096], b[4096];
    sort_lines(srv.log, a);
    sort_lines(
        "CONNECT loop\nSUBSCRIBE 1\nPUBLISH t/x q0 up\nPUBLISH t/x q1 up\nPUBLISH t/x q2 up\n"
        "ACK PUBACK 1\nACK PUBCOMP 2\nCLOSE MQWS_OK 00 peer=1\n",
        b);
    CHECK_STR(a, b);
    sort_lines(cli.log, a);
    sort_lines("CONNACK 00\nACK SUBACK 1\nPUBLISH t/x q0 down\nPUBLISH t/x q1 down\n"
               "ACK PUBACK 2\nPUBLISH t/x q2 down\nACK PUBCOMP 3\nCLOSE MQWS_OK 00 peer=0\n",
               b);
    CHECK_STR(a, b);
    mqws_conn_free(srv.c);
    mqws_conn_free(cli.c);
    mqws_callbacks_free(cb);
    CHECK_ALLOC_CLEAN(&ta);
}

TEST(tcp_loopback_311_and_5) {
    for (uint64_t seed = 1; seed < 20; seed++) {
        loopback(MQWS_CONN_TCP, MQWS_MQTT_311, seed);
        loopback(MQWS_CONN_TCP, MQWS_MQTT_5, seed);
    }
}

TEST(ws_loopback_311_and_5_random_splits) {
    for (uint64_t seed = 1; seed < 20; seed++) {
        loopback(MQWS_CONN_WS, MQWS_MQTT_311, seed);
        loopback(MQWS_CONN_WS, MQWS_MQTT_5, seed);
    }
}

TEST(idle_tcp_conn_heap_at_most_512_bytes) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_callbacks *cb = make_cb(&ta);
    size_t cb_bytes = ta.live_bytes;
    peer srv;
    memset(&srv, 0, sizeof(srv));
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    srv.c = mqws_conn_new(&sc, cb, &srv, 0);
    uint8_t in[64];
    size_t n =
        testlib_hex("10 1c 00 04 4d 51 54 54 04 02 00 3c 00 10 30 31 32 33 34 35 36 37 38 39 "
                    "61 62 63 64 65 66",
                    in, sizeof(in));
    for (size_t i = 0; i < n; i++) /* byte by byte: the partial-packet buffer comes and goes */
        CHECK_INT(mqws_conn_recv(srv.c, in + i, 1), 1);
    mqws_iovec iov[4];
    CHECK_INT(mqws_conn_pending(srv.c, iov, 4), 1);
    mqws_conn_sent(srv.c, 4);
    CHECK_INT(mqws_session_state(mqws_conn_session(srv.c)), MQWS_SESSION_CONNECTED);
    size_t idle = ta.live_bytes - cb_bytes;
    mqws_session_stats st;
    mqws_session_get_stats(mqws_conn_session(srv.c), &st);
    printf("idle connected 3.1.1 conn (TCP, 16-byte client id): %zu heap bytes\n", idle);
    CHECK(idle <= 512);
    CHECK_INT(idle, st.heap_bytes + mqws_conn_heap_bytes(srv.c));
    mqws_conn_free(srv.c);
    mqws_callbacks_free(cb);
    CHECK_ALLOC_CLEAN(&ta);
}

static void on_http(mqws_conn *c, const mqws_ws_handshake *hs, const uint8_t *body, size_t len,
                    void *user) {
    (void)body;
    (void)len;
    peer *p = user;
    p->http_seen = 1;
    mqws_view t = mqws_ws_handshake_target(hs);
    CHECK_VIEW(t, "/health");
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK_INT(mqws_conn_write_raw(c, ok, sizeof(ok) - 1), MQWS_OK);
}

TEST(ws_server_plain_http_request_goes_to_host) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    peer srv;
    memset(&srv, 0, sizeof(srv));
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.transport = MQWS_CONN_WS;
    sc.on_http = on_http;
    srv.c = mqws_conn_new(&sc, NULL, &srv, 0);
    char req[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(mqws_conn_recv(srv.c, (uint8_t *)req, strlen(req)), (int64_t)strlen(req));
    CHECK(srv.http_seen);
    CHECK(!mqws_conn_want_read(srv.c));
    mqws_iovec iov[4];
    CHECK_INT(mqws_conn_pending(srv.c, iov, 4), 1);
    CHECK(iov[0].len > 10 && memcmp(iov[0].base, "HTTP/1.1 200", 12) == 0);
    mqws_conn_sent(srv.c, iov[0].len);
    CHECK(!mqws_conn_want_write(srv.c));
    mqws_conn_free(srv.c);
    CHECK_ALLOC_CLEAN(&ta);
}

TEST(ws_server_bad_handshake_answers_error_and_closes) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.transport = MQWS_CONN_WS;
    mqws_conn *c = mqws_conn_new(&sc, NULL, NULL, 0);
    char req[] = "BLAH\r\n\r\n";
    CHECK(mqws_conn_recv(c, (uint8_t *)req, strlen(req)) < 0);
    CHECK(!mqws_conn_want_read(c));
    CHECK(mqws_conn_want_write(c));
    CHECK_INT(mqws_conn_close_info(c)->error, MQWS_EHANDSHAKE);
    mqws_conn_free(c);
    CHECK_ALLOC_CLEAN(&ta);
}

TEST(ws_handshake_timeout_through_tick) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.transport = MQWS_CONN_WS;
    mqws_conn *c = mqws_conn_new(&sc, NULL, NULL, 1000);
    CHECK_INT(mqws_conn_tick(c, 1000), 11000);
    mqws_conn_tick(c, 11000);
    CHECK(!mqws_conn_want_read(c));
    CHECK(!mqws_conn_want_write(c));
    mqws_conn_free(c);
    CHECK_ALLOC_CLEAN(&ta);
}

static int64_t push_cap;
static uint8_t push_buf[4096];
static size_t push_len;
static int64_t on_send(mqws_conn *c, const mqws_iovec *iov, size_t n, void *user) {
    (void)c;
    (void)user;
    int64_t w = 0;
    for (size_t i = 0; i < n && w < push_cap; i++) {
        size_t k = iov[i].len;
        if ((int64_t)k > push_cap - w)
            k = (size_t)(push_cap - w);
        memcpy(push_buf + push_len, iov[i].base, k);
        push_len += k;
        w += (int64_t)k;
    }
    return w;
}

TEST(push_mode_flush_with_short_writes) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.on_send = on_send;
    mqws_conn *c = mqws_conn_new(&sc, NULL, NULL, 0);
    uint8_t in[64];
    size_t n = testlib_hex("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31 c0 00", in, sizeof(in));
    CHECK_INT(mqws_conn_recv(c, in, n), (int64_t)n);
    push_len = 0;
    push_cap = 3;
    CHECK_INT(mqws_conn_flush(c), MQWS_OK);
    CHECK_INT(push_len, 3);
    push_cap = 100;
    CHECK_INT(mqws_conn_flush(c), MQWS_OK);
    uint8_t want[8];
    size_t wn = testlib_hex("20 02 00 00 d0 00", want, sizeof(want));
    CHECK_MEM(push_buf, push_len, want, wn);
    mqws_conn_free(c);
    CHECK_ALLOC_CLEAN(&ta);
}

TEST(conn_failing_allocator_ws_loopback) {
    /* Every allocation of a whole WebSocket dialogue fails once in turn: no crash, no leak. */
    for (long fail = 1; fail < 400; fail++) {
        testlib_alloc ta;
        testlib_alloc_init(&ta, fail);
        mqws_callbacks *cb = mqws_callbacks_new(&ta.a);
        peer srv, cli;
        memset(&srv, 0, sizeof(srv));
        memset(&cli, 0, sizeof(cli));
        mqws_session_config ccs = MQWS_SESSION_CONFIG_INIT;
        ccs.role = MQWS_SESSION_CLIENT;
        mqws_ws_handshake_config hc = MQWS_WS_HANDSHAKE_CONFIG_INIT;
        hc.host = "h";
        static const uint8_t key[16] = {9};
        mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
        sc.allocator = &ta.a;
        sc.transport = MQWS_CONN_WS;
        mqws_conn_config cc = sc;
        cc.session = &ccs;
        cc.ws_handshake = &hc;
        cc.ws_key = key;
        cc.random = rnd;
        srv.c = cb ? mqws_conn_new(&sc, cb, &srv, 0) : NULL;
        cli.c = cb ? mqws_conn_new(&cc, cb, &cli, 0) : NULL;
        if (srv.c && cli.c) {
            mqws_packet con;
            mqws_packet_init(&con, MQWS_PKT_CONNECT);
            con.client_id = mqws_view_cstr("x");
            con.clean_start = 1;
            if (mqws_session_connect(mqws_conn_session(cli.c), &con) == MQWS_OK) {
                uint64_t seed = (uint64_t)fail;
                pump(&cli, &srv, &seed);
                mqws_packet p;
                mqws_packet_init(&p, MQWS_PKT_PUBLISH);
                p.topic = mqws_view_cstr("t");
                p.qos = 1;
                (void)mqws_session_publish(mqws_conn_session(cli.c), &p, NULL, NULL);
                (void)mqws_session_publish(mqws_conn_session(srv.c), &p, NULL, NULL);
                pump(&cli, &srv, &seed);
                (void)mqws_conn_close(cli.c, 0);
                pump(&cli, &srv, &seed);
            }
        }
        mqws_conn_free(srv.c);
        mqws_conn_free(cli.c);
        mqws_callbacks_free(cb);
        CHECK_ALLOC_CLEAN(&ta);
        if (ta.count < fail)
            break; /* every allocation point was failed once */
    }
}

static size_t collect(mqws_conn *c, uint8_t *out, size_t cap) {
    mqws_iovec iov[16];
    size_t n, len = 0;
    while ((n = mqws_conn_pending(c, iov, 16)) > 0) {
        size_t t = 0;
        for (size_t i = 0; i < n; i++) {
            if (len + iov[i].len <= cap)
                memcpy(out + len, iov[i].base, iov[i].len);
            len += iov[i].len;
            t += iov[i].len;
        }
        mqws_conn_sent(c, t);
    }
    return len;
}

static size_t masked_frame(uint8_t *out, uint32_t op, const char *hex) {
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t pl[128];
    size_t n = hex ? testlib_hex(hex, pl, sizeof(pl)) : 0;
    int h = mqws_ws_frame_header(out, op, 1, n, key);
    memcpy(out + h, pl, n);
    mqws_ws_mask(out + h, n, key, 0);
    return (size_t)h + n;
}

TEST(ws_server_ping_pong_and_peer_close) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_callbacks *cb = make_cb(&ta);
    peer srv;
    memset(&srv, 0, sizeof(srv));
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.transport = MQWS_CONN_WS;
    srv.c = mqws_conn_new(&sc, cb, &srv, 0);
    char req[] = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
    CHECK_INT(mqws_conn_recv(srv.c, (uint8_t *)req, strlen(req)), (int64_t)strlen(req));
    static uint8_t out[4096];
    size_t n = collect(srv.c, out, sizeof(out));
    CHECK(n > 12 && memcmp(out, "HTTP/1.1 101", 12) == 0);
    CHECK(strstr((const char *)out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);
    uint8_t f[256];
    /* CONNECT in a binary frame, then a ping */
    size_t fl =
        masked_frame(f, MQWS_WS_OP_BINARY, "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31");
    fl += masked_frame(f + fl, MQWS_WS_OP_PING, "61 62");
    CHECK_INT(mqws_conn_recv(srv.c, f, fl), (int64_t)fl);
    n = collect(srv.c, out, sizeof(out));
    uint8_t want[32];
    /* control frames go out between data frames, ahead of data not yet framed (RFC 6455
     * §5.4): the pong, then the CONNACK in one binary frame */
    size_t wn = testlib_hex("8a 02 61 62 82 04 20 02 00 00", want, sizeof(want));
    CHECK_MEM(out, n, want, wn);
    fl = masked_frame(f, MQWS_WS_OP_CLOSE, "03 e8");
    CHECK_INT(mqws_conn_recv(srv.c, f, fl), (int64_t)fl);
    n = collect(srv.c, out, sizeof(out));
    wn = testlib_hex("88 02 03 e8", want, sizeof(want));
    CHECK_MEM(out, n, want, wn); /* the close is answered */
    CHECK(!mqws_conn_want_read(srv.c));
    CHECK_INT(mqws_conn_close_info(srv.c)->ws_code, 1000);
    CHECK_INT(mqws_conn_close_info(srv.c)->by_peer, 1);
    mqws_conn_free(srv.c);
    mqws_callbacks_free(cb);
    CHECK_ALLOC_CLEAN(&ta);
}

TEST(ws_text_frame_fails_with_1003) {
    testlib_alloc ta;
    testlib_alloc_init(&ta, 0);
    mqws_conn_config sc = MQWS_CONN_CONFIG_INIT;
    sc.allocator = &ta.a;
    sc.transport = MQWS_CONN_WS;
    mqws_conn *c = mqws_conn_new(&sc, NULL, NULL, 0);
    char req[] = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    CHECK_INT(mqws_conn_recv(c, (uint8_t *)req, strlen(req)), (int64_t)strlen(req));
    static uint8_t out[4096];
    (void)collect(c, out, sizeof(out));
    uint8_t f[64];
    size_t fl = masked_frame(f, MQWS_WS_OP_TEXT, "10 00"); /* [MQTT-6.0.0-1] */
    CHECK(mqws_conn_recv(c, f, fl) < 0);
    size_t n = collect(c, out, sizeof(out));
    uint8_t want[8];
    size_t wn = testlib_hex("88 02 03 eb", want, sizeof(want));
    CHECK_MEM(out, n, want, wn);
    CHECK_INT(mqws_conn_close_info(c)->ws_code, 1003);
    mqws_conn_free(c);
    CHECK_ALLOC_CLEAN(&ta);
}

int main(void) {
    RUN(tcp_loopback_311_and_5);
    RUN(ws_loopback_311_and_5_random_splits);
    RUN(idle_tcp_conn_heap_at_most_512_bytes);
    RUN(ws_server_plain_http_request_goes_to_host);
    RUN(ws_server_bad_handshake_answers_error_and_closes);
    RUN(ws_handshake_timeout_through_tick);
    RUN(push_mode_flush_with_short_writes);
    RUN(conn_failing_allocator_ws_loopback);
    RUN(ws_server_ping_pong_and_peer_close);
    RUN(ws_text_frame_fails_with_1003);
    return testlib_finish();
}
