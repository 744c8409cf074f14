/* mqws-inspect --encode: JSON lines (docs/inspect.md) -> MQTT packets.
 *
 * Every line is parsed strictly: unknown or repeated members, wrong JSON types and values out
 * of a field's range are errors naming the member. The packet is then checked with
 * mqws_validate() (the same rules mqws_decode() applies) and written with mqws_encode(); a
 * PUBLISH is also written with mqws_encode_publish_iov() and both must agree.
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include "inspect.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Lines longer than this are refused: twice the largest packet (hex) plus room for names. */
#define MAX_LINE ((size_t)MQWS_MAX_PACKET_SIZE * 2u + 65536u)

/* Everything allocated for one line; freed in one go. */
typedef struct arena {
    void **blocks;
    size_t count;
    size_t cap;
} arena;

static void *arena_alloc(arena *a, size_t size) {
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        void **n = realloc(a->blocks, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        a->blocks = n;
        a->cap = cap;
    }
    void *p = malloc(size ? size : 1);
    if (p != NULL)
        a->blocks[a->count++] = p;
    return p;
}

static void arena_free(arena *a) {
    for (size_t i = 0; i < a->count; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

/* The state of converting one JSON line. */
typedef struct conv {
    const json_doc *doc;
    arena mem;
    const char *err; /* static message */
    char member[64]; /* the member the error is about */
    int no_memory;
} conv;

static int bad(conv *c, const char *member, const char *msg) {
    if (c->err == NULL) {
        c->err = msg;
        snprintf(c->member, sizeof c->member, "%s", member ? member : "");
    }
    return -1;
}

static int key_is(const conv *c, const json_node *m, const char *name) {
    size_t n = strlen(name);
    return m->key_len == n && memcmp(c->doc->strings + m->key, name, n) == 0;
}

/* Checks that every member of `obj` is in `allowed` (NULL-terminated) and appears once. */
static int check_members(conv *c, const json_node *obj, const char *const *allowed,
                         const char *what) {
    uint64_t seen = 0;
    if (obj->type != JSON_OBJECT)
        return bad(c, what, "expected a JSON object");
    for (const json_node *m = json_first(c->doc, obj); m; m = json_next(c->doc, m)) {
        size_t i;
        for (i = 0; allowed[i] != NULL; i++) {
            if (key_is(c, m, allowed[i]))
                break;
        }
        if (allowed[i] == NULL) {
            char name[64];
            size_t n = m->key_len < sizeof name - 1 ? m->key_len : sizeof name - 1;
            memcpy(name, c->doc->strings + m->key, n);
            name[n] = '\0';
            return bad(c, name, "unknown member for this packet type and level");
        }
        if (seen & (UINT64_C(1) << i))
            return bad(c, allowed[i], "member given twice");
        seen |= UINT64_C(1) << i;
    }
    return 0;
}

static int get_uint(conv *c, const json_node *obj, const char *name, uint64_t max, uint64_t *out) {
    const json_node *n = json_get(c->doc, obj, name);
    if (n == NULL)
        return 0;
    if (n->type != JSON_INT || n->num < 0 || (uint64_t)n->num > max)
        return bad(c, name, "expected an integer in range");
    *out = (uint64_t)n->num;
    return 1;
}

static int get_u8(conv *c, const json_node *obj, const char *name, uint8_t *out) {
    uint64_t v;
    int rc = get_uint(c, obj, name, 0xFF, &v);
    if (rc > 0)
        *out = (uint8_t)v;
    return rc;
}

static int get_u16(conv *c, const json_node *obj, const char *name, uint16_t *out) {
    uint64_t v;
    int rc = get_uint(c, obj, name, 0xFFFF, &v);
    if (rc > 0)
        *out = (uint16_t)v;
    return rc;
}

static int get_bool(conv *c, const json_node *obj, const char *name, uint8_t *out) {
    const json_node *n = json_get(c->doc, obj, name);
    if (n == NULL)
        return 0;
    if (n->type != JSON_TRUE && n->type != JSON_FALSE)
        return bad(c, name, "expected true or false");
    *out = n->type == JSON_TRUE;
    return 1;
}

static int node_string(conv *c, const json_node *n, const char *name, mqws_view *out) {
    if (n->type != JSON_STRING)
        return bad(c, name, "expected a string");
    out->ptr = c->doc->strings + n->str;
    out->len = n->len;
    return 1;
}

static int get_string(conv *c, const json_node *obj, const char *name, mqws_view *out) {
    const json_node *n = json_get(c->doc, obj, name);
    if (n == NULL)
        return 0;
    return node_string(c, n, name, out);
}

static int unhex(int ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int node_hex(conv *c, const json_node *n, const char *name, mqws_view *out) {
    if (n->type != JSON_STRING)
        return bad(c, name, "expected a hex string");
    const uint8_t *s = c->doc->strings + n->str;
    if (n->len % 2 != 0)
        return bad(c, name, "odd number of hex digits");
    uint8_t *bytes = arena_alloc(&c->mem, n->len / 2);
    if (bytes == NULL) {
        c->no_memory = 1;
        return bad(c, name, "out of memory");
    }
    for (size_t i = 0; i < n->len / 2; i++) {
        int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return bad(c, name, "not a hex digit");
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    out->ptr = bytes;
    out->len = n->len / 2;
    return 1;
}

static int get_hex(conv *c, const json_node *obj, const char *name, mqws_view *out) {
    const json_node *n = json_get(c->doc, obj, name);
    if (n == NULL)
        return 0;
    return node_hex(c, n, name, out);
}

static const json_node *get_array(conv *c, const json_node *obj, const char *name) {
    const json_node *n = json_get(c->doc, obj, name);
    if (n != NULL && n->type != JSON_ARRAY) {
        bad(c, name, "expected an array");
        return NULL;
    }
    return n;
}

static const prop_desc *prop_by_json(const conv *c, const json_node *m) {
    for (size_t i = 0; i < inspect_prop_count; i++) {
        if (key_is(c, m, inspect_props[i].json))
            return &inspect_props[i];
    }
    return NULL;
}

static int parse_props(conv *c, const json_node *obj, mqws_props *pr) {
    static const mqws_user_prop no_user_props[1];
    static const uint32_t no_sub_ids[1];
    mqws_props_init(pr);
    /* Non-NULL arrays: properties come from this JSON only, never from `raw`. */
    pr->user_props = no_user_props;
    pr->sub_ids = no_sub_ids;
    if (obj->type != JSON_OBJECT)
        return bad(c, "properties", "expected a JSON object");
    for (const json_node *m = json_first(c->doc, obj); m; m = json_next(c->doc, m)) {
        const prop_desc *d = prop_by_json(c, m);
        if (d == NULL)
            return bad(c, "properties", "unknown property name");
        uint32_t bit = mqws_prop_bit(d->id);
        char *base = (char *)pr + d->offset;
        if (d->kind != PK_USER && d->kind != PK_SUB_IDS && (pr->present & bit))
            return bad(c, d->json, "property given twice");
        switch (d->kind) {
            case PK_BYTE:
            case PK_U16:
            case PK_U32: {
                uint64_t max = d->kind == PK_BYTE ? 0xFF : d->kind == PK_U16 ? 0xFFFF : 0xFFFFFFFF;
                if (m->type != JSON_INT || m->num < 0 || (uint64_t)m->num > max)
                    return bad(c, d->json, "expected an integer in range");
                if (d->kind == PK_BYTE)
                    *(uint8_t *)(void *)base = (uint8_t)m->num;
                else if (d->kind == PK_U16)
                    *(uint16_t *)(void *)base = (uint16_t)m->num;
                else
                    *(uint32_t *)(void *)base = (uint32_t)m->num;
                break;
            }
            case PK_STRING:
                if (node_string(c, m, d->json, (mqws_view *)(void *)base) < 0)
                    return -1;
                break;
            case PK_BINARY:
                if (node_hex(c, m, d->json, (mqws_view *)(void *)base) < 0)
                    return -1;
                break;
            case PK_SUB_IDS: {
                if (m->type != JSON_ARRAY)
                    return bad(c, d->json, "expected an array of integers");
                if (pr->sub_ids != no_sub_ids)
                    return bad(c, d->json, "property given twice");
                uint32_t *ids = arena_alloc(&c->mem, m->len * sizeof *ids);
                uint32_t n = 0;
                if (ids == NULL) {
                    c->no_memory = 1;
                    return bad(c, d->json, "out of memory");
                }
                for (const json_node *e = json_first(c->doc, m); e; e = json_next(c->doc, e)) {
                    if (e->type != JSON_INT || e->num < 0 || e->num > (int64_t)MQWS_VARINT_MAX)
                        return bad(c, d->json, "expected an integer in range");
                    ids[n++] = (uint32_t)e->num;
                }
                pr->sub_ids = ids;
                pr->sub_id_count = n;
                if (n > 0) {
                    pr->subscription_id = ids[0];
                    pr->present |= bit;
                }
                continue;
            }
            case PK_USER: {
                if (m->type != JSON_ARRAY)
                    return bad(c, d->json, "expected an array of [key, value] pairs");
                if (pr->user_props != no_user_props)
                    return bad(c, d->json, "property given twice");
                mqws_user_prop *up = arena_alloc(&c->mem, m->len * sizeof *up);
                uint32_t n = 0;
                if (up == NULL) {
                    c->no_memory = 1;
                    return bad(c, d->json, "out of memory");
                }
                for (const json_node *e = json_first(c->doc, m); e; e = json_next(c->doc, e)) {
                    const json_node *k = json_first(c->doc, e);
                    const json_node *v = k ? json_next(c->doc, k) : NULL;
                    if (e->type != JSON_ARRAY || e->len != 2 || k->type != JSON_STRING ||
                        v->type != JSON_STRING)
                        return bad(c, d->json, "expected an array of [key, value] pairs");
                    node_string(c, k, d->json, &up[n].key);
                    node_string(c, v, d->json, &up[n].value);
                    n++;
                }
                pr->user_props = up;
                pr->user_prop_count = n;
                if (n > 0)
                    pr->present |= bit;
                continue;
            }
        }
        pr->present |= bit;
    }
    return 0;
}

static int packet_type_by_name(const conv *c, const json_node *n) {
    if (n == NULL || n->type != JSON_STRING)
        return 0;
    for (int t = MQWS_PKT_CONNECT; t <= MQWS_PKT_AUTH; t++) {
        const char *name = mqws_packet_type_name(t);
        if (strlen(name) == n->len && memcmp(name, c->doc->strings + n->str, n->len) == 0)
            return t;
    }
    return 0;
}

/* Members every line may carry; "offset", "length" and the *_name members are what the
 * decoder prints for humans and are ignored here. */
#define COMMON "type", "flags", "offset", "length", "properties_raw"

static int parse_will(conv *c, const json_node *w, mqws_packet *p, int v5) {
    static const char *const k5[] = {"topic",      "payload",        "qos", "retain",
                                     "properties", "properties_raw", NULL};
    if (check_members(c, w, k5, "will") < 0)
        return -1;
    if (!v5 && json_get(c->doc, w, "properties") != NULL)
        return bad(c, "properties", "will properties need protocol level 5");
    p->will_flag = 1;
    if (get_string(c, w, "topic", &p->will_topic) < 0 ||
        get_hex(c, w, "payload", &p->will_payload) < 0 || get_u8(c, w, "qos", &p->will_qos) < 0 ||
        get_bool(c, w, "retain", &p->will_retain) < 0)
        return -1;
    mqws_props_init(&p->will_props);
    const json_node *pn = json_get(c->doc, w, "properties");
    if (pn != NULL && parse_props(c, pn, &p->will_props) < 0)
        return -1;
    if (get_hex(c, w, "properties_raw", &p->will_props.raw) < 0)
        return -1;
    return 0;
}

static int parse_entries(conv *c, const json_node *obj, mqws_packet *p, int v5) {
    if (p->type == MQWS_PKT_SUBSCRIBE) {
        static const char *const k5[] = {
            "filter", "qos", "no_local", "retain_as_published", "retain_handling", NULL};
        static const char *const k3[] = {"filter", "qos", NULL};
        const json_node *a = get_array(c, obj, "subscriptions");
        if (a == NULL)
            return c->err ? -1 : 0;
        mqws_subscription *subs = arena_alloc(&c->mem, a->len * sizeof *subs);
        uint32_t n = 0;
        if (subs == NULL) {
            c->no_memory = 1;
            return bad(c, "subscriptions", "out of memory");
        }
        for (const json_node *e = json_first(c->doc, a); e; e = json_next(c->doc, e), n++) {
            mqws_subscription *s = &subs[n];
            memset(s, 0, sizeof *s);
            if (check_members(c, e, v5 ? k5 : k3, "subscriptions") < 0 ||
                get_string(c, e, "filter", &s->filter) < 0 || get_u8(c, e, "qos", &s->qos) < 0 ||
                get_bool(c, e, "no_local", &s->no_local) < 0 ||
                get_bool(c, e, "retain_as_published", &s->retain_as_published) < 0 ||
                get_u8(c, e, "retain_handling", &s->retain_handling) < 0)
                return -1;
        }
        p->subs = subs;
        p->entry_count = n;
    } else if (p->type == MQWS_PKT_UNSUBSCRIBE) {
        const json_node *a = get_array(c, obj, "filters");
        if (a == NULL)
            return c->err ? -1 : 0;
        mqws_view *f = arena_alloc(&c->mem, a->len * sizeof *f);
        uint32_t n = 0;
        if (f == NULL) {
            c->no_memory = 1;
            return bad(c, "filters", "out of memory");
        }
        for (const json_node *e = json_first(c->doc, a); e; e = json_next(c->doc, e), n++) {
            if (node_string(c, e, "filters", &f[n]) < 0)
                return -1;
        }
        p->unsub_filters = f;
        p->entry_count = n;
    } else { /* SUBACK, UNSUBACK */
        const json_node *a = get_array(c, obj, "reason_codes");
        if (a == NULL)
            return c->err ? -1 : 0;
        uint8_t *rc = arena_alloc(&c->mem, a->len);
        uint32_t n = 0;
        if (rc == NULL) {
            c->no_memory = 1;
            return bad(c, "reason_codes", "out of memory");
        }
        for (const json_node *e = json_first(c->doc, a); e; e = json_next(c->doc, e)) {
            if (e->type != JSON_INT || e->num < 0 || e->num > 255)
                return bad(c, "reason_codes", "expected integers 0..255");
            rc[n++] = (uint8_t)e->num;
        }
        p->reason_codes.ptr = rc;
        p->reason_codes.len = n;
        p->entry_count = n;
    }
    return 0;
}

/* JSON object -> packet. *level is the stream's level; a CONNECT changes it. */
static int build_packet(conv *c, const json_node *root, uint8_t *level, mqws_packet *p,
                        int *flags_given, uint8_t *flags) {
    static const char *const k_connect[] = {
        COMMON, "protocol_name", "protocol_level", "clean_start", "keep_alive", "client_id",
        "will", "username",      "password",       "properties",  NULL};
    static const char *const k_connack[] = {COMMON,        "session_present", "reason_code",
                                            "reason_name", "properties",      NULL};
    static const char *const k_publish[] = {COMMON,      "dup",     "qos",        "retain", "topic",
                                            "packet_id", "payload", "properties", NULL};
    static const char *const k_ack[] = {COMMON,        "packet_id",  "reason_code", "tail_form",
                                        "reason_name", "properties", NULL};
    static const char *const k_sub[] = {COMMON, "packet_id", "subscriptions", "properties", NULL};
    static const char *const k_unsub[] = {COMMON, "packet_id", "filters", "properties", NULL};
    static const char *const k_suback[] = {COMMON,         "packet_id",  "reason_codes",
                                           "reason_names", "properties", NULL};
    static const char *const k_ping[] = {COMMON, NULL};
    static const char *const k_disc[] = {COMMON,      "reason_code", "reason_name",
                                         "tail_form", "properties",  NULL};
    const char *const *keys;
    uint64_t v = 0;

    if (root->type != JSON_OBJECT)
        return bad(c, NULL, "each line must be a JSON object");
    int type = packet_type_by_name(c, json_get(c->doc, root, "type"));
    if (type == 0)
        return bad(c, "type", "missing or unknown packet type (\"PUBLISH\", \"CONNECT\", ...)");
    mqws_packet_init(p, type);
    mqws_props_init(&p->props);
    mqws_props_init(&p->will_props);

    if (type == MQWS_PKT_CONNECT) {
        uint8_t lvl = *level;
        if (get_u8(c, root, "protocol_level", &lvl) < 0)
            return -1;
        if (lvl != MQWS_MQTT_31 && lvl != MQWS_MQTT_311 && lvl != MQWS_MQTT_5)
            return bad(c, "protocol_level", "protocol_level must be 3, 4 or 5");
        *level = lvl;
    }
    int v5 = *level == MQWS_MQTT_5;

    switch (type) {
        case MQWS_PKT_CONNECT:
            keys = k_connect;
            break;
        case MQWS_PKT_CONNACK:
            keys = k_connack;
            break;
        case MQWS_PKT_PUBLISH:
            keys = k_publish;
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            keys = k_ack;
            break;
        case MQWS_PKT_SUBSCRIBE:
            keys = k_sub;
            break;
        case MQWS_PKT_UNSUBSCRIBE:
            keys = k_unsub;
            break;
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            keys = k_suback;
            break;
        case MQWS_PKT_PINGREQ:
        case MQWS_PKT_PINGRESP:
            keys = k_ping;
            break;
        default:
            keys = k_disc;
            break;
    }
    if (check_members(c, root, keys, "packet") < 0)
        return -1;
    const json_node *props = json_get(c->doc, root, "properties");
    if (props != NULL) {
        if (!v5)
            return bad(c, "properties", "properties need protocol level 5");
        if (parse_props(c, props, &p->props) < 0)
            return -1;
    }
    if (json_get(c->doc, root, "properties_raw") != NULL) {
        if (!v5)
            return bad(c, "properties_raw", "properties need protocol level 5");
        if (get_hex(c, root, "properties_raw", &p->props.raw) < 0)
            return -1;
    }
    if (json_get(c->doc, root, "tail_form") != NULL) {
        if (!v5)
            return bad(c, "tail_form", "tail_form needs protocol level 5");
        if (get_u8(c, root, "tail_form", &p->tail_form) < 0)
            return -1;
        if (p->tail_form > 2)
            return bad(c, "tail_form", "tail_form is 0, 1 or 2");
    }
    *flags_given = get_uint(c, root, "flags", 15, &v);
    if (*flags_given < 0)
        return -1;
    *flags = (uint8_t)v;

    switch (type) {
        case MQWS_PKT_CONNECT: {
            const json_node *will = json_get(c->doc, root, "will");
            p->protocol_level = *level;
            p->protocol_name = mqws_view_cstr(*level == MQWS_MQTT_31 ? "MQIsdp" : "MQTT");
            {
                /* The encoder writes the name that belongs to the level [MQTT-3.1.2-1]. */
                mqws_view name;
                int rc = get_string(c, root, "protocol_name", &name);
                if (rc < 0)
                    return -1;
                if (rc > 0 && !mqws_view_eq(name, p->protocol_name))
                    return bad(c, "protocol_name",
                               "protocol_name must be \"MQIsdp\" at level 3, \"MQTT\" at 4 and 5");
            }
            if (get_bool(c, root, "clean_start", &p->clean_start) < 0 ||
                get_u16(c, root, "keep_alive", &p->keep_alive) < 0 ||
                get_string(c, root, "client_id", &p->client_id) < 0)
                return -1;
            if (will != NULL && parse_will(c, will, p, v5) < 0)
                return -1;
            int rc = get_string(c, root, "username", &p->username);
            if (rc < 0)
                return -1;
            p->has_username = (uint8_t)rc;
            rc = get_hex(c, root, "password", &p->password);
            if (rc < 0)
                return -1;
            p->has_password = (uint8_t)rc;
            break;
        }
        case MQWS_PKT_CONNACK:
            if (get_bool(c, root, "session_present", &p->session_present) < 0 ||
                get_u8(c, root, "reason_code", &p->reason_code) < 0)
                return -1;
            break;
        case MQWS_PKT_PUBLISH:
            if (get_bool(c, root, "dup", &p->dup) < 0 || get_u8(c, root, "qos", &p->qos) < 0 ||
                get_bool(c, root, "retain", &p->retain) < 0 ||
                get_string(c, root, "topic", &p->topic) < 0 ||
                get_u16(c, root, "packet_id", &p->packet_id) < 0 ||
                get_hex(c, root, "payload", &p->payload) < 0)
                return -1;
            if (p->qos == 0 && json_get(c->doc, root, "packet_id") != NULL)
                return bad(c, "packet_id", "a QoS 0 PUBLISH has no packet identifier");
            p->flags = (uint8_t)((p->dup ? 8 : 0) | (p->qos & 3) << 1 | (p->retain ? 1 : 0));
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            if (get_u16(c, root, "packet_id", &p->packet_id) < 0 ||
                get_u8(c, root, "reason_code", &p->reason_code) < 0)
                return -1;
            if (!v5 && p->reason_code != 0)
                return bad(c, "reason_code", "reason codes need protocol level 5");
            break;
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE:
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            if (get_u16(c, root, "packet_id", &p->packet_id) < 0 ||
                parse_entries(c, root, p, v5) < 0)
                return -1;
            if (type == MQWS_PKT_UNSUBACK && !v5 && p->reason_codes.len > 0)
                return bad(c, "reason_codes", "UNSUBACK reason codes need protocol level 5");
            break;
        case MQWS_PKT_DISCONNECT:
        case MQWS_PKT_AUTH:
            if (get_u8(c, root, "reason_code", &p->reason_code) < 0)
                return -1;
            if (!v5 && p->reason_code != 0)
                return bad(c, "reason_code", "reason codes need protocol level 5");
            break;
        default:
            break;
    }
    return 0;
}

static void put_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* One JSON error object on stderr (stdout carries the packets). */
static void report(FILE *err, size_t line, const char *error, const char *message,
                   const char *statement, const char *member, size_t column) {
    fputs("{\"error\":", err);
    put_json_string(err, error);
    fprintf(err, ",\"line\":%zu", line);
    if (column > 0)
        fprintf(err, ",\"column\":%zu", column);
    if (member != NULL && member[0] != '\0') {
        fputs(",\"member\":", err);
        put_json_string(err, member);
    }
    if (statement != NULL) {
        fputs(",\"statement\":", err);
        put_json_string(err, statement);
    }
    fputs(",\"message\":", err);
    put_json_string(err, message ? message : "");
    fputs("}\n", err);
}

static int write_out(const inspect_opts *o, FILE *out, const uint8_t *b, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (!o->hex)
        return fwrite(b, 1, n, out) == n ? 0 : -1;
    for (size_t i = 0; i < n; i++) {
        fputc(hex[b[i] >> 4], out);
        fputc(hex[b[i] & 15], out);
    }
    fputc('\n', out);
    return ferror(out) ? -1 : 0;
}

/* Encodes one line; returns an exit status. */
static int encode_line(const inspect_opts *o, FILE *out, const char *text, size_t len,
                       size_t lineno, uint8_t *level) {
    json_doc doc;
    conv c;
    mqws_packet p;
    mqws_decode_error derr = {0, 0, NULL, NULL, 0};
    int flags_given = 0;
    uint8_t flags = 0;
    uint8_t *buf = NULL;
    size_t size = 0, written = 0;
    int status = INSPECT_EXIT_OK;
    int rc;

    memset(&c, 0, sizeof c);
    if (json_parse(&doc, text, len) < 0) {
        report(stderr, lineno, "json", doc.err_msg, NULL, NULL, doc.err_at + 1);
        json_free(&doc);
        return INSPECT_EXIT_DATA;
    }
    c.doc = &doc;
    uint8_t new_level = *level;
    if (build_packet(&c, &doc.nodes[0], &new_level, &p, &flags_given, &flags) < 0) {
        report(stderr, lineno, "schema", c.err, NULL, c.member, 0);
        status = c.no_memory ? INSPECT_EXIT_SYSTEM : INSPECT_EXIT_DATA;
        goto out;
    }
    rc = mqws_validate(&p, new_level, o->from, &derr);
    if (rc != MQWS_OK) {
        report(stderr, lineno, mqws_error_name(rc), derr.message ? derr.message : mqws_strerror(rc),
               derr.statement, NULL, 0);
        status = INSPECT_EXIT_DATA;
        goto out;
    }
    rc = mqws_encoded_size(&p, new_level, &size);
    if (rc == MQWS_OK) {
        buf = malloc(size ? size : 1);
        if (buf == NULL) {
            status = INSPECT_EXIT_SYSTEM;
            report(stderr, lineno, "MQWS_ENOMEM", "out of memory", NULL, NULL, 0);
            goto out;
        }
        rc = mqws_encode(&p, new_level, buf, size, &written);
    }
    if (rc != MQWS_OK) {
        report(stderr, lineno, mqws_error_name(rc), mqws_strerror(rc), NULL, NULL, 0);
        status = INSPECT_EXIT_DATA;
        goto out;
    }
    if (written != size) {
        report(stderr, lineno, "internal", "mqws_encode wrote a size other than mqws_encoded_size",
               NULL, NULL, 0);
        status = INSPECT_EXIT_SYSTEM;
        goto out;
    }
    if (flags_given && (buf[0] & 15) != flags) {
        report(stderr, lineno, "schema", "\"flags\" disagrees with the encoded fixed header", NULL,
               "flags", 0);
        status = INSPECT_EXIT_DATA;
        goto out;
    }
    if (p.type == MQWS_PKT_PUBLISH) {
        /* The writev form must send exactly the same bytes. */
        uint8_t hdr[65536 + 16];
        mqws_iovec iov[2];
        size_t hdr_need = size - p.payload.len;
        uint8_t *h = hdr_need <= sizeof hdr ? hdr : malloc(hdr_need);
        rc = h ? mqws_encode_publish_iov(&p, new_level, h, hdr_need, iov) : MQWS_ENOMEM;
        if (rc != MQWS_OK || iov[0].len + iov[1].len != size ||
            memcmp(iov[0].base, buf, iov[0].len) != 0 ||
            (iov[1].len && memcmp(iov[1].base, buf + iov[0].len, iov[1].len) != 0)) {
            report(stderr, lineno, "internal", "mqws_encode_publish_iov disagrees with mqws_encode",
                   NULL, NULL, 0);
            status = INSPECT_EXIT_SYSTEM;
        }
        if (h != hdr)
            free(h);
        if (status != INSPECT_EXIT_OK)
            goto out;
    }
    if (write_out(o, out, buf, size) < 0) {
        status = INSPECT_EXIT_SYSTEM;
        goto out;
    }
    *level = new_level;
out:
    free(buf);
    arena_free(&c.mem);
    json_free(&doc);
    return status;
}

int inspect_encode(const inspect_opts *o, FILE *in, FILE *out) {
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    uint8_t level = o->level;
    int status = INSPECT_EXIT_OK;
    ssize_t n;

    errno = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len || line[i] == '#')
            continue; /* blank lines and comments */
        if (len > MAX_LINE) {
            report(stderr, lineno, "json", "line too long", NULL, NULL, 0);
            status = INSPECT_EXIT_DATA;
            break;
        }
        status = encode_line(o, out, line, len, lineno, &level);
        if (status != INSPECT_EXIT_OK)
            break;
    }
    if (status == INSPECT_EXIT_OK && ferror(in)) {
        fprintf(stderr, "mqws-inspect: read error: %s\n", strerror(errno));
        status = INSPECT_EXIT_SYSTEM;
    }
    free(line);
    fflush(out);
    return status;
}
