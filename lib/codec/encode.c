/* Encoding (size, then serialise into the caller's buffer; PUBLISH also as header + payload
 * iovec) and mqws_validate(), which applies the decoder's rules (rules.c) to a packet struct.
 * SPDX-License-Identifier: MIT */
#include "codec_internal.h"

#define V5(level) ((level) == MQWS_MQTT_5)

void mqws_packet_init(mqws_packet *p, int type) {
    memset(p, 0, sizeof *p);
    p->type = (uint8_t)type;
    if (type == MQWS_PKT_PUBREL || type == MQWS_PKT_SUBSCRIBE || type == MQWS_PKT_UNSUBSCRIBE)
        p->flags = 0x2;
}

typedef struct plan {
    size_t rl;      /* remaining length */
    unsigned first; /* first byte */
    unsigned tail;  /* 5.0 acks, DISCONNECT, AUTH: 0, 1 or 2 (see tail_form) */
    mqws__pplan pp; /* props */
    mqws__pplan wp; /* will props */
} plan;

MQWS_INLINE size_t props_wire(const mqws__pplan *pp) {
    return mqws__varint_size(pp->len) + pp->len;
}

/* Walk wire-form SUBSCRIBE / UNSUBSCRIBE entries; their byte count, or 0 if not well-formed or
 * not `count` entries. */
static size_t entries_check(mqws_view e, int sub, uint8_t level, uint32_t count) {
    const uint8_t *p = e.ptr, *end = e.ptr + e.len;
    uint32_t n = 0;
    if (!p)
        return 0;
    while (p < end) {
        if (end - p < 2)
            return 0;
        size_t len = mqws__load16(p);
        if ((size_t)(end - p - 2) < len + (sub ? 1u : 0u))
            return 0;
        p += 2 + len;
        if (sub && mqws__check_sub_options(*p++, level, NULL, 0))
            return 0;
        n++;
    }
    return n == count ? e.len : 0;
}

static int plan_tail(const mqws_packet *p, int type, uint8_t level, plan *pl, size_t base) {
    if (mqws__check_reason(p->reason_code, type, level, NULL, 0))
        return MQWS_EINVAL;
    int rc = mqws__props_plan(&p->props, type, &pl->pp);
    if (rc)
        return rc;
    unsigned need = pl->pp.len ? 2u : p->reason_code ? 1u : 0u;
    unsigned form = p->tail_form > 2 ? 2u : p->tail_form;
    pl->tail = need > form ? need : form;
    pl->rl = base + (pl->tail >= 1 ? 1 : 0) + (pl->tail == 2 ? props_wire(&pl->pp) : 0);
    return MQWS_OK;
}

