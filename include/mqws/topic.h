/* mqws topic (L1): topic name / filter validation, the subscription index and the retained
 * message store (MQTT 5 §4.7, §4.8; MQTT 3.1.1 §4.7).
 *
 * Three independent pieces:
 *  - validation and matching helpers (stateless, never allocate);
 *  - mqws_topic_index: subscriptions (plain and $share) keyed by subscriber handles, matched
 *    against topic names with a callback per match and no allocation while matching;
 *  - mqws_topic_store: retained messages keyed by topic name, iterated by filter, handed out
 *    as reference-counted handles.
 *
 * Thread safety: an index or a store is a single-threaded object. Every call on one index (and
 * on the subscribers it created), or on one store, must be serialised by the caller; matching
 * is NOT read-only (it advances shared-subscription state and aggregation marks, and fills the
 * match cache). Distinct objects are fully independent, so a gateway scales across cores by
 * giving each worker thread its own index (sessions pinned to threads, or one replica per
 * thread fed the same subscribe/unsubscribe stream). Retained message handles (mqws_topic_msg)
 * are immutable; their reference count is not atomic, so a handle shared between threads needs
 * the caller's lock.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_TOPIC_H
#define MQWS_TOPIC_H

#include "mqws/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Validation. */

/* MQTT strings are at most 65535 bytes [MQTT-1.5.4]; limits above this are clamped to it. */
#define MQWS_TOPIC_MAX_LEN 65535u
/* The index hashes each level of a topic separately and keeps them on the stack: a topic or
 * filter may have at most this many levels in an index (configurable lower). */
#define MQWS_TOPIC_MAX_LEVELS 64u

typedef struct mqws_topic_limits {
    size_t size;         /* sizeof(mqws_topic_limits) */
    uint32_t max_len;    /* bytes, 1..65535 (0 = 65535) */
    uint32_t max_levels; /* levels ("a/b" has 2), 0 = unlimited for validation */
} mqws_topic_limits;
#define MQWS_TOPIC_LIMITS_INIT                                                                     \
    { sizeof(mqws_topic_limits), MQWS_TOPIC_MAX_LEN, 0u }

/** Validate a topic name (PUBLISH, will topic, retained key): MQTT UTF-8 [MQTT-1.5.4-1,2],
 * at least one byte [MQTT-4.7.3-1], no '+' or '#' [MQTT-4.7.0-1] [MQTT-3.3.2-2], within
 * `lim` (NULL = 65535 bytes, any level count).
 * Returns MQWS_OK, MQWS_EUTF8, MQWS_EPROTO (syntax) or MQWS_ETOOBIG (limits); when
 * `statement` is non-NULL it receives the broken spec statement ("MQTT-4.7.3-1") or a short
 * reason, a static string. */
MQWS_API int mqws_topic_validate_name(const uint8_t *s, size_t len, const mqws_topic_limits *lim,
                                      const char **statement);

/** Validate a topic filter (SUBSCRIBE / UNSUBSCRIBE): as for names, but '#' only as the last
 * level [MQTT-4.7.1-1] and '+' only as a whole level [MQTT-4.7.1-2]. A `$share/...` filter is
 * checked as a shared subscription [MQTT-4.8.2-1,2] (see mqws_topic_parse_share()).
 * Same returns as mqws_topic_validate_name(). */
MQWS_API int mqws_topic_validate_filter(const uint8_t *s, size_t len, const mqws_topic_limits *lim,
                                        const char **statement);

/** Split a shared subscription filter "$share/<ShareName>/<filter>" (MQTT 5 §4.8.2).
 * Returns 1 and fills `group` and `filter` (views into `s`) for a well-formed shared filter,
 * 0 (views untouched) if `s` does not start with "$share/", or MQWS_EPROTO if it does but the
 * ShareName is empty or holds '+' or '#' [MQTT-4.8.2-1] or no '/' and filter follow it
 * [MQTT-4.8.2-2]. The inner filter's own syntax is not checked here. Never allocates. */
MQWS_API int mqws_topic_parse_share(const uint8_t *s, size_t len, mqws_view *group,
                                    mqws_view *filter);

/** 1 if topic name `topic` matches filter `filter`, else 0, by the rules of §4.7 including
 * [MQTT-4.7.2-1] (a filter starting with '+' or '#' does not match a name starting with '$').
 * Both are assumed valid (not rechecked). A plain linear-time reference matcher. */
MQWS_API int mqws_topic_matches(const uint8_t *filter, size_t filter_len, const uint8_t *topic,
                                size_t topic_len);

/* ------------------------------------------------------------------------------------------ */
/* Subscription index. */

