/* MQTT 5 properties (§2.2.2): one-pass parsing with validation, iteration over the raw block,
 * and encoding (size, then write).
 * SPDX-License-Identifier: MIT */
#include <stddef.h>

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

/* Where each property's field lives in mqws_props (0 for the repeatable ones). */
#define O(id, field) [id] = (uint8_t)offsetof(mqws_props, field)
const uint8_t mqws__prop_off_of_id[0x2B] = {
    O(0x01, payload_format),
    O(0x02, message_expiry),
    O(0x03, content_type),
    O(0x08, response_topic),
    O(0x09, correlation_data),
    O(0x11, session_expiry),
    O(0x12, assigned_client_id),
    O(0x13, server_keep_alive),
    O(0x15, auth_method),
    O(0x16, auth_data),
    O(0x17, request_problem_info),
    O(0x18, will_delay),
    O(0x19, request_response_info),
    O(0x1A, response_info),
    O(0x1C, server_reference),
    O(0x1F, reason_string),
    O(0x21, receive_maximum),
    O(0x22, topic_alias_maximum),
    O(0x23, topic_alias),
    O(0x24, maximum_qos),
    O(0x25, retain_available),
    O(0x27, maximum_packet_size),
    O(0x28, wildcard_sub_available),
    O(0x29, sub_id_available),
    O(0x2A, shared_sub_available),
};
#undef O