static int plan_packet(const mqws_packet *p, uint8_t level, plan *pl) {
    if (level < MQWS_MQTT_31 || level > MQWS_MQTT_5)
        return MQWS_EINVAL;
    int type = p->type, rc, v5 = V5(level);
    size_t rl = 0;
    pl->first = (unsigned)type << 4;
    pl->tail = 0;
    switch (type) {
        case MQWS_PKT_PUBLISH: {
            if (p->qos > 2 || p->dup > 1 || p->retain > 1 || (p->dup && !p->qos))
                return MQWS_EINVAL;
            if (p->topic.len > 0xFFFF || (p->qos && !p->packet_id))
                return MQWS_EINVAL;
            pl->first |= (unsigned)(p->dup << 3 | p->qos << 1 | p->retain);
            rl = 2 + p->topic.len + (p->qos ? 2 : 0) + p->payload.len;
            if (v5) {
                rc = mqws__props_plan(&p->props, type, &pl->pp);
                if (rc)
                    return rc;
                rl += props_wire(&pl->pp);
                if (!p->topic.len && !(p->props.present & MQWS_PROPF_TOPIC_ALIAS))
                    return MQWS_EINVAL;
            } else if (!p->topic.len) {
                return MQWS_EINVAL;
            }
            break;
        }
        case MQWS_PKT_CONNECT: {
            if (p->clean_start > 1 || p->will_flag > 1 || p->will_retain > 1 || p->will_qos > 2 ||
                p->has_username > 1 || p->has_password > 1 ||
                (!p->will_flag && (p->will_qos || p->will_retain)) ||
                (!v5 && p->has_password && !p->has_username))
                return MQWS_EINVAL;
            if (p->client_id.len > 0xFFFF || p->will_topic.len > 0xFFFF ||
                p->will_payload.len > 0xFFFF || p->username.len > 0xFFFF ||
                p->password.len > 0xFFFF)
                return MQWS_EINVAL;
            rl = (level == MQWS_MQTT_31 ? 8 : 6) + 1 + 1 + 2 + 2 + p->client_id.len;
            if (v5) {
                rc = mqws__props_plan(&p->props, type, &pl->pp);
                if (rc)
                    return rc;
                rl += props_wire(&pl->pp);
            }
            if (p->will_flag) {
                if (!p->will_topic.len)
                    return MQWS_EINVAL;
                rl += 4 + p->will_topic.len + p->will_payload.len;
                if (v5) {
                    rc = mqws__props_plan(&p->will_props, MQWS_PROPS_WILL, &pl->wp);
                    if (rc)
                        return rc;
                    rl += props_wire(&pl->wp);
                }
            }
            if (p->has_username)
                rl += 2 + p->username.len;
            if (p->has_password)
                rl += 2 + p->password.len;
            break;
        }
        case MQWS_PKT_CONNACK:
            if (p->session_present > 1 ||
                mqws__check_connack(p->session_present, p->reason_code, level, NULL, 0))
                return MQWS_EINVAL;
            rl = 2;
            if (v5) {
                rc = mqws__props_plan(&p->props, type, &pl->pp);
                if (rc)
                    return rc;
                rl += props_wire(&pl->pp);
            }
            break;
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBCOMP:
            if (type == MQWS_PKT_PUBREL)
                pl->first |= 2;
            if (!p->packet_id)
                return MQWS_EINVAL;
            if (v5)
                return plan_tail(p, type, level, pl, 2);
            rl = 2;
            break;
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE: {
            pl->first |= 2;
            if (!p->packet_id || !p->entry_count)
                return MQWS_EINVAL;
            int sub = type == MQWS_PKT_SUBSCRIBE;
            rl = 2;
            if ((sub && p->subs) || (!sub && p->unsub_filters)) {
                for (uint32_t i = 0; i < p->entry_count; i++) {
                    mqws_view f = sub ? p->subs[i].filter : p->unsub_filters[i];
                    if (!f.len || f.len > 0xFFFF)
                        return MQWS_EINVAL;
                    if (sub) {
                        const mqws_subscription *s = &p->subs[i];
                        if (s->qos > 2 || (v5 && (s->no_local > 1 || s->retain_as_published > 1 ||
                                                  s->retain_handling > 2)))
                            return MQWS_EINVAL;
                    }
                    rl += 2 + f.len + (size_t)sub;
                }
            } else {
                size_t n = entries_check(p->entries, sub, level, p->entry_count);
                if (!n)
                    return MQWS_EINVAL;
                rl += n;
            }
            if (v5) {
                rc = mqws__props_plan(&p->props, type, &pl->pp);
                if (rc)
                    return rc;
                rl += props_wire(&pl->pp);
            }
            break;
        }
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            if (!p->packet_id)
                return MQWS_EINVAL;
            rl = 2;
            if (type == MQWS_PKT_UNSUBACK && !v5)
                break;
            if (!p->reason_codes.len || !p->reason_codes.ptr)
                return MQWS_EINVAL;
            for (size_t i = 0; i < p->reason_codes.len; i++)
                if (mqws__check_reason(p->reason_codes.ptr[i], type, level, NULL, 0))
                    return MQWS_EINVAL;
            rl += p->reason_codes.len;
            if (v5) {
                rc = mqws__props_plan(&p->props, type, &pl->pp);
                if (rc)
                    return rc;
                rl += props_wire(&pl->pp);
            }
            break;
        case MQWS_PKT_PINGREQ:
        case MQWS_PKT_PINGRESP:
            break;
        case MQWS_PKT_DISCONNECT:
            if (v5)
                return plan_tail(p, type, level, pl, 0);
            break;
        case MQWS_PKT_AUTH:
            if (!v5)
                return MQWS_EINVAL;
            return plan_tail(p, type, level, pl, 0);
        default:
            return MQWS_EINVAL;
    }
    pl->rl = rl;
    return MQWS_OK;
}

