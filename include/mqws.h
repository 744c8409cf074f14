/* mqws: an embeddable MQTT (3.1, 3.1.1, 5.0) and MQTT-over-WebSocket library.
 * Umbrella header: includes every public module header.
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_H
#define MQWS_H

#include "mqws/broker.h"  /* L3: routing among many sessions */
#include "mqws/codec.h"   /* L1: MQTT packets */
#include "mqws/conn.h"    /* L2: the per-socket stack (WebSocket + session) */
#include "mqws/core.h"    /* L0: errors, allocator, views, varint, UTF-8 */
#include "mqws/flow.h"    /* L2: token buckets, watermarks, memory caps, admission */
#include "mqws/session.h" /* L2: one connection's MQTT engine */
#include "mqws/topic.h"   /* L1: topic validation, subscription index, retained store */
#include "mqws/ws.h"      /* L1: WebSocket (RFC 6455) */

#endif
