/*
 * embed.c -- CSV / TSV and JSON record scanners for messages pasted inside
 * a message text (definitions in embed.h).  Byte state machines: nothing
 * is allocated and no text is kept past a header line or a key.
 */
#include "embed.h"
#include "swar.h"

#include <string.h>

enum { CS_HEAD, CS_ROWS, CS_OFF };

#define FNV_INIT  0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint8_t lower(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
}

static bool word_in(const char *s, size_t n, const char *const *tab)
{
    for (; *tab; tab++)
        if (strlen(*tab) == n && memcmp(*tab, s, n) == 0) return true;
    return false;
}

// clang-format off
/* Column names / keys (lower case; spaces and '-' in CSV headers read as '_'). */
static const char *const SENDER_NAMES[] = {
    "from", "sender", "author", "user", "username", "user_name", "name", "email", "speaker",
    "from_name", "from_email", "from_address", "sender_name", "sender_email", "sender_id",
    "author_name", "author_email", "user_id", "member", "member_id", "posted_by", "created_by",
    "display_name", "participant", "creator", NULL,
};
static const char *const BODY_NAMES[] = {
    "body", "message", "text", "content", "msg", "message_body", "message_text", "body_text",
    "comment", "comments", "note", "notes", "snippet", NULL,
};
static const char *const SENDER_OBJ_NAMES[] = {"name", "username", "id", "email", "login", NULL};
// clang-format on

/* ==== CSV / TSV ==== */

void embed_csv_reset(embed_csv *s)
{
    memset(s, 0, sizeof(*s));
    s->st = CS_HEAD;
    s->col_from = s->col_body = -1;
    s->field_start = true;
}

/* Splits the buffered header line, picks the delimiter and the columns. */
static void csv_header(embed_csv *s)
{
    static const char delims[] = {',', '\t', ';', '|'};
    size_t best = 0;
    for (size_t d = 0; d < sizeof(delims); d++) {
        size_t k = 0;
        for (size_t i = 0; i < s->hlen; i++) k += s->head[i] == delims[d];
        if (k > best) best = k, s->delim = delims[d];
    }
    s->st = CS_OFF;
    if (!best) return;
    int col = 0;
    size_t i = 0;
    while (i <= s->hlen) {
        size_t e = i;
        while (e < s->hlen && s->head[e] != s->delim) e++;
        /* trim spaces, quotes and a BOM-less CR; normalise case and separators */
        size_t b = i;
        while (b < e && (s->head[b] == ' ' || s->head[b] == '"' || s->head[b] == '\r')) b++;
        size_t z = e;
        while (z > b && (s->head[z - 1] == ' ' || s->head[z - 1] == '"' || s->head[z - 1] == '\r'))
            z--;
        char name[24];
        size_t n = z - b;
        if (n < sizeof(name)) {
            for (size_t k = 0; k < n; k++) {
                uint8_t ch = lower((uint8_t)s->head[b + k]);
                name[k] = (char)((ch == ' ' || ch == '-') ? '_' : ch);
            }
            if (s->col_from < 0 && word_in(name, n, SENDER_NAMES))
                s->col_from = col;
            else if (s->col_body < 0 && word_in(name, n, BODY_NAMES))
                s->col_body = col;
        }
        col++;
        i = e + 1;
    }
    if (s->col_from >= 0 && s->col_body >= 0) s->st = CS_ROWS;
}

static void csv_field_end(embed_csv *s)
{
    s->field++;
    s->field_start = true;
}

static void csv_row_end(embed_csv *s, embed_sender_fn fn, void *ud)
{
    if (s->from_any && s->body_any) {
        s->rows++;
        fn(ud, s->h);
    } else if (s->row_any) {
        s->bad_rows++;
    }
    s->field = 0;
    s->field_start = true;
    s->row_any = s->from_any = s->body_any = false;
    s->h = FNV_INIT;
}

static void csv_byte(embed_csv *s, uint8_t b)
{
    if (s->field_start && (b == ' ' || b == '\t') && b != (uint8_t)s->delim) return;
    s->field_start = false;
    s->row_any = true;
    if ((int)s->field == s->col_from) {
        s->h = (s->h ^ lower(b)) * FNV_PRIME;
        s->from_any = true;
    } else if ((int)s->field == s->col_body) {
        s->body_any = true;
    }
}

