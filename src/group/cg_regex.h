/* Regular expressions of KIP-848 subscriptions: RE2 syntax as Kafka takes
 * it, run as POSIX extended expressions matching whole topic names; the
 * differences are listed in cg_regex.c and docs/groups.md. */
#ifndef GR_GROUP_CG_REGEX_H
#define GR_GROUP_CG_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* Compiles re (NUL-terminated) into *out (regfree it). 0, or -1 with a
 * description in err. */
int gr_cg_regex_compile(const char *re, regex_t *out, char *err, size_t errlen);
/* True when the whole of topic matches. */
bool gr_cg_regex_match(const regex_t *rx, const char *topic);

#endif
