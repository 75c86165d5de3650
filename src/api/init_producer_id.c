/* InitProducerId (key 22), versions 0-5: a fresh producer id with epoch 0
 * for an idempotent producer (a producer that asks again, e.g. after
 * UNKNOWN_PRODUCER_ID, also gets a fresh one, as Kafka does without a
 * transactional id). Ids come in blocks reserved through the metadata log,
 * so none is handed out twice, even across restarts. Transactional ids
 * need the transaction coordinator, which is not served yet. */
#include "api/dispatch.h"
#include "base/log.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_init_producer_id(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_InitProducerIdRequest rq;
    if (gr_InitProducerIdRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad InitProducerId body");
        return;
    }
    gr_InitProducerIdResponse rs;
    gr_InitProducerIdResponse_init(&rs);
    rs.ProducerId = -1;
    rs.ProducerEpoch = -1;
    if (rq.TransactionalId.len >= 0) {
        GR_LOG_RL(GR_LOG_INFO, "txn", "%s: transactional producers are not supported yet",
                  gr_req_peer(req));
        rs.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        int64_t pid;
        if (gr_pid_alloc_next(&b->pids, &pid) != 0) {
            rs.ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
        } else {
            rs.ProducerId = pid;
            rs.ProducerEpoch = 0;
        }
    }
    GR_REQ_REPLY(req, InitProducerIdResponse, &rs);
}
