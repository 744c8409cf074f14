/* Subscription index: every filter, exact or wildcard, lives in ONE open-addressing hash table
 * keyed by (shape, literal levels). A shape is the wildcard pattern of a filter: its level
 * count, which levels are '+', whether it ends in '#'. Matching a topic probes the table once
 * per distinct shape that can apply to the topic's level count; see docs/design/topic.md.
 * SPDX-License-Identifier: MIT */
#include "topic_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#define CTZ64(v)    ((uint32_t)__builtin_ctzll(v))
#else
#define PREFETCH(p) ((void)(p))
static uint32_t CTZ64(uint64_t v) {
    uint32_t n = 0;
    while (!(v & 1u)) {
        v >>= 1;
        n++;
    }
    return n;
}
#endif

/* Eight bytes in memory order (byte k of memory in bits 8k..8k+7), zero padded past `n`.
 * Whole words are single loads; a short tail re-reads the last eight bytes of the string and
 * shifts, so no partial store has to be forwarded to a load. */
MQWS_INLINE uint64_t load_le(const uint8_t *base, size_t i, size_t len) {
    uint64_t w = 0;
    size_t n = len - i;
    if (n >= 8) {
        memcpy(&w, base + i, 8);
    } else if (n == 0) {
        return 0;
    } else if (len >= 8) {
        memcpy(&w, base + len - 8, 8);
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) &&                                    \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        return w >> (8 * (8 - n));
    } else {
        for (size_t k = 0; k < n; k++)
            w |= (uint64_t)base[i + k] << (8 * k);
        return w;
    }
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) &&                                    \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* Hash of one level, bytes [start, start + n) of a string of `len` bytes. A level of at most
 * eight bytes is its zero-padded word tagged with its length (a load and a mask); the key chain
 * (mqws__topic_combine, then a final mix) does the mixing. Longer levels are hashed. */
MQWS_INLINE uint64_t level_hash(const uint8_t *s, size_t start, size_t n, size_t len,
                                uint64_t seed) {
    if (n > 8)
        return mqws__topic_hash_bytes(s + start, n, seed);
    uint64_t w = load_le(s, start, len);
    if (n < 8)
        w &= (1ull << (8 * n)) - 1;
    return w ^ ((uint64_t)n << 59) ^ ((uint64_t)n * 0x9E37u);
}

/* ---- records -------------------------------------------------------------------------------- */

/* One subscription (16 bytes): who, its identifier, its options and where it sits in its
 * owner's list (so either side can be removed in O(1)). */
typedef struct sub_rec {
    mqws_topic_subscriber *owner;
    uint32_t id;
    uint32_t opos_opts; /* bits 0..23: position in owner->ent; 24..31: options */
} sub_rec;

#define OPOS_MASK 0x00FFFFFFu
#define OPT_SHIFT 24
#define OPT_QOS   0x03u
#define OPT_NL    0x04u
#define OPT_RAP   0x08u
#define OPT_RH(o) (((o) >> 4) & 0x03u)

/* Subscriber list of a filter with more than one subscriber, or of any shared group. */
typedef struct vec_hdr {
    uint32_t n, cap;
    uint32_t rr;     /* round-robin cursor (shared groups) */
    uint32_t sticky; /* sticky member, UINT32_MAX = none */
} vec_hdr;
#define VEC_ITEMS(v) ((sub_rec *)(void *)((v) + 1))

/* A filter entry (24 bytes + text), allocated from the slab. Most filters have exactly one
 * subscriber, which is stored inline. */
typedef struct fent {
    uint16_t len;   /* filter bytes */
    uint16_t shape; /* shape id */
    uint16_t glen;  /* ShareName bytes, 0 for a plain filter */
    uint16_t flags; /* FENT_VEC: subscribers in u.vec */
    union {
        sub_rec one;
        vec_hdr *vec;
    } u;
    uint8_t text[]; /* filter, then ShareName */
} fent;
#define FENT_VEC 1u

/* A subscriber's list entry: which filter entry, and the position in its subscriber list. */
typedef struct own_ent {
    uint32_t fh;
    uint32_t fpos;
} own_ent;

struct mqws_topic_subscriber {
    void *user;
    own_ent *ent;
    uint32_t n, cap;
    uint32_t mark_epoch, mark_slot; /* aggregation without allocation */
    mqws_topic_subscriber *prev, *next;
};

typedef struct shape {
    uint64_t plus; /* bit i set: level i is '+' */
    uint64_t seed; /* key hash start for this shape */
    uint32_t refs; /* filter entries using it; 0 = free id */
    uint16_t nlev; /* levels, not counting a final '#' */
    uint8_t tail;  /* ends with '#' */
    uint8_t wild0; /* first level is a wildcard: never matches '$' topics [MQTT-4.7.2-1] */
    uint32_t w0;   /* first wildcard level ('+' or '#'), nlev if none */
    uint8_t exact; /* no wildcard at all: a text comparison alone decides */
    uint64_t lit;  /* bit i set: level i > w0 is literal (hashed into the key) */
} shape;

typedef struct slot {
    uint32_t hash; /* SLOT_EMPTY when empty */
    uint32_t fh;   /* 0 = empty */
} slot;
#define SLOT_EMPTY 0xFFFFFFFFu

/* Slab: fents are carved from 64 KiB chunks and named by 32-bit handles
 * (chunk << 13 | offset / 8), so a table slot is 8 bytes. Entries above SMALL_MAX get a
 * dedicated chunk. */
#define CHUNK_SIZE  65536u
#define OFF_BITS    13u
#define SMALL_MAX   1024u
#define NCLASS      (SMALL_MAX / 8u + 1u)
#define MAX_CHUNKS  (1u << (32u - OFF_BITS))
#define NO_POS      0xFFFFFFFFu
#define SHARE_PLEN  7u /* "$share/" */
#define MAX_SUBS_ID 268435455u

typedef struct chunk {
    uint8_t *base;
    size_t size; /* 0 = free chunk index */
} chunk;

struct mqws_topic_index {
    const mqws_allocator *a;
    mqws_topic_index_config cfg;
    uint64_t bytes;
    /* slab */
    chunk *chunks;
    uint32_t nchunks, chunks_cap;
    uint32_t bump_chunk, bump_off;
    uint32_t free_head[NCLASS];
    /* table */
    slot *tab;
    uint32_t tab_cap, tab_size, tab_count; /* homes in [0, cap); size = cap + pad slots */
    /* shapes */
    shape *shapes;
    uint16_t *active;
    uint32_t nshapes, shapes_cap, nactive;
    /* subscribers */
    mqws_topic_subscriber *subs_head;
    uint64_t nsubscribers, nsubscriptions, ngroups;
    uint32_t epoch;
    uint64_t rng;
    /* match cache (see "match cache" below) */
    uint64_t *ctag;      /* CSET words per set, 64-byte aligned inside cache_mem */
    struct cline *cache; /* CWAYS * (cache_mask + 1) lines, after the tags */
    void *cache_mem;
    size_t cache_size;    /* bytes of cache_mem */
    uint32_t cache_mask;  /* sets - 1 */
    uint32_t cache_slots; /* lines, 0 = no cache yet */
    uint32_t gen;         /* bumped whenever a filter entry is added or removed */
    uint64_t cache_seed;
    uint64_t cache_hits, cache_misses, cache_bypassed;
    uint32_t cwin, cwin_hits; /* lookups and hits of the current window */
    uint32_t cbypass;         /* calls left that skip the cache (low hit rate) */
};

/* ---- allocation with accounting ------------------------------------------------------------- */

static void *ialloc(mqws_topic_index *x, size_t n) {
    void *p = mqws__alloc(x->a, n);
    if (p)
        x->bytes += n;
    return p;
}
static void *irealloc(mqws_topic_index *x, void *p, size_t o, size_t n) {
    void *q = p ? mqws__realloc(x->a, p, o, n) : mqws__alloc(x->a, n);
    if (q)
        x->bytes = x->bytes - o + n;
    return q;
}
static void ifree(mqws_topic_index *x, void *p, size_t n) {
    if (p) {
        mqws__free(x->a, p, n);
        x->bytes -= n;
    }
}

/* ---- slab ----------------------------------------------------------------------------------- */

MQWS_INLINE fent *F(const mqws_topic_index *x, uint32_t h) {
    return (fent *)(void *)(x->chunks[h >> OFF_BITS].base +
                            ((size_t)(h & ((1u << OFF_BITS) - 1)) << 3));
}

static size_t fent_size(size_t textlen) { return (sizeof(fent) + textlen + 7u) & ~(size_t)7u; }

static int chunk_slot(mqws_topic_index *x, uint32_t *out) {
    for (uint32_t i = 1; i < x->nchunks; i++) { /* reuse a freed dedicated chunk index */
        if (x->chunks[i].size == 0) {
            *out = i;
            return MQWS_OK;
        }
    }
    if (x->nchunks >= x->chunks_cap) {
        if (x->chunks_cap >= MAX_CHUNKS)
            return MQWS_ELIMIT;
        uint32_t nc = x->chunks_cap ? x->chunks_cap * 2 : 16;
        chunk *c = irealloc(x, x->chunks, x->chunks_cap * sizeof(chunk), nc * sizeof(chunk));
        if (!c)
            return MQWS_ENOMEM;
        x->chunks = c;
        x->chunks_cap = nc;
    }
    x->chunks[x->nchunks].size = 0;
    x->chunks[x->nchunks].base = NULL;
    *out = x->nchunks++;
    return MQWS_OK;
}

static int slab_alloc(mqws_topic_index *x, size_t sz, uint32_t *h) {
    if (sz > SMALL_MAX) {
        uint32_t ci;
        int rc = chunk_slot(x, &ci);
        if (rc)
            return rc;
        uint8_t *p = ialloc(x, sz);
        if (!p)
            return MQWS_ENOMEM;
        x->chunks[ci].base = p;
        x->chunks[ci].size = sz;
        *h = ci << OFF_BITS;
        return MQWS_OK;
    }
    uint32_t cls = (uint32_t)(sz >> 3);
    if (x->free_head[cls]) {
        *h = x->free_head[cls];
        memcpy(&x->free_head[cls], F(x, *h), sizeof(uint32_t));
        return MQWS_OK;
    }
    if (x->bump_chunk == 0 || x->bump_off + sz > CHUNK_SIZE) {
        uint32_t ci;
        int rc = chunk_slot(x, &ci);
        if (rc)
            return rc;
        uint8_t *p = ialloc(x, CHUNK_SIZE);
        if (!p)
            return MQWS_ENOMEM;
        x->chunks[ci].base = p;
        x->chunks[ci].size = CHUNK_SIZE;
        x->bump_chunk = ci;
        x->bump_off = 0;
    }
    *h = (x->bump_chunk << OFF_BITS) | (x->bump_off >> 3);
    x->bump_off += (uint32_t)sz;
    return MQWS_OK;
}

