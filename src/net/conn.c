/* Listeners and client connections; see conn.h. */
#include "net/conn.h"
#include "api/dispatch.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/splice.h"
#include "log/log_io.h"
#include "log/partition_log.h"
#include "server/broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/sendfile.h>

/* Pause reading when this many requests wait for their turn or this many
 * reply bytes wait for the socket: one connection cannot hold more. */
#define CONN_MAX_INFLIGHT     100
#define CONN_MAX_QUEUED_BYTES (64u << 20)
/* When the socket is full in the middle of a file range, the next this many
 * bytes of it are read and queued with libuv instead. */
#define CONN_FILE_CHUNK (256u << 10)
/* The smallest valid request: api key, version, correlation id. */
#define MIN_FRAME 8

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void conn_flush(gr_conn_t *conn);
static void conn_pump(gr_conn_t *conn);

typedef struct {
    uv_write_t w;
    gr_conn_t *conn;
    uint8_t   *data;
    size_t     len;
} write_req_t;

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    gr_conn_t *conn = h->data;
    (void)suggested;
    if (conn->frame) {
        /* Read straight into the frame being assembled. */
        buf->base = (char *)conn->frame + conn->frame_got;
        buf->len = conn->frame_len - conn->frame_got;
    } else {
        buf->base = (char *)conn->sizebuf + conn->sizebuf_len;
        buf->len = sizeof conn->sizebuf - conn->sizebuf_len;
    }
}

static void conn_update_reading(gr_conn_t *conn)
{
    if (conn->closing)
        return;
    bool want = conn->inflight < CONN_MAX_INFLIGHT && conn->queued_bytes < CONN_MAX_QUEUED_BYTES &&
                !conn->broker->stopping;
    if (want && !conn->reading) {
        if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_on_read) == 0)
            conn->reading = true;
    } else if (!want && conn->reading) {
        uv_read_stop((uv_stream_t *)&conn->tcp);
        conn->reading = false;
    }
}

static void req_free(gr_req_t *req)
{
    free(req->frame);
    gr_arena_free(&req->arena);
    gr_buf_free(&req->out);
    free(req);
}

static void conn_on_close(uv_handle_t *h)
{
    gr_conn_t *conn = h->data;
    free(conn->frame);
    free(conn);
}

void gr_conn_close(gr_conn_t *conn)
{
    if (conn->closing)
        return;
    conn->closing = true;
    gr_broker_t *b = conn->broker;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        b->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    b->nconns--;
    /* Pending requests outlive the connection: their handlers still answer
     * and then free them. Finished ones go now. */
    gr_req_t *req = conn->head;
    while (req) {
        gr_req_t *next = req->next;
        req->next = NULL;
        if (req->done)
            req_free(req);
        else
            req->conn = NULL;
        req = next;
    }
    conn->head = conn->tail = NULL;
    if (conn->cur) {
        req_free(conn->cur);
        conn->cur = NULL;
    }
    uv_close((uv_handle_t *)&conn->tcp, conn_on_close);
}

static void conn_on_write(uv_write_t *w, int status)
{
    write_req_t *wr = (write_req_t *)w;
    gr_conn_t *conn = wr->conn;
    conn->queued_bytes -= wr->len;
    free(wr->data);
    free(wr);
    if (status < 0) {
        if (!conn->closing)
            gr_log(GR_LOG_DEBUG, "net", "%s: write failed: %s", conn->peer, uv_strerror(status));
        gr_conn_close(conn);
        return;
    }
    if (conn->cur)
        conn_pump(conn);
    else
        conn_update_reading(conn);
}

/* Queues len bytes (ownership of data passes) with libuv. */
static int conn_queue_write(gr_conn_t *conn, uint8_t *data, size_t len)
{
    write_req_t *wr = malloc(sizeof *wr);
    if (!wr) {
        free(data);
        return UV_ENOMEM;
    }
    wr->conn = conn;
    wr->data = data;
    wr->len = len;
    uv_buf_t ub = uv_buf_init((char *)data, (unsigned)len);
    conn->queued_bytes += len;
    int rc = uv_write(&wr->w, (uv_stream_t *)&conn->tcp, &ub, 1, conn_on_write);
    if (rc < 0) {
        conn->queued_bytes -= len;
        free(data);
        free(wr);
    }
    return rc;
}

