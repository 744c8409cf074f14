/* Validation rules shared by mqws_decode() and mqws_validate(): one function per rule, so the
 * decoder (reading wire bytes) and the validator (reading a packet struct) cannot disagree.
 * Statement ids follow the spec of the protocol level (3.1.1 numbering for 3.1 and 3.1.1, 5.0
 * numbering for 5.0); rules without a numbered statement cite their section ("§3.8.3.1").
 * SPDX-License-Identifier: MIT */
#include "codec_internal.h"

int mqws__fail(mqws_decode_error *err, int code, const char *statement, const char *message,
               size_t offset) {
    if (err) {
        err->code = code;
        switch (code) {
            case MQWS_EMALFORMED:
                err->reason = MQWS_RC_MALFORMED_PACKET;
                break;
            case MQWS_EPROTO:
                err->reason = MQWS_RC_PROTOCOL_ERROR;
                break;
            case MQWS_EUNSUPPORTED:
                err->reason = MQWS_RC_UNSUPPORTED_PROTOCOL_VERSION;
                break;
            case MQWS_ETOOBIG:
                err->reason = MQWS_RC_PACKET_TOO_LARGE;
                break;
            default:
                err->reason = MQWS_RC_UNSPECIFIED_ERROR;
                break;
        }
        err->statement = statement;
        err->message = message;
        err->offset = offset;
    }
    return code;
}

#define V5(level) ((level) == MQWS_MQTT_5)

int mqws__utf8_slow(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err, size_t off) {
    size_t bad = 0;
    if (mqws_utf8_check_mqtt(s, n, &bad) == MQWS_OK)
        return MQWS_OK;
    if (bad < n && s[bad] == 0) /* U+0000 [MQTT-1.5.4-2] / 3.1.1 [MQTT-1.5.3-2] */
        return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "MQTT-1.5.4-2" : "MQTT-1.5.3-2",
                          "string contains U+0000", off + bad);
    return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "MQTT-1.5.4-1" : "MQTT-1.5.3-1",
                      "ill-formed UTF-8 string", off + bad);
}

int mqws__topic_name_slow(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err,
                          size_t off) {
    const char *st = NULL;
    if (n > 0) {
        int rc = mqws__utf8_slow(s, n, level, err, off);
        if (rc)
            return rc;
    }
    int rc = mqws__topic_name_syntax(s, n, &st);
    if (rc)
        return mqws__fail(err, rc, st,
                          n ? "wildcard character in a topic name" : "empty topic name", off);
    return MQWS_OK;
}

int mqws__response_topic_slow(const uint8_t *s, size_t n, uint8_t level, mqws_decode_error *err,
                              size_t off) {
    int rc = mqws__topic_name_slow(s, n, level, err, off);
    if (rc == MQWS_EPROTO && n > 0 && err) /* wildcards [MQTT-3.3.2-14] */
        err->statement = "MQTT-3.3.2-14";
    return rc;
}

int mqws__fail_packet_id(uint8_t level, mqws_decode_error *err, size_t off) {
    return mqws__fail(err, MQWS_EPROTO, V5(level) ? "MQTT-2.2.1-3" : "MQTT-2.3.1-1",
                      "packet identifier 0", off);
}

int mqws__check_fixed_flags(int type, unsigned flags, uint8_t level, mqws_decode_error *err) {
    switch (type) {
        case MQWS_PKT_PUBREL:
            if (flags != 0x2)
                return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.6.1-1",
                                  "PUBREL fixed header flags must be 0010", 0);
            return MQWS_OK;
        case MQWS_PKT_SUBSCRIBE:
            if (flags != 0x2)
                return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.8.1-1",
                                  "SUBSCRIBE fixed header flags must be 0010", 0);
            return MQWS_OK;
        case MQWS_PKT_UNSUBSCRIBE:
            if (flags != 0x2)
                return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.10.1-1",
                                  "UNSUBSCRIBE fixed header flags must be 0010", 0);
            return MQWS_OK;
        default:
            if (flags != 0)
                return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "MQTT-2.1.3-1" : "MQTT-2.2.2-1",
                                  "reserved fixed header flags are not 0", 0);
            return MQWS_OK;
    }
}

