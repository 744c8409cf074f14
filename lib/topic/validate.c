/* Topic name and filter validation with limits, $share parsing, reference matcher
 * (MQTT 5 §4.7, §4.8.2).
 * SPDX-License-Identifier: MIT */
#include "topic_internal.h"

#define SHARE_PREFIX     "$share/"
#define SHARE_PREFIX_LEN 7u

static void set_stmt(const char **statement, const char *s) {
    if (statement)
        *statement = s;
}

static int check_common(const uint8_t *s, size_t len, const mqws_topic_limits *lim,
                        const char **statement) {
    uint32_t max_len = MQWS_TOPIC_MAX_LEN, max_levels = 0;
    if (lim) {
        if (lim->size < sizeof(mqws_topic_limits)) {
            set_stmt(statement, "bad limits");
            return MQWS_EINVAL;
        }
        if (lim->max_len && lim->max_len < max_len)
            max_len = lim->max_len;
        max_levels = lim->max_levels;
    }
    if (len == 0) { /* [MQTT-4.7.3-1] */
        set_stmt(statement, "MQTT-4.7.3-1");
        return MQWS_EPROTO;
    }
    if (len > max_len) {
        set_stmt(statement, "topic too long");
        return MQWS_ETOOBIG;
    }
    if (max_levels) {
        size_t levels = 1;
        for (const uint8_t *p = s, *end = s + len; (p = memchr(p, '/', (size_t)(end - p))); p++)
            levels++;
        if (levels > max_levels) {
            set_stmt(statement, "too many topic levels");
            return MQWS_ETOOBIG;
        }
    }
    /* Topic names and filters are UTF-8 strings without U+0000 [MQTT-4.7.3-2]. */
    if (mqws_utf8_check_mqtt(s, len, NULL) != MQWS_OK) {
        set_stmt(statement, "MQTT-4.7.3-2");
        return MQWS_EUTF8;
    }
    return MQWS_OK;
}

int mqws_topic_validate_name(const uint8_t *s, size_t len, const mqws_topic_limits *lim,
                             const char **statement) {
    int rc = check_common(s, len, lim, statement);
    if (rc)
        return rc;
    const char *st = NULL;
    rc = mqws__topic_name_syntax(s, len, &st);
    if (rc)
        set_stmt(statement, st);
    return rc;
}

int mqws_topic_parse_share(const uint8_t *s, size_t len, mqws_view *group, mqws_view *filter) {
    if (len < SHARE_PREFIX_LEN || memcmp(s, SHARE_PREFIX, SHARE_PREFIX_LEN) != 0)
        return 0;
    const uint8_t *g = s + SHARE_PREFIX_LEN;
    size_t rest = len - SHARE_PREFIX_LEN;
    const uint8_t *slash = memchr(g, '/', rest);
    /* ShareName: at least one character, no '/', '+' or '#' [MQTT-4.8.2-1]. */
    size_t glen = slash ? (size_t)(slash - g) : rest;
    if (glen == 0 || memchr(g, '+', glen) || memchr(g, '#', glen))
        return MQWS_EPROTO;
    /* A '/' and a filter follow the ShareName [MQTT-4.8.2-2]. */
    if (!slash || glen + 1 == rest)
        return MQWS_EPROTO;
    group->ptr = g;
    group->len = glen;
    filter->ptr = slash + 1;
    filter->len = rest - glen - 1;
    return 1;
}

int mqws_topic_validate_filter(const uint8_t *s, size_t len, const mqws_topic_limits *lim,
                               const char **statement) {
    int rc = check_common(s, len, lim, statement);
    if (rc)
        return rc;
    mqws_view group, filter;
    rc = mqws_topic_parse_share(s, len, &group, &filter);
    if (rc < 0) {
        /* Distinguish the two statements for the caller's diagnostics. */
        size_t rest = len - SHARE_PREFIX_LEN;
        const uint8_t *slash = memchr(s + SHARE_PREFIX_LEN, '/', rest);
        size_t glen = slash ? (size_t)(slash - (s + SHARE_PREFIX_LEN)) : rest;
        int bad_name = glen == 0 || memchr(s + SHARE_PREFIX_LEN, '+', glen) ||
                       memchr(s + SHARE_PREFIX_LEN, '#', glen);
        set_stmt(statement, bad_name ? "MQTT-4.8.2-1" : "MQTT-4.8.2-2");
        return MQWS_EPROTO;
    }
    if (rc == 0) {
        filter.ptr = s;
        filter.len = len;
    }
    const char *st = NULL;
    rc = mqws__topic_filter_syntax(filter.ptr, filter.len, &st);
    if (rc)
        set_stmt(statement, st);
    return rc;
}

int mqws_topic_matches(const uint8_t *f, size_t flen, const uint8_t *t, size_t tlen) {
    /* [MQTT-4.7.2-1]: names starting with '$' are not matched by a leading wildcard. */
    if (tlen && t[0] == '$' && flen && (f[0] == '+' || f[0] == '#'))
        return 0;
    size_t i = 0, j = 0;
    for (;;) {
        /* At the start of a filter level and a topic level. */
        if (i < flen && f[i] == '#')
            return 1; /* matches this level and all below [MQTT-4.7.1-1]... */
        if (i < flen && f[i] == '+') {
            i++;
            while (j < tlen && t[j] != '/')
                j++;
        } else {
            while (i < flen && f[i] != '/' && j < tlen && t[j] != '/') {
                if (f[i] != t[j])
                    return 0;
                i++;
                j++;
            }
            if ((i < flen && f[i] != '/') || (j < tlen && t[j] != '/'))
                return 0;
        }
        /* Both at a separator or an end. */
        if (i == flen && j == tlen)
            return 1;
        if (j == tlen) {
            /* "sport/#" matches "sport": '#' includes the parent level. */
            return i + 2 == flen && f[i] == '/' && f[i + 1] == '#';
        }
        if (i == flen)
            return 0;
        i++;
        j++;
    }
}
