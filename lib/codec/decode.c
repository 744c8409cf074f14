/* Decoding: one packet from a buffer of exactly its size, validated as the spec requires, into
 * views over that buffer. No allocation; one pass; the rules live in rules.c.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <string.h>

#include "codec_internal.h"

#define V5(level) ((level) == MQWS_MQTT_5)
#define OFF(q)    ((size_t)((q)-buf))

/* The remaining length does not cover the fields (truncated) or has bytes left over. */
#define TRUNCATED(q)                                                                               \
    mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "§2.1.4" : "§2.2.3",                              \
               "packet ends inside a field", OFF(q))
#define TRAILING(q)                                                                                \
    mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "§2.1.4" : "§2.2.3",                              \
               "bytes left over after the last field", OFF(q))

/* user_prop_count .. sub_ids are contiguous: one memset of that range. */
#define PROPS_TAIL_OFF offsetof(mqws_props, user_prop_count)
#define PROPS_TAIL_LEN (offsetof(mqws_props, sub_ids) + sizeof(void *) - PROPS_TAIL_OFF)
MQWS_INLINE void props_clear(mqws_props *pr) {
    pr->present = 0;
    memset((uint8_t *)pr + PROPS_TAIL_OFF, 0, PROPS_TAIL_LEN);
}

MQWS_INLINE int rd_view(const uint8_t **pp, const uint8_t *end, mqws_view *v) {
    const uint8_t *p = *pp;
    if (MQWS_UNLIKELY(end - p < 2))
        return 0;
    size_t n = mqws__load16(p);
    if (MQWS_UNLIKELY((size_t)(end - p - 2) < n))
        return 0;
    v->ptr = p + 2;
    v->len = n;
    *pp = p + 2 + n;
    return 1;
}

/* The property block at *pp: length, then the properties, for context `ctx`. */
static int rd_props(const uint8_t *buf, const uint8_t **pp, const uint8_t *end, int ctx,
                    uint8_t level, uint32_t dir, mqws_props *pr, mqws_decode_error *err) {
    const uint8_t *p = *pp;
    uint32_t n;
    int k = mqws__rd_varint(p, end, &n);
    if (k == 0)
        return TRUNCATED(p);
    if (k < 0)
        return mqws__fail(err, MQWS_EMALFORMED, "MQTT-1.5.5-1", "malformed property length",
                          OFF(p));
    p += k;
    if ((size_t)(end - p) < n)
        return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.1", "property length exceeds the packet",
                          OFF(p));
    int rc = mqws__props_parse(p, n, ctx, level, pr, err, OFF(p));
    if (rc)
        return rc;
    if (pr->present & (MQWS_PROPF_AUTHENTICATION_DATA | MQWS_PROPF_SUBSCRIPTION_IDENTIFIER |
                       MQWS_PROPF_SESSION_EXPIRY_INTERVAL)) {
        rc = mqws__check_props_cross(pr->present, ctx, dir, err, OFF(p));
        if (rc)
            return rc;
    }
    *pp = p + n;
    return MQWS_OK;
}

MQWS_INLINE int dec_publish(const uint8_t *buf, const uint8_t *p, const uint8_t *end, uint8_t level,
                            uint32_t dir, unsigned fl, mqws_packet *out, mqws_decode_error *err) {
    unsigned qos = (fl >> 1) & 3, dup = fl >> 3;
    if (MQWS_UNLIKELY(qos == 3 || (dup && !qos)))
        return mqws__check_publish_flags(dup, qos, err);
    if (MQWS_UNLIKELY(end - p < 2))
        return TRUNCATED(p);
    size_t tl = mqws__load16(p);
    p += 2;
    if (MQWS_UNLIKELY((size_t)(end - p) < tl))
        return TRUNCATED(p);
    const uint8_t *topic = p;
    p += tl;
    if (tl || !V5(level)) {
        int rc = mqws__check_topic_name(topic, tl, level, err, OFF(topic));
        if (MQWS_UNLIKELY(rc))
            return rc;
    }
    uint16_t pid = 0;
    if (qos) {
        if (MQWS_UNLIKELY(end - p < 2))
            return TRUNCATED(p);
        pid = mqws__load16(p);
        int rc = mqws__check_packet_id(pid, level, err, OFF(p));
        if (MQWS_UNLIKELY(rc))
            return rc;
        p += 2;
    }
    if (V5(level)) {
        const uint8_t *at = p;
        int rc = rd_props(buf, &p, end, MQWS_PKT_PUBLISH, level, dir, &out->props, err);
        if (rc)
            return rc;
        /* A zero-length topic name needs a Topic Alias to stand for it (§3.3.2.3.4). */
        if (tl == 0 && !(out->props.present & MQWS_PROPF_TOPIC_ALIAS))
            return mqws__fail(err, MQWS_EPROTO, "§3.3.2.3.4",
                              "empty topic name without a Topic Alias", OFF(at));
    } else {
        props_clear(&out->props);
    }
    out->dup = (uint8_t)dup;
    out->qos = (uint8_t)qos;
    out->retain = (uint8_t)(fl & 1);
    out->topic.ptr = topic;
    out->topic.len = tl;
    out->packet_id = pid;
    out->payload.ptr = p;
    out->payload.len = (size_t)(end - p);
    return MQWS_OK;
}

