/* mqws-loadgen: a minimal MQTT 3.1.1 load client speaking raw bytes over non-blocking sockets.
 * Used by the gateway's 10,000-connection test (tests/interop/broker) and by
 * bench/gateway_compare.sh; works against any broker (mqws-gateway, mosquitto). It is a
 * stop-gap: the full benchmark tool is mqws-bench (issue 7).
 *
 *   mqws-loadgen hold --port P [--host H] --clients N [--sources K] [--sub TOPIC]
 *                [--verify-pub] [--hold SECONDS] [--ready-file F] [--timeout SECONDS]
 *       Open N connections (bound round-robin to 127.0.0.2 .. 127.0.0.(K+1) when K > 0),
 *       CONNECT each (clean session, keep alive 600 s), optionally SUBSCRIBE (QoS 0) and, with
 *       --verify-pub, publish one message on TOPIC and count that every client got it. Then
 *       hold them for SECONDS (-1: until SIGINT/SIGTERM or stdin closes). Prints one line
 *       "hold clients=N connected=C subscribed=S received=R connect_ms=T" and exits 0 when
 *       every step succeeded for every client.
 *   mqws-loadgen throughput --port P [--subs M] [--seconds D] [--payload 64] [--window W]
 *       One publisher, M subscribers of one topic, QoS 0, pipelined: at most W (default 4000,
 *       about 300 KB) messages per subscriber outstanding, so a broker with a 1 MiB
 *       slow-consumer watermark need not drop. Rates are measured after a 0.5 s warm-up.
 *       Prints "throughput subs=M published=.. delivered=.. lost=.. msg_per_s=..
 *       deliveries_per_s=.." (lost: deliveries that never came, i.e. dropped by the broker).
 *   mqws-loadgen latency --port P [--rate R] [--seconds D] [--payload 64]
 *       One publisher at R msg/s (QoS 0) sending what is due every 1 ms tick (50 messages per
 *       write at 50 k/s), one subscriber; the payload carries the time of the write.
 *       Prints "latency rate=R sent=.. received=.. p50_us=.. p99_us=.. p999_us=.. max_us=..".
 *
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static const char *host = "127.0.0.1";
static int port = 1883;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "mqws-loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ------------------------------------------------------------------------------------------ */
/* Packets */

static size_t put_varint(uint8_t *p, size_t v) {
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v % 128);
        v /= 128;
        p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static size_t put_str(uint8_t *p, const char *s, size_t len) {
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, s, len);
    return 2 + len;
}

static size_t mk_connect(uint8_t *out, const char *id) {
    uint8_t body[300];
    size_t n = put_str(body, "MQTT", 4);
    body[n++] = 4;    /* 3.1.1 */
    body[n++] = 0x02; /* clean session */
    body[n++] = 0x02; /* keep alive 600 s */
    body[n++] = 0x58;
    n += put_str(body + n, id, strlen(id));
    out[0] = 0x10;
    size_t h = 1 + put_varint(out + 1, n);
    memcpy(out + h, body, n);
    return h + n;
}

static size_t mk_subscribe(uint8_t *out, const char *topic) {
    uint8_t body[300];
    size_t n = 0;
    body[n++] = 0;
    body[n++] = 1;
    n += put_str(body + n, topic, strlen(topic));
    body[n++] = 0;
    out[0] = 0x82;
    size_t h = 1 + put_varint(out + 1, n);
    memcpy(out + h, body, n);
    return h + n;
}

static size_t mk_publish(uint8_t *out, const char *topic, const uint8_t *payload, size_t plen) {
    size_t tl = strlen(topic);
    out[0] = 0x30;
    size_t h = 1 + put_varint(out + 1, 2 + tl + plen);
    h += put_str(out + h, topic, tl);
    memcpy(out + h, payload, plen);
    return h + plen;
}

/* Streaming packet reader: no buffering beyond the first CAP bytes of each body. */
#define CAP 48
typedef struct reader {
    uint8_t state; /* 0 type, 1 length, 2 body */
    uint8_t type;
    uint8_t shift;
    uint32_t len, got;
    uint8_t head[CAP];
} reader;

