/* KIP-848 consumer groups in __consumer_offsets: the records Apache Kafka
 * 4.1's group coordinator writes for them (GroupCoordinatorRecordHelpers),
 * with the same keys, value versions and order, so kafka-dump-log
 * --offsets-decoder reads them and a broker restart finds the groups as
 * they were.
 *
 *   key type  record                                  value (flexible v0)
 *   3  ConsumerGroupMetadata(group)                   group epoch, metadata hash (tag 0)
 *   4  ConsumerGroupPartitionMetadata(group)          not written since 4.1; tombstoned on delete
 *   5  ConsumerGroupMemberMetadata(group, member)     instance, rack, client id and host, subscribed
 *                                                     topics (sorted), regex, rebalance timeout, assignor
 *   6  ConsumerGroupTargetAssignmentMetadata(group)   assignment epoch
 *   7  ConsumerGroupTargetAssignmentMember(group, member)   target partitions by topic id
 *   8  ConsumerGroupCurrentMemberAssignment(group, member)  member epoch, previous epoch, state,
 *                                                     assigned and pending-revocation partitions
 *
 * Within one write, records go in Kafka's order: tombstones of members that
 * left (current assignment, target assignment, metadata), member metadata,
 * the group epoch, target assignments and the assignment epoch, current
 * assignments. A member that leaves bumps the group epoch; deleting a group
 * writes its members' tombstones, the assignment epoch's, the partition
 * metadata's and last the group epoch's (ConsumerGroup.createGroupTombstoneRecords).
 *
 * Replaying applies each record on its own: compaction keeps only the
 * latest record of each key, so the records of one member may come back
 * in any order; a member is created by the first of its records, and one
 * whose metadata record never comes is dropped once the partition is
 * loaded. */
#include "base/err.h"
#include "base/log.h"
#include "group/consumer_group_int.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"

#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

static void key_group(gr_buf_t *b, int16_t type, const char *group)
{
    gr_ConsumerGroupMetadataKey k;
    gr_ConsumerGroupMetadataKey_init(&k);
    k.GroupId = gr_str(group);
    gr_buf_put_i16(b, type);
    gr_ConsumerGroupMetadataKey_encode(b, 0, &k);
}

static void key_member(gr_buf_t *b, int16_t type, const char *group, const char *member)
{
    gr_ConsumerGroupMemberMetadataKey k;
    gr_ConsumerGroupMemberMetadataKey_init(&k);
    k.GroupId = gr_str(group);
    k.MemberId = gr_str(member);
    gr_buf_put_i16(b, type);
    gr_ConsumerGroupMemberMetadataKey_encode(b, 0, &k);
}

static void tombstone_group(gr_grecs_t *r, int16_t type, const char *group)
{
    gr_buf_t *k, *v;
    gr_grecs_add(r, &k, &v);
    key_group(k, type, group);
}

static void tombstone_member(gr_grecs_t *r, int16_t type, const char *group, const char *member)
{
    gr_buf_t *k, *v;
    gr_grecs_add(r, &k, &v);
    key_member(k, type, group, member);
}

/* A partition set as Kafka's per-topic arrays (the two TopicPartition
 * structs of the schemas have the same fields). */
