/* mqws_conn: the per-socket stack, [WebSocket] -> MQTT session. See include/mqws/conn.h.
 *
 * Output order. Everything the host writes comes from one sequence: first `pre` (the HTTP
 * handshake request/response or an on_http answer), then, over WebSocket, one unit at a time:
 * the frame in progress (server: a 2..10-byte header followed by the session's own iovecs,
 * never copied; client: one masked copy), or control frames (pong, close) between frames.
 * pending() lists exactly what sent() will consume, in that order.
 *
 * SPDX-License-Identifier: MIT */
#include "mqws/conn.h"

#include "mqws/ws.h"
#include "session_internal.h"

enum { WS_HANDSHAKE = 0, WS_OPEN = 1, WS_HTTP = 2, WS_DEAD = 3 };

typedef struct conn_buf {
    uint8_t *p;
    uint32_t len;
    uint32_t off;
} conn_buf;

typedef struct conn_ws {
    mqws_ws_handshake *hs;
    mqws_ws ws;
    void (*on_http)(mqws_conn *c, const mqws_ws_handshake *hs, const uint8_t *body, size_t body_len,
                    void *user);
    void (*random)(void *user, uint8_t *out, size_t len);
    conn_buf pre;        /* handshake / HTTP bytes */
    conn_buf ctl;        /* control frames queued between data frames */
    conn_buf cbuf;       /* client: the masked frame in progress */
    uint64_t frame_left; /* server: session bytes left in the frame in progress */
    uint8_t fhdr[MQWS_WS_HEADER_MAX];
    uint8_t fhdr_len;
    uint8_t fhdr_off;
    uint8_t mode;
    uint8_t role;
    uint8_t ws_ready;   /* ws engine initialised */
    uint8_t close_done; /* our close frame was built */
    uint8_t subproto_len;
    char subproto[64];
} conn_ws;

struct mqws_conn {
    mqws_session *s;
    const mqws_allocator *a;
    void *user;
    int64_t (*on_send)(mqws_conn *c, const mqws_iovec *iov, size_t n, void *user);
    conn_ws *w; /* NULL for plain TCP: an idle TCP conn is this struct alone */
    uint8_t owns_session;
    uint8_t detached;
    uint8_t send_failed;
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct mqws_conn) <= 48,
               "a TCP mqws_conn must stay small: it is part of the idle-session budget");

static void buf_free(mqws_conn *c, conn_buf *b) {
    mqws__free(c->a, b->p, b->len);
    b->p = NULL;
    b->len = b->off = 0;
}

static int buf_append(mqws_conn *c, conn_buf *b, const void *data, size_t n) {
    if (n == 0)
        return MQWS_OK;
    if (n > UINT32_MAX - b->len)
        return MQWS_ENOMEM;
    uint8_t *np = b->p ? mqws__realloc(c->a, b->p, b->len, b->len + n) : mqws__alloc(c->a, n);
    if (!np)
        return MQWS_ENOMEM;
    memcpy(np + b->len, data, n);
    b->p = np;
    b->len += (uint32_t)n;
    return MQWS_OK;
}

static size_t buf_left(const conn_buf *b) { return b->len - b->off; }

/* Consume up to n bytes of b; returns what was used. Frees the buffer when done. */
static size_t buf_consume(mqws_conn *c, conn_buf *b, size_t n) {
    size_t left = buf_left(b);
    size_t k = n < left ? n : left;
    b->off += (uint32_t)k;
    if (b->off == b->len)
        buf_free(c, b);
    return k;
}

