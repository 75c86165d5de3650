/* Log segment: a .log file of RecordBatch v2 bytes with a sparse offset
 * index and a sparse time index, in Kafka's byte layout.
 *
 * Files (all integers big-endian; N = 20-digit zero-padded base offset):
 *
 *   N.log       batches back to back, exactly as produced, with baseOffset
 *               and partitionLeaderEpoch filled in by the broker. No file
 *               header, no padding. Position p of a batch is its byte offset
 *               in this file; p + 12 + batchLength is the next batch.
 *
 *   N.index     8-byte entries, no header:
 *                 0 relativeOffset int32  (batch lastOffset - N)
 *                 4 position       int32  (file position of that batch)
 *               Strictly increasing in both fields. An entry is written for
 *               a batch when more than index.interval.bytes of log were
 *               appended since the previous entry (checked before adding
 *               the batch, as Kafka does, so the first batch of a segment
 *               never has one). Kafka preallocates this file to
 *               segment.index.bytes and trims it on close; Gregor appends
 *               entries with pwrite instead, so the file is always exactly
 *               8 * entries bytes, which is what a trimmed Kafka index is.
 *
 *   N.timeindex 12-byte entries, no header:
 *                 0 timestamp      int64  (max timestamp so far in segment)
 *                 8 relativeOffset int32  (lastOffset of the first batch
 *                                          carrying that timestamp, - N)
 *               Timestamps strictly increasing, offsets non-decreasing.
 *               Written together with an offset index entry when the
 *               segment's max timestamp grew past the last entry, and once
 *               more when the segment is sealed (rolled), so that the last
 *               entry holds the segment's max timestamp.
 *
 * Recovery rules (gr_log_segment_open / gr_log_segment_recover):
 *   - Nothing read from disk is trusted: each header is checked (magic 2,
 *     batchLength >= 49 and within the file, offsets non-negative and
 *     increasing, relative offsets within int32, end position within
 *     INT32_MAX) before its length is used.
 *   - On open, index files are loaded and checked (size a multiple of the
 *     entry size, at most one entry per 61 bytes of log, entries increasing,
 *     positions inside the log); the headers after the last index entry are
 *     walked to find the next offset. A missing or failing index file, or a
 *     tail that does not parse, marks the segment as needing recovery.
 *   - Recovery walks every batch and verifies its CRC-32C; the file is
 *     truncated at the first batch that fails, and both indexes are
 *     rewritten from the batches that passed. */
#include "log/segment.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "log/log_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_ENTRY 8
#define TIDX_ENTRY 12
#define SEG_MAX_SIZE INT32_MAX

typedef struct {
    int32_t rel;
    int32_t pos;
} idx_entry_t;

typedef struct {
    int64_t ts;
    int32_t rel;
} tidx_entry_t;

struct gr_segment_s {
    atomic_int refs;
    int64_t    base;
    char      *log_path;
    char      *idx_path;
    char      *tidx_path;
    int        log_fd;
    int        idx_fd;
    int        tidx_fd;
    int64_t    size;
    int64_t    next_offset;
    int32_t    interval;
    int64_t    bytes_since_index;
    int64_t    max_ts;
    int64_t    max_ts_offset;
    int64_t    first_ts;
    bool       needs_recovery;

    idx_entry_t  *idx;
    size_t        idx_n, idx_cap, idx_file_n;
    tidx_entry_t *tidx;
    size_t        tidx_n, tidx_cap, tidx_file_n;
};

/* A read-ahead window over the log file, so that walking small batches
 * costs one pread per window rather than one per header. */
typedef struct {
    gr_segment_t *seg;
    int64_t       win_pos;
    size_t        win_len;
    uint8_t       win[16384];
} hdr_reader_t;

static void reader_init(hdr_reader_t *r, gr_segment_t *seg)
{
    r->seg = seg;
    r->win_pos = 0;
    r->win_len = 0;
}

/* Reads and checks the header at pos. raw (optional) points at the 61
 * header bytes inside the window, valid until the next call. */
