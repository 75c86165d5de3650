/* Config resources named by a request; see resources.h. */
#include "api/resources.h"

#include <stdlib.h>
#include <string.h>

static int cmp_resource(const void *a, const void *b, void *arg)
{
    const gr_api_resource_t *x = &((const gr_api_resource_t *)arg)[*(const int32_t *)a];
    const gr_api_resource_t *y = &((const gr_api_resource_t *)arg)[*(const int32_t *)b];
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    int32_t xl = x->name.len > 0 ? x->name.len : 0;
    int32_t yl = y->name.len > 0 ? y->name.len : 0;
    int c = xl && yl ? memcmp(x->name.ptr, y->name.ptr, (size_t)(xl < yl ? xl : yl)) : 0;
    if (c)
        return c;
    if (xl != yl)
        return xl < yl ? -1 : 1;
    /* A null name and an empty one differ. */
    return (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

bool *gr_api_duplicate_resources(gr_arena_t *a, const gr_api_resource_t *res, int32_t n)
{
    bool *dup = gr_arena_calloc(a, (size_t)n + 1, sizeof *dup);
    int32_t *idx = gr_arena_calloc(a, (size_t)n + 1, sizeof *idx);
    if (!dup || !idx)
        return NULL;
    for (int32_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, (size_t)n, sizeof *idx, cmp_resource, (void *)res);
    for (int32_t i = 1; i < n; i++)
        if (cmp_resource(&idx[i - 1], &idx[i], (void *)res) == 0)
            dup[idx[i - 1]] = dup[idx[i]] = true;
    return dup;
}
