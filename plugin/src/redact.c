/*
 * redact.c -- evidence redaction: e-mail addresses, phone numbers and long
 * digit runs replaced by placeholders before a text sample is kept.  The
 * e-mail matcher is also the detector's (content.c's identifier sets).
 */
#include "redact.h"

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
    const uint8_t *s = (const uint8_t *)in;
    size_t o = 0, i = 0;
    while (i < n) {
        bool boundary = i == 0 || !is_alnum(s[i - 1]);
        /* e-mail: a local-part token starting here followed by '@' */
        if (email_local(s[i]) && (i == 0 || !email_local(s[i - 1]))) {
            size_t j = i;
            while (j < n && email_local(s[j])) j++;
            size_t b, e;
            if (j < n && s[j] == '@' && redact_email_at(s, n, j, &b, &e) && b == i) {
                if (!put(out, cap, &o, "[email]", 7)) break;
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
                if (!put(out, cap, &o, in + i, plain - i)) break;
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
        if (!put(out, cap, &o, in + i, 1)) break;
        i++;
    }
    if (cap) out[o] = 0;
    return o;
}
