/* Parsing, validating and canonicalizing one configuration value, the way
 * Kafka's ConfigDef does: trim, parse by type, check range and allowed
 * values, then the key's own validator. The canonical string is what
 * DescribeConfigs shows (Kafka shows the parsed value re-rendered: "TRUE"
 * becomes "true", "compact, delete" becomes "compact,delete"). Error text
 * follows Kafka's "Invalid value V for configuration K: reason". */
#include "server/config_int.h"

#include "base/err.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *gr_config_type_name(gr_config_type_t type)
{
    switch (type) {
    case GR_CONFIG_BOOLEAN: return "boolean";
    case GR_CONFIG_STRING: return "string";
    case GR_CONFIG_INT: return "int";
    case GR_CONFIG_SHORT: return "short";
    case GR_CONFIG_LONG: return "long";
    case GR_CONFIG_DOUBLE: return "double";
    case GR_CONFIG_LIST: return "list";
    case GR_CONFIG_CLASS: return "class";
    case GR_CONFIG_PASSWORD: return "password";
    default: return "unknown";
    }
}

const char *gr_config_source_name(gr_config_source_t source)
{
    switch (source) {
    case GR_CONFIG_SOURCE_DYNAMIC_TOPIC: return "DYNAMIC_TOPIC_CONFIG";
    case GR_CONFIG_SOURCE_DYNAMIC_BROKER: return "DYNAMIC_BROKER_CONFIG";
    case GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case GR_CONFIG_SOURCE_STATIC_BROKER: return "STATIC_BROKER_CONFIG";
    case GR_CONFIG_SOURCE_DEFAULT: return "DEFAULT_CONFIG";
    case GR_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER: return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case GR_CONFIG_SOURCE_CLIENT_METRICS: return "CLIENT_METRICS_CONFIG";
    case GR_CONFIG_SOURCE_GROUP: return "GROUP_CONFIG";
    default: return "UNKNOWN";
    }
}

static int invalid(const gr_config_def_t *d, const char *v, char *err, size_t errlen,
                   const char *reason)
{
    if (err && errlen)
        snprintf(err, errlen, "Invalid value %s for configuration %s: %s", v, d->name, reason);
    return GR_EINVAL;
}

/* Java's Integer.parseInt family: optional sign, decimal digits only. */
int gr_config_parse_int64(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return GR_EINVAL;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return GR_EINVAL;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return GR_ERANGE;
    *out = v;
    return 0;
}

void gr_config_format_double(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        snprintf(buf, len, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest digit string that reads back as v. */
    char e[40];
    int  prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e is "[-]d.ddde[+-]xx": split into sign, digits and exponent. */
    char        digits[24];
    size_t      nd = 0;
    const char *p = e;
    bool        neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd < sizeof digits - 1)
            digits[nd++] = *p;
    digits[nd] = 0;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = 0;

    char  out[64];
    char *o = out;
    if (neg)
        *o++ = '-';
    if (exp10 >= -3 && exp10 < 7) {
        /* Plain notation, at least one digit after the point. */
        if (exp10 < 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = -1; i > exp10; i--)
                *o++ = '0';
            memcpy(o, digits, nd);
            o += nd;
        } else {
            for (int i = 0; i <= exp10; i++)
                *o++ = (size_t)i < nd ? digits[i] : '0';
            *o++ = '.';
            if ((size_t)exp10 + 1 < nd) {
                memcpy(o, digits + exp10 + 1, nd - (size_t)exp10 - 1);
                o += nd - (size_t)exp10 - 1;
            } else {
                *o++ = '0';
            }
        }
        *o = 0;
    } else {
        *o++ = digits[0];
        *o++ = '.';
        if (nd > 1) {
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        } else {
            *o++ = '0';
        }
        snprintf(o, sizeof out - (size_t)(o - out), "E%d", exp10);
    }
    snprintf(buf, len, "%s", out);
}

static bool in_allowed(const char *const *allowed, const char *s, size_t n)
{
    for (; *allowed; allowed++)
        if (strlen(*allowed) == n && memcmp(*allowed, s, n) == 0)
            return true;
    return false;
}

