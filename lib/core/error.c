/* SPDX-License-Identifier: MIT */
#include "internal.h"

struct err_entry {
    const char *name;
    const char *text;
};

/* Indexed by -err. */
static const struct err_entry errors[] = {
    {"MQWS_OK", "success"},
    {"MQWS_ENOMEM", "out of memory"},
    {"MQWS_EINVAL", "invalid argument"},
    {"MQWS_EMALFORMED", "malformed packet"},
    {"MQWS_EPROTO", "protocol error"},
    {"MQWS_ETOOBIG", "larger than the configured maximum"},
    {"MQWS_ENOSPC", "output buffer too small"},
    {"MQWS_EUNSUPPORTED", "unsupported protocol version or feature"},
    {"MQWS_ESTATE", "operation not valid in the current state"},
    {"MQWS_ELIMIT", "configured limit reached"},
    {"MQWS_ECLOSED", "closed"},
    {"MQWS_ENOTFOUND", "not found"},
    {"MQWS_EEXIST", "already exists"},
    {"MQWS_EUTF8", "invalid UTF-8"},
    {"MQWS_EHANDSHAKE", "handshake failed"},
    {"MQWS_ETLS", "TLS error"},
    {"MQWS_EINTERNAL", "internal error"},
};

static const struct err_entry *lookup(int err) {
    if (err > 0 || err < -(int)(sizeof errors / sizeof errors[0] - 1))
        return NULL;
    return &errors[-err];
}

const char *mqws_strerror(int err) {
    const struct err_entry *e = lookup(err);
    return e ? e->text : "unknown error";
}

const char *mqws_error_name(int err) {
    const struct err_entry *e = lookup(err);
    return e ? e->name : "MQWS_E?";
}
