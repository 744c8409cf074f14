/* mqws-inspect: MQTT packets <-> JSON lines, for debugging captures and differential tests.
 *
 *   mqws-inspect [--level 3|4|5] [--from client|server] [--hex] [--keep-going]
 *                [--max-packet-size N] [FILE|-]
 *   mqws-inspect --encode [--level 3|4|5] [--from client|server] [--hex] [FILE|-]
 *
 * Uses only the public API (mqws_frame, mqws_decode, the iterators, mqws_encode...). The JSON
 * schema is documented in docs/inspect.md.
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L /* read, fileno */
#include "inspect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P(id, kind, name, field)                                                                   \
    { id, kind, name, offsetof(mqws_props, field) }
const prop_desc inspect_props[] = {
    P(MQWS_PROP_PAYLOAD_FORMAT_INDICATOR, PK_BYTE, "payload_format_indicator", payload_format),
    P(MQWS_PROP_MESSAGE_EXPIRY_INTERVAL, PK_U32, "message_expiry_interval", message_expiry),
    P(MQWS_PROP_CONTENT_TYPE, PK_STRING, "content_type", content_type),
    P(MQWS_PROP_RESPONSE_TOPIC, PK_STRING, "response_topic", response_topic),
    P(MQWS_PROP_CORRELATION_DATA, PK_BINARY, "correlation_data", correlation_data),
    P(MQWS_PROP_SUBSCRIPTION_IDENTIFIER, PK_SUB_IDS, "subscription_identifiers", subscription_id),
    P(MQWS_PROP_SESSION_EXPIRY_INTERVAL, PK_U32, "session_expiry_interval", session_expiry),
    P(MQWS_PROP_ASSIGNED_CLIENT_IDENTIFIER, PK_STRING, "assigned_client_identifier",
      assigned_client_id),
    P(MQWS_PROP_SERVER_KEEP_ALIVE, PK_U16, "server_keep_alive", server_keep_alive),
    P(MQWS_PROP_AUTHENTICATION_METHOD, PK_STRING, "authentication_method", auth_method),
    P(MQWS_PROP_AUTHENTICATION_DATA, PK_BINARY, "authentication_data", auth_data),
    P(MQWS_PROP_REQUEST_PROBLEM_INFORMATION, PK_BYTE, "request_problem_information",
      request_problem_info),
    P(MQWS_PROP_WILL_DELAY_INTERVAL, PK_U32, "will_delay_interval", will_delay),
    P(MQWS_PROP_REQUEST_RESPONSE_INFORMATION, PK_BYTE, "request_response_information",
      request_response_info),
    P(MQWS_PROP_RESPONSE_INFORMATION, PK_STRING, "response_information", response_info),
    P(MQWS_PROP_SERVER_REFERENCE, PK_STRING, "server_reference", server_reference),
    P(MQWS_PROP_REASON_STRING, PK_STRING, "reason_string", reason_string),
    P(MQWS_PROP_RECEIVE_MAXIMUM, PK_U16, "receive_maximum", receive_maximum),
    P(MQWS_PROP_TOPIC_ALIAS_MAXIMUM, PK_U16, "topic_alias_maximum", topic_alias_maximum),
    P(MQWS_PROP_TOPIC_ALIAS, PK_U16, "topic_alias", topic_alias),
    P(MQWS_PROP_MAXIMUM_QOS, PK_BYTE, "maximum_qos", maximum_qos),
    P(MQWS_PROP_RETAIN_AVAILABLE, PK_BYTE, "retain_available", retain_available),
    P(MQWS_PROP_USER_PROPERTY, PK_USER, "user_properties", raw),
    P(MQWS_PROP_MAXIMUM_PACKET_SIZE, PK_U32, "maximum_packet_size", maximum_packet_size),
    P(MQWS_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE, PK_BYTE, "wildcard_subscription_available",
      wildcard_sub_available),
    P(MQWS_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE, PK_BYTE, "subscription_identifier_available",
      sub_id_available),
    P(MQWS_PROP_SHARED_SUBSCRIPTION_AVAILABLE, PK_BYTE, "shared_subscription_available",
      shared_sub_available),
};
#undef P
const size_t inspect_prop_count = sizeof inspect_props / sizeof inspect_props[0];