mqws_conn *mqws_conn_new(const mqws_conn_config *cfg, const mqws_callbacks *cb, void *user,
                         int64_t now_ms) {
    mqws_conn_config def = MQWS_CONN_CONFIG_INIT;
    if (!cfg)
        cfg = &def;
    if (cfg->size < sizeof(mqws_conn_config) || cfg->transport > MQWS_CONN_WS)
        return NULL;
    const mqws_allocator *a = mqws__allocator_or_default(cfg->allocator);
    mqws_session_config scfg = MQWS_SESSION_CONFIG_INIT;
    if (cfg->session)
        scfg = *cfg->session;
    scfg.allocator = a;
    int client = scfg.role == MQWS_SESSION_CLIENT;
    if (cfg->transport == MQWS_CONN_WS && client && (!cfg->ws_key || !cfg->random))
        return NULL;
    mqws_conn *c = mqws__alloc(a, sizeof(*c));
    if (!c)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->a = a;
    c->user = user;
    c->on_send = cfg->on_send;
    c->owns_session = 1;
    c->s = mqws_session_new(&scfg, cb, user, now_ms);
    if (!c->s) {
        mqws__free(a, c, sizeof(*c));
        return NULL;
    }
    mqws__session_set_owner(c->s, c);
    if (cfg->transport == MQWS_CONN_WS) {
        conn_ws *w = mqws__alloc(a, sizeof(*w));
        if (!w)
            goto fail;
        memset(w, 0, sizeof(*w));
        c->w = w;
        w->on_http = cfg->on_http;
        w->random = cfg->random;
        w->role = client ? 1 : 0;
        mqws_ws_handshake_config hcfg = MQWS_WS_HANDSHAKE_CONFIG_INIT;
        if (cfg->ws_handshake)
            hcfg = *cfg->ws_handshake;
        hcfg.allocator = a;
        if (!client && w->on_http)
            hcfg.flags |= MQWS_WS_HS_ALLOW_HTTP;
        w->hs = client ? mqws_ws_handshake_client_new(&hcfg, cfg->ws_key, now_ms)
                       : mqws_ws_handshake_server_new(&hcfg, now_ms);
        if (!w->hs)
            goto fail;
        if (client) {
            mqws_view req = mqws_ws_handshake_output(w->hs);
            if (buf_append(c, &w->pre, req.ptr, req.len) < 0)
                goto fail;
        }
    }
    return c;
fail:
    mqws_conn_free(c);
    return NULL;
}

void mqws_conn_free(mqws_conn *c) {
    if (!c)
        return;
    if (c->w) {
        conn_ws *w = c->w;
        mqws_ws_handshake_free(w->hs);
        if (w->ws_ready)
            mqws_ws_cleanup(&w->ws);
        buf_free(c, &w->pre);
        buf_free(c, &w->ctl);
        buf_free(c, &w->cbuf);
        mqws__free(c->a, w, sizeof(*w));
    }
    if (c->s && c->owns_session)
        mqws_session_free(c->s);
    mqws__free(c->a, c, sizeof(*c));
}

mqws_session *mqws_conn_session(const mqws_conn *c) { return c->detached ? NULL : c->s; }

mqws_conn *mqws_conn_of(const mqws_session *s) { return s ? mqws__session_owner(s) : NULL; }