MQWS_NOINLINE static int dec_connect(const uint8_t *buf, const uint8_t *p, const uint8_t *end,
                                     uint8_t level, uint32_t dir, unsigned fl, mqws_packet *out,
                                     mqws_decode_error *err) {
    mqws_view name;
    if (!rd_view(&p, end, &name) || p >= end)
        return TRUNCATED(p);
    uint8_t lvl = *p++;
    int is_mqtt = name.len == 4 && memcmp(name.ptr, "MQTT", 4) == 0;
    int is_isdp = name.len == 6 && memcmp(name.ptr, "MQIsdp", 6) == 0;
    out->protocol_name = name;
    out->protocol_level = lvl;
    if (!((is_mqtt && (lvl == MQWS_MQTT_311 || lvl == MQWS_MQTT_5)) ||
          (is_isdp && lvl == MQWS_MQTT_31))) {
        if (!is_mqtt && !is_isdp)
            return mqws__fail(err, MQWS_EUNSUPPORTED, "MQTT-3.1.2-1", "unknown protocol name",
                              OFF(name.ptr));
        return mqws__fail(err, MQWS_EUNSUPPORTED, "MQTT-3.1.2-2", "unsupported protocol level",
                          OFF(p - 1));
    }
    level = lvl; /* the CONNECT speaks for itself */
    int rc = mqws__check_fixed_flags(MQWS_PKT_CONNECT, fl, level, err);
    if (rc)
        return rc;
    if (end - p < 3)
        return TRUNCATED(p);
    unsigned f = *p;
    rc = mqws__check_connect_flags(f, level, err, OFF(p));
    if (rc)
        return rc;
    out->keep_alive = mqws__load16(p + 1);
    p += 3;
    if (V5(level)) {
        rc = rd_props(buf, &p, end, MQWS_PKT_CONNECT, level, dir, &out->props, err);
        if (rc)
            return rc;
    } else {
        props_clear(&out->props);
    }
    /* Client Identifier [MQTT-3.1.3-3] (3.1.1 [MQTT-3.1.3-4]): always present, UTF-8. */
    if (!rd_view(&p, end, &out->client_id))
        return TRUNCATED(p);
    rc = mqws__check_utf8(out->client_id.ptr, out->client_id.len, level, err,
                          OFF(out->client_id.ptr));
    if (rc)
        return rc;
    out->will_topic.ptr = out->will_payload.ptr = NULL;
    out->will_topic.len = out->will_payload.len = 0;
    props_clear(&out->will_props);
    if (f & 0x04) {
        if (V5(level)) {
            rc = rd_props(buf, &p, end, MQWS_PROPS_WILL, level, dir, &out->will_props, err);
            if (rc)
                return rc;
        }
        if (!rd_view(&p, end, &out->will_topic))
            return TRUNCATED(p);
        rc = mqws__check_topic_name(out->will_topic.ptr, out->will_topic.len, level, err,
                                    OFF(out->will_topic.ptr));
        if (rc)
            return rc;
        if (!rd_view(&p, end, &out->will_payload))
            return TRUNCATED(p);
    }
    out->username.ptr = out->password.ptr = NULL;
    out->username.len = out->password.len = 0;
    if (f & 0x80) {
        if (!rd_view(&p, end, &out->username))
            return TRUNCATED(p);
        rc = mqws__check_utf8(out->username.ptr, out->username.len, level, err,
                              OFF(out->username.ptr));
        if (rc)
            return rc;
    }
    if (f & 0x40) {
        if (!rd_view(&p, end, &out->password))
            return TRUNCATED(p);
    }
    if (p != end)
        return TRAILING(p);
    out->clean_start = (uint8_t)((f >> 1) & 1);
    out->will_flag = (uint8_t)((f >> 2) & 1);
    out->will_qos = (uint8_t)((f >> 3) & 3);
    out->will_retain = (uint8_t)((f >> 5) & 1);
    out->has_password = (uint8_t)((f >> 6) & 1);
    out->has_username = (uint8_t)((f >> 7) & 1);
    return MQWS_OK;
}

MQWS_NOINLINE static int dec_connack(const uint8_t *buf, const uint8_t *p, const uint8_t *end,
                                     uint8_t level, uint32_t dir, mqws_packet *out,
                                     mqws_decode_error *err) {
    if (end - p < 2)
        return TRUNCATED(p);
    int rc = mqws__check_connack(p[0], p[1], level, err, OFF(p));
    if (rc)
        return rc;
    out->session_present = p[0] & 1;
    out->reason_code = p[1];
    p += 2;
    if (V5(level)) {
        rc = rd_props(buf, &p, end, MQWS_PKT_CONNACK, level, dir, &out->props, err);
        if (rc)
            return rc;
    } else {
        props_clear(&out->props);
    }
    return p == end ? MQWS_OK : TRAILING(p);
}

/* The optional tail of 5.0 PUBACK..PUBCOMP, DISCONNECT and AUTH: reason code, then properties;
 * both may be omitted when the reason is 0 and there are no properties (§3.4.2.1, §3.14.2.1). */
MQWS_NOINLINE static int rd_tail(const uint8_t *buf, const uint8_t *p, const uint8_t *end, int type,
                                 uint8_t level, uint32_t dir, mqws_packet *out,
                                 mqws_decode_error *err) {
    props_clear(&out->props);
    out->reason_code = 0;
    out->tail_form = 0;
    if (p == end)
        return MQWS_OK;
    int rc = mqws__check_reason(*p, type, level, err, OFF(p));
    if (rc)
        return rc;
    out->reason_code = *p++;
    out->tail_form = 1;
    if (p == end)
        return MQWS_OK;
    rc = rd_props(buf, &p, end, type, level, dir, &out->props, err);
    if (rc)
        return rc;
    out->tail_form = 2;
    return p == end ? MQWS_OK : TRAILING(p);
}

MQWS_NOINLINE static int dec_ack(const uint8_t *buf, const uint8_t *p, const uint8_t *end, int type,
                                 uint8_t level, uint32_t dir, mqws_packet *out,
                                 mqws_decode_error *err) {
    if (end - p < 2)
        return TRUNCATED(p);
    out->packet_id = mqws__load16(p);
    int rc = mqws__check_packet_id(out->packet_id, level, err, OFF(p));
    if (rc)
        return rc;
    p += 2;
    if (V5(level))
        return rd_tail(buf, p, end, type, level, dir, out, err);
    props_clear(&out->props);
    out->reason_code = 0;
    out->tail_form = 0;
    return p == end ? MQWS_OK : TRAILING(p);
}

