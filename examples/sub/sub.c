/* mqws-sub: subscribe to MQTT topics and print what arrives (3.1.1 or 5.0, TCP or WebSocket),
 * like mosquitto_sub.
 *
 *   mqws-sub -h host -t 'sensors/#' -v
 *   mqws-sub -w ws://host:8080/mqtt -t a -t b -q 1 -C 10 -W 30
 *
 * Exit codes: see examples/common/client.h and docs/pubsub.md.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define MAX_FILTERS 64

typedef struct sub_app {
    mqws_subscription subs[MAX_FILTERS];
    size_t nsubs;
    int verbose;
    int no_eol;
    int no_stale;   /* -R: do not print retained messages */
    int user_props; /* --print-user-props */
    int exit_after_sub;
    unsigned long count; /* -C: 0 = forever */
    unsigned long received;
    int subscribed;
    int failed;
    uint16_t sub_id;
} sub_app;

static void usage(void) {
    fputs("Usage: mqws-sub [options] -t FILTER [-t FILTER...]\n"
          "Subscribe:\n"
          "  -t, --topic FILTER       topic filter to subscribe to (repeatable)\n"
          "  -q, --qos QOS            maximum QoS 0 (default), 1 or 2\n"
          "  -v, --verbose            print 'topic payload' instead of the payload\n"
          "  -N                       no newline after each payload\n"
          "  -C, --count N            exit after N messages\n"
          "  -R, --no-retained        do not print retained (stale) messages\n"
          "  -W, --timeout SECONDS    exit with status 5 if not done after SECONDS\n"
          "  -E                       exit once the subscription is acknowledged\n"
          "      --nl                 MQTT 5 no local\n"
          "      --rap                MQTT 5 retain as published\n"
          "      --retain-handling N  MQTT 5 retain handling 0..2\n"
          "      --print-user-props   with -v, print MQTT 5 user properties as [k=v ...]\n",
          stdout);
    cli_usage_common();
    fputs("Exit status: 0 ok, 1 usage, 2 network, 3 connection refused, 4 protocol error or\n"
          "subscription refused, 5 timeout (-W), 6 internal error.\n",
          stdout);
}

static void print_view(mqws_view v) {
    if (v.len)
        fwrite(v.ptr, 1, v.len, stdout);
}

static int on_publish(mqws_session *s, const mqws_packet *pub, void *user) {
    cli_client *c = user;
    sub_app *app = c->app;
    (void)s;
    if (app->count && app->received >= app->count)
        return 0; /* already done: still acknowledged */
    if (app->no_stale && pub->retain)
        return 0;
    if (app->verbose) {
        print_view(pub->topic);
        fputc(' ', stdout);
        if (app->user_props && pub->props.user_prop_count) {
            mqws_prop_iter it;
            mqws_view k, v;
            int first = 1;
            mqws_props_iter_init(&pub->props, &it);
            fputc('[', stdout);
            while (mqws_props_next_user(&it, &k, &v)) {
                if (!first)
                    fputc(' ', stdout);
                first = 0;
                print_view(k);
                fputc('=', stdout);
                print_view(v);
            }
            fputs("] ", stdout);
        }
    }
    print_view(pub->payload);
    if (!app->no_eol)
        fputc('\n', stdout);
    fflush(stdout);
    app->received++;
    return 0;
}

static void on_ack(mqws_session *s, const mqws_packet *ack, void *user) {
    cli_client *c = user;
    sub_app *app = c->app;
    (void)s;
    if (ack->type != MQWS_PKT_SUBACK)
        return;
    size_t refused = 0;
    for (size_t k = 0; k < ack->reason_codes.len; k++) {
        uint8_t rc = ack->reason_codes.ptr[k];
        if (rc >= 0x80) {
            const char *name = mqws_reason_name(rc, MQWS_PKT_SUBACK, c->o->version);
            cli_err(c->o, "subscription '%.*s' refused: %s (0x%02x)",
                    k < app->nsubs ? (int)app->subs[k].filter.len : 0,
                    k < app->nsubs ? (const char *)app->subs[k].filter.ptr : "", name ? name : "?",
                    rc);
            refused++;
        } else if (c->o->debug) {
            fprintf(stderr, "%s: SUBACK: '%.*s' granted QoS %u\n", c->o->prog,
                    k < app->nsubs ? (int)app->subs[k].filter.len : 0,
                    k < app->nsubs ? (const char *)app->subs[k].filter.ptr : "", rc);
        }
    }
    app->subscribed = 1;
    if (refused == ack->reason_codes.len || refused > 0) {
        /* Like mosquitto_sub, any refused filter is an error the user must see; all refused
         * leaves nothing to wait for. */
        app->failed = 1;
        if (refused == ack->reason_codes.len) {
            c->exit_code = CLI_EXIT_PROTOCOL;
            c->stop = 1;
        }
    }
}

static int sub_acked(cli_client *c) { return ((sub_app *)c->app)->subscribed; }

static int count_done(cli_client *c) {
    sub_app *app = c->app;
    if (!app->count || app->received < app->count)
        return 0;
    /* Wait until our acknowledgements (PUBACK, PUBREC/PUBCOMP) are written. */
    mqws_session_stats st;
    mqws_session_get_stats(c->s, &st);
    return st.inflight_in == 0 && mqws_conn_pending_bytes(c->conn) == 0;
}

