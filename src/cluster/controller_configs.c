/* The controller's part of AlterConfigs and IncrementalAlterConfigs: one
 * resource's operations become ConfigRecords, after the checks Kafka 4.1
 * makes (ConfigAdminManager.preprocess on the broker, then the
 * controller's ConfigurationControlManager), with Kafka's error codes:
 *
 *   request shape   duplicate keys, a null value outside DELETE, an
 *                   unknown operation                      INVALID_REQUEST
 *   topic           "" (no default topic resource)         INVALID_REQUEST
 *                   an illegal name                  INVALID_TOPIC_EXCEPTION
 *                   unknown key, bad value, cross-key rule  INVALID_CONFIG
 *                   (then) a topic that does not exist
 *                                              UNKNOWN_TOPIC_OR_PARTITION
 *   broker          a name that is not "" or this node's id  INVALID_REQUEST
 *                   read-only key, per-broker key at the cluster default,
 *                   bad value (Kafka's KAFKA-13609 quirk)   INVALID_REQUEST
 *                   unknown key                             INVALID_CONFIG
 *                   (Kafka accepts unknown broker keys and keeps them
 *                   unused; Gregor refuses them, as at startup)
 *   APPEND/SUBTRACT on a key that is not a list             INVALID_CONFIG
 *   min.insync.replicas: the cluster default cannot be removed, nor a
 *   per-broker value set, as Kafka 4.1 answers            INVALID_CONFIG
 *
 * APPEND and SUBTRACT work on the current override, or the key's default
 * when there is none (Kafka's getParts). Legacy AlterConfigs replaces the
 * whole set: every dynamic config of the resource it does not name is
 * removed. Topic records are written only for keys whose value changes;
 * broker records for every key named (Kafka does so to make brokers
 * reload). One resource's records form one metadata batch. */
#include "base/err.h"
#include "base/log.h"
#include "cluster/controller.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE_LEN 32767
/* Kafka's bound on the records of one user operation (MAX_RECORDS_PER_USER_OP). */
#define MAX_OPS 10000
#define MIN_ISR "min.insync.replicas"

typedef struct kv_s {
    char *name;
    char *value;    /* NULL: removed */
    char *old;      /* the value before, NULL if none */
    bool  explicit; /* named by the request */
} kv_t;

typedef struct kvs_s {
    kv_t *v;
    int   n, cap;
} kvs_t;

static void kvs_free(kvs_t *k)
{
    for (int i = 0; i < k->n; i++) {
        free(k->v[i].name);
        free(k->v[i].value);
        free(k->v[i].old);
    }
    free(k->v);
}

static kv_t *kvs_find(kvs_t *k, const char *name)
{
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->v[i].name, name) == 0)
            return &k->v[i];
    return NULL;
}