typedef struct mqws_topic_index mqws_topic_index;
/* A subscriber (one MQTT session) as the index knows it. Created by the index, owned by it;
 * carries one host pointer. This handle is the key of every subscription. */
typedef struct mqws_topic_subscriber mqws_topic_subscriber;

/* How one member of a shared subscription group is picked for each message (§4.8.2). */
enum mqws_topic_share_strategy {
    MQWS_TOPIC_SHARE_ROUND_ROBIN = 0, /* members in turn */
    MQWS_TOPIC_SHARE_RANDOM = 1,      /* index-local PRNG seeded by config.seed */
    MQWS_TOPIC_SHARE_HASH_CLIENT = 2, /* hash of the publisher's client id: per-publisher order */
    MQWS_TOPIC_SHARE_HASH_TOPIC = 3,  /* hash of the topic name: per-topic order */
    MQWS_TOPIC_SHARE_STICKY = 4       /* the same member until it leaves, then the next one */
};

typedef struct mqws_topic_index_config {
    size_t size;                     /* sizeof(mqws_topic_index_config) */
    const mqws_allocator *allocator; /* NULL = mqws_allocator_default(); must outlive the index */
    uint32_t max_len;                /* filter/topic bytes, default and maximum 65535 */
    uint32_t max_levels;             /* default 32, at most MQWS_TOPIC_MAX_LEVELS */
    uint32_t max_shapes;             /* distinct filter shapes (docs), default 4096, max 65535 */
    uint32_t max_subscriptions;      /* per subscriber, default and maximum 16777215 */
    uint32_t share_strategy;         /* enum mqws_topic_share_strategy */
    /* Match cache: at most this many recently matched topics (rounded down to a power of two,
     * 128 bytes each) remember their matching filters, so that a repeated topic skips the
     * index lookup. 0 = off; default 4096 (576 KiB with its tags). The cache grows with the number
     * of filters (one slot per 64 filters, at least 64 slots) on subscribe, is counted in
     * stats.bytes, and is exact: a hit compares the whole topic, and every added or removed
     * filter invalidates it; while fewer than 1 lookup in 8 hits, most calls skip it
     * (docs/design/topic.md). Was `reserved` (0) before 0.1.0. */
    uint32_t match_cache;
    uint64_t seed; /* hash and PRNG seed; give a random value in servers */
} mqws_topic_index_config;
#define MQWS_TOPIC_INDEX_CONFIG_INIT                                                               \
    {                                                                                              \
        sizeof(mqws_topic_index_config), NULL, 65535u, 32u, 4096u, 16777215u, 0u, 4096u,           \
            0x6d717773746f7031ull                                                                  \
    }

/* MQTT 5 subscription options (§3.8.3.1) and Subscription Identifier (§3.8.2.1.2). */
typedef struct mqws_topic_sub_options {
    uint8_t max_qos;             /* 0..2 */
    uint8_t no_local;            /* 0/1; not allowed on shared subscriptions [MQTT-3.8.3-4] */
    uint8_t retain_as_published; /* 0/1 */
    uint8_t retain_handling;     /* 0..2 */
    uint32_t subscription_id;    /* 0 = none, else 1..268435455 */
} mqws_topic_sub_options;

/** Create an index. `cfg` may be NULL (defaults). Returns NULL on MQWS_ENOMEM or an invalid
 * configuration (wrong size, strategy out of range, max_levels > MQWS_TOPIC_MAX_LEVELS). */
MQWS_API mqws_topic_index *mqws_topic_index_new(const mqws_topic_index_config *cfg);
/** Destroy an index with all its subscribers and subscriptions. NULL is a no-op. */
MQWS_API void mqws_topic_index_free(mqws_topic_index *idx);

/** Create a subscriber carrying `user` (reported back on every match). Returns NULL on
 * allocation failure. The index owns the subscriber; release it with
 * mqws_topic_subscriber_free() or mqws_topic_index_free(). */
MQWS_API mqws_topic_subscriber *mqws_topic_subscriber_new(mqws_topic_index *idx, void *user);
/** Remove all subscriptions of `sub` and free it. NULL is a no-op. */
MQWS_API void mqws_topic_subscriber_free(mqws_topic_index *idx, mqws_topic_subscriber *sub);
/** The host pointer given to mqws_topic_subscriber_new(). */
MQWS_API void *mqws_topic_subscriber_user(const mqws_topic_subscriber *sub);
/** Number of subscriptions `sub` holds (plain and shared). */
MQWS_API uint32_t mqws_topic_subscriber_count(const mqws_topic_subscriber *sub);

