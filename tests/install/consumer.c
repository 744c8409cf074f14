/* Built against the installed library through pkg-config only. */
#include <mqws.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(mqws_version(), MQWS_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", MQWS_VERSION_STRING, mqws_version());
        return 1;
    }
    uint8_t buf[4];
    uint32_t v = 0;
    if (mqws_varint_encode(321, buf) != 2 || mqws_varint_decode(buf, 2, &v) != 2 || v != 321)
        return 1;
    if (strcmp(mqws_strerror(MQWS_EPROTO), "protocol error") != 0)
        return 1;
    printf("mqws %s from C: ok\n", mqws_version());
    return 0;
}