void embed_csv_feed(embed_csv *s, const uint8_t *p, size_t n, embed_sender_fn fn, void *ud)
{
    for (size_t i = 0; i < n && s->st != CS_OFF; i++) {
        uint8_t b = p[i];
        if (s->st == CS_HEAD && b != '\n' && s->hlen < sizeof(s->head) && (s->hlen || b > ' ')) {
            /* the rest of the header line, at once */
            const uint8_t *lf = memchr(p + i, '\n', n - i);
            size_t k = (lf ? (size_t)(lf - p) : n) - i;
            if (k > sizeof(s->head) - s->hlen) k = sizeof(s->head) - s->hlen;
            memcpy(s->head + s->hlen, p + i, k);
            s->hlen += k;
            i += k - 1;
            continue;
        }
        if (s->st == CS_HEAD) {
            if (b == '\n') {
                if (s->hlen) csv_header(s);
                if (s->st == CS_OFF && s->hlen && ++s->head_lines < 3) {
                    /* a short preamble ("Here is the export:") before the header */
                    s->st = CS_HEAD;
                    s->col_from = s->col_body = -1;
                }
                s->hlen = 0;
                s->h = FNV_INIT;
            } else if (s->hlen < sizeof(s->head)) {
                if (s->hlen || (b != '\r' && b != ' ')) s->head[s->hlen++] = (char)b;
            } else {
                s->st = CS_OFF; /* no header of a sensible length */
            }
            continue;
        }
        if (s->skip_line) {
            if (b == '\n') s->skip_line = false;
            continue;
        }
        if (s->quoted) {
            if (s->quote_seen) {
                s->quote_seen = false;
                if (b == '"') {
                    csv_byte(s, b); /* "" inside quotes */
                    continue;
                }
                s->quoted = false; /* closing quote: fall through with b */
            } else {
                if (b == '"')
                    s->quote_seen = true;
                else
                    csv_byte(s, b);
                continue;
            }
        }
        if (b == (uint8_t)s->delim) {
            s->row_any = true;
            csv_field_end(s);
        } else if (b == '\n') {
            csv_row_end(s, fn, ud);
        } else if (b == '\r') {
            /* CRLF rows */
        } else if (b == '"' && s->field_start) {
            s->quoted = true;
            s->field_start = false;
        } else {
            csv_byte(s, b);
        }
    }
}

void embed_csv_gap(embed_csv *s)
{
    if (s->st == CS_HEAD) {
        s->st = CS_OFF; /* the header line is not whole */
        return;
    }
    s->quoted = s->quote_seen = false;
    s->field = 0;
    s->field_start = true;
    s->row_any = s->from_any = s->body_any = false;
    s->h = FNV_INIT;
    s->skip_line = true;
}

uint64_t embed_csv_messages(const embed_csv *s)
{
    /* a row at the very end without a newline is not counted: it may be cut */
    if (s->col_from < 0 || s->col_body < 0 || s->rows == 0 || s->rows < s->bad_rows) return 0;
    return s->rows;
}

/* ==== JSON / JSON Lines ==== */

enum { JK_OTHER, JK_SENDER, JK_TEXT, JK_SENDER_FIELD };

void embed_json_reset(embed_json *s)
{
    memset(s, 0, sizeof(*s));
}

static embed_jframe *jtop(embed_json *s)
{
    return s->depth && !s->over ? &s->st[s->depth - 1] : NULL;
}

static void jpush(embed_json *s, bool obj)
{
    embed_jframe *t = jtop(s);
    if (s->over || s->depth >= EMBED_JSON_DEPTH) {
        s->over++;
        return;
    }
    embed_jframe *f = &s->st[s->depth++];
    memset(f, 0, sizeof(*f));
    f->obj = obj;
    f->want_key = obj;
    f->h = FNV_INIT;
    if (t && t->obj && t->key == JK_TEXT) t->text = true; /* content: [blocks] */
    f->sender_obj = obj && t && t->obj && t->key == JK_SENDER;
}

static void jpop(embed_json *s, embed_sender_fn fn, void *ud)
{
    if (s->over) {
        s->over--;
        return;
    }
    if (!s->depth) return;
    embed_jframe *f = &s->st[--s->depth];
    if (f->obj && f->sender && f->text) {
        s->msgs++;
        fn(ud, f->h);
    }
}

