/* Private to the log cleaner: what cleaner.c (threads, registry,
 * selection, checkpoint, loop work) shares with cleaner_clean.c (one
 * cleaning of one log). */
#ifndef GR_LOG_CLEANER_INT_H
#define GR_LOG_CLEANER_INT_H

#include "base/buf.h"
#include "log/cleaner.h"
#include "log/cleaner_map.h"

#include <pthread.h>
#include <stdatomic.h>

/* A registered log. c->mu guards every field except where said. */
typedef struct centry_s {
    struct centry_s        *next;
    gr_plog_t              *plog; /* NULL: only a checkpoint read from the file */
    char                   *topic;
    int32_t                 partition;
    char                   *dir; /* the partition directory (NULL with no plog) */
    gr_cleaner_log_config_t cfg;
    int64_t                 first_dirty;      /* checkpoint, -1 none */
    int64_t                 tombstone_due_ms; /* INT64_MAX none */
    int64_t                 retry_ms;         /* after an error, not before this */
    bool                    busy;             /* a cleaning runs */
    /* A cleaned segment swapped in whose files are still named *.swap (its
     * rename was cancelled by a stop, or failed): renamed before the next
     * cleaning of this log or at stop. Referenced. */
    gr_segment_t           *unfinished;
    bool                    stuck; /* a swap half done waits for the next start */
    atomic_bool             removed;          /* unregistered while busy: give up */
} centry_t;

/* A request for the loop thread, made by a cleaning and waited for. */
typedef struct loop_req_s {
    struct loop_req_s *next;
    void (*fn)(gr_cleaner_t *c, struct loop_req_s *r);
    bool   done;
    int    rc;
    /* payload */
    centry_t      *entry;
    gr_segment_t **old;
    size_t         nold;
    int64_t       *old_sizes;
    gr_segment_t  *seg;
} loop_req_t;

struct gr_cleaner_s {
    gr_cleaner_config_t cfg;
    char               *dir;
    char               *ckpt_path;

    pthread_mutex_t mu;   /* registry, requests, stop, stats */
    pthread_cond_t  cond; /* threads: work, stop, request done */
    centry_t       *entries;
    loop_req_t     *reqs, *reqs_tail;
    bool            stop;
    bool            kicked;
    pthread_t      *threads;
    int             nthreads;
    gr_cleaner_stats_t stats;

    pthread_mutex_t ckpt_mu; /* serialises writes of the checkpoint file */

    /* Throttle (all threads). */
    pthread_mutex_t thr_mu;
    int64_t         thr_start_us;
    double          thr_bytes;
};

/* Per cleaning: buffers and the offset map. */
typedef struct cworker_s {
    gr_cleaner_t *c;
    bool          on_loop; /* run loop requests inline (gr_cleaner_clean_now) */
    size_t        map_bytes;
    size_t        io_bytes; /* read and write buffer size each */
    gr_cleaner_log_config_t lcfg; /* the cleaned log's settings, copied at its pick */
    gr_buf_t      rbuf, wbuf, scratch, batch;
} cworker_t;

/* What one cleaning did. */
typedef struct cresult_s {
    int64_t end_offset;       /* new checkpoint */
    int64_t tombstone_due_ms; /* earliest horizon of kept tombstones */
    gr_cleaner_stats_t st;
} cresult_t;

/* cleaner_clean.c: cleans the log of e as graded; v holds references on
 * its closed segments. 0, -ECANCELED (given up; nothing changed for
 * readers) or an error. */
int gr_cleaner_clean_log(cworker_t *w, centry_t *e, gr_plog_clean_view_t *v,
                         const gr_cleaner_grade_t *g, int64_t now, cresult_t *res);

/* cleaner_clean.c: gives a swapped-in segment its final name (stage D of
 * cleaner_files.h) on the loop thread, then fsyncs the directory; if that
 * does not happen, seg is kept in e->unfinished. */
int gr_cleaner_finish_swap(cworker_t *w, centry_t *e, gr_segment_t *seg);
/* cleaner_clean.c, loop thread: the rename itself (nothing if seg is no
 * longer one of plog's segments). */
int gr_cleaner_rename_final(gr_plog_t *plog, gr_segment_t *seg);

/* cleaner.c: runs r->fn on the loop thread and waits; -ECANCELED if the
 * cleaner stops first. */
int gr_cleaner_on_loop(cworker_t *w, loop_req_t *r);
/* cleaner.c: true when the cleaning of e must stop. */
bool gr_cleaner_should_abort(gr_cleaner_t *c, centry_t *e);
/* cleaner.c: accounts bytes of I/O and sleeps as the throttle asks. */
void gr_cleaner_throttle(gr_cleaner_t *c, size_t bytes);
int64_t gr_cleaner_now(const gr_cleaner_t *c);

#endif