/* The variable header shared by SUBSCRIBE, UNSUBSCRIBE, SUBACK and UNSUBACK: a non-zero
 * packet identifier [MQTT-2.2.1-3], then (5.0) the properties. Advances *pp past both. */
static int rd_id_props(const uint8_t *buf, const uint8_t **pp, const uint8_t *end, int type,
                       uint8_t level, uint32_t dir, mqws_packet *out, mqws_decode_error *err) {
    const uint8_t *p = *pp;
    if (end - p < 2)
        return TRUNCATED(p);
    out->packet_id = mqws__load16(p);
    int rc = mqws__check_packet_id(out->packet_id, level, err, OFF(p));
    if (rc)
        return rc;
    p += 2;
    if (V5(level)) {
        rc = rd_props(buf, &p, end, type, level, dir, &out->props, err);
        if (rc)
            return rc;
    } else {
        props_clear(&out->props);
    }
    *pp = p;
    return MQWS_OK;
}

MQWS_NOINLINE static int dec_subscribe(const uint8_t *buf, const uint8_t *p, const uint8_t *end,
                                       int type, uint8_t level, uint32_t dir, mqws_packet *out,
                                       mqws_decode_error *err) {
    int rc = rd_id_props(buf, &p, end, type, level, dir, out, err);
    if (rc)
        return rc;
    const uint8_t *first = p;
    uint32_t count = 0;
    while (p < end) {
        mqws_view f;
        if (!rd_view(&p, end, &f))
            return TRUNCATED(p);
        unsigned o = 0;
        if (type == MQWS_PKT_SUBSCRIBE) {
            if (p >= end)
                return TRUNCATED(p);
            o = *p;
            if (MQWS_UNLIKELY(o & (V5(level) ? 0xC0u : 0xFCu)) || (o & 3) == 3 ||
                (o & 0x30) == 0x30) {
                rc = mqws__check_sub_options(o, level, err, OFF(p));
                if (rc)
                    return rc;
            }
            p++;
        }
        rc = mqws__check_filter_fast(f.ptr, f.len, level, V5(level) && (o & 4), err, OFF(f.ptr));
        if (rc)
            return rc;
        count++;
    }
    if (count == 0) {
        if (type == MQWS_PKT_SUBSCRIBE)
            return mqws__fail(err, MQWS_EPROTO, V5(level) ? "MQTT-3.8.3-2" : "MQTT-3.8.3-3",
                              "SUBSCRIBE without a subscription", OFF(p));
        return mqws__fail(err, MQWS_EPROTO, "MQTT-3.10.3-2", "UNSUBSCRIBE without a topic filter",
                          OFF(p));
    }
    out->entry_count = count;
    out->entries.ptr = first;
    out->entries.len = (size_t)(end - first);
    out->subs = NULL;
    out->unsub_filters = NULL;
    return MQWS_OK;
}

MQWS_NOINLINE static int dec_suback(const uint8_t *buf, const uint8_t *p, const uint8_t *end,
                                    int type, uint8_t level, uint32_t dir, mqws_packet *out,
                                    mqws_decode_error *err) {
    int rc = rd_id_props(buf, &p, end, type, level, dir, out, err);
    if (rc)
        return rc;
    if (!V5(level)) {
        if (type == MQWS_PKT_UNSUBACK) { /* 3.x UNSUBACK is the packet identifier alone */
            out->reason_codes.ptr = NULL;
            out->reason_codes.len = 0;
            out->entry_count = 0;
            return p == end ? MQWS_OK : TRAILING(p);
        }
    }
    if (p == end)
        return mqws__fail(err, MQWS_EPROTO, type == MQWS_PKT_SUBACK ? "§3.9.3" : "§3.11.3",
                          "acknowledgement without reason codes", OFF(p));
    for (const uint8_t *q = p; q < end; q++) {
        rc = mqws__check_reason(*q, type, level, err, OFF(q));
        if (rc)
            return rc;
    }
    out->reason_codes.ptr = p;
    out->reason_codes.len = (size_t)(end - p);
    out->entry_count = (uint32_t)(end - p);
    return MQWS_OK;
}

/* Every type but PUBLISH: direction, fixed-header flags, then the type's decoder. */
MQWS_INLINE int dec_other(const uint8_t *buf, const uint8_t *p, const uint8_t *end, unsigned type,
                          unsigned fl, uint8_t level, uint32_t flags, mqws_packet *out,
                          mqws_decode_error *err) {
    /* Reserved types, and types the peer's role may not send (§2.1.2). */
    static const uint16_t server_only = (1u << MQWS_PKT_CONNACK) | (1u << MQWS_PKT_SUBACK) |
                                        (1u << MQWS_PKT_UNSUBACK) | (1u << MQWS_PKT_PINGRESP);
    static const uint16_t client_only = (1u << MQWS_PKT_CONNECT) | (1u << MQWS_PKT_SUBSCRIBE) |
                                        (1u << MQWS_PKT_UNSUBSCRIBE) | (1u << MQWS_PKT_PINGREQ);
    if (MQWS_UNLIKELY(type == 0 || (type == MQWS_PKT_AUTH && level != MQWS_MQTT_5) ||
                      ((flags & MQWS_DECODE_FROM_CLIENT) && ((server_only >> type) & 1)) ||
                      ((flags & MQWS_DECODE_FROM_SERVER) &&
                       (((client_only >> type) & 1) ||
                        (type == MQWS_PKT_DISCONNECT && level != MQWS_MQTT_5)))))
        return mqws__check_type((int)type, level, flags, err);
    int rc;
    if (type == MQWS_PKT_CONNECT)
        return dec_connect(buf, p, end, level, flags, fl, out, err);
    if (MQWS_UNLIKELY(fl != ((type == MQWS_PKT_PUBREL || type == MQWS_PKT_SUBSCRIBE ||
                              type == MQWS_PKT_UNSUBSCRIBE)
                                 ? 2u
                                 : 0u))) {
        rc = mqws__check_fixed_flags((int)type, fl, level, err);
        if (rc)
            return rc;
    }
    switch (type) {
        case MQWS_PKT_CONNACK:
            return dec_connack(buf, p, end, level, flags, out, err);
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            return dec_ack(buf, p, end, (int)type, level, flags, out, err);
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE:
            return dec_subscribe(buf, p, end, (int)type, level, flags, out, err);
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            return dec_suback(buf, p, end, (int)type, level, flags, out, err);
        case MQWS_PKT_PINGREQ:
        case MQWS_PKT_PINGRESP:
            return p == end ? MQWS_OK : TRAILING(p);
        case MQWS_PKT_DISCONNECT:
            if (!V5(level)) {
                props_clear(&out->props);
                out->reason_code = 0;
                out->tail_form = 0;
                return p == end ? MQWS_OK : TRAILING(p);
            }
            return rd_tail(buf, p, end, (int)type, level, flags, out, err);
        default: /* AUTH, 5.0 only (checked above) */
            return rd_tail(buf, p, end, (int)type, level, flags, out, err);
    }
}

