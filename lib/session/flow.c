/* Flow control: token buckets, watermarks, memory caps, admission (include/mqws/flow.h).
 *
 * Everything is integer arithmetic on caller-owned structs. Buckets count whole tokens plus
 * thousandths carried between refills, so refills are exact whatever the call pattern, and
 * every product is either split so it cannot overflow or saturated.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mqws/flow.h"

#include "internal.h"

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a)
        return UINT64_MAX;
    return a * b;
}

/* 64 x 64 -> 128 bit product as (hi, lo), portable C. */
static void mul_wide(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
    uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    *lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* Credit the tokens earned since last_ms. */
static void bucket_refill(mqws_flow_bucket *b, int64_t now_ms) {
    if (now_ms <= b->last_ms) {
        /* A clock that steps back earns nothing; measure from the new origin. */
        b->last_ms = now_ms;
        return;
    }
    /* The true difference of two int64 values always fits in uint64. */
    uint64_t e = (uint64_t)now_ms - (uint64_t)b->last_ms;
    b->last_ms = now_ms;
    if (b->tokens >= b->burst) {
        b->milli = 0;
        return;
    }
    /* floor((e * rate + milli) / 1000) without overflow: split e = es*1000 + em and
     * rate = rq*1000 + rr; then e*rate = 1000*(es*rate + em*rq) + em*rr, and em*rr + milli is
     * below 10^6. The remainder carried is exact, so the split loses nothing. */
    uint64_t es = e / 1000, em = e % 1000, rq = b->rate / 1000, rr = b->rate % 1000;
    uint64_t add = sat_add(sat_mul(es, b->rate), em * rq);
    uint64_t m = em * rr + b->milli;
    add = sat_add(add, m / 1000);
    b->milli = m % 1000;
    if (add >= b->burst - b->tokens) {
        b->tokens = b->burst;
        b->milli = 0;
    } else {
        b->tokens += add;
    }
}

/* After a refill: 0 if n tokens are there, else the smallest w (ms) with
 * floor((w * rate + milli) / 1000) >= n - tokens, i.e. w * rate >= need * 1000 - milli. */
static int64_t bucket_wait(const mqws_flow_bucket *b, uint64_t n) {
    if (n > b->burst)
        n = b->burst;
    if (b->tokens >= n)
        return 0;
    uint64_t need = n - b->tokens;
    if (need <= (UINT64_MAX - 999) / 1000) {
        uint64_t t = need * 1000 - b->milli; /* >= 1: milli < 1000 */
        uint64_t w = t / b->rate + (t % b->rate != 0);
        return w > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)w;
    }
    /* Huge deficits (more than ~1.8e16 tokens): binary search on the 128-bit inequality. */
    uint64_t thi, tlo;
    mul_wide(need, 1000, &thi, &tlo);
    if (tlo < b->milli)
        thi--;
    tlo -= b->milli;
    uint64_t lo = 1, hi = (uint64_t)INT64_MAX;
    uint64_t phi, plo;
    mul_wide(hi, b->rate, &phi, &plo);
    if (phi < thi || (phi == thi && plo < tlo))
        return INT64_MAX;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        mul_wide(mid, b->rate, &phi, &plo);
        if (phi > thi || (phi == thi && plo >= tlo))
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int64_t)lo;
}

static void bucket_charge(mqws_flow_bucket *b, uint64_t n) {
    if (n > b->burst)
        n = b->burst;
    b->tokens -= n;
}

static void bucket_set(mqws_flow_bucket *b, uint64_t rate, uint64_t burst) {
    b->rate = rate;
    b->burst = rate == 0 ? 0 : (burst == 0 ? rate : burst);
}

int mqws_flow_bucket_init(mqws_flow_bucket *b, uint64_t rate, uint64_t burst, int64_t now_ms) {
    if (!b)
        return MQWS_EINVAL;
    bucket_set(b, rate, burst);
    b->tokens = b->burst;
    b->milli = 0;
    b->last_ms = now_ms;
    return MQWS_OK;
}

int64_t mqws_flow_bucket_take(mqws_flow_bucket *b, uint64_t n, int64_t now_ms) {
    if (!b)
        return MQWS_EINVAL;
    if (b->rate == 0)
        return 0;
    bucket_refill(b, now_ms);
    int64_t w = bucket_wait(b, n);
    if (w == 0)
        bucket_charge(b, n);
    return w;
}

uint64_t mqws_flow_bucket_available(mqws_flow_bucket *b, int64_t now_ms) {
    if (!b)
        return 0;
    if (b->rate == 0)
        return UINT64_MAX;
    bucket_refill(b, now_ms);
    return b->tokens;
}

/* ------------------------------------------------------------------------------------------ */

int mqws_flow_watermark_init(mqws_flow_watermark *wm, uint64_t high, uint64_t low) {
    if (!wm || (high != 0 && low >= high))
        return MQWS_EINVAL;
    memset(wm, 0, sizeof *wm);
    wm->high = high;
    wm->low = low;
    return MQWS_OK;
}

