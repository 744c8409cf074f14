/* mqws-bench: loss, duplicate and reordering accounting for one (publisher, subscriber) stream.
 *
 * Every payload carries its publisher's sequence number (0, 1, 2, ...). The tracker keeps the
 * next number after the highest seen and a 64-bit window of which of the 64 numbers below it
 * arrived, so a retransmission (QoS 1 DUP, or a broker bug) is caught as a duplicate and a
 * late arrival fills its gap. A number more than 64 behind cannot be told apart and counts as
 * a late unique arrival. At the end, lost = messages the publisher sent - unique arrivals.
 *
 * SPDX-License-Identifier: MIT */
#ifndef MQWS_BENCH_SEQ_H
#define MQWS_BENCH_SEQ_H

#include <stdint.h>

enum bench_seq_result {
    BENCH_SEQ_NEW = 0,       /* in order or ahead (a gap may have opened) */
    BENCH_SEQ_DUPLICATE = 1, /* seen before */
    BENCH_SEQ_REORDERED = 2, /* filled a gap inside the window */
    BENCH_SEQ_LATE = 3       /* older than the window: assumed unique */
};

typedef struct bench_seq {
    uint64_t next;   /* highest seen + 1 (0: nothing yet) */
    uint64_t window; /* bit i: number next - 1 - i arrived */
    uint64_t unique;
    uint64_t duplicates;
    uint64_t reordered;
    uint64_t late;
} bench_seq;

void bench_seq_init(bench_seq *t);
int bench_seq_record(bench_seq *t, uint64_t seq);
/* Messages not (yet) arrived out of `sent` (0 if more arrived than were sent). */
uint64_t bench_seq_missing(const bench_seq *t, uint64_t sent);

#endif
