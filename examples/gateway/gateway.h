/* mqws-gateway: shared declarations of the example gateway (the .c files of examples/gateway).
 *
 * The gateway is an epoll host around the mqws broker (include/mqws/broker.h): it owns the
 * sockets, the clock and the event loop; the library owns MQTT, WebSocket and routing. Only
 * the public API of the library is used.
 *
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_GATEWAY_H
#define MQWS_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mqws/broker.h"

/* Log levels (--log-level). */
enum gw_log_level { GW_LOG_ERROR = 0, GW_LOG_WARN = 1, GW_LOG_INFO = 2, GW_LOG_DEBUG = 3 };

/* Everything the flags and the config file can set (config.c holds the defaults). */
typedef struct gw_config {
    char mqtt_host[64];
    int mqtt_port; /* -1: no MQTT/TCP listener; 0: any free port */
    char ws_host[64];
    int ws_port; /* -1: no WebSocket/HTTP listener; 0: any free port */
    char ports_file[256];
    int log_level;
    uint32_t max_connections;
    uint32_t max_connecting;
    uint64_t connect_rate;
    uint32_t max_sessions;
    uint32_t max_packet_size;
    uint64_t client_msg_rate;
    uint64_t out_high;
    uint64_t out_low;
    uint64_t max_output;
    uint64_t max_retained;
    uint32_t queue_max_messages;
    uint32_t queue_max_bytes;
    uint32_t sys_interval_ms;
    uint32_t connect_timeout_ms;
    uint32_t max_session_expiry;
    uint32_t ws_handshake_timeout_ms;
    uint32_t backlog;
    uint32_t allow_v31;
    uint32_t slab_allocator;
    uint32_t allow_remote;
    char password_file[256];
} gw_config;

/* config.c */
void gw_config_defaults(gw_config *cfg);
/* Parse argv; on --help prints usage and returns 1; on error prints why and returns -1. */
int gw_config_parse_args(gw_config *cfg, int argc, char **argv);
void gw_usage(FILE *out);

/* Gateway-level counters (the broker keeps its own, see mqws_broker_stats). */
#define GW_LAT_BUCKETS 12
typedef struct gw_metrics {
    uint64_t accepted_tcp;
    uint64_t accepted_ws;
    uint64_t accept_refused;  /* broker_accept returned NULL, or EMFILE */
    uint64_t accept_emfile;   /* accept() failed for lack of descriptors */
    uint64_t connects;        /* CONNACK 0x00 sent */
    uint64_t refused;         /* CONNECT refused */
    uint64_t disconnects;     /* connected clients gone */
    uint64_t disconnects_err; /* ... with an error (protocol, timeout, lost) */
    uint64_t drops;           /* EV_DROP reported */
    uint64_t pauses;          /* EV_PAUSE reported (per connection) */
    uint64_t global_pauses;   /* EV_PAUSE with conn NULL */
    uint64_t http_requests;   /* plain HTTP requests served */
    uint64_t read_calls;      /* read(2) */
    uint64_t writev_calls;    /* writev(2) */
    uint64_t bytes_read;      /* socket bytes, WebSocket framing included */
    uint64_t bytes_written;   /* socket bytes, WebSocket framing included */
    uint64_t loop_passes;     /* epoll_wait returns with work */
    uint64_t open_tcp;        /* open sockets now, per listener */
    uint64_t open_ws;
    /* Loop-pass latency histogram: time from epoll_wait's return to the end of the pass's
     * writes, i.e. how long routed output waits inside the gateway. Upper bounds in µs. */
    uint64_t lat_count[GW_LAT_BUCKETS];
    uint64_t lat_sum_us;
    uint64_t lat_n;
} gw_metrics;

extern const uint32_t gw_lat_bounds_us[GW_LAT_BUCKETS - 1];

typedef struct gw gw;

/* loop.c */
gw *gw_new(const gw_config *cfg);
int gw_listen(gw *g); /* 0, or -1 after printing why */
int gw_run(gw *g);    /* returns the exit status */
void gw_free(gw *g);
void gw_request_stop(void);
mqws_broker *gw_broker(gw *g);
const gw_metrics *gw_get_metrics(const gw *g);
void gw_count_http(gw *g);
int64_t gw_start_ms(const gw *g);
uint16_t gw_port(const gw *g, int ws);

/* log (loop.c) */
extern int gw_log_level;
void gw_log(int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* metrics.c: append text to a growable buffer. */
typedef struct gw_buf {
    char *p;
    size_t len, cap;
    int failed;
} gw_buf;

void gw_buf_printf(gw_buf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void gw_buf_free(gw_buf *b);
void gw_metrics_observe_pass(gw_metrics *m, uint64_t us);
/* Process memory from /proc/self/status (bytes; 0 if unknown). */
uint64_t gw_rss_bytes(void);
uint64_t gw_open_fds(void);
void gw_metrics_prometheus(gw *g, gw_buf *out);
void gw_metrics_json(gw *g, gw_buf *out);

/* alloc.c: the allocator given to the library (size classes; see alloc.c). */
const mqws_allocator *gw_allocator(int use_slab);
void gw_allocator_stats(uint64_t *chunk_bytes, uint64_t *in_use, uint64_t *large);
void gw_allocator_free_all(void);

/* auth.c: the authenticate hook's decision (0 or a 5.0 reason code >= 0x80). */
int gw_auth_load(const char *path); /* 0, or -1 after printing why */
void gw_auth_free(void);
int gw_auth_check(int loopback, int allow_remote, const mqws_packet *connect_or_auth);

/* http.c: the on_http callback of WebSocket-port connections. */
void gw_http_init(gw *g);
struct mqws_ws_handshake;
void gw_on_http(mqws_conn *c, const mqws_ws_handshake *hs, const uint8_t *body, size_t body_len,
                void *user);

#endif /* MQWS_GATEWAY_H */
