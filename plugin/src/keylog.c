/*
 * keylog.c -- the NSS key log: bounded secret table, line parser, file
 * follower (keylog.h has the contract).
 *
 * OpenSSL is used here for one function only, OPENSSL_cleanse (a wipe the
 * compiler may not remove); the AEAD and KDF work lives in tls_crypto.c and the
 * digests in hash.c.
 *
 * Table layout: 'ent' holds 'cap' entries.  Those in use are linked in
 * insertion order (oldest .. newest: the oldest is evicted when a new
 * client random finds no free entry); free ones are those past 'used'
 * (never handed out) and those on the free list (removed by
 * keylog_table_remove when their session ended, or evicted), so a removal
 * never costs a live entry.  'slot' is an open-addressing index
 * (linear probing, a power of two at least twice 'cap', so probe runs stay
 * short) holding entry index + 1, 0 for empty; removal shifts later members
 * of the probe run back instead of leaving tombstones.  Links are entry
 * index + 1, 0 for none.  Nothing is allocated after keylog_table_new.
 */
#include "keylog.h"
#include "ascii.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ==== the table ==== */

typedef struct entry {
    uint32_t prev, next; /* insertion order (in use) or free list (next only) */
    uint8_t cr[KEYLOG_CR_LEN];
    uint8_t len[KEYLOG_NLABELS]; /* 0: that secret is absent */
    uint8_t sec[KEYLOG_NLABELS][KEYLOG_SECRET_MAX];
} entry;

struct keylog_table {
    pthread_rwlock_t lock;
    entry *ent;
    uint32_t *slot;
    size_t cap, mask, count;
    uint32_t oldest, newest, free; /* entry index + 1, 0: none */
    uint32_t used;                 /* entries [0, used) were ever handed out */
    uint64_t seed;
    uint64_t secrets, evictions;
    _Atomic uint64_t generation, lookups, hits;
};

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser: client randoms are random, but an attacker
     * who writes key log lines should not choose our probe runs. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* All 32 bytes go through the mixer: the last eight used to be XORed in
 * unmixed, above the mask, so randoms differing only there (a test rig
 * numbering its sessions) shared one probe run -- 16,000 short sessions
 * ran three times slower. */
static size_t slot_of(const keylog_table *t, const uint8_t cr[KEYLOG_CR_LEN])
{
    uint64_t h = t->seed;
    for (int k = 0; k < KEYLOG_CR_LEN; k += 8) {
        uint64_t w;
        memcpy(&w, cr + k, 8);
        h = mix64(h ^ w);
    }
    return (size_t)h & t->mask;
}

keylog_table *keylog_table_new(size_t capacity)
{
    if (capacity == 0) capacity = KEYLOG_DEFAULT_CAPACITY;
    if (capacity > (1u << 28)) return NULL;
    keylog_table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    size_t nslots = 16;
    while (nslots < 2 * capacity) nslots <<= 1;
    t->ent = calloc(capacity, sizeof(entry));
    t->slot = calloc(nslots, sizeof(uint32_t));
    if (!t->ent || !t->slot || pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t->ent);
        free(t->slot);
        free(t);
        return NULL;
    }
    t->cap = capacity;
    t->mask = nslots - 1;
    /* Entries past 'used' are free without being on the list: a table
     * sized for 16,384 sessions costs no page until a key arrives (the
     * list used to be threaded through all of it, and wiped at the end). */
    t->seed = mix64((uint64_t)(uintptr_t)t ^ (uint64_t)getpid());
    return t;
}

void keylog_table_free(keylog_table *t)
{
    if (!t) return;
    OPENSSL_cleanse(t->ent, t->used * sizeof(entry));
    free(t->ent);
    free(t->slot);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

/* The slot holding cr, or the empty slot ending its probe run. */
static size_t find_slot(const keylog_table *t, const uint8_t cr[KEYLOG_CR_LEN])
{
    size_t i = slot_of(t, cr);
    while (t->slot[i]) {
        const entry *e = &t->ent[t->slot[i] - 1];
        if (memcmp(e->cr, cr, KEYLOG_CR_LEN) == 0) return i;
        i = (i + 1) & t->mask;
    }
    return i;
}

/* Empties slot i and shifts later members of its probe run back
 * (linear-probing deletion without tombstones). */
static void slot_delete(keylog_table *t, size_t i)
{
    size_t j = i;
    t->slot[i] = 0;
    for (;;) {
        j = (j + 1) & t->mask;
        if (!t->slot[j]) return;
        size_t home = slot_of(t, t->ent[t->slot[j] - 1].cr);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            t->slot[i] = t->slot[j];
            t->slot[j] = 0;
            i = j;
        }
    }
}

