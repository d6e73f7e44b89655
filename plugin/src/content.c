/*
 * content.c -- streaming message-content detector: the context, the choice
 * of mode (JSON, text, form) from a body's first bytes, form bodies, gaps
 * and the result; the identifier sets and the embedded-message scanners
 * that the line classifier (content_lines.c) and the JSON parser
 * (content_json.c) feed.  Counts, identifier hashes and a SHA-256
 * fingerprint, never the text.  Definitions in content.h.
 */
#include "content.h"
#include "content_int.h"

#include "redact.h"

#include <stdlib.h>
#include <string.h>

static const char *const shape_names[] = {
    "",
    "openai_chat",
    "anthropic_messages",
    "bedrock_converse",
    "gemini_contents",
    "cohere_chat",
    "openai_responses",
};

/* ---- identifier sets ---- */

void content_set_add_hash(content_ctx *c, int k, uint64_t h)
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

void content_set_add(content_ctx *c, int k, const uint8_t *s, size_t n)
{
    while (n && (s[0] == ' ' || s[0] == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n) content_set_add_hash(c, k, fnv_lower(FNV1A64_INIT, s, n));
}

/* Adds e-mail addresses and member handles found in s to set k. */
void content_scan_ids(content_ctx *c, int k, const uint8_t *s, size_t n)
{
    const uint8_t *p = s;
    while ((p = memchr(p, '@', n - (size_t)(p - s))) != NULL) {
        size_t b, e;
        if (redact_email_at(s, n, (size_t)(p - s), &b, &e)) content_set_add(c, k, s + b, e - b);
        p++;
    }
    for (size_t i = 0; i + 6 < n; i++) {
        i += swar_find_mem(s + i, n - 6 - i); /* the next "mem" that could start "member" */
        if (i + 6 >= n) break;
        if (i > 0 && is_alnum(s[i - 1])) continue;
        static const char m[] = "member";
        size_t j = 0;
        while (j < 6 && lower(s[i + j]) == m[j]) j++;
        if (j < 6) continue;
        j = i + 6;
        if (j < n && (s[j] == ':' || s[j] == '_' || s[j] == '-')) j++;
        size_t id = j;
        while (j < n && is_alnum(s[j])) j++;
        if (j - id >= 3) {
            uint64_t h = fnv_lower(FNV1A64_INIT, (const uint8_t *)"member:", 7);
            content_set_add_hash(c, k, fnv_lower(h, s + id, j - id));
        }
        i = j - 1;
    }
}

/* ---- embedded messages: pasted inside one message text ---- */

static void csv_sender(void *ud, uint64_t h)
{
    content_set_add_hash(ud, S_E_CSV, h);
}

static void json_sender(void *ud, uint64_t h)
{
    content_set_add_hash(ud, S_E_JSON, h);
}

static void file_json_sender(void *ud, uint64_t h)
{
    content_set_add_hash(ud, S_F_JSON, h);
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
        if (s->slot[i]) content_set_add_hash(c, S_EMB, s->slot[i]);
    if (s->capped) c->set[S_EMB].capped = true;
}

/* Starts scanning one message text; 'ids' is the set its e-mail addresses
 * and member handles go to (-1: none). */
void content_emb_begin(content_ctx *c, int ids)
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

void content_emb_feed(content_ctx *c, const uint8_t *p, size_t n)
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
uint64_t content_emb_end(content_ctx *c)
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
                content_emb_begin(c, -1);
            }
            continue;
        }
        if (b == '&') {
            content_emb_feed(c, out, o);
            o = 0;
            c->emb_msgs += content_emb_end(c);
            c->f_value = false;
            continue;
        }
        if (c->f_pct) {
            int v = ascii_hexval(b);
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
            content_emb_feed(c, out, o);
            o = 0;
        }
    }
    content_emb_feed(c, out, o);
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
    content_json_feed(c, p, n);
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
    if (!content_json_open(c)) {
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
        content_json_drop(c);
        c->lossy_json = true;
        embed_json_gap(&c->file_js);
        break;
    case M_TEXT:
        lines_gap(c, &c->tx);
        embed_csv_gap(&c->em.csv);
        break;
    case M_FORM:
        if (c->f_value) c->emb_msgs += content_emb_end(c);
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
        if (cut)
            content_sd_finish(c); /* the body ended inside message text: what was seen counts */
        bool bad = c->mode == M_JSON && c->y && yajl_complete_parse(c->y) != yajl_status_ok;
        if (c->depth || c->in_str || cut)
            c->flags |=
                CONTENT_F_TRUNCATED; /* the body ended (or parsing stopped) inside a value */
        else if (bad && !c->lossy_json)
            c->flags |= CONTENT_F_INVALID;
        content_json_close_open(c);
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
        lines_unit_close(c, L, 0);
        lines_unit_close(c, L, 1);
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
        if (c->f_value) c->emb_msgs += content_emb_end(c);
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
