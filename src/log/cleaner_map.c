/* The cleaner's key -> latest offset map; see cleaner_map.h. */
#include "log/cleaner_map.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t load64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void gr_cleaner_hash128(const void *key, size_t len, uint64_t out[2])
{
    const uint8_t *data = key;
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0, h2 = 0;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k1 = load64le(data + i * 16), k2 = load64le(data + i * 16 + 8);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const uint8_t *tail = data + nblocks * 16;
    size_t rest = len & 15;
    uint64_t k1 = 0, k2 = 0;
    for (size_t i = rest; i > 8; i--)
        k2 ^= (uint64_t)tail[i - 1] << ((i - 9) * 8);
    if (rest > 8) {
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    for (size_t i = rest < 8 ? rest : 8; i > 0; i--)
        k1 ^= (uint64_t)tail[i - 1] << ((i - 1) * 8);
    if (rest > 0) {
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}

int gr_cleaner_map_init(gr_cleaner_map_t *m, size_t memory, double load_factor)
{
    memset(m, 0, sizeof *m);
    m->latest = -1;
    if (!(load_factor > 0 && load_factor <= 1))
        return GR_EINVAL;
    size_t n = memory / GR_CLEANER_MAP_SLOT_BYTES;
    if (n < 2)
        return GR_EINVAL;
    m->slots = calloc(n, GR_CLEANER_MAP_SLOT_BYTES);
    if (!m->slots)
        return GR_ENOMEM;
    m->nslots = n;
    m->max_size = (size_t)((double)n * load_factor);
    /* At least one slot stays empty, so a probe for a missing key ends. */
    if (m->max_size > n - 1)
        m->max_size = n - 1;
    if (m->max_size < 1)
        m->max_size = 1;
    return 0;
}

void gr_cleaner_map_free(gr_cleaner_map_t *m)
{
    free(m->slots);
    m->slots = NULL;
    m->nslots = m->size = m->max_size = 0;
}

/* The slot holding hash h, or the empty slot where it would go. */
static gr_cleaner_slot_t *find(gr_cleaner_map_t *m, const uint64_t h[2])
{
    size_t i = (size_t)(h[0] % m->nslots);
    m->lookups++;
    for (;;) {
        gr_cleaner_slot_t *s = &m->slots[i];
        m->probes++;
        if (s->off1 == 0 || (s->h1 == h[0] && s->h2 == h[1]))
            return s;
        if (++i == m->nslots)
            i = 0;
    }
}

int gr_cleaner_map_put(gr_cleaner_map_t *m, const void *key, size_t len, int64_t offset)
{
    uint64_t h[2];
    gr_cleaner_hash128(key, len, h);
    gr_cleaner_slot_t *s = find(m, h);
    if (s->off1 == 0) {
        if (m->size >= m->max_size)
            return GR_ETOOBIG;
        s->h1 = h[0];
        s->h2 = h[1];
        m->size++;
    }
    s->off1 = offset + 1;
    if (offset > m->latest)
        m->latest = offset;
    return 0;
}

int64_t gr_cleaner_map_get(gr_cleaner_map_t *m, const void *key, size_t len)
{
    if (m->size == 0)
        return -1;
    uint64_t h[2];
    gr_cleaner_hash128(key, len, h);
    gr_cleaner_slot_t *s = find(m, h);
    return s->off1 - 1;
}