MQWS_COLD static int dec_bad_header(const uint8_t *buf, size_t len, uint8_t level,
                                    mqws_decode_error *err) {
    if (level < MQWS_MQTT_31 || level > MQWS_MQTT_5 || !buf)
        return mqws__fail(err, MQWS_EINVAL, NULL, "invalid protocol level or buffer", 0);
    if (len < 2)
        return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "§2.1.4" : "§2.2.3",
                          "packet shorter than a fixed header", 0);
    uint32_t rl;
    int k = mqws_varint_decode(buf + 1, len - 1, &rl);
    if (k <= 0)
        return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "MQTT-1.5.5-1" : "§2.2.3",
                          k ? "remaining length is not a valid variable byte integer"
                            : "remaining length truncated",
                          1);
    size_t total = 1 + (size_t)k + rl;
    return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "§2.1.4" : "§2.2.3",
                      total > len ? "packet shorter than its remaining length"
                                  : "bytes after the end of the packet",
                      total > len ? len : total);
}

/* The complete decoder: every type, and the precise error for anything the fast path below
 * refuses. */
MQWS_NOINLINE static int decode_full(const uint8_t *buf, size_t len, uint8_t level, uint32_t flags,
                                     mqws_packet *out, mqws_decode_error *err) {
    if (MQWS_UNLIKELY(len < 2 || (unsigned)(level - MQWS_MQTT_31) > 2u || !buf))
        return dec_bad_header(buf, len, level, err);
    unsigned b0 = buf[0], type = b0 >> 4, fl = b0 & 15;
    uint32_t rl;
    size_t hdr;
    if (MQWS_LIKELY(!(buf[1] & 0x80))) {
        rl = buf[1];
        hdr = 2;
    } else {
        int k = mqws_varint_decode(buf + 1, len - 1, &rl);
        if (k <= 0)
            return dec_bad_header(buf, len, level, err);
        hdr = 1 + (size_t)k;
    }
    if (MQWS_UNLIKELY(hdr + rl != len))
        return dec_bad_header(buf, len, level, err);
    out->type = (uint8_t)type;
    out->flags = (uint8_t)fl;
    const uint8_t *p = buf + hdr, *end = buf + len;
    if (MQWS_LIKELY(type == MQWS_PKT_PUBLISH))
        return dec_publish(buf, p, end, level, flags, fl, out, err);
    return dec_other(buf, p, end, type, fl, level, flags, out, err);
}

/* mqws__fast_text_in() with only its common case inline (at most 16 bytes, ending at least 16
 * bytes into the packet: one load), the others in a call, so that the fast paths stay small. */
MQWS_NOINLINE static int text_in_cold(const uint8_t *s, size_t n, const uint8_t *lo,
                                      const uint8_t *hi, int topic) {
    return mqws__fast_text_in(s, n, lo, hi, topic);
}

MQWS_INLINE int text_in(const uint8_t *s, size_t n, const uint8_t *lo, const uint8_t *hi,
                        int topic) {
#if defined(__SSE2__)
    if (MQWS_LIKELY(n <= 16 && (size_t)(s + n - lo) >= 16))
        return (mqws__sse_bad(MQWS__LD128(s + n - 16), topic) >> (16 - n)) == 0;
#endif
    return text_in_cold(s, n, lo, hi, topic);
}

/* The key and value of the user property at p (bounds already checked) as UTF-8 without
 * U+0000, through the fast text check: the long form of the fast path's one-load test. */
MQWS_NOINLINE static int user_text_ok(const uint8_t *p, const uint8_t *lo, const uint8_t *hi) {
    size_t kn = mqws__load16(p + 1), vn = mqws__load16(p + 3 + kn);
    return mqws__fast_text_in(p + 3, kn, lo, hi, 0) &&
           mqws__fast_text_in(p + 5 + kn, vn, lo, hi, 0);
}

/* The property block of a PUBLISH on the fast path: one switch over the identifier, each
 * property read in place with its own checks (allowed set: the cases; duplicates: `seen`;
 * ranges; UTF-8 and topic syntax through the fast text checks). Returns MQWS_OK, or 1 for
 * "not handled here" (anything invalid or unusual: decode_full() then finds the statement). */