MQWS_INLINE int finish_plan(plan *pl, size_t *total) {
    if (pl->rl > MQWS_VARINT_MAX)
        return MQWS_ETOOBIG;
    *total = 1 + mqws__varint_size((uint32_t)pl->rl) + pl->rl;
    return MQWS_OK;
}

int mqws_encoded_size(const mqws_packet *p, uint8_t level, size_t *size) {
    plan pl;
    int rc = plan_packet(p, level, &pl);
    if (rc)
        return rc;
    return finish_plan(&pl, size);
}

static uint8_t *wr_props(uint8_t *o, const mqws_props *pr, const mqws__pplan *pp) {
    o = mqws__wr_varint(o, pp->len);
    return mqws__props_write(o, pr, pp);
}

/* Everything before the PUBLISH payload (or the whole packet for other types). */
static uint8_t *write_packet(const mqws_packet *p, uint8_t level, const plan *pl, uint8_t *o,
                             int with_payload) {
    int v5 = V5(level);
    *o++ = (uint8_t)pl->first;
    o = mqws__wr_varint(o, (uint32_t)pl->rl);
    switch (p->type) {
        case MQWS_PKT_PUBLISH:
            o = mqws__wr_str(o, p->topic);
            if (p->qos) {
                mqws__store16(o, p->packet_id);
                o += 2;
            }
            if (v5)
                o = wr_props(o, &p->props, &pl->pp);
            if (with_payload && p->payload.len) {
                memcpy(o, p->payload.ptr, p->payload.len);
                o += p->payload.len;
            }
            return o;
        case MQWS_PKT_CONNECT: {
            mqws_view name =
                level == MQWS_MQTT_31 ? mqws_view_cstr("MQIsdp") : mqws_view_cstr("MQTT");
            o = mqws__wr_str(o, name);
            *o++ = level;
            *o++ = (uint8_t)(p->has_username << 7 | p->has_password << 6 | p->will_retain << 5 |
                             p->will_qos << 3 | p->will_flag << 2 | p->clean_start << 1);
            mqws__store16(o, p->keep_alive);
            o += 2;
            if (v5)
                o = wr_props(o, &p->props, &pl->pp);
            o = mqws__wr_str(o, p->client_id);
            if (p->will_flag) {
                if (v5)
                    o = wr_props(o, &p->will_props, &pl->wp);
                o = mqws__wr_str(o, p->will_topic);
                o = mqws__wr_str(o, p->will_payload);
            }
            if (p->has_username)
                o = mqws__wr_str(o, p->username);
            if (p->has_password)
                o = mqws__wr_str(o, p->password);
            return o;
        }
        case MQWS_PKT_CONNACK:
            *o++ = p->session_present;
            *o++ = p->reason_code;
            if (v5)
                o = wr_props(o, &p->props, &pl->pp);
            return o;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
        case MQWS_PKT_DISCONNECT:
        case MQWS_PKT_AUTH:
            if (p->type < MQWS_PKT_DISCONNECT) {
                mqws__store16(o, p->packet_id);
                o += 2;
            }
            if (v5 && pl->tail >= 1)
                *o++ = p->reason_code;
            if (v5 && pl->tail == 2)
                o = wr_props(o, &p->props, &pl->pp);
            return o;
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE: {
            int sub = p->type == MQWS_PKT_SUBSCRIBE;
            mqws__store16(o, p->packet_id);
            o += 2;
            if (v5)
                o = wr_props(o, &p->props, &pl->pp);
            if ((sub && p->subs) || (!sub && p->unsub_filters)) {
                for (uint32_t i = 0; i < p->entry_count; i++) {
                    if (sub) {
                        const mqws_subscription *s = &p->subs[i];
                        o = mqws__wr_str(o, s->filter);
                        *o++ =
                            (uint8_t)(v5 ? (s->qos | s->no_local << 2 |
                                            s->retain_as_published << 3 | s->retain_handling << 4)
                                         : s->qos);
                    } else {
                        o = mqws__wr_str(o, p->unsub_filters[i]);
                    }
                }
            } else {
                memcpy(o, p->entries.ptr, p->entries.len);
                o += p->entries.len;
            }
            return o;
        }
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            mqws__store16(o, p->packet_id);
            o += 2;
            if (p->type == MQWS_PKT_UNSUBACK && !v5)
                return o;
            if (v5)
                o = wr_props(o, &p->props, &pl->pp);
            memcpy(o, p->reason_codes.ptr, p->reason_codes.len);
            return o + p->reason_codes.len;
        default: /* PINGREQ, PINGRESP */
            return o;
    }
}

