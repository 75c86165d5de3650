/* Metadata image; see meta.h. */
#include "cluster/meta.h"
#include "base/err.h"
#include "base/log.h"
#include "kafka_msgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka frames each metadata record as: unsigned varint frame version (1),
 * unsigned varint record type (api key), unsigned varint record version,
 * then the record body in its flexible encoding. */
#define FRAME_VERSION 1

void gr_meta_init(gr_meta_t *m)
{
    memset(m, 0, sizeof *m);
    m->applied_offset = -1;
}

static void configs_free(gr_meta_config_t *c)
{
    while (c) {
        gr_meta_config_t *n = c->next;
        free(c->resource);
        free(c->name);
        free(c->value);
        free(c);
        c = n;
    }
}

static void topic_free(gr_meta_topic_t *t)
{
    for (int32_t i = 0; i < t->nparts; i++) {
        free(t->parts[i].replicas);
        free(t->parts[i].isr);
    }
    free(t->parts);
    configs_free(t->configs);
    free(t->name);
    free(t);
}

void gr_meta_free(gr_meta_t *m)
{
    gr_meta_topic_t *t = m->topics;
    while (t) {
        gr_meta_topic_t *n = t->next;
        topic_free(t);
        t = n;
    }
    configs_free(m->broker_configs);
    memset(m, 0, sizeof *m);
}