int mqws__check_publish_flags(unsigned dup, unsigned qos, mqws_decode_error *err) {
    if (qos == 3)
        return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.3.1-4", "PUBLISH with QoS 3", 0);
    if (dup && qos == 0)
        return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.3.1-2", "PUBLISH QoS 0 with DUP set", 0);
    return MQWS_OK;
}

int mqws__check_type(int type, uint8_t level, uint32_t dir, mqws_decode_error *err) {
    if (type <= 0 || type > 15 || (type == MQWS_PKT_AUTH && !V5(level)))
        return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "§2.1.2" : "§2.2.1",
                          "reserved packet type", 0);
    if (dir & MQWS_DECODE_FROM_CLIENT) {
        if (type == MQWS_PKT_CONNACK || type == MQWS_PKT_SUBACK || type == MQWS_PKT_UNSUBACK ||
            type == MQWS_PKT_PINGRESP)
            return mqws__fail(err, MQWS_EPROTO, V5(level) ? "§2.1.2" : "§2.2.1",
                              "packet type only a server may send", 0);
    }
    if (dir & MQWS_DECODE_FROM_SERVER) {
        /* Before 5.0 only the client sends DISCONNECT (3.1.1 Table 2.1). */
        if (type == MQWS_PKT_CONNECT || type == MQWS_PKT_SUBSCRIBE ||
            type == MQWS_PKT_UNSUBSCRIBE || type == MQWS_PKT_PINGREQ ||
            (type == MQWS_PKT_DISCONNECT && !V5(level)))
            return mqws__fail(err, MQWS_EPROTO, V5(level) ? "§2.1.2" : "§2.2.1",
                              "packet type only a client may send", 0);
    }
    return MQWS_OK;
}

static const char *reason_statement(int type) {
    switch (type) {
        case MQWS_PKT_CONNACK:
            return "MQTT-3.2.2-8";
        case MQWS_PKT_PUBACK:
            return "MQTT-3.4.2-1";
        case MQWS_PKT_PUBREC:
            return "MQTT-3.5.2-1";
        case MQWS_PKT_PUBREL:
            return "MQTT-3.6.2-1";
        case MQWS_PKT_PUBCOMP:
            return "MQTT-3.7.2-1";
        case MQWS_PKT_SUBACK:
            return "MQTT-3.9.3-2";
        case MQWS_PKT_UNSUBACK:
            return "MQTT-3.11.3-2";
        case MQWS_PKT_DISCONNECT:
            return "MQTT-3.14.2-1";
        case MQWS_PKT_AUTH:
            return "MQTT-3.15.2-1";
        default:
            return "§2.4";
    }
}

int mqws__check_reason(int code, int type, uint8_t level, mqws_decode_error *err, size_t off) {
    if (V5(level)) {
        if (MQWS_LIKELY(code >= 0 && code < 256 && (mqws__rc5_mask[code] & (1u << type))))
            return MQWS_OK;
        return mqws__fail(err, MQWS_EPROTO, reason_statement(type),
                          "reason code not valid for this packet", off);
    }
    if (type == MQWS_PKT_CONNACK) {
        if (code >= 0 && code <= 5)
            return MQWS_OK;
        return mqws__fail(err, MQWS_EPROTO, "§3.2.2.3", "reserved CONNACK return code", off);
    }
    if (type == MQWS_PKT_SUBACK) {
        if ((code >= 0 && code <= 2) || (code == 0x80 && level == MQWS_MQTT_311))
            return MQWS_OK;
        return mqws__fail(err, MQWS_EPROTO, level == MQWS_MQTT_311 ? "MQTT-3.9.3-2" : "§3.9.3",
                          "reserved SUBACK return code", off);
    }
    return mqws__fail(err, MQWS_EPROTO, "§2.4", "no reason codes before MQTT 5", off);
}

