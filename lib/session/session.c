/* The MQTT session engine: one connection's protocol state machine, server and client roles.
 * See include/mqws/session.h for the contract and docs/design/session.md for the design.
 * SPDX-License-Identifier: MIT */
#include "session_internal.h"

static const mqws_callbacks no_callbacks;

/* Internal bits of mqws_session.flags, above the public MQWS_SESSION_* ones. */
#define F_ID_ASSIGNED     0x80000000u /* the server assigned the client id [MQTT-3.2.2-16] */
#define F_WANTS_RESP_INFO 0x40000000u /* Request Response Information = 1 */
#define F_NO_PROBLEM_INFO 0x20000000u /* Request Problem Information = 0 [MQTT-3.1.2-29] */

/* The idle budget (issue 5): a connected 3.1.1 session with a 16-byte client id, behind a TCP
 * mqws_conn, holds at most 512 heap bytes: this struct, the id, the conn (48 bytes). Measured
 * by tests/unit/session (idle_*_heap_at_most_512_bytes); this keeps the struct honest. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct mqws_session) <= 432,
               "mqws_session grew past its idle-memory budget");

#define NO_DEADLINE INT64_MAX
#define MAX_SUB_IDS 32u

static void drain_early(mqws_session *s);

static int sess_is_open(const mqws_session *s) { return s->state < MQWS_SESSION_CLOSING; }

/* ------------------------------------------------------------------------------------------ */
/* Output queue */

static void out_free_ent(mqws_session *s, sess_ent *e) {
    mqws_slice_unref(e->payload);
    mqws__free(s->a, e->chunk, e->cap);
}

static void out_free_array(mqws_session *s) {
    mqws__free(s->a, s->ent, (size_t)s->ent_cap * sizeof(sess_ent));
    s->ent = NULL;
    s->ent_head = s->ent_n = s->ent_cap = 0;
}

static void out_clear(mqws_session *s) {
    for (uint32_t i = 0; i < s->ent_n; i++)
        out_free_ent(s, &s->ent[s->ent_head + i]);
    out_free_array(s);
    s->out_off = 0;
    s->out_bytes = 0;
}

static sess_ent *out_tail(mqws_session *s) {
    return s->ent_n ? &s->ent[s->ent_head + s->ent_n - 1] : NULL;
}

/* Append an entry for `chunk` (cap bytes, len used) and `payload` (reference taken by the
 * caller). MQWS_ENOMEM leaves the queue unchanged; the caller still owns the chunk. */
static int out_push(mqws_session *s, uint8_t *chunk, uint32_t len, uint32_t cap,
                    mqws_slice *payload) {
    if (s->ent_head + s->ent_n == s->ent_cap) {
        if (s->ent_head > s->ent_n) { /* slide the window back instead of growing */
            memmove(s->ent, s->ent + s->ent_head, (size_t)s->ent_n * sizeof(sess_ent));
            s->ent_head = 0;
        } else {
            if (s->ent_cap > UINT32_MAX / 2u / sizeof(sess_ent))
                return MQWS_ENOMEM;
            uint32_t ncap = s->ent_cap ? s->ent_cap * 2u : 4u;
            sess_ent *ne = s->ent ? mqws__realloc(s->a, s->ent, s->ent_cap * sizeof(sess_ent),
                                                  ncap * sizeof(sess_ent))
                                  : mqws__alloc(s->a, ncap * sizeof(sess_ent));
            if (!ne)
                return MQWS_ENOMEM;
            s->ent = ne;
            s->ent_cap = ncap;
        }
    }
    sess_ent *e = &s->ent[s->ent_head + s->ent_n++];
    e->chunk = chunk;
    e->payload = payload;
    e->len = len;
    e->cap = cap;
    return MQWS_OK;
}

/* Room for n contiguous control bytes at the end of the queue; commit with out_commit(). */
static uint8_t *out_reserve(mqws_session *s, size_t n) {
    sess_ent *t = out_tail(s);
    if (t && !t->payload && (size_t)(t->cap - t->len) >= n)
        return t->chunk + t->len;
    if (n > UINT32_MAX - 64u)
        return NULL;
    uint32_t cap = (uint32_t)(n < 48u ? 48u : n);
    uint8_t *chunk = mqws__alloc(s->a, cap);
    if (!chunk)
        return NULL;
    if (out_push(s, chunk, 0, cap, NULL) < 0) {
        mqws__free(s->a, chunk, cap);
        return NULL;
    }
    return chunk;
}

static void out_commit(mqws_session *s, size_t n) {
    s->ent[s->ent_head + s->ent_n - 1].len += (uint32_t)n; /* out_reserve made the tail */
    s->out_bytes += n;
    s->packets_out++;
    s->bytes_out += n;
    s->last_tx = s->now;
}

static int queue_packet(mqws_session *s, const mqws_packet *p) {
    size_t size = 0;
    int rc = mqws_encoded_size(p, s->level, &size);
    if (rc < 0)
        return rc;
    uint8_t *d = out_reserve(s, size);
    if (!d)
        return MQWS_ENOMEM;
    size_t w = 0;
    rc = mqws_encode(p, s->level, d, size, &w);
    if (rc < 0)
        return rc;
    out_commit(s, w);
    return MQWS_OK;
}

static int queue_raw(mqws_session *s, const uint8_t *b, size_t n) {
    uint8_t *d = out_reserve(s, n);
    if (!d)
        return MQWS_ENOMEM;
    memcpy(d, b, n);
    out_commit(s, n);
    return MQWS_OK;
}

size_t mqws_session_pending(mqws_session *s, mqws_iovec *iov, size_t max) {
    size_t n = 0, off = s->out_off;
    const sess_ent *e = s->ent ? s->ent + s->ent_head : NULL;
    for (uint32_t i = 0; i < s->ent_n && n < max; i++, e++) {
        if (off < e->len) {
            iov[n].base = e->chunk + off;
            iov[n].len = e->len - off;
            n++;
            off = 0;
        } else {
            off -= e->len;
        }
        if (e->payload && off < e->payload->len && n < max) {
            iov[n].base = e->payload->data + off;
            iov[n].len = e->payload->len - off;
            n++;
        }
        off = 0;
    }
    return n;
}

size_t mqws_session_pending_bytes(const mqws_session *s) { return s->out_bytes; }

void mqws_session_sent(mqws_session *s, size_t n) {
    while (s->ent_n) {
        sess_ent *e = &s->ent[s->ent_head];
        size_t total = e->len + (e->payload ? e->payload->len : 0);
        size_t left = total - s->out_off;
        if (n < left) {
            s->out_off += n;
            s->out_bytes -= n;
            break;
        }
        n -= left;
        s->out_bytes -= left;
        s->out_off = 0;
        out_free_ent(s, e);
        s->ent_head++;
        s->ent_n--;
    }
    if (s->ent_n == 0 && s->ent)
        out_free_array(s); /* idle sessions hold nothing */
    if (s->state == MQWS_SESSION_CLOSING && s->out_bytes == 0)
        s->state = MQWS_SESSION_CLOSED;
}

/* ------------------------------------------------------------------------------------------ */
/* Packet identifier sets and allocation */

static int idset_has(const sess_idset *set, uint16_t id) {
    for (uint16_t i = 0; i < set->n; i++)
        if (set->v[i] == id)
            return 1;
    return 0;
}

static int idset_add(mqws_session *s, sess_idset *set, uint16_t id) {
    if (set->n == set->cap) {
        uint16_t ncap = (uint16_t)(set->cap ? (set->cap >= 32768u ? 65535u : set->cap * 2u) : 4u);
        if (ncap == set->cap)
            return MQWS_ELIMIT;
        uint16_t *nv = set->v ? mqws__realloc(s->a, set->v, set->cap * sizeof(uint16_t),
                                              ncap * sizeof(uint16_t))
                              : mqws__alloc(s->a, ncap * sizeof(uint16_t));
        if (!nv)
            return MQWS_ENOMEM;
        set->v = nv;
        set->cap = ncap;
    }
    set->v[set->n++] = id;
    return MQWS_OK;
}

static void idset_free(mqws_session *s, sess_idset *set) {
    mqws__free(s->a, set->v, set->cap * sizeof(uint16_t));
    set->v = NULL;
    set->n = set->cap = 0;
}

static int idset_del(mqws_session *s, sess_idset *set, uint16_t id) {
    for (uint16_t i = 0; i < set->n; i++) {
        if (set->v[i] == id) {
            set->v[i] = set->v[--set->n];
            if (set->n == 0)
                idset_free(s, set); /* idle sessions hold nothing */
            return 1;
        }
    }
    return 0;
}

static int pid_in_use(const mqws_session *s, uint16_t id) {
    for (const sess_msg *m = s->infl_head; m; m = m->next)
        if (m->packet_id == id)
            return 1;
    for (const sess_msg *m = s->q_head; m; m = m->next)
        if (m->qos && m->packet_id == id)
            return 1;
    return idset_has(&s->pending_sub, id);
}

/* Sequential ids; only after the counter wrapped can an id still be in use, so only then is
 * the (window-sized) scan needed. */
