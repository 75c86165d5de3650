/* Kafka's record batch compression codecs; framings are described in
 * compress.h.
 *
 * Every decoder writes straight into the output buffer and grows it in
 * steps of at most 64 KiB (the buffer doubles its capacity, so growth stays
 * geometric), never past max_out + 1 bytes of new output: one byte more than
 * allowed is how a stream that is too big is told apart from one that ends
 * exactly at the bound. */
#include "protocol/compress.h"
#include "base/err.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define GROW_STEP ((size_t)64 * 1024)
#define XERIAL_HDR_LEN 16
#define XERIAL_BLOCK ((size_t)32 * 1024)

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

const char *gr_codec_name(int codec)
{
    switch (codec) {
    case GR_CODEC_NONE: return "none";
    case GR_CODEC_GZIP: return "gzip";
    case GR_CODEC_SNAPPY: return "snappy";
    case GR_CODEC_LZ4: return "lz4";
    case GR_CODEC_ZSTD: return "zstd";
    default: return "unknown";
    }
}

/* The output state of one decompression call. */
typedef struct {
    gr_buf_t *out;
    size_t    start; /* out->len on entry */
    size_t    limit; /* max_out + 1, saturated */
    size_t    max_out;
} sink_t;

static void sink_init(sink_t *k, gr_buf_t *out, size_t max_out)
{
    k->out = out;
    k->start = out->len;
    k->max_out = max_out;
    k->limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
}

static size_t sink_produced(const sink_t *k) { return k->out->len - k->start; }

/* Makes room for the next write and returns how many bytes may be written
 * at out->data + out->len (at least one), or 0 after an allocation failure
 * (*err set). */
static size_t sink_room(sink_t *k, int *err)
{
    gr_buf_t *b = k->out;
    size_t left = k->limit - sink_produced(k);
    size_t want = left < GROW_STEP ? left : GROW_STEP;
    if (b->cap - b->len < want && gr_buf_reserve(b, want)) {
        *err = GR_ENOMEM;
        return 0;
    }
    size_t room = b->cap - b->len;
    return room < left ? room : left;
}

static int sink_fail(sink_t *k, int err)
{
    k->out->len = k->start;
    return err;
}

/* ---- gzip ---- */

static int gzip_decode(const uint8_t *in, size_t in_len, sink_t *k)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    /* 15 + 32: largest window, gzip or zlib header detected automatically. */
    if (inflateInit2(&s, 15 + 32) != Z_OK)
        return GR_ENOMEM;
    const uint8_t *p = in;
    size_t left = in_len; /* bytes not yet handed to zlib */
    int err = 0;
    for (;;) {
        if (s.avail_in == 0 && left > 0) {
            uInt n = left > UINT_MAX ? UINT_MAX : (uInt)left;
            s.next_in = (Bytef *)(uintptr_t)p;
            s.avail_in = n;
            p += n;
            left -= n;
        }
        size_t room = sink_room(k, &err);
        if (!room)
            break;
        uInt avail = room > UINT_MAX ? UINT_MAX : (uInt)room;
        s.next_out = k->out->data + k->out->len;
        s.avail_out = avail;
        int rc = inflate(&s, Z_NO_FLUSH);
        k->out->len += avail - s.avail_out;
        if (sink_produced(k) > k->max_out) {
            err = GR_ETOOBIG;
            break;
        }
        if (rc == Z_STREAM_END) {
            size_t rest = s.avail_in + left;
            /* Another gzip member may follow; anything else after a
             * complete member is ignored, as Java's GZIPInputStream does. */
            if (rest < 2 || s.next_in[0] != 0x1f || s.next_in[1] != 0x8b)
                break;
            if (inflateReset(&s) != Z_OK) {
                err = GR_EMALFORMED;
                break;
            }
            continue;
        }
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && s.avail_out == 0)
            continue; /* output full: the next round makes room */
        err = rc == Z_MEM_ERROR ? GR_ENOMEM : GR_EMALFORMED; /* includes truncation */
        break;
    }
    inflateEnd(&s);
    return err;
}