MQWS_INLINE int pub_props_fast(const uint8_t *buf, const uint8_t *p, const uint8_t *end,
                               uint32_t dir, mqws_props *out) {
    uint32_t seen = 0, nuser = 0, nsub = 0;
    out->raw.ptr = p;
    out->raw.len = (size_t)(end - p);
    out->user_props = NULL;
    out->sub_ids = NULL;
#define NEED(k)                                                                                    \
    if (MQWS_UNLIKELY(end - p < (k)))                                                              \
    return 1
#define ONCE(f)                                                                                    \
    if (MQWS_UNLIKELY(seen & (f)))                                                                 \
        return 1;                                                                                  \
    seen |= (f)
/* The string or binary value at p + 1: its bytes in s[0..n), p moved past it. */
#define STRING(s, n)                                                                               \
    NEED(3);                                                                                       \
    size_t n = mqws__load16(p + 1);                                                                \
    const uint8_t *s = p + 3;                                                                      \
    if (MQWS_UNLIKELY((size_t)(end - s) < n))                                                      \
        return 1;                                                                                  \
    p = s + n
    while (p < end) {
        switch (*p) {
            case MQWS_PROP_PAYLOAD_FORMAT_INDICATOR:
                NEED(2);
                ONCE(MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR);
                if (MQWS_UNLIKELY(p[1] > 1))
                    return 1;
                out->payload_format = p[1];
                p += 2;
                break;
            case MQWS_PROP_MESSAGE_EXPIRY_INTERVAL:
                NEED(5);
                ONCE(MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL);
                out->message_expiry = mqws__load32(p + 1);
                p += 5;
                break;
            case MQWS_PROP_CONTENT_TYPE: {
                ONCE(MQWS_PROPF_CONTENT_TYPE);
                STRING(s, n);
                if (MQWS_UNLIKELY(!text_in(s, n, buf, end, 0)))
                    return 1;
                out->content_type.ptr = s;
                out->content_type.len = n;
                break;
            }
            case MQWS_PROP_RESPONSE_TOPIC: {
                ONCE(MQWS_PROPF_RESPONSE_TOPIC);
                STRING(s, n);
                if (MQWS_UNLIKELY(n == 0 || !text_in(s, n, buf, end, 1)))
                    return 1;
                out->response_topic.ptr = s;
                out->response_topic.len = n;
                break;
            }
            case MQWS_PROP_CORRELATION_DATA: {
                ONCE(MQWS_PROPF_CORRELATION_DATA);
                STRING(s, n);
                out->correlation_data.ptr = s;
                out->correlation_data.len = n;
                break;
            }
            case MQWS_PROP_TOPIC_ALIAS: {
                NEED(3);
                ONCE(MQWS_PROPF_TOPIC_ALIAS);
                uint16_t v = mqws__load16(p + 1);
                if (MQWS_UNLIKELY(v == 0))
                    return 1;
                out->topic_alias = v;
                p += 3;
                break;
            }
            case MQWS_PROP_USER_PROPERTY: {
                /* Identifier, key length, key, value length, value. */
                size_t rem = (size_t)(end - p), kn, vn;
                if (MQWS_UNLIKELY(rem < 5 || rem - 5 < (kn = mqws__load16(p + 1)) ||
                                  rem - 5 - kn < (vn = mqws__load16(p + 3 + kn))))
                    return 1;
                const uint8_t *e = p + 5 + kn + vn; /* the property's end */
#if defined(__SSE2__)
                /* Key, value length and value in one 16-byte load ending at the value's end,
                 * the two length lanes masked off. */
                if (MQWS_LIKELY(kn + vn <= 14 && (size_t)(e - buf) >= 16)) {
                    unsigned m = mqws__sse_bad(MQWS__LD128(e - 16), 0) >> (14 - kn - vn);
                    if (MQWS_UNLIKELY(m & ~(3u << kn)))
                        return 1;
                } else
#endif
                    if (MQWS_UNLIKELY(!user_text_ok(p, buf, end)))
                    return 1;
                if (nuser++ == 0) /* from buf here, from raw once the walk is over */
                    out->user_first = (uint32_t)(p - buf);
                p = e;
                seen |= MQWS_PROPF_USER_PROPERTY; /* repeatable: no ONCE() */
                break;
            }
            case MQWS_PROP_SUBSCRIPTION_IDENTIFIER: {
                uint32_t v;
                int k = mqws__rd_varint(p + 1, end, &v);
                /* Not from a client [MQTT-3.3.4-6]; non-zero; a valid varint. */
                if (MQWS_UNLIKELY(k <= 0 || v == 0 || (dir & MQWS_DECODE_FROM_CLIENT)))
                    return 1;
                if (nsub++ == 0)
                    out->subscription_id = v;
                seen |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
                p += 1 + k;
                break;
            }
            default:
                return 1;
        }
    }
#undef NEED
#undef ONCE
#undef STRING
    out->present = seen;
    out->user_prop_count = nuser;
    out->sub_id_count = nsub;
    out->user_first =
        nuser ? out->user_first - (uint32_t)(out->raw.ptr - buf) : (uint32_t)out->raw.len;
    return MQWS_OK;
}

/* Fixed-header flag values a PUBLISH may not have: QoS 3 (6, 7, 14, 15) [MQTT-3.3.1-4] and DUP
 * with QoS 0 (8, 9) [MQTT-3.3.1-2]. */
#define BAD_PUBLISH_FLAGS 0xC3C0u

/* The fast path: a valid PUBLISH (the packet a broker sees most) decoded with as little work
 * as the rules allow. Returns MQWS_OK, or 1 for "not handled here": anything unusual, valid or
 * not, then goes to decode_full(), which also finds the statement an invalid packet breaks.
 * `v5` is a constant in each instance, so the 3.x instance is a leaf without properties code. */
