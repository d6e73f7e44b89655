/*
 * dpi.c -- the nDPI 4.2 adapter: the only file that includes nDPI headers.
 *
 * It drives the library the way ndpiReader 4.2 (example/reader_util.c,
 * packet_processing() and process_ndpi_collected_info()) does, so that our
 * classification agrees with ndpiReader's output on the same capture:
 *
 *   - one detection module per engine, all protocols enabled, custom
 *     protocol / category files loaded before ndpi_finalize_initialization;
 *   - every IP packet of the flow is fed until detection completes;
 *   - detection completes when a protocol is known and no extra dissection
 *     is possible, or when the packet budget is exceeded (80 TCP / 24 UDP);
 *     an unknown flow then gives up with guessing enabled;
 *   - metadata are read from the same nDPI fields ndpiReader prints.
 *
 * Any nDPI API difference between versions belongs in this file only.
 */
#include "dpi.h"
#include "fcheck.h"
#include "mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gcrypt.h>
#include <ndpi_api.h>

/* ndpi_validate_url is a pure function of the URL (libinjection XSS/SQLi and
 * RCE checks: ~6,000 instructions a URL), and clients and scanners repeat
 * URLs: a 2-way set-associative memo keyed by the whole URL (a hash picks
 * the set, the bytes decide), allocated (276 KiB) at the first URL a
 * context checks. */
#define URL_MEMO_SETS 512 /* x 2 ways */
#define URL_MAX       256 /* ndpiReader's copy of the URL */

typedef struct {
    uint64_t hash;
    uint16_t len; /* 0: empty slot */
    uint8_t risk; /* ndpi_risk_enum */
    char url[URL_MAX];
} url_memo;

typedef struct {
    url_memo way[2];
    uint8_t last; /* the way used last (the other is replaced) */
} url_set;

/* ndpi_protocol2name formats "Master.App" with snprintf at every flow end;
 * the names of a context's protocols never change, so they are kept. */
#define NAME_CACHE 256
_Static_assert(NAME_CACHE == 256, "the index below takes the hash's top 8 bits");

typedef struct {
    uint64_t key; /* (master << 16 | app) + 1; 0: empty */
    char name[48];
} proto_name;

struct dpi_ctx {
    struct ndpi_detection_module_struct *ndpi;
    uint64_t last_ts_ms; /* packet time never goes backwards (as ndpiReader) */
    uint64_t url_hits, url_misses;
    url_set *urls; /* URL_MEMO_SETS, or NULL until needed */
    proto_name names[NAME_CACHE];
};

struct dpi_flow {
    ndpi_protocol proto;        /* last result of process_packet / giveup */
    uint32_t pkts;              /* packets fed so far */
    bool done;                  /* detection completed (ndpiReader detection_completed) */
    bool url_checked;           /* HTTP URL risk already added */
    struct ndpi_flow_struct nf; /* nDPI's per-flow state, zeroed at creation */
};

/* ==== Small helpers ==== */

/* Copies at most 'srclen' bytes of 'src' (stopping at NUL) into dst[dstlen],
 * always NUL-terminating.  src may be NULL (gives ""). */