/* Feed bytes; calls fn(ud, type, head, body_len) per complete packet. */
static void reader_feed(reader *r, const uint8_t *p, size_t n,
                        void (*fn)(void *, uint8_t, const uint8_t *, uint32_t), void *ud) {
    size_t i = 0;
    while (i < n) {
        if (r->state == 0) {
            r->type = (uint8_t)(p[i++] >> 4);
            r->len = 0;
            r->shift = 0;
            r->got = 0;
            r->state = 1;
        } else if (r->state == 1) {
            uint8_t b = p[i++];
            r->len |= (uint32_t)(b & 0x7f) << r->shift;
            r->shift = (uint8_t)(r->shift + 7);
            if (!(b & 0x80)) {
                r->state = 2;
                if (r->len == 0) {
                    fn(ud, r->type, r->head, 0);
                    r->state = 0;
                }
            }
        } else {
            size_t take = n - i;
            if (take > r->len - r->got)
                take = r->len - r->got;
            if (r->got < CAP) {
                size_t c = take < CAP - r->got ? take : CAP - r->got;
                memcpy(r->head + r->got, p + i, c);
            }
            r->got += (uint32_t)take;
            i += take;
            if (r->got == r->len) {
                fn(ud, r->type, r->head, r->len);
                r->state = 0;
            }
        }
    }
}

static int open_conn(int idx, int sources, int block) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (block ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sources > 0) {
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(idx % sources));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {fd, POLLOUT, 0};
                poll(&pf, 1, 1000);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Blocking connect + CONNECT + CONNACK (+ SUBSCRIBE + SUBACK) for the small modes. */
