/* Codec smoke test: one encode/decode/encode round trip per packet type and protocol level,
 * and the framer fed a stream whole, byte by byte and at random split points. The statement by
 * statement suite lives in the other test_codec_*.c files.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "mqws/codec.h"
#include "testlib.h"

#define V(s) mqws_view_cstr(s)

static const mqws_user_prop g_user[2] = {{{(const uint8_t *)"k1", 2}, {(const uint8_t *)"v1", 2}},
                                         {{(const uint8_t *)"k2", 2}, {(const uint8_t *)"", 0}}};
static const mqws_subscription g_subs[3] = {{{(const uint8_t *)"a/b", 3}, 1, 0, 0, 0},
                                            {{(const uint8_t *)"a/+/c", 5}, 2, 1, 1, 2},
                                            {{(const uint8_t *)"#", 1}, 0, 0, 0, 1}};
static const mqws_view g_unsubs[2] = {{(const uint8_t *)"a/b", 3}, {(const uint8_t *)"x/#", 3}};
static const uint8_t g_codes5[3] = {0x00, 0x02, 0x87};
static const uint8_t g_codes3[3] = {0x00, 0x02, 0x01};

/* Fill `p` with a representative packet of `type` for `level`. */
static void make(mqws_packet *p, int type, uint8_t level) {
    int v5 = level == MQWS_MQTT_5;
    mqws_packet_init(p, type);
    switch (type) {
        case MQWS_PKT_CONNECT:
            p->clean_start = 1;
            p->keep_alive = 60;
            p->client_id = V("client-1");
            p->will_flag = 1;
            p->will_qos = 1;
            p->will_retain = 1;
            p->will_topic = V("will/t");
            p->will_payload = V("bye");
            p->has_username = 1;
            p->username = V("user");
            p->has_password = 1;
            p->password = V("pw");
            if (v5) {
                p->props.present = MQWS_PROPF_SESSION_EXPIRY_INTERVAL | MQWS_PROPF_RECEIVE_MAXIMUM;
                p->props.session_expiry = 3600;
                p->props.receive_maximum = 20;
                p->props.user_props = g_user;
                p->props.user_prop_count = 2;
                p->will_props.present = MQWS_PROPF_WILL_DELAY_INTERVAL | MQWS_PROPF_CONTENT_TYPE;
                p->will_props.will_delay = 5;
                p->will_props.content_type = V("text/plain");
            }
            break;
        case MQWS_PKT_CONNACK:
            p->session_present = level != MQWS_MQTT_31;
            if (v5) {
                p->props.present = MQWS_PROPF_MAXIMUM_QOS | MQWS_PROPF_ASSIGNED_CLIENT_IDENTIFIER;
                p->props.maximum_qos = 1;
                p->props.assigned_client_id = V("auto-1");
            }
            break;
        case MQWS_PKT_PUBLISH:
            p->qos = 1;
            p->packet_id = 7;
            p->topic = V("sensors/temp");
            p->payload = V("21.5");
            if (v5) {
                p->props.present = MQWS_PROPF_MESSAGE_EXPIRY_INTERVAL | MQWS_PROPF_CONTENT_TYPE;
                p->props.message_expiry = 30;
                p->props.content_type = V("text/plain");
                p->props.user_props = g_user;
                p->props.user_prop_count = 1;
            }
            break;
        case MQWS_PKT_PUBACK:
        case MQWS_PKT_PUBREC:
        case MQWS_PKT_PUBREL:
        case MQWS_PKT_PUBCOMP:
            p->packet_id = 7;
            if (v5 && type == MQWS_PKT_PUBREC) {
                p->reason_code = 0x10;
                p->props.present = MQWS_PROPF_REASON_STRING;
                p->props.reason_string = V("nobody");
            }
            break;
        case MQWS_PKT_SUBSCRIBE:
            p->packet_id = 9;
            p->subs = g_subs;
            p->entry_count = 3;
            if (v5) {
                p->props.present = MQWS_PROPF_SUBSCRIPTION_IDENTIFIER;
                p->props.subscription_id = 300;
            }
            break;
        case MQWS_PKT_SUBACK:
            p->packet_id = 9;
            p->reason_codes.ptr = v5 ? g_codes5 : g_codes3;
            p->reason_codes.len = 3;
            break;
        case MQWS_PKT_UNSUBSCRIBE:
            p->packet_id = 10;
            p->unsub_filters = g_unsubs;
            p->entry_count = 2;
            break;
        case MQWS_PKT_UNSUBACK:
            p->packet_id = 10;
            if (v5) {
                p->reason_codes.ptr = g_codes5;
                p->reason_codes.len = 1;
            }
            break;
        case MQWS_PKT_DISCONNECT:
            if (v5) {
                p->reason_code = 0x04;
            }
            break;
        case MQWS_PKT_AUTH:
            p->reason_code = 0x18;
            p->props.present = MQWS_PROPF_AUTHENTICATION_METHOD | MQWS_PROPF_AUTHENTICATION_DATA;
            p->props.auth_method = V("SCRAM-SHA-1");
            p->props.auth_data = V("\x01\x02");
            break;
        default:
            break;
    }
}

