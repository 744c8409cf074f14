/* Shared helpers for the codec tests (see codec_util.h).
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

#include <stdlib.h>

#define RING     16
#define RING_CAP (1 << 17)
static uint8_t ring[RING][RING_CAP];
static unsigned ring_pos;

uint8_t *cu_keep(const uint8_t *b, size_t n) {
    if (n > RING_CAP)
        abort();
    uint8_t *d = ring[ring_pos++ % RING];
    if (n)
        memcpy(d, b, n);
    return d;
}

const uint8_t *cu_hex(const char *hex, size_t *len) {
    uint8_t *d = ring[ring_pos++ % RING];
    *len = testlib_hex(hex, d, RING_CAP);
    return d;
}

void cu_put(cu_buf *o, const void *p, size_t n) {
    if (o->n + n > sizeof o->b)
        abort();
    if (n)
        memcpy(o->b + o->n, p, n);
    o->n += n;
}

void cu_put_hex(cu_buf *o, const char *hex) {
    uint8_t tmp[512];
    size_t n = testlib_hex(hex, tmp, sizeof tmp);
    cu_put(o, tmp, n);
}

void cu_put_u8(cu_buf *o, uint8_t v) { cu_put(o, &v, 1); }

void cu_put_varint(cu_buf *o, uint32_t v) {
    uint8_t tmp[4];
    int k = mqws_varint_encode(v, tmp);
    if (k <= 0)
        abort();
    cu_put(o, tmp, (size_t)k);
}

void cu_packet(cu_buf *o, uint8_t first, const uint8_t *body, size_t n) {
    o->n = 0;
    cu_put_u8(o, first);
    cu_put_varint(o, (uint32_t)n);
    cu_put(o, body, n);
}

int cu_stmt_match(const char *want, const char *stmt) {
    if (!want)
        return 1;
    if (!stmt)
        return 0;
    size_t sl = strlen(stmt);
    const char *p = want;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == sl && strncmp(p, stmt, l) == 0)
            return 1;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

static void dump_hex(const char *label, const uint8_t *b, size_t n) {
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %02x", b[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* Re-encoding a decoded packet: the repeated items are handed back as arrays. */
static mqws_subscription re_subs[256];
static mqws_view re_filters[256];
static uint32_t re_sub_ids[64];

static void collect_sub_ids(mqws_props *pr) {
    if (!(pr->present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER) || pr->sub_id_count <= 1)
        return;
    mqws_prop_iter it;
    uint32_t n = 0, id;
    mqws_props_iter_init(pr, &it);
    while (n < 64 && mqws_props_next_sub_id(&it, &id))
        re_sub_ids[n++] = id;
    pr->sub_ids = re_sub_ids;
    pr->sub_id_count = n;
}

static void prepare_reencode(mqws_packet *q, uint8_t level) {
    mqws_entry_iter it;
    uint32_t n = 0;
    if (q->type == MQWS_PKT_SUBSCRIBE) {
        mqws_entry_iter_init(q, level, &it);
        while (n < 256 && mqws_subscribe_next(&it, &re_subs[n]))
            n++;
        q->subs = re_subs;
        q->entry_count = n;
    } else if (q->type == MQWS_PKT_UNSUBSCRIBE) {
        mqws_entry_iter_init(q, level, &it);
        while (n < 256 && mqws_unsubscribe_next(&it, &re_filters[n]))
            n++;
        q->unsub_filters = re_filters;
        q->entry_count = n;
    }
    collect_sub_ids(&q->props);
}

int cu_reencode(const mqws_packet *p, uint8_t level, uint8_t *buf, size_t cap, size_t *written) {
    mqws_packet q = *p;
    prepare_reencode(&q, level);
    if (q.type == MQWS_PKT_CONNECT)
        level = q.protocol_level;
    return mqws_encode(&q, level, buf, cap, written);
}

static void check_view_inside(const char *file, int line, const char *name, mqws_view v,
                              const uint8_t *b, size_t n) {
    if (v.len == 0)
        return;
    if (!(v.ptr >= b && v.ptr + v.len <= b + n))
        testlib_fail(file, line, "view %s (%zu bytes) does not point into the input", name, v.len);
}

