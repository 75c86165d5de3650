/* DescribeCluster (key 60), versions 0-1: cluster id, controller and the
 * brokers, from the metadata image. */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_describe_cluster(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_DescribeClusterRequest rq;
    if (gr_DescribeClusterRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DescribeCluster body");
        return;
    }
    gr_DescribeClusterResponse rs;
    gr_DescribeClusterResponse_init(&rs);
    rs.ClusterId = gr_str(b->cluster_id);
    rs.ControllerId = b->node_id;
    rs.EndpointType = 1;
    if (rq.EndpointType != 1) {
        /* Brokers answer for brokers; a controller request is mismatched. */
        rs.ErrorCode = rq.EndpointType == 2 ? GR_KERR_MISMATCHED_ENDPOINT_TYPE
                                            : GR_KERR_UNSUPPORTED_ENDPOINT_TYPE;
        rs.ErrorMessage = gr_str("The target broker only supports broker endpoints.");
        rs.Brokers_count = 0;
    } else {
        rs.Brokers = gr_arena_calloc(&req->arena, (size_t)b->meta.nbrokers + 1, sizeof *rs.Brokers);
        for (int i = 0; rs.Brokers && i < b->meta.nbrokers; i++) {
            gr_meta_broker_t *mb = &b->meta.brokers[i];
            rs.Brokers[i].BrokerId = mb->id;
            rs.Brokers[i].Host = gr_str(mb->host);
            rs.Brokers[i].Port = mb->port;
            rs.Brokers[i].Rack = mb->has_rack ? gr_str(mb->rack) : gr_str(NULL);
            rs.Brokers_count++;
        }
    }
    if (!rq.IncludeClusterAuthorizedOperations)
        rs.ClusterAuthorizedOperations = INT32_MIN;
    GR_REQ_REPLY(req, DescribeClusterResponse, &rs);
}
