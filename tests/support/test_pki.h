/* Certificates for TLS tests, made at run time with the OpenSSL API: a CA,
 * leaves it signs (servers for localhost, 127.0.0.1 and ::1; clients),
 * expired ones and keys that match nothing. No private key is committed. */
#ifndef WSRELAY_TESTS_TEST_PKI_H
#define WSRELAY_TESTS_TEST_PKI_H

#include <stdbool.h>

struct pki_entity; /* a key and its certificate */

enum pki_kind { PKI_CA, PKI_SERVER, PKI_CLIENT };

/* A new P-256 key and a certificate for it, signed by issuer (or by itself
 * when issuer is NULL), valid from valid_from_s to valid_until_s seconds
 * relative to now (negative is in the past). Returns NULL on failure. */
struct pki_entity *pki_issue(enum pki_kind kind, const char *cn, long serial, long valid_from_s,
                             long valid_until_s, const struct pki_entity *issuer);
void pki_free(struct pki_entity *e);

/* Writes the certificate (followed by its issuer's, when chain and the
 * issuer is not self) and the key as PEM; either path may be NULL. Returns
 * 0 or -1. */
int pki_write(const struct pki_entity *e, const char *cert_path, const char *key_path, bool chain);

#endif
