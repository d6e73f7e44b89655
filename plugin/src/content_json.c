/*
 * content_json.c -- the detector's JSON bodies: yajl's streaming parser
 * (callbacks keep a stack of frames: which key, which message array),
 * message-text strings decoded here as they stream (sd_*) so that no
 * prompt is held whole, API shapes and records, and the resumption after
 * a gap (lossy JSON Lines, json_resync).
 */
#include "content.h"
#include "content_int.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

// clang-format off
static const char *const key_names[K__COUNT] = {
    "", "messages", "content", "text", "role", "contents", "parts", "chat_history", "message",
    "input", "model", "instructions", "previous_response_id", "max_output_tokens", "reasoning",
    "tools", "store", "conversation", "system", "anthropic_version", "stop_sequences", "top_k",
    "inferenceConfig", "type", "custom_id", "body", "key", "request", "requests", "preamble",
    "connectors", "name", "sender", "author", "from", "email", "user", "user_id",
};
// clang-format on

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
    content_emb_begin(c, S_MAIL);
}

/* Decoded message text of the streamed string. */
static void msg_text(content_ctx *c, const uint8_t *d, size_t n)
{
    if (!n) return;
    uint64_t k = utf8_chars(d, n);
    c->sd.chars += k;
    if (c->sd.role == R_MSG) c->chars += k; /* text_chars grows as the string arrives */
    hash_sha256_update(c->unit[0], d, n);
    content_emb_feed(c, d, n);
}

/* The streamed string ended (or was cut: what was seen counts). */
void content_sd_finish(content_ctx *c)
{
    sdec *d = &c->sd;
    uint8_t dg[32];
    hash_sha256_final(c->unit[0], dg);
    uint64_t emb = content_emb_end(c);
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
    uint8_t out[4096];
    size_t o = 0, i = 0;
    bool closed = false;
    *bad = false;
    for (; i < n && !closed && !*bad; i++) {
        if (!d->uhex && !d->hi_state && !d->esc) {
            /* plain text up to the next quote, backslash or control byte
             * goes to msg_text as it is, not copied byte by byte */
            size_t r = swar_json_plain(p + i, n - i);
            if (r && o + r + 8 <= sizeof(out)) {
                /* short runs (a line between "\n" escapes) are gathered:
                 * each msg_text call costs every text scanner a call */
                memcpy(out + o, p + i, r);
                o += r;
                i += r;
                if (i == n) break;
            } else if (r) {
                if (o) msg_text(c, out, o);
                o = 0;
                msg_text(c, p + i, r);
                i += r;
                if (i == n) break;
            }
        }
        uint8_t b = p[i];
        if (o + 8 > sizeof(out)) {
            msg_text(c, out, o);
            o = 0;
        }
        if (d->uhex) {
            int v = ascii_hexval(b);
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
        content_sd_finish(c);
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
            /* not streamed (content_json_feed streams every value string in a map) */
            sd_begin(c, role);
            msg_text(c, s, n);
            content_sd_finish(c);
        } else if ((KB(k) & SENDER_KEYS) && in_message_obj(c)) {
            content_set_add(c, S_MAIL, s, n);
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

bool content_json_open(content_ctx *c)
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
void content_json_close_open(content_ctx *c)
{
    while (c->depth) {
        if (c->st[c->depth - 1].is_map) map_closing(c);
        c->depth--;
        if (c->depth == 0) record_end(c);
    }
}

/* Abandons the current top-level value: counts kept, yajl dropped; after
 * a gap, content_json_feed starts a new parser at the next newline. */
void content_json_drop(content_ctx *c)
{
    if (c->sd.role) content_sd_finish(c);
    content_json_close_open(c);
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
        content_json_drop(c);
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
        if (!content_json_open(c)) {
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
void content_json_feed(content_ctx *c, const uint8_t *p, size_t n)
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
            if (!content_json_open(c)) {
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
                content_sd_finish(c); /* stopped inside the string: what was seen counts */
                if (c->lossy_json) {
                    content_json_drop(c);
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
