/* Names and tables: packet types, reason codes (MQTT 5 §2.4, 3.1.1 §3.2.2.3 and §3.9.3) and
 * properties (MQTT 5 §2.2.2.2).
 * SPDX-License-Identifier: MIT */
#include "codec_internal.h"

const char *mqws_packet_type_name(int type) {
    static const char *const names[16] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                          "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                          "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                          "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
    if (type < 0 || type > 15)
        return "RESERVED";
    return names[type];
}

#define T(t)   (1u << MQWS_PKT_##t)
#define ACKS   (T(PUBACK) | T(PUBREC))
#define ERRSET (T(CONNACK) | ACKS | T(SUBACK) | T(UNSUBACK) | T(DISCONNECT))

const uint16_t mqws__rc5_mask[256] = {
    [0x00] = T(CONNACK) | ACKS | T(PUBREL) | T(PUBCOMP) | T(SUBACK) | T(UNSUBACK) | T(DISCONNECT) |
             T(AUTH),
    [0x01] = T(SUBACK),
    [0x02] = T(SUBACK),
    [0x04] = T(DISCONNECT),
    [0x10] = ACKS,
    [0x11] = T(UNSUBACK),
    [0x18] = T(AUTH),
    [0x19] = T(AUTH),
    [0x80] = ERRSET,
    [0x81] = T(CONNACK) | T(DISCONNECT),
    [0x82] = T(CONNACK) | T(DISCONNECT),
    [0x83] = ERRSET,
    [0x84] = T(CONNACK),
    [0x85] = T(CONNACK),
    [0x86] = T(CONNACK),
    [0x87] = ERRSET,
    [0x88] = T(CONNACK),
    [0x89] = T(CONNACK) | T(DISCONNECT),
    [0x8A] = T(CONNACK),
    [0x8B] = T(DISCONNECT),
    [0x8C] = T(CONNACK) | T(DISCONNECT),
    [0x8D] = T(DISCONNECT),
    [0x8E] = T(DISCONNECT),
    [0x8F] = T(SUBACK) | T(UNSUBACK) | T(DISCONNECT),
    [0x90] = T(CONNACK) | ACKS | T(DISCONNECT),
    [0x91] = ACKS | T(SUBACK) | T(UNSUBACK),
    [0x92] = T(PUBREL) | T(PUBCOMP),
    [0x93] = T(DISCONNECT),
    [0x94] = T(DISCONNECT),
    [0x95] = T(CONNACK) | T(DISCONNECT),
    [0x96] = T(DISCONNECT),
    [0x97] = T(CONNACK) | ACKS | T(SUBACK) | T(DISCONNECT),
    [0x98] = T(DISCONNECT),
    [0x99] = T(CONNACK) | ACKS | T(DISCONNECT),
    [0x9A] = T(CONNACK) | T(DISCONNECT),
    [0x9B] = T(CONNACK) | T(DISCONNECT),
    [0x9C] = T(CONNACK) | T(DISCONNECT),
    [0x9D] = T(CONNACK) | T(DISCONNECT),
    [0x9E] = T(SUBACK) | T(DISCONNECT),
    [0x9F] = T(CONNACK) | T(DISCONNECT),
    [0xA0] = T(DISCONNECT),
    [0xA1] = T(SUBACK) | T(DISCONNECT),
    [0xA2] = T(SUBACK) | T(DISCONNECT),
};

static const char *reason5_name(int code, int type) {
    switch (code) {
        case 0x00:
            if (type == MQWS_PKT_DISCONNECT)
                return "Normal disconnection";
            if (type == MQWS_PKT_SUBACK)
                return "Granted QoS 0";
            return "Success";
        case 0x01:
            return "Granted QoS 1";
        case 0x02:
            return "Granted QoS 2";
        case 0x04:
            return "Disconnect with Will Message";
        case 0x10:
            return "No matching subscribers";
        case 0x11:
            return "No subscription existed";
        case 0x18:
            return "Continue authentication";
        case 0x19:
            return "Re-authenticate";
        case 0x80:
            return "Unspecified error";
        case 0x81:
            return "Malformed Packet";
        case 0x82:
            return "Protocol Error";
        case 0x83:
            return "Implementation specific error";
        case 0x84:
            return "Unsupported Protocol Version";
        case 0x85:
            return "Client Identifier not valid";
        case 0x86:
            return "Bad User Name or Password";
        case 0x87:
            return "Not authorized";
        case 0x88:
            return "Server unavailable";
        case 0x89:
            return "Server busy";
        case 0x8A:
            return "Banned";
        case 0x8B:
            return "Server shutting down";
        case 0x8C:
            return "Bad authentication method";
        case 0x8D:
            return "Keep Alive timeout";
        case 0x8E:
            return "Session taken over";
        case 0x8F:
            return "Topic Filter invalid";
        case 0x90:
            return "Topic Name invalid";
        case 0x91:
            return "Packet Identifier in use";
        case 0x92:
            return "Packet Identifier not found";
        case 0x93:
            return "Receive Maximum exceeded";
        case 0x94:
            return "Topic Alias invalid";
        case 0x95:
            return "Packet too large";
        case 0x96:
            return "Message rate too high";
        case 0x97:
            return "Quota exceeded";
        case 0x98:
            return "Administrative action";
        case 0x99:
            return "Payload format invalid";
        case 0x9A:
            return "Retain not supported";
        case 0x9B:
            return "QoS not supported";
        case 0x9C:
            return "Use another server";
        case 0x9D:
            return "Server moved";
        case 0x9E:
            return "Shared Subscriptions not supported";
        case 0x9F:
            return "Connection rate exceeded";
        case 0xA0:
            return "Maximum connect time";
        case 0xA1:
            return "Subscription Identifiers not supported";
        case 0xA2:
            return "Wildcard Subscriptions not supported";
        default:
            return NULL;
    }
}

