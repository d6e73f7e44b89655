/*
 * rules_dryrun.c -- --check-rules' dry run: every hook of every loaded
 * rule is called on synthetic events, so errors that only show at run time
 * (a misspelt function, indexing nil, a wrong argument type) are reported
 * before a rule meets traffic.
 *
 * The events are plain rule_views, as the engine fills them: an outbound
 * AI upload over TLS (large enough to cross the shipped thresholds, so the
 * alerting branches run too), its decrypted HTTP/2 requests with message
 * content, a DNS answer naming the AI host, a flow with nothing known
 * (failed classification, no AI, no geo), an inbound and an internal flow.
 * Each goes through its hooks in the engine's order, with ticks between.
 * Alerts go nowhere; the rules instance is thrown away afterwards.
 */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#define S(x) ((uint64_t)(x)*1000000ull)

static void base(rule_view *v, uint64_t id, const char *src, const char *dst, bool si, bool di)
{
    memset(v, 0, sizeof(*v));
    v->flow_id = id;
    v->ip_v = 4;
    snprintf(v->src_ip, sizeof(v->src_ip), "%s", src);
    snprintf(v->dest_ip, sizeof(v->dest_ip), "%s", dst);
    v->src_port = 50000;
    v->dest_port = 443;
    v->proto = "TCP";
    v->src_internal = si;
    v->dest_internal = di;
    v->direction = si ? (di ? "internal" : "outbound") : (di ? "inbound" : "external");
    v->app_proto = "failed";
    v->ndpi_proto = "Unknown";
    v->category = "Unspecified";
    v->hostname = v->sni = "";
    v->ai_provider = v->ai_kind = v->ai_host = v->ai_method = v->ai_confidence = "";
    v->geo_country_iso = v->geo_country = v->geo_city = v->geo_as_org = "";
    v->tls_version = v->tls_alpn = v->ja3 = "";
    v->dns_rrname = v->dns_rrtype = v->dns_rcode = "";
    v->http_method = v->http_host = v->http_uri = v->http_user_agent = v->http_content_type = "";
    v->content_shape = v->content_fingerprint = v->content_inner_shape = v->content_purpose = "";
    v->content_messages = v->content_chars = v->content_senders = v->content_records = -1;
    v->content_embedded_messages = v->content_embedded_senders = -1;
    v->content_gaps = v->content_gap_bytes = -1;
    v->start_us = v->last_us = S(1000);
}

static void ai(rule_view *v)
{
    v->app_proto = "tls";
    v->ndpi_proto = "TLS.OpenAI";
    v->category = "AI";
    v->hostname = v->sni = "api.openai.com";
    v->has_ai = true;
    v->ai_provider = "OpenAI";
    v->ai_kind = "api";
    v->ai_host = "api.openai.com";
    v->ai_method = "sni";
    v->ai_confidence = "high";
    v->has_geo = true;
    v->geo_country_iso = "CN"; /* a restricted country: the geo rule's alert branch runs */
    v->geo_country = "China";
    v->geo_city = "Beijing";
    v->geo_as_org = "Example AS";
    v->geo_asn = 64500;
    v->tls_version = "TLS 1.3";
    v->tls_alpn = "h2";
    v->ja3 = "e7d705a3286e19ea42f587b344ee6865";
}

/* Cumulative counters as of t seconds into a steady upload. */
static void grow(rule_view *v, uint64_t t, uint64_t rate)
{
    uint64_t prev = v->payload_toserver;
    uint32_t prev_x = v->exchanges;
    uint64_t prev_t = v->last_us;
    v->last_us = v->start_us + S(t);
    v->payload_toserver = rate * t;
    v->bytes_toserver = v->payload_toserver + v->payload_toserver / 20;
    v->seq_bytes_toserver = v->payload_toserver;
    v->payload_toclient = v->payload_toserver / 50;
    v->bytes_toclient = v->payload_toclient + v->payload_toclient / 10;
    v->seq_bytes_toclient = v->payload_toclient;
    v->pkts_toserver = v->payload_toserver / 1400 + 1;
    v->pkts_toclient = v->pkts_toserver / 2 + 1;
    v->exchanges = (uint32_t)(t * 2);
    v->d_payload_toserver = v->payload_toserver - prev;
    v->d_bytes_toserver = v->d_payload_toserver + v->d_payload_toserver / 20;
    v->d_bytes_toclient = v->d_payload_toserver / 50;
    v->d_exchanges = v->exchanges - prev_x;
    v->d_us = v->last_us - prev_t;
}