static void allowed_text(const char *const *allowed, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (const char *const *a = allowed; *a && o < len; a++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", a == allowed ? "" : ", ", *a);
}

void gr_config_valid_text(const gr_config_def_t *d, char *buf, size_t len)
{
    char a[32], b[32];
    buf[0] = 0;
    if (d->valid_doc) {
        snprintf(buf, len, "%s", d->valid_doc);
        return;
    }
    if (d->allowed) {
        char list[256];
        allowed_text(d->allowed, list, sizeof list);
        snprintf(buf, len, "[%s]", list);
        return;
    }
    if (!(d->flags & (GR_CONFIG_F_MIN | GR_CONFIG_F_MAX)))
        return;
    if (d->type == GR_CONFIG_DOUBLE) {
        snprintf(a, sizeof a, "%g", d->dmin);
        snprintf(b, sizeof b, "%g", d->dmax);
    } else {
        snprintf(a, sizeof a, "%" PRId64, d->min);
        snprintf(b, sizeof b, "%" PRId64, d->max);
    }
    if ((d->flags & GR_CONFIG_F_MIN) && (d->flags & GR_CONFIG_F_MAX))
        snprintf(buf, len, "[%s,...,%s]", a, b);
    else if (d->flags & GR_CONFIG_F_MIN)
        snprintf(buf, len, "[%s,...]", a);
    else
        snprintf(buf, len, "[...,%s]", b);
}

/* Trimmed copy of s (Java's String.trim: bytes <= ' '). */
static char *trimmed_dup(const char *s)
{
    while (*s && (unsigned char)*s <= ' ')
        s++;
    size_t n = strlen(s);
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = 0;
    }
    return r;
}

/* LIST: items split on commas and trimmed, joined back with bare commas;
 * checked against allowed values and for duplicates. */
static int canon_list(const gr_config_def_t *d, const char *v, char **out, char *err, size_t errlen)
{
    size_t n = strlen(v);
    char  *r = malloc(n + 1);
    if (!r)
        return GR_ENOMEM;
    size_t o = 0;
    if (n == 0) {
        r[0] = 0;
        *out = r;
        return 0;
    }
    const char *p = v;
    for (;;) {
        const char *c = strchr(p, ',');
        const char *e = c ? c : p + strlen(p);
        while (p < e && (unsigned char)*p <= ' ')
            p++;
        const char *q = e;
        while (q > p && (unsigned char)q[-1] <= ' ')
            q--;
        size_t ilen = (size_t)(q - p);
        if (d->allowed && !in_allowed(d->allowed, p, ilen)) {
            char list[256], reason[320];
            allowed_text(d->allowed, list, sizeof list);
            snprintf(reason, sizeof reason, "String must be one of: %s", list);
            free(r);
            return invalid(d, v, err, errlen, reason);
        }
        if (d->flags & GR_CONFIG_F_NODUP) {
            /* Compare with the items already written. */
            const char *s = r;
            while (s < r + o) {
                const char *se = memchr(s, ',', (size_t)(r + o - s));
                if (!se)
                    se = r + o;
                if ((size_t)(se - s) == ilen && memcmp(s, p, ilen) == 0) {
                    free(r);
                    if (err && errlen)
                        snprintf(err, errlen, "Configuration '%s' values must not be duplicated.",
                                 d->name);
                    return GR_EINVAL;
                }
                s = se + 1;
            }
        }
        if (o)
            r[o++] = ',';
        memcpy(r + o, p, ilen);
        o += ilen;
        if (!c)
            break;
        p = c + 1;
    }
    r[o] = 0;
    *out = r;
    return 0;
}

