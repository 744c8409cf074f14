/* mqws-bench: per-stream sequence tracking (see seq.h).
 * SPDX-License-Identifier: MIT */
#include "seq.h"

#include <string.h>

void bench_seq_init(bench_seq *t) { memset(t, 0, sizeof *t); }

int bench_seq_record(bench_seq *t, uint64_t seq) {
    if (seq >= t->next) {
        uint64_t shift = seq - t->next + 1;
        t->window = shift >= 64 ? 0 : t->window << shift;
        t->window |= 1;
        t->next = seq + 1;
        t->unique++;
        return BENCH_SEQ_NEW;
    }
    uint64_t d = t->next - 1 - seq;
    if (d >= 64) {
        t->late++;
        t->unique++;
        return BENCH_SEQ_LATE;
    }
    uint64_t bit = (uint64_t)1 << d;
    if (t->window & bit) {
        t->duplicates++;
        return BENCH_SEQ_DUPLICATE;
    }
    t->window |= bit;
    t->unique++;
    t->reordered++;
    return BENCH_SEQ_REORDERED;
}

uint64_t bench_seq_missing(const bench_seq *t, uint64_t sent) {
    return sent > t->unique ? sent - t->unique : 0;
}