/* Writes the reply in conn->cur, which carries file ranges: buffer pieces
 * with uv_try_write (queued copies when the socket is full), file ranges
 * with sendfile(2) while the socket takes them and nothing is queued ahead.
 * When sendfile would block, the next chunk of the range is read and
 * queued instead; its completion (conn_on_write) resumes the pump. */
static void conn_pump(gr_conn_t *conn)
{
    uv_stream_t *st = (uv_stream_t *)&conn->tcp;
    uv_os_fd_t sock;
    if (uv_fileno((uv_handle_t *)st, &sock) != 0) {
        gr_conn_close(conn);
        return;
    }
    while (conn->cur && !conn->closing) {
        gr_req_t *req = conn->cur;
        gr_splices_t *sps = req->out.splices;
        size_t norder = sps ? sps->norder : 0;
        size_t next_at = conn->cur_idx < norder ? sps->order[conn->cur_idx]->at : req->out.len;
        if (conn->cur_mem < next_at) {
            size_t n = next_at - conn->cur_mem;
            uv_buf_t ub = uv_buf_init((char *)req->out.data + conn->cur_mem, (unsigned)n);
            int w = uv_try_write(st, &ub, 1);
            if (w < 0 && w != UV_EAGAIN && w != UV_ENOSYS)
                goto fail;
            size_t done = w > 0 ? (size_t)w : 0;
            if (done < n) {
                uint8_t *copy = malloc(n - done);
                if (!copy)
                    goto fail;
                memcpy(copy, req->out.data + conn->cur_mem + done, n - done);
                if (conn_queue_write(conn, copy, n - done) < 0)
                    goto fail;
            }
            conn->cur_mem = next_at;
            continue;
        }
        if (conn->cur_idx < norder) {
            gr_splice_t *sp = sps->order[conn->cur_idx];
            size_t rem = sp->len - conn->cur_file_off;
            if (rem == 0) {
                conn->cur_idx++;
                conn->cur_file_off = 0;
                continue;
            }
            /* Bytes queued with libuv go first; resume when they are out. */
            if (uv_stream_get_write_queue_size(st) > 0)
                return;
            off_t off = (off_t)(sp->pos + (int64_t)conn->cur_file_off);
            ssize_t n = sendfile(sock, sp->fd, &off, rem);
            if (n > 0) {
                conn->cur_file_off += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN) {
                gr_log(GR_LOG_DEBUG, "net", "%s: sendfile failed: %s", conn->peer, strerror(errno));
                goto fail;
            }
            if (n == 0) {
                GR_LOG_RL(GR_LOG_ERROR, "net",
                          "%s: closing connection: a log segment ended %zu bytes before the "
                          "range being sent",
                          conn->peer, rem);
                goto fail;
            }
            /* The socket is full: queue a copy of the next chunk. */
            size_t chunk = rem < CONN_FILE_CHUNK ? rem : CONN_FILE_CHUNK;
            uint8_t *copy = malloc(chunk);
            if (!copy)
                goto fail;
            if (gr_log_io_pread_all(sp->fd, copy, chunk,
                                    sp->pos + (int64_t)conn->cur_file_off) != 0) {
                free(copy);
                GR_LOG_RL(GR_LOG_ERROR, "net", "%s: closing connection: cannot read a log segment",
                          conn->peer);
                goto fail;
            }
            if (conn_queue_write(conn, copy, chunk) < 0)
                goto fail;
            conn->cur_file_off += chunk;
            continue;
        }
        /* All of it is written or queued. */
        bool close_after = req->close_conn;
        conn->cur = NULL;
        req_free(req);
        if (close_after) {
            gr_conn_close(conn);
            return;
        }
        conn_flush(conn);
        return;
    }
    return;
fail:
    gr_conn_close(conn);
}