static void check_zero_copy(const char *file, int line, const mqws_packet *p, const uint8_t *b,
                            size_t n) {
#define V(f) check_view_inside(file, line, #f, p->f, b, n)
    V(topic);
    V(payload);
    V(protocol_name);
    V(client_id);
    V(will_topic);
    V(will_payload);
    V(username);
    V(password);
    V(entries);
    V(reason_codes);
    V(props.raw);
    V(props.content_type);
    V(props.response_topic);
    V(props.correlation_data);
    V(props.assigned_client_id);
    V(props.auth_method);
    V(props.auth_data);
    V(props.response_info);
    V(props.server_reference);
    V(props.reason_string);
    V(will_props.raw);
    V(will_props.content_type);
    V(will_props.response_topic);
    V(will_props.correlation_data);
#undef V
}

/* The encoder's capacity contract for the packet `q` whose encoding is `want[0..n)`. */
static void check_encode_exact(const char *file, int line, const mqws_packet *q, uint8_t level,
                               const uint8_t *want, size_t n) {
    static uint8_t out[RING_CAP + 64];
    size_t sz = 0, w = 0;
    int rc = mqws_encoded_size(q, level, &sz);
    if (rc != MQWS_OK || sz != n)
        testlib_fail(file, line, "mqws_encoded_size: rc %d size %zu, expected %zu", rc, sz, n);
    /* Every capacity below the size: ENOSPC, nothing written at or past cap. Long packets
     * are sampled (the first 300 capacities and the last 16). */
    for (size_t cap = 0; cap < n; cap++) {
        if (cap > 300 && cap + 16 < n)
            continue;
        memset(out, 0xA5, n + 16);
        w = 12345;
        rc = mqws_encode(q, level, out, cap, &w);
        if (rc != MQWS_ENOSPC) {
            testlib_fail(file, line, "mqws_encode cap %zu < %zu: rc %d, expected MQWS_ENOSPC", cap,
                         n, rc);
            break;
        }
        /* "MQWS_ENOSPC if cap is too small (nothing written) ... Never writes past buf + cap" */
        for (size_t i = 0; i < n + 16; i++) {
            if (out[i] != 0xA5) {
                testlib_fail(file, line, "mqws_encode cap %zu < %zu wrote byte %zu", cap, n, i);
                cap = n;
                break;
            }
        }
    }
    memset(out, 0xA5, n + 16);
    rc = mqws_encode(q, level, out, n, &w);
    if (rc != MQWS_OK || w != n) {
        testlib_fail(file, line, "mqws_encode cap %zu: rc %d written %zu", n, rc, w);
    } else {
        testlib_check_mem(file, line, "encoded", out, w, want, n);
        for (size_t i = n; i < n + 16; i++)
            if (out[i] != 0xA5) {
                testlib_fail(file, line, "mqws_encode wrote past its output");
                break;
            }
    }
    rc = mqws_encode(q, level, out, sizeof out, &w);
    if (rc != MQWS_OK || w != n)
        testlib_fail(file, line, "mqws_encode large cap: rc %d written %zu", rc, w);

    if (q->type == MQWS_PKT_PUBLISH) {
        static uint8_t hdr[RING_CAP + 64];
        mqws_iovec iov[2];
        memset(iov, 0, sizeof iov);
        rc = mqws_encode_publish_iov(q, level, hdr, sizeof hdr, iov);
        if (rc != MQWS_OK) {
            testlib_fail(file, line, "mqws_encode_publish_iov: rc %d", rc);
        } else {
            size_t hl = iov[0].len;
            if (iov[0].base != hdr)
                testlib_fail(file, line, "iov[0] is not the header buffer");
            if (iov[1].len != q->payload.len ||
                (q->payload.len && iov[1].base != (const void *)q->payload.ptr))
                testlib_fail(file, line, "iov[1] is not the caller's payload (not zero-copy)");
            if (hl + iov[1].len != n) {
                testlib_fail(file, line, "iov lengths %zu + %zu != %zu", hl, iov[1].len, n);
            } else {
                testlib_check_mem(file, line, "iov[0]", hdr, hl, want, hl);
                testlib_check_mem(file, line, "iov[1]", iov[1].base, iov[1].len, want + hl, n - hl);
            }
            for (size_t cap = 0; cap < hl; cap++) {
                if (cap > 300 && cap + 16 < hl)
                    continue;
                memset(hdr, 0xA5, hl + 16);
                rc = mqws_encode_publish_iov(q, level, hdr, cap, iov);
                int bad = rc != MQWS_ENOSPC;
                for (size_t i = cap; i < hl + 16 && !bad; i++) /* never past hdr + cap */
                    bad = hdr[i] != 0xA5;
                if (bad) {
                    testlib_fail(file, line,
                                 "mqws_encode_publish_iov cap %zu < %zu: rc %d or "
                                 "wrote past the capacity",
                                 cap, hl, rc);
                    break;
                }
            }
        }
    }
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    rc = mqws_validate(q, level, 0, &e);
    if (rc != MQWS_OK)
        testlib_fail(file, line, "mqws_validate: rc %d (%s: %s)", rc,
                     e.statement ? e.statement : "-", e.message ? e.message : "-");
}

