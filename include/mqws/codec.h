/* mqws codec (L1): MQTT 3.1, 3.1.1 and 5.0 packets. Stateless and zero-copy.
 *
 * Decoding never allocates: a decoded mqws_packet holds views (mqws_view) into the caller's
 * input buffer, valid as long as that buffer is. Repeated items (user properties, subscription
 * identifiers, subscription entries) are read with iterators over the validated wire bytes.
 * Encoding writes into caller buffers (size, then serialise); PUBLISH can be encoded as a header
 * plus the untouched payload so one payload can be written to many peers with writev().
 *
 * Validation is strict and symmetric: what mqws_decode() accepts, mqws_encode() can write back
 * bit for bit, and every rejection names the broken spec statement (mqws_decode_error).
 *
 * Thread safety: every function here is reentrant; nothing holds state between calls.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_CODEC_H
#define MQWS_CODEC_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol levels as carried in CONNECT. */
enum mqws_protocol_level {
    MQWS_MQTT_31 = 3,  /* MQTT 3.1 ("MQIsdp") */
    MQWS_MQTT_311 = 4, /* MQTT 3.1.1 */
    MQWS_MQTT_5 = 5    /* MQTT 5.0 */
};

enum mqws_packet_type {
    MQWS_PKT_CONNECT = 1,
    MQWS_PKT_CONNACK = 2,
    MQWS_PKT_PUBLISH = 3,
    MQWS_PKT_PUBACK = 4,
    MQWS_PKT_PUBREC = 5,
    MQWS_PKT_PUBREL = 6,
    MQWS_PKT_PUBCOMP = 7,
    MQWS_PKT_SUBSCRIBE = 8,
    MQWS_PKT_SUBACK = 9,
    MQWS_PKT_UNSUBSCRIBE = 10,
    MQWS_PKT_UNSUBACK = 11,
    MQWS_PKT_PINGREQ = 12,
    MQWS_PKT_PINGRESP = 13,
    MQWS_PKT_DISCONNECT = 14,
    MQWS_PKT_AUTH = 15 /* MQTT 5 only */
};

/** "PUBLISH", "CONNACK", ...; "RESERVED" for 0 and out-of-range values. Static string. */
MQWS_API const char *mqws_packet_type_name(int type);

/* MQTT 5 reason codes (§2.4). 3.1.1 CONNACK return codes are 0x00..0x05 and 3.1.1 SUBACK
 * failure is 0x80; the same numbers are used, with mqws_reason_name() resolving by context. */
enum mqws_reason_code {
    MQWS_RC_SUCCESS = 0x00, /* also Normal disconnection, Granted QoS 0 */
    MQWS_RC_NORMAL_DISCONNECTION = 0x00,
    MQWS_RC_GRANTED_QOS_0 = 0x00,
    MQWS_RC_GRANTED_QOS_1 = 0x01,
    MQWS_RC_GRANTED_QOS_2 = 0x02,
    MQWS_RC_DISCONNECT_WITH_WILL = 0x04,
    MQWS_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
    MQWS_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
    MQWS_RC_CONTINUE_AUTHENTICATION = 0x18,
    MQWS_RC_REAUTHENTICATE = 0x19,
    MQWS_RC_UNSPECIFIED_ERROR = 0x80,
    MQWS_RC_MALFORMED_PACKET = 0x81,
    MQWS_RC_PROTOCOL_ERROR = 0x82,
    MQWS_RC_IMPLEMENTATION_SPECIFIC_ERROR = 0x83,
    MQWS_RC_UNSUPPORTED_PROTOCOL_VERSION = 0x84,
    MQWS_RC_CLIENT_IDENTIFIER_NOT_VALID = 0x85,
    MQWS_RC_BAD_USER_NAME_OR_PASSWORD = 0x86,
    MQWS_RC_NOT_AUTHORIZED = 0x87,
    MQWS_RC_SERVER_UNAVAILABLE = 0x88,
    MQWS_RC_SERVER_BUSY = 0x89,
    MQWS_RC_BANNED = 0x8A,
    MQWS_RC_SERVER_SHUTTING_DOWN = 0x8B,
    MQWS_RC_BAD_AUTHENTICATION_METHOD = 0x8C,
    MQWS_RC_KEEP_ALIVE_TIMEOUT = 0x8D,
    MQWS_RC_SESSION_TAKEN_OVER = 0x8E,
    MQWS_RC_TOPIC_FILTER_INVALID = 0x8F,
    MQWS_RC_TOPIC_NAME_INVALID = 0x90,
    MQWS_RC_PACKET_IDENTIFIER_IN_USE = 0x91,
    MQWS_RC_PACKET_IDENTIFIER_NOT_FOUND = 0x92,
    MQWS_RC_RECEIVE_MAXIMUM_EXCEEDED = 0x93,
    MQWS_RC_TOPIC_ALIAS_INVALID = 0x94,
    MQWS_RC_PACKET_TOO_LARGE = 0x95,
    MQWS_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
    MQWS_RC_QUOTA_EXCEEDED = 0x97,
    MQWS_RC_ADMINISTRATIVE_ACTION = 0x98,
    MQWS_RC_PAYLOAD_FORMAT_INVALID = 0x99,
    MQWS_RC_RETAIN_NOT_SUPPORTED = 0x9A,
    MQWS_RC_QOS_NOT_SUPPORTED = 0x9B,
    MQWS_RC_USE_ANOTHER_SERVER = 0x9C,
    MQWS_RC_SERVER_MOVED = 0x9D,
    MQWS_RC_SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E,
    MQWS_RC_CONNECTION_RATE_EXCEEDED = 0x9F,
    MQWS_RC_MAXIMUM_CONNECT_TIME = 0xA0,
    MQWS_RC_SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1,
    MQWS_RC_WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2
};

/* MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 §3.2.2.3). */
enum mqws_connack_v3 {
    MQWS_CONNACK_V3_ACCEPTED = 0x00,
    MQWS_CONNACK_V3_UNACCEPTABLE_PROTOCOL_VERSION = 0x01,
    MQWS_CONNACK_V3_IDENTIFIER_REJECTED = 0x02,
    MQWS_CONNACK_V3_SERVER_UNAVAILABLE = 0x03,
    MQWS_CONNACK_V3_BAD_USERNAME_OR_PASSWORD = 0x04,
    MQWS_CONNACK_V3_NOT_AUTHORIZED = 0x05
};

/** The spec's name of a reason code as used in `packet_type` at protocol `level`, e.g.
 * (0x00, DISCONNECT, 5) -> "Normal disconnection", (0x02, CONNACK, 4) -> "Identifier rejected".
 * Returns NULL if the code is not valid in that packet at that level. Static string. */
MQWS_API const char *mqws_reason_name(int code, int packet_type, int level);

/* MQTT 5 property identifiers (§2.2.2.2). */
enum mqws_prop_id {
    MQWS_PROP_PAYLOAD_FORMAT_INDICATOR = 0x01,
    MQWS_PROP_MESSAGE_EXPIRY_INTERVAL = 0x02,
    MQWS_PROP_CONTENT_TYPE = 0x03,
    MQWS_PROP_RESPONSE_TOPIC = 0x08,
    MQWS_PROP_CORRELATION_DATA = 0x09,
    MQWS_PROP_SUBSCRIPTION_IDENTIFIER = 0x0B,
    MQWS_PROP_SESSION_EXPIRY_INTERVAL = 0x11,
    MQWS_PROP_ASSIGNED_CLIENT_IDENTIFIER = 0x12,
    MQWS_PROP_SERVER_KEEP_ALIVE = 0x13,
    MQWS_PROP_AUTHENTICATION_METHOD = 0x15,
    MQWS_PROP_AUTHENTICATION_DATA = 0x16,
    MQWS_PROP_REQUEST_PROBLEM_INFORMATION = 0x17,
    MQWS_PROP_WILL_DELAY_INTERVAL = 0x18,
    MQWS_PROP_REQUEST_RESPONSE_INFORMATION = 0x19,
    MQWS_PROP_RESPONSE_INFORMATION = 0x1A,
    MQWS_PROP_SERVER_REFERENCE = 0x1C,
    MQWS_PROP_REASON_STRING = 0x1F,
    MQWS_PROP_RECEIVE_MAXIMUM = 0x21,
    MQWS_PROP_TOPIC_ALIAS_MAXIMUM = 0x22,
    MQWS_PROP_TOPIC_ALIAS = 0x23,
    MQWS_PROP_MAXIMUM_QOS = 0x24,
    MQWS_PROP_RETAIN_AVAILABLE = 0x25,
    MQWS_PROP_USER_PROPERTY = 0x26,
    MQWS_PROP_MAXIMUM_PACKET_SIZE = 0x27,
    MQWS_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28,
    MQWS_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29,
    MQWS_PROP_SHARED_SUBSCRIPTION_AVAILABLE = 0x2A
};

