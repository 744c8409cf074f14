/* mqws-gateway: counters, the loop latency histogram, Prometheus text and JSON renderings.
 *
 * Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` lines, then samples;
 * counters end in `_total`, a histogram has cumulative `_bucket{le="..."}` samples ending with
 * `le="+Inf"`, plus `_sum` and `_count`.
 *
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gateway.h"

const uint32_t gw_lat_bounds_us[GW_LAT_BUCKETS - 1] = {25,   50,   100,   250,   500,   1000,
                                                       2500, 5000, 10000, 25000, 100000};

void gw_buf_printf(gw_buf *b, const char *fmt, ...) {
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

void gw_buf_free(gw_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

void gw_metrics_observe_pass(gw_metrics *m, uint64_t us) {
    size_t i = 0;
    while (i < GW_LAT_BUCKETS - 1 && us > gw_lat_bounds_us[i])
        i++;
    m->lat_count[i]++;
    m->lat_sum_us += us;
    m->lat_n++;
}

static uint64_t status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    size_t kl = strlen(key);
    uint64_t v = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtoull(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

uint64_t gw_rss_bytes(void) { return status_kib("VmRSS") * 1024u; }

uint64_t gw_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory itself */
}

static void metric(gw_buf *o, const char *name, const char *type, const char *help, uint64_t v) {
    gw_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  (unsigned long long)v);
}

