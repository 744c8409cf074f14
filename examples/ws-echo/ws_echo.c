/* mqws-ws-echo: a raw WebSocket echo server built on the mqws ws module (public API only), so a
 * conformance suite or a browser can exercise the ws layer alone.
 *
 *   mqws-ws-echo [--host 127.0.0.1] [--port 8080] [--subprotocol NAME] [--max-message BYTES]
 *
 * Every complete text or binary message is sent back as one frame; pings are answered; the
 * close handshake is completed and the server closes TCP first (RFC 6455 §7.1.1). Plain HTTP
 * requests get a one-line status page. `--port 0` picks a free port; the line "listening on
 * HOST:PORT" on stdout says which. SIGINT or SIGTERM stop it.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqws/ws.h"

#define MAX_CONNS 1024

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

typedef struct conn {
    int fd;
    mqws_ws_handshake *hs; /* until the handshake is over */
    int upgraded;
    int close_after_flush;
    mqws_ws ws;
    buf out;     /* bytes waiting for the socket */
    size_t sent; /* of out */
    buf msg;     /* the message being received, echoed when complete */
    uint32_t msg_op;
} conn;

static volatile sig_atomic_t stop;
static const char *subprotocol = "";
static uint64_t max_message = 16u * 1024u * 1024u;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int buf_put(buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_free(buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void conn_free(conn *c) {
    close(c->fd);
    mqws_ws_handshake_free(c->hs);
    if (c->upgraded)
        mqws_ws_cleanup(&c->ws);
    buf_free(&c->out);
    buf_free(&c->msg);
    free(c);
}

/* Queue our close frame (once) and close the connection when it is written. */
static void send_close(conn *c, uint32_t code) {
    uint8_t f[MQWS_WS_CONTROL_MAX];
    int n = mqws_ws_close(&c->ws, code, NULL, 0, NULL, f, sizeof f);
    if (n > 0)
        (void)buf_put(&c->out, f, (size_t)n); /* if even this fails, just close */
    c->close_after_flush = 1;
}

/* Feed frames to the engine; returns -1 if the connection must go at once. */
static int on_frames(conn *c, uint8_t *p, size_t n) {
    while (n > 0) {
        mqws_ws_event ev;
        size_t used = 0;
        int r = mqws_ws_recv(&c->ws, p, n, &used, &ev);
        p += used;
        n -= used;
        if (r < 0) {
            if (r == MQWS_ENOMEM)
                return -1;
            send_close(c, mqws_ws_fail_code(&c->ws));
            return 0;
        }
        if (r == 0)
            break;
        if (ev.type == MQWS_WS_EV_DATA) {
            if (ev.flags & MQWS_WS_MSG_START) {
                c->msg.len = 0;
                c->msg_op = ev.opcode;
            }
            if (buf_put(&c->msg, ev.data.ptr, ev.data.len) != 0)
                return -1;
            if ((ev.flags & MQWS_WS_MSG_END) && !mqws_ws_close_sent(&c->ws)) {
                uint8_t h[MQWS_WS_HEADER_MAX];
                int hl = mqws_ws_frame_header(h, c->msg_op, 1, c->msg.len, NULL);
                if (hl < 0 || buf_put(&c->out, h, (size_t)hl) != 0 ||
                    buf_put(&c->out, c->msg.p, c->msg.len) != 0)
                    return -1;
                c->msg.len = 0;
                if (c->msg.cap > 1u << 20)
                    buf_free(&c->msg); /* do not keep a big buffer for an idle connection */
            }
        } else if (ev.type == MQWS_WS_EV_PING && !mqws_ws_close_sent(&c->ws)) {
            uint8_t f[MQWS_WS_CONTROL_MAX];
            int fl =
                mqws_ws_control_frame(MQWS_WS_OP_PONG, ev.data.ptr, ev.data.len, NULL, f, sizeof f);
            if (fl < 0 || buf_put(&c->out, f, (size_t)fl) != 0)
                return -1;
        } else if (ev.type == MQWS_WS_EV_CLOSE) {
            /* §5.5.1: echo the status code; a close without one is answered without one. */
            uint32_t code = ev.code == MQWS_WS_CLOSE_NO_STATUS ? 0 : ev.code;
            if (!mqws_ws_close_sent(&c->ws))
                send_close(c, code);
        }
    }
    if (mqws_ws_tcp_action(&c->ws) == MQWS_WS_TCP_CLOSE_NOW)
        c->close_after_flush = 1;
    return 0;
}

static const char status_page[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 17\r\nConnection: close\r\n\r\n"
                                  "mqws-ws-echo: ok\n";

/* Handle readable bytes; returns -1 to drop the connection. */
static int on_read(conn *c, uint8_t *p, size_t n) {
    if (!c->upgraded) {
        size_t used = 0;
        int r = mqws_ws_handshake_feed(c->hs, p, n, &used);
        if (r == MQWS_WS_HS_MORE)
            return 0;
        if (r == MQWS_ENOMEM)
            return -1;
        mqws_view o = mqws_ws_handshake_output(c->hs);
        if (buf_put(&c->out, o.ptr, o.len) != 0)
            return -1;
        if (r == MQWS_WS_HS_HTTP) {
            if (buf_put(&c->out, status_page, sizeof status_page - 1) != 0)
                return -1;
            c->close_after_flush = 1;
            return 0;
        }
        if (r != MQWS_WS_HS_UPGRADE) {
            c->close_after_flush = 1;
            return 0;
        }
        mqws_ws_handshake_free(c->hs); /* nothing of the handshake is kept */
        c->hs = NULL;
        mqws_ws_config wc = MQWS_WS_CONFIG_INIT;
        wc.max_frame = wc.max_message = max_message;
        if (mqws_ws_init(&c->ws, &wc) != MQWS_OK)
            return -1;
        c->upgraded = 1;
        p += used; /* bytes after the request are the first frames */
        n -= used;
    }
    if (c->close_after_flush)
        return 0;
    return on_frames(c, p, n);
}

/* Write what is pending; returns -1 on a socket error. */
static int flush(conn *c) {
    while (c->sent < c->out.len) {
        ssize_t w = send(c->fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->sent += (size_t)w;
    }
    c->out.len = c->sent = 0;
    if (c->out.cap > 1u << 20)
        buf_free(&c->out);
    return 0;
}

static int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_on(const char *host, const char *port) {
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e != 0) {
        fprintf(stderr, "mqws-ws-echo: %s:%s: %s\n", host, port, gai_strerror(e));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0 || set_nonblock(fd) != 0) {
        fprintf(stderr, "mqws-ws-echo: cannot listen on %s:%s: %s\n", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void usage(FILE *f) {
    fprintf(f, "usage: mqws-ws-echo [--host ADDR] [--port PORT] [--subprotocol NAME]"
               " [--max-message BYTES]\n");
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *port = "8080";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (!strcmp(a, "--host"))
            host = argv[++i];
        else if (!strcmp(a, "--port"))
            port = argv[++i];
        else if (!strcmp(a, "--subprotocol"))
            subprotocol = argv[++i];
        else if (!strcmp(a, "--max-message"))
            max_message = strtoull(argv[++i], NULL, 10);
        else {
            usage(stderr);
            return 2;
        }
    }
    char *end;
    unsigned long pn = strtoul(port, &end, 10);
    if (*end || pn > 65535 || !max_message) {
        fprintf(stderr, "mqws-ws-echo: bad --port or --max-message\n");
        return 2;
    }
    mqws_ws_handshake_config hc = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    hc.subprotocols = subprotocol;
    hc.flags = MQWS_WS_HS_ALLOW_HTTP;
    mqws_ws_handshake *probe = mqws_ws_handshake_server_new(&hc, 0);
    if (!probe) {
        fprintf(stderr, "mqws-ws-echo: bad --subprotocol \"%s\" (a token, at most 64 bytes)\n",
                subprotocol);
        return 2;
    }
    mqws_ws_handshake_free(probe);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = listen_on(host, port);
    if (lfd < 0)
        return 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char hbuf[256], sbuf[32];
    if (getsockname(lfd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof hbuf, sbuf, sizeof sbuf,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        printf("listening on %s:%s\n", hbuf, sbuf);
    fflush(stdout);

    static conn *conns[MAX_CONNS];
    static struct pollfd pfd[MAX_CONNS + 1];
    static uint8_t rbuf[1 << 16];
    size_t nconn = 0;
    while (!stop) {
        int64_t now = now_ms(), next = now + 60000;
        pfd[0].fd = lfd;
        pfd[0].events = nconn < MAX_CONNS ? POLLIN : 0;
        for (size_t i = 0; i < nconn; i++) {
            conn *c = conns[i];
            pfd[i + 1].fd = c->fd;
            /* Backpressure: stop reading from a peer that does not read its echoes. */
            int want_in = !c->close_after_flush && c->out.len - c->sent < (8u << 20);
            pfd[i + 1].events =
                (short)((want_in ? POLLIN : 0) | (c->out.len > c->sent ? POLLOUT : 0));
            pfd[i + 1].revents = 0;
            if (c->hs && mqws_ws_handshake_deadline(c->hs) < next)
                next = mqws_ws_handshake_deadline(c->hs);
        }
        int timeout = next > now ? (int)(next - now) : 0;
        int pr = poll(pfd, nconn + 1, timeout);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            perror("mqws-ws-echo: poll");
            break;
        }
        now = now_ms();
        size_t live = 0;
        for (size_t i = 0; i < nconn; i++) {
            conn *c = conns[i];
            short re = pfd[i + 1].revents;
            int drop = 0;
            if (re & POLLIN) {
                ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
                if (r > 0)
                    drop = on_read(c, rbuf, (size_t)r) != 0;
                else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    drop = 1; /* the peer closed (the normal end for a client in §7.1.1) */
            } else if (re & (POLLERR | POLLHUP | POLLNVAL)) {
                drop = !(re & POLLOUT);
            }
            if (!drop && c->hs && now >= mqws_ws_handshake_deadline(c->hs))
                drop = 1; /* handshake too slow */
            if (!drop)
                drop = flush(c) != 0;
            if (!drop && c->close_after_flush && c->sent == c->out.len)
                drop = 1;
            if (drop)
                conn_free(c);
            else
                conns[live++] = c;
        }
        nconn = live;
        if (pfd[0].revents & POLLIN) {
            for (;;) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0)
                    break;
                conn *c = calloc(1, sizeof *c);
                if (!c || nconn >= MAX_CONNS || set_nonblock(fd) != 0 ||
                    !(c->hs = mqws_ws_handshake_server_new(&hc, now))) {
                    free(c);
                    close(fd);
                    continue;
                }
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c->fd = fd;
                conns[nconn++] = c;
            }
        }
    }
    for (size_t i = 0; i < nconn; i++)
        conn_free(conns[i]);
    close(lfd);
    return 0;
}
