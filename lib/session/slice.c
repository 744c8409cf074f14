/* Reference-counted byte slices and the callbacks object.
 * SPDX-License-Identifier: MIT */
#include "session_internal.h"

mqws_slice *mqws_slice_new(const mqws_allocator *a, const void *data, size_t len) {
    a = mqws__allocator_or_default(a);
    if (len > SIZE_MAX - sizeof(mqws_slice))
        return NULL;
    mqws_slice *s = mqws__alloc(a, sizeof(*s) + len);
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    uint8_t *d = (uint8_t *)(s + 1);
    if (len)
        memcpy(d, data, len);
    s->data = d;
    s->len = len;
    s->a = a;
    s->refs = 1;
    s->inline_data = 1;
    return s;
}

mqws_slice *mqws_slice_wrap(const mqws_allocator *a, const void *data, size_t len,
                            void (*release)(void *release_ud, const void *data, size_t len),
                            void *release_ud) {
    a = mqws__allocator_or_default(a);
    mqws_slice *s = mqws__alloc(a, sizeof(*s));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->data = data;
    s->len = len;
    s->a = a;
    s->release = release;
    s->release_ud = release_ud;
    s->refs = 1;
    return s;
}

mqws_slice *mqws_slice_ref(mqws_slice *s) {
    if (s)
        s->refs++;
    return s;
}

void mqws_slice_unref(mqws_slice *s) {
    if (!s || --s->refs > 0)
        return;
    if (s->inline_data) {
        mqws__free(s->a, s, sizeof(*s) + s->len);
    } else {
        if (s->release)
            s->release(s->release_ud, s->data, s->len);
        mqws__free(s->a, s, sizeof(*s));
    }
}

mqws_view mqws_slice_view(const mqws_slice *s) {
    mqws_view v = {NULL, 0};
    if (s) {
        v.ptr = s->data;
        v.len = s->len;
    }
    return v;
}

uint32_t mqws_slice_refcount(const mqws_slice *s) { return s ? s->refs : 0; }

/* ------------------------------------------------------------------------------------------ */

mqws_callbacks *mqws_callbacks_new(const mqws_allocator *a) {
    a = mqws__allocator_or_default(a);
    mqws_callbacks *cb = mqws__alloc(a, sizeof(*cb));
    if (!cb)
        return NULL;
    memset(cb, 0, sizeof(*cb));
    cb->a = a;
    return cb;
}

void mqws_callbacks_free(mqws_callbacks *cb) {
    if (cb)
        mqws__free(cb->a, cb, sizeof(*cb));
}

#define SETTER(name, type)                                                                         \
    void mqws_callbacks_set_##name(mqws_callbacks *cb, type fn) {                                  \
        if (cb)                                                                                    \
            cb->name = fn;                                                                         \
    }
SETTER(on_connect, mqws_on_connect_cb)
SETTER(on_connack, mqws_on_connack_cb)
SETTER(on_auth, mqws_on_auth_cb)
SETTER(on_publish, mqws_on_publish_cb)
SETTER(on_ack, mqws_on_ack_cb)
SETTER(on_subscribe, mqws_on_subscribe_cb)
SETTER(on_unsubscribe, mqws_on_subscribe_cb)
SETTER(on_will, mqws_on_will_cb)
SETTER(on_drop, mqws_on_drop_cb)
SETTER(on_close, mqws_on_close_cb)
SETTER(on_expired, mqws_on_expired_cb)
