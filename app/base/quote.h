/* Double-quoted YAML strings, escaped one way wherever the config shows a
 * value: shortened inside error messages, whole in config_print output. */
#ifndef WSRELAY_QUOTE_H
#define WSRELAY_QUOTE_H

#include <stdio.h>

/* Room for a quoted, escaped and possibly shortened value in a message. */
#define QUOTE_SIZE 80

/* s quoted into buf, shortened with "..." when long, so that an error about
 * it stays on one line. Returns buf. */
const char *quote_shortened(const char *s, char buf[static QUOTE_SIZE]);

/* s quoted in full, as YAML that reads back as s; NULL prints as "". */
void quote_print(const char *s, FILE *out);

#endif