/* PUBLISH properties built from the fields (no raw block to reproduce): sized and written with
 * one test per property the packet may carry, in identifier order, instead of the general
 * table walk. Returns the block length, or (size_t)-1 for a packet the encoder refuses. */
#define PF(x) MQWS_PROPF_##x
MQWS_INLINE size_t pub_props_size(const mqws_props *pr) {
    uint32_t m = pr->present;
    size_t len = 0;
    if (MQWS_UNLIKELY(m & ~mqws__prop_mask[MQWS_PKT_PUBLISH]))
        return (size_t)-1;
    if (m & PF(PAYLOAD_FORMAT_INDICATOR)) {
        if (pr->payload_format > 1)
            return (size_t)-1;
        len += 2;
    }
    if (m & PF(MESSAGE_EXPIRY_INTERVAL))
        len += 5;
    if (m & PF(CONTENT_TYPE)) {
        if (pr->content_type.len > 0xFFFF)
            return (size_t)-1;
        len += 3 + pr->content_type.len;
    }
    if (m & PF(RESPONSE_TOPIC)) {
        if (pr->response_topic.len > 0xFFFF)
            return (size_t)-1;
        len += 3 + pr->response_topic.len;
    }
    if (m & PF(CORRELATION_DATA)) {
        if (pr->correlation_data.len > 0xFFFF)
            return (size_t)-1;
        len += 3 + pr->correlation_data.len;
    }
    if (m & PF(TOPIC_ALIAS)) {
        if (!pr->topic_alias)
            return (size_t)-1;
        len += 3;
    }
    if (pr->sub_ids && pr->sub_id_count) {
        for (uint32_t i = 0; i < pr->sub_id_count; i++) {
            if (pr->sub_ids[i] - 1 >= MQWS_VARINT_MAX)
                return (size_t)-1;
            len += 1 + mqws__varint_size(pr->sub_ids[i]);
        }
    } else if (m & PF(SUBSCRIPTION_IDENTIFIER)) {
        if (pr->subscription_id - 1 >= MQWS_VARINT_MAX)
            return (size_t)-1;
        len += 1 + mqws__varint_size(pr->subscription_id);
    }
    for (uint32_t i = 0; i < pr->user_prop_count && pr->user_props; i++) {
        const mqws_user_prop *u = &pr->user_props[i];
        if ((u->key.len | u->value.len) > 0xFFFF)
            return (size_t)-1;
        len += 5 + u->key.len + u->value.len;
    }
    return len;
}

