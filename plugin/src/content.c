/*
 * content.c -- streaming message-content detector: JSON bodies through
 * yajl's streaming parser (the only yajl user) with message-text strings
 * decoded here as they stream, RFC 822 / mbox and chat-transcript text line
 * by line (one line classifier for bodies and for message text: embedded
 * messages), form values; counts, identifier hashes and a SHA-256
 * fingerprint, never the text.  Definitions in content.h.
 */
#include "content.h"

#include "embed.h"
#include "hash.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>

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

// clang-format off
static const char *const key_names[K__COUNT] = {
    "", "messages", "content", "text", "role", "contents", "parts", "chat_history", "message",
    "input", "model", "instructions", "previous_response_id", "max_output_tokens", "reasoning",
    "tools", "store", "conversation", "system", "anthropic_version", "stop_sequences", "top_k",
    "inferenceConfig", "type", "custom_id", "body", "key", "request", "requests", "preamble",
    "connectors", "name", "sender", "author", "from", "email", "user", "user_id",
};
// clang-format on

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
static const char *const shape_names[] = {
    "",
    "openai_chat",
    "anthropic_messages",
    "bedrock_converse",
    "gemini_contents",
    "cohere_chat",
    "openai_responses",
};

/* Record-level hints from deep inside messages. */
#define H_UNTYPED_TEXT    0x01u /* content block {"text"} without "type": Bedrock */
#define H_ANTHROPIC_BLOCK 0x02u /* tool_use / tool_result / document / thinking blocks */

enum mode { M_START, M_JSON, M_TEXT, M_FORM, M_DONE };

/* A streamed JSON string's role (see json_feed). */
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

/* ---- helpers ---- */

static int lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
}

static bool is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alnum(int ch)
{
    return is_alpha(ch) || is_digit(ch);
}

static uint64_t utf8_chars(const uint8_t *s, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) k += (s[i] & 0xc0) != 0x80;
    return k;
}

