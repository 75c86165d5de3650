/* Server-side assignors of KIP-848 consumer groups; see assignor.h.
 *
 * uniform: every member gets its share of the partitions of the topics it
 * subscribes to, and keeps what it had as long as that keeps the shares
 * balanced. When all members subscribe to the same topics (the usual case
 * and Kafka's OptimizedUniformAssignmentBuilder) the counts differ by at
 * most one: with T partitions and N members each member may keep T/N of
 * its previous partitions, T%N of them one more; the rest go to the members
 * with the fewest. With different subscriptions each partition goes to its
 * previous owner while that owner has no more than its fair share (the sum
 * over its topics of partitions/subscribers, rounded up), else to the
 * least loaded subscriber; topics with fewer subscribers are placed first.
 *
 * range: per topic, the subscribers sorted by member id get contiguous
 * ranges, the first P%M one partition more (not sticky). */
#include "group/assignor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool gr_gasn_known(const char *name, int32_t len)
{
    return (len == 7 && memcmp(name, "uniform", 7) == 0) || (len == 5 && memcmp(name, "range", 5) == 0);
}

typedef struct work_s {
    const int32_t *nparts;
    int32_t        ntopics;
    gr_gasn_member_t *m;
    int32_t        nm;
    int32_t       *owner;  /* per partition slot: member index or -1 */
    int32_t       *base;   /* first slot of each topic */
    int32_t       *count;  /* per member */
    int32_t        nslots;
} work_t;

