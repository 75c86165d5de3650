/* DescribeConfigs (key 32), versions 0-4: every config of a topic or of
 * this broker (or the keys asked for), with value, source, read-only and
 * sensitive flags, type, documentation and synonyms, as Kafka reports
 * them. The values and sources come from the config table
 * (src/server/config*.c); topic overrides from the metadata image. */
#include "api/describe_configs.h"
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef gr_DescribeConfigsResponse_DescribeConfigsResourceResult entry_t;
typedef gr_DescribeConfigsResponse_DescribeConfigsResult result_t;

int gr_api_topic_config_build(gr_broker_t *b, const gr_meta_config_t *overrides,
                              const gr_ctrl_config_t *pending, int npending, gr_topic_config_t *tc)
{
    int rc = gr_topic_config_init(tc, b->cfg);
    if (rc)
        return rc;
    char err[256];
    for (const gr_meta_config_t *c = overrides; c; c = c->next)
        gr_topic_config_set(tc, b->cfg, c->name, c->value, err, sizeof err);
    for (int i = 0; i < npending; i++) {
        char key[256], val[4096];
        if (pending[i].name.len < 0 || pending[i].value.len < 0)
            continue;
        snprintf(key, sizeof key, "%.*s", (int)pending[i].name.len, pending[i].name.ptr);
        snprintf(val, sizeof val, "%.*s", (int)pending[i].value.len, pending[i].value.ptr);
        gr_topic_config_set(tc, b->cfg, key, val, err, sizeof err);
    }
    return 0;
}

static gr_str_t arena_str(gr_arena_t *a, const char *s)
{
    if (!s)
        return gr_str(NULL);
    return gr_str(gr_arena_strndup(a, s, strlen(s)));
}

static void fill_entry(gr_req_t *req, const gr_config_entry_t *ce, entry_t *e, bool synonyms, bool docs)
{
    e->Name = arena_str(&req->arena, ce->name);
    e->Value = arena_str(&req->arena, ce->value);
    e->ReadOnly = ce->read_only;
    e->IsDefault = ce->source == GR_CONFIG_SOURCE_DEFAULT;
    e->ConfigSource = (int8_t)ce->source;
    e->IsSensitive = ce->is_sensitive;
    e->ConfigType = (int8_t)ce->type;
    e->Documentation = docs ? arena_str(&req->arena, ce->documentation) : gr_str(NULL);
    e->Synonyms_count = 0;
    if (synonyms && ce->n_synonyms > 0) {
        e->Synonyms = gr_arena_calloc(&req->arena, ce->n_synonyms, sizeof *e->Synonyms);
        if (!e->Synonyms)
            return;
        for (size_t i = 0; i < ce->n_synonyms; i++) {
            e->Synonyms[i].Name = arena_str(&req->arena, ce->synonyms[i].name);
            e->Synonyms[i].Value = arena_str(&req->arena, ce->synonyms[i].value);
            e->Synonyms[i].Source = (int8_t)ce->synonyms[i].source;
        }
        e->Synonyms_count = (int32_t)ce->n_synonyms;
    }
}

static bool key_wanted(const gr_DescribeConfigsRequest_DescribeConfigsResource *r, const char *name)
{
    if (r->ConfigurationKeys_count < 0)
        return true;
    for (int32_t i = 0; i < r->ConfigurationKeys_count; i++)
        if (gr_str_eq(r->ConfigurationKeys[i], name))
            return true;
    return false;
}

static void describe_topic(gr_req_t *req, gr_DescribeConfigsRequest_DescribeConfigsResource *r,
                           result_t *res, bool synonyms, bool docs)
{
    gr_broker_t *b = req->broker;
    gr_meta_topic_t *t = r->ResourceName.len >= 0
                             ? gr_meta_topic_by_name(&b->meta, r->ResourceName.ptr, (size_t)r->ResourceName.len)
                             : NULL;
    if (!t) {
        res->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        res->ErrorMessage = gr_str("The topic does not exist.");
        return;
    }
    gr_topic_config_t tc;
    if (gr_api_topic_config_build(b, t->configs, NULL, 0, &tc) != 0) {
        res->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    size_t n = 0;
    const gr_config_def_t *defs = gr_config_defs(GR_CONFIG_SCOPE_TOPIC, &n);
    res->Configs = gr_arena_calloc(&req->arena, n + 1, sizeof *res->Configs);
    if (res->Configs) {
        for (size_t i = 0; i < n; i++) {
            if (!key_wanted(r, defs[i].name))
                continue;
            gr_config_entry_t ce;
            if (gr_topic_config_describe(&tc, b->cfg, defs[i].name, &ce) != 0)
                continue;
            fill_entry(req, &ce, &res->Configs[res->Configs_count++], synonyms, docs);
        }
    }
    gr_topic_config_free(&tc);
}

static void describe_broker(gr_req_t *req, gr_DescribeConfigsRequest_DescribeConfigsResource *r,
                            result_t *res, bool synonyms, bool docs)
{
    gr_broker_t *b = req->broker;
    char id[16];
    snprintf(id, sizeof id, "%d", b->node_id);
    bool per_broker;
    if (r->ResourceName.len == 0)
        per_broker = false;
    else if (gr_str_eq(r->ResourceName, id))
        per_broker = true;
    else {
        res->ErrorCode = GR_KERR_INVALID_REQUEST;
        res->ErrorMessage = gr_str("Unexpected broker id.");
        return;
    }
    size_t n = 0;
    const gr_config_def_t *defs = gr_config_defs(GR_CONFIG_SCOPE_BROKER, &n);
    res->Configs = gr_arena_calloc(&req->arena, n + 1, sizeof *res->Configs);
    if (!res->Configs)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!key_wanted(r, defs[i].name))
            continue;
        if (!per_broker && !gr_config_get_at(b->cfg, defs[i].name, GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER))
            continue;
        gr_config_entry_t ce;
        if (gr_config_describe(b->cfg, defs[i].name, per_broker, &ce) != 0)
            continue;
        fill_entry(req, &ce, &res->Configs[res->Configs_count++], synonyms, docs);
    }
}

void gr_api_describe_configs(gr_req_t *req)
{
    gr_DescribeConfigsRequest rq;
    if (gr_DescribeConfigsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DescribeConfigs body");
        return;
    }
    gr_DescribeConfigsResponse rs;
    gr_DescribeConfigsResponse_init(&rs);
    int32_t n = rq.Resources_count > 0 ? rq.Resources_count : 0;
    rs.Results = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Results);
    if (!rs.Results) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Results_count = n;
    /* v0 has no IncludeSynonyms flag and answers without synonyms. */
    bool synonyms = req->api_version >= 1 && rq.IncludeSynonyms;
    bool docs = req->api_version >= 3 && rq.IncludeDocumentation;
    for (int32_t i = 0; i < n; i++) {
        gr_DescribeConfigsRequest_DescribeConfigsResource *r = &rq.Resources[i];
        result_t *res = &rs.Results[i];
        res->ResourceType = r->ResourceType;
        res->ResourceName = r->ResourceName;
        res->ErrorMessage = gr_str(NULL);
        if (r->ResourceType == 2)
            describe_topic(req, r, res, synonyms, docs);
        else if (r->ResourceType == 4)
            describe_broker(req, r, res, synonyms, docs);
        else {
            res->ErrorCode = GR_KERR_INVALID_REQUEST;
            res->ErrorMessage = gr_str("Unsupported resource type.");
        }
        if (res->ErrorCode)
            res->Configs_count = 0;
    }
    GR_REQ_REPLY(req, DescribeConfigsResponse, &rs);
}
