/* The broker's configuration: values per source for every key of the table,
 * the typed fields recomputed from them, Kafka's synonym resolution
 * (log.retention.ms over .minutes over .hours, node.id and broker.id), the
 * DescribeConfigs view of a broker, and the checks that span several keys.
 *
 * Resolution order of one key, as Kafka's DynamicBrokerConfig: dynamic
 * per-broker value, dynamic cluster default, static value (file or --set),
 * then the table's default. */
#include "server/config_int.h"

#include "base/err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_INDEX ((size_t)-1)

const gr_config_def_t *gr_config_defs(gr_config_scope_t scope, size_t *count)
{
    if (scope == GR_CONFIG_SCOPE_TOPIC) {
        *count = gr_config_topic_count;
        return gr_config_topic_table;
    }
    *count = gr_config_broker_count;
    return gr_config_broker_table;
}

const gr_config_def_t *gr_config_def_find(gr_config_scope_t scope, const char *name)
{
    size_t                 n;
    const gr_config_def_t *t = gr_config_defs(scope, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static size_t broker_index(const char *name)
{
    const gr_config_def_t *d = gr_config_def_find(GR_CONFIG_SCOPE_BROKER, name);
    return d ? (size_t)(d - gr_config_broker_table) : NO_INDEX;
}

static int slot_of(gr_config_source_t source)
{
    switch (source) {
    case GR_CONFIG_SOURCE_STATIC_BROKER: return GR_SLOT_STATIC;
    case GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER: return GR_SLOT_DYN_DEFAULT;
    case GR_CONFIG_SOURCE_DYNAMIC_BROKER: return GR_SLOT_DYN_BROKER;
    default: return -1;
    }
}

static const gr_config_source_t slot_source[GR_SLOT_COUNT] = {
    [GR_SLOT_STATIC] = GR_CONFIG_SOURCE_STATIC_BROKER,
    [GR_SLOT_DYN_DEFAULT] = GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER,
    [GR_SLOT_DYN_BROKER] = GR_CONFIG_SOURCE_DYNAMIC_BROKER,
};

/* node.id and broker.id name the same thing: Kafka copies a statically set
 * one to the other before parsing (KafkaConfig.populateSynonyms). */
static size_t alias_index(size_t i)
{
    const char *n = gr_config_broker_table[i].name;
    if (strcmp(n, "node.id") == 0)
        return broker_index("broker.id");
    if (strcmp(n, "broker.id") == 0)
        return broker_index("node.id");
    return NO_INDEX;
}

static const char *stored(const gr_config_t *cfg, size_t i, int slot)
{
    const char *v = cfg->slots[i].at[slot];
    if (!v && slot == GR_SLOT_STATIC) {
        size_t a = alias_index(i);
        if (a != NO_INDEX)
            v = cfg->slots[a].at[slot];
    }
    return v;
}

static const char *effective(const gr_config_t *cfg, size_t i, gr_config_source_t *src)
{
    static const int order[] = {GR_SLOT_DYN_BROKER, GR_SLOT_DYN_DEFAULT, GR_SLOT_STATIC};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        const char *v = stored(cfg, i, order[k]);
        if (v) {
            if (src)
                *src = slot_source[order[k]];
            return v;
        }
    }
    if (src)
        *src = GR_CONFIG_SOURCE_DEFAULT;
    return gr_config_broker_table[i].def;
}

static const char *effective_by_name(const gr_config_t *cfg, const char *name)
{
    size_t i = broker_index(name);
    return i == NO_INDEX ? NULL : effective(cfg, i, NULL);
}

static int64_t as_int64(const char *v)
{
    int64_t x = 0;
    if (v)
        gr_config_parse_int64(v, &x);
    return x;
}

/* Kafka's resolution of a synonym chain to milliseconds: the first key with
 * a value (its default included) wins, times its unit. */
static bool resolve_chain_ms(const gr_config_t *cfg, const gr_config_def_t *head, int64_t *out)
{
    for (const char *const *n = head->chain; n && *n; n++) {
        size_t i = broker_index(*n);
        if (i == NO_INDEX)
            continue;
        const char *v = effective(cfg, i, NULL);
        if (!v)
            continue;
        int64_t x = as_int64(v);
        int64_t unit = gr_config_broker_table[i].unit_ms ? gr_config_broker_table[i].unit_ms : 1;
        if (x > INT64_MAX / unit)
            x = INT64_MAX;
        else if (x < INT64_MIN / unit)
            x = INT64_MIN;
        else
            x *= unit;
        *out = x;
        return true;
    }
    return false;
}

static int64_t chain_ms(const gr_config_t *cfg, const char *head)
{
    int64_t                v = 0;
    const gr_config_def_t *d = gr_config_def_find(GR_CONFIG_SCOPE_BROKER, head);
    if (d)
        resolve_chain_ms(cfg, d, &v);
    return v;
}

const char *gr_config_topic_default(const gr_config_t *cfg, const gr_config_def_t *td, char *buf,
                                    size_t len)
{
    if (td->synonym) {
        size_t i = broker_index(td->synonym);
        if (i != NO_INDEX) {
            const gr_config_def_t *bd = &gr_config_broker_table[i];
            int64_t                ms;
            if (bd->chain && resolve_chain_ms(cfg, bd, &ms)) {
                /* KafkaConfig.logRetentionTimeMillis turns any negative into -1. */
                if (strcmp(bd->name, "log.retention.ms") == 0 && ms < 0)
                    ms = -1;
                snprintf(buf, len, "%" PRId64, ms);
                return buf;
            }
            const char *v = effective(cfg, i, NULL);
            if (v)
                return v;
        }
    }
    return td->def;
}

void gr_config_store_field(void *base, const gr_config_def_t *d, const char *v)
{
    char *p = (char *)base + d->field - 1;
    switch (d->type) {
    case GR_CONFIG_BOOLEAN: *(bool *)p = v && strcmp(v, "true") == 0; break;
    case GR_CONFIG_SHORT: *(int16_t *)p = (int16_t)as_int64(v); break;
    case GR_CONFIG_INT: *(int32_t *)p = (int32_t)as_int64(v); break;
    case GR_CONFIG_LONG: *(int64_t *)p = as_int64(v); break;
    case GR_CONFIG_DOUBLE: *(double *)p = v ? strtod(v, NULL) : 0.0; break;
    default: *(const char **)p = v; break;
    }
}

static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t      len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && memcmp(p, item, n) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

/* Recomputes every typed field from the stored strings. */
static void apply(gr_config_t *cfg)
{
    for (size_t i = 0; i < gr_config_broker_count; i++) {
        const gr_config_def_t *d = &gr_config_broker_table[i];
        if (d->field)
            gr_config_store_field(cfg, d, effective(cfg, i, NULL));
    }
    cfg->node_id = (int32_t)as_int64(effective_by_name(cfg, "node.id"));
    cfg->role_broker = list_has(cfg->process_roles, "broker");
    cfg->role_controller = list_has(cfg->process_roles, "controller");
    cfg->log_dirs = effective_by_name(cfg, "log.dirs");
    if (!cfg->log_dirs)
        cfg->log_dirs = effective_by_name(cfg, "log.dir");
    cfg->log_retention_ms = chain_ms(cfg, "log.retention.ms");
    if (cfg->log_retention_ms < 0)
        cfg->log_retention_ms = -1;
    cfg->log_roll_ms = chain_ms(cfg, "log.roll.ms");
    cfg->log_roll_jitter_ms = chain_ms(cfg, "log.roll.jitter.ms");
    cfg->log_flush_interval_ms = chain_ms(cfg, "log.flush.interval.ms");
}

int gr_config_init_defaults(gr_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->slots = calloc(gr_config_broker_count, sizeof *cfg->slots);
    if (!cfg->slots)
        return GR_ENOMEM;
    apply(cfg);
    return 0;
}

void gr_config_free(gr_config_t *cfg)
{
    if (cfg->slots)
        for (size_t i = 0; i < gr_config_broker_count; i++)
            for (int s = 0; s < GR_SLOT_COUNT; s++)
                free(cfg->slots[i].at[s]);
    free(cfg->slots);
    memset(cfg, 0, sizeof *cfg);
}

/* Edit distance, for "did you mean" on unknown keys. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *gr_config_suggest(gr_config_scope_t scope, const char *key)
{
    size_t                 n, best = (size_t)-1;
    const gr_config_def_t *t = gr_config_defs(scope, &n), *hit = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(key, t[i].name);
        if (d < best) {
            best = d;
            hit = &t[i];
        }
    }
    size_t limit = strlen(key) / 5 + 1;
    return hit && best <= (limit < 3 ? limit : 3) ? hit->name : NULL;
}

int gr_config_check_set(const gr_config_t *cfg, const char *key, const char *value,
                        gr_config_source_t source, char *errbuf, size_t errlen)
{
    size_t i = broker_index(key);
    if (i == NO_INDEX) {
        const char *s = gr_config_suggest(GR_CONFIG_SCOPE_BROKER, key);
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "Unknown broker config name: %s%s%s%s", key,
                     s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
        return GR_ENOTFOUND;
    }
    const gr_config_def_t *d = &gr_config_broker_table[i];
    int                    slot = slot_of(source);
    if (slot < 0 || slot == GR_SLOT_STATIC) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "configuration %s cannot be set from source %s", key,
                     gr_config_source_name(source));
        return GR_EINVAL;
    }
    if (d->update == GR_CONFIG_READ_ONLY) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "Cannot update these configs dynamically: Set(%s)", key);
        return GR_EINVAL;
    }
    if (slot == GR_SLOT_DYN_DEFAULT && d->update == GR_CONFIG_PER_BROKER) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen,
                     "Cannot update these configs at default cluster level, broker id must be "
                     "specified: Set(%s)",
                     key);
        return GR_EINVAL;
    }
    (void)cfg;
    if (!value)
        return 0;
    char *canon = NULL;
    int   rc = gr_config_canon(d, value, &canon, errbuf, errlen);
    free(canon);
    return rc < 0 ? rc : 0;
}

int gr_config_set(gr_config_t *cfg, const char *key, const char *value, gr_config_source_t source,
                  char *errbuf, size_t errlen)
{
    size_t i = broker_index(key);
    if (i == NO_INDEX) {
        const char *s = gr_config_suggest(GR_CONFIG_SCOPE_BROKER, key);
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "unknown configuration key '%s'%s%s%s", key,
                     s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
        return GR_ENOTFOUND;
    }
    const gr_config_def_t *d = &gr_config_broker_table[i];
    int                    slot = slot_of(source);
    if (slot < 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "configuration %s cannot be set from source %s", key,
                     gr_config_source_name(source));
        return GR_EINVAL;
    }
    if (slot != GR_SLOT_STATIC && d->update == GR_CONFIG_READ_ONLY) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "Cannot update these configs dynamically: Set(%s)", key);
        return GR_EINVAL;
    }
    if (slot == GR_SLOT_DYN_DEFAULT && d->update == GR_CONFIG_PER_BROKER) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen,
                     "Cannot update these configs at default cluster level, broker id must be "
                     "specified: Set(%s)",
                     key);
        return GR_EINVAL;
    }
    char *canon = NULL;
    if (value) {
        int rc = gr_config_canon(d, value, &canon, errbuf, errlen);
        if (rc < 0)
            return rc;
    }
    free(cfg->slots[i].at[slot]);
    cfg->slots[i].at[slot] = canon;
    apply(cfg);
    return 0;
}

const char *gr_config_get_str(const gr_config_t *cfg, const char *key)
{
    return effective_by_name(cfg, key);
}

gr_config_source_t gr_config_get_source(const gr_config_t *cfg, const char *key)
{
    gr_config_source_t src = GR_CONFIG_SOURCE_UNKNOWN;
    size_t             i = broker_index(key);
    if (i != NO_INDEX)
        effective(cfg, i, &src);
    return src;
}

const char *gr_config_get_at(const gr_config_t *cfg, const char *key, gr_config_source_t source)
{
    size_t i = broker_index(key);
    int    slot = slot_of(source);
    if (i == NO_INDEX)
        return NULL;
    if (source == GR_CONFIG_SOURCE_DEFAULT)
        return gr_config_broker_table[i].def;
    return slot < 0 ? NULL : stored(cfg, i, slot);
}

static bool is_sensitive(const gr_config_def_t *d)
{
    return (d->flags & GR_CONFIG_F_SENSITIVE) || d->type == GR_CONFIG_PASSWORD;
}

size_t gr_config_collect_synonyms(const gr_config_t *cfg, const char *key, bool sensitive,
                                  gr_config_synonym_t *out, size_t max)
{
    size_t                 i = broker_index(key), n = 0;
    const char *const      self[] = {key, NULL};
    const char *const     *names;
    static const int       order[] = {GR_SLOT_DYN_BROKER, GR_SLOT_DYN_DEFAULT, GR_SLOT_STATIC};
    if (i == NO_INDEX)
        return 0;
    names = gr_config_broker_table[i].chain ? gr_config_broker_table[i].chain : self;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (const char *const *nm = names; *nm; nm++) {
            size_t      j = broker_index(*nm);
            const char *v = j == NO_INDEX ? NULL : stored(cfg, j, order[k]);
            if (v && n < max)
                out[n++] = (gr_config_synonym_t){gr_config_broker_table[j].name,
                                                 sensitive ? NULL : v, slot_source[order[k]]};
        }
    for (const char *const *nm = names; *nm; nm++) {
        size_t j = broker_index(*nm);
        if (j != NO_INDEX && gr_config_broker_table[j].def && n < max)
            out[n++] = (gr_config_synonym_t){gr_config_broker_table[j].name,
                                             sensitive ? NULL : gr_config_broker_table[j].def,
                                             GR_CONFIG_SOURCE_DEFAULT};
    }
    /* Kafka drops the synonyms before the first one named like the key
     * itself (ConfigHelper.configSynonyms' dropWhile). For a topic key this
     * means a broker chain whose first key is unset yields no synonyms at all:
     * retention.ms with only log.retention.hours set reports DEFAULT_CONFIG and
     * an empty list, which is what Kafka 4.1 answers. */
    size_t skip = 0;
    while (skip < n && strcmp(out[skip].name, key) != 0)
        skip++;
    memmove(out, out + skip, (n - skip) * sizeof *out);
    return n - skip;
}

