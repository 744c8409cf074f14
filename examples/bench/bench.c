/* mqws-bench: an MQTT / MQTT-over-WebSocket load generator on the mqws client role
 * (mqws_conn), one epoll loop for every connection. See docs/bench.md and `mqws-bench --help`.
 *
 *   mqws-bench --preset chatty-telemetry -p 1883
 *   mqws-bench --pubs 1 --subs 100 --qos 0 --duration 5 --json
 *   mqws-bench --conns 19000 --pubs 0 --subs 0 --duration 10 --ready-file ready
 *
 * Connections [0, S) subscribe, [S, S+P) publish, the rest only connect and stay idle. Every
 * payload starts with a 32-byte header (magic, run id, publisher, sequence number, send time
 * on CLOCK_MONOTONIC): publisher and subscriber are this one process, so end-to-end latency is
 * one clock read apart, and loss and duplicates are counted per (publisher, subscriber) stream.
 *
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"
#include "mqws/topic.h"
#include "mqws/ws.h"
#include "plot.h"
#include "rate.h"
#include "seq.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define HDR_LEN      32
#define MAGIC        0x4257514du /* "MQWB" little-endian */
#define SWEEP_MS     50
#define OUT_HIGH     (256u * 1024u)
#define AFAP_BATCH   64
#define PASS_MAX_PUB 20000

enum role { ROLE_SUB, ROLE_PUB, ROLE_IDLE };
enum cstate { ST_NEW, ST_CONNECTING, ST_SUBSCRIBING, ST_READY, ST_CLOSED };
enum phase { PH_CONNECT, PH_RUN, PH_DRAIN, PH_END };

typedef struct bconn {
    int fd;
    uint8_t role;
    uint8_t state;
    uint8_t out_armed; /* EPOLLOUT registered */
    uint8_t dirty;
    uint8_t storm; /* reconnecting in the storm */
    uint8_t queued;
    uint32_t idx;      /* connection index */
    uint32_t role_idx; /* publisher or subscriber index */
    mqws_conn *conn;
    int64_t t0_ns;       /* connect started */
    int64_t deadline_ms; /* next mqws_conn_tick */
} bconn;

static struct bench {
    bench_opts o;
    uint32_t n, P, S;
    uint32_t run_id;
    struct sockaddr_storage dst;
    socklen_t dst_len;
    int loopback4;
    int ep;
    bconn *c;
    mqws_callbacks *cb;
    char **pub_topic, **sub_filter;
    uint8_t *match;   /* S x P: subscriber s gets publisher p's messages */
    bench_seq *trk;   /* S x P */
    uint32_t *fanout; /* per publisher: matching subscribers */
    uint64_t *pub_sent, *pub_acked, *recv_from, *adj;
    int64_t *last_recv_ns;
    uint32_t *dirty;
    uint32_t ndirty;
    uint32_t *queue; /* connections waiting to (re)connect */
    uint32_t qhead, qtail;
    uint8_t *payload;
    uint64_t xs; /* xorshift state for WebSocket masks */
    /* progress */
    enum phase phase;
    int ending, interrupted;
    int64_t t_start, t_run, t_run_end, t_drain_end, t_end_deadline, t_connected;
    int64_t interval_ns;
    int tty;
    int64_t t_last_rx; /* last delivery or acknowledgement */
    int64_t t_storm, t_storm_done;
    int storm_pending, storm_active;
    uint64_t storm_dropped;
    bench_sched conn_sched, msg_sched;
    uint32_t pub_rr;
    /* counters */
    uint32_t started, connecting, subscribing, established, peak_established;
    uint64_t connects, connect_failed, refused, lost, sub_refused, reconnects;
    uint64_t published, publish_failed, skipped, acked, pub_refused, dropped;
    uint64_t received, unique, duplicates, reordered, late, foreign;
    bench_hist lat, lat_iv, conn_lat, reconn_lat;
    /* timeline */
    bench_sample *tl;
    size_t ntl, captl;
    int64_t t_last_sample;
    uint64_t s_published, s_received, s_connects;
    char first_error[200];
} B;

static int64_t g_now; /* ns, refreshed before each batch of input */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t xorshift(void) {
    B.xs ^= B.xs << 13;
    B.xs ^= B.xs >> 7;
    B.xs ^= B.xs << 17;
    return B.xs;
}

/* WebSocket masking keys: a fast PRNG seeded from getrandom() (a load generator needs them
 * varied per frame, RFC 6455 §5.3, not secret). */
static void ws_random(void *user, uint8_t *out, size_t len) {
    (void)user;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = xorshift();
        for (size_t j = 0; j < 8 && i + j < len; j++)
            out[i + j] = (uint8_t)(r >> (8 * j));
    }
}

static void note_error(const char *what, const char *detail) {
    if (!B.first_error[0])
        snprintf(B.first_error, sizeof B.first_error, "%s%s%s", what, detail ? ": " : "",
                 detail ? detail : "");
}

/* ------------------------------------------------------------------------------------------ */
/* Topic patterns */

