/*
 * catalog.c -- AI-endpoint catalog: TSV loading, host and IP attribution.
 *
 * Owns every string it loaded (provider, pattern, source) and two indexes
 * rebuilt after each load:
 *
 *   host index  open-addressing hash keyed by a pattern's literal label
 *               suffix ("openai.com", "amazonaws.com" for
 *               "bedrock-runtime.*.amazonaws.com").  The hash runs right to
 *               left, so a lookup extends one running hash while it walks the
 *               host's characters from the right and probes the table at each
 *               label boundary: O(host length) probes, no allocation.  A bucket
 *               holds at most one plain entry, one "*." entry and a short list
 *               of glob entries that share the literal suffix.
 *   ip ranges   a netset (longest-prefix match) whose value is the row's
 *               index in the ranges array.
 *
 * Pattern semantics and specificity: catalog.h.  File format:
 * rules/data/README.md.
 */
#include "catalog.h"
#include "errbuf.h"
#include "fcheck.h"
#include "fnv.h"
#include "netset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define HOST_MAX     253 /* RFC 1035 2.3.4, presentation form without the root dot */
#define LABEL_MAX    63
#define LINE_MAX_TSV 4096

/* ==== entries ==== */

enum { PAT_PLAIN, PAT_SUB, PAT_GLOB };

typedef struct entry {
    char *provider, *pattern, *source;
    catalog_kind kind;
    uint8_t type;      /* PAT_* */
    uint8_t sub;       /* leading "*." label: at least one extra host label */
    uint8_t nlabels;   /* labels in the pattern, the leading '*' included */
    uint16_t nliteral; /* characters other than '*' and '.' */
    uint16_t glob_off; /* GLOB: start of the globbed labels (after a leading "*.") */
    uint16_t key_off;  /* start of the literal label suffix (the index key) */
} entry;

typedef struct bucket {
    uint64_t hash;
    const char *key; /* points into an entry's pattern; NULL = empty slot */
    uint16_t keylen;
    int32_t plain, sub; /* entry index or -1 */
    uint32_t glob_start, glob_n;
} bucket;

typedef struct range {
    char *provider, *cidr, *source;
    catalog_kind kind;
    netset_prefix pf;
} range;

struct catalog {
    entry *ents;
    size_t n_ents, cap_ents;
    bucket *buckets;
    size_t n_buckets; /* power of two, or 0 */
    uint32_t *globs;  /* entry indexes, grouped per bucket */

    range *ranges;
    size_t n_ranges, cap_ranges;
    netset *ipset; /* value: index in ranges */
};

static const char *const kind_names[] = {"api", "consumer", "cloud", "gateway"};

const char *catalog_kind_name(catalog_kind kind)
{
    if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0]) return "?";
    return kind_names[kind];
}

static int kind_parse(const char *s, catalog_kind *out)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (catalog_kind)i;
            return 0;
        }
    }
    return -1;
}

/* FNV-1a over s[0..n) from the last byte to the first, so that a lookup
 * can extend one hash while it walks a host name leftwards. */
static uint64_t hash_rev(const char *s, size_t n)
{
    uint64_t h = FNV1A64_INIT;
    while (n > 0) h = fnv1a64_byte(h, (uint8_t)s[--n]);
    return h;
}

static void entry_clear(entry *e)
{
    free(e->provider);
    free(e->pattern);
    free(e->source);
}

static void range_clear(range *r)
{
    free(r->provider);
    free(r->cidr);
    free(r->source);
}

catalog *catalog_new(void)
{
    return calloc(1, sizeof(catalog));
}

void catalog_free(catalog *cat)
{
    if (!cat) return;
    for (size_t i = 0; i < cat->n_ents; i++) entry_clear(&cat->ents[i]);
    for (size_t i = 0; i < cat->n_ranges; i++) range_clear(&cat->ranges[i]);
    free(cat->ents);
    free(cat->buckets);
    free(cat->globs);
    free(cat->ranges);
    netset_free(cat->ipset);
    free(cat);
}

size_t catalog_count(const catalog *cat)
{
    return cat ? cat->n_ents : 0;
}

size_t catalog_count_ranges(const catalog *cat)
{
    return cat ? cat->n_ranges : 0;
}

/* ==== pattern parsing ==== */

