/* Private to the config files: the parts of a struct config's lifetime,
 * kept in config.c, that loading needs too. */
#ifndef WSRELAY_CONFIG_LIFETIME_H
#define WSRELAY_CONFIG_LIFETIME_H

#include <stddef.h>

#include "config.h"

/* Fills cfg with the built-in defaults, relative paths resolved against the
 * absolute folder base. Returns 0, or -1 with cfg left empty. */
int config_fill_defaults(struct config *cfg, const char *base);

/* Frees a list of count strings and the list itself. */
void config_free_strings(char **strings, size_t count);

#endif
