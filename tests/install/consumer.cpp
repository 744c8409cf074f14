// Built against the installed library through pkg-config only: the headers must be valid C++.
#include <mqws.h>

#include <cstdio>
#include <cstring>

int main() {
    const mqws_allocator *a = mqws_allocator_default();
    void *p = a->alloc(a->ud, 16);
    if (!p)
        return 1;
    a->free(a->ud, p, 16);
    if (std::strcmp(mqws_version(), MQWS_VERSION_STRING) != 0)
        return 1;
    std::printf("mqws %s from C++: ok\n", mqws_version());
    return 0;
}
