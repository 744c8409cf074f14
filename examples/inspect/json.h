/* A small, strict, bounded JSON reader for mqws-inspect --encode (RFC 8259 subset).
 *
 * Accepts objects, arrays, strings (all escapes, \u with surrogate pairs), integers (no
 * fractions or exponents: every number in the inspect schema is an integer), true, false and
 * null. Rejects trailing garbage, duplicate-free checks are left to the caller, lone
 * surrogates, raw control characters in strings, invalid UTF-8 and nesting deeper than
 * JSON_MAX_DEPTH. The whole document is parsed into one node array (indices, not pointers) and
 * one string buffer, both owned by the json_doc and bounded by the input length.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_INSPECT_JSON_H
#define MQWS_INSPECT_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32
#define JSON_NONE      ((size_t)-1)

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_INT, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_node {
    enum json_type type;
    int64_t num;    /* JSON_INT */
    size_t str;     /* JSON_STRING: offset into json_doc.strings */
    size_t len;     /* JSON_STRING: bytes; ARRAY/OBJECT: number of children */
    size_t key;     /* member of an object: offset of its key in json_doc.strings */
    size_t key_len; /* member of an object: key length */
    size_t child;   /* ARRAY/OBJECT: first child, or JSON_NONE */
    size_t next;    /* next sibling, or JSON_NONE */
} json_node;

typedef struct json_doc {
    json_node *nodes;
    size_t count;
    size_t cap;
    uint8_t *strings; /* decoded string bytes (not NUL-terminated: strings may hold U+0000) */
    size_t strings_len;
    size_t err_at;       /* parse error: byte offset in the input */
    const char *err_msg; /* parse error: static message */
} json_doc;

/** Parse `len` bytes as one JSON value. Returns 0 with the root at nodes[0], or -1 with
 * err_at/err_msg set. Call json_free() in both cases. */
int json_parse(json_doc *doc, const char *text, size_t len);
void json_free(json_doc *doc);

/** The member `name` of object node `obj`, or NULL. */
const json_node *json_get(const json_doc *doc, const json_node *obj, const char *name);
/** The child after `n` (array element or object member), or NULL. */
const json_node *json_next(const json_doc *doc, const json_node *n);
/** The first child of an array or object, or NULL. */
const json_node *json_first(const json_doc *doc, const json_node *n);

#endif
