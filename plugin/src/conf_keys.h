/*
 * conf_keys.h -- validation of the configuration file's keys against what
 * the loaded rules declare and the host's sections (conf_keys.c).
 */
#ifndef EGRET_CONF_KEYS_H
#define EGRET_CONF_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct rules;

/* Records that a rule reads configuration key 'key' (dotted) with a
 * default of Lua type 'type' (LUA_TNIL = any type). */
void rules_config_declare(struct rules *r, const char *key, int type);

/* After loading: reports (on_log, level 0, "FILE:LINE: ...") every key of
 * the configuration file that no rule declared and that is outside the
 * host's sections, and every value of the wrong type.  Returns how many. */
size_t rules_config_validate(struct rules *r);

/* True when key[0..len) names a host section (capture, outputs, ...). */
bool conf_is_host_section(const char *key, size_t len);

/* The host sections, NULL-terminated. */
const char *const *conf_host_sections(void);

/* Line of dotted 'key' in a configuration file's text; 0 when it is not
 * written there. */
int conf_key_line(const char *src, size_t n, const char *key);

/* Calls fn for each host setting of the built configuration, in key
 * order (egret_config_file_read). */
struct egret_conf_value;
int rules_config_walk_host(struct rules *r, int (*fn)(const struct egret_conf_value *, void *),
                           void *ud);

#endif
