/* mqws-gateway: defaults, command-line flags and the config file.
 *
 * Every setting has one name, used both as a flag (`--name VALUE`) and as a config file key
 * (`name = VALUE`). Flags are applied in order, so flags after `--config FILE` override the
 * file and flags before it are overridden by it.
 *
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

enum opt_type { T_STR, T_PORT, T_U32, T_U64, T_LEVEL, T_BOOL };

typedef struct opt {
    const char *name;
    int type;
    size_t off;
    size_t size; /* T_STR: buffer size */
    const char *help;
} opt;

#define O(name, type, field, help)                                                                 \
    { name, type, offsetof(gw_config, field), sizeof(((gw_config *)0)->field), help }

static const opt opts[] = {
    O("mqtt-host", T_STR, mqtt_host, "address of the MQTT/TCP listener (127.0.0.1)"),
    O("mqtt-port", T_PORT, mqtt_port, "port of the MQTT/TCP listener (1883; 0 any, -1 off)"),
    O("ws-host", T_STR, ws_host, "address of the WebSocket + HTTP listener (127.0.0.1)"),
    O("ws-port", T_PORT, ws_port, "port of the WebSocket + HTTP listener (8080; 0 any, -1 off)"),
    O("ports-file", T_STR, ports_file, "write \"mqtt=PORT\\nws=PORT\\n\" here once listening"),
    O("log-level", T_LEVEL, log_level, "error, warn, info (default) or debug"),
    O("max-connections", T_U32, max_connections, "connections at once (0 = no limit)"),
    O("max-connecting", T_U32, max_connecting, "connections before CONNACK (0 = no limit)"),
    O("connect-rate", T_U64, connect_rate, "new connections per second (0 = no limit)"),
    O("max-sessions", T_U32, max_sessions, "online + offline sessions (0 = no limit)"),
    O("max-packet-size", T_U32, max_packet_size, "largest MQTT packet accepted (1048576)"),
    O("client-msg-rate", T_U64, client_msg_rate, "PUBLISH per second per client (0 = no limit)"),
    O("out-high", T_U64, out_high, "unwritten bytes per connection: slow consumer (1048576)"),
    O("out-low", T_U64, out_low, "... back to normal at (262144)"),
    O("max-output", T_U64, max_output, "unwritten bytes of all connections (268435456)"),
    O("max-retained", T_U64, max_retained, "retained messages (0 = no limit)"),
    O("queue-max-messages", T_U32, queue_max_messages, "queued QoS 1/2 per session (1000)"),
    O("queue-max-bytes", T_U32, queue_max_bytes, "queued payload bytes per session (1048576)"),
    O("sys-interval", T_U32, sys_interval_ms, "$SYS update interval in ms (10000; 0 off)"),
    O("connect-timeout", T_U32, connect_timeout_ms, "ms to wait for CONNECT (10000)"),
    O("max-session-expiry", T_U32, max_session_expiry, "seconds an offline session lives (86400)"),
    O("ws-handshake-timeout", T_U32, ws_handshake_timeout_ms, "ms for the HTTP head (5000)"),
    O("backlog", T_U32, backlog, "listen(2) backlog (4096)"),
    O("allow-v31", T_BOOL, allow_v31, "accept MQTT 3.1 (MQIsdp) clients: yes/no (yes)"),
    O("slab-allocator", T_BOOL, slab_allocator, "size-class allocator for the library (yes)"),
    O("allow-remote", T_BOOL, allow_remote, "accept clients not on loopback: yes/no (no)"),
    O("password-file", T_STR, password_file, "require user:password from this file"),
};

void gw_config_defaults(gw_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->mqtt_host, "127.0.0.1");
    cfg->mqtt_port = 1883;
    strcpy(cfg->ws_host, "127.0.0.1");
    cfg->ws_port = 8080;
    cfg->log_level = GW_LOG_INFO;
    cfg->max_packet_size = 1048576u;
    cfg->out_high = 1048576u;
    cfg->out_low = 262144u;
    cfg->max_output = 268435456u;
    cfg->queue_max_messages = 1000u;
    cfg->queue_max_bytes = 1048576u;
    cfg->sys_interval_ms = 10000u;
    cfg->connect_timeout_ms = 10000u;
    cfg->max_session_expiry = 86400u;
    cfg->ws_handshake_timeout_ms = 5000u;
    cfg->backlog = 4096u;
    cfg->allow_v31 = 1u;
    cfg->slab_allocator = 1u;
}