static uint64_t fnv(uint64_t h, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)lower(s[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static void set_add_hash(content_ctx *c, int k, uint64_t h)
{
    idset *s = &c->set[k];
    if (h == 0) h = 1;
    size_t mask = c->set_slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (s->slot[i] == h) return;
        if (s->slot[i] == 0) {
            if (s->n >= c->lim.max_senders) {
                s->capped = true;
                return;
            }
            s->slot[i] = h;
            s->n++;
            return;
        }
    }
}

static void set_add(content_ctx *c, int k, const uint8_t *s, size_t n)
{
    while (n && (s[0] == ' ' || s[0] == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n) set_add_hash(c, k, fnv(FNV_INIT, s, n));
}

static bool email_local(int ch)
{
    return is_alnum(ch) || (ch && strchr("._%+-", ch));
}

static bool email_domain(int ch)
{
    return is_alnum(ch) || ch == '.' || ch == '-';
}

/* If s[at] == '@' is the middle of an e-mail address, sets [*b, *e) and
 * returns true. */
static bool email_at(const uint8_t *s, size_t n, size_t at, size_t *b, size_t *e)
{
    size_t l = at;
    while (l > 0 && email_local(s[l - 1])) l--;
    size_t r = at + 1;
    while (r < n && email_domain(s[r])) r++;
    while (r > at + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) r--;
    while (l < at && s[l] == '.') l++;
    if (l == at || r <= at + 1) return false;
    size_t dot = r;
    while (dot > at + 1 && s[dot - 1] != '.') dot--;
    if (dot <= at + 2 || r - dot < 2) return false; /* need label '.' tld */
    for (size_t i = dot; i < r; i++)
        if (!is_alpha(s[i])) return false;
    *b = l;
    *e = r;
    return true;
}

/* Adds e-mail addresses and member handles found in s to set k. */
static void scan_ids(content_ctx *c, int k, const uint8_t *s, size_t n)
{
    const uint8_t *p = s;
    while ((p = memchr(p, '@', n - (size_t)(p - s))) != NULL) {
        size_t b, e;
        if (email_at(s, n, (size_t)(p - s), &b, &e)) set_add(c, k, s + b, e - b);
        p++;
    }
    for (size_t i = 0; i + 6 < n; i++) {
        if (lower(s[i]) != 'm' || (i > 0 && is_alnum(s[i - 1]))) continue;
        static const char m[] = "member";
        size_t j = 0;
        while (j < 6 && lower(s[i + j]) == m[j]) j++;
        if (j < 6) continue;
        j = i + 6;
        if (j < n && (s[j] == ':' || s[j] == '_' || s[j] == '-')) j++;
        size_t id = j;
        while (j < n && is_alnum(s[j])) j++;
        if (j - id >= 3) {
            uint64_t h = fnv(FNV_INIT, (const uint8_t *)"member:", 7);
            set_add_hash(c, k, fnv(h, s + id, j - id));
        }
        i = j - 1;
    }
}

/* ---- lines: e-mail and chat transcripts (bodies and message text) ---- */

static bool ieq_prefix(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++)
        if (lower((unsigned char)s[i]) != lit[i]) return false;
    return true;
}

// clang-format off
static const char *const rfc822_names[] = {
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "received", "return-path",
    "mime-version", "reply-to", "sender", "in-reply-to", "references", "delivered-to",
    "content-type", "content-transfer-encoding", "x-mailer", "dkim-signature", "thread-topic",
    "sent",
};
static const char *const addr_names[] = {"from", "to", "cc", "bcc", "reply-to", "sender"};
/* "Name:" labels of documents, logs and code, never speakers. */
static const char *const not_speakers[] = {
    "note", "notes", "nb", "warning", "warn", "tip", "hint", "caution", "important", "example",
    "examples", "step", "todo", "fixme", "xxx", "info", "error", "errors", "debug", "trace",
    "fatal", "critical", "notice", "question", "answer", "q", "a", "summary", "title", "source",
    "input", "output", "result", "results", "reason", "status", "total", "description", "update",
    "edit", "see", "ps", "fyi", "re", "fw", "fwd", "default", "case", "public", "private",
    "protected", "returns", "return", "raises", "yields", "param", "params", "parameters", "args",
    "arguments", "attributes", "usage", "http", "https", "file", "line", "task", "goal",
    "context", "solution", "problem", "definition", "rule", "requirement", "requirements",
    "version", "name", "type", "value", "key", "id", "time", "location", "phone", "address",
    "tel", "fax", "mobile", "email", "e-mail", "url", "link", "tags", "category", "priority",
};
/* Speakers that are roles, not people: counted, not identifiers. */
static const char *const role_names[] = {
    "user", "assistant", "system", "human", "ai", "bot", "model", "chatbot", "agent",
};
// clang-format on
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool name_in(const char *s, size_t n, const char *const *tab, size_t tn)
{
    if (!n) return false;
    int first = lower((unsigned char)s[0]);
    for (size_t i = 0; i < tn; i++) /* the first letter rules out most rows cheaply */
        if (tab[i][0] == first && strlen(tab[i]) == n && ieq_prefix(s, n, tab[i])) return true;
    return false;
}

static void unit_close(content_ctx *c, lines *L, int k)
{
    if (!L->units || !c->unit_open[k]) return;
    uint8_t d[32];
    hash_sha256_final(c->unit[k], d);
    hash_sha256_update(c->fp[k], d, 32);
    c->fp_any[k] = true;
    c->unit_open[k] = false;
}

static void unit_open(content_ctx *c, lines *L, int k)
{
    if (!L->units) return;
    unit_close(c, L, k);
    hash_sha256_reset(c->unit[k]);
    c->unit_open[k] = true;
}

static void unit_add(content_ctx *c, lines *L, int k, const char *s, size_t n, bool newline)
{
    if (!L->units || !c->unit_open[k]) return;
    hash_sha256_update(c->unit[k], s, n);
    if (newline) hash_sha256_update(c->unit[k], "\n", 1);
}

/* A time stamp from s[i]: digits, "/.-:, " and AM/PM.  Returns its end;
 * *colon if it holds an hh:mm, *secs if seconds too, *log if it has
 * fractions of a second (10:00:01.123, 10:00:01,123): a log line's, not a
 * chat's. */
static size_t stamp(const char *s, size_t n, size_t i, bool *colon, bool *secs, bool *log)
{
    size_t j = i;
    unsigned colons = 0;
    *colon = *secs = *log = false;
    while (j < n && j - i < 32) {
        char ch = s[j];
        if (is_digit((unsigned char)ch)) {
            j++;
        } else if (ch && strchr("/.-:, ", ch)) {
            if (ch == ':') colons++, *colon = true;
            if ((ch == '.' || ch == ',') && colons >= 2 && j > i &&
                is_digit((unsigned char)s[j - 1]) && j + 1 < n && is_digit((unsigned char)s[j + 1]))
                *log = true;
            j++;
        } else if (j + 1 < n && strchr("AaPp", ch) && (s[j + 1] == 'M' || s[j + 1] == 'm') &&
                   (j + 2 == n || strchr(" ,])", s[j + 2]))) {
            j += 2; /* 10:01 PM */
        } else {
            break;
        }
    }
    *secs = colons >= 2;
    return j;
}

/* A UTF-8 dash or bullet at s[i] (em / en dash, bullet, middle dot). */
static size_t fancy_sep(const char *s, size_t n, size_t i)
{
    const unsigned char *u = (const unsigned char *)s + i;
    if (i + 3 <= n && u[0] == 0xe2 && u[1] == 0x80 &&
        (u[2] == 0x93 || u[2] == 0x94 || u[2] == 0xa2))
        return 3;
    if (i + 2 <= n && u[0] == 0xc2 && u[1] == 0xb7) return 2;
    return 0;
}

/* One to four words from s[i], each starting with a letter; sets *end. */
static bool name_words(const char *s, size_t n, size_t i, size_t *end)
{
    size_t j = i, words = 0;
    while (j < n && words < 4) {
        unsigned char ch = (unsigned char)s[j];
        if (!(is_alpha(ch) || ch >= 0x80) || fancy_sep(s, n, j)) break;
        while (j < n && (is_alnum((unsigned char)s[j]) || (unsigned char)s[j] >= 0x80 ||
                         strchr("._-'", s[j])))
            j++;
        words++;
        *end = j;
        if (j + 1 < n && s[j] == ' ' &&
            (is_alpha((unsigned char)s[j + 1]) || (unsigned char)s[j + 1] >= 0x80))
            j++;
        else
            break;
    }
    return words > 0 && *end - i <= 40;
}

enum { SPK_NONE, SPK_LINE, SPK_HEADER };

/* A speaker line: "Name: text", "[12:01] Name: text", "2024-01-02 10:00 -
 * Name: text", "<name> text" (SPK_LINE, the text on the line), or a
 * header line holding only a name and a time -- "Alice Smith  10:01 AM",
 * "Alice Smith - 2024-01-02 10:01", "[10:01] Alice Smith" -- with the text
 * on the lines below (SPK_HEADER).  Sets the name [*nb, *ne), the text
 * offset and *role for role names (user, assistant...).  Document labels
 * ("Note:", "Step 2:"), log lines (a level, or a time with fractions of a
 * second) and code labels ("default:") are not speakers. */
static int speaker_form(const char *s, size_t n, size_t *nb, size_t *ne, size_t *txt)
{
    size_t i = 0;
    bool colon, secs = false, log, prefix = false;
    if (n && s[0] == '[') {
        size_t j = 1;
        while (j < n && j < 48 && s[j] != ']') j++;
        if (j >= n || s[j] != ']') return SPK_NONE;
        stamp(s, j, 1, &colon, &secs, &log);
        if (log) return SPK_NONE;
        prefix = colon;
        i = j + 1;
        while (i < n && s[i] == ' ') i++;
    } else if (n && is_digit((unsigned char)s[0])) {
        size_t j = stamp(s, n, 0, &colon, &secs, &log);
        if (!colon || log) return SPK_NONE;
        prefix = true;
        i = j;
        while (i < n && (s[i] == ' ' || s[i] == '-')) i++;
        size_t f = fancy_sep(s, n, i);
        if (f) {
            i += f;
            while (i < n && s[i] == ' ') i++;
        }
    }
    if (i < n && s[i] == '<') {
        size_t j = i + 1;
        while (j < n && j - i < 33 && s[j] != '>' && s[j] != ' ') j++;
        if (j >= n || s[j] != '>' || j == i + 1 || j + 1 >= n || s[j + 1] != ' ') return SPK_NONE;
        *nb = i + 1;
        *ne = j;
        *txt = j + 2;
        return *txt < n ? SPK_LINE : SPK_NONE;
    }
    if (i >= n || !(is_alpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80 || s[i] == '@'))
        return SPK_NONE;
    /* a header line: the name, then a time stamp (or, after a time prefix, nothing) */
    size_t we = i;
    if (name_words(s, n, i, &we)) {
        size_t k = we;
        if (prefix && k == n) {
            *nb = i;
            *ne = *txt = we;
            return SPK_HEADER;
        }
        if (!prefix) {
            for (;;) {
                size_t f = fancy_sep(s, n, k);
                if (f)
                    k += f;
                else if (k < n && strchr(" -,|(", s[k]) && s[k])
                    k++;
                else
                    break;
            }
            /* "Alice — Today at 10:01 AM" */
            if (k > we && ieq_prefix(s + k, n - k, "today at "))
                k += 9;
            else if (k > we && ieq_prefix(s + k, n - k, "yesterday at "))
                k += 13;
            if (k > we && k < n && is_digit((unsigned char)s[k])) {
                bool es;
                size_t e = stamp(s, n, k, &colon, &es, &log);
                while (e < n && (s[e] == ')' || s[e] == ' ')) e++;
                if (colon && !log && e == n) {
                    *nb = i;
                    *ne = *txt = we;
                    return SPK_HEADER;
                }
            }
        }
    }
    size_t j = i, spaces = 0;
    while (j < n && j - i <= 40 && s[j] != ':') {
        unsigned char ch = (unsigned char)s[j];
        if (ch == ' ') {
            if (++spaces > 3) return SPK_NONE;
        } else if (!(is_alnum(ch) || ch >= 0x80 || strchr("._-'@", ch))) {
            return SPK_NONE;
        }
        j++;
    }
    if (j >= n || s[j] != ':' || s[j - 1] == ' ') return SPK_NONE;
    if (j + 1 >= n || s[j + 1] != ' ') return SPK_NONE;
    size_t t = j + 1;
    while (t < n && s[t] == ' ') t++;
    if (t >= n) return SPK_NONE;
    *nb = i;
    *ne = j;
    *txt = t;
    if (secs) {
        /* "10:00:01 api: request done": a log line names its component in
         * lower case; people in exports with seconds are capitalised */
        bool lower_word = true;
        for (size_t k = i; k < j && lower_word; k++)
            lower_word = (s[k] >= 'a' && s[k] <= 'z') || is_digit((unsigned char)s[k]) ||
                         (s[k] && strchr("._-", s[k]));
        if (lower_word) return SPK_NONE;
    }
    return SPK_LINE;
}

static int speaker(const char *s, size_t n, size_t *nb, size_t *ne, size_t *txt, bool *role)
{
    int kind = speaker_form(s, n, nb, ne, txt);
    if (kind == SPK_NONE) return kind;
    size_t w = *nb;
    while (w < *ne && s[w] != ' ') w++;
    if (name_in(s + *nb, *ne - *nb, not_speakers, NELEM(not_speakers)) ||
        name_in(s + *nb, w - *nb, not_speakers, NELEM(not_speakers)) ||
        name_in(s + *nb, *ne - *nb, rfc822_names, NELEM(rfc822_names)))
        return SPK_NONE;
    *role = name_in(s + *nb, *ne - *nb, role_names, NELEM(role_names));
    return kind;
}

static void lines_reset(lines *L)
{
    L->len = 0;
    L->piece_cont = L->skip = false;
    L->n = 0;
    L->mbox = L->hdr_addr = L->prev_blank = L->first_block_done = L->cand = false;
    L->in_headers = true;
    L->known_first = L->blk_known = 0;
    L->hdr_wait = L->hdr_role = false;
    L->hdr_hash = 0;
    L->e_msgs = L->e_real = L->e_chars = 0;
    L->t_msgs = L->t_other = L->t_chars = 0;
}

/* An mbox separator: "From sender date", the sender an address or the
 * date ending in a year -- not a sentence that starts with "From the". */
static bool mbox_from(const char *s, size_t n)
{
    if (n < 6 || memcmp(s, "From ", 5) != 0) return false;
    size_t e = 5;
    while (e < n && s[e] != ' ') e++;
    if (memchr(s + 5, '@', e - 5)) return true;
    return n >= 10 && is_digit((unsigned char)s[n - 1]) && is_digit((unsigned char)s[n - 2]) &&
           is_digit((unsigned char)s[n - 3]) && is_digit((unsigned char)s[n - 4]) &&
           s[n - 5] == ' ';
}

/* The body text of the current e-mail. */
static void mail_text(content_ctx *c, lines *L, const char *s, size_t n, bool end)
{
    if (!L->units) return; /* message text: only the counts of messages matter */
    L->e_chars += utf8_chars((const uint8_t *)s, n);
    unit_add(c, L, 0, s, n, end);
}

/* An e-mail's header block ended (blank line, or a body line without one). */
static void mail_begin(content_ctx *c, lines *L)
{
    L->in_headers = L->cand = false;
    L->first_block_done = true;
    L->e_msgs++;
    if (L->blk_known >= 2) L->e_real++;
    unit_open(c, L, 0);
}

/* A transcript message starts with the text s[0..n). */
static void talk_begin(content_ctx *c, lines *L, const char *s, size_t n, bool end)
{
    L->t_msgs++;
    if (!L->units) return;
    unit_open(c, L, 1);
    L->t_chars += utf8_chars((const uint8_t *)s, n);
    unit_add(c, L, 1, s, n, end);
    if (L->units) scan_ids(c, L->set_t, (const uint8_t *)s, n);
}

/* One piece of text (a whole line, or a TEXT_PIECE piece of a long line);
 * 'start' if it begins a line, 'end' if it ends one. */
static void text_piece(content_ctx *c, lines *L, const char *s, size_t n, bool start, bool end)
{
    if (L->set_ids >= 0) scan_ids(c, L->set_ids, (const uint8_t *)s, n);
    if (start && n && s[n - 1] == '\r' && end) n--;
    if (!start) {
        /* continuation of a long line: body text / utterance */
        if (!L->in_headers) mail_text(c, L, s, n, end);
        if (c->unit_open[1] && L->units) {
            L->t_chars += utf8_chars((const uint8_t *)s, n);
            unit_add(c, L, 1, s, n, end);
        }
        return;
    }
    bool first = L->n++ == 0;
    bool blank = n == 0;
    /* -- e-mail -- */
    if (mbox_from(s, n) && (first || (L->prev_blank && (L->mbox || L->loose)))) {
        if (first) L->mbox = true;
        unit_close(c, L, 0);
        L->in_headers = true;
        L->cand = L->hdr_addr = false;
        L->blk_known = 2; /* an mbox separator starts a message */
    } else {
        if (!L->in_headers && L->prev_blank && ieq_prefix(s, n, "from:")) {
            /* maybe the next e-mail of a run pasted without mbox separators */
            L->in_headers = L->cand = true;
            L->hdr_addr = false;
            L->blk_known = 0;
        }
        if (L->in_headers) {
            if (blank) {
                if (!L->cand || L->blk_known >= 2)
                    mail_begin(c, L);
                else
                    L->in_headers = L->cand = false; /* not a header block after all */
            } else if (s[0] == ' ' || s[0] == '\t') {
                if (L->hdr_addr) scan_ids(c, L->set_e, (const uint8_t *)s, n);
            } else {
                const char *colon = memchr(s, ':', n);
                size_t nl = colon ? (size_t)(colon - s) : 0;
                bool token = colon && nl > 0 && nl <= 40;
                for (size_t i = 0; token && i < nl; i++)
                    if (!(is_alnum((unsigned char)s[i]) || s[i] == '-')) token = false;
                if (token) {
                    if (name_in(s, nl, rfc822_names, NELEM(rfc822_names))) {
                        if (!L->first_block_done) L->known_first++;
                        L->blk_known++;
                    }
                    L->hdr_addr = name_in(s, nl, addr_names, NELEM(addr_names));
                    if (L->hdr_addr) scan_ids(c, L->set_e, (const uint8_t *)s + nl + 1, n - nl - 1);
                } else if (L->cand) {
                    L->in_headers = L->cand = false; /* a "From:" sentence in the body */
                    mail_text(c, L, s, n, end);
                } else {
                    /* not a header: the body starts without a blank line */
                    mail_begin(c, L);
                    mail_text(c, L, s, n, end);
                }
            }
        } else {
            mail_text(c, L, s, n, end);
        }
    }
    L->prev_blank = blank;
    /* -- transcript -- */
    if (blank) return;
    size_t nb = 0, ne = 0, txt = 0;
    bool role = false;
    int k = speaker(s, n, &nb, &ne, &txt, &role);
    if (k != SPK_NONE && L->hdr_wait) L->t_other++; /* a header line without text */
    if (k == SPK_LINE) {
        L->hdr_wait = false;
        if (!role) set_add(c, L->set_t, (const uint8_t *)s + nb, ne - nb);
        talk_begin(c, L, s + txt, n - txt, end);
    } else if (k == SPK_HEADER) {
        unit_close(c, L, 1);
        L->hdr_wait = true;
        L->hdr_role = role;
        L->hdr_hash = fnv(FNV_INIT, (const uint8_t *)s + nb, ne - nb);
    } else if (L->hdr_wait) {
        L->hdr_wait = false;
        if (!L->hdr_role) set_add_hash(c, L->set_t, L->hdr_hash);
        talk_begin(c, L, s, n, end);
    } else {
        L->t_other++;
        if (c->unit_open[1] && L->units) {
            L->t_chars += utf8_chars((const uint8_t *)s, n);
            unit_add(c, L, 1, s, n, end);
        }
    }
}

static void lines_feed(content_ctx *c, lines *L, const uint8_t *p, size_t n)
{
    if (L->skip) {
        const uint8_t *lf = memchr(p, '\n', n);
        if (!lf) return;
        L->skip = false;
        n -= (size_t)(lf + 1 - p);
        p = lf + 1;
    }
    while (n) {
        const uint8_t *lf = memchr(p, '\n', n);
        size_t seg = lf ? (size_t)(lf - p) : n;
        size_t room = sizeof(L->buf) - L->len;
        if (seg >= room && !(lf && seg == room)) {
            /* the piece is full: process it as part of a long line */
            memcpy(L->buf + L->len, p, room);
            text_piece(c, L, L->buf, sizeof(L->buf), !L->piece_cont, false);
            L->piece_cont = true;
            L->len = 0;
            p += room;
            n -= room;
            continue;
        }
        memcpy(L->buf + L->len, p, seg);
        L->len += seg;
        if (!lf) return;
        text_piece(c, L, L->buf, L->len, !L->piece_cont, true);
        L->piece_cont = false;
        L->len = 0;
        p += seg + 1;
        n -= seg + 1;
    }
}

/* The text ends (or bytes go missing): the buffered piece ends its line. */
static void lines_flush(content_ctx *c, lines *L)
{
    if (L->len || L->piece_cont) text_piece(c, L, L->buf, L->len, !L->piece_cont, true);
    L->len = 0;
    L->piece_cont = false;
}

/* Bytes are missing: the cut line ends here, the next whole line resumes
 * the classification (an mbox "From " line is accepted right after). */
static void lines_gap(content_ctx *c, lines *L)
{
    lines_flush(c, L);
    L->skip = true;
    L->prev_blank = true;
    if (L->hdr_wait) L->t_other++;
    L->hdr_wait = false;
}

/* ---- embedded messages: pasted inside one message text ---- */

static void csv_sender(void *ud, uint64_t h)
{
    set_add_hash(ud, S_E_CSV, h);
}

static void json_sender(void *ud, uint64_t h)
{
    set_add_hash(ud, S_E_JSON, h);
}

static void file_json_sender(void *ud, uint64_t h)
{
    set_add_hash(ud, S_F_JSON, h);
}

static void set_clear(content_ctx *c, int k)
{
    if (c->set[k].n) memset(c->set[k].slot, 0, c->set_slots * sizeof(uint64_t));
    c->set[k].n = 0;
    c->set[k].capped = false;
}

/* Adds set k's identifiers to the embedded senders. */
static void merge_set(content_ctx *c, int k)
{
    idset *s = &c->set[k];
    for (size_t i = 0; i < c->set_slots && s->n; i++)
        if (s->slot[i]) set_add_hash(c, S_EMB, s->slot[i]);
    if (s->capped) c->set[S_EMB].capped = true;
}

/* Starts scanning one message text; 'ids' is the set its e-mail addresses
 * and member handles go to (-1: none). */
static void emb_begin(content_ctx *c, int ids)
{
    embed *e = &c->em;
    lines_reset(&e->ln);
    e->ln.units = false;
    e->ln.loose = true;
    e->ln.set_e = S_E_MAIL;
    e->ln.set_t = S_E_TALK;
    e->ln.set_ids = ids;
    embed_csv_reset(&e->csv);
    embed_json_reset(&e->js);
    for (int k = S_E_MAIL; k <= S_E_JSON; k++) set_clear(c, k);
    e->open = true;
}

static void emb_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    embed *e = &c->em;
    if (!e->open || !n) return;
    lines_feed(c, &e->ln, p, n);
    embed_csv_feed(&e->csv, p, n, csv_sender, c);
    embed_json_feed(&e->js, p, n, json_sender, c);
}

