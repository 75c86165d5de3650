/* File helpers for the log; see log_io.h. */
#include "log/log_io.h"
#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int gr_log_io_pwrite_all(int fd, const void *buf, size_t len, int64_t pos)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        pos += n;
    }
    return 0;
}

int gr_log_io_pread_all(int fd, void *buf, size_t len, int64_t pos)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return GR_ECORRUPT;
        p += n;
        len -= (size_t)n;
        pos += n;
    }
    return 0;
}

int gr_log_io_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

int gr_log_io_write_atomic(const char *path, const void *data, size_t len)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    char *dir = malloc(pl + 2);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return GR_ENOMEM;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    memcpy(dir, path, pl + 1);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");

    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = gr_log_io_pwrite_all(fd, data, len, 0);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc == 0)
        rc = gr_log_io_fsync_dir(dir);
    else
        unlink(tmp);
out:
    free(tmp);
    free(dir);
    return rc;
}

int gr_log_io_read_file(const char *path, size_t max, char **out, size_t *len)
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
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return GR_ETOOBIG;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return GR_ENOMEM;
    }
    int rc = gr_log_io_pread_all(fd, buf, n, 0);
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int gr_log_io_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *child;
        if (asprintf(&child, "%s/%s", path, e->d_name) < 0) {
            rc = GR_ENOMEM;
            break;
        }
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            int r = gr_log_io_rmtree(child);
            if (r && !rc)
                rc = r;
        } else if (unlink(child) != 0 && errno != ENOENT && !rc) {
            rc = -errno;
        }
        free(child);
    }
    closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT && !rc)
        rc = -errno;
    return rc;
}

int gr_log_io_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void gr_log_uuid_to_base64(const uint8_t uuid[16], char out[23])
{
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)uuid[i] << 16;
        size_t n = 16 - i < 3 ? 16 - i : 3;
        if (n > 1)
            v |= (uint32_t)uuid[i + 1] << 8;
        if (n > 2)
            v |= uuid[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (n > 1)
            out[o++] = b64url[(v >> 6) & 63];
        if (n > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

int gr_log_uuid_from_base64(const char *s, size_t len, uint8_t uuid[16])
{
    if (len != 22)
        return GR_EMALFORMED;
    uint8_t out[18];
    size_t o = 0;
    for (size_t i = 0; i < 24; i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = 0;
            if (i + k < 22) {
                d = b64val(s[i + k]);
                if (d < 0)
                    return GR_EMALFORMED;
            }
            v = (v << 6) | (uint32_t)d;
        }
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    /* 22 characters carry 132 bits; the last 4 must be zero. */
    if (out[16] != 0 || (b64val(s[21]) & 15) != 0)
        return GR_EMALFORMED;
    memcpy(uuid, out, 16);
    return 0;
}

int gr_log_uuid_random(uint8_t uuid[16])
{
    for (;;) {
        int rc = gr_log_io_random(uuid, 16);
        if (rc)
            return rc;
        /* Version 4, variant 1, like java.util.UUID.randomUUID(). */
        uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
        uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
        char txt[23];
        gr_log_uuid_to_base64(uuid, txt);
        if (txt[0] != '-')
            return 0;
    }
}