static void slab_free(mqws_topic_index *x, uint32_t h, size_t sz) {
    if (sz > SMALL_MAX) {
        chunk *c = &x->chunks[h >> OFF_BITS];
        ifree(x, c->base, c->size);
        c->base = NULL;
        c->size = 0;
        return;
    }
    uint32_t cls = (uint32_t)(sz >> 3);
    memcpy(F(x, h), &x->free_head[cls], sizeof(uint32_t));
    x->free_head[cls] = h;
}

/* ---- match cache ---------------------------------------------------------------------------- */

/* A small 4-way set-associative cache of topic name -> the filter entries that matched it.
 * Each set has a 64-byte header in a tag array (the four lines' tags, a "ghost" tag, the next
 * victim) and four 128-byte lines in a line array: the topic length and entry count, the topic
 * bytes from offset 4 and the entry pointers from the end of the line. A tag is
 * generation << 32 | the high half of the topic hash. A lookup reads one header (one cache
 * line) and, only when a tag is equal, that line; the tag array is small (16 bytes per line), so
 * a miss usually touches only cached memory. Lines are written only for topics seen twice
 * (admission: a topic that misses is recorded as the set's ghost and stored when it misses again
 * while still the ghost, or at once into a stale line), so random topics do not churn the line
 * array.
 *
 * Entries are stored, not subscribers: a hit reports them with the same code as the index
 * path, so options, subscriber lists, no-local and shared-group picks are always current. The
 * set of entries matching a topic changes only when an entry is added or removed, and both
 * bump x->gen, which makes every line stale at once (a tag is valid only with the current
 * generation). An entry's memory does not move while it exists (slab chunks stay put), so a
 * stored pointer is valid as long as the generation is. */
#define CLINE      128u
#define CLINE_TEXT 4u  /* offset of the topic bytes */
#define CACHE_MIN  64u /* lines, when the configured maximum allows */
#define CACHE_PER  64u /* filters per line as the index grows */

typedef struct cline {
    uint16_t len;
    uint8_t n;
    uint8_t pad;
    uint8_t text[CLINE - CLINE_TEXT]; /* topic, then free space, then n entry pointers */
} cline;

/* Set header (CSET words, 64 bytes): tags of lines 0..CWAYS-1 (0 = empty: generation 0 is
 * never current), CGHOSTS ghost tags (names that missed recently and were not stored), and in
 * the last word the next line to replace (bits 0..7) and the next ghost to replace (bits 8..15),
 * both round robin, and a count of the misses that were not admitted (bits 16..). */
#define CWAYS   4u
#define CSET    8u
#define CGHOST  4u /* first ghost word */
#define CGHOSTS 3u
#define CNEXT   7u
#define CADMIT  8u /* a power of two */
/* Bypass: the hit rate is judged over windows of max(CWIN_MIN, lines) lookups; below 1 in
 * CBYPASS_RATE the next CBYPASS_LEN windows' worth of calls skip the cache. */
#define CWIN_MIN     256u
#define CBYPASS_RATE 8u
#define CBYPASS_LEN  16u

/* Every line of the cache is stale after this. */
MQWS_INLINE void cache_invalidate(mqws_topic_index *x) {
    if (++x->gen == 0) { /* wrapped (after 2^32 changes): clear the tags once */
        const uint32_t nw = x->cache_slots / CWAYS * CSET;
        for (uint32_t i = 0; i < nw; i++)
            x->ctag[i] = 0;
        x->gen = 1;
    }
}

/* Entry k of a line (stored from the end of the line backwards). */
MQWS_INLINE fent *cline_get(const cline *c, uint32_t k) {
    fent *f;
    memcpy(&f, (const uint8_t *)c + CLINE - 8u * (k + 1u), sizeof f);
    return f;
}

/* How many entries fit next to a topic of len bytes; negative if the topic does not fit. */
MQWS_INLINE int cline_room(size_t len) {
    return len > CLINE - CLINE_TEXT ? -1 : (int)((CLINE - CLINE_TEXT - len) / 8u);
}

/* Make the cache as large as the index size asks for (one line per CACHE_PER filters, at least
 * CACHE_MIN, at most the configured maximum). Called after a subscription is committed; the
 * cache is optional, so a failed allocation just keeps the current one. */
static void cache_fit(mqws_topic_index *x) {
    const uint32_t max = x->cfg.match_cache;
    if (!max)
        return;
    uint32_t want = max < CACHE_MIN ? max : CACHE_MIN;
    while (want < max && (uint64_t)want * CACHE_PER < x->tab_count)
        want *= 2;
    if (want <= x->cache_slots)
        return;
    const size_t tags = (size_t)want / CWAYS * CSET * sizeof(uint64_t); /* 64 bytes per set */
    const size_t sz = 64u + tags + (size_t)want * CLINE;
    void *m = ialloc(x, sz);
    if (!m)
        return;
    memset(m, 0, sz);
    ifree(x, x->cache_mem, x->cache_size);
    uint8_t *base = (uint8_t *)m + ((64u - ((uintptr_t)m & 63u)) & 63u);
    x->cache_mem = m;
    x->cache_size = sz;
    x->ctag = (uint64_t *)(void *)base;
    x->cache = (cline *)(void *)(base + tags);
    x->cache_slots = want;
    x->cache_mask = want / CWAYS - 1u;
}

/* Hash of a whole topic name for the cache: two multiplies per 16-byte block (the last block
 * overlapping the previous one), seeded, then a final mix. The hash only chooses the set and
 * filters the compare; a hit always compares the bytes, so a collision costs a miss, never a
 * wrong answer. */
MQWS_INLINE uint64_t cache_hash(const uint8_t *t, size_t len, uint64_t seed) {
    uint64_t h = seed ^ ((uint64_t)len * MQWS__K2), w0, w1;
    if (len >= 16) {
        for (size_t i = 0; i + 16 < len; i += 16) {
            memcpy(&w0, t + i, 8);
            memcpy(&w1, t + i + 8, 8);
            h = ((h ^ w0) * MQWS__K1 ^ w1) * MQWS__K2;
        }
        memcpy(&w0, t + len - 16, 8);
        memcpy(&w1, t + len - 8, 8);
    } else if (len >= 8) {
        memcpy(&w0, t, 8);
        memcpy(&w1, t + len - 8, 8);
    } else if (len >= 4) {
        uint32_t p, q;
        memcpy(&p, t, 4);
        memcpy(&q, t + len - 4, 4);
        w0 = p;
        w1 = q;
    } else {
        w0 = (uint64_t)t[0] << 16 | (uint64_t)t[len >> 1] << 8 | t[len - 1];
        w1 = 0;
    }
    return mqws__topic_mix(((h ^ w0) * MQWS__K1 ^ w1) * MQWS__K2);
}

/* ---- filters: levels, shape, key ------------------------------------------------------------ */

typedef struct parsed {
    shape sh;
    uint64_t pre;  /* prefix_state() of the literal levels before the first wildcard */
    uint32_t plen; /* their length in bytes (with the separators between them) */
    uint64_t lh[MQWS_TOPIC_MAX_LEVELS];
} parsed;

/* One step of the prefix chain: eight bytes per multiply. */
MQWS_INLINE uint64_t chain_step(uint64_t h, uint64_t w) {
    h = (h ^ w) * MQWS__K1;
    return h ^ (h >> 32);
}

/* The chain state of the first p bytes of s (p <= len): whole words chained from the seed,
 * then the remaining p % 8 bytes XORed in. split_name() produces the same value for every
 * level boundary of a topic as a by-product of one pass over its words. */
static uint64_t prefix_state(const uint8_t *s, size_t p, size_t len, uint64_t seed) {
    uint64_t h = seed;
    size_t i = 0;
    for (; i + 8 <= p; i += 8)
        h = chain_step(h, load_le(s, i, len));
    if (i < p)
        h ^= load_le(s, i, len) & ((1ull << (8 * (p - i))) - 1);
    return h;
}

/* Split a validated filter into its shape and the hashes of its literal levels. */
static void parse_filter(const mqws_topic_index *x, const uint8_t *s, size_t len, parsed *p) {
    memset(&p->sh, 0, sizeof p->sh);
    uint32_t lev = 0;
    size_t start = 0, plen = len;
    int wild = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '/')
            continue;
        size_t n = i - start;
        if (n == 1 && (s[start] == '#' || s[start] == '+') && !wild) {
            wild = 1;
            plen = start ? start - 1 : 0;
        }
        if (n == 1 && s[start] == '#') {
            p->sh.tail = 1;
        } else {
            if (n == 1 && s[start] == '+')
                p->sh.plus |= 1ull << lev;
            else
                p->lh[lev] = level_hash(s, start, n, len, x->cfg.seed);
            lev++;
        }
        start = i + 1;
    }
    p->sh.nlev = (uint16_t)lev;
    p->sh.wild0 = (uint8_t)(s[0] == '+' || s[0] == '#');
    p->sh.w0 = p->sh.plus ? CTZ64(p->sh.plus) : lev;
    p->sh.exact = (uint8_t)(p->sh.w0 == lev && !p->sh.tail);
    for (uint32_t i = p->sh.w0 + 1; i < lev; i++)
        if (!(p->sh.plus >> i & 1u))
            p->sh.lit |= 1ull << i;
    p->plen = (uint32_t)plen;
    p->pre = prefix_state(s, plen, len, x->cfg.seed);
}

/* The 32-bit key of a chained value under a shape: the high half of one multiply (the chain
 * already multiplied at every level; the high bits are the well-mixed ones, and the table uses
 * the high bits for the home slot). */