int mqws__check_connect_flags(unsigned f, uint8_t level, mqws_decode_error *err, size_t off) {
    int v5 = V5(level);
    unsigned will = f & 0x04, wqos = (f >> 3) & 3, wret = f & 0x20;
    if (f & 0x01)
        return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.1.2-3", "reserved CONNECT flag is set",
                          off);
    if (!will && wqos)
        return mqws__fail(err, MQWS_EMALFORMED, v5 ? "MQTT-3.1.2-11" : "MQTT-3.1.2-13",
                          "Will QoS without the Will Flag", off);
    if (wqos == 3)
        return mqws__fail(err, MQWS_EMALFORMED, v5 ? "MQTT-3.1.2-12" : "MQTT-3.1.2-14",
                          "Will QoS 3", off);
    if (!will && wret)
        return mqws__fail(err, MQWS_EMALFORMED, v5 ? "MQTT-3.1.2-13" : "MQTT-3.1.2-15",
                          "Will Retain without the Will Flag", off);
    if (!v5 && (f & 0x40) && !(f & 0x80))
        return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.1.2-22", "password without user name", off);
    return MQWS_OK;
}

int mqws__check_connack(unsigned ack_flags, unsigned code, uint8_t level, mqws_decode_error *err,
                        size_t off) {
    if (ack_flags & (level == MQWS_MQTT_31 ? 0xFFu : 0xFEu))
        return mqws__fail(err, MQWS_EMALFORMED, V5(level) ? "MQTT-3.2.2-1" : "§3.2.2.1",
                          "reserved CONNACK flags are not 0", off);
    int rc = mqws__check_reason((int)code, MQWS_PKT_CONNACK, level, err, off + 1);
    if (rc)
        return rc;
    if ((ack_flags & 1) && code != 0)
        return mqws__fail(err, MQWS_EPROTO, V5(level) ? "MQTT-3.2.2-6" : "MQTT-3.2.2-4",
                          "Session Present with a refused connection", off);
    return MQWS_OK;
}

int mqws__check_sub_options(unsigned o, uint8_t level, mqws_decode_error *err, size_t off) {
    if (!V5(level)) {
        if ((o & 0xFC) || (o & 3) == 3)
            return mqws__fail(
                err, MQWS_EMALFORMED, "MQTT-3.8.3-4",
                (o & 0xFC) ? "reserved subscription bits are not 0" : "subscription QoS 3", off);
        return MQWS_OK;
    }
    if (o & 0xC0)
        return mqws__fail(err, MQWS_EMALFORMED, "MQTT-3.8.3-5",
                          "reserved subscription option bits are not 0", off);
    if ((o & 3) == 3)
        return mqws__fail(err, MQWS_EPROTO, "§3.8.3.1", "subscription Maximum QoS 3", off);
    if (((o >> 4) & 3) == 3)
        return mqws__fail(err, MQWS_EPROTO, "§3.8.3.1", "Retain Handling 3", off);
    return MQWS_OK;
}

int mqws__check_filter(const uint8_t *s, size_t n, uint8_t level, int no_local,
                       mqws_decode_error *err, size_t off) {
    if (!(n > 0 && mqws__fast_text(s, n, 1))) {
        int rc = n ? mqws__check_utf8(s, n, level, err, off) : MQWS_OK;
        if (rc)
            return rc;
        const char *st = NULL;
        rc = mqws__topic_filter_syntax(s, n, &st);
        if (rc) {
            /* 3.1.1 numbers these [MQTT-4.7.1-2] ('#') and [MQTT-4.7.1-3] ('+'). */
            if (!V5(level) && st && strcmp(st, "MQTT-4.7.1-1") == 0)
                st = "MQTT-4.7.1-2";
            else if (!V5(level) && st && strcmp(st, "MQTT-4.7.1-2") == 0)
                st = "MQTT-4.7.1-3";
            return mqws__fail(err, rc, st, "invalid topic filter", off);
        }
    }
    if (V5(level) && n >= 7 && s[0] == '$' && memcmp(s, "$share/", 7) == 0) {
        /* $share/{ShareName}/{filter}: a non-empty ShareName without wildcards or '/'
         * [MQTT-4.8.2-1], then '/' and a filter [MQTT-4.8.2-2]. */
        const uint8_t *name = s + 7, *end = s + n;
        const uint8_t *slash = memchr(name, '/', (size_t)(end - name));
        if (!slash || slash == name || memchr(name, '+', (size_t)(slash - name)) ||
            memchr(name, '#', (size_t)(slash - name)))
            return mqws__fail(err, MQWS_EPROTO, "MQTT-4.8.2-1", "invalid shared subscription name",
                              off);
        if (slash + 1 == end)
            return mqws__fail(err, MQWS_EPROTO, "MQTT-4.8.2-2",
                              "shared subscription without a topic filter", off);
        if (no_local)
            return mqws__fail(err, MQWS_EPROTO, "MQTT-3.8.3-4", "No Local on a shared subscription",
                              off);
    }
    return MQWS_OK;
}

