/* DeleteTopics (key 20), versions 0-6: by name (v0-5 TopicNames, v6
 * Topics[].Name) or by topic id (v6). Deletion is a RemoveTopicRecord; the
 * broker drops the partition logs when it applies it. */
#include "api/dispatch.h"
#include "cluster/controller.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <string.h>

typedef gr_DeleteTopicsResponse_DeletableTopicResult result_t;

static void delete_one(gr_req_t *req, gr_str_t name, const gr_uuid_t *id, result_t *res)
{
    gr_broker_t *b = req->broker;
    res->Name = name;
    res->ErrorMessage = gr_str(NULL);
    gr_meta_topic_t *t = NULL;
    if (name.len >= 0) {
        t = gr_meta_topic_by_name(&b->meta, name.ptr, (size_t)name.len);
        if (!t) {
            res->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            res->ErrorMessage = gr_str("This server does not host this topic-partition.");
            return;
        }
    } else if (id && !gr_uuid_is_zero(id)) {
        res->TopicId = *id;
        t = gr_meta_topic_by_id(&b->meta, id);
        if (!t) {
            res->ErrorCode = GR_KERR_UNKNOWN_TOPIC_ID;
            res->ErrorMessage = gr_str("This server does not host this topic ID.");
            return;
        }
        /* The answer names the topic it deleted; copy, the image entry goes. */
        res->Name = gr_str(gr_arena_strndup(&req->arena, t->name, strlen(t->name)));
    } else {
        res->ErrorCode = GR_KERR_INVALID_REQUEST;
        return;
    }
    res->TopicId = t->id;
    if (t->internal) {
        res->ErrorCode = GR_KERR_TOPIC_AUTHORIZATION_FAILED;
        res->ErrorMessage = gr_str("Internal topics cannot be deleted.");
        return;
    }
    if (!b->cfg->delete_topic_enable) {
        res->ErrorCode = GR_KERR_TOPIC_DELETION_DISABLED;
        return;
    }
    gr_uuid_t tid = t->id;
    res->ErrorCode = gr_ctrl_delete_topic(b, &tid);
}

void gr_api_delete_topics(gr_req_t *req)
{
    gr_DeleteTopicsRequest rq;
    if (gr_DeleteTopicsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DeleteTopics body");
        return;
    }
    gr_DeleteTopicsResponse rs;
    gr_DeleteTopicsResponse_init(&rs);
    int32_t n = req->api_version >= 6 ? rq.Topics_count : rq.TopicNames_count;
    if (n < 0)
        n = 0;
    rs.Responses = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Responses);
    if (!rs.Responses) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Responses_count = n;
    for (int32_t i = 0; i < n; i++) {
        if (req->api_version >= 6)
            delete_one(req, rq.Topics[i].Name, &rq.Topics[i].TopicId, &rs.Responses[i]);
        else
            delete_one(req, rq.TopicNames[i], NULL, &rs.Responses[i]);
    }
    GR_REQ_REPLY(req, DeleteTopicsResponse, &rs);
}
