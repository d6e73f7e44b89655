/*
 * redact.c -- evidence redaction: e-mail addresses, payment-card numbers,
 * phone numbers and long digit runs replaced by placeholders before a
 * text sample is kept.  The sample is decoded first (JSON escapes such as
 * \u0040, URL %40), so an address cannot hide behind its encoding; then
 * e-mail addresses are matched in their wider forms too: quoted local
 * parts ("john doe"@example.com), address literals (user@[192.0.2.1]) and
 * internationalised names (UTF-8 bytes, xn-- labels).  Card numbers are
 * 13-19 digits, grouped by single spaces or dashes or not, that pass the
 * Luhn check ("[card]"; a grouped run that fails it is still "[num]").
 * The narrower ASCII matcher redact_email_at is the detector's
 * (content.c's identifier sets) and is kept as it was.
 */
#include "redact.h"

#include "ascii.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static bool is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alnum(int ch)
{
    return is_alpha(ch) || is_digit(ch);
}

static bool email_local(int ch)
{
    return is_alnum(ch) || (ch && strchr("._%+-", ch));
}

static bool email_domain(int ch)
{
    return is_alnum(ch) || ch == '.' || ch == '-';
}

/* If s[at] == '@' is the middle of an e-mail address, sets [*b, *e) and
 * returns true. */
bool redact_email_at(const uint8_t *s, size_t n, size_t at, size_t *b, size_t *e)
{
    size_t l = at;
    while (l > 0 && email_local(s[l - 1])) l--;
    size_t r = at + 1;
    while (r < n && email_domain(s[r])) r++;
    while (r > at + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) r--;
    while (l < at && s[l] == '.') l++;
    if (l == at || r <= at + 1) return false;
    size_t dot = r;
    while (dot > at + 1 && s[dot - 1] != '.') dot--;
    if (dot <= at + 2 || r - dot < 2) return false; /* need label '.' tld */
    for (size_t i = dot; i < r; i++)
        if (!is_alpha(s[i])) return false;
    *b = l;
    *e = r;
    return true;
}

/* ---- decoding ---- */

#define REDACT_MAX_IN 4096 /* bytes of a sample decoded and redacted */

