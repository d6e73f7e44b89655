/*
 * content_lines.c -- the detector's line classifier: RFC 822 / mbox and
 * chat-transcript lines (speaker forms, header blocks), run on whole text
 * bodies and on message text (embedded messages).  Lines are read in
 * TEXT_PIECE pieces; the text is counted and hashed, never kept.
 */
#include "content_int.h"

#include <pthread.h>
#include <string.h>

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

/* strchr(set, ch) != NULL for a literal set, inlined: called for every
 * character of every speaker name and time stamp.  Like strchr, true for
 * ch == 0 (the terminator). */
static inline bool chr_in(const char *set, char ch)
{
    if (!ch) return true;
    for (; *set; set++)
        if (*set == ch) return true;
    return false;
}

/* Character classes of the speaker and time-stamp scanners, one table
 * look-up instead of a literal set's compares (chr_in) per character.
 * Index 0 (NUL) has every class, as chr_in is true for the terminator. */
enum {
    CL_STAMP = 1,   /* "/.-:, " time-stamp punctuation */
    CL_SEP = 2,     /* " -,|(" between a name and its time */
    CL_NAME = 4,    /* a name character: letter, digit, >= 0x80, "._-'" */
    CL_LABEL = 8,   /* CL_NAME or '@': a "Name:" label character */
    CL_LOGWORD = 16 /* "._-", with lower-case letters and digits a log component */
};
static uint8_t cls[256];

static void cls_build(void)
{
    for (int ch = 0; ch < 256; ch++) {
        uint8_t f = 0;
        if (is_alnum(ch) || ch >= 0x80) f |= CL_NAME | CL_LABEL;
        if (ch == 0 || strchr("/.-:, ", ch)) f |= CL_STAMP;
        if (ch == 0 || strchr(" -,|(", ch)) f |= CL_SEP;
        if (ch == 0 || strchr("._-'", ch)) f |= CL_NAME | CL_LABEL;
        if (ch == 0 || strchr("._-'@", ch)) f |= CL_LABEL;
        if (ch == 0 || strchr("._-", ch)) f |= CL_LOGWORD;
        cls[ch] = f;
    }
}

static inline bool cl(char ch, unsigned f)
{
    return (cls[(unsigned char)ch] & f) != 0;
}

/* A name table with a hashed index: every speaker line is looked up in
 * three tables, and a row-by-row scan was a tenth of the time the detector
 * spent on a large upload.  Names are lower-case and at most NAME_MAX_LEN
 * bytes; the index holds row + 1 per slot (0 = empty). */
#define NAME_SLOTS   256
#define NAME_MAX_LEN 32
typedef struct {
    const char *const *tab;
    size_t tn;
    uint8_t len[128];
    uint8_t slot[NAME_SLOTS];
} name_set;

static name_set rfc822_set = {rfc822_names, NELEM(rfc822_names), {0}, {0}};
static name_set addr_set = {addr_names, NELEM(addr_names), {0}, {0}};
/* The tables are built once, by lines_feed / lines_flush before any line
 * is classified (not per look-up: every speaker line makes four). */
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static uint64_t name_hash(const char *s, size_t n)
{
    return fnv_lower(FNV1A64_INIT, (const uint8_t *)s, n);
}

static void set_build(name_set *t)
{
    for (size_t i = 0; i < t->tn; i++) {
        size_t l = strlen(t->tab[i]);
        t->len[i] = (uint8_t)l;
        size_t k = (size_t)name_hash(t->tab[i], l) & (NAME_SLOTS - 1);
        while (t->slot[k]) k = (k + 1) & (NAME_SLOTS - 1);
        t->slot[k] = (uint8_t)(i + 1);
    }
}

/* The three tables a speaker's name is looked up in, merged into one
 * index with a flag per table: one probe per name instead of three. */
enum { NM_NOT_SPEAKER = 1, NM_RFC822 = 2, NM_ROLE = 4 };
#define SPK_ROWS (NELEM(not_speakers) + NELEM(rfc822_names) + NELEM(role_names))
static struct {
    const char *name[SPK_ROWS];
    uint8_t len[SPK_ROWS], flags[SPK_ROWS];
    size_t n;
    uint8_t slot[NAME_SLOTS]; /* row + 1, 0 = empty */
} spk_names;

