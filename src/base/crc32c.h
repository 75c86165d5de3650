/* CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. Uses the
 * SSE4.2 crc32 instruction when the CPU has it, a table otherwise. */
#ifndef GR_BASE_CRC32C_H
#define GR_BASE_CRC32C_H
#include <stddef.h>
#include <stdint.h>
/* Continue a CRC: pass 0 for a new one. */
uint32_t gr_crc32c(uint32_t crc, const void *data, size_t len);
#endif
