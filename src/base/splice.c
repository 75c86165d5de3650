/* File ranges carried by an output buffer; see splice.h. */
#include "base/splice.h"
#include "base/err.h"

#include <stdlib.h>

int gr_splices_add(gr_buf_t *b, int fd, int64_t pos, size_t len, void (*release)(void *),
                   void *arg, const uint8_t **tag)
{
    gr_splices_t *s = b->splices;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            goto oom;
        b->splices = s;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        gr_splice_t **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            goto oom;
        s->v = v;
        gr_splice_t **o = realloc(s->order, cap * sizeof *o);
        if (!o)
            goto oom;
        s->order = o;
        s->cap = cap;
    }
    gr_splice_t *sp = calloc(1, sizeof *sp);
    if (!sp)
        goto oom;
    sp->fd = fd;
    sp->pos = pos;
    sp->len = len;
    sp->release = release;
    sp->arg = arg;
    s->v[s->n++] = sp;
    *tag = (const uint8_t *)sp;
    return 0;
oom:
    if (release)
        release(arg);
    return GR_ENOMEM;
}

bool gr_splices_place(gr_buf_t *b, const uint8_t *tag, size_t len)
{
    gr_splices_t *s = b->splices;
    if (!s || b->counting)
        return false;
    /* Ranges are usually placed in the order they were registered. */
    size_t start = s->norder < s->n ? s->norder : 0;
    for (size_t k = 0; k < s->n; k++) {
        gr_splice_t *sp = s->v[(start + k) % s->n];
        if ((const uint8_t *)sp != tag)
            continue;
        if (sp->placed || sp->len != len)
            return false;
        sp->placed = true;
        sp->at = b->len;
        s->order[s->norder++] = sp;
        s->placed_bytes += len;
        return true;
    }
    return false;
}

size_t gr_splices_count(const gr_buf_t *b) { return b->splices ? b->splices->n : 0; }

static void splice_drop(gr_splice_t *sp)
{
    if (sp->release)
        sp->release(sp->arg);
    free(sp);
}

void gr_splices_truncate(gr_buf_t *b, size_t n)
{
    gr_splices_t *s = b->splices;
    if (!s)
        return;
    while (s->n > n)
        splice_drop(s->v[--s->n]);
    gr_splices_unplace(b);
}

void gr_splices_unplace(gr_buf_t *b)
{
    gr_splices_t *s = b->splices;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        s->v[i]->placed = false;
    s->norder = 0;
    s->placed_bytes = 0;
}

size_t gr_splices_placed_bytes(const gr_buf_t *b)
{
    return b->splices ? b->splices->placed_bytes : 0;
}

void gr_splices_free(gr_splices_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        splice_drop(s->v[i]);
    free(s->v);
    free(s->order);
    free(s);
}
