/* Strict, bounded JSON reader: see json.h.
 * SPDX-License-Identifier: MIT
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    json_doc *doc;
    const uint8_t *s;
    size_t len;
    size_t pos;
} parser;

static int fail(parser *p, const char *msg) {
    if (p->doc->err_msg == NULL) {
        p->doc->err_msg = msg;
        p->doc->err_at = p->pos;
    }
    return -1;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        uint8_t c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static size_t new_node(parser *p, enum json_type type) {
    json_doc *d = p->doc;
    if (d->count == d->cap) {
        /* Every node consumes at least one input byte, so len + 1 nodes always suffice. */
        size_t cap = d->cap ? d->cap * 2 : 16;
        if (cap > p->len + 1)
            cap = p->len + 1;
        if (cap <= d->count)
            return JSON_NONE;
        json_node *n = realloc(d->nodes, cap * sizeof *n);
        if (n == NULL)
            return JSON_NONE;
        d->nodes = n;
        d->cap = cap;
    }
    json_node *n = &d->nodes[d->count];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->child = JSON_NONE;
    n->next = JSON_NONE;
    n->key = JSON_NONE;
    return d->count++;
}

static void put_utf8(parser *p, uint32_t cp) {
    uint8_t *o = p->doc->strings + p->doc->strings_len;
    size_t n;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (uint8_t)(0xF0 | (cp >> 18));
        o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    p->doc->strings_len += n;
}

static int hex4(parser *p, uint32_t *out) {
    uint32_t v = 0;
    if (p->len - p->pos < 4)
        return fail(p, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        uint8_t c = p->s[p->pos++];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return fail(p, "bad hex digit in \\u escape");
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* One raw (unescaped) UTF-8 sequence starting at p->pos, copied through after validation
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static int raw_utf8(parser *p) {
    const uint8_t *s = p->s + p->pos;
    size_t left = p->len - p->pos;
    uint8_t c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
        n = 1;
        cp = c;
        min = 0;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1Fu;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0Fu;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07u;
        min = 0x10000;
    } else {
        return fail(p, "invalid UTF-8");
    }
    if (left < n)
        return fail(p, "truncated UTF-8");
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return fail(p, "invalid UTF-8");
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(p, "invalid UTF-8");
    memcpy(p->doc->strings + p->doc->strings_len, s, n);
    p->doc->strings_len += n;
    p->pos += n;
    return 0;
}

/* Parses a string at p->pos (the opening quote) into doc->strings. */
static int parse_string(parser *p, size_t *off, size_t *len) {
    p->pos++; /* opening quote */
    *off = p->doc->strings_len;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, "unterminated string");
        uint8_t c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return fail(p, "raw control character in string");
        if (c != '\\') {
            if (raw_utf8(p) < 0)
                return -1;
            continue;
        }
        p->pos++;
        if (p->pos >= p->len)
            return fail(p, "unterminated escape");
        c = p->s[p->pos++];
        uint32_t cp;
        switch (c) {
            case '"':
            case '\\':
            case '/':
                cp = c;
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if (hex4(p, &cp) < 0)
                    return -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(p, "lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                        return fail(p, "lone high surrogate");
                    p->pos += 2;
                    if (hex4(p, &lo) < 0)
                        return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(p, "high surrogate not followed by a low surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                break;
            default:
                return fail(p, "unknown escape");
        }
        put_utf8(p, cp);
    }
    *len = p->doc->strings_len - *off;
    return 0;
}

static int parse_int(parser *p, int64_t *out) {
    int neg = 0;
    uint64_t v = 0;
    if (p->s[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return fail(p, "bad number");
    if (p->s[p->pos] == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' &&
        p->s[p->pos + 1] <= '9')
        return fail(p, "leading zero");
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        v = v * 10 + (uint64_t)(p->s[p->pos] - '0');
        if (v > (uint64_t)INT64_MAX)
            return fail(p, "integer out of range");
        p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == '.' || p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
        return fail(p, "only integers are accepted");
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int parse_value(parser *p, size_t *idx, int depth);

static int parse_container(parser *p, size_t self, int depth, int is_object) {
    uint8_t close = is_object ? '}' : ']';
    size_t prev = JSON_NONE;
    size_t count = 0;
    p->pos++; /* opening bracket */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        size_t key = 0, key_len = 0, child;
        skip_ws(p);
        if (is_object) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, "expected a member name");
            if (parse_string(p, &key, &key_len) < 0)
                return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return fail(p, "expected ':'");
            p->pos++;
        }
        if (parse_value(p, &child, depth + 1) < 0)
            return -1;
        if (is_object) {
            p->doc->nodes[child].key = key;
            p->doc->nodes[child].key_len = key_len;
        }
        if (prev == JSON_NONE)
            p->doc->nodes[self].child = child;
        else
            p->doc->nodes[prev].next = child;
        prev = child;
        count++;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated container");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            break;
        }
        return fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->doc->nodes[self].len = count;
    return 0;
}

static int literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "unexpected character");
    p->pos += n;
    return 0;
}