int gr_config_canon(const gr_config_def_t *d, const char *raw, char **out, char *err, size_t errlen)
{
    char *t = trimmed_dup(raw);
    char *canon = NULL;
    int   rc = 0;
    char  num[64];
    if (!t)
        return GR_ENOMEM;

    switch (d->type) {
    case GR_CONFIG_BOOLEAN:
        if (strcasecmp(t, "true") == 0)
            canon = strdup("true");
        else if (strcasecmp(t, "false") == 0)
            canon = strdup("false");
        else
            rc = invalid(d, t, err, errlen, "Expected value to be either true or false");
        break;
    case GR_CONFIG_SHORT:
    case GR_CONFIG_INT:
    case GR_CONFIG_LONG: {
        int64_t v = 0, lo = INT64_MIN, hi = INT64_MAX;
        if (d->type == GR_CONFIG_INT) {
            lo = INT32_MIN;
            hi = INT32_MAX;
        } else if (d->type == GR_CONFIG_SHORT) {
            lo = INT16_MIN;
            hi = INT16_MAX;
        }
        if (gr_config_parse_int64(t, &v) < 0 || v < lo || v > hi) {
            char reason[48];
            snprintf(reason, sizeof reason, "Not a number of type %s",
                     d->type == GR_CONFIG_INT ? "INT" : d->type == GR_CONFIG_SHORT ? "SHORT" : "LONG");
            rc = invalid(d, t, err, errlen, reason);
            break;
        }
        if ((d->flags & GR_CONFIG_F_MIN) && v < d->min) {
            snprintf(num, sizeof num, "Value must be at least %" PRId64, d->min);
            rc = invalid(d, t, err, errlen, num);
            break;
        }
        if ((d->flags & GR_CONFIG_F_MAX) && v > d->max) {
            snprintf(num, sizeof num, "Value must be no more than %" PRId64, d->max);
            rc = invalid(d, t, err, errlen, num);
            break;
        }
        snprintf(num, sizeof num, "%" PRId64, v);
        canon = strdup(num);
        break;
    }
    case GR_CONFIG_DOUBLE: {
        /* strtod also takes "inf", "nan" and hex forms; Java's parseDouble
         * (decimal digits, point, exponent) does not. */
        char  *end = NULL;
        bool   decimal = *t && strspn(t, "0123456789+-.eE") == strlen(t);
        double v = decimal ? strtod(t, &end) : 0;
        if (!decimal || *end || isnan(v)) {
            rc = invalid(d, t, err, errlen, "Not a number of type DOUBLE");
            break;
        }
        if ((d->flags & GR_CONFIG_F_MIN) && v < d->dmin) {
            snprintf(num, sizeof num, "Value must be at least %g", d->dmin);
            rc = invalid(d, t, err, errlen, num);
            break;
        }
        if ((d->flags & GR_CONFIG_F_MAX) && v > d->dmax) {
            snprintf(num, sizeof num, "Value must be no more than %g", d->dmax);
            rc = invalid(d, t, err, errlen, num);
            break;
        }
        gr_config_format_double(v, num, sizeof num);
        canon = strdup(num);
        break;
    }
    case GR_CONFIG_LIST:
        rc = canon_list(d, t, &canon, err, errlen);
        break;
    default: /* STRING, CLASS, PASSWORD */
        if (d->allowed && !in_allowed(d->allowed, t, strlen(t))) {
            char list[256], reason[320];
            allowed_text(d->allowed, list, sizeof list);
            snprintf(reason, sizeof reason, "String must be one of: %s", list);
            rc = invalid(d, t, err, errlen, reason);
            break;
        }
        if (d->flags & GR_CONFIG_F_NODUP) {
            char *tmp = NULL;
            rc = canon_list(d, t, &tmp, err, errlen);
            free(tmp);
            if (rc < 0)
                break;
        }
        canon = t;
        t = NULL;
        break;
    }
    if (rc == 0 && !canon)
        rc = GR_ENOMEM;
    if (rc == 0 && (d->flags & GR_CONFIG_F_NONEMPTY) && !*canon) {
        if (err && errlen)
            snprintf(err, errlen, "Invalid value for configuration %s: must not be empty", d->name);
        rc = GR_EINVAL;
    }
    if (rc == 0 && d->check)
        rc = d->check(d, canon, err, errlen);
    free(t);
    if (rc < 0) {
        free(canon);
        return rc;
    }
    *out = canon;
    return 0;
}

/* ---- validators named by the table ---- */