/* ------------------------------------------------------------------------------------------ */
/* A minimal JSON writer: one object per line, commas handled by a per-depth "first" flag. */

typedef struct jw {
    FILE *out;
    int depth;
    int first[16];
} jw;

static void jw_sep(jw *w) {
    if (!w->first[w->depth])
        fputc(',', w->out);
    w->first[w->depth] = 0;
}

static void jw_raw_string(jw *w, const uint8_t *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    fputc('"', w->out);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', w->out);
            fputc(c, w->out);
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(w->out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        } else {
            /* Decoded strings passed mqws_decode's UTF-8 check [MQTT-1.5.4-1]: copy through. */
            fputc(c, w->out);
        }
    }
    fputc('"', w->out);
}

/* Separator, then `"key":` inside an object (key == NULL inside an array or at top level). */
static void jw_key(jw *w, const char *key) {
    jw_sep(w);
    if (key != NULL) {
        jw_raw_string(w, (const uint8_t *)key, strlen(key));
        fputc(':', w->out);
    }
}

static void jw_open(jw *w, const char *key, char bracket) {
    jw_key(w, key);
    fputc(bracket, w->out);
    w->depth++;
    w->first[w->depth] = 1;
}

static void jw_close(jw *w, char bracket) {
    fputc(bracket, w->out);
    w->depth--;
}

static void jw_str(jw *w, const char *key, mqws_view v) {
    jw_key(w, key);
    jw_raw_string(w, v.ptr, v.len);
}

static void jw_cstr(jw *w, const char *key, const char *s) {
    jw_key(w, key);
    if (s == NULL)
        fputs("null", w->out);
    else
        jw_raw_string(w, (const uint8_t *)s, strlen(s));
}

static void jw_hex(jw *w, const char *key, mqws_view v) {
    static const char hex[] = "0123456789abcdef";
    jw_key(w, key);
    fputc('"', w->out);
    for (size_t i = 0; i < v.len; i++) {
        fputc(hex[v.ptr[i] >> 4], w->out);
        fputc(hex[v.ptr[i] & 15], w->out);
    }
    fputc('"', w->out);
}

static void jw_int(jw *w, const char *key, uint64_t v) {
    jw_key(w, key);
    fprintf(w->out, "%llu", (unsigned long long)v);
}

static void jw_bool(jw *w, const char *key, int v) {
    jw_key(w, key);
    fputs(v ? "true" : "false", w->out);
}

/* ------------------------------------------------------------------------------------------ */
/* Decode: bytes -> JSON. */

static void print_props(jw *w, const char *key, const mqws_props *pr) {
    jw_open(w, key, '{');
    for (size_t i = 0; i < inspect_prop_count; i++) {
        const prop_desc *d = &inspect_props[i];
        const char *base = (const char *)pr + d->offset;
        mqws_prop_iter it;
        if (d->kind == PK_USER) {
            mqws_view k, v;
            if (pr->user_prop_count == 0)
                continue;
            jw_open(w, d->json, '[');
            mqws_props_iter_init(pr, &it);
            while (mqws_props_next_user(&it, &k, &v)) {
                jw_open(w, NULL, '[');
                jw_str(w, NULL, k);
                jw_str(w, NULL, v);
                jw_close(w, ']');
            }
            jw_close(w, ']');
            continue;
        }
        if (d->kind == PK_SUB_IDS) {
            uint32_t id;
            if (pr->sub_id_count == 0 && !(pr->present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER))
                continue;
            jw_open(w, d->json, '[');
            mqws_props_iter_init(pr, &it);
            while (mqws_props_next_sub_id(&it, &id))
                jw_int(w, NULL, id);
            jw_close(w, ']');
            continue;
        }
        if (!(pr->present & mqws_prop_bit(d->id)))
            continue;
        switch (d->kind) {
            case PK_BYTE:
                jw_int(w, d->json, *(const uint8_t *)(const void *)base);
                break;
            case PK_U16:
                jw_int(w, d->json, *(const uint16_t *)(const void *)base);
                break;
            case PK_U32:
                jw_int(w, d->json, *(const uint32_t *)(const void *)base);
                break;
            case PK_STRING:
                jw_str(w, d->json, *(const mqws_view *)(const void *)base);
                break;
            case PK_BINARY:
                jw_hex(w, d->json, *(const mqws_view *)(const void *)base);
                break;
            default:
                break;
        }
    }
    jw_close(w, '}');
}