/** Subscribe `sub` to `filter` (a filter or "$share/<group>/<filter>") with `opt`.
 * The filter is validated (mqws_topic_validate_filter with the index limits) and copied.
 * If `sub` already holds the same filter (same group), its options are replaced and the
 * subscription is kept [MQTT-3.8.4-3].
 * Returns 1 if a subscription was added, 0 if one was replaced; MQWS_EPROTO / MQWS_EUTF8 /
 * MQWS_ETOOBIG for a bad filter, MQWS_EPROTO for no_local on a shared subscription
 * [MQTT-3.8.3-4], MQWS_EINVAL for options out of range, MQWS_ELIMIT when max_shapes or
 * max_subscriptions is reached, MQWS_ENOMEM. On error the index is unchanged.
 * Cost: O(filter length + min(subscribers of this filter, subscriptions of sub)). */
MQWS_API int mqws_topic_subscribe(mqws_topic_index *idx, mqws_topic_subscriber *sub,
                                  const uint8_t *filter, size_t len,
                                  const mqws_topic_sub_options *opt);
/** Remove the subscription of `sub` to `filter` (plain or $share). Returns MQWS_OK,
 * MQWS_ENOTFOUND, or a validation error. Never allocates; never fails for memory. */
MQWS_API int mqws_topic_unsubscribe(mqws_topic_index *idx, mqws_topic_subscriber *sub,
                                    const uint8_t *filter, size_t len);
/** Remove every subscription of `sub` in O(its subscriptions); returns how many. */
MQWS_API uint32_t mqws_topic_unsubscribe_all(mqws_topic_index *idx, mqws_topic_subscriber *sub);

/* The message being routed. All fields optional (zero them). */
typedef struct mqws_topic_publish {
    const mqws_topic_subscriber *publisher; /* the sender's subscriber handle, for no-local */
    mqws_view client_id; /* the sender's client id, for MQWS_TOPIC_SHARE_HASH_CLIENT */
} mqws_topic_publish;

/* One matching subscription, as reported to the match callback. Views point into the index
 * and are valid only during the callback. */
typedef struct mqws_topic_match_info {
    mqws_topic_subscriber *subscriber;
    void *user;       /* mqws_topic_subscriber_user(subscriber) */
    mqws_view filter; /* the subscription's filter (without "$share/<group>/") */
    mqws_view group;  /* ShareName for a shared subscription, else empty */
    uint32_t subscription_id;
    uint8_t max_qos;
    uint8_t retain_as_published;
    uint8_t retain_handling;
    uint8_t shared;       /* 1 if this is the member picked from a shared subscription group */
    uint32_t topic_index; /* which topic of mqws_topic_match_batch() matched; 0 otherwise */
} mqws_topic_match_info;

/* Return 0 to continue, non-zero to stop the match early. The callback must not modify the
 * index. */
typedef int (*mqws_topic_match_fn)(void *ctx, const mqws_topic_match_info *m);

/** Report every subscription matching topic name `topic`: each plain subscription whose filter
 * matches (a subscriber with overlapping subscriptions is reported once per subscription, see
 * mqws_topic_match_aggregate()), minus no_local ones of `pub->publisher` [MQTT-3.8.3-3], and
 * for each matching shared group exactly one member picked by the index's strategy.
 * `pub` may be NULL. The topic must be a valid name (validate it first); a topic that is empty,
 * has a wildcard or more levels than the index allows gives MQWS_EINVAL.
 * Never allocates. Returns the number of reports made (>= 0) or MQWS_EINVAL.
 * Cost: O(topic length + W + matches), W = number of distinct filter shapes that can apply to
 * the topic's level count (docs/design/topic.md); independent of non-matching subscriptions.
 * With the match cache on, a topic matched before (and no filter added or removed since) costs
 * O(topic length + matching entries): the cache keeps which filter entries matched, while
 * subscribers, options, no-local and the shared-group pick are read at every call. */
MQWS_API int mqws_topic_match(mqws_topic_index *idx, const uint8_t *topic, size_t len,
                              const mqws_topic_publish *pub, mqws_topic_match_fn fn, void *ctx);

/* The most topics one mqws_topic_match_batch() call takes. */
#define MQWS_TOPIC_BATCH_MAX 16u

