/* Opening handshake tests (RFC 6455 §4, RFC 7230 §3), each named after the section it checks.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "test_ws.h"

#define KEY     "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define REQ_TOP "GET /mqtt HTTP/1.1\r\nHost: example.com\r\n"
#define WS_HDRS                                                                                    \
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY                         \
    "\r\nSec-WebSocket-Version: 13\r\n"

enum { FEED_WHOLE, FEED_BYTES, FEED_RANDOM };

typedef struct hs_result {
    int rc;
    size_t consumed;
    char out[1024];
    int status;
    char proto[80];
} hs_result;

/* Feed `req` to a fresh server handshake in the given way; report the outcome. */
static hs_result serve(const mqws_ws_handshake_config *cfg, const char *req, size_t len, int mode,
                       uint64_t seed) {
    hs_result r;
    memset(&r, 0, sizeof r);
    mqws_ws_handshake *hs = mqws_ws_handshake_server_new(cfg, 0);
    CHECK(hs != NULL);
    if (!hs)
        return r;
    size_t pos = 0;
    r.rc = MQWS_WS_HS_MORE;
    while (pos < len && r.rc == MQWS_WS_HS_MORE) {
        size_t n = len - pos;
        if (mode == FEED_BYTES)
            n = 1;
        else if (mode == FEED_RANDOM)
            n = 1 + testlib_rand_below(&seed, n < 40 ? n : 40);
        uint8_t *chunk = malloc(n);
        memcpy(chunk, req + pos, n);
        size_t c = 0;
        r.rc = mqws_ws_handshake_feed(hs, chunk, n, &c);
        free(chunk);
        CHECK(c <= n);
        pos += c;
        if (r.rc == MQWS_WS_HS_MORE)
            CHECK_INT(c, n);
    }
    r.consumed = pos;
    mqws_view o = mqws_ws_handshake_output(hs);
    if (o.len)
        memcpy(r.out, o.ptr, o.len < sizeof r.out - 1 ? o.len : sizeof r.out - 1);
    r.status = mqws_ws_handshake_status(hs);
    mqws_view p = mqws_ws_handshake_subprotocol(hs);
    if (p.len)
        memcpy(r.proto, p.ptr, p.len < sizeof r.proto ? p.len : sizeof r.proto - 1);
    mqws_ws_handshake_free(hs);
    return r;
}

static hs_result serve1(const mqws_ws_handshake_config *cfg, const char *req) {
    return serve(cfg, req, strlen(req), FEED_WHOLE, 0);
}

static void check_refused(const char *req, int status) {
    hs_result r = serve1(NULL, req);
    CHECK_INT(r.rc, MQWS_EHANDSHAKE);
    CHECK_INT(r.status, status);
    char line[40];
    snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    CHECK(strncmp(r.out, line, strlen(line)) == 0);
    CHECK(strstr(r.out, "Connection: close\r\n") != NULL);
}

/* RFC 6455 §1.3 / §4.2.2: the opening handshake example, with subprotocols. */
TEST(rfc6455_4_2_2_server_answers_101_with_accept_and_one_subprotocol) {
    const char *req = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
                      "Origin: http://example.com\r\nSec-WebSocket-Protocol: mqttv3.1, mqtt\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    hs_result r = serve1(NULL, req);
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    CHECK_INT(r.status, 101);
    CHECK_INT(r.consumed, strlen(req));
    CHECK_STR(r.out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT "\r\n"
                     "Sec-WebSocket-Protocol: mqtt\r\n\r\n");
    CHECK_STR(r.proto, "mqtt"); /* our preference order, one value echoed */
}

/* The parser gives the same answer however the request is split. */
TEST(rfc6455_4_2_1_whole_bytewise_random_split_identical) {
    static const char *reqs[] = {
        REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: mqtt\r\n\r\n\x82\x80xxxx",
        REQ_TOP WS_HDRS "\r\n",
        REQ_TOP "Upgrade: websocket\r\nSec-WebSocket-Version: 8\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: bad token\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        size_t len = strlen(reqs[i]) + (i == 0 ? 0 : 0);
        hs_result a = serve(NULL, reqs[i], len, FEED_WHOLE, 0);
        hs_result b = serve(NULL, reqs[i], len, FEED_BYTES, 0);
        CHECK_INT(a.rc, b.rc);
        CHECK_INT(a.consumed, b.consumed);
        CHECK_STR(a.out, b.out);
        for (uint64_t seed = 1; seed < 50; seed++) {
            hs_result c = serve(NULL, reqs[i], len, FEED_RANDOM, seed);
            CHECK_INT(a.rc, c.rc);
            CHECK_INT(a.consumed, c.consumed);
            CHECK_STR(a.out, c.out);
        }
    }
}