static void copy_str(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    if (dstlen == 0) return;
    size_t n = src ? strnlen(src, srclen) : 0;
    if (n >= dstlen) n = dstlen - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool is_proto(const ndpi_protocol *p, uint16_t id)
{
    return p->master_protocol == id || p->app_protocol == id;
}

/* ==== Context ==== */

/* nDPI 4.2 initialises libgcrypt (TLS/QUIC decryption) inside
 * ndpi_init_detection_module unless told not to, and libgcrypt's
 * initialisation must not run in two threads at once (workers starting
 * their engines aborted in gcry_check_version).  It is done here once, as
 * libgcrypt asks of applications, and every context then skips it. */
static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static bool gcrypt_ok;

static void gcrypt_init(void)
{
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        if (!gcry_check_version(NULL)) return;
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    gcrypt_ok = true;
}

dpi_ctx *dpi_new(const char *protos_file, const char *cats_file, char *err, size_t errlen)
{
    const char *one[1] = {protos_file};
    return dpi_new_ex(one, protos_file ? 1 : 0, cats_file, err, errlen);
}

dpi_ctx *dpi_new_ex(const char *const *protos_files, size_t n_protos, const char *cats_file,
                    char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    dpi_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        if (err) snprintf(err, errlen, "dpi: out of memory");
        return NULL;
    }
    pthread_once(&gcrypt_once, gcrypt_init);
    if (!gcrypt_ok) {
        if (err) snprintf(err, errlen, "dpi: libgcrypt failed to initialise");
        free(c);
        return NULL;
    }
    c->ndpi = ndpi_init_detection_module(ndpi_dont_init_libgcrypt);
    if (!c->ndpi) {
        if (err) snprintf(err, errlen, "dpi: ndpi_init_detection_module failed");
        free(c);
        return NULL;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);

    /* nDPI 4.2 logs but otherwise ignores an unreadable file; check first so
     * the user gets a clear error instead of silently missing rules. */
    struct {
        const char *path, *what;
        bool protos;
    } files[DPI_MAX_PROTOS_FILES + 1];
    size_t nf = 0;
    for (size_t i = 0; i < n_protos && i < DPI_MAX_PROTOS_FILES; i++)
        files[nf].path = protos_files[i], files[nf].what = "protocols", files[nf++].protos = true;
    files[nf].path = cats_file, files[nf].what = "categories", files[nf++].protos = false;
    for (size_t i = 0; i < nf; i++) {
        if (!files[i].path || !files[i].path[0]) continue;
        char why[300];
        FILE *fp = fcheck_fopen(files[i].path, FCHECK_NDPI_MAX, why, sizeof(why));
        if (!fp) {
            if (err) snprintf(err, errlen, "dpi: nDPI %s file %s", files[i].what, why);
            goto fail;
        }
        fclose(fp);
        int rc = files[i].protos ? ndpi_load_protocols_file(c->ndpi, files[i].path)
                                 : ndpi_load_categories_file(c->ndpi, files[i].path);
        if (rc < 0) {
            if (err)
                snprintf(err, errlen, "dpi: failed to load nDPI %s file '%s'", files[i].what,
                         files[i].path);
            goto fail;
        }
    }
    ndpi_finalize_initialization(c->ndpi);
    return c;

fail:
    ndpi_exit_detection_module(c->ndpi);
    free(c);
    return NULL;
}

void dpi_free(dpi_ctx *c)
{
    if (!c) return;
    ndpi_exit_detection_module(c->ndpi);
    free(c->urls);
    free(c);
}

uint32_t dpi_default_budget(uint8_t l4proto)
{
    if (l4proto == 6) return DPI_BUDGET_TCP;
    if (l4proto == 17) return DPI_BUDGET_UDP;
    return UINT32_MAX; /* ndpiReader never gives up early on other protocols */
}

/* ==== Flows ==== */

dpi_flow *dpi_flow_new(dpi_ctx *c)
{
    (void)c;
    /* Zeroed, as nDPI requires (reader_util.c memsets SIZEOF_FLOW_STRUCT
     * bytes); nDPI reads fields before it writes them: see mem.h. */
    return mem_zalloc(1, sizeof(dpi_flow));
}

static void tls_date(uint32_t t, char out[20])
{
    out[0] = '\0';
    if (!t) return;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm)) strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
}

bool dpi_tls_server_info(const dpi_flow *f, dpi_tls_server *out)
{
    memset(out, 0, sizeof(*out));
    const ndpi_protocol *p = &f->proto;
    /* 'protos' is a union: only the TLS/QUIC dissectors' view is read */
    if (!is_proto(p, NDPI_PROTOCOL_TLS) && !is_proto(p, NDPI_PROTOCOL_QUIC)) return false;
    const struct ndpi_flow_struct *nf = &f->nf;
    if (nf->protos.tls_quic.subjectDN)
        copy_str(out->subject, sizeof(out->subject), nf->protos.tls_quic.subjectDN,
                 sizeof(out->subject));
    if (nf->protos.tls_quic.issuerDN)
        copy_str(out->issuerdn, sizeof(out->issuerdn), nf->protos.tls_quic.issuerDN,
                 sizeof(out->issuerdn));
    const uint8_t *fp = nf->protos.tls_quic.sha1_certificate_fingerprint;
    bool any = false;
    for (int i = 0; i < 20; i++) any |= fp[i] != 0;
    if (any)
        for (int i = 0; i < 20; i++)
            snprintf(out->fingerprint + i * 3, 4, i < 19 ? "%02x:" : "%02x", fp[i]);
    tls_date(nf->protos.tls_quic.notBefore, out->notbefore);
    tls_date(nf->protos.tls_quic.notAfter, out->notafter);
    copy_str(out->ja3s, sizeof(out->ja3s), nf->protos.tls_quic.ja3_server,
             sizeof(nf->protos.tls_quic.ja3_server));
    return out->subject[0] || out->issuerdn[0] || out->fingerprint[0] || out->ja3s[0];
}

