/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: webhook_classify on fuzzed headers and body.
 *
 * Input: one flags byte, then up to five header values each ended by a
 * line feed (topic, signature, webhook id, delivery id, content type),
 * then the raw body. Flag bits 0-4 say which of the five headers are
 * present, bit 5 sets has_wc_headers, and bit 6 replaces the signature by
 * the right one for the body (computed here with OpenSSL, not hmac.c), so
 * that the signed paths - topic, payload scan, order id - are reached.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tracksies/hmac.h"
#include "tracksies/webhook.h"

#include "fuzz_targets.h"

/* base64(HMAC-SHA256(body, FUZZ_SECRET)) into out[45]. */
static void
fuzz_webhook_sign(const char *body, size_t len, char out[45])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;

	if (HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET),
	    (const unsigned char *)body, len, mac, &mac_len) == NULL)
		abort();
	EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
}

/* The secret set up once, as the daemon does; signed above with HMAC(). */
static struct hmac_key *key;

int
fuzz_webhook(const uint8_t *data, size_t size)
{
	char *field[5] = { NULL, NULL, NULL, NULL, NULL };
	char sig[45];
	const uint8_t *p, *end = data + size;
	struct webhook_request req = { 0 };
	struct webhook_result res;
	char *body;
	size_t body_len;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0];
	p = data + 1;
	for (int i = 0; i < 5 && p < end; i++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		/* strndup: a NUL inside a header ends it, as in MHD. */
		if ((field[i] = strndup((const char *)p, (size_t)(nl - p))) == NULL)
			abort();
		p = nl + 1;
	}
	/* The body in a buffer of its exact size: an over-read is caught. */
	body_len = (size_t)(end - p);
	if ((body = malloc(body_len > 0 ? body_len : 1)) == NULL)
		abort();
	memcpy(body, p, body_len);

	req.topic = flags & 0x01 ? field[0] : NULL;
	req.signature = flags & 0x02 ? field[1] : NULL;
	req.webhook_id = flags & 0x04 ? field[2] : NULL;
	req.delivery_id = flags & 0x08 ? field[3] : NULL;
	req.content_type = flags & 0x10 ? field[4] : NULL;
	req.has_wc_headers = (flags & 0x20) != 0;
	if (flags & 0x40) {
		fuzz_webhook_sign(body, body_len, sig);
		req.signature = sig;
	}
	req.body = body;
	req.body_len = body_len;

	if (key == NULL &&
	    (key = hmac_key_new(FUZZ_SECRET, strlen(FUZZ_SECRET))) == NULL)
		abort();
	if (webhook_classify(key, &req, &res) == TS_OK) {
		/* What intake relies on. */
		if ((unsigned)res.verdict > WEBHOOK_BAD_SIGNATURE)
			abort();
		if (webhook_verdict_name(res.verdict) == NULL)
			abort();
		if (res.verdict == WEBHOOK_QUEUE && res.order_id <= 0)
			abort();
		if (memchr(res.status, '\0', sizeof(res.status)) == NULL ||
		    memchr(res.reason, '\0', sizeof(res.reason)) == NULL)
			abort();
		/* An unsigned or wrongly signed request never gets further. */
		if (!(flags & 0x40) && res.verdict == WEBHOOK_QUEUE &&
		    (req.signature == NULL || req.signature[0] == '\0'))
			abort();
	}
	(void)webhook_topic_syncs(req.topic);
	free(body);
	for (int i = 0; i < 5; i++)
		free(field[i]);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_webhook(data, size);
}
#endif