/* §4.2.1 items 3 and 4: tokens compared case-insensitively, found inside comma lists and
 * across repeated headers. */
TEST(rfc6455_4_2_1_upgrade_connection_tokens_case_insensitive_in_lists) {
    hs_result r = serve1(NULL, REQ_TOP "Upgrade: foo/1, WebSocket\r\nConnection: keep-alive\r\n"
                                       "connection: foo,  UPGRADE \r\nSec-WebSocket-Key: " KEY
                                       "\r\nsec-websocket-version: 13\r\n\r\n");
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    CHECK_INT(r.status, 101);
    check_refused(REQ_TOP "Upgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: " KEY
                          "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  400);
    check_refused(REQ_TOP "Upgrade: websocketx\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                          "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  400); /* a key but no websocket token: a broken upgrade */
}

/* §4.2.1 item 1: the method must be GET and the version at least HTTP/1.1. */
TEST(rfc6455_4_2_1_method_get_and_http_1_1_required) {
    check_refused("POST /mqtt HTTP/1.1\r\nHost: a\r\n" WS_HDRS "\r\n", 400);
    check_refused("GET /mqtt HTTP/1.0\r\nHost: a\r\n" WS_HDRS "\r\n", 400);
    check_refused("GET /mqtt HTTP/2.0\r\nHost: a\r\n" WS_HDRS "\r\n", 400);
    check_refused("GET  HTTP/1.1\r\nHost: a\r\n" WS_HDRS "\r\n", 400);
    check_refused("GET http://a/mqtt HTTP/1.1\r\nHost: a\r\n" WS_HDRS "\r\n", 400);
}

/* §4.2.1 item 2, RFC 7230 §5.4: exactly one Host header. */
TEST(rfc6455_4_2_1_host_required_once) {
    check_refused("GET / HTTP/1.1\r\n" WS_HDRS "\r\n", 400);
    check_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n" WS_HDRS "\r\n", 400);
}

/* §4.2.1 item 5: the key must be base64 of exactly 16 bytes, given once. */
TEST(rfc6455_4_2_1_key_must_decode_to_16_bytes) {
    const char *up = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
    char req[512];
    static const char *keys[] = {"dGhlIHNhbXBsZSBub25j",
                                 "dGhlIHNhbXBsZSBub25jZTE=", "dGhlIHNhbXBsZSBub25jZQ",
                                 "dGhlIHNhbXBsZSBub25jZR=="};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(req, sizeof req, REQ_TOP "%sSec-WebSocket-Key: %s\r\n\r\n", up, keys[i]);
        check_refused(req, 400);
    }
    snprintf(req, sizeof req, REQ_TOP "%s\r\n", up);
    check_refused(req, 400);
    snprintf(req, sizeof req,
             REQ_TOP "%sSec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Key: " KEY "\r\n\r\n", up);
    check_refused(req, 400);
}