static size_t encode_all(uint8_t level, uint8_t *buf, size_t cap) {
    size_t off = 0;
    for (int type = 1; type <= 15; type++) {
        if (type == MQWS_PKT_AUTH && level != MQWS_MQTT_5)
            continue;
        mqws_packet p;
        make(&p, type, level);
        size_t n = 0, size = 0;
        CHECK_INT(mqws_encoded_size(&p, level, &size), MQWS_OK);
        CHECK_INT(mqws_encode(&p, level, buf + off, cap - off, &n), MQWS_OK);
        CHECK_INT(n, size);
        off += n;
    }
    return off;
}

static void roundtrip_level(uint8_t level) {
    for (int type = 1; type <= 15; type++) {
        if (type == MQWS_PKT_AUTH && level != MQWS_MQTT_5)
            continue;
        mqws_packet p, d;
        uint8_t a[512], b[512];
        size_t na = 0, nb = 0;
        mqws_decode_error err;
        make(&p, type, level);
        CHECK_INT(mqws_validate(&p, level, 0, &err), MQWS_OK);
        CHECK_INT(mqws_encode(&p, level, a, sizeof a, &na), MQWS_OK);
        CHECK_INT(mqws_encode(&p, level, a, na - 1, &nb), MQWS_ENOSPC);
        memset(&d, 0xA5, sizeof d);
        int rc = mqws_decode(a, na, level, 0, &d, &err);
        if (rc != MQWS_OK)
            printf("  %s level %d: %s (%s)\n", mqws_packet_type_name(type), level, err.message,
                   err.statement ? err.statement : "-");
        CHECK_INT(rc, MQWS_OK);
        CHECK_INT(d.type, type);
        CHECK_INT(mqws_validate(&d, level, 0, &err), MQWS_OK);
        CHECK_INT(mqws_encode(&d, level, b, sizeof b, &nb), MQWS_OK);
        CHECK_MEM(b, nb, a, na);
        if (type == MQWS_PKT_PUBLISH) {
            CHECK_VIEW(d.topic, "sensors/temp");
            CHECK_VIEW(d.payload, "21.5");
            CHECK_INT(d.packet_id, 7);
            mqws_iovec iov[2];
            uint8_t hdr[64];
            CHECK_INT(mqws_encode_publish_iov(&d, level, hdr, sizeof hdr, iov), MQWS_OK);
            CHECK_INT(iov[0].len + iov[1].len, na);
            CHECK_MEM(iov[0].base, iov[0].len, a, iov[0].len);
            if (level == MQWS_MQTT_5) {
                mqws_prop_iter it;
                mqws_view k, v;
                mqws_props_iter_init(&d.props, &it);
                CHECK(mqws_props_next_user(&it, &k, &v));
                CHECK_VIEW(k, "k1");
                CHECK_VIEW(v, "v1");
                CHECK(!mqws_props_next_user(&it, &k, &v));
                CHECK_INT(d.props.message_expiry, 30);
                CHECK_VIEW(d.props.content_type, "text/plain");
            }
        }
        if (type == MQWS_PKT_SUBSCRIBE) {
            mqws_entry_iter it;
            mqws_subscription s;
            int i = 0;
            mqws_entry_iter_init(&d, level, &it);
            while (mqws_subscribe_next(&it, &s)) {
                CHECK_MEM(s.filter.ptr, s.filter.len, g_subs[i].filter.ptr, g_subs[i].filter.len);
                CHECK_INT(s.qos, g_subs[i].qos);
                if (level == MQWS_MQTT_5)
                    CHECK_INT(s.retain_handling, g_subs[i].retain_handling);
                i++;
            }
            CHECK_INT(i, 3);
        }
        if (type == MQWS_PKT_CONNECT) {
            CHECK_INT(d.protocol_level, level);
            CHECK_VIEW(d.client_id, "client-1");
            CHECK_VIEW(d.will_topic, "will/t");
            CHECK_VIEW(d.password, "pw");
        }
    }
}

