/* SPDX-License-Identifier: MIT */
/*
 * HMAC-SHA256 as WooCommerce signs webhooks: base64(HMAC-SHA256(raw body,
 * secret)), standard alphabet with padding. Pure: no I/O, no logging.
 */
#ifndef TRACKSIES_HMAC_H
#define TRACKSIES_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#include "tracksies/rc.h"

/* Length of base64(SHA-256 digest) plus its NUL. */
#define HMAC_B64_SIZE 45

/*
 * A secret set up once for many signatures (the webhook secret, for every
 * delivery): NULL when out of memory. Used read-only by any number of
 * threads at once; hmac_key_free (NULL is a no-op) clears and frees it.
 */
struct hmac_key;
struct hmac_key *hmac_key_new(const void *secret, size_t len);
void hmac_key_free(struct hmac_key *k);

/* hmac_sha256_b64 and hmac_verify with a key set up once. */
enum ts_rc hmac_key_sign_b64(const struct hmac_key *k, const void *msg,
    size_t msg_len, char out[HMAC_B64_SIZE]);
bool hmac_key_verify(const struct hmac_key *k, const void *body,
    size_t body_len, const char *signature);

/*
 * Write base64(HMAC-SHA256(msg, key)) and a NUL into out. TS_OK, or
 * TS_ERR_NOMEM when OpenSSL fails. Any thread.
 */
enum ts_rc hmac_sha256_b64(const void *key, size_t key_len, const void *msg,
    size_t msg_len, char out[HMAC_B64_SIZE]);

/*
 * True when signature (the X-WC-Webhook-Signature value, may be NULL) is the
 * signature of body under secret. The comparison takes the same time wherever
 * the strings differ. Any thread.
 */
bool hmac_verify(const char *secret, const void *body, size_t body_len,
    const char *signature);

/* Constant-time equality of two NUL-terminated strings (lengths may leak). */
bool hmac_str_equal(const char *a, const char *b);

#endif
