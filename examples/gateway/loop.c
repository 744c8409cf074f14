/* mqws-gateway: the epoll event loop.
 *
 * One thread, one epoll set. Listeners are level-triggered; client sockets are registered once
 * with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET and never modified afterwards:
 *  - input: a readable socket is read until EAGAIN, at most READ_BUDGET reads per pass (the
 *    rest waits on the `ready` list for the next pass, so one fast publisher cannot starve the
 *    others). A connection the broker paused (its own output over out-high, a subscriber queue
 *    it feeds over its high watermark, or all output over max-output) is not read until the
 *    broker resumes it.
 *  - output: after the reads of a pass, every connection the broker reports through
 *    mqws_broker_next_writable() and every connection whose socket became writable gets one
 *    writev() of up to IOV_BATCH pending pieces. If more stays pending, EPOLLOUT (edge) or the
 *    `again` list brings it back on a later pass.
 *
 * Slow readers: the broker stops queueing QoS 0 messages for a connection whose unwritten
 * output reaches out-high (they are dropped and counted), QoS 1/2 go to the session's bounded
 * queue; the gateway stops reading that connection until its output falls to out-low. When a
 * subscriber's queue passes its high watermark the broker pauses the publishers feeding it
 * (QoS 1/2 are not dropped for a connected subscriber) until it drains. When the output of all
 * connections reaches max-output every connection stops being read until it falls to half.
 * Memory is therefore bounded by max-output plus the per-session queue limits (plus one read
 * per paused publisher, held by the broker).
 *
 * Stop (SIGINT / SIGTERM): the listeners close, mqws_broker_close_all() publishes every
 * client's will to the subscribers still connected and then queues DISCONNECT 0x8B; the loop
 * keeps writing (wills first) until every connection is closed or 3 s have passed.
 *
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "mqws/ws.h"

#define READ_BUF_SIZE (64u * 1024u)
#define READ_BUDGET   4
#define IOV_BATCH     1024
#define MAX_EVENTS    512
#define ACCEPT_BUDGET 256

enum { K_LISTEN_TCP = 1, K_LISTEN_WS = 2, K_CONN = 3 };

/* One client socket, in a table indexed by its descriptor (g->conns[fd]; c == NULL: free).
 * 32 bytes: it is part of the per-idle-client cost. */
#define F_WS       0x01u /* accepted on the WebSocket port */
#define F_RD       0x02u /* the socket may hold unread input */
#define F_ON_READY 0x04u /* listed in g->ready */
#define F_ON_AGAIN 0x08u /* listed in g->again */
#define F_WR       0x10u /* writable: EPOLLOUT seen since the last short write */
#define F_LOST     0x20u /* end of stream / error already reported to the broker */
typedef struct gconn {
    uint8_t kind; /* K_CONN; first, as in glisten */
    uint8_t fl;   /* F_* */
    uint8_t family;
    uint8_t pad_;
    uint16_t port;
    uint8_t addr[16];
    mqws_conn *c;
} gconn;

/* A list of descriptors. A closed connection's entries stay until the list is walked and are
 * skipped there (its on_* flag is clear, or the descriptor now belongs to a newer connection
 * whose flag decides), so closing never searches a list. */
typedef struct fdvec {
    int *v;
    size_t n, cap;
} fdvec;

typedef struct glisten {
    uint8_t kind; /* K_LISTEN_*; first, as in gconn */
    uint16_t port;
    int fd;
} glisten;

/* epoll hands back either record: `kind` sits at the same place in both. */
_Static_assert(offsetof(gconn, kind) == 0 && offsetof(glisten, kind) == 0,
               "gconn and glisten must start alike");

struct gw {
    gw_config cfg;
    int ep;
    glisten lis[2];
    int nlis;
    int reserve_fd; /* spare descriptor for EMFILE: accept-and-close */
    mqws_broker *b;
    mqws_session_config scfg;
    mqws_ws_handshake_config hcfg;
    mqws_conn_config tcp_cfg, ws_cfg;
    fdvec ready;  /* connections to read this pass (FIFO) */
    fdvec again;  /* connections with output left after their writev */
    gconn *conns; /* indexed by descriptor; untouched pages cost nothing */
    size_t nconns;
    gw_metrics m;
    const mqws_allocator *al; /* the library's and the connection records' */
    int64_t start_ms;
    int64_t emfile_logged_ms;
    uint8_t rbuf[READ_BUF_SIZE];
};

