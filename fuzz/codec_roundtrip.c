/* libFuzzer target: decode -> encode -> decode at every protocol level, then compare the two
 * decoded packets field by field, including every property and every entry. Abort on mismatch.
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqws/codec.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_view(mqws_view a, mqws_view b) {
    CHECK(a.len == b.len);
    CHECK(a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void same_props(const mqws_props *a, const mqws_props *b) {
    CHECK(a->present == b->present);
    CHECK(a->user_prop_count == b->user_prop_count && a->sub_id_count == b->sub_id_count);
    mqws_prop_iter ia, ib;
    mqws_prop pa, pb;
    mqws_props_iter_init(a, &ia);
    mqws_props_iter_init(b, &ib);
    /* The encoder keeps the wire order when raw is reproduced exactly, so the two blocks are
     * compared in order. */
    for (;;) {
        int ra = mqws_props_next(&ia, &pa), rb = mqws_props_next(&ib, &pb);
        CHECK(ra == rb);
        if (!ra)
            break;
        CHECK(pa.id == pb.id && pa.u32 == pb.u32);
        same_view(pa.a, pb.a);
        same_view(pa.b, pb.b);
    }
    if (a->present & MQWS_PROPF_PAYLOAD_FORMAT_INDICATOR)
        CHECK(a->payload_format == b->payload_format);
    if (a->present & MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL)
        CHECK(a->message_expiry == b->message_expiry);
    if (a->present & MQWS_PROPF_CONTENT_TYPE)
        same_view(a->content_type, b->content_type);
    if (a->present & MQWS_PROPF_RESPONSE_TOPIC)
        same_view(a->response_topic, b->response_topic);
    if (a->present & MQWS_PROPF_CORRELATION_DATA)
        same_view(a->correlation_data, b->correlation_data);
    if (a->present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER)
        CHECK(a->subscription_id == b->subscription_id);
    if (a->present & MQWS_PROPF_SESSION_EXPIRY_INTERVAL)
        CHECK(a->session_expiry == b->session_expiry);
    if (a->present & MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER)
        same_view(a->assigned_client_id, b->assigned_client_id);
    if (a->present & MQWS_PROPF_SERVER_KEEP_ALIVE)
        CHECK(a->server_keep_alive == b->server_keep_alive);
    if (a->present & MQWS_PROPF_AUTHENTICATION_METHOD)
        same_view(a->auth_method, b->auth_method);
    if (a->present & MQWS_PROPF_AUTHENTICATION_DATA)
        same_view(a->auth_data, b->auth_data);
    if (a->present & MQWS_PROPF_REQUEST_PROBLEM_INFORMATION)
        CHECK(a->request_problem_info == b->request_problem_info);
    if (a->present & MQWS_PROPF_WILL_DELAY_INTERVAL)
        CHECK(a->will_delay == b->will_delay);
    if (a->present & MQWS_PROPF_REQUEST_RESPONSE_INFORMATION)
        CHECK(a->request_response_info == b->request_response_info);
    if (a->present & MQWS_PROPF_RESPONSE_INFORMATION)
        same_view(a->response_info, b->response_info);
    if (a->present & MQWS_PROPF_SERVER_REFERENCE)
        same_view(a->server_reference, b->server_reference);
    if (a->present & MQWS_PROPF_REASON_STRING)
        same_view(a->reason_string, b->reason_string);
    if (a->present & MQWS_PROPF_RECEIVE_MAXIMUM)
        CHECK(a->receive_maximum == b->receive_maximum);
    if (a->present & MQWS_PROPF_TOPIC_ALIAS_MAXIMUM)
        CHECK(a->topic_alias_maximum == b->topic_alias_maximum);
    if (a->present & MQWS_PROPF_TOPIC_ALIAS)
        CHECK(a->topic_alias == b->topic_alias);
    if (a->present & MQWS_PROPF_MAXIMUM_QOS)
        CHECK(a->maximum_qos == b->maximum_qos);
    if (a->present & MQWS_PROPF_RETAIN_AVAILABLE)
        CHECK(a->retain_available == b->retain_available);
    if (a->present & MQWS_PROPF_MAXIMUM_PACKET_SIZE)
        CHECK(a->maximum_packet_size == b->maximum_packet_size);
    if (a->present & MQWS_PROPF_WILDCARD_SUBSCRIPTION_AVAILABLE)
        CHECK(a->wildcard_sub_available == b->wildcard_sub_available);
    if (a->present & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER_AVAILABLE)
        CHECK(a->sub_id_available == b->sub_id_available);
    if (a->present & MQWS_PROPF_SHARED_SUBSCRIPTION_AVAILABLE)
        CHECK(a->shared_sub_available == b->shared_sub_available);
}

static void same_entries(const mqws_packet *a, const mqws_packet *b, uint8_t level) {
    mqws_entry_iter ia, ib;
    mqws_entry_iter_init(a, level, &ia);
    mqws_entry_iter_init(b, level, &ib);
    if (a->type == MQWS_PKT_SUBSCRIBE) {
        mqws_subscription sa, sb;
        for (;;) {
            int ra = mqws_subscribe_next(&ia, &sa), rb = mqws_subscribe_next(&ib, &sb);
            CHECK(ra == rb);
            if (!ra)
                break;
            same_view(sa.filter, sb.filter);
            CHECK(sa.qos == sb.qos && sa.no_local == sb.no_local &&
                  sa.retain_as_published == sb.retain_as_published &&
                  sa.retain_handling == sb.retain_handling);
        }
    } else {
        mqws_view fa, fb;
        for (;;) {
            int ra = mqws_unsubscribe_next(&ia, &fa), rb = mqws_unsubscribe_next(&ib, &fb);
            CHECK(ra == rb);
            if (!ra)
                break;
            same_view(fa, fb);
        }
    }
}

