/* Private to the config files: a section's table walked over a YAML mapping. */
#ifndef WSRELAY_CONFIG_LOAD_SECTIONS_H
#define WSRELAY_CONFIG_LOAD_SECTIONS_H

#include "config_loader.h"
#include "config_schema.h"

/* Loads a mapping, or a null that stands for an empty one, by sec's table
 * into the struct at self; path is the section's dotted name ("" for the
 * top level, "server.tls"...), for messages. */
int config_load_section(struct config_loader *ld, const struct config_section *sec, void *self,
                        const char *path, yaml_node_t *node);

#endif