/* Presence bits for mqws_props.present, one per property. */
#define MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR          (1u << 0)
#define MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL           (1u << 1)
#define MQWS_PROPF_CONTENT_TYPE                      (1u << 2)
#define MQWS_PROPF_RESPONSE_TOPIC                    (1u << 3)
#define MQWS_PROPF_CORRELATION_DATA                  (1u << 4)
#define MQWS_PROPF_SUBSCRIPTION_IDENTIFIER           (1u << 5)
#define MQWS_PROPF_SESSION_EXPIRY_INTERVAL           (1u << 6)
#define MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER        (1u << 7)
#define MQWS_PROPF_SERVER_KEEP_ALIVE                 (1u << 8)
#define MQWS_PROPF_AUTHENTICATION_METHOD             (1u << 9)
#define MQWS_PROPF_AUTHENTICATION_DATA               (1u << 10)
#define MQWS_PROPF_REQUEST_PROBLEM_INFORMATION       (1u << 11)
#define MQWS_PROPF_WILL_DELAY_INTERVAL               (1u << 12)
#define MQWS_PROPF_REQUEST_RESPONSE_INFORMATION      (1u << 13)
#define MQWS_PROPF_RESPONSE_INFORMATION              (1u << 14)
#define MQWS_PROPF_SERVER_REFERENCE                  (1u << 15)
#define MQWS_PROPF_REASON_STRING                     (1u << 16)
#define MQWS_PROPF_RECEIVE_MAXIMUM                   (1u << 17)
#define MQWS_PROPF_TOPIC_ALIAS_MAXIMUM               (1u << 18)
#define MQWS_PROPF_TOPIC_ALIAS                       (1u << 19)
#define MQWS_PROPF_MAXIMUM_QOS                       (1u << 20)
#define MQWS_PROPF_RETAIN_AVAILABLE                  (1u << 21)
#define MQWS_PROPF_USER_PROPERTY                     (1u << 22)
#define MQWS_PROPF_MAXIMUM_PACKET_SIZE               (1u << 23)
#define MQWS_PROPF_WILDCARD_SUBSCRIPTION_AVAILABLE   (1u << 24)
#define MQWS_PROPF_SUBSCRIPTION_IDENTIFIER_AVAILABLE (1u << 25)
#define MQWS_PROPF_SHARED_SUBSCRIPTION_AVAILABLE     (1u << 26)

/** The presence bit of a property identifier, or 0 if `id` is not a property. */
MQWS_API uint32_t mqws_prop_bit(int id);
/** The spec's name of a property ("Message Expiry Interval"), or NULL. Static string. */
MQWS_API const char *mqws_prop_name(int id);

/* Property-set context for the will properties inside CONNECT (§3.1.3.2). */
#define MQWS_PROPS_WILL 16
/** 1 if property `id` may appear in `packet_type` (or MQWS_PROPS_WILL), else 0 (§2.2.2.2). */
MQWS_API int mqws_prop_allowed(int id, int packet_type);

typedef struct mqws_user_prop {
    mqws_view key;
    mqws_view value;
} mqws_user_prop;

