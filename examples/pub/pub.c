/* mqws-pub: publish MQTT messages (3.1.1 or 5.0, TCP or WebSocket), like mosquitto_pub.
 *
 *   mqws-pub -h host -p 1883 -t topic -m text [-q 1] [-r] [-V 311|5]
 *   mqws-pub -w ws://host:8080/mqtt -t topic -f file
 *   producer | mqws-pub -t topic -l        (one message per line)
 *
 * Exit codes: see examples/common/client.h and docs/pubsub.md.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

typedef struct pub_app {
    const char *topic;
    int qos;
    int retain;
    unsigned long repeat;
    int failed; /* a PUBACK / PUBREC / PUBCOMP refused a message */
    unsigned long acked;
} pub_app;

static void usage(void) {
    fputs("Usage: mqws-pub [options] -t TOPIC (-m MESSAGE | -f FILE | -s | -l | -n)\n"
          "Publish: \n"
          "  -t, --topic TOPIC        topic to publish to\n"
          "  -m, --message TEXT       the payload\n"
          "  -f, --file FILE          the payload is the whole file\n"
          "  -s, --stdin-file         the payload is the whole of stdin\n"
          "  -l, --stdin-line         one message per line of stdin (without the newline)\n"
          "  -n, --null-message       an empty payload\n"
          "  -q, --qos QOS            0 (default), 1 or 2\n"
          "  -r, --retain             retain the message\n"
          "      --repeat N           publish the message N times\n",
          stdout);
    cli_usage_common();
    fputs("Exit status: 0 ok, 1 usage, 2 network, 3 connection refused, 4 protocol error or\n"
          "message refused, 5 timeout, 6 internal error.\n",
          stdout);
}

static void on_ack(mqws_session *s, const mqws_packet *ack, void *user) {
    cli_client *c = user;
    pub_app *app = c->app;
    (void)s;
    if (ack->type == MQWS_PKT_PUBREC && ack->reason_code < 0x80)
        return; /* PUBREL / PUBCOMP follow */
    if (ack->reason_code >= 0x80) {
        const char *name = mqws_reason_name(ack->reason_code, ack->type, c->o->version);
        cli_err(c->o, "message %u refused: %s (0x%02x)", ack->packet_id, name ? name : "?",
                ack->reason_code);
        app->failed = 1;
    } else if (c->o->debug) {
        fprintf(stderr, "%s: %s for message %u\n", c->o->prog, mqws_packet_type_name(ack->type),
                ack->packet_id);
    }
    app->acked++;
}

static void on_drop(mqws_session *s, const mqws_packet *pub, int why, void *user) {
    cli_client *c = user;
    pub_app *app = c->app;
    (void)s;
    (void)pub;
    cli_err(c->o, "message dropped: %s", mqws_strerror(why));
    app->failed = 1;
}

/* Everything handed over: nothing queued, in flight or unwritten. */
static int all_done(cli_client *c) {
    mqws_session_stats st;
    mqws_session_get_stats(c->s, &st);
    return st.inflight_out == 0 && st.queued_messages == 0 && mqws_conn_pending_bytes(c->conn) == 0;
}

static int written(cli_client *c) { return mqws_conn_pending_bytes(c->conn) == 0; }

static int publish_one(cli_client *c, const uint8_t *payload, size_t len) {
    pub_app *app = c->app;
    cli_opts *o = c->o;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = mqws_view_cstr(app->topic);
    p.qos = (uint8_t)app->qos;
    p.retain = (uint8_t)app->retain;
    p.payload.ptr = payload;
    p.payload.len = len;
    if (o->version == MQWS_MQTT_5) {
        p.props = o->pub_props;
        if (o->publish_props.count) {
            p.props.present |= MQWS_PROPF_USER_PROPERTY;
            p.props.user_props = o->publish_props.items;
            p.props.user_prop_count = o->publish_props.count;
        }
    }
    for (;;) {
        uint16_t id = 0;
        int r = mqws_session_publish(c->s, &p, NULL, &id);
        if (r == MQWS_OK) {
            if (o->debug)
                fprintf(stderr, "%s: PUBLISH queued (%zu bytes, id %u)\n", o->prog, len, id);
            return CLI_EXIT_OK;
        }
        if (r == MQWS_ELIMIT) {
            /* The send queue is full: let acknowledgements drain it. */
            int rc = cli_run(c, all_done, INT64_MAX);
            if (rc != CLI_EXIT_OK || c->stop)
                return rc != CLI_EXIT_OK ? rc : CLI_EXIT_NETWORK;
            continue;
        }
        if (r == MQWS_EINVAL) {
            cli_err(o, "invalid message (topic '%s', QoS %d)", app->topic, app->qos);
            return CLI_EXIT_USAGE;
        }
        if (r == MQWS_ETOOBIG) {
            cli_err(o, "message of %zu bytes is larger than the broker accepts", len);
            return CLI_EXIT_PROTOCOL;
        }
        cli_err(o, "publish failed: %s", mqws_strerror(r));
        return r == MQWS_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_NETWORK;
    }
}

