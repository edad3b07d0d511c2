/* Private to the config files: one YAML value into one member. */
#ifndef WSRELAY_CONFIG_LOAD_VALUES_H
#define WSRELAY_CONFIG_LOAD_VALUES_H

#include "config_loader.h"
#include "config_schema.h"

/* Loads node into f's member of the struct at self; f is of any kind but
 * KIND_SECTION. */
int config_load_value(struct config_loader *ld, const struct config_field *f, void *self,
                      yaml_node_t *node);

#endif
