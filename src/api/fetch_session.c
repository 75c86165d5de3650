/* Incremental fetch session cache; see fetch_session.h. */
#include "api/fetch_session.h"
#include "base/clock.h"
#include "protocol/errors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct gr_fetch_sess_s {
    struct gr_fetch_sess_s *next;
    int32_t  id;
    int32_t  next_epoch;
    int32_t  count;
    int      busy;
    int64_t  last_used_ms;
    gr_fetch_sess_part_t *parts, *tail;
};

typedef struct gr_fetch_sessions_s {
    gr_fetch_sess_t *list;
    int32_t          n;
} sessions_t;

static sessions_t *cache(gr_broker_t *b)
{
    if (!b->fetch_sessions)
        b->fetch_sessions = calloc(1, sizeof(sessions_t));
    return b->fetch_sessions;
}

static void sess_free(gr_fetch_sess_t *s)
{
    gr_fetch_sess_part_t *p = s->parts;
    while (p) {
        gr_fetch_sess_part_t *n = p->next;
        free((char *)p->name.ptr);
        free(p);
        p = n;
    }
    free(s);
}

static void sess_remove(sessions_t *c, gr_fetch_sess_t *s)
{
    for (gr_fetch_sess_t **pp = &c->list; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            c->n--;
            if (s->busy)
                s->id = -1; /* freed by gr_fetch_sess_end */
            else
                sess_free(s);
            return;
        }
    }
}