MQWS_INLINE int publish_fast(const uint8_t *buf, size_t len, uint32_t flags, mqws_packet *out,
                             const int v5) {
    unsigned fl = buf[0] & 15;
    size_t hdr = 2;
    uint32_t rl = buf[1];
    if (MQWS_UNLIKELY(rl & 0x80)) {
        int k = mqws__rd_varint(buf + 1, buf + len, &rl);
        if (k <= 0)
            return 1;
        hdr = 1 + (size_t)k;
    }
    if (MQWS_UNLIKELY(hdr + rl != len || ((BAD_PUBLISH_FLAGS >> fl) & 1)))
        return 1;
    unsigned qos = (fl >> 1) & 3;
    const uint8_t *p = buf + hdr;
    size_t tl = mqws__load16(p);
    if (MQWS_UNLIKELY(2 + tl + (qos ? 2u : 0u) > rl || tl == 0 ||
                      !text_in(p + 2, tl, buf, buf + len, 1)))
        return 1;
    out->topic.ptr = p + 2;
    out->topic.len = tl;
    p += 2 + tl;
    uint16_t pid = 0;
    if (qos) {
        pid = mqws__load16(p);
        p += 2;
        if (MQWS_UNLIKELY(pid == 0))
            return 1;
    }
    /* The header fields now, so that they are not live across the property loop (a packet
     * this path gives up on is decoded again from scratch by decode_full()). */
    out->type = MQWS_PKT_PUBLISH;
    out->flags = (uint8_t)fl;
    out->dup = (uint8_t)(fl >> 3);
    out->qos = (uint8_t)qos;
    out->retain = (uint8_t)(fl & 1);
    out->packet_id = pid;
    const uint8_t *end = buf + len;
    if (v5) {
        uint32_t n;
        int k = mqws__rd_varint(p, end, &n);
        if (MQWS_UNLIKELY(k <= 0 || n > (size_t)(end - p - k)))
            return 1;
        p += k;
        if (n) {
            if (MQWS_UNLIKELY(pub_props_fast(buf, p, p + n, flags, &out->props) != MQWS_OK))
                return 1;
            p += n;
        } else {
            props_clear(&out->props);
            out->props.raw.ptr = p;
        }
    } else {
        props_clear(&out->props);
    }
    out->payload.ptr = p;
    out->payload.len = (size_t)(end - p);
    return MQWS_OK;
}

MQWS_NOINLINE static int publish_fast3(const uint8_t *buf, size_t len, mqws_packet *out) {
    return publish_fast(buf, len, 0, out, 0);
}
/* The entry list of a SUBSCRIBE (mode bit 0) or UNSUBSCRIBE at 3.x or 5.0 (mode bit 1), as a
 * leaf with little state: the number of entries when every one is fine (ASCII filter with legal
 * wildcards, not "$" at 5.0, valid options byte), or 0 for "let decode_full() look". */
MQWS_NOINLINE static uint32_t sub_entries(const uint8_t *lo, const uint8_t *p, const uint8_t *end,
                                          unsigned mode);

#if defined(__SSE2__)
/* sub_entries() for an entry list of at most 64 bytes, in one SSE2 sweep: the whole region is
 * classified at once (bit i of `spec` = byte p[i] is NUL, >= 0x80, '+' or '#'); the structure
 * walk only bounds-checks the lengths and option bytes and records where the filters end; then
 * the special lanes inside filters, usually none or a few wildcards, are looked at one by one:
 * a NUL or non-ASCII byte sends the packet to decode_full(), a wildcard must be preceded by '/'
 * or the filter start, '+' followed by '/' or the filter end, '#' the last byte
 * [MQTT-4.7.1-1] [MQTT-4.7.1-2]. Same answers as the per-filter loop. Loads stay in
 * [end - 16, end) and [p, end); the caller checks that end - 16 is inside the packet. */
MQWS_INLINE uint32_t sub_entries_sweep(const uint8_t *p, const uint8_t *end, unsigned mode) {
    const size_t sub = mode & 1;
    const uint64_t ok = (mode & 2) ? 0x0000777777777777ull : 7u;
    size_t len = (size_t)(end - p);
    uint64_t spec;
    {
        /* The last block ends at `end`; the others start at p + 16k. */
        uint64_t t = mqws__fblock(MQWS__LD128(end - 16));
        if (len >= 16) {
            spec = t << (len - 16);
            for (size_t i = 0; i + 16 < len; i += 16)
                spec |= (uint64_t)mqws__fblock(MQWS__LD128(p + i)) << i;
        } else {
            spec = t >> (16 - len);
        }
    }
    uint64_t last = 0;
    uint32_t count = 0;
    size_t off = 0;
    while (off < len) {
        if (MQWS_UNLIKELY(len - off < 2))
            return 0;
        size_t n = mqws__load16(p + off);
        if (MQWS_UNLIKELY(n == 0 || n + sub > len - off - 2))
            return 0;
        if ((mode & 2) && MQWS_UNLIKELY(p[off + 2] == '$'))
            return 0;
        off += 2 + n;
        last |= 1ull << (off - 1);
        if (sub) {
            unsigned o = p[off];
            if (MQWS_UNLIKELY((mode & 2) ? o >= 64 || !((ok >> o) & 1) : o > 2))
                return 0;
            off++;
        }
        count++;
    }
    /* Each filter starts 3 bytes (UNSUBSCRIBE) or 4 (SUBSCRIBE) after the previous one ends,
     * the first at 2; a bit past the region from the last filter is harmless (no class bit
     * there), and bits past 63 fall off. */
    uint64_t first = (last << (sub ? 4 : 3)) | 4u;
    /* Only filter bytes count: not the two length bytes before each filter, nor the options
     * byte after it. */
    spec &= ~((first >> 1) | (first >> 2) | (sub ? last << 1 : 0));
    while (MQWS_UNLIKELY(spec != 0)) {
        unsigned i = (unsigned)__builtin_ctzll(spec);
        spec &= spec - 1;
        unsigned c = p[i], at_end = (unsigned)(last >> i) & 1;
        /* A wildcard (else NUL or non-ASCII): '#' last, '+' last or before '/'; either after
         * '/' or at the filter start (i >= 2 here: a length comes first). */
        if (c == '+') {
            if (MQWS_UNLIKELY(!at_end && p[i + 1] != '/'))
                return 0;
        } else if (MQWS_UNLIKELY(c != '#' || !at_end)) {
            return 0;
        }
        if (MQWS_UNLIKELY(!((first >> i) & 1) && p[i - 1] != '/'))
            return 0;
    }
    return count;
}
#endif

