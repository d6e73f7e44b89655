/*
 * jscan.h -- reads values out of one JSON text in place, without building
 * a tree: the CLI's alert log, summary tables and `egret report` look up a
 * few keys of each EVE record (which egret itself wrote, one per line).
 *
 * No allocation: a value is a span of the caller's text.  Malformed text
 * makes lookups fail; it never reads past 'len'.
 */
#ifndef EGRET_CLI_JSCAN_H
#define EGRET_CLI_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    JS_NONE,
    JS_OBJECT,
    JS_ARRAY,
    JS_STRING,
    JS_NUMBER,
    JS_TRUE,
    JS_FALSE,
    JS_NULL
} js_type;

/* A value: its type and its text, quotes included for a string. */
typedef struct js_val {
    js_type type;
    const char *p;
    size_t len;
} js_val;

/* The whole text as a value (JS_NONE when it is not one JSON value). */
js_val js_root(const char *json, size_t len);

/* The value at a dotted path of object keys ("alert.why.bytes"), or a
 * value of type JS_NONE. */
js_val js_get(js_val v, const char *path);

/* A string's text, unescaped (\uXXXX as UTF-8) into 'buf' (cut to fit,
 * always terminated); a number or boolean as written; "" otherwise.
 * Returns buf. */
const char *js_str(js_val v, char *buf, size_t size);

/* A number's value (0 when 'v' is not a number). */
double js_num(js_val v);
uint64_t js_u64(js_val v);

/* Member 'i' (0-based) of an object: its key (unescaped into 'key') and
 * value; false past the end.  Elements of an array the same way ('key'
 * may be NULL). */
bool js_member(js_val obj, size_t i, char *key, size_t key_size, js_val *val);

#endif
