/* Idempotent-producer state of one partition; see producer_state.h.
 *
 * Snapshot file format (Kafka's ProducerStateManager, version 1)
 * ==============================================================
 *
 * File name: <partition dir>/<offset as 20 decimal digits>.snapshot, where the
 * offset is the log end offset the state was taken at (the state covers every
 * batch below it). Written as <name>.tmp, fsynced, renamed, directory fsynced;
 * a leftover .tmp is a torn write and is deleted by the next load. All
 * integers big-endian:
 *
 *   offset  size  field
 *   0       2     version           int16, 1
 *   2       4     crc               uint32, CRC-32C of every byte from offset 6
 *                                   to the end of the file
 *   6       4     entry count       int32, n >= 0
 *   10      46*n  entries, each:
 *     +0    8     producer_id       int64
 *     +8    2     epoch             int16
 *     +10   4     last_sequence     int32, last sequence of the newest batch (-1: none)
 *     +14   8     last_offset       int64, last offset of the newest batch (-1: none)
 *     +22   4     offset_delta      int32, last_offset - first offset of that
 *                                   batch, which is also last_sequence - first
 *                                   sequence (0: none)
 *     +26   8     timestamp         int64, max timestamp of the newest batch
 *     +34   4     coordinator_epoch int32 (-1: none)
 *     +38   8     current_txn_first_offset int64 (-1: no open transaction)
 *
 * (Kafka's schema: PRODUCER_SNAPSHOT_ENTRY_SCHEMA in ProducerStateManager, an
 * ArrayOf with an int32 count; the file is byte-compatible with Kafka's.)
 *
 * Recovery rules. Only the newest batch of each producer is in the file, so
 * after a restart a retry of the newest batch is still a duplicate but a retry
 * of an older one is OUT_OF_ORDER_SEQUENCE_NUMBER, exactly as in Kafka. A file
 * with a wrong version, a wrong CRC, or a length that disagrees with its count
 * is corrupt: logged, deleted, and the next older snapshot is used (Kafka's
 * loadFromSnapshot). Entries are written in ascending producer id order so
 * that equal states give equal files. */
#include "txn/producer_state.h"

#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_VERSION     1
#define SNAP_HEADER      10 /* version + crc + count */
#define SNAP_CRC_FROM    6
#define SNAP_ENTRY       46
#define SNAP_MAX_BYTES   ((size_t)256 << 20)
#define SNAP_SUFFIX      ".snapshot"
#define SNAP_TMP_SUFFIX  ".snapshot.tmp"

/* Open addressing with linear probing; an empty slot has producer_id -1
 * (producer ids in the table are always >= 0). The table is at most half
 * full. */
struct gr_pstate_s {
    gr_pstate_entry_t *slots;
    size_t             cap; /* power of two, or 0 */
    size_t             count;
    int64_t            map_end_offset; /* state covers offsets below this */
};

/* ---- sequence arithmetic (Kafka's DefaultRecordBatch) ---- */

static int in_sequence(int32_t last_seq, int32_t next_seq)
{
    return (int64_t)next_seq == (int64_t)last_seq + 1 ||
           (next_seq == 0 && last_seq == INT32_MAX);
}

static int32_t decrement_sequence(int32_t seq, int32_t dec)
{
    if (seq < dec)
        return (int32_t)((int64_t)seq - dec + INT32_MAX + 1);
    return seq - dec;
}

/* ---- the table ---- */

static size_t slot_of(int64_t pid, size_t cap)
{
    uint64_t x = (uint64_t)pid; /* splitmix64 finalizer */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x & (cap - 1);
}

static gr_pstate_entry_t *find(const gr_pstate_t *ps, int64_t pid)
{
    if (ps->cap == 0 || pid < 0)
        return NULL;
    for (size_t i = slot_of(pid, ps->cap);; i = (i + 1) & (ps->cap - 1)) {
        gr_pstate_entry_t *e = &ps->slots[i];
        if (e->producer_id == pid)
            return e;
        if (e->producer_id < 0)
            return NULL;
    }
}

