/* SPDX-License-Identifier: MIT */
/*
 * Test helper: run the fake WooCommerce store (tests/fakewc, built as
 * TS_FAKEWC_PATH) as a child process, read its port back, stop it, and
 * call its control API (/_fake/...) over libcurl. No Check dependency, so
 * benchmarks and demos can use it too. Programs with threads should call
 * curl_global_init() before the first fakewc_ctl().
 */
#ifndef FAKEWC_CTL_H
#define FAKEWC_CTL_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "tracksies/rc.h"

/* For fakewc_opts.orders / .customers: generate none at all. */
#define FAKEWC_NONE (-1)

/* Every field may stay zero/NULL: fakewc's default is used then. */
struct fakewc_opts {
	const char *consumer_key;	/* NULL: "ck_test" */
	const char *consumer_secret;	/* NULL: "cs_test" */
	const char *webhook_url;	/* with webhook_secret: the five webhooks
					 * tracksiesd needs are pre-registered */
	const char *webhook_secret;
	const char *tls_cert, *tls_key;	/* PEM files: serve HTTPS */
	uint64_t seed;			/* 0: 1 */
	int orders;			/* 0: 200; FAKEWC_NONE: none */
	int customers;			/* 0: 40; FAKEWC_NONE: none */
	const char *anchor_date;	/* "YYYY-MM-DD"; NULL: today (UTC) */
	const char *utc_offset;		/* "+HH:MM"; NULL: +00:00 */
	const char *latency_model;	/* "none" or "woo84"; NULL: none */
	double latency_scale;		/* 0: 1.0 */
	int workers;			/* 0: 4 */
	const char *const *extra_args;	/* NULL-terminated, may be NULL */
	const char *log_path;		/* fakewc's stderr; NULL: inherited */
};

struct fakewc {
	pid_t pid;
	uint16_t port;
	char url[64];			/* "http://127.0.0.1:PORT" (https: TLS) */
	char consumer_key[128];
	char consumer_secret[128];
};

/*
 * Start fakewc on 127.0.0.1:0 and wait (15 s at most) for its
 * "fakewc: listening port=N" line. On TS_OK *out is owned by the caller
 * (stop it with fakewc_ctl_stop); otherwise *out is NULL and the child, if
 * any, has been killed and reaped. TS_ERR_NOMEM, TS_ERR_IO. Any thread of a
 * process that does not reap children it did not start.
 */
enum ts_rc fakewc_ctl_start(const struct fakewc_opts *opts,
    struct fakewc **out);

/*
 * SIGTERM, wait, free fw. Returns the exit status (0: a clean stop), or
 * 128 + signal when it died of one, or -1 when it could not be reaped.
 * fakewc_ctl_stop(NULL) returns -1.
 */
int fakewc_ctl_stop(struct fakewc *fw);

/*
 * One control API call: method ("GET", "POST", ...) on path (e.g.
 * "/_fake/orders/19"; any path of the fake may be given), with json_body
 * (NULL: none). When response is not NULL it receives the parsed JSON body
 * (owned by the caller) or NULL when there was none. Returns the HTTP
 * status, or -1 when no response arrived.
 */
long fakewc_ctl(struct fakewc *fw, const char *method, const char *path,
    const char *json_body, json_t **response);

/* Wait until every queued webhook delivery is done (POST /_fake/webhooks/
 * flush); 0 on success, -1 on timeout or error. */
int fakewc_ctl_flush(struct fakewc *fw, long timeout_ms);

#endif
