/*
 * content_int.h -- the detector's context and the calls between its files:
 * content.c (context, modes, forms, gaps, result, identifier sets,
 * embedded-message scanners), content_lines.c (the line classifier) and
 * content_json.c (JSON bodies through yajl).  Not for other modules: it
 * exposes yajl's parser handle.  It builds on content_limits.h, not
 * content.h, so that the two headers form no include cycle.
 */
#ifndef EGRET_CONTENT_INT_H
#define EGRET_CONTENT_INT_H

#include "ascii.h"
#include "content_limits.h"
#include "embed.h"
#include "fnv.h"
#include "hash.h"
#include "swar.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <yajl/yajl_parse.h>

typedef struct content_ctx content_ctx; /* as in content.h */

#define DEPTH_HARD_MAX 128
#define TEXT_PIECE     1024
#define MODE_PREFIX    32 /* bytes of lookahead to tell JSON from text */

/* ---- JSON keys the detector knows ---- */

enum key {
    K_OTHER,
    K_MESSAGES,
    K_CONTENT,
    K_TEXT,
    K_ROLE,
    K_CONTENTS,
    K_PARTS,
    K_CHAT_HISTORY,
    K_MESSAGE,
    K_INPUT,
    K_MODEL,
    K_INSTRUCTIONS,
    K_PREVIOUS_RESPONSE_ID,
    K_MAX_OUTPUT_TOKENS,
    K_REASONING,
    K_TOOLS,
    K_STORE,
    K_CONVERSATION,
    K_SYSTEM,
    K_ANTHROPIC_VERSION,
    K_STOP_SEQUENCES,
    K_TOP_K,
    K_INFERENCE_CONFIG,
    K_TYPE,
    K_CUSTOM_ID,
    K_BODY,
    K_KEY,
    K_REQUEST,
    K_REQUESTS,
    K_PREAMBLE,
    K_CONNECTORS,
    K_NAME,
    K_SENDER,
    K_AUTHOR,
    K_FROM,
    K_EMAIL,
    K_USER,
    K_USER_ID,
    K__COUNT
};

#define KB(k) ((uint64_t)1 << (k))
#define RESPONSES_KEYS                                                                             \
    (KB(K_INSTRUCTIONS) | KB(K_PREVIOUS_RESPONSE_ID) | KB(K_MAX_OUTPUT_TOKENS) | KB(K_REASONING) | \
     KB(K_TOOLS) | KB(K_STORE) | KB(K_CONVERSATION))
#define ANTHROPIC_KEYS (KB(K_SYSTEM) | KB(K_ANTHROPIC_VERSION) | KB(K_STOP_SEQUENCES) | KB(K_TOP_K))
#define COHERE_KEYS    (KB(K_CHAT_HISTORY) | KB(K_MODEL) | KB(K_PREAMBLE) | KB(K_CONNECTORS))
#define MSG_OBJ_KEYS                                                                               \
    (KB(K_ROLE) | KB(K_CONTENT) | KB(K_PARTS) | KB(K_MESSAGE) | KB(K_TYPE) | KB(K_TEXT))
#define SENDER_KEYS                                                                                \
    (KB(K_NAME) | KB(K_SENDER) | KB(K_AUTHOR) | KB(K_FROM) | KB(K_EMAIL) | KB(K_USER) |            \
     KB(K_USER_ID))
#define MSG_ARRAYS (KB(K_MESSAGES) | KB(K_CONTENTS) | KB(K_CHAT_HISTORY) | KB(K_INPUT))

enum shape {
    SH_NONE,
    SH_OPENAI_CHAT,
    SH_ANTHROPIC,
    SH_BEDROCK,
    SH_GEMINI,
    SH_COHERE,
    SH_RESPONSES
};

/* Record-level hints from deep inside messages. */
#define H_UNTYPED_TEXT    0x01u /* content block {"text"} without "type": Bedrock */
#define H_ANTHROPIC_BLOCK 0x02u /* tool_use / tool_result / document / thinking blocks */

enum mode { M_START, M_JSON, M_TEXT, M_FORM, M_DONE };

/* A streamed JSON string's role (see content_json_feed). */
enum role { R_NONE, R_MSG, R_PEND };

typedef struct frame {
    bool is_map;
    uint8_t key;       /* current key (maps) */
    uint8_t pend_kind; /* 0, K_MESSAGE or K_INPUT: an ambiguous prompt string */
    uint64_t keys;     /* keys seen (maps) */
    uint64_t via;      /* KB(array key) through which messages were counted */
    uint64_t pend_chars, pend_emb;
    uint8_t pend_digest[32];
} frame;

typedef struct idset {
    uint64_t *slot;
    uint32_t n;
    bool capped;
} idset;

/* Identifier sets: the body's own (e-mail / JSON, transcript), the
 * per-text sets of the embedded forms (merged into S_EMB when the text
 * is done, only for the form that counted), the records of an uploaded
 * JSON file, and the embedded senders. */
enum { S_MAIL, S_TALK, S_E_MAIL, S_E_TALK, S_E_CSV, S_E_JSON, S_F_JSON, S_EMB, NSETS };

/* The line classifier: e-mail / mbox and chat-transcript lines.  One
 * primitive, run on whole text bodies (the body's shape and counts) and on
 * the decoded message text of JSON strings and form values (messages
 * pasted inside one message).  Lines longer than TEXT_PIECE are seen as
 * pieces: the first piece is classified, the rest is body text. */