TEST(roundtrip_every_type_mqtt31) { roundtrip_level(MQWS_MQTT_31); }
TEST(roundtrip_every_type_mqtt311) { roundtrip_level(MQWS_MQTT_311); }
TEST(roundtrip_every_type_mqtt5) { roundtrip_level(MQWS_MQTT_5); }

/* Feed `stream` in chunks chosen by `step` (0 = random) and check every packet comes out of the
 * framer intact and decodes. */
static void feed(const uint8_t *stream, size_t len, uint8_t level, size_t step, uint64_t seed) {
    uint8_t acc[4096];
    size_t have = 0, pos = 0, packets = 0, consumed = 0;
    while (pos < len || have) {
        size_t n = step ? step : 1 + testlib_rand_below(&seed, 40);
        if (n > len - pos)
            n = len - pos;
        memcpy(acc + have, stream + pos, n);
        have += n;
        pos += n;
        for (;;) {
            mqws_frame_info fi;
            int rc = mqws_frame(acc, have, 0, &fi);
            if (rc == MQWS_FRAME_NEED_MORE) {
                if (fi.header_len)
                    CHECK_INT(fi.need, fi.total_len - have);
                break;
            }
            CHECK_INT(rc, MQWS_FRAME_READY);
            mqws_packet p;
            CHECK_INT(mqws_decode(acc, fi.total_len, level, 0, &p, NULL), MQWS_OK);
            CHECK_MEM(acc, fi.total_len, stream + consumed, fi.total_len);
            consumed += fi.total_len;
            memmove(acc, acc + fi.total_len, have - fi.total_len);
            have -= fi.total_len;
            packets++;
        }
        if (pos == len && have) {
            CHECK(0); /* leftover bytes that never formed a packet */
            break;
        }
    }
    CHECK_INT(consumed, len);
    CHECK_INT(packets, level == MQWS_MQTT_5 ? 15 : 14);
}

TEST(frame_whole_bytewise_random_splits) {
    for (uint8_t level = MQWS_MQTT_31; level <= MQWS_MQTT_5; level++) {
        uint8_t stream[4096];
        size_t len = encode_all(level, stream, sizeof stream);
        feed(stream, len, level, len, 1);
        feed(stream, len, level, 1, 1);
        for (uint64_t seed = 1; seed < 50; seed++)
            feed(stream, len, level, 0, seed);
    }
}

TEST(frame_too_big_decided_from_header) {
    uint8_t hdr[5] = {0x30, 0xFF, 0xFF, 0x03, 0x00};
    mqws_frame_info fi;
    CHECK_INT(mqws_frame(hdr, 4, 1000, &fi), MQWS_ETOOBIG);
    CHECK_INT(mqws_frame(hdr, 4, 0, &fi), MQWS_FRAME_NEED_MORE);
    CHECK_INT(fi.need, fi.total_len - 4);
    CHECK_INT(mqws_frame(hdr, 2, 0, &fi), MQWS_FRAME_NEED_MORE);
    uint8_t five[6] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    CHECK_INT(mqws_frame(five, 6, 0, &fi), MQWS_EMALFORMED);
}

TEST(decode_rejects_qos3_with_statement) {
    uint8_t b[] = {0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01};
    mqws_packet p;
    mqws_decode_error err;
    CHECK_INT(mqws_decode(b, sizeof b, MQWS_MQTT_311, 0, &p, &err), MQWS_EMALFORMED);
    CHECK_INT(err.reason, 0x81);
    CHECK_STR(err.statement, "MQTT-3.3.1-4");
}

int main(void) {
    RUN(roundtrip_every_type_mqtt31);
    RUN(roundtrip_every_type_mqtt311);
    RUN(roundtrip_every_type_mqtt5);
    RUN(frame_whole_bytewise_random_splits);
    RUN(frame_too_big_decided_from_header);
    RUN(decode_rejects_qos3_with_statement);
    return testlib_finish();
}