/* Ends one message text: the form that counted most messages wins (an
 * mbox of transcripts is not counted twice); its senders join S_EMB.
 * Transcript lines count only when at least as many lines are speaker
 * lines as not, and speakers speak again: messages >= 1.5 x distinct
 * speakers (a list of "Key: value" lines names each key once).  Returns
 * the messages. */
static uint64_t emb_end(content_ctx *c)
{
    embed *e = &c->em;
    if (!e->open) return 0;
    lines *L = &e->ln;
    lines_flush(c, L);
    if (L->hdr_wait) L->t_other++;
    uint64_t best = 0;
    int from = -1;
    uint64_t who = c->set[S_E_TALK].n;
    if (L->t_msgs >= 2 && L->t_msgs >= L->t_other && L->t_msgs >= who + (who + 1) / 2)
        best = L->t_msgs, from = S_E_TALK;
    if (L->e_real > best) best = L->e_real, from = S_E_MAIL;
    uint64_t k = embed_csv_messages(&e->csv);
    if (k > best) best = k, from = S_E_CSV;
    k = embed_json_messages(&e->js);
    if (k > best) best = k, from = S_E_JSON;
    if (from >= 0) merge_set(c, from);
    e->open = false;
    return best;
}

/* ---- JSON ---- */

static frame *up(content_ctx *c, unsigned i)
{
    return c->depth > i ? &c->st[c->depth - 1 - i] : NULL;
}