static int gzip_encode(const uint8_t *in, size_t len, gr_buf_t *out)
{
    if (len > UINT_MAX / 2)
        return GR_ETOOBIG;
    z_stream s;
    memset(&s, 0, sizeof s);
    /* 15 + 16: gzip wrapper. Level 6 is zlib's default and Kafka's. */
    if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return GR_ENOMEM;
    uLong bound = deflateBound(&s, (uLong)len) + 32;
    int err = 0;
    if (bound > UINT_MAX || gr_buf_reserve(out, bound)) {
        err = bound > UINT_MAX ? GR_ETOOBIG : GR_ENOMEM;
    } else {
        s.next_in = (Bytef *)(uintptr_t)in;
        s.avail_in = (uInt)len;
        s.next_out = out->data + out->len;
        s.avail_out = (uInt)bound;
        if (deflate(&s, Z_FINISH) != Z_STREAM_END)
            err = GR_ENOMEM;
        else
            out->len += bound - s.avail_out;
    }
    deflateEnd(&s);
    return err;
}

/* ---- snappy ---- */

/* One raw snappy block. */
static int snappy_block_decode(const uint8_t *in, size_t in_len, sink_t *k)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)in, in_len, &n) != SNAPPY_OK)
        return GR_EMALFORMED;
    if (n > k->max_out - sink_produced(k))
        return GR_ETOOBIG; /* checked before anything is allocated */
    if (gr_buf_reserve(k->out, n ? n : 1))
        return GR_ENOMEM;
    size_t got = n;
    if (snappy_uncompress((const char *)in, in_len, (char *)k->out->data + k->out->len, &got) !=
            SNAPPY_OK ||
        got != n)
        return GR_EMALFORMED;
    k->out->len += n;
    return 0;
}

static int is_xerial(const uint8_t *in, size_t len)
{
    return len >= XERIAL_HDR_LEN && memcmp(in, xerial_magic, sizeof xerial_magic) == 0;
}

static int snappy_decode(const uint8_t *in, size_t in_len, sink_t *k)
{
    if (!is_xerial(in, in_len))
        return snappy_block_decode(in, in_len, k);
    size_t pos = XERIAL_HDR_LEN;
    while (pos < in_len) {
        /* snappy-java also reads streams written one after another. */
        if (is_xerial(in + pos, in_len - pos)) {
            pos += XERIAL_HDR_LEN;
            continue;
        }
        if (in_len - pos < 4)
            return GR_EMALFORMED;
        uint32_t blen = gr_be32(in + pos);
        pos += 4;
        if (blen > in_len - pos)
            return GR_EMALFORMED;
        int rc = snappy_block_decode(in + pos, blen, k);
        if (rc)
            return rc;
        pos += blen;
    }
    return 0;
}

static int snappy_encode(const uint8_t *in, size_t len, gr_buf_t *out)
{
    gr_buf_put(out, xerial_magic, sizeof xerial_magic);
    gr_buf_put_i32(out, 1); /* version */
    gr_buf_put_i32(out, 1); /* compatible version */
    if (out->oom)
        return GR_ENOMEM;
    for (size_t pos = 0; pos < len; pos += XERIAL_BLOCK) {
        size_t n = len - pos < XERIAL_BLOCK ? len - pos : XERIAL_BLOCK;
        size_t max = snappy_max_compressed_length(n);
        if (gr_buf_reserve(out, 4 + max))
            return GR_ENOMEM;
        size_t clen = max;
        if (snappy_compress((const char *)in + pos, n, (char *)out->data + out->len + 4, &clen) !=
            SNAPPY_OK)
            return GR_ENOMEM;
        gr_wbe32(out->data + out->len, (uint32_t)clen);
        out->len += 4 + clen;
    }
    return 0;
}

/* ---- lz4 ---- */

static int lz4_decode(const uint8_t *in, size_t in_len, sink_t *k)
{
    LZ4F_dctx *d;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return GR_ENOMEM;
    size_t pos = 0;
    int err = 0;
    for (;;) {
        size_t room = sink_room(k, &err);
        if (!room)
            break;
        size_t dst = room, src = in_len - pos;
        size_t r = LZ4F_decompress(d, k->out->data + k->out->len, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(r)) {
            err = GR_EMALFORMED;
            break;
        }
        pos += src;
        k->out->len += dst;
        if (sink_produced(k) > k->max_out) {
            err = GR_ETOOBIG;
            break;
        }
        /* r == 0: a frame ended; another may follow in the input. */
        if (r == 0 && pos == in_len)
            break;
        if (src == 0 && dst == 0) {
            err = GR_EMALFORMED; /* truncated: wants input there is not */
            break;
        }
    }
    LZ4F_freeDecompressionContext(d);
    return err;
}

