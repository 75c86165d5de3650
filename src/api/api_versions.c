/* ApiVersions (key 18), versions 0-4: the APIs and version ranges this
 * broker serves, straight from the dispatch table so the answer is always
 * truthful. A request at a version newer than ours is answered at v0 with
 * UNSUPPORTED_VERSION and our ranges, as Kafka does; the response header is
 * always v0 (see gr_req_begin_response). */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"

void gr_api_api_versions(gr_req_t *req)
{
    const gr_api_row_t *self = gr_api_row(GR_API_ApiVersions);
    gr_ApiVersionsResponse rs;
    gr_ApiVersionsResponse_init(&rs);
    if (req->api_version > self->max_version || req->api_version < self->min_version) {
        rs.ErrorCode = GR_KERR_UNSUPPORTED_VERSION;
        req->api_version = 0;
    } else {
        gr_ApiVersionsRequest rq;
        if (gr_ApiVersionsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
            gr_req_malformed(req, "bad ApiVersions body");
            return;
        }
    }
    int n = 0;
    while (gr_api_row_at(n))
        n++;
    rs.ApiKeys = gr_arena_calloc(&req->arena, (size_t)n, sizeof *rs.ApiKeys);
    if (!rs.ApiKeys) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.ApiKeys_count = n;
    for (int i = 0; i < n; i++) {
        const gr_api_row_t *row = gr_api_row_at(i);
        rs.ApiKeys[i].ApiKey = row->api_key;
        rs.ApiKeys[i].MinVersion = row->min_version;
        rs.ApiKeys[i].MaxVersion = row->max_version;
    }
    GR_REQ_REPLY(req, ApiVersionsResponse, &rs);
}