MQWS_INLINE uint8_t *pub_props_write(uint8_t *o, const mqws_props *pr) {
    uint32_t m = pr->present;
    if (m & PF(PAYLOAD_FORMAT_INDICATOR)) {
        o[0] = MQWS_PROP_PAYLOAD_FORMAT_INDICATOR;
        o[1] = pr->payload_format;
        o += 2;
    }
    if (m & PF(MESSAGE_EXPIRY_INTERVAL)) {
        o[0] = MQWS_PROP_MESSAGE_EXPIRY_INTERVAL;
        mqws__store32(o + 1, pr->message_expiry);
        o += 5;
    }
    if (m & PF(CONTENT_TYPE)) {
        *o++ = MQWS_PROP_CONTENT_TYPE;
        o = mqws__wr_str(o, pr->content_type);
    }
    if (m & PF(RESPONSE_TOPIC)) {
        *o++ = MQWS_PROP_RESPONSE_TOPIC;
        o = mqws__wr_str(o, pr->response_topic);
    }
    if (m & PF(CORRELATION_DATA)) {
        *o++ = MQWS_PROP_CORRELATION_DATA;
        o = mqws__wr_str(o, pr->correlation_data);
    }
    if (pr->sub_ids && pr->sub_id_count) {
        for (uint32_t i = 0; i < pr->sub_id_count; i++) {
            *o++ = MQWS_PROP_SUBSCRIPTION_IDENTIFIER;
            o = mqws__wr_varint(o, pr->sub_ids[i]);
        }
    } else if (m & PF(SUBSCRIPTION_IDENTIFIER)) {
        *o++ = MQWS_PROP_SUBSCRIPTION_IDENTIFIER;
        o = mqws__wr_varint(o, pr->subscription_id);
    }
    if (m & PF(TOPIC_ALIAS)) {
        o[0] = MQWS_PROP_TOPIC_ALIAS;
        mqws__store16(o + 1, pr->topic_alias);
        o += 3;
    }
    for (uint32_t i = 0; i < pr->user_prop_count && pr->user_props; i++) {
        *o++ = MQWS_PROP_USER_PROPERTY;
        o = mqws__wr_str(o, pr->user_props[i].key);
        o = mqws__wr_str(o, pr->user_props[i].value);
    }
    return o;
}
#undef PF

/* PUBLISH, the packet encoded most, without the general plan: one pass of checks and sizes,
 * then the bytes. With `iov`, the payload is left out of `buf` and referenced instead. */
MQWS_INLINE int enc_publish(const mqws_packet *p, uint8_t level, uint8_t *buf, size_t cap,
                            size_t *written, mqws_iovec *iov, const int use_iov) {
    unsigned qos = p->qos, dup = p->dup, retain = p->retain;
    size_t tl = p->topic.len, pl = p->payload.len;
    if (MQWS_UNLIKELY(qos > 2 || dup > 1 || retain > 1 || (dup && !qos) || tl > 0xFFFF ||
                      (qos && !p->packet_id) || (unsigned)(level - MQWS_MQTT_31) > 2u))
        return MQWS_EINVAL;
    size_t rl = 2 + tl + (qos ? 2u : 0u) + pl;
    mqws__pplan pp;
    pp.len = 0;
    /* 1: the fields are written by pub_props_write(); 0: mqws__props_write() as planned. */
    int simple = 1;
    if (level == MQWS_MQTT_5) {
        const mqws_props *pr = &p->props;
        if (pr->raw.len) {
            /* A decoded block: reproduce it, or copy its user properties. */
            int rc = mqws__props_plan(pr, MQWS_PKT_PUBLISH, &pp);
            if (MQWS_UNLIKELY(rc))
                return rc;
            simple = 0;
        } else if (pr->present || pr->user_prop_count || pr->sub_id_count) {
            size_t n = pub_props_size(pr);
            if (MQWS_UNLIKELY(n == (size_t)-1))
                return MQWS_EINVAL;
            if (MQWS_UNLIKELY(n > MQWS_VARINT_MAX))
                return MQWS_ETOOBIG;
            pp.len = (uint32_t)n;
        }
        if (MQWS_UNLIKELY(!tl && !(pr->present & MQWS_PROPF_TOPIC_ALIAS)))
            return MQWS_EINVAL;
        rl += mqws__varint_size(pp.len) + pp.len;
    } else if (MQWS_UNLIKELY(!tl)) {
        return MQWS_EINVAL;
    }
    if (MQWS_UNLIKELY(rl > MQWS_VARINT_MAX))
        return MQWS_ETOOBIG;
    size_t need = 1 + mqws__varint_size((uint32_t)rl) + rl - (use_iov ? pl : 0);
    if (MQWS_UNLIKELY(need > cap || !buf))
        return MQWS_ENOSPC;
    uint8_t *o = buf;
    *o++ = (uint8_t)(0x30 | dup << 3 | qos << 1 | retain);
    o = mqws__wr_varint(o, (uint32_t)rl);
    o = mqws__wr_str(o, p->topic);
    if (qos) {
        mqws__store16(o, p->packet_id);
        o += 2;
    }
    if (level == MQWS_MQTT_5) {
        o = mqws__wr_varint(o, pp.len);
        if (pp.len)
            o = simple ? pub_props_write(o, &p->props) : mqws__props_write(o, &p->props, &pp);
    }
    if (use_iov) {
        iov[0].base = buf;
        iov[0].len = (size_t)(o - buf);
        iov[1].base = p->payload.ptr;
        iov[1].len = pl;
        return MQWS_OK;
    }
    if (pl)
        memcpy(o, p->payload.ptr, pl);
    *written = (size_t)(o - buf) + pl;
    return MQWS_OK;
}

