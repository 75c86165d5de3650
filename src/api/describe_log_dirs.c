/* DescribeLogDirs (key 35), versions 1-4 (Kafka 4 dropped v0): the log
 * directory of this broker with, for each partition asked for (null: all
 * of them) that has a log here, its size on disk (the bytes of its
 * segments' .log files) and its offset lag (LEO - high watermark); v4 adds
 * the volume's total and usable bytes. Partitions without a log here are
 * left out, as Kafka does. The metadata log is not listed (Kafka keeps it
 * outside its log manager). Topics and partitions come sorted. */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "log/log_manager.h"
#include "log/partition_log.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

typedef gr_DescribeLogDirsResponse_DescribeLogDirsTopic topic_t;
typedef gr_DescribeLogDirsResponse_DescribeLogDirsPartition part_t;

/* One partition to report. */
typedef struct item_s {
    const char *topic; /* NUL-terminated, in the arena */
    int32_t     partition;
    gr_plog_t  *plog;  /* NULL: asked for but not here */
} item_t;

typedef struct items_s {
    gr_arena_t *arena;
    item_t     *v;
    size_t      n, cap;
} items_t;

static void collect(void *arg, const char *topic, int32_t partition, gr_plog_t *plog)
{
    items_t *it = arg;
    if (strncmp(topic, "__cluster_metadata", 18) == 0 || it->n == it->cap)
        return;
    it->v[it->n++] = (item_t){topic, partition, plog};
}

static int cmp_item(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void gr_api_describe_log_dirs(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_DescribeLogDirsRequest rq;
    if (gr_DescribeLogDirsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DescribeLogDirs body");
        return;
    }
    items_t it = {&req->arena, NULL, 0, 0};
    if (rq.Topics_count < 0) {
        it.cap = gr_logmgr_count(b->logs);
    } else {
        for (int32_t i = 0; i < rq.Topics_count; i++)
            it.cap += rq.Topics[i].Partitions_count > 0 ? (size_t)rq.Topics[i].Partitions_count : 0;
    }
    it.v = gr_arena_calloc(&req->arena, it.cap + 1, sizeof *it.v);
    gr_DescribeLogDirsResponse_DescribeLogDirsResult *res = gr_arena_calloc(&req->arena, 1, sizeof *res);
    topic_t *topics = gr_arena_calloc(&req->arena, it.cap + 1, sizeof *topics);
    part_t *parts = gr_arena_calloc(&req->arena, it.cap + 1, sizeof *parts);
    if (!it.v || !res || !topics || !parts)
        goto oom;
    if (rq.Topics_count < 0) {
        gr_logmgr_foreach(b->logs, collect, &it);
    } else {
        for (int32_t i = 0; i < rq.Topics_count; i++) {
            gr_DescribeLogDirsRequest_DescribableLogDirTopic *qt = &rq.Topics[i];
            if (qt->Topic.len <= 0)
                continue;
            char *name = gr_arena_strndup(&req->arena, qt->Topic.ptr, (size_t)qt->Topic.len);
            if (!name)
                goto oom;
            for (int32_t j = 0; j < qt->Partitions_count; j++)
                it.v[it.n++] = (item_t){name, qt->Partitions[j], NULL};
        }
    }
    /* Sorted, then each distinct partition once (a request may repeat). */
    qsort(it.v, it.n, sizeof *it.v, cmp_item);
    int32_t ntopics = 0, nparts = 0;
    for (size_t i = 0; i < it.n; i++) {
        item_t *x = &it.v[i];
        if (i > 0 && cmp_item(&it.v[i - 1], x) == 0)
            continue;
        gr_plog_t *pl = x->plog;
        if (!pl && strncmp(x->topic, "__cluster_metadata", 18) != 0)
            pl = gr_logmgr_get(b->logs, x->topic, x->partition);
        if (!pl)
            continue;
        topic_t *t = ntopics ? &topics[ntopics - 1] : NULL;
        if (!t || !gr_str_eq(t->Name, x->topic)) {
            t = &topics[ntopics++];
            t->Name = gr_str(x->topic);
            t->Partitions = &parts[nparts];
        }
        part_t *p = &t->Partitions[t->Partitions_count++];
        nparts++;
        p->PartitionIndex = x->partition;
        p->PartitionSize = gr_plog_size(pl);
        p->OffsetLag = gr_plog_leo(pl) - gr_plog_hw(pl);
        p->IsFutureKey = false;
    }

    char abs[PATH_MAX];
    const char *dir = gr_logmgr_dir(b->logs);
    if (realpath(dir, abs))
        dir = abs;
    res->LogDir = gr_str(gr_arena_strndup(&req->arena, dir, strlen(dir)));
    res->Topics = topics;
    res->Topics_count = ntopics;
    res->TotalBytes = res->UsableBytes = -1;
    struct statvfs sv;
    if (statvfs(dir, &sv) == 0) {
        res->TotalBytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        res->UsableBytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    gr_DescribeLogDirsResponse rs;
    gr_DescribeLogDirsResponse_init(&rs);
    rs.Results = res;
    rs.Results_count = 1;
    GR_REQ_REPLY(req, DescribeLogDirsResponse, &rs);
    return;
oom:
    gr_req_malformed(req, "out of memory");
}
