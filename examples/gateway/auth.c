/* mqws-gateway: who may connect (the broker's authenticate hook).
 *
 * The plain default: every client on a loopback address is allowed, anyone else is refused
 * with 0x87 Not authorized (3.1.1: return code 0x05) unless `allow-remote = yes`. With a
 * `password-file` (lines `user:password`, `#` comments), every client must also send a known
 * user name and its password, else 0x86 Bad user name or password (3.1.1: 0x04). MQTT 5.0
 * enhanced authentication is not offered: a CONNECT with an Authentication Method gets 0x8C.
 *
 * Passwords are kept in memory as given: this is an example, not a credential store.
 *
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

typedef struct cred {
    char *user;
    char *pass;
    size_t user_len, pass_len;
} cred;

static cred *creds;
static size_t ncreds;
static int password_required;

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int gw_auth_load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mqws-gateway: cannot read password file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            fprintf(stderr, "mqws-gateway: %s:%d: expected `user:password`\n", path, lineno);
            rc = -1;
            break;
        }
        cred *c = realloc(creds, (ncreds + 1) * sizeof *creds);
        if (!c) {
            rc = -1;
            break;
        }
        creds = c;
        cred *e = &creds[ncreds];
        e->user_len = (size_t)(colon - line);
        e->pass_len = strlen(colon + 1);
        e->user = dup_n(line, e->user_len);
        e->pass = dup_n(colon + 1, e->pass_len);
        if (!e->user || !e->pass) {
            free(e->user);
            free(e->pass);
            rc = -1;
            break;
        }
        ncreds++;
    }
    fclose(f);
    password_required = 1;
    return rc;
}

void gw_auth_free(void) {
    for (size_t i = 0; i < ncreds; i++) {
        free(creds[i].user);
        free(creds[i].pass);
    }
    free(creds);
    creds = NULL;
    ncreds = 0;
    password_required = 0;
}

/* Equal bytes, in time that depends on the lengths only. */
static int same(const uint8_t *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen)
        return 0;
    unsigned diff = 0;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned)(a[i] ^ (uint8_t)b[i]);
    return diff == 0;
}

int gw_auth_check(int loopback, int allow_remote, const mqws_packet *p) {
    if (p->type != MQWS_PKT_CONNECT)
        return 0x8C; /* AUTH: no enhanced authentication method is offered */
    if (p->props.present & MQWS_PROPF_AUTHENTICATION_METHOD)
        return 0x8C; /* Bad authentication method */
    if (!loopback && !allow_remote)
        return 0x87; /* Not authorized */
    if (!password_required)
        return 0;
    if (!p->has_username || !p->has_password)
        return 0x86;
    for (size_t i = 0; i < ncreds; i++)
        if (same(p->username.ptr, p->username.len, creds[i].user, creds[i].user_len))
            return same(p->password.ptr, p->password.len, creds[i].pass, creds[i].pass_len) ? 0
                                                                                            : 0x86;
    return 0x86; /* Bad user name or password */
}