int gr_config_describe(const gr_config_t *cfg, const char *key, bool per_broker,
                       gr_config_entry_t *out)
{
    size_t i = broker_index(key);
    if (i == NO_INDEX || (gr_config_broker_table[i].flags & GR_CONFIG_F_HIDDEN))
        return GR_ENOTFOUND;
    const gr_config_def_t *d = &gr_config_broker_table[i];
    bool                   sens = is_sensitive(d);
    memset(out, 0, sizeof *out);
    out->name = d->name;
    out->type = d->type;
    out->documentation = d->doc;
    out->is_sensitive = sens;
    out->read_only = d->update == GR_CONFIG_READ_ONLY;
    size_t n = gr_config_collect_synonyms(cfg, d->name, sens, out->synonyms, GR_CONFIG_MAX_SYNONYMS);
    if (!per_broker) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (out->synonyms[j].source == GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER)
                out->synonyms[k++] = out->synonyms[j];
        n = k;
    }
    out->n_synonyms = n;
    out->source = n ? out->synonyms[0].source : GR_CONFIG_SOURCE_DEFAULT;
    out->value = per_broker ? effective(cfg, i, NULL) : stored(cfg, i, GR_SLOT_DYN_DEFAULT);
    if (sens)
        out->value = NULL;
    return 0;
}

