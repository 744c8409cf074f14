/* mqws broker: routing among many sessions. See include/mqws/broker.h and docs/design/broker.md.
 *
 * Objects: one bk_conn per accepted socket (it owns an mqws_conn and, through it, a session),
 * one bk_sess per client identifier (its subscriber handle in the topic index, and the session
 * object while no connection holds it). Routing happens inside the session callbacks: a
 * PUBLISH decoded on one connection is matched and queued on the sessions of the subscribers,
 * which only encode a small header each around one shared payload slice.
 *
 * Time: every connection and every offline session sits in one binary min-heap keyed by the
 * deadline its last tick returned; mqws_broker_tick() pops only what expired. A connection
 * whose deadlines may have moved (input, a takeover, an answer from the host) goes on the
 * "touch" list and is re-ticked at the end of the current call.
 *
 * SPDX-License-Identifier: MIT */
#include "broker_internal.h"

#include <stdio.h>

/* The queue level of a subscriber session is read from the session's own counters (O(1)).
 * Workaround until session.h offers it (mqws_session_queue_level(), asked in
 * build/api-requests.md); mqws_session_get_stats() walks the queues. Read only. */
#include "../session/session_internal.h"

#define NO_DEADLINE INT64_MAX
#define MAX_IDS     32u /* subscription identifiers per delivery (the session's limit) */
/* Input is fed to a connection in pieces of this size: a connection paused by backpressure
 * stops between two pieces and the rest of the host's buffer is held (docs/design/broker.md).
 * Pieces are small while any subscriber is congested, and for a connection whose last piece
 * fed a queue above its low watermark (or that was just released), so that what is already in
 * the pipe when a high watermark is passed (one large piece, then one small piece per other
 * publisher, since pieces are fed one at a time) stays within the queue's headroom. */
#define RECV_CHUNK       2048u
#define RECV_CHUNK_SMALL 256u

/* ------------------------------------------------------------------------------------------ */
/* Counting allocator */

static void *bka_alloc(void *ud, size_t n) {
    bk_alloc *c = ud;
    void *p = c->base->alloc(c->base->ud, n);
    if (p)
        c->used += n;
    return p;
}

static void *bka_realloc(void *ud, void *ptr, size_t old_n, size_t new_n) {
    bk_alloc *c = ud;
    void *p = c->base->realloc(c->base->ud, ptr, old_n, new_n);
    if (p) {
        c->used -= ptr ? old_n : 0;
        c->used += new_n;
    }
    return p;
}

static void bka_free(void *ud, void *ptr, size_t n) {
    bk_alloc *c = ud;
    if (!ptr)
        return;
    c->base->free(c->base->ud, ptr, n);
    c->used -= n;
}

static void bka_init(bk_alloc *c, const mqws_allocator *base) {
    c->a.alloc = bka_alloc;
    c->a.realloc = bka_realloc;
    c->a.free = bka_free;
    c->a.ud = c;
    c->base = base;
    c->used = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Intrusive lists (sentinel-headed, circular) */

static void link_init(bk_link *l) { l->prev = l->next = l; }
static int link_empty(const bk_link *l) { return l->next == l; }
static void link_push(bk_link *head, bk_link *l) {
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}
static void link_del(bk_link *l) {
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ------------------------------------------------------------------------------------------ */
/* Timer heap */

static uint32_t *heap_pos(void *obj) {
    return *(uint32_t *)obj == BK_KIND_CONN ? &((bk_conn *)obj)->hpos : &((bk_sess *)obj)->hpos;
}

static void heap_place(mqws_broker *b, size_t i, bk_heap_ent e) {
    b->heap[i] = e;
    *heap_pos(e.obj) = (uint32_t)i;
}

static void heap_up(mqws_broker *b, size_t i) {
    bk_heap_ent e = b->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (b->heap[p].at <= e.at)
            break;
        heap_place(b, i, b->heap[p]);
        i = p;
    }
    heap_place(b, i, e);
}

static void heap_down(mqws_broker *b, size_t i) {
    bk_heap_ent e = b->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        int64_t best = e.at;
        if (l < b->heap_n && b->heap[l].at < best) {
            m = l;
            best = b->heap[l].at;
        }
        if (l + 1 < b->heap_n && b->heap[l + 1].at < best)
            m = l + 1;
        if (m == i)
            break;
        heap_place(b, i, b->heap[m]);
        i = m;
    }
    heap_place(b, i, e);
}

static void heap_remove(mqws_broker *b, void *obj) {
    uint32_t *pp = heap_pos(obj);
    if (*pp == BK_NO_POS)
        return;
    size_t i = *pp;
    *pp = BK_NO_POS;
    b->heap_n--;
    if (i == b->heap_n)
        return;
    bk_heap_ent e = b->heap[b->heap_n];
    heap_place(b, i, e);
    heap_down(b, i);
    heap_up(b, *heap_pos(e.obj));
}

/* Capacity is reserved when objects are created (heap_reserve), so setting never allocates. */
static int heap_reserve(mqws_broker *b, size_t n) {
    if (n <= b->heap_cap)
        return MQWS_OK;
    size_t cap = b->heap_cap ? b->heap_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    bk_heap_ent *h =
        mqws__realloc(&b->a_brk.a, b->heap, b->heap_cap * sizeof(*h), cap * sizeof(*h));
    if (!h)
        return MQWS_ENOMEM;
    b->heap = h;
    b->heap_cap = cap;
    return MQWS_OK;
}

static void heap_set(mqws_broker *b, void *obj, int64_t at) {
    uint32_t *pp = heap_pos(obj);
    if (at == NO_DEADLINE) {
        heap_remove(b, obj);
        return;
    }
    if (*pp == BK_NO_POS) {
        if (b->heap_n >= b->heap_cap)
            return; /* cannot happen: reserved at creation */
        bk_heap_ent e = {at, obj};
        b->heap_n++;
        heap_place(b, b->heap_n - 1, e);
        heap_up(b, b->heap_n - 1);
        return;
    }
    size_t i = *pp;
    int64_t old = b->heap[i].at;
    b->heap[i].at = at;
    if (at < old)
        heap_up(b, i);
    else
        heap_down(b, i);
}

/* ------------------------------------------------------------------------------------------ */
/* Session records by client id */

static uint64_t hash_id(uint64_t seed, const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 32;
    return h;
}

static bk_sess *sess_find(mqws_broker *b, mqws_view id, uint64_t h) {
    for (bk_sess *s = b->buckets[h & (b->nbuckets - 1)]; s; s = s->hnext)
        if (s->hash == h && s->id_len == id.len && (id.len == 0 || !memcmp(s->id, id.ptr, id.len)))
            return s;
    return NULL;
}

static void sess_grow(mqws_broker *b) {
    size_t n = b->nbuckets * 2;
    bk_sess **nb = mqws__alloc(&b->a_brk.a, n * sizeof(*nb));
    if (!nb)
        return; /* longer chains, still correct */
    memset(nb, 0, n * sizeof(*nb));
    for (size_t i = 0; i < b->nbuckets; i++) {
        bk_sess *s = b->buckets[i];
        while (s) {
            bk_sess *next = s->hnext;
            s->hnext = nb[s->hash & (n - 1)];
            nb[s->hash & (n - 1)] = s;
            s = next;
        }
    }
    mqws__free(&b->a_brk.a, b->buckets, b->nbuckets * sizeof(*b->buckets));
    b->buckets = nb;
    b->nbuckets = n;
}

static bk_sess *sess_new(mqws_broker *b, mqws_view id, uint64_t h) {
    bk_sess *s = mqws__alloc(&b->a_sess.a, sizeof(*s) + id.len);
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->kind = BK_KIND_SESS;
    s->hpos = BK_NO_POS;
    s->b = b;
    s->hash = h;
    s->id_len = (uint16_t)id.len;
    if (id.len)
        memcpy(s->id, id.ptr, id.len);
    /* The subscriber handle is created at the first SUBSCRIBE: a client that only publishes
     * costs the index nothing. */
    size_t i = h & (b->nbuckets - 1);
    s->hnext = b->buckets[i];
    b->buckets[i] = s;
    b->nsess++;
    if (b->nsess > b->nbuckets)
        sess_grow(b);
    return s;
}

static void uncongest(mqws_broker *b, bk_sess *t);
static void ovf_flush(mqws_broker *b, bk_sess *t);
static void ovf_clear(mqws_broker *b, bk_sess *t, bk_cong *g);