/* Calls fn on each non-empty comma-separated item of v (items already
 * trimmed); empty items are skipped as Kafka's Csv.parseCsvList does. */
static int each_item(const char *v, int (*fn)(const char *item, size_t n, void *arg), void *arg)
{
    if (!*v)
        return 0;
    for (;;) {
        const char *c = strchr(v, ',');
        size_t      n = c ? (size_t)(c - v) : strlen(v);
        int         rc = n ? fn(v, n, arg) : 0;
        if (rc < 0)
            return rc;
        if (!c)
            return 0;
        v = c + 1;
    }
}

static bool valid_port(const char *p, size_t n)
{
    if (n == 0 || n > 5)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    return v <= 65535;
}

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '%' || c == '.' || c == '_' || c == ':';
}

/* host:port, host possibly [IPv6]; empty host allowed when allow_empty. */
static bool valid_host_port(const char *s, size_t n, bool allow_empty)
{
    const char *colon = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (!colon || !valid_port(colon + 1, (size_t)(s + n - colon - 1)))
        return false;
    const char *h = s, *he = colon;
    if (he > h && *h == '[' && he[-1] == ']') {
        h++;
        he--;
    }
    if (h == he)
        return allow_empty;
    for (const char *p = h; p < he; p++)
        if (!host_char(*p))
            return false;
    return true;
}

struct names_ctx {
    const gr_config_def_t *d;
    const char            *v;
    char                  *err;
    size_t                 errlen;
    const char            *names[64];
    size_t                 lens[64];
    size_t                 n;
};

static int remember_name(struct names_ctx *c, const char *name, size_t n, const char *what)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->lens[i] == n && memcmp(c->names[i], name, n) == 0) {
            if (c->err && c->errlen)
                snprintf(c->err, c->errlen, "Invalid value %s for configuration %s: %s %.*s appears twice",
                         c->v, c->d->name, what, (int)n, name);
            return GR_EINVAL;
        }
    if (c->n < 64) {
        c->names[c->n] = name;
        c->lens[c->n++] = n;
    }
    return 0;
}

static int listener_item(const char *s, size_t n, void *arg)
{
    struct names_ctx *c = arg;
    const char       *sep = NULL;
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            sep = s + i;
            break;
        }
    bool ok = sep && sep > s;
    for (const char *p = s; ok && p < sep; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            ok = false;
    if (ok)
        ok = valid_host_port(sep + 3, (size_t)(s + n - sep - 3), true);
    if (!ok) {
        if (c->err && c->errlen)
            snprintf(c->err, c->errlen,
                     "Invalid value %s for configuration %s: Unable to parse %.*s to a broker endpoint"
                     " (expected NAME://host:port)",
                     c->v, c->d->name, (int)n, s);
        return GR_EINVAL;
    }
    return remember_name(c, s, (size_t)(sep - s), "listener name");
}

int gr_config_chk_listeners(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    struct names_ctx c = {.d = d, .v = v, .err = err, .errlen = errlen};
    return each_item(v, listener_item, &c);
}

static bool is_protocol(const char *p, size_t n)
{
    static const char *const protos[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", NULL};
    return in_allowed(protos, p, n);
}

static int protocol_map_item(const char *s, size_t n, void *arg)
{
    struct names_ctx *c = arg;
    const char       *colon = memchr(s, ':', n);
    if (!colon || colon == s || !is_protocol(colon + 1, (size_t)(s + n - colon - 1))) {
        if (c->err && c->errlen)
            snprintf(c->err, c->errlen,
                     "Invalid value %s for configuration %s: entry %.*s is not NAME:PROTOCOL with "
                     "PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
                     c->v, c->d->name, (int)n, s);
        return GR_EINVAL;
    }
    return remember_name(c, s, (size_t)(colon - s), "listener name");
}

int gr_config_chk_protocol_map(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    struct names_ctx c = {.d = d, .v = v, .err = err, .errlen = errlen};
    return each_item(v, protocol_map_item, &c);
}

struct item_ctx {
    const gr_config_def_t *d;
    const char            *v;
    char                  *err;
    size_t                 errlen;
};

static int item_error(struct item_ctx *c, const char *s, size_t n, const char *form)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen,
                 "Invalid value %s for configuration %s: entry %.*s should be in the form %s", c->v,
                 c->d->name, (int)n, s, form);
    return GR_EINVAL;
}