/* The entry list of a SUBSCRIBE or UNSUBSCRIBE: the one-sweep form when it fits. */
MQWS_INLINE uint32_t sub_entries_any(const uint8_t *lo, const uint8_t *p, const uint8_t *end,
                                     unsigned mode) {
#if defined(__SSE2__)
    size_t len = (size_t)(end - p);
    if (MQWS_LIKELY(len - 1 < 64 && (size_t)(end - lo) >= 16)) {
        switch (mode) { /* one instance per mode, each with its constants */
            case 0:
                return sub_entries_sweep(p, end, 0);
            case 1:
                return sub_entries_sweep(p, end, 1);
            case 2:
                return sub_entries_sweep(p, end, 2);
            default:
                return sub_entries_sweep(p, end, 3);
        }
    }
#endif
    return sub_entries(lo, p, end, mode);
}

MQWS_NOINLINE static uint32_t sub_entries(const uint8_t *lo, const uint8_t *p, const uint8_t *end,
                                          unsigned mode) {
    const size_t sub = mode & 1;
    /* Valid option bytes: 0..2 before 5.0; at 5.0 bits 7-6 clear and neither QoS nor Retain
     * Handling 3, the 36 values whose bit is set in `ok5`. */
    const uint64_t ok = (mode & 2) ? 0x0000777777777777ull : 7u;
    uint32_t count = 0;
    while (p < end) {
        if (MQWS_UNLIKELY(end - p < 2))
            return 0;
        size_t n = mqws__load16(p);
        const uint8_t *f = p + 2;
        if (MQWS_UNLIKELY(n + sub > (size_t)(end - f)))
            return 0;
        p = f + n;
        if (sub) {
            unsigned o = *p++;
            if (MQWS_UNLIKELY(o >= 64 || !((ok >> o) & 1)))
                return 0;
        }
        if (MQWS_UNLIKELY(!mqws__fast_filter_in(f, n, lo, end) || ((mode & 2) && f[0] == '$')))
            return 0;
        count++;
    }
    return count;
}

/* SUBSCRIBE and UNSUBSCRIBE without properties trouble: every entry with an ASCII filter
 * whose wildcards are legal; "$" filters at 5.0 (shared subscriptions) and anything else
 * unusual go to decode_full(). */
MQWS_NOINLINE static int subscribe_fast(const uint8_t *buf, size_t len, uint8_t level,
                                        uint32_t flags, mqws_packet *out, mqws_decode_error *err) {
    size_t hdr = 2;
    uint32_t rl = buf[1];
    if (MQWS_UNLIKELY(rl & 0x80)) {
        int k = mqws__rd_varint(buf + 1, buf + len, &rl);
        if (k <= 0)
            goto full;
        hdr = 1 + (size_t)k;
    }
    if (MQWS_UNLIKELY(hdr + rl != len || rl < 2 || (flags & MQWS_DECODE_FROM_SERVER)))
        goto full;
    const uint8_t *p = buf + hdr, *end = buf + len;
    uint16_t pid = mqws__load16(p);
    p += 2;
    if (MQWS_UNLIKELY(pid == 0))
        goto full;
    /* The header fields now, so that they are not live across the entry sweep (a packet this
     * path gives up on is decoded again from scratch by decode_full()). */
    out->type = (uint8_t)(buf[0] >> 4);
    out->flags = 2;
    out->packet_id = pid;
    out->subs = NULL;
    out->unsub_filters = NULL;
    if (level == MQWS_MQTT_5) {
        uint32_t n;
        int k = mqws__rd_varint(p, end, &n);
        if (MQWS_UNLIKELY(k <= 0 || n > (size_t)(end - p - k)))
            goto full;
        p += k;
        if (n) {
            if (mqws__props_parse(p, n, buf[0] >> 4, level, &out->props, NULL, 0) != MQWS_OK)
                goto full;
            p += n;
        } else {
            props_clear(&out->props);
            out->props.raw.ptr = p;
        }
    } else {
        props_clear(&out->props);
    }
    out->entries.ptr = p;
    out->entries.len = (size_t)(end - p);
    /* Mode bit 0: SUBSCRIBE (0x82; UNSUBSCRIBE is 0xA2); bit 1: 5.0. */
    unsigned mode = ((buf[0] >> 5) & 1 ? 0u : 1u) | (level == MQWS_MQTT_5 ? 2u : 0u);
    uint32_t count = sub_entries_any(buf, p, end, mode);
    if (MQWS_UNLIKELY(count == 0))
        goto full;
    out->entry_count = count;
    return MQWS_OK;
full:
    return decode_full(buf, len, level, flags, out, err);
}

/* A 3.x PUBLISH the inline path did not take (longer packets, or something to report). */
MQWS_NOINLINE static int decode_dispatch(const uint8_t *buf, size_t len, uint8_t level,
                                         uint32_t flags, mqws_packet *out, mqws_decode_error *err) {
    if (publish_fast3(buf, len, out) == MQWS_OK)
        return MQWS_OK;
    return decode_full(buf, len, level, flags, out, err);
}

/* Levels 3 and 4 (and invalid levels, which decode_full() reports). */
MQWS_NOINLINE static int decode_v3(const uint8_t *buf, size_t len, uint8_t level, uint32_t flags,
                                   mqws_packet *out, mqws_decode_error *err) {
    /* The most common packet of all, inline: a 3.x PUBLISH shorter than 130 bytes. */
    if (MQWS_LIKELY(len >= 4 && len < 130 && buf && (buf[0] >> 4) == MQWS_PKT_PUBLISH &&
                    (uint8_t)(level - MQWS_MQTT_31) < 2 && buf[1] == len - 2)) {
        unsigned fl = buf[0] & 15;
        size_t tl = mqws__load16(buf + 2);
        size_t q2 = (fl & 6) ? 2 : 0;
        if (MQWS_LIKELY(!((BAD_PUBLISH_FLAGS >> fl) & 1) && tl && 4 + tl + q2 <= len &&
                        mqws__fast_text(buf + 4, tl, 1))) {
            const uint8_t *p = buf + 4 + tl;
            uint16_t pid = q2 ? mqws__load16(p) : 0;
            if (MQWS_LIKELY(pid || !q2)) {
                p += q2;
                out->type = MQWS_PKT_PUBLISH;
                out->flags = (uint8_t)fl;
                out->dup = (uint8_t)(fl >> 3);
                out->qos = (uint8_t)((fl >> 1) & 3);
                out->retain = (uint8_t)(fl & 1);
                out->packet_id = pid;
                out->topic.ptr = buf + 4;
                out->topic.len = tl;
                out->payload.ptr = p;
                out->payload.len = (size_t)(buf + len - p);
                props_clear(&out->props);
                return MQWS_OK;
            }
        }
    }
    if (len >= 4 && buf && (unsigned)(level - MQWS_MQTT_31) <= 1u) {
        if ((buf[0] >> 4) == MQWS_PKT_PUBLISH)
            return decode_dispatch(buf, len, level, flags, out, err);
        if (buf[0] == (MQWS_PKT_SUBSCRIBE << 4 | 2) || buf[0] == (MQWS_PKT_UNSUBSCRIBE << 4 | 2))
            return subscribe_fast(buf, len, level, flags, out, err);
    }
    return decode_full(buf, len, level, flags, out, err);
}

