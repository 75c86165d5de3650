/* Crash recovery of the log cleaner's segment files; the protocol and the
 * rules are described in cleaner_files.h. */
#include "log/cleaner_files.h"
#include "base/err.h"
#include "base/log.h"
#include "log/batch_hdr.h"
#include "log/log_io.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void gr_cleaner_crash_point(const char *name)
{
    const char *list = getenv("GREGOR_TEST_CLEANER_CRASH");
    if (!list || !*list)
        return;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) {
            gr_log(GR_LOG_WARN, "cleaner", "test crash point '%s' reached: SIGKILL", name);
            raise(SIGKILL);
        }
        p += len + (comma ? 1 : 0);
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t l = strlen(s), sl = strlen(suffix);
    return l >= sl && strcmp(s + l - sl, suffix) == 0;
}

/* Parses "<20 digits><suffix>". */
static bool parse_name(const char *name, const char *suffix, int64_t *base)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n != 20 + sl || strcmp(name + 20, suffix) != 0)
        return false;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        int d = name[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *base = v;
    return true;
}

static int unlink_in(const char *dir, const char *name)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
        return GR_ETOOBIG;
    if (unlink(p) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

typedef struct {
    int64_t *v;
    size_t   n, cap;
} i64s_t;

static int push(i64s_t *a, int64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        int64_t *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv)
            return GR_ENOMEM;
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The last offset in a swap log file (walking the batch headers; a tail
 * that does not parse ends the walk, and segment recovery deals with it
 * later), or base - 1 when it holds no batch. */
static int swap_last_offset(const char *path, int64_t base, int64_t *last)
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
    int64_t pos = 0, size = st.st_size;
    *last = base - 1;
    uint8_t hdr[GR_LOGB_HDR_SIZE];
    while (size - pos >= GR_LOGB_HDR_SIZE) {
        if (gr_log_io_pread_all(fd, hdr, sizeof hdr, pos) != 0)
            break;
        gr_log_batch_hdr_t h;
        gr_log_batch_hdr_parse(hdr, &h);
        if (gr_log_batch_hdr_check(&h, size - pos) || h.base_offset < base ||
            gr_log_batch_last_offset(&h) <= *last)
            break;
        *last = gr_log_batch_last_offset(&h);
        pos += gr_log_batch_size(&h);
    }
    close(fd);
    return 0;
}

static const char *const EXTS[3] = {".log", ".index", ".timeindex"};

/* Completes the swap of segment base: removes what it replaces, then
 * gives its files their final names. */
static int complete_swap(const char *dir, int64_t base, const i64s_t *logs)
{
    char from[4096], to[4096];
    int n = snprintf(from, sizeof from, "%s/%020" PRId64 ".log" GR_CLEANER_SWAP_SUFFIX, dir, base);
    if (n < 0 || n >= (int)sizeof from)
        return GR_ETOOBIG;
    int64_t last = base - 1;
    int rc = swap_last_offset(from, base, &last);
    if (rc)
        return rc;
    int64_t hi = last > base ? last : base;
    size_t replaced = 0;
    for (size_t i = 0; i < logs->n; i++) {
        if (logs->v[i] < base || logs->v[i] > hi)
            continue;
        for (int k = 0; k < 3 && rc == 0; k++) {
            char name[64];
            snprintf(name, sizeof name, "%020" PRId64 "%s", logs->v[i], EXTS[k]);
            rc = unlink_in(dir, name);
        }
        if (rc)
            return rc;
        replaced++;
    }
    if ((rc = gr_log_io_fsync_dir(dir)) != 0)
        return rc;
    gr_cleaner_crash_point("recover");
    /* Indexes first, the .log last: a crash in between leaves a .log.swap,
     * and this runs again (a missing index is rebuilt on open). */
    static const int order[3] = {1, 2, 0}; /* .index, .timeindex, .log */
    for (int j = 0; j < 3; j++) {
        const char *ext = EXTS[order[j]];
        if (snprintf(from, sizeof from, "%s/%020" PRId64 "%s" GR_CLEANER_SWAP_SUFFIX, dir, base,
                     ext) >= (int)sizeof from ||
            snprintf(to, sizeof to, "%s/%020" PRId64 "%s", dir, base, ext) >= (int)sizeof to)
            return GR_ETOOBIG;
        if (rename(from, to) != 0 && errno != ENOENT)
            return -errno;
    }
    if ((rc = gr_log_io_fsync_dir(dir)) != 0)
        return rc;
    gr_log(GR_LOG_WARN, "cleaner",
           "%s: completed an interrupted compaction: segment %020" PRId64
           " (offsets up to %" PRId64 ") replaces %zu segments",
           dir, base, last, replaced);
    return 0;
}

int gr_cleaner_recover_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    i64s_t logs = {0}, swaps = {0}, swap_idx = {0};
    int rc = 0;
    bool removed = false;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        int64_t base;
        if (ends_with(name, GR_CLEANER_CLEANED_SUFFIX) || ends_with(name, GR_CLEANER_DELETED_SUFFIX)) {
            rc = unlink_in(dir, name);
            removed = true;
        } else if (parse_name(name, ".log", &base)) {
            rc = push(&logs, base);
        } else if (parse_name(name, ".log" GR_CLEANER_SWAP_SUFFIX, &base)) {
            rc = push(&swaps, base);
        } else if (parse_name(name, ".index" GR_CLEANER_SWAP_SUFFIX, &base) ||
                   parse_name(name, ".timeindex" GR_CLEANER_SWAP_SUFFIX, &base)) {
            rc = push(&swap_idx, base);
        }
    }
    closedir(d);
    if (rc == 0 && (swaps.n || swap_idx.n || removed)) {
        if (logs.n)
            qsort(logs.v, logs.n, sizeof *logs.v, cmp_i64);
        if (swaps.n)
            qsort(swaps.v, swaps.n, sizeof *swaps.v, cmp_i64);
        for (size_t i = 0; i < swaps.n && rc == 0; i++)
            rc = complete_swap(dir, swaps.v[i], &logs);
        /* Index swaps whose .log was renamed already. */
        for (size_t i = 0; i < swap_idx.n && rc == 0; i++) {
            char name[64];
            snprintf(name, sizeof name, "%020" PRId64 ".index" GR_CLEANER_SWAP_SUFFIX, swap_idx.v[i]);
            rc = unlink_in(dir, name);
            snprintf(name, sizeof name, "%020" PRId64 ".timeindex" GR_CLEANER_SWAP_SUFFIX,
                     swap_idx.v[i]);
            if (rc == 0)
                rc = unlink_in(dir, name);
        }
        if (rc == 0)
            rc = gr_log_io_fsync_dir(dir);
    }
    if (rc)
        gr_log(GR_LOG_ERROR, "cleaner", "%s: cannot finish an interrupted compaction: %s", dir,
               gr_strerror(rc));
    free(logs.v);
    free(swaps.v);
    free(swap_idx.v);
    return rc;
}
