/*
 * keylog.h -- the NSS key log (SSLKEYLOGFILE): a bounded table of TLS
 * secrets keyed by the ClientHello random, and an incremental line parser
 * that fills it (from a growing file, or from a whole buffer such as a
 * pcapng Decryption Secrets Block).
 *
 * Format (one secret per line, '#' starts a comment line):
 *     LABEL <client_random: 64 hex digits> <secret: hex>
 * Labels kept: CLIENT_RANDOM (TLS 1.2 master secret, 48 bytes) and the
 * TLS 1.3 traffic secrets CLIENT_EARLY_TRAFFIC_SECRET,
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0 (32 or 48 bytes: the
 * suite's hash length).  Any other label (EXPORTER_SECRET,
 * CLIENT_TRAFFIC_SECRET_N, ...), comments and blank lines are *ignored*
 * (counted, not malformed).  A line with a kept label whose fields are
 * wrong, or any line longer than KEYLOG_LINE_MAX, is *malformed*: counted
 * and reported through a callback with its line number and a fixed reason
 * string, never fatal.
 *
 * Secrets never appear in a message, a log line or a counter; they are
 * wiped (OPENSSL_cleanse) when a table entry is evicted, removed or freed,
 * and the parser wipes its line buffer after each line.
 *
 * Sharing between engines: one table serves every engine of a process
 * (with --workers N, a session lands on one worker but every worker must
 * see every key).  Lookups (keylog_table_get) take a read lock and copy the
 * secret out; inserts take the write lock.  So one parser fills one table
 * and all workers read it concurrently.  Eviction is by insertion age
 * (oldest entry first, only when no entry is free) so that readers never
 * write.
 */
#ifndef EGRET_KEYLOG_H
#define EGRET_KEYLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KEYLOG_CR_LEN           32   /* ClientHello.random */
#define KEYLOG_SECRET_MAX       48   /* master secret; SHA-384 traffic secret */
#define KEYLOG_LINE_MAX         1024 /* longer lines are malformed (the longest valid is ~200) */
#define KEYLOG_DEFAULT_CAPACITY 16384u

typedef enum keylog_label {
    KEYLOG_CLIENT_RANDOM,    /* TLS 1.2 master secret */
    KEYLOG_CLIENT_EARLY,     /* CLIENT_EARLY_TRAFFIC_SECRET */
    KEYLOG_CLIENT_HANDSHAKE, /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    KEYLOG_SERVER_HANDSHAKE, /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    KEYLOG_CLIENT_TRAFFIC_0, /* CLIENT_TRAFFIC_SECRET_0 */
    KEYLOG_SERVER_TRAFFIC_0, /* SERVER_TRAFFIC_SECRET_0 */
    KEYLOG_NLABELS
} keylog_label;

/* ---- the table ---- */

typedef struct keylog_table keylog_table;

typedef struct keylog_table_stats {
    uint64_t capacity;  /* entries (client randoms) the table can hold */
    uint64_t entries;   /* entries held now */
    uint64_t secrets;   /* secrets stored (a re-stored one counts again) */
    uint64_t evictions; /* entries dropped (oldest first) to make room */
    uint64_t lookups;   /* keylog_table_get calls */
    uint64_t hits;      /* of those, found */
} keylog_table_stats;

/* A table for 'capacity' client randoms (0 = KEYLOG_DEFAULT_CAPACITY),
 * allocated once (no allocation afterwards).  NULL on allocation failure. */
keylog_table *keylog_table_new(size_t capacity);

/* Wipes every secret and frees the table.  No reader may still use it.
 * Accepts NULL. */
void keylog_table_free(keylog_table *t);

/* Stores one secret (copied; the caller wipes its own copy).  A second
 * secret for a known client random joins its entry; the same label
 * replaces the old value.  When the table is full the oldest entry is
 * wiped and dropped (counted).  Returns 0, or -1 if len is 0 or above
 * KEYLOG_SECRET_MAX.  Takes the write lock. */
int keylog_table_put(keylog_table *t, keylog_label label, const uint8_t cr[KEYLOG_CR_LEN],
                     const uint8_t *secret, size_t len);

/* Copies the secret for (cr, label) into out (cap bytes) and returns its
 * length, or 0 when absent (or cap too small).  No allocation; takes the
 * read lock, so engines on several threads may call it at once. */
