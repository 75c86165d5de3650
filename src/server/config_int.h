/* Private to src/server/config*.c: the tables, the validators they name, and
 * helpers shared by the parser, DescribeConfigs and the docs writer. */
#ifndef GR_SERVER_CONFIG_INT_H
#define GR_SERVER_CONFIG_INT_H

#include "server/config.h"

extern const gr_config_def_t gr_config_broker_table[];
extern const size_t          gr_config_broker_count;
extern const gr_config_def_t gr_config_topic_table[];
extern const size_t          gr_config_topic_count;

/* Values of one broker key per source; NULL = not set there. */
enum { GR_SLOT_STATIC = 0, GR_SLOT_DYN_DEFAULT = 1, GR_SLOT_DYN_BROKER = 2, GR_SLOT_COUNT = 3 };
struct gr_config_slot_s {
    char *at[GR_SLOT_COUNT];
};

/* Validators named by the table (config.c). Each gets the canonical value. */
int gr_config_chk_listeners(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_protocol_map(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_voters(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_host_ports(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_host_counts(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_gzip_level(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_throttled(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_false(const gr_config_def_t *d, const char *v, char *err, size_t errlen);
int gr_config_chk_migration_policy(const gr_config_def_t *d, const char *v, char *err, size_t errlen);

/* Parses and validates raw for key d; on success *out is a new canonical
 * string (caller frees). Errors: GR_EINVAL with a message, GR_ENOMEM. */
int gr_config_canon(const gr_config_def_t *d, const char *raw, char **out, char *err, size_t errlen);
/* Java's Integer.parseInt / Long.parseLong rules: [+-]digits. 0, GR_EINVAL or GR_ERANGE. */
int gr_config_parse_int64(const char *s, int64_t *out);

/* The value a topic key takes from the broker when not overridden: its broker
 * synonym resolved as Kafka's KafkaConfig.extractLogConfigMap does (chains
 * in ms), else the topic default. May point into buf. */
const char *gr_config_topic_default(const gr_config_t *cfg, const gr_config_def_t *td, char *buf,
                                    size_t len);
/* Kafka's synonym list for broker key `key` (all sources, then defaults, cut
 * before the first entry named `key`); returns the count written. */
size_t gr_config_collect_synonyms(const gr_config_t *cfg, const char *key, bool sensitive,
                                  gr_config_synonym_t *out, size_t max);
/* Writes canonical value v into the typed field d->field of base. */
void gr_config_store_field(void *base, const gr_config_def_t *d, const char *v);
/* A known key close to `key` (edit distance), or NULL. */
const char *gr_config_suggest(gr_config_scope_t scope, const char *key);

/* Kafka's "Valid Values" text of a key ("[1,...]", "[compact, delete]"),
 * or "" when any value of the type is valid. */
void gr_config_valid_text(const gr_config_def_t *d, char *buf, size_t len);

/* Formats a double the way Java's Double.toString does (0.5, 1.0E7,
 * 1.7976931348623157E308), which is how DescribeConfigs shows doubles. */
void gr_config_format_double(double v, char *buf, size_t len);

#endif
