/* Fetch (key 1), versions 0-17: reads whole batches from each requested
 * partition up to its high watermark, within the partition and response
 * byte limits (from v3 the first batch is returned even when larger, as
 * KIP-74 requires; v0-2 keep the limit hard). When fewer than MinBytes are
 * ready the request waits (long poll) until an append wakes it or
 * MaxWaitMs passes. Incremental fetch sessions (KIP-227) are kept in
 * fetch_session.c. v13+ names topics by id. v0-3 read message format v0/v1:
 * the batches read are down-converted (protocol/downconvert.c), with the
 * byte limits applied to the stored sizes, as Kafka 3.9 does. */
#include "api/dispatch.h"
#include "api/fetch_session.h"
#include "base/log.h"
#include "base/splice.h"
#include "kafka_msgs.h"
#include "base/err.h"
#include "protocol/downconvert.h"
#include "protocol/errors.h"
#include "server/partition.h"

#include <stdlib.h>
#include <string.h>

typedef gr_FetchResponse_PartitionData pdata_t;

/* One partition this fetch reads, whether named in the request or carried
 * by its session. */
typedef struct fetch_item_s {
    gr_meta_topic_t   *topic;      /* NULL when unknown */
    gr_str_t           name;
    gr_uuid_t          id;
    int32_t            partition;
    int64_t            offset;
    int32_t            max_bytes;
    int32_t            leader_epoch; /* CurrentLeaderEpoch (v9+), -1: no check */
    gr_fetch_sess_part_t *sp;      /* session entry, NULL when sessionless */
    int32_t            read_limit; /* the last read's byte limit and min_one, */
    bool               read_min_one; /* for v0-3 to read the same range again */
    gr_fetch_waiter_t  waiter;
    bool               waiting;
} fetch_item_t;

typedef struct fetch_op_s {
    gr_req_t       *req;
    gr_FetchRequest rq;
    fetch_item_t   *items;
    int32_t         nitems;
    gr_fetch_sess_t *sess;
    bool            incremental;
    int32_t         session_id;
    uv_timer_t      timer;
    bool            timer_on;
    bool            replied;
} fetch_op_t;

static void op_free_cb(uv_handle_t *h) { free(h->data); }

static void op_unwait(fetch_op_t *op)
{
    for (int32_t i = 0; i < op->nitems; i++) {
        if (op->items[i].waiting) {
            gr_part_remove_waiter(&op->items[i].waiter);
            op->items[i].waiting = false;
        }
    }
}

/* Out of memory while building the answer: when it must be given now, the
 * connection is closed (with one log line) rather than left waiting. */
static bool fetch_oom(fetch_op_t *op, bool final)
{
    if (!final)
        return false;
    op->replied = true;
    op_unwait(op);
    op->nitems = 0;
    gr_req_malformed(op->req, "out of memory building the Fetch answer");
    return true;
}

/* Fetch v0-3, once the answer is decided: the range the limits allowed,
 * read again as a copy and down-converted to message format v0/v1 (Kafka
 * 3.9's KafkaApis.maybeConvertFetchedData, which also runs only when the
 * response is made). A topic whose compression.type is zstd answers
 * UNSUPPORTED_COMPRESSION_TYPE whatever was read (Kafka 3.9 applies that
 * rule below Fetch v10; Kafka 4 dropped it with v0-3, so v4-9 are served
 * as Kafka 4 serves them). */
static void fetch_downconvert(gr_req_t *req, gr_part_t *part, const fetch_item_t *it, pdata_t *p)
{
    int16_t v = req->api_version, err = p->ErrorCode;
    gr_bytes_t data = {(const uint8_t *)"", 0};
    const gr_topic_config_t *tc = gr_part_config(part);
    if (tc && tc->compression_type && strcmp(tc->compression_type, "zstd") == 0)
        err = GR_KERR_UNSUPPORTED_COMPRESSION_TYPE;
    else if (!err && p->Records.len > 0)
        err = gr_part_read_fetch_copy(part, it->offset, it->read_limit, it->read_min_one, &req->arena,
                                      &data);
    if (!err && data.len > 0) {
        int rc = gr_downconvert(data.ptr, (size_t)data.len, gr_downconvert_magic(v), it->offset,
                                &req->arena, &data);
        if (rc == GR_EUNSUPPORTED) {
            err = GR_KERR_UNSUPPORTED_COMPRESSION_TYPE;
        } else if (rc == GR_ECORRUPT) {
            GR_LOG_RL(GR_LOG_ERROR, "fetch", "%s-%d: batch at offset %lld cannot be down-converted: %s",
                      part->topic->name, part->id, (long long)it->offset, gr_strerror(rc));
            err = GR_KERR_CORRUPT_MESSAGE;
        } else if (rc) {
            err = GR_KERR_UNKNOWN_SERVER_ERROR;
        }
    }
    if (err == GR_KERR_KAFKA_STORAGE_ERROR)
        err = GR_KERR_NOT_LEADER_OR_FOLLOWER; /* see fetch_build */
    p->ErrorCode = err;
    if (err) {
        p->HighWatermark = p->LastStableOffset = p->LogStartOffset = -1;
        data.ptr = (const uint8_t *)"";
        data.len = 0;
    }
    p->Records = data;
}

