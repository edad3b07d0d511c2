#include "nkey.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Prefix bytes, in the top five bits: 18 << 3 seeds, 20 << 3 users. */
#define PREFIX_SEED 144u
#define PREFIX_USER 160u
#define SEED_RAW    36 /* 2 prefix bytes, 32 key bytes, the CRC */
#define PUBLIC_RAW  35 /* 1 prefix byte, 32 key bytes, the CRC */

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static uint16_t crc16(const uint8_t *p, size_t len)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

/* RFC 4648 base32 without padding; out has room for the text and a NUL. */
static void base32_encode(const uint8_t *in, size_t len, char *out)
{
	uint32_t bits = 0;
	int have = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		bits = bits << 8 | in[i];
		have += 8;
		while (have >= 5) {
			out[o++] = alphabet[(bits >> (have - 5)) & 31];
			have -= 5;
		}
	}
	if (have > 0)
		out[o++] = alphabet[(bits << (5 - have)) & 31];
	out[o] = '\0';
}

/* Decodes exactly want bytes from text; false on a bad character or length. */
static bool base32_decode(const char *text, uint8_t *out, size_t want)
{
	uint32_t bits = 0;
	int have = 0;
	size_t o = 0;
	for (const char *p = text; *p; p++) {
		const char *at = strchr(alphabet, *p);
		if (!at)
			return false;
		bits = bits << 5 | (uint32_t)(at - alphabet);
		have += 5;
		if (have >= 8) {
			if (o == want)
				return false;
			out[o++] = (uint8_t)(bits >> (have - 8));
			have -= 8;
		}
	}
	/* The bits past the last byte are zero in the one spelling of it. */
	return o == want && (bits & ((1u << have) - 1)) == 0;
}

static void encode_with_crc(uint8_t *raw, size_t len_without_crc, char *out)
{
	uint16_t crc = crc16(raw, len_without_crc);
	raw[len_without_crc] = (uint8_t)(crc & 0xff);
	raw[len_without_crc + 1] = (uint8_t)(crc >> 8);
	base32_encode(raw, len_without_crc + 2, out);
}

void nkey_user_seed_encode(const uint8_t key[32], char out[NKEY_SEED_SIZE])
{
	uint8_t raw[SEED_RAW];
	raw[0] = (uint8_t)(PREFIX_SEED | PREFIX_USER >> 5);
	raw[1] = (uint8_t)((PREFIX_USER & 31) << 3);
	memcpy(raw + 2, key, 32);
	encode_with_crc(raw, SEED_RAW - 2, out);
	OPENSSL_cleanse(raw, sizeof(raw));
}

int nkey_user_public_from_seed(const char *seed, char out[NKEY_PUBLIC_SIZE])
{
	uint8_t raw[SEED_RAW];
	int rc = -1;
	if (strlen(seed) != NKEY_SEED_SIZE - 1 || !base32_decode(seed, raw, sizeof(raw)))
		goto done;
	uint16_t crc = (uint16_t)(raw[SEED_RAW - 2] | raw[SEED_RAW - 1] << 8);
	unsigned prefix = raw[0] & 0xf8u;
	unsigned kind = (unsigned)((raw[0] & 7u) << 5 | (raw[1] & 0xf8u) >> 3);
	if (crc != crc16(raw, SEED_RAW - 2) || prefix != PREFIX_SEED || kind != PREFIX_USER)
		goto done;
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 2, 32);
	uint8_t pub[PUBLIC_RAW];
	size_t pub_len = 32;
	if (key && EVP_PKEY_get_raw_public_key(key, pub + 1, &pub_len) == 1 && pub_len == 32) {
		pub[0] = PREFIX_USER;
		encode_with_crc(pub, PUBLIC_RAW - 2, out);
		rc = 0;
	}
	EVP_PKEY_free(key);
done:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int nkey_public_from_seed_file(const char *path, char out[NKEY_PUBLIC_SIZE], char *err,
                               size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		char why[128];
		snprintf(err, errlen, "cluster.nats.nkey_seed_file: cannot read %s: %s", path,
		         strerror_r(errno, why, sizeof(why)));
		return -1;
	}
	char line[256];
	int rc = -1;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, " \t\r\n");
		if (len == 0)
			continue;
		line[len] = '\0';
		rc = nkey_user_public_from_seed(line, out);
		break;
	}
	OPENSSL_cleanse(line, sizeof(line));
	(void)fclose(f);
	if (rc != 0)
		snprintf(err, errlen,
		         "cluster.nats.nkey_seed_file: %s: no NKey user seed (\"SU...\", 58 "
		         "characters) on its first line",
		         path);
	return rc;
}
