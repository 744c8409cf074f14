/* MQTT 5 properties (§2.2.2): every property in every packet it is allowed in (round trip,
 * value read back through the struct and the iterator), refused in every packet it is not
 * allowed in (Malformed Packet), duplicates refused where the spec forbids them (Protocol
 * Error), user properties and subscription identifiers repeatable in order.
 * SPDX-License-Identifier: MIT */
#include "codec_util.h"

#include <stdlib.h>

#define WILL MQWS_PROPS_WILL

/* The spec's table (§2.2.2.2), written down independently of the library's. */
static const struct {
    uint8_t id;
    uint32_t bit;
    const char *name;
    const int ctx[15]; /* packet types (or WILL), 0-terminated */
} table[] = {
    {0x01,
     MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR,
     "Payload Format Indicator",
     {MQWS_PKT_PUBLISH, WILL}},
    {0x02, MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL, "Message Expiry Interval", {MQWS_PKT_PUBLISH, WILL}},
    {0x03, MQWS_PROPF_CONTENT_TYPE, "Content Type", {MQWS_PKT_PUBLISH, WILL}},
    {0x08, MQWS_PROPF_RESPONSE_TOPIC, "Response Topic", {MQWS_PKT_PUBLISH, WILL}},
    {0x09, MQWS_PROPF_CORRELATION_DATA, "Correlation Data", {MQWS_PKT_PUBLISH, WILL}},
    {0x0B,
     MQWS_PROPF_SUBSCRIPTION_IDENTIFIER,
     "Subscription Identifier",
     {MQWS_PKT_PUBLISH, MQWS_PKT_SUBSCRIBE}},
    {0x11,
     MQWS_PROPF_SESSION_EXPIRY_INTERVAL,
     "Session Expiry Interval",
     {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK, MQWS_PKT_DISCONNECT}},
    {0x12, MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER, "Assigned Client Identifier", {MQWS_PKT_CONNACK}},
    {0x13, MQWS_PROPF_SERVER_KEEP_ALIVE, "Server Keep Alive", {MQWS_PKT_CONNACK}},
    {0x15,
     MQWS_PROPF_AUTHENTICATION_METHOD,
     "Authentication Method",
     {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK, MQWS_PKT_AUTH}},
    {0x16,
     MQWS_PROPF_AUTHENTICATION_DATA,
     "Authentication Data",
     {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK, MQWS_PKT_AUTH}},
    {0x17,
     MQWS_PROPF_REQUEST_PROBLEM_INFORMATION,
     "Request Problem Information",
     {MQWS_PKT_CONNECT}},
    {0x18, MQWS_PROPF_WILL_DELAY_INTERVAL, "Will Delay Interval", {WILL}},
    {0x19,
     MQWS_PROPF_REQUEST_RESPONSE_INFORMATION,
     "Request Response Information",
     {MQWS_PKT_CONNECT}},
    {0x1A, MQWS_PROPF_RESPONSE_INFORMATION, "Response Information", {MQWS_PKT_CONNACK}},
    {0x1C,
     MQWS_PROPF_SERVER_REFERENCE,
     "Server Reference",
     {MQWS_PKT_CONNACK, MQWS_PKT_DISCONNECT}},
    {0x1F,
     MQWS_PROPF_REASON_STRING,
     "Reason String",
     {MQWS_PKT_CONNACK, MQWS_PKT_PUBACK, MQWS_PKT_PUBREC, MQWS_PKT_PUBREL, MQWS_PKT_PUBCOMP,
      MQWS_PKT_SUBACK, MQWS_PKT_UNSUBACK, MQWS_PKT_DISCONNECT, MQWS_PKT_AUTH}},
    {0x21, MQWS_PROPF_RECEIVE_MAXIMUM, "Receive Maximum", {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK}},
    {0x22,
     MQWS_PROPF_TOPIC_ALIAS_MAXIMUM,
     "Topic Alias Maximum",
     {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK}},
    {0x23, MQWS_PROPF_TOPIC_ALIAS, "Topic Alias", {MQWS_PKT_PUBLISH}},
    {0x24, MQWS_PROPF_MAXIMUM_QOS, "Maximum QoS", {MQWS_PKT_CONNACK}},
    {0x25, MQWS_PROPF_RETAIN_AVAILABLE, "Retain Available", {MQWS_PKT_CONNACK}},
    {0x26,
     MQWS_PROPF_USER_PROPERTY,
     "User Property",
     {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK, MQWS_PKT_PUBLISH, WILL, MQWS_PKT_PUBACK, MQWS_PKT_PUBREC,
      MQWS_PKT_PUBREL, MQWS_PKT_PUBCOMP, MQWS_PKT_SUBSCRIBE, MQWS_PKT_SUBACK, MQWS_PKT_UNSUBSCRIBE,
      MQWS_PKT_UNSUBACK, MQWS_PKT_DISCONNECT, MQWS_PKT_AUTH}},
    {0x27,
     MQWS_PROPF_MAXIMUM_PACKET_SIZE,
     "Maximum Packet Size",
     {MQWS_PKT_CONNECT, MQWS_PKT_CONNACK}},
    {0x28,
     MQWS_PROPF_WILDCARD_SUBSCRIPTION_AVAILABLE,
     "Wildcard Subscription Available",
     {MQWS_PKT_CONNACK}},
    {0x29,
     MQWS_PROPF_SUBSCRIPTION_IDENTIFIER_AVAILABLE,
     "Subscription Identifier Available",
     {MQWS_PKT_CONNACK}},
    {0x2A,
     MQWS_PROPF_SHARED_SUBSCRIPTION_AVAILABLE,
     "Shared Subscription Available",
     {MQWS_PKT_CONNACK}},
};
#define NPROPS (sizeof table / sizeof table[0])

/* Contexts that carry properties. */
static const int contexts[] = {MQWS_PKT_CONNECT,  MQWS_PKT_CONNACK,
                               MQWS_PKT_PUBLISH,  MQWS_PKT_PUBACK,
                               MQWS_PKT_PUBREC,   MQWS_PKT_PUBREL,
                               MQWS_PKT_PUBCOMP,  MQWS_PKT_SUBSCRIBE,
                               MQWS_PKT_SUBACK,   MQWS_PKT_UNSUBSCRIBE,
                               MQWS_PKT_UNSUBACK, MQWS_PKT_DISCONNECT,
                               MQWS_PKT_AUTH,     WILL};