static char *expand(const char *pat, uint32_t i) {
    size_t cap = strlen(pat) + 16;
    char *s = malloc(cap), *w = s;
    if (!s)
        return NULL;
    for (const char *p = pat; *p; p++) {
        if (p[0] == '%' && p[1] == 'i') {
            w += sprintf(w, "%u", i);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            *w++ = '%';
            p++;
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Connections */

static void mark_dirty(bconn *c) {
    if (!c->dirty) {
        c->dirty = 1;
        B.dirty[B.ndirty++] = c->idx;
    }
}

static void set_out(bconn *c, int on) {
    if (c->out_armed == on || c->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.u32 = c->idx};
    epoll_ctl(B.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->out_armed = (uint8_t)on;
}

static void enqueue(bconn *c) {
    if (c->queued)
        return;
    c->queued = 1;
    B.queue[B.qtail++ % B.n] = c->idx;
}

/* The connection is over (closed by the protocol, lost, or dropped on purpose). */
static void close_conn(bconn *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->conn)
        mqws_conn_free(c->conn);
    c->conn = NULL;
    if (c->state == ST_CONNECTING || c->state == ST_SUBSCRIBING)
        B.connecting--;
    if (c->state == ST_SUBSCRIBING)
        B.subscribing--;
    if (c->state == ST_READY || c->state == ST_SUBSCRIBING)
        B.established--;
    c->state = ST_CLOSED;
    c->out_armed = 0;
}

static void on_connack(mqws_session *s, const mqws_packet *ack, void *user) {
    bconn *c = user;
    if (ack->reason_code != 0) {
        B.refused++;
        char why[16];
        snprintf(why, sizeof why, "0x%02x", ack->reason_code);
        note_error("connection refused: CONNACK", why);
        return; /* the session closes; on_close counts the failure */
    }
    int64_t t = now_ns() - c->t0_ns;
    bench_hist_record(c->storm ? &B.reconn_lat : &B.conn_lat, (uint64_t)(t > 0 ? t : 0));
    B.connects++;
    if (c->storm)
        B.reconnects++;
    B.established++;
    if (B.established > B.peak_established)
        B.peak_established = B.established;
    if (c->role == ROLE_SUB && !c->storm) {
        mqws_subscription sub;
        memset(&sub, 0, sizeof sub);
        sub.filter = mqws_view_cstr(B.sub_filter[c->role_idx]);
        sub.qos = (uint8_t)B.o.qos;
        if (mqws_session_subscribe(s, &sub, 1, NULL, NULL) == MQWS_OK) {
            c->state = ST_SUBSCRIBING;
            B.subscribing++;
            return;
        }
        B.sub_refused++;
    }
    c->state = ST_READY;
    B.connecting--;
}

static void on_ack(mqws_session *s, const mqws_packet *ack, void *user) {
    bconn *c = user;
    (void)s;
    if (ack->type == MQWS_PKT_SUBACK) {
        if (c->state != ST_SUBSCRIBING)
            return;
        if (ack->reason_codes.len < 1 || ack->reason_codes.ptr[0] >= 0x80) {
            B.sub_refused++;
            note_error("subscription refused (SUBACK failure)", NULL);
        }
        c->state = ST_READY;
        B.subscribing--;
        B.connecting--;
    } else if (ack->type == MQWS_PKT_PUBACK || ack->type == MQWS_PKT_PUBCOMP ||
               (ack->type == MQWS_PKT_PUBREC && ack->reason_code >= 0x80)) {
        if (ack->reason_code >= 0x80)
            B.pub_refused++;
        else
            B.acked++;
        B.t_last_rx = g_now;
        if (c->role == ROLE_PUB)
            B.pub_acked[c->role_idx]++;
    }
}

static int on_publish(mqws_session *s, const mqws_packet *pub, void *user) {
    bconn *c = user;
    (void)s;
    B.received++;
    const uint8_t *p = pub->payload.ptr;
    if (c->role != ROLE_SUB || pub->payload.len < HDR_LEN || get32(p) != MAGIC ||
        get32(p + 4) != B.run_id || get32(p + 8) >= B.P) {
        B.foreign++;
        return 0;
    }
    uint32_t pi = get32(p + 8);
    size_t pair = (size_t)c->role_idx * B.P + pi;
    if (!B.match[pair]) {
        B.foreign++;
        return 0;
    }
    int64_t sent = (int64_t)get64(p + 20);
    int64_t lat = g_now - sent;
    uint64_t v = (uint64_t)(lat > 0 ? lat : 0);
    bench_hist_record(&B.lat, v);
    bench_hist_record(&B.lat_iv, v);
    B.recv_from[pi]++;
    B.last_recv_ns[pi] = g_now;
    B.t_last_rx = g_now;
    switch (bench_seq_record(&B.trk[pair], get64(p + 12))) {
        case BENCH_SEQ_DUPLICATE:
            B.duplicates++;
            break;
        case BENCH_SEQ_REORDERED:
            B.reordered++;
            B.unique++;
            break;
        case BENCH_SEQ_LATE:
            B.late++;
            B.unique++;
            break;
        default:
            B.unique++;
    }
    return 0;
}

static void on_drop(mqws_session *s, const mqws_packet *pub, int why, void *user) {
    (void)s;
    (void)pub;
    (void)why;
    (void)user;
    B.dropped++;
}

static void on_close(mqws_session *s, const mqws_close_info *why, const mqws_packet *disc,
                     void *user) {
    bconn *c = user;
    (void)s;
    (void)disc;
    if (c->state == ST_CONNECTING || c->state == ST_NEW) {
        B.connect_failed++;
        note_error("connect failed", why->message ? why->message : "?");
    } else if (!B.ending) {
        B.lost++;
        note_error("connection lost", why->message ? why->message : "?");
    }
}

static void flush_conn(bconn *c);

static int start_conn(bconn *c) {
    int fd = socket(B.dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        note_error("socket", strerror(errno));
        B.connect_failed++;
        return -1;
    }
    if (B.loopback4 && B.o.sources > 0) {
        /* Spread over source addresses; the port is picked at connect() time per 4-tuple, so
         * each source address gives a full ephemeral range towards the broker. */
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000002u + c->idx % B.o.sources);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            note_error("bind", strerror(errno));
            close(fd);
            B.connect_failed++;
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&B.dst, B.dst_len) != 0 && errno != EINPROGRESS) {
        note_error("connect", strerror(errno));
        close(fd);
        B.connect_failed++;
        return -1;
    }
    int64_t now_ms = g_now / 1000000;
    mqws_session_config scfg = MQWS_SESSION_CONFIG_INIT;
    scfg.role = MQWS_SESSION_CLIENT;
    scfg.protocol_level = B.o.c.version;
    scfg.connect_timeout_ms = B.o.c.connect_timeout_s * 1000u;
    scfg.receive_maximum = 1024;
    scfg.outbound_inflight_maximum = 1024;
    scfg.queue_max_messages = 1000000;
    scfg.queue_max_bytes = 256u * 1024u * 1024u;
    mqws_conn_config ccfg = MQWS_CONN_CONFIG_INIT;
    ccfg.session = &scfg;
    mqws_ws_handshake_config hcfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    char hosthdr[300];
    uint8_t key[16];
    if (B.o.c.ws) {
        snprintf(hosthdr, sizeof hosthdr, "%s:%d", B.o.c.host, B.o.c.port);
        hcfg.host = hosthdr;
        hcfg.path = B.o.c.ws_path;
        ws_random(NULL, key, sizeof key);
        ccfg.transport = MQWS_CONN_WS;
        ccfg.ws_handshake = &hcfg;
        ccfg.ws_key = key;
        ccfg.random = ws_random;
    }
    c->conn = mqws_conn_new(&ccfg, B.cb, c, now_ms);
    if (!c->conn) {
        close(fd);
        note_error("out of memory creating a connection", NULL);
        B.connect_failed++;
        return -1;
    }
    char id[96];
    snprintf(id, sizeof id, "%s%08x-%u", B.o.c.id_prefix ? B.o.c.id_prefix : "mqws-bench-",
             B.run_id, c->idx);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.client_id = mqws_view_cstr(id);
    p.clean_start = 1;
    p.keep_alive = (uint16_t)B.o.c.keepalive;
    if (B.o.c.username) {
        p.has_username = 1;
        p.username = mqws_view_cstr(B.o.c.username);
    }
    if (B.o.c.password) {
        p.has_password = 1;
        p.password = mqws_view_cstr(B.o.c.password);
    }
    c->fd = fd;
    c->state = ST_CONNECTING;
    c->t0_ns = g_now;
    c->out_armed = 1;
    B.connecting++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = c->idx};
    epoll_ctl(B.ep, EPOLL_CTL_ADD, fd, &ev);
    if (mqws_session_connect(mqws_conn_session(c->conn), &p) != MQWS_OK) {
        note_error("invalid CONNECT", NULL);
        B.connect_failed++;
        close_conn(c);
        return -1;
    }
    c->deadline_ms = mqws_conn_tick(c->conn, now_ms);
    mark_dirty(c);
    return 0;
}