static uint16_t alloc_pid(mqws_session *s) {
    for (uint32_t tries = 0; tries < 65536u; tries++) {
        uint16_t id = s->next_pid;
        if (id == 65535u) {
            s->next_pid = 1;
            s->pid_wrapped = 1;
        } else {
            s->next_pid = (uint16_t)(id + 1u);
        }
        if (id == 0)
            continue;
        if (!s->pid_wrapped || !pid_in_use(s, id))
            return id;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Messages */

static size_t msg_size(const sess_msg *m) {
    return sizeof(*m) + m->topic_len + m->props_len + 4u * (size_t)m->sub_id_count;
}

static void msg_free(mqws_session *s, sess_msg *m) {
    mqws_slice_unref(m->payload);
    mqws__free(s->a, m, msg_size(m));
}

static size_t msg_payload_len(const sess_msg *m) { return m->payload ? m->payload->len : 0; }

static void list_append(sess_msg **head, sess_msg **tail, sess_msg *m) {
    m->next = NULL;
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

void mqws__stored_publish(mqws_packet *p, const uint8_t *data, size_t topic_len, size_t payload_len,
                          size_t props_len, uint8_t qos, uint8_t retain) {
    mqws_packet_init(p, MQWS_PKT_PUBLISH);
    p->qos = qos;
    p->retain = retain;
    p->topic.ptr = data;
    p->topic.len = topic_len;
    p->payload.ptr = data + topic_len;
    p->payload.len = payload_len;
    mqws__props_from_block(data + topic_len + payload_len, props_len, &p->props);
}

void mqws__props_from_block(const uint8_t *b, size_t len, mqws_props *out) {
    mqws_props_init(out);
    out->raw.ptr = b;
    out->raw.len = len;
    mqws_prop_iter it;
    mqws_props_iter_init(out, &it);
    mqws_prop pr;
    while (mqws_props_next(&it, &pr)) {
        switch (pr.id) {
            case MQWS_PROP_PAYLOAD_FORMAT_INDICATOR:
                out->payload_format = (uint8_t)pr.u32;
                break;
            case MQWS_PROP_MESSAGE_EXPIRY_INTERVAL:
                out->message_expiry = pr.u32;
                break;
            case MQWS_PROP_CONTENT_TYPE:
                out->content_type = pr.a;
                break;
            case MQWS_PROP_RESPONSE_TOPIC:
                out->response_topic = pr.a;
                break;
            case MQWS_PROP_CORRELATION_DATA:
                out->correlation_data = pr.a;
                break;
            case MQWS_PROP_WILL_DELAY_INTERVAL:
                out->will_delay = pr.u32;
                break;
            case MQWS_PROP_USER_PROPERTY:
                out->user_prop_count++;
                continue;
            default:
                continue;
        }
        out->present |= mqws_prop_bit(pr.id);
    }
    if (out->user_prop_count)
        out->present |= MQWS_PROPF_USER_PROPERTY;
}

/* The pass-through properties of an application message in wire form (§3.3.2.3): payload
 * format, content type, response topic, correlation data, user properties in order. */
static size_t passprops_size(const mqws_props *p) {
    size_t n = 0;
    if (p->present & MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR)
        n += 2;
    if (p->present & MQWS_PROPF_CONTENT_TYPE)
        n += 3 + p->content_type.len;
    if (p->present & MQWS_PROPF_RESPONSE_TOPIC)
        n += 3 + p->response_topic.len;
    if (p->present & MQWS_PROPF_CORRELATION_DATA)
        n += 3 + p->correlation_data.len;
    /* The codec's rule (codec.h, mqws_props): the array when it holds pairs, else the raw
     * block when the user-property bit is set. */
    if (p->user_props && p->user_prop_count) {
        for (uint32_t i = 0; i < p->user_prop_count; i++)
            n += 5 + p->user_props[i].key.len + p->user_props[i].value.len;
    } else if ((p->present & MQWS_PROPF_USER_PROPERTY) && p->raw.len) {
        mqws_prop_iter it;
        mqws_props_iter_init(p, &it);
        mqws_view k, v;
        while (mqws_props_next_user(&it, &k, &v))
            n += 5 + k.len + v.len;
    }
    return n;
}

static uint8_t *put_bin(uint8_t *d, uint8_t id, mqws_view v) {
    if (id)
        *d++ = id;
    mqws__store16(d, (uint16_t)v.len);
    if (v.len)
        memcpy(d + 2, v.ptr, v.len);
    return d + 2 + v.len;
}

static void passprops_write(const mqws_props *p, uint8_t *d) {
    if (p->present & MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR) {
        *d++ = MQWS_PROP_PAYLOAD_FORMAT_INDICATOR;
        *d++ = p->payload_format;
    }
    if (p->present & MQWS_PROPF_CONTENT_TYPE)
        d = put_bin(d, MQWS_PROP_CONTENT_TYPE, p->content_type);
    if (p->present & MQWS_PROPF_RESPONSE_TOPIC)
        d = put_bin(d, MQWS_PROP_RESPONSE_TOPIC, p->response_topic);
    if (p->present & MQWS_PROPF_CORRELATION_DATA)
        d = put_bin(d, MQWS_PROP_CORRELATION_DATA, p->correlation_data);
    if (p->user_props && p->user_prop_count) {
        for (uint32_t i = 0; i < p->user_prop_count; i++) {
            d = put_bin(d, MQWS_PROP_USER_PROPERTY, p->user_props[i].key);
            d = put_bin(d, 0, p->user_props[i].value);
        }
    } else if ((p->present & MQWS_PROPF_USER_PROPERTY) && p->raw.len) {
        mqws_prop_iter it;
        mqws_props_iter_init(p, &it);
        mqws_view k, v;
        while (mqws_props_next_user(&it, &k, &v)) {
            d = put_bin(d, MQWS_PROP_USER_PROPERTY, k);
            d = put_bin(d, 0, v);
        }
    }
}

static void drop_msg(mqws_session *s, sess_msg *m, int why) {
    s->dropped++;
    if (s->cb->on_drop) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_PUBLISH);
        p.qos = m->qos;
        p.retain = m->retain;
        p.packet_id = m->packet_id;
        p.topic.ptr = m->data;
        p.topic.len = m->topic_len;
        p.payload = mqws_slice_view(m->payload);
        mqws__props_from_block(m->data + m->topic_len, m->props_len, &p.props);
        s->cb->on_drop(s, &p, why, s->user);
    }
    msg_free(s, m);
}

static void free_msg_list(mqws_session *s, sess_msg **head, sess_msg **tail) {
    sess_msg *m = *head;
    while (m) {
        sess_msg *next = m->next;
        msg_free(s, m);
        m = next;
    }
    *head = *tail = NULL;
}

/* Drop the state that outlives a connection (messages, inbound QoS 2 ids). */
static void drop_persistent(mqws_session *s) {
    free_msg_list(s, &s->infl_head, &s->infl_tail);
    free_msg_list(s, &s->q_head, &s->q_tail);
    s->infl_count = s->q_count = s->q_bytes = 0;
    idset_free(s, &s->in_qos2);
}

/* ------------------------------------------------------------------------------------------ */
/* Topic aliases */

static void aliases_free(mqws_session *s) {
    if (s->alias_in) {
        for (uint16_t i = 0; i < s->alias_in_max; i++)
            mqws__free(s->a, s->alias_in[i].topic, s->alias_in[i].len);
        mqws__free(s->a, s->alias_in, s->alias_in_max * sizeof(sess_alias_in));
        s->alias_in = NULL;
    }
    if (s->alias_out) {
        for (uint16_t i = 0; i < s->alias_out_max; i++)
            mqws__free(s->a, s->alias_out[i].topic, s->alias_out[i].len);
        mqws__free(s->a, s->alias_out, s->alias_out_max * sizeof(sess_alias_out));
        s->alias_out = NULL;
    }
}

/* Outbound alias for `topic`: *alias receives the alias number (0 = none) and *send_topic
 * whether the topic must be sent with it (a new mapping). LRU replacement. The mapping is only
 * recorded when `commit` is set. */
static int alias_out_pick(mqws_session *s, const uint8_t *topic, uint16_t len, uint16_t *alias,
                          int *send_topic) {
    *alias = 0;
    *send_topic = 1;
    if (s->level != MQWS_MQTT_5 || s->alias_out_max == 0)
        return MQWS_OK;
    if (!s->alias_out) {
        s->alias_out = mqws__alloc(s->a, s->alias_out_max * sizeof(sess_alias_out));
        if (!s->alias_out)
            return MQWS_OK; /* no alias then: still correct */
        memset(s->alias_out, 0, s->alias_out_max * sizeof(sess_alias_out));
    }
    uint16_t victim = 0;
    uint32_t oldest = UINT32_MAX;
    for (uint16_t i = 0; i < s->alias_out_max; i++) {
        sess_alias_out *e = &s->alias_out[i];
        if (e->topic && e->len == len && memcmp(e->topic, topic, len) == 0) {
            e->used = ++s->alias_clock;
            *alias = (uint16_t)(i + 1u);
            *send_topic = 0;
            return MQWS_OK;
        }
        uint32_t age = e->topic ? e->used : 0;
        if (age < oldest) {
            oldest = age;
            victim = i;
        }
    }
    uint8_t *copy = mqws__alloc(s->a, len);
    if (!copy)
        return MQWS_OK;
    memcpy(copy, topic, len);
    sess_alias_out *e = &s->alias_out[victim];
    mqws__free(s->a, e->topic, e->len);
    e->topic = copy;
    e->len = len;
    e->used = ++s->alias_clock;
    *alias = (uint16_t)(victim + 1u);
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Closing */

static void fire_will(mqws_session *s) {
    sess_will *w = s->will;
    if (!w)
        return;
    s->will = NULL;
    if (s->cb->on_will) {
        mqws_packet p;
        mqws__stored_publish(&p, w->data, w->topic_len, w->payload_len, w->props_len, w->qos,
                             w->retain);
        p.props.present &= ~MQWS_PROPF_WILL_DELAY_INTERVAL;
        s->cb->on_will(s, &p, s->user);
    }
    mqws__free(s->a, w, sizeof(*w) + w->topic_len + w->payload_len + w->props_len);
}

static void discard_will(mqws_session *s) {
    sess_will *w = s->will;
    if (w) {
        s->will = NULL;
        mqws__free(s->a, w, sizeof(*w) + w->topic_len + w->payload_len + w->props_len);
    }
}

static void input_reset(mqws_session *s) {
    mqws__free(s->a, s->early, s->early_len);
    s->early = NULL;
    s->early_len = 0;
    mqws__free(s->a, s->inbuf, s->in_total);
    s->inbuf = NULL;
    s->in_len = 0;
    s->in_total = 0;
}

/* End the connection. `send_disconnect`: queue a 5.0 DISCONNECT with `reason` first.
 * `keep_will`: 0 when the peer's DISCONNECT 0x00 deleted the will [MQTT-3.1.2-10]. */
static void sess_close(mqws_session *s, int err, uint8_t reason, int by_peer, const char *statement,
                       const char *message, int send_disconnect, int keep_will,
                       const mqws_packet *peer_disconnect) {
    if (!sess_is_open(s))
        return;
    if (send_disconnect && s->level == MQWS_MQTT_5 &&
        (s->state == MQWS_SESSION_CONNECTED ||
         (s->role == MQWS_SESSION_CLIENT && s->state == MQWS_SESSION_CONNECTING))) {
        mqws_packet d;
        mqws_packet_init(&d, MQWS_PKT_DISCONNECT);
        d.reason_code = reason;
        (void)queue_packet(s, &d); /* best effort: the connection ends either way */
    }
    int was_connected = s->state == MQWS_SESSION_CONNECTED;
    s->close.error = err;
    s->close.reason = reason;
    s->close.by_peer = (uint8_t)(by_peer ? 1 : 0);
    s->close.statement = statement;
    s->close.message = message ? message : "closed";
    s->state = s->out_bytes ? MQWS_SESSION_CLOSING : MQWS_SESSION_CLOSED;
    s->closed_at = s->now;
    s->deadline_connect = NO_DEADLINE;
    s->ping_sent_at = 0;
    input_reset(s);
    aliases_free(s);
    idset_free(s, &s->pending_sub);
    if (s->role == MQWS_SESSION_SERVER) {
        if (!keep_will || !was_connected)
            discard_will(s);
        else if (s->will && (s->will->delay == 0 || s->session_expiry == 0))
            fire_will(s);
        /* A session that never got its CONNACK, or with expiry 0, ends with the connection. */
        if (s->session_expiry == 0 || !was_connected) {
            drop_persistent(s);
            s->expired = 1;
        }
    }
    if (s->cb->on_close)
        s->cb->on_close(s, &s->close, peer_disconnect, s->user);
}

void mqws__session_abort(mqws_session *s, int err, uint8_t reason, int by_peer,
                         const char *message) {
    sess_close(s, err, reason, by_peer, NULL, message, 0, 1, NULL);
}

static void proto_close(mqws_session *s, int err, uint8_t reason, const char *statement,
                        const char *message) {
    sess_close(s, err, reason, 0, statement, message, 1, 1, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Sending application messages */

/* Encode and queue one PUBLISH. MQWS_ETOOBIG: bigger than the peer accepts (dropped, as if
 * sent [MQTT-3.1.2-25]); MQWS_ECLOSED: its Message Expiry Interval passed. */
static int send_publish(mqws_session *s, const uint8_t *topic, uint16_t topic_len,
                        const mqws_props *pass, const uint32_t *sub_ids, uint32_t nsub, uint8_t qos,
                        uint8_t retain, uint8_t dup, uint16_t pid, int64_t expire_at,
                        mqws_slice *payload) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBLISH);
    p.qos = qos;
    p.retain = retain;
    p.dup = dup;
    p.packet_id = pid;
    p.topic.ptr = topic;
    p.topic.len = topic_len;
    p.payload = mqws_slice_view(payload);
    uint16_t alias = 0;
    int send_topic = 1;
    if (s->level == MQWS_MQTT_5) {
        if (pass)
            p.props = *pass;
        p.props.present &= MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR | MQWS_PROPF_CONTENT_TYPE |
                           MQWS_PROPF_RESPONSE_TOPIC | MQWS_PROPF_CORRELATION_DATA |
                           MQWS_PROPF_USER_PROPERTY;
        if (expire_at != NO_DEADLINE) {
            int64_t left = expire_at - s->now;
            if (left <= 0 && !dup)
                return MQWS_ECLOSED; /* not yet on its way: deleted [MQTT-3.3.2-5] */
            if (left <= 0)
                left = 1; /* a resend of a delivery already started still goes out */
            /* The remaining lifetime, rounded up: a receiver must see what is left [MQTT-3.3.2-6].
             */
            p.props.message_expiry = (uint32_t)((left + 999) / 1000);
            p.props.present |= MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL;
        }
        if (nsub && s->role == MQWS_SESSION_SERVER) {
            p.props.sub_ids = sub_ids;
            p.props.sub_id_count = nsub;
            p.props.present |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
        }
        /* Look the alias up without recording a new mapping yet. */
        if (s->alias_out_max && s->alias_out) {
            for (uint16_t i = 0; i < s->alias_out_max; i++) {
                sess_alias_out *e = &s->alias_out[i];
                if (e->topic && e->len == topic_len && memcmp(e->topic, topic, topic_len) == 0) {
                    alias = (uint16_t)(i + 1u);
                    send_topic = 0;
                    break;
                }
            }
        }
    }
    size_t total = 0;
    if (alias && !send_topic) {
        p.topic.len = 0;
        p.props.topic_alias = alias;
        p.props.present |= MQWS_PROPF_TOPIC_ALIAS;
    } else if (s->level == MQWS_MQTT_5 && s->alias_out_max) {
        p.props.topic_alias = 1; /* for sizing: a new mapping costs 3 bytes */
        p.props.present |= MQWS_PROPF_TOPIC_ALIAS;
    }
    int rc = mqws_encoded_size(&p, s->level, &total);
    if (rc < 0)
        return rc;
    if (total > s->max_packet_out)
        return MQWS_ETOOBIG;
    if (s->level == MQWS_MQTT_5 && s->alias_out_max && send_topic) {
        (void)alias_out_pick(s, topic, topic_len, &alias, &send_topic);
        if (alias) {
            p.props.topic_alias = alias;
        } else {
            p.props.present &= ~MQWS_PROPF_TOPIC_ALIAS;
            p.props.topic_alias = 0;
        }
        rc = mqws_encoded_size(&p, s->level, &total);
        if (rc < 0)
            return rc;
    }
    size_t hdr = total - p.payload.len;
    if (hdr > UINT32_MAX)
        return MQWS_ETOOBIG;
    uint8_t *chunk = mqws__alloc(s->a, hdr);
    if (!chunk)
        return MQWS_ENOMEM;
    mqws_iovec iov[2];
    rc = mqws_encode_publish_iov(&p, s->level, chunk, hdr, iov);
    if (rc >= 0 && iov[0].len != hdr)
        rc = MQWS_EINTERNAL;
    if (rc >= 0)
        rc = out_push(s, chunk, (uint32_t)hdr, (uint32_t)hdr,
                      p.payload.len ? mqws_slice_ref(payload) : NULL);
    if (rc < 0) {
        if (p.payload.len)
            mqws_slice_unref(payload); /* the reference out_push did not take */
        mqws__free(s->a, chunk, hdr);
        return rc;
    }
    s->out_bytes += total;
    s->bytes_out += total;
    s->packets_out++;
    s->publish_out++;
    s->last_tx = s->now;
    return MQWS_OK;
}

static int send_msg(mqws_session *s, sess_msg *m, uint8_t dup) {
    mqws_props pass;
    mqws__props_from_block(m->data + m->topic_len, m->props_len, &pass);
    uint32_t ids[MAX_SUB_IDS];
    const uint8_t *sp = m->data + m->topic_len + m->props_len;
    for (uint16_t i = 0; i < m->sub_id_count && i < MAX_SUB_IDS; i++)
        ids[i] = mqws__load32(sp + 4u * i);
    return send_publish(s, m->data, m->topic_len, &pass, ids, m->sub_id_count, m->qos, m->retain,
                        dup, m->packet_id, m->expire_at, m->payload);
}

static int queue_pubrel(mqws_session *s, uint16_t pid, uint8_t reason) {
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_PUBREL);
    p.packet_id = pid;
    p.reason_code = reason;
    return queue_packet(s, &p);
}

/* Move waiting messages into the send window, in order (§4.6). */
static int pump(mqws_session *s) {
    while (s->state == MQWS_SESSION_CONNECTED && s->q_head) {
        sess_msg *m = s->q_head;
        if (m->qos && s->infl_count >= s->window_out)
            break;
        int rc = send_msg(s, m, 0);
        if (rc == MQWS_ENOMEM)
            return rc;
        s->q_head = m->next;
        if (!s->q_head)
            s->q_tail = NULL;
        s->q_count--;
        s->q_bytes -= (uint32_t)msg_payload_len(m);
        if (rc < 0) {
            drop_msg(s, m, rc == MQWS_ECLOSED ? MQWS_ECLOSED : MQWS_ETOOBIG);
        } else if (m->qos == 0) {
            msg_free(s, m);
        } else {
            m->state = MSG_SENT;
            list_append(&s->infl_head, &s->infl_tail, m);
            s->infl_count++;
        }
    }
    return MQWS_OK;
}

/* On resume: unacknowledged PUBLISH with DUP and PUBREL, with their original ids
 * [MQTT-4.4.0-1], in their original order. */
static int resend_inflight(mqws_session *s) {
    sess_msg *prev = NULL, *m = s->infl_head;
    while (m) {
        sess_msg *next = m->next;
        int rc;
        if (m->state == MSG_RELEASED) {
            rc = queue_pubrel(s, m->packet_id, 0);
        } else {
            rc = send_msg(s, m, 1);
            if (rc == MQWS_ETOOBIG || rc == MQWS_ECLOSED) {
                if (prev)
                    prev->next = next;
                else
                    s->infl_head = next;
                if (s->infl_tail == m)
                    s->infl_tail = prev;
                s->infl_count--;
                drop_msg(s, m, rc);
                m = next;
                continue;
            }
        }
        if (rc < 0)
            return rc;
        prev = m;
        m = next;
    }
    return MQWS_OK;
}

static int queue_limits(mqws_session *s, size_t add_bytes) {
    while (s->q_count + 1u > s->queue_max_messages || s->q_bytes + add_bytes > s->queue_max_bytes) {
        /* Drop policy: the oldest QoS 0 message first. */
        sess_msg *prev = NULL, *m = s->q_head;
        while (m && m->qos != 0) {
            prev = m;
            m = m->next;
        }
        if (!m)
            return MQWS_ELIMIT;
        if (prev)
            prev->next = m->next;
        else
            s->q_head = m->next;
        if (s->q_tail == m)
            s->q_tail = prev;
        s->q_count--;
        s->q_bytes -= (uint32_t)msg_payload_len(m);
        drop_msg(s, m, MQWS_ELIMIT);
    }
    return MQWS_OK;
}

int mqws_session_publish(mqws_session *s, const mqws_packet *pub, mqws_slice *payload,
                         uint16_t *packet_id) {
    if (packet_id)
        *packet_id = 0;
    if (!s || !pub || pub->qos > 2 || pub->topic.len == 0 || pub->topic.len > 65535u)
        return MQWS_EINVAL;
    const char *st = NULL;
    if (mqws_utf8_check_mqtt(pub->topic.ptr, pub->topic.len, NULL) < 0 ||
        mqws__topic_name_syntax(pub->topic.ptr, pub->topic.len, &st) < 0)
        return MQWS_EINVAL;
    if (s->role == MQWS_SESSION_CLIENT && s->state == MQWS_SESSION_CONNECTED &&
        (pub->qos > s->peer_max_qos || (pub->retain && !s->peer_retain)))
        return MQWS_EINVAL; /* [MQTT-3.2.2-11] [MQTT-3.2.2-14] */
    int offline = !sess_is_open(s);
    if (offline) {
        if (s->role == MQWS_SESSION_SERVER) {
            if (s->session_expiry == 0 || !s->connect_seen || s->expired)
                return MQWS_ECLOSED;
        }
        if (pub->qos == 0 && !(s->flags & MQWS_SESSION_QUEUE_QOS0_OFFLINE))
            return MQWS_ECLOSED;
    }
    const mqws_props *props = &pub->props;
    uint32_t nsub = 0;
    if (props->present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER)
        nsub = props->sub_ids ? props->sub_id_count : 1;
    if (nsub > MAX_SUB_IDS)
        return MQWS_EINVAL;
    mqws_slice *own = NULL;
    if (!payload) {
        own = mqws_slice_new(s->a, pub->payload.ptr, pub->payload.len);
        if (!own)
            return MQWS_ENOMEM;
        payload = own;
    }
    int64_t expire_at = NO_DEADLINE;
    if (props->present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL)
        expire_at = s->now + (int64_t)props->message_expiry * 1000;
    int rc = MQWS_OK;
    int direct = s->state == MQWS_SESSION_CONNECTED && !s->q_head &&
                 (pub->qos == 0 || s->infl_count < s->window_out);
    if (direct && pub->qos == 0) {
        uint32_t ids[MAX_SUB_IDS];
        for (uint32_t i = 0; i < nsub; i++)
            ids[i] = props->sub_ids ? props->sub_ids[i] : props->subscription_id;
        rc = send_publish(s, pub->topic.ptr, (uint16_t)pub->topic.len, props, ids, nsub, 0,
                          pub->retain, 0, 0, expire_at, payload);
        if (rc == MQWS_ECLOSED)
            rc = MQWS_OK; /* expired already: nothing to send */
        mqws_slice_unref(own);
        return rc;
    }
    /* Keep the message: it waits or stays until acknowledged. */
    size_t plen = passprops_size(props);
    if (plen > 0xFFFFFFu) {
        mqws_slice_unref(own);
        return MQWS_EINVAL;
    }
    if (!direct) {
        rc = queue_limits(s, payload->len);
        if (rc < 0) {
            s->dropped++;
            mqws_slice_unref(own);
            return rc;
        }
    }
    uint16_t pid = 0;
    if (pub->qos) {
        pid = alloc_pid(s);
        if (!pid) {
            mqws_slice_unref(own);
            return MQWS_ELIMIT;
        }
    }
    size_t sz = sizeof(sess_msg) + pub->topic.len + plen + 4u * nsub;
    sess_msg *m = mqws__alloc(s->a, sz);
    if (!m) {
        mqws_slice_unref(own);
        return MQWS_ENOMEM;
    }
    memset(m, 0, sizeof(*m));
    m->expire_at = expire_at;
    m->props_len = (uint32_t)plen;
    m->topic_len = (uint16_t)pub->topic.len;
    m->packet_id = pid;
    m->sub_id_count = (uint16_t)nsub;
    m->qos = pub->qos;
    m->retain = pub->retain ? 1 : 0;
    m->state = MSG_QUEUED;
    memcpy(m->data, pub->topic.ptr, pub->topic.len);
    passprops_write(props, m->data + m->topic_len);
    for (uint32_t i = 0; i < nsub; i++)
        mqws__store32(m->data + m->topic_len + plen + 4u * i,
                      props->sub_ids ? props->sub_ids[i] : props->subscription_id);
    m->payload = own ? own : mqws_slice_ref(payload);
    if (direct) {
        rc = send_msg(s, m, 0);
        if (rc < 0) {
            msg_free(s, m);
            return rc == MQWS_ECLOSED ? MQWS_OK : rc;
        }
        m->state = MSG_SENT;
        list_append(&s->infl_head, &s->infl_tail, m);
        s->infl_count++;
    } else {
        list_append(&s->q_head, &s->q_tail, m);
        s->q_count++;
        s->q_bytes += (uint32_t)payload->len;
    }
    if (packet_id)
        *packet_id = pid;
    return MQWS_OK;
}

int mqws_session_publish_encoded(mqws_session *s, mqws_view header, mqws_slice *payload) {
    if (!s || !header.ptr || header.len < 2 || header.len > UINT32_MAX ||
        (header.ptr[0] & 0xF6) != 0x30)
        return MQWS_EINVAL; /* a QoS 0 PUBLISH fixed header, DUP clear */
    if (s->state != MQWS_SESSION_CONNECTED || s->q_head)
        return MQWS_ESTATE; /* it would have to wait: the caller uses mqws_session_publish */
    size_t plen = payload ? payload->len : 0;
    if (header.len + plen > s->max_packet_out) { /* [MQTT-3.1.2-25] */
        s->dropped++;
        return MQWS_ETOOBIG;
    }
    uint8_t *chunk = mqws__alloc(s->a, header.len);
    if (!chunk)
        return MQWS_ENOMEM;
    memcpy(chunk, header.ptr, header.len);
    if (out_push(s, chunk, (uint32_t)header.len, (uint32_t)header.len,
                 plen ? mqws_slice_ref(payload) : NULL) < 0) {
        if (plen)
            mqws_slice_unref(payload);
        mqws__free(s->a, chunk, header.len);
        return MQWS_ENOMEM;
    }
    s->out_bytes += header.len + plen;
    s->bytes_out += header.len + plen;
    s->packets_out++;
    s->publish_out++;
    s->last_tx = s->now;
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Creation */

mqws_session *mqws_session_new(const mqws_session_config *cfg, const mqws_callbacks *cb, void *user,
                               int64_t now_ms) {
    mqws_session_config def = MQWS_SESSION_CONFIG_INIT;
    if (!cfg)
        cfg = &def;
    if (cfg->size < sizeof(mqws_session_config) || cfg->role > MQWS_SESSION_CLIENT ||
        cfg->maximum_qos > 2 || cfg->receive_maximum == 0 || cfg->outbound_inflight_maximum == 0)
        return NULL;
    if (cfg->role == MQWS_SESSION_CLIENT && cfg->protocol_level != MQWS_MQTT_311 &&
        cfg->protocol_level != MQWS_MQTT_5 && cfg->protocol_level != MQWS_MQTT_31)
        return NULL;
    const mqws_allocator *a = mqws__allocator_or_default(cfg->allocator);
    mqws_session *s = mqws__alloc(a, sizeof(*s));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->a = a;
    s->cb = cb ? cb : &no_callbacks;
    s->user = user;
    if (cfg->response_information && cfg->role == MQWS_SESSION_SERVER) {
        size_t n = strlen(cfg->response_information);
        if (n > 65535u) {
            mqws__free(a, s, sizeof(*s));
            return NULL;
        }
        s->response_info = mqws__alloc(a, n + 1);
        if (!s->response_info) {
            mqws__free(a, s, sizeof(*s));
            return NULL;
        }
        memcpy(s->response_info, cfg->response_information, n + 1);
    }
    s->now = now_ms;
    s->last_rx = s->last_tx = now_ms;
    s->deadline_connect = (cfg->role == MQWS_SESSION_SERVER && cfg->connect_timeout_ms)
                              ? now_ms + (int64_t)cfg->connect_timeout_ms
                              : NO_DEADLINE;
    s->flags = cfg->flags;
    s->max_packet_in = cfg->maximum_packet_size ? cfg->maximum_packet_size : MQWS_MAX_PACKET_SIZE;
    s->max_packet_out = MQWS_MAX_PACKET_SIZE;
    s->connect_timeout_ms = cfg->connect_timeout_ms;
    s->max_session_expiry = cfg->max_session_expiry;
    s->queue_max_messages = cfg->queue_max_messages;
    s->queue_max_bytes = cfg->queue_max_bytes;
    s->recv_max_in = cfg->receive_maximum;
    s->alias_in_max = cfg->topic_alias_maximum;
    s->alias_out_cfg = cfg->outbound_alias_maximum;
    s->inflight_cfg = cfg->outbound_inflight_maximum;
    s->window_out = cfg->outbound_inflight_maximum;
    s->server_keep_alive = cfg->server_keep_alive;
    s->next_pid = 1;
    s->role = (uint8_t)cfg->role;
    s->level = cfg->role == MQWS_SESSION_CLIENT ? cfg->protocol_level : 0;
    s->state = MQWS_SESSION_IDLE;
    s->maximum_qos = cfg->maximum_qos;
    s->caps = (uint8_t)((cfg->retain_available ? CAP_RETAIN : 0) |
                        (cfg->wildcard_sub_available ? CAP_WILD : 0) |
                        (cfg->sub_id_available ? CAP_SUBID : 0) |
                        (cfg->shared_sub_available ? CAP_SHARED : 0));
    s->peer_max_qos = 2;
    s->peer_retain = 1;
    return s;
}

void mqws_session_free(mqws_session *s) {
    if (!s)
        return;
    out_clear(s);
    input_reset(s);
    aliases_free(s);
    drop_persistent(s);
    idset_free(s, &s->pending_sub);
    discard_will(s);
    mqws__free(s->a, s->client_id, s->client_id_len);
    if (s->response_info)
        mqws__free(s->a, s->response_info, strlen(s->response_info) + 1);
    mqws__free(s->a, s, sizeof(*s));
}

void *mqws_session_user(const mqws_session *s) { return s->user; }
void mqws_session_set_user(mqws_session *s, void *user) { s->user = user; }
void mqws__session_set_owner(mqws_session *s, void *owner) { s->owner = owner; }
void *mqws__session_owner(const mqws_session *s) { return s->owner; }

int mqws_session_state(const mqws_session *s) {
    return s->state == MQWS_SESSION_CLOSED && s->expired ? MQWS_SESSION_EXPIRED : s->state;
}
const mqws_close_info *mqws_session_close_info(const mqws_session *s) { return &s->close; }
int mqws_session_want_read(const mqws_session *s) { return sess_is_open(s); }
int mqws_session_want_write(const mqws_session *s) { return s->out_bytes > 0; }
mqws_view mqws_session_client_id(const mqws_session *s) {
    mqws_view v = {s->client_id, s->client_id_len};
    return v;
}
uint8_t mqws_session_protocol_level(const mqws_session *s) { return s->level; }
uint16_t mqws_session_keep_alive(const mqws_session *s) { return s->keep_alive; }
uint32_t mqws_session_expiry_interval(const mqws_session *s) { return s->session_expiry; }

size_t mqws__session_heap(const mqws_session *s) {
    size_t n = sizeof(*s) + s->client_id_len + (s->inbuf ? s->in_total : 0) + s->early_len;
    n += (size_t)s->ent_cap * sizeof(sess_ent);
    for (uint32_t i = 0; i < s->ent_n; i++)
        n += s->ent[s->ent_head + i].cap;
    for (const sess_msg *m = s->infl_head; m; m = m->next)
        n += msg_size(m);
    for (const sess_msg *m = s->q_head; m; m = m->next)
        n += msg_size(m);
    n += (size_t)(s->in_qos2.cap + s->pending_sub.cap) * sizeof(uint16_t);
    if (s->will)
        n += sizeof(*s->will) + s->will->topic_len + s->will->payload_len + s->will->props_len;
    if (s->response_info)
        n += strlen(s->response_info) + 1;
    if (s->alias_in) {
        n += s->alias_in_max * sizeof(sess_alias_in);
        for (uint16_t i = 0; i < s->alias_in_max; i++)
            n += s->alias_in[i].len;
    }
    if (s->alias_out) {
        n += s->alias_out_max * sizeof(sess_alias_out);
        for (uint16_t i = 0; i < s->alias_out_max; i++)
            n += s->alias_out[i].len;
    }
    return n;
}

void mqws_session_get_stats(const mqws_session *s, mqws_session_stats *out) {
    memset(out, 0, sizeof(*out));
    out->packets_in = s->packets_in;
    out->packets_out = s->packets_out;
    out->bytes_in = s->bytes_in;
    out->bytes_out = s->bytes_out;
    out->publish_in = s->publish_in;
    out->publish_out = s->publish_out;
    out->dropped = s->dropped;
    out->inflight_out = s->infl_count;
    out->inflight_in = s->in_qos2.n;
    out->queued_messages = s->q_count;
    out->queued_bytes = s->q_bytes;
    out->pending_bytes = s->out_bytes;
    out->heap_bytes = mqws__session_heap(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Server: CONNECT */

static const uint8_t v3_code_of[] = {
    /* 5.0 reason -> 3.1.1 CONNACK return code */
    0x84, 0x01, 0x85, 0x02, 0x86, 0x04, 0x87, 0x05, 0x8A, 0x05,
};

static uint8_t connack_v3_code(uint8_t reason) {
    if (reason == 0)
        return 0;
    for (size_t i = 0; i < sizeof(v3_code_of); i += 2)
        if (v3_code_of[i] == reason)
            return v3_code_of[i + 1];
    return MQWS_CONNACK_V3_SERVER_UNAVAILABLE;
}

static int set_client_id(mqws_session *s, const uint8_t *id, size_t len) {
    uint8_t *copy = NULL;
    if (len) {
        copy = mqws__alloc(s->a, len);
        if (!copy)
            return MQWS_ENOMEM;
        memcpy(copy, id, len);
    }
    mqws__free(s->a, s->client_id, s->client_id_len);
    s->client_id = copy;
    s->client_id_len = (uint16_t)len;
    return MQWS_OK;
}

static int copy_will(mqws_session *s, const mqws_packet *c) {
    size_t props_len = c->protocol_level == MQWS_MQTT_5 ? c->will_props.raw.len : 0;
    size_t n = sizeof(sess_will) + c->will_topic.len + c->will_payload.len + props_len;
    sess_will *w = mqws__alloc(s->a, n);
    if (!w)
        return MQWS_ENOMEM;
    w->delay = (c->protocol_level == MQWS_MQTT_5 &&
                (c->will_props.present & MQWS_PROPF_WILL_DELAY_INTERVAL))
                   ? c->will_props.will_delay
                   : 0;
    w->topic_len = (uint16_t)c->will_topic.len;
    w->payload_len = (uint32_t)c->will_payload.len;
    w->props_len = (uint32_t)props_len;
    w->qos = c->will_qos;
    w->retain = c->will_retain;
    memcpy(w->data, c->will_topic.ptr, c->will_topic.len);
    if (c->will_payload.len)
        memcpy(w->data + w->topic_len, c->will_payload.ptr, c->will_payload.len);
    if (props_len)
        memcpy(w->data + w->topic_len + w->payload_len, c->will_props.raw.ptr, props_len);
    discard_will(s);
    s->will = w;
    return MQWS_OK;
}

/* Answer a CONNECT before it reached the host: CONNACK with `reason` then close. */
static void refuse_connect(mqws_session *s, int err, uint8_t reason, const char *statement,
                           const char *message) {
    if (s->level == MQWS_MQTT_5) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_CONNACK);
        p.reason_code = reason;
        (void)queue_packet(s, &p);
    } else {
        uint8_t b[4] = {0x20, 0x02, 0x00, connack_v3_code(reason)};
        (void)queue_raw(s, b, 4);
    }
    sess_close(s, err, reason, 0, statement, message, 0, 0, NULL);
}

static int flag_assigned(const mqws_session *s) { return (s->flags & F_ID_ASSIGNED) != 0; }

static void handle_connect(mqws_session *s, mqws_packet *c) {
    s->level = c->protocol_level;
    s->connect_seen = 1;
    if (c->protocol_level == MQWS_MQTT_31 && !(s->flags & MQWS_SESSION_ALLOW_V31)) {
        s->level = MQWS_MQTT_311;
        refuse_connect(s, MQWS_EUNSUPPORTED, MQWS_RC_UNSUPPORTED_PROTOCOL_VERSION, "MQTT-3.1.2-2",
                       "protocol level not supported");
        return;
    }
    /* Client identifier rules: 3.1 allows 1..23 bytes; 3.1.1 an empty id only with clean
     * session [MQTT-3.1.3-7] [MQTT-3.1.3-8]; 5.0 an empty id gets one assigned
     * [MQTT-3.1.3-6]. */
    char assigned[24];
    int assign = 0;
    if (c->client_id.len == 0) {
        if ((s->flags & MQWS_SESSION_NO_EMPTY_CLIENT_ID) || c->protocol_level == MQWS_MQTT_31 ||
            (c->protocol_level == MQWS_MQTT_311 && !c->clean_start)) {
            refuse_connect(s, MQWS_EPROTO, MQWS_RC_CLIENT_IDENTIFIER_NOT_VALID, "MQTT-3.1.3-8",
                           "empty client identifier refused");
            return;
        }
        assign = 1;
    } else if (c->protocol_level == MQWS_MQTT_31 && c->client_id.len > 23) {
        refuse_connect(s, MQWS_EPROTO, MQWS_RC_CLIENT_IDENTIFIER_NOT_VALID, NULL,
                       "MQTT 3.1 client identifier longer than 23 bytes");
        return;
    }
    if ((s->flags & MQWS_SESSION_REJECT_DISCOURAGED) &&
        mqws_utf8_has_discouraged(c->client_id.ptr, c->client_id.len)) {
        refuse_connect(s, MQWS_EUTF8, MQWS_RC_CLIENT_IDENTIFIER_NOT_VALID, NULL,
                       "client identifier holds discouraged code points");
        return;
    }
    if (c->will_flag) {
        if (c->will_qos > s->maximum_qos) {
            refuse_connect(s, MQWS_EPROTO, MQWS_RC_QOS_NOT_SUPPORTED, "MQTT-3.2.2-12",
                           "will QoS above the server's maximum QoS");
            return;
        }
        if (c->will_retain && !(s->caps & CAP_RETAIN)) {
            refuse_connect(s, MQWS_EPROTO, MQWS_RC_RETAIN_NOT_SUPPORTED, "MQTT-3.2.2-13",
                           "will retain while retain is not available");
            return;
        }
    }
    if (assign) {
        /* Unique per live session object and time; hosts wanting another scheme refuse empty
         * ids and assign their own. [MQTT-3.2.2-16] */
        static const char hex[] = "0123456789abcdef";
        uint64_t x = (uint64_t)(uintptr_t)s ^ ((uint64_t)s->now * 0x9E3779B97F4A7C15ull);
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 32;
        memcpy(assigned, "mqws-", 5);
        for (int i = 0; i < 16; i++)
            assigned[5 + i] = hex[(x >> (60 - 4 * i)) & 0xF];
        c->client_id.ptr = (const uint8_t *)assigned;
        c->client_id.len = 21;
        s->flags |= F_ID_ASSIGNED;
    }
    if (set_client_id(s, c->client_id.ptr, c->client_id.len) < 0 ||
        (c->will_flag && copy_will(s, c) < 0)) {
        sess_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, 0, NULL, "out of memory", 0, 0, NULL);
        return;
    }
    s->clean_start = c->clean_start;
    s->keep_alive = s->server_keep_alive ? s->server_keep_alive : c->keep_alive;
    s->window_out = s->inflight_cfg;
    s->max_packet_out = MQWS_MAX_PACKET_SIZE;
    s->alias_out_max = 0;
    if (c->protocol_level == MQWS_MQTT_5) {
        const mqws_props *pr = &c->props;
        uint32_t want = (pr->present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL) ? pr->session_expiry : 0;
        s->expiry_zero_connect = want == 0;
        s->session_expiry = want > s->max_session_expiry ? s->max_session_expiry : want;
        if ((pr->present & MQWS_PROPF_RECEIVE_MAXIMUM) && pr->receive_maximum < s->window_out)
            s->window_out = pr->receive_maximum;
        if (pr->present & MQWS_PROPF_MAXIMUM_PACKET_SIZE)
            s->max_packet_out = pr->maximum_packet_size;
        if (pr->present & MQWS_PROPF_TOPIC_ALIAS_MAXIMUM)
            s->alias_out_max = pr->topic_alias_maximum < s->alias_out_cfg ? pr->topic_alias_maximum
                                                                          : s->alias_out_cfg;
        if (pr->present & MQWS_PROPF_AUTHENTICATION_METHOD)
            s->auth_pending = 1;
        /* Remember whether Response Information was asked for [MQTT-3.1.2-28]. */
        if ((pr->present & MQWS_PROPF_REQUEST_RESPONSE_INFORMATION) && pr->request_response_info)
            s->flags |= F_WANTS_RESP_INFO;
        if ((pr->present & MQWS_PROPF_REQUEST_PROBLEM_INFORMATION) && !pr->request_problem_info)
            s->flags |= F_NO_PROBLEM_INFO;
    } else {
        s->session_expiry = c->clean_start ? 0 : s->max_session_expiry;
    }
    if (c->clean_start) /* [MQTT-3.1.2-4] */
        drop_persistent(s);
    s->state = MQWS_SESSION_CONNECTING;
    if (s->auth_pending && !s->cb->on_auth) {
        mqws_session_reject(s, MQWS_RC_BAD_AUTHENTICATION_METHOD, NULL);
        return;
    }
    if (s->cb->on_connect)
        s->cb->on_connect(s, c, s->user);
    else
        (void)mqws_session_accept(s, 0, NULL);
}

int mqws_session_accept(mqws_session *s, int session_present, const mqws_props *props) {
    if (!s || s->role != MQWS_SESSION_SERVER || s->state != MQWS_SESSION_CONNECTING)
        return MQWS_ESTATE;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_CONNACK);
    int resumed = session_present && !s->clean_start; /* [MQTT-3.2.2-2] */
    /* MQTT 3.1's CONNACK has no Session Present flag: resume without saying so. */
    p.session_present = (uint8_t)(resumed && s->level != MQWS_MQTT_31 ? 1 : 0);
    if (s->level == MQWS_MQTT_5) {
        if (props)
            p.props = *props;
        mqws_props *r = &p.props;
        r->present &= MQWS_PROPF_REASON_STRING | MQWS_PROPF_USER_PROPERTY |
                      MQWS_PROPF_AUTHENTICATION_METHOD | MQWS_PROPF_AUTHENTICATION_DATA |
                      MQWS_PROPF_SERVER_REFERENCE | MQWS_PROPF_RESPONSE_INFORMATION;
        if (s->recv_max_in != 65535u) {
            r->receive_maximum = s->recv_max_in;
            r->present |= MQWS_PROPF_RECEIVE_MAXIMUM;
        }
        if (s->maximum_qos < 2) {
            r->maximum_qos = s->maximum_qos;
            r->present |= MQWS_PROPF_MAXIMUM_QOS;
        }
        if (!(s->caps & CAP_RETAIN)) {
            r->retain_available = 0;
            r->present |= MQWS_PROPF_RETAIN_AVAILABLE;
        }
        if (s->max_packet_in < MQWS_MAX_PACKET_SIZE) {
            r->maximum_packet_size = s->max_packet_in;
            r->present |= MQWS_PROPF_MAXIMUM_PACKET_SIZE;
        }
        if (flag_assigned(s)) {
            r->assigned_client_id.ptr = s->client_id;
            r->assigned_client_id.len = s->client_id_len;
            r->present |= MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER;
        }
        if (s->alias_in_max) {
            r->topic_alias_maximum = s->alias_in_max;
            r->present |= MQWS_PROPF_TOPIC_ALIAS_MAXIMUM;
        }
        if (!(s->caps & CAP_WILD)) {
            r->wildcard_sub_available = 0;
            r->present |= MQWS_PROPF_WILDCARD_SUBSCRIPTION_AVAILABLE;
        }
        if (!(s->caps & CAP_SUBID)) {
            r->sub_id_available = 0;
            r->present |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER_AVAILABLE;
        }
        if (!(s->caps & CAP_SHARED)) {
            r->shared_sub_available = 0;
            r->present |= MQWS_PROPF_SHARED_SUBSCRIPTION_AVAILABLE;
        }
        if (s->server_keep_alive) {
            r->server_keep_alive = s->server_keep_alive;
            r->present |= MQWS_PROPF_SERVER_KEEP_ALIVE;
        }
        if (!s->expiry_zero_connect || s->session_expiry) {
            /* Tell the client the interval in force when it differs from its request. */
            r->session_expiry = s->session_expiry;
            r->present |= MQWS_PROPF_SESSION_EXPIRY_INTERVAL;
        }
        if ((s->flags & F_WANTS_RESP_INFO) && s->response_info &&
            !(r->present & MQWS_PROPF_RESPONSE_INFORMATION)) {
            r->response_info = mqws_view_cstr(s->response_info);
            r->present |= MQWS_PROPF_RESPONSE_INFORMATION;
        }
    }
    int rc = queue_packet(s, &p);
    if (rc < 0) {
        sess_close(s, rc, MQWS_RC_UNSPECIFIED_ERROR, 0, NULL, "CONNACK could not be queued", 0, 0,
                   NULL);
        return rc;
    }
    s->state = MQWS_SESSION_CONNECTED;
    s->auth_pending = 0;
    s->deadline_connect = NO_DEADLINE;
    s->last_rx = s->now;
    if (!resumed) {
        /* Nothing of an earlier session survives [MQTT-3.2.2-2]: inflight messages go, queued
         * ones are new messages for the new session. */
        free_msg_list(s, &s->infl_head, &s->infl_tail);
        s->infl_count = 0;
        idset_free(s, &s->in_qos2);
    }
    rc = resend_inflight(s);
    if (rc >= 0)
        rc = pump(s);
    if (rc < 0) {
        proto_close(s, rc, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
        return rc;
    }
    drain_early(s); /* packets that arrived while the host decided */
    return MQWS_OK;
}

int mqws_session_reject(mqws_session *s, uint8_t reason, const mqws_props *props) {
    if (!s || s->role != MQWS_SESSION_SERVER || s->state != MQWS_SESSION_CONNECTING)
        return MQWS_ESTATE;
    if (reason < 0x80)
        return MQWS_EINVAL;
    if (s->level == MQWS_MQTT_5) {
        mqws_packet p;
        mqws_packet_init(&p, MQWS_PKT_CONNACK);
        p.reason_code = reason;
        if (props) {
            p.props = *props;
            p.props.present &= MQWS_PROPF_REASON_STRING | MQWS_PROPF_USER_PROPERTY |
                               MQWS_PROPF_SERVER_REFERENCE | MQWS_PROPF_AUTHENTICATION_METHOD |
                               MQWS_PROPF_AUTHENTICATION_DATA;
        }
        if (queue_packet(s, &p) < 0) {
            mqws_props_init(&p.props);
            (void)queue_packet(s, &p);
        }
    } else {
        uint8_t b[4] = {0x20, 0x02, 0x00, connack_v3_code(reason)};
        (void)queue_raw(s, b, 4);
    }
    /* A refused connection never had a session: its will is not published. */
    sess_close(s, MQWS_EHANDSHAKE, reason, 0, NULL, "CONNECT refused", 0, 0, NULL);
    return MQWS_OK;
}

int mqws_session_auth(mqws_session *s, uint8_t reason, const mqws_props *props) {
    if (!s || !sess_is_open(s) || s->level != MQWS_MQTT_5)
        return MQWS_ESTATE;
    if (reason != 0x00 && reason != MQWS_RC_CONTINUE_AUTHENTICATION &&
        reason != MQWS_RC_REAUTHENTICATE)
        return MQWS_EINVAL;
    if (!props || !(props->present & MQWS_PROPF_AUTHENTICATION_METHOD))
        return MQWS_EINVAL; /* [MQTT-3.15.2-1] */
    if (reason == 0x00 && (s->role != MQWS_SESSION_SERVER || s->state != MQWS_SESSION_CONNECTED))
        return MQWS_ESTATE;
    if (reason == MQWS_RC_REAUTHENTICATE &&
        (s->role != MQWS_SESSION_CLIENT || s->state != MQWS_SESSION_CONNECTED))
        return MQWS_ESTATE;
    mqws_packet p;
    mqws_packet_init(&p, MQWS_PKT_AUTH);
    p.reason_code = reason;
    p.props = *props;
    p.props.present &= MQWS_PROPF_AUTHENTICATION_METHOD | MQWS_PROPF_AUTHENTICATION_DATA |
                       MQWS_PROPF_REASON_STRING | MQWS_PROPF_USER_PROPERTY;
    if (s->flags & F_NO_PROBLEM_INFO) { /* not on AUTH when the client said so [MQTT-3.1.2-29] */
        p.props.present &= ~(MQWS_PROPF_REASON_STRING | MQWS_PROPF_USER_PROPERTY);
        p.props.user_prop_count = 0;
        p.props.user_props = NULL;
        p.props.raw.len = 0;
    }
    return queue_packet(s, &p);
}

int mqws_session_takeover(mqws_session *s, mqws_session *old) {
    if (!s || !old || s == old || s->role != MQWS_SESSION_SERVER ||
        s->state != MQWS_SESSION_CONNECTING)
        return MQWS_ESTATE;
    if (sess_is_open(old)) {
        /* [MQTT-3.1.4-3]: the existing connection is closed (5.0: DISCONNECT 0x8E). A new
         * connection to the session exists now, so a delayed will is not sent
         * [MQTT-3.1.3-9]; a will without delay still is. */
        if (old->will && old->will->delay)
            discard_will(old);
        sess_close(old, MQWS_ECLOSED, MQWS_RC_SESSION_TAKEN_OVER, 0, NULL, "session taken over", 1,
                   1, NULL);
    } else {
        discard_will(old);
    }
    if (old->expired)
        return MQWS_ENOTFOUND;
    drop_persistent(s);
    s->infl_head = old->infl_head;
    s->infl_tail = old->infl_tail;
    s->infl_count = old->infl_count;
    s->q_head = old->q_head;
    s->q_tail = old->q_tail;
    s->q_count = old->q_count;
    s->q_bytes = old->q_bytes;
    s->in_qos2 = old->in_qos2;
    s->next_pid = old->next_pid;
    s->pid_wrapped = old->pid_wrapped;
    old->infl_head = old->infl_tail = old->q_head = old->q_tail = NULL;
    old->infl_count = old->q_count = old->q_bytes = 0;
    memset(&old->in_qos2, 0, sizeof(old->in_qos2));
    /* The old connection keeps its queued bytes (its DISCONNECT 0x8E among them): they hold
     * their own references, and the new connection resends what is unacknowledged. */
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Inbound packets */

static int queue_ack(mqws_session *s, int type, uint16_t pid, uint8_t reason) {
    /* The common case is 4 bytes (3.1.1, or 5.0 with reason 0x00 and no properties). */
    uint8_t b[5];
    size_t n = 4;
    b[0] = (uint8_t)(type << 4 | (type == MQWS_PKT_PUBREL ? 2 : 0));
    b[1] = 2;
    mqws__store16(b + 2, pid);
    if (s->level == MQWS_MQTT_5 && reason) {
        b[1] = 3;
        b[4] = reason;
        n = 5;
    }
    return queue_raw(s, b, n);
}

static const uint8_t *resolve_alias(mqws_session *s, mqws_packet *p) {
    uint16_t alias = p->props.topic_alias;
    if (alias == 0 || alias > s->alias_in_max) { /* [MQTT-3.3.2-8] [MQTT-3.3.2-9] */
        proto_close(s, MQWS_EPROTO, MQWS_RC_TOPIC_ALIAS_INVALID, "MQTT-3.3.2-9",
                    "topic alias out of range");
        return NULL;
    }
    if (!s->alias_in) {
        s->alias_in = mqws__alloc(s->a, s->alias_in_max * sizeof(sess_alias_in));
        if (!s->alias_in) {
            proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
            return NULL;
        }
        memset(s->alias_in, 0, s->alias_in_max * sizeof(sess_alias_in));
    }
    sess_alias_in *e = &s->alias_in[alias - 1];
    if (p->topic.len) {
        if (e->len != p->topic.len || memcmp(e->topic, p->topic.ptr, p->topic.len) != 0) {
            uint8_t *copy = mqws__alloc(s->a, p->topic.len);
            if (!copy) {
                proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
                return NULL;
            }
            memcpy(copy, p->topic.ptr, p->topic.len);
            mqws__free(s->a, e->topic, e->len);
            e->topic = copy;
            e->len = (uint16_t)p->topic.len;
        }
    } else {
        if (!e->topic) { /* an alias never set: protocol error (§3.3.2.3.4) */
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL,
                        "topic alias without a mapping");
            return NULL;
        }
        p->topic.ptr = e->topic;
        p->topic.len = e->len;
    }
    p->props.present &= ~MQWS_PROPF_TOPIC_ALIAS;
    return p->topic.ptr;
}

static void handle_publish(mqws_session *s, mqws_packet *p) {
    s->publish_in++;
    if (s->role == MQWS_SESSION_SERVER) {
        if (p->qos > s->maximum_qos) {
            proto_close(s, MQWS_EPROTO, MQWS_RC_QOS_NOT_SUPPORTED, "MQTT-3.2.2-11",
                        "PUBLISH QoS above the maximum QoS");
            return;
        }
        if (p->retain && !(s->caps & CAP_RETAIN)) {
            proto_close(s, MQWS_EPROTO, MQWS_RC_RETAIN_NOT_SUPPORTED, "MQTT-3.2.2-14",
                        "retain not available");
            return;
        }
    }
    if (s->level == MQWS_MQTT_5 && (p->props.present & MQWS_PROPF_TOPIC_ALIAS)) {
        if (!resolve_alias(s, p))
            return;
    } else if (p->topic.len == 0) {
        proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, "MQTT-3.3.2-1",
                    "empty topic without a topic alias");
        return;
    }
    if ((s->flags & MQWS_SESSION_REJECT_DISCOURAGED) &&
        mqws_utf8_has_discouraged(p->topic.ptr, p->topic.len)) {
        proto_close(s, MQWS_EUTF8, MQWS_RC_TOPIC_NAME_INVALID, NULL,
                    "topic holds discouraged code points");
        return;
    }
    if ((s->flags & MQWS_SESSION_CHECK_PAYLOAD_FORMAT) && s->level == MQWS_MQTT_5 &&
        (p->props.present & MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR) && p->props.payload_format == 1 &&
        mqws_utf8_check_mqtt(p->payload.ptr, p->payload.len, NULL) != MQWS_OK) {
        /* Payload Format Indicator 1 with a payload that is not UTF-8 (§3.3.2.3.2): refused
         * in the acknowledgement, or with DISCONNECT 0x99 for QoS 0. Not delivered. */
        int rc2 = MQWS_OK;
        if (p->qos == 0)
            proto_close(s, MQWS_EUTF8, MQWS_RC_PAYLOAD_FORMAT_INVALID, NULL,
                        "payload is not the UTF-8 its format indicator says");
        else
            rc2 = queue_ack(s, p->qos == 1 ? MQWS_PKT_PUBACK : MQWS_PKT_PUBREC, p->packet_id,
                            MQWS_RC_PAYLOAD_FORMAT_INVALID);
        if (rc2 < 0)
            proto_close(s, rc2, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
        return;
    }
    if (p->qos == 2) {
        if (idset_has(&s->in_qos2, p->packet_id)) {
            /* A resend before PUBREL: acknowledge again, deliver once (§4.3.3). */
            if (queue_ack(s, MQWS_PKT_PUBREC, p->packet_id, 0) < 0)
                proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
            return;
        }
        /* [MQTT-3.3.4-9] Only a 5.0 client was told a Receive Maximum (CONNACK). 3.1 / 3.1.1
         * have none, so a client may pipeline any number of QoS 2 messages: the packet
         * identifier space bounds that state (at most 65,535 ids of 2 bytes each). */
        if (s->level == MQWS_MQTT_5 && s->in_qos2.n >= s->recv_max_in) {
            proto_close(s, MQWS_EPROTO, MQWS_RC_RECEIVE_MAXIMUM_EXCEEDED, "MQTT-3.3.4-9",
                        "receive maximum exceeded");
            return;
        }
    }
    int reason = 0;
    if (s->cb->on_publish)
        reason = s->cb->on_publish(s, p, s->user);
    if (!sess_is_open(s))
        return;
    if (reason < 0 || reason > 0xFF)
        reason = MQWS_RC_UNSPECIFIED_ERROR;
    if (reason >= 0x80 && s->level != MQWS_MQTT_5) {
        /* 3.1.1 has no negative acknowledgement: closing is the only refusal. */
        sess_close(s, MQWS_EPROTO, (uint8_t)reason, 0, NULL, "PUBLISH refused by the host", 0, 1,
                   NULL);
        return;
    }
    int rc = MQWS_OK;
    if (p->qos == 1) {
        rc = queue_ack(s, MQWS_PKT_PUBACK, p->packet_id, (uint8_t)reason);
    } else if (p->qos == 2) {
        if (reason < 0x80)
            rc = idset_add(s, &s->in_qos2, p->packet_id);
        if (rc >= 0)
            rc = queue_ack(s, MQWS_PKT_PUBREC, p->packet_id, (uint8_t)reason);
    }
    if (rc < 0)
        proto_close(s, rc, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
}

static sess_msg *infl_find(mqws_session *s, uint16_t pid, sess_msg **prev_out) {
    sess_msg *prev = NULL;
    for (sess_msg *m = s->infl_head; m; prev = m, m = m->next) {
        if (m->packet_id == pid) {
            *prev_out = prev;
            return m;
        }
    }
    return NULL;
}

static void infl_remove(mqws_session *s, sess_msg *m, sess_msg *prev) {
    if (prev)
        prev->next = m->next;
    else
        s->infl_head = m->next;
    if (s->infl_tail == m)
        s->infl_tail = prev;
    s->infl_count--;
    msg_free(s, m);
}

static void handle_ack(mqws_session *s, mqws_packet *p) {
    sess_msg *prev = NULL;
    sess_msg *m = infl_find(s, p->packet_id, &prev);
    int rc = MQWS_OK;
    switch (p->type) {
        case MQWS_PKT_PUBACK:
            if (!m || m->qos != 1 || m->state != MSG_SENT)
                return; /* unknown id: ignore, nothing to free */
            infl_remove(s, m, prev);
            break;
        case MQWS_PKT_PUBREC:
            if (!m || m->qos != 2) {
                /* An unknown id: answer so the peer can finish (§4.3.3, 0x92). */
                rc = queue_pubrel(s, p->packet_id, MQWS_RC_PACKET_IDENTIFIER_NOT_FOUND);
                if (rc < 0)
                    proto_close(s, rc, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
                return;
            }
            if (p->reason_code >= 0x80) {
                infl_remove(s, m, prev);
                break;
            }
            m->state = MSG_RELEASED;
            mqws_slice_unref(m->payload); /* the payload is not needed any more */
            m->payload = NULL;
            rc = queue_pubrel(s, p->packet_id, 0);
            if (rc < 0) {
                proto_close(s, rc, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
                return;
            }
            return; /* the window stays used until PUBCOMP */
        case MQWS_PKT_PUBCOMP:
            if (!m || m->qos != 2 || m->state != MSG_RELEASED)
                return;
            infl_remove(s, m, prev);
            break;
        default:
            return;
    }
    if (s->cb->on_ack)
        s->cb->on_ack(s, p, s->user);
    if (sess_is_open(s) && pump(s) < 0)
        proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
}

static void handle_pubrel(mqws_session *s, mqws_packet *p) {
    int found = idset_del(s, &s->in_qos2, p->packet_id);
    uint8_t reason = found ? 0 : MQWS_RC_PACKET_IDENTIFIER_NOT_FOUND;
    if (queue_ack(s, MQWS_PKT_PUBCOMP, p->packet_id, reason) < 0)
        proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
}

static void handle_subscribe(mqws_session *s, mqws_packet *p) {
    int unsub = p->type == MQWS_PKT_UNSUBSCRIBE;
    uint32_t n = p->entry_count;
    if (s->level == MQWS_MQTT_5 && !unsub &&
        (p->props.present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER) && !(s->caps & CAP_SUBID)) {
        proto_close(s, MQWS_EPROTO, MQWS_RC_SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, NULL,
                    "subscription identifiers not available");
        return;
    }
    /* SUBACK / UNSUBACK is built in place; the host writes its verdicts straight into it. */
    int has_codes = !unsub || s->level == MQWS_MQTT_5;
    size_t body = 2 + (s->level == MQWS_MQTT_5 ? 1 : 0) + (has_codes ? n : 0);
    uint8_t hdr[5];
    hdr[0] = (uint8_t)((unsub ? MQWS_PKT_UNSUBACK : MQWS_PKT_SUBACK) << 4);
    int vl = mqws_varint_encode((uint32_t)body, hdr + 1);
    if (vl < 0 || body + 1 + (size_t)vl > s->max_packet_out) {
        /* An answer the client cannot take: drop it [MQTT-3.1.2-25]... but a SUBACK is
         * required; close instead of leaving the client waiting. */
        proto_close(s, MQWS_ETOOBIG, MQWS_RC_PACKET_TOO_LARGE, NULL, "SUBACK too large");
        return;
    }
    size_t total = 1 + (size_t)vl + body;
    uint8_t *d = out_reserve(s, total);
    if (!d) {
        proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
        return;
    }
    memcpy(d, hdr, 1 + (size_t)vl);
    uint8_t *q = d + 1 + vl;
    mqws__store16(q, p->packet_id);
    q += 2;
    if (s->level == MQWS_MQTT_5)
        *q++ = 0; /* no properties */
    uint8_t *verdicts = q;
    uint8_t scratch[1];
    mqws_entry_iter it;
    mqws_entry_iter_init(p, s->level, &it);
    for (uint32_t i = 0; i < n; i++) {
        if (unsub) {
            mqws_view f;
            if (!mqws_unsubscribe_next(&it, &f))
                break;
            if (has_codes)
                verdicts[i] = 0x00;
            continue;
        }
        mqws_subscription e;
        if (!mqws_subscribe_next(&it, &e))
            break;
        uint8_t v = e.qos > s->maximum_qos ? s->maximum_qos : e.qos;
        int shared = e.filter.len >= 7 && memcmp(e.filter.ptr, "$share/", 7) == 0;
        int wild =
            memchr(e.filter.ptr, '+', e.filter.len) || memchr(e.filter.ptr, '#', e.filter.len);
        if (shared && !(s->caps & CAP_SHARED))
            v = MQWS_RC_SHARED_SUBSCRIPTIONS_NOT_SUPPORTED;
        else if (wild && !(s->caps & CAP_WILD))
            v = MQWS_RC_WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED;
        verdicts[i] = v;
    }
    out_commit(s, total);
    mqws_on_subscribe_cb fn = unsub ? s->cb->on_unsubscribe : s->cb->on_subscribe;
    if (fn)
        fn(s, p, has_codes ? verdicts : scratch, s->user);
    if (s->level != MQWS_MQTT_5 && !unsub)
        for (uint32_t i = 0; i < n; i++)
            if (verdicts[i] >= 0x80 || verdicts[i] > 2)
                verdicts[i] = 0x80; /* 3.1.1 has one failure code */
}

static void client_handle_connack(mqws_session *s, mqws_packet *p) {
    if (p->reason_code != 0) {
        if (s->cb->on_connack)
            s->cb->on_connack(s, p, s->user);
        sess_close(s, MQWS_EHANDSHAKE,
                   s->level == MQWS_MQTT_5 ? p->reason_code : MQWS_RC_UNSPECIFIED_ERROR, 1, NULL,
                   "CONNECT refused by the server", 0, 1, NULL);
        return;
    }
    s->state = MQWS_SESSION_CONNECTED;
    s->deadline_connect = NO_DEADLINE;
    s->window_out = s->inflight_cfg;
    s->peer_max_qos = 2;
    s->peer_retain = 1;
    s->alias_out_max = 0;
    s->max_packet_out = MQWS_MAX_PACKET_SIZE;
    if (s->level == MQWS_MQTT_5) {
        const mqws_props *r = &p->props;
        if ((r->present & MQWS_PROPF_RECEIVE_MAXIMUM) && r->receive_maximum < s->window_out)
            s->window_out = r->receive_maximum;
        if (r->present & MQWS_PROPF_MAXIMUM_QOS)
            s->peer_max_qos = r->maximum_qos;
        if (r->present & MQWS_PROPF_RETAIN_AVAILABLE)
            s->peer_retain = r->retain_available;
        if (r->present & MQWS_PROPF_MAXIMUM_PACKET_SIZE)
            s->max_packet_out = r->maximum_packet_size;
        if (r->present & MQWS_PROPF_TOPIC_ALIAS_MAXIMUM)
            s->alias_out_max = r->topic_alias_maximum < s->alias_out_cfg ? r->topic_alias_maximum
                                                                         : s->alias_out_cfg;
        if (r->present & MQWS_PROPF_SERVER_KEEP_ALIVE) /* [MQTT-3.2.2-21] */
            s->keep_alive = r->server_keep_alive;
        if (r->present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL)
            s->session_expiry = r->session_expiry;
        if (r->present & MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER &&
            set_client_id(s, r->assigned_client_id.ptr, r->assigned_client_id.len) < 0) {
            proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
            return;
        }
    }
    /* 3.1 has no Session Present flag: a client asking for a persistent session assumes it. */
    int present = p->session_present || (s->level == MQWS_MQTT_31 && !s->clean_start);
    if (!present) {
        /* The server has no session: our unacknowledged messages are gone with it
         * (§4.1); report them dropped. */
        sess_msg *m = s->infl_head;
        s->infl_head = s->infl_tail = NULL;
        s->infl_count = 0;
        while (m) {
            sess_msg *next = m->next;
            drop_msg(s, m, MQWS_ECLOSED);
            m = next;
        }
        idset_free(s, &s->in_qos2);
    }
    if (s->cb->on_connack)
        s->cb->on_connack(s, p, s->user);
    if (!sess_is_open(s))
        return;
    int rc = resend_inflight(s);
    if (rc >= 0)
        rc = pump(s);
    if (rc < 0)
        proto_close(s, rc, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
}

static void handle_disconnect(mqws_session *s, mqws_packet *p) {
    uint8_t reason = p->reason_code;
    if (s->role == MQWS_SESSION_SERVER && s->level == MQWS_MQTT_5 &&
        (p->props.present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL)) {
        if (s->expiry_zero_connect && p->props.session_expiry != 0) {
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL,
                        "session expiry set at DISCONNECT after 0 at CONNECT");
            return;
        }
        s->session_expiry = p->props.session_expiry > s->max_session_expiry
                                ? s->max_session_expiry
                                : p->props.session_expiry;
    }
    int keep_will = s->level == MQWS_MQTT_5 ? reason != 0x00 : 0;
    sess_close(s, reason >= 0x80 ? MQWS_EPROTO : MQWS_OK, reason, 1, NULL,
               "DISCONNECT from the peer", 0, keep_will, p);
}

static void handle_auth(mqws_session *s, mqws_packet *p) {
    int ok;
    if (s->role == MQWS_SESSION_SERVER)
        ok = (s->state == MQWS_SESSION_CONNECTING && s->auth_pending &&
              p->reason_code == MQWS_RC_CONTINUE_AUTHENTICATION) ||
             (s->state == MQWS_SESSION_CONNECTED && p->reason_code == MQWS_RC_REAUTHENTICATE);
    else
        ok = s->state == MQWS_SESSION_CONNECTING || s->state == MQWS_SESSION_CONNECTED;
    if (!ok) {
        proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL, "unexpected AUTH");
        return;
    }
    if (s->cb->on_auth)
        s->cb->on_auth(s, p, s->user);
    else
        proto_close(s, MQWS_EPROTO, MQWS_RC_BAD_AUTHENTICATION_METHOD, NULL,
                    "enhanced authentication not supported");
}

static void handle_packet(mqws_session *s, const uint8_t *buf, size_t len) {
    mqws_packet p;
    mqws_decode_error e;
    uint32_t dir =
        s->role == MQWS_SESSION_SERVER ? MQWS_DECODE_FROM_CLIENT : MQWS_DECODE_FROM_SERVER;
    uint8_t level = s->level ? s->level : MQWS_MQTT_311;
    s->packets_in++;
    s->bytes_in += len;
    s->last_rx = s->now;
    /* The common case needs no error details: ask for them only when decoding failed. */
    int rc = mqws_decode(buf, len, level, dir, &p, NULL);
    if (MQWS_UNLIKELY(rc < 0)) {
        memset(&e, 0, sizeof(e));
        rc = mqws_decode(buf, len, level, dir, &p, &e);
    }
    if (s->role == MQWS_SESSION_SERVER && !s->connect_seen) {
        if (rc == MQWS_EUNSUPPORTED && p.type == MQWS_PKT_CONNECT) {
            /* [MQTT-3.1.2-2]: answer in the form the client can read, then close. */
            s->level = p.protocol_level == MQWS_MQTT_5 || p.protocol_level > MQWS_MQTT_5
                           ? MQWS_MQTT_5
                           : MQWS_MQTT_311;
            s->connect_seen = 1;
            refuse_connect(s, MQWS_EUNSUPPORTED, MQWS_RC_UNSUPPORTED_PROTOCOL_VERSION,
                           "MQTT-3.1.2-2", "protocol version not supported");
            return;
        }
        if (rc < 0) {
            sess_close(s, rc, e.reason ? e.reason : MQWS_RC_MALFORMED_PACKET, 0, e.statement,
                       e.message ? e.message : "malformed CONNECT", 0, 0, NULL);
            return;
        }
        if (p.type != MQWS_PKT_CONNECT) { /* [MQTT-3.1.0-1] */
            sess_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, 0, "MQTT-3.1.0-1",
                       "first packet is not CONNECT", 0, 0, NULL);
            return;
        }
        handle_connect(s, &p);
        return;
    }
    if (rc < 0) {
        proto_close(s, rc, e.reason ? e.reason : MQWS_RC_MALFORMED_PACKET, e.statement,
                    e.message ? e.message : "malformed packet");
        return;
    }
    if (s->role == MQWS_SESSION_SERVER) {
        if (p.type == MQWS_PKT_CONNECT) { /* [MQTT-3.1.0-2] */
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, "MQTT-3.1.0-2", "second CONNECT");
            return;
        }
        if (s->state == MQWS_SESSION_CONNECTING && p.type != MQWS_PKT_AUTH &&
            p.type != MQWS_PKT_DISCONNECT) {
            /* Packets before the CONNACK: only AUTH belongs there; others are an error while
             * the answer is pending (asynchronous authentication) (§4.12). */
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL,
                        "packet before authentication finished");
            return;
        }
    } else {
        if (s->state == MQWS_SESSION_CONNECTING && p.type != MQWS_PKT_CONNACK &&
            p.type != MQWS_PKT_AUTH && p.type != MQWS_PKT_DISCONNECT) {
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL,
                        "first packet from the server is not CONNACK");
            return;
        }
        if (p.type == MQWS_PKT_CONNACK && s->state != MQWS_SESSION_CONNECTING) {
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL, "second CONNACK");
            return;
        }
    }
    switch (p.type) {
        case MQWS_PKT_PUBLISH:
            handle_publish(s, &p);
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBCOMP:
            handle_ack(s, &p);
            break;
        case MQWS_PKT_PUBREL:
            handle_pubrel(s, &p);
            break;
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE:
            handle_subscribe(s, &p);
            break;
        case MQWS_PKT_PINGREQ: {
            uint8_t b[2] = {0xD0, 0x00};
            if (queue_raw(s, b, 2) < 0)
                proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
            break;
        }
        case MQWS_PKT_PINGRESP:
            s->ping_sent_at = 0;
            break;
        case MQWS_PKT_DISCONNECT:
            handle_disconnect(s, &p);
            break;
        case MQWS_PKT_AUTH:
            handle_auth(s, &p);
            break;
        case MQWS_PKT_CONNACK:
            client_handle_connack(s, &p);
            break;
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            if (!idset_del(s, &s->pending_sub, p.packet_id)) {
                proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL,
                            "acknowledgement for an unknown packet identifier");
                break;
            }
            if (s->cb->on_ack)
                s->cb->on_ack(s, &p, s->user);
            break;
        default:
            proto_close(s, MQWS_EPROTO, MQWS_RC_PROTOCOL_ERROR, NULL, "unexpected packet");
            break;
    }
}

