/* SyncGroup (key 14), versions 0-5: members fetch their assignment; the
 * leader's request carries everyone's. Followers that sync before the
 * leader wait for it (see group/membership.c). v5 adds protocol type and
 * name, checked against the group's. Classic members of a KIP-848 consumer
 * group get the broker's assignment (group/cg_classic.c). */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

static void on_sync(void *arg, const gr_SyncGroupResponse *resp)
{
    gr_req_t *req = arg;
    GR_REQ_REPLY(req, SyncGroupResponse, resp);
}

void gr_api_sync_group(gr_req_t *req)
{
    gr_SyncGroupRequest rq;
    if (gr_SyncGroupRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad SyncGroup body");
        return;
    }
    gr_gcoord_t *c = gr_group_coord(req->broker);
    if (!c) {
        gr_SyncGroupResponse r;
        gr_SyncGroupResponse_init(&r);
        r.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
        r.Assignment.ptr = (const uint8_t *)"";
        on_sync(req, &r);
        return;
    }
    gr_gclient_t cl;
    char host[80];
    gr_group_client(req, &cl, host, sizeof host);
    gr_gcoord_sync(c, &cl, &rq, on_sync, req);
}
