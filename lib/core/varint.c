/* Variable Byte Integer, MQTT 5 §1.5.5 / MQTT 3.1.1 §2.2.3.
 * SPDX-License-Identifier: MIT */
#include "internal.h"

int mqws_varint_decode(const uint8_t *buf, size_t len, uint32_t *value) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= len)
            return 0;
        uint8_t b = buf[i];
        v |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            /* A last byte of 0 after a continuation means a shorter encoding existed
             * [MQTT-1.5.5-1]. */
            if (i > 0 && b == 0)
                return MQWS_EMALFORMED;
            *value = v;
            return (int)i + 1;
        }
    }
    return MQWS_EMALFORMED; /* a fifth byte would be needed */
}

size_t mqws_varint_size(uint32_t value) {
    if (value < 128u)
        return 1;
    if (value < 16384u)
        return 2;
    if (value < 2097152u)
        return 3;
    if (value <= MQWS_VARINT_MAX)
        return 4;
    return 0;
}

int mqws_varint_encode(uint32_t value, uint8_t *out) {
    if (value > MQWS_VARINT_MAX)
        return MQWS_EINVAL;
    int n = 0;
    do {
        uint8_t b = (uint8_t)(value & 0x7F);
        value >>= 7;
        if (value)
            b |= 0x80;
        out[n++] = b;
    } while (value);
    return n;
}