/* The properties of one packet.
 *
 * Decoding sets `present`, the single-valued fields whose bit is set (other fields are left
 * untouched: read a field only when its bit is set), `user_prop_count`, `sub_id_count`
 * (`subscription_id` holds the first), and `raw`: the validated property block as received, for
 * mqws_props_iter_* and for verbatim forwarding. `user_props` and `sub_ids` are set to NULL.
 *
 * Encoding writes every single-valued property whose bit is set, in ascending identifier order.
 * User properties come from `user_props[0..user_prop_count)` when `user_props` is non-NULL (and
 * the count non-zero), otherwise, when MQWS_PROPF_USER_PROPERTY is set, they are copied from
 * `raw` (so a decoded packet re-encodes with its user properties untouched, in order).
 * Subscription identifiers come from `sub_ids[0..sub_id_count)` when `sub_ids` is non-NULL (and
 * the count non-zero), otherwise from `subscription_id` if its bit is set; they are never copied
 * from `raw`. When `raw` holds exactly the properties the fields describe (as after decoding,
 * unless a field was changed), `raw` itself is written, keeping the sender's order: a decoded
 * packet re-encodes bit for bit. */
typedef struct mqws_props {
    uint32_t present; /* MQWS_PROPF_* bits */
    uint8_t payload_format;
    uint8_t request_problem_info;
    uint8_t request_response_info;
    uint8_t maximum_qos;
    uint8_t retain_available;
    uint8_t wildcard_sub_available;
    uint8_t sub_id_available;
    uint8_t shared_sub_available;
    uint16_t server_keep_alive;
    uint16_t receive_maximum;
    uint16_t topic_alias_maximum;
    uint16_t topic_alias;
    uint32_t message_expiry;
    uint32_t session_expiry;
    uint32_t will_delay;
    uint32_t maximum_packet_size;
    uint32_t subscription_id;
    mqws_view content_type;
    mqws_view response_topic;
    mqws_view correlation_data;
    mqws_view assigned_client_id;
    mqws_view auth_method;
    mqws_view auth_data;
    mqws_view response_info;
    mqws_view server_reference;
    mqws_view reason_string;
    uint32_t user_prop_count;
    uint32_t sub_id_count;
    /* Decode: offset in `raw` of the first user property (raw.len when there is none), where
     * mqws_props_next_user() starts looking. 0 (as set by mqws_props_init()) means "look from
     * the start". Only a hint about `raw`: set it to 0 when pointing `raw` at another block. */
    uint32_t user_first;
    mqws_view raw;                    /* decode: the property block (without its length) */
    const mqws_user_prop *user_props; /* encode: optional array of user_prop_count pairs */
    const uint32_t *sub_ids;          /* encode: optional array of sub_id_count identifiers */
} mqws_props;

/** Reset to "no properties". */
MQWS_API void mqws_props_init(mqws_props *props);

/* Iteration over a decoded property block (props->raw), without allocation. */
typedef struct mqws_prop_iter {
    const uint8_t *pos;
    const uint8_t *end;
    const uint8_t *user; /* no user property before this (from props->user_first) */
} mqws_prop_iter;

/* One property as read by mqws_props_next(). Integers (byte, two-byte, four-byte, variable)
 * are in `u32`; strings and binary data in `a`; a user property's key in `a`, value in `b`. */
typedef struct mqws_prop {
    uint8_t id;
    uint32_t u32;
    mqws_view a;
    mqws_view b;
} mqws_prop;

MQWS_API void mqws_props_iter_init(const mqws_props *props, mqws_prop_iter *it);
/** Next property of any kind, in wire order. Returns 1 and fills `out`, or 0 at the end. */
MQWS_API int mqws_props_next(mqws_prop_iter *it, mqws_prop *out);
/** Next user property (§3.3.2.3.7: order preserved), 1 or 0 at the end (and `key`, `value`
 * set to {NULL, 0}). */
MQWS_API int mqws_props_next_user(mqws_prop_iter *it, mqws_view *key, mqws_view *value);
/** Next subscription identifier, 1 or 0 at the end. */
MQWS_API int mqws_props_next_sub_id(mqws_prop_iter *it, uint32_t *id);

/* Inline forms of mqws_props_iter_init() and mqws_props_next_user(), expanded in place in C
 * and C++ unless MQWS_NO_INLINE is defined (the exported functions stay, for FFI and for taking
 * their address). The inline step skips byte, two-byte, four-byte, string and binary
 * properties itself; at anything else (a subscription identifier, an identifier that is not a
 * property) it hands over to the exported function, which knows every kind. Reads are bounded
 * by the block whatever it holds. The identifier sets (bit n = identifier n): */