static int header_complete(const uint8_t *b, size_t n) {
    uint32_t v;
    return n >= 2 && mqws_varint_decode(b + 1, n - 1, &v) != 0;
}

static void frame_error(mqws_session *s, int rc) {
    /* Refused from the fixed header, before buffering: the peer broke our Maximum Packet Size
     * (server: [MQTT-3.2.2-15]; client: [MQTT-3.1.2-24]); 0x95. */
    if (rc == MQWS_ETOOBIG)
        proto_close(s, rc, MQWS_RC_PACKET_TOO_LARGE,
                    s->role == MQWS_SESSION_SERVER ? "MQTT-3.2.2-15" : "MQTT-3.1.2-24",
                    "packet larger than the maximum packet size");
    else
        proto_close(s, rc, MQWS_RC_MALFORMED_PACKET, "MQTT-1.5.5-1", "malformed fixed header");
}

/* Keep what a client sent behind its CONNECT while the host decides (asynchronous
 * authentication): a client need not wait for CONNACK (§3.1.4), and the host's buffer is not
 * kept. Bounded; processed in order once accepted. */
#define EARLY_MAX 65536u

static int stash_early(mqws_session *s, const uint8_t *b, size_t n) {
    if (n > EARLY_MAX - s->early_len) {
        proto_close(s, MQWS_ELIMIT, MQWS_RC_QUOTA_EXCEEDED, NULL, "too much data before CONNACK");
        return MQWS_ELIMIT;
    }
    uint8_t *e = s->early ? mqws__realloc(s->a, s->early, s->early_len, s->early_len + n)
                          : mqws__alloc(s->a, n);
    if (!e) {
        proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
        return MQWS_ENOMEM;
    }
    memcpy(e + s->early_len, b, n);
    s->early = e;
    s->early_len += (uint32_t)n;
    return MQWS_OK;
}