size_t keylog_table_get(keylog_table *t, const uint8_t cr[KEYLOG_CR_LEN], keylog_label label,
                        uint8_t *out, size_t cap);

/* Wipes and drops the entry for cr (e.g. once its session has derived its
 * keys).  Returns 1 if there was one. */
int keylog_table_remove(keylog_table *t, const uint8_t cr[KEYLOG_CR_LEN]);

/* Incremented by every put: a session waiting for its key retries a
 * lookup only when this changed.  Lock-free.  0 while the table has never
 * held a key and no key source was announced (keylog_table_expect). */
uint64_t keylog_table_generation(const keylog_table *t);

/* A key source (a followed key log file) feeds this table: from now on the
 * generation is not 0, so that TLS flows are decrypted -- or held for
 * their keys -- even while the file is still empty (a sensor started
 * before its clients wrote their first key). */
void keylog_table_expect(keylog_table *t);

void keylog_table_get_stats(keylog_table *t, keylog_table_stats *out);

/* ---- the parser ---- */

/* Reports a malformed line: its 1-based number in the current file (or
 * buffer) and a fixed reason.  Never given the line's text. */
typedef void (*keylog_bad_fn)(void *ud, uint64_t line, const char *reason);

/* Caller storage; set up with keylog_reader_init.  The counters are
 * read-only for callers. */
typedef struct keylog_reader {
    keylog_table *table;
    keylog_bad_fn bad;
    void *ud;
    uint64_t line_no;   /* lines completed in the current file */
    uint64_t lines;     /* lines read, over all restarts */
    uint64_t stored;    /* secrets stored */
    uint64_t ignored;   /* comments, blank lines, other labels */
    uint64_t malformed; /* bad lines (reported through 'bad') */
    uint64_t restarts;  /* keylog_reader_restart calls */
    size_t len;         /* bytes of the pending partial line in 'line' */
    int skipping;       /* the pending line is too long: drop to its newline */
    char line[KEYLOG_LINE_MAX];
} keylog_reader;

/* bad may be NULL (malformed lines are then only counted). */
void keylog_reader_init(keylog_reader *r, keylog_table *t, keylog_bad_fn bad, void *ud);

/* Parses every complete line in data; a partial last line is kept (up to
 * KEYLOG_LINE_MAX) until a later feed brings its newline.  Lines end with
 * "\n" or "\r\n". */
void keylog_reader_feed(keylog_reader *r, const void *data, size_t len);

/* End of input: parses a pending last line that has no newline. */
void keylog_reader_finish(keylog_reader *r);

/* The file was truncated or replaced: drops (wipes) a pending partial line
 * and numbers lines from 1 again.  Keys already stored stay. */
void keylog_reader_restart(keylog_reader *r);

/* Wipes the line buffer.  The reader may be reused after init. */
void keylog_reader_close(keylog_reader *r);

/* Parses a whole buffer (e.g. a pcapng Decryption Secrets Block's text; the
 * last line needs no newline) into t.  Returns the number of secrets
 * stored; *malformed (if not NULL) gets the number of bad lines. */
size_t keylog_parse_buffer(keylog_table *t, const void *data, size_t len, keylog_bad_fn bad,
                           void *ud, uint64_t *malformed);

/* ---- following a key log file ---- */

/* Follows a file that clients append to (caller storage).  A missing file
 * is not an error: it is opened when it appears.  Truncation (size below
 * what was read) or replacement (the path now names another inode:
 * rotation) restarts reading from the file's beginning. */
typedef struct keylog_file {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t off;        /* bytes read from the current file */
    uint64_t reopens; /* truncations and rotations followed */
    keylog_reader rd;
} keylog_file;

/* Returns 0, or -1 if path is NULL or the copy of the path fails. */
int keylog_file_open(keylog_file *f, const char *path, keylog_table *t, keylog_bad_fn bad,
                     void *ud);

/* Reads what was appended since the last call (at most 'budget' bytes, 0 =
 * all) and parses complete lines.  Returns the bytes read, or -1 on a read
 * error (the file is reopened on the next call). */
long keylog_file_poll(keylog_file *f, size_t budget);

/* SIGHUP: reads the file again from its beginning. */
void keylog_file_reread(keylog_file *f);

void keylog_file_close(keylog_file *f);

#endif /* EGRET_KEYLOG_H */