#define MQWS__PROPS_STR  0x94640308ull    /* 0x03 0x08 0x09 0x12 0x15 0x16 0x1A 0x1C 0x1F */
#define MQWS__PROPS_BYTE 0x73002800002ull /* 0x01 0x17 0x19 0x24 0x25 0x28 0x29 0x2A */
#define MQWS__PROPS_U16  0xE00080000ull   /* 0x13 0x21 0x22 0x23 */
#define MQWS__PROPS_U32  0x8001020004ull  /* 0x02 0x11 0x18 0x27 */
#define MQWS__PROP_USER  0x26

static inline void mqws__props_iter_init(const mqws_props *props, mqws_prop_iter *it) {
    const uint8_t *p = props->raw.ptr;
    it->pos = p;
    it->end = p ? p + props->raw.len : NULL;
    it->user = p && props->user_first <= props->raw.len ? p + props->user_first : p;
}

static inline int mqws__props_next_user(mqws_prop_iter *it, mqws_view *key, mqws_view *value) {
    const uint8_t *p = it->pos, *end = it->end;
    if (p) {
        if (p < it->user && it->user <= end)
            p = it->user;
        while (p < end) {
            unsigned id = *p;
            size_t rem = (size_t)(end - p) - 1, sz;
            if (id == MQWS__PROP_USER) {
                size_t kl, vl;
                if (rem < 4 || rem - 4 < (kl = (size_t)p[1] << 8 | p[2]) ||
                    rem - 4 - kl < (vl = (size_t)p[3 + kl] << 8 | p[4 + kl]))
                    break;
                key->ptr = p + 3;
                key->len = kl;
                value->ptr = p + 5 + kl;
                value->len = vl;
                it->pos = p + 5 + kl + vl;
                return 1;
            }
            if (id >= 64) {
                it->pos = p;
                return mqws_props_next_user(it, key, value);
            }
            if ((MQWS__PROPS_STR >> id) & 1) {
                if (rem < 2)
                    break;
                sz = 2 + ((size_t)p[1] << 8 | p[2]);
            } else {
                sz = (size_t)((MQWS__PROPS_BYTE >> id) & 1) |
                     (size_t)((MQWS__PROPS_U16 >> id) & 1) << 1 |
                     (size_t)((MQWS__PROPS_U32 >> id) & 1) << 2;
                if (!sz) {
                    it->pos = p;
                    return mqws_props_next_user(it, key, value);
                }
            }
            if (rem < sz)
                break;
            p += 1 + sz;
        }
        it->pos = end;
    }
    key->ptr = value->ptr = NULL; /* the end: `key` and `value` cleared */
    key->len = value->len = 0;
    return 0;
}

#ifndef MQWS_NO_INLINE
#define mqws_props_iter_init(props, it)      mqws__props_iter_init((props), (it))
#define mqws_props_next_user(it, key, value) mqws__props_next_user((it), (key), (value))
#endif

/* One SUBSCRIBE entry. For 3.1 / 3.1.1 only `qos` is on the wire; the others are 0. */
typedef struct mqws_subscription {
    mqws_view filter;
    uint8_t qos;                 /* 0..2 */
    uint8_t no_local;            /* 0/1 (5.0) */
    uint8_t retain_as_published; /* 0/1 (5.0) */
    uint8_t retain_handling;     /* 0..2 (5.0) */
} mqws_subscription;