static int grow(gr_pstate_t *ps)
{
    size_t ncap = ps->cap ? ps->cap * 2 : 16;
    gr_pstate_entry_t *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return GR_ENOMEM;
    for (size_t i = 0; i < ncap; i++)
        ns[i].producer_id = -1;
    for (size_t i = 0; i < ps->cap; i++) {
        gr_pstate_entry_t *e = &ps->slots[i];
        if (e->producer_id < 0)
            continue;
        size_t j = slot_of(e->producer_id, ncap);
        while (ns[j].producer_id >= 0)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(ps->slots);
    ps->slots = ns;
    ps->cap = ncap;
    return 0;
}

/* The entry of pid, created empty (as Kafka's ProducerStateEntry.empty) when
 * missing; NULL when out of memory. */
static gr_pstate_entry_t *find_or_add(gr_pstate_t *ps, int64_t pid)
{
    gr_pstate_entry_t *e = find(ps, pid);
    if (e)
        return e;
    if ((ps->count + 1) * 2 > ps->cap && grow(ps) != 0)
        return NULL;
    size_t i = slot_of(pid, ps->cap);
    while (ps->slots[i].producer_id >= 0)
        i = (i + 1) & (ps->cap - 1);
    e = &ps->slots[i];
    memset(e, 0, sizeof *e);
    e->producer_id = pid;
    e->producer_epoch = GR_PSTATE_NO_EPOCH;
    e->coordinator_epoch = -1;
    e->last_timestamp = -1;
    e->current_txn_first_offset = -1;
    ps->count++;
    return e;
}

/* Empties slot i and shifts later members of its probe run back so that no
 * lookup stops early (no tombstones). */
static void remove_slot(gr_pstate_t *ps, size_t i)
{
    size_t mask = ps->cap - 1;
    size_t j = i;
    ps->slots[i].producer_id = -1;
    for (;;) {
        j = (j + 1) & mask;
        if (ps->slots[j].producer_id < 0)
            break;
        size_t home = slot_of(ps->slots[j].producer_id, ps->cap);
        /* Move j into the hole at i unless j's home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        ps->slots[i] = ps->slots[j];
        ps->slots[j].producer_id = -1;
        i = j;
    }
    ps->count--;
}

gr_pstate_t *gr_pstate_new(void)
{
    gr_pstate_t *ps = calloc(1, sizeof *ps);
    return ps;
}

void gr_pstate_free(gr_pstate_t *ps)
{
    if (!ps)
        return;
    free(ps->slots);
    free(ps);
}

void gr_pstate_clear(gr_pstate_t *ps)
{
    free(ps->slots);
    ps->slots = NULL;
    ps->cap = 0;
    ps->count = 0;
    ps->map_end_offset = 0;
}

size_t gr_pstate_count(const gr_pstate_t *ps) { return ps->count; }

const gr_pstate_entry_t *gr_pstate_get(const gr_pstate_t *ps, int64_t pid)
{
    return find(ps, pid);
}

const gr_pstate_batch_t *gr_pstate_entry_last_batch(const gr_pstate_entry_t *e)
{
    if (!e || e->nbatches == 0)
        return NULL;
    return &e->batches[(e->head + e->nbatches - 1) % GR_PSTATE_BATCHES];
}

/* ---- produce path ---- */

const gr_pstate_batch_t *gr_pstate_find_duplicate(const gr_pstate_t *ps, int64_t pid,
                                                  int16_t epoch, int32_t first_seq,
                                                  int32_t last_seq)
{
    const gr_pstate_entry_t *e = find(ps, pid);
    if (!e || e->producer_epoch != epoch)
        return NULL;
    for (int k = 0; k < e->nbatches; k++) {
        const gr_pstate_batch_t *b = &e->batches[(e->head + k) % GR_PSTATE_BATCHES];
        if (b->first_seq == first_seq && b->last_seq == last_seq)
            return b;
    }
    return NULL;
}

/* Mirrors ProducerAppendInfo.checkProducerEpoch + checkSequence for a client
 * append (origin CLIENT), after UnifiedLog's duplicate lookup. */
int16_t gr_pstate_check(gr_pstate_t *ps, int64_t pid, int16_t epoch, int32_t first_seq,
                        int32_t last_seq, int64_t *dup_base_offset_out)
{
    if (pid < 0)
        return GR_PSTATE_OK;
    const gr_pstate_batch_t *dup = gr_pstate_find_duplicate(ps, pid, epoch, first_seq, last_seq);
    if (dup) {
        if (dup_base_offset_out)
            *dup_base_offset_out = dup->first_offset;
        return GR_PSTATE_DUPLICATE;
    }
    const gr_pstate_entry_t *e = find(ps, pid);
    /* No entry: Kafka checks against ProducerStateEntry.empty(), whose epoch
     * is NO_PRODUCER_EPOCH, so every sequence is accepted. */
    if (!e || e->producer_epoch == GR_PSTATE_NO_EPOCH)
        return GR_PSTATE_OK;
    if (epoch < e->producer_epoch)
        return GR_PSTATE_INVALID_PRODUCER_EPOCH;
    if (epoch != e->producer_epoch)
        return first_seq == 0 ? GR_PSTATE_OK : GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER;
    /* Same epoch. With no batch (the epoch came from a transaction marker, or
     * from a snapshot entry without one) the last sequence is NO_SEQUENCE,
     * so only 0 follows. */
    const gr_pstate_batch_t *last = gr_pstate_entry_last_batch(e);
    int32_t last_seq_now = last ? last->last_seq : GR_PSTATE_NO_SEQUENCE;
    if (!in_sequence(last_seq_now, first_seq))
        return GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER;
    return GR_PSTATE_OK;
}

/* ProducerStateEntry.addBatch: a different epoch clears the batches (Kafka
 * takes any different epoch here, lower ones included, since replication and
 * recovery trust the log). */
static void entry_add_batch(gr_pstate_t *ps, gr_pstate_entry_t *e, int16_t epoch,
                            const gr_pstate_batch_t *b)
{
    if (e->producer_epoch != epoch) {
        e->producer_epoch = epoch;
        e->nbatches = 0;
        e->head = 0;
    }
    if (e->nbatches == GR_PSTATE_BATCHES) {
        e->head = (e->head + 1) % GR_PSTATE_BATCHES;
        e->nbatches--;
    }
    e->batches[(e->head + e->nbatches) % GR_PSTATE_BATCHES] = *b;
    e->nbatches++;
    e->last_timestamp = b->max_timestamp;
    if (b->last_offset + 1 > ps->map_end_offset)
        ps->map_end_offset = b->last_offset + 1;
}

int gr_pstate_update(gr_pstate_t *ps, int64_t pid, int16_t epoch, int32_t first_seq,
                     int32_t last_seq, int64_t first_offset, int64_t last_offset,
                     int64_t max_ts)
{
    if (pid < 0)
        return GR_EINVAL;
    gr_pstate_entry_t *e = find_or_add(ps, pid);
    if (!e)
        return GR_ENOMEM;
    gr_pstate_batch_t b = {first_seq, last_seq, first_offset, last_offset, max_ts};
    entry_add_batch(ps, e, epoch, &b);
    return 0;
}

int gr_pstate_replay_batch(gr_pstate_t *ps, int64_t pid, int16_t epoch, int32_t base_seq,
                           int32_t last_seq, int64_t base_offset, int64_t last_offset,
                           int64_t max_ts)
{
    if (pid < 0) {
        if (last_offset + 1 > ps->map_end_offset)
            ps->map_end_offset = last_offset + 1;
        return 0;
    }
    return gr_pstate_update(ps, pid, epoch, base_seq, last_seq, base_offset, last_offset,
                            max_ts);
}

size_t gr_pstate_expire(gr_pstate_t *ps, int64_t now_ms, int64_t expiration_ms)
{
    size_t removed = 0;
    size_t i = 0;
    /* remove_slot() only pulls later (or wrapped-around, already seen)
     * entries into slot i, so re-examining i after a removal visits every
     * entry; an entry seen twice is judged the same way twice. */
    while (i < ps->cap) {
        gr_pstate_entry_t *e = &ps->slots[i];
        if (e->producer_id >= 0 && e->current_txn_first_offset < 0 &&
            now_ms - e->last_timestamp >= expiration_ms) {
            remove_slot(ps, i);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

/* ---- snapshots: encoding ---- */

static int cmp_pid(const void *a, const void *b)
{
    int64_t x = (*(const gr_pstate_entry_t *const *)a)->producer_id;
    int64_t y = (*(const gr_pstate_entry_t *const *)b)->producer_id;
    return (x > y) - (x < y);
}

int gr_pstate_snapshot_encode(const gr_pstate_t *ps, gr_buf_t *out)
{
    if (ps->count > (size_t)INT32_MAX)
        return GR_ETOOBIG;
    const gr_pstate_entry_t **order = NULL;
    if (ps->count) {
        order = malloc(ps->count * sizeof *order);
        if (!order)
            return GR_ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < ps->cap; i++)
            if (ps->slots[i].producer_id >= 0)
                order[n++] = &ps->slots[i];
        qsort(order, n, sizeof *order, cmp_pid);
    }
    size_t start = out->len;
    if (gr_buf_reserve(out, SNAP_HEADER + ps->count * SNAP_ENTRY) != 0) {
        free(order);
        return GR_ENOMEM;
    }
    gr_buf_put_i16(out, SNAP_VERSION);
    gr_buf_put_u32(out, 0); /* CRC, patched below */
    gr_buf_put_i32(out, (int32_t)ps->count);
    for (size_t k = 0; k < ps->count; k++) {
        const gr_pstate_entry_t *e = order[k];
        const gr_pstate_batch_t *b = gr_pstate_entry_last_batch(e);
        gr_buf_put_i64(out, e->producer_id);
        gr_buf_put_i16(out, e->producer_epoch);
        gr_buf_put_i32(out, b ? b->last_seq : GR_PSTATE_NO_SEQUENCE);
        gr_buf_put_i64(out, b ? b->last_offset : -1);
        gr_buf_put_i32(out, b ? (int32_t)(b->last_offset - b->first_offset) : 0);
        gr_buf_put_i64(out, e->last_timestamp);
        gr_buf_put_i32(out, e->coordinator_epoch);
        gr_buf_put_i64(out, e->current_txn_first_offset);
    }
    free(order);
    if (out->oom)
        return GR_ENOMEM;
    uint32_t crc = gr_crc32c(0, out->data + start + SNAP_CRC_FROM,
                             out->len - start - SNAP_CRC_FROM);
    gr_wbe32(out->data + start + 2, crc);
    return 0;
}

/* Decodes a snapshot into an empty ps. GR_ECORRUPT / GR_ECRC for a bad file. */
static int snapshot_decode(gr_pstate_t *ps, const uint8_t *p, size_t len, const char *name)
{
    if (len < SNAP_HEADER) {
        gr_log(GR_LOG_WARN, "txn", "producer snapshot %s: %zu bytes, too short", name, len);
        return GR_ECORRUPT;
    }
    int16_t version = (int16_t)gr_be16(p);
    if (version != SNAP_VERSION) {
        gr_log(GR_LOG_WARN, "txn", "producer snapshot %s: unknown version %d", name, version);
        return GR_ECORRUPT;
    }
    uint32_t stored = gr_be32(p + 2);
    uint32_t computed = gr_crc32c(0, p + SNAP_CRC_FROM, len - SNAP_CRC_FROM);
    if (stored != computed) {
        gr_log(GR_LOG_WARN, "txn", "producer snapshot %s: CRC %08" PRIx32 " stored, %08" PRIx32
               " computed", name, stored, computed);
        return GR_ECRC;
    }
    int32_t n = (int32_t)gr_be32(p + 6);
    if (n < 0 || (size_t)n != (len - SNAP_HEADER) / SNAP_ENTRY ||
        (len - SNAP_HEADER) % SNAP_ENTRY != 0) {
        gr_log(GR_LOG_WARN, "txn", "producer snapshot %s: %" PRId32 " entries in %zu bytes",
               name, n, len);
        return GR_ECORRUPT;
    }
    const uint8_t *q = p + SNAP_HEADER;
    int64_t end = 0;
    for (int32_t k = 0; k < n; k++, q += SNAP_ENTRY) {
        int64_t pid = (int64_t)gr_be64(q);
        if (pid < 0) {
            gr_log(GR_LOG_WARN, "txn", "producer snapshot %s: producer id %" PRId64, name, pid);
            return GR_ECORRUPT;
        }
        gr_pstate_entry_t *e = find_or_add(ps, pid);
        if (!e)
            return GR_ENOMEM;
        int32_t last_seq = (int32_t)gr_be32(q + 10);
        int64_t last_offset = (int64_t)gr_be64(q + 14);
        int32_t delta = (int32_t)gr_be32(q + 22);
        e->producer_epoch = (int16_t)gr_be16(q + 8);
        e->last_timestamp = (int64_t)gr_be64(q + 26);
        e->coordinator_epoch = (int32_t)gr_be32(q + 34);
        e->current_txn_first_offset = (int64_t)gr_be64(q + 38);
        e->nbatches = 0;
        e->head = 0;
        /* Kafka keeps a batch only when last_offset >= 0. */
        if (last_offset >= 0) {
            gr_pstate_batch_t *b = &e->batches[0];
            b->last_seq = last_seq;
            b->first_seq = decrement_sequence(last_seq, delta);
            b->last_offset = last_offset;
            b->first_offset = last_offset - delta;
            b->max_timestamp = e->last_timestamp;
            e->nbatches = 1;
            if (last_offset + 1 > end)
                end = last_offset + 1;
        }
    }
    ps->map_end_offset = end;
    return 0;
}

/* ---- snapshots: files ---- */

static int snap_path(char *buf, size_t n, const char *dir, int64_t offset, const char *suffix)
{
    int w = snprintf(buf, n, "%s/%020" PRId64 "%s", dir, offset, suffix);
    return (w < 0 || (size_t)w >= n) ? GR_ETOOBIG : 0;
}

/* Parses "<20 digits><suffix>" into *offset. */
static int parse_name(const char *name, const char *suffix, int64_t *offset)
{
    size_t sl = strlen(suffix);
    if (strlen(name) != 20 + sl || strcmp(name + 20, suffix) != 0)
        return 0;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        if (v > (INT64_MAX - (name[i] - '0')) / 10)
            return 0;
        v = v * 10 + (name[i] - '0');
    }
    *offset = v;
    return 1;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* The offsets of the snapshots in dir, newest first; *out is malloc'd (NULL
 * when none). With remove_tmp, leftover temporary files are deleted. */
static int list_snapshots(const char *dir, int remove_tmp, int64_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        int64_t off;
        if (remove_tmp && parse_name(de->d_name, SNAP_TMP_SUFFIX, &off)) {
            if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                gr_log(GR_LOG_INFO, "txn", "removed torn producer snapshot %s/%s", dir,
                       de->d_name);
            continue;
        }
        if (!parse_name(de->d_name, SNAP_SUFFIX, &off))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            int64_t *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = GR_ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = off;
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_desc);
    *out = v;
    *n_out = n;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int unlink_snapshot(const char *dir, int64_t offset)
{
    char path[4096];
    int rc = snap_path(path, sizeof path, dir, offset, SNAP_SUFFIX);
    if (rc)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int gr_pstate_snapshot_write_file(const char *dir, int64_t offset, const void *bytes,
                                  size_t len)
{
    if (offset < 0)
        return GR_EINVAL;
    char tmp[4096], path[4096];
    int rc = snap_path(tmp, sizeof tmp, dir, offset, SNAP_TMP_SUFFIX);
    if (!rc)
        rc = snap_path(path, sizeof path, dir, offset, SNAP_SUFFIX);
    if (rc)
        return rc;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    rc = write_all(fd, bytes, len);
    if (!rc && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        gr_log(GR_LOG_ERROR, "txn", "writing producer snapshot %s: %s", path, gr_strerror(rc));
        return rc;
    }
    rc = fsync_dir(dir);
    if (rc)
        return rc;

    /* Keep the newest few; a failure to delete an old one is not an error
     * of this write. */
    int64_t *offs;
    size_t n;
    if (list_snapshots(dir, 0, &offs, &n) == 0) {
        for (size_t i = GR_PSTATE_SNAPSHOTS_KEPT; i < n; i++)
            unlink_snapshot(dir, offs[i]);
        free(offs);
    }
    return 0;
}

int gr_pstate_snapshot_write(gr_pstate_t *ps, const char *partition_dir, int64_t offset)
{
    gr_buf_t b;
    gr_buf_init(&b);
    int rc = gr_pstate_snapshot_encode(ps, &b);
    if (!rc)
        rc = gr_pstate_snapshot_write_file(partition_dir, offset, b.data, b.len);
    gr_buf_free(&b);
    return rc;
}

/* Reads a whole file; GR_ECORRUPT when it is implausibly large. */
static int read_file(const char *path, uint8_t **out, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > SNAP_MAX_BYTES) {
        close(fd);
        return GR_ECORRUPT;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *p = malloc(len ? len : 1);
    if (!p) {
        close(fd);
        return GR_ENOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, p + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int rc = r < 0 ? -errno : GR_ECORRUPT; /* shrank under us */
            free(p);
            close(fd);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = p;
    *len_out = len;
    return 0;
}

static void swap_state(gr_pstate_t *a, gr_pstate_t *b)
{
    gr_pstate_t t = *a;
    *a = *b;
    *b = t;
}

int gr_pstate_snapshot_load(gr_pstate_t *ps, const char *partition_dir, int64_t max_offset,
                            int64_t *offset_out)
{
    *offset_out = -1;
    int64_t *offs;
    size_t n;
    int rc = list_snapshots(partition_dir, 1, &offs, &n);
    if (rc)
        return rc;
    gr_pstate_clear(ps);
    for (size_t i = 0; i < n; i++) {
        if (offs[i] > max_offset)
            continue;
        char path[4096];
        rc = snap_path(path, sizeof path, partition_dir, offs[i], SNAP_SUFFIX);
        if (rc)
            break;
        uint8_t *data = NULL;
        size_t len = 0;
        rc = read_file(path, &data, &len);
        gr_pstate_t fresh = {0};
        if (rc == 0) {
            rc = snapshot_decode(&fresh, data, len, path);
            free(data);
        } else if (rc == GR_ECORRUPT) {
            gr_log(GR_LOG_WARN, "txn", "producer snapshot %s: larger than %zu bytes", path,
                   SNAP_MAX_BYTES);
        }
        if (rc == 0) {
            /* Batches are stamped with the snapshot's offset as the state's
             * end: that is where replay resumes. */
            fresh.map_end_offset = offs[i];
            swap_state(ps, &fresh);
            free(fresh.slots);
            *offset_out = offs[i];
            gr_log(GR_LOG_INFO, "txn", "loaded producer state of %zu producers from %s",
                   ps->count, path);
            break;
        }
        free(fresh.slots);
        if (rc != GR_ECORRUPT && rc != GR_ECRC)
            break; /* an I/O error or ENOMEM: the file may be fine, keep it */
        gr_log(GR_LOG_WARN, "txn", "deleting corrupt producer snapshot %s", path);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
        rc = 0;
    }
    free(offs);
    return rc;
}

int gr_pstate_truncate(gr_pstate_t *ps, const char *partition_dir, int64_t end_offset,
                       int64_t *replay_from_out)
{
    int64_t *offs;
    size_t n;
    int rc = list_snapshots(partition_dir, 0, &offs, &n);
    if (rc)
        return rc;
    int removed = 0;
    for (size_t i = 0; i < n && offs[i] > end_offset; i++) {
        rc = unlink_snapshot(partition_dir, offs[i]);
        if (rc)
            break;
        removed = 1;
    }
    free(offs);
    if (!rc && removed)
        rc = fsync_dir(partition_dir); /* a deleted snapshot must not come back */
    if (rc)
        return rc;
    if (end_offset >= ps->map_end_offset) {
        /* Nothing of the state lies at or beyond end_offset (Kafka:
         * logEndOffset == mapEndOffset). */
        *replay_from_out = end_offset;
        return 0;
    }
    return gr_pstate_snapshot_load(ps, partition_dir, end_offset, replay_from_out);
}