static void push_ready(gw *g, gconn *k);

int gw_log_level = GW_LOG_INFO;
static volatile sig_atomic_t stop_requested;

void gw_request_stop(void) { stop_requested = 1; }
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void gw_log(int level, const char *fmt, ...) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > gw_log_level)
        return;
    char ts[32];
    struct timespec t;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &t);
    gmtime_r(&t.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %s %s\n", ts, t.tv_nsec / 1000000, names[level], line);
}

mqws_broker *gw_broker(gw *g) { return g->b; }
const gw_metrics *gw_get_metrics(const gw *g) { return &g->m; }
void gw_count_http(gw *g) { g->m.http_requests++; }
int64_t gw_start_ms(const gw *g) { return g->start_ms; }
uint16_t gw_port(const gw *g, int ws) {
    for (int i = 0; i < g->nlis; i++)
        if ((g->lis[i].kind == K_LISTEN_WS) == (ws != 0))
            return g->lis[i].port;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Logging helpers */

static void fmt_addr(const gconn *k, char *out, size_t cap) {
    char a[INET6_ADDRSTRLEN] = "?";
    if (k->family == AF_INET)
        inet_ntop(AF_INET, k->addr, a, sizeof a);
    else if (k->family == AF_INET6)
        inet_ntop(AF_INET6, k->addr, a, sizeof a);
    snprintf(out, cap, k->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, (unsigned)k->port);
}

static const char *proto_name(uint8_t level) {
    switch (level) {
        case 3:
            return "3.1";
        case 4:
            return "3.1.1";
        case 5:
            return "5.0";
        default:
            return "?";
    }
}

/* Client ids are UTF-8 from the network: print them with control bytes and quotes escaped. */
static void fmt_id(mqws_view v, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < v.len && o + 5 < cap; i++) {
        uint8_t ch = v.ptr[i];
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

static void on_event(void *user, const mqws_broker_event *ev) {
    gw *g = user;
    gconn *k = ev->conn_user;
    /* Called for every routed message too: count first, format only what will be logged. */
    switch (ev->type) {
        case MQWS_BROKER_EV_PUBLISH:
            return;
        case MQWS_BROKER_EV_DROP:
            g->m.drops++;
            if (gw_log_level < GW_LOG_DEBUG)
                return;
            break;
        default:
            break;
    }
    char addr[64] = "-", id[160] = "";
    if (k)
        fmt_addr(k, addr, sizeof addr);
    fmt_id(ev->client_id, id, sizeof id);
    const char *tr = k ? ((k->fl & F_WS) ? "ws" : "tcp") : "-";
    switch (ev->type) {
        case MQWS_BROKER_EV_CONNECT:
            g->m.connects++;
            gw_log(GW_LOG_INFO, "connect client=\"%s\" addr=%s proto=%s/%s session_present=%u", id,
                   addr, proto_name(ev->protocol_level), tr, ev->flag);
            break;
        case MQWS_BROKER_EV_REFUSED:
            g->m.refused++;
            gw_log(GW_LOG_INFO, "refused client=\"%s\" addr=%s proto=%s/%s reason=0x%02x", id, addr,
                   proto_name(ev->protocol_level), tr, ev->reason);
            break;
        case MQWS_BROKER_EV_DISCONNECT: {
            g->m.disconnects++;
            const mqws_close_info *ci = ev->close;
            if (ci && ci->error != MQWS_OK)
                g->m.disconnects_err++;
            gw_log(
                GW_LOG_INFO,
                "disconnect client=\"%s\" addr=%s proto=%s/%s reason=0x%02x by=%s why=\"%s\"%s%s",
                id, addr, proto_name(ev->protocol_level), tr, ci ? ci->reason : ev->reason,
                ci && ci->by_peer ? "client" : "server", ci && ci->message ? ci->message : "closed",
                ci && ci->statement ? " statement=" : "", ci && ci->statement ? ci->statement : "");
            break;
        }
        case MQWS_BROKER_EV_DROP:
            gw_log(GW_LOG_DEBUG, "drop client=\"%s\" qos=%u error=%s", id, ev->qos,
                   mqws_error_name(ev->error));
            break;
        case MQWS_BROKER_EV_PAUSE:
            if (!ev->conn) {
                g->m.global_pauses++;
                gw_log(GW_LOG_WARN, "output budget reached: reading paused for every client");
            } else {
                g->m.pauses++;
                gw_log(GW_LOG_DEBUG, "slow consumer client=\"%s\" addr=%s: reading paused", id,
                       addr);
            }
            break;
        case MQWS_BROKER_EV_RESUME:
            if (!ev->conn) {
                gw_log(GW_LOG_WARN, "output budget ok: reading resumed");
                /* Edge-triggered sockets got no new edge while paused: re-read them all. */
                for (size_t i = 0; i < g->nconns; i++) {
                    gconn *q = &g->conns[i];
                    if (q->c && (q->fl & F_RD))
                        push_ready(g, q);
                }
            } else if (k && (k->fl & F_RD)) {
                push_ready(g, k);
            }
            break;
        case MQWS_BROKER_EV_TAKEOVER:
            gw_log(GW_LOG_INFO, "takeover client=\"%s\" addr=%s", id, addr);
            break;
        case MQWS_BROKER_EV_WILL:
            gw_log(GW_LOG_DEBUG, "will client=\"%s\" qos=%u retain=%u", id, ev->qos, ev->retain);
            break;
        case MQWS_BROKER_EV_EXPIRED:
            gw_log(GW_LOG_DEBUG, "session expired client=\"%s\"", id);
            break;
        default:
            break;
    }
}

static int is_loopback(const gconn *k) {
    static const uint8_t v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (k->family == AF_INET)
        return k->addr[0] == 127;
    if (k->family == AF_INET6)
        return memcmp(k->addr, v6_loop, 16) == 0 ||
               (memcmp(k->addr, v4_mapped, 12) == 0 && k->addr[12] == 127);
    return 0;
}

static int on_authenticate(void *user, mqws_conn *c, void *conn_user, const mqws_packet *p) {
    gw *g = user;
    const gconn *k = conn_user;
    (void)c;
    return gw_auth_check(k ? is_loopback(k) : 0, g->cfg.allow_remote != 0, p);
}

/* ------------------------------------------------------------------------------------------ */
/* Setup */

gw *gw_new(const gw_config *cfg) {
    gw *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->cfg = *cfg;
    g->ep = -1;
    g->reserve_fd = -1;
    g->start_ms = now_ms();
    gw_log_level = cfg->log_level;
    g->al = gw_allocator(cfg->slab_allocator != 0);

    mqws_session_config sc = MQWS_SESSION_CONFIG_INIT;
    if (cfg->allow_v31)
        sc.flags |= MQWS_SESSION_ALLOW_V31;
    sc.maximum_packet_size = cfg->max_packet_size;
    sc.connect_timeout_ms = cfg->connect_timeout_ms;
    sc.max_session_expiry = cfg->max_session_expiry;
    sc.queue_max_messages = cfg->queue_max_messages;
    sc.queue_max_bytes = cfg->queue_max_bytes;
    g->scfg = sc;

    mqws_ws_handshake_config hc = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    hc.allocator = g->al;
    hc.timeout_ms = cfg->ws_handshake_timeout_ms;
    g->hcfg = hc;

    mqws_conn_config tc = MQWS_CONN_CONFIG_INIT;
    tc.allocator = g->al;
    tc.session = &g->scfg;
    g->tcp_cfg = tc;
    mqws_conn_config wc = MQWS_CONN_CONFIG_INIT;
    wc.transport = MQWS_CONN_WS;
    wc.allocator = g->al;
    wc.session = &g->scfg;
    wc.ws_handshake = &g->hcfg;
    wc.on_http = gw_on_http;
    g->ws_cfg = wc;

    mqws_broker_config bc = MQWS_BROKER_CONFIG_INIT;
    bc.allocator = g->al;
    bc.session = &g->scfg;
    bc.max_connections = cfg->max_connections;
    bc.max_connecting = cfg->max_connecting;
    bc.connect_rate = cfg->connect_rate;
    bc.max_sessions = cfg->max_sessions;
    bc.client_msg_rate = cfg->client_msg_rate;
    bc.out_high = cfg->out_high;
    bc.out_low = cfg->out_low;
    bc.global_out_high = cfg->max_output;
    bc.max_retained = cfg->max_retained;
    bc.sys_interval_ms = cfg->sys_interval_ms;
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        bc.seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 40;
    }
    mqws_broker_hooks hooks = MQWS_BROKER_HOOKS_INIT;
    hooks.on_event = on_event;
    hooks.authenticate = on_authenticate;
    g->b = mqws_broker_new(&bc, &hooks, g);
    if (!g->b) {
        fprintf(stderr, "mqws-gateway: cannot create the broker (invalid limits?)\n");
        free(g);
        return NULL;
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        g->nconns = rl.rlim_cur == RLIM_INFINITY ? 1048576u : (size_t)rl.rlim_cur;
        if (g->nconns > 4194304u)
            g->nconns = 4194304u;
    } else {
        g->nconns = 1024;
    }
    g->conns = calloc(g->nconns, sizeof *g->conns);
    if (!g->conns) {
        mqws_broker_free(g->b);
        free(g);
        return NULL;
    }
    gw_http_init(g);
    return g;
}

static int open_listener(gw *g, const char *host, int port, int kind) {
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        sl = sizeof *s6;
    } else {
        fprintf(stderr, "mqws-gateway: \"%s\" is not an IPv4 or IPv6 address\n", host);
        return -1;
    }
    const char *what = kind == K_LISTEN_WS ? "WebSocket/HTTP" : "MQTT/TCP";
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "mqws-gateway: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            fprintf(stderr,
                    "mqws-gateway: cannot listen for %s on %s:%d: the port is already in use "
                    "(another broker running?); choose another with --%s-port\n",
                    what, host, port, kind == K_LISTEN_WS ? "ws" : "mqtt");
        else
            fprintf(stderr, "mqws-gateway: cannot listen for %s on %s:%d: %s\n", what, host, port,
                    strerror(e));
        close(fd);
        return -1;
    }
    if (listen(fd, (int)(g->cfg.backlog ? g->cfg.backlog : 128)) != 0) {
        fprintf(stderr, "mqws-gateway: listen on %s:%d: %s\n", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    uint16_t bound = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    glisten *l = &g->lis[g->nlis++];
    l->fd = fd;
    l->kind = (uint8_t)kind;
    l->port = bound;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev);
    int v6 = ss.ss_family == AF_INET6;
    printf("listening %s %s%s%s:%u%s\n", kind == K_LISTEN_WS ? "ws" : "mqtt", v6 ? "[" : "", host,
           v6 ? "]" : "", (unsigned)bound,
           kind == K_LISTEN_WS ? " (WebSocket at /mqtt, any path; HTTP /metrics and /)" : "");
    fflush(stdout);
    return 0;
}