#define FILL_TOPIC_PARTITIONS(arena, set, arr, count)                                                        \
    do {                                                                                                     \
        (count) = 0;                                                                                         \
        (arr) = gr_arena_calloc((arena), (size_t)(set)->n + 1, sizeof *(arr));                               \
        int32_t *parts_ = gr_arena_calloc((arena), (size_t)(set)->n + 1, sizeof *parts_);                   \
        if (!(arr) || !parts_) {                                                                             \
            oom = true;                                                                                      \
            break;                                                                                           \
        }                                                                                                    \
        for (int32_t i_ = 0; i_ < (set)->n; i_++) {                                                          \
            if ((count) == 0 || !gr_uuid_eq(&(arr)[(count) - 1].TopicId, &(set)->v[i_].tid)) {              \
                (arr)[(count)].TopicId = (set)->v[i_].tid;                                                   \
                (arr)[(count)].Partitions = parts_ + i_;                                                     \
                (count)++;                                                                                   \
            }                                                                                                \
            (arr)[(count) - 1].Partitions[(arr)[(count) - 1].Partitions_count++] = (set)->v[i_].p;           \
        }                                                                                                    \
    } while (0)

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool member_meta(gr_buf_t *b, const gr_cmember_t *m, gr_arena_t *a)
{
    gr_ConsumerGroupMemberMetadataValue v;
    gr_ConsumerGroupMemberMetadataValue_init(&v);
    v.InstanceId = gr_str(m->instance_id);
    v.RackId = gr_str(m->rack_id);
    v.ClientId = gr_str(m->client_id ? m->client_id : "");
    v.ClientHost = gr_str(m->client_host ? m->client_host : "");
    /* Kafka writes the names sorted. */
    char **sorted = gr_arena_calloc(a, (size_t)m->ntopics + 1, sizeof *sorted);
    v.SubscribedTopicNames = gr_arena_calloc(a, (size_t)m->ntopics + 1, sizeof *v.SubscribedTopicNames);
    if (!sorted || !v.SubscribedTopicNames)
        return false;
    memcpy(sorted, m->topics, (size_t)m->ntopics * sizeof *sorted);
    if (m->ntopics > 1)
        qsort(sorted, (size_t)m->ntopics, sizeof *sorted, str_ptr_cmp);
    for (int32_t i = 0; i < m->ntopics; i++)
        v.SubscribedTopicNames[i] = gr_str(sorted[i]);
    v.SubscribedTopicNames_count = m->ntopics;
    v.SubscribedTopicRegex = gr_str(m->regex ? m->regex : ""); /* "": none, as Kafka writes it */
    v.RebalanceTimeoutMs = m->rebalance_timeout_ms;
    v.ServerAssignor = gr_str(m->assignor);
    gr_ConsumerGroupMemberMetadataValue_ClassicMemberMetadata cm;
    if (m->classic) {
        /* Tagged field 0: the session timeout and the protocols a classic
         * member supports, so it survives a restart and a downgrade. */
        memset(&cm, 0, sizeof cm);
        cm.SessionTimeoutMs = m->classic_session_ms;
        cm.SupportedProtocols = gr_arena_calloc(a, (size_t)m->nprotos + 1, sizeof *cm.SupportedProtocols);
        if (!cm.SupportedProtocols)
            return false;
        for (int32_t i = 0; i < m->nprotos; i++) {
            cm.SupportedProtocols[i].Name = gr_str(m->protos[i].name);
            cm.SupportedProtocols[i].Metadata.ptr = m->protos[i].meta;
            cm.SupportedProtocols[i].Metadata.len = m->protos[i].meta_len;
        }
        cm.SupportedProtocols_count = m->nprotos;
        v.ClassicMemberMetadata = &cm;
    }
    gr_buf_put_i16(b, 0);
    gr_ConsumerGroupMemberMetadataValue_encode(b, 0, &v);
    return true;
}

static bool member_target(gr_buf_t *b, const gr_cmember_t *m, gr_arena_t *a)
{
    gr_ConsumerGroupTargetAssignmentMemberValue v;
    gr_ConsumerGroupTargetAssignmentMemberValue_init(&v);
    bool oom = false;
    FILL_TOPIC_PARTITIONS(a, &m->target, v.TopicPartitions, v.TopicPartitions_count);
    if (oom)
        return false;
    gr_buf_put_i16(b, 0);
    gr_ConsumerGroupTargetAssignmentMemberValue_encode(b, 0, &v);
    return true;
}

static bool member_current(gr_buf_t *b, const gr_cmember_t *m, gr_arena_t *a)
{
    gr_ConsumerGroupCurrentMemberAssignmentValue v;
    gr_ConsumerGroupCurrentMemberAssignmentValue_init(&v);
    v.MemberEpoch = m->epoch;
    v.PreviousMemberEpoch = m->prev_epoch;
    v.State = (int8_t)m->state;
    bool oom = false;
    FILL_TOPIC_PARTITIONS(a, &m->assigned, v.AssignedPartitions, v.AssignedPartitions_count);
    if (!oom)
        FILL_TOPIC_PARTITIONS(a, &m->revoking, v.PartitionsPendingRevocation, v.PartitionsPendingRevocation_count);
    if (oom)
        return false;
    gr_buf_put_i16(b, 0);
    gr_ConsumerGroupCurrentMemberAssignmentValue_encode(b, 0, &v);
    return true;
}

