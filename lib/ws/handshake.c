/* RFC 6455 §4 opening handshake, both roles: an incremental, bounded HTTP/1.1 head parser
 * (RFC 7230 §3) and the WebSocket checks on top of it.
 *
 * The head is copied into a buffer that grows by doubling up to max_bytes; lines are indexed
 * as they complete, so a bare LF, too many headers or an oversized head are refused as soon as
 * they arrive. Nothing is parsed twice and no allocation happens after the bytes are accepted,
 * so a failing allocator never leaves a half-consumed input.
 * SPDX-License-Identifier: MIT */
#include "internal.h"
#include "mqws/ws.h"

#define WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define PROTO_MAX    64u  /* longest subprotocol name we configure */
#define PROTOS_SPACE 256u /* configured list, normalised as "a,b,c" */
#define RESP_SPACE   320u

typedef struct hs_line {
    uint32_t name_off, name_len, val_off, val_len;
} hs_line;

struct mqws_ws_handshake {
    const mqws_allocator *alloc;
    uint8_t *buf; /* the head as received */
    size_t len, cap;
    size_t scan;                   /* where the search for the next LF resumes */
    size_t line_start;             /* offset of the line being received */
    hs_line *lines;                /* max_headers entries */
    uint32_t nlines;               /* header lines indexed so far */
    uint32_t start_off, start_len; /* request line / status line */
    uint32_t max_bytes, max_headers, flags;
    uint8_t role;
    uint8_t have_start;
    uint8_t complete; /* the head is complete and the lines are parsed */
    int result;       /* sticky feed() result once decided */
    int status;
    int64_t deadline;
    mqws_view method, target, proto;
    int (*check_path)(void *user, const uint8_t *path, size_t len);
    int (*check_origin)(void *user, const uint8_t *origin, size_t len);
    void *user;
    char accept[MQWS_WS_ACCEPT_LEN]; /* client: the value the server must send */
    char protos[PROTOS_SPACE];
    size_t protos_len;
    uint8_t *out; /* response (points at resp) or request (heap, out_cap bytes) */
    size_t out_len, out_cap;
    uint8_t resp[RESP_SPACE];
};

/* ------------------------------------------------------------------------------------------ */
/* Character classes and comma lists (RFC 7230 §3.2.6, §7) */

static int is_tchar(uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const uint8_t *p, size_t n) {
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(p[i]))
            return 0;
    return 1;
}

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

static int view_ieq(mqws_view v, const char *s) {
    size_t n = strlen(s);
    if (v.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(v.ptr[i]) != lower((uint8_t)s[i]))
            return 0;
    return 1;
}

static int is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

static mqws_view trim(const uint8_t *p, size_t n) {
    while (n && is_ows(p[0]))
        p++, n--;
    while (n && is_ows(p[n - 1]))
        n--;
    mqws_view v = {p, n};
    return v;
}

/* Comma-separated list iteration; empty elements are skipped (RFC 7230 §7). */
typedef struct list_it {
    const uint8_t *p;
    size_t len, pos;
} list_it;

