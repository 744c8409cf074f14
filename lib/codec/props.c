/* MQTT 5 properties (§2.2.2): one-pass parsing with validation, iteration over the raw block,
 * and encoding (size, then write).
 * SPDX-License-Identifier: MIT */
#include "codec_internal.h"

#define UPF  MQWS_PROPF_USER_PROPERTY
#define SIDF MQWS_PROPF_SUBSCRIPTION_IDENTIFIER

void mqws_props_init(mqws_props *props) { memset(props, 0, sizeof *props); }

/* ------------------------------------------------------------------------------------------ */
/* Field access by identifier (the cold paths: validation, comparison, iteration). */

static uint32_t field_u32(const mqws_props *pr, int id) {
    switch (id) {
        case 0x01:
            return pr->payload_format;
        case 0x02:
            return pr->message_expiry;
        case 0x0B:
            return pr->subscription_id;
        case 0x11:
            return pr->session_expiry;
        case 0x13:
            return pr->server_keep_alive;
        case 0x17:
            return pr->request_problem_info;
        case 0x18:
            return pr->will_delay;
        case 0x19:
            return pr->request_response_info;
        case 0x21:
            return pr->receive_maximum;
        case 0x22:
            return pr->topic_alias_maximum;
        case 0x23:
            return pr->topic_alias;
        case 0x24:
            return pr->maximum_qos;
        case 0x25:
            return pr->retain_available;
        case 0x27:
            return pr->maximum_packet_size;
        case 0x28:
            return pr->wildcard_sub_available;
        case 0x29:
            return pr->sub_id_available;
        case 0x2A:
            return pr->shared_sub_available;
        default:
            return 0;
    }
}

