/* Retained message store: a tree of topic levels whose edges live in one hash table keyed by
 * (parent node, level), so an exact topic costs one probe per level and a wildcard filter walks
 * only the branches it can match. Messages are immutable and reference counted.
 * SPDX-License-Identifier: MIT */
#include "topic_internal.h"

struct mqws_topic_msg {
    uint32_t refs;
    uint8_t qos;
    uint64_t user;
    mqws_allocator a; /* a copy: a message may outlive its store */
    size_t alloc_size;
    size_t topic_len, payload_len, props_len;
    uint8_t data[]; /* topic, payload, properties */
};

typedef struct rnode rnode;
struct rnode {
    rnode *parent, *child, *next, *prev; /* children form a doubly-linked list */
    mqws_topic_msg *msg;
    uint32_t hash; /* of (parent, level) */
    uint16_t len;
    uint8_t text[];
};

typedef struct rslot {
    uint32_t hash;
    rnode *node; /* NULL = empty */
} rslot;

struct mqws_topic_store {
    const mqws_allocator *a;
    mqws_topic_store_config cfg;
    rnode *root; /* the level above the first: no text, never in the table */
    rslot *tab;
    uint32_t cap, count;
    uint64_t messages, bytes, memory;
    uint64_t seed;
};

static void *salloc(mqws_topic_store *st, size_t n) {
    void *p = mqws__alloc(st->a, n);
    if (p)
        st->memory += n;
    return p;
}
static void sfree(mqws_topic_store *st, void *p, size_t n) {
    if (p) {
        mqws__free(st->a, p, n);
        st->memory -= n;
    }
}

static uint32_t edge_hash(const mqws_topic_store *st, const rnode *parent, const uint8_t *s,
                          size_t n) {
    uint64_t h = mqws__topic_hash_bytes(s, n, st->seed ^ ((uint64_t)(uintptr_t)parent * MQWS__K1));
    return (uint32_t)mqws__topic_mix(h);
}

MQWS_INLINE uint32_t home(uint32_t hash, uint32_t cap) {
    return (uint32_t)(((uint64_t)hash * cap) >> 32);
}

static rnode *child_find(const mqws_topic_store *st, const rnode *parent, const uint8_t *s,
                         size_t n) {
    if (!st->cap)
        return NULL;
    uint32_t h = edge_hash(st, parent, s, n);
    for (uint32_t i = home(h, st->cap); st->tab[i].node; i = i + 1 == st->cap ? 0 : i + 1) {
        rnode *c = st->tab[i].node;
        if (st->tab[i].hash == h && c->parent == parent && c->len == n &&
            memcmp(c->text, s, n) == 0)
            return c;
    }
    return NULL;
}

static void tab_put(rslot *tab, uint32_t cap, uint32_t hash, rnode *n) {
    uint32_t i = home(hash, cap);
    while (tab[i].node)
        i = i + 1 == cap ? 0 : i + 1;
    tab[i].hash = hash;
    tab[i].node = n;
}

static int tab_reserve(mqws_topic_store *st) {
    if ((uint64_t)(st->count + 1) * 4 <= (uint64_t)st->cap * 3)
        return MQWS_OK;
    uint64_t nc64 = st->cap ? (uint64_t)st->cap * 2 : 16;
    if (nc64 > 0x7FFFFFFFu)
        return MQWS_ELIMIT;
    uint32_t nc = (uint32_t)nc64;
    rslot *t = salloc(st, nc * sizeof(rslot));
    if (!t)
        return MQWS_ENOMEM;
    memset(t, 0, nc * sizeof(rslot));
    for (uint32_t i = 0; i < st->cap; i++)
        if (st->tab[i].node)
            tab_put(t, nc, st->tab[i].hash, st->tab[i].node);
    sfree(st, st->tab, st->cap * sizeof(rslot));
    st->tab = t;
    st->cap = nc;
    return MQWS_OK;
}

