/* Arena allocator; see arena.h. */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gr_arena_chunk_s {
    gr_arena_chunk_t *next;
    size_t            used;
    size_t            cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK 8192

void gr_arena_init(gr_arena_t *a, size_t limit)
{
    a->head = NULL;
    a->total = 0;
    a->limit = limit;
}

void *gr_arena_alloc(gr_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (a->limit && (n > a->limit || a->total + n > a->limit))
        return NULL;
    gr_arena_chunk_t *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        /* Keep a partly used head in front when the new chunk is a one-off
         * large block, so small allocations keep filling the old one. */
        if (a->head && n > ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void *gr_arena_calloc(gr_arena_t *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return gr_arena_alloc(a, count * size);
}

char *gr_arena_strndup(gr_arena_t *a, const char *s, size_t n)
{
    char *p = gr_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void gr_arena_free(gr_arena_t *a)
{
    gr_arena_chunk_t *c = a->head;
    while (c) {
        gr_arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