static int64_t recv_bytes(mqws_session *s, const uint8_t *buf, size_t len) {
    size_t pos = 0;
    while (pos < len && sess_is_open(s)) {
        if (s->role == MQWS_SESSION_SERVER && s->state == MQWS_SESSION_CONNECTING &&
            !s->auth_pending && s->in_len == 0) {
            if (stash_early(s, buf + pos, len - pos) == MQWS_OK)
                pos = len;
            break;
        }
        if (s->in_len == 0) {
            mqws_frame_info fi;
            int rc = mqws_frame(buf + pos, len - pos, s->max_packet_in, &fi);
            if (rc == MQWS_FRAME_READY) {
                handle_packet(s, buf + pos, fi.total_len);
                pos += fi.total_len;
                continue;
            }
            if (rc < 0) {
                frame_error(s, rc);
                break;
            }
        }
        if (s->in_total == 0) {
            /* Collect the fixed header (at most 5 bytes) without allocating. */
            while (pos < len && s->in_len < 5 && !header_complete(s->in_hdr, s->in_len))
                s->in_hdr[s->in_len++] = buf[pos++];
            if (!header_complete(s->in_hdr, s->in_len) && s->in_len < 5)
                break; /* need more */
            mqws_frame_info fi;
            int rc = mqws_frame(s->in_hdr, s->in_len, s->max_packet_in, &fi);
            if (rc < 0) {
                frame_error(s, rc);
                break;
            }
            if (rc == MQWS_FRAME_READY) {
                uint8_t tmp[5];
                memcpy(tmp, s->in_hdr, fi.total_len);
                s->in_len = 0;
                handle_packet(s, tmp, fi.total_len);
                continue;
            }
            /* Exactly the packet's size, now that the header is known. */
            s->inbuf = mqws__alloc(s->a, fi.total_len);
            if (!s->inbuf) {
                proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
                break;
            }
            memcpy(s->inbuf, s->in_hdr, s->in_len);
            s->in_total = fi.total_len;
        }
        size_t take = s->in_total - s->in_len;
        if (take > len - pos)
            take = len - pos;
        memcpy(s->inbuf + s->in_len, buf + pos, take);
        s->in_len += (uint32_t)take;
        pos += take;
        if (s->in_len == s->in_total) {
            uint8_t *b = s->inbuf;
            uint32_t n = s->in_total;
            handle_packet(s, b, n);
            /* handle_packet may have closed the session, which resets the input. */
            if (s->inbuf == b) {
                s->inbuf = NULL;
                s->in_len = s->in_total = 0;
                mqws__free(s->a, b, n);
            }
        }
    }
    if (!sess_is_open(s) && s->close.error < 0)
        return s->close.error;
    return (int64_t)pos;
}