/* 1 if the property block is in the order mqws_encode() writes (ascending identifiers, repeated
 * ones adjacent), so the fields alone reproduce the bytes. */
static int props_in_encoder_order(const mqws_props *pr) {
    mqws_prop_iter it;
    mqws_prop x;
    int last = 0;
    mqws_props_iter_init(pr, &it);
    while (mqws_props_next(&it, &x)) {
        if (x.id < last)
            return 0;
        last = x.id;
    }
    return 1;
}

/* "properties", plus "properties_raw" when the sender used another order (so --encode can
 * give back the same bytes: the encoder writes `raw` verbatim while it matches the fields). */
static void print_props_member(jw *w, const mqws_props *pr) {
    print_props(w, "properties", pr);
    if (!props_in_encoder_order(pr))
        jw_hex(w, "properties_raw", pr->raw);
}

static void print_reason(jw *w, const char *key, int code, int type, int level) {
    jw_int(w, key, (uint64_t)code);
    jw_cstr(w, "reason_name", mqws_reason_name(code, type, level));
}

static void print_packet(FILE *out, const mqws_packet *p, int level, size_t offset, size_t total) {
    jw w = {out, 0, {1}};
    mqws_entry_iter it;
    int v5 = level == MQWS_MQTT_5;

    jw_open(&w, NULL, '{');
    jw_cstr(&w, "type", mqws_packet_type_name(p->type));
    jw_int(&w, "flags", p->flags);
    switch (p->type) {
        case MQWS_PKT_CONNECT:
            jw_str(&w, "protocol_name", p->protocol_name);
            jw_int(&w, "protocol_level", p->protocol_level);
            jw_bool(&w, "clean_start", p->clean_start);
            jw_int(&w, "keep_alive", p->keep_alive);
            jw_str(&w, "client_id", p->client_id);
            if (p->will_flag) {
                jw_open(&w, "will", '{');
                jw_str(&w, "topic", p->will_topic);
                jw_hex(&w, "payload", p->will_payload);
                jw_int(&w, "qos", p->will_qos);
                jw_bool(&w, "retain", p->will_retain);
                if (v5)
                    print_props_member(&w, &p->will_props);
                jw_close(&w, '}');
            }
            if (p->has_username)
                jw_str(&w, "username", p->username);
            if (p->has_password)
                jw_hex(&w, "password", p->password);
            break;
        case MQWS_PKT_CONNACK:
            jw_bool(&w, "session_present", p->session_present);
            print_reason(&w, "reason_code", p->reason_code, p->type, level);
            break;
        case MQWS_PKT_PUBLISH:
            jw_bool(&w, "dup", p->dup);
            jw_int(&w, "qos", p->qos);
            jw_bool(&w, "retain", p->retain);
            jw_str(&w, "topic", p->topic);
            if (p->qos > 0)
                jw_int(&w, "packet_id", p->packet_id);
            jw_hex(&w, "payload", p->payload);
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            jw_int(&w, "packet_id", p->packet_id);
            if (v5) {
                print_reason(&w, "reason_code", p->reason_code, p->type, level);
                jw_int(&w, "tail_form", p->tail_form);
            }
            break;
        case MQWS_PKT_SUBSCRIBE: {
            mqws_subscription s;
            jw_int(&w, "packet_id", p->packet_id);
            jw_open(&w, "subscriptions", '[');
            mqws_entry_iter_init(p, (uint8_t)level, &it);
            while (mqws_subscribe_next(&it, &s)) {
                jw_open(&w, NULL, '{');
                jw_str(&w, "filter", s.filter);
                jw_int(&w, "qos", s.qos);
                if (v5) {
                    jw_bool(&w, "no_local", s.no_local);
                    jw_bool(&w, "retain_as_published", s.retain_as_published);
                    jw_int(&w, "retain_handling", s.retain_handling);
                }
                jw_close(&w, '}');
            }
            jw_close(&w, ']');
            break;
        }
        case MQWS_PKT_UNSUBSCRIBE: {
            mqws_view f;
            jw_int(&w, "packet_id", p->packet_id);
            jw_open(&w, "filters", '[');
            mqws_entry_iter_init(p, (uint8_t)level, &it);
            while (mqws_unsubscribe_next(&it, &f))
                jw_str(&w, NULL, f);
            jw_close(&w, ']');
            break;
        }
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            jw_int(&w, "packet_id", p->packet_id);
            if (p->type == MQWS_PKT_SUBACK || v5) {
                jw_open(&w, "reason_codes", '[');
                for (size_t i = 0; i < p->reason_codes.len; i++)
                    jw_int(&w, NULL, p->reason_codes.ptr[i]);
                jw_close(&w, ']');
                jw_open(&w, "reason_names", '[');
                for (size_t i = 0; i < p->reason_codes.len; i++)
                    jw_cstr(&w, NULL, mqws_reason_name(p->reason_codes.ptr[i], p->type, level));
                jw_close(&w, ']');
            }
            break;
        case MQWS_PKT_DISCONNECT:
        case MQWS_PKT_AUTH:
            if (v5) {
                print_reason(&w, "reason_code", p->reason_code, p->type, level);
                jw_int(&w, "tail_form", p->tail_form);
            }
            break;
        default: /* PINGREQ, PINGRESP */
            break;
    }
    if (v5 && p->type != MQWS_PKT_PINGREQ && p->type != MQWS_PKT_PINGRESP)
        print_props_member(&w, &p->props);
    jw_int(&w, "offset", offset);
    jw_int(&w, "length", total);
    jw_close(&w, '}');
    fputc('\n', out);
}