static int reader_hdr(hdr_reader_t *r, int64_t pos, gr_log_batch_hdr_t *h,
                      const uint8_t **raw)
{
    gr_segment_t *seg = r->seg;
    if (pos < 0 || pos > seg->size || seg->size - pos < GR_LOGB_HDR_SIZE)
        return GR_ECORRUPT;
    if (!(pos >= r->win_pos && pos + GR_LOGB_HDR_SIZE <= r->win_pos + (int64_t)r->win_len)) {
        size_t want = sizeof r->win;
        if ((int64_t)want > seg->size - pos)
            want = (size_t)(seg->size - pos);
        int rc = gr_log_io_pread_all(seg->log_fd, r->win, want, pos);
        if (rc)
            return rc;
        r->win_pos = pos;
        r->win_len = want;
    }
    const uint8_t *p = r->win + (pos - r->win_pos);
    gr_log_batch_hdr_parse(p, h);
    int rc = gr_log_batch_hdr_check(h, seg->size - pos);
    if (rc)
        return rc;
    if (h->base_offset < seg->base ||
        gr_log_batch_last_offset(h) - seg->base > INT32_MAX ||
        pos + gr_log_batch_size(h) > SEG_MAX_SIZE)
        return GR_ECORRUPT;
    if (raw)
        *raw = p;
    return 0;
}

int gr_log_segment_path(char *out, size_t cap, const char *dir, int64_t base,
                        const char *suffix)
{
    int n = snprintf(out, cap, "%s/%020" PRId64 "%s", dir, base, suffix);
    return (n < 0 || (size_t)n >= cap) ? GR_ETOOBIG : 0;
}

static char *seg_path(const char *dir, int64_t base, const char *suffix)
{
    size_t cap = strlen(dir) + 40;
    char *p = malloc(cap);
    if (p && gr_log_segment_path(p, cap, dir, base, suffix)) {
        free(p);
        p = NULL;
    }
    return p;
}

static void seg_free(gr_segment_t *seg)
{
    if (seg->log_fd >= 0)
        close(seg->log_fd);
    if (seg->idx_fd >= 0)
        close(seg->idx_fd);
    if (seg->tidx_fd >= 0)
        close(seg->tidx_fd);
    free(seg->log_path);
    free(seg->idx_path);
    free(seg->tidx_path);
    free(seg->idx);
    free(seg->tidx);
    free(seg);
}

static gr_segment_t *seg_alloc(const char *dir, int64_t base, int32_t interval)
{
    gr_segment_t *seg = calloc(1, sizeof *seg);
    if (!seg)
        return NULL;
    atomic_init(&seg->refs, 1);
    seg->base = base;
    seg->next_offset = base;
    seg->interval = interval;
    seg->log_fd = seg->idx_fd = seg->tidx_fd = -1;
    seg->max_ts = -1;
    seg->max_ts_offset = -1;
    seg->first_ts = -1;
    seg->log_path = seg_path(dir, base, ".log");
    seg->idx_path = seg_path(dir, base, ".index");
    seg->tidx_path = seg_path(dir, base, ".timeindex");
    if (!seg->log_path || !seg->idx_path || !seg->tidx_path) {
        seg_free(seg);
        return NULL;
    }
    return seg;
}

static void reset_indexes(gr_segment_t *seg)
{
    seg->idx_n = seg->idx_file_n = 0;
    seg->tidx_n = seg->tidx_file_n = 0;
    seg->bytes_since_index = 0;
    seg->max_ts = -1;
    seg->max_ts_offset = -1;
}

static int idx_push(gr_segment_t *seg, int32_t rel, int32_t pos)
{
    if (seg->idx_n == seg->idx_cap) {
        size_t cap = seg->idx_cap ? seg->idx_cap * 2 : 64;
        idx_entry_t *n = realloc(seg->idx, cap * sizeof *n);
        if (!n)
            return GR_ENOMEM;
        seg->idx = n;
        seg->idx_cap = cap;
    }
    seg->idx[seg->idx_n++] = (idx_entry_t){rel, pos};
    return 0;
}

static int tidx_push(gr_segment_t *seg, int64_t ts, int32_t rel)
{
    if (seg->tidx_n == seg->tidx_cap) {
        size_t cap = seg->tidx_cap ? seg->tidx_cap * 2 : 64;
        tidx_entry_t *n = realloc(seg->tidx, cap * sizeof *n);
        if (!n)
            return GR_ENOMEM;
        seg->tidx = n;
        seg->tidx_cap = cap;
    }
    seg->tidx[seg->tidx_n++] = (tidx_entry_t){ts, rel};
    return 0;
}

/* Adds a time index entry for the current max timestamp if it grew. */
static void tidx_maybe_add(gr_segment_t *seg)
{
    if (seg->max_ts < 0 && seg->max_ts_offset < 0)
        return;
    int64_t last = seg->tidx_n ? seg->tidx[seg->tidx_n - 1].ts : -1;
    if (seg->max_ts > last)
        tidx_push(seg, seg->max_ts, (int32_t)(seg->max_ts_offset - seg->base));
}

/* Bookkeeping for one batch placed at pos: index entries (Kafka's rule),
 * max timestamp, next offset. Memory failures only make the index sparser. */