/* A packet of any type. Fields used by each type:
 *  CONNECT     protocol_name, protocol_level, clean_start, keep_alive, client_id, will_flag,
 *              will_qos, will_retain, will_topic, will_payload, will_props (5.0), has_username,
 *              username, has_password, password, props
 *  CONNACK     session_present, reason_code (3.x: the return code), props
 *  PUBLISH     dup, qos, retain, topic, packet_id (QoS > 0), payload, props
 *  PUBACK, PUBREC, PUBREL, PUBCOMP      packet_id, reason_code, props
 *  SUBSCRIBE   packet_id, entry_count + entries (decode: mqws_subscribe_next; encode: subs, or
 *              when subs is NULL the wire-form `entries` as decoded, copied), props
 *  SUBACK, UNSUBACK   packet_id, reason_codes (one byte per entry; UNSUBACK 5.0 only; decode
 *              also sets entry_count to their number), props
 *  UNSUBSCRIBE packet_id, entry_count + entries (decode: mqws_unsubscribe_next; encode:
 *              unsub_filters, or when NULL the wire-form `entries`), props
 *  PINGREQ, PINGRESP  nothing
 *  DISCONNECT, AUTH   reason_code, props, tail_form (5.0)
 * A CONNECT is encoded at the `level` passed to the encoder (protocol_name and protocol_level
 * are not read). Below 5.0, props, reason codes of PUBACK..PUBCOMP and DISCONNECT, and
 * UNSUBACK reason_codes are not on the wire and are ignored by the encoder (so a 5.0 PUBLISH
 * can be forwarded to a 3.1.1 peer as is).
 * Decoding sets only the fields of the decoded type (and `type`, `flags`); the rest are left
 * untouched. Use mqws_packet_init() before filling one for encoding. */
typedef struct mqws_packet {
    uint8_t type;           /* MQWS_PKT_* */
    uint8_t flags;          /* low nibble of the fixed header (decode: as received) */
    uint8_t protocol_level; /* CONNECT */
    uint8_t reason_code;
    uint16_t packet_id;
    uint16_t keep_alive; /* CONNECT, seconds */
    /* PUBLISH */
    uint8_t dup;
    uint8_t qos;
    uint8_t retain;
    /* CONNECT */
    uint8_t clean_start; /* "clean session" in 3.x */
    uint8_t will_flag;
    uint8_t will_qos;
    uint8_t will_retain;
    uint8_t has_username;
    uint8_t has_password;
    /* CONNACK */
    uint8_t session_present;
    mqws_view topic;
    mqws_view payload;
    mqws_view protocol_name;
    mqws_view client_id;
    mqws_view will_topic;
    mqws_view will_payload;
    mqws_view username;
    mqws_view password;
    /* SUBSCRIBE / UNSUBSCRIBE / SUBACK / UNSUBACK */
    uint32_t entry_count;
    mqws_view entries;              /* decode: the validated entry list as received */
    const mqws_subscription *subs;  /* encode SUBSCRIBE: entry_count entries */
    const mqws_view *unsub_filters; /* encode UNSUBSCRIBE: entry_count filters */
    mqws_view reason_codes;         /* SUBACK / UNSUBACK: one byte per entry */
    mqws_props props;
    mqws_props will_props; /* CONNECT 5.0 with will_flag */
    /* 5.0 PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH: the reason code and property length
     * may be omitted when they are 0 (§3.4.2.1, §3.14.2.1, §3.15.2.1). Decode: what was on the
     * wire (0 = neither, 1 = reason code only, 2 = both). Encode: at least this much is written
     * (more when the values need it), so 0 gives the shortest form. */
    uint8_t tail_form;
} mqws_packet;

/** Zero a packet and set its type (and the fixed-header flags the type requires: 0x2 for
 * PUBREL, SUBSCRIBE, UNSUBSCRIBE [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]). */
MQWS_API void mqws_packet_init(mqws_packet *p, int type);

/* Entry iteration over a decoded SUBSCRIBE / UNSUBSCRIBE (p->entries), without allocation. */
typedef struct mqws_entry_iter {
    const uint8_t *pos;
    const uint8_t *end;
    uint8_t level;
} mqws_entry_iter;

MQWS_API void mqws_entry_iter_init(const mqws_packet *p, uint8_t level, mqws_entry_iter *it);
/** Next SUBSCRIBE entry: 1 and fills `out`, or 0 at the end (and `out` zeroed). */
MQWS_API int mqws_subscribe_next(mqws_entry_iter *it, mqws_subscription *out);
/** Next UNSUBSCRIBE filter: 1, or 0 at the end (and `filter` set to {NULL, 0}). */
MQWS_API int mqws_unsubscribe_next(mqws_entry_iter *it, mqws_view *filter);