static void check_done(bconn *c) {
    if (c->conn && !mqws_conn_want_read(c->conn) && !mqws_conn_want_write(c->conn))
        close_conn(c);
}

static void flush_conn(bconn *c) {
    mqws_iovec iov[64];
    while (c->conn) {
        size_t n = mqws_conn_pending(c->conn, iov, 64);
        if (n == 0) {
            set_out(c, 0);
            break;
        }
        /* mqws_iovec has the layout of struct iovec (core.h). */
        ssize_t w = writev(c->fd, (const struct iovec *)(const void *)iov, (int)n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_out(c, 1);
                break;
            }
            if (errno == EINTR)
                continue;
            if (!B.ending)
                note_error(c->state == ST_CONNECTING ? "connect" : "write", strerror(errno));
            mqws_conn_eof(c->conn);
            break;
        }
        mqws_conn_sent(c->conn, (size_t)w);
    }
    check_done(c);
}

static void read_conn(bconn *c) {
    static uint8_t buf[65536];
    for (int i = 0; i < 8 && c->conn; i++) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0 && !B.ending)
                note_error(c->state == ST_CONNECTING ? "connect" : "read", strerror(errno));
            mqws_conn_eof(c->conn);
            break;
        }
        g_now = now_ns();
        mqws_conn_recv(c->conn, buf, (size_t)r);
        if ((size_t)r < sizeof buf)
            break;
    }
    if (c->conn)
        mark_dirty(c);
    check_done(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Publishing */

static int publish(uint32_t pi, int64_t stamp) {
    bconn *c = &B.c[B.S + pi];
    if (c->state != ST_READY) {
        B.skipped++;
        return -1;
    }
    uint8_t *p = B.payload;
    put32(p, MAGIC);
    put32(p + 4, B.run_id);
    put32(p + 8, pi);
    put64(p + 12, B.pub_sent[pi]);
    put64(p + 20, (uint64_t)stamp);
    put32(p + 28, 0);
    mqws_packet pkt;
    mqws_packet_init(&pkt, MQWS_PKT_PUBLISH);
    pkt.qos = (uint8_t)B.o.qos;
    pkt.topic = mqws_view_cstr(B.pub_topic[pi]);
    pkt.payload.ptr = p;
    pkt.payload.len = B.o.size;
    int r = mqws_session_publish(mqws_conn_session(c->conn), &pkt, NULL, NULL);
    if (r != MQWS_OK) {
        B.publish_failed++;
        note_error("publish", mqws_strerror(r));
        return -1;
    }
    B.pub_sent[pi]++;
    B.published++;
    mark_dirty(c);
    return 0;
}

static int count_reached(void) { return B.o.count && B.published >= B.o.count; }

/* Fixed rate: every message due by now, stamped with its intended time. */
static void publish_scheduled(void) {
    uint64_t k;
    int64_t when;
    for (int n = 0; n < PASS_MAX_PUB && bench_sched_take(&B.msg_sched, g_now, &k, &when); n++)
        publish((uint32_t)(k % B.P), when);
}

/* As fast as possible, pipelined: each publisher keeps up to `window` messages in flight
 * (sent, not yet received by every matching subscriber and, for QoS 1/2, not acknowledged)
 * and stops while its socket's output is backed up. Returns 1 if some publisher may go on. */
static int publish_afap(void) {
    int more = 0;
    for (uint32_t j = 0; j < B.P && !count_reached(); j++) {
        uint32_t pi = (B.pub_rr + j) % B.P;
        bconn *c = &B.c[B.S + pi];
        if (c->state != ST_READY)
            continue;
        int n = 0;
        for (; n < AFAP_BATCH && !count_reached(); n++) {
            if (mqws_conn_pending_bytes(c->conn) >= OUT_HIGH)
                break;
            if (B.o.qos > 0 && B.pub_sent[pi] - B.pub_acked[pi] >= B.o.window)
                break;
            uint64_t f = B.fanout[pi];
            if (f) {
                uint64_t inflight = B.pub_sent[pi] * f - B.recv_from[pi] - B.adj[pi];
                if (inflight >= (uint64_t)B.o.window * f) {
                    /* Nothing came back for a while: the rest is lost; stop waiting for it. */
                    if (g_now - B.last_recv_ns[pi] > 500000000) {
                        B.adj[pi] += inflight;
                        B.last_recv_ns[pi] = g_now;
                    }
                    break;
                }
            }
            if (publish(pi, g_now) != 0)
                break;
        }
        if (n == AFAP_BATCH)
            more = 1;
    }
    B.pub_rr++;
    return more;
}

/* ------------------------------------------------------------------------------------------ */
/* Phases */

static uint64_t expected_deliveries(void) {
    uint64_t e = 0;
    for (uint32_t p = 0; p < B.P; p++)
        e += B.pub_sent[p] * B.fanout[p];
    return e;
}

static void write_ready_file(void) {
    if (!B.o.ready_file)
        return;
    FILE *f = fopen(B.o.ready_file, "w");
    if (f) {
        fprintf(f, "connected=%u\n", B.established);
        fclose(f);
    }
}

static void start_drain(double seconds);

static void start_run(void) {
    B.phase = PH_RUN;
    B.t_run = g_now;
    B.t_connected = g_now;
    B.t_run_end = B.o.duration > 0 ? g_now + (int64_t)(B.o.duration * 1e9) : INT64_MAX;
    if (B.o.rate > 0 && B.P > 0)
        bench_sched_init(&B.msg_sched, g_now, B.o.rate * B.P, B.o.count);
    for (uint32_t p = 0; p < B.P; p++)
        B.last_recv_ns[p] = g_now;
    if (B.o.storm_at >= 0) {
        B.storm_pending = 1;
        B.t_storm = g_now + (int64_t)(B.o.storm_at * 1e9);
    }
    write_ready_file();
    if (B.established == 0)
        start_drain(0); /* nothing to measure */
}

static void start_drain(double seconds) {
    B.phase = PH_DRAIN;
    B.t_drain_end = g_now + (int64_t)(seconds * 1e9);
    if (B.t_run_end > g_now)
        B.t_run_end = g_now;
}

static void start_end(void) {
    B.phase = PH_END;
    B.ending = 1;
    B.t_end_deadline = g_now + 2000000000;
    for (uint32_t i = 0; i < B.n; i++) {
        bconn *c = &B.c[i];
        if (c->conn) {
            if (c->state == ST_READY || c->state == ST_SUBSCRIBING)
                mqws_conn_close(c->conn, 0x00);
            else
                close_conn(c);
            if (c->conn)
                mark_dirty(c);
        }
    }
}

/* Drop every idle connection at once (RST, as after a network outage) and queue them all
 * for reconnection without a ramp. */
static void storm(void) {
    B.storm_pending = 0;
    B.storm_active = 1;
    B.t_storm = g_now;
    for (uint32_t i = B.S + B.P; i < B.n; i++) {
        bconn *c = &B.c[i];
        if (c->state != ST_READY)
            continue;
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close_conn(c);
        c->state = ST_NEW;
        c->storm = 1;
        B.storm_dropped++;
        enqueue(c);
    }
}

static void start_connections(void) {
    uint64_t allowed = UINT64_MAX;
    if (B.phase == PH_CONNECT && B.o.connect_rate > 0) {
        uint64_t due = bench_sched_due(&B.conn_sched, g_now);
        allowed = due;
    }
    while (B.qhead != B.qtail && allowed > 0 && B.connecting < B.o.max_connecting) {
        bconn *c = &B.c[B.queue[B.qhead++ % B.n]];
        c->queued = 0;
        if (B.phase == PH_CONNECT && B.o.connect_rate > 0) {
            uint64_t k;
            int64_t when;
            bench_sched_take(&B.conn_sched, g_now, &k, &when);
        }
        allowed--;
        B.started++;
        start_conn(c);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Reporting */

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static void sample(void) {
    int64_t dt = g_now - B.t_last_sample;
    if (B.ntl == B.captl) {
        size_t cap = B.captl ? B.captl * 2 : 256;
        bench_sample *nv = realloc(B.tl, cap * sizeof *nv);
        if (!nv)
            return;
        B.tl = nv;
        B.captl = cap;
    }
    bench_sample *s = &B.tl[B.ntl++];
    s->t = (double)(g_now - B.t_start) / 1e9;
    s->sent_per_s = bench_rate_per_s(B.s_published, B.published, dt);
    s->recv_per_s = bench_rate_per_s(B.s_received, B.received, dt);
    s->connects_per_s = bench_rate_per_s(B.s_connects, B.connects, dt);
    s->conns = B.established;
    if (B.lat_iv.total) {
        s->p50_ms = ms(bench_hist_percentile(&B.lat_iv, 50));
        s->p99_ms = ms(bench_hist_percentile(&B.lat_iv, 99));
        s->max_ms = ms(B.lat_iv.max);
    } else {
        s->p50_ms = s->p99_ms = s->max_ms = -1;
    }
    if (B.o.progress && B.ntl > 1) {
        static const char *names[] = {"connect", "run", "drain", "end"};
        uint64_t exp = expected_deliveries();
        fprintf(
            stderr,
            "%s[%6.1fs %-7s] conns %u/%u  connects %.0f/s  sent %.0f/s  recv %.0f/s  p99 %.2f ms"
            "  missing %llu%s",
            B.tty ? "\r" : "", s->t, names[B.phase], B.established, B.n, s->connects_per_s,
            s->sent_per_s, s->recv_per_s, ms(bench_hist_percentile(&B.lat, 99)),
            (unsigned long long)(exp > B.unique ? exp - B.unique : 0), B.tty ? "\033[K" : "\n");
        fflush(stderr);
    }
    bench_hist_reset(&B.lat_iv);
    B.t_last_sample = g_now;
    B.s_published = B.published;
    B.s_received = B.received;
    B.s_connects = B.connects;
}

static uint64_t lost_total(void) {
    uint64_t lost = 0;
    for (uint32_t s = 0; s < B.S; s++)
        for (uint32_t p = 0; p < B.P; p++) {
            size_t pair = (size_t)s * B.P + p;
            if (B.match[pair])
                lost += bench_seq_missing(&B.trk[pair], B.pub_sent[p]);
        }
    return lost;
}

static const char *version_name(void) { return B.o.c.version == MQWS_MQTT_5 ? "5.0" : "3.1.1"; }

static void json_hist(FILE *f, const char *name, const bench_hist *h, int last) {
    fprintf(f,
            "  \"%s\": {\"count\": %llu, \"min\": %.1f, \"mean\": %.1f, \"p50\": %.1f, "
            "\"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}%s\n",
            name, (unsigned long long)h->total, h->total ? (double)h->min / 1e3 : 0.0,
            bench_hist_mean(h) / 1e3, (double)bench_hist_percentile(h, 50) / 1e3,
            (double)bench_hist_percentile(h, 90) / 1e3, (double)bench_hist_percentile(h, 99) / 1e3,
            (double)bench_hist_percentile(h, 99.9) / 1e3, (double)h->max / 1e3, last ? "" : ",");
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void report(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    /* The run's span: from the first publish to the end of publishing or the last delivery /
     * acknowledgement, whichever is later (with --count the messages may all be queued at
     * once and delivered afterwards). */
    int64_t run_from = B.t_run ? B.t_run : g_now;
    int64_t run_to = B.t_run_end < INT64_MAX && B.t_run ? B.t_run_end : g_now;
    if (B.t_last_rx > run_to)
        run_to = B.t_last_rx;
    double run_s = (double)(run_to - run_from) / 1e9;
    double conn_s = (double)((B.t_connected ? B.t_connected : g_now) - B.t_start) / 1e9;
    double storm_s = B.t_storm_done ? (double)(B.t_storm_done - B.t_storm) / 1e9 : 0.0;
    uint64_t expected = expected_deliveries(), lost = lost_total();
    double sent_rate = run_s > 0 ? (double)B.published / run_s : 0;
    double recv_rate = run_s > 0 ? (double)B.received / run_s : 0;
    double conn_rate = conn_s > 0 ? (double)(B.connects - B.reconnects) / conn_s : 0;
    double peak_conn_rate = 0;
    for (size_t i = 0; i < B.ntl; i++)
        peak_conn_rate = fmax(peak_conn_rate, B.tl[i].connects_per_s);
    long rss_kib = 0;
    FILE *st = fopen("/proc/self/status", "r");
    if (st) {
        char line[128];
        while (fgets(line, sizeof line, st))
            if (sscanf(line, "VmRSS: %ld", &rss_kib) == 1)
                break;
        fclose(st);
    }
    if (B.o.json) {
        FILE *f = stdout;
        fputs("{\n  \"tool\": \"mqws-bench\",\n  \"preset\": ", f);
        json_str(f, B.o.preset ? B.o.preset : "");
        fprintf(f, ",\n  \"transport\": \"%s\",\n  \"host\": ", B.o.c.ws ? "ws" : "tcp");
        json_str(f, B.o.c.host);
        fprintf(f,
                ",\n  \"port\": %d,\n  \"mqtt_version\": \"%s\",\n  \"qos\": %d,\n"
                "  \"payload_bytes\": %u,\n  \"connections\": %u,\n  \"publishers\": %u,\n"
                "  \"subscribers\": %u,\n  \"rate_per_publisher\": %g,\n  \"topic\": ",
                B.o.c.port, version_name(), B.o.qos, B.o.size, B.n, B.P, B.S, B.o.rate);
        json_str(f, B.o.topic);
        fputs(",\n  \"sub_topic\": ", f);
        json_str(f, B.o.sub_topic);
        fprintf(f,
                ",\n  \"interrupted\": %s,\n  \"elapsed_s\": %.3f,\n  \"run_s\": %.3f,\n"
                "  \"connect\": {\"established\": %llu, \"failed\": %llu, \"refused\": %llu, "
                "\"lost\": %llu, \"peak\": %u, \"duration_s\": %.3f, \"per_s\": %.1f, "
                "\"peak_per_s\": %.1f, \"subscribe_refused\": %llu, \"storm_dropped\": %llu, "
                "\"reconnects\": %llu, \"storm_s\": %.3f},\n",
                B.interrupted ? "true" : "false", (double)(g_now - B.t_start) / 1e9, run_s,
                (unsigned long long)(B.connects - B.reconnects),
                (unsigned long long)B.connect_failed, (unsigned long long)B.refused,
                (unsigned long long)B.lost, B.peak_established, conn_s, conn_rate, peak_conn_rate,
                (unsigned long long)B.sub_refused, (unsigned long long)B.storm_dropped,
                (unsigned long long)B.reconnects, storm_s);
        fprintf(f,
                "  \"messages\": {\"sent\": %llu, \"acked\": %llu, \"publish_failed\": %llu, "
                "\"skipped\": %llu, \"refused\": %llu, \"received\": %llu, \"expected\": %llu, "
                "\"unique\": %llu, \"lost\": %llu, \"duplicates\": %llu, \"reordered\": %llu, "
                "\"late\": %llu, \"foreign\": %llu, \"sent_per_s\": %.1f, \"received_per_s\": "
                "%.1f},\n",
                (unsigned long long)B.published, (unsigned long long)B.acked,
                (unsigned long long)B.publish_failed, (unsigned long long)B.skipped,
                (unsigned long long)B.pub_refused, (unsigned long long)B.received,
                (unsigned long long)expected, (unsigned long long)B.unique,
                (unsigned long long)lost, (unsigned long long)B.duplicates,
                (unsigned long long)B.reordered, (unsigned long long)B.late,
                (unsigned long long)B.foreign, sent_rate, recv_rate);
        json_hist(f, "latency_us", &B.lat, 0);
        json_hist(f, "connect_us", &B.conn_lat, 0);
        json_hist(f, "reconnect_us", &B.reconn_lat, 0);
        fprintf(f, "  \"cpu_s\": {\"user\": %.3f, \"system\": %.3f},\n  \"rss_kib\": %ld,\n", user,
                sys, rss_kib);
        fputs("  \"error\": ", f);
        json_str(f, B.first_error);
        fputs(",\n  \"timeline\": [", f);
        for (size_t i = 0; i < B.ntl; i++) {
            const bench_sample *s = &B.tl[i];
            fprintf(f,
                    "%s\n    {\"t\": %.2f, \"conns\": %u, \"connects_per_s\": %.1f, "
                    "\"sent_per_s\": %.1f, \"received_per_s\": %.1f, \"p50_ms\": %.3f, "
                    "\"p99_ms\": %.3f, \"max_ms\": %.3f}",
                    i ? "," : "", s->t, s->conns, s->connects_per_s, s->sent_per_s, s->recv_per_s,
                    s->p50_ms, s->p99_ms, s->max_ms);
        }
        fputs("\n  ]\n}\n", f);
        fflush(f);
        return;
    }
    printf("mqws-bench%s%s: %s %s:%d, MQTT %s, QoS %d, %u-byte payloads%s\n", B.o.preset ? " " : "",
           B.o.preset ? B.o.preset : "", B.o.c.ws ? "ws" : "tcp", B.o.c.host, B.o.c.port,
           version_name(), B.o.qos, B.o.size, B.interrupted ? " (interrupted)" : "");
    printf("connections  %llu/%u established in %.2f s (%.0f/s, peak %.0f/s); connect p50 %.2f ms "
           "p99 %.2f ms max %.2f ms\n",
           (unsigned long long)(B.connects - B.reconnects), B.n, conn_s, conn_rate, peak_conn_rate,
           ms(bench_hist_percentile(&B.conn_lat, 50)), ms(bench_hist_percentile(&B.conn_lat, 99)),
           ms(B.conn_lat.max));
    printf("             %llu failed, %llu refused, %llu lost during the run, %llu subscriptions "
           "refused\n",
           (unsigned long long)B.connect_failed, (unsigned long long)B.refused,
           (unsigned long long)B.lost, (unsigned long long)B.sub_refused);
    if (B.reconnects || B.o.storm_at >= 0)
        printf("reconnect    %llu dropped, %llu reconnected in %.2f s; p50 %.2f ms p99 %.2f ms max "
               "%.2f ms\n",
               (unsigned long long)B.storm_dropped, (unsigned long long)B.reconnects, storm_s,
               ms(bench_hist_percentile(&B.reconn_lat, 50)),
               ms(bench_hist_percentile(&B.reconn_lat, 99)), ms(B.reconn_lat.max));
    printf("messages     %u publishers -> %u subscribers over %.2f s: sent %llu (%.1f/s), received "
           "%llu (%.1f/s)\n",
           B.P, B.S, run_s, (unsigned long long)B.published, sent_rate,
           (unsigned long long)B.received, recv_rate);
    printf("             expected %llu, lost %llu, duplicates %llu, reordered %llu, foreign %llu, "
           "publish failed %llu, skipped %llu\n",
           (unsigned long long)expected, (unsigned long long)lost, (unsigned long long)B.duplicates,
           (unsigned long long)B.reordered, (unsigned long long)B.foreign,
           (unsigned long long)B.publish_failed, (unsigned long long)B.skipped);
    if (B.lat.total)
        printf("latency      p50 %.3f ms  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%llu "
               "samples, mean %.3f)\n",
               ms(bench_hist_percentile(&B.lat, 50)), ms(bench_hist_percentile(&B.lat, 90)),
               ms(bench_hist_percentile(&B.lat, 99)), ms(bench_hist_percentile(&B.lat, 99.9)),
               ms(B.lat.max), (unsigned long long)B.lat.total, bench_hist_mean(&B.lat) / 1e6);
    printf("cpu          user %.2f s, system %.2f s; bench RSS %ld KiB\n", user, sys, rss_kib);
    if (B.first_error[0])
        printf("first error  %s\n", B.first_error);
    fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* Options */

static void usage(void) {
    printf(
        "usage: mqws-bench [--preset NAME] [options]\n\n"
        "An MQTT load generator: N connections, P publishers, S subscribers; measures connects/s,\n"
        "messages/s, loss, duplicates and end-to-end latency. See docs/bench.md.\n\n"
        "Workload:\n"
        "      --preset NAME        start from a preset (flags override its values):\n");
    bench_preset_usage();
    printf(
        "  -n, --conns N            connections in all (default pubs + subs; the rest stay idle)\n"
        "      --pubs N|all         publishers (default 1)\n"
        "      --subs N|all         subscribers (default 1)\n"
        "  -t, --topic PATTERN      publish topic, %%i = publisher index (default bench/%%i)\n"
        "  -T, --sub-topic PATTERN  subscription filter, %%i = subscriber index (default bench/#)\n"
        "  -q, --qos 0|1|2          QoS of publications and subscriptions (default 0)\n"
        "  -s, --size BYTES         payload size, at least 32 (default 64)\n"
        "  -r, --rate R             messages/s per publisher (fractions allowed: 0.0167 = 1/min);\n"
        "                           0 = as fast as possible, pipelined (default)\n"
        "      --window W           as fast as possible: messages in flight per publisher (1000)\n"
        "  -D, --duration S         seconds of publishing (default 10; 0 = until --count)\n"
        "  -C, --count N            N messages in all (the first of -D and -C ends the run)\n"
        "      --drain S            wait up to S seconds for the last messages (default 3)\n"
        "  -R, --connect-rate R     new connections per second (default 0 = no ramp)\n"
        "      --max-connecting N   connections waiting for CONNACK at once (default 1000)\n"
        "      --sources K          bind to 127.0.0.2 .. 127.0.0.(K+1) when the broker is on\n"
        "                           loopback (default 4; 0 = no bind)\n"
        "      --storm-at S         S seconds into the run, drop every idle connection and\n"
        "                           reconnect them all at once\n"
        "Output:\n"
        "      --json               print the summary as JSON on stdout\n"
        "      --plot FILE.svg      throughput and latency over time as an SVG chart\n"
        "      --progress / --no-progress  progress line every second on stderr (default: when\n"
        "                           stderr is a terminal)\n"
        "      --interval MS        timeline / progress interval (default 1000)\n"
        "      --ready-file FILE    write FILE once everything is connected and subscribed\n\n");
    cli_usage_common();
}

static int parse_u32(const char *s, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || !*s || *s == '-' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !*s || !(v >= 0) || isinf(v))
        return -1;
    *out = v;
    return 0;
}

static void defaults(bench_opts *o) {
    memset(o, 0, sizeof *o);
    cli_opts_init(&o->c, "mqws-bench");
    o->c.host = "127.0.0.1";
    o->pubs = 1;
    o->subs = 1;
    o->max_connecting = 1000;
    o->sources = 4;
    o->topic = "bench/%i";
    o->sub_topic = "bench/#";
    o->size = 64;
    o->duration = 10;
    o->drain = 3;
    o->window = 1000;
    o->storm_at = -1;
    o->progress = -1;
    o->interval = 1000;
}

static int is_bench_option(const char *a) {
    static const char *const names[] = {"--preset",
                                        "-n",
                                        "--conns",
                                        "--pubs",
                                        "--subs",
                                        "-t",
                                        "--topic",
                                        "-T",
                                        "--sub-topic",
                                        "-q",
                                        "--qos",
                                        "-s",
                                        "--size",
                                        "-r",
                                        "--rate",
                                        "--window",
                                        "-D",
                                        "--duration",
                                        "-C",
                                        "--count",
                                        "--drain",
                                        "-R",
                                        "--connect-rate",
                                        "--max-connecting",
                                        "--sources",
                                        "--storm-at",
                                        "--plot",
                                        "--interval",
                                        "--ready-file"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a, names[i]))
            return 1;
    return 0;
}

/* Returns 0, 1 (--help: exit 0) or -1. */
static int parse_args(bench_opts *o, int argc, char **argv) {
    defaults(o);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--preset")) {
            if (i + 1 >= argc || bench_preset_apply(o, argv[i + 1]) != 0) {
                fprintf(stderr, "mqws-bench: --preset needs one of:\n");
                bench_preset_usage();
                return -1;
            }
            i++;
        }
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            usage();
            return 1;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
#define IS(s, l) (!strcmp(a, s) || !strcmp(a, l))
        if (!strcmp(a, "--json")) {
            o->json = 1;
            takes = 0;
        } else if (!strcmp(a, "--progress")) {
            o->progress = 1;
            takes = 0;
        } else if (!strcmp(a, "--no-progress")) {
            o->progress = 0;
            takes = 0;
        } else if (!is_bench_option(a)) {
            /* connection options shared with mqws-pub / mqws-sub (-D here is --duration) */
            int r = cli_parse_common(&o->c, argc, argv, &i);
            if (r < 0)
                return -1;
            if (r > 0)
                continue;
            fprintf(stderr, "mqws-bench: unknown option %s (see --help)\n", a);
            return -1;
        } else if (!v) {
            fprintf(stderr, "mqws-bench: option %s needs an argument\n", a);
            return -1;
        } else if (!strcmp(a, "--preset")) {
            /* applied above */
        } else if (IS("-n", "--conns")) {
            bad = parse_u32(v, &o->conns);
        } else if (!strcmp(a, "--pubs")) {
            bad = !strcmp(v, "all") ? (o->pubs = BENCH_ALL, 0) : parse_u32(v, &o->pubs);
        } else if (!strcmp(a, "--subs")) {
            bad = !strcmp(v, "all") ? (o->subs = BENCH_ALL, 0) : parse_u32(v, &o->subs);
        } else if (IS("-t", "--topic")) {
            o->topic = v;
        } else if (IS("-T", "--sub-topic")) {
            o->sub_topic = v;
        } else if (IS("-q", "--qos")) {
            uint32_t q;
            bad = parse_u32(v, &q) || q > 2;
            o->qos = (int)q;
        } else if (IS("-s", "--size")) {
            bad = parse_u32(v, &o->size) || o->size < HDR_LEN || o->size > 100u * 1024 * 1024;
        } else if (IS("-r", "--rate")) {
            bad = parse_double(v, &o->rate);
        } else if (!strcmp(a, "--window")) {
            bad = parse_u32(v, &o->window) || o->window == 0;
        } else if (IS("-D", "--duration")) {
            bad = parse_double(v, &o->duration);
        } else if (IS("-C", "--count")) {
            uint32_t n;
            bad = parse_u32(v, &n);
            o->count = n;
        } else if (!strcmp(a, "--drain")) {
            bad = parse_double(v, &o->drain);
        } else if (IS("-R", "--connect-rate")) {
            bad = parse_double(v, &o->connect_rate);
        } else if (!strcmp(a, "--max-connecting")) {
            bad = parse_u32(v, &o->max_connecting) || o->max_connecting == 0;
        } else if (!strcmp(a, "--sources")) {
            bad = parse_u32(v, &o->sources) || o->sources > 250;
        } else if (!strcmp(a, "--storm-at")) {
            bad = parse_double(v, &o->storm_at);
        } else if (!strcmp(a, "--plot")) {
            o->plot = v;
        } else if (!strcmp(a, "--interval")) {
            bad = parse_double(v, &o->interval) || o->interval < 10;
        } else if (!strcmp(a, "--ready-file")) {
            o->ready_file = v;
        } else {
            fprintf(stderr, "mqws-bench: unknown option %s (see --help)\n", a);
            return -1;
        }
#undef IS
        if (bad) {
            fprintf(stderr, "mqws-bench: invalid value '%s' for %s\n", v, a);
            return -1;
        }
        i += 1 + takes;
    }
    if (cli_finish_opts(&o->c) != 0)
        return -1;
    if (o->storm_at >= 0 && o->duration > 0 && o->storm_at >= o->duration) {
        fprintf(stderr, "mqws-bench: --storm-at %g is not inside the run (--duration %g)\n",
                o->storm_at, o->duration);
        return -1;
    }
    if (o->duration == 0 && o->count == 0) {
        fprintf(stderr, "mqws-bench: --duration 0 needs --count\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

static int setup(void) {
    bench_opts *o = &B.o;
    uint32_t fixed = (o->pubs == BENCH_ALL ? 0 : o->pubs) + (o->subs == BENCH_ALL ? 0 : o->subs);
    if (o->pubs == BENCH_ALL && o->subs == BENCH_ALL) {
        fprintf(stderr, "mqws-bench: --pubs all and --subs all cannot be combined\n");
        return -1;
    }
    B.n = o->conns ? o->conns : fixed;
    if (B.n < fixed) {
        fprintf(stderr, "mqws-bench: --conns %u is fewer than publishers + subscribers (%u)\n", B.n,
                fixed);
        return -1;
    }
    B.P = o->pubs == BENCH_ALL ? B.n - fixed : o->pubs;
    B.S = o->subs == BENCH_ALL ? B.n - fixed : o->subs;
    if (B.n == 0) {
        fprintf(stderr, "mqws-bench: nothing to do (no connections)\n");
        return -1;
    }
    if ((uint64_t)B.P * B.S > 4000000) {
        fprintf(stderr, "mqws-bench: %u publishers x %u subscribers is too many streams to track\n",
                B.P, B.S);
        return -1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)B.n + 16) {
            fprintf(stderr,
                    "mqws-bench: %u connections need %u descriptors; the limit is %llu "
                    "(raise it with ulimit -n)\n",
                    B.n, B.n + 16, (unsigned long long)rl.rlim_cur);
            return -1;
        }
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof port, "%d", o->c.port);
    int rc = getaddrinfo(o->c.host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "mqws-bench: cannot resolve %s: %s\n", o->c.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&B.dst, res->ai_addr, res->ai_addrlen);
    B.dst_len = res->ai_addrlen;
    if (res->ai_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
        B.loopback4 = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    freeaddrinfo(res);

    uint8_t seed[12];
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        memset(seed, 0x5a, sizeof seed);
    memcpy(&B.run_id, seed, 4);
    memcpy(&B.xs, seed + 4, 8);
    B.xs |= 1;

    B.c = calloc(B.n, sizeof *B.c);
    B.dirty = calloc(B.n, sizeof *B.dirty);
    B.queue = calloc(B.n, sizeof *B.queue);
    B.pub_topic = calloc(B.P + 1, sizeof *B.pub_topic);
    B.sub_filter = calloc(B.S + 1, sizeof *B.sub_filter);
    B.match = calloc((size_t)B.P * B.S + 1, 1);
    B.trk = calloc((size_t)B.P * B.S + 1, sizeof *B.trk);
    B.fanout = calloc(B.P + 1, sizeof *B.fanout);
    B.pub_sent = calloc(B.P + 1, sizeof *B.pub_sent);
    B.pub_acked = calloc(B.P + 1, sizeof *B.pub_acked);
    B.recv_from = calloc(B.P + 1, sizeof *B.recv_from);
    B.adj = calloc(B.P + 1, sizeof *B.adj);
    B.last_recv_ns = calloc(B.P + 1, sizeof *B.last_recv_ns);
    B.payload = calloc(o->size, 1);
    if (!B.c || !B.dirty || !B.queue || !B.pub_topic || !B.sub_filter || !B.match || !B.trk ||
        !B.fanout || !B.pub_sent || !B.pub_acked || !B.recv_from || !B.adj || !B.last_recv_ns ||
        !B.payload) {
        fprintf(stderr, "mqws-bench: out of memory\n");
        return -1;
    }
    for (uint32_t i = HDR_LEN; i < o->size; i++)
        B.payload[i] = (uint8_t)('a' + i % 26);
    for (uint32_t p = 0; p < B.P; p++) {
        B.pub_topic[p] = expand(o->topic, p);
        if (!B.pub_topic[p] || mqws_topic_validate_name((const uint8_t *)B.pub_topic[p],
                                                        strlen(B.pub_topic[p]), NULL, NULL) != 0) {
            fprintf(stderr, "mqws-bench: invalid topic name '%s'\n",
                    B.pub_topic[p] ? B.pub_topic[p] : o->topic);
            return -1;
        }
    }
    for (uint32_t s = 0; s < B.S; s++) {
        B.sub_filter[s] = expand(o->sub_topic, s);
        const char *f = B.sub_filter[s];
        if (!f || mqws_topic_validate_filter((const uint8_t *)f, strlen(f), NULL, NULL) != 0) {
            fprintf(stderr, "mqws-bench: invalid topic filter '%s'\n", f ? f : o->sub_topic);
            return -1;
        }
        for (uint32_t p = 0; p < B.P; p++)
            if (mqws_topic_matches((const uint8_t *)f, strlen(f), (const uint8_t *)B.pub_topic[p],
                                   strlen(B.pub_topic[p]))) {
                B.match[(size_t)s * B.P + p] = 1;
                B.fanout[p]++;
            }
    }
    for (uint32_t i = 0; i < B.n; i++) {
        bconn *c = &B.c[i];
        c->fd = -1;
        c->idx = i;
        c->role = i < B.S ? ROLE_SUB : i < B.S + B.P ? ROLE_PUB : ROLE_IDLE;
        c->role_idx = i < B.S ? i : i < B.S + B.P ? i - B.S : i - B.S - B.P;
        enqueue(c);
    }
    B.cb = mqws_callbacks_new(NULL);
    if (!B.cb)
        return -1;
    mqws_callbacks_set_on_connack(B.cb, on_connack);
    mqws_callbacks_set_on_ack(B.cb, on_ack);
    mqws_callbacks_set_on_publish(B.cb, on_publish);
    mqws_callbacks_set_on_drop(B.cb, on_drop);
    mqws_callbacks_set_on_close(B.cb, on_close);
    B.ep = epoll_create1(EPOLL_CLOEXEC);
    if (B.ep < 0)
        return -1;
    bench_hist_reset(&B.lat);
    bench_hist_reset(&B.lat_iv);
    bench_hist_reset(&B.conn_lat);
    bench_hist_reset(&B.reconn_lat);
    B.tty = isatty(2);
    if (o->progress < 0)
        o->progress = B.tty;
    B.interval_ns = (int64_t)(o->interval * 1e6);
    return 0;
}

static int all_closed(void) {
    for (uint32_t i = 0; i < B.n; i++)
        if (B.c[i].conn)
            return 0;
    return 1;
}

static void loop(void) {
    struct epoll_event evs[256];
    int64_t next_sweep = 0;
    B.t_start = B.t_last_sample = g_now = now_ns();
    sample(); /* t = 0 */
    if (B.o.connect_rate > 0)
        bench_sched_init(&B.conn_sched, g_now, B.o.connect_rate, 0);
    int64_t setup_deadline = g_now + (int64_t)((B.o.connect_rate > 0 ? B.n / B.o.connect_rate : 0) +
                                               B.o.c.connect_timeout_s + 30) *
                                         1000000000;
    for (;;) {
        g_now = now_ns();
        if (cli_interrupted) {
            cli_interrupted = 0;
            B.interrupted++;
            if (B.phase < PH_DRAIN)
                start_drain(B.interrupted > 1 ? 0 : 1);
            else
                start_end();
        }
        /* phases */
        if (B.phase == PH_CONNECT) {
            start_connections();
            if ((B.qhead == B.qtail && B.connecting == 0) || g_now > setup_deadline)
                start_run();
        }
        int afap_more = 0;
        if (B.phase == PH_RUN) {
            if (B.qhead != B.qtail || B.connecting)
                start_connections();
            if (B.storm_pending && g_now >= B.t_storm)
                storm();
            if (B.storm_active && B.qhead == B.qtail && B.connecting == 0) {
                B.storm_active = 0;
                B.t_storm_done = g_now;
            }
            if (B.P > 0) {
                if (B.o.rate > 0)
                    publish_scheduled();
                else
                    afap_more = publish_afap();
            }
            if (g_now >= B.t_run_end || count_reached() ||
                (B.o.rate > 0 && B.P > 0 && bench_sched_done(&B.msg_sched)))
                start_drain(B.o.drain);
        }
        if (B.phase == PH_DRAIN) {
            if (B.qhead != B.qtail || B.connecting)
                start_connections();
            if (B.storm_active && B.qhead == B.qtail && B.connecting == 0) {
                B.storm_active = 0;
                B.t_storm_done = g_now;
            }
            int acks_done = B.o.qos == 0 || B.acked + B.pub_refused >= B.published;
            if ((B.unique >= expected_deliveries() && acks_done && !B.storm_active) ||
                g_now >= B.t_drain_end)
                start_end();
        }
        if (B.phase == PH_END && (all_closed() || g_now >= B.t_end_deadline))
            break;
        /* timers */
        if (g_now >= next_sweep) {
            int64_t now_ms = g_now / 1000000;
            for (uint32_t i = 0; i < B.n; i++) {
                bconn *c = &B.c[i];
                if (c->conn && c->deadline_ms <= now_ms) {
                    c->deadline_ms = mqws_conn_tick(c->conn, now_ms);
                    mark_dirty(c);
                }
            }
            next_sweep = g_now + SWEEP_MS * 1000000;
        }
        /* output */
        for (uint32_t k = 0; k < B.ndirty; k++) {
            bconn *c = &B.c[B.dirty[k]];
            c->dirty = 0;
            if (c->conn)
                flush_conn(c);
        }
        B.ndirty = 0;
        /* per second */
        if (g_now - B.t_last_sample >= B.interval_ns)
            sample();
        /* wait */
        int64_t wake = next_sweep;
        if (B.t_last_sample + B.interval_ns < wake)
            wake = B.t_last_sample + B.interval_ns;
        if (B.phase == PH_RUN && B.o.rate > 0 && B.P > 0 && bench_sched_next(&B.msg_sched) < wake)
            wake = bench_sched_next(&B.msg_sched);
        if (B.phase == PH_CONNECT && B.o.connect_rate > 0 && B.qhead != B.qtail)
            wake = g_now + 1000000;
        int timeout = 0;
        if (!afap_more) {
            int64_t d = wake - now_ns();
            timeout = d <= 0 ? 0 : (int)((d + 999999) / 1000000);
            if (B.phase == PH_RUN && B.o.rate == 0 && B.P > 0 && timeout > 5)
                timeout = 5;
        }
        int n = epoll_wait(B.ep, evs, 256, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("mqws-bench: epoll_wait");
            break;
        }
        g_now = now_ns();
        for (int k = 0; k < n; k++) {
            bconn *c = &B.c[evs[k].data.u32];
            if (!c->conn)
                continue;
            if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                read_conn(c);
            if (c->conn && (evs[k].events & EPOLLOUT))
                mark_dirty(c);
        }
    }
    for (uint32_t i = 0; i < B.n; i++)
        if (B.c[i].conn || B.c[i].fd >= 0)
            close_conn(&B.c[i]);
    if (B.t_run_end == INT64_MAX || B.t_run_end == 0)
        B.t_run_end = g_now;
    sample();
    if (B.o.progress && B.tty)
        fputc('\n', stderr);
}

int main(int argc, char **argv) {
    int r = parse_args(&B.o, argc, argv);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (setup() != 0)
        return 1;
    cli_install_signals();
    loop();
    report();
    if (B.o.plot) {
        char title[200], sub[300];
        snprintf(title, sizeof title, "mqws-bench %s: %u connections, %u pub -> %u sub",
                 B.o.preset ? B.o.preset : "", B.n, B.P, B.S);
        snprintf(sub, sizeof sub, "%s %s:%d, MQTT %s, QoS %d, %u B payload, %s",
                 B.o.c.ws ? "ws" : "tcp", B.o.c.host, B.o.c.port, version_name(), B.o.qos, B.o.size,
                 B.o.rate > 0 ? "fixed rate" : "as fast as possible");
        if (bench_plot_svg(B.o.plot, B.tl, B.ntl, title, sub) != 0)
            fprintf(stderr, "mqws-bench: cannot write %s: %s\n", B.o.plot, strerror(errno));
    }
    return B.connects == 0 ? 2 : 0;
}
