/* mqws-bench presets: workloads seen in real deployments, sized for one small machine (flags
 * given on the command line override every value set here).
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "bench.h"

typedef struct preset {
    const char *name;
    const char *what;
    void (*apply)(bench_opts *o);
} preset;

/* Many mostly idle devices, each reporting once a minute over QoS 1; one backend subscriber.
 * The figure of merit is memory per connection and keep-alive cost, not throughput. */
static void sleepy(bench_opts *o) {
    o->conns = 10000;
    o->subs = 1;
    o->pubs = BENCH_ALL;
    o->rate = 1.0 / 60.0;
    o->qos = 1;
    o->size = 64;
    o->topic = "sensors/%i/temp";
    o->sub_topic = "sensors/+/temp";
    o->duration = 30;
    o->connect_rate = 2000;
    o->c.keepalive = 120;
}

/* Devices streaming telemetry once a second, one backend subscriber on a wildcard. */
static void chatty(bench_opts *o) {
    o->conns = 1001;
    o->pubs = BENCH_ALL;
    o->subs = 1;
    o->rate = 1.0;
    o->qos = 1;
    o->size = 200;
    o->topic = "telemetry/%i/data";
    o->sub_topic = "telemetry/#";
    o->duration = 20;
    o->connect_rate = 1000;
}

/* One publisher broadcasting on one topic to many subscribers (dashboards, config push). */
static void fanout(bench_opts *o) {
    o->conns = 1001;
    o->pubs = 1;
    o->subs = BENCH_ALL;
    o->rate = 10;
    o->qos = 1;
    o->size = 256;
    o->topic = "broadcast/all";
    o->sub_topic = "broadcast/all";
    o->duration = 20;
    o->connect_rate = 1000;
}

/* A fleet reconnecting at once (after a network or broker outage): every idle device connects
 * with no ramp, then all drop and reconnect together while a probe pair measures latency. */
static void burst(bench_opts *o) {
    o->conns = 5000;
    o->pubs = 1;
    o->subs = 1;
    o->rate = 100;
    o->qos = 1;
    o->size = 64;
    o->topic = "burst/probe";
    o->sub_topic = "burst/probe";
    o->duration = 8;
    o->connect_rate = 0;
    o->max_connecting = 5000;
    o->storm_at = 3;
}

static const preset presets[] = {
    {"sleepy-sensors", "10,000 connections, each publishing 1 msg/min (QoS 1), 1 subscriber",
     sleepy},
    {"chatty-telemetry", "1,000 publishers at 1 msg/s each (QoS 1, 200 B) -> 1 wildcard subscriber",
     chatty},
    {"fan-out", "1 publisher at 10 msg/s (QoS 1, 256 B) -> 1,000 subscribers of one topic", fanout},
    {"burst-connect",
     "5,000 devices connect at once, all drop and reconnect at once at 3 s; "
     "probe pair at 100 msg/s",
     burst},
};

int bench_preset_apply(bench_opts *o, const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) {
            presets[i].apply(o);
            o->preset = presets[i].name;
            return 0;
        }
    return -1;
}

void bench_preset_usage(void) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        printf("  %-18s %s\n", presets[i].name, presets[i].what);
}