static int list_next(list_it *it, mqws_view *elem) {
    while (it->pos < it->len) {
        size_t start = it->pos, end = start;
        while (end < it->len && it->p[end] != ',')
            end++;
        it->pos = end + 1;
        *elem = trim(it->p + start, end - start);
        if (elem->len)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Creation */

static int check_cfg(const mqws_ws_handshake_config *cfg) {
    return cfg->size >= sizeof(mqws_ws_handshake_config) && cfg->max_bytes >= 64 &&
           cfg->max_bytes <= (1u << 20) && cfg->max_headers >= 1 && cfg->max_headers <= 1024 &&
           !(cfg->flags & ~(MQWS_WS_HS_REQUIRE_SUBPROTOCOL | MQWS_WS_HS_ALLOW_HTTP));
}

/* Copy a subprotocol list into hs->protos as "a,b,c", checking each name is a token. */
static int set_protos(mqws_ws_handshake *hs, const char *list) {
    list_it it = {(const uint8_t *)list, strlen(list), 0};
    mqws_view e;
    hs->protos_len = 0;
    while (list_next(&it, &e)) {
        if (!is_token(e.ptr, e.len) || e.len > PROTO_MAX ||
            hs->protos_len + e.len + 1 > PROTOS_SPACE)
            return MQWS_EINVAL;
        if (hs->protos_len)
            hs->protos[hs->protos_len++] = ',';
        memcpy(hs->protos + hs->protos_len, e.ptr, e.len);
        hs->protos_len += e.len;
    }
    return MQWS_OK;
}

static mqws_ws_handshake *hs_new(const mqws_ws_handshake_config *cfg, int64_t now_ms,
                                 uint8_t role) {
    mqws_ws_handshake_config def = MQWS_WS_HANDSHAKE_CONFIG_INIT;
    if (!cfg)
        cfg = &def;
    if (!check_cfg(cfg))
        return NULL;
    const mqws_allocator *a = mqws__allocator_or_default(cfg->allocator);
    mqws_ws_handshake *hs = mqws__alloc(a, sizeof *hs);
    if (!hs)
        return NULL;
    memset(hs, 0, sizeof *hs);
    hs->alloc = a;
    hs->role = role;
    hs->max_bytes = cfg->max_bytes;
    hs->max_headers = cfg->max_headers;
    hs->flags = cfg->flags;
    hs->check_path = cfg->check_path;
    hs->check_origin = cfg->check_origin;
    hs->user = cfg->user;
    hs->deadline = INT64_MAX;
    if (cfg->timeout_ms)
        hs->deadline = now_ms > INT64_MAX - (int64_t)cfg->timeout_ms
                           ? INT64_MAX
                           : now_ms + (int64_t)cfg->timeout_ms;
    hs->out = hs->resp;
    const char *protos = cfg->subprotocols;
    if (!protos)
        protos = role == MQWS_WS_SERVER ? "mqtt,mqttv3.1" : "mqtt";
    hs->lines = mqws__alloc(a, sizeof(hs_line) * cfg->max_headers);
    if (!hs->lines || set_protos(hs, protos) != MQWS_OK) {
        mqws_ws_handshake_free(hs);
        return NULL;
    }
    return hs;
}

mqws_ws_handshake *mqws_ws_handshake_server_new(const mqws_ws_handshake_config *cfg,
                                                int64_t now_ms) {
    return hs_new(cfg, now_ms, MQWS_WS_SERVER);
}

static int plain_text(const char *s) {
    for (; *s; s++)
        if ((uint8_t)*s < 0x21 || (uint8_t)*s == 0x7f)
            return 0;
    return 1;
}

static void out_put(mqws_ws_handshake *hs, const char *s, size_t n) {
    memcpy(hs->out + hs->out_len, s, n);
    hs->out_len += n;
}
static void out_str(mqws_ws_handshake *hs, const char *s) { out_put(hs, s, strlen(s)); }

mqws_ws_handshake *mqws_ws_handshake_client_new(const mqws_ws_handshake_config *cfg,
                                                const uint8_t key[16], int64_t now_ms) {
    if (!cfg || !key || !cfg->host || !cfg->host[0] || !plain_text(cfg->host) ||
        (cfg->path && (cfg->path[0] != '/' || !plain_text(cfg->path))) ||
        (cfg->origin && !plain_text(cfg->origin)))
        return NULL;
    mqws_ws_handshake *hs = hs_new(cfg, now_ms, MQWS_WS_CLIENT);
    if (!hs)
        return NULL;
    const char *path = cfg->path ? cfg->path : "/";
    char key64[24];
    mqws_base64_encode(key, 16, key64);
    mqws_ws_accept_key((const uint8_t *)key64, sizeof key64, hs->accept);
    size_t need = 160 + strlen(path) + strlen(cfg->host) + hs->protos_len + 2 * 16 +
                  (cfg->origin ? strlen(cfg->origin) : 0);
    hs->out = mqws__alloc(hs->alloc, need);
    if (!hs->out) {
        hs->out = hs->resp;
        mqws_ws_handshake_free(hs);
        return NULL;
    }
    hs->out_cap = need;
    out_str(hs, "GET ");
    out_str(hs, path);
    out_str(hs, " HTTP/1.1\r\nHost: ");
    out_str(hs, cfg->host);
    out_str(hs, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    out_put(hs, key64, sizeof key64);
    out_str(hs, "\r\nSec-WebSocket-Version: 13\r\n");
    if (hs->protos_len) {
        out_str(hs, "Sec-WebSocket-Protocol: ");
        for (size_t i = 0; i < hs->protos_len; i++) {
            out_put(hs, hs->protos + i, 1);
            if (hs->protos[i] == ',')
                out_str(hs, " ");
        }
        out_str(hs, "\r\n");
    }
    if (cfg->origin) {
        out_str(hs, "Origin: ");
        out_str(hs, cfg->origin);
        out_str(hs, "\r\n");
    }
    out_str(hs, "\r\n");
    return hs;
}

void mqws_ws_handshake_free(mqws_ws_handshake *hs) {
    if (!hs)
        return;
    mqws__free(hs->alloc, hs->buf, hs->cap);
    mqws__free(hs->alloc, hs->lines, sizeof(hs_line) * hs->max_headers);
    if (hs->out != hs->resp)
        mqws__free(hs->alloc, hs->out, hs->out_cap);
    mqws__free(hs->alloc, hs, sizeof *hs);
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors */

mqws_view mqws_ws_handshake_output(const mqws_ws_handshake *hs) {
    mqws_view v = {hs->out, hs->out_len};
    return v;
}
int64_t mqws_ws_handshake_deadline(const mqws_ws_handshake *hs) { return hs->deadline; }
int mqws_ws_handshake_status(const mqws_ws_handshake *hs) { return hs->status; }
mqws_view mqws_ws_handshake_subprotocol(const mqws_ws_handshake *hs) { return hs->proto; }
mqws_view mqws_ws_handshake_method(const mqws_ws_handshake *hs) { return hs->method; }
mqws_view mqws_ws_handshake_target(const mqws_ws_handshake *hs) { return hs->target; }
size_t mqws_ws_handshake_header_count(const mqws_ws_handshake *hs) {
    return hs->complete ? hs->nlines : 0;
}

int mqws_ws_handshake_header_at(const mqws_ws_handshake *hs, size_t i, mqws_view *name,
                                mqws_view *value) {
    if (!hs->complete || i >= hs->nlines)
        return MQWS_ENOTFOUND;
    const hs_line *l = &hs->lines[i];
    if (name) {
        name->ptr = hs->buf + l->name_off;
        name->len = l->name_len;
    }
    if (value) {
        value->ptr = hs->buf + l->val_off;
        value->len = l->val_len;
    }
    return MQWS_OK;
}

int mqws_ws_handshake_header(const mqws_ws_handshake *hs, const char *name, mqws_view *value) {
    mqws_view n;
    for (size_t i = 0; mqws_ws_handshake_header_at(hs, i, &n, value) == MQWS_OK; i++)
        if (view_ieq(n, name))
            return MQWS_OK;
    return MQWS_ENOTFOUND;
}

void mqws_ws_accept_key(const uint8_t *key, size_t key_len, char out[MQWS_WS_ACCEPT_LEN]) {
    mqws_sha1 s;
    uint8_t d[20];
    mqws_sha1_init(&s);
    mqws_sha1_update(&s, key, key_len);
    mqws_sha1_update(&s, WS_GUID, sizeof WS_GUID - 1);
    mqws_sha1_final(&s, d);
    mqws_base64_encode(d, sizeof d, out);
}

/* ------------------------------------------------------------------------------------------ */
/* Head processing */

/* How many headers are named `name`; the value of the first goes to *first. */
static unsigned header_n(const mqws_ws_handshake *hs, const char *name, mqws_view *first) {
    unsigned n = 0;
    mqws_view k, v;
    for (size_t i = 0; mqws_ws_handshake_header_at(hs, i, &k, &v) == MQWS_OK; i++)
        if (view_ieq(k, name) && n++ == 0 && first)
            *first = v;
    return n;
}

/* Whether any header named `name` lists `token` (case-insensitive), e.g. Connection: keep-alive,
 * Upgrade (RFC 6455 §4.2.1 items 3 and 4). */
static int header_has_token(const mqws_ws_handshake *hs, const char *name, const char *token) {
    mqws_view k, v, e;
    for (size_t i = 0; mqws_ws_handshake_header_at(hs, i, &k, &v) == MQWS_OK; i++) {
        if (!view_ieq(k, name))
            continue;
        list_it it = {v.ptr, v.len, 0};
        while (list_next(&it, &e))
            if (view_ieq(e, token))
                return 1;
    }
    return 0;
}

static int finish_error(mqws_ws_handshake *hs, int status, int err) {
    hs->status = status;
    hs->result = err;
    if (hs->role == MQWS_WS_CLIENT)
        return err;
    hs->out_len = 0;
    switch (status) {
        case 403:
            out_str(hs, "HTTP/1.1 403 Forbidden\r\n");
            break;
        case 426:
            /* §4.2.2 item 4 and RFC 7231 §6.5.15: say what we speak. */
            out_str(hs, "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                        "Sec-WebSocket-Version: 13\r\n");
            break;
        case 400:
            out_str(hs, "HTTP/1.1 400 Bad Request\r\n");
            break;
        default: {
            char line[] = "HTTP/1.1 4xx Refused\r\n";
            line[9] = (char)('0' + status / 100 % 10);
            line[10] = (char)('0' + status / 10 % 10);
            line[11] = (char)('0' + status % 10);
            out_str(hs, line);
        }
    }
    out_str(hs, "Connection: close\r\nContent-Length: 0\r\n\r\n");
    return err;
}

static int host_status(int r) { return r >= 400 && r <= 499 ? r : 403; }

/* Split the header lines into name and value (RFC 7230 §3.2). */
static int parse_lines(mqws_ws_handshake *hs) {
    for (uint32_t i = 0; i < hs->nlines; i++) {
        hs_line *l = &hs->lines[i];
        const uint8_t *p = hs->buf + l->name_off;
        size_t n = l->name_len, colon = 0;
        /* obs-fold (a line starting with whitespace) is refused (RFC 7230 §3.2.4). */
        while (colon < n && p[colon] != ':')
            colon++;
        if (colon == n || !is_token(p, colon))
            return MQWS_EHANDSHAKE;
        for (size_t j = colon + 1; j < n; j++)
            if ((p[j] < 0x20 && p[j] != '\t') || p[j] == 0x7f)
                return MQWS_EHANDSHAKE;
        mqws_view v = trim(p + colon + 1, n - colon - 1);
        l->name_len = (uint32_t)colon;
        l->val_off = (uint32_t)(v.ptr - hs->buf);
        l->val_len = (uint32_t)v.len;
    }
    return MQWS_OK;
}

static int finish_server(mqws_ws_handshake *hs) {
    const uint8_t *p = hs->buf + hs->start_off;
    size_t n = hs->start_len, sp1 = 0, sp2;
    /* request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1) */
    while (sp1 < n && p[sp1] != ' ')
        sp1++;
    sp2 = sp1 + 1;
    while (sp2 < n && p[sp2] != ' ')
        sp2++;
    if (sp2 >= n || !is_token(p, sp1) || sp2 == sp1 + 1)
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    for (size_t i = sp1 + 1; i < sp2; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return finish_error(hs, 400, MQWS_EHANDSHAKE);
    mqws_view version = {p + sp2 + 1, n - sp2 - 1};
    int http11 = mqws_view_eq(version, mqws_view_cstr("HTTP/1.1"));
    if (!http11 && !mqws_view_eq(version, mqws_view_cstr("HTTP/1.0")))
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    hs->method.ptr = p;
    hs->method.len = sp1;
    hs->target.ptr = p + sp1 + 1;
    hs->target.len = sp2 - sp1 - 1;
    if (parse_lines(hs) != MQWS_OK)
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    hs->complete = 1;

    /* Not a WebSocket upgrade: a plain HTTP request for the host (status page, /metrics). */
    if (!header_has_token(hs, "Upgrade", "websocket") &&
        header_n(hs, "Sec-WebSocket-Key", NULL) == 0) {
        if (hs->flags & MQWS_WS_HS_ALLOW_HTTP)
            return hs->result = MQWS_WS_HS_HTTP;
        return finish_error(hs, 426, MQWS_EHANDSHAKE);
    }
    /* §4.2.1 item 1: GET, HTTP/1.1 or higher, a Request-URI. */
    if (!mqws_view_eq(hs->method, mqws_view_cstr("GET")) || !http11 || hs->target.ptr[0] != '/')
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    /* Item 2 and RFC 7230 §5.4: exactly one Host. */
    mqws_view v = {NULL, 0};
    if (header_n(hs, "Host", &v) != 1 || v.len == 0)
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    /* Items 3 and 4. */
    if (!header_has_token(hs, "Upgrade", "websocket") ||
        !header_has_token(hs, "Connection", "Upgrade"))
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    /* Item 6 and §4.2.2 item 4: another version gets 426 listing ours. */
    if (header_n(hs, "Sec-WebSocket-Version", &v) != 1 || !mqws_view_eq(v, mqws_view_cstr("13")))
        return finish_error(hs, 426, MQWS_EHANDSHAKE);
    /* Item 5: a base64 value that decodes to 16 bytes. */
    uint8_t nonce[16 + 2];
    mqws_view key = {NULL, 0};
    if (header_n(hs, "Sec-WebSocket-Key", &key) != 1 ||
        mqws_base64_decode((const char *)key.ptr, key.len, nonce, sizeof nonce) != 16)
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    int r;
    if (hs->check_path && (r = hs->check_path(hs->user, hs->target.ptr, hs->target.len)) != 0)
        return finish_error(hs, host_status(r), MQWS_EHANDSHAKE);
    /* Item 7 and §10.2: Origin is for the host to judge; two of them are malformed. */
    unsigned norigin = header_n(hs, "Origin", &v);
    if (norigin > 1)
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    if (hs->check_origin &&
        (r = hs->check_origin(hs->user, norigin ? v.ptr : NULL, norigin ? v.len : 0)) != 0)
        return finish_error(hs, host_status(r), MQWS_EHANDSHAKE);
    /* Item 8: every Sec-WebSocket-Protocol header adds to one list; we pick in our order of
     * preference and echo exactly one (§4.2.2 item 5.4). */
    mqws_view k, e, ours;
    for (size_t i = 0; mqws_ws_handshake_header_at(hs, i, &k, &v) == MQWS_OK; i++) {
        if (!view_ieq(k, "Sec-WebSocket-Protocol"))
            continue;
        list_it it = {v.ptr, v.len, 0};
        while (list_next(&it, &e))
            if (!is_token(e.ptr, e.len))
                return finish_error(hs, 400, MQWS_EHANDSHAKE);
    }
    list_it pit = {(const uint8_t *)hs->protos, hs->protos_len, 0};
    while (!hs->proto.len && list_next(&pit, &ours)) {
        for (size_t i = 0; mqws_ws_handshake_header_at(hs, i, &k, &v) == MQWS_OK; i++) {
            if (!view_ieq(k, "Sec-WebSocket-Protocol"))
                continue;
            list_it it = {v.ptr, v.len, 0};
            while (list_next(&it, &e))
                if (mqws_view_eq(e, ours))
                    hs->proto = ours;
        }
    }
    if (!hs->proto.len && (hs->flags & MQWS_WS_HS_REQUIRE_SUBPROTOCOL))
        return finish_error(hs, 400, MQWS_EHANDSHAKE);
    /* Sec-WebSocket-Extensions (e.g. permessage-deflate) are declined by not answering them
     * (§9.1): the client then must not use any. */
    char accept[MQWS_WS_ACCEPT_LEN];
    mqws_ws_accept_key(key.ptr, key.len, accept);
    hs->out_len = 0;
    out_str(hs, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    out_put(hs, accept, sizeof accept);
    out_str(hs, "\r\n");
    if (hs->proto.len) {
        out_str(hs, "Sec-WebSocket-Protocol: ");
        out_put(hs, (const char *)hs->proto.ptr, hs->proto.len);
        out_str(hs, "\r\n");
    }
    out_str(hs, "\r\n");
    hs->status = 101;
    return hs->result = MQWS_WS_HS_UPGRADE;
}

static int finish_client(mqws_ws_handshake *hs) {
    const uint8_t *p = hs->buf + hs->start_off;
    size_t n = hs->start_len;
    /* status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 §3.1.2) */
    if (n < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' || p[10] < '0' ||
        p[10] > '9' || p[11] < '0' || p[11] > '9' || (n > 12 && p[12] != ' '))
        return finish_error(hs, 0, MQWS_EHANDSHAKE);
    hs->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (parse_lines(hs) != MQWS_OK)
        return finish_error(hs, hs->status, MQWS_EHANDSHAKE);
    hs->complete = 1;
    /* §4.1, the client's checks of the server's handshake, items 1-6. */
    mqws_view v = {NULL, 0};
    if (hs->status != 101 || !header_has_token(hs, "Upgrade", "websocket") ||
        !header_has_token(hs, "Connection", "Upgrade") ||
        header_n(hs, "Sec-WebSocket-Accept", &v) != 1 ||
        !mqws_view_eq(v, (mqws_view){(const uint8_t *)hs->accept, MQWS_WS_ACCEPT_LEN}) ||
        header_n(hs, "Sec-WebSocket-Extensions", NULL) != 0)
        return finish_error(hs, hs->status, MQWS_EHANDSHAKE);
    unsigned np = header_n(hs, "Sec-WebSocket-Protocol", &v);
    if (np > 1)
        return finish_error(hs, hs->status, MQWS_EHANDSHAKE);
    if (np == 1) {
        list_it it = {(const uint8_t *)hs->protos, hs->protos_len, 0};
        mqws_view e;
        while (list_next(&it, &e))
            if (mqws_view_eq(e, v))
                hs->proto = v;
        if (!hs->proto.len)
            return finish_error(hs, hs->status, MQWS_EHANDSHAKE);
    } else if (hs->flags & MQWS_WS_HS_REQUIRE_SUBPROTOCOL) {
        return finish_error(hs, hs->status, MQWS_EHANDSHAKE); /* [MQTT-6.0.0-4] */
    }
    return hs->result = MQWS_WS_HS_UPGRADE;
}

/* Make room for up to `want` more bytes, bounded by max_bytes. */
static int reserve(mqws_ws_handshake *hs, size_t want) {
    size_t need = want > hs->max_bytes - hs->len ? hs->max_bytes : hs->len + want;
    if (need <= hs->cap)
        return MQWS_OK;
    size_t ncap = hs->cap ? hs->cap : 512;
    while (ncap < need)
        ncap *= 2;
    if (ncap > hs->max_bytes)
        ncap = hs->max_bytes;
    uint8_t *nb =
        hs->buf ? mqws__realloc(hs->alloc, hs->buf, hs->cap, ncap) : mqws__alloc(hs->alloc, ncap);
    if (!nb)
        return MQWS_ENOMEM;
    hs->buf = nb;
    hs->cap = ncap;
    return MQWS_OK;
}

int mqws_ws_handshake_feed(mqws_ws_handshake *hs, const uint8_t *buf, size_t len,
                           size_t *consumed) {
    *consumed = 0;
    if (hs->result < 0)
        return hs->result;
    if (hs->result > 0)
        return MQWS_ESTATE;
    if (len == 0)
        return MQWS_WS_HS_MORE;
    if (reserve(hs, len) != MQWS_OK)
        return MQWS_ENOMEM;
    size_t old = hs->len, take = hs->cap - hs->len;
    if (take > len)
        take = len;
    memcpy(hs->buf + hs->len, buf, take);
    hs->len += take;
    while (hs->scan < hs->len) {
        uint8_t *lf = memchr(hs->buf + hs->scan, '\n', hs->len - hs->scan);
        if (!lf) {
            hs->scan = hs->len;
            break;
        }
        size_t e = (size_t)(lf - hs->buf), start = hs->line_start;
        hs->scan = hs->line_start = e + 1;
        /* Lines end with CRLF; a bare LF is refused rather than guessed at (RFC 7230 §3.5). */
        if (e == start || hs->buf[e - 1] != '\r') {
            *consumed = e + 1 - old;
            return finish_error(hs, 400, MQWS_EHANDSHAKE);
        }
        size_t n = e - 1 - start;
        if (!hs->have_start) {
            if (n == 0)
                continue; /* RFC 7230 §3.5: ignore empty lines before the request line */
            hs->have_start = 1;
            hs->start_off = (uint32_t)start;
            hs->start_len = (uint32_t)n;
            continue;
        }
        if (n > 0) {
            if (hs->nlines == hs->max_headers) {
                *consumed = e + 1 - old;
                return finish_error(hs, 400, MQWS_ETOOBIG);
            }
            hs->lines[hs->nlines].name_off = (uint32_t)start;
            hs->lines[hs->nlines].name_len = (uint32_t)n;
            hs->nlines++;
            continue;
        }
        /* The empty line: the head is complete. What follows is not ours. */
        hs->len = e + 1;
        *consumed = hs->len - old;
        return hs->role == MQWS_WS_SERVER ? finish_server(hs) : finish_client(hs);
    }
    *consumed = take;
    if (hs->len == hs->max_bytes)
        return finish_error(hs, 400, MQWS_ETOOBIG);
    return MQWS_WS_HS_MORE;
}