#define E(id, k, kind, field)                                                                      \
    [id] = {MQWS_PROPF_##k, MQWS__PK_##kind, (uint8_t)offsetof(mqws_props, field)}
const mqws__propinfo mqws__props_by_id[256] = {
    E(0x01, PAYLOAD_FORMAT_INDICATOR, BYTE, payload_format),
    E(0x02, MESSAGE_EXPIRY_INTERVAL, U32, message_expiry),
    E(0x03, CONTENT_TYPE, STR, content_type),
    E(0x08, RESPONSE_TOPIC, STR, response_topic),
    E(0x09, CORRELATION_DATA, BIN, correlation_data),
    E(0x0B, SUBSCRIPTION_IDENTIFIER, VARINT, subscription_id),
    E(0x11, SESSION_EXPIRY_INTERVAL, U32, session_expiry),
    E(0x12, ASSIGNED_CLIENT_IDENTIFIER, STR, assigned_client_id),
    E(0x13, SERVER_KEEP_ALIVE, U16, server_keep_alive),
    E(0x15, AUTHENTICATION_METHOD, STR, auth_method),
    E(0x16, AUTHENTICATION_DATA, BIN, auth_data),
    E(0x17, REQUEST_PROBLEM_INFORMATION, BYTE, request_problem_info),
    E(0x18, WILL_DELAY_INTERVAL, U32, will_delay),
    E(0x19, REQUEST_RESPONSE_INFORMATION, BYTE, request_response_info),
    E(0x1A, RESPONSE_INFORMATION, STR, response_info),
    E(0x1C, SERVER_REFERENCE, STR, server_reference),
    E(0x1F, REASON_STRING, STR, reason_string),
    E(0x21, RECEIVE_MAXIMUM, U16, receive_maximum),
    E(0x22, TOPIC_ALIAS_MAXIMUM, U16, topic_alias_maximum),
    E(0x23, TOPIC_ALIAS, U16, topic_alias),
    E(0x24, MAXIMUM_QOS, BYTE, maximum_qos),
    E(0x25, RETAIN_AVAILABLE, BYTE, retain_available),
    E(0x26, USER_PROPERTY, PAIR, user_prop_count),
    E(0x27, MAXIMUM_PACKET_SIZE, U32, maximum_packet_size),
    E(0x28, WILDCARD_SUBSCRIPTION_AVAILABLE, BYTE, wildcard_sub_available),
    E(0x29, SUBSCRIPTION_IDENTIFIER_AVAILABLE, BYTE, sub_id_available),
    E(0x2A, SHARED_SUBSCRIPTION_AVAILABLE, BYTE, shared_sub_available),
};
#undef E

int mqws__props_parse(const uint8_t *p, size_t n, int ctx, uint8_t level, mqws_props *out,
                      mqws_decode_error *err, size_t off) {
    return mqws__props_parse_inline(p, n, ctx, level, out, err, off);
}

/* ------------------------------------------------------------------------------------------ */
/* Iteration. The block was validated by the decoder; a hand-made block is still read safely:
 * iteration stops at the first property that does not fit. */

/* Bytes of the value of a property of `kind` at p (bounded by end), or 0 if it does not fit. */
MQWS_INLINE size_t value_size(unsigned kind, const uint8_t *p, const uint8_t *end) {
    size_t have = (size_t)(end - p), need;
    switch (kind) {
        case MQWS__PK_BYTE:
            need = 1;
            break;
        case MQWS__PK_U16:
            need = 2;
            break;
        case MQWS__PK_U32:
            need = 4;
            break;
        case MQWS__PK_VARINT: {
            uint32_t v;
            int k = mqws__rd_varint(p, end, &v);
            return k > 0 ? (size_t)k : 0;
        }
        case MQWS__PK_STR:
        case MQWS__PK_BIN:
            if (have < 2)
                return 0;
            need = 2 + (size_t)mqws__load16(p);
            break;
        case MQWS__PK_PAIR: {
            if (have < 2)
                return 0;
            size_t k = 2 + (size_t)mqws__load16(p);
            if (have < k + 2)
                return 0;
            need = k + 2 + (size_t)mqws__load16(p + k);
            break;
        }
        default:
            return 0;
    }
    return need <= have ? need : 0;
}

static int raw_next(const uint8_t **pp, const uint8_t *end, mqws_prop *out) {
    const uint8_t *p = *pp;
    if (p >= end)
        return 0;
    unsigned id = *p++;
    unsigned kind = id < 0x2B ? mqws__prop_kind_of_id[id] : 0;
    size_t sz = value_size(kind, p, end);
    if (!sz)
        return -1;
    out->id = (uint8_t)id;
    out->u32 = 0;
    out->a.ptr = out->b.ptr = NULL;
    out->a.len = out->b.len = 0;
    switch (kind) {
        case MQWS__PK_BYTE:
            out->u32 = *p;
            break;
        case MQWS__PK_U16:
            out->u32 = mqws__load16(p);
            break;
        case MQWS__PK_U32:
            out->u32 = mqws__load32(p);
            break;
        case MQWS__PK_VARINT:
            mqws__rd_varint(p, end, &out->u32);
            break;
        default:
            out->a.ptr = p + 2;
            out->a.len = mqws__load16(p);
            if (kind == MQWS__PK_PAIR) {
                out->b.ptr = p + 4 + out->a.len;
                out->b.len = mqws__load16(p + 2 + out->a.len);
            }
            break;
    }
    *pp = p + sz;
    return 1;
}

/* The exported forms of the inline iterators in mqws/codec.h (names parenthesised so that the
 * header's macros do not expand). */
void(mqws_props_iter_init)(const mqws_props *props, mqws_prop_iter *it) {
    mqws__props_iter_init(props, it);
}

int mqws_props_next(mqws_prop_iter *it, mqws_prop *out) {
    if (!it->pos)
        return 0;
    int r = raw_next(&it->pos, it->end, out);
    if (r < 0)
        it->pos = it->end; /* stop: not a well-formed block */
    return r > 0;
}

/* Skip properties from p until one of kind `want` (MQWS__PK_PAIR or MQWS__PK_VARINT, the two
 * repeatable ones); returns its value's start, or NULL at the end or at a property that does not
 * fit. */
MQWS_INLINE const uint8_t *seek(const uint8_t *p, const uint8_t *end, unsigned want) {
    while (p < end) {
        const uint8_t *v = p + 1;
        size_t rem = (size_t)(end - v);
        unsigned kind = mqws__props_by_id[*p].kind;
        if (kind == want)
            return v;
        switch (kind) {
            case MQWS__PK_BYTE:
                if (rem < 1)
                    return NULL;
                p = v + 1;
                break;
            case MQWS__PK_U16:
                if (rem < 2)
                    return NULL;
                p = v + 2;
                break;
            case MQWS__PK_U32:
                if (rem < 4)
                    return NULL;
                p = v + 4;
                break;
            case MQWS__PK_STR:
            case MQWS__PK_BIN: {
                if (rem < 2 || rem < 2 + (size_t)mqws__load16(v))
                    return NULL;
                p = v + 2 + mqws__load16(v);
                break;
            }
            default: {
                size_t sz = value_size(kind, v, end);
                if (!sz)
                    return NULL;
                p = v + sz;
                break;
            }
        }
    }
    return NULL;
}

/* The whole walk, every kind known (the inline form hands over to this at the kinds it does
 * not skip itself): find the next user property, then let the inline form read it (at a user
 * property, or at the end, it reads or stops without calling back). */
int(mqws_props_next_user)(mqws_prop_iter *it, mqws_view *key, mqws_view *value) {
    if (it->pos) {
        const uint8_t *from = it->pos, *v;
        if (from < it->user && it->user <= it->end)
            from = it->user;
        v = seek(from, it->end, MQWS__PK_PAIR);
        it->pos = v ? v - 1 : it->end;
    }
    return mqws__props_next_user(it, key, value);
}

int mqws_props_next_sub_id(mqws_prop_iter *it, uint32_t *id) {
    if (!it->pos)
        return 0;
    const uint8_t *end = it->end;
    const uint8_t *v = seek(it->pos, end, MQWS__PK_VARINT);
    int k = v ? mqws__rd_varint(v, end, id) : 0;
    if (k <= 0) {
        it->pos = end;
        return 0;
    }
    it->pos = v + k;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding */

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

/* Per presence bit: identifier, value kind and the offset of the field in mqws_props, so one
 * loop over the set bits sizes and writes every single-valued property. */
#define PI(id, kind, field)                                                                        \
    { id, MQWS__PK_##kind, (uint8_t)offsetof(mqws_props, field) }
static const struct pinfo {
    uint8_t id, kind, off;
} pinfo[27] = {
    PI(0x01, BYTE, payload_format),
    PI(0x02, U32, message_expiry),
    PI(0x03, STR, content_type),
    PI(0x08, STR, response_topic),
    PI(0x09, BIN, correlation_data),
    PI(0x0B, VARINT, subscription_id),
    PI(0x11, U32, session_expiry),
    PI(0x12, STR, assigned_client_id),
    PI(0x13, U16, server_keep_alive),
    PI(0x15, STR, auth_method),
    PI(0x16, BIN, auth_data),
    PI(0x17, BYTE, request_problem_info),
    PI(0x18, U32, will_delay),
    PI(0x19, BYTE, request_response_info),
    PI(0x1A, STR, response_info),
    PI(0x1C, STR, server_reference),
    PI(0x1F, STR, reason_string),
    PI(0x21, U16, receive_maximum),
    PI(0x22, U16, topic_alias_maximum),
    PI(0x23, U16, topic_alias),
    PI(0x24, BYTE, maximum_qos),
    PI(0x25, BYTE, retain_available),
    PI(0x26, PAIR, user_prop_count),
    PI(0x27, U32, maximum_packet_size),
    PI(0x28, BYTE, wildcard_sub_available),
    PI(0x29, BYTE, sub_id_available),
    PI(0x2A, BYTE, shared_sub_available),
};
#undef PI

int mqws__props_plan(const mqws_props *pr, int ctx, mqws__pplan *plan) {
    uint32_t m = pr->present;
    plan->verbatim = 0;
    plan->user_mode = pr->user_props && pr->user_prop_count ? 1 : (m & UPF) ? 2 : 0;
    plan->sub_mode = pr->sub_ids && pr->sub_id_count ? 1 : (m & SIDF) ? 2 : 0;
    uint32_t single = m & ~(UPF | SIDF);
    uint32_t allowed = mqws__prop_mask[ctx];
    if (MQWS_UNLIKELY((single & ~allowed) || (plan->sub_mode && !(allowed & SIDF))))
        return MQWS_EINVAL;
    size_t len = 0;
    const uint8_t *base = (const uint8_t *)pr;
    for (uint32_t b = single; b; b &= b - 1) {
        const struct pinfo *pi = &pinfo[__builtin_ctz(b)];
        const uint8_t *f = base + pi->off;
        switch (pi->kind) {
            case MQWS__PK_BYTE:
                if (MQWS_UNLIKELY(*f > 1))
                    return MQWS_EINVAL;
                len += 2;
                break;
            case MQWS__PK_U16: {
                uint16_t v;
                memcpy(&v, f, 2);
                if (MQWS_UNLIKELY(v == 0 && (b & -b & MQWS__NONZERO_PROPS)))
                    return MQWS_EINVAL;
                len += 3;
                break;
            }
            case MQWS__PK_U32: {
                uint32_t v;
                memcpy(&v, f, 4);
                if (MQWS_UNLIKELY(v == 0 && (b & -b & MQWS__NONZERO_PROPS)))
                    return MQWS_EINVAL;
                len += 5;
                break;
            }
            default: { /* STR, BIN */
                mqws_view v;
                memcpy(&v, f, sizeof v);
                if (MQWS_UNLIKELY(v.len > 0xFFFF))
                    return MQWS_EINVAL;
                len += 3 + v.len;
                break;
            }
        }
    }
    if (plan->user_mode == 1) {
        for (uint32_t i = 0; i < pr->user_prop_count; i++) {
            const mqws_user_prop *u = &pr->user_props[i];
            if (MQWS_UNLIKELY(u->key.len > 0xFFFF || u->value.len > 0xFFFF))
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
            len += 1 + mqws__varint_size(pr->sub_ids[i]);
        }
    } else if (plan->sub_mode == 2) {
        if (pr->subscription_id == 0 || pr->subscription_id > MQWS_VARINT_MAX)
            return MQWS_EINVAL;
        len += 1 + mqws__varint_size(pr->subscription_id);
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
    const uint8_t *base = (const uint8_t *)pr;
    for (; bits; bits &= bits - 1) {
        const struct pinfo *pi = &pinfo[__builtin_ctz(bits)];
        const uint8_t *f = base + pi->off;
        switch (pi->kind) {
            case MQWS__PK_BYTE:
                o[0] = pi->id;
                o[1] = *f;
                o += 2;
                break;
            case MQWS__PK_U16: {
                uint16_t v;
                memcpy(&v, f, 2);
                o[0] = pi->id;
                mqws__store16(o + 1, v);
                o += 3;
                break;
            }
            case MQWS__PK_U32: {
                uint32_t v;
                memcpy(&v, f, 4);
                o[0] = pi->id;
                mqws__store32(o + 1, v);
                o += 5;
                break;
            }
            case MQWS__PK_VARINT:
                if (plan->sub_mode == 1) {
                    for (uint32_t i = 0; i < pr->sub_id_count; i++) {
                        *o++ = pi->id;
                        o = mqws__wr_varint(o, pr->sub_ids[i]);
                    }
                } else {
                    *o++ = pi->id;
                    o = mqws__wr_varint(o, pr->subscription_id);
                }
                break;
            case MQWS__PK_PAIR:
                if (plan->user_mode == 1) {
                    for (uint32_t i = 0; i < pr->user_prop_count; i++) {
                        *o++ = pi->id;
                        o = mqws__wr_str(o, pr->user_props[i].key);
                        o = mqws__wr_str(o, pr->user_props[i].value);
                    }
                } else if (pr->raw.len) {
                    const uint8_t *p = pr->raw.ptr, *end = p + pr->raw.len;
                    mqws_prop x;
                    while (raw_next(&p, end, &x) > 0) {
                        if (x.id == MQWS_PROP_USER_PROPERTY) {
                            *o++ = pi->id;
                            o = mqws__wr_str(o, x.a);
                            o = mqws__wr_str(o, x.b);
                        }
                    }
                }
                break;
            default: { /* STR, BIN */
                mqws_view v;
                memcpy(&v, f, sizeof v);
                *o++ = pi->id;
                o = mqws__wr_str(o, v);
                break;
            }
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
