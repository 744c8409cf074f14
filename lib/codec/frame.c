/* The streaming framer (MQTT 5 §2.1.1 fixed header, §1.5.5 remaining length).
 * SPDX-License-Identifier: MIT */
#include "codec_internal.h"

int mqws_frame(const uint8_t *buf, size_t len, uint32_t max_packet_size, mqws_frame_info *info) {
    info->first_byte = 0;
    info->header_len = 0;
    info->remaining_len = 0;
    info->total_len = 0;
    if (len == 0) {
        info->need = 2; /* the smallest packet is two bytes */
        return MQWS_FRAME_NEED_MORE;
    }
    info->first_byte = buf[0];
    if ((buf[0] >> 4) == 0)
        return MQWS_EMALFORMED; /* packet type 0 is reserved (§2.1.2) */
    uint32_t rl;
    int n = mqws__rd_varint(buf + 1, buf + len, &rl);
    if (n < 0)
        return MQWS_EMALFORMED;
    if (n == 0) {
        /* The header is still incomplete: at least one more byte, exactly how many is not
         * known until the last length byte arrives. */
        info->need = 1;
        return MQWS_FRAME_NEED_MORE;
    }
    uint32_t total = (uint32_t)(1 + n) + rl;
    info->header_len = (uint8_t)(1 + n);
    info->remaining_len = rl;
    info->total_len = total;
    uint32_t max = max_packet_size ? max_packet_size : MQWS_MAX_PACKET_SIZE;
    if (total > max) {
        info->need = 0;
        return MQWS_ETOOBIG;
    }
    if (len < total) {
        info->need = (uint32_t)(total - len);
        return MQWS_FRAME_NEED_MORE;
    }
    info->need = 0;
    return MQWS_FRAME_READY;
}
