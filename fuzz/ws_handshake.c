/* Fuzz target: the WebSocket opening-handshake parser, both roles.
 * Byte 0 picks role, flags and how the input is split; the rest is the peer's bytes.
 * Oracles: ASan/UBSan, no leak, and the same outcome for whole and split feeding.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "mqws/ws.h"

typedef struct outcome {
    int rc;
    size_t consumed;
    int status;
    size_t out_len, headers;
    char out[512];
} outcome;

static int path_cb(void *user, const uint8_t *p, size_t n) {
    (void)user;
    return n > 1 && p[1] == 'x' ? 404 : 0;
}
static int origin_cb(void *user, const uint8_t *p, size_t n) {
    (void)user;
    return p && n > 0 && p[0] == 'e' ? 403 : 0;
}

static outcome run(const uint8_t *data, size_t size, uint8_t sel, size_t step) {
    outcome o;
    memset(&o, 0, sizeof o);
    mqws_ws_handshake_config cfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    cfg.flags = (sel >> 1) & 3u;
    cfg.max_bytes = (sel & 8) ? 256 : 8192;
    cfg.max_headers = (sel & 8) ? 8 : 64;
    cfg.check_path = path_cb;
    cfg.check_origin = origin_cb;
    cfg.host = "example.com";
    mqws_ws_handshake *hs =
        (sel & 1) ? mqws_ws_handshake_client_new(&cfg, (const uint8_t *)"the sample nonce", 0)
                  : mqws_ws_handshake_server_new(&cfg, 0);
    if (!hs)
        abort();
    size_t pos = 0;
    o.rc = MQWS_WS_HS_MORE;
    while (pos < size && o.rc == MQWS_WS_HS_MORE) {
        size_t n = size - pos < step ? size - pos : step;
        uint8_t *chunk = malloc(n);
        memcpy(chunk, data + pos, n);
        size_t c = 0;
        o.rc = mqws_ws_handshake_feed(hs, chunk, n, &c);
        free(chunk);
        if (c > n || (o.rc == MQWS_WS_HS_MORE && c != n))
            abort();
        pos += c;
    }
    o.consumed = pos;
    o.status = mqws_ws_handshake_status(hs);
    o.headers = mqws_ws_handshake_header_count(hs);
    for (size_t i = 0; i < o.headers; i++) {
        mqws_view k, v;
        if (mqws_ws_handshake_header_at(hs, i, &k, &v) != MQWS_OK || k.len == 0)
            abort();
    }
    mqws_view out = mqws_ws_handshake_output(hs);
    o.out_len = out.len;
    if (out.len)
        memcpy(o.out, out.ptr, out.len < sizeof o.out ? out.len : sizeof o.out);
    if (!(sel & 1) && o.rc == MQWS_WS_HS_UPGRADE && memcmp(out.ptr, "HTTP/1.1 101 ", 13) != 0)
        abort();
    if (!(sel & 1) && o.rc < 0 && o.rc != MQWS_ENOMEM && (o.status < 400 || o.status > 499))
        abort();
    mqws_ws_handshake_free(hs);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    outcome a = run(data, size, sel, size ? size : 1);
    outcome b = run(data, size, sel, 1 + (sel >> 4));
    if (a.rc != b.rc || a.consumed != b.consumed || a.status != b.status ||
        a.out_len != b.out_len || a.headers != b.headers || memcmp(a.out, b.out, sizeof a.out))
        abort();
    return 0;
}
