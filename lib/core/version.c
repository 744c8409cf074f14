/* SPDX-License-Identifier: MIT */
#include "internal.h"

const char *mqws_version(void) { return MQWS_VERSION_STRING; }

uint32_t mqws_version_number(void) { return (uint32_t)MQWS_VERSION_NUMBER; }
