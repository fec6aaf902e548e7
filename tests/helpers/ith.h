/* SPDX-License-Identifier: MIT */
/*
 * Intelligence test helpers: a fresh migrated database in a temp dir, and
 * customers, orders, refunds and interactions written straight into the
 * tables the sync owns (the metrics read only rows, so the fixtures need
 * not go through WooCommerce JSON). They abort() on set-up failures.
 */
#ifndef ITH_H
#define ITH_H

#include <stdint.h>

struct db;
struct tags_recalc;

#define ITH_DAY 86400
#define ITH_T0 1700006400	/* 2023-11-15T00:00:00Z */

/* Temp dir (*dir, th_rmrf it) with i.db migrated; kv says USD, 2 decimals. */
struct db *ith_open(char **dir);

/* A customer with this email; returns its id. */
int64_t ith_customer(struct db *db, const char *email);
/* A counted order (with its transactions row). */
void ith_order(struct db *db, int64_t customer, int64_t order_id, int64_t at,
    int64_t total_minor, int coupon);
/* An order that does not count (pending, cancelled...): no transaction. */
void ith_order_uncounted(struct db *db, int64_t customer, int64_t order_id,
    int64_t at, int64_t total_minor, const char *status);
/* The order stops counting (cancelled): its transaction row goes. */
void ith_cancel(struct db *db, int64_t order_id);
void ith_refund(struct db *db, int64_t order_id, int64_t amount_minor);
void ith_interaction(struct db *db, int64_t customer, const char *type,
    int64_t at);

/* Run sql; abort on error. */
void ith_exec(struct db *db, const char *sql);
/* One integer (printf-style sql); -1 when NULL or no row. */
long long ith_int(struct db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One real; -1e300 when NULL or no row. */
double ith_real(struct db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One text, owned; NULL when NULL or no row. */
char *ith_text(struct db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Check assertion: ours equals a published figure to its 3 significant
 * digits (within half a unit of the third); the message names the figure.
 */
void ith_assert_3sig(const char *name, double ours, double published);

/* Load rules text (abort when invalid) and apply it to db. */
void ith_rules(struct db *db, const char *text);
/* tags_recalc_customer in its own transaction; abort unless TS_OK. */
void ith_recalc(struct db *db, struct tags_recalc *t, int64_t customer,
    int64_t now);
/* 1 held, 0 lost, -1 never earned. */
int ith_tag(struct db *db, int64_t customer, const char *tag);

#endif
