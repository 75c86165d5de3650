/* __consumer_offsets record encoding and decoding; the byte layout is
 * described in group_records.h. */
#include "group/group_records.h"
#include "base/err.h"
#include "kafka_msgs.h"

#include <string.h>

/* ---- encoding (we always write the non-flexible versions) ---- */

static void put_str(gr_buf_t *b, gr_str_t s)
{
    if (s.len < 0 || !s.ptr) {
        gr_buf_put_i16(b, -1);
        return;
    }
    int32_t n = s.len > 0x7fff ? 0x7fff : s.len;
    gr_buf_put_i16(b, (int16_t)n);
    gr_buf_put(b, s.ptr, (size_t)n);
}

/* A string that must not be null in the schema: null is written as "". */
static void put_str_nn(gr_buf_t *b, gr_str_t s)
{
    if (s.len < 0 || !s.ptr)
        s = gr_str("");
    put_str(b, s);
}

static void put_bytes(gr_buf_t *b, gr_bytes_t v)
{
    if (v.len < 0 || !v.ptr) {
        gr_buf_put_i32(b, 0);
        return;
    }
    gr_buf_put_i32(b, v.len);
    gr_buf_put(b, v.ptr, (size_t)v.len);
}

void gr_grec_offset_key(gr_buf_t *b, gr_str_t group, gr_str_t topic, int32_t partition)
{
    gr_buf_put_i16(b, GR_GREC_OFFSET_COMMIT);
    put_str_nn(b, group);
    put_str_nn(b, topic);
    gr_buf_put_i32(b, partition);
}

void gr_grec_group_key(gr_buf_t *b, gr_str_t group)
{
    gr_buf_put_i16(b, GR_GREC_GROUP_METADATA);
    put_str_nn(b, group);
}

void gr_grec_offset_value(gr_buf_t *b, const gr_grec_offset_t *v)
{
    /* Kafka writes version 1 only for commits with an explicit expiry
     * (OffsetCommit v2-v4 RetentionTimeMs), else version 3. */
    bool v1 = v->expire_ts >= 0;
    gr_buf_put_i16(b, v1 ? 1 : 3);
    gr_buf_put_i64(b, v->offset);
    if (!v1)
        gr_buf_put_i32(b, v->leader_epoch);
    put_str_nn(b, v->metadata);
    gr_buf_put_i64(b, v->commit_ts);
    if (v1)
        gr_buf_put_i64(b, v->expire_ts);
}

void gr_grec_group_value(gr_buf_t *b, const gr_grec_group_t *v)
{
    gr_buf_put_i16(b, 3);
    put_str_nn(b, v->protocol_type);
    gr_buf_put_i32(b, v->generation);
    put_str(b, v->protocol);
    put_str(b, v->leader);
    gr_buf_put_i64(b, v->state_ts);
    gr_buf_put_i32(b, v->nmembers);
    for (int32_t i = 0; i < v->nmembers; i++) {
        const gr_grec_member_t *m = &v->members[i];
        put_str_nn(b, m->member_id);
        put_str(b, m->instance_id);
        put_str_nn(b, m->client_id);
        put_str_nn(b, m->client_host);
        gr_buf_put_i32(b, m->rebalance_timeout_ms);
        gr_buf_put_i32(b, m->session_timeout_ms);
        put_bytes(b, m->subscription);
        put_bytes(b, m->assignment);
    }
}

/* ---- decoding (every version Kafka defines, flexible ones included) ---- */

static void skip_tagged(gr_reader_t *r)
{
    uint64_t n = gr_read_uvarint(r);
    for (uint64_t i = 0; i < n && !r->err; i++) {
        (void)gr_read_uvarint(r);
        uint64_t size = gr_read_uvarint(r);
        if (size > gr_reader_left(r)) {
            r->err = GR_EMALFORMED;
            return;
        }
        gr_read_bytes(r, (size_t)size);
    }
}

int gr_grec_key_parse(const uint8_t *p, size_t len, gr_grec_key_t *out)
{
    gr_reader_t r;
    gr_reader_init(&r, p, len);
    memset(out, 0, sizeof *out);
    out->type = gr_read_i16(&r);
    if (r.err)
        return GR_EMALFORMED;
    if (out->type == GR_GREC_OFFSET_COMMIT || out->type == GR_GREC_OFFSET_COMMIT_LEGACY) {
        gr_codec_read_string(&r, false, false, &out->group);
        gr_codec_read_string(&r, false, false, &out->topic);
        out->partition = gr_read_i32(&r);
    } else if (out->type == GR_GREC_GROUP_METADATA || out->type == GR_CREC_ConsumerGroupMetadata ||
               out->type == GR_CREC_ConsumerGroupPartitionMetadata ||
               out->type == GR_CREC_ConsumerGroupTargetAssignmentMetadata) {
        gr_codec_read_string(&r, false, false, &out->group);
    } else if (out->type == GR_CREC_ConsumerGroupMemberMetadata ||
               out->type == GR_CREC_ConsumerGroupTargetAssignmentMember ||
               out->type == GR_CREC_ConsumerGroupCurrentMemberAssignment ||
               out->type == GR_CREC_ConsumerGroupRegularExpression) {
        gr_codec_read_string(&r, false, false, &out->group);
        gr_codec_read_string(&r, false, false, &out->member);
    } else {
        return GR_EUNSUPPORTED;
    }
    return r.err ? GR_EMALFORMED : 0;
}

