/* Zero-copy output: file byte ranges that a response carries in place of
 * in-memory bytes.
 *
 * A handler that wants to send part of a file (a Fetch answer's records)
 * registers the range with the output buffer and gets back a tag pointer.
 * It puts that tag, with the range's length, where the bytes belong (a
 * gr_bytes_t in the response struct). When the encoder reaches the field
 * it calls gr_splices_place(), which records the buffer offset the range
 * goes after instead of copying: the connection then writes the buffer
 * around the ranges and the ranges with sendfile(2).
 *
 * The tag is never dereferenced; it only names its range. A range
 * registered but never placed (a partition left out of the answer) is
 * released with the buffer and sent nowhere. Each range holds whatever
 * keeps its file open (a segment reference) until release() runs. */
#ifndef GR_BASE_SPLICE_H
#define GR_BASE_SPLICE_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_splice_s {
    int     fd;
    int64_t pos;
    size_t  len;
    size_t  at;                  /* buffer offset the range follows, once placed */
    bool    placed;
    void  (*release)(void *arg); /* called once, when the buffer is freed */
    void   *arg;
} gr_splice_t;

typedef struct gr_splices_s {
    gr_splice_t **v;             /* in registration order */
    size_t        n, cap;
    gr_splice_t **order;         /* placed ranges in output order */
    size_t        norder;
    size_t        placed_bytes;  /* total length of the placed ranges */
} gr_splices_t;

/* Registers a file range with b; *tag receives the pointer that stands for
 * it. Returns 0 or GR_ENOMEM (then release(arg) has been called). */
int gr_splices_add(gr_buf_t *b, int fd, int64_t pos, size_t len, void (*release)(void *),
                   void *arg, const uint8_t **tag);
/* The encoder's hook: when tag names a range of b, records that the range
 * goes at the buffer's current end and returns true; otherwise false. */
bool gr_splices_place(gr_buf_t *b, const uint8_t *tag, size_t len);
/* Number of ranges registered so far, and dropping those registered after
 * the first n (a discarded attempt at an answer). */
size_t gr_splices_count(const gr_buf_t *b);
void gr_splices_truncate(gr_buf_t *b, size_t n);
/* Forgets every placement (the buffer is being encoded again). */
void gr_splices_unplace(gr_buf_t *b);
/* Bytes the placed ranges add to the buffer's own length. */
size_t gr_splices_placed_bytes(const gr_buf_t *b);
/* Releases every range; called by gr_buf_free(). */
void gr_splices_free(gr_splices_t *s);

#endif