/* Write out every finished reply at the head of the queue, in order. */
static void conn_flush(gr_conn_t *conn)
{
    while (conn->head && conn->head->done && !conn->closing && !conn->cur) {
        gr_req_t *req = conn->head;
        if (!gr_broker_meta_durable_for(conn->broker, req->meta_end)) {
            /* Built on metadata not yet on disk: wait for the flush. */
            conn->broker->meta_held = true;
            break;
        }
        conn->head = req->next;
        if (!conn->head)
            conn->tail = NULL;
        conn->inflight--;
        bool close_after = req->close_conn;
        if (req->out.splices && req->out.splices->norder > 0 && !req->out.oom) {
            conn->cur = req;
            conn->cur_mem = 0;
            conn->cur_idx = 0;
            conn->cur_file_off = 0;
            conn_pump(conn);
            return;
        }
        if (req->out.len > 0 && !req->out.oom) {
            write_req_t *wr = malloc(sizeof *wr);
            if (!wr) {
                req_free(req);
                gr_conn_close(conn);
                return;
            }
            wr->conn = conn;
            wr->data = gr_buf_take(&req->out, &wr->len);
            uv_buf_t ub = uv_buf_init((char *)wr->data, (unsigned)wr->len);
            conn->queued_bytes += wr->len;
            int rc = uv_write(&wr->w, (uv_stream_t *)&conn->tcp, &ub, 1, conn_on_write);
            if (rc < 0) {
                conn->queued_bytes -= wr->len;
                free(wr->data);
                free(wr);
                req_free(req);
                gr_conn_close(conn);
                return;
            }
        } else if (req->out.oom) {
            close_after = true;
        }
        req_free(req);
        if (close_after) {
            gr_conn_close(conn);
            return;
        }
    }
    conn_update_reading(conn);
}

void gr_conn_request_done(gr_conn_t *conn) { conn_flush(conn); }

static void conn_frame_ready(gr_conn_t *conn)
{
    gr_req_t *req = calloc(1, sizeof *req);
    if (!req) {
        gr_conn_close(conn);
        return;
    }
    req->conn = conn;
    req->broker = conn->broker;
    req->frame = conn->frame;
    req->frame_len = conn->frame_len;
    req->start_us = gr_clock_mono_us();
    conn->frame = NULL;
    conn->frame_len = conn->frame_got = 0;
    gr_arena_init(&req->arena, 0);
    gr_buf_init(&req->out);
    if (conn->tail)
        conn->tail->next = req;
    else
        conn->head = req;
    conn->tail = req;
    conn->inflight++;
    gr_api_dispatch(req);
    /* The handler may have answered at once; the connection may have closed. */
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    gr_conn_t *conn = s->data;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            gr_log(GR_LOG_DEBUG, "net", "%s: read failed: %s", conn->peer, uv_strerror((int)nread));
        gr_conn_close(conn);
        return;
    }
    conn->last_active_ms = gr_clock_mono_ms();
    if (conn->frame) {
        conn->frame_got += (size_t)nread;
        if (conn->frame_got == conn->frame_len)
            conn_frame_ready(conn);
        return;
    }
    conn->sizebuf_len += (size_t)nread;
    if (conn->sizebuf_len < 4)
        return;
    int32_t size = (int32_t)gr_be32(conn->sizebuf);
    conn->sizebuf_len = 0;
    int32_t max = conn->broker->cfg->socket_request_max_bytes;
    if (size < MIN_FRAME || size > max) {
        GR_LOG_RL(GR_LOG_WARN, "net",
                  "%s: closing connection: request size %d outside [%d, %d] "
                  "(socket.request.max.bytes)",
                  conn->peer, size, MIN_FRAME, max);
        gr_conn_close(conn);
        return;
    }
    conn->frame = malloc((size_t)size);
    if (!conn->frame) {
        gr_log(GR_LOG_ERROR, "net", "%s: out of memory for a %d-byte request", conn->peer, size);
        gr_conn_close(conn);
        return;
    }
    conn->frame_len = (size_t)size;
    conn->frame_got = 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    gr_listener_t *l = server->data;
    gr_broker_t *b = l->broker;
    if (status < 0) {
        GR_LOG_RL(GR_LOG_WARN, "net", "accept failed: %s", uv_strerror(status));
        return;
    }
    gr_conn_t *conn = calloc(1, sizeof *conn);
    if (!conn)
        return;
    uv_tcp_init(b->loop, &conn->tcp);
    conn->tcp.data = conn;
    conn->broker = b;
    conn->listener = l;
    if (uv_accept(server, (uv_stream_t *)&conn->tcp) != 0) {
        conn->closing = true;
        uv_close((uv_handle_t *)&conn->tcp, conn_on_close);
        return;
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    snprintf(conn->peer, sizeof conn->peer, "unknown");
    if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char ip[48] = "";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        snprintf(conn->peer, sizeof conn->peer, "%s:%d", ip, port);
    }
    conn->last_active_ms = gr_clock_mono_ms();
    conn->next = b->conns;
    if (b->conns)
        b->conns->prev = conn;
    b->conns = conn;
    b->nconns++;
    conn_update_reading(conn);
}

