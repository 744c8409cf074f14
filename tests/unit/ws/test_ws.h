/* Shared declarations of the ws unit tests. SPDX-License-Identifier: MIT */
#ifndef MQWS_TEST_WS_H
#define MQWS_TEST_WS_H
#include "mqws/ws.h"
#include "testlib.h"

void run_handshake_tests(void);
void run_frame_tests(void);
#endif