int gr_grec_offset_value_parse(const uint8_t *p, size_t len, gr_grec_offset_t *out)
{
    gr_reader_t r;
    gr_reader_init(&r, p, len);
    memset(out, 0, sizeof *out);
    out->leader_epoch = -1;
    out->expire_ts = -1;
    int16_t v = gr_read_i16(&r);
    if (r.err)
        return GR_EMALFORMED;
    if (v < 0 || v > 4)
        return GR_EUNSUPPORTED;
    bool flex = v >= 4;
    out->offset = gr_read_i64(&r);
    if (v >= 3)
        out->leader_epoch = gr_read_i32(&r);
    gr_codec_read_string(&r, flex, false, &out->metadata);
    out->commit_ts = gr_read_i64(&r);
    if (v == 1)
        out->expire_ts = gr_read_i64(&r);
    if (flex)
        skip_tagged(&r);
    return r.err ? GR_EMALFORMED : 0;
}

int gr_grec_group_value_parse(const uint8_t *p, size_t len, gr_arena_t *arena, gr_grec_group_t *out)
{
    gr_reader_t r;
    gr_reader_init(&r, p, len);
    memset(out, 0, sizeof *out);
    out->state_ts = -1;
    int16_t v = gr_read_i16(&r);
    if (r.err)
        return GR_EMALFORMED;
    if (v < 0 || v > 4)
        return GR_EUNSUPPORTED;
    bool flex = v >= 4;
    gr_codec_read_string(&r, flex, false, &out->protocol_type);
    out->generation = gr_read_i32(&r);
    gr_codec_read_string(&r, flex, true, &out->protocol);
    gr_codec_read_string(&r, flex, true, &out->leader);
    if (v >= 2)
        out->state_ts = gr_read_i64(&r);
    int32_t n = 0;
    if (gr_codec_read_array_len(&r, flex, false, &n) != 0 || n < 0)
        return GR_EMALFORMED;
    out->members = gr_arena_calloc(arena, (size_t)n + 1, sizeof *out->members);
    if (!out->members)
        return GR_ENOMEM;
    for (int32_t i = 0; i < n && !r.err; i++) {
        gr_grec_member_t *m = &out->members[i];
        gr_codec_read_string(&r, flex, false, &m->member_id);
        m->instance_id.len = -1;
        if (v >= 3)
            gr_codec_read_string(&r, flex, true, &m->instance_id);
        gr_codec_read_string(&r, flex, false, &m->client_id);
        gr_codec_read_string(&r, flex, false, &m->client_host);
        m->rebalance_timeout_ms = -1;
        if (v >= 1)
            m->rebalance_timeout_ms = gr_read_i32(&r);
        m->session_timeout_ms = gr_read_i32(&r);
        gr_codec_read_bytes(&r, flex, false, &m->subscription);
        gr_codec_read_bytes(&r, flex, false, &m->assignment);
        if (flex)
            skip_tagged(&r);
    }
    out->nmembers = n;
    if (flex)
        skip_tagged(&r);
    return r.err ? GR_EMALFORMED : 0;
}

/* ---- Java strings ---- */

/* Decodes one UTF-8 sequence at s[*i] into a code point, advancing *i;
 * malformed input yields U+FFFD and consumes one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp;
    int extra;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xc2 && c <= 0xdf) {
        cp = c & 0x1f;
        extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        cp = c & 0x0f;
        extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
        cp = c & 0x07;
        extra = 3;
    } else {
        (*i)++;
        return 0xfffd;
    }
    if ((size_t)extra > len - *i - 1) {
        (*i)++;
        return 0xfffd;
    }
    for (int k = 1; k <= extra; k++) {
        unsigned char cc = s[*i + (size_t)k];
        if ((cc & 0xc0) != 0x80) {
            (*i)++;
            return 0xfffd;
        }
        cp = (cp << 6) | (cc & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are malformed. */
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        (*i)++;
        return 0xfffd;
    }
    *i += (size_t)extra + 1;
    return cp;
}

int32_t gr_grec_java_hash(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t h = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = utf8_next(s, len, &i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

size_t gr_grec_java_length(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0, i = 0;
    while (i < len)
        n += utf8_next(s, len, &i) >= 0x10000 ? 2 : 1;
    return n;
}

int32_t gr_grec_partition_for(const char *group, size_t len, int32_t nparts)
{
    if (nparts <= 0)
        return 0;
    int32_t h = gr_grec_java_hash(group, len);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return a % nparts;
}

int gr_grec_subscription_topics(const uint8_t *p, size_t len, void (*fn)(void *arg, gr_str_t topic),
                                void *arg)
{
    gr_reader_t r;
    gr_reader_init(&r, p, len);
    int16_t v = gr_read_i16(&r);
    int32_t n = 0;
    if (r.err || v < 0 || gr_codec_read_array_len(&r, false, false, &n) != 0 || n < 0)
        return GR_EMALFORMED;
    for (int32_t i = 0; i < n; i++) {
        gr_str_t t;
        if (gr_codec_read_string(&r, false, false, &t) != 0)
            return GR_EMALFORMED;
        fn(arg, t);
    }
    return 0;
}