/** mqws_topic_match() for up to MQWS_TOPIC_BATCH_MAX topics at once (e.g. every PUBLISH read in
 * one event-loop pass), reporting m->topic_index with each match. The lookups of all topics are
 * interleaved so that their cache misses overlap: with 1 M subscriptions about 3x the
 * throughput of one call per topic on cache-cold topics (bench/results/topic.md). Every topic is
 * checked before anything is reported: one invalid topic gives MQWS_EINVAL and no reports. Uses
 * about 15 KiB of stack. Never allocates. Returns the total number of reports or MQWS_EINVAL.
 * Does not use the match cache (config.match_cache): for cache-cold topics; repeated (hot)
 * topics are cheaper through mqws_topic_match(). */
MQWS_API int mqws_topic_match_batch(mqws_topic_index *idx, const mqws_view *topics, size_t n,
                                    const mqws_topic_publish *pub, mqws_topic_match_fn fn,
                                    void *ctx);

/* One delivery after aggregation: one per subscriber for plain subscriptions (highest QoS of
 * its matching subscriptions [MQTT-3.3.4-2], all their subscription identifiers
 * [MQTT-3.3.4-3]) and one per picked shared-group member. */
typedef struct mqws_topic_delivery {
    mqws_topic_subscriber *subscriber;
    void *user;
    uint8_t max_qos;             /* highest of the matching subscriptions */
    uint8_t retain_as_published; /* 1 if any matching subscription has it */
    uint8_t shared;
    uint8_t reserved;
    uint32_t n_ids;    /* subscription identifiers of this delivery */
    uint32_t first_id; /* index into the ids array, MQWS_TOPIC_NO_ID if none */
} mqws_topic_delivery;

/* A subscription identifier of a delivery; the ids of one delivery form a list through
 * `next` starting at delivery.first_id and ending with MQWS_TOPIC_NO_ID. */
typedef struct mqws_topic_sub_id {
    uint32_t id;
    uint32_t next;
} mqws_topic_sub_id;
#define MQWS_TOPIC_NO_ID 0xFFFFFFFFu

/** Match `topic` and aggregate per subscriber into caller arrays (no allocation).
 * On success returns MQWS_OK with `*n_deliveries` / `*n_ids` set. If an array is too small,
 * returns MQWS_ENOSPC with both counts set to the sizes needed (contents unspecified): retry
 * with larger arrays. Shared-group picks are made (and round-robin state advanced) either way.
 * Other errors as mqws_topic_match(). */
MQWS_API int mqws_topic_match_aggregate(mqws_topic_index *idx, const uint8_t *topic, size_t len,
                                        const mqws_topic_publish *pub,
                                        mqws_topic_delivery *deliveries, size_t max_deliveries,
                                        size_t *n_deliveries, mqws_topic_sub_id *ids,
                                        size_t max_ids, size_t *n_ids);

/* Counters and memory of an index. */
typedef struct mqws_topic_index_stats {
    size_t size;            /* set to sizeof(mqws_topic_index_stats) before the call */
    uint64_t subscriptions; /* plain subscriptions plus shared-group memberships */
    uint64_t filters;       /* distinct (filter, group) entries */
    uint64_t shared_groups; /* entries with a ShareName */
    uint64_t subscribers;
    uint64_t shapes; /* distinct filter shapes in use */
    uint64_t bytes;  /* bytes currently obtained from the allocator by this index */
} mqws_topic_index_stats;

/** Fill `st` (st->size must be set). Returns MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_topic_index_stats_get(const mqws_topic_index *idx, mqws_topic_index_stats *st);

/* The match cache of an index (config.match_cache). */
typedef struct mqws_topic_cache_stats {
    size_t size;       /* set to sizeof(mqws_topic_cache_stats) before the call */
    uint64_t slots;    /* topics the cache can hold now (0: off, or no filter subscribed yet) */
    uint64_t bytes;    /* its memory, included in mqws_topic_index_stats.bytes */
    uint64_t hits;     /* mqws_topic_match() calls (and aggregate calls) answered from the cache */
    uint64_t misses;   /* calls that looked the cache up and went through the index */
    uint64_t bypassed; /* calls that skipped the cache because its hit rate was low */
} mqws_topic_cache_stats;

/** Fill `st` (st->size must be set). Returns MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_topic_index_cache_stats_get(const mqws_topic_index *idx,
                                              mqws_topic_cache_stats *st);

/* ------------------------------------------------------------------------------------------ */
/* Retained message store. */

typedef struct mqws_topic_store mqws_topic_store;
/* An immutable retained message with a reference count. A handle obtained from the store is
 * valid during the callback that reports it; mqws_topic_msg_ref() keeps it valid (even after
 * it is replaced, deleted, or the store is freed) until the matching mqws_topic_msg_unref(). */
typedef struct mqws_topic_msg mqws_topic_msg;