MQWS_NOINLINE static int enc_publish5(const mqws_packet *p, uint8_t *buf, size_t cap,
                                      size_t *written) {
    return enc_publish(p, MQWS_MQTT_5, buf, cap, written, NULL, 0);
}

MQWS_NOINLINE static int enc_other(const mqws_packet *p, uint8_t level, uint8_t *buf, size_t cap,
                                   size_t *written) {
    plan pl;
    size_t total;
    int rc = plan_packet(p, level, &pl);
    if (MQWS_UNLIKELY(rc))
        return rc;
    rc = finish_plan(&pl, &total);
    if (MQWS_UNLIKELY(rc))
        return rc;
    if (MQWS_UNLIKELY(total > cap || !buf))
        return MQWS_ENOSPC;
    uint8_t *end = write_packet(p, level, &pl, buf, 1);
    *written = (size_t)(end - buf);
    return MQWS_OK;
}

int mqws_encode(const mqws_packet *p, uint8_t level, uint8_t *buf, size_t cap, size_t *written) {
    if (MQWS_UNLIKELY(p->type != MQWS_PKT_PUBLISH))
        return enc_other(p, level, buf, cap, written);
    if (level == MQWS_MQTT_5)
        return enc_publish5(p, buf, cap, written);
    return enc_publish(p, level, buf, cap, written, NULL, 0);
}