int gw_listen(gw *g) {
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (g->ep < 0) {
        fprintf(stderr, "mqws-gateway: epoll_create1: %s\n", strerror(errno));
        return -1;
    }
    if (g->cfg.mqtt_port >= 0 &&
        open_listener(g, g->cfg.mqtt_host, g->cfg.mqtt_port, K_LISTEN_TCP) != 0)
        return -1;
    if (g->cfg.ws_port >= 0 && open_listener(g, g->cfg.ws_host, g->cfg.ws_port, K_LISTEN_WS) != 0)
        return -1;
    g->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (g->cfg.ports_file[0]) {
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s.tmp", g->cfg.ports_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "mqtt=%u\nws=%u\n", gw_port(g, 0), gw_port(g, 1)) < 0 ||
            fclose(f) != 0 || rename(tmp, g->cfg.ports_file) != 0) {
            fprintf(stderr, "mqws-gateway: cannot write %s: %s\n", g->cfg.ports_file,
                    strerror(errno));
            return -1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Connections */

static int fdvec_push(fdvec *q, int fd) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        int *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return -1;
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = fd;
    return 0;
}

/* Drop the first n entries (walked), keeping what was appended meanwhile. */
static void fdvec_consume(fdvec *q, size_t n) {
    if (n == 0)
        return; /* also: v may still be NULL */
    memmove(q->v, q->v + n, (q->n - n) * sizeof *q->v);
    q->n -= n;
}

static int fd_of(const gw *g, const gconn *k) { return (int)(k - g->conns); }

static void push_ready(gw *g, gconn *k) {
    if (!(k->fl & F_ON_READY) && fdvec_push(&g->ready, fd_of(g, k)) == 0)
        k->fl |= F_ON_READY;
}

static void push_again(gw *g, gconn *k) {
    if (!(k->fl & F_ON_AGAIN) && fdvec_push(&g->again, fd_of(g, k)) == 0)
        k->fl |= F_ON_AGAIN;
}

static void close_conn(gw *g, gconn *k) {
    close(fd_of(g, k));
    if ((k->fl & F_WS))
        g->m.open_ws--;
    else
        g->m.open_tcp--;
    mqws_broker_release(g->b, k->c);
    memset(k, 0, sizeof *k);
}

static void too_many_files(gw *g, int64_t now) {
    g->m.accept_emfile++;
    g->m.accept_refused++;
    if (g->emfile_logged_ms == 0 || now - g->emfile_logged_ms >= 10000) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        gw_log(GW_LOG_ERROR,
               "too many open files: the limit is %llu descriptors per process (hard %llu); new "
               "connections are being closed. Raise it with `ulimit -n N` (up to the hard "
               "limit; beyond, /etc/security/limits.conf or systemd LimitNOFILE=)",
               (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
        g->emfile_logged_ms = now;
    }
    /* Accept with the spare descriptor and close at once, so the backlog does not fill with
     * clients that wait forever. */
    if (g->reserve_fd >= 0) {
        close(g->reserve_fd);
        g->reserve_fd = -1;
    }
}

static void do_accept(gw *g, glisten *l, int64_t now) {
    for (int n = 0; n < ACCEPT_BUDGET; n++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                too_many_files(g, now);
                int tfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
                if (tfd >= 0)
                    close(tfd);
                g->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (tfd < 0)
                    return;
                continue;
            }
            return; /* EAGAIN, or an error that the next pass retries */
        }
        if ((size_t)fd >= g->nconns) {
            too_many_files(g, now);
            close(fd);
            if (g->reserve_fd < 0)
                g->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            continue;
        }
        gconn *k = &g->conns[fd];
        memset(k, 0, sizeof *k);
        k->kind = K_CONN;
        if (l->kind == K_LISTEN_WS)
            k->fl |= F_WS;
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            k->family = AF_INET;
            memcpy(k->addr, &a->sin_addr, 4);
            k->port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            k->family = AF_INET6;
            memcpy(k->addr, &a->sin6_addr, 16);
            k->port = ntohs(a->sin6_port);
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        k->c = mqws_broker_accept(g->b, (k->fl & F_WS) ? &g->ws_cfg : &g->tcp_cfg, k, now);
        if (!k->c) {
            g->m.accept_refused++;
            close(fd);
            memset(k, 0, sizeof *k);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = k};
        if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            mqws_broker_release(g->b, k->c);
            close(fd);
            memset(k, 0, sizeof *k);
            g->m.accept_refused++;
            continue;
        }
        if ((k->fl & F_WS)) {
            g->m.accepted_ws++;
            g->m.open_ws++;
        } else {
            g->m.accepted_tcp++;
            g->m.open_tcp++;
        }
        if (gw_log_level >= GW_LOG_DEBUG) {
            char addr[64];
            fmt_addr(k, addr, sizeof addr);
            gw_log(GW_LOG_DEBUG, "accept addr=%s transport=%s fd=%d", addr,
                   (k->fl & F_WS) ? "ws" : "tcp", fd);
        }
        /* Data may already be waiting (it arrived before EPOLL_CTL_ADD): the first edge is
         * reported anyway since the socket is readable at registration. */
    }
}