static void drain_early(mqws_session *s) {
    while (s->early && s->state == MQWS_SESSION_CONNECTED && !s->in_recv) {
        uint8_t *b = s->early;
        uint32_t n = s->early_len;
        s->early = NULL;
        s->early_len = 0;
        s->in_recv = 1;
        (void)recv_bytes(s, b, n);
        s->in_recv = 0;
        mqws__free(s->a, b, n);
    }
}

int64_t mqws_session_recv(mqws_session *s, const uint8_t *buf, size_t len) {
    if (!s || (!buf && len))
        return MQWS_EINVAL;
    if (!sess_is_open(s))
        return MQWS_ECLOSED;
    if (s->role == MQWS_SESSION_CLIENT && s->state == MQWS_SESSION_IDLE)
        return MQWS_ESTATE;
    if (s->in_recv)
        return MQWS_ESTATE; /* not from inside a callback */
    s->in_recv = 1;
    int64_t r = recv_bytes(s, buf, len);
    s->in_recv = 0;
    drain_early(s);
    return r;
}

void mqws_session_eof(mqws_session *s) {
    if (!s)
        return;
    if (sess_is_open(s))
        sess_close(s, MQWS_ECLOSED, MQWS_RC_UNSPECIFIED_ERROR, 1, NULL, "connection lost", 0, 1,
                   NULL);
    out_clear(s);
    if (s->state == MQWS_SESSION_CLOSING)
        s->state = MQWS_SESSION_CLOSED;
}

