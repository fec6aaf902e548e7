/* SPDX-License-Identifier: MIT */
/*
 * What one delivery's checks cost in the daemon, piece by piece: the
 * HMAC-SHA256 over the real 5.6 KB order payload (OpenSSL's one-shot
 * HMAC() and the daemon's key set up once), the JSON scan, and
 * webhook_classify()
 * (HMAC + validating JSON scan + field extraction). Prints microseconds per
 * call, averaged over N calls. Built and run by pieces.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* OpenSSL's one-shot HMAC(), base64-encoded: the reference, and what
 * keying per call costs. */
static void
hmac_oneshot(const char *secret, const void *msg, size_t len,
    char out[HMAC_B64_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	(void)HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, len, md, &n);
	(void)EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

int
main(int argc, char **argv)
{
	static char body[65536];
	const char *secret = "realwc-webhook-secret-0123456789";
	char sig[HMAC_B64_SIZE], out[HMAC_B64_SIZE];
	struct webhook_request wr = { 0 };
	struct webhook_result res;
	struct hmac_key *key;
	size_t n;
	double t;
	FILE *f;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "usage: pieces BODY_FILE\n");
		return 64;
	}
	n = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	if ((key = hmac_key_new(secret, strlen(secret))) == NULL)
		return 1;
	hmac_oneshot(secret, body, n, sig);
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
		hmac_oneshot(secret, body, n, out);
	printf("HMAC() keyed at each call over %zu bytes: %.2f us\n", n,
	    (now_us() - t) / N);
	t = now_us();
	for (int i = 0; i < N; i++)
		(void)hmac_key_sign_b64(key, body, n, out);
	printf("hmac_key_sign_b64 (keyed once) over %zu bytes: %.2f us\n", n,
	    (now_us() - t) / N);
	if (strcmp(out, sig) != 0) {
		fprintf(stderr, "pieces: hmac_key_sign_b64 differs from HMAC()\n");
		return 1;
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
		(void)webhook_classify(key, &wr, &res);
	printf("webhook_classify (verdict %s): %.2f us\n",
	    webhook_verdict_name(res.verdict), (now_us() - t) / N);
	hmac_key_free(key);
	return res.verdict == WEBHOOK_QUEUE ? 0 : 1;
}
