/* Interop driver: the client role resumes a persistent session over a new TCP connection and
 * resends its unacknowledged message with DUP [MQTT-4.4.0-1].
 *
 *   client_resume PORT LEVEL(4|5) QOS(1|2) TOPIC CLIENT-ID
 *
 * 1. connect with clean start 0 (5.0: Session Expiry Interval 300), publish one message at QOS,
 *    write it, and drop the connection before reading anything (no PUBACK / PUBREC seen);
 * 2. connect the same mqws_session again over a new socket: CONNACK must say session present,
 *    the session resends the message (DUP) and the flow completes (nothing left in flight).
 * The harness checks what a subscriber received: at least once for QoS 1, exactly once for 2.
 * Exit 0 on success, 1 on failure (message on stderr). Every wait is bounded.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mqws/session.h"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(const char *what) {
    fprintf(stderr, "client_resume: %s\n", what);
    return 1;
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("client_resume: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int write_all(mqws_session *s, int fd) {
    mqws_iovec iov[32];
    size_t n;
    while ((n = mqws_session_pending(s, iov, 32)) > 0) {
        ssize_t w = writev(fd, (const struct iovec *)(const void *)iov, (int)n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        mqws_session_sent(s, (size_t)w);
    }
    return 0;
}

static int connack_seen, session_present;
static uint8_t connack_rc;

static void on_connack(mqws_session *s, const mqws_packet *p, void *user) {
    (void)s;
    (void)user;
    connack_seen = 1;
    connack_rc = p->reason_code;
    session_present = p->session_present;
}

/* Pump until cond() or the deadline; 0 when cond() held. */
static int pump(mqws_session *s, int fd, int (*cond)(mqws_session *), int64_t deadline) {
    uint8_t buf[4096];
    for (;;) {
        int64_t now = now_ms();
        mqws_session_tick(s, now);
        if (write_all(s, fd) < 0)
            return -1;
        if (cond(s))
            return 0;
        if (now >= deadline || mqws_session_state(s) >= MQWS_SESSION_CLOSING)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, (int)(deadline - now < 200 ? deadline - now : 200));
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr <= 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            return -1;
        if (mqws_session_recv(s, buf, (size_t)r) < 0)
            return -1;
    }
}

static int is_connected(mqws_session *s) { return connack_seen || mqws_session_state(s) > 2; }
static int nothing_in_flight(mqws_session *s) {
    mqws_session_stats st;
    mqws_session_get_stats(s, &st);
    return st.inflight_out == 0 && st.queued_messages == 0 && mqws_session_pending_bytes(s) == 0;
}

int main(int argc, char **argv) {
    if (argc != 6)
        return fail("usage: client_resume PORT LEVEL QOS TOPIC CLIENT-ID");
    int port = atoi(argv[1]), level = atoi(argv[2]), qos = atoi(argv[3]);
    const char *topic = argv[4], *cid = argv[5];
    if ((level != 4 && level != 5) || qos < 1 || qos > 2)
        return fail("bad arguments");

    mqws_callbacks *cb = mqws_callbacks_new(NULL);
    mqws_callbacks_set_on_connack(cb, on_connack);
    mqws_session_config cfg = MQWS_SESSION_CONFIG_INIT;
    cfg.role = MQWS_SESSION_CLIENT;
    cfg.protocol_level = (uint8_t)level;
    mqws_session *s = mqws_session_new(&cfg, cb, NULL, now_ms());
    if (!s)
        return fail("mqws_session_new");

    mqws_packet c;
    mqws_packet_init(&c, MQWS_PKT_CONNECT);
    c.protocol_level = (uint8_t)level;
    c.client_id = mqws_view_cstr(cid);
    c.clean_start = 0;
    c.keep_alive = 30;
    if (level == 5) {
        c.props.present |= MQWS_PROPF_SESSION_EXPIRY_INTERVAL;
        c.props.session_expiry = 300;
    }

    /* 1: publish and vanish before any acknowledgement is read */
    int fd = dial(port);
    if (fd < 0)
        return 1;
    if (mqws_session_connect(s, &c) != MQWS_OK)
        return fail("connect refused by the library");
    if (pump(s, fd, is_connected, now_ms() + 5000) != 0 || connack_rc != 0)
        return fail("first CONNACK");
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr(topic);
    p.qos = (uint8_t)qos;
    p.payload = mqws_view_cstr("resume-msg");
    uint16_t id = 0;
    if (mqws_session_publish(s, &p, NULL, &id) != MQWS_OK || id == 0)
        return fail("publish");
    if (write_all(s, fd) < 0)
        return fail("write");
    close(fd);
    mqws_session_eof(s);
    mqws_session_stats st;
    mqws_session_get_stats(s, &st);
    if (st.inflight_out != 1)
        return fail("the message should still be in flight after the drop");

    /* 2: the same session over a new connection */
    connack_seen = 0;
    fd = dial(port);
    if (fd < 0)
        return 1;
    if (mqws_session_connect(s, &c) != MQWS_OK)
        return fail("reconnect refused by the library");
    if (pump(s, fd, is_connected, now_ms() + 5000) != 0 || connack_rc != 0)
        return fail("second CONNACK");
    if (!session_present)
        return fail("CONNACK session present 0 on resume");
    if (pump(s, fd, nothing_in_flight, now_ms() + 5000) != 0)
        return fail("resent message not acknowledged");
    mqws_session_disconnect(s, 0, NULL);
    write_all(s, fd);
    close(fd);
    mqws_session_free(s);
    mqws_callbacks_free(cb);
    printf("resumed: session present, message %u resent and acknowledged\n", id);
    return 0;
}