#define NCTX (sizeof contexts / sizeof contexts[0])

static int allowed(size_t i, int ctx) {
    for (size_t k = 0; k < 15 && table[i].ctx[k]; k++)
        if (table[i].ctx[k] == ctx)
            return 1;
    return 0;
}

/* A valid value of property `id`, encoded (without the identifier). For Authentication Data
 * the Authentication Method must come first (§3.1.2.11.10), so both are emitted. */
static void put_prop(cu_buf *o, uint8_t id) {
    switch (id) {
        case 0x01:
        case 0x17:
        case 0x19:
        case 0x24:
        case 0x25:
        case 0x28:
        case 0x29:
        case 0x2A:
            cu_put_u8(o, id);
            cu_put_u8(o, 1);
            break;
        case 0x02:
        case 0x11:
        case 0x18:
        case 0x27:
            cu_put_u8(o, id);
            cu_put_hex(o, "00 01 02 03");
            break;
        case 0x13:
        case 0x21:
        case 0x22:
        case 0x23:
            cu_put_u8(o, id);
            cu_put_hex(o, "01 02");
            break;
        case 0x0B:
            cu_put_u8(o, id);
            cu_put_hex(o, "ac 02"); /* 300 */
            break;
        case 0x03:
        case 0x08:
        case 0x12:
        case 0x15:
        case 0x1A:
        case 0x1C:
        case 0x1F:
            cu_put_u8(o, id);
            cu_put_hex(o, "00 03 61 2f 62"); /* "a/b" */
            break;
        case 0x09:
            cu_put_u8(o, id);
            cu_put_hex(o, "00 03 00 ff 7f");
            break;
        case 0x16:
            cu_put_hex(o, "15 00 03 61 2f 62");
            cu_put_u8(o, id);
            cu_put_hex(o, "00 03 00 ff 7f");
            break;
        case 0x26:
            cu_put_u8(o, id);
            cu_put_hex(o, "00 01 6b 00 02 76 31");
            break;
        default:
            abort();
    }
}

/* A packet of context `ctx` whose (only) property block is `props`. */
static void mk_ctx(cu_buf *o, int ctx, const uint8_t *props, size_t plen) {
    cu_buf b = {.n = 0};
    uint8_t first = 0;
    switch (ctx) {
        case MQWS_PKT_CONNECT:
            first = 0x10;
            cu_put_hex(&b, "00 04 4d 51 54 54 05 02 00 3c");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            cu_put_hex(&b, "00 01 63");
            break;
        case WILL:
            first = 0x10;
            cu_put_hex(&b, "00 04 4d 51 54 54 05 06 00 3c 00 00 01 63");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            cu_put_hex(&b, "00 01 74 00 01 6d");
            break;
        case MQWS_PKT_CONNACK:
            first = 0x20;
            cu_put_hex(&b, "00 00");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            break;
        case MQWS_PKT_PUBLISH:
            first = 0x32;
            cu_put_hex(&b, "00 01 74 00 01");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            cu_put_hex(&b, "68 69");
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            first = (uint8_t)(ctx << 4 | (ctx == MQWS_PKT_PUBREL ? 2 : 0));
            cu_put_hex(&b, "00 01 00");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            break;
        case MQWS_PKT_SUBSCRIBE:
            first = 0x82;
            cu_put_hex(&b, "00 01");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            cu_put_hex(&b, "00 01 61 00");
            break;
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            first = (uint8_t)(ctx << 4);
            cu_put_hex(&b, "00 01");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            cu_put_hex(&b, "00");
            break;
        case MQWS_PKT_UNSUBSCRIBE:
            first = 0xa2;
            cu_put_hex(&b, "00 01");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            cu_put_hex(&b, "00 01 61");
            break;
        case MQWS_PKT_DISCONNECT:
            first = 0xe0;
            cu_put_hex(&b, "00");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            break;
        case MQWS_PKT_AUTH:
            first = 0xf0;
            cu_put_hex(&b, "18");
            cu_put_varint(&b, (uint32_t)plen);
            cu_put(&b, props, plen);
            break;
        default:
            abort();
    }
    cu_packet(o, first, b.b, b.n);
}

static const mqws_props *ctx_props(const mqws_packet *p, int ctx) {
    return ctx == WILL ? &p->will_props : &p->props;
}

/* The decoded value of property `id` as put_prop() wrote it. */
static void check_value(const mqws_props *pr, uint8_t id, const char *where) {
    int ok = 1;
    static const uint8_t bin[3] = {0x00, 0xff, 0x7f};
    mqws_view ab = mqws_view_cstr("a/b");
    switch (id) {
        case 0x01:
            ok = pr->payload_format == 1;
            break;
        case 0x17:
            ok = pr->request_problem_info == 1;
            break;
        case 0x19:
            ok = pr->request_response_info == 1;
            break;
        case 0x24:
            ok = pr->maximum_qos == 1;
            break;
        case 0x25:
            ok = pr->retain_available == 1;
            break;
        case 0x28:
            ok = pr->wildcard_sub_available == 1;
            break;
        case 0x29:
            ok = pr->sub_id_available == 1;
            break;
        case 0x2A:
            ok = pr->shared_sub_available == 1;
            break;
        case 0x02:
            ok = pr->message_expiry == 0x00010203u;
            break;
        case 0x11:
            ok = pr->session_expiry == 0x00010203u;
            break;
        case 0x18:
            ok = pr->will_delay == 0x00010203u;
            break;
        case 0x27:
            ok = pr->maximum_packet_size == 0x00010203u;
            break;
        case 0x13:
            ok = pr->server_keep_alive == 0x0102;
            break;
        case 0x21:
            ok = pr->receive_maximum == 0x0102;
            break;
        case 0x22:
            ok = pr->topic_alias_maximum == 0x0102;
            break;
        case 0x23:
            ok = pr->topic_alias == 0x0102;
            break;
        case 0x0B:
            ok = pr->subscription_id == 300 && pr->sub_id_count == 1;
            break;
        case 0x03:
            ok = mqws_view_eq(pr->content_type, ab);
            break;
        case 0x08:
            ok = mqws_view_eq(pr->response_topic, ab);
            break;
        case 0x12:
            ok = mqws_view_eq(pr->assigned_client_id, ab);
            break;
        case 0x15:
            ok = mqws_view_eq(pr->auth_method, ab);
            break;
        case 0x1A:
            ok = mqws_view_eq(pr->response_info, ab);
            break;
        case 0x1C:
            ok = mqws_view_eq(pr->server_reference, ab);
            break;
        case 0x1F:
            ok = mqws_view_eq(pr->reason_string, ab);
            break;
        case 0x09:
            ok = pr->correlation_data.len == 3 && !memcmp(pr->correlation_data.ptr, bin, 3);
            break;
        case 0x16:
            ok = pr->auth_data.len == 3 && !memcmp(pr->auth_data.ptr, bin, 3) &&
                 mqws_view_eq(pr->auth_method, ab);
            break;
        case 0x26:
            ok = pr->user_prop_count == 1;
            break;
        default:
            ok = 0;
    }
    if (!ok)
        testlib_fail(__FILE__, __LINE__, "property 0x%02x in %s: wrong value", id, where);
}

