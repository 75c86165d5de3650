/* Produce (key 0), versions 0-11: validates and appends each partition's
 * records, then answers according to acks: 0 sends nothing (and closes the
 * connection if anything failed, so the client notices), 1 answers once the
 * records are in the log, -1 (all) once they are also on disk. Transactions
 * are not served yet, so a transactional produce is refused. */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/partition.h"

#include <string.h>

typedef gr_ProduceResponse_PartitionProduceResponse presp_t;

typedef struct produce_op_s {
    gr_req_t          *req;
    gr_ProduceResponse rs;
    int                pending; /* flushes still outstanding */
} produce_op_t;

typedef struct flush_wait_s {
    produce_op_t *op;
    presp_t      *pr;
} flush_wait_t;

static void produce_reply(produce_op_t *op)
{
    GR_REQ_REPLY(op->req, ProduceResponse, &op->rs);
}

static void on_flushed(void *arg, int err)
{
    flush_wait_t *fw = arg;
    if (err) {
        fw->pr->ErrorCode = GR_KERR_KAFKA_STORAGE_ERROR;
        fw->pr->BaseOffset = -1;
    }
    if (--fw->op->pending == 0)
        produce_reply(fw->op);
}

void gr_api_produce(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    produce_op_t *op = gr_arena_alloc(&req->arena, sizeof *op);
    gr_ProduceRequest rq;
    if (!op || gr_ProduceRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad Produce body");
        return;
    }
    op->req = req;
    gr_ProduceResponse_init(&op->rs);
    gr_ProduceResponse *rs = &op->rs;
    int32_t nt = rq.TopicData_count > 0 ? rq.TopicData_count : 0;
    rs->Responses = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *rs->Responses);
    if (!rs->Responses) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs->Responses_count = nt;
    bool any_error = false;
    bool acks_ok = rq.Acks == 0 || rq.Acks == 1 || rq.Acks == -1;
    /* Kafka answers every partition with the same error for these. */
    int16_t global_err = 0;
    if (!acks_ok)
        global_err = GR_KERR_INVALID_REQUIRED_ACKS;
    else if (rq.TransactionalId.len >= 0)
        global_err = GR_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

    /* Flush waits are collected first and started after every partition is
     * appended, so one fsync covers all of them. */
    flush_wait_t *waits = NULL;
    gr_part_t **wait_parts = NULL;
    int nwaits = 0, maxwaits = 0;
    for (int32_t i = 0; i < nt; i++)
        maxwaits += rq.TopicData[i].PartitionData_count > 0 ? rq.TopicData[i].PartitionData_count : 0;
    if (rq.Acks == -1 && maxwaits > 0) {
        waits = gr_arena_calloc(&req->arena, (size_t)maxwaits, sizeof *waits);
        wait_parts = gr_arena_calloc(&req->arena, (size_t)maxwaits, sizeof *wait_parts);
        if (!waits || !wait_parts) {
            gr_req_malformed(req, "out of memory");
            return;
        }
    }

    for (int32_t i = 0; i < nt; i++) {
        gr_ProduceRequest_TopicProduceData *qt = &rq.TopicData[i];
        gr_ProduceResponse_TopicProduceResponse *rt = &rs->Responses[i];
        rt->Name = qt->Name;
        int32_t np = qt->PartitionData_count > 0 ? qt->PartitionData_count : 0;
        rt->PartitionResponses = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *rt->PartitionResponses);
        if (!rt->PartitionResponses) {
            gr_req_malformed(req, "out of memory");
            return;
        }
        rt->PartitionResponses_count = np;
        gr_meta_topic_t *t = qt->Name.len >= 0
                                 ? gr_meta_topic_by_name(&b->meta, qt->Name.ptr, (size_t)qt->Name.len)
                                 : NULL;
        for (int32_t j = 0; j < np; j++) {
            gr_ProduceRequest_PartitionProduceData *qp = &qt->PartitionData[j];
            presp_t *pr = &rt->PartitionResponses[j];
            pr->Index = qp->Index;
            pr->BaseOffset = -1;
            pr->LogAppendTimeMs = -1;
            pr->LogStartOffset = -1;
            pr->ErrorMessage = gr_str(NULL);
            pr->CurrentLeader.LeaderId = -1;
            pr->CurrentLeader.LeaderEpoch = -1;
            if (global_err) {
                pr->ErrorCode = global_err;
                any_error = true;
                continue;
            }
            gr_part_t *part = t ? gr_broker_part(b, t, qp->Index) : NULL;
            if (!part) {
                pr->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                any_error = true;
                continue;
            }
            if (t->internal) {
                pr->ErrorCode = GR_KERR_INVALID_TOPIC_EXCEPTION;
                pr->ErrorMessage = gr_str("Cannot append to an internal topic.");
                any_error = true;
                continue;
            }
            if (qp->Records.len <= 0) {
                pr->ErrorCode = GR_KERR_CORRUPT_MESSAGE;
                any_error = true;
                continue;
            }
            gr_part_append_result_t ar;
            gr_part_append(part, req->api_version, (uint8_t *)qp->Records.ptr, (size_t)qp->Records.len, &req->arena, &ar);
            pr->ErrorCode = ar.error;
            if (ar.error) {
                /* Kafka reports the log start only with record-level errors. */
                if (ar.bad_batch_index >= 0)
                    pr->LogStartOffset = gr_part_log_start(part);
                any_error = true;
                pr->ErrorMessage = gr_str(ar.error_message);
                if (ar.bad_batch_index >= 0 && req->api_version >= 8) {
                    pr->RecordErrors = gr_arena_calloc(&req->arena, 1, sizeof *pr->RecordErrors);
                    if (pr->RecordErrors) {
                        pr->RecordErrors[0].BatchIndex = ar.bad_record_index >= 0 ? ar.bad_record_index : 0;
                        pr->RecordErrors[0].BatchIndexErrorMessage = gr_str(ar.error_message);
                        pr->RecordErrors_count = 1;
                    }
                }
                continue;
            }
            pr->BaseOffset = ar.base_offset;
            pr->LogAppendTimeMs = ar.log_append_time;
            pr->LogStartOffset = gr_part_log_start(part);
            if (rq.Acks == -1) {
                waits[nwaits].op = op;
                waits[nwaits].pr = pr;
                wait_parts[nwaits] = part;
                /* Stash the offset to wait for in the response slot. */
                waits[nwaits].pr->LogStartOffset = gr_part_log_start(part);
                nwaits++;
                (void)ar.last_offset;
            }
        }
    }

    if (rq.Acks == 0) {
        if (any_error)
            req->close_conn = true;
        gr_req_finish_noreply(req);
        return;
    }
    if (nwaits == 0) {
        produce_reply(op);
        return;
    }
    op->pending = nwaits + 1;
    for (int i = 0; i < nwaits; i++)
        gr_part_flush_async(wait_parts[i], gr_part_leo(wait_parts[i]) - 1, on_flushed, &waits[i]);
    /* The extra count keeps a synchronous callback from replying early. */
    if (--op->pending == 0)
        produce_reply(op);
}
