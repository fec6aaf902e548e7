/* SPDX-License-Identifier: MIT */
/*
 * Every customer's counted orders in memory for the full recalculation,
 * and the model learned from all of them: RFM thresholds and the purchase
 * models (docs/intelligence.md). Never logs.
 */
#ifndef TRACKSIES_RFM_SNAPSHOT_H
#define TRACKSIES_RFM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"
#include "tracksies/rfm.h"

struct db;

/*
 * Read in one read transaction, outside any other (the full
 * recalculation's first phase). Peak memory is about 16 bytes per order
 * and 50 per customer.
 */
struct rfm_snapshot {
	size_t n;			/* customers */
	int64_t *ids;			/* ascending */
	size_t *off;			/* customer i's orders: orders[off[i] .. off[i+1]) */
	struct rfm_order *orders;
	int64_t *refunded_minor;
	int64_t *refund_count;
	int64_t as_of;
	bool cutoff;
	double scale;
	int64_t seq;			/* intel_state.write_seq when read */
};

/*
 * Read the snapshot as of as_of. On TS_OK *out belongs to the caller
 * (rfm_snapshot_free). TS_ERR_NOMEM, TS_ERR_IO, TS_ERR_TRANSIENT.
 */
enum ts_rc rfm_snapshot_read(struct db *db, int64_t as_of, bool cutoff,
    struct rfm_snapshot **out);
void rfm_snapshot_free(struct rfm_snapshot *s);

/* Customer i's metrics (its orders get sorted in place), unscored. */
void rfm_snapshot_customer(struct rfm_snapshot *s, size_t i,
    struct rfm_customer *out);

/*
 * Learn the model from the snapshot: RFM thresholds over every customer
 * with an order, and the purchase models fitted on up to RFM_CLV_FIT_MAX of
 * them (every k-th by id). TS_ERR_NOMEM.
 */
enum ts_rc rfm_snapshot_model(struct rfm_snapshot *s, struct rfm_model *out);

#endif
