/* DescribeLogDirs (key 35), versions 1-4 (Kafka 4 dropped v0): the log
 * directory of this broker with, for each partition asked for (null: all
 * of them) that has a log here, its size on disk (the bytes of its
 * segments' .log files) and its offset lag (LEO - high watermark); v4 adds
 * the volume's total and usable bytes. Partitions without a log here are
 * left out, as Kafka does. The metadata log is not listed (Kafka keeps it
 * outside its log manager). */
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

typedef struct walk_s {
    gr_req_t *req;
    topic_t  *topics;
    int32_t   ntopics, cap;
    size_t    nparts_max;
    bool      oom;
} walk_t;

static void add(walk_t *w, const char *topic, int32_t partition, gr_plog_t *plog)
{
    if (strncmp(topic, "__cluster_metadata", 18) == 0 || w->oom)
        return;
    topic_t *t = NULL;
    for (int32_t i = 0; i < w->ntopics && !t; i++)
        if (gr_str_eq(w->topics[i].Name, topic))
            t = &w->topics[i];
    if (!t) {
        if (w->ntopics == w->cap) {
            w->oom = true;
            return;
        }
        t = &w->topics[w->ntopics++];
        t->Name = gr_str(gr_arena_strndup(&w->req->arena, topic, strlen(topic)));
        t->Partitions = gr_arena_calloc(&w->req->arena, w->nparts_max + 1, sizeof *t->Partitions);
        if (!t->Name.ptr || !t->Partitions) {
            w->oom = true;
            return;
        }
    }
    for (int32_t i = 0; i < t->Partitions_count; i++)
        if (t->Partitions[i].PartitionIndex == partition)
            return;
    if ((size_t)t->Partitions_count >= w->nparts_max) {
        w->oom = true;
        return;
    }
    part_t *p = &t->Partitions[t->Partitions_count++];
    p->PartitionIndex = partition;
    p->PartitionSize = gr_plog_size(plog);
    p->OffsetLag = gr_plog_leo(plog) - gr_plog_hw(plog);
    p->IsFutureKey = false;
}

static void add_cb(void *arg, const char *topic, int32_t partition, gr_plog_t *plog)
{
    add(arg, topic, partition, plog);
}

void gr_api_describe_log_dirs(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_DescribeLogDirsRequest rq;
    if (gr_DescribeLogDirsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DescribeLogDirs body");
        return;
    }
    gr_DescribeLogDirsResponse rs;
    gr_DescribeLogDirsResponse_init(&rs);
    gr_DescribeLogDirsResponse_DescribeLogDirsResult *res = gr_arena_calloc(&req->arena, 1, sizeof *res);
    size_t nlogs = gr_logmgr_count(b->logs);
    walk_t w = {req, NULL, 0, 0, 0, false};
    if (rq.Topics_count < 0) {
        w.cap = (int32_t)nlogs;
        w.nparts_max = nlogs;
    } else {
        w.cap = rq.Topics_count;
        for (int32_t i = 0; i < rq.Topics_count; i++)
            w.nparts_max += rq.Topics[i].Partitions_count > 0 ? (size_t)rq.Topics[i].Partitions_count : 0;
    }
    w.topics = gr_arena_calloc(&req->arena, (size_t)w.cap + 1, sizeof *w.topics);
    if (!res || !w.topics) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    if (rq.Topics_count < 0) {
        gr_logmgr_foreach(b->logs, add_cb, &w);
    } else {
        for (int32_t i = 0; i < rq.Topics_count; i++) {
            gr_DescribeLogDirsRequest_DescribableLogDirTopic *qt = &rq.Topics[i];
            if (qt->Topic.len <= 0 || qt->Topic.len > 255)
                continue;
            char name[256];
            memcpy(name, qt->Topic.ptr, (size_t)qt->Topic.len);
            name[qt->Topic.len] = '\0';
            for (int32_t j = 0; j < qt->Partitions_count; j++) {
                gr_plog_t *pl = gr_logmgr_get(b->logs, name, qt->Partitions[j]);
                if (pl)
                    add(&w, name, qt->Partitions[j], pl);
            }
        }
    }
    if (w.oom) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    char abs[PATH_MAX];
    const char *dir = gr_logmgr_dir(b->logs);
    if (realpath(dir, abs))
        dir = abs;
    res->LogDir = gr_str(gr_arena_strndup(&req->arena, dir, strlen(dir)));
    res->Topics = w.topics;
    res->Topics_count = w.ntopics;
    res->TotalBytes = res->UsableBytes = -1;
    struct statvfs sv;
    if (statvfs(dir, &sv) == 0) {
        res->TotalBytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        res->UsableBytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    rs.Results = res;
    rs.Results_count = 1;
    GR_REQ_REPLY(req, DescribeLogDirsResponse, &rs);
}