gr_meta_topic_t *gr_meta_topic_by_name(gr_meta_t *m, const char *name, size_t len)
{
    for (gr_meta_topic_t *t = m->topics; t; t = t->next)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

gr_meta_topic_t *gr_meta_topic_by_id(gr_meta_t *m, const gr_uuid_t *id)
{
    for (gr_meta_topic_t *t = m->topics; t; t = t->next)
        if (gr_uuid_eq(&t->id, id))
            return t;
    return NULL;
}

gr_meta_partition_t *gr_meta_partition(gr_meta_topic_t *t, int32_t p)
{
    if (!t || p < 0 || p >= t->nparts)
        return NULL;
    return &t->parts[p];
}

const char *gr_meta_topic_config(const gr_meta_topic_t *t, const char *key)
{
    for (gr_meta_config_t *c = t->configs; c; c = c->next)
        if (strcmp(c->name, key) == 0)
            return c->value;
    return NULL;
}

static char *strdup_slice(gr_str_t s)
{
    if (s.len < 0)
        return NULL;
    char *p = malloc((size_t)s.len + 1);
    if (p) {
        memcpy(p, s.ptr, (size_t)s.len);
        p[s.len] = 0;
    }
    return p;
}

static int32_t *dup_ints(const int32_t *v, int32_t n)
{
    if (n <= 0)
        return NULL;
    int32_t *p = malloc(sizeof *p * (size_t)n);
    if (p)
        memcpy(p, v, sizeof *p * (size_t)n);
    return p;
}

static void notify(gr_meta_t *m, int kind, gr_meta_topic_t *t, int32_t p)
{
    if (m->listener)
        m->listener(m->listener_arg, kind, t, p);
}

static int apply_topic(gr_meta_t *m, const gr_TopicRecord *r)
{
    if (gr_meta_topic_by_id(m, &r->TopicId))
        return 0;
    gr_meta_topic_t *t = calloc(1, sizeof *t);
    if (!t)
        return GR_ENOMEM;
    t->name = strdup_slice(r->Name);
    t->id = r->TopicId;
    t->internal = t->name && t->name[0] == '_' && t->name[1] == '_';
    /* Append, keeping creation order for listings. */
    gr_meta_topic_t **pp = &m->topics;
    while (*pp)
        pp = &(*pp)->next;
    *pp = t;
    m->ntopics++;
    notify(m, GR_MREC_TopicRecord, t, -1);
    return 0;
}

static int apply_partition(gr_meta_t *m, const gr_PartitionRecord *r)
{
    gr_meta_topic_t *t = gr_meta_topic_by_id(m, &r->TopicId);
    if (!t || r->PartitionId < 0 || r->PartitionId > 1000000)
        return 0;
    if (r->PartitionId >= t->nparts) {
        gr_meta_partition_t *np = realloc(t->parts, sizeof *np * (size_t)(r->PartitionId + 1));
        if (!np)
            return GR_ENOMEM;
        memset(np + t->nparts, 0, sizeof *np * (size_t)(r->PartitionId + 1 - t->nparts));
        for (int32_t i = t->nparts; i <= r->PartitionId; i++) {
            np[i].id = i;
            np[i].leader = -1;
        }
        t->parts = np;
        t->nparts = r->PartitionId + 1;
    }
    gr_meta_partition_t *p = &t->parts[r->PartitionId];
    free(p->replicas);
    free(p->isr);
    p->replicas = dup_ints(r->Replicas, r->Replicas_count);
    p->nreplicas = r->Replicas_count > 0 ? r->Replicas_count : 0;
    p->isr = dup_ints(r->Isr, r->Isr_count);
    p->nisr = r->Isr_count > 0 ? r->Isr_count : 0;
    p->leader = r->Leader;
    p->leader_epoch = r->LeaderEpoch;
    p->partition_epoch = r->PartitionEpoch;
    notify(m, GR_MREC_PartitionRecord, t, r->PartitionId);
    return 0;
}

static int apply_partition_change(gr_meta_t *m, const gr_PartitionChangeRecord *r)
{
    gr_meta_topic_t *t = gr_meta_topic_by_id(m, &r->TopicId);
    gr_meta_partition_t *p = gr_meta_partition(t, r->PartitionId);
    if (!p)
        return 0;
    if (r->Isr_count >= 0) {
        free(p->isr);
        p->isr = dup_ints(r->Isr, r->Isr_count);
        p->nisr = r->Isr_count;
    }
    if (r->Replicas_count >= 0) {
        free(p->replicas);
        p->replicas = dup_ints(r->Replicas, r->Replicas_count);
        p->nreplicas = r->Replicas_count;
    }
    if (r->Leader != -2) {
        p->leader = r->Leader;
        p->leader_epoch++;
    }
    p->partition_epoch++;
    notify(m, GR_MREC_PartitionChangeRecord, t, r->PartitionId);
    return 0;
}

static void set_config(gr_meta_config_t **list, gr_str_t resource, gr_str_t name, gr_str_t value)
{
    gr_meta_config_t **pp = list;
    for (; *pp; pp = &(*pp)->next) {
        if (gr_str_eq(name, (*pp)->name) &&
            (resource.len < 0 || ((*pp)->resource && gr_str_eq(resource, (*pp)->resource))))
            break;
    }
    if (value.len < 0) {
        if (*pp) {
            gr_meta_config_t *c = *pp;
            *pp = c->next;
            c->next = NULL;
            configs_free(c);
        }
        return;
    }
    if (*pp) {
        free((*pp)->value);
        (*pp)->value = strdup_slice(value);
        return;
    }
    gr_meta_config_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->resource = resource.len >= 0 ? strdup_slice(resource) : NULL;
    c->name = strdup_slice(name);
    c->value = strdup_slice(value);
    *pp = c;
}

/* ConfigRecord resource types, as in DescribeConfigs: 2 topic, 4 broker. */
static int apply_config(gr_meta_t *m, const gr_ConfigRecord *r)
{
    if (r->ResourceType == 2) {
        for (gr_meta_topic_t *t = m->topics; t; t = t->next) {
            if (gr_str_eq(r->ResourceName, t->name)) {
                set_config(&t->configs, gr_str(NULL), r->Name, r->Value);
                notify(m, GR_MREC_ConfigRecord, t, -1);
            }
        }
    } else if (r->ResourceType == 4) {
        set_config(&m->broker_configs, r->ResourceName, r->Name, r->Value);
        /* Whole copies (a value may be long: AlterConfigs allows 32767 bytes). */
        char *res = strdup_slice(r->ResourceName.len >= 0 ? r->ResourceName : gr_str(""));
        char *name = strdup_slice(r->Name.len >= 0 ? r->Name : gr_str(""));
        char *val = r->Value.len >= 0 ? strdup_slice(r->Value) : NULL;
        if (res && name && (val || r->Value.len < 0)) {
            m->changed_resource = res;
            m->changed_name = name;
            m->changed_value = val;
            notify(m, GR_MREC_ConfigRecord, NULL, -1);
            m->changed_resource = m->changed_name = m->changed_value = NULL;
        }
        free(res);
        free(name);
        free(val);
    }
    return 0;
}

static int apply_remove_topic(gr_meta_t *m, const gr_RemoveTopicRecord *r)
{
    gr_meta_topic_t **pp = &m->topics;
    for (; *pp; pp = &(*pp)->next) {
        if (gr_uuid_eq(&(*pp)->id, &r->TopicId)) {
            gr_meta_topic_t *t = *pp;
            notify(m, GR_MREC_RemoveTopicRecord, t, -1);
            *pp = t->next;
            m->ntopics--;
            topic_free(t);
            return 0;
        }
    }
    return 0;
}

static int apply_register_broker(gr_meta_t *m, const gr_RegisterBrokerRecord *r)
{
    gr_meta_broker_t *b = NULL;
    for (int i = 0; i < m->nbrokers; i++)
        if (m->brokers[i].id == r->BrokerId)
            b = &m->brokers[i];
    if (!b) {
        if (m->nbrokers >= (int)(sizeof m->brokers / sizeof m->brokers[0]))
            return 0;
        b = &m->brokers[m->nbrokers++];
    }
    memset(b, 0, sizeof *b);
    b->id = r->BrokerId;
    if (r->EndPoints_count > 0) {
        const gr_RegisterBrokerRecord_BrokerEndpoint *e = &r->EndPoints[0];
        snprintf(b->host, sizeof b->host, "%.*s", e->Host.len > 0 ? (int)e->Host.len : 0,
                 e->Host.len > 0 ? e->Host.ptr : "");
        b->port = e->Port;
    }
    if (r->Rack.len >= 0) {
        b->has_rack = true;
        snprintf(b->rack, sizeof b->rack, "%.*s", (int)r->Rack.len, r->Rack.ptr);
    }
    notify(m, GR_MREC_RegisterBrokerRecord, NULL, -1);
    return 0;
}

int gr_meta_apply(gr_meta_t *m, const uint8_t *rec, size_t len)
{
    gr_reader_t r;
    gr_reader_init(&r, rec, len);
    uint64_t frame = gr_read_uvarint(&r);
    uint64_t type = gr_read_uvarint(&r);
    uint64_t version = gr_read_uvarint(&r);
    if (r.err || frame != FRAME_VERSION || version > 100)
        return GR_EMALFORMED;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    int rc = 0;
    int16_t v = (int16_t)version;
#define APPLY(Type, fn)                                                         \
    do {                                                                        \
        gr_##Type x;                                                            \
        rc = gr_##Type##_decode(&r, &a, v, &x);                                 \
        if (rc == 0)                                                            \
            rc = fn(m, &x);                                                     \
    } while (0)
    switch (type) {
    case GR_MREC_TopicRecord: APPLY(TopicRecord, apply_topic); break;
    case GR_MREC_PartitionRecord: APPLY(PartitionRecord, apply_partition); break;
    case GR_MREC_PartitionChangeRecord: APPLY(PartitionChangeRecord, apply_partition_change); break;
    case GR_MREC_ConfigRecord: APPLY(ConfigRecord, apply_config); break;
    case GR_MREC_RemoveTopicRecord: APPLY(RemoveTopicRecord, apply_remove_topic); break;
    case GR_MREC_RegisterBrokerRecord: APPLY(RegisterBrokerRecord, apply_register_broker); break;
    case GR_MREC_ProducerIdsRecord: {
        gr_ProducerIdsRecord x;
        rc = gr_ProducerIdsRecord_decode(&r, &a, v, &x);
        if (rc == 0 && x.NextProducerId > m->next_producer_id)
            m->next_producer_id = x.NextProducerId;
        break;
    }
    default:
        break; /* records we do not use yet (features, ACLs, quotas) */
    }
#undef APPLY
    gr_arena_free(&a);
    return rc;
}

void gr_meta_frame(gr_buf_t *b, int16_t api_key, int16_t version)
{
    gr_buf_put_uvarint(b, FRAME_VERSION);
    gr_buf_put_uvarint(b, (uint64_t)api_key);
    gr_buf_put_uvarint(b, (uint64_t)version);
}