static void print_error(FILE *out, int code, const char *message, const char *statement, int reason,
                        size_t offset, size_t packet_offset, int type) {
    jw w = {out, 0, {1}};
    jw_open(&w, NULL, '{');
    jw_cstr(&w, "error", mqws_error_name(code));
    jw_cstr(&w, "message", message);
    jw_cstr(&w, "statement", statement);
    if (reason >= 0) {
        jw_int(&w, "reason", (uint64_t)reason);
        jw_cstr(&w, "reason_name", mqws_reason_name(reason, MQWS_PKT_DISCONNECT, MQWS_MQTT_5));
    } else {
        jw_key(&w, "reason");
        fputs("null", out);
    }
    jw_int(&w, "offset", offset);
    jw_int(&w, "packet_offset", packet_offset);
    if (type > 0)
        jw_cstr(&w, "type", mqws_packet_type_name(type));
    jw_close(&w, '}');
    fputc('\n', out);
}

/* Input buffer: bytes not yet framed live in buf[start..len). */
typedef struct inbuf {
    uint8_t *buf;
    size_t len;
    size_t start;
    size_t cap;
    size_t base; /* stream offset of buf[0] */
    /* hex text state */
    int nibble; /* -1 or the pending high nibble */
    int comment;
    size_t text_pos; /* characters of hex text read, for error messages */
} inbuf;