typedef struct lines {
    char buf[TEXT_PIECE];
    size_t len;
    bool piece_cont; /* the buffered piece continues a long line */
    bool skip;       /* lossy: drop bytes up to the next newline */
    uint64_t n;      /* lines started */
    bool mbox, in_headers, hdr_addr, prev_blank, first_block_done;
    bool cand; /* a "From:" block after a blank line, not yet known to be headers */
    unsigned known_first, blk_known;
    bool hdr_wait; /* a "name + time" header line waits for its text line */
    uint64_t hdr_hash;
    bool hdr_role; /* ... and its name is a role (no identifier) */
    uint64_t e_msgs, e_real, e_chars;
    uint64_t t_msgs, t_other, t_chars;
    /* configuration */
    bool units; /* body level: hash message units into the fingerprint */
    bool loose; /* inside a message: an mbox "From " line after any blank line */
    int set_e, set_t;
    int set_ids; /* -1, or the set every piece is scanned into (JSON message text) */
} lines;

/* Embedded-message scanners over one message text. */
typedef struct embed {
    bool open;
    lines ln;
    embed_csv csv;
    embed_json js;
} embed;

/* The JSON string being streamed (message text: never held whole). */
typedef struct sdec {
    uint8_t role; /* R_NONE: not streaming */
    bool esc;
    uint8_t uhex;     /* hex digits of \uXXXX read so far (0: none) */
    uint8_t hi_state; /* after a high surrogate: 1 want '\\', 2 want 'u', 3 in its low \\u */
    uint32_t u, hi;
    uint64_t chars;
    bool done; /* the placeholder "" handed to yajl stands for it */
} sdec;

struct content_ctx {
    content_limits lim;
    int mode;
    uint64_t bytes;
    uint32_t flags;
    char api_shape[40];
    bool hint_jsonl;
    /* totals */
    uint64_t messages, chars, records, emb_msgs;
    uint64_t gaps, gap_bytes;
    hash_sha256_ctx *fp[2];   /* 0: JSON / e-mail, 1: transcript */
    hash_sha256_ctx *unit[2]; /* current e-mail body / utterance / streamed string */
    bool fp_any[2], unit_open[2];
    idset set[NSETS];
    size_t set_slots;
    /* JSON */
    yajl_handle y;
    frame st[DEPTH_HARD_MAX];
    unsigned depth;
    bool in_str, esc;
    uint8_t last_sig; /* last byte outside strings that is not white space */
    size_t tok_len;
    uint64_t top_values;
    int first_shape;
    bool batch_line, root_requests, single_root_conv;
    uint32_t rec_hints;
    bool rec_root_conv;
    uint64_t rec_convs;
    int rec_shape;
    bool lossy_json;    /* after a gap: records resume at a newline */
    uint8_t resync_key; /* after a gap inside a message array: its key (K_*), 0 if none */
    bool resumed;       /* the top value is a message array taken up after a gap */
    sdec sd;
    /* text body */
    lines tx;
    bool start_skip; /* a gap before the first byte: start at the next line */
    uint8_t pre[MODE_PREFIX];
    size_t pre_len;
    /* form body (application/x-www-form-urlencoded) */
    bool f_value, f_skip;
    uint8_t f_pct, f_hex;
    /* message text scanned for embedded messages */
    embed em;
    /* an uploaded JSON file (a multipart part with a filename) that is not
     * an AI request: a chat export such as [{"user","text"}...] */
    bool file_json;
    embed_json file_js;
};

/* ---- character helpers (ASCII; no locale) ---- */

static inline int lower(int ch)
{
    return ascii_lower(ch);
}

static inline bool is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static inline bool is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static inline bool is_alnum(int ch)
{
    return is_alpha(ch) || is_digit(ch);
}

static inline uint64_t utf8_chars(const uint8_t *s, size_t n)
{
    return swar_utf8_chars(s, n);
}

/* FNV-1a over the ASCII-lowercased bytes: identifiers compare
 * case-insensitively. */
static inline uint64_t fnv_lower(uint64_t h, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) h = fnv1a64_byte(h, (uint8_t)lower(s[i]));
    return h;
}

static inline bool ieq_prefix(const char *s, size_t n, const char *lit)
{
    return ascii_iprefix(s, n, lit);
}

/* ---- content.c: identifier sets and the embedded-message scanners ---- */

/* Adds an identifier's hash (or its trimmed text, compared case-
 * insensitively) to set k; at most max_senders per set. */
void content_set_add_hash(content_ctx *c, int k, uint64_t h);
void content_set_add(content_ctx *c, int k, const uint8_t *s, size_t n);
void content_scan_ids(content_ctx *c, int k, const uint8_t *s, size_t n);
void content_emb_begin(content_ctx *c, int ids);
void content_emb_feed(content_ctx *c, const uint8_t *p, size_t n);
uint64_t content_emb_end(content_ctx *c);

/* ---- content_lines.c: the line classifier ---- */

void lines_reset(lines *L);
void lines_feed(content_ctx *c, lines *L, const uint8_t *p, size_t n);
void lines_flush(content_ctx *c, lines *L);
void lines_gap(content_ctx *c, lines *L);
/* Ends the current unit k (0 e-mail, 1 utterance) into the fingerprint. */
void lines_unit_close(content_ctx *c, lines *L, int k);

/* ---- content_json.c: JSON bodies ---- */

bool content_json_open(content_ctx *c);
void content_json_feed(content_ctx *c, const uint8_t *p, size_t n);
void content_json_close_open(content_ctx *c);
void content_json_drop(content_ctx *c);
void content_sd_finish(content_ctx *c);

#endif /* EGRET_CONTENT_INT_H */
