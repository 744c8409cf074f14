/* mqws flow (L2): rate limits, output watermarks, memory caps and admission counters.
 *
 * Pure arithmetic on caller-owned structs: nothing here allocates, reads a clock or does I/O.
 * Every function that needs time takes `now_ms` from the host (any monotonic millisecond
 * clock; a step backwards is treated as "no time passed", never as a refill). Objects are
 * plain structs the caller embeds (in a session, a connection record, a broker); their fields
 * are private — read them through the functions — and their sizes are part of the ABI of this
 * major version (sizeof is exact, no hidden allocation behind them).
 *
 * Building blocks, usable alone:
 *   mqws_flow_bucket     token bucket: `rate` tokens per second, at most `burst` saved up
 *   mqws_flow_watermark  high/low watermark with hysteresis and edge-triggered pause/resume
 *   mqws_flow_memcap     byte accounting against a cap (charge / release)
 *   mqws_flow_admission  broker-wide admission: connection count, connects in progress,
 *                        connect rate
 * and one per-connection bundle, mqws_flow, that combines a message bucket, a byte bucket, an
 * output watermark and a memory cap with readable counters (mqws_flow_get_stats).
 *
 * A host loop using it for one publisher connection `c` (its subscribers' output levels feed
 * their own mqws_flow the same way):
 *
 *     on accept:   if (mqws_flow_admission_open(&adm, now) != MQWS_OK) close the socket;
 *                  mqws_flow_init(&fl, &cfg, now);
 *     on_publish:  int64_t wait = mqws_flow_take(&fl, pub->payload.len, now);
 *                  if (wait > 0) stop polling c for input until now + wait (or refuse, 0x96)
 *     after writev:if (mqws_flow_out_level(&fl, mqws_conn_pending_bytes(c)) == MQWS_FLOW_PAUSE)
 *                      stop polling c for input;   (MQWS_FLOW_RESUME: poll it again)
 *     before keeping bytes for c: if (mqws_flow_mem_charge(&fl, n) == MQWS_ELIMIT) drop / close
 *
 * Thread safety: no global state; one object must not be used by two threads at once.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_FLOW_H
#define MQWS_FLOW_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Edge-triggered watermark events. A host stops reading the connection on PAUSE and starts
 * again on RESUME; between the two nothing more is reported, however the level moves. */
enum mqws_flow_event {
    MQWS_FLOW_NONE = 0,
    MQWS_FLOW_PAUSE = 1, /* the level reached `high`: stop reading the producer */
    MQWS_FLOW_RESUME = 2 /* the level fell to `low` or below: read again */
};

/* ------------------------------------------------------------------------------------------ */
/* Token bucket.
 *
 * The bucket holds up to `burst` tokens and refills at `rate` tokens per second, computed
 * exactly in integers (the fraction of a token earned by a partial millisecond interval is
 * carried, so a thousand 1 ms steps refill exactly as much as one 1000 ms step). Arithmetic
 * saturates: any rate, burst and gap between calls up to the full 64-bit range is safe.
 * A bucket starts full. */
typedef struct mqws_flow_bucket {
    uint64_t rate;   /* tokens per second; 0 = unlimited */
    uint64_t burst;  /* capacity in tokens */
    uint64_t tokens; /* whole tokens available */
    uint64_t milli;  /* thousandths of a token carried between refills, 0..999 */
    int64_t last_ms; /* time of the last refill */
} mqws_flow_bucket;

/** Initialise a bucket: `rate` tokens per second (0 = unlimited: every take succeeds),
 * `burst` tokens of capacity (0 = one second's worth, `rate`). The bucket starts full at
 * `now_ms`. Returns MQWS_OK or MQWS_EINVAL (b NULL). */
MQWS_API int mqws_flow_bucket_init(mqws_flow_bucket *b, uint64_t rate, uint64_t burst,
                                   int64_t now_ms);

