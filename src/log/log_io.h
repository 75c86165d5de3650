/* Small file helpers shared by the log's files: whole-buffer reads and
 * writes that retry short transfers and EINTR, directory fsync, atomic file
 * replacement, bounded whole-file reads, recursive removal and UUIDs.
 * All return 0 or a negative errno / GR_E* code. All are blocking and
 * thread-safe (they keep no state). */
#ifndef GR_LOG_LOG_IO_H
#define GR_LOG_LOG_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int gr_log_io_pwrite_all(int fd, const void *buf, size_t len, int64_t pos);
/* Reads exactly len bytes at pos; GR_ECORRUPT if the file ends first. */
int gr_log_io_pread_all(int fd, void *buf, size_t len, int64_t pos);
int gr_log_io_fsync_dir(const char *dir);
/* Writes data to path.tmp, fsyncs it, renames it over path and fsyncs the
 * directory, so readers see either the old or the new file whole. */
int gr_log_io_write_atomic(const char *path, const void *data, size_t len);
/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer owned by the caller. -ENOENT if absent, GR_ETOOBIG if larger. */
int gr_log_io_read_file(const char *path, size_t max, char **out, size_t *len);
/* Removes a directory and everything in it (no symlinks followed). */
int gr_log_io_rmtree(const char *path);
/* 16 random bytes (getrandom). */
int gr_log_io_random(uint8_t *p, size_t n);
/* Kafka's Uuid text form: URL-safe base64 without padding, 22 characters
 * plus NUL in out[23]. */
void gr_log_uuid_to_base64(const uint8_t uuid[16], char out[23]);
/* Parses that form; returns 0 or GR_EMALFORMED. */
int gr_log_uuid_from_base64(const char *s, size_t len, uint8_t uuid[16]);
/* A random Uuid as Kafka makes them: never all-zero, never starting with
 * '-' in text form. */
int gr_log_uuid_random(uint8_t uuid[16]);

#endif