/* Build the response; returns false (and builds nothing durable) when not
 * final and fewer than MinBytes are available. */
static bool fetch_build(fetch_op_t *op, bool final)
{
    gr_req_t *req = op->req;
    gr_broker_t *b = req->broker;
    int16_t v = req->api_version;
    int64_t budget = op->rq.MaxBytes > 0 ? op->rq.MaxBytes : INT32_MAX;
    int64_t total = 0;
    bool any_error = false;

    pdata_t *pd = gr_arena_calloc(&req->arena, (size_t)op->nitems + 1, sizeof *pd);
    bool *include = gr_arena_calloc(&req->arena, (size_t)op->nitems + 1, sizeof *include);
    if (!pd || !include)
        return fetch_oom(op, final);
    /* Records go out by sendfile from their segments; an attempt that does
     * not answer yet lets go of the ranges it took. */
    size_t mark = gr_splices_count(&req->out);
    for (int32_t i = 0; i < op->nitems; i++) {
        fetch_item_t *it = &op->items[i];
        pdata_t *p = &pd[i];
        p->PartitionIndex = it->partition;
        p->HighWatermark = -1;
        p->LastStableOffset = -1;
        p->LogStartOffset = -1;
        p->PreferredReadReplica = -1;
        p->AbortedTransactions_count = -1;
        p->Records.len = 0;
        p->Records.ptr = (const uint8_t *)"";
        p->DivergingEpoch.Epoch = -1;
        p->DivergingEpoch.EndOffset = -1;
        p->CurrentLeader.LeaderId = -1;
        p->CurrentLeader.LeaderEpoch = -1;
        p->SnapshotId.EndOffset = -1;
        p->SnapshotId.Epoch = -1;
        gr_part_t *part = it->topic ? gr_broker_part(b, it->topic, it->partition) : NULL;
        if (!part) {
            p->ErrorCode = (v >= 13 && !it->topic) ? GR_KERR_UNKNOWN_TOPIC_ID
                                                   : GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            p->AbortedTransactions_count = 0;
            include[i] = true;
            any_error = true;
            continue;
        }
        int16_t eerr = gr_part_check_epoch(part, it->leader_epoch);
        if (eerr) {
            p->ErrorCode = eerr;
            include[i] = true;
            any_error = true;
            continue;
        }
        int64_t hw = gr_part_hw(part), ls = gr_part_log_start(part);
        p->HighWatermark = hw;
        p->LastStableOffset = hw;
        p->LogStartOffset = ls;
        int32_t limit = it->max_bytes;
        if (limit > budget)
            limit = (int32_t)budget;
        /* v0-2 keep the byte limits hard (Kafka's hardMaxBytesLimit). */
        bool min_one = total == 0 && v >= 3;
        gr_bytes_t data = {(const uint8_t *)"", 0};
        int16_t err = GR_KERR_NONE;
        it->read_limit = limit;
        it->read_min_one = min_one;
        if (limit > 0 || min_one)
            err = gr_part_read_splice(part, it->offset, limit, min_one, &req->out, &data);
        /* Clients before v6 may not know KAFKA_STORAGE_ERROR; Kafka sends
         * them a retriable error instead. */
        if (err == GR_KERR_KAFKA_STORAGE_ERROR && v <= 5)
            err = GR_KERR_NOT_LEADER_OR_FOLLOWER;
        p->ErrorCode = err;
        if (err) {
            /* Kafka reports no offsets with an error. */
            p->HighWatermark = p->LastStableOffset = p->LogStartOffset = -1;
            any_error = true;
            include[i] = true;
            continue;
        }
        p->Records = data;
        total += data.len;
        budget -= data.len;
        if (budget < 0)
            budget = 0;
        include[i] = !op->incremental || data.len > 0 || !it->sp ||
                     gr_fetch_sess_part_changed(it->sp, hw, hw, ls);
    }
    if (!final && !any_error && total < op->rq.MinBytes) {
        gr_splices_truncate(&req->out, mark);
        return false;
    }
    /* v0-3: the limits and MinBytes counted stored bytes, as in Kafka; the
     * answer carries them converted instead of the file ranges. */
    if (v <= 3) {
        gr_splices_truncate(&req->out, mark);
        for (int32_t i = 0; i < op->nitems; i++) {
            fetch_item_t *it = &op->items[i];
            gr_part_t *part = it->topic ? gr_broker_part(b, it->topic, it->partition) : NULL;
            if (part)
                fetch_downconvert(req, part, it, &pd[i]);
        }
    }

    /* Commit what this answer tells the client to the session. */
    for (int32_t i = 0; i < op->nitems; i++)
        if (op->items[i].sp && include[i])
            gr_fetch_sess_part_sent(op->items[i].sp, pd[i].HighWatermark, pd[i].LastStableOffset,
                                    pd[i].LogStartOffset);

    gr_FetchResponse rs;
    gr_FetchResponse_init(&rs);
    rs.SessionId = op->session_id;
    rs.Responses = gr_arena_calloc(&req->arena, (size_t)op->nitems + 1, sizeof *rs.Responses);
    if (!rs.Responses)
        return fetch_oom(op, final);
    /* Group partitions by topic, keeping first-seen topic order. */
    int32_t nt = 0;
    for (int32_t i = 0; i < op->nitems; i++) {
        if (!include[i])
            continue;
        fetch_item_t *it = &op->items[i];
        gr_FetchResponse_FetchableTopicResponse *rt = NULL;
        for (int32_t k = 0; k < nt; k++) {
            gr_FetchResponse_FetchableTopicResponse *c = &rs.Responses[k];
            bool same = v >= 13 ? gr_uuid_eq(&c->TopicId, &it->id)
                                : (c->Topic.len == it->name.len &&
                                   memcmp(c->Topic.ptr, it->name.ptr, (size_t)it->name.len) == 0);
            if (same) {
                rt = c;
                break;
            }
        }
        if (!rt) {
            rt = &rs.Responses[nt++];
            rt->Topic = it->name;
            rt->TopicId = it->id;
            rt->Partitions = gr_arena_calloc(&req->arena, (size_t)op->nitems, sizeof *rt->Partitions);
            if (!rt->Partitions)
                return fetch_oom(op, final);
        }
        rt->Partitions[rt->Partitions_count++] = pd[i];
    }
    rs.Responses_count = nt;
    op->replied = true;
    /* The items live in the request's arena, which the reply may free at
     * once (the response is written and the request completed): let go of
     * the partitions' wake-ups now and touch no item afterwards. */
    op_unwait(op);
    op->nitems = 0;
    GR_REQ_REPLY(req, FetchResponse, &rs);
    return true;
}

