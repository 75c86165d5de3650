/* server.properties: Java's java.util.Properties text format, read the way
 * Properties.load reads it, so a file that works with Kafka works here.
 *
 *   - A natural line ends at \n, \r or \r\n. Leading spaces, tabs and form
 *     feeds are skipped; a line that is then empty is skipped, and so is one
 *     starting with # or ! (a comment never continues).
 *   - A line ending in an odd number of backslashes continues on the next
 *     one; the backslash and the next line's leading whitespace are dropped.
 *   - The key ends at the first unescaped '=', ':' or whitespace; whitespace
 *     and at most one '=' or ':' after it are skipped; the rest is the value.
 *   - Escapes in key and value: \t \n \r \f, \uXXXX (written as UTF-8), and
 *     a backslash before any other character stands for that character.
 *
 * Each pair is set as STATIC_BROKER_CONFIG; the first error stops the load
 * and names the file and the line where the logical line started. */
#include "server/config_int.h"

#include "base/err.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (16u << 20)

typedef struct {
    char  *p;
    size_t len, cap;
} strbuf_t;

static int sb_put(strbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return GR_ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int read_u(const char *s, size_t n, size_t i, unsigned *cp)
{
    if (i + 4 > n)
        return -1;
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(s[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    *cp = v;
    return 0;
}

/* Unescapes s[0..n) into a new NUL-terminated string (never longer). */
static int unescape(const char *s, size_t n, char **out)
{
    char  *r = malloc(n + 1);
    size_t o = 0;
    if (!r)
        return GR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) {
            r[o++] = c;
            continue;
        }
        c = s[++i];
        switch (c) {
        case 't': r[o++] = '\t'; break;
        case 'n': r[o++] = '\n'; break;
        case 'r': r[o++] = '\r'; break;
        case 'f': r[o++] = '\f'; break;
        case 'u': {
            unsigned cp;
            if (read_u(s, n, i + 1, &cp) < 0) {
                free(r);
                return GR_EMALFORMED;
            }
            i += 4;
            /* A surrogate pair written as two escapes is one code point. */
            unsigned lo;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < n && s[i + 1] == '\\' &&
                s[i + 2] == 'u' && read_u(s, n, i + 3, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            /* Six escape bytes always cover the (at most four) UTF-8 bytes. */
            o += utf8_put(r + o, cp);
            break;
        }
        default: r[o++] = c; break;
        }
    }
    r[o] = 0;
    *out = r;
    return 0;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Splits a logical line into key and value (Properties.load's rules). */
static int split_pair(const char *line, size_t limit, char **key, char **value)
{
    size_t key_len = 0, value_start = limit;
    bool   has_sep = false, preceding_backslash = false;
    while (key_len < limit) {
        char c = line[key_len];
        if ((c == '=' || c == ':') && !preceding_backslash) {
            value_start = key_len + 1;
            has_sep = true;
            break;
        }
        if (is_ws(c) && !preceding_backslash) {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' ? !preceding_backslash : false;
        key_len++;
    }
    while (value_start < limit) {
        char c = line[value_start];
        if (!is_ws(c)) {
            if (!has_sep && (c == '=' || c == ':'))
                has_sep = true;
            else
                break;
        }
        value_start++;
    }
    int rc = unescape(line, key_len, key);
    if (rc < 0)
        return rc;
    rc = unescape(line + value_start, limit - value_start, value);
    if (rc < 0) {
        free(*key);
        return rc;
    }
    return 0;
}

/* Consumes one line terminator at *p, if any; returns whether it did. */
static bool eat_newline(const char **p)
{
    if (**p == '\r') {
        (*p)++;
        if (**p == '\n')
            (*p)++;
        return true;
    }
    if (**p == '\n') {
        (*p)++;
        return true;
    }
    return false;
}

int gr_config_load_string(gr_config_t *cfg, const char *text, const char *name, char *errbuf,
                          size_t errlen)
{
    const char *p = text;
    int         line = 1, rc = 0;
    strbuf_t    lb = {0};
    char        inner[512];

    while (*p) {
        int start = line;
        while (is_ws(*p))
            p++;
        if (eat_newline(&p)) {
            line++;
            continue;
        }
        if (!*p)
            break;
        if (*p == '#' || *p == '!') {
            while (*p && *p != '\n' && *p != '\r')
                p++;
            if (eat_newline(&p))
                line++;
            continue;
        }
        lb.len = 0;
        for (;;) {
            const char *e = p;
            while (*e && *e != '\n' && *e != '\r')
                e++;
            size_t bs = 0;
            while (e - (ptrdiff_t)bs > p && e[-1 - (ptrdiff_t)bs] == '\\')
                bs++;
            bool cont = bs % 2 == 1;
            if ((rc = sb_put(&lb, p, (size_t)(e - p) - (cont ? 1 : 0))) < 0)
                goto out;
            p = e;
            if (eat_newline(&p))
                line++;
            if (!cont || !*p)
                break;
            while (is_ws(*p))
                p++;
        }
        char *key = NULL, *value = NULL;
        rc = split_pair(lb.p ? lb.p : "", lb.len, &key, &value);
        if (rc == GR_EMALFORMED) {
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "%s:%d: malformed \\uXXXX escape", name, start);
            rc = GR_EINVAL;
            goto out;
        }
        if (rc < 0)
            goto out;
        inner[0] = 0;
        rc = gr_config_set(cfg, key, value, GR_CONFIG_SOURCE_STATIC_BROKER, inner, sizeof inner);
        free(key);
        free(value);
        if (rc < 0) {
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "%s:%d: %s", name, start, inner);
            goto out;
        }
    }
out:
    free(lb.p);
    return rc;
}

int gr_config_load_file(gr_config_t *cfg, const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    strbuf_t b = {0};
    char     chunk[8192];
    size_t   n;
    int      rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_FILE_BYTES) {
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
            rc = GR_ETOOBIG;
            break;
        }
        if ((rc = sb_put(&b, chunk, n)) < 0)
            break;
    }
    if (rc == 0 && ferror(f)) {
        rc = -EIO;
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s: read error", path);
    }
    fclose(f);
    if (rc == 0 && b.p && memchr(b.p, 0, b.len)) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s: contains a NUL byte; not a properties file", path);
        rc = GR_EINVAL;
    }
    if (rc == 0)
        rc = gr_config_load_string(cfg, b.p ? b.p : "", path, errbuf, errlen);
    free(b.p);
    return rc;
}

int gr_config_set_kv(gr_config_t *cfg, const char *kv, char *errbuf, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "--set expects KEY=VALUE, got '%s'", kv);
        return GR_EINVAL;
    }
    const char *k = kv, *ke = eq;
    while (k < ke && is_ws(*k))
        k++;
    while (ke > k && is_ws(ke[-1]))
        ke--;
    char *key = strndup(k, (size_t)(ke - k));
    if (!key)
        return GR_ENOMEM;
    char inner[512];
    inner[0] = 0;
    int rc = gr_config_set(cfg, key, eq + 1, GR_CONFIG_SOURCE_STATIC_BROKER, inner, sizeof inner);
    if (rc < 0 && errbuf && errlen)
        snprintf(errbuf, errlen, "--set %s: %s", key, inner);
    free(key);
    return rc;
}