/* The generic iterator's view of a property as put_prop() wrote it: integers in u32, strings
 * and binary data in a, a user property's key in a and value in b. */
static void check_iter_value(const mqws_prop *one) {
    static const uint8_t bin[3] = {0x00, 0xff, 0x7f};
    mqws_view ab = mqws_view_cstr("a/b");
    int ok;
    switch (one->id) {
        case 0x01:
        case 0x17:
        case 0x19:
        case 0x24:
        case 0x25:
        case 0x28:
        case 0x29:
        case 0x2A:
            ok = one->u32 == 1;
            break;
        case 0x02:
        case 0x11:
        case 0x18:
        case 0x27:
            ok = one->u32 == 0x00010203u;
            break;
        case 0x13:
        case 0x21:
        case 0x22:
        case 0x23:
            ok = one->u32 == 0x0102;
            break;
        case 0x0B:
            ok = one->u32 == 300;
            break;
        case 0x09:
        case 0x16:
            ok = one->a.len == 3 && !memcmp(one->a.ptr, bin, 3);
            break;
        case 0x26:
            ok = mqws_view_eq(one->a, mqws_view_cstr("k")) &&
                 mqws_view_eq(one->b, mqws_view_cstr("v1"));
            break;
        default:
            ok = mqws_view_eq(one->a, ab);
    }
    if (!ok)
        testlib_fail(__FILE__, __LINE__, "iterator value of property 0x%02x", one->id);
}

/* mqws_prop_allowed(), mqws_prop_bit() and mqws_prop_name() agree with the spec's table. */
TEST(mqtt5_2_2_2_2_property_table) {
    for (size_t i = 0; i < NPROPS; i++) {
        CHECK_INT(mqws_prop_bit(table[i].id), table[i].bit);
        CHECK_STR(mqws_prop_name(table[i].id), table[i].name);
        for (size_t c = 0; c < NCTX; c++)
            if (mqws_prop_allowed(table[i].id, contexts[c]) != allowed(i, contexts[c]))
                testlib_fail(__FILE__, __LINE__, "mqws_prop_allowed(0x%02x, %d) != %d", table[i].id,
                             contexts[c], allowed(i, contexts[c]));
        /* Nothing is a property of CONNECT-less packet types. */
        CHECK_INT(mqws_prop_allowed(table[i].id, MQWS_PKT_PINGREQ), 0);
        CHECK_INT(mqws_prop_allowed(table[i].id, MQWS_PKT_PINGRESP), 0);
    }
    /* Identifiers that are not properties. */
    static const int none[] = {0x00, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0C, 0x10, 0x14,
                               0x1B, 0x1D, 0x1E, 0x20, 0x2B, 0x7F, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        CHECK_INT(mqws_prop_bit(none[i]), 0);
        CHECK(mqws_prop_name(none[i]) == NULL);
        CHECK_INT(mqws_prop_allowed(none[i], MQWS_PKT_PUBLISH), 0);
    }
}

/* Every property in every packet it is allowed in: decoded into its field and presence bit,
 * seen by the iterator, re-encoded bit for bit. */
TEST(mqtt5_2_2_2_2_every_property_round_trips_where_allowed) {
    for (size_t i = 0; i < NPROPS; i++) {
        for (size_t c = 0; c < NCTX; c++) {
            int ctx = contexts[c];
            if (!allowed(i, ctx))
                continue;
            cu_buf pr = {.n = 0}, pk;
            put_prop(&pr, table[i].id);
            mk_ctx(&pk, ctx, pr.b, pr.n);
            mqws_packet p;
            /* Subscription Identifiers go from server to client in PUBLISH. */
            if (cu_decode_ok(__FILE__, __LINE__, cu_keep(pk.b, pk.n), pk.n, MQWS_MQTT_5, 0, 1,
                             &p) != MQWS_OK) {
                fprintf(stderr, "  property 0x%02x in context %d\n", table[i].id, ctx);
                continue;
            }
            const mqws_props *x = ctx_props(&p, ctx);
            CHECK(x->present & table[i].bit);
            char where[32];
            snprintf(where, sizeof where, "context %d", ctx);
            check_value(x, table[i].id, where);
            /* The raw block is exactly what was sent; the iterator sees the property. */
            CHECK_MEM(x->raw.ptr, x->raw.len, pr.b, pr.n);
            mqws_prop_iter it;
            mqws_prop one;
            int seen = 0;
            mqws_props_iter_init(x, &it);
            while (mqws_props_next(&it, &one)) {
                if (one.id != table[i].id)
                    continue;
                seen = 1;
                check_iter_value(&one);
            }
            CHECK(seen);
        }
    }
}

/* Every property in every packet it is not allowed in: a Malformed Packet (§2.2.2.2: an
 * identifier not valid for the packet type). */
TEST(mqtt5_2_2_2_2_property_not_allowed_is_malformed) {
    for (size_t i = 0; i < NPROPS; i++) {
        for (size_t c = 0; c < NCTX; c++) {
            int ctx = contexts[c];
            if (allowed(i, ctx))
                continue;
            /* Authentication Data needs a method that may itself be allowed: use it alone. */
            cu_buf pr = {.n = 0}, pk;
            if (table[i].id == 0x16)
                cu_put_hex(&pr, "16 00 01 00");
            else
                put_prop(&pr, table[i].id);
            mk_ctx(&pk, ctx, pr.b, pr.n);
            if (cu_decode_err(__FILE__, __LINE__, pk.b, pk.n, MQWS_MQTT_5, 0, MQWS_EMALFORMED,
                              "§2.2.2.2", NULL) != MQWS_EMALFORMED)
                fprintf(stderr, "  property 0x%02x in context %d\n", table[i].id, ctx);
        }
    }
}

