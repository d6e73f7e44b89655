/*
 * tlskeys.h -- the engine's access to a host's egret_keylog (tlskeys.c).
 */
#ifndef EGRET_TLSKEYS_H
#define EGRET_TLSKEYS_H

#include "egret.h"
#include "keylog.h"

/* The key table behind k (NULL for NULL). */
keylog_table *tlskeys_table(egret_keylog *k);

#endif /* EGRET_TLSKEYS_H */
