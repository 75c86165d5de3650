/* Leader-epoch cache; see epoch_cache.h. The file format is in
 * checkpoint.c. */
#include "log/epoch_cache.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

void gr_log_epoch_cache_init(gr_log_epoch_cache_t *c) { memset(c, 0, sizeof *c); }

void gr_log_epoch_cache_free(gr_log_epoch_cache_t *c)
{
    free(c->e);
    memset(c, 0, sizeof *c);
}

static int reserve(gr_log_epoch_cache_t *c, size_t n)
{
    if (n <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : 8;
    while (cap < n)
        cap *= 2;
    gr_log_epoch_entry_t *e = realloc(c->e, cap * sizeof *e);
    if (!e)
        return GR_ENOMEM;
    c->e = e;
    c->cap = cap;
    return 0;
}

int gr_log_epoch_cache_set(gr_log_epoch_cache_t *c, const gr_log_epoch_entry_t *e, size_t n)
{
    c->n = 0;
    for (size_t i = 1; i < n; i++)
        if (e[i].epoch <= e[i - 1].epoch || e[i].start_offset <= e[i - 1].start_offset)
            return GR_ECORRUPT;
    for (size_t i = 0; i < n; i++)
        if (e[i].epoch < 0 || e[i].start_offset < 0)
            return GR_ECORRUPT;
    int rc = reserve(c, n);
    if (rc)
        return rc;
    if (n)
        memcpy(c->e, e, n * sizeof *e);
    c->n = n;
    return 0;
}

bool gr_log_epoch_cache_assign(gr_log_epoch_cache_t *c, int32_t epoch, int64_t start_offset)
{
    if (epoch < 0 || start_offset < 0)
        return false;
    if (c->n && c->e[c->n - 1].epoch == epoch && c->e[c->n - 1].start_offset <= start_offset)
        return false;
    while (c->n && (c->e[c->n - 1].epoch >= epoch || c->e[c->n - 1].start_offset >= start_offset))
        c->n--;
    if (reserve(c, c->n + 1))
        return true; /* entries were possibly dropped; the caller saves what is left */
    c->e[c->n++] = (gr_log_epoch_entry_t){epoch, start_offset};
    return true;
}

bool gr_log_epoch_cache_truncate_from_end(gr_log_epoch_cache_t *c, int64_t end_offset)
{
    size_t n = c->n;
    while (c->n && c->e[c->n - 1].start_offset >= end_offset)
        c->n--;
    return n != c->n;
}

void gr_log_epoch_cache_end_offset_for(const gr_log_epoch_cache_t *c, int32_t epoch,
                                       int64_t log_end_offset, int32_t *epoch_out,
                                       int64_t *end_offset_out)
{
    *epoch_out = -1;
    *end_offset_out = -1;
    if (epoch < 0 || c->n == 0)
        return;
    if (c->e[c->n - 1].epoch == epoch) {
        *epoch_out = epoch;
        *end_offset_out = log_end_offset;
        return;
    }
    /* First entry with a larger epoch. */
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->e[mid].epoch <= epoch)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->n)
        return;
    *end_offset_out = c->e[lo].start_offset;
    *epoch_out = lo ? c->e[lo - 1].epoch : epoch;
}

int32_t gr_log_epoch_cache_latest(const gr_log_epoch_cache_t *c)
{
    return c->n ? c->e[c->n - 1].epoch : -1;
}