int mqws_flow_watermark_add(mqws_flow_watermark *wm, uint64_t n) {
    if (!wm)
        return MQWS_FLOW_NONE;
    wm->level = sat_add(wm->level, n);
    if (wm->level > wm->peak)
        wm->peak = wm->level;
    if (!wm->paused && wm->high != 0 && wm->level >= wm->high) {
        wm->paused = 1;
        wm->pauses++;
        return MQWS_FLOW_PAUSE;
    }
    return MQWS_FLOW_NONE;
}

int mqws_flow_watermark_sub(mqws_flow_watermark *wm, uint64_t n) {
    if (!wm)
        return MQWS_FLOW_NONE;
    wm->level = n > wm->level ? 0 : wm->level - n;
    if (wm->paused && (wm->high == 0 || wm->level <= wm->low)) {
        wm->paused = 0;
        return MQWS_FLOW_RESUME;
    }
    return MQWS_FLOW_NONE;
}

int mqws_flow_watermark_set(mqws_flow_watermark *wm, uint64_t level) {
    if (!wm)
        return MQWS_FLOW_NONE;
    return level >= wm->level ? mqws_flow_watermark_add(wm, level - wm->level)
                              : mqws_flow_watermark_sub(wm, wm->level - level);
}

int mqws_flow_watermark_paused(const mqws_flow_watermark *wm) { return wm && wm->paused; }

/* ------------------------------------------------------------------------------------------ */

int mqws_flow_memcap_init(mqws_flow_memcap *m, uint64_t max) {
    if (!m)
        return MQWS_EINVAL;
    memset(m, 0, sizeof *m);
    m->max = max;
    return MQWS_OK;
}

int mqws_flow_memcap_charge(mqws_flow_memcap *m, uint64_t n) {
    if (!m)
        return MQWS_EINVAL;
    if (m->max != 0 && (m->used > m->max || n > m->max - m->used)) {
        m->denied++;
        return MQWS_ELIMIT;
    }
    m->used = sat_add(m->used, n);
    if (m->used > m->peak)
        m->peak = m->used;
    return MQWS_OK;
}

