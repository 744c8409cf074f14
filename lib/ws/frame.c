/* RFC 6455 §5 framing: an incremental decoder that unmasks in place and hands out views into
 * the caller's input, and the builders for outgoing frames.
 *
 * Buffering policy: payload bytes are never copied. The only bytes kept between calls are a
 * partial frame header (≤ 14 bytes, inside the state) and, while a control frame arrives split
 * across calls, its payload (≤ 125 bytes, allocated for that frame and released on the next
 * call). An idle connection holds no allocation.
 * SPDX-License-Identifier: MIT */
#include <assert.h>

#include "internal.h"
#include "mqws/ws.h"

enum { ST_HEADER, ST_DATA, ST_CONTROL, ST_CLOSED, ST_FAILED };

typedef struct ws_state {
    const mqws_allocator *alloc;
    uint8_t *ctl_buf;   /* MQWS_WS_CONTROL_PAYLOAD_MAX bytes while a split control frame is
                           assembled, until the next call after its event */
    uint64_t remaining; /* payload bytes left in the current data frame */
    uint64_t max_frame;
    uint64_t max_message;
    uint64_t msg_len;      /* payload bytes of the current message so far */
    mqws_utf8_stream utf8; /* text message validation across frames (§8.1) */
    uint8_t key[4];        /* the current frame's masking key */
    uint16_t fail_code;
    int8_t err; /* sticky error once ST_FAILED */
    uint8_t state;
    uint8_t hdr[MQWS_WS_HEADER_MAX];
    uint8_t hdr_have;
    uint8_t hdr_need;
    uint8_t role;
    uint8_t binary_only;
    uint8_t phase; /* payload offset modulo 4 within the current frame */
    uint8_t masked;
    uint8_t frame_op;
    uint8_t frame_fin;
    uint8_t msg_op;      /* opcode of the message in progress, 0 = none */
    uint8_t msg_started; /* MQWS_WS_MSG_START was delivered for the message in progress */
    uint8_t ctl_len;
    uint8_t ctl_have;
    uint8_t close_sent;
    uint8_t close_rcvd;
} ws_state;

static_assert(sizeof(ws_state) <= sizeof(mqws_ws), "mqws_ws must hold the frame state");
static_assert(_Alignof(ws_state) <= _Alignof(mqws_ws), "mqws_ws alignment");
static_assert(sizeof(mqws_ws) == 128, "per-connection state is 128 bytes (ABI)");

MQWS_INLINE ws_state *st(mqws_ws *w) { return (ws_state *)(void *)w->opaque_; }
MQWS_INLINE const ws_state *cst(const mqws_ws *w) {
    return (const ws_state *)(const void *)w->opaque_;
}

size_t mqws_ws_state_size(void) { return sizeof(ws_state); }

int mqws_ws_init(mqws_ws *w, const mqws_ws_config *cfg) {
    mqws_ws_config def = MQWS_WS_CONFIG_INIT;
    if (!w)
        return MQWS_EINVAL;
    if (!cfg)
        cfg = &def;
    if (cfg->size < sizeof(mqws_ws_config) || cfg->role > MQWS_WS_CLIENT ||
        (cfg->flags & ~MQWS_WS_BINARY_ONLY))
        return MQWS_EINVAL;
    memset(w, 0, sizeof *w);
    ws_state *s = st(w);
    s->alloc = mqws__allocator_or_default(cfg->allocator);
    s->role = (uint8_t)cfg->role;
    s->binary_only = (cfg->flags & MQWS_WS_BINARY_ONLY) != 0;
    s->max_frame = cfg->max_frame ? cfg->max_frame : def.max_frame;
    s->max_message = cfg->max_message ? cfg->max_message : def.max_message;
    s->state = ST_HEADER;
    return MQWS_OK;
}

static void release_ctl(ws_state *s) {
    if (s->ctl_buf) {
        mqws__free(s->alloc, s->ctl_buf, MQWS_WS_CONTROL_PAYLOAD_MAX);
        s->ctl_buf = NULL;
    }
}

void mqws_ws_cleanup(mqws_ws *w) {
    if (w)
        release_ctl(st(w));
}