/* ------------------------------------------------------------------------------------------ */
/* Time */

static int64_t add_ms(int64_t t, int64_t ms) { return t > NO_DEADLINE - ms ? NO_DEADLINE : t + ms; }

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void mqws_session_set_now(mqws_session *s, int64_t now_ms) {
    if (s)
        s->now = now_ms;
}

int64_t mqws_session_tick(mqws_session *s, int64_t now_ms) {
    s->now = now_ms;
    int64_t next = NO_DEADLINE;
    if (s->state == MQWS_SESSION_IDLE || s->state == MQWS_SESSION_CONNECTING) {
        if (s->deadline_connect != NO_DEADLINE) {
            if (now_ms >= s->deadline_connect) {
                if (s->role == MQWS_SESSION_SERVER && s->state == MQWS_SESSION_CONNECTING)
                    (void)mqws_session_reject(s, MQWS_RC_SERVER_UNAVAILABLE, NULL);
                else
                    sess_close(s, MQWS_EHANDSHAKE, MQWS_RC_MAXIMUM_CONNECT_TIME, 0, NULL,
                               "CONNECT / CONNACK timeout", 0, 0, NULL);
            } else {
                next = s->deadline_connect;
            }
        }
    } else if (s->state == MQWS_SESSION_CONNECTED && s->keep_alive) {
        int64_t ka = (int64_t)s->keep_alive * 1000;
        if (s->role == MQWS_SESSION_SERVER) {
            int64_t dl = add_ms(s->last_rx, ka + ka / 2); /* [MQTT-3.1.2-24] */
            if (now_ms >= dl)
                proto_close(s, MQWS_ECLOSED, MQWS_RC_KEEP_ALIVE_TIMEOUT, "MQTT-3.1.2-24",
                            "keep alive timeout");
            else
                next = dl;
        } else if (s->ping_sent_at) {
            int64_t dl = add_ms(s->ping_sent_at, ka);
            if (now_ms >= dl)
                sess_close(s, MQWS_ECLOSED, MQWS_RC_KEEP_ALIVE_TIMEOUT, 0, NULL, "no PINGRESP", 0,
                           1, NULL);
            else
                next = dl;
        } else {
            int64_t dl = add_ms(s->last_tx, ka); /* [MQTT-3.1.2-23] */
            if (now_ms >= dl) {
                uint8_t b[2] = {0xC0, 0x00};
                if (queue_raw(s, b, 2) < 0) {
                    proto_close(s, MQWS_ENOMEM, MQWS_RC_UNSPECIFIED_ERROR, NULL, "out of memory");
                } else {
                    s->ping_sent_at = now_ms;
                    next = add_ms(now_ms, ka);
                }
            } else {
                next = dl;
            }
        }
    }
    if (!sess_is_open(s) && s->role == MQWS_SESSION_SERVER && !s->expired && s->connect_seen) {
        if (s->will) {
            uint32_t d = s->will->delay < s->session_expiry ? s->will->delay : s->session_expiry;
            int64_t at = add_ms(s->closed_at, (int64_t)d * 1000);
            if (now_ms >= at)
                fire_will(s); /* [MQTT-3.1.3-9] */
            else
                next = min64(next, at);
        }
        if (s->session_expiry != 0xFFFFFFFFu &&
            (s->infl_head || s->q_head || s->in_qos2.n || s->session_expiry > 0)) {
            int64_t at = add_ms(s->closed_at, (int64_t)s->session_expiry * 1000);
            if (now_ms >= at) {
                fire_will(s);
                drop_persistent(s);
                s->expired = 1;
                if (s->cb->on_expired)
                    s->cb->on_expired(s, s->user);
            } else {
                next = min64(next, at);
            }
        }
    }
    return next;
}

