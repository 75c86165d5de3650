/* Committed offsets of groups (OffsetCommit, OffsetFetch, OffsetDelete),
 * their expiry after offsets.retention.minutes, and the admin APIs over
 * groups (ListGroups, DescribeGroups, DeleteGroups), as Apache Kafka's
 * OffsetMetadataManager and GroupMetadataManager answer them. Every change
 * is a record appended to the group's __consumer_offsets partition first;
 * memory follows once the append succeeded. */
#include "group/group_int.h"
#include "base/err.h"
#include "base/log.h"
#include "group/group_records.h"
#include "protocol/errors.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- the offsets of one group ---- */

static gr_gtopic_t *topic_find(gr_group_t *g, const char *name, size_t len)
{
    for (gr_gtopic_t *t = g->offsets; t; t = t->next)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

gr_goffset_t *gr_go_find(gr_group_t *g, const char *topic, size_t tlen, int32_t partition)
{
    gr_gtopic_t *t = topic_find(g, topic, tlen);
    if (!t || partition < 0 || partition >= t->cap || !t->parts[partition].present)
        return NULL;
    return &t->parts[partition];
}

/* The slot for (topic, partition), created empty (not present) when
 * missing; NULL when out of memory. */
static gr_goffset_t *go_slot(gr_group_t *g, gr_str_t topic, int32_t partition)
{
    gr_gtopic_t *t = topic_find(g, topic.ptr, (size_t)topic.len);
    if (!t) {
        t = calloc(1, sizeof *t);
        char *name = t ? malloc((size_t)topic.len + 1) : NULL;
        if (!name) {
            free(t);
            return NULL;
        }
        memcpy(name, topic.ptr, (size_t)topic.len);
        name[topic.len] = 0;
        t->name = name;
        gr_gtopic_t **tail = &g->offsets;
        while (*tail)
            tail = &(*tail)->next;
        *tail = t;
    }
    if (partition >= t->cap) {
        int32_t cap = t->cap ? t->cap : 8;
        while (cap <= partition)
            cap *= 2;
        gr_goffset_t *np = realloc(t->parts, (size_t)cap * sizeof *np);
        if (!np)
            return NULL;
        memset(np + t->cap, 0, (size_t)(cap - t->cap) * sizeof *np);
        t->parts = np;
        t->cap = cap;
    }
    return &t->parts[partition];
}

/* A heap copy of metadata (len bytes, then a NUL); NULL when out of memory. */
static char *meta_copy(gr_str_t metadata)
{
    size_t n = metadata.len > 0 ? (size_t)metadata.len : 0;
    char *m = malloc(n + 1);
    if (m) {
        if (n)
            memcpy(m, metadata.ptr, n);
        m[n] = 0;
    }
    return m;
}

/* Fills a slot; meta (from meta_copy) passes to it. */
static void go_fill(gr_group_t *g, gr_str_t topic, gr_goffset_t *o, int64_t offset,
                    int32_t leader_epoch, char *meta, int32_t meta_len, int64_t commit_ts,
                    int64_t expire_ts)
{
    if (!o->present) {
        o->present = true;
        topic_find(g, topic.ptr, (size_t)topic.len)->count++;
        g->noffsets++;
    }
    free(o->metadata);
    o->metadata = meta;
    o->metadata_len = meta_len;
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->commit_ts = commit_ts;
    o->expire_ts = expire_ts;
}

static void topic_free(gr_gtopic_t *t);

/* Topics left without any offset (slots made for a commit that failed). */
static void prune_empty_topics(gr_group_t *g)
{
    for (gr_gtopic_t **pp = &g->offsets; *pp;) {
        gr_gtopic_t *t = *pp;
        if (t->count == 0) {
            *pp = t->next;
            topic_free(t);
        } else {
            pp = &t->next;
        }
    }
}

int gr_go_set(gr_group_t *g, gr_str_t topic, int32_t partition, int64_t offset, int32_t leader_epoch,
              gr_str_t metadata, int64_t commit_ts, int64_t expire_ts)
{
    if (partition < 0 || topic.len < 0)
        return 0;
    gr_goffset_t *o = go_slot(g, topic, partition);
    char *meta = o ? meta_copy(metadata) : NULL;
    if (!meta) {
        prune_empty_topics(g);
        return GR_ENOMEM;
    }
    go_fill(g, topic, o, offset, leader_epoch, meta, metadata.len > 0 ? metadata.len : 0, commit_ts,
            expire_ts);
    return 0;
}

static void topic_free(gr_gtopic_t *t)
{
    for (int32_t i = 0; i < t->cap; i++)
        free(t->parts[i].metadata);
    free(t->parts);
    free(t->name);
    free(t);
}

void gr_go_delete(gr_group_t *g, gr_str_t topic, int32_t partition)
{
    if (topic.len < 0)
        return;
    for (gr_gtopic_t **pp = &g->offsets; *pp; pp = &(*pp)->next) {
        gr_gtopic_t *t = *pp;
        if (!gr_gc_str_is(t->name, topic))
            continue;
        if (partition < 0 || partition >= t->cap || !t->parts[partition].present)
            return;
        gr_goffset_t *o = &t->parts[partition];
        free(o->metadata);
        memset(o, 0, sizeof *o);
        t->count--;
        g->noffsets--;
        if (t->count == 0) {
            *pp = t->next;
            topic_free(t);
        }
        return;
    }
}

void gr_go_free_all(gr_group_t *g)
{
    while (g->offsets) {
        gr_gtopic_t *t = g->offsets;
        g->offsets = t->next;
        topic_free(t);
    }
    g->noffsets = 0;
}

static void add_offset_tombstone(gr_grecs_t *r, const gr_group_t *g, const char *topic, int32_t partition)
{
    gr_buf_t *k, *v;
    gr_grecs_add(r, &k, &v);
    gr_grec_offset_key(k, gr_str(g->id), gr_str(topic), partition);
}


/* ---- OffsetCommit ---- */

/* ClassicGroup.validateOffsetCommit. */
static int16_t validate_commit(gr_group_t *g, const gr_gcommit_t *rq)
{
    if (g->state == GR_GSTATE_DEAD)
        return GR_KERR_COORDINATOR_NOT_AVAILABLE;
    if (g->cg) /* a KIP-848 group: member epochs */
        return gr_cg_validate_commit(g, rq->member_id, rq->generation, rq->api_version);
    if (rq->generation < 0 && g->state == GR_GSTATE_EMPTY)
        return 0; /* an admin client or a consumer without group management */
    if (rq->generation >= 0 || rq->member_id.len > 0 || rq->instance_id.len >= 0) {
        int16_t err = gr_gm_validate_member(g, rq->member_id, rq->instance_id);
        if (err)
            return err;
        if (rq->generation != g->generation)
            return GR_KERR_ILLEGAL_GENERATION;
    } else if (g->state != GR_GSTATE_EMPTY) {
        /* Only members commit for a group that has members. */
        return GR_KERR_UNKNOWN_MEMBER_ID;
    }
    if (g->state == GR_GSTATE_COMPLETING)
        return GR_KERR_REBALANCE_IN_PROGRESS;
    return 0;
}

typedef struct commit_wait_s {
    gr_gcoord_done_fn done;
    void             *arg;
} commit_wait_t;

static void commit_durable(void *arg, int16_t err)
{
    commit_wait_t *w = arg;
    w->done(w->arg, err ? gr_gc_append_error(err) : 0);
    free(w);
}

bool gr_gcoord_commit(gr_gcoord_t *c, const gr_gcommit_t *rq, gr_gcommit_part_t *parts, int n,
                      gr_gcoord_done_fn done, void *arg)
{
    int16_t err = 0;
    gr_group_t *g = NULL;
    /* Kafka takes "" as a group id here (not in JoinGroup and the rest). */
    if (rq->group_id.len < 0)
        err = GR_KERR_INVALID_GROUP_ID;
    else
        err = gr_gcoord_status(c, rq->group_id);
    if (!err) {
        g = gr_gc_group_find(c, rq->group_id);
        if (!g && rq->generation < 0) {
            gr_log(GR_LOG_INFO, "group", "creating simple group %.*s for a manual offset commit",
                   (int)rq->group_id.len, rq->group_id.ptr);
            g = gr_gc_group_create(c, rq->group_id);
            if (!g)
                err = GR_KERR_UNKNOWN_SERVER_ERROR;
        } else if (!g) {
            err = rq->api_version >= 9 ? GR_KERR_GROUP_ID_NOT_FOUND : GR_KERR_ILLEGAL_GENERATION;
        }
    }
    if (!err)
        err = validate_commit(g, rq);
    if (err) {
        for (int i = 0; i < n; i++)
            *parts[i].error = err;
        return false;
    }
    /* A commit keeps a classic member's session alive. */
    if (g->state == GR_GSTATE_STABLE || g->state == GR_GSTATE_PREPARING) {
        gr_gmember_t *m = gr_gm_find(g, rq->member_id);
        if (m)
            gr_gm_heartbeat_member(c, g, m);
    }
    int64_t now = gr_gc_wall(c);
    int64_t expire = rq->retention_ms >= 0 ? now + rq->retention_ms : -1;
    gr_grecs_t r = {0};
    for (int i = 0; i < n; i++) {
        gr_gcommit_part_t *p = &parts[i];
        if (p->metadata.len > 0 &&
            gr_grec_java_length(p->metadata.ptr, (size_t)p->metadata.len) > (size_t)c->cfg.offset_metadata_max_bytes) {
            *p->error = GR_KERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        *p->error = 0;
        gr_grec_offset_t v = {p->offset, p->leader_epoch, p->metadata.len >= 0 ? p->metadata : gr_str(""),
                              p->commit_ts >= 0 ? p->commit_ts : now, expire};
        gr_buf_t *kb, *vb;
        gr_grecs_add(&r, &kb, &vb);
        gr_grec_offset_key(kb, rq->group_id, p->topic, p->partition);
        gr_grec_offset_value(vb, &v);
    }
    if (r.n == 0) {
        gr_grecs_free(&r);
        return false;
    }
    /* Everything the in-memory store needs is allocated before the records
     * are written, so that what is written is also applied. */
    commit_wait_t *w = malloc(sizeof *w);
    gr_goffset_t **slots = calloc((size_t)n, sizeof *slots);
    char **metas = calloc((size_t)n, sizeof *metas);
    bool oom = r.oom || !w || !slots || !metas;
    for (int i = 0; i < n && !oom; i++) {
        gr_gcommit_part_t *p = &parts[i];
        if (*p->error || p->partition < 0 || p->topic.len < 0)
            continue;
        slots[i] = go_slot(g, p->topic, p->partition);
        metas[i] = slots[i] ? meta_copy(p->metadata.len >= 0 ? p->metadata : gr_str("")) : NULL;
        oom = !metas[i];
    }
    if (!oom) {
        w->done = done;
        w->arg = arg;
        err = gr_gc_append_recs(c, g, &r, commit_durable, w);
    }
    gr_grecs_free(&r);
    if (oom || err) {
        if (oom)
            GR_LOG_RL(GR_LOG_ERROR, "group", "out of memory for an offset commit of group %.*s",
                      (int)rq->group_id.len, rq->group_id.ptr);
        for (int i = 0; metas && i < n; i++)
            free(metas[i]);
        free(metas);
        free(slots);
        free(w);
        prune_empty_topics(g);
        err = oom ? GR_KERR_UNKNOWN_SERVER_ERROR : gr_gc_append_error(err);
        for (int i = 0; i < n; i++)
            *parts[i].error = err;
        return false;
    }
    for (int i = 0; i < n; i++) {
        gr_gcommit_part_t *p = &parts[i];
        if (!slots[i])
            continue;
        go_fill(g, p->topic, slots[i], p->offset, p->leader_epoch, metas[i],
                p->metadata.len > 0 ? p->metadata.len : 0, p->commit_ts >= 0 ? p->commit_ts : now,
                expire);
    }
    free(metas);
    free(slots);
    return true;
}

/* ---- OffsetFetch ---- */

typedef gr_OffsetFetchResponse_OffsetFetchResponsePartitions fpart_t;
typedef gr_OffsetFetchResponse_OffsetFetchResponseTopics ftopic_t;

/* A copy of o's metadata in the request arena (the answer may go out after
 * the offset changed); NULL pointer with length 0 when out of memory. */
static gr_str_t arena_meta(gr_arena_t *a, const gr_goffset_t *o)
{
    gr_str_t s = {gr_arena_strndup(a, o->metadata, (size_t)o->metadata_len), o->metadata_len};
    if (!s.ptr)
        s.len = 0, s.ptr = "";
    return s;
}

static void fill_fetch_part(fpart_t *p, int32_t partition, const gr_goffset_t *o)
{
    p->PartitionIndex = partition;
    p->ErrorCode = 0;
    if (o) {
        p->CommittedOffset = o->offset;
        p->CommittedLeaderEpoch = o->leader_epoch;
        /* Byte for byte: librdkafka sends a trailing NUL and expects it back. */
        p->Metadata.ptr = o->metadata;
        p->Metadata.len = o->metadata_len;
    } else {
        p->CommittedOffset = -1;
        p->CommittedLeaderEpoch = -1;
        p->Metadata = gr_str("");
    }
}

void gr_gcoord_fetch_offsets(gr_gcoord_t *c, const gr_OffsetFetchRequest_OffsetFetchRequestGroup *rq,
                             bool require_stable, gr_arena_t *a, gr_OffsetFetchResponse_OffsetFetchResponseGroup *out)
{
    (void)require_stable; /* no transactional offsets are ever pending */
    memset(out, 0, sizeof *out);
    out->GroupId = rq->GroupId;
    out->Topics = gr_arena_calloc(a, 1, sizeof *out->Topics);
    if (rq->GroupId.len < 0) {
        out->ErrorCode = GR_KERR_INVALID_GROUP_ID;
        return;
    }
    int16_t err = gr_gcoord_status(c, rq->GroupId);
    if (err) {
        out->ErrorCode = err;
        return;
    }
    gr_group_t *g = gr_gc_group_find(c, rq->GroupId);
    if (g && g->cg && (err = gr_cg_validate_fetch(g, rq->MemberId, rq->MemberEpoch)) != 0) {
        out->ErrorCode = err;
        return;
    }
    if (rq->Topics_count < 0) {
        if (!g || g->noffsets == 0)
            return;
        int32_t nt = 0;
        for (gr_gtopic_t *t = g->offsets; t; t = t->next)
            nt++;
        out->Topics = gr_arena_calloc(a, (size_t)nt + 1, sizeof *out->Topics);
        if (!out->Topics) {
            out->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
            return;
        }
        for (gr_gtopic_t *t = g->offsets; t; t = t->next) {
            ftopic_t *ft = &out->Topics[out->Topics_count++];
            ft->Name = gr_str(gr_arena_strndup(a, t->name, strlen(t->name)));
            ft->Partitions = gr_arena_calloc(a, (size_t)t->count + 1, sizeof *ft->Partitions);
            if (!ft->Partitions || !ft->Name.ptr) {
                out->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
                return;
            }
            for (int32_t p = 0; p < t->cap; p++)
                if (t->parts[p].present) {
                    fpart_t *fp = &ft->Partitions[ft->Partitions_count++];
                    fill_fetch_part(fp, p, &t->parts[p]);
                    fp->Metadata = arena_meta(a, &t->parts[p]);
                }
        }
        return;
    }
    out->Topics = gr_arena_calloc(a, (size_t)rq->Topics_count + 1, sizeof *out->Topics);
    if (!out->Topics) {
        out->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    out->Topics_count = rq->Topics_count;
    for (int32_t i = 0; i < rq->Topics_count; i++) {
        const gr_OffsetFetchRequest_OffsetFetchRequestTopics *qt = &rq->Topics[i];
        ftopic_t *ft = &out->Topics[i];
        ft->Name = qt->Name;
        int32_t np = qt->PartitionIndexes_count > 0 ? qt->PartitionIndexes_count : 0;
        ft->Partitions = gr_arena_calloc(a, (size_t)np + 1, sizeof *ft->Partitions);
        if (!ft->Partitions) {
            out->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
            return;
        }
        ft->Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            int32_t pi = qt->PartitionIndexes[j];
            const gr_goffset_t *o = g && qt->Name.len >= 0 ? gr_go_find(g, qt->Name.ptr, (size_t)qt->Name.len, pi) : NULL;
            fill_fetch_part(&ft->Partitions[j], pi, o);
            if (o)
                ft->Partitions[j].Metadata = arena_meta(a, o);
        }
    }
}

/* ---- OffsetDelete ---- */

int16_t gr_gcoord_delete_offsets(gr_gcoord_t *c, gr_str_t group_id, gr_gdelete_part_t *parts, int n)
{
    if (group_id.len <= 0)
        return GR_KERR_INVALID_GROUP_ID;
    int16_t err = gr_gcoord_status(c, group_id);
    if (err)
        return err;
    gr_group_t *g = gr_gc_group_find(c, group_id);
    if (!g || !g->persisted || g->state == GR_GSTATE_DEAD)
        return GR_KERR_GROUP_ID_NOT_FOUND;
    if (g->state != GR_GSTATE_EMPTY && (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0))
        return GR_KERR_NON_EMPTY_GROUP;
    gr_grecs_t r = {0};
    for (int i = 0; i < n; i++) {
        gr_gdelete_part_t *p = &parts[i];
        char *topic = gr_gc_strdup(p->topic);
        if (gr_gm_is_subscribed(g, topic)) {
            *p->error = GR_KERR_GROUP_SUBSCRIBED_TO_TOPIC;
        } else {
            *p->error = 0;
            if (gr_go_find(g, topic, strlen(topic), p->partition))
                add_offset_tombstone(&r, g, topic, p->partition);
        }
        free(topic);
    }
    if (r.n > 0) {
        err = gr_gc_append_recs(c, g, &r, NULL, NULL);
        if (err) {
            gr_grecs_free(&r);
            return gr_gc_append_error(err);
        }
        for (int i = 0; i < n; i++)
            if (*parts[i].error == 0)
                gr_go_delete(g, parts[i].topic, parts[i].partition);
    }
    gr_grecs_free(&r);
    return 0;
}

/* ---- DeleteGroups ---- */

/* Kafka's deleteGroups: the offsets' tombstones, then the group's (a
 * consumer group has several records). */
static void add_group_tombstones(gr_grecs_t *r, gr_group_t *g)
{
    for (gr_gtopic_t *t = g->offsets; t; t = t->next)
        for (int32_t p = 0; p < t->cap; p++)
            if (t->parts[p].present)
                add_offset_tombstone(r, g, t->name, p);
    if (g->cg) {
        gr_cg_tombstones(g, r);
        return;
    }
    gr_buf_t *k, *v;
    gr_grecs_add(r, &k, &v);
    gr_grec_group_key(k, gr_str(g->id));
}

int16_t gr_gcoord_delete_group(gr_gcoord_t *c, gr_str_t group_id)
{
    if (group_id.len < 0)
        return GR_KERR_GROUP_ID_NOT_FOUND;
    int16_t err = gr_gcoord_status(c, group_id);
    if (err)
        return err;
    gr_group_t *g = gr_gc_group_find(c, group_id);
    if (!g || !g->persisted || g->state == GR_GSTATE_DEAD)
        return GR_KERR_GROUP_ID_NOT_FOUND;
    if (g->state != GR_GSTATE_EMPTY)
        return GR_KERR_NON_EMPTY_GROUP;
    gr_grecs_t r = {0};
    add_group_tombstones(&r, g);
    err = gr_gc_append_recs(c, g, &r, NULL, NULL);
    gr_grecs_free(&r);
    if (err)
        return gr_gc_append_error(err);
    gr_log(GR_LOG_INFO, "group", "deleted group %s", g->id);
    gr_gc_group_free(c, g);
    return 0;
}

/* ---- topic deletion ---- */

void gr_gcoord_topic_deleted(gr_gcoord_t *c, const char *topic)
{
    if (c->shut)
        return;
    size_t tlen = strlen(topic);
    int64_t n = 0;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (gr_group_t *g = c->buckets[i]; g; g = g->hnext) {
            gr_gtopic_t *t = topic_find(g, topic, tlen);
            if (!t || !gr_gcoord_owns(c, g->partition))
                continue;
            gr_grecs_t r = {0};
            for (int32_t p = 0; p < t->cap; p++)
                if (t->parts[p].present)
                    add_offset_tombstone(&r, g, topic, p);
            if (gr_gc_append_recs(c, g, &r, NULL, NULL) == 0) {
                n += r.n;
                for (int32_t p = 0, cap = t->cap; p < cap; p++)
                    gr_go_delete(g, gr_str(topic), p); /* frees t with its last offset */
            }
            gr_grecs_free(&r);
        }
    if (n > 0)
        gr_log(GR_LOG_INFO, "group", "deleted %lld committed offset(s) of deleted topic %s", (long long)n, topic);
}

/* ---- offsets retention ---- */

/* ClassicGroup.offsetExpirationCondition: the time an offset's age counts
 * from, or false when the group's offsets do not expire now. */
static bool expiry_base(const gr_group_t *g, const gr_goffset_t *o, int64_t *base)
{
    if (!g->protocol_type) {
        *base = o->commit_ts; /* a simple group */
        return true;
    }
    if (g->state == GR_GSTATE_EMPTY) {
        *base = g->state_ts >= 0 ? g->state_ts : o->commit_ts;
        return true;
    }
    if (g->state == GR_GSTATE_STABLE && g->subscribed_known && strcmp(g->protocol_type, "consumer") == 0) {
        *base = o->commit_ts;
        return true;
    }
    return false;
}

/* Writes tombstones for the expired offsets of g; true when g has no
 * offsets left. */
static bool expire_group_offsets(gr_gcoord_t *c, gr_group_t *g, int64_t now)
{
    if (g->noffsets == 0)
        return true;
    bool all = true;
    gr_grecs_t r = {0};
    for (gr_gtopic_t *t = g->offsets; t; t = t->next) {
        if (gr_gm_is_subscribed(g, t->name)) {
            all = false;
            continue;
        }
        for (int32_t p = 0; p < t->cap; p++) {
            gr_goffset_t *o = &t->parts[p];
            if (!o->present)
                continue;
            int64_t base;
            bool expired = false;
            if (expiry_base(g, o, &base))
                expired = o->expire_ts >= 0 ? now >= o->expire_ts
                                            : now - base >= c->cfg.offsets_retention_ms;
            if (expired)
                add_offset_tombstone(&r, g, t->name, p);
            else
                all = false;
        }
    }
    if (r.n > 0) {
        if (gr_gc_append_recs(c, g, &r, NULL, NULL) != 0) {
            gr_grecs_free(&r);
            return false;
        }
        gr_log(GR_LOG_INFO, "group", "group %s: %d committed offset(s) expired", g->id, r.n);
        for (int i = 0; i < r.n; i++) {
            gr_grec_key_t k;
            if (gr_grec_key_parse(r.keys[i].data, r.keys[i].len, &k) == 0)
                gr_go_delete(g, k.topic, k.partition);
        }
    }
    gr_grecs_free(&r);
    return all;
}

void gr_go_expire_timer(gr_gcoord_t *c, gr_gtimer_t *t)
{
    int64_t now = gr_gc_wall(c);
    for (size_t i = 0; i < c->nbuckets; i++) {
        gr_group_t *g = c->buckets[i];
        while (g) {
            gr_group_t *next = g->hnext;
            if (gr_gcoord_owns(c, g->partition) && expire_group_offsets(c, g, now) &&
                g->state == GR_GSTATE_EMPTY) {
                /* An empty group without offsets is deleted. */
                bool ok = true;
                if (g->persisted) {
                    gr_grecs_t r = {0};
                    add_group_tombstones(&r, g);
                    ok = gr_gc_append_recs(c, g, &r, NULL, NULL) == 0;
                    gr_grecs_free(&r);
                }
                if (ok) {
                    gr_log(GR_LOG_INFO, "group", "removed empty group %s, which has no committed offsets", g->id);
                    gr_gc_group_free(c, g);
                }
            }
            g = next;
        }
    }
    gr_gc_timer_arm(c, t, c->cfg.retention_check_interval_ms);
}

/* ---- ListGroups, DescribeGroups ---- */

static bool filter_has(const gr_str_t *list, int32_t n, const char *value)
{
    size_t vl = strlen(value);
    for (int32_t i = 0; i < n; i++) {
        gr_str_t s = list[i];
        /* Kafka trims and lower-cases the filters. */
        while (s.len > 0 && isspace((unsigned char)s.ptr[0])) {
            s.ptr++;
            s.len--;
        }
        while (s.len > 0 && isspace((unsigned char)s.ptr[s.len - 1]))
            s.len--;
        if (s.len >= 0 && (size_t)s.len == vl && strncasecmp(s.ptr, value, vl) == 0)
            return true;
    }
    return false;
}

void gr_gcoord_list(gr_gcoord_t *c, const gr_ListGroupsRequest *rq, gr_arena_t *a, gr_ListGroupsResponse *out)
{
    out->ErrorCode = 0;
    out->Groups = gr_arena_calloc(a, c->ngroups + 1, sizeof *out->Groups);
    out->Groups_count = 0;
    if (!out->Groups) {
        out->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    if (c->shut) {
        out->ErrorCode = GR_KERR_NOT_COORDINATOR;
        return;
    }
    for (int32_t p = 0; p < c->nparts; p++)
        if (c->pstate[p] == GR_GPART_LOADING)
            out->ErrorCode = GR_KERR_COORDINATOR_LOAD_IN_PROGRESS;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (gr_group_t *g = c->buckets[i]; g; g = g->hnext) {
            if (!g->persisted || !gr_gcoord_owns(c, g->partition))
                continue;
            const char *state = g->cg ? gr_cg_state_name(g) : gr_gc_state_name(g->state);
            const char *type = g->cg ? "consumer" : "classic";
            if (rq->StatesFilter_count > 0 && !filter_has(rq->StatesFilter, rq->StatesFilter_count, state))
                continue;
            if (rq->TypesFilter_count > 0 && !filter_has(rq->TypesFilter, rq->TypesFilter_count, type))
                continue;
            gr_ListGroupsResponse_ListedGroup *lg = &out->Groups[out->Groups_count++];
            lg->GroupId = gr_str(gr_arena_strndup(a, g->id, g->id_len));
            lg->ProtocolType = gr_str(gr_arena_strndup(a, g->protocol_type ? g->protocol_type : "",
                                                       g->protocol_type ? strlen(g->protocol_type) : 0));
            lg->GroupState = gr_str(state);
            lg->GroupType = gr_str(type);
        }
}

static gr_bytes_t arena_bytes(gr_arena_t *a, const uint8_t *p, int32_t len)
{
    gr_bytes_t b = {(const uint8_t *)"", 0};
    if (len > 0) {
        uint8_t *q = gr_arena_alloc(a, (size_t)len);
        if (q) {
            memcpy(q, p, (size_t)len);
            b.ptr = q;
            b.len = len;
        }
    }
    return b;
}

static gr_str_t arena_str(gr_arena_t *a, const char *s)
{
    if (!s)
        return gr_str(NULL);
    char *p = gr_arena_strndup(a, s, strlen(s));
    return p ? gr_str(p) : gr_str("");
}

void gr_gcoord_describe(gr_gcoord_t *c, gr_str_t group_id, gr_arena_t *a, gr_DescribeGroupsResponse_DescribedGroup *out)
{
    memset(out, 0, sizeof *out);
    out->GroupId = group_id;
    out->GroupState = gr_str("");
    out->ProtocolType = gr_str("");
    out->ProtocolData = gr_str("");
    out->AuthorizedOperations = INT32_MIN;
    int16_t err = group_id.len < 0 ? GR_KERR_INVALID_GROUP_ID : gr_gcoord_status(c, group_id);
    if (err) {
        out->ErrorCode = err;
        return;
    }
    gr_group_t *g = gr_gc_group_find(c, group_id);
    if (!g || !g->persisted || g->cg) {
        /* Kafka describes a consumer-protocol group as a dead classic one. */
        out->GroupState = gr_str("Dead");
        return;
    }
    out->GroupState = gr_str(gr_gc_state_name(g->state));
    out->ProtocolType = arena_str(a, g->protocol_type ? g->protocol_type : "");
    bool stable = g->state == GR_GSTATE_STABLE && g->protocol_name;
    if (stable)
        out->ProtocolData = arena_str(a, g->protocol_name);
    out->Members = gr_arena_calloc(a, (size_t)g->nmembers + 1, sizeof *out->Members);
    if (!out->Members)
        return;
    for (gr_gmember_t *m = g->members; m; m = m->next) {
        gr_DescribeGroupsResponse_DescribedGroupMember *dm = &out->Members[out->Members_count++];
        dm->MemberId = arena_str(a, m->id);
        dm->GroupInstanceId = arena_str(a, m->instance_id);
        dm->ClientId = arena_str(a, m->client_id);
        dm->ClientHost = arena_str(a, m->client_host);
        dm->MemberMetadata.ptr = (const uint8_t *)"";
        if (stable) {
            const gr_gproto_t *p = gr_gm_proto(m, g->protocol_name);
            if (p)
                dm->MemberMetadata = arena_bytes(a, p->meta, p->meta_len);
        }
        dm->MemberAssignment = arena_bytes(a, m->assignment, m->assignment_len);
    }
}
