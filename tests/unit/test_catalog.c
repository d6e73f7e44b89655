/*
 * test_catalog.c -- AI-endpoint catalog: host matching (label boundaries,
 * globs, longest match, hostile names), loading and errors, the shipped
 * rules/data files, the nDPI protos export and IP ranges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "tmpdir.h"

/* ==== helpers ==== */

typedef struct fixture {
    char dir[64];
    char path[64][128];
    int npaths;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    if (!mkdtemp(test_tmpname(fx->dir, sizeof fx->dir, "egret_catalog"))) return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < fx->npaths; i++) unlink(fx->path[i]);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Writes content to DIR/name and returns the path (owned by the fixture). */
static const char *write_file(fixture *fx, const char *name, const char *content)
{
    assert_true(fx->npaths < 64);
    char *p = fx->path[fx->npaths++];
    char dir[sizeof(fx->dir)];
    memcpy(dir, fx->dir, sizeof(dir)); /* separate buffer: no restrict overlap */
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static catalog *load_text(fixture *fx, const char *text)
{
    catalog *cat = catalog_new();
    assert_non_null(cat);
    char err[256] = "";
    int rc = catalog_load(cat, write_file(fx, "cat.tsv", text), err, sizeof err);
    if (rc != 0) fail_msg("load failed: %s", err);
    return cat;
}

static const char base_catalog[] = "# test catalog\n"
                                   "provider\tkind\tpattern\tsource\n"
                                   "OpenAI\tconsumer\topenai.com\tt1\n"
                                   "OpenAI\tapi\tapi.openai.com\tt2\n"
                                   "AWS Bedrock\tcloud\tbedrock-runtime.*.amazonaws.com\tt3\n"
                                   "Google\tcloud\t*-aiplatform.googleapis.com\tt4\n"
                                   "Google\tcloud\taiplatform.*.rep.googleapis.com\tt5\n"
                                   "Azure OpenAI\tcloud\t*.openai.azure.com\tt6\n"
                                   "OpenAI\tconsumer\t*.chatgpt.com\tt7\n"
                                   "\n"
                                   "IDN Test\tconsumer\txn--bcher-kva.example\tt8\n";

typedef struct host_case {
    const char *host;
    const char *pattern; /* NULL = no match */
} host_case;

static void run_cases(const catalog *cat, const host_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        catalog_match m;
        memset(&m, 0, sizeof m);
        bool hit = catalog_match_host(cat, cases[i].host, strlen(cases[i].host), &m);
        if (cases[i].pattern == NULL) {
            if (hit) fail_msg("'%s' should not match, got '%s'", cases[i].host, m.pattern);
        } else {
            if (!hit) fail_msg("'%s' should match '%s'", cases[i].host, cases[i].pattern);
            if (strcmp(m.pattern, cases[i].pattern) != 0)
                fail_msg("'%s': expected '%s', got '%s'", cases[i].host, cases[i].pattern,
                         m.pattern);
        }
    }
}

/* ==== host matching ==== */

static void test_label_boundaries(void **state)
{
    catalog *cat = load_text(*state, base_catalog);
    static const host_case cases[] = {
        {"api.openai.com", "api.openai.com"},
        {"openai.com", "openai.com"},
        {"platform.openai.com", "openai.com"},
        {"deep.er.openai.com", "openai.com"},
        {"x.api.openai.com", "api.openai.com"},
        {"notopenai.com", NULL},
        {"openai.com.evil.net", NULL},
        {"api.openai.com.evil.net", NULL},
        {"openai.co", NULL},
        {"com", NULL},
        {"penai.com", NULL},
        {"xopenai.com", NULL},
        {"api-openai.com", NULL},
    };
    run_cases(cat, cases, sizeof cases / sizeof cases[0]);
    catalog_free(cat);
}