static gr_fetch_sess_t *sess_find(sessions_t *c, int32_t id)
{
    for (gr_fetch_sess_t *s = c->list; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static gr_fetch_sess_t *sess_new(gr_broker_t *b, sessions_t *c)
{
    int32_t slots = b->cfg->max_incremental_fetch_session_cache_slots;
    if (slots <= 0)
        return NULL;
    if (c->n >= slots) {
        /* Evict the least recently used idle session. */
        gr_fetch_sess_t *victim = NULL;
        for (gr_fetch_sess_t *s = c->list; s; s = s->next)
            if (!s->busy && (!victim || s->last_used_ms < victim->last_used_ms))
                victim = s;
        if (!victim)
            return NULL;
        sess_remove(c, victim);
    }
    gr_fetch_sess_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    do {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            r = (uint32_t)rand();
        s->id = (int32_t)(r & 0x7fffffff);
    } while (s->id == 0 || sess_find(c, s->id));
    s->next_epoch = 1;
    s->next = c->list;
    c->list = s;
    c->n++;
    return s;
}

int16_t gr_fetch_sess_begin(gr_broker_t *b, int32_t id, int32_t epoch, gr_fetch_sess_t **out,
                            bool *incremental)
{
    sessions_t *c = cache(b);
    *out = NULL;
    *incremental = false;
    if (!c)
        return 0;
    if (epoch == -1 || epoch == 0) {
        /* Full fetch: closes the named session; epoch 0 opens a new one. */
        if (id != 0) {
            gr_fetch_sess_t *old = sess_find(c, id);
            if (old)
                sess_remove(c, old);
            else if (epoch == -1)
                return GR_KERR_FETCH_SESSION_ID_NOT_FOUND;
        }
        if (epoch == 0) {
            gr_fetch_sess_t *s = sess_new(b, c);
            if (s) {
                s->busy++;
                s->last_used_ms = gr_clock_mono_ms();
                *out = s;
            }
        }
        return 0;
    }
    gr_fetch_sess_t *s = sess_find(c, id);
    if (!s)
        return GR_KERR_FETCH_SESSION_ID_NOT_FOUND;
    if (epoch != s->next_epoch)
        return GR_KERR_INVALID_FETCH_SESSION_EPOCH;
    s->next_epoch = epoch == INT32_MAX ? 1 : epoch + 1;
    s->busy++;
    s->last_used_ms = gr_clock_mono_ms();
    *out = s;
    *incremental = true;
    return 0;
}

void gr_fetch_sess_end(gr_fetch_sess_t *s)
{
    if (--s->busy == 0 && s->id == -1)
        sess_free(s);
}

int32_t gr_fetch_sess_id(const gr_fetch_sess_t *s) { return s->id; }
int32_t gr_fetch_sess_count(const gr_fetch_sess_t *s) { return s->count; }

static bool part_matches(const gr_fetch_sess_part_t *p, gr_str_t name, const gr_uuid_t *id,
                         int32_t partition, bool by_id)
{
    if (p->partition != partition)
        return false;
    if (by_id)
        return gr_uuid_eq(&p->id, id);
    return p->name.len == name.len && (name.len <= 0 || memcmp(p->name.ptr, name.ptr, (size_t)name.len) == 0);
}

void gr_fetch_sess_upsert(gr_fetch_sess_t *s, gr_meta_topic_t *t, gr_str_t name,
                          const gr_uuid_t *id, int32_t partition, int64_t offset, int32_t max_bytes,
                          int32_t leader_epoch)
{
    bool by_id = name.len < 0 || (id && !gr_uuid_is_zero(id));
    for (gr_fetch_sess_part_t *p = s->parts; p; p = p->next) {
        if (part_matches(p, name, id, partition, by_id)) {
            p->fetch_offset = offset;
            p->max_bytes = max_bytes;
            p->leader_epoch = leader_epoch;
            return;
        }
    }
    gr_fetch_sess_part_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    const char *src = t ? t->name : (name.len > 0 ? name.ptr : "");
    size_t len = t ? strlen(t->name) : (name.len > 0 ? (size_t)name.len : 0);
    char *copy = malloc(len + 1);
    if (!copy) {
        free(p);
        return;
    }
    memcpy(copy, src, len);
    copy[len] = 0;
    p->name.ptr = copy;
    p->name.len = (int32_t)len;
    p->id = t ? t->id : *id;
    p->partition = partition;
    p->fetch_offset = offset;
    p->max_bytes = max_bytes;
    p->leader_epoch = leader_epoch;
    p->last_hw = p->last_lso = p->last_log_start = -2;
    if (s->tail)
        s->tail->next = p;
    else
        s->parts = p;
    s->tail = p;
    s->count++;
}

void gr_fetch_sess_forget(gr_fetch_sess_t *s, gr_str_t name, const gr_uuid_t *id, int32_t partition,
                          bool by_id)
{
    gr_fetch_sess_part_t *prev = NULL;
    for (gr_fetch_sess_part_t *p = s->parts; p; prev = p, p = p->next) {
        if (part_matches(p, name, id, partition, by_id)) {
            if (prev)
                prev->next = p->next;
            else
                s->parts = p->next;
            if (s->tail == p)
                s->tail = prev;
            s->count--;
            free((char *)p->name.ptr);
            free(p);
            return;
        }
    }
}

gr_fetch_sess_part_t *gr_fetch_sess_next(gr_fetch_sess_t *s, gr_fetch_sess_part_t *prev)
{
    return prev ? prev->next : s->parts;
}

gr_meta_topic_t *gr_fetch_sess_part_topic(gr_broker_t *b, gr_fetch_sess_part_t *sp)
{
    gr_meta_topic_t *t = gr_meta_topic_by_id(&b->meta, &sp->id);
    if (!t && sp->name.len > 0)
        t = gr_meta_topic_by_name(&b->meta, sp->name.ptr, (size_t)sp->name.len);
    return t;
}

bool gr_fetch_sess_part_changed(const gr_fetch_sess_part_t *sp, int64_t hw, int64_t lso, int64_t ls)
{
    return sp->last_hw != hw || sp->last_lso != lso || sp->last_log_start != ls;
}

void gr_fetch_sess_part_sent(gr_fetch_sess_part_t *sp, int64_t hw, int64_t lso, int64_t ls)
{
    sp->last_hw = hw;
    sp->last_lso = lso;
    sp->last_log_start = ls;
}

void gr_fetch_sessions_free(gr_broker_t *b)
{
    sessions_t *c = b->fetch_sessions;
    if (!c)
        return;
    gr_fetch_sess_t *s = c->list;
    while (s) {
        gr_fetch_sess_t *n = s->next;
        sess_free(s);
        s = n;
    }
    free(c);
    b->fetch_sessions = NULL;
}
