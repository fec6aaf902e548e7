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