static int sync_client(const char *id, const char *sub) {
    int fd = open_conn(0, 0, 1);
    if (fd < 0)
        die("connect");
    uint8_t buf[512];
    size_t n = mk_connect(buf, id);
    if (write_all(fd, buf, n) != 0 || read(fd, buf, 4) != 4 || buf[0] != 0x20 || buf[3] != 0) {
        fprintf(stderr, "mqws-loadgen: CONNECT refused\n");
        exit(1);
    }
    if (sub) {
        n = mk_subscribe(buf, sub);
        if (write_all(fd, buf, n) != 0 || read(fd, buf, 5) != 5 || buf[0] != 0x90) {
            fprintf(stderr, "mqws-loadgen: SUBSCRIBE failed\n");
            exit(1);
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* ------------------------------------------------------------------------------------------ */
/* hold */

typedef struct hconn {
    int fd;
    uint8_t phase; /* 0 connecting, 1 CONNECT sent, 2 connected, 3 SUBSCRIBE sent, 4 ready */
    uint8_t got_pub;
    reader r;
} hconn;

typedef struct hold_state {
    hconn *conns;
    int connected, subscribed, received, failed;
    const char *sub;
} hold_state;

typedef struct hctx {
    hold_state *st;
    hconn *c;
} hctx;

static void hold_packet(void *ud, uint8_t type, const uint8_t *head, uint32_t len) {
    hctx *x = ud;
    hconn *c = x->c;
    if (type == 2 && len >= 2 && c->phase == 1) {
        if (head[1] == 0) {
            c->phase = 2;
            x->st->connected++;
        } else {
            x->st->failed++;
            c->phase = 9;
        }
    } else if (type == 9 && c->phase == 3) {
        if (len >= 3 && head[2] < 0x80) {
            c->phase = 4;
            x->st->subscribed++;
        } else {
            x->st->failed++;
            c->phase = 9;
        }
    } else if (type == 3 && !c->got_pub) {
        c->got_pub = 1;
        x->st->received++;
    }
}

static int run_hold(int nclients, int sources, const char *sub, int verify, double hold_s,
                    const char *ready_file, double timeout_s) {
    hold_state st;
    memset(&st, 0, sizeof st);
    st.sub = sub;
    st.conns = calloc((size_t)nclients, sizeof *st.conns);
    if (!st.conns)
        die("calloc");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event evs[1024];
    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)(timeout_s * 1e9);
    int opened = 0, inflight = 0, want = sub ? 4 : 2;
    uint8_t buf[65536];
    while (!stop) {
        /* Keep at most 512 handshakes in flight so the listen backlog never overflows. */
        while (opened < nclients && inflight < 512) {
            hconn *c = &st.conns[opened];
            c->fd = open_conn(opened, sources, 0);
            if (c->fd < 0) {
                fprintf(stderr, "mqws-loadgen: socket/connect #%d: %s\n", opened, strerror(errno));
                st.failed++;
                c->phase = 9;
                opened++;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = 0};
            ev.data.u64 = (uint64_t)opened;
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            opened++;
            inflight++;
        }
        int done = st.connected + st.failed;
        if (sub)
            done = st.subscribed + st.failed;
        if (done >= nclients && opened == nclients)
            break;
        if (now_ns() > deadline)
            break;
        int n = epoll_wait(ep, evs, 1024, 100);
        for (int i = 0; i < n; i++) {
            hconn *c = &st.conns[evs[i].data.u64];
            hctx x = {&st, c};
            int before = c->phase;
            if ((evs[i].events & EPOLLOUT) && c->phase == 0) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    c->phase = 9;
                    st.failed++;
                    inflight--;
                    continue;
                }
                char id[32];
                snprintf(id, sizeof id, "lg-%d-%ld", (int)evs[i].data.u64, (long)getpid());
                size_t k = mk_connect(buf, id);
                if (write(c->fd, buf, k) != (ssize_t)k) {
                    c->phase = 9;
                    st.failed++;
                    inflight--;
                    continue;
                }
                c->phase = 1;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = read(c->fd, buf, sizeof buf);
                    if (r > 0) {
                        reader_feed(&c->r, buf, (size_t)r, hold_packet, &x);
                        continue;
                    }
                    if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                        if (c->phase < want) {
                            c->phase = 9;
                            st.failed++;
                            inflight--;
                        }
                    }
                    break;
                }
            }
            if (c->phase == 2 && sub) {
                size_t k = mk_subscribe(buf, sub);
                if (write(c->fd, buf, k) != (ssize_t)k) {
                    c->phase = 9;
                    st.failed++;
                    inflight--;
                    continue;
                }
                c->phase = 3;
            }
            if (before < want && c->phase == want)
                inflight--;
        }
    }
    uint64_t t1 = now_ns();
    double connect_ms = (double)(t1 - t0) / 1e6;
    if (verify && sub && st.subscribed == nclients) {
        int pfd = sync_client("lg-verify-pub", NULL);
        uint8_t pk[256];
        size_t k = mk_publish(pk, sub, (const uint8_t *)"hello", 5);
        write_all(pfd, pk, k);
        uint64_t vdl = now_ns() + 20000000000ull;
        while (st.received < nclients && now_ns() < vdl && !stop) {
            int n = epoll_wait(ep, evs, 1024, 100);
            for (int i = 0; i < n; i++) {
                hconn *c = &st.conns[evs[i].data.u64];
                hctx x = {&st, c};
                for (;;) {
                    ssize_t r = read(c->fd, buf, sizeof buf);
                    if (r <= 0)
                        break;
                    reader_feed(&c->r, buf, (size_t)r, hold_packet, &x);
                }
            }
        }
        close(pfd);
    }
    printf("hold clients=%d connected=%d subscribed=%d received=%d failed=%d connect_ms=%.0f\n",
           nclients, st.connected, st.subscribed, st.received, st.failed, connect_ms);
    fflush(stdout);
    int ok = st.connected == nclients && (!sub || st.subscribed == nclients) &&
             (!verify || st.received == nclients);
    if (ready_file) {
        FILE *f = fopen(ready_file, "w");
        if (f) {
            fprintf(f, "%d\n", st.connected);
            fclose(f);
        }
    }
    if (hold_s != 0) {
        uint64_t end = hold_s < 0 ? UINT64_MAX : now_ns() + (uint64_t)(hold_s * 1e9);
        while (!stop && now_ns() < end) {
            struct pollfd pf = {0, POLLIN, 0};
            int pr = poll(&pf, hold_s < 0 ? 1 : 0, 200);
            if (pr > 0 && hold_s < 0) {
                char c;
                if (read(0, &c, 1) <= 0)
                    break;
            }
            /* drain (keepalive is 600 s, nothing should arrive) */
            int n = epoll_wait(ep, evs, 1024, 0);
            for (int i = 0; i < n; i++) {
                hconn *c = &st.conns[evs[i].data.u64];
                while (read(c->fd, buf, sizeof buf) > 0) {
                }
            }
        }
    }
    for (int i = 0; i < opened; i++)
        if (st.conns[i].fd > 0)
            close(st.conns[i].fd);
    free(st.conns);
    close(ep);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* throughput */

typedef struct tsub {
    int fd;
    reader r;
    uint64_t count;
} tsub;

static void count_packet(void *ud, uint8_t type, const uint8_t *head, uint32_t len) {
    (void)head;
    (void)len;
    if (type == 3)
        ((tsub *)ud)->count++;
}