static void spk_add(const char *const *tab, size_t tn, uint8_t flag)
{
    for (size_t i = 0; i < tn; i++) {
        size_t r = 0;
        while (r < spk_names.n && strcmp(spk_names.name[r], tab[i]) != 0) r++;
        if (r == spk_names.n) {
            size_t l = strlen(tab[i]);
            spk_names.name[r] = tab[i];
            spk_names.len[r] = (uint8_t)l;
            size_t k = (size_t)name_hash(tab[i], l) & (NAME_SLOTS - 1);
            while (spk_names.slot[k]) k = (k + 1) & (NAME_SLOTS - 1);
            spk_names.slot[k] = (uint8_t)(r + 1);
            spk_names.n++;
        }
        spk_names.flags[r] |= flag;
    }
}

static void names_build(void)
{
    set_build(&rfc822_set);
    set_build(&addr_set);
    cls_build();
    spk_add(not_speakers, NELEM(not_speakers), NM_NOT_SPEAKER);
    spk_add(rfc822_names, NELEM(rfc822_names), NM_RFC822);
    spk_add(role_names, NELEM(role_names), NM_ROLE);
}

/* The NM_* flags of s[0..n) (name_hash h): the tables it is a row of. */
static unsigned spk_flags(const char *s, size_t n, uint64_t h)
{
    for (size_t k = (size_t)h & (NAME_SLOTS - 1); spk_names.slot[k];
         k = (k + 1) & (NAME_SLOTS - 1)) {
        size_t row = spk_names.slot[k] - 1u;
        if (spk_names.len[row] == n && ieq_prefix(s, n, spk_names.name[row]))
            return spk_names.flags[row];
    }
    return 0;
}

/* s[0..n), whose name_hash is h, is a row of t (ignoring case). */
static bool name_in_h(const char *s, size_t n, uint64_t h, const name_set *t)
{
    for (size_t k = (size_t)h & (NAME_SLOTS - 1); t->slot[k]; k = (k + 1) & (NAME_SLOTS - 1)) {
        size_t row = t->slot[k] - 1u;
        if (t->len[row] == n && ieq_prefix(s, n, t->tab[row])) return true;
    }
    return false;
}

void lines_unit_close(content_ctx *c, lines *L, int k)
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
    lines_unit_close(c, L, k);
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
    while (j < n && j - i < 32 && is_digit((unsigned char)s[j])) j++; /* the common run */
    while (j < n && j - i < 32) {
        char ch = s[j];
        if (is_digit((unsigned char)ch)) {
            j++;
        } else if (ch && cl(ch, CL_STAMP)) {
            if (ch == ':') colons++, *colon = true;
            if ((ch == '.' || ch == ',') && colons >= 2 && j > i &&
                is_digit((unsigned char)s[j - 1]) && j + 1 < n && is_digit((unsigned char)s[j + 1]))
                *log = true;
            j++;
        } else if (j + 1 < n && chr_in("AaPp", ch) && (s[j + 1] == 'M' || s[j + 1] == 'm') &&
                   (j + 2 == n || chr_in(" ,])", s[j + 2]))) {
            j += 2; /* 10:01 PM */
        } else {
            break;
        }
    }
    *secs = colons >= 2;
    return j;
}

/* A UTF-8 dash or bullet at s[i] (em / en dash, bullet, middle dot). */
static inline size_t fancy_sep(const char *s, size_t n, size_t i)
{
    const unsigned char *u = (const unsigned char *)s + i;
    if (i >= n || u[0] < 0xc2) return 0; /* ASCII: the usual answer, at once */
    if (i + 3 <= n && u[0] == 0xe2 && u[1] == 0x80 &&
        (u[2] == 0x93 || u[2] == 0x94 || u[2] == 0xa2))
        return 3;
    if (i + 2 <= n && u[0] == 0xc2 && u[1] == 0xb7) return 2;
    return 0;
}

/* One to four words from s[i], each starting with a letter; sets *end
 * and *words. */
