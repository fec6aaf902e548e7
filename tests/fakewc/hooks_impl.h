/* SPDX-License-Identifier: MIT */
/*
 * Private to hooks.c and sender.c: the webhook registry and delivery queue
 * they share. Everything here is guarded by hooks->lock.
 */
#ifndef FAKEWC_HOOKS_IMPL_H
#define FAKEWC_HOOKS_IMPL_H

#include "fakewc.h"

#define MAX_FAILURES 5		/* woocommerce_max_webhook_delivery_failures */
#define RECENT_MAX 200
#define PING_TIMEOUT_MS 5000	/* wp_safe_remote_post's default */

struct webhook {
	int64_t id;
	char *name, *status, *topic, *url, *secret;
	int64_t created, modified;	/* modified 0: null */
	int failure_count;
	bool pending_delivery;
};

struct job {
	int64_t webhook_id, arg, not_before_ms;
	struct job *next;
	struct job *hnext;	/* the pending index's chain */
};

/*
 * Pending deliveries by (webhook, arg): WooCommerce asks Action Scheduler
 * whether one is pending, an indexed lookup; a scan of a 40,000-job queue
 * per order event would stall the sender behind the lock.
 */
#define PENDING_BUCKETS 4096

struct hooks {
	struct store *st;
	struct hooks_config cfg;
	pthread_mutex_t lock;	/* guards every field below */
	pthread_cond_t cond;	/* queue changed, delivery done, stop */
	struct webhook *list;
	size_t n;
	int64_t next_id;
	struct job *head, *tail;
	struct job *pending[PENDING_BUCKETS];
	size_t queued;
	int inflight;
	bool paused, pause_fail, stop, started;
	pthread_t thread;
	json_t *stats;		/* {sent|delivered|failed|dropped: {topic: n}} */
	int64_t coalesced, pings, pings_ok;
	json_t *recent;
};

/* The webhook with id, or NULL (lock held). */
struct webhook *hooks_find(struct hooks *h, int64_t id);
/* stats[what][topic]++ (lock held). */
void hooks_count(struct hooks *h, const char *what, const char *topic);

/* The pending index (lock held): find, add a queued job, remove it. */
struct job *hooks_pending_find(struct hooks *h, int64_t webhook_id,
    int64_t arg);
void hooks_pending_add(struct hooks *h, struct job *j);
void hooks_pending_remove(struct hooks *h, struct job *j);

/* sender.c */
/* WC_Webhook::deliver_ping, synchronously; takes and drops the lock. */
void sender_ping(struct hooks *h, int64_t id);
/* The delivery thread: Action Scheduler's queue runner. */
void *sender_main(void *arg);

#endif