int gr_listener_start(gr_broker_t *b, gr_listener_t *l, const char *host, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host && *host ? host : NULL, portstr, &hints, &res);
    if (rc != 0) {
        gr_log(GR_LOG_ERROR, "net", "cannot resolve listener host '%s': %s", host, gai_strerror(rc));
        return GR_EINVAL;
    }
    l->broker = b;
    uv_tcp_init(b->loop, &l->tcp);
    l->tcp.data = l;
    rc = uv_tcp_bind(&l->tcp, res->ai_addr, 0);
    freeaddrinfo(res);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->tcp, 1024, on_connection);
    if (rc < 0) {
        gr_log(GR_LOG_ERROR, "net", "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)&l->tcp, NULL);
        return rc;
    }
    snprintf(l->host, sizeof l->host, "%s", host ? host : "");
    l->port = port;
    if (port == 0) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len) == 0)
            l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return 0;
}

void gr_listener_stop(gr_listener_t *l)
{
    if (!uv_is_closing((uv_handle_t *)&l->tcp))
        uv_close((uv_handle_t *)&l->tcp, NULL);
}

void gr_conn_sweep_idle(gr_broker_t *b, int64_t now_ms, int64_t max_idle_ms)
{
    gr_conn_t *conn = b->conns;
    while (conn) {
        gr_conn_t *next = conn->next;
        if (conn->inflight == 0 && now_ms - conn->last_active_ms > max_idle_ms) {
            gr_log(GR_LOG_DEBUG, "net", "%s: closing idle connection", conn->peer);
            gr_conn_close(conn);
        }
        conn = next;
    }
}

/* ---- request completion (declared in request.h) ---- */

void gr_req_begin_response(gr_req_t *req)
{
    gr_buf_reset(&req->out);
    gr_splices_unplace(&req->out);
    gr_buf_put_i32(&req->out, 0); /* size, patched in end */
    gr_buf_put_i32(&req->out, req->correlation_id);
    /* ApiVersions answers always use header v0 so any client can parse them. */
    if (req->header_version >= 2 && req->api_key != 18)
        gr_buf_put_uvarint(&req->out, 0);
}

static void req_complete(gr_req_t *req)
{
    req->done = true;
    gr_broker_t *b = req->broker;
    req->meta_end = b->metalog ? gr_plog_leo(b->metalog) : 0;
    gr_arena_free(&req->arena);
    if (!req->conn) {
        req_free(req);
        return;
    }
    conn_flush(req->conn);
}

void gr_req_end_response(gr_req_t *req)
{
    size_t total = req->out.len + gr_splices_placed_bytes(&req->out);
    gr_buf_patch_i32(&req->out, 0, (int32_t)(total - 4));
    req_complete(req);
}

void gr_req_finish_noreply(gr_req_t *req)
{
    gr_buf_reset(&req->out);
    req_complete(req);
}

void gr_req_malformed(gr_req_t *req, const char *what)
{
    GR_LOG_RL(GR_LOG_WARN, "net",
              "%s: closing connection: malformed %s request (api %d, version %d, client '%.*s') "
              "at byte %zu: %s",
              gr_req_peer(req), gr_api_name(req->api_key), req->api_key, req->api_version,
              req->client_id.len > 0 ? (int)req->client_id.len : 0,
              req->client_id.len > 0 ? req->client_id.ptr : "", req->body.off, what);
    req->close_conn = true;
    gr_req_finish_noreply(req);
}

const char *gr_req_peer(const gr_req_t *req) { return req->conn ? req->conn->peer : "(closed)"; }
