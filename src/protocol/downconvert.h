/* Down-conversion of RecordBatch v2 to the legacy message sets of magic 0
 * and 1, for Fetch v0-3 (Fetch v0-1 read magic 0, v2-3 magic 1), the way
 * Apache Kafka 3.9's broker does it (RecordsUtil.downConvert under
 * LazyDownConversionRecords). The byte layout and every conversion rule
 * are described at the top of downconvert.c. */
#ifndef GR_PROTOCOL_DOWNCONVERT_H
#define GR_PROTOCOL_DOWNCONVERT_H

#include "base/arena.h"
#include "protocol/codec.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of a legacy message before its key (offset, size, crc, magic,
 * attributes, and the timestamp in magic 1) plus the two length fields. */
#define GR_LEGACY_OVERHEAD_V0 26
#define GR_LEGACY_OVERHEAD_V1 34
#define GR_LEGACY_ATTR_LOG_APPEND_TIME 0x08

/* The message format a Fetch request version reads: 0 for v0-1, 1 for
 * v2-3, -1 (no conversion) from v4 on. */
static inline int gr_downconvert_magic(int16_t fetch_version)
{
    return fetch_version <= 1 ? 0 : fetch_version <= 3 ? 1 : -1;
}

/* Converts the whole v2 batches in in[0..len), as read for one partition
 * of a Fetch (a trailing partial batch is ignored), to a message set of the
 * given magic (0 or 1). fetch_offset is the offset the client asked for:
 * records below it are dropped from uncompressed batches, as Kafka does.
 *
 * Size: the result is cut at max(len, size of the first converted batch),
 * so a partition answer never grows past what was read except to hold one
 * whole converted batch (KIP-74); the cut may leave a partial message at
 * the end, which clients ignore. When the input held complete batches but
 * none produced a message (control batches only), the result is Kafka's
 * 12-byte "overflow" stub (offset -1, size 61, nothing after it).
 *
 * Returns 0 with *out set (arena memory; an empty slice when there is
 * nothing), or, when the first batch that would produce messages cannot be
 * converted: GR_EUNSUPPORTED (zstd-compressed; Kafka answers
 * UNSUPPORTED_COMPRESSION_TYPE) or GR_ECORRUPT (bad header, bad records,
 * bad CRC-32C). Such a batch after the first converted one ends the output
 * before it instead: the client asks again from there and gets the error
 * then. GR_ENOMEM when memory runs out. Event-loop thread or any: no
 * shared state. */
int gr_downconvert(const uint8_t *in, size_t len, int magic, int64_t fetch_offset,
                   gr_arena_t *arena, gr_bytes_t *out);

/* XXH32 with seed 0 of a short input (len < 16), as lz4 frame headers
 * use it. Exposed for tests. */
uint32_t gr_xxh32_short(const uint8_t *p, size_t len);

#endif