typedef struct mqws_topic_store_config {
    size_t size;                     /* sizeof(mqws_topic_store_config) */
    const mqws_allocator *allocator; /* NULL = default; must outlive every message handle */
    uint64_t max_messages;           /* 0 = unlimited */
    uint64_t max_bytes;              /* topic + payload + properties bytes, 0 = unlimited */
    uint32_t max_levels;             /* default 32, at most MQWS_TOPIC_MAX_LEVELS */
    uint32_t reserved;               /* 0 */
} mqws_topic_store_config;
#define MQWS_TOPIC_STORE_CONFIG_INIT                                                               \
    { sizeof(mqws_topic_store_config), NULL, 0u, 0u, 32u, 0u }

/* What to retain. `properties` are opaque bytes kept with the message (e.g. the encoded MQTT 5
 * properties); `user` is an opaque host value (e.g. an expiry time). */
typedef struct mqws_topic_retain {
    mqws_view payload;
    mqws_view properties;
    uint8_t qos;
    uint8_t reserved[7];
    uint64_t user;
} mqws_topic_retain;

/* Read-only view of a message; pointers valid while the caller holds a reference. */
typedef struct mqws_topic_msg_info {
    mqws_view topic;
    mqws_view payload;
    mqws_view properties;
    uint8_t qos;
    uint8_t reserved[7];
    uint64_t user;
} mqws_topic_msg_info;

/** Create a store (`cfg` may be NULL). NULL on ENOMEM or invalid configuration. */
MQWS_API mqws_topic_store *mqws_topic_store_new(const mqws_topic_store_config *cfg);
/** Free a store; messages still referenced by the caller stay valid until unreferenced. */
MQWS_API void mqws_topic_store_free(mqws_topic_store *st);

/** Retain `msg` under `topic` (a valid topic name, copied), replacing any message there; an
 * empty payload deletes the retained message instead [MQTT-3.3.1-6] [MQTT-3.3.1-7].
 * Payload and properties are copied through the allocator.
 * Returns 1 if stored, 0 if deleted (or nothing to delete), MQWS_EPROTO/MQWS_EUTF8/
 * MQWS_ETOOBIG for a bad topic, MQWS_ELIMIT if max_messages or max_bytes would be exceeded
 * (the old message is kept), MQWS_ENOMEM (store unchanged). */
MQWS_API int mqws_topic_store_set(mqws_topic_store *st, const uint8_t *topic, size_t len,
                                  const mqws_topic_retain *msg);
/** The message retained under exact topic `topic`, or NULL. The handle is borrowed: valid until
 * the store is next modified unless referenced with mqws_topic_msg_ref(). O(levels). */
MQWS_API const mqws_topic_msg *mqws_topic_store_get(const mqws_topic_store *st,
                                                    const uint8_t *topic, size_t len);

/* Return 0 to continue, non-zero to stop. The callback must not modify the store; reference
 * the messages it wants to deliver later. */
typedef int (*mqws_topic_store_fn)(void *ctx, const mqws_topic_msg *msg);

/** Report every retained message whose topic matches `filter` (a plain filter: MQTT 5 §4.8.2
 * sends no retained messages for a shared subscription, so "$share/..." gives MQWS_EINVAL).
 * [MQTT-4.7.2-1] applies. A filter without wildcards costs O(levels);
 * wildcards walk only the matching branches of the topic tree. Never allocates.
 * Returns the number reported or a validation error. */
MQWS_API int mqws_topic_store_match(const mqws_topic_store *st, const uint8_t *filter, size_t len,
                                    mqws_topic_store_fn fn, void *ctx);

/** Take a reference: the handle stays valid until the matching unref. */
MQWS_API void mqws_topic_msg_ref(const mqws_topic_msg *msg);
/** Drop a reference; the last one frees the message. NULL is a no-op. */
MQWS_API void mqws_topic_msg_unref(const mqws_topic_msg *msg);
/** Read a message's fields. */
MQWS_API void mqws_topic_msg_get(const mqws_topic_msg *msg, mqws_topic_msg_info *info);

typedef struct mqws_topic_store_stats {
    size_t size;       /* set before the call */
    uint64_t messages; /* retained messages */
    uint64_t bytes;    /* topic + payload + properties bytes of those (the max_bytes measure) */
    uint64_t memory;   /* bytes currently obtained from the allocator for the store and the
                          messages it holds */
} mqws_topic_store_stats;

/** Fill `out` (out->size must be set). Returns MQWS_OK or MQWS_EINVAL. */
MQWS_API int mqws_topic_store_stats_get(const mqws_topic_store *st, mqws_topic_store_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* MQWS_TOPIC_H */