uint32_t mqws_ws_fail_code(const mqws_ws *w) { return cst(w)->fail_code; }
int mqws_ws_close_received(const mqws_ws *w) { return cst(w)->close_rcvd; }
int mqws_ws_close_sent(const mqws_ws *w) { return cst(w)->close_sent; }

int mqws_ws_tcp_action(const mqws_ws *w) {
    const ws_state *s = cst(w);
    if (s->state == ST_FAILED)
        return MQWS_WS_TCP_CLOSE_NOW;
    if (s->close_sent && s->close_rcvd)
        return s->role == MQWS_WS_SERVER ? MQWS_WS_TCP_CLOSE_NOW : MQWS_WS_TCP_WAIT_PEER;
    return MQWS_WS_TCP_KEEP;
}

/* ------------------------------------------------------------------------------------------ */
/* Masking (§5.3): XOR with the key repeated from the payload offset's phase. Whole words are
 * processed with unaligned loads through memcpy (one instruction on x86-64 and AArch64, still
 * correct on strict-alignment targets): because every word covers a multiple of 4 bytes, one
 * rotated 64-bit key serves the whole call, whatever the buffer's alignment. */

#if defined(__GNUC__) || defined(__clang__)
typedef uint64_t mask_vec __attribute__((vector_size(16)));
#define MQWS_WS_VECTOR 1
#endif

MQWS_INLINE uint64_t rotated_key(const uint8_t key[4], size_t phase) {
    if ((phase & 3u) == 0) {
        uint32_t k32;
        memcpy(&k32, key, 4);
        return ((uint64_t)k32 << 32) | k32; /* byte order does not matter: both halves equal */
    }
    uint8_t kb[8];
    kb[0] = kb[4] = key[phase & 3u];
    kb[1] = kb[5] = key[(phase + 1) & 3u];
    kb[2] = kb[6] = key[(phase + 2) & 3u];
    kb[3] = kb[7] = key[(phase + 3) & 3u];
    uint64_t k;
    memcpy(&k, kb, 8);
    return k;
}

MQWS_INLINE void mask_inline(uint8_t *p, size_t n, const uint8_t key[4], size_t phase) {
    uint64_t k = rotated_key(key, phase);
    size_t i = 0;
#ifdef MQWS_WS_VECTOR
    if (n >= 32) {
        mask_vec kv = {k, k};
        for (; i + 64 <= n; i += 64) {
            mask_vec a, b, c, d;
            memcpy(&a, p + i, 16);
            memcpy(&b, p + i + 16, 16);
            memcpy(&c, p + i + 32, 16);
            memcpy(&d, p + i + 48, 16);
            a ^= kv;
            b ^= kv;
            c ^= kv;
            d ^= kv;
            memcpy(p + i, &a, 16);
            memcpy(p + i + 16, &b, 16);
            memcpy(p + i + 32, &c, 16);
            memcpy(p + i + 48, &d, 16);
        }
        for (; i + 16 <= n; i += 16) {
            mask_vec a;
            memcpy(&a, p + i, 16);
            a ^= kv;
            memcpy(p + i, &a, 16);
        }
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k;
        memcpy(p + i, &w, 8);
    }
    if (i < n) {
        uint8_t kb[8];
        memcpy(kb, &k, 8);
        for (size_t j = 0; i < n; i++, j++)
            p[i] ^= kb[j];
    }
}

void mqws_ws_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t phase) {
    mask_inline(data, len, key, phase & 3u);
}

/* ------------------------------------------------------------------------------------------ */
/* Decoder */

static int fail(ws_state *s, int err, uint16_t code) {
    s->state = ST_FAILED;
    s->err = (int8_t)err;
    s->fail_code = code;
    return err;
}

/* Close codes a peer may send (§7.4.1, §7.4.2, and the IANA registry's 1012-1014). 1004-1006,
 * 1015 and 1016-2999 are not allowed on the wire; 0-999 are never used. */
