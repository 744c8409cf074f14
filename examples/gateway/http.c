/* mqws-gateway: plain HTTP on the WebSocket port.
 *
 * The ws handshake hands every complete non-upgrade request to on_http (conn.h); the answer
 * goes out with mqws_conn_write_raw() and the connection closes once it is written.
 *
 *   GET /metrics      Prometheus text format 0.0.4
 *   GET /stats.json   the main numbers as one JSON object
 *   GET /             a status page that refreshes itself every 2 s
 *   HEAD of the same  headers only
 * Anything else: 404 (unknown path) or 405 (other methods).
 *
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "mqws/ws.h"

static gw *the_gw; /* the example runs one gateway per process */

void gw_http_init(gw *g) { the_gw = g; }

static int view_is(mqws_view v, const char *s) {
    size_t n = strlen(s);
    return v.len == n && memcmp(v.ptr, s, n) == 0;
}

/* The path without its query string. */
static mqws_view path_of(mqws_view target) {
    for (size_t i = 0; i < target.len; i++)
        if (target.ptr[i] == '?') {
            target.len = i;
            break;
        }
    return target;
}

static void answer(mqws_conn *c, int status, const char *reason, const char *ctype,
                   const char *body, size_t body_len, int head_only) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, reason, ctype, body_len);
    if (n < 0 || (size_t)n >= sizeof head)
        return;
    /* write_raw appends to the raw output, which goes out before anything else. */
    if (mqws_conn_write_raw(c, head, (size_t)n) == MQWS_OK && !head_only && body_len)
        mqws_conn_write_raw(c, body, body_len);
}

static void status_page(gw *g, gw_buf *o) {
    const gw_metrics *m = gw_get_metrics(g);
    mqws_broker_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    mqws_broker_stats_get(gw_broker(g), &st);
    gw_buf_printf(
        o,
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
        "content=\"2\"><title>mqws-gateway</title><style>body{font-family:sans-serif;margin:2em}"
        "td{padding:2px 12px}td+td{text-align:right;font-family:monospace}</style></head><body>"
        "<h1>mqws-gateway %s</h1><p>MQTT/TCP port %u, WebSocket port %u (path /mqtt). "
        "<a href=\"/metrics\">/metrics</a> &middot; <a href=\"/stats.json\">/stats.json</a>. "
        "This page refreshes every 2 s.</p><table>",
        mqws_version(), (unsigned)gw_port(g, 0), (unsigned)gw_port(g, 1));
    struct {
        const char *name;
        uint64_t v;
    } rows[] = {
        {"uptime (s)", st.uptime_ms / 1000u},
        {"clients connected", st.clients_connected},
        {"open sockets, TCP", m->open_tcp},
        {"open sockets, WebSocket", m->open_ws},
        {"sessions (online + offline)", st.sessions},
        {"subscriptions", st.subscriptions},
        {"retained messages", st.retained},
        {"messages received", st.messages_in},
        {"deliveries", st.messages_out},
        {"dropped deliveries", st.dropped},
        {"refused connections", st.refused + m->accept_refused},
        {"bytes read", m->bytes_read},
        {"bytes written", m->bytes_written},
        {"unwritten output (bytes)", st.output_pending},
        {"library heap (bytes)", st.mem_total},
        {"process RSS (bytes)", gw_rss_bytes()},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        gw_buf_printf(o, "<tr><td>%s</td><td>%llu</td></tr>", rows[i].name,
                      (unsigned long long)rows[i].v);
    gw_buf_printf(o, "</table></body></html>\n");
}

void gw_on_http(mqws_conn *c, const mqws_ws_handshake *hs, const uint8_t *body, size_t body_len,
                void *user) {
    (void)body;
    (void)body_len;
    (void)user;
    gw *g = the_gw;
    mqws_view method = mqws_ws_handshake_method(hs);
    mqws_view path = path_of(mqws_ws_handshake_target(hs));
    int head_only = view_is(method, "HEAD");
    if (!view_is(method, "GET") && !head_only) {
        static const char msg[] = "method not allowed\n";
        answer(c, 405, "Method Not Allowed", "text/plain", msg, sizeof msg - 1, 0);
        return;
    }
    gw_count_http(g);
    gw_buf o = {0};
    const char *ctype;
    if (view_is(path, "/metrics")) {
        gw_metrics_prometheus(g, &o);
        ctype = "text/plain; version=0.0.4; charset=utf-8";
    } else if (view_is(path, "/stats.json")) {
        gw_metrics_json(g, &o);
        ctype = "application/json";
    } else if (view_is(path, "/") || view_is(path, "/index.html")) {
        status_page(g, &o);
        ctype = "text/html; charset=utf-8";
    } else {
        static const char msg[] = "not found; try /, /metrics, /stats.json, or a WebSocket "
                                  "upgrade (MQTT at /mqtt)\n";
        answer(c, 404, "Not Found", "text/plain", msg, sizeof msg - 1, head_only);
        return;
    }
    if (o.failed) {
        static const char msg[] = "out of memory\n";
        answer(c, 503, "Service Unavailable", "text/plain", msg, sizeof msg - 1, 0);
    } else {
        answer(c, 200, "OK", ctype, o.p, o.len, head_only);
    }
    gw_buf_free(&o);
}
