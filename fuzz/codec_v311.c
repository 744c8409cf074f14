/* libFuzzer target: framer and decoder at MQTT 3.1.1 (all three direction settings), every
 * iterator, and a bit-exact re-encode of every packet the decoder accepts.
 * SPDX-License-Identifier: MIT */
#include "codec_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_level(data, size, MQWS_MQTT_311);
    return 0;
}
