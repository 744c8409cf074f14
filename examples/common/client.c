/* Shared pieces of mqws-pub and mqws-sub: options, a poll() loop around one mqws_conn.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mqws/ws.h"

volatile int cli_interrupted;

static void on_signal(int sig) {
    (void)sig;
    cli_interrupted = 1;
}

void cli_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int64_t cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_err(const cli_opts *o, const char *fmt, ...) {
    if (o && o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", o && o->prog ? o->prog : "mqws");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_opts_init(cli_opts *o, const char *prog) {
    memset(o, 0, sizeof *o);
    o->prog = prog;
    o->host = "localhost";
    o->ws_path = "/mqtt";
    o->version = MQWS_MQTT_5;
    o->clean = 1;
    o->keepalive = 60;
    o->connect_timeout_s = 10;
    mqws_props_init(&o->pub_props);
}

void cli_usage_common(void) {
    fputs(
        "Connection:\n"
        "  -h, --host HOST          broker host (default localhost)\n"
        "  -p, --port PORT          broker port (default 1883; 80 with WebSocket)\n"
        "  -w, --url URL            MQTT over WebSocket: ws://host[:port][/path]\n"
        "      --ws                 MQTT over WebSocket to -h/-p (path --ws-path, default /mqtt)\n"
        "      --ws-path PATH       WebSocket request path\n"
        "  -V, --protocol-version V 311 (mqttv311) or 5 (mqttv5, default)\n"
        "  -i, --id ID              client identifier (default: prefix + process id)\n"
        "  -I, --id-prefix PREFIX   client identifier prefix\n"
        "  -u, --username USER      user name\n"
        "  -P, --pw PASS            password (needs -u with MQTT 3.1.1)\n"
        "  -c, --disable-clean-session  persistent session (needs -i); 5.0: see -x\n"
        "  -x, --session-expiry-interval SECONDS  5.0 session expiry (-c default: never)\n"
        "  -k, --keepalive SECONDS  keep alive (default 60, 0 = off)\n"
        "      --connect-timeout S  give up connecting after S seconds (default 10)\n"
        "      --will-topic TOPIC   will message topic\n"
        "      --will-payload TEXT  will message payload\n"
        "      --will-qos QOS       will QoS 0..2\n"
        "      --will-retain        retain the will message\n"
        "  -D, --property CMD ID VALUE...  MQTT 5 property: CMD connect|publish|subscribe|\n"
        "                           disconnect; ID user-property KEY VALUE, or for publish\n"
        "                           message-expiry-interval N, content-type S,\n"
        "                           response-topic S, correlation-data S,\n"
        "                           payload-format-indicator 0|1\n"
        "  -d, --debug              print packet events on stderr\n"
        "      --quiet              no error messages\n"
        "      --help               this text\n",
        stdout);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ws://host[:port][/path], host may be [v6]. */
static int parse_url(cli_opts *o, const char *url) {
    static char host[256];
    const char *p;
    if (strncmp(url, "ws://", 5) == 0) {
        p = url + 5;
    } else if (strncmp(url, "wss://", 6) == 0) {
        cli_err(o, "wss:// (TLS) is not supported by this build; use ws://");
        return -1;
    } else {
        cli_err(o, "invalid WebSocket URL '%s' (expected ws://host[:port][/path])", url);
        return -1;
    }
    const char *hend, *after;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend) {
            cli_err(o, "invalid WebSocket URL '%s'", url);
            return -1;
        }
        p++;
        after = hend + 1;
    } else {
        hend = p + strcspn(p, ":/");
        after = hend;
    }
    size_t hl = (size_t)(hend - p);
    if (hl == 0 || hl >= sizeof host) {
        cli_err(o, "invalid host in WebSocket URL '%s'", url);
        return -1;
    }
    memcpy(host, p, hl);
    host[hl] = 0;
    o->host = host;
    if (*after == ':') {
        char portbuf[8];
        size_t pl = strcspn(after + 1, "/");
        unsigned long v;
        if (pl == 0 || pl >= sizeof portbuf) {
            cli_err(o, "invalid port in WebSocket URL '%s'", url);
            return -1;
        }
        memcpy(portbuf, after + 1, pl);
        portbuf[pl] = 0;
        if (parse_uint(portbuf, 65535, &v) || v == 0) {
            cli_err(o, "invalid port in WebSocket URL '%s'", url);
            return -1;
        }
        o->port = (int)v;
        after += 1 + pl;
    }
    o->ws_path = *after == '/' ? after : "/";
    o->ws = 1;
    return 0;
}

