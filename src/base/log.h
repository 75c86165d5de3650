/* Logging to stderr: one line per event, with level, subsystem and a timestamp.
 * Lines caused by clients go through gr_log_rl() so a misbehaving peer cannot
 * flood the log. Thread-safe: each line is written with one write(2). */
#ifndef GR_BASE_LOG_H
#define GR_BASE_LOG_H

#include <stdint.h>

enum { GR_LOG_DEBUG = 0, GR_LOG_INFO = 1, GR_LOG_WARN = 2, GR_LOG_ERROR = 3 };

extern int gr_log_level;

void gr_log(int level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rate-limited variant: at most a few lines per second per call site; the
 * number suppressed is reported on the next line that gets through. */
typedef struct gr_log_rl_s {
    int64_t window_start_ms;
    int     in_window;
    int     suppressed;
} gr_log_rl_t;

void gr_log_rl(gr_log_rl_t *rl, int level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define GR_LOG_RL(level, subsys, ...)                                   \
    do {                                                                \
        static gr_log_rl_t gr_rl__;                                     \
        gr_log_rl(&gr_rl__, (level), (subsys), __VA_ARGS__);            \
    } while (0)

#endif