int mqws_encode_publish_iov(const mqws_packet *p, uint8_t level, uint8_t *hdr, size_t cap,
                            mqws_iovec iov[2]) {
    if (p->type != MQWS_PKT_PUBLISH)
        return MQWS_EINVAL;
    return enc_publish(p, level, hdr, cap, NULL, iov, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Validation: the decoder's rules, applied to the struct. */

#define BAD_FIELD(msg) mqws__fail(err, MQWS_EMALFORMED, NULL, msg, 0)

static int v_str(mqws_view v, uint8_t level, mqws_decode_error *err) {
    if (v.len > 0xFFFF)
        return BAD_FIELD("string longer than 65535 bytes");
    return mqws__check_utf8(v.ptr, v.len, level, err, 0);
}

static int v_props(const mqws_packet *p, int ctx, uint8_t level, uint32_t dir,
                   mqws_decode_error *err) {
    return V5(level) ? mqws__props_validate(&p->props, ctx, level, dir, err) : MQWS_OK;
}

static int v_tail(const mqws_packet *p, uint8_t level, uint32_t dir, mqws_decode_error *err) {
    if (!V5(level))
        return MQWS_OK;
    int rc = mqws__check_reason(p->reason_code, p->type, level, err, 0);
    return rc ? rc : v_props(p, p->type, level, dir, err);
}

static int validate_fields(const mqws_packet *p, uint8_t level, uint32_t dir,
                           mqws_decode_error *err) {
    int rc = mqws__check_type(p->type, level, dir, err), v5 = V5(level);
    if (rc)
        return rc;
    switch (p->type) {
        case MQWS_PKT_PUBLISH:
            if (p->dup > 1 || p->retain > 1 || p->qos > 3)
                return BAD_FIELD("PUBLISH flag out of range");
            rc = mqws__check_publish_flags(p->dup, p->qos, err);
            if (rc)
                return rc;
            if (p->topic.len > 0xFFFF)
                return BAD_FIELD("topic longer than 65535 bytes");
            if (p->topic.len || !v5) {
                rc = mqws__check_topic_name(p->topic.ptr, p->topic.len, level, err, 0);
                if (rc)
                    return rc;
            }
            if (p->qos && (rc = mqws__check_packet_id(p->packet_id, level, err, 0)) != 0)
                return rc;
            if ((rc = v_props(p, MQWS_PKT_PUBLISH, level, dir, err)) != 0)
                return rc;
            if (v5 && !p->topic.len && !(p->props.present & MQWS_PROPF_TOPIC_ALIAS))
                return mqws__fail(err, MQWS_EPROTO, "§3.3.2.3.4",
                                  "empty topic name without a Topic Alias", 0);
            return MQWS_OK;
        case MQWS_PKT_CONNECT: {
            if (p->clean_start > 1 || p->will_flag > 1 || p->will_retain > 1 || p->will_qos > 3 ||
                p->has_username > 1 || p->has_password > 1)
                return BAD_FIELD("CONNECT flag out of range");
            unsigned f =
                (unsigned)(p->has_username << 7 | p->has_password << 6 | p->will_retain << 5 |
                           p->will_qos << 3 | p->will_flag << 2 | p->clean_start << 1);
            if ((rc = mqws__check_connect_flags(f, level, err, 0)) != 0)
                return rc;
            if ((rc = v_props(p, MQWS_PKT_CONNECT, level, dir, err)) != 0)
                return rc;
            if ((rc = v_str(p->client_id, level, err)) != 0)
                return rc;
            if (p->will_flag) {
                if (v5 && (rc = mqws__props_validate(&p->will_props, MQWS_PROPS_WILL, level, dir,
                                                     err)) != 0)
                    return rc;
                if (p->will_topic.len > 0xFFFF || p->will_payload.len > 0xFFFF)
                    return BAD_FIELD("will field longer than 65535 bytes");
                rc = mqws__check_topic_name(p->will_topic.ptr, p->will_topic.len, level, err, 0);
                if (rc)
                    return rc;
            }
            if (p->has_username && (rc = v_str(p->username, level, err)) != 0)
                return rc;
            if (p->has_password && p->password.len > 0xFFFF)
                return BAD_FIELD("password longer than 65535 bytes");
            return MQWS_OK;
        }
        case MQWS_PKT_CONNACK:
            if (p->session_present > 1)
                return BAD_FIELD("session_present out of range");
            rc = mqws__check_connack(p->session_present, p->reason_code, level, err, 0);
            return rc ? rc : v_props(p, MQWS_PKT_CONNACK, level, dir, err);
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            if ((rc = mqws__check_packet_id(p->packet_id, level, err, 0)) != 0)
                return rc;
            return v_tail(p, level, dir, err);
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE: {
            int sub = p->type == MQWS_PKT_SUBSCRIBE;
            if ((rc = mqws__check_packet_id(p->packet_id, level, err, 0)) != 0)
                return rc;
            if ((rc = v_props(p, p->type, level, dir, err)) != 0)
                return rc;
            if (!p->entry_count) {
                if (sub)
                    return mqws__fail(err, MQWS_EPROTO, v5 ? "MQTT-3.8.3-2" : "MQTT-3.8.3-3",
                                      "SUBSCRIBE without a subscription", 0);
                return mqws__fail(err, MQWS_EPROTO, "MQTT-3.10.3-2",
                                  "UNSUBSCRIBE without a topic filter", 0);
            }
            if ((sub && p->subs) || (!sub && p->unsub_filters)) {
                for (uint32_t i = 0; i < p->entry_count; i++) {
                    mqws_view f = sub ? p->subs[i].filter : p->unsub_filters[i];
                    unsigned o = 0;
                    if (f.len > 0xFFFF)
                        return BAD_FIELD("topic filter longer than 65535 bytes");
                    if (sub) {
                        const mqws_subscription *s = &p->subs[i];
                        if (s->qos > 3 || s->no_local > 1 || s->retain_as_published > 1 ||
                            s->retain_handling > 3)
                            return BAD_FIELD("subscription option out of range");
                        o = v5 ? (unsigned)(s->qos | s->no_local << 2 |
                                            s->retain_as_published << 3 | s->retain_handling << 4)
                               : s->qos;
                        if ((rc = mqws__check_sub_options(o, level, err, 0)) != 0)
                            return rc;
                    }
                    rc = mqws__check_filter(f.ptr, f.len, level, v5 && (o & 4), err, 0);
                    if (rc)
                        return rc;
                }
            } else {
                mqws_entry_iter it;
                mqws_entry_iter_init(p, level, &it);
                if (!entries_check(p->entries, sub, level, p->entry_count))
                    return BAD_FIELD("entries do not hold entry_count well-formed entries");
                mqws_subscription s;
                mqws_view f;
                while (sub ? mqws_subscribe_next(&it, &s) : mqws_unsubscribe_next(&it, &f)) {
                    if (sub)
                        f = s.filter;
                    rc = mqws__check_filter(f.ptr, f.len, level, sub && s.no_local, err, 0);
                    if (rc)
                        return rc;
                }
            }
            return MQWS_OK;
        }
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            if ((rc = mqws__check_packet_id(p->packet_id, level, err, 0)) != 0)
                return rc;
            if ((rc = v_props(p, p->type, level, dir, err)) != 0)
                return rc;
            if (p->type == MQWS_PKT_UNSUBACK && !v5)
                return MQWS_OK;
            if (!p->reason_codes.len)
                return mqws__fail(err, MQWS_EPROTO,
                                  p->type == MQWS_PKT_SUBACK ? "§3.9.3" : "§3.11.3",
                                  "acknowledgement without reason codes", 0);
            for (size_t i = 0; i < p->reason_codes.len; i++)
                if ((rc = mqws__check_reason(p->reason_codes.ptr[i], p->type, level, err, 0)) != 0)
                    return rc;
            return MQWS_OK;
        case MQWS_PKT_DISCONNECT:
        case MQWS_PKT_AUTH:
            return v_tail(p, level, dir, err);
        default:
            return MQWS_OK; /* PINGREQ, PINGRESP */
    }
}

int mqws_validate(const mqws_packet *p, uint8_t level, uint32_t flags, mqws_decode_error *err) {
    if (level < MQWS_MQTT_31 || level > MQWS_MQTT_5)
        return mqws__fail(err, MQWS_EINVAL, NULL, "invalid protocol level", 0);
    int rc = validate_fields(p, level, flags, err);
    if (rc)
        return rc;
    size_t size;
    rc = mqws_encoded_size(p, level, &size);
    if (rc == MQWS_ETOOBIG)
        return mqws__fail(err, MQWS_ETOOBIG, "§2.1.4", "packet larger than the protocol maximum",
                          0);
    if (rc)
        return mqws__fail(err, MQWS_EMALFORMED, NULL, "packet cannot be encoded", 0);
    return MQWS_OK;
}
