/* The effective configuration of one topic: for every topic key, the topic's
 * own override (DYNAMIC_TOPIC_CONFIG) or else the broker's value for it (its
 * broker synonym, resolved as Kafka's KafkaConfig.extractLogConfigMap does)
 * or else the topic default; and the DescribeConfigs view of it, with
 * Kafka's source and synonym rules (ConfigHelper.createTopicConfigEntry). */
#include "server/config_int.h"

#include "base/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t topic_index(const char *name)
{
    const gr_config_def_t *d = gr_config_def_find(GR_CONFIG_SCOPE_TOPIC, name);
    return d ? (size_t)(d - gr_config_topic_table) : (size_t)-1;
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

int gr_topic_config_refresh(gr_topic_config_t *tc, const gr_config_t *broker)
{
    for (size_t i = 0; i < gr_config_topic_count; i++) {
        const gr_config_def_t *d = &gr_config_topic_table[i];
        char                   buf[32];
        const char            *v = tc->overrides[i];
        if (!v)
            v = gr_config_topic_default(broker, d, buf, sizeof buf);
        char *copy = v ? strdup(v) : NULL;
        if (v && !copy)
            return GR_ENOMEM;
        free(tc->effective[i]);
        tc->effective[i] = copy;
        if (d->field)
            gr_config_store_field(tc, d, copy);
    }
    tc->cleanup_compact = list_has(tc->cleanup_policy, "compact");
    tc->cleanup_delete = list_has(tc->cleanup_policy, "delete");
    tc->log_append_time = tc->message_timestamp_type &&
                          strcmp(tc->message_timestamp_type, "LogAppendTime") == 0;
    return 0;
}

int gr_topic_config_init(gr_topic_config_t *tc, const gr_config_t *broker)
{
    memset(tc, 0, sizeof *tc);
    tc->overrides = calloc(gr_config_topic_count, sizeof *tc->overrides);
    tc->effective = calloc(gr_config_topic_count, sizeof *tc->effective);
    if (!tc->overrides || !tc->effective) {
        gr_topic_config_free(tc);
        return GR_ENOMEM;
    }
    int rc = gr_topic_config_refresh(tc, broker);
    if (rc < 0)
        gr_topic_config_free(tc);
    return rc;
}

void gr_topic_config_free(gr_topic_config_t *tc)
{
    for (size_t i = 0; i < gr_config_topic_count; i++) {
        if (tc->overrides)
            free(tc->overrides[i]);
        if (tc->effective)
            free(tc->effective[i]);
    }
    free(tc->overrides);
    free(tc->effective);
    memset(tc, 0, sizeof *tc);
}

static int canon_topic(const char *key, const char *value, size_t *idx, char **out, char *errbuf,
                       size_t errlen)
{
    size_t i = topic_index(key);
    if (i == (size_t)-1) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "Unknown topic config name: %s", key);
        return GR_ENOTFOUND;
    }
    *idx = i;
    return gr_config_canon(&gr_config_topic_table[i], value, out, errbuf, errlen);
}

int gr_topic_config_validate(const char *key, const char *value, char *errbuf, size_t errlen)
{
    size_t i;
    char  *canon = NULL;
    if (!value) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "Null value not supported for topic configs: %s", key);
        return GR_EINVAL;
    }
    int rc = canon_topic(key, value, &i, &canon, errbuf, errlen);
    free(canon);
    return rc;
}

int gr_topic_config_set(gr_topic_config_t *tc, const gr_config_t *broker, const char *key,
                        const char *value, char *errbuf, size_t errlen)
{
    size_t i;
    char  *canon = NULL;
    if (value) {
        int rc = canon_topic(key, value, &i, &canon, errbuf, errlen);
        if (rc < 0)
            return rc;
    } else if ((i = topic_index(key)) == (size_t)-1) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "Unknown topic config name: %s", key);
        return GR_ENOTFOUND;
    }
    free(tc->overrides[i]);
    tc->overrides[i] = canon;
    return gr_topic_config_refresh(tc, broker);
}

int gr_topic_config_check(const gr_topic_config_t *tc, char *errbuf, size_t errlen)
{
    if (tc->min_compaction_lag_ms > tc->max_compaction_lag_ms) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen,
                     "conflict topic config setting min.compaction.lag.ms (%" PRId64
                     ") > max.compaction.lag.ms (%" PRId64 ")",
                     tc->min_compaction_lag_ms, tc->max_compaction_lag_ms);
        return GR_EINVAL;
    }
    return 0;
}

const char *gr_topic_config_override(const gr_topic_config_t *tc, const char *key)
{
    size_t i = topic_index(key);
    return i == (size_t)-1 ? NULL : tc->overrides[i];
}

const char *gr_topic_config_get_str(const gr_topic_config_t *tc, const char *key)
{
    size_t i = topic_index(key);
    return i == (size_t)-1 ? NULL : tc->effective[i];
}

int gr_topic_config_describe(const gr_topic_config_t *tc, const gr_config_t *broker,
                             const char *key, gr_config_entry_t *out)
{
    size_t i = topic_index(key);
    if (i == (size_t)-1)
        return GR_ENOTFOUND;
    const gr_config_def_t *d = &gr_config_topic_table[i];
    bool sens = (d->flags & GR_CONFIG_F_SENSITIVE) || d->type == GR_CONFIG_PASSWORD;
    memset(out, 0, sizeof *out);
    out->name = d->name;
    out->type = d->type;
    out->documentation = d->doc;
    out->is_sensitive = sens;
    out->read_only = false;
    out->value = sens ? NULL : tc->effective[i];

    size_t n = 0;
    if (tc->overrides[i])
        out->synonyms[n++] = (gr_config_synonym_t){d->name, sens ? NULL : tc->overrides[i],
                                                   GR_CONFIG_SOURCE_DYNAMIC_TOPIC};
    if (d->synonym)
        n += gr_config_collect_synonyms(broker, d->synonym, sens, out->synonyms + n,
                                        GR_CONFIG_MAX_SYNONYMS - n);
    out->n_synonyms = n;
    out->source = n ? out->synonyms[0].source : GR_CONFIG_SOURCE_DEFAULT;
    return 0;
}