static void same_packet(const char *file, int line, const mqws_packet *a, const mqws_packet *b) {
    if (a->type != b->type || a->flags != b->flags || a->packet_id != b->packet_id ||
        a->reason_code != b->reason_code || a->qos != b->qos || a->retain != b->retain ||
        a->dup != b->dup || a->props.present != b->props.present ||
        a->props.user_prop_count != b->props.user_prop_count ||
        a->props.sub_id_count != b->props.sub_id_count || a->entry_count != b->entry_count ||
        !mqws_view_eq(a->topic, b->topic) || !mqws_view_eq(a->payload, b->payload) ||
        !mqws_view_eq(a->reason_codes, b->reason_codes))
        testlib_fail(file, line, "re-encoded packet decodes differently (type %d/%d)", a->type,
                     b->type);
}

int cu_decode_ok(const char *file, int line, const uint8_t *b, size_t n, uint8_t level,
                 uint32_t dflags, int canonical, mqws_packet *out) {
    mqws_packet local;
    mqws_packet *p = out ? out : &local;
    memset(p, 0, sizeof *p);
    mqws_frame_info fi;
    memset(&fi, 0, sizeof fi);
    int rc = mqws_frame(b, n, 0, &fi);
    if (rc != MQWS_FRAME_READY || fi.total_len != n) {
        testlib_fail(file, line, "mqws_frame: rc %d total_len %u, expected READY with %zu", rc,
                     fi.total_len, n);
        dump_hex("input", b, n);
        return -1;
    }
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    rc = mqws_decode(b, n, level, dflags, p, &e);
    if (rc != MQWS_OK) {
        testlib_fail(file, line, "mqws_decode: %s (%d), statement %s: %s", mqws_error_name(rc), rc,
                     e.statement ? e.statement : "(null)", e.message ? e.message : "(null)");
        dump_hex("input", b, n);
        return rc;
    }
    if (p->type != (b[0] >> 4) || p->flags != (b[0] & 0x0F))
        testlib_fail(file, line, "type/flags %d/%d, expected %d/%d", p->type, p->flags, b[0] >> 4,
                     b[0] & 0x0F);
    check_zero_copy(file, line, p, b, n);

    mqws_packet q = *p;
    prepare_reencode(&q, level);
    uint8_t elevel = q.type == MQWS_PKT_CONNECT ? q.protocol_level : level;
    if (canonical) {
        check_encode_exact(file, line, &q, elevel, b, n);
        return MQWS_OK;
    }
    /* Non-canonical input: the re-encoding must decode to the same packet and be stable. */
    static uint8_t r1[RING_CAP], r2[RING_CAP];
    size_t w1 = 0, w2 = 0;
    rc = mqws_encode(&q, elevel, r1, sizeof r1, &w1);
    if (rc != MQWS_OK) {
        testlib_fail(file, line, "re-encode: rc %d", rc);
        return rc;
    }
    mqws_packet d;
    memset(&d, 0, sizeof d);
    rc = mqws_decode(r1, w1, level, dflags, &d, NULL);
    if (rc != MQWS_OK) {
        testlib_fail(file, line, "re-encoded bytes do not decode: rc %d", rc);
        dump_hex("re-encoded", r1, w1);
        return rc;
    }
    same_packet(file, line, p, &d);
    rc = cu_reencode(&d, level, r2, sizeof r2, &w2);
    if (rc != MQWS_OK)
        testlib_fail(file, line, "second re-encode: rc %d", rc);
    else
        testlib_check_mem(file, line, "second re-encoding", r2, w2, r1, w1);
    return MQWS_OK;
}

