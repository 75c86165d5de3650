/* Config resources named by AlterConfigs and IncrementalAlterConfigs. */
#ifndef GR_API_RESOURCES_H
#define GR_API_RESOURCES_H

#include "base/arena.h"
#include "protocol/codec.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct gr_api_resource_s {
    int8_t   type;
    gr_str_t name;
} gr_api_resource_t;

/* dup[i] = resource i is named more than once in res[0..n) (found by
 * sorting: a request may name many resources). NULL when out of memory. */
bool *gr_api_duplicate_resources(gr_arena_t *a, const gr_api_resource_t *res, int32_t n);

#endif
