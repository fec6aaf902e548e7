/* SPDX-License-Identifier: MIT */
/*
 * Self-healing (PRODUCT.md section 7). The reconciler thread, every
 * [reconcile] interval and once soon after start:
 *  - checks the store's webhooks for this daemon (delivery URL =
 *    [webhook] public_url): missing, paused or disabled ones are reported,
 *    and with webhook_autorepair re-activated;
 *  - lists orders modified since a stored watermark (minus an overlap) and
 *    queues them as events, so that the worker syncs what webhooks missed;
 *    the watermark advances only once every page is queued;
 *  - sweeps a slice of the counted orders it knows (include=, 100 ids a
 *    request, the whole set spread over a day) and queues those the store
 *    no longer lists: a permanent delete sends no webhook at all.
 * Everything it finds goes through the queue: one code path decides what
 * an order means.
 */
#ifndef TRACKSIES_RECONCILE_H
#define TRACKSIES_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "tracksies/config.h"
#include "tracksies/rc.h"

struct queue;
struct reconciler;

/* The topics this daemon needs webhooks for (PRODUCT.md section 2). */
extern const char *const reconcile_topics[];
extern const int reconcile_n_topics;

struct reconcile_status {
	int64_t last_run_at;		/* 0: not yet */
	int64_t watermark;		/* date_modified (unix s) covered so far */
	int64_t lag_s;			/* now - watermark after the last run */
	long queued_last_run;		/* orders queued by the last run */
	bool webhooks_ok;		/* every topic present and active */
	bool webhooks_checked;		/* public_url set and the list was read */
};

/*
 * Start the reconciler thread with its own connection and REST client. cfg
 * and q are borrowed and must outlive it. Main thread.
 */
enum ts_rc reconcile_start(const struct config *cfg, struct queue *q,
    struct reconciler **out);
void reconcile_stop(struct reconciler *r);
void reconcile_get_status(struct reconciler *r, struct reconcile_status *out);

/*
 * `tracksiesd --register-webhooks`: create the webhooks this daemon needs
 * (our secret, [webhook] public_url), re-activate ours that are paused or
 * disabled, leave the rest. Idempotent. Prints what it did; warns when
 * WooCommerce would refuse to deliver to public_url. Exit status.
 */
int reconcile_register_webhooks(const struct config *cfg);

/*
 * Why WooCommerce would refuse to deliver to url (wp_safe_remote_request:
 * loopback or private host, or a port other than 80, 443, 8080), or NULL
 * when it would deliver. The shop's own host (that of store_url, [store]
 * url; may be NULL) is allowed whatever its address, and so is its own
 * port, as wp_http_validate_url() allows them. Returns a static string.
 * Pure.
 */
const char *reconcile_url_refused(const char *url, const char *store_url);

#endif
