/* Kafka's checkpoint text files, read and written whole:
 *   recovery-point-offset-checkpoint, log-start-offset-checkpoint
 *     (one per log dir; lines "topic partition offset")
 *   leader-epoch-checkpoint
 *     (one per partition dir; lines "epoch startOffset")
 * See checkpoint.c and docs/format.md for the bytes. Writes are atomic
 * (temporary file, fsync, rename, directory fsync) and blocking; reads
 * check every field and reject the whole file on the first bad line.
 * No state: any thread. */
#ifndef GR_LOG_CHECKPOINT_H
#define GR_LOG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

/* Files larger than this are refused as corrupt. */
#define GR_LOG_CKPT_MAX_BYTES (64u << 20)

typedef struct gr_log_ckpt_entry_s {
    char   *topic; /* NUL-terminated, owned by the array */
    int32_t partition;
    int64_t offset;
} gr_log_ckpt_entry_t;

typedef struct gr_log_epoch_entry_s {
    int32_t epoch;
    int64_t start_offset;
} gr_log_epoch_entry_t;

/* Returns 0, -ENOENT if the file does not exist, GR_ECORRUPT if it does not
 * parse. On success *out (free with gr_log_ckpt_free_offsets) holds *n
 * entries. */
int gr_log_ckpt_read_offsets(const char *path, gr_log_ckpt_entry_t **out, size_t *n);
int gr_log_ckpt_write_offsets(const char *path, const gr_log_ckpt_entry_t *e, size_t n);
void gr_log_ckpt_free_offsets(gr_log_ckpt_entry_t *e, size_t n);

/* Same contract; *out is a plain malloc'd array (free()). */
int gr_log_ckpt_read_epochs(const char *path, gr_log_epoch_entry_t **out, size_t *n);
int gr_log_ckpt_write_epochs(const char *path, const gr_log_epoch_entry_t *e, size_t n);

/* True if s (len bytes) is a legal Kafka topic name: 1..249 characters of
 * [a-zA-Z0-9._-], not "." or "..". */
int gr_log_topic_name_valid(const char *s, size_t len);

#endif