static bool name_words(const char *s, size_t n, size_t i, size_t *end, size_t *nwords)
{
    size_t j = i, words = 0;
    while (j < n && words < 4) {
        unsigned char ch = (unsigned char)s[j];
        if (!(is_alpha(ch) || ch >= 0x80) || fancy_sep(s, n, j)) break;
        while (j < n && cl(s[j], CL_NAME)) j++;
        words++;
        *end = j;
        if (j + 1 < n && s[j] == ' ' &&
            (is_alpha((unsigned char)s[j + 1]) || (unsigned char)s[j + 1] >= 0x80))
            j++;
        else
            break;
    }
    *nwords = words;
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
        size_t lim = n < 48 ? n : 48; /* s[48] itself is not looked at, only checked */
        const char *rb = lim > 1 ? memchr(s + 1, ']', lim - 1) : NULL;
        size_t j = rb ? (size_t)(rb - s) : (lim > 1 ? lim : 1);
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
    size_t we = i, words = 0;
    bool named = name_words(s, n, i, &we, &words);
    if (named) {
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
                else if (k < n && cl(s[k], CL_SEP) && s[k])
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
    if (named) {
        /* the words' bytes (letters, digits, "._-'", >= 0x80, one space
         * between words, at most 40 bytes) all pass the loop below: start
         * after them, with the spaces they hold counted */
        j = we;
        spaces = words - 1;
    }
    while (j < n && j - i <= 40 && s[j] != ':') {
        unsigned char ch = (unsigned char)s[j];
        if (ch == ' ') {
            if (++spaces > 3) return SPK_NONE;
        } else if (!cl((char)ch, CL_LABEL)) {
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
                         (s[k] && cl(s[k], CL_LOGWORD));
        if (lower_word) return SPK_NONE;
    }
    return SPK_LINE;
}

/* *h gets the name's name_hash when it was computed (*hashed), so that
 * the sender set does not hash it again. */
static int speaker(const char *s, size_t n, size_t *nb, size_t *ne, size_t *txt, bool *role,
                   uint64_t *h, bool *hashed)
{
    *hashed = false;
    int kind = speaker_form(s, n, nb, ne, txt);
    if (kind == SPK_NONE) return kind;
    size_t w = *nb;
    while (w < *ne && s[w] != ' ') w++;
    /* the name, and its first word ("Note 2:"), are no label; a role? */
    const char *nm = s + *nb;
    size_t nn = *ne - *nb, nw = w - *nb;
    *role = false;
    /* FNV extends: the first word's hash is where the name's starts */
    uint64_t hw = nw <= NAME_MAX_LEN ? name_hash(nm, nw) : 0;
    if (nw != nn && nw && nw <= NAME_MAX_LEN && (spk_flags(nm, nw, hw) & NM_NOT_SPEAKER))
        return SPK_NONE;
    if (!nn || nn > NAME_MAX_LEN) return kind; /* in no table */
    *h = fnv_lower(hw, (const uint8_t *)nm + nw, nn - nw);
    *hashed = true;
    unsigned f = spk_flags(nm, nn, *h);
    if (f & (NM_NOT_SPEAKER | NM_RFC822)) return SPK_NONE;
    *role = (f & NM_ROLE) != 0;
    return kind;
}

void lines_reset(lines *L)
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
    if (L->units) content_scan_ids(c, L->set_t, (const uint8_t *)s, n);
}

/* One piece of text (a whole line, or a TEXT_PIECE piece of a long line);
 * 'start' if it begins a line, 'end' if it ends one; 'ids_done' if
 * lines_feed already scanned it for identifiers. */
static void text_piece(content_ctx *c, lines *L, const char *s, size_t n, bool start, bool end,
                       bool ids_done)
{
    if (L->set_ids >= 0 && !ids_done) content_scan_ids(c, L->set_ids, (const uint8_t *)s, n);
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
        lines_unit_close(c, L, 0);
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
                if (L->hdr_addr) content_scan_ids(c, L->set_e, (const uint8_t *)s, n);
            } else {
                const char *colon = memchr(s, ':', n);
                size_t nl = colon ? (size_t)(colon - s) : 0;
                bool token = colon && nl > 0 && nl <= 40;
                for (size_t i = 0; token && i < nl; i++)
                    if (!(is_alnum((unsigned char)s[i]) || s[i] == '-')) token = false;
                if (token) {
                    /* one hash for both tables; a longer name is in neither */
                    bool fits = nl <= NAME_MAX_LEN;
                    uint64_t h = fits ? name_hash(s, nl) : 0;
                    if (fits && name_in_h(s, nl, h, &rfc822_set)) {
                        if (!L->first_block_done) L->known_first++;
                        L->blk_known++;
                    }
                    L->hdr_addr = fits && name_in_h(s, nl, h, &addr_set);
                    if (L->hdr_addr)
                        content_scan_ids(c, L->set_e, (const uint8_t *)s + nl + 1, n - nl - 1);
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
    bool role = false, hashed;
    uint64_t h = 0;
    int k = speaker(s, n, &nb, &ne, &txt, &role, &h, &hashed);
    if (k != SPK_NONE && L->hdr_wait) L->t_other++; /* a header line without text */
    if (k == SPK_LINE) {
        L->hdr_wait = false;
        /* content_set_add trims blanks, then hashes as name_hash does */
        bool trimmed = hashed && !ascii_is_ows(s[nb]) && !ascii_is_ows(s[ne - 1]);
        if (!role && trimmed)
            content_set_add_hash(c, L->set_t, h);
        else if (!role)
            content_set_add(c, L->set_t, (const uint8_t *)s + nb, ne - nb);
        talk_begin(c, L, s + txt, n - txt, end);
    } else if (k == SPK_HEADER) {
        lines_unit_close(c, L, 1);
        L->hdr_wait = true;
        L->hdr_role = role;
        L->hdr_hash = fnv_lower(FNV1A64_INIT, (const uint8_t *)s + nb, ne - nb);
    } else if (L->hdr_wait) {
        L->hdr_wait = false;
        if (!L->hdr_role) content_set_add_hash(c, L->set_t, L->hdr_hash);
        talk_begin(c, L, s, n, end);
    } else {
        L->t_other++;
        if (c->unit_open[1] && L->units) {
            L->t_chars += utf8_chars((const uint8_t *)s, n);
            unit_add(c, L, 1, s, n, end);
        }
    }
}

void lines_feed(content_ctx *c, lines *L, const uint8_t *p, size_t n)
{
    pthread_once(&names_once, names_build);
    if (L->skip) {
        const uint8_t *lf = memchr(p, '\n', n);
        if (!lf) return;
        L->skip = false;
        n -= (size_t)(lf + 1 - p);
        p = lf + 1;
    }
    const uint8_t *ids_end = NULL; /* whole lines up to here were scanned for identifiers */
    while (n) {
        const uint8_t *lf = memchr(p, '\n', n);
        size_t seg = lf ? (size_t)(lf - p) : n;
        size_t room = sizeof(L->buf) - L->len;
        if (seg >= room && !(lf && seg == room)) {
            /* the piece is full: process it as part of a long line */
            memcpy(L->buf + L->len, p, room);
            text_piece(c, L, L->buf, sizeof(L->buf), !L->piece_cont, false, false);
            L->piece_cont = true;
            L->len = 0;
            p += room;
            n -= room;
            continue;
        }
        if (lf && L->len == 0) {
            /* a whole line in the input: classified where it is.  The
             * identifier scan takes every whole line of the input in one
             * call, not one call per line (a third of the classifier's
             * time on a pasted transcript): neither an address nor a
             * member handle crosses a line end, and a set ignores a
             * second copy of an identifier scanned twice. */
            if (L->set_ids >= 0 && !ids_end) {
                ids_end = memrchr(p, '\n', n);
                content_scan_ids(c, L->set_ids, p, (size_t)(ids_end - p));
            }
            text_piece(c, L, (const char *)p, seg, !L->piece_cont, true, true);
        } else {
            memcpy(L->buf + L->len, p, seg);
            L->len += seg;
            if (!lf) return;
            text_piece(c, L, L->buf, L->len, !L->piece_cont, true, false);
        }
        L->piece_cont = false;
        L->len = 0;
        p += seg + 1;
        n -= seg + 1;
    }
}

/* The text ends (or bytes go missing): the buffered piece ends its line. */
void lines_flush(content_ctx *c, lines *L)
{
    pthread_once(&names_once, names_build);
    if (L->len || L->piece_cont) text_piece(c, L, L->buf, L->len, !L->piece_cont, true, false);
    L->len = 0;
    L->piece_cont = false;
}

/* Bytes are missing: the cut line ends here, the next whole line resumes
 * the classification (an mbox "From " line is accepted right after). */
void lines_gap(content_ctx *c, lines *L)
{
    lines_flush(c, L);
    L->skip = true;
    L->prev_blank = true;
    if (L->hdr_wait) L->t_other++;
    L->hdr_wait = false;
}
