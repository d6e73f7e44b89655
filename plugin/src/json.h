/*
 * json.h -- a small JSON writer for EVE records.
 *
 * Writes into a growable buffer that is reused between records (reset,
 * not freed).  Strings are escaped per RFC 8259; bytes that are not valid
 * UTF-8 are written as \u00XX so a line stays valid JSON whatever a
 * packet carried.  Keys are emitted in call order: callers keep a stable
 * order so output is deterministic.
 */
#ifndef EGRET_JSON_H
#define EGRET_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

typedef struct jw {
    char *buf;
    size_t len, cap;
    bool oom;
    int depth;
    bool first[JW_MAX_DEPTH];
} jw;

void jw_init(jw *w);
void jw_free(jw *w);
void jw_reset(jw *w); /* empties the buffer, keeps memory */

/* 'key' is NULL inside arrays and for the top-level value. */
void jw_obj_open(jw *w, const char *key);
void jw_obj_close(jw *w);
void jw_arr_open(jw *w, const char *key);
void jw_arr_close(jw *w);
void jw_str(jw *w, const char *key, const char *s);
void jw_strn(jw *w, const char *key, const char *s, size_t n);
void jw_u64(jw *w, const char *key, uint64_t v);
void jw_i64(jw *w, const char *key, int64_t v);
void jw_dbl(jw *w, const char *key, double v); /* integers exact, else %.10g; NaN/inf: null */
void jw_bool(jw *w, const char *key, bool v);
void jw_null(jw *w, const char *key);
/* Inserts already-valid JSON text as a value. */
void jw_raw(jw *w, const char *key, const char *json, size_t n);

/* Escapes s[0..n) into the buffer without quotes (for callers that build
 * strings piecewise). */
void jw_escape(jw *w, const char *s, size_t n);

/* The record so far (NUL-terminated), or NULL after an allocation failure. */
const char *jw_text(const jw *w);

#endif /* EGRET_JSON_H */