static void same_packet(const mqws_packet *a, const mqws_packet *b, uint8_t level) {
    CHECK(a->type == b->type && a->flags == b->flags);
    switch (a->type) {
        case MQWS_PKT_CONNECT:
            CHECK(a->protocol_level == b->protocol_level && a->keep_alive == b->keep_alive);
            CHECK(a->clean_start == b->clean_start && a->will_flag == b->will_flag &&
                  a->will_qos == b->will_qos && a->will_retain == b->will_retain &&
                  a->has_username == b->has_username && a->has_password == b->has_password);
            same_view(a->protocol_name, b->protocol_name);
            same_view(a->client_id, b->client_id);
            same_view(a->will_topic, b->will_topic);
            same_view(a->will_payload, b->will_payload);
            same_view(a->username, b->username);
            same_view(a->password, b->password);
            same_props(&a->will_props, &b->will_props);
            break;
        case MQWS_PKT_CONNACK:
            CHECK(a->session_present == b->session_present && a->reason_code == b->reason_code);
            break;
        case MQWS_PKT_PUBLISH:
            CHECK(a->dup == b->dup && a->qos == b->qos && a->retain == b->retain);
            CHECK(a->packet_id == b->packet_id);
            same_view(a->topic, b->topic);
            same_view(a->payload, b->payload);
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            CHECK(a->packet_id == b->packet_id);
            CHECK(a->reason_code == b->reason_code && a->tail_form == b->tail_form);
            break;
        case MQWS_PKT_DISCONNECT:
        case MQWS_PKT_AUTH:
            CHECK(a->reason_code == b->reason_code && a->tail_form == b->tail_form);
            break;
        case MQWS_PKT_SUBSCRIBE:
        case MQWS_PKT_UNSUBSCRIBE:
            CHECK(a->packet_id == b->packet_id && a->entry_count == b->entry_count);
            same_entries(a, b, level);
            break;
        case MQWS_PKT_SUBACK:
        case MQWS_PKT_UNSUBACK:
            CHECK(a->packet_id == b->packet_id);
            same_view(a->reason_codes, b->reason_codes);
            break;
        default:
            break;
    }
    same_props(&a->props, &b->props);
}

static uint32_t g_ids[4096];
static uint8_t g_out[1 << 16];

static void roundtrip(const uint8_t *data, size_t size, uint8_t level) {
    mqws_packet a, b;
    memset(&a, 0, sizeof a);
    if (mqws_decode(data, size, level, 0, &a, NULL) != MQWS_OK)
        return;
    uint8_t enc_level = a.type == MQWS_PKT_CONNECT ? a.protocol_level : level;
    if (a.props.sub_id_count > 1 && a.props.sub_id_count <= 4096) {
        mqws_prop_iter it;
        uint32_t n = 0;
        mqws_props_iter_init(&a.props, &it);
        while (mqws_props_next_sub_id(&it, &g_ids[n]))
            n++;
        a.props.sub_ids = g_ids;
    }
    size_t n = 0;
    CHECK(mqws_encode(&a, enc_level, g_out, sizeof g_out, &n) == MQWS_OK);
    memset(&b, 0, sizeof b);
    CHECK(mqws_decode(g_out, n, enc_level, 0, &b, NULL) == MQWS_OK);
    a.props.sub_ids = NULL;
    same_packet(&a, &b, enc_level);
    /* A freshly built copy (arrays instead of wire forms) must encode to a packet that decodes
     * to the same thing as well. */
    if (a.type == MQWS_PKT_PUBLISH) {
        mqws_packet c;
        mqws_packet_init(&c, MQWS_PKT_PUBLISH);
        c.dup = a.dup;
        c.qos = a.qos;
        c.retain = a.retain;
        c.topic = a.topic;
        c.packet_id = a.packet_id;
        c.payload = a.payload;
        c.props = a.props;
        c.props.raw.ptr = NULL;
        c.props.raw.len = 0;
        c.props.present &= ~MQWS_PROPF_USER_PROPERTY;
        c.props.user_prop_count = 0;
        size_t m = 0;
        static uint8_t out2[1 << 16];
        size_t csize = 0;
        CHECK(mqws_encoded_size(&c, level, &csize) == MQWS_OK);
        CHECK(mqws_encode(&c, level, out2, sizeof out2, &m) == MQWS_OK);
        CHECK(m == csize);
        CHECK(mqws_validate(&c, level, 0, NULL) == MQWS_OK);
        mqws_packet d;
        memset(&d, 0, sizeof d);
        CHECK(mqws_decode(out2, m, level, 0, &d, NULL) == MQWS_OK);
        CHECK(d.props.present == (a.props.present & ~MQWS_PROPF_USER_PROPERTY));
        same_view(d.topic, a.topic);
        same_view(d.payload, a.payload);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 15))
        return 0;
    roundtrip(data, size, MQWS_MQTT_31);
    roundtrip(data, size, MQWS_MQTT_311);
    roundtrip(data, size, MQWS_MQTT_5);
    return 0;
}