MQWS_INLINE uint32_t key_final(uint64_t k, uint64_t shape_seed) {
    uint32_t h = (uint32_t)(((k ^ shape_seed) * MQWS__K1) >> 32);
    return h - (h == SLOT_EMPTY); /* never the empty marker */
}

/* Key of a filter (or of a topic under a shape): the prefix chain of the literal levels before
 * the first wildcard (the whole text for an exact filter) and its length, then the hash of each
 * literal level after it, then the shape mixed in. mqws_topic_match() computes the same value
 * from the prefix states split_name() left at every level boundary. */
static uint32_t shape_key(const shape *sh, uint64_t sseed, const parsed *p) {
    uint64_t k = mqws__topic_combine(p->pre, p->plen);
    for (uint32_t i = sh->w0; i < sh->nlev; i++)
        if (!(sh->plus >> i & 1u))
            k = mqws__topic_combine(k, p->lh[i]);
    return key_final(k, sseed);
}

static uint64_t shape_seed(const mqws_topic_index *x, uint32_t id) {
    return mqws__topic_mix(x->cfg.seed ^ ((uint64_t)(id + 1) * MQWS__K1));
}

static int shape_find(const mqws_topic_index *x, const shape *sh) {
    for (uint32_t i = 0; i < x->nactive; i++) {
        const shape *s = &x->shapes[x->active[i]];
        if (s->plus == sh->plus && s->nlev == sh->nlev && s->tail == sh->tail)
            return x->active[i];
    }
    return -1;
}

/* Make room for one more shape; returns its future id in *id without committing. */
static int shape_reserve(mqws_topic_index *x, uint32_t *id) {
    for (uint32_t i = 0; i < x->nshapes; i++) {
        if (x->shapes[i].refs == 0) {
            *id = i;
            return MQWS_OK;
        }
    }
    if (x->nshapes >= x->cfg.max_shapes)
        return MQWS_ELIMIT;
    if (x->nshapes == x->shapes_cap) {
        uint32_t nc = x->shapes_cap ? x->shapes_cap * 2 : 8;
        if (nc > 65535u)
            nc = 65535u;
        /* Both arrays or neither: allocate the new pair, then move. */
        shape *s = ialloc(x, nc * sizeof(shape));
        if (!s)
            return MQWS_ENOMEM;
        uint16_t *a = ialloc(x, nc * sizeof(uint16_t));
        if (!a) {
            ifree(x, s, nc * sizeof(shape));
            return MQWS_ENOMEM;
        }
        if (x->shapes_cap) {
            memcpy(s, x->shapes, x->shapes_cap * sizeof(shape));
            memcpy(a, x->active, x->shapes_cap * sizeof(uint16_t));
        }
        ifree(x, x->shapes, x->shapes_cap * sizeof(shape));
        ifree(x, x->active, x->shapes_cap * sizeof(uint16_t));
        x->shapes = s;
        x->active = a;
        x->shapes_cap = nc;
    }
    x->shapes[x->nshapes].refs = 0;
    *id = x->nshapes++;
    return MQWS_OK;
}

/* ---- table ---------------------------------------------------------------------------------- */

/* Ordered linear probing (Amble and Knuth). Homes are in [0, cap) and the home slot
 * (hash * cap) >> 32 is monotone in the hash, so the table is kept sorted by hash: every entry
 * sits at or after its home, entries of one cluster are in hash order (which is also home order,
 * i.e. Robin Hood order), and a run never wraps: the array has `size = cap + pad` slots and its
 * last slot is always empty. A lookup walks `while (slot.hash < key)`, then collects the slots
 * whose hash equals the key; an empty slot has hash SLOT_EMPTY, larger than any key, so it ends
 * both loops with no separate emptiness or distance test. The table size is any integer, so it
 * grows by 1.5x instead of doubling. */
MQWS_INLINE uint32_t home_of(uint32_t hash, uint32_t cap) {
    return (uint32_t)(((uint64_t)hash * cap) >> 32);
}

static uint32_t tab_pad(uint32_t cap) { return 32u + cap / 32u; }

/* First empty slot at or after the home of `hash`: where an insertion's shift ends. */
static uint32_t tab_run_end(const slot *tab, uint32_t cap, uint32_t hash) {
    uint32_t i = home_of(hash, cap);
    while (tab[i].fh)
        i++;
    return i;
}

/* Insert keeping the order; the caller checked that the run ends before the last slot. */
static void tab_put(slot *tab, uint32_t cap, uint32_t hash, uint32_t fh) {
    slot e = {hash, fh};
    uint32_t i = home_of(hash, cap);
    while (tab[i].hash <= hash)
        i++;
    while (tab[i].fh) {
        slot tmp = tab[i];
        tab[i] = e;
        e = tmp;
        i++;
    }
    tab[i] = e;
}

static void tab_clear(slot *t, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        t[i].hash = SLOT_EMPTY;
        t[i].fh = 0;
    }
}

/* Room for one more entry with key `hash`: load at most 0.8, and the run the insertion shifts
 * must end before the last slot (else grow; in practice only at the load limit). */
static int tab_reserve(mqws_topic_index *x, uint32_t hash) {
    if (x->tab_cap && (uint64_t)(x->tab_count + 1) * 5 <= (uint64_t)x->tab_cap * 4 &&
        tab_run_end(x->tab, x->tab_cap, hash) + 1 < x->tab_size)
        return MQWS_OK;
    uint64_t nc64 = x->tab_cap ? (uint64_t)x->tab_cap + x->tab_cap / 2 : 16;
    for (;;) {
        if (nc64 + tab_pad((uint32_t)(nc64 < 0xFFFFFFF0u ? nc64 : 0)) > 0xFFFFFFF0u)
            return MQWS_ELIMIT;
        uint32_t nc = (uint32_t)nc64, ns = nc + tab_pad(nc);
        slot *t = ialloc(x, (size_t)ns * sizeof(slot));
        if (!t)
            return MQWS_ENOMEM;
        tab_clear(t, ns);
        /* The old table is sorted by hash: append each entry at max(home, previous + 1). */
        uint32_t next = 0, ok = 1;
        for (uint32_t i = 0; i < x->tab_size && ok; i++) {
            if (!x->tab[i].fh)
                continue;
            uint32_t h = home_of(x->tab[i].hash, nc);
            uint32_t at = h > next ? h : next;
            if (at + 1 >= ns) {
                ok = 0;
                break;
            }
            t[at] = x->tab[i];
            next = at + 1;
        }
        if (ok && tab_run_end(t, nc, hash) + 1 < ns) {
            ifree(x, x->tab, (size_t)x->tab_size * sizeof(slot));
            x->tab = t;
            x->tab_cap = nc;
            x->tab_size = ns;
            return MQWS_OK;
        }
        ifree(x, t, (size_t)ns * sizeof(slot)); /* a run reached the end: larger */
        nc64 += nc64 / 2;
    }
}

/* Backward shift: pull the rest of the cluster one slot closer to home. */
static void tab_del(mqws_topic_index *x, uint32_t i) {
    const uint32_t cap = x->tab_cap;
    for (;;) {
        uint32_t j = i + 1;
        if (!x->tab[j].fh || home_of(x->tab[j].hash, cap) == j)
            break;
        x->tab[i] = x->tab[j];
        i = j;
    }
    x->tab[i].fh = 0;
    x->tab[i].hash = SLOT_EMPTY;
    x->tab_count--;
    cache_invalidate(x);
}

static int fent_is(const fent *f, uint32_t sid, mqws_view filter, mqws_view group) {
    return f->shape == sid && f->len == filter.len && f->glen == group.len &&
           memcmp(f->text, filter.ptr, filter.len) == 0 &&
           (group.len == 0 || memcmp(f->text + f->len, group.ptr, group.len) == 0);
}

/* The slot holding (filter, group) of shape sid with key `hash`, or NO_POS. */
static uint32_t tab_find(const mqws_topic_index *x, uint32_t hash, uint32_t sid, mqws_view filter,
                         mqws_view group) {
    if (!x->tab_cap)
        return NO_POS;
    uint32_t i = home_of(hash, x->tab_cap);
    while (x->tab[i].hash < hash)
        i++;
    for (; x->tab[i].hash == hash; i++)
        if (fent_is(F(x, x->tab[i].fh), sid, filter, group))
            return i;
    return NO_POS;
}

/* ---- subscriber records --------------------------------------------------------------------- */

MQWS_INLINE sub_rec *rec_at(const mqws_topic_index *x, uint32_t fh, uint32_t fpos) {
    fent *f = F(x, fh);
    return (f->flags & FENT_VEC) ? &VEC_ITEMS(f->u.vec)[fpos] : &f->u.one;
}
MQWS_INLINE uint32_t fent_n(const fent *f) { return (f->flags & FENT_VEC) ? f->u.vec->n : 1u; }
MQWS_INLINE sub_rec *fent_items(fent *f) {
    return (f->flags & FENT_VEC) ? VEC_ITEMS(f->u.vec) : &f->u.one;
}
static size_t vec_bytes(uint32_t cap) { return sizeof(vec_hdr) + (size_t)cap * sizeof(sub_rec); }

/* Position of `owner`'s record in filter entry fh, or NO_POS; scans the shorter of the two
 * lists, so both broadcast filters and subscribers with many filters stay cheap. */
static uint32_t find_rec(const mqws_topic_index *x, uint32_t fh, const mqws_topic_subscriber *o) {
    fent *f = F(x, fh);
    uint32_t n = fent_n(f);
    if (n <= o->n) {
        sub_rec *it = fent_items(f);
        for (uint32_t i = 0; i < n; i++)
            if (it[i].owner == o)
                return i;
        return NO_POS;
    }
    for (uint32_t i = 0; i < o->n; i++)
        if (o->ent[i].fh == fh)
            return o->ent[i].fpos;
    return NO_POS;
}

static int owner_reserve(mqws_topic_index *x, mqws_topic_subscriber *o) {
    if (o->n < o->cap)
        return MQWS_OK;
    uint32_t nc = o->cap < 4 ? 4 : o->cap + o->cap / 2;
    own_ent *e = irealloc(x, o->ent, o->cap * sizeof(own_ent), nc * sizeof(own_ent));
    if (!e)
        return MQWS_ENOMEM;
    o->ent = e;
    o->cap = nc;
    return MQWS_OK;
}