static void index_batch(gr_segment_t *seg, const gr_log_batch_hdr_t *h, int64_t pos)
{
    int64_t last = gr_log_batch_last_offset(h);
    if (pos == 0)
        seg->first_ts = h->max_ts;
    if (h->max_ts > seg->max_ts || seg->max_ts_offset < 0) {
        if (h->max_ts > seg->max_ts)
            seg->max_ts = h->max_ts;
        seg->max_ts_offset = last;
    }
    if (seg->bytes_since_index > seg->interval) {
        if (idx_push(seg, (int32_t)(last - seg->base), (int32_t)pos) == 0)
            tidx_maybe_add(seg);
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += gr_log_batch_size(h);
    seg->next_offset = last + 1;
}

/* Writes the in-memory entries not yet in the files. A failure leaves the
 * file short (a valid, sparser index) and is retried on the next call. */
static int sync_index_files(gr_segment_t *seg)
{
    int rc = 0;
    if (seg->idx_file_n < seg->idx_n) {
        size_t n = seg->idx_n - seg->idx_file_n;
        uint8_t *b = malloc(n * IDX_ENTRY);
        if (!b)
            return GR_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            gr_wbe32(b + i * IDX_ENTRY, (uint32_t)seg->idx[seg->idx_file_n + i].rel);
            gr_wbe32(b + i * IDX_ENTRY + 4, (uint32_t)seg->idx[seg->idx_file_n + i].pos);
        }
        rc = gr_log_io_pwrite_all(seg->idx_fd, b, n * IDX_ENTRY,
                                  (int64_t)(seg->idx_file_n * IDX_ENTRY));
        free(b);
        if (rc == 0)
            seg->idx_file_n = seg->idx_n;
        else if (ftruncate(seg->idx_fd, (off_t)(seg->idx_file_n * IDX_ENTRY)) != 0)
            seg->needs_recovery = true;
    }
    if (rc == 0 && seg->tidx_file_n < seg->tidx_n) {
        size_t n = seg->tidx_n - seg->tidx_file_n;
        uint8_t *b = malloc(n * TIDX_ENTRY);
        if (!b)
            return GR_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            gr_wbe64(b + i * TIDX_ENTRY, (uint64_t)seg->tidx[seg->tidx_file_n + i].ts);
            gr_wbe32(b + i * TIDX_ENTRY + 8, (uint32_t)seg->tidx[seg->tidx_file_n + i].rel);
        }
        rc = gr_log_io_pwrite_all(seg->tidx_fd, b, n * TIDX_ENTRY,
                                  (int64_t)(seg->tidx_file_n * TIDX_ENTRY));
        free(b);
        if (rc == 0)
            seg->tidx_file_n = seg->tidx_n;
        else if (ftruncate(seg->tidx_fd, (off_t)(seg->tidx_file_n * TIDX_ENTRY)) != 0)
            seg->needs_recovery = true;
    }
    if (rc)
        GR_LOG_RL(GR_LOG_WARN, "log", "cannot write index of %s: %s", seg->log_path,
                  gr_strerror(rc));
    return rc;
}

static int open_file(const char *path, bool truncate, bool *created)
{
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    if (created) {
        *created = false;
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd >= 0 ? fd : -errno;
        *created = true;
    }
    int fd = open(path, flags, 0644);
    return fd >= 0 ? fd : -errno;
}

int gr_log_segment_create(const char *dir, int64_t base_offset, int32_t index_interval,
                          gr_segment_t **out)
{
    return gr_log_segment_create_suffixed(dir, base_offset, index_interval, "", out);
}

/* ---- files with a suffix (the log cleaner's .cleaned / .swap) ---- */

static int add_suffix(char **path, const char *suffix)
{
    char *p;
    if (!*suffix)
        return 0;
    if (asprintf(&p, "%s%s", *path, suffix) < 0)
        return GR_ENOMEM;
    free(*path);
    *path = p;
    return 0;
}

const char *gr_log_segment_log_path(const gr_segment_t *seg) { return seg->log_path; }

int gr_log_segment_rename_suffix(gr_segment_t *seg, const char *from, const char *to)
{
    /* The .log file last: its name is what recovery goes by. */
    char **cur[3] = {&seg->idx_path, &seg->tidx_path, &seg->log_path};
    size_t fl = strlen(from);
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(*cur[i]);
        if (l < fl || strcmp(*cur[i] + l - fl, from) != 0)
            return GR_EINVAL;
    }
    for (size_t i = 0; i < 3; i++) {
        size_t stem = strlen(*cur[i]) - fl;
        char *np;
        if (asprintf(&np, "%.*s%s", (int)stem, *cur[i], to) < 0)
            return GR_ENOMEM;
        if (rename(*cur[i], np) != 0) {
            int rc = -errno;
            free(np);
            return rc;
        }
        free(*cur[i]);
        *cur[i] = np;
    }
    return 0;
}