static void op_finish(fetch_op_t *op)
{
    op_unwait(op);
    if (op->sess)
        gr_fetch_sess_end(op->sess);
    if (op->timer_on) {
        uv_timer_stop(&op->timer);
        uv_close((uv_handle_t *)&op->timer, op_free_cb);
    } else {
        free(op);
    }
}

static void on_timeout(uv_timer_t *t)
{
    fetch_op_t *op = t->data;
    fetch_build(op, true);
    op_finish(op);
}

static void on_wake(gr_fetch_waiter_t *w)
{
    fetch_op_t *op = w->arg;
    if (op->replied)
        return;
    if (fetch_build(op, w->final))
        op_finish(op);
}

static void fetch_error(gr_req_t *req, int16_t err, int32_t session_id)
{
    gr_FetchResponse rs;
    gr_FetchResponse_init(&rs);
    rs.ErrorCode = err;
    rs.SessionId = session_id;
    GR_REQ_REPLY(req, FetchResponse, &rs);
}

void gr_api_fetch(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    int16_t v = req->api_version;
    fetch_op_t *op = calloc(1, sizeof *op);
    if (!op) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    op->req = req;
    if (gr_FetchRequest_decode(&req->body, &req->arena, v, &op->rq) != 0) {
        free(op);
        gr_req_malformed(req, "bad Fetch body");
        return;
    }
    gr_FetchRequest *rq = &op->rq;

    /* Resolve the session (v7+). */
    int32_t nreq = 0;
    for (int32_t i = 0; i < rq->Topics_count; i++)
        nreq += rq->Topics[i].Partitions_count > 0 ? rq->Topics[i].Partitions_count : 0;
    int16_t serr = 0;
    if (v >= 7) {
        serr = gr_fetch_sess_begin(b, rq->SessionId, rq->SessionEpoch, &op->sess, &op->incremental);
        if (serr) {
            free(op);
            fetch_error(req, serr, 0);
            return;
        }
    }
    op->session_id = op->sess ? gr_fetch_sess_id(op->sess) : 0;

    /* Apply the request's partitions to the session, or list them. */
    int32_t cap = nreq + (op->sess ? gr_fetch_sess_count(op->sess) : 0) + 1;
    op->items = gr_arena_calloc(&req->arena, (size_t)cap, sizeof *op->items);
    if (!op->items) {
        free(op);
        gr_req_malformed(req, "out of memory");
        return;
    }
    for (int32_t i = 0; i < rq->Topics_count; i++) {
        gr_FetchRequest_FetchTopic *qt = &rq->Topics[i];
        gr_meta_topic_t *t = v >= 13 ? gr_meta_topic_by_id(&b->meta, &qt->TopicId)
                             : qt->Topic.len >= 0
                                 ? gr_meta_topic_by_name(&b->meta, qt->Topic.ptr, (size_t)qt->Topic.len)
                                 : NULL;
        for (int32_t j = 0; j < qt->Partitions_count; j++) {
            gr_FetchRequest_FetchPartition *qp = &qt->Partitions[j];
            if (op->sess) {
                gr_fetch_sess_upsert(op->sess, t, qt->Topic, &qt->TopicId, qp->Partition,
                                     qp->FetchOffset, qp->PartitionMaxBytes, qp->CurrentLeaderEpoch);
            } else {
                fetch_item_t *it = &op->items[op->nitems++];
                it->topic = t;
                it->name = v >= 13 ? (t ? gr_str(t->name) : gr_str("")) : qt->Topic;
                it->id = v >= 13 ? qt->TopicId : (t ? t->id : qt->TopicId);
                it->partition = qp->Partition;
                it->offset = qp->FetchOffset;
                it->max_bytes = qp->PartitionMaxBytes;
                it->leader_epoch = qp->CurrentLeaderEpoch;
            }
        }
    }
    if (op->sess) {
        for (int32_t i = 0; i < rq->ForgottenTopicsData_count; i++) {
            gr_FetchRequest_ForgottenTopic *ft = &rq->ForgottenTopicsData[i];
            for (int32_t j = 0; j < ft->Partitions_count; j++)
                gr_fetch_sess_forget(op->sess, ft->Topic, &ft->TopicId, ft->Partitions[j], v >= 13);
        }
        /* The session's partitions, in its order, are what this fetch reads. */
        gr_fetch_sess_part_t *sp = NULL;
        while ((sp = gr_fetch_sess_next(op->sess, sp)) != NULL && op->nitems < cap) {
            fetch_item_t *it = &op->items[op->nitems++];
            it->sp = sp;
            it->topic = gr_fetch_sess_part_topic(b, sp);
            it->name = it->topic ? gr_str(it->topic->name) : sp->name;
            it->id = it->topic ? it->topic->id : sp->id;
            it->partition = sp->partition;
            it->offset = sp->fetch_offset;
            it->max_bytes = sp->max_bytes;
            it->leader_epoch = sp->leader_epoch;
        }
    }

    if (fetch_build(op, rq->MaxWaitMs <= 0 || b->stopping)) {
        if (op->sess)
            gr_fetch_sess_end(op->sess);
        free(op);
        return;
    }
    /* Long poll: wake on any append to the partitions read, or time out. */
    for (int32_t i = 0; i < op->nitems; i++) {
        fetch_item_t *it = &op->items[i];
        gr_part_t *part = it->topic ? gr_broker_part(b, it->topic, it->partition) : NULL;
        if (!part)
            continue;
        it->waiter.cb = on_wake;
        it->waiter.arg = op;
        gr_part_add_waiter(part, &it->waiter);
        it->waiting = true;
    }
    uv_timer_init(b->loop, &op->timer);
    op->timer.data = op;
    op->timer_on = true;
    uv_timer_start(&op->timer, on_timeout, (uint64_t)rq->MaxWaitMs, 0);
}