static bool map_key(const frame *f, int k)
{
    return f && f->is_map && f->key == k;
}

static bool is_arr(const frame *f)
{
    return f && !f->is_map;
}

static bool hint_is(const content_ctx *c, const char *s)
{
    return strcmp(c->api_shape, s) == 0;
}

static void record_begin(content_ctx *c)
{
    c->top_values++;
    c->rec_hints = 0;
    c->rec_root_conv = false;
    c->rec_convs = 0;
    c->rec_shape = SH_NONE;
}

static void record_end(content_ctx *c)
{
    if (c->resumed) {
        /* the rest of a conversation already counted when the gap cut it:
         * its messages count, it is not another record */
        c->resumed = false;
        c->top_values--;
        return;
    }
    uint64_t n = c->rec_root_conv ? 1 : c->rec_convs;
    if (!n) {
        if (c->lossy_json) c->top_values--; /* a fragment after a gap is not a record */
        return;
    }
    c->records += n;
    c->single_root_conv = c->rec_root_conv;
    if (c->first_shape == SH_NONE)
        c->first_shape = c->rec_shape;
    else if (c->first_shape != c->rec_shape)
        c->flags |= CONTENT_F_MIXED;
}

static int decide_shape(content_ctx *c, const frame *o)
{
    if (o->via & KB(K_MESSAGES)) {
        if ((c->rec_hints & H_UNTYPED_TEXT) || (o->keys & KB(K_INFERENCE_CONFIG)) ||
            hint_is(c, "bedrock-converse"))
            return SH_BEDROCK;
        if ((o->keys & ANTHROPIC_KEYS) || (c->rec_hints & H_ANTHROPIC_BLOCK) ||
            hint_is(c, "anthropic-messages") || hint_is(c, "anthropic-batch") ||
            hint_is(c, "bedrock-invoke"))
            return SH_ANTHROPIC;
        if (hint_is(c, "cohere-chat-v2")) return SH_COHERE;
        return SH_OPENAI_CHAT;
    }
    if (o->via & KB(K_CONTENTS)) return SH_GEMINI;
    if (o->via & (KB(K_CHAT_HISTORY) | KB(K_MESSAGE))) return SH_COHERE;
    return SH_RESPONSES;
}

static void value_begin(content_ctx *c)
{
    if (c->depth == 0) record_begin(c);
}

static void value_end(content_ctx *c)
{
    if (c->depth == 0) record_end(c);
}

static int j_scalar(void *ud)
{
    content_ctx *c = ud;
    value_begin(c);
    value_end(c);
    return 1;
}

static int j_bool(void *ud, int v)
{
    (void)v;
    return j_scalar(ud);
}

static int j_number(void *ud, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return j_scalar(ud);
}

static bool in_message_obj(content_ctx *c)
{
    frame *f1 = up(c, 1), *f2 = up(c, 2);
    return is_arr(f1) && f2 && f2->is_map && (KB(f2->key) & MSG_ARRAYS);
}

/* ---- JSON: message text streamed ---- */

/* The role of a value string under the top map's current key. */
static int str_role(content_ctx *c)
{
    frame *t = up(c, 0);
    if (!t || !t->is_map) return R_NONE;
    frame *f1 = up(c, 1), *f2 = up(c, 2), *f3 = up(c, 3), *f4 = up(c, 4);
    int k = t->key;
    if (k == K_CONTENT && is_arr(f1) && (map_key(f2, K_MESSAGES) || map_key(f2, K_INPUT)))
        return R_MSG;
    if (k == K_TEXT && is_arr(f1) && map_key(f2, K_CONTENT) && is_arr(f3) &&
        (map_key(f4, K_MESSAGES) || map_key(f4, K_INPUT)))
        return R_MSG;
    if (k == K_TEXT && is_arr(f1) && map_key(f2, K_PARTS) && is_arr(f3) && map_key(f4, K_CONTENTS))
        return R_MSG;
    if (k == K_MESSAGE && is_arr(f1) && map_key(f2, K_CHAT_HISTORY)) return R_MSG;
    if (k == K_MESSAGE || k == K_INPUT) return R_PEND; /* confirmed by siblings, or not */
    return R_NONE;
}

static void sd_begin(content_ctx *c, int role)
{
    memset(&c->sd, 0, sizeof(c->sd));
    c->sd.role = (uint8_t)role;
    hash_sha256_reset(c->unit[0]);
    emb_begin(c, S_MAIL);
}

/* Decoded message text of the streamed string. */
static void msg_text(content_ctx *c, const uint8_t *d, size_t n)
{
    if (!n) return;
    uint64_t k = utf8_chars(d, n);
    c->sd.chars += k;
    if (c->sd.role == R_MSG) c->chars += k; /* text_chars grows as the string arrives */
    hash_sha256_update(c->unit[0], d, n);
    emb_feed(c, d, n);
}

/* The streamed string ended (or was cut: what was seen counts). */
static void sd_finish(content_ctx *c)
{
    sdec *d = &c->sd;
    uint8_t dg[32];
    hash_sha256_final(c->unit[0], dg);
    uint64_t emb = emb_end(c);
    frame *t = up(c, 0);
    if (d->role == R_MSG) {
        hash_sha256_update(c->fp[0], dg, 32);
        c->fp_any[0] = true;
        c->emb_msgs += emb;
    } else if (t) {
        t->pend_kind = t->key;
        t->pend_chars = d->chars;
        t->pend_emb = emb;
        memcpy(t->pend_digest, dg, 32);
    }
    d->role = R_NONE;
}

