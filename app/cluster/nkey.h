/* NATS NKeys, as far as a user key goes: the base32 text form of a seed
 * ("SU...") and of its public key ("U..."), each with a prefix byte and a
 * CRC-16 (XMODEM), and the Ed25519 public key derived from the seed with
 * OpenSSL. The NATS client library signs with a seed file but wants the
 * public key spelled out; nothing else of NKeys is needed here. */
#ifndef WSRELAY_NKEY_H
#define WSRELAY_NKEY_H

#include <stddef.h>
#include <stdint.h>

#define NKEY_PUBLIC_SIZE 57 /* 56 characters and the NUL */
#define NKEY_SEED_SIZE   59 /* 58 characters and the NUL */

/* The user public key of seed (text, surrounding blanks not allowed) into
 * out. 0, or -1 when seed is not a user seed (bad base32, prefix or CRC). */
int nkey_user_public_from_seed(const char *seed, char out[NKEY_PUBLIC_SIZE]);

/* The same for the first non-blank line of a file; the reason in err names
 * the file, never the seed. */
int nkey_public_from_seed_file(const char *path, char out[NKEY_PUBLIC_SIZE], char *err,
                               size_t errlen);

/* The text form of a user seed made of the 32 bytes raw (for tests and
 * tools that make keys). */
void nkey_user_seed_encode(const uint8_t raw[32], char out[NKEY_SEED_SIZE]);

#endif