static void tab_del(mqws_topic_store *st, const rnode *n) {
    uint32_t cap = st->cap;
    uint32_t i = home(n->hash, cap);
    while (st->tab[i].node != n)
        i = i + 1 == cap ? 0 : i + 1;
    uint32_t j = i;
    for (;;) {
        j = j + 1 == cap ? 0 : j + 1;
        if (!st->tab[j].node)
            break;
        uint32_t h = home(st->tab[j].hash, cap);
        uint32_t dist_home = j >= h ? j - h : j + cap - h;
        uint32_t dist_hole = j >= i ? j - i : j + cap - i;
        if (dist_home >= dist_hole) {
            st->tab[i] = st->tab[j];
            i = j;
        }
    }
    st->tab[i].node = NULL;
    st->tab[i].hash = 0;
    st->count--;
}

static size_t node_size(size_t len) { return sizeof(rnode) + len; }

/* Remove empty nodes from `n` upwards (no message, no children). */
static void prune(mqws_topic_store *st, rnode *n) {
    while (n != st->root && !n->msg && !n->child) {
        rnode *p = n->parent;
        if (n->prev)
            n->prev->next = n->next;
        else
            p->child = n->next;
        if (n->next)
            n->next->prev = n->prev;
        tab_del(st, n);
        sfree(st, n, node_size(n->len));
        n = p;
    }
}

/* ---- messages ------------------------------------------------------------------------------- */

void mqws_topic_msg_ref(const mqws_topic_msg *m) {
    /* Handles are const for readers; the count is the one mutable field. */
    ((mqws_topic_msg *)(uintptr_t)m)->refs++;
}

void mqws_topic_msg_unref(const mqws_topic_msg *cm) {
    if (!cm)
        return;
    mqws_topic_msg *m = (mqws_topic_msg *)(uintptr_t)cm;
    if (--m->refs == 0) {
        mqws_allocator a = m->a;
        a.free(a.ud, m, m->alloc_size);
    }
}

void mqws_topic_msg_get(const mqws_topic_msg *m, mqws_topic_msg_info *info) {
    memset(info, 0, sizeof *info);
    info->topic.ptr = m->data;
    info->topic.len = m->topic_len;
    info->payload.ptr = m->data + m->topic_len;
    info->payload.len = m->payload_len;
    info->properties.ptr = m->data + m->topic_len + m->payload_len;
    info->properties.len = m->props_len;
    info->qos = m->qos;
    info->user = m->user;
}

static uint64_t msg_bytes(const mqws_topic_msg *m) {
    return m->topic_len + m->payload_len + m->props_len;
}

/* Detach the store's reference to node n's message. */
static void drop_msg(mqws_topic_store *st, rnode *n) {
    mqws_topic_msg *m = n->msg;
    st->messages--;
    st->bytes -= msg_bytes(m);
    st->memory -= m->alloc_size;
    n->msg = NULL;
    mqws_topic_msg_unref(m);
}

/* ---- store ---------------------------------------------------------------------------------- */

mqws_topic_store *mqws_topic_store_new(const mqws_topic_store_config *cfg) {
    mqws_topic_store_config c = MQWS_TOPIC_STORE_CONFIG_INIT;
    if (cfg) {
        if (cfg->size < sizeof(mqws_topic_store_config))
            return NULL;
        c = *cfg;
    }
    if (c.max_levels == 0)
        c.max_levels = 32;
    if (c.max_levels > MQWS_TOPIC_MAX_LEVELS)
        return NULL;
    const mqws_allocator *a = mqws__allocator_or_default(c.allocator);
    mqws_topic_store *st = mqws__alloc(a, sizeof *st);
    if (!st)
        return NULL;
    memset(st, 0, sizeof *st);
    st->a = a;
    st->cfg = c;
    st->memory = sizeof *st;
    st->seed = 0x72657461696e6564ull ^ (uint64_t)(uintptr_t)st;
    st->root = salloc(st, node_size(0));
    if (!st->root) {
        mqws__free(a, st, sizeof *st);
        return NULL;
    }
    memset(st->root, 0, node_size(0));
    return st;
}