/* Unlinks entry e (index + 1 = id) from the insertion order, drops it from
 * the index, wipes it and puts it on the free list. */
static void entry_drop(keylog_table *t, uint32_t id)
{
    entry *e = &t->ent[id - 1];
    size_t i = find_slot(t, e->cr);
    if (t->slot[i]) slot_delete(t, i);
    if (e->prev)
        t->ent[e->prev - 1].next = e->next;
    else
        t->oldest = e->next;
    if (e->next)
        t->ent[e->next - 1].prev = e->prev;
    else
        t->newest = e->prev;
    OPENSSL_cleanse(e, sizeof(*e));
    e->next = t->free;
    t->free = id;
    t->count--;
}

int keylog_table_put(keylog_table *t, keylog_label label, const uint8_t cr[KEYLOG_CR_LEN],
                     const uint8_t *secret, size_t len)
{
    if (len == 0 || len > KEYLOG_SECRET_MAX || (unsigned)label >= KEYLOG_NLABELS) return -1;
    pthread_rwlock_wrlock(&t->lock);
    size_t i = find_slot(t, cr);
    entry *e;
    if (t->slot[i]) {
        e = &t->ent[t->slot[i] - 1];
    } else {
        if (!t->free && t->used == t->cap) {
            entry_drop(t, t->oldest); /* full: the oldest goes */
            t->evictions++;
            i = find_slot(t, cr); /* the deletion may have moved the run */
        }
        uint32_t id;
        if (t->free) {
            id = t->free;
            t->free = t->ent[id - 1].next;
        } else {
            id = ++t->used;
        }
        e = &t->ent[id - 1];
        memcpy(e->cr, cr, KEYLOG_CR_LEN);
        e->prev = t->newest;
        e->next = 0;
        if (t->newest)
            t->ent[t->newest - 1].next = id;
        else
            t->oldest = id;
        t->newest = id;
        t->slot[i] = id;
        t->count++;
    }
    OPENSSL_cleanse(e->sec[label], KEYLOG_SECRET_MAX);
    memcpy(e->sec[label], secret, len);
    e->len[label] = (uint8_t)len;
    t->secrets++;
    atomic_fetch_add_explicit(&t->generation, 1, memory_order_release);
    pthread_rwlock_unlock(&t->lock);
    return 0;
}

size_t keylog_table_get(keylog_table *t, const uint8_t cr[KEYLOG_CR_LEN], keylog_label label,
                        uint8_t *out, size_t cap)
{
    size_t n = 0;
    if ((unsigned)label >= KEYLOG_NLABELS) return 0;
    atomic_fetch_add_explicit(&t->lookups, 1, memory_order_relaxed);
    pthread_rwlock_rdlock(&t->lock);
    size_t i = find_slot(t, cr);
    if (t->slot[i]) {
        const entry *e = &t->ent[t->slot[i] - 1];
        if (e->len[label] && e->len[label] <= cap) {
            n = e->len[label];
            memcpy(out, e->sec[label], n);
        }
    }
    pthread_rwlock_unlock(&t->lock);
    if (n) atomic_fetch_add_explicit(&t->hits, 1, memory_order_relaxed);
    return n;
}

int keylog_table_remove(keylog_table *t, const uint8_t cr[KEYLOG_CR_LEN])
{
    pthread_rwlock_wrlock(&t->lock);
    size_t i = find_slot(t, cr);
    int found = t->slot[i] != 0;
    if (found) entry_drop(t, t->slot[i]);
    pthread_rwlock_unlock(&t->lock);
    return found;
}

void keylog_table_expect(keylog_table *t)
{
    atomic_fetch_add_explicit(&t->generation, 1, memory_order_release);
}

