/* The log cleaner's offset map: key -> offset of the latest record with
 * that key, in a fixed amount of memory (Kafka's SkimpyOffsetMap).
 *
 * Keys are not stored: each is reduced to a 128-bit hash (MurmurHash3
 * x64_128), and a slot holds the hash and the offset (24 bytes). Two keys
 * with the same 128-bit hash would be taken for one key (the older one's
 * records could then be dropped); with 10^9 keys the chance of that is
 * about 10^-21, the same bet Kafka makes with MD5. Open addressing with
 * linear probing; the map counts as full at load_factor of its slots, so
 * probes stay short.
 *
 * Memory: one calloc of the whole table at init, freed by free. A large
 * calloc comes from fresh zero pages, so only the pages that keys land on
 * are ever touched.
 *
 * Thread rules: none inside; one map per cleaner thread. */
#ifndef GR_LOG_CLEANER_MAP_H
#define GR_LOG_CLEANER_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_cleaner_slot_s {
    uint64_t h1, h2;
    int64_t  off1; /* offset + 1; 0 = empty slot */
} gr_cleaner_slot_t;

typedef struct gr_cleaner_map_s {
    gr_cleaner_slot_t *slots;
    size_t             nslots;
    size_t             size;     /* keys stored */
    size_t             max_size; /* nslots * load_factor: full from here on */
    int64_t            latest;   /* largest offset put, -1 when empty */
    uint64_t           lookups, probes;
} gr_cleaner_map_t;

#define GR_CLEANER_MAP_SLOT_BYTES ((size_t)sizeof(gr_cleaner_slot_t))

/* A map in `memory` bytes (memory / 24 slots, at least 2),
 * full at load_factor (0 < lf <= 1) of them. 0, GR_EINVAL or GR_ENOMEM. */
int gr_cleaner_map_init(gr_cleaner_map_t *m, size_t memory, double load_factor);
void gr_cleaner_map_free(gr_cleaner_map_t *m);

/* Records that key's latest record is at offset (offsets are put in
 * increasing order, so a put replaces). Returns 0, or GR_ETOOBIG when the
 * key is new and the map is full (check gr_cleaner_map_full first). */
int gr_cleaner_map_put(gr_cleaner_map_t *m, const void *key, size_t len, int64_t offset);
/* The offset put last for key, or -1. */
int64_t gr_cleaner_map_get(gr_cleaner_map_t *m, const void *key, size_t len);
static inline bool gr_cleaner_map_full(const gr_cleaner_map_t *m) { return m->size >= m->max_size; }
/* Room left before the map is full. */
static inline size_t gr_cleaner_map_room(const gr_cleaner_map_t *m)
{
    return m->size >= m->max_size ? 0 : m->max_size - m->size;
}

/* MurmurHash3 x64_128 with seed 0. */
void gr_cleaner_hash128(const void *key, size_t len, uint64_t out[2]);

#endif
