/*
 * config.h -- egret_config's defaults and its versions.  The struct only
 * ever grows at its end; a host passes the size it was built with
 * (egret_config_init) and the library defaults what that size does not
 * cover.
 */
#ifndef EGRET_CONFIG_H
#define EGRET_CONFIG_H

#include <stddef.h>

#include "egret.h"

/* The size of egret 0.1's egret_config: the smallest accepted. */
size_t config_min_size(void);

/* Copies 'in' (in->struct_size bytes) over the defaults into *out, a
 * whole current struct.  -1 when in->struct_size is below
 * config_min_size() or above sizeof(egret_config). */
int config_normalize(const egret_config *in, egret_config *out);

#endif /* EGRET_CONFIG_H */
