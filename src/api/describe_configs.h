/* Topic configuration as the API layer sees it: the table's effective
 * values with a topic's overrides applied (shared by DescribeConfigs and
 * CreateTopics). */
#ifndef GR_API_DESCRIBE_CONFIGS_H
#define GR_API_DESCRIBE_CONFIGS_H

#include "cluster/controller.h"
#include "server/broker.h"
#include "server/config.h"

/* Fills tc with the broker's values, then overrides, then pending configs
 * (e.g. those of a validate-only CreateTopics). Free with
 * gr_topic_config_free. */
int gr_api_topic_config_build(gr_broker_t *b, const gr_meta_config_t *overrides,
                              const gr_ctrl_config_t *pending, int npending, gr_topic_config_t *tc);

#endif