void mqws_topic_store_free(mqws_topic_store *st) {
    if (!st)
        return;
    for (uint32_t i = 0; i < st->cap; i++) {
        rnode *n = st->tab[i].node;
        if (n) {
            mqws_topic_msg_unref(n->msg);
            mqws__free(st->a, n, node_size(n->len));
        }
    }
    mqws__free(st->a, st->tab, st->cap * sizeof(rslot));
    mqws__free(st->a, st->root, node_size(0));
    mqws__free(st->a, st, sizeof *st);
}

static int validate(const mqws_topic_store *st, const uint8_t *topic, size_t len) {
    mqws_topic_limits lim = {sizeof lim, MQWS_TOPIC_MAX_LEN, st->cfg.max_levels};
    return mqws_topic_validate_name(topic, len, &lim, NULL);
}

static rnode *lookup(const mqws_topic_store *st, const uint8_t *t, size_t len) {
    const rnode *n = st->root;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && t[i] != '/')
            continue;
        n = child_find(st, n, t + start, i - start);
        if (!n)
            return NULL;
        start = i + 1;
    }
    return (rnode *)(uintptr_t)n;
}

int mqws_topic_store_set(mqws_topic_store *st, const uint8_t *topic, size_t len,
                         const mqws_topic_retain *msg) {
    int rc = validate(st, topic, len);
    if (rc)
        return rc;
    if (msg->payload.len == 0) { /* [MQTT-3.3.1-6] [MQTT-3.3.1-7] */
        rnode *n = lookup(st, topic, len);
        if (!n || !n->msg)
            return 0;
        drop_msg(st, n);
        prune(st, n);
        return 0;
    }
    rnode *old = lookup(st, topic, len);
    uint64_t add = len + msg->payload.len + msg->properties.len;
    uint64_t old_bytes = old && old->msg ? msg_bytes(old->msg) : 0;
    uint64_t old_count = old && old->msg ? 1 : 0;
    if (st->cfg.max_messages && st->messages - old_count + 1 > st->cfg.max_messages)
        return MQWS_ELIMIT;
    if (st->cfg.max_bytes && st->bytes - old_bytes + add > st->cfg.max_bytes)
        return MQWS_ELIMIT;
    size_t asz = sizeof(mqws_topic_msg) + (size_t)add;
    mqws_topic_msg *m = mqws__alloc(st->a, asz);
    if (!m)
        return MQWS_ENOMEM;
    m->refs = 1;
    m->qos = msg->qos;
    m->user = msg->user;
    m->a = *st->a;
    m->alloc_size = asz;
    m->topic_len = len;
    m->payload_len = msg->payload.len;
    m->props_len = msg->properties.len;
    memcpy(m->data, topic, len);
    memcpy(m->data + len, msg->payload.ptr, msg->payload.len);
    if (msg->properties.len)
        memcpy(m->data + len + msg->payload.len, msg->properties.ptr, msg->properties.len);

    /* Walk down, creating missing levels; on failure prune what was created. */
    rnode *n = st->root;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && topic[i] != '/')
            continue;
        size_t ln = i - start;
        rnode *c = child_find(st, n, topic + start, ln);
        if (!c) {
            rc = tab_reserve(st);
            c = rc ? NULL : salloc(st, node_size(ln));
            if (!c) {
                prune(st, n);
                mqws__free(st->a, m, asz);
                return rc ? rc : MQWS_ENOMEM;
            }
            memset(c, 0, sizeof *c);
            c->parent = n;
            c->len = (uint16_t)ln;
            memcpy(c->text, topic + start, ln);
            c->hash = edge_hash(st, n, topic + start, ln);
            c->next = n->child;
            if (c->next)
                c->next->prev = c;
            n->child = c;
            tab_put(st->tab, st->cap, c->hash, c);
            st->count++;
        }
        n = c;
        start = i + 1;
    }
    if (n->msg)
        drop_msg(st, n);
    n->msg = m;
    st->messages++;
    st->bytes += add;
    st->memory += asz;
    return 1;
}