static uint8_t pack_opts(const mqws_topic_sub_options *opt) {
    return (uint8_t)((opt->max_qos & 3u) | (opt->no_local ? OPT_NL : 0u) |
                     (opt->retain_as_published ? OPT_RAP : 0u) |
                     ((unsigned)(opt->retain_handling & 3u) << 4));
}

static void fent_delete(mqws_topic_index *x, uint32_t fh);

/* Remove the record at fpos of filter entry fh from both lists. */
static void remove_rec(mqws_topic_index *x, uint32_t fh, uint32_t fpos) {
    fent *f = F(x, fh);
    sub_rec *r = rec_at(x, fh, fpos);
    mqws_topic_subscriber *o = r->owner;
    uint32_t opos = r->opos_opts & OPOS_MASK;
    /* owner side: swap the last entry into the hole */
    uint32_t last = o->n - 1;
    if (opos != last) {
        own_ent mv = o->ent[last];
        o->ent[opos] = mv;
        sub_rec *mr = rec_at(x, mv.fh, mv.fpos);
        mr->opos_opts = (mr->opos_opts & ~OPOS_MASK) | opos;
    }
    o->n--;
    if (o->cap > 8 && o->n * 4 <= o->cap) {
        uint32_t nc = o->cap / 2;
        own_ent *e = irealloc(x, o->ent, o->cap * sizeof(own_ent), nc * sizeof(own_ent));
        if (e) { /* shrinking is optional: on failure keep the larger block */
            o->ent = e;
            o->cap = nc;
        }
    }
    x->nsubscriptions--;
    /* filter side */
    if (!(f->flags & FENT_VEC)) {
        fent_delete(x, fh);
        return;
    }
    vec_hdr *v = f->u.vec;
    sub_rec *it = VEC_ITEMS(v);
    uint32_t vl = v->n - 1;
    if (fpos != vl) {
        it[fpos] = it[vl];
        mqws_topic_subscriber *mo = it[fpos].owner;
        mo->ent[it[fpos].opos_opts & OPOS_MASK].fpos = fpos;
    }
    if (v->sticky == fpos)
        v->sticky = NO_POS;
    else if (v->sticky == vl)
        v->sticky = fpos;
    v->n--;
    if (v->n == 0) {
        fent_delete(x, fh);
        return;
    }
    if (v->n == 1 && f->glen == 0) { /* back to the inline form */
        sub_rec only = it[0];
        ifree(x, v, vec_bytes(v->cap));
        f->flags &= (uint16_t)~FENT_VEC;
        f->u.one = only;
        return;
    }
    if (v->cap > 8 && v->n * 4 <= v->cap) {
        uint32_t nc = v->cap / 2;
        vec_hdr *nv = irealloc(x, v, vec_bytes(v->cap), vec_bytes(nc));
        if (nv) {
            nv->cap = nc;
            f->u.vec = nv;
        }
    }
}

static void fent_delete(mqws_topic_index *x, uint32_t fh) {
    fent *f = F(x, fh);
    parsed p;
    parse_filter(x, f->text, f->len, &p);
    shape *sh = &x->shapes[f->shape];
    uint32_t hash = shape_key(sh, sh->seed, &p);
    uint32_t i = home_of(hash, x->tab_cap);
    while (x->tab[i].fh != fh)
        i++;
    tab_del(x, i);
    if (f->glen)
        x->ngroups--;
    if (f->flags & FENT_VEC)
        ifree(x, f->u.vec, vec_bytes(f->u.vec->cap));
    if (--sh->refs == 0) {
        for (uint32_t k = 0; k < x->nactive; k++) {
            if (x->active[k] == f->shape) {
                x->active[k] = x->active[--x->nactive];
                break;
            }
        }
    }
    slab_free(x, fh, fent_size((size_t)f->len + f->glen));
}

/* ---- public: lifecycle ---------------------------------------------------------------------- */

mqws_topic_index *mqws_topic_index_new(const mqws_topic_index_config *cfg) {
    mqws_topic_index_config c = MQWS_TOPIC_INDEX_CONFIG_INIT;
    if (cfg) {
        if (cfg->size < sizeof(mqws_topic_index_config))
            return NULL;
        c = *cfg;
    }
    if (c.max_len == 0 || c.max_len > MQWS_TOPIC_MAX_LEN)
        c.max_len = MQWS_TOPIC_MAX_LEN;
    if (c.max_levels == 0)
        c.max_levels = 32;
    if (c.max_levels > MQWS_TOPIC_MAX_LEVELS || c.share_strategy > MQWS_TOPIC_SHARE_STICKY)
        return NULL;
    if (c.max_shapes == 0 || c.max_shapes > 65535u)
        c.max_shapes = 65535u;
    if (c.max_subscriptions == 0 || c.max_subscriptions > OPOS_MASK)
        c.max_subscriptions = OPOS_MASK;
    if (c.match_cache) { /* a power of two, at least one set of four lines, at most 2^24 */
        uint32_t m = 4;
        while (m < (1u << 24) && m * 2u <= c.match_cache)
            m *= 2;
        c.match_cache = m;
    }
    const mqws_allocator *a = mqws__allocator_or_default(c.allocator);
    mqws_topic_index *x = mqws__alloc(a, sizeof *x);
    if (!x)
        return NULL;
    memset(x, 0, sizeof *x);
    x->a = a;
    x->cfg = c;
    x->bytes = sizeof *x;
    x->nchunks = 1; /* chunk index 0 is never used, so handle 0 means "empty" */
    x->rng = c.seed ? c.seed : 0x9E3779B97F4A7C15ull;
    x->gen = 1;
    x->cache_seed = mqws__topic_mix(c.seed ^ 0x63616368656b6579ull);
    return x;
}

void mqws_topic_index_free(mqws_topic_index *x) {
    if (!x)
        return;
    mqws_topic_subscriber *s = x->subs_head;
    while (s) {
        mqws_topic_subscriber *n = s->next;
        mqws__free(x->a, s->ent, s->cap * sizeof(own_ent));
        mqws__free(x->a, s, sizeof *s);
        s = n;
    }
    for (uint32_t i = 0; i < x->tab_size; i++) {
        if (x->tab[i].fh) {
            fent *f = F(x, x->tab[i].fh);
            if (f->flags & FENT_VEC)
                mqws__free(x->a, f->u.vec, vec_bytes(f->u.vec->cap));
        }
    }
    for (uint32_t i = 1; i < x->nchunks; i++)
        mqws__free(x->a, x->chunks[i].base, x->chunks[i].size);
    mqws__free(x->a, x->chunks, x->chunks_cap * sizeof(chunk));
    mqws__free(x->a, x->tab, (size_t)x->tab_size * sizeof(slot));
    mqws__free(x->a, x->shapes, x->shapes_cap * sizeof(shape));
    mqws__free(x->a, x->active, x->shapes_cap * sizeof(uint16_t));
    if (x->cache_mem)
        mqws__free(x->a, x->cache_mem, x->cache_size);
    mqws__free(x->a, x, sizeof *x);
}

mqws_topic_subscriber *mqws_topic_subscriber_new(mqws_topic_index *x, void *user) {
    mqws_topic_subscriber *s = ialloc(x, sizeof *s);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->user = user;
    s->next = x->subs_head;
    if (s->next)
        s->next->prev = s;
    x->subs_head = s;
    x->nsubscribers++;
    return s;
}

uint32_t mqws_topic_unsubscribe_all(mqws_topic_index *x, mqws_topic_subscriber *s) {
    uint32_t n = s->n;
    while (s->n) /* always the last entry: no swaps on the owner side */
        remove_rec(x, s->ent[s->n - 1].fh, s->ent[s->n - 1].fpos);
    return n;
}