static long hex4(const uint8_t *s, size_t n, size_t i)
{
    if (i + 4 > n) return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = ascii_hexval(s[i + k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* JSON string escapes and URL %XX escapes decoded into out (never longer
 * than the input); control characters other than tab and newline become
 * '?', so the sample stays a text line.  An escape cut off at the end of
 * the sample is dropped rather than kept half-encoded. */
static size_t decode(const uint8_t *s, size_t n, uint8_t *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned long cp = s[i];
        size_t used = 1;
        bool unicode = false; /* a code point (\uXXXX), else one byte */
        if (cp == '\\') {
            if (i + 1 >= n) break; /* cut off */
            const char *simple = s[i + 1] ? strchr(from, s[i + 1]) : NULL;
            long u = s[i + 1] == 'u' ? hex4(s, n, i + 2) : -1;
            if (simple) {
                cp = (uint8_t)to[simple - from];
                used = 2;
            } else if (u >= 0) {
                cp = (unsigned long)u;
                used = 6;
                unicode = true;
                if (u >= 0xd800 && u < 0xdc00 && i + 12 <= n && s[i + 6] == '\\' &&
                    s[i + 7] == 'u') {
                    long lo = hex4(s, n, i + 8);
                    if (lo >= 0xdc00 && lo < 0xe000) {
                        cp = 0x10000 + ((unsigned long)(u - 0xd800) << 10) +
                             (unsigned long)(lo - 0xdc00);
                        used = 12;
                    }
                }
                if (cp >= 0xd800 && cp < 0xe000) cp = '?'; /* a lone surrogate */
            } else if (s[i + 1] == 'u' && i + 6 > n) {
                break; /* cut off */
            }
        } else if (cp == '%' && i + 2 < n && ascii_hexval(s[i + 1]) >= 0 &&
                   ascii_hexval(s[i + 2]) >= 0) {
            cp = (unsigned long)(ascii_hexval(s[i + 1]) * 16 + ascii_hexval(s[i + 2]));
            used = 3;
        }
        if (cp == 0x7f || (cp < 0x20 && cp != '\t' && cp != '\n')) cp = '?';
        if (unicode)
            o += utf8_put((uint32_t)cp, out + o);
        else
            out[o++] = (uint8_t)cp; /* a raw or %XX byte stays a byte (UTF-8 passes through) */
        i += used;
    }
    return o;
}

/* ---- the wider e-mail forms (redaction only) ---- */

static bool wide_local(int ch)
{
    /* of RFC 5322's other atext characters only the apostrophe (o'brien):
     * '=', '&', '/' and '?' would swallow the query string around it */
    return email_local(ch) || ch >= 0x80 || ch == '\'';
}

static bool wide_domain(int ch)
{
    return email_domain(ch) || ch >= 0x80;
}

/* The end of the domain after the '@' at s[at], or 0: a host name whose
 * last label is letters or UTF-8 (or an xn-- label), or an address
 * literal in brackets. */
static size_t wide_domain_end(const uint8_t *s, size_t n, size_t at)
{
    size_t r = at + 1;
    if (r < n && s[r] == '[') {
        size_t k = r + 1;
        while (k < n && k - r < 64 && (is_alnum(s[k]) || s[k] == '.' || s[k] == ':')) k++;
        return k < n && s[k] == ']' && k > r + 1 ? k + 1 : 0;
    }
    while (r < n && wide_domain(s[r])) r++;
    while (r > at + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) r--;
    size_t dot = r;
    while (dot > at + 1 && s[dot - 1] != '.') dot--;
    if (dot <= at + 2 || r - dot < 2) return 0;
    bool punycode = r - dot > 4 && memcmp(s + dot, "xn--", 4) == 0;
    for (size_t i = dot; i < r; i++)
        if (!is_alpha(s[i]) && s[i] < 0x80 && !(punycode && (is_digit(s[i]) || s[i] == '-')))
            return 0;
    return r;
}

/* An address starting at s[i] (a local-part token or a quoted local part
 * followed by '@' and a domain): its end, or 0. */
static size_t wide_email_at(const uint8_t *s, size_t n, size_t i)
{
    size_t j = i;
    if (s[i] == '"') { /* "any text"@domain */
        j = i + 1;
        while (j < n && j - i < 66 && s[j] != '"' && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
        if (j >= n || s[j] != '"') return 0;
        j++;
    } else {
        while (j < n && wide_local(s[j])) j++;
        if (j == i || s[i] == '.') return 0;
    }
    if (j >= n || s[j] != '@') return 0;
    return wide_domain_end(s, n, j);
}

/* ---- payment cards ---- */

/* Digits at s[i] grouped by single spaces or dashes (one kind): the end,
 * with the Luhn check in *luhn; 0 unless 13-19 digits. */
static size_t card_at(const uint8_t *s, size_t n, size_t i, bool *luhn)
{
    uint8_t d[20];
    size_t nd = 0, j = i, last = i;
    int sep = 0;
    while (j < n) {
        if (is_digit(s[j])) {
            if (nd == 19) return 0; /* too long for a card */
            d[nd++] = (uint8_t)(s[j] - '0');
            last = ++j;
        } else if ((s[j] == ' ' || s[j] == '-') && (!sep || sep == s[j]) && j + 1 < n &&
                   is_digit(s[j + 1]) && j > i && is_digit(s[j - 1])) {
            sep = s[j];
            j++;
        } else
            break;
    }
    if (nd < 13 || (last < n && is_alnum(s[last]))) return 0;
    unsigned sum = 0;
    for (size_t k = 0; k < nd; k++) {
        unsigned v = d[nd - 1 - k];
        if (k % 2) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    *luhn = sum % 10 == 0;
    return last;
}

static bool put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (cap == 0 || *o + n > cap - 1) return false;
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

/* Phone-like run at s[i]: returns its end, or 0 (then *plain is the end of
 * a date / dotted quad to copy unchanged, or i). */
static size_t phone_at(const uint8_t *s, size_t n, size_t i, size_t *plain)
{
    *plain = i;
    size_t j = i, digits = 0, groups = 0, glen[8] = {0};
    bool plus = false, sep_seen = false, dots = false, dashes_only = true;
    if (s[j] == '+') plus = true, j++;
    size_t last = 0;
    bool in_group = false;
    while (j < n) {
        uint8_t ch = s[j];
        if (is_digit(ch)) {
            if (!in_group) {
                groups++;
                in_group = true;
            }
            if (groups <= 8) glen[groups - 1]++;
            digits++;
            last = j + 1;
            j++;
        } else if (strchr(" -.()", ch) && ch && j + 1 < n &&
                   (is_digit(s[j + 1]) || (ch == ')' && s[j + 1] == ' ') ||
                    (ch == ' ' && s[j + 1] == '(') || ch == '(')) {
            sep_seen = true;
            if (ch == '.') dots = true;
            if (ch != '-') dashes_only = false;
            in_group = false;
            j++;
        } else {
            break;
        }
    }
    if (digits < 7 || digits > 15 || last == 0) return 0;
    if (!plus && !sep_seen) return 0;
    if ((!plus && dashes_only && groups == 3 && glen[0] == 4 && glen[1] == 2 && glen[2] == 2) ||
        (!plus && dots && groups == 4 && glen[0] <= 3 && glen[1] <= 3 && glen[2] <= 3 &&
         glen[3] <= 3)) {
        *plain = last; /* ISO date or dotted quad */
        return 0;
    }
    if (last < n && is_alnum(s[last])) return 0;
    return last;
}

size_t content_redact(const char *in, size_t n, char *out, size_t cap)
{
    uint8_t s[REDACT_MAX_IN];
    if (n > sizeof(s)) n = sizeof(s);
    n = decode((const uint8_t *)in, n, s);
    const char *txt = (const char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        bool boundary = i == 0 || !is_alnum(s[i - 1]);
        /* e-mail: a local-part token (or a quoted one) starting here */
        if ((s[i] == '"' || wide_local(s[i])) && (i == 0 || !wide_local(s[i - 1]))) {
            size_t e = wide_email_at(s, n, i);
            if (e) {
                if (!put(out, cap, &o, "[email]", 7)) break;
                i = e;
                continue;
            }
        }
        if (boundary && is_digit(s[i])) {
            bool luhn = false;
            size_t e = card_at(s, n, i, &luhn);
            if (e) {
                if (!put(out, cap, &o, luhn ? "[card]" : "[num]", luhn ? 6 : 5)) break;
                i = e;
                continue;
            }
        }
        if (boundary && (s[i] == '+' || s[i] == '(' || is_digit(s[i]))) {
            size_t plain, e = phone_at(s, n, i, &plain);
            if (e) {
                if (!put(out, cap, &o, "[phone]", 7)) break;
                i = e;
                continue;
            }
            if (plain > i) {
                if (!put(out, cap, &o, txt + i, plain - i)) break;
                i = plain;
                continue;
            }
        }
        if (is_digit(s[i]) && (i == 0 || !is_digit(s[i - 1]))) {
            size_t j = i;
            while (j < n && is_digit(s[j])) j++;
            if (j - i >= 6) {
                if (!put(out, cap, &o, "[num]", 5)) break;
                i = j;
                continue;
            }
        }
        if (!put(out, cap, &o, txt + i, 1)) break;
        i++;
    }
    if (cap) out[o] = 0;
    return o;
}