void gr_cg_note_removed(gr_cgroup_t *cg, const char *member_id)
{
    if (cg->nremoved == cg->removed_cap) {
        int32_t cap = cg->removed_cap ? cg->removed_cap * 2 : 4;
        char **v = realloc(cg->removed, (size_t)cap * sizeof *v);
        if (!v) {
            /* The member's records stay behind; when loaded again, the
             * member comes back and its session expires. */
            gr_log(GR_LOG_ERROR, "group", "out of memory: the records of member %s of group %s are not deleted",
                   member_id, cg->grp->id);
            return;
        }
        cg->removed = v;
        cg->removed_cap = cap;
    }
    cg->removed[cg->nremoved++] = gr_gc_strdup(gr_str(member_id));
}

void gr_cg_records(gr_cgroup_t *cg, gr_grecs_t *r)
{
    const char *gid = cg->grp->id;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t *k, *v;
    if (cg->dirty_classic_tombstone) {
        gr_grecs_add(r, &k, &v);
        gr_buf_put_i16(k, 2); /* GroupMetadataKey */
        gr_ConsumerGroupMetadataKey km;
        gr_ConsumerGroupMetadataKey_init(&km);
        km.GroupId = gr_str(gid);
        gr_ConsumerGroupMetadataKey_encode(k, 0, &km);
    }
    for (int32_t i = 0; i < cg->nremoved; i++) {
        /* Unless the id came back (a static member's old id reused). */
        if (gr_cg_member_find(cg, gr_str(cg->removed[i])))
            continue;
        tombstone_member(r, GR_CREC_ConsumerGroupCurrentMemberAssignment, gid, cg->removed[i]);
        tombstone_member(r, GR_CREC_ConsumerGroupTargetAssignmentMember, gid, cg->removed[i]);
        tombstone_member(r, GR_CREC_ConsumerGroupMemberMetadata, gid, cg->removed[i]);
    }
    for (int32_t i = 0; i < cg->nremoved_regexes; i++)
        if (!gr_cg_regex_find(cg, cg->removed_regexes[i]))
            tombstone_member(r, GR_CREC_ConsumerGroupRegularExpression, gid, cg->removed_regexes[i]);
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m->dirty & CM_DIRTY_META) {
            gr_grecs_add(r, &k, &v);
            key_member(k, GR_CREC_ConsumerGroupMemberMetadata, gid, m->id);
            if (!member_meta(v, m, &a))
                r->oom = true;
        }
    for (cg_regex_t *x = cg->regexes; x; x = x->next)
        if (x->dirty) {
            gr_grecs_add(r, &k, &v);
            key_member(k, GR_CREC_ConsumerGroupRegularExpression, gid, x->re);
            gr_ConsumerGroupRegularExpressionValue rv;
            gr_ConsumerGroupRegularExpressionValue_init(&rv);
            rv.Topics = gr_arena_calloc(&a, (size_t)x->ntopics + 1, sizeof *rv.Topics);
            if (!rv.Topics) {
                r->oom = true;
                continue;
            }
            for (int32_t i = 0; i < x->ntopics; i++)
                rv.Topics[i] = gr_str(x->topics[i]);
            rv.Topics_count = x->ntopics;
            rv.Version = x->version;
            rv.Timestamp = x->ts;
            gr_buf_put_i16(v, 0);
            gr_ConsumerGroupRegularExpressionValue_encode(v, 0, &rv);
        }
    if (cg->dirty_epoch) {
        gr_grecs_add(r, &k, &v);
        key_group(k, GR_CREC_ConsumerGroupMetadata, gid);
        gr_ConsumerGroupMetadataValue ev;
        gr_ConsumerGroupMetadataValue_init(&ev);
        ev.Epoch = cg->group_epoch;
        ev.MetadataHash = cg->metadata_hash;
        gr_buf_put_i16(v, 0);
        gr_ConsumerGroupMetadataValue_encode(v, 0, &ev);
    }
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m->dirty & CM_DIRTY_TARGET) {
            gr_grecs_add(r, &k, &v);
            key_member(k, GR_CREC_ConsumerGroupTargetAssignmentMember, gid, m->id);
            if (!member_target(v, m, &a))
                r->oom = true;
        }
    if (cg->dirty_assignment_epoch) {
        gr_grecs_add(r, &k, &v);
        key_group(k, GR_CREC_ConsumerGroupTargetAssignmentMetadata, gid);
        gr_ConsumerGroupTargetAssignmentMetadataValue av;
        gr_ConsumerGroupTargetAssignmentMetadataValue_init(&av);
        av.AssignmentEpoch = cg->assignment_epoch;
        gr_buf_put_i16(v, 0);
        gr_ConsumerGroupTargetAssignmentMetadataValue_encode(v, 0, &av);
    }
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m->dirty & CM_DIRTY_CURRENT) {
            gr_grecs_add(r, &k, &v);
            key_member(k, GR_CREC_ConsumerGroupCurrentMemberAssignment, gid, m->id);
            if (!member_current(v, m, &a))
                r->oom = true;
        }
    gr_arena_free(&a);
}