static void test_case_and_trailing_dot(void **state)
{
    catalog *cat = load_text(*state, base_catalog);
    static const host_case cases[] = {
        {"OPENAI.COM.", "openai.com"},
        {"OPENAI.COM", "openai.com"},
        {"Api.OpenAI.Com", "api.openai.com"},
        {"api.openai.com.", "api.openai.com"},
        {"api.openai.com..", NULL}, /* only one trailing dot is dropped */
        {".openai.com", NULL},
        {"api..openai.com", NULL},
        {".", NULL},
        {"", NULL},
        {"*.openai.com", NULL}, /* a '*' in a host is never a wildcard */
        {"api.openai.com/x", NULL},
        {"api.openai.com:443", NULL},
    };
    run_cases(cat, cases, sizeof cases / sizeof cases[0]);
    catalog_match m;
    assert_true(catalog_match_host(cat, "OPENAI.COM.", 11, &m));
    assert_string_equal(m.provider, "OpenAI");
    assert_int_equal(m.kind, CATALOG_KIND_CONSUMER);
    assert_string_equal(m.source, "t1");
    /* Length-delimited: bytes after len are ignored, a NUL inside is not. */
    assert_true(catalog_match_host(cat, "api.openai.comXYZ", 14, &m));
    assert_string_equal(m.pattern, "api.openai.com");
    assert_false(catalog_match_host(cat, "api.openai.com\0x", 16, &m));
    catalog_free(cat);
}

static void test_wildcards(void **state)
{
    catalog *cat = load_text(*state, base_catalog);
    static const host_case cases[] = {
        {"bedrock-runtime.us-east-1.amazonaws.com", "bedrock-runtime.*.amazonaws.com"},
        {"BEDROCK-RUNTIME.eu-west-3.AMAZONAWS.COM.", "bedrock-runtime.*.amazonaws.com"},
        {"bedrock-runtime.a.b.amazonaws.com", NULL},
        {"bedrock-runtime.amazonaws.com", NULL},
        {"bedrock-runtimex.us-east-1.amazonaws.com", NULL},
        {"s3.us-east-1.amazonaws.com", NULL},
        {"x-aiplatform.googleapis.com", "*-aiplatform.googleapis.com"},
        {"us-central1-aiplatform.googleapis.com", "*-aiplatform.googleapis.com"},
        {"-aiplatform.googleapis.com", "*-aiplatform.googleapis.com"},
        {"aiplatform.googleapis.com", NULL},
        {"x-aiplatformx.googleapis.com", NULL},
        {"x-aiplatform.evil.com", NULL},
        {"a.x-aiplatform.googleapis.com", "*-aiplatform.googleapis.com"},
        {"aiplatform.us.rep.googleapis.com", "aiplatform.*.rep.googleapis.com"},
        {"aiplatform.rep.googleapis.com", NULL},
        {"myres.openai.azure.com", "*.openai.azure.com"},
        {"a.b.openai.azure.com", "*.openai.azure.com"},
        {"openai.azure.com", NULL}, /* "*." excludes the apex */
        {"xopenai.azure.com", NULL},
        {"chatgpt.com", NULL},
        {"ab.chatgpt.com", "*.chatgpt.com"},
    };
    run_cases(cat, cases, sizeof cases / sizeof cases[0]);
    catalog_free(cat);
}

static void test_idn_and_hostile_bytes(void **state)
{
    catalog *cat = load_text(*state, base_catalog);
    static const host_case cases[] = {
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"shop.XN--BCHER-KVA.example", "xn--bcher-kva.example"},
        {"xn--bcher-kvb.example", NULL},
        {"b\xc3\xbc"
         "cher.example",
         NULL}, /* UTF-8 "bücher" */
        {"api.openai.com\xff", NULL},
        {"\xe2\x80\x8b"
         "api.openai.com",
         NULL}, /* zero-width space */
        {"api.openai\xef\xbc\x8e"
         "com",
         NULL}, /* fullwidth full stop */
        {"api openai.com", NULL},
    };
    run_cases(cat, cases, sizeof cases / sizeof cases[0]);
    /* Every single byte value in a label: only the allowed ASCII ones match. */
    for (int c = 1; c < 256; c++) {
        char host[32];
        snprintf(host, sizeof host, "a%cb.openai.com", c);
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        bool hit = catalog_match_host(cat, host, strlen(host), NULL);
        if (c == '.') ok = true; /* "a.b.openai.com" */
        if (hit != ok) fail_msg("byte 0x%02x: hit=%d", c, hit);
    }
    catalog_free(cat);
}

