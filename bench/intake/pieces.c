/* SPDX-License-Identifier: MIT */
/*
 * What one delivery's checks cost in the daemon, piece by piece: the
 * HMAC-SHA256 over the real 5.6 KB order payload, and webhook_classify()
 * (HMAC + validating JSON scan + field extraction). Prints microseconds per
 * call, averaged over N calls. Built and run by pieces.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "tracksies/hmac.h"
#include "tracksies/json_scan.h"
#include "tracksies/webhook.h"

#define N 100000

static double
now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * HMAC-SHA256 with the key's inner and outer digest states set up once
 * and copied for each message: what a pre-keyed hmac.c would cost, against
 * the one-shot HMAC() hmac_sha256_b64 uses (base64 left out of both).
 */
static void
hmac_prekeyed(EVP_MD_CTX *inner, EVP_MD_CTX *outer, EVP_MD_CTX *tmp,
    const void *msg, size_t len, unsigned char md[32])
{
	unsigned int n;

	(void)EVP_MD_CTX_copy_ex(tmp, inner);
	(void)EVP_DigestUpdate(tmp, msg, len);
	(void)EVP_DigestFinal_ex(tmp, md, &n);
	(void)EVP_MD_CTX_copy_ex(tmp, outer);
	(void)EVP_DigestUpdate(tmp, md, 32);
	(void)EVP_DigestFinal_ex(tmp, md, &n);
}

int
main(int argc, char **argv)
{
	static char body[65536];
	const char *secret = "realwc-webhook-secret-0123456789";
	char sig[HMAC_B64_SIZE], out[HMAC_B64_SIZE];
	struct webhook_request wr = { 0 };
	struct webhook_result res;
	size_t n;
	double t;
	FILE *f;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "usage: pieces BODY_FILE\n");
		return 64;
	}
	n = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	if (hmac_sha256_b64(secret, strlen(secret), body, n, sig) != TS_OK)
		return 1;
	wr.topic = "order.updated";
	wr.signature = sig;
	wr.webhook_id = "3";
	wr.delivery_id = "0123456789abcdef0123456789abcdef";
	wr.content_type = "application/json";
	wr.has_wc_headers = 1;
	wr.body = body;
	wr.body_len = n;

	t = now_us();
	for (int i = 0; i < N; i++)
		(void)hmac_sha256_b64(secret, strlen(secret), body, n, out);
	printf("hmac_sha256_b64 over %zu bytes: %.2f us\n", n, (now_us() - t) / N);
	{
		EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new();
		EVP_MD_CTX *tmp = EVP_MD_CTX_new();
		unsigned char ipad[64], opad[64], md[32];

		memset(ipad, 0x36, sizeof(ipad));
		memset(opad, 0x5c, sizeof(opad));
		for (size_t i = 0; i < strlen(secret); i++) {	/* < 64 bytes */
			ipad[i] ^= (unsigned char)secret[i];
			opad[i] ^= (unsigned char)secret[i];
		}
		(void)EVP_DigestInit_ex(inner, EVP_sha256(), NULL);
		(void)EVP_DigestUpdate(inner, ipad, sizeof(ipad));
		(void)EVP_DigestInit_ex(outer, EVP_sha256(), NULL);
		(void)EVP_DigestUpdate(outer, opad, sizeof(opad));
		t = now_us();
		for (int i = 0; i < N; i++)
			hmac_prekeyed(inner, outer, tmp, body, n, md);
		printf("HMAC-SHA256 keyed once over %zu bytes: %.2f us\n", n,
		    (now_us() - t) / N);
		(void)EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
		if (strcmp(out, sig) != 0) {
			fprintf(stderr, "pieces: the keyed-once HMAC differs\n");
			return 1;
		}
		EVP_MD_CTX_free(tmp);
		EVP_MD_CTX_free(outer);
		EVP_MD_CTX_free(inner);
	}
	t = now_us();
	for (int i = 0; i < N; i++) {
		struct json_scan_field fields[1] = { { .key = "id" } };
		struct json_scan_error err;
		int is_object;

		(void)json_scan(body, n, fields, 1, &is_object, &err);
	}
	printf("json_scan over %zu bytes: %.2f us\n", n, (now_us() - t) / N);
	t = now_us();
	for (int i = 0; i < N; i++)
		(void)webhook_classify(secret, &wr, &res);
	printf("webhook_classify (verdict %s): %.2f us\n",
	    webhook_verdict_name(res.verdict), (now_us() - t) / N);
	return res.verdict == WEBHOOK_QUEUE ? 0 : 1;
}
