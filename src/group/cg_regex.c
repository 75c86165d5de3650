/* Regular expressions of KIP-848 subscriptions (SubscribedTopicRegex).
 *
 * Kafka compiles them with RE2/J and matches whole topic names
 * (Pattern.matcher(topic).matches()). Here they are POSIX extended
 * expressions (<regex.h>), anchored at both ends, after a translation of
 * the RE2 syntax topic patterns commonly use:
 *   \d \w \s (and \D \W \S outside brackets)  ->  POSIX classes
 *   (?: ... )                                  ->  ( ... )
 *   \. \- \_ and other escaped punctuation     ->  kept
 * What is left of RE2 beyond ERE (lazy quantifiers, flags such as (?i),
 * \b, \Q...\E, named groups, Unicode classes) does not compile here and
 * is refused with INVALID_REGULAR_EXPRESSION; ERE constructs RE2 lacks
 * (back-references) are refused too. Topic names are ASCII
 * [a-zA-Z0-9._-], so within that, both agree on what matches. */
#include "group/cg_regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int append(char **out, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap + n + 1) * 2;
        char *p = realloc(*out, nc);
        if (!p)
            return -1;
        *out = p;
        *cap = nc;
    }
    memcpy(*out + *len, s, n + 1);
    *len += n;
    return 0;
}

/* p (after a '{') is "n}", "n,}" or "n,m}". */
static bool repetition(const char *p)
{
    size_t i = 0;
    if (p[i] < '0' || p[i] > '9')
        return false;
    while (p[i] >= '0' && p[i] <= '9')
        i++;
    if (p[i] == ',') {
        i++;
        while (p[i] >= '0' && p[i] <= '9')
            i++;
    }
    return p[i] == '}';
}

/* RE2 syntax -> ERE, anchored; NULL with a message when it cannot be. */
static char *translate(const char *re, char *err, size_t errlen)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    bool in_bracket = false;
    int depth = 0;
    /* What the last token outside brackets was, for RE2's repetition
     * rules: nothing to repeat (start, '(' or '|'), an atom, a repetition
     * operator, or one made non-greedy by '?'. */
    enum { P_NONE, P_ATOM, P_QUANT, P_LAZY } prev = P_NONE;
    int rc = append(&out, &len, &cap, "^(");
    for (size_t i = 0; re[i] && rc == 0; i++) {
        char ch = re[i];
        char one[3] = {ch, 0, 0};
        if (ch == '\\') {
            char e = re[i + 1];
            if (!e) {
                snprintf(err, errlen, "trailing backslash at end of expression");
                free(out);
                return NULL;
            }
            i++;
            const char *rep = NULL;
            switch (e) {
            case 'd': rep = in_bracket ? "0-9" : "[0-9]"; break;
            case 'w': rep = in_bracket ? "A-Za-z0-9_" : "[A-Za-z0-9_]"; break;
            case 's': rep = in_bracket ? "[:space:]" : "[[:space:]]"; break;
            case 'D': rep = in_bracket ? NULL : "[^0-9]"; break;
            case 'W': rep = in_bracket ? NULL : "[^A-Za-z0-9_]"; break;
            case 'S': rep = in_bracket ? NULL : "[^[:space:]]"; break;
            default:
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
                    snprintf(err, errlen, "invalid escape sequence: `\\%c`", e);
                    free(out);
                    return NULL;
                }
                /* Escaped punctuation: literal. Inside brackets ERE has no
                 * escapes, the character itself is literal. */
                if (in_bracket) {
                    one[0] = e;
                } else {
                    one[0] = '\\';
                    one[1] = e;
                    prev = P_ATOM;
                }
                rc = append(&out, &len, &cap, one);
                continue;
            }
            if (!rep) {
                snprintf(err, errlen, "negated class `\\%c` inside brackets is not supported here", e);
                free(out);
                return NULL;
            }
            rc = append(&out, &len, &cap, rep);
            if (!in_bracket)
                prev = P_ATOM;
            continue;
        }
        if (in_bracket) {
            if (ch == ']') {
                in_bracket = false;
                prev = P_ATOM;
            }
            rc = append(&out, &len, &cap, one);
            continue;
        }
        if (ch == '[') {
            in_bracket = true;
            rc = append(&out, &len, &cap, one);
            /* A leading ^ and a leading ] belong to the bracket. */
            if (re[i + 1] == '^') {
                rc = rc ? rc : append(&out, &len, &cap, "^");
                i++;
            }
            if (re[i + 1] == ']') {
                rc = rc ? rc : append(&out, &len, &cap, "]");
                i++;
            }
            continue;
        }
        if (ch == '(' && re[i + 1] == '?' && re[i + 2] == ':') {
            rc = append(&out, &len, &cap, "(");
            depth++;
            prev = P_NONE;
            i += 2;
            continue;
        }
        bool rep_brace = ch == '{' && repetition(re + i + 1);
        if (ch == '*' || ch == '+' || ch == '?' || rep_brace) {
            if (ch == '?' && prev == P_QUANT) {
                /* Non-greedy: the same whole-name matches as greedy. */
                prev = P_LAZY;
                continue;
            }
            if (prev != P_ATOM) {
                snprintf(err, errlen, "%s: `%s`",
                         prev == P_NONE ? "missing argument to repetition operator" : "bad repetition operator", re);
                free(out);
                return NULL;
            }
            prev = P_QUANT;
            if (rep_brace) {
                size_t end = i + strcspn(re + i, "}");
                char buf[64];
                snprintf(buf, sizeof buf, "%.*s", (int)(end - i + 1), re + i);
                rc = append(&out, &len, &cap, buf);
                i = end;
                continue;
            }
            rc = append(&out, &len, &cap, one);
            continue;
        }
        prev = ch == '(' || ch == '|' ? P_NONE : P_ATOM;
        if (ch == '(')
            depth++;
        if (ch == ')' && --depth < 0) {
            /* ERE takes a lone ')' literally, RE2 refuses it. */
            snprintf(err, errlen, "unexpected ): `%s`", re);
            free(out);
            return NULL;
        }
        if (ch == '{' && !repetition(re + i + 1)) {
            /* RE2 takes a '{' that starts no repetition literally. */
            rc = append(&out, &len, &cap, "\\{");
            continue;
        }
        rc = append(&out, &len, &cap, one);
    }
    if (rc == 0)
        rc = append(&out, &len, &cap, ")$");
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        free(out);
        return NULL;
    }
    return out;
}

int gr_cg_regex_compile(const char *re, regex_t *out, char *err, size_t errlen)
{
    /* The expression alone first: the parentheses added for anchoring
     * must not make an unbalanced one valid. */
    char *ere = translate(re, err, errlen);
    if (!ere)
        return -1;
    regex_t probe;
    size_t n = strlen(ere);
    ere[n - 2] = 0; /* without ")$" */
    int rc = regcomp(&probe, ere + 2, REG_EXTENDED | REG_NOSUB);
    if (rc == 0) {
        regfree(&probe);
        ere[n - 2] = ')';
        rc = regcomp(out, ere, REG_EXTENDED | REG_NOSUB);
    }
    if (rc != 0) {
        char msg[160];
        regerror(rc, &probe, msg, sizeof msg);
        snprintf(err, errlen, "%s", msg);
        free(ere);
        return -1;
    }
    free(ere);
    return 0;
}

bool gr_cg_regex_match(const regex_t *rx, const char *topic)
{
    return regexec(rx, topic, 0, NULL, 0) == 0;
}
