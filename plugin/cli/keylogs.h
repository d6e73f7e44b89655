/*
 * keylogs.h -- the command's TLS key logs: --tls-keylog files followed as
 * clients append to them, and the Decryption Secrets Blocks of pcapng
 * inputs, both into one egret_keylog that every engine reads.
 */
#ifndef EGRET_CLI_KEYLOGS_H
#define EGRET_CLI_KEYLOGS_H

#include <stddef.h>

#include "capture.h"
#include "egret.h"

/* Opens the key log: every file named (read now, then followed).  With no
 * file, a small key log still takes the keys pcapng captures carry.
 * Malformed lines are reported on stderr with file:line (never their
 * text).  NULL, with a message on stderr, when a file cannot be followed. */
egret_keylog *keylogs_open(const char *const *files, size_t n, int quiet);

/* Passes the capture's Decryption Secrets Blocks read since the last call
 * (*used of them were passed) to the key log. */
void keylogs_take_secrets(egret_keylog *k, cap_source *s, size_t *used, const char *name);

#endif /* EGRET_CLI_KEYLOGS_H */