/* ---- checks across keys ---- */

/* Copies the listener name of each item of a listeners value into names. */
static size_t listener_names(const char *v, char names[][64], size_t max, char hosts[][128])
{
    size_t n = 0;
    for (const char *p = v; p && *p && n < max;) {
        const char *c = strchr(p, ',');
        size_t      len = c ? (size_t)(c - p) : strlen(p);
        const char *sep = strstr(p, "://");
        if (sep && sep < p + len) {
            snprintf(names[n], 64, "%.*s", (int)(sep - p), p);
            const char *h = sep + 3, *e = p + len;
            const char *colon = NULL;
            for (const char *q = e; q > h; q--)
                if (q[-1] == ':') {
                    colon = q - 1;
                    break;
                }
            if (hosts)
                snprintf(hosts[n], 128, "%.*s", (int)((colon ? colon : e) - h), h);
            n++;
        }
        p = c ? c + 1 : NULL;
    }
    return n;
}

static bool map_has_name(const char *map, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = map; p && *p;) {
        while (*p == ' ')
            p++;
        const char *c = strchr(p, ',');
        const char *colon = strchr(p, ':');
        if (colon && (!c || colon < c) && (size_t)(colon - p) == n && memcmp(p, name, n) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return GR_EINVAL;
}

static bool explicitly_set(const gr_config_t *cfg, const char *key)
{
    return gr_config_get_source(cfg, key) != GR_CONFIG_SOURCE_DEFAULT;
}

int gr_config_check(const gr_config_t *cfg, char *errbuf, size_t errlen)
{
    size_t ni = broker_index("node.id"), bi = broker_index("broker.id");
    const char *nv = cfg->slots[ni].at[GR_SLOT_STATIC], *bv = cfg->slots[bi].at[GR_SLOT_STATIC];
    if (nv && bv && strcmp(nv, bv) != 0)
        return fail(errbuf, errlen,
                    "The values for broker.id (%s) and node.id (%s) must match if both are specified",
                    bv, nv);
    if (cfg->node_id < 0)
        return fail(errbuf, errlen, "node.id must be set to a value of at least 0");

    if (explicitly_set(cfg, "inter.broker.listener.name") &&
        explicitly_set(cfg, "security.inter.broker.protocol"))
        return fail(errbuf, errlen,
                    "Only one of inter.broker.listener.name and security.inter.broker.protocol "
                    "should be set.");

    /* Every listener needs a security protocol: from the map, or its own
     * name when that is a protocol and the map was left at its default. In
     * KRaft, controller listeners default to PLAINTEXT when the map is unset. */
    char   names[32][64];
    char   hosts[32][128];
    size_t n = listener_names(cfg->listeners ? cfg->listeners : "", names, 32, NULL);
    bool   map_default = !explicitly_set(cfg, "listener.security.protocol.map");
    for (size_t k = 0; k < n; k++) {
        bool ok = map_has_name(cfg->listener_security_protocol_map, names[k]) ||
                  (map_default && cfg->controller_listener_names &&
                   list_has(cfg->controller_listener_names, names[k]));
        if (!ok)
            return fail(errbuf, errlen,
                        "No security protocol defined for listener %s (set "
                        "listener.security.protocol.map)",
                        names[k]);
    }
    if (cfg->inter_broker_listener_name && cfg->role_broker) {
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found |= strcmp(names[k], cfg->inter_broker_listener_name) == 0;
        if (!found)
            return fail(errbuf, errlen,
                        "inter.broker.listener.name %s must be the name of one of the listeners",
                        cfg->inter_broker_listener_name);
    }
    if (cfg->advertised_listeners) {
        size_t an = listener_names(cfg->advertised_listeners, names, 32, hosts);
        for (size_t k = 0; k < an; k++)
            if (strcmp(hosts[k], "0.0.0.0") == 0)
                return fail(errbuf, errlen,
                            "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. "
                            "Use a routable IP address.");
    }

    /* The consumer group protocol's bounds (GroupCoordinatorConfig's requires). */
    struct {
        const char *key, *min, *max;
        int32_t     v, lo, hi;
    } b[] = {
        {"group.consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms",
         "group.consumer.max.session.timeout.ms", cfg->group_consumer_session_timeout_ms,
         cfg->group_consumer_min_session_timeout_ms, cfg->group_consumer_max_session_timeout_ms},
        {"group.consumer.heartbeat.interval.ms", "group.consumer.min.heartbeat.interval.ms",
         "group.consumer.max.heartbeat.interval.ms", cfg->group_consumer_heartbeat_interval_ms,
         cfg->group_consumer_min_heartbeat_interval_ms,
         cfg->group_consumer_max_heartbeat_interval_ms},
    };
    for (size_t k = 0; k < sizeof b / sizeof b[0]; k++) {
        if (b[k].v < b[k].lo)
            return fail(errbuf, errlen, "%s must be greater than or equal to %s", b[k].key,
                        b[k].min);
        if (b[k].v > b[k].hi)
            return fail(errbuf, errlen, "%s must be less than or equal to %s", b[k].key, b[k].max);
    }
    if (cfg->group_min_session_timeout_ms > cfg->group_max_session_timeout_ms)
        return fail(errbuf, errlen,
                    "group.min.session.timeout.ms must be less than or equal to "
                    "group.max.session.timeout.ms");
    return 0;
}