/* Clears what gr_cg_records wrote. */
static void records_written(gr_cgroup_t *cg)
{
    cg->dirty_epoch = cg->dirty_assignment_epoch = cg->dirty_classic_tombstone = false;
    for (int32_t i = 0; i < cg->nremoved; i++)
        free(cg->removed[i]);
    cg->nremoved = 0;
    for (int32_t i = 0; i < cg->nremoved_regexes; i++)
        free(cg->removed_regexes[i]);
    cg->nremoved_regexes = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        m->dirty = 0;
    for (cg_regex_t *x = cg->regexes; x; x = x->next)
        x->dirty = false;
}

void gr_cg_take_records(gr_cgroup_t *cg, gr_grecs_t *r)
{
    gr_cg_records(cg, r);
    records_written(cg);
}

typedef struct flush_wait_s {
    gr_gcoord_done_fn done;
    void             *arg;
} flush_wait_t;

static void flush_durable(void *arg, int16_t err)
{
    flush_wait_t w = *(flush_wait_t *)arg;
    free(arg);
    w.done(w.arg, err ? gr_gc_append_error(err) : 0);
}

int16_t gr_cg_flush(gr_gcoord_t *c, gr_group_t *g, gr_gcoord_done_fn done, void *arg, bool *pending)
{
    if (pending)
        *pending = false;
    gr_cgroup_t *cg = g->cg;
    /* A conversion's records first (Kafka writes them in the same batch
     * as the request's). */
    gr_grecs_t r = g->pend;
    memset(&g->pend, 0, sizeof g->pend);
    if (cg)
        gr_cg_records(cg, &r);
    if (r.n == 0 && !r.oom) {
        gr_grecs_free(&r);
        return 0;
    }
    flush_wait_t *w = NULL;
    if (done) {
        w = malloc(sizeof *w);
        if (!w) {
            gr_grecs_free(&r);
            return GR_KERR_UNKNOWN_SERVER_ERROR;
        }
        w->done = done;
        w->arg = arg;
    }
    int16_t err = gr_gc_append_recs(c, g, &r, w ? flush_durable : NULL, w);
    if (err) {
        free(w);
        /* Kept: the next write of the group carries them first. */
        gr_log(GR_LOG_WARN, "group", "cannot write the records of group %s: %s", g->id, gr_kerr_name(err));
        if (!r.oom) {
            g->pend = r;
            if (cg)
                records_written(cg);
        } else {
            gr_grecs_free(&r);
        }
        return err;
    }
    gr_grecs_free(&r);
    if (cg)
        records_written(cg);
    if (pending)
        *pending = done != NULL;
    return 0;
}