void gw_metrics_prometheus(gw *g, gw_buf *o) {
    const gw_metrics *m = gw_get_metrics(g);
    mqws_broker_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    mqws_broker_stats_get(gw_broker(g), &st);

    gw_buf_printf(o,
                  "# HELP mqws_connections Open client sockets by transport.\n"
                  "# TYPE mqws_connections gauge\n"
                  "mqws_connections{transport=\"tcp\"} %llu\n"
                  "mqws_connections{transport=\"ws\"} %llu\n",
                  (unsigned long long)m->open_tcp, (unsigned long long)m->open_ws);
    metric(o, "mqws_clients_connected", "gauge", "Clients with an accepted CONNECT.",
           st.clients_connected);
    metric(o, "mqws_clients_connecting", "gauge", "Connections whose CONNECT is not answered.",
           st.connecting);
    metric(o, "mqws_sessions", "gauge", "Session records, online and offline.", st.sessions);
    metric(o, "mqws_sessions_offline", "gauge", "Persistent sessions without a connection.",
           st.sessions_offline);
    metric(o, "mqws_subscriptions", "gauge", "Subscriptions (shared memberships included).",
           st.subscriptions);
    metric(o, "mqws_retained_messages", "gauge", "Retained messages.", st.retained);
    gw_buf_printf(o,
                  "# HELP mqws_accepted_total Sockets accepted by transport.\n"
                  "# TYPE mqws_accepted_total counter\n"
                  "mqws_accepted_total{transport=\"tcp\"} %llu\n"
                  "mqws_accepted_total{transport=\"ws\"} %llu\n",
                  (unsigned long long)m->accepted_tcp, (unsigned long long)m->accepted_ws);
    metric(o, "mqws_connects_total", "counter", "CONNECTs accepted.", m->connects);
    metric(o, "mqws_disconnects_total", "counter", "Connected clients that went away.",
           m->disconnects);
    metric(o, "mqws_disconnects_error_total", "counter",
           "Disconnects caused by an error (protocol, timeout, lost connection).",
           m->disconnects_err);
    gw_buf_printf(o,
                  "# HELP mqws_rejections_total Connections refused, by cause.\n"
                  "# TYPE mqws_rejections_total counter\n"
                  "mqws_rejections_total{cause=\"connack\"} %llu\n"
                  "mqws_rejections_total{cause=\"accept\"} %llu\n"
                  "mqws_rejections_total{cause=\"emfile\"} %llu\n",
                  (unsigned long long)st.refused, (unsigned long long)m->accept_refused,
                  (unsigned long long)m->accept_emfile);
    metric(o, "mqws_messages_received_total", "counter", "PUBLISH packets received.",
           st.messages_in);
    metric(o, "mqws_messages_sent_total", "counter", "Deliveries queued to subscribers.",
           st.messages_out);
    metric(o, "mqws_messages_dropped_total", "counter",
           "Deliveries dropped (slow consumer, queue full, too big, expired).", st.dropped);
    metric(o, "mqws_messages_rate_limited_total", "counter", "PUBLISH over a rate limit.",
           st.rate_limited);
    metric(o, "mqws_messages_dropped_online_total", "counter",
           "QoS 1/2 deliveries refused by a connected subscriber's full queue (despite the "
           "backpressure).",
           st.dropped_online);
    metric(o, "mqws_messages_dropped_offline_total", "counter",
           "QoS 1/2 deliveries refused by an offline session's full queue.", st.dropped_offline);
    metric(o, "mqws_backpressure_pauses_total", "counter",
           "Publishers paused because a subscriber queue they feed passed its high watermark.",
           st.backpressure_pauses);
    metric(o, "mqws_bytes_received_total", "counter", "Socket bytes read (framing included).",
           m->bytes_read);
    metric(o, "mqws_bytes_sent_total", "counter", "Socket bytes written (framing included).",
           m->bytes_written);
    metric(o, "mqws_read_calls_total", "counter", "read(2) calls.", m->read_calls);
    metric(o, "mqws_writev_calls_total", "counter", "writev(2) calls.", m->writev_calls);
    metric(o, "mqws_slow_consumer_pauses_total", "counter",
           "Times a connection was paused (its output reached out-high, or it feeds a "
           "subscriber queue over its high watermark).",
           m->pauses);
    metric(o, "mqws_output_budget_pauses_total", "counter",
           "Times all output together reached max-output.", m->global_pauses);
    metric(o, "mqws_output_pending_bytes", "gauge", "Unwritten output of all connections.",
           st.output_pending);
    metric(o, "mqws_http_requests_total", "counter", "Plain HTTP requests served.",
           m->http_requests);
    gw_buf_printf(o,
                  "# HELP mqws_library_heap_bytes Heap held by the mqws library, by part.\n"
                  "# TYPE mqws_library_heap_bytes gauge\n"
                  "mqws_library_heap_bytes{part=\"index\"} %llu\n"
                  "mqws_library_heap_bytes{part=\"retained\"} %llu\n"
                  "mqws_library_heap_bytes{part=\"sessions\"} %llu\n"
                  "mqws_library_heap_bytes{part=\"broker\"} %llu\n",
                  (unsigned long long)st.mem_index, (unsigned long long)st.mem_retained,
                  (unsigned long long)st.mem_sessions, (unsigned long long)st.mem_broker);
    {
        uint64_t chunks, in_use, large;
        gw_allocator_stats(&chunks, &in_use, &large);
        metric(o, "mqws_allocator_chunk_bytes", "gauge",
               "Bytes the size-class allocator took from malloc in 64 KiB chunks (kept).", chunks);
        metric(o, "mqws_allocator_in_use_bytes", "gauge",
               "Bytes handed out by the size-class allocator (rounded; large blocks included).",
               in_use);
    }
    metric(o, "mqws_process_resident_memory_bytes", "gauge", "Resident set size (VmRSS).",
           gw_rss_bytes());
    metric(o, "mqws_process_open_fds", "gauge", "Open file descriptors.", gw_open_fds());
    {
        struct rusage ru;
        double cpu = 0;
        if (getrusage(RUSAGE_SELF, &ru) == 0)
            cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                  ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
        gw_buf_printf(o,
                      "# HELP mqws_process_cpu_seconds_total User and system CPU time used.\n"
                      "# TYPE mqws_process_cpu_seconds_total counter\n"
                      "mqws_process_cpu_seconds_total %.3f\n",
                      cpu);
    }
    metric(o, "mqws_uptime_seconds", "gauge", "Seconds since start.", st.uptime_ms / 1000u);

    gw_buf_printf(o, "# HELP mqws_loop_pass_seconds Time from epoll_wait's return to the end of "
                     "the pass's writes (how long routed output waits in the gateway).\n"
                     "# TYPE mqws_loop_pass_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i < GW_LAT_BUCKETS; i++) {
        cum += m->lat_count[i];
        if (i < GW_LAT_BUCKETS - 1)
            gw_buf_printf(o, "mqws_loop_pass_seconds_bucket{le=\"%g\"} %llu\n",
                          (double)gw_lat_bounds_us[i] / 1e6, (unsigned long long)cum);
        else
            gw_buf_printf(o, "mqws_loop_pass_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cum);
    }
    gw_buf_printf(o, "mqws_loop_pass_seconds_sum %.6f\nmqws_loop_pass_seconds_count %llu\n",
                  (double)m->lat_sum_us / 1e6, (unsigned long long)m->lat_n);
}

void gw_metrics_json(gw *g, gw_buf *o) {
    const gw_metrics *m = gw_get_metrics(g);
    mqws_broker_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    mqws_broker_stats_get(gw_broker(g), &st);
    gw_buf_printf(
        o,
        "{\"uptime_s\":%llu,\"connections_tcp\":%llu,\"connections_ws\":%llu,"
        "\"clients_connected\":%llu,\"sessions\":%llu,\"subscriptions\":%llu,\"retained\":%llu,"
        "\"messages_in\":%llu,\"messages_out\":%llu,\"dropped\":%llu,\"refused\":%llu,"
        "\"bytes_in\":%llu,\"bytes_out\":%llu,\"rss_bytes\":%llu,\"heap_bytes\":%llu,"
        "\"open_fds\":%llu,\"output_pending\":%llu}\n",
        (unsigned long long)(st.uptime_ms / 1000u), (unsigned long long)m->open_tcp,
        (unsigned long long)m->open_ws, (unsigned long long)st.clients_connected,
        (unsigned long long)st.sessions, (unsigned long long)st.subscriptions,
        (unsigned long long)st.retained, (unsigned long long)st.messages_in,
        (unsigned long long)st.messages_out, (unsigned long long)st.dropped,
        (unsigned long long)(st.refused + m->accept_refused), (unsigned long long)m->bytes_read,
        (unsigned long long)m->bytes_written, (unsigned long long)gw_rss_bytes(),
        (unsigned long long)st.mem_total, (unsigned long long)gw_open_fds(),
        (unsigned long long)st.output_pending);
}