/* Remove a record: its subscriptions, its hash entry, its offline session. */
static void sess_destroy(mqws_broker *b, bk_sess *s) {
    uncongest(b, s);
    bk_sess **pp = &b->buckets[s->hash & (b->nbuckets - 1)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    b->nsess--;
    mqws_topic_subscriber_free(b->idx, s->sub); /* NULL: no-op */
    heap_remove(b, s);
    if (s->off) {
        mqws_session_free(s->off);
        b->nsess_off--;
    }
    if (s->conn)
        s->conn->sess = NULL;
    mqws__free(&b->a_sess.a, s, sizeof(*s) + s->id_len);
}

static mqws_session *sess_session(const bk_sess *s) {
    if (s->conn)
        return mqws_conn_session(s->conn->conn);
    return s->off;
}

/* ------------------------------------------------------------------------------------------ */
/* Events and output accounting */

static void emit(mqws_broker *b, mqws_broker_event *ev) {
    if (b->hooks.on_event)
        b->hooks.on_event(b->user, ev);
}

static void ev_init(mqws_broker_event *ev, int type, bk_conn *c) {
    memset(ev, 0, sizeof(*ev));
    ev->size = sizeof(*ev);
    ev->type = type;
    if (c) {
        ev->conn = c->conn;
        ev->conn_user = c->user;
        mqws_session *s = mqws_conn_session(c->conn);
        if (s) {
            ev->client_id = mqws_session_client_id(s);
            ev->protocol_level = mqws_session_protocol_level(s);
        }
    }
}

static void global_check(mqws_broker *b) {
    if (!b->global_out_high)
        return;
    mqws_broker_event ev;
    if (!b->gpaused && b->out_total >= b->global_out_high) {
        b->gpaused = 1;
        ev_init(&ev, MQWS_BROKER_EV_PAUSE, NULL);
        emit(b, &ev);
    } else if (b->gpaused && b->out_total <= b->global_out_high / 2) {
        b->gpaused = 0;
        ev_init(&ev, MQWS_BROKER_EV_RESUME, NULL);
        emit(b, &ev);
    }
}

/* A connection is paused (stop reading it) while its own output is over the high watermark,
 * while a subscriber it feeds is over its queue high watermark (blocked_by), and while the
 * broker holds input read from it. PAUSE / RESUME report the changes of the combination. */
static int conn_blocked(const bk_conn *c) {
    /* A connection whose own session is congested is never held: its input carries the
     * acknowledgements that drain that queue (a client publishing to itself, or two clients
     * feeding each other, would otherwise wait for each other forever). */
    return c->blocked_by && !(c->sess && c->sess->cong);
}

static int conn_paused(const bk_conn *c) {
    return mqws_flow_watermark_paused(&c->out) || conn_blocked(c) || c->held_len;
}

static void pause_update(mqws_broker *b, bk_conn *c) {
    int p = conn_paused(c) ? 1 : 0;
    if (p == c->paused)
        return;
    c->paused = (uint8_t)p;
    mqws_broker_event ev;
    ev_init(&ev, p ? MQWS_BROKER_EV_PAUSE : MQWS_BROKER_EV_RESUME, c);
    emit(b, &ev);
}

/* Bring the watermarks in line with what the connection has pending now. */
static void sync_out(mqws_broker *b, bk_conn *c) {
    uint64_t p = mqws_conn_pending_bytes(c->conn);
    int fe;
    if (p == c->out_level)
        return;
    if (p > c->out_level) {
        fe = mqws_flow_watermark_add(&c->out, p - c->out_level);
        b->out_total += p - c->out_level;
    } else {
        fe = mqws_flow_watermark_sub(&c->out, c->out_level - p);
        b->out_total -= c->out_level - p;
    }
    c->out_level = p;
    if (fe != MQWS_FLOW_NONE)
        pause_update(b, c);
    global_check(b);
}

/* The host should look at `c`: output pending, or finished. */
static void mark_dirty(mqws_broker *b, bk_conn *c) {
    sync_out(b, c);
    if (c->in_dirty)
        return;
    if (!mqws_conn_want_write(c->conn) && mqws_conn_want_read(c->conn))
        return;
    c->in_dirty = 1;
    link_push(&b->dirty, &c->dirty);
}

static void touch(mqws_broker *b, bk_conn *c) {
    if (c->in_touch)
        return;
    c->in_touch = 1;
    link_push(&b->touch, &c->touch);
}

/* ------------------------------------------------------------------------------------------ */
/* Backpressure: a subscriber session whose queue (messages waiting for its send window) passes
 * half of either queue limit is "congested"; every connection that routes a QoS 1/2 message to
 * it from then on is paused (blocked_by counts the subscribers it waits for) and its further
 * input is held, until the queue drains to a quarter of the limits. */

static int queue_high(const mqws_session *s) {
    return (s->queue_max_messages && s->q_count >= (s->queue_max_messages + 1u) / 2u) ||
           (s->queue_max_bytes && s->q_bytes >= (s->queue_max_bytes + 1u) / 2u);
}

static int queue_low(const mqws_session *s) {
    return s->q_count <= s->queue_max_messages / 4u && s->q_bytes <= s->queue_max_bytes / 4u;
}

static void touch(mqws_broker *b, bk_conn *c);

/* `t` is over its high watermark: `from` (NULL: no connection to pause) waits for it. */
static void congest(mqws_broker *b, bk_sess *t, bk_conn *from) {
    bk_cong *g = t->cong;
    if (!g) {
        g = mqws__alloc(&b->a_brk.a, sizeof(*g) + 4u * sizeof(bk_conn *));
        if (!g)
            return; /* no backpressure then: the queue limits still bound the queue */
        g->n = 0;
        g->cap = 4;
        g->ovf_head = g->ovf_tail = NULL;
        link_push(&b->congested, &g->link);
        t->cong = g;
        if (t->conn && t->conn->blocked_by)
            touch(b, t->conn); /* no longer held: feed what waits, report RESUME */
    }
    if (!from)
        return;
    for (uint32_t i = g->n; i-- > 0;)
        if (g->blk[i] == from)
            return;
    if (g->n == g->cap) {
        size_t old = sizeof(*g) + g->cap * sizeof(bk_conn *);
        link_del(&g->link);
        bk_cong *ng = mqws__realloc(&b->a_brk.a, g, old, old + g->cap * sizeof(bk_conn *));
        if (ng) {
            g = ng;
            g->cap *= 2;
        }
        link_init(&g->link);
        link_push(&b->congested, &g->link);
        t->cong = g;
        if (!ng)
            return;
    }
    g->blk[g->n++] = from;
    from->ka_skip = 2;
    if (from->blocked_by++ == 0 && conn_blocked(from)) {
        b->backpressure_pauses++;
        pause_update(b, from);
    }
}

/* `t` drained (or went offline, or ends): its blockers may go on. */
static void uncongest(mqws_broker *b, bk_sess *t) {
    bk_cong *g = t->cong;
    if (!g)
        return;
    ovf_clear(b, t, g); /* normally empty: flushed before (the session ends otherwise) */
    t->cong = NULL;
    link_del(&g->link);
    if (t->conn && t->conn->blocked_by)
        touch(b, t->conn); /* its own blockers hold it again */
    for (uint32_t i = 0; i < g->n; i++) {
        bk_conn *p = g->blk[i];
        p->careful = 1; /* small pieces again: the queue is only down to its low watermark */
        if (--p->blocked_by == 0)
            touch(b, p); /* held input is fed and RESUME reported at the end of the call */
    }
    mqws__free(&b->a_brk.a, g, sizeof(*g) + g->cap * sizeof(bk_conn *));
}

/* A connection goes away: no subscriber keeps a pointer to it. */
static void unblock_gone(mqws_broker *b, bk_conn *c) {
    for (bk_link *l = b->congested.next; c->blocked_by && l != &b->congested; l = l->next) {
        bk_cong *g = CONTAINER(l, bk_cong, link);
        for (uint32_t i = 0; i < g->n; i++)
            if (g->blk[i] == c) {
                g->blk[i] = g->blk[--g->n];
                c->blocked_by--;
                break;
            }
    }
    c->blocked_by = 0;
}

/* Feed `len` bytes to `c` in RECV_CHUNK pieces while it is not blocked. Returns the bytes fed
 * (*err: the negative result of mqws_conn_recv, else 0). */
static size_t feed(mqws_broker *b, bk_conn *c, uint8_t *buf, size_t len, int64_t *err) {
    size_t off = 0;
    *err = 0;
    if (c->ka_skip && len && !conn_blocked(c)) {
        /* resumed: the input counts from now (conn_tick did not tick it) */
        mqws_session *s = mqws_conn_session(c->conn);
        if (s)
            mqws_session_set_now(s, b->now);
        c->ka_skip = 0;
    }
    while (off < len && !conn_blocked(c)) {
        size_t n = c->careful || !link_empty(&b->congested) ? RECV_CHUNK_SMALL : RECV_CHUNK;
        c->careful = 0; /* set again by deliveries to a filling queue */
        if (n > len - off)
            n = len - off;
        int64_t rc = mqws_conn_recv(c->conn, buf + off, n);
        if (rc < 0) {
            *err = rc;
            break;
        }
        b->bytes_in += (uint64_t)rc;
        off += (size_t)rc;
        if ((size_t)rc < n) {
            *err = MQWS_ECLOSED; /* closed part way: the rest is not consumed */
            break;
        }
    }
    return off;
}

/* Keep input that could not be fed (the connection is blocked). */
static int hold(mqws_broker *b, bk_conn *c, const uint8_t *p, size_t n) {
    if (!n)
        return MQWS_OK;
    if (n > UINT32_MAX - c->held_len)
        return MQWS_ENOMEM;
    uint32_t need = c->held_len + (uint32_t)n;
    if (need > c->held_cap) {
        uint8_t *h = mqws__realloc(&b->a_sess.a, c->held, c->held_cap, need);
        if (!h)
            return MQWS_ENOMEM;
        c->held = h;
        c->held_cap = need;
    }
    memcpy(c->held + c->held_len, p, n);
    c->held_len = need;
    return MQWS_OK;
}

static void held_free(mqws_broker *b, bk_conn *c) {
    mqws__free(&b->a_sess.a, c->held, c->held_cap);
    c->held = NULL;
    c->held_len = c->held_cap = 0;
}

/* Feed what was held for `c` now that it is no longer blocked. */
static void feed_held(mqws_broker *b, bk_conn *c) {
    int64_t err;
    size_t k = feed(b, c, c->held, c->held_len, &err);
    if (err || !mqws_conn_want_read(c->conn)) {
        held_free(b, c); /* the connection ended: what it sent after is gone with it */
        return;
    }
    if (k == c->held_len) {
        held_free(b, c);
        return;
    }
    memmove(c->held, c->held + k, c->held_len - k);
    c->held_len -= (uint32_t)k;
}

/* Tick a connection to the broker's time and file its next deadline. Callbacks may run. */
static void conn_tick(mqws_broker *b, bk_conn *c) {
    /* Keepalive of a connection the host does not read because of backpressure: its packets
     * (PINGREQ included) wait unread, so its session is not ticked while it is blocked or has
     * held input, nor once more after it resumes (ka_skip 2 -> 1): the host reads it in that
     * pass and the session's clock is set just before that input. A second second without
     * input from it ticks it normally. */
    if (c->ka_skip) {
        int hold_on = conn_blocked(c) || c->held_len;
        if (hold_on || c->ka_skip == 2) {
            if (!hold_on)
                c->ka_skip = 1;
            heap_set(b, c, b->now + 1000);
            return;
        }
        c->ka_skip = 0;
    }
    int64_t t = mqws_conn_tick(c->conn, b->now);
    if (t <= b->now && t != NO_DEADLINE)
        t = b->now + 1;
    heap_set(b, c, t);
}

static void off_tick(mqws_broker *b, bk_sess *s) {
    int64_t t = mqws_session_tick(s->off, b->now);
    if (t <= b->now && t != NO_DEADLINE)
        t = b->now + 1;
    heap_set(b, s, s->dead ? NO_DEADLINE : t);
}

/* Re-tick connections whose deadlines may have moved, and report them to the host. */
static void process_touched(mqws_broker *b) {
    while (!link_empty(&b->touch)) {
        bk_conn *c = CONTAINER(b->touch.next, bk_conn, touch);
        link_del(&c->touch);
        c->in_touch = 0;
        if (c->defer_close) {
            c->defer_close = 0;
            (void)mqws_conn_close(c->conn, c->defer_reason);
        }
        if (c->sess && c->sess->cong) {
            mqws_session *s = mqws_conn_session(c->conn);
            ovf_flush(b, c->sess);
            if (!s || !mqws_session_want_read(s) || (queue_low(s) && !c->sess->cong->ovf_head))
                uncongest(b, c->sess);
        }
        if (c->held_len && !conn_blocked(c)) {
            conn_tick(b, c); /* the session's clock is current before its input (feed() sets
                                it when the keepalive was suspended) */
            feed_held(b, c);
        }
        conn_tick(b, c);
        mark_dirty(b, c);
        pause_update(b, c);
    }
}

static void process_dead(mqws_broker *b) {
    while (b->dead) {
        bk_sess *s = b->dead;
        b->dead = s->dead_next;
        sess_destroy(b, s);
    }
}

/* Entry points may be called from inside hooks (mqws_broker_disconnect, _auth_answer, _publish
 * from on_event or authenticate). Only the outermost call ticks connections and processes the
 * touched and dead lists, so no session is ever ticked from inside one of its own callbacks. */
static int enter(mqws_broker *b) { return b->depth++ == 0; }

static void leave(mqws_broker *b, int outer) {
    if (outer) {
        process_dead(b);
        process_touched(b);
    }
    b->depth--;
}

static void set_now(mqws_broker *b, int64_t now) {
    if (!b->have_time) {
        b->have_time = 1;
        b->start = now;
        b->next_sys = b->sys_interval_ms ? now + b->sys_interval_ms : NO_DEADLINE;
    }
    if (now > b->now)
        b->now = now;
}

/* ------------------------------------------------------------------------------------------ */
/* Pass-through properties in wire form, for the retained store (§3.3.2.3: payload format,
 * content type, response topic, correlation data, user properties in order). */

static size_t put_str(uint8_t *d, uint8_t id, mqws_view v) {
    if (d) {
        size_t k = 0;
        if (id)
            d[k++] = id;
        mqws__store16(d + k, (uint16_t)v.len);
        if (v.len)
            memcpy(d + k + 2, v.ptr, v.len);
    }
    return (id ? 1u : 0u) + 2u + v.len;
}

/* Writes (d non-NULL) or sizes (d NULL) the block. */
static size_t passprops(const mqws_props *p, uint8_t *d) {
    size_t n = 0;
    if (p->present & MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR) {
        if (d) {
            d[0] = MQWS_PROP_PAYLOAD_FORMAT_INDICATOR;
            d[1] = p->payload_format;
        }
        n += 2;
    }
    if (p->present & MQWS_PROPF_CONTENT_TYPE)
        n += put_str(d ? d + n : NULL, MQWS_PROP_CONTENT_TYPE, p->content_type);
    if (p->present & MQWS_PROPF_RESPONSE_TOPIC)
        n += put_str(d ? d + n : NULL, MQWS_PROP_RESPONSE_TOPIC, p->response_topic);
    if (p->present & MQWS_PROPF_CORRELATION_DATA)
        n += put_str(d ? d + n : NULL, MQWS_PROP_CORRELATION_DATA, p->correlation_data);
    if (p->user_props && p->user_prop_count) {
        for (uint32_t i = 0; i < p->user_prop_count; i++) {
            n += put_str(d ? d + n : NULL, MQWS_PROP_USER_PROPERTY, p->user_props[i].key);
            n += put_str(d ? d + n : NULL, 0, p->user_props[i].value);
        }
    } else if ((p->present & MQWS_PROPF_USER_PROPERTY) && p->raw.len) {
        mqws_prop_iter it;
        mqws_props_iter_init(p, &it);
        mqws_view k, v;
        while (mqws_props_next_user(&it, &k, &v)) {
            n += put_str(d ? d + n : NULL, MQWS_PROP_USER_PROPERTY, k);
            n += put_str(d ? d + n : NULL, 0, v);
        }
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Routing */

static int grow_scratch(mqws_broker *b, size_t nd, size_t ni) {
    if (nd > b->dv_cap) {
        size_t cap = nd < 16 ? 16 : nd + nd / 2;
        mqws_topic_delivery *p =
            mqws__realloc(&b->a_brk.a, b->dv, b->dv_cap * sizeof(*p), cap * sizeof(*p));
        if (!p)
            return MQWS_ENOMEM;
        b->dv = p;
        b->dv_cap = cap;
    }
    if (ni > b->ids_cap) {
        size_t cap = ni < 16 ? 16 : ni + ni / 2;
        mqws_topic_sub_id *p =
            mqws__realloc(&b->a_brk.a, b->ids, b->ids_cap * sizeof(*p), cap * sizeof(*p));
        if (!p)
            return MQWS_ENOMEM;
        b->ids = p;
        b->ids_cap = cap;
    }
    return MQWS_OK;
}

static void drop_event_of(mqws_broker *b, bk_conn *c, const bk_sess *t, const mqws_packet *p,
                          uint8_t qos, int err) {
    b->dropped++;
    if (!b->hooks.on_event)
        return;
    mqws_broker_event ev;
    ev_init(&ev, MQWS_BROKER_EV_DROP, c);
    if (!c && t) { /* an offline session: its client id */
        ev.client_id.ptr = t->id;
        ev.client_id.len = t->id_len;
    }
    ev.topic = p->topic;
    ev.qos = qos;
    ev.error = err;
    ev.bytes = p->payload.len;
    emit(b, &ev);
}

static void drop_event(mqws_broker *b, bk_conn *c, const mqws_packet *p, uint8_t qos, int err) {
    drop_event_of(b, c, NULL, p, qos, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Overflow of a congested subscriber (see bk_ovf) */

static size_t ovf_size(const bk_ovf *o) {
    return sizeof(*o) + o->topic_len + o->props_len + 4u * o->nids;
}

/* Keep `q` (qos, retain, ids as delivered) for `t`. MQWS_OK or MQWS_ENOMEM. */
static int ovf_add(mqws_broker *b, bk_sess *t, const mqws_packet *q, uint8_t qos, uint8_t retain,
                   const uint32_t *ids, uint32_t nids, mqws_slice *payload) {
    bk_cong *g = t->cong;
    if (!g || q->topic.len > 65535u)
        return MQWS_ENOMEM;
    size_t pl = passprops(&q->props, NULL);
    size_t n = sizeof(bk_ovf) + q->topic.len + pl + 4u * nids;
    bk_ovf *o = mqws__alloc(&b->a_sess.a, n);
    if (!o)
        return MQWS_ENOMEM;
    memset(o, 0, sizeof(*o));
    o->payload = mqws_slice_ref(payload);
    o->expire_at = (q->props.present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL)
                       ? b->now + (int64_t)q->props.message_expiry * 1000
                       : NO_DEADLINE;
    o->props_len = (uint32_t)pl;
    o->nids = nids;
    o->topic_len = (uint16_t)q->topic.len;
    o->qos = qos;
    o->retain = retain;
    memcpy(o->data, q->topic.ptr, q->topic.len);
    passprops(&q->props, o->data + o->topic_len);
    if (nids)
        memcpy(o->data + o->topic_len + pl, ids, 4u * nids);
    if (g->ovf_tail)
        g->ovf_tail->next = o;
    else
        g->ovf_head = o;
    g->ovf_tail = o;
    return MQWS_OK;
}

static void ovf_packet(const mqws_broker *b, const bk_ovf *o, mqws_packet *p, uint32_t *ids) {
    mqws_packet_init(p, MQWS_PKT_PUBLISH);
    p->topic.ptr = o->data;
    p->topic.len = o->topic_len;
    p->payload = mqws_slice_view(o->payload);
    p->qos = o->qos;
    p->retain = o->retain;
    mqws__props_from_block(o->data + o->topic_len, o->props_len, &p->props);
    if (o->expire_at != NO_DEADLINE) {
        int64_t left = o->expire_at - b->now;
        p->props.message_expiry = left > 0 ? (uint32_t)((left + 999) / 1000) : 0;
        p->props.present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    }
    if (o->nids) {
        memcpy(ids, o->data + o->topic_len + o->props_len, 4u * o->nids);
        p->props.sub_ids = ids;
        p->props.sub_id_count = o->nids;
        p->props.present |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
    }
}

static void ovf_pop(mqws_broker *b, bk_cong *g) {
    bk_ovf *o = g->ovf_head;
    g->ovf_head = o->next;
    if (!g->ovf_head)
        g->ovf_tail = NULL;
    mqws_slice_unref(o->payload);
    mqws__free(&b->a_sess.a, o, ovf_size(o));
}

/* Hand what waits to the session, in order, while its queue takes it. */
static void ovf_flush(mqws_broker *b, bk_sess *t) {
    bk_cong *g = t->cong;
    mqws_session *ts = sess_session(t);
    if (!g || !g->ovf_head)
        return;
    bk_conn *tc = t->conn;
    int online = ts && tc && mqws_session_want_read(ts);
    while (g->ovf_head && ts) {
        bk_ovf *o = g->ovf_head;
        mqws_packet p;
        uint32_t ids[MAX_IDS];
        ovf_packet(b, o, &p, ids);
        int rc;
        if (o->expire_at != NO_DEADLINE && o->expire_at <= b->now) {
            rc = MQWS_ECLOSED; /* expired while waiting [MQTT-3.3.2-5] */
        } else {
            if (o->expire_at != NO_DEADLINE)
                mqws_session_set_now(ts, b->now);
            rc = mqws_session_publish(ts, &p, o->payload, NULL);
        }
        if (rc == MQWS_ELIMIT && online)
            break; /* still full: later */
        if (rc == MQWS_OK) {
            b->msgs_out++;
        } else {
            if (rc == MQWS_ELIMIT)
                b->dropped_offline++;
            drop_event_of(b, tc, t, &p, o->qos, rc);
        }
        ovf_pop(b, g);
    }
    if (tc)
        mark_dirty(b, tc);
}

/* Forget what waits (the session ends, or the broker is freed): counted as dropped. */
static void ovf_clear(mqws_broker *b, bk_sess *t, bk_cong *g) {
    while (g->ovf_head) {
        if (t) {
            mqws_packet p;
            uint32_t ids[MAX_IDS];
            ovf_packet(b, g->ovf_head, &p, ids);
            drop_event_of(b, t->conn, t, &p, g->ovf_head->qos, MQWS_ECLOSED);
        }
        ovf_pop(b, g);
    }
}

/* Queue one message on one session: QoS downgraded to the granted QoS, retain as the
 * subscription says, the subscription identifiers of every matching subscription. `q` is the
 * caller's template (see packet_template); its qos, retain and identifiers are overwritten.
 * Returns 1 if queued, 0 if not (dropped or offline QoS 0), MQWS_ENOMEM. `*slice` is created
 * on first use and shared by every delivery of the message. */
/* QoS 0 PUBLISH headers of the message being routed, encoded once per wire variant
 * (3.1/3.1.1 or 5.0, retain 0 or 1) and shared by every subscriber that takes that variant:
 * a subscriber only copies a few dozen header bytes and references the payload. Deliveries that
 * need their own header (5.0 with subscription identifiers, QoS 1/2, or a session with messages
 * waiting) go through mqws_session_publish(). */
#define HDR_MAX 384u
typedef struct hdr_cache {
    uint8_t state[4]; /* 0 not tried, 1 ready, 2 not available (too big, invalid) */
    uint16_t len[4];
    uint8_t buf[4][HDR_MAX];
} hdr_cache;

static const uint8_t *hdr_variant(hdr_cache *hc, mqws_packet *q, int v5, uint8_t retain,
                                  size_t *len) {
    int k = (v5 ? 2 : 0) + (retain ? 1 : 0);
    if (hc->state[k] == 0) {
        q->qos = 0;
        q->retain = retain;
        q->props.sub_ids = NULL;
        q->props.sub_id_count = 0;
        q->props.present &= ~MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
        mqws_iovec iov[2];
        int rc =
            mqws_encode_publish_iov(q, v5 ? MQWS_MQTT_5 : MQWS_MQTT_311, hc->buf[k], HDR_MAX, iov);
        hc->state[k] = rc == MQWS_OK ? 1 : 2;
        hc->len[k] = rc == MQWS_OK ? (uint16_t)iov[0].len : 0;
    }
    *len = hc->len[k];
    return hc->state[k] == 1 ? hc->buf[k] : NULL;
}

/* A copy of `p` to hand to the sessions: no DUP, no packet id, no alias, no identifiers. */
static void packet_template(const mqws_packet *p, mqws_packet *q) {
    *q = *p;
    q->dup = 0;
    q->packet_id = 0;
    q->props.present &= ~(MQWS_PROPF_SUBSCRIPTION_IDENTIFIER | MQWS_PROPF_TOPIC_ALIAS);
    q->props.sub_ids = NULL;
    q->props.sub_id_count = 0;
}

static int deliver(mqws_broker *b, bk_sess *t, mqws_packet *q, uint8_t qos, uint8_t retain,
                   const uint32_t *ids, uint32_t nids, mqws_slice **slice, hdr_cache *hc) {
    mqws_session *ts = sess_session(t);
    if (!ts)
        return 0;
    bk_conn *tc = t->conn;
    /* Messages wait in the overflow of a congested subscriber: later ones queue behind them,
     * as long as their publisher is paused after its current input piece (the overflow stays
     * bounded); a publisher that cannot be paused goes to the session directly. */
    if (qos && tc && t->cong && t->cong->ovf_head && b->route_from) {
        congest(b, t, b->route_from);
        if (conn_blocked(b->route_from)) {
            if (!*slice) {
                *slice = mqws_slice_new(&b->a_sess.a, q->payload.ptr, q->payload.len);
                if (!*slice)
                    return MQWS_ENOMEM;
            }
            if (ovf_add(b, t, q, qos, retain, ids, nids, *slice) == MQWS_OK) {
                b->msgs_out++;
                return 1;
            }
        }
    }
    /* Slow consumer policy: QoS 0 is dropped over the output high watermark. */
    if (qos == 0 && tc && b->out_high && mqws_conn_pending_bytes(tc->conn) >= b->out_high) {
        drop_event(b, tc, q, qos, MQWS_ELIMIT);
        return 0;
    }
    if (!*slice) {
        *slice = mqws_slice_new(&b->a_sess.a, q->payload.ptr, q->payload.len);
        if (!*slice)
            return MQWS_ENOMEM;
    }
    /* A session's clock only moves when it is ticked and an idle subscriber's may be old;
     * the Message Expiry of what is queued on it counts from that clock. */
    if (q->props.present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL)
        mqws_session_set_now(ts, b->now);
    int rc = MQWS_ESTATE;
    if (hc && qos == 0) {
        int v5 = mqws_session_protocol_level(ts) == MQWS_MQTT_5;
        size_t hl = 0;
        const uint8_t *h = !v5 || !nids ? hdr_variant(hc, q, v5, retain, &hl) : NULL;
        if (h) {
            mqws_view hv = {h, hl};
            rc = mqws_session_publish_encoded(ts, hv, *slice);
        }
    }
    if (rc == MQWS_ESTATE) {
        q->qos = qos;
        q->retain = retain;
        q->props.sub_ids = nids ? ids : NULL;
        q->props.sub_id_count = nids;
        if (nids)
            q->props.present |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
        else
            q->props.present &= ~MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
        rc = mqws_session_publish(ts, q, *slice, NULL);
    }
    if (tc)
        mark_dirty(b, tc);
    if (rc == MQWS_OK) {
        b->msgs_out++;
        /* Backpressure for an online subscriber: over the high watermark of its queue, the
         * connection feeding it QoS 1/2 is paused. */
        if (qos && tc && b->route_from && !queue_low(ts)) {
            b->route_from->careful = 1;
            if ((t->cong || queue_high(ts)) && mqws_session_want_read(ts))
                congest(b, t, b->route_from);
        }
        return 1;
    }
    if (rc == MQWS_ECLOSED && qos == 0)
        return 0; /* QoS 0 for an offline session: not kept (session policy) */
    if (rc == MQWS_ELIMIT && qos && tc && b->route_from && mqws_session_want_read(ts)) {
        /* The hard limit reached before the publishers stopped: kept in the overflow (bounded:
         * the publisher is paused after its current input piece). */
        congest(b, t, b->route_from);
        if (conn_blocked(b->route_from) &&
            ovf_add(b, t, q, qos, retain, ids, nids, *slice) == MQWS_OK) {
            b->msgs_out++;
            return 1;
        }
    }
    if (rc == MQWS_ELIMIT && qos) {
        if (tc && mqws_session_want_read(ts)) {
            b->dropped_online++; /* hard limit reached despite the backpressure */
            b->route_lost++;
        } else {
            b->dropped_offline++;
        }
    }
    drop_event_of(b, tc, t, q, qos, rc);
    return rc == MQWS_ENOMEM ? MQWS_ENOMEM : 0;
}

/* Route `p` (topic, payload, qos, retain, props) to every matching subscription. Returns the
 * deliveries queued, or MQWS_E*. */
static int route(mqws_broker *b, bk_sess *from, mqws_view client_id, const mqws_packet *p) {
    if (b->routing)
        return MQWS_ESTATE;
    mqws_topic_publish tp;
    tp.publisher = from ? from->sub : NULL;
    tp.client_id = client_id;
    size_t nd = 0, ni = 0;
    int rc;
    for (;;) {
        rc = mqws_topic_match_aggregate(b->idx, p->topic.ptr, p->topic.len, &tp, b->dv, b->dv_cap,
                                        &nd, b->ids, b->ids_cap, &ni);
        if (rc != MQWS_ENOSPC)
            break;
        if (grow_scratch(b, nd, ni) < 0)
            return MQWS_ENOMEM;
    }
    if (rc < 0)
        return rc;
    b->routing = 1;
    mqws_packet q;
    packet_template(p, &q);
    hdr_cache hc;
    memset(hc.state, 0, sizeof(hc.state));
    mqws_slice *slice = NULL;
    int count = 0, err = 0;
    for (size_t i = 0; i < nd; i++) {
        const mqws_topic_delivery *d = &b->dv[i];
        uint32_t ids[MAX_IDS], n = 0;
        for (uint32_t k = d->first_id; k != MQWS_TOPIC_NO_ID && n < MAX_IDS; k = b->ids[k].next)
            if (b->ids[k].id)
                ids[n++] = b->ids[k].id;
        uint8_t qos = p->qos < d->max_qos ? p->qos : d->max_qos; /* [MQTT-3.8.4-8] */
        /* [MQTT-3.3.1-12] [MQTT-3.3.1-13]: the retain flag of a forwarded message */
        uint8_t retain = d->retain_as_published ? p->retain : 0;
        rc = deliver(b, d->user, &q, qos, retain, ids, n, &slice, &hc);
        if (rc > 0)
            count++;
        else if (rc < 0)
            err = rc;
    }
    mqws_slice_unref(slice);
    b->routing = 0;
    return err && !count ? err : count;
}

static void retain_store(mqws_broker *b, const mqws_packet *p) {
    uint8_t stackbuf[256];
    mqws_topic_retain r;
    memset(&r, 0, sizeof(r));
    r.payload = p->payload;
    r.qos = p->qos;
    if ((p->props.present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL) && p->payload.len)
        r.user = (uint64_t)(b->now + (int64_t)p->props.message_expiry * 1000) | 1u << 0;
    size_t n = passprops(&p->props, NULL);
    uint8_t *blk = n <= sizeof(stackbuf) ? stackbuf : mqws__alloc(&b->a_brk.a, n);
    if (!blk) {
        b->dropped++;
        return;
    }
    passprops(&p->props, blk);
    r.properties.ptr = blk;
    r.properties.len = n;
    /* [MQTT-3.3.1-5] store, [MQTT-3.3.1-6] [MQTT-3.3.1-7] an empty payload deletes */
    int rc = mqws_topic_store_set(b->store, p->topic.ptr, p->topic.len, &r);
    if (rc < 0)
        b->dropped++;
    if (blk != stackbuf)
        mqws__free(&b->a_brk.a, blk, n);
}

/* A message from a client, a will or the host: retain, route, report. */
static int publish_in(mqws_broker *b, bk_conn *c, bk_sess *from, mqws_view client_id,
                      const mqws_packet *p) {
    b->msgs_in++;
    if (p->retain)
        retain_store(b, p);
    b->route_from = c;
    b->route_lost = 0;
    int n = route(b, from, client_id, p);
    b->route_from = NULL;
    if (b->hooks.on_event) {
        mqws_broker_event ev;
        ev_init(&ev, MQWS_BROKER_EV_PUBLISH, c);
        if (!c)
            ev.client_id = client_id;
        ev.topic = p->topic;
        ev.qos = p->qos;
        ev.retain = p->retain;
        ev.count = n > 0 ? (uint32_t)n : 0;
        ev.error = n < 0 ? n : 0;
        ev.bytes = p->payload.len;
        emit(b, &ev);
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Wills at server shutdown: the broker keeps a copy of a connected client's will (the session
 * has no call to publish it without closing), so mqws_broker_close_all() can publish every will
 * before the first DISCONNECT 0x8B is queued. */

static size_t will_size(const bk_will *w) {
    return sizeof(*w) + w->topic_len + w->payload_len + w->props_len;
}

static void will_free(mqws_broker *b, bk_conn *c) {
    if (c->will) {
        mqws__free(&b->a_sess.a, c->will, will_size(c->will));
        c->will = NULL;
    }
}

/* Copy the will of CONNECT `p` (will_flag set). Out of memory: no copy (the session's own
 * will rules still apply). */
static void will_copy(mqws_broker *b, bk_conn *c, const mqws_packet *p) {
    will_free(b, c);
    size_t pl = p->protocol_level == MQWS_MQTT_5 ? passprops(&p->will_props, NULL) : 0;
    if (p->will_topic.len > 65535u || p->will_payload.len > UINT32_MAX || pl > UINT32_MAX)
        return;
    size_t n = sizeof(bk_will) + p->will_topic.len + p->will_payload.len + pl;
    bk_will *w = mqws__alloc(&b->a_sess.a, n);
    if (!w)
        return;
    memset(w, 0, sizeof(*w));
    w->topic_len = (uint16_t)p->will_topic.len;
    w->payload_len = (uint32_t)p->will_payload.len;
    w->props_len = (uint32_t)pl;
    w->qos = p->will_qos;
    w->retain = p->will_retain;
    if (p->protocol_level == MQWS_MQTT_5 &&
        (p->will_props.present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL)) {
        w->has_expiry = 1;
        w->expiry = p->will_props.message_expiry;
    }
    memcpy(w->data, p->will_topic.ptr, w->topic_len);
    if (w->payload_len)
        memcpy(w->data + w->topic_len, p->will_payload.ptr, w->payload_len);
    if (pl)
        passprops(&p->will_props, w->data + w->topic_len + w->payload_len);
    c->will = w;
}

static void will_event(mqws_broker *b, bk_conn *c, mqws_view id, const mqws_packet *will) {
    if (!b->hooks.on_event)
        return;
    mqws_broker_event ev;
    ev_init(&ev, MQWS_BROKER_EV_WILL, c);
    ev.client_id = id;
    ev.topic = will->topic;
    ev.qos = will->qos;
    ev.retain = will->retain;
    ev.bytes = will->payload.len;
    emit(b, &ev);
}

/* Publish `c`'s will now (server shutdown) and make sure the session does not publish it
 * again when it closes or, delayed, later. */
static void will_publish_now(mqws_broker *b, bk_conn *c) {
    bk_will *w = c->will;
    mqws_session *s = mqws_conn_session(c->conn);
    if (!w || !s)
        return;
    c->will = NULL;
    c->will_sent = 1;
    if (c->sess)
        c->sess->will_sent = 1;
    mqws_packet p;
    mqws__stored_publish(&p, w->data, w->topic_len, w->payload_len, w->props_len, w->qos,
                         w->retain);
    if (w->has_expiry) {
        p.props.message_expiry = w->expiry;
        p.props.present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    }
    mqws_view id = mqws_session_client_id(s);
    will_event(b, c, id, &p);
    b->wills_at_close++;
    (void)publish_in(b, NULL, c->sess, id, &p);
    mqws__free(&b->a_sess.a, w, will_size(w));
}

/* ------------------------------------------------------------------------------------------ */
/* Retained messages on subscribe */

#define RET_EXPIRED_MAX 16u

typedef struct ret_ctx {
    mqws_broker *b;
    bk_sess *t;
    uint8_t granted;
    uint32_t sub_id;
    uint32_t n_expired;
    const mqws_topic_msg *expired[RET_EXPIRED_MAX]; /* referenced, deleted after the match */
} ret_ctx;

static void ret_release(void *ud, const void *data, size_t len) {
    (void)data;
    (void)len;
    mqws_topic_msg_unref(ud);
}

static int ret_one(void *vctx, const mqws_topic_msg *msg) {
    ret_ctx *x = vctx;
    mqws_broker *b = x->b;
    mqws_topic_msg_info info;
    mqws_topic_msg_get(msg, &info);
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic = info.topic;
    p.payload = info.payload;
    mqws__props_from_block(info.properties.ptr, info.properties.len, &p.props);
    if (info.user) {
        int64_t at = (int64_t)(info.user & ~(uint64_t)1);
        int64_t left = at - b->now;
        if (left <= 0) {
            /* Expired: not delivered [MQTT-3.3.2-5], and removed once the walk is over (the
             * store cannot change during it). */
            if (x->n_expired < RET_EXPIRED_MAX) {
                mqws_topic_msg_ref(msg);
                x->expired[x->n_expired++] = msg;
            }
            return 0;
        }
        p.props.message_expiry = (uint32_t)((left + 999) / 1000);
        p.props.present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
    }
    /* The payload is the store's own bytes: the slice holds a reference to the message. */
    mqws_topic_msg_ref(msg);
    mqws_slice *sl = mqws_slice_wrap(&b->a_sess.a, info.payload.ptr, info.payload.len, ret_release,
                                     (void *)(uintptr_t)msg);
    if (!sl) {
        mqws_topic_msg_unref(msg);
        b->dropped++;
        return 0;
    }
    uint8_t qos = info.qos < x->granted ? info.qos : x->granted;
    uint32_t ids[1] = {x->sub_id};
    /* 3.1.1 [MQTT-3.3.1-8], 5.0 §3.3.1.3: retained messages sent on subscribe carry retain 1 */
    (void)deliver(b, x->t, &p, qos, 1, ids, x->sub_id ? 1u : 0u, &sl, NULL);
    mqws_slice_unref(sl);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Connection admission and binding */

static bk_conn *conn_of_user(void *user) {
    return user && *(uint32_t *)user == BK_KIND_CONN ? user : NULL;
}

/* The session record behind a session's user pointer (NULL for a connection without one, or
 * for a session being ended). */
static bk_sess *sess_of_user(void *user) {
    uint32_t k = *(uint32_t *)user;
    if (k == BK_KIND_CONN)
        return ((bk_conn *)user)->sess;
    return k == BK_KIND_SESS ? user : NULL;
}

static mqws_broker *broker_of_user(void *user) {
    uint32_t k = *(uint32_t *)user;
    if (k == BK_KIND_CONN)
        return ((bk_conn *)user)->b;
    if (k == BK_KIND_SESS)
        return ((bk_sess *)user)->b;
    return ((bk_gone *)user)->b;
}

static void refuse(mqws_broker *b, bk_conn *c, uint8_t reason, const mqws_props *props) {
    mqws_session *s = mqws_conn_session(c->conn);
    b->refused++;
    c->auth = 0;
    will_free(b, c);
    if (b->hooks.on_event) {
        mqws_broker_event ev;
        ev_init(&ev, MQWS_BROKER_EV_REFUSED, c);
        ev.reason = reason;
        emit(b, &ev);
    }
    (void)mqws_session_reject(s, reason < 0x80 ? MQWS_RC_UNSPECIFIED_ERROR : reason, props);
    touch(b, c);
}

/* End a session now: its will (if still pending) is published, its state dropped. Used for a
 * clean-start takeover, where the old session ends [MQTT-3.1.2-4]. */
static void end_session(mqws_session *s) {
    if (mqws_session_want_read(s))
        (void)mqws_session_disconnect(s, MQWS_RC_SESSION_TAKEN_OVER, NULL);
    /* A closed session asked for a time past every deadline fires its will and expires. */
    (void)mqws_session_tick(s, NO_DEADLINE / 4);
}

static void bind_and_accept(mqws_broker *b, bk_conn *c, const mqws_props *props) {
    mqws_session *s = mqws_conn_session(c->conn);
    c->auth = 0;
    mqws_view id = mqws_session_client_id(s);
    uint64_t h = hash_id(b->seed, id.ptr, id.len);
    bk_sess *bs = sess_find(b, id, h);
    int present = 0;
    if (!bs) {
        if (b->max_sessions && b->nsess >= b->max_sessions) {
            refuse(b, c, MQWS_RC_QUOTA_EXCEEDED, NULL);
            return;
        }
        bs = sess_new(b, id, h);
        if (!bs) {
            refuse(b, c, MQWS_RC_SERVER_UNAVAILABLE, NULL);
            return;
        }
    } else {
        mqws_session *olds = NULL;
        bk_conn *oldc = bs->conn;
        int offline = 0;
        if (oldc) {
            olds = mqws_conn_session(oldc->conn);
            oldc->sess = NULL;
            bs->conn = NULL;
            if (b->hooks.on_event && mqws_session_want_read(olds)) {
                mqws_broker_event ev;
                ev_init(&ev, MQWS_BROKER_EV_TAKEOVER, oldc);
                emit(b, &ev);
            }
        } else if (bs->off) {
            olds = bs->off;
            bs->off = NULL;
            offline = 1;
            b->nsess_off--;
            heap_remove(b, bs);
            /* Its callbacks from here on (a will at its end) must not reach the record, which
             * the new connection now owns. */
            mqws_session_set_user(olds, &b->gone);
        }
        if (olds) {
            if (!c->clean_start) {
                /* [MQTT-3.1.4-3] the old connection is closed (5.0: DISCONNECT 0x8E) and the
                 * session state moves to the new one [MQTT-3.1.2-5] */
                present = mqws_session_takeover(s, olds) == MQWS_OK;
            } else {
                end_session(olds);
            }
            if (offline)
                mqws_session_free(olds);
            else
                touch(b, oldc);
        }
        if (!present)
            if (bs->sub) /* [MQTT-3.1.2-4] */
                (void)mqws_topic_unsubscribe_all(b->idx, bs->sub);
    }
    bs->conn = c;
    bs->will_sent = 0;
    c->sess = bs;
    /* (MQTT 3.1 has no Session Present flag: the session resumes and writes 0 on the wire.) */
    int rc = mqws_session_accept(s, present, props);
    if (rc == MQWS_OK) {
        c->connected = 1;
        b->nconnected++;
        if (c->admitted == 1) {
            (void)mqws_flow_admission_established(&b->adm);
            c->admitted = 2;
        }
        if (b->hooks.on_event) {
            mqws_broker_event ev;
            ev_init(&ev, MQWS_BROKER_EV_CONNECT, c);
            ev.flag = (uint8_t)present;
            emit(b, &ev);
        }
    }
    touch(b, c);
}

static void auth_result(mqws_broker *b, bk_conn *c, int r, const mqws_props *props,
                        const mqws_packet *auth_pkt) {
    mqws_session *s = mqws_conn_session(c->conn);
    int reauth = mqws_session_state(s) == MQWS_SESSION_CONNECTED;
    if (r == MQWS_BROKER_AUTH_ASYNC) {
        c->auth = (uint8_t)(reauth ? 2 : 1);
        return;
    }
    c->auth = 0;
    if (reauth) {
        if (r == MQWS_BROKER_AUTH_OK) {
            mqws_props pr;
            if (props)
                pr = *props;
            else
                mqws_props_init(&pr);
            if (!(pr.present & MQWS_PROPF_AUTHENTICATION_METHOD) && auth_pkt) {
                pr.auth_method = auth_pkt->props.auth_method;
                pr.present |= MQWS_PROPF_AUTHENTICATION_METHOD;
            }
            if (mqws_session_auth(s, 0x00, &pr) < 0)
                (void)mqws_session_disconnect(s, MQWS_RC_NOT_AUTHORIZED, NULL);
        } else {
            (void)mqws_session_disconnect(
                s, r >= 0x80 && r <= 0xFF ? (uint8_t)r : MQWS_RC_NOT_AUTHORIZED, NULL);
        }
        touch(b, c);
        return;
    }
    if (r == MQWS_BROKER_AUTH_OK)
        bind_and_accept(b, c, props);
    else
        refuse(b, c, r >= 0x80 && r <= 0xFF ? (uint8_t)r : MQWS_RC_NOT_AUTHORIZED, props);
}

/* ------------------------------------------------------------------------------------------ */
/* Session callbacks */

static void cb_connect(mqws_session *s, const mqws_packet *p, void *user) {
    bk_conn *c = conn_of_user(user);
    if (!c)
        return;
    mqws_broker *b = c->b;
    if (b->closing) {
        refuse(b, c, MQWS_RC_SERVER_UNAVAILABLE, NULL);
        return;
    }
    if (c->refuse) {
        refuse(b, c, c->refuse, NULL);
        return;
    }
    c->clean_start = p->clean_start;
    will_free(b, c);
    if (p->will_flag && b->hooks.authorize) {
        int r = b->hooks.authorize(b->user, c->conn, c->user, MQWS_BROKER_ACL_PUBLISH,
                                   mqws_session_client_id(s), p->will_topic, p->will_qos,
                                   p->will_retain);
        if (r) {
            refuse(b, c, r >= 0x80 && r <= 0xFF ? (uint8_t)r : MQWS_RC_NOT_AUTHORIZED, NULL);
            return;
        }
    }
    if (p->will_flag)
        will_copy(b, c, p);
    int r;
    if (b->hooks.authenticate)
        r = b->hooks.authenticate(b->user, c->conn, c->user, p);
    else if (p->protocol_level == MQWS_MQTT_5 &&
             (p->props.present & MQWS_PROPF_AUTHENTICATION_METHOD))
        r = MQWS_RC_BAD_AUTHENTICATION_METHOD;
    else
        r = MQWS_BROKER_AUTH_OK;
    auth_result(b, c, r, NULL, NULL);
}

static void cb_auth(mqws_session *s, const mqws_packet *p, void *user) {
    bk_conn *c = conn_of_user(user);
    if (!c)
        return;
    mqws_broker *b = c->b;
    if (!b->hooks.authenticate) {
        (void)mqws_session_disconnect(s, MQWS_RC_BAD_AUTHENTICATION_METHOD, NULL);
        return;
    }
    int r = b->hooks.authenticate(b->user, c->conn, c->user, p);
    auth_result(b, c, r, NULL, p);
}

static int cb_publish(mqws_session *s, const mqws_packet *p, void *user) {
    bk_conn *c = conn_of_user(user);
    if (!c || !c->sess)
        return 0;
    mqws_broker *b = c->b;
    int v5 = mqws_session_protocol_level(s) == MQWS_MQTT_5;
    /* Rate limits: per connection, then the whole broker. */
    int limited = b->client_msg_rate && mqws_flow_bucket_take(&c->rate, 1, b->now) != 0;
    if (!limited && b->global_rate_on)
        limited = mqws_flow_bucket_take(&b->global_rate, 1, b->now) != 0;
    if (limited) {
        b->rate_limited++;
        drop_event(b, c, p, p->qos, MQWS_ELIMIT);
        if (b->rate_policy == MQWS_BROKER_RATE_DISCONNECT) {
            (void)mqws_session_disconnect(s, MQWS_RC_MESSAGE_RATE_TOO_HIGH, NULL);
            return 0;
        }
        return v5 && p->qos ? MQWS_RC_QUOTA_EXCEEDED : 0;
    }
    mqws_view id = mqws_session_client_id(s);
    /* $SYS/ belongs to the broker: clients do not publish there (MQTT 5 §4.7.2 says a server
     * SHOULD prevent clients from using such topic names to exchange messages). */
    int sys = p->topic.len >= 5 && memcmp(p->topic.ptr, "$SYS/", 5) == 0;
    if (sys || b->hooks.authorize) {
        int r = sys ? MQWS_RC_NOT_AUTHORIZED
                    : b->hooks.authorize(b->user, c->conn, c->user, MQWS_BROKER_ACL_PUBLISH, id,
                                         p->topic, p->qos, p->retain);
        if (r) {
            drop_event(b, c, p, p->qos, MQWS_ELIMIT);
            /* 3.1.1 cannot refuse a PUBLISH without closing: acknowledge and drop it. */
            return v5 ? (r >= 0x80 && r <= 0xFF ? r : MQWS_RC_NOT_AUTHORIZED) : 0;
        }
    }
    int n = publish_in(b, c, c->sess, id, p);
    /* Not accepted when an online subscriber's queue refused it (hard limit reached despite
     * the backpressure): 5.0 says so (0x97, the publisher may send it again); 3.1.1 cannot
     * refuse a PUBLISH (dropped, counted). */
    if (b->route_lost && p->qos && v5)
        return MQWS_RC_QUOTA_EXCEEDED;
    if (n == 0 && v5)
        return MQWS_RC_NO_MATCHING_SUBSCRIBERS;
    if (n < 0 && v5)
        return MQWS_RC_UNSPECIFIED_ERROR;
    return 0;
}

static uint8_t sub_verdict(int rc) {
    switch (rc) {
        case MQWS_ELIMIT:
            return MQWS_RC_QUOTA_EXCEEDED;
        case MQWS_ENOMEM:
            return MQWS_RC_UNSPECIFIED_ERROR;
        case MQWS_EINVAL:
            return MQWS_RC_IMPLEMENTATION_SPECIFIC_ERROR;
        default:
            return MQWS_RC_TOPIC_FILTER_INVALID;
    }
}

static void cb_subscribe(mqws_session *s, const mqws_packet *p, uint8_t *verdicts, void *user) {
    bk_conn *c = conn_of_user(user);
    if (!c || !c->sess)
        return;
    mqws_broker *b = c->b;
    bk_sess *bs = c->sess;
    uint8_t level = mqws_session_protocol_level(s);
    uint32_t sub_id =
        (level == MQWS_MQTT_5 && (p->props.present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER))
            ? p->props.subscription_id
            : 0;
    mqws_view id = mqws_session_client_id(s);
    mqws_entry_iter it;
    mqws_entry_iter_init(p, level, &it);
    for (uint32_t i = 0; i < p->entry_count; i++) {
        mqws_subscription e;
        if (!mqws_subscribe_next(&it, &e))
            break;
        uint8_t v = verdicts[i];
        int added = 0;
        if (v < 0x80 && b->hooks.authorize) {
            int r = b->hooks.authorize(b->user, c->conn, c->user, MQWS_BROKER_ACL_SUBSCRIBE, id,
                                       e.filter, v, 0);
            if (r)
                v = r >= 0x80 && r <= 0xFF ? (uint8_t)r : MQWS_RC_NOT_AUTHORIZED;
        }
        if (v < 0x80) {
            mqws_topic_sub_options o;
            memset(&o, 0, sizeof(o));
            o.max_qos = v;
            if (level == MQWS_MQTT_5) {
                o.no_local = e.no_local;
                o.retain_as_published = e.retain_as_published;
                o.retain_handling = e.retain_handling;
                o.subscription_id = sub_id;
            }
            if (!bs->sub)
                bs->sub = mqws_topic_subscriber_new(b->idx, bs);
            int rc = bs->sub ? mqws_topic_subscribe(b->idx, bs->sub, e.filter.ptr, e.filter.len, &o)
                             : MQWS_ENOMEM;
            mqws_view sg, sf;
            if (rc == MQWS_EPROTO && e.no_local &&
                mqws_topic_parse_share(e.filter.ptr, e.filter.len, &sg, &sf) == 1) {
                /* [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error */
                (void)mqws_session_disconnect(s, MQWS_RC_PROTOCOL_ERROR, NULL);
                return;
            }
            if (rc < 0)
                v = sub_verdict(rc);
            else
                added = rc == 1;
        }
        verdicts[i] = v;
        if (b->hooks.on_event) {
            mqws_broker_event ev;
            ev_init(&ev, MQWS_BROKER_EV_SUBSCRIBE, c);
            ev.topic = e.filter;
            ev.qos = e.qos;
            ev.reason = v;
            emit(b, &ev);
        }
        if (v >= 0x80)
            continue;
        /* Retained messages per Retain Handling [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11];
         * none for a shared subscription (§4.8.2). 3.1.1 always sends them (3.1.1 [MQTT-3.3.1-6]).
         */
        uint8_t rh = level == MQWS_MQTT_5 ? e.retain_handling : 0;
        if (rh == 2 || (rh == 1 && !added))
            continue;
        mqws_view g, f;
        if (mqws_topic_parse_share(e.filter.ptr, e.filter.len, &g, &f) != 0)
            continue;
        ret_ctx x;
        memset(&x, 0, sizeof(x));
        x.b = b;
        x.t = bs;
        x.granted = v;
        x.sub_id = sub_id;
        (void)mqws_topic_store_match(b->store, e.filter.ptr, e.filter.len, ret_one, &x);
        for (uint32_t k = 0; k < x.n_expired; k++) {
            mqws_topic_msg_info info;
            mqws_topic_msg_get(x.expired[k], &info);
            if (mqws_topic_store_get(b->store, info.topic.ptr, info.topic.len) == x.expired[k]) {
                mqws_topic_retain del;
                memset(&del, 0, sizeof(del));
                (void)mqws_topic_store_set(b->store, info.topic.ptr, info.topic.len, &del);
            }
            mqws_topic_msg_unref(x.expired[k]);
        }
    }
}

static void cb_unsubscribe(mqws_session *s, const mqws_packet *p, uint8_t *verdicts, void *user) {
    bk_conn *c = conn_of_user(user);
    if (!c || !c->sess)
        return;
    mqws_broker *b = c->b;
    uint8_t level = mqws_session_protocol_level(s);
    mqws_entry_iter it;
    mqws_entry_iter_init(p, level, &it);
    for (uint32_t i = 0; i < p->entry_count; i++) {
        mqws_view f;
        if (!mqws_unsubscribe_next(&it, &f))
            break;
        int rc = c->sess->sub ? mqws_topic_unsubscribe(b->idx, c->sess->sub, f.ptr, f.len)
                              : MQWS_ENOTFOUND;
        uint8_t v = rc == MQWS_OK          ? 0x00
                    : rc == MQWS_ENOTFOUND ? MQWS_RC_NO_SUBSCRIPTION_EXISTED
                                           : MQWS_RC_TOPIC_FILTER_INVALID;
        if (level == MQWS_MQTT_5)
            verdicts[i] = v;
        if (b->hooks.on_event) {
            mqws_broker_event ev;
            ev_init(&ev, MQWS_BROKER_EV_UNSUBSCRIBE, c);
            ev.topic = f;
            ev.reason = v;
            emit(b, &ev);
        }
    }
}

static void cb_will(mqws_session *s, const mqws_packet *will, void *user) {
    bk_conn *c = conn_of_user(user);
    bk_sess *bs = sess_of_user(user);
    mqws_broker *b = broker_of_user(user);
    mqws_view id = mqws_session_client_id(s);
    if ((c && c->will_sent) || (bs && bs->will_sent))
        return; /* published by mqws_broker_close_all() already */
    will_event(b, c, id, will);
    if (b->routing)
        return; /* cannot happen: wills fire from ticks and closes, never from a delivery */
    (void)publish_in(b, NULL, bs, id, will);
}

static void cb_drop(mqws_session *s, const mqws_packet *pub, int why, void *user) {
    (void)s;
    drop_event_of(broker_of_user(user), conn_of_user(user), sess_of_user(user), pub, pub->qos, why);
}

static void cb_close(mqws_session *s, const mqws_close_info *why, const mqws_packet *disc,
                     void *user) {
    (void)disc;
    bk_conn *c = conn_of_user(user);
    if (!c)
        return;
    mqws_broker *b = c->b;
    c->closed = 1;
    c->auth = 0;
    if (c->connected) {
        c->connected = 0;
        b->nconnected--;
        if (b->hooks.on_event) {
            mqws_broker_event ev;
            ev_init(&ev, MQWS_BROKER_EV_DISCONNECT, c);
            ev.reason = why->reason;
            ev.error = why->error;
            ev.close = why;
            emit(b, &ev);
        }
    }
    will_free(b, c);
    bk_sess *bs = c->sess;
    if (bs && bs->cong) {
        ovf_flush(b, bs); /* offline now: kept by a persistent session up to its limits */
        uncongest(b, bs); /* its queue is bounded by the limits, then drops */
    }
    if (bs &&
        (mqws_session_expiry_interval(s) == 0 || mqws_session_state(s) == MQWS_SESSION_EXPIRED)) {
        /* The session ends with the connection: its subscriptions go. */
        c->sess = NULL;
        bs->conn = NULL;
        sess_destroy(b, bs);
    }
    touch(b, c);
}

static void cb_expired(mqws_session *s, void *user) {
    (void)s;
    bk_conn *c = conn_of_user(user);
    bk_sess *bs = sess_of_user(user);
    if (!bs)
        return;
    mqws_broker *b = bs->b;
    if (b->hooks.on_event) {
        mqws_broker_event ev;
        ev_init(&ev, MQWS_BROKER_EV_EXPIRED, NULL);
        ev.client_id.ptr = bs->id;
        ev.client_id.len = bs->id_len;
        emit(b, &ev);
    }
    if (c) {
        c->sess = NULL;
        bs->conn = NULL;
        sess_destroy(b, bs);
    } else if (!bs->dead) {
        bs->dead = 1;
        bs->dead_next = b->dead;
        b->dead = bs;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Lifetime */

mqws_broker *mqws_broker_new(const mqws_broker_config *cfg, const mqws_broker_hooks *hooks,
                             void *user) {
    mqws_broker_config def = MQWS_BROKER_CONFIG_INIT;
    if (!cfg)
        cfg = &def;
    if (cfg->size < sizeof(mqws_broker_config) || cfg->rate_policy > MQWS_BROKER_RATE_DROP ||
        cfg->share_strategy > MQWS_TOPIC_SHARE_STICKY ||
        (cfg->out_high && cfg->out_low >= cfg->out_high))
        return NULL;
    if (hooks && hooks->size < sizeof(size_t))
        return NULL;
    const mqws_allocator *base = mqws__allocator_or_default(cfg->allocator);
    mqws_broker *b = mqws__alloc(base, sizeof(*b));
    if (!b)
        return NULL;
    memset(b, 0, sizeof(*b));
    bka_init(&b->a_brk, base);
    bka_init(&b->a_sess, base);
    bka_init(&b->a_idx, base);
    bka_init(&b->a_ret, base);
    if (hooks) {
        size_t n = hooks->size < sizeof(b->hooks) ? hooks->size : sizeof(b->hooks);
        memcpy(&b->hooks, hooks, n);
    }
    b->hooks.size = sizeof(b->hooks);
    b->user = user;
    b->gone.kind = BK_KIND_GONE;
    b->gone.b = b;
    mqws_session_config sdef = MQWS_SESSION_CONFIG_INIT;
    b->scfg = cfg->session ? *cfg->session : sdef;
    b->scfg.role = MQWS_SESSION_SERVER;
    b->refuse_backlog = cfg->refuse_backlog;
    b->max_sessions = cfg->max_sessions;
    b->rate_policy = cfg->rate_policy;
    b->sys_interval_ms = cfg->sys_interval_ms;
    b->client_msg_rate = cfg->client_msg_rate;
    b->client_msg_burst = cfg->client_msg_burst;
    b->out_high = cfg->out_high;
    b->out_low = cfg->out_low;
    b->global_out_high = cfg->global_out_high;
    b->seed = cfg->seed;
    b->start = 0;
    b->next_sys = NO_DEADLINE;
    link_init(&b->conns);
    link_init(&b->dirty);
    link_init(&b->touch);
    link_init(&b->congested);
    mqws_flow_admission_config ac = MQWS_FLOW_ADMISSION_CONFIG_INIT;
    ac.max_connections = cfg->max_connections;
    ac.max_connecting = cfg->max_connecting;
    ac.connect_rate = cfg->connect_rate;
    ac.connect_burst = cfg->connect_burst;
    (void)mqws_flow_admission_init(&b->adm, &ac, 0);
    b->global_rate_on = cfg->global_msg_rate != 0;
    (void)mqws_flow_bucket_init(&b->global_rate, cfg->global_msg_rate, cfg->global_msg_burst, 0);

    b->cb = mqws_callbacks_new(&b->a_brk.a);
    mqws_topic_index_config ic = MQWS_TOPIC_INDEX_CONFIG_INIT;
    ic.allocator = &b->a_idx.a;
    ic.share_strategy = cfg->share_strategy;
    ic.seed = cfg->seed;
    b->idx = mqws_topic_index_new(&ic);
    mqws_topic_store_config sc = MQWS_TOPIC_STORE_CONFIG_INIT;
    sc.allocator = &b->a_ret.a;
    sc.max_messages = cfg->max_retained;
    sc.max_bytes = cfg->max_retained_bytes;
    b->store = mqws_topic_store_new(&sc);
    b->nbuckets = 64;
    b->buckets = mqws__alloc(&b->a_brk.a, b->nbuckets * sizeof(*b->buckets));
    if (b->buckets)
        memset(b->buckets, 0, b->nbuckets * sizeof(*b->buckets));
    if (!b->cb || !b->idx || !b->store || !b->buckets || heap_reserve(b, 64) < 0) {
        mqws_broker_free(b);
        return NULL;
    }
    mqws_callbacks_set_on_connect(b->cb, cb_connect);
    mqws_callbacks_set_on_auth(b->cb, cb_auth);
    mqws_callbacks_set_on_publish(b->cb, cb_publish);
    mqws_callbacks_set_on_subscribe(b->cb, cb_subscribe);
    mqws_callbacks_set_on_unsubscribe(b->cb, cb_unsubscribe);
    mqws_callbacks_set_on_will(b->cb, cb_will);
    mqws_callbacks_set_on_drop(b->cb, cb_drop);
    mqws_callbacks_set_on_close(b->cb, cb_close);
    mqws_callbacks_set_on_expired(b->cb, cb_expired);
    return b;
}

static void conn_destroy(mqws_broker *b, bk_conn *c) {
    unblock_gone(b, c);
    held_free(b, c);
    will_free(b, c);
    link_del(&c->all);
    if (c->in_dirty)
        link_del(&c->dirty);
    if (c->in_touch)
        link_del(&c->touch);
    heap_remove(b, c);
    b->out_total -= c->out_level;
    global_check(b);
    mqws_conn_free(c->conn);
    mqws__free(&b->a_sess.a, c, sizeof(*c));
    b->nconns--;
}

void mqws_broker_free(mqws_broker *b) {
    if (!b)
        return;
    b->hooks.on_event = NULL; /* nothing is reported while tearing down */
    while (!link_empty(&b->congested)) {
        bk_cong *g = CONTAINER(b->congested.next, bk_cong, link);
        ovf_clear(b, NULL, g);
        link_del(&g->link);
        mqws__free(&b->a_brk.a, g, sizeof(*g) + g->cap * sizeof(bk_conn *));
    }
    for (bk_link *l = b->conns.next; l != &b->conns; l = l->next)
        CONTAINER(l, bk_conn, all)->blocked_by = 0;
    /* Sessions first (they hold slices and callbacks), then the records and the tables. */
    while (!link_empty(&b->conns)) {
        bk_conn *c = CONTAINER(b->conns.next, bk_conn, all);
        if (c->sess)
            c->sess->conn = NULL;
        conn_destroy(b, c);
    }
    b->dead = NULL;
    if (b->buckets) {
        for (size_t i = 0; i < b->nbuckets; i++) {
            bk_sess *s = b->buckets[i];
            while (s) {
                bk_sess *next = s->hnext;
                if (s->off)
                    mqws_session_free(s->off);
                mqws__free(&b->a_sess.a, s, sizeof(*s) + s->id_len);
                s = next;
            }
        }
        mqws__free(&b->a_brk.a, b->buckets, b->nbuckets * sizeof(*b->buckets));
    }
    mqws_topic_index_free(b->idx);
    mqws_topic_store_free(b->store);
    mqws_callbacks_free(b->cb);
    mqws__free(&b->a_brk.a, b->heap, b->heap_cap * sizeof(*b->heap));
    mqws__free(&b->a_brk.a, b->dv, b->dv_cap * sizeof(*b->dv));
    mqws__free(&b->a_brk.a, b->ids, b->ids_cap * sizeof(*b->ids));
    mqws__free(b->a_brk.base, b, sizeof(*b));
}

/* ------------------------------------------------------------------------------------------ */
/* Connections */

mqws_conn *mqws_broker_accept(mqws_broker *b, const mqws_conn_config *cfg, void *conn_user,
                              int64_t now_ms) {
    if (!b)
        return NULL;
    set_now(b, now_ms);
    uint8_t refuse_reason = 0;
    if (b->closing) {
        refuse_reason = MQWS_RC_SERVER_UNAVAILABLE;
    } else {
        uint64_t rate_before = b->adm.refused_rate;
        if (mqws_flow_admission_open(&b->adm, now_ms) < 0)
            refuse_reason = b->adm.refused_rate != rate_before ? MQWS_RC_CONNECTION_RATE_EXCEEDED
                                                               : MQWS_RC_SERVER_BUSY;
    }
    if (refuse_reason && b->nrefusing >= b->refuse_backlog)
        return NULL;
    if (heap_reserve(b, b->nconns + b->nsess_off + 1) < 0)
        goto fail;
    bk_conn *c = mqws__alloc(&b->a_sess.a, sizeof(*c));
    if (!c)
        goto fail;
    memset(c, 0, sizeof(*c));
    c->kind = BK_KIND_CONN;
    c->hpos = BK_NO_POS;
    c->b = b;
    c->user = conn_user;
    c->refuse = refuse_reason;
    c->admitted = refuse_reason ? 0 : 1;
    link_init(&c->dirty);
    link_init(&c->touch);
    /* Validated in mqws_broker_new (out_low < out_high), so these cannot fail. */
    (void)mqws_flow_bucket_init(&c->rate, b->client_msg_rate, b->client_msg_burst, now_ms);
    (void)mqws_flow_watermark_init(&c->out, b->out_high, b->out_low);
    mqws_conn_config cc = MQWS_CONN_CONFIG_INIT;
    if (cfg) {
        if (cfg->size < sizeof(cc)) {
            mqws__free(&b->a_sess.a, c, sizeof(*c));
            goto fail;
        }
        cc = *cfg;
    }
    mqws_session_config sc = cc.session ? *cc.session : b->scfg;
    sc.role = MQWS_SESSION_SERVER;
    cc.session = &sc;
    cc.allocator = &b->a_sess.a;
    c->conn = mqws_conn_new(&cc, b->cb, c, now_ms);
    if (!c->conn) {
        mqws__free(&b->a_sess.a, c, sizeof(*c));
        goto fail;
    }
    link_push(&b->conns, &c->all);
    b->nconns++;
    if (refuse_reason)
        b->nrefusing++;
    conn_tick(b, c);
    return c->conn;
fail:
    if (!refuse_reason)
        (void)mqws_flow_admission_close(&b->adm, 0);
    return NULL;
}

static bk_conn *bk_of(const mqws_conn *conn) {
    if (!conn)
        return NULL;
    mqws_session *s = mqws_conn_session(conn);
    return s ? conn_of_user(mqws_session_user(s)) : NULL;
}

void *mqws_broker_conn_user(const mqws_conn *conn) {
    bk_conn *c = bk_of(conn);
    return c ? c->user : NULL;
}

int64_t mqws_broker_recv(mqws_broker *b, mqws_conn *conn, uint8_t *buf, size_t len,
                         int64_t now_ms) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return MQWS_EINVAL;
    if (b->depth)
        return MQWS_ESTATE; /* not from inside a hook */
    int outer = enter(b);
    set_now(b, now_ms);
    /* The session's clock must be current before its input: keepalive counts from here
     * (after a backpressure pause, feed() sets the clock instead: see conn_tick). */
    if (!c->ka_skip)
        conn_tick(b, c);
    int64_t rc = (int64_t)len, err = 0;
    if (c->held_len || conn_blocked(c)) {
        /* Read while paused (the host did not wait for RESUME): kept behind what is held. */
        if (hold(b, c, buf, len) < 0)
            rc = MQWS_ENOMEM;
    } else {
        size_t k = feed(b, c, buf, len, &err);
        if (err)
            rc = err == MQWS_ECLOSED && k ? (int64_t)k : err;
        else if (k < len && hold(b, c, buf + k, len - k) < 0)
            rc = MQWS_ENOMEM;
    }
    if (rc == MQWS_ENOMEM)
        (void)mqws_conn_close(conn, MQWS_RC_UNSPECIFIED_ERROR); /* input cannot be kept */
    pause_update(b, c);
    touch(b, c);
    leave(b, outer);
    return rc;
}

void mqws_broker_sent(mqws_broker *b, mqws_conn *conn, size_t n) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return;
    mqws_conn_sent(conn, n);
    b->bytes_out += n;
    sync_out(b, c);
    if (!mqws_conn_want_write(conn) && !mqws_conn_want_read(conn))
        mark_dirty(b, c); /* finished: the host closes it */
}

mqws_conn *mqws_broker_next_writable(mqws_broker *b) {
    if (!b)
        return NULL;
    if (!b->depth) {
        int outer = enter(b);
        leave(b, outer);
    }
    if (link_empty(&b->dirty))
        return NULL;
    bk_conn *c = CONTAINER(b->dirty.next, bk_conn, dirty);
    link_del(&c->dirty);
    c->in_dirty = 0;
    return c->conn;
}

void mqws_broker_eof(mqws_broker *b, mqws_conn *conn) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return;
    int outer = enter(b);
    if (outer)
        conn_tick(b, c); /* will delay and session expiry count from now */
    mqws_conn_eof(conn);
    touch(b, c);
    leave(b, outer);
}

void mqws_broker_release(mqws_broker *b, mqws_conn *conn) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return;
    int outer = enter(b);
    if (outer)
        conn_tick(b, c);
    if (mqws_conn_want_read(conn) || mqws_conn_want_write(conn))
        mqws_conn_eof(conn);
    if (outer)
        process_dead(b);
    bk_sess *bs = c->sess;
    if (bs) {
        /* The session outlives its socket: keep it offline until resumed or expired. */
        mqws_session *s = mqws_conn_detach_session(conn);
        c->sess = NULL;
        bs->conn = NULL;
        if (s && mqws_session_state(s) != MQWS_SESSION_EXPIRED) {
            bs->off = s;
            b->nsess_off++;
            mqws_session_set_user(s, bs);
            heap_remove(b, c); /* frees the slot the offline session takes */
            off_tick(b, bs);
        } else {
            if (s)
                mqws_session_free(s);
            sess_destroy(b, bs);
        }
    }
    if (c->admitted)
        (void)mqws_flow_admission_close(&b->adm, c->admitted == 2);
    if (c->refuse)
        b->nrefusing--;
    conn_destroy(b, c);
    leave(b, outer);
}

int mqws_broker_disconnect(mqws_broker *b, mqws_conn *conn, uint8_t reason) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return MQWS_EINVAL;
    if (b->routing) {
        /* A hook during a routing (a DROP or PAUSE event): closing now could end a session the
         * routing is still delivering to; close when the outer call returns. */
        if (!mqws_conn_want_read(conn))
            return MQWS_ECLOSED;
        c->defer_close = 1;
        c->defer_reason = reason;
        touch(b, c);
        return MQWS_OK;
    }
    int outer = enter(b);
    if (outer)
        conn_tick(b, c);
    int rc = mqws_conn_close(conn, reason);
    touch(b, c);
    leave(b, outer);
    return rc;
}

void mqws_broker_close_all(mqws_broker *b, uint8_t reason) {
    if (!b)
        return;
    b->closing = 1;
    int outer = enter(b);
    /* Wills first, so that every subscriber still connected gets them before its own
     * DISCONNECT: the server closes without the client's DISCONNECT 0x00 [MQTT-3.1.2-8], and
     * the session ends with the server (nothing persists across a restart), which is the
     * latest moment a delayed will goes out [MQTT-3.1.3-9]. */
    for (bk_link *l = b->conns.next; l != &b->conns; l = l->next) {
        bk_conn *c = CONTAINER(l, bk_conn, all);
        if (outer)
            conn_tick(b, c);
        if (c->connected && c->will && mqws_conn_want_read(c->conn))
            will_publish_now(b, c);
    }
    /* Offline persistent sessions still waiting for their will delay end now too. */
    for (size_t i = 0; i < b->nbuckets; i++)
        for (bk_sess *bs = b->buckets[i]; bs; bs = bs->hnext)
            if (bs->off && bs->off->will && !bs->dead) {
                (void)mqws_session_tick(bs->off, NO_DEADLINE / 4); /* will, then expiry */
                heap_set(b, bs, NO_DEADLINE);
            }
    for (bk_link *l = b->conns.next; l != &b->conns; l = l->next) {
        bk_conn *c = CONTAINER(l, bk_conn, all);
        mqws_session *s = mqws_conn_session(c->conn);
        if (mqws_session_state(s) == MQWS_SESSION_CONNECTING)
            refuse(b, c, MQWS_RC_SERVER_UNAVAILABLE, NULL); /* 0x8B is not a CONNACK code */
        else if (mqws_conn_want_read(c->conn))
            (void)mqws_conn_close(c->conn, reason);
        touch(b, c);
    }
    leave(b, outer);
}

int mqws_broker_paused(const mqws_broker *b) { return b ? b->gpaused : 0; }

int mqws_broker_conn_paused(const mqws_conn *conn) {
    bk_conn *c = bk_of(conn);
    return c ? conn_paused(c) : 0;
}

int mqws_broker_auth_answer(mqws_broker *b, mqws_conn *conn, int reason, const mqws_props *props) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return MQWS_EINVAL;
    if (!mqws_conn_want_read(conn))
        return MQWS_ECLOSED;
    if (!c->auth || reason == MQWS_BROKER_AUTH_ASYNC || b->routing)
        return MQWS_ESTATE;
    if (c->auth == 2 && reason == MQWS_BROKER_AUTH_OK &&
        (!props || !(props->present & MQWS_PROPF_AUTHENTICATION_METHOD)))
        return MQWS_EINVAL; /* AUTH 0x00 must name the method [MQTT-3.15.2-1] */
    int outer = enter(b);
    if (outer)
        conn_tick(b, c);
    auth_result(b, c, reason, props, NULL);
    leave(b, outer);
    return MQWS_OK;
}

int mqws_broker_auth_continue(mqws_broker *b, mqws_conn *conn, const mqws_props *props) {
    bk_conn *c = bk_of(conn);
    if (!b || !c)
        return MQWS_EINVAL;
    int rc = mqws_session_auth(mqws_conn_session(conn), MQWS_RC_CONTINUE_AUTHENTICATION, props);
    if (rc == MQWS_OK) {
        if (!c->auth)
            c->auth = mqws_session_state(mqws_conn_session(conn)) == MQWS_SESSION_CONNECTED ? 2 : 1;
        touch(b, c);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Time, $SYS, injection */

static void sys_pub(mqws_broker *b, const char *name, uint64_t v) {
    char topic[64], val[24];
    int tn = snprintf(topic, sizeof(topic), "$SYS/broker/%s", name);
    int vn = snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
    if (tn <= 0 || vn <= 0)
        return;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.topic.ptr = (const uint8_t *)topic;
    p.topic.len = (size_t)tn;
    p.payload.ptr = (const uint8_t *)val;
    p.payload.len = (size_t)vn;
    p.retain = 1;
    retain_store(b, &p);
    (void)route(b, NULL, p.topic, &p);
}

static void sys_publish_all(mqws_broker *b) {
    mqws_broker_stats st;
    st.size = sizeof(st);
    (void)mqws_broker_stats_get(b, &st);
    sys_pub(b, "uptime", st.uptime_ms / 1000);
    sys_pub(b, "clients/connected", st.clients_connected);
    sys_pub(b, "clients/total", st.sessions);
    sys_pub(b, "clients/offline", st.sessions_offline);
    sys_pub(b, "messages/received", st.messages_in);
    sys_pub(b, "messages/sent", st.messages_out);
    sys_pub(b, "messages/dropped", st.dropped);
    sys_pub(b, "bytes/received", st.bytes_in);
    sys_pub(b, "bytes/sent", st.bytes_out);
    sys_pub(b, "subscriptions/count", st.subscriptions);
    sys_pub(b, "retained messages/count", st.retained);
    sys_pub(b, "heap/current", st.mem_total);
}

int64_t mqws_broker_tick(mqws_broker *b, int64_t now_ms) {
    if (!b)
        return NO_DEADLINE;
    if (b->depth) /* not from inside a hook */
        return b->heap_n ? b->heap[0].at : NO_DEADLINE;
    int outer = enter(b);
    set_now(b, now_ms);
    process_touched(b);
    while (b->heap_n && b->heap[0].at <= b->now) {
        void *obj = b->heap[0].obj;
        if (*(uint32_t *)obj == BK_KIND_CONN) {
            bk_conn *c = obj;
            conn_tick(b, c);
            mark_dirty(b, c);
        } else {
            off_tick(b, obj);
        }
        process_dead(b);
    }
    if (b->sys_interval_ms && b->now >= b->next_sys) {
        sys_publish_all(b);
        b->next_sys = b->now + b->sys_interval_ms;
    }
    leave(b, outer);
    int64_t next = b->heap_n ? b->heap[0].at : NO_DEADLINE;
    if (b->sys_interval_ms && b->next_sys < next)
        next = b->next_sys;
    return next;
}

int mqws_broker_publish(mqws_broker *b, const mqws_packet *pub) {
    if (!b || !pub || pub->qos > 2 || pub->topic.len == 0 || pub->topic.len > 65535u)
        return MQWS_EINVAL;
    if (mqws_topic_validate_name(pub->topic.ptr, pub->topic.len, NULL, NULL) < 0)
        return MQWS_EINVAL;
    if (b->routing)
        return MQWS_ESTATE;
    int outer = enter(b);
    mqws_view none = {NULL, 0};
    int n = publish_in(b, NULL, NULL, none, pub);
    leave(b, outer);
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics */

int mqws_broker_stats_get(const mqws_broker *b, mqws_broker_stats *st) {
    if (!b || !st || st->size < sizeof(size_t))
        return MQWS_EINVAL;
    mqws_broker_stats o;
    memset(&o, 0, sizeof(o));
    o.size = st->size;
    o.uptime_ms = b->have_time ? (uint64_t)(b->now - b->start) : 0;
    o.connections = b->nconns;
    o.clients_connected = b->nconnected;
    o.connecting = b->adm.connecting;
    o.sessions = b->nsess;
    o.sessions_offline = b->nsess_off;
    o.messages_in = b->msgs_in;
    o.messages_out = b->msgs_out;
    o.bytes_in = b->bytes_in;
    o.bytes_out = b->bytes_out;
    o.dropped = b->dropped;
    o.rate_limited = b->rate_limited;
    o.refused = b->refused;
    mqws_topic_index_stats is;
    memset(&is, 0, sizeof(is));
    is.size = sizeof(is);
    if (mqws_topic_index_stats_get(b->idx, &is) == MQWS_OK)
        o.subscriptions = is.subscriptions;
    mqws_topic_store_stats ss;
    memset(&ss, 0, sizeof(ss));
    ss.size = sizeof(ss);
    if (mqws_topic_store_stats_get(b->store, &ss) == MQWS_OK) {
        o.retained = ss.messages;
        o.retained_bytes = ss.bytes;
    }
    o.mem_index = b->a_idx.used;
    o.mem_retained = b->a_ret.used;
    o.mem_sessions = b->a_sess.used;
    o.mem_broker = b->a_brk.used + sizeof(*b);
    o.mem_total = o.mem_index + o.mem_retained + o.mem_sessions + o.mem_broker;
    o.output_pending = b->out_total;
    o.dropped_online = b->dropped_online;
    o.dropped_offline = b->dropped_offline;
    o.backpressure_pauses = b->backpressure_pauses;
    o.wills_at_close = b->wills_at_close;
    size_t n = st->size < sizeof(o) ? st->size : sizeof(o);
    memcpy(st, &o, n);
    return MQWS_OK;
}
