/* base64 (RFC 4648 §4), padded, strict on decode: Sec-WebSocket-Key must decode to exactly 16
 * bytes (RFC 6455 §4.2.1 item 5), so a lenient decoder would accept keys the RFC refuses.
 * SPDX-License-Identifier: MIT */
#include "internal.h"
#include "mqws/ws.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t mqws_base64_encode(const uint8_t *in, size_t len, char *out) {
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int mqws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
    if (len % 4 != 0)
        return MQWS_EMALFORMED;
    size_t pad = 0;
    if (len && in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > cap)
        return MQWS_ENOSPC;
    if (n > (size_t)0x7fffffff)
        return MQWS_EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int q[4];
        int last = i + 4 == len;
        for (int j = 0; j < 4; j++) {
            char c = in[i + (size_t)j];
            if (c == '=' && last && (size_t)j >= 4 - pad)
                q[j] = 0;
            else if ((q[j] = b64_value(c)) < 0)
                return MQWS_EMALFORMED;
        }
        uint32_t v = ((uint32_t)q[0] << 18) | ((uint32_t)q[1] << 12) | ((uint32_t)q[2] << 6) |
                     (uint32_t)q[3];
        if (last && pad) {
            /* Canonical form: the bits the padding hides must be zero (RFC 4648 §3.5). */
            if ((pad == 1 && (v & 0xFFu)) || (pad == 2 && (v & 0xFFFFu)))
                return MQWS_EMALFORMED;
        }
        out[o++] = (uint8_t)(v >> 16);
        if (o < n)
            out[o++] = (uint8_t)(v >> 8);
        if (o < n)
            out[o++] = (uint8_t)v;
    }
    return (int)o;
}
