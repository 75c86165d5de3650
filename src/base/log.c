/* Logging implementation; see log.h. */
#include "base/log.h"
#include "base/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int gr_log_level = GR_LOG_INFO;

static const char *level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void log_v(int level, const char *subsys, const char *prefix, const char *fmt,
                  va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level & 3], subsys,
                     prefix ? prefix : "");
    if (n < 0)
        return;
    if ((size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void gr_log(int level, const char *subsys, const char *fmt, ...)
{
    if (level < gr_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, subsys, NULL, fmt, ap);
    va_end(ap);
}

void gr_log_rl(gr_log_rl_t *rl, int level, const char *subsys, const char *fmt, ...)
{
    if (level < gr_log_level)
        return;
    int64_t now = gr_clock_mono_ms();
    /* Not strictly thread-safe; a lost count under a race is harmless. */
    if (now - rl->window_start_ms >= 1000) {
        rl->window_start_ms = now;
        rl->in_window = 0;
    }
    if (rl->in_window >= 5) {
        rl->suppressed++;
        return;
    }
    rl->in_window++;
    char prefix[64] = "";
    if (rl->suppressed) {
        snprintf(prefix, sizeof prefix, "(%d similar lines suppressed) ", rl->suppressed);
        rl->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    log_v(level, subsys, prefix, fmt, ap);
    va_end(ap);
}
