/* ConsumerGroupHeartbeat (key 68), version 0: a member of a KIP-848
 * consumer group joins (epoch 0), heartbeats, reconciles its server-side
 * assignment and leaves (epoch -1, static members -2); see
 * group/consumer_group.c. Version 1 (client-made member ids, topic regex)
 * is not yet stable in the vendored schema and is not served; v0 takes a
 * client-made member id too and makes one when it is empty. */
#include "api/dispatch.h"
#include "group/consumer_group.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <string.h>

static bool lookup_topic(void *arg, gr_str_t name, gr_uuid_t *id, int32_t *nparts)
{
    gr_broker_t *b = arg;
    if (name.len <= 0)
        return false;
    gr_meta_topic_t *t = gr_meta_topic_by_name(&b->meta, name.ptr, (size_t)name.len);
    if (!t)
        return false;
    *id = t->id;
    *nparts = t->nparts;
    return true;
}

void gr_api_consumer_group_heartbeat(gr_req_t *req)
{
    gr_ConsumerGroupHeartbeatRequest rq;
    if (gr_ConsumerGroupHeartbeatRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad ConsumerGroupHeartbeat body");
        return;
    }
    gr_ConsumerGroupHeartbeatResponse rs;
    gr_ConsumerGroupHeartbeatResponse_init(&rs);
    gr_gcoord_t *c = gr_group_coord(req->broker);
    if (!c) {
        rs.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        gr_gclient_t cl;
        char host[80];
        gr_group_client(req, &cl, host, sizeof host);
        gr_gcoord_cg_heartbeat(c, &cl, &rq, lookup_topic, req->broker, &req->arena, &rs);
    }
    GR_REQ_REPLY(req, ConsumerGroupHeartbeatResponse, &rs);
}