int mqws__check_prop_value(int id, uint32_t v, mqws_decode_error *err, size_t off) {
    switch (id) {
        case MQWS_PROP_PAYLOAD_FORMAT_INDICATOR:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.3.2.3.2",
                                  "Payload Format Indicator not 0/1", off);
            break;
        case MQWS_PROP_REQUEST_PROBLEM_INFORMATION:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.1.2.11.7",
                                  "Request Problem Information not 0/1", off);
            break;
        case MQWS_PROP_REQUEST_RESPONSE_INFORMATION:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.1.2.11.6",
                                  "Request Response Information not 0/1", off);
            break;
        case MQWS_PROP_MAXIMUM_QOS:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.2.2.3.4", "Maximum QoS not 0/1", off);
            break;
        case MQWS_PROP_RETAIN_AVAILABLE:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.2.2.3.5", "Retain Available not 0/1", off);
            break;
        case MQWS_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.2.2.3.11",
                                  "Wildcard Subscription Available not 0/1", off);
            break;
        case MQWS_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.2.2.3.12",
                                  "Subscription Identifier Available not 0/1", off);
            break;
        case MQWS_PROP_SHARED_SUBSCRIPTION_AVAILABLE:
            if (v > 1)
                return mqws__fail(err, MQWS_EPROTO, "§3.2.2.3.13",
                                  "Shared Subscription Available not 0/1", off);
            break;
        case MQWS_PROP_RECEIVE_MAXIMUM:
            if (v == 0)
                return mqws__fail(err, MQWS_EPROTO, "§3.1.2.11.3", "Receive Maximum 0", off);
            break;
        case MQWS_PROP_MAXIMUM_PACKET_SIZE:
            if (v == 0)
                return mqws__fail(err, MQWS_EPROTO, "§3.1.2.11.4", "Maximum Packet Size 0", off);
            break;
        case MQWS_PROP_TOPIC_ALIAS:
            if (v == 0)
                return mqws__fail(err, MQWS_EPROTO, "MQTT-3.3.2-8", "Topic Alias 0", off);
            break;
        case MQWS_PROP_SUBSCRIPTION_IDENTIFIER:
            if (v == 0)
                return mqws__fail(err, MQWS_EPROTO, "§3.8.2.1.2", "Subscription Identifier 0", off);
            if (v > MQWS_VARINT_MAX)
                return mqws__fail(err, MQWS_EMALFORMED, "§3.8.2.1.2",
                                  "Subscription Identifier too large", off);
            break;
        default:
            break;
    }
    return MQWS_OK;
}

int mqws__check_props_cross(uint32_t m, int ctx, uint32_t dir, mqws_decode_error *err, size_t off) {
    if ((m & MQWS_PROPF_AUTHENTICATION_DATA) && !(m & MQWS_PROPF_AUTHENTICATION_METHOD))
        return mqws__fail(err, MQWS_EPROTO, "§3.1.2.11.10",
                          "Authentication Data without Authentication Method", off);
    if (ctx == MQWS_PKT_PUBLISH && (dir & MQWS_DECODE_FROM_CLIENT) &&
        (m & MQWS_PROPF_SUBSCRIPTION_IDENTIFIER))
        return mqws__fail(err, MQWS_EPROTO, "MQTT-3.3.4-6",
                          "Subscription Identifier in a PUBLISH from a client", off);
    if (ctx == MQWS_PKT_DISCONNECT && (dir & MQWS_DECODE_FROM_SERVER) &&
        (m & MQWS_PROPF_SESSION_EXPIRY_INTERVAL))
        return mqws__fail(err, MQWS_EPROTO, "MQTT-3.14.2-2",
                          "Session Expiry Interval in a DISCONNECT from the server", off);
    return MQWS_OK;
}