const char *mqws_reason_name(int code, int packet_type, int level) {
    if (code < 0 || code > 255 || packet_type < 1 || packet_type > 15)
        return NULL;
    if (level == MQWS_MQTT_5) {
        if (!(mqws__rc5_mask[code] & (1u << packet_type)))
            return NULL;
        return reason5_name(code, packet_type);
    }
    if (level != MQWS_MQTT_31 && level != MQWS_MQTT_311)
        return NULL;
    if (packet_type == MQWS_PKT_CONNACK) {
        static const char *const v3[6] = {
            "Connection accepted", "Unacceptable protocol version", "Identifier rejected",
            "Server unavailable",  "Bad user name or password",     "Not authorized"};
        return code <= 5 ? v3[code] : NULL;
    }
    if (packet_type == MQWS_PKT_SUBACK) {
        static const char *const v3[3] = {"Success - Maximum QoS 0", "Success - Maximum QoS 1",
                                          "Success - Maximum QoS 2"};
        if (code <= 2)
            return v3[code];
        if (code == 0x80 && level == MQWS_MQTT_311)
            return "Failure";
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Properties */

const uint8_t mqws__prop_id_of_bit[27] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
                                          0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
                                          0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};

#define P(x) MQWS_PROPF_##x
const uint32_t mqws__prop_bit_of_id[0x2B] = {
    [0x01] = P(PAYLOAD_FORMAT_INDICATOR),
    [0x02] = P(MESSAGE_EXPIRY_INTERVAL),
    [0x03] = P(CONTENT_TYPE),
    [0x08] = P(RESPONSE_TOPIC),
    [0x09] = P(CORRELATION_DATA),
    [0x0B] = P(SUBSCRIPTION_IDENTIFIER),
    [0x11] = P(SESSION_EXPIRY_INTERVAL),
    [0x12] = P(ASSIGNED_CLIENT_IDENTIFIER),
    [0x13] = P(SERVER_KEEP_ALIVE),
    [0x15] = P(AUTHENTICATION_METHOD),
    [0x16] = P(AUTHENTICATION_DATA),
    [0x17] = P(REQUEST_PROBLEM_INFORMATION),
    [0x18] = P(WILL_DELAY_INTERVAL),
    [0x19] = P(REQUEST_RESPONSE_INFORMATION),
    [0x1A] = P(RESPONSE_INFORMATION),
    [0x1C] = P(SERVER_REFERENCE),
    [0x1F] = P(REASON_STRING),
    [0x21] = P(RECEIVE_MAXIMUM),
    [0x22] = P(TOPIC_ALIAS_MAXIMUM),
    [0x23] = P(TOPIC_ALIAS),
    [0x24] = P(MAXIMUM_QOS),
    [0x25] = P(RETAIN_AVAILABLE),
    [0x26] = P(USER_PROPERTY),
    [0x27] = P(MAXIMUM_PACKET_SIZE),
    [0x28] = P(WILDCARD_SUBSCRIPTION_AVAILABLE),
    [0x29] = P(SUBSCRIPTION_IDENTIFIER_AVAILABLE),
    [0x2A] = P(SHARED_SUBSCRIPTION_AVAILABLE),
};

const uint32_t mqws__prop_mask[17] = {
    [MQWS_PKT_CONNECT] = P(SESSION_EXPIRY_INTERVAL) | P(AUTHENTICATION_METHOD) |
                         P(AUTHENTICATION_DATA) | P(REQUEST_PROBLEM_INFORMATION) |
                         P(REQUEST_RESPONSE_INFORMATION) | P(RECEIVE_MAXIMUM) |
                         P(TOPIC_ALIAS_MAXIMUM) | P(USER_PROPERTY) | P(MAXIMUM_PACKET_SIZE),
    [MQWS_PKT_CONNACK] = P(SESSION_EXPIRY_INTERVAL) | P(ASSIGNED_CLIENT_IDENTIFIER) |
                         P(SERVER_KEEP_ALIVE) | P(AUTHENTICATION_METHOD) | P(AUTHENTICATION_DATA) |
                         P(RESPONSE_INFORMATION) | P(SERVER_REFERENCE) | P(REASON_STRING) |
                         P(RECEIVE_MAXIMUM) | P(TOPIC_ALIAS_MAXIMUM) | P(MAXIMUM_QOS) |
                         P(RETAIN_AVAILABLE) | P(USER_PROPERTY) | P(MAXIMUM_PACKET_SIZE) |
                         P(WILDCARD_SUBSCRIPTION_AVAILABLE) | P(SUBSCRIPTION_IDENTIFIER_AVAILABLE) |
                         P(SHARED_SUBSCRIPTION_AVAILABLE),
    [MQWS_PKT_PUBLISH] = P(PAYLOAD_FORMAT_INDICATOR) | P(MESSAGE_EXPIRY_INTERVAL) |
                         P(CONTENT_TYPE) | P(RESPONSE_TOPIC) | P(CORRELATION_DATA) |
                         P(SUBSCRIPTION_IDENTIFIER) | P(TOPIC_ALIAS) | P(USER_PROPERTY),
    [MQWS_PKT_PUBACK] = P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_PUBREC] = P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_PUBREL] = P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_PUBCOMP] = P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_SUBSCRIBE] = P(SUBSCRIPTION_IDENTIFIER) | P(USER_PROPERTY),
    [MQWS_PKT_SUBACK] = P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_UNSUBSCRIBE] = P(USER_PROPERTY),
    [MQWS_PKT_UNSUBACK] = P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_DISCONNECT] =
        P(SESSION_EXPIRY_INTERVAL) | P(SERVER_REFERENCE) | P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PKT_AUTH] =
        P(AUTHENTICATION_METHOD) | P(AUTHENTICATION_DATA) | P(REASON_STRING) | P(USER_PROPERTY),
    [MQWS_PROPS_WILL] = P(PAYLOAD_FORMAT_INDICATOR) | P(MESSAGE_EXPIRY_INTERVAL) | P(CONTENT_TYPE) |
                        P(RESPONSE_TOPIC) | P(CORRELATION_DATA) | P(WILL_DELAY_INTERVAL) |
                        P(USER_PROPERTY),
};

