/*
 * content.c -- streaming message-content detector: JSON bodies through
 * yajl's streaming parser (the only yajl user), RFC 822 / mbox and
 * chat-transcript text line by line; counts, identifier hashes and a
 * SHA-256 fingerprint, never the text.  Definitions in content.h.
 */
#include "content.h"

#include "hash.h"

#include <stdlib.h>
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

enum mode { M_START, M_JSON, M_TEXT, M_DONE };

typedef struct frame {
    bool is_map;
    uint8_t key;       /* current key (maps) */
    uint8_t pend_kind; /* 0, K_MESSAGE or K_INPUT: an ambiguous prompt string */
    uint64_t keys;     /* keys seen (maps) */
    uint64_t via;      /* KB(array key) through which messages were counted */
    uint64_t pend_chars;
    uint8_t pend_digest[32];
} frame;

typedef struct idset {
    uint64_t *slot;
    uint32_t n;
    bool capped;
} idset;

struct content_ctx {
    content_limits lim;
    int mode;
    uint64_t bytes;
    uint32_t flags;
    char api_shape[40];
    bool hint_jsonl;
    /* totals */
    uint64_t messages, chars, records;
    hash_sha256_ctx *fp[2];   /* 0: JSON / e-mail, 1: transcript */
    hash_sha256_ctx *unit[2]; /* current e-mail body / utterance */
    bool fp_any[2], unit_open[2];
    idset set[2];
    size_t set_slots;
    /* JSON */
    yajl_handle y;
    frame st[DEPTH_HARD_MAX];
    unsigned depth;
    bool in_str, esc;
    size_t tok_len;
    uint64_t top_values;
    int first_shape;
    bool batch_line, root_requests, single_root_conv;
    uint32_t rec_hints;
    bool rec_root_conv;
    uint64_t rec_convs;
    int rec_shape;
    /* text */
    char line[TEXT_PIECE];
    size_t line_len;
    bool piece_cont; /* the buffered piece continues a long line */
    uint64_t lines;
    bool mbox, in_headers, hdr_addr, prev_blank, first_block_done;
    unsigned known_first;
    uint64_t e_msgs, e_chars;
    uint64_t t_msgs, t_other, t_chars;
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

/* One message-text unit that is complete in memory. */
static void text_unit(content_ctx *c, const uint8_t *s, size_t n)
{
    uint8_t d[32];
    hash_sha256(s, n, d);
    hash_sha256_update(c->fp[0], d, 32);
    c->fp_any[0] = true;
    c->chars += utf8_chars(s, n);
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
    uint64_t n = c->rec_root_conv ? 1 : c->rec_convs;
    if (!n) return;
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

static int j_string(void *ud, const unsigned char *s, size_t n)
{
    content_ctx *c = ud;
    value_begin(c);
    frame *t = up(c, 0);
    if (t && t->is_map) {
        frame *f1 = up(c, 1), *f2 = up(c, 2), *f3 = up(c, 3), *f4 = up(c, 4);
        int k = t->key;
        bool msg = false;
        if (k == K_CONTENT && is_arr(f1) && (map_key(f2, K_MESSAGES) || map_key(f2, K_INPUT)))
            msg = true;
        else if (k == K_TEXT && is_arr(f1) && map_key(f2, K_CONTENT) && is_arr(f3) &&
                 (map_key(f4, K_MESSAGES) || map_key(f4, K_INPUT)))
            msg = true;
        else if (k == K_TEXT && is_arr(f1) && map_key(f2, K_PARTS) && is_arr(f3) &&
                 map_key(f4, K_CONTENTS))
            msg = true;
        else if (k == K_MESSAGE && is_arr(f1) && map_key(f2, K_CHAT_HISTORY))
            msg = true;
        if (msg) {
            text_unit(c, s, n);
            scan_ids(c, 0, s, n);
        } else if (k == K_MESSAGE || k == K_INPUT) {
            t->pend_kind = (uint8_t)k;
            t->pend_chars = utf8_chars(s, n);
            hash_sha256(s, n, t->pend_digest);
            scan_ids(c, 0, s, n);
        } else if ((KB(k) & SENDER_KEYS) && in_message_obj(c)) {
            set_add(c, 0, s, n);
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

static void json_parse(content_ctx *c, const uint8_t *p, size_t n)
{
    if (!n) return;
    yajl_status s = yajl_parse(c->y, p, n);
    if (s == yajl_status_client_canceled) {
        c->mode = M_DONE;
    } else if (s != yajl_status_ok) {
        c->flags |= CONTENT_F_INVALID;
        c->mode = M_DONE;
    }
}

/* Feeds yajl, stopping before a string token grows past max_token. */
static void json_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (c->in_str) {
            if (++c->tok_len > c->lim.max_token) {
                json_parse(c, p, i);
                c->flags |= CONTENT_F_TRUNCATED;
                c->mode = M_DONE;
                return;
            }
            if (c->esc)
                c->esc = false;
            else if (b == '\\')
                c->esc = true;
            else if (b == '"')
                c->in_str = false;
        } else if (b == '"') {
            c->in_str = true;
            c->tok_len = 0;
        }
    }
    json_parse(c, p, n);
}

/* ---- text: e-mail and chat transcripts ---- */

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
};
static const char *const addr_names[] = {"from", "to", "cc", "bcc", "reply-to", "sender"};
// clang-format on

static bool name_in(const char *s, size_t n, const char *const *tab, size_t tn)
{
    for (size_t i = 0; i < tn; i++)
        if (strlen(tab[i]) == n && ieq_prefix(s, n, tab[i])) return true;
    return false;
}

static void unit_close(content_ctx *c, int k)
{
    if (!c->unit_open[k]) return;
    uint8_t d[32];
    hash_sha256_final(c->unit[k], d);
    hash_sha256_update(c->fp[k], d, 32);
    c->fp_any[k] = true;
    c->unit_open[k] = false;
}

static void unit_open(content_ctx *c, int k)
{
    unit_close(c, k);
    hash_sha256_reset(c->unit[k]);
    c->unit_open[k] = true;
}

static void unit_add(content_ctx *c, int k, const char *s, size_t n, bool newline)
{
    if (!c->unit_open[k]) return;
    hash_sha256_update(c->unit[k], s, n);
    if (newline) hash_sha256_update(c->unit[k], "\n", 1);
}

/* "Name: text", "[12:01] Name: text", "2024-01-02 10:00 - Name: text",
 * "<name> text".  Sets the name and the utterance offset. */
static bool speaker(const char *s, size_t n, size_t *nb, size_t *ne, size_t *txt)
{
    size_t i = 0;
    if (n && s[0] == '[') {
        size_t j = 1;
        while (j < n && j < 48 && s[j] != ']') j++;
        if (j >= n || s[j] != ']') return false;
        i = j + 1;
        while (i < n && s[i] == ' ') i++;
    } else if (n && is_digit((unsigned char)s[0])) {
        size_t j = 0;
        bool colon = false;
        while (j < n && j < 32) {
            if (is_digit((unsigned char)s[j]) || (s[j] && strchr("/.-:, ", s[j]))) {
                colon |= s[j] == ':';
                j++;
            } else if (j + 1 < n && strchr("AaPp", s[j]) && (s[j + 1] == 'M' || s[j + 1] == 'm') &&
                       (j + 2 == n || s[j + 2] == ' ' || s[j + 2] == ',')) {
                j += 2; /* 10:01 PM */
            } else {
                break;
            }
        }
        if (!colon) return false;
        i = j;
        while (i < n && (s[i] == ' ' || s[i] == '-')) i++;
    }
    if (i < n && s[i] == '<') {
        size_t j = i + 1;
        while (j < n && j - i < 33 && s[j] != '>' && s[j] != ' ') j++;
        if (j >= n || s[j] != '>' || j == i + 1 || j + 1 >= n || s[j + 1] != ' ') return false;
        *nb = i + 1;
        *ne = j;
        *txt = j + 2;
        return *txt < n;
    }
    if (i >= n || !(is_alpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80 || s[i] == '@'))
        return false;
    size_t j = i, spaces = 0;
    while (j < n && j - i <= 40 && s[j] != ':') {
        unsigned char ch = (unsigned char)s[j];
        if (ch == ' ') {
            if (++spaces > 3) return false;
        } else if (!(is_alnum(ch) || ch >= 0x80 || strchr("._-'@", ch))) {
            return false;
        }
        j++;
    }
    if (j >= n || s[j] != ':' || s[j - 1] == ' ') return false;
    if (j + 1 >= n || s[j + 1] != ' ') return false;
    size_t t = j + 1;
    while (t < n && s[t] == ' ') t++;
    if (t >= n) return false;
    *nb = i;
    *ne = j;
    *txt = t;
    return true;
}

/* One piece of text (a whole line, or a 1 KiB piece of a long line);
 * 'start' if it begins a line, 'end' if it ends one. */
static void text_piece(content_ctx *c, const char *s, size_t n, bool start, bool end)
{
    if (start && n && s[n - 1] == '\r' && end) n--;
    if (!start) {
        /* continuation of a long line: body text / utterance */
        if (!c->in_headers) {
            c->e_chars += utf8_chars((const uint8_t *)s, n);
            unit_add(c, 0, s, n, end);
        }
        if (c->unit_open[1]) {
            c->t_chars += utf8_chars((const uint8_t *)s, n);
            unit_add(c, 1, s, n, end);
        }
        return;
    }
    bool first = c->lines++ == 0;
    bool blank = n == 0;
    /* -- e-mail -- */
    if (n >= 5 && memcmp(s, "From ", 5) == 0 && (first || (c->mbox && c->prev_blank))) {
        if (first) c->mbox = true;
        unit_close(c, 0);
        c->in_headers = true;
        c->hdr_addr = false;
    } else if (c->in_headers) {
        if (blank) {
            c->in_headers = false;
            c->first_block_done = true;
            c->e_msgs++;
            unit_open(c, 0);
        } else if (s[0] == ' ' || s[0] == '\t') {
            if (c->hdr_addr) scan_ids(c, 0, (const uint8_t *)s, n);
        } else {
            const char *colon = memchr(s, ':', n);
            size_t nl = colon ? (size_t)(colon - s) : 0;
            bool token = colon && nl > 0 && nl <= 40;
            for (size_t i = 0; token && i < nl; i++)
                if (!(is_alnum((unsigned char)s[i]) || s[i] == '-')) token = false;
            if (token) {
                if (!c->first_block_done &&
                    name_in(s, nl, rfc822_names, sizeof(rfc822_names) / sizeof(rfc822_names[0])))
                    c->known_first++;
                c->hdr_addr =
                    name_in(s, nl, addr_names, sizeof(addr_names) / sizeof(addr_names[0]));
                if (c->hdr_addr) scan_ids(c, 0, (const uint8_t *)s + nl + 1, n - nl - 1);
            } else {
                /* not a header: the body starts without a blank line */
                c->in_headers = false;
                c->first_block_done = true;
                c->e_msgs++;
                unit_open(c, 0);
                c->e_chars += utf8_chars((const uint8_t *)s, n);
                unit_add(c, 0, s, n, end);
            }
        }
    } else {
        c->e_chars += utf8_chars((const uint8_t *)s, n);
        unit_add(c, 0, s, n, end);
    }
    c->prev_blank = blank;
    /* -- transcript -- */
    size_t nb, ne, txt;
    if (blank) return;
    if (speaker(s, n, &nb, &ne, &txt)) {
        c->t_msgs++;
        set_add(c, 1, (const uint8_t *)s + nb, ne - nb);
        unit_open(c, 1);
        c->t_chars += utf8_chars((const uint8_t *)s + txt, n - txt);
        unit_add(c, 1, s + txt, n - txt, end);
        scan_ids(c, 1, (const uint8_t *)s + txt, n - txt);
    } else {
        c->t_other++;
        if (c->unit_open[1]) {
            c->t_chars += utf8_chars((const uint8_t *)s, n);
            unit_add(c, 1, s, n, end);
        }
    }
}

static void text_feed(content_ctx *c, const uint8_t *p, size_t n)
{
    while (n) {
        const uint8_t *lf = memchr(p, '\n', n);
        size_t seg = lf ? (size_t)(lf - p) : n;
        size_t room = sizeof(c->line) - c->line_len;
        if (seg >= room && !(lf && seg == room)) {
            /* the piece is full: process it as part of a long line */
            memcpy(c->line + c->line_len, p, room);
            text_piece(c, c->line, sizeof(c->line), !c->piece_cont, false);
            c->piece_cont = true;
            c->line_len = 0;
            p += room;
            n -= room;
            continue;
        }
        memcpy(c->line + c->line_len, p, seg);
        c->line_len += seg;
        if (!lf) return;
        text_piece(c, c->line, c->line_len, !c->piece_cont, true);
        c->piece_cont = false;
        c->line_len = 0;
        p += seg + 1;
        n -= seg + 1;
    }
}

/* JSON or text from the first bytes; M_START if undecided ('full': no
 * more lookahead available). */
static int pick_mode(const char *s, size_t n, bool full)
{
    if (n == 0) return M_START;
    if (s[0] == '{') return M_JSON;
    if (s[0] != '[') return M_TEXT;
    /* '[' opens JSON, or a "[10:01] Name:" transcript line */
    size_t i = 1;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    if (i < n && !is_digit((unsigned char)s[i]))
        return strchr("{[\"]-tfn", s[i]) && s[i] ? M_JSON : M_TEXT;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    if (i < n) return (s[i] == ':' || s[i] == '/') ? M_TEXT : M_JSON;
    return full ? M_JSON : M_START;
}

/* Leaves M_START: replays the buffered prefix into the chosen mode. */
static void start_mode(content_ctx *c, int m)
{
    char pre[MODE_PREFIX];
    size_t n = c->line_len;
    memcpy(pre, c->line, n);
    c->line_len = 0;
    c->mode = m;
    if (m == M_JSON)
        json_feed(c, (const uint8_t *)pre, n);
    else
        text_feed(c, (const uint8_t *)pre, n);
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
        c->set[k].slot = calloc(c->set_slots, sizeof(uint64_t));
        ok = ok && c->fp[k] && c->unit[k] && c->set[k].slot;
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
    c->messages = c->chars = c->records = 0;
    for (int k = 0; k < 2; k++) {
        hash_sha256_reset(c->fp[k]);
        c->fp_any[k] = c->unit_open[k] = false;
        if (c->set[k].n) memset(c->set[k].slot, 0, c->set_slots * sizeof(uint64_t));
        c->set[k].n = 0;
        c->set[k].capped = false;
    }
    c->depth = 0;
    c->in_str = c->esc = false;
    c->tok_len = 0;
    c->top_values = 0;
    c->first_shape = SH_NONE;
    c->batch_line = c->root_requests = c->single_root_conv = false;
    c->line_len = 0;
    c->piece_cont = false;
    c->lines = 0;
    c->mbox = c->hdr_addr = c->prev_blank = c->first_block_done = false;
    c->in_headers = true;
    c->known_first = 0;
    c->e_msgs = c->e_chars = c->t_msgs = c->t_other = c->t_chars = 0;
    c->api_shape[0] = 0;
    c->hint_jsonl = false;
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
        if (hint->filename &&
            (ends_with(hint->filename, ".jsonl") || ends_with(hint->filename, ".ndjson")))
            c->hint_jsonl = true;
    }
    c->mode = M_START;
    c->y = yajl_alloc(&JSON_CB, NULL, c);
    if (!c->y) {
        c->mode = M_DONE;
        return -1;
    }
    yajl_config(c->y, yajl_allow_multiple_values, 1);
    yajl_config(c->y, yajl_dont_validate_strings, 1);
    return 0;
}

void content_feed(content_ctx *c, const uint8_t *data, size_t len)
{
    c->bytes += len;
    if (c->mode == M_START) {
        /* Skip leading whitespace and a UTF-8 BOM, then buffer a short
         * prefix (in 'line') until JSON vs text is decidable. */
        while (len && c->line_len == 0 &&
               (data[0] == ' ' || data[0] == '\t' || data[0] == '\r' || data[0] == '\n' ||
                data[0] == 0xef || data[0] == 0xbb || data[0] == 0xbf)) {
            data++;
            len--;
        }
        size_t take = len < MODE_PREFIX - c->line_len ? len : MODE_PREFIX - c->line_len;
        memcpy(c->line + c->line_len, data, take);
        c->line_len += take;
        data += take;
        len -= take;
        int m = pick_mode(c->line, c->line_len, c->line_len == MODE_PREFIX);
        if (m == M_START) return;
        start_mode(c, m);
    }
    if (c->mode == M_JSON)
        json_feed(c, data, len);
    else if (c->mode == M_TEXT)
        text_feed(c, data, len);
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
    if (c->mode == M_START && c->line_len) start_mode(c, pick_mode(c->line, c->line_len, true));
    if (c->mode == M_JSON || (c->mode == M_DONE && c->top_values)) {
        bool bad = c->mode == M_JSON && yajl_complete_parse(c->y) != yajl_status_ok;
        if (c->depth || c->in_str)
            c->flags |=
                CONTENT_F_TRUNCATED; /* the body ended (or parsing stopped) inside a value */
        else if (bad)
            c->flags |= CONTENT_F_INVALID;
        /* Close what is still open so a truncated record reports what was seen. */
        while (c->depth) {
            if (c->st[c->depth - 1].is_map) map_closing(c);
            c->depth--;
            if (c->depth == 0) record_end(c);
        }
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
        }
    } else if (c->mode == M_TEXT) {
        if (c->line_len || c->piece_cont) text_piece(c, c->line, c->line_len, !c->piece_cont, true);
        c->line_len = 0;
        unit_close(c, 0);
        unit_close(c, 1);
        if (c->mbox || c->known_first >= 2) {
            out->shape = "email";
            out->records = out->messages = c->e_msgs;
            out->text_chars = c->e_chars;
            fp_hex(c, 0, out);
        } else if (c->t_msgs >= 2 && c->t_msgs >= c->t_other) {
            out->shape = "chat_transcript";
            out->records = 1;
            out->messages = c->t_msgs;
            out->text_chars = c->t_chars;
            fp_hex(c, 1, out);
            set = 1;
        }
    }
    if (out->messages) {
        out->senders = c->set[set].n;
        out->senders_capped = c->set[set].capped;
    }
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
        free(c->set[k].slot);
    }
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
