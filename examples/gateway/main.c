/* mqws-gateway: an MQTT 3.1 / 3.1.1 / 5.0 broker over TCP and WebSocket, built on the mqws
 * broker core with one epoll loop. See docs/gateway.md and `mqws-gateway --help`.
 *
 *   mqws-gateway                         127.0.0.1:1883 (MQTT) and 127.0.0.1:8080 (WebSocket,
 *                                        HTTP /metrics and /)
 *   mqws-gateway --mqtt-port 0 --ws-port 0 --ports-file ports.txt
 *   mqws-gateway --config gateway.conf --log-level debug
 *
 * Exit status: 0 after SIGINT / SIGTERM, 1 when it cannot start (port in use, ...), 2 for bad
 * flags or a bad config file.
 *
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "gateway.h"

/* Raise the soft descriptor limit to the hard one: every client is a descriptor. */
static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            gw_log(GW_LOG_WARN, "cannot raise the open files limit to %llu: %s",
                   (unsigned long long)want, strerror(errno));
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gw_log(GW_LOG_INFO,
               "open files limit %llu (about %llu clients; raise the hard limit to allow more)",
               (unsigned long long)rl.rlim_cur,
               rl.rlim_cur > 16 ? (unsigned long long)rl.rlim_cur - 16 : 0ull);
}

int main(int argc, char **argv) {
    gw_config cfg;
    gw_config_defaults(&cfg);
    int r = gw_config_parse_args(&cfg, argc, argv);
    if (r > 0)
        return 0;
    if (r < 0)
        return 2;
    gw_log_level = cfg.log_level;
    if (strcmp(mqws_version(), MQWS_VERSION_STRING) != 0)
        gw_log(GW_LOG_WARN, "library version %s, headers %s", mqws_version(), MQWS_VERSION_STRING);
    if (cfg.password_file[0] && gw_auth_load(cfg.password_file) != 0)
        return 2;
    if (cfg.allow_remote && !cfg.password_file[0])
        gw_log(GW_LOG_WARN, "allow-remote without a password-file: anyone who can reach the "
                            "listeners may connect");
    raise_nofile();
    gw *g = gw_new(&cfg);
    if (!g)
        return 1;
    if (gw_listen(g) != 0) {
        gw_free(g);
        return 1;
    }
    gw_log(GW_LOG_INFO, "mqws-gateway %s ready", mqws_version());
    int status = gw_run(g);
    gw_free(g);
    gw_allocator_free_all();
    gw_auth_free();
    return status;
}