static int hexval(uint8_t b)
{
    if (b >= '0' && b <= '9') return b - '0';
    b = (uint8_t)lower(b);
    return (b >= 'a' && b <= 'f') ? b - 'a' + 10 : -1;
}

/* UTF-8 of a code point, as yajl writes it ('?' beyond 0x1fffff). */
static size_t utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp < 0x200000) {
        o[0] = (uint8_t)(0xf0 | cp >> 18);
        o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (uint8_t)(0x80 | (cp & 0x3f));
        return 4;
    }
    o[0] = '?';
    return 1;
}

/* A \uXXXX: a high surrogate waits for the \u that follows it and is
 * combined with it the way yajl does; alone it is '?'. */
static size_t sd_code(sdec *d, uint32_t cp, uint8_t *o)
{
    if (d->hi_state == 3) {
        d->hi_state = 0;
        cp = ((d->hi & 0x3f) << 10) | ((((d->hi >> 6) & 0xf) + 1) << 16) | (cp & 0x3ff);
        return utf8_put(cp, o);
    }
    if ((cp & 0xfc00) == 0xd800) {
        d->hi = cp;
        d->hi_state = 1;
        return 0;
    }
    return utf8_put(cp, o);
}

/* Decodes streamed string bytes from p (escapes as yajl decodes them).
 * Returns the bytes used: up to and including the closing quote, which
 * finishes the string (c->sd.done), or up to a byte yajl's lexer would
 * reject (*bad). */
static size_t sd_feed(content_ctx *c, const uint8_t *p, size_t n, bool *bad)
{
    sdec *d = &c->sd;
    uint8_t out[512];
    size_t o = 0, i = 0;
    bool closed = false;
    *bad = false;
    for (; i < n && !closed && !*bad; i++) {
        uint8_t b = p[i];
        if (o + 8 > sizeof(out)) {
            msg_text(c, out, o);
            o = 0;
        }
        if (d->uhex) {
            int v = hexval(b);
            if (v < 0) {
                *bad = true;
                break;
            }
            d->u = d->u << 4 | (uint32_t)v;
            if (++d->uhex == 5) {
                d->uhex = 0;
                o += sd_code(d, d->u, out + o);
            }
            continue;
        }
        if (d->hi_state == 1) {
            d->hi_state = 0;
            if (b == '\\') {
                d->hi_state = 2;
                continue;
            }
            out[o++] = '?';
        } else if (d->hi_state == 2) {
            d->hi_state = 0;
            if (b == 'u') {
                d->hi_state = 3;
                d->uhex = 1;
                d->u = 0;
                continue;
            }
            out[o++] = '?';
            d->esc = true; /* b is the escaped character */
        }
        if (d->esc) {
            d->esc = false;
            switch (b) {
            case '"':
            case '\\':
            case '/':
                out[o++] = b;
                break;
            case 'b':
                out[o++] = '\b';
                break;
            case 'f':
                out[o++] = '\f';
                break;
            case 'n':
                out[o++] = '\n';
                break;
            case 'r':
                out[o++] = '\r';
                break;
            case 't':
                out[o++] = '\t';
                break;
            case 'u':
                d->uhex = 1;
                d->u = 0;
                break;
            default:
                *bad = true;
                break;
            }
            continue;
        }
        if (b == '\\')
            d->esc = true;
        else if (b == '"')
            closed = true;
        else if (b < 0x20)
            *bad = true;
        else
            out[o++] = b;
    }
    msg_text(c, out, o);
    if (closed) {
        sd_finish(c);
        d->done = true;
    }
    return i;
}

static int j_string(void *ud, const unsigned char *s, size_t n)
{
    content_ctx *c = ud;
    value_begin(c);
    frame *t = up(c, 0);
    if (c->sd.done) {
        c->sd.done = false; /* the stand-in for a streamed string: counted already */
    } else if (t && t->is_map) {
        frame *f1 = up(c, 1), *f2 = up(c, 2);
        int k = t->key, role = str_role(c);
        if (role != R_NONE) {
            /* not streamed (json_feed streams every value string in a map) */
            sd_begin(c, role);
            msg_text(c, s, n);
            sd_finish(c);
        } else if ((KB(k) & SENDER_KEYS) && in_message_obj(c)) {
            set_add(c, S_MAIL, s, n);
        } else if (k == K_TYPE && is_arr(f1) && map_key(f2, K_CONTENT)) {
            static const char *const anth[] = {"tool_use", "tool_result", "document", "thinking",
                                               "redacted_thinking"};
            for (size_t i = 0; i < sizeof(anth) / sizeof(anth[0]); i++)
                if (n == strlen(anth[i]) && memcmp(s, anth[i], n) == 0)
                    c->rec_hints |= H_ANTHROPIC_BLOCK;
        }
    }
    value_end(c);
    return 1;
}

static int push_frame(content_ctx *c, bool is_map)
{
    value_begin(c);
    if (c->depth >= c->lim.max_depth) {
        c->flags |= CONTENT_F_TRUNCATED;
        return 0; /* cancels the parse */
    }
    frame *f = &c->st[c->depth++];
    memset(f, 0, sizeof(*f));
    f->is_map = is_map;
    return 1;
}

static int j_start_map(void *ud)
{
    return push_frame(ud, true);
}

static int j_start_array(void *ud)
{
    return push_frame(ud, false);
}

static int j_map_key(void *ud, const unsigned char *s, size_t n)
{
    content_ctx *c = ud;
    frame *t = up(c, 0);
    int k = K_OTHER;
    for (int i = 1; i < K__COUNT; i++)
        if (strlen(key_names[i]) == n && memcmp(key_names[i], s, n) == 0) {
            k = i;
            break;
        }
    t->key = (uint8_t)k;
    t->keys |= KB(k);
    return 1;
}

static void map_closing(content_ctx *c)
{
    frame *o = up(c, 0), *f1 = up(c, 1), *f2 = up(c, 2);
    /* A message object inside messages[] / contents[] / chat_history[] / input[]. */
    if (is_arr(f1) && f2 && f2->is_map && (KB(f2->key) & MSG_ARRAYS) && (o->keys & MSG_OBJ_KEYS)) {
        c->messages++;
        f2->via |= KB(f2->key);
    }
    /* A content block: typed (OpenAI/Anthropic) or not (Bedrock). */
    if (is_arr(f1) && map_key(f2, K_CONTENT) && (o->keys & KB(K_TEXT)) && !(o->keys & KB(K_TYPE)))
        c->rec_hints |= H_UNTYPED_TEXT;
    /* Ambiguous single prompt strings, confirmed by their siblings. */
    bool confirm = false;
    if (o->pend_kind == K_MESSAGE)
        confirm = (o->keys & COHERE_KEYS) || hint_is(c, "cohere-chat-v1");
    else if (o->pend_kind == K_INPUT)
        confirm = !hint_is(c, "embeddings") && !hint_is(c, "moderation") &&
                  ((o->keys & RESPONSES_KEYS) || hint_is(c, "openai-responses"));
    if (confirm) {
        c->messages++;
        c->chars += o->pend_chars;
        c->emb_msgs += o->pend_emb;
        hash_sha256_update(c->fp[0], o->pend_digest, 32);
        c->fp_any[0] = true;
        o->via |= KB(o->pend_kind);
    }
    if (o->via) {
        int sh = decide_shape(c, o);
        if (c->depth == 1) {
            c->rec_root_conv = true;
            c->rec_shape = sh;
        } else {
            c->rec_convs++;
            if (c->rec_shape == SH_NONE) c->rec_shape = sh;
        }
    }
    if (c->depth == 1) {
        if ((o->keys & (KB(K_CUSTOM_ID) | KB(K_BODY))) == (KB(K_CUSTOM_ID) | KB(K_BODY)) ||
            (o->keys & (KB(K_KEY) | KB(K_REQUEST))) == (KB(K_KEY) | KB(K_REQUEST)))
            c->batch_line = true;
        if (o->keys & KB(K_REQUESTS)) c->root_requests = true;
    }
}

static int j_end_map(void *ud)
{
    content_ctx *c = ud;
    map_closing(c);
    c->depth--;
    value_end(c);
    return 1;
}