uint64_t keylog_table_generation(const keylog_table *t)
{
    return atomic_load_explicit(&((keylog_table *)t)->generation, memory_order_acquire);
}

void keylog_table_get_stats(keylog_table *t, keylog_table_stats *out)
{
    pthread_rwlock_rdlock(&t->lock);
    out->capacity = t->cap;
    out->entries = t->count;
    out->secrets = t->secrets;
    out->evictions = t->evictions;
    pthread_rwlock_unlock(&t->lock);
    out->lookups = atomic_load_explicit(&t->lookups, memory_order_relaxed);
    out->hits = atomic_load_explicit(&t->hits, memory_order_relaxed);
}

/* ==== the line parser ==== */

// clang-format off
static const struct { const char *name; int label; } labels[] = {
    {"CLIENT_RANDOM",                   KEYLOG_CLIENT_RANDOM},
    {"CLIENT_EARLY_TRAFFIC_SECRET",     KEYLOG_CLIENT_EARLY},
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", KEYLOG_CLIENT_HANDSHAKE},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", KEYLOG_SERVER_HANDSHAKE},
    {"CLIENT_TRAFFIC_SECRET_0",         KEYLOG_CLIENT_TRAFFIC_0},
    {"SERVER_TRAFFIC_SECRET_0",         KEYLOG_SERVER_TRAFFIC_0},
};
// clang-format on

/* Decodes exactly 2*n hex digits; false on a non-hex digit. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int h = ascii_hexval((unsigned char)s[2 * i]),
            l = ascii_hexval((unsigned char)s[2 * i + 1]);
        if (h < 0 || l < 0) return false;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void bad_line(keylog_reader *r, const char *why)
{
    r->malformed++;
    if (r->bad) r->bad(r->ud, r->line_no, why);
}

/* One complete line (without its newline; a trailing '\r' is stripped). */
static void parse_line(keylog_reader *r, const char *s, size_t n)
{
    r->line_no++;
    r->lines++;
    if (n && s[n - 1] == '\r') n--;
    size_t i = 0;
    while (i < n && is_space(s[i])) i++;
    if (i == n || s[i] == '#') {
        r->ignored++;
        return;
    }
    size_t l0 = i;
    while (i < n && !is_space(s[i])) i++;
    size_t llen = i - l0;
    int label = -1;
    for (size_t k = 0; k < sizeof(labels) / sizeof(labels[0]); k++)
        if (strlen(labels[k].name) == llen && memcmp(labels[k].name, s + l0, llen) == 0)
            label = labels[k].label;
    if (label < 0) {
        r->ignored++; /* EXPORTER_SECRET, CLIENT_TRAFFIC_SECRET_N, future labels */
        return;
    }
    while (i < n && is_space(s[i])) i++;
    size_t c0 = i;
    while (i < n && !is_space(s[i])) i++;
    size_t clen = i - c0;
    while (i < n && is_space(s[i])) i++;
    size_t s0 = i;
    while (i < n && !is_space(s[i])) i++;
    size_t slen = i - s0;
    while (i < n && is_space(s[i])) i++;

    if (clen == 0 || slen == 0) return bad_line(r, "missing field");
    if (i != n) return bad_line(r, "extra field");
    uint8_t cr[KEYLOG_CR_LEN];
    if (clen != 2 * KEYLOG_CR_LEN || !unhex(s + c0, KEYLOG_CR_LEN, cr))
        return bad_line(r, "client random is not 64 hex digits");
    size_t bytes = slen / 2;
    bool len_ok = (slen % 2 == 0) &&
                  (label == KEYLOG_CLIENT_RANDOM ? bytes == 48 : bytes == 32 || bytes == 48);
    if (!len_ok) return bad_line(r, "secret has the wrong length for its label");
    uint8_t sec[KEYLOG_SECRET_MAX];
    if (!unhex(s + s0, bytes, sec)) {
        OPENSSL_cleanse(sec, sizeof(sec));
        return bad_line(r, "secret is not hex");
    }
    if (keylog_table_put(r->table, (keylog_label)label, cr, sec, bytes) == 0) r->stored++;
    OPENSSL_cleanse(sec, sizeof(sec));
}