/* ------------------------------------------------------------------------------------------ */
/* Both roles: disconnect */

int mqws_session_disconnect(mqws_session *s, uint8_t reason, const mqws_props *props) {
    if (!s || !sess_is_open(s))
        return MQWS_ECLOSED;
    if (s->role == MQWS_SESSION_SERVER && s->state == MQWS_SESSION_CONNECTING)
        return mqws_session_reject(s, reason >= 0x80 ? reason : MQWS_RC_UNSPECIFIED_ERROR, props);
    if (s->state == MQWS_SESSION_CONNECTED ||
        (s->role == MQWS_SESSION_CLIENT && s->state == MQWS_SESSION_CONNECTING)) {
        mqws_packet d;
        mqws_packet_init(&d, MQWS_PKT_DISCONNECT);
        d.reason_code = reason;
        if (props && s->level == MQWS_MQTT_5) {
            d.props = *props;
            d.props.present &= MQWS_PROPF_SESSION_EXPIRY_INTERVAL | MQWS_PROPF_REASON_STRING |
                               MQWS_PROPF_USER_PROPERTY | MQWS_PROPF_SERVER_REFERENCE;
            if (s->role == MQWS_SESSION_SERVER)
                d.props.present &=
                    ~MQWS_PROPF_SESSION_EXPIRY_INTERVAL; /* servers never send it (§3.14.2.2.2) */
            else if (d.props.present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL)
                s->session_expiry = d.props.session_expiry;
        }
        if (s->level == MQWS_MQTT_5 || s->role == MQWS_SESSION_CLIENT)
            (void)queue_packet(s, &d);
    }
    sess_close(s, MQWS_OK, reason, 0, NULL, "closed by the host", 0, 1, NULL);
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Client role */

int mqws_session_connect(mqws_session *s, const mqws_packet *connect) {
    if (!s || !connect || s->role != MQWS_SESSION_CLIENT)
        return MQWS_EINVAL;
    if (s->state != MQWS_SESSION_IDLE && s->state != MQWS_SESSION_CLOSED)
        return MQWS_ESTATE;
    mqws_packet c = *connect;
    c.type = MQWS_PKT_CONNECT;
    c.flags = 0;
    c.protocol_level = s->level;
    if (s->level == MQWS_MQTT_31) {
        c.protocol_name.ptr = (const uint8_t *)"MQIsdp";
        c.protocol_name.len = 6;
    } else {
        c.protocol_name.ptr = (const uint8_t *)"MQTT";
        c.protocol_name.len = 4;
    }
    if (s->level == MQWS_MQTT_5) {
        mqws_props *r = &c.props;
        r->present &= ~(MQWS_PROPF_RECEIVE_MAXIMUM | MQWS_PROPF_MAXIMUM_PACKET_SIZE |
                        MQWS_PROPF_TOPIC_ALIAS_MAXIMUM);
        if (s->recv_max_in != 65535u) {
            r->receive_maximum = s->recv_max_in;
            r->present |= MQWS_PROPF_RECEIVE_MAXIMUM;
        }
        if (s->max_packet_in < MQWS_MAX_PACKET_SIZE) {
            r->maximum_packet_size = s->max_packet_in;
            r->present |= MQWS_PROPF_MAXIMUM_PACKET_SIZE;
        }
        if (s->alias_in_max) {
            r->topic_alias_maximum = s->alias_in_max;
            r->present |= MQWS_PROPF_TOPIC_ALIAS_MAXIMUM;
        }
    } else {
        mqws_props_init(&c.props);
        mqws_props_init(&c.will_props);
    }
    /* Everything a strict server would check (UTF-8 of every string included). */
    if (mqws_validate(&c, s->level, MQWS_DECODE_FROM_CLIENT, NULL) != MQWS_OK)
        return MQWS_EINVAL;
    if (set_client_id(s, c.client_id.ptr, c.client_id.len) < 0)
        return MQWS_ENOMEM;
    /* A new transport: nothing of the old connection's bytes or aliases survives. */
    out_clear(s);
    input_reset(s);
    aliases_free(s);
    memset(&s->close, 0, sizeof(s->close));
    int rc = queue_packet(s, &c);
    if (rc < 0)
        return rc;
    s->keep_alive = c.keep_alive;
    s->clean_start = c.clean_start;
    s->session_expiry =
        (s->level == MQWS_MQTT_5 && (c.props.present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL))
            ? c.props.session_expiry
            : 0;
    if (c.clean_start) {
        sess_msg *m = s->infl_head;
        s->infl_head = s->infl_tail = NULL;
        s->infl_count = 0;
        while (m) {
            sess_msg *next = m->next;
            drop_msg(s, m, MQWS_ECLOSED);
            m = next;
        }
        idset_free(s, &s->in_qos2);
    }
    s->state = MQWS_SESSION_CONNECTING;
    s->ping_sent_at = 0;
    s->last_rx = s->last_tx = s->now;
    s->deadline_connect =
        s->connect_timeout_ms ? s->now + (int64_t)s->connect_timeout_ms : NO_DEADLINE;
    return MQWS_OK;
}

static int client_sub(mqws_session *s, int type, const mqws_subscription *subs,
                      const mqws_view *filters, size_t n, const mqws_props *props,
                      uint16_t *packet_id) {
    if (packet_id)
        *packet_id = 0;
    if (!s || s->role != MQWS_SESSION_CLIENT || n == 0 || n > 65535u)
        return MQWS_EINVAL;
    if (s->state != MQWS_SESSION_CONNECTED && s->state != MQWS_SESSION_CONNECTING)
        return MQWS_ESTATE;
    mqws_packet p;
    mqws_packet_init(&p, type);
    p.entry_count = (uint32_t)n;
    p.subs = subs;
    p.unsub_filters = filters;
    if (props && s->level == MQWS_MQTT_5)
        p.props = *props;
    mqws_decode_error e;
    p.packet_id = 1; /* validated before an id is taken */
    int rc = mqws_validate(&p, s->level, MQWS_DECODE_FROM_CLIENT, &e);
    if (rc < 0)
        return MQWS_EINVAL;
    uint16_t pid = alloc_pid(s);
    if (!pid)
        return MQWS_ELIMIT;
    p.packet_id = pid;
    rc = idset_add(s, &s->pending_sub, pid);
    if (rc < 0)
        return rc;
    rc = queue_packet(s, &p);
    if (rc < 0) {
        idset_del(s, &s->pending_sub, pid);
        return rc;
    }
    if (packet_id)
        *packet_id = pid;
    return MQWS_OK;
}

int mqws_session_subscribe(mqws_session *s, const mqws_subscription *subs, size_t n,
                           const mqws_props *props, uint16_t *packet_id) {
    if (!subs)
        return MQWS_EINVAL;
    return client_sub(s, MQWS_PKT_SUBSCRIBE, subs, NULL, n, props, packet_id);
}

int mqws_session_unsubscribe(mqws_session *s, const mqws_view *filters, size_t n,
                             const mqws_props *props, uint16_t *packet_id) {
    if (!filters)
        return MQWS_EINVAL;
    return client_sub(s, MQWS_PKT_UNSUBSCRIBE, NULL, filters, n, props, packet_id);
}

/* ------------------------------------------------------------------------------------------ */
/* Persistence: snapshot and restore.
 *
 * Format version 1, all integers big-endian:
 *   "MQWS" 'S' version(1) role(1) level(1) flags(1: bit 0 ids wrapped) 0(1)
 *   session_expiry(4) next_packet_id(2) client_id_len(2) client_id 0(2)
 *   inbound_qos2_count(2) ids(2 each)
 *   message_count(4), then per message:
 *     where(1: 0 in flight, 1 waiting) qos(1) retain(1) state(1: 0 waiting, 1 sent, 2 released)
 *     packet_id(2) topic_len(2) props_len(4) sub_id_count(2)
 *     expiry_left_ms(4, 0xFFFFFFFF = none) payload_len(4)
 *     topic, props (pass-through properties, wire form), sub ids (4 each), payload */

#define SNAP_VERSION 1u
#define SNAP_HEADER  20u
#define SNAP_MSG_FIX 24u

static size_t snap_msg_size(const sess_msg *m) {
    return SNAP_MSG_FIX + m->topic_len + m->props_len + 4u * (size_t)m->sub_id_count +
           msg_payload_len(m);
}

size_t mqws_session_snapshot_size(const mqws_session *s) {
    size_t n = SNAP_HEADER + s->client_id_len + 2u + 2u * (size_t)s->in_qos2.n + 4u;
    for (const sess_msg *m = s->infl_head; m; m = m->next)
        n += snap_msg_size(m);
    for (const sess_msg *m = s->q_head; m; m = m->next)
        n += snap_msg_size(m);
    return n;
}

static uint8_t *snap_msg(const mqws_session *s, const sess_msg *m, uint8_t where, uint8_t *d) {
    d[0] = where;
    d[1] = m->qos;
    d[2] = m->retain;
    d[3] = m->state;
    mqws__store16(d + 4, m->packet_id);
    mqws__store16(d + 6, m->topic_len);
    mqws__store32(d + 8, m->props_len);
    mqws__store16(d + 12, m->sub_id_count);
    uint32_t left = 0xFFFFFFFFu;
    if (m->expire_at != NO_DEADLINE) {
        int64_t l = m->expire_at - s->now;
        left = l <= 0 ? 0 : (l >= 0xFFFFFFFELL ? 0xFFFFFFFEu : (uint32_t)l);
    }
    mqws__store32(d + 14, left);
    mqws__store32(d + 18, (uint32_t)msg_payload_len(m));
    d[22] = d[23] = 0;
    d += SNAP_MSG_FIX;
    size_t body = m->topic_len + m->props_len + 4u * (size_t)m->sub_id_count;
    memcpy(d, m->data, body);
    d += body;
    if (msg_payload_len(m)) {
        memcpy(d, m->payload->data, m->payload->len);
        d += m->payload->len;
    }
    return d;
}

int mqws_session_snapshot(const mqws_session *s, uint8_t *buf, size_t cap, size_t *len) {
    if (!s || !len)
        return MQWS_EINVAL;
    size_t need = mqws_session_snapshot_size(s);
    *len = need;
    if (!buf || cap < need)
        return MQWS_ENOSPC;
    uint8_t *d = buf;
    memcpy(d, "MQWSS", 5);
    d[5] = SNAP_VERSION;
    d[6] = s->role;
    d[7] = s->level;
    d[8] = s->pid_wrapped ? 1 : 0;
    d[9] = 0;
    mqws__store32(d + 10, s->session_expiry);
    mqws__store16(d + 14, s->next_pid);
    mqws__store16(d + 16, s->client_id_len);
    d += 18;
    if (s->client_id_len)
        memcpy(d, s->client_id, s->client_id_len);
    d += s->client_id_len;
    d[0] = d[1] = 0; /* pad to the documented header size */
    d += 2;
    mqws__store16(d, s->in_qos2.n);
    d += 2;
    for (uint16_t i = 0; i < s->in_qos2.n; i++, d += 2)
        mqws__store16(d, s->in_qos2.v[i]);
    uint32_t count = s->infl_count + s->q_count;
    mqws__store32(d, count);
    d += 4;
    for (const sess_msg *m = s->infl_head; m; m = m->next)
        d = snap_msg(s, m, 0, d);
    for (const sess_msg *m = s->q_head; m; m = m->next)
        d = snap_msg(s, m, 1, d);
    *len = (size_t)(d - buf);
    return *len == need ? MQWS_OK : MQWS_EINTERNAL;
}

/* Only the pass-through properties of an application message, each well formed. */
static int snap_props_ok(const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t id = p[i++];
        switch (id) {
            case MQWS_PROP_PAYLOAD_FORMAT_INDICATOR:
                if (i >= len || p[i] > 1)
                    return 0;
                i++;
                break;
            case MQWS_PROP_CONTENT_TYPE:
            case MQWS_PROP_RESPONSE_TOPIC:
            case MQWS_PROP_CORRELATION_DATA:
            case MQWS_PROP_USER_PROPERTY: {
                int strings = id == MQWS_PROP_USER_PROPERTY ? 2 : 1;
                for (int k = 0; k < strings; k++) {
                    if (len - i < 2)
                        return 0;
                    size_t l = mqws__load16(p + i);
                    i += 2;
                    if (len - i < l)
                        return 0;
                    if (id != MQWS_PROP_CORRELATION_DATA &&
                        mqws_utf8_check_mqtt(p + i, l, NULL) != MQWS_OK)
                        return 0;
                    const char *st;
                    if (id == MQWS_PROP_RESPONSE_TOPIC &&
                        mqws__topic_name_syntax(p + i, l, &st) != MQWS_OK)
                        return 0;
                    i += l;
                }
                break;
            }
            default:
                return 0;
        }
    }
    return 1;
}