static mqws_view field_view(const mqws_props *pr, int id) {
    switch (id) {
        case 0x03:
            return pr->content_type;
        case 0x08:
            return pr->response_topic;
        case 0x09:
            return pr->correlation_data;
        case 0x12:
            return pr->assigned_client_id;
        case 0x15:
            return pr->auth_method;
        case 0x16:
            return pr->auth_data;
        case 0x1A:
            return pr->response_info;
        case 0x1C:
            return pr->server_reference;
        case 0x1F:
            return pr->reason_string;
        default: {
            mqws_view v = {NULL, 0};
            return v;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding */

#define TRUNC()                                                                                    \
    return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2", "truncated property",                      \
                      off + (size_t)(at - start))

int mqws__props_parse(const uint8_t *p, size_t n, int ctx, uint8_t level, mqws_props *out,
                      mqws_decode_error *err, size_t off) {
    const uint8_t *start = p, *end = p + n;
    const uint32_t allowed = mqws__prop_mask[ctx];
    /* Properties that may repeat here: user properties always, subscription identifiers in
     * PUBLISH (one per matching subscription, §3.3.2.3.8). */
    const uint32_t repeatable = UPF | (ctx == MQWS_PKT_PUBLISH ? SIDF : 0);
    uint32_t present = 0, nuser = 0, nsub = 0;
    out->raw.ptr = p;
    out->raw.len = n;
    out->user_props = NULL;
    out->sub_ids = NULL;
    while (p < end) {
        const uint8_t *at = p;
        unsigned id = *p++;
        uint32_t bit = id < 0x2B ? mqws__prop_bit_of_id[id] : 0;
        if (MQWS_UNLIKELY(!(bit & allowed)))
            return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2",
                              bit ? "property not allowed in this packet"
                                  : "unknown property identifier",
                              off + (size_t)(at - start));
        if (MQWS_UNLIKELY(present & bit & ~repeatable))
            return mqws__fail(err, MQWS_EPROTO, "§2.2.2.2", "property included more than once",
                              off + (size_t)(at - start));
        present |= bit;
        switch (id) {
            /* Byte */
            case 0x01:
            case 0x17:
            case 0x19:
            case 0x24:
            case 0x25:
            case 0x28:
            case 0x29:
            case 0x2A: {
                if (p >= end)
                    TRUNC();
                uint8_t v = *p++;
                if (MQWS_UNLIKELY(v > 1)) {
                    int rc = mqws__check_prop_value((int)id, v, err, off + (size_t)(at - start));
                    if (rc)
                        return rc;
                }
                switch (id) {
                    case 0x01:
                        out->payload_format = v;
                        break;
                    case 0x17:
                        out->request_problem_info = v;
                        break;
                    case 0x19:
                        out->request_response_info = v;
                        break;
                    case 0x24:
                        out->maximum_qos = v;
                        break;
                    case 0x25:
                        out->retain_available = v;
                        break;
                    case 0x28:
                        out->wildcard_sub_available = v;
                        break;
                    case 0x29:
                        out->sub_id_available = v;
                        break;
                    default:
                        out->shared_sub_available = v;
                        break;
                }
                break;
            }
            /* Two Byte Integer */
            case 0x13:
            case 0x21:
            case 0x22:
            case 0x23: {
                if (end - p < 2)
                    TRUNC();
                uint16_t v = mqws__load16(p);
                p += 2;
                if (MQWS_UNLIKELY(v == 0 && id != 0x13)) {
                    int rc = mqws__check_prop_value((int)id, v, err, off + (size_t)(at - start));
                    if (rc)
                        return rc;
                }
                switch (id) {
                    case 0x13:
                        out->server_keep_alive = v;
                        break;
                    case 0x21:
                        out->receive_maximum = v;
                        break;
                    case 0x22:
                        out->topic_alias_maximum = v;
                        break;
                    default:
                        out->topic_alias = v;
                        break;
                }
                break;
            }
            /* Four Byte Integer */
            case 0x02:
            case 0x11:
            case 0x18:
            case 0x27: {
                if (end - p < 4)
                    TRUNC();
                uint32_t v = mqws__load32(p);
                p += 4;
                switch (id) {
                    case 0x02:
                        out->message_expiry = v;
                        break;
                    case 0x11:
                        out->session_expiry = v;
                        break;
                    case 0x18:
                        out->will_delay = v;
                        break;
                    default:
                        if (v == 0)
                            return mqws__check_prop_value((int)id, v, err,
                                                          off + (size_t)(at - start));
                        out->maximum_packet_size = v;
                        break;
                }
                break;
            }
            /* Variable Byte Integer */
            case 0x0B: {
                uint32_t v;
                int k = mqws__rd_varint(p, end, &v);
                if (k == 0)
                    TRUNC();
                if (k < 0)
                    return mqws__fail(err, MQWS_EMALFORMED, "MQTT-1.5.5-1",
                                      "malformed variable byte integer", off + (size_t)(p - start));
                p += k;
                if (v == 0)
                    return mqws__check_prop_value((int)id, v, err, off + (size_t)(at - start));
                if (nsub++ == 0)
                    out->subscription_id = v;
                break;
            }
            /* UTF-8 string, binary data, string pair */
            default: {
                if (end - p < 2)
                    TRUNC();
                size_t len = mqws__load16(p);
                if ((size_t)(end - p - 2) < len)
                    TRUNC();
                mqws_view v = {p + 2, len};
                p += 2 + len;
                size_t voff = off + (size_t)(v.ptr - start);
                if (id == 0x09 || id == 0x16) {
                    if (id == 0x09)
                        out->correlation_data = v;
                    else
                        out->auth_data = v;
                    break;
                }
                int rc = id == 0x08 ? mqws__check_response_topic(v.ptr, len, level, err, voff)
                                    : mqws__check_utf8(v.ptr, len, level, err, voff);
                if (rc)
                    return rc;
                switch (id) {
                    case 0x03:
                        out->content_type = v;
                        break;
                    case 0x08:
                        out->response_topic = v;
                        break;
                    case 0x12:
                        out->assigned_client_id = v;
                        break;
                    case 0x15:
                        out->auth_method = v;
                        break;
                    case 0x1A:
                        out->response_info = v;
                        break;
                    case 0x1C:
                        out->server_reference = v;
                        break;
                    case 0x1F:
                        out->reason_string = v;
                        break;
                    default: { /* 0x26 User Property: a second string follows */
                        if (end - p < 2)
                            TRUNC();
                        size_t vlen = mqws__load16(p);
                        if ((size_t)(end - p - 2) < vlen)
                            TRUNC();
                        rc = mqws__check_utf8(p + 2, vlen, level, err,
                                              off + (size_t)(p + 2 - start));
                        if (rc)
                            return rc;
                        p += 2 + vlen;
                        nuser++;
                        break;
                    }
                }
                break;
            }
        }
    }
    out->present = present;
    out->user_prop_count = nuser;
    out->sub_id_count = nsub;
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Iteration. The block was validated by the decoder; a hand-made block is still read safely:
 * iteration stops at the first property that does not fit. */

static int raw_next(const uint8_t **pp, const uint8_t *end, mqws_prop *out) {
    const uint8_t *p = *pp;
    if (p >= end)
        return 0;
    uint8_t id = *p++;
    out->id = id;
    out->u32 = 0;
    out->a.ptr = out->b.ptr = NULL;
    out->a.len = out->b.len = 0;
    switch (mqws__prop_kind(id)) {
        case MQWS__PK_BYTE:
            if (p >= end)
                return -1;
            out->u32 = *p++;
            break;
        case MQWS__PK_U16:
            if (end - p < 2)
                return -1;
            out->u32 = mqws__load16(p);
            p += 2;
            break;
        case MQWS__PK_U32:
            if (end - p < 4)
                return -1;
            out->u32 = mqws__load32(p);
            p += 4;
            break;
        case MQWS__PK_VARINT: {
            int k = mqws__rd_varint(p, end, &out->u32);
            if (k <= 0)
                return -1;
            p += k;
            break;
        }
        case MQWS__PK_STR:
        case MQWS__PK_BIN:
        case MQWS__PK_PAIR: {
            if (end - p < 2)
                return -1;
            size_t len = mqws__load16(p);
            if ((size_t)(end - p - 2) < len)
                return -1;
            out->a.ptr = p + 2;
            out->a.len = len;
            p += 2 + len;
            if (id == MQWS_PROP_USER_PROPERTY) {
                if (end - p < 2)
                    return -1;
                len = mqws__load16(p);
                if ((size_t)(end - p - 2) < len)
                    return -1;
                out->b.ptr = p + 2;
                out->b.len = len;
                p += 2 + len;
            }
            break;
        }
        default:
            return -1;
    }
    *pp = p;
    return 1;
}

void mqws_props_iter_init(const mqws_props *props, mqws_prop_iter *it) {
    it->pos = props->raw.ptr;
    it->end = props->raw.ptr ? props->raw.ptr + props->raw.len : NULL;
}

int mqws_props_next(mqws_prop_iter *it, mqws_prop *out) {
    if (!it->pos)
        return 0;
    int r = raw_next(&it->pos, it->end, out);
    if (r < 0)
        it->pos = it->end; /* stop: not a well-formed block */
    return r > 0;
}

int mqws_props_next_user(mqws_prop_iter *it, mqws_view *key, mqws_view *value) {
    mqws_prop pr;
    while (mqws_props_next(it, &pr)) {
        if (pr.id == MQWS_PROP_USER_PROPERTY) {
            *key = pr.a;
            *value = pr.b;
            return 1;
        }
    }
    return 0;
}

int mqws_props_next_sub_id(mqws_prop_iter *it, uint32_t *id) {
    mqws_prop pr;
    while (mqws_props_next(it, &pr)) {
        if (pr.id == MQWS_PROP_SUBSCRIPTION_IDENTIFIER) {
            *id = pr.u32;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding */

static size_t prop_size(int kind, const mqws_props *pr, int id) {
    switch (kind) {
        case MQWS__PK_BYTE:
            return 2;
        case MQWS__PK_U16:
            return 3;
        case MQWS__PK_U32:
            return 5;
        default:
            return 3 + field_view(pr, id).len;
    }
}

static int view_same(mqws_view a, mqws_view b) {
    return a.len == b.len && (a.ptr == b.ptr || a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* 1 if `raw` holds exactly what the fields would produce (in any order), so it can be written
 * verbatim and a decoded packet re-encodes bit for bit. */
static int raw_matches(const mqws_props *pr, const mqws__pplan *plan) {
    const uint8_t *p = pr->raw.ptr, *end = p + pr->raw.len;
    uint32_t seen = 0, nu = 0, ns = 0;
    mqws_prop x;
    int r;
    while ((r = raw_next(&p, end, &x)) > 0) {
        uint32_t bit = x.id < 0x2B ? mqws__prop_bit_of_id[x.id] : 0;
        if (bit == UPF) {
            if (plan->user_mode == 1) {
                if (nu >= pr->user_prop_count || !view_same(pr->user_props[nu].key, x.a) ||
                    !view_same(pr->user_props[nu].value, x.b))
                    return 0;
            } else if (plan->user_mode != 2) {
                return 0;
            }
            nu++;
        } else if (bit == SIDF) {
            if (plan->sub_mode == 1) {
                if (ns >= pr->sub_id_count || pr->sub_ids[ns] != x.u32)
                    return 0;
            } else if (plan->sub_mode != 2 || ns > 0 || pr->subscription_id != x.u32) {
                return 0;
            }
            ns++;
        } else {
            if (!bit || (seen & bit) || !(pr->present & bit))
                return 0;
            seen |= bit;
            int kind = mqws__prop_kind(x.id);
            if (kind == MQWS__PK_STR || kind == MQWS__PK_BIN) {
                if (!view_same(field_view(pr, x.id), x.a))
                    return 0;
            } else if (field_u32(pr, x.id) != x.u32) {
                return 0;
            }
        }
    }
    if (r < 0 || seen != (pr->present & ~(UPF | SIDF)))
        return 0;
    if (plan->user_mode == 1 && nu != pr->user_prop_count)
        return 0;
    if (plan->sub_mode == 1 ? ns != pr->sub_id_count : ns != (plan->sub_mode == 2 ? 1u : 0u))
        return 0;
    return 1;
}

int mqws__props_plan(const mqws_props *pr, int ctx, mqws__pplan *plan) {
    uint32_t m = pr->present;
    plan->verbatim = 0;
    plan->user_mode = pr->user_props && pr->user_prop_count ? 1
                      : (!pr->user_props && (m & UPF))      ? 2
                                                            : 0;
    plan->sub_mode = pr->sub_ids && pr->sub_id_count ? 1 : (m & SIDF) ? 2 : 0;
    uint32_t single = m & ~(UPF | SIDF) & ((1u << 27) - 1);
    if (m >> 27)
        return MQWS_EINVAL;
    uint32_t allowed = mqws__prop_mask[ctx];
    if ((single & ~allowed) || (plan->sub_mode && !(allowed & SIDF)))
        return MQWS_EINVAL;
    size_t len = 0;
    for (uint32_t b = single; b; b &= b - 1) {
        int id = mqws__prop_id_of_bit[__builtin_ctz(b)];
        int kind = mqws__prop_kind(id);
        if (kind == MQWS__PK_STR || kind == MQWS__PK_BIN) {
            if (field_view(pr, id).len > 0xFFFF)
                return MQWS_EINVAL;
        } else {
            uint32_t v = field_u32(pr, id);
            if ((kind == MQWS__PK_BYTE && v > 0xFF) ||
                mqws__check_prop_value(id, v, NULL, 0) != MQWS_OK)
                return MQWS_EINVAL;
        }
        len += prop_size(kind, pr, id);
    }
    if (plan->user_mode == 1) {
        for (uint32_t i = 0; i < pr->user_prop_count; i++) {
            const mqws_user_prop *u = &pr->user_props[i];
            if (u->key.len > 0xFFFF || u->value.len > 0xFFFF)
                return MQWS_EINVAL;
            len += 5 + u->key.len + u->value.len;
        }
    } else if (plan->user_mode == 2 && pr->raw.len) {
        const uint8_t *p = pr->raw.ptr, *end = p + pr->raw.len;
        mqws_prop x;
        int r;
        while ((r = raw_next(&p, end, &x)) > 0)
            if (x.id == MQWS_PROP_USER_PROPERTY)
                len += 5 + x.a.len + x.b.len;
        if (r < 0)
            return MQWS_EINVAL;
    }
    if (plan->sub_mode == 1) {
        if (ctx == MQWS_PKT_SUBSCRIBE && pr->sub_id_count > 1)
            return MQWS_EINVAL;
        for (uint32_t i = 0; i < pr->sub_id_count; i++) {
            if (pr->sub_ids[i] == 0 || pr->sub_ids[i] > MQWS_VARINT_MAX)
                return MQWS_EINVAL;
            len += 1 + mqws_varint_size(pr->sub_ids[i]);
        }
    } else if (plan->sub_mode == 2) {
        if (pr->subscription_id == 0 || pr->subscription_id > MQWS_VARINT_MAX)
            return MQWS_EINVAL;
        len += 1 + mqws_varint_size(pr->subscription_id);
    }
    if (len > MQWS_VARINT_MAX)
        return MQWS_ETOOBIG;
    plan->len = (uint32_t)len;
    if (pr->raw.len && pr->raw.len == len && raw_matches(pr, plan))
        plan->verbatim = 1;
    return MQWS_OK;
}

uint8_t *mqws__props_write(uint8_t *o, const mqws_props *pr, const mqws__pplan *plan) {
    if (plan->verbatim) {
        memcpy(o, pr->raw.ptr, pr->raw.len);
        return o + pr->raw.len;
    }
    uint32_t bits =
        (pr->present & ~(UPF | SIDF)) | (plan->user_mode ? UPF : 0) | (plan->sub_mode ? SIDF : 0);
    for (; bits; bits &= bits - 1) {
        int id = mqws__prop_id_of_bit[__builtin_ctz(bits)];
        switch (mqws__prop_kind(id)) {
            case MQWS__PK_BYTE:
                *o++ = (uint8_t)id;
                *o++ = (uint8_t)field_u32(pr, id);
                break;
            case MQWS__PK_U16:
                *o++ = (uint8_t)id;
                mqws__store16(o, (uint16_t)field_u32(pr, id));
                o += 2;
                break;
            case MQWS__PK_U32:
                *o++ = (uint8_t)id;
                mqws__store32(o, field_u32(pr, id));
                o += 4;
                break;
            case MQWS__PK_VARINT:
                if (plan->sub_mode == 1) {
                    for (uint32_t i = 0; i < pr->sub_id_count; i++) {
                        *o++ = (uint8_t)id;
                        o = mqws__wr_varint(o, pr->sub_ids[i]);
                    }
                } else {
                    *o++ = (uint8_t)id;
                    o = mqws__wr_varint(o, pr->subscription_id);
                }
                break;
            case MQWS__PK_PAIR:
                if (plan->user_mode == 1) {
                    for (uint32_t i = 0; i < pr->user_prop_count; i++) {
                        *o++ = (uint8_t)id;
                        o = mqws__wr_str(o, pr->user_props[i].key);
                        o = mqws__wr_str(o, pr->user_props[i].value);
                    }
                } else if (pr->raw.len) {
                    const uint8_t *p = pr->raw.ptr, *end = p + pr->raw.len;
                    mqws_prop x;
                    while (raw_next(&p, end, &x) > 0) {
                        if (x.id == MQWS_PROP_USER_PROPERTY) {
                            *o++ = (uint8_t)id;
                            o = mqws__wr_str(o, x.a);
                            o = mqws__wr_str(o, x.b);
                        }
                    }
                }
                break;
            default:
                *o++ = (uint8_t)id;
                o = mqws__wr_str(o, field_view(pr, id));
                break;
        }
    }
    return o;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation of a property set about to be encoded: the decoder's rules, same functions. */

int mqws__props_validate(const mqws_props *pr, int ctx, uint8_t level, uint32_t dir,
                         mqws_decode_error *err) {
    uint32_t m = pr->present;
    int user_arr = pr->user_props && pr->user_prop_count;
    int sub_arr = pr->sub_ids && pr->sub_id_count;
    uint32_t eff = m | (user_arr ? UPF : 0) | (sub_arr ? SIDF : 0);
    uint32_t allowed = mqws__prop_mask[ctx];
    if ((eff >> 27) || (eff & ~allowed))
        return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2", "property not allowed in this packet",
                          0);
    for (uint32_t b = eff & ~(UPF | SIDF); b; b &= b - 1) {
        int id = mqws__prop_id_of_bit[__builtin_ctz(b)];
        int kind = mqws__prop_kind(id);
        int rc = MQWS_OK;
        if (kind == MQWS__PK_STR) {
            mqws_view v = field_view(pr, id);
            if (v.len > 0xFFFF)
                return mqws__fail(err, MQWS_EMALFORMED, "§1.5.4", "string longer than 65535", 0);
            rc = id == MQWS_PROP_RESPONSE_TOPIC
                     ? mqws__check_response_topic(v.ptr, v.len, level, err, 0)
                     : mqws__check_utf8(v.ptr, v.len, level, err, 0);
        } else if (kind == MQWS__PK_BIN) {
            if (field_view(pr, id).len > 0xFFFF)
                return mqws__fail(err, MQWS_EMALFORMED, "§1.5.6", "binary data longer than 65535",
                                  0);
        } else {
            uint32_t v = field_u32(pr, id);
            if (kind == MQWS__PK_BYTE && v > 0xFF)
                return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2", "byte property over 255", 0);
            rc = mqws__check_prop_value(id, v, err, 0);
        }
        if (rc)
            return rc;
    }
    if (user_arr) {
        for (uint32_t i = 0; i < pr->user_prop_count; i++) {
            const mqws_user_prop *u = &pr->user_props[i];
            if (u->key.len > 0xFFFF || u->value.len > 0xFFFF)
                return mqws__fail(err, MQWS_EMALFORMED, "§1.5.4", "string longer than 65535", 0);
            int rc = mqws__check_utf8(u->key.ptr, u->key.len, level, err, 0);
            if (!rc)
                rc = mqws__check_utf8(u->value.ptr, u->value.len, level, err, 0);
            if (rc)
                return rc;
        }
    } else if ((m & UPF) && pr->raw.len) {
        const uint8_t *p = pr->raw.ptr, *end = p + pr->raw.len;
        mqws_prop x;
        int r;
        while ((r = raw_next(&p, end, &x)) > 0) {
            if (x.id != MQWS_PROP_USER_PROPERTY)
                continue;
            int rc = mqws__check_utf8(x.a.ptr, x.a.len, level, err, 0);
            if (!rc)
                rc = mqws__check_utf8(x.b.ptr, x.b.len, level, err, 0);
            if (rc)
                return rc;
        }
        if (r < 0)
            return mqws__fail(err, MQWS_EMALFORMED, "§2.2.2.2", "malformed raw property block", 0);
    }
    if (sub_arr) {
        if (ctx == MQWS_PKT_SUBSCRIBE && pr->sub_id_count > 1)
            return mqws__fail(err, MQWS_EPROTO, "§3.8.2.1.2",
                              "more than one Subscription Identifier in SUBSCRIBE", 0);
        for (uint32_t i = 0; i < pr->sub_id_count; i++) {
            int rc =
                mqws__check_prop_value(MQWS_PROP_SUBSCRIPTION_IDENTIFIER, pr->sub_ids[i], err, 0);
            if (rc)
                return rc;
        }
    } else if (m & SIDF) {
        int rc =
            mqws__check_prop_value(MQWS_PROP_SUBSCRIPTION_IDENTIFIER, pr->subscription_id, err, 0);
        if (rc)
            return rc;
    }
    return mqws__check_props_cross(eff, ctx, dir, err, 0);
}
