/* Fuzz target: the WebSocket frame decoder, both roles.
 * Byte 0 picks role, binary-only, small limits and the split size; the rest is frames.
 * Oracles: ASan/UBSan, views inside the input, MSG_START/END pairing, and identical event
 * streams for whole, byte-by-byte and fixed-step feeding.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "mqws/ws.h"

typedef struct summary {
    uint64_t hash;
    uint64_t events;
    int err;
    uint32_t fail_code;
} summary;

static void mix(summary *s, uint64_t v) { s->hash = (s->hash ^ v) * 0x100000001b3ull; }

static summary run(const uint8_t *data, size_t size, uint8_t sel, size_t step) {
    summary s = {0xcbf29ce484222325ull, 0, 0, 0};
    mqws_ws_config cfg = MQWS_WS_CONFIG_INIT;
    cfg.role = sel & 1 ? MQWS_WS_CLIENT : MQWS_WS_SERVER;
    cfg.flags = sel & 2 ? MQWS_WS_BINARY_ONLY : 0;
    if (sel & 4) {
        cfg.max_frame = 300;
        cfg.max_message = 1000;
    }
    mqws_ws ws;
    if (mqws_ws_init(&ws, &cfg) != MQWS_OK)
        abort();
    int in_msg = 0;
    summary msg = {0, 0, 0, 0};
    size_t pos = 0;
    while (pos < size && !s.err) {
        size_t n = size - pos < step ? size - pos : step;
        uint8_t *chunk = malloc(n);
        memcpy(chunk, data + pos, n);
        size_t off = 0;
        while (off < n) {
            mqws_ws_event ev;
            size_t c = 0;
            int r = mqws_ws_recv(&ws, chunk + off, n - off, &c, &ev);
            if (c > n - off)
                abort();
            off += c;
            if (r < 0) {
                s.err = r;
                s.fail_code = mqws_ws_fail_code(&ws);
                if (s.fail_code != 1002 && s.fail_code != 1003 && s.fail_code != 1007 &&
                    s.fail_code != 1009)
                    abort();
                if (mqws_ws_tcp_action(&ws) != MQWS_WS_TCP_CLOSE_NOW)
                    abort();
                break;
            }
            if (r == 0) {
                if (off != n)
                    abort();
                break;
            }
            s.events++;
            if (ev.type == MQWS_WS_EV_DATA) {
                if (ev.data.len && (ev.data.ptr < chunk || ev.data.ptr + ev.data.len > chunk + n))
                    abort(); /* zero-copy: data events point into the input */
                if (!!(ev.flags & MQWS_WS_MSG_START) == in_msg)
                    abort();
                in_msg = !(ev.flags & MQWS_WS_MSG_END);
                /* Chunking depends on the split, and an error may cut a message short at
                 * different points: only complete messages count. */
                if (ev.flags & MQWS_WS_MSG_START)
                    msg.hash = 0xcbf29ce484222325ull;
                for (size_t i = 0; i < ev.data.len; i++)
                    mix(&msg, ev.data.ptr[i]);
                s.events--;
                if (ev.flags & MQWS_WS_MSG_END) {
                    mix(&s, msg.hash);
                    mix(&s, 0x1000u + ev.opcode);
                    s.events++;
                }
            } else {
                if (ev.data.len > 125)
                    abort();
                mix(&s, 0x2000u + ev.type * 0x10000u + ev.code);
                for (size_t i = 0; i < ev.data.len; i++)
                    mix(&s, ev.data.ptr[i]);
            }
        }
        free(chunk);
        pos += n;
    }
    if (s.err == 0 && mqws_ws_close_received(&ws)) {
        uint8_t f[MQWS_WS_CONTROL_MAX];
        const uint8_t key[4] = {1, 2, 3, 4};
        if (mqws_ws_close(&ws, 1000, NULL, 0, sel & 1 ? key : NULL, f, sizeof f) < 0)
            abort();
        if (mqws_ws_tcp_action(&ws) == MQWS_WS_TCP_KEEP)
            abort();
    }
    mqws_ws_cleanup(&ws);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    summary a = run(data, size, sel, size ? size : 1);
    summary b = run(data, size, sel, 1);
    summary c = run(data, size, sel, 1 + (sel >> 3));
    /* The error position may differ by a partial header; the outcome may not. */
    if (a.hash != b.hash || a.hash != c.hash || a.err != b.err || a.err != c.err ||
        a.events != b.events || a.events != c.events || a.fail_code != c.fail_code)
        abort();
    return 0;
}
