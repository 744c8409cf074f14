/* mqws-inspect: shared declarations (schema tables, options, the two modes).
 * SPDX-License-Identifier: MIT
 */
#ifndef MQWS_INSPECT_H
#define MQWS_INSPECT_H

#include <mqws/codec.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How a property's value is spelled in JSON and stored in mqws_props. */
enum prop_kind {
    PK_BYTE,    /* integer 0..255, uint8_t field */
    PK_U16,     /* integer, uint16_t field */
    PK_U32,     /* integer, uint32_t field */
    PK_STRING,  /* JSON string, mqws_view field (UTF-8) */
    PK_BINARY,  /* lowercase hex string, mqws_view field */
    PK_SUB_IDS, /* array of integers (repeatable Subscription Identifier) */
    PK_USER     /* array of [key, value] string pairs, in wire order */
};

typedef struct prop_desc {
    uint8_t id;
    enum prop_kind kind;
    const char *json; /* member name inside "properties" */
    size_t offset;    /* offsetof(mqws_props, field); unused for PK_SUB_IDS and PK_USER */
} prop_desc;

/* Every MQTT 5 property, in ascending identifier order. */
extern const prop_desc inspect_props[];
extern const size_t inspect_prop_count;

typedef struct inspect_opts {
    uint8_t level;            /* initial protocol level (a CONNECT changes it) */
    uint32_t from;            /* MQWS_DECODE_FROM_* or 0 */
    int hex;                  /* input (decode) or output (encode) is hex text */
    int keep_going;           /* decode: report an error and continue with the next packet */
    uint32_t max_packet_size; /* decode: refuse larger packets from the header (0: protocol max) */
    const char *path;         /* NULL or "-" for stdin */
} inspect_opts;

/** bytes -> JSON lines. Returns the process exit status. */
int inspect_decode(const inspect_opts *o, FILE *in, FILE *out);
/** JSON lines -> bytes. Returns the process exit status. */
int inspect_encode(const inspect_opts *o, FILE *in, FILE *out);

/* Exit statuses. */
#define INSPECT_EXIT_OK     0
#define INSPECT_EXIT_DATA   1 /* a packet or a JSON line was rejected */
#define INSPECT_EXIT_USAGE  2
#define INSPECT_EXIT_SYSTEM 3 /* I/O error, out of memory, internal inconsistency */

#endif