/* A 5.0 PUBLISH (mqws_decode() checked len >= 4 and buf). */
MQWS_NOINLINE static int decode_pub5(const uint8_t *buf, size_t len, uint32_t flags,
                                     mqws_packet *out, mqws_decode_error *err) {
    if (MQWS_LIKELY(publish_fast(buf, len, flags, out, 1) == MQWS_OK))
        return MQWS_OK;
    return decode_full(buf, len, MQWS_MQTT_5, flags, out, err);
}

MQWS_NOINLINE static int decode_v5(const uint8_t *buf, size_t len, uint32_t flags, mqws_packet *out,
                                   mqws_decode_error *err) {
    if (MQWS_LIKELY(len >= 4 && buf) && (buf[0] & 0xDF) == 0x82) /* SUBSCRIBE, UNSUBSCRIBE */
        return subscribe_fast(buf, len, MQWS_MQTT_5, flags, out, err);
    return decode_full(buf, len, MQWS_MQTT_5, flags, out, err);
}

MQWS_NOINLINE static int decode_pub3(const uint8_t *buf, size_t len, uint8_t level, uint32_t flags,
                                     mqws_packet *out, mqws_decode_error *err) {
    /* The most common packet of all, as a leaf: a valid 3.x PUBLISH of 4..129 bytes with a
     * topic of 1..16 ASCII bytes (no NUL, no wildcard), flags allowed [MQTT-3.3.1-2]
     * [MQTT-3.3.1-4], a non-zero packet id at QoS > 0. Anything else goes the long way.
     * Called by mqws_decode() only with level 3 or 4, buf non-NULL and 4 <= len < 130. */
    {
        unsigned b0 = buf[0], x = b0 - (MQWS_PKT_PUBLISH << 4);
        size_t rl = buf[1]; /* rl + 2 == len below: 2..127, a one-byte remaining length */
        if (MQWS_LIKELY(x < 32u && ((0x3C3Fu >> x) & 1) && rl + 2 == len)) {
            size_t tl = mqws__load16(buf + 2);
            size_t q2 = (b0 & 6) ? 2 : 0;
            const uint8_t *t = buf + 4;
            if (MQWS_LIKELY(tl - 1 < 16u && tl + q2 <= rl - 2)) {
                uint64_t w = tl > 8 ? mqws__ld64(t) : mqws__ld_short(t, tl);
                uint64_t w2 = tl > 8 ? mqws__ld64(t + tl - 8) : w;
                if (MQWS_LIKELY(mqws__topic_words_ok(w, w2))) {
                    const uint8_t *p = t + tl;
                    uint16_t pid = q2 ? mqws__load16(p) : 0;
                    if (MQWS_LIKELY(pid || !q2)) {
                        p += q2;
                        out->type = MQWS_PKT_PUBLISH;
                        out->flags = (uint8_t)x;
                        out->dup = (uint8_t)(x >> 3);
                        out->qos = (uint8_t)((x >> 1) & 3);
                        out->retain = (uint8_t)(x & 1);
                        out->packet_id = pid;
                        out->topic.ptr = t;
                        out->topic.len = tl;
                        out->payload.ptr = p;
                        out->payload.len = (size_t)(buf + len - p);
                        props_clear(&out->props);
                        return MQWS_OK;
                    }
                }
            }
        }
    }
    return decode_v3(buf, len, level, flags, out, err);
}

int mqws_decode(const uint8_t *buf, size_t len, uint8_t level, uint32_t flags, mqws_packet *out,
                mqws_decode_error *err) {
    /* Only tail calls here, so that no path pays for another's registers. */
    if (MQWS_LIKELY((unsigned)(level - MQWS_MQTT_31) < 2u && buf && len >= 4)) {
        if (MQWS_LIKELY((buf[0] >> 4) == MQWS_PKT_PUBLISH && len < 130))
            return decode_pub3(buf, len, level, flags, out, err);
        if ((buf[0] & 0xDF) == 0x82) /* SUBSCRIBE or UNSUBSCRIBE with flags 2 */
            return subscribe_fast(buf, len, level, flags, out, err);
    }
    if (level == MQWS_MQTT_5) {
        if (MQWS_LIKELY(buf && len >= 4 && (buf[0] >> 4) == MQWS_PKT_PUBLISH))
            return decode_pub5(buf, len, flags, out, err);
        return decode_v5(buf, len, flags, out, err);
    }
    return decode_v3(buf, len, level, flags, out, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry iteration: the exported forms of the inline iterators in mqws/codec.h (the names are
 * parenthesised so that the header's macros do not expand here). */

void(mqws_entry_iter_init)(const mqws_packet *p, uint8_t level, mqws_entry_iter *it) {
    mqws__entry_iter_init(p, level, it);
}

int(mqws_subscribe_next)(mqws_entry_iter *it, mqws_subscription *out) {
    return mqws__subscribe_next(it, out);
}

int(mqws_unsubscribe_next)(mqws_entry_iter *it, mqws_view *filter) {
    return mqws__unsubscribe_next(it, filter);
}
