/* A bump allocator for one request: everything a decoder or handler
 * allocates for a request comes from its arena and is released in one
 * gr_arena_free() after the response is written. Not thread-safe. */
#ifndef GR_BASE_ARENA_H
#define GR_BASE_ARENA_H

#include <stddef.h>

typedef struct gr_arena_chunk_s gr_arena_chunk_t;

typedef struct gr_arena_s {
    gr_arena_chunk_t *head;
    size_t            total; /* bytes handed out, for limits */
    size_t            limit; /* 0 = none; allocations beyond it fail */
} gr_arena_t;

void gr_arena_init(gr_arena_t *a, size_t limit);
/* Zeroed memory aligned to 16 bytes, or NULL when out of memory or past limit. */
void *gr_arena_alloc(gr_arena_t *a, size_t n);
/* Allocates count * size, checking the multiplication for overflow. */
void *gr_arena_calloc(gr_arena_t *a, size_t count, size_t size);
char *gr_arena_strndup(gr_arena_t *a, const char *s, size_t n);
void gr_arena_free(gr_arena_t *a);

#endif