int mqws_flow_memcap_release(mqws_flow_memcap *m, uint64_t n) {
    if (!m)
        return MQWS_EINVAL;
    if (n > m->used) {
        m->used = 0;
        return MQWS_EINVAL;
    }
    m->used -= n;
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */

/* Defaults overlaid with the caller's (possibly older, shorter) config. */
static int flow_config(const mqws_flow_config *cfg, mqws_flow_config *out) {
    const mqws_flow_config def = MQWS_FLOW_CONFIG_INIT;
    *out = def;
    if (cfg) {
        if (cfg->size < sizeof(size_t))
            return MQWS_EINVAL;
        size_t n = cfg->size < sizeof *out ? cfg->size : sizeof *out;
        memcpy(out, cfg, n);
        out->size = sizeof *out;
    }
    if (out->out_high != 0 && out->out_low >= out->out_high)
        return MQWS_EINVAL;
    return MQWS_OK;
}

int mqws_flow_init(mqws_flow *f, const mqws_flow_config *cfg, int64_t now_ms) {
    mqws_flow_config c;
    if (!f)
        return MQWS_EINVAL;
    int rc = flow_config(cfg, &c);
    if (rc != MQWS_OK)
        return rc;
    memset(f, 0, sizeof *f);
    mqws_flow_bucket_init(&f->msgs, c.msg_rate, c.msg_burst, now_ms);
    mqws_flow_bucket_init(&f->bytes, c.byte_rate, c.byte_burst, now_ms);
    mqws_flow_watermark_init(&f->out, c.out_high, c.out_low);
    mqws_flow_memcap_init(&f->mem, c.mem_max);
    return MQWS_OK;
}

static void bucket_reconfigure(mqws_flow_bucket *b, uint64_t rate, uint64_t burst, int64_t now_ms) {
    if (b->rate == 0) {
        /* Was unlimited: start full, as a new bucket would. */
        mqws_flow_bucket_init(b, rate, burst, now_ms);
        return;
    }
    bucket_refill(b, now_ms); /* earned at the old rate up to now */
    bucket_set(b, rate, burst);
    if (b->tokens >= b->burst) {
        b->tokens = b->burst;
        b->milli = 0;
    }
}

int mqws_flow_reconfigure(mqws_flow *f, const mqws_flow_config *cfg, int64_t now_ms) {
    mqws_flow_config c;
    if (!f)
        return MQWS_EINVAL;
    int rc = flow_config(cfg, &c);
    if (rc != MQWS_OK)
        return rc;
    bucket_reconfigure(&f->msgs, c.msg_rate, c.msg_burst, now_ms);
    bucket_reconfigure(&f->bytes, c.byte_rate, c.byte_burst, now_ms);
    f->out.high = c.out_high;
    f->out.low = c.out_low;
    f->mem.max = c.mem_max;
    return MQWS_OK;
}

int64_t mqws_flow_take(mqws_flow *f, uint64_t bytes, int64_t now_ms) {
    if (!f)
        return MQWS_EINVAL;
    int64_t wm = 0, wb = 0;
    if (f->msgs.rate != 0) {
        bucket_refill(&f->msgs, now_ms);
        wm = bucket_wait(&f->msgs, 1);
    }
    if (f->bytes.rate != 0 && bytes != 0) {
        bucket_refill(&f->bytes, now_ms);
        wb = bucket_wait(&f->bytes, bytes);
    }
    if (wm != 0 || wb != 0) {
        f->msgs_denied++;
        f->bytes_denied = sat_add(f->bytes_denied, bytes);
        return wm > wb ? wm : wb;
    }
    if (f->msgs.rate != 0)
        bucket_charge(&f->msgs, 1);
    if (f->bytes.rate != 0)
        bucket_charge(&f->bytes, bytes);
    f->msgs_allowed++;
    f->bytes_allowed = sat_add(f->bytes_allowed, bytes);
    return 0;
}

int mqws_flow_out_queued(mqws_flow *f, uint64_t n) {
    return f ? mqws_flow_watermark_add(&f->out, n) : MQWS_FLOW_NONE;
}
int mqws_flow_out_written(mqws_flow *f, uint64_t n) {
    return f ? mqws_flow_watermark_sub(&f->out, n) : MQWS_FLOW_NONE;
}
int mqws_flow_out_level(mqws_flow *f, uint64_t pending) {
    return f ? mqws_flow_watermark_set(&f->out, pending) : MQWS_FLOW_NONE;
}
int mqws_flow_paused(const mqws_flow *f) { return f && f->out.paused; }

int mqws_flow_mem_charge(mqws_flow *f, uint64_t n) {
    return f ? mqws_flow_memcap_charge(&f->mem, n) : MQWS_EINVAL;
}
int mqws_flow_mem_release(mqws_flow *f, uint64_t n) {
    return f ? mqws_flow_memcap_release(&f->mem, n) : MQWS_EINVAL;
}

int mqws_flow_get_stats(const mqws_flow *f, mqws_flow_stats *out) {
    if (!f || !out || out->size < sizeof(size_t))
        return MQWS_EINVAL;
    mqws_flow_stats s;
    memset(&s, 0, sizeof s);
    s.size = out->size;
    s.msgs_allowed = f->msgs_allowed;
    s.msgs_denied = f->msgs_denied;
    s.bytes_allowed = f->bytes_allowed;
    s.bytes_denied = f->bytes_denied;
    s.out_level = f->out.level;
    s.out_peak = f->out.peak;
    s.pauses = f->out.pauses;
    s.paused = f->out.paused;
    s.mem_used = f->mem.used;
    s.mem_peak = f->mem.peak;
    s.mem_denied = f->mem.denied;
    memcpy(out, &s, out->size < sizeof s ? out->size : sizeof s);
    return MQWS_OK;
}

/* ------------------------------------------------------------------------------------------ */

int mqws_flow_admission_init(mqws_flow_admission *a, const mqws_flow_admission_config *cfg,
                             int64_t now_ms) {
    mqws_flow_admission_config c = MQWS_FLOW_ADMISSION_CONFIG_INIT;
    if (!a)
        return MQWS_EINVAL;
    if (cfg) {
        if (cfg->size < sizeof(size_t))
            return MQWS_EINVAL;
        memcpy(&c, cfg, cfg->size < sizeof c ? cfg->size : sizeof c);
    }
    memset(a, 0, sizeof *a);
    a->max_connections = c.max_connections;
    a->max_connecting = c.max_connecting;
    return mqws_flow_bucket_init(&a->rate, c.connect_rate, c.connect_burst, now_ms);
}

int mqws_flow_admission_open(mqws_flow_admission *a, int64_t now_ms) {
    if (!a)
        return MQWS_EINVAL;
    /* Count caps first, so refusals for being full do not spend rate tokens. */
    if (a->max_connections != 0 && a->connections >= a->max_connections) {
        a->refused_full++;
        return MQWS_ELIMIT;
    }
    if (a->max_connecting != 0 && a->connecting >= a->max_connecting) {
        a->refused_connecting++;
        return MQWS_ELIMIT;
    }
    if (mqws_flow_bucket_take(&a->rate, 1, now_ms) != 0) {
        a->refused_rate++;
        return MQWS_ELIMIT;
    }
    a->connections++;
    a->connecting++;
    a->admitted++;
    return MQWS_OK;
}

int mqws_flow_admission_established(mqws_flow_admission *a) {
    if (!a)
        return MQWS_EINVAL;
    if (a->connecting == 0)
        return MQWS_ESTATE;
    a->connecting--;
    return MQWS_OK;
}

int mqws_flow_admission_close(mqws_flow_admission *a, int established) {
    if (!a)
        return MQWS_EINVAL;
    if (a->connections == 0 || (!established && a->connecting == 0) ||
        (established && a->connections - a->connecting == 0))
        return MQWS_ESTATE;
    a->connections--;
    if (!established)
        a->connecting--;
    return MQWS_OK;
}