static int parse_value(parser *p, size_t *idx, int depth) {
    if (depth > JSON_MAX_DEPTH)
        return fail(p, "nesting too deep");
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end of input");
    uint8_t c = p->s[p->pos];
    size_t self;
    switch (c) {
        case '{':
        case '[':
            self = new_node(p, c == '{' ? JSON_OBJECT : JSON_ARRAY);
            if (self == JSON_NONE)
                return fail(p, "out of memory");
            *idx = self;
            return parse_container(p, self, depth, c == '{');
        case '"': {
            size_t off, len;
            self = new_node(p, JSON_STRING);
            if (self == JSON_NONE)
                return fail(p, "out of memory");
            if (parse_string(p, &off, &len) < 0)
                return -1;
            p->doc->nodes[self].str = off;
            p->doc->nodes[self].len = len;
            *idx = self;
            return 0;
        }
        case 't':
        case 'f':
        case 'n':
            self = new_node(p, c == 't' ? JSON_TRUE : c == 'f' ? JSON_FALSE : JSON_NULL);
            if (self == JSON_NONE)
                return fail(p, "out of memory");
            *idx = self;
            return literal(p, c == 't' ? "true" : c == 'f' ? "false" : "null");
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                int64_t v;
                self = new_node(p, JSON_INT);
                if (self == JSON_NONE)
                    return fail(p, "out of memory");
                if (parse_int(p, &v) < 0)
                    return -1;
                p->doc->nodes[self].num = v;
                *idx = self;
                return 0;
            }
            return fail(p, "unexpected character");
    }
}

int json_parse(json_doc *doc, const char *text, size_t len) {
    parser p = {doc, (const uint8_t *)text, len, 0};
    size_t root;
    memset(doc, 0, sizeof *doc);
    /* Decoded strings never take more bytes than their JSON spelling. */
    doc->strings = malloc(len ? len : 1);
    if (doc->strings == NULL)
        return fail(&p, "out of memory");
    if (parse_value(&p, &root, 0) < 0)
        return -1;
    skip_ws(&p);
    if (p.pos != len)
        return fail(&p, "trailing characters after the JSON value");
    return 0;
}

void json_free(json_doc *doc) {
    free(doc->nodes);
    free(doc->strings);
    memset(doc, 0, sizeof *doc);
}

const json_node *json_first(const json_doc *doc, const json_node *n) {
    if ((n->type != JSON_ARRAY && n->type != JSON_OBJECT) || n->child == JSON_NONE)
        return NULL;
    return &doc->nodes[n->child];
}

const json_node *json_next(const json_doc *doc, const json_node *n) {
    return n->next == JSON_NONE ? NULL : &doc->nodes[n->next];
}

const json_node *json_get(const json_doc *doc, const json_node *obj, const char *name) {
    size_t nlen = strlen(name);
    if (obj->type != JSON_OBJECT)
        return NULL;
    for (const json_node *m = json_first(doc, obj); m; m = json_next(doc, m)) {
        if (m->key_len == nlen && memcmp(doc->strings + m->key, name, nlen) == 0)
            return m;
    }
    return NULL;
}