void gr_cg_tombstones(gr_group_t *g, gr_grecs_t *r)
{
    gr_cgroup_t *cg = g->cg;
    const char *gid = g->id;
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        tombstone_member(r, GR_CREC_ConsumerGroupCurrentMemberAssignment, gid, m->id);
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        tombstone_member(r, GR_CREC_ConsumerGroupTargetAssignmentMember, gid, m->id);
    tombstone_group(r, GR_CREC_ConsumerGroupTargetAssignmentMetadata, gid);
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        tombstone_member(r, GR_CREC_ConsumerGroupMemberMetadata, gid, m->id);
    for (cg_regex_t *x = cg->regexes; x; x = x->next)
        tombstone_member(r, GR_CREC_ConsumerGroupRegularExpression, gid, x->re);
    tombstone_group(r, GR_CREC_ConsumerGroupPartitionMetadata, gid);
    tombstone_group(r, GR_CREC_ConsumerGroupMetadata, gid);
}

/* ---- replaying ---- */

static gr_cgroup_t *replay_group(gr_gcoord_t *c, gr_str_t id, bool create)
{
    gr_group_t *g = gr_gc_group_find(c, id);
    if (!g && !create)
        return NULL;
    if (!g && !(g = gr_gc_group_create(c, id)))
        return NULL;
    if (!g->cg && !create)
        return NULL;
    if (!g->cg && !gr_cg_new(g))
        return NULL;
    return g->cg;
}

static gr_cmember_t *replay_member(gr_cgroup_t *cg, gr_str_t id, bool create)
{
    gr_cmember_t *m = gr_cg_member_find(cg, id);
    if (!m && create)
        m = gr_cg_member_add(cg, id);
    return m;
}

static char *dup_or_null(gr_str_t s)
{
    return s.len >= 0 ? gr_gc_strdup(s) : NULL;
}

#define SET_TOPIC_PARTITIONS(set, arr, count)                                                                \
    do {                                                                                                     \
        tpset_t s_ = {0};                                                                                    \
        int32_t cap_ = 0;                                                                                    \
        for (int32_t i_ = 0; i_ < (count) && rc == 0; i_++)                                                  \
            for (int32_t j_ = 0; j_ < (arr)[i_].Partitions_count && rc == 0; j_++)                          \
                rc = gr_cg_tpset_push(&s_, &cap_, &(arr)[i_].TopicId, (arr)[i_].Partitions[j_]);            \
        gr_cg_tpset_sort(&s_);                                                                               \
        tpset_take((set), &s_);                                                                              \
    } while (0)