int gr_log_segment_create_suffixed(const char *dir, int64_t base_offset, int32_t index_interval,
                                   const char *suffix, gr_segment_t **out)
{
    if (base_offset < 0)
        return GR_EINVAL;
    gr_segment_t *seg = seg_alloc(dir, base_offset, index_interval);
    if (!seg)
        return GR_ENOMEM;
    int rc;
    if ((rc = add_suffix(&seg->log_path, suffix)) != 0 ||
        (rc = add_suffix(&seg->idx_path, suffix)) != 0 ||
        (rc = add_suffix(&seg->tidx_path, suffix)) != 0) {
        seg_free(seg);
        return rc;
    }
    if ((rc = seg->log_fd = open_file(seg->log_path, true, NULL)) < 0 ||
        (rc = seg->idx_fd = open_file(seg->idx_path, true, NULL)) < 0 ||
        (rc = seg->tidx_fd = open_file(seg->tidx_path, true, NULL)) < 0) {
        if (seg->log_fd < 0)
            seg->log_fd = -1;
        if (seg->idx_fd < 0)
            seg->idx_fd = -1;
        if (seg->tidx_fd < 0)
            seg->tidx_fd = -1;
        seg_free(seg);
        return rc;
    }
    *out = seg;
    return 0;
}

/* Loads and checks an index file; returns 0, or 1 if it must be rebuilt. */
static int load_idx(gr_segment_t *seg)
{
    struct stat st;
    if (fstat(seg->idx_fd, &st) != 0)
        return 1;
    uint64_t fsz = (uint64_t)st.st_size;
    if (fsz % IDX_ENTRY || fsz / IDX_ENTRY > (uint64_t)seg->size / GR_LOGB_HDR_SIZE + 1)
        return 1;
    size_t n = (size_t)(fsz / IDX_ENTRY);
    if (n == 0)
        return 0;
    uint8_t *b = malloc(fsz);
    if (!b || gr_log_io_pread_all(seg->idx_fd, b, fsz, 0)) {
        free(b);
        return 1;
    }
    int bad = 0;
    int64_t prev_rel = -1, prev_pos = -1;
    for (size_t i = 0; i < n && !bad; i++) {
        int32_t rel = (int32_t)gr_be32(b + i * IDX_ENTRY);
        int32_t pos = (int32_t)gr_be32(b + i * IDX_ENTRY + 4);
        if (rel <= prev_rel || pos <= prev_pos || pos >= seg->size)
            bad = 1;
        else if (idx_push(seg, rel, pos))
            bad = 1;
        prev_rel = rel;
        prev_pos = pos;
    }
    free(b);
    seg->idx_file_n = seg->idx_n;
    return bad;
}

static int load_tidx(gr_segment_t *seg)
{
    struct stat st;
    if (fstat(seg->tidx_fd, &st) != 0)
        return 1;
    uint64_t fsz = (uint64_t)st.st_size;
    if (fsz % TIDX_ENTRY || fsz / TIDX_ENTRY > (uint64_t)seg->size / GR_LOGB_HDR_SIZE + 1)
        return 1;
    size_t n = (size_t)(fsz / TIDX_ENTRY);
    if (n == 0)
        return 0;
    uint8_t *b = malloc(fsz);
    if (!b || gr_log_io_pread_all(seg->tidx_fd, b, fsz, 0)) {
        free(b);
        return 1;
    }
    int bad = 0;
    int64_t prev_ts = INT64_MIN, prev_rel = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        int64_t ts = (int64_t)gr_be64(b + i * TIDX_ENTRY);
        int32_t rel = (int32_t)gr_be32(b + i * TIDX_ENTRY + 8);
        if (ts <= prev_ts || rel < prev_rel)
            bad = 1;
        else if (tidx_push(seg, ts, rel))
            bad = 1;
        prev_ts = ts;
        prev_rel = rel;
    }
    free(b);
    seg->tidx_file_n = seg->tidx_n;
    return bad;
}

