/* SHA-1 (RFC 3174 / FIPS 180-4), used for Sec-WebSocket-Accept only: SHA-1 is not collision
 * resistant and must not be used for anything that needs security.
 * SPDX-License-Identifier: MIT */
#include "internal.h"
#include "mqws/ws.h"

static uint32_t rol32(uint32_t x, unsigned n) { return (x << n) | (x >> (32u - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80];
    for (unsigned i = 0; i < 16; i++)
        w[i] = mqws__load32(p + 4 * i);
    for (unsigned i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (unsigned i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void mqws_sha1_init(mqws_sha1 *s) {
    s->h[0] = 0x67452301u;
    s->h[1] = 0xEFCDAB89u;
    s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xC3D2E1F0u;
    s->total = 0;
}

void mqws_sha1_update(mqws_sha1 *s, const void *data, size_t len) {
    const uint8_t *p = data;
    size_t used = (size_t)(s->total & 63u);
    s->total += len;
    if (used) {
        size_t take = 64 - used < len ? 64 - used : len;
        memcpy(s->block + used, p, take);
        p += take;
        len -= take;
        if (used + take < 64)
            return;
        sha1_block(s->h, s->block);
    }
    for (; len >= 64; p += 64, len -= 64)
        sha1_block(s->h, p);
    if (len)
        memcpy(s->block, p, len);
}

void mqws_sha1_final(mqws_sha1 *s, uint8_t digest[20]) {
    uint64_t bits = s->total * 8u;
    size_t used = (size_t)(s->total & 63u);
    s->block[used++] = 0x80;
    if (used > 56) {
        memset(s->block + used, 0, 64 - used);
        sha1_block(s->h, s->block);
        used = 0;
    }
    memset(s->block + used, 0, 56 - used);
    mqws__store64(s->block + 56, bits);
    sha1_block(s->h, s->block);
    for (unsigned i = 0; i < 5; i++)
        mqws__store32(digest + 4 * i, s->h[i]);
}