static int add_user_prop(cli_opts *o, cli_user_props *up, const char *k, const char *v) {
    if (up->count >= CLI_MAX_PROPS) {
        cli_err(o, "too many user properties (at most %d per packet)", CLI_MAX_PROPS);
        return -1;
    }
    up->items[up->count].key = mqws_view_cstr(k);
    up->items[up->count].value = mqws_view_cstr(v);
    up->count++;
    return 0;
}

/* -D CMD ID VALUE [VALUE2] */
static int parse_property(cli_opts *o, int argc, char **argv, int *i) {
    if (*i + 3 >= argc) {
        cli_err(o, "-D needs a command, an identifier and a value");
        return -1;
    }
    const char *cmd = argv[*i + 1], *id = argv[*i + 2], *val = argv[*i + 3];
    cli_user_props *up;
    if (strcmp(cmd, "connect") == 0)
        up = &o->connect_props;
    else if (strcmp(cmd, "publish") == 0)
        up = &o->publish_props;
    else if (strcmp(cmd, "subscribe") == 0)
        up = &o->subscribe_props;
    else if (strcmp(cmd, "disconnect") == 0)
        up = &o->disconnect_props;
    else {
        cli_err(o, "-D: unknown command '%s' (connect, publish, subscribe, disconnect)", cmd);
        return -1;
    }
    if (strcmp(id, "user-property") == 0) {
        if (*i + 4 >= argc) {
            cli_err(o, "-D %s user-property needs a key and a value", cmd);
            return -1;
        }
        if (add_user_prop(o, up, val, argv[*i + 4]))
            return -1;
        *i += 5; /* -D CMD user-property KEY VALUE */
        return 1;
    }
    unsigned long n = 0;
    if (strcmp(cmd, "publish") == 0) {
        mqws_props *pp = &o->pub_props;
        if (strcmp(id, "message-expiry-interval") == 0 && !parse_uint(val, UINT32_MAX, &n)) {
            pp->present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
            pp->message_expiry = (uint32_t)n;
        } else if (strcmp(id, "payload-format-indicator") == 0 && !parse_uint(val, 1, &n)) {
            pp->present |= MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR;
            pp->payload_format = (uint8_t)n;
        } else if (strcmp(id, "content-type") == 0) {
            pp->present |= MQWS_PROPF_CONTENT_TYPE;
            pp->content_type = mqws_view_cstr(val);
        } else if (strcmp(id, "response-topic") == 0) {
            pp->present |= MQWS_PROPF_RESPONSE_TOPIC;
            pp->response_topic = mqws_view_cstr(val);
        } else if (strcmp(id, "correlation-data") == 0) {
            pp->present |= MQWS_PROPF_CORRELATION_DATA;
            pp->correlation_data = mqws_view_cstr(val);
        } else {
            cli_err(o, "-D publish: unknown property '%s' or invalid value '%s'", id, val);
            return -1;
        }
    } else if (strcmp(cmd, "connect") == 0 && strcmp(id, "session-expiry-interval") == 0 &&
               !parse_uint(val, UINT32_MAX, &n)) {
        o->session_expiry = (uint32_t)n;
        o->session_expiry_set = 1;
    } else {
        cli_err(o, "-D %s: unknown property '%s' or invalid value '%s'", cmd, id, val);
        return -1;
    }
    *i += 4; /* -D CMD ID VALUE */
    return 1;
}

#define NEED_ARG()                                                                                 \
    do {                                                                                           \
        if (*i + 1 >= argc) {                                                                      \
            cli_err(o, "option %s needs an argument", a);                                          \
            return -1;                                                                             \
        }                                                                                          \
        arg = argv[++*i];                                                                          \
    } while (0)