/* §4.2.2 item 4 / §4.4: a version we do not speak gets 426 with Sec-WebSocket-Version: 13. */
TEST(rfc6455_4_4_unsupported_version_gets_426_listing_13) {
    const char *req = REQ_TOP "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                              "\r\nSec-WebSocket-Version: 8\r\n\r\n";
    check_refused(req, 426);
    hs_result r = serve1(NULL, req);
    CHECK(strstr(r.out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
    check_refused(REQ_TOP "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                          "\r\n\r\n",
                  426);
}

/* §4.2.1 item 8 / §11.3.4: all Sec-WebSocket-Protocol headers form one list. */
TEST(rfc6455_11_3_4_subprotocol_headers_merged) {
    hs_result r = serve1(NULL, REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: chat\r\n"
                                               "Sec-WebSocket-Protocol: foo, mqttv3.1\r\n\r\n");
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    CHECK_STR(r.proto, "mqttv3.1");
    CHECK(strstr(r.out, "Sec-WebSocket-Protocol: mqttv3.1\r\n") != NULL);
    /* names are case-sensitive tokens */
    r = serve1(NULL, REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: MQTT\r\n\r\n");
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    CHECK_STR(r.proto, "");
    CHECK(strstr(r.out, "Sec-WebSocket-Protocol") == NULL);
    check_refused(REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: mqtt, a b\r\n\r\n", 400);
}

/* §4.2.2 item 5.4: with no acceptable subprotocol the server answers without the header, or,
 * when configured to require one (MQTT: [MQTT-6.0.0-3]), refuses. */
TEST(rfc6455_4_2_2_no_subprotocol_accepted_unless_required) {
    hs_result r = serve1(NULL, REQ_TOP WS_HDRS "\r\n");
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    CHECK(strstr(r.out, "Sec-WebSocket-Protocol") == NULL);
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.flags = MQWS_WS_HS_REQUIRE_SUBPROTOCOL;
    r = serve1(&cfg, REQ_TOP WS_HDRS "\r\n");
    CHECK_INT(r.rc, MQWS_EHANDSHAKE);
    CHECK_INT(r.status, 400);
    r = serve1(&cfg, REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: chat\r\n\r\n");
    CHECK_INT(r.status, 400);
    r = serve1(&cfg, REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: chat, mqtt\r\n\r\n");
    CHECK_INT(r.status, 101);
    /* "" configures no subprotocols at all: offers are ignored (a raw echo server). */
    mqws_ws_handshake_config none = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    none.subprotocols = "";
    r = serve1(&none, REQ_TOP WS_HDRS "Sec-WebSocket-Protocol: mqtt\r\n\r\n");
    CHECK_INT(r.status, 101);
    CHECK_STR(r.proto, "");
    /* a bad configured name is refused at creation */
    none.subprotocols = "mqtt, a/b";
    CHECK(mqws_ws_handshake_server_new(&none, 0) == NULL);
}

/* §9.1: extensions the client offers (browsers offer permessage-deflate) are declined by not
 * naming them in the response. */
TEST(rfc6455_9_1_extensions_declined_by_omission) {
    hs_result r = serve1(NULL, REQ_TOP WS_HDRS "Sec-WebSocket-Extensions: permessage-deflate; "
                                               "client_max_window_bits\r\n\r\n");
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    CHECK(strstr(r.out, "Extensions") == NULL);
}

static int origin_calls;
static int check_origin(void *user, const uint8_t *origin, size_t len) {
    (void)user;
    origin_calls++;
    if (!origin)
        return 0;
    return len == 20 && memcmp(origin, "https://good.example", 20) == 0 ? 0 : 403;
}
static int check_path(void *user, const uint8_t *path, size_t len) {
    CHECK(user == (void *)&origin_calls);
    if (len == 5 && memcmp(path, "/mqtt", 5) == 0)
        return 0;
    return 404;
}

/* §4.2.1 items 1 and 7, §10.2: path and Origin are judged by the host. */
TEST(rfc6455_10_2_origin_and_path_checked_by_host_callbacks) {
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.check_origin = check_origin;
    cfg.check_path = check_path;
    cfg.user = &origin_calls;
    hs_result r = serve1(&cfg, REQ_TOP WS_HDRS "Origin: https://good.example\r\n\r\n");
    CHECK_INT(r.status, 101);
    r = serve1(&cfg, REQ_TOP WS_HDRS "\r\n");
    CHECK_INT(r.status, 101);
    r = serve1(&cfg, REQ_TOP WS_HDRS "Origin: https://evil.example\r\n\r\n");
    CHECK_INT(r.rc, MQWS_EHANDSHAKE);
    CHECK_INT(r.status, 403);
    CHECK(strncmp(r.out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
    r = serve1(&cfg, "GET /other HTTP/1.1\r\nHost: a\r\n" WS_HDRS "\r\n");
    CHECK_INT(r.status, 404);
    CHECK(strncmp(r.out, "HTTP/1.1 404 Refused\r\n", 22) == 0);
    CHECK_INT(origin_calls, 3);
}

/* §4.2.1: bytes after the request's empty line are the client's first frames; the parser
 * consumes only the head. */
TEST(rfc6455_4_2_1_bytes_after_request_are_first_frames) {
    const char *head = REQ_TOP WS_HDRS "\r\n";
    uint8_t buf[512];
    size_t hl = strlen(head);
    memcpy(buf, head, hl);
    size_t fl = testlib_hex("82 83 01 02 03 04 01 02 03", buf + hl, sizeof buf - hl);
    mqws_ws_handshake *hs = mqws_ws_handshake_server_new(NULL, 0);
    size_t c = 0;
    CHECK_INT(mqws_ws_handshake_feed(hs, buf, hl + fl, &c), MQWS_WS_HS_UPGRADE);
    CHECK_INT(c, hl);
    CHECK_INT(mqws_ws_handshake_feed(hs, buf, 1, &c), MQWS_ESTATE);
    mqws_ws ws;
    CHECK_INT(mqws_ws_init(&ws, NULL), MQWS_OK);
    mqws_ws_event ev;
    CHECK_INT(mqws_ws_recv(&ws, buf + hl, fl, &c, &ev), 1);
    CHECK_INT(ev.type, MQWS_WS_EV_DATA);
    CHECK_MEM(ev.data.ptr, ev.data.len, "\x00\x00\x00", 3);
    mqws_ws_handshake_free(hs);
}

/* Plain HTTP on the same port (a status page, /metrics) is handed to the host. */
TEST(rfc7230_plain_http_request_handed_to_host) {
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.flags = MQWS_WS_HS_ALLOW_HTTP;
    mqws_ws_handshake *hs = mqws_ws_handshake_server_new(&cfg, 0);
    const char *req = "\r\nHEAD /metrics?x=1 HTTP/1.0\r\nHost: gw\r\nAccept:  text/plain \r\n"
                      "X-Empty:\r\n\r\nbody";
    size_t c = 0;
    CHECK_INT(mqws_ws_handshake_feed(hs, (const uint8_t *)req, strlen(req), &c), MQWS_WS_HS_HTTP);
    CHECK_INT(c, strlen(req) - 4);
    CHECK_VIEW(mqws_ws_handshake_method(hs), "HEAD");
    CHECK_VIEW(mqws_ws_handshake_target(hs), "/metrics?x=1");
    CHECK_INT(mqws_ws_handshake_header_count(hs), 3);
    mqws_view n, v;
    CHECK_INT(mqws_ws_handshake_header(hs, "accept", &v), MQWS_OK);
    CHECK_VIEW(v, "text/plain");
    CHECK_INT(mqws_ws_handshake_header_at(hs, 2, &n, &v), MQWS_OK);
    CHECK_VIEW(n, "X-Empty");
    CHECK_INT(v.len, 0);
    CHECK_INT(mqws_ws_handshake_header_at(hs, 3, &n, &v), MQWS_ENOTFOUND);
    CHECK_INT(mqws_ws_handshake_header(hs, "Cookie", &v), MQWS_ENOTFOUND);
    CHECK_INT(mqws_ws_handshake_output(hs).len, 0);
    mqws_ws_handshake_free(hs);
    /* without the flag: 426 Upgrade Required naming websocket */
    check_refused("GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n", 426);
}

/* RFC 7230 §3.2.4 / §3.5: obs-fold, a space before the colon, a bare LF, control characters
 * are refused rather than guessed at. */
TEST(rfc7230_3_malformed_heads_refused_400) {
    check_refused(REQ_TOP WS_HDRS " folded\r\n\r\n", 400);
    check_refused(REQ_TOP WS_HDRS "Bad : x\r\n\r\n", 400);
    check_refused(REQ_TOP WS_HDRS "NoColon\r\n\r\n", 400);
    check_refused(REQ_TOP WS_HDRS "X: a\x01"
                                  "b\r\n\r\n",
                  400);
    check_refused("GET / HTTP/1.1\nHost: x\n\n", 400);
    check_refused("GET / HTTP/1.1\r\nHost: x\n\r\n", 400);
    check_refused("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

/* Bounded size and header count (§10.4, denial of service). */
TEST(rfc6455_10_4_head_size_and_header_count_bounded) {
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.max_headers = 7;
    hs_result r = serve1(&cfg, REQ_TOP WS_HDRS "A: 1\r\nB: 2\r\n\r\n");
    CHECK_INT(r.rc, MQWS_WS_HS_UPGRADE);
    r = serve1(&cfg, REQ_TOP WS_HDRS "A: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    CHECK_INT(r.rc, MQWS_ETOOBIG);
    CHECK_INT(r.status, 400);
    cfg = (mqws_ws_handshake_config)MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.max_bytes = 200;
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    for (int mode = FEED_WHOLE; mode <= FEED_RANDOM; mode++) {
        r = serve(&cfg, big, sizeof big, mode, 7);
        CHECK_INT(r.rc, MQWS_ETOOBIG);
        CHECK_INT(r.consumed, 200);
        CHECK(strncmp(r.out, "HTTP/1.1 400 ", 13) == 0);
    }
    cfg.max_bytes = 10; /* below the minimum */
    CHECK(mqws_ws_handshake_server_new(&cfg, 0) == NULL);
}

/* The time bound: the library has no clock and exposes the deadline instead. */
TEST(rfc6455_10_4_handshake_deadline_exposed) {
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    mqws_ws_handshake *hs = mqws_ws_handshake_server_new(&cfg, 5000);
    CHECK_INT(mqws_ws_handshake_deadline(hs), 15000);
    mqws_ws_handshake_free(hs);
    cfg.timeout_ms = 0;
    hs = mqws_ws_handshake_server_new(&cfg, 5000);
    CHECK(mqws_ws_handshake_deadline(hs) == INT64_MAX);
    mqws_ws_handshake_free(hs);
    cfg.timeout_ms = 10;
    hs = mqws_ws_handshake_server_new(&cfg, INT64_MAX - 5);
    CHECK(mqws_ws_handshake_deadline(hs) == INT64_MAX);
    mqws_ws_handshake_free(hs);
}

/* Errors are sticky: feeding more after a refusal returns the same error. */
TEST(rfc6455_4_2_1_errors_sticky) {
    mqws_ws_handshake *hs = mqws_ws_handshake_server_new(NULL, 0);
    size_t c;
    CHECK_INT(mqws_ws_handshake_feed(hs, (const uint8_t *)"GET / HTTP/1.1\n", 15, &c),
              MQWS_EHANDSHAKE);
    CHECK_INT(mqws_ws_handshake_feed(hs, (const uint8_t *)"\r\n", 2, &c), MQWS_EHANDSHAKE);
    CHECK_INT(c, 0);
    mqws_ws_handshake_free(hs);
    mqws_ws_handshake_free(NULL);
}

/* §4.1: the client's request, with the RFC's sample nonce. */
TEST(rfc6455_4_1_client_request_built) {
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.host = "server.example.com:8080";
    cfg.path = "/mqtt?x=1";
    cfg.origin = "http://example.com";
    cfg.subprotocols = "mqtt, mqttv3.1";
    mqws_ws_handshake *hs =
        mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0);
    CHECK(hs != NULL);
    mqws_view o = mqws_ws_handshake_output(hs);
    const char *want = "GET /mqtt?x=1 HTTP/1.1\r\nHost: server.example.com:8080\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                       "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt, mqttv3.1\r\n"
                       "Origin: http://example.com\r\n\r\n";
    CHECK_MEM(o.ptr, o.len, want, strlen(want));
    mqws_ws_handshake_free(hs);
    cfg.host = "bad\r\nhost";
    CHECK(mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0) == NULL);
    cfg.host = "ok";
    cfg.path = "nopath";
    CHECK(mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0) == NULL);
}

static int client_verify(const char *resp, int flags, char *proto) {
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.host = "h";
    cfg.flags = (uint32_t)flags;
    cfg.subprotocols = "mqtt,mqttv3.1";
    mqws_ws_handshake *hs =
        mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0);
    size_t c = 0;
    int rc = mqws_ws_handshake_feed(hs, (const uint8_t *)resp, strlen(resp), &c);
    if (proto) {
        mqws_view p = mqws_ws_handshake_subprotocol(hs);
        if (p.len)
            memcpy(proto, p.ptr, p.len);
        proto[p.len] = 0;
    }
    mqws_ws_handshake_free(hs);
    return rc;
}

#define RESP_OK "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"

/* §4.1 (client requirements on the server's handshake): 101, Upgrade, Connection, the accept
 * value, no extension we did not offer, a subprotocol we offered. */
TEST(rfc6455_4_1_client_verifies_server_handshake) {
    char proto[80];
    CHECK_INT(client_verify(RESP_OK "Sec-WebSocket-Accept: " ACCEPT "\r\n"
                                    "Sec-WebSocket-Protocol: mqttv3.1\r\n\r\n",
                            0, proto),
              MQWS_WS_HS_UPGRADE);
    CHECK_STR(proto, "mqttv3.1");
    CHECK_INT(client_verify(RESP_OK "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n", 0, proto),
              MQWS_WS_HS_UPGRADE);
    CHECK_STR(proto, "");
    CHECK_INT(client_verify(RESP_OK "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
                            MQWS_WS_HS_REQUIRE_SUBPROTOCOL, NULL),
              MQWS_EHANDSHAKE);
    CHECK_INT(client_verify(RESP_OK "Sec-WebSocket-Accept: x3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", 0,
                            NULL),
              MQWS_EHANDSHAKE);
    CHECK_INT(client_verify(RESP_OK "\r\n", 0, NULL), MQWS_EHANDSHAKE);
    CHECK_INT(client_verify(RESP_OK "Sec-WebSocket-Accept: " ACCEPT
                                    "\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
                            0, NULL),
              MQWS_EHANDSHAKE);
    CHECK_INT(client_verify(RESP_OK "Sec-WebSocket-Accept: " ACCEPT
                                    "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                            0, NULL),
              MQWS_EHANDSHAKE);
    CHECK_INT(client_verify("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
                            0, NULL),
              MQWS_EHANDSHAKE);
    CHECK_INT(client_verify("HTTP/1.0 101 OK\r\n\r\n", 0, NULL), MQWS_EHANDSHAKE);
    /* a refusal: the status is reported */
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.host = "h";
    mqws_ws_handshake *hs =
        mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0);
    const char *r403 = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    size_t c;
    CHECK_INT(mqws_ws_handshake_feed(hs, (const uint8_t *)r403, strlen(r403), &c), MQWS_EHANDSHAKE);
    CHECK_INT(mqws_ws_handshake_status(hs), 403);
    mqws_ws_handshake_free(hs);
}

/* The client's parser, too, answers the same however the response is split, and leaves the
 * server's first frames unconsumed. */
TEST(rfc6455_4_1_client_response_split_feeding_identical) {
    const char *resp = RESP_OK "Sec-WebSocket-Accept: " ACCEPT "\r\n"
                               "Sec-WebSocket-Protocol: mqtt\r\n\r\n\x82\x02hi";
    size_t len = strlen(resp);
    for (uint64_t seed = 0; seed < 40; seed++) {
        mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
        cfg.host = "h";
        mqws_ws_handshake *hs =
            mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0);
        size_t pos = 0;
        int rc = MQWS_WS_HS_MORE;
        uint64_t st = seed + 1;
        while (pos < len && rc == MQWS_WS_HS_MORE) {
            size_t n = seed == 0 ? len - pos : seed == 1 ? 1 : 1 + testlib_rand_below(&st, 30);
            if (n > len - pos)
                n = len - pos;
            size_t c = 0;
            rc = mqws_ws_handshake_feed(hs, (const uint8_t *)resp + pos, n, &c);
            pos += c;
        }
        CHECK_INT(rc, MQWS_WS_HS_UPGRADE);
        CHECK_INT(pos, len - 4);
        CHECK_INT(mqws_ws_handshake_status(hs), 101);
        CHECK_VIEW(mqws_ws_handshake_subprotocol(hs), "mqtt");
        mqws_ws_handshake_free(hs);
    }
}

/* Our client against our server, both roles end to end. */
TEST(rfc6455_4_client_and_server_agree) {
    mqws_ws_handshake_config cc = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cc.host = "localhost";
    cc.subprotocols = "mqttv3.1";
    mqws_ws_handshake *cl =
        mqws_ws_handshake_client_new(&cc, (const uint8_t *)"0123456789abcdef", 0);
    mqws_ws_handshake *sv = mqws_ws_handshake_server_new(NULL, 0);
    mqws_view req = mqws_ws_handshake_output(cl);
    size_t c;
    CHECK_INT(mqws_ws_handshake_feed(sv, req.ptr, req.len, &c), MQWS_WS_HS_UPGRADE);
    mqws_view resp = mqws_ws_handshake_output(sv);
    CHECK_INT(mqws_ws_handshake_feed(cl, resp.ptr, resp.len, &c), MQWS_WS_HS_UPGRADE);
    CHECK_VIEW(mqws_ws_handshake_subprotocol(cl), "mqttv3.1");
    CHECK_VIEW(mqws_ws_handshake_subprotocol(sv), "mqttv3.1");
    mqws_ws_handshake_free(cl);
    mqws_ws_handshake_free(sv);
}

/* Every allocation may fail: creation returns NULL, feed returns MQWS_ENOMEM without consuming
 * and can be retried, nothing leaks. */
TEST(alloc_failure_handshake_every_allocation) {
    const char *req = REQ_TOP WS_HDRS
        "Sec-WebSocket-Protocol: mqtt\r\n"
        "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "\r\n\r\n";
    size_t len = strlen(req);
    int completed = 0;
    for (long n = 1; n < 40 && !completed; n++) {
        testlib_alloc t;
        testlib_alloc_init(&t, n);
        mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
        cfg.allocator = &t.a;
        mqws_ws_handshake *hs = mqws_ws_handshake_server_new(&cfg, 0);
        if (hs) {
            size_t pos = 0;
            int rc = MQWS_WS_HS_MORE, enomem = 0;
            while (pos < len && rc == MQWS_WS_HS_MORE) {
                size_t c = 99, step = len - pos < 100 ? len - pos : 100;
                rc = mqws_ws_handshake_feed(hs, (const uint8_t *)req + pos, step, &c);
                if (rc == MQWS_ENOMEM) {
                    CHECK_INT(c, 0);
                    enomem++;
                    rc = MQWS_WS_HS_MORE; /* retry: the allocator fails only once */
                    continue;
                }
                pos += c;
            }
            CHECK_INT(rc, MQWS_WS_HS_UPGRADE);
            CHECK(strstr((const char *)mqws_ws_handshake_output(hs).ptr, ACCEPT) != NULL);
            completed = t.count < n; /* no allocation failed: every N covered */
            mqws_ws_handshake_free(hs);
        }
        CHECK_ALLOC_CLEAN(&t);
    }
    CHECK(completed);
    /* the client's request buffer too */
    for (long n = 1; n < 10; n++) {
        testlib_alloc t;
        testlib_alloc_init(&t, n);
        mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
        cfg.allocator = &t.a;
        cfg.host = "h";
        mqws_ws_handshake *hs =
            mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0);
        mqws_ws_handshake_free(hs);
        CHECK_ALLOC_CLEAN(&t);
    }
}

void run_handshake_tests(void) {
    RUN(rfc6455_4_2_2_server_answers_101_with_accept_and_one_subprotocol);
    RUN(rfc6455_4_2_1_whole_bytewise_random_split_identical);
    RUN(rfc6455_4_2_1_upgrade_connection_tokens_case_insensitive_in_lists);
    RUN(rfc6455_4_2_1_method_get_and_http_1_1_required);
    RUN(rfc6455_4_2_1_host_required_once);
    RUN(rfc6455_4_2_1_key_must_decode_to_16_bytes);
    RUN(rfc6455_4_4_unsupported_version_gets_426_listing_13);
    RUN(rfc6455_11_3_4_subprotocol_headers_merged);
    RUN(rfc6455_4_2_2_no_subprotocol_accepted_unless_required);
    RUN(rfc6455_9_1_extensions_declined_by_omission);
    RUN(rfc6455_10_2_origin_and_path_checked_by_host_callbacks);
    RUN(rfc6455_4_2_1_bytes_after_request_are_first_frames);
    RUN(rfc7230_plain_http_request_handed_to_host);
    RUN(rfc7230_3_malformed_heads_refused_400);
    RUN(rfc6455_10_4_head_size_and_header_count_bounded);
    RUN(rfc6455_10_4_handshake_deadline_exposed);
    RUN(rfc6455_4_2_1_errors_sticky);
    RUN(rfc6455_4_1_client_request_built);
    RUN(rfc6455_4_1_client_verifies_server_handshake);
    RUN(rfc6455_4_1_client_response_split_feeding_identical);
    RUN(rfc6455_4_client_and_server_agree);
    RUN(alloc_failure_handshake_every_allocation);
}
