/* SPDX-License-Identifier: MIT */
/*
 * Webhook signatures: HMAC-SHA256 over the raw body, base64-encoded, compared
 * in constant time. It owns no state and leaves transport to http_server.c.
 */
#include "tracksies/hmac.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

enum ts_rc
hmac_sha256_b64(const void *key, size_t key_len, const void *msg,
    size_t msg_len, char out[HMAC_B64_SIZE])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	out[0] = '\0';
	if (HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, digest,
	    &digest_len) == NULL || digest_len != 32)
		return TS_ERR_NOMEM;
	(void)EVP_EncodeBlock((unsigned char *)out, digest, (int)digest_len);
	OPENSSL_cleanse(digest, sizeof(digest));
	return TS_OK;
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
	char expected[HMAC_B64_SIZE];
	bool ok;

	if (signature == NULL || secret == NULL)
		return false;
	if (hmac_sha256_b64(secret, strlen(secret), body, body_len,
	    expected) != TS_OK)
		return false;
	ok = hmac_str_equal(expected, signature);
	OPENSSL_cleanse(expected, sizeof(expected));
	return ok;
}
