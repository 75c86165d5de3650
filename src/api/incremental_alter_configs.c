/* IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND and
 * SUBTRACT of topic and broker configs, each resource checked and
 * committed on its own by the controller (gr_ctrl_alter_configs), with
 * ValidateOnly honoured. A resource named twice in one request is refused
 * both times, as Kafka does. */
#include "api/dispatch.h"
#include "cluster/controller.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <stdlib.h>
#include <string.h>

typedef gr_IncrementalAlterConfigsRequest_AlterConfigsResource res_t;

static int cmp_resource(const void *a, const void *b, void *arg)
{
    const res_t *x = &((const res_t *)arg)[*(const int32_t *)a];
    const res_t *y = &((const res_t *)arg)[*(const int32_t *)b];
    if (x->ResourceType != y->ResourceType)
        return x->ResourceType < y->ResourceType ? -1 : 1;
    int32_t xl = x->ResourceName.len > 0 ? x->ResourceName.len : 0;
    int32_t yl = y->ResourceName.len > 0 ? y->ResourceName.len : 0;
    int c = xl && yl ? memcmp(x->ResourceName.ptr, y->ResourceName.ptr, (size_t)(xl < yl ? xl : yl)) : 0;
    if (c)
        return c;
    if (xl != yl)
        return xl < yl ? -1 : 1;
    return (x->ResourceName.len > y->ResourceName.len) - (x->ResourceName.len < y->ResourceName.len);
}

/* dup[i] = resource i is named more than once (found by sorting: a request
 * may name many resources). */
static bool *find_duplicates(gr_arena_t *a, res_t *res, int32_t n)
{
    bool *dup = gr_arena_calloc(a, (size_t)n + 1, sizeof *dup);
    int32_t *idx = gr_arena_calloc(a, (size_t)n + 1, sizeof *idx);
    if (!dup || !idx)
        return NULL;
    for (int32_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, (size_t)n, sizeof *idx, cmp_resource, res);
    for (int32_t i = 1; i < n; i++)
        if (cmp_resource(&idx[i - 1], &idx[i], res) == 0)
            dup[idx[i - 1]] = dup[idx[i]] = true;
    return dup;
}

void gr_api_incremental_alter_configs(gr_req_t *req)
{
    gr_IncrementalAlterConfigsRequest rq;
    if (gr_IncrementalAlterConfigsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad IncrementalAlterConfigs body");
        return;
    }
    gr_IncrementalAlterConfigsResponse rs;
    gr_IncrementalAlterConfigsResponse_init(&rs);
    int32_t n = rq.Resources_count > 0 ? rq.Resources_count : 0;
    rs.Responses = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Responses);
    if (!rs.Responses) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Responses_count = n;
    bool *dups = find_duplicates(&req->arena, rq.Resources, n);
    if (!dups) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        res_t *r = &rq.Resources[i];
        gr_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse *out = &rs.Responses[i];
        out->ResourceType = r->ResourceType;
        out->ResourceName = r->ResourceName;
        out->ErrorMessage = gr_str(NULL);
        if (dups[i]) {
            out->ErrorCode = GR_KERR_INVALID_REQUEST;
            out->ErrorMessage = gr_str("Each resource must appear at most once.");
            continue;
        }
        int32_t nc = r->Configs_count > 0 ? r->Configs_count : 0;
        gr_ctrl_config_op_t *ops = gr_arena_calloc(&req->arena, (size_t)nc + 1, sizeof *ops);
        char *msg = gr_arena_alloc(&req->arena, 1024);
        if (!ops || !msg) {
            out->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        for (int32_t k = 0; k < nc; k++) {
            ops[k].name = r->Configs[k].Name;
            ops[k].op = r->Configs[k].ConfigOperation;
            ops[k].value = r->Configs[k].Value;
        }
        out->ErrorCode = gr_ctrl_alter_configs(req->broker, r->ResourceType, r->ResourceName, ops,
                                               nc, false, rq.ValidateOnly, msg, 1024);
        if (out->ErrorCode)
            out->ErrorMessage = gr_str(msg);
    }
    GR_REQ_REPLY(req, IncrementalAlterConfigsResponse, &rs);
}
