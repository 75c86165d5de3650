/* Retention selection; see retention.h for the rules. */
#include "log/retention.h"

enum { RULE_LOG_START, RULE_SIZE, RULE_TIME };

typedef struct {
    const gr_retention_seg_t *segs;
    size_t                    n;
    int64_t                   leo, hw, log_start, now, retention_ms;
    int64_t                   size_left; /* rule 2: bytes still over the limit */
} walk_t;

/* Kafka's deletableSegments: walks from segment `from` while the segment
 * lies wholly below the high watermark, is not the empty active segment,
 * and the rule lets it go. Returns the index after the last one taken. */
static size_t walk(walk_t *w, size_t from, int rule)
{
    size_t i = from;
    for (; i < w->n; i++) {
        const gr_retention_seg_t *s = &w->segs[i];
        bool last = i + 1 == w->n;
        int64_t next_base = last ? w->leo : w->segs[i + 1].base_offset;
        if (w->hw < next_base || (last && s->size == 0))
            break;
        bool go = false;
        switch (rule) {
        case RULE_LOG_START:
            go = !last && next_base <= w->log_start;
            break;
        case RULE_SIZE:
            if (w->size_left - s->size >= 0) {
                w->size_left -= s->size;
                go = true;
            }
            break;
        case RULE_TIME:
            /* now - largest_ts > retention.ms, written so that no
             * timestamp (a producer's clock may say anything) overflows. */
            go = w->now >= 0 && s->largest_ts < w->now - w->retention_ms;
            break;
        }
        if (!go)
            break;
    }
    return i;
}

size_t gr_retention_select(const gr_retention_seg_t *segs, size_t n, int64_t log_start,
                           int64_t leo, int64_t hw, const gr_retention_policy_t *p,
                           int64_t now_ms, unsigned *reasons)
{
    unsigned why = 0;
    if (reasons)
        *reasons = 0;
    if (n == 0)
        return 0;
    walk_t w = {segs, n, leo, hw, log_start, now_ms, p->retention_ms, 0};

    size_t k = walk(&w, 0, RULE_LOG_START);
    if (k > 0)
        why |= GR_RETAIN_LOG_START;

    if (p->cleanup_delete && p->retention_bytes >= 0) {
        int64_t total = 0;
        for (size_t i = k; i < n; i++)
            total += segs[i].size;
        if (total >= p->retention_bytes) {
            w.size_left = total - p->retention_bytes;
            size_t k2 = walk(&w, k, RULE_SIZE);
            if (k2 > k)
                why |= GR_RETAIN_SIZE;
            k = k2;
        }
    }
    if (p->cleanup_delete && p->retention_ms >= 0) {
        size_t k2 = walk(&w, k, RULE_TIME);
        if (k2 > k)
            why |= GR_RETAIN_TIME;
        k = k2;
    }
    if (reasons)
        *reasons = why;
    return k;
}

const char *gr_retention_reason_text(unsigned r)
{
    static const char *const text[8] = {
        "nothing",
        "log start offset",
        "retention size",
        "log start offset, retention size",
        "retention time",
        "log start offset, retention time",
        "retention size, retention time",
        "log start offset, retention size, retention time",
    };
    return text[r & 7];
}
