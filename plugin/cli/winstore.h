/*
 * winstore.h -- the fleet-wide rule windows' store in Redis
 * (--window-store URL): an egret_fleet_store (egret.h) whose sync and
 * claim run one server-side script each, atomically.
 */
#ifndef EGRET_CLI_WINSTORE_H
#define EGRET_CLI_WINSTORE_H

#include <stddef.h>

#include "egret.h"

typedef struct winstore winstore;

/* Checks the URL; Redis need not be up yet.  NULL with a message in 'err'. */
winstore *winstore_new(const char *url, const char *sensor, char *err, size_t err_size);
const egret_fleet_store *winstore_store(winstore *w);
void winstore_free(winstore *w);

#endif