int cu_decode_ok_hex(const char *file, int line, const char *hex, uint8_t level, uint32_t dflags,
                     int canonical, mqws_packet *out) {
    size_t n;
    const uint8_t *b = cu_hex(hex, &n);
    return cu_decode_ok(file, line, b, n, level, dflags, canonical, out);
}

static uint8_t reason_for(int code) {
    switch (code) {
        case MQWS_EMALFORMED:
            return 0x81;
        case MQWS_EPROTO:
            return 0x82;
        case MQWS_EUNSUPPORTED:
            return 0x84;
        case MQWS_ETOOBIG:
            return 0x95;
        default:
            return 0;
    }
}

mqws_decode_error cu_last_err;

int cu_decode_err(const char *file, int line, const uint8_t *b, size_t n, uint8_t level,
                  uint32_t dflags, int code, const char *stmt, mqws_packet *out) {
    mqws_frame_info fi;
    memset(&fi, 0, sizeof fi);
    int rc = mqws_frame(b, n, 0, &fi);
    if (rc != MQWS_FRAME_READY || fi.total_len != n) {
        testlib_fail(file, line, "mqws_frame: rc %d total_len %u, expected READY with %zu", rc,
                     fi.total_len, n);
        dump_hex("input", b, n);
        return rc;
    }
    mqws_packet local;
    mqws_packet *p = out ? out : &local;
    memset(p, 0, sizeof *p);
    mqws_decode_error e;
    memset(&e, 0, sizeof e);
    rc = mqws_decode(b, n, level, dflags, p, &e);
    int ok_code = code ? rc == code : (rc == MQWS_EMALFORMED || rc == MQWS_EPROTO);
    if (!ok_code) {
        testlib_fail(file, line, "mqws_decode: %s (%d), expected %s; statement %s: %s",
                     mqws_error_name(rc), rc, code ? mqws_error_name(code) : "EMALFORMED/EPROTO",
                     e.statement ? e.statement : "(null)", e.message ? e.message : "(null)");
        dump_hex("input", b, n);
        return rc;
    }
    if (e.code != rc)
        testlib_fail(file, line, "err.code %d != returned %d", e.code, rc);
    if (e.reason != reason_for(rc))
        testlib_fail(file, line, "err.reason 0x%02x, expected 0x%02x for %s", e.reason,
                     reason_for(rc), mqws_error_name(rc));
    cu_last_err = e;
    /* "every rejection names the broken spec statement" (codec.h). */
    if (!e.statement)
        testlib_fail(file, line, "err.statement is NULL (%s)", e.message ? e.message : "-");
    if (!cu_stmt_match(stmt, e.statement)) {
        testlib_fail(file, line, "err.statement %s, expected %s (%s)",
                     e.statement ? e.statement : "(null)", stmt, e.message ? e.message : "(null)");
        dump_hex("input", b, n);
    }
    if (!e.message)
        testlib_fail(file, line, "err.message is NULL");
    if (e.offset > n)
        testlib_fail(file, line, "err.offset %zu past the packet (%zu)", e.offset, n);
    mqws_packet p2;
    memset(&p2, 0, sizeof p2);
    int rc2 = mqws_decode(b, n, level, dflags, &p2, NULL);
    if (rc2 != rc)
        testlib_fail(file, line, "with err == NULL: rc %d, with err: %d", rc2, rc);
    return rc;
}

int cu_decode_err_hex(const char *file, int line, const char *hex, uint8_t level, uint32_t dflags,
                      int code, const char *stmt) {
    size_t n;
    const uint8_t *b = cu_hex(hex, &n);
    return cu_decode_err(file, line, b, n, level, dflags, code, stmt, NULL);
}

void cu_encode_eq(const char *file, int line, const mqws_packet *p, uint8_t level,
                  const char *hex) {
    size_t n;
    const uint8_t *want = cu_hex(hex, &n);
    check_encode_exact(file, line, p, level, want, n);
    mqws_packet d;
    memset(&d, 0, sizeof d);
    int rc = mqws_decode(want, n, level, 0, &d, NULL);
    if (rc != MQWS_OK)
        testlib_fail(file, line, "expected bytes do not decode back: rc %d", rc);
}