static int replay_member_meta(gr_cmember_t *m, const gr_ConsumerGroupMemberMetadataValue *v)
{
    char **topics = calloc((size_t)v->SubscribedTopicNames_count + 1, sizeof *topics);
    if (!topics)
        return GR_ENOMEM;
    for (int32_t i = 0; i < v->SubscribedTopicNames_count; i++)
        topics[i] = gr_gc_strdup(v->SubscribedTopicNames[i]);
    for (int32_t i = 0; i < m->ntopics; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = topics;
    m->ntopics = v->SubscribedTopicNames_count;
    free(m->instance_id);
    m->instance_id = dup_or_null(v->InstanceId);
    free(m->rack_id);
    m->rack_id = dup_or_null(v->RackId);
    free(m->client_id);
    m->client_id = gr_gc_strdup(v->ClientId);
    free(m->client_host);
    m->client_host = gr_gc_strdup(v->ClientHost);
    free(m->assignor);
    m->assignor = dup_or_null(v->ServerAssignor);
    m->rebalance_timeout_ms = v->RebalanceTimeoutMs;
    free(m->regex);
    m->regex = v->SubscribedTopicRegex.len > 0 ? gr_gc_strdup(v->SubscribedTopicRegex) : NULL;
    for (int32_t i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    m->protos = NULL;
    m->nprotos = 0;
    m->classic = v->ClassicMemberMetadata != NULL;
    if (m->classic) {
        const gr_ConsumerGroupMemberMetadataValue_ClassicMemberMetadata *cm = v->ClassicMemberMetadata;
        int32_t n = cm->SupportedProtocols_count > 0 ? cm->SupportedProtocols_count : 0;
        m->classic_session_ms = cm->SessionTimeoutMs;
        m->protos = calloc((size_t)n + 1, sizeof *m->protos);
        if (!m->protos)
            return GR_ENOMEM;
        for (int32_t i = 0; i < n; i++) {
            const gr_bytes_t *md = &cm->SupportedProtocols[i].Metadata;
            m->protos[i].name = gr_gc_strdup(cm->SupportedProtocols[i].Name);
            m->protos[i].meta_len = md->len > 0 ? md->len : 0;
            m->protos[i].meta = malloc((size_t)m->protos[i].meta_len + 1);
            if (!m->protos[i].meta) {
                m->nprotos = i + 1;
                return GR_ENOMEM;
            }
            if (m->protos[i].meta_len)
                memcpy(m->protos[i].meta, md->ptr, (size_t)m->protos[i].meta_len);
            m->nprotos = i + 1;
        }
    }
    m->has_meta = true;
    return 0;
}

int gr_cg_replay(gr_gcoord_t *c, int16_t type, gr_str_t group, gr_str_t member, gr_bytes_t value)
{
    bool tomb = value.len < 0;
    gr_reader_t rd;
    int16_t version = 0;
    if (!tomb) {
        gr_reader_init(&rd, value.ptr, (size_t)value.len);
        version = gr_read_i16(&rd);
        if (rd.err)
            return GR_EMALFORMED;
        if (version != 0)
            return 0; /* a newer Kafka's record: not ours to read */
    }
    gr_arena_t a;
    gr_arena_init(&a, 0);
    int rc = 0;
    switch (type) {
    case GR_CREC_ConsumerGroupMetadata: {
        if (tomb) {
            /* Deleted (its last record). Its offsets outlive it. */
            gr_group_t *g = gr_gc_group_find(c, group);
            if (g && g->cg) {
                gr_cg_free(c, g);
                free(g->protocol_type);
                g->protocol_type = NULL;
                g->state = g->prev_state = GR_GSTATE_EMPTY;
                if (g->noffsets == 0)
                    gr_gc_group_free(c, g);
            }
            break;
        }
        gr_ConsumerGroupMetadataValue v;
        if ((rc = gr_ConsumerGroupMetadataValue_decode(&rd, &a, 0, &v)) != 0)
            break;
        gr_cgroup_t *cg = replay_group(c, group, true);
        if (!cg) {
            rc = GR_ENOMEM;
            break;
        }
        cg->group_epoch = v.Epoch;
        cg->metadata_hash = v.MetadataHash;
        break;
    }
    case GR_CREC_ConsumerGroupPartitionMetadata:
        break; /* replaced by the metadata hash in Kafka 4.1 */
    case GR_CREC_ConsumerGroupTargetAssignmentMetadata: {
        if (tomb)
            break;
        gr_ConsumerGroupTargetAssignmentMetadataValue v;
        if ((rc = gr_ConsumerGroupTargetAssignmentMetadataValue_decode(&rd, &a, 0, &v)) != 0)
            break;
        gr_cgroup_t *cg = replay_group(c, group, true);
        if (!cg) {
            rc = GR_ENOMEM;
            break;
        }
        cg->assignment_epoch = v.AssignmentEpoch;
        break;
    }
    case GR_CREC_ConsumerGroupMemberMetadata:
    case GR_CREC_ConsumerGroupTargetAssignmentMember:
    case GR_CREC_ConsumerGroupCurrentMemberAssignment: {
        gr_cgroup_t *cg = replay_group(c, group, !tomb);
        gr_cmember_t *m = cg ? replay_member(cg, member, !tomb) : NULL;
        if (tomb) {
            if (!m)
                break;
            if (type == GR_CREC_ConsumerGroupMemberMetadata)
                gr_cg_member_drop(c, cg, m);
            else if (type == GR_CREC_ConsumerGroupTargetAssignmentMember)
                tpset_free(&m->target);
            else {
                tpset_free(&m->assigned);
                tpset_free(&m->revoking);
            }
            break;
        }
        if (!m) {
            rc = GR_ENOMEM;
            break;
        }
        if (type == GR_CREC_ConsumerGroupMemberMetadata) {
            gr_ConsumerGroupMemberMetadataValue v;
            if ((rc = gr_ConsumerGroupMemberMetadataValue_decode(&rd, &a, 0, &v)) == 0)
                rc = replay_member_meta(m, &v);
        } else if (type == GR_CREC_ConsumerGroupTargetAssignmentMember) {
            gr_ConsumerGroupTargetAssignmentMemberValue v;
            if ((rc = gr_ConsumerGroupTargetAssignmentMemberValue_decode(&rd, &a, 0, &v)) == 0)
                SET_TOPIC_PARTITIONS(&m->target, v.TopicPartitions, v.TopicPartitions_count);
        } else {
            gr_ConsumerGroupCurrentMemberAssignmentValue v;
            if ((rc = gr_ConsumerGroupCurrentMemberAssignmentValue_decode(&rd, &a, 0, &v)) != 0)
                break;
            m->epoch = v.MemberEpoch;
            m->prev_epoch = v.PreviousMemberEpoch;
            m->state = v.State >= CM_STABLE && v.State <= CM_UNRELEASED ? v.State : CM_STABLE;
            SET_TOPIC_PARTITIONS(&m->assigned, v.AssignedPartitions, v.AssignedPartitions_count);
            SET_TOPIC_PARTITIONS(&m->revoking, v.PartitionsPendingRevocation, v.PartitionsPendingRevocation_count);
        }
        break;
    }
    case GR_CREC_ConsumerGroupRegularExpression: {
        gr_cgroup_t *cg = replay_group(c, group, !tomb);
        char *re = gr_gc_strdup(member);
        cg_regex_t *x = cg ? gr_cg_regex_find(cg, re) : NULL;
        if (tomb) {
            if (x) {
                for (cg_regex_t **pp = &cg->regexes; *pp; pp = &(*pp)->next)
                    if (*pp == x) {
                        *pp = x->next;
                        break;
                    }
                gr_cg_regex_free(x);
            }
            free(re);
            break;
        }
        gr_ConsumerGroupRegularExpressionValue v;
        if (!cg || (rc = gr_ConsumerGroupRegularExpressionValue_decode(&rd, &a, 0, &v)) != 0) {
            rc = rc ? rc : GR_ENOMEM;
            free(re);
            break;
        }
        if (!x)
            x = gr_cg_regex_add(cg, re);
        free(re);
        if (!x)
            break; /* does not compile here: resolved never, logged at the next heartbeat */
        char **topics = calloc((size_t)v.Topics_count + 1, sizeof *topics);
        if (!topics) {
            rc = GR_ENOMEM;
            break;
        }
        for (int32_t i = 0; i < v.Topics_count; i++)
            topics[i] = gr_gc_strdup(v.Topics[i]);
        for (int32_t i = 0; i < x->ntopics; i++)
            free(x->topics[i]);
        free(x->topics);
        x->topics = topics;
        x->ntopics = v.Topics_count;
        qsort(x->topics, (size_t)x->ntopics, sizeof *x->topics, str_ptr_cmp);
        x->version = v.Version;
        x->ts = v.Timestamp;
        break;
    }
    default:
        break;
    }
    gr_arena_free(&a);
    if (rc != 0)
        return rc == GR_ENOMEM ? rc : GR_EMALFORMED;
    gr_group_t *g = gr_gc_group_find(c, group);
    if (g && g->cg)
        g->persisted = true;
    return 0;
}

void gr_cg_loaded(gr_gcoord_t *c, gr_group_t *g)
{
    gr_cgroup_t *cg = g->cg;
    gr_cmember_t *m = cg->members;
    while (m) {
        gr_cmember_t *next = m->next;
        if (!m->has_meta)
            gr_cg_member_drop(c, cg, m);
        m = next;
    }
    gr_cg_sync_view(cg);
    gr_cg_start_timers(c, cg);
    gr_log(GR_LOG_INFO, "group", "loaded consumer group %s: epoch %d, assignment epoch %d, %d member(s)", g->id,
           cg->group_epoch, cg->assignment_epoch, cg->nmembers);
}