void mqws_topic_subscriber_free(mqws_topic_index *x, mqws_topic_subscriber *s) {
    if (!s)
        return;
    mqws_topic_unsubscribe_all(x, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        x->subs_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ifree(x, s->ent, s->cap * sizeof(own_ent));
    ifree(x, s, sizeof *s);
    x->nsubscribers--;
}

void *mqws_topic_subscriber_user(const mqws_topic_subscriber *s) { return s->user; }
uint32_t mqws_topic_subscriber_count(const mqws_topic_subscriber *s) { return s->n; }

/* ---- public: subscribe / unsubscribe -------------------------------------------------------- */

static int prepare(const mqws_topic_index *x, const uint8_t *s, size_t len, mqws_view *filter,
                   mqws_view *group) {
    mqws_topic_limits lim = {sizeof lim, x->cfg.max_len, x->cfg.max_levels};
    int rc = mqws_topic_validate_filter(s, len, &lim, NULL);
    if (rc)
        return rc;
    rc = mqws_topic_parse_share(s, len, group, filter);
    if (rc == 0) {
        filter->ptr = s;
        filter->len = len;
        group->ptr = NULL;
        group->len = 0;
    }
    return MQWS_OK;
}

int mqws_topic_subscribe(mqws_topic_index *x, mqws_topic_subscriber *o, const uint8_t *s,
                         size_t len, const mqws_topic_sub_options *opt) {
    static const mqws_topic_sub_options none = {0, 0, 0, 0, 0};
    if (!opt)
        opt = &none;
    if (opt->max_qos > 2 || opt->no_local > 1 || opt->retain_as_published > 1 ||
        opt->retain_handling > 2 || opt->subscription_id > MAX_SUBS_ID)
        return MQWS_EINVAL;
    mqws_view filter, group;
    int rc = prepare(x, s, len, &filter, &group);
    if (rc)
        return rc;
    if (group.len && opt->no_local) /* [MQTT-3.8.3-4] */
        return MQWS_EPROTO;
    parsed p;
    parse_filter(x, filter.ptr, filter.len, &p);
    uint32_t opts = (uint32_t)pack_opts(opt) << OPT_SHIFT;

    int sid = shape_find(x, &p.sh);
    uint32_t hash = 0, si = NO_POS;
    if (sid >= 0) {
        hash = shape_key(&x->shapes[sid], x->shapes[sid].seed, &p);
        si = tab_find(x, hash, (uint32_t)sid, filter, group);
    }
    if (si != NO_POS) {
        uint32_t fh = x->tab[si].fh;
        uint32_t pos = find_rec(x, fh, o);
        if (pos != NO_POS) { /* same filter, same subscriber: replace the options [MQTT-3.8.4-3] */
            sub_rec *r = rec_at(x, fh, pos);
            r->id = opt->subscription_id;
            r->opos_opts = (r->opos_opts & OPOS_MASK) | opts;
            return 0;
        }
    }
    if (o->n >= x->cfg.max_subscriptions)
        return MQWS_ELIMIT;
    rc = owner_reserve(x, o);
    if (rc)
        return rc;

    uint32_t fh = 0, fpos = 0;
    if (si != NO_POS) {
        fh = x->tab[si].fh;
        fent *f = F(x, fh);
        if (!(f->flags & FENT_VEC)) {
            vec_hdr *v = ialloc(x, vec_bytes(2));
            if (!v)
                return MQWS_ENOMEM;
            v->n = 1;
            v->cap = 2;
            v->rr = 0;
            v->sticky = NO_POS;
            VEC_ITEMS(v)[0] = f->u.one;
            f->u.vec = v;
            f->flags |= FENT_VEC;
        } else if (f->u.vec->n == f->u.vec->cap) {
            vec_hdr *v = f->u.vec;
            uint32_t nc = v->cap + (v->cap + 1) / 2;
            vec_hdr *nv = irealloc(x, v, vec_bytes(v->cap), vec_bytes(nc));
            if (!nv)
                return MQWS_ENOMEM;
            nv->cap = nc;
            f->u.vec = nv;
        }
        fpos = f->u.vec->n++;
        VEC_ITEMS(f->u.vec)[fpos] = (sub_rec){o, opt->subscription_id, o->n | opts};
    } else {
        uint32_t new_sid = 0;
        if (sid < 0) {
            rc = shape_reserve(x, &new_sid);
            if (rc)
                return rc;
        }
        hash = shape_key(sid < 0 ? &p.sh : &x->shapes[sid],
                         sid < 0 ? shape_seed(x, new_sid) : x->shapes[sid].seed, &p);
        rc = tab_reserve(x, hash);
        if (rc)
            return rc;
        size_t fsz = fent_size(filter.len + group.len);
        rc = slab_alloc(x, fsz, &fh);
        if (rc)
            return rc;
        vec_hdr *v = NULL;
        if (group.len) { /* shared groups always keep a list with the strategy state */
            v = ialloc(x, vec_bytes(2));
            if (!v) {
                slab_free(x, fh, fsz);
                return MQWS_ENOMEM;
            }
            v->n = 0;
            v->cap = 2;
            v->rr = 0;
            v->sticky = NO_POS;
        }
        /* commit */
        if (sid < 0) {
            shape *sh = &x->shapes[new_sid];
            *sh = p.sh;
            sh->refs = 0;
            sh->seed = shape_seed(x, new_sid);
            x->active[x->nactive++] = (uint16_t)new_sid;
            sid = (int)new_sid;
        }
        shape *sh = &x->shapes[sid];
        sh->refs++;
        fent *f = F(x, fh);
        f->len = (uint16_t)filter.len;
        f->glen = (uint16_t)group.len;
        f->shape = (uint16_t)sid;
        memcpy(f->text, filter.ptr, filter.len);
        if (group.len)
            memcpy(f->text + filter.len, group.ptr, group.len);
        tab_put(x->tab, x->tab_cap, hash, fh);
        x->tab_count++;
        cache_invalidate(x);
        fpos = 0;
        if (v) {
            f->flags = FENT_VEC;
            f->u.vec = v;
            v->n = 1;
            VEC_ITEMS(v)[0] = (sub_rec){o, opt->subscription_id, o->n | opts};
            x->ngroups++;
        } else {
            f->flags = 0;
            f->u.one = (sub_rec){o, opt->subscription_id, o->n | opts};
        }
    }
    o->ent[o->n].fh = fh;
    o->ent[o->n].fpos = fpos;
    o->n++;
    x->nsubscriptions++;
    cache_fit(x); /* optional: nothing to undo if it cannot grow */
    return 1;
}

int mqws_topic_unsubscribe(mqws_topic_index *x, mqws_topic_subscriber *o, const uint8_t *s,
                           size_t len) {
    mqws_view filter, group;
    int rc = prepare(x, s, len, &filter, &group);
    if (rc)
        return rc;
    parsed p;
    parse_filter(x, filter.ptr, filter.len, &p);
    int sid = shape_find(x, &p.sh);
    if (sid < 0)
        return MQWS_ENOTFOUND;
    uint32_t si = tab_find(x, shape_key(&x->shapes[sid], x->shapes[sid].seed, &p), (uint32_t)sid,
                           filter, group);
    if (si == NO_POS)
        return MQWS_ENOTFOUND;
    uint32_t fh = x->tab[si].fh;
    uint32_t pos = find_rec(x, fh, o);
    if (pos == NO_POS)
        return MQWS_ENOTFOUND;
    remove_rec(x, fh, pos);
    return MQWS_OK;
}

/* ---- public: match -------------------------------------------------------------------------- */

static uint32_t pick_member(mqws_topic_index *x, vec_hdr *v, const mqws_topic_publish *pub,
                            const uint8_t *topic, size_t len) {
    uint32_t n = v->n;
    switch (x->cfg.share_strategy) {
        case MQWS_TOPIC_SHARE_RANDOM: {
            /* xorshift64*: index-local state, no global rand() */
            uint64_t r = x->rng;
            r ^= r >> 12;
            r ^= r << 25;
            r ^= r >> 27;
            x->rng = r;
            return home_of((uint32_t)((r * 2685821657736338717ull) >> 32), n);
        }
        case MQWS_TOPIC_SHARE_HASH_CLIENT: {
            uint64_t h = 0;
            if (pub && pub->client_id.len)
                h = mqws__topic_hash_bytes(pub->client_id.ptr, pub->client_id.len, x->cfg.seed);
            return home_of((uint32_t)mqws__topic_mix(h), n);
        }
        case MQWS_TOPIC_SHARE_HASH_TOPIC:
            return home_of(
                (uint32_t)mqws__topic_mix(mqws__topic_hash_bytes(topic, len, x->cfg.seed)), n);
        case MQWS_TOPIC_SHARE_STICKY:
            if (v->sticky < n)
                return v->sticky;
            v->sticky = v->rr % n;
            v->rr = v->sticky + 1;
            return v->sticky;
        default: {
            uint32_t i = v->rr % n;
            v->rr = i + 1;
            return i;
        }
    }
}

/* Room for the level arrays of a topic (level starts and the end, chain states). */
#define LEVEL_SLOTS (MQWS_TOPIC_MAX_LEVELS + 1u)

#if defined(__SSE2__)
/* Split a topic name in one pass over its 16-byte blocks: find the separators and wildcards of
 * each block (SSE2), record the start of every level (off[L] = len + 1) and, for each level
 * boundary, the chain state before the 8-byte word holding its separator (hw[i], from which
 * topic_pre() derives the prefix state of levels 0..i-1), while chaining the words; *whole gets
 * the prefix state of the whole name. Returns the level count, or 0 for a wildcard or too many
 * levels. A short final block re-reads the last sixteen bytes of the name when it has that
 * many, else goes through a zeroed copy. */
MQWS_INLINE uint32_t split_name(const mqws_topic_index *x, const uint8_t *t, size_t len,
                                uint32_t *off, uint64_t *hw, uint64_t *whole) {
    const uint32_t maxl = x->cfg.max_levels;
    const __m128i vs = _mm_set1_epi8('/'), v8 = _mm_set1_epi8(0x08), vp = _mm_set1_epi8('+');
    uint64_t h = x->cfg.seed;
    uint32_t L = 0, wild = 0;
    off[0] = 0;
    hw[0] = h;
    for (size_t i = 0;; i += 16) {
        const size_t n = len - i; /* >= 1 */
        __m128i v;
        uint64_t w0, w1;
        uint32_t keep = 0xFFFFu;
        int shift = 0;
        if (n >= 16) {
            v = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
            memcpy(&w0, t + i, 8);
            memcpy(&w1, t + i + 8, 8);
        } else {
            if (len >= 16) {
                v = _mm_loadu_si128((const __m128i *)(const void *)(t + len - 16));
                shift = (int)(16 - n);
            } else {
                uint8_t tmp[16] = {0};
                memcpy(tmp, t + i, n);
                v = _mm_loadu_si128((const __m128i *)(const void *)tmp);
            }
            keep = (1u << n) - 1u;
            w0 = load_le(t, i, len);
            w1 = n > 8 ? load_le(t, i + 8, len) : 0;
        }
        uint32_t ms = ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vs)) >> shift) & keep;
        /* '+' (0x2B) and '#' (0x23) differ only in bit 3 */
        wild |=
            ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(v, v8), vp)) >> shift) & keep;
        const uint64_t h1 = chain_step(h, w0);
        if (L + 17 <= maxl) { /* room for 16 more separators: no check per separator */
            for (; ms; ms &= ms - 1) {
                const uint32_t b = CTZ64(ms);
                L++;
                off[L] = (uint32_t)i + b + 1;
                hw[L] = b < 8 ? h : h1;
            }
        }
        for (; ms; ms &= ms - 1) {
            const uint32_t b = CTZ64(ms);
            if (L + 2 > maxl)
                return 0;
            L++;
            off[L] = (uint32_t)i + b + 1;
            hw[L] = b < 8 ? h : h1;
        }
        if (n <= 16) {
            if (wild)
                return 0;
            L++;
            off[L] = (uint32_t)len + 1;
            *whole = n < 8 ? h ^ w0 : n == 8 ? h1 : n < 16 ? h1 ^ w1 : chain_step(h1, w1);
            return L;
        }
        h = chain_step(h1, w1);
    }
}
#else
#define ONES 0x0101010101010101ull
#define LOW7 0x7F7F7F7F7F7F7F7Full
/* High bit set in each byte of v that is zero (exact: no false positives). */
MQWS_INLINE uint64_t zero_bytes(uint64_t v) { return ~(((v & LOW7) + LOW7) | v | LOW7); }

/* Non-zero if any byte of w is '+' (0x2B) or '#' (0x23): the two differ only in bit 3, so
 * one zero-byte test on (w | 0x08..) ^ 0x2B.. finds both (a borrow can only make the test fire
 * when some byte really is zero, so the result is exact as a boolean). */