int gr_log_segment_open(const char *dir, int64_t base_offset, int32_t index_interval,
                        gr_segment_t **out)
{
    if (base_offset < 0)
        return GR_EINVAL;
    gr_segment_t *seg = seg_alloc(dir, base_offset, index_interval);
    if (!seg)
        return GR_ENOMEM;
    int rc = 0;
    bool idx_created = false, tidx_created = false;
    seg->log_fd = open(seg->log_path, O_RDWR | O_CLOEXEC);
    if (seg->log_fd < 0) {
        rc = -errno;
        goto fail;
    }
    struct stat st;
    if (fstat(seg->log_fd, &st) != 0) {
        rc = -errno;
        goto fail;
    }
    seg->size = st.st_size;
    if ((rc = seg->idx_fd = open_file(seg->idx_path, false, &idx_created)) < 0 ||
        (rc = seg->tidx_fd = open_file(seg->tidx_path, false, &tidx_created)) < 0) {
        if (seg->idx_fd < 0)
            seg->idx_fd = -1;
        if (seg->tidx_fd < 0)
            seg->tidx_fd = -1;
        goto fail;
    }
    rc = 0;
    if (seg->size > SEG_MAX_SIZE || (seg->size > 0 && (idx_created || tidx_created)) ||
        load_idx(seg) || load_tidx(seg)) {
        seg->needs_recovery = true;
        *out = seg;
        return 0;
    }

    /* Walk the headers after the last index entry to find the next offset
     * and fold the tail into the max timestamp. */
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r) {
        rc = GR_ENOMEM;
        goto fail;
    }
    reader_init(r, seg);
    int64_t pos = seg->idx_n ? seg->idx[seg->idx_n - 1].pos : 0;
    int64_t min_base = seg->base;
    gr_log_batch_hdr_t h;
    if (seg->size >= GR_LOGB_HDR_SIZE && reader_hdr(r, 0, &h, NULL) == 0)
        seg->first_ts = h.max_ts;
    if (seg->tidx_n) {
        seg->max_ts = seg->tidx[seg->tidx_n - 1].ts;
        seg->max_ts_offset = seg->base + seg->tidx[seg->tidx_n - 1].rel;
    }
    while (pos < seg->size) {
        if (reader_hdr(r, pos, &h, NULL) || h.base_offset < min_base) {
            seg->needs_recovery = true;
            break;
        }
        if (seg->idx_n && pos == seg->idx[seg->idx_n - 1].pos &&
            gr_log_batch_last_offset(&h) != seg->base + seg->idx[seg->idx_n - 1].rel) {
            seg->needs_recovery = true;
            break;
        }
        if (h.max_ts > seg->max_ts) {
            seg->max_ts = h.max_ts;
            seg->max_ts_offset = gr_log_batch_last_offset(&h);
        }
        seg->next_offset = gr_log_batch_last_offset(&h) + 1;
        min_base = seg->next_offset;
        pos += gr_log_batch_size(&h);
    }
    free(r);
    if (seg->tidx_n && seg->base + seg->tidx[seg->tidx_n - 1].rel >= seg->next_offset)
        seg->needs_recovery = true;
    *out = seg;
    return 0;
fail:
    if (seg->log_fd < 0)
        seg->log_fd = -1;
    seg_free(seg);
    return rc;
}

bool gr_log_segment_needs_recovery(const gr_segment_t *seg) { return seg->needs_recovery; }

/* CRC-32C of the batch at pos from the attributes field to its end. */
static int batch_crc(gr_segment_t *seg, int64_t pos, int64_t size, uint8_t *buf, size_t cap,
                     uint32_t *crc)
{
    uint32_t c = 0;
    int64_t p = pos + GR_LOGB_CRC_START, end = pos + size;
    while (p < end) {
        size_t n = cap;
        if ((int64_t)n > end - p)
            n = (size_t)(end - p);
        int rc = gr_log_io_pread_all(seg->log_fd, buf, n, p);
        if (rc)
            return rc;
        c = gr_crc32c(c, buf, n);
        p += (int64_t)n;
    }
    *crc = c;
    return 0;
}