int main(int argc, char **argv) {
    cli_opts o;
    pub_app app;
    enum { SRC_NONE, SRC_MSG, SRC_FILE, SRC_STDIN, SRC_LINES, SRC_NULL } src = SRC_NONE;
    const char *msg = NULL, *file = NULL;
    int nsrc = 0;
    cli_opts_init(&o, "mqws-pub");
    memset(&app, 0, sizeof app);
    app.repeat = 1;

    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        int r = cli_parse_common(&o, argc, argv, &i);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        int has_arg = i + 1 < argc;
        if (!strcmp(a, "--help")) {
            usage();
            return CLI_EXIT_OK;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--topic")) && has_arg) {
            app.topic = argv[++i];
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--message")) && has_arg) {
            msg = argv[++i];
            src = SRC_MSG;
            nsrc++;
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && has_arg) {
            file = argv[++i];
            src = SRC_FILE;
            nsrc++;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--stdin-file")) {
            src = SRC_STDIN;
            nsrc++;
        } else if (!strcmp(a, "-l") || !strcmp(a, "--stdin-line")) {
            src = SRC_LINES;
            nsrc++;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--null-message")) {
            src = SRC_NULL;
            nsrc++;
        } else if ((!strcmp(a, "-q") || !strcmp(a, "--qos")) && has_arg) {
            const char *q = argv[++i];
            if (strlen(q) != 1 || q[0] < '0' || q[0] > '2') {
                cli_err(&o, "invalid QoS '%s' (0, 1 or 2)", q);
                return CLI_EXIT_USAGE;
            }
            app.qos = q[0] - '0';
        } else if (!strcmp(a, "-r") || !strcmp(a, "--retain")) {
            app.retain = 1;
        } else if (!strcmp(a, "--repeat") && has_arg) {
            char *end;
            app.repeat = strtoul(argv[++i], &end, 10);
            if (*end || app.repeat == 0 || argv[i][0] == '-') {
                cli_err(&o, "invalid --repeat '%s'", argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else {
            cli_err(&o, "unknown option or missing argument: %s (see --help)", a);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    if (!app.topic) {
        cli_err(&o, "a topic is required (-t)");
        return CLI_EXIT_USAGE;
    }
    if (nsrc != 1) {
        cli_err(&o, "give exactly one of -m, -f, -s, -l, -n");
        return CLI_EXIT_USAGE;
    }
    if (cli_finish_opts(&o))
        return CLI_EXIT_USAGE;

    uint8_t *payload = NULL;
    size_t plen = 0;
    if (src == SRC_MSG) {
        plen = strlen(msg);
    } else if (src == SRC_FILE || src == SRC_STDIN) {
        if (cli_read_file(src == SRC_FILE ? file : "-", &payload, &plen)) {
            cli_err(&o, "cannot read '%s'", src == SRC_FILE ? file : "stdin");
            return CLI_EXIT_USAGE;
        }
    }

    cli_install_signals();
    cli_client c;
    if (cli_client_init(&c, &o, &app)) {
        cli_err(&o, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    mqws_callbacks_set_on_ack(c.cb, on_ack);
    mqws_callbacks_set_on_drop(c.cb, on_drop);
    int rc = cli_connect(&c);
    if (rc == CLI_EXIT_OK) {
        if (src == SRC_LINES) {
            char *line = NULL;
            size_t cap = 0;
            ssize_t n;
            while (rc == CLI_EXIT_OK && !cli_interrupted &&
                   (n = getline(&line, &cap, stdin)) >= 0) {
                if (n > 0 && line[n - 1] == '\n')
                    n--;
                if (n > 0 && line[n - 1] == '\r')
                    n--;
                rc = publish_one(&c, (const uint8_t *)line, (size_t)n);
                if (rc == CLI_EXIT_OK)
                    rc = cli_run(&c, written, INT64_MAX); /* hand it to the kernel now */
            }
            free(line);
        } else {
            const uint8_t *pl = src == SRC_MSG ? (const uint8_t *)msg : payload;
            for (unsigned long k = 0; k < app.repeat && rc == CLI_EXIT_OK && !cli_interrupted;
                 k++) {
                rc = publish_one(&c, pl, plen);
                /* Bound what waits in memory: write out before queueing more. */
                if (rc == CLI_EXIT_OK && mqws_conn_pending_bytes(c.conn) > 256 * 1024)
                    rc = cli_run(&c, written, INT64_MAX);
            }
        }
        if (rc == CLI_EXIT_OK && !cli_interrupted)
            rc = cli_run(&c, all_done, INT64_MAX);
        if (rc == CLI_EXIT_OK && cli_interrupted)
            rc = CLI_EXIT_NETWORK; /* interrupted before everything was acknowledged */
        if (rc == CLI_EXIT_OK && app.failed)
            rc = CLI_EXIT_PROTOCOL;
        cli_disconnect(&c);
    }
    cli_client_free(&c);
    free(payload);
    return rc;
}