static int j_end_array(void *ud)
{
    content_ctx *c = ud;
    c->depth--;
    value_end(c);
    return 1;
}

static const yajl_callbacks JSON_CB = {
    j_scalar,    j_bool,    NULL,      NULL,          j_number,    j_string,
    j_start_map, j_map_key, j_end_map, j_start_array, j_end_array,
};

static bool json_open(content_ctx *c)
{
    c->y = yajl_alloc(&JSON_CB, NULL, c);
    if (!c->y) return false;
    yajl_config(c->y, yajl_allow_multiple_values, 1);
    yajl_config(c->y, yajl_dont_validate_strings, 1);
    c->in_str = c->esc = false;
    c->last_sig = 0;
    return true;
}

/* Closes what is still open, so that a cut record reports what was seen. */
static void json_close_open(content_ctx *c)
{
    while (c->depth) {
        if (c->st[c->depth - 1].is_map) map_closing(c);
        c->depth--;
        if (c->depth == 0) record_end(c);
    }
}

/* Abandons the current top-level value: counts kept, yajl dropped; after
 * a gap, json_feed starts a new parser at the next newline. */
static void json_drop(content_ctx *c)
{
    if (c->sd.role) sd_finish(c);
    json_close_open(c);
    if (c->y) yajl_free(c->y);
    c->y = NULL;
    c->in_str = c->esc = false;
}

/* Gives yajl p[0..n).  Returns n, or after a syntax error in lossy mode
 * the bytes read before it (yajl is dropped: records resume after the
 * next newline). */
static size_t json_parse(content_ctx *c, const uint8_t *p, size_t n)
{
    if (!n || !c->y) return n;
    yajl_status s = yajl_parse(c->y, p, n);
    if (s == yajl_status_ok) return n;
    if (s == yajl_status_client_canceled) {
        c->mode = M_DONE;
        return n;
    }
    if (c->lossy_json) {
        size_t k = yajl_get_bytes_consumed(c->y);
        json_drop(c);
        return k < n ? k : n;
    }
    c->flags |= CONTENT_F_INVALID;
    c->mode = M_DONE;
    return n;
}

/* After a gap inside an array of message objects: finds the next object
 * that opens with "role" in p[0..n) and starts a parser already inside a
 * map holding that array (as if it had read {"messages":[ ), so the
 * messages that follow count as they did before the gap, and the body's
 * own closing ]} ends it.  The first message after the gap may be missed
 * when its opening straddles two feeds or the gap; a "role" key inside
 * message text could start a false object, which a syntax error then
 * drops like any fragment.  Returns the offset of the object's '{', or
 * SIZE_MAX when there is none in this piece. */
static size_t json_resync(content_ctx *c, const uint8_t *p, size_t n)
{
    static const char pat[] = "\"role\"";
    for (size_t i = 0; i + sizeof(pat) - 1 <= n; i++) {
        const uint8_t *q = memchr(p + i, '"', n - i);
        if (!q || (size_t)(q - p) + sizeof(pat) - 1 > n) return SIZE_MAX;
        i = (size_t)(q - p);
        if (memcmp(q, pat, sizeof(pat) - 1) != 0) continue;
        size_t b = i;
        while (b > 0 &&
               (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r' || p[b - 1] == '\n'))
            b--;
        if (b == 0 || p[b - 1] != '{') continue;
        char prime[40];
        int k = snprintf(prime, sizeof(prime), "{\"%s\":[", key_names[c->resync_key]);
        if (!json_open(c)) {
            c->mode = M_DONE;
            return SIZE_MAX;
        }
        c->resync_key = 0;
        c->resumed = true;
        json_parse(c, (const uint8_t *)prime, (size_t)k);
        c->last_sig = '[';
        return b - 1;
    }
    return SIZE_MAX;
}

/* Feeds yajl -- except message text, which is streamed.  yajl's lexer
 * holds a whole string token before its callback sees it, so a 50 MB
 * prompt would take 50 MB (or be cut at max_token) and count nothing
 * until its closing quote, and a cut one nothing at all.  So at each value
 * string in a map, yajl first gets the bytes before the quote, which
 * brings the frames up to date; if the string is message text (str_role),
 * its bytes are decoded here (sd_feed) into the counts, the unit hash and
 * the embedded-message scanners as they arrive, and yajl gets "" in its
 * place to keep the structure.  Other strings (keys, names, types, model
 * ids) go to yajl whole, capped at max_token. */
static void json_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    size_t seg = 0, i = 0;
    while (c->mode == M_JSON) {
        if (!c->y) {
            if (c->resync_key) {
                size_t at = json_resync(c, p + i, n - i);
                if (at == SIZE_MAX) return;
                i = seg = i + at;
                continue;
            }
            /* lossy: the next record starts after a newline */
            const uint8_t *lf = i < n ? memchr(p + i, '\n', n - i) : NULL;
            if (!lf) return;
            i = seg = (size_t)(lf - p) + 1;
            if (!json_open(c)) {
                c->mode = M_DONE;
                return;
            }
            continue;
        }
        if (i >= n) {
            /* the rest goes to yajl; after a syntax error in lossy mode,
             * look for the next line in what is left (a loop, not a
             * recursion: a chunk may hold many bad lines) */
            size_t k = json_parse(c, p + seg, n - seg);
            if (c->y || c->mode != M_JSON) return;
            i = seg = seg + k;
            continue;
        }
        if (c->sd.role) {
            bool bad;
            i += sd_feed(c, p + i, n - i, &bad);
            seg = i;
            if (bad) {
                sd_finish(c); /* stopped inside the string: what was seen counts */
                if (c->lossy_json) {
                    json_drop(c);
                    continue;
                }
                c->flags |= CONTENT_F_INVALID;
                c->mode = M_DONE;
                return;
            }
            if (c->sd.done) {
                json_parse(c, (const uint8_t *)"\"\"", 2);
                c->last_sig = '"';
            }
            continue;
        }
        uint8_t b = p[i];
        if (c->in_str) {
            if (++c->tok_len > c->lim.max_token) {
                json_parse(c, p + seg, i - seg);
                c->flags |= CONTENT_F_TRUNCATED;
                c->mode = M_DONE;
                return;
            }
            if (c->esc) {
                c->esc = false;
            } else if (b == '\\') {
                c->esc = true;
            } else if (b == '"') {
                c->in_str = false;
                c->last_sig = '"';
            }
        } else if (b == '"') {
            if (c->last_sig == ':') {
                size_t k = json_parse(c, p + seg, i - seg);
                if (!c->y || c->mode != M_JSON) {
                    i = seg = seg + k;
                    continue;
                }
                seg = i;
                int role = str_role(c);
                if (role != R_NONE) {
                    sd_begin(c, role);
                    seg = ++i;
                    continue;
                }
            }
            c->in_str = true;
            c->tok_len = 0;
        } else if (b == '\n' && c->lossy_json) {
            /* after a gap yajl gets a line at a time, so that a line that
             * is not a record costs one look, not a rescan of the rest */
            size_t k = json_parse(c, p + seg, i + 1 - seg);
            if (!c->y || c->mode != M_JSON) {
                i = seg = seg + k;
                continue;
            }
            seg = i + 1;
        } else if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
            c->last_sig = b;
        }
        i++;
    }
}

/* ---- form bodies: application/x-www-form-urlencoded ---- */

/* Each field value is one message text for the embedded scanners
 * (percent-decoded, '+' as space); names are not looked at. */
static void form_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    uint8_t out[512];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (c->f_skip) {
            c->f_skip = b != '&';
            continue;
        }
        if (!c->f_value) {
            if (b == '=') {
                c->f_value = true;
                c->f_pct = 0;
                emb_begin(c, -1);
            }
            continue;
        }
        if (b == '&') {
            emb_feed(c, out, o);
            o = 0;
            c->emb_msgs += emb_end(c);
            c->f_value = false;
            continue;
        }
        if (c->f_pct) {
            int v = hexval(b);
            if (v < 0) {
                c->f_pct = 0; /* a stray '%': dropped */
            } else {
                c->f_hex = (uint8_t)(c->f_hex << 4 | v);
                if (++c->f_pct == 3) {
                    out[o++] = c->f_hex;
                    c->f_pct = 0;
                }
            }
        } else if (b == '%') {
            c->f_pct = 1;
            c->f_hex = 0;
        } else {
            out[o++] = b == '+' ? ' ' : b;
        }
        if (o == sizeof(out)) {
            emb_feed(c, out, o);
            o = 0;
        }
    }
    emb_feed(c, out, o);
}