/* Normalises 'in' into e->pattern's future text (out, lowercased, trailing dot
 * dropped) and fills the shape fields of e.  Returns NULL or a reason. */
static const char *pattern_parse(const char *in, char out[HOST_MAX + 1], entry *e)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.') n--;
    if (n == 0) return "empty pattern";
    if (n > HOST_MAX) return "longer than 253 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == '*'))
            return "only letters, digits, '-', '_', '.' and '*' are allowed";
        out[i] = (char)c;
    }
    out[n] = '\0';

    /* Walk labels right to left: find the literal suffix, count labels. */
    unsigned labels = 0, literal = 0;
    size_t end = n, key_off = n;
    bool in_key = true;
    while (end > 0 || labels == 0) {
        size_t start = end;
        while (start > 0 && out[start - 1] != '.') start--;
        size_t len = end - start;
        if (len == 0) return "empty label";
        if (len > LABEL_MAX) return "label longer than 63 characters";
        bool star = memchr(out + start, '*', len) != NULL;
        if (star && labels == 0) return "the rightmost label must be literal";
        if (star) in_key = false;
        if (in_key) key_off = start;
        for (size_t i = start; i < end; i++) literal += out[i] != '*';
        labels++;
        if (start == 0) break;
        end = start - 1; /* skip the dot */
        if (end == 0) return "empty label";
    }
    e->nlabels = (uint8_t)labels;
    e->nliteral = (uint16_t)literal;
    e->key_off = (uint16_t)key_off;
    e->sub = n >= 2 && out[0] == '*' && out[1] == '.';
    e->glob_off = e->sub ? 2 : 0;
    if (key_off == 0)
        e->type = PAT_PLAIN;
    else if (e->sub && key_off == 2)
        e->type = PAT_SUB;
    else
        e->type = PAT_GLOB;
    return NULL;
}

/* ==== TSV reading ==== */