mqws_session *mqws_conn_detach_session(mqws_conn *c) {
    if (!c || c->detached)
        return NULL;
    mqws_session *s = c->s;
    mqws_session_eof(s); /* the socket goes: nothing more will be written */
    mqws__session_set_owner(s, NULL);
    c->detached = 1;
    c->owns_session = 0;
    if (c->w) {
        buf_free(c, &c->w->pre);
        buf_free(c, &c->w->ctl);
        buf_free(c, &c->w->cbuf);
        c->w->frame_left = 0;
        c->w->fhdr_len = c->w->fhdr_off = 0;
        c->w->mode = WS_DEAD;
    }
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Input */

static void ws_fail(mqws_conn *c, int err, uint16_t code, const char *message) {
    conn_ws *w = c->w;
    if (w->ws_ready && !mqws_ws_close_sent(&w->ws) && code) {
        uint8_t frame[MQWS_WS_CONTROL_MAX];
        uint8_t key[4];
        if (w->role)
            w->random(c->user, key, 4);
        int n = mqws_ws_close(&w->ws, code, NULL, 0, w->role ? key : NULL, frame, sizeof(frame));
        if (n > 0)
            (void)buf_append(c, &w->ctl, frame, (size_t)n);
        w->close_done = 1;
    }
    mqws__session_abort(c->s, err, MQWS_RC_UNSPECIFIED_ERROR, err == MQWS_ECLOSED, message);
    c->s->close.ws_code = code;
    w->mode = WS_DEAD;
}

static int ws_start(mqws_conn *c) {
    conn_ws *w = c->w;
    mqws_ws_config wc = MQWS_WS_CONFIG_INIT;
    wc.allocator = c->a;
    wc.role = w->role ? MQWS_WS_CLIENT : MQWS_WS_SERVER;
    wc.flags = MQWS_WS_BINARY_ONLY;
    /* MQTT packets may span frames and messages; the session bounds each packet itself. */
    uint64_t maxp = c->s->max_packet_in;
    wc.max_frame = maxp < 65536u ? 65536u : maxp + 5u;
    wc.max_message = (uint64_t)1 << 62;
    int rc = mqws_ws_init(&w->ws, &wc);
    if (rc < 0)
        return rc;
    w->ws_ready = 1;
    mqws_view sp = mqws_ws_handshake_subprotocol(w->hs);
    if (sp.len && sp.len <= sizeof(w->subproto)) {
        memcpy(w->subproto, sp.ptr, sp.len);
        w->subproto_len = (uint8_t)sp.len;
    }
    w->mode = WS_OPEN;
    return MQWS_OK;
}

static int64_t recv_ws(mqws_conn *c, uint8_t *buf, size_t len) {
    conn_ws *w = c->w;
    size_t pos = 0;
    if (w->mode == WS_HANDSHAKE) {
        size_t used = 0;
        int rc = mqws_ws_handshake_feed(w->hs, buf, len, &used);
        if (rc == MQWS_WS_HS_MORE)
            return (int64_t)len;
        if (rc == MQWS_WS_HS_UPGRADE) {
            if (!w->role) {
                mqws_view out = mqws_ws_handshake_output(w->hs);
                if (buf_append(c, &w->pre, out.ptr, out.len) < 0) {
                    ws_fail(c, MQWS_ENOMEM, 0, "out of memory");
                    return MQWS_ENOMEM;
                }
            }
            rc = ws_start(c);
            mqws_ws_handshake_free(w->hs);
            w->hs = NULL;
            if (rc < 0) {
                ws_fail(c, rc, 0, "WebSocket setup failed");
                return rc;
            }
            pos = used;
        } else if (rc == MQWS_WS_HS_HTTP) {
            w->mode = WS_HTTP;
            mqws__session_abort(c->s, MQWS_OK, 0, 0, "plain HTTP request");
            if (w->on_http)
                w->on_http(c, w->hs, buf + used, len - used, c->user);
            return (int64_t)len;
        } else {
            /* Refused: the handshake object holds the error response for the server role. */
            if (!w->role) {
                mqws_view out = mqws_ws_handshake_output(w->hs);
                (void)buf_append(c, &w->pre, out.ptr, out.len);
            }
            mqws__session_abort(c->s, rc == MQWS_ENOMEM ? rc : MQWS_EHANDSHAKE, 0, 0,
                                "WebSocket handshake refused");
            w->mode = WS_DEAD;
            return rc == MQWS_ENOMEM ? rc : MQWS_EHANDSHAKE;
        }
    }
    /* Stop at the end of the MQTT connection: nothing is processed after it. */
    while (pos < len && w->mode == WS_OPEN && mqws_session_want_read(c->s)) {
        size_t used = 0;
        mqws_ws_event ev;
        int rc = mqws_ws_recv(&w->ws, buf + pos, len - pos, &used, &ev);
        pos += used;
        if (rc == 0)
            continue;
        if (rc < 0) {
            uint32_t code = rc == MQWS_ENOMEM ? MQWS_WS_CLOSE_INTERNAL : mqws_ws_fail_code(&w->ws);
            ws_fail(c, rc, (uint16_t)code, "WebSocket protocol error");
            return rc;
        }
        if (ev.type == MQWS_WS_EV_DATA) {
            if (mqws_session_want_read(c->s) && ev.data.len) {
                int64_t r = mqws_session_recv(c->s, ev.data.ptr, ev.data.len);
                if (r < 0)
                    return r;
            }
        } else if (ev.type == MQWS_WS_EV_PING) {
            uint8_t frame[MQWS_WS_CONTROL_MAX];
            uint8_t key[4];
            if (w->role)
                w->random(c->user, key, 4);
            int n = mqws_ws_control_frame(MQWS_WS_OP_PONG, ev.data.ptr, ev.data.len,
                                          w->role ? key : NULL, frame, sizeof(frame));
            if (n > 0 && buf_append(c, &w->ctl, frame, (size_t)n) < 0) {
                ws_fail(c, MQWS_ENOMEM, MQWS_WS_CLOSE_INTERNAL, "out of memory");
                return MQWS_ENOMEM;
            }
        } else if (ev.type == MQWS_WS_EV_CLOSE) {
            /* The peer closed: answer (RFC 6455 §5.5.1) and end the MQTT connection as lost
             * unless it already ended (DISCONNECT came first). */
            uint16_t code = (uint16_t)ev.code;
            if (!mqws_ws_close_sent(&w->ws)) {
                uint8_t frame[MQWS_WS_CONTROL_MAX];
                uint8_t key[4];
                if (w->role)
                    w->random(c->user, key, 4);
                uint32_t echo = code == MQWS_WS_CLOSE_NO_STATUS ? 0 : MQWS_WS_CLOSE_NORMAL;
                int n = mqws_ws_close(&w->ws, echo, NULL, 0, w->role ? key : NULL, frame,
                                      sizeof(frame));
                if (n > 0)
                    (void)buf_append(c, &w->ctl, frame, (size_t)n);
                w->close_done = 1;
            }
            if (mqws_session_want_read(c->s)) {
                mqws__session_abort(c->s, MQWS_ECLOSED, MQWS_RC_UNSPECIFIED_ERROR, 1,
                                    "WebSocket closed by the peer");
            }
            if (!c->s->close.ws_code)
                c->s->close.ws_code = code;
            w->mode = WS_DEAD;
            return (int64_t)len;
        }
    }
    return (int64_t)pos;
}

int64_t mqws_conn_recv(mqws_conn *c, uint8_t *buf, size_t len) {
    if (!c || (!buf && len))
        return MQWS_EINVAL;
    if (c->detached)
        return MQWS_ECLOSED;
    if (!c->w)
        return mqws_session_recv(c->s, buf, len);
    if (c->w->mode != WS_HANDSHAKE && c->w->mode != WS_OPEN)
        return MQWS_ECLOSED;
    if (c->w->mode == WS_OPEN && !mqws_session_want_read(c->s) &&
        mqws_session_state(c->s) != MQWS_SESSION_IDLE)
        return MQWS_ECLOSED;
    return recv_ws(c, buf, len);
}

/* ------------------------------------------------------------------------------------------ */
/* Output */

static int frame_in_progress(const conn_ws *w) {
    return w->fhdr_off < w->fhdr_len || w->frame_left > 0 || buf_left(&w->cbuf) > 0;
}

/* Build what comes next when nothing is in progress: a data frame over the session's pending
 * bytes, or our close frame once the session is over and flushed. */
static void ws_prepare(mqws_conn *c) {
    conn_ws *w = c->w;
    if (w->mode != WS_OPEN && !(w->mode == WS_DEAD && w->ws_ready))
        return;
    if (!w->ws_ready || frame_in_progress(w) || buf_left(&w->ctl))
        return;
    size_t pend = mqws_session_pending_bytes(c->s);
    if (pend && !mqws_ws_close_sent(&w->ws)) {
        if (!w->role) {
            int n = mqws_ws_frame_header(w->fhdr, MQWS_WS_OP_BINARY, 1, pend, NULL);
            if (n < 0)
                return;
            w->fhdr_len = (uint8_t)n;
            w->fhdr_off = 0;
            w->frame_left = pend;
        } else {
            /* Client frames are masked: one copy of the pending bytes (RFC 6455 §5.3). */
            uint8_t key[4];
            w->random(c->user, key, 4);
            uint8_t hdr[MQWS_WS_HEADER_MAX];
            int n = mqws_ws_frame_header(hdr, MQWS_WS_OP_BINARY, 1, pend, key);
            if (n < 0 || pend > UINT32_MAX - (size_t)n)
                return;
            uint8_t *p = mqws__alloc(c->a, (size_t)n + pend);
            if (!p)
                return; /* retried on the next call */
            memcpy(p, hdr, (size_t)n);
            mqws_iovec iov[16];
            size_t off = (size_t)n, k;
            while (off < (size_t)n + pend && (k = mqws_session_pending(c->s, iov, 16)) > 0) {
                size_t got = 0;
                for (size_t i = 0; i < k; i++) {
                    memcpy(p + off + got, iov[i].base, iov[i].len);
                    got += iov[i].len;
                }
                mqws_session_sent(c->s, got);
                off += got;
            }
            mqws_ws_mask(p + n, pend, key, 0);
            w->cbuf.p = p;
            w->cbuf.len = (uint32_t)((size_t)n + pend);
            w->cbuf.off = 0;
        }
        return;
    }
    if (!pend && !w->close_done && !mqws_session_want_read(c->s) && w->mode == WS_OPEN) {
        const mqws_close_info *ci = mqws_session_close_info(c->s);
        uint32_t code = ci->error < 0 && ci->error != MQWS_ECLOSED ? MQWS_WS_CLOSE_PROTOCOL
                                                                   : MQWS_WS_CLOSE_NORMAL;
        uint8_t frame[MQWS_WS_CONTROL_MAX];
        uint8_t key[4];
        if (w->role)
            w->random(c->user, key, 4);
        int n = mqws_ws_close(&w->ws, code, NULL, 0, w->role ? key : NULL, frame, sizeof(frame));
        if (n > 0 && buf_append(c, &w->ctl, frame, (size_t)n) == MQWS_OK) {
            w->close_done = 1;
            c->s->close.ws_code = (uint16_t)code;
        }
    }
}

size_t mqws_conn_pending(mqws_conn *c, mqws_iovec *iov, size_t max) {
    if (!c || c->detached || max == 0)
        return 0;
    if (!c->w)
        return mqws_session_pending(c->s, iov, max);
    conn_ws *w = c->w;
    size_t n = 0;
    if (buf_left(&w->pre)) {
        iov[n].base = w->pre.p + w->pre.off;
        iov[n].len = buf_left(&w->pre);
        n++;
    }
    if (w->mode == WS_HANDSHAKE || w->mode == WS_HTTP || n == max)
        return n;
    ws_prepare(c);
    if (buf_left(&w->cbuf)) {
        iov[n].base = w->cbuf.p + w->cbuf.off;
        iov[n].len = buf_left(&w->cbuf);
        return n + 1;
    }
    if (w->fhdr_off < w->fhdr_len || w->frame_left) {
        if (w->fhdr_off < w->fhdr_len) {
            iov[n].base = w->fhdr + w->fhdr_off;
            iov[n].len = (size_t)(w->fhdr_len - w->fhdr_off);
            n++;
        }
        if (n < max && w->frame_left) {
            size_t k = mqws_session_pending(c->s, iov + n, max - n);
            uint64_t left = w->frame_left;
            size_t i = 0;
            for (; i < k && left; i++) {
                if (iov[n + i].len > left)
                    iov[n + i].len = (size_t)left;
                left -= iov[n + i].len;
            }
            n += i;
        }
        return n;
    }
    if (buf_left(&w->ctl)) {
        iov[n].base = w->ctl.p + w->ctl.off;
        iov[n].len = buf_left(&w->ctl);
        n++;
    }
    return n;
}

size_t mqws_conn_pending_bytes(mqws_conn *c) {
    if (!c || c->detached)
        return 0;
    if (!c->w)
        return mqws_session_pending_bytes(c->s);
    conn_ws *w = c->w;
    if (w->mode != WS_HANDSHAKE && w->mode != WS_HTTP)
        ws_prepare(c);
    size_t n = buf_left(&w->pre) + buf_left(&w->ctl) + buf_left(&w->cbuf);
    if (w->mode == WS_OPEN || (w->mode == WS_DEAD && w->ws_ready)) {
        n += (size_t)(w->fhdr_len - w->fhdr_off);
        size_t sp = mqws_session_pending_bytes(c->s);
        if (w->ws_ready && !mqws_ws_close_sent(&w->ws))
            n += sp + (w->frame_left ? 0 : (sp ? (w->role ? 14u : 10u) : 0)); /* upper bound */
        else
            n += (size_t)w->frame_left;
    }
    return n;
}

void mqws_conn_sent(mqws_conn *c, size_t n) {
    if (!c || c->detached)
        return;
    if (!c->w) {
        mqws_session_sent(c->s, n);
        return;
    }
    conn_ws *w = c->w;
    n -= buf_consume(c, &w->pre, n);
    if (n && buf_left(&w->cbuf)) {
        buf_consume(c, &w->cbuf, n);
        return;
    }
    if (n && w->fhdr_off < w->fhdr_len) {
        size_t k = (size_t)(w->fhdr_len - w->fhdr_off);
        if (k > n)
            k = n;
        w->fhdr_off = (uint8_t)(w->fhdr_off + k);
        n -= k;
        if (w->fhdr_off == w->fhdr_len && w->frame_left == 0)
            w->fhdr_len = w->fhdr_off = 0;
    }
    if (n && w->frame_left) {
        size_t k = n < w->frame_left ? n : (size_t)w->frame_left;
        mqws_session_sent(c->s, k);
        w->frame_left -= k;
        n -= k;
        if (w->frame_left == 0)
            w->fhdr_len = w->fhdr_off = 0;
        return;
    }
    if (n)
        buf_consume(c, &w->ctl, n);
}

int mqws_conn_flush(mqws_conn *c) {
    if (!c || !c->on_send)
        return MQWS_EINVAL;
    if (c->send_failed)
        return MQWS_ECLOSED;
    mqws_iovec iov[32];
    size_t n;
    while ((n = mqws_conn_pending(c, iov, 32)) > 0) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += iov[i].len;
        int64_t w = c->on_send(c, iov, n, c->user);
        if (w < 0) {
            c->send_failed = 1;
            mqws_conn_eof(c);
            return MQWS_ECLOSED;
        }
        if ((uint64_t)w > total)
            w = (int64_t)total;
        mqws_conn_sent(c, (size_t)w);
        if ((size_t)w < total)
            break;
    }
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* State and time */

int64_t mqws_conn_tick(mqws_conn *c, int64_t now_ms) {
    if (!c || c->detached)
        return INT64_MAX;
    int64_t next = INT64_MAX;
    if (c->w && c->w->mode == WS_HANDSHAKE && c->w->hs) {
        int64_t dl = mqws_ws_handshake_deadline(c->w->hs);
        if (now_ms >= dl) {
            mqws__session_abort(c->s, MQWS_EHANDSHAKE, 0, 0, "WebSocket handshake timeout");
            c->w->mode = WS_DEAD;
        } else {
            next = dl;
        }
    }
    int64_t s = mqws_session_tick(c->s, now_ms);
    return s < next ? s : next;
}

int mqws_conn_want_read(const mqws_conn *c) {
    if (!c || c->detached)
        return 0;
    if (c->w && c->w->mode != WS_HANDSHAKE && c->w->mode != WS_OPEN)
        return 0;
    return mqws_session_want_read(c->s);
}

int mqws_conn_want_write(mqws_conn *c) { return mqws_conn_pending_bytes(c) > 0; }

int mqws_conn_closed(const mqws_conn *c) { return !mqws_conn_want_read(c); }

const mqws_close_info *mqws_conn_close_info(const mqws_conn *c) {
    return mqws_session_close_info(c->s);
}

void mqws_conn_eof(mqws_conn *c) {
    if (!c || c->detached)
        return;
    mqws_session_eof(c->s);
    if (c->w) {
        conn_ws *w = c->w;
        buf_free(c, &w->pre);
        buf_free(c, &w->ctl);
        buf_free(c, &w->cbuf);
        w->frame_left = 0;
        w->fhdr_len = w->fhdr_off = 0;
        w->mode = WS_DEAD;
        w->close_done = 1;
    }
}

int mqws_conn_close(mqws_conn *c, uint8_t reason) {
    if (!c || c->detached)
        return MQWS_ECLOSED;
    if (c->w && c->w->mode == WS_HANDSHAKE) {
        mqws__session_abort(c->s, MQWS_OK, reason, 0, "closed by the host");
        c->w->mode = WS_DEAD;
        return MQWS_OK;
    }
    return mqws_session_disconnect(c->s, reason, NULL);
}

int mqws_conn_write_raw(mqws_conn *c, const void *data, size_t len) {
    if (!c || !c->w || c->w->mode != WS_HTTP)
        return MQWS_ESTATE;
    return buf_append(c, &c->w->pre, data, len);
}

mqws_view mqws_conn_ws_subprotocol(const mqws_conn *c) {
    mqws_view v = {NULL, 0};
    if (c && c->w) {
        v.ptr = (const uint8_t *)c->w->subproto;
        v.len = c->w->subproto_len;
    }
    return v;
}

size_t mqws_conn_heap_bytes(const mqws_conn *c) {
    size_t n = sizeof(*c);
    if (c->w)
        n += sizeof(*c->w) + c->w->pre.len + c->w->ctl.len + c->w->cbuf.len;
    return n;
}