/* Unknown property identifiers, and blocks that end inside a property: Malformed. */
TEST(mqtt5_2_2_2_2_unknown_or_truncated_property_is_malformed) {
    static const char *const bad[] = {
        "00",          /* identifier 0 */
        "04 00",       /* not a property */
        "2b 00",       /* past the last one */
        "ff 7f",       /* a 2-byte identifier: no such property */
        "02 00 00",    /* four-byte integer cut short */
        "23 00",       /* two-byte integer cut short */
        "1f 00 05 61", /* string longer than the block */
        "1f 00",       /* string length cut short */
        "26 00 01 6b", /* user property without a value */
        "26 00 01 6b 00 05 76",
        "0b 80", /* variable byte integer cut short */
        "0b 80 80 80 80 01",
        "0b 80 00", /* non-minimal variable byte integer [MQTT-1.5.5-1] */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cu_buf pr = {.n = 0}, pk;
        cu_put_hex(&pr, bad[i]);
        mk_ctx(&pk, MQWS_PKT_PUBLISH, pr.b, pr.n);
        if (cu_decode_err(__FILE__, __LINE__, pk.b, pk.n, MQWS_MQTT_5, 0, MQWS_EMALFORMED, NULL,
                          NULL) != MQWS_EMALFORMED)
            fprintf(stderr, "  property block %s\n", bad[i]);
    }
    /* A string property must be valid UTF-8 ([MQTT-1.5.4-1]); binary data need not. */
    cu_buf pr = {.n = 0}, pk;
    cu_put_hex(&pr, "1f 00 02 c3 28");
    mk_ctx(&pk, MQWS_PKT_PUBACK, pr.b, pr.n);
    DECODE_ERR_BYTES(pk.b, pk.n, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-1.5.4-1");
    pr.n = 0;
    cu_put_hex(&pr, "26 00 01 ff 00 01 76");
    mk_ctx(&pk, MQWS_PKT_PUBACK, pr.b, pr.n);
    DECODE_ERR_BYTES(pk.b, pk.n, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-1.5.7-1|MQTT-1.5.4-1");
    pr.n = 0;
    cu_put_hex(&pr, "26 00 01 6b 00 01 00");
    mk_ctx(&pk, MQWS_PKT_PUBACK, pr.b, pr.n);
    DECODE_ERR_BYTES(pk.b, pk.n, MQWS_MQTT_5, 0, MQWS_EMALFORMED, "MQTT-1.5.7-1|MQTT-1.5.4-2");
}

/* Each single-valued property at most once: twice is a Protocol Error (§3.x "It is a Protocol
 * Error to include ... more than once"). User Property may repeat everywhere, Subscription
 * Identifier in PUBLISH only. */
TEST(mqtt5_property_included_twice_is_a_protocol_error) {
    for (size_t i = 0; i < NPROPS; i++) {
        for (size_t c = 0; c < NCTX; c++) {
            int ctx = contexts[c];
            if (!allowed(i, ctx))
                continue;
            uint8_t id = table[i].id;
            cu_buf pr = {.n = 0}, pk;
            put_prop(&pr, id);
            if (id == 0x16) {
                cu_put_hex(&pr, "16 00 01 00");
            } else {
                put_prop(&pr, id);
            }
            mk_ctx(&pk, ctx, pr.b, pr.n);
            int repeatable = id == 0x26 || (id == 0x0B && ctx == MQWS_PKT_PUBLISH);
            if (repeatable)
                cu_decode_ok(__FILE__, __LINE__, cu_keep(pk.b, pk.n), pk.n, MQWS_MQTT_5, 0, 1,
                             NULL);
            else if (cu_decode_err(__FILE__, __LINE__, pk.b, pk.n, MQWS_MQTT_5, 0, MQWS_EPROTO,
                                   NULL, NULL) != MQWS_EPROTO)
                fprintf(stderr, "  property 0x%02x twice in context %d\n", id, ctx);
        }
    }
}

/* Values out of range: Protocol Errors (§3.1.2.11, §3.2.2.3, §3.3.2.3). */
TEST(mqtt5_property_value_rules) {
    static const struct {
        int ctx;
        const char *props;
    } c[] = {
        {MQWS_PKT_CONNECT, "21 00 00"}, /* Receive Maximum 0 */
        {MQWS_PKT_CONNACK, "21 00 00"},
        {MQWS_PKT_CONNECT, "27 00 00 00 00"}, /* Maximum Packet Size 0 */
        {MQWS_PKT_CONNACK, "27 00 00 00 00"},
        {MQWS_PKT_CONNECT, "17 02"}, /* booleans other than 0/1 */
        {MQWS_PKT_CONNECT, "19 ff"},
        {MQWS_PKT_CONNACK, "24 02"},
        {MQWS_PKT_CONNACK, "25 02"},
        {MQWS_PKT_CONNACK, "28 02"},
        {MQWS_PKT_CONNACK, "29 02"},
        {MQWS_PKT_CONNACK, "2a 02"},
        {MQWS_PKT_PUBLISH, "23 00 00"}, /* Topic Alias 0 [MQTT-3.3.2-8] */
        {MQWS_PKT_PUBLISH, "0b 00"},    /* Subscription Identifier 0 */
        {MQWS_PKT_SUBSCRIBE, "0b 00"},
        {MQWS_PKT_CONNECT, "16 00 01 00"}, /* Authentication Data without Method */
        {MQWS_PKT_CONNACK, "16 00 01 00"},
        {MQWS_PKT_AUTH, "16 00 01 00"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cu_buf pr = {.n = 0}, pk;
        cu_put_hex(&pr, c[i].props);
        mk_ctx(&pk, c[i].ctx, pr.b, pr.n);
        if (cu_decode_err(__FILE__, __LINE__, pk.b, pk.n, MQWS_MQTT_5, 0, 0, NULL, NULL) >= 0)
            fprintf(stderr, "  %s in context %d\n", c[i].props, c[i].ctx);
    }
    /* The extremes that are valid. */
    static const struct {
        int ctx;
        const char *props;
    } ok[] = {
        {MQWS_PKT_CONNECT, "21 ff ff"},
        {MQWS_PKT_CONNECT, "27 ff ff ff ff"},
        {MQWS_PKT_CONNACK, "24 00"},
        {MQWS_PKT_PUBLISH, "23 ff ff"},
        {MQWS_PKT_PUBLISH, "0b ff ff ff 7f"},
        {MQWS_PKT_PUBLISH, "02 ff ff ff ff"},
        {MQWS_PKT_CONNECT, "11 00 00 00 00"},
        {MQWS_PKT_CONNECT, "22 00 00"},
        {MQWS_PKT_CONNACK, "13 00 00"},
        {MQWS_PKT_PUBLISH, "09 00 00"},       /* empty binary data */
        {MQWS_PKT_PUBLISH, "26 00 00 00 00"}, /* empty user property */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cu_buf pr = {.n = 0}, pk;
        cu_put_hex(&pr, ok[i].props);
        mk_ctx(&pk, ok[i].ctx, pr.b, pr.n);
        cu_decode_ok(__FILE__, __LINE__, cu_keep(pk.b, pk.n), pk.n, MQWS_MQTT_5, 0, 1, NULL);
    }
}

/* [MQTT-3.3.2-17] [MQTT-3.3.2-18] User Properties are kept, in order, duplicates included, when
 * a decoded packet is re-encoded (the forwarding path). */
TEST(mqtt_3_3_2_18_user_property_order_is_preserved) {
    cu_buf pr = {.n = 0}, pk;
    cu_put_hex(&pr, "02 00 00 00 05");
    static const char *const kv[6][2] = {{"z", "1"}, {"a", "2"}, {"z", "3"},
                                         {"m", ""},  {"", "5"},  {"z", "1"}};
    for (int i = 0; i < 6; i++) {
        size_t kl = strlen(kv[i][0]), vl = strlen(kv[i][1]);
        cu_put_u8(&pr, 0x26);
        cu_put_u8(&pr, 0);
        cu_put_u8(&pr, (uint8_t)kl);
        cu_put(&pr, kv[i][0], kl);
        cu_put_u8(&pr, 0);
        cu_put_u8(&pr, (uint8_t)vl);
        cu_put(&pr, kv[i][1], vl);
    }
    mk_ctx(&pk, MQWS_PKT_PUBLISH, pr.b, pr.n);
    mqws_packet p;
    uint8_t *kept = cu_keep(pk.b, pk.n);
    DECODE_OK_BYTES(kept, pk.n, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.props.user_prop_count, 6);
    CHECK_INT(p.props.message_expiry, 5);
    mqws_prop_iter it;
    mqws_view k, v;
    mqws_props_iter_init(&p.props, &it);
    for (int i = 0; i < 6; i++) {
        CHECK(mqws_props_next_user(&it, &k, &v));
        CHECK_VIEW(k, kv[i][0]);
        CHECK_VIEW(v, kv[i][1]);
        CHECK(k.len == 0 || (k.ptr >= kept && k.ptr < kept + pk.n)); /* zero copy */
    }
    CHECK(!mqws_props_next_user(&it, &k, &v));
    /* The same from an array when encoding. */
    mqws_user_prop arr[6];
    for (int i = 0; i < 6; i++) {
        arr[i].key = mqws_view_cstr(kv[i][0]);
        arr[i].value = mqws_view_cstr(kv[i][1]);
    }
    mqws_packet q;
    mqws_packet_init(&q, MQWS_PKT_PUBLISH);
    q.qos = 1;
    q.packet_id = 1;
    q.topic = mqws_view_cstr("t");
    q.payload = mqws_view_cstr("hi");
    mqws_props_init(&q.props);
    q.props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL | MQWS_PROPF_USER_PROPERTY;
    q.props.message_expiry = 5;
    q.props.user_props = arr;
    q.props.user_prop_count = 6;
    uint8_t out[256];
    size_t w = 0;
    CHECK_INT(mqws_encode(&q, MQWS_MQTT_5, out, sizeof out, &w), MQWS_OK);
    CHECK_MEM(out, w, pk.b, pk.n);
}

/* User properties on every packet that has properties, three of them, in order. */
TEST(mqtt5_user_properties_in_every_packet) {
    for (size_t c = 0; c < NCTX; c++) {
        cu_buf pr = {.n = 0}, pk;
        cu_put_hex(&pr, "26 00 01 61 00 01 31 26 00 01 62 00 01 32 26 00 01 61 00 01 33");
        mk_ctx(&pk, contexts[c], pr.b, pr.n);
        mqws_packet p;
        if (cu_decode_ok(__FILE__, __LINE__, cu_keep(pk.b, pk.n), pk.n, MQWS_MQTT_5, 0, 1, &p))
            continue;
        const mqws_props *x = ctx_props(&p, contexts[c]);
        CHECK_INT(x->user_prop_count, 3);
        mqws_prop_iter it;
        mqws_view k, v;
        mqws_props_iter_init(x, &it);
        CHECK(mqws_props_next_user(&it, &k, &v) && mqws_view_eq(v, mqws_view_cstr("1")));
        CHECK(mqws_props_next_user(&it, &k, &v) && mqws_view_eq(v, mqws_view_cstr("2")));
        CHECK(mqws_props_next_user(&it, &k, &v) && mqws_view_eq(v, mqws_view_cstr("3")));
        CHECK(!mqws_props_next_user(&it, &k, &v));
    }
}

/* Several Subscription Identifiers in one PUBLISH ([MQTT-3.3.4-4]), read in order. */
TEST(mqtt_3_3_4_4_repeated_subscription_identifiers) {
    cu_buf pr = {.n = 0}, pk;
    cu_put_hex(&pr, "0b 01 0b 80 01 0b ff 7f 0b 80 80 01 0b ff ff ff 7f 26 00 00 00 00");
    mk_ctx(&pk, MQWS_PKT_PUBLISH, pr.b, pr.n);
    mqws_packet p;
    DECODE_OK_BYTES(cu_keep(pk.b, pk.n), pk.n, MQWS_MQTT_5, MQWS_DECODE_FROM_SERVER, &p);
    CHECK_INT(p.props.sub_id_count, 5);
    CHECK_INT(p.props.subscription_id, 1);
    static const uint32_t want[5] = {1, 128, 16383, 16384, 268435455};
    mqws_prop_iter it;
    uint32_t id;
    mqws_props_iter_init(&p.props, &it);
    for (int i = 0; i < 5; i++) {
        CHECK(mqws_props_next_sub_id(&it, &id));
        CHECK_INT(id, want[i]);
    }
    CHECK(!mqws_props_next_sub_id(&it, &id));
    /* Encoding from the array writes them in the given order. */
    mqws_packet q;
    mqws_packet_init(&q, MQWS_PKT_PUBLISH);
    q.qos = 1;
    q.packet_id = 1;
    q.topic = mqws_view_cstr("t");
    q.payload = mqws_view_cstr("hi");
    mqws_props_init(&q.props);
    static const mqws_user_prop empty = {{NULL, 0}, {NULL, 0}};
    q.props.present = MQWS_PROPF_SUBSCRIPTION_IDENTIFIER | MQWS_PROPF_USER_PROPERTY;
    q.props.sub_ids = want;
    q.props.sub_id_count = 5;
    q.props.user_props = &empty;
    q.props.user_prop_count = 1;
    uint8_t out[128];
    size_t w = 0;
    CHECK_INT(mqws_encode(&q, MQWS_MQTT_5, out, sizeof out, &w), MQWS_OK);
    CHECK_MEM(out, w, pk.b, pk.n);
    /* A Subscription Identifier above 268,435,455 cannot be encoded. */
    static const uint32_t too_big = 268435456u;
    q.props.sub_ids = &too_big;
    q.props.sub_id_count = 1;
    CHECK_INT(mqws_encode(&q, MQWS_MQTT_5, out, sizeof out, &w), MQWS_EINVAL);
}

/* "Encoding writes every single-valued property whose bit is set, in ascending identifier
 * order" (codec.h): set all PUBLISH properties and compare with the bytes. */
TEST(mqtt5_encode_properties_in_ascending_order) {
    mqws_packet q;
    mqws_packet_init(&q, MQWS_PKT_PUBACK);
    q.packet_id = 1;
    q.reason_code = 0x10;
    mqws_props_init(&q.props);
    static const mqws_user_prop up = {{(const uint8_t *)"k", 1}, {(const uint8_t *)"v", 1}};
    q.props.present = MQWS_PROPF_USER_PROPERTY | MQWS_PROPF_REASON_STRING;
    q.props.user_props = &up;
    q.props.user_prop_count = 1;
    q.props.reason_string = mqws_view_cstr("r");
    ENCODE_EQ(&q, MQWS_MQTT_5, "40 0f 00 01 10 0b 1f 00 01 72 26 00 01 6b 00 01 76");
    /* A property the packet may not carry is refused. */
    q.props.present |= MQWS_PROPF_TOPIC_ALIAS;
    q.props.topic_alias = 1;
    uint8_t out[64];
    size_t w;
    CHECK_INT(mqws_encode(&q, MQWS_MQTT_5, out, sizeof out, &w), MQWS_EINVAL);
    size_t sz;
    CHECK_INT(mqws_encoded_size(&q, MQWS_MQTT_5, &sz), MQWS_EINVAL);
}

/* [MQTT-2.2.2-1] No properties: a Property Length of zero. */
TEST(mqtt_2_2_2_1_no_properties_is_length_zero) {
    mqws_packet q;
    mqws_packet_init(&q, MQWS_PKT_SUBSCRIBE);
    static const mqws_subscription s = {{(const uint8_t *)"a", 1}, 1, 0, 0, 0};
    q.packet_id = 1;
    q.subs = &s;
    q.entry_count = 1;
    ENCODE_EQ(&q, MQWS_MQTT_5, "82 07 00 01 00 00 01 61 01");
    mqws_packet_init(&q, MQWS_PKT_CONNACK);
    ENCODE_EQ(&q, MQWS_MQTT_5, "20 03 00 00 00");
}

/* "Decoding sets `present`, the single-valued fields whose bit is set ..., `user_prop_count`,
 * `sub_id_count` ... and `raw`. `user_props` and `sub_ids` are set to NULL." (codec.h) */
TEST(decode_props_contract) {
    mqws_packet p;
    memset(&p, 0x5a, sizeof p);
    size_t n;
    const uint8_t *b = cu_hex("30 0a 00 01 74 05 02 00 00 00 07 78", &n);
    CHECK_INT(mqws_decode(b, n, MQWS_MQTT_5, 0, &p, NULL), MQWS_OK);
    CHECK_INT(p.props.present, MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL);
    CHECK_INT(p.props.message_expiry, 7);
    CHECK_INT(p.props.user_prop_count, 0);
    CHECK_INT(p.props.sub_id_count, 0);
    CHECK(p.props.user_props == NULL);
    CHECK(p.props.sub_ids == NULL);
    CHECK_INT(p.props.raw.len, 5);
    CHECK(p.props.raw.ptr == b + 6);
    /* No properties: an empty block, and iterators that end at once. */
    b = cu_hex("30 05 00 01 74 00 78", &n);
    memset(&p, 0x5a, sizeof p);
    CHECK_INT(mqws_decode(b, n, MQWS_MQTT_5, 0, &p, NULL), MQWS_OK);
    CHECK_INT(p.props.present, 0);
    CHECK_INT(p.props.raw.len, 0);
    mqws_prop_iter it;
    mqws_prop one;
    mqws_view k, v;
    uint32_t id;
    mqws_props_iter_init(&p.props, &it);
    CHECK(!mqws_props_next(&it, &one));
    mqws_props_iter_init(&p.props, &it);
    CHECK(!mqws_props_next_user(&it, &k, &v));
    mqws_props_iter_init(&p.props, &it);
    CHECK(!mqws_props_next_sub_id(&it, &id));
    /* And on a freshly initialised block. */
    mqws_props pr;
    memset(&pr, 0x5a, sizeof pr);
    mqws_props_init(&pr);
    CHECK_INT(pr.present, 0);
    CHECK_INT(pr.user_prop_count, 0);
    CHECK_INT(pr.sub_id_count, 0);
    CHECK(pr.user_props == NULL && pr.sub_ids == NULL);
    CHECK_INT(pr.raw.len, 0);
    mqws_props_iter_init(&pr, &it);
    CHECK(!mqws_props_next(&it, &one));
}

/* §2.2.2.2 "There is no significance in the order of Properties with different Identifiers":
 * a block in descending order decodes to the same values and, unmodified, is written back bit
 * for bit (codec.h: "what mqws_decode() accepts, mqws_encode() can write back bit for bit").
 * Once the host changes a property, the block is rebuilt in ascending identifier order. */
TEST(mqtt5_2_2_2_2_property_order_is_not_significant) {
    mqws_packet p;
    DECODE_OK("32 1d 00 01 74 00 01 15 26 00 01 6b 00 01 76 23 00 05 08 00 01 72 02 00 00 00 09 01 "
              "01 68 69",
              MQWS_MQTT_5, 0, &p);
    CHECK_INT(p.props.present, MQWS_PROPF_USER_PROPERTY | MQWS_PROPF_TOPIC_ALIAS |
                                   MQWS_PROPF_RESPONSE_TOPIC | MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL |
                                   MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR);
    CHECK_INT(p.props.topic_alias, 5);
    CHECK_INT(p.props.message_expiry, 9);
    CHECK_INT(p.props.payload_format, 1);
    CHECK_VIEW(p.props.response_topic, "r");
}

/* The broker's forwarding path: decode, then [MQTT-3.3.2-6] lower the Message Expiry Interval
 * by the time waited and [MQTT-3.3.2-7] drop the inbound Topic Alias; user properties stay, in
 * order [MQTT-3.3.2-17] [MQTT-3.3.2-18]. */
TEST(mqtt_3_3_2_6_forwarding_rewrites_changed_properties) {
    mqws_packet p;
    DECODE_OK("32 1d 00 01 74 00 01 15 26 00 01 6b 00 01 76 23 00 05 08 00 01 72 02 00 00 00 09 01 "
              "01 68 69",
              MQWS_MQTT_5, 0, &p);
    p.props.message_expiry = 5;
    p.props.present &= ~MQWS_PROPF_TOPIC_ALIAS;
    ENCODE_EQ(
        &p, MQWS_MQTT_5,
        "32 1a 00 01 74 00 01 12 01 01 02 00 00 00 05 08 00 01 72 26 00 01 6b 00 01 76 68 69");
    /* The same from an ascending block. */
    DECODE_OK("32 1d 00 01 74 00 01 15 01 01 02 00 00 00 09 08 00 01 72 23 00 05 26 00 01 6b 00 01 "
              "76 68 69",
              MQWS_MQTT_5, 0, &p);
    p.props.message_expiry = 5;
    p.props.present &= ~MQWS_PROPF_TOPIC_ALIAS;
    ENCODE_EQ(
        &p, MQWS_MQTT_5,
        "32 1a 00 01 74 00 01 12 01 01 02 00 00 00 05 08 00 01 72 26 00 01 6b 00 01 76 68 69");
    /* Only a value changed, no bit: the new value is written. */
    DECODE_OK("30 0a 00 01 74 05 02 00 00 00 09 78", MQWS_MQTT_5, 0, &p);
    p.props.message_expiry = 1;
    ENCODE_EQ(&p, MQWS_MQTT_5, "30 0a 00 01 74 05 02 00 00 00 01 78");
    /* [MQTT-3.3.4-3] the server adds the subscriber's Subscription Identifier when forwarding. */
    DECODE_OK("30 05 00 01 74 00 78", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    p.props.present |= MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
    p.props.subscription_id = 7;
    ENCODE_EQ(&p, MQWS_MQTT_5, "30 07 00 01 74 02 0b 07 78");
    /* A changed string property is written from its new view. */
    DECODE_OK("30 09 00 01 74 04 08 00 01 72 78", MQWS_MQTT_5, 0, &p);
    p.props.response_topic = mqws_view_cstr("z/y");
    ENCODE_EQ(&p, MQWS_MQTT_5, "30 0b 00 01 74 06 08 00 03 7a 2f 79 78");
    /* Subscription identifiers are never copied from the received block (codec.h): without an
     * array only `subscription_id` (the first) is written, in ascending position. */
    DECODE_OK_NONCANON("30 0d 00 01 74 08 0b 01 0b 02 08 00 01 72 78", MQWS_MQTT_5, 0, &p);
    {
        uint8_t out[64];
        size_t w = 0;
        size_t n;
        CHECK_INT(mqws_encode(&p, MQWS_MQTT_5, out, sizeof out, &w), MQWS_OK);
        const uint8_t *want = cu_hex("30 0b 00 01 74 06 08 00 01 72 0b 01 78", &n);
        CHECK_MEM(out, w, want, n);
    }
    /* Downgrading to 3.1.1 drops the properties. */
    DECODE_OK("30 0a 00 01 74 05 02 00 00 00 09 78", MQWS_MQTT_5, 0, &p);
    ENCODE_EQ(&p, MQWS_MQTT_311, "30 04 00 01 74 78");
}

/* codec.h: "User properties come from user_props[0..user_prop_count) when user_props is
 * non-NULL (and the count non-zero), otherwise, when MQWS_PROPF_USER_PROPERTY is set, they are
 * copied from raw". */
TEST(user_property_sources) {
    static const mqws_user_prop up = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}};
    mqws_packet p;
    DECODE_OK("30 0c 00 01 74 07 26 00 01 6b 00 01 76 78", MQWS_MQTT_5, 0, &p);
    mqws_packet q = p;
    q.props.present &= ~MQWS_PROPF_USER_PROPERTY; /* drop the received ones */
    ENCODE_EQ(&q, MQWS_MQTT_5, "30 05 00 01 74 00 78");
    q = p;
    q.props.user_props = &up; /* replace them */
    q.props.user_prop_count = 1;
    ENCODE_EQ(&q, MQWS_MQTT_5, "30 0c 00 01 74 07 26 00 01 61 00 01 62 78");
    q.props.present &= ~MQWS_PROPF_USER_PROPERTY; /* the array needs no bit */
    ENCODE_EQ(&q, MQWS_MQTT_5, "30 0c 00 01 74 07 26 00 01 61 00 01 62 78");
    q.props.user_prop_count = 0; /* an empty array falls back to raw, gated by the bit */
    ENCODE_EQ(&q, MQWS_MQTT_5, "30 05 00 01 74 00 78");
    q.props.present |= MQWS_PROPF_USER_PROPERTY;
    ENCODE_EQ(&q, MQWS_MQTT_5, "30 0c 00 01 74 07 26 00 01 6b 00 01 76 78");
}

/* Properties do not exist before 5.0: a 3.1.1 PUBLISH's bytes after the topic are payload. */
/* The user-property iterator, inline (mqws/codec.h's macro) and exported (the parenthesised
 * name calls the library), over a block with every property kind before, between and after two
 * user properties, with and without the decoder's hint: the same answers. A kind the inline
 * step skipped wrongly would misalign it and miss the user properties. */
static void iter_both(const mqws_props *pr, const char *const *want, size_t nwant) {
    for (int form = 0; form < 2; form++) {
        mqws_prop_iter it;
        mqws_view k, v;
        if (form)
            (mqws_props_iter_init)(pr, &it);
        else
            mqws_props_iter_init(pr, &it);
        for (size_t i = 0; i < nwant; i++) {
            int r = form ? (mqws_props_next_user)(&it, &k, &v) : mqws_props_next_user(&it, &k, &v);
            CHECK(r == 1);
            CHECK_VIEW(v, want[i]);
        }
        int r = form ? (mqws_props_next_user)(&it, &k, &v) : mqws_props_next_user(&it, &k, &v);
        CHECK(r == 0);
        CHECK(k.ptr == NULL && k.len == 0 && v.ptr == NULL && v.len == 0); /* cleared at the end */
        CHECK(it.pos == it.end);
    }
}

TEST(user_property_iterator_inline_and_exported_agree) {
    static const char *const want[2] = {"v1", "v2"};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        cu_buf b = {.n = 0};
        put_prop(&b, table[i].id);
        cu_put_hex(&b, "26 00 01 6b 00 02 76 31"); /* k = v1 */
        put_prop(&b, table[i].id);
        cu_put_hex(&b, "26 00 01 6b 00 02 76 32"); /* k = v2 */
        put_prop(&b, table[i].id);
        const uint8_t *blk = cu_keep(b.b, b.n);
        mqws_props pr;
        mqws_props_init(&pr);
        pr.raw = (mqws_view){blk, b.n};
        size_t n = table[i].id == 0x26 ? 0 : 2; /* put_prop(0x26) adds a user property "v1" */
        if (table[i].id != 0x26) {
            iter_both(&pr, want, n);           /* no hint: from the start */
            pr.user_first = (uint32_t)b.n + 1; /* a hint past the block is ignored */
            iter_both(&pr, want, n);
        }
    }
    /* Unknown identifiers and truncated blocks end the walk in both forms. */
    static const char *const bad[] = {"00 26 00 01 6b 00 02 76 31",
                                      "40 26 00 01 6b 00 02 76 31",
                                      "ff 26 00 01 6b 00 02 76 31",
                                      "02 00 00",
                                      "26 00 01 6b 00",
                                      "03 00 05 61",
                                      "0b 80 80 80 80 80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n;
        const uint8_t *h = cu_hex(bad[i], &n);
        mqws_props pr;
        mqws_props_init(&pr);
        pr.raw = (mqws_view){h, n};
        iter_both(&pr, NULL, 0);
    }
}

/* The decoder records where the first user property is (user_first); iteration starts there
 * and returns every user property in order, also when mqws_props_next() moved the iterator
 * first; a PUBLISH without user properties records raw.len. Fast path (PUBLISH) and full
 * decoder (CONNECT) alike. */
TEST(decoder_user_property_hint) {
    static const char *const want[2] = {"v1", "v2"};
    cu_buf pr = {.n = 0}, pk;
    cu_put_hex(&pr, "02 00 00 00 05 03 00 01 61"); /* expiry, content type: 9 bytes */
    cu_put_hex(&pr, "26 00 01 6b 00 02 76 31 08 00 01 72 26 00 01 6b 00 02 76 32");
    int ctxs[2] = {MQWS_PKT_PUBLISH, WILL};
    for (int c = 0; c < 2; c++) {
        mk_ctx(&pk, ctxs[c], pr.b, pr.n);
        mqws_packet p;
        DECODE_OK_BYTES(cu_keep(pk.b, pk.n), pk.n, MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
        const mqws_props *x = ctx_props(&p, ctxs[c]);
        CHECK_INT(x->user_first, 9);
        CHECK_INT(x->user_prop_count, 2);
        iter_both(x, want, 2);
        /* mqws_props_next() past the first user property, then the user iterator. */
        mqws_prop_iter it;
        mqws_prop one;
        mqws_view k, v;
        mqws_props_iter_init(x, &it);
        for (int i = 0; i < 3; i++)
            CHECK(mqws_props_next(&it, &one));
        CHECK_INT(one.id, 0x26);
        CHECK(mqws_props_next_user(&it, &k, &v));
        CHECK_VIEW(v, "v2");
        CHECK(!mqws_props_next_user(&it, &k, &v));
    }
    mqws_packet p;
    DECODE_OK("30 0a 00 01 74 05 02 00 00 00 05 78", MQWS_MQTT_5, MQWS_DECODE_FROM_CLIENT, &p);
    CHECK_INT(p.props.user_first, 5);
    CHECK_INT(p.props.raw.len, 5);
    iter_both(&p.props, NULL, 0);
}

TEST(properties_only_at_level_5) {
    mqws_packet p;
    DECODE_OK("30 07 00 01 74 02 23 00 01", MQWS_MQTT_311, 0, &p);
    CHECK_INT(p.payload.len, 4);
    CHECK_INT(p.props.present, 0);
}

int main(void) {
    RUN(mqtt5_2_2_2_2_property_table);
    RUN(mqtt5_2_2_2_2_every_property_round_trips_where_allowed);
    RUN(mqtt5_2_2_2_2_property_not_allowed_is_malformed);
    RUN(mqtt5_2_2_2_2_unknown_or_truncated_property_is_malformed);
    RUN(mqtt5_property_included_twice_is_a_protocol_error);
    RUN(mqtt5_property_value_rules);
    RUN(mqtt_3_3_2_18_user_property_order_is_preserved);
    RUN(mqtt5_user_properties_in_every_packet);
    RUN(mqtt_3_3_4_4_repeated_subscription_identifiers);
    RUN(mqtt5_encode_properties_in_ascending_order);
    RUN(mqtt_2_2_2_1_no_properties_is_length_zero);
    RUN(properties_only_at_level_5);
    RUN(user_property_iterator_inline_and_exported_agree);
    RUN(decoder_user_property_hint);
    RUN(decode_props_contract);
    RUN(user_property_sources);
    RUN(mqtt5_2_2_2_2_property_order_is_not_significant);
    RUN(mqtt_3_3_2_6_forwarding_rewrites_changed_properties);
    return testlib_finish();
}