void keylog_reader_init(keylog_reader *r, keylog_table *t, keylog_bad_fn bad, void *ud)
{
    memset(r, 0, sizeof(*r));
    r->table = t;
    r->bad = bad;
    r->ud = ud;
}

void keylog_reader_feed(keylog_reader *r, const void *data, size_t len)
{
    const char *p = data, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t take = (size_t)((nl ? nl : end) - p);
        if (r->skipping) {
            /* The rest of a line already reported as too long. */
            if (nl) r->skipping = 0;
        } else if (r->len + take > KEYLOG_LINE_MAX) {
            r->line_no++; /* this line, counted once, now */
            r->lines++;
            bad_line(r, "line too long");
            OPENSSL_cleanse(r->line, r->len);
            r->len = 0;
            r->skipping = nl == NULL;
        } else if (nl && r->len == 0) {
            parse_line(r, p, take); /* the common case: no copy */
        } else {
            memcpy(r->line + r->len, p, take);
            r->len += take;
            if (nl) {
                parse_line(r, r->line, r->len);
                OPENSSL_cleanse(r->line, r->len);
                r->len = 0;
            }
        }
        p += take + (nl ? 1 : 0);
    }
}

void keylog_reader_finish(keylog_reader *r)
{
    if (r->len && !r->skipping) parse_line(r, r->line, r->len);
    OPENSSL_cleanse(r->line, r->len);
    r->len = 0;
    r->skipping = 0;
}

void keylog_reader_restart(keylog_reader *r)
{
    OPENSSL_cleanse(r->line, r->len);
    r->len = 0;
    r->skipping = 0;
    r->line_no = 0;
    r->restarts++;
}

void keylog_reader_close(keylog_reader *r)
{
    OPENSSL_cleanse(r->line, sizeof(r->line));
    r->len = 0;
}

size_t keylog_parse_buffer(keylog_table *t, const void *data, size_t len, keylog_bad_fn bad,
                           void *ud, uint64_t *malformed)
{
    keylog_reader r;
    keylog_reader_init(&r, t, bad, ud);
    keylog_reader_feed(&r, data, len);
    keylog_reader_finish(&r);
    keylog_reader_close(&r);
    if (malformed) *malformed = r.malformed;
    return (size_t)r.stored;
}

/* ==== following a file ==== */

int keylog_file_open(keylog_file *f, const char *path, keylog_table *t, keylog_bad_fn bad, void *ud)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    if (!path || !(f->path = strdup(path))) return -1;
    keylog_reader_init(&f->rd, t, bad, ud);
    return 0;
}

static void file_reset(keylog_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    f->off = 0;
    keylog_reader_restart(&f->rd);
}

long keylog_file_poll(keylog_file *f, size_t budget)
{
    struct stat st;
    if (f->fd >= 0) {
        /* Rotated (the path names another file now) or truncated? */
        struct stat ps;
        if (stat(f->path, &ps) == 0 && (ps.st_ino != f->ino || ps.st_dev != f->dev)) {
            f->reopens++;
            file_reset(f);
        } else if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
            f->reopens++;
            file_reset(f);
        }
    }
    if (f->fd < 0) {
        f->fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (f->fd < 0) return 0; /* not there yet */
        /* a FIFO or device would be read without end (and, without
         * O_NONBLOCK, a FIFO would block the open itself): key logs are files */
        if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            file_reset(f);
            return -1;
        }
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->off = 0;
    }
    char buf[16384];
    long total = 0;
    for (;;) {
        size_t want = sizeof(buf);
        if (budget && budget - (size_t)total < want) want = budget - (size_t)total;
        if (want == 0) break;
        ssize_t n = pread(f->fd, buf, want, f->off);
        if (n < 0) {
            if (errno == EINTR) continue;
            file_reset(f);
            total = -1;
            break;
        }
        if (n == 0) break;
        keylog_reader_feed(&f->rd, buf, (size_t)n);
        f->off += n;
        total += n;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return total;
}

void keylog_file_reread(keylog_file *f)
{
    file_reset(f);
}

void keylog_file_close(keylog_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    keylog_reader_close(&f->rd);
    free(f->path);
    f->path = NULL;
}