void dpi_flow_free(dpi_flow *f)
{
    if (!f) return;
    ndpi_free_flow_data(&f->nf); /* strings nDPI allocated inside the flow */
    free(f);
}

/* ndpi_validate_url on ndpiReader's 256-byte copy of the URL, memoised. */
static uint64_t url_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 29);
}

static ndpi_risk_enum url_risk(dpi_ctx *c, const char *u)
{
    size_t n = strnlen(u, URL_MAX - 1); /* ndpiReader's 256-byte copy */
    uint64_t h = url_hash(u, n);
    if (!c->urls) c->urls = mem_zalloc(URL_MEMO_SETS, sizeof(*c->urls)); /* NULL: no memo */
    url_set *set = c->urls ? &c->urls[h % URL_MEMO_SETS] : NULL;
    for (int k = 0; set && n && k < 2; k++) {
        const url_memo *m = &set->way[k];
        if (m->hash == h && m->len == n && memcmp(m->url, u, n) == 0) {
            c->url_hits++;
            set->last = (uint8_t)k;
            return (ndpi_risk_enum)m->risk;
        }
    }
    c->url_misses++;
    char tmp[URL_MAX]; /* ndpi_validate_url tokenises its argument in place */
    memcpy(tmp, u, n);
    tmp[n] = '\0';
    ndpi_risk_enum r = ndpi_validate_url(tmp);
    if (set && n && (unsigned)r <= UINT8_MAX) {
        int k = set->way[0].len == 0 ? 0 : set->way[1].len == 0 ? 1 : !set->last;
        url_memo *m = &set->way[k];
        m->hash = h;
        memcpy(m->url, u, n);
        m->len = (uint16_t)n;
        m->risk = (uint8_t)r;
        set->last = (uint8_t)k;
    }
    return r;
}

void dpi_url_memo_counts(const dpi_ctx *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c->url_hits;
    *misses = c->url_misses;
}

/* app_proto as Suricata names the protocol (its app-layer parsers), from
 * nDPI's top protocol (the master when there is one: "TLS.Google" is tls).
 * Protocols Suricata has no parser for, nDPI's services ("Google",
 * "ai_mistral") and the unknown are "failed", as Suricata writes a flow
 * whose protocol it could not name; nDPI's own view stays in ndpi.proto. */
static const char *suricata_app_proto(uint16_t id)
{
    switch (id) {
    case NDPI_PROTOCOL_TLS:
    case NDPI_PROTOCOL_MAIL_SMTPS:
    case NDPI_PROTOCOL_MAIL_IMAPS:
    case NDPI_PROTOCOL_MAIL_POPS:
        return "tls";
    case NDPI_PROTOCOL_HTTP:
    case NDPI_PROTOCOL_HTTP_CONNECT:
    case NDPI_PROTOCOL_HTTP_PROXY:
        return "http";
    case NDPI_PROTOCOL_DNS:
        return "dns";
    case NDPI_PROTOCOL_QUIC:
        return "quic";
    case NDPI_PROTOCOL_SSH:
        return "ssh";
    case NDPI_PROTOCOL_MAIL_SMTP:
        return "smtp";
    case NDPI_PROTOCOL_MAIL_IMAP:
        return "imap";
    case NDPI_PROTOCOL_MAIL_POP:
        return "pop3";
    case NDPI_PROTOCOL_FTP_CONTROL:
        return "ftp";
    case NDPI_PROTOCOL_FTP_DATA:
        return "ftp-data";
    case NDPI_PROTOCOL_SMBV1:
    case NDPI_PROTOCOL_SMBV23:
        return "smb";
    case NDPI_PROTOCOL_DHCP:
        return "dhcp";
    case NDPI_PROTOCOL_NTP:
        return "ntp";
    case NDPI_PROTOCOL_NFS:
        return "nfs";
    case NDPI_PROTOCOL_SNMP:
        return "snmp";
    case NDPI_PROTOCOL_SIP:
        return "sip";
    case NDPI_PROTOCOL_KERBEROS:
        return "krb5";
    case NDPI_PROTOCOL_LDAP:
        return "ldap";
    case NDPI_PROTOCOL_RDP:
        return "rdp";
    case NDPI_PROTOCOL_VNC:
        return "rfb";
    case NDPI_PROTOCOL_TFTP:
        return "tftp";
    case NDPI_PROTOCOL_MQTT:
        return "mqtt";
    case NDPI_PROTOCOL_MODBUS:
        return "modbus";
    case NDPI_PROTOCOL_DNP3:
        return "dnp3";
    case NDPI_PROTOCOL_TELNET:
        return "telnet";
    case NDPI_PROTOCOL_POSTGRES:
        return "pgsql";
    case NDPI_PROTOCOL_MDNS:
        return "mdns";
    case NDPI_PROTOCOL_LLMNR:
        return "llmnr";
    case NDPI_PROTOCOL_WEBSOCKET:
        return "websocket";
    default:
        return "failed";
    }
}

