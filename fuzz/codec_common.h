/* Shared by the codec fuzz targets: run the framer and decoder over an input stream, exercise
 * every iterator, and require that whatever the decoder accepts re-encodes bit for bit and passes
 * mqws_validate(). Any disagreement aborts.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_FUZZ_CODEC_COMMON_H
#define MQWS_FUZZ_CODEC_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/codec.h"

#define FUZZ_CHECK(c)                                                                              \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

/* Touch every byte a view claims, so ASan sees any view that escapes its buffer. */
static unsigned fuzz_touch(mqws_view v) {
    unsigned s = 0;
    for (size_t i = 0; i < v.len; i++)
        s += v.ptr[i];
    return s;
}

/* Walk a property block with every iterator; returns the number of subscription ids seen and
 * stores up to `cap` of them in `ids`. */
static uint32_t fuzz_walk_props(const mqws_props *pr, uint32_t *ids, uint32_t cap) {
    mqws_prop_iter it;
    mqws_prop x;
    uint32_t n = 0, nuser = 0, nsub = 0;
    unsigned sink = 0;
    mqws_props_iter_init(pr, &it);
    while (mqws_props_next(&it, &x)) {
        FUZZ_CHECK(mqws_prop_bit(x.id) & pr->present);
        FUZZ_CHECK(mqws_prop_name(x.id) != NULL);
        sink += fuzz_touch(x.a) + fuzz_touch(x.b);
        n++;
    }
    mqws_view k, v;
    mqws_props_iter_init(pr, &it);
    while (mqws_props_next_user(&it, &k, &v))
        nuser++;
    FUZZ_CHECK(nuser == pr->user_prop_count);
    uint32_t id;
    mqws_props_iter_init(pr, &it);
    while (mqws_props_next_sub_id(&it, &id)) {
        FUZZ_CHECK(id != 0);
        if (nsub == 0)
            FUZZ_CHECK(id == pr->subscription_id);
        if (nsub < cap)
            ids[nsub] = id;
        nsub++;
    }
    FUZZ_CHECK(nsub == pr->sub_id_count);
    (void)sink;
    (void)n;
    return nsub;
}

static void fuzz_walk_entries(const mqws_packet *p, uint8_t level) {
    mqws_entry_iter it;
    uint32_t n = 0;
    mqws_entry_iter_init(p, level, &it);
    if (p->type == MQWS_PKT_SUBSCRIBE) {
        mqws_subscription s;
        while (mqws_subscribe_next(&it, &s)) {
            FUZZ_CHECK(s.qos <= 2 && s.retain_handling <= 2);
            fuzz_touch(s.filter);
            n++;
        }
        FUZZ_CHECK(n == p->entry_count);
    } else if (p->type == MQWS_PKT_UNSUBSCRIBE) {
        mqws_view f;
        while (mqws_unsubscribe_next(&it, &f)) {
            fuzz_touch(f);
            n++;
        }
        FUZZ_CHECK(n == p->entry_count);
    }
}

/* The decoded packet `p` (from pkt[0..len) at `level`) must validate and re-encode to the same
 * bytes, also through the iovec form for PUBLISH. */