static void test_length_limits(void **state)
{
    catalog *cat = load_text(*state, base_catalog);
    char host[400];
    /* 253 characters: 60 x "abc." (240) + "a" + ".openai.com" (11) + pad. */
    size_t o = 0;
    while (o + 4 <= 242) {
        memcpy(host + o, "abc.", 4);
        o += 4;
    }
    memcpy(host + o, "ab.openai.com", 13); /* 240 + 13 = 253 */
    o += 13;
    host[o] = '\0';
    assert_int_equal(strlen(host), 253);
    assert_true(catalog_match_host(cat, host, 253, NULL));
    host[253] = '.';
    host[254] = '\0';
    assert_true(catalog_match_host(cat, host, 254, NULL)); /* + trailing dot */
    char longer[420];
    snprintf(longer, sizeof longer, "x%s", host);
    longer[254] = '\0'; /* 254 characters, no trailing dot */
    assert_false(catalog_match_host(cat, longer, 254, NULL));
    /* A 64-character label never matches; 63 does. */
    char lab[128];
    memset(lab, 'a', 64);
    memcpy(lab + 64, ".openai.com", 12);
    assert_false(catalog_match_host(cat, lab, strlen(lab), NULL));
    assert_true(catalog_match_host(cat, lab + 1, strlen(lab + 1), NULL));
    /* A huge input is refused, not scanned. */
    char *huge = malloc(100000);
    assert_non_null(huge);
    memset(huge, 'a', 100000);
    assert_false(catalog_match_host(cat, huge, 100000, NULL));
    free(huge);
    assert_false(catalog_match_host(cat, NULL, 3, NULL));
    assert_false(catalog_match_host(NULL, "openai.com", 10, NULL));
    catalog_free(cat);
}

static void test_longest_match(void **state)
{
    catalog *cat =
        load_text(*state, "P1\tapi\tx.example\ts\n"
                          "P3\tconsumer\tb.x.example\ts\n"
                          "P2\tcloud\t*.b.x.example\ts\n"
                          "Azure AI\tcloud\t*.cognitiveservices.azure.com\ts\n"
                          "Special\tapi\tspecial.cognitiveservices.azure.com\ts\n"
                          "AWS Bedrock\tcloud\tbedrock-runtime.*.amazonaws.com\ts\n"
                          "GovCloud\tapi\tbedrock-runtime.us-gov-west-1.amazonaws.com\ts\n"
                          "Glob1\tapi\ta*.y.example\ts\n"
                          "Glob2\tgateway\tab*.y.example\ts\n");
    static const host_case cases[] = {
        {"a.b.x.example", "*.b.x.example"},
        {"b.x.example", "b.x.example"},
        {"c.x.example", "x.example"},
        {"x.example", "x.example"},
        {"special.cognitiveservices.azure.com", "special.cognitiveservices.azure.com"},
        {"other.cognitiveservices.azure.com", "*.cognitiveservices.azure.com"},
        {"bedrock-runtime.us-gov-west-1.amazonaws.com",
         "bedrock-runtime.us-gov-west-1.amazonaws.com"},
        {"bedrock-runtime.us-east-1.amazonaws.com", "bedrock-runtime.*.amazonaws.com"},
        {"abc.y.example", "ab*.y.example"},
        {"acc.y.example", "a*.y.example"},
    };
    run_cases(cat, cases, sizeof cases / sizeof cases[0]);
    catalog_match m;
    assert_true(catalog_match_host(cat, "special.cognitiveservices.azure.com", 35, &m));
    assert_string_equal(m.provider, "Special");
    assert_int_equal(m.kind, CATALOG_KIND_API);
    assert_true(catalog_match_host(cat, "abz.y.example", 13, &m));
    assert_string_equal(m.provider, "Glob2");
    assert_int_equal(m.kind, CATALOG_KIND_GATEWAY);
    catalog_free(cat);
}

/* ==== loading ==== */

static int first_entry(const catalog_match *m, void *ud)
{
    snprintf(ud, 128, "%s=%s", m->pattern, m->provider);
    return 1; /* stop after the first */
}