void gw_usage(FILE *out) {
    fprintf(out, "usage: mqws-gateway [--config FILE] [--NAME VALUE]...\n"
                 "\n"
                 "An MQTT 3.1/3.1.1/5.0 broker over TCP and WebSocket (any path; /mqtt is the\n"
                 "documented one). The WebSocket port also serves GET /metrics (Prometheus),\n"
                 "GET / (status page) and GET /stats.json. With no arguments it listens on\n"
                 "127.0.0.1:1883 (MQTT) and 127.0.0.1:8080 (WebSocket, HTTP).\n"
                 "\n"
                 "Settings are given as --NAME VALUE or --NAME=VALUE, or as `NAME = VALUE` lines\n"
                 "(# starts a comment) in the file of --config; later ones win.\n"
                 "\n"
                 "  --config FILE           read settings from FILE\n"
                 "  --help                  this text\n");
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        fprintf(out, "  --%-21s %s\n", opts[i].name, opts[i].help);
    fprintf(out, "\nSIGINT or SIGTERM: stop accepting, DISCONNECT 0x8B to every client, exit 0.\n"
                 "Exit status 1: cannot start (port in use, ...); 2: bad flags or config file.\n");
}

static const opt *find_opt(const char *name) {
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    char *end;
    if (*s == '\0' || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Apply one setting. Returns 0 or -1 (message printed, with `where` as the origin). */
static int set_opt(gw_config *cfg, const opt *o, const char *val, const char *where) {
    char *base = (char *)cfg + o->off;
    uint64_t v;
    switch (o->type) {
        case T_STR:
            if (strlen(val) >= o->size) {
                fprintf(stderr, "mqws-gateway: %s: value of %s is too long\n", where, o->name);
                return -1;
            }
            memcpy(base, val, strlen(val) + 1);
            return 0;
        case T_PORT: {
            int p;
            if (strcmp(val, "-1") == 0 || strcmp(val, "off") == 0)
                p = -1;
            else if (parse_u64(val, 65535, &v) == 0)
                p = (int)v;
            else
                break;
            memcpy(base, &p, sizeof p);
            return 0;
        }
        case T_U32:
            if (parse_u64(val, UINT32_MAX, &v) != 0)
                break;
            {
                uint32_t u = (uint32_t)v;
                memcpy(base, &u, sizeof u);
            }
            return 0;
        case T_U64:
            if (parse_u64(val, UINT64_MAX, &v) != 0)
                break;
            memcpy(base, &v, sizeof v);
            return 0;
        case T_BOOL: {
            uint32_t u;
            if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1"))
                u = 1;
            else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0"))
                u = 0;
            else
                break;
            memcpy(base, &u, sizeof u);
            return 0;
        }
        case T_LEVEL: {
            static const char *names[] = {"error", "warn", "info", "debug"};
            for (int i = 0; i < 4; i++)
                if (strcmp(val, names[i]) == 0) {
                    memcpy(base, &i, sizeof i);
                    return 0;
                }
            break;
        }
        default:
            break;
    }
    fprintf(stderr, "mqws-gateway: %s: bad value \"%s\" for %s\n", where, val, o->name);
    return -1;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int load_file(gw_config *cfg, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mqws-gateway: cannot read config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[512], where[320];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "mqws-gateway: %s: expected `name = value`\n", where);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        const opt *o = find_opt(key);
        if (!o) {
            fprintf(stderr, "mqws-gateway: %s: unknown setting \"%s\"\n", where, key);
            rc = -1;
            break;
        }
        if (set_opt(cfg, o, val, where) != 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int gw_config_parse_args(gw_config *cfg, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            gw_usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "mqws-gateway: unexpected argument \"%s\"\n", a);
            goto usage;
        }
        const char *name = a + 2, *val = NULL;
        char namebuf[64];
        const char *eq = strchr(name, '=');
        if (eq) { /* --name=value */
            size_t n = (size_t)(eq - name);
            if (n >= sizeof namebuf)
                n = sizeof namebuf - 1;
            memcpy(namebuf, name, n);
            namebuf[n] = '\0';
            name = namebuf;
            val = eq + 1;
        }
        const opt *o = find_opt(name);
        if (!o && strcmp(name, "config") != 0) {
            fprintf(stderr, "mqws-gateway: unknown flag \"%s\"\n", a);
            goto usage;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mqws-gateway: flag %s needs a value\n", a);
                goto usage;
            }
            val = argv[++i];
        }
        if (!o) {
            if (load_file(cfg, val) != 0)
                return -1;
            continue;
        }
        if (set_opt(cfg, o, val, "command line") != 0)
            goto usage;
    }
    if (cfg->out_high && cfg->out_low >= cfg->out_high) {
        fprintf(stderr, "mqws-gateway: out-low must be below out-high\n");
        return -1;
    }
    if (cfg->mqtt_port < 0 && cfg->ws_port < 0) {
        fprintf(stderr, "mqws-gateway: both listeners are off\n");
        return -1;
    }
    return 0;
usage:
    fprintf(stderr, "\n");
    gw_usage(stderr);
    return -1;
}