/** Take `n` tokens at `now_ms`. Returns 0 if they were taken; otherwise takes nothing and
 * returns the number of milliseconds (> 0) after which the same take will succeed if nothing
 * else takes tokens meanwhile. A take larger than `burst` is treated as a take of `burst`
 * (it succeeds when the bucket is full and empties it), so one oversized message cannot wedge
 * a connection forever. Returns MQWS_EINVAL if b is NULL. */
MQWS_API int64_t mqws_flow_bucket_take(mqws_flow_bucket *b, uint64_t n, int64_t now_ms);

/** Tokens available at `now_ms` (refills first; UINT64_MAX if unlimited). 0 if b is NULL. */
MQWS_API uint64_t mqws_flow_bucket_available(mqws_flow_bucket *b, int64_t now_ms);

/* ------------------------------------------------------------------------------------------ */
/* High/low watermark with hysteresis over a byte (or item) level. */
typedef struct mqws_flow_watermark {
    uint64_t high;   /* pause when level >= high; 0 = never pause */
    uint64_t low;    /* resume when level <= low (low < high) */
    uint64_t level;  /* current level */
    uint64_t peak;   /* highest level seen */
    uint64_t pauses; /* PAUSE transitions reported */
    uint32_t paused; /* 1 between PAUSE and RESUME */
    uint32_t pad_;
} mqws_flow_watermark;

/** Initialise with `high` (0 disables pausing) and `low`. Returns MQWS_OK, or MQWS_EINVAL if
 * wm is NULL or high != 0 and low >= high. */
MQWS_API int mqws_flow_watermark_init(mqws_flow_watermark *wm, uint64_t high, uint64_t low);

/** Raise the level by n (saturating). Returns MQWS_FLOW_PAUSE on the transition into the
 * paused state, else MQWS_FLOW_NONE. */
MQWS_API int mqws_flow_watermark_add(mqws_flow_watermark *wm, uint64_t n);

/** Lower the level by n (clamped at 0). Returns MQWS_FLOW_RESUME on the transition out of the
 * paused state, else MQWS_FLOW_NONE. */
MQWS_API int mqws_flow_watermark_sub(mqws_flow_watermark *wm, uint64_t n);

/** Set the level to an absolute value (e.g. the bytes a connection has pending, read after
 * each loop pass) and report the transition, if any: MQWS_FLOW_PAUSE, MQWS_FLOW_RESUME or
 * MQWS_FLOW_NONE. */
MQWS_API int mqws_flow_watermark_set(mqws_flow_watermark *wm, uint64_t level);

/** 1 while paused, else 0 (also 0 for NULL). */
MQWS_API int mqws_flow_watermark_paused(const mqws_flow_watermark *wm);

/* ------------------------------------------------------------------------------------------ */
/* Memory cap: the host (or the session) charges bytes before it keeps them and releases them
 * when it frees them. */
typedef struct mqws_flow_memcap {
    uint64_t max;    /* cap in bytes; 0 = unlimited */
    uint64_t used;   /* bytes charged now */
    uint64_t peak;   /* highest `used` seen */
    uint64_t denied; /* charges refused */
} mqws_flow_memcap;

/** Initialise with a cap of `max` bytes (0 = unlimited). MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_flow_memcap_init(mqws_flow_memcap *m, uint64_t max);

/** Charge n bytes. MQWS_OK, or MQWS_ELIMIT (nothing charged, `denied` counted) if used + n
 * would exceed the cap; MQWS_EINVAL if m is NULL. */
MQWS_API int mqws_flow_memcap_charge(mqws_flow_memcap *m, uint64_t n);

/** Release n bytes previously charged. Releasing more than is charged is a caller bug: the
 * level is clamped at 0 and MQWS_EINVAL returned; otherwise MQWS_OK. */
MQWS_API int mqws_flow_memcap_release(mqws_flow_memcap *m, uint64_t n);