/* The object whose sender a value at the top belongs to, or NULL. */
static embed_jframe *jsender_target(embed_json *s)
{
    embed_jframe *t = jtop(s);
    if (!t || !t->obj) return NULL;
    if (t->key == JK_SENDER) return t;
    if (t->key == JK_SENDER_FIELD && t->sender_obj && s->depth >= 2) {
        embed_jframe *p = &s->st[s->depth - 2];
        return p->obj && !p->sender ? p : NULL; /* the first field names the sender */
    }
    return NULL;
}

static void jvalue_byte(embed_json *s, uint8_t b)
{
    embed_jframe *t = jtop(s);
    if (!t || !t->obj) return;
    if (t->key == JK_TEXT) t->text = true;
    embed_jframe *g = jsender_target(s);
    if (g) g->h = (g->h ^ lower(b)) * FNV_PRIME;
}

static void jvalue_end(embed_json *s)
{
    embed_jframe *g = jsender_target(s);
    if (g && g->h != FNV_INIT) g->sender = true;
}

static void jkey_end(embed_json *s)
{
    embed_jframe *t = jtop(s);
    if (!t || !t->obj) return;
    t->key = JK_OTHER;
    if (s->klen >= sizeof(s->key)) return;
    if (t->sender_obj && word_in(s->key, s->klen, SENDER_OBJ_NAMES))
        t->key = JK_SENDER_FIELD;
    else if (s->klen == 4 && memcmp(s->key, "name", 4) == 0)
        t->key = JK_OTHER; /* {"name":"ok_button","text":"OK"}: any UI / config object */
    else if (word_in(s->key, s->klen, SENDER_NAMES))
        t->key = JK_SENDER;
    else if (word_in(s->key, s->klen, BODY_NAMES))
        t->key = JK_TEXT;
}

void embed_json_feed(embed_json *s, const uint8_t *p, size_t n, embed_sender_fn fn, void *ud)
{
    for (size_t i = 0; i < n; i++) {
        if (!s->depth && !s->over && !s->in_str) {
            /* outside any object: only an opening bracket matters */
            i += swar_find2(p + i, n - i, '{', '[');
            if (i == n) break;
        } else if (!s->in_str && !s->in_scalar && (s->over || !s->st[s->depth - 1].obj)) {
            /* inside an array (or nested too deep): only brackets and
             * strings matter, not the text between them */
            i += swar_find_jstruct(p + i, n - i);
            if (i == n) break;
        }
        uint8_t b = p[i];
        if (s->in_str) {
            if (s->esc) {
                s->esc = false;
            } else if (b == '\\') {
                s->esc = true;
                continue;
            } else if (b == '"') {
                s->in_str = false;
                if (s->is_key)
                    jkey_end(s);
                else
                    jvalue_end(s);
                continue;
            }
            if (s->is_key) {
                if (s->klen < sizeof(s->key)) s->key[s->klen] = (char)lower(b);
                if (s->klen < 255) s->klen++;
            } else {
                jvalue_byte(s, b);
            }
            continue;
        }
        bool scalar = (b >= '0' && b <= '9') || b == '-' || b == '.' || (b >= 'a' && b <= 'z');
        if (s->in_scalar && !scalar) {
            s->in_scalar = false;
            jvalue_end(s);
        }
        embed_jframe *t = jtop(s);
        switch (b) {
        case '{':
            jpush(s, true);
            break;
        case '[':
            jpush(s, false);
            break;
        case '}':
        case ']':
            jpop(s, fn, ud);
            break;
        case '"':
            s->in_str = true;
            s->is_key = t && t->obj && t->want_key;
            s->klen = 0;
            break;
        case ':':
            if (t && t->obj) t->want_key = false;
            break;
        case ',':
            if (t && t->obj) {
                t->want_key = true;
                t->key = JK_OTHER;
            }
            break;
        default:
            if (scalar && t && t->obj && !t->want_key) {
                s->in_scalar = true;
                jvalue_byte(s, b);
            }
            break;
        }
    }
}

void embed_json_gap(embed_json *s)
{
    uint64_t m = s->msgs;
    embed_json_reset(s);
    s->msgs = m;
}

uint64_t embed_json_messages(const embed_json *s)
{
    return s->msgs;
}
