/* Compression codecs of Kafka's RecordBatch v2, in the framings Kafka
 * clients use on the wire. The codec number is the one in bits 0-2 of a
 * batch's attributes.
 *
 *   1 gzip   - a gzip stream (RFC 1952). Decoding also accepts several
 *              concatenated members, a zlib stream, and ignores bytes after
 *              the last member that do not start a new one (as Java's
 *              GZIPInputStream does).
 *   2 snappy - two framings are in use and both are decoded:
 *              * the Java client (snappy-java's SnappyOutputStream, "xerial")
 *                writes a 16-byte header (0x82 "SNAPPY" 0x00, int32 version,
 *                int32 compatible version) followed by blocks of
 *                [int32 big-endian length][raw snappy block];
 *              * librdkafka (and so kcat, confluent-kafka-python) writes one
 *                raw snappy block with no framing; it decodes either form.
 *              A raw snappy block can never begin with the xerial magic (it
 *              would start with a back-reference), so the header decides.
 *              gr_compress writes the xerial framing with 32 KiB blocks,
 *              as the Java client and the Kafka broker do; every client
 *              decodes it.
 *   3 lz4    - the LZ4 frame format (lz4frame.h). Written with independent
 *              64 KiB blocks and no checksums, which Java's
 *              KafkaLZ4BlockInputStream requires. Concatenated frames are
 *              decoded.
 *   4 zstd   - zstd frames, decoded with the streaming API since a producer
 *              need not state the content size. The decoder's window is
 *              limited (see compress.c) so a frame cannot make it allocate
 *              much more than the output bound.
 *
 * Output always goes to the end of a gr_buf_t (appended, never reset). On
 * any error, out->len is restored to what it was on entry; bytes already
 * allocated stay with the buffer. Thread-safe: no shared state. */
#ifndef GR_PROTOCOL_COMPRESS_H
#define GR_PROTOCOL_COMPRESS_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

enum {
    GR_CODEC_NONE = 0,
    GR_CODEC_GZIP = 1,
    GR_CODEC_SNAPPY = 2,
    GR_CODEC_LZ4 = 3,
    GR_CODEC_ZSTD = 4,
};

/* "none", "gzip", "snappy", "lz4", "zstd" (Kafka's compression.type names),
 * or "unknown". */
const char *gr_codec_name(int codec);

/* Decompresses in[0..in_len) and appends the result to out. At most max_out
 * bytes are produced: a stream that would produce more fails with
 * GR_ETOOBIG, having allocated no more than about max_out bytes (a zip bomb
 * costs its bound, not its claimed size). Returns 0, GR_ETOOBIG,
 * GR_EMALFORMED (the input does not decode, or is truncated),
 * GR_EUNSUPPORTED (codec not 1-4) or GR_ENOMEM. */
int gr_decompress(int codec, const uint8_t *in, size_t in_len, gr_buf_t *out, size_t max_out);

/* Compresses in[0..len) with the codec's default level (gzip 6, lz4 fast,
 * zstd 3: Kafka's defaults) and appends the result to out. Returns 0,
 * GR_EUNSUPPORTED, GR_ETOOBIG (input over what the library can take in one
 * call) or GR_ENOMEM. */
int gr_compress(int codec, const uint8_t *in, size_t len, gr_buf_t *out);

#endif