static void test_override_by_second_file(void **state)
{
    fixture *fx = *state;
    catalog *cat = load_text(fx, base_catalog);
    size_t n = catalog_count(cat);
    char err[256] = "";
    const char *second = write_file(fx, "local.tsv",
                                    "provider\tkind\tpattern\tsource\n"
                                    "Corp Gateway\tgateway\tOPENAI.COM.\tlocal override\n"
                                    "Internal LLM\tapi\tllm.corp.example\tlocal addition\n");
    assert_int_equal(catalog_load(cat, second, err, sizeof err), 0);
    assert_int_equal(catalog_count(cat), n + 1);
    catalog_match m;
    assert_true(catalog_match_host(cat, "chat.openai.com", 15, &m));
    assert_string_equal(m.provider, "Corp Gateway");
    assert_int_equal(m.kind, CATALOG_KIND_GATEWAY);
    assert_string_equal(m.pattern, "openai.com");
    assert_string_equal(m.source, "local override");
    assert_true(catalog_match_host(cat, "api.openai.com", 14, &m)); /* untouched */
    assert_string_equal(m.provider, "OpenAI");
    assert_true(catalog_match_host(cat, "llm.corp.example", 16, &m));
    assert_string_equal(m.provider, "Internal LLM");
    /* The overridden entry keeps its position (first) in iteration order. */
    char first[128] = "";
    catalog_foreach(cat, first_entry, first);
    assert_string_equal(first, "openai.com=Corp Gateway");
    catalog_free(cat);
}

typedef struct bad_case {
    const char *text;
    const char *msg; /* expected after "PATH:" */
} bad_case;