/* Adds name with its current value (copied; may be NULL). */
static kv_t *kvs_add(kvs_t *k, const char *name, const char *value)
{
    if (k->n == k->cap) {
        int cap = k->cap ? k->cap * 2 : 16;
        kv_t *nv = realloc(k->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return NULL;
        k->v = nv;
        k->cap = cap;
    }
    kv_t *e = &k->v[k->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->value = value ? strdup(value) : NULL;
    e->old = value ? strdup(value) : NULL;
    if (!e->name || (value && (!e->value || !e->old))) {
        free(e->name);
        free(e->value);
        free(e->old);
        return NULL;
    }
    k->n++;
    return e;
}

static int16_t fail(char *msg, size_t msglen, int16_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int16_t fail(char *msg, size_t msglen, int16_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return code;
}

static char *slice_dup(gr_str_t s)
{
    if (s.len < 0)
        return NULL;
    char *p = malloc((size_t)s.len + 1);
    if (p) {
        memcpy(p, s.ptr, (size_t)s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Java's Integer.parseInt: an optional sign, then decimal digits. */
static bool parse_node_id(const char *s, int32_t *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return false;
    long long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
        if (v > 2147483648LL)
            return false;
    }
    if (s[0] == '-')
        v = -v;
    if (v > INT32_MAX || v < INT32_MIN)
        return false;
    *out = (int32_t)v;
    return true;
}

static const char *op_name(int8_t op)
{
    return op == GR_CONFIG_OP_APPEND ? "APPEND" : "SUBTRACT";
}

/* APPEND / SUBTRACT items of `items` to / from list `cur` (NULL: empty).
 * Returns a new string (malloc'd). */
static char *list_edit(const char *cur, const char *items, bool append)
{
    size_t cap = (cur ? strlen(cur) : 0) + strlen(items) + 2;
    char *parts_buf = strdup(cur ? cur : "");
    char *items_buf = strdup(items);
    char **parts = calloc(cap, sizeof *parts);
    char *out = malloc(cap);
    if (!parts_buf || !items_buf || !parts || !out) {
        free(parts_buf);
        free(items_buf);
        free(parts);
        free(out);
        return NULL;
    }
    size_t n = 0;
    char *save = NULL;
    /* Kafka splits on "," and drops empty parts; items are not trimmed. */
    for (char *t = strtok_r(parts_buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        parts[n++] = t;
    save = NULL;
    for (char *t = strtok_r(items_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t at = n;
        for (size_t i = 0; i < n; i++)
            if (strcmp(parts[i], t) == 0) {
                at = i;
                break;
            }
        if (append && at == n)
            parts[n++] = t;
        else if (!append && at < n) {
            memmove(parts + at, parts + at + 1, (n - at - 1) * sizeof *parts);
            n--;
        }
    }
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", parts[i]);
    free(parts_buf);
    free(items_buf);
    free(parts);
    return out;
}

/* The request's checks that come before anything else (ConfigAdminManager
 * .preprocess): duplicate keys, null values, operation types. */
static int cmp_name(const void *a, const void *b)
{
    const gr_str_t *x = *(const gr_str_t *const *)a, *y = *(const gr_str_t *const *)b;
    int c = memcmp(x->ptr, y->ptr, (size_t)(x->len < y->len ? x->len : y->len));
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int16_t check_ops(const gr_ctrl_config_op_t *ops, int nops, char *msg, size_t msglen)
{
    if (nops > MAX_OPS)
        return fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Too many configs in one resource (at most %d).",
                    MAX_OPS);
    for (int i = 0; i < nops; i++)
        if (ops[i].name.len < 0)
            return fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Null config name.");
    /* Duplicates, by sorting (a request may name many keys). */
    const gr_str_t **names = malloc(((size_t)nops + 1) * sizeof *names);
    if (!names)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    for (int i = 0; i < nops; i++)
        names[i] = &ops[i].name;
    qsort(names, (size_t)nops, sizeof *names, cmp_name);
    bool dup = false;
    for (int i = 1; i < nops && !dup; i++)
        dup = cmp_name(&names[i - 1], &names[i]) == 0;
    free(names);
    if (dup)
        return fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Error due to duplicate config keys");
    char nulls[512] = "";
    size_t nl = 0;
    for (int i = 0; i < nops; i++)
        if (ops[i].op != GR_CONFIG_OP_DELETE && ops[i].value.len < 0 && nl < sizeof nulls)
            nl += (size_t)snprintf(nulls + nl, sizeof nulls - nl, "%s%.*s", nl ? ", " : "",
                                   (int)ops[i].name.len, ops[i].name.ptr);
    if (nl)
        return fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Null value not supported for : %s", nulls);
    for (int i = 0; i < nops; i++) {
        if (ops[i].op < GR_CONFIG_OP_SET || ops[i].op > GR_CONFIG_OP_SUBTRACT)
            return fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Unknown operations type %d",
                        ops[i].op);
        if (ops[i].value.len > MAX_VALUE_LEN)
            return fail(msg, msglen, GR_KERR_INVALID_CONFIG, "Configuration value of %.*s is too long.",
                        (int)ops[i].name.len, ops[i].name.ptr);
    }
    return GR_KERR_NONE;
}

/* Applies the operations to the current configs (already in kv). */
static int16_t apply_ops(kvs_t *kv, gr_config_scope_t scope, const gr_ctrl_config_op_t *ops,
                         int nops, bool legacy, char *msg, size_t msglen)
{
    if (legacy)
        for (int i = 0; i < kv->n; i++) {
            free(kv->v[i].value);
            kv->v[i].value = NULL; /* implicitly removed unless named */
        }
    for (int i = 0; i < nops; i++) {
        char *name = slice_dup(ops[i].name);
        if (!name)
            return GR_KERR_UNKNOWN_SERVER_ERROR;
        kv_t *e = kvs_find(kv, name);
        if (!e && !(e = kvs_add(kv, name, NULL))) {
            free(name);
            return GR_KERR_UNKNOWN_SERVER_ERROR;
        }
        e->explicit = true;
        char *nv = NULL;
        switch (ops[i].op) {
        case GR_CONFIG_OP_SET:
            nv = slice_dup(ops[i].value);
            break;
        case GR_CONFIG_OP_DELETE:
            break;
        default: {
            const gr_config_def_t *d = gr_config_def_find(scope, name);
            if (!d || d->type != GR_CONFIG_LIST) {
                int16_t rc = fail(msg, msglen, GR_KERR_INVALID_CONFIG,
                                  "Can't %s to key %s because its type is not LIST.",
                                  op_name(ops[i].op), name);
                free(name);
                return rc;
            }
            char *items = slice_dup(ops[i].value);
            const char *cur = e->old ? e->old : d->def;
            nv = items ? list_edit(cur, items, ops[i].op == GR_CONFIG_OP_APPEND) : NULL;
            free(items);
            if (!nv) {
                free(name);
                return GR_KERR_UNKNOWN_SERVER_ERROR;
            }
        }
        }
        free(e->value);
        e->value = nv;
        free(name);
    }
    return GR_KERR_NONE;
}

static int16_t check_topic(gr_broker_t *b, const kvs_t *kv, char *msg, size_t msglen)
{
    char err[512];
    gr_topic_config_t tc;
    if (gr_topic_config_init(&tc, b->cfg) != 0)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    int16_t code = GR_KERR_NONE;
    for (int i = 0; i < kv->n && !code; i++) {
        const kv_t *e = &kv->v[i];
        if (!e->value)
            continue;
        if (gr_topic_config_set(&tc, b->cfg, e->name, e->value, err, sizeof err) != 0)
            code = fail(msg, msglen, GR_KERR_INVALID_CONFIG, "%s", err);
    }
    if (!code && gr_topic_config_check(&tc, err, sizeof err) != 0)
        code = fail(msg, msglen, GR_KERR_INVALID_CONFIG, "%s", err);
    gr_topic_config_free(&tc);
    return code;
}

static int16_t check_broker(gr_broker_t *b, const kvs_t *kv, bool cluster_default, char *msg,
                            size_t msglen)
{
    gr_config_source_t src = cluster_default ? GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER
                                             : GR_CONFIG_SOURCE_DYNAMIC_BROKER;
    char err[512];
    for (int i = 0; i < kv->n; i++) {
        const kv_t *e = &kv->v[i];
        /* Removing a key needs no checks (Kafka accepts removing even a
         * read-only or unknown one); setting one does. */
        if (!e->explicit || !e->value)
            continue;
        int rc = gr_config_check_set(b->cfg, e->name, e->value, src, err, sizeof err);
        if (rc == GR_ENOTFOUND)
            return fail(msg, msglen, GR_KERR_INVALID_CONFIG, "%s", err);
        if (rc)
            return fail(msg, msglen, GR_KERR_INVALID_REQUEST, "%s", err);
    }
    /* Kafka 4.1 (with eligible leader replicas, on by default) keeps the
     * cluster-wide min.insync.replicas and refuses per-broker ones. */
    const kv_t *mi = kvs_find((kvs_t *)kv, MIN_ISR);
    if (mi && cluster_default && !mi->value && mi->old)
        return fail(msg, msglen, GR_KERR_INVALID_CONFIG,
                    "Cluster-level min.insync.replicas cannot be removed.");
    if (mi && !cluster_default && mi->explicit)
        return fail(msg, msglen, GR_KERR_INVALID_CONFIG,
                    "Broker-level min.insync.replicas cannot be altered; set it cluster-wide "
                    "(resource \"\") or per topic.");
    return GR_KERR_NONE;
}

static int commit(gr_broker_t *b, int8_t rtype, const char *rname, const kvs_t *kv)
{
    gr_buf_t *recs = calloc((size_t)kv->n + 1, sizeof *recs);
    if (!recs)
        return GR_ENOMEM;
    int n = 0;
    for (int i = 0; i < kv->n; i++) {
        const kv_t *e = &kv->v[i];
        bool changed = (e->value == NULL) != (e->old == NULL) ||
                       (e->value && strcmp(e->value, e->old) != 0);
        if (!changed && !(rtype == 4 && e->explicit))
            continue;
        if (!e->value && !e->old && !e->explicit)
            continue;
        gr_ConfigRecord cr;
        gr_ConfigRecord_init(&cr);
        cr.ResourceType = rtype;
        cr.ResourceName = gr_str(rname);
        cr.Name = gr_str(e->name);
        cr.Value = gr_str(e->value);
        gr_buf_init(&recs[n]);
        gr_meta_frame(&recs[n], GR_MREC_ConfigRecord, 0);
        gr_ConfigRecord_encode(&recs[n], 0, &cr);
        n++;
    }
    int rc = n ? gr_broker_commit_records(b, recs, n) : 0;
    for (int i = 0; i < n; i++)
        gr_buf_free(&recs[i]);
    free(recs);
    if (rc == 0 && n)
        gr_log(GR_LOG_INFO, "controller", "altered %d config(s) of %s '%s'", n,
               rtype == 2 ? "topic" : "broker", rname);
    return rc;
}

int16_t gr_ctrl_alter_configs(gr_broker_t *b, int8_t rtype, gr_str_t rname,
                              const gr_ctrl_config_op_t *ops, int nops, bool legacy,
                              bool validate_only, char *msg, size_t msglen)
{
    msg[0] = '\0';
    int16_t code = check_ops(ops, nops, msg, msglen);
    if (code)
        return code;
    char *name = rname.len >= 0 ? slice_dup(rname) : strdup("");
    if (!name)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    kvs_t kv = {0};
    gr_meta_topic_t *t = NULL;
    gr_config_scope_t scope;
    bool cluster_default = false;

    if (rtype == 2) {
        scope = GR_CONFIG_SCOPE_TOPIC;
        const char *why = NULL;
        if (!*name) {
            code = fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Default topic resources are not allowed.");
            goto out;
        }
        if (!gr_ctrl_topic_name_valid(name, strlen(name), &why)) {
            code = fail(msg, msglen, GR_KERR_INVALID_TOPIC_EXCEPTION, "Topic name is invalid: '%s': %s",
                        name, why);
            goto out;
        }
        t = gr_meta_topic_by_name(&b->meta, name, strlen(name));
        for (const gr_meta_config_t *c = t ? t->configs : NULL; c; c = c->next)
            if (!kvs_add(&kv, c->name, c->value)) {
                code = GR_KERR_UNKNOWN_SERVER_ERROR;
                goto out;
            }
    } else if (rtype == 4) {
        scope = GR_CONFIG_SCOPE_BROKER;
        cluster_default = *name == '\0';
        int32_t id;
        if (!cluster_default && !parse_node_id(name, &id)) {
            code = fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Node id must be an integer, but it is: %s",
                        name);
            goto out;
        }
        if (!cluster_default && id != b->node_id) {
            code = fail(msg, msglen, GR_KERR_INVALID_REQUEST,
                        "Unexpected broker id, expected %d, but received %s", b->node_id, name);
            goto out;
        }
        for (const gr_meta_config_t *c = b->meta.broker_configs; c; c = c->next)
            if (c->resource && strcmp(c->resource, name) == 0 && !kvs_add(&kv, c->name, c->value)) {
                code = GR_KERR_UNKNOWN_SERVER_ERROR;
                goto out;
            }
    } else {
        code = fail(msg, msglen, GR_KERR_INVALID_REQUEST, "Unknown resource type %d", rtype);
        goto out;
    }

    if ((code = apply_ops(&kv, scope, ops, nops, legacy, msg, msglen)) != 0)
        goto out;
    if (rtype == 2) {
        if ((code = check_topic(b, &kv, msg, msglen)) != 0)
            goto out;
        if (!t) {
            code = fail(msg, msglen, GR_KERR_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.",
                        name);
            goto out;
        }
    } else if ((code = check_broker(b, &kv, cluster_default, msg, msglen)) != 0) {
        goto out;
    }
    if (!validate_only) {
        int rc = commit(b, rtype, name, &kv);
        if (rc)
            code = fail(msg, msglen, GR_KERR_UNKNOWN_SERVER_ERROR,
                        "Could not write the metadata log: %s", gr_strerror(rc));
    }
out:
    kvs_free(&kv);
    free(name);
    if (!code)
        msg[0] = '\0';
    return code;
}