static void http(rule_view *v)
{
    v->http_method = "POST";
    v->http_host = "api.openai.com";
    v->http_uri = "/v1/chat/completions";
    v->http_user_agent = "egret-dry-run";
    v->http_content_type = "application/json";
    v->http_body_len = 2500000;
    v->http_status = 200;
    v->http_protocol = "HTTP/2";
    v->http_decrypted = true;
    v->content_shape = "chat";
    v->content_messages = 400;
    v->content_chars = 2000000;
    v->content_senders = 3;
    v->content_fingerprint = "0123456789abcdef";
    v->content_records = -1;
    v->content_embedded_messages = 40;
    v->content_embedded_senders = 2;
    v->content_gaps = 0;
    v->content_gap_bytes = 0;
}

static void clear_http(rule_view *v)
{
    v->http_method = v->http_host = v->http_uri = v->http_user_agent = v->http_content_type = "";
    v->http_body_len = 0;
    v->http_status = 0;
    v->http_protocol = NULL;
    v->http_decrypted = false;
    v->content_shape = v->content_fingerprint = "";
    v->content_messages = v->content_chars = v->content_senders = -1;
    v->content_embedded_messages = v->content_embedded_senders = -1;
    v->content_gaps = v->content_gap_bytes = -1;
}

static void call(rules *r, rule_hook h, const rule_view *v)
{
    rules_dispatch(r, h, v, v->last_us);
}

/* A flow's life as the engine reports it: classified, ticks (with an HTTP
 * request in between when 'with_http'), end. */
static void life(rules *r, rule_view *v, bool tls, bool with_http, uint64_t rate)
{
    if (tls) call(r, RH_TLS_CLIENT_HELLO, v);
    call(r, RH_FLOW_CLASSIFIED, v);
    for (uint64_t t = 30; t <= 900; t += 30) {
        grow(v, t, rate);
        if (with_http && t % 90 == 0) {
            http(v);
            call(r, RH_HTTP_REQUEST, v);
            clear_http(v);
        }
        call(r, RH_TICK, v);
    }
    call(r, RH_FLOW_END, v);
    rules_flow_forget(r, v->flow_id);
}

void rules_dry_run(rules *r)
{
    rule_view v;

    /* an outbound AI upload: ~1 MB/s for 15 minutes, TLS, decrypted HTTP/2 */
    base(&v, 1, "10.1.2.3", "203.0.113.10", true, false);
    ai(&v);
    life(r, &v, true, true, 1000000);

    /* the same host asking DNS for the AI name (the answer names it) */
    base(&v, 2, "10.1.2.3", "10.0.0.53", true, true);
    v.proto = "UDP";
    v.dest_port = 53;
    v.app_proto = "dns";
    v.ndpi_proto = "DNS";
    v.hostname = "api.openai.com";
    v.dns_rrname = "api.openai.com";
    v.dns_rrtype = "A";
    v.dns_rcode = "NOERROR";
    v.dns_n_answers = 2;
    v.dns_answers[0] = "203.0.113.10";
    v.dns_answers[1] = "203.0.113.11";
    v.has_ai = true;
    v.ai_provider = "OpenAI";
    v.ai_kind = "api";
    v.ai_host = "api.openai.com";
    v.ai_method = "dns";
    v.ai_confidence = "high";
    call(r, RH_DNS_ANSWER, &v);
    call(r, RH_FLOW_CLASSIFIED, &v);
    call(r, RH_FLOW_END, &v);
    rules_flow_forget(r, v.flow_id);

    /* a server-side host (for rules keyed on server subnets) to the AI */
    base(&v, 3, "10.20.0.5", "203.0.113.10", true, false);
    ai(&v);
    life(r, &v, true, false, 200000);

    /* nothing known: failed classification, no AI, no geo, no TLS */
    base(&v, 4, "10.1.2.4", "198.51.100.7", true, false);
    life(r, &v, false, false, 1000);

    /* inbound and internal flows */
    base(&v, 5, "198.51.100.9", "10.1.2.5", false, true);
    life(r, &v, false, false, 1000);
    base(&v, 6, "10.1.2.6", "10.1.2.7", true, true);
    v.app_proto = "http";
    v.ndpi_proto = "HTTP";
    life(r, &v, false, true, 5000);
}