static int run_throughput(int nsubs, double seconds, size_t payload, uint64_t window) {
    tsub *subs = calloc((size_t)nsubs, sizeof *subs);
    for (int i = 0; i < nsubs; i++) {
        char id[32];
        snprintf(id, sizeof id, "lg-sub-%d-%ld", i, (long)getpid());
        subs[i].fd = sync_client(id, "bench/t");
    }
    int pub = sync_client("lg-pub", NULL);
    uint8_t pl[4096];
    memset(pl, 'x', sizeof pl);
    uint8_t one[8192];
    size_t plen = mk_publish(one, "bench/t", pl, payload);
    /* A batch of 256 back-to-back PUBLISH packets per write. */
    size_t batch_n = 256;
    uint8_t *batch = malloc(plen * batch_n);
    for (size_t i = 0; i < batch_n; i++)
        memcpy(batch + i * plen, one, plen);
    struct pollfd *pf = calloc((size_t)nsubs + 1, sizeof *pf);
    uint8_t buf[262144];
    uint64_t published = 0, off = 0; /* off: bytes of the current batch written */
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), warm = t0 + 500000000ull;
    uint64_t base_pub = 0, base_del = 0, t_base = 0, lost = 0, last_del = 0, last_change = t0;
    int warmed = 0;
    while (!stop) {
        uint64_t t = now_ns();
        if (t >= end)
            break;
        uint64_t delivered = 0;
        for (int i = 0; i < nsubs; i++)
            delivered += subs[i].count;
        if (!warmed && t >= warm) {
            warmed = 1;
            base_pub = published;
            base_del = delivered;
            t_base = t;
        }
        if (delivered != last_del) {
            last_del = delivered;
            last_change = t;
        } else if (t - last_change > 1000000000ull &&
                   published * (uint64_t)nsubs > delivered + lost) {
            /* Nothing arrived for 1 s: what is missing was dropped by the broker (slow
             * consumer policy); stop waiting for it. */
            lost = published * (uint64_t)nsubs - delivered;
            last_change = t;
        }
        int want_pub = published * (uint64_t)nsubs < delivered + lost + window * (uint64_t)nsubs;
        for (int i = 0; i < nsubs; i++) {
            pf[i].fd = subs[i].fd;
            pf[i].events = POLLIN;
        }
        pf[nsubs].fd = pub;
        pf[nsubs].events = want_pub ? POLLOUT : 0;
        if (poll(pf, (nfds_t)nsubs + 1, 100) < 0 && errno != EINTR)
            die("poll");
        for (int i = 0; i < nsubs; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(subs[i].fd, buf, sizeof buf);
            if (r > 0)
                reader_feed(&subs[i].r, buf, (size_t)r, count_packet, &subs[i]);
            else if (r == 0) {
                fprintf(stderr, "mqws-loadgen: subscriber %d closed by the broker\n", i);
                return 1;
            }
        }
        if (want_pub && (pf[nsubs].revents & POLLOUT)) {
            ssize_t w = write(pub, batch + off, plen * batch_n - off);
            if (w > 0) {
                off += (uint64_t)w;
                published = published - published % batch_n + off / plen;
                if (off == plen * batch_n) {
                    off = 0;
                }
            }
            /* `published` counts whole packets written. */
        }
        /* drain the publisher's socket (nothing expected) */
    }
    uint64_t t1 = now_ns();
    uint64_t delivered = 0;
    for (int i = 0; i < nsubs; i++)
        delivered += subs[i].count;
    double secs = (double)(t1 - t_base) / 1e9;
    printf("throughput subs=%d payload=%zu published=%llu delivered=%llu lost=%llu msg_per_s=%.0f "
           "deliveries_per_s=%.0f\n",
           nsubs, payload, (unsigned long long)published, (unsigned long long)delivered,
           (unsigned long long)lost, (double)(published - base_pub) / secs,
           (double)(delivered - base_del) / secs);
    for (int i = 0; i < nsubs; i++)
        close(subs[i].fd);
    close(pub);
    free(subs);
    free(pf);
    free(batch);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* latency */

typedef struct lsub {
    uint64_t *lat;
    size_t n, cap;
} lsub;

