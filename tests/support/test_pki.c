/* Run-time certificates for the TLS tests (see test_pki.h). */
#include "test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>

struct pki_entity {
	EVP_PKEY *key;
	X509 *cert;
	const struct pki_entity *issuer;
};

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = ext && X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int add_kind_extensions(X509 *cert, X509 *issuer, enum pki_kind kind)
{
	switch (kind) {
	case PKI_CA:
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") ||
		       add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	case PKI_SERVER:
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
		       add_ext(cert, issuer, NID_ext_key_usage, "serverAuth") ||
		       add_ext(cert, issuer, NID_subject_alt_name,
		               "DNS:localhost,IP:127.0.0.1,IP:::1");
	case PKI_CLIENT:
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
		       add_ext(cert, issuer, NID_ext_key_usage, "clientAuth");
	}
	return -1;
}

struct pki_entity *pki_issue(enum pki_kind kind, const char *cn, long serial, long valid_from_s,
                             long valid_until_s, const struct pki_entity *issuer)
{
	struct pki_entity *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->issuer = issuer;
	e->key = EVP_EC_gen("P-256");
	e->cert = X509_new();
	if (!e->key || !e->cert)
		goto fail;
	X509_NAME *name = X509_get_subject_name(e->cert);
	X509 *issuer_cert = issuer ? issuer->cert : e->cert;
	EVP_PKEY *signer = issuer ? issuer->key : e->key;
	if (X509_set_version(e->cert, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(e->cert), serial) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(e->cert), valid_from_s) ||
	    !X509_gmtime_adj(X509_getm_notAfter(e->cert), valid_until_s) ||
	    X509_set_pubkey(e->cert, e->key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(e->cert, X509_get_subject_name(issuer_cert)) != 1 ||
	    add_kind_extensions(e->cert, issuer_cert, kind) != 0 ||
	    X509_sign(e->cert, signer, EVP_sha256()) == 0)
		goto fail;
	return e;
fail:
	pki_free(e);
	return NULL;
}

void pki_free(struct pki_entity *e)
{
	if (!e)
		return;
	X509_free(e->cert);
	EVP_PKEY_free(e->key);
	free(e);
}

int pki_write(const struct pki_entity *e, const char *cert_path, const char *key_path, bool chain)
{
	if (cert_path) {
		FILE *f = fopen(cert_path, "we");
		if (!f)
			return -1;
		int ok = PEM_write_X509(f, e->cert) == 1;
		if (ok && chain && e->issuer)
			ok = PEM_write_X509(f, e->issuer->cert) == 1;
		if (fclose(f) != 0 || !ok)
			return -1;
	}
	if (key_path) {
		FILE *f = fopen(key_path, "we");
		if (!f)
			return -1;
		int ok = PEM_write_PrivateKey(f, e->key, NULL, NULL, 0, NULL, NULL) == 1;
		if (fclose(f) != 0 || !ok)
			return -1;
	}
	return 0;
}