static int voter_item(const char *s, size_t n, void *arg)
{
    const char *at = memchr(s, '@', n);
    bool        ok = at && at > s;
    for (const char *p = s; ok && p < at; p++)
        ok = isdigit((unsigned char)*p);
    if (ok)
        ok = valid_host_port(at + 1, (size_t)(s + n - at - 1), false);
    return ok ? 0 : item_error(arg, s, n, "{id}@{host}:{port}");
}

int gr_config_chk_voters(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    struct item_ctx c = {d, v, err, errlen};
    return each_item(v, voter_item, &c);
}

static int host_port_item(const char *s, size_t n, void *arg)
{
    return valid_host_port(s, n, false) ? 0 : item_error(arg, s, n, "{host}:{port}");
}

int gr_config_chk_host_ports(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    struct item_ctx c = {d, v, err, errlen};
    return each_item(v, host_port_item, &c);
}

static int host_count_item(const char *s, size_t n, void *arg)
{
    const char *colon = NULL;
    for (size_t i = n; i > 0 && !colon; i--)
        if (s[i - 1] == ':')
            colon = s + i - 1;
    bool ok = colon && colon > s && colon + 1 < s + n;
    for (const char *p = colon ? colon + 1 : s; ok && p < s + n; p++)
        ok = isdigit((unsigned char)*p);
    return ok ? 0 : item_error(arg, s, n, "{host}:{count}");
}

int gr_config_chk_host_counts(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    /* A STRING in Kafka, so items may carry spaces around the commas. */
    static const gr_config_def_t as_list = {.name = "", .type = GR_CONFIG_LIST};
    struct item_ctx              c = {d, v, err, errlen};
    char                        *list = NULL;
    int                          rc = canon_list(&as_list, v, &list, NULL, 0);
    if (rc < 0)
        return rc;
    rc = each_item(list, host_count_item, &c);
    free(list);
    return rc;
}

int gr_config_chk_gzip_level(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    int64_t x = 0;
    if (gr_config_parse_int64(v, &x) == 0 && (x == -1 || (x >= 1 && x <= 9)))
        return 0;
    return invalid(d, v, err, errlen, "Value must be between 1 and 9, or -1");
}

static int throttled_item(const char *s, size_t n, void *arg)
{
    const char *colon = memchr(s, ':', n);
    bool        ok = colon && colon > s && colon + 1 < s + n;
    for (const char *p = s; ok && p < s + n; p++)
        ok = p == colon || isdigit((unsigned char)*p);
    return ok ? 0 : GR_EINVAL;
}

int gr_config_chk_throttled(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "*") == 0 || each_item(v, throttled_item, NULL) == 0)
        return 0;
    return invalid(d, v, err, errlen,
                   "must be the literal '*' or a list of replicas in the following format: "
                   "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
}

int gr_config_chk_false(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "false") == 0)
        return 0;
    if (err && errlen) {
        if (strcmp(d->name, "remote.storage.enable") == 0)
            snprintf(err, errlen,
                     "Tiered Storage functionality is disabled in the broker. Topic cannot be "
                     "configured with remote log storage.");
        else
            snprintf(err, errlen,
                     "Invalid value %s for configuration %s: Gregor has no tiered storage", v,
                     d->name);
    }
    return GR_EINVAL;
}

/* Kafka's ConfigDef.CaseInsensitiveValidString of the ConsumerGroupMigrationPolicy
 * names; the value is kept as written. */
int gr_config_chk_migration_policy(const gr_config_def_t *d, const char *v, char *err, size_t errlen)
{
    static const char *const names[] = {"disabled", "downgrade", "upgrade", "bidirectional"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(v, names[i]) == 0)
            return 0;
    return invalid(d, v, err, errlen,
                   "String must be one of (case insensitive): DISABLED, DOWNGRADE, UPGRADE, BIDIRECTIONAL");
}