static int close_code_valid(uint32_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Checks that need only the first two header bytes; sets hdr_need. */
static int header_first(ws_state *s, uint8_t b0, uint8_t b1) {
    unsigned op = b0 & 0x0Fu, len7 = b1 & 0x7Fu;
    int fin = (b0 & 0x80u) != 0, masked = (b1 & 0x80u) != 0;
    /* §5.2: RSV1-3 must be 0 without a negotiated extension (we negotiate none). */
    if (b0 & 0x70u)
        return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    if (op & 0x8u) {
        /* §5.5: control opcodes 0x8-0xA; 0xB-0xF are reserved. Never fragmented, ≤ 125. */
        if (op > MQWS_WS_OP_PONG || !fin || len7 > 125)
            return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    } else if (op == MQWS_WS_OP_CONT) {
        /* §5.4: a continuation frame needs a message in progress. */
        if (!s->msg_op)
            return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    } else if (op <= MQWS_WS_OP_BINARY) {
        /* §5.4: a new data message may not start inside a fragmented one. */
        if (s->msg_op)
            return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
        if (op == MQWS_WS_OP_TEXT && s->binary_only)
            return fail(s, MQWS_EUNSUPPORTED, MQWS_WS_CLOSE_UNSUPPORTED);
    } else {
        return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL); /* 0x3-0x7 reserved */
    }
    /* §5.1: a server fails on an unmasked client frame, a client on a masked server frame. */
    if (masked != (s->role == MQWS_WS_SERVER))
        return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    s->hdr_need = (uint8_t)(2u + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + (masked ? 4u : 0u));
    return MQWS_OK;
}

/* The rest of the header, all hdr_need bytes at p (first two already checked). */
static int header_rest(ws_state *s, const uint8_t *p) {
    unsigned op = p[0] & 0x0Fu, len7 = p[1] & 0x7Fu;
    uint64_t len = len7;
    const uint8_t *k = p + 2;
    if (len7 == 126) {
        len = mqws__load16(p + 2);
        k += 2;
        if (len < 126) /* §5.2: the minimal number of bytes MUST be used */
            return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    } else if (len7 == 127) {
        len = mqws__load64(p + 2);
        k += 8;
        if ((len >> 63) || len < 65536) /* §5.2: MSB 0; minimal encoding */
            return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    }
    s->masked = (p[1] & 0x80u) != 0;
    if (s->masked)
        memcpy(s->key, k, 4);
    s->phase = 0;
    s->frame_op = (uint8_t)op;
    s->frame_fin = (p[0] & 0x80u) != 0;
    if (op & 0x8u) {
        s->ctl_len = (uint8_t)len;
        s->ctl_have = 0;
        s->state = ST_CONTROL;
        return MQWS_OK;
    }
    /* §10.4: limits are decided from the header, before any payload is read or kept. */
    uint64_t so_far = op == MQWS_WS_OP_CONT ? s->msg_len : 0;
    if (len > s->max_frame || len > s->max_message - so_far)
        return fail(s, MQWS_ETOOBIG, MQWS_WS_CLOSE_TOO_BIG);
    if (op != MQWS_WS_OP_CONT) {
        s->msg_op = (uint8_t)op;
        s->msg_started = 0;
        s->msg_len = 0;
        s->utf8.state = 0;
        s->utf8.cp = 0;
    }
    s->msg_len += len;
    s->remaining = len;
    s->state = ST_DATA;
    return MQWS_OK;
}

static int control_event(ws_state *s, uint8_t *p, size_t n, mqws_ws_event *ev) {
    ev->opcode = s->frame_op;
    ev->flags = 0;
    ev->code = 0;
    ev->data.ptr = p;
    ev->data.len = n;
    s->state = ST_HEADER;
    if (s->frame_op == MQWS_WS_OP_PING) {
        ev->type = MQWS_WS_EV_PING;
        return 1;
    }
    if (s->frame_op == MQWS_WS_OP_PONG) {
        ev->type = MQWS_WS_EV_PONG;
        return 1;
    }
    /* §5.5.1: a close body is empty or a 2-byte code plus UTF-8 reason. */
    ev->type = MQWS_WS_EV_CLOSE;
    ev->code = MQWS_WS_CLOSE_NO_STATUS;
    if (n == 1)
        return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
    if (n >= 2) {
        ev->code = mqws__load16(p);
        if (!close_code_valid(ev->code))
            return fail(s, MQWS_EPROTO, MQWS_WS_CLOSE_PROTOCOL);
        mqws_utf8_stream u = {0, 0};
        if (mqws_utf8_stream_feed(&u, p + 2, n - 2, NULL) != MQWS_OK ||
            !mqws_utf8_stream_complete(&u))
            return fail(s, MQWS_EUTF8, MQWS_WS_CLOSE_INVALID_DATA);
        ev->data.ptr = p + 2;
        ev->data.len = n - 2;
    }
    s->close_rcvd = 1;
    s->state = ST_CLOSED;
    return 1;
}