static void fuzz_reencode(mqws_packet *p, const uint8_t *pkt, size_t len, uint8_t level,
                          uint32_t dir) {
    static uint32_t ids[4096];
    static uint8_t out[1 << 16];
    if (p->type == MQWS_PKT_CONNECT)
        level = p->protocol_level;
    fuzz_walk_entries(p, level);
    uint32_t n = fuzz_walk_props(&p->props, ids, 4096);
    fuzz_walk_props(&p->will_props, NULL, 0);
    fuzz_touch(p->topic);
    fuzz_touch(p->payload);
    fuzz_touch(p->client_id);
    fuzz_touch(p->username);
    fuzz_touch(p->password);
    fuzz_touch(p->will_topic);
    fuzz_touch(p->will_payload);
    fuzz_touch(p->reason_codes);
    FUZZ_CHECK(mqws_packet_type_name(p->type) != NULL);
    if (p->type != MQWS_PKT_PUBLISH && p->type != MQWS_PKT_CONNECT &&
        p->type != MQWS_PKT_SUBSCRIBE && p->type != MQWS_PKT_UNSUBSCRIBE &&
        p->type != MQWS_PKT_PINGREQ && p->type != MQWS_PKT_PINGRESP &&
        !(level != MQWS_MQTT_5 && p->type != MQWS_PKT_CONNACK && p->type != MQWS_PKT_SUBACK))
        FUZZ_CHECK(mqws_reason_name((p->type == MQWS_PKT_SUBACK || p->type == MQWS_PKT_UNSUBACK)
                                        ? p->reason_codes.ptr[0]
                                        : p->reason_code,
                                    p->type, level) != NULL);
    /* Several subscription identifiers are re-encoded from an array (the documented way). */
    if (n > 1 && n <= 4096) {
        p->props.sub_ids = ids;
        p->props.sub_id_count = n;
    }
    mqws_decode_error err;
    FUZZ_CHECK(mqws_validate(p, level, dir, &err) == MQWS_OK);
    size_t size = 0, written = 0;
    FUZZ_CHECK(mqws_encoded_size(p, level, &size) == MQWS_OK);
    FUZZ_CHECK(size == len);
    if (len > sizeof out)
        return;
    FUZZ_CHECK(mqws_encode(p, level, out, len - 1, &written) == MQWS_ENOSPC);
    FUZZ_CHECK(mqws_encode(p, level, out, sizeof out, &written) == MQWS_OK);
    FUZZ_CHECK(written == len && memcmp(out, pkt, len) == 0);
    if (p->type == MQWS_PKT_PUBLISH) {
        mqws_iovec iov[2];
        FUZZ_CHECK(mqws_encode_publish_iov(p, level, out, sizeof out, iov) == MQWS_OK);
        FUZZ_CHECK(iov[0].len + iov[1].len == len);
        FUZZ_CHECK(memcmp(iov[0].base, pkt, iov[0].len) == 0);
        FUZZ_CHECK(iov[1].base == p->payload.ptr);
    }
}

/* Frame the input as a stream and decode every packet at `level` with direction `dir`. */
static void fuzz_stream(const uint8_t *data, size_t size, uint8_t level, uint32_t dir) {
    size_t off = 0;
    while (off < size) {
        mqws_frame_info fi;
        int rc = mqws_frame(data + off, size - off, 0, &fi);
        if (rc != MQWS_FRAME_READY) {
            FUZZ_CHECK(rc == MQWS_FRAME_NEED_MORE || rc == MQWS_EMALFORMED);
            if (rc == MQWS_FRAME_NEED_MORE && fi.header_len)
                FUZZ_CHECK(fi.need == fi.total_len - (size - off));
            /* Whatever is left is still handed to the decoder, which must reject it. */
            mqws_packet p;
            FUZZ_CHECK(mqws_decode(data + off, size - off, level, dir, &p, NULL) != MQWS_OK);
            return;
        }
        const uint8_t *pkt = data + off;
        /* The header alone decides: every prefix past the header needs exactly the rest. */
        mqws_frame_info part;
        if (fi.total_len > fi.header_len) {
            size_t k = fi.header_len + (fi.total_len - fi.header_len) / 2;
            FUZZ_CHECK(mqws_frame(pkt, k, 0, &part) == MQWS_FRAME_NEED_MORE);
            FUZZ_CHECK(part.need == fi.total_len - k && part.total_len == fi.total_len);
            if (fi.total_len > 2)
                FUZZ_CHECK(mqws_frame(pkt, fi.total_len, fi.total_len - 1, &part) == MQWS_ETOOBIG);
        }
        mqws_packet p;
        mqws_decode_error err;
        memset(&p, 0, sizeof p); /* decode sets only its type's fields; the walk reads all */
        memset(&err, 0, sizeof err);
        rc = mqws_decode(pkt, fi.total_len, level, dir, &p, &err);
        if (rc == MQWS_OK) {
            fuzz_reencode(&p, pkt, fi.total_len, level, dir);
        } else {
            FUZZ_CHECK(err.code == rc && err.message != NULL);
            FUZZ_CHECK(err.offset <= fi.total_len);
            FUZZ_CHECK(
                (rc == MQWS_EMALFORMED && err.reason == 0x81) ||
                (rc == MQWS_EPROTO && err.reason == 0x82) ||
                (rc == MQWS_EUNSUPPORTED && err.reason == 0x84 && p.type == MQWS_PKT_CONNECT));
        }
        off += fi.total_len;
    }
}

static void fuzz_level(const uint8_t *data, size_t size, uint8_t level) {
    static const uint32_t dirs[3] = {0, MQWS_DECODE_FROM_CLIENT, MQWS_DECODE_FROM_SERVER};
    for (int i = 0; i < 3; i++)
        fuzz_stream(data, size, level, dirs[i]);
}

#endif
