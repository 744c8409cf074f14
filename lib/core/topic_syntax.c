/* Topic name and filter syntax (MQTT 5 §4.7; the same rules in 3.1.1 §4.7).
 * SPDX-License-Identifier: MIT */
#include "internal.h"

int mqws__topic_name_syntax(const uint8_t *s, size_t len, const char **statement) {
    if (len == 0) { /* [MQTT-4.7.3-1] */
        *statement = "MQTT-4.7.3-1";
        return MQWS_EPROTO;
    }
    /* Wildcards are not allowed in topic names [MQTT-3.3.2-2] [MQTT-4.7.0-1]. */
    if (memchr(s, '+', len) || memchr(s, '#', len)) {
        *statement = "MQTT-3.3.2-2";
        return MQWS_EPROTO;
    }
    return MQWS_OK;
}

int mqws__topic_filter_syntax(const uint8_t *s, size_t len, const char **statement) {
    if (len == 0) { /* [MQTT-4.7.3-1] */
        *statement = "MQTT-4.7.3-1";
        return MQWS_EPROTO;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '#') {
            /* '#' must be the last character, alone or after a separator [MQTT-4.7.1-1]. */
            if (i != len - 1 || (i > 0 && s[i - 1] != '/')) {
                *statement = "MQTT-4.7.1-1";
                return MQWS_EPROTO;
            }
        } else if (s[i] == '+') {
            /* '+' must occupy an entire level [MQTT-4.7.1-2]. */
            if ((i > 0 && s[i - 1] != '/') || (i + 1 < len && s[i + 1] != '/')) {
                *statement = "MQTT-4.7.1-2";
                return MQWS_EPROTO;
            }
        }
    }
    return MQWS_OK;
}