uint32_t mqws_prop_bit(int id) { return id > 0 && id < 0x2B ? mqws__prop_bit_of_id[id] : 0; }

#define K(x) MQWS__PK_##x
const uint8_t mqws__prop_kind_of_id[0x2B] = {
    [0x01] = K(BYTE),   [0x02] = K(U32),  [0x03] = K(STR),  [0x08] = K(STR),  [0x09] = K(BIN),
    [0x0B] = K(VARINT), [0x11] = K(U32),  [0x12] = K(STR),  [0x13] = K(U16),  [0x15] = K(STR),
    [0x16] = K(BIN),    [0x17] = K(BYTE), [0x18] = K(U32),  [0x19] = K(BYTE), [0x1A] = K(STR),
    [0x1C] = K(STR),    [0x1F] = K(STR),  [0x21] = K(U16),  [0x22] = K(U16),  [0x23] = K(U16),
    [0x24] = K(BYTE),   [0x25] = K(BYTE), [0x26] = K(PAIR), [0x27] = K(U32),  [0x28] = K(BYTE),
    [0x29] = K(BYTE),   [0x2A] = K(BYTE),
};
#undef K

int mqws__prop_kind(int id) { return id > 0 && id < 0x2B ? mqws__prop_kind_of_id[id] : 0; }

const char *mqws_prop_name(int id) {
    switch (id) {
        case 0x01:
            return "Payload Format Indicator";
        case 0x02:
            return "Message Expiry Interval";
        case 0x03:
            return "Content Type";
        case 0x08:
            return "Response Topic";
        case 0x09:
            return "Correlation Data";
        case 0x0B:
            return "Subscription Identifier";
        case 0x11:
            return "Session Expiry Interval";
        case 0x12:
            return "Assigned Client Identifier";
        case 0x13:
            return "Server Keep Alive";
        case 0x15:
            return "Authentication Method";
        case 0x16:
            return "Authentication Data";
        case 0x17:
            return "Request Problem Information";
        case 0x18:
            return "Will Delay Interval";
        case 0x19:
            return "Request Response Information";
        case 0x1A:
            return "Response Information";
        case 0x1C:
            return "Server Reference";
        case 0x1F:
            return "Reason String";
        case 0x21:
            return "Receive Maximum";
        case 0x22:
            return "Topic Alias Maximum";
        case 0x23:
            return "Topic Alias";
        case 0x24:
            return "Maximum QoS";
        case 0x25:
            return "Retain Available";
        case 0x26:
            return "User Property";
        case 0x27:
            return "Maximum Packet Size";
        case 0x28:
            return "Wildcard Subscription Available";
        case 0x29:
            return "Subscription Identifier Available";
        case 0x2A:
            return "Shared Subscription Available";
        default:
            return NULL;
    }
}

int mqws_prop_allowed(int id, int packet_type) {
    if (packet_type < 1 || packet_type > MQWS_PROPS_WILL)
        return 0;
    uint32_t bit = mqws_prop_bit(id);
    return bit && (mqws__prop_mask[packet_type] & bit) ? 1 : 0;
}
