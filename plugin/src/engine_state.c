/*
 * engine_state.c -- the engine services its parts share: emitting a
 * record to the host, logging, the destination's geo.
 */
#include "engine_state.h"

#include <stdarg.h>
#include <stdio.h>

void engine_log(egret_engine *e, int level, const char *fmt, ...)
{
    if (!e->cfg.on_log) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e->cfg.on_log(level, msg, e->cfg.log_ud);
}

void engine_emit(egret_engine *e, egret_event_type type, uint64_t ts, uint64_t flow_id,
                 int severity)
{
    size_t len;
    const char *text = eve_text(&e->out, &len);
    if (!text || !e->cfg.on_event) return;
    egret_event ev = {type, ts, flow_id, severity, text, len};
    e->c.records++;
    e->cfg.on_event(&ev, e->cfg.event_ud);
}

/* The destination's geo, looked up once per record or rule view (the
 * external side only); NULL when there is none. */
const geo_result *engine_dest_geo(egret_engine *e, const flow *f, const fext *x, geo_result *buf)
{
    if (x->srv_internal || !e->geo || !geo_lookup(e->geo, f->ip_v, f->srv, buf)) return NULL;
    return buf;
}