/* JSON or text from the first bytes; M_START if undecided ('full': no
 * more lookahead available). */
static int pick_mode(const uint8_t *s, size_t n, bool full)
{
    if (n == 0) return M_START;
    if (s[0] == '{') return M_JSON;
    if (s[0] != '[') return M_TEXT;
    /* '[' opens JSON, or a "[10:01] Name:" transcript line */
    size_t i = 1;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    if (i < n && !is_digit(s[i])) return s[i] && strchr("{[\"]-tfn", s[i]) ? M_JSON : M_TEXT;
    while (i < n && is_digit(s[i])) i++;
    if (i < n) return (s[i] == ':' || s[i] == '/') ? M_TEXT : M_JSON;
    return full ? M_JSON : M_START;
}

/* Text body bytes: the line classifier, and the CSV scanner for a CSV /
 * TSV export of messages (counted as embedded messages). */
static void text_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    lines_feed(c, &c->tx, p, n);
    embed_csv_feed(&c->em.csv, p, n, csv_sender, c);
}

/* JSON body bytes: the parser, and for an uploaded file the record
 * scanner too (a JSON export of messages is no AI request shape). */
static void json_body_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    if (c->file_json) embed_json_feed(&c->file_js, p, n, file_json_sender, c);
    json_feed(c, p, n);
}

/* Leaves M_START: replays the buffered prefix into the chosen mode. */
static void start_mode(content_ctx *c, int m)
{
    uint8_t pre[MODE_PREFIX];
    size_t n = c->pre_len;
    memcpy(pre, c->pre, n);
    c->pre_len = 0;
    c->mode = m;
    if (m == M_JSON)
        json_body_feed(c, pre, n);
    else
        text_feed(c, pre, n);
}

/* ---- public API ---- */

void content_limits_default(content_limits *l)
{
    l->max_token = 4u << 20;
    l->max_depth = 64;
    l->max_senders = 256;
}

content_ctx *content_new(const content_limits *lim)
{
    content_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    if (lim)
        c->lim = *lim;
    else
        content_limits_default(&c->lim);
    if (c->lim.max_depth == 0 || c->lim.max_depth > DEPTH_HARD_MAX)
        c->lim.max_depth = DEPTH_HARD_MAX;
    if (c->lim.max_token == 0) c->lim.max_token = 1;
    if (c->lim.max_senders == 0) c->lim.max_senders = 1;
    c->set_slots = 16;
    while (c->set_slots < 2 * (size_t)c->lim.max_senders) c->set_slots *= 2;
    bool ok = true;
    for (int k = 0; k < 2; k++) {
        c->fp[k] = hash_sha256_new();
        c->unit[k] = hash_sha256_new();
        ok = ok && c->fp[k] && c->unit[k];
    }
    for (int k = 0; k < NSETS; k++) {
        c->set[k].slot = calloc(c->set_slots, sizeof(uint64_t));
        ok = ok && c->set[k].slot;
    }
    if (!ok) {
        content_free(c);
        return NULL;
    }
    c->mode = M_DONE;
    return c;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && ieq_prefix(s + n - m, m, suf);
}

int content_begin(content_ctx *c, const content_hint *hint)
{
    if (c->y) yajl_free(c->y);
    c->y = NULL;
    /* reset everything but the limits and the allocated helpers */
    c->bytes = 0;
    c->flags = 0;
    c->messages = c->chars = c->records = c->emb_msgs = 0;
    c->gaps = c->gap_bytes = 0;
    for (int k = 0; k < 2; k++) {
        hash_sha256_reset(c->fp[k]);
        c->fp_any[k] = c->unit_open[k] = false;
    }
    for (int k = 0; k < NSETS; k++) set_clear(c, k);
    c->depth = 0;
    c->in_str = c->esc = false;
    c->last_sig = 0;
    c->tok_len = 0;
    c->top_values = 0;
    c->first_shape = SH_NONE;
    c->batch_line = c->root_requests = c->single_root_conv = false;
    c->lossy_json = false;
    memset(&c->sd, 0, sizeof(c->sd));
    lines_reset(&c->tx);
    c->tx.units = true;
    c->tx.loose = false;
    c->tx.set_e = S_MAIL;
    c->tx.set_t = S_TALK;
    c->tx.set_ids = -1;
    c->em.open = false;
    embed_csv_reset(&c->em.csv);
    embed_json_reset(&c->file_js);
    c->file_json = hint && hint->filename && hint->filename[0];
    c->start_skip = false;
    c->pre_len = 0;
    c->f_value = c->f_skip = false;
    c->f_pct = c->f_hex = 0;
    c->api_shape[0] = 0;
    c->hint_jsonl = false;
    bool form = false;
    if (hint) {
        if (hint->api_shape) {
            strncpy(c->api_shape, hint->api_shape, sizeof(c->api_shape) - 1);
            c->api_shape[sizeof(c->api_shape) - 1] = 0;
        }
        const char *ct = hint->content_type;
        if (ct && (ieq_prefix(ct, strlen(ct), "application/jsonl") ||
                   ieq_prefix(ct, strlen(ct), "application/x-ndjson") ||
                   ieq_prefix(ct, strlen(ct), "application/jsonlines")))
            c->hint_jsonl = true;
        if (ct && ieq_prefix(ct, strlen(ct), "application/x-www-form-urlencoded")) form = true;
        if (hint->filename &&
            (ends_with(hint->filename, ".jsonl") || ends_with(hint->filename, ".ndjson")))
            c->hint_jsonl = true;
    }
    c->mode = form ? M_FORM : M_START;
    if (!json_open(c)) {
        c->mode = M_DONE;
        return -1;
    }
    return 0;
}

void content_feed(content_ctx *c, const uint8_t *data, size_t len)
{
    c->bytes += len;
    if (c->mode == M_START && c->start_skip) {
        /* a gap before the first byte: the body is taken up at the next line */
        const uint8_t *lf = memchr(data, '\n', len);
        if (!lf) return;
        c->start_skip = false;
        c->lossy_json = true; /* if JSON follows, lines that are not records are skipped */
        len -= (size_t)(lf + 1 - data);
        data = lf + 1;
    }
    if (c->mode == M_START) {
        /* Skip leading whitespace and a UTF-8 BOM, then buffer a short
         * prefix until JSON vs text is decidable. */
        while (len && c->pre_len == 0 &&
               (data[0] == ' ' || data[0] == '\t' || data[0] == '\r' || data[0] == '\n' ||
                data[0] == 0xef || data[0] == 0xbb || data[0] == 0xbf)) {
            data++;
            len--;
        }
        size_t take = len < MODE_PREFIX - c->pre_len ? len : MODE_PREFIX - c->pre_len;
        memcpy(c->pre + c->pre_len, data, take);
        c->pre_len += take;
        data += take;
        len -= take;
        int m = pick_mode(c->pre, c->pre_len, c->pre_len == MODE_PREFIX);
        if (m == M_START) return;
        start_mode(c, m);
    }
    if (c->mode == M_JSON)
        json_body_feed(c, data, len);
    else if (c->mode == M_TEXT)
        text_feed(c, data, len);
    else if (c->mode == M_FORM)
        form_feed(c, data, len);
}

