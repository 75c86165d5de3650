/* One blocking connection to one broker speaking Kafka's protocol with
 * Gregor's generated codecs, for the few admin APIs that Debian's
 * librdkafka 2.0 has no call for (IncrementalAlterConfigs arrived in
 * librdkafka 2.2; DescribeLogDirs has none). Everything else in the tool
 * goes through librdkafka. See cli_int.h. */
#include "cli/cli_int.h"
#include "base/buf.h"
#include "kafka_msgs.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RAW_MAX_RESPONSE (64 << 20)
#define RAW_CLIENT_ID "gregor-cli"

/* Connects to host:port within timeout_ms; the socket is then blocking
 * with send and receive timeouts of timeout_ms. */
static int dial(const char *host, const char *port, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        int soerr = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                soerr = errno;
            } else {
                struct pollfd p = {fd, POLLOUT, 0};
                socklen_t sl = sizeof soerr;
                if (poll(&p, 1, timeout_ms) != 1)
                    soerr = ETIMEDOUT;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                    soerr = errno;
            }
        }
        if (soerr) {
            snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(soerr));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        snprintf(err, errlen, "cannot set up the connection to %s:%s: %s", host, port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Sends one request and reads its response frame into c->resp (the body,
 * after the response header, is what *body reads). */
static int call(gr_cli_raw_t *c, int16_t api, int16_t v, const gr_buf_t *body, gr_reader_t *out)
{
    const gr_api_schema_t *s = &gr_api_schemas[api];
    bool flexible = s->flexible_from >= 0 && v >= s->flexible_from;
    gr_RequestHeader h;
    gr_RequestHeader_init(&h);
    h.RequestApiKey = api;
    h.RequestApiVersion = v;
    h.CorrelationId = ++c->correlation;
    h.ClientId = gr_str(RAW_CLIENT_ID);
    gr_buf_t frame;
    gr_buf_init(&frame);
    gr_buf_put_i32(&frame, 0);
    gr_RequestHeader_encode(&frame, flexible ? 2 : 1, &h);
    gr_buf_put(&frame, body->data, body->len);
    gr_wbe32(frame.data, (uint32_t)(frame.len - 4));
    int rc = write_all(c->fd, frame.data, frame.len);
    gr_buf_free(&frame);
    if (rc) {
        snprintf(c->error, sizeof c->error, "cannot send to %s: %s", c->broker, strerror(errno));
        return -1;
    }
    uint8_t len4[4];
    if (read_all(c->fd, len4, 4) != 0) {
        snprintf(c->error, sizeof c->error, "no answer from %s: %s", c->broker,
                 errno ? strerror(errno) : "connection closed");
        return -1;
    }
    uint32_t len = gr_be32(len4);
    if (len < 4 || len > RAW_MAX_RESPONSE) {
        snprintf(c->error, sizeof c->error, "bad response size %u from %s", len, c->broker);
        return -1;
    }
    free(c->resp);
    c->resp = malloc(len);
    if (!c->resp || read_all(c->fd, c->resp, len) != 0) {
        snprintf(c->error, sizeof c->error, "truncated answer from %s", c->broker);
        return -1;
    }
    gr_reader_t r;
    gr_reader_init(&r, c->resp, len);
    gr_ResponseHeader rh;
    /* ApiVersions answers with header v0 whatever its version. */
    int16_t hv = flexible && api != GR_API_ApiVersions ? 1 : 0;
    if (gr_ResponseHeader_decode(&r, &c->arena, hv, &rh) != 0 || rh.CorrelationId != c->correlation) {
        snprintf(c->error, sizeof c->error, "bad response header from %s", c->broker);
        return -1;
    }
    gr_reader_init(out, c->resp + r.off, len - r.off);
    return 0;
}

int gr_cli_raw_open(gr_cli_t *cli, const char *host, int port, gr_cli_raw_t *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    gr_arena_init(&c->arena, 0);
    snprintf(c->broker, sizeof c->broker, "%s:%d", host, port);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    c->fd = dial(host, ps, cli->request_timeout_ms, c->error, sizeof c->error);
    if (c->fd < 0)
        return -1;
    /* What the broker speaks: ApiVersions v0 needs no body and every
     * broker answers it. */
    gr_buf_t body;
    gr_buf_init(&body);
    gr_reader_t r;
    int rc = call(c, GR_API_ApiVersions, 0, &body, &r);
    gr_buf_free(&body);
    gr_ApiVersionsResponse av;
    if (rc == 0 && gr_ApiVersionsResponse_decode(&r, &c->arena, 0, &av) != 0) {
        snprintf(c->error, sizeof c->error, "bad ApiVersions answer from %s", c->broker);
        rc = -1;
    }
    if (rc)
        return -1;
    for (int k = 0; k < GR_API_COUNT; k++)
        c->max_version[k] = -1;
    for (int32_t i = 0; i < av.ApiKeys_count; i++) {
        int16_t k = av.ApiKeys[i].ApiKey;
        if (k >= 0 && k < GR_API_COUNT) {
            c->min_version[k] = av.ApiKeys[i].MinVersion;
            c->max_version[k] = av.ApiKeys[i].MaxVersion;
        }
    }
    return 0;
}

int16_t gr_cli_raw_version(const gr_cli_raw_t *c, int16_t api, int16_t want_max)
{
    if (api < 0 || api >= GR_API_COUNT || c->max_version[api] < 0)
        return -1;
    int16_t v = c->max_version[api] < want_max ? c->max_version[api] : want_max;
    int16_t ours = gr_api_schemas[api].max_version;
    if (v > ours)
        v = ours;
    return v >= c->min_version[api] ? v : -1;
}

int gr_cli_raw_call(gr_cli_raw_t *c, int16_t api, int16_t v, const gr_buf_t *body, gr_reader_t *out)
{
    return c->fd < 0 ? -1 : call(c, api, v, body, out);
}

void gr_cli_raw_close(gr_cli_raw_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->resp);
    c->resp = NULL;
    gr_arena_free(&c->arena);
}
