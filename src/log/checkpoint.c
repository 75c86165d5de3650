/* Kafka checkpoint files.
 *
 * Format (ASCII, '\n' line ends, no trailing spaces), as written by
 * Kafka's CheckpointFile:
 *     line 1: version, the decimal "0"
 *     line 2: the number of entries N, decimal
 *     N lines, fields separated by one space:
 *       offset checkpoints (recovery-point-offset-checkpoint,
 *       log-start-offset-checkpoint):   <topic> <partition> <offset>
 *       leader-epoch-checkpoint:         <epoch> <startOffset>
 * Example:  "0\n2\nclicks 0 1200\nclicks 1 977\n".
 * Numbers are decimal integers (partition and epoch int32 >= 0, offsets
 * int64 >= 0). A file that fails any check (wrong version, wrong count,
 * bad number, bad topic name, extra text) is rejected whole: callers fall
 * back to what a missing file means (recover everything, rebuild). */
#include "log/checkpoint.h"
#include "base/err.h"
#include "log/log_io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gr_log_topic_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > 249)
        return 0;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Parses a non-negative decimal in [p, end) no larger than max. */
static int parse_num(const char *p, const char *end, int64_t max, int64_t *out)
{
    if (p >= end || end - p > 19)
        return GR_ECORRUPT;
    int64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return GR_ECORRUPT;
        int d = *p - '0';
        if (v > (max - d) / 10)
            return GR_ECORRUPT;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

typedef struct {
    const char *p, *end;
} line_iter_t;

/* Next line without its '\n'; a final line must end with '\n'. */
static int next_line(line_iter_t *it, const char **ls, const char **le)
{
    if (it->p >= it->end)
        return GR_ECORRUPT;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    if (!nl)
        return GR_ECORRUPT;
    *ls = it->p;
    *le = nl;
    it->p = nl + 1;
    return 0;
}

/* Splits [ls, le) into exactly nf space-separated fields. */
static int split(const char *ls, const char *le, int nf, const char **fs, const char **fe)
{
    int i = 0;
    const char *p = ls;
    while (i < nf) {
        const char *sp = memchr(p, ' ', (size_t)(le - p));
        const char *e = sp ? sp : le;
        if (e == p)
            return GR_ECORRUPT;
        fs[i] = p;
        fe[i] = e;
        i++;
        if (!sp)
            break;
        p = sp + 1;
    }
    return (i == nf && fe[nf - 1] == le) ? 0 : GR_ECORRUPT;
}

/* Reads the file and its two header lines; *count is capped by the size. */
static int read_header(const char *path, char **buf, line_iter_t *it, int64_t *count)
{
    size_t len;
    int rc = gr_log_io_read_file(path, GR_LOG_CKPT_MAX_BYTES, buf, &len);
    if (rc == GR_ETOOBIG)
        return GR_ECORRUPT;
    if (rc)
        return rc;
    it->p = *buf;
    it->end = *buf + len;
    const char *ls, *le;
    int64_t version;
    if (next_line(it, &ls, &le) || parse_num(ls, le, INT32_MAX, &version) || version != 0 ||
        next_line(it, &ls, &le) || parse_num(ls, le, (int64_t)len / 4, count)) {
        free(*buf);
        return GR_ECORRUPT;
    }
    return 0;
}

void gr_log_ckpt_free_offsets(gr_log_ckpt_entry_t *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        free(e[i].topic);
    free(e);
}

int gr_log_ckpt_read_offsets(const char *path, gr_log_ckpt_entry_t **out, size_t *n)
{
    char *buf;
    line_iter_t it;
    int64_t count;
    int rc = read_header(path, &buf, &it, &count);
    if (rc)
        return rc;
    gr_log_ckpt_entry_t *e = calloc(count ? (size_t)count : 1, sizeof *e);
    if (!e) {
        free(buf);
        return GR_ENOMEM;
    }
    size_t i = 0;
    for (; i < (size_t)count; i++) {
        const char *ls, *le, *fs[3], *fe[3];
        int64_t part, off;
        if (next_line(&it, &ls, &le) || split(ls, le, 3, fs, fe) ||
            !gr_log_topic_name_valid(fs[0], (size_t)(fe[0] - fs[0])) ||
            parse_num(fs[1], fe[1], INT32_MAX, &part) ||
            parse_num(fs[2], fe[2], INT64_MAX, &off)) {
            rc = GR_ECORRUPT;
            break;
        }
        e[i].topic = strndup(fs[0], (size_t)(fe[0] - fs[0]));
        if (!e[i].topic) {
            rc = GR_ENOMEM;
            break;
        }
        e[i].partition = (int32_t)part;
        e[i].offset = off;
    }
    if (rc == 0 && it.p != it.end)
        rc = GR_ECORRUPT;
    free(buf);
    if (rc) {
        gr_log_ckpt_free_offsets(e, (size_t)count); /* calloc'd: unused slots are NULL */
        return rc;
    }
    *out = e;
    *n = (size_t)count;
    return 0;
}

int gr_log_ckpt_write_offsets(const char *path, const gr_log_ckpt_entry_t *e, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return GR_ENOMEM;
    fprintf(f, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %" PRId32 " %" PRId64 "\n", e[i].topic, e[i].partition, e[i].offset);
    if (fclose(f) != 0) {
        free(text);
        return GR_ENOMEM;
    }
    int rc = gr_log_io_write_atomic(path, text, len);
    free(text);
    return rc;
}

int gr_log_ckpt_read_epochs(const char *path, gr_log_epoch_entry_t **out, size_t *n)
{
    char *buf;
    line_iter_t it;
    int64_t count;
    int rc = read_header(path, &buf, &it, &count);
    if (rc)
        return rc;
    gr_log_epoch_entry_t *e = calloc(count ? (size_t)count : 1, sizeof *e);
    if (!e) {
        free(buf);
        return GR_ENOMEM;
    }
    for (size_t i = 0; i < (size_t)count; i++) {
        const char *ls, *le, *fs[2], *fe[2];
        int64_t epoch, off;
        if (next_line(&it, &ls, &le) || split(ls, le, 2, fs, fe) ||
            parse_num(fs[0], fe[0], INT32_MAX, &epoch) ||
            parse_num(fs[1], fe[1], INT64_MAX, &off)) {
            rc = GR_ECORRUPT;
            break;
        }
        e[i].epoch = (int32_t)epoch;
        e[i].start_offset = off;
    }
    if (rc == 0 && it.p != it.end)
        rc = GR_ECORRUPT;
    free(buf);
    if (rc) {
        free(e);
        return rc;
    }
    *out = e;
    *n = (size_t)count;
    return 0;
}

int gr_log_ckpt_write_epochs(const char *path, const gr_log_epoch_entry_t *e, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return GR_ENOMEM;
    fprintf(f, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%" PRId32 " %" PRId64 "\n", e[i].epoch, e[i].start_offset);
    if (fclose(f) != 0) {
        free(text);
        return GR_ENOMEM;
    }
    int rc = gr_log_io_write_atomic(path, text, len);
    free(text);
    return rc;
}
