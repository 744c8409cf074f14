/* Shared pieces of the mqws-pub and mqws-sub command-line clients: option parsing common to
 * both, a TCP / WebSocket connection driven by a poll() loop, and exit codes.
 *
 * Only the public API (mqws.h, mqws/conn.h) is used: this is also an example of a minimal
 * blocking host for the client role.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_EXAMPLES_CLIENT_H
#define MQWS_EXAMPLES_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mqws/codec.h"
#include "mqws/conn.h"
#include "mqws/core.h"
#include "mqws/session.h"

/* Exit codes of mqws-pub and mqws-sub (docs/pubsub.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,    /* bad option or argument */
    CLI_EXIT_NETWORK = 2,  /* name resolution, connect, read/write failure, connection lost */
    CLI_EXIT_REFUSED = 3,  /* the broker refused the connection (CONNACK reason) */
    CLI_EXIT_PROTOCOL = 4, /* protocol error, broker DISCONNECT, publish/subscribe refused */
    CLI_EXIT_TIMEOUT = 5,  /* -W / connect timeout expired */
    CLI_EXIT_INTERNAL = 6  /* out of memory, library error */
};

#define CLI_MAX_PROPS 32

/* One "-D command identifier value" or will/connect property to apply. */
typedef struct cli_user_props {
    mqws_user_prop items[CLI_MAX_PROPS];
    uint32_t count;
} cli_user_props;

typedef struct cli_opts {
    const char *prog;
    const char *host; /* default "localhost" */
    int port;         /* 0 = default (1883, or 80 for ws://) */
    int ws;           /* 1: MQTT over WebSocket */
    const char *ws_path;
    uint8_t version; /* MQWS_MQTT_311 or MQWS_MQTT_5 (default) */
    const char *client_id;
    const char *id_prefix;
    const char *username;
    const char *password;
    int clean;               /* 1 (default) clean session / clean start; -c sets 0 */
    unsigned keepalive;      /* seconds, default 60 */
    uint32_t session_expiry; /* -x (5.0) seconds; -c without -x: 0xFFFFFFFF (never) */
    int session_expiry_set;
    const char *will_topic;
    const char *will_payload;
    int will_qos;
    int will_retain;
    unsigned connect_timeout_s; /* default 10 */
    int debug;                  /* -d: packet trace on stderr */
    int quiet;                  /* --quiet: no error messages */
    cli_user_props connect_props;
    cli_user_props publish_props;
    cli_user_props subscribe_props;
    cli_user_props disconnect_props;
    /* -D publish: single-valued properties */
    mqws_props pub_props;
    char generated_id[64];
} cli_opts;

void cli_opts_init(cli_opts *o, const char *prog);

/* Try to parse argv[*i] (and its arguments) as an option common to both tools. Returns 1 if
 * consumed (advancing *i past its arguments), 0 if it is not a common option, -1 on error
 * (message printed). */
int cli_parse_common(cli_opts *o, int argc, char **argv, int *i);
/* Checks after parsing (version-dependent options, will QoS, ...); fills defaults. -1 on
 * error (message printed), else 0. */
int cli_finish_opts(cli_opts *o);
/* Usage text for the common options. */
void cli_usage_common(void);

/* Errors go to stderr unless --quiet. */
void cli_err(const cli_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A connection driven by a blocking poll() loop. */
typedef struct cli_client {
    cli_opts *o;
    int fd;
    mqws_conn *conn;
    mqws_session *s;
    mqws_callbacks *cb;
    int connected;      /* CONNACK accepted */
    int exit_code;      /* set by whoever decides to stop with a failure */
    int stop;           /* leave cli_run() */
    int ending;         /* we are disconnecting on purpose */
    uint8_t connack_rc; /* CONNACK reason / return code */
    uint8_t session_present;
    void *app; /* the tool's own state */
} cli_client;

/* The callbacks object the tool fills (on_publish, on_ack...) before cli_connect(). on_connack
 * and on_close are the library side's: the tool must not replace them. */
int cli_client_init(cli_client *c, cli_opts *o, void *app);
/* Resolve, connect, create the conn, send CONNECT and run until CONNACK. Returns CLI_EXIT_OK
 * or the exit code to use. */
int cli_connect(cli_client *c);
/* Run the loop until c->stop is set, the connection closes, `deadline_ms` (monotonic, as
 * cli_now_ms; INT64_MAX = none) passes (returns CLI_EXIT_TIMEOUT), or `done(c)` returns
 * nonzero (checked after each pass). Returns CLI_EXIT_OK or an exit code. */
int cli_run(cli_client *c, int (*done)(cli_client *c), int64_t deadline_ms);
/* Graceful end: DISCONNECT (reason 0) and flush, bounded by 2 s. */
void cli_disconnect(cli_client *c);
void cli_client_free(cli_client *c);

int64_t cli_now_ms(void);
/* Read a whole file ("-" = stdin) into a malloc'd buffer. -1 on error. */
int cli_read_file(const char *path, uint8_t **buf, size_t *len);
/* Set by SIGINT / SIGTERM (cli_run returns with stop set). */
extern volatile int cli_interrupted;
void cli_install_signals(void);

#endif
