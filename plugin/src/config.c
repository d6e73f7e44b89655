/*
 * config.c -- egret_config's defaults and its versions (config.h).
 */
#include "config.h"

#include <string.h>

static void config_defaults(egret_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->struct_size = sizeof(*cfg);
    cfg->eve_types = EGRET_EVE_DEFAULT;
    cfg->max_flows = 1000000;
    cfg->tcp_timeout_s = 3600;
    cfg->tcp_closed_timeout_s = 30;
    cfg->udp_timeout_s = 120;
    cfg->other_timeout_s = 30;
    cfg->dpi_max_packets = 0; /* ndpiReader 4.2's budgets: 80 TCP, 24 UDP */
    cfg->community_id = 1;
    cfg->ai_to_ndpi = 1;
    cfg->tick_interval_s = 5;
    cfg->tick_bytes = 1u << 20;
}

void egret_config_init_sized(egret_config *cfg, size_t size)
{
    if (!cfg) return;
    egret_config d;
    config_defaults(&d);
    size_t n = size < sizeof(d) ? size : sizeof(d);
    memcpy(cfg, &d, n);
    if (size >= sizeof(uint32_t)) cfg->struct_size = (uint32_t)size;
}

/* egret 0.1's last field; fields added since sit after it. */
size_t config_min_size(void)
{
    return offsetof(egret_config, log_ud) + sizeof(void *);
}

int config_normalize(const egret_config *in, egret_config *out)
{
    config_defaults(out);
    if (in->struct_size < config_min_size() || in->struct_size > sizeof(egret_config)) return -1;
    memcpy(out, in, in->struct_size);
    out->struct_size = sizeof(*out);
    return 0;
}