const mqws_topic_msg *mqws_topic_store_get(const mqws_topic_store *st, const uint8_t *topic,
                                           size_t len) {
    if (len == 0)
        return NULL;
    const rnode *n = lookup(st, topic, len);
    return n ? n->msg : NULL;
}

typedef struct walk {
    const mqws_topic_store *st;
    mqws_view lev[MQWS_TOPIC_MAX_LEVELS];
    uint32_t nlev;
    mqws_topic_store_fn fn;
    void *ctx;
    int count;
} walk;

/* Report n's message and every message below it. Returns non-zero to stop. */
static int walk_all(walk *w, const rnode *n, int skip_dollar) {
    if (n->msg) {
        w->count++;
        if (w->fn(w->ctx, n->msg))
            return 1;
    }
    for (const rnode *c = n->child; c; c = c->next) {
        if (skip_dollar && c->len && c->text[0] == '$') /* [MQTT-4.7.2-1] */
            continue;
        if (walk_all(w, c, 0))
            return 1;
    }
    return 0;
}

static int walk_filter(walk *w, const rnode *n, uint32_t li) {
    if (li == w->nlev) {
        if (n->msg) {
            w->count++;
            return w->fn(w->ctx, n->msg);
        }
        return 0;
    }
    mqws_view l = w->lev[li];
    const int at_root = li == 0;
    if (l.len == 1 && l.ptr[0] == '#') {
        /* "a/#" matches "a" too; "#" at the root never reports the root itself (no message). */
        if (!at_root && n->msg) {
            w->count++;
            if (w->fn(w->ctx, n->msg))
                return 1;
        }
        for (const rnode *c = n->child; c; c = c->next) {
            if (at_root && c->len && c->text[0] == '$')
                continue;
            if (walk_all(w, c, 0))
                return 1;
        }
        return 0;
    }
    if (l.len == 1 && l.ptr[0] == '+') {
        for (const rnode *c = n->child; c; c = c->next) {
            if (at_root && c->len && c->text[0] == '$')
                continue;
            if (walk_filter(w, c, li + 1))
                return 1;
        }
        return 0;
    }
    const rnode *c = child_find(w->st, n, l.ptr, l.len);
    return c ? walk_filter(w, c, li + 1) : 0;
}

int mqws_topic_store_match(const mqws_topic_store *st, const uint8_t *filter, size_t len,
                           mqws_topic_store_fn fn, void *ctx) {
    mqws_topic_limits lim = {sizeof lim, MQWS_TOPIC_MAX_LEN, st->cfg.max_levels};
    int rc = mqws_topic_validate_filter(filter, len, &lim, NULL);
    if (rc)
        return rc;
    mqws_view g, f;
    if (mqws_topic_parse_share(filter, len, &g, &f) != 0)
        return MQWS_EINVAL;
    walk w;
    w.st = st;
    w.nlev = 0;
    w.fn = fn;
    w.ctx = ctx;
    w.count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && filter[i] != '/')
            continue;
        w.lev[w.nlev].ptr = filter + start;
        w.lev[w.nlev].len = i - start;
        w.nlev++;
        start = i + 1;
    }
    walk_filter(&w, st->root, 0);
    return w.count;
}

int mqws_topic_store_stats_get(const mqws_topic_store *st, mqws_topic_store_stats *out) {
    if (!out || out->size < sizeof(mqws_topic_store_stats))
        return MQWS_EINVAL;
    out->messages = st->messages;
    out->bytes = st->bytes;
    out->memory = st->memory;
    return MQWS_OK;
}