int gr_log_segment_recover(gr_segment_t *seg, int64_t min_offset, gr_log_batch_fn fn,
                           void *arg, int64_t *truncated_bytes, int64_t *truncated_at)
{
    hdr_reader_t *r = malloc(sizeof *r);
    size_t cap = 65536;
    uint8_t *buf = malloc(cap);
    if (!r || !buf) {
        free(r);
        free(buf);
        return GR_ENOMEM;
    }
    struct stat st;
    if (fstat(seg->log_fd, &st) != 0) {
        int rc = -errno;
        free(r);
        free(buf);
        return rc;
    }
    seg->size = st.st_size;
    reader_init(r, seg);
    reset_indexes(seg);
    seg->next_offset = seg->base;
    seg->first_ts = -1;
    if (min_offset < seg->base)
        min_offset = seg->base;

    int rc = 0;
    int64_t pos = 0;
    gr_log_batch_hdr_t h;
    const uint8_t *raw;
    while (pos < seg->size) {
        if (reader_hdr(r, pos, &h, &raw) != 0 || h.base_offset < min_offset)
            break;
        uint8_t hdr[GR_LOGB_HDR_SIZE];
        memcpy(hdr, raw, sizeof hdr);
        uint32_t crc;
        rc = batch_crc(seg, pos, gr_log_batch_size(&h), buf, cap, &crc);
        if (rc == GR_ECORRUPT) {
            rc = 0;
            break;
        }
        if (rc)
            goto out;
        if (crc != h.crc)
            break;
        if (fn)
            fn(arg, hdr, seg->log_fd, pos);
        index_batch(seg, &h, pos);
        min_offset = gr_log_batch_last_offset(&h) + 1;
        pos += gr_log_batch_size(&h);
    }
    *truncated_bytes = seg->size - pos;
    *truncated_at = seg->next_offset;
    if (pos < seg->size) {
        if (ftruncate(seg->log_fd, (off_t)pos) != 0) {
            rc = -errno;
            goto out;
        }
        seg->size = pos;
    }
    if (ftruncate(seg->idx_fd, 0) != 0 || ftruncate(seg->tidx_fd, 0) != 0) {
        rc = -errno;
        goto out;
    }
    rc = sync_index_files(seg);
    if (rc == 0)
        seg->needs_recovery = false;
out:
    free(r);
    free(buf);
    return rc;
}

int gr_log_segment_append(gr_segment_t *seg, const uint8_t *batches, size_t len)
{
    if (len == 0)
        return 0;
    if ((int64_t)len > SEG_MAX_SIZE - seg->size)
        return GR_ETOOBIG;
    int rc = gr_log_io_pwrite_all(seg->log_fd, batches, len, seg->size);
    if (rc) {
        if (ftruncate(seg->log_fd, (off_t)seg->size) != 0) {
            gr_log(GR_LOG_ERROR, "log", "cannot cut %s back to %" PRId64 " bytes after a failed write: %s",
                   seg->log_path, seg->size, strerror(errno));
            seg->needs_recovery = true;
        }
        return rc;
    }
    size_t off = 0;
    while (off + GR_LOGB_HDR_SIZE <= len) {
        gr_log_batch_hdr_t h;
        gr_log_batch_hdr_parse(batches + off, &h);
        if (gr_log_batch_hdr_check(&h, (int64_t)(len - off)))
            break; /* the caller promised valid batches; stop indexing */
        index_batch(seg, &h, seg->size + (int64_t)off);
        off += (size_t)gr_log_batch_size(&h);
    }
    seg->size += (int64_t)len;
    sync_index_files(seg);
    return 0;
}

/* Position to start a scan for offset: the largest index entry whose
 * offset is below it (that batch ends before offset, so the scan skips it
 * and learns where the previous batch ended), or the start of the file. */
static int64_t idx_lookup(const gr_segment_t *seg, int64_t offset)
{
    int64_t rel = offset - seg->base;
    size_t lo = 0, hi = seg->idx_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->idx[mid].rel < rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? seg->idx[lo - 1].pos : 0;
}

/* Finds the first batch whose last offset >= offset; *prev_next gets the
 * offset just past the batch before it. */
static int seek_offset(gr_segment_t *seg, int64_t offset, int64_t *pos_out,
                       gr_log_batch_hdr_t *hdr, int64_t *prev_next)
{
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r)
        return GR_ENOMEM;
    reader_init(r, seg);
    int64_t pos = idx_lookup(seg, offset);
    int64_t prev = seg->base;
    int rc = GR_ENOTFOUND;
    while (pos < seg->size) {
        gr_log_batch_hdr_t h;
        rc = reader_hdr(r, pos, &h, NULL);
        if (rc) {
            GR_LOG_RL(GR_LOG_ERROR, "log", "bad batch header in %s at position %" PRId64,
                      seg->log_path, pos);
            break;
        }
        if (gr_log_batch_last_offset(&h) >= offset) {
            *pos_out = pos;
            if (hdr)
                *hdr = h;
            break;
        }
        prev = gr_log_batch_last_offset(&h) + 1;
        pos += gr_log_batch_size(&h);
        rc = GR_ENOTFOUND;
    }
    if (prev_next)
        *prev_next = prev;
    free(r);
    return rc;
}

int gr_log_segment_find(gr_segment_t *seg, int64_t offset, int64_t *pos,
                        gr_log_batch_hdr_t *hdr)
{
    if (offset >= seg->next_offset)
        return GR_ENOTFOUND;
    return seek_offset(seg, offset, pos, hdr, NULL);
}