static int tp_cmp(const void *a, const void *b)
{
    const gr_gasn_tp_t *x = a, *y = b;
    if (x->topic != y->topic)
        return x->topic < y->topic ? -1 : 1;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static bool valid_prev(const work_t *w, int32_t mi, const gr_gasn_tp_t *tp)
{
    return tp->topic >= 0 && tp->topic < w->ntopics && tp->partition >= 0 && tp->partition < w->nparts[tp->topic] &&
           w->m[mi].subscribed[tp->topic] && w->owner[w->base[tp->topic] + tp->partition] < 0;
}

static void give(work_t *w, int32_t mi, int32_t topic, int32_t partition)
{
    w->owner[w->base[topic] + partition] = mi;
    w->count[mi]++;
}

/* The least loaded subscriber of topic, preferring earlier members. */
static int32_t least_loaded(const work_t *w, int32_t topic, int32_t limit)
{
    int32_t best = -1;
    for (int32_t i = 0; i < w->nm; i++)
        if (w->m[i].subscribed[topic] && (limit < 0 || w->count[i] < limit) &&
            (best < 0 || w->count[i] < w->count[best]))
            best = i;
    return best;
}

static bool homogeneous(const work_t *w)
{
    for (int32_t i = 1; i < w->nm; i++)
        for (int32_t t = 0; t < w->ntopics; t++)
            if (w->m[i].subscribed[t] != w->m[0].subscribed[t])
                return false;
    return true;
}

static void uniform_homogeneous(work_t *w)
{
    int32_t total = 0;
    for (int32_t t = 0; t < w->ntopics; t++)
        if (w->m[0].subscribed[t])
            total += w->nparts[t];
    int32_t quota = total / w->nm, extra = total % w->nm;
    /* Sticky: up to the quota, then one more while extra slots last. */
    for (int32_t i = 0; i < w->nm; i++)
        for (int32_t k = 0; k < w->m[i].nprev && w->count[i] < quota; k++)
            if (valid_prev(w, i, &w->m[i].prev[k]))
                give(w, i, w->m[i].prev[k].topic, w->m[i].prev[k].partition);
    for (int32_t i = 0; i < w->nm && extra > 0; i++)
        for (int32_t k = 0; k < w->m[i].nprev; k++)
            if (valid_prev(w, i, &w->m[i].prev[k])) {
                give(w, i, w->m[i].prev[k].topic, w->m[i].prev[k].partition);
                extra--;
                break;
            }
    for (int32_t t = 0; t < w->ntopics; t++) {
        if (!w->m[0].subscribed[t])
            continue;
        for (int32_t p = 0; p < w->nparts[t]; p++) {
            if (w->owner[w->base[t] + p] >= 0)
                continue;
            int32_t mi = least_loaded(w, t, quota);
            if (mi < 0) {
                mi = least_loaded(w, t, quota + 1);
                extra--;
            }
            if (mi >= 0)
                give(w, mi, t, p);
        }
    }
}

static void uniform_heterogeneous(work_t *w)
{
    /* Each member's fair share, in thousandths of a partition. */
    int32_t *subs = calloc((size_t)w->ntopics + 1, sizeof *subs);
    int64_t *share = calloc((size_t)w->nm + 1, sizeof *share);
    int32_t *order = calloc((size_t)w->ntopics + 1, sizeof *order);
    if (!subs || !share || !order) {
        free(subs);
        free(share);
        free(order);
        return;
    }
    for (int32_t t = 0; t < w->ntopics; t++)
        for (int32_t i = 0; i < w->nm; i++)
            subs[t] += w->m[i].subscribed[t];
    for (int32_t i = 0; i < w->nm; i++)
        for (int32_t t = 0; t < w->ntopics; t++)
            if (w->m[i].subscribed[t])
                share[i] += (int64_t)w->nparts[t] * 1000 / subs[t];
    for (int32_t i = 0; i < w->nm; i++) {
        int32_t cap = (int32_t)((share[i] + 999) / 1000);
        for (int32_t k = 0; k < w->m[i].nprev && w->count[i] < cap; k++)
            if (valid_prev(w, i, &w->m[i].prev[k]))
                give(w, i, w->m[i].prev[k].topic, w->m[i].prev[k].partition);
    }
    /* Topics with fewer subscribers first: they have fewer choices. */
    for (int32_t t = 0; t < w->ntopics; t++)
        order[t] = t;
    for (int32_t a = 1; a < w->ntopics; a++)
        for (int32_t b = a; b > 0 && subs[order[b]] < subs[order[b - 1]]; b--) {
            int32_t x = order[b];
            order[b] = order[b - 1];
            order[b - 1] = x;
        }
    for (int32_t k = 0; k < w->ntopics; k++) {
        int32_t t = order[k];
        for (int32_t p = 0; p < w->nparts[t]; p++)
            if (w->owner[w->base[t] + p] < 0) {
                int32_t mi = least_loaded(w, t, -1);
                if (mi >= 0)
                    give(w, mi, t, p);
            }
    }
    free(subs);
    free(share);
    free(order);
}

static int idcmp_ctx_cmp(const void *a, const void *b, void *ctx)
{
    const gr_gasn_member_t *m = ctx;
    return strcmp(m[*(const int32_t *)a].id, m[*(const int32_t *)b].id);
}

static void range_assign(work_t *w)
{
    int32_t *subs = calloc((size_t)w->nm + 1, sizeof *subs);
    if (!subs)
        return;
    for (int32_t t = 0; t < w->ntopics; t++) {
        int32_t n = 0;
        for (int32_t i = 0; i < w->nm; i++)
            if (w->m[i].subscribed[t])
                subs[n++] = i;
        if (n == 0)
            continue;
        qsort_r(subs, (size_t)n, sizeof *subs, idcmp_ctx_cmp, w->m);
        int32_t per = w->nparts[t] / n, extra = w->nparts[t] % n, p = 0;
        for (int32_t k = 0; k < n; k++)
            for (int32_t j = 0; j < per + (k < extra); j++)
                give(w, subs[k], t, p++);
    }
    free(subs);
}

int gr_gasn_assign(const char *assignor, const int32_t *nparts, int32_t ntopics, gr_gasn_member_t *members,
                   int32_t nmembers)
{
    work_t w = {nparts, ntopics, members, nmembers, NULL, NULL, NULL, 0};
    for (int32_t i = 0; i < nmembers; i++) {
        members[i].out = NULL;
        members[i].nout = 0;
    }
    if (nmembers == 0)
        return 0;
    w.base = calloc((size_t)ntopics + 1, sizeof *w.base);
    w.count = calloc((size_t)nmembers, sizeof *w.count);
    for (int32_t t = 0; w.base && t < ntopics; t++) {
        w.base[t] = w.nslots;
        w.nslots += nparts[t] > 0 ? nparts[t] : 0;
    }
    w.owner = malloc(((size_t)w.nslots + 1) * sizeof *w.owner);
    if (!w.base || !w.count || !w.owner) {
        free(w.base);
        free(w.count);
        free(w.owner);
        return -ENOMEM;
    }
    for (int32_t s = 0; s < w.nslots; s++)
        w.owner[s] = -1;
    if (assignor && strcmp(assignor, "range") == 0)
        range_assign(&w);
    else if (homogeneous(&w))
        uniform_homogeneous(&w);
    else
        uniform_heterogeneous(&w);
    int rc = 0;
    for (int32_t i = 0; i < nmembers; i++) {
        members[i].out = malloc(((size_t)w.count[i] + 1) * sizeof *members[i].out);
        if (!members[i].out)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        for (int32_t t = 0; t < ntopics; t++)
            for (int32_t p = 0; p < nparts[t]; p++) {
                int32_t mi = w.owner[w.base[t] + p];
                if (mi >= 0)
                    members[mi].out[members[mi].nout++] = (gr_gasn_tp_t){t, p};
            }
        for (int32_t i = 0; i < nmembers; i++)
            qsort(members[i].out, (size_t)members[i].nout, sizeof *members[i].out, tp_cmp);
    } else {
        for (int32_t i = 0; i < nmembers; i++) {
            free(members[i].out);
            members[i].out = NULL;
        }
    }
    free(w.base);
    free(w.count);
    free(w.owner);
    return rc;
}