void content_gap(content_ctx *c, uint64_t len)
{
    if (c->mode == M_DONE && !c->top_values && !c->bytes) return; /* no body begun */
    c->gaps++;
    c->gap_bytes += len;
    c->flags |= CONTENT_F_LOSSY;
    if (c->mode == M_START) {
        if (!c->pre_len) {
            c->start_skip = true;
            return;
        }
        start_mode(c, pick_mode(c->pre, c->pre_len, true));
    }
    switch (c->mode) {
    case M_JSON:
        /* A JSON document cut in the middle cannot be resynchronised in
         * general; JSON Lines can: the value is abandoned (what it held is
         * counted), parsing resumes after the next newline.  Inside an
         * array of message objects (the bulk of a chat body) it resumes at
         * the next object that opens with "role" (json_resync). */
        if (c->y) c->resync_key = 0; /* else a second gap before the resync: keep it */
        for (unsigned i = 0; c->y && i + 1 < c->depth; i++)
            if (c->st[i].is_map && (KB(c->st[i].key) & MSG_ARRAYS) && !c->st[i + 1].is_map)
                c->resync_key = c->st[i].key;
        json_drop(c);
        c->lossy_json = true;
        embed_json_gap(&c->file_js);
        break;
    case M_TEXT:
        lines_gap(c, &c->tx);
        embed_csv_gap(&c->em.csv);
        break;
    case M_FORM:
        if (c->f_value) c->emb_msgs += emb_end(c);
        c->f_value = false;
        c->f_skip = true; /* the next field starts after '&' */
        break;
    default:
        break;
    }
}

static void fp_hex(content_ctx *c, int k, content_result *out)
{
    out->fingerprint[0] = 0;
    if (!c->fp_any[k]) return;
    uint8_t d[32];
    hash_sha256_final(c->fp[k], d);
    hash_hex(d, 32, out->fingerprint);
}

void content_end(content_ctx *c, content_result *out)
{
    memset(out, 0, sizeof(*out));
    out->bytes = c->bytes;
    out->shape = "unknown";
    out->inner_shape = "";
    int set = 0;
    if (c->mode == M_START && c->pre_len) start_mode(c, pick_mode(c->pre, c->pre_len, true));
    if (c->mode == M_JSON || (c->mode == M_DONE && c->top_values)) {
        bool cut = c->sd.role != R_NONE;
        if (cut) sd_finish(c); /* the body ended inside message text: what was seen counts */
        bool bad = c->mode == M_JSON && c->y && yajl_complete_parse(c->y) != yajl_status_ok;
        if (c->depth || c->in_str || cut)
            c->flags |=
                CONTENT_F_TRUNCATED; /* the body ended (or parsing stopped) inside a value */
        else if (bad && !c->lossy_json)
            c->flags |= CONTENT_F_INVALID;
        json_close_open(c);
        if (c->records) {
            const char *inner = shape_names[c->first_shape];
            if (c->top_values > 1 || c->hint_jsonl || c->batch_line) {
                out->shape = "jsonl_batch";
                out->inner_shape = inner;
            } else if (c->root_requests && !c->single_root_conv) {
                out->shape = "inline_batch";
                out->inner_shape = inner;
            } else {
                out->shape = inner;
            }
            out->records = c->records;
            out->messages = c->messages;
            out->text_chars = c->chars;
            fp_hex(c, 0, out);
        } else if (c->top_values) {
            out->shape = "json_other";
            if ((c->emb_msgs = embed_json_messages(&c->file_js)) > 0) merge_set(c, S_F_JSON);
        }
    } else if (c->mode == M_TEXT) {
        lines *L = &c->tx;
        lines_flush(c, L);
        if (L->hdr_wait) L->t_other++;
        unit_close(c, L, 0);
        unit_close(c, L, 1);
        if (L->mbox || L->known_first >= 2) {
            out->shape = "email";
            out->records = out->messages = L->e_msgs;
            out->text_chars = L->e_chars;
            fp_hex(c, 0, out);
        } else if (L->t_msgs >= 2 && L->t_msgs >= L->t_other) {
            out->shape = "chat_transcript";
            out->records = 1;
            out->messages = L->t_msgs;
            out->text_chars = L->t_chars;
            fp_hex(c, 1, out);
            set = 1;
        } else if ((c->emb_msgs = embed_csv_messages(&c->em.csv)) > 0) {
            merge_set(c, S_E_CSV);
        }
    } else if (c->mode == M_FORM) {
        if (c->f_value) c->emb_msgs += emb_end(c);
        c->f_value = false;
    }
    if (out->messages) {
        out->senders = c->set[set].n;
        out->senders_capped = c->set[set].capped;
    }
    if (c->emb_msgs) {
        out->embedded_messages = c->emb_msgs;
        out->embedded_senders = c->set[S_EMB].n;
        out->embedded_senders_capped = c->set[S_EMB].capped;
    }
    out->gaps = c->gaps;
    out->gap_bytes = c->gap_bytes;
    out->flags = c->flags;
    if (c->y) yajl_free(c->y);
    c->y = NULL;
    c->mode = M_DONE;
}

void content_free(content_ctx *c)
{
    if (!c) return;
    if (c->y) yajl_free(c->y);
    for (int k = 0; k < 2; k++) {
        hash_sha256_free(c->fp[k]);
        hash_sha256_free(c->unit[k]);
    }
    for (int k = 0; k < NSETS; k++) free(c->set[k].slot);
    free(c);
}

/* ---- redaction ---- */

static bool put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (cap == 0 || *o + n > cap - 1) return false;
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

/* Phone-like run at s[i]: returns its end, or 0 (then *plain is the end of
 * a date / dotted quad to copy unchanged, or i). */
static size_t phone_at(const uint8_t *s, size_t n, size_t i, size_t *plain)
{
    *plain = i;
    size_t j = i, digits = 0, groups = 0, glen[8] = {0};
    bool plus = false, sep_seen = false, dots = false, dashes_only = true;
    if (s[j] == '+') plus = true, j++;
    size_t last = 0;
    bool in_group = false;
    while (j < n) {
        uint8_t ch = s[j];
        if (is_digit(ch)) {
            if (!in_group) {
                groups++;
                in_group = true;
            }
            if (groups <= 8) glen[groups - 1]++;
            digits++;
            last = j + 1;
            j++;
        } else if (strchr(" -.()", ch) && ch && j + 1 < n &&
                   (is_digit(s[j + 1]) || (ch == ')' && s[j + 1] == ' ') ||
                    (ch == ' ' && s[j + 1] == '(') || ch == '(')) {
            sep_seen = true;
            if (ch == '.') dots = true;
            if (ch != '-') dashes_only = false;
            in_group = false;
            j++;
        } else {
            break;
        }
    }
    if (digits < 7 || digits > 15 || last == 0) return 0;
    if (!plus && !sep_seen) return 0;
    if ((!plus && dashes_only && groups == 3 && glen[0] == 4 && glen[1] == 2 && glen[2] == 2) ||
        (!plus && dots && groups == 4 && glen[0] <= 3 && glen[1] <= 3 && glen[2] <= 3 &&
         glen[3] <= 3)) {
        *plain = last; /* ISO date or dotted quad */
        return 0;
    }
    if (last < n && is_alnum(s[last])) return 0;
    return last;
}

size_t content_redact(const char *in, size_t n, char *out, size_t cap)
{
    const uint8_t *s = (const uint8_t *)in;
    size_t o = 0, i = 0;
    while (i < n) {
        bool boundary = i == 0 || !is_alnum(s[i - 1]);
        /* e-mail: a local-part token starting here followed by '@' */
        if (email_local(s[i]) && (i == 0 || !email_local(s[i - 1]))) {
            size_t j = i;
            while (j < n && email_local(s[j])) j++;
            size_t b, e;
            if (j < n && s[j] == '@' && email_at(s, n, j, &b, &e) && b == i) {
                if (!put(out, cap, &o, "[email]", 7)) break;
                i = e;
                continue;
            }
        }
        if (boundary && (s[i] == '+' || s[i] == '(' || is_digit(s[i]))) {
            size_t plain, e = phone_at(s, n, i, &plain);
            if (e) {
                if (!put(out, cap, &o, "[phone]", 7)) break;
                i = e;
                continue;
            }
            if (plain > i) {
                if (!put(out, cap, &o, in + i, plain - i)) break;
                i = plain;
                continue;
            }
        }
        if (is_digit(s[i]) && (i == 0 || !is_digit(s[i - 1]))) {
            size_t j = i;
            while (j < n && is_digit(s[j])) j++;
            if (j - i >= 6) {
                if (!put(out, cap, &o, "[num]", 5)) break;
                i = j;
                continue;
            }
        }
        if (!put(out, cap, &o, in + i, 1)) break;
        i++;
    }
    if (cap) out[o] = 0;
    return o;
}