int gr_log_segment_read_range(gr_segment_t *seg, int64_t offset, int64_t max_bytes,
                              int64_t max_offset, bool partial, int64_t *pos_out,
                              int64_t *len_out, int64_t *first_offset)
{
    gr_log_batch_hdr_t h;
    int64_t pos;
    int rc = gr_log_segment_find(seg, offset, &pos, &h);
    if (rc)
        return rc;
    *pos_out = pos;
    *first_offset = h.base_offset;
    *len_out = 0;
    if (gr_log_batch_last_offset(&h) >= max_offset)
        return 0;
    int64_t first = gr_log_batch_size(&h);
    int64_t want = max_bytes > first ? max_bytes : first;
    int64_t end = pos + first;
    if (seg->next_offset <= max_offset && (partial || seg->size - pos <= max_bytes)) {
        /* Every batch from here is readable: the rest of the segment, cut
         * at the limit (the common tailing read takes it all). */
        int64_t rest = seg->size - pos;
        *len_out = rest < want ? rest : want;
        return 0;
    }
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r)
        return GR_ENOMEM;
    reader_init(r, seg);
    while (end < seg->size && end - pos < want) {
        if (reader_hdr(r, end, &h, NULL) || gr_log_batch_last_offset(&h) >= max_offset)
            break;
        if (!partial && end + gr_log_batch_size(&h) - pos > max_bytes)
            break;
        end += gr_log_batch_size(&h);
    }
    free(r);
    *len_out = end - pos < want ? end - pos : want;
    return 0;
}

int gr_log_segment_find_ts(gr_segment_t *seg, int64_t ts, int64_t *pos_out,
                           gr_log_batch_hdr_t *hdr)
{
    if (seg->size == 0 || seg->max_ts < ts)
        return GR_ENOTFOUND;
    /* The last time index entry below ts: every batch up to its offset has
     * an older max timestamp, so the answer lies at or after that batch. */
    size_t lo = 0, hi = seg->tidx_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->tidx[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t pos = 0;
    if (lo) {
        int rc = seek_offset(seg, seg->base + seg->tidx[lo - 1].rel, &pos, NULL, NULL);
        if (rc)
            return rc;
    }
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r)
        return GR_ENOMEM;
    reader_init(r, seg);
    int rc = GR_ENOTFOUND;
    while (pos < seg->size) {
        gr_log_batch_hdr_t h;
        rc = reader_hdr(r, pos, &h, NULL);
        if (rc)
            break;
        if (h.max_ts >= ts) {
            *pos_out = pos;
            if (hdr)
                *hdr = h;
            break;
        }
        pos += gr_log_batch_size(&h);
        rc = GR_ENOTFOUND;
    }
    free(r);
    return rc;
}

int gr_log_segment_read_hdr(gr_segment_t *seg, int64_t pos, gr_log_batch_hdr_t *hdr)
{
    uint8_t b[GR_LOGB_HDR_SIZE];
    if (pos < 0 || pos > seg->size || seg->size - pos < GR_LOGB_HDR_SIZE)
        return GR_ECORRUPT;
    int rc = gr_log_io_pread_all(seg->log_fd, b, sizeof b, pos);
    if (rc)
        return rc;
    gr_log_batch_hdr_parse(b, hdr);
    return gr_log_batch_hdr_check(hdr, seg->size - pos);
}

int gr_log_segment_scan(gr_segment_t *seg, int64_t from_offset, gr_log_batch_fn fn,
                        void *arg)
{
    int64_t pos = 0;
    if (from_offset >= seg->next_offset)
        return 0;
    int rc = seek_offset(seg, from_offset, &pos, NULL, NULL);
    if (rc)
        return rc == GR_ENOTFOUND ? 0 : rc;
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r)
        return GR_ENOMEM;
    reader_init(r, seg);
    while (pos < seg->size) {
        gr_log_batch_hdr_t h;
        const uint8_t *raw;
        rc = reader_hdr(r, pos, &h, &raw);
        if (rc)
            break;
        uint8_t hdr[GR_LOGB_HDR_SIZE];
        memcpy(hdr, raw, sizeof hdr);
        fn(arg, hdr, seg->log_fd, pos);
        pos += gr_log_batch_size(&h);
    }
    free(r);
    return rc;
}