int mqws_ws_recv(mqws_ws *w, uint8_t *buf, size_t len, size_t *consumed, mqws_ws_event *ev) {
    ws_state *s = st(w);
    size_t pos = 0;
    int r;
    *consumed = 0;
    if (MQWS_UNLIKELY(s->ctl_buf != NULL) && s->state != ST_CONTROL)
        release_ctl(s);
    /* Fast path: a whole unfragmented binary frame (the MQTT case), length < 65536, with no
     * message in progress. Every check below is one the general path makes too; the state is
     * left exactly as the general path would leave it. */
    if (MQWS_LIKELY(s->state == ST_HEADER && s->hdr_have == 0 && len >= 2 && buf[0] == 0x82 &&
                    !s->msg_op)) {
        unsigned b1 = buf[1], len7 = b1 & 0x7Fu;
        size_t mask_len = s->role == MQWS_WS_SERVER ? 4u : 0u, hl = 2 + mask_len, plen = len7;
        if ((b1 >> 7) == (mask_len >> 2) && len7 <= 126) {
            if (len7 == 126) {
                hl += 2;
                plen = len >= 4 ? mqws__load16(buf + 2) : 0;
            }
            if (len >= hl + plen && plen >= (len7 == 126 ? 126u : 0u) && plen <= s->max_frame &&
                plen <= s->max_message) {
                uint8_t *p = buf + hl;
                if (mask_len)
                    mask_inline(p, plen, p - 4, 0);
                ev->type = MQWS_WS_EV_DATA;
                ev->opcode = MQWS_WS_OP_BINARY;
                ev->flags = MQWS_WS_MSG_START | MQWS_WS_MSG_END;
                ev->code = 0;
                ev->data.ptr = p;
                ev->data.len = plen;
                *consumed = hl + plen;
                return 1;
            }
        }
    }
    for (;;) {
        switch (s->state) {
            case ST_HEADER: {
                const uint8_t *h;
                if (MQWS_LIKELY(s->hdr_have == 0)) {
                    if (len - pos < 2) {
                        if (pos == len) {
                            *consumed = len;
                            return 0;
                        }
                        s->hdr[0] = buf[pos];
                        s->hdr_have = 1;
                        *consumed = len;
                        return 0;
                    }
                    if ((r = header_first(s, buf[pos], buf[pos + 1])) < 0) {
                        *consumed = pos;
                        return r;
                    }
                    if (MQWS_LIKELY(len - pos >= s->hdr_need)) {
                        h = buf + pos;
                        pos += s->hdr_need;
                    } else {
                        memcpy(s->hdr, buf + pos, len - pos);
                        s->hdr_have = (uint8_t)(len - pos);
                        *consumed = len;
                        return 0;
                    }
                } else {
                    if (s->hdr_have == 1) {
                        if (pos == len) {
                            *consumed = len;
                            return 0;
                        }
                        s->hdr[1] = buf[pos++];
                        s->hdr_have = 2;
                        if ((r = header_first(s, s->hdr[0], s->hdr[1])) < 0) {
                            *consumed = pos - 1;
                            return r;
                        }
                    }
                    size_t take = s->hdr_need - s->hdr_have;
                    if (take > len - pos)
                        take = len - pos;
                    memcpy(s->hdr + s->hdr_have, buf + pos, take);
                    s->hdr_have = (uint8_t)(s->hdr_have + take);
                    pos += take;
                    if (s->hdr_have < s->hdr_need) {
                        *consumed = len;
                        return 0;
                    }
                    s->hdr_have = 0;
                    h = s->hdr;
                }
                if ((r = header_rest(s, h)) < 0) {
                    *consumed = pos;
                    return r;
                }
                if (s->state == ST_DATA && s->remaining == 0) {
                    s->state = ST_HEADER;
                    if (!s->frame_fin)
                        continue; /* an empty fragment: nothing to report */
                    /* An empty final frame still ends (or is) a message. */
                    ev->type = MQWS_WS_EV_DATA;
                    ev->opcode = s->msg_op;
                    ev->code = 0;
                    ev->data.ptr = buf + pos;
                    ev->data.len = 0;
                    goto end_of_message;
                }
                continue;
            }
            case ST_DATA: {
                size_t avail = len - pos;
                if (avail == 0) {
                    *consumed = len;
                    return 0;
                }
                if ((uint64_t)avail > s->remaining)
                    avail = (size_t)s->remaining;
                uint8_t *p = buf + pos;
                if (s->masked)
                    mask_inline(p, avail, s->key, s->phase);
                if (s->msg_op == MQWS_WS_OP_TEXT) {
                    size_t bad = 0;
                    /* §8.1: fail at the first byte that cannot be valid UTF-8. */
                    if (mqws_utf8_stream_feed(&s->utf8, p, avail, &bad) != MQWS_OK) {
                        *consumed = pos + bad;
                        return fail(s, MQWS_EUTF8, MQWS_WS_CLOSE_INVALID_DATA);
                    }
                }
                s->remaining -= avail;
                s->phase = (uint8_t)((s->phase + avail) & 3u);
                pos += avail;
                ev->type = MQWS_WS_EV_DATA;
                ev->opcode = s->msg_op;
                ev->code = 0;
                ev->data.ptr = p;
                ev->data.len = avail;
                if (s->remaining == 0) {
                    s->state = ST_HEADER;
                    if (s->frame_fin)
                        goto end_of_message;
                }
                ev->flags = s->msg_started ? 0u : MQWS_WS_MSG_START;
                s->msg_started = 1;
                *consumed = pos;
                return 1;
            }
            case ST_CONTROL: {
                uint8_t *p;
                if (s->ctl_have == 0 && len - pos >= s->ctl_len) {
                    p = buf + pos;
                    pos += s->ctl_len;
                } else {
                    if (!s->ctl_buf) {
                        s->ctl_buf = mqws__alloc(s->alloc, MQWS_WS_CONTROL_PAYLOAD_MAX);
                        if (!s->ctl_buf) {
                            *consumed = pos;
                            return MQWS_ENOMEM;
                        }
                    }
                    size_t take = (size_t)(s->ctl_len - s->ctl_have);
                    if (take > len - pos)
                        take = len - pos;
                    memcpy(s->ctl_buf + s->ctl_have, buf + pos, take);
                    s->ctl_have = (uint8_t)(s->ctl_have + take);
                    pos += take;
                    if (s->ctl_have < s->ctl_len) {
                        *consumed = len;
                        return 0;
                    }
                    p = s->ctl_buf;
                }
                if (s->masked)
                    mask_inline(p, s->ctl_len, s->key, 0);
                *consumed = pos;
                return control_event(s, p, s->ctl_len, ev);
            }
            case ST_CLOSED:
                /* §5.5.1: nothing follows a close frame; whatever does is discarded. */
                *consumed = len;
                return 0;
            default:
                return s->err;
        }
    }
end_of_message:
    ev->flags = (s->msg_started ? 0u : MQWS_WS_MSG_START) | MQWS_WS_MSG_END;
    s->msg_started = 0;
    *consumed = pos;
    if (s->msg_op == MQWS_WS_OP_TEXT && !mqws_utf8_stream_complete(&s->utf8))
        return fail(s, MQWS_EUTF8, MQWS_WS_CLOSE_INVALID_DATA);
    s->msg_op = 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoder */

static int opcode_valid(uint32_t op) {
    return op <= MQWS_WS_OP_BINARY || (op >= MQWS_WS_OP_CLOSE && op <= MQWS_WS_OP_PONG);
}

int mqws_ws_frame_header(uint8_t *out, uint32_t opcode, int fin, uint64_t payload_len,
                         const uint8_t *mask_key) {
    if (!opcode_valid(opcode) || (payload_len >> 63))
        return MQWS_EINVAL;
    if ((opcode & 0x8u) && (!fin || payload_len > 125))
        return MQWS_EINVAL;
    int n = 2;
    out[0] = (uint8_t)((fin ? 0x80u : 0u) | opcode);
    uint8_t m = mask_key ? 0x80u : 0u;
    if (payload_len < 126) {
        out[1] = (uint8_t)(m | payload_len);
    } else if (payload_len <= 0xFFFFu) {
        out[1] = (uint8_t)(m | 126u);
        mqws__store16(out + 2, (uint16_t)payload_len);
        n = 4;
    } else {
        out[1] = (uint8_t)(m | 127u);
        mqws__store64(out + 2, payload_len);
        n = 10;
    }
    if (mask_key) {
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return n;
}

int mqws_ws_control_frame(uint32_t opcode, const uint8_t *payload, size_t len,
                          const uint8_t *mask_key, uint8_t *out, size_t cap) {
    if (!(opcode & 0x8u) || len > MQWS_WS_CONTROL_PAYLOAD_MAX || (len && !payload))
        return MQWS_EINVAL;
    uint8_t hdr[MQWS_WS_HEADER_MAX];
    int h = mqws_ws_frame_header(hdr, opcode, 1, len, mask_key);
    if (h < 0)
        return h;
    if ((size_t)h + len > cap)
        return MQWS_ENOSPC;
    memcpy(out, hdr, (size_t)h);
    if (len)
        memcpy(out + h, payload, len);
    if (mask_key)
        mask_inline(out + h, len, mask_key, 0);
    return h + (int)len;
}

/* Codes we may put on the wire (§7.4.1: 1005, 1006 and 1015 MUST NOT be sent). */
int mqws_ws_close(mqws_ws *w, uint32_t code, const uint8_t *reason, size_t reason_len,
                  const uint8_t *mask_key, uint8_t *out, size_t cap) {
    ws_state *s = st(w);
    uint8_t body[MQWS_WS_CONTROL_PAYLOAD_MAX];
    size_t n = 0;
    if (s->close_sent)
        return MQWS_ESTATE;
    if ((s->role == MQWS_WS_CLIENT) != (mask_key != NULL))
        return MQWS_EINVAL;
    if (code == 0) {
        if (reason_len)
            return MQWS_EINVAL;
    } else {
        if (!close_code_valid(code) || reason_len > MQWS_WS_CONTROL_PAYLOAD_MAX - 2 ||
            (reason_len && !reason))
            return MQWS_EINVAL;
        mqws_utf8_stream u = {0, 0};
        if (mqws_utf8_stream_feed(&u, reason, reason_len, NULL) != MQWS_OK ||
            !mqws_utf8_stream_complete(&u))
            return MQWS_EUTF8;
        mqws__store16(body, (uint16_t)code);
        if (reason_len)
            memcpy(body + 2, reason, reason_len);
        n = 2 + reason_len;
    }
    int r = mqws_ws_control_frame(MQWS_WS_OP_CLOSE, body, n, mask_key, out, cap);
    if (r >= 0)
        s->close_sent = 1;
    return r;
}

int mqws_ws_frame_iov(uint32_t opcode, const mqws_iovec *in, size_t nin, uint8_t *hdr,
                      mqws_iovec *out, size_t out_cap) {
    uint64_t total = 0;
    size_t n = 1;
    if (opcode != MQWS_WS_OP_BINARY && opcode != MQWS_WS_OP_TEXT && opcode != MQWS_WS_OP_CONT)
        return MQWS_EINVAL;
    for (size_t i = 0; i < nin; i++) {
        total += in[i].len;
        n += in[i].len != 0;
    }
    if (n > out_cap || n > 0x7fffffff)
        return MQWS_ENOSPC;
    int h = mqws_ws_frame_header(hdr, opcode, 1, total, NULL);
    if (h < 0)
        return h;
    out[0].base = hdr;
    out[0].len = (size_t)h;
    n = 1;
    for (size_t i = 0; i < nin; i++)
        if (in[i].len)
            out[n++] = in[i];
    return (int)n;
}