int cli_parse_common(cli_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i], *arg = NULL;
    unsigned long v;
    if (!strcmp(a, "-h") || !strcmp(a, "--host")) {
        NEED_ARG();
        o->host = arg;
    } else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
        NEED_ARG();
        if (parse_uint(arg, 65535, &v) || v == 0) {
            cli_err(o, "invalid port '%s'", arg);
            return -1;
        }
        o->port = (int)v;
    } else if (!strcmp(a, "-w") || !strcmp(a, "--url") || !strcmp(a, "-L")) {
        NEED_ARG();
        if (parse_url(o, arg))
            return -1;
    } else if (!strcmp(a, "--ws")) {
        o->ws = 1;
    } else if (!strcmp(a, "--ws-path")) {
        NEED_ARG();
        if (arg[0] != '/') {
            cli_err(o, "--ws-path must start with '/'");
            return -1;
        }
        o->ws_path = arg;
    } else if (!strcmp(a, "-V") || !strcmp(a, "--protocol-version")) {
        NEED_ARG();
        if (!strcmp(arg, "311") || !strcmp(arg, "mqttv311") || !strcmp(arg, "4"))
            o->version = MQWS_MQTT_311;
        else if (!strcmp(arg, "5") || !strcmp(arg, "mqttv5"))
            o->version = MQWS_MQTT_5;
        else {
            cli_err(o, "unsupported protocol version '%s' (311 or 5)", arg);
            return -1;
        }
    } else if (!strcmp(a, "-i") || !strcmp(a, "--id")) {
        NEED_ARG();
        o->client_id = arg;
    } else if (!strcmp(a, "-I") || !strcmp(a, "--id-prefix")) {
        NEED_ARG();
        o->id_prefix = arg;
    } else if (!strcmp(a, "-u") || !strcmp(a, "--username")) {
        NEED_ARG();
        o->username = arg;
    } else if (!strcmp(a, "-P") || !strcmp(a, "--pw") || !strcmp(a, "--password")) {
        NEED_ARG();
        o->password = arg;
    } else if (!strcmp(a, "-c") || !strcmp(a, "--disable-clean-session")) {
        o->clean = 0;
    } else if (!strcmp(a, "-x") || !strcmp(a, "--session-expiry-interval")) {
        NEED_ARG();
        if (parse_uint(arg, UINT32_MAX, &v)) {
            cli_err(o, "invalid session expiry interval '%s'", arg);
            return -1;
        }
        o->session_expiry = (uint32_t)v;
        o->session_expiry_set = 1;
    } else if (!strcmp(a, "-k") || !strcmp(a, "--keepalive")) {
        NEED_ARG();
        if (parse_uint(arg, 65535, &v)) {
            cli_err(o, "invalid keepalive '%s' (0..65535)", arg);
            return -1;
        }
        o->keepalive = (unsigned)v;
    } else if (!strcmp(a, "--connect-timeout")) {
        NEED_ARG();
        if (parse_uint(arg, 86400, &v) || v == 0) {
            cli_err(o, "invalid connect timeout '%s'", arg);
            return -1;
        }
        o->connect_timeout_s = (unsigned)v;
    } else if (!strcmp(a, "--will-topic")) {
        NEED_ARG();
        o->will_topic = arg;
    } else if (!strcmp(a, "--will-payload")) {
        NEED_ARG();
        o->will_payload = arg;
    } else if (!strcmp(a, "--will-qos")) {
        NEED_ARG();
        if (parse_uint(arg, 2, &v)) {
            cli_err(o, "invalid will QoS '%s' (0, 1 or 2)", arg);
            return -1;
        }
        o->will_qos = (int)v;
    } else if (!strcmp(a, "--will-retain")) {
        o->will_retain = 1;
    } else if (!strcmp(a, "-D") || !strcmp(a, "--property")) {
        return parse_property(o, argc, argv, i);
    } else if (!strcmp(a, "-d") || !strcmp(a, "--debug")) {
        o->debug = 1;
    } else if (!strcmp(a, "--quiet")) {
        o->quiet = 1;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

int cli_finish_opts(cli_opts *o) {
    if (o->port == 0)
        o->port = o->ws ? 80 : 1883;
    if (o->client_id && o->id_prefix) {
        cli_err(o, "-i and -I cannot be used together");
        return -1;
    }
    if (!o->clean && !o->client_id) {
        cli_err(o, "-c (persistent session) needs a client id (-i)");
        return -1;
    }
    if (o->version != MQWS_MQTT_5) {
        if (o->connect_props.count || o->publish_props.count || o->subscribe_props.count ||
            o->disconnect_props.count || o->pub_props.present || o->session_expiry_set) {
            cli_err(o, "properties (-D, -x) need MQTT 5 (-V 5)");
            return -1;
        }
        if (o->password && !o->username) {
            cli_err(o, "a password (-P) needs a user name (-u) with MQTT 3.1.1");
            return -1;
        }
    }
    if ((o->will_payload || o->will_qos || o->will_retain) && !o->will_topic) {
        cli_err(o, "will options need --will-topic");
        return -1;
    }
    if (!o->client_id) {
        snprintf(o->generated_id, sizeof o->generated_id, "%s%ld",
                 o->id_prefix ? o->id_prefix : "mqws-", (long)getpid());
        o->client_id = o->generated_id;
    }
    if (o->version == MQWS_MQTT_5 && !o->clean && !o->session_expiry_set)
        o->session_expiry = 0xFFFFFFFFu; /* as a 3.1.1 persistent session: no expiry */
    return 0;
}

int cli_read_file(const char *path, uint8_t **buf, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        if (n == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = !b || ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        free(b);
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

static void fill_random(void *user, uint8_t *out, size_t len) {
    (void)user;
    static int fd = -1;
    if (fd < 0)
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    while (fd >= 0 && got < len) {
        ssize_t r = read(fd, out + got, len - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    /* Without /dev/urandom: masking keys still differ per frame (RFC 6455 §10.3 wants
     * unpredictable ones; this fallback is for exotic systems only). */
    for (; got < len; got++)
        out[got] = (uint8_t)(rand() >> 7);
}

static void on_connack(mqws_session *s, const mqws_packet *ack, void *user) {
    cli_client *c = user;
    (void)s;
    c->connack_rc = ack->reason_code;
    c->session_present = ack->session_present;
    if (ack->reason_code == 0) {
        c->connected = 1;
        if (c->o->debug)
            fprintf(stderr, "%s: CONNACK accepted (session present %d)\n", c->o->prog,
                    ack->session_present);
    } else {
        const char *name = mqws_reason_name(ack->reason_code, MQWS_PKT_CONNACK, c->o->version);
        cli_err(c->o, "connection refused: %s (0x%02x)", name ? name : "unknown reason",
                ack->reason_code);
        c->exit_code = CLI_EXIT_REFUSED;
    }
}

static void on_close(mqws_session *s, const mqws_close_info *why, const mqws_packet *disc,
                     void *user) {
    cli_client *c = user;
    (void)s;
    (void)disc;
    if (c->o->debug)
        fprintf(stderr, "%s: closed: %s (error %s, reason 0x%02x, by %s)\n", c->o->prog,
                why->message ? why->message : "-", mqws_error_name(why->error), why->reason,
                why->by_peer ? "peer" : "us");
    if (c->exit_code != CLI_EXIT_OK || c->stop || c->ending)
        return; /* already decided (refusal, or we are ending on purpose) */
    if (why->by_peer && why->error == MQWS_OK) {
        const char *name = mqws_reason_name(why->reason, MQWS_PKT_DISCONNECT, c->o->version);
        if (c->o->version == MQWS_MQTT_5 && disc) {
            cli_err(c->o, "disconnected by the broker: %s (0x%02x)", name ? name : "unknown",
                    why->reason);
            c->exit_code = CLI_EXIT_PROTOCOL;
        } else {
            cli_err(c->o, "connection closed by the broker");
            c->exit_code = CLI_EXIT_NETWORK;
        }
    } else if (why->error == MQWS_EPROTO || why->error == MQWS_EMALFORMED ||
               why->error == MQWS_ETOOBIG || why->error == MQWS_EUTF8 ||
               why->error == MQWS_EHANDSHAKE || why->error == MQWS_EUNSUPPORTED) {
        cli_err(c->o, "protocol error: %s%s%s", why->message ? why->message : "",
                why->statement ? " " : "", why->statement ? why->statement : "");
        c->exit_code = CLI_EXIT_PROTOCOL;
    } else if (why->error != MQWS_OK) {
        cli_err(c->o, "connection lost: %s", why->message ? why->message : "");
        c->exit_code = CLI_EXIT_NETWORK;
    }
}

int cli_client_init(cli_client *c, cli_opts *o, void *app) {
    memset(c, 0, sizeof *c);
    c->o = o;
    c->fd = -1;
    c->app = app;
    c->cb = mqws_callbacks_new(NULL);
    if (!c->cb)
        return -1;
    mqws_callbacks_set_on_connack(c->cb, on_connack);
    mqws_callbacks_set_on_close(c->cb, on_close);
    return 0;
}

void cli_client_free(cli_client *c) {
    if (c->conn)
        mqws_conn_free(c->conn);
    c->conn = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    mqws_callbacks_free(c->cb);
    c->cb = NULL;
}

static int tcp_connect(cli_client *c, int64_t deadline) {
    struct addrinfo hints, *res = NULL;
    char port[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%d", c->o->port);
    int rc = getaddrinfo(c->o->host, port, &hints, &res);
    if (rc != 0) {
        cli_err(c->o, "cannot resolve '%s': %s", c->o->host, gai_strerror(rc));
        return CLI_EXIT_NETWORK;
    }
    int err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            continue;
        }
        struct pollfd pfd = {fd, POLLOUT, 0};
        int64_t left = deadline - cli_now_ms();
        int pr = left > 0 ? poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left)) : 0;
        socklen_t sl = sizeof err;
        if (pr <= 0) {
            err = pr == 0 ? ETIMEDOUT : errno;
            close(fd);
            continue;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err != 0) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        cli_err(c->o, "cannot connect to %s:%d: %s", c->o->host, c->o->port, strerror(err));
        return err == ETIMEDOUT ? CLI_EXIT_TIMEOUT : CLI_EXIT_NETWORK;
    }
    return CLI_EXIT_OK;
}

static int connected_or_done(cli_client *c) { return c->connected; }

int cli_connect(cli_client *c) {
    cli_opts *o = c->o;
    int64_t deadline = cli_now_ms() + (int64_t)o->connect_timeout_s * 1000;
    int rc = tcp_connect(c, deadline);
    if (rc != CLI_EXIT_OK)
        return rc;

    mqws_session_config scfg = MQWS_SESSION_CONFIG_INIT;
    scfg.role = MQWS_SESSION_CLIENT;
    scfg.protocol_level = o->version;
    scfg.connect_timeout_ms = o->connect_timeout_s * 1000u;
    mqws_ws_handshake_config hcfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    char hosthdr[300];
    uint8_t key[16];
    mqws_conn_config ccfg = MQWS_CONN_CONFIG_INIT;
    ccfg.session = &scfg;
    if (o->ws) {
        int v6 = strchr(o->host, ':') != NULL;
        snprintf(hosthdr, sizeof hosthdr, "%s%s%s:%d", v6 ? "[" : "", o->host, v6 ? "]" : "",
                 o->port);
        hcfg.host = hosthdr;
        hcfg.path = o->ws_path;
        fill_random(NULL, key, sizeof key);
        ccfg.transport = MQWS_CONN_WS;
        ccfg.ws_handshake = &hcfg;
        ccfg.ws_key = key;
        ccfg.random = fill_random;
    }
    c->conn = mqws_conn_new(&ccfg, c->cb, c, cli_now_ms());
    if (!c->conn) {
        cli_err(o, "cannot create the connection (out of memory or invalid configuration)");
        return CLI_EXIT_INTERNAL;
    }
    c->s = mqws_conn_session(c->conn);

    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNECT);
    p.protocol_level = o->version;
    p.client_id = mqws_view_cstr(o->client_id);
    p.clean_start = (uint8_t)o->clean;
    p.keep_alive = (uint16_t)o->keepalive;
    if (o->username) {
        p.has_username = 1;
        p.username = mqws_view_cstr(o->username);
    }
    if (o->password) {
        p.has_password = 1;
        p.password = mqws_view_cstr(o->password);
    }
    if (o->will_topic) {
        p.will_flag = 1;
        p.will_topic = mqws_view_cstr(o->will_topic);
        p.will_payload = mqws_view_cstr(o->will_payload ? o->will_payload : "");
        p.will_qos = (uint8_t)o->will_qos;
        p.will_retain = (uint8_t)o->will_retain;
    }
    if (o->version == MQWS_MQTT_5) {
        if (o->session_expiry) {
            p.props.present |= MQWS_PROPF_SESSION_EXPIRY_INTERVAL;
            p.props.session_expiry = o->session_expiry;
        }
        if (o->connect_props.count) {
            p.props.present |= MQWS_PROPF_USER_PROPERTY;
            p.props.user_props = o->connect_props.items;
            p.props.user_prop_count = o->connect_props.count;
        }
    }
    int r = mqws_session_connect(c->s, &p);
    if (r != MQWS_OK) {
        cli_err(o, "invalid CONNECT: %s", mqws_strerror(r));
        return r == MQWS_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
    }
    rc = cli_run(c, connected_or_done, deadline);
    if (rc == CLI_EXIT_TIMEOUT)
        cli_err(o, "timed out connecting to %s:%d", o->host, o->port);
    if (rc == CLI_EXIT_OK && !c->connected)
        rc = c->exit_code != CLI_EXIT_OK ? c->exit_code : CLI_EXIT_NETWORK;
    return rc;
}

/* Write what is pending until the socket would block. */
static int flush_out(cli_client *c) {
    mqws_iovec iov[64];
    for (;;) {
        size_t n = mqws_conn_pending(c->conn, iov, 64);
        if (n == 0)
            return 0;
        /* mqws_iovec has the layout of struct iovec (core.h). */
        ssize_t w = writev(c->fd, (const struct iovec *)(const void *)iov, (int)n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            cli_err(c->o, "write: %s", strerror(errno));
            mqws_conn_eof(c->conn);
            return -1;
        }
        mqws_conn_sent(c->conn, (size_t)w);
    }
}

int cli_run(cli_client *c, int (*done)(cli_client *c), int64_t deadline_ms) {
    static uint8_t buf[65536];
    while (!c->stop) {
        if (cli_interrupted) {
            c->stop = 1;
            break;
        }
        int64_t now = cli_now_ms();
        int64_t next = mqws_conn_tick(c->conn, now);
        if (flush_out(c) < 0 && c->exit_code == CLI_EXIT_OK)
            c->exit_code = CLI_EXIT_NETWORK;
        if (done && done(c))
            return CLI_EXIT_OK;
        if (!mqws_conn_want_read(c->conn) && !mqws_conn_want_write(c->conn))
            return c->exit_code != CLI_EXIT_OK ? c->exit_code : CLI_EXIT_OK;
        if (c->exit_code != CLI_EXIT_OK && mqws_conn_closed(c->conn) &&
            !mqws_conn_want_write(c->conn))
            return c->exit_code;
        if (now >= deadline_ms)
            return CLI_EXIT_TIMEOUT;
        int64_t wake = next < deadline_ms ? next : deadline_ms;
        int64_t wait = wake - now;
        if (wait < 0)
            wait = 0;
        if (wait > 1000)
            wait = 1000;
        struct pollfd pfd = {c->fd, 0, 0};
        if (mqws_conn_want_read(c->conn))
            pfd.events |= POLLIN;
        if (mqws_conn_want_write(c->conn))
            pfd.events |= POLLOUT;
        int pr = poll(&pfd, 1, (int)wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            cli_err(c->o, "poll: %s", strerror(errno));
            return CLI_EXIT_INTERNAL;
        }
        if (pr == 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (r <= 0) {
            if (r < 0 && c->o->debug)
                fprintf(stderr, "%s: read: %s\n", c->o->prog, strerror(errno));
            mqws_conn_eof(c->conn);
            if (c->exit_code == CLI_EXIT_OK && !c->stop && !c->ending) {
                cli_err(c->o, "connection closed by the broker");
                c->exit_code = CLI_EXIT_NETWORK;
            }
            return c->exit_code;
        }
        int64_t used = mqws_conn_recv(c->conn, buf, (size_t)r);
        if (used < 0 && used != MQWS_ECLOSED && c->exit_code == CLI_EXIT_OK) {
            /* on_close normally classified it already. */
            cli_err(c->o, "%s", mqws_strerror((int)used));
            c->exit_code = used == MQWS_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_PROTOCOL;
        }
    }
    return c->exit_code;
}

static int closed_done(cli_client *c) {
    return !mqws_conn_want_read(c->conn) && !mqws_conn_want_write(c->conn);
}

void cli_disconnect(cli_client *c) {
    if (!c->conn || mqws_conn_closed(c->conn))
        return;
    mqws_props props;
    mqws_props_init(&props);
    if (c->o->disconnect_props.count) {
        props.present |= MQWS_PROPF_USER_PROPERTY;
        props.user_props = c->o->disconnect_props.items;
        props.user_prop_count = c->o->disconnect_props.count;
    }
    c->ending = 1;
    int saved_stop = c->stop;
    int saved_int = cli_interrupted;
    c->stop = 0;
    cli_interrupted = 0;
    if (mqws_session_disconnect(c->s, 0x00, c->o->disconnect_props.count ? &props : NULL) ==
        MQWS_OK)
        cli_run(c, closed_done, cli_now_ms() + 2000);
    c->stop = saved_stop;
    cli_interrupted = saved_int;
}