/* Inline forms of the entry iterators. Stepping to the next entry is a few loads, cheaper than
 * the call itself, so C and C++ callers get the same code expanded in place: the function-like
 * macros below replace mqws_entry_iter_init(), mqws_subscribe_next() and
 * mqws_unsubscribe_next() calls. The exported functions stay (they are these same bodies), for
 * FFI, for taking their address, and for callers that define MQWS_NO_INLINE before including
 * this header. The iterators bound every read by `end` whatever the bytes hold; they assume the
 * entry list was validated by mqws_decode() only for the meaning of what they return. */
static inline void mqws__entry_iter_init(const mqws_packet *p, uint8_t level, mqws_entry_iter *it) {
    it->pos = p->entries.ptr;
    it->end = p->entries.ptr ? p->entries.ptr + p->entries.len : NULL;
    it->level = level;
}

static inline int mqws__subscribe_next(mqws_entry_iter *it, mqws_subscription *out) {
    const uint8_t *p = it->pos;
    /* pos and end are both NULL or both set: rem is 0 for an empty iterator. */
    size_t rem = p ? (size_t)(it->end - p) : 0, n;
    if (rem < 3 || rem - 3 < (n = (size_t)p[0] << 8 | p[1])) {
        it->pos = it->end;
        out->filter.ptr = NULL; /* the end: `out` cleared */
        out->filter.len = 0;
        out->qos = out->no_local = out->retain_as_published = out->retain_handling = 0;
        return 0;
    }
    unsigned o = p[2 + n];
    out->filter.ptr = p + 2;
    out->filter.len = n;
    it->pos = p + 3 + n;
    out->qos = (uint8_t)(o & 3);
    if (it->level == MQWS_MQTT_5) {
        out->no_local = (uint8_t)(o >> 2 & 1);
        out->retain_as_published = (uint8_t)(o >> 3 & 1);
        out->retain_handling = (uint8_t)(o >> 4 & 3);
    } else {
        out->no_local = 0;
        out->retain_as_published = 0;
        out->retain_handling = 0;
    }
    return 1;
}

static inline int mqws__unsubscribe_next(mqws_entry_iter *it, mqws_view *filter) {
    const uint8_t *p = it->pos;
    size_t rem = p ? (size_t)(it->end - p) : 0, n;
    if (rem < 2 || rem - 2 < (n = (size_t)p[0] << 8 | p[1])) {
        it->pos = it->end;
        filter->ptr = NULL; /* the end: `filter` cleared */
        filter->len = 0;
        return 0;
    }
    filter->ptr = p + 2;
    filter->len = n;
    it->pos = p + 2 + n;
    return 1;
}

#ifndef MQWS_NO_INLINE
#define mqws_entry_iter_init(p, level, it) mqws__entry_iter_init((p), (level), (it))
#define mqws_subscribe_next(it, out)       mqws__subscribe_next((it), (out))
#define mqws_unsubscribe_next(it, filter)  mqws__unsubscribe_next((it), (filter))
#endif

/* ------------------------------------------------------------------------------------------ */
/* Framing: find packet boundaries in a byte stream. */

#define MQWS_MAX_PACKET_SIZE 268435460u /* 1 + 4 + MQWS_VARINT_MAX */

/* mqws_frame() returns MQWS_FRAME_READY, MQWS_FRAME_NEED_MORE, or a negative MQWS_E* code. */
enum mqws_frame_status { MQWS_FRAME_READY = 0, MQWS_FRAME_NEED_MORE = 1 };

typedef struct mqws_frame_info {
    uint8_t first_byte;     /* packet type << 4 | flags */
    uint8_t header_len;     /* 2..5 */
    uint32_t remaining_len; /* remaining length field */
    uint32_t total_len;     /* header_len + remaining_len */
    uint32_t need;          /* NEED_MORE: bytes still missing (exact once the header is known) */
} mqws_frame_info;

/** Look at the start of `buf` for one MQTT packet.
 * READY: a whole packet of info->total_len bytes starts at buf (more may follow).
 * NEED_MORE: info->need more bytes are required; once the fixed header is complete,
 *   info->total_len is known, so a caller can reserve exactly or refuse early.
 * MQWS_ETOOBIG: the fixed header announces more than `max_packet_size` bytes (0 = protocol
 *   maximum); decided from the header alone, before any of the body is buffered.
 * MQWS_EMALFORMED: the remaining length is not a valid variable byte integer, or the packet
 *   type is 0 (reserved). Flag checks are left to mqws_decode(). */
