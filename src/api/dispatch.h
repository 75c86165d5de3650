/* The one dispatch table: a row per Kafka API we implement, with its
 * handler and supported version range. Every request reaches its handler
 * through gr_api_dispatch() and nowhere else, so authorization, quotas and
 * metrics can be added here once for all APIs. */
#ifndef GR_API_DISPATCH_H
#define GR_API_DISPATCH_H

#include "net/request.h"

typedef void (*gr_api_handler_fn)(gr_req_t *req);

typedef struct gr_api_row_s {
    int16_t           api_key;
    int16_t           min_version;
    int16_t           max_version;
    gr_api_handler_fn handler;
    /* Room for what later waves hang on every API: ACL resource and
     * operation, forwarding to the active controller, pre-auth allowance. */
    unsigned          flags;
} gr_api_row_t;

/* Decode the request header and run the handler for the request's API. */
void gr_api_dispatch(gr_req_t *req);
/* The row for an API key, or NULL when we do not implement it. */
const gr_api_row_t *gr_api_row(int16_t api_key);
/* Iterate implemented APIs in key order (for ApiVersions): i from 0 while
 * the result is non-NULL. */
const gr_api_row_t *gr_api_row_at(int i);
const char *gr_api_name(int16_t api_key);

#include <stdio.h>
/* Writes docs/protocol.md. */
int gr_api_write_protocol_doc(FILE *out);

/* Handlers, one file each under src/api/. */
void gr_api_produce(gr_req_t *req);
void gr_api_fetch(gr_req_t *req);
void gr_api_list_offsets(gr_req_t *req);
void gr_api_metadata(gr_req_t *req);
void gr_api_api_versions(gr_req_t *req);
void gr_api_create_topics(gr_req_t *req);
void gr_api_delete_topics(gr_req_t *req);
void gr_api_init_producer_id(gr_req_t *req);
void gr_api_offset_for_leader_epoch(gr_req_t *req);
void gr_api_describe_configs(gr_req_t *req);
void gr_api_create_partitions(gr_req_t *req);
void gr_api_describe_cluster(gr_req_t *req);
/* Retention and live configuration. */
void gr_api_delete_records(gr_req_t *req);
void gr_api_alter_configs(gr_req_t *req);
void gr_api_incremental_alter_configs(gr_req_t *req);
void gr_api_describe_log_dirs(gr_req_t *req);
/* Groups and committed offsets (the coordinator is in src/group/). */
void gr_api_find_coordinator(gr_req_t *req);
void gr_api_join_group(gr_req_t *req);
void gr_api_sync_group(gr_req_t *req);
void gr_api_heartbeat(gr_req_t *req);
void gr_api_leave_group(gr_req_t *req);
void gr_api_offset_commit(gr_req_t *req);
void gr_api_offset_fetch(gr_req_t *req);
void gr_api_list_groups(gr_req_t *req);
void gr_api_describe_groups(gr_req_t *req);
void gr_api_delete_groups(gr_req_t *req);
void gr_api_offset_delete(gr_req_t *req);
void gr_api_consumer_group_heartbeat(gr_req_t *req);
void gr_api_consumer_group_describe(gr_req_t *req);

#endif
