/* Shared helpers for the log unit tests: temporary directories and file
 * surgery (cutting, flipping bytes) to simulate crashes. */
#ifndef GR_TESTS_LOG_UTIL_H
#define GR_TESTS_LOG_UTIL_H

#include "log/log_io.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p;
    if (asprintf(&p, "%s/gr-log-test-XXXXXX", base ? base : "/tmp") < 0)
        abort();
    if (!mkdtemp(p))
        abort();
    return p;
}

static inline void tu_rmdir(char *p)
{
    gr_log_io_rmtree(p);
    free(p);
}

static inline char *tu_path(const char *dir, const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static inline int64_t tu_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static inline int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline void tu_cut(const char *path, int64_t size)
{
    if (truncate(path, size) != 0)
        abort();
}

static inline void tu_flip(const char *path, int64_t pos)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    if (fd < 0 || pread(fd, &b, 1, pos) != 1)
        abort();
    b ^= 0x5a;
    if (pwrite(fd, &b, 1, pos) != 1)
        abort();
    close(fd);
}

static inline void tu_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

#endif