MQWS_INLINE uint64_t has_wild(uint64_t w) {
    uint64_t v = (w | (ONES * 0x08u)) ^ (ONES * 0x2Bu);
    return (v - ONES) & ~v & (ONES * 0x80u);
}

/* Split a topic name in one pass over its 8-byte words: find the separators of each word (SWAR)
 * and record the start of every level (off[L] = len + 1) and, for each level boundary, the
 * chain state before the word holding its separator (hw[i], from which topic_pre() derives the
 * prefix state of levels 0..i-1), while chaining the words; *whole gets the prefix state of the
 * whole name. Returns the level count, or 0 for a wildcard or too many levels. */
MQWS_INLINE uint32_t split_name(const mqws_topic_index *x, const uint8_t *t, size_t len,
                                uint32_t *off, uint64_t *hw, uint64_t *whole) {
    const uint32_t maxl = x->cfg.max_levels;
    uint64_t h = x->cfg.seed, wild = 0;
    uint32_t L = 0;
    off[0] = 0;
    hw[0] = h;
    size_t i = 0;
    for (;; i += 8) {
        uint64_t w;
        const int last = len - i <= 8;
        if (!last)
            memcpy(&w, t + i, 8);
        else
            w = load_le(t, i, len); /* the final 1..8 bytes, zero padded */
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) &&                                    \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (!last)
            w = __builtin_bswap64(w);
#endif
        wild |= has_wild(w);
        for (uint64_t zs = zero_bytes(w ^ (ONES * '/')); zs; zs &= zs - 1) {
            if (L + 2 > maxl)
                return 0;
            L++;
            off[L] = (uint32_t)i + (CTZ64(zs) >> 3) + 1;
            hw[L] = h;
        }
        if (last) {
            if (wild)
                return 0;
            L++;
            off[L] = (uint32_t)len + 1;
            *whole = len - i == 8 ? chain_step(h, w) : h ^ w;
            return L;
        }
        h = chain_step(h, w);
    }
}
#endif

/* Prefix state of levels 0..i-1 of a split topic (the same value prefix_state() gives for the
 * first off[i] - 1 bytes). */
MQWS_INLINE uint64_t topic_pre(const uint8_t *t, size_t len, const uint32_t *off,
                               const uint64_t *hw, uint64_t whole, uint32_t i, uint32_t L) {
    if (i == 0)
        return hw[0];
    if (i == L)
        return whole;
    const uint32_t p = off[i] - 1, b = p & 7u; /* p: the separator ending level i-1 */
    return hw[i] ^ (load_le(t, p - b, len) & ((1ull << (8 * b)) - 1));
}

/* Equality of short byte strings without a library call (topic levels are a few bytes). */
MQWS_INLINE int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n) {
#if defined(__SSE2__)
    if (n >= 16) { /* 16 bytes per compare, the last block overlapping */
        for (; n > 16; a += 16, b += 16, n -= 16)
            if (_mm_movemask_epi8(
                    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)a),
                                   _mm_loadu_si128((const __m128i *)(const void *)b))) != 0xFFFF)
                return 0;
        /* Step back so the last block ends at the end (n is now 1..16; n - 16 alone would
         * wrap as a size_t). */
        a = a + n - 16;
        b = b + n - 16;
        return _mm_movemask_epi8(
                   _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)a),
                                  _mm_loadu_si128((const __m128i *)(const void *)b))) == 0xFFFF;
    }
