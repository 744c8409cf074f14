/* Interop: mqws's client role (handshake + masked frames) over a real socket, against the
 * python3-websockets echo server that py_server.py starts. Public API only.
 *
 * usage: ws_client_interop PORT       exit 0 on success, 1 on failure
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mqws/ws.h"

static int failures;
static int fd = -1;
static mqws_ws ws;
static uint8_t rbuf[1 << 16];
static uint8_t *pending; /* bytes received after the handshake response, before ws_recv */
static size_t pending_len;

static void check(int cond, const char *what) {
    printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    if (!cond)
        failures++;
}

/* The library has no random source: the host supplies nonces and masking keys. */
static void random_bytes(uint8_t *p, size_t n) {
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(p, 1, n, f) != n) {
        perror("/dev/urandom");
        exit(1);
    }
    fclose(f);
}

static void send_all(const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            perror("send");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Send one frame, masked with a fresh key (RFC 6455 §5.3). */
static void send_frame(uint32_t op, int fin, const void *payload, size_t n) {
    uint8_t key[4];
    random_bytes(key, 4);
    uint8_t *f = malloc(MQWS_WS_HEADER_MAX + n + 1);
    int h = mqws_ws_frame_header(f, op, fin, n, key);
    if (h < 0 || !f) {
        fprintf(stderr, "frame_header: %d\n", h);
        exit(1);
    }
    if (n)
        memcpy(f + h, payload, n);
    mqws_ws_mask(f + h, n, key, 0);
    send_all(f, (size_t)h + n);
    free(f);
}

typedef struct result {
    uint32_t type, opcode, code;
    uint8_t *data;
    size_t len;
} result;

/* Receive until one whole message or control frame; DATA events are gathered. */
static int receive(result *r) {
    memset(r, 0, sizeof *r);
    size_t cap = 0;
    for (;;) {
        uint8_t *p = rbuf;
        ssize_t n;
        if (pending_len) {
            n = (ssize_t)pending_len;
            memcpy(rbuf, pending, pending_len);
            pending_len = 0;
        } else {
            n = recv(fd, rbuf, sizeof rbuf, 0);
        }
        if (n <= 0)
            return -1;
        size_t left = (size_t)n;
        while (left) {
            mqws_ws_event ev;
            size_t used = 0;
            int rc = mqws_ws_recv(&ws, p, left, &used, &ev);
            p += used;
            left -= used;
            if (rc < 0) {
                fprintf(stderr, "mqws_ws_recv: %s\n", mqws_strerror(rc));
                return -1;
            }
            if (rc == 0)
                break;
            if (ev.type == MQWS_WS_EV_DATA) {
                if (r->len + ev.data.len + 1 > cap) {
                    cap = (r->len + ev.data.len + 1) * 2;
                    r->data = realloc(r->data, cap);
                }
                if (ev.data.len)
                    memcpy(r->data + r->len, ev.data.ptr, ev.data.len);
                r->len += ev.data.len;
                if (!(ev.flags & MQWS_WS_MSG_END))
                    continue;
            } else {
                r->data = malloc(ev.data.len + 1);
                if (ev.data.len)
                    memcpy(r->data, ev.data.ptr, ev.data.len);
                r->len = ev.data.len;
            }
            r->type = ev.type;
            r->opcode = ev.opcode;
            r->code = ev.code;
            if (left) { /* keep what follows for the next call */
                pending = malloc(left);
                memcpy(pending, p, left);
                pending_len = left;
            }
            return 0;
        }
    }
}

static void connect_and_handshake(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    uint8_t nonce[16];
    random_bytes(nonce, sizeof nonce);
    mqws_ws_handshake_config hc = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    hc.host = host;
    hc.path = "/mqtt";
    hc.subprotocols = "mqtt";
    hc.flags = MQWS_WS_HS_REQUIRE_SUBPROTOCOL;
    mqws_ws_handshake *hs = mqws_ws_handshake_client_new(&hc, nonce, 0);
    if (!hs)
        exit(1);
    mqws_view req = mqws_ws_handshake_output(hs);
    send_all(req.ptr, req.len);
    int rc = MQWS_WS_HS_MORE;
    while (rc == MQWS_WS_HS_MORE) {
        ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
        if (n <= 0) {
            fprintf(stderr, "closed during handshake\n");
            exit(1);
        }
        size_t used = 0;
        rc = mqws_ws_handshake_feed(hs, rbuf, (size_t)n, &used);
        if (rc == MQWS_WS_HS_UPGRADE && used < (size_t)n) {
            pending_len = (size_t)n - used;
            pending = malloc(pending_len);
            memcpy(pending, rbuf + used, pending_len);
        }
    }
    check(rc == MQWS_WS_HS_UPGRADE, "handshake: 101 and accept value verified");
    mqws_view proto = mqws_ws_handshake_subprotocol(hs);
    check(proto.len == 4 && memcmp(proto.ptr, "mqtt", 4) == 0, "handshake: subprotocol mqtt");
    mqws_ws_handshake_free(hs);
    if (rc != MQWS_WS_HS_UPGRADE)
        exit(1);
    mqws_ws_config wc = MQWS_WS_CONFIG_INIT;
    wc.role = MQWS_WS_CLIENT;
    mqws_ws_init(&ws, &wc);
}

/* Wait for the server to close TCP first (§7.1.1); bounded by SO_RCVTIMEO. */
static void expect_peer_close(void) {
    check(mqws_ws_tcp_action(&ws) == MQWS_WS_TCP_WAIT_PEER, "client waits for the server to close");
    uint8_t b[64];
    ssize_t n;
    while ((n = recv(fd, b, sizeof b, 0)) > 0)
        ;
    check(n == 0, "server closed TCP");
    close(fd);
    mqws_ws_cleanup(&ws);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    connect_and_handshake(port);
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 1u << 20};
    char what[96];
    result r;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *p = malloc(n + 1);
        random_bytes(p, n);
        send_frame(MQWS_WS_OP_BINARY, 1, p, n);
        int ok = receive(&r) == 0 && r.type == MQWS_WS_EV_DATA && r.opcode == MQWS_WS_OP_BINARY &&
                 r.len == n && (!n || !memcmp(r.data, p, n));
        snprintf(what, sizeof what, "binary %zu bytes echoed", n);
        check(ok, what);
        free(r.data);
        for (size_t j = 0; j < n; j++)
            p[j] = (uint8_t)('a' + j % 26);
        send_frame(MQWS_WS_OP_TEXT, 1, p, n);
        ok = receive(&r) == 0 && r.opcode == MQWS_WS_OP_TEXT && r.len == n &&
             (!n || !memcmp(r.data, p, n));
        snprintf(what, sizeof what, "text %zu bytes echoed", n);
        check(ok, what);
        free(r.data);
        free(p);
    }
    send_frame(MQWS_WS_OP_TEXT, 0, "frag", 4);
    send_frame(MQWS_WS_OP_PING, 1, "between", 7);
    send_frame(MQWS_WS_OP_CONT, 0, "mented ", 7);
    send_frame(MQWS_WS_OP_CONT, 1, "t\xc3\xa9xt", 5);
    check(receive(&r) == 0 && r.type == MQWS_WS_EV_PONG && r.len == 7 &&
              !memcmp(r.data, "between", 7),
          "ping between fragments answered");
    free(r.data);
    check(receive(&r) == 0 && r.type == MQWS_WS_EV_DATA && r.len == 16 &&
              !memcmp(r.data, "fragmented t\xc3\xa9xt", 16),
          "fragmented text echoed as one message");
    free(r.data);
    /* we close: the server answers and closes TCP, we wait for it */
    uint8_t f[MQWS_WS_CONTROL_MAX], key[4];
    random_bytes(key, 4);
    int n = mqws_ws_close(&ws, 1000, (const uint8_t *)"done", 4, key, f, sizeof f);
    send_all(f, (size_t)n);
    check(receive(&r) == 0 && r.type == MQWS_WS_EV_CLOSE && r.code == 1000,
          "close 1000 answered by the server");
    free(r.data);
    expect_peer_close();

    /* the server closes: we answer with its code */
    connect_and_handshake(port);
    send_frame(MQWS_WS_OP_TEXT, 1, "please close", 12);
    check(receive(&r) == 0 && r.type == MQWS_WS_EV_CLOSE && r.code == 4001 && r.len == 5 &&
              !memcmp(r.data, "going", 5),
          "server's close 4001 \"going\" received");
    free(r.data);
    random_bytes(key, 4);
    n = mqws_ws_close(&ws, r.code, NULL, 0, key, f, sizeof f);
    send_all(f, (size_t)n);
    expect_peer_close();
    free(pending);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