/* ------------------------------------------------------------------------------------------ */
/* Per-connection flow control: what a session or host needs for one connection. */
typedef struct mqws_flow_config {
    size_t size;         /* sizeof(mqws_flow_config), set by MQWS_FLOW_CONFIG_INIT */
    uint64_t msg_rate;   /* inbound messages per second; 0 = unlimited (default) */
    uint64_t msg_burst;  /* 0 = msg_rate */
    uint64_t byte_rate;  /* inbound payload bytes per second; 0 = unlimited (default) */
    uint64_t byte_burst; /* 0 = byte_rate */
    uint64_t out_high;   /* output bytes queued at which reading pauses; default 1 MiB, 0 = off */
    uint64_t out_low;    /* output bytes at which reading resumes; default 256 KiB */
    uint64_t mem_max;    /* bytes the connection may hold; default 16 MiB, 0 = unlimited */
} mqws_flow_config;

#define MQWS_FLOW_OUT_HIGH_DEFAULT (1024u * 1024u)
#define MQWS_FLOW_OUT_LOW_DEFAULT  (256u * 1024u)
#define MQWS_FLOW_MEM_MAX_DEFAULT  (16u * 1024u * 1024u)

#define MQWS_FLOW_CONFIG_INIT                                                                      \
    {                                                                                              \
        sizeof(mqws_flow_config), 0, 0, 0, 0, MQWS_FLOW_OUT_HIGH_DEFAULT,                          \
            MQWS_FLOW_OUT_LOW_DEFAULT, MQWS_FLOW_MEM_MAX_DEFAULT                                   \
    }

typedef struct mqws_flow {
    mqws_flow_bucket msgs;
    mqws_flow_bucket bytes;
    mqws_flow_watermark out;
    mqws_flow_memcap mem;
    uint64_t msgs_allowed;
    uint64_t msgs_denied;
    uint64_t bytes_allowed;
    uint64_t bytes_denied;
} mqws_flow;

/* Counters, filled by mqws_flow_get_stats(). Set `size` (MQWS_FLOW_STATS_INIT) first: fields
 * beyond it are not written, so old callers keep working when fields are added. */
typedef struct mqws_flow_stats {
    size_t size;
    uint64_t msgs_allowed;  /* messages admitted by mqws_flow_take() */
    uint64_t msgs_denied;   /* takes refused (each refused take counts once) */
    uint64_t bytes_allowed; /* bytes admitted */
    uint64_t bytes_denied;  /* bytes in refused takes */
    uint64_t out_level;     /* output bytes queued now */
    uint64_t out_peak;      /* highest output level seen */
    uint64_t pauses;        /* PAUSE transitions reported */
    uint32_t paused;        /* 1 while reading is paused */
    uint32_t pad_;
    uint64_t mem_used;   /* bytes charged now */
    uint64_t mem_peak;   /* highest mem_used seen */
    uint64_t mem_denied; /* charges refused with MQWS_ELIMIT */
} mqws_flow_stats;