int main(int argc, char **argv) {
    cli_opts o;
    sub_app app;
    int qos = 0, nl = 0, rap = 0, rh = 0;
    unsigned long timeout_s = 0;
    cli_opts_init(&o, "mqws-sub");
    memset(&app, 0, sizeof app);

    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        int r = cli_parse_common(&o, argc, argv, &i);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        int has_arg = i + 1 < argc;
        char *end;
        if (!strcmp(a, "--help")) {
            usage();
            return CLI_EXIT_OK;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--topic")) && has_arg) {
            if (app.nsubs == MAX_FILTERS) {
                cli_err(&o, "too many topic filters (at most %d)", MAX_FILTERS);
                return CLI_EXIT_USAGE;
            }
            app.subs[app.nsubs++].filter = mqws_view_cstr(argv[++i]);
        } else if ((!strcmp(a, "-q") || !strcmp(a, "--qos")) && has_arg) {
            const char *q = argv[++i];
            if (strlen(q) != 1 || q[0] < '0' || q[0] > '2') {
                cli_err(&o, "invalid QoS '%s' (0, 1 or 2)", q);
                return CLI_EXIT_USAGE;
            }
            qos = q[0] - '0';
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            app.verbose = 1;
        } else if (!strcmp(a, "-N")) {
            app.no_eol = 1;
        } else if (!strcmp(a, "-R") || !strcmp(a, "--no-retained")) {
            app.no_stale = 1;
        } else if (!strcmp(a, "-E")) {
            app.exit_after_sub = 1;
        } else if (!strcmp(a, "--print-user-props")) {
            app.user_props = 1;
        } else if (!strcmp(a, "--nl")) {
            nl = 1;
        } else if (!strcmp(a, "--rap")) {
            rap = 1;
        } else if (!strcmp(a, "--retain-handling") && has_arg) {
            const char *v = argv[++i];
            if (strlen(v) != 1 || v[0] < '0' || v[0] > '2') {
                cli_err(&o, "invalid retain handling '%s' (0, 1 or 2)", v);
                return CLI_EXIT_USAGE;
            }
            rh = v[0] - '0';
        } else if ((!strcmp(a, "-C") || !strcmp(a, "--count")) && has_arg) {
            app.count = strtoul(argv[++i], &end, 10);
            if (*end || app.count == 0 || argv[i][0] == '-') {
                cli_err(&o, "invalid count '%s'", argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else if ((!strcmp(a, "-W") || !strcmp(a, "--timeout")) && has_arg) {
            timeout_s = strtoul(argv[++i], &end, 10);
            if (*end || timeout_s == 0 || timeout_s > 86400u * 365 || argv[i][0] == '-') {
                cli_err(&o, "invalid timeout '%s'", argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else {
            cli_err(&o, "unknown option or missing argument: %s (see --help)", a);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    if (app.nsubs == 0) {
        cli_err(&o, "at least one topic filter is required (-t)");
        return CLI_EXIT_USAGE;
    }
    if (o.version != MQWS_MQTT_5 && (nl || rap || rh)) {
        cli_err(&o, "--nl, --rap and --retain-handling need MQTT 5 (-V 5)");
        return CLI_EXIT_USAGE;
    }
    if (cli_finish_opts(&o))
        return CLI_EXIT_USAGE;
    for (size_t k = 0; k < app.nsubs; k++) {
        app.subs[k].qos = (uint8_t)qos;
        app.subs[k].no_local = (uint8_t)nl;
        app.subs[k].retain_as_published = (uint8_t)rap;
        app.subs[k].retain_handling = (uint8_t)rh;
    }

    cli_install_signals();
    int64_t deadline = timeout_s ? cli_now_ms() + (int64_t)timeout_s * 1000 : INT64_MAX;
    cli_client c;
    if (cli_client_init(&c, &o, &app)) {
        cli_err(&o, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    mqws_callbacks_set_on_publish(c.cb, on_publish);
    mqws_callbacks_set_on_ack(c.cb, on_ack);
    int rc = cli_connect(&c);
    if (rc == CLI_EXIT_OK) {
        mqws_props props;
        mqws_props_init(&props);
        if (o.subscribe_props.count) {
            props.present |= MQWS_PROPF_USER_PROPERTY;
            props.user_props = o.subscribe_props.items;
            props.user_prop_count = o.subscribe_props.count;
        }
        int r = mqws_session_subscribe(c.s, app.subs, app.nsubs,
                                       o.subscribe_props.count ? &props : NULL, &app.sub_id);
        if (r != MQWS_OK) {
            cli_err(&o, "invalid subscription: %s", mqws_strerror(r));
            rc = r == MQWS_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
        }
        if (rc == CLI_EXIT_OK && app.exit_after_sub) {
            rc = cli_run(&c, sub_acked, deadline);
        } else if (rc == CLI_EXIT_OK) {
            rc = cli_run(&c, app.count ? count_done : NULL, deadline);
            if (rc == CLI_EXIT_TIMEOUT)
                cli_err(&o, "timed out after %lu s (%lu messages received)", timeout_s,
                        app.received);
        }
        if (rc == CLI_EXIT_OK && app.failed)
            rc = CLI_EXIT_PROTOCOL;
        cli_disconnect(&c);
    }
    cli_client_free(&c);
    return rc;
}