static char *trim(char *s)
{
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* Calls row(cols, ud, msg) for every data row of a 4-column TSV file.  row
 * returns NULL or a message, which becomes "path:line: message".  Comment
 * ('#') and blank lines are skipped, and so is a first row whose first
 * column is "provider" (the header). */
typedef const char *(*row_fn)(char **cols, void *ud, char *msg, size_t msglen);

static int read_tsv(const char *path, row_fn row, void *ud, char *err, size_t errlen)
{
    char bad[300];
    FILE *f = fcheck_fopen(path, FCHECK_CATALOG_MAX, bad, sizeof(bad));
    if (!f) {
        errbuf_fail(err, errlen, "%s", bad);
        return -1;
    }
    char *line = NULL;
    size_t linecap = 0;
    ssize_t got;
    char msg[256];
    unsigned lineno = 0;
    bool seen_row = false;
    int rc = 0;
    while ((got = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        size_t n = (size_t)got;
        if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
        if (n > LINE_MAX_TSV) {
            errbuf_fail(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
                        LINE_MAX_TSV);
            rc = -1;
            break;
        }
        if (strlen(line) != n) {
            errbuf_fail(err, errlen, "%s:%u: NUL byte in line", path, lineno);
            rc = -1;
            break;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0' || *p == '#') continue;

        char *cols[4];
        int ncols = 0;
        char *s = line;
        for (;;) {
            char *tab = strchr(s, '\t');
            if (ncols < 4) cols[ncols] = s;
            ncols++;
            if (!tab) break;
            *tab = '\0';
            s = tab + 1;
        }
        if (ncols != 4) {
            errbuf_fail(err, errlen, "%s:%u: expected 4 tab-separated columns, got %d", path,
                        lineno, ncols);
            rc = -1;
            break;
        }
        for (int i = 0; i < 4; i++) cols[i] = trim(cols[i]);
        if (!seen_row && strcmp(cols[0], "provider") == 0) {
            seen_row = true;
            continue;
        }
        seen_row = true;
        const char *why = row(cols, ud, msg, sizeof msg);
        if (why) {
            errbuf_fail(err, errlen, "%s:%u: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        errbuf_fail(err, errlen, "%s: read error", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

static const char *check_common(char **cols, catalog_kind *kind, char *msg, size_t msglen)
{
    if (cols[0][0] == '\0') return "empty provider column";
    if (strlen(cols[0]) > 63) return "provider longer than 63 characters";
    if (kind_parse(cols[1], kind) != 0) {
        snprintf(msg, msglen, "unknown kind '%.40s' (expected api, consumer, cloud or gateway)",
                 cols[1]);
        return msg;
    }
    if (cols[3][0] == '\0') return "empty source column (every row needs its source)";
    return NULL;
}

/* ==== host entries: load, merge, index ==== */

typedef struct pending {
    entry *v;
    size_t n, cap;
    bool oom;
} pending;

static const char *host_row(char **cols, void *ud, char *msg, size_t msglen)
{
    pending *pd = ud;
    entry e;
    memset(&e, 0, sizeof e);
    const char *why = check_common(cols, &e.kind, msg, msglen);
    if (why) return why;
    char norm[HOST_MAX + 1];
    why = pattern_parse(cols[2], norm, &e);
    if (why) {
        snprintf(msg, msglen, "bad pattern '%.80s': %s", cols[2], why);
        return msg;
    }
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 64;
        entry *v = realloc(pd->v, cap * sizeof *v);
        if (!v) return "out of memory";
        pd->v = v;
        pd->cap = cap;
    }
    e.provider = strdup(cols[0]);
    e.pattern = strdup(norm);
    e.source = strdup(cols[3]);
    if (!e.provider || !e.pattern || !e.source) {
        entry_clear(&e);
        return "out of memory";
    }
    pd->v[pd->n++] = e;
    return NULL;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

/* Finds the bucket for key[0..n) with hash h, or the empty slot to use. */
static bucket *bucket_slot(bucket *b, size_t nb, uint64_t h, const char *key, size_t n)
{
    size_t mask = nb - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (!b[i].key) return &b[i];
        if (b[i].hash == h && b[i].keylen == n && memcmp(b[i].key, key, n) == 0) return &b[i];
    }
}

static int rebuild_index(catalog *cat)
{
    size_t nb = pow2_at_least(cat->n_ents * 2 + 1);
    bucket *b = calloc(nb, sizeof *b);
    uint32_t *globs = malloc((cat->n_ents ? cat->n_ents : 1) * sizeof *globs);
    if (!b || !globs) {
        /* The old index may point at freed patterns: drop it, match nothing. */
        free(b);
        free(globs);
        free(cat->buckets);
        free(cat->globs);
        cat->buckets = NULL;
        cat->globs = NULL;
        cat->n_buckets = 0;
        return -1;
    }
    /* Pass 1: create buckets, count globs per bucket. */
    for (size_t i = 0; i < cat->n_ents; i++) {
        const entry *e = &cat->ents[i];
        const char *key = e->pattern + e->key_off;
        size_t n = strlen(key);
        uint64_t h = hash_rev(key, n);
        bucket *s = bucket_slot(b, nb, h, key, n);
        if (!s->key) {
            s->key = key;
            s->keylen = (uint16_t)n;
            s->hash = h;
            s->plain = s->sub = -1;
        }
        if (e->type == PAT_PLAIN) s->plain = (int32_t)i;
        if (e->type == PAT_SUB) s->sub = (int32_t)i;
        if (e->type == PAT_GLOB) s->glob_n++;
    }
    /* Pass 2: give each bucket its slice of 'globs', then fill in order. */
    uint32_t off = 0;
    for (size_t i = 0; i < nb; i++) {
        b[i].glob_start = off;
        off += b[i].glob_n;
        b[i].glob_n = 0;
    }
    for (size_t i = 0; i < cat->n_ents; i++) {
        const entry *e = &cat->ents[i];
        if (e->type != PAT_GLOB) continue;
        const char *key = e->pattern + e->key_off;
        size_t n = strlen(key);
        bucket *s = bucket_slot(b, nb, hash_rev(key, n), key, n);
        globs[s->glob_start + s->glob_n++] = (uint32_t)i;
    }
    free(cat->buckets);
    free(cat->globs);
    cat->buckets = b;
    cat->globs = globs;
    cat->n_buckets = nb;
    return 0;
}

/* Merges pd into cat: same pattern replaces, new pattern appends. */
static int merge_entries(catalog *cat, pending *pd)
{
    size_t need = cat->n_ents + pd->n;
    if (need > cat->cap_ents) {
        entry *v = realloc(cat->ents, need * sizeof *v);
        if (!v) return -1;
        cat->ents = v;
        cat->cap_ents = need;
    }
    /* Pattern -> index map over old and new entries (index + 1; 0 = empty). */
    size_t nm = pow2_at_least(need * 2 + 1), mask = nm - 1;
    uint32_t *map = calloc(nm, sizeof *map);
    if (!map) return -1;
    size_t old_n = cat->n_ents;
    for (size_t k = 0; k < old_n + pd->n; k++) {
        entry *e = k < old_n ? &cat->ents[k] : &pd->v[k - old_n];
        size_t i = (size_t)hash_rev(e->pattern, strlen(e->pattern)) & mask;
        while (map[i] && strcmp(cat->ents[map[i] - 1].pattern, e->pattern) != 0) i = (i + 1) & mask;
        if (k < old_n) {
            map[i] = (uint32_t)k + 1;
            continue;
        }
        if (map[i]) {
            entry *old = &cat->ents[map[i] - 1];
            entry_clear(old);
            *old = *e; /* keeps the first position, takes the new values */
        } else {
            cat->ents[cat->n_ents++] = *e;
            map[i] = (uint32_t)cat->n_ents;
        }
        memset(e, 0, sizeof *e); /* now owned by cat */
    }
    free(map);
    return 0;
}

int catalog_load(catalog *cat, const char *path, char *err, size_t errlen)
{
    pending pd = {0};
    int rc = read_tsv(path, host_row, &pd, err, errlen);
    if (rc == 0 && merge_entries(cat, &pd) != 0) {
        errbuf_fail(err, errlen, "%s: out of memory", path);
        rc = -1;
    }
    for (size_t i = 0; i < pd.n; i++) entry_clear(&pd.v[i]); /* merged ones were zeroed */
    free(pd.v);
    if (rc == 0 && rebuild_index(cat) != 0) {
        errbuf_fail(err, errlen, "%s: out of memory", path);
        rc = -1;
    }
    return rc;
}

/* ==== host matching ==== */

/* Glob match of p[0..pn) against s[0..sn); '*' matches any run of characters.
 * Classic iterative backtracking: O(pn * sn) worst case, both <= 63. */
static bool glob_label(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pn && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*') pi++;
    return pi == pn;
}

/* Host labels left of the matched key: starts[0..k), ends at ends[]. */
static bool glob_match(const entry *e, const char *host, const uint16_t *starts,
                       const uint16_t *ends, unsigned k)
{
    /* Pattern labels between glob_off and key_off - 1, walked right to left. */
    const char *pat = e->pattern;
    size_t pend = (size_t)e->key_off - 1; /* the dot before the key */
    unsigned hk = k;
    for (;;) {
        size_t pstart = pend;
        while (pstart > e->glob_off && pat[pstart - 1] != '.') pstart--;
        if (hk == 0) return false;
        hk--;
        if (!glob_label(pat + pstart, pend - pstart, host + starts[hk],
                        (size_t)(ends[hk] - starts[hk])))
            return false;
        if (pstart <= e->glob_off) break;
        pend = pstart - 1;
    }
    return e->sub ? hk > 0 : true;
}

static bool better(const catalog *cat, int32_t cand, int32_t best)
{
    if (best < 0) return true;
    const entry *a = &cat->ents[cand], *b = &cat->ents[best];
    if (a->nlabels != b->nlabels) return a->nlabels > b->nlabels;
    if (a->nliteral != b->nliteral) return a->nliteral > b->nliteral;
    return cand > best;
}

bool catalog_match_host(const catalog *cat, const char *host, size_t len, catalog_match *out)
{
    if (!cat || !host || cat->n_buckets == 0) return false;
    if (len > 0 && host[len - 1] == '.') len--;
    if (len == 0 || len > HOST_MAX) return false;

    char buf[HOST_MAX + 1];
    uint16_t starts[HOST_MAX / 2 + 1], ends[HOST_MAX / 2 + 1];
    unsigned nl = 0;
    size_t ls = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || host[i] == '.') {
            if (i == ls || i - ls > LABEL_MAX) return false; /* empty or long label */
            starts[nl] = (uint16_t)ls;
            ends[nl] = (uint16_t)i;
            nl++;
            ls = i + 1;
            if (i < len) buf[i] = '.';
            continue;
        }
        unsigned char c = (unsigned char)host[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false; /* also rejects '*', NUL and every non-ASCII byte */
        buf[i] = (char)c;
    }

    int32_t best = -1;
    uint64_t h = FNV1A64_INIT;
    unsigned k = nl; /* label index of the suffix being probed */
    size_t mask = cat->n_buckets - 1;
    for (size_t i = len; i-- > 0;) {
        h = fnv1a64_byte(h, (uint8_t)buf[i]);
        if (i != 0 && buf[i - 1] != '.') continue;
        k--; /* the suffix starts at label k; labels [0, k) are to its left */
        size_t n = len - i;
        const bucket *s = NULL;
        for (size_t j = (size_t)h & mask;; j = (j + 1) & mask) {
            const bucket *b = &cat->buckets[j];
            if (!b->key) break;
            if (b->hash == h && b->keylen == n && memcmp(b->key, buf + i, n) == 0) {
                s = b;
                break;
            }
        }
        if (!s) continue;
        if (s->plain >= 0 && better(cat, s->plain, best)) best = s->plain;
        if (s->sub >= 0 && k > 0 && better(cat, s->sub, best)) best = s->sub;
        for (uint32_t g = 0; g < s->glob_n; g++) {
            int32_t idx = (int32_t)cat->globs[s->glob_start + g];
            if (better(cat, idx, best) && glob_match(&cat->ents[idx], buf, starts, ends, k))
                best = idx;
        }
    }
    if (best < 0) return false;
    if (out) {
        const entry *e = &cat->ents[best];
        out->provider = e->provider;
        out->kind = e->kind;
        out->pattern = e->pattern;
        out->source = e->source;
    }
    return true;
}

int catalog_foreach(const catalog *cat, int (*fn)(const catalog_match *m, void *ud), void *ud)
{
    for (size_t i = 0; cat && i < cat->n_ents; i++) {
        const entry *e = &cat->ents[i];
        catalog_match m = {e->provider, e->kind, e->pattern, e->source};
        int rc = fn(&m, ud);
        if (rc) return rc;
    }
    return 0;
}

/* ==== nDPI protos export ==== */

static void ndpi_name(const char *provider, char *out, size_t outlen)
{
    size_t o = 0;
    const char *prefix = "AI_";
    while (*prefix && o + 1 < outlen) out[o++] = *prefix++;
    bool gap = false;
    for (const char *p = provider; *p && o + 1 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum) {
            gap = true;
            continue;
        }
        if (gap && out[o - 1] != '_' && o + 2 < outlen) out[o++] = '_';
        gap = false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

static bool has_plain(const catalog *cat, const char *name)
{
    size_t n = strlen(name), mask = cat->n_buckets - 1;
    uint64_t h = hash_rev(name, n);
    for (size_t j = (size_t)h & mask;; j = (j + 1) & mask) {
        const bucket *b = &cat->buckets[j];
        if (!b->key) return false;
        if (b->hash == h && b->keylen == n && memcmp(b->key, name, n) == 0) return b->plain >= 0;
    }
}

int catalog_write_ndpi_protos(const catalog *cat, FILE *out)
{
    fprintf(out, "# egret AI-endpoint catalog as nDPI 4.2 custom protocols "
                 "(ndpi_load_protocols_file).\n"
                 "# Generated; edit rules/data/ai_endpoints.tsv instead.\n"
                 "# nDPI matches a host and its subdomains, so \"*.x\" is written as \"x\".\n");
    for (size_t i = 0; cat && i < cat->n_ents; i++) {
        const entry *e = &cat->ents[i];
        char name[80];
        ndpi_name(e->provider, name, sizeof name);
        if (e->type == PAT_PLAIN) {
            fprintf(out, "host:\"%s\"@%s\n", e->pattern, name);
        } else if (e->type == PAT_SUB) {
            if (!has_plain(cat, e->pattern + 2))
                fprintf(out, "host:\"%s\"@%s\n", e->pattern + 2, name);
        } else {
            fprintf(out, "# not expressible in nDPI 4.2 (wildcard inside the name): %s@%s\n",
                    e->pattern, name);
        }
    }
    return ferror(out) ? -1 : 0;
}

/* ==== IP ranges ==== */

typedef struct pending_ranges {
    range *v;
    size_t n, cap;
} pending_ranges;

/* Parses a range's CIDR column into r->pf; returns NULL or a reason (in
 * msg when it quotes the text). */
static const char *cidr_parse(const char *s, range *r, char *msg, size_t msglen)
{
    bool host_bits;
    switch (netset_parse(s, strlen(s), &r->pf, &host_bits)) {
    case NETSET_OK:
        break;
    case NETSET_BAD_ADDR:
        return r->pf.ip_v == 6 ? "bad IPv6 address" : "bad IPv4 address";
    case NETSET_BAD_LEN:
        return "bad prefix length";
    case NETSET_LONG_LEN:
        return "prefix length too large";
    default:
        return "bad CIDR";
    }
    if (host_bits) {
        snprintf(msg, msglen, "host bits set in '%.60s'", s);
        return msg;
    }
    return NULL;
}

static const char *range_row(char **cols, void *ud, char *msg, size_t msglen)
{
    pending_ranges *pd = ud;
    range r;
    memset(&r, 0, sizeof r);
    const char *why = check_common(cols, &r.kind, msg, msglen);
    if (why) return why;
    why = cidr_parse(cols[2], &r, msg, msglen);
    if (why) {
        if (why != msg) {
            snprintf(msg, msglen, "%s: '%.60s'", why, cols[2]);
        }
        return msg;
    }
    char text[INET6_ADDRSTRLEN + 5];
    inet_ntop(r.pf.ip_v == 6 ? AF_INET6 : AF_INET, r.pf.addr, text, sizeof text - 4);
    snprintf(text + strlen(text), 5, "/%u", r.pf.len);
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 16;
        range *v = realloc(pd->v, cap * sizeof *v);
        if (!v) return "out of memory";
        pd->v = v;
        pd->cap = cap;
    }
    r.provider = strdup(cols[0]);
    r.cidr = strdup(text);
    r.source = strdup(cols[3]);
    if (!r.provider || !r.cidr || !r.source) {
        range_clear(&r);
        return "out of memory";
    }
    pd->v[pd->n++] = r;
    return NULL;
}

static bool same_prefix(const netset_prefix *a, const netset_prefix *b)
{
    return a->ip_v == b->ip_v && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

/* Builds the lookup set over every range. */
static int rebuild_ranges(catalog *cat)
{
    netset *s = netset_new();
    if (!s) return -1;
    for (size_t i = 0; i < cat->n_ranges; i++) {
        netset_prefix pf = cat->ranges[i].pf;
        pf.value = (int)i;
        if (netset_add_prefix(s, &pf, NULL, 0) != 0) {
            netset_free(s);
            return -1;
        }
    }
    netset_free(cat->ipset);
    cat->ipset = s;
    return 0;
}

int catalog_load_ranges(catalog *cat, const char *path, char *err, size_t errlen)
{
    pending_ranges pd = {0};
    int rc = read_tsv(path, range_row, &pd, err, errlen);
    if (rc == 0) {
        size_t need = cat->n_ranges + pd.n;
        if (need > cat->cap_ranges) {
            range *v = realloc(cat->ranges, need * sizeof *v);
            if (!v) {
                rc = -1;
            } else {
                cat->ranges = v;
                cat->cap_ranges = need;
            }
        }
    }
    if (rc == 0) {
        /* Ranges are few (tens): a linear duplicate check is fine here. */
        for (size_t i = 0; i < pd.n; i++) {
            range *r = &pd.v[i];
            size_t j = 0;
            while (j < cat->n_ranges && !same_prefix(&cat->ranges[j].pf, &r->pf)) j++;
            if (j < cat->n_ranges) range_clear(&cat->ranges[j]);
            cat->ranges[j] = *r;
            if (j == cat->n_ranges) cat->n_ranges++;
            memset(r, 0, sizeof *r);
        }
        if (rebuild_ranges(cat) != 0) rc = -1;
        if (rc != 0) errbuf_fail(err, errlen, "%s: out of memory", path);
    }
    for (size_t i = 0; i < pd.n; i++) range_clear(&pd.v[i]);
    free(pd.v);
    return rc;
}

bool catalog_match_ip(const catalog *cat, int ip_v, const uint8_t *addr, catalog_match *out)
{
    int i;
    if (!cat || !netset_lookup(cat->ipset, ip_v, addr, &i)) return false;
    const range *r = &cat->ranges[i];
    if (out) {
        out->provider = r->provider;
        out->kind = r->kind;
        out->pattern = r->cidr;
        out->source = r->source;
    }
    return true;
}