MQWS_API int mqws_frame(const uint8_t *buf, size_t len, uint32_t max_packet_size,
                        mqws_frame_info *info);

/* ------------------------------------------------------------------------------------------ */
/* Decoding */

/* Direction checks: a server decodes with FROM_CLIENT (CONNACK, SUBACK, UNSUBACK, PINGRESP are
 * then protocol errors, and so is a Subscription Identifier in PUBLISH [MQTT-3.3.4-6]); a client
 * with FROM_SERVER (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ are errors). 0 checks neither. */
#define MQWS_DECODE_FROM_CLIENT 0x1u
#define MQWS_DECODE_FROM_SERVER 0x2u

/* Why a decode failed: what to log, and what to answer. */
typedef struct mqws_decode_error {
    int code;              /* the MQWS_E* returned */
    uint8_t reason;        /* the MQTT 5 reason code the spec requires: 0x81, 0x82, 0x84, 0x95 */
    const char *statement; /* the spec statement broken, e.g. "MQTT-3.3.1-4", or NULL */
    const char *message;   /* a short English explanation (static) */
    size_t offset;         /* byte offset in the packet where the problem was found */
} mqws_decode_error;

/** Decode exactly one packet: `buf` holds info.total_len bytes as found by mqws_frame().
 * `level` is the connection's protocol level (MQWS_MQTT_31/311/5); a CONNECT is decoded at the
 * level it announces, whatever `level` says. Every field is validated as the spec requires:
 * reserved flags, QoS 3, packet identifier 0, empty subscription lists, wildcards in topic
 * names, UTF-8 of every string, property sets and duplicates, trailing bytes.
 * Returns MQWS_OK; MQWS_EMALFORMED (reason 0x81) or MQWS_EPROTO (0x82) with `err` saying which
 * statement; MQWS_EUNSUPPORTED for a CONNECT whose protocol name/level we do not speak (then
 * out->type and out->protocol_level are set so a server can answer CONNACK 0x01 / 0x84).
 * `err` may be NULL. `out` views point into `buf`. Never allocates. */
MQWS_API int mqws_decode(const uint8_t *buf, size_t len, uint8_t level, uint32_t flags,
                         mqws_packet *out, mqws_decode_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Encoding. The encoder checks structure (field ranges, packet identifiers, property sets and
 * lengths, entries present) and returns MQWS_EINVAL for a packet a strict peer could not
 * decode. It does not re-validate the UTF-8 of strings the
 * caller passes (decode always does); call mqws_validate() for the full check. */

/** Bytes mqws_encode() would write, in *size. MQWS_OK or MQWS_EINVAL / MQWS_ETOOBIG (more than
 * the protocol maximum). */
MQWS_API int mqws_encoded_size(const mqws_packet *p, uint8_t level, size_t *size);

/** Serialise `p` for protocol `level` into buf[0..cap). Returns MQWS_OK with *written set,
 * MQWS_ENOSPC if cap is too small (nothing written), MQWS_EINVAL, or MQWS_ETOOBIG (more than the
 * protocol maximum). Never writes past buf + cap. */
MQWS_API int mqws_encode(const mqws_packet *p, uint8_t level, uint8_t *buf, size_t cap,
                         size_t *written);

/** PUBLISH without copying the payload: writes the fixed header, topic, packet identifier and
 * properties into hdr[0..cap) and sets iov[0] = that header, iov[1] = p->payload. Writing
 * iov[0] then iov[1] sends exactly what mqws_encode() would. Returns MQWS_OK, MQWS_ENOSPC,
 * MQWS_EINVAL or MQWS_ETOOBIG. */
MQWS_API int mqws_encode_publish_iov(const mqws_packet *p, uint8_t level, uint8_t *hdr, size_t cap,
                                     mqws_iovec iov[2]);

/** Everything mqws_decode() would check, applied to a packet about to be encoded (including
 * the UTF-8 of strings). MQWS_OK or the error with details in `err` (may be NULL). */
MQWS_API int mqws_validate(const mqws_packet *p, uint8_t level, uint32_t flags,
                           mqws_decode_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_CODEC_H */