int gr_log_segment_truncate(gr_segment_t *seg, int64_t offset)
{
    int64_t pos, prev_next;
    if (offset >= seg->next_offset)
        return 0;
    int rc = seek_offset(seg, offset, &pos, NULL, &prev_next);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (ftruncate(seg->log_fd, (off_t)pos) != 0)
        return -errno;
    seg->size = pos;
    seg->next_offset = prev_next;
    while (seg->idx_n && seg->idx[seg->idx_n - 1].pos >= pos)
        seg->idx_n--;
    while (seg->tidx_n && seg->base + seg->tidx[seg->tidx_n - 1].rel >= prev_next)
        seg->tidx_n--;
    if (seg->idx_file_n > seg->idx_n)
        seg->idx_file_n = seg->idx_n;
    if (seg->tidx_file_n > seg->tidx_n)
        seg->tidx_file_n = seg->tidx_n;
    if (ftruncate(seg->idx_fd, (off_t)(seg->idx_file_n * IDX_ENTRY)) != 0 ||
        ftruncate(seg->tidx_fd, (off_t)(seg->tidx_file_n * TIDX_ENTRY)) != 0)
        return -errno;
    if (seg->tidx_n) {
        seg->max_ts = seg->tidx[seg->tidx_n - 1].ts;
        seg->max_ts_offset = seg->base + seg->tidx[seg->tidx_n - 1].rel;
    } else {
        seg->max_ts = -1;
        seg->max_ts_offset = -1;
    }
    if (pos == 0)
        seg->first_ts = -1;
    seg->bytes_since_index = 0;
    return 0;
}

int gr_log_segment_seal(gr_segment_t *seg)
{
    if (seg->size == 0)
        return 0;
    tidx_maybe_add(seg);
    return sync_index_files(seg);
}

int gr_log_segment_flush(gr_segment_t *seg)
{
    if (fsync(seg->log_fd) != 0)
        return -errno;
    if (fsync(seg->idx_fd) != 0)
        return -errno;
    if (fsync(seg->tidx_fd) != 0)
        return -errno;
    return 0;
}

void gr_log_segment_ref(gr_segment_t *seg) { atomic_fetch_add(&seg->refs, 1); }

void gr_log_segment_unref(gr_segment_t *seg)
{
    if (seg && atomic_fetch_sub(&seg->refs, 1) == 1)
        seg_free(seg);
}

void gr_log_segment_close(gr_segment_t *seg) { gr_log_segment_unref(seg); }

int gr_log_segment_delete(gr_segment_t *seg)
{
    int rc = 0;
    const char *paths[] = {seg->log_path, seg->idx_path, seg->tidx_path};
    for (size_t i = 0; i < 3; i++)
        if (unlink(paths[i]) != 0 && errno != ENOENT && !rc)
            rc = -errno;
    gr_log_segment_unref(seg);
    return rc;
}

int gr_log_segment_retire(gr_segment_t *seg, char *paths[3])
{
    char **cur[3] = {&seg->log_path, &seg->idx_path, &seg->tidx_path};
    int rc = 0;
    for (size_t i = 0; i < 3; i++) {
        paths[i] = NULL;
        char *to;
        if (asprintf(&to, "%s.deleted", *cur[i]) < 0) {
            rc = GR_ENOMEM;
            continue;
        }
        if (rename(*cur[i], to) != 0) {
            /* A file already missing is fine; anything else leaves the file
             * where it is, and it is unlinked below instead. */
            int e = errno;
            free(to);
            if (e != ENOENT && unlink(*cur[i]) != 0 && errno != ENOENT && !rc)
                rc = -errno;
            continue;
        }
        free(*cur[i]);
        *cur[i] = to;
        paths[i] = strdup(to);
        if (!paths[i] && !rc)
            rc = GR_ENOMEM;
    }
    gr_log_segment_unref(seg);
    return rc;
}

int64_t gr_log_segment_mtime_ms(const gr_segment_t *seg)
{
    struct stat st;
    if (fstat(seg->log_fd, &st) != 0)
        return -1;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int64_t gr_log_segment_base_offset(const gr_segment_t *seg) { return seg->base; }
int64_t gr_log_segment_next_offset(const gr_segment_t *seg) { return seg->next_offset; }
int64_t gr_log_segment_size(const gr_segment_t *seg) { return seg->size; }
int64_t gr_log_segment_max_ts(const gr_segment_t *seg) { return seg->max_ts; }
int64_t gr_log_segment_max_ts_offset(const gr_segment_t *seg) { return seg->max_ts_offset; }
int64_t gr_log_segment_first_batch_ts(const gr_segment_t *seg) { return seg->first_ts; }
int gr_log_segment_fd(const gr_segment_t *seg) { return seg->log_fd; }
size_t gr_log_segment_index_entries(const gr_segment_t *seg) { return seg->idx_n; }
size_t gr_log_segment_timeindex_entries(const gr_segment_t *seg) { return seg->tidx_n; }

bool gr_log_segment_index_full(const gr_segment_t *seg, int64_t max_index_bytes)
{
    return (int64_t)(seg->idx_n + 1) * IDX_ENTRY > max_index_bytes ||
           (int64_t)(seg->tidx_n + 2) * TIDX_ENTRY > max_index_bytes;
}