static int lz4_encode(const uint8_t *in, size_t len, gr_buf_t *out)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    if (LZ4F_isError(bound))
        return GR_ETOOBIG;
    if (gr_buf_reserve(out, bound))
        return GR_ENOMEM;
    size_t n = LZ4F_compressFrame(out->data + out->len, bound, in, len, &prefs);
    if (LZ4F_isError(n))
        return GR_ENOMEM;
    out->len += n;
    return 0;
}

/* ---- zstd ---- */

/* The largest window a frame may ask for: 8 MiB covers every level up to
 * 19 (ultra levels 20-22 go beyond), and larger windows are allowed only
 * when the output bound is as large, up to zstd's own default cap of
 * 128 MiB. The decoder allocates about one window, so this bounds memory. */
static int zstd_window_log(size_t max_out)
{
    int wlog = 23;
    while (wlog < 27 && ((size_t)1 << wlog) < max_out)
        wlog++;
    return wlog;
}

static int zstd_decode(const uint8_t *in, size_t in_len, sink_t *k)
{
    unsigned long long fcs = ZSTD_getFrameContentSize(in, in_len);
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs > k->max_out)
        return GR_ETOOBIG; /* the first frame states its size: fail early */
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return GR_ENOMEM;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, zstd_window_log(k->max_out)))) {
        ZSTD_freeDCtx(d);
        return GR_ENOMEM;
    }
    ZSTD_inBuffer ib = {in, in_len, 0};
    int err = 0;
    for (;;) {
        size_t room = sink_room(k, &err);
        if (!room)
            break;
        ZSTD_outBuffer ob = {k->out->data + k->out->len, room, 0};
        size_t in_before = ib.pos;
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(r)) {
            err = ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge ? GR_ETOOBIG
                                                                                  : GR_EMALFORMED;
            break;
        }
        k->out->len += ob.pos;
        if (sink_produced(k) > k->max_out) {
            err = GR_ETOOBIG;
            break;
        }
        /* r == 0: a frame is decoded and flushed; another may follow. */
        if (r == 0 && ib.pos == ib.size)
            break;
        if (ob.pos == 0 && ib.pos == in_before) {
            err = GR_EMALFORMED; /* truncated */
            break;
        }
    }
    ZSTD_freeDCtx(d);
    return err;
}

static int zstd_encode(const uint8_t *in, size_t len, gr_buf_t *out)
{
    size_t bound = ZSTD_compressBound(len);
    if (ZSTD_isError(bound) || bound == 0)
        return GR_ETOOBIG;
    if (gr_buf_reserve(out, bound))
        return GR_ENOMEM;
    size_t n = ZSTD_compress(out->data + out->len, bound, in, len, 3);
    if (ZSTD_isError(n))
        return GR_ENOMEM;
    out->len += n;
    return 0;
}

/* ---- entry points ---- */

int gr_decompress(int codec, const uint8_t *in, size_t in_len, gr_buf_t *out, size_t max_out)
{
    if (out->counting)
        return GR_EINVAL;
    if (!in && in_len)
        return GR_EINVAL;
    if (!in)
        in = (const uint8_t *)"";
    sink_t k;
    sink_init(&k, out, max_out);
    int rc;
    switch (codec) {
    case GR_CODEC_GZIP: rc = gzip_decode(in, in_len, &k); break;
    case GR_CODEC_SNAPPY: rc = snappy_decode(in, in_len, &k); break;
    case GR_CODEC_LZ4: rc = lz4_decode(in, in_len, &k); break;
    case GR_CODEC_ZSTD: rc = zstd_decode(in, in_len, &k); break;
    default: return GR_EUNSUPPORTED;
    }
    return rc ? sink_fail(&k, rc) : 0;
}

int gr_compress(int codec, const uint8_t *in, size_t len, gr_buf_t *out)
{
    if (out->counting)
        return GR_EINVAL;
    if (!in && len)
        return GR_EINVAL;
    if (!in)
        in = (const uint8_t *)"";
    size_t start = out->len;
    int rc;
    switch (codec) {
    case GR_CODEC_GZIP: rc = gzip_encode(in, len, out); break;
    case GR_CODEC_SNAPPY: rc = snappy_encode(in, len, out); break;
    case GR_CODEC_LZ4: rc = lz4_encode(in, len, out); break;
    case GR_CODEC_ZSTD: rc = zstd_encode(in, len, out); break;
    default: return GR_EUNSUPPORTED;
    }
    if (rc)
        out->len = start;
    return rc;
}