/* TLS versions as Suricata's EVE writes them ("TLS 1.3"); NULL for the
 * ones Suricata does not name (DTLS, GREASE...), which keep nDPI's. */
static const char *suricata_tls_version(uint16_t v)
{
    switch (v) {
    case 0x0200:
        return "SSLv2";
    case 0x0300:
        return "SSLv3";
    case 0x0301:
        return "TLSv1";
    case 0x0302:
        return "TLS 1.1";
    case 0x0303:
        return "TLS 1.2";
    case 0x0304:
        return "TLS 1.3";
    default:
        return NULL;
    }
}

/* Fills 'out' from the flow state, reading the fields ndpiReader's
 * process_ndpi_collected_info() reads.  'final' adds what ndpiReader only
 * computes when it prints the flow (the URL risk). */
static void fill_info(dpi_ctx *c, dpi_flow *f, dpi_info *out, bool final)
{
    const ndpi_protocol *p = &f->proto;
    struct ndpi_flow_struct *nf = &f->nf;
    char buf[64];

    memset(out, 0, sizeof(*out));
    uint64_t key = ((uint64_t)p->master_protocol << 16 | p->app_protocol) + 1;
    proto_name *pn = &c->names[(uint32_t)(key * 2654435761u) >> 24]; /* NAME_CACHE == 256 */
    if (pn->key != key) {
        ndpi_protocol2name(c->ndpi, *p, buf, sizeof(buf));
        copy_str(pn->name, sizeof(pn->name), buf, sizeof(buf));
        pn->key = key;
    }
    copy_str(out->proto, sizeof(out->proto), pn->name, sizeof(pn->name));

    uint16_t top =
        p->master_protocol != NDPI_PROTOCOL_UNKNOWN ? p->master_protocol : p->app_protocol;
    const char *ap = suricata_app_proto(top);
    copy_str(out->app_proto, sizeof(out->app_proto), ap, strlen(ap) + 1);

    const char *cat = ndpi_category_get_name(c->ndpi, p->category);
    copy_str(out->category, sizeof(out->category), cat, sizeof(out->category));
    const char *conf = ndpi_confidence_get_name(nf->confidence);
    copy_str(out->confidence, sizeof(out->confidence), conf, sizeof(out->confidence));

    out->app_id = p->app_protocol;
    out->master_id = p->master_protocol;
    out->risk = nf->risk;
    out->pkts = f->pkts;
    out->done = f->done;
    out->detected =
        nf->confidence == NDPI_CONFIDENCE_DPI || nf->confidence == NDPI_CONFIDENCE_DPI_CACHE;
    out->guessed = nf->confidence == NDPI_CONFIDENCE_MATCH_BY_PORT ||
                   nf->confidence == NDPI_CONFIDENCE_MATCH_BY_IP;

    copy_str(out->hostname, sizeof(out->hostname), nf->host_server_name,
             sizeof(nf->host_server_name));

    /* 'protos' is a union: mirror ndpiReader's if/else chain exactly so the
     * TLS view is read only when no other dissector owns it. */
    if (is_proto(p, NDPI_PROTOCOL_DHCP) ||
        (is_proto(p, NDPI_PROTOCOL_BITTORRENT) && !is_proto(p, NDPI_PROTOCOL_TLS)) ||
        is_proto(p, NDPI_PROTOCOL_DNS) || is_proto(p, NDPI_PROTOCOL_MDNS) ||
        is_proto(p, NDPI_PROTOCOL_UBNTAC2) || is_proto(p, NDPI_PROTOCOL_FTP_CONTROL) ||
        is_proto(p, NDPI_PROTOCOL_MAIL_IMAP) || is_proto(p, NDPI_PROTOCOL_MAIL_POP) ||
        is_proto(p, NDPI_PROTOCOL_MAIL_SMTP) || is_proto(p, NDPI_PROTOCOL_KERBEROS)) {
        /* no TLS metadata */
    } else if (is_proto(p, NDPI_PROTOCOL_HTTP)) {
        if (final && !f->url_checked && nf->http.url) {
            /* ndpiReader validates its 256-byte copy of the URL at print time. */
            ndpi_risk_enum r = url_risk(c, nf->http.url);
            if (r != NDPI_NO_RISK && (int)r < 64) nf->risk |= (uint64_t)1 << r;
            f->url_checked = true;
            out->risk = nf->risk;
        }
    } else if (is_proto(p, NDPI_PROTOCOL_TELNET)) {
        /* no TLS metadata */
    } else if (is_proto(p, NDPI_PROTOCOL_SSH)) {
        /* ndpiReader shows the client banner as "Hostname/SNI". */
        copy_str(out->hostname, sizeof(out->hostname), nf->protos.ssh.client_signature,
                 sizeof(nf->protos.ssh.client_signature));
    } else if (is_proto(p, NDPI_PROTOCOL_TLS) || is_proto(p, NDPI_PROTOCOL_QUIC) ||
               nf->protos.tls_quic.ja3_client[0] != '\0') {
        copy_str(out->ja3, sizeof(out->ja3), nf->protos.tls_quic.ja3_client,
                 sizeof(nf->protos.tls_quic.ja3_client));
        if (nf->protos.tls_quic.alpn)
            copy_str(out->alpn, sizeof(out->alpn), nf->protos.tls_quic.alpn, sizeof(out->alpn));
        if (nf->protos.tls_quic.ssl_version) {
            uint8_t unknown = 0;
            char vbuf[16];
            const char *v = suricata_tls_version(nf->protos.tls_quic.ssl_version);
            if (!v)
                v = ndpi_ssl_version2str(vbuf, sizeof(vbuf), nf->protos.tls_quic.ssl_version,
                                         &unknown);
            copy_str(out->tls_version, sizeof(out->tls_version), v, sizeof(vbuf));
        }
    }
}

