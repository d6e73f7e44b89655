/*
 * embed.h -- record scanners for messages pasted inside one message text:
 * a CSV / TSV export with a sender column and a body column, and JSON or
 * JSON Lines objects with a sender key and a text key.  (Transcripts and
 * e-mails inside text are the line classifier's job, in content_lines.c, which
 * shares it with whole text bodies.)
 *
 * Both scanners are byte-at-a-time state machines over decoded text, so
 * they see a 50 MB string as it streams, split anywhere, in fixed memory:
 * no allocation, no text kept beyond a 256-byte CSV header line and a
 * 24-byte JSON key.  Senders are reported as 64-bit case-insensitive
 * FNV-1a hashes through a callback, once per counted record; the caller
 * keeps the distinct set.  The state is caller-allocated: *_reset before
 * a text, *_feed any number of times, then read the count.
 */
#ifndef EGRET_EMBED_H
#define EGRET_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*embed_sender_fn)(void *ud, uint64_t hash);

#define EMBED_CSV_HEAD 256 /* longest header line looked at */

/* CSV / TSV: one of the first three non-empty lines is a header naming a sender column
 * (from, sender, author, user, username, name, email, speaker, ...) and a
 * body column (body, message, text, content, comment, note, ...); the
 * delimiter is the most frequent of , TAB ; | in it.  Every following row
 * (RFC 4180 quoting: quoted fields may hold delimiters, newlines and "")
 * with a non-empty sender and a non-empty body is one message. */
typedef struct embed_csv {
    uint8_t st; /* header, rows, off */
    char head[EMBED_CSV_HEAD];
    size_t hlen;
    uint8_t head_lines; /* lines tried as the header (at most 3) */
    char delim;
    int col_from, col_body;
    unsigned field;
    bool quoted, quote_seen, field_start, row_any, skip_line;
    bool from_any, body_any;
    uint64_t h;
    uint64_t rows, bad_rows;
} embed_csv;

void embed_csv_reset(embed_csv *s);
void embed_csv_feed(embed_csv *s, const uint8_t *p, size_t n, embed_sender_fn fn, void *ud);
/* Bytes are missing: the current row is dropped, rows resume after the
 * next newline (outside quotes, as far as can be told). */
void embed_csv_gap(embed_csv *s);
/* Messages counted: rows, or 0 if there was no such header or most rows
 * did not fit it. */
uint64_t embed_csv_messages(const embed_csv *s);

#define EMBED_JSON_DEPTH 16

/* JSON / JSON Lines: every object holding a sender key (from, sender,
 * author, user, username, email, speaker, user_id, ...; not "name", which
 * any UI or config object has) with a string or number value -- or an object value whose name /
 * username / id / email is one -- and a text key (text, message, body, content, msg) is one
 * message.  Not a validating parser: structure is tracked outside strings only, nesting beyond
 * EMBED_JSON_DEPTH is skipped over. */
typedef struct embed_jframe {
    bool obj, want_key, sender, text, sender_obj;
    uint8_t key; /* class of the current key */
    uint64_t h;
} embed_jframe;

typedef struct embed_json {
    embed_jframe st[EMBED_JSON_DEPTH];
    unsigned depth, over;
    bool in_str, esc, is_key, in_scalar;
    uint8_t klen;
    char key[24];
    uint64_t msgs;
} embed_json;

void embed_json_reset(embed_json *s);
void embed_json_feed(embed_json *s, const uint8_t *p, size_t n, embed_sender_fn fn, void *ud);
/* Bytes are missing: open objects are dropped (not counted). */
void embed_json_gap(embed_json *s);
uint64_t embed_json_messages(const embed_json *s);

#endif /* EGRET_EMBED_H */
