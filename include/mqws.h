/* mqws: an embeddable MQTT and MQTT-over-WebSocket library. Umbrella header.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_H
#define MQWS_H

#include "mqws/core.h"
#if __has_include("mqws/codec.h")
#include "mqws/codec.h"
#endif
#if __has_include("mqws/topic.h")
#include "mqws/topic.h"
#endif
#if __has_include("mqws/ws.h")
#include "mqws/ws.h"
#endif

#endif