/* Read what the socket holds (bounded). Returns 1 if it may hold more. */
static int do_read(gw *g, gconn *k, int64_t now) {
    for (int i = 0; i < READ_BUDGET; i++) {
        if (mqws_broker_paused(g->b) || mqws_broker_conn_paused(k->c) || !mqws_conn_want_read(k->c))
            return 0; /* F_RD stays set: RESUME puts it back on the ready list */
        ssize_t n = read(fd_of(g, k), g->rbuf, sizeof g->rbuf);
        g->m.read_calls++;
        if (n > 0) {
            g->m.bytes_read += (uint64_t)n;
            mqws_broker_recv(g->b, k->c, g->rbuf, (size_t)n, now);
            if ((size_t)n < sizeof g->rbuf) {
                k->fl &= (uint8_t)~F_RD;
                return 0;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            k->fl &= (uint8_t)~F_RD;
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* end of stream or error */
        k->fl &= (uint8_t)~F_RD;
        if (!(k->fl & F_LOST)) {
            k->fl |= F_LOST;
            mqws_broker_eof(g->b, k->c);
        }
        return 0;
    }
    return 1;
}

/* One writev of what is pending. Returns 1 if the conn was closed and freed. */
static int do_write(gw *g, gconn *k) {
    mqws_iovec iov[IOV_BATCH];
    size_t n = mqws_conn_pending(k->c, iov, IOV_BATCH);
    if (n > 0 && !(k->fl & F_LOST)) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += iov[i].len;
        /* mqws_iovec has the layout of struct iovec (core.h). */
        ssize_t w = writev(fd_of(g, k), (const struct iovec *)(const void *)iov, (int)n);
        g->m.writev_calls++;
        if (w >= 0) {
            g->m.bytes_written += (uint64_t)w;
            mqws_broker_sent(g->b, k->c, (size_t)w);
            if ((size_t)w < total)
                k->fl &= (uint8_t)~F_WR; /* the socket is full: EPOLLOUT will say when it drains */
            else if (mqws_conn_want_write(k->c))
                push_again(g, k); /* more than one batch pending */
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            k->fl &= (uint8_t)~F_WR;
        } else if (errno != EINTR) {
            k->fl |= F_LOST;
            mqws_broker_eof(g->b, k->c);
        }
    } else if (n > 0 && (k->fl & F_LOST)) {
        /* The peer is gone: nothing pending can be delivered. */
        mqws_broker_sent(g->b, k->c, mqws_conn_pending_bytes(k->c));
    }
    if (!mqws_conn_want_read(k->c) && !mqws_conn_want_write(k->c)) {
        close_conn(g, k);
        return 1;
    }
    return 0;
}

static void drain_writable(gw *g) {
    mqws_conn *c;
    while ((c = mqws_broker_next_writable(g->b)) != NULL) {
        gconn *k = mqws_broker_conn_user(c);
        if (k)
            do_write(g, k);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Loop */

static void pass(gw *g, struct epoll_event *evs, int n) {
    int64_t now = now_ms();
    mqws_broker_tick(g->b, now);
    for (int i = 0; i < n; i++) {
        void *p = evs[i].data.ptr;
        uint8_t kind = *((uint8_t *)p + offsetof(gconn, kind));
        if (kind == K_LISTEN_TCP || kind == K_LISTEN_WS) {
            if (!stop_requested)
                do_accept(g, (glisten *)p, now);
            continue;
        }
        gconn *k = p;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            k->fl |= F_RD;
            push_ready(g, k);
        }
        if (evs[i].events & EPOLLOUT)
            k->fl |= F_WR;
    }
    /* Reads: everything on the ready list once (conns that still have input go to the back). */
    size_t n_ready = g->ready.n;
    for (size_t i = 0; i < n_ready; i++) {
        gconn *k = &g->conns[g->ready.v[i]];
        if (!k->c || !(k->fl & F_ON_READY))
            continue;
        k->fl &= (uint8_t)~F_ON_READY;
        if (do_read(g, k, now))
            push_ready(g, k);
    }
    fdvec_consume(&g->ready, n_ready);
    /* Writes: connections with new output, then those with output left from earlier passes. */
    drain_writable(g);
    size_t n_again = g->again.n;
    for (size_t i = 0; i < n_again; i++) {
        gconn *k = &g->conns[g->again.v[i]];
        if (!k->c || !(k->fl & F_ON_AGAIN))
            continue;
        k->fl &= (uint8_t)~F_ON_AGAIN;
        if (mqws_conn_want_write(k->c) && (k->fl & F_WR))
            do_write(g, k);
        else if (!mqws_conn_want_read(k->c) && !mqws_conn_want_write(k->c))
            close_conn(g, k);
    }
    fdvec_consume(&g->again, n_again);
    drain_writable(g); /* closes reported by the writes above */
}

static void write_on_epollout(gw *g, struct epoll_event *evs, int n) {
    /* EPOLLOUT after a full socket: write what waited. */
    for (int i = 0; i < n; i++) {
        void *p = evs[i].data.ptr;
        uint8_t kind = *((uint8_t *)p + offsetof(gconn, kind));
        if (kind != K_CONN || !(evs[i].events & EPOLLOUT))
            continue;
        gconn *k = p;
        if (mqws_conn_want_write(k->c))
            push_again(g, k);
    }
}

int gw_run(gw *g) {
    struct epoll_event evs[MAX_EVENTS];
    int64_t stop_deadline = 0;
    for (;;) {
        int64_t now = now_ms();
        int64_t next = mqws_broker_tick(g->b, now);
        drain_writable(g);
        int timeout = 1000;
        if (next != INT64_MAX && next - now < timeout)
            timeout = next <= now ? 0 : (int)(next - now);
        if (g->ready.n || g->again.n)
            timeout = 0;
        if (stop_requested && !stop_deadline) {
            gw_log(GW_LOG_INFO, "stopping: closing listeners, disconnecting %llu connections",
                   (unsigned long long)(g->m.open_tcp + g->m.open_ws));
            for (int i = 0; i < g->nlis; i++) {
                epoll_ctl(g->ep, EPOLL_CTL_DEL, g->lis[i].fd, NULL);
                close(g->lis[i].fd);
            }
            g->nlis = 0;
            mqws_broker_close_all(g->b, 0x8B);
            stop_deadline = now + 3000;
            timeout = 0;
        }
        if (stop_deadline) {
            if (g->m.open_tcp + g->m.open_ws == 0 || now >= stop_deadline)
                break;
            if (timeout > 100)
                timeout = 100;
        }
        int n = epoll_wait(g->ep, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            gw_log(GW_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            return 1;
        }
        uint64_t t0 = now_us();
        write_on_epollout(g, evs, n);
        pass(g, evs, n);
        if (n > 0) {
            g->m.loop_passes++;
            gw_metrics_observe_pass(&g->m, now_us() - t0);
        }
    }
    /* Whatever did not flush in time is closed now. */
    for (size_t i = 0; i < g->nconns; i++)
        if (g->conns[i].c)
            close_conn(g, &g->conns[i]);
    gw_log(GW_LOG_INFO, "stopped");
    return 0;
}

void gw_free(gw *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->nconns; i++)
        if (g->conns[i].c)
            close_conn(g, &g->conns[i]);
    for (int i = 0; i < g->nlis; i++)
        close(g->lis[i].fd);
    mqws_broker_free(g->b);
    if (g->ep >= 0)
        close(g->ep);
    if (g->reserve_fd >= 0)
        close(g->reserve_fd);
    free(g->conns);
    free(g->ready.v);
    free(g->again.v);
    free(g);
}
