/* SPDX-License-Identifier: MIT */
/*
 * One-legged OAuth 1.0a request signing exactly as WooCommerce verifies it
 * (WC_REST_Authentication::check_oauth_signature): HMAC-SHA256, key
 * "consumer_secret&", oauth_* parameters carried in the query string. Pure:
 * no I/O except the nonce's RAND_bytes, no logging, no global state.
 */
#ifndef TRACKSIES_OAUTH1_H
#define TRACKSIES_OAUTH1_H

#include <stddef.h>

#include "tracksies/rc.h"

/* 32 lower-case hex characters and a NUL. */
#define OAUTH1_NONCE_SIZE 33

/*
 * Fill out with a fresh nonce: 16 bytes from RAND_bytes as 32 hex chars.
 * TS_OK, or TS_ERR_IO when OpenSSL has no entropy. Any thread.
 */
enum ts_rc oauth1_nonce(char out[OAUTH1_NONCE_SIZE]);

/*
 * Percent-encode len bytes of s as PHP's rawurlencode() does (RFC 3986:
 * everything but A-Z a-z 0-9 - . _ ~ becomes %XX, upper-case hex). On TS_OK
 * *out is a NUL-terminated string owned by the caller (free()); otherwise
 * NULL. TS_ERR_NOMEM. Any thread.
 */
enum ts_rc oauth1_encode(const char *s, size_t len, char **out);

/*
 * The OAuth signature base string WooCommerce computes for a request:
 *   METHOD & enc(url without query) & enc(k1=v1) %26 enc(k2=v2) ...
 * where the parameters are the query's (decoded as PHP fills $_GET: '+' is a
 * space, %XX a byte) plus oauth_consumer_key, oauth_nonce,
 * oauth_signature_method=HMAC-SHA256 and oauth_timestamp, each key and value
 * rawurlencode()d, sorted by raw key with strcmp, then each "k=v" encoded
 * again. url is absolute and already percent-encoded, with no fragment; it
 * must not carry oauth_* parameters. Query keys must match
 * [A-Za-z_][A-Za-z0-9_-]* and appear once: PHP rewrites other keys (dots and
 * spaces, brackets, integers renumbered by array_merge) before WooCommerce
 * signs, so they could never verify. On TS_OK *out (caller frees) holds the
 * base string. TS_ERR_INVALID for a URL or parameter outside those rules,
 * TS_ERR_NOMEM. Any thread.
 */
enum ts_rc oauth1_base_string(const char *method, const char *url,
    const char *consumer_key, const char *nonce, long timestamp, char **out);

/*
 * Sign url for method: *signed_url_out (caller frees) is url with
 * oauth_consumer_key, oauth_nonce, oauth_signature_method, oauth_timestamp
 * and oauth_signature appended to its query. The signature is
 * base64(HMAC-SHA256(base string, consumer_secret "&")). The key buffer is
 * wiped before this returns. Same rules and return values as
 * oauth1_base_string. nonce should come from oauth1_nonce and timestamp from
 * time(NULL): WooCommerce refuses timestamps more than 15 minutes off and
 * any nonce it has seen in that window. Any thread.
 */
enum ts_rc oauth1_sign_url(const char *method, const char *url,
    const char *consumer_key, const char *consumer_secret, const char *nonce,
    long timestamp, char **signed_url_out);

#endif