static int reserve(inbuf *b, size_t more) {
    if (b->start > 0 && b->start == b->len) {
        b->base += b->start;
        b->start = b->len = 0;
    }
    if (b->cap - b->len >= more)
        return 0;
    if (b->start > 0) {
        memmove(b->buf, b->buf + b->start, b->len - b->start);
        b->base += b->start;
        b->len -= b->start;
        b->start = 0;
        if (b->cap - b->len >= more)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *n = realloc(b->buf, cap);
    if (n == NULL)
        return -1;
    b->buf = n;
    b->cap = cap;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends hex text to the buffer: whitespace is ignored, '#' starts a comment to the end of
 * the line. Returns 0, or -1 on a character that is neither. */
static int feed_hex(inbuf *b, const char *text, size_t n, size_t *bad) {
    for (size_t i = 0; i < n; i++, b->text_pos++) {
        int c = (unsigned char)text[i];
        if (b->comment) {
            if (c == '\n')
                b->comment = 0;
            continue;
        }
        if (c == '#') {
            b->comment = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            continue;
        int v = hexval(c);
        if (v < 0) {
            *bad = b->text_pos;
            return -1;
        }
        if (b->nibble < 0) {
            b->nibble = v;
        } else {
            b->buf[b->len++] = (uint8_t)(b->nibble << 4 | v);
            b->nibble = -1;
        }
    }
    return 0;
}

int inspect_decode(const inspect_opts *o, FILE *in, FILE *out) {
    inbuf b = {NULL, 0, 0, 0, 0, -1, 0, 0};
    uint8_t level = o->level;
    int status = INSPECT_EXIT_OK;
    int eof = 0;
    char chunk[65536];

    while (!eof) {
        /* read(2), not fread: a live stream (a pipe from a capture) is printed as it arrives. */
        ssize_t got = read(fileno(in), chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "mqws-inspect: read error: %s\n", strerror(errno));
            status = INSPECT_EXIT_SYSTEM;
            break;
        }
        size_t n = (size_t)got;
        eof = n == 0;
        if (reserve(&b, n) < 0) {
            fprintf(stderr, "mqws-inspect: out of memory\n");
            status = INSPECT_EXIT_SYSTEM;
            break;
        }
        if (o->hex) {
            size_t bad;
            if (feed_hex(&b, chunk, n, &bad) < 0) {
                print_error(out, MQWS_EINVAL, "not a hex digit in the input text", NULL, -1, bad,
                            b.base + b.len, 0);
                status = INSPECT_EXIT_DATA;
                break;
            }
        } else {
            memcpy(b.buf + b.len, chunk, n);
            b.len += n;
        }

        /* Frame and decode every complete packet buffered so far. */
        for (;;) {
            mqws_frame_info info;
            mqws_packet p;
            mqws_decode_error err = {0, 0, NULL, NULL, 0};
            size_t at = b.base + b.start;
            int rc = mqws_frame(b.buf + b.start, b.len - b.start, o->max_packet_size, &info);
            if (rc == MQWS_FRAME_NEED_MORE)
                break;
            if (rc == MQWS_ETOOBIG) {
                /* Refused from the fixed header alone, before buffering the body. */
                print_error(out, rc, "packet larger than --max-packet-size", NULL, 0x95, at, at,
                            info.first_byte >> 4);
                status = INSPECT_EXIT_DATA;
                goto done;
            }
            if (rc < 0) {
                int type = (b.buf[b.start] >> 4) & 15;
                print_error(out, rc,
                            type == 0 ? "reserved packet type 0"
                                      : "remaining length is not a valid variable byte integer",
                            type == 0 ? "§2.1.2" : "§1.5.5", 0x81, at, at, type);
                status = INSPECT_EXIT_DATA;
                goto done; /* framing is lost: nothing after this can be trusted */
            }
            rc = mqws_decode(b.buf + b.start, info.total_len, level, o->from, &p, &err);
            if (rc == MQWS_OK) {
                if (p.type == MQWS_PKT_CONNECT)
                    level = p.protocol_level; /* the rest of the stream speaks this level */
                print_packet(out, &p, level, at, info.total_len);
            } else {
                print_error(out, rc, err.message ? err.message : mqws_strerror(rc), err.statement,
                            err.reason ? err.reason : -1, at + err.offset, at,
                            info.first_byte >> 4);
                status = INSPECT_EXIT_DATA;
                if (!o->keep_going)
                    goto done;
            }
            b.start += info.total_len;
        }
        fflush(out);
    }
    if (status == INSPECT_EXIT_OK) {
        if (b.nibble >= 0) {
            print_error(out, MQWS_EMALFORMED, "odd number of hex digits", NULL, -1, b.text_pos,
                        b.base + b.len, 0);
            status = INSPECT_EXIT_DATA;
        } else if (b.start < b.len) {
            mqws_frame_info info;
            (void)mqws_frame(b.buf + b.start, b.len - b.start, 0, &info);
            print_error(out, MQWS_EMALFORMED, "input ends inside a packet", NULL, -1,
                        b.base + b.len, b.base + b.start, (b.buf[b.start] >> 4) & 15);
            status = INSPECT_EXIT_DATA;
        }
    }
done:
    free(b.buf);
    fflush(out);
    return status;
}

/* ------------------------------------------------------------------------------------------ */

static void usage(FILE *f) {
    fputs("usage: mqws-inspect [--level 3|4|5] [--from client|server] [--hex] [--keep-going]\n"
          "                    [--max-packet-size N] [FILE|-]\n"
          "       mqws-inspect --encode [--level 3|4|5] [--from client|server] [--hex] "
          "[FILE|-]\n"
          "\n"
          "Decode (default): reads MQTT packets (binary, or hex text with --hex: whitespace\n"
          "and '#' comments ignored) and prints one JSON object per packet. A CONNECT sets\n"
          "the protocol level for the rest of the stream (default --level 4 = MQTT 3.1.1).\n"
          "On the first invalid packet prints {\"error\":...} and exits 1 (--keep-going:\n"
          "reports it and continues with the next packet).\n"
          "Encode: reads JSON lines in the same schema and writes the packets (binary, or one\n"
          "hex line per packet with --hex). Schema: docs/inspect.md.\n",
          f);
}

int main(int argc, char **argv) {
    inspect_opts o = {MQWS_MQTT_311, 0, 0, 0, 0, NULL};
    int encode = 0;
    FILE *in = stdin;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--encode") == 0) {
            encode = 1;
        } else if (strcmp(a, "--hex") == 0) {
            o.hex = 1;
        } else if (strcmp(a, "--keep-going") == 0) {
            o.keep_going = 1;
        } else if (strcmp(a, "--max-packet-size") == 0 && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v == 0 || v > MQWS_MAX_PACKET_SIZE) {
                fprintf(stderr, "mqws-inspect: --max-packet-size must be 1..%u\n",
                        MQWS_MAX_PACKET_SIZE);
                return INSPECT_EXIT_USAGE;
            }
            o.max_packet_size = (uint32_t)v;
        } else if (strcmp(a, "--level") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "3") != 0 && strcmp(v, "4") != 0 && strcmp(v, "5") != 0) {
                fprintf(stderr, "mqws-inspect: --level must be 3, 4 or 5\n");
                return INSPECT_EXIT_USAGE;
            }
            o.level = (uint8_t)(v[0] - '0');
        } else if (strcmp(a, "--from") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "client") == 0) {
                o.from = MQWS_DECODE_FROM_CLIENT;
            } else if (strcmp(v, "server") == 0) {
                o.from = MQWS_DECODE_FROM_SERVER;
            } else {
                fprintf(stderr, "mqws-inspect: --from must be client or server\n");
                return INSPECT_EXIT_USAGE;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return INSPECT_EXIT_OK;
        } else if ((a[0] != '-' || strcmp(a, "-") == 0) && o.path == NULL) {
            o.path = a;
        } else {
            usage(stderr);
            return INSPECT_EXIT_USAGE;
        }
    }
    if (o.path != NULL && strcmp(o.path, "-") != 0) {
        in = fopen(o.path, encode || o.hex ? "r" : "rb");
        if (in == NULL) {
            fprintf(stderr, "mqws-inspect: %s: %s\n", o.path, strerror(errno));
            return INSPECT_EXIT_USAGE;
        }
    }
    int status = encode ? inspect_encode(&o, in, stdout) : inspect_decode(&o, in, stdout);
    if (in != stdin)
        fclose(in);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mqws-inspect: write error\n");
        return INSPECT_EXIT_SYSTEM;
    }
    return status;
}