static void test_malformed_lines(void **state)
{
    fixture *fx = *state;
    static const bad_case cases[] = {
        {"OpenAI\tapi\topenai.com\n", "1: expected 4 tab-separated columns, got 3"},
        {"# c\nprovider\tkind\tpattern\tsource\nA\tchat\ta.com\ts\n",
         "3: unknown kind 'chat' (expected api, consumer, cloud or gateway)"},
        {"A\tapi\ta.com\ts\nB\tapi\topen ai.com\ts\n",
         "2: bad pattern 'open ai.com': only letters, digits, '-', '_', '.' and '*' are "
         "allowed"},
        {"A\tapi\ta..com\ts\n", "1: bad pattern 'a..com': empty label"},
        {"A\tapi\t.a.com\ts\n", "1: bad pattern '.a.com': empty label"},
        {"A\tapi\topenai.*\ts\n", "1: bad pattern 'openai.*': the rightmost label must be literal"},
        {"A\tapi\t*\ts\n", "1: bad pattern '*': the rightmost label must be literal"},
        {"A\tapi\ta.com\t\n", "1: empty source column (every row needs its source)"},
        {"\tapi\ta.com\ts\n", "1: empty provider column"},
        {"A\tapi\ta.com\ts\textra\n", "1: expected 4 tab-separated columns, got 5"},
        {"A\tapi\tb\xc3\xbc"
         "cher.example\ts\n",
         "1: bad pattern 'b\xc3\xbc"
         "cher.example': only letters, digits, '-', '_', '.' and '*' "
         "are allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        catalog *cat = load_text(fx, base_catalog);
        size_t n = catalog_count(cat);
        char name[32];
        snprintf(name, sizeof name, "bad%zu.tsv", i);
        const char *path = write_file(fx, name, cases[i].text);
        char err[512] = "", want[512];
        assert_int_equal(catalog_load(cat, path, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s:%s", path, cases[i].msg);
        assert_string_equal(err, want);
        /* The failed file left the catalog unchanged. */
        assert_int_equal(catalog_count(cat), n);
        assert_true(catalog_match_host(cat, "api.openai.com", 14, NULL));
        assert_false(catalog_match_host(cat, "a.com", 5, NULL));
        catalog_free(cat);
    }
    /* A long pattern and a missing file. */
    catalog *cat = catalog_new();
    char err[512];
    char longpat[400];
    memset(longpat, 'a', 300);
    longpat[300] = '\0';
    char text[512];
    snprintf(text, sizeof text, "A\tapi\t%s\ts\n", longpat);
    const char *p = write_file(fx, "long.tsv", text);
    assert_int_equal(catalog_load(cat, p, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: bad pattern '"));
    assert_non_null(strstr(err, "longer than 253 characters"));
    assert_int_equal(catalog_load(cat, "/nonexistent/x.tsv", err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x.tsv: No such file or directory");
    assert_int_equal(catalog_load(cat, "/nonexistent/x.tsv", NULL, 0), -1); /* err optional */
    catalog_free(cat);
}

/* ==== shipped data ==== */

typedef struct seen {
    const char *const *names;
    size_t n;
    bool *found;
    size_t gateways;
} seen;

static int note_provider(const catalog_match *m, void *ud)
{
    seen *s = ud;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(m->provider, s->names[i]) == 0) s->found[i] = true;
    if (m->kind == CATALOG_KIND_GATEWAY) s->gateways++;
    assert_true(m->source[0] != '\0');
    return 0;
}

static void test_shipped_catalog(void **state)
{
    (void)state;
    catalog *cat = catalog_new();
    char err[512] = "";
    if (catalog_load(cat, EGRET_SRCDIR "/rules/data/ai_endpoints.tsv", err, sizeof err) != 0)
        fail_msg("%s", err);
    if (catalog_load_ranges(cat, EGRET_SRCDIR "/rules/data/ai_ip_ranges.tsv", err, sizeof err))
        fail_msg("%s", err);
    assert_true(catalog_count(cat) >= 120);

    static const char *const required[] = {
        "OpenAI",  "Azure OpenAI", "Azure AI",  "Anthropic",    "Google",     "AWS Bedrock",
        "Mistral", "Cohere",       "Groq",      "Together AI",  "Perplexity", "DeepSeek",
        "xAI",     "Hugging Face", "Replicate", "Fireworks AI", "OpenRouter", "Microsoft",
        "Vercel",  "Cloudflare",   "Helicone",
    };
    bool found[sizeof required / sizeof required[0]] = {false};
    seen s = {required, sizeof required / sizeof required[0], found, 0};
    catalog_foreach(cat, note_provider, &s);
    for (size_t i = 0; i < s.n; i++)
        if (!found[i]) fail_msg("provider '%s' missing from the shipped catalog", required[i]);
    assert_true(s.gateways >= 4);

    struct {
        const char *host, *provider;
        catalog_kind kind;
    } hits[] = {
        {"api.openai.com", "OpenAI", CATALOG_KIND_API},
        {"chatgpt.com", "OpenAI", CATALOG_KIND_CONSUMER},
        {"files.oaiusercontent.com", "OpenAI", CATALOG_KIND_CONSUMER},
        {"api.anthropic.com", "Anthropic", CATALOG_KIND_API},
        {"claude.ai", "Anthropic", CATALOG_KIND_CONSUMER},
        {"gemini.google.com", "Google", CATALOG_KIND_CONSUMER},
        {"generativelanguage.googleapis.com", "Google", CATALOG_KIND_API},
        {"europe-west4-aiplatform.googleapis.com", "Google", CATALOG_KIND_CLOUD},
        {"copilot.microsoft.com", "Microsoft", CATALOG_KIND_CONSUMER},
        {"contoso.openai.azure.com", "Azure OpenAI", CATALOG_KIND_CLOUD},
        {"contoso.services.ai.azure.com", "Azure AI", CATALOG_KIND_CLOUD},
        {"bedrock-runtime.us-east-1.amazonaws.com", "AWS Bedrock", CATALOG_KIND_CLOUD},
        {"api.mistral.ai", "Mistral", CATALOG_KIND_API},
        {"api.cohere.com", "Cohere", CATALOG_KIND_API},
        {"api.groq.com", "Groq", CATALOG_KIND_API},
        {"api.together.xyz", "Together AI", CATALOG_KIND_API},
        {"api.perplexity.ai", "Perplexity", CATALOG_KIND_API},
        {"api.deepseek.com", "DeepSeek", CATALOG_KIND_API},
        {"api.x.ai", "xAI", CATALOG_KIND_API},
        {"router.huggingface.co", "Hugging Face", CATALOG_KIND_API},
        {"api.replicate.com", "Replicate", CATALOG_KIND_API},
        {"api.fireworks.ai", "Fireworks AI", CATALOG_KIND_API},
        {"openrouter.ai", "OpenRouter", CATALOG_KIND_GATEWAY},
        {"gateway.ai.cloudflare.com", "Cloudflare", CATALOG_KIND_GATEWAY},
    };
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
        catalog_match m;
        if (!catalog_match_host(cat, hits[i].host, strlen(hits[i].host), &m))
            fail_msg("shipped catalog misses %s", hits[i].host);
        if (strcmp(m.provider, hits[i].provider) != 0 || m.kind != hits[i].kind)
            fail_msg("%s: got %s/%s", hits[i].host, m.provider, catalog_kind_name(m.kind));
    }
    /* Shared front ends must not attribute a provider. */
    static const char *const shared[] = {
        "googleapis.com", "www.googleapis.com", "storage.googleapis.com",
        "www.google.com", "amazonaws.com",      "s3.amazonaws.com",
        "azure.com",      "cloudflare.com",     "github.com",
        "x.com",
    };
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (catalog_match_host(cat, shared[i], strlen(shared[i]), NULL))
            fail_msg("shared host %s is attributed", shared[i]);

    /* Ranges: Anthropic's published inbound ranges only. */
    uint8_t a[16];
    catalog_match m;
    inet_pton(AF_INET, "160.79.105.7", a);
    assert_true(catalog_match_ip(cat, 4, a, &m));
    assert_string_equal(m.provider, "Anthropic");
    assert_string_equal(m.pattern, "160.79.104.0/23");
    inet_pton(AF_INET6, "2607:6bc0::10", a);
    assert_true(catalog_match_ip(cat, 6, a, &m));
    assert_string_equal(m.pattern, "2607:6bc0::/48");
    static const char *const not_ai[] = {"160.79.106.1", "104.16.0.1", "142.250.0.1",
                                         "34.162.46.92", "8.8.8.8"};
    for (size_t i = 0; i < sizeof not_ai / sizeof not_ai[0]; i++) {
        inet_pton(AF_INET, not_ai[i], a);
        if (catalog_match_ip(cat, 4, a, NULL)) fail_msg("%s is attributed", not_ai[i]);
    }
    catalog_free(cat);
}

/* The API-paths file has no C loader yet: check its shape here. */
static void test_shipped_paths_file(void **state)
{
    (void)state;
    FILE *f = fopen(EGRET_SRCDIR "/rules/data/ai_api_paths.tsv", "r");
    assert_non_null(f);
    char line[4096];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        int tabs = 0;
        for (char *p = line; *p; p++) tabs += *p == '\t';
        assert_int_equal(tabs, 4);
        char *last = strrchr(line, '\t');
        assert_true(strlen(last) > 2); /* a non-empty source */
        rows++;
    }
    fclose(f);
    assert_true(rows > 50);
}

/* ==== nDPI export ==== */

static char *protos_of(const catalog *cat)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(catalog_write_ndpi_protos(cat, f), 0);
    fclose(f);
    return buf;
}

static void test_ndpi_protos(void **state)
{
    catalog *cat = load_text(*state, "Hugging Face\tconsumer\thuggingface.co\ts\n"
                                     "OpenAI\tapi\tapi.openai.com\ts\n"
                                     "OpenAI\tconsumer\tchatgpt.com\ts\n"
                                     "OpenAI\tconsumer\t*.chatgpt.com\ts\n"
                                     "AWS Bedrock\tcloud\tbedrock-runtime.*.amazonaws.com\ts\n"
                                     "Character.AI\tconsumer\t*.character.ai\ts\n"
                                     "Fancy -- Name!\tapi\tfancy.example\ts\n");
    char *text = protos_of(cat);
    /* Keep only the rule lines. */
    char rules[1024] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            continue;
        }
        strncat(rules, line, sizeof rules - strlen(rules) - 2);
        strcat(rules, "\n");
    }
    assert_string_equal(rules, "host:\"huggingface.co\"@AI_Hugging_Face\n"
                               "host:\"api.openai.com\"@AI_OpenAI\n"
                               "host:\"chatgpt.com\"@AI_OpenAI\n"
                               "host:\"character.ai\"@AI_Character_AI\n"
                               "host:\"fancy.example\"@AI_Fancy_Name\n");
    free(text);
    text = protos_of(cat);
    assert_non_null(strstr(text, "# not expressible in nDPI 4.2 (wildcard inside the name): "
                                 "bedrock-runtime.*.amazonaws.com@AI_AWS_Bedrock\n"));
    free(text);
    catalog_free(cat);

    /* The shipped catalog: every rule line has the nDPI shape. */
    cat = catalog_new();
    assert_int_equal(catalog_load(cat, EGRET_SRCDIR "/rules/data/ai_endpoints.tsv", NULL, 0), 0);
    text = protos_of(cat);
    int rules_n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        assert_int_equal(strncmp(line, "host:\"", 6), 0);
        char *q = strchr(line + 6, '"');
        assert_non_null(q);
        for (char *p = line + 6; p < q; p++)
            assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz0123456789.-_", *p));
        assert_int_equal(q[1], '@');
        assert_int_equal(strncmp(q + 2, "AI_", 3), 0);
        for (char *p = q + 2; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_'))
                fail_msg("bad protocol name in '%s'", line);
        rules_n++;
    }
    assert_true(rules_n > 100);
    free(text);
    catalog_free(cat);
}

/* ==== IP ranges ==== */

static void test_ip_ranges(void **state)
{
    fixture *fx = *state;
    catalog *cat = catalog_new();
    char err[256] = "";
    const char *p = write_file(fx, "ranges.tsv",
                               "provider\tkind\tcidr\tsource\n"
                               "A\tcloud\t10.0.0.0/8\ts\n"
                               "B\tapi\t10.1.0.0/16\ts\n"
                               "C\tapi\t2001:db8::/32\ts\n"
                               "D\tconsumer\t2001:DB8:1::/48\ts\n"
                               "E\tapi\t192.0.2.7\ts\n"
                               "F\tapi\t0.0.0.0/0\tdefault route, for the test only\n");
    if (catalog_load_ranges(cat, p, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(catalog_count_ranges(cat), 6);
    struct {
        int v;
        const char *addr, *provider, *cidr;
    } cases[] = {
        {4, "10.1.2.3", "B", "10.1.0.0/16"},
        {4, "10.2.0.1", "A", "10.0.0.0/8"},
        {4, "10.255.255.255", "A", "10.0.0.0/8"},
        {4, "11.0.0.1", "F", "0.0.0.0/0"},
        {4, "192.0.2.7", "E", "192.0.2.7/32"},
        {4, "192.0.2.8", "F", "0.0.0.0/0"},
        {6, "2001:db8:1::5", "D", "2001:db8:1::/48"},
        {6, "2001:db8:2::1", "C", "2001:db8::/32"},
        {6, "2001:db9::1", NULL, NULL},
        {6, "::a01:203", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t a[16] = {0};
        assert_int_equal(inet_pton(cases[i].v == 4 ? AF_INET : AF_INET6, cases[i].addr, a), 1);
        catalog_match m;
        bool hit = catalog_match_ip(cat, cases[i].v, a, &m);
        if (!cases[i].provider) {
            if (hit) fail_msg("%s should not match (got %s)", cases[i].addr, m.pattern);
            continue;
        }
        if (!hit) fail_msg("%s should match", cases[i].addr);
        assert_string_equal(m.provider, cases[i].provider);
        assert_string_equal(m.pattern, cases[i].cidr);
    }
    uint8_t a[16] = {10, 1, 0, 1};
    assert_false(catalog_match_ip(cat, 5, a, NULL));

    /* Override by a second file; malformed rows fail with FILE:LINE. */
    p = write_file(fx, "ranges2.tsv", "B2\tgateway\t10.1.0.0/16\tlocal\n");
    assert_int_equal(catalog_load_ranges(cat, p, err, sizeof err), 0);
    catalog_match m;
    assert_true(catalog_match_ip(cat, 4, a, &m));
    assert_string_equal(m.provider, "B2");
    assert_int_equal(m.kind, CATALOG_KIND_GATEWAY);
    assert_int_equal(catalog_count_ranges(cat), 6);

    static const bad_case bad[] = {
        {"X\tapi\t10.0.0.1/8\ts\n", "1: host bits set in '10.0.0.1/8'"},
        {"X\tapi\t10.0.0.0/33\ts\n", "1: prefix length too large: '10.0.0.0/33'"},
        {"X\tapi\t10.0.0/8\ts\n", "1: bad IPv4 address: '10.0.0/8'"},
        {"X\tapi\t2001:db8::g/32\ts\n", "1: bad IPv6 address: '2001:db8::g/32'"},
        {"X\tapi\t10.0.0.0/\ts\n", "1: bad prefix length: '10.0.0.0/'"},
        {"ok\tapi\t10.9.0.0/16\ts\nX\tweird\t10.0.0.0/8\ts\n",
         "2: unknown kind 'weird' (expected api, consumer, cloud or gateway)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_file(fx, "bad.tsv", bad[i].text);
        char want[512];
        snprintf(want, sizeof want, "%s:%s", p, bad[i].msg);
        assert_int_equal(catalog_load_ranges(cat, p, err, sizeof err), -1);
        assert_string_equal(err, want);
        assert_int_equal(catalog_count_ranges(cat), 6);
    }
    catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_label_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_and_trailing_dot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wildcards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idn_and_hostile_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_by_second_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_paths_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndpi_protos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_ranges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