#endif
    if (n >= 8) {
        uint64_t x, y;
        for (; n > 8; a += 8, b += 8, n -= 8) {
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) { /* two overlapping 4-byte compares */
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Check a wildcard filter against the topic whose level starts are off[]. The entry has the
 * probed shape, so its level count and the positions of its '+' levels are known: each run of
 * consecutive literal levels is one contiguous range of the topic, compared at once and
 * followed by a separator (or the end); each "+" is stepped over. No scanning of the filter. */
MQWS_INLINE int verify_wild(const fent *f, const shape *sh, const uint8_t *t, const uint32_t *off) {
    const uint32_t nlev = sh->nlev;
    const uint8_t *fp = f->text, *fend = f->text + f->len;
    uint64_t pm = sh->plus;
    uint32_t lev = 0;
    for (;;) {
        const uint32_t nw = pm ? CTZ64(pm) : nlev; /* next '+' level, or the end */
        if (nw > lev) {                            /* literal levels lev..nw-1 */
            const size_t n = off[nw] - off[lev] - 1;
            if ((size_t)(fend - fp) < n || !bytes_eq(fp, t + off[lev], n))
                return 0;
            fp += n;
            if (nw == nlev && !sh->tail)
                return fp == fend;
            if (fp >= fend || *fp != '/')
                return 0;
            fp++;
        }
        if (nw == nlev)
            return 1; /* then "#": the shape says so */
        /* level nw is "+" (the shape says so), then a separator unless it is the last level */
        fp += 2;
        if (nw + 1 == nlev && !sh->tail)
            return 1;
        lev = nw + 1;
        pm &= pm - 1;
        if (lev == nlev)
            return 1; /* "+/#" */
    }
}

static void fill(mqws_topic_match_info *m, const sub_rec *r) {
    uint32_t op = r->opos_opts >> OPT_SHIFT;
    m->subscriber = r->owner;
    m->user = r->owner->user;
    m->subscription_id = r->id;
    m->max_qos = (uint8_t)(op & OPT_QOS);
    m->retain_as_published = (uint8_t)((op & OPT_RAP) != 0);
    m->retain_handling = (uint8_t)OPT_RH(op);
}

#define MAXKEYS 64u
#define MAXCAND 64u

/* One topic of a batch, after splitting. */
typedef struct mtopic {
    const uint8_t *t;
    size_t len;
    uint32_t L;
    uint64_t whole;
    uint32_t off[LEVEL_SLOTS];
    uint64_t hw[LEVEL_SLOTS];
} mtopic;

typedef struct kent { /* a key to probe */
    uint32_t key;
    uint16_t sid;
    uint8_t top;   /* topic of the batch */
    uint8_t exact; /* shape without wildcards: the text comparison alone decides */
} kent;

typedef struct cent { /* a candidate entry whose 32-bit key matched */
    uint32_t fh;
    uint16_t sid;
    uint8_t top;
    uint8_t exact;
} cent;

typedef struct mctx {
    mqws_topic_index *x;
    mtopic *tp;
    const mqws_topic_publish *pub;
    mqws_topic_match_fn fn;
    void *ctx;
    int reported;
    uint32_t nk, nc;
    kent keys[MAXKEYS];
    cent cand[MAXCAND];
} mctx;

/* Report one matching entry. Returns non-zero if the callback stopped. */
static int report(mctx *c, fent *f, uint32_t top) {
    mqws_topic_match_info m;
    m.filter.ptr = f->text;
    m.filter.len = f->len;
    m.group.ptr = f->text + f->len;
    m.group.len = f->glen;
    m.topic_index = top;
    const mqws_topic_subscriber *publisher = c->pub ? c->pub->publisher : NULL;
    if (!(f->flags & FENT_VEC)) { /* the common case: one subscriber, inline */
        const sub_rec *r = &f->u.one;
        if ((r->opos_opts >> OPT_SHIFT & OPT_NL) && r->owner == publisher) /* [MQTT-3.8.3-3] */
            return 0;
        fill(&m, r);
        m.shared = 0;
        c->reported++;
        return c->fn(c->ctx, &m);
    }
    if (f->glen) { /* one member of a shared group */
        const mtopic *tp = &c->tp[top];
        vec_hdr *v = f->u.vec;
        fill(&m, &VEC_ITEMS(v)[pick_member(c->x, v, c->pub, tp->t, tp->len)]);
        m.shared = 1;
        c->reported++;
        return c->fn(c->ctx, &m);
    }
    const uint32_t n = f->u.vec->n;
    const sub_rec *it = VEC_ITEMS(f->u.vec);
    m.shared = 0;
    for (uint32_t j = 0; j < n; j++) {
        if ((it[j].opos_opts >> OPT_SHIFT & OPT_NL) && it[j].owner == publisher)
            continue;
        fill(&m, &it[j]);
        c->reported++;
        if (c->fn(c->ctx, &m))
            return 1;
    }
    return 0;
}

/* Stage 3: verify the buffered candidates against their topics, prefetching the subscriber
 * records of those that match, then report them. Returns non-zero if the callback stopped. */
static int flush_cands(mctx *c) {
    mqws_topic_index *x = c->x;
    fent *ok[MAXCAND];
    uint8_t oktop[MAXCAND];
    uint32_t nok = 0;
    const uint32_t nc = c->nc;
    c->nc = 0;
    for (uint32_t k = 0; k < nc; k++) {
        const cent ce = c->cand[k];
        fent *f = F(x, ce.fh);
        const mtopic *tp = &c->tp[ce.top];
        if (ce.exact) { /* equal text: an exact filter of this shape (topics hold no wildcard) */
            if (f->len != tp->len || !bytes_eq(f->text, tp->t, tp->len))
                continue;
        } else if (f->shape != ce.sid || !verify_wild(f, &x->shapes[ce.sid], tp->t, tp->off)) {
            continue;
        }
        PREFETCH((f->flags & FENT_VEC) ? (const void *)VEC_ITEMS(f->u.vec)
                                       : (const void *)f->u.one.owner);
        oktop[nok] = ce.top;
        ok[nok++] = f;
    }
    for (uint32_t k = 0; k < nok; k++)
        if (report(c, ok[k], oktop[k]))
            return 1;
    return 0;
}

/* Stage 2: walk the slots of the buffered keys (their home slots were prefetched in stage 1),
 * buffering and prefetching the entries whose 32-bit hash matches. */
static int flush_keys(mctx *c) {
    const mqws_topic_index *x = c->x;
    const slot *tab = x->tab;
    const uint32_t cap = x->tab_cap;
    const uint32_t nk = c->nk;
    c->nk = 0;
    for (uint32_t b = 0; b < nk; b++) {
        const kent ke = c->keys[b];
        uint32_t i = home_of(ke.key, cap);
        while (tab[i].hash < ke.key)
            i++;
        for (; tab[i].hash == ke.key; i++) {
            if (c->nc == MAXCAND && flush_cands(c))
                return 1;
            const fent *f = F(x, tab[i].fh);
            PREFETCH(f);
            PREFETCH((const uint8_t *)f + 63); /* an entry may straddle two cache lines */
            c->cand[c->nc++] = (cent){tab[i].fh, ke.sid, ke.top, ke.exact};
        }
    }
    return flush_cands(c);
}

/* Match n split topics. Three stages so that independent cache misses overlap, within a topic
 * and across the topics of a batch: (1) the key of every shape that can apply to each topic,
 * prefetching its home slot; (2) walk those slots, prefetching candidate entries; (3) verify
 * and report. */
static int match_split(mqws_topic_index *x, mtopic *tp, uint32_t n, const mqws_topic_publish *pub,
                       mqws_topic_match_fn fn, void *ctx) {
    if (x->tab_count == 0)
        return 0;
    mctx c;
    c.x = x;
    c.tp = tp;
    c.pub = pub;
    c.fn = fn;
    c.ctx = ctx;
    c.reported = 0;
    c.nk = 0;
    c.nc = 0;
    const uint32_t cap = x->tab_cap, nactive = x->nactive;
    const uint16_t *active = x->active;
    for (uint32_t j = 0; j < n; j++) {
        const uint32_t L = tp[j].L;
        const uint32_t *off = tp[j].off;
        const uint8_t *t = tp[j].t;
        const int dollar = t[0] == '$';
        for (uint32_t a = 0; a < nactive; a++) {
            const uint16_t sid = active[a];
            const shape *sh = &x->shapes[sid];
            const uint32_t nlev = sh->nlev, w0 = sh->w0;
            if (sh->tail ? L < nlev : L != nlev)
                continue;
            if (dollar && sh->wild0) /* [MQTT-4.7.2-1] */
                continue;
            uint64_t k = mqws__topic_combine(
                topic_pre(t, tp[j].len, off, tp[j].hw, tp[j].whole, w0, L), w0 ? off[w0] - 1 : 0);
            if (w0 < nlev) {
                const uint64_t plus = sh->plus;
                for (uint32_t i = w0 + 1; i < nlev; i++)
                    if (!(plus >> i & 1u))
                        k = mqws__topic_combine(k, level_hash(t, off[i], off[i + 1] - off[i] - 1,
                                                              tp[j].len, x->cfg.seed));
            }
            const uint32_t key = key_final(k, sh->seed);
            if (c.nk == MAXKEYS && flush_keys(&c))
                return c.reported;
            PREFETCH(&x->tab[home_of(key, cap)]);
            c.keys[c.nk++] = (kent){key, sid, (uint8_t)j, (uint8_t)(w0 == nlev && !sh->tail)};
        }
    }
    flush_keys(&c);
    return c.reported;
}

/* The entries that matched one topic, for the match cache: `cap` < 0 when the result cannot be
 * cached (the topic or its entries do not fit in a line, or the callback stopped). */
typedef struct mcol {
    int n, cap;
    fent *e[(CLINE - CLINE_TEXT) / 8u];
} mcol;

/* Record entry f as matching (the cache path only uses complete lists). */
MQWS_INLINE void mcol_add(mcol *col, fent *f) {
    if (col->n < col->cap)
        col->e[col->n++] = f;
    else
        col->cap = -1;
}

/* ---- single-topic path: no staging structures, keys and candidates in small local arrays ---- */

#define ONE_KEYS 16u
#define ONE_CAND 16u

/* Report one matching entry: the common one-subscriber entry inline, lists and shared groups
 * through report(). Returns non-zero if the callback stopped. */
MQWS_INLINE int report_entry(mqws_topic_index *x, fent *f, const uint8_t *t, size_t len,
                             const mqws_topic_publish *pub, mqws_topic_match_fn fn, void *ctx,
                             int *reported) {
    if (!(f->flags & FENT_VEC)) { /* the common case: one subscriber, inline */
        const sub_rec *r = &f->u.one;
        const uint32_t op = r->opos_opts >> OPT_SHIFT;
        mqws_topic_subscriber *o = r->owner;
        if ((op & OPT_NL) && pub && o == pub->publisher) /* [MQTT-3.8.3-3] */
            return 0;
        mqws_topic_match_info m;
        m.subscriber = o;
        m.user = o->user;
        m.filter.ptr = f->text;
        m.filter.len = f->len;
        m.group.ptr = f->text + f->len;
        m.group.len = 0;
        m.subscription_id = r->id;
        m.max_qos = (uint8_t)(op & OPT_QOS);
        m.retain_as_published = (uint8_t)((op & OPT_RAP) != 0);
        m.retain_handling = (uint8_t)OPT_RH(op);
        m.shared = 0;
        m.topic_index = 0;
        ++*reported;
        return fn(ctx, &m);
    }
    mtopic tp; /* report() reads only t and len of it (shared groups) */
    tp.t = t;
    tp.len = len;
    mctx c;
    c.x = x;
    c.tp = &tp;
    c.pub = pub;
    c.fn = fn;
    c.ctx = ctx;
    c.reported = 0;
    const int stop = report(&c, f, 0);
    *reported += c.reported;
    return stop;
}

/* Verify the candidates of one topic (entries prefetched by the walk) and report the matches,
 * recording them in `col` for the cache. ck[k] is the index of the candidate's key in sids[].
 * Returns non-zero if the callback stopped. */
MQWS_INLINE int one_verify(mqws_topic_index *x, const uint32_t *fhs, const uint8_t *ck, uint32_t nc,
                           const uint16_t *sids, const uint8_t *t, size_t len, const uint32_t *off,
                           const mqws_topic_publish *pub, mqws_topic_match_fn fn, void *ctx,
                           int *reported, mcol *col) {
    for (uint32_t k = 0; k < nc; k++) {
        fent *f = F(x, fhs[k]);
        const uint32_t sid = sids[ck[k]];
        const shape *sh = &x->shapes[sid];
        if (sh->exact) { /* equal text: an exact filter of this shape (topics hold no wildcard) */
            if (f->len != len || !bytes_eq(f->text, t, len))
                continue;
        } else if (f->shape != sid || !verify_wild(f, sh, t, off)) {
            continue;
        }
        mcol_add(col, f);
        if (report_entry(x, f, t, len, pub, fn, ctx, reported)) {
            col->cap = -1;
            return 1;
        }
    }
    return 0;
}

/* Match one split topic: (1) the key of every shape that applies, prefetching its home slot,
 * (2) walk the slots, prefetching the candidate entries, (3) verify and report. Same stages as
 * match_split(), without its per-batch staging. */
static int match_one(mqws_topic_index *x, const uint8_t *t, size_t len, const uint32_t *off,
                     const uint64_t *hw, uint64_t whole, uint32_t L, const mqws_topic_publish *pub,
                     mqws_topic_match_fn fn, void *ctx, mcol *col) {
    if (x->tab_count == 0)
        return 0;
    const slot *tab = x->tab;
    const uint32_t cap = x->tab_cap, nactive = x->nactive;
    const uint16_t *active = x->active;
    const shape *shapes = x->shapes;
    const uint64_t seed = x->cfg.seed;
    const int dollar = t[0] == '$';
    int reported = 0;
    uint32_t keys[ONE_KEYS], homes[ONE_KEYS], fhs[ONE_CAND];
    uint16_t sids[ONE_KEYS];
    uint8_t ck[ONE_CAND];
    uint32_t pw0 = UINT32_MAX;
    uint64_t pk = 0;
    for (uint32_t a = 0; a < nactive;) {
        uint32_t nk = 0;
        for (; a < nactive && nk < ONE_KEYS; a++) {
            const uint16_t sid = active[a];
            const shape *sh = &shapes[sid];
            const uint32_t nlev = sh->nlev, w0 = sh->w0;
            if (sh->tail ? L < nlev : L != nlev)
                continue;
            if (dollar && sh->wild0) /* [MQTT-4.7.2-1] */
                continue;
            if (w0 != pw0) { /* shapes sharing a literal prefix share its state */
                pw0 = w0;
                pk = mqws__topic_combine(topic_pre(t, len, off, hw, whole, w0, L),
                                         w0 ? off[w0] - 1 : 0);
            }
            uint64_t k = pk;
            for (uint64_t lm = sh->lit; lm; lm &= lm - 1) {
                const uint32_t i = CTZ64(lm);
                k = mqws__topic_combine(k,
                                        level_hash(t, off[i], off[i + 1] - off[i] - 1, len, seed));
            }
            const uint32_t key = key_final(k, sh->seed), home = home_of(key, cap);
            PREFETCH(&tab[home]);
            sids[nk] = sid;
            homes[nk] = home;
            keys[nk++] = key;
        }
        /* walk the keys' slots; a full candidate buffer is verified and the walk resumes */
        uint32_t b = 0, i = 0;
        int resume = 0;
        for (;;) {
            uint32_t nc = 0;
            for (; b < nk; b++) {
                const uint32_t key = keys[b];
                if (!resume) {
                    i = homes[b];
                    while (tab[i].hash < key)
                        i++;
                }
                resume = 0;
                for (; tab[i].hash == key; i++) {
                    if (nc == ONE_CAND) {
                        resume = 1;
                        goto full;
                    }
                    const fent *f = F(x, tab[i].fh);
                    PREFETCH(f);
                    PREFETCH((const uint8_t *)f + 63); /* an entry may straddle two cache lines */
                    ck[nc] = (uint8_t)b;
                    fhs[nc++] = tab[i].fh;
                }
            }
        full:
            if (one_verify(x, fhs, ck, nc, sids, t, len, off, pub, fn, ctx, &reported, col))
                return reported;
            if (!resume)
                break;
        }
    }
    return reported;
}

/* Report the entries of a cache line (a hit); returns the number of reports. */
static int cache_report(mqws_topic_index *x, const cline *c, const uint8_t *t, size_t len,
                        const mqws_topic_publish *pub, mqws_topic_match_fn fn, void *ctx) {
    int reported = 0;
    const uint32_t n = c->n;
    for (uint32_t k = 0; k < n; k++)
        if (report_entry(x, cline_get(c, k), t, len, pub, fn, ctx, &reported))
            break;
    return reported;
}

/* End of a window of lookups: if fewer than 1 in CBYPASS_RATE hit, the cache costs more than it
 * saves (a miss adds ~100 instructions, a hit saves ~800), so skip it for a while. */
static void cache_judge(mqws_topic_index *x) {
    if ((uint64_t)x->cwin_hits * CBYPASS_RATE < x->cwin)
        x->cbypass = x->cwin * CBYPASS_LEN;
    x->cwin = 0;
    x->cwin_hits = 0;
}

/* Look topic t up in the cache: its line on a hit. On a miss, NULL, with its set and tag in *si
 * and *tag for cache_put() and in *room how many entries the line could take, or -1 if the
 * topic is not to be stored. Admission: a missed topic is stored if its set has a stale (or
 * empty) line, or if it is one of the set's ghosts (it missed there recently too); otherwise it
 * only becomes a ghost, so one-off topics rarely write a line. Three ghosts, so that a few hot
 * topics of one set that are not cached yet do not keep replacing each other's ghost; and one
 * miss in CADMIT that would only become a ghost is stored anyway, so that any number of
 * competing names makes progress. Counts the
 * hit or miss. The cache must be on (x->cache_slots). */
MQWS_INLINE const cline *cache_find(mqws_topic_index *x, const uint8_t *t, size_t len, uint32_t *si,
                                    uint64_t *tag, int *room) {
    /* Only topics that passed split_name() are ever stored, so a hit is a valid name. */
    const uint64_t h = cache_hash(t, len, x->cache_seed);
    const uint32_t s = (uint32_t)h & x->cache_mask;
    const uint64_t g = x->gen, tg = g << 32 | (h >> 32);
    uint64_t *st = &x->ctag[(size_t)s * CSET];
    for (uint32_t w = 0; w < CWAYS; w++) {
        const cline *c = &x->cache[(size_t)s * CWAYS + w];
        if (st[w] == tg && c->len == len && bytes_eq(c->text, t, len)) {
            x->cache_hits++;
            x->cwin_hits++;
            x->cwin++;
            return c;
        }
    }
    x->cache_misses++;
    if (++x->cwin >= (x->cache_slots > CWIN_MIN ? x->cache_slots : CWIN_MIN))
        cache_judge(x);
    *si = s;
    *tag = tg;
    /* Lines are filled in order after an invalidation, so the stale ones are always the last
     * ones of the set: the last line tells whether any is stale. */
    if ((st[CWAYS - 1] >> 32) == g && st[CGHOST] != tg && st[CGHOST + 1] != tg &&
        st[CGHOST + 2] != tg) {
        const uint64_t nx = st[CNEXT] + (1u << 16), k = (nx >> 8 & 0xFFu) % CGHOSTS;
        st[CGHOST + k] = tg;
        st[CNEXT] = (nx & ~(uint64_t)0xFF00u) | (k + 1u) << 8;
        /* Every CADMIT-th such miss of a set is stored anyway: more hot names in one set than
         * there are ghosts would otherwise replace each other's ghost forever. */
        *room = (nx >> 16 & (CADMIT - 1u)) ? -1 : cline_room(len);
    } else {
        *room = cline_room(len);
    }
    return NULL;
}

/* Store the entries that matched topic t (tag `tag`) in set si, which cache_find() admitted:
 * into a stale line if the set has one, else into the next victim. */
static void cache_put(mqws_topic_index *x, uint32_t si, uint64_t tag, const uint8_t *t, size_t len,
                      const mcol *col) {
    uint64_t *st = &x->ctag[(size_t)si * CSET];
    uint32_t w = 0;
    while (w < CWAYS && (st[w] >> 32) == x->gen)
        w++;
    if (w == CWAYS) { /* every line is current: replace in turn */
        w = (uint32_t)((st[CNEXT] & 0xFFu) % CWAYS);
        st[CNEXT] = (st[CNEXT] & ~(uint64_t)0xFFu) | (w + 1u);
    }
    cline *c = &x->cache[(size_t)si * CWAYS + w];
    st[w] = tag;
    c->len = (uint16_t)len;
    c->n = (uint8_t)col->n;
    memcpy(c->text, t, len);
    for (int k = 0; k < col->n; k++)
        memcpy((uint8_t *)c + CLINE - 8u * ((uint32_t)k + 1u), &col->e[k], sizeof col->e[k]);
}

int mqws_topic_match(mqws_topic_index *x, const uint8_t *t, size_t len,
                     const mqws_topic_publish *pub, mqws_topic_match_fn fn, void *ctx) {
    mtopic tp;
    if (len == 0 || len > x->cfg.max_len)
        return MQWS_EINVAL;
    mcol col;
    col.n = 0;
    col.cap = -1;
    uint32_t si = 0;
    uint64_t tag = 0;
    if (x->cache_slots) {
        if (x->cbypass) {
            x->cbypass--;
            x->cache_bypassed++;
        } else {
            const cline *c = cache_find(x, t, len, &si, &tag, &col.cap);
            if (c)
                return cache_report(x, c, t, len, pub, fn, ctx);
        }
    }
    tp.t = t;
    tp.len = len;
    tp.L = split_name(x, t, len, tp.off, tp.hw, &tp.whole);
    if (tp.L == 0)
        return MQWS_EINVAL;
    const uint32_t gen = x->gen;
    const int r = match_one(x, t, len, tp.off, tp.hw, tp.whole, tp.L, pub, fn, ctx, &col);
    /* A stopped match has not seen every entry; a callback that changed the index (which it
     * must not do) has made the result stale. */
    if (col.cap >= 0 && x->gen == gen)
        cache_put(x, si, tag, t, len, &col);
    return r;
}

int mqws_topic_match_batch(mqws_topic_index *x, const mqws_view *topics, size_t n,
                           const mqws_topic_publish *pub, mqws_topic_match_fn fn, void *ctx) {
    mtopic tp[MQWS_TOPIC_BATCH_MAX];
    if (n > MQWS_TOPIC_BATCH_MAX)
        return MQWS_EINVAL;
    for (size_t j = 0; j < n; j++) { /* all valid before any report */
        const size_t len = topics[j].len;
        if (len == 0 || len > x->cfg.max_len)
            return MQWS_EINVAL;
        tp[j].t = topics[j].ptr;
        tp[j].len = len;
        tp[j].L = split_name(x, topics[j].ptr, len, tp[j].off, tp[j].hw, &tp[j].whole);
        if (tp[j].L == 0)
            return MQWS_EINVAL;
    }
    return match_split(x, tp, (uint32_t)n, pub, fn, ctx);
}

/* ---- aggregation ---------------------------------------------------------------------------- */

typedef struct agg {
    mqws_topic_index *x;
    mqws_topic_delivery *d;
    size_t dcap, nd;
    mqws_topic_sub_id *ids;
    size_t icap, ni;
} agg;

static int agg_cb(void *ctx, const mqws_topic_match_info *m) {
    agg *g = ctx;
    mqws_topic_subscriber *s = m->subscriber;
    size_t slot_i;
    int fresh = 1;
    if (!m->shared && s->mark_epoch == g->x->epoch) {
        slot_i = s->mark_slot;
        fresh = 0;
    } else {
        slot_i = g->nd < g->dcap ? g->nd : NO_POS;
        g->nd++;
        if (!m->shared) {
            s->mark_epoch = g->x->epoch;
            s->mark_slot = (uint32_t)slot_i;
        }
    }
    mqws_topic_delivery *d = slot_i != NO_POS ? &g->d[slot_i] : NULL;
    if (d && fresh) {
        d->subscriber = s;
        d->user = m->user;
        d->max_qos = m->max_qos;
        d->retain_as_published = m->retain_as_published;
        d->shared = m->shared;
        d->reserved = 0;
        d->n_ids = 0;
        d->first_id = MQWS_TOPIC_NO_ID;
    } else if (d) {
        if (m->max_qos > d->max_qos) /* [MQTT-3.3.4-2] */
            d->max_qos = m->max_qos;
        if (m->retain_as_published)
            d->retain_as_published = 1;
    }
    if (m->subscription_id) { /* every identifier of the overlapping subscriptions [MQTT-3.3.4-3] */
        if (d && g->ni < g->icap) {
            g->ids[g->ni].id = m->subscription_id;
            g->ids[g->ni].next = d->first_id;
            d->first_id = (uint32_t)g->ni;
            d->n_ids++;
        }
        g->ni++;
    }
    return 0;
}

int mqws_topic_match_aggregate(mqws_topic_index *x, const uint8_t *topic, size_t len,
                               const mqws_topic_publish *pub, mqws_topic_delivery *deliveries,
                               size_t max_deliveries, size_t *n_deliveries, mqws_topic_sub_id *ids,
                               size_t max_ids, size_t *n_ids) {
    if (++x->epoch == 0) { /* wrapped: forget every old mark once per 2^32 calls */
        for (mqws_topic_subscriber *s = x->subs_head; s; s = s->next)
            s->mark_epoch = 0;
        x->epoch = 1;
    }
    if (max_deliveries >= NO_POS)
        max_deliveries = NO_POS - 1;
    agg g = {x, deliveries, max_deliveries, 0, ids, max_ids, 0};
    int rc = mqws_topic_match(x, topic, len, pub, agg_cb, &g);
    if (rc < 0)
        return rc;
    *n_deliveries = g.nd;
    *n_ids = g.ni;
    return (g.nd > max_deliveries || g.ni > max_ids) ? MQWS_ENOSPC : MQWS_OK;
}

int mqws_topic_index_stats_get(const mqws_topic_index *x, mqws_topic_index_stats *st) {
    if (!st || st->size < sizeof(mqws_topic_index_stats))
        return MQWS_EINVAL;
    st->subscriptions = x->nsubscriptions;
    st->filters = x->tab_count;
    st->shared_groups = x->ngroups;
    st->subscribers = x->nsubscribers;
    st->shapes = x->nactive;
    st->bytes = x->bytes;
    return MQWS_OK;
}

int mqws_topic_index_cache_stats_get(const mqws_topic_index *x, mqws_topic_cache_stats *st) {
    if (!st || st->size < sizeof(mqws_topic_cache_stats))
        return MQWS_EINVAL;
    st->slots = x->cache_slots;
    st->bytes = x->cache_size;
    st->hits = x->cache_hits;
    st->misses = x->cache_misses;
    st->bypassed = x->cache_bypassed;
    return MQWS_OK;
}