static void lat_packet(void *ud, uint8_t type, const uint8_t *head, uint32_t len) {
    lsub *l = ud;
    /* body: topic length (2) + "bench/l" (7) + 8-byte send time */
    if (type != 3 || len < 17)
        return;
    uint64_t sent;
    memcpy(&sent, head + 9, 8);
    uint64_t now = now_ns();
    if (l->n < l->cap)
        l->lat[l->n++] = now > sent ? now - sent : 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_latency(double rate, double seconds, size_t payload) {
    int sub = sync_client("lg-lat-sub", "bench/l");
    int pub = sync_client("lg-lat-pub", NULL);
    lsub l = {0};
    l.cap = (size_t)(rate * seconds) + 16;
    l.lat = malloc(l.cap * sizeof *l.lat);
    reader r;
    memset(&r, 0, sizeof r);
    if (payload < 8)
        payload = 8;
    uint8_t pl[4096];
    memset(pl, 'y', sizeof pl);
    uint8_t pk[8192], out[65536], buf[65536];
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    uint64_t interval = (uint64_t)(1e9 / rate), sent = 0, tick = 1000000u;
    while (!stop) {
        uint64_t t = now_ns();
        if (t >= end + 200000000ull)
            break;
        /* send every message whose time has come (usually one) in one write */
        size_t o = 0;
        while (t < end && t0 + sent * interval <= t && o + 200 < sizeof out) {
            memcpy(pl, &t, 8);
            size_t k = mk_publish(pk, "bench/l", pl, payload);
            memcpy(out + o, pk, k);
            o += k;
            sent++;
        }
        if (o)
            write_all(pub, out, o);
        uint64_t next = t0 + sent * interval;
        uint64_t wait = next > t ? next - t : 0;
        if (wait < tick)
            wait = tick; /* send in ticks: keeps this client off the CPU the broker needs */
        if (t >= end)
            wait = 10000000ull;
        struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
        struct pollfd pf = {sub, POLLIN, 0};
        if (ppoll(&pf, 1, &ts, NULL) > 0) {
            ssize_t n = read(sub, buf, sizeof buf);
            if (n > 0)
                reader_feed(&r, buf, (size_t)n, lat_packet, &l);
        }
        if (t >= end && l.n >= sent)
            break;
    }
    qsort(l.lat, l.n, sizeof *l.lat, cmp_u64);
    uint64_t p50 = l.n ? l.lat[l.n / 2] : 0, p99 = l.n ? l.lat[(size_t)((double)l.n * 0.99)] : 0;
    uint64_t p999 = l.n ? l.lat[(size_t)((double)l.n * 0.999)] : 0, mx = l.n ? l.lat[l.n - 1] : 0;
    printf("latency rate=%.0f sent=%llu received=%zu p50_us=%.1f p99_us=%.1f p999_us=%.1f "
           "max_us=%.1f\n",
           rate, (unsigned long long)sent, l.n, (double)p50 / 1e3, (double)p99 / 1e3,
           (double)p999 / 1e3, (double)mx / 1e3);
    free(l.lat);
    close(sub);
    close(pub);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

static void usage(void) {
    fprintf(stderr, "usage: mqws-loadgen hold|throughput|latency --port P [options]\n"
                    "  (see the comment at the top of bench/loadgen.c)\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage();
    const char *mode = argv[1], *sub = NULL, *ready = NULL;
    int clients = 100, sources = 0, verify = 0, subs = 1;
    double hold = 0, seconds = 5, rate = 50000, timeout = 60;
    size_t payload = 64;
    uint64_t window = 4000;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--verify-pub")) {
            verify = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host"))
            host = v;
        else if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--clients"))
            clients = atoi(v);
        else if (!strcmp(a, "--sources"))
            sources = atoi(v);
        else if (!strcmp(a, "--sub"))
            sub = v;
        else if (!strcmp(a, "--hold"))
            hold = atof(v);
        else if (!strcmp(a, "--ready-file"))
            ready = v;
        else if (!strcmp(a, "--timeout"))
            timeout = atof(v);
        else if (!strcmp(a, "--subs"))
            subs = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--payload"))
            payload = (size_t)atol(v);
        else if (!strcmp(a, "--window"))
            window = (uint64_t)atoll(v);
        else if (!strcmp(a, "--rate"))
            rate = atof(v);
        else
            usage();
    }
    if (payload > 4000)
        payload = 4000;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!strcmp(mode, "hold"))
        return run_hold(clients, sources, sub, verify, hold, ready, timeout);
    if (!strcmp(mode, "throughput"))
        return run_throughput(subs, seconds, payload, window);
    if (!strcmp(mode, "latency"))
        return run_latency(rate, seconds, payload);
    usage();
    return 2;
}
