/* SPDX-License-Identifier: MIT */
/*
 * Webhook signatures: HMAC-SHA256 over the raw body, base64-encoded, compared
 * in constant time. No I/O; transport is http_server.c's.
 *
 * A key holds the SHA-256 states after the secret's inner and outer pads
 * (RFC 2104), set up once: a signature then hashes only the message and
 * the inner digest. OpenSSL's one-shot HMAC() sets up its algorithm and key
 * on every call, a quarter of the cost for a 5 KB order (performance.md).
 */
#include "tracksies/hmac.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define BLOCK 64		/* SHA-256's block size */
#define DIGEST 32

struct hmac_key {
	EVP_MD_CTX *inner;	/* after (K ^ ipad), read-only once made */
	EVP_MD_CTX *outer;	/* after (K ^ opad) */
};

/* A state that has absorbed one block: the key XOR pad. */
static bool
padded_state(EVP_MD_CTX *ctx, const unsigned char block[BLOCK],
    unsigned char pad)
{
	unsigned char buf[BLOCK];
	bool ok;

	for (size_t i = 0; i < BLOCK; i++)
		buf[i] = block[i] ^ pad;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, buf, BLOCK) == 1;
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

struct hmac_key *
hmac_key_new(const void *secret, size_t len)
{
	unsigned char block[BLOCK] = { 0 };
	unsigned int dlen = 0;
	struct hmac_key *k = calloc(1, sizeof(*k));
	bool ok = k != NULL;

	if (!ok)
		return NULL;
	/* A key longer than a block is replaced by its digest. */
	if (len > BLOCK)
		ok = EVP_Digest(secret, len, block, &dlen, EVP_sha256(), NULL) == 1;
	else if (len > 0)
		memcpy(block, secret, len);
	ok = ok && (k->inner = EVP_MD_CTX_new()) != NULL &&
	    (k->outer = EVP_MD_CTX_new()) != NULL &&
	    padded_state(k->inner, block, 0x36) &&
	    padded_state(k->outer, block, 0x5c);
	OPENSSL_cleanse(block, sizeof(block));
	if (!ok) {
		hmac_key_free(k);
		return NULL;
	}
	return k;
}

void
hmac_key_free(struct hmac_key *k)
{
	if (k == NULL)
		return;
	EVP_MD_CTX_free(k->inner);	/* clears the states */
	EVP_MD_CTX_free(k->outer);
	free(k);
}

enum ts_rc
hmac_key_sign_b64(const struct hmac_key *k, const void *msg, size_t msg_len,
    char out[HMAC_B64_SIZE])
{
	unsigned char md[DIGEST];
	unsigned int n = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok;

	out[0] = '\0';
	ok = c != NULL && EVP_MD_CTX_copy_ex(c, k->inner) == 1 &&
	    EVP_DigestUpdate(c, msg, msg_len) == 1 &&
	    EVP_DigestFinal_ex(c, md, &n) == 1 && n == DIGEST &&
	    EVP_MD_CTX_copy_ex(c, k->outer) == 1 &&
	    EVP_DigestUpdate(c, md, DIGEST) == 1 &&
	    EVP_DigestFinal_ex(c, md, &n) == 1 && n == DIGEST;
	EVP_MD_CTX_free(c);
	if (ok)
		(void)EVP_EncodeBlock((unsigned char *)out, md, DIGEST);
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? TS_OK : TS_ERR_NOMEM;
}

bool
hmac_key_verify(const struct hmac_key *k, const void *body, size_t body_len,
    const char *signature)
{
	char expected[HMAC_B64_SIZE];
	bool ok;

	if (signature == NULL || k == NULL)
		return false;
	if (hmac_key_sign_b64(k, body, body_len, expected) != TS_OK)
		return false;
	ok = hmac_str_equal(expected, signature);
	OPENSSL_cleanse(expected, sizeof(expected));
	return ok;
}

enum ts_rc
hmac_sha256_b64(const void *key, size_t key_len, const void *msg,
    size_t msg_len, char out[HMAC_B64_SIZE])
{
	struct hmac_key *k = hmac_key_new(key, key_len);
	enum ts_rc rc;

	out[0] = '\0';
	if (k == NULL)
		return TS_ERR_NOMEM;
	rc = hmac_key_sign_b64(k, msg, msg_len, out);
	hmac_key_free(k);
	return rc;
}

bool
hmac_str_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

bool
hmac_verify(const char *secret, const void *body, size_t body_len,
    const char *signature)
{
	struct hmac_key *k;
	bool ok;

	if (signature == NULL || secret == NULL)
		return false;
	if ((k = hmac_key_new(secret, strlen(secret))) == NULL)
		return false;
	ok = hmac_key_verify(k, body, body_len, signature);
	hmac_key_free(k);
	return ok;
}