int mqws_session_restore(mqws_session *s, const uint8_t *buf, size_t len) {
    if (!s || (!buf && len))
        return MQWS_EINVAL;
    int ok_state = s->role == MQWS_SESSION_SERVER
                       ? (s->state == MQWS_SESSION_CONNECTING || s->state == MQWS_SESSION_CLOSED)
                       : (s->state == MQWS_SESSION_IDLE || s->state == MQWS_SESSION_CLOSED);
    if (!ok_state)
        return MQWS_ESTATE;
    if (len < 20 || memcmp(buf, "MQWSS", 5) != 0)
        return MQWS_EMALFORMED;
    if (buf[5] != SNAP_VERSION)
        return MQWS_EUNSUPPORTED;
    uint8_t role = buf[6], level = buf[7];
    if (role != s->role || (level != 0 && (level < MQWS_MQTT_31 || level > MQWS_MQTT_5)) ||
        buf[8] > 1 || buf[9] != 0)
        return MQWS_EMALFORMED;
    uint32_t expiry = mqws__load32(buf + 10);
    uint16_t next_pid = mqws__load16(buf + 14);
    size_t idlen = mqws__load16(buf + 16);
    size_t pos = 18;
    if (len - pos < idlen + 2 + 2 || mqws_utf8_check_mqtt(buf + pos, idlen, NULL) != MQWS_OK)
        return MQWS_EMALFORMED;
    const uint8_t *id = buf + pos;
    pos += idlen;
    if (buf[pos] || buf[pos + 1])
        return MQWS_EMALFORMED;
    pos += 2;
    if (s->client_id_len && (idlen != s->client_id_len || memcmp(id, s->client_id, idlen) != 0))
        return MQWS_EMALFORMED; /* another client's session */
    size_t nq2 = mqws__load16(buf + pos);
    pos += 2;
    if (len - pos < 2 * nq2 + 4)
        return MQWS_EMALFORMED;
    const uint8_t *q2 = buf + pos;
    for (size_t i = 0; i < nq2; i++) {
        uint16_t v = mqws__load16(q2 + 2 * i);
        if (v == 0)
            return MQWS_EMALFORMED;
        for (size_t j = 0; j < i; j++)
            if (mqws__load16(q2 + 2 * j) == v)
                return MQWS_EMALFORMED;
    }
    pos += 2 * nq2;
    uint32_t count = mqws__load32(buf + pos);
    pos += 4;
    /* Build everything aside; install only when the whole snapshot is valid. */
    sess_msg *ih = NULL, *it = NULL, *qh = NULL, *qt = NULL;
    uint32_t icount = 0, qcount = 0, qbytes = 0;
    sess_idset set = {NULL, 0, 0};
    int rc = MQWS_OK;
    int seen_waiting = 0;
    uint16_t max_pid = 0;
    for (uint32_t k = 0; k < count; k++) {
        if (len - pos < SNAP_MSG_FIX) {
            rc = MQWS_EMALFORMED;
            break;
        }
        const uint8_t *h = buf + pos;
        uint8_t where = h[0], qos = h[1], retain = h[2], state = h[3];
        uint16_t pid = mqws__load16(h + 4), tlen = mqws__load16(h + 6);
        uint32_t plen = mqws__load32(h + 8);
        uint16_t nsub = mqws__load16(h + 12);
        uint32_t left = mqws__load32(h + 14), paylen = mqws__load32(h + 18);
        pos += SNAP_MSG_FIX;
        int bad = where > 1 || qos > 2 || retain > 1 || h[22] || h[23] || tlen == 0 ||
                  nsub > MAX_SUB_IDS || plen > 0xFFFFFFu;
        if (!bad && where == 0)
            bad = qos == 0 || (state != MSG_SENT && state != MSG_RELEASED) ||
                  (state == MSG_RELEASED && (qos != 2 || paylen != 0)) || seen_waiting;
        if (!bad && where == 1)
            bad = state != MSG_QUEUED;
        if (!bad)
            bad = (qos == 0) != (pid == 0);
        size_t body = (size_t)tlen + plen + 4u * (size_t)nsub;
        if (!bad && (len - pos < body || len - pos - body < paylen))
            bad = 1;
        const char *st;
        if (!bad)
            bad = mqws_utf8_check_mqtt(buf + pos, tlen, NULL) != MQWS_OK ||
                  mqws__topic_name_syntax(buf + pos, tlen, &st) != MQWS_OK ||
                  !snap_props_ok(buf + pos + tlen, plen);
        for (uint16_t i = 0; !bad && i < nsub; i++) {
            uint32_t sid = mqws__load32(buf + pos + tlen + plen + 4u * i);
            bad = sid == 0 || sid > MQWS_VARINT_MAX;
        }
        if (!bad && pid) {
            if (pid > max_pid)
                max_pid = pid;
            bad = idset_has(&set, pid);
            if (!bad && idset_add(s, &set, pid) < 0) {
                rc = MQWS_ENOMEM;
                break;
            }
        }
        if (bad) {
            rc = MQWS_EMALFORMED;
            break;
        }
        sess_msg *m = mqws__alloc(s->a, sizeof(sess_msg) + body);
        if (!m) {
            rc = MQWS_ENOMEM;
            break;
        }
        memset(m, 0, sizeof(*m));
        memcpy(m->data, buf + pos, body);
        pos += body;
        m->payload = NULL;
        if (state != MSG_RELEASED) {
            m->payload = mqws_slice_new(s->a, buf + pos, paylen);
            if (!m->payload) {
                mqws__free(s->a, m, sizeof(sess_msg) + body);
                rc = MQWS_ENOMEM;
                break;
            }
        }
        pos += paylen;
        m->expire_at = left == 0xFFFFFFFFu ? NO_DEADLINE : s->now + (int64_t)left;
        m->props_len = plen;
        m->topic_len = tlen;
        m->packet_id = pid;
        m->sub_id_count = nsub;
        m->qos = qos;
        m->retain = retain;
        m->state = state;
        if (where == 0) {
            list_append(&ih, &it, m);
            icount++;
        } else {
            seen_waiting = 1;
            list_append(&qh, &qt, m);
            qcount++;
            qbytes += paylen;
        }
    }
    if (rc == MQWS_OK && pos != len)
        rc = MQWS_EMALFORMED; /* trailing bytes */
    sess_idset q2set = {NULL, 0, 0};
    for (size_t i = 0; rc == MQWS_OK && i < nq2; i++)
        rc = idset_add(s, &q2set, mqws__load16(q2 + 2 * i));
    uint8_t *idcopy = NULL;
    if (rc == MQWS_OK && !s->client_id_len && idlen) {
        idcopy = mqws__alloc(s->a, idlen);
        if (!idcopy)
            rc = MQWS_ENOMEM;
        else
            memcpy(idcopy, id, idlen);
    }
    idset_free(s, &set);
    if (rc != MQWS_OK) {
        free_msg_list(s, &ih, &it);
        free_msg_list(s, &qh, &qt);
        idset_free(s, &q2set);
        return rc;
    }
    drop_persistent(s);
    s->infl_head = ih;
    s->infl_tail = it;
    s->infl_count = icount;
    s->q_head = qh;
    s->q_tail = qt;
    s->q_count = qcount;
    s->q_bytes = qbytes;
    s->in_qos2 = q2set;
    s->next_pid = next_pid ? next_pid : 1;
    /* Without a wrap, every id in use is below the next one; a snapshot saying otherwise gets
     * the collision check. */
    s->pid_wrapped = buf[8] || max_pid >= s->next_pid;
    if (idcopy) {
        s->client_id = idcopy;
        s->client_id_len = (uint16_t)idlen;
    }
    if (s->role == MQWS_SESSION_SERVER && s->state == MQWS_SESSION_CLOSED) {
        s->session_expiry = expiry;
        s->connect_seen = 1;
        s->expired = 0;
        s->closed_at = s->now;
        if (!s->level)
            s->level = level;
    }
    return MQWS_OK;
}
