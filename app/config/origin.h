/* Validation of the origins listed in server.allowed_origins. */
#ifndef WSRELAY_ORIGIN_H
#define WSRELAY_ORIGIN_H

#include <stddef.h>

/* Returns 0 if s is an origin exactly as a browser sends it in the Origin
 * header; otherwise -1 with the reason, which quotes s, in why. */
int origin_validate(const char *s, char *why, size_t whylen);

#endif
