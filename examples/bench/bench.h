/* mqws-bench: shared declarations of the load generator (options, presets, report).
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_BENCH_BENCH_H
#define MQWS_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"

#define BENCH_ALL UINT32_MAX /* --pubs / --subs "all": every connection left over */

typedef struct bench_opts {
    cli_opts c;              /* host, port, WebSocket, protocol version, credentials, keep alive */
    const char *preset;      /* name, or NULL */
    uint32_t conns;          /* connections in all (0 = pubs + subs) */
    uint32_t pubs, subs;     /* publishers and subscribers among them (BENCH_ALL: the rest) */
    double rate;             /* messages/s per publisher; 0 = as fast as possible */
    double connect_rate;     /* new connections/s; 0 = no limit */
    uint32_t max_connecting; /* connections between socket() and CONNACK at once */
    uint32_t sources;        /* source addresses 127.0.0.2 .. 127.0.0.(1+sources); 0 = none */
    const char *topic;       /* publish topic; %i = publisher index */
    const char *sub_topic;   /* subscription filter; %i = subscriber index */
    int qos;
    uint32_t size;          /* payload bytes (at least the 32-byte header) */
    double duration;        /* seconds of publishing (0 = until --count) */
    uint64_t count;         /* messages in all (0 = until --duration) */
    double drain;           /* seconds to wait for the last messages */
    uint32_t window;        /* as fast as possible: messages in flight per publisher */
    double storm_at;        /* seconds into the run: drop and reconnect every idle connection */
    int json;               /* summary as JSON on stdout */
    int progress;           /* -1 auto (stderr is a terminal), 0 off, 1 on */
    const char *plot;       /* SVG file, or NULL */
    double interval;        /* ms between timeline samples and progress lines */
    const char *ready_file; /* written when publishing starts (all connected, subscribed) */
} bench_opts;

/* Apply a named preset's values to `o`. -1 if the name is unknown. */
int bench_preset_apply(bench_opts *o, const char *name);
/* One line per preset, for --help. */
void bench_preset_usage(void);

#endif