#define MQWS_FLOW_STATS_INIT                                                                       \
    { sizeof(mqws_flow_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/** Initialise `f` from `cfg` (NULL = defaults) at `now_ms`. A cfg whose `size` is smaller than
 * today's struct (an older caller) gets defaults for the missing fields. Returns MQWS_OK, or
 * MQWS_EINVAL (f NULL, cfg->size too small to hold the first field, or out_high != 0 and
 * out_low >= out_high). */
MQWS_API int mqws_flow_init(mqws_flow *f, const mqws_flow_config *cfg, int64_t now_ms);

/** Change the limits of a live `f`, keeping its levels and counters (buckets keep their
 * tokens, clamped to a smaller burst; a watermark newly above its high pauses on the next add,
 * one newly at or below its low resumes on the next sub). Same errors as mqws_flow_init. */
MQWS_API int mqws_flow_reconfigure(mqws_flow *f, const mqws_flow_config *cfg, int64_t now_ms);

/** Admit one inbound message of `bytes` bytes at `now_ms`: both buckets must allow it, and
 * either both are charged or neither. Returns 0 if admitted, else the milliseconds (> 0) until
 * it would be (the host stops reading the connection that long, or the session drops / rejects
 * the message: that is the caller's policy). MQWS_EINVAL if f is NULL. */
MQWS_API int64_t mqws_flow_take(mqws_flow *f, uint64_t bytes, int64_t now_ms);

/** Output accounting: `n` bytes were queued for this connection / were written out.
 * Return MQWS_FLOW_PAUSE / MQWS_FLOW_RESUME on transitions, else MQWS_FLOW_NONE. */
MQWS_API int mqws_flow_out_queued(mqws_flow *f, uint64_t n);
MQWS_API int mqws_flow_out_written(mqws_flow *f, uint64_t n);
/** Output accounting by level: the host reports what is pending now (for a conn,
 * mqws_conn_pending_bytes() after its writev), instead of counting queued / written bytes. */
MQWS_API int mqws_flow_out_level(mqws_flow *f, uint64_t pending);
/** 1 while the output watermark says "stop reading", else 0. */
MQWS_API int mqws_flow_paused(const mqws_flow *f);

/** Memory accounting against mem_max (see mqws_flow_memcap_charge / _release). */
MQWS_API int mqws_flow_mem_charge(mqws_flow *f, uint64_t n);
MQWS_API int mqws_flow_mem_release(mqws_flow *f, uint64_t n);

/** Copy the counters into `out` (up to out->size bytes). MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_flow_get_stats(const mqws_flow *f, mqws_flow_stats *out);

/* ------------------------------------------------------------------------------------------ */
/* Admission, for a broker or gateway accepting connections:
 *   open (TCP accepted) -> established (CONNACK sent) -> closed
 * with caps on all connections, on connections still handshaking, and on the accept rate. */
typedef struct mqws_flow_admission_config {
    size_t size;              /* sizeof(mqws_flow_admission_config) */
    uint32_t max_connections; /* open + established; 0 = unlimited */
    uint32_t max_connecting;  /* opened but not yet established; 0 = unlimited */
    uint64_t connect_rate;    /* new connections per second; 0 = unlimited */
    uint64_t connect_burst;   /* 0 = connect_rate */
} mqws_flow_admission_config;

#define MQWS_FLOW_ADMISSION_CONFIG_INIT                                                            \
    { sizeof(mqws_flow_admission_config), 0, 0, 0, 0 }

typedef struct mqws_flow_admission {
    mqws_flow_bucket rate;
    uint32_t max_connections;
    uint32_t max_connecting;
    uint32_t connections; /* all admitted and not yet closed */
    uint32_t connecting;  /* admitted, not yet established */
    uint64_t admitted;
    uint64_t refused_full;       /* refused: max_connections */
    uint64_t refused_connecting; /* refused: max_connecting */
    uint64_t refused_rate;       /* refused: connect_rate */
} mqws_flow_admission;

/** Initialise (cfg NULL = no limits). MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_flow_admission_init(mqws_flow_admission *a, const mqws_flow_admission_config *cfg,
                                      int64_t now_ms);
/** A new connection asks to be admitted at `now_ms`. MQWS_OK (it now counts as connecting) or
 * MQWS_ELIMIT (refused, nothing counted but the refusal; the host closes it at once). */
MQWS_API int mqws_flow_admission_open(mqws_flow_admission *a, int64_t now_ms);
/** An admitted connection completed its handshake. MQWS_OK, or MQWS_ESTATE if none was
 * connecting (a caller bug; nothing changes). */
MQWS_API int mqws_flow_admission_established(mqws_flow_admission *a);
/** An admitted connection closed; `established` says whether it had completed its handshake.
 * MQWS_OK, or MQWS_ESTATE if the counts say no such connection exists (nothing changes). */
MQWS_API int mqws_flow_admission_close(mqws_flow_admission *a, int established);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_FLOW_H */