/* Marks the flow finished.  A flow still unknown gives up with guessing
 * enabled (ndpiReader's default, enable_protocol_guess = 1); at flow end
 * ndpiReader (node_proto_guess_walker) gives up on every unfinished flow,
 * even one that is detected and only waiting for extra dissection. */
static void finish(dpi_ctx *c, dpi_flow *f, bool at_end)
{
    if (at_end || f->proto.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
        uint8_t guessed = 0;
        f->proto = ndpi_detection_giveup(c->ndpi, &f->nf, 1, &guessed);
    }
    f->done = true;
}

const char *dpi_host(const dpi_flow *f)
{
    return f->nf.host_server_name;
}

void dpi_peek(dpi_ctx *c, dpi_flow *f, dpi_info *out)
{
    fill_info(c, f, out, f->done);
}

bool dpi_process(dpi_ctx *c, dpi_flow *f, const uint8_t *l3, uint32_t l3_len, uint64_t ts_ms,
                 uint32_t pkt_budget, dpi_info *out)
{
    if (!f->done && l3 && l3_len > 0) {
        if (ts_ms < c->last_ts_ms) ts_ms = c->last_ts_ms;
        c->last_ts_ms = ts_ms;
        if (f->pkts < UINT32_MAX) f->pkts++;
        /* reader_util.c: enough_packets is "packets so far > budget", and the
         * packet that exceeds the budget is still dissected. */
        bool enough = f->pkts > pkt_budget;
        unsigned short len = l3_len > 0xffff ? 0xffff : (unsigned short)l3_len;
        f->proto = ndpi_detection_process_packet(c->ndpi, &f->nf, l3, len, ts_ms);
        if (enough || f->proto.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
            if (enough || !ndpi_extra_dissection_possible(c->ndpi, &f->nf)) finish(c, f, false);
        }
    }
    if (out && f->done) fill_info(c, f, out, true); /* the engine reads it once done */
    return f->done;
}

void dpi_giveup(dpi_ctx *c, dpi_flow *f, dpi_info *out)
{
    if (!f->done) finish(c, f, true);
    if (out) fill_info(c, f, out, true);
}

/* ==== Names ==== */

const char *dpi_risk_name(int bit)
{
    if (bit <= 0 || bit >= NDPI_MAX_RISK) return NULL;
    return ndpi_risk2str((ndpi_risk_enum)bit);
}

const char *dpi_version(void)
{
    return ndpi_revision();
}
