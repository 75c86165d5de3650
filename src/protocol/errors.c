/* Names and default messages of Kafka's error codes; see errors.h. */
#include "protocol/errors.h"

#include <stddef.h>

typedef struct {
    const char *name;
    const char *msg;
} kerr_entry_t;

/* Indexed by code + 1, so UNKNOWN_SERVER_ERROR (-1) is entry 0. */
static const kerr_entry_t kerr_table[GR_KERR_MAX_ - GR_KERR_MIN_ + 1] = {
#define GR_KERR_ENTRY_(name, code, msg) [(code) + 1] = {#name, msg},
    GR_KERR_LIST(GR_KERR_ENTRY_)
#undef GR_KERR_ENTRY_
};

static const kerr_entry_t *lookup(int16_t code)
{
    if (code < GR_KERR_MIN_ || code > GR_KERR_MAX_)
        return NULL;
    const kerr_entry_t *e = &kerr_table[code + 1];
    return e->name ? e : NULL;
}

bool gr_kerr_known(int16_t code) { return lookup(code) != NULL; }

const char *gr_kerr_name(int16_t code)
{
    const kerr_entry_t *e = lookup(code);
    return e ? e->name : "UNKNOWN_ERROR_CODE";
}

const char *gr_kerr_message(int16_t code)
{
    const kerr_entry_t *e = lookup(code);
    if (!e)
        return "The broker returned an error code this build does not know.";
    return e->msg;
}
